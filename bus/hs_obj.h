/*  hs_obj.h: the kinds of object Homeostat knows, and generic access to them.
 *
 *  Every object travels and is stored as an Hs__Object (a oneof of the kinds).
 *  This file maps between kind names ("pod", "pods", "po", "Pod"), the oneof
 *  case, the message descriptor, the store key and the bus routing.
 */
#ifndef HS_OBJ_H
#define HS_OBJ_H

/* A mirror pod's annotation (Kubernetes' name): the pod stands for a static
 * pod that a node's agent runs from a manifest file; its value is the
 * manifest's hash. Only that agent may delete it (store: Forbidden). */
#define HS_MIRROR_ANNOTATION "kubernetes.io/config.mirror"

#include "hs_pb.h"

typedef enum {
    HS_KIND_NONE = 0,
    HS_KIND_NODE,
    HS_KIND_POD,
    HS_KIND_REPLICASET,
    HS_KIND_DEPLOYMENT,
    HS_KIND_JOB,
    HS_KIND_EVENT,
    HS_KIND_SERVICE,
    HS_KIND_ENDPOINTS,
    HS_KIND_CONFIGMAP,
    HS_KIND_SECRET,
    HS_KIND_HPA, /* HorizontalPodAutoscaler, autoscaling/v2 */
    HS_KIND__COUNT
} hs_kind_t;

typedef struct {
    hs_kind_t kind;
    const char *name;        /* "pod": topics, keys, Write.kind */
    const char *kind_name;   /* "Pod": manifests */
    const char *plural;      /* "pods": kubectl messages */
    const char *short_name;  /* "po" */
    const char *api_version; /* "v1", "apps/v1", "batch/v1" */
    const char *group;       /* "" or "apps" / "batch": kubectl's "deployment.apps/web" */
    bool namespaced;
    Hs__Object__KindCase object_case;
    const ProtobufCMessageDescriptor *descriptor;
    const char *resource; /* "pods", "deployments.apps": kubectl's NotFound text */
} hs_kind_info_t;

/* Info for a kind; NULL for HS_KIND_NONE or out of range. */
const hs_kind_info_t *hs_kind_info (hs_kind_t kind);
/* "pods" or "deployments.apps": the resource name in Kubernetes' messages
 * ("objects" for HS_KIND_NONE). Static. */
const char *hs_kind_resource (hs_kind_t kind);
/* Accepts name, plural, short name, Kind, case-insensitive, and "kind.group"
 * ("deployments.apps"). HS_KIND_NONE if unknown. */
hs_kind_t hs_kind_parse (const char *s);

/* The object's kind, metadata and body (NULL/NONE if the oneof is unset). */
hs_kind_t hs_obj_kind (const Hs__Object *o);
Hs__ObjectMeta *hs_obj_meta (const Hs__Object *o);
ProtobufCMessage *hs_obj_body (const Hs__Object *o);

/* Wraps body (ownership passes to the new object) as an Hs__Object. */
Hs__Object *hs_obj_wrap (hs_kind_t kind, ProtobufCMessage *body);
/* A new object of `kind` with empty metadata (namespace set if given). */
Hs__Object *hs_obj_new (hs_kind_t kind, const char *ns, const char *name);
/* Unwraps: returns the body and frees the wrapper. */
ProtobufCMessage *hs_obj_unwrap (Hs__Object *o);

/* Store key "<kind>/<namespace>/<name>" (namespace "" for cluster-scoped). */
char *hs_obj_key (hs_kind_t kind, const char *ns, const char *name);
char *hs_obj_key_of (const Hs__Object *o);
/* Bus routing segment: a pod's node name or "-" while unbound; "-" for other kinds. */
const char *hs_obj_routing (const Hs__Object *o);
/* Stream name "<kind>.<routing>" and event topic "ev.<kind>.<routing>/<ns>/<name>"
 * (hs_topic.h: '/' ends the routing part, so a prefix cannot match too much). */
char *hs_obj_stream (const Hs__Object *o);
char *hs_obj_topic (const Hs__Object *o);
/* Whether o can travel on stream: its kind is known, it has metadata, and
 * hs_obj_stream (o) is stream (the store never publishes an object on
 * another stream). */
bool hs_obj_in_stream (const Hs__Object *o, const char *stream);

/* "pod/web" (kubectl's resource/name form; "deployment.apps/web" for grouped kinds). */
char *hs_obj_ref (hs_kind_t kind, const char *name);

#endif
