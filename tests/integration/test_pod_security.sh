#!/usr/bin/env bash
# Hardened pods (issue 16): what a container's process really holds, read
# from the host's /proc/PID/status of its init and from inside.
# - defaults: Docker's capability set (CapEff/CapPrm/CapBnd decoded by
#   capsh), nothing inheritable or ambient, NoNewPrivs 1, Seccomp 2; blocked
#   calls fail with EPERM from the container and from `hsctl exec` in it
#   (unshare -U, mount, keyctl through python's ctypes);
# - runAsUser/runAsGroup/supplementalGroups, in the container and in an exec;
#   a non-root user keeps the capabilities it added, as ambient ones;
# - capabilities drop ALL + add, drop one; allowPrivilegeEscalation true;
#   seccompProfile Unconfined; Localhost refused;
# - runAsNonRoot with uid 0 or with no user (the agent is root) refused:
#   CreateContainerConfigError, the kubelet's message, a Failed Event;
# - readOnlyRootFilesystem: / refuses writes, a mount the test made under it
#   stays writable, /dev too;
# - privileged refused by an agent without --allow-privileged, honoured
#   (every capability, no seccomp, no no_new_privs) by one with it;
# - capabilities beyond Docker's default set (SYS_ADMIN; SYS_PTRACE and
#   SYS_MODULE, named, not the default CHOWN) refused the
#   same way (Pod Security "baseline"), honoured with --allow-privileged;
# - the store refuses a bad capability name and a negative uid, naming the
#   field; `hsctl describe pod` shows the effective settings.
source "$(dirname "$0")/lib.sh"

need_root_cgroups
command -v capsh >/dev/null || { echo "SKIP: needs capsh (libcap2-bin; scripts/install-deps)"; exit 77; }

# A writable directory under the read-only root: a tmpfs of the test's own.
RW="$T/rw"
mkdir -p "$RW"
mount -t tmpfs -o size=1m hs-pod-security "$RW"
# / is the host's: a probe the read-only check writes must never stay there.
PROBE="/hs-ro-probe-$$"
# The same through a host directory bound back under a cover (a volume whose
# mount point is missing from the host's /: shim_mounts.h).
PROBE2="/var/tmp/hs-ro-probe-$$"
undo() {
  umount "$RW" 2>/dev/null || true
  local p
  for p in "$PROBE" "$PROBE2"; do
    if [ -e "$p" ]; then
      rm -f "$p"
      echo "a container wrote $p on the host's /" >&2
      HS_EXIT_FAIL=1
    fi
  done
}
hs_on_exit undo

start_bus
start_store
start_agent n1 --backoff-initial 1
start_agent n2 --backoff-initial 1 --allow-privileged

field() {
  hsctl get pod "$1" -o json | python3 -c "import json,sys; p=json.load(sys.stdin); print($2)"
}
phase_is() { [ "$(field "$1" "p['status']['phase']" 2>/dev/null)" = "$2" ]; }
waiting_is() {
  [ "$(field "$1" "p['status']['containerStatuses'][0]['state']['waiting']['reason']" 2>/dev/null)" = "$2" ]
}
# init_pid POD NODE: the host pid of the pod's container's init (its run's state file).
init_pid() {
  local f
  f=$(ls "$T/agent-$2/pods/default_$1_"*/main/*/state 2>/dev/null | tail -1)
  [ -n "$f" ] && sed -n 's/^pid=//p' "$f"
}
# status_of POD NODE KEY: a line's value in the init's /proc/PID/status.
status_of() {
  local pid
  pid=$(init_pid "$1" "$2")
  [ -n "$pid" ] || fail "pod $1: no container pid"
  awk -v k="$3:" '$1 == k { $1 = ""; sub(/^ +/, ""); print; exit }' "/proc/$pid/status"
}
# caps_of POD NODE FIELD: the set decoded, e.g. "cap_chown,cap_kill" ("" for none).
caps_of() {
  local hex
  hex=$(status_of "$1" "$2" "$3")
  capsh --decode="0x$hex" | sed 's/^0x[0-9a-f]*=//; s/^0x[0-9a-f]*$//'
}
expect_eq() { [ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"; }

DOCKER_CAPS="cap_chown,cap_dac_override,cap_fowner,cap_fsetid,cap_kill,cap_setgid,cap_setuid,cap_setpcap,cap_net_bind_service,cap_net_raw,cap_sys_chroot,cap_mknod,cap_audit_write,cap_setfcap"

# Calls the default profile denies, made from python in the container: one
# line each, "NAME ok" or "NAME ERRNO".
cat >"$T/calls.py" <<'EOF'
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
def call(name, nr, *args):
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    if r == 0 and name.startswith("clone"):
        os._exit(0)  # a child the filter should have prevented
    print(name, "ok" if r >= 0 else errno.errorcode[ctypes.get_errno()], flush=True)
call("keyctl", 250, 0, 0, 0, 0, 0)
call("ptrace", 101, 0, 0, 0, 0)                         # PTRACE_TRACEME
call("clone_newuser", 56, 0x10000000 | 17, 0, 0, 0, 0)  # CLONE_NEWUSER|SIGCHLD
call("clone3", 435, 0, 0)
call("personality_query", 135, 0xffffffff)
call("personality_linux32", 135, 0x8)
call("personality_linux", 135, 0)
call("personality_readimpliesexec", 135, 0x400000)
call("personality_high", 135, 0x80000000)
EOF
chmod 644 "$T/calls.py"

cat >"$T/pods.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata: {name: def}
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    command: ["/bin/sh", "-c", "unshare -U true; echo unshare=\$?; mount -t tmpfs none /mnt; echo mount=\$?; python3 $T/calls.py; echo calls done; exec sleep 100000"]
---
apiVersion: v1
kind: Pod
metadata: {name: user}
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 1
  securityContext: {runAsUser: 1234, runAsGroup: 2345, supplementalGroups: [3456, 4567]}
  containers:
  - name: main
    command: ["/bin/sh", "-c", "id; exec sleep 100001"]
---
apiVersion: v1
kind: Pod
metadata: {name: userbind}
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 1
  securityContext: {runAsUser: 1234}
  containers:
  - name: main
    command: ["/bin/sh", "-c", "exec sleep 100002"]
    securityContext:
      capabilities: {add: [NET_BIND_SERVICE]}
---
apiVersion: v1
kind: Pod
metadata: {name: caps}
spec:
  nodeName: n2
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    command: ["/bin/sh", "-c", "exec sleep 100003"]
    securityContext:
      capabilities: {drop: [ALL], add: [CAP_NET_ADMIN, sys_time]}
---
apiVersion: v1
kind: Pod
metadata: {name: noraw}
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    command: ["/bin/sh", "-c", "exec sleep 100004"]
    securityContext:
      capabilities: {drop: [NET_RAW]}
      allowPrivilegeEscalation: true
---
apiVersion: v1
kind: Pod
metadata: {name: unconfined}
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 1
  securityContext:
    seccompProfile: {type: Unconfined}
  containers:
  - name: main
    command: ["/bin/sh", "-c", "exec sleep 100005"]
---
apiVersion: v1
kind: Pod
metadata: {name: ro}
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    command: ["/bin/sh", "-c", "touch $PROBE; echo root=\$?; echo hi >$RW/ok; echo rw=\$?; echo x >/dev/null; echo dev=\$?; exec sleep 100006"]
    securityContext: {readOnlyRootFilesystem: true}
---
apiVersion: v1
kind: Pod
metadata: {name: nonroot0}
spec:
  nodeName: n1
  securityContext: {runAsNonRoot: true}
  containers:
  - name: main
    command: ["/bin/sh", "-c", "exec sleep 100007"]
    securityContext: {runAsUser: 0}
---
apiVersion: v1
kind: Pod
metadata: {name: nonrootdefault}
spec:
  nodeName: n1
  containers:
  - name: main
    command: ["/bin/sh", "-c", "exec sleep 100008"]
    securityContext: {runAsNonRoot: true}
---
apiVersion: v1
kind: Pod
metadata: {name: local}
spec:
  nodeName: n1
  containers:
  - name: main
    command: ["/bin/sh", "-c", "exec sleep 100009"]
    securityContext:
      seccompProfile: {type: Localhost, localhostProfile: profiles/audit.json}
---
apiVersion: v1
kind: Pod
metadata: {name: priv}
spec:
  nodeName: n1
  containers:
  - name: main
    command: ["/bin/sh", "-c", "exec sleep 100010"]
    securityContext: {privileged: true}
---
apiVersion: v1
kind: Pod
metadata: {name: priv2}
spec:
  nodeName: n2
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    command: ["/bin/sh", "-c", "exec sleep 100011"]
    securityContext: {privileged: true}
---
apiVersion: v1
kind: Pod
metadata: {name: sysadmin}
spec:
  nodeName: n1
  containers:
  - name: main
    command: ["/bin/sh", "-c", "exec sleep 100012"]
    securityContext:
      capabilities: {add: [SYS_ADMIN]}
---
apiVersion: v1
kind: Pod
metadata: {name: addmore}
spec:
  nodeName: n1
  containers:
  - name: main
    command: ["/bin/sh", "-c", "exec sleep 100013"]
    securityContext:
      capabilities: {add: [SYS_PTRACE, CHOWN, sys_module]}
---
apiVersion: v1
kind: Pod
metadata: {name: sysadmin2}
spec:
  nodeName: n2
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    command: ["/bin/sh", "-c", "exec sleep 100014"]
    securityContext:
      capabilities: {add: [SYS_ADMIN]}
EOF
hsctl apply -f "$T/pods.yaml" >/dev/null || fail "apply the pods"

for p in def user userbind caps noraw unconfined ro sysadmin2; do
  wait_for 20 "pod $p Running" phase_is "$p" Running
done
wait_for 20 "pod priv2 Running on n2 (--allow-privileged)" phase_is priv2 Running

# ---- defaults
expect_eq "def CapEff" "$(caps_of def n1 CapEff)" "$DOCKER_CAPS"
expect_eq "def CapPrm" "$(caps_of def n1 CapPrm)" "$DOCKER_CAPS"
expect_eq "def CapBnd" "$(caps_of def n1 CapBnd)" "$DOCKER_CAPS"
expect_eq "def CapInh" "$(caps_of def n1 CapInh)" ""
expect_eq "def CapAmb" "$(caps_of def n1 CapAmb)" ""
expect_eq "def NoNewPrivs" "$(status_of def n1 NoNewPrivs)" 1
expect_eq "def Seccomp" "$(status_of def n1 Seccomp)" 2
expect_eq "def Uid" "$(status_of def n1 Uid)" "0 0 0 0"
pass "defaults: Docker's capabilities, NoNewPrivs 1, Seccomp 2"

wait_for 10 "def's output" sh -c "hsctl logs def | grep -q '^calls done'"
logs=$(hsctl logs def)
grep -q 'unshare: unshare failed: Operation not permitted' <<<"$logs" || fail "unshare -U in def: $logs"
grep -q '^unshare=1$' <<<"$logs" || fail "unshare -U succeeded in def: $logs"
grep -Eq '^mount=(1|32)$' <<<"$logs" || fail "mount succeeded in def: $logs"
for want in "keyctl EPERM" "ptrace EPERM" "clone_newuser EPERM" "clone3 ENOSYS" \
  "personality_query ok" "personality_linux32 ok" "personality_linux ok" \
  "personality_readimpliesexec EPERM" "personality_high EPERM"; do
  grep -qx "$want" <<<"$logs" || fail "def: expected '$want' in: $logs"
done
RC=0
out=$(hsctl exec def -- unshare -m true 2>&1) || RC=$?
[ "$RC" -ne 0 ] && grep -q 'Operation not permitted' <<<"$out" ||
  fail "hsctl exec def -- unshare -m: rc $RC: $out"
out=$(hsctl exec def -- grep -E '^(NoNewPrivs|Seccomp|CapEff):' /proc/self/status)
grep -q 'NoNewPrivs:.1' <<<"$out" && grep -q 'Seccomp:.2' <<<"$out" &&
  grep -q 'CapEff:.00000000a80425fb' <<<"$out" || fail "hsctl exec def is not held like def: $out"
pass "blocked calls fail with EPERM (unshare, mount, keyctl, ptrace, clone with CLONE_NEWUSER, personality but the safe ones; clone3 ENOSYS), in the container and in hsctl exec"

# ---- users
expect_eq "user Uid" "$(status_of user n1 Uid)" "1234 1234 1234 1234"
expect_eq "user Gid" "$(status_of user n1 Gid)" "2345 2345 2345 2345"
expect_eq "user Groups" "$(status_of user n1 Groups)" "3456 4567"
expect_eq "user CapEff (non-root)" "$(caps_of user n1 CapEff)" ""
expect_eq "user CapBnd" "$(caps_of user n1 CapBnd)" "$DOCKER_CAPS"
expect_eq "user NoNewPrivs" "$(status_of user n1 NoNewPrivs)" 1
out=$(hsctl exec user -- id)
expect_eq "hsctl exec user -- id" "$out" "uid=1234 gid=2345 groups=2345,3456,4567"
expect_eq "userbind CapEff" "$(caps_of userbind n1 CapEff)" "cap_net_bind_service"
expect_eq "userbind CapAmb" "$(caps_of userbind n1 CapAmb)" "cap_net_bind_service"
pass "runAsUser/runAsGroup/supplementalGroups, in the container and in hsctl exec; an added capability is ambient for a non-root user"

# ---- capabilities and the rest
expect_eq "caps CapEff" "$(caps_of caps n2 CapEff)" "cap_net_admin,cap_sys_time"
expect_eq "caps CapBnd" "$(caps_of caps n2 CapBnd)" "cap_net_admin,cap_sys_time"
expect_eq "noraw CapEff" "$(caps_of noraw n1 CapEff)" "${DOCKER_CAPS/cap_net_raw,/}"
expect_eq "noraw NoNewPrivs (allowPrivilegeEscalation: true)" "$(status_of noraw n1 NoNewPrivs)" 0
expect_eq "noraw Seccomp" "$(status_of noraw n1 Seccomp)" 2
expect_eq "unconfined Seccomp" "$(status_of unconfined n1 Seccomp)" 0
expect_eq "unconfined NoNewPrivs" "$(status_of unconfined n1 NoNewPrivs)" 1
pass "capabilities add/drop (ALL, with and without CAP_), allowPrivilegeEscalation, seccomp Unconfined"

# ---- read-only root
wait_for 10 "ro's output" sh -c "hsctl logs ro | grep -q '^dev='"
logs=$(hsctl logs ro)
grep -q '^root=1$' <<<"$logs" && grep -q 'Read-only file system' <<<"$logs" || fail "ro wrote to /: $logs"
grep -q '^rw=0$' <<<"$logs" && [ "$(cat "$RW/ok")" = hi ] || fail "ro could not write to $RW: $logs"
grep -q '^dev=0$' <<<"$logs" || fail "ro could not write to /dev/null: $logs"
[ -w / ] && touch "$T/host-still-writable" || fail "the host's / is not writable any more"
pass "readOnlyRootFilesystem: / refuses writes; a mount under it and /dev do not"

# A read-only root with a volume whose mount point is missing on the host: /
# is covered (a tmpfs with the host's entries bound back, shim_mounts.h); the
# entries bound back stay read-only, the emptyDir stays writable.
hsctl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: rovol}
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 1
  volumes: [{name: scratch, emptyDir: {}}]
  containers:
  - name: main
    command: ["/bin/sh", "-c", "touch $PROBE2; echo bound=\$?; echo hi >/hs-rovol-$$/x; echo vol=\$?; exec sleep 100016"]
    securityContext: {readOnlyRootFilesystem: true}
    volumeMounts: [{name: scratch, mountPath: /hs-rovol-$$}]
EOF
wait_for 20 "rovol's output" sh -c "hsctl logs rovol 2>/dev/null | grep -q '^vol='"
logs=$(hsctl logs rovol)
grep -q '^bound=1$' <<<"$logs" || fail "rovol wrote through a cover to the host's /var/tmp: $logs"
grep -q '^vol=0$' <<<"$logs" || fail "rovol could not write to its emptyDir: $logs"
[ ! -e "/hs-rovol-$$" ] || fail "the mount point /hs-rovol-$$ was made on the host"
hsctl delete pod rovol --grace-period 0 >/dev/null 2>&1 || true
pass "readOnlyRootFilesystem with a covered /: host entries read-only, the emptyDir writable"

# ---- refusals
wait_for 20 "nonroot0 CreateContainerConfigError" waiting_is nonroot0 CreateContainerConfigError
msg=$(field nonroot0 "p['status']['containerStatuses'][0]['state']['waiting']['message']")
grep -q "^container's runAsUser breaks non-root policy (pod: \"nonroot0_default(" <<<"$msg" ||
  fail "nonroot0's message: $msg"
wait_for 20 "nonrootdefault CreateContainerConfigError" waiting_is nonrootdefault CreateContainerConfigError
msg=$(field nonrootdefault "p['status']['containerStatuses'][0]['state']['waiting']['message']")
grep -q '^container has runAsNonRoot and image will run as root (pod: "nonrootdefault_default(.*container: main)$' <<<"$msg" ||
  fail "nonrootdefault's message: $msg"
wait_for 20 "local CreateContainerConfigError" waiting_is local CreateContainerConfigError
wait_for 20 "priv CreateContainerConfigError" waiting_is priv CreateContainerConfigError
msg=$(field priv "p['status']['containerStatuses'][0]['state']['waiting']['message']")
grep -q '^privileged containers are not allowed' <<<"$msg" || fail "priv's message: $msg"
expect_eq "priv phase" "$(field priv "p['status']['phase']")" Pending
[ -z "$(init_pid priv n1)" ] || fail "priv ran a process"
[ -z "$(procs_naming 'sleep 100010')" ] || fail "priv's command runs"
ev=$(hsctl get events)
grep -q 'Failed.*pod/priv .*privileged containers are not allowed' <<<"$ev" ||
  fail "no Failed Event for priv: $ev"
pass "runAsNonRoot (uid 0, no user), Localhost and privileged refused: CreateContainerConfigError"

# ---- capabilities beyond the default set, refused without --allow-privileged
wait_for 20 "sysadmin CreateContainerConfigError" waiting_is sysadmin CreateContainerConfigError
msg=$(field sysadmin "p['status']['containerStatuses'][0]['state']['waiting']['message']")
expect_eq "sysadmin's message" "$msg" 'non-default capabilities are not allowed: container main adds "SYS_ADMIN" in securityContext.capabilities.add and hs-agent on node n1 runs without --allow-privileged'
expect_eq "sysadmin phase" "$(field sysadmin "p['status']['phase']")" Pending
[ -z "$(init_pid sysadmin n1)" ] || fail "sysadmin ran a process"
[ -z "$(procs_naming 'sleep 100012')" ] || fail "sysadmin's command runs"
wait_for 20 "addmore CreateContainerConfigError" waiting_is addmore CreateContainerConfigError
msg=$(field addmore "p['status']['containerStatuses'][0]['state']['waiting']['message']")
grep -qF 'container main adds "SYS_MODULE", "SYS_PTRACE" in securityContext.capabilities.add' <<<"$msg" ||
  fail "addmore's message: $msg"
[ -z "$(procs_naming 'sleep 100013')" ] || fail "addmore's command runs"
ev=$(hsctl get events)
grep -q 'Failed.*pod/sysadmin .*non-default capabilities are not allowed' <<<"$ev" ||
  fail "no Failed Event for sysadmin: $ev"
caps=$(caps_of sysadmin2 n2 CapEff)
[[ ",$caps," == *",cap_sys_admin,"* ]] || fail "sysadmin2 on n2 (--allow-privileged) lacks cap_sys_admin: $caps"
pass "capabilities beyond the default set (SYS_ADMIN; SYS_PTRACE, SYS_MODULE) refused without --allow-privileged, kept with it"

# ---- privileged, allowed
expect_eq "priv2 CapEff" "$(status_of priv2 n2 CapEff)" "$(awk '$1 == "CapBnd:" {print $2}' /proc/self/status)"
expect_eq "priv2 NoNewPrivs" "$(status_of priv2 n2 NoNewPrivs)" 0
expect_eq "priv2 Seccomp" "$(status_of priv2 n2 Seccomp)" 0
pass "privileged with --allow-privileged: every capability, no seccomp, no no_new_privs"

# ---- validation
bad() { # bad NAME SECURITYCONTEXT-YAML (pod level) CONTAINER-LEVEL EXPECTED
  cat >"$T/bad.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  securityContext: $2
  containers:
  - name: main
    command: ["/bin/true"]
    securityContext: $3
EOF
  RC=0
  out=$(hsctl apply -f "$T/bad.yaml" 2>&1) || RC=$?
  [ "$RC" -ne 0 ] || fail "apply of $1 succeeded"
  grep -qF -- "$4" <<<"$out" || fail "apply of $1: expected '$4' in: $out"
}
bad badcap '{}' '{capabilities: {add: [NET_FOO]}}' \
  'spec.containers[0].securityContext.capabilities.add[0]: Unsupported value: "NET_FOO"'
bad alladd '{}' '{capabilities: {add: [ALL], drop: [ALL, CAP_BOGUS]}}' \
  'spec.containers[0].securityContext.capabilities.drop[1]: Unsupported value: "CAP_BOGUS"'
bad neguid '{runAsUser: -1}' '{}' \
  'spec.securityContext.runAsUser: Invalid value: -1: must be between 0 and 2147483647, inclusive'
bad neggid '{}' '{runAsGroup: -5}' 'spec.containers[0].securityContext.runAsGroup: Invalid value: -5'
bad badseccomp '{seccompProfile: {type: Strict}}' '{}' \
  'spec.securityContext.seccompProfile.type: Unsupported value: "Strict"'
bad privnoesc '{}' '{privileged: true, allowPrivilegeEscalation: false}' \
  'cannot set `allowPrivilegeEscalation` to false and `privileged` to true'
pass "the store refuses bad capability names, negative ids and bad profiles, naming the field"

# ---- describe
d=$(hsctl describe pod def)
grep -Eq "Caps: +default: CHOWN,DAC_OVERRIDE,FOWNER,FSETID,KILL,SETGID,SETUID,SETPCAP,NET_BIND_SERVICE,NET_RAW,SYS_CHROOT,MKNOD,AUDIT_WRITE,SETFCAP$" <<<"$d" &&
  grep -Eq "Seccomp: +RuntimeDefault$" <<<"$d" && grep -Eq "NoNewPrivs: +True$" <<<"$d" &&
  grep -Eq "Root FS: +writable$" <<<"$d" || fail "describe def: $d"
d=$(hsctl describe pod userbind)
grep -Eq "User: +1234$" <<<"$d" && grep -Eq "Ambient: +NET_BIND_SERVICE$" <<<"$d" ||
  fail "describe userbind: $d"
d=$(hsctl describe pod priv)
grep -Eq "Caps: +ALL$" <<<"$d" && grep -Eq "Privileged: +True$" <<<"$d" &&
  grep -Eq "Seccomp: +Unconfined$" <<<"$d" && grep -q CreateContainerConfigError <<<"$d" ||
  fail "describe priv: $d"
d=$(hsctl describe pod ro)
grep -Eq "Root FS: +read-only$" <<<"$d" || fail "describe ro: $d"
pass "hsctl describe pod shows the effective settings"
