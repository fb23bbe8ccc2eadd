//! Thread engines: `ContextBuilder::engines(n)` or `DISTARRAY_ENGINES`
//! threads in this process (default 4), reading their commands from one
//! shared log (see [`log`]) and parked while idle. The client runs the first
//! target's share of a waited command itself (see [`inline`]).

use rustc_hash::FxHashMap as HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;

use super::{engine_stack_size, engine_timeout, Backend, Counters, Response, MAX_IN_FLIGHT};
use crate::core::error::{bail, err, Result};
use crate::engine::comm::Comm;
use crate::engine::{CommFactory, Engine};
use comm::ThreadComm;
use log::{Entry, Gather, Log, Route};

pub(crate) mod comm;
mod inline;
mod log;

/// Engines when neither `ContextBuilder::engines` nor `DISTARRAY_ENGINES`
/// says how many.
pub(crate) const DEFAULT_ENGINES: usize = 4;

/// The most thread engines a process may have.
pub(crate) const MAX_ENGINES: usize = 4096;

/// The engine count from `DISTARRAY_ENGINES`.
pub(crate) fn engine_count() -> Result<usize> {
    match std::env::var("DISTARRAY_ENGINES") {
        Err(_) => Ok(DEFAULT_ENGINES),
        Ok(s) => match s.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_ENGINES).contains(&n) => Ok(n),
            _ => bail!(Backend, "DISTARRAY_ENGINES={s:?} is not an engine count between 1 and {MAX_ENGINES}"),
        },
    }
}

/// `Err(InvalidArgument)` unless `n` thread engines can be started.
pub(crate) fn check_engine_count(n: usize) -> Result<()> {
    if !(1..=MAX_ENGINES).contains(&n) {
        bail!(InvalidArgument, "{n} is not an engine count between 1 and {MAX_ENGINES}");
    }
    Ok(())
}

/// Communicator ends made by the client for engines to pick up, keyed by
/// (target list, generation, engine id).
type PendingComms = Arc<Mutex<HashMap<(Vec<usize>, u64, usize), ThreadComm>>>;

pub(crate) struct ThreadBackend {
    log: Arc<Log>,
    /// Each engine, locked by the thread running its commands: its own, or
    /// the client's (see [`inline`]).
    engines: Arc<[Mutex<Engine>]>,
    /// The route of each target list used so far.
    routes: Mutex<HashMap<Vec<usize>, Arc<Route>>>,
    pending: PendingComms,
    /// The latest generation of each communicator made.
    prepared: Mutex<HashMap<Vec<usize>, u64>>,
    // One client call at a time, so every engine sees commands in one order;
    // holds the number of commands sent without waiting since the last wait.
    order: Mutex<usize>,
}

struct PendingFactory {
    id: usize,
    pending: PendingComms,
}

impl CommFactory for PendingFactory {
    fn open(&mut self, targets: &[usize], generation: u64) -> Result<Box<dyn Comm>> {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        match pending.remove(&(targets.to_vec(), generation, self.id)) {
            Some(comm) => Ok(Box::new(comm)),
            None => bail!(Backend, "no communicator was prepared over {targets:?} for engine {}", self.id),
        }
    }
}

impl ThreadBackend {
    pub(crate) fn start(count: usize) -> Result<Self> {
        let pending = PendingComms::default();
        let stack = engine_stack_size()?;
        crate::engine::quiet_engine_panics();
        log::set_engines(count);
        let log = Arc::new(Log::new(count));
        let engines: Arc<[Mutex<Engine>]> = (0..count)
            .map(|id| Mutex::new(Engine::new(id, Box::new(PendingFactory { id, pending: pending.clone() }))))
            .collect();
        let mut threads = Vec::with_capacity(count);
        for id in 0..count {
            let (log, engines) = (Arc::clone(&log), Arc::clone(&engines));
            let thread = thread::Builder::new()
                .name(format!("distarray-engine-{id}"))
                .stack_size(stack)
                .spawn(move || serve(id, &engines[id], &log))
                .map_err(|e| {
                    err!(
                        Backend,
                        "cannot start engine thread {id} with a stack of {stack} bytes (DISTARRAY_ENGINE_STACK): {e}"
                    )
                })?;
            threads.push(thread.thread().clone());
        }
        log.threads.set(threads).map_err(|_| err!(Backend, "engine threads started twice"))?;
        Ok(ThreadBackend {
            log,
            engines,
            routes: Mutex::default(),
            pending,
            prepared: Mutex::default(),
            order: Mutex::new(0),
        })
    }

    /// The route of commands to `targets`, made on first use.
    fn route(&self, targets: &[usize]) -> Arc<Route> {
        let mut routes = self.routes.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(route) = routes.get(targets) {
            return Arc::clone(route);
        }
        let route = Arc::new(Route::new(targets, self.log.engines()));
        routes.insert(targets.to_vec(), Arc::clone(&route));
        route
    }
}

impl ThreadBackend {
    /// Leaves a new communicator over `targets` for the engines to pick up.
    /// Ends of older generations stay until picked up: client threads may
    /// send their resets in another order than they made them, and every
    /// engine opens whichever generation the last reset it ran names.
    fn new_group(&self, targets: &[usize], generation: u64) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        for (comm, &engine) in ThreadComm::group(targets.len()).into_iter().zip(targets) {
            pending.insert((targets.to_vec(), generation, engine), comm);
        }
    }
}

/// The command loop of engine `id`'s thread, until the engine stops.
fn serve(id: usize, engine: &Mutex<Engine>, log: &Log) {
    while let Some((entry, slot, mut engine)) = log.next(id, engine) {
        if run(&mut engine, &entry, slot, log) {
            return;
        }
    }
}

/// Runs `entry`, taken by `engine` as its target `slot`, and answers it if
/// the client waits; whether the engine stopped.
fn run(engine: &mut Engine, entry: &Entry, slot: usize, log: &Log) -> bool {
    entry.route.wake_children(slot, log);
    let payload = entry
        .payloads
        .get(slot)
        .map(|p| std::mem::take(&mut *p.lock().unwrap_or_else(PoisonError::into_inner)))
        .unwrap_or_default();
    let answer = engine.handle(&entry.command, payload, entry.gather.is_some());
    if let (Some(gather), Some((reply, data))) = (&entry.gather, answer) {
        gather.put(slot, Response { reply, data });
    }
    if engine.stopped() {
        // Every later command for this engine fails instead of waiting for
        // it.
        log.stop(engine.id());
    }
    engine.stopped()
}

impl ThreadBackend {
    /// The engine whose share of a waited command to `targets` the client
    /// runs itself: the first target, unless engines answer within a
    /// timeout (the client cannot time out a kernel it runs) or this thread
    /// cannot (see [`inline::available`]).
    fn inline_target(targets: &[usize]) -> Option<usize> {
        let first = *targets.first()?;
        (engine_timeout().is_none() && inline::available()).then_some(first)
    }

    /// Runs engine `id`'s commands that its thread has not taken, up to and
    /// including `waited`, on this thread, the engine locked already or
    /// locked here; then, the same way, the shares of the other `targets`
    /// whose threads have not taken theirs yet (one sharing this thread's
    /// core gets it only once this thread waits). Whether it could (else
    /// engine `id`'s thread must be woken for them).
    fn run_inline(
        &self,
        id: usize,
        locked: Option<MutexGuard<'_, Engine>>,
        targets: &[usize],
        waited: &Arc<Entry>,
    ) -> bool {
        inline::run(|| {
            let engine = locked.unwrap_or_else(|| self.engines[id].lock().unwrap_or_else(PoisonError::into_inner));
            self.run_share(id, engine, waited);
            for &other in targets.iter().filter(|&&t| t != id) {
                // Held by its thread: running it, or about to take it.
                if let Ok(engine) = self.engines[other].try_lock() {
                    self.run_share(other, engine, waited);
                }
            }
        })
        .is_some()
    }

    /// Runs engine `id`'s commands up to and including `waited`, or until
    /// it stops. The lock is held from the first take to the last, so that
    /// the engine's thread cannot take a command in between: they run in
    /// log order.
    fn run_share(&self, id: usize, mut engine: MutexGuard<'_, Engine>, waited: &Arc<Entry>) {
        if engine.stopped() {
            return;
        }
        while let Some((entry, slot)) = self.log.take(id) {
            if run(&mut engine, &entry, slot, &self.log) || Arc::ptr_eq(&entry, waited) {
                return;
            }
        }
    }
}

impl Backend for ThreadBackend {
    fn name(&self) -> &'static str {
        "threads"
    }

    fn num_engines(&self) -> usize {
        self.log.engines()
    }

    fn prepare_comm(&self, targets: &[usize]) {
        let mut prepared = self.prepared.lock().unwrap_or_else(PoisonError::into_inner);
        if !prepared.contains_key(targets) {
            prepared.insert(targets.to_vec(), 0);
            self.new_group(targets, 0);
        }
    }

    fn reset_comm(&self, targets: &[usize]) -> u64 {
        // Fresh channels: whatever the failed call left in the old ones is gone
        // with them.
        let mut prepared = self.prepared.lock().unwrap_or_else(PoisonError::into_inner);
        let generation = prepared.get(targets).map_or(0, |g| g + 1);
        prepared.insert(targets.to_vec(), generation);
        self.new_group(targets, generation);
        generation
    }

    fn execute(
        &self,
        targets: &[usize],
        command: Vec<u8>,
        payloads: Vec<Vec<u8>>,
        wait: bool,
    ) -> Result<Vec<Response>> {
        if let Some(t) = targets.iter().find(|&&t| t >= self.log.engines()) {
            bail!(InvalidTarget, "there is no engine {t}: this process has {} engines", self.log.engines());
        }
        let route = self.route(targets);
        let mut in_flight = self.order.lock().unwrap_or_else(PoisonError::into_inner);
        let wait = wait || *in_flight >= MAX_IN_FLIGHT;
        *in_flight = if wait { 0 } else { *in_flight + 1 };
        let bytes = command.len() + payloads.iter().map(Vec::len).sum::<usize>();
        let entry = Entry {
            command,
            payloads: payloads.into_iter().map(Mutex::new).collect(),
            gather: wait.then(|| Gather::new(targets.len())),
            remaining: AtomicUsize::new(targets.len()),
            route,
        };
        let inline = if wait { Self::inline_target(targets) } else { None };
        // Locked before the command is in the log, when free: else its
        // thread, polling the log, would often take the command first.
        let locked = inline.and_then(|id| self.engines[id].try_lock().ok());
        let entry = self.log.append(entry)?;
        Counters::sent(1, bytes);
        entry.route.wake_first(&self.log, inline);
        if !wait {
            return Ok(Vec::new());
        }
        if let Some(id) = inline {
            if !self.run_inline(id, locked, targets, &entry) {
                self.log.wake(id);
            }
        }
        let timeout = engine_timeout();
        let gather = entry.gather.as_ref().ok_or_else(|| err!(Backend, "a waited command without a gathering"))?;
        let Some(responses) = gather.wait(timeout) else {
            let silent: Vec<usize> = gather.missing().into_iter().map(|slot| targets[slot]).collect();
            bail!(
                EngineUnavailable,
                "engines {silent:?} did not answer within {:.1} s (DISTARRAY_ENGINE_TIMEOUT): hung, or busy with a long \
                 kernel; later commands to them wait behind it",
                timeout.unwrap_or_default().as_secs_f64()
            );
        };
        Counters::received(1, responses.iter().map(|r| r.reply.len() + r.data.len()).sum());
        // The others' answers then only tell of it (a collective it left).
        let stopped = gather.stopped();
        if let Some(&slot) = stopped.first() {
            bail!(EngineUnavailable, "engine {} stopped while running a command", targets[slot]);
        }
        Ok(responses)
    }
}
