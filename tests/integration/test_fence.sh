#!/usr/bin/env bash
# Fencing of at-most-one pods across a node partition (issue 19; docs/
# architecture.md §15 "Fencing"). Network namespaces h1..h3 on a fabric
# bridge (hosts.sh): h1 runs the control plane (hs-bus, hs-store,
# hs-scheduler, hs-replicas, hs-prober, all with the default fence flags:
# --fence-timeout 2s, --fence-margin 1s, --max-clock-drift 0.05), h2 and h3
# run hs-agent (nodes n2 and n3, --fence-timeout 2s).
#
# An at-most-one Deployment (annotation homeostat.io/at-most-one: "true"
# on its pod template, replicas 1) and an ordinary one both run on n2. Then
# h2's fabric link goes down. From the root namespace a sampler counts,
# every 50 ms, the running copies of each pod's container (its command
# line carries a marker; the cgroup tells the node). Checked:
#   - the at-most-one pod never has 2 copies at once, in any sample;
#   - its old copy on n2 is gone (n2's agent fenced it) and its replacement
#     runs on n3 (hs-prober failed it after the fence bound);
#   - the ordinary pod keeps today's behaviour: its copy on n2 keeps
#     running through the partition while its replacement runs on n3;
#   - after the link is back: no duplicate of the at-most-one pod (its old
#     pod is deleted, not restarted), the ordinary one's old copy goes;
#   - the Events: Fenced (on node n2) and ReplacedAfterFence (on the owner).
# Every wait has a deadline; everything (processes, namespaces, cgroups,
# $T) is removed at exit, whatever happened (lib.sh, hosts.sh).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/hosts.sh"
need_root_cgroups

hosts_up 3
# ---- the control plane on h1, agents on h2 and h3
hosts_control_plane
for c in scheduler replicas prober; do
  start "$c" on_host 1 "$HS_BIN/hs-$c" --bus "$HS_BUS"
done
for c in scheduler replicas prober; do
  wait_for 30 "hs-$c to sync" grep -q "synced\|scheduling pods" "$T/$c.log"
done
agent() { # agent I: host I's hs-agent, node nI
  start "agent-n$1" on_host "$1" "$HS_BIN/hs-agent" --bus "$HS_BUS" --node-name "n$1" \
    --node-ip "$(host_ip "$1")" --state-dir "$T/agent-n$1" \
    --cgroup-parent "$HS_CG_PARENT/n$1" --fence-timeout 2s --status-interval-ms 500
}
# n2 first: both Deployments' pods land there; n3 joins afterwards.
agent 2
wait_for 30 "node n2 Ready" sh -c "$HSCTL get node n2 2>/dev/null | grep -q ' Ready '"

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
        command: ["bash", "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done", "$T/marker-$1"]
EOF
}
deploy one 'homeostat.io/at-most-one: "true"' >"$T/one.yaml"
deploy plain '' >"$T/plain.yaml"
hsctl apply -f "$T/one.yaml" >/dev/null
hsctl apply -f "$T/plain.yaml" >/dev/null

# copies NAME: the running copies of NAME's container, one line each: its
# node (from its cgroup). The marker's first letter is bracketed so that
# grep's own command line does not match; a shim's (hs-shim ... -- bash
# ... marker) is not a copy.
copies() {
  local f pid comm
  for f in $(grep -lsE -- "marker-[${1:0:1}]${1:1}" /proc/[0-9]*/cmdline 2>/dev/null); do
    pid=${f#/proc/}; pid=${pid%/cmdline}
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
    [ "$comm" = bash ] || continue
    grep -o "$HS_CG_PARENT/n[0-9]" "/proc/$pid/cgroup" 2>/dev/null | head -n1 | sed 's,.*/,,'
  done
}
count_on() { copies "$1" | grep -cx "$2" || true; }
running_on() { [ "$(count_on "$1" "$2")" -ge 1 ]; }
wait_for 30 "pod one running on n2" running_on one n2
wait_for 30 "pod plain running on n2" running_on plain n2
pods=$(hsctl get pods -o name 2>/dev/null)
one_old=$(awk -F/ '$NF ~ /^one-/ && !x {print $NF; x = 1}' <<<"$pods")
plain_old=$(awk -F/ '$NF ~ /^plain-/ && !x {print $NF; x = 1}' <<<"$pods")
[ -n "$one_old" ] && [ -n "$plain_old" ] || fail "pods: $(hsctl get pods 2>&1)"
agent 3
wait_for 30 "node n3 Ready" sh -c "$HSCTL get node n3 2>/dev/null | grep -q ' Ready '"
pass "one ($one_old) and plain ($plain_old) run on n2; n3 joined"

# ---- the sampler: every 50 ms (on a fixed grid, not 50 ms after the last
# scan), the copies of each pod per node; one line per sample:
#   <ms> one:n2=A,n3=B plain:n2=C,n3=D
# One python3 process: a shell loop forks too much to keep 50 ms on a
# busy machine.
cat >"$T/sampler.py" <<'EOF'
import os, re, sys, time
T, parent, out = sys.argv[1], sys.argv[2], sys.argv[3]
pods = ["one", "plain"]
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
                continue  # a shim's command line names the marker too
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
        # bash forking its sleep: for an instant the child is a bash with
        # the same command line; a copy is a marked bash whose parent is not
        if ppid not in found:
            n[pod][node] = n[pod].get(node, 0) + 1
    return n
period = 0.05
nxt = time.monotonic()
with open(out, "a", buffering=1) as f:
    while True:
        n = scan()
        f.write("%d %s\n" % (time.time() * 1000, " ".join(
            "%s:n2=%d,n3=%d" % (p, n[p]["n2"], n[p]["n3"]) for p in pods)))
        nxt += period
        time.sleep(max(0.0, nxt - time.monotonic()))  # the sampling period
EOF
python3 "$T/sampler.py" "$T" "$HS_CG_PARENT" "$T/samples" &
SAMPLER=$!
HS_PIDS+=("$SAMPLER")
wait_for 10 "the first samples" sh -c "[ \$(cat '$T/samples' 2>/dev/null | wc -l) -ge 3 ]"

# ---- cut h2 off the fabric
cut_at=$(ms)
ip -n "${HOSTS_NS}f" link set h2 down
lap "h2's fabric link is down"
gone_from_n2() { [ "$(count_on one n2)" = 0 ]; }
wait_for 20 "n2's agent to fence pod one" gone_from_n2
fenced_at=$(ms)
lap "one's copy on n2 gone after $((fenced_at - cut_at)) ms"
wait_for 30 "one's replacement running on n3" running_on one n3
repl_at=$(ms)
lap "one's replacement runs on n3 after $((repl_at - cut_at)) ms"
wait_for 30 "plain's replacement running on n3" running_on plain n3
running_on plain n2 || fail "plain's copy on n2 stopped during the partition (today it runs on)"
pass "partitioned: one fenced on n2 ($((fenced_at - cut_at)) ms), replaced on n3 ($((repl_at - cut_at)) ms); plain runs on n2 and n3"

# ---- heal
ip -n "${HOSTS_NS}f" link set h2 up
lap "h2's fabric link is up"
wait_for 30 "node n2 Ready again" sh -c "$HSCTL get node n2 2>/dev/null | grep -q ' Ready '"
lap "n2 Ready again"
plain_gone_from_n2() { [ "$(count_on plain n2)" = 0 ]; }
wait_for 30 "plain's old copy on n2 to go (Failed/NodeLost)" plain_gone_from_n2
lap "plain's old copy on n2 gone"
no_old_one() { ! hsctl get pod "$one_old" >/dev/null 2>&1; }
wait_for 30 "one's old pod $one_old gone from the store" no_old_one
lap "one's old pod gone from the store"
# a few more samples after all of that
n=$(wc -l <"$T/samples")
wait_for 10 "20 more samples" sh -c "[ \$(wc -l <'$T/samples') -ge $((n + 20)) ]"
kill -9 "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true

# ---- the samples
total=$(wc -l <"$T/samples")
span=$(awk 'NR == 1 {a = $1} {b = $1} END {print b - a}' "$T/samples")
maxgap=$(awk 'NR > 1 && $1 - p > g {g = $1 - p} {p = $1} END {print g + 0}' "$T/samples")
double=$(awk '{split($2, a, /[=,]/); if (a[2] + a[4] > 1) n++} END {print n + 0}' "$T/samples")
both_plain=$(awk '{split($3, a, /[=,]/); if (a[2] >= 1 && a[4] >= 1) n++} END {print n + 0}' "$T/samples")
last_one=$(tail -n1 "$T/samples" | awk '{print $2}')
# the hand-over, in samples: the last with the old copy, the first with the new
handover=$(awk '{split($2, a, /[=,]/); if (a[2] >= 1) l = $1; if (a[4] >= 1 && !f) f = $1}
  END {print f - l}' "$T/samples")
echo "  samples: $total over $span ms (every 50 ms, largest gap $maxgap ms); one with 2+ copies: $double; plain on both nodes: $both_plain; one's hand-over gap: $handover ms; last: $last_one"
[ "$total" -ge $((span / 100)) ] || fail "only $total samples in $span ms"
[ "$handover" -gt 0 ] || fail "one's new copy came before the old one went ($handover ms)"
[ "$double" = 0 ] || fail "pod one ran twice in $double samples: $(awk '{split($2, a, /[=,]/); if (a[2] + a[4] > 1) print}' "$T/samples" | head -n5)"
[ "$last_one" = "one:n2=0,n3=1" ] || fail "after healing, pod one: $last_one"
[ "$both_plain" -ge 1 ] || fail "plain never ran on both nodes (today's behaviour: it does)"
pass "never 2 copies of one in $total samples; after healing exactly 1 (on n3)"

# ---- the Events
# Events are fire and forget: each is waited for, with a deadline. (A
# here-string, not echo | grep -q: under pipefail grep's early exit would
# fail the pipe.)
has_event() { grep -q "\"$1\"" <<<"$(hsctl get events -A -o json 2>/dev/null)"; }
wait_for 15 "a Fenced Event" has_event Fenced
wait_for 15 "a ReplacedAfterFence Event" has_event ReplacedAfterFence
ev=$(hsctl get events -A -o json 2>/dev/null)
python3 -c '
import json, sys
d = json.load(sys.stdin)
items = d.get("items", d if isinstance(d, list) else [])
seen = set()
for e in items:
    if e.get("reason") in ("Fenced", "ReplacedAfterFence"):
        io = e.get("involvedObject", {})
        print("  event %s on %s %s: %s" % (e["reason"], io.get("kind"), io.get("name"), e.get("message")))
        if e["reason"] == "Fenced" and io.get("kind") == "Node" and io.get("name") == "n2" \
                and sys.argv[1] in e.get("message", ""):
            seen.add("Fenced")
        if e["reason"] == "ReplacedAfterFence" and io.get("kind") == "ReplicaSet" \
                and e.get("message", "").startswith("Replaced after fence: pod default/" + sys.argv[1]):
            seen.add("ReplacedAfterFence")
sys.exit(0 if seen == {"Fenced", "ReplacedAfterFence"} else "events not as expected: %s" % seen)
' "$one_old" <<<"$ev" || fail "the Events" 
pass "Events Fenced (node n2) and ReplacedAfterFence (the owner)"
lap "done"
