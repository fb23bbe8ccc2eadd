//! The engines' communicator under MPI: an MPI communicator of one
//! context's engine ranks (the client is not a member), with non-blocking
//! collectives that a failing member or a timeout can abandon.

use std::cell::{Cell, RefCell};
use std::mem::MaybeUninit;
use std::time::{Duration, Instant};

use mpi::ffi;
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::*;

use super::{Idle, Serialized, TAG_ABORT, TAG_P2P, TAG_TAGGED};
use crate::core::alloc::Side;
use crate::core::element::DType;
use crate::core::error::{bail, err, Error, Result};
use crate::engine::comm::{
    aborted_by, check_counts, check_parts, collective_timeout, kernel_tag_after, timed_out, Comm, Op, SendRequest,
    KERNEL_TAGS,
};
use crate::engine::pool;
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
            Some(comm) => Ok(Box::new(MpiComm {
                comm: Serialized(comm),
                posted: Serialized(RefCell::new(Vec::new())),
                expected: Serialized(RefCell::new(Vec::new())),
                spare: RefCell::new(Vec::new()),
                kernel_tag: Cell::new(KERNEL_TAGS.end),
            })),
            None => bail!(Backend, "engine is not a member of the communicator over {targets:?}"),
        }
    }
}

/// An MPI communicator of one context's engines.
struct MpiComm {
    comm: Serialized<SimpleCommunicator>,
    /// Tagged sends in flight (see `Comm::send_tagged`), with their buffers.
    posted: Serialized<RefCell<Vec<Posted>>>,
    /// Tagged receives posted ahead (see `Comm::expect_tagged`), in the
    /// order posted (the order MPI matches them in).
    expected: Serialized<RefCell<Vec<Expected>>>,
    /// Buffers of completed tagged sends and receives, for the next ones.
    spare: RefCell<Vec<Vec<u8>>>,
    /// The last tag of `Comm::next_kernel_tag`.
    kernel_tag: Cell<u16>,
}

/// A tagged send in flight: MPI reads `buffer` until `request` completes.
struct Posted {
    tag: u16,
    request: ffi::MPI_Request,
    buffer: Vec<u8>,
}

/// A tagged receive posted ahead: MPI writes `buffer` until `request`
/// completes.
struct Expected {
    from: usize,
    tag: u16,
    request: ffi::MPI_Request,
    buffer: Vec<u8>,
}

/// A receive posted ahead has room for this many times the bytes announced
/// (and 64 more): a longer message than announced is then reported as the
/// error it is, where one longer than the room would end the MPI job
/// (truncation, under the default error handler).
const EXPECTED_ROOM: usize = 2;

/// At most this many spare buffers are kept.
const MAX_SPARE: usize = 64;

impl MpiComm {
    fn comm(&self) -> &SimpleCommunicator {
        &self.comm.0
    }

    /// A buffer of `len` bytes (at least one, see `distinct_buffer`): a
    /// spare one if one is big enough (or any, grown), else a new one.
    fn buffer(&self, len: usize) -> Result<Vec<u8>> {
        let mut spare = self.spare.borrow_mut();
        // The smallest that fits: a halo exchange's buffers then keep their
        // sizes from step to step.
        let fits =
            spare.iter().enumerate().filter(|(_, b)| b.capacity() >= len.max(1)).min_by_key(|(_, b)| b.capacity());
        let mut buf = match fits.map(|(i, _)| i) {
            Some(i) => spare.swap_remove(i),
            None => match spare.pop() {
                Some(b) => b,
                None => distinct_buffer(len)?,
            },
        };
        buf.clear();
        buf.resize(len.max(1), 0);
        Ok(buf)
    }

    fn keep(&self, buf: Vec<u8>) {
        let mut spare = self.spare.borrow_mut();
        if spare.len() < MAX_SPARE {
            if spare.capacity() == 0 {
                spare.reserve_exact(MAX_SPARE);
            }
            spare.push(buf);
        }
    }

    /// Why a wait that began at `started` (for a message from `from`, if
    /// one) must end now: another member's abort, or the timeout.
    fn failure_while_waiting(&self, from: Option<usize>, started: Instant, timeout: Duration) -> Option<Error> {
        if let Some(probed) = self.comm().any_process().immediate_matched_probe_with_tag(TAG_ABORT) {
            let (reason, status) = probed.matched_receive_vec::<u8>();
            return Some(aborted_by(status.source_rank() as usize, &String::from_utf8_lossy(&reason)));
        }
        (started.elapsed() > timeout).then(|| timed_out(from, timeout))
    }

    /// Waits for `request` (a message from `from`, if one), its status:
    /// polling (see [`Idle::polling`], without sleeping for up to `poll`) for
    /// a member's abort (see [`Comm::abort`]) and for the collective timeout.
    /// On either the request is still live: the caller leaks what MPI may
    /// still use.
    fn wait_request(
        &self,
        request: &mut ffi::MPI_Request,
        from: Option<usize>,
        poll: Duration,
    ) -> Result<ffi::MPI_Status> {
        let timeout = collective_timeout();
        let started = Instant::now();
        let mut idle = Idle::polling(poll);
        loop {
            let mut done = 0;
            let mut status = MaybeUninit::uninit();
            // SAFETY: `request` is a live request of this communicator.
            unsafe { ffi::MPI_Test(request, &mut done, status.as_mut_ptr()) };
            if done != 0 {
                // SAFETY: MPI_Test completed the request and set its status.
                return Ok(unsafe { status.assume_init() });
            }
            if let Some(failure) = self.failure_while_waiting(from, started, timeout) {
                return Err(failure);
            }
            idle.wait();
        }
    }
}

impl Drop for MpiComm {
    fn drop(&mut self) {
        // MPI may still read the buffers of sends never completed.
        for posted in self.posted.0.get_mut().drain(..) {
            std::mem::forget(posted.buffer);
        }
        // And write into those of receives never completed.
        for expected in self.expected.0.get_mut().drain(..) {
            std::mem::forget(expected.buffer);
        }
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

/// How long the wait of a collective that moves data polls without sleeping
/// (see [`Idle::polling`]).
const DATA_POLL: Duration = Duration::from_secs(2);

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
    fn wait(&self, request: ffi::MPI_Request, buffers: Buffers) -> Result<Buffers> {
        self.wait_polling(request, buffers, Idle::POLL)
    }

    /// [`wait`](Self::wait), polling without sleeping for up to `poll`
    /// (see [`Idle::polling`]).
    fn wait_polling(&self, mut request: ffi::MPI_Request, buffers: Buffers, poll: Duration) -> Result<Buffers> {
        match self.wait_request(&mut request, None, poll) {
            Ok(_) => Ok(buffers),
            Err(failure) => {
                std::mem::forget(buffers);
                Err(failure)
            }
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

    /// One `MPI_Ialltoallv` of bytes: `send` by `send_counts` (and their
    /// displacements), into `recv_counts` bytes at `recv_displs` from `at`;
    /// `recv` is kept alive with `send` until it completes. Returns the
    /// buffers, `send` already given to the pool.
    ///
    /// # Safety
    /// The parts from `at` must be writable memory that lives until the
    /// collective completes, or forever if this fails (an abandoned
    /// collective may still write).
    unsafe fn all_to_all_v_raw(
        &self,
        send: Vec<u8>,
        send_counts: Vec<i32>,
        at: *mut u8,
        recv: Vec<u8>,
        recv_counts: Vec<i32>,
        recv_displs: Vec<i32>,
    ) -> Result<Buffers> {
        // An empty send buffer gets its own byte (see `distinct_buffer`).
        let send = if send.is_empty() { distinct_buffer(0)? } else { send };
        let send_displs = displacements(&send_counts);
        let buffers =
            Buffers { bytes: vec![send, recv], counts: vec![send_counts, send_displs, recv_counts, recv_displs] };
        let mut request = std::mem::MaybeUninit::uninit();
        // SAFETY: the send buffer and the counts live in `buffers` until the
        // request completes (or forever, see `wait`); the receive parts are
        // the caller's (see above).
        unsafe {
            ffi::MPI_Ialltoallv(
                buffers.bytes[0].as_ptr().cast(),
                buffers.counts[0].as_ptr(),
                buffers.counts[1].as_ptr(),
                ffi::RSMPI_UINT8_T,
                at.cast(),
                buffers.counts[2].as_ptr(),
                buffers.counts[3].as_ptr(),
                ffi::RSMPI_UINT8_T,
                self.raw(),
                request.as_mut_ptr(),
            );
        }
        // SAFETY: MPI_Ialltoallv set the request. A transfer of data: poll
        // without sleeping for a while, MPI progresses only when tested.
        let mut buffers = self.wait_polling(unsafe { request.assume_init() }, buffers, DATA_POLL)?;
        pool::keep_vec(std::mem::take(&mut buffers.bytes[0]));
        Ok(buffers)
    }

    /// `MPI_Iallreduce` (`root` `None`) or `MPI_Ireduce` of `send`, elements
    /// of `item` bytes of `datatype`, by `op` (see `Comm::reduce_bytes`).
    fn reduce_native(
        &self,
        root: Option<usize>,
        send: Vec<u8>,
        datatype: ffi::MPI_Datatype,
        op: ffi::MPI_Op,
        item: usize,
    ) -> Result<Vec<u8>> {
        if let Some(root) = root {
            self.check_rank(root)?;
        }
        let len = send.len();
        let n = count(len / item)?;
        // Empty buffers get their own byte (see `distinct_buffer`).
        let send = if send.is_empty() { distinct_buffer(0)? } else { send };
        let mut buffers = Buffers { bytes: vec![send, distinct_buffer(len)?], counts: Vec::new() };
        let (sent, received) = (buffers.bytes[0].as_ptr(), buffers.bytes[1].as_mut_ptr());
        let mut request = std::mem::MaybeUninit::uninit();
        // SAFETY: both buffers hold `n` elements of `datatype` and live in
        // `buffers` until the request completes (or forever, see `wait`).
        unsafe {
            match root {
                None => {
                    ffi::MPI_Iallreduce(sent.cast(), received.cast(), n, datatype, op, self.raw(), request.as_mut_ptr())
                }
                Some(root) => ffi::MPI_Ireduce(
                    sent.cast(),
                    received.cast(),
                    n,
                    datatype,
                    op,
                    root as i32,
                    self.raw(),
                    request.as_mut_ptr(),
                ),
            };
        }
        // SAFETY: the collective set the request.
        let mut buffers = self.wait_polling(unsafe { request.assume_init() }, buffers, DATA_POLL)?;
        let mut out = std::mem::take(&mut buffers.bytes[1]);
        out.truncate(len);
        if root.is_some_and(|r| r != self.rank()) {
            out.clear();
        }
        Ok(out)
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
        let mut recv = if total == 0 { distinct_buffer(0)? } else { pool::vec::<u8>(total)? };
        let (at, displs) = (recv.as_mut_ptr(), displacements(&recv_counts));
        let counts: Vec<usize> = recv_counts.iter().map(|&c| c as usize).collect();
        // SAFETY: `at` is the start of `recv`'s allocation of at least
        // `total` bytes, which the counts and displacements tile, and `recv`
        // moves into the kept buffers.
        let mut buffers = unsafe { self.all_to_all_v_raw(send, send_counts, at, recv, recv_counts, displs)? };
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
        self.immediate_send_bytes(to, bytes)?.wait()
    }

    fn immediate_send_bytes(&self, to: usize, bytes: Vec<u8>) -> Result<SendRequest<'_>> {
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
        let request = unsafe { request.assume_init() };
        Ok(SendRequest::pending(move || self.wait(request, buffers).map(drop)))
    }

    fn reduce_bytes(&self, root: Option<usize>, send: Vec<u8>, dtype: DType, op: Op) -> Option<Result<Vec<u8>>> {
        // SAFETY: reading MPI's predefined handles, set by MPI_Init.
        let datatype = unsafe {
            match dtype {
                DType::I8 => ffi::RSMPI_INT8_T,
                DType::I16 => ffi::RSMPI_INT16_T,
                DType::I32 => ffi::RSMPI_INT32_T,
                DType::I64 => ffi::RSMPI_INT64_T,
                DType::U8 => ffi::RSMPI_UINT8_T,
                DType::U16 => ffi::RSMPI_UINT16_T,
                DType::U32 => ffi::RSMPI_UINT32_T,
                DType::U64 => ffi::RSMPI_UINT64_T,
                DType::F32 => ffi::RSMPI_FLOAT,
                DType::F64 => ffi::RSMPI_DOUBLE,
                DType::C64 => ffi::RSMPI_FLOAT_COMPLEX,
                DType::C128 => ffi::RSMPI_DOUBLE_COMPLEX,
                DType::Bool => return None,
            }
        };
        // SAFETY: as above.
        let op = unsafe {
            match op {
                Op::Sum => ffi::RSMPI_SUM,
                Op::Product => ffi::RSMPI_PROD,
                Op::Min => ffi::RSMPI_MIN,
                Op::Max => ffi::RSMPI_MAX,
            }
        };
        Some(self.reduce_native(root, send, datatype, op, dtype.itemsize()))
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
            if let Some(failure) = self.failure_while_waiting(Some(from), started, timeout) {
                return Err(failure);
            }
            idle.wait();
        }
    }

    fn all_to_all_v_bytes_into(
        &self,
        send: Vec<u8>,
        send_counts: &[usize],
        recv: &mut [MaybeUninit<u8>],
        recv_counts: &[usize],
        recv_displs: &[usize],
    ) -> Result<Vec<usize>> {
        check_counts(self.size(), send.len(), send_counts)?;
        check_parts(self.size(), recv.len(), recv_counts, recv_displs)?;
        let send_counts = send_counts.iter().map(|&c| count(c)).collect::<Result<Vec<i32>>>()?;
        let (send_counts, sent) = self.exchange_counts(ffi::MPI_Ialltoall, send_counts)?;
        let counts: Vec<usize> = sent.iter().map(|&c| c as usize).collect();
        if counts != recv_counts || recv.is_empty() {
            // Another layout than expected (a sender failed), or nothing to
            // receive: take part into a buffer of its own.
            let total = counts.iter().sum::<usize>();
            let mut scratch = distinct_buffer(total)?;
            let (at, displs) = (scratch.as_mut_ptr(), displacements(&sent));
            // SAFETY: `scratch` holds `total` (at least one) bytes, tiled by
            // the counts and displacements, and moves into the kept buffers.
            unsafe { self.all_to_all_v_raw(send, send_counts, at, scratch, sent, displs)? };
            return Ok(counts);
        }
        let displs = recv_displs.iter().map(|&d| count(d)).collect::<Result<Vec<i32>>>()?;
        // SAFETY: the parts lie within `recv` (checked), whose allocation
        // the caller leaks if this fails (the documented contract).
        unsafe { self.all_to_all_v_raw(send, send_counts, recv.as_mut_ptr().cast(), Vec::new(), sent, displs)? };
        Ok(counts)
    }

    fn send_tagged(&self, to: usize, tag: u16, len: usize, fill: &mut dyn FnMut(&mut [u8])) -> Result<()> {
        self.check_rank(to)?;
        let n = count(len)?;
        let mut buffer = self.buffer(len)?;
        fill(&mut buffer[..len]);
        let mut request = std::mem::MaybeUninit::uninit();
        // SAFETY: `buffer` holds `len` bytes and moves into `posted` (its
        // heap block stays put) until the request completes, or is leaked.
        unsafe {
            ffi::MPI_Isend(
                buffer.as_ptr().cast(),
                n,
                ffi::RSMPI_UINT8_T,
                to as i32,
                TAG_TAGGED + i32::from(tag),
                self.raw(),
                request.as_mut_ptr(),
            );
        }
        // SAFETY: MPI_Isend set the request.
        let request = unsafe { request.assume_init() };
        self.posted.0.borrow_mut().push(Posted { tag, request, buffer });
        Ok(())
    }

    fn expect_tagged(&self, from: usize, tag: u16, len: usize) -> Result<()> {
        self.check_rank(from)?;
        let room = len.saturating_mul(EXPECTED_ROOM).saturating_add(64);
        let n = count(room)?;
        let mut buffer = self.buffer(room)?;
        let mut request = std::mem::MaybeUninit::uninit();
        // SAFETY: `buffer` holds `room` bytes and moves into `expected` (its
        // heap block stays put) until the request completes, or is leaked.
        unsafe {
            ffi::MPI_Irecv(
                buffer.as_mut_ptr().cast(),
                n,
                ffi::RSMPI_UINT8_T,
                from as i32,
                TAG_TAGGED + i32::from(tag),
                self.raw(),
                request.as_mut_ptr(),
            );
        }
        // SAFETY: MPI_Irecv set the request.
        let request = unsafe { request.assume_init() };
        self.expected.0.borrow_mut().push(Expected { from, tag, request, buffer });
        Ok(())
    }

    fn receive_tagged(&self, from: usize, tag: u16, read: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()> {
        self.check_rank(from)?;
        let ahead = {
            let mut expected = self.expected.0.borrow_mut();
            expected.iter().position(|e| e.from == from && e.tag == tag).map(|i| expected.remove(i))
        };
        if let Some(Expected { mut request, buffer, .. }) = ahead {
            return match self.wait_request(&mut request, Some(from), DATA_POLL) {
                Ok(status) => {
                    let mut len = 0;
                    // SAFETY: `status` is that of the completed receive.
                    unsafe { ffi::MPI_Get_count(&status, ffi::RSMPI_UINT8_T, &mut len) };
                    let outcome = read(&buffer[..usize::try_from(len).unwrap_or(0).min(buffer.len())]);
                    self.keep(buffer);
                    outcome
                }
                Err(failure) => {
                    // MPI may still write into it.
                    std::mem::forget(buffer);
                    Err(failure)
                }
            };
        }
        let timeout = collective_timeout();
        let started = Instant::now();
        let mut idle = Idle::polling(DATA_POLL);
        let source = self.comm().process_at_rank(from as i32);
        loop {
            if let Some((message, status)) = source.immediate_matched_probe_with_tag(TAG_TAGGED + i32::from(tag)) {
                let len = status.count(u8::equivalent_datatype()) as usize;
                let mut buffer = self.buffer(len)?;
                message.matched_receive_into(&mut buffer[..len]);
                let outcome = read(&buffer[..len]);
                self.keep(buffer);
                return outcome;
            }
            if let Some(failure) = self.failure_while_waiting(Some(from), started, timeout) {
                return Err(failure);
            }
            idle.wait();
        }
    }

    fn complete_tagged(&self, tag: u16) -> Result<()> {
        loop {
            let next = {
                let mut posted = self.posted.0.borrow_mut();
                posted.iter().position(|p| p.tag == tag).map(|i| posted.swap_remove(i))
            };
            let Some(mut posted) = next else { return Ok(()) };
            if let Err(e) = self.wait_request(&mut posted.request, None, DATA_POLL) {
                std::mem::forget(posted.buffer);
                return Err(e);
            }
            self.keep(posted.buffer);
        }
    }

    fn next_kernel_tag(&self) -> u16 {
        let tag = kernel_tag_after(self.kernel_tag.get());
        self.kernel_tag.set(tag);
        tag
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
