#!/usr/bin/env bash
# docker-compose/hs-healthy, the compose healthcheck, without docker: with
# the image's awk (busybox, when installed) it finds a controller whose
# instance name looks like a huge number (a container id such as
# 4416e7713443, which busybox awk once found unequal to itself), finds any
# hs-bus, and, when the instance is absent, fails with one line listing the
# instances it saw.
source "$(dirname "$0")/lib.sh"

# The image's awk is busybox's (docker-compose/build-image); use it here too.
mkdir -p "$T/awk"
if command -v busybox >/dev/null && busybox awk 'BEGIN {}' 2>/dev/null; then
  ln -s "$(command -v busybox)" "$T/awk/awk"
  echo "   awk: busybox's, as in the image"
else
  echo "   awk: $(command -v awk) (no busybox here: the image's awk is not tested)"
fi
healthy() { PATH="$T/awk:$PATH" sh "$HS_SRC/docker-compose/hs-healthy" "$@"; }

start_bus
start_store
id=4416e7713443
start_ctrl replicas --instance "$id"
wait_for 10 "hs-replicas $id heartbeating" sh -c "hsctl get components --no-headers | grep -q '^hs-replicas  *$id '"
healthy replicas "$id" || fail "hs-healthy replicas $id failed: $(healthy replicas "$id" 2>&1)"
healthy bus || fail "hs-healthy bus failed: $(healthy bus 2>&1)"
pass "hs-healthy finds hs-replicas $id and hs-bus"

rc=0
out=$(healthy replicas 0000deadbeef 2>&1) || rc=$?
[ "$rc" -ne 0 ] || fail "hs-healthy replicas 0000deadbeef succeeded"
case "$out" in
  "no hs-replicas instance 0000deadbeef among the instances hsctl get components lists: "*"hs-replicas/$id"*) ;;
  *) fail "hs-healthy printed: $out" ;;
esac
pass "an absent instance is unhealthy, saying what it saw: $out"
