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
//!   allocated and filled beforehand (`DistArray::__alltoallv_baseline`: an
//!   internal kernel on a duplicate of the engines' communicator, timed on the
//!   engines between barriers, slowest engine per repetition). The
//!   redistribution is timed on the client, so its figure also includes the
//!   command round trip, the planning, packing and unpacking, and allocating
//!   the new pieces. Both figures are the best of 5 repetitions.

use std::sync::mpsc::channel;
use std::time::Instant;

use distarray::prelude::*;

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
        let raw = a.__alltoallv_baseline(&cyclic, REPS)?.into_iter().fold(f64::INFINITY, f64::min);
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
