//! [`Context`]: the client's handle on a set of engines.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::backend::{backend, Backend, CommStats};
use crate::core::error::{bail, err, Result};
use crate::protocol::{decode, encode, Command, EngineStats, Reply};

/// Every key distarray creates on an engine starts with this.
pub const KEY_PREFIX: &str = "__distarray_";

static NEXT_CONTEXT: AtomicU64 = AtomicU64::new(0);

/// Bumped whenever keys are deleted other than by dropping their array
/// (`delete_key`, `cleanup`, ...): arrays made before then may have lost their
/// pieces, so operations on them wait for the engines instead of being
/// pipelined, and a missing piece is reported by the call itself.
static BULK_DELETIONS: AtomicU64 = AtomicU64::new(0);

/// The current count of bulk deletions (see [`BULK_DELETIONS`]).
pub(crate) fn bulk_deletions() -> u64 {
    BULK_DELETIONS.load(Ordering::Acquire)
}

fn note_bulk_deletion() {
    BULK_DELETIONS.fetch_add(1, Ordering::AcqRel);
}

/// The client's handle on a set of engines ("targets"), through which
/// [`DistArray`](crate::DistArray)s are created.
///
/// Engines are numbered `0..n` for the process: `n` thread engines
/// ([`ContextBuilder::engines`] of the first context, else
/// `DISTARRAY_ENGINES`, default 4), or the `n` engine ranks `1..=n` of
/// `mpirun -n n+1` with the `mpi` feature. A context may use all of them or a
/// subset ([`Context::builder`]), and several contexts may exist at once;
/// each has its own engine communicator and its own key prefix. Cloning a
/// `Context` gives another handle on the same context. When the last handle
/// (arrays hold one) is dropped, the engines free everything the context
/// created.
///
/// # Engine threads
/// Thread engines (and the engine loop of each MPI engine rank) run on
/// threads with a stack of `DISTARRAY_ENGINE_STACK` bytes (a `K`, `M` or `G`
/// suffix allowed; default 128 MiB of address space, only the pages used
/// cost memory), read when the engines start. A kernel that overflows it
/// ends the process, as any stack overflow in Rust does: on threads the
/// whole program, under MPI that engine rank, after which mpirun ends the job.
/// Kernels run on the engines and cannot use a `Context`: every call made
/// from inside a kernel returns `Err(NestedCall)`.
///
/// # Pipelining
/// Calls that cannot fail on the engines once the client has checked their
/// arguments — elementwise operations that cannot meet a bad value (not
/// integer division, remainders, powers or shifts), `zeros`/`ones`/`empty` of
/// up to 1 MiB, and deleting an array when it is dropped — return as soon as
/// their command is on its way: each engine runs commands in the order they were sent, so
/// later calls see their results, and a chain of small operations costs
/// microseconds per operation instead of a round trip each. Should one
/// nevertheless fail on an engine (a fault of the engine itself, such as
/// running out of memory), the next call that waits for that engine returns
/// the failure; [`sync`](Self::sync) waits for everything sent so far. At
/// most 1024 commands are in flight: the next one waits.
///
/// # Examples
/// ```
/// use distarray::prelude::*;
///
/// let ctx = Context::new()?;
/// let d = Distribution::from_shape(&ctx, &[4, 6])?;
/// let a = ctx.ones::<f64>(&d)?;
/// assert_eq!(a.toarray()?.sum(), 24.0);
/// # Ok::<(), distarray::Error>(())
/// ```
#[derive(Clone)]
pub struct Context {
    inner: Arc<ContextInner>,
}

struct ContextInner {
    id: u64,
    prefix: String,
    targets: Vec<usize>,
    backend: Arc<dyn Backend>,
    closed: AtomicBool,
    next_key: AtomicU64,
}

/// Options of a new [`Context`], set one by one: [`Context::builder`].
///
/// Defaults: every engine of the process, however many it has.
///
/// # Engine count
/// The engines are started once per process, by its first context, and keep
/// their count. On thread engines, [`engines(n)`](Self::engines) given to that
/// first context decides it (without it, `DISTARRAY_ENGINES`, default 4);
/// given to a later context, it must name the count already running. Under
/// `mpirun` (feature `mpi`) the engines are the ranks `1..=N` of
/// `mpirun -n N+1`, so `engines(n)` must be `N`. Either way, another count is
/// `Err(InvalidArgument)` naming both, and never changes the engines.
///
/// # Examples
/// ```
/// use distarray::prelude::*;
///
/// let ctx = Context::builder().engines(2).build()?;
/// let d = Distribution::from_shape(&ctx, &[6])?;
/// assert_eq!(d.targets(), &[0, 1]);
/// # Ok::<(), distarray::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "call .build() to make the Context"]
pub struct ContextBuilder {
    engines: Option<usize>,
    targets: Option<Vec<usize>>,
}

impl ContextBuilder {
    /// The number of engines of the process (see [the engine
    /// count](ContextBuilder#engine-count)): on threads, how many to start
    /// when this is the first context, else the count already running; under
    /// MPI, the engine count of `mpirun`. Default: whatever the process has
    /// (on threads, `DISTARRAY_ENGINES` engines, default 4, when this context
    /// starts them).
    pub fn engines(mut self, n: usize) -> Self {
        self.engines = Some(n);
        self
    }

    /// The engines the context uses, as engine ids in the order that gives
    /// their ranks in this context. Default: every engine, in order.
    pub fn targets(mut self, targets: &[usize]) -> Self {
        self.targets = Some(targets.to_vec());
        self
    }

    /// The context; the first one of the process starts the engines.
    ///
    /// Under `mpirun` (feature `mpi`), this call returns only on rank 0, the
    /// client; every other rank serves as an engine until the client process
    /// ends, then exits.
    ///
    /// # Errors
    /// `InvalidArgument` if [`engines`](Self::engines) is not the engine count
    /// of the running engines (or, for the first context on threads, not a
    /// count between 1 and 4096); `InvalidTarget` if the targets are empty,
    /// repeat an engine or name one that does not exist; `Backend` if the
    /// engines cannot be started; `Unsupported` if MPI was asked for in a
    /// build without the `mpi` feature; `NestedCall` inside a kernel.
    pub fn build(self) -> Result<Context> {
        check_not_in_kernel()?;
        let backend = backend(self.engines)?;
        let all: Vec<usize> = (0..backend.num_engines()).collect();
        let targets = match self.targets {
            Some(targets) => {
                check_targets(&targets, &all)?;
                targets
            }
            None => all,
        };
        Context::open(backend, targets)
    }
}

/// Held while a call reaches the engines and, when it waits, until it has
/// their answers: calls from several client threads reach every engine in
/// one order, and nothing comes between a failed collective call and the
/// replacement of its communicator (see [`Context::run_collective`]).
static CALLS: Mutex<()> = Mutex::new(());

/// Dropped arrays of every context, kept for [`Context::discard`]: any call
/// that waits, in any context, sees them deleted.
static GARBAGE: Mutex<Garbage> = Mutex::new(Garbage { keys: Vec::new(), bytes: 0 });

/// Keys of dropped arrays not yet deleted on the engines: deleting small
/// arrays a batch at a time halves the commands of a chain like
/// `x = &x + &y`. Large arrays are deleted at once (memory comes first).
struct Garbage {
    /// Each key with its engines.
    keys: Vec<(Vec<usize>, String)>,
    bytes: usize,
}

impl Garbage {
    /// Keys kept before they are deleted.
    const MAX_KEYS: usize = 64;
    /// Bytes of arrays kept before they are deleted.
    const MAX_BYTES: usize = 1 << 20;
}

impl Context {
    /// A context over every engine; the same as `Context::builder().build()`.
    ///
    /// The first context of the process starts the engines: on threads,
    /// `DISTARRAY_ENGINES` of them (default 4). Under `mpirun` (feature
    /// `mpi`), this call returns only on rank 0, the client; every other rank
    /// serves as an engine until the client process ends, then exits.
    ///
    /// # Errors
    /// `Backend` if the engines cannot be started (a `DISTARRAY_ENGINES` that
    /// is not a count between 1 and 4096 among the causes), `Unsupported` if
    /// MPI was asked for in a build without the `mpi` feature, `NestedCall`
    /// inside a kernel (engines cannot drive contexts; every `Context` and
    /// `DistArray` call made inside a kernel fails so, at once, leaving the
    /// engines as they were).
    pub fn new() -> Result<Self> {
        Self::builder().build()
    }

    /// A context over the engines `targets` (engine ids, in the order that gives
    /// their ranks in this context); the same as
    /// `Context::builder().targets(targets).build()`.
    ///
    /// # Errors
    /// `InvalidTarget` if `targets` is empty, repeats an engine or names an
    /// engine that does not exist; otherwise as [`new`](Self::new).
    pub fn with_targets(targets: &[usize]) -> Result<Self> {
        Self::builder().targets(targets).build()
    }

    /// Options of a new context, set one by one: how many engines the
    /// process has ([`engines`](ContextBuilder::engines)) and which of them
    /// the context uses ([`targets`](ContextBuilder::targets)).
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// // The first context of the process starts 3 thread engines.
    /// let ctx = Context::builder().engines(3).build()?;
    /// assert_eq!(ctx.num_engines(), 3);
    /// // Later contexts share those engines, all or some of them.
    /// let pair = Context::builder().engines(3).targets(&[2, 0]).build()?;
    /// assert_eq!(pair.targets(), &[2, 0]);
    /// // The count is fixed once the engines run.
    /// let err = Context::builder().engines(5).build().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    /// # Ok::<(), distarray::Error>(())
    /// ```
    pub fn builder() -> ContextBuilder {
        ContextBuilder::default()
    }

    fn open(backend: Arc<dyn Backend>, targets: Vec<usize>) -> Result<Self> {
        let id = NEXT_CONTEXT.fetch_add(1, Ordering::Relaxed);
        backend.prepare_comm(&targets);
        let inner = ContextInner {
            id,
            prefix: format!("{KEY_PREFIX}{id}_"),
            targets,
            backend,
            closed: AtomicBool::new(false),
            next_key: AtomicU64::new(0),
        };
        let ctx = Context { inner: Arc::new(inner) };
        ctx.run_collective(&ctx.inner.targets, &Command::OpenContext { ctx: id, targets: ctx.inner.targets.clone() })?;
        Ok(ctx)
    }

    /// The engines of this context, in rank order.
    pub fn targets(&self) -> &[usize] {
        &self.inner.targets
    }

    /// The number of engines of this context.
    pub fn num_targets(&self) -> usize {
        self.inner.targets.len()
    }

    /// The number of engines of the process, whether or not this context uses them.
    pub fn num_engines(&self) -> usize {
        self.inner.backend.num_engines()
    }

    /// The backend's name: `"threads"` or `"mpi"`.
    pub fn backend_name(&self) -> &'static str {
        self.inner.backend.name()
    }

    /// The prefix of every key this context creates on the engines.
    pub fn key_prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    /// Deletes `key` on `targets` (default: this context's targets). Deleting a
    /// key that does not exist is not an error.
    ///
    /// # Errors
    /// `InvalidTarget` for targets outside this context, `ContextClosed` after
    /// [`close`](Self::close).
    pub fn delete_key(&self, key: &str, targets: Option<&[usize]>) -> Result<()> {
        let targets = self.select_targets(targets)?;
        note_bulk_deletion();
        self.run(&targets, &Command::Delete { key: key.to_string() }, Vec::new()).map(drop)
    }

    /// Deletes every key this context created, on all its engines. Arrays of
    /// this context that are still alive become unusable (their calls return
    /// `KeyNotFound`).
    ///
    /// # Errors
    /// `ContextClosed` after [`close`](Self::close).
    pub fn cleanup(&self) -> Result<()> {
        self.delete_prefix(self.inner.prefix.clone())
    }

    /// Frees everything this context created on the engines and closes it:
    /// later calls through it (or its arrays) return `ContextClosed`. Other
    /// contexts and the engines themselves keep running.
    ///
    /// # Errors
    /// `ContextClosed` if it was already closed.
    pub fn close(&self) -> Result<()> {
        check_not_in_kernel()?;
        let command = Command::CloseContext { ctx: self.inner.id, prefix: self.inner.prefix.clone() };
        // Closed before the engines delete anything, with no call in flight:
        // a call racing this one from another client thread either ran
        // entirely before or sees `ContextClosed`, never a missing piece.
        let _call = CALLS.lock().unwrap_or_else(PoisonError::into_inner);
        if self.inner.closed.swap(true, Ordering::AcqRel) {
            bail!(ContextClosed, "context {} was already closed", self.inner.id);
        }
        self.dispatch_locked(&self.inner.targets, &command, Vec::new(), true).map(drop)
    }

    /// `targets` checked against this context, or all of its targets.
    pub(crate) fn select_targets(&self, targets: Option<&[usize]>) -> Result<Vec<usize>> {
        match targets {
            None => Ok(self.inner.targets.clone()),
            Some(t) => {
                check_targets(t, &self.inner.targets)?;
                Ok(t.to_vec())
            }
        }
    }

    /// A fresh key under this context's prefix.
    pub(crate) fn new_key(&self) -> String {
        // Without `format!`: one of the costs of every call.
        let mut number = itoa::Buffer::new();
        let number = number.format(self.inner.next_key.fetch_add(1, Ordering::Relaxed));
        let mut key = String::with_capacity(self.inner.prefix.len() + number.len());
        key.push_str(&self.inner.prefix);
        key.push_str(number);
        key
    }

    /// Deletes the keys starting with `prefix` on every engine of this context.
    pub(crate) fn delete_prefix(&self, prefix: String) -> Result<()> {
        note_bulk_deletion();
        self.run_all(&Command::DeletePrefix { prefix }).map(drop)
    }

    pub(crate) fn run_all(&self, command: &Command) -> Result<Vec<(Reply, Vec<u8>)>> {
        self.run(&self.inner.targets, command, Vec::new())
    }

    /// Runs `command` on `targets` and returns each engine's reply and data, in
    /// target order; the first engine failure becomes the error.
    pub(crate) fn run(
        &self,
        targets: &[usize],
        command: &Command,
        payloads: Vec<Vec<u8>>,
    ) -> Result<Vec<(Reply, Vec<u8>)>> {
        self.dispatch(targets, command, payloads, true)
    }

    /// Sends `command` to `targets` without waiting for them (pipelined): for
    /// commands the client has fully checked, which cannot fail on the engines
    /// but for a fault of the engine itself (see [`Context`]'s "Pipelining").
    pub(crate) fn post(&self, targets: &[usize], command: &Command) -> Result<()> {
        self.dispatch(targets, command, Vec::new(), false).map(drop)
    }

    /// Frees the buffers that this context's engines keep for reuse, and
    /// returns how many bytes they held in total.
    ///
    /// An engine keeps the buffers of deleted pieces (dropped arrays,
    /// temporaries) in a pool, so that the next piece of about the same size
    /// and element type is written into memory already mapped instead of
    /// paying its page faults. The pool holds at most `DISTARRAY_POOL_BYTES`
    /// per engine (default 1 GiB; `0` turns it off), and keeps no buffer
    /// under 64 KiB. Call this to give the memory back to the OS, for
    /// example before a phase that allocates differently.
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    ///
    /// let ctx = Context::new()?;
    /// let d = Distribution::from_shape(&ctx, &[1 << 16])?;
    /// drop(ctx.ones::<f64>(&d)?); // its pieces go to the pools
    /// assert!(ctx.release_pooled_memory()? > 0);
    /// assert_eq!(ctx.release_pooled_memory()?, 0);
    /// # Ok::<(), distarray::Error>(())
    /// ```
    ///
    /// # Errors
    /// `ContextClosed` after [`close`](Self::close), or a backend failure.
    pub fn release_pooled_memory(&self) -> Result<u64> {
        let replies = self.run_all(&Command::ReleasePool)?;
        replies.into_iter().try_fold(0u64, |total, (reply, _)| match reply {
            Reply::Count(bytes) => Ok(total + bytes),
            other => Err(err!(Protocol, "releasing pooled memory was answered with {other:?}")),
        })
    }

    /// What the client has sent to and received from the engines so far:
    /// messages and bytes, cumulative over the process (every context),
    /// counted on the client on every backend (see [`CommStats`]). The way to
    /// see what a program costs in communication: take it before and after.
    ///
    /// # Examples
    /// A pipelined command is one message whatever the engine count on
    /// thread engines (one entry in the engines' shared log), and a waited
    /// call's answers come back as one.
    /// ```
    /// use distarray::prelude::*;
    ///
    /// let ctx = Context::new()?;
    /// let a = ctx.ones::<f64>(&Distribution::from_shape(&ctx, &[1000])?)?;
    /// let before = ctx.comm_stats();
    /// ctx.sync()?;
    /// let after = ctx.comm_stats();
    /// if ctx.backend_name() == "threads" {
    ///     assert_eq!(after.messages_sent - before.messages_sent, 1);
    ///     assert_eq!(after.messages_received - before.messages_received, 1);
    /// }
    /// # drop(a);
    /// # Ok::<(), distarray::Error>(())
    /// ```
    pub fn comm_stats(&self) -> CommStats {
        crate::backend::Counters::snapshot()
    }

    /// Each target engine's counters, in target order: the bytes of local
    /// arrays it holds and has held at most, and how many elementwise calls
    /// ran fused in how many passes (see [`EngineStats`]). Waits for every
    /// command sent so far, so the figures include them.
    ///
    /// # Examples
    /// Fusion at work: `&a * &b + &c` runs as one pass on each engine, and
    /// the temporary `&a * &b` never takes more than a block of memory.
    /// ```
    /// use distarray::prelude::*;
    ///
    /// let ctx = Context::new()?;
    /// let d = Distribution::from_shape(&ctx, &[1 << 20])?;
    /// let (a, b, c) = (ctx.ones::<f64>(&d)?, ctx.ones::<f64>(&d)?, ctx.ones::<f64>(&d)?);
    /// ctx.reset_engine_peaks()?;
    /// let before = ctx.engine_stats()?;
    /// let r = &a * &b + &c;
    /// let after = ctx.engine_stats()?;
    /// for (b, a) in before.iter().zip(&after) {
    ///     assert_eq!((a.fused_calls - b.fused_calls, a.fused_passes - b.fused_passes), (2, 1));
    ///     // The inputs and the result: no whole temporary.
    ///     assert!(a.peak_bytes < b.held_bytes * 4 / 3 + 65536);
    /// }
    /// assert_eq!(r.sum()?, 2.0 * (1 << 20) as f64);
    /// # Ok::<(), distarray::Error>(())
    /// ```
    ///
    /// # Errors
    /// `ContextClosed` after [`close`](Self::close), a backend failure, or
    /// the failure of an earlier command nobody waited for.
    pub fn engine_stats(&self) -> Result<Vec<EngineStats>> {
        self.stats(false)
    }

    /// Starts every target engine's [`peak_bytes`](EngineStats::peak_bytes)
    /// again from what it holds now, to measure the peak of what follows.
    ///
    /// # Errors
    /// As [`engine_stats`](Self::engine_stats).
    pub fn reset_engine_peaks(&self) -> Result<()> {
        self.stats(true).map(drop)
    }

    fn stats(&self, reset_peak: bool) -> Result<Vec<EngineStats>> {
        let replies = self.run_all(&Command::Stats { reset_peak })?;
        replies
            .into_iter()
            .map(|(reply, _)| match reply {
                Reply::Stats(stats) => Ok(stats),
                other => Err(err!(Protocol, "engine counters were answered with {other:?}")),
            })
            .collect()
    }

    /// Waits until the engines have run every command sent so far, and
    /// reports the first failure of a command that was not waited for (see
    /// "Pipelining" above).
    ///
    /// # Errors
    /// That failure; `ContextClosed` after [`close`](Self::close).
    pub fn sync(&self) -> Result<()> {
        self.run_all(&Command::Sync).map(drop)
    }

    /// Deletes the pieces of a dropped array on `targets`: soon, together
    /// with others, if it is small; else now. Pipelined, and quiet: a drop
    /// has nobody to report to.
    pub(crate) fn discard(&self, targets: &[usize], key: String, bytes: usize) {
        if self.is_closed() {
            return; // closing deleted it
        }
        if bytes > Garbage::MAX_BYTES {
            let _ = self.post(targets, &Command::Delete { key });
            return;
        }
        let full = {
            let mut garbage = GARBAGE.lock().unwrap_or_else(PoisonError::into_inner);
            garbage.keys.push((targets.to_vec(), key));
            garbage.bytes += bytes;
            garbage.keys.len() >= Garbage::MAX_KEYS || garbage.bytes > Garbage::MAX_BYTES
        };
        if full {
            self.collect_garbage();
        }
    }

    /// Deletes the keys [`discard`](Self::discard) kept, one pipelined command
    /// per set of engines.
    fn collect_garbage(&self) {
        // Not from a kernel: the client may hold the call lock meanwhile.
        if crate::engine::running_command() {
            return;
        }
        // Taken and sent under the call lock: a call of another client
        // thread that finds the list empty is sent after these deletions.
        let _call = CALLS.lock().unwrap_or_else(PoisonError::into_inner);
        let keys = {
            let mut garbage = GARBAGE.lock().unwrap_or_else(PoisonError::into_inner);
            if garbage.keys.is_empty() {
                return;
            }
            garbage.bytes = 0;
            std::mem::take(&mut garbage.keys)
        };
        let mut by_targets: Vec<(Vec<usize>, Vec<String>)> = Vec::new();
        for (targets, key) in keys {
            match by_targets.iter_mut().find(|(t, _)| *t == targets) {
                Some((_, group)) => group.push(key),
                None => by_targets.push((targets, vec![key])),
            }
        }
        for (targets, keys) in by_targets {
            let _ = self.dispatch_locked(&targets, &Command::DeleteMany { keys }, Vec::new(), false);
        }
    }

    fn dispatch(
        &self,
        targets: &[usize],
        command: &Command,
        payloads: Vec<Vec<u8>>,
        wait: bool,
    ) -> Result<Vec<(Reply, Vec<u8>)>> {
        self.check_open(wait)?;
        let _call = CALLS.lock().unwrap_or_else(PoisonError::into_inner);
        self.check_closed()?;
        self.dispatch_locked(targets, command, payloads, wait)
    }

    /// Checked before a call, without [`CALLS`]: not from a kernel, not
    /// closed; deletes dropped arrays first when the call waits.
    fn check_open(&self, wait: bool) -> Result<()> {
        check_not_in_kernel()?;
        self.check_closed()?;
        if wait {
            // What the client waits for sees every dropped array deleted.
            self.collect_garbage();
        }
        Ok(())
    }

    /// Checked again with [`CALLS`] held: [`close`](Self::close) may have
    /// come first.
    fn check_closed(&self) -> Result<()> {
        if self.is_closed() {
            bail!(ContextClosed, "context {} is closed", self.inner.id);
        }
        Ok(())
    }

    /// [`dispatch`](Self::dispatch) with [`CALLS`] held.
    fn dispatch_locked(
        &self,
        targets: &[usize],
        command: &Command,
        payloads: Vec<Vec<u8>>,
        wait: bool,
    ) -> Result<Vec<(Reply, Vec<u8>)>> {
        let responses = self.inner.backend.execute(targets, encode(command)?, payloads, wait)?;
        let mut out = Vec::with_capacity(responses.len());
        let mut failed = Vec::new();
        for response in responses {
            match decode::<Reply>(&response.reply)? {
                Reply::Failed(e) => failed.push(e),
                reply => out.push((reply, response.data)),
            }
        }
        // The first engine's error, carrying the others' (each names its engine).
        let mut failed = failed.into_iter();
        match failed.next() {
            Some(first) => Err(first.with_others(failed.collect())),
            None => Ok(out),
        }
    }

    /// Runs a command that may use the engines' communicator over `targets`
    /// and waits. If it fails, the communicator is replaced (a failed
    /// collective leaves it in an unknown state) before any other call — from
    /// any client thread — can reach the engines.
    pub(crate) fn run_collective(&self, targets: &[usize], command: &Command) -> Result<Vec<(Reply, Vec<u8>)>> {
        self.run_undoable(targets, command, None::<fn() -> Command>, Ok)
    }

    /// [`run_collective`](Self::run_collective), whose replies `finish` turns
    /// into the outcome while no other call can reach the engines. Should the
    /// command or `finish` fail, the command `undo` builds goes to `targets` right after the
    /// command: no other call, from any client thread, comes between them.
    pub(crate) fn run_undoable<O>(
        &self,
        targets: &[usize],
        command: &Command,
        undo: Option<impl FnOnce() -> Command>,
        finish: impl FnOnce(Vec<(Reply, Vec<u8>)>) -> Result<O>,
    ) -> Result<O> {
        self.check_open(true)?;
        let _call = CALLS.lock().unwrap_or_else(PoisonError::into_inner);
        self.check_closed()?;
        let outcome = self.dispatch_locked(targets, command, Vec::new(), true);
        let failed = outcome.as_ref().err().map(crate::core::error::Error::kind);
        let outcome = outcome.and_then(finish);
        if let (Err(_), Some(undo)) = (&outcome, undo) {
            // Not waited for: an engine that is gone or busy must not make
            // this wait too; each engine runs it before anything else.
            let _ = self.dispatch_locked(targets, &undo(), Vec::new(), false);
        }
        // An engine that is gone or busy would only make a reset wait too.
        if failed.is_some_and(|kind| kind != crate::core::error::ErrorKind::EngineUnavailable) {
            let generation = self.inner.backend.reset_comm(targets);
            let reset = Command::ResetComm { targets: targets.to_vec(), generation };
            let _ = self.dispatch_locked(targets, &reset, Vec::new(), true);
        }
        outcome
    }

    /// Like [`run`](Self::run), for commands that only acknowledge.
    pub(crate) fn run_done(&self, targets: &[usize], command: &Command) -> Result<()> {
        self.run(targets, command, Vec::new()).map(drop)
    }

    /// Makes sure the engines `targets` can make their communicator.
    pub(crate) fn prepare_comm(&self, targets: &[usize]) {
        self.inner.backend.prepare_comm(targets);
    }

    pub(crate) fn id(&self) -> u64 {
        self.inner.id
    }
}

/// `Err(NestedCall)` on an engine: a kernel that drove a context would wait
/// for engines that are busy running it (itself among them).
fn check_not_in_kernel() -> Result<()> {
    if let Some(engine) = crate::engine::running_command_engine() {
        bail!(NestedCall, "a kernel cannot drive the client's context: Context and DistArray calls work on the client only (engine {engine})");
    }
    Ok(())
}

/// Checks that `targets` is non-empty, has no repeats and is within `allowed`.
pub(crate) fn check_targets(targets: &[usize], allowed: &[usize]) -> Result<()> {
    if targets.is_empty() {
        bail!(InvalidTarget, "the target list is empty");
    }
    for (i, t) in targets.iter().enumerate() {
        if !allowed.contains(t) {
            bail!(InvalidTarget, "target {t} is not one of the available engines {allowed:?}");
        }
        if targets[..i].contains(t) {
            bail!(InvalidTarget, "target {t} is repeated in {targets:?}");
        }
    }
    Ok(())
}

impl PartialEq for Context {
    fn eq(&self, other: &Self) -> bool {
        self.inner.id == other.inner.id
    }
}

impl Eq for Context {}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("id", &self.inner.id)
            .field("backend", &self.inner.backend.name())
            .field("targets", &self.inner.targets)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Drop for ContextInner {
    fn drop(&mut self) {
        // Dropped inside a kernel, the context cannot reach the engines (one
        // of them is running the kernel); their keys go at exit.
        if !*self.closed.get_mut() && !crate::engine::running_command() {
            // Best effort: a failure here has nobody to report to, and the
            // engines drop the keys at exit anyway.
            let command = Command::CloseContext { ctx: self.id, prefix: self.prefix.clone() };
            if let Ok(bytes) = encode(&command) {
                // In call order, like every command (between a failed kernel
                // call and its rollback nothing may reach the engines).
                let _call = CALLS.lock().unwrap_or_else(PoisonError::into_inner);
                let _ = self.backend.execute(&self.targets, bytes, Vec::new(), true);
            }
        }
    }
}

/// `Err(WrongContext)` unless `a` and `b` are the same context.
pub(crate) fn same_context(a: &Context, b: &Context, what: impl std::fmt::Display) -> Result<()> {
    if a != b {
        return Err(err!(WrongContext, "{what} belongs to context {} but context {} was used", b.id(), a.id()));
    }
    Ok(())
}
