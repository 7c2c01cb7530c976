#!/usr/bin/env bash
# hsctl's error messages and exit codes, kubectl's wording: no bus, no store,
# unknown verb/kind/flag, NotFound, AlreadyExists, manifest errors naming the
# file, document and field, and all-or-nothing apply.
source "$(dirname "$0")/lib.sh"

run() { RC=0; "$@" >"$T/out" 2>&1 || RC=$?; }
# check RC "EXPECTED OUTPUT" CMD...: exact exit code and exact output
check() {
  local want_rc=$1 want=$2; shift 2
  run "$@"
  [ "$RC" -eq "$want_rc" ] || fail "'$*' exited $RC, expected $want_rc; it printed:
$(cat "$T/out")"
  [ "$(cat "$T/out")" = "$want" ] || fail "'$*' printed:
$(cat "$T/out")
-- expected:
$want"
}

# ---- before anything runs: no broker on the port. On a secured bus
# (lib.sh's default) the client knows only that no CURVE handshake
# completed, and says what to check; on a plaintext one, kubectl's words.
nobus="error: no CURVE handshake with the bus at tcp://$HS_BUS completed in 3000 ms: is hs-bus running there (with --pki), and is broker-key in $HS_CREDENTIAL its public key?"
check 1 "$nobus" hsctl get pods
check 1 "$nobus" hsctl apply -f "$HS_SRC/examples/pod-web.yaml"
HS_INSECURE=1 HS_CREDENTIAL= check 1 "error: cannot reach the bus at $HS_BUS: is hs-bus running?" hsctl get pods
pass "no bus"

# ---- a broker but no store
start_bus
wait_for 20 "the bus to answer (without a store)" \
  sh -c 'hsctl --request-timeout 1 get pods 2>&1 | grep -q "store did not answer"'
check 1 "Unable to connect to the server: the store did not answer within 1s" \
  hsctl --request-timeout 1 get pods
check 1 "Unable to connect to the server: the store did not answer within 1s" \
  hsctl --request-timeout=1 apply -f "$HS_SRC/examples/pod-web.yaml"
pass "no store"

start_store

# ---- verbs, kinds, flags
check 1 'error: unknown command "frobnicate" for "hsctl"
Run '"'"'hsctl --help'"'"' for usage.' hsctl frobnicate
check 1 'error: the server doesn'"'"'t have a resource type "foo"' hsctl get foo
check 1 'error: the server doesn'"'"'t have a resource type "foo"' hsctl describe foo bar
check 1 'error: the server doesn'"'"'t have a resource type "foo"' hsctl delete foo bar
check 1 "error: unknown flag: --bogus
See 'hsctl get --help' for usage." hsctl get pods --bogus
check 1 'error: unable to match a printer suitable for the output format "xml", allowed formats are: json,name,wide,yaml' \
  hsctl get pods -o xml
run hsctl get pods -l '=x'
[ $RC -eq 1 ] || fail "bad selector exited $RC"
grep -q '^error: unable to parse requirement: ' "$T/out" || fail "bad selector printed: $(cat "$T/out")"
run hsctl get pods -l 'app in x'
[ $RC -eq 1 ] && grep -q '^error: unable to parse requirement: ' "$T/out" || fail "bad 'in' selector: $(cat "$T/out")"
check 1 "error: must specify one of -f and -k
See 'hsctl apply -h' for help and examples" hsctl apply
run hsctl help
[ $RC -eq 0 ] && grep -q '^  apply ' "$T/out" && grep -q '^  snapshot ' "$T/out" || fail "help: $(cat "$T/out")"
pass "unknown verb, kind, flag, output, selector"

# ---- NotFound
check 1 'Error from server (NotFound): pods "x" not found' hsctl get pod x
check 1 'Error from server (NotFound): nodes "x" not found' hsctl get node x
check 1 'Error from server (NotFound): deployments.apps "x" not found' hsctl get deploy x
check 1 'Error from server (NotFound): jobs.batch "x" not found' hsctl describe job x
check 1 'Error from server (NotFound): replicasets.apps "x" not found' hsctl delete rs x
check 1 'Error from server (NotFound): pods "x" not found' hsctl delete pod x
check 1 'Error from server (NotFound): pods "x" not found' hsctl describe pod x
check 0 '' hsctl delete pod x --ignore-not-found
pass "NotFound"

# ---- AlreadyExists
check 0 "pod/web created" hsctl create -f "$HS_SRC/examples/pod-web.yaml"
check 1 "Error from server (AlreadyExists): error when creating \"$HS_SRC/examples/pod-web.yaml\": pods \"web\" already exists" \
  hsctl create -f "$HS_SRC/examples/pod-web.yaml"
pass "AlreadyExists"

# ---- manifest errors: one line naming file, document and field; nothing sent
cat >"$T/bad-field.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: ok-one
spec:
  containers: [{name: main, command: [sleep, "1"]}]
---
apiVersion: v1
kind: Pod
metadata:
  name: typo
spec:
  containers:
  - name: main
    imag: busybox
YAML
run hsctl apply -f "$T/bad-field.yaml"
[ $RC -eq 1 ] || fail "bad manifest exited $RC"
[ "$(wc -l <"$T/out")" -eq 1 ] || fail "a manifest error is one line, got: $(cat "$T/out")"
grep -q "^error: .*bad-field.yaml.*document 2.*spec.containers\[0\].imag" "$T/out" \
  || fail "manifest error does not name file/document/field: $(cat "$T/out")"
check 1 'Error from server (NotFound): pods "ok-one" not found' hsctl get pod ok-one
for f in "$HS_SRC"/examples/bad/*.yaml; do
  run hsctl apply -f "$f"
  [ $RC -eq 1 ] || fail "apply $f exited $RC: $(cat "$T/out")"
  grep -q "^error: .*$(basename "$f")" "$T/out" || fail "error for $f does not name it: $(cat "$T/out")"
done
check 1 "error: no objects passed to apply" hsctl apply -f /dev/null
check 1 "error: the path \"$T/missing.yaml\" does not exist" hsctl apply -f "$T/missing.yaml"
pass "manifest errors"

# ---- all-or-nothing: a store-side invalid document writes nothing
cat >"$T/three.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: first
spec:
  containers: [{name: main, command: [sleep, "3600"]}]
---
apiVersion: v1
kind: Pod
metadata:
  name: Not_A_Valid_Name
spec:
  containers: [{name: main, command: [sleep, "3600"]}]
---
apiVersion: v1
kind: Pod
metadata:
  name: third
spec:
  containers: [{name: main, command: [sleep, "3600"]}]
YAML
run hsctl apply -f "$T/three.yaml"
[ $RC -eq 1 ] || fail "invalid apply exited $RC: $(cat "$T/out")"
head -1 "$T/out" | grep -q "^Error from server (Invalid): error when applying \"$T/three.yaml\" (document 2): .*metadata.name" \
  || fail "invalid apply printed: $(cat "$T/out")"
[ "$(tail -1 "$T/out")" = "error: nothing was applied: apply is all-or-nothing" ] \
  || fail "no all-or-nothing line: $(cat "$T/out")"
check 1 'Error from server (NotFound): pods "first" not found' hsctl get pod first
check 1 'Error from server (NotFound): pods "third" not found' hsctl get pod third
check 0 "pod/web" hsctl get pods -o name
pass "all-or-nothing apply"

# ---- arguments kubectl refuses
check 1 "error: arguments in resource/name form must have a single resource and name" hsctl delete pod/
check 1 "error: arguments in resource/name form must have a single resource and name" hsctl get /web
check 1 "error: --now and --grace-period cannot be specified together" hsctl delete pod web --now --grace-period=5
run hsctl get pods --request-timeout nan
[ "$RC" -eq 1 ] || fail "--request-timeout nan exited $RC: $(cat "$T/out")"
pass "bad resource/name forms, --now with --grace-period, and a NaN timeout are refused"

# ---- --grace-period=0 without --force means 1 (kubectl: no accidental immediate removal)
start_tap gp cmd.pod -o json
check 0 'pod "web" deleted' hsctl delete pod web --grace-period=0
wait_for 10 "the tap to show the delete" grep -q '"op":"OP_DELETE"' "$T/gp.out"
grep '"op":"OP_DELETE"' "$T/gp.out" | grep -q '"gracePeriodSeconds":1' \
  || fail "--grace-period=0 without --force did not send 1: $(cat "$T/gp.out")"
pass "--grace-period=0 without --force sends a grace period of 1"
