/*  test_api_table_write.c: api_table_write and api_list_write
 *  (services/apiserver/api_table_write.c) write the very bytes of
 *  hs_tree_to_text (api_table (...) or api_list_tree (...), compact JSON):
 *  every kind, realistic objects, odd strings (quotes, backslashes, control
 *  bytes, UTF-8, invalid UTF-8, U+2028, empty names), objects without
 *  metadata or of no kind, every includeObject, the Table's resourceVersion
 *  or none, randomly mutated objects, and objects of every kind with fields
 *  set at random all through them. It appends to what b holds.
 */
#include "api.h"
#include "hs_manifest.h"
#include "hs_pb.h"
#include "hs_test.h"
#include "hs_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define S   1000000000LL
#define NOW (1800000000LL * S) /* 2027-01-15T08:00:00Z */

static const char *ALL_YAML =
    "apiVersion: v1\nkind: Node\nmetadata:\n  name: node-1\n  uid: 11111111-2222\n"
    "  resourceVersion: 7\n  creationTimestamp: \"2027-01-10T08:00:00Z\"\n"
    "  labels: {node-role.kubernetes.io/control-plane: \"\", kubernetes.io/hostname: node-1}\n"
    "spec: {unschedulable: true}\n"
    "status:\n  conditions: [{type: Ready, status: \"True\"}]\n"
    "  addresses: [{type: InternalIP, address: 192.168.1.5}]\n"
    "  nodeInfo: {agentVersion: v0.17, osImage: Debian GNU/Linux 12, kernelVersion: 6.1.0}\n"
    "---\n"
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-7d9c6b5f4d-x2x9q\n  namespace: team-a\n"
    "  generateName: web-7d9c6b5f4d-\n"
    "  uid: 0b9e0f52-1111-4222-8333-444455556666\n  resourceVersion: 123456\n  generation: 2\n"
    "  creationTimestamp: \"2027-01-15T06:00:00Z\"\n"
    "  deletionTimestamp: \"2027-01-15T07:59:00Z\"\n  deletionGracePeriodSeconds: 30\n"
    "  labels: {app: web, pod-template-hash: 7d9c6b5f4d, tier: frontend}\n"
    "  annotations: {homeostat.io/restartedAt: \"2027-01-15T05:59:00Z\"}\n"
    "  finalizers: [homeostat.io/a, homeostat.io/b]\n"
    "  ownerReferences:\n"
    "  - {apiVersion: apps/v1, kind: ReplicaSet, name: web-7d9c6b5f4d, uid: "
    "0b9e0f52-aaaa, controller: true, blockOwnerDeletion: true}\n"
    "spec:\n  nodeName: node-017\n  restartPolicy: Always\n  containers:\n"
    "  - name: web\n    image: registry.example/web:1.4.2\n"
    "    ports: [{name: http, containerPort: 8080, protocol: TCP}]\n"
    "    env: [{name: MODE, value: production}]\n"
    "    resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 256Mi}}\n"
    "    readinessProbe: {httpGet: {path: /healthz, port: \"8080\"}, periodSeconds: 5}\n"
    "status:\n  phase: Running\n  hostIP: 192.168.10.17\n  podIP: 10.244.17.23\n"
    "  startTime: \"2027-01-15T06:00:01Z\"\n"
    "  conditions: [{type: Ready, status: \"True\", lastTransitionTime: "
    "\"2027-01-15T06:00:04Z\"}]\n"
    "  containerStatuses:\n  - name: web\n    ready: true\n    restartCount: 1\n"
    "    image: registry.example/web:1.4.2\n"
    "    state: {running: {startedAt: \"2027-01-15T06:00:02Z\"}}\n"
    "    lastState: {terminated: {exitCode: 137, reason: Error, finishedAt: "
    "\"2027-01-15T06:00:02Z\"}}\n"
    "---\n"
    "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: api-5d8f, namespace: default, "
    "creationTimestamp: \"2027-01-15T07:00:00Z\", ownerReferences: [{apiVersion: apps/v1, kind: "
    "Deployment, name: api, uid: u-1, controller: true}]}\n"
    "spec:\n  replicas: 3\n  selector: {matchLabels: {app: api}}\n  template:\n"
    "    metadata: {labels: {app: api}}\n"
    "    spec: {containers: [{name: c, image: \"img:1\"}, {name: d, image: \"img:2\"}]}\n"
    "status: {replicas: 3, readyReplicas: 2, availableReplicas: 2}\n"
    "---\n"
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: default, "
    "creationTimestamp: \"2027-01-15T07:00:00Z\", generation: 4}\n"
    "spec:\n  replicas: 3\n  selector: {matchLabels: {app: api}}\n  template:\n"
    "    metadata: {labels: {app: api}}\n"
    "    spec: {containers: [{name: c, image: \"img:1\"}]}\n"
    "status: {replicas: 3, updatedReplicas: 2, readyReplicas: 1, availableReplicas: 1}\n"
    "---\n"
    "apiVersion: batch/v1\nkind: Job\nmetadata: {name: once, namespace: default, "
    "creationTimestamp: \"2027-01-15T07:58:00Z\"}\n"
    "spec:\n  completions: 2\n  template:\n    spec: {restartPolicy: Never, containers: "
    "[{name: c, image: busybox}]}\n"
    "status: {succeeded: 1, startTime: \"2027-01-15T07:58:05Z\"}\n"
    "---\n"
    "apiVersion: v1\nkind: Event\nmetadata: {name: web.aaa, namespace: default}\n"
    "involvedObject: {kind: Pod, name: web, namespace: default, fieldPath: "
    "\"spec.containers{main}\"}\n"
    "reason: Started\nmessage: \"Started\\tcontainer\\nmain\"\ntype: Normal\n"
    "source: {component: hs-agent}\nfirstTimestamp: \"2027-01-15T07:50:00Z\"\n"
    "lastTimestamp: \"2027-01-15T07:59:00Z\"\ncount: 3\n"
    "---\n"
    "apiVersion: v1\nkind: Event\nmetadata: {name: web.bbb, namespace: default}\n"
    "involvedObject: {kind: Pod, name: web, namespace: default}\n"
    "reason: Scheduled\nmessage: Successfully assigned\ntype: Normal\n"
    "reportingComponent: default-scheduler\nfirstTimestamp: \"2027-01-15T07:40:00Z\"\n"
    "lastTimestamp: \"2027-01-15T07:40:00Z\"\n"
    "---\n"
    "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\n"
    "spec:\n  selector: {app: web}\n  clusterIP: 10.96.0.10\n"
    "  ports: [{name: http, port: 80, targetPort: \"8080\", protocol: TCP}]\n"
    "---\n"
    "apiVersion: v1\nkind: Endpoints\nmetadata: {name: web, namespace: default}\n"
    "subsets: [{addresses: [{ip: 10.244.1.2}, {ip: 10.244.1.3}], ports: [{name: http, port: "
    "8080}]}]\n"
    "---\n"
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: default}\n"
    "data: {a: \"1\", b: \"2\"}\n"
    "---\n"
    "apiVersion: v1\nkind: Secret\nmetadata: {name: sec, namespace: default}\n"
    "data: {token: c2VjcmV0}\n"
    "---\n"
    "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n"
    "metadata: {name: web, namespace: default, creationTimestamp: \"2027-01-15T06:00:00Z\"}\n"
    "spec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n"
    "  minReplicas: 1\n  maxReplicas: 10\n  metrics:\n  - type: Resource\n    resource:\n"
    "      name: cpu\n      target: {type: Utilization, averageUtilization: 50}\n"
    "  behavior:\n    scaleDown:\n      stabilizationWindowSeconds: 60\n"
    "      policies: [{type: Percent, value: 50, periodSeconds: 30}]\n"
    "status:\n  currentReplicas: 3\n  desiredReplicas: 4\n  lastScaleTime: "
    "\"2027-01-15T06:10:00Z\"\n  currentMetrics:\n  - type: Resource\n    resource:\n"
    "      name: cpu\n      current: {averageUtilization: 73, averageValue: 365m}\n"
    "  conditions:\n  - {type: AbleToScale, status: \"True\", lastTransitionTime: "
    "\"2027-01-15T06:10:00Z\", reason: SucceededRescale, message: \"the HPA controller was "
    "able to update the target scale to 4\"}\n";

/* ------------------------------------------------------------ helpers */

static hs_manifest_t s_load (const char *yaml)
{
    hs_manifest_t m = {0};
    char *err = NULL;
    int r = hs_manifest_parse (yaml, strlen (yaml), "test", &m, &err);
    if (r < 0) fprintf (stderr, "  manifest: %s\n", err);
    CHECK_EQ_INT (r, 0);
    free (err);
    return m;
}

/* Whether api_table_write gives the tree path's bytes for objs; it appends
 * after a prefix already in the buffer. */
static bool s_same (hs_kind_t kind, const Hs__Object *const *objs, size_t n, api_include_t inc,
                    int64_t rv)
{
    hs_tree_t *t = api_table (kind, objs, n, inc, rv, NOW);
    char *want = hs_tree_to_text (t, HS_FMT_JSON | HS_FMT_COMPACT);
    hs_tree_free (t);
    hs_buf_t b = {0};
    hs_buf_puts (&b, "prefix");
    api_table_write (&b, kind, objs, n, inc, rv, NOW);
    bool ok = b.len == 6 + strlen (want) && !memcmp (b.data, "prefix", 6) &&
              !strcmp (b.data + 6, want) && b.data[b.len] == '\0';
    if (!ok) {
        size_t i = 0;
        const char *got = b.data + 6;
        while (want[i] && want[i] == got[i]) i++;
        size_t from = i > 60 ? i - 60 : 0;
        fprintf (stderr, "  kind %d inc %d: differ at byte %zu\n  want …%.120s\n  got  …%.120s\n",
                 (int)kind, (int)inc, i, want + from, got + from);
    }
    free (want);
    hs_buf_free (&b);
    return ok;
}

/* The same for api_list_write against api_list_tree. */
static bool s_same_list (hs_kind_t kind, const Hs__Object *const *objs, size_t n, int64_t rv)
{
    hs_tree_t *t = api_list_tree (kind, objs, n, rv);
    char *want = hs_tree_to_text (t, HS_FMT_JSON | HS_FMT_COMPACT);
    hs_tree_free (t);
    hs_buf_t b = {0};
    hs_buf_puts (&b, "[");
    api_list_write (&b, kind, objs, n, rv);
    bool ok = b.len == 1 + strlen (want) && b.data[0] == '[' && !strcmp (b.data + 1, want);
    if (!ok)
        fprintf (stderr, "  list of kind %d:\n  want %.200s\n  got  %.200s\n", (int)kind, want,
                 b.data + 1);
    free (want);
    hs_buf_free (&b);
    return ok;
}

static void s_check_all_inc (hs_kind_t kind, const Hs__Object *const *objs, size_t n)
{
    for (int inc = 0; inc < 3; inc++) {
        CHECK (s_same (kind, objs, n, (api_include_t)inc, 123));
        CHECK (s_same (kind, objs, n, (api_include_t)inc, 0));
    }
    CHECK (s_same_list (kind, objs, n, 77));
    CHECK (s_same_list (kind, objs, n, 0));
}

static Hs__ObjectMeta **s_meta_slot (Hs__Object *o)
{
    switch (o->kind_case) {
    case HS__OBJECT__KIND_NODE: return &o->node->metadata;
    case HS__OBJECT__KIND_POD: return &o->pod->metadata;
    case HS__OBJECT__KIND_REPLICA_SET: return &o->replica_set->metadata;
    case HS__OBJECT__KIND_DEPLOYMENT: return &o->deployment->metadata;
    case HS__OBJECT__KIND_JOB: return &o->job->metadata;
    case HS__OBJECT__KIND_EVENT: return &o->event->metadata;
    case HS__OBJECT__KIND_SERVICE: return &o->service->metadata;
    case HS__OBJECT__KIND_ENDPOINTS: return &o->endpoints->metadata;
    case HS__OBJECT__KIND_CONFIG_MAP: return &o->config_map->metadata;
    case HS__OBJECT__KIND_SECRET: return &o->secret->metadata;
    case HS__OBJECT__KIND_HORIZONTAL_POD_AUTOSCALER: return &o->horizontal_pod_autoscaler->metadata;
    default: return NULL;
    }
}

/* ------------------------------------------------------------ odd strings */

static const char *const s_odd[] = {
    "",
    "plain",
    "quote\"d",
    "back\\slash",
    "tab\there",
    "line\nbreak\r\n",
    "\x01\x02\x1f ctl \x7f",
    "\b\f",
    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",    /* é € 😀 */
    "c1 \xc2\x85 \xc2\x9f \xc2\xa0",                /* NEL, APC, NBSP */
    "ls \xe2\x80\xa8 ps \xe2\x80\xa9",              /* U+2028, U+2029 */
    "bad \xff \xfe \xc0\x80 \xe0\x80\x80 \xf5\x80", /* invalid, overlong */
    "cut \xe2\x82",                                 /* truncated at the end */
    "sur \xed\xa0\x80 \xf4\x90\x80\x80",            /* surrogate, > U+10FFFF */
    "mix \xc3\t\xa9 \xe2\n\x82\xac",                /* broken by tab/newline */
    "</script><!-- {\"a\":[1,2]} -->",
    "123",
    "-0",
    "007",
    "2147483647",
    "2147483648",
};

static unsigned s_rand (unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (*seed >> 16) & 0x7fff;
}

/* A random string: pieces of s_odd and random bytes (never NUL). */
static char *s_rand_str (unsigned *seed)
{
    hs_buf_t b = {0};
    unsigned parts = s_rand (seed) % 4;
    for (unsigned i = 0; i < parts; i++) {
        if (s_rand (seed) % 3) {
            hs_buf_puts (&b, s_odd[s_rand (seed) % HS_ARRAY_LEN (s_odd)]);
        } else {
            unsigned k = s_rand (seed) % 6;
            for (unsigned j = 0; j < k; j++) {
                char c = (char)(1 + s_rand (seed) % 255);
                hs_buf_append (&b, &c, 1);
            }
        }
    }
    return hs_buf_take (&b);
}

/* Sets an element of a repeated string field: always a heap copy (protobuf-c
 * frees every element, "" included). */
static void s_set_item (char **slot, const char *s)
{
    if (*slot && *slot != protobuf_c_empty_string) hs_pb_release (*slot);
    size_t n = strlen (s) + 1;
    *slot = hs_pb_alloc (n);
    memcpy (*slot, s, n);
}

/* Replaces, at random, string fields anywhere in m (map keys and values,
 * repeated strings too) with random strings. */
static void s_mutate_strings (ProtobufCMessage *m, unsigned *seed, int depth)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    if (depth > 12) return;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        char *slot = (char *)m + f->offset;
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(uint32_t *)((char *)m + f->quantifier_offset) != f->id)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(size_t *)((char *)m + f->quantifier_offset);
            void **arr = *(void ***)slot;
            for (size_t j = 0; j < n; j++) {
                if (f->type == PROTOBUF_C_TYPE_STRING && s_rand (seed) % 3 == 0) {
                    char *s = s_rand_str (seed);
                    s_set_item ((char **)&arr[j], s);
                    free (s);
                } else if (f->type == PROTOBUF_C_TYPE_MESSAGE && arr[j]) {
                    s_mutate_strings (arr[j], seed, depth + 1);
                }
            }
        } else if (f->type == PROTOBUF_C_TYPE_STRING && s_rand (seed) % 3 == 0) {
            char *s = s_rand_str (seed);
            hs_pb_set_str ((char **)slot, s);
            free (s);
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE && *(void **)slot) {
            s_mutate_strings (*(ProtobufCMessage **)slot, seed, depth + 1);
        }
    }
}

static bool s_is_time_name (const char *n)
{
    size_t l = strlen (n);
    return (l > 10 && !strcmp (n + l - 10, "_timestamp")) ||
           (l > 5 && !strcmp (n + l - 5, "_time")) || (l > 3 && !strcmp (n + l - 3, "_at")) ||
           !strcmp (n, "time_added");
}

/* A random value for a scalar field: zeros, extremes, anything; times in
 * hs_fmt_time's range. */
static void s_fill_scalar (const ProtobufCFieldDescriptor *f, void *slot, unsigned *seed)
{
    static const int64_t odd64[] = {0, 1, -1, 8080, INT64_MAX, INT64_MIN, 2147483647};
    int64_t v = s_rand (seed) % 2 ? odd64[s_rand (seed) % HS_ARRAY_LEN (odd64)]
                                  : (int64_t)s_rand (seed) - 1000;
    switch (f->type) {
    case PROTOBUF_C_TYPE_BOOL: *(protobuf_c_boolean *)slot = s_rand (seed) % 2; break;
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_ENUM: *(int32_t *)slot = (int32_t)v; break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (s_is_time_name (f->name))
            v = s_rand (seed) % 4 ? (int64_t)s_rand (seed) * 100000 * S : 0;
        *(int64_t *)slot = v;
        break;
    default: break;
    }
}

/* Sets, at random, fields anywhere in m: scalars, wrappers, nested
 * messages made, repeated fields and maps grown. Oneofs are left alone. */
static void s_fill (ProtobufCMessage *m, unsigned *seed, int depth)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        char *slot = (char *)m + f->offset;
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) || s_rand (seed) % 2) continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t *n = (size_t *)((char *)m + f->quantifier_offset);
            unsigned add = 1 + s_rand (seed) % 2;
            for (unsigned k = 0; k < add; k++) {
                if (f->type == PROTOBUF_C_TYPE_STRING) {
                    char *str = s_rand_str (seed);
                    char *item = NULL;
                    s_set_item (&item, str);
                    free (str);
                    hs_pb_push ((void ***)slot, n, item);
                } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
                    if (depth > 5) break;
                    ProtobufCMessage *sub = hs_pb_new (f->descriptor);
                    s_fill (sub, seed, depth + 1);
                    hs_pb_push ((void ***)slot, n, sub);
                } else if (f->type != PROTOBUF_C_TYPE_BYTES) {
                    size_t es = f->type == PROTOBUF_C_TYPE_INT64 ||
                                        f->type == PROTOBUF_C_TYPE_SINT64 ||
                                        f->type == PROTOBUF_C_TYPE_SFIXED64 ||
                                        f->type == PROTOBUF_C_TYPE_UINT64 ||
                                        f->type == PROTOBUF_C_TYPE_FIXED64
                                    ? 8
                                : f->type == PROTOBUF_C_TYPE_BOOL ? sizeof (protobuf_c_boolean)
                                                                  : 4;
                    char **arr = (char **)slot;
                    *arr = hs_realloc (*arr, (*n + 1) * es);
                    memset (*arr + *n * es, 0, es);
                    s_fill_scalar (f, *arr + *n * es, seed);
                    (*n)++;
                }
            }
        } else if (f->type == PROTOBUF_C_TYPE_STRING) {
            char *str = s_rand_str (seed);
            hs_pb_set_str ((char **)slot, str);
            free (str);
        } else if (f->type == PROTOBUF_C_TYPE_BYTES) {
            ProtobufCBinaryData *bd = (ProtobufCBinaryData *)slot;
            if (bd->data) continue;
            bd->len = s_rand (seed) % 5;
            bd->data = hs_pb_alloc (bd->len + 1);
            for (size_t k = 0; k < bd->len; k++) bd->data[k] = (uint8_t)s_rand (seed);
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            ProtobufCMessage **sub = (ProtobufCMessage **)slot;
            if (!*sub && depth > 5) continue;
            if (!*sub) *sub = hs_pb_new (f->descriptor);
            s_fill (*sub, seed, depth + 1);
        } else {
            s_fill_scalar (f, slot, seed);
        }
    }
}

static void s_push_str (char ***items, size_t *n, const char *s)
{
    char *copy = NULL;
    s_set_item (&copy, s);
    hs_pb_push ((void ***)items, n, copy);
}

/* Metadata fields set, cleared or filled at random (times in a sane range:
 * hs_fmt_time's gmtime has no answer for the far future). */
static void s_mutate_meta (Hs__ObjectMeta *m, unsigned *seed)
{
    int64_t sane = 4000000000LL * S;
    switch (s_rand (seed) % 3) {
    case 0: m->resource_version = 0; break;
    case 1: m->resource_version = (int64_t)s_rand (seed) * 100003 - 5; break;
    default: m->resource_version = INT64_MAX - s_rand (seed); break;
    }
    static const int64_t gens[] = {0, 1, -1, INT64_MIN, INT64_MAX};
    m->generation = s_rand (seed) % 2 ? gens[s_rand (seed) % 5] : (int64_t)s_rand (seed) - 100;
    m->creation_timestamp = s_rand (seed) % 3 ? (int64_t)s_rand (seed) * (sane / 32768) : 0;
    m->deletion_timestamp = s_rand (seed) % 3 ? 0 : -(int64_t)s_rand (seed) * S;
    if (s_rand (seed) % 2 && !m->deletion_grace_period_seconds) {
        m->deletion_grace_period_seconds = hs_pb_new (&hs__int64_value__descriptor);
        m->deletion_grace_period_seconds->value = (int64_t)s_rand (seed) - 2;
    }
    unsigned k = s_rand (seed) % 4;
    for (unsigned i = 0; i < k; i++) {
        char *key = s_rand_str (seed), *val = s_rand_str (seed);
        hs_pb_map_set ((void ***)&m->labels, &m->n_labels,
                       &hs__object_meta__labels_entry__descriptor, key, val);
        hs_pb_map_set ((void ***)&m->annotations, &m->n_annotations,
                       &hs__object_meta__annotations_entry__descriptor, val, key);
        free (key);
        free (val);
    }
    k = s_rand (seed) % 3;
    for (unsigned i = 0; i < k; i++) {
        Hs__OwnerReference *r = hs_pb_new (&hs__owner_reference__descriptor);
        char *s = NULL;
        char **fields[] = {&r->api_version, &r->kind, &r->name, &r->uid};
        for (size_t j = 0; j < 4; j++)
            if (s_rand (seed) % 3) {
                s = s_rand_str (seed);
                hs_pb_set_str (fields[j], s);
                free (s);
            }
        r->controller = s_rand (seed) % 2;
        r->block_owner_deletion = s_rand (seed) % 2;
        hs_pb_push ((void ***)&m->owner_references, &m->n_owner_references, r);
    }
    k = s_rand (seed) % 3;
    for (unsigned i = 0; i < k; i++) {
        char *s = s_rand_str (seed);
        s_push_str (&m->finalizers, &m->n_finalizers, s);
        free (s);
    }
}

/* ------------------------------------------------------------ tests */

static void test_every_kind_realistic (void)
{
    hs_manifest_t m = s_load (ALL_YAML);
    CHECK_EQ_INT (m.n, 12);
    for (hs_kind_t k = HS_KIND_NODE; k < HS_KIND__COUNT; k++) {
        const Hs__Object *objs[16];
        size_t n = 0;
        for (size_t i = 0; i < m.n; i++)
            if (hs_obj_kind (m.docs[i].object) == k) objs[n++] = m.docs[i].object;
        CHECK (n > 0);
        s_check_all_inc (k, objs, n);
        s_check_all_inc (k, objs, 0); /* an empty table */
    }
    /* the pod's metadata, spelled out once: the shape kubectl reads */
    const Hs__Object *pod = m.docs[1].object;
    hs_buf_t b = {0};
    api_table_write (&b, HS_KIND_POD, &pod, 1, API_INCLUDE_METADATA, 9, NOW);
    CHECK_CONTAINS (
        b.data,
        "\"object\":{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":\"meta.k8s.io/v1\","
        "\"metadata\":{\"name\":\"web-7d9c6b5f4d-x2x9q\",\"generateName\":\"web-7d9c6b5f4d-"
        "\",\"namespace\":\"team-a\",\"uid\":\"0b9e0f52-1111-4222-8333-444455556666\","
        "\"labels\":{\"app\":\"web\",\"pod-template-hash\":\"7d9c6b5f4d\",\"tier\":"
        "\"frontend\"},\"annotations\":{\"homeostat.io/restartedAt\":\"2027-01-15T05:59:"
        "00Z\"},\"resourceVersion\":\"123456\",\"generation\":2,\"creationTimestamp\":"
        "\"2027-01-15T06:00:00Z\",\"deletionTimestamp\":\"2027-01-15T07:59:00Z\","
        "\"deletionGracePeriodSeconds\":30,\"ownerReferences\":[{\"apiVersion\":\"apps/"
        "v1\",\"kind\":\"ReplicaSet\",\"name\":\"web-7d9c6b5f4d\",\"uid\":\"0b9e0f52-aaaa\","
        "\"controller\":true,\"blockOwnerDeletion\":true}],\"finalizers\":[\"homeostat.io/"
        "a\",\"homeostat.io/b\"]}}}");
    hs_buf_free (&b);
    /* every kind's table over every object, whatever its kind (ctl_cells
     * gives fewer cells for another kind's object) */
    const Hs__Object *all[16];
    for (size_t i = 0; i < m.n; i++) all[i] = m.docs[i].object;
    for (hs_kind_t k = HS_KIND_NONE; k < HS_KIND__COUNT; k++) s_check_all_inc (k, all, m.n);
    hs_manifest_free (&m);
}

static void test_odd_strings (void)
{
    hs_manifest_t m = s_load (ALL_YAML);
    for (size_t s = 0; s < HS_ARRAY_LEN (s_odd); s++) {
        for (size_t i = 0; i < m.n; i++) {
            Hs__Object *o = hs_pb_dup (m.docs[i].object);
            hs_kind_t k = hs_obj_kind (o);
            Hs__ObjectMeta *md = *s_meta_slot (o);
            const char *odd = s_odd[s];
            hs_pb_set_str (&md->name, odd);
            hs_pb_set_str (&md->namespace_, odd);
            hs_pb_set_str (&md->uid, odd);
            hs_pb_set_str (&md->generate_name, odd);
            hs_pb_map_set ((void ***)&md->labels, &md->n_labels,
                           &hs__object_meta__labels_entry__descriptor, odd, odd);
            hs_pb_map_set ((void ***)&md->annotations, &md->n_annotations,
                           &hs__object_meta__annotations_entry__descriptor, "k", odd);
            s_push_str (&md->finalizers, &md->n_finalizers, odd);
            Hs__OwnerReference *r = hs_pb_new (&hs__owner_reference__descriptor);
            hs_pb_set_str (&r->kind, odd); /* apiVersion, name, uid empty */
            hs_pb_push ((void ***)&md->owner_references, &md->n_owner_references, r);
            /* and every other string of the object, so cells carry it */
            unsigned seed = (unsigned)(s * 131 + i);
            s_mutate_strings (&o->base, &seed, 0);
            const Hs__Object *objs[] = {o};
            s_check_all_inc (k, objs, 1);
            hs_pb_free (o);
        }
    }
    hs_manifest_free (&m);
}

static void test_missing_metadata (void)
{
    hs_manifest_t m = s_load (ALL_YAML);
    for (size_t i = 0; i < m.n; i++) {
        Hs__Object *o = hs_pb_dup (m.docs[i].object);
        Hs__ObjectMeta **md = s_meta_slot (o);
        hs_pb_free (*md);
        *md = NULL;
        const Hs__Object *objs[] = {o, m.docs[i].object};
        s_check_all_inc (hs_obj_kind (m.docs[i].object), objs, 2);
        hs_pb_free (o);
        /* a bare object, as hs_obj_new makes it */
        hs_kind_t k = hs_obj_kind (m.docs[i].object);
        Hs__Object *bare = hs_obj_new (k, hs_kind_info (k)->namespaced ? "default" : NULL, "");
        const Hs__Object *one[] = {bare};
        s_check_all_inc (k, one, 1);
        hs_pb_free (bare);
        /* an object of no kind: no cells, no object, left out of a list */
        Hs__Object *none = hs_pb_new (&hs__object__descriptor);
        const Hs__Object *mixed[] = {none, m.docs[i].object, none};
        s_check_all_inc (k, mixed, 3);
        s_check_all_inc (k, mixed, 1);
        hs_pb_free (none);
    }
    hs_manifest_free (&m);
}

static void test_random (void)
{
    hs_manifest_t m = s_load (ALL_YAML);
    unsigned seed = 17;
    for (int round = 0; round < 300; round++) {
        Hs__Object *objs[4];
        size_t n = 1 + s_rand (&seed) % 4;
        hs_kind_t k = hs_obj_kind (m.docs[s_rand (&seed) % m.n].object);
        for (size_t i = 0; i < n; i++) {
            /* mostly objects of the table's kind, now and then another */
            size_t d = s_rand (&seed) % m.n;
            if (s_rand (&seed) % 5)
                for (size_t j = 0; j < m.n; j++)
                    if (hs_obj_kind (m.docs[(d + j) % m.n].object) == k) {
                        d = (d + j) % m.n;
                        break;
                    }
            objs[i] = hs_pb_dup (m.docs[d].object);
            Hs__ObjectMeta **md = s_meta_slot (objs[i]);
            if (s_rand (&seed) % 10 == 0) {
                hs_pb_free (*md);
                *md = NULL;
            } else {
                s_mutate_meta (*md, &seed);
            }
            s_mutate_strings (&objs[i]->base, &seed, 0);
        }
        api_include_t inc = (api_include_t)(s_rand (&seed) % 3);
        int64_t rv = s_rand (&seed) % 4 ? (int64_t)s_rand (&seed) : 0;
        CHECK (s_same (k, (const Hs__Object *const *)objs, n, inc, rv));
        CHECK (s_same_list (k, (const Hs__Object *const *)objs, n, rv));
        for (size_t i = 0; i < n; i++) hs_pb_free (objs[i]);
    }
    hs_manifest_free (&m);
}

/* Objects of every kind with fields set at random all through them:
 * wrappers, repeated numbers, maps of bytes, int-or-strings, times. */
static void test_random_fill (void)
{
    unsigned seed = 4242;
    for (int round = 0; round < 200; round++) {
        hs_kind_t k = (hs_kind_t)(HS_KIND_NODE + round % (HS_KIND__COUNT - HS_KIND_NODE));
        const hs_kind_info_t *info = hs_kind_info (k);
        Hs__Object *objs[2];
        for (int i = 0; i < 2; i++) {
            objs[i] = hs_obj_new (k, info->namespaced ? "default" : NULL, "x");
            s_fill ((ProtobufCMessage *)hs_obj_body (objs[i]), &seed, 0);
        }
        for (int inc = 0; inc < 3; inc++)
            CHECK (s_same (k, (const Hs__Object *const *)objs, 2, (api_include_t)inc, 1));
        CHECK (s_same_list (k, (const Hs__Object *const *)objs, 2, 1));
        for (int i = 0; i < 2; i++) hs_pb_free (objs[i]);
    }
}

/* Many rows into one buffer: it grows, and stays the tree path's. */
static void test_big (void)
{
    hs_manifest_t m = s_load (ALL_YAML);
    size_t n = 2000;
    Hs__Object **pods = hs_calloc (n, sizeof *pods);
    for (size_t i = 0; i < n; i++) {
        pods[i] = hs_pb_dup (m.docs[1].object);
        char name[64];
        snprintf (name, sizeof name, "web-%05zu", i);
        hs_pb_set_str (&pods[i]->pod->metadata->name, name);
    }
    for (int inc = 0; inc < 3; inc++)
        CHECK (s_same (HS_KIND_POD, (const Hs__Object *const *)pods, n, (api_include_t)inc, 5));
    CHECK (s_same_list (HS_KIND_POD, (const Hs__Object *const *)pods, n, 5));
    for (size_t i = 0; i < n; i++) hs_pb_free (pods[i]);
    free (pods);
    hs_manifest_free (&m);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"every_kind_realistic", test_every_kind_realistic},
        {"odd_strings", test_odd_strings},
        {"missing_metadata", test_missing_metadata},
        {"random", test_random},
        {"random_fill", test_random_fill},
        {"big", test_big},
    };
    return HS_TEST_RUN (tests);
}
