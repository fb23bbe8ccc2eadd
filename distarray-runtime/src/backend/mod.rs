//! Dispatch from the client to the engines.
//!
//! A [`Backend`] moves encoded commands and raw payloads to engines and brings
//! their responses back; it never interprets them (the engines run
//! [`Engine`](crate::engine::Engine) whatever the backend). One backend serves
//! the whole process; it is chosen and started once, by the first context
//! (`Context::new()` or `ContextBuilder::build`), whose engine count it keeps.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crate::core::error::{bail, err, Error, Result};
use crate::protocol::ReplyBytes;

#[cfg(feature = "mpi")]
mod mpi;
mod threads;

/// What the client sent to and received from engines, cumulative since the
/// process started (all contexts): [`Context::comm_stats`](crate::Context::comm_stats).
///
/// A message is one command or payload on its way to one engine, or one
/// answer (a reply, with its data) on its way back; bytes are their encoded
/// sizes. Traffic between engines (collectives, redistribution) is not the
/// client's and is not counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommStats {
    /// Messages from the client to engines.
    pub messages_sent: u64,
    /// Messages from engines to the client.
    pub messages_received: u64,
    /// Bytes of the messages sent.
    pub bytes_sent: u64,
    /// Bytes of the messages received.
    pub bytes_received: u64,
}

/// The client's counters behind [`CommStats`], one set per process (as the
/// backend is).
pub(crate) struct Counters {
    messages_sent: AtomicU64,
    messages_received: AtomicU64,
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
}

static COUNTERS: Counters = Counters {
    messages_sent: AtomicU64::new(0),
    messages_received: AtomicU64::new(0),
    bytes_sent: AtomicU64::new(0),
    bytes_received: AtomicU64::new(0),
};

impl Counters {
    /// Counts `messages` sent, of `bytes` in all.
    pub(crate) fn sent(messages: usize, bytes: usize) {
        COUNTERS.messages_sent.fetch_add(messages as u64, Ordering::Relaxed);
        COUNTERS.bytes_sent.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Counts `messages` received, of `bytes` in all.
    pub(crate) fn received(messages: usize, bytes: usize) {
        COUNTERS.messages_received.fetch_add(messages as u64, Ordering::Relaxed);
        COUNTERS.bytes_received.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// The counts so far.
    pub(crate) fn snapshot() -> CommStats {
        CommStats {
            messages_sent: COUNTERS.messages_sent.load(Ordering::Relaxed),
            messages_received: COUNTERS.messages_received.load(Ordering::Relaxed),
            bytes_sent: COUNTERS.bytes_sent.load(Ordering::Relaxed),
            bytes_received: COUNTERS.bytes_received.load(Ordering::Relaxed),
        }
    }
}

/// One engine's answer to a command: the encoded reply and its raw data.
pub(crate) struct Response {
    pub reply: ReplyBytes,
    pub data: Vec<u8>,
}

/// The client's end of a set of engines.
pub(crate) trait Backend: Send + Sync {
    /// "threads" or "mpi".
    fn name(&self) -> &'static str;

    /// How many engines there are.
    fn num_engines(&self) -> usize;

    /// Client-side preparation before a command makes engines `targets` use
    /// their communicator over exactly those engines (thread engines need their
    /// channels made here). Idempotent.
    fn prepare_comm(&self, targets: &[usize]);

    /// Client-side part of replacing the engines' communicator over `targets`
    /// after a failed call: the generation the engines must open next (see
    /// `Command::ResetComm`).
    fn reset_comm(&self, targets: &[usize]) -> u64;

    /// Runs `command` on every engine in `targets`. With `wait`, waits for
    /// their responses and returns them in target order. Without, returns as
    /// soon as the command is on its way (pipelined: no acknowledgement; an
    /// engine that fails it reports the failure with its next waited-for
    /// response, see `Engine::handle`) and returns no responses — unless the
    /// backend chose to wait anyway to bound the commands in flight.
    /// `payloads` is empty or holds one buffer per target.
    fn execute(&self, targets: &[usize], command: Vec<u8>, payloads: Vec<Vec<u8>>, wait: bool)
        -> Result<Vec<Response>>;
}

/// How long the client waits for an engine's answer before it gives up on
/// the engine: `DISTARRAY_ENGINE_TIMEOUT` seconds (default: no limit, since a
/// kernel may legitimately run for hours).
pub(crate) fn engine_timeout() -> Option<std::time::Duration> {
    static TIMEOUT: OnceLock<Option<std::time::Duration>> = OnceLock::new();
    *TIMEOUT.get_or_init(|| crate::engine::comm::seconds_from_env("DISTARRAY_ENGINE_TIMEOUT"))
}

/// The stack of each engine thread when `DISTARRAY_ENGINE_STACK` is unset:
/// 128 MiB, reserved address space that only pages a kernel touches use, so
/// that deeply recursive kernels (which the 2 MiB of a Rust thread or the
/// 8 MiB of a main thread would overflow) just run.
pub(crate) const DEFAULT_ENGINE_STACK: usize = 128 << 20;

/// The stack size of engine threads, in bytes: `DISTARRAY_ENGINE_STACK`
/// (bytes, or with a `K`, `M` or `G` suffix), default
/// [`DEFAULT_ENGINE_STACK`]. A kernel that overflows it ends the process, as
/// any stack overflow in Rust does (it cannot be caught like a panic).
pub(crate) fn engine_stack_size() -> Result<usize> {
    let Ok(value) = std::env::var("DISTARRAY_ENGINE_STACK") else {
        return Ok(DEFAULT_ENGINE_STACK);
    };
    let text = value.trim();
    let (digits, unit) = match text.char_indices().last() {
        Some((i, 'k' | 'K')) => (&text[..i], 1 << 10),
        Some((i, 'm' | 'M')) => (&text[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&text[..i], 1 << 30),
        _ => (text, 1),
    };
    match digits.trim().parse::<usize>().ok().and_then(|n| n.checked_mul(unit)) {
        // Below 64 KiB not even the engine's own command loop fits.
        Some(bytes) if bytes >= 64 << 10 => Ok(bytes),
        _ => bail!(
            Backend,
            "DISTARRAY_ENGINE_STACK={value:?} is not a stack size of at least 64K (bytes, or with a K, M or G suffix)"
        ),
    }
}

/// Commands sent without waiting before the next one is waited for: bounds the
/// engines' queues (and their memory) when a client runs far ahead.
pub(crate) const MAX_IN_FLIGHT: usize = 1024;

/// Whether `threads` busy threads or ranks on this machine are few enough
/// to poll for messages (at most two per core): with more, a polling one
/// holds a core that one with work needs. Both backends' waits follow it.
pub(crate) fn few_enough_to_poll(threads: usize) -> bool {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    threads <= 2 * cores
}

/// Which backend `DISTARRAY_BACKEND` or the launcher asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Choice {
    Threads,
    Mpi,
}

fn choose() -> Result<Choice> {
    match std::env::var("DISTARRAY_BACKEND").ok().as_deref().map(str::trim) {
        Some("threads") => Ok(Choice::Threads),
        Some("mpi") => Ok(Choice::Mpi),
        Some("") | None => {
            // Launched by mpirun: the launcher's variables say so; MPI is not
            // initialised just to find out.
            let under_mpirun =
                ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"].iter().any(|v| std::env::var_os(v).is_some());
            Ok(if under_mpirun { Choice::Mpi } else { Choice::Threads })
        }
        Some(other) => bail!(Backend, "DISTARRAY_BACKEND={other:?} is not a backend; use \"threads\" or \"mpi\""),
    }
}

static BACKEND: OnceLock<Result<Arc<dyn Backend>>> = OnceLock::new();

/// The process's backend, started on first use; `engines` is the engine count
/// a caller asks for (`None`: whatever the backend has).
///
/// Thread engines are started with `engines` threads, or `DISTARRAY_ENGINES`
/// when `None`; once running, their count is fixed, and asking for another
/// is `Err(InvalidArgument)` naming both counts. MPI engines are the ranks
/// mpirun started: `engines` other than their count is the same error.
/// An invalid count never starts the engines, so a later call may still.
///
/// Under MPI, on every rank but 0 this call does not return: the rank serves as
/// an engine until the client ends, then exits the process.
pub(crate) fn backend(engines: Option<usize>) -> Result<Arc<dyn Backend>> {
    if let Some(n) = engines {
        // Checked before the thread engines start: a bad count must not
        // become the process's backend failure.
        if BACKEND.get().is_none() && choose()? == Choice::Threads {
            threads::check_engine_count(n).map_err(|e| e.context(format_args!("engines({n})")))?;
        }
    }
    let backend = BACKEND.get_or_init(|| start(engines)).clone()?;
    match engines {
        Some(n) if n != backend.num_engines() => Err(engine_count_mismatch(backend.name(), backend.num_engines(), n)),
        _ => Ok(backend),
    }
}

/// The error for asking `requested` engines of a backend that has `running`.
fn engine_count_mismatch(name: &str, running: usize, requested: usize) -> Error {
    if name == "mpi" {
        err!(
            InvalidArgument,
            "engines({requested}) asks for {requested} engines, but under MPI the engine count is fixed by mpirun: \
             this run has {running} (mpirun -n {})",
            running + 1
        )
    } else {
        err!(
            InvalidArgument,
            "engines({requested}) asks for {requested} engines, but the thread engines already run with {running}: \
             the first context of the process fixes the count (with engines(n), else DISTARRAY_ENGINES or 4)"
        )
    }
}

fn start(engines: Option<usize>) -> Result<Arc<dyn Backend>> {
    match choose()? {
        Choice::Threads => {
            let count = match engines {
                Some(n) => n,
                None => threads::engine_count()?,
            };
            Ok(Arc::new(threads::ThreadBackend::start(count)?))
        }
        Choice::Mpi => start_mpi(),
    }
}

#[cfg(feature = "mpi")]
fn start_mpi() -> Result<Arc<dyn Backend>> {
    Ok(Arc::new(mpi::MpiBackend::start()?))
}

#[cfg(not(feature = "mpi"))]
fn start_mpi() -> Result<Arc<dyn Backend>> {
    bail!(
        Unsupported,
        "the MPI backend was requested (DISTARRAY_BACKEND=mpi or launched by mpirun) but distarray was built \
         without the `mpi` feature; rebuild with `--features mpi` or set DISTARRAY_BACKEND=threads"
    )
}
