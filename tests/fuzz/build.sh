#!/bin/bash
# Builds the libFuzzer targets with clang (ASan + UBSan + libFuzzer): the
# project's sources (bus/, the store's core, the agents' pure parts) are
# compiled once into a library, then each target links it.
# Not part of the default build. Usage:
#   tests/fuzz/build.sh [BUILD_DIR] [TARGET...]
#     BUILD_DIR: a configured build (for gen/*.pb-c.*); default build/
#     TARGET: fuzz_manifest fuzz_pbjson fuzz_store fuzz_agent fuzz_api (default: all)
#   OUT=DIR puts the binaries there (default BUILD_DIR/fuzz); JOBS=N (default 2).
#   ./build/fuzz/fuzz_manifest -max_total_time=60 tests/fuzz/corpus/fuzz_manifest
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
shift || true
out=${OUT:-$build/fuzz}
jobs=${JOBS:-2}
gen=$build/gen
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_manifest fuzz_pbjson fuzz_store fuzz_agent fuzz_api)
if [ ! -f "$gen/objects.pb-c.c" ]; then
    echo "no generated sources in $gen: configure and build $build first" >&2
    exit 1
fi
CC=${CC:-clang}
if ! command -v "$CC" >/dev/null; then
    echo "no $CC: the fuzz targets need clang and libFuzzer (scripts/install-deps)" >&2
    exit 1
fi
mkdir -p "$out/obj"
flags="-g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=address,undefined -fno-sanitize-recover=undefined"
incs=(-I"$src/bus" -I"$gen" -I"$src/services/store" -I"$src/agents/common" -I"$src/agents/node"
      -I"$src/services/apiserver" -I"$src/tools/hsctl")
# shellcheck disable=SC2207
pkgs=($(pkg-config --cflags libprotobuf-c yaml-0.1 libzmq libczmq libsystemd libsodium))
# shellcheck disable=SC2207
libs=($(pkg-config --libs libprotobuf-c yaml-0.1 libzmq libczmq libsystemd libsodium) -llmdb -lpthread)

# The library: everything but the mains (the broker, the daemons).
lib_srcs=()
for f in "$src"/bus/hs_*.c; do
    [ "$(basename "$f")" = hs_broker.c ] || lib_srcs+=("$f")
done
lib_srcs+=("$gen"/*.pb-c.c
           "$src/services/store/store_ops.c" "$src/services/store/store_wal.c"
           "$src/services/store/store_batch.c" "$src/services/store/store_alloc.c"
           "$src/services/store/store_authz.c"
           "$src/services/store/store_secret.c"
           "$src/agents/common/agent_rules.c" "$src/agents/common/agent_node.c"
           "$src"/tools/hsctl/ctl_{table,print,select,output,describe_fmt}.c)
# hs-apiserver's pure modules (services/apiserver/api.h): all but the daemon's
for f in "$src"/services/apiserver/api_*.c; do
    case $(basename "$f") in
    api_main.c | api_http.c | api_auth.c | api_cache.c | api_crud.c | api_sub.c) ;;
    *) lib_srcs+=("$f") ;;
    esac
done
objs=()
pids=()
for f in "${lib_srcs[@]}"; do
    o=$out/obj/$(basename "${f%.c}").o
    objs+=("$o")
    if [ ! -f "$o" ] || [ "$f" -nt "$o" ] || [ "$0" -nt "$o" ] ||
        [ -n "$(find "$src/bus" "$gen" "$src/services/store" "$src/services/apiserver" "$src/tools/hsctl" "$src/agents" -name '*.h' -newer "$o" -print -quit)" ]; then
        $CC $flags -fsanitize=fuzzer-no-link "${incs[@]}" "${pkgs[@]}" -c "$f" -o "$o" &
        pids+=($!)
        if [ ${#pids[@]} -ge "$jobs" ]; then
            wait "${pids[0]}"
            pids=("${pids[@]:1}")
        fi
    fi
done
for p in "${pids[@]}"; do wait "$p"; done
rm -f "$out/libhsfuzz.a"
ar rcs "$out/libhsfuzz.a" "${objs[@]}"

for t in "${targets[@]}"; do
    $CC $flags -fsanitize=fuzzer "${incs[@]}" "${pkgs[@]}" -o "$out/$t" \
        "$src/tests/fuzz/$t.c" "$out/libhsfuzz.a" "${libs[@]}"
    echo "built $out/$t"
done
