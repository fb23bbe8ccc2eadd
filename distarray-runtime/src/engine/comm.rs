//! Engine-to-engine communication: one [`Comm`] trait, implemented by
//! shared-memory channels for thread engines and by an MPI communicator of the
//! engine ranks (without the client) under MPI, and the typed calls every
//! communicator has ([`Collectives`]): collectives, reductions by an [`Op`]
//! or a closure, and point-to-point messages ([`SendRequest`],
//! [`ReceiveRequest`]).

use std::mem::MaybeUninit;
use std::ops::Range;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::{de::DeserializeOwned, Serialize};

use crate::core::alloc::Side;
use crate::core::element::{as_bytes, from_bytes, DType, Element};
use crate::core::error::{bail, err, Result};
use crate::protocol::{decode, encode};

mod op;
mod request;

pub use op::{Op, Reducible};
pub use request::{ReceiveRequest, SendRequest};

/// A communicator over the engines of one context.
///
/// Every member must call the same collectives in the same order, as with MPI.
/// Ranks are positions in the context's target list.
pub trait Comm: Send {
    /// This engine's rank in the communicator.
    fn rank(&self) -> usize;
    /// The number of engines in the communicator.
    fn size(&self) -> usize;
    /// Every member's `send`, in rank order.
    fn all_gather_bytes(&self, send: &[u8]) -> Result<Vec<Vec<u8>>>;
    /// Sends `send[j]` to rank `j` and returns what each rank sent to this one,
    /// in rank order. `send` must have one buffer per rank.
    fn all_to_all_bytes(&self, send: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>>;

    /// [`all_to_all_bytes`](Self::all_to_all_bytes) on one buffer each way:
    /// sends the `send_counts[j]` bytes of `send` after those of ranks below
    /// `j` to rank `j`, and returns what every rank sent to this one,
    /// concatenated in rank order, with the count from each. `send_counts`
    /// has one count per rank and sums to `send.len()`. `send` is taken by
    /// value so that an abandoned collective (see [`abort`](Self::abort))
    /// can keep it alive. Not public API.
    #[doc(hidden)]
    fn all_to_all_v_bytes(&self, send: Vec<u8>, send_counts: &[usize]) -> Result<(Vec<u8>, Vec<usize>)> {
        check_counts(self.size(), send.len(), send_counts)?;
        let mut rest = send.as_slice();
        let parts = send_counts
            .iter()
            .map(|&c| {
                let (head, tail) = rest.split_at(c);
                rest = tail;
                Side::Engine.copy(head)
            })
            .collect::<Result<Vec<_>>>()?;
        drop(send);
        let received = self.all_to_all_bytes(parts)?;
        let counts: Vec<usize> = received.iter().map(Vec::len).collect();
        let mut out = Side::Engine.vec(counts.iter().sum())?;
        received.iter().for_each(|b| out.extend_from_slice(b));
        Ok((out, counts))
    }

    /// Every member's `bytes`, in rank order, on exactly one member (the
    /// backend's choice), `None` on the others, which need not wait: by
    /// default rank 0 receives them. Not public API: whole-array reductions
    /// merge their partials with it.
    #[doc(hidden)]
    fn gather_to_one_bytes(&self, bytes: Vec<u8>) -> Result<Option<Vec<Vec<u8>>>> {
        if self.rank() != 0 {
            return self.send_bytes(0, bytes).map(|()| None);
        }
        let mut all = vec![bytes];
        for from in 1..self.size() {
            all.push(self.receive_bytes(from)?);
        }
        Ok(Some(all))
    }

    /// Sends `bytes` to rank `to`, point to point; messages between two
    /// members arrive in the order sent. Not public API (yet): the tree
    /// collectives of [`Collectives`] are built on it.
    #[doc(hidden)]
    fn send_bytes(&self, to: usize, bytes: Vec<u8>) -> Result<()> {
        let _ = bytes;
        Err(err!(Unsupported, "this communicator sends no point-to-point messages (to rank {to})"))
    }

    /// The next message [`send_bytes`](Self::send_bytes) sent from rank
    /// `from` to this one, waited for. Not public API (yet).
    #[doc(hidden)]
    fn receive_bytes(&self, from: usize) -> Result<Vec<u8>> {
        Err(err!(Unsupported, "this communicator receives no point-to-point messages (from rank {from})"))
    }

    /// [`send_bytes`](Self::send_bytes) without waiting for the message to
    /// leave: the request completes it. By default a blocking send. Not
    /// public API.
    #[doc(hidden)]
    fn immediate_send_bytes(&self, to: usize, bytes: Vec<u8>) -> Result<SendRequest<'_>> {
        self.send_bytes(to, bytes)?;
        Ok(SendRequest::done())
    }

    /// Sends `len` bytes, written by `fill` into a buffer of the
    /// communicator's own (reused from message to message, so that a time
    /// loop does not allocate), to rank `to` under `tag`: apart from the
    /// untagged messages, the collectives and the other tags, so that a halo
    /// exchange's messages may wait in flight while other commands
    /// communicate. Messages of one tag between two members arrive in the
    /// order sent; a member may send to itself. The send may still be in
    /// flight on return: [`complete_tagged`](Self::complete_tagged) waits for
    /// it. Tags are [`CLIENT_TAGS`] and [`KERNEL_TAGS`]. Not public API.
    #[doc(hidden)]
    fn send_tagged(&self, to: usize, tag: u16, len: usize, fill: &mut dyn FnMut(&mut [u8])) -> Result<()> {
        let _ = (len, fill);
        Err(err!(Unsupported, "this communicator sends no tagged messages (to rank {to}, tag {tag})"))
    }

    /// Announces the next message from rank `from` under `tag`, of `len`
    /// bytes, which a later [`receive_tagged`](Self::receive_tagged) takes:
    /// a backend may post the receive now, so that the message lands where
    /// it is read as it arrives (MPI) rather than waiting to be copied out
    /// of the library's queue of unexpected messages. Nothing on thread
    /// engines. Not public API.
    #[doc(hidden)]
    fn expect_tagged(&self, from: usize, tag: u16, len: usize) -> Result<()> {
        let _ = (from, tag, len);
        Ok(())
    }

    /// The next message [`send_tagged`](Self::send_tagged) sent from rank
    /// `from` under `tag`, waited for (as long as a collective) and handed to
    /// `read`; its buffer is kept for later messages. Not public API.
    #[doc(hidden)]
    fn receive_tagged(&self, from: usize, tag: u16, read: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()> {
        let _ = read;
        Err(err!(Unsupported, "this communicator receives no tagged messages (from rank {from}, tag {tag})"))
    }

    /// Waits until this member's sends under `tag` are done with their
    /// buffers (nothing to wait for on thread engines). Not public API.
    #[doc(hidden)]
    fn complete_tagged(&self, tag: u16) -> Result<()> {
        let _ = tag;
        Ok(())
    }

    /// A tag of [`KERNEL_TAGS`] for an exchange begun inside a kernel: the
    /// next of a sequence that every member walks alike (they begin the same
    /// exchanges in the same order), so that exchanges in flight at once
    /// never share one. Not public API.
    #[doc(hidden)]
    fn next_kernel_tag(&self) -> u16 {
        KERNEL_TAGS.start
    }

    /// The backend's own reduction of `send`, elements of `dtype`, by `op`:
    /// to every member (`root` `None`) or to `root` (the others get an empty
    /// buffer). `None` when the backend has none for them (the typed
    /// collectives then combine along a tree); every member gets the same
    /// answer for the same `dtype` and `op`. Not public API.
    #[doc(hidden)]
    fn reduce_bytes(&self, root: Option<usize>, send: Vec<u8>, dtype: DType, op: Op) -> Option<Result<Vec<u8>>> {
        let _ = (root, send, dtype, op);
        None
    }

    /// [`all_to_all_v_bytes`](Self::all_to_all_v_bytes) without
    /// concatenating what arrives: each member's part is a range of a buffer
    /// shared where the backend can (thread engines read the senders' own
    /// buffers, MPI receives into one buffer). Not public API.
    #[doc(hidden)]
    fn all_to_all_v_parts(&self, send: Vec<u8>, send_counts: &[usize]) -> Result<Received> {
        let (bytes, counts) = self.all_to_all_v_bytes(send, send_counts)?;
        Ok(Received::one_buffer(bytes, &counts))
    }

    /// [`all_to_all_v_bytes`](Self::all_to_all_v_bytes) straight into
    /// `recv`, the part of rank `j` at byte `recv_displs[j]`, when every rank
    /// sends as many bytes as `recv_counts` expects: returns the counts the
    /// ranks sent, and `recv` holds their bytes only if those equal
    /// `recv_counts` (else nothing was written; the caller reports the
    /// mismatch). The parts must lie within `recv` and not overlap. `send`
    /// goes to the engine's buffer pool afterwards where it is the last
    /// holder.
    ///
    /// If it fails, the backend may still write into `recv` later (an
    /// abandoned MPI collective): the caller must then leak the allocation
    /// behind `recv` (`std::mem::forget`). Not public API.
    #[doc(hidden)]
    fn all_to_all_v_bytes_into(
        &self,
        send: Vec<u8>,
        send_counts: &[usize],
        recv: &mut [MaybeUninit<u8>],
        recv_counts: &[usize],
        recv_displs: &[usize],
    ) -> Result<Vec<usize>> {
        check_parts(self.size(), recv.len(), recv_counts, recv_displs)?;
        let received = self.all_to_all_v_parts(send, send_counts)?;
        let counts = received.counts();
        if counts == recv_counts {
            for (j, &at) in recv_displs.iter().enumerate() {
                let part = received.part(j);
                // SAFETY: `MaybeUninit<u8>` has the layout of `u8`; the
                // destination range lies in `recv` (checked above).
                let bytes = unsafe { &*(part as *const [u8] as *const [MaybeUninit<u8>]) };
                recv[at..at + part.len()].copy_from_slice(bytes);
            }
        }
        self.release(received)?;
        Ok(counts)
    }

    /// Lets the buffers of `received` go once the caller is done with them
    /// (by default [`Received::recycle`]). Every member calls it after the
    /// same exchange: thread engines hand each buffer back to its sender,
    /// so that each send buffer returns to its own engine's pool. Not public
    /// API.
    #[doc(hidden)]
    fn release(&self, received: Received) -> Result<()> {
        received.recycle();
        Ok(())
    }

    /// The raw MPI communicator of the members when they are MPI ranks
    /// (`None` for thread engines). Used by parallel HDF5 (MPI-IO). Not
    /// public API.
    #[cfg(feature = "mpi")]
    #[doc(hidden)]
    fn raw_mpi_comm(&self) -> Option<mpi::ffi::MPI_Comm> {
        None
    }

    /// Tells every other member that this one will not join the collectives
    /// of the current command (its kernel failed): members waiting for it
    /// fail at once instead of waiting forever. The communicator must be
    /// replaced afterwards (the client resets it after a failed call). Not
    /// public API.
    #[doc(hidden)]
    fn abort(&self, _reason: &str) {}

    /// Gives the communicator up after a failure (MPI: without freeing it,
    /// since an abandoned collective may still be pending on it). Not public
    /// API.
    #[doc(hidden)]
    fn retire(self: Box<Self>) {}
}

/// The tags of [`Comm::send_tagged`] the client gives the halo exchanges
/// it splits over two commands (`DistArray::begin_halo_exchange`), one per
/// exchange in flight. Not public API.
#[doc(hidden)]
pub const CLIENT_TAGS: Range<u16> = 1..16384;

/// The tags of [`Comm::send_tagged`] for exchanges inside a kernel
/// ([`Comm::next_kernel_tag`]). Not public API.
#[doc(hidden)]
pub const KERNEL_TAGS: Range<u16> = 16384..32000;

/// The next tag of [`KERNEL_TAGS`] after `tag`, wrapping around.
pub(crate) fn kernel_tag_after(tag: u16) -> u16 {
    if tag + 1 >= KERNEL_TAGS.end || tag < KERNEL_TAGS.start {
        KERNEL_TAGS.start
    } else {
        tag + 1
    }
}

/// Checks the counts of [`Comm::all_to_all_v_bytes`]: one per member of
/// `size`, summing to the `len` bytes sent.
pub(crate) fn check_counts(size: usize, len: usize, counts: &[usize]) -> Result<()> {
    if counts.len() != size {
        return Err(err!(InvalidShape, "all_to_all needs {size} counts, got {}", counts.len()));
    }
    let sum = counts.iter().try_fold(0usize, |acc, &c| acc.checked_add(c));
    if sum != Some(len) {
        return Err(err!(InvalidShape, "all_to_all counts {counts:?} do not add up to the {len} bytes sent"));
    }
    Ok(())
}

/// Checks the receive layout of [`Comm::all_to_all_v_bytes_into`]: one count and
/// displacement per member of `size`, each part within the `len` bytes.
pub(crate) fn check_parts(size: usize, len: usize, counts: &[usize], displs: &[usize]) -> Result<()> {
    if counts.len() != size || displs.len() != size {
        return Err(err!(InvalidShape, "all_to_all needs {size} receive counts and displacements"));
    }
    if counts.iter().zip(displs).any(|(&c, &d)| d.checked_add(c).is_none_or(|end| end > len)) {
        return Err(err!(InvalidShape, "an all_to_all part lies beyond the {len} bytes of the receive buffer"));
    }
    Ok(())
}

/// One received part: a range of a buffer that may be shared.
pub(crate) type SharedPart = (Arc<Vec<u8>>, Range<usize>);

/// What [`Comm::all_to_all_v_parts`] received: one part per member, in rank
/// order, each a range of a buffer that may be shared with other members.
/// Not public API.
#[doc(hidden)]
pub struct Received {
    parts: Vec<SharedPart>,
    /// Other buffers the exchange kept alive until now (a thread engine's
    /// own send buffer, which the others read).
    held: Vec<Arc<Vec<u8>>>,
    /// Bytes this member allocated to receive.
    allocated: usize,
}

impl Received {
    /// Parts of `bytes`, `counts[j]` bytes from rank `j` after those of the
    /// ranks below it (a buffer this member allocated; counted by its
    /// length, as a pooled buffer may be a little larger).
    pub(crate) fn one_buffer(bytes: Vec<u8>, counts: &[usize]) -> Self {
        let allocated = bytes.len();
        let bytes = Arc::new(bytes);
        let mut at = 0;
        let parts = counts
            .iter()
            .map(|&c| {
                at += c;
                (Arc::clone(&bytes), at - c..at)
            })
            .collect();
        Received { parts, held: Vec::new(), allocated }
    }

    /// Parts that are ranges of other members' buffers; `held` is kept alive
    /// with them.
    pub(crate) fn shared(parts: Vec<SharedPart>, held: Vec<Arc<Vec<u8>>>) -> Self {
        Received { parts, held, allocated: 0 }
    }

    /// Bytes from each member, in rank order.
    pub fn counts(&self) -> Vec<usize> {
        self.parts.iter().map(|(_, r)| r.len()).collect()
    }

    /// The bytes rank `j` sent. **Panics** if `j` is not a rank.
    pub fn part(&self, j: usize) -> &[u8] {
        let (buf, range) = &self.parts[j];
        &buf[range.clone()]
    }

    /// Bytes this member allocated to receive (0 when it read the senders'
    /// buffers).
    pub fn allocated(&self) -> usize {
        self.allocated
    }

    /// The parts and the other buffers held, for a backend's
    /// [`Comm::release`].
    pub(crate) fn into_parts(self) -> (Vec<SharedPart>, Vec<Arc<Vec<u8>>>) {
        (self.parts, self.held)
    }

    /// Lets the buffers go: each goes to the buffer pool of the member that
    /// lets it go last.
    pub fn recycle(self) {
        for buf in self.parts.into_iter().map(|(b, _)| b).chain(self.held) {
            if let Some(buf) = Arc::into_inner(buf) {
                crate::engine::pool::keep_vec(buf);
            }
        }
    }
}

/// How long an engine waits for another member in a collective before it
/// fails the command: `DISTARRAY_COLLECTIVE_TIMEOUT` seconds (default 300).
pub(crate) fn collective_timeout() -> Duration {
    static TIMEOUT: OnceLock<Duration> = OnceLock::new();
    *TIMEOUT.get_or_init(|| seconds_from_env("DISTARRAY_COLLECTIVE_TIMEOUT").unwrap_or(Duration::from_secs(300)))
}

/// A positive number of seconds from the environment variable `name`, if set.
pub(crate) fn seconds_from_env(name: &str) -> Option<Duration> {
    let value = std::env::var(name).ok()?;
    match value.trim().parse::<f64>() {
        Ok(s) if s > 0.0 && s.is_finite() => Some(Duration::from_secs_f64(s)),
        _ => {
            eprintln!("distarray: ignoring {name}={value:?}: not a positive number of seconds");
            None
        }
    }
}

/// The error of a member that gave up waiting in a collective, for rank
/// `from` when it knows which (MPI only knows the collective is unfinished).
pub(crate) fn timed_out(from: Option<usize>, timeout: Duration) -> crate::core::error::Error {
    let whom = from.map_or_else(|| "the other engines".to_string(), |r| format!("engine rank {r}"));
    err!(
        Backend,
        "gave up waiting for {whom} in a collective after {:.1} s (DISTARRAY_COLLECTIVE_TIMEOUT); \
         an engine is still busy, hung, or did not join the same collective",
        timeout.as_secs_f64()
    )
}

/// The error of a member told by rank `from` that it will not join.
pub(crate) fn aborted_by(from: usize, reason: &str) -> crate::core::error::Error {
    err!(Engine, "engine rank {from} left the collective: {reason}")
}

/// Typed collectives and point-to-point messages every [`Comm`] has, built
/// on its byte calls (rsmpi's `CommunicatorCollectives` and
/// `Destination`/`Source`, by their names).
///
/// Every member calls the same collectives in the same order; a member that
/// fails instead (its kernel returns `Err` or panics) makes the others'
/// calls return `Err` rather than wait forever, and a member that waits
/// longer than `DISTARRAY_COLLECTIVE_TIMEOUT` seconds (default 300) for
/// another, in a collective or a blocking receive, gives up with `Err`.
///
/// Slices of numbers travel as their raw bytes (`T:` [`Element`]); single
/// values of any serde type travel encoded ([`all_gather`](Self::all_gather),
/// [`broadcast`](Self::broadcast), [`all_reduce`](Self::all_reduce),
/// [`reduce`](Self::reduce)). The `_into` forms write into the caller's
/// buffer, whose length must be what arrives.
///
/// # Examples
/// Inside a `#[local]` kernel, on the communicator of the engines running it:
/// ```
/// use distarray::prelude::*;
/// use distarray::Op;
///
/// #[local]
/// fn stats(a: &LocalArray<i64>, engine: &EngineCtx) -> (i64, i64, Vec<i64>) {
///     let comm = engine.comm();
///     let mine = [a.iter().sum::<i64>(), a.len() as i64];
///     let mut total = [0; 2];
///     comm.all_reduce_into(&mine, &mut total, Op::Sum).expect("all_reduce_into");
///     let max = comm.all_reduce(a.iter().copied().max().unwrap_or(i64::MIN), |x, y| Op::Max.apply(x, y));
///     // Rank 0 learns every rank's count.
///     let counts = comm.gather(0, &mine[1..]).expect("gather").unwrap_or_default();
///     (total[0], max.expect("all_reduce"), counts.concat())
/// }
///
/// let ctx = Context::new()?;
/// let a = ctx.fromarray(&ndarray::Array1::from_iter(0..10i64).into_dyn(), None)?;
/// let per_engine = stats(&a)?;
/// assert!(per_engine.iter().all(|(sum, max, _)| (*sum, *max) == (45, 9)));
/// assert_eq!(per_engine[0].2.iter().sum::<i64>(), 10);
/// # Ok::<(), distarray::Error>(())
/// ```
pub trait Collectives: Comm {
    /// Returns when every member has called it.
    fn barrier(&self) -> Result<()> {
        self.all_gather_bytes(&[]).map(drop)
    }

    /// Every member's `value`, in rank order.
    fn all_gather<T: Serialize + DeserializeOwned>(&self, value: &T) -> Result<Vec<T>> {
        self.all_gather_bytes(&encode(value)?)?.iter().map(|b| decode(b)).collect()
    }

    /// Every member's `send`, concatenated in rank order into `recv`, which
    /// holds `size() * send.len()` elements.
    ///
    /// # Errors
    /// `InvalidShape` if `recv` has another length, or a member sent
    /// another number of elements.
    fn all_gather_into<T: Element>(&self, send: &[T], recv: &mut [T]) -> Result<()> {
        check_len("all_gather_into", recv.len(), self.size() * send.len())?;
        let parts = self.all_gather_bytes(as_bytes(send))?;
        for (part, out) in parts.iter().zip(recv.chunks_mut(send.len().max(1))) {
            elements_into(part, out)?;
        }
        Ok(())
    }

    /// Rank `root`'s `value` on every member (the others' `value` is
    /// ignored): a binomial tree, `ceil(log2(size))` steps, each member
    /// receiving once.
    fn broadcast<T: Serialize + DeserializeOwned>(&self, root: usize, value: &T) -> Result<T> {
        let bytes = if self.rank() == root { encode(value)? } else { Vec::new() };
        decode(&broadcast_bytes(self, root, bytes)?)
    }

    /// Rank `root`'s `buffer` into every member's `buffer` (rsmpi's
    /// `broadcast_into`), which must have the root's length.
    ///
    /// # Errors
    /// `InvalidShape` where `buffer` is not as long as the root's.
    fn broadcast_into<T: Element>(&self, root: usize, buffer: &mut [T]) -> Result<()> {
        let bytes = if self.rank() == root { Side::Engine.copy(as_bytes(buffer))? } else { Vec::new() };
        let bytes = broadcast_bytes(self, root, bytes)?;
        if self.rank() != root {
            elements_into(&bytes, buffer)?;
        }
        Ok(())
    }

    /// Every member's `value` combined by `combine`, on every member: a
    /// binomial tree to rank 0, then [`broadcast`](Self::broadcast), so
    /// `2 * ceil(log2(size))` steps. The combination order is fixed by the
    /// member count alone (`combine(lower ranks, higher ranks)`, pairwise:
    /// `((v0, v1), (v2, v3))` for 4), so the same inputs give the same bits
    /// every time. An [`Op`] makes a combination: `|a, b| Op::Sum.apply(a, b)`.
    fn all_reduce<T: Serialize + DeserializeOwned>(&self, value: T, combine: impl FnMut(T, T) -> T) -> Result<T> {
        let acc = reduce_to_zero(self, value, combine)?;
        let bytes = match &acc {
            Some(acc) => encode(acc)?,
            None => Vec::new(),
        };
        decode(&broadcast_bytes(self, 0, bytes)?)
    }

    /// Every member's `value` combined by `combine` on rank `root` (`Some`
    /// there, `None` elsewhere), in the order of
    /// [`all_reduce`](Self::all_reduce), so with the same bits.
    ///
    /// # Errors
    /// `InvalidArgument` if `root` is not a rank.
    fn reduce<T: Serialize + DeserializeOwned>(
        &self,
        root: usize,
        value: T,
        combine: impl FnMut(T, T) -> T,
    ) -> Result<Option<T>> {
        check_root(self, root)?;
        let acc = reduce_to_zero(self, value, combine)?;
        match (self.rank(), acc) {
            (0, acc) if root == 0 => Ok(acc),
            (0, Some(acc)) => self.send_bytes(root, encode(&acc)?).map(|()| None),
            (r, _) if r == root => decode(&self.receive_bytes(0)?).map(Some),
            _ => Ok(None),
        }
    }

    /// Every member's `send` combined elementwise by `op` into `recv`, on
    /// every member (rsmpi's `all_reduce_into`); `recv` is as long as
    /// `send`, and so is every member's `send`. Under MPI the sums, products
    /// and integer min/max are MPI's own `MPI_Iallreduce` (for floats in
    /// MPI's order of combination); otherwise, as on thread engines, the tree
    /// of [`all_reduce`](Self::all_reduce) in its fixed order.
    ///
    /// # Errors
    /// `InvalidShape` for lengths that differ.
    fn all_reduce_into<T: Reducible>(&self, send: &[T], recv: &mut [T], op: Op) -> Result<()> {
        check_len("all_reduce_into", recv.len(), send.len())?;
        if op.native_for::<T>() {
            if let Some(reduced) = self.reduce_bytes(None, Side::Engine.copy(as_bytes(send))?, T::DTYPE, op) {
                return elements_into(&reduced?, recv);
            }
        }
        let acc = reduce_slices_to_zero(self, send, op)?;
        let bytes = broadcast_bytes(self, 0, acc.map_or_else(Vec::new, |a| as_bytes(&a).to_vec()))?;
        elements_into(&bytes, recv)
    }

    /// Every member's `send` combined elementwise by `op` into `recv` on rank
    /// `root` (rsmpi's `reduce_into_root`; `recv` is ignored elsewhere and
    /// may be empty), as [`all_reduce_into`](Self::all_reduce_into) does.
    ///
    /// # Errors
    /// `InvalidArgument` if `root` is not a rank; `InvalidShape` for lengths
    /// that differ.
    fn reduce_into<T: Reducible>(&self, root: usize, send: &[T], recv: &mut [T], op: Op) -> Result<()> {
        check_root(self, root)?;
        let me = self.rank();
        if me == root {
            check_len("reduce_into", recv.len(), send.len())?;
        }
        if op.native_for::<T>() {
            if let Some(reduced) = self.reduce_bytes(Some(root), Side::Engine.copy(as_bytes(send))?, T::DTYPE, op) {
                let reduced = reduced?;
                return if me == root { elements_into(&reduced, recv) } else { Ok(()) };
            }
        }
        match (me, reduce_slices_to_zero(self, send, op)?) {
            (0, Some(acc)) if root == 0 => recv.copy_from_slice(&acc),
            (0, Some(acc)) => self.send_bytes(root, Side::Engine.copy(as_bytes(&acc))?)?,
            (r, _) if r == root => elements_into(&self.receive_bytes(0)?, recv)?,
            _ => {}
        }
        Ok(())
    }

    /// Every member's `send` on rank `root`, in rank order (`Some` there,
    /// `None` elsewhere); members may send different numbers of elements
    /// (rsmpi's `gather_varcount_into_root`).
    ///
    /// # Errors
    /// `InvalidArgument` if `root` is not a rank.
    fn gather<T: Element>(&self, root: usize, send: &[T]) -> Result<Option<Vec<Vec<T>>>> {
        check_root(self, root)?;
        let mut counts = vec![0; self.size()];
        counts[root] = std::mem::size_of_val(send);
        let (bytes, got) = self.all_to_all_v_bytes(Side::Engine.copy(as_bytes(send))?, &counts)?;
        if self.rank() != root {
            return Ok(None);
        }
        split_elements(&bytes, &got).map(Some)
    }

    /// Every member's `send`, concatenated in rank order into `recv` on rank
    /// `root` (rsmpi's `gather_into_root`): there `recv` holds
    /// `size() * send.len()` elements; elsewhere it is ignored and may be
    /// empty.
    ///
    /// # Errors
    /// `InvalidArgument` if `root` is not a rank; `InvalidShape` on the
    /// root when `recv` or what a member sent has another length.
    fn gather_into<T: Element>(&self, root: usize, send: &[T], recv: &mut [T]) -> Result<()> {
        if self.rank() == root {
            check_len("gather_into", recv.len(), self.size() * send.len())?;
        }
        match self.gather(root, send)? {
            Some(parts) => copy_parts(&parts, recv, send.len()),
            None => Ok(()),
        }
    }

    /// `parts[j]` of rank `root` to rank `j`, returned there (rsmpi's
    /// `scatter_varcount_from_root`); `parts` has one entry per member on
    /// the root and is ignored elsewhere.
    ///
    /// # Errors
    /// `InvalidArgument` if `root` is not a rank; `InvalidShape` on the
    /// root if `parts` does not have `size()` entries (before any message:
    /// the others then fail as they do when any member fails).
    fn scatter<T: Element>(&self, root: usize, parts: &[Vec<T>]) -> Result<Vec<T>> {
        check_root(self, root)?;
        let size = self.size();
        let (send, counts) = if self.rank() == root {
            check_len("scatter (parts)", parts.len(), size)?;
            let counts = parts.iter().map(|p| std::mem::size_of_val(p.as_slice())).collect();
            let mut send = Side::Engine.vec(parts.iter().map(|p| std::mem::size_of_val(p.as_slice())).sum())?;
            parts.iter().for_each(|p| send.extend_from_slice(as_bytes(p)));
            (send, counts)
        } else {
            (Vec::new(), vec![0; size])
        };
        let (bytes, _) = self.all_to_all_v_bytes(send, &counts)?;
        elements_from(&bytes)
    }

    /// Rank `root`'s `send` cut into `size()` equal chunks, chunk `j` into
    /// `recv` on rank `j` (rsmpi's `scatter_into_root`); on the root `send`
    /// holds `size() * recv.len()` elements, elsewhere it is ignored.
    ///
    /// # Errors
    /// `InvalidArgument` if `root` is not a rank; `InvalidShape` if `send`
    /// (on the root) or `recv` has another length.
    fn scatter_into<T: Element>(&self, root: usize, send: &[T], recv: &mut [T]) -> Result<()> {
        let parts = if self.rank() == root {
            check_len("scatter_into", send.len(), self.size() * recv.len())?;
            send.chunks(recv.len().max(1))
                .map(<[T]>::to_vec)
                .chain(std::iter::repeat(Vec::new()))
                .take(self.size())
                .collect()
        } else {
            Vec::new()
        };
        let got = self.scatter(root, &parts)?;
        check_len("scatter_into (received)", got.len(), recv.len())?;
        recv.copy_from_slice(&got);
        Ok(())
    }

    /// `send` cut into `size()` equal chunks, chunk `j` to rank `j`; returns
    /// the chunks every rank sent this one, concatenated in rank order
    /// (rsmpi's `all_to_all_into`, allocating).
    ///
    /// # Errors
    /// `InvalidShape` if `send.len()` is not a multiple of `size()`.
    fn all_to_all<T: Element>(&self, send: &[T]) -> Result<Vec<T>> {
        let size = self.size();
        if !send.len().is_multiple_of(size) {
            bail!(InvalidShape, "all_to_all: {} elements do not split into {size} equal chunks", send.len());
        }
        let counts = vec![send.len() / size; size];
        Ok(self.all_to_all_v(send, &counts)?.0)
    }

    /// [`all_to_all`](Self::all_to_all) into `recv`, as long as `send`.
    ///
    /// # Errors
    /// `InvalidShape` for another length, or chunks of other lengths from
    /// another member.
    fn all_to_all_into<T: Element>(&self, send: &[T], recv: &mut [T]) -> Result<()> {
        check_len("all_to_all_into", recv.len(), send.len())?;
        let got = self.all_to_all(send)?;
        check_len("all_to_all_into (received)", got.len(), recv.len())?;
        recv.copy_from_slice(&got);
        Ok(())
    }

    /// The `send_counts[j]` elements of `send` after those for ranks below
    /// `j` to rank `j`; returns what every rank sent this one, concatenated
    /// in rank order, with the count from each (rsmpi's
    /// `all_to_all_varcount_into`, allocating).
    ///
    /// # Errors
    /// `InvalidShape` unless `send_counts` has one count per member and sums
    /// to `send.len()`.
    fn all_to_all_v<T: Element>(&self, send: &[T], send_counts: &[usize]) -> Result<(Vec<T>, Vec<usize>)> {
        check_counts(self.size(), send.len(), send_counts)?;
        let item = std::mem::size_of::<T>();
        let byte_counts: Vec<usize> = send_counts.iter().map(|c| c * item).collect();
        let (bytes, counts) = self.all_to_all_v_bytes(Side::Engine.copy(as_bytes(send))?, &byte_counts)?;
        Ok((elements_from(&bytes)?, counts.iter().map(|c| c / item.max(1)).collect()))
    }

    /// [`all_to_all_v`](Self::all_to_all_v) into `recv`, `recv_counts[j]`
    /// elements from rank `j` after those from the ranks below it.
    ///
    /// # Errors
    /// As [`all_to_all_v`](Self::all_to_all_v); `InvalidShape` also if
    /// `recv_counts` does not sum to `recv.len()` or a rank sent another
    /// count than `recv_counts` says.
    fn all_to_all_v_into<T: Element>(
        &self,
        send: &[T],
        send_counts: &[usize],
        recv: &mut [T],
        recv_counts: &[usize],
    ) -> Result<()> {
        check_counts(self.size(), recv.len(), recv_counts)?;
        let (got, counts) = self.all_to_all_v(send, send_counts)?;
        if counts != recv_counts {
            bail!(InvalidShape, "all_to_all_v_into expected counts {recv_counts:?}, the ranks sent {counts:?}");
        }
        recv.copy_from_slice(&got);
        Ok(())
    }

    /// Sends `data` to rank `to` (rsmpi's `Destination::send`); messages
    /// between two members arrive in the order sent. Under MPI it returns
    /// once the message left (for large messages, once `to` receives it):
    /// two members that send to each other use
    /// [`send_receive`](Self::send_receive) or
    /// [`immediate_send`](Self::immediate_send).
    ///
    /// Messages share the communicator with the collectives: receive each
    /// one before the next collective.
    ///
    /// # Errors
    /// `InvalidArgument` if `to` is not a rank; `Err` when another member
    /// aborted or after the collective timeout.
    fn send<T: Element>(&self, to: usize, data: &[T]) -> Result<()> {
        self.send_bytes(to, Side::Engine.copy(as_bytes(data))?)
    }

    /// The next message rank `from` sent this one (rsmpi's
    /// `Source::receive_vec`), waited for.
    ///
    /// # Errors
    /// `InvalidArgument` if `from` is not a rank; `Err` when another member
    /// aborted, after the collective timeout, and if the bytes are not
    /// whole elements of `T`.
    fn receive<T: Element>(&self, from: usize) -> Result<Vec<T>> {
        elements_from(&self.receive_bytes(from)?)
    }

    /// [`receive`](Self::receive) into `buffer`, which must be as long as
    /// the message.
    ///
    /// # Errors
    /// As [`receive`](Self::receive); `InvalidShape` for a message of
    /// another length.
    fn receive_into<T: Element>(&self, from: usize, buffer: &mut [T]) -> Result<()> {
        elements_into(&self.receive_bytes(from)?, buffer)
    }

    /// Sends `data` to `to` and receives the next message from `from`
    /// (rsmpi's `send_receive`), without the deadlock of two blocking sends
    /// to each other: the send goes out, the receive waits, then the send
    /// completes.
    ///
    /// # Errors
    /// As [`send`](Self::send) and [`receive`](Self::receive).
    fn send_receive<T: Element>(&self, data: &[T], to: usize, from: usize) -> Result<Vec<T>> {
        let sent = self.immediate_send(to, data)?;
        let received = self.receive(from);
        let completed = sent.wait();
        let received = received?;
        completed.map(|()| received)
    }

    /// [`send_receive`](Self::send_receive) into `buffer` (rsmpi's
    /// `send_receive_into`), which must be as long as the message.
    ///
    /// # Errors
    /// As [`send_receive`](Self::send_receive); `InvalidShape` for a
    /// message of another length.
    fn send_receive_into<T: Element>(&self, data: &[T], to: usize, buffer: &mut [T], from: usize) -> Result<()> {
        let sent = self.immediate_send(to, data)?;
        let received = self.receive_into(from, buffer);
        let completed = sent.wait();
        received.and(completed)
    }

    /// Starts sending `data` to `to` and returns at once (rsmpi's
    /// `immediate_send`; `data` is copied, so it may change right away);
    /// [`SendRequest::wait`] completes the send.
    ///
    /// # Errors
    /// `InvalidArgument` if `to` is not a rank.
    fn immediate_send<T: Element>(&self, to: usize, data: &[T]) -> Result<SendRequest<'_>> {
        self.immediate_send_bytes(to, Side::Engine.copy(as_bytes(data))?)
    }

    /// A receive of the next message from `from`, completed by
    /// [`ReceiveRequest::wait`] (rsmpi's `immediate_receive`).
    fn immediate_receive<T: Element>(&self, from: usize) -> ReceiveRequest<'_, T> {
        ReceiveRequest::new(self, from)
    }
}

/// `Err(InvalidShape)` unless a buffer of `what` has `len` elements where
/// `expected` are needed.
fn check_len(what: &str, len: usize, expected: usize) -> Result<()> {
    if len != expected {
        bail!(InvalidShape, "{what}: a buffer of {len} elements where {expected} are needed");
    }
    Ok(())
}

/// `Err(InvalidArgument)` unless `root` is a rank of `comm`.
fn check_root<C: Comm + ?Sized>(comm: &C, root: usize) -> Result<()> {
    if root >= comm.size() {
        bail!(InvalidArgument, "there is no root rank {root} in a communicator of {}", comm.size());
    }
    Ok(())
}

/// Elements of `T` from received bytes (whole elements, valid values).
pub(crate) fn elements_from<T: Element>(bytes: &[u8]) -> Result<Vec<T>> {
    from_bytes(bytes, Side::Engine)
}

/// Received bytes into `out`, which must hold exactly that many elements.
fn elements_into<T: Element>(bytes: &[u8], out: &mut [T]) -> Result<()> {
    let item = std::mem::size_of::<T>();
    if bytes.len() != std::mem::size_of_val(out) {
        bail!(InvalidShape, "received {} bytes into a buffer of {} elements of {item} bytes", bytes.len(), out.len());
    }
    out.copy_from_slice(&elements_from::<T>(bytes)?);
    Ok(())
}

/// Bytes cut into `counts[j]` bytes per rank `j`, as elements.
fn split_elements<T: Element>(bytes: &[u8], counts: &[usize]) -> Result<Vec<Vec<T>>> {
    let mut rest = bytes;
    counts
        .iter()
        .map(|&c| {
            let (head, tail) = rest.split_at(c);
            rest = tail;
            elements_from(head)
        })
        .collect()
}

/// `parts`, each of `each` elements, one after the other into `out`.
fn copy_parts<T: Element>(parts: &[Vec<T>], out: &mut [T], each: usize) -> Result<()> {
    if let Some((rank, part)) = parts.iter().enumerate().find(|(_, p)| p.len() != each) {
        bail!(InvalidShape, "gather_into: rank {rank} sent {} elements where {each} are needed", part.len());
    }
    for (part, chunk) in parts.iter().zip(out.chunks_mut(each.max(1))) {
        chunk.copy_from_slice(part);
    }
    Ok(())
}

/// Every member's `value` combined by `combine` on rank 0 (`Some` there):
/// a binomial tree, `combine(lower ranks, higher ranks)` pairwise.
fn reduce_to_zero<C, T>(comm: &C, value: T, mut combine: impl FnMut(T, T) -> T) -> Result<Option<T>>
where
    C: Comm + ?Sized,
    T: Serialize + DeserializeOwned,
{
    tree_to_zero(comm, value, |a, b| Ok(combine(a, b)), |v| encode(v), |b| decode(b))
}

/// Every member's `send` combined elementwise by `op` on rank 0, along the
/// tree of [`reduce_to_zero`], as raw bytes.
fn reduce_slices_to_zero<C, T>(comm: &C, send: &[T], op: Op) -> Result<Option<Vec<T>>>
where
    C: Comm + ?Sized,
    T: Reducible,
{
    let combine = |mut low: Vec<T>, high: Vec<T>| {
        if low.len() != high.len() {
            bail!(InvalidShape, "a reduction of {} elements met one of {}", low.len(), high.len());
        }
        op.fold_into(&mut low, &high);
        Ok(low)
    };
    tree_to_zero(comm, Side::Engine.copy(send)?, combine, |v| Side::Engine.copy(as_bytes(v)), |b| elements_from(b))
}

/// The binomial tree to rank 0 of [`Collectives::all_reduce`]: at step `s`
/// (1, 2, 4, ...) rank `r` with `r % 2s == s` sends its value to `r - s` and
/// is done; the others combine what `r + s` sends. Rank 0 ends with `Some`.
fn tree_to_zero<C, T>(
    comm: &C,
    value: T,
    mut combine: impl FnMut(T, T) -> Result<T>,
    to_bytes: impl Fn(&T) -> Result<Vec<u8>>,
    from_bytes: impl Fn(&[u8]) -> Result<T>,
) -> Result<Option<T>>
where
    C: Comm + ?Sized,
{
    let (rank, size) = (comm.rank(), comm.size());
    let mut acc = value;
    let mut step = 1;
    while step < size {
        if rank % (2 * step) != 0 {
            // Done here: the lower partner takes it from now on.
            comm.send_bytes(rank - step, to_bytes(&acc)?)?;
            return Ok(None);
        }
        if rank + step < size {
            let theirs = from_bytes(&comm.receive_bytes(rank + step)?)?;
            acc = combine(acc, theirs)?;
        }
        step *= 2;
    }
    Ok(Some(acc))
}

/// Rank `root`'s `bytes` on every member of `comm`, by a binomial tree over
/// ranks relative to the root: relative rank `r > 0` receives from `r` with
/// its highest bit cleared, then sends to `r + 2^k` for every `2^k` above `r`'s
/// highest bit, farthest first.
fn broadcast_bytes<C: Comm + ?Sized>(comm: &C, root: usize, bytes: Vec<u8>) -> Result<Vec<u8>> {
    let size = comm.size();
    if root >= size {
        return Err(err!(InvalidArgument, "broadcast from rank {root} of a communicator of {size}"));
    }
    let relative = (comm.rank() + size - root) % size;
    let absolute = |r: usize| (r + root) % size;
    let (bytes, above) = if relative == 0 {
        (bytes, 1)
    } else {
        let high = 1 << (usize::BITS - 1 - relative.leading_zeros());
        (comm.receive_bytes(absolute(relative - high))?, high * 2)
    };
    let mut steps: Vec<usize> =
        std::iter::successors(Some(above), |s| s.checked_mul(2)).take_while(|&s| relative + s < size).collect();
    steps.reverse();
    for s in steps {
        comm.send_bytes(absolute(relative + s), Side::Engine.copy(&bytes)?)?;
    }
    Ok(bytes)
}

impl<C: Comm + ?Sized> Collectives for C {}
