#!/bin/bash
# A long run of one fuzz target (the figures in tests/fuzz/README.md): RUNS
# executions, niced, over a work copy of its seed corpus that grows as it
# goes (WORK_DIR; kept, so a run can go on from where it stopped), with
# libFuzzer's log in WORK_DIR/log and the final figures printed at the end.
#   tests/fuzz/long.sh BIN_DIR TARGET [RUNS] [WORK_DIR]
#   e.g. tests/fuzz/long.sh build/fuzz fuzz_store 10000000 /var/tmp/fuzz-long/fuzz_store
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
bin=$1/$2
target=$2
runs=${3:-10000000}
work=${4:-${TMPDIR:-/tmp}/hs-fuzz-long/$target}
[ -x "$bin" ] || { echo "long: no $bin: run tests/fuzz/build.sh first" >&2; exit 1; }
mkdir -p "$work/corpus" "$work/tmp" "$work/artifacts"
cp -rn "$src/tests/fuzz/corpus/$target"/. "$work/corpus/"
start=$(date -u +%FT%TZ)
t0=$(date +%s)
rc=0
TMPDIR=$work/tmp nice -n 10 "$bin" -runs="$runs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/log" 2>&1 || rc=$?
t1=$(date +%s)
echo "target:     $target"
echo "started:    $start, $((t1 - t0)) s wall, exit $rc"
grep -E '^#[0-9]+[[:space:]]+DONE' "$work/log" | tail -1 || tail -1 "$work/log"
grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$work/log" || true
echo "corpus:     $(find "$work/corpus" -type f | wc -l) files, $(du -sk "$work/corpus" | cut -f1) KiB"
exit "$rc"
