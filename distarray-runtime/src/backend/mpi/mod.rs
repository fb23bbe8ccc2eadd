//! MPI engines: under `mpirun -n N+1`, world rank 0 is the client and ranks
//! `1..=N` are engines `0..N` running the command loop until the client ends.
//!
//! Each command goes point-to-point to its targets only, as one message with
//! the engine's payload; the response comes back the same way. Small messages
//! are eager, so the client sends a pipelined command (see `Backend::execute`)
//! without waiting for anyone. Engine-to-engine traffic uses communicators of
//! the engine ranks only (no client), one per target list.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use mpi::environment::Universe;
use mpi::topology::{Color, Communicator, SimpleCommunicator};
use mpi::traits::*;
use mpi::Threading;

use super::{engine_stack_size, engine_timeout, few_enough_to_poll, Backend, Counters, Response, MAX_IN_FLIGHT};
use crate::core::alloc::Side;

use crate::core::error::{bail, err, Result};
use crate::engine::Engine;
use crate::protocol::{encode_reply, Reply};
use comm::MpiCommFactory;

mod comm;
mod tree;

/// A command and its payload, client to engine.
const TAG_COMMAND: i32 = 1;
/// A reply and its data, engine to client.
const TAG_REPLY: i32 = 2;
/// The tail of a message past the first [`CHUNK`] bytes of its second part.
const TAG_TAIL: i32 = 3;
/// On an engine communicator: the sender will not join the current
/// collectives (see `Comm::abort`).
const TAG_ABORT: i32 = 4;
/// On an engine communicator: a point-to-point message (`Comm::send_bytes`).
const TAG_P2P: i32 = 5;
/// A payload straight from the client, after its command came down the tree.
const TAG_PAYLOAD: i32 = 6;
/// Response data straight to the client, its reply going up the tree.
const TAG_DATA: i32 = 7;
/// On an engine communicator: tagged messages (`Comm::send_tagged`) go
/// under this tag plus theirs (below 32000: within every MPI's tag bound).
const TAG_TAGGED: i32 = 64;

/// MPI counts are `i32`: larger buffers go in pieces of this many bytes.
const CHUNK: usize = 1 << 30;
/// Second parts up to this many bytes travel in the message of the first.
const INLINE: usize = 1 << 16;

/// What a command message asks of an engine (its first byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Run the command; the client does not wait for an answer.
    Post = 0,
    /// Run the command and answer.
    Run = 1,
    /// Stop serving: the client is ending.
    Shutdown = 2,
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
    /// Commands sent without waiting since the last wait.
    in_flight: usize,
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
        // Collective over the world: the ranks of this node share its cores.
        Idle::spin_first(few_enough_to_poll(world.split_shared(rank).size() as usize));
        // Every rank reads the same environment: the client reports a bad
        // value as its error, the engines end.
        let stack = engine_stack_size();
        // Collective over the world: the engines' communicator, without the client.
        let color = if rank == 0 { Color::undefined() } else { Color::with_value(0) };
        let engines = world.split_by_color(color);
        match engines {
            Some(engines) if rank != 0 => {
                // The engine loop runs on a thread of its own, for the stack
                // size thread engines get too (the main thread's is fixed by
                // `ulimit -s`); the main thread only waits, so MPI is still
                // called from one thread at a time.
                let stack = stack.unwrap_or_else(|e| exit_engine_rank(rank, &e));
                crate::engine::quiet_engine_panics();
                let id = rank as usize - 1;
                let moved = Serialized((world, engines));
                let served = std::thread::Builder::new()
                    .name(format!("distarray-engine-{id}"))
                    .stack_size(stack)
                    .spawn(move || {
                        // The whole wrapper moves in, not its fields.
                        let moved = moved;
                        let Serialized((world, engines)) = moved;
                        serve(&world, engines, id);
                        Serialized(world)
                    })
                    .map_err(|e| err!(Backend, "cannot start engine {id}'s thread with a stack of {stack} bytes (DISTARRAY_ENGINE_STACK): {e}"))
                    .unwrap_or_else(|e| exit_engine_rank(rank, &e));
                let Ok(Serialized(world)) = served.join() else {
                    // The engine loop never panics (commands run under
                    // catch_unwind); should it, end as a crash would.
                    std::process::exit(1);
                };
                drop(world);
                drop(universe); // MPI_Finalize
                std::process::exit(0);
            }
            _ => {
                stack?;
                *lock() = Some(Serialized(Client { world, universe: Some(universe), in_flight: 0 }));
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

/// Ends an engine rank that cannot serve; mpirun then ends the job.
fn exit_engine_rank(rank: i32, e: &crate::core::error::Error) -> ! {
    eprintln!("distarray: MPI rank {rank} cannot serve as an engine: {e}");
    std::process::exit(1)
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
            Err(std::sync::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(_) => return,
        }
    };
    if let Some(Serialized(mut client)) = guard.take() {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // Through the tree, engine 0 tells the others.
            let ranks = if tree::tree_min() < client.world.size() as usize { 1..2 } else { 1..client.world.size() };
            for rank in ranks {
                send_parts(&client.world.process_at_rank(rank), TAG_COMMAND, &[Kind::Shutdown as u8], &[]);
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

    // Engine ranks make their communicators themselves (a collective call,
    // ordered like the commands).
    fn reset_comm(&self, _targets: &[usize]) -> u64 {
        0
    }

    fn execute(
        &self,
        targets: &[usize],
        command: Vec<u8>,
        payloads: Vec<Vec<u8>>,
        wait: bool,
    ) -> Result<Vec<Response>> {
        if let Some(t) = targets.iter().find(|&&t| t >= self.engines) {
            bail!(InvalidTarget, "there is no engine {t}: this run has {} engines", self.engines);
        }
        let mut guard = lock();
        let Some(Serialized(client)) = guard.as_mut() else {
            bail!(Backend, "the MPI engines have been shut down");
        };
        let answer = wait || client.in_flight >= MAX_IN_FLIGHT;
        client.in_flight = if answer { 0 } else { client.in_flight + 1 };
        if self.engines >= tree::tree_min() {
            return Ok(execute_tree(client, targets, &command, payloads, answer));
        }
        let world = &client.world;
        let mut head = Vec::with_capacity(1 + command.len());
        head.push(if answer { Kind::Run } else { Kind::Post } as u8);
        head.extend_from_slice(&command);
        Counters::sent(targets.len(), targets.len() * head.len() + payloads.iter().map(Vec::len).sum::<usize>());
        let mut payloads = payloads.into_iter();
        for &t in targets {
            send_parts(&world.process_at_rank(t as i32 + 1), TAG_COMMAND, &head, &payloads.next().unwrap_or_default());
        }
        if !answer {
            return Ok(Vec::new());
        }
        let timeout = engine_timeout();
        let responses: Vec<Response> = targets
            .iter()
            .map(|&t| match receive_parts(&world.process_at_rank(t as i32 + 1), TAG_REPLY, timeout, Side::Client) {
                Some((reply, Ok(data))) => Response { reply: reply.into(), data },
                // Data the client cannot hold: the call fails with that.
                Some((_, Err(e))) => Response {
                    reply: encode_reply(&Reply::Failed(e.context(format_args!("the answer of engine {t}"))))
                        .unwrap_or_default(),
                    data: Vec::new(),
                },
                None => {
                    // The protocol cannot go on without this answer: end the job
                    // (mpirun then stops every rank) rather than hang.
                    eprintln!(
                        "distarray: engine {t} (MPI rank {}) did not answer within {:.1} s (DISTARRAY_ENGINE_TIMEOUT): \
                         its process died or hangs; ending the MPI job",
                        t + 1,
                        timeout.unwrap_or_default().as_secs_f64()
                    );
                    world.abort(70)
                }
            })
            .collect();
        Counters::received(responses.len(), responses.iter().map(|r| r.reply.len() + r.data.len()).sum());
        Ok(responses)
    }
}

/// [`Backend::execute`] through the tree (see [`tree`]): one message to
/// engine 0, the payloads straight to each target, one merged answer back
/// (with the data of the answers that have some straight from their engines).
fn execute_tree(
    client: &Client,
    targets: &[usize],
    command: &[u8],
    payloads: Vec<Vec<u8>>,
    answer: bool,
) -> Vec<Response> {
    let world = &client.world;
    let kind = if answer { Kind::Run } else { Kind::Post } as u8;
    let head = tree::Head::encode(kind, !payloads.is_empty(), targets, command);
    send_parts(&world.process_at_rank(1), TAG_COMMAND, &head, &[]);
    for (&t, payload) in targets.iter().zip(&payloads) {
        send_parts(&world.process_at_rank(t as i32 + 1), TAG_PAYLOAD, &[], payload);
    }
    Counters::sent(1 + payloads.len(), head.len() + payloads.iter().map(Vec::len).sum::<usize>());
    if !answer {
        return Vec::new();
    }
    let timeout = engine_timeout();
    let Some((merged, _)) = receive_parts(&world.process_at_rank(1), TAG_REPLY, timeout, Side::Client) else {
        eprintln!(
            "distarray: the engines did not answer within {:.1} s (DISTARRAY_ENGINE_TIMEOUT): a process died or \
             hangs; ending the MPI job",
            timeout.unwrap_or_default().as_secs_f64()
        );
        world.abort(70)
    };
    let failed = |e: crate::core::error::Error| Response {
        reply: encode_reply(&Reply::Failed(e)).unwrap_or_default(),
        data: Vec::new(),
    };
    let answers = tree::Answers::decode(&merged);
    let mut received = (1, merged.len());
    let responses = targets
        .iter()
        .map(|&t| match answers.as_ref().map(|a| a.of(t)) {
            Ok(Some(run)) if !run.direct => Response { reply: run.reply.as_slice().into(), data: run.data.clone() },
            Ok(Some(run)) => {
                match receive_parts(&world.process_at_rank(t as i32 + 1), TAG_DATA, timeout, Side::Client) {
                    Some((_, Ok(data))) => {
                        received = (received.0 + 1, received.1 + data.len());
                        Response { reply: run.reply.as_slice().into(), data }
                    }
                    Some((_, Err(e))) => failed(e.context(format_args!("the answer of engine {t}"))),
                    None => world.abort(70),
                }
            }
            Ok(None) => failed(err!(Protocol, "the engines' answers have none from engine {t}")),
            Err(e) => failed(e.clone()),
        })
        .collect();
    Counters::received(received.0, received.1);
    responses
}

/// The engine command loop of world rank `id + 1`.
fn serve(world: &SimpleCommunicator, engines: SimpleCommunicator, id: usize) {
    let count = world.size() as usize - 1;
    let mut engine = Engine::new(id, Box::new(MpiCommFactory { engines: Serialized(engines) }));
    if count >= tree::tree_min() {
        return serve_tree(world, engine, id, count);
    }
    let client = world.process_at_rank(0);
    loop {
        let Some((head, payload)) = receive_parts(&client, TAG_COMMAND, None, Side::Engine) else {
            return;
        };
        let answer = match head.first() {
            Some(&k) if k == Kind::Run as u8 => true,
            Some(&k) if k == Kind::Post as u8 => false,
            // Shutdown; anything else means client and engine disagree on the
            // protocol, and nothing sensible can follow.
            _ => return,
        };
        let answered = match payload {
            Ok(payload) => engine.handle(&head[1..], payload, answer),
            Err(e) => engine.refuse(e, answer),
        };
        if let Some((reply, data)) = answered {
            send_parts(&client, TAG_REPLY, &reply, &data);
        }
        if engine.stopped() {
            // As a crash would: no MPI_Finalize.
            std::process::exit(1);
        }
    }
}

/// The engine command loop of world rank `id + 1` when commands come down
/// the tree (see [`tree`]): forward, run, merge the answers, send them up.
fn serve_tree(world: &SimpleCommunicator, mut engine: Engine, id: usize, count: usize) {
    let client = world.process_at_rank(0);
    let up = world.process_at_rank(if id == 0 { 0 } else { tree::parent(id) as i32 + 1 });
    loop {
        let Some((head, _)) = receive_parts(&up, TAG_COMMAND, None, Side::Engine) else {
            return;
        };
        let answer = match head.first() {
            Some(&k) if k == Kind::Run as u8 => true,
            Some(&k) if k == Kind::Post as u8 => false,
            _ => {
                // Shutdown (or a protocol the client and engine disagree on):
                // the subtree ends too.
                for c in tree::children(id, count) {
                    send_parts(&world.process_at_rank(c as i32 + 1), TAG_COMMAND, &[Kind::Shutdown as u8], &[]);
                }
                return;
            }
        };
        let Ok(parsed) = tree::Head::decode(&head[1..]) else {
            return;
        };
        let below: Vec<usize> =
            tree::children(id, count).filter(|&c| parsed.targets.iter().any(|&t| tree::in_subtree(c, t))).collect();
        // Before running it: a collective command needs every target to have it.
        for &c in &below {
            send_parts(&world.process_at_rank(c as i32 + 1), TAG_COMMAND, &head, &[]);
        }
        let mut answers = tree::Answers::default();
        let mut data = Vec::new();
        if parsed.targets.contains(&id) {
            let payload = if parsed.payloads {
                match receive_parts(&client, TAG_PAYLOAD, None, Side::Engine) {
                    Some((_, payload)) => payload,
                    None => return,
                }
            } else {
                Ok(Vec::new())
            };
            let answered = match payload {
                Ok(payload) => engine.handle(parsed.command, payload, answer),
                Err(e) => engine.refuse(e, answer),
            };
            if let Some((reply, bytes)) = answered {
                answers.push(id, reply.into_vec(), &bytes);
                if bytes.len() > tree::INLINE_DATA {
                    data = bytes;
                }
            }
            if engine.stopped() {
                std::process::exit(1);
            }
        }
        if answer {
            for &c in &below {
                let Some((bytes, _)) =
                    receive_parts(&world.process_at_rank(c as i32 + 1), TAG_REPLY, None, Side::Engine)
                else {
                    return;
                };
                match tree::Answers::decode(&bytes) {
                    Ok(theirs) => answers.extend(theirs),
                    Err(_) => return,
                }
            }
            send_parts(&up, TAG_REPLY, &answers.merged().encode(), &[]);
            // After the answer: a large send waits for the client, which
            // takes the data once it has every answer.
            if !data.is_empty() {
                send_parts(&client, TAG_DATA, &[], &data);
            }
        }
    }
}

/// Sends a message of two parts (a command and its payload, a reply and its
/// data) as one MPI message: both lengths, the first part, the second when it
/// is small (else straight from its buffer, in further messages of at most
/// MPI's count limit: a large second part is never copied).
fn send_parts<P: Destination>(to: &P, tag: i32, first: &[u8], second: &[u8]) {
    let head = if second.len() <= INLINE { second.len() } else { 0 };
    let mut message = Vec::with_capacity(16 + first.len() + head);
    message.extend_from_slice(&(first.len() as u64).to_le_bytes());
    message.extend_from_slice(&(second.len() as u64).to_le_bytes());
    message.extend_from_slice(first);
    message.extend_from_slice(&second[..head]);
    to.send_with_tag(&message[..], tag);
    for chunk in second[head..].chunks(CHUNK) {
        to.send_with_tag(chunk, TAG_TAIL);
    }
}

/// Waits for a message of [`send_parts`], polling with a growing sleep: a
/// blocking MPI receive would spin and steal the core of the ranks that have
/// work, on machines with fewer cores than ranks.
/// `None` if nothing came within `timeout`. The second part is a checked
/// allocation `on` this side: when its announced length cannot be held, its
/// tail is received and dropped chunk by chunk and the second part is
/// `Err(OutOfMemory)`.
fn receive_parts<P: Source>(
    from: &P,
    tag: i32,
    timeout: Option<Duration>,
    on: Side,
) -> Option<(Vec<u8>, Result<Vec<u8>>)> {
    let mut idle = Idle::default();
    let started = Instant::now();
    let probed = loop {
        match from.immediate_matched_probe_with_tag(tag) {
            Some(probed) => break probed,
            None if timeout.is_some_and(|t| started.elapsed() > t) => return None,
            None => idle.wait(),
        }
    };
    let (bytes, _) = probed.matched_receive_vec::<u8>();
    let length =
        |at: usize| bytes.get(at..at + 8).map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or_default()) as usize);
    let (first_len, second_len) = (length(0), length(8));
    let first = bytes.get(16..16 + first_len).unwrap_or_default().to_vec();
    let head = bytes.get(16 + first_len..).unwrap_or_default();
    let mut at = head.len();
    let second = match on.vec(second_len.max(at)) {
        Ok(mut second) => {
            second.extend_from_slice(head);
            second.resize(second_len.max(at), 0);
            while at < second_len {
                let end = (at + CHUNK).min(second_len);
                from.receive_into_with_tag(&mut second[at..end], TAG_TAIL);
                at = end;
            }
            Ok(second)
        }
        Err(e) => {
            // The sender sends the tail anyway: take it, one chunk at a time.
            let mut scratch = Vec::new();
            while at < second_len {
                let end = (at + CHUNK).min(second_len);
                scratch.resize(end - at, 0);
                from.receive_into_with_tag(&mut scratch[..], TAG_TAIL);
                at = end;
            }
            Err(e)
        }
    };
    Some((first, second))
}

/// A wait that first polls without yielding, briefly (an answer to a small
/// command comes within microseconds, and a yield on every poll lets the
/// ranks sharing the core take turns with it: a round trip of a client and
/// two engines on two cores took 10-13 µs yielding, 4-5 µs spinning first);
/// then polls yielding the core, for a while (commands and answers come in
/// quick bursts, and a sleep costs tens of microseconds more than asked);
/// then sleeps briefly, so that a wait of milliseconds (a reduction, a peer a
/// little behind) overshoots by little; then, once the wait is long (the
/// engine is idle), for a millisecond at a time, which costs next to no CPU.
struct Idle {
    start: Instant,
    poll: Duration,
}

/// Whether waits spin before they yield (see [`Idle::spin_first`]).
static SPINS_FIRST: AtomicBool = AtomicBool::new(false);

impl Default for Idle {
    fn default() -> Self {
        Idle { start: Instant::now(), poll: Self::POLL }
    }
}

impl Idle {
    /// Short enough that a rank waiting on a busy one gives its core back
    /// within a fraction of a time slice.
    const SPIN: Duration = Duration::from_micros(30);
    const POLL: Duration = Duration::from_millis(2);
    const SHORT: Duration = Duration::from_millis(20);

    /// The wait of a collective that moves data: MPI progresses it only
    /// while it is tested, so it polls (yielding) for up to `poll` before
    /// sleeping, instead of sleeping through the transfer.
    fn polling(poll: Duration) -> Self {
        Idle { start: Instant::now(), poll }
    }

    /// Whether waits spin before they yield: not with many more ranks than
    /// cores on the node, where a spinning rank holds a core a rank with
    /// work needs (with a thousand ranks on two cores, 30 µs each after
    /// every message would add up to milliseconds per command).
    fn spin_first(spin: bool) {
        SPINS_FIRST.store(spin, Ordering::Relaxed);
    }

    fn wait(&mut self) {
        let waited = self.start.elapsed();
        if waited < Self::SPIN && SPINS_FIRST.load(Ordering::Relaxed) {
            std::hint::spin_loop();
        } else if waited < self.poll {
            std::thread::yield_now();
        } else if waited < self.poll + Self::SHORT {
            std::thread::sleep(Duration::from_micros(50));
        } else {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
