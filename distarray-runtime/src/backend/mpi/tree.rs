//! Commands and answers through a tree of engines, from [`tree_min`] engines
//! on (`DISTARRAY_TREE_MIN`, default 32): the client sends each command once, to engine 0, and each engine
//! forwards it to the children of the binomial tree over engine ids whose
//! subtrees hold a target, before running it itself; every engine has one
//! parent, so each sees its commands in the client's order. Answers come back
//! up the same tree, merged: runs of engines with the same reply and the same
//! small data (a scalar) travel as one entry, so the acknowledgements of P
//! engines are one message of a few bytes for the client. Bulk data
//! (payloads, response data over [`INLINE_DATA`]) goes straight between the
//! client and each engine, once.

use std::ops::Range;

use crate::core::error::{bail, Result};

/// Engines from which commands go through the tree by default: below, the
/// client's direct messages cost less than the tree's hops (a hop is a
/// scheduling of the next rank, which on an oversubscribed machine is slow:
/// on 2 cores, `sync()` on 8 engines took 145 µs by the tree and on 16
/// 420 µs, where direct messages took 144 µs on 16).
const DEFAULT_TREE_MIN: usize = 32;

/// Engines from which commands go through the tree: `DISTARRAY_TREE_MIN`,
/// default [`DEFAULT_TREE_MIN`]; read once (every rank reads the same).
pub(super) fn tree_min() -> usize {
    static MIN: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *MIN.get_or_init(|| match std::env::var("DISTARRAY_TREE_MIN") {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| {
            eprintln!("distarray: ignoring DISTARRAY_TREE_MIN={v:?}: not an engine count");
            DEFAULT_TREE_MIN
        }),
        Err(_) => DEFAULT_TREE_MIN,
    })
}

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
    engine >= root && (engine - root).is_multiple_of(span)
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

/// Response data up to this many bytes (a kernel's scalar, a count) travels
/// up the tree with its reply; more goes straight to the client.
pub(super) const INLINE_DATA: usize = 1024;

/// One run of engines with the same answer.
#[derive(Debug, PartialEq)]
pub(super) struct Run {
    pub engines: Range<usize>,
    /// The reply.
    pub reply: Vec<u8>,
    /// Small response data, carried along.
    pub data: Vec<u8>,
    /// Whether large data comes straight from the engine (runs of one).
    pub direct: bool,
}

/// The answers of a subtree: runs of consecutive engines with one reply and
/// one small datum; an engine whose data goes straight to the client has a
/// run of its own.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Answers(pub Vec<Run>);

impl Answers {
    /// Adds `engine`'s answer: `data` carried along if small, else announced
    /// (the engine sends it itself, see [`INLINE_DATA`]).
    pub(super) fn push(&mut self, engine: usize, reply: Vec<u8>, data: &[u8]) {
        let direct = data.len() > INLINE_DATA;
        let data = if direct { Vec::new() } else { data.to_vec() };
        self.0.push(Run { engines: engine..engine + 1, reply, data, direct });
    }

    /// Adds a child subtree's answers.
    pub(super) fn extend(&mut self, other: Answers) {
        self.0.extend(other.0);
    }

    /// Sorted by engine, equal neighbours merged.
    pub(super) fn merged(mut self) -> Answers {
        self.0.sort_by_key(|r| r.engines.start);
        let mut out: Vec<Run> = Vec::with_capacity(self.0.len());
        for run in self.0 {
            match out.last_mut() {
                Some(last)
                    if !last.direct
                        && !run.direct
                        && last.engines.end == run.engines.start
                        && last.reply == run.reply
                        && last.data == run.data =>
                {
                    last.engines.end = run.engines.end;
                }
                _ => out.push(run),
            }
        }
        Answers(out)
    }

    pub(super) fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&(self.0.len() as u32).to_le_bytes());
        for run in &self.0 {
            let fields = [run.engines.start, run.engines.end, run.direct as usize, run.reply.len(), run.data.len()];
            for v in fields {
                bytes.extend_from_slice(&(v as u32).to_le_bytes());
            }
            bytes.extend_from_slice(&run.reply);
            bytes.extend_from_slice(&run.data);
        }
        bytes
    }

    pub(super) fn decode(bytes: &[u8]) -> Result<Answers> {
        let count = u32_at(bytes, 0)? as usize;
        let mut at = 4;
        let mut runs = Vec::with_capacity(count.min(bytes.len()));
        for _ in 0..count {
            let field = |i: usize| u32_at(bytes, at + 4 * i).map(|v| v as usize);
            let (start, end, direct, reply_len, data_len) =
                (field(0)?, field(1)?, field(2)? != 0, field(3)?, field(4)?);
            at += 20;
            let (Some(reply), Some(data)) =
                (bytes.get(at..at + reply_len), bytes.get(at + reply_len..at + reply_len + data_len))
            else {
                bail!(Protocol, "an answer cut short")
            };
            at += reply_len + data_len;
            runs.push(Run { engines: start..end, reply: reply.to_vec(), data: data.to_vec(), direct });
        }
        Ok(Answers(runs))
    }

    /// `engine`'s run.
    pub(super) fn of(&self, engine: usize) -> Option<&Run> {
        self.0.iter().find(|r| r.engines.contains(&engine))
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
            a.push(e, b"done".to_vec(), b"1.5");
        }
        a.push(4, b"done".to_vec(), &[7; INLINE_DATA + 1]);
        a.push(6, b"done".to_vec(), b"2.5");
        let merged = a.merged();
        assert_eq!(merged.0.len(), 4, "{merged:?}");
        assert_eq!(
            merged.of(2).map(|r| (r.engines.clone(), r.direct, r.data.as_slice())),
            Some((0..4, false, &b"1.5"[..]))
        );
        assert!(merged.of(4).is_some_and(|r| r.direct && r.data.is_empty()));
        assert_eq!(merged.of(6).map(|r| r.data.as_slice()), Some(&b"2.5"[..]));
        assert_eq!(Answers::decode(&merged.encode()).unwrap(), merged);
        let head = Head::encode(1, true, &[4, 2, 7], b"cmd");
        let decoded = Head::decode(&head[1..]).unwrap();
        assert_eq!((decoded.payloads, decoded.targets, decoded.command), (true, vec![4, 2, 7], &b"cmd"[..]));
    }
}
