#!/usr/bin/env bash
# hs-shim, the per-container shim: the start result and its messages, the
# state and exit files, the CRI log and its rotation, namespaces, cgroup
# join, environment and working directory, signal forwarding, a shim
# that outlives its caller, and the fence lease (--fence-lease). Needs
# root (namespaces, mounts, cgroups).
#
# The shim's daemon calls setsid, so it leaves lib.sh's process groups: every
# container here joins our own cgroup, and our EXIT trap kills the shims
# (read from their state files) and everything in that cgroup.
source "$(dirname "$0")/lib.sh"

SHIM="$HS_BIN/hs-shim"
[ -x "$SHIM" ] || fail "hs-shim is not built ($SHIM): agents/node/CMakeLists.txt needs include(shim.cmake)"
need_root_cgroups

if [ -d /sys/fs/cgroup/pids ]; then
  CG=/sys/fs/cgroup/pids/hs-test-shim-$$
elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  CG=/sys/fs/cgroup/hs-test-shim-$$
else
  fail "no pids cgroup (v1) or cgroup2 hierarchy under /sys/fs/cgroup"
fi
mkdir "$CG"
RUNS=()   # every state dir we gave a shim

kv() { sed -n "s/^$2=//p" "$1"; }   # kv FILE KEY
# Field 22 of /proc/PID/stat (start time); empty if PID is gone.
start_ticks() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $20}'; }
# shim_alive DIR: the shim of DIR/state still runs (the same process, not a
# recycled pid).
shim_alive() {
  local pid
  pid=$(kv "$1/state" shim_pid)
  [ -n "$pid" ] && [ "$(start_ticks "$pid")" = "$(kv "$1/state" shim_started_ticks)" ] &&
    ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null
}
cg_empty() { [ -z "$(cat "$CG/cgroup.procs")" ]; }
# Pids of ours still around: any with "--state $T/" in its command line (a
# shim, or a container child before its exec) and anything in our cgroup.
leftovers() {
  local f pid out=""
  for f in /proc/[0-9]*/cmdline; do
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    case "$(tr '\0' ' ' <"$f" 2>/dev/null)" in *"--state $T/"*) out+=" $pid" ;; esac
  done
  echo $out $(cat "$CG/cgroup.procs" 2>/dev/null)
}
no_leftovers() { [ -z "$(leftovers)" ]; }

shim_cleanup() {
  local d pass pid
  for d in "${RUNS[@]:-}"; do
    [ -n "$d" ] && [ -f "$d/state" ] && shim_alive "$d" && kill -9 "$(kv "$d/state" shim_pid)"
  done
  if [ -d "$CG" ]; then
    for pass in 1 2 3; do
      for pid in $(cat "$CG/cgroup.procs" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    done
    local deadline=$(( $(date +%s%N) + 10 * 1000000000 ))
    while ! rmdir "$CG" 2>/dev/null && [ -d "$CG" ]; do
      [ "$(date +%s%N)" -gt "$deadline" ] && { echo "cannot remove $CG" >&2; break; }
      sleep 0.02   # polling interval of a deadline wait
    done
  fi
}
# lib.sh's hs_cleanup reads the test's exit status from $?; errexit is off so
# that nothing in shim_cleanup can end the trap before hs_cleanup runs.
trap 'shim_rc=$?; set +e; shim_cleanup; (exit $shim_rc); hs_cleanup' EXIT

# shim DIR ARGS...: hs-shim with --state DIR, in our cgroup.
shim() {
  local dir=$1; shift
  RUNS+=("$dir")
  "$SHIM" --state "$dir" --cgroup-procs "$CG/cgroup.procs" "$@"
}
# expect_eq WHAT GOT WANT
expect_eq() { [ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"; }
wait_exit() { wait_for 20 "$1/exit" test -f "$1/exit"; }
wait_state() { wait_for 20 "$1/state" test -f "$1/state"; }

T0=$(date +%s)

# ---- 1. a short run: start result, state, exit, CRI log
D=$T/a
expect_rc 0 shim "$D" -- /bin/sh -c 'echo out; echo err >&2; exit 3'
[ -s "$T/last.out" ] && fail "a successful start printed: $(cat "$T/last.out")"
[ -f "$D/state" ] || fail "the foreground exited 0 before $D/state was written"
for k in shim_pid pid started_at_ns shim_started_ticks; do
  [[ "$(kv "$D/state" $k)" =~ ^[0-9]+$ ]] || fail "state has no numeric $k: $(cat "$D/state")"
done
[ -e "$D/.state.tmp" ] && fail "the temp state file was left behind"
wait_exit "$D"
expect_eq "exit_code" "$(kv "$D/exit" exit_code)" 3
expect_eq "signal" "$(kv "$D/exit" signal)" 0
fin=$(kv "$D/exit" finished_at_ns)
st=$(kv "$D/state" started_at_ns)
[[ "$fin" =~ ^[0-9]+$ ]] && [ "$fin" -ge "$st" ] || fail "finished_at_ns $fin before started_at_ns $st"
wait_for 10 "the shim of a finished run to exit" sh -c "! kill -0 $(kv "$D/state" shim_pid)"
expect_eq "container.log lines" "$(wc -l <"$D/container.log")" 2
expect_eq "stdout records" "$(grep -c ' stdout F out$' "$D/container.log")" 1
expect_eq "stderr records" "$(grep -c ' stderr F err$' "$D/container.log")" 1
now=$(date +%s)
while read -r ts stream tag rest; do
  [[ "$ts" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$ ]] ||
    fail "bad timestamp '$ts' in container.log"
  s=$(date -u -d "$ts" +%s) || fail "date cannot parse '$ts'"
  [ "$s" -ge $((T0 - 1)) ] && [ "$s" -le $((now + 1)) ] || fail "timestamp $ts is not from this run"
done <"$D/container.log"
pass "short run: exit 0 at start, exit_code=3 signal=0, one F record per stream"

# Lines longer than 16 KiB are P chunks then F; an unterminated last line is F.
D=$T/long
expect_rc 0 shim "$D" -- sh -c 'head -c 40000 /dev/zero | tr "\0" x; echo; printf tail'
wait_exit "$D"
got=$(awk '{printf "%s %s %d\n", $2, $3, length($4)}' "$D/container.log")
expect_eq "long line records" "$got" "stdout P 16384
stdout P 16384
stdout F 7232
stdout F 4"
expect_eq "last record" "$(tail -n 1 "$D/container.log" | cut -d' ' -f2-)" "stdout F tail"
pass "a 40000-byte line is P, P, F; an unterminated last line is F"

# ---- 2. start failures: exit code, one line on stderr and in DIR/error, nothing left
# start_fails RC MESSAGE DIR ARGS...
start_fails() {
  local want_rc=$1 want_msg=$2 dir=$3 rc=0; shift 3
  "$SHIM" --state "$dir" "$@" >"$T/fail.out" 2>"$T/fail.err" || rc=$?
  RUNS+=("$dir")
  expect_eq "exit code of a failed start ($*)" "$rc" "$want_rc"
  expect_eq "stderr of a failed start" "$(cat "$T/fail.err")" "$want_msg"
  expect_eq "$dir/error" "$(cat "$dir/error")" "$want_msg"
  [ -s "$T/fail.out" ] && fail "a failed start printed on stdout: $(cat "$T/fail.out")"
  [ -e "$dir/state" ] && fail "a failed start left $dir/state"
  [ -e "$dir/exit" ] && fail "a failed start left $dir/exit"
  # The foreground waits for its daemon: nothing may remain, right away.
  [ -z "$(leftovers)" ] || fail "processes left after a failed start: $(leftovers)"
}
start_fails 127 'exec "/nonexistent/foo": no such file or directory' "$T/b" \
  --cgroup-procs "$CG/cgroup.procs" -- /nonexistent/foo
start_fails 127 'exec "no-such-program-hs": no such file or directory' "$T/b2" -- no-such-program-hs
start_fails 126 'exec "/etc/passwd": permission denied' "$T/b3" -- /etc/passwd
printf '\177ELF garbage' >"$T/notexec"
chmod +x "$T/notexec"
start_fails 126 "exec \"$T/notexec\": exec format error" "$T/b4" -- "$T/notexec"
start_fails 1 "chdir \"$T/nowhere\": no such file or directory" "$T/b5" --workdir "$T/nowhere" -- true
start_fails 1 "join cgroup \"$T/no-cgroup/cgroup.procs\": no such file or directory" "$T/b6" \
  --cgroup-procs "$T/no-cgroup/cgroup.procs" -- true
expect_rc 1 "$SHIM" --state "$T/a" -- true
expect_out "used by an earlier run" "$SHIM" --state "$T/a" -- true
expect_rc 1 "$SHIM" --state "$T/c" --log-max-bytes 100 -- true
expect_rc 1 "$SHIM" --state "$T/c" --env NOEQUALS -- true
expect_rc 1 "$SHIM" --state "$T/c"
pass "start failures: 127/126/1 with one line on stderr and in DIR/error, nothing left"

# ---- 3 and 9. namespaces and the cgroup
host_pidns=$(readlink /proc/self/ns/pid)
host_name=$(hostname)
# Mounts on /proc in our namespace (not all mounts: other tests mount things).
proc_mounts() { awk '$5 == "/proc"' /proc/self/mountinfo | wc -l; }
mounts_before=$(proc_mounts)
host_procs=$(ls /proc | grep -c '^[0-9]')
D=$T/ns
expect_rc 0 shim "$D" --hostname web-1 -- \
  sh -c 'echo pid=$$; hostname; ls /proc | grep -c "^[0-9]"; sleep 1000'
pid=$(kv "$D/state" pid)
wait_for 10 "the container's output" grep -q ' stdout F [0-9]*$' "$D/container.log"
out=$(cut -d' ' -f4- "$D/container.log")
expect_eq "pid, hostname in the container" "$(echo "$out" | head -n 2)" "pid=1
web-1"
seen=$(echo "$out" | sed -n 3p)
[ "$seen" -le 4 ] && [ "$host_procs" -gt 10 ] ||
  fail "the container's /proc shows $seen processes (the host has $host_procs)"
[ "$(readlink /proc/$pid/ns/pid)" != "$host_pidns" ] || fail "the container is in the host's pid namespace"
for ns in mnt uts ipc; do
  [ "$(readlink /proc/$pid/ns/$ns)" != "$(readlink /proc/self/ns/$ns)" ] ||
    fail "the container shares the host's $ns namespace"
done
expect_eq "the host's hostname" "$(hostname)" "$host_name"
expect_eq "the host's mounts on /proc" "$(proc_mounts)" "$mounts_before"
expect_eq "the container's parent" "$(awk '/^PPid:/ {print $2}' /proc/$pid/status)" \
  "$(kv "$D/state" shim_pid)"
grep -q "/hs-test-shim-$$\$" "/proc/$pid/cgroup" || fail "the container is not in $CG: $(cat /proc/$pid/cgroup)"
# Its child (the sleep) too: it was born in the cgroup.
wait_for 10 "two processes in the cgroup" sh -c "[ \$(wc -l <'$CG/cgroup.procs') -ge 2 ]"
pass "namespaces: pid 1, hostname web-1, $seen processes in its /proc, own pid/mnt/uts/ipc, in $CG"

# ---- 6. kill -9 of the container (init of its pid namespace: the sleep dies too)
kill -9 "$pid"
wait_exit "$D"
expect_eq "exit_code after kill -9" "$(kv "$D/exit" exit_code)" 137
expect_eq "signal after kill -9" "$(kv "$D/exit" signal)" 9
wait_for 10 "the cgroup to empty" cg_empty
pass "kill -9 of the container: exit_code=137 signal=9, its pid namespace is gone"

# ---- 4. environment (nothing inherited), working directory, PATH lookup
export HS_SHIM_LEAK=leaked
mkdir -p "$T/bin"
printf '#!/bin/sh\necho "mine $0"\n' >"$T/bin/myprog"
chmod +x "$T/bin/myprog"
D=$T/env
expect_rc 0 shim "$D" --env FOO=bar --env FOO=baz --env A=1 --workdir /tmp -- \
  sh -c 'echo $FOO; pwd; echo ${HOME:-unset}; echo ${HS_SHIM_LEAK:-clean}; echo $PATH; echo $HOSTNAME; env | sort | cut -d= -f1 | tr "\n" " "'
wait_exit "$D"
expect_eq "the container's output" "$(cut -d' ' -f4- "$D/container.log")" "baz
/tmp
unset
clean
/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
$(hostname)
A FOO HOSTNAME PATH PWD "
D=$T/path
expect_rc 0 shim "$D" --env "PATH=/nonexistent:$T/bin:/usr/bin:/bin" -- myprog
wait_exit "$D"
expect_eq "a program found in --env PATH" "$(cut -d' ' -f4- "$D/container.log")" "mine $T/bin/myprog"
expect_eq "exit_code" "$(kv "$D/exit" exit_code)" 0
pass "environment: exactly --env (last wins) + PATH + HOSTNAME; --workdir; lookup in --env PATH"

# ---- 5. signal forwarding
D=$T/sig
expect_rc 0 shim "$D" -- sh -c "trap 'echo got-term > $T/term; exit 0' TERM; sleep 3600 & wait"
kill -TERM "$(kv "$D/state" shim_pid)"
wait_for 10 "the container's TERM trap" test -f "$T/term"
wait_exit "$D"
expect_eq "exit_code after a forwarded TERM" "$(kv "$D/exit" exit_code)" 0
expect_eq "signal after a forwarded TERM" "$(kv "$D/exit" signal)" 0
grep -q "forwarded SIGTERM" "$D/shim.log" || fail "shim.log does not say it forwarded SIGTERM"
pass "SIGTERM to the shim reaches the container; the shim records its exit"

# ---- 7. the shim outlives its caller
D=$T/orphan
RUNS+=("$D")
start caller bash -c "'$SHIM' --state '$D' --cgroup-procs '$CG/cgroup.procs' -- sleep 1000; sleep 1000"
CALLER=$LAST_PID
wait_state "$D"
kill -9 -- "-$CALLER"
wait "$CALLER" 2>/dev/null || true
wait_for 10 "the caller to be gone" exited "$CALLER"
shim_pid=$(kv "$D/state" shim_pid)
pid=$(kv "$D/state" pid)
shim_alive "$D" || fail "the shim died with its caller"
kill -0 "$pid" || fail "the container died with its caller"
expect_eq "the container's parent" "$(awk '/^PPid:/ {print $2}' /proc/$pid/status)" "$shim_pid"
[ "$(ps -o sid= -p "$shim_pid" | tr -d ' ')" = "$shim_pid" ] || fail "the shim is not a session leader"
kill -9 "$pid"
wait_exit "$D"
expect_eq "exit_code" "$(kv "$D/exit" exit_code)" 137
pass "the shim and its container outlive the kill -9 of the caller's process group"

# ---- 8. log rotation
D=$T/rot
pad=$(printf '%0100d' 0)
expect_rc 0 shim "$D" --log-max-bytes 65536 --log-max-files 3 -- \
  sh -c "i=0; while [ \$i -lt 2200 ]; do echo line-\$i-$pad; i=\$((i+1)); done"
wait_exit "$D"
expect_eq "log files" "$(cd "$D" && ls container.log* | tr '\n' ' ')" "container.log container.log.1 container.log.2 "
for f in container.log container.log.1 container.log.2; do
  size=$(stat -c %s "$D/$f")
  [ "$size" -le 65536 ] || fail "$f is $size bytes, over --log-max-bytes 65536"
done
[ "$(stat -c %s "$D/container.log.2")" -gt 60000 ] || fail "container.log.2 was rotated early"
num() { sed -n "$1s/.* stdout F line-\([0-9]*\)-.*/\1/p" "$2"; }
expect_eq "the newest line" "$(num '$' "$D/container.log")" 2199
# No line lost between the files that are kept.
expect_eq "the line after container.log.1" "$(num 1 "$D/container.log")" $(($(num '$' "$D/container.log.1") + 1))
expect_eq "the line after container.log.2" "$(num 1 "$D/container.log.1")" $(($(num '$' "$D/container.log.2") + 1))
pass "rotation: container.log, .1, .2 each <= 65536 bytes, newest lines in container.log"

# ---- 10. --no-namespaces: the host's namespaces and hostname are left alone,
# and a descendant that keeps the output pipe open does not hold the exit back
D=$T/nons
expect_rc 0 shim "$D" --no-namespaces --hostname must-not-leak -- \
  sh -c 'echo $HOSTNAME; sleep 1000 & echo bg=$!'
wait_exit "$D"
expect_eq "exit_code" "$(kv "$D/exit" exit_code)" 0
pid=$(kv "$D/state" pid)
expect_eq "the host's hostname" "$(hostname)" "$host_name"
out=$(cut -d' ' -f4- "$D/container.log")
expect_eq "HOSTNAME" "$(echo "$out" | head -n 1)" must-not-leak
bg=$(echo "$out" | sed -n 's/^bg=//p')
[ -n "$bg" ] && kill -0 "$bg" || fail "the background sleep is not running"
expect_eq "the background sleep's pid namespace" "$(readlink /proc/$bg/ns/pid)" "$host_pidns"
grep -q "still open 2000 ms after its exit" "$D/shim.log" || fail "shim.log: $(cat "$D/shim.log")"
kill -9 "$bg"
pass "--no-namespaces: host hostname kept, exit written 2 s after the init's exit despite an open pipe"

# ---- 11. --fence-lease: the container runs while the deadline (CLOCK_MONOTONIC
# ns, python3's time.monotonic_ns) is ahead, and is SIGKILLed once it has
# passed, or at once when the file cannot be read
mono_in() { python3 -c "import time; print(time.monotonic_ns() + int($1 * 1e9))"; }
D=$T/lease
mono_in 3600 >"$T/lease-file"
expect_rc 0 shim "$D" --fence-lease "$T/lease-file" -- sleep 1000
pid=$(kv "$D/state" pid)
kill -0 "$pid" || fail "the container with a lease an hour ahead is not running"
mono_in -1 >"$T/lease-file.tmp" && mv "$T/lease-file.tmp" "$T/lease-file"
wait_exit "$D"
expect_eq "signal after the lease ran out" "$(kv "$D/exit" signal)" 9
grep -q "fence lease $T/lease-file ran out" "$D/shim.log" || fail "shim.log: $(cat "$D/shim.log")"
# no start on a lease that cannot be read, or has run out (the agent is
# fenced, or restarted and not confirmed yet): a failed start, nothing runs
start_fails 1 "fence lease $T/no-such-lease cannot be read: not starting an at-most-one container" \
  "$T/b7" --fence-lease "$T/no-such-lease" -- sleep 1000
mono_in -1 >"$T/lease-file"
rc=0
"$SHIM" --state "$T/b8" --fence-lease "$T/lease-file" -- sleep 1000 2>"$T/fail.err" || rc=$?
RUNS+=("$T/b8")
expect_eq "exit code of a start on an expired lease" "$rc" 1
grep -q "^fence lease $T/lease-file ran out [0-9]* ms ago: not starting an at-most-one container$" \
  "$T/fail.err" || fail "stderr: $(cat "$T/fail.err")"
[ -e "$T/b8/state" ] && fail "a start on an expired lease left state"
pass "--fence-lease: runs while the lease is ahead, SIGKILL once it ran out; no start without a valid one"

# ---- the end: nothing of ours runs, and no sanitizer spoke
wait_for 10 "no shim or container left" no_leftovers
for f in "$T"/*/shim.log; do
  grep -q 'Sanitizer' "$f" && fail "$f: $(cat "$f")"
done
for f in "$T"/*/shim.log; do
  grep -q ' error: ' "$f" && case "$f" in
    "$T"/b*/shim.log) ;;   # failed starts log why
    *) fail "$f has errors: $(cat "$f")" ;;
  esac
done
pass "no shim or container process left"
