#!/usr/bin/env bash
# The whole test suite: installs the Debian packages the tests need when they
# are missing, checks formatting, lints and docs, runs every cargo test
# (thread engines), the HDF5 tests without
# mpi against the serial HDF5, then the MPI programs under mpirun with 2 and 4
# engines (and the reductions with 8). `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

# libhdf5-dev: the serial HDF5, for feature `hdf5` without `mpi`.
packages=(libopenmpi-dev openmpi-bin libhdf5-openmpi-dev libhdf5-dev hdf5-tools pkg-config libclang-dev)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "== installing ${missing[*]}"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# CI builds each target once: incremental caches would only take disk.
export CARGO_INCREMENTAL=0

# mpirun refuses root without these; tests run as root in CI.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# More ranks than cores here: idle ranks must yield the CPU.
mpirun=(mpirun --oversubscribe --mca mpi_yield_when_idle 1)

echo "== formatting, lints and docs (warnings are errors)"
for component in rustfmt clippy; do
    cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1 || rustup component add "$component"
done
cargo fmt --all --check
cargo clippy --quiet --workspace --all-targets --features mpi,hdf5 -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps --workspace --features mpi,hdf5

echo "== the examples, thread engines, no features"
for example in quickstart local_kernels vectorize random heat; do
    cargo run --quiet --example "$example" >/dev/null
done
# Writes the picture to target/, not over the committed docs/ image.
cargo run --quiet --example plot_distribution target/block_cyclic_2d.svg >/dev/null
# Another engine count than the default.
DISTARRAY_ENGINES=3 cargo run --quiet --example quickstart >/dev/null

# The numpy interop tests (tests/interop) need numpy.
python3 -c 'import numpy' 2>/dev/null || python3 -m pip install -q numpy || python3 -m pip install -q --break-system-packages numpy
# The statistical tests of tests/random_distributions.rs use scipy (without
# it they run their closed-form checks only).
python3 -c 'import scipy' 2>/dev/null || python3 -m pip install -q scipy || python3 -m pip install -q --break-system-packages scipy
# The HDF5 interop tests (tests/hdf5.rs) need h5py.
python3 -c 'import h5py' 2>/dev/null || python3 -m pip install -q h5py || python3 -m pip install -q --break-system-packages h5py

echo "== cargo test (thread engines)"
cargo test --workspace --features mpi,hdf5 2>&1 | tee target/cargo-test.log

echo "== HDF5 on thread engines without mpi, against the serial HDF5"
# pkg-config finds the parallel HDF5 when both are installed; HDF5_DIR picks
# the serial one, in a target dir of its own (HDF5_DIR rebuilds hdf5-sys).
serial_hdf5=(env HDF5_DIR="$(echo /usr/lib/*/hdf5/serial)" CARGO_TARGET_DIR=target/serial-hdf5)
"${serial_hdf5[@]}" cargo test --features hdf5 --test hdf5 --test mpi_hdf5
serial_binary=$("${serial_hdf5[@]}" cargo test --features hdf5 --test hdf5 --no-run 2>&1 | sed -n 's/.*Executable.*(\(.*hdf5-[^)]*\)).*/\1/p' | tail -n 1)
ldd "$serial_binary" >target/serial-hdf5-ldd.log
if grep -q libmpi target/serial-hdf5-ldd.log; then
    echo "FAIL $serial_binary links MPI without the mpi feature"; exit 1
fi

echo "== benches/perf.rs at tiny sizes (checks its code and results, measures nothing)"
PERF_QUICK=1 cargo test --quiet --features mpi,hdf5 --bench perf
PERF_QUICK=1 cargo test --quiet --features mpi,hdf5 --bench stencil
PERF_QUICK=1 cargo test --quiet --features mpi,hdf5 --bench random

echo "== MPI programs"
cargo build --quiet --features mpi,hdf5 --examples
test_binary() { # the executable of test target $1
    cargo test --features mpi,hdf5 --test "$1" --no-run 2>&1 | sed -n "s/.*Executable.*(\(.*$1-[^)]*\)).*/\1/p" | tail -n 1
}
layouts=$(test_binary mpi_layouts)
kernels=$(test_binary mpi_kernels)
ufuncs=$(test_binary mpi_ufuncs)
random=$(test_binary mpi_random)
random_distributions=$(test_binary mpi_random_distributions)
reductions=$(test_binary mpi_reductions)
indexing=$(test_binary mpi_indexing)
io=$(test_binary mpi_io)
halo=$(test_binary mpi_halo)
badinput=$(test_binary mpi_bad_input)
isolation=$(test_binary mpi_isolation)
hdf5prog=$(test_binary mpi_hdf5)
failure=$(test_binary mpi_engine_failure)
collectives=$(test_binary mpi_collectives)
perf=$(cargo test --features mpi,hdf5 --bench perf --no-run 2>&1 | sed -n 's/.*Executable.*(\(.*perf-[^)]*\)).*/\1/p' | tail -n 1)
stencil=$(cargo test --features mpi,hdf5 --bench stencil --no-run 2>&1 | sed -n 's/.*Executable.*(\(.*stencil-[^)]*\)).*/\1/p' | tail -n 1)
passed=0
failed=0
run() { # run NAME EXPECTED_STATUS COMMAND...: a hang counts as a failure
    local name=$1 expected=$2 status=0
    shift 2
    timeout 300 "$@" >"target/$name.log" 2>&1 || status=$?
    # "nonzero": any failure status but timeout's 124 (a hang).
    if [ "$status" = "$expected" ] || { [ "$expected" = nonzero ] && [ "$status" != 0 ] && [ "$status" != 124 ]; }; then
        passed=$((passed + 1)); echo "ok   $name"
    else
        failed=$((failed + 1)); echo "FAIL $name (exit status $status, expected $expected)"; tail -n 30 "target/$name.log"
    fi
}
for n in 3 5; do
    # 2 engines talk to the client directly; 4 through the command tree
    # (by default it starts at 32 engines).
    if [ "$n" = 5 ]; then export DISTARRAY_TREE_MIN=4; else unset DISTARRAY_TREE_MIN; fi
    run "mpi_layouts_np$n" 0 "${mpirun[@]}" -n "$n" "$layouts"
    run "mpi_kernels_np$n" 0 "${mpirun[@]}" -n "$n" "$kernels"
    run "mpi_ufuncs_np$n" 0 "${mpirun[@]}" -n "$n" "$ufuncs"
    run "mpi_random_np$n" 0 "${mpirun[@]}" -n "$n" "$random"
    run "mpi_random_distributions_np$n" 0 "${mpirun[@]}" -n "$n" "$random_distributions"
    run "mpi_reductions_np$n" 0 "${mpirun[@]}" -n "$n" "$reductions"
    run "mpi_indexing_np$n" 0 "${mpirun[@]}" -n "$n" "$indexing"
    run "mpi_io_np$n" 0 "${mpirun[@]}" -n "$n" "$io"
    run "mpi_halo_np$n" 0 "${mpirun[@]}" -n "$n" "$halo"
    run "mpi_bad_input_np$n" 0 "${mpirun[@]}" -n "$n" "$badinput"
    run "mpi_collectives_np$n" 0 "${mpirun[@]}" -n "$n" "$collectives"
    # Without RUST_BACKTRACE a panicking engine prints one line.
    run "mpi_isolation_np$n" 0 env -u RUST_BACKTRACE "${mpirun[@]}" -n "$n" "$isolation"
    if grep -q "stack backtrace" "target/mpi_isolation_np$n.log" || ! grep -q "^distarray engine [0-9]*: panicked at " "target/mpi_isolation_np$n.log"; then
        failed=$((failed + 1)); echo "FAIL mpi_isolation_np$n: engine panics not reported in one line each"
    fi
    run "mpi_hdf5_np$n" 0 "${mpirun[@]}" -n "$n" "$hdf5prog"
    PERF_QUICK=1 run "mpi_perf_quick_np$n" 0 "${mpirun[@]}" -n "$n" "$perf"
    if [ "$n" = 3 ]; then
        PERF_QUICK=1 run "mpi_stencil_quick_np$n" 0 "${mpirun[@]}" -n "$n" "$stencil"
    fi
    for example in quickstart local_kernels vectorize random heat; do
        run "mpi_example_${example}_np$n" 0 "${mpirun[@]}" -n "$n" "target/debug/examples/$example"
    done
    # main returns Err: the client exits 1, the engines end, nobody hangs.
    run "mpi_error_exit_np$n" 1 "${mpirun[@]}" -n "$n" target/debug/examples/mpi_error_exit
    grep -q "InvalidGridShape" "target/mpi_error_exit_np$n.log" || { failed=$((failed + 1)); echo "FAIL mpi_error_exit_np$n printed no error"; }
done
# 8 engines: the command tree with three levels; the client's messages per
# call stay one each way (tests/mpi_reductions.rs asserts it).
DISTARRAY_TREE_MIN=4 run "mpi_reductions_np9" 0 "${mpirun[@]}" -n 9 "$reductions"
unset DISTARRAY_TREE_MIN
# A lost engine ends the job instead of hanging it: SIGKILL (mpirun notices),
# SIGSTOP (the client gives up after DISTARRAY_ENGINE_TIMEOUT and aborts), and
# an engine that exits as a crash would.
for fault in kill hang exit; do
    DISTARRAY_FAULT=$fault DISTARRAY_ENGINE_TIMEOUT=3 run "mpi_engine_failure_$fault" nonzero "${mpirun[@]}" -n 3 "$failure"
done
grep -q "exited on signal 9" target/mpi_engine_failure_kill.log || { failed=$((failed + 1)); echo "FAIL mpi_engine_failure_kill: no notice of the killed rank"; }
grep -q "did not answer within 3.0 s" target/mpi_engine_failure_hang.log || { failed=$((failed + 1)); echo "FAIL mpi_engine_failure_hang: no timeout message"; }
# Leftover engine ranks would mean a rank outlived its job (killed ones take
# a moment to go).
sleep 2
if pgrep -f "target/debug/(examples/|deps/mpi_)" >/dev/null; then
    failed=$((failed + 1)); echo "FAIL engine processes left running"; pgrep -af "target/debug" || true
fi

echo "mpi: $passed passed, $failed failed"
[ "$failed" = 0 ]
