//! The thread engines' communicator: one FIFO channel per ordered pair of
//! members.

use std::ops::Range;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;

use crate::core::alloc::Side;
use crate::core::error::{err, Result};
use crate::engine::comm::{aborted_by, check_counts, collective_timeout, timed_out, Comm, Received};
use crate::engine::pool;

/// A thread engine's end of a shared-memory communicator: one FIFO channel per
/// ordered pair of members, so collectives stay matched as long as every member
/// calls them in the same order.
pub(crate) struct ThreadComm {
    rank: usize,
    to: Vec<Sender<Packet>>,
    from: Vec<Receiver<Packet>>,
}

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
        senders.into_iter().zip(receivers).enumerate().map(|(rank, (to, from))| ThreadComm { rank, to, from }).collect()
    }

    fn check_rank(&self, rank: usize) -> Result<()> {
        if rank >= self.to.len() {
            return Err(err!(InvalidArgument, "there is no rank {rank} in a communicator of {}", self.to.len()));
        }
        Ok(())
    }

    fn send(&self, to: usize, bytes: Vec<u8>) -> Result<()> {
        self.to[to].send(Packet::Data(bytes)).map_err(|_| err!(Backend, "engine rank {to} has stopped"))
    }

    fn recv(&self, from: usize) -> Result<Vec<u8>> {
        match self.recv_packet(from)? {
            Packet::Data(bytes) => Ok(bytes),
            _ => Err(err!(Protocol, "engine rank {from} sent a shared buffer where bytes were expected")),
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
            self.send(to, Side::Engine.copy(send)?)?;
        }
        (0..self.size()).map(|from| self.recv(from)).collect()
    }

    fn all_to_all_bytes(&self, send: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>> {
        if send.len() != self.size() {
            return Err(err!(InvalidShape, "all_to_all needs {} buffers, got {}", self.size(), send.len()));
        }
        for (to, bytes) in send.into_iter().enumerate() {
            self.send(to, bytes)?;
        }
        (0..self.size()).map(|from| self.recv(from)).collect()
    }

    fn all_to_all_v_bytes(&self, send: Vec<u8>, send_counts: &[usize]) -> Result<(Vec<u8>, Vec<usize>)> {
        check_counts(self.size(), send.len(), send_counts)?;
        // Every member reads its part straight from the one shared buffer: a
        // single copy per byte, into the receiver's buffer.
        let send = Arc::new(send);
        let mut at = 0;
        for (to, &c) in send_counts.iter().enumerate() {
            let packet = Packet::Shared(Arc::clone(&send), at..at + c);
            self.to[to].send(packet).map_err(|_| err!(Backend, "engine rank {to} has stopped"))?;
            at += c;
        }
        drop(send);
        let parts = (0..self.size())
            .map(|from| match self.recv_packet(from)? {
                Packet::Shared(buf, range) => Ok((buf, range)),
                _ => Err(err!(Protocol, "engine rank {from} sent bytes where a shared buffer was expected")),
            })
            .collect::<Result<Vec<_>>>()?;
        let counts: Vec<usize> = parts.iter().map(|(_, r)| r.len()).collect();
        let mut out = Side::Engine.vec(counts.iter().sum())?;
        for (buf, range) in parts {
            out.extend_from_slice(&buf[range]);
        }
        Ok((out, counts))
    }

    fn send_bytes(&self, to: usize, bytes: Vec<u8>) -> Result<()> {
        self.check_rank(to)?;
        self.send(to, bytes)
    }

    fn receive_bytes(&self, from: usize) -> Result<Vec<u8>> {
        self.check_rank(from)?;
        self.recv(from)
    }

    fn all_to_all_v_parts(&self, send: Vec<u8>, send_counts: &[usize]) -> Result<Received> {
        check_counts(self.size(), send.len(), send_counts)?;
        // Every member reads its part straight from the sender's buffer: no
        // copy here at all. The sender keeps its own reference until the
        // caller lets the parts go, so that the last member done with the
        // buffer (whichever) can keep it in its pool.
        let send = Arc::new(send);
        let mut at = 0;
        for (to, &c) in send_counts.iter().enumerate() {
            let packet = Packet::Shared(Arc::clone(&send), at..at + c);
            self.to[to].send(packet).map_err(|_| err!(Backend, "engine rank {to} has stopped"))?;
            at += c;
        }
        let parts = (0..self.size())
            .map(|from| match self.recv_packet(from)? {
                Packet::Shared(buf, range) => Ok((buf, range)),
                _ => Err(err!(Protocol, "engine rank {from} sent bytes where a shared buffer was expected")),
            })
            .collect::<Result<Vec<_>>>()?;
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

    fn abort(&self, reason: &str) {
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
    use crate::engine::comm::Collectives;

    #[test]
    fn thread_comm_collectives() {
        let handles: Vec<_> = ThreadComm::group(3)
            .into_iter()
            .map(|c| {
                std::thread::spawn(move || {
                    let gathered: Vec<usize> = c.all_gather(&(c.rank() * 10)).unwrap();
                    let sent = (0..3).map(|j| vec![c.rank() as u8, j as u8]).collect();
                    let got = c.all_to_all_bytes(sent).unwrap();
                    c.barrier().unwrap();
                    (c.rank(), gathered, got)
                })
            })
            .collect();
        for h in handles {
            let (rank, gathered, got) = h.join().unwrap();
            assert_eq!(gathered, vec![0, 10, 20]);
            assert_eq!(got, (0..3).map(|i| vec![i as u8, rank as u8]).collect::<Vec<_>>());
        }
    }

    /// The pairwise combination of ranks `0..size`, as the tree collectives
    /// promise it: `((01)(23))` for 4.
    fn pairwise(size: usize) -> String {
        let mut level: Vec<String> = (0..size).map(|r| r.to_string()).collect();
        while level.len() > 1 {
            level = level
                .chunks(2)
                .map(|p| if p.len() == 2 { format!("({}{})", p[0], p[1]) } else { p[0].clone() })
                .collect();
        }
        level.pop().unwrap()
    }

    /// Broadcasts from every root and all-reduces for 1 to 9 members: each
    /// gets the root's value, and the reduction's order is the pairwise tree
    /// the docs promise, the same on every member.
    #[test]
    fn tree_collectives() {
        for size in 1..=9 {
            let handles: Vec<_> = ThreadComm::group(size)
                .into_iter()
                .map(|c| {
                    std::thread::spawn(move || {
                        let roots: Vec<usize> =
                            (0..c.size()).map(|root| c.broadcast(root, &(100 + c.rank())).unwrap()).collect();
                        let order = c.all_reduce(c.rank().to_string(), |a, b| format!("({a}{b})")).unwrap();
                        (roots, order)
                    })
                })
                .collect();
            for h in handles {
                let (roots, order) = h.join().unwrap();
                assert_eq!(roots, (0..size).map(|r| 100 + r).collect::<Vec<_>>(), "size {size}");
                assert_eq!(order, pairwise(size), "size {size}");
            }
        }
    }

    /// Whole-array reductions merge partials in the all-reduce's order on
    /// both of their paths: direct sends to rank 0 and the binomial tree.
    #[test]
    fn merge_to_root_in_the_tree_order_on_both_paths() {
        for size in 1..=9 {
            for direct_max in [0, 64] {
                let handles: Vec<_> = ThreadComm::group(size)
                    .into_iter()
                    .map(|c| {
                        std::thread::spawn(move || {
                            crate::reduce::engine::merge_to_root(&c, c.rank().to_string(), direct_max, |a, b| {
                                *a = format!("({a}{b})")
                            })
                            .unwrap()
                        })
                    })
                    .collect();
                let results: Vec<Option<String>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
                assert_eq!(results[0].as_deref(), Some(pairwise(size).as_str()), "size {size}, direct {direct_max}");
                assert!(results[1..].iter().all(Option::is_none), "size {size}: only rank 0 holds the result");
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
                        .flat_map(|(j, &n)| std::iter::repeat((10 * me + j) as u8).take(n))
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
                    assert_eq!(c.all_to_all_v_into(send.clone(), &counts, &mut into, &want, &displs).unwrap(), want);
                    let into: Vec<u8> = into.iter().map(|b| unsafe { b.assume_init() }).collect();
                    let reversed: Vec<u8> = (0..4).rev().flat_map(|j| got.0[displs_in(&want, j)].to_vec()).collect();
                    assert_eq!(into, reversed);
                    // Other counts than expected: nothing written, the counts returned.
                    let mut short = vec![std::mem::MaybeUninit::new(7u8); total + 1];
                    let other: Vec<usize> = (0..4).map(|j| want[j] + usize::from(j == 0)).collect();
                    let zeros = vec![0; 4];
                    assert_eq!(c.all_to_all_v_into(send, &counts, &mut short, &other, &zeros).unwrap(), want);
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
                .flat_map(|(i, &n)| std::iter::repeat((10 * i + me) as u8).take(n))
                .collect();
            assert_eq!(counts, want_counts);
            assert_eq!(bytes, want);
            assert_eq!(bytes.capacity(), bytes.len());
        }
    }
}
