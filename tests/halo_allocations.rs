//! No allocation per time step in steady state on thread engines (see
//! `support/allocations.rs`): 2 and 4 engines, and 3 in another order.

#[path = "support/allocations.rs"]
mod allocations;

use distarray::prelude::*;

#[test]
fn steady_state_steps_do_not_allocate() -> Result<()> {
    for (targets, fresh) in [(&[0, 1][..], true), (&[0, 1, 2, 3], true), (&[2, 0, 3], true), (&[0, 1], false)] {
        allocations::check_no_allocation_per_step(&Context::with_targets(targets)?, fresh)?;
    }
    Ok(())
}
