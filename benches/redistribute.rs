//! Redistribution block -> cyclic of 2^24 f64 over 4 engines, as a ratio to a
//! raw exchange of the same bytes in the same run; and single-element `get`
//! calls per second.
//!
//! - Threads: `cargo bench --bench redistribute` (release, 4 thread engines).
//!   The baseline is a raw exchange between 4 threads of the same bytes
//!   (channels and memcpy into a fresh piece, no index computation).
//! - MPI: `cargo bench --features mpi --bench redistribute --no-run`, then
//!   `mpirun -n 5 <the printed executable> --bench` (rank 0 is the client, 4
//!   engine ranks). The baseline is one raw rsmpi `all_to_all_varcount_into`
//!   (`MPI_Alltoallv`) among the 4 engine ranks of exactly the bytes the
//!   redistribution exchanges between each pair of engines, from buffers
//!   allocated and filled beforehand (the `#[local]` kernel `alltoallv` below,
//!   as an rsmpi program would do it on a duplicate of the engines'
//!   communicator, timed on the engines between barriers, slowest engine per
//!   repetition). The
//!   redistribution is timed on the client, so its figure also includes the
//!   command round trip, the planning, packing and unpacking, and allocating
//!   the new pieces (each repetition drops its result, so from the second on
//!   the new pieces and send buffers come from the engines' buffer pools, as
//!   in a loop of a user program; the thread baseline's fresh `out` pays its
//!   page faults). Both figures are the best of 5 repetitions.

use std::sync::mpsc::channel;
use std::time::Instant;

use distarray::prelude::*;
use distarray::{DimDict, Map};

const N: usize = 1 << 24;
const ENGINES: usize = 4;
const REPS: usize = 5;

/// Every thread holds N/4 f64, sends a quarter of them to each thread and
/// copies what it receives into a fresh piece: the same bytes as the
/// redistribution, without computing where each element goes.
fn raw_exchange() -> f64 {
    let local = N / ENGINES;
    let mut best = f64::INFINITY;
    for _ in 0..REPS {
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..ENGINES).map(|_| channel::<Vec<f64>>()).unzip();
        let pieces: Vec<Vec<f64>> = (0..ENGINES).map(|e| vec![e as f64; local]).collect();
        let start = Instant::now();
        std::thread::scope(|s| {
            for ((piece, rx), me) in pieces.iter().zip(receivers).zip(0..) {
                let senders = senders.clone();
                s.spawn(move || {
                    let q = local / ENGINES;
                    for (to, tx) in senders.iter().enumerate() {
                        tx.send(piece[to * q..(to + 1) * q].to_vec()).expect("receiver alive");
                    }
                    let mut out = vec![0.0; local];
                    for _ in 0..ENGINES {
                        let part = rx.recv().expect("senders alive");
                        let at = (me * 7 % ENGINES) * q; // any place: a memcpy of the same size
                        out[at..at + part.len()].copy_from_slice(&part);
                    }
                    std::hint::black_box(out);
                });
            }
        });
        best = best.min(start.elapsed().as_secs_f64());
    }
    best
}

/// Bytes this engine's piece `a` sends to each rank of `dest` (the rank that
/// owns each of its global indices).
#[cfg_attr(not(feature = "mpi"), allow(dead_code))] // the baseline of MPI engines only
fn send_counts(a: &LocalArray<f64>, dest: &Map) -> Vec<usize> {
    let mut counts = vec![0; dest.grid_size()];
    let global = match &a.dim_data()[0] {
        DimDict::Block { start, stop, .. } => *start..*stop,
        other => panic!("the baseline expects a block source, got {other:?}"),
    };
    for g in global {
        counts[dest.owners(g).expect("in range")[0]] += std::mem::size_of::<f64>();
    }
    counts
}

/// The hand-written MPI baseline: per repetition, one rsmpi
/// `all_to_all_varcount_into` (`MPI_Alltoallv`) of the bytes that block ->
/// `dest` exchanges between each pair of engines, on a duplicate of the
/// engines' communicator; seconds per repetition on this engine, or nothing
/// on thread engines.
#[distarray::local]
fn alltoallv(a: &LocalArray<f64>, dest: Map, reps: usize, engine: &EngineCtx) -> Vec<f64> {
    #[cfg(feature = "mpi")]
    if let Some(raw) = engine.comm().raw_mpi_comm() {
        return mpi_alltoallv(raw, &send_counts(a, &dest), reps);
    }
    let _ = (a, dest, reps, engine);
    Vec::new()
}

#[cfg(feature = "mpi")]
fn mpi_alltoallv(raw: distarray::__mpi::ffi::MPI_Comm, sends: &[usize], reps: usize) -> Vec<f64> {
    use distarray::__mpi::datatype::{Partition, PartitionMut};
    use distarray::__mpi::ffi;
    use distarray::__mpi::raw::FromRaw;
    use distarray::__mpi::topology::SimpleCommunicator;
    use distarray::__mpi::traits::*;
    // SAFETY: `raw` is the live communicator of the engines, all of which run
    // this kernel, so the collective `MPI_Comm_dup` is matched; the duplicate
    // is owned (and freed) by the `SimpleCommunicator` built from it.
    let comm = unsafe {
        let mut dup = ffi::RSMPI_COMM_NULL;
        assert_eq!(ffi::MPI_Comm_dup(raw, &mut dup), ffi::MPI_SUCCESS as i32, "MPI_Comm_dup");
        SimpleCommunicator::from_raw(dup)
    };
    let scounts: Vec<i32> = sends.iter().map(|&n| i32::try_from(n).expect("under 2 GiB")).collect();
    let mut rcounts = vec![0i32; scounts.len()];
    comm.all_to_all_into(&scounts[..], &mut rcounts[..]);
    let displs = |c: &[i32]| c.iter().scan(0, |acc, &n| Some(std::mem::replace(acc, *acc + n))).collect::<Vec<i32>>();
    let (sdispls, rdispls) = (displs(&scounts), displs(&rcounts));
    let (stotal, rtotal) = (sends.iter().sum::<usize>(), rcounts.iter().map(|&n| n as usize).sum::<usize>());
    // Separate allocations of at least one byte: MPI rejects equal send and
    // receive addresses, which two empty `Vec`s would share.
    let send = vec![1u8; stotal.max(1)];
    let mut recv = vec![0u8; rtotal.max(1)];
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        comm.barrier();
        let start = distarray::__mpi::time();
        let partition = Partition::new(&send[..stotal], &scounts[..], &sdispls[..]);
        let mut received = PartitionMut::new(&mut recv[..rtotal], &rcounts[..], &rdispls[..]);
        comm.all_to_all_varcount_into(&partition, &mut received);
        times.push(distarray::__mpi::time() - start);
    }
    comm.barrier();
    std::hint::black_box(&recv);
    times
}

fn main() -> Result<()> {
    let ctx = Context::new()?;
    assert_eq!(ctx.num_targets(), ENGINES, "run with 4 engines (DISTARRAY_ENGINES=4, or mpirun -n 5)");
    let block = Distribution::from_shape(&ctx, &[N])?;
    let cyclic = Distribution::builder(&ctx, &[N]).dist("c").build()?;
    let a = ctx.ones::<f64>(&block)?;
    let mut best = f64::INFINITY;
    for _ in 0..REPS {
        let start = Instant::now();
        let b = a.distribute_as(&cyclic)?;
        best = best.min(start.elapsed().as_secs_f64());
        drop(b);
    }
    let gb = (N * 8) as f64 / 1e9;
    let backend = ctx.backend_name();
    println!(
        "redistribute block -> cyclic, 2^24 f64 on {ENGINES} {backend} engines: {:.1} ms ({:.2} GB/s)",
        best * 1e3,
        gb / best
    );
    let raw = if backend == "mpi" {
        // Per repetition the slowest engine, then the best repetition.
        let per_engine = ctx.apply::<alltoallv>((&a, cyclic.maps()[0].clone(), REPS), None)?;
        let raw = (0..REPS).map(|r| per_engine.iter().map(|t| t[r]).fold(0.0, f64::max)).fold(f64::INFINITY, f64::min);
        println!(
            "raw MPI_Alltoallv (rsmpi) of the same bytes among the engine ranks: {:.1} ms ({:.2} GB/s)",
            raw * 1e3,
            gb / raw
        );
        raw
    } else {
        let raw = raw_exchange();
        println!(
            "raw 4-thread exchange of the same bytes:                      {:.1} ms ({:.2} GB/s)",
            raw * 1e3,
            gb / raw
        );
        raw
    };
    println!("ratio redistribute / raw: {:.2}", best / raw);

    let small = ctx.fromarray(&ndarray::Array2::from_shape_fn((100, 100), |(i, j)| (i * 100 + j) as f64), None)?;
    let calls = 100_000;
    let start = Instant::now();
    let mut sum = 0.0;
    for k in 0..calls {
        sum += small.get(&[(k % 100) as isize, ((k / 100) % 100) as isize])?;
    }
    let secs = start.elapsed().as_secs_f64();
    std::hint::black_box(sum);
    println!("get: {calls} single-element calls in {secs:.2} s = {:.0} calls/s", calls as f64 / secs);
    Ok(())
}
