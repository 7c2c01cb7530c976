/*  bench_replicas.c: bench-replicas, hs-replicas at scale. Three tables:
 *
 *  1. Controller throughput: 200 ReplicaSets x 50 replicas created at once
 *     (one Command), with 1, 2 and 4 hs-replicas instances sharing them,
 *     no scheduler: pods created per second, counted as pod ADDED events
 *     on the bus, from the ReplicaSets' commit to the last pod's.
 *  2. A Deployment of 10,000 replicas on 1,000 hollow nodes (hs-hollow,
 *     hs-scheduler): time from its template change until
 *     updatedReplicas = availableReplicas = replicas = 10,000 and no pod of
 *     the old template is left in the store.
 *  3. Catching up: 100,000 pods in the store (1,000 ReplicaSets x 100, the
 *     pods written directly), hs-replicas killed with SIGKILL and started
 *     again: time from its start to "synced" (snapshot loaded) and to its
 *     first full pass ("first pass done"), read off its log's timestamps.
 *
 *  Each part gets its own hs-bus and hs-store (durable, or --no-sync).
 *  Prints tables; no pass/fail.
 */
#include "benchlib.h"
#include "hs_client.h"
#include "hs_obj.h"
#include "hs_pb.h"
#include "hs_util.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MS 1000000LL

enum { B_BUS, B_STORE, B_SCHED, B_HOLLOW, B_REPLICAS, B_N };
static const char *s_names[B_N] = {"hs-bus", "hs-store", "hs-scheduler", "hs-hollow",
                                   "hs-replicas"};
static char *s_bin[B_N];
static bool s_nosync;

typedef struct {
    char *dir;
    char bus[64];
    pid_t bus_pid, store_pid;
    hs_client_t *cl;
    /* pod events */
    int64_t pods_added, pods_deleted;
    int64_t last_added_ns; /* committed_at of the last pod ADDED */
} cluster_t;

static void s_pump (cluster_t *c, int ms)
{
    int r = hs_client_process (c->cl, ms);
    if (r < 0 && r != -EINTR) bl_die ("the bus failed: %s", strerror (-r));
}

static void s_on_pod_ev (void *arg, const char *topic, const Hs__Envelope *env)
{
    cluster_t *c = arg;
    (void)topic;
    if (env->body_case != HS__ENVELOPE__BODY_EVENT) return;
    if (env->event->type == HS__EVENT_TYPE__ADDED) {
        c->pods_added++;
        c->last_added_ns = env->event->committed_at_ns;
    } else if (env->event->type == HS__EVENT_TYPE__DELETED) {
        c->pods_deleted++;
    }
}

static void s_cluster_up (cluster_t *c, const char *tag)
{
    *c = (cluster_t){0};
    c->dir = bl_tmpdir (tag);
    int port = bl_free_port (true);
    char port_s[16];
    snprintf (port_s, sizeof port_s, "%d", port);
    snprintf (c->bus, sizeof c->bus, "127.0.0.1:%d", port);
    _cleanup_free_ char *lb = hs_sprintf ("%s/hs-bus.log", c->dir);
    _cleanup_free_ char *ls = hs_sprintf ("%s/hs-store.log", c->dir);
    _cleanup_free_ char *data = hs_sprintf ("%s/store", c->dir);
    char *a_bus[] = {s_bin[B_BUS], "--bind", "127.0.0.1", "--port", port_s, NULL};
    c->bus_pid = bl_spawn (a_bus, lb);
    if (bl_wait_tcp (port + 1, 5000) < 0) bl_die ("hs-bus did not start");
    char *a_store[] = {s_bin[B_STORE],
                       "--bus",
                       c->bus,
                       "--data",
                       data,
                       "--cluster-cidr",
                       BL_CLUSTER_CIDR,
                       s_nosync ? "--no-sync" : NULL,
                       NULL};
    c->store_pid = bl_spawn (a_store, ls);
    int r = hs_client_new (c->bus, "bench-replicas", NULL, 10000, &c->cl);
    if (r < 0) bl_die ("cannot join hs-bus: %s", strerror (-r));
    hs_client_on (c->cl, "ev.pod.", s_on_pod_ev, c);
    /* the store answers */
    hs_db_snapshot_t snap = {0};
    hs_kind_t k = HS_KIND_NODE;
    if (hs_client_snapshot (c->cl, &k, 1, NULL, 20000, &snap) < 0) {
        bl_tail_log (ls, 20);
        bl_die ("hs-store did not answer");
    }
    hs_db_snapshot_free (&snap);
}

static void s_cluster_down (cluster_t *c)
{
    hs_client_destroy (&c->cl);
    bl_cleanup ();
    free (c->dir);
    *c = (cluster_t){0};
}

static char *s_log (cluster_t *c, const char *name)
{
    return hs_sprintf ("%s/%s.log", c->dir, name);
}

/* Starts hs-replicas --instance NAME; returns its pid. With local, it
 * reads its snapshot from the store's data directory (--store-dir). */
static pid_t s_replicas_at (cluster_t *c, const char *inst, const char *member_ms, bool local)
{
    _cleanup_free_ char *log = s_log (c, inst);
    _cleanup_free_ char *data = hs_sprintf ("%s/store", c->dir);
    char *a[] = {s_bin[B_REPLICAS],
                 "--bus",
                 c->bus,
                 "--instance",
                 (char *)inst,
                 "--member-timeout-ms",
                 (char *)member_ms,
                 local ? "--store-dir" : NULL,
                 data,
                 NULL};
    return bl_spawn (a, log);
}

static pid_t s_replicas (cluster_t *c, const char *inst, const char *member_ms)
{
    return s_replicas_at (c, inst, member_ms, false);
}

/* ------------------------------------------------------------------ objects */

static void s_label (Hs__ObjectMeta *m, const char *k, const char *v)
{
    hs_pb_map_set ((void ***)&m->labels, &m->n_labels, &hs__object_meta__labels_entry__descriptor,
                   k, v);
}

static Hs__PodSpec *s_pod_spec (const char *version)
{
    Hs__PodSpec *sp = hs_pb_new (&hs__pod_spec__descriptor);
    Hs__Container *c = hs_pb_new (&hs__container__descriptor);
    hs_pb_set_str (&c->name, "app");
    char *a0 = NULL, *a1 = NULL;
    hs_pb_set_str (&a0, "sleep");
    hs_pb_set_str (&a1, "3600");
    hs_pb_push ((void ***)&c->command, &c->n_command, a0);
    hs_pb_push ((void ***)&c->command, &c->n_command, a1);
    if (version) {
        Hs__EnvVar *e = hs_pb_new (&hs__env_var__descriptor);
        hs_pb_set_str (&e->name, "VERSION");
        hs_pb_set_str (&e->value, version);
        hs_pb_push ((void ***)&c->env, &c->n_env, e);
    }
    hs_pb_push ((void ***)&sp->containers, &sp->n_containers, c);
    hs_pb_set_str (&sp->restart_policy, "Always");
    return sp;
}

static Hs__PodTemplateSpec *s_template (const char *app, const char *version)
{
    Hs__PodTemplateSpec *t = hs_pb_new (&hs__pod_template_spec__descriptor);
    t->metadata = hs_pb_new (&hs__object_meta__descriptor);
    s_label (t->metadata, "app", app);
    t->spec = s_pod_spec (version);
    return t;
}

static Hs__LabelSelector *s_selector (const char *app)
{
    Hs__LabelSelector *s = hs_pb_new (&hs__label_selector__descriptor);
    hs_pb_map_set ((void ***)&s->match_labels, &s->n_match_labels,
                   &hs__label_selector__match_labels_entry__descriptor, "app", app);
    return s;
}

static Hs__Object *s_rs (const char *name, int32_t replicas)
{
    Hs__Object *o = hs_obj_new (HS_KIND_REPLICASET, "default", name);
    Hs__ReplicaSetSpec *sp = o->replica_set->spec = hs_pb_new (&hs__replica_set_spec__descriptor);
    sp->replicas = hs_pb_new (&hs__int32_value__descriptor);
    sp->replicas->value = replicas;
    sp->selector = s_selector (name);
    sp->template_ = s_template (name, NULL);
    return o;
}

/* Creates n ReplicaSets rs-0 .. in Commands of up to 500; their uids into
 * uids (may be NULL). Returns the wall time the first Command was sent. */
static int64_t s_create_rs (cluster_t *c, int n, int32_t replicas, char **uids)
{
    int64_t t0 = hs_now_ns ();
    for (int base = 0; base < n; base += 500) {
        int k = n - base < 500 ? n - base : 500;
        Hs__Write **w = hs_calloc ((size_t)k, sizeof *w);
        for (int i = 0; i < k; i++) {
            char name[32];
            snprintf (name, sizeof name, "rs-%d", base + i);
            w[i] = hs_write_new (HS__OP__OP_CREATE, s_rs (name, replicas));
        }
        Hs__Ack *ack = NULL;
        hs_call_opts_t o = {.timeout_ms = 60000};
        int r = hs_client_call (c->cl, w, (size_t)k, &o, &ack);
        for (int i = 0; i < k; i++) hs_pb_free (w[i]);
        free (w);
        if (r < 0 || ack->code != HS__CODE__CODE_OK)
            bl_die ("cannot create ReplicaSets: %s", r < 0 ? strerror (-r) : ack->message);
        for (int i = 0; uids && i < k && (size_t)i < ack->n_results; i++)
            uids[base + i] = hs_strdup (ack->results[i]->uid);
        hs_pb_free (ack);
    }
    return t0;
}

/* ------------------------------------------------------------------ heartbeats */

typedef struct {
    char inst[8][32];
    uint64_t members[8], inflight[8], first[8];
    int n;
} hbs_t;

static void s_on_hb (void *arg, const char *topic, const Hs__Envelope *env)
{
    hbs_t *h = arg;
    (void)topic;
    if (env->body_case != HS__ENVELOPE__BODY_HEARTBEAT) return;
    const Hs__ComponentHeartbeat *hb = env->heartbeat;
    int i = 0;
    while (i < h->n && strcmp (h->inst[i], hb->instance)) i++;
    if (i == h->n) {
        if (h->n == 8) return;
        snprintf (h->inst[h->n++], sizeof h->inst[0], "%s", hb->instance);
    }
    for (size_t k = 0; k < hb->n_gauges; k++) {
        const Hs__Gauge *g = hb->gauges[k];
        if (hs_streq (g->name, "members")) h->members[i] = (uint64_t)g->value;
        if (hs_streq (g->name, "inflight")) h->inflight[i] = (uint64_t)g->value;
        if (hs_streq (g->name, "first_pass_done")) h->first[i] = (uint64_t)g->value;
    }
}

/* ------------------------------------------------------------------ 1 */

/* One run: n instances, n_rs x per_rs pods; the seconds from the
 * ReplicaSets' commit to the last pod's, or -1. */
static double s_throughput_run (int n, int n_rs, int per_rs)
{
    cluster_t c;
    s_cluster_up (&c, "replicas-tp");
    hbs_t hb = {0};
    hs_client_on (c.cl, "hb.replicas.", s_on_hb, &hb);
    pid_t pids[4];
    for (int i = 0; i < n; i++) {
        char inst[16];
        snprintf (inst, sizeof inst, "r%d", i + 1);
        pids[i] = s_replicas (&c, inst, "500");
    }
    /* every instance acting and hearing all the others */
    int64_t deadline = hs_mono_ns () + 30000 * MS;
    for (;;) {
        int ok = 0;
        for (int i = 0; i < hb.n; i++) ok += hb.members[i] == (uint64_t)n && hb.first[i];
        if (ok == n) break;
        if (hs_mono_ns () > deadline) bl_die ("hs-replicas instances did not settle");
        s_pump (&c, 50);
    }
    int want = n_rs * per_rs;
    int64_t t0 = s_create_rs (&c, n_rs, per_rs, NULL);
    deadline = hs_mono_ns () + 300000 * MS;
    while (c.pods_added < want) {
        if (hs_mono_ns () > deadline) break;
        for (int i = 0; i < n; i++)
            if (!bl_alive (pids[i])) bl_die ("hs-replicas r%d died (logs in %s)", i + 1, c.dir);
        s_pump (&c, 50);
    }
    double secs = c.pods_added < want ? -1 : (double)(c.last_added_ns - t0) / 1e9;
    s_cluster_down (&c);
    return secs;
}

static int s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void s_throughput (int n_rs, int per_rs, int runs)
{
    int counts[] = {1, 2, 4};
    printf ("\n== 1. controller throughput: %d ReplicaSets x %d replicas = %d pods, no scheduler\n"
            "   created as one Command; pods counted as pod ADDED events (store commit time)\n"
            "   from the ReplicaSets' commit to the last pod's. hs-store %s. Every pod create\n"
            "   also writes a SuccessfulCreate Event. Median of %d runs (min .. max).\n\n",
            n_rs, per_rs, n_rs * per_rs, s_nosync ? "--no-sync" : "durable", runs);
    printf ("%10s %8s %10s %10s %16s\n", "instances", "pods", "seconds", "pods/s",
            "(min .. max s)");
    for (size_t x = 0; x < HS_ARRAY_LEN (counts); x++) {
        double t[16];
        int ok = 0;
        for (int i = 0; i < runs && i < 16; i++) {
            double s = s_throughput_run (counts[x], n_rs, per_rs);
            if (s > 0) t[ok++] = s;
        }
        if (!ok) {
            printf ("%10d %8d %10s\n", counts[x], n_rs * per_rs, "timed out");
            continue;
        }
        qsort (t, (size_t)ok, sizeof *t, s_cmp_double);
        double med = t[ok / 2];
        char buf[32];
        printf ("%10d %8d %10.2f %10s %7.2f .. %.2f\n", counts[x], n_rs * per_rs, med,
                bl_fmt_count ((double)(n_rs * per_rs) / med, buf, sizeof buf), t[0], t[ok - 1]);
        fflush (stdout);
    }
}

/* ------------------------------------------------------------------ 2 */

typedef struct {
    const char *old_hash;
    int64_t old_pods; /* pods of the old template in the store */
    hs_watch_t *w;
} roll_t;

static const char *s_hash_of (const Hs__ObjectMeta *m)
{
    return m ? hs_pb_map_get ((void *const *)m->labels, m->n_labels, "pod-template-hash") : NULL;
}

static void s_on_roll_pod (void *arg, Hs__EventType type, const Hs__Object *obj,
                           const Hs__Object *old)
{
    roll_t *r = arg;
    (void)old;
    if (!r->old_hash || hs_obj_kind (obj) != HS_KIND_POD) return;
    if (!hs_streq (s_hash_of (obj->pod->metadata), r->old_hash)) return;
    if (type == HS__EVENT_TYPE__ADDED) r->old_pods++;
    if (type == HS__EVENT_TYPE__DELETED) r->old_pods--;
}

static bool s_rolled (const Hs__Object *d, int32_t replicas)
{
    const Hs__DeploymentStatus *st = d ? d->deployment->status : NULL;
    return st && st->observed_generation >= d->deployment->metadata->generation &&
           st->updated_replicas == replicas && st->available_replicas == replicas &&
           st->replicas == replicas;
}

static void s_rollout (int nodes, int32_t replicas)
{
    cluster_t c;
    s_cluster_up (&c, "replicas-roll");
    _cleanup_free_ char *lsched = s_log (&c, "hs-scheduler"), *lsim = s_log (&c, "hs-hollow");
    char *a_sched[] = {s_bin[B_SCHED], "--bus", c.bus, NULL};
    pid_t sched = bl_spawn (a_sched, lsched);
    char n_s[16];
    snprintf (n_s, sizeof n_s, "%d", nodes);
    char *a_sim[] = {s_bin[B_HOLLOW], n_s, "--bus", c.bus, NULL};
    pid_t sim = bl_spawn (a_sim, lsim);
    bl_wait_log (lsim, "registered", sim, 120000);
    bl_wait_log (lsched, "scheduling pods", sched, 30000);
    pid_t rep = s_replicas (&c, "r1", "500");
    _cleanup_free_ char *lrep = s_log (&c, "r1");
    bl_wait_log (lrep, "first pass done", rep, 30000);
    roll_t r = {0};
    hs_kind_t kinds[] = {HS_KIND_DEPLOYMENT, HS_KIND_POD};
    hs_watch_opts_t wo = {.kinds = kinds, .n_kinds = 2, .fn = s_on_roll_pod, .arg = &r};
    r.w = hs_client_watch (c.cl, &wo);
    if (hs_watch_wait_synced (r.w, 30000) < 0) bl_die ("no snapshot");

    Hs__Object *d = hs_obj_new (HS_KIND_DEPLOYMENT, "default", "big");
    Hs__DeploymentSpec *sp = d->deployment->spec = hs_pb_new (&hs__deployment_spec__descriptor);
    sp->replicas = hs_pb_new (&hs__int32_value__descriptor);
    sp->replicas->value = replicas;
    sp->selector = s_selector ("big");
    sp->template_ = s_template ("big", "v1");
    Hs__Write *w = hs_write_new (HS__OP__OP_CREATE, d);
    Hs__Ack *ack = NULL;
    int64_t t_create = hs_mono_ns ();
    if (hs_client_call (c.cl, &w, 1, NULL, &ack) < 0 || ack->code != HS__CODE__CODE_OK)
        bl_die ("cannot create the Deployment");
    hs_pb_free (ack);
    hs_pb_free (w);
    int64_t deadline = hs_mono_ns () + 300000 * MS, last = 0;
    while (!s_rolled (hs_watch_get (r.w, HS_KIND_DEPLOYMENT, "default", "big"), replicas)) {
        if (hs_mono_ns () > deadline)
            bl_die ("the first rollout did not finish (logs in %s)", c.dir);
        if (!bl_alive (rep) || !bl_alive (sched) || !bl_alive (sim)) bl_die ("a server died");
        if (hs_mono_ns () - last > 5000 * MS) {
            const Hs__Object *o = hs_watch_get (r.w, HS_KIND_DEPLOYMENT, "default", "big");
            const Hs__DeploymentStatus *st = o ? o->deployment->status : NULL;
            fprintf (stderr, "bench-replicas: first rollout: %d available\n",
                     st ? st->available_replicas : 0);
            last = hs_mono_ns ();
        }
        s_pump (&c, 50);
    }
    double t_first = (double)(hs_mono_ns () - t_create) / 1e9;

    /* the template change */
    const Hs__Object *cur = hs_watch_get (r.w, HS_KIND_DEPLOYMENT, "default", "big");
    int64_t n_old = 0;
    const Hs__Object **pods = NULL;
    size_t np = hs_watch_list (r.w, HS_KIND_POD, &pods);
    r.old_hash = NULL;
    static char old_hash[32];
    for (size_t i = 0; i < np; i++) {
        const char *h = s_hash_of (pods[i]->pod->metadata);
        if (h) {
            snprintf (old_hash, sizeof old_hash, "%s", h);
            n_old++;
        }
    }
    free (pods);
    r.old_hash = old_hash;
    r.old_pods = n_old;
    Hs__Object *upd = hs_pb_dup (cur);
    hs_pb_set_str (&upd->deployment->spec->template_->spec->containers[0]->env[0]->value, "v2");
    w = hs_write_new (HS__OP__OP_UPDATE, upd);
    w->expected_revision = cur->deployment->metadata->resource_version;
    int64_t t0 = hs_mono_ns ();
    if (hs_client_call (c.cl, &w, 1, NULL, &ack) < 0 || ack->code != HS__CODE__CODE_OK)
        bl_die ("cannot change the template");
    hs_pb_free (ack);
    hs_pb_free (w);
    double t_status = 0;
    deadline = hs_mono_ns () + 300000 * MS;
    last = hs_mono_ns ();
    for (;;) {
        const Hs__Object *o = hs_watch_get (r.w, HS_KIND_DEPLOYMENT, "default", "big");
        if (!t_status && s_rolled (o, replicas) &&
            o->deployment->status->observed_generation >= o->deployment->metadata->generation &&
            o->deployment->metadata->generation > 1)
            t_status = (double)(hs_mono_ns () - t0) / 1e9;
        if (t_status && r.old_pods == 0) break;
        if (hs_mono_ns () > deadline) bl_die ("the rollout did not finish (logs in %s)", c.dir);
        if (!bl_alive (rep) || !bl_alive (sched) || !bl_alive (sim)) bl_die ("a server died");
        if (hs_mono_ns () - last > 5000 * MS) {
            const Hs__DeploymentStatus *st = o ? o->deployment->status : NULL;
            fprintf (stderr, "bench-replicas: rollout: %d updated, %d available, %lld old pods\n",
                     st ? st->updated_replicas : 0, st ? st->available_replicas : 0,
                     (long long)r.old_pods);
            last = hs_mono_ns ();
        }
        s_pump (&c, 20);
    }
    double t_gone = (double)(hs_mono_ns () - t0) / 1e9;
    printf ("\n== 2. rolling update: a Deployment of %d replicas on %d hollow nodes\n"
            "   (hs-scheduler, hs-hollow, one hs-replicas; maxSurge/maxUnavailable\n"
            "   25%%/25%%; hs-store %s)\n\n",
            replicas, nodes, s_nosync ? "--no-sync" : "durable");
    printf ("%52s %10s\n", "", "seconds");
    printf ("%52s %10.2f\n", "first rollout: create -> all available", t_first);
    printf ("%52s %10.2f\n", "template change -> updated = available = replicas", t_status);
    printf ("%52s %10.2f\n", "template change -> no old pod in the store", t_gone);
    fflush (stdout);
    s_cluster_down (&c);
}

/* ------------------------------------------------------------------ 3 */

/* The time of a log line containing what (its RFC 3339 prefix), or 0. */
static int64_t s_log_time (const char *path, const char *what, int nth)
{
    FILE *f = fopen (path, "re");
    char line[2048];
    int64_t t = 0;
    while (f && fgets (line, sizeof line, f)) {
        if (!strstr (line, what)) continue;
        char *sp = strchr (line, ' ');
        if (sp) *sp = '\0';
        if (--nth <= 0 && hs_parse_time (line, &t) == 0) break;
        t = 0;
    }
    if (f) fclose (f);
    return t;
}

static void s_catchup (int n_rs, int per_rs)
{
    cluster_t c;
    s_cluster_up (&c, "replicas-catchup");
    char **uids = hs_calloc ((size_t)n_rs, sizeof *uids);
    s_create_rs (&c, n_rs, per_rs, uids);
    /* the pods, written directly: Commands of 1,000 */
    int64_t t_load = hs_mono_ns ();
    int total = n_rs * per_rs, sent = 0;
    while (sent < total) {
        {
            int k = total - sent < 1000 ? total - sent : 1000;
            Hs__Write **w = hs_calloc ((size_t)k, sizeof *w);
            for (int i = 0; i < k; i++) {
                int idx = sent + i, rs = idx / per_rs;
                char name[48], app[32];
                snprintf (name, sizeof name, "rs-%d-p%d", rs, idx % per_rs);
                snprintf (app, sizeof app, "rs-%d", rs);
                Hs__Object *o = hs_obj_new (HS_KIND_POD, "default", name);
                s_label (o->pod->metadata, "app", app);
                o->pod->spec = s_pod_spec (NULL);
                Hs__OwnerReference *ref = hs_pb_new (&hs__owner_reference__descriptor);
                hs_pb_set_str (&ref->api_version, "apps/v1");
                hs_pb_set_str (&ref->kind, "ReplicaSet");
                hs_pb_set_str (&ref->name, app);
                hs_pb_set_str (&ref->uid, uids[rs]);
                ref->controller = true;
                hs_pb_push ((void ***)&o->pod->metadata->owner_references,
                            &o->pod->metadata->n_owner_references, ref);
                w[i] = hs_write_new (HS__OP__OP_CREATE, o);
            }
            hs_call_opts_t opts = {.timeout_ms = 60000};
            Hs__Ack *ack = NULL;
            int r = hs_client_call (c.cl, w, (size_t)k, &opts, &ack);
            for (int i = 0; i < k; i++) hs_pb_free (w[i]);
            free (w);
            if (r < 0 || ack->code != HS__CODE__CODE_OK)
                bl_die ("cannot create pods: %s", r < 0 ? strerror (-r) : ack->message);
            hs_pb_free (ack);
            sent += k;
        }
    }
    double t_loaded = (double)(hs_mono_ns () - t_load) / 1e9;
    /* for comparison: a bare snapshot of every pod over the bus */
    hs_db_snapshot_t snap = {0};
    hs_kind_t kinds[] = {HS_KIND_POD, HS_KIND_REPLICASET, HS_KIND_DEPLOYMENT};
    int64_t t_snap = hs_mono_ns ();
    if (hs_client_snapshot (c.cl, kinds, 3, NULL, 60000, &snap) < 0) bl_die ("no snapshot");
    double snap_s = (double)(hs_mono_ns () - t_snap) / 1e9;
    hs_db_snapshot_free (&snap);
    _cleanup_free_ char *lrep = s_log (&c, "r1");
    pid_t rep = s_replicas (&c, "r1", "200");
    bl_wait_log (lrep, "first pass done", rep, 120000);
    /* settled: its status writes answered */
    hbs_t hb = {0};
    hs_client_on (c.cl, "hb.replicas.", s_on_hb, &hb);
    int64_t deadline = hs_mono_ns () + 60000 * MS;
    int quiet = 0;
    while (quiet < 4) {
        s_pump (&c, 250);
        quiet = hb.n && hb.inflight[0] == 0 ? quiet + 1 : 0;
        if (hs_mono_ns () > deadline) break;
    }
    printf ("\n== 3. catching up: %d pods of %d ReplicaSets in the store (loaded in %.1f s);\n"
            "   hs-replicas (--member-timeout-ms 200: a lone instance waits one member\n"
            "   timeout after its snapshot before acting) killed with SIGKILL, started again,\n"
            "   its snapshot over the bus, then read from the store's LMDB (--store-dir)\n\n",
            total, n_rs, t_loaded);
    printf ("%46s %10s %10s\n", "", "bus", "local");
    double synced_s[2] = {-1, -1}, pass_s[2] = {-1, -1};
    for (int round = 0; round < 2; round++) {
        kill (rep, SIGKILL);
        bl_stop (rep);
        int64_t t_start = hs_now_ns ();
        rep = s_replicas_at (&c, "r1", "200", round == 1);
        deadline = hs_mono_ns () + 120000 * MS;
        int nth = 2 + round;
        while (!s_log_time (lrep, "first pass done", nth)) {
            if (!bl_alive (rep) || hs_mono_ns () > deadline)
                bl_die ("hs-replicas did not come back");
            usleep (20000);
        }
        int64_t t_synced = s_log_time (lrep, "synced at revision", nth);
        int64_t t_pass = s_log_time (lrep, "first pass done", nth);
        if (t_synced) synced_s[round] = (double)(t_synced - t_start) / 1e9;
        if (t_pass) pass_s[round] = (double)(t_pass - t_start) / 1e9;
    }
    printf ("%46s %10.3f %10.3f\n", "start -> synced (snapshot loaded, indexed)", synced_s[0],
            synced_s[1]);
    printf ("%46s %10.3f %10.3f\n", "start -> first full pass done", pass_s[0], pass_s[1]);
    printf ("%46s %10.3f %10.3f\n", "  of which waiting out the member timeout", 0.2, 0.2);
    printf ("%46s %10.3f\n", "(a bare snapshot of the same over the bus)", snap_s);
    FILE *f = fopen (lrep, "re");
    char line[2048];
    while (f && fgets (line, sizeof line, f))
        if (strstr (line, "first pass done")) {
            char *p = strstr (line, "first pass done");
            fprintf (stdout, "   log: %s", p);
        }
    if (f) fclose (f);
    fflush (stdout);
    for (int i = 0; i < n_rs; i++) free (uids[i]);
    free (uids);
    s_cluster_down (&c);
}

/* ------------------------------------------------------------------ main */

static void s_usage (FILE *f)
{
    fprintf (f, "usage: bench-replicas [--bin DIR] [--quick] [--no-sync] [--only 1|2|3]\n"
                "  --quick    smaller: 100 x 20 pods; 2,000 replicas on 200 nodes; 20,000 pods\n"
                "  --no-sync  hs-store --no-sync (labelled; not durable)\n");
}

int main (int argc, char **argv)
{
    bl_init ("bench-replicas");
    const char *bin_dir = NULL;
    bool quick = false;
    int only = 0;
    static struct option opts[] = {
        {"bin", required_argument, 0, 'b'}, {"quick", no_argument, 0, 'q'},
        {"no-sync", no_argument, 0, 'N'},   {"only", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},      {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'b': bin_dir = optarg; break;
        case 'q': quick = true; break;
        case 'N': s_nosync = true; break;
        case 'o': only = atoi (optarg); break;
        case 'h': s_usage (stdout); return 0;
        default: s_usage (stderr); return 2;
        }
    }
    for (int i = 0; i < B_N; i++)
        if (!(s_bin[i] = bl_find_bin (s_names[i], bin_dir)))
            bl_die ("cannot find %s (--bin, $HS_BIN, next to bench-replicas); build it first",
                    s_names[i]);
    if (!only || only == 1) s_throughput (quick ? 100 : 200, quick ? 20 : 50, quick ? 1 : 3);
    if (!only || only == 2) s_rollout (quick ? 200 : 1000, quick ? 2000 : 10000);
    if (!only || only == 3) s_catchup (quick ? 200 : 1000, 100);
    for (int i = 0; i < B_N; i++) free (s_bin[i]);
    return 0;
}
