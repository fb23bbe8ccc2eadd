//! What a kernel gets on one engine: its scalar arguments, its arrays (taken
//! one by one, with undo copies of the mutable ones) and its engine context.

use serde::de::DeserializeOwned;

use super::EngineCtx;
use crate::core::element::Element;
use crate::core::error::{bail, err, Result};
use crate::engine::local::{LocalArray, StoredArray};
use crate::engine::{Saved, Snapshots, TakenArrays};
use crate::layout::Layout;
use crate::protocol::decode;

/// The inputs of one kernel run on one engine.
#[doc(hidden)]
pub struct KernelInputs<'a> {
    pub(super) args: &'a [u8],
    pub(super) arrays: TakenArrays,
    /// Copies of the arrays handed out mutably, taken before the kernel
    /// could write them; `None` when the call cannot be undone (nobody waits
    /// for it, so it cannot fail by contract).
    pub(super) snapshots: Option<Snapshots>,
    /// Buffers of earlier copies, reused for this call's (see `Engine::spares`).
    pub(super) spares: Vec<Box<dyn StoredArray>>,
    pub(super) engine: EngineCtx<'a>,
    pub(super) index_layout: Option<&'a Layout>,
    pub(super) result: Option<Box<dyn StoredArray>>,
}

/// The scalar arguments of a kernel call.
#[doc(hidden)]
pub struct KernelArgs<'a>(&'a [u8]);

impl KernelArgs<'_> {
    /// The arguments, decoded as the tuple `A`.
    pub fn decode<A: DeserializeOwned>(&self) -> Result<A> {
        decode(self.0).map_err(|e| e.context("kernel arguments"))
    }

    /// The next scalar argument, for parameter `param` (those of `#[local]`
    /// kernels come one by one, in order).
    pub fn next<T>(&mut self, codec: &super::ScalarCodec<T>, param: &str) -> Result<T> {
        codec.decode(&mut self.0).map_err(|e| e.context(format_args!("kernel argument `{param}`")))
    }
}

/// The array arguments of a kernel call, taken one by one in order.
#[doc(hidden)]
pub struct KernelArrays<'a> {
    arrays: std::slice::IterMut<'a, (String, Box<dyn StoredArray>)>,
    snapshots: Option<&'a mut Snapshots>,
    spares: &'a mut Vec<Box<dyn StoredArray>>,
}

impl<'a> KernelArrays<'a> {
    fn next_array(&mut self, param: &str) -> Result<&'a mut (String, Box<dyn StoredArray>)> {
        match self.arrays.next() {
            Some(entry) => Ok(entry),
            None => bail!(Protocol, "no array was sent for parameter `{param}`"),
        }
    }

    /// The next array argument, for parameter `param`.
    pub fn next_ref<T: Element>(&mut self, param: &str) -> Result<&'a LocalArray<T>> {
        let entry: &'a (String, Box<dyn StoredArray>) = self.next_array(param)?;
        downcast_ref(entry.1.as_ref(), param)
    }

    /// The next array argument, mutable, for parameter `param`. When the call
    /// can fail (the client waits for it), a copy is kept first, so that the
    /// call can be undone on every engine should it fail on any.
    pub fn next_mut<T: Element>(&mut self, param: &str) -> Result<&'a mut LocalArray<T>> {
        self.next_mut_saving(param, |array, spares| {
            if let Some(i) = spares.iter_mut().position(|spare| spare.copy_from(array)) {
                return Ok(Saved::Copy(spares.swap_remove(i)));
            }
            let copy = array
                .clone_box()
                .map_err(|e| e.context(format_args!("keeping a copy of `{param}` to undo the call")))?;
            Ok(Saved::Copy(copy))
        })
    }

    /// [`next_mut`](Self::next_mut) for a kernel that changes little of the
    /// array: `save` says how to put it back (instead of a whole copy).
    pub(crate) fn next_mut_restoring<T: Element>(
        &mut self,
        param: &str,
        save: impl FnOnce(&LocalArray<T>) -> Box<dyn FnOnce(&mut LocalArray<T>) + Send>,
    ) -> Result<&'a mut LocalArray<T>> {
        self.next_mut_saving(param, |array, _| {
            let typed: &LocalArray<T> = downcast_ref(array, param)?;
            let put_back = save(typed);
            Ok(Saved::Restore(Box::new(move |array: &mut dyn StoredArray| {
                if let Some(typed) = array.as_any_mut().downcast_mut::<LocalArray<T>>() {
                    put_back(typed);
                }
            })))
        })
    }

    fn next_mut_saving<T: Element>(
        &mut self,
        param: &str,
        save: impl FnOnce(&dyn StoredArray, &mut Vec<Box<dyn StoredArray>>) -> Result<Saved>,
    ) -> Result<&'a mut LocalArray<T>> {
        let (key, array) = self.next_array(param)?;
        downcast_ref::<T>(array.as_ref(), param)?;
        if let Some(snapshots) = self.snapshots.as_deref_mut() {
            if !snapshots.iter().any(|(k, _)| k == key) {
                snapshots.push((key.clone(), save(array.as_ref(), self.spares)?));
            }
        }
        Ok(array.as_any_mut().downcast_mut().expect("the dtype was checked"))
    }

    /// Whether the next array is the optional one stored under `key` (see
    /// [`KernelCall::maybe_array`]), held by this engine.
    fn next_is(&self, key: &str) -> bool {
        matches!(self.arrays.as_slice().first(), Some((k, _)) if k == key)
    }

    /// The optional array argument stored under `key`, when this engine
    /// holds it, for reading.
    pub(crate) fn next_maybe_ref<T: Element>(&mut self, key: &str) -> Result<Option<&'a LocalArray<T>>> {
        if !self.next_is(key) {
            return Ok(None);
        }
        self.next_ref(key).map(Some)
    }
}

fn downcast_ref<'a, T: Element>(array: &'a dyn StoredArray, param: &str) -> Result<&'a LocalArray<T>> {
    let dtype = array.dtype();
    array
        .as_any()
        .downcast_ref()
        .ok_or_else(|| err!(DTypeMismatch, "parameter `{param}` takes {}, the array holds {dtype}", T::DTYPE))
}

impl<'a> KernelInputs<'a> {
    /// The scalar arguments, the array arguments and the engine context, as
    /// disjoint borrows.
    pub fn split(&mut self) -> (KernelArgs<'a>, KernelArrays<'_>, &EngineCtx<'a>) {
        let arrays = KernelArrays {
            arrays: self.arrays.iter_mut(),
            snapshots: self.snapshots.as_mut(),
            spares: &mut self.spares,
        };
        (KernelArgs(self.args), arrays, &self.engine)
    }

    /// The layout sent with the call (the array being built, or the layout of
    /// the array argument for internal kernels such as file IO).
    pub(crate) fn index_layout(&self) -> Option<&'a Layout> {
        self.index_layout
    }
}
