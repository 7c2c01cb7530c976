#!/usr/bin/env bash
# A snapshot taken during writes restores to a consistent state.
#
# Writers apply pairs of pods (pair-a-N, pair-b-N) as one all-or-nothing
# command. Snapshots saved while they write must each contain, for every N,
# both pods or neither; and a store restored from a snapshot serves exactly
# what the snapshot file says.
source "$(dirname "$0")/lib.sh"

start_bus
start_store

writer() {
  local w=$1
  for n in $(seq 1 60); do
    cat >"$T/pair-$w-$n.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: pair-a-$w-$n, labels: {pair: "$w-$n"}}
spec: {containers: [{name: main, command: ["sleep", "1"]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: pair-b-$w-$n, labels: {pair: "$w-$n"}}
spec: {containers: [{name: main, command: ["sleep", "1"]}]}
YAML
    hsctl apply -f "$T/pair-$w-$n.yaml" >/dev/null
  done
}
WRITERS=()
for w in 1 2 3; do writer "$w" & WRITERS+=($!); HS_PIDS+=($!); done

# Save snapshots while the writers run.
have_some() { [ "$(hsctl get pods -o name | wc -l)" -ge 10 ]; }
wait_for 60 "writes to begin" have_some
for s in 1 2 3; do
  hsctl snapshot save "$T/snap-$s.db" >"$T/save-$s.out" || fail "snapshot save $s: $(cat "$T/save-$s.out")"
done
for p in "${WRITERS[@]}"; do wait "$p" || fail "writer failed"; done

# Verify each snapshot by serving it from a fresh store on a separate bus.
MAIN_BUS=$HS_BUS
for s in 1 2 3; do
  port=$(free_port_pair)
  export HS_BUS="127.0.0.1:$port"
  start bus-$s "$HS_BIN/hs-bus" --bind 127.0.0.1 --port "$port"
  bus_pid=$LAST_PID
  hsctl snapshot restore "$T/snap-$s.db" --data-dir "$T/restored-$s" >"$T/restore-$s.out" ||
    fail "restore $s: $(cat "$T/restore-$s.out")"
  start store-$s "$HS_BIN/hs-store" --bus "$HS_BUS" --data "$T/restored-$s"
  store_pid=$LAST_PID
  wait_for 20 "restored store $s to answer" hsctl get nodes
  hsctl get pods -o name | sort >"$T/names-$s"
  n=$(wc -l <"$T/names-$s")
  # Every pair is whole.
  for name in $(grep 'pod/pair-a-' "$T/names-$s" | sed 's|pod/pair-a-||'); do
    grep -qx "pod/pair-b-$name" "$T/names-$s" || fail "snapshot $s has pair-a-$name without pair-b-$name"
  done
  for name in $(grep 'pod/pair-b-' "$T/names-$s" | sed 's|pod/pair-b-||'); do
    grep -qx "pod/pair-a-$name" "$T/names-$s" || fail "snapshot $s has pair-b-$name without pair-a-$name"
  done
  # The file's own count matches what the restored store serves.
  grep -q "($n objects" "$T/save-$s.out" || fail "snapshot $s: saved '$(cat "$T/save-$s.out")' but restored store serves $n pods"
  pass "snapshot $s: $n pods, every pair whole"
  kill -9 "$store_pid" "$bus_pid" 2>/dev/null || true
  wait "$store_pid" "$bus_pid" 2>/dev/null || true
done
export HS_BUS=$MAIN_BUS

# Restoring over an existing store directory is refused.
expect_rc 1 hsctl snapshot restore "$T/snap-1.db" --data-dir "$T/store"
pass "restore refuses a directory that already holds a store"
