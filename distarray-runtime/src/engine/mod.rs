//! The engine: a key store of local arrays and the command interpreter that
//! both backends run, with what commands work on — local arrays ([`local`]),
//! the engines' communicator ([`comm`]) and kernels ([`kernel`]). Nothing
//! here knows the client's types.

use rustc_hash::FxHashMap as HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use ndarray::{ArrayD, IxDyn};
use smallvec::SmallVec;

use crate::core::alloc::{size_of_shape, Side};
use crate::core::element::{with_dtype, DType, Element};
use crate::core::error::{bail, err, Error, Result};
use crate::layout::{local_shape, rank_to_coords, Layout, MapBase};
use crate::protocol::{decode, encode_reply, Command, EngineStats, Init, Reply, ReplyBytes};
use comm::{Collectives, Comm};
use local::{LocalArray, StoredArray};
use running::{panic_message, RunningCommand};

pub(crate) mod cart;
pub mod comm;
pub(crate) mod fusion;
mod fuzz;
pub(crate) mod halo;
pub(crate) mod kernel;
pub(crate) mod local;
pub(crate) mod pool;
mod running;
pub(crate) mod stencil;

pub use fuzz::fuzz_command;
pub(crate) use running::{quiet_engine_panics, running_command, running_command_engine};

/// Makes the communicator of a new context; one per backend.
pub(crate) trait CommFactory: Send {
    /// The communicator over `targets` (engine ids, in rank order), which
    /// include this engine, in its `generation` (how many times it was reset,
    /// see `Command::ResetComm`). Every target calls it while running the
    /// same command.
    fn open(&mut self, targets: &[usize], generation: u64) -> Result<Box<dyn Comm>>;
}

/// One engine: its id among all engines, its arrays and its communicators.
pub(crate) struct Engine {
    id: usize,
    store: HashMap<String, Box<dyn StoredArray>>,
    // One communicator per distinct target list, made on first use and kept:
    // contexts and kernels over the same engines share it.
    comms: HashMap<Vec<usize>, Box<dyn Comm>>,
    /// How many times each communicator was reset.
    generations: HashMap<Vec<usize>, u64>,
    factory: Box<dyn CommFactory>,
    /// The first failure of a command nobody waited for, reported with the
    /// next answer the client waits for.
    deferred: Option<Error>,
    /// Told to stop (fault injection): the backend ends this engine.
    stopped: bool,
    /// Pipelined elementwise calls and deletions waiting to run fused (see
    /// [`fusion`]).
    queued: Vec<fusion::Queued>,
    stats: EngineStats,
    /// The arrays the last kernel call borrowed mutably, as they were before
    /// it, with the call's result key: kept until the next command, which is
    /// either its [`Command::Rollback`] (another engine failed the call) or
    /// anything else (the call succeeded everywhere; the copies are dropped).
    undo: Option<Undo>,
    /// The copies of a committed kernel call, kept while kernel calls follow
    /// one another: the next call's copies of the same arrays go into them
    /// instead of freshly allocated (page-faulted) memory.
    spares: Vec<Box<dyn StoredArray>>,
    /// The halo exchanges begun by one command and finished by a later one,
    /// by array key (see [`halo::pending`]).
    halos: HashMap<String, halo::pending::PendingHalo>,
    /// Freed pieces for reuse, lent to the thread running each command (see
    /// [`pool`]).
    pool: pool::Pool,
}

/// What undoes a kernel call on this engine (see [`Engine::run_kernel`]).
pub(crate) struct Undo {
    /// The call's result key.
    pub call: String,
    /// Each mutably borrowed array's key with what puts it back.
    pub arrays: Snapshots,
}

/// The arrays a kernel call took from the store, with their store keys
/// (inline: a call takes a few, and one allocation per call shows in a
/// microsecond call).
pub(crate) type TakenArrays = SmallVec<[(String, Box<dyn StoredArray>); 4]>;

/// What puts back each array a kernel call borrowed mutably, by key.
pub(crate) type Snapshots = SmallVec<[(String, Saved); 2]>;

/// Puts back the little that a kernel changed in an array.
pub(crate) type PutBack = Box<dyn FnOnce(&mut dyn StoredArray) + Send>;

/// What puts one mutably borrowed array back as it was before a call.
pub(crate) enum Saved {
    /// A copy of the whole array.
    Copy(Box<dyn StoredArray>),
    /// A kernel that writes little (one element) saves only that.
    Restore(PutBack),
}

impl Saved {
    /// The whole copy, if this is one.
    fn into_copy(self) -> Option<Box<dyn StoredArray>> {
        match self {
            Saved::Copy(copy) => Some(copy),
            Saved::Restore(_) => None,
        }
    }

    /// Puts `array` back as it was.
    pub(crate) fn restore(self, array: &mut Box<dyn StoredArray>) {
        match self {
            Saved::Copy(copy) => *array = copy,
            Saved::Restore(put_back) => put_back(array.as_mut()),
        }
    }
}

impl Engine {
    pub(crate) fn new(id: usize, factory: Box<dyn CommFactory>) -> Self {
        Engine {
            id,
            store: HashMap::default(),
            comms: HashMap::default(),
            generations: HashMap::default(),
            factory,
            deferred: None,
            stopped: false,
            queued: Vec::new(),
            stats: EngineStats::default(),
            undo: None,
            spares: Vec::new(),
            halos: HashMap::default(),
            pool: pool::Pool::default(),
        }
    }

    /// Runs one encoded command with its payload; returns the encoded reply and
    /// the response data when `answer` (the client waits), else `None`. Never
    /// panics: a panic while executing becomes a `Failed` reply and the engine
    /// keeps its state.
    ///
    /// A command the client does not wait for (pipelined) that fails keeps its
    /// error; the next command it waits for runs as usual but answers with
    /// that error, so no failure goes unreported.
    pub(crate) fn handle(&mut self, command: &[u8], payload: Vec<u8>, answer: bool) -> Option<(ReplyBytes, Vec<u8>)> {
        let id = self.id;
        let _running = RunningCommand::enter(id);
        pool::swap(&mut self.pool);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let command: Command = decode(command)?;
            self.execute(command, payload, answer)
        }));
        pool::swap(&mut self.pool);
        let (reply, data) = match outcome {
            Ok(Ok(done)) => done,
            Ok(Err(e)) => (Reply::Failed(e.context(format_args!("engine {id}"))), Vec::new()),
            Err(panic) => (Reply::Failed(err!(Engine, "engine {id} panicked: {}", panic_message(&*panic))), Vec::new()),
        };
        self.answer(reply, data, answer)
    }

    /// Answers, as [`handle`](Self::handle) does a failed command, a command
    /// whose payload could not be received (`error`, e.g. `OutOfMemory`).
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))] // thread payloads arrive in memory
    pub(crate) fn refuse(&mut self, error: Error, answer: bool) -> Option<(ReplyBytes, Vec<u8>)> {
        let reply = Reply::Failed(error.context(format_args!("engine {}", self.id)));
        self.answer(reply, Vec::new(), answer)
    }

    /// The encoded answer to a command that gave `reply` and `data`, if the
    /// client waits for it; else keeps its failure for the next answer.
    fn answer(&mut self, reply: Reply, data: Vec<u8>, answer: bool) -> Option<(ReplyBytes, Vec<u8>)> {
        if !answer {
            if let Reply::Failed(e) = reply {
                self.keep_failure(e);
            }
            return None;
        }
        let (reply, data) = match self.deferred.take() {
            Some(e) => (Reply::Failed(e), Vec::new()),
            None => (reply, data),
        };
        // A reply that cannot be encoded is reported as such rather than lost.
        let reply = encode_reply(&reply).unwrap_or_else(|e| encode_reply(&Reply::Failed(e)).unwrap_or_default());
        Some((reply, data))
    }

    /// Keeps `e`, the failure of a command nobody waited for, for the next
    /// answer (the first one only).
    fn keep_failure(&mut self, e: Error) {
        if self.deferred.is_none() {
            self.deferred = Some(e.context("an earlier call that was not waited for failed"));
        }
    }

    fn execute(&mut self, command: Command, payload: Vec<u8>, answer: bool) -> Result<(Reply, Vec<u8>)> {
        let done = |data| Ok((Reply::Done, data));
        // Any command but the undo of the last kernel call commits that call;
        // only a kernel call keeps spare copies.
        let undo = self.undo.take();
        if !matches!(command, Command::RunKernel(_)) {
            self.spares.drain(..).for_each(pool::recycle);
        }
        // Pipelined elementwise calls wait to run fused; anything else runs
        // them first.
        let Some(command) = self.defer(command, answer) else {
            return done(Vec::new());
        };
        if !self.queued.is_empty() {
            self.flush();
        }
        match command {
            Command::OpenContext { ctx, targets } => {
                let id = self.id;
                let comm = self.comm(&targets)?;
                // Check the communicator end to end: every member must see the
                // same membership in the same order.
                let members: Vec<usize> = comm.all_gather(&id)?;
                if members != targets {
                    bail!(Backend, "context {ctx}: communicator members {members:?} differ from targets {targets:?}");
                }
                done(Vec::new())
            }
            Command::CloseContext { prefix, .. } => {
                self.delete_prefix(&prefix);
                done(Vec::new())
            }
            Command::Rollback { call } => {
                if let Some(undo) = undo.filter(|u| u.call == call) {
                    for (key, saved) in undo.arrays {
                        if let Some(array) = self.store.get_mut(&key) {
                            saved.restore(array);
                        }
                    }
                }
                self.delete(&call);
                done(Vec::new())
            }
            Command::RunKernel(call) => {
                // The last call's copies become buffers for this call's.
                self.spares.extend(undo.into_iter().flat_map(|u| u.arrays).filter_map(|(_, saved)| saved.into_copy()));
                let (output, data) = self.run_kernel(call, answer)?;
                Ok((Reply::Kernel(output), data))
            }
            Command::Create { key, dtype, layout, init } => {
                let array = with_dtype!(dtype, T => self.create::<T>(&layout, init, &payload)?);
                self.insert(key, array);
                done(Vec::new())
            }
            Command::Fill { key, dtype, value } => {
                self.get_mut(&key, dtype)?.fill_raw(&value)?;
                done(Vec::new())
            }
            Command::Pull { key, dtype } => done(self.get(&key, Some(dtype))?.raw_bytes()?),
            Command::CheckDType { key, dtype } => {
                self.get(&key, Some(dtype))?;
                done(Vec::new())
            }
            Command::DimData { key } => Ok((Reply::DimData(self.get(&key, None)?.dim_data().to_vec()), Vec::new())),
            Command::Delete { key } => {
                self.delete(&key);
                done(Vec::new())
            }
            Command::DeleteMany { keys } => {
                for key in keys {
                    self.delete(&key);
                }
                done(Vec::new())
            }
            Command::DeletePrefix { prefix } => {
                self.delete_prefix(&prefix);
                done(Vec::new())
            }
            Command::ReleasePool => Ok((Reply::Count(pool::release() as u64), Vec::new())),
            Command::Stats { reset_peak } => {
                if reset_peak {
                    self.stats.peak_bytes = self.stats.held_bytes;
                }
                Ok((Reply::Stats(self.stats), Vec::new()))
            }
            Command::Sync => done(Vec::new()),
            Command::Stop => {
                self.stopped = true;
                done(Vec::new())
            }
            Command::BeginHalo { key, dtype, targets, tag } => {
                self.begin_halo(key, dtype, targets, tag)?;
                done(Vec::new())
            }
            Command::FinishHalo { key, tag } => {
                self.finish_halo(&key, tag)?;
                done(Vec::new())
            }
            Command::ResetComm { targets, generation } => {
                self.forget_halos(&targets);
                if let Some(comm) = self.comms.remove(&targets) {
                    comm.retire();
                }
                self.generations.insert(targets, generation);
                done(Vec::new())
            }
            Command::ListKeys { prefix } => {
                let mut keys: Vec<String> = self.store.keys().filter(|k| k.starts_with(&prefix)).cloned().collect();
                keys.sort();
                Ok((Reply::Keys(keys), Vec::new()))
            }
        }
    }

    /// Whether the engine was told to stop (see `Command::Stop`).
    pub(crate) fn stopped(&self) -> bool {
        self.stopped
    }

    /// The communicator over `targets`, made on first use.
    pub(crate) fn comm(&mut self, targets: &[usize]) -> Result<&dyn Comm> {
        if !self.comms.contains_key(targets) {
            let generation = self.generations.get(targets).copied().unwrap_or(0);
            let comm = self.factory.open(targets, generation)?;
            self.comms.insert(targets.to_vec(), comm);
        }
        self.comms
            .get(targets)
            .map(|c| c.as_ref())
            .ok_or_else(|| err!(Backend, "communicator over {targets:?} vanished"))
    }

    /// The engine's id among all engines.
    pub(crate) fn id(&self) -> usize {
        self.id
    }

    /// Moves the arrays `keys` out of the store (cloned where a key repeats).
    pub(crate) fn take_arrays(&mut self, keys: &[(String, DType)]) -> Result<TakenArrays> {
        let mut taken = TakenArrays::with_capacity(keys.len());
        for (key, dtype) in keys {
            let array = match taken.iter().find(|(k, _)| k == key) {
                Some((_, first)) => first.clone_box().map(|copy| (key.clone(), copy)),
                // The store's own key goes with it: no copy of the name.
                None => match self.remove_entry(key) {
                    Some(entry) => match check_dtype(key, entry.1.as_ref(), *dtype) {
                        Ok(()) => Ok(entry),
                        Err(e) => {
                            self.restore([entry]);
                            Err(e)
                        }
                    },
                    None => Err(err!(KeyNotFound, "no array named {key:?}")),
                },
            }
            .inspect_err(|_| self.restore(std::mem::take(&mut taken)))?;
            taken.push(array);
        }
        Ok(taken)
    }

    /// Puts arrays taken by [`take_arrays`](Self::take_arrays) back; of a
    /// repeated key the first copy is kept.
    pub(crate) fn restore(&mut self, arrays: impl IntoIterator<Item = (String, Box<dyn StoredArray>)>) {
        for (key, array) in arrays {
            if let std::collections::hash_map::Entry::Vacant(place) = self.store.entry(key) {
                self.stats.hold(array.nbytes());
                place.insert(array);
            }
        }
    }

    /// Moves `key`'s array out of the store (no longer counted as held).
    fn remove(&mut self, key: &str) -> Option<Box<dyn StoredArray>> {
        self.remove_entry(key).map(|(_, array)| array)
    }

    /// [`remove`](Self::remove), with the store's key.
    fn remove_entry(&mut self, key: &str) -> Option<(String, Box<dyn StoredArray>)> {
        let (key, array) = self.store.remove_entry(key)?;
        self.stats.release(array.nbytes());
        Some((key, array))
    }

    /// Keeps what undoes the kernel call just run (see [`Undo`]).
    pub(crate) fn keep_undo(&mut self, undo: Undo) {
        self.undo = Some(undo);
    }

    /// The spare copies (see `Engine::spares`), for the kernel call starting.
    pub(crate) fn take_spares(&mut self) -> Vec<Box<dyn StoredArray>> {
        std::mem::take(&mut self.spares)
    }

    /// Stores `array` under `key`; a piece it replaces goes to the pool.
    pub(crate) fn insert(&mut self, key: String, array: Box<dyn StoredArray>) {
        self.stats.hold(array.nbytes());
        if let Some(old) = self.store.insert(key, array) {
            self.stats.release(old.nbytes());
            pool::recycle(old);
        }
    }

    /// Deletes `key` (a missing key is not an error); its piece goes to the pool.
    fn delete(&mut self, key: &str) {
        self.abandon_halo(key);
        if let Some(array) = self.remove(key) {
            pool::recycle(array);
        }
    }

    /// Deletes every key that starts with `prefix`, the pieces to the pool.
    fn delete_prefix(&mut self, prefix: &str) {
        let keys: Vec<String> = self.store.keys().filter(|k| k.starts_with(prefix)).cloned().collect();
        for key in keys {
            self.delete(&key);
        }
    }

    fn create<T: Element>(&self, layout: &Layout, init: Init, payload: &[u8]) -> Result<Box<dyn StoredArray>> {
        layout.check()?;
        let Some(rank) = layout.targets.iter().position(|&t| t == self.id) else {
            bail!(InvalidTarget, "engine {} is not among the array's targets {:?}", self.id, layout.targets);
        };
        let grid_shape: Vec<usize> = layout.maps.iter().map(MapBase::grid_size).collect();
        let coords = rank_to_coords(rank, &grid_shape);
        let dim_data: Vec<_> = layout.maps.iter().zip(&coords).map(|(m, &c)| m.dimdict(c)).collect();
        let array = match init {
            Init::Payload => LocalArray::<T>::from_bytes(payload, dim_data, Side::Engine)?,
            Init::Empty | Init::Zeros | Init::Ones => {
                let value = if init == Init::Ones { T::one() } else { T::zero() };
                let shape = local_shape(&dim_data);
                let n = size_of_shape(&shape)?;
                let mut values = pool::vec(n)?;
                values.resize(n, value);
                let data = ArrayD::from_shape_vec(IxDyn(&shape), values).map_err(|e| err!(InvalidShape, "{e}"))?;
                LocalArray::new(data, dim_data)?
            }
        };
        Ok(Box::new(array))
    }

    fn get(&self, key: &str, dtype: Option<DType>) -> Result<&dyn StoredArray> {
        let array = self.store.get(key).ok_or_else(|| err!(KeyNotFound, "no array named {key:?}"))?;
        if let Some(dtype) = dtype {
            check_dtype(key, array.as_ref(), dtype)?;
        }
        Ok(array.as_ref())
    }

    fn get_mut(&mut self, key: &str, dtype: DType) -> Result<&mut dyn StoredArray> {
        let array = self.store.get_mut(key).ok_or_else(|| err!(KeyNotFound, "no array named {key:?}"))?;
        check_dtype(key, array.as_ref(), dtype)?;
        Ok(array.as_mut())
    }
}

/// `Err(DTypeMismatch)` unless `array`, stored under `key`, holds `dtype`.
fn check_dtype(key: &str, array: &dyn StoredArray, dtype: DType) -> Result<()> {
    if array.dtype() != dtype {
        bail!(DTypeMismatch, "array {key:?} holds {}, not {dtype}", array.dtype());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::error::ErrorKind;
    use crate::protocol::encode;

    /// Engines in these tests never run collectives.
    struct NoComms;

    impl CommFactory for NoComms {
        fn open(&mut self, targets: &[usize], _: u64) -> Result<Box<dyn Comm>> {
            bail!(Backend, "no communicator over {targets:?} in this test")
        }
    }

    fn answer(engine: &mut Engine, command: &Command) -> Reply {
        let (reply, _) = engine.handle(&encode(command).unwrap(), Vec::new(), true).expect("an answer was asked for");
        decode(&reply).unwrap()
    }

    #[test]
    fn a_failed_pipelined_command_is_reported_by_the_next_answer_once() {
        let mut engine = Engine::new(0, Box::new(NoComms));
        let pull = Command::Pull { key: "missing".into(), dtype: DType::F64 };
        // Not waited for: no answer, the failure is kept.
        assert!(engine.handle(&encode(&pull).unwrap(), Vec::new(), false).is_none());
        // A second failure does not replace the first.
        let other = Command::Fill { key: "other".into(), dtype: DType::F64, value: vec![0; 8] };
        assert!(engine.handle(&encode(&other).unwrap(), Vec::new(), false).is_none());
        match answer(&mut engine, &Command::Sync) {
            Reply::Failed(e) => {
                assert_eq!(e.kind(), ErrorKind::KeyNotFound);
                assert!(e.message().contains("\"missing\""), "{e}");
                assert!(e.message().contains("not waited for"), "{e}");
            }
            other => panic!("expected the deferred failure, got {other:?}"),
        }
        // Reported once: the engine is clean again.
        assert!(matches!(answer(&mut engine, &Command::Sync), Reply::Done));
    }

    #[test]
    fn successful_pipelined_commands_leave_nothing_to_report() {
        let mut engine = Engine::new(0, Box::new(NoComms));
        assert!(engine.handle(&encode(&Command::Delete { key: "k".into() }).unwrap(), Vec::new(), false).is_none());
        assert!(matches!(answer(&mut engine, &Command::Sync), Reply::Done));
    }

    #[test]
    fn undecodable_commands_fail_without_panicking() {
        let mut engine = Engine::new(0, Box::new(NoComms));
        let (reply, data) = engine.handle(&[0xff, 0xff, 0xff], Vec::new(), true).unwrap();
        assert!(data.is_empty());
        assert!(matches!(decode::<Reply>(&reply).unwrap(), Reply::Failed(e) if e.kind() == ErrorKind::Protocol));
    }
}
