#!/usr/bin/env bash
# HorizontalPodAutoscalers (autoscaling/v2, issue 18) through hsctl and the
# real kubectl against hs-apiserver, without the controller: what a user
# writes and reads. hsctl apply/get/describe/delete hpa; a bad HPA refused
# with kube's message naming file, document and field; kubectl
# api-resources, apply (created, then unchanged), get (1.32's columns,
# TARGETS "cpu: <unknown>/50%" before a reading), get -o yaml (the v2
# defaults), a status written through /status as hs-autoscaler would, then
# get and describe showing it, autoscale, the 422 of min > max, delete.
# No pods run: bus, store and gateway only (no agents, no root needed).
source "$(dirname "$0")/klib.sh"

start_bus
start_store
hsctl() { "$HS_BIN/hsctl" "$@"; }

# row_is 'WORDS': a stdout line, its runs of blanks squeezed, is exactly WORDS.
row_is() {
  tr -s ' ' <"$T/out" | sed 's/ $//' | grep -qxF -- "$1" || fail "no line '$1'
$(show)"
}

cat >"$T/web.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: main
        command: ["/bin/sh", "-c", "sleep 3600"]
        resources:
          requests: {cpu: 100m}
EOF
cat >"$T/hpa.yaml" <<'EOF'
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: web
  minReplicas: 1
  maxReplicas: 5
  metrics:
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: 50
EOF

# ---- hsctl
ok hsctl apply -f "$T/web.yaml"
ok hsctl apply -f "$T/hpa.yaml"
out_is "horizontalpodautoscaler.autoscaling/web created"
ok hsctl apply -f "$T/hpa.yaml"
out_is "horizontalpodautoscaler.autoscaling/web unchanged"
ok hsctl get hpa
header_is "NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE"
cell_is '^web ' 2 Deployment/web
[ "$(tr -s ' ' <"$T/out" | sed -n 2p | cut -d' ' -f3-6)" = "cpu: <unknown>/50% 1 5" ] ||
  fail "hsctl get hpa: TARGETS MINPODS MAXPODS
$(show)"
ok hsctl get horizontalpodautoscalers web -o yaml
out_has "^apiVersion: autoscaling/v2$"
out_has "^kind: HorizontalPodAutoscaler$"
ok hsctl describe hpa web
out_has "^Reference: +Deployment/web$"
out_has "^  resource cpu on pods  \\(as a percentage of request\\): +<unknown> / 50%$"
out_has "^Deployment pods: +0 current / 0 desired$"
pass "hsctl: apply, get hpa (kubectl 1.32's columns, cpu: <unknown>/50%), -o yaml, describe"

# a bad HPA: kube's words, naming the file, the document and the field
cat >"$T/bad.yaml" <<'EOF'
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: bad
spec:
  scaleTargetRef: {kind: Deployment, name: web}
  minReplicas: 5
  maxReplicas: 2
EOF
cat >"$T/queue.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: fine}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: queue
spec:
  scaleTargetRef: {kind: Deployment, name: web}
  maxReplicas: 3
  metrics:
  - type: External
    external:
      metric: {name: queue_depth}
      target: {type: AverageValue, averageValue: "30"}
EOF
run hsctl apply -f "$T/bad.yaml"
[ "$RC" -ne 0 ] || fail "hsctl apply of min > max succeeded
$(show)"
err_has "error when applying \"$T/bad.yaml\" (document 1): HorizontalPodAutoscaler \"bad\" is invalid: spec.maxReplicas: Invalid value: 2: must be greater than or equal to \`minReplicas\`"
run hsctl apply -f "$T/queue.yaml"
[ "$RC" -ne 0 ] || fail "hsctl apply of an External metric succeeded
$(show)"
err_has "error when applying \"$T/queue.yaml\" (document 2): HorizontalPodAutoscaler \"queue\" is invalid: spec.metrics[0].type: Unsupported value: \"External\""
err_has "Homeostat does not support Pods, Object or External metrics"
pass "hsctl apply: min > max and an External metric refused with kube's messages, file named"

# ---- kubectl
start_apiserver /apis/autoscaling/v2/horizontalpodautoscalers web
ok k api-resources --api-group=autoscaling
row_is "horizontalpodautoscalers hpa autoscaling/v2 true HorizontalPodAutoscaler"
ok k get hpa
header_is "NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE"
[ "$(tr -s ' ' <"$T/out" | sed -n 2p | cut -d' ' -f1-7)" = "web Deployment/web cpu: <unknown>/50% 1 5 0" ] ||
  fail "kubectl get hpa
$(show)"
ok k get hpa --field-selector metadata.name=web -l 'app notin (x)' -o name
out_is "horizontalpodautoscaler.autoscaling/web"
run k get hpa --field-selector spec.maxReplicas=5
rc_is 1
err_has '"spec.maxReplicas" is not a known field selector: only "metadata.name", "metadata.namespace"'
ok k get hpa web -o yaml
out_has "^apiVersion: autoscaling/v2$"
out_has "^    averageUtilization: 50$|^        averageUtilization: 50$"
pass "kubectl: api-resources, get hpa with hsctl's columns, field and label selectors, -o yaml"

cat >"$T/api.yaml" <<'EOF'
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: api
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 4
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 60
EOF
ok k apply -f "$T/api.yaml"
out_is "horizontalpodautoscaler.autoscaling/api created"
ok k apply -f "$T/api.yaml"
out_is "horizontalpodautoscaler.autoscaling/api unchanged"
# the v2 defaults: minReplicas 1, cpu at 80%, the behavior completed
ok k get hpa api -o 'jsonpath={.spec.minReplicas} {.spec.metrics[0].resource.name} {.spec.metrics[0].resource.target.averageUtilization} {.spec.behavior.scaleUp.stabilizationWindowSeconds} {.spec.behavior.scaleUp.policies[0].type} {.spec.behavior.scaleDown.policies[0].value} {.spec.behavior.scaleDown.stabilizationWindowSeconds}'
out_is "1 cpu 80 0 Pods 100 60"
pass "kubectl apply: created, then unchanged; the v2 defaults filled"

# what hs-autoscaler writes, through /status
ok k patch hpa web --subresource=status --type=merge -p '{"status":{"currentReplicas":2,"desiredReplicas":3,"currentMetrics":[{"type":"Resource","resource":{"name":"cpu","current":{"averageUtilization":73,"averageValue":"73m"}}}],"conditions":[{"type":"AbleToScale","status":"True","reason":"SucceededRescale","message":"the HPA controller was able to update the target scale to 3"}]}}'
ok k get hpa web
[ "$(tr -s ' ' <"$T/out" | sed -n 2p | cut -d' ' -f1-7)" = "web Deployment/web cpu: 73%/50% 1 5 2" ] ||
  fail "kubectl get hpa after the status
$(show)"
ok hsctl get hpa web
[ "$(tr -s ' ' <"$T/out" | sed -n 2p | cut -d' ' -f1-7)" = "web Deployment/web cpu: 73%/50% 1 5 2" ] ||
  fail "hsctl get hpa after the status
$(show)"
ok k describe hpa web
out_has "^Name: +web$"
out_has "^Namespace: +default$"
out_has "^Reference: +Deployment/web$"
out_has "^Metrics: +\\( current / target \\)$"
out_has "^  resource cpu on pods  \\(as a percentage of request\\): +73% \\(73m\\) / 50%$"
out_has "^Min replicas: +1$"
out_has "^Max replicas: +5$"
out_has "^Deployment pods: +2 current / 3 desired$"
out_has "^  AbleToScale +True +SucceededRescale +the HPA controller was able to update the target scale to 3$"
ok k describe hpa api
out_has "^    Stabilization Window: 60 seconds$"
out_has "^      - Type: Pods +Value: 4 +Period: 15 seconds$"
# kubectl's describer runs in kubectl: hsctl's text is the same, byte for byte
for h in web api; do
  k describe hpa "$h" >"$T/k-$h.txt" 2>&1 || fail "kubectl describe hpa $h"
  hsctl describe hpa "$h" >"$T/h-$h.txt" 2>&1 || fail "hsctl describe hpa $h"
  diff -u "$T/k-$h.txt" "$T/h-$h.txt" >"$T/diff-$h" || fail "hsctl describe hpa $h differs from kubectl's:
$(cat "$T/diff-$h")"
done
pass "status through /status: get shows cpu: 73%/50% and REPLICAS 2 (kubectl and hsctl); describe's lines, hsctl's the same as kubectl's"

# python3-kubernetes' typed models read them (required fields present, even
# desiredReplicas 0 of a fresh status). Debian's 22.6 predates
# AutoscalingV2Api: its v2beta2 models have v2's shape, read from v2's path.
# (v2beta2's model requires conditions and currentReplicas, v2's does not and
# kube omits a currentReplicas of 0: this status has both)
ok k patch hpa api --subresource=status --type=merge -p '{"status":{"currentReplicas":1,"desiredReplicas":0,"conditions":[{"type":"ScalingActive","status":"False","reason":"ScalingDisabled","message":"scaling is disabled since the replica count of the target is zero"}]}}'
if /usr/bin/python3 -c 'import kubernetes' 2>/dev/null; then
  run env KUBECONFIG="$HS_PKI/kubeconfig" API_URL="$API_URL" /usr/bin/python3 - <<'PY'
import os
from kubernetes import client, config
config.load_kube_config(config_file=os.environ["KUBECONFIG"])
cfg = client.Configuration.get_default_copy()
cfg.host = os.environ["API_URL"]
api = client.ApiClient(cfg)
lst = api.call_api("/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers", "GET",
                   auth_settings=["BearerToken"], response_type="V2beta2HorizontalPodAutoscalerList",
                   _return_http_data_only=True)
for h in sorted(lst.items, key=lambda h: h.metadata.name):
    s, st = h.spec, h.status
    m = s.metrics[0].resource
    cur = st.current_metrics[0].resource.current.average_utilization if st.current_metrics else None
    print(h.metadata.name, s.scale_target_ref.kind, s.min_replicas, s.max_replicas, m.name,
          m.target.average_utilization, st.current_replicas, st.desired_replicas, cur)
PY
  rc_is 0
  out_is "api Deployment 1 4 cpu 80 1 0 None
web Deployment 1 5 cpu 50 2 3 73"
  pass "python3-kubernetes: both HPAs read into its typed (v2beta2-shaped) models"
else
  echo "skipped: python3-kubernetes (scripts/install-deps installs it)"
fi

# the 422 of min > max
run k apply -f - <<'EOF'
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: bad}
spec:
  scaleTargetRef: {kind: Deployment, name: web}
  minReplicas: 5
  maxReplicas: 2
EOF
rc_is 1
err_has "HorizontalPodAutoscaler \"bad\" is invalid: spec.maxReplicas: Invalid value: 2: must be greater than or equal to \`minReplicas\`"
pass "kubectl apply of min > max: 422 with kube's message"

# kubectl autoscale: kubectl 1.32 builds the HPA client-side and creates it
run k autoscale deployment web --min=1 --max=5 --cpu-percent=50 --name=web-auto
if [ "$RC" = 0 ]; then
  out_is "horizontalpodautoscaler.autoscaling/web-auto autoscaled"
  ok k get hpa web-auto -o 'jsonpath={.spec.scaleTargetRef.kind}/{.spec.scaleTargetRef.name} {.spec.minReplicas} {.spec.maxReplicas} {.spec.metrics[0].resource.target.averageUtilization}'
  out_is "Deployment/web 1 5 50"
  pass "kubectl autoscale deployment web: created (JSON body)"
else
  # 1.32 POSTs autoscaling/v1 as protobuf: the 415, with what to do instead
  err_has "protobuf bodies are not supported by Homeostat, and HorizontalPodAutoscalers are served as autoscaling/v2"
  pass "kubectl autoscale deployment web: its protobuf autoscaling/v1 body gets a 415 with the hint"
fi

# ---- delete, both ways
ok k delete hpa api
out_is 'horizontalpodautoscaler.autoscaling "api" deleted'
ok hsctl delete hpa web
out_has "web"
wait_for 10 "the HPAs to go" sh -c "! '$HS_BIN/hsctl' get hpa web >/dev/null 2>&1"
run k get hpa web
rc_is 1
err_has 'horizontalpodautoscalers.autoscaling "web" not found'
pass "kubectl delete hpa and hsctl delete hpa; NotFound after"

# nothing in the daemons' logs (sanitizer builds report there)
for l in apiserver store; do
  ! grep -q "Sanitizer\|runtime error" "$T/$l.log" || fail "sanitizer report in $l.log:
$(grep -A20 "Sanitizer\|runtime error" "$T/$l.log" | head -40)"
done
pass "no sanitizer report from hs-apiserver or hs-store"
