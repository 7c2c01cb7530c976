#!/usr/bin/env bash
# hs-jobs with a real agent and hs-scheduler: a job whose pods fail until
# backoffLimit (Failed BackoffLimitExceeded, 3 failed pods kept, exponential
# spacing, Events in describe); activeDeadlineSeconds (Failed
# DeadlineExceeded, its pod deleted); a parallel job (completions 10,
# parallelism 3) that completes with never more than 3 pods Pending or
# Running at any revision (every pod event is recorded by hs-tap and
# replayed); restartPolicy Always refused by the store; ttlSecondsAfterFinished
# (the job and its pods go); and kill -9 of hs-jobs in the middle of a
# parallel job: the new instance finishes it, still never above parallelism.
source "$(dirname "$0")/lib.sh"

start_bus
start_store
start_agent n1 --backoff-initial 1 --backoff-max 2
start_tap podev -o json ev.pod.
start_ctrl scheduler
# a Job's pods (parallelism 1 by default) are at-most-one: the agent starts
# them only once hs-prober confirms its heartbeats (fence.<node>/)
start_ctrl prober
start_ctrl jobs --instance j1 --backoff-base-ms 200 --backoff-max-ms 1000

# job NAME 'SPEC LINES' POLICY 'SHELL COMMAND': writes $T/NAME.yaml
job() {
  local name=$1 spec=$2 policy=$3 script
  script=$(python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$4")
  cat >"$T/$name.yaml" <<EOF
apiVersion: batch/v1
kind: Job
metadata:
  name: $name
spec:
$spec
  template:
    spec:
      restartPolicy: $policy
      terminationGracePeriodSeconds: 2
      containers:
      - name: main
        command: ["/bin/sh", "-c", $script]
EOF
}

# jq_job NAME 'python expression on j (the Job as JSON)'
jq_job() {
  hsctl get job "$1" -o json 2>/dev/null | python3 -c "import json, sys; j = json.load(sys.stdin); print($2)"
}
# cond NAME TYPE: "<status> <reason>" of the Job's condition TYPE, or "none"
cond() {
  jq_job "$1" "next(('%s %s' % (c['status'], c.get('reason', ''))).strip() for c in j.get('status', {}).get('conditions', []) if c['type'] == '$2') if any(c['type'] == '$2' for c in j.get('status', {}).get('conditions', [])) else 'none'"
}
cond_is() { [ "$(cond "$1" "$2")" = "$3" ]; }
# phases JOB: the phases of the job's pods, one per line
phases() {
  hsctl get pods -l "job-name=$1" -o json |
    python3 -c "import json, sys; [print(p['status']['phase']) for p in json.load(sys.stdin)['items']]"
}
count_phase() { phases "$1" | grep -cx "$2" || true; }
no_pods() { [ -z "$(hsctl get pods -l "job-name=$1" -o name 2>/dev/null)" ]; }
job_gone() { local out; out=$(hsctl get job "$1" 2>&1) || true; [[ $out == *NotFound* ]]; }

# max_active JOB: the most pods of JOB Pending or Running at once, over every
# pod event the tap recorded (in revision order); fails if a stream has a
# gap (the replay would not be exact).
max_active() {
  python3 - "$T/podev.out" "$1" <<'PY'
import json, sys
path, job = sys.argv[1], sys.argv[2]
evs, seqs = [], {}
for line in open(path):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    ev = m.get("envelope", {}).get("event")
    if not ev or "object" not in ev:
        continue
    stream, seq = ev.get("stream", ""), int(ev.get("seq", 0))
    seqs.setdefault(stream, []).append(seq)
    pod = ev["object"].get("pod", {})
    meta = pod.get("metadata", {})
    if meta.get("labels", {}).get("job-name") != job:
        continue
    evs.append((int(ev.get("revision", 0)), stream, seq, ev.get("type"), meta.get("name"),
                pod.get("status", {}).get("phase", "")))
for stream, s in seqs.items():
    s = sorted(set(s))
    if s and s[-1] - s[0] + 1 != len(s):
        print("gap in stream %s: %d events for %d..%d" % (stream, len(s), s[0], s[-1]))
        sys.exit(1)
state, best = {}, 0
for rev, stream, seq, typ, name, phase in sorted(evs):
    if typ == "DELETED":
        state.pop(name, None)
    else:
        state[name] = phase
    best = max(best, sum(1 for p in state.values() if p in ("Pending", "Running")))
print(best)
PY
}

# ---- the store refuses restartPolicy Always, with a clear error
job always "  completions: 1" Always "true"
expect_rc 1 hsctl apply -f "$T/always.yaml"
grep -qF 'Job "always" is invalid: spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"' "$T/last.out" ||
  fail "apply of a Job with restartPolicy Always printed:
$(cat "$T/last.out")"
pass "restartPolicy Always refused: $(cat "$T/last.out")"

# ---- four jobs at once
job fail "  backoffLimit: 2" Never "echo failing; exit 1"
job dl "  activeDeadlineSeconds: 2" Never "sleep 3600 & wait"
job par "  completions: 10
  parallelism: 3" Never "sleep 0.3"
job ttl "  ttlSecondsAfterFinished: 1" Never "true"
for j in fail dl par ttl; do
  expect_out "job.batch/$j created" hsctl apply -f "$T/$j.yaml"
done

# ---- backoffLimit 2, restartPolicy Never: 3 failed pods, then Failed
wait_for 60 "job fail to fail with BackoffLimitExceeded" cond_is fail Failed "True BackoffLimitExceeded"
[ "$(count_phase fail Failed)" -eq 3 ] || fail "expected 3 failed pods of job fail:
$(hsctl get pods -l job-name=fail)"
[ "$(jq_job fail "j['status']['failed']")" -eq 3 ] || fail "status.failed of job fail is not 3:
$(hsctl get job fail -o yaml)"
expect_out "Job has reached the specified backoff limit" jq_job fail \
  "[c['message'] for c in j['status']['conditions'] if c['type'] == 'Failed'][0]"
hsctl get pods -l job-name=fail --no-headers | grep -q ' Error ' ||
  fail "failed pods are not shown as Error: $(hsctl get pods -l job-name=fail)"
# exponential: each new pod waits 200 ms, then 400 ms, after the previous
# one finished, so the store committed the pods at least that far apart
# (times from the tap: the API's timestamps are whole seconds)
python3 - "$T/podev.out" >"$T/fail-times" 2>&1 <<'PY' || fail "pods of job fail were not spaced by the backoff: $(cat "$T/fail-times")"
import json, sys
added, failed = {}, {}
for line in open(sys.argv[1]):
    try:
        ev = json.loads(line)["envelope"]["event"]
    except (ValueError, KeyError):
        continue
    pod = ev.get("object", {}).get("pod", {})
    name = pod.get("metadata", {}).get("name", "")
    if not name.startswith("fail-"):
        continue
    t = int(ev["committedAtNs"]) / 1e9
    if ev["type"] == "ADDED":
        added.setdefault(name, t)
    if pod.get("status", {}).get("phase") == "Failed":
        failed.setdefault(name, t)
rows = sorted((added[n], failed.get(n, 0)) for n in added)
print(rows)
assert len(rows) == 3, rows
for i, need in ((1, 0.2), (2, 0.4)):
    assert rows[i][0] - rows[i - 1][0] >= need, (i, rows[i][0] - rows[i - 1][0])
PY
wait_for 10 "BackoffLimitExceeded in describe job fail" sh -c \
  "hsctl describe job fail | grep -q 'Warning *BackoffLimitExceeded .*Job has reached the specified backoff limit'"
hsctl describe job fail >"$T/describe-fail"
grep -Eq 'Normal +SuccessfulCreate .*Created pod: fail-[a-z0-9]{5}' "$T/describe-fail" ||
  fail "no SuccessfulCreate event in describe job fail:
$(cat "$T/describe-fail")"
[ "$(grep -c 'SuccessfulCreate' "$T/describe-fail")" -eq 3 ] ||
  fail "expected 3 SuccessfulCreate events: $(cat "$T/describe-fail")"
grep -Eq 'Pods Statuses: +0 Active \(0 Ready\) / 0 Succeeded / 3 Failed' "$T/describe-fail" ||
  fail "describe job fail: $(cat "$T/describe-fail")"
hsctl get jobs fail --no-headers | grep -Eq '^fail +Failed +0/1 ' ||
  fail "get jobs fail: $(hsctl get jobs fail)"
pass "backoffLimit 2: 3 failed pods 200/400 ms apart, Failed BackoffLimitExceeded, events shown"

# ---- activeDeadlineSeconds 2: Failed DeadlineExceeded, the pod deleted
wait_for 30 "job dl to fail with DeadlineExceeded" cond_is dl Failed "True DeadlineExceeded"
wait_for 30 "the pod of job dl to be deleted" no_pods dl
expect_out "Job was active longer than specified deadline" hsctl describe job dl
wait_for 10 "SuccessfulDelete in describe job dl" sh -c \
  "hsctl describe job dl | grep -Eq 'SuccessfulDelete .*Deleted pod: dl-[a-z0-9]{5}'"
[ "$(jq_job dl "j['status']['failed']")" -eq 1 ] || fail "status.failed of job dl: $(hsctl get job dl -o yaml)"
pass "activeDeadlineSeconds 2: Failed DeadlineExceeded, its pod deleted"

# ---- parallel: completions 10, parallelism 3
wait_for 90 "job par to complete" cond_is par Complete "True CompletionsReached"
[ "$(jq_job par "j['status']['succeeded']")" -eq 10 ] || fail "job par: $(hsctl get job par -o yaml)"
[ "$(jq_job par "1 if j['status'].get('completionTime') else 0")" -eq 1 ] || fail "no completionTime"
[ "$(count_phase par Succeeded)" -eq 10 ] || fail "expected 10 succeeded pods: $(hsctl get pods -l job-name=par)"
hsctl get jobs par --no-headers | grep -Eq '^par +Complete +10/10 +[0-9]+s +[0-9]+s$' ||
  fail "get jobs par: $(hsctl get jobs par)"
[ "$(hsctl get pods -l job-name=par --no-headers | grep -c ' Completed ')" -eq 10 ] ||
  fail "finished pods are kept as Completed: $(hsctl get pods -l job-name=par)"
expect_out "Job completed" hsctl describe job par
m=$(max_active par) || fail "pod events: $m"
[ "$m" -ge 2 ] && [ "$m" -le 3 ] || fail "job par had $m pods Pending or Running at once (parallelism 3)"
pass "completions 10, parallelism 3: Complete, 10 succeeded, at most $m active at any revision"

# ---- ttlSecondsAfterFinished 1: the job, then its pod, go
wait_for 30 "job ttl to be deleted after finishing" job_gone ttl
grep -q "job default/ttl completed" "$T/jobs-j1.log" || fail "job ttl never completed"
wait_for 30 "the pod of job ttl to be collected" no_pods ttl
pass "ttlSecondsAfterFinished 1: job deleted, its pods collected"

# ---- kill -9 hs-jobs in the middle of a parallel job
job par2 "  completions: 10
  parallelism: 3" Never "sleep 0.5"
expect_out "job.batch/par2 created" hsctl apply -f "$T/par2.yaml"
wait_for 60 "2 pods of par2 to succeed" sh -c "[ \$(hsctl get pods -l job-name=par2 --no-headers | grep -c ' Completed ') -ge 2 ]"
kill -9 "$CTRL_PID"
wait_for 10 "hs-jobs to die" exited "$CTRL_PID"
start_ctrl jobs --instance j2 --backoff-base-ms 200 --backoff-max-ms 1000
wait_for 90 "job par2 to complete after the restart" cond_is par2 Complete "True CompletionsReached"
[ "$(jq_job par2 "j['status']['succeeded']")" -eq 10 ] || fail "job par2: $(hsctl get job par2 -o yaml)"
[ "$(count_phase par2 Succeeded)" -eq 10 ] && [ "$(phases par2 | wc -l)" -eq 10 ] || fail "expected exactly 10 pods of par2, all Succeeded: $(hsctl get pods -l job-name=par2)"
grep -q "job default/par2 completed" "$T/jobs-j2.log" || fail "the new instance did not finish par2"
m=$(max_active par2) || fail "pod events: $m"
[ "$m" -le 3 ] || fail "job par2 had $m pods Pending or Running at once across the restart"
pass "kill -9 of hs-jobs mid-job: the new instance completed it, at most $m active at once"
