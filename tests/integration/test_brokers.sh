#!/usr/bin/env bash
# Several brokers (HS_BUS a list), on the secured bus: three hs-bus with the
# same keys, a store publishing to all three, a watcher (hsctl get -w)
# subscribed through broker 2, a writer (one hsctl apply after another,
# broker 2 first in its list). kill -9 broker 2 in the middle:
#  - the watcher moves to another broker within 1 s (its log line, measured
#    against the kill) and sees the writes made after the kill;
#  - every write is acked (hsctl apply exits 0), before and after;
#  - no event is applied twice: per pod, the resourceVersions the watcher
#    prints strictly increase, it prints at most one line per write, and it
#    ends on the store's version of every pod.
source "$(dirname "$0")/lib.sh"

KEYS=4
PORTS=("$HS_PORT" "$(free_port_pair)" "$(free_port_pair)")
BUS_PIDS=()
for i in 0 1 2; do
  start "bus$((i + 1))" "$HS_BIN/hs-bus" --bind 127.0.0.1 --port "${PORTS[$i]}"
  BUS_PIDS+=("$LAST_PID")
done
for i in 0 1 2; do
  wait_for 10 "hs-bus $((i + 1)) to listen" \
    grep -q "listening on tcp://127.0.0.1:$((PORTS[i] + 1))" "$T/bus$((i + 1)).log"
done
B1=127.0.0.1:${PORTS[0]}
B2=127.0.0.1:${PORTS[1]}
B3=127.0.0.1:${PORTS[2]}
# The store publishes to all three and subscribes through broker 1.
export HS_BUS="$B1,$B2,$B3"
start_store
lap "3 brokers and a store up"

pod() { # pod NAME GEN
  cat <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: $1
  labels: {gen: "$2"}
spec:
  containers: [{name: main, command: [sleep, "3600"]}]
YAML
}

# The watcher, through broker 2; every output line stamped on arrival.
HS_BUS="$B2,$B1,$B3" HS_LOG_LEVEL=info hsctl get pods --watch-only -o json 2>"$T/w.err" |
  python3 -u -c '
import sys, time
for line in sys.stdin:
    sys.stdout.write("%d %s" % (time.time_ns(), line))
' >"$T/w.out" &
HS_PIDS+=($!)

# The writer: one apply after another, gen counting up; each line
# "GEN START_NS END_NS RC".
writer() {
  local gen=0 t0 rc
  while [ ! -e "$T/stop" ]; do
    gen=$((gen + 1))
    t0=$(date +%s%N)
    rc=0
    pod "k$((gen % KEYS))" "$gen" | HS_BUS="$B2,$B3,$B1" hsctl apply -f - --request-timeout 10 \
      >>"$T/writer.log" 2>&1 || rc=$?
    echo "$gen $t0 $(date +%s%N) $rc" >>"$T/writer.out"
  done
}
writer &
HS_PIDS+=($!)
WRITER=$!

writes() { [ -f "$T/writer.out" ] && [ "$(wc -l <"$T/writer.out")" -ge "$1" ]; }
seen() { [ "$(grep -c '"resourceVersion"' "$T/w.out")" -ge "$1" ]; }
wait_for 30 "10 writes" writes 10
wait_for 30 "the watcher to see 5 of them" seen 5
grep -q "subscribing through" "$T/w.err" && fail "the watcher moved before the kill: $(cat "$T/w.err")"

KILL_NS=$(date +%s%N)
kill -9 "${BUS_PIDS[1]}"
N_AT_KILL=$(wc -l <"$T/writer.out")
lap "killed broker 2 after $N_AT_KILL writes"
wait_for 30 "20 more writes" writes $((N_AT_KILL + 20))
touch "$T/stop"
wait "$WRITER" || true

# ---- every write acked
bad=$(awk '$4 != 0' "$T/writer.out")
[ -z "$bad" ] || fail "writes not acked (GEN START END RC):
$bad
$(tail -n 20 "$T/writer.log")"
N=$(wc -l <"$T/writer.out")
pass "all $N writes acked ($((N - N_AT_KILL)) after the kill)"

# ---- the watcher ends on the store's versions, then the checks
hsctl get pods -o json >"$T/store.json"
python3 - "$T/store.json" >"$T/store.rv" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for o in d.get("items", [d] if "metadata" in d else []):
    print(o["metadata"]["name"], o["metadata"]["resourceVersion"])
PY
check() {
  python3 - "$T/w.out" "$T/store.rv" "$T/writer.out" "$KILL_NS" "$KEYS" "$1" <<'PY'
import json, sys
w_out, store_rv, writer_out, kill_ns, keys, final = sys.argv[1:]
kill_ns, keys = int(kill_ns), int(keys)
# the watcher's objects, with the arrival time of their first line
objs, buf, t_first = [], "", None
dec = json.JSONDecoder()
for line in open(w_out):
    ts, _, text = line.partition(" ")
    if not buf.strip(): t_first = int(ts)
    buf += text
    try:
        o, end = dec.raw_decode(buf.strip())
    except ValueError:
        continue
    objs.append((t_first, o)); buf = ""
store = dict(l.split() for l in open(store_rv))
writes = [tuple(map(int, l.split())) for l in open(writer_out)]
last, count, twice = {}, {}, []
for t, o in objs:
    m = o["metadata"]; name = m["name"]; rv = int(m["resourceVersion"])
    if name in last and rv <= last[name]: twice.append((name, rv, last[name]))
    last[name] = rv; count[name] = count.get(name, 0) + 1
if final == "final":
    if twice: sys.exit("applied twice or out of order: %s" % twice[:5])
    per_key = {}
    for g, *_ in writes: per_key["k%d" % (g % keys)] = per_key.get("k%d" % (g % keys), 0) + 1
    for k, n in count.items():
        if n > per_key.get(k, 0): sys.exit("%s: %d events for %d writes" % (k, n, per_key.get(k, 0)))
    # after the kill: the first write started after it, and when the watcher saw it
    first = next(g for g, t0, t1, rc in writes if t0 > kill_ns)
    t_seen = min((t for t, o in objs if int(o["metadata"]["labels"]["gen"]) >= first), default=None)
    if t_seen is None: sys.exit("the watcher saw no write made after the kill")
    t0 = next(t0 for g, t0, t1, rc in writes if g == first)
    t1 = next(t1 for g, t0, t1, rc in writes if g == first)
    print("first write after the kill: started +%d ms, acked +%d ms, seen by the watcher +%d ms"
          % ((t0 - kill_ns) // 10**6, (t1 - kill_ns) // 10**6, (t_seen - kill_ns) // 10**6))
    print("watcher: %d events for %d writes, per pod %s" % (len(objs), len(writes), count))
for name, rv in store.items():
    if name.startswith("k") and last.get(name) != int(rv):
        sys.exit("%s: watcher at %s, store at %s" % (name, last.get(name), rv))
PY
}
wait_for 20 "the watcher to reach the store's versions" check quiet
check final >"$T/check.out" || fail "$(cat "$T/check.out")"
cat "$T/check.out"
pass "no event applied twice; the watcher ends on the store's versions"

# ---- the watcher moved within 1 s of the kill
line=$(grep -m1 "subscribing through" "$T/w.err") || fail "the watcher never moved: $(cat "$T/w.err")"
moved_ms=$(python3 - "$line" "$KILL_NS" <<'PY'
import datetime, sys
line, kill_ns = sys.argv[1], int(sys.argv[2])
ts = datetime.datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ")
ts = ts.replace(tzinfo=datetime.timezone.utc).timestamp()
print(int(ts * 1000 - kill_ns / 1e6))
PY
)
echo "watcher moved ${moved_ms} ms after the kill: $line"
[ "$moved_ms" -le 1000 ] || fail "the watcher took ${moved_ms} ms to move (target 1000)"
case "$line" in *":$((PORTS[1] + 1)) went quiet"*) ;; *) fail "moved from the wrong broker: $line" ;; esac
pass "the watcher left the killed broker within 1 s (${moved_ms} ms)"
