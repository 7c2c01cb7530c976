#!/usr/bin/env bash
# The systemd units, booted for real: a Debian bookworm container
# (systemd-nspawn -b, systemd as its PID 1, pure cgroup v2) with our units
# and binaries installed as `make install DESTDIR=...` puts them, bound in
# read-only. Through systemctl inside it (nsenter):
#   - homeostat.target and one instance of each controller start; every unit
#     is active; READY=1 is honoured (Type=notify: a controller started while
#     the store is down stays `activating` until the store serves);
#   - kill -9 of a component: systemd restarts it (NRestarts, a new pid);
#   - SIGSTOP of one: the watchdog (WatchdogSec=10s) kills it and
#     Restart=always starts it again;
#   - hs-replicas@{1..3}: three instances in `hsctl get components`;
#   - a Deployment runs, its pods under hs-agent in cgroup v2 groups;
#   - limits under cgroup v2: with the memory and cpu controllers in the
#     container's cgroup.controllers, a pod over its memory limit is
#     OOMKilled (exit 137, as on v1: test_agent.sh) and a CPU limit is
#     cpu.max; without them (a cgroup v1 host gives a v2 container neither),
#     a pod with such a limit does not run, and says which controller is
#     missing in which cgroup.
# The rootfs is debootstrapped once and cached in $HS_ROOTFS_CACHE
# (/var/cache/homeostat-test), keyed by its package list; the container runs
# it with --volatile=overlay, so it stays as built. Everything else lives in
# $T and goes at exit: the container is powered off (killed if it does not
# stop), its cgroup tree removed, nothing mounted left.
# Needs root; skipped (77) otherwise. About 30 s, plus 40-100 s for the
# debootstrap the first time.
source "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (systemd-nspawn)"; exit 77; }

source "$(dirname "$0")/rootfs.sh"
need_debs systemd-nspawn:systemd-container debootstrap:debootstrap

# What this test leaves must go whatever happens: the container, its
# cgroups, an unfinished rootfs (then lib.sh's own cleanup).
boot_cleanup() {
  if [ -n "${NSPAWN_PID:-}" ]; then container_down; fi
  rootfs_cleanup
}
hs_on_exit boot_cleanup

# ---- the rootfs (rootfs.sh): cached, keyed by what it holds, made atomically
rootfs_ensure

# ---- make install, into $T/root (the container gets it read-only)
BUILD=$(cd "$HS_BIN/.." && pwd)
ROOT=$T/root
DESTDIR=$ROOT cmake --install "$BUILD" >"$T/install.log" 2>&1 || fail "cmake --install:
$(tail -20 "$T/install.log")"
PREFIX=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$BUILD/CMakeCache.txt")
case "$PREFIX" in /usr | / | "") fail "install prefix '$PREFIX': the container needs its own /usr" ;; esac
[ -f "$ROOT$PREFIX/lib/systemd/system/hs-bus.service" ] ||
  fail "units not in $PREFIX/lib/systemd/system (HS_SYSTEMD_UNIT_DIR): systemd would not see them"
ENVFILE=$(find "$ROOT" -path '*/homeostat/homeostat.env' -not -path '*/doc/*' -print -quit)
ENVDIR=${ENVFILE%/homeostat.env}
ENVDIR=${ENVDIR#"$ROOT"}
# The settings, edited as a user would: a node name of our own, quick backoff.
NODE=boot1
sed -i "s/^HS_AGENT_ARGS=.*/HS_AGENT_ARGS=\"--node-name $NODE --backoff-initial 1 --backoff-max 2\"/" \
  "$ENVFILE"
grep -q "^HS_AGENT_ARGS=.*$NODE" "$ENVFILE" || fail "cannot edit $ENVFILE"
# The cluster's keys, where the units look for them (homeostat.env's
# HS_PKI, beside it), as a user runs `hsctl init --node NODE` first.
PKI=$(sed -n 's/^HS_PKI=//p' "$ENVFILE")
[ "$PKI" = "$ENVDIR/pki" ] || fail "homeostat.env: HS_PKI=$PKI, expected $ENVDIR/pki"
hsctl init --pki "$ROOT$PKI" --node "$NODE" --user root --no-config >"$T/init-boot.log" 2>&1 ||
  fail "hsctl init: $(cat "$T/init-boot.log")"
lap "installed into $ROOT (prefix $PREFIX, settings in $ENVDIR)"

# ---- boot: systemd-nspawn -b, pure cgroup v2, in a cgroup of its own
# --keep-unit: this host has no systemd to register a scope with; nspawn
# then runs the container in its own cgroup, which is why it gets one here
# (on the host's cgroup2 mount), removed at the end with all it holds.
# --volatile=overlay: the cached rootfs stays read-only under a tmpfs.
# --private-network: the container's bus on 127.0.0.1:7400 is its own.
CG2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[ -n "$CG2" ] || fail "no cgroup2 mount on this host (nspawn needs one for a v2 container)"
BOOT_CG=$CG2/hs-boot-$$-$RANDOM
NSPAWN_RUN=/run/systemd/nspawn
[ -d $NSPAWN_RUN ] && NSPAWN_RUN_MADE="" || NSPAWN_RUN_MADE=1
mkdir "$BOOT_CG"
MACHINE=hs-boot-$$
( echo "$BASHPID" >"$BOOT_CG/cgroup.procs"
  SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 exec systemd-nspawn -q -b --register=no --keep-unit \
    --volatile=overlay -D "$ROOTFS" -M "$MACHINE" --private-network \
    --bind-ro="$ROOT$PREFIX:$PREFIX" --bind-ro="$ROOT$ENVDIR:$ENVDIR" ) \
  >"$T/nspawn.log" 2>&1 </dev/null &
NSPAWN_PID=$!
HS_PIDS+=("$NSPAWN_PID")
leader() { # the container's PID 1: nspawn's child running systemd
  LEADER=$(ps -o pid=,comm= --ppid "$NSPAWN_PID" | awk '$2 == "systemd" { print $1 }')
  [ -n "$LEADER" ]
}
wait_for 30 "the container's systemd" leader
# E CMD...: CMD inside the container, as root there, none of our environment
# (lib.sh exports HS_BUS: ours, not the container's).
# hsctl there is the cluster's admin (the credential hsctl init made).
E() { nsenter -t "$LEADER" -a env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
  HS_CREDENTIAL="$PKI/creds/admin-root.cred" "$@"; }
running() { [ "$(E systemctl is-system-running 2>/dev/null)" = running ]; }
wait_for 60 "the container to boot (is-system-running: running)" running
lap "booted: PID 1 is $LEADER (host pid), is-system-running: running"

# container_down: power the container off (SIGKILL after a deadline), then
# remove the cgroups it leaves on the host. From boot_cleanup too.
boot_cgroups() { # BOOT_CG, and its namesakes in every other cgroup hierarchy
  local mnt
  [ -n "${BOOT_CG:-}" ] || return 0 # not made yet: nothing of ours
  for mnt in $(awk '$9 == "cgroup" || $9 == "cgroup2" { print $5 }' /proc/self/mountinfo); do
    [ -d "$mnt/${BOOT_CG##*/}" ] && echo "$mnt/${BOOT_CG##*/}"
  done
  return 0
}
container_down() {
  if kill -0 "$NSPAWN_PID" 2>/dev/null; then
    [ -n "${LEADER:-}" ] && kill -RTMIN+4 "$LEADER" 2>/dev/null # systemd: poweroff
    poll_until 30 sh -c "! kill -0 $NSPAWN_PID" || {
      echo "the container did not power off within 30 s: killed" >&2
      kill -9 "$NSPAWN_PID" ${LEADER:+"$LEADER"} 2>/dev/null || true
      poll_until 10 sh -c "! kill -0 $NSPAWN_PID" || true
    }
  fi
  wait "$NSPAWN_PID" 2>/dev/null || true
  NSPAWN_PID=""
  local pid dir
  # nspawn makes the same path in the v1 name=systemd hierarchy too, when
  # the host mounts one (a hybrid host like this one): both go.
  for dir in $(boot_cgroups); do
    for pid in $(cat $(find "$dir" -name cgroup.procs) 2>/dev/null); do
      kill -9 "$pid" 2>/dev/null || true
    done
    poll_until 10 sh -c "find '$dir' -depth -type d -exec rmdir {} + 2>/dev/null;
                         [ ! -d '$dir' ]" || echo "cannot remove cgroup $dir" >&2
  done
  [ -n "$NSPAWN_RUN_MADE" ] && rmdir $NSPAWN_RUN/propagate $NSPAWN_RUN/locks $NSPAWN_RUN \
    2>/dev/null
  return 0
}

# ---- cgroup v2 inside, and which controllers it has
fstype=$(E stat -fc %T /sys/fs/cgroup)
[ "$fstype" = cgroup2fs ] || fail "/sys/fs/cgroup in the container is $fstype, not cgroup2fs"
ROOT_CTRLS=$(E cat /sys/fs/cgroup/cgroup.controllers)
echo "  container /sys/fs/cgroup: cgroup2fs, cgroup.controllers: \"$ROOT_CTRLS\""
echo "  host /proc/cgroups (hierarchy 0 = the v2 one):"
awk 'NR > 1 && $4 == 1 { printf "    %s in hierarchy %s (%s cgroups)\n", $1, $2, $3 }' /proc/cgroups
pass "the container runs systemd on pure cgroup v2"

# ---- homeostat.target and one instance of each controller
show() { E systemctl show -p "$2" --value "$1"; }
active() { [ "$(E systemctl is-active "$1" 2>/dev/null)" = active ]; }
UNITS=(hs-bus.service hs-store.service hs-agent.service hs-apiserver.service hs-scheduler@1.service
       hs-replicas@1.service hs-jobs@1.service hs-prober@1.service)
t=$(ms)
E systemctl start homeostat.target hs-scheduler@1 hs-replicas@1 hs-jobs@1 hs-prober@1 \
  >"$T/start.out" 2>&1 || fail "systemctl start homeostat.target ...: $(cat "$T/start.out")"
lap "systemctl start homeostat.target + 4 controllers returned in $(( $(ms) - t )) ms"
for u in "${UNITS[@]}" homeostat.target; do
  active "$u" || fail "$u is not active: $(E systemctl status --no-pager "$u" 2>&1 | tail -15)"
done
for u in "${UNITS[@]}"; do
  [ "$(show "$u" Type)" = notify ] || fail "$u is not Type=notify"
done
# READY=1 honoured: start returned only once each was ready, so what they
# serve is there now, with no wait: the store answers, the node is in.
E hsctl get nodes >"$T/out" 2>&1 || fail "hsctl get nodes right after start: $(cat "$T/out")"
grep -Eq "^$NODE +Ready" "$T/out" || fail "node $NODE not Ready right after start: $(cat "$T/out")"
pass "homeostat.target: ${#UNITS[@]} units active, Type=notify; the store serves and node $NODE is Ready as start returns"

# A controller started while the store is down: its loop runs (it pings the
# watchdog) but it is not READY, so the unit stays `activating`; once the
# store serves it becomes active, after the store.
E systemctl stop hs-store
! active hs-store || fail "hs-store did not stop"
E systemctl start --no-block hs-jobs@2
has_pid() { [ "$(show "$1" MainPID)" -gt 0 ]; }
wait_for 10 "hs-jobs@2 to run" has_pid hs-jobs@2
wd0=$(show hs-jobs@2 WatchdogTimestampMonotonic)
pinged() { [ "$(show "$1" WatchdogTimestampMonotonic)" != "$2" ]; }
wait_for 30 "hs-jobs@2 to ping the watchdog" pinged hs-jobs@2 "$wd0"
if poll_until 3 active hs-jobs@2; then fail "hs-jobs@2 became active with the store down"; fi
st=$(E systemctl is-active hs-jobs@2 || true)
[ "$st" = activating ] || fail "hs-jobs@2 is $st, expected activating"
t=$(ms)
E systemctl start hs-store
wait_for 30 "hs-jobs@2 active" active hs-jobs@2
st=$(show hs-store ActiveEnterTimestampMonotonic)
jt=$(show hs-jobs@2 ActiveEnterTimestampMonotonic)
[ "$jt" -ge "$st" ] || fail "hs-jobs@2 active at $jt, before the store at $st"
pass "READY: hs-jobs@2 pings but stays activating with the store down; active $(( (jt - st) / 1000 )) ms after the store (start of the store to jobs@2 active: $(( $(ms) - t )) ms)"
E systemctl stop hs-jobs@2

# ---- a Deployment, its pods under hs-agent in cgroup v2 groups
E journalctl -u hs-agent --no-pager >"$T/journal-agent.log" 2>&1 || true
grep -q "node $NODE: cgroup v2" "$T/journal-agent.log" || fail "hs-agent does not say cgroup v2:
$(tail -5 "$T/journal-agent.log")"
cat >"$T/deploy.yaml" <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
        resources:
          requests:
            cpu: 100m
            memory: 16Mi
EOF
t=$(ms)
E hsctl apply -f - <"$T/deploy.yaml" >"$T/out" 2>&1 || fail "apply: $(cat "$T/out")"
ready3() { E hsctl get deployment web >"$T/dep" 2>&1 && grep -Eq '^web +3/3 ' "$T/dep"; }
wait_for 60 "deployment web 3/3 ready" ready3
CGP=/sys/fs/cgroup/homeostat/$NODE
n=0
for g in $(E sh -c "ls -d $CGP/*_web"); do
  pids=$(E cat "$g/cgroup.procs")
  [ -n "$pids" ] || fail "$g is empty"
  for pid in $pids; do
    c=$(E grep "^0::" /proc/$pid/cgroup) # the v2 line (a v1 host shows its v1 ones too)
    [ "$c" = "0::${g#/sys/fs/cgroup}" ] || fail "pid $pid's cgroup is $c, expected 0::${g#/sys/fs/cgroup}"
  done
  n=$((n + 1))
done
[ "$n" -eq 3 ] || fail "$n *_web groups in $CGP, expected 3: $(E ls $CGP)"
pass "deployment web: 3/3 ready in $(( $(ms) - t )) ms; each pod's processes in its own v2 group under $CGP"
# The workloads' processes, to see that no control-plane restart below
# touches them.
web_pids() { E sh -c "cat $CGP/*_web/cgroup.procs $CGP/shims/cgroup.procs" | sort -n | tr '\n' ' '; }
WEB_PIDS=$(web_pids)
same_web() {
  local now; now=$(web_pids)
  [ "$now" = "$WEB_PIDS" ] || fail "the workloads changed $*: $WEB_PIDS -> $now"
}

# systemctl stop hs-agent (KillMode=process): the agent goes, its shims and
# the containers are in no cgroup of its unit, so they stay; the next agent
# adopts them.
E systemctl stop hs-agent
[ "$(show hs-agent MainPID)" = 0 ] || fail "hs-agent still runs"
left=$(E sh -c "cat /sys/fs/cgroup/system.slice/hs-agent.service/cgroup.procs 2>/dev/null" || true)
[ -z "$left" ] || fail "processes left in hs-agent.service's cgroup: $left"
same_web "after systemctl stop hs-agent"
E systemctl start hs-agent
ready3 || fail "deployment web not 3/3 after the agent's restart: $(cat "$T/dep")"
same_web "after the agent's restart"
pass "systemctl stop/start hs-agent: the workloads keep running, in no cgroup of the unit; adopted"

# ---- kill -9: systemd restarts it (Restart=always, RestartSec=1s)
restarted() { # UNIT OLD_PID OLD_NRESTARTS: a new main pid, one more restart, active
  local pid n
  pid=$(show "$1" MainPID); n=$(show "$1" NRestarts)
  [ "$pid" -gt 0 ] && [ "$pid" != "$2" ] && [ "$n" -gt "$3" ] && active "$1"
}
for u in hs-store hs-agent; do
  pid=$(show $u MainPID); n=$(show $u NRestarts)
  t=$(ms)
  E sh -c "kill -9 $pid"
  wait_for 20 "$u restarted after kill -9" restarted $u "$pid" "$n"
  pass "$u: kill -9 of pid $pid; active again as pid $(show $u MainPID) after $(( $(ms) - t )) ms (NRestarts $(show $u NRestarts))"
done
E hsctl get node "$NODE" >"$T/out" 2>&1 || fail "the node is gone after the store's restart: $(cat "$T/out")"
same_web "after kill -9 of the store and the agent"

# ---- SIGSTOP: the watchdog (WatchdogSec=10s) kills it (SIGABRT), and
# Restart=always starts a new one
u=hs-scheduler@1
pid=$(show $u MainPID); n=$(show $u NRestarts)
t=$(ms)
E sh -c "kill -STOP $pid"
wait_for 40 "$u restarted by the watchdog" restarted $u "$pid" "$n"
took=$(( $(ms) - t ))
E journalctl -u $u --no-pager >"$T/journal-sched.log" 2>&1 || true
grep -q "Watchdog timeout" "$T/journal-sched.log" ||
  fail "$u restarted, but not by the watchdog: $(tail -10 "$T/journal-sched.log")"
grep -q "Failed with result 'watchdog'" "$T/journal-sched.log" || fail "no 'watchdog' result in the journal"
same_web "after the watchdog restart"
pass "$u: SIGSTOP at pid $pid; watchdog timeout, SIGABRT; active again as pid $(show $u MainPID) after $took ms"

# ---- scale: hs-replicas@{1..3}
E systemctl start hs-replicas@2 hs-replicas@3
for i in 1 2 3; do active hs-replicas@$i || fail "hs-replicas@$i not active"; done
three() {
  E hsctl get components >"$T/components" 2>&1 &&
    [ "$(awk '$1 == "hs-replicas" { print $2 }' "$T/components" | sort | tr '\n' ' ')" = "1 2 3 " ]
}
wait_for 20 "hs-replicas 1, 2, 3 in hsctl get components" three
pass "hs-replicas@{1..3}: instances 1, 2, 3 in hsctl get components"

# ---- limits under cgroup v2: what the pod groups get is what $CGP enables
# for its children (cgroup.subtree_control). A v1 host keeps memory and cpu
# in its v1 hierarchies, so a v2 container has neither: a limit that needs
# one must stop the pod from running, and say why; with them, the limit is
# applied and an OOM kill is reported as on v1.
SUB=$(E cat "$CGP/cgroup.subtree_control")
has_ctrl() { case " $SUB " in *" $1 "*) return 0 ;; esac; return 1; }
echo "  $CGP/cgroup.subtree_control: \"$SUB\""
field() { E hsctl get pod "$1" -o json | python3 -c "import json,sys; p=json.load(sys.stdin); print($2)"; }
field_is() { [ "$(field "$1" "$2" 2>/dev/null)" = "$3" ]; }
TERM0="p['status']['containerStatuses'][0]['state']['terminated']"
pod() { # NAME 'COMMAND' LIMIT-LINE
  cat >"$T/$1.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $1
spec:
  restartPolicy: Never
  containers:
  - name: main
    command: ["sh", "-c", "$2"]
    resources:
      limits:
        $3
EOF
  E hsctl apply -f - <"$T/$1.yaml" >"$T/out" 2>&1 || fail "apply $1: $(cat "$T/out")"
}
# refused NAME 'MESSAGE PART': the pod ended at start, no process ran.
refused() {
  wait_for 30 "$1 to end" field_is "$1" "p['status']['phase']" Failed
  field_is "$1" "$TERM0['reason']" StartError || fail "$1 not a StartError: $(E hsctl get pod "$1" -o yaml)"
  field_is "$1" "$TERM0['exitCode']" 128 || fail "$1: exit code is not 128"
  msg=$(field "$1" "$TERM0['message']")
  case "$msg" in *"$2"*"$CGP/"*) ;; *) fail "$1: the message does not say '$2' in $CGP: $msg" ;; esac
  E hsctl describe pod "$1" >"$T/out" 2>&1
  grep -q "Failed .*$2" "$T/out" || fail "$1: no Failed Event saying '$2': $(cat "$T/out")"
  ! E sh -c "ls -d $CGP/*_main" >/dev/null 2>&1 || fail "$1 left a group: $(E ls "$CGP")"
}
BLOCKED=()
pod oom 'python3 -c \"b = bytearray(256 * 1024 * 1024)\"' 'memory: 32Mi'
if has_ctrl memory; then
  wait_for 30 "oom Failed" field_is oom "p['status']['phase']" Failed
  field_is oom "$TERM0['reason']" OOMKilled || fail "not OOMKilled: $(E hsctl get pod oom -o yaml)"
  field_is oom "$TERM0['exitCode']" 137 || fail "oom: exit code is not 137"
  pass "cgroup v2 memory: a pod over its 32Mi limit is OOMKilled, exit code 137 (as on v1)"
else
  refused oom "memory limit 33554432 bytes: cgroup controller memory is not available"
  pass "cgroup v2 without the memory controller: a pod with limits.memory does not run (StartError: $msg)"
  BLOCKED+=("memory.max / OOMKilled under v2: no memory controller in the container's v2 tree")
fi
pod cpu 'sleep 3600' 'cpu: 500m'
if has_ctrl cpu; then
  wait_for 30 "cpu Running" field_is cpu "p['status']['phase']" Running
  max=$(E sh -c "cat $CGP/*_main/cpu.max")
  [ "$max" = "50000 100000" ] || fail "cpu.max is '$max', expected '50000 100000'"
  pass "cgroup v2 cpu: limits.cpu 500m is cpu.max '$max'"
else
  refused cpu "CPU limit 500m: cgroup controller cpu is not available"
  pass "cgroup v2 without the cpu controller: a pod with limits.cpu does not run (StartError: $msg)"
  BLOCKED+=("cpu.max under v2: no cpu controller in the container's v2 tree")
fi
E journalctl -u hs-agent --no-pager >"$T/journal-agent.log" 2>&1 || true
if [ ${#BLOCKED[@]} -gt 0 ]; then
  grep -q "cgroup controllers not available to pods: .*$CGP" "$T/journal-agent.log" ||
    fail "hs-agent did not warn at start about the missing controllers"
fi
E hsctl delete pod oom cpu >/dev/null

# ---- down: the set stops as a whole; then the container, and nothing left
E hsctl delete deployment web >"$T/out" 2>&1 || fail "delete deployment: $(cat "$T/out")"
no_web() {
  E hsctl get pods >"$T/pods" 2>&1 && ! grep -q '^web-' "$T/pods" &&
    [ -z "$(E find "$CGP" -mindepth 1 -maxdepth 1 -type d)" ]
}
poll_until 30 no_web || fail "web's pods or groups left: $(cat "$T/pods"; E find "$CGP" -mindepth 1 -maxdepth 1 -type d)"
E systemctl stop homeostat.target
none_active() { [ -z "$(E systemctl list-units 'hs-*' --state=active,activating,deactivating --no-legend)" ]; }
wait_for 30 "every hs-* unit to stop with the target" none_active
pass "systemctl stop homeostat.target stopped every hs-* unit (PartOf), the three replicas too"
t=$(ms)
leader_pid=$LEADER
container_down
lap "the container powered off and its cgroups removed in $(( $(ms) - t )) ms"
! kill -0 "$leader_pid" 2>/dev/null || fail "the container's PID 1 ($leader_pid) still runs"
[ -z "$(boot_cgroups)" ] || fail "cgroups left: $(boot_cgroups)"
! grep -qF -e "$ROOTFS" -e "$T" /proc/self/mountinfo || fail "mounts left: $(grep -F -e "$ROOTFS" -e "$T" /proc/self/mountinfo)"
[ ! -e "$ROOTFS/var/lib/homeostat" ] || fail "the cached rootfs was written to ($ROOTFS/var/lib/homeostat)"
pass "nothing left: the container's processes, mounts and cgroups are gone; the cached rootfs is as built"
for b in "${BLOCKED[@]}"; do
  echo "BLOCKED by this host: $b (the host binds memory and cpu to cgroup v1; test_cgroup_v2_vm makes this check in a VM)"
done
lap "done"
