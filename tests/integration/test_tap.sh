#!/usr/bin/env bash
# hs-tap against a real hs-bus, with hs-send injecting messages: -c, prefix
# filters and --exclude, -o json, -w/-r round trips, broken recordings,
# --stats, clean exit on signals, an unreachable bus; then, with hs-store and
# hsctl, a real apply seen decoded (cmd.pod, ack., ev.pod.).
source "$(dirname "$0")/lib.sh"
# Plaintext: hs-send injects messages on any topic (test.*), which no
# identity may publish on a secured bus (tests/security covers that bus).
hs_insecure

# wait_exit PID SECONDS: waits for PID to end, its exit code into RC.
wait_exit() {
  wait_for "$2" "process $1 to exit" exited "$1"
  RC=0
  wait "$1" || RC=$?
}
lines() { grep -c . "$1" || true; }
has_line() { grep -Eq -- "$2" "$1" || fail "no line matching /$2/ in $1:
$(cat "$1")"; }
no_line() { ! grep -Eq -- "$2" "$1" || fail "unexpected line matching /$2/ in $1:
$(cat "$1")"; }

# ---- no bus: a clear error, exit 1
RC=0
HS_BUS="127.0.0.1:$(free_port_pair)" hs-tap -c 1 >"$T/nobus.out" 2>&1 || RC=$?
[ "$RC" -eq 1 ] || fail "hs-tap without a bus exited $RC, expected 1"
has_line "$T/nobus.out" '^error: cannot reach the bus at 127\.0\.0\.1:[0-9]+: is hs-bus running\?$'
pass "no bus: clear error, exit 1"

start_bus

# ---- prefixes, --exclude and -c: only the wanted messages count
start_tap filter test.a test.b --exclude test.b.skip -c 3
hs-send test.c --ping --nonce unwanted-c
hs-send test.b.skip --ping --nonce unwanted-skip
hs-send test.a --ping --nonce want-1
hs-send test.b.keep --ping --nonce want-2
hs-send test.a.x --ping --nonce want-3
wait_exit "$TAP_PID" 15
[ "$RC" -eq 0 ] || fail "hs-tap -c 3 exited $RC"
[ "$(lines "$T/filter.out")" -eq 3 ] || fail "expected 3 lines, got:
$(cat "$T/filter.out")"
for n in 1 2 3; do
  has_line "$T/filter.out" "^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}  hs-send/[a-z0-9]+  test\.[ab][.a-z]*  ping nonce=want-$n$"
done
no_line "$T/filter.out" unwanted
pass "prefix filter, --exclude and -c 3"

# ---- -o json: one valid JSON object per line, the envelope decoded
start_tap json -o json -c 2 test.json
hs-send test.json --ping --nonce json-nonce-1
hs-send test.json.x --ping --nonce 'json "quoted" nonce'
wait_exit "$TAP_PID" 15
[ "$RC" -eq 0 ] || fail "hs-tap -o json exited $RC"
python3 - "$T/json.out" <<'PY' || fail "bad JSON lines: $(cat "$T/json.out")"
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
assert len(lines) == 2, lines
got = set()
for l in lines:
    o = json.loads(l)
    assert o["topic"].startswith("test.json"), o
    assert o["size"] > 0 and o["time"].endswith("Z") and "." in o["time"], o
    assert o["envelope"]["sender"].startswith("hs-send/"), o
    got.add(o["envelope"]["ping"]["nonce"])
assert got == {"json-nonce-1", 'json "quoted" nonce'}, got
PY
pass "-o json: valid JSON lines with the decoded nonce"

# ---- -w records, -r replays the same lines (garbage included)
start_tap rec -c 5 -w "$T/rec.bin" test.rec
hs-send test.rec.p --ping --nonce rec-1
hs-send test.rec.g --garbage decode
hs-send test.rec.g --garbage frames
hs-send test.rec.g --garbage body
hs-send test.rec.p --ping --nonce rec-2
wait_exit "$TAP_PID" 15
[ "$RC" -eq 0 ] || fail "hs-tap -w exited $RC"
[ "$(lines "$T/rec.out")" -eq 5 ] || fail "expected 5 lines, got: $(cat "$T/rec.out")"
has_line "$T/rec.out" '  \?  test\.rec\.g  GARBAGE \(decode\) 2 frames, [0-9]+ bytes: 07 '
has_line "$T/rec.out" '  \?  test\.rec\.g  GARBAGE \(frames\) 3 frames'
has_line "$T/rec.out" '  hs-send/[a-z0-9]+  test\.rec\.g  GARBAGE \(body\) 2 frames, [0-9]+ bytes, unknown field 99'
hs-tap -r "$T/rec.bin" >"$T/replay.out" 2>"$T/replay.err" || fail "hs-tap -r exited $?: $(cat "$T/replay.err")"
diff -u "$T/rec.out" "$T/replay.out" >&2 || fail "the replay differs from what the live tap showed"
hs-tap -r "$T/rec.bin" -o json >"$T/replay.json" || fail "hs-tap -r -o json failed"
python3 - "$T/replay.json" <<'PY' || fail "bad replayed JSON: $(cat "$T/replay.json")"
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(objs) == 5, objs
assert sorted(o["garbage"] for o in objs if "garbage" in o) == ["body", "decode", "frames"], objs
assert [o["envelope"]["ping"]["nonce"] for o in objs if "envelope" in o] == ["rec-1", "rec-2"], objs
PY
hs-tap -r "$T/rec.bin" --exclude test.rec.g >"$T/replay-f.out"
[ "$(lines "$T/replay-f.out")" -eq 2 ] || fail "replay with --exclude: $(cat "$T/replay-f.out")"
hs-tap -r "$T/rec.bin" -c 1 >"$T/replay-c.out"
[ "$(lines "$T/replay-c.out")" -eq 1 ] || fail "replay with -c 1: $(cat "$T/replay-c.out")"
pass "-w then -r: same lines; filters, -c and -o json apply to replays"

# ---- broken recordings: a clear error and exit 1, what was good still shown
size=$(stat -c %s "$T/rec.bin")
head -c $((size - 3)) "$T/rec.bin" >"$T/trunc.bin"
RC=0
hs-tap -r "$T/trunc.bin" >"$T/trunc.out" 2>"$T/trunc.err" || RC=$?
[ "$RC" -eq 1 ] || fail "truncated recording: exit $RC, expected 1"
has_line "$T/trunc.err" "^hs-tap: $T/trunc.bin: truncated frame in the message at byte [0-9]+ \(after 4 good messages\)$"
[ "$(lines "$T/trunc.out")" -eq 4 ] || fail "truncated recording: expected the 4 good lines: $(cat "$T/trunc.out")"
head -c 15 "$T/rec.bin" >"$T/trunc2.bin"
expect_rc 1 hs-tap -r "$T/trunc2.bin"
expect_out "truncated message header" hs-tap -r "$T/trunc2.bin"
echo "this is not a recording" >"$T/junk.bin"
expect_rc 1 hs-tap -r "$T/junk.bin"
expect_out "not an hs-tap recording" hs-tap -r "$T/junk.bin"
head -c 4096 /dev/urandom | { printf 'HSTAP1\n'; cat; } >"$T/random.bin"
expect_rc 1 hs-tap -r "$T/random.bin"
expect_rc 1 hs-tap -r "$T/does-not-exist.bin"
pass "truncated, foreign and random recordings: error, exit 1, no crash"

# ---- --stats: a table per topic group; -c stops it
start_tap stats --stats -c 5 test.st
hs-send test.st.one --ping --count 3
hs-send test.st.two --ping --count 2
wait_exit "$TAP_PID" 15
[ "$RC" -eq 0 ] || fail "hs-tap --stats -c 5 exited $RC"
has_line "$T/stats.out" '^GROUP +MSGS/S +BYTES/S +MSGS +BYTES +GARBAGE$'
has_line "$T/stats.out" '^test\.st +[0-9.KM]+ +[0-9.KM]+ +5 +[0-9]+ +0$'
has_line "$T/stats.out" '^TOTAL +[0-9.KM]+ +[0-9.KM]+ +5 +[0-9]+ +0$'
# Live, a table comes every second even from the broker's heartbeat alone;
# SIGINT ends it cleanly.
start_tap stats2 --stats hb.
wait_for 10 "a periodic stats table with hb.bus" grep -Eq '^hb\.bus +' "$T/stats2.out"
kill -INT "$TAP_PID"
wait_exit "$TAP_PID" 10
[ "$RC" -eq 0 ] || fail "hs-tap --stats after SIGINT exited $RC"
hs-tap -r "$T/rec.bin" --stats >"$T/stats3.out"
has_line "$T/stats3.out" '^test\.rec +[0-9.KM]+ +[0-9.KM]+ +5 +[0-9]+ +3$'
pass "--stats: per-group table, live and from a recording"

# ---- line output is flushed while idle; SIGTERM exits 0
start_tap term test.term
hs-send test.term --ping --nonce before-term
wait_for 10 "the tap to print the ping" grep -q "nonce=before-term" "$T/term.out"
kill -TERM "$TAP_PID"
wait_exit "$TAP_PID" 10
[ "$RC" -eq 0 ] || fail "hs-tap after SIGTERM exited $RC"
pass "SIGTERM: clean exit 0"

# ---- usage errors
expect_rc 2 hs-tap -o xml
expect_rc 2 hs-tap -c 0
expect_rc 2 hs-send test.x
expect_rc 2 hs-send test.x --garbage nonsense
expect_rc 2 hs-send test.x --frames zz
pass "usage errors exit 2"

# ---- with the store: a real apply, decoded
if [ ! -x "$HS_BIN/hs-store" ] || [ ! -x "$HS_BIN/hsctl" ]; then
  echo "SKIP: hs-store or hsctl not built; store part not run"
  exit 0
fi
start_store
start_tap store cmd.pod ack. ev.pod.
cat >"$T/pod.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: tapweb
spec:
  containers:
  - name: web
    command: ["sleep", "1000"]
EOF
expect_out "pod/tapweb created" hsctl apply -f "$T/pod.yaml"
wait_for 10 "cmd.pod, ack. and ev.pod. lines" \
  grep -q "ADDED pod default/tapweb" "$T/store.out"
has_line "$T/store.out" '  hsctl/[a-z0-9]+  cmd\.pod  apply pod default/tapweb req=[^ ]+ \(1 write\)$'
has_line "$T/store.out" '  hs-store/[a-z0-9]+  ack\.[a-z0-9]+/  ok rev=[0-9]+ created pod/tapweb req=[^ ]+$'
has_line "$T/store.out" '  hs-store/[a-z0-9]+  ev\.pod\.-/default/tapweb  ADDED pod default/tapweb rev=[0-9]+ seq=pod\.-#[0-9]+$'
# the request id of the command is the one acked
req=$(grep -Eo 'cmd\.pod  apply pod default/tapweb req=[^ ]+' "$T/store.out" | head -1 | sed 's/.*req=//')
has_line "$T/store.out" "ok rev=[0-9]+ created pod/tapweb req=$req\$"
expect_out "pod/tapweb unchanged" hsctl apply -f "$T/pod.yaml"
wait_for 10 "the unchanged ack" grep -q "unchanged pod/tapweb" "$T/store.out"
expect_out "already exists" hsctl create -f "$T/pod.yaml"
wait_for 10 "the AlreadyExists ack" grep -Eq 'ack\.[a-z0-9]+/  AlreadyExists: ' "$T/store.out"
kill -INT "$TAP_PID"
wait_exit "$TAP_PID" 10
[ "$RC" -eq 0 ] || fail "the store tap exited $RC"
# hb.store, decoded from the schema
start_tap hbstore -c 1 hb.store
wait_exit "$TAP_PID" 10
has_line "$T/hbstore.out" '  hs-store/[a-z0-9]+  hb\.store  epoch=[0-9]+ rev=[0-9]+ streams=[0-9]+ '
pass "a real apply through the store: cmd.pod, ack. and ev.pod. decoded"
