//! Operations on arrays given wrong input: mismatched shapes, incompatible
//! distributions, arrays of another context, out-of-range and overflowing
//! indices, bad slices, bad reduction axes, bad kernel targets and element
//! types that do not match.

use distarray::functions::{add, add_into, multiply_inplace};
use distarray::prelude::*;
use distarray::{local, vectorize};
use ndarray::{s, Array1, Array2, SliceInfoElem};

use super::{expect_err, no_panic, on_every_context};

super::case_list!(
    ufunc_of_mismatched_shapes,
    out_of_incompatible_distribution,
    arrays_of_another_context,
    indices_out_of_range_or_overflowing,
    bad_slices,
    reductions_with_bad_axes,
    kernel_with_bad_targets,
    kernel_of_mismatched_arrays,
    from_localarrays_with_wrong_dtype_or_key,
    from_localarrays_of_another_contexts_key,
    arguments_outside_their_domain,
);

/// The length of this engine's piece.
#[local]
pub fn piece_len(a: &LocalArray<f64>) -> usize {
    a.len()
}

/// `x + y`, elementwise.
#[vectorize]
pub fn plus(x: f64, y: f64) -> f64 {
    x + y
}

fn ramp(n: usize) -> Array1<f64> {
    Array1::from_iter((0..n).map(|i| i as f64 * 1.5))
}

pub fn ufunc_of_mismatched_shapes() -> Result<()> {
    on_every_context(|ctx| {
        let a = ctx.fromarray(&ramp(6), None)?;
        let b = ctx.fromarray(&ramp(7), None)?;
        let m = ctx.fromarray(&Array2::<f64>::zeros((2, 3)), None)?;
        expect_err(add(&a, &b), ErrorKind::InvalidShape, &["add", "[6]", "[7]"]);
        expect_err(add(&a, &m), ErrorKind::InvalidShape, &["[6]", "[2, 3]"]);
        let mut out = ctx.zeros::<f64>(b.distribution())?;
        expect_err(add_into(&a, &a, &mut out), ErrorKind::InvalidShape, &["[6]", "[7]"]);
        let mut x = a.clone();
        expect_err(multiply_inplace(&mut x, &b), ErrorKind::InvalidShape, &["[6]", "[7]"]);
        expect_err(x.assign_slice(s![1..4], &ramp(4)), ErrorKind::InvalidShape, &["[3]", "[4]"]);
        expect_err(x.assign_slice_from(s![..], &b), ErrorKind::InvalidShape, &["[6]", "[7]"]);
        expect_err(a.distribute_as(b.distribution()), ErrorKind::InvalidShape, &["[6]", "[7]"]);
        // Nothing was written.
        assert_eq!(x.toarray()?, ramp(6).into_dyn());
        assert_eq!(out.toarray()?, Array1::<f64>::zeros(7).into_dyn());
        Ok(())
    })
}

pub fn out_of_incompatible_distribution() -> Result<()> {
    on_every_context(|ctx| {
        let block = Distribution::builder(ctx, &[9]).dist("b").build()?;
        let cyclic = Distribution::builder(ctx, &[9]).dist("c").build()?;
        let a = ctx.fromarray(&ramp(9), Some(&block))?;
        let b = ctx.fromarray(&ramp(9), Some(&cyclic))?;
        // Operands of different distributions are fine (a copy is redistributed)...
        assert_eq!(add(&a, &b)?.toarray()?, (ramp(9) * 2.0).into_dyn());
        // ... but `out` is written in place, so it must match.
        let mut out = ctx.zeros::<f64>(&cyclic)?;
        expect_err(add_into(&a, &a, &mut out), ErrorKind::IncompatibleDistribution, &["distributed as"]);
        // #[vectorize] functions need one distribution.
        expect_err(plus(&a, &b), ErrorKind::IncompatibleDistribution, &["distributed as"]);
        assert_eq!(out.toarray()?, Array1::<f64>::zeros(9).into_dyn());
        Ok(())
    })
}

pub fn arrays_of_another_context() -> Result<()> {
    on_every_context(|ctx| {
        let other = Context::with_targets(ctx.targets())?;
        let mine = ctx.fromarray(&ramp(5), None)?;
        let theirs = other.fromarray(&ramp(5), None)?;
        expect_err(add(&mine, &theirs), ErrorKind::WrongContext, &["belongs to context"]);
        let mut out = other.zeros::<f64>(theirs.distribution())?;
        expect_err(add_into(&mine, &mine, &mut out), ErrorKind::WrongContext, &["belongs to context"]);
        expect_err(mine.distribute_as(theirs.distribution()), ErrorKind::WrongContext, &["belongs to context"]);
        let mut target = mine.clone();
        expect_err(target.assign_slice_from(s![..], &theirs), ErrorKind::WrongContext, &["belongs to context"]);
        expect_err(plus(&mine, &theirs), ErrorKind::WrongContext, &["belongs to context"]);
        expect_err(ctx.apply::<piece_len>((&theirs,), None), ErrorKind::WrongContext, &["belongs to context"]);
        assert_eq!(theirs.toarray()?, ramp(5).into_dyn());
        assert_eq!(target.toarray()?, ramp(5).into_dyn());
        Ok(())
    })
}

pub fn indices_out_of_range_or_overflowing() -> Result<()> {
    on_every_context(|ctx| {
        let values = Array2::from_shape_fn((4, 7), |(i, j)| (10 * i + j) as i32);
        let mut a = ctx.fromarray(&values, Some(&Distribution::builder(ctx, &[4, 7]).dist("bc").build()?))?;
        for (index, axis, shown) in [
            ([4, 0], 0, "4"),
            ([-5, 0], 0, "-5"),
            ([0, 7], 1, "7"),
            ([0, -8], 1, "-8"),
            ([isize::MIN, 0], 0, "-9223372036854775808"),
            ([0, isize::MIN], 1, "-9223372036854775808"),
            ([isize::MAX, isize::MAX], 0, "9223372036854775807"),
        ] {
            let e = expect_err(
                no_panic("get", || a.get(&index)),
                ErrorKind::IndexOutOfBounds,
                &[shown, &format!("axis {axis}")],
            );
            assert!(e.message().contains("out of bounds"), "{e:?}");
            expect_err(no_panic("set", || a.set(&index, -1)), ErrorKind::IndexOutOfBounds, &[shown]);
        }
        expect_err(a.get(&[1]), ErrorKind::IndexOutOfBounds, &["1 entries", "2 axes"]);
        expect_err(a.set(&[1, 2, 3], 0), ErrorKind::IndexOutOfBounds, &["3 entries"]);
        expect_err(a.get(&[]), ErrorKind::IndexOutOfBounds, &["0 entries"]);
        // The extremes of the valid range still work, and nothing was written.
        assert_eq!(a.get(&[-4, -7])?, 0);
        assert_eq!(a.get(&[3, 6])?, 36);
        assert_eq!(a.toarray()?, values.into_dyn());
        Ok(())
    })
}

/// One slice entry with explicit fields (`s![]` checks some of them itself).
fn range(start: isize, end: Option<isize>, step: isize) -> SliceInfoElem {
    SliceInfoElem::Slice { start, end, step }
}

pub fn bad_slices() -> Result<()> {
    on_every_context(|ctx| {
        let values = Array2::from_shape_fn((5, 6), |(i, j)| (10 * i + j) as f64);
        let mut a = ctx.fromarray(&values, Some(&Distribution::builder(ctx, &[5, 6]).dist("cb").build()?))?;
        let all = range(0, None, 1);
        expect_err(
            no_panic("slice", || a.slice([range(0, None, 0)])),
            ErrorKind::IndexOutOfBounds,
            &["step 0", "axis 0"],
        );
        expect_err(a.slice([all, all, all]), ErrorKind::IndexOutOfBounds, &["3 slice entries", "2 axes"]);
        expect_err(a.slice([SliceInfoElem::Index(5)]), ErrorKind::IndexOutOfBounds, &["index 5", "axis 0"]);
        expect_err(a.slice([all, SliceInfoElem::Index(-7)]), ErrorKind::IndexOutOfBounds, &["index -7", "axis 1"]);
        expect_err(a.slice([SliceInfoElem::Index(isize::MIN)]), ErrorKind::IndexOutOfBounds, &["axis 0"]);
        expect_err(a.slice([range(0, Some(7), 1)]), ErrorKind::IndexOutOfBounds, &["bound 7", "axis 0"]);
        expect_err(a.slice([range(-6, None, 1)]), ErrorKind::IndexOutOfBounds, &["bound -6"]);
        expect_err(
            a.slice([range(isize::MIN, Some(isize::MAX), isize::MIN)]),
            ErrorKind::IndexOutOfBounds,
            &["axis 0"],
        );
        expect_err(a.slice([SliceInfoElem::NewAxis]), ErrorKind::Unsupported, &["new axes"]);
        expect_err(a.slice_distribution([range(0, None, 0)]), ErrorKind::IndexOutOfBounds, &["step 0"]);
        expect_err(
            a.slice_to_ndarray([all, range(0, Some(99), 1)]),
            ErrorKind::IndexOutOfBounds,
            &["bound 99", "axis 1"],
        );
        expect_err(a.fill_slice([range(0, None, 0)], 1.0), ErrorKind::IndexOutOfBounds, &["step 0"]);
        expect_err(a.assign_slice([SliceInfoElem::Index(9)], &ramp(6)), ErrorKind::IndexOutOfBounds, &["index 9"]);
        // An extreme step is not an error: one element.
        assert_eq!(a.slice([range(0, None, isize::MAX), all])?.shape(), &[1, 6]);
        assert_eq!(
            a.slice([range(0, None, isize::MIN), all])?.toarray()?,
            values.slice(s![-1.., ..]).into_owned().into_dyn()
        );
        // An empty range (start after end) is an empty slice, as in numpy.
        assert_eq!(a.slice([range(4, Some(2), 1)])?.shape(), &[0, 6]);
        assert_eq!(a.toarray()?, values.into_dyn());
        Ok(())
    })
}

pub fn reductions_with_bad_axes() -> Result<()> {
    on_every_context(|ctx| {
        let a = ctx.fromarray(&Array2::from_shape_fn((4, 5), |(i, j)| (i * 5 + j) as f64), None)?;
        expect_err(a.sum_axis(&[2]), ErrorKind::InvalidShape, &["axis 2", "out of range", "2 axes"]);
        expect_err(a.sum_axis(&[usize::MAX]), ErrorKind::InvalidShape, &["out of range"]);
        expect_err(a.sum_axis(&[1, 1]), ErrorKind::InvalidShape, &["axis 1", "repeated"]);
        expect_err(a.min_axis(&[3]), ErrorKind::InvalidShape, &["axis 3"]);
        expect_err(a.max_axis(&[0, 0]), ErrorKind::InvalidShape, &["repeated"]);
        expect_err(a.mean_axis(&[5]), ErrorKind::InvalidShape, &["axis 5"]);
        expect_err(a.var_axis(&[0, 1, 2], 0.0), ErrorKind::InvalidShape, &["axis 2"]);
        expect_err(a.std_axis(&[9], 1.0), ErrorKind::InvalidShape, &["axis 9"]);
        expect_err(a.sum_axis_as::<f32>(&[2]), ErrorKind::InvalidShape, &["axis 2"]);
        // Good axes work afterwards.
        assert_eq!(a.sum_axis(&[0, 1])?.toarray()?, ndarray::arr0(190.0).into_dyn());
        Ok(())
    })
}

pub fn kernel_with_bad_targets() -> Result<()> {
    on_every_context(|ctx| {
        let a = ctx.fromarray(&ramp(8), None)?;
        let first = ctx.targets()[0];
        expect_err(ctx.apply::<piece_len>((&a,), Some(&[99])), ErrorKind::InvalidTarget, &["target 99"]);
        expect_err(
            ctx.apply::<piece_len>((&a,), Some(&[usize::MAX])),
            ErrorKind::InvalidTarget,
            &[&usize::MAX.to_string()],
        );
        expect_err(ctx.apply::<piece_len>((&a,), Some(&[])), ErrorKind::InvalidTarget, &["empty"]);
        expect_err(ctx.apply::<piece_len>((&a,), Some(&[first, first])), ErrorKind::InvalidTarget, &["repeated"]);
        if let Some(outside) = (0..ctx.num_engines()).find(|t| !ctx.targets().contains(t)) {
            expect_err(
                ctx.apply::<piece_len>((&a,), Some(&[outside])),
                ErrorKind::InvalidTarget,
                &[&format!("target {outside}")],
            );
        }
        // A target of the context that does not hold the array.
        let one = Distribution::builder(ctx, &[8]).targets(&[first]).build()?;
        let b = ctx.fromarray(&ramp(8), Some(&one))?;
        let other = ctx.targets()[1];
        expect_err(ctx.apply::<piece_len>((&b,), Some(&[other])), ErrorKind::KeyNotFound, &[b.key()]);
        assert_eq!(ctx.apply::<piece_len>((&b,), None)?, vec![8]);
        Ok(())
    })
}

pub fn kernel_of_mismatched_arrays() -> Result<()> {
    on_every_context(|ctx| {
        let a = ctx.fromarray(&ramp(8), None)?;
        let b = ctx.fromarray(&ramp(9), None)?;
        expect_err(plus(&a, &b), ErrorKind::InvalidShape, &["[8]", "[9]"]);
        let one = Distribution::builder(ctx, &[8]).targets(&ctx.targets()[..1]).build()?;
        let c = ctx.fromarray(&ramp(8), Some(&one))?;
        expect_err(plus(&a, &c), ErrorKind::IncompatibleDistribution, &["engines"]);
        Ok(())
    })
}

pub fn from_localarrays_with_wrong_dtype_or_key() -> Result<()> {
    on_every_context(|ctx| {
        let a = ctx.fromarray(&ramp(10), None)?;
        expect_err(
            DistArray::<i32>::from_localarrays(a.key(), ctx, None),
            ErrorKind::DTypeMismatch,
            &["float64", "int32"],
        );
        expect_err(
            DistArray::<f32>::from_localarrays_with(a.key(), a.distribution()),
            ErrorKind::DTypeMismatch,
            &["float64"],
        );
        expect_err(
            DistArray::<f64>::from_localarrays("no such key", ctx, None),
            ErrorKind::KeyNotFound,
            &["no such key"],
        );
        expect_err(
            DistArray::<f64>::from_localarrays(a.key(), ctx, Some(&[77])),
            ErrorKind::InvalidTarget,
            &["target 77"],
        );
        let other_shape = Distribution::from_shape(ctx, &[11])?;
        expect_err(
            DistArray::<f64>::from_localarrays_with(a.key(), &other_shape),
            ErrorKind::InvalidDimData,
            &["another shape"],
        );
        // The right type gives the array back.
        assert_eq!(DistArray::<f64>::from_localarrays(a.key(), ctx, None)?.toarray()?, ramp(10).into_dyn());
        Ok(())
    })
}

pub fn arguments_outside_their_domain() -> Result<()> {
    on_every_context(|ctx| {
        let d = Distribution::from_shape(ctx, &[6])?;
        let random = Random::new(ctx);
        random.seed(Some(7));
        expect_err(random.normal(&d, 0.0, -1.0), ErrorKind::InvalidArgument, &["scale -1"]);
        expect_err(random.normal(&d, f64::NAN, 1.0), ErrorKind::InvalidArgument, &["loc NaN"]);
        expect_err(random.normal(&d, 0.0, f64::INFINITY), ErrorKind::InvalidArgument, &["scale inf"]);
        expect_err(random.randint::<i64>(&d, 5, Some(5)), ErrorKind::InvalidArgument, &["[5, 5)"]);
        expect_err(
            random.randint::<i64>(&d, i64::MAX.into(), Some(i64::MIN.into())),
            ErrorKind::InvalidArgument,
            &["low < high"],
        );
        expect_err(random.randint::<i64>(&d, 0, None), ErrorKind::InvalidArgument, &["low < high"]);
        let a = ctx.fromarray(&Array1::from_iter(-3..3i32), Some(&d))?;
        expect_err(distarray::functions::floor_divide(&a, 0), ErrorKind::Arithmetic, &[]);
        expect_err(distarray::functions::power(&a, -1), ErrorKind::Arithmetic, &[]);
        expect_err(distarray::functions::left_shift(&a, -1), ErrorKind::Arithmetic, &[]);
        // Valid arguments still draw from the same stream.
        assert!(random.randint::<i64>(&d, -2, Some(3))?.toarray()?.iter().all(|v| (-2..3).contains(v)));
        Ok(())
    })
}

// Adopting another context's key would give its pieces a second owner, whose
// drop would delete them.
pub fn from_localarrays_of_another_contexts_key() -> Result<()> {
    on_every_context(|ctx| {
        let other = Context::with_targets(ctx.targets())?;
        let mine = ctx.fromarray(&ramp(5), None)?;
        let theirs = other.zeros::<f64>(&Distribution::from_shape(&other, &[5])?)?;
        let adopted = DistArray::<f64>::from_localarrays_with(mine.key(), theirs.distribution());
        let adopted_too = DistArray::<f64>::from_localarrays(mine.key(), &other, None);
        drop((adopted.as_ref().map(|a| a.key().to_string()), adopted_too.as_ref().map(|a| a.key().to_string())));
        expect_err(adopted, ErrorKind::WrongContext, &[mine.key()]);
        expect_err(adopted_too, ErrorKind::WrongContext, &[mine.key()]);
        assert_eq!(mine.toarray()?, ramp(5).into_dyn());
        Ok(())
    })
}
