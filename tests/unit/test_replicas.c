/*  test_replicas.c: hs-replicas' pure core (services/replicas): the pod
 *  deletion order, a ReplicaSet's sync (create, delete, adopt, release,
 *  NodeLost, status, fencing, burst), a Deployment's (hash, new ReplicaSet,
 *  rolling steps, unhealthy cleanup, Recreate, paused, proportional
 *  scaling, history cleanup, progress conditions), the garbage rule, and a
 *  small store simulation that rolls Deployments through every step while
 *  checking maxSurge / maxUnavailable at each one.
 */
#include "deploy_sync.h"
#include "hs_test.h"
#include "hs_util.h"
#include "hs_workload.h"
#include "owner_gc.h"
#include "rs_sync.h"

#include <errno.h>
#include <stdlib.h>

#define S  1000000000LL
#define T0 (1800000000LL * S) /* "now" in the tests */

/* ------------------------------------------------------------------ builders */

static void s_label (Hs__ObjectMeta *m, const char *k, const char *v)
{
    hs_pb_map_set ((void ***)&m->labels, &m->n_labels, &hs__object_meta__labels_entry__descriptor,
                   k, v);
    hs_pb_map_sort ((void **)m->labels, m->n_labels);
}

static void s_ann (Hs__ObjectMeta *m, const char *k, const char *v)
{
    hs_pb_map_set ((void ***)&m->annotations, &m->n_annotations,
                   &hs__object_meta__annotations_entry__descriptor, k, v);
    hs_pb_map_sort ((void **)m->annotations, m->n_annotations);
}

static Hs__PodTemplateSpec *s_template (const char *app, const char *version)
{
    Hs__PodTemplateSpec *t = hs_pb_new (&hs__pod_template_spec__descriptor);
    t->metadata = hs_pb_new (&hs__object_meta__descriptor);
    s_label (t->metadata, "app", app);
    t->spec = hs_pb_new (&hs__pod_spec__descriptor);
    Hs__Container *c = hs_pb_new (&hs__container__descriptor);
    hs_pb_set_str (&c->name, "main");
    char *a = NULL;
    hs_pb_set_str (&a, "sleep");
    hs_pb_push ((void ***)&c->command, &c->n_command, a);
    Hs__EnvVar *e = hs_pb_new (&hs__env_var__descriptor);
    hs_pb_set_str (&e->name, "VERSION");
    hs_pb_set_str (&e->value, version);
    hs_pb_push ((void ***)&c->env, &c->n_env, e);
    hs_pb_push ((void ***)&t->spec->containers, &t->spec->n_containers, c);
    hs_pb_set_str (&t->spec->restart_policy, "Always");
    return t;
}

static Hs__LabelSelector *s_selector (const char *app)
{
    Hs__LabelSelector *s = hs_pb_new (&hs__label_selector__descriptor);
    hs_pb_map_set ((void ***)&s->match_labels, &s->n_match_labels,
                   &hs__label_selector__match_labels_entry__descriptor, "app", app);
    return s;
}

static Hs__Int32Value *s_i32 (int32_t v)
{
    Hs__Int32Value *x = hs_pb_new (&hs__int32_value__descriptor);
    x->value = v;
    return x;
}

static void s_meta (Hs__ObjectMeta *m, const char *name, int64_t created)
{
    _cleanup_free_ char *uid = hs_sprintf ("uid-%s", name);
    hs_pb_set_str (&m->uid, uid);
    m->resource_version = 100;
    m->generation = 1;
    m->creation_timestamp = created;
}

static Hs__Object *s_rs (const char *name, int32_t replicas, const char *app)
{
    Hs__Object *o = hs_obj_new (HS_KIND_REPLICASET, "default", name);
    s_meta (o->replica_set->metadata, name, T0 - 100 * S);
    Hs__ReplicaSetSpec *sp = o->replica_set->spec = hs_pb_new (&hs__replica_set_spec__descriptor);
    sp->replicas = s_i32 (replicas);
    sp->selector = s_selector (app);
    sp->template_ = s_template (app, "v1");
    return o;
}

/* A pod: node "" = unscheduled; phase; ready since ready_at (0: not ready). */
static Hs__Object *s_pod (const char *name, const Hs__Object *owner, const char *app,
                          const char *node, const char *phase, int64_t ready_at, int64_t created)
{
    Hs__Object *o = hs_obj_new (HS_KIND_POD, "default", name);
    Hs__ObjectMeta *m = o->pod->metadata;
    s_meta (m, name, created);
    s_label (m, "app", app);
    if (owner)
        hs_pb_push ((void ***)&m->owner_references, &m->n_owner_references,
                    hs_controller_ref_new (owner));
    o->pod->spec = hs_pb_new (&hs__pod_spec__descriptor);
    hs_pb_set_str (&o->pod->spec->node_name, node);
    Hs__PodStatus *st = o->pod->status = hs_pb_new (&hs__pod_status__descriptor);
    hs_pb_set_str (&st->phase, phase);
    Hs__PodCondition *c = hs_pb_new (&hs__pod_condition__descriptor);
    hs_pb_set_str (&c->type, "Ready");
    hs_pb_set_str (&c->status, ready_at ? "True" : "False");
    c->last_transition_time = ready_at;
    hs_pb_push ((void ***)&st->conditions, &st->n_conditions, c);
    return o;
}

static const Hs__Pod *s_podv[64];

static const Hs__Pod *const *s_pods (Hs__Object **objs, size_t n)
{
    for (size_t i = 0; i < n; i++) s_podv[i] = objs[i]->pod;
    return s_podv;
}

static void s_free_all (Hs__Object **objs, size_t n)
{
    for (size_t i = 0; i < n; i++) hs_pb_free (objs[i]);
}

static size_t s_count_tag (const rp_plan_t *p, rp_tag_t tag)
{
    size_t n = 0;
    for (size_t c = 0; c < p->n_cmds; c++)
        for (size_t i = 0; i < p->cmds[c].n; i++) n += p->cmds[c].w[i].tag == tag;
    return n;
}

static const Hs__Write *s_nth_tag (const rp_plan_t *p, rp_tag_t tag, size_t nth)
{
    for (size_t c = 0; c < p->n_cmds; c++)
        for (size_t i = 0; i < p->cmds[c].n; i++)
            if (p->cmds[c].w[i].tag == tag && nth-- == 0) return p->cmds[c].w[i].write;
    return NULL;
}

/* ------------------------------------------------------------------ order */

static void test_delete_order (void)
{
    Hs__Object *rs = s_rs ("web", 1, "web");
    Hs__Object *p[7] = {
        s_pod ("old-ready", rs, "web", "n1", "Running", T0 - 50 * S, T0 - 60 * S),
        s_pod ("new-ready", rs, "web", "n1", "Running", T0 - 5 * S, T0 - 10 * S),
        s_pod ("not-ready", rs, "web", "n1", "Running", 0, T0 - 70 * S),
        s_pod ("pending", rs, "web", "n1", "Pending", 0, T0 - 80 * S),
        s_pod ("unscheduled", rs, "web", "", "Pending", 0, T0 - 90 * S),
        s_pod ("restarts", rs, "web", "n1", "Running", T0 - 50 * S, T0 - 60 * S),
        s_pod ("newest-same", rs, "web", "n1", "Running", T0 - 50 * S, T0 - 55 * S),
    };
    Hs__ContainerStatus *cs = hs_pb_new (&hs__container_status__descriptor);
    cs->restart_count = 3;
    hs_pb_push ((void ***)&p[5]->pod->status->container_statuses,
                &p[5]->pod->status->n_container_statuses, cs);
    /* each goes before the next */
    const char *order[] = {"unscheduled", "pending",     "not-ready", "new-ready",
                           "restarts",    "newest-same", "old-ready"};
    for (size_t i = 0; i + 1 < HS_ARRAY_LEN (order); i++) {
        const Hs__Pod *a = NULL, *b = NULL;
        for (size_t k = 0; k < 7; k++) {
            if (hs_streq (p[k]->pod->metadata->name, order[i])) a = p[k]->pod;
            if (hs_streq (p[k]->pod->metadata->name, order[i + 1])) b = p[k]->pod;
        }
        CHECK (rs_pod_delete_order (a, b) < 0);
        CHECK (rs_pod_delete_order (b, a) > 0);
    }
    CHECK_EQ_INT (rs_pod_delete_order (p[0]->pod, p[0]->pod), 0);
    s_free_all (p, 7);
    hs_pb_free (rs);
}

/* ------------------------------------------------------------------ ReplicaSet */

static void test_rs_create (void)
{
    Hs__Object *rs = s_rs ("web", 3, "web");
    Hs__Object *p[1] = {s_pod ("web-aaaaa", rs, "web", "n1", "Running", T0 - 5 * S, T0 - 9 * S)};
    rs_input_t in = {.rs = rs, .pods = s_pods (p, 1), .n_pods = 1, .now_ns = T0};
    rp_plan_t plan;
    CHECK_EQ_INT (rs_sync (&in, &plan), 0);
    CHECK_EQ_INT (plan.n_cmds, 1);
    CHECK_EQ_INT (s_count_tag (&plan, RP_TAG_POD_CREATE), 2);
    CHECK_EQ_INT (s_count_tag (&plan, RP_TAG_GUARD), 1);
    CHECK_EQ_INT (s_count_tag (&plan, RP_TAG_STATUS), 1);
    /* the fencing update first, with the revision decided on */
    const Hs__Write *g = plan.cmds[0].w[0].write;
    CHECK_EQ_INT (plan.cmds[0].w[0].tag, RP_TAG_GUARD);
    CHECK_EQ_INT (g->op, HS__OP__OP_UPDATE);
    CHECK_EQ_INT (g->expected_revision, 100);
    CHECK_EQ_STR (g->expected_uid, "uid-web");
    const Hs__ObjectMeta *gm = g->object->replica_set->metadata;
    CHECK_EQ_STR (
        hs_pb_map_get ((void *const *)gm->annotations, gm->n_annotations, RS_SYNC_ANNOTATION), "1");
    /* the status rides in the same Command, without its own precondition */
    const Hs__Write *st = s_nth_tag (&plan, RP_TAG_STATUS, 0);
    CHECK_EQ_INT (st->expected_revision, 0);
    CHECK_EQ_INT (st->object->replica_set->status->replicas, 1);
    CHECK_EQ_INT (st->object->replica_set->status->ready_replicas, 1);
    CHECK_EQ_INT (st->object->replica_set->status->available_replicas, 1);
    CHECK_EQ_INT (st->object->replica_set->status->observed_generation, 1);
    const Hs__Write *c = s_nth_tag (&plan, RP_TAG_POD_CREATE, 0);
    CHECK_EQ_INT (c->op, HS__OP__OP_CREATE);
    const Hs__ObjectMeta *pm = c->object->pod->metadata;
    CHECK_EQ_STR (pm->generate_name, "web-");
    CHECK_EQ_STR (pm->name, "");
    CHECK_EQ_STR (hs_pb_map_get ((void *const *)pm->labels, pm->n_labels, "app"), "web");
    CHECK_EQ_STR (hs_controller_ref (pm)->uid, "uid-web");
    CHECK_EQ_STR (hs_controller_ref (pm)->kind, "ReplicaSet");
    rp_plan_free (&plan);

    /* the guard counts up from what is there */
    s_ann (rs->replica_set->metadata, RS_SYNC_ANNOTATION, "41");
    CHECK_EQ_INT (rs_sync (&in, &plan), 0);
    gm = plan.cmds[0].w[0].write->object->replica_set->metadata;
    CHECK_EQ_STR (
        hs_pb_map_get ((void *const *)gm->annotations, gm->n_annotations, RS_SYNC_ANNOTATION),
        "42");
    rp_plan_free (&plan);

    /* at most max_pod_writes per sync */
    rs->replica_set->spec->replicas->value = 2000;
    CHECK_EQ_INT (rs_sync (&in, &plan), 0);
    CHECK_EQ_INT (s_count_tag (&plan, RP_TAG_POD_CREATE), RS_MAX_POD_WRITES);
    CHECK (rp_plan_writes (&plan) <= 500);
    rp_plan_free (&plan);
    in.max_pod_writes = 7;
    CHECK_EQ_INT (rs_sync (&in, &plan), 0);
    CHECK_EQ_INT (s_count_tag (&plan, RP_TAG_POD_CREATE), 7);
    rp_plan_free (&plan);
    s_free_all (p, 1);
    hs_pb_free (rs);
}

static void test_rs_delete (void)
{
    Hs__Object *rs = s_rs ("web", 2, "web");
    Hs__Object *p[5] = {
        s_pod ("a", rs, "web", "n1", "Running", T0 - 50 * S, T0 - 60 * S),
        s_pod ("b", rs, "web", "n1", "Running", T0 - 40 * S, T0 - 50 * S),
        s_pod ("c", rs, "web", "", "Pending", 0, T0 - 99 * S),
        s_pod ("d", rs, "web", "n2", "Running", 0, T0 - 98 * S),
        s_pod ("e", rs, "web", "n2", "Running", T0 - 30 * S, T0 - 40 * S),
    };
    rs_input_t in = {.rs = rs, .pods = s_pods (p, 5), .n_pods = 5, .now_ns = T0};
    rp_plan_t plan;
    CHECK_EQ_INT (rs_sync (&in, &plan), 0);
    CHECK_EQ_INT (s_count_tag (&plan, RP_TAG_POD_DELETE), 3);
    CHECK_EQ_INT (s_count_tag (&plan, RP_TAG_POD_CREATE), 0);
    /* unscheduled, then not ready, then the one ready for the least time */
    const char *want[] = {"c", "d", "e"};
    for (size_t i = 0; i < 3; i++) {
        const Hs__Write *w = s_nth_tag (&plan, RP_TAG_POD_DELETE, i);
        CHECK_EQ_INT (w->op, HS__OP__OP_DELETE);
        CHECK_EQ_STR (w->name, want[i]);
        CHECK_EQ_STR (w->kind, "pod");
        _cleanup_free_ char *uid = hs_sprintf ("uid-%s", want[i]);
        CHECK_EQ_STR (w->expected_uid, uid);
        CHECK (w->grace_period_seconds == NULL); /* graceful */
    }
    rp_plan_free (&plan);
    s_free_all (p, 5);
    hs_pb_free (rs);
}

static void test_rs_terminal (void)
{
    Hs__Object *rs = s_rs ("web", 2, "web");
    Hs__Object *p[3] = {
        s_pod ("ok", rs, "web", "n1", "Running", T0 - 50 * S, T0 - 60 * S),
        s_pod ("lost", rs, "web", "n2", "Failed", 0, T0 - 60 * S),
        s_pod ("failed", rs, "web", "n2", "Failed", 0, T0 - 60 * S),
    };
    hs_pb_set_str (&p[1]->pod->status->reason, "NodeLost");
    hs_pb_set_str (&p[2]->pod->status->reason, "Evicted");
    rs_input_t in = {.rs = rs, .pods = s_pods (p, 3), .n_pods = 3, .now_ns = T0};
    rp_plan_t plan;
    CHECK_EQ_INT (rs_sync (&in, &plan), 0);
    /* the finished ones do not count: one replacement; only NodeLost is deleted, at once */
    CHECK_EQ_INT (s_count_tag (&plan, RP_TAG_POD_CREATE), 1);
    CHECK_EQ_INT (s_count_tag (&plan, RP_TAG_POD_DELETE), 1);
    const Hs__Write *d = s_nth_tag (&plan, RP_TAG_POD_DELETE, 0);
    CHECK_EQ_STR (d->name, "lost");
    CHECK (d->grace_period_seconds && d->grace_period_seconds->value == 0);
    rp_plan_free (&plan);
    s_free_all (p, 3);
    hs_pb_free (rs);
}

static void test_rs_claim (void)
{
    Hs__Object *rs = s_rs ("web", 2, "web");
    Hs__Object *other = s_rs ("other", 1, "other");
    Hs__Object *p[2] = {
        s_pod ("mine", rs, "web", "n1", "Running", T0 - 50 * S, T0 - 60 * S),
        s_pod ("relabeled", rs, "api", "n1", "Running", T0 - 50 * S, T0 - 60 * S),
    };
    Hs__Object *o[4] = {
        s_pod ("stray", NULL, "web", "n1", "Running", T0 - 50 * S, T0 - 60 * S),
        s_pod ("unrelated", NULL, "db", "n1", "Running", T0 - 50 * S, T0 - 60 * S),
        s_pod ("finished", NULL, "web", "n1", "Succeeded", 0, T0 - 60 * S),
        s_pod ("taken", other, "web", "n1", "Running", T0 - 50 * S, T0 - 60 * S),
    };
    const Hs__Pod *ov[4];
    for (int i = 0; i < 4; i++) ov[i] = o[i]->pod;
    rs_input_t in = {
        .rs = rs, .pods = s_pods (p, 2), .n_pods = 2, .orphans = ov, .n_orphans = 4, .now_ns = T0};
    rp_plan_t plan;
    CHECK_EQ_INT (rs_sync (&in, &plan), 0);
    /* one adoption and one release, each alone; nothing else this sync */
    CHECK_EQ_INT (plan.n_cmds, 2);
    CHECK_EQ_INT (s_count_tag (&plan, RP_TAG_POD_ADOPT), 1);
    CHECK_EQ_INT (s_count_tag (&plan, RP_TAG_POD_RELEASE), 1);
    CHECK_EQ_INT (rp_plan_writes (&plan), 2);
    const Hs__Write *a = s_nth_tag (&plan, RP_TAG_POD_ADOPT, 0);
    CHECK_EQ_INT (a->op, HS__OP__OP_UPDATE);
    CHECK_EQ_STR (a->object->pod->metadata->name, "stray");
    CHECK_EQ_INT (a->expected_revision, 100);
    CHECK_EQ_STR (a->expected_uid, "uid-stray");
    CHECK_EQ_STR (hs_controller_ref (a->object->pod->metadata)->uid, "uid-web");
    const Hs__Write *r = s_nth_tag (&plan, RP_TAG_POD_RELEASE, 0);
    CHECK_EQ_STR (r->object->pod->metadata->name, "relabeled");
    CHECK (hs_controller_ref (r->object->pod->metadata) == NULL);
    CHECK_EQ_INT (r->expected_revision, 100);
    rp_plan_free (&plan);
    s_free_all (p, 2);
    s_free_all (o, 4);
    hs_pb_free (rs);
    hs_pb_free (other);
}

static void test_rs_status (void)
{
    Hs__Object *rs = s_rs ("web", 3, "web");
    rs->replica_set->spec->min_ready_seconds = 10;
    Hs__Object *p[3] = {
        s_pod ("a", rs, "web", "n1", "Running", T0 - 50 * S, T0 - 60 * S),
        s_pod ("b", rs, "web", "n1", "Running", T0 - 4 * S, T0 - 60 * S), /* available at +6 s */
        s_pod ("c", rs, "web", "n1", "Pending", 0, T0 - 60 * S),
    };
    s_label (p[2]->pod->metadata, "extra", "x");
    rs->replica_set->spec->template_->metadata->n_labels = 1;
    s_label (rs->replica_set->spec->template_->metadata, "tier", "front");
    s_label (p[0]->pod->metadata, "tier", "front");
    rs_input_t in = {.rs = rs, .pods = s_pods (p, 3), .n_pods = 3, .now_ns = T0};
    rp_plan_t plan;
    CHECK_EQ_INT (rs_sync (&in, &plan), 0);
    CHECK_EQ_INT (plan.n_cmds, 1);
    CHECK_EQ_INT (rp_plan_writes (&plan), 1);
    const Hs__Write *w = s_nth_tag (&plan, RP_TAG_STATUS, 0);
    CHECK_EQ_INT (w->op, HS__OP__OP_UPDATE_STATUS);
    CHECK_EQ_INT (w->expected_revision, 100); /* alone: with its precondition */
    const Hs__ReplicaSetStatus *st = w->object->replica_set->status;
    CHECK_EQ_INT (st->replicas, 3);
    CHECK_EQ_INT (st->fully_labeled_replicas, 1);
    CHECK_EQ_INT (st->ready_replicas, 2);
    CHECK_EQ_INT (st->available_replicas, 1);
    CHECK_EQ_INT (plan.wake_ns, T0 + 6 * S);
    /* written: no more writes */
    rs->replica_set->status = hs_pb_dup (st);
    rp_plan_free (&plan);
    CHECK_EQ_INT (rs_sync (&in, &plan), 0);
    CHECK_EQ_INT (plan.n_cmds, 0);
    rp_plan_free (&plan);
    /* a deleted ReplicaSet does nothing */
    rs->replica_set->metadata->deletion_timestamp = T0;
    rs->replica_set->spec->replicas->value = 10;
    CHECK_EQ_INT (rs_sync (&in, &plan), 0);
    CHECK_EQ_INT (plan.n_cmds, 0);
    rp_plan_free (&plan);
    s_free_all (p, 3);
    hs_pb_free (rs);
    rs_input_t bad = {0};
    CHECK_EQ_INT (rs_sync (&bad, &plan), -EINVAL);
}

/* ------------------------------------------------------------------ Deployment */

static Hs__Object *s_deploy (const char *name, int32_t replicas, const char *surge,
                             const char *unavail, const char *version)
{
    Hs__Object *o = hs_obj_new (HS_KIND_DEPLOYMENT, "default", name);
    s_meta (o->deployment->metadata, name, T0 - 200 * S);
    Hs__DeploymentSpec *sp = o->deployment->spec = hs_pb_new (&hs__deployment_spec__descriptor);
    sp->replicas = s_i32 (replicas);
    sp->selector = s_selector (name);
    sp->template_ = s_template (name, version);
    sp->strategy = hs_pb_new (&hs__deployment_strategy__descriptor);
    hs_pb_set_str (&sp->strategy->type, "RollingUpdate");
    sp->strategy->rolling_update = hs_pb_new (&hs__rolling_update_deployment__descriptor);
    hs_pb_set_str (&sp->strategy->rolling_update->max_surge, surge);
    hs_pb_set_str (&sp->strategy->rolling_update->max_unavailable, unavail);
    sp->revision_history_limit = s_i32 (10);
    sp->progress_deadline_seconds = s_i32 (600);
    return o;
}

static void test_hash (void)
{
    Hs__PodTemplateSpec *a = s_template ("web", "v1"), *b = s_template ("web", "v2");
    char h1[HS_ROLLOUT_HASH_LEN + 1], h2[HS_ROLLOUT_HASH_LEN + 1], h3[HS_ROLLOUT_HASH_LEN + 1];
    hs_rollout_template_hash (a, 0, h1);
    hs_rollout_template_hash (a, 0, h2);
    CHECK_EQ_STR (h1, h2);
    CHECK_EQ_INT (strlen (h1), HS_ROLLOUT_HASH_LEN);
    CHECK_EQ_INT (strspn (h1, "bcdfghjklmnpqrstvwxz2456789"), HS_ROLLOUT_HASH_LEN);
    hs_rollout_template_hash (b, 0, h3);
    CHECK (strcmp (h1, h3) != 0);
    hs_rollout_template_hash (a, 1, h3);
    CHECK (strcmp (h1, h3) != 0);
    /* label order does not matter; the hash label is ignored when comparing */
    s_label (a->metadata, "z", "1");
    Hs__PodTemplateSpec *c = hs_pb_dup (a);
    s_label (c->metadata, HS_ROLLOUT_HASH_LABEL, h1);
    CHECK (hs_rollout_template_equal (a, c));
    CHECK (!hs_rollout_template_equal (a, b));
    hs_pb_free (a);
    hs_pb_free (b);
    hs_pb_free (c);
    Hs__DeploymentSpec sp = HS__DEPLOYMENT_SPEC__INIT;
    CHECK_EQ_INT (deploy_max_surge (&sp, 10), 3);       /* 25% up */
    CHECK_EQ_INT (deploy_max_unavailable (&sp, 10), 2); /* 25% down */
    Hs__Object *d = s_deploy ("x", 10, "0", "0%", "v1");
    CHECK_EQ_INT (deploy_max_unavailable (d->deployment->spec, 10), 1);
    CHECK_EQ_INT (deploy_max_unavailable (d->deployment->spec, 0), 0);
    hs_pb_set_str (&d->deployment->spec->strategy->type, "Recreate");
    CHECK_EQ_INT (deploy_max_surge (d->deployment->spec, 10), 0);
    hs_pb_free (d);
}

static const Hs__DeploymentCondition *s_dcond (const Hs__DeploymentStatus *st, const char *type)
{
    for (size_t i = 0; st && i < st->n_conditions; i++)
        if (hs_streq (st->conditions[i]->type, type)) return st->conditions[i];
    return NULL;
}

static void test_deploy_new (void)
{
    Hs__Object *d = s_deploy ("web", 10, "3", "2", "v1");
    s_ann (d->deployment->metadata, "kubernetes.io/change-cause", "first");
    deploy_input_t in = {.deploy = d, .now_ns = T0};
    rp_plan_t plan;
    CHECK_EQ_INT (deploy_sync (&in, &plan), 0);
    CHECK_EQ_INT (plan.n_cmds, 1); /* one Command: all or nothing */
    CHECK_EQ_INT (s_count_tag (&plan, RP_TAG_RS_CREATE), 1);
    CHECK_EQ_INT (s_count_tag (&plan, RP_TAG_DEPLOY_UPDATE), 1);
    CHECK_EQ_INT (s_count_tag (&plan, RP_TAG_STATUS), 1);
    const Hs__Write *w = s_nth_tag (&plan, RP_TAG_RS_CREATE, 0);
    const Hs__ReplicaSet *rs = w->object->replica_set;
    char hash[HS_ROLLOUT_HASH_LEN + 1];
    hs_rollout_template_hash (d->deployment->spec->template_, 0, hash);
    _cleanup_free_ char *name = hs_sprintf ("web-%s", hash);
    CHECK_EQ_STR (rs->metadata->name, name);
    CHECK_EQ_INT (rs->spec->replicas->value, 10);
    CHECK_EQ_STR (hs_pb_map_get ((void *const *)rs->metadata->labels, rs->metadata->n_labels,
                                 HS_ROLLOUT_HASH_LABEL),
                  hash);
    const Hs__LabelSelector *sel = rs->spec->selector;
    CHECK_EQ_STR (hs_pb_map_get ((void *const *)sel->match_labels, sel->n_match_labels,
                                 HS_ROLLOUT_HASH_LABEL),
                  hash);
    CHECK_EQ_STR (hs_pb_map_get ((void *const *)sel->match_labels, sel->n_match_labels, "app"),
                  "web");
    const Hs__ObjectMeta *tm = rs->spec->template_->metadata;
    CHECK_EQ_STR (hs_pb_map_get ((void *const *)tm->labels, tm->n_labels, HS_ROLLOUT_HASH_LABEL),
                  hash);
    const Hs__ObjectMeta *m = rs->metadata;
    CHECK_EQ_STR (
        hs_pb_map_get ((void *const *)m->annotations, m->n_annotations, HS_ROLLOUT_REVISION), "1");
    CHECK_EQ_STR (hs_pb_map_get ((void *const *)m->annotations, m->n_annotations,
                                 "kubernetes.io/change-cause"),
                  "first");
    CHECK_EQ_STR (
        hs_pb_map_get ((void *const *)m->annotations, m->n_annotations, DEPLOY_DESIRED_REPLICAS),
        "10");
    CHECK_EQ_STR (
        hs_pb_map_get ((void *const *)m->annotations, m->n_annotations, DEPLOY_MAX_REPLICAS), "13");
    CHECK_EQ_STR (hs_controller_ref (m)->uid, "uid-web");
    CHECK_EQ_STR (hs_controller_ref (m)->kind, "Deployment");
    CHECK_EQ_STR (plan.cmds[0].w[0].reason, "ScalingReplicaSet");
    _cleanup_free_ char *msg = hs_sprintf ("Scaled up replica set %s to 10", name);
    CHECK_EQ_STR (plan.cmds[0].w[0].message, msg);
    const Hs__Write *sw = s_nth_tag (&plan, RP_TAG_STATUS, 0);
    CHECK_EQ_INT (sw->expected_revision, 0); /* after the Deployment's own update */
    const Hs__DeploymentStatus *st = sw->object->deployment->status;
    CHECK_EQ_INT (st->observed_generation, 1);
    CHECK_EQ_INT (st->unavailable_replicas, 10);
    const Hs__DeploymentCondition *c = s_dcond (st, "Progressing");
    CHECK (c && hs_streq (c->reason, "NewReplicaSetCreated") && hs_streq (c->status, "True"));
    _cleanup_free_ char *cmsg = hs_sprintf ("Created new replica set \"%s\"", name);
    CHECK_EQ_STR (c ? c->message : NULL, cmsg);
    c = s_dcond (st, "Available");
    CHECK (c && hs_streq (c->reason, "MinimumReplicasUnavailable") &&
           hs_streq (c->status, "False"));
    const Hs__Write *du = s_nth_tag (&plan, RP_TAG_DEPLOY_UPDATE, 0);
    const Hs__ObjectMeta *dm = du->object->deployment->metadata;
    CHECK_EQ_STR (
        hs_pb_map_get ((void *const *)dm->annotations, dm->n_annotations, HS_ROLLOUT_REVISION),
        "1");
    CHECK_EQ_INT (du->expected_revision, 100);

    rp_plan_free (&plan);
    hs_pb_free (d);
}

static const Hs__Object *s_squatter;
static const Hs__Object *s_lookup (void *arg, const char *ns, const char *name)
{
    (void)arg;
    (void)ns;
    return s_squatter && hs_streq (s_squatter->replica_set->metadata->name, name) ? s_squatter
                                                                                  : NULL;
}

static void test_deploy_collision (void)
{
    Hs__Object *d = s_deploy ("web", 3, "1", "0", "v1");
    char hash[HS_ROLLOUT_HASH_LEN + 1];
    hs_rollout_template_hash (d->deployment->spec->template_, 0, hash);
    _cleanup_free_ char *name = hs_sprintf ("web-%s", hash);
    Hs__Object *sq = s_rs (name, 1, "other");
    s_squatter = sq;
    deploy_input_t in = {.deploy = d, .lookup = s_lookup, .now_ns = T0};
    rp_plan_t plan;
    CHECK_EQ_INT (deploy_sync (&in, &plan), 0);
    CHECK_EQ_INT (s_count_tag (&plan, RP_TAG_RS_CREATE), 0);
    const Hs__Write *sw = s_nth_tag (&plan, RP_TAG_STATUS, 0);
    CHECK (sw && sw->object->deployment->status->collision_count == 1);
    CHECK_EQ_INT (sw ? sw->expected_revision : 0, 100);
    rp_plan_free (&plan);
    /* with the count in the status, another name */
    d->deployment->status = hs_pb_new (&hs__deployment_status__descriptor);
    d->deployment->status->collision_count = 1;
    CHECK_EQ_INT (deploy_sync (&in, &plan), 0);
    const Hs__Write *w = s_nth_tag (&plan, RP_TAG_RS_CREATE, 0);
    CHECK (w && !hs_streq (w->object->replica_set->metadata->name, name));
    rp_plan_free (&plan);
    s_squatter = NULL;
    hs_pb_free (sq);
    hs_pb_free (d);
}

/* ------------------------------------------------------------------ a store */

/* Just enough of a store to run the syncs against each other: objects by
 * name, revisions, all-or-nothing Commands with expected revisions, pods
 * that get scheduled and Ready one step after creation, graceful deletes
 * that finish one step later. */
typedef struct {
    Hs__Object *o[512];
    size_t n;
    int64_t rev, now;
    int seq;
    int conflicts;
    bool crash; /* new pods never become ready */
} sim_t;

static Hs__Object *sim_find (sim_t *s, hs_kind_t kind, const char *name, size_t *at)
{
    for (size_t i = 0; i < s->n; i++)
        if (hs_obj_kind (s->o[i]) == kind && hs_streq (hs_obj_meta (s->o[i])->name, name)) {
            if (at) *at = i;
            return s->o[i];
        }
    return NULL;
}

static bool sim_check (sim_t *s, const Hs__Write *w)
{
    hs_kind_t kind = w->object ? hs_obj_kind (w->object) : hs_kind_parse (w->kind);
    const char *name = w->object ? hs_obj_meta (w->object)->name : w->name;
    if (w->op == HS__OP__OP_CREATE) return !name[0] || !sim_find (s, kind, name, NULL);
    Hs__Object *cur = sim_find (s, kind, name, NULL);
    if (!cur) return false;
    const Hs__ObjectMeta *m = hs_obj_meta (cur);
    if (w->expected_revision && w->expected_revision != m->resource_version) return false;
    if (!hs_empty (w->expected_uid) && !hs_streq (w->expected_uid, m->uid)) return false;
    return true;
}

static void sim_apply (sim_t *s, const rp_plan_t *plan)
{
    for (size_t c = 0; c < plan->n_cmds; c++) {
        const rp_cmd_t *cmd = &plan->cmds[c];
        bool ok = true;
        /* preconditions against the state as each write finds it: a write
         * before changes the revision a later one sees */
        int64_t rev = ++s->rev;
        Hs__Object *snapshot[512];
        size_t n0 = s->n;
        for (size_t i = 0; i < s->n; i++) snapshot[i] = hs_pb_dup (s->o[i]);
        for (size_t i = 0; ok && i < cmd->n; i++) {
            const Hs__Write *w = cmd->w[i].write;
            if (!sim_check (s, w)) {
                ok = false;
                break;
            }
            if (w->op == HS__OP__OP_CREATE) {
                Hs__Object *o = hs_pb_dup (w->object);
                Hs__ObjectMeta *m = hs_obj_meta (o);
                if (!m->name[0]) {
                    _cleanup_free_ char *n = hs_sprintf ("%s%05d", m->generate_name, ++s->seq);
                    hs_pb_set_str (&m->name, n);
                }
                _cleanup_free_ char *uid = hs_sprintf ("uid-%s", m->name);
                hs_pb_set_str (&m->uid, uid);
                m->resource_version = rev;
                m->generation = 1;
                m->creation_timestamp = s->now;
                if (hs_obj_kind (o) == HS_KIND_POD) {
                    o->pod->status = hs_pb_new (&hs__pod_status__descriptor);
                    hs_pb_set_str (&o->pod->status->phase, "Pending");
                }
                s->o[s->n++] = o;
                continue;
            }
            hs_kind_t kind = w->object ? hs_obj_kind (w->object) : hs_kind_parse (w->kind);
            const char *name = w->object ? hs_obj_meta (w->object)->name : w->name;
            size_t at = 0;
            Hs__Object *cur = sim_find (s, kind, name, &at);
            Hs__ObjectMeta *m = hs_obj_meta (cur);
            if (w->op == HS__OP__OP_DELETE) {
                if (kind == HS_KIND_POD && w->grace_period_seconds == NULL) {
                    m->deletion_timestamp = s->now;
                    m->resource_version = rev;
                } else {
                    hs_pb_free (cur);
                    s->o[at] = s->o[--s->n];
                }
                continue;
            }
            Hs__Object *o = hs_pb_dup (cur);
            if (w->op == HS__OP__OP_UPDATE_STATUS) {
                if (kind == HS_KIND_REPLICASET) {
                    hs_pb_free (o->replica_set->status);
                    o->replica_set->status = hs_pb_dup (w->object->replica_set->status);
                } else {
                    hs_pb_free (o->deployment->status);
                    o->deployment->status = hs_pb_dup (w->object->deployment->status);
                }
            } else {
                /* update: metadata and spec from the write */
                Hs__Object *in = hs_pb_dup (w->object);
                Hs__ObjectMeta *im = hs_obj_meta (in);
                hs_pb_set_str (&im->uid, m->uid);
                im->creation_timestamp = m->creation_timestamp;
                im->generation = m->generation;
                if (kind == HS_KIND_REPLICASET) {
                    if (!hs_pb_equal (in->replica_set->spec, o->replica_set->spec))
                        im->generation++;
                    hs_pb_free (in->replica_set->status);
                    in->replica_set->status = TAKE_PTR (o->replica_set->status);
                } else if (kind == HS_KIND_DEPLOYMENT) {
                    hs_pb_free (in->deployment->status);
                    in->deployment->status = TAKE_PTR (o->deployment->status);
                } else {
                    hs_pb_free (in->pod->status);
                    in->pod->status = TAKE_PTR (o->pod->status);
                }
                hs_pb_free (o);
                o = in;
            }
            hs_obj_meta (o)->resource_version = rev;
            hs_pb_free (cur);
            s->o[at] = o;
        }
        if (!ok) {
            s->conflicts++;
            for (size_t i = 0; i < s->n; i++) hs_pb_free (s->o[i]);
            for (size_t i = 0; i < n0; i++) s->o[i] = snapshot[i];
            s->n = n0;
        } else {
            for (size_t i = 0; i < n0; i++) hs_pb_free (snapshot[i]);
        }
    }
}

/* One step of the world: pods scheduled and Ready (unless crashing),
 * graceful deletes done. */
static void sim_world (sim_t *s)
{
    for (size_t i = 0; i < s->n;) {
        Hs__Object *o = s->o[i];
        if (hs_obj_kind (o) != HS_KIND_POD) {
            i++;
            continue;
        }
        if (o->pod->metadata->deletion_timestamp) {
            hs_pb_free (o);
            s->o[i] = s->o[--s->n];
            continue;
        }
        if (hs_empty (o->pod->spec->node_name)) {
            hs_pb_set_str (&o->pod->spec->node_name, "n1");
            hs_pb_set_str (&o->pod->status->phase, "Running");
            if (!s->crash) {
                Hs__PodCondition *c = hs_pb_new (&hs__pod_condition__descriptor);
                hs_pb_set_str (&c->type, "Ready");
                hs_pb_set_str (&c->status, "True");
                c->last_transition_time = s->now;
                hs_pb_push ((void ***)&o->pod->status->conditions, &o->pod->status->n_conditions,
                            c);
            }
            o->pod->metadata->resource_version = ++s->rev;
        }
        i++;
    }
}

static size_t sim_deps (sim_t *s, const char *uid, hs_kind_t kind, const Hs__Object **out)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (hs_obj_kind (s->o[i]) != kind) continue;
        const Hs__OwnerReference *r = hs_controller_ref (hs_obj_meta (s->o[i]));
        if (r && hs_streq (r->uid, uid)) out[n++] = s->o[i];
    }
    return n;
}

/* One pass of the controller over a snapshot: every plan is made from the
 * same state, then applied (Deployment first), as the watch lags writes. */
static void sim_pass (sim_t *s, const char *dname)
{
    Hs__Object *d = hs_pb_dup (sim_find (s, HS_KIND_DEPLOYMENT, dname, NULL));
    const Hs__Object *rss[16];
    size_t nrs = sim_deps (s, d->deployment->metadata->uid, HS_KIND_REPLICASET, rss);
    Hs__Object *rsc[16];
    deploy_rs_t drs[16];
    const Hs__Object *pods[16][512];
    const Hs__Pod *podv[16][512];
    size_t npods[16];
    for (size_t i = 0; i < nrs; i++) {
        rsc[i] = hs_pb_dup (rss[i]);
        npods[i] = sim_deps (s, rsc[i]->replica_set->metadata->uid, HS_KIND_POD, pods[i]);
        for (size_t j = 0; j < npods[i]; j++) {
            pods[i][j] = hs_pb_dup (pods[i][j]);
            podv[i][j] = pods[i][j]->pod;
        }
        drs[i] = (deploy_rs_t){.rs = rsc[i], .pods = podv[i], .n_pods = npods[i]};
    }
    rp_plan_t dp, rp[16];
    deploy_input_t din = {.deploy = d, .rs = drs, .n_rs = nrs, .now_ns = s->now};
    CHECK_EQ_INT (deploy_sync (&din, &dp), 0);
    for (size_t i = 0; i < nrs; i++) {
        rs_input_t in = {.rs = rsc[i], .pods = podv[i], .n_pods = npods[i], .now_ns = s->now};
        CHECK_EQ_INT (rs_sync (&in, &rp[i]), 0);
    }
    sim_apply (s, &dp);
    for (size_t i = 0; i < nrs; i++) sim_apply (s, &rp[i]);
    rp_plan_free (&dp);
    for (size_t i = 0; i < nrs; i++) {
        rp_plan_free (&rp[i]);
        for (size_t j = 0; j < npods[i]; j++) hs_pb_free ((void *)pods[i][j]);
        hs_pb_free (rsc[i]);
    }
    hs_pb_free (d);
}

static void sim_counts (sim_t *s, int *active, int *ready, int *with_version, const char *version)
{
    *active = *ready = *with_version = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (hs_obj_kind (s->o[i]) != HS_KIND_POD) continue;
        const Hs__Pod *p = s->o[i]->pod;
        if (!hs_pod_active (p)) continue;
        (*active)++;
        if (hs_pod_ready (p)) (*ready)++;
        if (p->spec->n_containers && hs_streq (p->spec->containers[0]->env[0]->value, version))
            (*with_version)++;
    }
}

static void sim_free (sim_t *s)
{
    for (size_t i = 0; i < s->n; i++) hs_pb_free (s->o[i]);
    s->n = 0;
}

static const Hs__DeploymentStatus *sim_status (sim_t *s, const char *name)
{
    return sim_find (s, HS_KIND_DEPLOYMENT, name, NULL)->deployment->status;
}

/* Rolls web from v1 to v2 and checks the fenceposts at every step. */
static void s_roll (int32_t replicas, const char *surge, const char *unavail, int32_t max_total,
                    int32_t min_ready)
{
    sim_t s = {.now = T0, .rev = 1000};
    s.o[s.n++] = s_deploy ("web", replicas, surge, unavail, "v1");
    int steps = 0, active, ready, v2;
    for (; steps < 100; steps++) {
        sim_pass (&s, "web");
        sim_world (&s);
        s.now += S;
        sim_counts (&s, &active, &ready, &v2, "v2");
        const Hs__DeploymentStatus *st = sim_status (&s, "web");
        if (st && st->available_replicas == replicas && active == replicas) break;
    }
    CHECK (steps < 100);
    Hs__Object *d = sim_find (&s, HS_KIND_DEPLOYMENT, "web", NULL);
    hs_pb_free (d->deployment->spec->template_);
    d->deployment->spec->template_ = s_template ("web", "v2");
    d->deployment->metadata->generation++;
    d->deployment->metadata->resource_version = ++s.rev;
    int seen_max = 0, seen_min = replicas;
    for (steps = 0; steps < 200; steps++) {
        sim_pass (&s, "web");
        sim_counts (&s, &active, &ready, &v2, "v2");
        if (active > seen_max) seen_max = active;
        if (ready < seen_min) seen_min = ready;
        sim_world (&s);
        s.now += S;
        sim_counts (&s, &active, &ready, &v2, "v2");
        if (active > seen_max) seen_max = active;
        if (ready < seen_min) seen_min = ready;
        const Hs__DeploymentStatus *st = sim_status (&s, "web");
        const Hs__DeploymentCondition *c = s_dcond (st, "Progressing");
        if (v2 == replicas && active == replicas && c &&
            hs_streq (c->reason, "NewReplicaSetAvailable") && st->updated_replicas == replicas)
            break;
    }
    CHECK (steps < 200);
    CHECK (seen_max <= max_total);
    CHECK (seen_min >= min_ready);
    if (seen_max > max_total || seen_min < min_ready || steps >= 200)
        fprintf (stderr, "  roll %d %s/%s: %d steps, max %d pods (<= %d), min %d ready (>= %d)\n",
                 replicas, surge, unavail, steps, seen_max, max_total, seen_min, min_ready);
    const Hs__DeploymentStatus *st = sim_status (&s, "web");
    CHECK_EQ_INT (st->replicas, replicas);
    CHECK_EQ_INT (st->updated_replicas, replicas);
    CHECK_EQ_INT (st->available_replicas, replicas);
    CHECK_EQ_INT (st->unavailable_replicas, 0);
    /* two ReplicaSets, the old one at 0 with revision 1, the new one 2 */
    const Hs__Object *rss[16];
    d = sim_find (&s, HS_KIND_DEPLOYMENT, "web", NULL);
    size_t n = sim_deps (&s, d->deployment->metadata->uid, HS_KIND_REPLICASET, rss);
    CHECK_EQ_INT (n, 2);
    for (size_t i = 0; i < n; i++) {
        const Hs__ReplicaSet *rs = rss[i]->replica_set;
        bool is_new =
            hs_rollout_template_equal (rs->spec->template_, d->deployment->spec->template_);
        CHECK_EQ_INT (rs->spec->replicas->value, is_new ? replicas : 0);
        CHECK_EQ_INT (hs_rollout_revision (rs->metadata), is_new ? 2 : 1);
    }
    sim_free (&s);
}

static void test_deploy_rolling (void)
{
    s_roll (10, "3", "2", 13, 8);
    s_roll (10, "25%", "25%", 13, 8);
    s_roll (4, "0", "1", 4, 3);
    s_roll (4, "1", "0", 5, 4);
    s_roll (7, "100%", "0", 14, 7);
    s_roll (1, "0", "0", 1, 0); /* both 0: maxUnavailable 1 */
}

static void test_deploy_stall_and_cleanup (void)
{
    /* a crashing template: the rollout stops at the fenceposts, then times out */
    sim_t s = {.now = T0, .rev = 1000};
    s.o[s.n++] = s_deploy ("web", 10, "3", "2", "v1");
    for (int i = 0; i < 10; i++) {
        sim_pass (&s, "web");
        sim_world (&s);
        s.now += S;
    }
    Hs__Object *d = sim_find (&s, HS_KIND_DEPLOYMENT, "web", NULL);
    d->deployment->spec->progress_deadline_seconds->value = 30;
    hs_pb_free (d->deployment->spec->template_);
    d->deployment->spec->template_ = s_template ("web", "bad");
    d->deployment->metadata->generation++;
    s.crash = true;
    int active, ready, bad;
    for (int i = 0; i < 20; i++) {
        sim_pass (&s, "web");
        sim_world (&s);
        s.now += S;
        sim_counts (&s, &active, &ready, &bad, "bad");
        CHECK (active <= 13);
        CHECK (ready >= 8);
    }
    CHECK_EQ_INT (bad, 5); /* 13 - 8 */
    CHECK_EQ_INT (ready, 8);
    const Hs__DeploymentCondition *c = s_dcond (sim_status (&s, "web"), "Progressing");
    CHECK (c && hs_streq (c->reason, "ReplicaSetUpdated"));
    s.now += 31 * S;
    sim_pass (&s, "web");
    c = s_dcond (sim_status (&s, "web"), "Progressing");
    CHECK (c && hs_streq (c->reason, "ProgressDeadlineExceeded") && hs_streq (c->status, "False"));
    _cleanup_free_ char *m = c ? hs_strdup (c->message) : NULL;
    CHECK (m && strstr (m, "has timed out progressing."));
    c = s_dcond (sim_status (&s, "web"), "Available");
    CHECK (c && hs_streq (c->status, "True"));

    /* back to v1 (an undo): the old ReplicaSet is the new one again, with revision 3;
     * the crashing pods are cleaned up first */
    d = sim_find (&s, HS_KIND_DEPLOYMENT, "web", NULL);
    hs_pb_free (d->deployment->spec->template_);
    d->deployment->spec->template_ = s_template ("web", "v1");
    d->deployment->metadata->generation++;
    s.crash = false;
    for (int i = 0; i < 30; i++) {
        sim_pass (&s, "web");
        sim_world (&s);
        s.now += S;
        sim_counts (&s, &active, &ready, &bad, "bad");
        CHECK (active <= 13);
        CHECK (ready >= 8);
    }
    CHECK_EQ_INT (bad, 0);
    CHECK_EQ_INT (ready, 10);
    c = s_dcond (sim_status (&s, "web"), "Progressing");
    CHECK (c && hs_streq (c->reason, "NewReplicaSetAvailable"));
    d = sim_find (&s, HS_KIND_DEPLOYMENT, "web", NULL);
    const Hs__Object *rss[16];
    size_t n = sim_deps (&s, d->deployment->metadata->uid, HS_KIND_REPLICASET, rss);
    CHECK_EQ_INT (n, 2);
    for (size_t i = 0; i < n; i++) {
        const Hs__ReplicaSet *rs = rss[i]->replica_set;
        bool is_new =
            hs_rollout_template_equal (rs->spec->template_, d->deployment->spec->template_);
        CHECK_EQ_INT (hs_rollout_revision (rs->metadata), is_new ? 3 : 2);
        if (is_new)
            CHECK_EQ_STR (hs_pb_map_get ((void *const *)rs->metadata->annotations,
                                         rs->metadata->n_annotations, DEPLOY_REVISION_HISTORY),
                          "1");
    }

    /* revisionHistoryLimit 0: the old ReplicaSet at 0 goes once complete */
    d->deployment->spec->revision_history_limit->value = 0;
    d->deployment->metadata->resource_version = ++s.rev;
    for (int i = 0; i < 3; i++) {
        sim_pass (&s, "web");
        sim_world (&s);
        s.now += S;
    }
    d = sim_find (&s, HS_KIND_DEPLOYMENT, "web", NULL);
    n = sim_deps (&s, d->deployment->metadata->uid, HS_KIND_REPLICASET, rss);
    CHECK_EQ_INT (n, 1);
    sim_free (&s);
}

static void test_deploy_recreate (void)
{
    sim_t s = {.now = T0, .rev = 1000};
    Hs__Object *d = s_deploy ("web", 4, "", "", "v1");
    hs_pb_set_str (&d->deployment->spec->strategy->type, "Recreate");
    hs_pb_free (d->deployment->spec->strategy->rolling_update);
    d->deployment->spec->strategy->rolling_update = NULL;
    s.o[s.n++] = d;
    for (int i = 0; i < 5; i++) {
        sim_pass (&s, "web");
        sim_world (&s);
        s.now += S;
    }
    int active, ready, v2;
    sim_counts (&s, &active, &ready, &v2, "v2");
    CHECK_EQ_INT (ready, 4);
    d = sim_find (&s, HS_KIND_DEPLOYMENT, "web", NULL);
    hs_pb_free (d->deployment->spec->template_);
    d->deployment->spec->template_ = s_template ("web", "v2");
    d->deployment->metadata->generation++;
    /* first: old to 0 and no new ReplicaSet while old pods run */
    bool mixed = false;
    for (int i = 0; i < 10; i++) {
        sim_pass (&s, "web");
        int a2, r2, old;
        sim_counts (&s, &a2, &r2, &old, "v1");
        sim_counts (&s, &active, &ready, &v2, "v2");
        if (v2 > 0 && old > 0) mixed = true;
        sim_world (&s);
        s.now += S;
    }
    CHECK (!mixed);
    sim_counts (&s, &active, &ready, &v2, "v2");
    CHECK_EQ_INT (v2, 4);
    CHECK_EQ_INT (ready, 4);
    sim_free (&s);
}

static void test_deploy_scaling (void)
{
    /* mid-rollout scale from 10 to 20: proportional over both ReplicaSets */
    sim_t s = {.now = T0, .rev = 1000};
    s.o[s.n++] = s_deploy ("web", 10, "3", "2", "v1");
    for (int i = 0; i < 6; i++) {
        sim_pass (&s, "web");
        sim_world (&s);
        s.now += S;
    }
    Hs__Object *d = sim_find (&s, HS_KIND_DEPLOYMENT, "web", NULL);
    hs_pb_free (d->deployment->spec->template_);
    d->deployment->spec->template_ = s_template ("web", "v2");
    d->deployment->metadata->generation++;
    s.crash = true; /* keep both ReplicaSets active */
    for (int i = 0; i < 4; i++) {
        sim_pass (&s, "web");
        sim_world (&s);
        s.now += S;
    }
    d = sim_find (&s, HS_KIND_DEPLOYMENT, "web", NULL);
    d->deployment->spec->replicas->value = 20;
    d->deployment->metadata->generation++;
    sim_pass (&s, "web");
    d = sim_find (&s, HS_KIND_DEPLOYMENT, "web", NULL);
    const Hs__Object *rss[16];
    size_t n = sim_deps (&s, d->deployment->metadata->uid, HS_KIND_REPLICASET, rss);
    CHECK_EQ_INT (n, 2);
    int32_t total = 0, old = 0, nw = 0;
    for (size_t i = 0; i < n; i++) {
        const Hs__ReplicaSet *rs = rss[i]->replica_set;
        total += rs->spec->replicas->value;
        bool is_new =
            hs_rollout_template_equal (rs->spec->template_, d->deployment->spec->template_);
        if (is_new)
            nw = rs->spec->replicas->value;
        else
            old = rs->spec->replicas->value;
        const char *want = hs_pb_map_get ((void *const *)rs->metadata->annotations,
                                          rs->metadata->n_annotations, DEPLOY_DESIRED_REPLICAS);
        CHECK_EQ_STR (want, "20");
    }
    /* kube's proportions: 20 + maxSurge 3 allowed, 10 to add, each ReplicaSet
     * its size * 23 / 13 (max-replicas annotation) rounded: 8 -> 14, 5 -> 9 */
    CHECK_EQ_INT (total, 23);
    CHECK_EQ_INT (old, 14);
    CHECK_EQ_INT (nw, 9);

    /* paused: no rollout, a scale goes to the only active ReplicaSet */
    sim_free (&s);
    s = (sim_t){.now = T0, .rev = 1000};
    s.o[s.n++] = s_deploy ("web", 3, "1", "0", "v1");
    for (int i = 0; i < 4; i++) {
        sim_pass (&s, "web");
        sim_world (&s);
        s.now += S;
    }
    d = sim_find (&s, HS_KIND_DEPLOYMENT, "web", NULL);
    d->deployment->spec->paused = true;
    hs_pb_free (d->deployment->spec->template_);
    d->deployment->spec->template_ = s_template ("web", "v2");
    d->deployment->spec->replicas->value = 5;
    d->deployment->metadata->generation++;
    for (int i = 0; i < 4; i++) {
        sim_pass (&s, "web");
        sim_world (&s);
        s.now += S;
    }
    int active, ready, v2;
    sim_counts (&s, &active, &ready, &v2, "v2");
    CHECK_EQ_INT (active, 5);
    CHECK_EQ_INT (v2, 0);
    d = sim_find (&s, HS_KIND_DEPLOYMENT, "web", NULL);
    n = sim_deps (&s, d->deployment->metadata->uid, HS_KIND_REPLICASET, rss);
    CHECK_EQ_INT (n, 1);
    const Hs__DeploymentCondition *c = s_dcond (sim_status (&s, "web"), "Progressing");
    CHECK (c && hs_streq (c->reason, "DeploymentPaused") && hs_streq (c->status, "Unknown"));
    /* resumed: it rolls */
    d = sim_find (&s, HS_KIND_DEPLOYMENT, "web", NULL);
    d->deployment->spec->paused = false;
    d->deployment->metadata->generation++;
    for (int i = 0; i < 20; i++) {
        sim_pass (&s, "web");
        sim_world (&s);
        s.now += S;
    }
    sim_counts (&s, &active, &ready, &v2, "v2");
    CHECK_EQ_INT (v2, 5);
    CHECK_EQ_INT (active, 5);
    sim_free (&s);
}

static void test_deploy_adopt (void)
{
    Hs__Object *d = s_deploy ("web", 2, "1", "0", "v1");
    Hs__Object *orphan = s_rs ("web-old", 2, "web");
    s_label (orphan->replica_set->metadata, "app", "web");
    Hs__Object *other = s_rs ("db", 1, "db");
    s_label (other->replica_set->metadata, "app", "db");
    const Hs__Object *ov[2] = {orphan, other};
    deploy_input_t in = {.deploy = d, .orphans = ov, .n_orphans = 2, .now_ns = T0};
    rp_plan_t plan;
    CHECK_EQ_INT (deploy_sync (&in, &plan), 0);
    CHECK_EQ_INT (plan.n_cmds, 1);
    CHECK_EQ_INT (s_count_tag (&plan, RP_TAG_RS_ADOPT), 1);
    const Hs__Write *w = s_nth_tag (&plan, RP_TAG_RS_ADOPT, 0);
    CHECK_EQ_STR (w->object->replica_set->metadata->name, "web-old");
    CHECK_EQ_STR (hs_controller_ref (w->object->replica_set->metadata)->uid, "uid-web");
    CHECK_EQ_INT (w->expected_revision, 100);
    rp_plan_free (&plan);
    hs_pb_free (d);
    hs_pb_free (orphan);
    hs_pb_free (other);
}

/* ------------------------------------------------------------------ garbage */

static void test_gc (void)
{
    /* One owner's record through a sequence of passes: each row is one
     * gc_decide call, in order, sharing `since`. */
    enum { NONE = -1 };
    static const struct {
        const char *why;
        const char *kind;
        bool exists, deleting;
        int64_t mono, created, wall; /* mono and wall in s after the start */
        gc_verdict_t want;
        int64_t since, wake; /* since/wake in s after the start, or NONE */
    } steps[] = {
        {"an existing owner: nothing of it is garbage", "ReplicaSet", true, false, 0, -10, 0,
         GC_KEEP_ALL, NONE, NONE},
        {"first seen missing: the clock starts, wait a second", "ReplicaSet", false, false, 0, -10,
         0, GC_WAIT, 0, 1},
        {"half a second on: still waiting", "ReplicaSet", false, false, 0, -10, 0, GC_WAIT, 0, 1},
        {"a dependent being deleted is left alone", "ReplicaSet", false, true, 1, -10, 1, GC_KEEP,
         0, NONE},
        {"missing for a second, old dependent: garbage", "ReplicaSet", false, false, 1, -10, 1,
         GC_DELETE, 0, NONE},
        {"a young dependent waits until it is 2 s old", "ReplicaSet", false, false, 1, 0, 1,
         GC_WAIT, 0, 2},
        {"then goes", "ReplicaSet", false, false, 2, 0, 2, GC_DELETE, 0, NONE},
        {"the owner back: all kept, the clock reset", "ReplicaSet", true, false, 3, 0, 3,
         GC_KEEP_ALL, NONE, NONE},
        {"a Deployment owner is ours too", "Deployment", false, false, 4, -10, 4, GC_WAIT, 4, 5},
        {"whose dependents go a second later", "Deployment", false, false, 5, -10, 5, GC_DELETE, 4,
         NONE},
        {"the owner back", "Deployment", true, false, 6, -10, 6, GC_KEEP_ALL, NONE, NONE},
        {"another kind of owner (a Job's pods) is not ours to judge", "Job", false, false, 7, -10,
         7, GC_KEEP_ALL, NONE, NONE},
        {"nor an owner without a kind", "", false, false, 8, -10, 8, GC_KEEP_ALL, NONE, NONE},
        {"a dependent being deleted still starts the owner's clock", "ReplicaSet", false, true, 9,
         -10, 9, GC_KEEP, 9, NONE},
        {"so its old sibling goes a second later", "ReplicaSet", false, false, 10, -10, 10,
         GC_DELETE, 9, NONE},
    };
    const int64_t mono0 = 5 * S;
    int64_t since = 0;
    for (size_t i = 0; i < HS_ARRAY_LEN (steps); i++) {
        gc_input_t in = {.owner_kind = steps[i].kind,
                         .owner_exists = steps[i].exists,
                         .dep_deleting = steps[i].deleting,
                         .dep_created_ns = T0 + steps[i].created * S};
        int64_t wake = -1;
        /* half a second on, in the third row */
        int64_t mono = mono0 + steps[i].mono * S + (i == 2 ? S / 2 : 0);
        int64_t wall = T0 + steps[i].wall * S + (i == 2 ? S / 2 : 0);
        gc_verdict_t v = gc_decide (&in, &since, mono, wall, &wake);
        if (v != steps[i].want) fprintf (stderr, "  step %zu: %s\n", i, steps[i].why);
        CHECK_EQ_INT (v, steps[i].want);
        CHECK_EQ_INT (since, steps[i].since == NONE ? 0 : mono0 + steps[i].since * S);
        if (steps[i].wake != NONE)
            CHECK_EQ_INT (wake, mono0 + steps[i].wake * S);
        else
            CHECK_EQ_INT (wake, -1); /* written for GC_WAIT only */
    }
    CHECK (gc_owner_kind ("ReplicaSet"));
    CHECK (gc_owner_kind ("Deployment"));
    CHECK (!gc_owner_kind ("Job"));
    CHECK (!gc_owner_kind (NULL));
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"delete_order", test_delete_order},
        {"rs_create", test_rs_create},
        {"rs_delete", test_rs_delete},
        {"rs_terminal", test_rs_terminal},
        {"rs_claim", test_rs_claim},
        {"rs_status", test_rs_status},
        {"hash", test_hash},
        {"deploy_new", test_deploy_new},
        {"deploy_collision", test_deploy_collision},
        {"deploy_rolling", test_deploy_rolling},
        {"deploy_stall_and_cleanup", test_deploy_stall_and_cleanup},
        {"deploy_recreate", test_deploy_recreate},
        {"deploy_scaling", test_deploy_scaling},
        {"deploy_adopt", test_deploy_adopt},
        {"gc", test_gc},
    };
    return HS_TEST_RUN (tests);
}
