/*  bench_api_patch.c: what applying a PATCH body costs hs-apiserver
 *  (api_patch_apply: the deep copy of the live object's tree and the
 *  patch), for the bodies kubectl sends and for big lists and maps. No
 *  sockets, no parsing: the trees are built once, and each round is one
 *  api_patch_apply and the free of its result.
 *
 *  Rows: kubectl's own bodies on a realistic Deployment (client-side apply
 *  with $setElementOrder, set image, label, rollout undo), then strategic
 *  merges of a container with N env vars (the patch changes one and orders
 *  all, as apply does), merge patches of a ConfigMap with N keys (the patch
 *  sets N/10), and N finalizers merged as a set. Columns: the sizes of the
 *  live object and the patch as compact JSON, and the median and 99th
 *  percentile of one apply in CPU time of the thread (not wall time: the
 *  figures mean the same on a loaded machine).
 */
#include "api.h"
#include "benchlib.h"
#include "hs_util.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A growing string. */
typedef struct {
    char *s;
    size_t n, cap;
} s_str_t;

static void s_cat (s_str_t *b, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static void s_cat (s_str_t *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start (ap, fmt);
        int n = vsnprintf (b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end (ap);
        if (b->s && b->n + (size_t)n < b->cap) {
            b->n += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n + 1) * 2;
        b->s = hs_realloc (b->s, b->cap);
        if (b->n == 0) b->s[0] = 0;
    }
}

static hs_tree_t *s_tree (const char *text)
{
    hs_tree_t **docs = NULL;
    size_t n = 0;
    char *err = NULL;
    if (hs_yaml_parse (text, strlen (text), &docs, &n, &err) < 0 || n != 1)
        bl_die ("bench-api-patch: cannot parse a document: %s", err ? err : "not one");
    hs_tree_t *t = docs[0];
    free (docs);
    return t;
}

static size_t s_json_len (const hs_tree_t *t)
{
    char *s = hs_tree_to_text (t, HS_FMT_JSON | HS_FMT_COMPACT);
    size_t n = strlen (s);
    free (s);
    return n;
}

/* A Deployment like examples/: two containers, env, ports, mounts, probes. */
static char *s_deployment (size_t nenv)
{
    s_str_t b = {0};
    s_cat (&b, "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"api\","
               "\"namespace\":\"default\",\"uid\":\"0b9e0f52-1111-4222-8333-444455556666\","
               "\"resourceVersion\":\"1234\",\"generation\":3,\"labels\":{\"app\":\"api\"},"
               "\"annotations\":{\"deployment.kubernetes.io/revision\":\"3\","
               "\"kubectl.kubernetes.io/last-applied-configuration\":\"{}\"}},"
               "\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{\"app\":\"api\"}},"
               "\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":1,"
               "\"maxUnavailable\":0}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"api\"}},"
               "\"spec\":{\"containers\":[{\"name\":\"api\",\"image\":\"registry/api:1.4\","
               "\"command\":[\"/api\",\"--listen\",\":8080\"],\"ports\":[{\"containerPort\":8080,"
               "\"name\":\"http\",\"protocol\":\"TCP\"}],\"env\":[");
    for (size_t i = 0; i < nenv; i++)
        s_cat (&b, "%s{\"name\":\"VAR_%zu\",\"value\":\"value-%zu\"}", i ? "," : "", i, i);
    s_cat (&b, "],\"volumeMounts\":[{\"mountPath\":\"/etc/api\",\"name\":\"conf\"}],"
               "\"readinessProbe\":{\"httpGet\":{\"path\":\"/ready\",\"port\":8080}},"
               "\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"64Mi\"}}},"
               "{\"name\":\"sidecar\",\"image\":\"registry/proxy:2\",\"args\":[\"--upstream\","
               "\"127.0.0.1:8080\"]}],\"volumes\":[{\"name\":\"conf\",\"configMap\":{\"name\":"
               "\"api-conf\"}}]}}},\"status\":{\"replicas\":3,\"readyReplicas\":3,"
               "\"conditions\":[{\"type\":\"Available\",\"status\":\"True\"},{\"type\":"
               "\"Progressing\",\"status\":\"True\"}]}}");
    return b.s;
}

/* kubectl apply's patch after editing one env var, ordering all of them. */
static char *s_apply_patch (size_t nenv)
{
    s_str_t b = {0};
    s_cat (&b, "{\"metadata\":{\"annotations\":{\"kubectl.kubernetes.io/last-applied-"
               "configuration\":\"{}\"}},\"spec\":{\"replicas\":4,\"template\":{\"spec\":{"
               "\"$setElementOrder/containers\":[{\"name\":\"api\"},{\"name\":\"sidecar\"}],"
               "\"containers\":[{\"$setElementOrder/env\":[");
    for (size_t i = 0; i < nenv; i++) s_cat (&b, "%s{\"name\":\"VAR_%zu\"}", i ? "," : "", i);
    s_cat (&b, "],\"env\":[{\"name\":\"VAR_%zu\",\"value\":\"changed\"}],\"name\":\"api\"}]}}}}",
           nenv / 2);
    return b.s;
}

static char *s_configmap (size_t n, size_t step, const char *value)
{
    s_str_t b = {0};
    s_cat (&b, "{\"metadata\":{\"name\":\"cm\"},\"data\":{");
    for (size_t i = 0, k = 0; i < n; i += step, k++)
        s_cat (&b, "%s\"key-%zu\":\"%s\"", k ? "," : "", i, value);
    s_cat (&b, "}}");
    return b.s;
}

static char *s_finalizers (size_t n, size_t off)
{
    s_str_t b = {0};
    s_cat (&b, "{\"metadata\":{\"finalizers\":[");
    for (size_t i = 0; i < n; i++) s_cat (&b, "%s\"example.com/f-%zu\"", i ? "," : "", i + off);
    s_cat (&b, "]}}");
    return b.s;
}

/* CPU time of this thread, ns: the figures hold on a busy machine too. */
static int64_t s_cpu_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void s_row (const char *what, api_patch_type_t type, hs_kind_t kind, char *live_text,
                   char *patch_text, int rounds)
{
    hs_tree_t *live = s_tree (live_text), *patch = s_tree (patch_text);
    free (live_text);
    free (patch_text);
    bl_samples_t s = {0};
    for (int i = 0; i < rounds; i++) {
        hs_tree_t *out = NULL;
        char *err = NULL;
        int64_t t0 = s_cpu_ns ();
        int rc = api_patch_apply (type, kind, live, patch, &out, &err);
        hs_tree_free (out);
        bl_samples_add (&s, (uint64_t)(s_cpu_ns () - t0));
        if (rc < 0) bl_die ("bench-api-patch: %s: %s", what, err);
    }
    bl_samples_sort (&s);
    printf ("%-34s %10zu %10zu %12.1f %12.1f\n", what, s_json_len (live), s_json_len (patch),
            bl_pct (&s, 50.0) / 1e3, bl_pct (&s, 99.0) / 1e3);
    fflush (stdout);
    bl_samples_free (&s);
    hs_tree_free (live);
    hs_tree_free (patch);
}

/* The patches kubectl sends, on a Deployment of 8 env vars. */
static void s_kubectl_rows (int rounds)
{
    printf ("%-34s %10s %10s %12s %12s\n", "patch", "live B", "patch B", "median us", "p99 us");
    s_row ("apply deployment (strategic)", API_PATCH_STRATEGIC, HS_KIND_DEPLOYMENT,
           s_deployment (8), s_apply_patch (8), rounds);
    s_row ("set image (strategic)", API_PATCH_STRATEGIC, HS_KIND_DEPLOYMENT, s_deployment (8),
           hs_strdup ("{\"spec\":{\"template\":{\"spec\":{\"$setElementOrder/containers\":[{"
                      "\"name\":\"api\"},{\"name\":\"sidecar\"}],\"containers\":[{\"image\":"
                      "\"registry/api:1.5\",\"name\":\"api\"}]}}}}"),
           rounds);
    s_row ("rollout restart (strategic)", API_PATCH_STRATEGIC, HS_KIND_DEPLOYMENT, s_deployment (8),
           hs_strdup ("{\"spec\":{\"template\":{\"metadata\":{\"annotations\":{\"kubectl."
                      "kubernetes.io/restartedAt\":\"2026-12-07T08:00:00Z\"}}}}}"),
           rounds);
    s_row ("label (merge)", API_PATCH_MERGE, HS_KIND_DEPLOYMENT, s_deployment (8),
           hs_strdup ("{\"metadata\":{\"labels\":{\"tier\":\"fe\"}}}"), rounds);
    s_row ("rollout undo (json)", API_PATCH_JSON, HS_KIND_DEPLOYMENT, s_deployment (8),
           hs_strdup ("[{\"op\":\"replace\",\"path\":\"/spec/template\",\"value\":{\"metadata\":"
                      "{\"labels\":{\"app\":\"api\"}},\"spec\":{\"containers\":[{\"name\":\"api\","
                      "\"image\":\"registry/api:1.3\"}]}}},{\"op\":\"replace\",\"path\":"
                      "\"/metadata/annotations\",\"value\":{\"deployment.kubernetes.io/"
                      "revision\":\"4\"}}]"),
           rounds);
}

/* Growing objects: env vars, ConfigMap keys, finalizers. */
static void s_size_rows (int rounds, bool quick)
{
    int big_rounds = rounds / 10 > 5 ? rounds / 10 : 5;
    size_t sizes[] = {100, 1000, 10000, 50000};
    size_t nsizes = quick ? 3 : 4;
    for (size_t i = 0; i < nsizes; i++) {
        char what[64];
        snprintf (what, sizeof what, "apply, %zu env vars (strategic)", sizes[i]);
        s_row (what, API_PATCH_STRATEGIC, HS_KIND_DEPLOYMENT, s_deployment (sizes[i]),
               s_apply_patch (sizes[i]), sizes[i] >= 10000 ? big_rounds : rounds);
    }
    for (size_t i = 0; i < nsizes; i++) {
        char what[64];
        snprintf (what, sizeof what, "configmap, %zu keys (merge)", sizes[i]);
        s_row (what, API_PATCH_MERGE, HS_KIND_CONFIGMAP, s_configmap (sizes[i], 1, "v"),
               s_configmap (sizes[i], 10, "w"), sizes[i] >= 10000 ? big_rounds : rounds);
    }
    for (size_t i = 0; i < nsizes; i++) {
        char what[64];
        snprintf (what, sizeof what, "%zu finalizers (strategic set)", sizes[i]);
        s_row (what, API_PATCH_STRATEGIC, HS_KIND_POD, s_finalizers (sizes[i], 0),
               s_finalizers (sizes[i], sizes[i] / 2), sizes[i] >= 10000 ? big_rounds : rounds);
    }
}

int main (int argc, char **argv)
{
    bl_init ("bench-api-patch");
    int rounds = 200;
    bool quick = false;
    static const struct option opts[] = {
        {"rounds", required_argument, NULL, 'r'},
        {"quick", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r': rounds = bl_parse_int ("--rounds", optarg, 1, 1000000); break;
        case 'q': quick = true; break;
        default:
            fprintf (stderr, "usage: bench-api-patch [--rounds N (200)] [--quick]\n"
                             "  --quick: the big rows up to 10,000 items only\n");
            return c == 'h' ? 0 : 2;
        }
    }
    s_kubectl_rows (rounds);
    s_size_rows (rounds, quick);
    return 0;
}
