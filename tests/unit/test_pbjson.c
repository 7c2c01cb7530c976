/*  test_pbjson.c: YAML/JSON <-> protobuf mapping (bus/hs_pbjson). */
#include "hs_pbjson.h"
#include "hs_test.h"
#include "hs_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Parses one YAML document into a message of d; NULL (and a FAIL) on error. */
static ProtobufCMessage *s_parse (const ProtobufCMessageDescriptor *d, const char *yaml)
{
    hs_tree_t **docs = NULL;
    size_t n = 0;
    char *err = NULL;
    if (hs_yaml_parse (yaml, strlen (yaml), &docs, &n, &err) < 0) {
        fprintf (stderr, "  yaml error: %s\n", err);
        free (err);
        CHECK (!"yaml parse failed");
        return NULL;
    }
    CHECK_EQ_INT (n, 1);
    ProtobufCMessage *m = NULL;
    hs_pb_error_t e = {0};
    if (hs_pb_from_tree (d, n ? docs[0] : NULL, "", &m, &e) < 0) {
        fprintf (stderr, "  pb error: %s: %s\n", e.path, e.message);
        CHECK (!"hs_pb_from_tree failed");
        m = NULL;
    }
    hs_trees_free (docs, n);
    return m;
}

/* Expects a mapping error; returns 1 if path and message are exactly these. */
static void s_expect_error (const ProtobufCMessageDescriptor *d, const char *yaml,
                            const char *prefix, const char *path, const char *message, int line)
{
    hs_tree_t **docs = NULL;
    size_t n = 0;
    char *err = NULL;
    int r = hs_yaml_parse (yaml, strlen (yaml), &docs, &n, &err);
    CHECK_EQ_INT (r, 0);
    if (r < 0) {
        fprintf (stderr, "  yaml error: %s\n", err);
        free (err);
        return;
    }
    ProtobufCMessage *m = NULL;
    hs_pb_error_t e = {0};
    r = hs_pb_from_tree (d, docs[0], prefix, &m, &e);
    CHECK_EQ_INT (r, -EINVAL);
    CHECK (m == NULL);
    CHECK_EQ_STR (e.path, path);
    CHECK_EQ_STR (e.message, message);
    if (line) CHECK_EQ_INT (e.line, line);
    hs_pb_free (m);
    hs_trees_free (docs, n);
}

static void s_expect_yaml_error (const char *yaml, size_t len, const char *contains)
{
    hs_tree_t **docs = NULL;
    size_t n = 0;
    char *err = NULL;
    int r = hs_yaml_parse (yaml, len, &docs, &n, &err);
    CHECK_EQ_INT (r, -EINVAL);
    if (r == 0) {
        hs_trees_free (docs, n);
        return;
    }
    CHECK_CONTAINS (err, contains);
    CHECK (hs_startswith (err, "line "));
    free (err);
}

/* YAML -> msg -> YAML -> msg and msg -> JSON -> msg must give equal messages. */
static void s_round_trip (const ProtobufCMessageDescriptor *d, const char *yaml)
{
    ProtobufCMessage *a = s_parse (d, yaml);
    if (!a) return;
    int fmts[] = {HS_FMT_YAML,
                  HS_FMT_JSON,
                  HS_FMT_JSON | HS_FMT_COMPACT,
                  HS_FMT_YAML | HS_FMT_RAW,
                  HS_FMT_YAML | HS_FMT_DEFAULTS,
                  HS_FMT_JSON | HS_FMT_DEFAULTS | HS_FMT_RAW};
    for (size_t i = 0; i < HS_ARRAY_LEN (fmts); i++) {
        char *text = hs_pb_to_text (a, fmts[i]);
        ProtobufCMessage *b = s_parse (d, text);
        if (!hs_pb_equal (a, b)) {
            fprintf (stderr, "  round trip (flags %#x) differs; text:\n%s\n", fmts[i], text);
            CHECK (!"round trip equal");
        }
        /* and the text is stable: printing the copy gives the same text */
        char *again = b ? hs_pb_to_text (b, fmts[i]) : NULL;
        CHECK_EQ_STR (again, text);
        free (again);
        hs_pb_free (b);
        free (text);
    }
    hs_pb_free (a);
}

/* ------------------------------------------------------------------ tests */

static void test_json_names (void)
{
    static const char *const cases[][2] = {
        {"pod_ip", "podIP"},
        {"host_ip", "hostIP"},
        {"container_id", "containerID"},
        {"pod_cidr", "podCIDR"},
        {"machine_id", "machineID"},
        {"uid", "uid"},
        {"id", "id"},
        {"expected_uid", "expectedUID"},
        {"namespace", "namespace"},
        {"http_get", "httpGet"},
        {"api_version", "apiVersion"},
        {"creation_timestamp", "creationTimestamp"},
        {"sent_at_ns", "sentAtNs"},
        {"identity_provider", "identityProvider"}, /* "id" only as a whole word */
        {"pod_ips", "podIPs"}, /* Kubernetes' plurals: podIPs, clusterIPs, podCIDRs */
        {"cluster_ips", "clusterIPs"},
        {"pod_cidrs", "podCIDRs"},
        {"external_ips", "externalIPs"},
        {"deletion_grace_period_seconds", "deletionGracePeriodSeconds"},
        {"name", "name"},
    };
    char buf[64];
    for (size_t i = 0; i < HS_ARRAY_LEN (cases); i++)
        CHECK_EQ_STR (hs_pb_json_name (cases[i][0], buf, sizeof buf), cases[i][1]);
    /* truncates safely */
    char small[5];
    CHECK_EQ_STR (hs_pb_json_name ("container_id", small, sizeof small), "cont");

    /* and the names are what the mapping uses, both ways */
    Hs__PodStatus *st = (Hs__PodStatus *)s_parse (
        &hs__pod_status__descriptor, "podIP: 10.0.0.1\nhostIP: 10.0.0.2\ncontainerStatuses:\n"
                                     "- name: a\n  containerID: abc\n");
    if (st) {
        CHECK_EQ_STR (st->pod_ip, "10.0.0.1");
        CHECK_EQ_STR (st->host_ip, "10.0.0.2");
        CHECK_EQ_STR (st->container_statuses[0]->container_id, "abc");
        char *json = hs_pb_to_text (&st->base, HS_FMT_JSON | HS_FMT_COMPACT);
        CHECK_EQ_STR (json, "{\"hostIP\":\"10.0.0.2\",\"podIP\":\"10.0.0.1\",\"containerStatuses\":"
                            "[{\"name\":\"a\",\"containerID\":\"abc\"}]}");
        free (json);
        hs_pb_free (st);
    }
    s_expect_error (&hs__pod_status__descriptor, "podIp: x\n", "", "podIp",
                    "unknown field \"podIp\"", 1);
    s_expect_error (&hs__object_meta__descriptor, "namespace_: x\n", "metadata",
                    "metadata.namespace_", "unknown field \"namespace_\"", 1);
}

static const char *s_pod_yaml =
    "metadata:\n"
    "  name: web\n"
    "  namespace: prod\n"
    "  uid: 0b7c4a3e-1111-2222-3333-444455556666\n"
    "  labels:\n"
    "    zeta: last\n"
    "    app: web\n"
    "    app.kubernetes.io/name: web-server\n"
    "  annotations:\n"
    "    note: \"multi\\nline: with #hash\"\n"
    "  resourceVersion: 42\n"
    "  generation: 3\n"
    "  creationTimestamp: \"2026-11-21T12:00:00Z\"\n"
    "  deletionGracePeriodSeconds: 0\n"
    "  ownerReferences:\n"
    "  - apiVersion: apps/v1\n"
    "    kind: ReplicaSet\n"
    "    name: web-abc\n"
    "    uid: u-1\n"
    "    controller: true\n"
    "  finalizers: [a, b]\n"
    "spec:\n"
    "  containers:\n"
    "  - name: web\n"
    "    image: python:3\n"
    "    command: [python3, -m, http.server, \"8080\"]\n"
    "    args: ['', ' lead', 'trail ', 'yes', '0x1F', '-', '- x', 'a: b', 'x #y', '#c', '@x',\n"
    "           '2026-01-01', '1e3', '.inf', '~', 'null', 'true', '3', 'ünï', 'tab\there',\n"
    "           '*a', '&a', '!t', '%p', '{a}', '[b]', '---', 'a,b', '<<', \"q'uote\", 'd\"q']\n"
    "    env:\n"
    "    - name: A\n"
    "      value: \"1\"\n"
    "    - name: EMPTY\n"
    "    workingDir: /srv\n"
    "    resources:\n"
    "      requests: {cpu: 1, memory: 64Mi}\n"
    "      limits: {cpu: 500m, memory: 128Mi}\n"
    "    ports:\n"
    "    - name: http\n"
    "      containerPort: 8080\n"
    "      hostPort: 80\n"
    "      protocol: TCP\n"
    "      hostIP: 0.0.0.0\n"
    "    readinessProbe:\n"
    "      httpGet:\n"
    "        path: /healthz\n"
    "        port: 8080\n"
    "        httpHeaders:\n"
    "        - name: X-Probe\n"
    "          value: yes-really\n"
    "      initialDelaySeconds: 1\n"
    "      periodSeconds: 2\n"
    "      failureThreshold: 3\n"
    "    livenessProbe:\n"
    "      exec:\n"
    "        command: [sh, -c, 'test -f /tmp/ok']\n"
    "      terminationGracePeriodSeconds: 5\n"
    "    startupProbe:\n"
    "      tcpSocket: {port: http}\n"
    "  restartPolicy: Always\n"
    "  nodeSelector: {disk: ssd}\n"
    "  tolerations:\n"
    "  - key: dedicated\n"
    "    operator: Equal\n"
    "    value: web\n"
    "    effect: NoExecute\n"
    "    tolerationSeconds: 30\n"
    "  terminationGracePeriodSeconds: 30\n"
    "  nodeName: n1\n"
    "  activeDeadlineSeconds: 600\n"
    "  priority: -5\n"
    "status:\n"
    "  phase: Running\n"
    "  conditions:\n"
    "  - type: Ready\n"
    "    status: \"True\"\n"
    "    lastTransitionTime: 2026-11-21T12:00:05Z\n"
    "  hostIP: 10.0.0.2\n"
    "  podIP: 10.0.0.2\n"
    "  startTime: \"2026-11-21T12:00:01+00:00\"\n"
    "  containerStatuses:\n"
    "  - name: web\n"
    "    ready: true\n"
    "    started: false\n"
    "    restartCount: 2\n"
    "    containerID: hs://abc\n"
    "    state:\n"
    "      running: {startedAt: \"2026-11-21T12:00:02Z\"}\n"
    "    lastState:\n"
    "      terminated:\n"
    "        exitCode: 137\n"
    "        signal: 9\n"
    "        reason: OOMKilled\n"
    "        startedAt: 1795262400000000000\n"
    "        finishedAt: \"2026-11-21T12:00:00.5Z\"\n";

static void test_round_trip_pod (void)
{
    Hs__Pod *p = (Hs__Pod *)s_parse (&hs__pod__descriptor, s_pod_yaml);
    if (!p) return;
    CHECK_EQ_STR (p->metadata->name, "web");
    CHECK_EQ_STR (p->metadata->namespace_, "prod");
    CHECK_EQ_INT (p->metadata->n_labels, 3);
    /* map order is kept as written */
    CHECK_EQ_STR (p->metadata->labels[0]->key, "zeta");
    CHECK_EQ_STR (p->metadata->labels[2]->key, "app.kubernetes.io/name");
    CHECK_EQ_STR (hs_pb_map_get ((void *const *)p->metadata->labels, p->metadata->n_labels, "app"),
                  "web");
    CHECK_EQ_STR (p->metadata->annotations[0]->value, "multi\nline: with #hash");
    CHECK_EQ_INT (p->metadata->resource_version, 42);
    CHECK_EQ_INT (p->metadata->creation_timestamp, 1795262400LL * 1000000000LL);
    CHECK (p->metadata->deletion_grace_period_seconds != NULL);
    CHECK_EQ_INT (p->metadata->deletion_grace_period_seconds->value, 0);
    CHECK (p->metadata->owner_references[0]->controller);
    CHECK_EQ_INT (p->metadata->n_finalizers, 2);
    Hs__Container *c = p->spec->containers[0];
    CHECK_EQ_INT (c->n_command, 4);
    CHECK_EQ_STR (c->command[3], "8080");
    CHECK_EQ_STR (c->args[0], "");
    CHECK_EQ_STR (c->args[19], "tab\there");
    CHECK_EQ_STR (c->env[1]->name, "EMPTY");
    CHECK_EQ_STR (c->env[1]->value, "");
    CHECK_EQ_STR (c->resources->requests->cpu, "1");
    CHECK_EQ_INT (c->ports[0]->container_port, 8080);
    CHECK_EQ_STR (c->ports[0]->host_ip, "0.0.0.0");
    CHECK_EQ_STR (c->readiness_probe->http_get->port, "8080");
    CHECK_EQ_STR (c->readiness_probe->http_get->http_headers[0]->value, "yes-really");
    CHECK_EQ_INT (c->liveness_probe->termination_grace_period_seconds->value, 5);
    CHECK_EQ_STR (c->startup_probe->tcp_socket->port, "http");
    CHECK_EQ_INT (p->spec->tolerations[0]->toleration_seconds->value, 30);
    CHECK_EQ_INT (p->spec->priority, -5);
    CHECK_EQ_STR (p->status->conditions[0]->status, "True");
    CHECK_EQ_INT (p->status->conditions[0]->last_transition_time,
                  (1795262400LL + 5) * 1000000000LL);
    CHECK_EQ_INT (p->status->start_time, (1795262400LL + 1) * 1000000000LL);
    CHECK (p->status->container_statuses[0]->ready);
    CHECK_EQ_INT (p->status->container_statuses[0]->last_state->terminated->exit_code, 137);
    CHECK_EQ_INT (p->status->container_statuses[0]->last_state->terminated->started_at,
                  1795262400000000000LL);
    CHECK_EQ_INT (p->status->container_statuses[0]->last_state->terminated->finished_at,
                  1795262400500000000LL);
    hs_pb_free (p);

    /* finishedAt has sub-second precision, which the text form drops: round
     * trip the rest (and RAW keeps the nanoseconds, checked below). */
    char *yaml = hs_strdup (s_pod_yaml);
    char *frac = strstr (yaml, ".5Z");
    memmove (frac, frac + 2, strlen (frac + 2) + 1);
    s_round_trip (&hs__pod__descriptor, yaml);
    free (yaml);
}

static void test_round_trip_kinds (void)
{
    s_round_trip (&hs__deployment__descriptor,
                  "metadata: {name: api, labels: {app: api}}\n"
                  "spec:\n"
                  "  replicas: 3\n"
                  "  selector:\n"
                  "    matchLabels: {app: api}\n"
                  "    matchExpressions:\n"
                  "    - {key: tier, operator: In, values: [a, b]}\n"
                  "  template:\n"
                  "    metadata: {labels: {app: api}}\n"
                  "    spec:\n"
                  "      containers:\n"
                  "      - {name: api, command: [sleep, '3600']}\n"
                  "  strategy:\n"
                  "    type: RollingUpdate\n"
                  "    rollingUpdate: {maxSurge: 1, maxUnavailable: 25%}\n"
                  "  minReadySeconds: 5\n"
                  "  revisionHistoryLimit: 0\n"
                  "  paused: true\n"
                  "  progressDeadlineSeconds: 600\n"
                  "status:\n"
                  "  observedGeneration: 7\n"
                  "  replicas: 3\n"
                  "  conditions:\n"
                  "  - type: Available\n"
                  "    status: 'True'\n"
                  "    lastUpdateTime: 2026-01-02T03:04:05Z\n"
                  "    lastTransitionTime: 2026-01-02T03:04:05Z\n"
                  "    reason: MinimumReplicasAvailable\n"
                  "    message: Deployment has minimum availability.\n");
    s_round_trip (&hs__job__descriptor, "metadata: {name: hello}\n"
                                        "spec:\n"
                                        "  parallelism: 2\n"
                                        "  completions: 3\n"
                                        "  activeDeadlineSeconds: 100\n"
                                        "  backoffLimit: 0\n"
                                        "  ttlSecondsAfterFinished: 60\n"
                                        "  completionMode: NonIndexed\n"
                                        "  suspend: false\n"
                                        "  template:\n"
                                        "    spec:\n"
                                        "      restartPolicy: Never\n"
                                        "      containers:\n"
                                        "      - name: hello\n"
                                        "        command: [sh, -c, echo done]\n"
                                        "status:\n"
                                        "  startTime: 2026-01-02T03:04:05Z\n"
                                        "  completionTime: 2026-01-02T03:05:05Z\n"
                                        "  succeeded: 3\n"
                                        "  conditions: [{type: Complete, status: 'True'}]\n");
    s_round_trip (
        &hs__node__descriptor,
        "metadata: {name: n1, labels: {kubernetes.io/hostname: n1}}\n"
        "spec:\n"
        "  unschedulable: true\n"
        "  podCIDR: 10.1.0.0/24\n"
        "  taints:\n"
        "  - {key: gpu, value: 'true', effect: NoSchedule, timeAdded: 2026-01-02T03:04:05Z}\n"
        "status:\n"
        "  capacity: {cpu: '4', memory: 8Gi, pods: '110'}\n"
        "  allocatable: {cpu: 3800m, memory: 7Gi, pods: '110'}\n"
        "  conditions:\n"
        "  - type: Ready\n"
        "    status: 'True'\n"
        "    lastHeartbeatTime: 2026-01-02T03:04:05Z\n"
        "  addresses: [{type: InternalIP, address: 10.0.0.1}]\n"
        "  nodeInfo:\n"
        "    machineID: abc123\n"
        "    kernelVersion: 6.1.0\n"
        "    osImage: Debian GNU/Linux 12 (bookworm)\n"
        "    architecture: amd64\n");
    s_round_trip (&hs__event__descriptor,
                  "metadata: {name: web.1, namespace: default}\n"
                  "involvedObject: {kind: Pod, namespace: default, name: web, uid: u1, apiVersion: "
                  "v1, resourceVersion: 9, fieldPath: 'spec.containers{web}'}\n"
                  "reason: Scheduled\n"
                  "message: 'Successfully assigned default/web to n1'\n"
                  "source: {component: hs-scheduler, host: h1}\n"
                  "firstTimestamp: 2026-01-02T03:04:05Z\n"
                  "lastTimestamp: 2026-01-02T03:04:06Z\n"
                  "count: 2\n"
                  "type: Normal\n"
                  "reportingComponent: hs-scheduler\n"
                  "reportingInstance: s-1\n");
    /* bus messages too: enums, oneofs, uint64, repeated messages */
    s_round_trip (&hs__envelope__descriptor,
                  "sender: store/1\nsenderSeq: 18446744073709551615\nsentAtNs: 5\n"
                  "event:\n"
                  "  type: MODIFIED\n"
                  "  revision: 9\n"
                  "  seq: 3\n"
                  "  committedAtNs: 1\n"
                  "  object: {pod: {metadata: {name: web}}}\n");
    s_round_trip (&hs__envelope__descriptor, "sender: x\nack: {}\n");
    s_round_trip (&hs__envelope__descriptor,
                  "command:\n  clientID: c1\n  requestID: r1\n  writes:\n"
                  "  - op: OP_BIND\n    kind: pod\n    name: web\n    nodeName: n1\n"
                  "    gracePeriodSeconds: 0\n");
}

static void test_json_exact (void)
{
    Hs__ContainerPort *p = (Hs__ContainerPort *)s_parse (
        &hs__container_port__descriptor,
        "{\"name\": \"http\", \"containerPort\": 8080, \"hostIP\": \"a\\\"b\\\\c\\n\\u0001\"}");
    if (!p) return;
    char *s = hs_pb_to_text (&p->base, HS_FMT_JSON);
    CHECK_EQ_STR (s, "{\n"
                     "    \"name\": \"http\",\n"
                     "    \"containerPort\": 8080,\n"
                     "    \"hostIP\": \"a\\\"b\\\\c\\n\\u0001\"\n"
                     "}\n");
    free (s);
    s = hs_pb_to_text (&p->base, HS_FMT_JSON | HS_FMT_COMPACT);
    CHECK_EQ_STR (
        s, "{\"name\":\"http\",\"containerPort\":8080,\"hostIP\":\"a\\\"b\\\\c\\n\\u0001\"}");
    free (s);
    s = hs_pb_to_text (&p->base, HS_FMT_JSON | HS_FMT_DEFAULTS | HS_FMT_COMPACT);
    CHECK_EQ_STR (s, "{\"name\":\"http\",\"containerPort\":8080,\"hostPort\":0,\"protocol\":\"\","
                     "\"hostIP\":\"a\\\"b\\\\c\\n\\u0001\"}");
    free (s);

    /* non-UTF-8 bytes become U+FFFD; valid UTF-8 passes through */
    hs_pb_set_str (&p->name, "\xff\xc3\xa9\x7f\t");
    hs_pb_set_str (&p->host_ip, "");
    s = hs_pb_to_text (&p->base, HS_FMT_JSON | HS_FMT_COMPACT);
    CHECK_EQ_STR (s, "{\"name\":\"\\ufffd\xc3\xa9\\u007f\\t\",\"containerPort\":8080}");
    free (s);
    s = hs_pb_to_text (&p->base, HS_FMT_YAML);
    CHECK_EQ_STR (s, "name: \"\\ufffd\xc3\xa9\\x7f\\t\"\ncontainerPort: 8080\n");
    free (s);
    hs_pb_free (p);

    /* empty message, empty containers, int64 as numbers */
    Hs__StoreHeartbeat *hb = hs_pb_new (&hs__store_heartbeat__descriptor);
    s = hs_pb_to_text (&hb->base, HS_FMT_JSON);
    CHECK_EQ_STR (s, "{}\n");
    free (s);
    hb->epoch = UINT64_MAX;
    hb->revision = INT64_MIN;
    s = hs_pb_to_text (&hb->base, HS_FMT_JSON | HS_FMT_COMPACT);
    CHECK_EQ_STR (s, "{\"epoch\":18446744073709551615,\"revision\":-9223372036854775808}");
    free (s);
    s = hs_pb_to_text (&hb->base, HS_FMT_JSON | HS_FMT_DEFAULTS);
    CHECK_CONTAINS (s, "    \"streams\": [],\n");
    CHECK_CONTAINS (s, "    \"instance\": \"\",\n");
    CHECK_CONTAINS (s, "    \"forbidden\": 0,\n");
    CHECK_CONTAINS (s, "    \"histograms\": [],\n");
    CHECK_CONTAINS (s, "    \"snapshotsInstalled\": 0\n"); /* the last field: no comma */
    free (s);
    hs_pb_free (hb);
    s = hs_pb_to_text (NULL, HS_FMT_JSON | HS_FMT_COMPACT);
    CHECK_EQ_STR (s, "null");
    free (s);
}

static void test_yaml_exact (void)
{
    Hs__Pod *p = (Hs__Pod *)s_parse (&hs__pod__descriptor,
                                     "metadata: {name: web, labels: {app: web, \"8080\": ''}}\n"
                                     "spec:\n"
                                     "  containers:\n"
                                     "  - name: web\n"
                                     "    command: [sh, -c, 'echo \"hi\"; exit 0', '8080']\n"
                                     "    ports: [{containerPort: 80}, {containerPort: 81}]\n"
                                     "    resources: {}\n"
                                     "  nodeSelector: {}\n"
                                     "  tolerations: []\n");
    if (!p) return;
    char *s = hs_pb_to_text (&p->base, HS_FMT_YAML);
    CHECK_EQ_STR (s, "metadata:\n"
                     "  name: web\n"
                     "  labels:\n"
                     "    app: web\n"
                     "    \"8080\": \"\"\n"
                     "spec:\n"
                     "  containers:\n"
                     "  - name: web\n"
                     "    command:\n"
                     "    - sh\n"
                     "    - -c\n"
                     "    - echo \"hi\"; exit 0\n"
                     "    - \"8080\"\n"
                     "    resources: {}\n"
                     "    ports:\n"
                     "    - containerPort: 80\n"
                     "    - containerPort: 81\n");
    free (s);
    hs_pb_free (p);

    /* trees: nested lists, empty collections, nulls, plain scalars kept */
    const char *y = "a: [[1, 2], [], {}]\nb: ~\nc: yes\nd: 'x: y'\n";
    hs_tree_t **docs;
    size_t n;
    char *err = NULL;
    CHECK_EQ_INT (hs_yaml_parse (y, strlen (y), &docs, &n, &err), 0);
    s = hs_tree_to_text (docs[0], HS_FMT_YAML);
    CHECK_EQ_STR (s, "a:\n- - 1\n  - 2\n- []\n- {}\nb: null\nc: yes\nd: \"x: y\"\n");
    free (s);
    s = hs_tree_to_text (docs[0], HS_FMT_JSON | HS_FMT_COMPACT);
    CHECK_EQ_STR (s, "{\"a\":[[1,2],[],{}],\"b\":null,\"c\":\"yes\",\"d\":\"x: y\"}");
    free (s);
    hs_trees_free (docs, n);
}

/* Every tricky string survives a trip through our YAML and JSON. */
static void test_string_quoting (void)
{
    static const char *const strs[] = {"",
                                       " ",
                                       "a",
                                       "8080",
                                       "-1",
                                       "1.5",
                                       "1e3",
                                       "0x1F",
                                       "0o17",
                                       "1_000",
                                       "1:30",
                                       ".5",
                                       ".inf",
                                       "-.inf",
                                       ".NaN",
                                       "true",
                                       "False",
                                       "yes",
                                       "NO",
                                       "on",
                                       "Off",
                                       "y",
                                       "n",
                                       "~",
                                       "null",
                                       "NULL",
                                       "2026-01-01",
                                       "2026-01-01T00:00:00Z",
                                       "-",
                                       "- x",
                                       "-c",
                                       "--flag=1",
                                       "?",
                                       "? x",
                                       ":",
                                       ":x",
                                       "a:",
                                       "a: b",
                                       "a:b",
                                       "x #y",
                                       "x#y",
                                       "#c",
                                       "@x",
                                       "`x`",
                                       "'q'",
                                       "\"dq\"",
                                       "q'uote",
                                       "{a}",
                                       "[b]",
                                       "a,b",
                                       "*a",
                                       "&a",
                                       "!t",
                                       "%p",
                                       "|",
                                       ">",
                                       "---",
                                       "...",
                                       "--- x",
                                       "<<",
                                       "=",
                                       " lead",
                                       "trail ",
                                       "multi\nline",
                                       "tab\there",
                                       "cr\rx",
                                       "nul\x01x",
                                       "del\x7fx",
                                       "ünïcödé",
                                       "\xe2\x80\xa8sep",
                                       "\xef\xbb\xbf\x62om", /* BOM + "bom" */
                                       "\xc2\x85nel",
                                       "back\\slash",
                                       "http://x:80/p",
                                       "500m",
                                       "64Mi",
                                       "25%",
                                       "10.0.0.1",
                                       "1.2.3",
                                       "0b101",
                                       "0o17",
                                       "0xdead_beef",
                                       "1.",
                                       "+1",
                                       "1e+5",
                                       "0b7c4a3e-1111",
                                       "e5",
                                       "1-2"};
    Hs__Container *c = hs_pb_new (&hs__container__descriptor);
    for (size_t i = 0; i < HS_ARRAY_LEN (strs); i++)
        hs_pb_push ((void ***)&c->args, &c->n_args, hs_strdup (strs[i]));
    hs_pb_set_str (&c->name, "x");
    int fmts[] = {HS_FMT_YAML, HS_FMT_JSON, HS_FMT_JSON | HS_FMT_COMPACT};
    for (size_t f = 0; f < HS_ARRAY_LEN (fmts); f++) {
        char *text = hs_pb_to_text (&c->base, fmts[f]);
        Hs__Container *b = (Hs__Container *)s_parse (&hs__container__descriptor, text);
        CHECK (b != NULL);
        if (!b) {
            fprintf (stderr, "%s\n", text);
            free (text);
            continue;
        }
        CHECK_EQ_INT (b->n_args, c->n_args);
        for (size_t i = 0; i < b->n_args && i < c->n_args; i++) CHECK_EQ_STR (b->args[i], strs[i]);
        free (text);
        hs_pb_free (b);
    }
    /* and plain where kubectl writes plain */
    char *y = hs_pb_to_text (&c->base, HS_FMT_YAML);
    CHECK_CONTAINS (y, "\n- -c\n");
    CHECK_CONTAINS (y, "\n- 500m\n");
    CHECK_CONTAINS (y, "\n- http://x:80/p\n");
    CHECK_CONTAINS (y, "\n- 10.0.0.1\n");
    CHECK_CONTAINS (y, "\n- 0b7c4a3e-1111\n");
    CHECK_CONTAINS (y, "\n- \"0xdead_beef\"\n");
    CHECK_CONTAINS (y, "\n- \"8080\"\n");
    CHECK_CONTAINS (y, "\n- \"\"\n");
    CHECK_CONTAINS (y, "\n- \"multi\\nline\"\n");
    free (y);
    hs_pb_free (c);
}

static void test_timestamps (void)
{
    Hs__ObjectMeta *m = (Hs__ObjectMeta *)s_parse (
        &hs__object_meta__descriptor,
        "creationTimestamp: 2026-11-21T14:00:00+02:00\ndeletionTimestamp: 1795262400000000001\n");
    if (!m) return;
    CHECK_EQ_INT (m->creation_timestamp, 1795262400LL * 1000000000LL);
    CHECK_EQ_INT (m->deletion_timestamp, 1795262400000000001LL);
    char *s = hs_pb_to_text (&m->base, HS_FMT_JSON | HS_FMT_COMPACT);
    CHECK_EQ_STR (s, "{\"creationTimestamp\":\"2026-11-21T12:00:00Z\","
                     "\"deletionTimestamp\":\"2026-11-21T12:00:00Z\"}");
    free (s);
    s = hs_pb_to_text (&m->base, HS_FMT_JSON | HS_FMT_COMPACT | HS_FMT_RAW);
    CHECK_EQ_STR (s, "{\"creationTimestamp\":1795262400000000000,"
                     "\"deletionTimestamp\":1795262400000000001}");
    free (s);
    s = hs_pb_to_text (&m->base, HS_FMT_YAML);
    CHECK_EQ_STR (s, "creationTimestamp: \"2026-11-21T12:00:00Z\"\n"
                     "deletionTimestamp: \"2026-11-21T12:00:00Z\"\n");
    free (s);
    /* zero timestamps: omitted, or null with defaults (kubectl's creationTimestamp: null) */
    m->deletion_timestamp = 0;
    s = hs_pb_to_text (&m->base, HS_FMT_JSON | HS_FMT_COMPACT | HS_FMT_DEFAULTS);
    CHECK_CONTAINS (s, "\"deletionTimestamp\":null");
    CHECK_CONTAINS (s, "\"generation\":0");
    CHECK_CONTAINS (s, "\"labels\":{}");
    CHECK_CONTAINS (s, "\"deletionGracePeriodSeconds\":null");
    free (s);
    hs_pb_free (m);

    /* Taint's timeAdded is a timestamp too, though it names it the other way round */
    Hs__Taint *taint =
        (Hs__Taint *)s_parse (&hs__taint__descriptor, "key: k\ntimeAdded: 2026-11-21T12:00:00Z\n");
    if (taint) {
        CHECK_EQ_INT (taint->time_added, 1795262400LL * 1000000000LL);
        char *t = hs_pb_to_text (&taint->base, HS_FMT_YAML);
        CHECK_EQ_STR (t, "key: k\ntimeAdded: \"2026-11-21T12:00:00Z\"\n");
        free (t);
        hs_pb_free (taint);
    }

    /* non-timestamp int64 fields stay numbers: sentAtNs, resourceVersion */
    Hs__Envelope *e = (Hs__Envelope *)s_parse (&hs__envelope__descriptor, "sentAtNs: 12\n");
    if (e) {
        char *t = hs_pb_to_text (&e->base, HS_FMT_YAML);
        CHECK_EQ_STR (t, "sentAtNs: 12\n");
        free (t);
        hs_pb_free (e);
    }
    s_expect_error (&hs__object_meta__descriptor, "creationTimestamp: yesterday\n", "metadata",
                    "metadata.creationTimestamp",
                    "expected an RFC 3339 time or nanoseconds, got string \"yesterday\"", 1);
    s_expect_error (&hs__object_meta__descriptor, "creationTimestamp: [1]\n", "",
                    "creationTimestamp", "expected an integer, got a list", 1);
    s_expect_error (&hs__envelope__descriptor, "sentAtNs: 2026-01-01T00:00:00Z\n", "", "sentAtNs",
                    "expected an integer, got string \"2026-01-01T00:00:00Z\"", 1);
}

static void test_wrappers (void)
{
    Hs__DeploymentSpec *a = (Hs__DeploymentSpec *)s_parse (&hs__deployment_spec__descriptor,
                                                           "replicas: 0\nminReadySeconds: 0\n");
    Hs__DeploymentSpec *b = (Hs__DeploymentSpec *)s_parse (&hs__deployment_spec__descriptor, "{}");
    if (!a || !b) return;
    CHECK (a->replicas != NULL);
    CHECK_EQ_INT (a->replicas->value, 0);
    CHECK (b->replicas == NULL);
    CHECK (!hs_pb_equal (a, b)); /* explicit 0 differs from unset */
    char *s = hs_pb_to_text (&a->base, HS_FMT_YAML);
    CHECK_EQ_STR (s, "replicas: 0\n");
    free (s);
    s = hs_pb_to_text (&b->base, HS_FMT_YAML);
    CHECK_EQ_STR (s, "{}\n");
    free (s);
    a->replicas->value = -7;
    s = hs_pb_to_text (&a->base, HS_FMT_JSON | HS_FMT_COMPACT);
    CHECK_EQ_STR (s, "{\"replicas\":-7}");
    free (s);
    hs_pb_free (a);
    hs_pb_free (b);
    s_expect_error (&hs__deployment_spec__descriptor, "replicas: '3'\n", "spec", "spec.replicas",
                    "expected an integer, got string \"3\"", 1);
    s_expect_error (&hs__deployment_spec__descriptor, "replicas: {value: 3}\n", "spec",
                    "spec.replicas", "expected an integer, got a mapping", 1);
    s_expect_error (&hs__pod_spec__descriptor, "activeDeadlineSeconds: 9223372036854775808\n", "",
                    "activeDeadlineSeconds", "9223372036854775808 is out of range for int64", 1);
}

static void test_maps (void)
{
    Hs__ObjectMeta *m = (Hs__ObjectMeta *)s_parse (
        &hs__object_meta__descriptor,
        "labels:\n  b: '2'\n  a: 1\n  empty:\n  x/y.z: true\nannotations: {}\n");
    if (!m) return;
    CHECK_EQ_INT (m->n_labels, 4);
    CHECK_EQ_STR (m->labels[0]->key, "b");
    CHECK_EQ_STR (m->labels[1]->value, "1");
    CHECK_EQ_STR (m->labels[2]->value, "");
    CHECK_EQ_STR (m->labels[3]->key, "x/y.z");
    CHECK_EQ_STR (m->labels[3]->value, "true");
    CHECK_EQ_INT (m->n_annotations, 0);
    char *s = hs_pb_to_text (&m->base, HS_FMT_YAML);
    CHECK_EQ_STR (s, "labels:\n  b: \"2\"\n  a: \"1\"\n  empty: \"\"\n  x/y.z: \"true\"\n");
    free (s);
    hs_pb_free (m);
    s_expect_error (&hs__object_meta__descriptor, "labels: [a, b]\n", "metadata", "metadata.labels",
                    "expected a mapping, got a list", 1);
    s_expect_error (&hs__object_meta__descriptor, "labels:\n  ok: x\n  app: [x]\n", "metadata",
                    "metadata.labels[app]", "expected a string, got a list", 3);
}

static void test_enums_oneofs (void)
{
    Hs__WatchEvent *w = (Hs__WatchEvent *)s_parse (&hs__watch_event__descriptor, "type: 2\n");
    if (w) {
        CHECK_EQ_INT (w->type, HS__EVENT_TYPE__MODIFIED);
        char *s = hs_pb_to_text (&w->base, HS_FMT_JSON | HS_FMT_COMPACT);
        CHECK_EQ_STR (s, "{\"type\":\"MODIFIED\"}");
        free (s);
        hs_pb_free (w);
    }
    w = (Hs__WatchEvent *)s_parse (&hs__watch_event__descriptor, "type: \"DELETED\"\n");
    if (w) CHECK_EQ_INT (w->type, HS__EVENT_TYPE__DELETED);
    hs_pb_free (w);
    s_expect_error (
        &hs__watch_event__descriptor, "type: REMOVED\n", "", "type",
        "unknown value \"REMOVED\", expected one of EVENT_NONE, ADDED, MODIFIED, DELETED", 1);
    s_expect_error (&hs__watch_event__descriptor, "type: 9\n", "", "type",
                    "unknown value \"9\", expected one of EVENT_NONE, ADDED, MODIFIED, DELETED", 1);

    Hs__Envelope *e = (Hs__Envelope *)s_parse (&hs__envelope__descriptor, "ping: {nonce: n1}\n");
    if (e) {
        CHECK_EQ_INT (e->body_case, HS__ENVELOPE__BODY_PING);
        CHECK_EQ_STR (e->ping->nonce, "n1");
        hs_pb_free (e);
    }
    e = (Hs__Envelope *)s_parse (&hs__envelope__descriptor, "ping:\nsender: a\n");
    if (e) {
        CHECK_EQ_INT (e->body_case, HS__ENVELOPE__BODY__NOT_SET); /* null = absent */
        hs_pb_free (e);
    }
    s_expect_error (&hs__envelope__descriptor, "ping: {nonce: a}\nack: {code: CODE_OK}\n", "",
                    "ack", "\"ping\" and \"ack\" cannot both be set", 2);
    s_expect_error (&hs__envelope__descriptor, "ping: {nonce: [a]}\n", "", "ping.nonce",
                    "expected a string, got a list", 1);
    s_expect_error (&hs__envelope__descriptor, "ack: {code: CODE_OK, requestID: [x]}\n", "",
                    "ack.requestID", "expected a string, got a list", 1);
}

static void test_omitempty (void)
{
    Hs__ContainerStatus *st = hs_pb_new (&hs__container_status__descriptor);
    char *s = hs_pb_to_text (&st->base, HS_FMT_YAML);
    CHECK_EQ_STR (s, "{}\n");
    free (s);
    s = hs_pb_to_text (&st->base, HS_FMT_YAML | HS_FMT_DEFAULTS);
    CHECK_EQ_STR (s, "name: \"\"\nstate: null\nlastState: null\nready: false\nrestartCount: 0\n"
                     "image: \"\"\ncontainerID: \"\"\nstarted: false\n");
    free (s);
    st->state = hs_pb_new (&hs__container_state__descriptor); /* present but empty */
    s = hs_pb_to_text (&st->base, HS_FMT_YAML);
    CHECK_EQ_STR (s, "state: {}\n");
    free (s);
    hs_pb_free (st);
}

static void test_errors (void)
{
    /* unknown field deep in a list, with the full path and the line */
    s_expect_error (&hs__pod__descriptor,
                    "metadata: {name: web}\n"
                    "spec:\n"
                    "  containers:\n"
                    "  - name: a\n"
                    "    command: [x]\n"
                    "  - name: b\n"
                    "    imag: nginx\n",
                    "", "spec.containers[1].imag", "unknown field \"imag\"", 7);
    /* a path prefix starts the path */
    s_expect_error (&hs__pod_spec__descriptor, "containers:\n- imag: x\n", "spec",
                    "spec.containers[0].imag", "unknown field \"imag\"", 2);
    /* quoted numbers are strings, as in Kubernetes */
    s_expect_error (&hs__pod__descriptor,
                    "spec:\n  containers:\n  - name: a\n    ports:\n    - containerPort: \"80\"\n",
                    "", "spec.containers[0].ports[0].containerPort",
                    "expected an integer, got string \"80\"", 5);
    s_expect_error (&hs__container_port__descriptor, "containerPort: 3000000000\n", "",
                    "containerPort", "3000000000 is out of range for int32", 1);
    s_expect_error (&hs__container_port__descriptor, "containerPort: -2147483649\n", "",
                    "containerPort", "-2147483649 is out of range for int32", 1);
    s_expect_error (&hs__container_port__descriptor, "containerPort: 1.5\n", "", "containerPort",
                    "expected an integer, got number 1.5", 1);
    s_expect_error (&hs__container_port__descriptor, "containerPort: http\n", "", "containerPort",
                    "expected an integer, got string \"http\"", 1);
    s_expect_error (&hs__container_port__descriptor, "containerPort: true\n", "", "containerPort",
                    "expected an integer, got boolean true", 1);
    s_expect_error (&hs__component_heartbeat__descriptor, "intervalMs: 4294967296\n", "",
                    "intervalMs", "4294967296 is out of range for uint32", 1);
    s_expect_error (&hs__component_heartbeat__descriptor, "owned: -1\n", "", "owned",
                    "-1 is out of range for uint64", 1);
    s_expect_error (&hs__container_status__descriptor, "ready: \"true\"\n", "", "ready",
                    "expected a boolean, got string \"true\"", 1);
    s_expect_error (&hs__container_status__descriptor, "ready: yes\n", "", "ready",
                    "expected a boolean, got string \"yes\"", 1);
    /* wrong shapes */
    s_expect_error (&hs__pod__descriptor, "metadata: [a]\n", "", "metadata",
                    "expected a mapping, got a list", 1);
    s_expect_error (&hs__pod__descriptor, "spec:\n  containers: {name: a}\n", "", "spec.containers",
                    "expected a list, got a mapping", 2);
    s_expect_error (&hs__pod__descriptor, "spec:\n  containers: web\n", "", "spec.containers",
                    "expected a list, got string \"web\"", 2);
    s_expect_error (&hs__container__descriptor, "image: {a: b}\n", "", "image",
                    "expected a string, got a mapping", 1);
    s_expect_error (&hs__container__descriptor, "command: [a, [b]]\n", "", "command[1]",
                    "expected a string, got a list", 1);
    s_expect_error (&hs__pod__descriptor, "- a\n", "", "", "expected a mapping, got a list", 1);

    /* strings take any scalar; null means absent; null list items are zero */
    Hs__Container *c =
        (Hs__Container *)s_parse (&hs__container__descriptor,
                                  "name: 1\nimage: ~\nworkingDir: true\ncommand: [1.50, ~, null]\n"
                                  "ports: [~]\nresources:\n");
    if (c) {
        CHECK_EQ_STR (c->name, "1");
        CHECK_EQ_STR (c->image, "");
        CHECK_EQ_STR (c->working_dir, "true");
        CHECK_EQ_INT (c->n_command, 3);
        CHECK_EQ_STR (c->command[0], "1.50");
        CHECK_EQ_STR (c->command[1], "");
        CHECK_EQ_INT (c->n_ports, 1);
        CHECK_EQ_INT (c->ports[0]->container_port, 0);
        CHECK (c->resources == NULL);
        hs_pb_free (c);
    }
    /* the error leaves nothing allocated behind (ASan checks the leaks) */
    s_expect_error (&hs__container__descriptor, "command: [a, b, {c: d}]\nenv: [{name: x}]\n", "",
                    "command[2]", "expected a string, got a mapping", 1);
    s_expect_error (&hs__container__descriptor, "env: [{name: x}, {name: y, value: [1]}]\n", "",
                    "env[1].value", "expected a string, got a list", 1);
}

static void test_yaml_parse (void)
{
    hs_tree_t **docs = NULL;
    size_t n = 0;
    char *err = NULL;
    const char *y = "a: 1\n---\n---\n# only a comment\n---\n- x\n...\n---\n\"s\"\n";
    CHECK_EQ_INT (hs_yaml_parse (y, strlen (y), &docs, &n, &err), 0);
    CHECK_EQ_INT (n, 5);
    if (n == 5) {
        CHECK_EQ_INT (docs[0]->type, HS_TREE_MAP);
        CHECK_EQ_INT (docs[1]->type, HS_TREE_NULL);
        CHECK_EQ_INT (docs[2]->type, HS_TREE_NULL);
        CHECK_EQ_INT (docs[3]->type, HS_TREE_SEQ);
        CHECK_EQ_INT (docs[4]->type, HS_TREE_SCALAR);
        CHECK (docs[4]->quoted);
        CHECK_EQ_INT (docs[3]->line, 6);
        const hs_tree_t *a = hs_tree_get (docs[0], "a");
        CHECK (a && a->type == HS_TREE_SCALAR && !a->quoted && !strcmp (a->scalar, "1"));
    }
    hs_trees_free (docs, n);

    CHECK_EQ_INT (hs_yaml_parse ("", 0, &docs, &n, &err), 0);
    CHECK_EQ_INT (n, 0);
    hs_trees_free (docs, n);
    CHECK_EQ_INT (hs_yaml_parse ("# nothing\n", 10, &docs, &n, &err), 0);
    CHECK_EQ_INT (n, 0);
    hs_trees_free (docs, n);

    /* JSON, also tab-indented, also without spaces */
    y = "{\n\t\"a\": [1, \"2\", true, null],\n\t\"b\":{\"c\":\"d\"}\n}\n";
    CHECK_EQ_INT (hs_yaml_parse (y, strlen (y), &docs, &n, &err), 0);
    if (n == 1) {
        char *s = hs_tree_to_text (docs[0], HS_FMT_JSON | HS_FMT_COMPACT);
        CHECK_EQ_STR (s, "{\"a\":[1,\"2\",true,null],\"b\":{\"c\":\"d\"}}");
        free (s);
    }
    hs_trees_free (docs, n);

    /* aliases are expanded */
    y = "base: &b {cpu: 1}\nlimits: *b\nlist: [&x a, *x]\n";
    CHECK_EQ_INT (hs_yaml_parse (y, strlen (y), &docs, &n, &err), 0);
    if (n == 1) {
        char *s = hs_tree_to_text (docs[0], HS_FMT_JSON | HS_FMT_COMPACT);
        CHECK_EQ_STR (s, "{\"base\":{\"cpu\":1},\"limits\":{\"cpu\":1},\"list\":[\"a\",\"a\"]}");
        free (s);
    }
    hs_trees_free (docs, n);

    /* tree helpers */
    hs_tree_t *t = hs_tree_new (HS_TREE_MAP);
    hs_tree_add (t, "a", hs_tree_scalar ("1", false));
    hs_tree_add (t, "b", NULL);
    hs_tree_add (t, "c", hs_tree_scalar ("x", true));
    CHECK (hs_tree_get (t, "b") && hs_tree_get (t, "b")->type == HS_TREE_NULL);
    CHECK (hs_tree_remove (t, "b"));
    CHECK (!hs_tree_remove (t, "b"));
    CHECK (hs_tree_get (t, "zz") == NULL);
    char *s = hs_tree_to_text (t, HS_FMT_JSON | HS_FMT_COMPACT);
    CHECK_EQ_STR (s, "{\"a\":1,\"c\":\"x\"}");
    free (s);
    hs_tree_freep (&t);
    CHECK (t == NULL);
}

static void test_yaml_errors (void)
{
    s_expect_yaml_error ("a: b: c\n", 8, "line 1, column 5: mapping values are not allowed");
    s_expect_yaml_error ("a: 1\nb: [1, 2\n", 12, "line 3, column 1:");
    s_expect_yaml_error ("a: \"unterminated\n", 17, "while scanning a quoted scalar");
    s_expect_yaml_error ("a: 1\nb: 2\na: 3\n", 15, "line 3, column 1: duplicate key \"a\"");
    s_expect_yaml_error ("a: *nope\n", 9, "unknown anchor \"nope\"");
    s_expect_yaml_error ("? [a]\n: b\n", 10, "mapping keys must be scalars");
    s_expect_yaml_error ("a: \xff\xfe\n", 6, "line 1, column 4: invalid");
    s_expect_yaml_error ("a: \x01\n", 5, "control characters are not allowed");

    /* which document the error is in, as the user counts them */
    char *err = NULL;
    hs_tree_t **docs = NULL;
    size_t n = 0;
    int doc = -1;
    const char *y = "a: 1\n---\n---\nb: [\n";
    CHECK_EQ_INT (hs_yaml_parse_ex (y, strlen (y), &docs, &n, &doc, &err), -EINVAL);
    CHECK_EQ_INT (doc, 3);
    free (err);
    err = NULL;
    y = "\"a";
    CHECK_EQ_INT (hs_yaml_parse_ex (y, strlen (y), &docs, &n, &doc, &err), -EINVAL);
    CHECK_EQ_INT (doc, 1);
    free (err);
}

/* A deterministic generator, so failures reproduce. */
static uint32_t s_rand_state = 12345;
static uint32_t s_rand (void)
{
    s_rand_state = s_rand_state * 1103515245u + 12345u;
    return s_rand_state >> 8;
}

static void test_hostile_input (void)
{
    hs_tree_t **docs = NULL;
    size_t n = 0;
    char *err = NULL;

    /* deep nesting: 200 levels are fine, 201 are not, 100000 do not crash */
    hs_buf_t b = {0};
    for (int i = 0; i < 200; i++) hs_buf_puts (&b, "[");
    for (int i = 0; i < 200; i++) hs_buf_puts (&b, "]");
    CHECK_EQ_INT (hs_yaml_parse (b.data, b.len, &docs, &n, &err), 0);
    hs_trees_free (docs, n);
    hs_buf_free (&b);
    for (int i = 0; i < 201; i++) hs_buf_puts (&b, "[");
    for (int i = 0; i < 201; i++) hs_buf_puts (&b, "]");
    s_expect_yaml_error (b.data, b.len, "nesting deeper than 200 levels");
    hs_buf_free (&b);
    for (int i = 0; i < 100000; i++) hs_buf_puts (&b, "{a: [");
    s_expect_yaml_error (b.data, b.len, "nesting deeper than 200 levels");
    hs_buf_free (&b);
    for (int i = 0; i < 300; i++) {
        for (int k = 0; k < i; k++) hs_buf_puts (&b, "  ");
        hs_buf_puts (&b, "a:\n");
    }
    s_expect_yaml_error (b.data, b.len, "nesting deeper than 200 levels");
    hs_buf_free (&b);

    /* billion laughs: capped, not expanded */
    const char *lol = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                      "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                      "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                      "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                      "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
                      "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
                      "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n";
    s_expect_yaml_error (lol, strlen (lol), "aliases expand to more than 100000 nodes");
    /* ... also spread over many documents */
    for (int i = 0; i < 200; i++)
        hs_buf_puts (&b, "---\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
                         "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                         "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n");
    s_expect_yaml_error (b.data, b.len, "aliases expand to more than 100000 nodes");
    hs_buf_free (&b);
    /* ... and deep via aliases */
    for (int i = 0; i < 120; i++) hs_buf_puts (&b, "[");
    hs_buf_puts (&b, "&a x");
    for (int i = 0; i < 120; i++) hs_buf_puts (&b, "]");
    hs_buf_puts (&b, "\n");
    CHECK_EQ_INT (hs_yaml_parse (b.data, b.len, &docs, &n, &err), 0);
    hs_trees_free (docs, n);
    hs_buf_free (&b);
    hs_buf_puts (&b, "a: &x ");
    for (int i = 0; i < 120; i++) hs_buf_puts (&b, "[");
    for (int i = 0; i < 120; i++) hs_buf_puts (&b, "]");
    hs_buf_puts (&b, "\nb: ");
    for (int i = 0; i < 100; i++) hs_buf_puts (&b, "[");
    hs_buf_puts (&b, "*x");
    for (int i = 0; i < 100; i++) hs_buf_puts (&b, "]");
    hs_buf_puts (&b, "\n");
    s_expect_yaml_error (b.data, b.len, "alias expands deeper than 200 levels");
    hs_buf_free (&b);

    /* too many nodes in one document */
    hs_buf_puts (&b, "[");
    for (int i = 0; i < 1000001; i++) hs_buf_puts (&b, "0,");
    hs_buf_puts (&b, "0]");
    s_expect_yaml_error (b.data, b.len, "document has more than 1000000 nodes");
    hs_buf_free (&b);

    /* ... or in all documents together */
    for (int d = 0; d < 3; d++) {
        hs_buf_puts (&b, "---\n[");
        for (int i = 0; i < 900000; i++) hs_buf_puts (&b, "0,");
        hs_buf_puts (&b, "0]\n");
    }
    s_expect_yaml_error (b.data, b.len, "input has more than 2000000 nodes");
    hs_buf_free (&b);

    /* too many documents: not blamed on one document */
    for (int i = 0; i < 10001; i++) hs_buf_puts (&b, "--- 1\n");
    int doc = -1;
    CHECK_EQ_INT (hs_yaml_parse_ex (b.data, b.len, &docs, &n, &doc, &err), -EINVAL);
    CHECK_EQ_INT (doc, 0);
    CHECK_CONTAINS (err, "more than 10000 documents");
    free (err);
    hs_buf_free (&b);

    /* random binary and random YAML-ish garbage: an error or a tree, never a crash */
    char buf[512];
    for (int iter = 0; iter < 3000; iter++) {
        size_t len = s_rand () % sizeof buf;
        static const char alphabet[] = "ab:- \n\t[]{},&*!|>'\"#%@`?~0123\\\x00\xff\xc3";
        for (size_t i = 0; i < len; i++)
            buf[i] = iter % 3 == 0 ? (char)s_rand () : alphabet[s_rand () % (sizeof alphabet - 1)];
        err = NULL;
        docs = NULL;
        n = 0;
        if (hs_yaml_parse (buf, len, &docs, &n, &err) == 0) {
            for (size_t d = 0; d < n; d++) {
                ProtobufCMessage *m = NULL;
                hs_pb_error_t e;
                if (hs_pb_from_tree (&hs__pod__descriptor, docs[d], "", &m, &e) == 0)
                    hs_pb_free (m);
                char *s = hs_tree_to_text (docs[d], d % 2 ? HS_FMT_YAML : HS_FMT_JSON);
                /* our YAML of any tree parses again */
                hs_tree_t **again = NULL;
                size_t na = 0;
                char *e2 = NULL;
                if (d % 2) {
                    CHECK_EQ_INT (hs_yaml_parse (s, strlen (s), &again, &na, &e2), 0);
                    if (e2) fprintf (stderr, "  reparse: %s\n%s\n", e2, s);
                    free (e2);
                    hs_trees_free (again, na);
                }
                free (s);
            }
            hs_trees_free (docs, n);
        } else {
            CHECK (err != NULL);
            free (err);
        }
    }
}

/* Mapping keys: a tree built in code may hold a key longer than YAML's
 * 1024-character limit on "key:"; block YAML writes it explicit ("? key"
 * then ":"). Parsing refuses a key longer than 1,000 characters as JSON,
 * because JSON has no explicit keys: text we print from a parsed tree must
 * parse again (fuzz_manifest: a 1,500-character label key rendered to YAML
 * that did not load; fuzz_pbjson: a 1,600-character key of backslashes
 * rendered to JSON that did not load). */
static void test_long_keys (void)
{
    char key[1600];
    memset (key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    key[5] = '"';
    hs_tree_t *t = hs_tree_new (HS_TREE_MAP);
    hs_tree_add (t, key, hs_tree_scalar ("v", true));
    char *text = hs_tree_to_text (t, HS_FMT_YAML);
    CHECK (strncmp (text, "? ", 2) == 0);
    hs_tree_t **docs = NULL;
    size_t n = 0;
    char *err = NULL;
    CHECK_EQ_INT (hs_yaml_parse (text, strlen (text), &docs, &n, &err), -EINVAL);
    CHECK (err && strstr (err, "mapping key is too long"));
    free (err);
    err = NULL;
    free (text);
    hs_tree_free (t);

    /* At the limit, in both formats, escapes counted: 499 backslashes are
     * 998 characters as JSON, 1,000 with the quotes. */
    memset (key, '\\', 499);
    key[499] = '\0';
    for (int fmt = 0; fmt < 2; fmt++) {
        t = hs_tree_new (HS_TREE_MAP);
        hs_tree_add (t, key, hs_tree_scalar ("v", true));
        text = hs_tree_to_text (t, fmt ? HS_FMT_YAML : HS_FMT_JSON);
        CHECK_EQ_INT (hs_yaml_parse (text, strlen (text), &docs, &n, &err), 0);
        if (err) fprintf (stderr, "  %s\n", err);
        free (err);
        err = NULL;
        CHECK (n == 1 && hs_tree_get (docs[0], key) != NULL);
        hs_trees_free (docs, n);
        free (text);
        hs_tree_free (t);
    }
    key[499] = '\\';
    key[500] = '\0';
    t = hs_tree_new (HS_TREE_MAP);
    hs_tree_add (t, key, hs_tree_scalar ("v", true));
    text = hs_tree_to_text (t, HS_FMT_JSON);
    CHECK_EQ_INT (hs_yaml_parse (text, strlen (text), &docs, &n, &err), -EINVAL);
    free (err);
    free (text);
    hs_tree_free (t);
}

/* YAML 1.1 octal, as Kubernetes reads manifests: `defaultMode: 0400` is 256. */
static void test_yaml_octal (void)
{
    Hs__ConfigMapVolumeSource *v = (Hs__ConfigMapVolumeSource *)s_parse (
        &hs__config_map_volume_source__descriptor,
        "name: cfg\ndefaultMode: 0400\nitems: [{key: a, path: a, mode: 0755}, {key: b, path: b, "
        "mode: 09}, {key: c, path: c, mode: 0}, {key: d, path: d, mode: 420}]\n");
    CHECK (v != NULL);
    if (!v) return;
    CHECK (v->default_mode && v->default_mode->value == 0400);
    CHECK_EQ_INT (v->n_items, 4);
    if (v->n_items == 4) {
        CHECK_EQ_INT (v->items[0]->mode->value, 0755); /* 493 */
        CHECK_EQ_INT (v->items[1]->mode->value, 9);    /* not octal: decimal, as go-yaml */
        CHECK_EQ_INT (v->items[2]->mode->value, 0);
        CHECK_EQ_INT (v->items[3]->mode->value, 420); /* decimal stays decimal */
    }
    /* rendered back as the number it is (kubectl shows 256 too) */
    char *y = hs_pb_to_text (&v->base, HS_FMT_YAML);
    CHECK (y && strstr (y, "defaultMode: 256\n"));
    free (y);
    hs_pb_free (v);
    Hs__ComponentHeartbeat *hb = (Hs__ComponentHeartbeat *)s_parse (
        &hs__component_heartbeat__descriptor, "intervalMs: 017\nowned: -0\n");
    CHECK (hb && hb->interval_ms == 15);
    hs_pb_free (hb);
    /* quoted is a string, as before; range is checked on the octal value */
    s_expect_error (&hs__container_port__descriptor, "containerPort: \"0400\"\n", "",
                    "containerPort", "expected an integer, got string \"0400\"", 1);
    s_expect_error (&hs__container_port__descriptor, "containerPort: 040000000000\n", "",
                    "containerPort", "040000000000 is out of range for int32", 1);
    s_expect_error (&hs__component_heartbeat__descriptor, "intervalMs: 040000000000\n", "",
                    "intervalMs", "040000000000 is out of range for uint32", 1);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"json_names", test_json_names},
        {"long_keys", test_long_keys},
        {"round_trip_pod", test_round_trip_pod},
        {"round_trip_kinds", test_round_trip_kinds},
        {"json_exact", test_json_exact},
        {"yaml_exact", test_yaml_exact},
        {"string_quoting", test_string_quoting},
        {"timestamps", test_timestamps},
        {"wrappers", test_wrappers},
        {"maps", test_maps},
        {"enums_oneofs", test_enums_oneofs},
        {"omitempty", test_omitempty},
        {"errors", test_errors},
        {"yaml_octal", test_yaml_octal},
        {"yaml_parse", test_yaml_parse},
        {"yaml_errors", test_yaml_errors},
        {"hostile_input", test_hostile_input},
    };
    return HS_TEST_RUN (tests);
}
