/*  store_authz.c: who may write what in the store (store_authz.h). */
#include "store_authz.h"
#include "hs_net.h"
#include "hs_util.h"
#include "hs_workload.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ identities */

static const struct {
    store_role_t role;
    const char *prefix; /* "node:" takes a name; "sa:scheduler" is whole */
    bool named;
} s_forms[] = {
    {STORE_ROLE_ADMIN, "admin:", true},
    {STORE_ROLE_NODE, "node:", true},
    {STORE_ROLE_TAP, "tap:", true},
    {STORE_ROLE_BOOTSTRAP, "bootstrap:", true},
    {STORE_ROLE_SCHEDULER, "sa:scheduler", false},
    {STORE_ROLE_REPLICAS, "sa:replicas", false},
    {STORE_ROLE_JOBS, "sa:jobs", false},
    {STORE_ROLE_PROBER, "sa:prober", false},
    {STORE_ROLE_ENDPOINTS, "sa:endpoints", false},
    {STORE_ROLE_DNS, "sa:dns", false},
    {STORE_ROLE_APISERVER, "sa:apiserver", false},
    {STORE_ROLE_AUTOSCALER, "sa:autoscaler", false},
    {STORE_ROLE_METRICS, "sa:metrics", false},
};

static const char *const s_role_names[STORE_ROLE__COUNT] = {
    [STORE_ROLE_UNKNOWN] = "unknown",
    [STORE_ROLE_ADMIN] = "admin",
    [STORE_ROLE_NODE] = "node",
    [STORE_ROLE_SCHEDULER] = "scheduler",
    [STORE_ROLE_REPLICAS] = "replicas",
    [STORE_ROLE_JOBS] = "jobs",
    [STORE_ROLE_PROBER] = "prober",
    [STORE_ROLE_ENDPOINTS] = "endpoints",
    [STORE_ROLE_DNS] = "dns",
    [STORE_ROLE_TAP] = "tap",
    [STORE_ROLE_BOOTSTRAP] = "bootstrap",
    [STORE_ROLE_STORE] = "store",
    [STORE_ROLE_APISERVER] = "apiserver",
    [STORE_ROLE_AUTOSCALER] = "autoscaler",
    [STORE_ROLE_METRICS] = "metrics",
};

const char *store_authz_role_name (store_role_t role)
{
    return role < STORE_ROLE__COUNT ? s_role_names[role] : "unknown";
}

bool store_authz_member_change_ok (const char *topic, const char *identity, bool bus_secure)
{
    if (!topic || strncmp (topic, STORE_AUTHZ_MEMBERS_TOPIC, strlen (STORE_AUTHZ_MEMBERS_TOPIC)))
        return false;
    if (!bus_secure) return true;
    if (!identity) return false;
    store_authz_id_t id;
    store_authz_id_parse (identity, &id);
    return id.well_formed && id.role == STORE_ROLE_ADMIN;
}

static bool s_printable (const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if ((unsigned char)s[n] < 0x21 || (unsigned char)s[n] > 0x7e) return false;
    return n > 0 && n <= STORE_AUTHZ_MAX_IDENTITY;
}

void store_authz_id_parse (const char *identity, store_authz_id_t *ret)
{
    *ret = (store_authz_id_t){.identity = identity, .role = STORE_ROLE_UNKNOWN, .name = ""};
    if (!identity || !s_printable (identity)) return;
    ret->well_formed = true;
    if (hs_streq (identity, "store") || hs_startswith (identity, "store/")) {
        ret->role = STORE_ROLE_STORE;
        return;
    }
    for (size_t i = 0; i < HS_ARRAY_LEN (s_forms); i++) {
        const char *p = s_forms[i].prefix;
        if (s_forms[i].named ? hs_startswith (identity, p) && identity[strlen (p)]
                             : hs_streq (identity, p)) {
            ret->role = s_forms[i].role;
            if (s_forms[i].named) ret->name = identity + strlen (p);
            return;
        }
    }
}

bool store_authz_client_ok (const store_authz_id_t *id, const char *client_id)
{
    if (!id->identity) return true;
    if (id->role == STORE_ROLE_NODE) return hs_streq (client_id, id->name);
    if (id->role == STORE_ROLE_BOOTSTRAP)
        return client_id && hs_startswith (client_id, STORE_AUTHZ_JOIN_CLIENT_PREFIX) &&
               hs_streq (client_id + strlen (STORE_AUTHZ_JOIN_CLIENT_PREFIX), id->name);
    return true;
}

/* ------------------------------------------------------------------ the role table */

#define OP_C      (1u << HS__OP__OP_CREATE)
#define OP_A      (1u << HS__OP__OP_APPLY)
#define OP_U      (1u << HS__OP__OP_UPDATE)
#define OP_S      (1u << HS__OP__OP_UPDATE_STATUS)
#define OP_D      (1u << HS__OP__OP_DELETE)
#define OP_B      (1u << HS__OP__OP_BIND)
#define OP_WRITE  (OP_C | OP_A | OP_U | OP_S | OP_D) /* everything but bind */
#define OP_EVENTS (OP_C | OP_A | OP_U)               /* hs_event_send applies */

/* What each role may do, kind by kind (admin: everything; tap, apiserver, metrics,
 * bootstrap, store and unknown identities: nothing). Admission (below) narrows the
 * node's, the prober's and the autoscaler's rows to objects; dns's is narrowed by name. */
static const struct {
    store_role_t role;
    hs_kind_t kind;
    unsigned ops;
} s_rules[] = {
    {STORE_ROLE_NODE, HS_KIND_NODE, OP_WRITE},
    {STORE_ROLE_NODE, HS_KIND_POD, OP_C | OP_S | OP_D},
    {STORE_ROLE_NODE, HS_KIND_EVENT, OP_EVENTS},
    {STORE_ROLE_SCHEDULER, HS_KIND_POD, OP_B | OP_S},
    {STORE_ROLE_SCHEDULER, HS_KIND_EVENT, OP_EVENTS},
    {STORE_ROLE_REPLICAS, HS_KIND_POD, OP_WRITE},
    {STORE_ROLE_REPLICAS, HS_KIND_REPLICASET, OP_WRITE},
    {STORE_ROLE_REPLICAS, HS_KIND_DEPLOYMENT, OP_WRITE},
    {STORE_ROLE_REPLICAS, HS_KIND_EVENT, OP_EVENTS},
    {STORE_ROLE_JOBS, HS_KIND_POD, OP_WRITE},
    {STORE_ROLE_JOBS, HS_KIND_JOB, OP_WRITE},
    {STORE_ROLE_JOBS, HS_KIND_EVENT, OP_EVENTS},
    {STORE_ROLE_PROBER, HS_KIND_POD, OP_S | OP_D},
    {STORE_ROLE_PROBER, HS_KIND_NODE, OP_S | OP_U},
    {STORE_ROLE_PROBER, HS_KIND_EVENT, OP_EVENTS},
    {STORE_ROLE_ENDPOINTS, HS_KIND_ENDPOINTS, OP_C | OP_A | OP_U | OP_D},
    {STORE_ROLE_ENDPOINTS, HS_KIND_EVENT, OP_EVENTS},
    {STORE_ROLE_DNS, HS_KIND_SERVICE, OP_WRITE},
    {STORE_ROLE_DNS, HS_KIND_ENDPOINTS, OP_WRITE},
    {STORE_ROLE_DNS, HS_KIND_EVENT, OP_EVENTS},
    {STORE_ROLE_AUTOSCALER, HS_KIND_HPA, OP_S},
    {STORE_ROLE_AUTOSCALER, HS_KIND_DEPLOYMENT, OP_U},
    {STORE_ROLE_AUTOSCALER, HS_KIND_REPLICASET, OP_U},
    {STORE_ROLE_AUTOSCALER, HS_KIND_EVENT, OP_EVENTS},
};

const char *store_authz_verb_name (Hs__Op op)
{
    switch (op) {
    case HS__OP__OP_CREATE:
    case HS__OP__OP_BIND: return "create";
    case HS__OP__OP_APPLY: return "patch";
    case HS__OP__OP_UPDATE:
    case HS__OP__OP_UPDATE_STATUS: return "update";
    case HS__OP__OP_DELETE: return "delete";
    default: return "write";
    }
}

const char *store_authz_resource (Hs__Op op, hs_kind_t kind, char *buf, size_t len)
{
    const hs_kind_info_t *info = hs_kind_info (kind);
    const char *plural = info ? info->plural : "objects";
    const char *sub = op == HS__OP__OP_UPDATE_STATUS ? "/status"
                      : op == HS__OP__OP_BIND        ? "/binding"
                                                     : "";
    if (!*sub) return plural;
    snprintf (buf, len, "%s%s", plural, sub);
    return buf;
}

/* '<resource> "<name>" is forbidden: User "<id>" ': what every refusal
 * starts with ('<resource> is forbidden' when the name is not known yet,
 * as kube says of a create with generateName). */
static void s_head (hs_buf_t *b, const store_authz_id_t *id, const store_authz_req_t *req)
{
    const char *res = hs_kind_resource (req->kind);
    if (hs_empty (req->name))
        hs_buf_printf (b, "%s is forbidden: ", res);
    else
        hs_buf_printf (b, "%s \"%s\" is forbidden: ", res, req->name);
    hs_buf_printf (b, "User \"%s\" ", hs_s (id->identity));
}

static int s_refuse (char **ret_msg, hs_buf_t *b)
{
    *ret_msg = hs_buf_take (b);
    return -EPERM;
}

/* RBAC's refusal, word for word. */
static int s_rbac_refuse (const store_authz_id_t *id, const store_authz_req_t *req, char **ret_msg)
{
    hs_buf_t b = {0};
    s_head (&b, id, req);
    char rbuf[64];
    const hs_kind_info_t *info = hs_kind_info (req->kind);
    hs_buf_printf (
        &b, "cannot %s resource \"%s\" in API group \"%s\" ", store_authz_verb_name (req->op),
        store_authz_resource (req->op, req->kind, rbuf, sizeof rbuf), info ? info->group : "");
    if (info && info->namespaced)
        hs_buf_printf (&b, "in the namespace \"%s\"", hs_s (req->ns));
    else
        hs_buf_puts (&b, "at the cluster scope");
    return s_refuse (ret_msg, &b);
}

/* NodeRestriction's and the other admission refusals: the head, then why. */
static int s_admit_refuse (const store_authz_id_t *id, const store_authz_req_t *req, char **ret_msg,
                           const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));
static int s_admit_refuse (const store_authz_id_t *id, const store_authz_req_t *req, char **ret_msg,
                           const char *fmt, ...)
{
    hs_buf_t b = {0};
    s_head (&b, id, req);
    va_list ap;
    va_start (ap, fmt);
    char *why = NULL;
    if (vasprintf (&why, fmt, ap) < 0) abort ();
    va_end (ap);
    hs_buf_puts (&b, why);
    free (why);
    return s_refuse (ret_msg, &b);
}

int store_authz_verb (const store_authz_id_t *id, const store_authz_req_t *req, char **ret_msg)
{
    if (!id->identity || id->role == STORE_ROLE_ADMIN) return 0;
    unsigned bit = req->op > 0 && req->op < 32 ? 1u << req->op : 0;
    bool allowed = false;
    for (size_t i = 0; i < HS_ARRAY_LEN (s_rules) && !allowed; i++)
        allowed = s_rules[i].role == id->role && s_rules[i].kind == req->kind &&
                  (s_rules[i].ops & bit) != 0;
    if (!allowed) return s_rbac_refuse (id, req, ret_msg);
    /* RBAC's resourceNames: hs-dns publishes one Service and its Endpoints. */
    if (id->role == STORE_ROLE_DNS && req->kind != HS_KIND_EVENT &&
        (!hs_streq (req->ns, HS_NET_DNS_NAMESPACE) || !hs_streq (req->name, HS_NET_DNS_SERVICE)))
        return s_rbac_refuse (id, req, ret_msg);
    /* The Node authorizer: a node writes its own Node only. Known from the
     * name alone, so refused before anything is read. */
    if (id->role == STORE_ROLE_NODE && req->kind == HS_KIND_NODE && !hs_streq (req->name, id->name))
        return s_admit_refuse (id, req, ret_msg, "cannot %s nodes other than \"%s\"",
                               store_authz_verb_name (req->op), id->name);
    return 0;
}

/* ------------------------------------------------------------------ admission */

static const char *s_node_of (const Hs__Object *o)
{
    const Hs__Pod *p = o ? o->pod : NULL;
    return p && p->spec ? hs_s (p->spec->node_name) : "";
}

static bool s_mirror (const Hs__Object *o)
{
    const Hs__ObjectMeta *m = hs_obj_meta (o);
    return m && hs_pb_map_get ((void *const *)m->annotations, m->n_annotations,
                               HS_MIRROR_ANNOTATION) != NULL;
}

/* A node's pod writes (NodeRestriction): decided on the stored pod. */
static int s_admit_node_pod (const store_authz_id_t *id, const store_authz_req_t *req,
                             char **ret_msg)
{
    const char *me = id->name, *verb = store_authz_verb_name (req->op);
    if (req->op == HS__OP__OP_CREATE) {
        /* Nothing is stored yet: the pod created is all there is. */
        const char *node = s_node_of (req->obj);
        if (!s_mirror (req->obj))
            return s_admit_refuse (id, req, ret_msg,
                                   "cannot create pods other than mirror pods (annotation "
                                   "%s) bound to node \"%s\"",
                                   HS_MIRROR_ANNOTATION, me);
        if (!hs_streq (node, me))
            return *node
                       ? s_admit_refuse (id, req, ret_msg,
                                         "cannot create pods bound to node \"%s\"", node)
                       : s_admit_refuse (id, req, ret_msg,
                                         "cannot create mirror pods not bound to node \"%s\"", me);
        return 0;
    }
    if (!req->stored)
        return s_admit_refuse (id, req, ret_msg, "cannot %s pods that do not exist", verb);
    const char *node = s_node_of (req->stored);
    if (!*node)
        return s_admit_refuse (id, req, ret_msg, "cannot %s pods not bound to node \"%s\"", verb,
                               me);
    if (!hs_streq (node, me))
        return s_admit_refuse (id, req, ret_msg, "cannot %s pods bound to node \"%s\"", verb, node);
    if (req->op == HS__OP__OP_UPDATE_STATUS) {
        /* What would be stored: a status write never moves a pod, but say so
         * rather than trust that. */
        if (req->obj && !hs_streq (s_node_of (req->obj), me))
            return s_admit_refuse (id, req, ret_msg, "cannot change the spec.nodeName of pods");
        return 0;
    }
    if (req->op == HS__OP__OP_DELETE) {
        /* The deletes hs-agent makes: a mirror pod, the grace-0 delete that
         * ends a graceful one, a pod hs-prober failed (NodeLost). Not a
         * running pod's: that is its owner's or an admin's call. */
        const Hs__ObjectMeta *m = hs_obj_meta (req->stored);
        if (s_mirror (req->stored) || (m && m->deletion_timestamp != 0) ||
            hs_pod_terminal (req->stored->pod))
            return 0;
        return s_admit_refuse (id, req, ret_msg,
                               "cannot delete pods that are running: only mirror pods, pods "
                               "being deleted and finished pods");
    }
    return s_admit_refuse (id, req, ret_msg, "cannot %s pods", verb);
}

/* Whether a and b differ in nothing but spec.taints (both Nodes). */
static bool s_only_taints_differ (const Hs__Object *a, const Hs__Object *b)
{
    if (!a || !b || !a->node || !b->node) return false;
    _cleanup_pb_ Hs__Node *x = hs_pb_dup (a->node);
    _cleanup_pb_ Hs__Node *y = hs_pb_dup (b->node);
    Hs__Node *both[2] = {x, y};
    for (int i = 0; i < 2; i++) {
        if (!both[i]->spec) both[i]->spec = hs_pb_new (&hs__node_spec__descriptor);
        for (size_t t = 0; t < both[i]->spec->n_taints; t++) hs_pb_free (both[i]->spec->taints[t]);
        hs_pb_release (both[i]->spec->taints);
        both[i]->spec->taints = NULL;
        both[i]->spec->n_taints = 0;
    }
    return hs_pb_equal (x, y);
}

/* Whether a and b (both Deployments or both ReplicaSets) differ in nothing
 * but spec.replicas: what kube's /scale subresource writes. */
static bool s_only_replicas_differ (const Hs__Object *a, const Hs__Object *b)
{
    if (!a || !b || a->kind_case != b->kind_case) return false;
    _cleanup_pb_ Hs__Object *x = hs_pb_dup (a);
    _cleanup_pb_ Hs__Object *y = hs_pb_dup (b);
    Hs__Object *both[2] = {x, y};
    for (int i = 0; i < 2; i++) {
        Hs__Int32Value **r = NULL;
        if (both[i]->kind_case == HS__OBJECT__KIND_DEPLOYMENT && both[i]->deployment->spec)
            r = &both[i]->deployment->spec->replicas;
        else if (both[i]->kind_case == HS__OBJECT__KIND_REPLICA_SET && both[i]->replica_set->spec)
            r = &both[i]->replica_set->spec->replicas;
        else if (both[i]->kind_case != HS__OBJECT__KIND_DEPLOYMENT &&
                 both[i]->kind_case != HS__OBJECT__KIND_REPLICA_SET)
            return false;
        if (r) {
            hs_pb_free (*r);
            *r = NULL;
        }
    }
    return hs_pb_equal (x, y);
}

int store_authz_admit (const store_authz_id_t *id, const store_authz_req_t *req, char **ret_msg)
{
    if (!id->identity) return 0;
    switch (id->role) {
    case STORE_ROLE_ADMIN: return 0;
    case STORE_ROLE_NODE:
        if (req->kind == HS_KIND_POD) return s_admit_node_pod (id, req, ret_msg);
        return 0;
    case STORE_ROLE_PROBER:
        if (req->kind == HS_KIND_POD && req->op == HS__OP__OP_DELETE) {
            /* Finishing the graceful delete a lost node's agent never will. */
            const Hs__ObjectMeta *m = hs_obj_meta (req->stored);
            if (m && m->deletion_timestamp != 0) return 0;
            return s_admit_refuse (id, req, ret_msg,
                                   "cannot delete pods that are not being "
                                   "deleted");
        }
        if (req->kind == HS_KIND_NODE && req->op == HS__OP__OP_UPDATE &&
            !s_only_taints_differ (req->stored, req->obj))
            return s_admit_refuse (id, req, ret_msg,
                                   "cannot update nodes except their spec.taints");
        return 0;
    case STORE_ROLE_AUTOSCALER:
        /* the /scale subresource: replicas, nothing else */
        if ((req->kind == HS_KIND_DEPLOYMENT || req->kind == HS_KIND_REPLICASET) &&
            req->op == HS__OP__OP_UPDATE && !s_only_replicas_differ (req->stored, req->obj))
            return s_admit_refuse (id, req, ret_msg, "cannot update %s except their spec.replicas",
                                   hs_kind_info (req->kind)->plural);
        return 0;
    case STORE_ROLE_SCHEDULER:
    case STORE_ROLE_REPLICAS:
    case STORE_ROLE_JOBS:
    case STORE_ROLE_ENDPOINTS:
    case STORE_ROLE_DNS: return 0;
    default:
        /* store_authz_verb refused these already; never let one through. */
        return s_rbac_refuse (id, req, ret_msg);
    }
}

int store_authz_check (const store_authz_id_t *id, const store_authz_req_t *req, char **ret_msg)
{
    int r = store_authz_verb (id, req, ret_msg);
    return r < 0 ? r : store_authz_admit (id, req, ret_msg);
}

/* ------------------------------------------------------------------ reads */

static int s_list_refuse (const store_authz_id_t *id, hs_kind_t kind, char **ret_msg)
{
    const hs_kind_info_t *info = hs_kind_info (kind);
    *ret_msg = hs_sprintf ("%s is forbidden: User \"%s\" cannot list resource \"%s\" in API "
                           "group \"%s\" at the cluster scope",
                           info->resource, hs_s (id->identity), info->plural, info->group);
    return -EPERM;
}

/* Limits *ret to the kinds in readable (all of them when none was asked):
 * 0, or -EPERM naming the first kind asked outside them. */
static int s_list_only (const store_authz_id_t *id, const hs_kind_t *readable, size_t n_readable,
                        store_authz_list_t *ret, char **ret_msg)
{
    if (ret->n_kinds == 0) {
        memcpy (ret->kinds, readable, n_readable * sizeof *readable);
        ret->n_kinds = n_readable;
    }
    for (size_t i = 0; i < ret->n_kinds; i++) {
        bool ok = false;
        for (size_t j = 0; j < n_readable && !ok; j++) ok = ret->kinds[i] == readable[j];
        if (!ok) return s_list_refuse (id, ret->kinds[i], ret_msg);
    }
    return 0;
}

int store_authz_list (const store_authz_id_t *id, const hs_kind_t *kinds, size_t n_kinds,
                      const char *pod_node, store_authz_list_t *ret, char **ret_msg)
{
    *ret = (store_authz_list_t){.pod_node = hs_s (pod_node)};
    if (n_kinds > HS_ARRAY_LEN (ret->kinds)) n_kinds = HS_ARRAY_LEN (ret->kinds);
    if (n_kinds > 0) memcpy (ret->kinds, kinds, n_kinds * sizeof *kinds);
    ret->n_kinds = n_kinds;
    if (!id->identity) return 0;
    switch (id->role) {
    case STORE_ROLE_ADMIN:
    case STORE_ROLE_TAP:
    case STORE_ROLE_APISERVER:
    case STORE_ROLE_SCHEDULER:
    case STORE_ROLE_REPLICAS:
    case STORE_ROLE_JOBS:
    case STORE_ROLE_PROBER:
    case STORE_ROLE_ENDPOINTS:
    case STORE_ROLE_DNS:
    case STORE_ROLE_AUTOSCALER: return 0;
    case STORE_ROLE_METRICS: {
        /* what hs-metrics renders (metrics_main.c), no Secret: its
         * credential goes wherever the exporter runs */
        static const hs_kind_t readable[] = {HS_KIND_POD,        HS_KIND_NODE, HS_KIND_DEPLOYMENT,
                                             HS_KIND_REPLICASET, HS_KIND_JOB,  HS_KIND_HPA};
        return s_list_only (id, readable, HS_ARRAY_LEN (readable), ret, ret_msg);
    }
    case STORE_ROLE_NODE: break;
    default: return s_list_refuse (id, n_kinds > 0 ? kinds[0] : HS_KIND_NODE, ret_msg);
    }
    static const hs_kind_t readable[] = {HS_KIND_NODE,      HS_KIND_POD,       HS_KIND_SERVICE,
                                         HS_KIND_ENDPOINTS, HS_KIND_CONFIGMAP, HS_KIND_SECRET};
    int r = s_list_only (id, readable, HS_ARRAY_LEN (readable), ret, ret_msg);
    if (r < 0) return r;
    if (!hs_empty (pod_node) && !hs_streq (pod_node, id->name)) {
        *ret_msg = hs_sprintf ("pods is forbidden: User \"%s\" cannot list pods bound to node "
                               "\"%s\"",
                               id->identity, pod_node);
        return -EPERM;
    }
    ret->pod_node = id->name;
    return 0;
}
