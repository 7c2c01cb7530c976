#!/usr/bin/env bash
# hs-replicas keeps a ReplicaSet's pods on two real nodes (hs-agent a and b,
# with hs-scheduler): 3 pods Running and the status counting them; a
# container killed with SIGKILL is restarted by its agent (the same pod,
# restartCount 1, still 3 pods); a deleted pod is replaced; hsctl scale to 5
# and back to 1 (the oldest ready pod survives); an orphan pod whose labels
# match is adopted instead of a new one created; hsctl delete rs deletes
# the pods (garbage collection); Events say what happened.
source "$(dirname "$0")/lib.sh"

# pods_json: every pod as one JSON list on stdout.
pods_json() { hsctl get pods -o json; }
# q PYTHON-EXPRESSION: evaluated with `pods` (the non-deleting pods of the
# namespace as dicts) and `rs(name)` (the pods a ReplicaSet controls).
q() {
  pods_json | python3 -c "
import json, sys
d = json.load(sys.stdin)
items = d.get('items', [d]) if isinstance(d, dict) else d
pods = [p for p in items if not p['metadata'].get('deletionTimestamp')]
def owner(p):
    return next((r['name'] for r in p['metadata'].get('ownerReferences', []) if r.get('controller')), None)
def rs(n):
    return [p for p in pods if owner(p) == n]
def running(n):
    return [p for p in rs(n) if p['status'].get('phase') == 'Running']
print($1)"
}
q_is() { [ "$(q "$1" 2>/dev/null)" = "$2" ]; }
rs_field() {
  hsctl get rs "$1" -o json | python3 -c "import json,sys; r=json.load(sys.stdin); print($2)"
}
rs_field_is() { [ "$(rs_field "$1" "$2" 2>/dev/null)" = "$3" ]; }

start_bus
start_store
start_agent a
start_agent b
start_ctrl scheduler
start_ctrl replicas

rs_yaml() { # NAME REPLICAS APP
  cat <<EOF
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: $1
spec:
  replicas: $2
  selector:
    matchLabels: {app: $3}
  template:
    metadata:
      labels: {app: $3}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: main
        command: [sh, -c, "sleep 3600 & wait"]
EOF
}

# ---- 3 pods Running, spread, counted in the status
rs_yaml web 3 web >"$T/web.yaml"
expect_out "replicaset.apps/web created" hsctl apply -f "$T/web.yaml"
wait_for 40 "3 pods of web Running" q_is "len(running('web'))" 3
q_is "len(pods)" 3 || fail "more pods than replicas: $(hsctl get pods)"
q_is "sorted(set(p['spec'].get('nodeName') for p in rs('web')))" "['a', 'b']" ||
  fail "pods not spread over a and b: $(hsctl get pods -o wide)"
q_is "all(p['metadata']['name'].startswith('web-') and len(p['metadata']['name']) == 9 for p in rs('web'))" True ||
  fail "pod names are not web-XXXXX: $(hsctl get pods)"
wait_for 20 "web's status: 3 ready" rs_field_is web \
  "(r['status'].get('replicas'), r['status'].get('readyReplicas'), r['status'].get('availableReplicas'), r['status'].get('fullyLabeledReplicas'), r['status'].get('observedGeneration'))" \
  "(3, 3, 3, 3, 1)"
hsctl get rs web --no-headers | grep -Eq '^web +3 +3 +3 ' || fail "get rs: $(hsctl get rs web)"
pass "3 pods Running on both nodes; status replicas/ready/available 3"

# ---- SIGKILL a container: its agent restarts it, the ReplicaSet is unmoved
victim=$(q "sorted(p['metadata']['name'] for p in rs('web'))[0]")
cid=$(hsctl get pod "$victim" -o json | python3 -c "import json,sys; print(json.load(sys.stdin)['status']['containerStatuses'][0]['containerID'])")
pid=${cid##*/}
[ -d "/proc/$pid" ] || fail "container pid $pid of $victim not alive"
before=$(q "sorted(p['metadata']['name'] for p in rs('web'))")
kill -9 "$pid"
wait_for 30 "$victim restarted (restartCount 1)" sh -c "hsctl get pod $victim -o json | python3 -c \"import json,sys; s=json.load(sys.stdin)['status']; sys.exit(not (s['containerStatuses'][0].get('restartCount', 0) == 1 and s['phase'] == 'Running'))\""
wait_for 20 "3 Running again" q_is "len(running('web'))" 3
[ "$(q "sorted(p['metadata']['name'] for p in rs('web'))")" = "$before" ] ||
  fail "the ReplicaSet replaced a pod its agent restarts: $(hsctl get pods)"
pass "a killed container is restarted in place (restartCount 1); still the same 3 pods"

# ---- delete a pod: a new one replaces it
victim=$(q "sorted(p['metadata']['name'] for p in rs('web'))[1]")
expect_out "pod \"$victim\" deleted" hsctl delete pod "$victim"
wait_for 40 "a replacement Running" q_is \
  "(len(running('web')), any(p['metadata']['name'] == '$victim' for p in pods))" "(3, False)"
originals=$(q "' '.join(sorted(set(n for n in $before) - {'$victim'}))")
pass "deleted pod $victim replaced"

# ---- scale to 5, then to 1: the pods ready longest survive
expect_out "replicaset.apps/web scaled" hsctl scale rs web --replicas=5
wait_for 40 "5 Running" q_is "len(running('web'))" 5
expect_out "replicaset.apps/web scaled" hsctl scale replicaset/web --replicas=1
wait_for 40 "1 pod left" q_is "len(rs('web'))" 1
survivor=$(q "rs('web')[0]['metadata']['name']")
case " $originals " in
  *" $survivor "*) ;;
  *) fail "scale-down kept $survivor, not one of the pods ready longest ($originals)" ;;
esac
wait_for 20 "web's status: 1 replica" rs_field_is web "(r['status']['replicas'], r['status']['observedGeneration'])" "(1, 3)"
pass "scaled to 5 and to 1; the survivor $survivor is one of the oldest"

# ---- an orphan pod matching a new ReplicaSet's selector is adopted
cat >"$T/stray.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: stray
  labels: {app: solo}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    command: [sh, -c, "sleep 3600 & wait"]
EOF
hsctl apply -f "$T/stray.yaml" >/dev/null
wait_for 30 "stray Running" q_is "[p['status'].get('phase') for p in pods if p['metadata']['name'] == 'stray']" "['Running']"
rs_yaml solo 1 solo >"$T/solo.yaml"
hsctl apply -f "$T/solo.yaml" >/dev/null
wait_for 20 "stray adopted by solo" q_is "[p['metadata']['name'] for p in rs('solo')]" "['stray']"
wait_for 20 "solo's status counts it" rs_field_is solo "r['status'].get('readyReplicas')" 1
q_is "len([p for p in pods if p['metadata']['labels'].get('app') == 'solo'])" 1 ||
  fail "solo created a pod instead of adopting: $(hsctl get pods)"
pass "an orphan pod with matching labels is adopted, nothing created"

# ---- Events
hsctl describe rs web >"$T/describe"
grep -q "SuccessfulCreate.*Created pod: web-" "$T/describe" || fail "no SuccessfulCreate: $(cat "$T/describe")"
grep -q "SuccessfulDelete.*Deleted pod: web-" "$T/describe" || fail "no SuccessfulDelete: $(cat "$T/describe")"
pass "SuccessfulCreate / SuccessfulDelete Events"

# ---- deleting a ReplicaSet deletes its pods
expect_out 'replicaset.apps "solo" deleted' hsctl delete rs solo
expect_out 'replicaset.apps "web" deleted' hsctl delete rs web
wait_for 40 "every pod gone" sh -c "[ -z \"\$(hsctl get pods --no-headers 2>/dev/null)\" ]"
grep -q "garbage: deleting pod default/stray" "$T/replicas.log" || fail "stray was not collected"
pass "hsctl delete rs: its pods are deleted (garbage collection)"
