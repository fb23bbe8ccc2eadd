//! The engines' communicator under MPI: an MPI communicator of one
//! context's engine ranks (the client is not a member), with non-blocking
//! collectives that a failing member or a timeout can abandon.

use std::time::Instant;

use mpi::ffi;
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::*;

use super::{Idle, Serialized, TAG_ABORT, TAG_P2P};
use crate::core::alloc::Side;
use crate::core::error::{bail, err, Result};
use crate::engine::comm::{aborted_by, check_counts, collective_timeout, timed_out, Comm};
use crate::engine::CommFactory;

pub(super) struct MpiCommFactory {
    pub(super) engines: Serialized<SimpleCommunicator>,
}

impl CommFactory for MpiCommFactory {
    fn open(&mut self, targets: &[usize], _generation: u64) -> Result<Box<dyn Comm>> {
        let engines = &self.engines.0;
        let ranks: Vec<i32> = targets.iter().map(|&t| t as i32).collect();
        let group = engines.group().include(&ranks);
        // Collective over the group members only, which are exactly the targets
        // running this command; every member derives the same tag.
        let tag = (targets.iter().fold(17u64, |h, &t| h.wrapping_mul(31).wrapping_add(t as u64)) % (1 << 15)) as i32;
        match engines.split_by_subgroup_with_tag(&group, tag) {
            Some(comm) => Ok(Box::new(MpiComm(Serialized(comm)))),
            None => bail!(Backend, "engine is not a member of the communicator over {targets:?}"),
        }
    }
}

/// An MPI communicator of one context's engines.
struct MpiComm(Serialized<SimpleCommunicator>);

impl MpiComm {
    fn comm(&self) -> &SimpleCommunicator {
        &self.0 .0
    }
}

fn count(len: usize) -> Result<i32> {
    i32::try_from(len)
        .map_err(|_| err!(Unsupported, "an engine message of {len} bytes exceeds MPI's 2 GiB count limit"))
}

fn displacements(counts: &[i32]) -> Vec<i32> {
    counts
        .iter()
        .scan(0, |acc, &c| {
            let d = *acc;
            *acc += c;
            Some(d)
        })
        .collect()
}

/// A zeroed buffer of `len` bytes with its own allocation even when `len` is
/// 0: two empty `Vec`s share one dangling address, and MPI rejects a send
/// buffer equal to the receive buffer (MPI_ERR_ARG) unless it is MPI_IN_PLACE.
/// A checked allocation: `Err(OutOfMemory)` for a size the engine cannot hold
/// (the other members then learn of the failure as of any other, see
/// `Comm::abort`).
fn distinct_buffer(len: usize) -> Result<Vec<u8>> {
    Side::Engine.filled(len.max(1), 0u8)
}

/// The received buffer `buf` cut into each member's part (checked copies).
fn split(buf: Vec<u8>, counts: &[i32]) -> Result<Vec<Vec<u8>>> {
    let mut rest = buf.as_slice();
    counts
        .iter()
        .map(|&c| {
            let (head, tail) = rest.split_at(c as usize);
            rest = tail;
            Side::Engine.copy(head)
        })
        .collect()
}

/// `MPI_Iallgather` and `MPI_Ialltoall`, which share this signature.
type CountCollective = unsafe extern "C" fn(
    *const std::os::raw::c_void,
    std::os::raw::c_int,
    ffi::MPI_Datatype,
    *mut std::os::raw::c_void,
    std::os::raw::c_int,
    ffi::MPI_Datatype,
    ffi::MPI_Comm,
    *mut ffi::MPI_Request,
) -> std::os::raw::c_int;

/// Buffers of a non-blocking collective, kept alive for as long as MPI may
/// use them.
struct Buffers {
    bytes: Vec<Vec<u8>>,
    counts: Vec<Vec<i32>>,
}

impl MpiComm {
    /// Waits for the collective `request`, whose buffers are `buffers`,
    /// polling (see [`Idle`]) for a member's abort (see [`Comm::abort`]) and for
    /// the collective timeout. MPI cannot cancel a collective: on either, the
    /// request and its buffers are leaked, and the communicator must be
    /// retired (the client resets it after the failed call).
    fn wait(&self, mut request: ffi::MPI_Request, buffers: Buffers) -> Result<Buffers> {
        let timeout = collective_timeout();
        let started = Instant::now();
        let mut idle = Idle::default();
        loop {
            let mut done = 0;
            // SAFETY: `request` is a live request of this communicator; the
            // status is ignored.
            unsafe { ffi::MPI_Test(&mut request, &mut done, ffi::RSMPI_STATUS_IGNORE) };
            if done != 0 {
                return Ok(buffers);
            }
            let failure = if let Some(probed) = self.comm().any_process().immediate_matched_probe_with_tag(TAG_ABORT) {
                let (reason, status) = probed.matched_receive_vec::<u8>();
                aborted_by(status.source_rank() as usize, &String::from_utf8_lossy(&reason))
            } else if started.elapsed() > timeout {
                timed_out(None, timeout)
            } else {
                idle.wait();
                continue;
            };
            std::mem::forget(buffers);
            return Err(failure);
        }
    }

    /// One count per member each way, by `collective` (`MPI_Iallgather` with
    /// one count sent, or `MPI_Ialltoall` with one per member): the counts
    /// sent and the counts received, in rank order (non-blocking, see
    /// [`wait`](Self::wait)).
    fn exchange_counts(&self, collective: CountCollective, send: Vec<i32>) -> Result<(Vec<i32>, Vec<i32>)> {
        let mut buffers = Buffers { bytes: Vec::new(), counts: vec![send, vec![0; self.size()]] };
        let (sent, received) = (buffers.counts[0].as_ptr(), buffers.counts[1].as_mut_ptr());
        let mut request = std::mem::MaybeUninit::uninit();
        // SAFETY: the buffers live in `buffers` until the request completes
        // (or forever, see `wait`); they hold i32 counts as declared, one
        // (or one per member) sent and one per member received.
        unsafe {
            collective(
                sent.cast(),
                1,
                ffi::RSMPI_INT32_T,
                received.cast(),
                1,
                ffi::RSMPI_INT32_T,
                self.raw(),
                request.as_mut_ptr(),
            );
        }
        // SAFETY: the collective set the request.
        let Buffers { counts: mut both, .. } = self.wait(unsafe { request.assume_init() }, buffers)?;
        let received = both.pop().unwrap_or_default();
        Ok((both.pop().unwrap_or_default(), received))
    }

    fn check_rank(&self, rank: usize) -> Result<()> {
        if rank >= self.size() {
            bail!(InvalidArgument, "there is no rank {rank} in a communicator of {}", self.size());
        }
        Ok(())
    }

    fn raw(&self) -> ffi::MPI_Comm {
        mpi::raw::AsRaw::as_raw(self.comm())
    }
}

impl Comm for MpiComm {
    fn rank(&self) -> usize {
        self.comm().rank() as usize
    }

    fn raw_mpi_comm(&self) -> Option<ffi::MPI_Comm> {
        Some(self.raw())
    }

    fn size(&self) -> usize {
        self.comm().size() as usize
    }

    fn all_gather_bytes(&self, send: &[u8]) -> Result<Vec<Vec<u8>>> {
        let (_, counts) = self.exchange_counts(ffi::MPI_Iallgather, vec![count(send.len())?])?;
        let displs = displacements(&counts);
        let total = counts.iter().map(|&c| c as usize).sum();
        let mut send_buf = distinct_buffer(send.len())?;
        send_buf[..send.len()].copy_from_slice(send);
        let mut buffers = Buffers { bytes: vec![send_buf, distinct_buffer(total)?], counts: vec![counts, displs] };
        let mut request = std::mem::MaybeUninit::uninit();
        // SAFETY: as in `exchange_counts`; the receive buffer holds `total`
        // bytes laid out by `counts` and `displs`.
        unsafe {
            ffi::MPI_Iallgatherv(
                buffers.bytes[0].as_ptr().cast(),
                send.len() as i32,
                ffi::RSMPI_UINT8_T,
                buffers.bytes[1].as_mut_ptr().cast(),
                buffers.counts[0].as_ptr(),
                buffers.counts[1].as_ptr(),
                ffi::RSMPI_UINT8_T,
                self.raw(),
                request.as_mut_ptr(),
            );
        }
        // SAFETY: MPI_Iallgatherv set the request.
        let mut buffers = self.wait(unsafe { request.assume_init() }, buffers)?;
        let mut buf = std::mem::take(&mut buffers.bytes[1]);
        buf.truncate(total);
        split(buf, &buffers.counts[0])
    }

    fn all_to_all_bytes(&self, send: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>> {
        let n = self.size();
        if send.len() != n {
            bail!(InvalidShape, "all_to_all needs {n} buffers, got {}", send.len());
        }
        // One contiguous exchange (`all_to_all_v_bytes`), cut into each
        // member's part.
        let send_counts: Vec<usize> = send.iter().map(Vec::len).collect();
        let mut flat = Side::Engine.vec(send_counts.iter().sum())?;
        for b in send {
            flat.extend_from_slice(&b);
        }
        let (recv, recv_counts) = self.all_to_all_v_bytes(flat, &send_counts)?;
        let mut rest = recv.as_slice();
        recv_counts
            .iter()
            .map(|&c| {
                let (head, tail) = rest.split_at(c);
                rest = tail;
                Side::Engine.copy(head)
            })
            .collect()
    }

    fn all_to_all_v_bytes(&self, send: Vec<u8>, send_counts: &[usize]) -> Result<(Vec<u8>, Vec<usize>)> {
        check_counts(self.size(), send.len(), send_counts)?;
        let send_counts = send_counts.iter().map(|&c| count(c)).collect::<Result<Vec<i32>>>()?;
        let (send_counts, recv_counts) = self.exchange_counts(ffi::MPI_Ialltoall, send_counts)?;
        let total: usize = recv_counts.iter().map(|&c| c as usize).sum();
        // Empty buffers get their own byte (see `distinct_buffer`); the
        // receive buffer is only reserved: MPI writes every byte of it.
        let send = if send.is_empty() { distinct_buffer(0)? } else { send };
        let recv = if total == 0 { distinct_buffer(0)? } else { Side::Engine.vec(total)? };
        let (send_displs, recv_displs) = (displacements(&send_counts), displacements(&recv_counts));
        let mut buffers =
            Buffers { bytes: vec![send, recv], counts: vec![send_counts, send_displs, recv_counts, recv_displs] };
        let mut request = std::mem::MaybeUninit::uninit();
        // SAFETY: as in `all_to_all_bytes`; the receive pointer is that of
        // an allocation of at least `total` bytes (capacity), which the
        // receive counts and displacements tile.
        unsafe {
            ffi::MPI_Ialltoallv(
                buffers.bytes[0].as_ptr().cast(),
                buffers.counts[0].as_ptr(),
                buffers.counts[1].as_ptr(),
                ffi::RSMPI_UINT8_T,
                buffers.bytes[1].as_mut_ptr().cast(),
                buffers.counts[2].as_ptr(),
                buffers.counts[3].as_ptr(),
                ffi::RSMPI_UINT8_T,
                self.raw(),
                request.as_mut_ptr(),
            );
        }
        // SAFETY: MPI_Ialltoallv set the request.
        let mut buffers = self.wait(unsafe { request.assume_init() }, buffers)?;
        let counts = buffers.counts[2].iter().map(|&c| c as usize).collect();
        if total == 0 {
            return Ok((Vec::new(), counts));
        }
        let mut recv = std::mem::take(&mut buffers.bytes[1]);
        // SAFETY: the collective completed, so MPI wrote all `total` bytes
        // (the receive counts tile `0..total` and sum to it).
        unsafe { recv.set_len(total) };
        Ok((recv, counts))
    }

    fn send_bytes(&self, to: usize, bytes: Vec<u8>) -> Result<()> {
        self.check_rank(to)?;
        let len = count(bytes.len())?;
        let buffers =
            Buffers { bytes: vec![if bytes.is_empty() { distinct_buffer(0)? } else { bytes }], counts: Vec::new() };
        let mut request = std::mem::MaybeUninit::uninit();
        // SAFETY: the buffer lives in `buffers` until the request completes
        // (or forever, see `wait`), and holds `len` bytes.
        unsafe {
            ffi::MPI_Isend(
                buffers.bytes[0].as_ptr().cast(),
                len,
                ffi::RSMPI_UINT8_T,
                to as i32,
                TAG_P2P,
                self.raw(),
                request.as_mut_ptr(),
            );
        }
        // SAFETY: MPI_Isend set the request.
        self.wait(unsafe { request.assume_init() }, buffers).map(drop)
    }

    fn receive_bytes(&self, from: usize) -> Result<Vec<u8>> {
        self.check_rank(from)?;
        let timeout = collective_timeout();
        let started = Instant::now();
        let mut idle = Idle::default();
        let source = self.comm().process_at_rank(from as i32);
        loop {
            if let Some(probed) = source.immediate_matched_probe_with_tag(TAG_P2P) {
                return Ok(probed.matched_receive_vec::<u8>().0);
            }
            if let Some(probed) = self.comm().any_process().immediate_matched_probe_with_tag(TAG_ABORT) {
                let (reason, status) = probed.matched_receive_vec::<u8>();
                return Err(aborted_by(status.source_rank() as usize, &String::from_utf8_lossy(&reason)));
            }
            if started.elapsed() > timeout {
                return Err(timed_out(Some(from), timeout));
            }
            idle.wait();
        }
    }

    fn abort(&self, reason: &str) {
        let me = self.comm().rank();
        for rank in (0..self.comm().size()).filter(|&r| r != me) {
            // Small, so eager: does not wait for the receiver.
            self.comm().process_at_rank(rank).send_with_tag(reason.as_bytes(), TAG_ABORT);
        }
    }

    fn retire(self: Box<Self>) {
        // An abandoned collective may still be pending on it: freeing it would
        // be erroneous, so it is left to MPI_Finalize.
        std::mem::forget(self);
    }
}
