/*  api.h: the contract between hs-apiserver's modules (issue 17).
 *
 *  hs-apiserver speaks Kubernetes' REST API over HTTP(S) on one side and the
 *  bus on the other (docs/architecture.md, "hs-apiserver"). Its modules:
 *
 *    api_main.c       the daemon (hs_daemon skeleton), flags
 *    api_http.c       libmicrohttpd on the daemon's hs_loop: TLS, suspend and
 *                     resume, chunked streams (watch, log follow)
 *    api_auth.c       bearer tokens and client certificates -> identity; one
 *                     bus connection per identity (the gateway acts AS the user)
 *    api_route.c      URL + query -> api_route_t (pure)
 *    api_cache.c      the watch cache: every kind, an event ring for
 *                     resourceVersion replay and 410 Expired
 *    api_crud.c       get, list, watch, create, update, patch, delete
 *    api_sub.c        /scale, /status, pods/log, pods/eviction, pods/exec,
 *                     synthesized Namespaces
 *    api_json.c       objects <-> Kubernetes JSON trees (pure)
 *    api_status.c     Status errors (pure)
 *    api_discovery.c  /version, /api, /apis, /api/v1, /apis/G/V, aggregated
 *                     discovery, /openapi/v3 (pure)
 *    api_table.c      meta.k8s.io/v1 Tables from hsctl's columns (pure)
 *    api_select.c     label and field selectors (pure)
 *    api_patch.c      merge patch, JSON patch, strategic merge patch (pure)
 *    api_metrics.c    metrics.k8s.io objects from usage samples (pure)
 *    api_metrics_serve.c  metrics.k8s.io requests: the usage table, selectors
 *
 *  Everything is single-threaded on the daemon's loop. Bodies are hs_tree_t
 *  (hs_pbjson.h: JSON is YAML, so hs_yaml_parse reads request bodies and
 *  hs_tree_to_text (HS_FMT_JSON | HS_FMT_COMPACT) writes responses).
 *  "pure" modules touch no socket, no clock except the now_ns they are given,
 *  and have unit tests in tests/unit/.
 */
#ifndef HS_API_H
#define HS_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.pb-c.h"
#include "hs_obj.h"
#include "hs_pbjson.h"
#include "hs_util.h"

/* ------------------------------------------------------------ routes */

typedef enum {
    API_GET = 0,
    API_POST,
    API_PUT,
    API_PATCH,
    API_DELETE,
    API_METHOD_OTHER
} api_method_t;

typedef enum {
    API_PATH_UNKNOWN = 0, /* 404 */
    API_PATH_VERSION,     /* /version */
    API_PATH_API,         /* /api */
    API_PATH_APIS,        /* /apis */
    API_PATH_GROUP,       /* /apis/G (a group's versions) */
    API_PATH_GV,          /* /api/v1, /apis/G/V: an APIResourceList */
    API_PATH_OPENAPI_V3,  /* /openapi/v3 (index) */
    API_PATH_OPENAPI_GV,  /* /openapi/v3/api/v1, /openapi/v3/apis/G/V */
    API_PATH_OPENAPI_V2,  /* /openapi/v2: 404 (kubectl wants protobuf there) */
    API_PATH_HEALTH,      /* /healthz, /livez, /readyz */
    API_PATH_RESOURCE,    /* a collection or an object, maybe a subresource */
    API_PATH_METRICS,     /* metrics.k8s.io/v1beta1: kind HS_KIND_NODE or HS_KIND_POD,
                           * ns, name as for a resource (api_metrics.c; issue 18) */
} api_path_t;

/* The synthesized kind: Homeostat has no Namespace objects. */
#define API_KIND_NAMESPACE ((hs_kind_t)HS_KIND__COUNT)

typedef struct {
    api_path_t path;
    const char *group;   /* "" (core), "apps", "batch", "policy", "autoscaling", ... */
    const char *version; /* "v1" */
    hs_kind_t kind;      /* API_PATH_RESOURCE: the kind, or API_KIND_NAMESPACE */
    const char *ns;      /* "" : cluster-scoped kind, or every namespace */
    const char *name;    /* "" : the collection */
    const char *sub;     /* "" or "status", "scale", "log", "eviction", "exec" */
} api_route_t;

/* The query string, decoded ('+' is a space; %XX). Keys may repeat
 * (exec's command=). */
typedef struct {
    char **keys;
    char **values;
    size_t n;
} api_query_t;

/* Parses path (without the query) into *ret. Strings in *ret point into
 * storage owned by *ret_buf (free it). API_PATH_UNKNOWN for anything else,
 * including a resource name this server does not serve. */
void api_route_parse (api_method_t method, const char *path, api_route_t *ret, char **ret_buf);
/* Parses "a=1&b=x+y" (without '?'); *q is reset first. */
void api_query_parse (const char *text, api_query_t *q);
void api_query_free (api_query_t *q);
/* The last value of key, or NULL. */
const char *api_query_get (const api_query_t *q, const char *key);
/* "true"/"True"/"1" are true (python sends True); absent: dflt. */
bool api_query_bool (const api_query_t *q, const char *key, bool dflt);

/* ------------------------------------------------------------ Status (api_status.c) */

/* One field problem of a 422 Invalid ("spec.replicas", "FieldValueInvalid"). */
typedef struct {
    const char *type;  /* "FieldValueInvalid", "FieldValueRequired", ... */
    const char *field; /* "spec.replicas" */
    const char *message;
} api_cause_t;

typedef struct {
    int http;           /* 404 */
    const char *reason; /* "NotFound" */
    char *message;      /* heap: `pods "x" not found` */
    hs_tree_t *tree;    /* the Status object to send */
} api_status_t;

/* A Status: {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
 * "message":…,"reason":…,"details":{"name":…,"group":…,"kind":<plural>,
 * "causes":[…]},"code":…}. details_* may be NULL/"" (left out). */
api_status_t api_status_new (int http, const char *reason, const char *message,
                             hs_kind_t details_kind, const char *details_name,
                             const api_cause_t *causes, size_t n_causes);
/* printf-style message, no details. */
api_status_t api_status_fmt (int http, const char *reason, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/* An Ack that failed -> Status, with kubectl's exact texts:
 *   NOT_FOUND       404 NotFound       `pods "x" not found`
 *   ALREADY_EXISTS  409 AlreadyExists  `pods "x" already exists`
 *   CONFLICT        409 Conflict       `Operation cannot be fulfilled on pods "x": …`
 *   INVALID         422 Invalid        `Deployment.apps "bad" is invalid: spec.replicas: …`
 *                                      with causes parsed from the store's message
 *   FORBIDDEN       403 Forbidden      the store's text (already kubectl's)
 *   UNAVAILABLE     503, INTERNAL 500. */
api_status_t api_status_from_ack (const Hs__Ack *ack, hs_kind_t kind, const char *name);
/* A plain NotFound for kind/name. */
api_status_t api_status_not_found (hs_kind_t kind, const char *name);
/* {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success",…}. */
hs_tree_t *api_status_success (hs_kind_t kind, const char *name, const char *uid);
void api_status_free (api_status_t *s);

/* ------------------------------------------------------------ JSON (api_json.c) */

typedef enum { API_VALIDATE_STRICT = 0, API_VALIDATE_WARN, API_VALIDATE_IGNORE } api_validate_t;

/* Warnings for the `Warning: 299 - "text"` response headers. */
typedef struct {
    char **texts;
    size_t n;
} api_warnings_t;
void api_warn (api_warnings_t *w, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
void api_warnings_free (api_warnings_t *w);

/* An object as Kubernetes' JSON: apiVersion and kind first, then the
 * message; metadata.resourceVersion as a string; int-or-string fields
 * (ports, targetPort, maxSurge, maxUnavailable) as numbers when all
 * digits; RFC 3339 times. Caller frees. */
hs_tree_t *api_obj_tree (const Hs__Object *o);
/* Only metadata, as meta.k8s.io/v1 PartialObjectMetadata. */
hs_tree_t *api_obj_meta_tree (const Hs__Object *o);
/* A request body -> object of route->kind. apiVersion/kind default from the
 * route when absent and must match it when present (400 BadRequest);
 * metadata.namespace defaults to route->ns and must match it (400);
 * metadata.resourceVersion may be a string or a number; fields Homeostat
 * does not have are, per v: STRICT 400 `strict decoding error: unknown
 * field "spec.bogus"`, WARN dropped with a warning, IGNORE dropped. Fields
 * clients send that mean nothing here (creationTimestamp: null,
 * resources: {}, managedFields, selfLink, status on create) are dropped
 * quietly. 0 with *ret, or -1 with *ret_status. */
int api_obj_from_tree (const api_route_t *route, const hs_tree_t *body, api_validate_t v,
                       Hs__Object **ret, api_warnings_t *w, api_status_t *ret_status);
/* A list: {"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"N"},"items":[…]}. */
hs_tree_t *api_list_tree (hs_kind_t kind, const Hs__Object *const *objs, size_t n, int64_t rv);
/* The same bytes as hs_tree_to_text (api_list_tree (kind, objs, n, rv),
 * HS_FMT_JSON | HS_FMT_COMPACT), written straight from the objects and
 * appended to b (api_table_write.c). b stays NUL-terminated.
 * (Additive: api-fast.) */
void api_list_write (hs_buf_t *b, hs_kind_t kind, const Hs__Object *const *objs, size_t n,
                     int64_t rv);
/* Synthesized Namespace objects (status.phase Active). */
hs_tree_t *api_namespace_tree (const char *name, int64_t created_ns);

/* ------------------------------------------------------------ discovery (api_discovery.c) */

/* Each builds the response body for its path; NULL when the group/version
 * is not served (404). aggregated: the APIGroupDiscoveryList form (the
 * caller sets its Content-Type). */
hs_tree_t *api_discovery_version (void);
hs_tree_t *api_discovery_api (bool aggregated);
hs_tree_t *api_discovery_apis (bool aggregated);
hs_tree_t *api_discovery_group (const char *group);
hs_tree_t *api_discovery_resources (const char *group, const char *version);
hs_tree_t *api_openapi_index (void);
hs_tree_t *api_openapi_gv (const char *group, const char *version);
/* Whether Accept asks for aggregated discovery. */
bool api_discovery_wants_aggregated (const char *accept);
#define API_AGGREGATED_CT "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

/* ------------------------------------------------------------ metrics.k8s.io (api_metrics.c) */

/* (Additive, issue 18.) metrics-server's objects from a node's usage
 * sample u (fresh, with a window: hs_usage_table_node). NodeMetrics:
 * {"kind":"NodeMetrics","apiVersion":"metrics.k8s.io/v1beta1",
 *  "metadata":{"name","creationTimestamp":now,"labels"},"timestamp",
 *  "window":"1s","usage":{"cpu":"12345n","memory":"1234Ki"}};
 * PodMetrics: metadata with the namespace, and "containers":[{"name",
 * "usage"}] from p (the pod's entry in u). with_kind false: a list's item
 * (no kind, no apiVersion). Caller frees. */
hs_tree_t *api_node_metrics_tree (const Hs__Object *node, const Hs__NodeUsage *u, int64_t now_ns,
                                  bool with_kind);
hs_tree_t *api_pod_metrics_tree (const Hs__Object *pod, const Hs__NodeUsage *u,
                                 const Hs__PodUsage *p, int64_t now_ns, bool with_kind);
/* {"kind":list_kind,"apiVersion":"metrics.k8s.io/v1beta1","metadata":{},
 * "items":items}; takes items (a sequence). */
hs_tree_t *api_metrics_list_tree (const char *list_kind, hs_tree_t *items);

/* ------------------------------------------------------------ tables (api_table.c) */

typedef enum { API_INCLUDE_METADATA = 0, API_INCLUDE_NONE, API_INCLUDE_OBJECT } api_include_t;

/* Whether Accept asks for a Table (as=Table;v=v1;g=meta.k8s.io). */
bool api_table_wanted (const char *accept);
/* A meta.k8s.io/v1 Table of objs (all of `kind`, API_KIND_NAMESPACE not
 * here): hsctl's columns (ctl_columns/ctl_cells, tools/hsctl/ctl_fmt.h),
 * wide ones with priority 1, Name with format "name", integer columns as
 * numbers, each row's object per inc. */
hs_tree_t *api_table (hs_kind_t kind, const Hs__Object *const *objs, size_t n, api_include_t inc,
                      int64_t rv, int64_t now_ns);
/* The same bytes as hs_tree_to_text (api_table (kind, objs, n, inc, rv,
 * now_ns), HS_FMT_JSON | HS_FMT_COMPACT), written straight from the objects
 * and appended to b (api_table_write.c: a 10,000-pod list without a tree).
 * b stays NUL-terminated. (Additive: api-fast.) */
void api_table_write (hs_buf_t *b, hs_kind_t kind, const Hs__Object *const *objs, size_t n,
                      api_include_t inc, int64_t rv, int64_t now_ns);
/* Namespaces' table: NAME STATUS AGE. */
hs_tree_t *api_table_namespaces (const char *const *names, const int64_t *created_ns, size_t n,
                                 int64_t rv, int64_t now_ns);

/* ------------------------------------------------------------ selectors (api_select.c) */

typedef struct api_selector api_selector_t;
/* labelSelector and fieldSelector (either NULL) for kind. Field selectors:
 * metadata.name and metadata.namespace on every kind; pods spec.nodeName,
 * status.phase; events involvedObject.{kind,name,namespace,uid,apiVersion},
 * type, reason, source; nodes spec.unschedulable; = == != only.
 * 0, or -1 with *ret_status (400 BadRequest with Kubernetes' message). */
int api_selector_parse (hs_kind_t kind, const char *label_sel, const char *field_sel,
                        api_selector_t **ret, api_status_t *ret_status);
bool api_selector_match (const api_selector_t *s, const Hs__Object *o);
/* The same for a synthesized Namespace (s parsed for API_KIND_NAMESPACE):
 * its one label kubernetes.io/metadata.name=<name>, metadata.name, and
 * status.phase Active. (Additive: api_sub's namespace lists.) */
bool api_selector_match_namespace (const api_selector_t *s, const char *name);
void api_selector_free (api_selector_t **s);

/* ------------------------------------------------------------ patches (api_patch.c) */

typedef enum {
    API_PATCH_MERGE = 0, /* application/merge-patch+json (RFC 7386) */
    API_PATCH_JSON,      /* application/json-patch+json (RFC 6902) */
    API_PATCH_STRATEGIC, /* application/strategic-merge-patch+json */
    API_PATCH_APPLY,     /* application/apply-patch+yaml (first cut: strategic, with a Warning) */
} api_patch_type_t;

/* The patch type of a Content-Type, or -1 (415). */
int api_patch_type (const char *content_type);
/* Applies patch to a copy of live (Kubernetes JSON of an object of kind);
 * SMP uses Kubernetes' merge keys and $patch, $setElementOrder,
 * $retainKeys, $deleteFromPrimitiveList directives. 0 with *ret (caller
 * frees), or -1 with *ret_error (caller frees; the gateway sends it as
 * 422 Invalid for a JSON patch test failure, else 400 BadRequest). */
int api_patch_apply (api_patch_type_t type, hs_kind_t kind, const hs_tree_t *live,
                     const hs_tree_t *patch, hs_tree_t **ret, char **ret_error);
/* (Additive.) api_patch_apply's two failures, so the gateway can tell them
 * apart as kube-apiserver does:
 *   API_PATCH_EBAD    400 BadRequest, message *ret_error: the patch cannot
 *                     be read (a JSON patch that is not a list of objects,
 *                     a strategic merge patch with a bad directive, ...);
 *   API_PATCH_EAPPLY  422 Invalid: a JSON patch that does not apply to the
 *                     object (a `test` that fails, a missing path). Upstream
 *                     sends message "the server rejected our request due to
 *                     an error in our request" with *ret_error as
 *                     details.causes[0] {"reason":"UnexpectedServerResponse",
 *                     "message":*ret_error}. */
#define API_PATCH_EBAD   (-1)
#define API_PATCH_EAPPLY (-2)
/* A deep copy. */
hs_tree_t *api_tree_dup (const hs_tree_t *t);

#endif
