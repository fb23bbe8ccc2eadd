//! Quickstart: distribute an ndarray over engines, look at the pieces, gather it back.
//!
//! Thread engines (default 4, `DISTARRAY_ENGINES=n` to change):
//!     cargo run --example quickstart
//! MPI engines (4 engines + the client):
//!     cargo build --features mpi --example quickstart
//!     mpirun -n 5 target/debug/examples/quickstart

use distarray::cleanup::get_local_keys;
use distarray::prelude::*;
use ndarray::Array2;

fn main() -> Result<()> {
    let ctx = Context::new()?;
    println!("{} engines on the {} backend", ctx.num_targets(), ctx.backend_name());

    // A 10 x 7 array, block-distributed on rows and cyclic on columns.
    let a = Array2::from_shape_fn((10, 7), |(i, j)| (10 * i + j) as f64);
    let d = Distribution::builder(&ctx, &[10, 7]).dist("bc").build()?;
    let da = ctx.fromarray(&a, Some(&d))?;
    println!("distribution: {d}");
    for (rank, shape) in da.get_localshapes().iter().enumerate() {
        println!("  rank {rank} on engine {} holds a {shape:?} piece", da.targets()[rank]);
    }
    println!("element (9, 6) lives on rank {:?}", d.owning_ranks(&[9, 6])?);

    // Gathering gives back exactly the original array.
    let back = da.toarray()?;
    assert_eq!(back, a.into_dyn());
    println!("round trip ok, sum = {}", back.sum());

    // Dropping an array frees its pieces on the engines.
    drop(da);
    assert!(get_local_keys(&ctx, ctx.key_prefix())?.is_empty());
    println!("no keys left on the engines");
    Ok(())
}
