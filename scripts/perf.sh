#!/usr/bin/env bash
# Runs benches/perf.rs on 2 thread engines and under `mpirun -n 3` (client + 2
# engine ranks) and prints the results as one markdown table, with the date
# and the machine, ready for the README. Release build; takes a few minutes.
#
#     bash scripts/perf.sh > target/perf.md
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

bench=$(cargo bench --features mpi --bench perf --no-run 2>&1 | sed -n 's/.*Executable.*(\(.*perf-[^)]*\)).*/\1/p' | tail -n 1)
[ -n "$bench" ] || { echo "could not build benches/perf.rs" >&2; exit 1; }

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
memory=$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores of ${cpu:-an unknown CPU}, $memory, by \`bash scripts/perf.sh\`."
echo "Ratio = hand-written baseline time / distarray time (1.00 = as fast; higher is faster)."
echo
echo "| backend | case | distarray | hand-written | ratio |"
echo "|---|---|---|---|---|"
DISTARRAY_ENGINES=2 "$bench" --bench
mpirun --oversubscribe --mca mpi_yield_when_idle 1 -n 3 "$bench" --bench
