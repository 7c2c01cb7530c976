/*  nodemon.c: node health decisions (nodemon.h). */
#include "nodemon.h"

#include "hs_obj.h"
#include "hs_util.h"
#include "hs_workload.h"

#include <math.h>
#include <string.h>

#define S_NS 1000000000LL

int64_t nodemon_silent_at (const nodemon_conf_t *conf, int64_t last_heard, int64_t since)
{
    return (last_heard > since ? last_heard : since) + conf->grace_ns;
}

static Hs__NodeCondition *s_ready_cond (const Hs__NodeStatus *st)
{
    for (size_t i = 0; st && i < st->n_conditions; i++)
        if (hs_streq (st->conditions[i]->type, "Ready")) return st->conditions[i];
    return NULL;
}

const char *nodemon_ready (const Hs__Node *node)
{
    const Hs__NodeCondition *c = node ? s_ready_cond (node->status) : NULL;
    return c ? hs_s (c->status) : "";
}

bool nodemon_has_taint (const Hs__Node *node, const char *key, const char *effect)
{
    const Hs__NodeSpec *sp = node ? node->spec : NULL;
    for (size_t i = 0; sp && i < sp->n_taints; i++)
        if (hs_streq (sp->taints[i]->key, key) && hs_streq (sp->taints[i]->effect, effect))
            return true;
    return false;
}

unsigned nodemon_decide (const Hs__Node *node, bool silent, bool full_disruption)
{
    const char *ready = nodemon_ready (node);
    bool tainted_all = nodemon_has_taint (node, NODEMON_TAINT_UNREACHABLE, "NoExecute") &&
                       nodemon_has_taint (node, NODEMON_TAINT_UNREACHABLE, "NoSchedule");
    bool tainted_any = nodemon_has_taint (node, NODEMON_TAINT_UNREACHABLE, "NoExecute") ||
                       nodemon_has_taint (node, NODEMON_TAINT_UNREACHABLE, "NoSchedule");
    unsigned what = 0;
    if (silent) {
        /* One node write at a time: both carry the revision we saw. */
        if (!hs_streq (ready, "Unknown"))
            what |= NM_MARK;
        else if (!tainted_all)
            what |= NM_TAINT;
        if (!hs_streq (ready, "True") && !full_disruption) what |= NM_EVICT;
    } else if (hs_streq (ready, "True") && tainted_any) {
        what |= NM_UNTAINT;
    }
    return what;
}

bool nodemon_full_disruption (size_t silent, size_t total)
{
    return total > 0 && silent >= total;
}

Hs__Object *nodemon_unknown_status (const Hs__Node *node, int64_t now_wall)
{
    if (!node || !node->metadata) return NULL;
    const Hs__NodeCondition *cur = s_ready_cond (node->status);
    if (cur && hs_streq (cur->status, "Unknown") && hs_streq (cur->reason, "NodeStatusUnknown"))
        return NULL;
    Hs__Object *o = hs_obj_new (HS_KIND_NODE, NULL, node->metadata->name);
    Hs__NodeStatus *st =
        node->status ? hs_pb_dup (node->status) : hs_pb_new (&hs__node_status__descriptor);
    o->node->status = st;
    Hs__NodeCondition *c = s_ready_cond (st);
    if (!c) {
        c = hs_pb_new (&hs__node_condition__descriptor);
        hs_pb_set_str (&c->type, "Ready");
        hs_pb_push ((void ***)&st->conditions, &st->n_conditions, c);
    }
    if (!hs_streq (c->status, "Unknown")) c->last_transition_time = now_wall;
    hs_pb_set_str (&c->status, "Unknown");
    hs_pb_set_str (&c->reason, "NodeStatusUnknown");
    hs_pb_set_str (&c->message, "Kubelet stopped posting node status.");
    /* last_heartbeat_time stays: when the agent last posted */
    return o;
}

static bool s_ours (const Hs__Taint *t)
{
    return hs_streq (t->key, NODEMON_TAINT_UNREACHABLE) &&
           (hs_streq (t->effect, "NoExecute") || hs_streq (t->effect, "NoSchedule"));
}

Hs__Object *nodemon_taints (const Hs__Node *node, bool add, int64_t now_wall)
{
    if (!node || !node->metadata) return NULL;
    Hs__Node *n = hs_pb_dup (node);
    if (!n->spec) n->spec = hs_pb_new (&hs__node_spec__descriptor);
    Hs__NodeSpec *sp = n->spec;
    bool changed = false;
    if (add) {
        static const char *const effects[] = {"NoSchedule", "NoExecute"};
        for (size_t e = 0; e < HS_ARRAY_LEN (effects); e++) {
            if (nodemon_has_taint (n, NODEMON_TAINT_UNREACHABLE, effects[e])) continue;
            Hs__Taint *t = hs_pb_new (&hs__taint__descriptor);
            hs_pb_set_str (&t->key, NODEMON_TAINT_UNREACHABLE);
            hs_pb_set_str (&t->effect, effects[e]);
            t->time_added = now_wall;
            hs_pb_push ((void ***)&sp->taints, &sp->n_taints, t);
            changed = true;
        }
    } else {
        size_t k = 0;
        for (size_t i = 0; i < sp->n_taints; i++) {
            if (s_ours (sp->taints[i])) {
                hs_pb_free (sp->taints[i]);
                changed = true;
                continue;
            }
            sp->taints[k++] = sp->taints[i];
        }
        sp->n_taints = k;
    }
    if (!changed) {
        hs_pb_free (n);
        return NULL;
    }
    /* what OP_UPDATE replaces (labels, annotations, spec) is the node's own */
    hs_pb_free (n->status);
    n->status = NULL;
    return hs_obj_wrap (HS_KIND_NODE, &n->base);
}

/* Does t tolerate the unreachable or not-ready NoExecute taint? */
static bool s_tolerates (const Hs__Toleration *t)
{
    if (!hs_empty (t->effect) && !hs_streq (t->effect, "NoExecute")) return false;
    bool exists = hs_streq (t->operator_, "Exists");
    if (hs_empty (t->key)) return exists; /* empty key + Exists: every taint */
    if (!hs_streq (t->key, NODEMON_TAINT_UNREACHABLE) &&
        !hs_streq (t->key, NODEMON_TAINT_NOT_READY))
        return false;
    /* Equal (the default) to the taint's value, which is empty */
    return exists || hs_empty (t->value);
}

int64_t nodemon_pod_evict_at (const nodemon_conf_t *conf, const Hs__Pod *pod, int64_t silent_since)
{
    if (!pod || hs_pod_terminal (pod)) return INT64_MAX;
    const Hs__ObjectMeta *m = pod->metadata;
    if (m && hs_pb_map_get ((void *const *)m->annotations, m->n_annotations, HS_MIRROR_ANNOTATION))
        return INT64_MAX; /* a static pod belongs to its node */
    const Hs__PodSpec *sp = pod->spec;
    bool matched = false;
    int64_t min_s = INT64_MAX;
    for (size_t i = 0; sp && i < sp->n_tolerations; i++) {
        const Hs__Toleration *t = sp->tolerations[i];
        if (!s_tolerates (t)) continue;
        matched = true;
        /* Kubernetes' getMinTolerationTime: the shortest tolerationSeconds
         * wins; tolerations without one alone tolerate for ever. */
        if (t->toleration_seconds) {
            int64_t s = t->toleration_seconds->value;
            if (s < 0) s = 0;
            if (s < min_s) min_s = s;
        }
    }
    if (!matched) return silent_since + conf->eviction_ns;
    if (min_s == INT64_MAX) return INT64_MAX;
    if (min_s > (INT64_MAX - silent_since) / S_NS) return INT64_MAX;
    return silent_since + min_s * S_NS;
}

int64_t nodemon_fence_at (const nodemon_conf_t *conf, int64_t last_heard, int64_t since)
{
    double drift = conf->max_drift > 0 ? conf->max_drift : 0;
    double wait = (double)conf->fence_ns * (1.0 + drift);
    int64_t w = wait >= (double)INT64_MAX / 2 ? INT64_MAX / 2 : (int64_t)ceil (wait);
    int64_t base = last_heard > since ? last_heard : since;
    int64_t margin = conf->fence_margin_ns > 0 ? conf->fence_margin_ns : 0;
    if (base > INT64_MAX - w - margin) return INT64_MAX;
    return base + w + margin;
}

const char *nodemon_fence_echo_node (const char *topic, const char *component, const char *instance,
                                     const char *sender, const char *own)
{
    if (!topic || strncmp (topic, "fence.", 6) != 0 || !instance || !*instance) return NULL;
    if (!component || strcmp (component, "hs-prober") != 0) return NULL;
    if (!sender || !*sender || (own && strcmp (sender, own) == 0)) return NULL;
    const char *node = topic + 6;
    size_t len = strlen (instance);
    if (strncmp (node, instance, len) != 0 || strcmp (node + len, "/") != 0) return NULL;
    return instance;
}

int64_t nodemon_pod_replace_at (const nodemon_conf_t *conf, const Hs__Pod *pod,
                                int64_t silent_since, int64_t last_heard, int64_t since)
{
    int64_t at = nodemon_pod_evict_at (conf, pod, silent_since);
    if (at == INT64_MAX || !hs_pod_at_most_one (pod)) return at;
    int64_t fence = nodemon_fence_at (conf, last_heard, since);
    return fence > at ? fence : at;
}

static Hs__PodCondition *s_pod_cond (Hs__PodStatus *st, const char *type, bool create)
{
    Hs__PodCondition *c = hs_pod_condition (st, type);
    if (c || !create) return c;
    c = hs_pb_new (&hs__pod_condition__descriptor);
    hs_pb_set_str (&c->type, type);
    hs_pb_push ((void ***)&st->conditions, &st->n_conditions, c);
    return c;
}

Hs__Object *nodemon_pod_lost (const Hs__Pod *pod, int64_t now_wall)
{
    if (!pod || !pod->metadata) return NULL;
    Hs__Object *o = hs_obj_new (HS_KIND_POD, pod->metadata->namespace_, pod->metadata->name);
    Hs__PodStatus *st =
        pod->status ? hs_pb_dup (pod->status) : hs_pb_new (&hs__pod_status__descriptor);
    o->pod->status = st;
    hs_pb_set_str (&st->phase, "Failed");
    hs_pb_set_str (&st->reason, "NodeLost");
    hs_pb_take_str (&st->message, hs_sprintf ("Node %s which was running pod %s is unresponsive",
                                              pod->spec ? hs_s (pod->spec->node_name) : "",
                                              hs_s (pod->metadata->name)));
    static const char *const conds[] = {"Ready", "ContainersReady"};
    for (size_t i = 0; i < HS_ARRAY_LEN (conds); i++) {
        Hs__PodCondition *c = s_pod_cond (st, conds[i], i == 0);
        if (!c) continue;
        if (!hs_streq (c->status, "False")) c->last_transition_time = now_wall;
        hs_pb_set_str (&c->status, "False");
        hs_pb_set_str (&c->reason, "NodeLost");
        hs_pb_set_str (&c->message, "");
    }
    for (size_t i = 0; i < st->n_container_statuses; i++) st->container_statuses[i]->ready = false;
    return o;
}
