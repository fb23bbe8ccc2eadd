//! Wrong input through the public API: every call must return `Err` of the
//! right `ErrorKind` with a message naming what was wrong, never panic, and
//! leave the arrays that already exist untouched.
//!
//! Thread engines are shared by every test of this process (tests run in
//! parallel), so nothing here deletes keys outside its own contexts: no
//! `cleanup::cleanup_all`, `clear_all` or `clear`.

use std::any::Any;
use std::fmt::Debug;
use std::panic::{catch_unwind, AssertUnwindSafe};

use distarray::prelude::*;
use distarray::DimDict;
use ndarray::{Array1, Array2, ArrayD, IxDyn};

// ---------------------------------------------------------------------------
// Helpers

/// Asserts that `result` is an error of `kind` whose message contains every
/// one of `needles`, and returns it.
#[track_caller]
fn expect_err<T: Debug>(result: Result<T>, kind: ErrorKind, needles: &[&str]) -> Error {
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
struct Witnesses {
    floats: DistArray<f64>,
    floats_expected: ArrayD<f64>,
    ints: DistArray<i64>,
    ints_expected: ArrayD<i64>,
}

impl Witnesses {
    fn new(ctx: &Context) -> Result<Self> {
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
    fn assert_intact(&self) {
        assert_eq!(self.floats.toarray().expect("witness floats readable"), self.floats_expected);
        assert_eq!(self.ints.toarray().expect("witness ints readable"), self.ints_expected);
    }
}

/// Runs `body` on a context over `targets` (all engines for `None`) that holds
/// witness arrays, then checks that the witnesses are intact.
fn guarded(targets: Option<&[usize]>, body: impl FnOnce(&Context) -> Result<()>) -> Result<()> {
    let ctx = match targets {
        None => Context::new()?,
        Some(t) => Context::with_targets(t)?,
    };
    let witnesses = Witnesses::new(&ctx)?;
    body(&ctx)?;
    witnesses.assert_intact();
    Ok(())
}

/// The contexts every test runs on: all engines, and two subsets (one in
/// reverse order, so ranks and engine ids differ).
const SUBSETS: [Option<&[usize]>; 3] = [None, Some(&[0, 2]), Some(&[3, 1])];

fn on_every_context(body: impl Fn(&Context) -> Result<()>) -> Result<()> {
    for targets in SUBSETS {
        guarded(targets, &body)?;
    }
    Ok(())
}

/// Runs `f`, turning a panic into a test failure that says what panicked.
#[track_caller]
fn no_panic<R>(what: &str, f: impl FnOnce() -> R) -> R {
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
fn edited(dim_data: &[Vec<DimDict>], edit: impl FnOnce(&mut Vec<Vec<DimDict>>)) -> Vec<Vec<DimDict>> {
    let mut copy = dim_data.to_vec();
    edit(&mut copy);
    copy
}

/// The dim data of a distribution of `shape` with `dist` and `grid_shape`
/// over the first `prod(grid_shape)` engines of `ctx`, checked to round-trip.
fn valid_dim_data(ctx: &Context, shape: &[usize], dist: &str, grid_shape: &[usize]) -> Result<Vec<Vec<DimDict>>> {
    let n: usize = grid_shape.iter().product();
    let d = Distribution::builder(ctx, shape).dist(dist).grid_shape(grid_shape).targets(&ctx.targets()[..n]).build()?;
    let dim_data = d.get_dim_data_per_rank();
    // The unedited data must be accepted, so each edit alone makes it invalid.
    let back = Distribution::from_dim_data_per_rank(ctx, &dim_data, None)?;
    assert_eq!(back, d);
    Ok(dim_data)
}

// ---------------------------------------------------------------------------
// Distribution letters

#[test]
fn unknown_distribution_letter() -> Result<()> {
    on_every_context(|ctx| {
        expect_err(Distribution::builder(ctx, &[4, 6]).dist("bx").build(), ErrorKind::InvalidDist, &["'x'", "axis 1"]);
        expect_err(Distribution::builder(ctx, &[4, 6]).dist("B").build(), ErrorKind::InvalidDist, &["'B'", "axis 0"]);
        expect_err(Distribution::builder(ctx, &[4]).dist("?").build(), ErrorKind::InvalidDist, &["'?'"]);
        expect_err(distarray::choose_map('z'), ErrorKind::InvalidDist, &["'z'"]);
        Ok(())
    })
}

#[test]
fn more_letters_than_axes() -> Result<()> {
    on_every_context(|ctx| {
        expect_err(Distribution::builder(ctx, &[4, 6]).dist("bcn").build(), ErrorKind::InvalidDist, &["3", "2 axes"]);
        expect_err(Distribution::builder(ctx, &[]).dist("b").build(), ErrorKind::InvalidDist, &["0 axes"]);
        let dists = [Dist::Block, Dist::CYCLIC];
        expect_err(Distribution::builder(ctx, &[9]).dists(&dists).build(), ErrorKind::InvalidDist, &["2", "1 axes"]);
        Ok(())
    })
}

#[test]
fn bad_block_size() -> Result<()> {
    on_every_context(|ctx| {
        let zero = [Dist::BlockCyclic { block_size: 0 }];
        expect_err(Distribution::builder(ctx, &[8]).dists(&zero).build(), ErrorKind::InvalidDist, &["block size", "0"]);
        // The last rank's start, (grid - 1) * block_size, must fit in usize:
        // with 3 ranks or more it overflows, with 2 it just fits.
        let huge = [Dist::BlockCyclic { block_size: usize::MAX }];
        let built = Distribution::builder(ctx, &[8]).dists(&huge).build();
        if ctx.num_targets() > 2 {
            expect_err(built, ErrorKind::InvalidDist, &["overflows"]);
        } else {
            let values = Array1::from_iter(0..8u16).into_dyn();
            assert_eq!(ctx.fromarray(&values, Some(&built?))?.toarray()?, values);
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// Grid shapes

#[test]
fn grid_shape_of_wrong_size() -> Result<()> {
    on_every_context(|ctx| {
        let n = ctx.num_targets();
        let wrong = [n + 1, 1];
        expect_err(
            Distribution::builder(ctx, &[8, 8]).grid_shape(&wrong).build(),
            ErrorKind::InvalidGridShape,
            &[&format!("{wrong:?}"), &format!("{} processes", n + 1), &format!("there are {n}")],
        );
        // Explicit targets set the number of processes, not the context.
        expect_err(
            Distribution::builder(ctx, &[8, 8]).grid_shape(&[n, 1]).targets(&ctx.targets()[..1]).build(),
            ErrorKind::InvalidGridShape,
            &["there are 1"],
        );
        Ok(())
    })
}

#[test]
fn grid_shape_of_wrong_length() -> Result<()> {
    on_every_context(|ctx| {
        let n = ctx.num_targets();
        expect_err(
            Distribution::builder(ctx, &[8, 8]).grid_shape(&[n, 1, 1]).build(),
            ErrorKind::InvalidGridShape,
            &["3 entries", "2 axes"],
        );
        expect_err(
            Distribution::builder(ctx, &[8, 8]).grid_shape(&[n]).build(),
            ErrorKind::InvalidGridShape,
            &["1 entries"],
        );
        Ok(())
    })
}

#[test]
fn grid_shape_with_zero_entry() -> Result<()> {
    on_every_context(|ctx| {
        let n = ctx.num_targets();
        expect_err(
            Distribution::builder(ctx, &[8, 8]).grid_shape(&[n, 0]).build(),
            ErrorKind::InvalidGridShape,
            &["0 processes on axis 1"],
        );
        Ok(())
    })
}

#[test]
fn grid_shape_overflowing() -> Result<()> {
    on_every_context(|ctx| {
        expect_err(
            Distribution::builder(ctx, &[8, 8]).grid_shape(&[usize::MAX, 2]).build(),
            ErrorKind::InvalidGridShape,
            &["overflows"],
        );
        Ok(())
    })
}

#[test]
fn undistributed_axis_with_grid_above_one() -> Result<()> {
    on_every_context(|ctx| {
        let n = ctx.num_targets();
        expect_err(
            Distribution::builder(ctx, &[8, 8]).dist("nb").grid_shape(&[n, 1]).build(),
            ErrorKind::InvalidGridShape,
            &["axis 0", "not distributed"],
        );
        // Every axis 'n' cannot be spread over several engines either.
        expect_err(
            Distribution::builder(ctx, &[8, 8]).dist("nn").build(),
            ErrorKind::InvalidGridShape,
            &["no distributed axis"],
        );
        // Fewer letters than axes leave the rest 'n', hence the same error.
        expect_err(
            Distribution::builder(ctx, &[8, 8]).dist("").build(),
            ErrorKind::InvalidGridShape,
            &["no distributed axis"],
        );
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// Shapes

#[test]
fn shape_overflowing_usize() -> Result<()> {
    on_every_context(|ctx| {
        for shape in [&[usize::MAX, 2][..], &[2, 3, usize::MAX / 5], &[1 << 40, 1 << 40]] {
            let e = expect_err(Distribution::from_shape(ctx, shape), ErrorKind::InvalidShape, &["more elements"]);
            assert!(e.message().contains(&format!("{shape:?}")), "{e:?} does not name the shape");
            expect_err(
                Distribution::builder(ctx, shape).dist("n").build(),
                ErrorKind::InvalidShape,
                &["more elements"],
            );
        }
        // Fits in usize but not in isize, the limit of addressable memory.
        expect_err(Distribution::from_shape(ctx, &[usize::MAX / 2 + 1]), ErrorKind::InvalidShape, &["more elements"]);
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// Targets

#[test]
fn context_with_bad_targets() -> Result<()> {
    guarded(None, |ctx| {
        let n = ctx.num_engines();
        expect_err(Context::with_targets(&[99]), ErrorKind::InvalidTarget, &["target 99"]);
        expect_err(Context::with_targets(&[0, n]), ErrorKind::InvalidTarget, &[&format!("target {n}")]);
        expect_err(Context::with_targets(&[usize::MAX]), ErrorKind::InvalidTarget, &[&usize::MAX.to_string()]);
        expect_err(Context::with_targets(&[1, 2, 1]), ErrorKind::InvalidTarget, &["target 1", "repeated"]);
        expect_err(Context::with_targets(&[]), ErrorKind::InvalidTarget, &["empty"]);
        Ok(())
    })
}

#[test]
fn builder_with_bad_targets() -> Result<()> {
    on_every_context(|ctx| {
        let build = |targets: &[usize]| Distribution::builder(ctx, &[8]).targets(targets).build();
        expect_err(build(&[7]), ErrorKind::InvalidTarget, &["target 7"]);
        let first = ctx.targets()[0];
        expect_err(build(&[first, first]), ErrorKind::InvalidTarget, &[&format!("target {first}"), "repeated"]);
        expect_err(build(&[]), ErrorKind::InvalidTarget, &["empty"]);
        // An engine that exists but is not one of this context's.
        if let Some(outside) = (0..ctx.num_engines()).find(|t| !ctx.targets().contains(t)) {
            expect_err(
                build(&[outside]),
                ErrorKind::InvalidTarget,
                &[&format!("target {outside}"), &format!("{:?}", ctx.targets())],
            );
        }
        Ok(())
    })
}

#[test]
fn delete_key_on_bad_targets() -> Result<()> {
    on_every_context(|ctx| {
        let a = ctx.zeros::<u8>(&Distribution::from_shape(ctx, &[4])?)?;
        expect_err(ctx.delete_key(a.key(), Some(&[42])), ErrorKind::InvalidTarget, &["target 42"]);
        expect_err(ctx.delete_key(a.key(), Some(&[])), ErrorKind::InvalidTarget, &["empty"]);
        // The failed deletes deleted nothing.
        assert_eq!(a.toarray()?.len(), 4);
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// Indices

#[test]
fn owning_ranks_out_of_bounds() -> Result<()> {
    on_every_context(|ctx| {
        for dist in ["bc", "cb", "nb", "bu"] {
            let d = Distribution::builder(ctx, &[10, 7]).dist(dist).build()?;
            expect_err(d.owning_ranks(&[10, 0]), ErrorKind::IndexOutOfBounds, &["index 10", "axis 0", "size 10"]);
            expect_err(d.owning_ranks(&[0, 7]), ErrorKind::IndexOutOfBounds, &["index 7", "axis 1", "size 7"]);
            expect_err(d.owning_ranks(&[0, usize::MAX]), ErrorKind::IndexOutOfBounds, &["axis 1"]);
            expect_err(d.owning_targets(&[9, 7]), ErrorKind::IndexOutOfBounds, &["index 7", "axis 1"]);
            // The last valid index still works.
            assert!(!d.owning_ranks(&[9, 6])?.is_empty());
        }
        let empty = Distribution::from_shape(ctx, &[0])?;
        expect_err(empty.owning_ranks(&[0]), ErrorKind::IndexOutOfBounds, &["index 0", "size 0"]);
        Ok(())
    })
}

#[test]
fn owning_ranks_with_wrong_number_of_indices() -> Result<()> {
    on_every_context(|ctx| {
        let d = Distribution::from_shape(ctx, &[10, 7])?;
        expect_err(d.owning_ranks(&[1]), ErrorKind::IndexOutOfBounds, &["[1]", "1 entries", "2 axes"]);
        expect_err(d.owning_ranks(&[1, 2, 3]), ErrorKind::IndexOutOfBounds, &["3 entries", "2 axes"]);
        expect_err(d.owning_ranks(&[]), ErrorKind::IndexOutOfBounds, &["0 entries"]);
        expect_err(d.owning_targets(&[1]), ErrorKind::IndexOutOfBounds, &["1 entries"]);
        let scalar = Distribution::from_shape(ctx, &[])?;
        expect_err(scalar.owning_ranks(&[0]), ErrorKind::IndexOutOfBounds, &["0 axes"]);
        assert_eq!(scalar.owning_ranks(&[])?, vec![0]);
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// Arrays and distributions that do not go together

#[test]
fn fromarray_with_distribution_of_other_shape() -> Result<()> {
    on_every_context(|ctx| {
        let values = Array2::from_shape_fn((4, 6), |(i, j)| (i * 6 + j) as f32);
        for shape in [&[6, 4][..], &[24], &[4, 6, 1], &[4, 5]] {
            let d = Distribution::from_shape(ctx, shape)?;
            expect_err(ctx.fromarray(&values, Some(&d)), ErrorKind::InvalidShape, &["[4, 6]", &format!("{shape:?}")]);
        }
        Ok(())
    })
}

#[test]
fn distribution_of_another_context() -> Result<()> {
    on_every_context(|ctx| {
        // Another context over the very same engines is still another context.
        let other = Context::with_targets(ctx.targets())?;
        let foreign = Distribution::from_shape(&other, &[4, 6])?;
        let values = Array2::<f64>::zeros((4, 6));
        expect_err(ctx.fromarray(&values, Some(&foreign)), ErrorKind::WrongContext, &["belongs to context"]);
        expect_err(ctx.zeros::<f64>(&foreign), ErrorKind::WrongContext, &["belongs to context"]);
        expect_err(ctx.ones::<i32>(&foreign), ErrorKind::WrongContext, &["belongs to context"]);
        expect_err(ctx.empty::<u64>(&foreign), ErrorKind::WrongContext, &["belongs to context"]);
        // Nothing was created in either context.
        assert!(distarray::cleanup::get_local_keys(&other, other.key_prefix())?.is_empty());
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// Dim data that does not describe a distribution

#[test]
fn dim_data_with_gap_or_overlap_between_blocks() -> Result<()> {
    guarded(None, |ctx| {
        let valid = valid_dim_data(ctx, &[8], "b", &[4])?; // bounds 0, 2, 4, 6, 8
        let set_start = |start: usize| {
            edited(&valid, |dd| {
                let DimDict::Block { start: s, .. } = &mut dd[2][0] else { unreachable!() };
                *s = start;
            })
        };
        expect_err(
            Distribution::from_dim_data_per_rank(ctx, &set_start(5), None),
            ErrorKind::InvalidDimData,
            &["axis 0", "gap", "rank 2 starts at 5"],
        );
        expect_err(
            Distribution::from_dim_data_per_rank(ctx, &set_start(3), None),
            ErrorKind::InvalidDimData,
            &["axis 0", "overlap", "rank 2 starts at 3"],
        );
        let short = edited(&valid, |dd| {
            let DimDict::Block { stop, .. } = &mut dd[3][0] else { unreachable!() };
            *stop = 7;
        });
        expect_err(Distribution::from_dim_data_per_rank(ctx, &short, None), ErrorKind::InvalidDimData, &["stops at 7"]);
        Ok(())
    })
}

#[test]
fn dim_data_with_duplicated_unstructured_index() -> Result<()> {
    guarded(None, |ctx| {
        let valid = valid_dim_data(ctx, &[3, 9], "nu", &[1, 4])?;
        let duplicated = edited(&valid, |dd| {
            let DimDict::Unstructured { indices: first, .. } = &dd[0][1] else { unreachable!() };
            let stolen = first[0];
            let DimDict::Unstructured { indices, .. } = &mut dd[1][1] else { unreachable!() };
            indices.push(stolen);
        });
        expect_err(
            Distribution::from_dim_data_per_rank(ctx, &duplicated, None),
            ErrorKind::InvalidDimData,
            &["axis 1", "more than once"],
        );
        let out_of_range = edited(&valid, |dd| {
            let DimDict::Unstructured { indices, .. } = &mut dd[3][1] else { unreachable!() };
            indices.push(9);
        });
        expect_err(
            Distribution::from_dim_data_per_rank(ctx, &out_of_range, None),
            ErrorKind::InvalidDimData,
            &["index 9", "out of range"],
        );
        Ok(())
    })
}

#[test]
fn dim_data_not_in_c_order() -> Result<()> {
    guarded(None, |ctx| {
        let valid = valid_dim_data(ctx, &[4, 6], "bb", &[2, 2])?;
        // Fortran order: rank 1 is at (1, 0) instead of (0, 1).
        let fortran = edited(&valid, |dd| dd.swap(1, 2));
        expect_err(
            Distribution::from_dim_data_per_rank(ctx, &fortran, None),
            ErrorKind::InvalidDimData,
            &["rank 1", "proc_grid_rank 1 on axis 0", "C order"],
        );
        Ok(())
    })
}

#[test]
fn dim_data_for_wrong_number_of_ranks() -> Result<()> {
    guarded(None, |ctx| {
        let valid = valid_dim_data(ctx, &[4, 6], "bc", &[2, 2])?;
        let missing = edited(&valid, |dd| {
            dd.pop();
        });
        expect_err(
            Distribution::from_dim_data_per_rank(ctx, &missing, None),
            ErrorKind::InvalidDimData,
            &["3 ranks", "[2, 2]", "4 ranks"],
        );
        let repeated = edited(&valid, |dd| dd.push(dd[0].clone()));
        expect_err(Distribution::from_dim_data_per_rank(ctx, &repeated, None), ErrorKind::InvalidDimData, &["5 ranks"]);
        expect_err(Distribution::from_dim_data_per_rank(ctx, &[], None), ErrorKind::InvalidDimData, &["zero ranks"]);
        // A whole grid rank of an axis missing.
        let one_axis = valid_dim_data(ctx, &[9], "c", &[3])?;
        let no_last = edited(&one_axis, |dd| {
            dd.pop();
        });
        expect_err(
            Distribution::from_dim_data_per_rank(ctx, &no_last, None),
            ErrorKind::InvalidDimData,
            &["proc_grid_rank 2 of 3"],
        );
        Ok(())
    })
}

#[test]
fn dim_data_inconsistent_between_ranks() -> Result<()> {
    guarded(None, |ctx| {
        let valid = valid_dim_data(ctx, &[4, 6], "bb", &[2, 2])?;
        let ragged = edited(&valid, |dd| {
            dd[3].pop();
        });
        expect_err(
            Distribution::from_dim_data_per_rank(ctx, &ragged, None),
            ErrorKind::InvalidDimData,
            &["rank 3", "1 axes"],
        );
        let resized = edited(&valid, |dd| {
            dd[1][0] = DimDict::Block {
                size: 5,
                proc_grid_size: 2,
                proc_grid_rank: 0,
                start: 0,
                stop: 2,
                padding: (0, 0),
                periodic: false,
            }
        });
        expect_err(
            Distribution::from_dim_data_per_rank(ctx, &resized, None),
            ErrorKind::InvalidDimData,
            &["axis 0", "disagree"],
        );
        let retyped = edited(&valid, |dd| dd[2][1] = DimDict::NoDist { size: 6 });
        expect_err(
            Distribution::from_dim_data_per_rank(ctx, &retyped, None),
            ErrorKind::InvalidDimData,
            &["axis 1", "dist_type"],
        );
        let beyond = edited(&valid, |dd| {
            let DimDict::Block { proc_grid_rank, .. } = &mut dd[3][1] else { unreachable!() };
            *proc_grid_rank = 2;
        });
        expect_err(
            Distribution::from_dim_data_per_rank(ctx, &beyond, None),
            ErrorKind::InvalidDimData,
            &["proc_grid_rank 2"],
        );
        Ok(())
    })
}

#[test]
fn dim_data_on_too_few_targets() -> Result<()> {
    guarded(Some(&[0, 2]), |ctx| {
        let all = Context::new()?;
        let four_ranks = valid_dim_data(&all, &[8], "b", &[4])?;
        expect_err(
            Distribution::from_dim_data_per_rank(ctx, &four_ranks, None),
            ErrorKind::InvalidTarget,
            &["4 ranks", "4 targets"],
        );
        expect_err(
            Distribution::from_dim_data_per_rank(&all, &four_ranks, Some(&[0, 1])),
            ErrorKind::InvalidTarget,
            &["4 targets", "[0, 1]"],
        );
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// Reductions

#[test]
fn reduce_with_bad_axes() -> Result<()> {
    on_every_context(|ctx| {
        let d = Distribution::builder(ctx, &[4, 6, 2]).dist("bcn").build()?;
        expect_err(d.reduce(&[3]), ErrorKind::InvalidShape, &["axis 3", "out of range", "3 axes"]);
        expect_err(d.reduce(&[0, usize::MAX]), ErrorKind::InvalidShape, &["out of range"]);
        expect_err(d.reduce(&[1, 0, 1]), ErrorKind::InvalidShape, &["axis 1", "repeated"]);
        // Good axes still work afterwards.
        assert_eq!(d.reduce(&[2, 0])?.shape(), &[6]);
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// Closed contexts and cleaned-up arrays

#[test]
fn closed_context() -> Result<()> {
    on_every_context(|witness_ctx| {
        // A context over the same engines as the witnesses: closing it must
        // only affect its own arrays.
        let ctx = Context::with_targets(witness_ctx.targets())?;
        let d = Distribution::from_shape(&ctx, &[6])?;
        let a = ctx.fromarray(&Array1::from_iter(0..6u32), Some(&d))?;
        let mut b = ctx.ones::<f64>(&d)?;
        let handle = ctx.clone();
        ctx.close()?;
        assert!(ctx.is_closed() && handle.is_closed());

        expect_err(ctx.zeros::<f64>(&d), ErrorKind::ContextClosed, &["closed"]);
        expect_err(handle.fromarray(&Array1::from_iter(0..6u32), None), ErrorKind::ContextClosed, &["closed"]);
        expect_err(a.toarray(), ErrorKind::ContextClosed, &["closed"]);
        expect_err(a.get_localarrays(), ErrorKind::ContextClosed, &["closed"]);
        expect_err(b.fill(3.0), ErrorKind::ContextClosed, &["closed"]);
        expect_err(ctx.delete_key(a.key(), None), ErrorKind::ContextClosed, &["closed"]);
        expect_err(ctx.cleanup(), ErrorKind::ContextClosed, &["closed"]);
        expect_err(distarray::cleanup::get_local_keys(&ctx, ctx.key_prefix()), ErrorKind::ContextClosed, &["closed"]);
        expect_err(ctx.close(), ErrorKind::ContextClosed, &["closed"]);
        expect_err(handle.close(), ErrorKind::ContextClosed, &["closed"]);

        // Dropping everything of a closed context is quiet.
        drop((a, b, d, handle));
        drop(ctx);

        // The engines still serve new contexts over them.
        let fresh = Context::with_targets(witness_ctx.targets())?;
        let values = Array1::from_iter(0..6u32).into_dyn();
        assert_eq!(fresh.fromarray(&values, None)?.toarray()?, values);
        Ok(())
    })
}

#[test]
fn array_after_cleanup() -> Result<()> {
    on_every_context(|witness_ctx| {
        let ctx = Context::with_targets(witness_ctx.targets())?;
        let values = Array2::from_shape_fn((3, 5), |(i, j)| (i + j) as i16);
        let a = ctx.fromarray(&values, None)?;
        let mut b = ctx.zeros::<f32>(&Distribution::builder(&ctx, &[9]).dist("c").build()?)?;
        ctx.cleanup()?;

        let e = expect_err(a.toarray(), ErrorKind::KeyNotFound, &[a.key()]);
        assert!(e.message().contains("engine"), "{e:?} does not say which engine");
        expect_err(a.get_ndarrays(), ErrorKind::KeyNotFound, &[a.key()]);
        expect_err(b.fill(1.5), ErrorKind::KeyNotFound, &[b.key()]);
        // Cleaning up again is harmless.
        ctx.cleanup()?;

        // The context itself still works.
        let c = ctx.fromarray(&values, None)?;
        assert_eq!(c.toarray()?, values.clone().into_dyn());
        assert!(!ctx.is_closed());
        // Dropping the stale handles neither panics nor touches the new array.
        drop((a, b));
        assert_eq!(c.toarray()?, values.into_dyn());
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// Empty arrays with a huge axis

// Regression: an empty piece must not list the indices of its other axes
// (for [0, isize::MAX] that once overflowed a capacity on the client).
#[test]
fn empty_array_with_a_long_axis() -> Result<()> {
    on_every_context(|ctx| {
        let shape = [0, isize::MAX as usize];
        let d = Distribution::builder(ctx, &shape).dist("bn").build()?;
        let empty = ArrayD::<f64>::zeros(IxDyn(&shape));
        let a = no_panic("fromarray of an empty [0, isize::MAX] array", || ctx.fromarray(&empty, Some(&d)))?;
        assert_eq!(no_panic("toarray of an empty [0, isize::MAX] array", || a.toarray())?.shape(), &shape);
        let z = ctx.zeros::<f64>(&d)?;
        assert_eq!(no_panic("toarray of zeros [0, isize::MAX]", || z.toarray())?.shape(), &shape);
        Ok(())
    })
}

// Regression: a shape is refused unless the product of its non-zero axis
// lengths fits in isize (ndarray's rule), even with zero elements; and an
// engine panic keeps its message.
#[test]
fn zero_size_shape_beyond_ndarray_limits() -> Result<()> {
    on_every_context(|ctx| {
        for shape in [[0, usize::MAX], [usize::MAX, 0]] {
            let one_target = Distribution::builder(ctx, &shape).targets(&ctx.targets()[..1]).build();
            if let Ok(d) = &one_target {
                // Accepted anyway: the engine cannot make its piece and must at least say why.
                let e = ctx.zeros::<f64>(d).expect_err("no engine can hold such a piece");
                assert!(!e.message().contains("without a message"), "{e:?} lost the engine's panic message");
            }
            expect_err(one_target, ErrorKind::InvalidShape, &[&format!("{shape:?}")]);
        }
        Ok(())
    })
}
