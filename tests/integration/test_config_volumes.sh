#!/usr/bin/env bash
# Pods consume ConfigMaps and Secrets (real store, bus and agent, root):
# env from configMapKeyRef/secretKeyRef/fieldRef and envFrom (invalid names
# skipped with an Event); configMap and secret volumes as files with their
# modes, mounted read-only on paths that do not exist on the host (and
# still do not); a changed ConfigMap updates the file in the running
# container in place (timed) while a subPath mount keeps its file; a
# missing object or key keeps the container waiting with kube's
# CreateContainerConfigError words until it appears; an emptyDir shared by
# two containers; a Memory emptyDir is a tmpfs; hostPath refused without
# --allow-host-path; the Secret's value in no log and no command line
# (also none during an `hsctl exec` and exec probes, which get the
# container's Secret variables: a readiness probe using one passes);
# nothing left mounted or on disk once the pods are gone, also when the
# agent was down while its pod was deleted, and what a pod the agent's
# record no longer has left behind (removed at the agent's start); a
# hostPath works once the agent allows it.
source "$(dirname "$0")/lib.sh"

start_bus
start_store
start_agent n1 --backoff-initial 1 --backoff-max 2
start_ctrl prober

SECRET_VALUE="s3cr3t-$RANDOM-value"
B64=$(printf '%s' "$SECRET_VALUE" | base64 -w0)
PODS_DIR="$T/agent-n1/pods"
# Mount points of this test that must never appear on the host.
MP_CFG=/etc/hs-it-cfg-$$
MP_SECRET=/hs-it-secret-$$
MP_SUB=/etc/hs-it-greeting-$$
MP_SHARED=/hs-it-shared-$$
MP_MEM=/hs-it-mem-$$
MP_HOST=/mnt/hs-it-host-$$

check_host_clean() {
  local m
  for m in "$MP_CFG" "$MP_SECRET" "$MP_SUB" "$MP_SHARED" "$MP_MEM" "$MP_HOST"; do
    [ ! -e "$m" ] || { echo "mount point $m was made on the host" >&2; HS_EXIT_FAIL=1; rm -rf "$m"; }
  done
}
hs_on_exit check_host_clean
# A failing run may leave the agent's tmpfs volumes mounted: they go before
# lib.sh removes $T (a passing run must not need this: checked at the end).
unmount_leftovers() {
  local m
  for m in $(awk -v t="$T/" 'index($5, t) == 1 { print length($5), $5 }' /proc/self/mountinfo |
             sort -rn | cut -d' ' -f2); do
    umount -l "$m" 2>/dev/null || true
  done
}
hs_on_exit unmount_leftovers

field() {
  hsctl get pod "$1" -o json | python3 -c "import json,sys; p=json.load(sys.stdin); print($2)"
}
field_is() { [ "$(field "$1" "$2" 2>/dev/null)" = "$3" ]; }
field_has() { local v; v=$(field "$1" "$2" 2>/dev/null) || return 1; [[ "$v" == *"$3"* ]]; }
cpid() { # POD CONTAINER-INDEX: the container's host pid
  local cid
  cid=$(field "$1" "p['status']['containerStatuses'][$2]['containerID']")
  echo "${cid##*/}"
}
cid_of() { # POD NAME
  field "$1" "[c for c in p['status']['containerStatuses'] if c['name']=='$2'][0]['containerID'].split('/')[-1]"
}

cat >"$T/objs.yaml" <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
data:
  greeting: hello
  app.properties: |
    a=1
    b=2
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: odd
data:
  good: yes
  1bad: no
---
apiVersion: v1
kind: Secret
metadata:
  name: app-secret
type: Opaque
data:
  password: $B64
  user: $(printf admin | base64 -w0)
EOF
hsctl apply -f "$T/objs.yaml" >/dev/null || fail "apply the ConfigMaps and Secret"

cat >"$T/cfg.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: cfg
  labels: {app: cfg}
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 2
  volumes:
  - name: config
    configMap: {name: app-config}
  - name: secret
    secret:
      secretName: app-secret
      defaultMode: 288   # 0440 (decimal, as JSON manifests must give it)
      items:
      - {key: password, path: pw/password, mode: 256}   # 0400
      - {key: user, path: user}
  - name: shared
    emptyDir: {}
  - name: mem
    emptyDir: {medium: Memory, sizeLimit: 8Mi}
  containers:
  - name: main
    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    # An exec probe that needs a Secret variable (kube runs it with the
    # container's env); it lasts a while so that its helper can be seen.
    readinessProbe:
      exec:
        command: ["/bin/sh", "-c", "[ -n \"\$PASSWORD\" ] && [ \"\$PASSWORD\" = \"\$(cat $MP_SECRET/pw/password)\" ] && sleep 0.3"]
      periodSeconds: 1
      timeoutSeconds: 2
    env:
    - name: GREETING
      valueFrom: {configMapKeyRef: {name: app-config, key: greeting}}
    - name: PASSWORD
      valueFrom: {secretKeyRef: {name: app-secret, key: password}}
    - name: MAYBE
      valueFrom: {configMapKeyRef: {name: nowhere, key: k, optional: true}}
    - name: POD_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - name: POD_NS
      valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
    - name: NODE
      valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
    - name: SA
      valueFrom: {fieldRef: {fieldPath: spec.serviceAccountName}}
    - name: APP
      valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}
    envFrom:
    - prefix: CM_
      configMapRef: {name: app-config}
    - secretRef: {name: app-secret}
      prefix: S_
    - configMapRef: {name: odd}
    volumeMounts:
    - {name: config, mountPath: $MP_CFG}
    - {name: secret, mountPath: $MP_SECRET}
    - {name: config, mountPath: $MP_SUB, subPath: greeting}
    - {name: mem, mountPath: $MP_SHARED/inner}
    - {name: shared, mountPath: $MP_SHARED}
    - {name: mem, mountPath: $MP_MEM}
  - name: side
    command: ["/bin/sh", "-c", "echo from-side > $MP_SHARED/note; trap 'exit 0' TERM; sleep 3600 & wait"]
    volumeMounts:
    - {name: shared, mountPath: $MP_SHARED}
    - {name: mem, mountPath: $MP_MEM, readOnly: true}
EOF
hsctl apply -f "$T/cfg.yaml" >/dev/null || fail "apply pod cfg"
wait_for 30 "cfg Running" field_is cfg "p['status']['phase']" Running
main=$(cid_of cfg main)
side=$(cid_of cfg side)
[ -d "/proc/$main" ] && [ -d "/proc/$side" ] || fail "containers not alive"
R=/proc/$main/root

# ---- env
env_of() { tr '\0' '\n' <"/proc/$1/environ"; }
envs=$(env_of "$main")
for want in "GREETING=hello" "PASSWORD=$SECRET_VALUE" "POD_NAME=cfg" "POD_NS=default" \
            "NODE=n1" "SA=" "APP=cfg" "CM_greeting=hello" "S_password=$SECRET_VALUE" \
            "S_user=admin" "good=yes"; do
  grep -qxF -- "$want" <<<"$envs" || fail "env lacks $want: $envs"
done
grep -q '^MAYBE=' <<<"$envs" && fail "an optional missing ConfigMap set MAYBE"
grep -q '1bad' <<<"$envs" && fail "invalid names were not skipped: $envs"
wait_for 10 "the InvalidEnvironmentVariableNames Event" \
  sh -c "hsctl get events 2>/dev/null | grep -q 'InvalidEnvironmentVariableNames'"
ev=$(hsctl get events 2>&1)
[[ "$ev" == *"1bad"* ]] || fail "the Event does not name the skipped key: $ev"
pass "env: configMapKeyRef, secretKeyRef, fieldRef, envFrom with prefixes, invalid names skipped"

# ---- files and modes
[ "$(cat "$R$MP_CFG/greeting")" = hello ] || fail "greeting file: $(cat "$R$MP_CFG/greeting")"
[ "$(cat "$R$MP_CFG/app.properties")" = "$(printf 'a=1\nb=2')" ] || fail "app.properties"
[ "$(readlink "$R$MP_CFG/greeting")" = "..data/greeting" ] || fail "not the kubelet's layout"
[ "$(stat -Lc %a "$R$MP_CFG/greeting")" = 644 ] || fail "configMap default mode"
[ "$(cat "$R$MP_SECRET/pw/password")" = "$SECRET_VALUE" ] || fail "secret file"
[ "$(stat -Lc %a "$R$MP_SECRET/pw/password")" = 400 ] || fail "item mode: $(stat -Lc %a "$R$MP_SECRET/pw/password")"
[ "$(stat -Lc %a "$R$MP_SECRET/user")" = 440 ] || fail "defaultMode"
[ "$(cat "$R$MP_SUB")" = hello ] || fail "subPath file"
out=$( { echo x >"$R$MP_CFG/new"; } 2>&1) && fail "configMap volume writable"
[[ "$out" == *"Read-only"* ]] || fail "configMap volume write: $out"
[ "$(cat "$R/etc/hostname" 2>/dev/null || echo none)" = "$(cat /etc/hostname 2>/dev/null || echo none)" ] ||
  fail "/etc's entries not the host's under the tmpfs"
# The Secret's files live on a tmpfs the agent mounted; never on disk.
sdir=$(find "$PODS_DIR" -maxdepth 3 -path '*/volumes/secret' | head -1)
[ "$(stat -fc %T "$sdir")" = tmpfs ] || fail "the secret volume is not on a tmpfs"
pass "configMap and secret volumes: files, modes, read-only, secret on tmpfs"

# ---- emptyDir shared, Memory emptyDir
wait_for 10 "side's note in main's view" sh -c "[ \"\$(cat '$R$MP_SHARED/note' 2>/dev/null)\" = from-side ]"
[ "$(stat -fc %T "$R$MP_MEM")" = tmpfs ] || fail "Memory emptyDir is not a tmpfs"
memdir=$(find "$PODS_DIR" -maxdepth 3 -path '*/volumes/mem' | head -1)
memopts=$(findmnt -no OPTIONS "$memdir")
[[ "$memopts" == *size=8192k* ]] || fail "sizeLimit 8Mi not the tmpfs size: $memopts"
echo mem >"$R$MP_MEM/w" || fail "Memory emptyDir not writable for main"
out=$( { echo x >"/proc/$side/root$MP_MEM/w2"; } 2>&1) && fail "readOnly: true mount writable"
[[ "$out" == *"Read-only"* ]] || fail "readOnly mount write: $out"
[ "$(cat "/proc/$side/root$MP_MEM/w")" = mem ] || fail "side does not see main's file"
echo mine >"$R$MP_SHARED/from-main" || fail "emptyDir not writable"
[ "$(cat "/proc/$side/root$MP_SHARED/from-main")" = mine ] || fail "not shared"
# A mount inside another volume (listed before it): made in that volume.
[ "$(stat -fc %T "$R$MP_SHARED/inner")" = tmpfs ] || fail "the nested mount is not there"
[ -d "/proc/$side/root$MP_SHARED/inner" ] || fail "the nested mount point is not in the shared volume"
pass "emptyDir shared by two containers; Memory: a tmpfs of sizeLimit; readOnly; a mount inside a volume"

# ---- exec probes and hsctl exec get the Secret variables, never on a command line
wait_for 30 "cfg READY 2/2 (an exec readiness probe using \$PASSWORD)" \
  sh -c "[ \"\$(hsctl get pod cfg --no-headers 2>/dev/null | awk '{print \$2}')\" = 2/2 ]"
# exec_shims: the pids of running `hs-shim --exec` helpers.
exec_shims() {
  local f args
  for f in /proc/[0-9]*/cmdline; do
    mapfile -d '' args <"$f" 2>/dev/null || continue
    [[ "${args[0]:-}" == */hs-shim && " ${args[*]} " == *" --exec "* ]] &&
      { f=${f#/proc/}; echo "${f%/cmdline}"; }
  done
  return 0
}
# Watch the probe helpers a while: each seen must not carry the value.
seen=0
deadline=$(( $(date +%s) + 5 ))
while [ "$(date +%s)" -lt "$deadline" ] && [ "$seen" -lt 3 ]; do
  shims=$(exec_shims)
  if [ -n "$shims" ]; then
    seen=$((seen + 1))
    named=$(procs_naming "$SECRET_VALUE")
    [ -z "$named" ] || fail "the Secret's value is on an exec probe's command line: $(tr '\0' ' ' <"/proc/${named%%$'\n'*}/cmdline" 2>/dev/null)"
  fi
  sleep 0.05   # polling interval of a deadline loop
done
[ "$seen" -gt 0 ] || fail "no exec probe helper seen in 5 s"
hsctl exec cfg -c main -- /bin/sh -c "printf %s \"\$PASSWORD\" >$MP_SHARED/exec-pw; sleep 2" \
  >"$T/exec.out" 2>"$T/exec.err" &
EXEC_PID=$!
HS_PIDS+=("$EXEC_PID")
wait_for 10 "the exec's command to write \$PASSWORD" \
  sh -c "[ -s '$R$MP_SHARED/exec-pw' ]"
[ "$(cat "$R$MP_SHARED/exec-pw")" = "$SECRET_VALUE" ] || fail "hsctl exec's command lacks PASSWORD"
[ -n "$(exec_shims)" ] || fail "no hs-shim --exec runs during hsctl exec"
named=$(procs_naming "$SECRET_VALUE")
[ -z "$named" ] || fail "the Secret's value is on a command line during hsctl exec: $(tr '\0' ' ' <"/proc/${named%%$'\n'*}/cmdline" 2>/dev/null)"
rc=0
wait "$EXEC_PID" || rc=$?
[ "$rc" = 0 ] || fail "hsctl exec: exit $rc: $(cat "$T/exec.err")"
rm -f "$R$MP_SHARED/exec-pw"
pass "exec probes and hsctl exec run with the Secret variables, none on a command line ($seen probe helpers seen)"

# ---- nothing on the host, secret nowhere in clear
check_host_clean
[ "${HS_EXIT_FAIL:-0}" = 0 ] || fail "mount points made on the host"
[ -z "$(procs_naming "$SECRET_VALUE" 2>/dev/null)" ] || fail "the Secret's value is on a command line"
logs=$(cat "$T"/*.log)
[[ "$logs" != *"$SECRET_VALUE"* ]] || fail "the Secret's value is in a log"
[[ "$ev" != *"$SECRET_VALUE"* ]] || fail "the Secret's value is in an Event"
pass "mount points only in the container; the Secret's value in no log or command line"

# ---- update in place
t0=$(date +%s%N)
kubectl_cm='apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
data:
  greeting: bonjour
  app.properties: |
    a=1
    b=2'
hsctl apply -f - <<<"$kubectl_cm" >/dev/null || fail "apply the changed ConfigMap"
wait_for 10 "the greeting file to change" sh -c "[ \"\$(cat '$R$MP_CFG/greeting')\" = bonjour ]"
t1=$(date +%s%N)
echo "  configMap update seen in the container after $(( (t1 - t0) / 1000000 )) ms (from hsctl apply)"
[ "$(cat "$R$MP_SUB")" = hello ] || fail "the subPath file changed (kube: it does not)"
grep -qxF "GREETING=hello" <<<"$(env_of "$main")" || fail "env changed in a running container"
[ "$(cid_of cfg main)" = "$main" ] || fail "the container was restarted"
pass "ConfigMap change updates the mounted file in place; subPath and env stay"

# ---- how long an update takes to reach the container (printed, not judged):
# from the start of `hsctl apply` to the new content read in the container.
lat=()
for i in $(seq 1 20); do
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app-config}\ndata: {greeting: v%s}\n' "$i" >"$T/cm-$i.yaml"
  t0=$(date +%s%N)
  hsctl apply -f "$T/cm-$i.yaml" >/dev/null || fail "apply update $i"
  t1=$(date +%s%N)
  wait_for 10 "update $i in the container" sh -c "[ \"\$(cat '$R$MP_CFG/greeting')\" = v$i ]"
  t2=$(date +%s%N)
  lat+=("$(( (t2 - t0) / 1000000 )) $(( (t1 - t0) / 1000000 ))")
done
printf '%s\n' "${lat[@]}" | python3 -c '
import sys
rows = [tuple(map(int, l.split())) for l in sys.stdin if l.strip()]
tot = sorted(r[0] for r in rows); ap = sorted(r[1] for r in rows)
q = lambda v, p: v[min(len(v) - 1, int(p * len(v)))]
print("  | ConfigMap update, %d runs | p50 ms | p90 ms | max ms |" % len(rows))
print("  |---|---|---|---|")
print("  | hsctl apply returns | %d | %d | %d |" % (q(ap, .5), q(ap, .9), ap[-1]))
print("  | file changed in the container | %d | %d | %d |" % (q(tot, .5), q(tot, .9), tot[-1]))
'
[ -z "$(find "$(dirname "$(readlink -f "$PODS_DIR"/*/volumes/config/..data)")" -maxdepth 1 -name '..20*' | sed 1d)" ] ||
  fail "old timestamped directories left behind"

# ---- missing object, then missing key, then the pod starts
cat >"$T/waiter.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata: {name: waiter}
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    env:
    - name: K
      valueFrom: {configMapKeyRef: {name: late, key: k}}
EOF
hsctl apply -f "$T/waiter.yaml" >/dev/null || fail "apply waiter"
W="p['status']['containerStatuses'][0]['state']['waiting']"
wait_for 20 "waiter: CreateContainerConfigError" field_is waiter "$W['reason']" CreateContainerConfigError
field_is waiter "$W['message']" 'configmap "late" not found' || fail "message: $(field waiter "$W")"
field_is waiter "p['status']['phase']" Pending || fail "waiter not Pending"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: late}\ndata: {other: x}\n' | hsctl apply -f - >/dev/null
wait_for 10 "waiter: missing key" field_is waiter "$W['message']" "couldn't find key k in ConfigMap default/late"
t0=$(date +%s%N)
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: late}\ndata: {k: here}\n' | hsctl apply -f - >/dev/null
wait_for 10 "waiter Running" field_is waiter "p['status']['phase']" Running
t1=$(date +%s%N)
echo "  waiting container started $(( (t1 - t0) / 1000000 )) ms after its ConfigMap key appeared"
grep -qxF "K=here" <<<"$(env_of "$(cpid waiter 0)")" || fail "waiter's K"
pass "missing ConfigMap / key: CreateContainerConfigError in kube's words, started once it appeared"

# ---- hostPath refused without --allow-host-path
mkdir -p "$T/hostdir" && echo from-host >"$T/hostdir/marker"
cat >"$T/hp.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata: {name: hp}
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 1
  volumes:
  - {name: host, hostPath: {path: $T/hostdir, type: Directory}}
  containers:
  - name: main
    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; echo from-pod > $MP_HOST/note; sleep 3600 & wait"]
    volumeMounts: [{name: host, mountPath: $MP_HOST}]
EOF
hsctl apply -f "$T/hp.yaml" >/dev/null || fail "apply hp"
wait_for 20 "hp refused" field_has hp "$W['message']" "--allow-host-path"
field_is hp "$W['reason']" CreateContainerConfigError || fail "hp reason: $(field hp "$W")"
pass "hostPath refused without --allow-host-path: $(field hp "$W['message']")"

# ---- the agent down while its pod is deleted: cleaned up on its return;
# back with --allow-host-path, the waiting hostPath pod starts
kill -9 "$AGENT_PID"
wait_for 10 "the agent to exit" exited "$AGENT_PID"
hsctl delete pod cfg --grace-period=0 --force >/dev/null 2>&1 || true
# What an agent that died half-way through forgetting a pod leaves: a pod
# directory its record no longer has, with a volume still mounted.
ghost="$PODS_DIR/default_ghost_0000/volumes/secret"
mkdir -p "$ghost" || fail "mkdir $ghost"
mount -t tmpfs -o size=1m tmpfs "$ghost" || fail "mount a tmpfs on $ghost"
echo x >"$ghost/leftover"
start "agent-n1-2" "$HS_BIN/hs-agent" --bus "$HS_BUS" --node-name n1 \
  --state-dir "$T/agent-n1" --cgroup-parent "$HS_CG_PARENT/n1" --backoff-initial 1 --backoff-max 2 \
  --allow-host-path
AGENT_PID=$LAST_PID
wait_for 30 "cfg's containers gone" sh -c "! kill -0 $main 2>/dev/null && ! kill -0 $side 2>/dev/null"
wait_for 10 "the ghost pod's volume unmounted and removed" sh -c "! grep -qF '$ghost' /proc/self/mountinfo && [ ! -e '$PODS_DIR/default_ghost_0000' ]"
wait_for 20 "hp Running with --allow-host-path" field_is hp "p['status']['phase']" Running
wait_for 10 "the pod's note on the host" sh -c "[ \"\$(cat '$T/hostdir/note' 2>/dev/null)\" = from-pod ]"
[ "$(cat "/proc/$(cpid hp 0)/root$MP_HOST/marker")" = from-host ] || fail "hostPath content"
pass "hostPath with --allow-host-path: the host's directory, both ways"

# ---- everything deleted: nothing left
hsctl delete pod waiter hp >/dev/null 2>&1 || true
wait_for 30 "no pods left" sh -c "[ -z \"\$(hsctl get pods --no-headers 2>/dev/null)\" ]"
mounted() { grep -F "$PODS_DIR" /proc/self/mountinfo; }
wait_for 10 "no volume mounted" sh -c "! grep -qF '$PODS_DIR' /proc/self/mountinfo"
wait_for 10 "no pod directory left" sh -c "[ -z \"\$(ls -A '$PODS_DIR' 2>/dev/null)\" ]"
check_host_clean
[ "${HS_EXIT_FAIL:-0}" = 0 ] || fail "mount points made on the host"
pass "pods gone: no mounts, no directories left (also for a pod deleted while the agent was down)"
