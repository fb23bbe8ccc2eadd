//! Commands and answers through a tree of engines, from [`TREE_MIN`] engines
//! on: the client sends each command once, to engine 0, and each engine
//! forwards it to the children of the binomial tree over engine ids whose
//! subtrees hold a target, before running it itself; every engine has one
//! parent, so each sees its commands in the client's order. Answers come back
//! up the same tree, merged: runs of engines with the same reply and no data
//! travel as one entry, so the acknowledgements of P engines are one message
//! of a few bytes for the client. Bulk data (payloads, response data) goes
//! straight between the client and each engine, once.

use std::ops::Range;

use crate::core::error::{bail, Result};

/// Engines from which commands go through the tree: below, the client's
/// direct messages cost less than the tree's hops.
pub(super) const TREE_MIN: usize = 4;

/// The children of `engine` in the binomial tree over engines `0..engines`
/// rooted at 0: `engine + 2^k` for every `2^k` above its highest bit.
pub(super) fn children(engine: usize, engines: usize) -> impl Iterator<Item = usize> {
    let first = if engine == 0 { 1 } else { 2 << (usize::BITS - 1 - engine.leading_zeros()) };
    std::iter::successors(Some(first), |s: &usize| s.checked_mul(2))
        .map(move |s| engine + s)
        .take_while(move |&c| c < engines)
}

/// The parent of `engine > 0`: itself without its highest bit.
pub(super) fn parent(engine: usize) -> usize {
    engine - (1 << (usize::BITS - 1 - engine.leading_zeros()))
}

/// Whether `engine` is in the subtree of `root`: the subtree of `r > 0`
/// is `r` plus multiples of `2^bits(r)`; that of 0 is everything.
pub(super) fn in_subtree(root: usize, engine: usize) -> bool {
    if root == 0 {
        return true;
    }
    let span = 2usize << (usize::BITS - 1 - root.leading_zeros());
    engine >= root && (engine - root) % span == 0
}

/// A command's head as it travels down the tree, after the kind byte (which
/// says whether the client waits): whether every target gets a payload
/// straight from the client, the targets in order, then the encoded command.
pub(super) struct Head<'a> {
    pub payloads: bool,
    pub targets: Vec<usize>,
    pub command: &'a [u8],
}

impl<'a> Head<'a> {
    pub(super) fn encode(kind: u8, payloads: bool, targets: &[usize], command: &[u8]) -> Vec<u8> {
        let mut head = Vec::with_capacity(6 + 4 * targets.len() + command.len());
        head.push(kind);
        head.push(payloads as u8);
        head.extend_from_slice(&(targets.len() as u32).to_le_bytes());
        for &t in targets {
            head.extend_from_slice(&(t as u32).to_le_bytes());
        }
        head.extend_from_slice(command);
        head
    }

    /// The head of `bytes` past its kind byte.
    pub(super) fn decode(bytes: &'a [u8]) -> Result<Self> {
        let Some((&payloads, rest)) = bytes.split_first() else { bail!(Protocol, "an empty command head") };
        let count = u32_at(rest, 0)? as usize;
        let targets = (0..count).map(|i| u32_at(rest, 4 + 4 * i).map(|t| t as usize)).collect::<Result<Vec<_>>>()?;
        let command = rest.get(4 + 4 * count..).unwrap_or_default();
        Ok(Head { payloads: payloads != 0, targets, command })
    }
}

fn u32_at(bytes: &[u8], at: usize) -> Result<u32> {
    match bytes.get(at..at + 4) {
        Some(b) => Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        None => bail!(Protocol, "a command head cut short at byte {at}"),
    }
}

/// The answers of a subtree: runs of consecutive engines with one reply;
/// engines whose answer has data have runs of their own, flagged (the data
/// comes straight to the client).
#[derive(Debug, Default, PartialEq)]
pub(super) struct Answers(pub Vec<(Range<usize>, bool, Vec<u8>)>);

impl Answers {
    /// Adds `engine`'s reply.
    pub(super) fn push(&mut self, engine: usize, has_data: bool, reply: Vec<u8>) {
        self.0.push((engine..engine + 1, has_data, reply));
    }

    /// Adds a child subtree's answers.
    pub(super) fn extend(&mut self, other: Answers) {
        self.0.extend(other.0);
    }

    /// Sorted by engine, equal neighbours without data merged.
    pub(super) fn merged(mut self) -> Answers {
        self.0.sort_by_key(|(r, _, _)| r.start);
        let mut out: Vec<(Range<usize>, bool, Vec<u8>)> = Vec::with_capacity(self.0.len());
        for (range, has_data, reply) in self.0 {
            match out.last_mut() {
                Some((last, false, last_reply)) if !has_data && last.end == range.start && *last_reply == reply => {
                    last.end = range.end;
                }
                _ => out.push((range, has_data, reply)),
            }
        }
        Answers(out)
    }

    pub(super) fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&(self.0.len() as u32).to_le_bytes());
        for (range, has_data, reply) in &self.0 {
            for v in [range.start as u32, range.end as u32, *has_data as u32, reply.len() as u32] {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
            bytes.extend_from_slice(reply);
        }
        bytes
    }

    pub(super) fn decode(bytes: &[u8]) -> Result<Answers> {
        let count = u32_at(bytes, 0)? as usize;
        let mut at = 4;
        let mut runs = Vec::with_capacity(count.min(bytes.len()));
        for _ in 0..count {
            let field = |i: usize| u32_at(bytes, at + 4 * i).map(|v| v as usize);
            let (start, end, has_data, len) = (field(0)?, field(1)?, field(2)? != 0, field(3)?);
            at += 16;
            let Some(reply) = bytes.get(at..at + len) else { bail!(Protocol, "an answer cut short") };
            at += len;
            runs.push((start..end, has_data, reply.to_vec()));
        }
        Ok(Answers(runs))
    }

    /// `engine`'s reply and whether its data follows.
    pub(super) fn of(&self, engine: usize) -> Option<(&[u8], bool)> {
        self.0.iter().find(|(r, _, _)| r.contains(&engine)).map(|(_, d, reply)| (reply.as_slice(), *d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every engine has one parent, reached from 0, and its subtree is what
    /// `in_subtree` says.
    #[test]
    fn the_tree_spans_the_engines() {
        for engines in 1..40 {
            for e in 1..engines {
                let p = parent(e);
                assert!(children(p, engines).any(|c| c == e), "{e} under {p} of {engines}");
            }
            for root in 0..engines {
                let mut below = vec![root];
                let mut i = 0;
                while i < below.len() {
                    below.extend(children(below[i], engines));
                    i += 1;
                }
                for e in 0..engines {
                    assert_eq!(below.contains(&e), in_subtree(root, e), "{e} below {root} of {engines}");
                }
            }
        }
    }

    #[test]
    fn equal_answers_merge_into_one_run() {
        let mut a = Answers::default();
        for e in [3, 0, 2, 1, 5] {
            a.push(e, false, b"done".to_vec());
        }
        a.push(4, true, b"done".to_vec());
        let merged = a.merged();
        assert_eq!(merged.0.len(), 3);
        assert_eq!(merged.of(2), Some((&b"done"[..], false)));
        assert_eq!(merged.of(4), Some((&b"done"[..], true)));
        assert_eq!(Answers::decode(&merged.encode()).unwrap(), merged);
        let head = Head::encode(1, true, &[4, 2, 7], b"cmd");
        let decoded = Head::decode(&head[1..]).unwrap();
        assert_eq!((decoded.payloads, decoded.targets, decoded.command), (true, vec![4, 2, 7], &b"cmd"[..]));
    }
}
