//! The thread engines' communicator: one FIFO channel per ordered pair of
//! members.

use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};

use crate::core::alloc::Side;
use crate::core::error::{err, Result};
use crate::engine::comm::{aborted_by, collective_timeout, timed_out, Comm};

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

    fn send(&self, to: usize, bytes: Vec<u8>) -> Result<()> {
        self.to[to].send(Packet::Data(bytes)).map_err(|_| err!(Backend, "engine rank {to} has stopped"))
    }

    fn recv(&self, from: usize) -> Result<Vec<u8>> {
        let timeout = collective_timeout();
        match self.from[from].recv_timeout(timeout) {
            Ok(Packet::Data(bytes)) => Ok(bytes),
            Ok(Packet::Abort(reason)) => Err(aborted_by(from, &reason)),
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
}
