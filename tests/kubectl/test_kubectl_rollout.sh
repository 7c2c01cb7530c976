#!/usr/bin/env bash
# The real kubectl against hs-apiserver (issue 17), part 2: workloads.
# scale and rollout status; set image, rollout history, rollout undo;
# rollout restart; apply --server-side of a Job (create-or-merge, with
# kubectl's wording) then wait --for=condition=complete; logs of job/x,
# deploy/x with --tail, -f that streams and ends with the container,
# --timestamps, --tail; delete --cascade=foreground (a Warning: Background).
# Each step compares the lines kubectl prints.
source "$(dirname "$0")/klib.sh"
start_kube_set

ok k apply -f "$EXAMPLES/deployment.yaml"
out_is "deployment.apps/api created"
ok k rollout status deploy/api --timeout=60s
out_has '^deployment "api" successfully rolled out$'
ok k get deploy api
header_is "NAME READY UP-TO-DATE AVAILABLE AGE"
cell_is '^api ' 2 3/3

# ---- scale, rollout status
ok k scale deploy api --replicas=4
out_is "deployment.apps/api scaled"
ok k rollout status deploy/api --timeout=60s
out_has '^deployment "api" successfully rolled out$'
ok k get deploy api --no-headers
cell_is '^api ' 2 4/4
ok k get pods -l app=api --no-headers
[ "$(grep -c Running "$T/out")" -eq 4 ] || fail "4 api pods Running
$(show)"
run k scale deploy api --replicas=3 --current-replicas=2
rc_is 1
err_has 'error: Expected replicas to be 2, was 4'
ok k scale deploy api --replicas=3 --current-replicas=4
out_is "deployment.apps/api scaled"
ok k rollout status deploy/api --timeout=60s
pass "scale (and --current-replicas) then rollout status"

# ---- set image, history, undo
rs1=$(jp '{.items[0].metadata.name}' rs -l app=api)
ok k set image deploy/api api=img:2
out_is "deployment.apps/api image updated"
ok k rollout status deploy/api --timeout=90s
out_has '^deployment "api" successfully rolled out$'
ok k get deploy api -o wide --no-headers
out_has '^api +3/3 +3 +3 +[0-9smhd]+ +api +img:2 +app=api$'
ok k rollout history deploy/api
out_has '^deployment\.apps/api *$'
out_has '^REVISION +CHANGE-CAUSE$'
out_has '^1 +<none>$'
out_has '^2 +<none>$'
ok k rollout history deploy/api --revision=2
out_has '^    Image:[[:space:]]+img:2$'
ok k rollout undo deploy/api
out_is "deployment.apps/api rolled back"
ok k rollout status deploy/api --timeout=90s
out_has '^deployment "api" successfully rolled out$'
ok k get deploy api -o jsonpath='{.spec.template.spec.containers[0].image}|{.metadata.annotations.deployment\.kubernetes\.io/revision}'
out_is "|3"
ok k get rs -l app=api -o jsonpath='{range .items[*]}{.metadata.name}={.spec.replicas}{"\n"}{end}'
out_has "^$rs1=3\$"
ok k rollout history deploy/api
out_has '^2 +<none>$'
out_has '^3 +<none>$'
out_lacks '^1 '
pass "set image, rollout history, rollout undo (the old ReplicaSet adopted as revision 3)"

# ---- rollout restart
before=$(jp '{.items[*].metadata.name}' pods -l app=api)
ok k rollout restart deploy/api
out_is "deployment.apps/api restarted"
ok k rollout status deploy/api --timeout=90s
out_has '^deployment "api" successfully rolled out$'
ok k get deploy api -o jsonpath='{.spec.template.metadata.annotations.kubectl\.kubernetes\.io/restartedAt}'
out_has '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$'
wait_for 30 "the old pods gone" sh -c "[ \"\$('$KUBECTL' --kubeconfig '$HS_PKI/kubeconfig' --server '$API_URL' --cache-dir '$KCACHE' get pods -l app=api -o name | wc -l)\" -eq 3 ]"
after=$(jp '{.items[*].metadata.name}' pods -l app=api)
for p in $before; do
  case " $after " in *" $p "*) fail "pod $p survived the restart: $after" ;; esac
done
pass "rollout restart: restartedAt, every pod replaced"

# ---- a Job: server-side apply, wait, logs job/x
ok k apply --server-side -f "$EXAMPLES/job.yaml"
out_is "job.batch/hello serverside-applied"
ok k wait --for=condition=complete job/hello --timeout=60s
out_is "job.batch/hello condition met"
ok k get job hello
header_is "NAME STATUS COMPLETIONS DURATION AGE"
cell_is '^hello ' 2 Complete
cell_is '^hello ' 3 3/3
ok k logs job/hello
out_is "done"
ok k get pods -l job-name=hello -o name
[ "$(grep -c . "$T/out")" -eq 3 ] || fail "3 pods of job hello
$(show)"
ok k apply --server-side -f "$EXAMPLES/job.yaml"
out_is "job.batch/hello serverside-applied"
pass "apply --server-side of a Job, wait --for=condition=complete, logs job/hello"

ok k logs deploy/api --tail=5
out_is "api 1 up"

# ---- logs -f streams and ends with the container; --timestamps; --tail
cat >"$T/ticker.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: ticker
spec:
  restartPolicy: Never
  containers:
  - name: main
    command: ["/bin/sh", "-c", "echo one; echo two; while [ ! -e $T/go ]; do sleep 0.05; done; echo three; echo four"]
EOF
ok k apply -f "$T/ticker.yaml"
out_is "pod/ticker created"
wait_for 30 "ticker Running" jp_is Running '{.status.phase}' pod ticker
bg follow k logs -f ticker
FOLLOW=$BG
wait_for 20 "logs -f to show the first lines" grep -q two "$T/follow.out"
exited "$FOLLOW" && fail "logs -f ended before the container: $(cat "$T/follow.err")"
touch "$T/go"
bg_rc "$FOLLOW" 30
[ "$RC" -eq 0 ] || fail "logs -f exited $RC: $(cat "$T/follow.err")"
[ "$(cat "$T/follow.out")" = "one
two
three
four" ] || fail "logs -f printed: $(cat "$T/follow.out")"
wait_for 30 "ticker Succeeded" jp_is Succeeded '{.status.phase}' pod ticker
ok k logs ticker --tail=2
out_is "three
four"
ok k logs ticker --timestamps
[ "$(wc -l <"$T/out")" -eq 4 ] || fail "4 lines
$(show)"
[ "$(grep -cE '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z (one|two|three|four)$' "$T/out")" -eq 4 ] ||
  fail "--timestamps: RFC 3339 prefixes expected
$(show)"
run k logs nope
rc_is 1
err_is 'error: error from server (NotFound): pods "nope" not found in namespace "default"'
pass "logs -f (streams, ends with the container), --tail, --timestamps, deploy/x"

# ---- delete with Foreground: done as Background, with a Warning
ok k delete deploy api --cascade=foreground
out_is 'deployment.apps "api" deleted'
err_has 'Warning: '
err_has 'Background'
wait_for 60 "the api pods gone" sh -c "! '$KUBECTL' --kubeconfig '$HS_PKI/kubeconfig' --server '$API_URL' --cache-dir '$KCACHE' get pods -l app=api -o name 2>/dev/null | grep -q ."
run k get deploy api
rc_is 1
err_is 'Error from server (NotFound): deployments.apps "api" not found'
pass "delete --cascade=foreground: a Warning that it ran as Background; everything went"

kill -0 "$API_PID" || fail "hs-apiserver died"
