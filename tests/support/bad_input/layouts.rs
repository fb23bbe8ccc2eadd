//! Distribution letters, grid shapes, shapes whose size overflows, targets
//! and indices of distributions.

use distarray::prelude::*;
use ndarray::Array1;

use super::{expect_err, guarded, on_every_context};

super::case_list!(
    unknown_distribution_letter,
    more_letters_than_axes,
    bad_block_size,
    grid_shape_of_wrong_size,
    grid_shape_of_wrong_length,
    grid_shape_with_zero_entry,
    grid_shape_overflowing,
    undistributed_axis_with_grid_above_one,
    grid_for_fewer_engines_than_the_context,
    undistributed_array_on_several_targets,
    shape_overflowing_usize,
    context_with_bad_targets,
    builder_with_bad_targets,
    delete_key_on_bad_targets,
    owning_ranks_out_of_bounds,
    owning_ranks_with_wrong_number_of_indices,
);

// ---------------------------------------------------------------------------
// Distribution letters

pub fn unknown_distribution_letter() -> Result<()> {
    on_every_context(|ctx| {
        expect_err(Distribution::builder(ctx, &[4, 6]).dist("bx").build(), ErrorKind::InvalidDist, &["'x'", "axis 1"]);
        expect_err(Distribution::builder(ctx, &[4, 6]).dist("B").build(), ErrorKind::InvalidDist, &["'B'", "axis 0"]);
        expect_err(Distribution::builder(ctx, &[4]).dist("?").build(), ErrorKind::InvalidDist, &["'?'"]);
        expect_err(distarray::maps::choose_map('z'), ErrorKind::InvalidDist, &["'z'"]);
        Ok(())
    })
}

pub fn more_letters_than_axes() -> Result<()> {
    on_every_context(|ctx| {
        expect_err(Distribution::builder(ctx, &[4, 6]).dist("bcn").build(), ErrorKind::InvalidDist, &["3", "2 axes"]);
        expect_err(Distribution::builder(ctx, &[]).dist("b").build(), ErrorKind::InvalidDist, &["0 axes"]);
        let dists = [Dist::Block, Dist::CYCLIC];
        expect_err(Distribution::builder(ctx, &[9]).dists(&dists).build(), ErrorKind::InvalidDist, &["2", "1 axes"]);
        Ok(())
    })
}

pub fn bad_block_size() -> Result<()> {
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

pub fn grid_shape_of_wrong_size() -> Result<()> {
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
            Distribution::builder(ctx, &[8, 8]).grid_shape(&[n.max(2), 1]).targets(&ctx.targets()[..1]).build(),
            ErrorKind::InvalidGridShape,
            &["there are 1"],
        );
        Ok(())
    })
}

pub fn grid_shape_of_wrong_length() -> Result<()> {
    on_every_context(|ctx| {
        let n = ctx.num_targets();
        expect_err(
            Distribution::builder(ctx, &[8, 8]).grid_shape(&[n, 1, 1]).build(),
            ErrorKind::InvalidGridShape,
            &["3 entries", "2 axes"],
        );
        // A shorter grid is padded with 1s, as DistArray's normalize_grid_shape.
        let d = Distribution::builder(ctx, &[8, 8]).grid_shape(&[n]).build()?;
        assert_eq!(d.grid_shape(), &[n, 1]);
        Ok(())
    })
}

pub fn grid_shape_with_zero_entry() -> Result<()> {
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

pub fn grid_shape_overflowing() -> Result<()> {
    on_every_context(|ctx| {
        expect_err(
            Distribution::builder(ctx, &[8, 8]).grid_shape(&[usize::MAX, 2]).build(),
            ErrorKind::InvalidGridShape,
            &["overflows"],
        );
        Ok(())
    })
}

pub fn undistributed_axis_with_grid_above_one() -> Result<()> {
    on_every_context(|ctx| {
        let n = ctx.num_targets();
        expect_err(
            Distribution::builder(ctx, &[8, 8]).dist("nb").grid_shape(&[n, 1]).build(),
            ErrorKind::InvalidGridShape,
            &["axis 0", "not distributed"],
        );
        // Also when a short grid is padded: [2] on "nb" is [2, 1].
        expect_err(
            Distribution::builder(ctx, &[8, 8]).dist("nb").grid_shape(&[2]).build(),
            ErrorKind::InvalidGridShape,
            &["[2] padded with 1s", "axis 0", "not distributed"],
        );
        Ok(())
    })
}

/// A grid over fewer processes than the context's engines is valid (the first
/// engines are used, as in DistArray); more processes than engines, in any
/// form, are not.
pub fn grid_for_fewer_engines_than_the_context() -> Result<()> {
    on_every_context(|ctx| {
        let n = ctx.num_targets();
        // Rows enough for every process (8 rows over 7 would use only 4).
        let d = Distribution::builder(ctx, &[8 * n, 8]).grid_shape(&[n - 1, 1]).build()?;
        assert_eq!(d.targets(), &ctx.targets()[..n - 1]);
        let d = Distribution::builder(ctx, &[8, 8]).grid_shape(&[1]).build()?;
        assert_eq!((d.grid_shape(), d.targets()), (&[1, 1][..], &ctx.targets()[..1]));
        expect_err(
            Distribution::builder(ctx, &[8, 8]).grid_shape(&[n + 1]).build(),
            ErrorKind::InvalidGridShape,
            &["padded with 1s", &format!("{} processes", n + 1), &format!("there are {n}")],
        );
        expect_err(
            Distribution::builder(ctx, &[8, 8]).grid_shape(&[1, n + 1]).build(),
            ErrorKind::InvalidGridShape,
            &[&format!("{} processes", n + 1)],
        );
        // Explicit targets: at most as many processes as those.
        expect_err(
            Distribution::builder(ctx, &[8]).grid_shape(&[2]).targets(&ctx.targets()[..1]).build(),
            ErrorKind::InvalidGridShape,
            &["2 processes", "there are 1"],
        );
        Ok(())
    })
}

/// An array with no distributed axis lives on the first engine (DistArray);
/// explicit targets must then be exactly one ("target dist conflict").
pub fn undistributed_array_on_several_targets() -> Result<()> {
    on_every_context(|ctx| {
        let d = Distribution::builder(ctx, &[8, 8]).dist("nn").build()?;
        assert_eq!((d.grid_shape(), d.targets()), (&[1, 1][..], &ctx.targets()[..1]));
        // Fewer letters than axes leave the rest 'n'.
        assert_eq!(Distribution::builder(ctx, &[8, 8]).dist("").build()?.targets(), &ctx.targets()[..1]);
        let two = &ctx.targets()[..2];
        expect_err(
            Distribution::builder(ctx, &[8, 8]).dist("nn").targets(two).build(),
            ErrorKind::InvalidTarget,
            &["no distributed axis", "2 targets"],
        );
        expect_err(Distribution::builder(ctx, &[]).targets(two).build(), ErrorKind::InvalidTarget, &["one engine"]);
        let last = *ctx.targets().last().expect("a target");
        assert_eq!(Distribution::builder(ctx, &[8, 8]).dist("nn").targets(&[last]).build()?.targets(), &[last]);
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// Shapes

pub fn shape_overflowing_usize() -> Result<()> {
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

pub fn context_with_bad_targets() -> Result<()> {
    guarded(None, |ctx| {
        let n = ctx.num_engines();
        expect_err(Context::with_targets(&[99]), ErrorKind::InvalidTarget, &["target 99"]);
        expect_err(Context::with_targets(&[0, n]), ErrorKind::InvalidTarget, &[&format!("target {n}")]);
        expect_err(Context::with_targets(&[usize::MAX]), ErrorKind::InvalidTarget, &[&usize::MAX.to_string()]);
        expect_err(Context::with_targets(&[1, 0, 1]), ErrorKind::InvalidTarget, &["target 1", "repeated"]);
        expect_err(Context::with_targets(&[]), ErrorKind::InvalidTarget, &["empty"]);
        Ok(())
    })
}

pub fn builder_with_bad_targets() -> Result<()> {
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

pub fn delete_key_on_bad_targets() -> Result<()> {
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

pub fn owning_ranks_out_of_bounds() -> Result<()> {
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

pub fn owning_ranks_with_wrong_number_of_indices() -> Result<()> {
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
