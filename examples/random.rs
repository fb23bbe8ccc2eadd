//! Seeded random arrays: the same seed gives the same numbers on any engines
//! and any distribution.
//!
//! `cargo run --example random`, or under MPI:
//! `cargo build --features mpi --examples && mpirun -n 5 target/debug/examples/random`.

use distarray::prelude::*;

fn main() -> Result<()> {
    let ctx = Context::new()?;
    let random = Random::new(&ctx);
    random.seed(Some(42));
    let d = Distribution::builder(&ctx, &[4, 6]).dist("bc").build()?;
    let u = random.rand::<f64>(&d)?;
    let z = random.randn::<f64>(&d)?;
    let dice = random.randint::<i64>(&d, 1, Some(7))?;
    println!("rand on {} engines:\n{:.4}", ctx.num_targets(), u.toarray()?);
    println!("randn:\n{:.4}", z.toarray()?);
    println!("randint(1, 7):\n{}", dice.toarray()?);

    // The same seed on one engine, with another layout: the same numbers.
    let one = Context::with_targets(&[0])?;
    let again = Random::new(&one);
    again.seed(Some(42));
    let d1 = Distribution::builder(&one, &[4, 6]).dist("c").build()?;
    assert_eq!(again.rand::<f64>(&d1)?.toarray()?, u.toarray()?);
    println!("one engine, cyclic: identical");
    Ok(())
}
