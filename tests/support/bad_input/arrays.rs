//! Closed contexts, cleaned-up arrays and empty arrays with huge axes.

use distarray::prelude::*;
use ndarray::{Array1, Array2, ArrayD, IxDyn};

use distarray::functions::{add, multiply_inplace};
use distarray::GlobalDimDict;
use ndarray::s;

use super::{expect_err, no_panic, on_every_context};

super::case_list!(
    closed_context,
    array_after_cleanup,
    empty_array_with_a_long_axis,
    zero_size_shape_beyond_ndarray_limits,
    zero_size_arrays_work,
    huge_shapes_are_errors_not_allocations,
);

// ---------------------------------------------------------------------------
// Closed contexts and cleaned-up arrays

pub fn closed_context() -> Result<()> {
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

pub fn array_after_cleanup() -> Result<()> {
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

pub fn empty_array_with_a_long_axis() -> Result<()> {
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

pub fn zero_size_shape_beyond_ndarray_limits() -> Result<()> {
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

// numpy allows arrays with a zero-length axis; so must every operation here.
pub fn zero_size_arrays_work() -> Result<()> {
    on_every_context(|ctx| {
        for shape in [&[0][..], &[0, 5], &[5, 0], &[3, 0, 4]] {
            let what = format!("{shape:?}");
            let empty = ArrayD::<f64>::zeros(IxDyn(shape));
            for dist in ["b", "c", "u"] {
                let letters: String = dist.repeat(shape.len());
                let d = Distribution::builder(ctx, shape).dist(&letters).build()?;
                let a = no_panic(&what, || ctx.fromarray(&empty, Some(&d)))?;
                assert_eq!(a.toarray()?, empty, "{what} {letters}");
                assert_eq!(a.global_size(), 0);
                let mut z = ctx.zeros::<f64>(&d)?;
                z.fill(3.0)?;
                multiply_inplace(&mut z, &a)?;
                assert_eq!(add(&a, &z)?.toarray()?, empty);
                assert_eq!(a.sum()?, 0.0, "{what}: numpy's sum of an empty array");
                assert!(a.mean()?.is_nan(), "{what}: numpy's mean of an empty array");
                expect_err(a.min(), ErrorKind::InvalidShape, &["zero-size", "minimum"]);
                expect_err(a.max(), ErrorKind::InvalidShape, &["zero-size", "maximum"]);
                let axis_sum = a.sum_axis(&[0])?;
                assert_eq!(axis_sum.toarray()?, ArrayD::<f64>::zeros(IxDyn(&shape[1..])), "{what}");
                assert_eq!(a.slice(s![0..0])?.shape()[0], 0);
                let cyclic = Distribution::builder(ctx, shape).dist(&"c".repeat(shape.len())).build()?;
                assert_eq!(a.distribute_as(&cyclic)?.toarray()?, empty);
                let first = vec![0isize; shape.len()];
                expect_err(a.get(&first), ErrorKind::IndexOutOfBounds, &["out of bounds"]);
            }
            let i = ctx.ones::<i32>(&Distribution::from_shape(ctx, shape)?)?;
            assert_eq!(i.sum()?, 0);
            assert_eq!(i.toarray()?.len(), 0);
        }
        // A 0-d array has one element, not zero.
        let scalar = ctx.fromarray(&ndarray::arr0(2.5f64), None)?;
        assert_eq!((scalar.sum()?, scalar.get(&[])?), (2.5, 2.5));
        expect_err(scalar.get(&[0]), ErrorKind::IndexOutOfBounds, &["1 entries", "0 axes"]);
        Ok(())
    })
}

// A size product beyond usize (or isize) must be refused before any engine
// allocates anything.
pub fn huge_shapes_are_errors_not_allocations() -> Result<()> {
    on_every_context(|ctx| {
        let n = ctx.num_targets();
        for size in [usize::MAX, isize::MAX as usize + 1] {
            let dims = [
                GlobalDimDict::BlockCyclic { size, proc_grid_size: n, block_size: 1 },
                GlobalDimDict::NoDist { size: 2 },
            ];
            let e = no_panic("from_global_dim_data", || Distribution::from_global_dim_data(ctx, &dims, None));
            expect_err(e, ErrorKind::InvalidShape, &["more elements"]);
        }
        let bounds: Vec<usize> = (0..=n).map(|r| if r == n { usize::MAX } else { r }).collect();
        let dims = [GlobalDimDict::Block { bounds }, GlobalDimDict::NoDist { size: 3 }];
        expect_err(Distribution::from_global_dim_data(ctx, &dims, None), ErrorKind::InvalidShape, &["more elements"]);
        for shape in [&[usize::MAX, usize::MAX][..], &[1 << 32, 1 << 32, 1 << 32], &[3, isize::MAX as usize]] {
            expect_err(
                Distribution::from_shape(ctx, shape),
                ErrorKind::InvalidShape,
                &["more elements", &format!("{shape:?}")],
            );
            expect_err(
                Distribution::builder(ctx, shape).dist("cc").build(),
                ErrorKind::InvalidShape,
                &["more elements"],
            );
        }
        // A valid shape too big for the machine: numpy's MemoryError, not an
        // aborted process. Only where the kernel refuses such an allocation
        // outright (overcommit heuristic or strict; mode 1 would grant it).
        let overcommit = std::fs::read_to_string("/proc/sys/vm/overcommit_memory").unwrap_or_default();
        if matches!(overcommit.trim(), "0" | "2") {
            let d = Distribution::builder(ctx, &[(1 << 36) - 1]).dist("n").targets(&ctx.targets()[..1]).build()?;
            for result in [
                ctx.empty::<num_complex::Complex<f32>>(&d).map(drop),
                ctx.ones::<num_complex::Complex<f32>>(&d).map(drop),
            ] {
                expect_err(result, ErrorKind::OutOfMemory, &["cannot allocate"]);
            }
        }
        Ok(())
    })
}
