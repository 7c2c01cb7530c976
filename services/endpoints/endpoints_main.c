/*  endpoints_main.c: hs-endpoints' wiring (docs/architecture.md, "hs-endpoints"): flags,
 *  the controller loop (hs_ctrl), the indexes that make a pod's change cost
 *  only the Services it concerns, and the writes endpoints_sync.c decides.
 *
 *  One watch on Services, Pods and Endpoints. The callback keeps two
 *  indexes and a dirty set, and kicks a pass at once (hs_ctrl_kick): a pod
 *  leaving rotation must reach the Endpoints in milliseconds, not at the
 *  next resync.
 *
 *    - pods by label: "<ns>\x1f<key>\x1f<value>" -> the names of the pods
 *      carrying that label. A Service's candidates are the pods under the
 *      rarest of its selector's labels, so a sync reads ~its own pods, not
 *      the namespace's;
 *    - Services by one selector label (the smallest key): the same form of
 *      key -> Service names. A pod's change dirties only the Services under
 *      one of its labels (old or new) whose whole selector matches;
 *    - a Service's or its Endpoints' change dirties that Service.
 *
 *  A pass syncs the dirty Services this instance owns (rendezvous hashing
 *  of "ns/name"); every --resync-ms, when the membership changed, and the
 *  first time, it also sweeps them all ("full pass"), 2 ms of it per pass
 *  and dirty Services first, so a sweep over thousands never makes a pod
 *  change wait for it. A sync:
 *
 *    - Service gone: its Endpoints, if they carry our annotation (we wrote
 *      them, so the Service had a selector), are deleted, with their uid as
 *      precondition. The annotation is what lets a restarted instance
 *      clean up after a Service deleted while none ran; Endpoints without
 *      it (a selector-less Service's, the user's) are never touched;
 *    - Service without a selector: nothing (its Endpoints are the user's);
 *    - else endpoints_sync decides; nothing is written when the stored
 *      Endpoints already say it (endpoints_same), else a create, or an
 *      update with the revision and uid we saw (Conflict if someone wrote
 *      meanwhile: the next sync decides again from the newer state). An
 *      update keeps the object's other annotations, owner references and
 *      finalizers;
 *    - expectations: while a write is in flight, and until the cache shows
 *      the revision its ack named, the Service is not synced again (it
 *      stays dirty), so a burst of pod changes never writes from a stale
 *      cache. A refused or lost write holds the Service 20 ms, doubling to
 *      5 s while they keep failing;
 *    - a pod whose named targetPort resolves nowhere gets one Warning Event
 *      on the Service (MissingTargetPort) per instance lifetime while it
 *      stays so; a write the store refuses as Invalid or Forbidden, a
 *      Warning FailedToUpdateEndpoint.
 */
#include "endpoints_sync.h"
#include "hs_client.h"
#include "hs_ctrl.h"
#include "hs_log.h"
#include "hs_util.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MS              1000000LL
#define US              1000LL
#define CALL_TIMEOUT_MS 5000
#define SETTLE_POLL_NS  (50 * MS) /* a Service waiting for the cache looks again this often */
#define HOLD_MIN_MS     20        /* after a refused or lost write, doubling ... */
#define HOLD_MAX_MS     5000      /* ... to this */
#define SWEEP_SLICE_NS  (2 * MS)  /* a pass's share of a full sweep */

static char s_one; /* the value of set-like hashes */

/* What we remember about a Service between syncs. */
typedef struct {
    int inflight;       /* writes sent and not yet answered */
    int64_t barrier;    /* the cache must reach this revision before the next sync */
    int64_t hold_until; /* monotonic: a write failed; no sync before */
    int64_t hold_ms;
    char **reported; /* "<pod uid>/<port>" whose missing targetPort has had its Event */
    size_t n_reported;
    bool seen;    /* owned and looked at in the last full pass */
    uint64_t fp;  /* s_fingerprint of the inputs of the last sync that ... */
    bool fp_same; /* ... found the Endpoints as they should be */
} s_svc_t;

typedef enum { S_CREATE, S_UPDATE, S_DELETE } s_op_t;

struct self_t;

typedef struct {
    struct self_t *self;
    s_op_t op;
    char *key; /* "ns/name" */
} s_ctx_t;

typedef struct self_t {
    hs_ctrl_t *ctrl;
    hs_client_t *client;
    hs_watch_t *watch;
    int64_t resync_ns;
    zhashx_t *pods_by_label; /* label key -> zhashx (pod name -> &s_one) */
    zhashx_t *svcs_by_label; /* label key -> zhashx (service name -> &s_one) */
    zhashx_t *dirty;         /* "ns/name" -> &s_one */
    zhashx_t *svcs;          /* "ns/name" -> s_svc_t */
    bool full_pending;       /* no full pass yet: nothing to note per change */
    int64_t next_full;       /* monotonic: the next sweep starts */
    bool sweeping;           /* a full pass ("sweep") is under way */
    char **sweep;            /* its keys, taken as they are synced */
    size_t n_sweep, sweep_pos;
    int64_t sweep_ns, sweep_mono; /* its time inside passes; when it started */
    uint64_t membership;
    int64_t wake;
    uint64_t owned, total;
    uint64_t created, updated, deleted, refused, lost, syncs, skipped, full_passes, full_pass_us,
        missing_ports;
} self_t;

static void s_usage (FILE *f)
{
    fprintf (f, "usage: hs-endpoints [controller flags]\n"
                "Keeps the Endpoints of every Service with a selector: the addresses of the\n"
                "pods it selects, ready ones in rotation, the others in notReadyAddresses.\n");
    hs_ctrl_usage (f);
}

/* ------------------------------------------------------------------ indexes */

static char *s_label_key (const char *ns, const char *k, const char *v)
{
    return hs_sprintf ("%s\x1f%s\x1f%s", hs_s (ns), hs_s (k), hs_s (v));
}

static void s_set_destroy (void **item)
{
    zhashx_t *h = *item;
    zhashx_destroy (&h);
    *item = NULL;
}

static void s_index_add (zhashx_t *idx, const char *key, const char *name)
{
    zhashx_t *set = zhashx_lookup (idx, key);
    if (!set) {
        set = zhashx_new ();
        zhashx_insert (idx, key, set);
    }
    zhashx_insert (set, name, &s_one);
}

static void s_index_del (zhashx_t *idx, const char *key, const char *name)
{
    zhashx_t *set = zhashx_lookup (idx, key);
    if (!set) return;
    zhashx_delete (set, name);
    if (zhashx_size (set) == 0) zhashx_delete (idx, key);
}

static void s_pod_index (self_t *self, const Hs__ObjectMeta *m, bool add)
{
    for (size_t i = 0; m && i < m->n_labels; i++) {
        _cleanup_free_ char *k =
            s_label_key (m->namespace_, m->labels[i]->key, m->labels[i]->value);
        if (add)
            s_index_add (self->pods_by_label, k, m->name);
        else
            s_index_del (self->pods_by_label, k, m->name);
    }
}

/* The selector label a Service is filed under: the smallest key. */
static const Hs__ServiceSpec__SelectorEntry *s_svc_label (const Hs__Service *svc)
{
    const Hs__ServiceSpec__SelectorEntry *best = NULL;
    for (size_t i = 0; svc->spec && i < svc->spec->n_selector; i++)
        if (!best || strcmp (svc->spec->selector[i]->key, best->key) < 0)
            best = svc->spec->selector[i];
    return best;
}

static void s_svc_index (self_t *self, const Hs__Service *svc, bool add)
{
    const Hs__ServiceSpec__SelectorEntry *e = svc ? s_svc_label (svc) : NULL;
    if (!e || !svc->metadata) return;
    _cleanup_free_ char *k = s_label_key (svc->metadata->namespace_, e->key, e->value);
    if (add)
        s_index_add (self->svcs_by_label, k, svc->metadata->name);
    else
        s_index_del (self->svcs_by_label, k, svc->metadata->name);
}

static bool s_labels_equal (const Hs__ObjectMeta *a, const Hs__ObjectMeta *b)
{
    if (a->n_labels != b->n_labels) return false;
    for (size_t i = 0; i < a->n_labels; i++)
        if (!hs_streq (a->labels[i]->key, b->labels[i]->key) ||
            !hs_streq (a->labels[i]->value, b->labels[i]->value))
            return false;
    return true;
}

static char *s_key (const char *ns, const char *name)
{
    return hs_sprintf ("%s/%s", hs_s (ns), hs_s (name));
}

static void s_dirty (self_t *self, const char *ns, const char *name)
{
    _cleanup_free_ char *k = s_key (ns, name);
    zhashx_insert (self->dirty, k, &s_one);
}

/* Dirties the Services that select the pod's labels (m: its old or new
 * metadata). */
static void s_dirty_for_pod (self_t *self, const Hs__ObjectMeta *m)
{
    for (size_t i = 0; i < m->n_labels; i++) {
        _cleanup_free_ char *k =
            s_label_key (m->namespace_, m->labels[i]->key, m->labels[i]->value);
        zhashx_t *set = zhashx_lookup (self->svcs_by_label, k);
        if (!set) continue;
        for (void *it = zhashx_first (set); it; it = zhashx_next (set)) {
            const char *name = zhashx_cursor (set);
            const Hs__Object *so = hs_watch_get (self->watch, HS_KIND_SERVICE, m->namespace_, name);
            if (so && endpoints_selects_labels (so->service, (void *const *)m->labels, m->n_labels))
                s_dirty (self, m->namespace_, name);
        }
    }
}

/* ------------------------------------------------------------------ state */

static void s_svc_destroy (void **item)
{
    s_svc_t *s = *item;
    if (!s) return;
    for (size_t i = 0; i < s->n_reported; i++) free (s->reported[i]);
    free (s->reported);
    free (s);
    *item = NULL;
}

static s_svc_t *s_svc (self_t *self, const char *key)
{
    s_svc_t *s = zhashx_lookup (self->svcs, key);
    if (!s) {
        s = hs_calloc (1, sizeof *s);
        zhashx_insert (self->svcs, key, s);
    }
    return s;
}

static void s_ctx_free (void *arg)
{
    s_ctx_t *c = arg;
    free (c->key);
    free (c);
}

static void s_hold (s_svc_t *s)
{
    s->hold_ms = s->hold_ms ? s->hold_ms * 2 : HOLD_MIN_MS;
    if (s->hold_ms > HOLD_MAX_MS) s->hold_ms = HOLD_MAX_MS;
    s->hold_until = hs_mono_ns () + s->hold_ms * MS;
}

/* ------------------------------------------------------------------ writes */

static const char *s_op_name (s_op_t op)
{
    return op == S_CREATE ? "create" : op == S_UPDATE ? "update" : "delete";
}

/* A write the store refused for a reason another try will not change
 * (Invalid, Forbidden): logged once, and a Warning Event on the Service
 * (kube's FailedToUpdateEndpoint; repeats, one per hold, are merged). */
static void s_refused (self_t *self, const s_ctx_t *c, const char *why)
{
    hs_log_once (HS_LOG_WARN, "endpoints:refused", "endpoints %s: %s refused: %s", c->key,
                 s_op_name (c->op), why);
    const char *slash = strchr (c->key, '/');
    if (!slash || !self->watch) return;
    _cleanup_free_ char *ns = hs_strndup (c->key, (size_t)(slash - c->key));
    const Hs__Object *so = hs_watch_get (self->watch, HS_KIND_SERVICE, ns, slash + 1);
    if (so)
        hs_ctrl_event (self->ctrl, so, "Warning", "FailedToUpdateEndpoint",
                       "Failed to %s endpoint %s: %s", s_op_name (c->op), c->key, why);
}

static void s_on_ack (void *arg, int err, const Hs__Ack *ack)
{
    s_ctx_t *c = arg;
    self_t *self = c->self;
    s_svc_t *s = zhashx_lookup (self->svcs, c->key);
    bool ok = err == 0 && ack->code == HS__CODE__CODE_OK;
    bool gone = err == 0 && ack->code == HS__CODE__CODE_NOT_FOUND && c->op == S_DELETE;
    if (s) {
        if (s->inflight > 0) s->inflight--;
        if (err == 0 && ack->revision > s->barrier) s->barrier = ack->revision;
        if (ok || gone)
            s->hold_ms = 0;
        else
            s_hold (s);
    }
    if (ok) {
        if (c->op == S_CREATE) {
            self->created++;
            log_info ("endpoints %s created", c->key);
        } else if (c->op == S_UPDATE) {
            self->updated++;
            log_debug ("endpoints %s updated", c->key);
        } else {
            self->deleted++;
            log_info ("endpoints %s deleted: the service is gone", c->key);
        }
    } else if (!gone) {
        /* Conflict, AlreadyExists, NotFound: someone wrote first; the
         * cache shows it shortly and the next sync decides again. */
        if (err) {
            self->lost++;
            hs_log_once (HS_LOG_WARN, "endpoints:lost", "endpoints %s: %s not answered: %s", c->key,
                         s_op_name (c->op), strerror (-err));
        } else {
            self->refused++;
            if (ack->code == HS__CODE__CODE_CONFLICT ||
                ack->code == HS__CODE__CODE_ALREADY_EXISTS || ack->code == HS__CODE__CODE_NOT_FOUND)
                log_debug ("endpoints %s: %s refused: %s", c->key, s_op_name (c->op), ack->message);
            else
                s_refused (self, c, ack->message);
        }
    }
    zhashx_insert (self->dirty, c->key, &s_one);
    hs_ctrl_kick (self->ctrl);
    s_ctx_free (c);
}

/* Sends one write (taken) for the Service at key. */
static void s_send (self_t *self, Hs__Write *w, s_op_t op, const char *key, s_svc_t *s)
{
    s_ctx_t *c = hs_calloc (1, sizeof *c);
    c->self = self;
    c->op = op;
    c->key = hs_strdup (key);
    hs_call_opts_t opts = {.timeout_ms = CALL_TIMEOUT_MS, .retry_ms = 100, .free_arg = s_ctx_free};
    int r = hs_client_send (self->client, &w, 1, &opts, s_on_ack, c);
    hs_pb_free (w);
    if (r < 0) {
        hs_log_once (HS_LOG_WARN, "endpoints:send", "cannot send a write: %s (not logged again)",
                     strerror (-r));
        s_ctx_free (c);
        s_hold (s);
        return;
    }
    s->inflight++;
}

/* The update of have to want's content: have's metadata (its annotations,
 * owner references, finalizers) with want's labels and our annotations. */
static Hs__Object *s_update_obj (const Hs__Endpoints *have, Hs__Endpoints *want)
{
    Hs__ObjectMeta *m = hs_pb_dup (have->metadata);
    for (size_t i = 0; i < m->n_labels; i++) hs_pb_free (m->labels[i]);
    free (m->labels);
    m->labels = TAKE_PTR (want->metadata->labels);
    m->n_labels = want->metadata->n_labels;
    want->metadata->n_labels = 0;
    /* ours (managed-by, over-capacity) as want says, the others kept */
    size_t k = 0;
    for (size_t i = 0; i < m->n_annotations; i++) {
        Hs__ObjectMeta__AnnotationsEntry *a = m->annotations[i];
        if (hs_streq (a->key, ENDPOINTS_MANAGED_BY) || hs_streq (a->key, ENDPOINTS_OVER_CAPACITY))
            hs_pb_free (a);
        else
            m->annotations[k++] = a;
    }
    m->n_annotations = k;
    for (size_t i = 0; i < want->metadata->n_annotations; i++)
        hs_pb_map_set ((void ***)&m->annotations, &m->n_annotations,
                       &hs__object_meta__annotations_entry__descriptor,
                       want->metadata->annotations[i]->key, want->metadata->annotations[i]->value);
    hs_pb_map_sort ((void **)m->annotations, m->n_annotations);
    hs_pb_free (want->metadata);
    want->metadata = m;
    return hs_obj_wrap (HS_KIND_ENDPOINTS, &want->base);
}

/* ------------------------------------------------------------------ a sync */

/* The pods that may be the Service's: those under its rarest selector
 * label (borrowed from the cache; free the array). */
static size_t s_candidates (self_t *self, const Hs__Service *svc, const Hs__Pod ***ret)
{
    const char *ns = svc->metadata->namespace_;
    zhashx_t *best = NULL;
    for (size_t i = 0; i < svc->spec->n_selector; i++) {
        const Hs__ServiceSpec__SelectorEntry *e = svc->spec->selector[i];
        _cleanup_free_ char *k = s_label_key (ns, e->key, e->value);
        zhashx_t *set = zhashx_lookup (self->pods_by_label, k);
        if (!set) { /* no pod has this label: none is selected */
            *ret = NULL;
            return 0;
        }
        if (!best || zhashx_size (set) < zhashx_size (best)) best = set;
    }
    size_t n = 0;
    const Hs__Pod **v = hs_calloc (zhashx_size (best) + 1, sizeof *v);
    for (void *it = zhashx_first (best); it; it = zhashx_next (best)) {
        const Hs__Object *o = hs_watch_get (self->watch, HS_KIND_POD, ns, zhashx_cursor (best));
        if (o && o->pod) v[n++] = o->pod;
    }
    *ret = v;
    return n;
}

/* 64-bit FNV-1a of s, continuing from h. */
static uint64_t s_fnv (uint64_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)hs_s (s); *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* splitmix64's finalizer: spreads a value over all 64 bits. */
static uint64_t s_mix (uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t s_meta_hash (const Hs__ObjectMeta *m)
{
    uint64_t h = s_fnv (0xcbf29ce484222325ULL, m ? m->uid : "");
    h = s_fnv (h, m ? m->name : "");
    return s_mix (h ^ (uint64_t)(m ? m->resource_version : 0));
}

/* What a sync of the Service reads, as one number: the Service, its
 * Endpoints (or none) and the candidate pods, each by uid, name and
 * revision; the pods summed, so their order does not matter. */
static uint64_t s_fingerprint (const Hs__Service *svc, const Hs__Endpoints *have,
                               const Hs__Pod *const *pods, size_t n)
{
    uint64_t h = s_meta_hash (svc->metadata) * 3 + (have ? s_meta_hash (have->metadata) : 1);
    uint64_t sum = n;
    for (size_t i = 0; i < n; i++) sum += s_meta_hash (pods[i]->metadata);
    return s_mix (h ^ s_mix (sum));
}

/* One Event per pod and port while its targetPort stays missing. */
static void s_report_missing (self_t *self, const Hs__Object *so, s_svc_t *s,
                              const endpoints_plan_t *plan)
{
    char **now = hs_calloc (plan->n_missing + 1, sizeof *now);
    for (size_t i = 0; i < plan->n_missing; i++) {
        const endpoints_missing_t *x = &plan->missing[i];
        now[i] = hs_sprintf ("%s/%s", x->pod_uid, x->port);
        bool known = false;
        for (size_t j = 0; j < s->n_reported && !known; j++)
            known = strcmp (s->reported[j], now[i]) == 0;
        if (known) continue;
        self->missing_ports++;
        hs_ctrl_event (self->ctrl, so, "Warning", "MissingTargetPort",
                       "pod %s has no container port named \"%s\" (%s) for port \"%s\": it stays "
                       "in notReadyAddresses",
                       x->pod, x->target, x->protocol, x->port);
    }
    for (size_t j = 0; j < s->n_reported; j++) free (s->reported[j]);
    free (s->reported);
    s->reported = now;
    s->n_reported = plan->n_missing;
}

static void s_sync (self_t *self, const char *key, int64_t now)
{
    const char *slash = strchr (key, '/');
    if (!slash) return;
    _cleanup_free_ char *ns = hs_strndup (key, (size_t)(slash - key));
    const char *name = slash + 1;
    if (!hs_ctrl_owns (self->ctrl, key)) return;
    s_svc_t *s = s_svc (self, key);
    s->seen = true;
    /* not before the cache shows what we wrote last */
    if (s->inflight > 0) {
        zhashx_insert (self->dirty, key, &s_one);
        return;
    }
    if (s->hold_until > now) {
        zhashx_insert (self->dirty, key, &s_one);
        if (s->hold_until < self->wake) self->wake = s->hold_until;
        return;
    }
    if (hs_watch_revision (self->watch) < s->barrier) {
        zhashx_insert (self->dirty, key, &s_one);
        if (now + SETTLE_POLL_NS < self->wake) self->wake = now + SETTLE_POLL_NS;
        return;
    }
    self->syncs++;
    const Hs__Object *so = hs_watch_get (self->watch, HS_KIND_SERVICE, ns, name);
    const Hs__Object *eo = hs_watch_get (self->watch, HS_KIND_ENDPOINTS, ns, name);
    const Hs__Endpoints *have = eo ? eo->endpoints : NULL;
    if (!so || !so->service) {
        if (endpoints_should_delete (NULL, have)) {
            Hs__Write *w = hs_write_target (HS__OP__OP_DELETE, HS_KIND_ENDPOINTS, ns, name);
            hs_pb_set_str (&w->expected_uid, have->metadata->uid);
            s_send (self, w, S_DELETE, key, s);
        }
        return;
    }
    const Hs__Service *svc = so->service;
    if (!svc->metadata || !endpoints_managed (svc)) return; /* the user's Endpoints */
    const Hs__Pod **pods = NULL;
    size_t n = s_candidates (self, svc, &pods);
    /* The sync is a function of these objects alone: if none changed since
     * one that found nothing to write, it would find nothing again. */
    uint64_t fp = s_fingerprint (svc, have, pods, n);
    if (s->fp_same && s->fp == fp) {
        free (pods);
        self->skipped++;
        return;
    }
    s->fp_same = false;
    endpoints_plan_t plan;
    int r = endpoints_sync (svc, pods, n, &plan);
    free (pods);
    if (r < 0) return;
    if (plan.n_missing || s->n_reported) s_report_missing (self, so, s, &plan);
    if (have && endpoints_same (have, plan.want)) {
        s->fp = fp;
        s->fp_same = true;
        endpoints_plan_clear (&plan);
        return;
    }
    Hs__Endpoints *want = TAKE_PTR (plan.want);
    Hs__Write *w;
    if (have) {
        w = hs_write_new (HS__OP__OP_UPDATE, s_update_obj (have, want));
        w->expected_revision = have->metadata->resource_version;
        hs_pb_set_str (&w->expected_uid, have->metadata->uid);
    } else {
        w = hs_write_new (HS__OP__OP_CREATE, hs_obj_wrap (HS_KIND_ENDPOINTS, &want->base));
    }
    log_debug ("endpoints %s: %zu ready, %zu not ready", key, plan.n_ready, plan.n_not_ready);
    s_send (self, w, have ? S_UPDATE : S_CREATE, key, s);
    endpoints_plan_clear (&plan);
}

/* ------------------------------------------------------------------ the pass */

/* The keys of a full sweep: every Service with a selector, and our
 * Endpoints whose Service is gone (deleted while no instance ran, or while
 * its delete was refused). */
static void s_sweep_start (self_t *self)
{
    for (size_t i = self->sweep_pos; i < self->n_sweep; i++) free (self->sweep[i]);
    free (self->sweep);
    self->sweep = NULL;
    self->n_sweep = self->sweep_pos = 0;
    self->sweep_ns = 0;
    self->sweep_mono = hs_mono_ns ();
    for (s_svc_t *s = zhashx_first (self->svcs); s; s = zhashx_next (self->svcs)) s->seen = false;
    const Hs__Object **v = NULL;
    size_t n = hs_watch_list (self->watch, HS_KIND_SERVICE, &v);
    const Hs__Object **e = NULL;
    size_t ne = hs_watch_list (self->watch, HS_KIND_ENDPOINTS, &e);
    self->sweep = hs_calloc (n + ne + 1, sizeof *self->sweep);
    self->owned = self->total = 0;
    for (size_t i = 0; i < n; i++) {
        const Hs__ObjectMeta *m = v[i]->service->metadata;
        if (!m || !endpoints_managed (v[i]->service)) continue;
        char *key = s_key (m->namespace_, m->name);
        self->total++;
        if (hs_ctrl_owns (self->ctrl, key)) self->owned++;
        self->sweep[self->n_sweep++] = key;
    }
    for (size_t i = 0; i < ne; i++) {
        const Hs__ObjectMeta *m = e[i]->endpoints->metadata;
        if (m && endpoints_ours (e[i]->endpoints) &&
            !hs_watch_get (self->watch, HS_KIND_SERVICE, m->namespace_, m->name))
            self->sweep[self->n_sweep++] = s_key (m->namespace_, m->name);
    }
    free (v);
    free (e);
    self->sweeping = true;
}

static void s_sweep_end (self_t *self)
{
    /* forget Services we no longer own or that are gone, once answered */
    zlistx_t *gone = zlistx_new ();
    for (s_svc_t *s = zhashx_first (self->svcs); s; s = zhashx_next (self->svcs))
        if (!s->seen && s->inflight == 0) zlistx_add_end (gone, (void *)zhashx_cursor (self->svcs));
    for (const char *k = zlistx_first (gone); k; k = zlistx_next (gone))
        zhashx_delete (self->svcs, k);
    zlistx_destroy (&gone);
    free (self->sweep);
    self->sweep = NULL;
    self->n_sweep = self->sweep_pos = 0;
    self->sweeping = false;
    self->full_passes++;
    self->full_pass_us = (uint64_t)(self->sweep_ns / US);
    long long wall_ms = (hs_mono_ns () - self->sweep_mono) / MS;
    if (self->full_passes == 1)
        log_info ("first pass done: %llu service(s) with a selector, %llu owned, in %llu us of "
                  "passes over %lld ms",
                  (unsigned long long)self->total, (unsigned long long)self->owned,
                  (unsigned long long)self->full_pass_us, wall_ms);
    else
        log_debug ("full pass: %llu owned in %llu us of passes over %lld ms",
                   (unsigned long long)self->owned, (unsigned long long)self->full_pass_us,
                   wall_ms);
}

/* A pass: the dirty Services first (a pod that just left rotation does not
 * wait behind a resync), then the sweep, for at most SWEEP_SLICE_NS per
 * pass, so a sweep over thousands of Services never holds the loop (and
 * the next pod change) for more than a slice. */
static int64_t s_pass (void *arg, hs_ctrl_t *ctrl, int64_t now)
{
    self_t *self = arg;
    if (!self->watch) self->watch = hs_ctrl_watch (ctrl);
    self->wake = INT64_MAX;
    uint64_t gen = hs_ctrl_membership (ctrl);
    if (self->full_pending || now >= self->next_full || gen != self->membership) {
        self->full_pending = false;
        self->membership = gen;
        self->next_full = now + self->resync_ns;
        s_sweep_start (self);
    }
    if (zhashx_size (self->dirty)) {
        zhashx_t *work = self->dirty;
        self->dirty = zhashx_new ();
        for (void *it = zhashx_first (work); it; it = zhashx_next (work))
            s_sync (self, zhashx_cursor (work), now);
        zhashx_destroy (&work);
    }
    if (self->sweeping) {
        int64_t t0 = hs_mono_ns (), t = t0;
        while (self->sweep_pos < self->n_sweep && t - t0 < SWEEP_SLICE_NS) {
            char *key = self->sweep[self->sweep_pos++];
            s_sync (self, key, now);
            free (key);
            t = hs_mono_ns ();
        }
        self->sweep_ns += t - t0;
        if (self->sweep_pos == self->n_sweep)
            s_sweep_end (self);
        else
            self->wake = now; /* the rest at the next turn, after the bus */
    }
    return self->next_full < self->wake ? self->next_full : self->wake;
}

/* ------------------------------------------------------------------ callbacks */

static void s_on_change (void *arg, Hs__EventType type, const Hs__Object *obj,
                         const Hs__Object *old)
{
    self_t *self = arg;
    bool deleted = type == HS__EVENT_TYPE__DELETED;
    switch (hs_obj_kind (obj)) {
    case HS_KIND_POD: {
        const Hs__ObjectMeta *m = obj->pod->metadata, *om = old ? old->pod->metadata : NULL;
        if (!m) return;
        const Hs__ObjectMeta *was = om ? om : deleted ? m : NULL;
        bool relabel = deleted || !om || !s_labels_equal (m, om);
        if (relabel && was) s_pod_index (self, was, false);
        if (relabel && !deleted) s_pod_index (self, m, true);
        if (self->full_pending) return; /* the first sweep looks at everything */
        s_dirty_for_pod (self, m);
        if (om && relabel) s_dirty_for_pod (self, om);
        break;
    }
    case HS_KIND_SERVICE: {
        const Hs__ObjectMeta *m = obj->service->metadata;
        if (!m) return;
        if (old) s_svc_index (self, old->service, false);
        if (!deleted) s_svc_index (self, obj->service, true);
        if (!self->full_pending) s_dirty (self, m->namespace_, m->name);
        break;
    }
    case HS_KIND_ENDPOINTS: {
        const Hs__ObjectMeta *m = obj->endpoints->metadata;
        if (m && !self->full_pending) s_dirty (self, m->namespace_, m->name);
        break;
    }
    default: return;
    }
    if (!self->full_pending && zhashx_size (self->dirty)) hs_ctrl_kick (self->ctrl);
}

static int s_start (void *arg, hs_ctrl_t *ctrl)
{
    self_t *self = arg;
    self->ctrl = ctrl;
    self->client = hs_ctrl_client (ctrl);
    return 0;
}

static size_t s_counters (void *arg, const char **names, uint64_t *values, size_t max)
{
    self_t *self = arg;
    const char *n[] = {"created", "updated", "deleted",     "refused",      "lost",
                       "syncs",   "skipped", "full_passes", "missing_ports"};
    uint64_t v[] = {self->created, self->updated, self->deleted,     self->refused,      self->lost,
                    self->syncs,   self->skipped, self->full_passes, self->missing_ports};
    size_t k = 0;
    for (; k < HS_ARRAY_LEN (n) && k < max; k++) {
        names[k] = n[k];
        values[k] = v[k];
    }
    return k;
}

static size_t s_gauges (void *arg, const char **names, double *values, size_t max)
{
    self_t *self = arg;
    const char *n[] = {"full_pass_us", "inflight"};
    const double v[] = {(double)self->full_pass_us,
                        self->client ? (double)hs_client_inflight (self->client) : 0};
    size_t k = 0;
    for (; k < HS_ARRAY_LEN (n) && k < max; k++) {
        names[k] = n[k];
        values[k] = v[k];
    }
    return k;
}

/* work_queue_length: the Services marked dirty, waiting for a pass. */
static size_t s_queue (void *arg)
{
    self_t *self = arg;
    return zhashx_size (self->dirty);
}

static void s_share (void *arg, uint64_t *owned, uint64_t *total)
{
    self_t *self = arg;
    *owned = self->owned;
    *total = self->total;
}

/* ------------------------------------------------------------------ main */

int main (int argc, char **argv)
{
    hs_log_init ("hs-endpoints");
    self_t self = {.full_pending = true};
    hs_ctrl_opts_t o = {0};
    int rc;
    if (!hs_ctrl_args (argc, argv, "hs-endpoints", &o, NULL, NULL, NULL, NULL, s_usage, &rc))
        return rc;
    self.resync_ns = (o.resync_ms ? o.resync_ms : 10000) * MS;
    self.pods_by_label = zhashx_new ();
    zhashx_set_destructor (self.pods_by_label, s_set_destroy);
    self.svcs_by_label = zhashx_new ();
    zhashx_set_destructor (self.svcs_by_label, s_set_destroy);
    self.dirty = zhashx_new ();
    self.svcs = zhashx_new ();
    zhashx_set_destructor (self.svcs, s_svc_destroy);

    static const hs_kind_t kinds[] = {HS_KIND_SERVICE, HS_KIND_POD, HS_KIND_ENDPOINTS};
    hs_ctrl_ops_t ops = {.component = "hs-endpoints",
                         .role = "endpoints",
                         .kinds = kinds,
                         .n_kinds = HS_ARRAY_LEN (kinds),
                         .on_change = s_on_change,
                         .start = s_start,
                         .pass = s_pass,
                         .counters = s_counters,
                         .share = s_share,
                         .gauges = s_gauges,
                         .queue = s_queue,
                         .arg = &self};
    rc = hs_ctrl_run (&o, &ops);
    zhashx_destroy (&self.pods_by_label);
    zhashx_destroy (&self.svcs_by_label);
    zhashx_destroy (&self.dirty);
    zhashx_destroy (&self.svcs);
    for (size_t i = self.sweep_pos; i < self.n_sweep; i++) free (self.sweep[i]);
    free (self.sweep);
    return rc;
}
