/*  replicas_main.c: hs-replicas' wiring: flags, the controller loop
 *  (hs_ctrl), the indexes over the watch's cache, expectations, sending
 *  plans and reading their acks, Events, garbage collection (docs/architecture.md §13).
 *  The decisions are in rs_sync.c, deploy_sync.c and owner_gc.c.
 *
 *  Ownership. Each instance syncs the ReplicaSets and Deployments whose
 *  "ns/name" it owns (hs_ctrl_owns, rendezvous hashing over the live
 *  instances), and collects the garbage whose own "ns/name" it owns.
 *
 *  Level-triggered. The watch callback only updates indexes (pods and
 *  ReplicaSets by controller uid, orphans by namespace, uids of the owners)
 *  and marks the objects a change concerns dirty; a pass syncs the dirty,
 *  newly owned or due objects it owns, each re-derived from the whole cache,
 *  and every --resync-ms all of them.
 *
 *  Expectations. Once a Command for an object is sent, the object is left
 *  alone until the Command is answered (ok, refused or timed out) and the
 *  watch shows its result: the watch's revision reaches the highest
 *  resourceVersion the ack reports. So a lagging cache never makes us
 *  create or delete twice. A Deployment also waits while a Command touching
 *  one of its ReplicaSets is in flight. After 30 s without the watch showing
 *  an acked write we log it and act again. A pass handles Deployments before
 *  ReplicaSets, so a ReplicaSet a Deployment just scaled waits for it.
 *
 *  Garbage. Pods and ReplicaSets are indexed by the uid of their controller
 *  (a ReplicaSet or Deployment); a uid no cached owner of that kind has is
 *  gone, and its dependents are deleted (background cascade) under
 *  owner_gc.h's guards against a lagging cache.
 */
#include "deploy_sync.h"
#include "hs_ctrl.h"
#include "hs_log.h"
#include "hs_util.h"
#include "hs_workload.h"
#include "owner_gc.h"
#include "replicas_plan.h"
#include "rs_sync.h"

#include <czmq.h>
#include <errno.h>
#include <malloc.h>
#include <string.h>
#include <unistd.h>

#define MS                1000000LL
#define CALL_TIMEOUT_MS   10000
#define EXPECT_TIMEOUT_NS (30000 * MS)
#define RECHECK_NS        (200 * MS) /* waiting for the watch: look again at least this often */
#define BACKOFF_MIN_MS    500
#define BACKOFF_MAX_MS    30000
#define RETRY_NS          (100 * MS) /* after a Conflict */
#define GC_RETRY_NS       (5000 * MS)

typedef enum { S_RS, S_DEPLOY } s_kind_t;

/* What we know of one ReplicaSet or Deployment. */
typedef struct {
    char *key; /* "ns/name" */
    char *ns, *name;
    s_kind_t kind;
    uint64_t serial; /* a new object under the same name is a new state */
    bool dirty, owned;
    int64_t due;      /* monotonic; INT64_MAX: none */
    int inflight;     /* Commands touching it, not yet answered */
    int64_t need_rev; /* the watch must reach this revision first */
    int64_t expect_until;
    int64_t backoff_until;
    int backoff_ms;
} s_obj_t;

/* The dependents of one controller uid. */
typedef struct {
    char kind[16];  /* "ReplicaSet" | "Deployment" */
    zhashx_t *deps; /* "p:ns/name" | "r:ns/name" -> (void *)1 */
    int64_t missing_since;
} s_owner_t;

typedef struct {
    int64_t until; /* monotonic: do not send again before */
    bool inflight;
} s_gc_t;

struct self_t;

typedef struct {
    s_kind_t kind;
    char *key;
    uint64_t serial;
} s_touch_t;

/* An answer we wait for: freed by its callback, or by the client at exit
 * when the callback never runs (hs_call_opts_t.free_arg). */
typedef struct s_ack_t {
    struct self_t *self;
    s_kind_t kind; /* the subject: Events are about it */
    char *ns, *name, *uid;
    s_touch_t *touch;
    size_t n_touch;
    rp_tag_t *tags;
    char **reasons, **messages, **targets;
    size_t n;
    char *gc_key; /* a garbage delete */
} s_ack_t;

typedef struct self_t {
    hs_ctrl_t *ctrl;
    hs_watch_t *w;
    const char *instance;
    char host[256];
    int resync_ms;
    zhashx_t *rss, *deploys;       /* "ns/name" -> s_obj_t */
    zhashx_t *uid_rs, *uid_deploy; /* uid -> "ns/name" */
    zhashx_t *owners;              /* controller uid -> s_owner_t */
    zhashx_t *orphan_pods;         /* ns -> zhashx of pod names */
    zhashx_t *orphan_rs;           /* ns -> zhashx of ReplicaSet names */
    zhashx_t *gc;                  /* "p:ns/name" | "r:ns/name" -> s_gc_t */
    uint64_t serial;
    int64_t next_full;
    size_t last_members;
    bool first_done;
    uint64_t n_pods, owned;
    int64_t index_ns; /* spent indexing the first snapshot */
    /* counters */
    uint64_t pods_created, pods_deleted, pods_adopted, pods_released, rs_created, rs_updated,
        rs_deleted, status_writes, gc_deleted, conflicts, failures, syncs, full_passes;
} self_t;

/* ------------------------------------------------------------------ tables */

/* The watch (hs_ctrl creates it after s_start). */
static hs_watch_t *s_w (self_t *self)
{
    if (!self->w) self->w = hs_ctrl_watch (self->ctrl);
    return self->w;
}

static void s_obj_destroy (void **item)
{
    s_obj_t *o = *item;
    if (!o) return;
    free (o->key);
    free (o->ns);
    free (o->name);
    free (o);
    *item = NULL;
}

static void s_owner_destroy (void **item)
{
    s_owner_t *o = *item;
    if (!o) return;
    zhashx_destroy (&o->deps);
    free (o);
    *item = NULL;
}

static void s_set_destroy (void **item)
{
    zhashx_t *h = *item;
    zhashx_destroy (&h);
    *item = NULL;
}

static void s_free_item (void **item)
{
    free (*item);
    *item = NULL;
}

static zhashx_t *s_table (zhashx_destructor_fn *d)
{
    zhashx_t *h = zhashx_new ();
    if (d) zhashx_set_destructor (h, d);
    return h;
}

static zhashx_t *s_states (self_t *self, s_kind_t kind)
{
    return kind == S_RS ? self->rss : self->deploys;
}

static s_obj_t *s_state (self_t *self, s_kind_t kind, const char *ns, const char *name, bool create)
{
    char key[512];
    snprintf (key, sizeof key, "%s/%s", hs_s (ns), hs_s (name));
    zhashx_t *t = s_states (self, kind);
    s_obj_t *o = zhashx_lookup (t, key);
    if (o || !create) return o;
    o = hs_calloc (1, sizeof *o);
    o->key = hs_strdup (key);
    o->ns = hs_strdup (ns);
    o->name = hs_strdup (name);
    o->kind = kind;
    o->serial = ++self->serial;
    o->due = INT64_MAX;
    o->dirty = true;
    zhashx_insert (t, key, o);
    return o;
}

static void s_dirty (self_t *self, s_obj_t *o)
{
    if (!o || !self->first_done) return; /* the first pass looks at everything */
    o->dirty = true;
    hs_ctrl_kick (self->ctrl);
}

static s_obj_t *s_state_by_uid (self_t *self, s_kind_t kind, const char *uid)
{
    if (hs_empty (uid)) return NULL;
    const char *key = zhashx_lookup (kind == S_RS ? self->uid_rs : self->uid_deploy, uid);
    return key ? zhashx_lookup (s_states (self, kind), key) : NULL;
}

static void s_dirty_ns (self_t *self, s_kind_t kind, const char *ns)
{
    if (!self->first_done) return;
    zhashx_t *t = s_states (self, kind);
    for (s_obj_t *o = zhashx_first (t); o; o = zhashx_next (t))
        if (hs_streq (o->ns, ns)) s_dirty (self, o);
}

/* A ReplicaSet's Deployment, by the cached ReplicaSet's controller reference. */
static void s_dirty_parent (self_t *self, const char *rs_uid)
{
    if (!self->first_done) return;
    s_obj_t *rs = s_state_by_uid (self, S_RS, rs_uid);
    if (!rs) return;
    const Hs__Object *o = hs_watch_get (s_w (self), HS_KIND_REPLICASET, rs->ns, rs->name);
    const Hs__OwnerReference *ref = o ? hs_controller_ref (o->replica_set->metadata) : NULL;
    if (ref && hs_streq (ref->kind, "Deployment"))
        s_dirty (self, s_state_by_uid (self, S_DEPLOY, ref->uid));
}

static void s_set_add (zhashx_t *sets, const char *ns, const char *name)
{
    zhashx_t *s = zhashx_lookup (sets, ns);
    if (!s) {
        s = zhashx_new ();
        zhashx_insert (sets, ns, s);
    }
    zhashx_update (s, name, (void *)1);
}

static void s_set_del (zhashx_t *sets, const char *ns, const char *name)
{
    zhashx_t *s = zhashx_lookup (sets, ns);
    if (!s) return;
    zhashx_delete (s, name);
    if (zhashx_size (s) == 0) zhashx_delete (sets, ns);
}

static void s_owner_add (self_t *self, const Hs__OwnerReference *ref, const char *dep)
{
    s_owner_t *o = zhashx_lookup (self->owners, ref->uid);
    if (!o) {
        o = hs_calloc (1, sizeof *o);
        snprintf (o->kind, sizeof o->kind, "%s", ref->kind);
        o->deps = zhashx_new ();
        zhashx_insert (self->owners, ref->uid, o);
    }
    zhashx_update (o->deps, dep, (void *)1);
}

static void s_owner_del (self_t *self, const char *uid, const char *dep)
{
    s_owner_t *o = zhashx_lookup (self->owners, uid);
    if (!o) return;
    zhashx_delete (o->deps, dep);
    if (zhashx_size (o->deps) == 0) zhashx_delete (self->owners, uid);
}

/* The controller reference we index: to a ReplicaSet or a Deployment. */
static const Hs__OwnerReference *s_ref (const Hs__ObjectMeta *m)
{
    const Hs__OwnerReference *r = hs_controller_ref (m);
    if (!r || hs_empty (r->uid)) return NULL;
    return hs_streq (r->kind, "ReplicaSet") || hs_streq (r->kind, "Deployment") ? r : NULL;
}

/* ------------------------------------------------------------------ the watch */

/* Indexes one dependent (pod: 'p', ReplicaSet: 'r') moving from was to now
 * (either may be NULL); returns the controller uids before and after. */
static void s_index_dep (self_t *self, char tag, const Hs__ObjectMeta *was,
                         const Hs__ObjectMeta *now, zhashx_t *orphans)
{
    const Hs__ObjectMeta *m = now ? now : was;
    char dep[512];
    snprintf (dep, sizeof dep, "%c:%s/%s", tag, hs_s (m->namespace_), hs_s (m->name));
    const Hs__OwnerReference *rw = was ? s_ref (was) : NULL, *rn = now ? s_ref (now) : NULL;
    bool ow = was && !hs_controller_ref (was), on = now && !hs_controller_ref (now);
    if (was && now && ow == on && (rw ? rn && hs_streq (rw->uid, rn->uid) : !rn)) return;
    if (rw) s_owner_del (self, rw->uid, dep);
    if (ow) s_set_del (orphans, was->namespace_, was->name);
    if (rn) s_owner_add (self, rn, dep);
    if (on) s_set_add (orphans, now->namespace_, now->name);
}

static void s_on_pod (self_t *self, Hs__EventType type, const Hs__Pod *pod, const Hs__Pod *old)
{
    const Hs__ObjectMeta *now = type == HS__EVENT_TYPE__DELETED ? NULL : pod->metadata;
    const Hs__ObjectMeta *was = type == HS__EVENT_TYPE__ADDED ? NULL : old ? old->metadata : NULL;
    if (type == HS__EVENT_TYPE__DELETED) was = pod->metadata;
    if (!now && !was) return;
    if (type == HS__EVENT_TYPE__ADDED) self->n_pods++;
    if (type == HS__EVENT_TYPE__DELETED && self->n_pods) self->n_pods--;
    s_index_dep (self, 'p', was, now, self->orphan_pods);
    const Hs__ObjectMeta *ms[2] = {was, now};
    bool orphan = false;
    for (int i = 0; i < 2; i++) {
        if (!ms[i]) continue;
        const Hs__OwnerReference *r = hs_controller_ref (ms[i]);
        if (!r)
            orphan = true;
        else if (hs_streq (r->kind, "ReplicaSet")) {
            s_dirty (self, s_state_by_uid (self, S_RS, r->uid));
            s_dirty_parent (self, r->uid);
        }
    }
    if (orphan) s_dirty_ns (self, S_RS, (now ? now : was)->namespace_);
}

static void s_on_owner (self_t *self, s_kind_t kind, Hs__EventType type, const Hs__ObjectMeta *m,
                        const Hs__ObjectMeta *old_m)
{
    zhashx_t *uids = kind == S_RS ? self->uid_rs : self->uid_deploy;
    if (type == HS__EVENT_TYPE__DELETED) {
        char key[512];
        snprintf (key, sizeof key, "%s/%s", hs_s (m->namespace_), hs_s (m->name));
        const char *k = zhashx_lookup (uids, m->uid);
        if (k && hs_streq (k, key)) zhashx_delete (uids, m->uid);
        zhashx_delete (s_states (self, kind), key);
        hs_ctrl_kick (self->ctrl); /* garbage may have appeared */
        return;
    }
    s_obj_t *o = s_state (self, kind, m->namespace_, m->name, true);
    if (old_m && !hs_streq (old_m->uid, m->uid)) {
        zhashx_delete (uids, old_m->uid);
        o->serial = ++self->serial; /* deleted and created again between two looks */
    }
    zhashx_update (uids, m->uid, hs_strdup (o->key));
    s_dirty (self, o);
}

static void s_on_rs (self_t *self, Hs__EventType type, const Hs__ReplicaSet *rs,
                     const Hs__ReplicaSet *old)
{
    const Hs__ObjectMeta *now = type == HS__EVENT_TYPE__DELETED ? NULL : rs->metadata;
    const Hs__ObjectMeta *was = type == HS__EVENT_TYPE__ADDED ? NULL : old ? old->metadata : NULL;
    if (type == HS__EVENT_TYPE__DELETED) was = rs->metadata;
    if (!now && !was) return;
    s_on_owner (self, S_RS, type, rs->metadata, old ? old->metadata : NULL);
    s_index_dep (self, 'r', was, now, self->orphan_rs);
    const Hs__ObjectMeta *ms[2] = {was, now};
    bool orphan = false;
    for (int i = 0; i < 2; i++) {
        if (!ms[i]) continue;
        const Hs__OwnerReference *r = hs_controller_ref (ms[i]);
        if (!r)
            orphan = true;
        else if (hs_streq (r->kind, "Deployment"))
            s_dirty (self, s_state_by_uid (self, S_DEPLOY, r->uid));
    }
    if (orphan) s_dirty_ns (self, S_DEPLOY, (now ? now : was)->namespace_);
}

static void s_on_change (void *arg, Hs__EventType type, const Hs__Object *obj,
                         const Hs__Object *old)
{
    self_t *self = arg;
    if (!hs_obj_meta (obj)) return;
    int64_t t0 = self->first_done ? 0 : hs_mono_ns ();
    switch (hs_obj_kind (obj)) {
    case HS_KIND_POD: s_on_pod (self, type, obj->pod, old ? old->pod : NULL); break;
    case HS_KIND_REPLICASET:
        s_on_rs (self, type, obj->replica_set, old ? old->replica_set : NULL);
        break;
    case HS_KIND_DEPLOYMENT:
        s_on_owner (self, S_DEPLOY, type, obj->deployment->metadata,
                    old && old->deployment ? old->deployment->metadata : NULL);
        break;
    default: break;
    }
    if (t0) self->index_ns += hs_mono_ns () - t0;
}

/* ------------------------------------------------------------------ acks */

/* Also the calls' free_arg. */
static void s_ack_free (void *arg)
{
    s_ack_t *a = arg;
    for (size_t i = 0; i < a->n_touch; i++) free (a->touch[i].key);
    free (a->touch);
    for (size_t i = 0; i < a->n; i++) {
        free (a->reasons[i]);
        free (a->messages[i]);
        free (a->targets[i]);
    }
    free (a->tags);
    free (a->reasons);
    free (a->messages);
    free (a->targets);
    free (a->ns);
    free (a->name);
    free (a->uid);
    free (a->gc_key);
    free (a);
}

static s_ack_t *s_ack_new (self_t *self, s_kind_t kind, const Hs__ObjectMeta *m)
{
    s_ack_t *a = hs_calloc (1, sizeof *a);
    a->self = self;
    a->kind = kind;
    a->ns = hs_strdup (m->namespace_);
    a->name = hs_strdup (m->name);
    a->uid = hs_strdup (m->uid);
    return a;
}

static void s_event (self_t *self, const s_ack_t *a, const char *type, const char *reason,
                     const char *msg)
{
    hs_event_send (hs_ctrl_client (self->ctrl), "hs-replicas", self->instance, self->host,
                   a->kind == S_RS ? "replicaset" : "deployment", a->ns, a->name, a->uid, type,
                   reason, msg);
}

static void s_backoff (s_obj_t *o, int64_t now)
{
    o->backoff_ms = o->backoff_ms ? o->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (o->backoff_ms > BACKOFF_MAX_MS) o->backoff_ms = BACKOFF_MAX_MS;
    o->backoff_until = now + o->backoff_ms * MS;
}

static void s_count_ok (self_t *self, const s_ack_t *a)
{
    for (size_t i = 0; i < a->n; i++) {
        switch (a->tags[i]) {
        case RP_TAG_POD_CREATE: self->pods_created++; break;
        case RP_TAG_POD_DELETE: self->pods_deleted++; break;
        case RP_TAG_POD_ADOPT: self->pods_adopted++; break;
        case RP_TAG_POD_RELEASE: self->pods_released++; break;
        case RP_TAG_RS_CREATE: self->rs_created++; break;
        case RP_TAG_RS_UPDATE:
        case RP_TAG_RS_ADOPT:
        case RP_TAG_RS_RELEASE: self->rs_updated++; break;
        case RP_TAG_RS_DELETE: self->rs_deleted++; break;
        case RP_TAG_STATUS: self->status_writes++; break;
        default: break;
        }
    }
}

static void s_on_ack (void *arg, int err, const Hs__Ack *ack)
{
    s_ack_t *a = arg;
    self_t *self = a->self;
    int64_t now = hs_mono_ns ();
    bool ok = err == 0 && ack->code == HS__CODE__CODE_OK;
    Hs__Code code = err ? HS__CODE__CODE_UNAVAILABLE : ack->code;
    const char *why = err ? strerror (-err) : ack->message;
    int64_t rev = 0;
    for (size_t i = 0; ok && i < ack->n_results; i++)
        if (ack->results[i]->resource_version > rev) rev = ack->results[i]->resource_version;

    if (a->gc_key) {
        s_gc_t *g = zhashx_lookup (self->gc, a->gc_key);
        if (ok) {
            self->gc_deleted++;
            if (g) zhashx_delete (self->gc, a->gc_key);
        } else {
            if (code != HS__CODE__CODE_NOT_FOUND)
                log_warn ("cannot delete %s: %s", a->gc_key, hs_s (why));
            if (g) g->inflight = false; /* and g->until holds the retry */
        }
        hs_ctrl_kick (self->ctrl);
        s_ack_free (a);
        return;
    }

    for (size_t i = 0; i < a->n_touch; i++) {
        s_obj_t *o = zhashx_lookup (s_states (self, a->touch[i].kind), a->touch[i].key);
        if (!o || o->serial != a->touch[i].serial) continue;
        if (o->inflight > 0) o->inflight--;
        if (ok) {
            if (rev > o->need_rev) o->need_rev = rev;
            o->expect_until = now + EXPECT_TIMEOUT_NS;
            if (i == 0) o->backoff_ms = 0;
        } else if (i == 0) {
            if (code == HS__CODE__CODE_CONFLICT || code == HS__CODE__CODE_NOT_FOUND ||
                code == HS__CODE__CODE_ALREADY_EXISTS)
                o->backoff_until = now + RETRY_NS;
            else
                s_backoff (o, now);
        }
        o->dirty = true;
    }
    hs_ctrl_kick (self->ctrl);

    if (ok) {
        s_count_ok (self, a);
        for (size_t i = 0; i < a->n; i++) {
            const char *rname = i < ack->n_results ? ack->results[i]->name : "";
            if (a->tags[i] == RP_TAG_POD_CREATE) {
                _cleanup_free_ char *msg = hs_sprintf ("Created pod: %s", rname);
                s_event (self, a, "Normal", "SuccessfulCreate", msg);
            } else if (a->tags[i] == RP_TAG_POD_DELETE) {
                _cleanup_free_ char *msg = hs_sprintf ("Deleted pod: %s", a->targets[i]);
                s_event (self, a, "Normal", "SuccessfulDelete", msg);
            } else if (a->reasons[i]) {
                s_event (self, a, "Normal", a->reasons[i], a->messages[i]);
            }
            if (a->messages[i]) log_info ("%s/%s: %s", a->ns, a->name, a->messages[i]);
        }
    } else if (code == HS__CODE__CODE_CONFLICT) {
        self->conflicts++;
        log_debug ("%s/%s: %s; trying again with what the watch shows", a->ns, a->name, hs_s (why));
    } else {
        self->failures++;
        bool creates = false, deletes = false, rs_create = false;
        for (size_t i = 0; i < a->n; i++) {
            creates |= a->tags[i] == RP_TAG_POD_CREATE;
            deletes |= a->tags[i] == RP_TAG_POD_DELETE;
            rs_create |= a->tags[i] == RP_TAG_RS_CREATE;
        }
        log_warn ("%s %s/%s: a command of %zu writes failed: %s: %s",
                  a->kind == S_RS ? "replicaset" : "deployment", a->ns, a->name, a->n,
                  hs_code_reason (code), hs_s (why));
        _cleanup_free_ char *msg = NULL;
        if (creates && code != HS__CODE__CODE_NOT_FOUND) {
            msg = hs_sprintf ("Error creating: %s", hs_s (why));
            s_event (self, a, "Warning", "FailedCreate", msg);
        } else if (deletes && code != HS__CODE__CODE_NOT_FOUND) {
            msg = hs_sprintf ("Error deleting: %s", hs_s (why));
            s_event (self, a, "Warning", "FailedDelete", msg);
        } else if (rs_create && code != HS__CODE__CODE_ALREADY_EXISTS) {
            msg = hs_sprintf ("Failed to create new replica set: %s", hs_s (why));
            s_event (self, a, "Warning", "ReplicaSetCreateError", msg);
        }
    }
    s_ack_free (a);
}

/* ------------------------------------------------------------------ sending */

static void s_touch (s_ack_t *a, s_obj_t *o)
{
    for (size_t i = 0; i < a->n_touch; i++)
        if (a->touch[i].kind == o->kind && hs_streq (a->touch[i].key, o->key)) return;
    a->touch = hs_realloc (a->touch, (a->n_touch + 1) * sizeof *a->touch);
    a->touch[a->n_touch++] =
        (s_touch_t){.kind = o->kind, .key = hs_strdup (o->key), .serial = o->serial};
}

/* The kind, namespace and name a write targets. */
static void s_write_target (const Hs__Write *w, hs_kind_t *kind, const char **ns, const char **name)
{
    const Hs__ObjectMeta *m = hs_obj_meta (w->object);
    *kind = m ? hs_obj_kind (w->object) : hs_kind_parse (w->kind);
    *ns = m ? m->namespace_ : w->namespace_;
    *name = m ? m->name : w->name;
}

static void s_send_plan (self_t *self, s_obj_t *subject, const Hs__ObjectMeta *sm, rp_plan_t *plan,
                         int64_t now)
{
    for (size_t c = 0; c < plan->n_cmds; c++) {
        rp_cmd_t *cmd = &plan->cmds[c];
        if (cmd->n == 0) continue;
        s_ack_t *a = s_ack_new (self, subject->kind, sm);
        a->n = cmd->n;
        a->tags = hs_calloc (cmd->n, sizeof *a->tags);
        a->reasons = hs_calloc (cmd->n, sizeof *a->reasons);
        a->messages = hs_calloc (cmd->n, sizeof *a->messages);
        a->targets = hs_calloc (cmd->n, sizeof *a->targets);
        Hs__Write **ws = hs_calloc (cmd->n, sizeof *ws);
        s_touch (a, subject);
        for (size_t i = 0; i < cmd->n; i++) {
            ws[i] = cmd->w[i].write;
            a->tags[i] = cmd->w[i].tag;
            a->reasons[i] = hs_strdup (cmd->w[i].reason);
            a->messages[i] = hs_strdup (cmd->w[i].message);
            hs_kind_t k;
            const char *ns, *name;
            s_write_target (ws[i], &k, &ns, &name);
            a->targets[i] = hs_strdup (name);
            if (k == HS_KIND_REPLICASET) s_touch (a, s_state (self, S_RS, ns, name, true));
            if (k == HS_KIND_DEPLOYMENT) s_touch (a, s_state (self, S_DEPLOY, ns, name, true));
        }
        hs_call_opts_t opts = {.timeout_ms = CALL_TIMEOUT_MS, .free_arg = s_ack_free};
        int r = hs_client_send (hs_ctrl_client (self->ctrl), ws, cmd->n, &opts, s_on_ack, a);
        free (ws);
        if (r < 0) {
            log_warn ("%s: cannot send a command of %zu writes: %s", subject->key, cmd->n,
                      strerror (-r));
            s_backoff (subject, now);
            s_ack_free (a);
            continue;
        }
        for (size_t i = 0; i < a->n_touch; i++) {
            s_obj_t *o = zhashx_lookup (s_states (self, a->touch[i].kind), a->touch[i].key);
            if (!o) continue;
            o->inflight++;
            o->expect_until = now + EXPECT_TIMEOUT_NS;
        }
    }
}

/* ------------------------------------------------------------------ a pass */

typedef struct {
    const Hs__Object **v;
    size_t n, cap;
} s_list_t;

static void s_list_add (s_list_t *l, const Hs__Object *o)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = hs_realloc (l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = o;
}

/* Objects of the dependents of uid with this tag ('p' pods, 'r' ReplicaSets). */
static void s_deps (self_t *self, const char *uid, char tag, hs_kind_t kind, s_list_t *out)
{
    s_owner_t *ow = zhashx_lookup (self->owners, uid);
    if (!ow) return;
    for (void *v = zhashx_first (ow->deps); v; v = zhashx_next (ow->deps)) {
        const char *dep = zhashx_cursor (ow->deps);
        if (dep[0] != tag) continue;
        const char *slash = strchr (dep + 2, '/');
        if (!slash) continue;
        char ns[256];
        snprintf (ns, sizeof ns, "%.*s", (int)(slash - dep - 2), dep + 2);
        const Hs__Object *o = hs_watch_get (s_w (self), kind, ns, slash + 1);
        if (o) s_list_add (out, o);
    }
}

static void s_orphans (self_t *self, zhashx_t *sets, const char *ns, hs_kind_t kind, s_list_t *out)
{
    zhashx_t *s = zhashx_lookup (sets, ns);
    if (!s) return;
    for (void *v = zhashx_first (s); v; v = zhashx_next (s)) {
        const Hs__Object *o = hs_watch_get (s_w (self), kind, ns, zhashx_cursor (s));
        if (o) s_list_add (out, o);
    }
}

/* May the object be synced now? Owned, wanted (dirty, newly ours, due, a
 * full pass) and its expectations met. */
static bool s_may_sync (self_t *self, s_obj_t *o, bool full, int64_t now, int64_t wrev,
                        int64_t *wake)
{
    if (!hs_ctrl_owns (self->ctrl, o->key)) {
        o->owned = false;
        return false;
    }
    self->owned++;
    if (!o->owned) o->dirty = true;
    o->owned = true;
    if (!full && !o->dirty && o->due > now) {
        if (o->due < *wake) *wake = o->due;
        return false;
    }
    o->dirty = true;
    if (o->inflight > 0) return false; /* the ack marks it dirty */
    if (wrev < o->need_rev) {
        if (now < o->expect_until) {
            int64_t at = now + RECHECK_NS;
            if (at < *wake) *wake = at;
            return false;
        }
        log_warn ("%s %s: the watch did not show our writes (revision %lld) within %lld s; "
                  "acting on what it shows",
                  o->kind == S_RS ? "replicaset" : "deployment", o->key, (long long)o->need_rev,
                  (long long)(EXPECT_TIMEOUT_NS / 1000000000));
        o->need_rev = 0;
    }
    if (o->backoff_until > now) {
        if (o->backoff_until < *wake) *wake = o->backoff_until;
        return false;
    }
    o->dirty = false;
    o->due = INT64_MAX;
    return true;
}

static void s_due (s_obj_t *o, const rp_plan_t *plan, int64_t now, int64_t wall, int64_t *wake)
{
    if (!plan->wake_ns) return;
    int64_t at = now + (plan->wake_ns - wall);
    if (at < now) at = now;
    if (at < o->due) o->due = at;
    if (at < *wake) *wake = at;
}

static void s_sync_rs (self_t *self, s_obj_t *o, const Hs__Object *obj, int64_t now, int64_t wall,
                       int64_t *wake)
{
    const Hs__ObjectMeta *m = obj->replica_set->metadata;
    s_list_t pods = {0}, orphans = {0};
    s_deps (self, m->uid, 'p', HS_KIND_POD, &pods);
    s_orphans (self, self->orphan_pods, m->namespace_, HS_KIND_POD, &orphans);
    const Hs__Pod **pv = hs_calloc (pods.n + 1, sizeof *pv);
    const Hs__Pod **ov = hs_calloc (orphans.n + 1, sizeof *ov);
    for (size_t i = 0; i < pods.n; i++) pv[i] = pods.v[i]->pod;
    for (size_t i = 0; i < orphans.n; i++) ov[i] = orphans.v[i]->pod;
    /* A Command must stay under HS_BUS_MAX_MSG: with a large template,
     * fewer pod creates per Command (half the limit leaves room for the
     * envelope, the ReplicaSet's own writes and the pods' metadata). */
    size_t tsize =
        obj->replica_set->spec && obj->replica_set->spec->template_
            ? protobuf_c_message_get_packed_size (&obj->replica_set->spec->template_->base)
            : 0;
    size_t fit = (HS_BUS_MAX_MSG / 2) / (tsize + 1024);
    rs_input_t in = {.rs = obj,
                     .pods = pv,
                     .n_pods = pods.n,
                     .orphans = ov,
                     .n_orphans = orphans.n,
                     .now_ns = wall,
                     .max_pod_writes = fit < RS_MAX_POD_WRITES ? (int)(fit ? fit : 1) : 0};
    rp_plan_t plan;
    int r = rs_sync (&in, &plan);
    self->syncs++;
    if (r < 0) {
        log_warn ("replicaset %s: cannot sync: %s", o->key, strerror (-r));
    } else {
        s_send_plan (self, o, m, &plan, now);
        s_due (o, &plan, now, wall, wake);
    }
    rp_plan_free (&plan);
    free (pv);
    free (ov);
    free (pods.v);
    free (orphans.v);
}

static const Hs__Object *s_lookup_rs (void *arg, const char *ns, const char *name)
{
    self_t *self = arg;
    return hs_watch_get (s_w (self), HS_KIND_REPLICASET, ns, name);
}

static void s_sync_deploy (self_t *self, s_obj_t *o, const Hs__Object *obj, int64_t now,
                           int64_t wall, int64_t *wake)
{
    const Hs__ObjectMeta *m = obj->deployment->metadata;
    s_list_t rss = {0}, orphans = {0};
    s_deps (self, m->uid, 'r', HS_KIND_REPLICASET, &rss);
    /* not while a Command touching one of its ReplicaSets is in flight */
    for (size_t i = 0; i < rss.n; i++) {
        const Hs__ObjectMeta *rm = rss.v[i]->replica_set->metadata;
        s_obj_t *rs = s_state (self, S_RS, rm->namespace_, rm->name, false);
        if (rs && rs->inflight > 0) {
            o->dirty = true;
            free (rss.v);
            return;
        }
    }
    s_orphans (self, self->orphan_rs, m->namespace_, HS_KIND_REPLICASET, &orphans);
    deploy_rs_t *rv = hs_calloc (rss.n + 1, sizeof *rv);
    s_list_t *pods = hs_calloc (rss.n + 1, sizeof *pods);
    const Hs__Pod ***pv = hs_calloc (rss.n + 1, sizeof *pv);
    for (size_t i = 0; i < rss.n; i++) {
        s_deps (self, rss.v[i]->replica_set->metadata->uid, 'p', HS_KIND_POD, &pods[i]);
        pv[i] = hs_calloc (pods[i].n + 1, sizeof **pv);
        for (size_t j = 0; j < pods[i].n; j++) pv[i][j] = pods[i].v[j]->pod;
        rv[i] = (deploy_rs_t){.rs = rss.v[i], .pods = pv[i], .n_pods = pods[i].n};
    }
    deploy_input_t in = {.deploy = obj,
                         .rs = rv,
                         .n_rs = rss.n,
                         .orphans = orphans.v,
                         .n_orphans = orphans.n,
                         .lookup = s_lookup_rs,
                         .lookup_arg = self,
                         .now_ns = wall};
    rp_plan_t plan;
    int r = deploy_sync (&in, &plan);
    self->syncs++;
    if (r < 0) {
        log_warn ("deployment %s: cannot sync: %s", o->key, strerror (-r));
    } else {
        s_send_plan (self, o, m, &plan, now);
        s_due (o, &plan, now, wall, wake);
    }
    rp_plan_free (&plan);
    for (size_t i = 0; i < rss.n; i++) {
        free (pv[i]);
        free (pods[i].v);
    }
    free (pv);
    free (pods);
    free (rv);
    free (rss.v);
    free (orphans.v);
}

/* Deletes what s_owner's dependents have become: garbage. */
static void s_collect (self_t *self, int64_t now, int64_t wall, int64_t *wake)
{
    /* forget deletes answered long enough ago */
    zlistx_t *old = zlistx_new ();
    for (s_gc_t *g = zhashx_first (self->gc); g; g = zhashx_next (self->gc))
        if (!g->inflight && g->until <= now) zlistx_add_end (old, (void *)zhashx_cursor (self->gc));
    for (char *k = zlistx_first (old); k; k = zlistx_next (old)) zhashx_delete (self->gc, k);
    zlistx_destroy (&old);
    for (s_owner_t *ow = zhashx_first (self->owners); ow; ow = zhashx_next (self->owners)) {
        const char *uid = zhashx_cursor (self->owners);
        /* what the cache has; whether that makes garbage is gc_decide's */
        bool exists = (hs_streq (ow->kind, "ReplicaSet") && zhashx_lookup (self->uid_rs, uid)) ||
                      (hs_streq (ow->kind, "Deployment") && zhashx_lookup (self->uid_deploy, uid));
        for (void *v = zhashx_first (ow->deps); v; v = zhashx_next (ow->deps)) {
            const char *dep = zhashx_cursor (ow->deps);
            const char *slash = strchr (dep + 2, '/');
            if (!slash) continue;
            char ns[256];
            snprintf (ns, sizeof ns, "%.*s", (int)(slash - dep - 2), dep + 2);
            const char *name = slash + 1;
            hs_kind_t kind = dep[0] == 'p' ? HS_KIND_POD : HS_KIND_REPLICASET;
            const Hs__Object *o = hs_watch_get (s_w (self), kind, ns, name);
            const Hs__ObjectMeta *m = hs_obj_meta (o);
            if (!m) continue;
            gc_input_t in = {.owner_kind = ow->kind,
                             .owner_exists = exists,
                             .dep_deleting = m->deletion_timestamp != 0,
                             .dep_created_ns = m->creation_timestamp};
            int64_t at = 0;
            gc_verdict_t verdict = gc_decide (&in, &ow->missing_since, now, wall, &at);
            if (verdict == GC_KEEP_ALL) break;
            if (verdict == GC_KEEP) continue;
            /* garbage, or maybe: ours to delete, unless a delete is under way */
            if (!hs_ctrl_owns (self->ctrl, dep + 2)) continue;
            s_gc_t *g = zhashx_lookup (self->gc, dep);
            if (g && (g->inflight || g->until > now)) {
                if (!g->inflight && g->until < *wake) *wake = g->until;
                continue;
            }
            if (verdict == GC_WAIT) {
                if (at < *wake) *wake = at;
                continue;
            }
            log_info ("garbage: deleting %s %s/%s, its controller %s %s is gone",
                      hs_kind_info (kind)->name, ns, name, ow->kind, uid);
            Hs__Write *w = hs_write_target (HS__OP__OP_DELETE, kind, ns, name);
            hs_pb_set_str (&w->expected_uid, m->uid);
            s_ack_t *a = s_ack_new (self, S_RS, m);
            a->gc_key = hs_strdup (dep);
            hs_call_opts_t opts = {.timeout_ms = CALL_TIMEOUT_MS, .free_arg = s_ack_free};
            int r = hs_client_send (hs_ctrl_client (self->ctrl), &w, 1, &opts, s_on_ack, a);
            hs_pb_free (w);
            if (!g) {
                g = hs_calloc (1, sizeof *g);
                zhashx_insert (self->gc, dep, g);
            }
            g->until = now + GC_RETRY_NS;
            if (r < 0) {
                log_warn ("cannot send a delete: %s", strerror (-r));
                s_ack_free (a);
                continue;
            }
            g->inflight = true;
        }
    }
}

static int64_t s_pass (void *arg, hs_ctrl_t *ctrl, int64_t now)
{
    self_t *self = arg;
    int64_t t0 = hs_mono_ns ();
    int64_t wall = hs_now_ns ();
    int64_t wake = INT64_MAX;
    size_t members = hs_ctrl_members (ctrl);
    bool full = !self->first_done || now >= self->next_full || members != self->last_members;
    if (full) {
        self->next_full = now + (int64_t)self->resync_ms * MS;
        self->full_passes++;
    }
    if (self->next_full < wake) wake = self->next_full;
    self->last_members = members;
    self->owned = 0;
    int64_t wrev = hs_watch_revision (s_w (self));
    zlistx_t *gone = zlistx_new ();

    /* Deployments first: a ReplicaSet they scale is then left alone until
     * the watch shows the scale. The tables are copied first: a lookup in
     * a czmq hash moves its iteration cursor. */
    for (int pass = 0; pass < 2; pass++) {
        s_kind_t kind = pass == 0 ? S_DEPLOY : S_RS;
        zhashx_t *t = s_states (self, kind);
        size_t n = zhashx_size (t), k = 0;
        s_obj_t **v = hs_calloc (n + 1, sizeof *v);
        for (s_obj_t *o = zhashx_first (t); o && k < n; o = zhashx_next (t)) v[k++] = o;
        for (size_t i = 0; i < k; i++) {
            s_obj_t *o = v[i];
            const Hs__Object *obj = hs_watch_get (
                s_w (self), kind == S_RS ? HS_KIND_REPLICASET : HS_KIND_DEPLOYMENT, o->ns, o->name);
            if (!obj) {
                if (o->inflight == 0 && wrev >= o->need_rev) zlistx_add_end (gone, o->key);
                continue;
            }
            if (!s_may_sync (self, o, full, now, wrev, &wake)) continue;
            if (kind == S_RS)
                s_sync_rs (self, o, obj, now, wall, &wake);
            else
                s_sync_deploy (self, o, obj, now, wall, &wake);
        }
        free (v);
        for (char *key = zlistx_first (gone); key; key = zlistx_next (gone)) zhashx_delete (t, key);
        zlistx_purge (gone);
    }
    zlistx_destroy (&gone);
    s_collect (self, now, wall, &wake);

    if (!self->first_done) {
        self->first_done = true;
        log_info ("first pass done in %.1f ms (indexing the snapshot took %.1f ms): %zu "
                  "deployments, %zu replicasets, %llu pods; %llu objects owned by this instance "
                  "of %zu",
                  (double)(hs_mono_ns () - t0) / 1e6, (double)self->index_ns / 1e6,
                  zhashx_size (self->deploys), zhashx_size (self->rss),
                  (unsigned long long)self->n_pods, (unsigned long long)self->owned, members);
    }
    return wake;
}

/* ------------------------------------------------------------------ heartbeat */

static size_t s_counters (void *arg, const char **names, uint64_t *values, size_t max)
{
    self_t *self = arg;
    const char *n[] = {"pods_created", "pods_deleted", "pods_adopted", "pods_released",
                       "rs_created",   "rs_updated",   "rs_deleted",   "status_writes",
                       "gc_deleted",   "conflicts",    "failures",     "syncs",
                       "full_passes"};
    uint64_t v[] = {self->pods_created, self->pods_deleted, self->pods_adopted, self->pods_released,
                    self->rs_created,   self->rs_updated,   self->rs_deleted,   self->status_writes,
                    self->gc_deleted,   self->conflicts,    self->failures,     self->syncs,
                    self->full_passes};
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
    const char *n[] = {"first_pass_done", "inflight"};
    const double v[] = {(double)self->first_done,
                        self->ctrl ? (double)hs_client_inflight (hs_ctrl_client (self->ctrl)) : 0};
    size_t k = 0;
    for (; k < HS_ARRAY_LEN (n) && k < max; k++) {
        names[k] = n[k];
        values[k] = v[k];
    }
    return k;
}

/* work_queue_length: the ReplicaSets and Deployments of this instance
 * marked dirty and not synced since (a pass takes them, or they wait for
 * their expectations or backoff). */
static size_t s_queue (void *arg)
{
    self_t *self = arg;
    size_t n = 0;
    zhashx_t *tables[] = {self->rss, self->deploys};
    for (size_t t = 0; t < HS_ARRAY_LEN (tables); t++)
        for (s_obj_t *o = zhashx_first (tables[t]); o; o = zhashx_next (tables[t]))
            if (o->dirty && self->ctrl && hs_ctrl_owns (self->ctrl, o->key)) n++;
    return n;
}

static void s_share (void *arg, uint64_t *owned, uint64_t *total)
{
    self_t *self = arg;
    *owned = self->owned;
    *total = zhashx_size (self->rss) + zhashx_size (self->deploys);
}

static int s_start (void *arg, hs_ctrl_t *ctrl)
{
    self_t *self = arg;
    self->ctrl = ctrl;
    self->instance = hs_ctrl_instance (ctrl);
    return 0;
}

/* ------------------------------------------------------------------ main */

static void s_usage (FILE *f)
{
    fprintf (f, "usage: hs-replicas [--bus ADDR] [--instance NAME] [--heartbeat-ms MS]\n"
                "                   [--member-timeout-ms MS] [--resync-ms MS]\n"
                "Keeps ReplicaSets' pods and rolls Deployments (docs/architecture.md §13).\n");
    hs_ctrl_usage (f);
}

int main (int argc, char **argv)
{
    /* No fastbins (as hs-scheduler): passes allocate arrays as large as a
     * ReplicaSet while the watch frees many small protobuf chunks. */
    mallopt (M_MXFAST, 0);
    hs_log_init ("hs-replicas");
    hs_ctrl_opts_t o = {0};
    int rc;
    if (!hs_ctrl_args (argc, argv, "hs-replicas", &o, NULL, NULL, NULL, NULL, s_usage, &rc))
        return rc;
    self_t self = {.resync_ms = o.resync_ms ? o.resync_ms : 10000};
    gethostname (self.host, sizeof self.host - 1);
    self.rss = s_table (s_obj_destroy);
    self.deploys = s_table (s_obj_destroy);
    self.uid_rs = s_table (s_free_item);
    self.uid_deploy = s_table (s_free_item);
    self.owners = s_table (s_owner_destroy);
    self.orphan_pods = s_table (s_set_destroy);
    self.orphan_rs = s_table (s_set_destroy);
    self.gc = s_table (s_free_item);
    static const hs_kind_t kinds[] = {HS_KIND_POD, HS_KIND_REPLICASET, HS_KIND_DEPLOYMENT};
    hs_ctrl_ops_t ops = {.component = "hs-replicas",
                         .role = "replicas",
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
    zhashx_destroy (&self.rss);
    zhashx_destroy (&self.deploys);
    zhashx_destroy (&self.uid_rs);
    zhashx_destroy (&self.uid_deploy);
    zhashx_destroy (&self.owners);
    zhashx_destroy (&self.orphan_pods);
    zhashx_destroy (&self.orphan_rs);
    zhashx_destroy (&self.gc);
    return rc;
}
