//! How commands reach thread engines and answers come back: one shared log
//! of commands, and one gathering of the answers per waited command.
//!
//! The client appends each command once to the log, whatever the number of
//! targets; each engine reads the log in order and takes the commands naming
//! it, so every engine sees its commands in the client's order. An engine
//! blocked for want of work is woken along a binomial tree over the
//! command's targets: the client wakes the first, each engine that takes the
//! command wakes its children (`ceil(log2 P)` steps; up to [`DIRECT_WAKE`]
//! targets the client wakes them all, which is faster for few engines).
//! Engines that are busy or spinning need no wake: they find the command when
//! they next look.
//!
//! Answers go into the command's [`Gather`], one slot per target; the engine
//! that fills the last slot flags the gathering complete and wakes the
//! client.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, TryLockError};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use crate::backend::{few_enough_to_poll, Response};
use crate::core::error::{bail, err, Result};
use crate::engine::Engine;
use crate::protocol::{encode_reply, Reply};

/// Up to this many targets the client wakes every one itself (measured on
/// this 2-core machine: below it, the tree's extra hops cost more than the
/// wakes they save).
pub(super) const DIRECT_WAKE: usize = 8;

/// How long a thread polls for the next message before it blocks, with few
/// engines: commands and answers come in bursts, and waking a blocked thread
/// costs more than most commands take — up to ~250 µs on a virtual machine
/// whose idle core the hypervisor must wake. Longer than that wake, so that
/// one slow wake leaves the threads polling for the next call: with a window
/// shorter than the wake (it was 50 µs), a loop of calls could settle into
/// blocking and waking on every call, 20-50 times slower (seen in the
/// latency bench).
const SPIN: Duration = Duration::from_millis(1);

/// The polling window with many more engines than cores, where polling
/// threads would take the cores from those with work.
const SPIN_CROWDED: Duration = Duration::from_micros(50);

/// The polling window in microseconds, set by [`set_engines`].
static SPIN_MICROS: AtomicU64 = AtomicU64::new(SPIN_CROWDED.as_micros() as u64);

/// Chooses the polling window for `engines` engine threads.
pub(super) fn set_engines(engines: usize) {
    let spin = if few_enough_to_poll(engines) { SPIN } else { SPIN_CROWDED };
    SPIN_MICROS.store(spin.as_micros() as u64, Ordering::Relaxed);
}

/// The polling window (see [`SPIN`]).
fn spin() -> Duration {
    Duration::from_micros(SPIN_MICROS.load(Ordering::Relaxed))
}

/// How long a parked engine sleeps before it looks again unwoken: a parent
/// busy with a long command wakes its children late.
const PARK: Duration = Duration::from_millis(1);

/// A value on cache lines of its own (128 bytes: x86 fetches lines in
/// pairs), so that a thread polling it does not take the line from threads
/// writing its neighbours (crossbeam's `CachePadded`, without the crate).
#[repr(align(128))]
struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Which engines a command goes to, with each engine's place among them.
pub(super) struct Route {
    targets: Vec<usize>,
    /// By engine id, its slot among the targets.
    slots: Vec<Option<usize>>,
}

impl Route {
    pub(super) fn new(targets: &[usize], engines: usize) -> Self {
        let mut slots = vec![None; engines];
        for (slot, &t) in targets.iter().enumerate() {
            slots[t] = Some(slot);
        }
        Route { targets: targets.to_vec(), slots }
    }

    /// Wakes the first target, or every target when there are few; not
    /// `inline`, whose share the client runs (and, from it, wakes its
    /// children in the tree).
    pub(super) fn wake_first(&self, log: &Log, inline: Option<usize>) {
        let wake = |t: usize| {
            if Some(t) != inline {
                log.wake(t);
            }
        };
        if self.targets.len() <= DIRECT_WAKE {
            self.targets.iter().copied().for_each(wake);
        } else if let Some(&first) = self.targets.first() {
            wake(first);
        }
    }

    /// Wakes the children of `slot` in the binomial tree over the slots (see
    /// `Collectives::broadcast`), when the client did not wake them all.
    pub(super) fn wake_children(&self, slot: usize, log: &Log) {
        let n = self.targets.len();
        if n <= DIRECT_WAKE {
            return;
        }
        let above = if slot == 0 { 1 } else { 2 << (usize::BITS - 1 - slot.leading_zeros()) };
        let mut step = above;
        while slot + step < n {
            log.wake(self.targets[slot + step]);
            step *= 2;
        }
    }
}

/// One command on its way to its targets.
pub(super) struct Entry {
    pub command: Vec<u8>,
    /// Each target's payload, taken by it; none for most commands.
    pub payloads: Vec<Mutex<Vec<u8>>>,
    /// Where the answers go, if the client waits.
    pub gather: Option<Gather>,
    /// Targets yet to take it; at 0 the log drops it.
    pub remaining: AtomicUsize,
    pub route: Arc<Route>,
}

/// The answers to one waited command, by slot.
// In field order: `complete` lies 128 bytes past what engines write. (Not
// `Padded`: an over-aligned `Entry` takes glibc's slow aligned allocation.)
#[repr(C)]
pub(super) struct Gather {
    responses: Mutex<Vec<Option<Response>>>,
    missing: AtomicUsize,
    /// The slots of targets that stopped before answering.
    stopped: Mutex<Vec<usize>>,
    client: Thread,
    _apart: [u8; 128],
    /// Set when the last answer is in: what the client polls (one atomic
    /// load, where a channel's receive costs several), then is unparked by.
    complete: AtomicBool,
}

impl Gather {
    /// The gathering of `targets` answers for the calling (client) thread.
    pub(super) fn new(targets: usize) -> Self {
        Gather {
            responses: Mutex::new((0..targets).map(|_| None).collect()),
            missing: AtomicUsize::new(targets),
            stopped: Mutex::default(),
            _apart: [0; 128],
            complete: AtomicBool::new(false),
            client: thread::current(),
        }
    }

    /// The slots whose engines stopped before answering.
    pub(super) fn stopped(&self) -> Vec<usize> {
        self.stopped.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Puts `slot`'s answer; the last one wakes the client.
    pub(super) fn put(&self, slot: usize, response: Response) {
        {
            let mut responses = self.responses.lock().unwrap_or_else(PoisonError::into_inner);
            if responses[slot].is_some() {
                return;
            }
            responses[slot] = Some(response);
            if self.missing.fetch_sub(1, Ordering::AcqRel) != 1 {
                return;
            }
        }
        self.complete.store(true, Ordering::Release);
        self.client.unpark();
    }

    /// Every answer, in slot order, once all are in: polled (yielding the
    /// core) for up to [`spin`], then parked for, up to `timeout` in all if
    /// there is one (`None` then).
    pub(super) fn wait(&self, timeout: Option<Duration>) -> Option<Vec<Response>> {
        let start = Instant::now();
        while !self.complete.load(Ordering::Acquire) {
            let elapsed = start.elapsed();
            match timeout.map(|t| t.saturating_sub(elapsed)) {
                Some(Duration::ZERO) => return None,
                _ if elapsed < spin() => thread::yield_now(),
                left => thread::park_timeout(left.map_or(PARK, |left| left.min(PARK))),
            }
        }
        let mut responses = self.responses.lock().unwrap_or_else(PoisonError::into_inner);
        Some(std::mem::take(&mut *responses).into_iter().flatten().collect())
    }

    /// The slots without an answer yet.
    pub(super) fn missing(&self) -> Vec<usize> {
        let responses = self.responses.lock().unwrap_or_else(PoisonError::into_inner);
        responses.iter().enumerate().filter(|(_, r)| r.is_none()).map(|(slot, _)| slot).collect()
    }
}

/// The commands not yet taken by all their targets.
struct Entries {
    /// The sequence number of `entries[0]`.
    base: u64,
    entries: VecDeque<Arc<Entry>>,
    /// Each engine's next sequence number to look at.
    cursors: Vec<u64>,
    /// Engines that have stopped.
    stopped: Vec<bool>,
}

/// The log of commands, shared by the client and every engine.
pub(super) struct Log {
    entries: Mutex<Entries>,
    /// The sequence number after the last entry, read without the lock by
    /// engines that poll.
    appended: Padded<AtomicU64>,
    /// The engine threads, to wake them.
    pub threads: OnceLock<Vec<Thread>>,
}

impl Log {
    pub(super) fn new(engines: usize) -> Self {
        Log {
            entries: Mutex::new(Entries {
                base: 0,
                entries: VecDeque::new(),
                cursors: vec![0; engines],
                stopped: vec![false; engines],
            }),
            appended: Padded(AtomicU64::new(0)),
            threads: OnceLock::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn engines(&self) -> usize {
        self.lock().cursors.len()
    }

    /// Appends `entry`; fails if a target has stopped.
    pub(super) fn append(&self, entry: Entry) -> Result<Arc<Entry>> {
        let mut entries = self.lock();
        if let Some(&t) = entry.route.targets.iter().find(|&&t| entries.stopped[t]) {
            bail!(EngineUnavailable, "engine {t} has stopped");
        }
        // Taken by all their targets: dropped, the first one's block reused
        // for `entry` when nobody holds it any more (one allocation fewer).
        let mut taken = None;
        while entries.entries.front().is_some_and(|e| e.remaining.load(Ordering::Acquire) == 0) {
            let old = entries.entries.pop_front();
            taken = taken.or(old);
            entries.base += 1;
        }
        let entry = match taken.as_mut().and_then(Arc::get_mut) {
            Some(block) => {
                *block = entry;
                taken.expect("just matched")
            }
            None => Arc::new(entry),
        };
        entries.entries.push_back(Arc::clone(&entry));
        self.appended.store(entries.base + entries.entries.len() as u64, Ordering::Release);
        Ok(entry)
    }

    pub(super) fn wake(&self, engine: usize) {
        if let Some(thread) = self.threads.get().and_then(|t| t.get(engine)) {
            thread.unpark();
        }
    }

    /// The next command for `engine`, with its slot and the engine locked
    /// (`state`), waited for; `None` once the engine has stopped. While the
    /// client holds the lock it runs the engine's commands itself (see
    /// `inline`), up to the one it waits for: there is nothing to take
    /// until the log grows again.
    pub(super) fn next<'e>(
        &self,
        engine: usize,
        state: &'e Mutex<Engine>,
    ) -> Option<(Arc<Entry>, usize, MutexGuard<'e, Engine>)> {
        let start = Instant::now();
        // The log's length at the last look: unchanged, nothing new to take.
        let mut seen = u64::MAX;
        loop {
            let appended = self.appended.load(Ordering::Acquire);
            if appended != seen {
                seen = appended;
                let locked = match state.try_lock() {
                    Ok(locked) => Some(locked),
                    Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
                    Err(TryLockError::WouldBlock) => None,
                };
                if let Some(locked) = locked {
                    if locked.stopped() {
                        return None;
                    }
                    if let Some((entry, slot)) = self.take(engine) {
                        return Some((entry, slot, locked));
                    }
                }
            }
            if start.elapsed() < spin() {
                thread::yield_now();
            } else {
                thread::park_timeout(PARK);
            }
        }
    }

    /// The next command for `engine` in the log, if any; moves its cursor
    /// past it (and past the commands for others before it).
    pub(super) fn take(&self, engine: usize) -> Option<(Arc<Entry>, usize)> {
        let mut entries = self.lock();
        let Entries { base, entries: list, cursors, .. } = &mut *entries;
        let from = cursors[engine].max(*base);
        if from >= *base + list.len() as u64 {
            return None;
        }
        for (i, entry) in list.iter().enumerate().skip((from - *base) as usize) {
            if let Some(slot) = entry.route.slots[engine] {
                cursors[engine] = *base + i as u64 + 1;
                entry.remaining.fetch_sub(1, Ordering::AcqRel);
                return Some((Arc::clone(entry), slot));
            }
        }
        cursors[engine] = *base + list.len() as u64;
        None
    }

    /// Marks `engine` stopped, and answers for it every waited command it
    /// will never take, so that no caller waits for it.
    pub(super) fn stop(&self, engine: usize) {
        let left: Vec<(Arc<Entry>, usize)> = {
            let mut entries = self.lock();
            entries.stopped[engine] = true;
            let from = entries.cursors[engine].max(entries.base);
            let skip = (from - entries.base) as usize;
            entries
                .entries
                .iter()
                .skip(skip)
                .filter_map(|e| e.route.slots[engine].map(|slot| (Arc::clone(e), slot)))
                .collect()
        };
        let reply =
            encode_reply(&Reply::Failed(err!(EngineUnavailable, "engine {engine} has stopped"))).unwrap_or_default();
        for (entry, slot) in left {
            entry.remaining.fetch_sub(1, Ordering::AcqRel);
            if let Some(gather) = &entry.gather {
                gather.stopped.lock().unwrap_or_else(PoisonError::into_inner).push(slot);
                gather.put(slot, Response { reply: reply.clone(), data: Vec::new() });
            }
        }
    }
}

/// The next message of `rx`: polled (yielding the core) for up to [`spin`],
/// then waited for, up to `timeout` in all if there is one.
pub(crate) fn receive_soon<T>(
    rx: &std::sync::mpsc::Receiver<T>,
    timeout: Option<Duration>,
) -> std::result::Result<T, RecvTimeoutError> {
    let start = Instant::now();
    loop {
        match rx.try_recv() {
            Ok(message) => return Ok(message),
            Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
            Err(TryRecvError::Empty) if start.elapsed() < spin() => thread::yield_now(),
            Err(TryRecvError::Empty) => {
                return match timeout {
                    Some(t) => rx.recv_timeout(t.saturating_sub(start.elapsed())),
                    None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                }
            }
        }
    }
}
