#!/usr/bin/env bash
# The systemd units as `make install` installs them: cmake --install into a
# temporary root (DESTDIR), then `systemd-analyze verify --root` on every
# unit there, which checks each directive and that each ExecStart binary
# exists under that root. verify only warns about an unknown key or a bad
# value (and exits 0), so a unit passes only with exit 0 and no output at
# all. Deliberately broken copies prove the check can fail. Also: the
# settings file defines exactly the variables the units use, and install
# never overwrites a user's edited settings file.
source "$(dirname "$0")/lib.sh"

command -v systemd-analyze >/dev/null ||
  fail "systemd-analyze is missing (Debian package systemd; scripts/install-deps installs it)"
BUILD=$(cd "$HS_BIN/.." && pwd)
ROOT=$T/root

# ---- make install, into $ROOT
DESTDIR=$ROOT cmake --install "$BUILD" >"$T/install.log" 2>&1 || fail "cmake --install:
$(tail -20 "$T/install.log")"
UNITDIR=$(dirname "$(find "$ROOT" -name hs-bus.service -print -quit)")
[ "$UNITDIR" != . ] || fail "no hs-bus.service installed under $ROOT"
ENVFILE=$(find "$ROOT" -path '*/homeostat/homeostat.env' -not -path '*/doc/*' -print -quit)
[ -n "$ENVFILE" ] || fail "homeostat.env not installed"
UNITS=(hs-bus.service hs-store.service hs-agent.service hs-proxy.service hs-apiserver.service
       hs-metrics.service hs-scheduler@.service
       hs-replicas@.service hs-jobs@.service hs-prober@.service hs-endpoints@.service
       hs-dns@.service hs-autoscaler@.service homeostat.target)
for u in "${UNITS[@]}"; do [ -f "$UNITDIR/$u" ] || fail "$u not installed in $UNITDIR"; done
n=$(find "$UNITDIR" -type f | wc -l)
[ "$n" -eq ${#UNITS[@]} ] || fail "$n files in $UNITDIR, expected ${#UNITS[@]}"
for b in $(grep -ho '^ExecStart=[^ ]*' "$UNITDIR"/* | cut -d= -f2 | sort -u); do
  [ -x "$ROOT$b" ] || fail "ExecStart binary $b is not installed"
  case "$b" in "$BUILD"/*) fail "a unit runs $b from the build tree" ;; esac
done
pass "make install: ${#UNITS[@]} units in ${UNITDIR#"$ROOT"}, settings in ${ENVFILE#"$ROOT"}, binaries in place"

# verify needs systemd's own units (sysinit.target, ...) under the root.
mkdir -p "$ROOT/usr/lib/systemd"
cp -a /usr/lib/systemd/system "$ROOT/usr/lib/systemd/"

# clean_verify UNIT...: systemd-analyze verify exits 0 and says nothing.
clean_verify() {
  local rc=0
  (cd "$UNITDIR" && systemd-analyze verify --root="$ROOT" "$@") >"$T/verify.out" 2>&1 || rc=$?
  [ $rc -eq 0 ] && [ ! -s "$T/verify.out" ]
}

# ---- every unit, one at a time (to name the culprit) and all together
for u in "${UNITS[@]}"; do
  clean_verify "$u" || fail "systemd-analyze verify $u:
$(cat "$T/verify.out")"
done
clean_verify "${UNITS[@]}" || fail "systemd-analyze verify (all units):
$(cat "$T/verify.out")"
pass "systemd-analyze verify: all ${#UNITS[@]} units clean"

# ---- the check fails where it must
broken() { # NAME SED-EXPRESSION: a broken copy of hs-bus.service, verified
  sed "$2" "$UNITDIR/hs-bus.service" >"$UNITDIR/$1"
  cmp -s "$UNITDIR/hs-bus.service" "$UNITDIR/$1" && fail "$1: the sed changed nothing"
  if clean_verify "$1"; then fail "$1 passed verify"; fi
  rm "$UNITDIR/$1"
}
broken hs-typo.service 's/^WatchdogSec=/WatchdogSecs=/'
grep -q "Unknown key 'WatchdogSecs'" "$T/verify.out" || fail "typo: $(cat "$T/verify.out")"
broken hs-badvalue.service 's/^Restart=always/Restart=sometimes/'
grep -q "restart specifier" "$T/verify.out" || fail "bad value: $(cat "$T/verify.out")"
broken hs-nobin.service 's|^ExecStart=[^ ]*/hs-bus|ExecStart=/usr/local/bin/hs-no-such-binary|'
grep -q "not executable" "$T/verify.out" || fail "missing binary: $(cat "$T/verify.out")"
pass "verify fails on a misspelt key, a bad value and a missing binary"

# ---- the units' contract, read from the files
for u in "${UNITS[@]}"; do
  [ "$u" = homeostat.target ] && continue
  f=$UNITDIR/$u
  for want in '^Type=notify$' '^Restart=always$' '^WatchdogSec=' '^StartLimitIntervalSec=' \
              '^StartLimitBurst=' '^PartOf=homeostat.target$' '^WantedBy=homeostat.target$' \
              "^EnvironmentFile=-/.*/homeostat.env$"; do
    grep -q "$want" "$f" || fail "$u has no line /$want/"
  done
  ! grep -q '^Requires=' "$f" || fail "$u has Requires= (a restart of one would stop the others)"
done
for c in scheduler replicas jobs prober endpoints dns autoscaler; do
  grep -q '^ExecStart=.*/hs-'"$c"' --instance %i ' "$UNITDIR/hs-$c@.service" ||
    fail "hs-$c@.service: ExecStart without --instance %i"
done
grep -q '^KillMode=process$' "$UNITDIR/hs-agent.service" || fail "hs-agent.service would kill workloads"
grep -q '^StateDirectory=homeostat$' "$UNITDIR/hs-store.service" || fail "hs-store: no StateDirectory"
pass "units: Type=notify, Restart=always, watchdog, start limit, target, no Requires"

# ---- secured by default: hs-bus with the cluster's keys, each component its
# own credential (hsctl init makes them), the store beside the PKI.
pki=$(sed -n 's/^HS_PKI=//p' "$ENVFILE")
[ -n "$pki" ] || fail "homeostat.env: no HS_PKI"
grep -q "^Environment=\"HS_BUS_SECURITY=--pki $pki\"" "$UNITDIR/hs-bus.service" &&
  grep -q '^ExecStart=.*/hs-bus \$HS_BUS_SECURITY ' "$UNITDIR/hs-bus.service" ||
  fail "hs-bus.service does not run with --pki $pki"
grep -q "^Environment=HS_CREDENTIAL=$pki/creds/store.cred\$" "$UNITDIR/hs-store.service" ||
  fail "hs-store.service: no credential"
grep -q "^Environment=HS_CREDENTIAL=$pki/creds/apiserver.cred\$" "$UNITDIR/hs-apiserver.service" &&
  grep -q "^ExecStart=.*/hs-apiserver --pki $pki " "$UNITDIR/hs-apiserver.service" ||
  fail "hs-apiserver.service: not --pki $pki with creds/apiserver.cred"
grep -q "^Environment=HS_CREDENTIAL=$pki/creds/metrics.cred\$" "$UNITDIR/hs-metrics.service" ||
  fail "hs-metrics.service: no credential $pki/creds/metrics.cred"
for c in scheduler replicas jobs prober endpoints dns autoscaler; do
  grep -q "^Environment=HS_CREDENTIAL=$pki/creds/$c.cred\$" "$UNITDIR/hs-$c@.service" ||
    fail "hs-$c@.service: no credential $pki/creds/$c.cred"
done
pass "units: secured by default (hs-bus --pki $pki, a credential per component)"

# ---- the settings file: exactly the variables the units use
used=$(grep -ho '\$HS_[A-Z_]*' "$UNITDIR"/*.service | tr -d '$' | sort -u)
used=$(printf '%s\nHS_BUS\nHS_PKI\n' "$used" | sort -u) # read by the binaries themselves
defined=$(grep -o '^HS_[A-Z_]*=' "$ENVFILE" | tr -d = | sort -u)
[ "$used" = "$defined" ] || fail "homeostat.env defines:
$defined
the units use:
$used"
# The file as systemd reads it (NAME=VALUE; comments): sh reads it the same.
(set -a; source "$ENVFILE"; [ "$HS_BUS" = 127.0.0.1:7400 ]) || fail "homeostat.env does not parse"
pass "homeostat.env: $(echo "$defined" | wc -l) variables, the ones the units use"

# ---- install again: the user's settings are kept
echo "HS_STORE_ARGS=--event-ttl 600 # edited" >>"$ENVFILE"
DESTDIR=$ROOT cmake --install "$BUILD" >"$T/install2.log" 2>&1 || fail "second install"
grep -q "edited" "$ENVFILE" || fail "make install overwrote the edited $ENVFILE"
pass "a second install keeps the edited settings file"
