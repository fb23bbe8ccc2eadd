//! Closed contexts, cleaned-up arrays and empty arrays with huge axes.

use distarray::prelude::*;
use ndarray::{Array1, Array2, ArrayD, IxDyn};

use super::{expect_err, no_panic, on_every_context};

super::case_list!(
    closed_context,
    array_after_cleanup,
    empty_array_with_a_long_axis,
    zero_size_shape_beyond_ndarray_limits,
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
