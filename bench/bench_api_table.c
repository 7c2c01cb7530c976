/*  bench_api_table.c: what a `kubectl get pods` of a big cluster costs
 *  hs-apiserver: the Table's body, built and written as compact JSON as the
 *  gateway sends it, on N realistic pods (a ReplicaSet's: labels, owner
 *  reference, a container with ports, env, resources and a probe,
 *  conditions, a container status). No sockets: this is the server's own
 *  CPU for the response body.
 *
 *  Two ways to the same bytes: the tree (api_table, then hs_tree_to_text,
 *  then hs_tree_free) and the direct writer (api_table_write into one
 *  buffer, then free). Rows: includeObject Metadata (kubectl get), Object
 *  (--sort-by), None, and the plain PodList kubectl gets with -o yaml:
 *  hs_manifest_tree per pod (Homeostat's own form, for comparison),
 *  api_list_tree (the gateway's), and api_list_write (its direct writer). Each
 *  figure is the median of --rounds runs: build, write, free, and their
 *  total (the direct writer builds nothing: its time is under write); the
 *  body's size. Then the same again in the same process after
 *  mallopt (M_MXFAST, 0) (glibc's fastbins off).
 */
#include "api.h"
#include "benchlib.h"
#include "hs_manifest.h"
#include "hs_obj.h"
#include "hs_pb.h"

#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *POD_YAML =
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata:\n"
    "  name: web-7d9c6b5f4d-x2x9q\n"
    "  namespace: team-a\n"
    "  uid: 0b9e0f52-1111-4222-8333-444455556666\n"
    "  resourceVersion: 123456\n"
    "  creationTimestamp: \"2026-12-07T06:00:00Z\"\n"
    "  labels: {app: web, pod-template-hash: 7d9c6b5f4d, tier: frontend}\n"
    "  annotations: {homeostat.io/restartedAt: \"2026-12-07T05:59:00Z\"}\n"
    "  ownerReferences:\n"
    "  - {apiVersion: apps/v1, kind: ReplicaSet, name: web-7d9c6b5f4d, uid: "
    "0b9e0f52-aaaa-4222-8333-444455556666, controller: true, blockOwnerDeletion: true}\n"
    "spec:\n"
    "  nodeName: node-017\n"
    "  restartPolicy: Always\n"
    "  containers:\n"
    "  - name: web\n"
    "    image: registry.example/web:1.4.2\n"
    "    ports: [{name: http, containerPort: 8080, protocol: TCP}]\n"
    "    env: [{name: MODE, value: production}, {name: LOG_LEVEL, value: info}]\n"
    "    resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 256Mi}}\n"
    "    readinessProbe: {httpGet: {path: /healthz, port: \"8080\"}, periodSeconds: 5}\n"
    "status:\n"
    "  phase: Running\n"
    "  hostIP: 192.168.10.17\n"
    "  podIP: 10.244.17.23\n"
    "  startTime: \"2026-12-07T06:00:01Z\"\n"
    "  conditions:\n"
    "  - {type: PodScheduled, status: \"True\", lastTransitionTime: \"2026-12-07T06:00:00Z\"}\n"
    "  - {type: Initialized, status: \"True\", lastTransitionTime: \"2026-12-07T06:00:01Z\"}\n"
    "  - {type: ContainersReady, status: \"True\", lastTransitionTime: "
    "\"2026-12-07T06:00:04Z\"}\n"
    "  - {type: Ready, status: \"True\", lastTransitionTime: \"2026-12-07T06:00:04Z\"}\n"
    "  containerStatuses:\n"
    "  - name: web\n"
    "    ready: true\n"
    "    started: true\n"
    "    restartCount: 1\n"
    "    image: registry.example/web:1.4.2\n"
    "    containerID: hs://node-017/41234\n"
    "    state: {running: {startedAt: \"2026-12-07T06:00:02Z\"}}\n"
    "    lastState: {terminated: {exitCode: 137, reason: Error, finishedAt: "
    "\"2026-12-07T06:00:02Z\"}}\n";

static int64_t s_cpu_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int s_cmp (const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double s_median_ms (int64_t *v, int n)
{
    qsort (v, (size_t)n, sizeof *v, s_cmp);
    return (double)v[n / 2] / 1e6;
}

typedef enum {
    ROW_META,
    ROW_OBJECT,
    ROW_NONE,
    ROW_LIST,
    ROW_API_LIST,
    ROW_W_META, /* the direct writers from here */
    ROW_W_OBJECT,
    ROW_W_NONE,
    ROW_W_LIST,
    ROW__COUNT
} row_t;

static hs_tree_t *s_build (row_t row, const Hs__Object *const *pods, size_t n, int64_t now)
{
    switch (row) {
    case ROW_META: return api_table (HS_KIND_POD, pods, n, API_INCLUDE_METADATA, 123456, now);
    case ROW_OBJECT: return api_table (HS_KIND_POD, pods, n, API_INCLUDE_OBJECT, 123456, now);
    case ROW_NONE: return api_table (HS_KIND_POD, pods, n, API_INCLUDE_NONE, 123456, now);
    case ROW_API_LIST: return api_list_tree (HS_KIND_POD, pods, n, 123456);
    default: break;
    }
    hs_tree_t *list = hs_tree_new (HS_TREE_MAP);
    hs_tree_add (list, "kind", hs_tree_scalar ("PodList", true));
    hs_tree_add (list, "apiVersion", hs_tree_scalar ("v1", true));
    hs_tree_t *items = hs_tree_new (HS_TREE_SEQ);
    for (size_t i = 0; i < n; i++)
        hs_tree_add (items, NULL, hs_manifest_tree (pods[i], HS_FMT_JSON));
    hs_tree_add (list, "items", items);
    return list;
}

/* n realistic pods from POD_YAML (names, uids, IPs, nodes, times vary). */
static Hs__Object **s_make_pods (int n, hs_manifest_t *m)
{
    char *err = NULL;
    if (hs_manifest_parse (POD_YAML, strlen (POD_YAML), "pod", m, &err) < 0)
        bl_die ("pod template: %s", err);
    Hs__Object **pods = hs_calloc ((size_t)n, sizeof *pods);
    for (int i = 0; i < n; i++) {
        pods[i] = hs_pb_dup (m->docs[0].object);
        Hs__ObjectMeta *md = pods[i]->pod->metadata;
        char buf[64];
        snprintf (buf, sizeof buf, "web-7d9c6b5f4d-%05d", i);
        hs_pb_set_str (&md->name, buf);
        snprintf (buf, sizeof buf, "0b9e0f52-%04x-4222-8333-444455556666", i);
        hs_pb_set_str (&md->uid, buf);
        md->resource_version += i;
        md->creation_timestamp += (int64_t)i * 1000000000LL;
        snprintf (buf, sizeof buf, "10.244.%d.%d", (i / 250) % 256, i % 250 + 2);
        hs_pb_set_str (&pods[i]->pod->status->pod_ip, buf);
        snprintf (buf, sizeof buf, "node-%03d", i % 500);
        hs_pb_set_str (&pods[i]->pod->spec->node_name, buf);
    }
    return pods;
}

static const char *const s_row_names[ROW__COUNT] = {
    [ROW_META] = "Table, includeObject=Metadata",
    [ROW_OBJECT] = "Table, includeObject=Object",
    [ROW_NONE] = "Table, includeObject=None",
    [ROW_LIST] = "PodList, hs_manifest_tree",
    [ROW_API_LIST] = "PodList, api_list_tree",
    [ROW_W_META] = "direct, includeObject=Metadata",
    [ROW_W_OBJECT] = "direct, includeObject=Object",
    [ROW_W_NONE] = "direct, includeObject=None",
    [ROW_W_LIST] = "direct PodList, api_list_write",
};

/* One body, rounds times: its row of CPU medians (t: 4 arrays of rounds). */
static void s_row (row_t row, const Hs__Object *const *pods, int n, int64_t now, int rounds,
                   int64_t *t[4])
{
    static const api_include_t incs[] = {API_INCLUDE_METADATA, API_INCLUDE_OBJECT,
                                         API_INCLUDE_NONE};
    size_t bytes = 0;
    for (int r = 0; r < rounds; r++) {
        int64_t t0 = s_cpu_ns (), t1, t2;
        char *text;
        if (row >= ROW_W_META) {
            hs_buf_t b = {0};
            t1 = t0;
            if (row == ROW_W_LIST)
                api_list_write (&b, HS_KIND_POD, pods, (size_t)n, 123456);
            else
                api_table_write (&b, HS_KIND_POD, pods, (size_t)n, incs[row - ROW_W_META], 123456,
                                 now);
            t2 = s_cpu_ns ();
            text = b.data;
        } else {
            hs_tree_t *tree = s_build (row, pods, (size_t)n, now);
            t1 = s_cpu_ns ();
            text = hs_tree_to_text (tree, HS_FMT_JSON | HS_FMT_COMPACT);
            t2 = s_cpu_ns ();
            hs_tree_free (tree);
        }
        bytes = strlen (text);
        free (text);
        int64_t t3 = s_cpu_ns ();
        t[0][r] = t1 - t0, t[1][r] = t2 - t1, t[2][r] = t3 - t2, t[3][r] = t3 - t0;
    }
    printf ("  %-31s %9.1f %9.1f %9.1f %9.1f %11zu %7zu\n", s_row_names[row],
            s_median_ms (t[0], rounds), s_median_ms (t[1], rounds), s_median_ms (t[2], rounds),
            s_median_ms (t[3], rounds), bytes, bytes / (size_t)n);
}

int main (int argc, char **argv)
{
    int n = 10000, rounds = 7;
    static const struct option opts[] = {{"pods", required_argument, NULL, 'n'},
                                         {"rounds", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    int c;
    while ((c = getopt_long (argc, argv, "n:r:h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': n = atoi (optarg); break;
        case 'r': rounds = atoi (optarg); break;
        default:
            printf ("usage: bench-api-table [--pods N (10000)] [--rounds R (7)]\n");
            return c == 'h' ? 0 : 2;
        }
    }
    if (n < 1 || rounds < 1) bl_die ("--pods and --rounds must be positive");
    bl_init ("bench-api-table");

    hs_manifest_t m = {0};
    Hs__Object **pods = s_make_pods (n, &m);
    int64_t now = pods[n - 1]->pod->metadata->creation_timestamp + 3600LL * 1000000000LL;
    printf (
        "hs-apiserver's Table body (compact JSON), %d pods, median of %d rounds, CPU time\n"
        "tree: build, hs_tree_to_text, hs_tree_free; direct: api_table_write, api_list_write\n\n",
        n, rounds);
    int64_t *t[4];
    for (int i = 0; i < 4; i++) t[i] = hs_calloc ((size_t)rounds, sizeof (int64_t));
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            mallopt (M_MXFAST, 0);
            printf ("\n  -- mallopt (M_MXFAST, 0) --\n");
        }
        printf ("  %-31s %9s %9s %9s %9s %11s %7s\n", "body", "build ms", "write ms", "free ms",
                "total ms", "bytes", "B/pod");
        for (int row = ROW_META; row < ROW__COUNT; row++)
            s_row ((row_t)row, (const Hs__Object *const *)pods, n, now, rounds, t);
    }
    for (int i = 0; i < 4; i++) free (t[i]);
    for (int i = 0; i < n; i++) hs_pb_free (pods[i]);
    free (pods);
    hs_manifest_free (&m);
    return 0;
}
