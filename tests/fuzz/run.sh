#!/usr/bin/env bash
# Runs every built fuzz target for a few seconds each. A crash, leak or
# sanitizer report fails the run; the reproducer is left in build-fuzz/.
set -euo pipefail
build=$1
seconds=${2:-30}
here=$(cd "$(dirname "$0")" && pwd)
status=0
for bin in "$build"/fuzz_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    corpus="$build/corpus/$name"
    mkdir -p "$corpus"
    seeds=()
    if [ -d "$here/corpus/$name" ]; then
        seeds=("$here/corpus/$name")
    fi
    echo "fuzz: $name for ${seconds}s"
    if ! (cd "$build" && "./$name" -max_total_time="$seconds" -rss_limit_mb=2048 \
            -print_final_stats=0 "$corpus" "${seeds[@]}" >"$name.log" 2>&1); then
        echo "fuzz: $name FAILED; see $build/$name.log"
        tail -40 "$build/$name.log"
        status=1
    fi
done
exit $status
