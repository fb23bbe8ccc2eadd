//! The bad-input suite (`tests/support/bad_input/`) on thread engines: one
//! test per case, so a failure names its case. `tests/mpi_bad_input.rs` runs
//! the same cases under mpirun.

#[path = "support/bad_input/mod.rs"]
mod bad_input;

use distarray::prelude::*;

/// One `#[test]` per named case, and the list of names, checked against the
/// suite's own list so no case is left out.
macro_rules! tests {
    ($($(#[$attr:meta])* $module:ident :: $name:ident),* $(,)?) => {
        $(
            #[test]
            $(#[$attr])*
            fn $name() -> Result<()> {
                bad_input::$module::$name()
            }
        )*
        const NAMES: &[&str] = &[$(stringify!($name)),*];
    };
}

tests!(
    layouts::unknown_distribution_letter,
    layouts::more_letters_than_axes,
    layouts::bad_block_size,
    layouts::grid_shape_of_wrong_size,
    layouts::grid_shape_of_wrong_length,
    layouts::grid_shape_with_zero_entry,
    layouts::grid_shape_overflowing,
    layouts::undistributed_axis_with_grid_above_one,
    layouts::grid_for_fewer_engines_than_the_context,
    layouts::undistributed_array_on_several_targets,
    layouts::shape_overflowing_usize,
    layouts::context_with_bad_targets,
    layouts::builder_with_bad_targets,
    layouts::delete_key_on_bad_targets,
    layouts::owning_ranks_out_of_bounds,
    layouts::owning_ranks_with_wrong_number_of_indices,
    distributions::fromarray_with_distribution_of_other_shape,
    distributions::distribution_of_another_context,
    distributions::dim_data_with_gap_or_overlap_between_blocks,
    distributions::dim_data_with_duplicated_unstructured_index,
    distributions::dim_data_not_in_c_order,
    distributions::dim_data_for_wrong_number_of_ranks,
    distributions::dim_data_inconsistent_between_ranks,
    distributions::dim_data_on_too_few_targets,
    distributions::reduce_with_bad_axes,
    arrays::closed_context,
    arrays::array_after_cleanup,
    arrays::empty_array_with_a_long_axis,
    arrays::zero_size_shape_beyond_ndarray_limits,
    arrays::zero_size_arrays_work,
    arrays::huge_shapes_are_errors_not_allocations,
    operations::ufunc_of_mismatched_shapes,
    operations::out_of_incompatible_distribution,
    operations::arrays_of_another_context,
    operations::indices_out_of_range_or_overflowing,
    operations::bad_slices,
    operations::reductions_with_bad_axes,
    operations::kernel_with_bad_targets,
    operations::kernel_of_mismatched_arrays,
    operations::from_localarrays_with_wrong_dtype_or_key,
    operations::from_localarrays_of_another_contexts_key,
    operations::arguments_outside_their_domain,
    files::npy_truncated_or_corrupt,
    files::npy_of_another_dtype_or_shape,
    files::dnpy_corrupt_or_mistyped,
    files::hdf5_corrupt_or_mistyped,
    memory::fromfunction_too_big_for_the_engines,
    memory::random_arrays_too_big_for_the_engines,
    memory::axis_reductions_too_big_for_the_engines,
    memory::empty_arrays_with_huge_axes_slice_and_redistribute,
    memory::npy_and_dnpy_too_big_for_the_engines,
    memory::hdf5_too_big_for_the_engines,
    memory::client_arrays_too_big_for_the_client,
);

#[test]
fn every_case_of_the_suite_is_a_test() {
    let suite: Vec<&str> = bad_input::cases().iter().map(|(name, _)| *name).collect();
    assert_eq!(NAMES, suite.as_slice(), "tests/bad_input.rs must list the suite's cases in order");
    for (name, _) in bad_input::IGNORED {
        assert!(suite.contains(name), "ignored case {name} is not in the suite");
    }
}
