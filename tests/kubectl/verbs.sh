#!/usr/bin/env bash
# verbs.sh: every kubectl verb against hs-apiserver, for VERBS.md. Not a
# test (nothing passes or fails): it starts the kubectl suite's set, runs
# each command and prints its exit status and what it printed, so the table
# in VERBS.md can be checked again after a change:
#   HS_BIN=build/bin HS_SRC=. bash tests/kubectl/verbs.sh
source "$(dirname "$0")/klib.sh"
start_kube_set
k apply -f "$EXAMPLES/" >/dev/null
wait_for 60 "deployment api available" jp_is 3 '{.status.availableReplicas}' deploy api
wait_for 60 "pod web Running" jp_is Running '{.status.phase}' pod web

# k as a program, so timeout and env can run it
mkdir -p "$T/bin"
printf '#!/bin/sh\nexec %s --kubeconfig %s --server %s --cache-dir %s "$@"\n' \
  "$KUBECTL" "$HS_PKI/kubeconfig" "$API_URL" "$KCACHE" >"$T/bin/k"
chmod +x "$T/bin/k"
export PATH="$T/bin:$PATH"

# try TITLE CMD...: runs CMD (10 s at most), prints rc and the first lines.
try() {
  local title=$1 rc=0; shift
  timeout "${TRY_T:-10}" "$@" >"$T/v.out" 2>"$T/v.err" </dev/null || rc=$?
  printf '\n### %s\n$ %s\nrc=%s\n' "$title" "$*" "$rc"
  head -6 "$T/v.out" | sed 's/^/  out| /'
  { grep -v '^I[0-9]' "$T/v.err" || true; } | head -6 | sed 's/^/  err| /'
}
EDITOR_SCRIPT="$T/editor.sh"
printf '#!/bin/sh\nsed -i "s/replicas: 3/replicas: 2/" "$1"\n' >"$EDITOR_SCRIPT"
chmod +x "$EDITOR_SCRIPT"

try version k version
try api-resources k api-resources
try api-versions k api-versions
try cluster-info k cluster-info
try "get all" k get all
try "get -o name" k get deploy,rs,po -o name
try "get -L" k get pods -L app
try "get -o custom-columns" k get pods -o custom-columns=N:.metadata.name,NODE:.spec.nodeName
try "get -o json" k get deploy api -o json
try "get --chunk-size" k get pods --chunk-size=2
try "get --show-kind" k get pods --show-kind
try "get --raw /version" k get --raw /version
try "get --raw /metrics" k get --raw /metrics
try "get cs" k get componentstatuses
try "get namespaces" k get ns
try "get svc,ep,cm,secret" k get svc,ep,cm,secret
try describe-svc k describe svc web
try explain k explain deployment.spec.replicas
try "explain pods" k explain pods
try "create namespace" k create namespace team
try "create deployment" k create deployment d2 --image=busybox -- sleep 1d
try "create job" k create job j2 --image=busybox -- true
try "create configmap" k create configmap c1 --from-literal=a=b
try "create secret" k create secret generic s1 --from-literal=a=b
try "create -f" k create -f "$EXAMPLES/pod-web.yaml"
try "create --dry-run=server" k create configmap c2 --from-literal=a=b --dry-run=server
try run k run r1 --image=busybox --restart=Never -- sh -c 'echo hi'
try "run --command" k run r1 --image=busybox --restart=Never --command -- sh -c 'echo hi'
try expose k expose deploy api --port=80
try edit env EDITOR="$EDITOR_SCRIPT" k edit deploy api
k get deploy api -o yaml >"$T/api.yaml"
try replace k replace -f "$T/api.yaml"
TRY_T=60 try "replace --force" k replace --force -f "$EXAMPLES/pod-web.yaml"
try "patch merge" k patch deploy api --type=merge -p '{"spec":{"replicas":3}}'
try "patch json" k patch deploy api --type=json -p '[{"op":"replace","path":"/spec/replicas","value":2}]'
try "patch strategic" k patch deploy api -p '{"spec":{"template":{"spec":{"containers":[{"name":"api","env":[{"name":"X","value":"1"}]}]}}}}'
try "patch --subresource=scale" k patch deploy api --subresource=scale --type=merge -p '{"spec":{"replicas":3}}'
try "patch --subresource=status" k patch deploy api --subresource=status --type=merge -p '{"status":{"replicas":3}}'
try "apply --prune" k apply --prune -l app=echo -f "$EXAMPLES/replicaset.yaml"
try "apply --prune --prune-allowlist" k apply --prune -l app=echo --prune-allowlist=apps/v1/ReplicaSet -f "$EXAMPLES/replicaset.yaml"
try "apply --server-side" k apply --server-side -f "$EXAMPLES/deployment.yaml"
try "apply --dry-run=server" k apply --dry-run=server -f "$EXAMPLES/deployment.yaml"
try "apply view-last-applied" k apply view-last-applied deploy/api
try "set env" k set env deploy/api Y=2
try "set resources" k set resources deploy/api -c api --limits=memory=200Mi
try "rollout pause" k rollout pause deploy/api
try "rollout resume" k rollout resume deploy/api
try autoscale k autoscale deploy api --min=1 --max=3
try taint k taint node demo2 k=v:NoSchedule
try "taint -" k taint node demo2 k=v:NoSchedule-
try "label node" k label node demo2 zone=a
try exec k exec web -- true
try attach k attach web
try cp k cp web:/etc/hostname "$T/h"
try port-forward k port-forward pod/web 18080:8080
try "top pods" k top pods
try "top nodes" k top nodes
try "auth can-i" k auth can-i create pods
try "auth whoami" k auth whoami
try proxy k proxy --port=0
try "debug" k debug web -it --image=busybox
try "ephemeralcontainers (curl)" curl -sS -X PATCH --cacert "$HS_PKI/api/ca.crt" \
  -H "Authorization: Bearer $(sed -n 's/^ *token: *//p' "$HS_PKI/kubeconfig" | head -1)" \
  -H "Content-Type: application/strategic-merge-patch+json" -d '{}' -w ' HTTP %{http_code}' \
  "$API_URL/api/v1/namespaces/default/pods/web/ephemeralcontainers"
try "certificate" k certificate approve x
try "wait --for=delete" k wait --for=delete pod/r1 --timeout=5s
try "delete --all" k delete cm --all
try "delete --dry-run=server" k delete pod web --dry-run=server
try "delete --wait=false" k delete deploy api --wait=false
try "get -w --watch-only" timeout 3 k get pods --watch-only
try "kubectl.1.31 create deployment (JSON body)" /usr/lib/google-cloud-sdk/bin/kubectl.1.31 --kubeconfig "$HS_PKI/kubeconfig" --server "$API_URL" --cache-dir "$T/kc131" create deployment d3 --image=busybox -- sleep 1d
try "kubectl.1.31 create namespace" /usr/lib/google-cloud-sdk/bin/kubectl.1.31 --kubeconfig "$HS_PKI/kubeconfig" --server "$API_URL" --cache-dir "$T/kc131" create namespace t2
