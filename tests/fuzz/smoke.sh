#!/bin/bash
# Runs one fuzz target for a while over a copy of its seed corpus (the repo
# is not written): fails on any finding (crash, leak, UB, failed invariant,
# timeout, out of memory). What it found is kept beside the binary.
#   tests/fuzz/smoke.sh TARGET_BINARY CORPUS_DIR [SECONDS]
set -euo pipefail
bin=$1
corpus=$2
secs=${3:-30}
[ -x "$bin" ] || { echo "smoke: no $bin: run tests/fuzz/build.sh first" >&2; exit 1; }
[ -d "$corpus" ] || { echo "smoke: no corpus $corpus" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/hs-fuzz-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus" "$work/tmp"
cp -r "$corpus"/. "$work/corpus/"
artifacts=$(dirname "$bin")/artifacts/$(basename "$bin")
mkdir -p "$artifacts"
# TMPDIR: where fuzz_store keeps its store; removed with the rest.
rc=0
TMPDIR=$work/tmp "$bin" -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$work/corpus" >"$work/log" 2>&1 || rc=$?
grep -E '^(#[0-9]+[[:space:]]+DONE|Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$work/log" || true
if [ "$rc" -ne 0 ]; then
    echo "smoke: $(basename "$bin") failed (exit $rc); the end of its log:" >&2
    tail -60 "$work/log" >&2
    echo "smoke: what it found is in $artifacts" >&2
    exit 1
fi
echo "smoke: $(basename "$bin"): nothing found in ${secs} s"
