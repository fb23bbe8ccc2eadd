#!/usr/bin/env bash
# Short fuzz run of every cargo-fuzz target in fuzz/: the .npy and .dnpy
# header parsers, the header dictionaries' text parser and the client-engine
# command decoding (with a standalone engine executing the command).
#
#   bash scripts/fuzz.sh            # 60 seconds per target
#   bash scripts/fuzz.sh 300        # 300 seconds per target
#   bash scripts/fuzz.sh 60 command # only the named targets
#
# Installs cargo-fuzz when missing; needs a nightly toolchain (rustup
# toolchain install nightly). Crashes are saved under
# fuzz/artifacts/<target>/ and the script exits non-zero; the corpus grows
# in fuzz/corpus/<target>/ between runs.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${1:-60}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(npy_header dnpy_header header_text command)

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
rustup run nightly rustc --version >/dev/null

failed=()
for target in "${targets[@]}"; do
    echo "== fuzzing $target for ${seconds}s"
    mkdir -p "corpus/$target"
    if ! cargo +nightly fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" -rss_limit_mb=2048 2>&1 \
        | tee "/tmp/fuzz_$target.log" | grep -E "^(#[0-9]+ +DONE|==[0-9]+== ERROR|SUMMARY|Done [0-9]+ runs)"; then
        :
    fi
    if grep -qE "^==[0-9]+== ERROR|panicked at|deadly signal" "/tmp/fuzz_$target.log"; then
        failed+=("$target")
        echo "FAIL $target: see /tmp/fuzz_$target.log and fuzz/artifacts/$target/"
    else
        echo "ok   $target"
    fi
done
if ((${#failed[@]})); then
    echo "fuzz: crashes in ${failed[*]}"
    exit 1
fi
echo "fuzz: no crash in ${targets[*]}"
