//! DistArray: redistribution (`distribute_as`, `redistribute`, `copy`, `Clone`).

use std::borrow::Cow;

use super::DistArray;
use crate::client::context::same_context;
use crate::client::{Distribution, KernelCall};
use crate::core::element::Element;
use crate::core::error::{bail, Result};
use crate::protocol::KernelReply;
use crate::redistribute::engine::{ExchangeArgs, ExchangeStats, EXCHANGE};

/// # Redistribution
impl<T: Element> DistArray<T> {
    /// A copy of this array distributed as `distribution` (any map types, grid
    /// shape and targets of the same context), computed on the engines as one
    /// all-to-all exchange over the union of the two target lists; the client
    /// sends only the two layouts. `self` is unchanged.
    ///
    /// # Memory
    /// Besides its source piece and its new piece, an engine holding `S` bytes
    /// of the source and receiving `D` bytes of the result allocates at most
    ///
    /// `S + D + 104·(Σₖ nₖ + Σₖ mₖ) + 16·Σ Nᵤ + 160·Σₖ (gₖ + hₖ) + 48·|U|` bytes,
    ///
    /// where `nₖ`/`mₖ` are the lengths along axis `k` of its source/result
    /// piece, `Nᵤ` the lengths of the unstructured axes of either layout,
    /// `gₖ`/`hₖ` the grid sizes and `|U|` the number of engines involved: the
    /// send buffer (exactly `S`; taken from the engine's buffer pool when it
    /// holds one of that size), the receive buffer (at most `D`: none when
    /// every source's part is one run of the new piece, which then receives
    /// it directly, nor on thread engines, which read the senders' buffers) and
    /// per-axis plans — sums, not products, of axis lengths, so for 2-D and
    /// higher the extra memory is about `S + D`, twice the pieces. The per-axis
    /// plans are lists of strided runs computed arithmetically from the maps
    /// (one run per destination for block <-> block-cyclic), so in practice
    /// they are far below the `104·(Σₖ nₖ + Σₖ mₖ)` worst case, which only
    /// unstructured maps approach. The new piece itself comes from the
    /// engine's buffer pool when a deleted piece of its size is there.
    /// [`redistribute_stats`](Self::redistribute_stats) measures it.
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// let ctx = Context::new()?;
    /// let a = ctx.fromarray(&ndarray::Array2::from_shape_fn((6, 5), |(i, j)| (i * 5 + j) as f64), None)?;
    /// let cyclic = Distribution::builder(&ctx, &[6, 5]).dist("cc").build()?;
    /// let b = a.distribute_as(&cyclic)?;
    /// assert_eq!(b.dist(), vec!['c', 'c']);
    /// assert_eq!(b.toarray()?, a.toarray()?);
    /// # Ok::<(), distarray::Error>(())
    /// ```
    ///
    /// # Errors
    /// `WrongContext` if `distribution` belongs to another context,
    /// `InvalidShape` if its shape differs, or a backend failure.
    pub fn distribute_as(&self, distribution: &Distribution) -> Result<DistArray<T>> {
        let call = exchange_call(self, distribution, true)?;
        let union = union_of(self.distribution(), distribution);
        call.run_array_onto(Some(&union), distribution)
    }

    /// Same as [`distribute_as`](Self::distribute_as) (the name Python
    /// DistArray users may look for).
    ///
    /// # Errors
    /// As [`distribute_as`](Self::distribute_as).
    pub fn redistribute(&self, distribution: &Distribution) -> Result<DistArray<T>> {
        self.distribute_as(distribution)
    }

    /// Runs the exchange of [`distribute_as`](Self::distribute_as) without
    /// keeping the result and returns, per engine of the union (in sorted
    /// engine order), what it allocated and the documented bound.
    ///
    /// # Errors
    /// As [`distribute_as`](Self::distribute_as).
    pub fn redistribute_stats(&self, distribution: &Distribution) -> Result<Vec<ExchangeStats>> {
        let call = exchange_call(self, distribution, false)?;
        let union = union_of(self.distribution(), distribution);
        let (_, _, replies) = call.send(Some(&union), None)?;
        replies
            .iter()
            .map(|(reply, data)| match reply {
                KernelReply::Value => crate::protocol::decode(data),
                other => bail!(Protocol, "a redistribution answered {other:?} where statistics were expected"),
            })
            .collect()
    }

    /// This array if it is laid out as `distribution`, else a temporary copy
    /// redistributed to it (for binary operations on incompatible layouts; the
    /// input is never changed in place).
    pub(crate) fn aligned_to(&self, distribution: &Distribution) -> Result<Cow<'_, DistArray<T>>> {
        if self.distribution().is_compatible(distribution) {
            Ok(Cow::Borrowed(self))
        } else {
            self.distribute_as(distribution).map(Cow::Owned)
        }
    }
}

impl<T: Element> Clone for DistArray<T> {
    /// A copy on the same engines with the same distribution (a local copy on
    /// each engine, through the exchange kernel with nothing to exchange
    /// between engines).
    ///
    /// **Panics** if the engines fail, as ndarray's operators do; use
    /// [`distribute_as`](DistArray::distribute_as) for a `Result`.
    fn clone(&self) -> Self {
        match self.distribute_as(self.distribution()) {
            Ok(copy) => copy,
            Err(e) => panic!("cloning a DistArray failed: {e}"),
        }
    }
}

/// The engines of both distributions, sorted (one communicator per union).
fn union_of(a: &Distribution, b: &Distribution) -> Vec<usize> {
    let mut union: Vec<usize> = a.targets().iter().chain(b.targets()).copied().collect();
    union.sort_unstable();
    union.dedup();
    union
}

fn exchange_call<T: Element>(a: &DistArray<T>, distribution: &Distribution, keep: bool) -> Result<KernelCall> {
    same_context(a.context(), distribution.context(), "the target distribution")?;
    // A clone keeps the pieces as they are (see the exchange kernel).
    if !keep || a.distribution() != distribution {
        a.distribution().refuse_ghosts("redistribution")?;
        distribution.refuse_ghosts("redistribution")?;
    }
    if distribution.shape() != a.shape() {
        bail!(
            InvalidShape,
            "an array of shape {:?} cannot be distributed as shape {:?}",
            a.shape(),
            distribution.shape()
        );
    }
    let args = ExchangeArgs {
        source: a.distribution().layout().clone(),
        dest: distribution.layout().clone(),
        key: a.key().to_string(),
        union: union_of(a.distribution(), distribution),
        keep,
    };
    KernelCall::internal::<T>(&EXCHANGE).context(a.context())?.maybe_array(a)?.args(&args)
}
