#!/usr/bin/env bash
# Fencing of at-most-one pods across a node partition (issue 19; docs/
# architecture.md §15 "Fencing"). Network namespaces h1..h3 on a fabric
# bridge (hosts.sh): h1 runs the control plane (hs-bus, hs-store,
# hs-scheduler, hs-replicas, hs-jobs, hs-prober, all with the default fence flags:
# --fence-timeout 2s, --fence-margin 1s, --max-clock-drift 0.05), h2 and h3
# run hs-agent (nodes n2 and n3, --fence-timeout 2s).
#
# An at-most-one Deployment (annotation homeostat.io/at-most-one: "true"
# on its pod template, replicas 1), a Job (parallelism 1: at-most-one too)
# and an ordinary Deployment all run on n2. Then h2's fabric link goes
# down. From the root namespace a sampler counts,
# every 50 ms, the running copies of each pod's container (its command
# line carries a marker; the cgroup tells the node). Checked:
#   - neither at-most-one pod ever has 2 copies at once, in any sample;
#   - their old copies on n2 are gone (n2's agent fenced them) and their
#     replacements run on n3 (hs-prober failed them after the fence bound);
#   - the ordinary pod keeps today's behaviour: its copy on n2 keeps
#     running through the partition while its replacement runs on n3;
#   - after the link is back: no duplicate of an at-most-one pod (the old
#     pods are deleted, not restarted), the ordinary one's old copy goes;
#   - first, hs-prober killed (kill -9) and started again at once: nothing
#     is fenced (it echoes from bus join on);
#   - then n3's hs-agent is killed (kill -9) with both at-most-one pods on
#     it: their shims kill them when the agent's lease runs out (hs-shim
#     --fence-lease), and their replacements start on n2 only after that;
#   - the Events: Fenced (on node n2, naming both) and ReplacedAfterFence
#     (on the ReplicaSet and on the Job);
#   - two brokers (A on :7400, B on :7500; every PUB to both): hs-prober's
#     SUB is on B, everyone else's on A. Then only n2<->B is cut (nft in
#     h2): n2's agent still hears everything through A (its own heartbeat
#     too), but hs-prober hears no heartbeat of n2 and stops confirming
#     them (fence.n2/), so n2's agent fences one and batch (the old rule,
#     "my heartbeat came back", never did: two copies once the prober
#     replaced them).
# Every wait has a deadline; everything (processes, namespaces, cgroups,
# $T) is removed at exit, whatever happened (lib.sh, hosts.sh).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/hosts.sh"
need_root_cgroups

hosts_up 3
# ---- the control plane on h1, agents on h2 and h3
hosts_control_plane
# A second broker, B, on :7500; the store restarted to publish through
# both. hs-prober's SUB uses B (first in its list), everyone else's A.
STORE_PID=$LAST_PID
start bus-b on_host 1 "$HS_BIN/hs-bus" --bind 172.30.0.11 --port 7500
wait_for 10 "hs-bus B to listen" grep -q "listening on tcp://172.30.0.11:7501" "$T/bus-b.log"
BUS_A=$HS_BUS BUS_B=172.30.0.11:7500
export HS_BUS=$BUS_A,$BUS_B
kill -TERM -- "-$STORE_PID" 2>/dev/null || true
wait "$STORE_PID" 2>/dev/null || true
start store on_host 1 "$HS_BIN/hs-store" --bus "$HS_BUS" --data "$T/store"
wait_for 20 "hs-store to answer again" hsctl get nodes
# hs-jobs' pod failure backoff (kube's 10 s) shortened: the test's time
declare -A extra=([jobs]="--backoff-base-ms 500")
for c in scheduler replicas jobs prober; do
  # shellcheck disable=SC2086
  bus=$HS_BUS
  [ "$c" = prober ] && bus=$BUS_B,$BUS_A
  start "$c" on_host 1 "$HS_BIN/hs-$c" --bus "$bus" ${extra[$c]:-}
done
PROBER_PID=$LAST_PID
for c in scheduler replicas jobs prober; do
  wait_for 30 "hs-$c to sync" grep -q "synced\|scheduling pods" "$T/$c.log"
done
agent() { # agent I: host I's hs-agent, node nI (status re-posts every 500 ms:
  # blocking calls during the partition, which must not delay the fence)
  start "agent-n$1" on_host "$1" "$HS_BIN/hs-agent" --bus "$HS_BUS" --node-name "n$1" \
    --node-ip "$(host_ip "$1")" --state-dir "$T/agent-n$1" \
    --cgroup-parent "$HS_CG_PARENT/n$1" --fence-timeout 2s --status-interval-ms 500
}
# n2 first: every pod lands there; n3 joins afterwards.
agent 2
wait_for 30 "node n2 Ready" sh -c "$HSCTL get node n2 2>/dev/null | grep -q ' Ready '"

# ---- the copies of a pod's container: a bash whose command line carries
# $T/marker-<pod>, on the node its cgroup says. Not a copy: the shim (its
# command line names the marker too) and bash forking its sleep (for an
# instant a marked bash whose parent is the marked bash).
#   sampler.py T PARENT --count POD NODE   prints the count once
#   sampler.py T PARENT OUT                appends a line to OUT every 50 ms
#                                          (a fixed grid): <ms> one:n2=A,n3=B ...
# One python3 process samples: a shell loop forks too much to keep 50 ms on
# a busy machine.
cat >"$T/sampler.py" <<'EOF'
import os, re, sys, time
T, parent = sys.argv[1], sys.argv[2]
pods = ["one", "plain", "batch"]
node_re = re.compile(re.escape(parent) + r"/(n[0-9])")
def scan():
    n = {p: {"n2": 0, "n3": 0} for p in pods}
    found = {}  # pid -> (pod, node, ppid)
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                args = f.read().split(b"\0")
            if not args or os.path.basename(args[0]) != b"bash":
                continue
            pod = [p for p in pods if ("%s/marker-%s" % (T, p)).encode() in args]
            if not pod:
                continue
            with open("/proc/%s/cgroup" % pid) as f:
                m = node_re.search(f.read())
            with open("/proc/%s/stat" % pid) as f:
                ppid = f.read().rsplit(")", 1)[1].split()[1]
        except (OSError, IndexError):
            continue
        if m:
            found[pid] = (pod[0], m.group(1), ppid)
    for pid, (pod, node, ppid) in found.items():
        if ppid not in found:
            n[pod][node] = n[pod].get(node, 0) + 1
    return n
if sys.argv[3] == "--count":
    print(scan()[sys.argv[4]].get(sys.argv[5], 0))
    sys.exit(0)
period = 0.05
nxt = time.monotonic()
with open(sys.argv[3], "a", buffering=1) as f:
    while True:
        n = scan()
        f.write("%d %s\n" % (time.time() * 1000, " ".join(
            "%s:n2=%d,n3=%d" % (p, n[p]["n2"], n[p]["n3"]) for p in pods)))
        nxt += period
        time.sleep(max(0.0, nxt - time.monotonic()))  # the sampling period
EOF
count_on() { python3 "$T/sampler.py" "$T" "$HS_CG_PARENT" --count "$1" "$2"; }
running_on() { [ "$(count_on "$1" "$2")" -ge 1 ]; }
gone_from() { [ "$(count_on "$1" "$2")" = 0 ]; }

# ---- the workloads: at-most-one (a Deployment by its annotation, a Job by
# its parallelism 1) and ordinary
LOOP='["bash", "-c", "trap '"'exit 0'"' TERM; while :; do sleep 0.2; done"'
deploy() { # deploy NAME ANNOTATIONS
  cat <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: $1}
spec:
  replicas: 1
  selector: {matchLabels: {app: $1}}
  template:
    metadata:
      labels: {app: $1}
      annotations: {$2}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: c
        command: $LOOP, "$T/marker-$1"]
EOF
}
deploy one 'homeostat.io/at-most-one: "true"' >"$T/one.yaml"
deploy plain '' >"$T/plain.yaml"
cat >"$T/batch.yaml" <<EOF
apiVersion: batch/v1
kind: Job
metadata: {name: batch}
spec:
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 5
      containers:
      - name: c
        command: $LOOP, "$T/marker-batch"]
EOF
for w in one plain batch; do hsctl apply -f "$T/$w.yaml" >/dev/null; done
for w in one plain batch; do wait_for 30 "pod $w running on n2" running_on "$w" n2; done
pods=$(hsctl get pods -o name 2>/dev/null)
old() { awk -F/ -v p="^$1-" '$NF ~ p && !x {print $NF; x = 1}' <<<"$pods"; }
one_old=$(old one) plain_old=$(old plain) batch_old=$(old batch)
[ -n "$one_old" ] && [ -n "$plain_old" ] && [ -n "$batch_old" ] || fail "pods: $(hsctl get pods 2>&1)"
agent 3
AGENT3_PID=$LAST_PID
wait_for 30 "node n3 Ready" sh -c "$HSCTL get node n3 2>/dev/null | grep -q ' Ready '"
pass "one ($one_old), batch ($batch_old) and plain ($plain_old) run on n2; n3 joined"

python3 "$T/sampler.py" "$T" "$HS_CG_PARENT" "$T/samples" &
SAMPLER=$!
HS_PIDS+=("$SAMPLER")
wait_for 10 "the first samples" sh -c "[ \$(cat '$T/samples' 2>/dev/null | wc -l) -ge 3 ]"

# ---- a quick prober restart (kill -9, started again at once, as systemd's
# RestartSec=100ms does): it echoes every agent's heartbeat from bus join
# on, before its snapshot, so no agent loses contact for the fence time.
# Watched for 3 s past the kill (over the 2 s fence): one and batch still
# run on n2, and n2's agent did not fence again (it fences at its start,
# before any confirmation, with nothing to kill).
fences_before=$(grep -c "fenced:" "$T/agent-n2.log" || true)
t_kill=$(ms)
{ kill -9 -- "-$PROBER_PID"; wait "$PROBER_PID"; } 2>/dev/null || true
start prober on_host 1 "$HS_BIN/hs-prober" --bus "$BUS_B,$BUS_A"
PROBER_PID=$LAST_PID
wait_for 10 "3 s past the prober's kill" sh -c "[ \$((\$(date +%s%N) / 1000000 - $t_kill)) -ge 3000 ]"
for w in one batch; do running_on "$w" n2 || fail "$w stopped on n2 across a quick prober restart"; done
[ "$(grep -c "fenced:" "$T/agent-n2.log" || true)" = "$fences_before" ] ||
  fail "n2's agent fenced across a quick prober restart"
pass "a prober restart (kill -9, started again at once) fenced nothing"

# handover FROM TO WHO T0: one and batch go from node FROM (WHO kills
# them) and then run on node TO; sets GONE_MS, ONE_MS, BATCH_MS (since T0).
handover() {
  local from=$1 to=$2 who=$3 t0=$4 w
  for w in one batch; do wait_for 20 "$who to kill $w on $from" gone_from "$w" "$from"; done
  GONE_MS=$(($(ms) - t0))
  lap "one's and batch's copies on $from gone after $GONE_MS ms"
  wait_for 30 "one's replacement running on $to" running_on one "$to"
  ONE_MS=$(($(ms) - t0))
  lap "one's replacement runs on $to after $ONE_MS ms"
  # hs-jobs holds a failed pod's replacement back (its backoff, 500 ms here)
  wait_for 30 "batch's replacement running on $to" running_on batch "$to"
  BATCH_MS=$(($(ms) - t0))
  lap "batch's replacement runs on $to after $BATCH_MS ms"
}

# ---- cut h2 off the fabric
cut_at=$(ms)
ip -n "${HOSTS_NS}f" link set h2 down
lap "h2's fabric link is down"
handover n2 n3 "n2's agent (fence)" "$cut_at"
wait_for 30 "plain's replacement running on n3" running_on plain n3
running_on plain n2 || fail "plain's copy on n2 stopped during the partition (today it runs on)"
pass "partitioned: one and batch fenced on n2 ($GONE_MS ms), replaced on n3 (one $ONE_MS ms, batch $BATCH_MS ms); plain runs on n2 and n3"

# ---- heal
ip -n "${HOSTS_NS}f" link set h2 up
lap "h2's fabric link is up"
wait_for 30 "node n2 Ready again" sh -c "$HSCTL get node n2 2>/dev/null | grep -q ' Ready '"
lap "n2 Ready again"
wait_for 30 "plain's old copy on n2 to go (Failed/NodeLost)" gone_from plain n2
lap "plain's old copy on n2 gone"
not_in_store() { ! hsctl get pod "$1" >/dev/null 2>&1; }
wait_for 30 "one's old pod $one_old gone from the store" not_in_store "$one_old"
wait_for 30 "batch's old pod $batch_old gone from the store" not_in_store "$batch_old"
lap "the old at-most-one pods gone from the store"

# ---- a dead agent: kill -9 n3's hs-agent (its process group), where one
# and batch run now. Its fence timer dies with it; the shims of at-most-one
# containers watch its lease (hs-shim --fence-lease) and kill them when it
# runs out, before hs-prober's bound lets the replacements start on n2.
p1_lines=$(wc -l <"$T/samples")
kill_at=$(ms)
# (reaped here, quietly: bash's job control would print "Killed")
{ kill -9 -- "-$AGENT3_PID"; wait "$AGENT3_PID"; } 2>/dev/null || true
lap "n3's hs-agent killed (kill -9)"
handover n3 n2 "the shims' lease on n3" "$kill_at"
grep -rqs --include=shim.log "fence lease .* ran out" "$T/agent-n3/pods" ||
  fail "no shim on n3 says its fence lease ran out"
pass "n3's agent dead: one and batch killed by their shims' lease ($GONE_MS ms), replaced on n2 (one $ONE_MS ms, batch $BATCH_MS ms)"
# a second more of samples after all of that
n=$(wc -l <"$T/samples")
wait_for 10 "20 more samples" sh -c "[ \$(wc -l <'$T/samples') -ge $((n + 20)) ]"
kill -9 "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true

# ---- the samples: fields $2 one, $3 plain, $4 batch
total=$(wc -l <"$T/samples")
span=$(awk 'NR == 1 {a = $1} {b = $1} END {print b - a}' "$T/samples")
maxgap=$(awk 'NR > 1 && $1 - p > g {g = $1 - p} {p = $1} END {print g + 0}' "$T/samples")
echo "  samples: $total over $span ms (every 50 ms, largest gap $maxgap ms)"
[ "$total" -ge $((span / 100)) ] || fail "only $total samples in $span ms"
both_plain=$(awk '{split($3, a, /[=,]/); if (a[2] >= 1 && a[4] >= 1) n++} END {print n + 0}' "$T/samples")
echo "  plain: on both nodes in $both_plain samples (today's behaviour)"
[ "$both_plain" -ge 1 ] || fail "plain never ran on both nodes (today's behaviour: it does)"
for f in 2:one 4:batch; do
  i=${f%%:*} w=${f#*:}
  double=$(awk -v i="$i" '{split($i, a, /[=,]/); if (a[2] + a[4] > 1) n++} END {print n + 0}' "$T/samples")
  # the hand-overs: the last sample with the old copy, the first with the
  # new; n2 to n3 (the partition) up to line p1, n3 to n2 (the dead agent)
  # after it
  handover1=$(awk -v i="$i" -v p="$p1_lines" 'NR <= p {split($i, a, /[=,]/)
    if (a[2] >= 1) l = $1; if (a[4] >= 1 && !f) f = $1} END {print f - l}' "$T/samples")
  handover2=$(awk -v i="$i" -v p="$p1_lines" 'NR > p {split($i, a, /[=,]/)
    if (a[4] >= 1) l = $1; if (a[2] >= 1 && !f) f = $1} END {print f - l}' "$T/samples")
  last=$(tail -n1 "$T/samples" | awk -v i="$i" '{print $i}')
  echo "  $w: 2+ copies in $double samples; hand-over gaps $handover1 ms (partition), $handover2 ms (dead agent); last sample $last"
  [ "$double" = 0 ] || fail "$w ran twice in $double samples: $(awk -v i="$i" '{split($i, a, /[=,]/); if (a[2] + a[4] > 1) print}' "$T/samples" | head -n5)"
  [ "$handover1" -gt 0 ] && [ "$handover2" -gt 0 ] ||
    fail "$w's new copy came before the old one went ($handover1 ms, $handover2 ms)"
  [ "$last" = "$w:n2=1,n3=0" ] || fail "at the end, $w: $last"
done
pass "never 2 copies of one or batch in $total samples; at the end exactly 1 each (on n2)"

# ---- the Events
# Events are fire and forget: each is waited for, with a deadline. (A
# here-string, not echo | grep -q: under pipefail grep's early exit would
# fail the pipe.)
has_event() { grep -q "\"$1\"" <<<"$(hsctl get events -A -o json 2>/dev/null)"; }
wait_for 15 "a Fenced Event" has_event Fenced
wait_for 15 "a ReplacedAfterFence Event" has_event ReplacedAfterFence
events_ok() {
  hsctl get events -A -o json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
one, batch = sys.argv[1], sys.argv[2]
rs = one.rsplit("-", 1)[0]  # the pod one-<hash>-<x> of ReplicaSet one-<hash>
want = {("Fenced", "Node", "n2"), ("ReplacedAfterFence", "ReplicaSet", rs),
        ("ReplacedAfterFence", "Job", "batch")}
seen = set()
for e in d.get("items", []):
    io, msg = e.get("involvedObject", {}), e.get("message", "")
    key = (e.get("reason"), io.get("kind"), io.get("name"))
    if key[0] not in ("Fenced", "ReplacedAfterFence"):
        continue
    print("  event %s on %s %s: %s" % (key + (msg,)), file=sys.stderr)
    if key[0] == "Fenced" and not (one in msg and batch in msg):
        continue
    if key[0] == "ReplacedAfterFence" and not msg.startswith("Replaced after fence: pod default/"):
        continue
    seen.add(key)
sys.exit(0 if want <= seen else 1)
' "$one_old" "$batch_old" 2>"$T/events.txt"
}
wait_for 15 "Fenced on n2 naming both pods, ReplacedAfterFence on one's ReplicaSet and on Job batch" events_ok
cat "$T/events.txt"
pass "Events Fenced (node n2) and ReplacedAfterFence (ReplicaSet, Job)"

# ---- two brokers: cut only n2<->B (hs-prober's SUB broker). one and batch
# run on n2 now. n2's agent keeps hearing A (hb.store, its own heartbeat)
# but hs-prober hears none of n2's heartbeats, so it confirms none: n2 must
# fence them. (n2's status posts still reach the store through A, so the
# prober sees the Node alive and replaces nothing: they stay down while the
# cut lasts; no two copies either way.)
running_on one n2 && running_on batch n2 || fail "one and batch should run on n2 now"
fences_before=$(grep -c "fenced: no contact" "$T/agent-n2.log" || true)
cut2_at=$(ms)
on_host 2 nft -f - <<'EOF'
table inet hs_fence_cut {
  chain out { type filter hook output priority 0; ip daddr 172.30.0.11 tcp dport { 7500, 7501 } drop; }
  chain in { type filter hook input priority 0; ip saddr 172.30.0.11 tcp sport { 7500, 7501 } drop; }
}
EOF
lap "n2<->B cut (nft in h2); A still reachable"
for w in one batch; do wait_for 15 "n2's agent to fence $w (n2 cut from B only)" gone_from "$w" n2; done
CUT2_MS=$(($(ms) - cut2_at))
fences_after=$(grep -c "fenced: no contact" "$T/agent-n2.log" || true)
[ "$fences_after" -gt "$fences_before" ] || fail "n2's agent did not log a fence: $(tail -n5 "$T/agent-n2.log")"
for w in one batch; do
  [ "$(count_on "$w" n3)" = 0 ] || fail "$w runs on n3 (its agent is dead)"
done
on_host 2 nft delete table inet hs_fence_cut
pass "two brokers, n2 cut from hs-prober's broker only: n2's agent fenced one and batch after $CUT2_MS ms"
lap "done"
