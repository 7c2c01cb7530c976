#!/usr/bin/env bash
# hs-metrics scraped by a real Prometheus (Debian's /usr/bin/prometheus,
# started here on loopback with its storage in $T): a secured set with a
# scheduler and an agent running a busy pod; PromQL through Prometheus' HTTP
# API sees the busy pod's CPU rate above 0.3 cores and every component up;
# promtool checks a scrape; a scrape during a store restart (kill -9)
# answers 200 with the store down, then up again, one restart counted;
# hs-metrics itself killed -9 comes back whole, and a second one runs beside.
source "$(dirname "$0")/lib.sh"

[ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ] ||
  { echo "SKIP: needs Debian's prometheus package (/usr/bin/prometheus, /usr/bin/promtool)"; exit 77; }
need_root_cgroups

start_bus
mkdir -p "$T/store"
start_store --instance s1
start_ctrl scheduler
start_agent n1 --usage-interval 500ms
MPORT=$(free_port_pair)
start metrics "$HS_BIN/hs-metrics" --bus "$HS_BUS" --listen "127.0.0.1:$MPORT" --heartbeat-ms 500
METRICS_PID=$LAST_PID
M="http://127.0.0.1:$MPORT"
wait_for 20 "hs-metrics to serve /healthz" curl -sf "$M/healthz"

cat >"$T/busy.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: busy
  labels: {app: busy, app.kubernetes.io/name: busy-loop}
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    command: ["/bin/sh", "-c", "while :; do :; done"]
    resources:
      requests: {cpu: 100m, memory: 16Mi}
EOF
hsctl apply -f "$T/busy.yaml" >/dev/null || fail "apply busy"

# ---- a real Prometheus scraping hs-metrics every second
PPORT=$(free_port_pair)
cat >"$T/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: homeostat
    static_configs:
      - targets: ["127.0.0.1:$MPORT"]
EOF
start prometheus /usr/bin/prometheus --config.file="$T/prometheus.yml" \
  --storage.tsdb.path="$T/prom" --web.listen-address="127.0.0.1:$PPORT"
P="http://127.0.0.1:$PPORT"
wait_for 30 "Prometheus to be ready" curl -sf "$P/-/ready"

# promql QUERY: the instant vector's samples, one "labels value" per line
promql() {
  curl -sf --get --data-urlencode "query=$1" "$P/api/v1/query" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["status"] == "success", d
for r in d["data"]["result"]:
    print(json.dumps(r["metric"], sort_keys=True), r["value"][1])'
}
# promql_ok QUERY AWK-CONDITION: every sample's value passes, and there is one
promql_ok() {
  local out
  out=$(promql "$1") || return 1
  [ -n "$out" ] && awk "{ if (!(\$NF $2)) bad = 1 } END { exit bad }" <<<"$out"
}

wait_for 45 "PromQL: the busy pod's CPU rate above 0.3 cores" \
  promql_ok 'rate(container_cpu_usage_seconds_total{pod="busy",container="main"}[5s])' '> 0.3'
lap "busy: $(promql 'rate(container_cpu_usage_seconds_total{pod="busy"}[5s])')"
pass "Prometheus: rate(container_cpu_usage_seconds_total{pod=\"busy\"}[5s]) > 0.3"

# every component up: the store, the scheduler, the agent, the bus, hs-metrics itself
want_up() {
  local out c
  out=$(promql 'homeostat_component_up') || return 1
  for c in store scheduler agent bus metrics; do
    grep -q "\"component\": \"$c\"" <<<"$out" || return 1
  done
  promql_ok 'homeostat_component_up' '== 1' && promql_ok 'up{job="homeostat"}' '== 1'
}
wait_for 20 "PromQL: every component's homeostat_component_up == 1" want_up
promql_ok 'kube_node_status_condition{node="n1",condition="Ready",status="true"}' '== 1' ||
  fail "n1 not Ready in Prometheus: $(promql 'kube_node_status_condition{node="n1"}')"
promql_ok 'kube_pod_status_phase{pod="busy",phase="Running"}' '== 1' ||
  fail "busy not Running in Prometheus: $(promql 'kube_pod_status_phase{pod="busy"}')"
out=$(promql 'kube_pod_labels{pod="busy"}')
grep -q '"label_app_kubernetes_io_name": "busy-loop"' <<<"$out" || fail "kube_pod_labels: $out"
pass "PromQL: every component up, n1 Ready, busy Running and labelled"

# ---- the scrape itself: promtool's checks, and the system's families
curl -sf "$M/metrics" >"$T/scrape.txt" || fail "GET /metrics"
/usr/bin/promtool check metrics <"$T/scrape.txt" >"$T/promtool.out" 2>&1 ||
  fail "promtool check metrics: $(head -20 "$T/promtool.out")"
page=$(cat "$T/scrape.txt")
# the heartbeats' own metrics (docs/protocol.md §8), rendered generically
for want in 'homeostat_store_up{member="s1"} 1' '# TYPE homeostat_store_revision gauge' \
  '# TYPE homeostat_store_fsync_duration_seconds histogram' \
  'homeostat_store_ack_duration_seconds_bucket{member="s1",le="+Inf"}' \
  'homeostat_store_queue_depth{member="s1"}' \
  'homeostat_scheduler_pods_bound_total{member=' 'homeostat_scheduler_unschedulable_pods{member=' \
  '# TYPE homeostat_scheduler_pass_duration_seconds histogram' \
  'container_memory_working_set_bytes{container="main",namespace="default",pod="busy"}' \
  '# TYPE homeostat_metrics_render_duration_seconds histogram'; do
  [[ "$page" == *"$want"* ]] || fail "/metrics lacks: $want"
done
code=$(curl -s -o /dev/null -w '%{http_code}' "$M/nothing")
[ "$code" = 404 ] || fail "GET /nothing: $code, expected 404"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$M/metrics")
[ "$code" = 405 ] || fail "POST /metrics: $code, expected 405"
pass "promtool check metrics passes on $(grep -vc '^#' "$T/scrape.txt") samples"

# ---- kill -9 the store: scrapes still answer, with the store down, then up
kill -9 "$STORE_PID"
store_up_is() {
  local code
  code=$(curl -s -o "$T/during.txt" -w '%{http_code}' "$M/metrics") || return 1
  [ "$code" = 200 ] && grep -qx "homeostat_store_up{member=\"s1\"} $1" "$T/during.txt"
}
wait_for 20 "a scrape with the killed store down" store_up_is 0
grep -q 'kube_pod_status_phase{namespace="default",pod="busy"' "$T/during.txt" ||
  fail "the scrape during the restart lost the cached pods"
wait_for 20 "Prometheus to see the store down" \
  promql_ok 'homeostat_component_up{component="store"}' '== 0'
pass "store killed: /metrics answers 200 from the cache, homeostat_store_up 0"
start store "$HS_BIN/hs-store" --bus "$HS_BUS" --data "$T/store" --instance s1
STORE_PID=$LAST_PID
wait_for 30 "a scrape with the store up again" store_up_is 1
grep -qx 'homeostat_component_restarts_total{component="store",member="s1"} 1' "$T/during.txt" ||
  fail "the store's restart not counted: $(grep restarts "$T/during.txt")"
wait_for 20 "Prometheus to see the store up" \
  promql_ok 'homeostat_component_up{component="store"}' '== 1'
pass "store back: homeostat_store_up 1, one restart counted"

# ---- hs-metrics itself: kill -9 and a restart lose nothing durable
kill -9 "$METRICS_PID"
start metrics "$HS_BIN/hs-metrics" --bus "$HS_BUS" --listen "127.0.0.1:$MPORT" --heartbeat-ms 500
busy_back() {
  curl -sf "$M/metrics" >"$T/again.txt" &&
    grep -q '^container_cpu_usage_seconds_total{container="main",namespace="default",pod="busy"}' "$T/again.txt" &&
    grep -q '^kube_pod_info{namespace="default",pod="busy"' "$T/again.txt"
}
wait_for 20 "a restarted hs-metrics to serve the busy pod again" busy_back
# a second instance side by side: its own port, the same page
M2PORT=$(free_port_pair)
start metrics2 "$HS_BIN/hs-metrics" --bus "$HS_BUS" --listen "127.0.0.1:$M2PORT" --heartbeat-ms 500
M="http://127.0.0.1:$M2PORT"
wait_for 20 "a second hs-metrics to serve the busy pod" busy_back
two_up() {
  curl -sf "$M/metrics" >"$T/two.txt" &&
    [ "$(grep -c '^homeostat_component_up{component="metrics",member="[^"]*"} 1$' "$T/two.txt")" = 2 ]
}
wait_for 20 "both hs-metrics instances up on the second one's page" two_up
pass "hs-metrics killed -9 and restarted, and a second instance beside it, serve the same cluster"
expect_rc 2 "$HS_BIN/hs-metrics" --listen nonsense
pass "hs-metrics"
