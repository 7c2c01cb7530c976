/*  hs_obj.c: the kind table and generic object access. */
#include "hs_obj.h"
#include "hs_util.h"

#include <stdio.h>
#include <strings.h>
#include <string.h>

static const hs_kind_info_t s_kinds[HS_KIND__COUNT] = {
    [HS_KIND_NODE] = {HS_KIND_NODE, "node", "Node", "nodes", "no", "v1", "", false,
                      HS__OBJECT__KIND_NODE, &hs__node__descriptor, "nodes"},
    [HS_KIND_POD] = {HS_KIND_POD, "pod", "Pod", "pods", "po", "v1", "", true, HS__OBJECT__KIND_POD,
                     &hs__pod__descriptor, "pods"},
    [HS_KIND_REPLICASET] = {HS_KIND_REPLICASET, "replicaset", "ReplicaSet", "replicasets", "rs",
                            "apps/v1", "apps", true, HS__OBJECT__KIND_REPLICA_SET,
                            &hs__replica_set__descriptor, "replicasets.apps"},
    [HS_KIND_DEPLOYMENT] = {HS_KIND_DEPLOYMENT, "deployment", "Deployment", "deployments", "deploy",
                            "apps/v1", "apps", true, HS__OBJECT__KIND_DEPLOYMENT,
                            &hs__deployment__descriptor, "deployments.apps"},
    [HS_KIND_JOB] = {HS_KIND_JOB, "job", "Job", "jobs", "job", "batch/v1", "batch", true,
                     HS__OBJECT__KIND_JOB, &hs__job__descriptor, "jobs.batch"},
    [HS_KIND_EVENT] = {HS_KIND_EVENT, "event", "Event", "events", "ev", "v1", "", true,
                       HS__OBJECT__KIND_EVENT, &hs__event__descriptor, "events"},
    [HS_KIND_SERVICE] = {HS_KIND_SERVICE, "service", "Service", "services", "svc", "v1", "", true,
                         HS__OBJECT__KIND_SERVICE, &hs__service__descriptor, "services"},
    [HS_KIND_ENDPOINTS] = {HS_KIND_ENDPOINTS, "endpoints", "Endpoints", "endpoints", "ep", "v1", "",
                           true, HS__OBJECT__KIND_ENDPOINTS, &hs__endpoints__descriptor,
                           "endpoints"},
    [HS_KIND_CONFIGMAP] = {HS_KIND_CONFIGMAP, "configmap", "ConfigMap", "configmaps", "cm", "v1",
                           "", true, HS__OBJECT__KIND_CONFIG_MAP, &hs__config_map__descriptor,
                           "configmaps"},
    [HS_KIND_SECRET] = {HS_KIND_SECRET, "secret", "Secret", "secrets", "secret", "v1", "", true,
                        HS__OBJECT__KIND_SECRET, &hs__secret__descriptor, "secrets"},
    [HS_KIND_HPA] = {HS_KIND_HPA, "horizontalpodautoscaler", "HorizontalPodAutoscaler",
                     "horizontalpodautoscalers", "hpa", "autoscaling/v2", "autoscaling", true,
                     HS__OBJECT__KIND_HORIZONTAL_POD_AUTOSCALER,
                     &hs__horizontal_pod_autoscaler__descriptor,
                     "horizontalpodautoscalers.autoscaling"},
};

const hs_kind_info_t *hs_kind_info (hs_kind_t kind)
{
    if (kind <= HS_KIND_NONE || kind >= HS_KIND__COUNT) return NULL;
    return &s_kinds[kind];
}

const char *hs_kind_resource (hs_kind_t kind)
{
    const hs_kind_info_t *info = hs_kind_info (kind);
    return info ? info->resource : "objects";
}

hs_kind_t hs_kind_parse (const char *s)
{
    if (hs_empty (s)) return HS_KIND_NONE;
    char word[64];
    snprintf (word, sizeof word, "%s", s);
    char *dot = strchr (word, '.');
    const char *group = NULL;
    if (dot) {
        *dot = '\0';
        group = dot + 1;
    }
    for (int k = HS_KIND_NONE + 1; k < HS_KIND__COUNT; k++) {
        const hs_kind_info_t *i = &s_kinds[k];
        if (strcasecmp (word, i->name) && strcasecmp (word, i->plural) &&
            strcasecmp (word, i->short_name) && strcasecmp (word, i->kind_name))
            continue;
        if (group && strcasecmp (group, i->group)) continue;
        return (hs_kind_t)k;
    }
    return HS_KIND_NONE;
}

hs_kind_t hs_obj_kind (const Hs__Object *o)
{
    if (!o) return HS_KIND_NONE;
    for (int k = HS_KIND_NONE + 1; k < HS_KIND__COUNT; k++)
        if (s_kinds[k].object_case == o->kind_case) return (hs_kind_t)k;
    return HS_KIND_NONE;
}

ProtobufCMessage *hs_obj_body (const Hs__Object *o)
{
    if (!o) return NULL;
    switch (o->kind_case) {
    case HS__OBJECT__KIND_NODE: return &o->node->base;
    case HS__OBJECT__KIND_POD: return &o->pod->base;
    case HS__OBJECT__KIND_REPLICA_SET: return &o->replica_set->base;
    case HS__OBJECT__KIND_DEPLOYMENT: return &o->deployment->base;
    case HS__OBJECT__KIND_JOB: return &o->job->base;
    case HS__OBJECT__KIND_EVENT: return &o->event->base;
    case HS__OBJECT__KIND_SERVICE: return &o->service->base;
    case HS__OBJECT__KIND_ENDPOINTS: return &o->endpoints->base;
    case HS__OBJECT__KIND_CONFIG_MAP: return &o->config_map->base;
    case HS__OBJECT__KIND_SECRET: return &o->secret->base;
    case HS__OBJECT__KIND_HORIZONTAL_POD_AUTOSCALER: return &o->horizontal_pod_autoscaler->base;
    default: return NULL;
    }
}

Hs__ObjectMeta *hs_obj_meta (const Hs__Object *o)
{
    if (!o) return NULL;
    switch (o->kind_case) {
    case HS__OBJECT__KIND_NODE: return o->node ? o->node->metadata : NULL;
    case HS__OBJECT__KIND_POD: return o->pod ? o->pod->metadata : NULL;
    case HS__OBJECT__KIND_REPLICA_SET: return o->replica_set ? o->replica_set->metadata : NULL;
    case HS__OBJECT__KIND_DEPLOYMENT: return o->deployment ? o->deployment->metadata : NULL;
    case HS__OBJECT__KIND_JOB: return o->job ? o->job->metadata : NULL;
    case HS__OBJECT__KIND_EVENT: return o->event ? o->event->metadata : NULL;
    case HS__OBJECT__KIND_SERVICE: return o->service ? o->service->metadata : NULL;
    case HS__OBJECT__KIND_ENDPOINTS: return o->endpoints ? o->endpoints->metadata : NULL;
    case HS__OBJECT__KIND_CONFIG_MAP: return o->config_map ? o->config_map->metadata : NULL;
    case HS__OBJECT__KIND_SECRET: return o->secret ? o->secret->metadata : NULL;
    case HS__OBJECT__KIND_HORIZONTAL_POD_AUTOSCALER:
        return o->horizontal_pod_autoscaler ? o->horizontal_pod_autoscaler->metadata : NULL;
    default: return NULL;
    }
}

Hs__Object *hs_obj_wrap (hs_kind_t kind, ProtobufCMessage *body)
{
    Hs__Object *o = hs_pb_new (&hs__object__descriptor);
    const hs_kind_info_t *info = hs_kind_info (kind);
    if (!info) return o;
    o->kind_case = info->object_case;
    switch (kind) {
    case HS_KIND_NODE: o->node = (Hs__Node *)body; break;
    case HS_KIND_POD: o->pod = (Hs__Pod *)body; break;
    case HS_KIND_REPLICASET: o->replica_set = (Hs__ReplicaSet *)body; break;
    case HS_KIND_DEPLOYMENT: o->deployment = (Hs__Deployment *)body; break;
    case HS_KIND_JOB: o->job = (Hs__Job *)body; break;
    case HS_KIND_EVENT: o->event = (Hs__Event *)body; break;
    case HS_KIND_SERVICE: o->service = (Hs__Service *)body; break;
    case HS_KIND_ENDPOINTS: o->endpoints = (Hs__Endpoints *)body; break;
    case HS_KIND_CONFIGMAP: o->config_map = (Hs__ConfigMap *)body; break;
    case HS_KIND_SECRET: o->secret = (Hs__Secret *)body; break;
    case HS_KIND_HPA: o->horizontal_pod_autoscaler = (Hs__HorizontalPodAutoscaler *)body; break;
    default: break;
    }
    return o;
}

Hs__Object *hs_obj_new (hs_kind_t kind, const char *ns, const char *name)
{
    const hs_kind_info_t *info = hs_kind_info (kind);
    if (!info) return hs_pb_new (&hs__object__descriptor);
    ProtobufCMessage *body = hs_pb_new (info->descriptor);
    /* Every kind's field 1 is `ObjectMeta metadata`. */
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field (info->descriptor, 1);
    Hs__ObjectMeta *meta = hs_pb_new (&hs__object_meta__descriptor);
    if (info->namespaced) hs_pb_set_str (&meta->namespace_, ns);
    hs_pb_set_str (&meta->name, name);
    *(Hs__ObjectMeta **)((char *)body + f->offset) = meta;
    return hs_obj_wrap (kind, body);
}

ProtobufCMessage *hs_obj_unwrap (Hs__Object *o)
{
    ProtobufCMessage *body = hs_obj_body (o);
    o->kind_case = HS__OBJECT__KIND__NOT_SET;
    hs_pb_free (o);
    return body;
}

char *hs_obj_key (hs_kind_t kind, const char *ns, const char *name)
{
    const hs_kind_info_t *info = hs_kind_info (kind);
    return hs_sprintf ("%s/%s/%s", info ? info->name : "?",
                       info && info->namespaced ? hs_s (ns) : "", hs_s (name));
}

char *hs_obj_key_of (const Hs__Object *o)
{
    Hs__ObjectMeta *m = hs_obj_meta (o);
    return hs_obj_key (hs_obj_kind (o), m ? m->namespace_ : "", m ? m->name : "");
}

const char *hs_obj_routing (const Hs__Object *o)
{
    if (o && o->kind_case == HS__OBJECT__KIND_POD && o->pod && o->pod->spec &&
        !hs_empty (o->pod->spec->node_name))
        return o->pod->spec->node_name;
    return "-";
}

char *hs_obj_stream (const Hs__Object *o)
{
    const hs_kind_info_t *info = hs_kind_info (hs_obj_kind (o));
    return hs_sprintf ("%s.%s", info ? info->name : "?", hs_obj_routing (o));
}

bool hs_obj_in_stream (const Hs__Object *o, const char *stream)
{
    const hs_kind_info_t *info = hs_kind_info (hs_obj_kind (o));
    if (!info || !hs_obj_meta (o) || !stream) return false;
    size_t n = strlen (info->name);
    return strncmp (stream, info->name, n) == 0 && stream[n] == '.' &&
           strcmp (stream + n + 1, hs_obj_routing (o)) == 0;
}

char *hs_obj_topic (const Hs__Object *o)
{
    const hs_kind_info_t *info = hs_kind_info (hs_obj_kind (o));
    Hs__ObjectMeta *m = hs_obj_meta (o);
    return hs_sprintf ("ev.%s.%s/%s/%s", info ? info->name : "?", hs_obj_routing (o),
                       m ? hs_s (m->namespace_) : "", m ? hs_s (m->name) : "");
}

char *hs_obj_ref (hs_kind_t kind, const char *name)
{
    const hs_kind_info_t *info = hs_kind_info (kind);
    if (!info) return hs_sprintf ("unknown/%s", hs_s (name));
    if (*info->group) return hs_sprintf ("%s.%s/%s", info->name, info->group, hs_s (name));
    return hs_sprintf ("%s/%s", info->name, hs_s (name));
}
