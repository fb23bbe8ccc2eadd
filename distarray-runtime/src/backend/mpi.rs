//! MPI engines: under `mpirun -n N+1`, world rank 0 is the client and ranks
//! `1..=N` are engines `0..N` running the command loop until the client ends.
//!
//! Each command is broadcast over the world communicator (a tree, O(log P)),
//! naming its targets; engines that are not targets skip it. Per-engine
//! payloads and responses are point-to-point. Engine-to-engine traffic uses
//! communicators of the engine ranks only (no client), one per context.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use mpi::environment::Universe;
use mpi::topology::{Color, Communicator, Group, SimpleCommunicator};
use mpi::traits::*;
use mpi::Threading;
use serde::{Deserialize, Serialize};

use super::{Backend, Response};
use crate::comm::Comm;
use crate::engine::{CommFactory, Engine};
use crate::error::{bail, err, Result};
use crate::protocol::{decode, encode};

const TAG_PAYLOAD: i32 = 1;
const TAG_REPLY: i32 = 2;
const TAG_DATA: i32 = 3;

/// MPI counts are `i32`: larger buffers go in pieces of this many bytes.
const CHUNK: usize = 1 << 30;

/// What the client broadcasts to every engine rank.
#[derive(Serialize, Deserialize)]
enum Broadcast {
    Run { targets: Vec<usize>, with_payload: bool, command: Vec<u8> },
    Shutdown,
}

/// MPI handles are raw pointers, so not `Send`; every use is serialised by a
/// mutex (MPI runs in `Threading::Serialized`), which makes moving them sound.
struct Serialized<T>(T);
// SAFETY: see above: all access goes through `CLIENT`'s mutex or stays on the
// engine rank's main thread.
unsafe impl<T> Send for Serialized<T> {}

struct Client {
    world: SimpleCommunicator,
    universe: Option<Universe>,
}

static CLIENT: Mutex<Option<Serialized<Client>>> = Mutex::new(None);

pub(crate) struct MpiBackend {
    engines: usize,
}

impl MpiBackend {
    /// Initialises MPI. Returns on rank 0; on engine ranks serves commands, then
    /// finalises MPI and exits the process.
    pub(crate) fn start() -> Result<Self> {
        let (universe, level) = mpi::initialize_with_threading(Threading::Serialized)
            .ok_or_else(|| err!(Backend, "MPI was already initialised in this process"))?;
        let world = universe.world();
        if level < Threading::Serialized {
            bail!(Backend, "the MPI library offers thread level {level:?}, distarray needs Serialized");
        }
        let size = world.size() as usize;
        if size < 2 {
            bail!(Backend, "the MPI backend needs a client and at least one engine: run with `mpirun -n N+1` (N >= 1), got 1 process");
        }
        let rank = world.rank();
        // Collective over the world: the engines' communicator, without the client.
        let color = if rank == 0 { Color::undefined() } else { Color::with_value(0) };
        let engines = world.split_by_color(color);
        match engines {
            Some(engines) if rank != 0 => {
                serve(&world, engines, rank as usize - 1);
                drop(world);
                drop(universe); // MPI_Finalize
                std::process::exit(0);
            }
            _ => {
                *lock() = Some(Serialized(Client { world, universe: Some(universe) }));
                // Engines wait for the client's word to end; give it at exit,
                // whether main returns Ok, Err or panics.
                // SAFETY: `shutdown_at_exit` is an `extern "C" fn()` that does not unwind.
                if unsafe { atexit(shutdown_at_exit) } != 0 {
                    bail!(Backend, "cannot register the MPI shutdown handler");
                }
                Ok(MpiBackend { engines: size - 1 })
            }
        }
    }
}

fn lock() -> MutexGuard<'static, Option<Serialized<Client>>> {
    CLIENT.lock().unwrap_or_else(PoisonError::into_inner)
}

extern "C" {
    fn atexit(callback: extern "C" fn()) -> std::os::raw::c_int;
}

extern "C" fn shutdown_at_exit() {
    // Another client thread may still hold the lock mid-call; wait a little,
    // then leave the engines to mpirun rather than hang the exit.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut guard = loop {
        match CLIENT.try_lock() {
            Ok(g) => break g,
            Err(std::sync::TryLockError::Poisoned(p)) => break p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => return,
        }
    };
    if let Some(Serialized(mut client)) = guard.take() {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if let Ok(bytes) = encode(&Broadcast::Shutdown) {
                broadcast_bytes(&client.world, Some(bytes));
            }
            client.universe.take(); // MPI_Finalize
        }));
    }
}

impl Backend for MpiBackend {
    fn name(&self) -> &'static str {
        "mpi"
    }

    fn num_engines(&self) -> usize {
        self.engines
    }

    fn prepare_comm(&self, _targets: &[usize]) {}

    fn execute(&self, targets: &[usize], command: &[u8], payloads: Vec<Vec<u8>>) -> Result<Vec<Response>> {
        if let Some(t) = targets.iter().find(|&&t| t >= self.engines) {
            bail!(InvalidTarget, "there is no engine {t}: this run has {} engines", self.engines);
        }
        let guard = lock();
        let Some(Serialized(client)) = guard.as_ref() else {
            bail!(Backend, "the MPI engines have been shut down");
        };
        let world = &client.world;
        let with_payload = !payloads.is_empty();
        let message = encode(&Broadcast::Run { targets: targets.to_vec(), with_payload, command: command.to_vec() })?;
        broadcast_bytes(world, Some(message));
        for (payload, &t) in payloads.iter().zip(targets) {
            send_bytes(&world.process_at_rank(t as i32 + 1), payload, TAG_PAYLOAD);
        }
        Ok(targets
            .iter()
            .map(|&t| {
                let engine = world.process_at_rank(t as i32 + 1);
                wait_for(&engine, TAG_REPLY);
                let reply = receive_bytes(&engine, TAG_REPLY);
                let data = receive_bytes(&engine, TAG_DATA);
                Response { reply, data }
            })
            .collect())
    }
}

/// The engine command loop of world rank `id + 1`.
fn serve(world: &SimpleCommunicator, engines: SimpleCommunicator, id: usize) {
    let mut engine = Engine::new(id, Box::new(MpiCommFactory { engines: Serialized(engines) }));
    let client = world.process_at_rank(0);
    loop {
        let bytes = broadcast_bytes(world, None);
        match decode::<Broadcast>(&bytes) {
            Ok(Broadcast::Run { targets, with_payload, command }) => {
                if !targets.contains(&id) {
                    continue;
                }
                let payload = if with_payload { receive_bytes(&client, TAG_PAYLOAD) } else { Vec::new() };
                let (reply, data) = engine.handle(&command, payload);
                send_bytes(&client, &reply, TAG_REPLY);
                send_bytes(&client, &data, TAG_DATA);
            }
            // An undecodable broadcast means client and engine disagree on the
            // protocol; nothing sensible can follow.
            Ok(Broadcast::Shutdown) | Err(_) => return,
        }
    }
}

/// Broadcasts bytes from world rank 0: `Some` on the root, `None` elsewhere.
///
/// The length goes first, through a non-blocking broadcast that waiting engines
/// poll with a growing sleep: a blocking MPI call would spin and steal the
/// client's core on small machines.
fn broadcast_bytes(world: &SimpleCommunicator, bytes: Option<Vec<u8>>) -> Vec<u8> {
    let root = world.process_at_rank(0);
    let mut len = bytes.as_ref().map_or(0, Vec::len) as u64;
    mpi::request::scope(|scope| {
        let mut request = root.immediate_broadcast_into(scope, &mut len);
        let mut idle = Idle::default();
        loop {
            match request.test() {
                Ok(_) => break,
                Err(pending) => {
                    request = pending;
                    idle.wait();
                }
            }
        }
    });
    let mut buf = bytes.unwrap_or_else(|| vec![0u8; len as usize]);
    for chunk in buf.chunks_mut(CHUNK) {
        root.broadcast_into(chunk);
    }
    buf
}

fn send_bytes<P: Destination>(to: &P, bytes: &[u8], tag: i32) {
    to.send_with_tag(&(bytes.len() as u64), tag);
    for chunk in bytes.chunks(CHUNK) {
        to.send_with_tag(chunk, tag);
    }
}

/// Polls until a message with `tag` from `from` is there, sleeping more and
/// more while none is (see [`broadcast_bytes`]).
fn wait_for<P: Source>(from: &P, tag: i32) {
    let mut idle = Idle::default();
    while from.immediate_probe_with_tag(tag).is_none() {
        idle.wait();
    }
}

/// A wait that first spins briefly (commands come in quick bursts), then
/// sleeps for up to a millisecond at a time.
#[derive(Default)]
struct Idle {
    rounds: u32,
}

impl Idle {
    fn wait(&mut self) {
        self.rounds = self.rounds.saturating_add(1);
        if self.rounds < 64 {
            std::thread::yield_now();
        } else {
            let micros = 10u64 << (self.rounds - 64).min(7);
            std::thread::sleep(Duration::from_micros(micros.min(1000)));
        }
    }
}

fn receive_bytes<P: Source>(from: &P, tag: i32) -> Vec<u8> {
    let (len, _) = from.receive_with_tag::<u64>(tag);
    let mut buf = vec![0u8; len as usize];
    for chunk in buf.chunks_mut(CHUNK) {
        from.receive_into_with_tag(chunk, tag);
    }
    buf
}

struct MpiCommFactory {
    engines: Serialized<SimpleCommunicator>,
}

impl CommFactory for MpiCommFactory {
    fn open(&mut self, targets: &[usize]) -> Result<Box<dyn Comm>> {
        let engines = &self.engines.0;
        let ranks: Vec<i32> = targets.iter().map(|&t| t as i32).collect();
        let group = engines.group().include(&ranks);
        // Collective over the group members only, which are exactly the targets
        // running this command; every member derives the same tag.
        let tag = (targets.iter().fold(17u64, |h, &t| h.wrapping_mul(31).wrapping_add(t as u64)) % (1 << 15)) as i32;
        match engines.split_by_subgroup_with_tag(&group, tag) {
            Some(comm) => Ok(Box::new(MpiComm(Serialized(comm)))),
            None => bail!(Backend, "engine is not a member of the communicator over {targets:?}"),
        }
    }
}

/// An MPI communicator of one context's engines.
struct MpiComm(Serialized<SimpleCommunicator>);

impl MpiComm {
    fn comm(&self) -> &SimpleCommunicator {
        &self.0 .0
    }
}

fn count(len: usize) -> Result<i32> {
    i32::try_from(len).map_err(|_| err!(Unsupported, "an engine message of {len} bytes exceeds MPI's 2 GiB count limit"))
}

fn displacements(counts: &[i32]) -> Vec<i32> {
    counts.iter().scan(0, |acc, &c| {
        let d = *acc;
        *acc += c;
        Some(d)
    }).collect()
}

/// A zeroed buffer of `len` bytes with its own allocation even when `len` is
/// 0: two empty `Vec`s share one dangling address, and MPI rejects a send
/// buffer equal to the receive buffer (MPI_ERR_ARG) unless it is MPI_IN_PLACE.
fn distinct_buffer(len: usize) -> Vec<u8> {
    vec![0u8; len.max(1)]
}

fn split(buf: Vec<u8>, counts: &[i32]) -> Vec<Vec<u8>> {
    let mut rest = buf.as_slice();
    counts
        .iter()
        .map(|&c| {
            let (head, tail) = rest.split_at(c as usize);
            rest = tail;
            head.to_vec()
        })
        .collect()
}

impl Comm for MpiComm {
    fn rank(&self) -> usize {
        self.comm().rank() as usize
    }

    fn raw_mpi_comm(&self) -> Option<mpi::ffi::MPI_Comm> {
        Some(mpi::raw::AsRaw::as_raw(self.comm()))
    }

    fn size(&self) -> usize {
        self.comm().size() as usize
    }

    fn all_gather_bytes(&self, send: &[u8]) -> Result<Vec<Vec<u8>>> {
        let comm = self.comm();
        let mut counts = vec![0i32; self.size()];
        comm.all_gather_into(&count(send.len())?, &mut counts[..]);
        let displs = displacements(&counts);
        let total = counts.iter().map(|&c| c as usize).sum();
        let (mut send_buf, mut buf) = (distinct_buffer(send.len()), distinct_buffer(total));
        send_buf[..send.len()].copy_from_slice(send);
        let mut partition = mpi::datatype::PartitionMut::new(&mut buf[..total], &counts[..], &displs[..]);
        comm.all_gather_varcount_into(&send_buf[..send.len()], &mut partition);
        buf.truncate(total);
        Ok(split(buf, &counts))
    }

    fn all_to_all_bytes(&self, send: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>> {
        let comm = self.comm();
        if send.len() != self.size() {
            bail!(InvalidShape, "all_to_all needs {} buffers, got {}", self.size(), send.len());
        }
        let send_counts = send.iter().map(|b| count(b.len())).collect::<Result<Vec<i32>>>()?;
        let mut recv_counts = vec![0i32; self.size()];
        // Non-blocking and polled with a growing sleep (as `broadcast_bytes`):
        // members that arrive early must not spin on a core the others still
        // need to pack their buffers.
        mpi::request::scope(|scope| {
            let mut request = comm.immediate_all_to_all_into(scope, &send_counts[..], &mut recv_counts[..]);
            let mut idle = Idle::default();
            loop {
                match request.test() {
                    Ok(_) => break,
                    Err(pending) => {
                        request = pending;
                        idle.wait();
                    }
                }
            }
        });
        let send_total = send.iter().map(Vec::len).sum();
        let mut flat = distinct_buffer(send_total);
        let mut at = 0;
        for b in &send {
            flat[at..at + b.len()].copy_from_slice(b);
            at += b.len();
        }
        let send_displs = displacements(&send_counts);
        let recv_displs = displacements(&recv_counts);
        let total = recv_counts.iter().map(|&c| c as usize).sum();
        let mut buf = distinct_buffer(total);
        let partition = mpi::datatype::Partition::new(&flat[..send_total], &send_counts[..], &send_displs[..]);
        let mut received = mpi::datatype::PartitionMut::new(&mut buf[..total], &recv_counts[..], &recv_displs[..]);
        comm.all_to_all_varcount_into(&partition, &mut received);
        buf.truncate(total);
        Ok(split(buf, &recv_counts))
    }
}
