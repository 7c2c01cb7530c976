/*  deploy_sync.c: a Deployment's decisions (deploy_sync.h). The function
 *  names follow kube's pkg/controller/deployment where they do the same. */
#include "deploy_sync.h"
#include "hs_rollout.h"
#include "hs_util.h"
#include "hs_workload.h"
#include "rs_sync.h"

#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_S            1000000000LL
#define REV_HISTORY_MAX_LEN 2000
#define LAST_APPLIED        "kubectl.kubernetes.io/last-applied-configuration"
#define DEFAULT_DEADLINE_S  600
#define DEFAULT_HISTORY     10

/* ------------------------------------------------------------------ helpers */

static const char *s_ann (const Hs__ObjectMeta *m, const char *key)
{
    return m ? hs_pb_map_get ((void *const *)m->annotations, m->n_annotations, key) : NULL;
}

static int64_t s_ann_i64 (const Hs__ObjectMeta *m, const char *key, int64_t dflt)
{
    const char *v = s_ann (m, key);
    int64_t x;
    if (!v || hs_parse_i64 (v, &x) < 0) return dflt;
    return x;
}

static bool s_rolling (const Hs__DeploymentSpec *s)
{
    return !s->strategy || hs_empty (s->strategy->type) ||
           hs_streq (s->strategy->type, "RollingUpdate");
}

static void s_fenceposts (const Hs__DeploymentSpec *s, int32_t replicas, int32_t *surge,
                          int32_t *unavail)
{
    const Hs__RollingUpdateDeployment *ru = s->strategy ? s->strategy->rolling_update : NULL;
    *surge = hs_int_or_percent (ru ? ru->max_surge : NULL, "25%", replicas, true);
    *unavail = hs_int_or_percent (ru ? ru->max_unavailable : NULL, "25%", replicas, false);
    if (*surge == 0 && *unavail == 0) *unavail = 1;
}

int32_t deploy_max_surge (const Hs__DeploymentSpec *s, int32_t replicas)
{
    if (!s_rolling (s)) return 0;
    int32_t surge, unavail;
    s_fenceposts (s, replicas, &surge, &unavail);
    return surge;
}

int32_t deploy_max_unavailable (const Hs__DeploymentSpec *s, int32_t replicas)
{
    if (!s_rolling (s) || replicas == 0) return 0;
    int32_t surge, unavail;
    s_fenceposts (s, replicas, &surge, &unavail);
    return unavail > replicas ? replicas : unavail;
}

static int32_t s_min (int32_t a, int32_t b)
{
    return a < b ? a : b;
}

static int32_t s_max (int32_t a, int32_t b)
{
    return a > b ? a : b;
}

/* ------------------------------------------------------------------ state */

typedef struct {
    const Hs__Object *obj; /* cached, or the planned new one (owned: created) */
    Hs__Object *created;   /* the new ReplicaSet this sync creates */
    Hs__Object *upd;       /* metadata/spec changes to the cached one, lazily copied */
    const char *name;
    int64_t created_ns, revision;
    int32_t spec, orig;
    rs_counts_t c;
    bool remove; /* history cleanup */
} d_rs_t;

typedef struct {
    const deploy_input_t *in;
    const Hs__Deployment *d;
    const Hs__ObjectMeta *m;
    const Hs__DeploymentSpec *spec;
    int32_t replicas;
    d_rs_t *rs; /* oldest first; room for one more */
    size_t n;
    d_rs_t *nrs; /* the new one, or NULL */
    int64_t new_revision;
    Hs__DeploymentStatus *st; /* the status being built */
    int64_t now;
    rp_plan_t *plan;
} d_t;

static const Hs__ReplicaSet *s_rs_of (const d_rs_t *r)
{
    return r->obj->replica_set;
}

static bool s_has_deadline (const d_t *x)
{
    const Hs__Int32Value *p = x->spec->progress_deadline_seconds;
    return !p || p->value != INT32_MAX;
}

static int32_t s_deadline_s (const d_t *x)
{
    const Hs__Int32Value *p = x->spec->progress_deadline_seconds;
    return p ? p->value : DEFAULT_DEADLINE_S;
}

static int32_t s_avail (const d_rs_t *r)
{
    return s_min (r->c.available, r->spec);
}

static int32_t s_sum_spec (const d_t *x)
{
    int32_t n = 0;
    for (size_t i = 0; i < x->n; i++) n += x->rs[i].spec;
    return n;
}

static int32_t s_sum_avail (const d_t *x)
{
    int32_t n = 0;
    for (size_t i = 0; i < x->n; i++) n += s_avail (&x->rs[i]);
    return n;
}

static Hs__ObjectMeta *s_upd_meta (d_rs_t *r)
{
    if (r->created) return r->created->replica_set->metadata;
    if (!r->upd) {
        r->upd = hs_pb_dup (r->obj);
        hs_pb_free (r->upd->replica_set->status);
        r->upd->replica_set->status = NULL;
    }
    return r->upd->replica_set->metadata;
}

static Hs__ReplicaSetSpec *s_upd_spec (d_rs_t *r)
{
    s_upd_meta (r);
    return r->created ? r->created->replica_set->spec : r->upd->replica_set->spec;
}

static void s_set_ann (d_rs_t *r, const char *key, const char *value)
{
    const char *cur = s_ann (r->upd       ? r->upd->replica_set->metadata
                             : r->created ? r->created->replica_set->metadata
                                          : s_rs_of (r)->metadata,
                             key);
    if (cur && hs_streq (cur, value)) return;
    Hs__ObjectMeta *m = s_upd_meta (r);
    hs_pb_map_set ((void ***)&m->annotations, &m->n_annotations,
                   &hs__object_meta__annotations_entry__descriptor, key, value);
}

static void s_set_ann_i64 (d_rs_t *r, const char *key, int64_t v)
{
    char buf[32];
    snprintf (buf, sizeof buf, "%lld", (long long)v);
    s_set_ann (r, key, buf);
}

/* kube's SetReplicasAnnotations. */
static void s_replicas_annotations (d_t *x, d_rs_t *r)
{
    s_set_ann_i64 (r, DEPLOY_DESIRED_REPLICAS, x->replicas);
    s_set_ann_i64 (r, DEPLOY_MAX_REPLICAS,
                   (int64_t)x->replicas + deploy_max_surge (x->spec, x->replicas));
}

/* kube's scaleReplicaSet: the size and the replicas annotations. */
static void s_scale (d_t *x, d_rs_t *r, int32_t to)
{
    r->spec = to < 0 ? 0 : to;
    s_replicas_annotations (x, r);
}

/* ------------------------------------------------------------------ conditions */

static Hs__DeploymentCondition *s_cond (const Hs__DeploymentStatus *st, const char *type)
{
    for (size_t i = 0; st && i < st->n_conditions; i++)
        if (hs_streq (st->conditions[i]->type, type)) return st->conditions[i];
    return NULL;
}

static void s_cond_remove (Hs__DeploymentStatus *st, const char *type)
{
    size_t k = 0;
    for (size_t i = 0; i < st->n_conditions; i++) {
        if (hs_streq (st->conditions[i]->type, type))
            hs_pb_free (st->conditions[i]);
        else
            st->conditions[k++] = st->conditions[i];
    }
    st->n_conditions = k;
}

static Hs__DeploymentCondition *s_cond_new (const d_t *x, const char *type, const char *status,
                                            const char *reason, const char *message)
{
    Hs__DeploymentCondition *c = hs_pb_new (&hs__deployment_condition__descriptor);
    hs_pb_set_str (&c->type, type);
    hs_pb_set_str (&c->status, status);
    hs_pb_set_str (&c->reason, reason);
    hs_pb_set_str (&c->message, message);
    c->last_update_time = c->last_transition_time = x->now;
    return c;
}

/* kube's SetDeploymentCondition: the same status and reason is no change;
 * the same status keeps the transition time; the condition goes last. */
static void s_cond_set (d_t *x, const char *type, const char *status, const char *reason,
                        const char *message)
{
    Hs__DeploymentCondition *cur = s_cond (x->st, type);
    if (cur && hs_streq (cur->status, status) && hs_streq (cur->reason, reason)) return;
    Hs__DeploymentCondition *c = s_cond_new (x, type, status, reason, message);
    if (cur && hs_streq (cur->status, status)) c->last_transition_time = cur->last_transition_time;
    s_cond_remove (x->st, type);
    hs_pb_push ((void ***)&x->st->conditions, &x->st->n_conditions, c);
}

/* ------------------------------------------------------------------ new ReplicaSet */

static bool s_skip_annotation (const char *key)
{
    return hs_startswith (key, "deployment.kubernetes.io/") || hs_streq (key, LAST_APPLIED) ||
           hs_streq (key, RS_SYNC_ANNOTATION);
}

/* kube's copyDeploymentAnnotationsToReplicaSet. */
static void s_copy_annotations (d_t *x, d_rs_t *r)
{
    for (size_t i = 0; i < x->m->n_annotations; i++) {
        const char *k = x->m->annotations[i]->key;
        if (!s_skip_annotation (k)) s_set_ann (r, k, x->m->annotations[i]->value);
    }
}

/* kube's SetNewReplicaSetAnnotations for an existing new ReplicaSet. */
static void s_sync_new_annotations (d_t *x, d_rs_t *r)
{
    s_copy_annotations (x, r);
    const char *had = s_ann (s_rs_of (r)->metadata, HS_ROLLOUT_REVISION);
    if (r->revision < x->new_revision) {
        s_set_ann_i64 (r, HS_ROLLOUT_REVISION, x->new_revision);
        if (had) {
            /* back to this template: keep the revisions it had */
            const char *hist = s_ann (s_rs_of (r)->metadata, DEPLOY_REVISION_HISTORY);
            _cleanup_free_ char *v =
                hs_empty (hist) ? hs_strdup (had) : hs_sprintf ("%s,%s", hist, had);
            const char *keep = v;
            while (strlen (keep) > REV_HISTORY_MAX_LEN && strchr (keep, ','))
                keep = strchr (keep, ',') + 1;
            s_set_ann (r, DEPLOY_REVISION_HISTORY, keep);
        }
        r->revision = x->new_revision;
    }
    if (s_rs_of (r)->spec->min_ready_seconds != x->spec->min_ready_seconds)
        s_upd_spec (r)->min_ready_seconds = x->spec->min_ready_seconds;
}

/* kube's NewRSNewReplicas, counting a ReplicaSet's surplus pods that are
 * not yet seen going against the surge (deploy_sync.h). */
static int32_t s_new_rs_replicas (const d_t *x, const d_rs_t *nrs)
{
    if (!s_rolling (x->spec)) return x->replicas;
    int32_t surge = hs_int_or_percent (x->spec->strategy && x->spec->strategy->rolling_update
                                           ? x->spec->strategy->rolling_update->max_surge
                                           : NULL,
                                       "25%", x->replicas, true);
    int32_t current = 0;
    for (size_t i = 0; i < x->n; i++) current += s_max (x->rs[i].spec, x->rs[i].c.replicas);
    int32_t max_total = x->replicas + surge;
    if (current >= max_total) return nrs->spec;
    int32_t up = s_min (max_total - current, x->replicas - nrs->spec);
    return nrs->spec + (up > 0 ? up : 0);
}

/* Creates the new ReplicaSet (kube's getNewReplicaSet, creating). Returns
 * false on a hash collision (collisionCount bumped in the status). */
static bool s_create_new (d_t *x)
{
    char hash[HS_ROLLOUT_HASH_LEN + 1];
    hs_rollout_template_hash (x->spec->template_, x->st->collision_count, hash);
    _cleanup_free_ char *name = hs_sprintf ("%s-%s", x->m->name, hash);
    if (x->in->lookup && x->in->lookup (x->in->lookup_arg, x->m->namespace_, name)) {
        /* not ours (ours would have been found): another template has it */
        x->st->collision_count++;
        return false;
    }
    Hs__Object *o = hs_obj_new (HS_KIND_REPLICASET, x->m->namespace_, name);
    Hs__ReplicaSet *rs = o->replica_set;
    Hs__ObjectMeta *m = rs->metadata;
    rs->spec = hs_pb_new (&hs__replica_set_spec__descriptor);
    rs->spec->template_ = hs_rollout_template_copy (x->spec->template_);
    Hs__ObjectMeta *tm = rs->spec->template_->metadata;
    hs_pb_map_set ((void ***)&tm->labels, &tm->n_labels, &hs__object_meta__labels_entry__descriptor,
                   HS_ROLLOUT_HASH_LABEL, hash);
    hs_pb_map_sort ((void **)tm->labels, tm->n_labels);
    for (size_t i = 0; i < tm->n_labels; i++)
        hs_pb_map_set ((void ***)&m->labels, &m->n_labels,
                       &hs__object_meta__labels_entry__descriptor, tm->labels[i]->key,
                       tm->labels[i]->value);
    rs->spec->selector = x->spec->selector ? hs_pb_dup (x->spec->selector)
                                           : hs_pb_new (&hs__label_selector__descriptor);
    hs_pb_map_set ((void ***)&rs->spec->selector->match_labels, &rs->spec->selector->n_match_labels,
                   &hs__label_selector__match_labels_entry__descriptor, HS_ROLLOUT_HASH_LABEL,
                   hash);
    hs_pb_map_sort ((void **)rs->spec->selector->match_labels, rs->spec->selector->n_match_labels);
    rs->spec->min_ready_seconds = x->spec->min_ready_seconds;
    rs->spec->replicas = hs_pb_new (&hs__int32_value__descriptor);
    hs_pb_push ((void ***)&m->owner_references, &m->n_owner_references,
                hs_controller_ref_new (x->in->deploy));

    d_rs_t *r = &x->rs[x->n++];
    *r = (d_rs_t){
        .obj = o, .created = o, .name = m->name, .created_ns = x->now, .revision = x->new_revision};
    s_copy_annotations (x, r);
    s_set_ann_i64 (r, HS_ROLLOUT_REVISION, x->new_revision);
    r->spec = s_new_rs_replicas (x, r);
    s_replicas_annotations (x, r);
    x->nrs = r;
    if (s_has_deadline (x)) {
        _cleanup_free_ char *msg = hs_sprintf ("Created new replica set \"%s\"", r->name);
        s_cond_set (x, "Progressing", "True", "NewReplicaSetCreated", msg);
    }
    return true;
}

/* ------------------------------------------------------------------ scaling */

static bool s_active (const d_rs_t *r)
{
    return r->spec > 0;
}

/* kube's isScalingEvent. */
static bool s_scaling_event (const d_t *x)
{
    for (size_t i = 0; i < x->n; i++) {
        const d_rs_t *r = &x->rs[i];
        if (!s_active (r)) continue;
        int64_t want = s_ann_i64 (s_rs_of (r)->metadata, DEPLOY_DESIRED_REPLICAS, -1);
        if (want >= 0 && want != x->replicas) return true;
    }
    return false;
}

/* kube's FindActiveOrLatest. */
static d_rs_t *s_active_or_latest (d_t *x)
{
    d_rs_t *only = NULL, *newest_old = NULL;
    size_t active = 0;
    for (size_t i = 0; i < x->n; i++) {
        d_rs_t *r = &x->rs[i];
        if (r != x->nrs && (!newest_old || r->created_ns >= newest_old->created_ns)) newest_old = r;
        if (s_active (r)) {
            active++;
            only = r;
        }
    }
    if (active == 1) return only;
    if (active == 0) return x->nrs ? x->nrs : newest_old;
    return NULL;
}

static int32_t s_proportion (const d_t *x, const d_rs_t *r, int32_t to_add, int32_t added)
{
    if (r->spec == 0 || to_add == 0 || to_add == added) return 0;
    int32_t fraction;
    if (x->replicas == 0) {
        fraction = -r->spec;
    } else {
        int64_t dr = (int64_t)x->replicas + deploy_max_surge (x->spec, x->replicas);
        int64_t annotated = s_ann_i64 (s_rs_of (r)->metadata, DEPLOY_MAX_REPLICAS, -1);
        if (annotated <= 0) annotated = x->d->status ? x->d->status->replicas : 0;
        if (annotated <= 0) return 0;
        fraction = (int32_t)llround ((double)r->spec * (double)dr / (double)annotated) - r->spec;
    }
    int32_t allowed = to_add - added;
    return to_add > 0 ? s_min (fraction, allowed) : s_max (fraction, allowed);
}

typedef struct {
    d_rs_t *r;
    bool newer_first;
} s_sized_t;

static int s_cmp_size (const void *a, const void *b)
{
    const s_sized_t *x = a, *y = b;
    if (x->r->spec != y->r->spec) return x->r->spec > y->r->spec ? -1 : 1;
    if (x->r->created_ns != y->r->created_ns)
        return (x->r->created_ns > y->r->created_ns) == x->newer_first ? -1 : 1;
    return strcmp (x->r->name, y->r->name);
}

/* kube's scale(): a paused Deployment or a change of spec.replicas. */
static void s_scale_only (d_t *x)
{
    d_rs_t *one = s_active_or_latest (x);
    if (one) {
        if (one->spec != x->replicas) s_scale (x, one, x->replicas);
        return;
    }
    const d_rs_t *nrs = x->nrs;
    if (nrs && nrs->spec == x->replicas &&
        s_ann_i64 (s_rs_of (nrs)->metadata, DEPLOY_DESIRED_REPLICAS, -1) == x->replicas &&
        nrs->c.available == x->replicas) {
        for (size_t i = 0; i < x->n; i++)
            if (&x->rs[i] != nrs && s_active (&x->rs[i])) s_scale (x, &x->rs[i], 0);
        return;
    }
    if (!s_rolling (x->spec)) return;
    s_sized_t *all = hs_calloc (x->n + 1, sizeof *all);
    size_t k = 0;
    int32_t sum = 0;
    for (size_t i = 0; i < x->n; i++)
        if (s_active (&x->rs[i])) {
            all[k++].r = &x->rs[i];
            sum += x->rs[i].spec;
        }
    int32_t allowed = x->replicas > 0 ? x->replicas + deploy_max_surge (x->spec, x->replicas) : 0;
    int32_t to_add = allowed - sum;
    for (size_t i = 0; i < k; i++) all[i].newer_first = to_add > 0;
    qsort (all, k, sizeof *all, s_cmp_size);
    int32_t *size = hs_calloc (k + 1, sizeof *size);
    int32_t added = 0;
    for (size_t i = 0; i < k; i++) {
        size[i] = all[i].r->spec;
        if (to_add != 0) {
            int32_t p = s_proportion (x, all[i].r, to_add, added);
            size[i] += p;
            added += p;
        }
    }
    for (size_t i = 0; i < k; i++) {
        if (i == 0 && to_add != 0) {
            size[i] += to_add - added;
            if (size[i] < 0) size[i] = 0;
        }
        s_scale (x, all[i].r, size[i]);
    }
    free (size);
    free (all);
}

/* kube's reconcileNewReplicaSet: true if it scaled. */
static bool s_reconcile_new (d_t *x)
{
    d_rs_t *n = x->nrs;
    if (!n || n->spec == x->replicas) return false;
    int32_t to = n->spec > x->replicas ? x->replicas : s_new_rs_replicas (x, n);
    if (to == n->spec) return false;
    s_scale (x, n, to);
    return true;
}

/* kube's cleanupUnhealthyReplicas: old ones' unavailable replicas first. */
static int32_t s_cleanup_unhealthy (d_t *x, int32_t max_cleanup)
{
    int32_t total = 0;
    for (size_t i = 0; i < x->n && total < max_cleanup; i++) {
        d_rs_t *r = &x->rs[i];
        if (r == x->nrs || r->spec == 0) continue;
        int32_t avail = s_avail (r);
        if (r->spec == avail) continue;
        int32_t n = s_min (max_cleanup - total, r->spec - avail);
        s_scale (x, r, r->spec - n);
        total += n;
    }
    return total;
}

/* kube's scaleDownOldReplicaSetsForRollingUpdate. */
static int32_t s_scale_down_old (d_t *x)
{
    int32_t min_avail = x->replicas - deploy_max_unavailable (x->spec, x->replicas);
    int32_t avail = s_sum_avail (x);
    if (avail <= min_avail) return 0;
    int32_t todo = avail - min_avail, total = 0;
    for (size_t i = 0; i < x->n && total < todo; i++) {
        d_rs_t *r = &x->rs[i];
        if (r == x->nrs || r->spec == 0) continue;
        int32_t n = s_min (r->spec, todo - total);
        s_scale (x, r, r->spec - n);
        total += n;
    }
    return total;
}

/* kube's reconcileOldReplicaSets: true if it scaled. */
static bool s_reconcile_old (d_t *x)
{
    int32_t old = 0;
    for (size_t i = 0; i < x->n; i++)
        if (&x->rs[i] != x->nrs) old += x->rs[i].spec;
    if (old == 0) return false;
    int32_t min_avail = x->replicas - deploy_max_unavailable (x->spec, x->replicas);
    int32_t new_unavail = x->nrs ? x->nrs->spec - s_avail (x->nrs) : 0;
    int32_t max_down = s_sum_spec (x) - min_avail - new_unavail;
    if (max_down <= 0) return false;
    int32_t n = s_cleanup_unhealthy (x, max_down);
    n += s_scale_down_old (x);
    return n > 0;
}

static int s_cmp_revision (const void *a, const void *b)
{
    const d_rs_t *x = *(d_rs_t *const *)a, *y = *(d_rs_t *const *)b;
    if (x->revision != y->revision) return x->revision < y->revision ? -1 : 1;
    if (x->created_ns != y->created_ns) return x->created_ns < y->created_ns ? -1 : 1;
    return strcmp (x->name, y->name);
}

/* kube's cleanupDeployment: old ReplicaSets beyond revisionHistoryLimit. */
static void s_cleanup (d_t *x)
{
    const Hs__Int32Value *lim = x->spec->revision_history_limit;
    int32_t limit = lim ? lim->value : DEFAULT_HISTORY;
    if (limit == INT32_MAX) return;
    d_rs_t **old = hs_calloc (x->n + 1, sizeof *old);
    size_t k = 0;
    for (size_t i = 0; i < x->n; i++)
        if (&x->rs[i] != x->nrs && !x->rs[i].created &&
            !s_rs_of (&x->rs[i])->metadata->deletion_timestamp)
            old[k++] = &x->rs[i];
    int64_t diff = (int64_t)k - limit;
    if (diff > 0) {
        qsort (old, k, sizeof *old, s_cmp_revision);
        for (int64_t i = 0; i < diff; i++) {
            d_rs_t *r = old[i];
            const Hs__ReplicaSet *rs = s_rs_of (r);
            if (r->c.replicas != 0 || r->spec != 0 || r->orig != 0 ||
                (rs->status && rs->metadata->generation > rs->status->observed_generation))
                continue;
            r->remove = true;
        }
    }
    free (old);
}

/* ------------------------------------------------------------------ status */

/* kube's calculateStatus, into x->st (conditions kept). */
static void s_calc_status (d_t *x)
{
    Hs__DeploymentStatus *st = x->st;
    st->observed_generation = x->m->generation;
    st->replicas = st->updated_replicas = st->ready_replicas = st->available_replicas = 0;
    for (size_t i = 0; i < x->n; i++) {
        const d_rs_t *r = &x->rs[i];
        st->replicas += r->c.replicas;
        st->ready_replicas += r->c.ready;
        st->available_replicas += r->c.available;
    }
    if (x->nrs) st->updated_replicas = x->nrs->c.replicas;
    int32_t unavail = s_sum_spec (x) - st->available_replicas;
    st->unavailable_replicas = unavail > 0 ? unavail : 0;
    if (st->available_replicas >= x->replicas - deploy_max_unavailable (x->spec, x->replicas))
        s_cond_set (x, "Available", "True", "MinimumReplicasAvailable",
                    "Deployment has minimum availability.");
    else
        s_cond_set (x, "Available", "False", "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.");
}

static bool s_complete (const d_t *x, const Hs__DeploymentStatus *st)
{
    return st && st->updated_replicas == x->replicas && st->replicas == x->replicas &&
           st->available_replicas == x->replicas && st->observed_generation >= x->m->generation;
}

/* kube's syncRolloutStatus, after s_calc_status. */
static void s_rollout_status (d_t *x)
{
    s_calc_status (x);
    Hs__DeploymentStatus *st = x->st;
    if (!s_has_deadline (x)) {
        s_cond_remove (st, "Progressing");
        return;
    }
    const Hs__DeploymentCondition *cur = s_cond (st, "Progressing");
    if (st->replicas == st->updated_replicas && cur &&
        hs_streq (cur->reason, "NewReplicaSetAvailable"))
        return;
    const char *name = x->nrs ? x->nrs->name : NULL;
    const Hs__DeploymentStatus *old = x->d->status;
    Hs__DeploymentStatus zero = HS__DEPLOYMENT_STATUS__INIT;
    if (!old) old = &zero;
    if (s_complete (x, st)) {
        _cleanup_free_ char *msg =
            name ? hs_sprintf ("ReplicaSet \"%s\" has successfully progressed.", name)
                 : hs_strdup ("Deployment has successfully progressed.");
        s_cond_set (x, "Progressing", "True", "NewReplicaSetAvailable", msg);
    } else if (st->updated_replicas > old->updated_replicas ||
               st->replicas - st->updated_replicas < old->replicas - old->updated_replicas ||
               st->ready_replicas > old->ready_replicas ||
               st->available_replicas > old->available_replicas) {
        /* progress: refresh lastUpdateTime even with the same reason */
        _cleanup_free_ char *msg = name ? hs_sprintf ("ReplicaSet \"%s\" is progressing.", name)
                                        : hs_strdup ("Deployment is progressing.");
        Hs__DeploymentCondition *c =
            s_cond_new (x, "Progressing", "True", "ReplicaSetUpdated", msg);
        if (cur && hs_streq (cur->status, "True"))
            c->last_transition_time = cur->last_transition_time;
        s_cond_remove (st, "Progressing");
        hs_pb_push ((void ***)&st->conditions, &st->n_conditions, c);
    } else if (cur && !hs_streq (cur->reason, "NewReplicaSetAvailable") &&
               (hs_streq (cur->reason, "ProgressDeadlineExceeded") ||
                cur->last_update_time + (int64_t)s_deadline_s (x) * NS_PER_S < x->now)) {
        _cleanup_free_ char *msg =
            name ? hs_sprintf ("ReplicaSet \"%s\" has timed out progressing.", name)
                 : hs_strdup ("Deployment has timed out progressing.");
        s_cond_set (x, "Progressing", "False", "ProgressDeadlineExceeded", msg);
    }
    /* look again when the deadline passes */
    cur = s_cond (st, "Progressing");
    if (cur && !hs_streq (cur->reason, "NewReplicaSetAvailable") &&
        !hs_streq (cur->reason, "ProgressDeadlineExceeded") && !s_complete (x, st))
        rp_plan_wake (x->plan,
                      cur->last_update_time + (int64_t)s_deadline_s (x) * NS_PER_S + 1000000);
}

/* kube's checkPausedConditions. */
static void s_paused_conditions (d_t *x)
{
    if (!s_has_deadline (x)) return;
    const Hs__DeploymentCondition *cur = s_cond (x->st, "Progressing");
    if (cur && hs_streq (cur->reason, "ProgressDeadlineExceeded")) return;
    bool paused_cond = cur && hs_streq (cur->reason, "DeploymentPaused");
    if (x->spec->paused && !paused_cond)
        s_cond_set (x, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused");
    else if (!x->spec->paused && paused_cond)
        s_cond_set (x, "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed");
}

/* ------------------------------------------------------------------ writes */

static Hs__Write *s_rs_write (Hs__Op op, Hs__Object *o, const Hs__ObjectMeta *was)
{
    Hs__Write *w = hs_write_new (op, o);
    if (was) {
        w->expected_revision = was->resource_version;
        hs_pb_set_str (&w->expected_uid, was->uid);
    }
    return w;
}

static void s_emit (d_t *x)
{
    rp_cmd_t cmd = {0};
    for (size_t i = 0; i < x->n; i++) {
        d_rs_t *r = &x->rs[i];
        _cleanup_free_ char *msg = NULL;
        if (r->spec > r->orig)
            msg = hs_sprintf ("Scaled up replica set %s to %d", r->name, r->spec);
        else if (r->spec < r->orig)
            msg = hs_sprintf ("Scaled down replica set %s to %d", r->name, r->spec);
        if (r->created) {
            Hs__ObjectMeta *m = r->created->replica_set->metadata;
            hs_pb_map_sort ((void **)m->annotations, m->n_annotations);
            hs_pb_map_sort ((void **)m->labels, m->n_labels);
            r->created->replica_set->spec->replicas->value = r->spec;
            rp_cmd_add (&cmd, s_rs_write (HS__OP__OP_CREATE, TAKE_PTR (r->created), NULL),
                        RP_TAG_RS_CREATE, r->spec > 0 ? "ScalingReplicaSet" : NULL, msg);
            continue;
        }
        const Hs__ReplicaSet *rs = s_rs_of (r);
        if (r->remove) {
            Hs__Write *w = hs_write_target (HS__OP__OP_DELETE, HS_KIND_REPLICASET,
                                            rs->metadata->namespace_, rs->metadata->name);
            hs_pb_set_str (&w->expected_uid, rs->metadata->uid);
            rp_cmd_add (&cmd, w, RP_TAG_RS_DELETE, NULL, NULL);
            continue;
        }
        if (r->spec != r->orig) {
            Hs__ReplicaSetSpec *sp = s_upd_spec (r);
            if (!sp->replicas) sp->replicas = hs_pb_new (&hs__int32_value__descriptor);
            sp->replicas->value = r->spec;
        }
        if (!r->upd) continue;
        Hs__ObjectMeta *um = r->upd->replica_set->metadata;
        hs_pb_map_sort ((void **)um->annotations, um->n_annotations);
        Hs__Object *was = hs_pb_dup (r->obj);
        hs_pb_free (was->replica_set->status);
        was->replica_set->status = NULL;
        bool same = hs_pb_equal (was, r->upd);
        hs_pb_free (was);
        if (same) continue;
        rp_cmd_add (&cmd, s_rs_write (HS__OP__OP_UPDATE, TAKE_PTR (r->upd), rs->metadata),
                    RP_TAG_RS_UPDATE, msg ? "ScalingReplicaSet" : NULL, msg);
    }
    /* the Deployment's own revision annotation, as kube keeps it */
    bool updated = false;
    if (x->nrs && x->nrs->revision > 0 &&
        s_ann_i64 (x->m, HS_ROLLOUT_REVISION, -1) != x->nrs->revision) {
        Hs__Object *o = hs_pb_dup (x->in->deploy);
        Hs__ObjectMeta *m = o->deployment->metadata;
        char buf[32];
        snprintf (buf, sizeof buf, "%lld", (long long)x->nrs->revision);
        hs_pb_map_set ((void ***)&m->annotations, &m->n_annotations,
                       &hs__object_meta__annotations_entry__descriptor, HS_ROLLOUT_REVISION, buf);
        hs_pb_map_sort ((void **)m->annotations, m->n_annotations);
        hs_pb_free (o->deployment->status);
        o->deployment->status = NULL;
        rp_cmd_add (&cmd, s_rs_write (HS__OP__OP_UPDATE, o, x->m), RP_TAG_DEPLOY_UPDATE, NULL,
                    NULL);
        updated = true;
    }
    Hs__DeploymentStatus zero = HS__DEPLOYMENT_STATUS__INIT;
    if (!hs_pb_equal (x->st, x->d->status ? x->d->status : &zero)) {
        Hs__Object *o = hs_obj_new (HS_KIND_DEPLOYMENT, x->m->namespace_, x->m->name);
        o->deployment->status = TAKE_PTR (x->st);
        Hs__Write *w = hs_write_new (HS__OP__OP_UPDATE_STATUS, o);
        hs_pb_set_str (&w->expected_uid, x->m->uid);
        if (!updated) w->expected_revision = x->m->resource_version;
        rp_cmd_add (&cmd, w, RP_TAG_STATUS, NULL, NULL);
    }
    if (cmd.n) {
        rp_cmd_t *c = rp_plan_cmd (x->plan);
        *c = cmd;
    }
}

/* ------------------------------------------------------------------ sync */

static int s_cmp_created (const void *a, const void *b)
{
    const d_rs_t *x = a, *y = b;
    if (x->created_ns != y->created_ns) return x->created_ns < y->created_ns ? -1 : 1;
    return strcmp (x->name, y->name);
}

static bool s_claim (const deploy_input_t *in, rp_plan_t *plan)
{
    const Hs__Deployment *d = in->deploy->deployment;
    for (size_t i = 0; i < in->n_rs; i++) {
        const Hs__Object *o = in->rs[i].rs;
        const Hs__ObjectMeta *m = o && o->replica_set ? o->replica_set->metadata : NULL;
        if (!m || m->deletion_timestamp || hs_selector_matches_meta (d->spec->selector, m))
            continue;
        Hs__Object *u = hs_pb_dup (o);
        rs_drop_owner_ref (u->replica_set->metadata, d->metadata->uid);
        hs_pb_free (u->replica_set->status);
        u->replica_set->status = NULL;
        rp_cmd_add (rp_plan_cmd (plan), s_rs_write (HS__OP__OP_UPDATE, u, m), RP_TAG_RS_RELEASE,
                    NULL, NULL);
    }
    for (size_t i = 0; i < in->n_orphans; i++) {
        const Hs__Object *o = in->orphans[i];
        const Hs__ObjectMeta *m = o && o->replica_set ? o->replica_set->metadata : NULL;
        if (!m || m->deletion_timestamp || hs_controller_ref (m) ||
            !hs_selector_matches_meta (d->spec->selector, m))
            continue;
        Hs__Object *u = hs_pb_dup (o);
        Hs__ObjectMeta *um = u->replica_set->metadata;
        hs_pb_push ((void ***)&um->owner_references, &um->n_owner_references,
                    hs_controller_ref_new (in->deploy));
        hs_pb_free (u->replica_set->status);
        u->replica_set->status = NULL;
        rp_cmd_add (rp_plan_cmd (plan), s_rs_write (HS__OP__OP_UPDATE, u, m), RP_TAG_RS_ADOPT, NULL,
                    NULL);
    }
    return plan->n_cmds > 0;
}

int deploy_sync (const deploy_input_t *in, rp_plan_t *ret)
{
    *ret = (rp_plan_t){0};
    const Hs__Deployment *d = in->deploy ? in->deploy->deployment : NULL;
    if (!d || !d->metadata || !d->spec) return -EINVAL;
    if (d->metadata->deletion_timestamp) return 0;
    if (s_claim (in, ret)) return 0;

    d_t x = {.in = in,
             .d = d,
             .m = d->metadata,
             .spec = d->spec,
             .replicas = d->spec->replicas ? d->spec->replicas->value : 1,
             .now = in->now_ns,
             .plan = ret};
    if (x.replicas < 0) x.replicas = 0;
    x.st = d->status ? hs_pb_dup (d->status) : hs_pb_new (&hs__deployment_status__descriptor);
    x.rs = hs_calloc (in->n_rs + 1, sizeof *x.rs);
    for (size_t i = 0; i < in->n_rs; i++) {
        const Hs__Object *o = in->rs[i].rs;
        if (!o || !o->replica_set || !o->replica_set->metadata || !o->replica_set->spec) continue;
        const Hs__ReplicaSet *rs = o->replica_set;
        d_rs_t *r = &x.rs[x.n++];
        r->obj = o;
        r->name = rs->metadata->name;
        r->created_ns = rs->metadata->creation_timestamp;
        r->revision = hs_rollout_revision (rs->metadata);
        r->spec = r->orig = rs->spec->replicas ? rs->spec->replicas->value : 1;
        rs_count_pods (rs->spec->template_, d->spec->min_ready_seconds, in->rs[i].pods,
                       in->rs[i].n_pods, x.now, &r->c);
        rp_plan_wake (ret, r->c.next_available_ns);
    }
    qsort (x.rs, x.n, sizeof *x.rs, s_cmp_created);
    int64_t max_old = 0;
    for (size_t i = 0; i < x.n; i++) {
        if (!x.nrs &&
            hs_rollout_template_equal (s_rs_of (&x.rs[i])->spec->template_, d->spec->template_)) {
            x.nrs = &x.rs[i];
            continue;
        }
        if (x.rs[i].revision > max_old) max_old = x.rs[i].revision;
    }
    x.new_revision = max_old + 1;
    if (x.nrs) {
        s_sync_new_annotations (&x, x.nrs);
        if (s_has_deadline (&x) && !s_cond (x.st, "Progressing")) {
            _cleanup_free_ char *msg = hs_sprintf ("Found new replica set \"%s\"", x.nrs->name);
            s_cond_set (&x, "Progressing", "True", "FoundNewReplicaSet", msg);
        }
    }
    s_paused_conditions (&x);

    if (d->spec->paused || s_scaling_event (&x)) {
        s_scale_only (&x);
        if (d->spec->paused) s_cleanup (&x);
        s_calc_status (&x);
    } else if (!s_rolling (d->spec)) {
        bool down = false;
        for (size_t i = 0; i < x.n; i++)
            if (&x.rs[i] != x.nrs && x.rs[i].spec > 0) {
                s_scale (&x, &x.rs[i], 0);
                down = true;
            }
        bool running = false;
        for (size_t i = 0; i < x.n; i++)
            if (&x.rs[i] != x.nrs && x.rs[i].c.running > 0) running = true;
        if (!down && !running) {
            if (!x.nrs)
                s_create_new (&x);
            else if (x.nrs->spec != x.replicas)
                s_scale (&x, x.nrs, x.replicas);
            if (s_complete (&x, d->status)) s_cleanup (&x);
        }
        s_rollout_status (&x);
    } else {
        if (x.nrs || s_create_new (&x)) {
            if (!s_reconcile_new (&x) && !s_reconcile_old (&x) && s_complete (&x, d->status))
                s_cleanup (&x);
        }
        s_rollout_status (&x);
    }
    s_emit (&x);
    for (size_t i = 0; i < x.n; i++) {
        hs_pb_free (x.rs[i].upd);
        hs_pb_free (x.rs[i].created);
    }
    free (x.rs);
    hs_pb_free (x.st);
    return 0;
}
