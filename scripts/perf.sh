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
threads=$(DISTARRAY_ENGINES=2 "$bench" --bench)
echo "$threads"
mpirun --oversubscribe --mca mpi_yield_when_idle 1 -n 3 "$bench" --bench

# numpy on the same machine (one core), for the cases it has, beside the
# thread figures of the same run.
if python3 -c 'import numpy' 2>/dev/null; then
    echo
    echo "numpy $(python3 -c 'import numpy; print(numpy.__version__)') on the same machine, one core (\`scripts/perf_numpy.py\`); ratio = numpy time / distarray time."
    echo
    echo "| case | numpy | distarray, 2 threads | ratio |"
    echo "|---|---|---|---|"
    python3 scripts/perf_numpy.py | awk -F'\t' -v rows="$threads" '
        function fmt(s) { return s < 1e-3 ? sprintf("%.1f µs", s * 1e6) : sprintf("%.2f ms", s * 1e3) }
        function secs(t) { return t ~ /µs/ ? t * 1e-6 : t * 1e-3 }
        BEGIN {
            n = split(rows, lines, "\n")
            for (i = 1; i <= n; i++) {
                split(lines[i], f, " [|] ")
                ours[f[2]] = f[3]
            }
        }
        ($1 in ours) { printf "| %s | %s | %s | %.2f |\n", $1, fmt($2), ours[$1], $2 / secs(ours[$1]) }'
fi
