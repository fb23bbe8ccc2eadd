//! Valid shapes too big for the machine: every call that allocates element
//! data must return `Err(OutOfMemory)` (numpy's MemoryError) naming what
//! failed, never abort the process; the engines and the arrays that exist
//! keep working. Each case makes pieces of at least 2^38 elements per engine
//! (256 GiB of bytes or more), which no engine of a test machine can reserve,
//! and none overflows `isize`.
//!
//! Only where the kernel refuses such a reservation outright (overcommit
//! heuristic or strict; mode 1 would grant it and the test would touch it).
//! Files are sparse: their header claims a huge shape, their data takes no
//! disk space.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::Path;

use distarray::prelude::*;
use distarray::vectorize;
use ndarray::{s, Array1};

use super::files::Scratch;
use super::{expect_err, no_panic, on_every_context};

super::case_list!(
    fromfunction_too_big_for_the_engines,
    random_arrays_too_big_for_the_engines,
    axis_reductions_too_big_for_the_engines,
    empty_arrays_with_huge_axes_slice_and_redistribute,
    npy_and_dnpy_too_big_for_the_engines,
    hdf5_too_big_for_the_engines,
    client_arrays_too_big_for_the_client,
);

/// Elements of the huge 1-D arrays: 2^40, at least 2^38 per engine (4
/// engines), far beyond the memory of any test machine.
const HUGE: usize = 1 << 40;

/// `2 i`, elementwise (and at each global index for fromfunction).
#[vectorize]
pub fn twice(i: f64) -> f64 {
    2.0 * i
}

/// Whether the kernel refuses a reservation bigger than the machine (overcommit
/// modes 0 and 2); counted as skipped otherwise.
fn refuses_huge_reservations() -> bool {
    let mode = std::fs::read_to_string("/proc/sys/vm/overcommit_memory").unwrap_or_default();
    let refuses = matches!(mode.trim(), "0" | "2");
    if !refuses {
        super::SKIPPED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        eprintln!("NOTICE: overcommit mode {} grants any reservation: out-of-memory case skipped", mode.trim());
    }
    refuses
}

/// Checks that `result` is an engine's `OutOfMemory` naming the engine and
/// the size it could not allocate.
#[track_caller]
fn expect_engine_oom<T: std::fmt::Debug>(result: Result<T>, needles: &[&str]) -> Error {
    let mut all = vec!["engine", "cannot allocate", "on this engine"];
    all.extend_from_slice(needles);
    expect_err(result, ErrorKind::OutOfMemory, &all)
}

/// The keys of `ctx`'s arrays on its engines.
fn keys(ctx: &Context) -> Result<BTreeMap<String, Vec<usize>>> {
    distarray::cleanup::get_local_keys(ctx, ctx.key_prefix())
}

/// After out-of-memory failures: the same engines still compute, and nothing
/// of the failed calls is left on them (the keys are those of `before`).
fn engines_still_work(ctx: &Context, before: &BTreeMap<String, Vec<usize>>) -> Result<()> {
    assert_eq!(&keys(ctx)?, before, "a failed call left pieces on the engines");
    let d = Distribution::from_shape(ctx, &[9])?;
    let a = ctx.fromfunction::<twice>(&[9], Some(&d))?;
    let expected = Array1::from_iter((0..9).map(|i| 2.0 * i as f64)).into_dyn();
    assert_eq!(a.toarray()?, expected);
    assert_eq!(twice(&a)?.toarray()?, expected.mapv(|x| 2.0 * x));
    // Payloads and pulls of more than 64 KiB per engine (the large-message
    // path under MPI).
    let big = Array1::from_iter((0..1 << 17).map(|i| i as f64)).into_dyn();
    assert_eq!(ctx.fromarray(&big, None)?.toarray()?, big);
    Ok(())
}

pub fn fromfunction_too_big_for_the_engines() -> Result<()> {
    on_every_context(|ctx| {
        let before = keys(ctx)?;
        // Pieces whose bytes overflow usize: refused whatever the overcommit
        // mode, without an overflow panic.
        let n = isize::MAX as usize;
        let d = Distribution::builder(ctx, &[n]).targets(&ctx.targets()[..2]).build()?;
        let e = no_panic("fromfunction of isize::MAX elements", || ctx.fromfunction::<twice>(&[n], Some(&d)));
        expect_engine_oom(e, &["more bytes than usize holds"]);
        if !refuses_huge_reservations() {
            return Ok(());
        }
        let d = Distribution::from_shape(ctx, &[HUGE])?;
        let e = no_panic("fromfunction of 2^40 elements", || ctx.fromfunction::<twice>(&[HUGE], Some(&d)));
        expect_engine_oom(e, &["twice#index"]);
        let cyclic = Distribution::builder(ctx, &[HUGE, 1]).dist("cn").build()?;
        let e =
            no_panic("fromfunction of a cyclic 2^40 x 1", || ctx.fromfunction::<plus_index>(&[HUGE, 1], Some(&cyclic)));
        expect_engine_oom(e, &["plus_index#index"]);
        engines_still_work(ctx, &before)
    })
}

/// `i + j`, for a 2-D fromfunction.
#[vectorize]
pub fn plus_index(i: i64, j: i64) -> i64 {
    i + j
}

pub fn random_arrays_too_big_for_the_engines() -> Result<()> {
    if !refuses_huge_reservations() {
        return Ok(());
    }
    on_every_context(|ctx| {
        let before = keys(ctx)?;
        let random = Random::new(ctx);
        random.seed(Some(7));
        for dist in ["b", "c"] {
            let d = Distribution::builder(ctx, &[HUGE]).dist(dist).build()?;
            expect_engine_oom(no_panic("rand", || random.rand::<f64>(&d)), &["distarray::random::floats::float64"]);
            expect_engine_oom(no_panic("randn", || random.randn::<f64>(&d)), &["distarray::random::floats::float64"]);
            expect_engine_oom(
                no_panic("normal", || random.normal(&d, 1.0, 2.0)),
                &["distarray::random::floats::float64"],
            );
            expect_engine_oom(
                no_panic("randint", || random.randint::<i64>(&d, 0, Some(10))),
                &["distarray::random::integers::int64"],
            );
        }
        // The generator still samples.
        let small = random.rand::<f64>(&Distribution::from_shape(ctx, &[20])?)?.toarray()?;
        assert!(small.iter().all(|x| (0.0..1.0).contains(x)));
        engines_still_work(ctx, &before)
    })
}

pub fn axis_reductions_too_big_for_the_engines() -> Result<()> {
    if !refuses_huge_reservations() {
        return Ok(());
    }
    on_every_context(|ctx| {
        let before = keys(ctx)?;
        // No elements, but the reduction along axis 0 has 2^40.
        let d = Distribution::builder(ctx, &[0, HUGE]).dist("nb").build()?;
        let empty = ctx.zeros::<f64>(&d)?;
        expect_engine_oom(no_panic("sum_axis", || empty.sum_axis(&[0])), &[]);
        expect_engine_oom(no_panic("max_axis", || empty.max_axis(&[0])), &[]);
        expect_engine_oom(no_panic("var_axis", || empty.var_axis(&[0], 0.0)), &[]);
        // The empty array and the whole-array reductions still work.
        assert_eq!(empty.sum()?, 0.0);
        assert_eq!(empty.sum_axis(&[1])?.toarray()?.shape(), &[0]);
        drop(empty);
        engines_still_work(ctx, &before)
    })
}

// Empty arrays with a huge axis hold nothing: slicing and redistributing them
// must neither list the huge axis' indices (an abort, or minutes) nor fail.
pub fn empty_arrays_with_huge_axes_slice_and_redistribute() -> Result<()> {
    on_every_context(|ctx| {
        let before = keys(ctx)?;
        for dist in ["nb", "bn", "nc"] {
            let d = Distribution::builder(ctx, &[0, HUGE]).dist(dist).build()?;
            let empty = ctx.zeros::<f64>(&d)?;
            if dist == "nc" {
                // A cyclic slice's map lists the 2^39 selected indices.
                if refuses_huge_reservations() {
                    let e = no_panic("a cyclic slice of [0, 2^40]", || empty.slice(s![.., 1..;2]));
                    expect_err(e, ErrorKind::OutOfMemory, &["on the client", "map of axis 1"]);
                }
                let row = no_panic("an index into the huge axis", || empty.slice(s![.., -1]))?;
                assert_eq!(row.shape(), &[0]);
                continue;
            }
            let part = no_panic("a slice of an empty [0, 2^40]", || empty.slice(s![.., 1..;2]))?;
            assert_eq!(part.shape(), &[0, HUGE / 2]);
            assert_eq!(part.toarray()?.shape(), &[0, HUGE / 2]);
            let row = no_panic("an index into the huge axis", || empty.slice(s![.., -1]))?;
            assert_eq!(row.shape(), &[0]);
            let cyclic = Distribution::builder(ctx, &[0, HUGE]).dist("nc").build()?;
            let moved = no_panic("a redistribution of an empty [0, 2^40]", || empty.distribute_as(&cyclic))?;
            assert_eq!((moved.shape(), moved.dist()), (&[0, HUGE][..], vec!['n', 'c']));
            assert_eq!(moved.toarray()?.len(), 0);
        }
        engines_still_work(ctx, &before)
    })
}

/// `text` padded with spaces and a newline so that `prefix + text` is a
/// multiple of `align` bytes.
fn padded(prefix: usize, text: &str, align: usize) -> Vec<u8> {
    let mut out = text.as_bytes().to_vec();
    let total = (prefix + out.len() + 1).div_ceil(align) * align;
    out.resize(total - prefix - 1, b' ');
    out.push(b'\n');
    out
}

/// A `.npy` stream header (version 1.0) for `descr` and `shape`.
fn npy_header(descr: &str, shape: usize) -> Vec<u8> {
    let dict = padded(10, &format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({shape},), }}"), 64);
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(&dict);
    out
}

/// Writes `header` to `path` and extends the file, sparsely, by `data` bytes.
fn sparse_file(path: &Path, header: &[u8], data: u64) {
    let mut file = File::create(path).expect("create");
    file.write_all(header).expect("write header");
    file.set_len(header.len() as u64 + data).expect("a sparse file");
}

pub fn npy_and_dnpy_too_big_for_the_engines() -> Result<()> {
    if !refuses_huge_reservations() {
        return Ok(());
    }
    on_every_context(|ctx| {
        let before = keys(ctx)?;
        let dir = Scratch::new("huge_npy");
        let path = dir.path("huge.npy");
        sparse_file(&path, &npy_header("|u1", HUGE), HUGE as u64);
        let shown = path.display().to_string();
        for dist in ["b", "c"] {
            let d = Distribution::builder(ctx, &[HUGE]).dist(dist).build()?;
            let e = no_panic("load_npy of 2^40 bytes", || distarray::load_npy::<u8>(&path, &d));
            expect_engine_oom(e, &[&shown]);
        }
        // A header claiming more data than the file holds is a format error.
        let lying = dir.path("lying.npy");
        sparse_file(&lying, &npy_header("<f8", 1 << 50), 64);
        let d = Distribution::from_shape(ctx, &[1 << 50])?;
        expect_err(
            distarray::load_npy::<f64>(&lying, &d),
            ErrorKind::Format,
            &["truncated data", &lying.display().to_string()],
        );

        // One .dnpy file holding the whole 2^40 array (a grid of one: the
        // first engine reads it).
        let dnpy = dir.path("huge.dnpy");
        let dim = format!("{{'dist_type': 'b', 'size': {HUGE}, 'proc_grid_rank': 0, 'proc_grid_size': 1, 'start': 0, 'stop': {HUGE}}}");
        let dict = padded(10, &format!("{{'__version__': '0.10.0', 'dim_data': ({dim},), }}"), 16);
        let mut header = b"\x93DARRY\x01\x00".to_vec();
        header.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        header.extend_from_slice(&dict);
        header.extend_from_slice(&npy_header("|u1", HUGE));
        sparse_file(&dnpy, &header, HUGE as u64);
        let names = vec![dnpy.clone()];
        let e = no_panic("load_dnpy of 2^40 bytes", || distarray::load_dnpy::<u8>(ctx, names));
        expect_engine_oom(e, &[&dnpy.display().to_string()]);
        engines_still_work(ctx, &before)
    })
}

#[cfg(feature = "hdf5")]
pub fn hdf5_too_big_for_the_engines() -> Result<()> {
    use distarray::__hdf5 as hdf5;
    if !refuses_huge_reservations() {
        return Ok(());
    }
    on_every_context(|ctx| {
        let before = keys(ctx)?;
        let dir = Scratch::new("huge_hdf5");
        let path = dir.path("huge.h5");
        // A chunked dataset of 2^40 bytes that were never written: the file
        // is a few kilobytes.
        let made = (|| -> hdf5::Result<()> {
            let file = hdf5::File::create(&path)?;
            file.new_dataset::<u8>().chunk(1 << 20).shape(HUGE).create("buffer")?;
            file.close()
        })();
        made.expect("an HDF5 file with a huge dataset");
        for dist in ["b", "c"] {
            let d = Distribution::builder(ctx, &[HUGE]).dist(dist).build()?;
            let e = no_panic("load_hdf5 of 2^40 bytes", || distarray::load_hdf5::<u8>(&path, &d, "buffer"));
            expect_engine_oom(e, &[]);
        }
        engines_still_work(ctx, &before)
    })
}

#[cfg(not(feature = "hdf5"))]
pub fn hdf5_too_big_for_the_engines() -> Result<()> {
    Ok(())
}

// What the client builds itself from a distribution: numpy's MemoryError
// there too ("on the client"), and nothing for an empty array.
pub fn client_arrays_too_big_for_the_client() -> Result<()> {
    if !refuses_huge_reservations() {
        return Ok(());
    }
    on_every_context(|ctx| {
        let before = keys(ctx)?;
        for dist in ["b", "c"] {
            let d = Distribution::builder(ctx, &[HUGE]).dist(dist).build()?;
            let e = no_panic("get_dist_matrix of 2^40 elements", || d.get_dist_matrix());
            expect_err(e, ErrorKind::OutOfMemory, &["cannot allocate", "on the client"]);
        }
        let empty = Distribution::builder(ctx, &[0, HUGE]).dist("nb").build()?;
        assert_eq!(no_panic("get_dist_matrix of [0, 2^40]", || empty.get_dist_matrix())?.shape(), &[0, HUGE]);
        engines_still_work(ctx, &before)
    })
}
