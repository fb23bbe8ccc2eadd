//! Parallel HDF5 write and read of a 1 GiB f64 array on 2 engines, as a ratio
//! to one hdf5-metno writer/reader of the same array in the same run.
//!
//!     cargo bench --features mpi,hdf5 --bench hdf5                  (thread engines: writes in turn)
//!     mpirun -n 3 target/release/deps/hdf5-…                        (2 MPI engines: collective MPI-IO)
//!
//! `DISTARRAY_BENCH_MIB` sets the size in MiB (default 1024). The files go to
//! the temporary directory and are removed afterwards; both sides write
//! through the page cache, so this measures the IO path, not the disk.

use std::error::Error;
use std::time::Instant;

use distarray::__hdf5 as hdf5;
use distarray::prelude::*;
use distarray::{load_hdf5, save_hdf5, Hdf5Options};
use ndarray::Array2;

fn secs(f: impl FnOnce() -> Result<(), Box<dyn Error>>) -> Result<f64, Box<dyn Error>> {
    let start = Instant::now();
    f()?;
    Ok(start.elapsed().as_secs_f64())
}

fn main() -> Result<(), Box<dyn Error>> {
    let ctx = Context::new()?;
    let two = Context::with_targets(&ctx.targets()[..ctx.num_targets().min(2)])?;
    let mib: usize = std::env::var("DISTARRAY_BENCH_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
    let cols = 1024;
    let rows = mib * (1 << 20) / 8 / cols;
    let gib = (rows * cols * 8) as f64 / (1u64 << 30) as f64;
    let dir = std::env::temp_dir().join(format!("distarray-bench-hdf5-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (ours, theirs) = (dir.join("distarray.h5"), dir.join("single.h5"));

    let d = Distribution::from_shape(&two, &[rows, cols])?;
    let mut a = two.zeros::<f64>(&d)?;
    a.fill(1.5)?;
    let write = secs(|| Ok(save_hdf5(&ours, &a, &Hdf5Options::new())?))?;
    let read = secs(|| {
        load_hdf5::<f64>(&ours, &d, "buffer")?;
        Ok(())
    })?;

    let x = Array2::<f64>::from_elem((rows, cols), 1.5);
    let base_write = secs(|| {
        let file = hdf5::File::create(&theirs)?;
        file.new_dataset_builder().with_data(&x).create("buffer")?;
        Ok(())
    })?;
    let base_read = secs(|| {
        let file = hdf5::File::open(&theirs)?;
        let back: Array2<f64> = file.dataset("buffer")?.read_2d()?;
        assert_eq!(back.dim(), (rows, cols));
        Ok(())
    })?;
    std::fs::remove_dir_all(&dir)?;

    println!(
        "{gib:.2} GiB f64, {} engines ({} backend) vs one hdf5-metno writer",
        two.num_targets(),
        two.backend_name()
    );
    println!(
        "write  distarray {:>6.2} GiB/s   single {:>6.2} GiB/s   speed ratio {:.2}",
        gib / write,
        gib / base_write,
        base_write / write
    );
    println!(
        "read   distarray {:>6.2} GiB/s   single {:>6.2} GiB/s   speed ratio {:.2}",
        gib / read,
        gib / base_read,
        base_read / read
    );
    Ok(())
}
