//! Halo exchanges split over two commands (`DistArray::begin_halo_exchange`
//! on the client): the engine keeps each one, keyed by its array, from the
//! command that sends the first axis's cells to the one that receives them.
//! Their messages travel under the exchange's own tag, so the commands that
//! run in between (other kernels, their collectives, other exchanges) never
//! see them.

use super::{begin_exchange, finish_exchange, AxisPlan};
use crate::core::element::{with_dtype, DType, Element};
use crate::core::error::{bail, err, Result};
use crate::engine::local::{LocalArray, StoredArray};
use crate::engine::Engine;

/// One exchange under way on this engine.
pub(crate) struct PendingHalo {
    tag: u16,
    dtype: DType,
    /// The communicator's members: the array's engines.
    targets: Vec<usize>,
    /// The first axis with a halo, whose cells are in flight (`None`: the
    /// array has no ghost cells, nothing travels).
    first: Option<AxisPlan>,
}

fn typed<T: Element>(array: &dyn StoredArray) -> Result<&LocalArray<T>> {
    array.as_any().downcast_ref().ok_or_else(|| err!(DTypeMismatch, "the array does not hold {}", T::DTYPE))
}

fn typed_mut<T: Element>(array: &mut dyn StoredArray) -> Result<&mut LocalArray<T>> {
    array.as_any_mut().downcast_mut().ok_or_else(|| err!(DTypeMismatch, "the array does not hold {}", T::DTYPE))
}

impl Engine {
    /// Sends the first axis's cells of `key`'s piece under `tag` and keeps
    /// the exchange for [`finish_halo`](Self::finish_halo).
    pub(crate) fn begin_halo(&mut self, key: String, dtype: DType, targets: Vec<usize>, tag: u16) -> Result<()> {
        if self.halos.contains_key(&key) {
            bail!(InvalidArgument, "a halo exchange of {key:?} is already under way");
        }
        self.comm(&targets)?;
        let comm = self.comms.get(&targets).ok_or_else(|| err!(Backend, "no communicator over {targets:?}"))?;
        let array = self.get(&key, Some(dtype))?;
        let first = with_dtype!(dtype, T => begin_exchange::<T>(typed(array)?, comm.as_ref(), tag)?);
        self.halos.insert(key, PendingHalo { tag, dtype, targets, first });
        Ok(())
    }

    /// Receives the ghost cells of the exchange of `key` begun under `tag`,
    /// then exchanges the other axes.
    pub(crate) fn finish_halo(&mut self, key: &str, tag: u16) -> Result<()> {
        let Some(pending) = self.halos.remove(key) else {
            bail!(
                KeyNotFound,
                "no halo exchange of {key:?} is under way: the array was deleted, or a failed call reset the \
                 engines' communicator and dropped it"
            );
        };
        if pending.tag != tag {
            // Another handle's: put it back.
            self.halos.insert(key.to_string(), pending);
            bail!(KeyNotFound, "no halo exchange of {key:?} under tag {tag} is under way");
        }
        let Some(comm) = self.comms.get(&pending.targets) else {
            bail!(Backend, "the communicator of the halo exchange of {key:?} was reset");
        };
        let Some(array) = self.store.get_mut(key) else {
            if let Some(first) = pending.first {
                first.drain(comm.as_ref(), tag);
            }
            bail!(KeyNotFound, "no array named {key:?}");
        };
        with_dtype!(pending.dtype, T => finish_exchange::<T>(typed_mut(array.as_mut())?, comm.as_ref(), tag, pending.first))
    }

    /// Gives up the exchange of `key`, if one is under way, as its array is
    /// deleted: receives and drops the messages sent to this piece (every
    /// engine of the array deletes it in the same command, so they all do).
    pub(crate) fn abandon_halo(&mut self, key: &str) {
        let Some(pending) = self.halos.remove(key) else { return };
        if let (Some(first), Some(comm)) = (pending.first, self.comms.get(&pending.targets)) {
            first.drain(comm.as_ref(), pending.tag);
        }
    }

    /// Forgets the exchanges over the communicator of `targets`, which is
    /// being replaced: their messages go with it.
    pub(crate) fn forget_halos(&mut self, targets: &[usize]) {
        self.halos.retain(|_, p| p.targets != targets);
    }
}
