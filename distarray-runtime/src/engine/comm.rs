//! Engine-to-engine communication: one [`Comm`] trait, implemented by
//! shared-memory channels for thread engines and by an MPI communicator of the
//! engine ranks (without the client) under MPI.

use std::mem::MaybeUninit;
use std::ops::Range;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::{de::DeserializeOwned, Serialize};

use crate::core::alloc::Side;
use crate::core::error::{err, Result};
use crate::protocol::{decode, encode};

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
    fn all_to_all_v_into(
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

/// Checks the receive layout of [`Comm::all_to_all_v_into`]: one count and
/// displacement per member of `size`, each part within the `len` bytes.
pub(crate) fn check_parts(size: usize, len: usize, counts: &[usize], displs: &[usize]) -> Result<()> {
    if counts.len() != size || displs.len() != size {
        return Err(err!(InvalidShape, "all_to_all needs {size} receive counts and displacements"));
    }
    if counts.iter().zip(displs).any(|(&c, &d)| d.checked_add(c).map_or(true, |end| end > len)) {
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

/// Typed collectives every [`Comm`] has, built on its byte collectives.
pub trait Collectives: Comm {
    /// Returns when every member has called it.
    fn barrier(&self) -> Result<()> {
        self.all_gather_bytes(&[]).map(drop)
    }

    /// Every member's `value`, in rank order.
    fn all_gather<T: Serialize + DeserializeOwned>(&self, value: &T) -> Result<Vec<T>> {
        self.all_gather_bytes(&encode(value)?)?.iter().map(|b| decode(b)).collect()
    }

    /// Rank `root`'s `value` on every member (the others' `value` is
    /// ignored): a binomial tree, `ceil(log2(size))` steps, each member
    /// receiving once.
    fn broadcast<T: Serialize + DeserializeOwned>(&self, root: usize, value: &T) -> Result<T> {
        let bytes = if self.rank() == root { encode(value)? } else { Vec::new() };
        decode(&broadcast_bytes(self, root, bytes)?)
    }

    /// Every member's `value` combined by `combine`, on every member: a
    /// binomial tree to rank 0, then [`broadcast`](Self::broadcast), so
    /// `2 * ceil(log2(size))` steps. The combination order is fixed by the
    /// member count alone (`combine(lower ranks, higher ranks)`, pairwise:
    /// `((v0, v1), (v2, v3))` for 4), so the same inputs give the same bits
    /// every time.
    fn all_reduce<T: Serialize + DeserializeOwned>(&self, value: T, combine: impl FnMut(T, T) -> T) -> Result<T> {
        let (rank, size) = (self.rank(), self.size());
        let mut combine = combine;
        let mut acc = value;
        let mut step = 1;
        while step < size {
            if rank % (2 * step) != 0 {
                // Done here: the lower partner takes it from now on.
                self.send_bytes(rank - step, encode(&acc)?)?;
                break;
            }
            if rank + step < size {
                let theirs: T = decode(&self.receive_bytes(rank + step)?)?;
                acc = combine(acc, theirs);
            }
            step *= 2;
        }
        self.broadcast(0, &acc)
    }
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
