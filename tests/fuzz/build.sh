#!/bin/bash
# Builds the libFuzzer targets with clang (ASan + UBSan + libFuzzer).
# Not part of the default build. Usage:
#   tests/fuzz/build.sh [BUILD_DIR]     # BUILD_DIR: a configured build (for gen/*.pb-c.*)
#   ./build-fuzz/fuzz_manifest -max_total_time=60 tests/fuzz/corpus examples
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
out=${OUT:-$src/build-fuzz}
gen=$build/gen
if [ ! -f "$gen/objects.pb-c.c" ]; then
    echo "no generated sources in $gen: configure and build $build first" >&2
    exit 1
fi
mkdir -p "$out"
flags="-g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
clang $flags -I"$src/bus" -I"$gen" -o "$out/fuzz_manifest" \
    "$src/tests/fuzz/fuzz_manifest.c" \
    "$src/bus/hs_util.c" "$src/bus/hs_pb.c" "$src/bus/hs_obj.c" \
    "$src/bus/hs_pbjson.c" "$src/bus/hs_manifest.c" \
    "$gen/objects.pb-c.c" "$gen/bus.pb-c.c" \
    $(pkg-config --cflags --libs libprotobuf-c yaml-0.1)
echo "built $out/fuzz_manifest"
