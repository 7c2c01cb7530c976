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
ok k get hpa web -o yaml
out_has "^apiVersion: autoscaling/v2$"
out_has "^    averageUtilization: 50$|^        averageUtilization: 50$"
pass "kubectl: api-resources, get hpa with hsctl's columns, -o yaml"

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
pass "status through /status: get shows cpu: 73%/50% and REPLICAS 2 (kubectl and hsctl); describe's lines"

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
