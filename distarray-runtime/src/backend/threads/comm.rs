//! The thread engines' communicator: one FIFO channel per ordered pair of
//! members.

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::core::alloc::Side;
use crate::core::error::{err, Result};
use crate::engine::comm::{
    aborted_by, check_counts, collective_timeout, kernel_tag_after, timed_out, Comm, Received, KERNEL_TAGS,
};
use crate::engine::pool;

/// A thread engine's end of a shared-memory communicator: one FIFO channel per
/// ordered pair of members, so collectives stay matched as long as every member
/// calls them in the same order.
pub(crate) struct ThreadComm {
    rank: usize,
    to: Vec<Sender<Packet>>,
    from: Vec<Receiver<Packet>>,
    /// The gathers to one member under way, shared by the group.
    deposits: Arc<Mutex<HashMap<u64, Deposit>>>,
    /// How many gathers to one member this member has joined: the same
    /// sequence on every member, as for any collective.
    gathers: AtomicU64,
    /// The tagged messages (see [`Comm::send_tagged`]) of the group, one
    /// queue per ordered pair (`from * size + to`): queues, not channels,
    /// because a receiver picks the first letter of its tag, and a queue that
    /// has grown to its depth no longer allocates (a channel allocates a
    /// block every few dozen messages).
    mail: Arc<Vec<Mutex<VecDeque<Letter>>>>,
    /// Buffers of tagged messages received, for this member's next sends:
    /// a halo exchange receives as many as it sends, of the same sizes.
    spare: Mutex<Vec<Vec<u8>>>,
    /// The first member that left the group's current command (see
    /// [`Comm::abort`]): tagged receives do not read the channels, so they
    /// learn of it here.
    aborted: Arc<Mutex<Option<(usize, String)>>>,
    /// The last tag of [`Comm::next_kernel_tag`].
    kernel_tag: AtomicU16,
}

/// One tagged message.
struct Letter {
    tag: u16,
    bytes: Vec<u8>,
}

/// At most this many spare buffers are kept per member.
const MAX_SPARE: usize = 64;

/// How long a tagged receive polls, yielding the core, before it sleeps
/// between looks.
const TAGGED_POLL: Duration = Duration::from_millis(2);

/// One gather to one member: each member's bytes, and how many came.
struct Deposit {
    parts: Vec<Option<Vec<u8>>>,
    count: usize,
}

/// A range of a buffer another member shares.
type SharedPart = (Arc<Vec<u8>>, Range<usize>);

/// What travels between two members.
enum Packet {
    Data(Vec<u8>),
    /// The bytes `range` of a buffer the sender shares with every member.
    Shared(Arc<Vec<u8>>, Range<usize>),
    /// A buffer the sender read, back to its owner (see [`Comm::release`]).
    Return(Arc<Vec<u8>>),
    /// The sender will not join this command's collectives (see [`Comm::abort`]).
    Abort(String),
}

impl ThreadComm {
    /// The `size` ends of a new communicator, in rank order.
    pub(crate) fn group(size: usize) -> Vec<ThreadComm> {
        // channels[i][j] carries messages from i to j.
        let mut senders: Vec<Vec<Sender<Packet>>> = (0..size).map(|_| Vec::with_capacity(size)).collect();
        let mut receivers: Vec<Vec<Receiver<Packet>>> = (0..size).map(|_| Vec::with_capacity(size)).collect();
        for sender_list in senders.iter_mut() {
            for receiver_list in receivers.iter_mut() {
                let (tx, rx) = channel();
                sender_list.push(tx);
                receiver_list.push(rx);
            }
        }
        let deposits = Arc::default();
        let mail: Arc<Vec<_>> = Arc::new((0..size * size).map(|_| Mutex::new(VecDeque::new())).collect());
        let aborted = Arc::default();
        senders
            .into_iter()
            .zip(receivers)
            .enumerate()
            .map(|(rank, (to, from))| ThreadComm {
                rank,
                to,
                from,
                deposits: Arc::clone(&deposits),
                gathers: AtomicU64::new(0),
                mail: Arc::clone(&mail),
                spare: Mutex::new(Vec::new()),
                aborted: Arc::clone(&aborted),
                kernel_tag: AtomicU16::new(KERNEL_TAGS.end),
            })
            .collect()
    }

    fn check_rank(&self, rank: usize) -> Result<()> {
        if rank >= self.to.len() {
            return Err(err!(InvalidArgument, "there is no rank {rank} in a communicator of {}", self.to.len()));
        }
        Ok(())
    }

    fn post(&self, to: usize, bytes: Vec<u8>) -> Result<()> {
        self.to[to].send(Packet::Data(bytes)).map_err(|_| err!(Backend, "engine rank {to} has stopped"))
    }

    fn take(&self, from: usize) -> Result<Vec<u8>> {
        match self.recv_packet(from)? {
            Packet::Data(bytes) => Ok(bytes),
            _ => Err(err!(Protocol, "engine rank {from} sent a shared buffer where bytes were expected")),
        }
    }

    /// Sends every member its part of `send`: the next `send_counts[j]`
    /// bytes to rank `j`, as a range of the one shared buffer.
    fn share(&self, send: &Arc<Vec<u8>>, send_counts: &[usize]) -> Result<()> {
        let mut at = 0;
        for (to, &c) in send_counts.iter().enumerate() {
            let packet = Packet::Shared(Arc::clone(send), at..at + c);
            self.to[to].send(packet).map_err(|_| err!(Backend, "engine rank {to} has stopped"))?;
            at += c;
        }
        Ok(())
    }

    /// The part every member [`share`](Self::share)d with this one, in rank
    /// order.
    fn take_shared(&self) -> Result<Vec<SharedPart>> {
        (0..self.size())
            .map(|from| match self.recv_packet(from)? {
                Packet::Shared(buf, range) => Ok((buf, range)),
                _ => Err(err!(Protocol, "engine rank {from} sent bytes where a shared buffer was expected")),
            })
            .collect()
    }

    /// A buffer of `len` bytes for a tagged send: a spare one if one is big
    /// enough (or any, grown), else a new one.
    fn buffer(&self, len: usize) -> Result<Vec<u8>> {
        let mut spare = self.spare.lock().unwrap_or_else(PoisonError::into_inner);
        // The smallest that fits: a halo exchange's buffers then keep their
        // sizes from step to step.
        let fits = spare.iter().enumerate().filter(|(_, b)| b.capacity() >= len).min_by_key(|(_, b)| b.capacity());
        let mut buf = match fits.map(|(i, _)| i) {
            Some(i) => spare.swap_remove(i),
            None => match spare.pop() {
                Some(b) => b,
                None => Side::Engine.vec(len)?,
            },
        };
        drop(spare);
        buf.clear();
        buf.resize(len, 0);
        Ok(buf)
    }

    fn keep(&self, buf: Vec<u8>) {
        let mut spare = self.spare.lock().unwrap_or_else(PoisonError::into_inner);
        if spare.len() < MAX_SPARE {
            if spare.capacity() == 0 {
                spare.reserve_exact(MAX_SPARE);
            }
            spare.push(buf);
        }
    }

    /// The next data packet from `from`.
    fn recv_packet(&self, from: usize) -> Result<Packet> {
        let timeout = collective_timeout();
        // Polled first, yielding the core: the sender is usually a step of
        // the same collective away, and a blocked thread takes microseconds
        // to wake (engines outnumber cores when oversubscribed).
        match super::log::receive_soon(&self.from[from], Some(timeout)) {
            Ok(Packet::Abort(reason)) => Err(aborted_by(from, &reason)),
            Ok(packet) => Ok(packet),
            Err(RecvTimeoutError::Timeout) => Err(timed_out(Some(from), timeout)),
            Err(RecvTimeoutError::Disconnected) => Err(err!(Backend, "engine rank {from} has stopped")),
        }
    }
}

impl Comm for ThreadComm {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.to.len()
    }

    fn all_gather_bytes(&self, send: &[u8]) -> Result<Vec<Vec<u8>>> {
        for to in 0..self.size() {
            self.post(to, Side::Engine.copy(send)?)?;
        }
        (0..self.size()).map(|from| self.take(from)).collect()
    }

    fn all_to_all_bytes(&self, send: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>> {
        if send.len() != self.size() {
            return Err(err!(InvalidShape, "all_to_all needs {} buffers, got {}", self.size(), send.len()));
        }
        for (to, bytes) in send.into_iter().enumerate() {
            self.post(to, bytes)?;
        }
        (0..self.size()).map(|from| self.take(from)).collect()
    }

    fn all_to_all_v_bytes(&self, send: Vec<u8>, send_counts: &[usize]) -> Result<(Vec<u8>, Vec<usize>)> {
        check_counts(self.size(), send.len(), send_counts)?;
        // Every member reads its part straight from the one shared buffer: a
        // single copy per byte, into the receiver's buffer.
        let send = Arc::new(send);
        self.share(&send, send_counts)?;
        drop(send);
        let parts = self.take_shared()?;
        let counts: Vec<usize> = parts.iter().map(|(_, r)| r.len()).collect();
        let mut out = Side::Engine.vec(counts.iter().sum())?;
        for (buf, range) in parts {
            out.extend_from_slice(&buf[range]);
        }
        Ok((out, counts))
    }

    fn send_bytes(&self, to: usize, bytes: Vec<u8>) -> Result<()> {
        self.check_rank(to)?;
        self.post(to, bytes)
    }

    fn receive_bytes(&self, from: usize) -> Result<Vec<u8>> {
        self.check_rank(from)?;
        self.take(from)
    }

    fn all_to_all_v_parts(&self, send: Vec<u8>, send_counts: &[usize]) -> Result<Received> {
        check_counts(self.size(), send.len(), send_counts)?;
        // Every member reads its part straight from the sender's buffer: no
        // copy here at all. The sender keeps its own reference until the
        // caller lets the parts go, so that the last member done with the
        // buffer (whichever) can keep it in its pool.
        let send = Arc::new(send);
        self.share(&send, send_counts)?;
        let parts = self.take_shared()?;
        Ok(Received::shared(parts, vec![send]))
    }

    fn release(&self, received: Received) -> Result<()> {
        let (parts, held) = received.into_parts();
        if held.is_empty() {
            // Not shared parts: nothing to hand back.
            Received::shared(parts, held).recycle();
            return Ok(());
        }
        // Each part back to the member whose buffer it is, then this
        // member's own buffer back from every other: its last reference is
        // then here, and it goes to this engine's pool.
        for (from, (buf, _)) in parts.into_iter().enumerate() {
            if from != self.rank {
                self.to[from].send(Packet::Return(buf)).map_err(|_| err!(Backend, "engine rank {from} has stopped"))?;
            }
        }
        for from in (0..self.size()).filter(|&f| f != self.rank) {
            match self.recv_packet(from)? {
                // This member's own buffer: dropped, the last reference is `held`.
                Packet::Return(buf) => drop(buf),
                _ => return Err(err!(Protocol, "engine rank {from} sent data where a returned buffer was expected")),
            }
        }
        for buf in held {
            if let Some(buf) = Arc::into_inner(buf) {
                pool::keep_vec(buf);
            }
        }
        Ok(())
    }

    /// The member that deposits last takes every part: nobody waits or is
    /// woken (a wake-up of a parked engine costs microseconds, and a gather
    /// to rank 0 needs one whenever rank 0 finishes first). After a failed
    /// call the client replaces the communicator, so a gather a member
    /// never joined is dropped with it.
    fn gather_to_one_bytes(&self, bytes: Vec<u8>) -> Result<Option<Vec<Vec<u8>>>> {
        let size = self.size();
        let call = self.gathers.fetch_add(1, Ordering::Relaxed);
        let mut deposits = self.deposits.lock().unwrap_or_else(PoisonError::into_inner);
        let deposit = deposits.entry(call).or_insert_with(|| Deposit { parts: vec![None; size], count: 0 });
        deposit.parts[self.rank] = Some(bytes);
        deposit.count += 1;
        if deposit.count < size {
            return Ok(None);
        }
        let parts = deposits.remove(&call).map(|d| d.parts).unwrap_or_default();
        Ok(Some(parts.into_iter().map(Option::unwrap_or_default).collect()))
    }

    fn send_tagged(&self, to: usize, tag: u16, len: usize, fill: &mut dyn FnMut(&mut [u8])) -> Result<()> {
        self.check_rank(to)?;
        let mut bytes = self.buffer(len)?;
        fill(&mut bytes);
        let mut queue = self.mail[self.rank * self.size() + to].lock().unwrap_or_else(PoisonError::into_inner);
        queue.push_back(Letter { tag, bytes });
        Ok(())
    }

    fn receive_tagged(&self, from: usize, tag: u16, read: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()> {
        self.check_rank(from)?;
        let queue = &self.mail[from * self.size() + self.rank];
        let (timeout, start) = (collective_timeout(), Instant::now());
        loop {
            let letter = {
                let mut queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
                queue.iter().position(|l| l.tag == tag).and_then(|i| queue.remove(i))
            };
            if let Some(letter) = letter {
                let outcome = read(&letter.bytes);
                self.keep(letter.bytes);
                return outcome;
            }
            if let Some((by, reason)) = self.aborted.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
                return Err(aborted_by(*by, reason));
            }
            let waited = start.elapsed();
            if waited > timeout {
                return Err(timed_out(Some(from), timeout));
            }
            // The sender is usually a step of the same exchange away.
            if waited < TAGGED_POLL {
                std::thread::yield_now();
            } else if waited < TAGGED_POLL * 10 {
                std::thread::sleep(Duration::from_micros(50));
            } else {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }

    fn next_kernel_tag(&self) -> u16 {
        let tag = kernel_tag_after(self.kernel_tag.load(Ordering::Relaxed));
        self.kernel_tag.store(tag, Ordering::Relaxed);
        tag
    }

    fn abort(&self, reason: &str) {
        self.aborted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert_with(|| (self.rank, reason.to_string()));
        for (to, sender) in self.to.iter().enumerate() {
            if to != self.rank {
                // A member that has stopped needs no warning.
                let _ = sender.send(Packet::Abort(reason.to_string()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::error::ErrorKind;
    use crate::engine::comm::{Collectives, Op, SendRequest};

    /// `body` on every member of a new communicator of `size`, each on its
    /// own thread; a member whose body fails tells the others (as a failed
    /// kernel does, see `Comm::abort`). The results in rank order.
    fn on_group<R, F>(size: usize, body: F) -> Vec<Result<R>>
    where
        R: Send + 'static,
        F: Fn(&ThreadComm) -> Result<R> + Send + Copy + 'static,
    {
        // Every end lives until all are done, as an engine's communicator
        // outlives its commands.
        let done = Arc::new(std::sync::Barrier::new(size));
        let handles: Vec<_> = ThreadComm::group(size)
            .into_iter()
            .map(|c| {
                let done = Arc::clone(&done);
                std::thread::spawn(move || {
                    let out = body(&c);
                    if let Err(e) = &out {
                        c.abort(&e.to_string());
                    }
                    done.wait();
                    out
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    }

    /// Rank `r`'s contribution to the reductions.
    fn contribution(r: usize) -> Vec<i64> {
        vec![r as i64 + 1, 2 * r as i64 - 5, (r as i64 * 7) % 4]
    }

    /// Every operation, all-reduced and reduced to every root, for 1 to 9
    /// members, against closed forms over the contributions.
    #[test]
    fn reductions_by_op() {
        for size in 1..=9 {
            let results = on_group(size, |c| {
                let mine = contribution(c.rank());
                let mut all = Vec::new();
                for op in [Op::Sum, Op::Product, Op::Min, Op::Max] {
                    let mut recv = vec![0i64; 3];
                    c.all_reduce_into(&mine, &mut recv, op)?;
                    all.push(recv);
                    let floats: Vec<f64> = mine.iter().map(|&v| v as f64).collect();
                    let mut recv = vec![0.0; 3];
                    c.all_reduce_into(&floats, &mut recv, op)?;
                    all.push(recv.iter().map(|&v| v as i64).collect());
                    for root in 0..c.size() {
                        let mut recv = vec![-99i64; 3];
                        c.reduce_into(root, &mine, &mut recv, op)?;
                        all.push(recv);
                    }
                }
                Ok(all)
            });
            let column = |i: usize| (0..size).map(move |r| contribution(r)[i]);
            let closed = |op: Op| -> Vec<i64> {
                (0..3)
                    .map(|i| match op {
                        Op::Sum => column(i).sum(),
                        Op::Product => column(i).product(),
                        Op::Min => column(i).min().unwrap(),
                        _ => column(i).max().unwrap(),
                    })
                    .collect()
            };
            for (rank, got) in results.into_iter().enumerate() {
                let got = got.unwrap();
                let mut at = 0;
                for op in [Op::Sum, Op::Product, Op::Min, Op::Max] {
                    assert_eq!(got[at], closed(op), "{op:?} of {size}, integers");
                    assert_eq!(got[at + 1], closed(op), "{op:?} of {size}, floats");
                    for root in 0..size {
                        let want = if root == rank { closed(op) } else { vec![-99; 3] };
                        assert_eq!(got[at + 2 + root], want, "{op:?} of {size} to root {root}, on rank {rank}");
                    }
                    at += 2 + size;
                }
            }
        }
    }

    /// A NaN wins min and max (numpy's minimum/maximum); complex numbers
    /// compare lexicographically.
    #[test]
    fn reductions_keep_nan_and_order_complex() {
        let results = on_group(3, |c| {
            let mine = [if c.rank() == 1 { f64::NAN } else { c.rank() as f64 }, c.rank() as f64];
            let (mut max, mut min) = ([0.0; 2], [0.0; 2]);
            c.all_reduce_into(&mine, &mut max, Op::Max)?;
            c.all_reduce_into(&mine, &mut min, Op::Min)?;
            let z =
                [num_complex::Complex::new(1.0, c.rank() as f64), num_complex::Complex::new(-(c.rank() as f64), 0.0)];
            let mut zmax = [num_complex::Complex::new(0.0, 0.0); 2];
            c.all_reduce_into(&z, &mut zmax, Op::Max)?;
            Ok((max, min, zmax))
        });
        for r in results {
            let (max, min, zmax) = r.unwrap();
            assert!(max[0].is_nan() && min[0].is_nan());
            assert_eq!((max[1], min[1]), (2.0, 0.0));
            assert_eq!(zmax, [num_complex::Complex::new(1.0, 2.0), num_complex::Complex::new(0.0, 0.0)]);
        }
    }

    /// `reduce` with a closure combines in `all_reduce`'s fixed order, to
    /// every root.
    #[test]
    fn reduce_to_a_root_in_the_fixed_order() {
        for size in 1..=9 {
            let results = on_group(size, |c| {
                let order = c.all_reduce(c.rank().to_string(), |a, b| format!("({a}{b})"))?;
                let at_roots = (0..c.size())
                    .map(|root| c.reduce(root, c.rank().to_string(), |a, b| format!("({a}{b})")))
                    .collect::<Result<Vec<_>>>()?;
                Ok((order, at_roots))
            });
            for (rank, r) in results.into_iter().enumerate() {
                let (order, at_roots) = r.unwrap();
                for (root, got) in at_roots.into_iter().enumerate() {
                    assert_eq!(got, (root == rank).then(|| order.clone()), "size {size}, root {root}");
                }
            }
        }
    }

    /// Gather, scatter, all-gather, broadcast and all-to-all of typed
    /// slices, for 1 to 9 members and every root, against what each rank
    /// sent.
    #[test]
    fn typed_collectives() {
        // Rank `r` sends `r % 3` elements `100 * r + k` (none from some ranks).
        fn part(r: usize) -> Vec<u32> {
            (0..r % 3).map(|k| (100 * r + k) as u32).collect()
        }
        for size in 1..=9 {
            let results = on_group(size, |c| {
                let (me, n) = (c.rank(), c.size());
                for root in 0..n {
                    let gathered = c.gather(root, &part(me))?;
                    assert_eq!(gathered, (me == root).then(|| (0..n).map(part).collect::<Vec<_>>()));
                    let mut into = vec![0u16; if me == root { 2 * n } else { 0 }];
                    c.gather_into(root, &[me as u16, 7], &mut into)?;
                    if me == root {
                        assert_eq!(into, (0..n).flat_map(|r| [r as u16, 7]).collect::<Vec<_>>());
                    }
                    let parts: Vec<Vec<u32>> = if me == root { (0..n).map(part).collect() } else { Vec::new() };
                    assert_eq!(c.scatter(root, &parts)?, part(me));
                    let send: Vec<i8> = if me == root { (0..2 * n as i8).collect() } else { Vec::new() };
                    let mut recv = [0i8; 2];
                    c.scatter_into(root, &send, &mut recv)?;
                    assert_eq!(recv, [2 * me as i8, 2 * me as i8 + 1]);
                    let mut buffer = if me == root { [root as f32, 0.5] } else { [0.0; 2] };
                    c.broadcast_into(root, &mut buffer)?;
                    assert_eq!(buffer, [root as f32, 0.5]);
                }
                let mut all = vec![0u64; 2 * n];
                c.all_gather_into(&[me as u64, 1], &mut all)?;
                assert_eq!(all, (0..n).flat_map(|r| [r as u64, 1]).collect::<Vec<_>>());
                // Chunk `j` of rank `i` is `[10 i + j, -1]`.
                let send: Vec<i32> = (0..n).flat_map(|j| [(10 * me + j) as i32, -1]).collect();
                let want: Vec<i32> = (0..n).flat_map(|i| [(10 * i + me) as i32, -1]).collect();
                assert_eq!(c.all_to_all(&send)?, want);
                let mut recv = vec![0; 2 * n];
                c.all_to_all_into(&send, &mut recv)?;
                assert_eq!(recv, want);
                // Rank `i` sends `(i + j) % 3` copies of `10 i + j` to rank `j`.
                let counts: Vec<usize> = (0..n).map(|j| (me + j) % 3).collect();
                let send: Vec<i64> = (0..n).flat_map(|j| vec![(10 * me + j) as i64; counts[j]]).collect();
                let from: Vec<usize> = (0..n).map(|i| (i + me) % 3).collect();
                let want: Vec<i64> = (0..n).flat_map(|i| vec![(10 * i + me) as i64; from[i]]).collect();
                assert_eq!(c.all_to_all_v(&send, &counts)?, (want.clone(), from.clone()));
                let mut recv = vec![0; want.len()];
                c.all_to_all_v_into(&send, &counts, &mut recv, &from)?;
                assert_eq!(recv, want);
                // Wrong lengths fail before any message.
                assert_eq!(
                    c.all_to_all(&[0u8; 1]).map(drop).map_err(|e| e.kind()),
                    if n == 1 { Ok(()) } else { Err(ErrorKind::InvalidShape) }
                );
                assert_eq!(c.gather(n, &[0u8]).unwrap_err().kind(), ErrorKind::InvalidArgument);
                Ok(())
            });
            assert!(results.into_iter().all(|r| r.is_ok()), "size {size}");
        }
    }

    /// Point-to-point messages around a ring, blocking and not, in order,
    /// and to oneself, for 1 to 9 members.
    #[test]
    fn point_to_point() {
        for size in 1..=9 {
            let results = on_group(size, |c| {
                let (me, n) = (c.rank(), c.size());
                let (next, prev) = ((me + 1) % n, (me + n - 1) % n);
                let got: Vec<u64> = c.send_receive(&[me as u64; 3], next, prev)?;
                assert_eq!(got, vec![prev as u64; 3]);
                let mut into = [0u64; 3];
                c.send_receive_into(&[me as u64 + 1; 3], prev, &mut into, next)?;
                assert_eq!(into, [next as u64 + 1; 3]);
                // Three messages each way, posted before any is waited for.
                let sends =
                    (0..3).map(|k| c.immediate_send(next, &[k as i16, me as i16])).collect::<Result<Vec<_>>>()?;
                let receives: Vec<_> = (0..3).map(|_| c.immediate_receive::<i16>(prev)).collect();
                assert!(receives.iter().all(|r| r.source() == prev));
                for (k, r) in receives.into_iter().enumerate() {
                    assert_eq!(r.wait()?, vec![k as i16, prev as i16]);
                }
                sends.into_iter().try_for_each(SendRequest::wait)?;
                c.send(me, &[true, false])?;
                assert_eq!(c.receive::<bool>(me)?, vec![true, false]);
                c.send(next, &[1.5f32])?;
                let mut one = [0.0f32];
                c.receive_into(prev, &mut one)?;
                assert_eq!(one, [1.5]);
                // A message of another length than the buffer.
                c.send(next, &[1u8, 2])?;
                assert_eq!(c.receive_into(prev, &mut [0u8; 3]).unwrap_err().kind(), ErrorKind::InvalidShape);
                assert_eq!(c.send(n, &[0u8]).unwrap_err().kind(), ErrorKind::InvalidArgument);
                Ok(())
            });
            assert!(results.into_iter().all(|r| r.is_ok()), "size {size}");
        }
    }

    /// Tagged messages: apart from the untagged ones and from each other
    /// (received in another order than sent, across tags), in order within
    /// a tag, to oneself too; the buffers come back for the next sends; a
    /// member that aborts unblocks a tagged receive from it.
    #[test]
    fn tagged_messages_stay_apart() {
        for size in 1..=5 {
            let results = on_group(size, |c| {
                let (me, n) = (c.rank(), c.size());
                let (next, prev) = ((me + 1) % n, (me + n - 1) % n);
                for tag in [7u16, 9] {
                    for k in 0..2u8 {
                        c.send_tagged(next, tag, 3, &mut |b| b.copy_from_slice(&[tag as u8, k, me as u8]))?;
                    }
                }
                c.send(next, &[42u8])?;
                // The untagged message first, then tag 9 before tag 7.
                assert_eq!(c.receive::<u8>(prev)?, vec![42]);
                for tag in [9u16, 7] {
                    for k in 0..2u8 {
                        c.receive_tagged(prev, tag, &mut |b| {
                            assert_eq!(b, [tag as u8, k, prev as u8]);
                            Ok(())
                        })?;
                    }
                }
                c.complete_tagged(7)?;
                // A read that fails reports it.
                c.send_tagged(me, 3, 1, &mut |b| b[0] = 1)?;
                let e = c.receive_tagged(me, 3, &mut |_| Err(crate::core::error::err!(Protocol, "bad"))).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::Protocol);
                // Four received; the message to itself took one and gave it back.
                assert_eq!(c.spare.lock().unwrap().len(), 4, "the received buffers are kept");
                assert!(c.send_tagged(n, 3, 1, &mut |_| {}).is_err());
                Ok(())
            });
            assert!(results.into_iter().all(|r| r.is_ok()), "size {size}");
        }
        let results = on_group(3, |c| {
            if c.rank() == 2 {
                return Err(crate::core::error::err!(InvalidArgument, "the last rank gives up"));
            }
            c.receive_tagged(2, 1, &mut |_| Ok(()))
        });
        for r in &results[..2] {
            assert!(r.as_ref().unwrap_err().to_string().contains("left the collective"));
        }
    }

    /// One member (the last) fails before joining: the others' calls return
    /// instead of waiting, and those that need its data return `Err`, for
    /// each collective and a receive from it, for 2 to 9 members.
    #[test]
    fn a_member_that_fails_first_unblocks_the_others() {
        type Call = fn(&ThreadComm) -> Result<()>;
        // Each call, and whether every member fails (else only rank 0, the
        // root of a reduction that others may finish by sending).
        let calls: [(&str, bool, Call); 11] = [
            ("all_reduce_into", true, |c| c.all_reduce_into(&[1i32], &mut [0], Op::Sum)),
            ("all_reduce", true, |c| c.all_reduce(1u8, |a, b| a + b).map(drop)),
            ("reduce_into", false, |c| c.reduce_into(0, &[1.0f64], &mut [0.0], Op::Max)),
            ("reduce", false, |c| c.reduce(0, 1u8, |a, b| a + b).map(drop)),
            ("gather", false, |c| c.gather(0, &[1u8]).map(drop)),
            ("all_gather_into", true, |c| c.all_gather_into(&[1u8], &mut vec![0; c.size()])),
            ("scatter from it", true, |c| c.scatter::<u8>(c.size() - 1, &[]).map(drop)),
            ("broadcast_into from it", true, |c| c.broadcast_into(c.size() - 1, &mut [1u8])),
            ("all_to_all", true, |c| c.all_to_all(&vec![1u8; c.size()]).map(drop)),
            ("all_to_all_v", true, |c| c.all_to_all_v(&vec![1u8; c.size()], &vec![1; c.size()]).map(drop)),
            ("receive from it", true, |c| c.receive::<u8>(c.size() - 1).map(drop)),
        ];
        for (name, everyone, call) in calls {
            for size in 2..=9 {
                let results = on_group(size, move |c| {
                    if c.rank() + 1 == c.size() {
                        return Err(crate::core::error::err!(InvalidArgument, "the last rank gives up"));
                    }
                    call(c)
                });
                for (rank, r) in results.into_iter().enumerate() {
                    if rank + 1 == size || (rank > 0 && !everyone) {
                        continue;
                    }
                    let e = r.expect_err(&format!("{name} of {size}: rank {rank} should fail"));
                    assert_eq!(e.kind(), ErrorKind::Engine, "{name} of {size}, rank {rank}: {e}");
                    assert!(e.to_string().contains("left the collective"), "{e}");
                }
            }
        }
    }

    /// Whole-array reductions merge partials in the all-reduce's order on
    /// both of their paths: a gather to one member and the binomial tree.
    #[test]
    fn merge_to_one_in_the_all_reduce_order_on_both_paths() {
        for size in 1..=9 {
            for direct_max in [0, 64] {
                let results = on_group(size, move |c| {
                    let order = c.all_reduce(c.rank().to_string(), |a, b| format!("({a}{b})"))?;
                    let merged = crate::reduce::engine::merge_to_one(c, c.rank().to_string(), direct_max, |a, b| {
                        *a = format!("({a}{b})")
                    })?;
                    Ok((order, merged))
                });
                let results: Vec<(String, Option<String>)> = results.into_iter().map(Result::unwrap).collect();
                // Exactly one member holds the result (on the direct path, the
                // last to arrive; on the tree, rank 0), in all_reduce's order.
                let holders: Vec<&String> = results.iter().filter_map(|(_, m)| m.as_ref()).collect();
                assert_eq!(holders, vec![&results[0].0], "size {size}, direct {direct_max}");
                assert!(direct_max > 0 || results[0].1.is_some(), "the tree ends on rank 0");
            }
        }
    }

    /// Rank `i` sends `(i + j) % 3` bytes (odd, and zero for some pairs) of
    /// value `10 * i + j` to rank `j`; rank 2 sends nothing at all.
    fn v_counts(i: usize) -> Vec<usize> {
        (0..4).map(|j| if i == 2 { 0 } else { (i + j) % 3 * (1 + i) }).collect()
    }

    /// The range of rank `j`'s part among parts of `counts` in rank order.
    fn displs_in(counts: &[usize], j: usize) -> Range<usize> {
        let at = counts[..j].iter().sum::<usize>();
        at..at + counts[j]
    }

    /// A communicator with only the required methods, for the default
    /// `all_to_all_v_bytes`.
    struct Plain(ThreadComm);

    impl Comm for Plain {
        fn rank(&self) -> usize {
            self.0.rank()
        }
        fn size(&self) -> usize {
            self.0.size()
        }
        fn all_gather_bytes(&self, send: &[u8]) -> Result<Vec<Vec<u8>>> {
            self.0.all_gather_bytes(send)
        }
        fn all_to_all_bytes(&self, send: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>> {
            self.0.all_to_all_bytes(send)
        }
    }

    /// The one-buffer all-to-all, by `ThreadComm` and by the default
    /// implementation.
    #[test]
    fn thread_comm_all_to_all_v() {
        check_all_to_all_v(|c| Box::new(c));
        check_all_to_all_v(|c| Box::new(Plain(c)));
    }

    fn check_all_to_all_v(wrap: fn(ThreadComm) -> Box<dyn Comm>) {
        let handles: Vec<_> = ThreadComm::group(4)
            .into_iter()
            .map(wrap)
            .map(|c| {
                std::thread::spawn(move || {
                    let me = c.rank();
                    let counts = v_counts(me);
                    let send: Vec<u8> = counts
                        .iter()
                        .enumerate()
                        .flat_map(|(j, &n)| std::iter::repeat_n((10 * me + j) as u8, n))
                        .collect();
                    let got = c.all_to_all_v_bytes(send.clone(), &counts).unwrap();
                    // The same parts, shared, and straight into a buffer in
                    // reverse rank order.
                    let parts = c.all_to_all_v_parts(send.clone(), &counts).unwrap();
                    assert_eq!(parts.counts(), got.1);
                    let joined: Vec<u8> = (0..4).flat_map(|j| parts.part(j).to_vec()).collect();
                    assert_eq!(joined, got.0);
                    c.release(parts).unwrap();
                    let want: Vec<usize> = (0..4).map(|i| v_counts(i)[me]).collect();
                    let total: usize = want.iter().sum();
                    let displs: Vec<usize> = (0..4).map(|j| want[j + 1..].iter().sum()).collect();
                    let mut into = vec![std::mem::MaybeUninit::new(0u8); total];
                    assert_eq!(
                        c.all_to_all_v_bytes_into(send.clone(), &counts, &mut into, &want, &displs).unwrap(),
                        want
                    );
                    let into: Vec<u8> = into.iter().map(|b| unsafe { b.assume_init() }).collect();
                    let reversed: Vec<u8> = (0..4).rev().flat_map(|j| got.0[displs_in(&want, j)].to_vec()).collect();
                    assert_eq!(into, reversed);
                    // Other counts than expected: nothing written, the counts returned.
                    let mut short = vec![std::mem::MaybeUninit::new(7u8); total + 1];
                    let other: Vec<usize> = (0..4).map(|j| want[j] + usize::from(j == 0)).collect();
                    let zeros = vec![0; 4];
                    assert_eq!(c.all_to_all_v_bytes_into(send, &counts, &mut short, &other, &zeros).unwrap(), want);
                    assert!(short.iter().all(|b| unsafe { b.assume_init() } == 7));
                    // Mismatched counts fail before any message is sent.
                    assert!(c.all_to_all_v_bytes(vec![0; 3], &[1, 1, 0, 0]).is_err());
                    assert!(c.all_to_all_v_bytes(vec![], &[0, 0]).is_err());
                    (me, got)
                })
            })
            .collect();
        for h in handles {
            let (me, (bytes, counts)) = h.join().unwrap();
            let want_counts: Vec<usize> = (0..4).map(|i| v_counts(i)[me]).collect();
            let want: Vec<u8> = want_counts
                .iter()
                .enumerate()
                .flat_map(|(i, &n)| std::iter::repeat_n((10 * i + me) as u8, n))
                .collect();
            assert_eq!(counts, want_counts);
            assert_eq!(bytes, want);
            assert_eq!(bytes.capacity(), bytes.len());
        }
    }
}
