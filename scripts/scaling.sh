#!/usr/bin/env bash
# Latency against the engine count: thread engines 1-64, then MPI engines
# under mpirun (client + N ranks) for N = 2, 4, 8, 16, 32. Release build.
# Counts above the core count are oversubscribed: read the trend.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bench=$(cargo bench --features mpi --bench scaling --no-run 2>&1 | sed -n 's/.*Executable.*(\(.*scaling-[^)]*\)).*/\1/p' | tail -n 1)
"$bench"
for n in ${SCALING_MPI:-2 4 8 16 32}; do
    mpirun --oversubscribe --mca mpi_yield_when_idle 1 -n $((n + 1)) "$bench"
done
