//! Thread engines: `ContextBuilder::engines(n)` or `DISTARRAY_ENGINES`
//! threads in this process (default 4), each blocked on its command channel
//! while idle.

use std::collections::HashMap;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use super::{engine_stack_size, engine_timeout, Backend, Response, MAX_IN_FLIGHT};
use crate::engine::comm::Comm;
use comm::ThreadComm;

pub(crate) mod comm;
use crate::core::error::{bail, err, Result};
use crate::engine::{CommFactory, Engine};

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

struct Job {
    command: Arc<[u8]>,
    payload: Vec<u8>,
    slot: usize,
    /// Where the response goes; `None` for a command nobody waits for.
    done: Option<Sender<(usize, Response)>>,
}

/// Communicator ends made by the client for engines to pick up, keyed by
/// (target list, generation, engine id).
type PendingComms = Arc<Mutex<HashMap<(Vec<usize>, u64, usize), ThreadComm>>>;

pub(crate) struct ThreadBackend {
    engines: Vec<Sender<Job>>,
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
        let mut engines = Vec::with_capacity(count);
        for id in 0..count {
            let (tx, rx) = channel::<Job>();
            let engine = Engine::new(id, Box::new(PendingFactory { id, pending: pending.clone() }));
            thread::Builder::new()
                .name(format!("distarray-engine-{id}"))
                .stack_size(stack)
                .spawn(move || serve(engine, rx))
                .map_err(|e| {
                    err!(
                        Backend,
                        "cannot start engine thread {id} with a stack of {stack} bytes (DISTARRAY_ENGINE_STACK): {e}"
                    )
                })?;
            engines.push(tx);
        }
        Ok(ThreadBackend { engines, pending, prepared: Mutex::default(), order: Mutex::new(0) })
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

fn serve(mut engine: Engine, jobs: Receiver<Job>) {
    // Ends when the backend (and with it every sender) is dropped.
    while let Ok(job) = receive_soon(&jobs, None) {
        let answer = engine.handle(&job.command, job.payload, job.done.is_some());
        if let (Some(done), Some((reply, data))) = (job.done, answer) {
            // The client may have given up on this call; nothing to do then.
            let _ = done.send((job.slot, Response { reply, data }));
        }
        if engine.stopped() {
            // Dropping the engine closes its channels: the client and the
            // other engines see it gone instead of waiting for it.
            return;
        }
    }
}

/// How long a thread polls for the next message before it blocks: commands
/// and answers come in bursts, and waking a blocked thread costs several
/// microseconds, more than most commands take.
const SPIN: Duration = Duration::from_micros(50);

/// The next message of `rx`: polled (yielding the core) for up to [`SPIN`],
/// then waited for, up to `timeout` in all if there is one.
fn receive_soon<T>(rx: &Receiver<T>, timeout: Option<Duration>) -> std::result::Result<T, RecvTimeoutError> {
    let start = Instant::now();
    loop {
        match rx.try_recv() {
            Ok(message) => return Ok(message),
            Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
            Err(TryRecvError::Empty) if start.elapsed() < SPIN => thread::yield_now(),
            Err(TryRecvError::Empty) => {
                return match timeout {
                    Some(t) => rx.recv_timeout(t.saturating_sub(start.elapsed())),
                    None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                }
            }
        }
    }
}

impl Backend for ThreadBackend {
    fn name(&self) -> &'static str {
        "threads"
    }

    fn num_engines(&self) -> usize {
        self.engines.len()
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

    fn execute(&self, targets: &[usize], command: &[u8], payloads: Vec<Vec<u8>>, wait: bool) -> Result<Vec<Response>> {
        if let Some(t) = targets.iter().find(|&&t| t >= self.engines.len()) {
            bail!(InvalidTarget, "there is no engine {t}: this process has {} engines", self.engines.len());
        }
        let mut in_flight = self.order.lock().unwrap_or_else(PoisonError::into_inner);
        let wait = wait || *in_flight >= MAX_IN_FLIGHT;
        *in_flight = if wait { 0 } else { *in_flight + 1 };
        let command: Arc<[u8]> = command.into();
        let mut payloads = payloads.into_iter();
        let (done_tx, done_rx) = channel();
        for (slot, &target) in targets.iter().enumerate() {
            let done = wait.then(|| done_tx.clone());
            let job = Job { command: command.clone(), payload: payloads.next().unwrap_or_default(), slot, done };
            self.engines[target].send(job).map_err(|_| err!(EngineUnavailable, "engine {target} has stopped"))?;
        }
        drop(done_tx);
        if !wait {
            return Ok(Vec::new());
        }
        let mut responses: Vec<Option<Response>> = targets.iter().map(|_| None).collect();
        let timeout = engine_timeout();
        for _ in targets {
            match receive_soon(&done_rx, timeout) {
                Ok((slot, response)) => responses[slot] = Some(response),
                // A dead engine thread drops its job and with it the sender.
                Err(RecvTimeoutError::Disconnected) => {
                    bail!(EngineUnavailable, "an engine thread stopped while running a command")
                }
                Err(RecvTimeoutError::Timeout) => {
                    let silent: Vec<usize> =
                        targets.iter().zip(&responses).filter(|(_, r)| r.is_none()).map(|(&t, _)| t).collect();
                    bail!(
                        EngineUnavailable,
                        "engines {silent:?} did not answer within {:.1} s (DISTARRAY_ENGINE_TIMEOUT): hung, or busy with a long \
                         kernel; later commands to them wait behind it",
                        timeout.unwrap_or_default().as_secs_f64()
                    );
                }
            }
        }
        Ok(responses.into_iter().flatten().collect())
    }
}
