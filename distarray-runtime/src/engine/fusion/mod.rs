//! Fusion: an engine defers pipelined elementwise kernel calls and runs a
//! chain of them as one pass over the data.
//!
//! An internal kernel whose every output element depends only on its input
//! elements at the same position (the ufuncs) registers a block form beside
//! its entry ([`register_blockwise!`]): a planner that names the arrays a
//! call reads and writes and returns a [`BlockStep`]. A call of such a kernel
//! that nobody waits for is queued instead of run, and deletions queue behind
//! it; any other command first runs the queue ([`Engine::flush`]).
//!
//! Consecutive queued calls over pieces of one length form a group. The group
//! moves its arrays out of the store and runs every call on elements
//! `[0, B)`, then `[B, 2B)`, … in call order. As each call reads only the
//! positions it writes, this gives what running the calls one after another
//! gives, bit for bit; but the intermediates of a chain stay in cache, and a
//! result deleted within the group (an operator's temporary) is never more
//! than one block. `&a * &b + &c` thus reads `a`, `b`, `c` once and writes
//! the result once, as a hand-written loop does.
//!
//! `DISTARRAY_FUSION=0` turns this off (every call then runs when it
//! arrives), to compare or to debug.

use rustc_hash::FxHashMap as HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::core::error::{err, Error, Result};
use crate::engine::running::panic_message;
use crate::engine::{pool, Engine};
use crate::protocol::{Command, EngineStats, KernelRequest};

mod block;

pub(crate) use block::{
    find_blockwise, register_blockwise, Block, BlockStep, BlockwiseEntry, CallArrays, SlotId, Target,
};
use block::{Buffer, PlanFn, Slot};

/// Elements per block: a few operands of 8-byte elements fit the L1 and L2
/// caches, and per-block overhead stays under 1% of the work.
const BLOCK: usize = 4096;

/// Queued calls beyond which the queue runs without waiting for a trigger
/// (bounds the queue of a program that never waits).
const MAX_QUEUED: usize = 64;

/// Whether fusion is on (`DISTARRAY_FUSION` is not `0`), read once.
fn enabled() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var("DISTARRAY_FUSION").map_or(true, |v| v.trim() != "0"))
}

/// A deferred command.
pub(crate) enum Queued {
    /// A blockwise kernel call, with its planner.
    Call(Box<KernelRequest>, PlanFn),
    /// Deletion of these keys.
    Delete(Vec<String>),
}

/// The calls of one group, planned, with the arrays they use.
#[derive(Default)]
struct Group {
    slots: Vec<Slot>,
    by_key: HashMap<String, usize>,
    steps: Vec<Box<dyn BlockStep>>,
    len: Option<usize>,
}

impl Group {
    /// Runs every step over every block. Allocates the results first: whole
    /// pieces, or one block for those deleted within the group.
    fn run(&mut self, stats: &mut EngineStats) -> Result<()> {
        let n = self.len.unwrap_or(0);
        for slot in &mut self.slots {
            if let Buffer::Made(made) = &mut slot.buffer {
                slot.scratch = slot.deleted;
                slot.made_bytes = made.allocate(if slot.scratch { BLOCK.min(n) } else { n })?;
                stats.hold(slot.made_bytes);
            }
        }
        let mut lo = 0;
        while lo < n {
            let hi = n.min(lo + BLOCK);
            for slot in &mut self.slots {
                if let (true, Buffer::Made(made)) = (slot.scratch, &mut slot.buffer) {
                    made.clear();
                }
            }
            let mut block = Block { slots: &mut self.slots, lo, hi };
            for step in &self.steps {
                step.run(&mut block)?;
            }
            lo = hi;
        }
        for slot in &self.slots {
            if let (false, Buffer::Made(made)) = (slot.scratch, &slot.buffer) {
                if made.len() != n {
                    return Err(err!(Engine, "a fused call wrote {} of {n} elements of {:?}", made.len(), slot.key));
                }
            }
        }
        Ok(())
    }
}

impl Engine {
    /// Queues `request` if it is a blockwise call nobody waits for; else
    /// gives it back.
    pub(crate) fn defer_call(&mut self, request: Box<KernelRequest>, answer: bool) -> Option<Box<KernelRequest>> {
        let plan = match (answer, find_blockwise(&request.name, request.dtype)) {
            (false, Some(plan)) if enabled() => plan,
            _ => return Some(request),
        };
        self.queued.push(Queued::Call(request, plan));
        if self.queued.len() >= MAX_QUEUED {
            self.flush();
        }
        None
    }

    /// Queues the deletion of `keys` behind queued calls; gives them back if
    /// nothing is queued.
    pub(crate) fn defer_delete(&mut self, keys: Vec<String>) -> Option<Vec<String>> {
        if self.queued.is_empty() {
            return Some(keys);
        }
        self.queued.push(Queued::Delete(keys));
        None
    }

    /// Runs the queued commands: groups of calls fused, deletions after the
    /// group that uses the keys. A failure is kept for the next answer, as
    /// for any command nobody waited for.
    pub(crate) fn flush(&mut self) {
        let mut group = Group::default();
        for queued in std::mem::take(&mut self.queued) {
            match queued {
                Queued::Delete(keys) => {
                    for key in keys {
                        match group.by_key.get(&key) {
                            Some(&slot) => {
                                // Its exchange in flight, if any, ends with it.
                                self.abandon_halo(&key);
                                group.slots[slot].deleted = true;
                            }
                            None => self.delete(&key),
                        }
                    }
                }
                Queued::Call(request, plan) => {
                    if self.plan_into(&mut group, &request, plan) {
                        continue;
                    }
                    // Does not fit this group: run it, and try a fresh one.
                    if !group.steps.is_empty() {
                        self.run_group(std::mem::take(&mut group));
                        if self.plan_into(&mut group, &request, plan) {
                            continue;
                        }
                    }
                    // Not fusable at all: run it on its own, as usual.
                    self.run_group(std::mem::take(&mut group));
                    if let Err(e) = self.run_kernel(request, false) {
                        self.keep_engine_failure(e);
                    }
                }
            }
        }
        self.run_group(group);
    }

    /// Plans `request` into `group`; whether it fits. If not, `group` is left
    /// as it was.
    fn plan_into(&mut self, group: &mut Group, request: &KernelRequest, plan: PlanFn) -> bool {
        let (slots_before, len_before) = (group.slots.len(), group.len);
        let mut operands = CallArrays {
            slots: &mut group.slots,
            by_key: &mut group.by_key,
            store: &mut self.store,
            stats: &mut self.stats,
            request,
            len: &mut group.len,
            next: 0,
            written: Vec::new(),
            read: Vec::new(),
        };
        match catch_unwind(AssertUnwindSafe(|| plan(&request.args, &mut operands))) {
            Ok(Some(step)) if operands.all_named() => {
                group.steps.push(step);
                return true;
            }
            _ => {}
        }
        for slot in group.slots.drain(slots_before..) {
            group.by_key.remove(&slot.key);
            if let Buffer::Stored(array) = slot.buffer {
                self.restore([(slot.key, array)]);
            }
        }
        group.len = len_before;
        false
    }

    /// Runs `group` and puts its arrays (back) into the store; deleted ones
    /// go to the pool.
    fn run_group(&mut self, mut group: Group) {
        let outcome = if group.steps.is_empty() {
            Ok(Ok(()))
        } else {
            self.stats.fused_calls += group.steps.len() as u64;
            self.stats.fused_passes += 1;
            let stats = &mut self.stats;
            catch_unwind(AssertUnwindSafe(|| group.run(stats)))
        };
        let failed = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(panic) => Some(err!(Engine, "a fused elementwise call panicked: {}", panic_message(&*panic))),
        };
        for slot in group.slots {
            self.stats.release(slot.made_bytes);
            match slot.buffer {
                Buffer::Stored(array) if slot.deleted => pool::recycle(array),
                Buffer::Stored(array) => self.restore([(slot.key, array)]),
                // Failed: the results were not made (as unrun calls make none).
                Buffer::Made(_) if slot.scratch || slot.deleted || failed.is_some() => {}
                Buffer::Made(made) => match made.into_stored(&slot.shape, slot.dim_data) {
                    Ok(array) => self.insert(slot.key, array),
                    Err(e) => self.keep_engine_failure(e),
                },
            }
        }
        if let Some(e) = failed {
            self.keep_engine_failure(e.context("fused elementwise calls"));
        }
    }

    /// Keeps `e`, of this engine, for the next answer (as `handle` does).
    fn keep_engine_failure(&mut self, e: Error) {
        let id = self.id();
        self.keep_failure(e.context(format_args!("engine {id}")));
    }

    /// Queues `command` if it can wait for the queue's next run; else gives
    /// it back, to run now.
    pub(crate) fn defer(&mut self, command: Command, answer: bool) -> Option<Command> {
        match command {
            Command::RunKernel(request) => self.defer_call(request, answer).map(Command::RunKernel),
            Command::Delete { key } if !answer => {
                self.defer_delete(vec![key]).map(|mut keys| Command::Delete { key: keys.remove(0) })
            }
            Command::DeleteMany { keys } if !answer => self.defer_delete(keys).map(|keys| Command::DeleteMany { keys }),
            command => Some(command),
        }
    }
}
