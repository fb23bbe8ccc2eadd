//! Arrays and distributions that do not go together, dim data that does not
//! describe a distribution, and bad reduction axes of a distribution.

use distarray::prelude::*;
use distarray::DimDict;
use ndarray::Array2;

use super::{edited, expect_err, guarded, has_engines, on_every_context, valid_dim_data};

super::case_list!(
    fromarray_with_distribution_of_other_shape,
    distribution_of_another_context,
    dim_data_with_gap_or_overlap_between_blocks,
    dim_data_with_duplicated_unstructured_index,
    dim_data_not_in_c_order,
    dim_data_for_wrong_number_of_ranks,
    dim_data_inconsistent_between_ranks,
    dim_data_on_too_few_targets,
    reduce_with_bad_axes,
);

// ---------------------------------------------------------------------------
// Arrays and distributions that do not go together

pub fn fromarray_with_distribution_of_other_shape() -> Result<()> {
    on_every_context(|ctx| {
        let values = Array2::from_shape_fn((4, 6), |(i, j)| (i * 6 + j) as f32);
        for shape in [&[6, 4][..], &[24], &[4, 6, 1], &[4, 5]] {
            let d = Distribution::from_shape(ctx, shape)?;
            expect_err(ctx.fromarray(&values, Some(&d)), ErrorKind::InvalidShape, &["[4, 6]", &format!("{shape:?}")]);
        }
        Ok(())
    })
}

pub fn distribution_of_another_context() -> Result<()> {
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

pub fn dim_data_with_gap_or_overlap_between_blocks() -> Result<()> {
    if !has_engines(4)? {
        return Ok(());
    }
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

pub fn dim_data_with_duplicated_unstructured_index() -> Result<()> {
    if !has_engines(4)? {
        return Ok(());
    }
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

pub fn dim_data_not_in_c_order() -> Result<()> {
    if !has_engines(4)? {
        return Ok(());
    }
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

pub fn dim_data_for_wrong_number_of_ranks() -> Result<()> {
    if !has_engines(4)? {
        return Ok(());
    }
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

pub fn dim_data_inconsistent_between_ranks() -> Result<()> {
    if !has_engines(4)? {
        return Ok(());
    }
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

pub fn dim_data_on_too_few_targets() -> Result<()> {
    if !has_engines(4)? {
        return Ok(());
    }
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

pub fn reduce_with_bad_axes() -> Result<()> {
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
