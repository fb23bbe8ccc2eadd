//! The engine side of the halo exchange: one internal kernel per element
//! type, running [`LocalArray::exchange_halos`] on the engine's piece.

use crate::core::element::Element;
use crate::core::error::Result;
use crate::engine::kernel::{output_unit, register_internal, InternalKernel, KernelInputs, KernelOutput};

/// Fills the ghost cells of an array's pieces from their neighbours.
pub(crate) const EXCHANGE_HALOS: InternalKernel = InternalKernel::new("distarray::halo::exchange");

fn run_exchange<T: Element>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    let (_, mut arrays, engine) = inputs.split();
    arrays.next_mut::<T>("a")?.exchange_halos(engine.comm())?;
    output_unit(())
}

register_internal!(EXCHANGE_HALOS, run_exchange);
