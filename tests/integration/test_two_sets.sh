#!/usr/bin/env bash
# Two sets never mix (issue 14): `scripts/homeostat up` (what `make demo`
# runs) while a set already runs on the same bus port, or from the same data
# dir, refuses before it starts anything, in one line naming what runs (the
# port's holder, the agent's node and pid, the data dir) and how to stop it
# or where else to start; the running set is untouched.
source "$(dirname "$0")/lib.sh"
need_root_cgroups

export BIN=$HS_BIN HS_DEMO_CGROUP=$HS_CG_PARENT HS_DEMO_NODES="ts1"
L=$HS_SRC/scripts/homeostat
down() { HS_DEMO_DIR=$T/a "$L" down >>"$T/down.log" 2>&1 || true; }
hs_on_exit down # before hs_cleanup, which keeps the test's exit status

HS_DEMO_DIR=$T/a "$L" up >"$T/up-a.log" 2>&1 || fail "the first set: $(tail -5 "$T/up-a.log")"
agent_a=$(cat "$T/a/run/agent-ts1.pid")

# What the first set runs: every process naming its data dir, with its
# start time, and its instances on the bus. Not the transient ones: an exec
# probe's helper (`hs-shim --exec`, the prober's probes of the static pods)
# or a process that ended while it was listed.
procs() {
  local pid start
  for pid in $(procs_naming "$T/a/"); do
    tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qx -- --exec && continue
    start=$(awk '{ print $22 }' "/proc/$pid/stat" 2>/dev/null) || continue
    [ -n "$start" ] && echo "$pid $start"
  done | sort
}
components() { hsctl get components --no-headers | awk '{ print $1, $2 }' | sort; }
procs >"$T/procs-before"
components >"$T/components-before"
grep -q "^hs-store " "$T/components-before" || fail "no hs-store in: $(cat "$T/components-before")"

# expect_refused NAME: `up` (its environment set by the caller) exits 1
# within 10 s having printed one line, saved in $T/NAME.out.
expect_refused() {
  local name=$1 rc=0
  timeout 10 "$L" up >"$T/$name.out" 2>&1 || rc=$?
  [ "$rc" -eq 1 ] || fail "$name: up exited $rc, expected 1: $(cat "$T/$name.out")"
  [ "$(wc -l <"$T/$name.out")" -eq 1 ] || fail "$name: more than one line: $(cat "$T/$name.out")"
  echo "   $name: $(cat "$T/$name.out")"
}
port=${HS_BUS##*:}
# How the line says to stop the first set: its binaries, named when they are
# not the source tree's build/bin (an out-of-tree build).
bin_env=""
[ "$(cd "$HS_BIN" && pwd)" = "$HS_SRC/build/bin" ] || bin_env="BIN=$(cd "$HS_BIN" && pwd) "

# A second set from another data dir on the same port.
HS_DEMO_DIR=$T/b expect_refused second-set
expect_out "homeostat: refusing to start: a set already runs (ports $port and $((port + 1)) held by hs-bus pid " cat "$T/second-set.out"
expect_out "node ts1's hs-agent pid $agent_a, data dir $T/a); stop it first: ${bin_env}HS_DEMO_DIR=$T/a HS_BUS=$HS_BUS make -C $HS_SRC demo-down, or start this one on another port: HS_BUS=127.0.0.1:" \
  cat "$T/second-set.out"
[ ! -e "$T/b" ] || fail "the refused set made $T/b: $(find "$T/b")"
pass "a second set on the same port is refused in one line, before it starts anything"

# The same data dir on another port: the agents' state is taken.
other=$(free_port_pair)
HS_DEMO_DIR=$T/a HS_BUS=127.0.0.1:$other expect_refused same-dir
expect_out "refusing to start: a set already runs (node ts1's hs-agent pid $agent_a on bus $HS_BUS, data dir $T/a); stop it first: ${bin_env}HS_DEMO_DIR=$T/a HS_BUS=$HS_BUS make -C $HS_SRC demo-down" \
  cat "$T/same-dir.out"
expect_out "or start this one with another port and data dir" cat "$T/same-dir.out"
pass "a second set from the same data dir is refused in one line"

procs >"$T/procs-after"
diff "$T/procs-before" "$T/procs-after" >&2 || fail "the first set's processes changed"
poll_until 10 sh -c "hsctl get components --no-headers | awk '{ print \$1, \$2 }' | sort | diff -q - '$T/components-before'" ||
  fail "the first set's components changed: before $(cat "$T/components-before"), now $(components)"
hsctl get node ts1 | grep -Eq ' Ready( |$)' || fail "node ts1 is not Ready"
pass "the first set is untouched: the same processes (pid, start time) and instances"

HS_DEMO_DIR=$T/a "$L" down >"$T/down.log" 2>&1 || fail "down: $(tail -5 "$T/down.log")"
[ ! -d "$T/a" ] || fail "down left $T/a"
