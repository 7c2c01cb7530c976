/*  hs_workload.c: selectors, pod lifecycle, owners, resources, templates
 *  (hs_workload.h). */
#include "hs_workload.h"
#include "hs_quantity.h"
#include "hs_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool s_in (const char *v, char *const *values, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (hs_streq (v, values[i])) return true;
    return false;
}

bool hs_selector_matches (const Hs__LabelSelector *sel, void *const *labels, size_t n)
{
    if (!sel || (sel->n_match_labels == 0 && sel->n_match_expressions == 0)) return false;
    for (size_t i = 0; i < sel->n_match_labels; i++) {
        const char *v = hs_pb_map_get (labels, n, sel->match_labels[i]->key);
        if (!v || !hs_streq (v, sel->match_labels[i]->value)) return false;
    }
    for (size_t i = 0; i < sel->n_match_expressions; i++) {
        const Hs__LabelSelectorRequirement *r = sel->match_expressions[i];
        const char *v = hs_pb_map_get (labels, n, r->key);
        if (hs_streq (r->operator_, "In")) {
            if (!v || !s_in (v, r->values, r->n_values)) return false;
        } else if (hs_streq (r->operator_, "NotIn")) {
            if (v && s_in (v, r->values, r->n_values)) return false;
        } else if (hs_streq (r->operator_, "Exists")) {
            if (!v) return false;
        } else if (hs_streq (r->operator_, "DoesNotExist")) {
            if (v) return false;
        } else
            return false;
    }
    return true;
}

bool hs_selector_matches_meta (const Hs__LabelSelector *sel, const Hs__ObjectMeta *m)
{
    return m && hs_selector_matches (sel, (void *const *)m->labels, m->n_labels);
}

bool hs_pod_phase_terminal (const char *phase)
{
    return hs_streq (phase, "Succeeded") || hs_streq (phase, "Failed");
}

bool hs_pod_terminal (const Hs__Pod *pod)
{
    return hs_pod_phase_terminal (pod && pod->status ? pod->status->phase : NULL);
}

bool hs_pod_active (const Hs__Pod *pod)
{
    return pod && pod->metadata && pod->metadata->deletion_timestamp == 0 && !hs_pod_terminal (pod);
}

Hs__PodCondition *hs_pod_condition (const Hs__PodStatus *st, const char *type)
{
    for (size_t i = 0; st && i < st->n_conditions; i++)
        if (hs_streq (st->conditions[i]->type, type)) return st->conditions[i];
    return NULL;
}

bool hs_pod_ready (const Hs__Pod *pod)
{
    const Hs__PodCondition *c = hs_pod_condition (pod ? pod->status : NULL, "Ready");
    return c && hs_streq (c->status, "True");
}

bool hs_pod_available (const Hs__Pod *pod, int32_t min_ready_s, int64_t now_ns, int64_t *ret_when)
{
    if (ret_when) *ret_when = 0;
    if (!hs_pod_active (pod) || !hs_pod_ready (pod)) return false;
    if (min_ready_s <= 0) return true;
    const Hs__PodCondition *c = hs_pod_condition (pod->status, "Ready");
    int64_t when = c->last_transition_time + (int64_t)min_ready_s * 1000000000LL;
    if (c->last_transition_time && when > now_ns) {
        if (ret_when) *ret_when = when;
        return false;
    }
    return true;
}

const Hs__OwnerReference *hs_controller_ref (const Hs__ObjectMeta *m)
{
    for (size_t i = 0; m && i < m->n_owner_references; i++)
        if (m->owner_references[i]->controller) return m->owner_references[i];
    return NULL;
}

const char *hs_controller_uid (const Hs__ObjectMeta *m)
{
    const Hs__OwnerReference *r = hs_controller_ref (m);
    return r && !hs_empty (r->uid) ? r->uid : NULL;
}

bool hs_controlled_by (const Hs__ObjectMeta *m, const char *uid)
{
    const char *c = hs_controller_uid (m);
    return c && !hs_empty (uid) && hs_streq (c, uid);
}

Hs__OwnerReference *hs_controller_ref_new (const Hs__Object *owner)
{
    const hs_kind_info_t *info = hs_kind_info (hs_obj_kind (owner));
    const Hs__ObjectMeta *m = hs_obj_meta (owner);
    Hs__OwnerReference *r = hs_pb_new (&hs__owner_reference__descriptor);
    hs_pb_set_str (&r->api_version, info ? info->api_version : "");
    hs_pb_set_str (&r->kind, info ? info->kind_name : "");
    hs_pb_set_str (&r->name, m ? m->name : "");
    hs_pb_set_str (&r->uid, m ? m->uid : "");
    r->controller = true;
    r->block_owner_deletion = true;
    return r;
}

/* ------------------------------------------------------------------ resources */

/* A pod's containers' requests (limits when !requests), summed. */
static void s_pod_sum (const Hs__Pod *pod, bool requests, bool nonzero, hs_resources_t *ret)
{
    hs_resources_t u = {0, 0, requests ? 1 : 0};
    const Hs__PodSpec *s = pod ? pod->spec : NULL;
    for (size_t i = 0; s && i < s->n_containers; i++) {
        const Hs__ResourceRequirements *r = s->containers[i]->resources;
        const Hs__ResourceList *q = !r ? NULL : requests ? r->requests : r->limits;
        int64_t cpu = 0, mem = 0;
        if (q && !hs_empty (q->cpu) && hs_quantity_cpu_milli (q->cpu, &cpu) < 0) cpu = 0;
        if (q && !hs_empty (q->memory) && hs_quantity_bytes (q->memory, &mem) < 0) mem = 0;
        if (nonzero && cpu == 0) cpu = HS_NONZERO_CPU_MILLI;
        if (nonzero && mem == 0) mem = HS_NONZERO_MEM_BYTES;
        u.cpu_milli = hs_sat_add (u.cpu_milli, cpu);
        u.mem_bytes = hs_sat_add (u.mem_bytes, mem);
    }
    *ret = u;
}

void hs_pod_requests (const Hs__Pod *pod, hs_resources_t *ret)
{
    s_pod_sum (pod, true, false, ret);
}

void hs_pod_requests_nonzero (const Hs__Pod *pod, hs_resources_t *ret)
{
    s_pod_sum (pod, true, true, ret);
}

void hs_pod_limits (const Hs__Pod *pod, hs_resources_t *ret)
{
    s_pod_sum (pod, false, false, ret);
}

/* The first of the lists that names the resource decides. */
static int64_t s_node_has (const Hs__ResourceList *const lists[2], size_t field)
{
    for (int k = 0; k < 2; k++) {
        const Hs__ResourceList *l = lists[k];
        if (!l) continue;
        const char *s = field == 0 ? l->cpu : field == 1 ? l->memory : l->pods;
        if (hs_empty (s)) continue;
        int64_t v;
        int r = field == 0   ? hs_quantity_cpu_milli (s, &v)
                : field == 1 ? hs_quantity_bytes (s, &v)
                             : hs_quantity_count (s, &v);
        return r < 0 ? -1 : v;
    }
    return -1;
}

void hs_node_allocatable (const Hs__Node *node, hs_resources_t *ret)
{
    const Hs__NodeStatus *st = node ? node->status : NULL;
    const Hs__ResourceList *const lists[2] = {st ? st->allocatable : NULL,
                                              st ? st->capacity : NULL};
    ret->cpu_milli = s_node_has (lists, 0);
    ret->mem_bytes = s_node_has (lists, 1);
    ret->pods = s_node_has (lists, 2);
}

/* ------------------------------------------------------------------ at-most-one */

bool hs_meta_at_most_one (const Hs__ObjectMeta *m)
{
    const char *v = m ? hs_pb_map_get ((void *const *)m->annotations, m->n_annotations,
                                       HS_AT_MOST_ONE_ANNOTATION)
                      : NULL;
    return hs_streq (v, "true");
}

bool hs_pod_at_most_one (const Hs__Pod *pod)
{
    return pod && hs_meta_at_most_one (pod->metadata);
}

bool hs_job_at_most_one (const Hs__Job *job)
{
    const Hs__JobSpec *s = job ? job->spec : NULL;
    if (!s) return false;
    if (!s->parallelism || s->parallelism->value == 1) return true;
    return s->template_ && hs_meta_at_most_one (s->template_->metadata);
}

int hs_fence_duration (const char *text, int64_t *ret_ns)
{
    if (!text || !((*text >= '0' && *text <= '9') || *text == '.')) return -EINVAL;
    char *end;
    errno = 0;
    double v = strtod (text, &end);
    if (errno || end == text || !(v >= 0)) return -EINVAL;
    double unit;
    if (strcmp (end, "ms") == 0)
        unit = 1e6;
    else if (strcmp (end, "s") == 0 || *end == '\0')
        unit = 1e9;
    else if (strcmp (end, "m") == 0)
        unit = 60e9;
    else
        return -EINVAL;
    double ns = v * unit;
    if (ns > 3600e9) return -EINVAL;
    *ret_ns = (int64_t)(ns + 0.5);
    return 0;
}

/* ------------------------------------------------------------------ templates */

Hs__Object *hs_pod_from_template (const Hs__PodTemplateSpec *t, const char *ns,
                                  const char *generate_name, const Hs__Object *owner)
{
    Hs__Object *o = hs_obj_new (HS_KIND_POD, ns, NULL);
    Hs__ObjectMeta *m = o->pod->metadata;
    hs_pb_set_str (&m->generate_name, generate_name);
    if (t && t->metadata) {
        for (size_t i = 0; i < t->metadata->n_labels; i++)
            hs_pb_map_set ((void ***)&m->labels, &m->n_labels,
                           &hs__object_meta__labels_entry__descriptor, t->metadata->labels[i]->key,
                           t->metadata->labels[i]->value);
        for (size_t i = 0; i < t->metadata->n_annotations; i++)
            hs_pb_map_set ((void ***)&m->annotations, &m->n_annotations,
                           &hs__object_meta__annotations_entry__descriptor,
                           t->metadata->annotations[i]->key, t->metadata->annotations[i]->value);
    }
    /* A parallelism-1 Job's pod is at-most-one (hs_job_at_most_one). */
    if (owner && owner->kind_case == HS__OBJECT__KIND_JOB && hs_job_at_most_one (owner->job))
        hs_pb_map_set ((void ***)&m->annotations, &m->n_annotations,
                       &hs__object_meta__annotations_entry__descriptor, HS_AT_MOST_ONE_ANNOTATION,
                       "true");
    o->pod->spec = t && t->spec ? hs_pb_dup (t->spec) : hs_pb_new (&hs__pod_spec__descriptor);
    if (owner)
        hs_pb_push ((void ***)&m->owner_references, &m->n_owner_references,
                    hs_controller_ref_new (owner));
    return o;
}

int32_t hs_int_or_percent (const char *v, const char *dflt, int32_t total, bool round_up)
{
    const char *s = hs_empty (v) ? dflt : v;
    size_t n = strlen (hs_s (s));
    int64_t x;
    if (n > 1 && s[n - 1] == '%') {
        char num[32];
        if (n - 1 >= sizeof num) goto bad;
        memcpy (num, s, n - 1);
        num[n - 1] = '\0';
        if (hs_parse_i64 (num, &x) < 0 || x < 0 || x > 100) goto bad;
        int64_t scaled = x * total;
        return (int32_t)(round_up ? (scaled + 99) / 100 : scaled / 100);
    }
    if (n > 0 && hs_parse_i64 (s, &x) == 0 && x >= 0 && x <= INT32_MAX) return (int32_t)x;
bad:
    return s == dflt ? 0 : hs_int_or_percent (dflt, dflt, total, round_up);
}
