#!/usr/bin/env bash
# hsctl get -w: lists, then prints every change another hsctl makes (added,
# modified, deleted) until SIGINT/SIGTERM, exiting 0; --watch-only skips the
# initial listing; -o name and -l apply to the stream too.
source "$(dirname "$0")/lib.sh"

start_bus
start_store

pod() { # pod NAME LABEL-VALUE: a pod manifest
  cat <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: $1
  labels: {app: $2}
spec:
  containers: [{name: main, command: [sleep, "3600"]}]
YAML
}

pod web v1 | hsctl apply -f - >/dev/null
pod quiet q | hsctl apply -f - >/dev/null

# ---- get pods -w: the listing, then another hsctl's changes
hsctl get pods -w >"$T/w.out" 2>"$T/w.err" &
W=$!; HS_PIDS+=("$W")
wait_for 20 "the watch to list web" grep -q '^web ' "$T/w.out"
grep -q '^NAME    READY   STATUS    RESTARTS   AGE$' "$T/w.out" || fail "watch has no header: $(cat "$T/w.out")"
grep -q '^quiet ' "$T/w.out" || fail "watch did not list quiet: $(cat "$T/w.out")"
pod added v1 | hsctl apply -f - >/dev/null
wait_for 20 "the watch to show pod added" grep -q '^added ' "$T/w.out"
pod web v2 | hsctl apply -f - >/dev/null
lines() { [ "$(grep -c "^$1 " "$T/w.out")" -ge "$2" ]; }   # lines NAME N: N rows of NAME
wait_for 20 "the watch to show web modified" lines web 2
hsctl delete pod added >/dev/null
wait_for 20 "the watch to show the deletion of added" lines added 2
[ "$(grep -c '^NAME ' "$T/w.out")" -eq 1 ] || fail "the header was printed more than once: $(cat "$T/w.out")"
kill -INT "$W"
RC=0; wait "$W" || RC=$?
[ $RC -eq 0 ] || fail "get -w exited $RC on SIGINT; stderr: $(cat "$T/w.err")"
pass "get pods -w follows changes and exits 0 on SIGINT"

# ---- --watch-only -o name -l: only changes, only matching pods
hsctl get pods --watch-only -o name -l app=v3 >"$T/wo.out" 2>"$T/wo.err" &
W=$!; HS_PIDS+=("$W")
# the watch may not be subscribed yet: keep changing web until it shows up
n=0
bump() {
  n=$((n + 1))
  pod web v3 | sed "s/app: v3}/app: v3, bump: \"$n\"}/" | hsctl apply -f - >/dev/null
  grep -qx 'pod/web' "$T/wo.out"
}
wait_for 20 "--watch-only to show web" bump
pod quiet v9 | hsctl apply -f - >/dev/null    # not matching: must not appear
pod quiet v3 | hsctl apply -f - >/dev/null    # now matching: must appear
wait_for 20 "--watch-only to show quiet once it matches" grep -qx 'pod/quiet' "$T/wo.out"
grep -vqx -e 'pod/web' -e 'pod/quiet' "$T/wo.out" && fail "--watch-only printed more: $(cat "$T/wo.out")"
[ "$(grep -cx 'pod/quiet' "$T/wo.out")" -eq 1 ] || fail "quiet printed while it did not match: $(cat "$T/wo.out")"
kill -TERM "$W"
RC=0; wait "$W" || RC=$?
[ $RC -eq 0 ] || fail "get --watch-only exited $RC on SIGTERM; stderr: $(cat "$T/wo.err")"
pass "--watch-only -o name -l, exit 0 on SIGTERM"
