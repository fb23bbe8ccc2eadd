//! `Random`'s reproducibility as one program for `mpirun -n N+1` (N >= 2);
//! on thread engines under a plain `cargo test`.
//!
//! The same seed must give the same arrays on every context of the run (all
//! engines, subsets, reversed order) and for every map type and grid; and the
//! first values for seed 42 must equal constants recorded from a thread run,
//! which ties the MPI runs to the thread runs. The typed samplers and the
//! permutations of 1-D arrays (`tests/random_typed.rs` on threads) are
//! checked the same way.

use distarray::prelude::*;
use ndarray::{Array1, ArrayD};

/// Seed 42, shape `[4]`, calls in order: rand, randn, randint(-100, 100),
/// normal(10, 0.5). The uniforms and integers are exact integer arithmetic;
/// the normals (the ziggurat, with `exp` and `ln` on its rare slow paths)
/// are compared to 1e-14.
const RAND_42: [u64; 4] = [0x3fdd_fd52_4ee7_3abc, 0x3fd5_d0ac_f5c4_afd4, 0x3fd4_ee9b_3f7f_36c8, 0x3fdd_1381_bee0_e3d6];
const RANDN_42: [f64; 4] =
    [-0.747_010_068_577_185_1, 0.289_196_802_942_583_3, 0.770_496_255_138_541, -0.158_695_850_546_880_4];
const RANDINT_42: [i64; 4] = [-32, -78, 77, -43];
const NORMAL_42: [f64; 4] =
    [10.366_341_295_497_419, 10.444_264_020_273_724, 10.546_402_477_960_449, 10.255_803_313_997_03];
/// The calls after those: rand::<f32> (bits), randint::<u8>(0, 256),
/// random_bool(0.5), then permutation_of over `[10]`.
const RAND_F32_42: [u32; 4] = [0x3f5e_0457, 0x3f0c_e494, 0x3e58_9ee0, 0x3f14_dcf3];
const RANDINT_U8_42: [u8; 4] = [156, 246, 90, 176];
const BOOL_42: [bool; 4] = [false, false, true, true];
const PERMUTATION_42: [i64; 10] = [9, 5, 7, 0, 1, 4, 3, 6, 2, 8];

fn check_known_values(ctx: &Context) -> Result<()> {
    let random = Random::new(ctx);
    random.seed(Some(42));
    let d = Distribution::builder(ctx, &[4]).dist("c").build()?;
    let rand: Vec<u64> = random.rand::<f64>(&d)?.toarray()?.iter().map(|x| x.to_bits()).collect();
    assert_eq!(rand, RAND_42, "rand, seed 42, on {:?}", ctx.targets());
    let randn = random.randn::<f64>(&d)?.toarray()?;
    assert!(
        randn.iter().zip(RANDN_42).all(|(x, e)| (x - e).abs() <= 1e-14 * e.abs()),
        "randn {randn} on {:?}",
        ctx.targets()
    );
    assert_eq!(random.randint::<i64>(&d, -100, Some(100))?.toarray()?.into_raw_vec_and_offset().0, RANDINT_42);
    let normal = random.normal(&d, 10.0, 0.5)?.toarray()?;
    assert!(
        normal.iter().zip(NORMAL_42).all(|(x, e)| (x - e).abs() <= 1e-14 * e),
        "normal {normal} on {:?}",
        ctx.targets()
    );
    let f32_bits: Vec<u32> = random.rand::<f32>(&d)?.toarray()?.iter().map(|x| x.to_bits()).collect();
    let bytes = random.randint::<u8>(&d, 0, Some(256))?.toarray()?.into_raw_vec_and_offset().0;
    let coins = random.random_bool(&d, 0.5)?.toarray()?.into_raw_vec_and_offset().0;
    let d10 = Distribution::builder(ctx, &[10]).dist("c").build()?;
    let perm = random.permutation_of(&d10)?.toarray()?.into_raw_vec_and_offset().0;
    let got = format!("{f32_bits:#x?} {bytes:?} {coins:?} {perm:?}");
    let want = format!("{RAND_F32_42:#x?} {RANDINT_U8_42:?} {BOOL_42:?} {PERMUTATION_42:?}");
    assert_eq!(got, want, "typed samplers, seed 42, on {:?}", ctx.targets());
    Ok(())
}

/// Every typed sampler over `d` after seeding with 11, and for 1-D `d` the
/// permutations and choices of arrays laid out as `d`, as bits.
fn typed_draws(random: &Random, d: &Distribution) -> Result<Vec<Vec<u64>>> {
    fn bits<T: Element>(a: DistArray<T>, f: impl Fn(T) -> u64) -> Result<Vec<u64>> {
        Ok(a.toarray()?.iter().map(|&x| f(x)).collect())
    }
    random.seed(Some(11));
    let mut out = vec![
        bits(random.rand::<f32>(d)?, |x| x.to_bits().into())?,
        bits(random.randn::<f32>(d)?, |x| x.to_bits().into())?,
        bits(random.uniform(d, -2.0, 3.0)?, f64::to_bits)?,
        bits(random.random_bool(d, 0.7)?, u64::from)?,
        bits(random.randint::<i8>(d, -128, Some(128))?, |x| x as u64)?,
        bits(random.randint::<u16>(d, 3, Some(1000))?, u64::from)?,
        bits(random.randint::<u64>(d, 0, Some(1 << 64))?, |x| x)?,
    ];
    if d.ndim() == 1 {
        let ctx = d.context();
        let n = d.shape()[0];
        let a = ctx.fromarray(&Array1::from_iter((0..n as i64).map(|i| 5 * i + 1)), Some(d))?;
        let mut b = ctx.fromarray(&Array1::from_iter((0..n).map(|i| i as u8)), Some(d))?;
        random.shuffle(&mut b)?;
        let reversed: Vec<usize> = ctx.targets().iter().rev().copied().collect();
        let other = Distribution::builder(ctx, &[n / 2]).dist("c").targets(&reversed).build()?;
        out.extend([
            bits(random.permutation_of(d)?, |x| x as u64)?,
            bits(random.permutation(&a)?, |x| x as u64)?,
            bits(b, u64::from)?,
            bits(random.choice(&a, 2 * n, true)?, |x| x as u64)?,
            bits(random.choice_as(&a, &other, false)?, |x| x as u64)?,
        ]);
    }
    Ok(out)
}

/// Every map type of `shape` on `ctx` gives the typed draws of `expected`.
fn check_typed(ctx: &Context, shape: &[usize], expected: &[Vec<u64>]) -> Result<usize> {
    let ndim = shape.len();
    let builders = [
        Distribution::builder(ctx, shape),
        Distribution::builder(ctx, shape).dist(&"c".repeat(ndim)),
        Distribution::builder(ctx, shape).dists(&vec![Dist::BlockCyclic { block_size: 3 }; ndim]),
        Distribution::builder(ctx, shape).dist(&"u".repeat(ndim)),
    ];
    let random = Random::new(ctx);
    let count = builders.len();
    for builder in builders {
        let d = builder.build()?;
        assert_eq!(typed_draws(&random, &d)?, expected, "typed, shape {shape:?}, {d} on {:?}", ctx.targets());
    }
    Ok(count)
}

/// rand, randn, randint over `d` after seeding with 7.
fn draws(random: &Random, d: &Distribution) -> Result<(ArrayD<f64>, ArrayD<f64>, ArrayD<i64>)> {
    random.seed(Some(7));
    Ok((
        random.rand::<f64>(d)?.toarray()?,
        random.randn::<f64>(d)?.toarray()?,
        random.randint::<i64>(d, -1 << 40, Some(3))?.toarray()?,
    ))
}

/// Every distribution kind of `shape` on `ctx` gives the arrays of `expected`.
fn check_layouts(ctx: &Context, shape: &[usize], expected: &(ArrayD<f64>, ArrayD<f64>, ArrayD<i64>)) -> Result<usize> {
    let ndim = shape.len();
    let n = ctx.num_targets();
    let mut builders = vec![
        Distribution::builder(ctx, shape),
        Distribution::builder(ctx, shape).dist(&"c".repeat(ndim)),
        Distribution::builder(ctx, shape).dists(&vec![Dist::BlockCyclic { block_size: 3 }; ndim]),
        Distribution::builder(ctx, shape).dist(&"u".repeat(ndim)),
    ];
    let mut grid = vec![1; ndim];
    grid[ndim - 1] = n;
    builders.push(Distribution::builder(ctx, shape).dist(&"c".repeat(ndim)).grid_shape(&grid));
    let random = Random::new(ctx);
    let count = builders.len();
    for builder in builders {
        let d = builder.build()?;
        assert_eq!(&draws(&random, &d)?, expected, "shape {shape:?}, {d} on {:?}", ctx.targets());
    }
    Ok(count)
}

fn main() -> Result<()> {
    let ctx = Context::new()?;
    let n = ctx.num_targets();
    let reversed: Vec<usize> = (0..n).rev().collect();
    let contexts = [
        ctx.clone(),
        Context::with_targets(&[0])?,
        Context::with_targets(&reversed)?,
        Context::with_targets(&reversed[..n.div_ceil(2)])?,
    ];
    let mut checked = 0;
    for c in &contexts {
        check_known_values(c)?;
    }
    let reference = Context::with_targets(&[n - 1])?;
    for shape in [&[17][..], &[6, 5], &[3, 4, 5]] {
        let expected = draws(&Random::new(&reference), &Distribution::from_shape(&reference, shape)?)?;
        for c in &contexts {
            checked += check_layouts(c, shape, &expected)?;
        }
    }
    for shape in [&[23][..], &[4, 7]] {
        let expected = typed_draws(&Random::new(&reference), &Distribution::from_shape(&reference, shape)?)?;
        for c in &contexts {
            checked += check_typed(c, shape, &expected)?;
        }
    }
    println!("mpi_random: ok on the {} backend with {n} engines ({checked} layouts)", ctx.backend_name());
    Ok(())
}
