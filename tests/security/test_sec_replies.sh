#!/usr/bin/env bash
# test_sec_replies.sh: a node cannot answer for another node's pods (review
# fix of issue 16: the agents' replies are stamped by hs-bus).
#
# Host 1 (a network namespace) runs a real, secured hs-bus, hs-store,
# hs-prober and the agent of node a with one pod. Host 2 runs attacker.py's
# `replies` step with node b's key: it reads the requests meant for node a
# (everyone may read, phase 1) and answers each at once with a forgery: an
# ExecChunk on execout.<hsctl>/, a LogChunk on logs.<hsctl>/, a failing
# ExecResult on probres.<prober>/. The real answers come later (the exec
# command sleeps first, the probe's too), so before the fix the forgery won.
# Checks:
#   - hsctl exec prints a's output and its exit status, not the forgery, and
#     says it dropped chunks not sent by node a's agent;
#   - hsctl logs -f prints the container's log, not the forgery, the same;
#   - hs-prober drops the forged ExecResults (forged_results in its
#     heartbeat) and the exec liveness probe never fails: no Unhealthy or
#     Killing Event, no restart.
source "$(dirname "$0")/../integration/lib.sh"
source "$(dirname "$0")/../integration/hosts.sh"
source "$(dirname "$0")/sec.sh"
need_root_cgroups
ATTACKER=$HS_SRC/tests/security/attacker.py

sec_up node:b tap:t sa:prober
sec_agent_a
# The liveness probe answers after 0.5 s: node b's forgery (at once) would win.
cat >"$T/victim.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: victim}
spec:
  nodeName: a
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: none
    command: ["/bin/sh", "-c", "echo log-from-a; exec sleep 100301"]
    livenessProbe:
      exec: {command: ["/bin/sh", "-c", "sleep 0.5; exit 0"]}
      periodSeconds: 1
      timeoutSeconds: 3
      failureThreshold: 1
YAML
ctl apply -f "$T/victim.yaml" >/dev/null
podjson() { ctl get pod victim -o json; }
victim_runs() { local o; o=$(podjson) && grep -q '"phase": *"Running"' <<<"$o"; }
wait_for 20 "victim to run on a" victim_runs
pass "secured hs-bus, hs-store and node a's agent on host 1; pod victim runs on a"

# node b's forger, for the rest of the test
on_host 2 "$PY" "$ATTACKER" --bus "$BUSADDR" --broker-key "$BK" --cred "$PKI/creds/node-b.cred" \
  --victim a --seconds 60 --out "$T/replies.json" replies 2>"$T/replies.err" &
ATT_PID=$!
HS_PIDS+=("$ATT_PID")
wait_for 20 "node b's forger to join" test -s "$T/replies.json.joined"
[ "$(cat "$T/replies.json.joined")" = 1 ] || fail "node:b could not join: $(cat "$T/replies.err")"

# ---- hsctl exec: a's answer, not b's
rc=0
ctl exec victim -- /bin/sh -c 'sleep 1; echo exec-from-a; exit 3' >"$T/exec.out" 2>"$T/exec.err" || rc=$?
out=$(cat "$T/exec.out")
err=$(cat "$T/exec.err")
[ "$out" = "exec-from-a" ] || fail "hsctl exec printed \"$out\", not node a's output (stderr: $err)"
[ "$rc" = 3 ] || fail "hsctl exec exited $rc, not the command's 3 (stderr: $err)"
grep -qF 'warning: dropped 1 exec chunk(s) not sent by the node agent of "a"' <<<"$err" ||
  fail "hsctl exec did not say it dropped the forged chunk: $err"
pass "hsctl exec: node a's output and exit status 3; node b's forged chunk dropped and said"

# ---- hsctl logs -f: a's log, not b's. Followed (for 3 s, then SIGINT: exit
# 130), so the forgery cannot come after the stream has ended; before the
# fix it either ended the stream (eof) or ended it as a restarted agent's.
rc=0
on_host 1 env HS_CREDENTIAL="$PKI/creds/admin-root.cred" timeout -s INT 3 "$HS_BIN/hsctl" \
  --bus "$BUSADDR" logs -f victim >"$T/logs.out" 2>"$T/logs.err" || rc=$?
out=$(cat "$T/logs.out")
err=$(cat "$T/logs.err")
grep -qF "FORGED" <<<"$out" && fail "hsctl logs printed node b's forgery: $out"
[ "$out" = "log-from-a" ] || fail "hsctl logs printed \"$out\", not the container's log (rc $rc, stderr: $err)"
[ "$rc" = 124 ] || fail "hsctl logs -f ended ($rc) before its SIGINT (stderr: $err)"
grep -qF 'warning: dropped 1 log chunk(s) not sent by the node agent of "a"' <<<"$err" ||
  fail "hsctl logs did not say it dropped the forged chunk: $err"
pass "hsctl logs: the container's log; node b's forged chunk dropped and said"

# ---- hs-prober: forged ExecResults are dropped, the probe keeps passing
start prober on_host 1 env HS_CREDENTIAL="$PKI/creds/sa-prober.cred" "$HS_BIN/hs-prober" --bus "$BUSADDR"
prober_counter() {
  local out
  out=$(on_host 1 env HS_CREDENTIAL="$PKI/creds/tap-t.cred" timeout 5 "$HS_BIN/hs-tap" \
          --bus "$BUSADDR" -o json -c 1 hb.prober. 2>/dev/null) || { echo -1; return; }
  "$PY" -c '
import json, sys
e = json.loads(sys.argv[1])["envelope"]
print(next((int(c.get("value", 0)) for c in e["heartbeat"]["counters"]
            if c["name"] == sys.argv[2]), 0))' "$out" "$1"
}
forged_at_least() { [ "$(prober_counter forged_results)" -ge "$1" ]; }
wait_for 30 "hs-prober to drop 3 forged ExecResults" forged_at_least 3
probes=$(prober_counter probes)
[ "$probes" -ge 3 ] || fail "hs-prober ran $probes probes"
events=$(ctl get events 2>&1)
grep -qF "FORGED" <<<"$events" && fail "node b's forged probe output reached an Event: $events"
grep -qE "Unhealthy|Killing" <<<"$events" && fail "the liveness probe failed: $events"
restarts=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["status"]["containerStatuses"][0].get("restartCount", 0))' "$(podjson)")
[ "$restarts" = 0 ] || fail "victim restarted $restarts time(s) under forged probe results"
grep -q "dropped an ExecResult for default/victim from node:b, not node:a" "$T/prober.log" ||
  fail "hs-prober did not log the forged result"
pass "hs-prober: $(prober_counter forged_results) forged ExecResults dropped (forged_results), $probes probes, no Unhealthy or Killing Event, no restart"

kill "$ATT_PID" 2>/dev/null || true
wait "$ATT_PID" 2>/dev/null || true

# ---- under ASan/UBSan (build-asan), a finding in a daemon would be in its log
! grep -l "runtime error\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer" "$T"/*.log 2>/dev/null ||
  fail "a sanitizer finding: $(grep -h -A3 "runtime error\|ERROR: .*Sanitizer" "$T"/*.log | head -20)"
pass "no sanitizer finding in the daemons' logs"
