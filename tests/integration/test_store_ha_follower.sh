#!/usr/bin/env bash
# A follower stops and comes back (ha_lib.sh): writes made while it was
# down reach it from the leader's log; the three LMDB digests are equal
# afterwards. If hs-store has --snapshot-threshold (64 here, 256 entries
# kept behind), a second round writes well past that while the follower is
# down, and it must come back by installing a snapshot
# (snapshots_installed in its hb.raft view).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ha_lib.sh"

SNAP=0
if "$HS_BIN/hs-store" --help 2>&1 | grep -q -- --snapshot-threshold; then
  SNAP=1
  ha_up --snapshot-threshold 64 --snapshot-trailing 256
else
  ha_up
fi
L=${HA_LEADER#s}
F=$(( L % 3 + 1 ))
lap "3 members up, leader s$L; stopping follower s$F"
SN0=$(ha_field "$F" snapshots)
ha_stop "$F"

write_some() {
  on_client "$HS_BIN/hs-ha-load" --clients 16 --keys 8 --ms "$1" --out "$T/$2.jsonl" \
    >"$T/$2.log" 2>&1 || fail "hs-ha-load: $(tail -n 3 "$T/$2.log")"
  grep "hs-ha-load: sent" "$T/$2.log"
}
# round 1: fewer entries than the leader keeps behind a snapshot (256)
write_some 300 round1
TARGET=$(ha_field "$L" applied)
ha_start "$F"
caught_up() { local a; a=$(ha_field "$F" applied); [ -n "$a" ] && [ "$a" -ge "$TARGET" ]; }
poll_until 30 caught_up || { ha_view; fail "s$F did not apply up to $TARGET"; }
[ "$(ha_role "$F")" = follower ] || fail "s$F came back as $(ha_role "$F")"
[ "$(ha_field "$F" snapshots)" = "${SN0:-0}" ] || fail "s$F installed a snapshot to catch up ~100 entries"
pass "s$F caught up from the log (applied >= $TARGET, no snapshot installed)"

if [ "$SNAP" = 1 ]; then
  ha_stop "$F"
  S0=$(ha_field "$F" snapshots)
  # round 2: well past the 256 entries kept behind a snapshot
  write_some 2500 round2
  TARGET=$(ha_field "$L" applied)
  ha_start "$F"
  poll_until 30 caught_up || { ha_view; fail "s$F did not apply up to $TARGET"; }
  installed() { local s; s=$(ha_field "$F" snapshots); [ -n "$s" ] && [ "$s" -gt "${S0:-0}" ]; }
  poll_until 10 installed || { ha_view; fail "s$F caught up without installing a snapshot"; }
  pass "s$F installed a snapshot ($(ha_field "$F" snapshots) installed) and caught up"
else
  echo "note: hs-store has no --snapshot-threshold: the snapshot round is left out"
fi

ha_digests_equal
pass "the three members' LMDB digests are equal ($HA_DIGEST)"
