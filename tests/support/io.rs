//! The file IO suite, shared by `tests/io.rs` (thread engines) and
//! `tests/mpi_io.rs` (mpirun): `.npy` and `.dnpy` round trips for every
//! element type, every map type and 1 to 3 axes.

use std::path::Path;

use distarray::prelude::*;
use distarray::{Complex, GlobalDimDict};
use ndarray::{ArrayD, IxDyn};

/// Element values from a linear index.
pub trait Sample: Element {
    /// The value stored at row-major index `k`.
    fn sample(k: usize) -> Self;
}

macro_rules! sample_as {
    ($($t:ty),*) => {$(impl Sample for $t { fn sample(k: usize) -> Self { (k % 100) as $t } })*};
}
sample_as!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

impl Sample for bool {
    fn sample(k: usize) -> Self {
        k % 3 == 1
    }
}
impl Sample for Complex<f32> {
    fn sample(k: usize) -> Self {
        Complex::new(k as f32, -0.5 * k as f32)
    }
}
impl Sample for Complex<f64> {
    fn sample(k: usize) -> Self {
        Complex::new(k as f64 + 0.25, -(k as f64))
    }
}

/// The array of `shape` whose element `k` (row-major) is `T::sample(k)`.
pub fn global<T: Sample>(shape: &[usize]) -> ArrayD<T> {
    let n = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(T::sample).collect()).unwrap()
}

/// Distributions of `shape` on `ctx` covering every map type.
pub fn distributions(ctx: &Context, shape: &[usize]) -> Vec<Distribution> {
    let letters: &[&str] = match shape.len() {
        1 => &["b", "c", "n", "u"],
        2 => &["bc", "cb", "nb", "ub"],
        _ => &["bcn", "ncb", "ubc"],
    };
    let mut out: Vec<Distribution> = letters
        .iter()
        .map(|l| match *l {
            // Nothing distributed: the whole array on one engine.
            "n" => Distribution::builder(ctx, shape).dist(l).targets(&ctx.targets()[..1]).build().unwrap(),
            _ => Distribution::builder(ctx, shape).dist(l).build().unwrap(),
        })
        .collect();
    // Block-cyclic with blocks of 2 on the first axis, the rest whole.
    let mut dims =
        vec![GlobalDimDict::BlockCyclic { size: shape[0], proc_grid_size: ctx.num_targets(), block_size: 2 }];
    dims.extend(shape[1..].iter().map(|&size| GlobalDimDict::NoDist { size }));
    out.push(Distribution::from_global_dim_data(ctx, &dims, None).unwrap());
    out
}

/// Round trips of one element type through `.npy` and `.dnpy` files in `dir`.
pub fn round_trips<T: Sample>(ctx: &Context, dir: &Path) -> Result<()> {
    let name = T::DTYPE.name();
    for shape in [&[7][..], &[5, 6], &[3, 4, 5]] {
        let a = global::<T>(shape);
        for (i, d) in distributions(ctx, shape).iter().enumerate() {
            let da = ctx.fromarray(&a, Some(d))?;
            let npy = dir.join(format!("{name}_{}d_{i}.npy", shape.len()));
            distarray::save_npy(&npy, &da)?;
            // Loaded over the default distribution and over the same one.
            let back = distarray::load_npy::<T>(&npy, &Distribution::from_shape(ctx, shape)?)?;
            assert_eq!(back.toarray()?, a, "{name} {shape:?} {d} via .npy");
            assert_eq!(distarray::load_npy::<T>(&npy, d)?.toarray()?, a, "{name} {shape:?} {d} via .npy");
            let base = dir.join(format!("{name}_{}d_{i}", shape.len()));
            distarray::save_dnpy(base.as_path(), &da)?;
            // One file per engine of the loading context: load on the engines that saved.
            let on = if da.targets() == ctx.targets() { ctx.clone() } else { Context::with_targets(da.targets())? };
            let back = distarray::load_dnpy::<T>(&on, base.as_path())?;
            assert_eq!(back.toarray()?, a, "{name} {shape:?} {d} via .dnpy");
            let expected: Vec<char> = d.dist().iter().map(|&c| if c == 'n' { 'b' } else { c }).collect();
            assert_eq!(back.dist(), expected, "{name} {shape:?} {d}: the map types come back ('n' as a one-rank 'b')");
            assert_eq!(back.get_localshapes(), da.get_localshapes());
        }
    }
    Ok(())
}

/// Every element type's round trips.
pub fn all_round_trips(ctx: &Context, dir: &Path) -> Result<()> {
    round_trips::<bool>(ctx, dir)?;
    round_trips::<i8>(ctx, dir)?;
    round_trips::<i16>(ctx, dir)?;
    round_trips::<i32>(ctx, dir)?;
    round_trips::<i64>(ctx, dir)?;
    round_trips::<u8>(ctx, dir)?;
    round_trips::<u16>(ctx, dir)?;
    round_trips::<u32>(ctx, dir)?;
    round_trips::<u64>(ctx, dir)?;
    round_trips::<f32>(ctx, dir)?;
    round_trips::<f64>(ctx, dir)?;
    round_trips::<Complex<f32>>(ctx, dir)?;
    round_trips::<Complex<f64>>(ctx, dir)
}

/// A fresh directory under the system's temp dir, unique to this run.
pub fn temp_dir(tag: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("distarray_{tag}_{}_{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Distributions of small arrays that live on fewer engines than `ctx` has
/// (DistArray's rules): short axes, and an explicit grid of fewer processes.
pub fn on_fewer_engines(ctx: &Context) -> Vec<Distribution> {
    let n = ctx.num_targets();
    let mut out = vec![
        Distribution::builder(ctx, &[3]).dist("b").build().unwrap(),
        Distribution::builder(ctx, &[7, 5]).dist("nb").build().unwrap(),
        Distribution::builder(ctx, &[2, 2]).dist("cc").build().unwrap(),
        Distribution::builder(ctx, &[4, 3]).dist("nn").build().unwrap(),
        Distribution::builder(ctx, &[10, 3]).dist("bc").grid_shape(&[n.max(2) - 1]).build().unwrap(),
    ];
    if n > 1 {
        // Cut-off targets that are not the first engines of the context.
        let last: Vec<usize> = ctx.targets()[1..].to_vec();
        out.push(Distribution::builder(ctx, &[2]).targets(&last).build().unwrap());
    }
    out
}

/// `.npy` and `.dnpy` round trips of arrays on fewer engines than `ctx`:
/// loaded back over the same distribution and over one on every engine, and
/// `.dnpy` files only for the engines that hold a piece.
pub fn fewer_engines_round_trips(ctx: &Context, dir: &Path) -> Result<()> {
    for (i, d) in on_fewer_engines(ctx).iter().enumerate() {
        let a = global::<f64>(d.shape());
        let da = ctx.fromarray(&a, Some(d))?;
        let full = Distribution::builder(ctx, d.shape()).dist("c").build()?;
        let npy = dir.join(format!("fewer_{i}_{}.npy", ctx.num_targets()));
        distarray::save_npy(&npy, &da)?;
        assert_eq!(distarray::load_npy::<f64>(&npy, d)?.toarray()?, a, "{d} via .npy");
        assert_eq!(distarray::load_npy::<f64>(&npy, &full)?.toarray()?, a, "{d} via .npy onto {full}");
        let sub = dir.join(format!("fewer_{i}_{}", ctx.num_targets()));
        std::fs::create_dir_all(&sub).unwrap();
        let base = sub.join("a");
        distarray::save_dnpy(base.as_path(), &da)?;
        let mut files: Vec<String> =
            std::fs::read_dir(&sub).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        files.sort();
        let expected: Vec<String> = (0..d.nprocs()).map(|r| format!("a_{r}.dnpy")).collect();
        assert_eq!(files, expected, "{d}: one .dnpy file per engine of the array");
        let back = distarray::load_dnpy::<f64>(ctx, base.as_path())?;
        assert_eq!(back.toarray()?, a, "{d} via .dnpy");
        assert_eq!(back.get_localshapes(), da.get_localshapes(), "{d} via .dnpy");
        assert_eq!(back.targets(), &ctx.targets()[..d.nprocs()], "{d}: loaded on the first engines");
        // More files than engines cannot load.
        if d.nprocs() < ctx.num_targets() {
            let small = Context::with_targets(&ctx.targets()[..1])?;
            if d.nprocs() > 1 {
                let e = distarray::load_dnpy::<f64>(&small, base.as_path()).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::InvalidTarget, "{e}");
                assert!(e.to_string().contains("does not fit a context of 1"), "{e}");
            }
        }
    }
    Ok(())
}
