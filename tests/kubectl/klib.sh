# klib.sh: the kubectl acceptance suite's set (issue 17). Source it first
# thing; it sources tests/integration/lib.sh (temp dir $T, secured bus,
# `hsctl init` into $T/pki, cleanup of everything at exit).
#
# start_kube_set [AGENT ARGS...]: hs-bus, hs-store, agents for nodes demo and
# demo2 (demo2 runs the static pod "static", whose mirror pod is
# static-demo2), hs-scheduler, hs-replicas, hs-jobs, hs-prober, then
# hs-apiserver --pki $T/pki --listen 127.0.0.1:<free port>. Returns once
# kubectl gets an answer from it. Then `k ARGS...` is the REAL /usr/bin/kubectl
# (the dispatcher, which picks kubectl.1.32 from /version) with the admin's
# kubeconfig that `hsctl init` wrote, the gateway's address and a fresh
# --cache-dir (pitfall 17 of notes/kube-api.md: a cache hides the server).
#
# Every check compares what a user sees: run CMD fills $T/out, $T/err, $RC;
# out_has/out_lacks/err_has look at them, row/cell pick table cells.
source "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

KUBECTL=${KUBECTL:-/usr/bin/kubectl}
[ -x "$KUBECTL" ] || { echo "SKIP: no kubectl at $KUBECTL"; exit 77; }
# The client's minor version: kubectl >= 1.32 sends protobuf bodies from its
# typed clients (create deployment|job|namespace), 1.31 sends JSON.
KMINOR=$("$KUBECTL" version --client -o json 2>/dev/null |
  python3 -c 'import json, re, sys; print(re.match(r"\d+", json.load(sys.stdin)["clientVersion"]["minor"]).group())') ||
  fail "$KUBECTL version --client"
KCACHE="$T/kcache"
mkdir -p "$KCACHE"

start_kube_set() {
  need_root_cgroups
  start_bus
  start_store
  mkdir -p "$T/manifests-demo2"
  cat >"$T/manifests-demo2/static.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: static
  labels:
    app: static
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    command: ["/bin/sh", "-c", "sleep 3600 & wait"]
EOF
  start_agent demo --backoff-initial 1 --backoff-max 2 "$@"
  start_agent demo2 --backoff-initial 1 --backoff-max 2 --manifests "$T/manifests-demo2" "$@"
  start_ctrl scheduler
  start_ctrl replicas
  start_ctrl jobs
  start_ctrl prober
  start_apiserver
}

# start_apiserver [PATH WORD]: hs-apiserver on a free loopback port (API_PORT,
# API_URL), with the TLS files, token keys and credential `hsctl init` made;
# returns once a list of PATH (default /api/v1/nodes) holds "WORD" (default
# demo2): its cache has synced.
start_apiserver() {
  local sync_path=${1:-/api/v1/nodes} sync_word=${2:-demo2}
  API_PORT=$(free_port_pair)
  API_URL="https://127.0.0.1:$API_PORT"
  [ -f "$HS_PKI/kubeconfig" ] || fail "hsctl init wrote no $HS_PKI/kubeconfig"
  [ -f "$HS_PKI/api/ca.crt" ] || fail "hsctl init wrote no $HS_PKI/api/ca.crt"
  start apiserver "$HS_BIN/hs-apiserver" --bus "$HS_BUS" --pki "$HS_PKI" \
    --listen "127.0.0.1:$API_PORT"
  API_PID=$LAST_PID
  wait_for 20 "hs-apiserver to answer /version" \
    curl -sf --cacert "$HS_PKI/api/ca.crt" "$API_URL/version"
  # Its cache synced: a list answers (a 503 or an empty answer while it syncs).
  wait_for 20 "hs-apiserver to list $sync_path" sh -c \
    "curl -sf --cacert '$HS_PKI/api/ca.crt' -H \"Authorization: Bearer \$(sed -n 's/^ *token: *//p' '$HS_PKI/kubeconfig' | head -1)\" '$API_URL$sync_path' | grep -q '\"$sync_word\"'"
}

# k ARGS...: the real kubectl as the admin.
k() {
  "$KUBECTL" --kubeconfig "$HS_PKI/kubeconfig" --server "$API_URL" --cache-dir "$KCACHE" "$@"
}

run() { RC=0; "$@" >"$T/out" 2>"$T/err" || RC=$?; }
show() { printf -- '-- rc %s\n-- stdout:\n%s\n-- stderr:\n%s\n' "$RC" "$(cat "$T/out")" "$(cat "$T/err")"; }
rc_is() { [ "$RC" -eq "$1" ] || fail "exit status $RC, expected $1
$(show)"; }
ok() { run "$@"; rc_is 0; }
out_has() { grep -qE -- "$1" "$T/out" || fail "stdout lacks /$1/
$(show)"; }
out_lacks() { ! grep -qE -- "$1" "$T/out" || fail "stdout has /$1/
$(show)"; }
out_is() { [ "$(cat "$T/out")" = "$1" ] || fail "stdout is not:
$1
$(show)"; }
err_has() { grep -qF -- "$1" "$T/err" || fail "stderr lacks '$1'
$(show)"; }
err_is() { [ "$(cat "$T/err")" = "$1" ] || fail "stderr is not:
$1
$(show)"; }
# header_is 'NAME READY ...': the first line of stdout, its words.
header_is() {
  local h
  h=$(head -1 "$T/out" | tr -s ' ')
  h=${h% }
  [ "$h" = "$1" ] || fail "header is '$h', expected '$1'
$(show)"
}
# cell ROW-REGEX COLUMN: the COLUMN-th word of the first stdout line
# matching ROW-REGEX (awk's fields).
cell() { awk -v c="$2" "/$1/ { print \$c; exit }" "$T/out"; }
cell_is() {
  local got
  got=$(cell "$1" "$2")
  [ "$got" = "$3" ] || fail "row /$1/ column $2 is '$got', expected '$3'
$(show)"
}

# k_ok ARGS...: kubectl succeeds (as a wait_for condition).
k_ok() { k "$@" >/dev/null 2>&1; }
# k_out_has REGEX ARGS...: kubectl's stdout matches (as a wait_for condition).
k_out_has() {
  local re=$1 o; shift
  o=$(k "$@" 2>/dev/null) || return 1
  grep -qE -- "$re" <<<"$o"
}
# jp EXPR ARGS...: kubectl get ARGS -o jsonpath=EXPR
jp() {
  local e=$1; shift
  k get "$@" -o "jsonpath=$e"
}
jp_is() {
  local want=$1 e=$2 got; shift 2
  got=$(jp "$e" "$@" 2>/dev/null) || return 1
  [ "$got" = "$want" ]
}

# bg NAME CMD...: CMD in the background, stdout $T/NAME.out, stderr
# $T/NAME.err; sets BG. bg_rc PID: waits for it (deadline 60 s), sets RC.
bg() {
  local name=$1; shift
  "$@" >"$T/$name.out" 2>"$T/$name.err" &
  BG=$!
  HS_PIDS+=("$BG")
}
bg_rc() {
  wait_for "${2:-60}" "pid $1 to end" exited "$1"
  RC=0
  wait "$1" || RC=$?
}

# The examples the acceptance list names (notes §8): the pod web, the
# deployment api, the job hello; the ReplicaSet echo and the Service web too.
EXAMPLES="$HS_SRC/examples"
