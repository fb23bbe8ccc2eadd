//! The bad-input suite, shared by `tests/bad_input.rs` (thread engines, one
//! libtest test per case) and `tests/mpi_bad_input.rs` (one program for
//! `mpirun`): wrong input of every kind through the public API. Every call
//! must return `Err` of the right `ErrorKind` with a message naming what was
//! wrong, never panic, and leave the arrays that already exist untouched.
//!
//! Thread engines are shared by every test of a process (tests run in
//! parallel), so nothing here deletes keys outside its own contexts: no
//! `cleanup::cleanup_all`, `clear_all` or `clear`.
//!
//! Cases adapt to the number of engines; the few that need 4 engines are
//! skipped (and counted as skipped) on fewer.

#![allow(dead_code)] // each test binary uses part of it

pub mod arrays;
pub mod distributions;
pub mod files;
pub mod layouts;
pub mod memory;
pub mod operations;

use std::any::Any;
use std::fmt::Debug;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};

use distarray::prelude::*;
use distarray::DimDict;
use ndarray::{Array1, Array2, ArrayD};

/// Error checks made so far (calls of [`expect_err`]), for the count the MPI
/// program prints.
pub static CHECKS: AtomicUsize = AtomicUsize::new(0);
/// Cases skipped for lack of engines.
pub static SKIPPED: AtomicUsize = AtomicUsize::new(0);

/// Asserts that `result` is an error of `kind` whose message contains every
/// one of `needles`, and returns it.
#[track_caller]
pub fn expect_err<T: Debug>(result: Result<T>, kind: ErrorKind, needles: &[&str]) -> Error {
    CHECKS.fetch_add(1, Ordering::Relaxed);
    let err = match result {
        Ok(value) => panic!("expected a {kind:?} error mentioning {needles:?}, got Ok({value:?})"),
        Err(err) => err,
    };
    assert_eq!(err.kind(), kind, "wrong kind of error: {err:?}");
    for needle in needles {
        assert!(err.message().contains(needle), "the message of {err:?} does not mention {needle:?}");
    }
    // Display is the bare message, so users see the same text.
    assert_eq!(err.to_string(), err.message());
    err
}

/// Arrays with known contents, made before a test feeds the API bad input and
/// checked after it: bad input must never disturb existing arrays.
pub struct Witnesses {
    floats: DistArray<f64>,
    floats_expected: ArrayD<f64>,
    ints: DistArray<i64>,
    ints_expected: ArrayD<i64>,
}

impl Witnesses {
    pub fn new(ctx: &Context) -> Result<Self> {
        let floats_expected = Array2::from_shape_fn((5, 7), |(i, j)| (10 * i + j) as f64 + 0.5).into_dyn();
        let ints_expected = Array1::from_iter((0..11).map(|i| i * i - 20)).into_dyn();
        let cyclic = Distribution::builder(ctx, &[11]).dist("c").build()?;
        Ok(Witnesses {
            floats: ctx.fromarray(&floats_expected, None)?,
            ints: ctx.fromarray(&ints_expected, Some(&cyclic))?,
            floats_expected,
            ints_expected,
        })
    }

    #[track_caller]
    pub fn assert_intact(&self) {
        assert_eq!(self.floats.toarray().expect("witness floats readable"), self.floats_expected);
        assert_eq!(self.ints.toarray().expect("witness ints readable"), self.ints_expected);
    }
}

/// Runs `body` on a context over `targets` (all engines for `None`) that holds
/// witness arrays, then checks that the witnesses are intact.
pub fn guarded(targets: Option<&[usize]>, body: impl FnOnce(&Context) -> Result<()>) -> Result<()> {
    let ctx = match targets {
        None => Context::new()?,
        Some(t) => Context::with_targets(t)?,
    };
    let witnesses = Witnesses::new(&ctx)?;
    body(&ctx)?;
    witnesses.assert_intact();
    Ok(())
}

/// The contexts every test runs on: all engines, the even engines, and the
/// odd ones in reverse order (so ranks and engine ids differ), each with at
/// least 2 engines (all of them, reversed, in place of a shorter one). On 4
/// engines: all, `[0, 2]`, `[3, 1]`; on 2: all and `[1, 0]`.
pub fn subsets(n: usize) -> Vec<Option<Vec<usize>>> {
    let evens: Vec<usize> = (0..n).step_by(2).collect();
    let odds: Vec<usize> = (1..n).step_by(2).rev().collect();
    let reversed: Vec<usize> = (0..n).rev().collect();
    let mut out = vec![None];
    if evens.len() >= 2 {
        out.push(Some(evens));
    }
    if odds.len() >= 2 {
        out.push(Some(odds));
    } else if n >= 2 {
        out.push(Some(reversed));
    }
    out
}

/// Runs `body` guarded on every context of [`subsets`].
pub fn on_every_context(body: impl Fn(&Context) -> Result<()>) -> Result<()> {
    let n = Context::new()?.num_engines();
    for targets in subsets(n) {
        guarded(targets.as_deref(), &body)?;
    }
    Ok(())
}

/// True when there are at least `n` engines; otherwise counts the case as
/// skipped and says so.
pub fn has_engines(n: usize) -> Result<bool> {
    let have = Context::new()?.num_engines();
    if have < n {
        SKIPPED.fetch_add(1, Ordering::Relaxed);
        eprintln!("NOTICE: a bad-input case needs {n} engines, there are {have}: skipped");
    }
    Ok(have >= n)
}

/// Runs `f`, turning a panic into a test failure that says what panicked.
#[track_caller]
pub fn no_panic<R>(what: &str, f: impl FnOnce() -> R) -> R {
    fn message(panic: &(dyn Any + Send)) -> &str {
        panic
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("?")
    }
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(panic) => panic!("{what} panicked: {}", message(&*panic)),
    }
}

/// `dim_data` with `edit` applied to a copy.
pub fn edited(dim_data: &[Vec<DimDict>], edit: impl FnOnce(&mut Vec<Vec<DimDict>>)) -> Vec<Vec<DimDict>> {
    let mut copy = dim_data.to_vec();
    edit(&mut copy);
    copy
}

/// The dim data of a distribution of `shape` with `dist` and `grid_shape`
/// over the first `prod(grid_shape)` engines of `ctx`, checked to round-trip.
pub fn valid_dim_data(ctx: &Context, shape: &[usize], dist: &str, grid_shape: &[usize]) -> Result<Vec<Vec<DimDict>>> {
    let n: usize = grid_shape.iter().product();
    let d = Distribution::builder(ctx, shape).dist(dist).grid_shape(grid_shape).targets(&ctx.targets()[..n]).build()?;
    let dim_data = d.get_dim_data_per_rank();
    // The unedited data must be accepted, so each edit alone makes it invalid.
    let back = Distribution::from_dim_data_per_rank(ctx, &dim_data, None)?;
    assert_eq!(back, d);
    Ok(dim_data)
}

/// One case of the suite: its name and its body.
pub type Case = (&'static str, fn() -> Result<()>);

/// Every case, in a stable order.
pub fn cases() -> Vec<Case> {
    let mut all = Vec::new();
    all.extend_from_slice(layouts::CASES);
    all.extend_from_slice(distributions::CASES);
    all.extend_from_slice(arrays::CASES);
    all.extend_from_slice(operations::CASES);
    all.extend_from_slice(files::CASES);
    all.extend_from_slice(memory::CASES);
    all
}

/// Cases that fail because of a runtime bug outside the files this suite may
/// fix, with the reason; `tests/bad_input.rs` marks them `#[ignore]` and
/// `tests/mpi_bad_input.rs` skips them.
pub const IGNORED: &[(&str, &str)] = &[];

/// Declares `pub const CASES` listing the named case functions of a module.
macro_rules! case_list {
    ($($name:ident),* $(,)?) => {
        /// The cases of this module.
        pub const CASES: &[super::Case] = &[$((stringify!($name), $name)),*];
    };
}
pub(crate) use case_list;
