/*  rs_sync.c: a ReplicaSet's decisions (rs_sync.h). */
#include "rs_sync.h"
#include "hs_util.h"
#include "hs_workload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ counting */

static bool s_fully_labeled (const Hs__PodTemplateSpec *t, const Hs__ObjectMeta *m)
{
    if (!t || !t->metadata) return true;
    for (size_t i = 0; i < t->metadata->n_labels; i++) {
        const char *v =
            hs_pb_map_get ((void *const *)m->labels, m->n_labels, t->metadata->labels[i]->key);
        if (!v || !hs_streq (v, t->metadata->labels[i]->value)) return false;
    }
    return true;
}

void rs_count_pods (const Hs__PodTemplateSpec *tmpl, int32_t min_ready_s,
                    const Hs__Pod *const *pods, size_t n, int64_t now_ns, rs_counts_t *ret)
{
    rs_counts_t c = {0};
    for (size_t i = 0; i < n; i++) {
        const Hs__Pod *p = pods[i];
        if (!p || !p->metadata) continue;
        if (!hs_pod_terminal (p)) c.running++;
        if (!hs_pod_active (p)) continue;
        c.replicas++;
        if (s_fully_labeled (tmpl, p->metadata)) c.fully_labeled++;
        if (hs_pod_ready (p)) c.ready++;
        int64_t when = 0;
        if (hs_pod_available (p, min_ready_s, now_ns, &when))
            c.available++;
        else if (when && (c.next_available_ns == 0 || when < c.next_available_ns))
            c.next_available_ns = when;
    }
    *ret = c;
}

bool rs_pod_node_lost (const Hs__Pod *pod)
{
    return pod && pod->status && hs_streq (pod->status->phase, "Failed") &&
           hs_streq (pod->status->reason, "NodeLost");
}

/* ------------------------------------------------------------------ order */

static int s_phase_rank (const Hs__Pod *p)
{
    const char *ph = p->status ? p->status->phase : "";
    if (hs_streq (ph, "Pending") || hs_empty (ph)) return 0;
    if (hs_streq (ph, "Unknown")) return 1;
    if (hs_streq (ph, "Running")) return 2;
    return 3;
}

static int32_t s_restarts (const Hs__Pod *p)
{
    int32_t most = 0;
    for (size_t i = 0; p->status && i < p->status->n_container_statuses; i++)
        if (p->status->container_statuses[i]->restart_count > most)
            most = p->status->container_statuses[i]->restart_count;
    return most;
}

static int64_t s_ready_since (const Hs__Pod *p)
{
    const Hs__PodCondition *c = hs_pod_condition (p->status, "Ready");
    return c ? c->last_transition_time : 0;
}

int rs_pod_delete_order (const Hs__Pod *a, const Hs__Pod *b)
{
    bool ua = !a->spec || hs_empty (a->spec->node_name);
    bool ub = !b->spec || hs_empty (b->spec->node_name);
    if (ua != ub) return ua ? -1 : 1; /* unscheduled first */
    int pa = s_phase_rank (a), pb = s_phase_rank (b);
    if (pa != pb) return pa < pb ? -1 : 1; /* Pending < Unknown < Running */
    bool ra = hs_pod_ready (a), rb = hs_pod_ready (b);
    if (ra != rb) return ra ? 1 : -1; /* not ready first */
    if (ra) {
        int64_t ta = s_ready_since (a), tb = s_ready_since (b);
        if (ta != tb) return ta > tb ? -1 : 1; /* ready for less time first */
    }
    int32_t ca = s_restarts (a), cb = s_restarts (b);
    if (ca != cb) return ca > cb ? -1 : 1; /* more restarts first */
    int64_t na = a->metadata->creation_timestamp, nb = b->metadata->creation_timestamp;
    if (na != nb) return na > nb ? -1 : 1; /* newest first */
    return strcmp (a->metadata->name, b->metadata->name);
}

static int s_cmp_pods (const void *x, const void *y)
{
    return rs_pod_delete_order (*(const Hs__Pod *const *)x, *(const Hs__Pod *const *)y);
}

/* ------------------------------------------------------------------ writes */

static Hs__Write *s_pod_update (const Hs__Pod *pod, Hs__Pod *upd)
{
    Hs__Write *w = hs_write_new (HS__OP__OP_UPDATE, hs_obj_wrap (HS_KIND_POD, &upd->base));
    w->expected_revision = pod->metadata->resource_version;
    hs_pb_set_str (&w->expected_uid, pod->metadata->uid);
    return w;
}

static Hs__Write *s_adopt (const Hs__Pod *pod, const Hs__Object *owner)
{
    Hs__Pod *upd = hs_pb_dup (pod);
    hs_pb_push ((void ***)&upd->metadata->owner_references, &upd->metadata->n_owner_references,
                hs_controller_ref_new (owner));
    return s_pod_update (pod, upd);
}

void rs_drop_owner_ref (Hs__ObjectMeta *m, const char *uid)
{
    size_t k = 0;
    for (size_t i = 0; i < m->n_owner_references; i++) {
        Hs__OwnerReference *r = m->owner_references[i];
        if (r->controller && hs_streq (r->uid, uid))
            hs_pb_free (r);
        else
            m->owner_references[k++] = r;
    }
    m->n_owner_references = k;
}

static Hs__Write *s_release (const Hs__Pod *pod, const char *owner_uid)
{
    Hs__Pod *upd = hs_pb_dup (pod);
    rs_drop_owner_ref (upd->metadata, owner_uid);
    return s_pod_update (pod, upd);
}

static Hs__Write *s_delete (const Hs__Pod *pod, bool now)
{
    Hs__Write *w = hs_write_target (HS__OP__OP_DELETE, HS_KIND_POD, pod->metadata->namespace_,
                                    pod->metadata->name);
    hs_pb_set_str (&w->expected_uid, pod->metadata->uid);
    if (now) {
        w->grace_period_seconds = hs_pb_new (&hs__int64_value__descriptor);
        w->grace_period_seconds->value = 0;
    }
    return w;
}

static Hs__ReplicaSetStatus *s_status (const Hs__ReplicaSet *rs, const rs_counts_t *c)
{
    Hs__ReplicaSetStatus *st = hs_pb_new (&hs__replica_set_status__descriptor);
    st->replicas = c->replicas;
    st->fully_labeled_replicas = c->fully_labeled;
    st->ready_replicas = c->ready;
    st->available_replicas = c->available;
    st->observed_generation = rs->metadata->generation;
    for (size_t i = 0; rs->status && i < rs->status->n_conditions; i++)
        hs_pb_push ((void ***)&st->conditions, &st->n_conditions,
                    hs_pb_dup (rs->status->conditions[i]));
    return st;
}

static bool s_status_changed (const Hs__ReplicaSet *rs, const Hs__ReplicaSetStatus *st)
{
    if (rs->status) return !hs_pb_equal (rs->status, st);
    Hs__ReplicaSetStatus empty = HS__REPLICA_SET_STATUS__INIT;
    return !hs_pb_equal (&empty, st);
}

static Hs__Write *s_status_write (const Hs__ReplicaSet *rs, Hs__ReplicaSetStatus *st /* taken */,
                                  bool expect)
{
    Hs__Object *o = hs_obj_new (HS_KIND_REPLICASET, rs->metadata->namespace_, rs->metadata->name);
    o->replica_set->status = st;
    Hs__Write *w = hs_write_new (HS__OP__OP_UPDATE_STATUS, o);
    hs_pb_set_str (&w->expected_uid, rs->metadata->uid);
    if (expect) w->expected_revision = rs->metadata->resource_version;
    return w;
}

/* The fencing update: the ReplicaSet as cached, RS_SYNC_ANNOTATION + 1. */
static Hs__Write *s_guard (const Hs__Object *obj)
{
    const Hs__ObjectMeta *m = obj->replica_set->metadata;
    Hs__Object *o = hs_pb_dup (obj);
    Hs__ObjectMeta *om = o->replica_set->metadata;
    int64_t v = 0;
    const char *cur =
        hs_pb_map_get ((void *const *)m->annotations, m->n_annotations, RS_SYNC_ANNOTATION);
    if (!cur || hs_parse_i64 (cur, &v) < 0 || v < 0) v = 0;
    char buf[32];
    snprintf (buf, sizeof buf, "%lld", (long long)(v + 1));
    hs_pb_map_set ((void ***)&om->annotations, &om->n_annotations,
                   &hs__object_meta__annotations_entry__descriptor, RS_SYNC_ANNOTATION, buf);
    hs_pb_map_sort ((void **)om->annotations, om->n_annotations);
    hs_pb_free (o->replica_set->status);
    o->replica_set->status = NULL;
    Hs__Write *w = hs_write_new (HS__OP__OP_UPDATE, o);
    w->expected_revision = m->resource_version;
    hs_pb_set_str (&w->expected_uid, m->uid);
    return w;
}

/* ------------------------------------------------------------------ sync */

int rs_sync (const rs_input_t *in, rp_plan_t *ret)
{
    *ret = (rp_plan_t){0};
    const Hs__ReplicaSet *rs = in->rs ? in->rs->replica_set : NULL;
    if (!rs || !rs->metadata || !rs->spec) return -EINVAL;
    const Hs__ObjectMeta *m = rs->metadata;
    const Hs__ReplicaSetSpec *spec = rs->spec;
    if (m->deletion_timestamp) return 0;
    int max_writes = in->max_pod_writes > 0 ? in->max_pod_writes : RS_MAX_POD_WRITES;

    /* 1. claim */
    for (size_t i = 0; i < in->n_pods; i++) {
        const Hs__Pod *p = in->pods[i];
        if (!p || !p->metadata || p->metadata->deletion_timestamp) continue;
        if (hs_selector_matches_meta (spec->selector, p->metadata)) continue;
        rp_cmd_add (rp_plan_cmd (ret), s_release (p, m->uid), RP_TAG_POD_RELEASE, NULL, NULL);
    }
    for (size_t i = 0; i < in->n_orphans; i++) {
        const Hs__Pod *p = in->orphans[i];
        if (!p || !p->metadata || !hs_pod_active (p) || hs_controller_ref (p->metadata)) continue;
        if (!hs_selector_matches_meta (spec->selector, p->metadata)) continue;
        rp_cmd_add (rp_plan_cmd (ret), s_adopt (p, in->rs), RP_TAG_POD_ADOPT, NULL, NULL);
    }
    if (ret->n_cmds) return 0;

    /* 2. count */
    const Hs__Pod **active = hs_calloc (in->n_pods + 1, sizeof *active);
    size_t n_active = 0;
    for (size_t i = 0; i < in->n_pods; i++)
        if (in->pods[i] && in->pods[i]->metadata && hs_pod_active (in->pods[i]))
            active[n_active++] = in->pods[i];
    rs_counts_t c;
    rs_count_pods (spec->template_, spec->min_ready_seconds, active, n_active, in->now_ns, &c);
    rp_plan_wake (ret, c.next_available_ns);
    int32_t want = spec->replicas ? spec->replicas->value : 1;
    if (want < 0) want = 0;

    rp_cmd_t pods = {0};
    int budget = max_writes;
    for (size_t i = 0; i < in->n_pods && budget > 0; i++) {
        const Hs__Pod *p = in->pods[i];
        if (!p || !p->metadata || p->metadata->deletion_timestamp || !rs_pod_node_lost (p))
            continue;
        rp_cmd_add (&pods, s_delete (p, true), RP_TAG_POD_DELETE, NULL, NULL);
        budget--;
    }
    int diff = (int)n_active - want;
    if (diff < 0) {
        int n = -diff < budget ? -diff : budget;
        _cleanup_free_ char *prefix = hs_sprintf ("%s-", m->name);
        for (int i = 0; i < n; i++) {
            Hs__Object *pod = hs_pod_from_template (spec->template_, m->namespace_, prefix, in->rs);
            rp_cmd_add (&pods, hs_write_new (HS__OP__OP_CREATE, pod), RP_TAG_POD_CREATE, NULL,
                        NULL);
        }
    } else if (diff > 0) {
        qsort (active, n_active, sizeof *active, s_cmp_pods);
        int n = diff < budget ? diff : budget;
        for (int i = 0; i < n; i++)
            rp_cmd_add (&pods, s_delete (active[i], false), RP_TAG_POD_DELETE, NULL, NULL);
    }
    free (active);

    /* 3. status, and the Command */
    Hs__ReplicaSetStatus *st = s_status (rs, &c);
    bool changed = s_status_changed (rs, st);
    if (pods.n) {
        rp_cmd_t *cmd = rp_plan_cmd (ret);
        rp_cmd_add (cmd, s_guard (in->rs), RP_TAG_GUARD, NULL, NULL);
        if (changed)
            rp_cmd_add (cmd, s_status_write (rs, TAKE_PTR (st), false), RP_TAG_STATUS, NULL, NULL);
        for (size_t i = 0; i < pods.n; i++) {
            rp_cmd_add (cmd, pods.w[i].write, pods.w[i].tag, NULL, NULL);
        }
        free (pods.w);
    } else if (changed) {
        rp_cmd_add (rp_plan_cmd (ret), s_status_write (rs, TAKE_PTR (st), true), RP_TAG_STATUS,
                    NULL, NULL);
    }
    hs_pb_free (st);
    return 0;
}
