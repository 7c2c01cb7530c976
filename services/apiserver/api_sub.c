/*  api_sub.c: subresources and the synthesized Namespaces (api_server.h:
 *  api_sub_handle).
 *
 *    …/deployments|replicasets/NAME/scale  GET, PUT, PATCH: an autoscaling/v1
 *        Scale. A write is a read-modify-write of spec.replicas: OP_UPDATE
 *        with expected_revision = the revision it was computed from, retried
 *        on Conflict unless the client gave a resourceVersion (then 409).
 *    …/NAME/status  GET (the object), PUT, PATCH -> OP_UPDATE_STATUS, the
 *        same way.
 *    pods/NAME/log  the container's log from the agent of the pod's node,
 *        as `hsctl logs` reads it (LogRequest on logreq.<node>, LogChunks on
 *        logs.<client_id>; hs_podlog.h), over the USER's bus connection; only
 *        chunks hs-bus stamped "node:<node>" count. The agent does tail,
 *        timestamps, previous and limitBytes; sinceSeconds/sinceTime the
 *        gateway does, from timestamps it asks for and strips again.
 *    pods/NAME/eviction  POST: OP_DELETE with the body's deleteOptions; the
 *        store refuses mirror pods (403).
 *    pods/NAME/exec  not served (see s_exec).
 *    namespaces  list, get, watch, create: synthesized from the namespaces
 *        objects use (api_cache_namespaces); delete is refused (405).
 *
 *  Every wait is asynchronous: a context holds the request until its one
 *  answer, and forgets it when the client goes (api_req_on_close).
 */
#include "api_auth.h"
#include "api_server.h"

#include "ctl_fmt.h"
#include "hs_log.h"
#include "hs_podlog.h"
#include "hs_topic.h"
#include "hs_util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define S_MS            1000000LL
#define S_WRITE_TRIES   8             /* read-modify-write attempts on Conflict */
#define S_CALL_MS       10000         /* an ack */
#define S_SETTLE_MS     3000          /* the cache catching up with our write */
#define S_LOG_ANSWER_NS (5000 * S_MS) /* silence from the agent that ends a log */
#define S_LOG_RESEND_NS (1000 * S_MS) /* the request again: retry, then keepalive */
#define S_LOG_JOIN_MS   3000          /* the bus echoes a connection's join */
#define S_LOG_LINE_MAX  (1u << 20)    /* a line the gateway filters (sinceSeconds) */
#define S_WATCH_DEFAULT (1800)        /* a namespace watch without timeoutSeconds */

/* ------------------------------------------------------------ small helpers */

static hs_tree_t *s_str (const char *s)
{
    return hs_tree_scalar (hs_s (s), true);
}

static hs_tree_t *s_int (int64_t v)
{
    char b[32];
    snprintf (b, sizeof b, "%lld", (long long)v);
    return hs_tree_scalar (b, false);
}

static hs_tree_t *s_rv (int64_t v)
{
    char b[32];
    snprintf (b, sizeof b, "%lld", (long long)v);
    return hs_tree_scalar (b, true);
}

static void s_reply_free (api_req_t *r, int http, hs_tree_t *t)
{
    api_reply_tree (r, http, t, NULL);
    hs_tree_free (t);
}

static void s_reply (api_req_t *r, api_status_t st)
{
    api_reply_status (r, &st);
}

static const char *s_scalar (const hs_tree_t *t)
{
    return t && t->type == HS_TREE_SCALAR ? t->scalar : NULL;
}

static const hs_tree_t *s_path (const hs_tree_t *t, const char *a, const char *b)
{
    if (!t || t->type != HS_TREE_MAP) return NULL;
    t = hs_tree_get (t, a);
    if (!b || !t) return t;
    return t->type == HS_TREE_MAP ? hs_tree_get (t, b) : NULL;
}

/* An integer scalar (a JSON number, or a string of digits: resourceVersion). */
static bool s_tree_i64 (const hs_tree_t *t, int64_t *ret)
{
    const char *s = s_scalar (t);
    return s && hs_parse_i64 (s, ret) == 0;
}

static api_status_t s_method_not_allowed (void)
{
    return api_status_fmt (405, "MethodNotAllowed",
                           "the server does not allow this method on the requested resource");
}

static api_status_t s_conflict (hs_kind_t kind, const char *name)
{
    /* api_status_new copies the message (it takes nothing it is given) */
    _cleanup_free_ char *msg =
        hs_sprintf ("Operation cannot be fulfilled on %s \"%s\": the object has been modified; "
                    "please apply your changes to the latest version and try again",
                    hs_kind_resource (kind), name);
    return api_status_new (409, "Conflict", msg, kind, name, NULL, 0);
}

static bool s_is_protobuf (api_req_t *r)
{
    size_t len;
    const char *body = api_req_body (r, &len);
    const char *ct = api_req_header (r, "Content-Type");
    return (len >= 4 && memcmp (body, "k8s\0", 4) == 0) ||
           (ct && strstr (ct, "application/vnd.kubernetes.protobuf"));
}

static api_status_t s_protobuf_status (void)
{
    return api_status_fmt (
        415, "UnsupportedMediaType",
        "protobuf bodies are not supported by Homeostat; use: kubectl create "
        "deployment NAME --image=IMG --dry-run=client -o yaml | kubectl apply -f "
        "-");
}

/* The body as one JSON/YAML map. 0 with *ret (caller frees; NULL when the
 * body is empty and empty_ok), or -1 with *ret_st. */
static int s_body (api_req_t *r, bool empty_ok, hs_tree_t **ret, api_status_t *ret_st)
{
    size_t len;
    const char *body = api_req_body (r, &len);
    if (s_is_protobuf (r)) {
        *ret_st = s_protobuf_status ();
        return -1;
    }
    bool blank = true;
    for (size_t i = 0; i < len && blank; i++)
        blank = body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t';
    if (blank) {
        if (empty_ok) {
            *ret = NULL;
            return 0;
        }
        *ret_st = api_status_fmt (400, "BadRequest", "the request body is empty");
        return -1;
    }
    hs_tree_t **docs = NULL;
    size_t n = 0;
    _cleanup_free_ char *err = NULL;
    if (hs_yaml_parse (body, len, &docs, &n, &err) < 0) {
        *ret_st = api_status_fmt (400, "BadRequest", "the body is not valid JSON: %s", hs_s (err));
        return -1;
    }
    if (n != 1 || docs[0]->type != HS_TREE_MAP) {
        hs_trees_free (docs, n);
        *ret_st = api_status_fmt (400, "BadRequest", "the body must be one JSON object");
        return -1;
    }
    *ret = docs[0];
    docs[0] = NULL;
    hs_trees_free (docs, n);
    return 0;
}

static api_validate_t s_validation (api_req_t *r)
{
    const char *v = api_query_get (api_req_query (r), "fieldValidation");
    if (v && !strcasecmp (v, "Strict")) return API_VALIDATE_STRICT;
    if (v && !strcasecmp (v, "Ignore")) return API_VALIDATE_IGNORE;
    return API_VALIDATE_WARN;
}

static bool s_dry_run (api_req_t *r)
{
    const char *d = api_query_get (api_req_query (r), "dryRun");
    return d && !strcmp (d, "All");
}

/* "deployments/scale": a subresource as Kubernetes names it in messages. */
static const char *s_sub_resource (const api_route_t *rt)
{
    static char buf[96];
    snprintf (buf, sizeof buf, "%s/%s", hs_kind_info (rt->kind)->plural, hs_s (rt->sub));
    return buf;
}

/* A read-only identity (tap:<user>) may neither write nor ask an agent
 * for a log (hs-bus lets role tap publish nothing but snapshot requests: the
 * request would only time out). true after answering 403 in Kubernetes'
 * words; resource is "deployments/scale", "pods/log", ... */
static bool s_forbidden (api_req_t *r, const char *verb, const char *group, const char *resource)
{
    const char *who = api_req_identity (r);
    if (who && !hs_startswith (who, "tap:")) return false;
    const api_route_t *rt = api_req_route (r);
    const char *plural =
        rt->kind == API_KIND_NAMESPACE ? "namespaces" : hs_kind_info (rt->kind)->plural;
    _cleanup_free_ char *what =
        hs_empty (rt->name) ? hs_strdup (plural) : hs_sprintf ("%s \"%s\"", plural, rt->name);
    _cleanup_free_ char *where = hs_empty (rt->ns) ? hs_strdup ("at the cluster scope")
                                                   : hs_sprintf ("in the namespace \"%s\"", rt->ns);
    s_reply (r, api_status_fmt (403, "Forbidden",
                                "%s is forbidden: User \"%s\" cannot %s resource \"%s\" in API "
                                "group \"%s\" %s",
                                what, hs_s (who), verb, resource, group, where));
    return true;
}

/* The cached object the route names, or NULL after answering 404/503. */
static const Hs__Object *s_live (api_req_t *r)
{
    const api_route_t *rt = api_req_route (r);
    api_cache_t *c = api_server_cache (api_req_server (r));
    if (!api_cache_synced (c)) {
        s_reply (r, api_status_fmt (503, "ServiceUnavailable",
                                    "the server is starting: its cache is not loaded yet"));
        return NULL;
    }
    const Hs__Object *o = api_cache_get (c, rt->kind, rt->ns, rt->name);
    if (!o) s_reply (r, api_status_not_found (rt->kind, rt->name));
    return o;
}

/* ------------------------------------------------------------ Scale */

static Hs__Int32Value **s_replicas_field (Hs__Object *o)
{
    switch (hs_obj_kind (o)) {
    case HS_KIND_DEPLOYMENT:
        return o->deployment && o->deployment->spec ? &o->deployment->spec->replicas : NULL;
    case HS_KIND_REPLICASET:
        return o->replica_set && o->replica_set->spec ? &o->replica_set->spec->replicas : NULL;
    default: return NULL;
    }
}

/* autoscaling/v1 Scale of a deployment or replica set. */
static hs_tree_t *s_scale_tree (const Hs__Object *o)
{
    const Hs__ObjectMeta *m = hs_obj_meta (o);
    const Hs__LabelSelector *sel = NULL;
    int64_t want = 1, have = 0;
    if (hs_obj_kind (o) == HS_KIND_DEPLOYMENT && o->deployment) {
        const Hs__Deployment *d = o->deployment;
        if (d->spec && d->spec->replicas) want = d->spec->replicas->value;
        if (d->spec) sel = d->spec->selector;
        if (d->status) have = d->status->replicas;
    } else if (o->replica_set) {
        const Hs__ReplicaSet *rs = o->replica_set;
        if (rs->spec && rs->spec->replicas) want = rs->spec->replicas->value;
        if (rs->spec) sel = rs->spec->selector;
        if (rs->status) have = rs->status->replicas;
    }
    hs_tree_t *t = hs_tree_new (HS_TREE_MAP);
    hs_tree_add (t, "kind", s_str ("Scale"));
    hs_tree_add (t, "apiVersion", s_str ("autoscaling/v1"));
    hs_tree_t *meta = hs_tree_new (HS_TREE_MAP);
    hs_tree_add (meta, "name", s_str (m ? m->name : ""));
    hs_tree_add (meta, "namespace", s_str (m ? m->namespace_ : ""));
    hs_tree_add (meta, "uid", s_str (m ? m->uid : ""));
    hs_tree_add (meta, "resourceVersion", s_rv (m ? m->resource_version : 0));
    char when[64];
    hs_tree_add (meta, "creationTimestamp",
                 s_str (hs_fmt_time (m ? m->creation_timestamp : 0, when, sizeof when)));
    hs_tree_add (t, "metadata", meta);
    hs_tree_t *spec = hs_tree_new (HS_TREE_MAP);
    hs_tree_add (spec, "replicas", s_int (want));
    hs_tree_add (t, "spec", spec);
    hs_tree_t *status = hs_tree_new (HS_TREE_MAP);
    hs_tree_add (status, "replicas", s_int (have));
    if (sel && (sel->n_match_labels || sel->n_match_expressions)) {
        _cleanup_free_ char *s = ctl_label_selector_str (sel);
        hs_tree_add (status, "selector", s_str (s));
    }
    hs_tree_add (t, "status", status);
    return t;
}

/* ------------------------------------------------------------ writes (scale, status, eviction) */

typedef enum { S_SCALE_PUT, S_SCALE_PATCH, S_STATUS_PUT, S_STATUS_PATCH, S_EVICT } s_mode_t;

typedef struct {
    api_req_t *r; /* NULL once the client went */
    api_server_t *srv;
    api_route_t route; /* strings below */
    char *ns, *name, *sub;
    s_mode_t mode;
    hs_tree_t *body; /* PUT body, patch, or Eviction */
    api_patch_type_t ptype;
    api_validate_t validate;
    bool dry_run;
    int64_t precondition; /* the client's resourceVersion; 0: none (retry on Conflict) */
    int tries;
    int64_t rev;      /* the ack's */
    Hs__Object *sent; /* what the last write carried (dry run answers) */
    char *uid;        /* eviction: the pod's */
    hs_client_t *client;
} s_write_t;

static void s_write_free (s_write_t *w)
{
    if (!w) return;
    free (w->ns);
    free (w->name);
    free (w->sub);
    free (w->uid);
    hs_tree_free (w->body);
    hs_pb_free (w->sent);
    free (w);
}

static void s_write_free_arg (void *arg)
{
    s_write_free (arg);
}

static void s_write_gone (void *arg)
{
    s_write_t *w = arg;
    w->r = NULL;
}

static void s_write_run (s_write_t *w);

/* The answer once the write is done (and the cache has it, or not in time). */
static void s_write_answer (s_write_t *w)
{
    api_req_t *r = w->r;
    api_cache_t *c = api_server_cache (w->srv);
    const Hs__Object *o = w->dry_run ? NULL : api_cache_get (c, w->route.kind, w->ns, w->name);
    const Hs__Object *shown = o ? o : w->sent;
    switch (w->mode) {
    case S_EVICT: s_reply_free (r, 201, api_status_success (HS_KIND_POD, w->name, w->uid)); break;
    case S_SCALE_PUT:
    case S_SCALE_PATCH:
        if (shown) {
            hs_tree_t *t = s_scale_tree (shown);
            if (!o && w->rev && !w->dry_run) {
                /* The cache did not catch up: the revision the store gave us. */
                hs_tree_t *meta = (hs_tree_t *)hs_tree_get (t, "metadata");
                hs_tree_remove (meta, "resourceVersion");
                hs_tree_add (meta, "resourceVersion", s_rv (w->rev));
            }
            s_reply_free (r, 200, t);
        } else
            s_reply (r, api_status_not_found (w->route.kind, w->name));
        break;
    case S_STATUS_PUT:
    case S_STATUS_PATCH:
        if (shown)
            s_reply_free (r, 200, api_obj_tree (shown));
        else
            s_reply (r, api_status_not_found (w->route.kind, w->name));
        break;
    }
    s_write_free (w);
}

static void s_write_settled (void *arg, bool reached)
{
    s_write_t *w = arg;
    (void)reached;
    if (!w->r) {
        s_write_free (w);
        return;
    }
    s_write_answer (w);
}

static void s_write_retry (void *arg, bool reached)
{
    s_write_t *w = arg;
    (void)reached;
    if (!w->r) {
        s_write_free (w);
        return;
    }
    s_write_run (w);
}

static void s_write_acked (void *arg, int err, const Hs__Ack *ack)
{
    s_write_t *w = arg;
    if (!w->r) {
        s_write_free (w);
        return;
    }
    if (err < 0 || !ack) {
        s_reply (w->r, api_status_fmt (504, "Timeout",
                                       "Timeout: request did not complete within the allowed "
                                       "duration (the store did not answer)"));
        s_write_free (w);
        return;
    }
    api_cache_t *c = api_server_cache (w->srv);
    if (ack->code == HS__CODE__CODE_CONFLICT && w->precondition == 0 &&
        ++w->tries < S_WRITE_TRIES) {
        /* Someone wrote in between: read again once the cache has it. */
        api_cache_wait_rev (c, api_cache_rev (c) + 1, 500, s_write_retry, w);
        return;
    }
    if (ack->code != HS__CODE__CODE_OK) {
        hs_kind_t kind = w->mode == S_EVICT ? HS_KIND_POD : w->route.kind;
        s_reply (w->r, api_status_from_ack (ack, kind, w->name));
        s_write_free (w);
        return;
    }
    w->rev = ack->revision;
    if (w->dry_run || w->mode == S_EVICT) {
        s_write_answer (w);
        return;
    }
    api_cache_wait_rev (c, w->rev, S_SETTLE_MS, s_write_settled, w);
}

/* The replicas a Scale body (PUT, or a patched Scale) asks for. */
static int s_scale_replicas (const s_write_t *w, const hs_tree_t *scale, int64_t *ret,
                             api_status_t *ret_st)
{
    const hs_tree_t *k = hs_tree_get (scale, "kind");
    if (k && !hs_streq (s_scalar (k), "Scale")) {
        *ret_st =
            api_status_fmt (400, "BadRequest", "the body is a \"%s\", not an autoscaling/v1 Scale",
                            hs_s (s_scalar (k)));
        return -1;
    }
    const hs_tree_t *n = s_path (scale, "spec", "replicas");
    int64_t v = 0;
    if (n && !s_tree_i64 (n, &v)) {
        *ret_st = api_status_fmt (400, "BadRequest",
                                  "json: cannot unmarshal spec.replicas into Go struct field "
                                  "ScaleSpec.spec.replicas of type int32");
        return -1;
    }
    if (v < 0 || v > INT32_MAX) {
        api_cause_t cause = {"FieldValueInvalid", "spec.replicas",
                             v < 0 ? "Invalid value: must be greater than or equal to 0"
                                   : "Invalid value: must be at most 2147483647"};
        _cleanup_free_ char *msg =
            hs_sprintf ("Scale.autoscaling \"%s\" is invalid: spec.replicas: Invalid value: "
                        "%lld: must be greater than or equal to 0",
                        w->name, (long long)v);
        *ret_st = api_status_new (422, "Invalid", msg, w->route.kind, w->name, &cause, 1);
        return -1;
    }
    *ret = v;
    return 0;
}

/* The resourceVersion a body's metadata names (0: none). */
static int s_body_rv (const hs_tree_t *body, int64_t *ret, api_status_t *ret_st)
{
    const hs_tree_t *t = s_path (body, "metadata", "resourceVersion");
    const char *s = s_scalar (t);
    *ret = 0;
    if (!t || t->type == HS_TREE_NULL || hs_empty (s)) return 0;
    if (hs_parse_i64 (s, ret) < 0 || *ret < 0) {
        *ret_st = api_status_fmt (400, "BadRequest", "invalid resourceVersion \"%s\"", s);
        return -1;
    }
    return 0;
}

/* Applies the patch to live's JSON form; NULL after answering the error:
 * 422 for a JSON patch that does not apply, 400 for one that cannot be read
 * (kube-apiserver's split). */
static hs_tree_t *s_patched (s_write_t *w, const hs_tree_t *live)
{
    hs_tree_t *out = NULL;
    _cleanup_free_ char *err = NULL;
    int rc = api_patch_apply (w->ptype, w->route.kind, live, w->body, &out, &err);
    if (rc == API_PATCH_EAPPLY) {
        api_cause_t cause = {"UnexpectedServerResponse", "", hs_s (err)};
        s_reply (w->r, api_status_new (422, "Invalid",
                                       "the server rejected our request due to an error in our "
                                       "request",
                                       w->route.kind, w->name, &cause, 1));
        return NULL;
    }
    if (rc < 0) {
        s_reply (w->r, api_status_fmt (400, "BadRequest", "%s", hs_s (err)));
        return NULL;
    }
    return out;
}

/* Builds the write for the current live object and sends it. */
static void s_write_run (s_write_t *w)
{
    api_req_t *r = w->r;
    api_cache_t *c = api_server_cache (w->srv);
    const Hs__Object *live = api_cache_get (c, w->route.kind, w->ns, w->name);
    if (!live) {
        s_reply (r, api_status_not_found (w->route.kind, w->name));
        s_write_free (w);
        return;
    }
    const Hs__ObjectMeta *lm = hs_obj_meta (live);
    int64_t live_rv = lm ? lm->resource_version : 0;
    api_status_t st;
    Hs__Write *wr = NULL;
    api_warnings_t warns = {0};

    switch (w->mode) {
    case S_SCALE_PUT:
    case S_SCALE_PATCH: {
        hs_tree_t *scale = w->body;
        _cleanup_ (hs_tree_freep) hs_tree_t *patched = NULL;
        if (w->mode == S_SCALE_PATCH) {
            _cleanup_ (hs_tree_freep) hs_tree_t *cur = s_scale_tree (live);
            patched = s_patched (w, cur);
            if (!patched) goto fail;
            scale = patched;
        }
        int64_t replicas;
        if (s_scale_replicas (w, scale, &replicas, &st) < 0) goto reply;
        if (w->precondition && w->precondition != live_rv) {
            st = s_conflict (w->route.kind, w->name);
            goto reply;
        }
        Hs__Object *o = hs_pb_dup (live);
        Hs__Int32Value **f = s_replicas_field (o);
        if (!f) {
            hs_pb_free (o);
            st = api_status_fmt (500, "InternalError", "the object has no spec");
            goto reply;
        }
        if (!*f) *f = hs_pb_new (&hs__int32_value__descriptor);
        (*f)->value = (int32_t)replicas;
        hs_pb_free (w->sent);
        w->sent = hs_pb_dup (o);
        wr = hs_write_new (HS__OP__OP_UPDATE, o);
        wr->expected_revision = live_rv;
        break;
    }
    case S_STATUS_PUT:
    case S_STATUS_PATCH: {
        const hs_tree_t *body = w->body;
        _cleanup_ (hs_tree_freep) hs_tree_t *patched = NULL;
        if (w->mode == S_STATUS_PATCH) {
            _cleanup_ (hs_tree_freep) hs_tree_t *cur = api_obj_tree (live);
            patched = s_patched (w, cur);
            if (!patched) goto fail;
            body = patched;
        }
        Hs__Object *o = NULL;
        if (api_obj_from_tree (&w->route, body, w->validate, &o, &warns, &st) < 0) goto reply;
        Hs__ObjectMeta *m = hs_obj_meta (o);
        if (m && hs_empty (m->name)) hs_pb_set_str (&m->name, w->name);
        if (!m || !hs_streq (m->name, w->name)) {
            hs_pb_free (o);
            st = api_status_fmt (400, "BadRequest",
                                 "the name of the object (%s) does not match the name on the URL "
                                 "(%s)",
                                 m ? hs_s (m->name) : "", w->name);
            goto reply;
        }
        int64_t expected = live_rv;
        if (w->mode == S_STATUS_PUT) {
            /* PUT: the body's resourceVersion is the client's precondition. */
            if (m->resource_version) w->precondition = m->resource_version;
        } else if (w->precondition == 0 && m->resource_version && m->resource_version != live_rv) {
            w->precondition = m->resource_version;
        }
        if (w->precondition) expected = w->precondition;
        hs_pb_free (w->sent);
        w->sent = hs_pb_dup (o);
        wr = hs_write_new (HS__OP__OP_UPDATE_STATUS, o);
        wr->expected_revision = expected;
        break;
    }
    case S_EVICT: {
        const hs_tree_t *opts = w->body ? hs_tree_get (w->body, "deleteOptions") : NULL;
        wr = hs_write_target (HS__OP__OP_DELETE, HS_KIND_POD, w->ns, w->name);
        free (w->uid);
        w->uid = hs_strdup (lm ? lm->uid : "");
        int64_t grace;
        const hs_tree_t *g = s_path (opts, "gracePeriodSeconds", NULL);
        if (g && g->type != HS_TREE_NULL) {
            if (!s_tree_i64 (g, &grace) || grace < 0) {
                hs_pb_free (wr);
                st = api_status_fmt (400, "BadRequest",
                                     "deleteOptions.gracePeriodSeconds must be a number >= 0");
                goto reply;
            }
            wr->grace_period_seconds = hs_pb_new (&hs__int64_value__descriptor);
            wr->grace_period_seconds->value = grace;
        }
        const char *uid = s_scalar (s_path (opts, "preconditions", "uid"));
        if (!hs_empty (uid)) hs_pb_set_str (&wr->expected_uid, uid);
        const char *rvs = s_scalar (s_path (opts, "preconditions", "resourceVersion"));
        int64_t rv;
        if (!hs_empty (rvs) && (hs_parse_i64 (rvs, &rv) < 0 || rv != live_rv)) {
            hs_pb_free (wr);
            st = s_conflict (HS_KIND_POD, w->name);
            goto reply;
        }
        break;
    }
    }
    for (size_t i = 0; i < warns.n; i++) api_req_warn (r, warns.texts[i]);
    api_warnings_free (&warns);
    hs_call_opts_t opts = {
        .timeout_ms = S_CALL_MS, .dry_run = w->dry_run, .free_arg = s_write_free_arg};
    int rc = hs_client_send (w->client, &wr, 1, &opts, s_write_acked, w);
    hs_pb_free (wr);
    if (rc < 0) {
        s_reply (
            r, api_status_fmt (500, "InternalError", "cannot send the write: %s", strerror (-rc)));
        s_write_free (w);
    }
    return;
reply:
    s_reply (r, st);
fail:
    api_warnings_free (&warns);
    s_write_free (w);
}

/* Starts a write for the request (it answers, now or later). */
static void s_write_start (api_req_t *r, s_mode_t mode, hs_tree_t *body, api_patch_type_t ptype,
                           int64_t precondition)
{
    const api_route_t *rt = api_req_route (r);
    s_write_t *w = hs_calloc (1, sizeof *w);
    w->r = r;
    w->srv = api_req_server (r);
    w->client = api_req_client (r);
    w->ns = hs_strdup (rt->ns);
    w->name = hs_strdup (rt->name);
    w->sub = hs_strdup (rt->sub);
    w->route = *rt;
    w->route.ns = w->ns;
    w->route.name = w->name;
    w->route.sub = w->sub;
    w->mode = mode;
    w->body = body;
    w->ptype = ptype;
    w->validate = s_validation (r);
    w->dry_run = s_dry_run (r);
    w->precondition = precondition;
    if (!w->client) {
        s_reply (r, api_status_fmt (503, "ServiceUnavailable", "no bus connection for %s",
                                    hs_s (api_req_identity (r))));
        s_write_free (w);
        return;
    }
    api_req_on_close (r, s_write_gone, w);
    s_write_run (w);
}

static void s_patch_start (api_req_t *r, s_mode_t mode)
{
    int type = api_patch_type (api_req_header (r, "Content-Type"));
    if (type < 0) {
        s_reply (r, api_status_fmt (415, "UnsupportedMediaType",
                                    "the body of the request was in an unknown format - accepted "
                                    "media types include: application/json-patch+json, "
                                    "application/merge-patch+json, "
                                    "application/strategic-merge-patch+json, "
                                    "application/apply-patch+yaml"));
        return;
    }
    size_t len;
    const char *text = api_req_body (r, &len);
    hs_tree_t **docs = NULL;
    size_t n = 0;
    _cleanup_free_ char *err = NULL;
    if (hs_yaml_parse (text, len, &docs, &n, &err) < 0 || n != 1 ||
        (docs[0]->type != HS_TREE_MAP && docs[0]->type != HS_TREE_SEQ)) {
        hs_trees_free (docs, n);
        s_reply (r, api_status_fmt (400, "BadRequest", "the patch is not valid JSON%s%s",
                                    err ? ": " : "", hs_s (err)));
        return;
    }
    hs_tree_t *patch = docs[0];
    docs[0] = NULL;
    hs_trees_free (docs, n);
    if (type == API_PATCH_APPLY)
        api_req_warn (r, "server-side apply is a merge on Homeostat: fields you drop are kept");
    /* A resourceVersion in a merge patch is the client's precondition. */
    int64_t pre = 0;
    api_status_t st;
    if (type != API_PATCH_JSON && s_body_rv (patch, &pre, &st) < 0) {
        hs_tree_free (patch);
        s_reply (r, st);
        return;
    }
    s_write_start (r, mode, patch, (api_patch_type_t)type, pre);
}

static void s_scale (api_req_t *r)
{
    const api_route_t *rt = api_req_route (r);
    if (rt->kind != HS_KIND_DEPLOYMENT && rt->kind != HS_KIND_REPLICASET) {
        s_reply (r, api_status_fmt (404, "NotFound",
                                    "the server could not find the requested "
                                    "resource"));
        return;
    }
    switch (api_req_method (r)) {
    case API_GET: {
        const Hs__Object *o = s_live (r);
        if (o) s_reply_free (r, 200, s_scale_tree (o));
        return;
    }
    case API_PUT: {
        hs_tree_t *body;
        api_status_t st;
        int64_t pre;
        if (s_forbidden (r, "update", "apps", s_sub_resource (rt))) return;
        if (s_body (r, false, &body, &st) < 0) {
            s_reply (r, st);
            return;
        }
        /* Kubernetes checks the name the Scale gives (kubectl sends it). */
        const char *name = s_scalar (s_path (body, "metadata", "name"));
        if (!name || strcmp (name, rt->name) != 0) {
            hs_tree_free (body);
            s_reply (r, api_status_fmt (400, "BadRequest",
                                        "the name of the object (%s) does not match the name on "
                                        "the URL (%s)",
                                        hs_s (name), rt->name));
            return;
        }
        if (s_body_rv (body, &pre, &st) < 0) {
            hs_tree_free (body);
            s_reply (r, st);
            return;
        }
        s_write_start (r, S_SCALE_PUT, body, API_PATCH_MERGE, pre);
        return;
    }
    case API_PATCH:
        if (s_forbidden (r, "patch", "apps", s_sub_resource (rt))) return;
        s_patch_start (r, S_SCALE_PATCH);
        return;
    default: s_reply (r, s_method_not_allowed ()); return;
    }
}

/* ------------------------------------------------------------ status */

static bool s_has_status (hs_kind_t kind)
{
    switch (kind) {
    case HS_KIND_POD:
    case HS_KIND_NODE:
    case HS_KIND_REPLICASET:
    case HS_KIND_DEPLOYMENT:
    case HS_KIND_JOB:
    case HS_KIND_SERVICE:
    case HS_KIND_HPA: return true;
    default: return false;
    }
}

static void s_status (api_req_t *r)
{
    const api_route_t *rt = api_req_route (r);
    if (!s_has_status (rt->kind)) {
        s_reply (r, api_status_fmt (404, "NotFound",
                                    "the server could not find the requested "
                                    "resource"));
        return;
    }
    switch (api_req_method (r)) {
    case API_GET: {
        const Hs__Object *o = s_live (r);
        if (o) s_reply_free (r, 200, api_obj_tree (o));
        return;
    }
    case API_PUT: {
        hs_tree_t *body;
        api_status_t st;
        if (s_forbidden (r, "update", hs_kind_info (rt->kind)->group, s_sub_resource (rt))) return;
        if (s_body (r, false, &body, &st) < 0) {
            s_reply (r, st);
            return;
        }
        s_write_start (r, S_STATUS_PUT, body, API_PATCH_MERGE, 0);
        return;
    }
    case API_PATCH:
        if (s_forbidden (r, "patch", hs_kind_info (rt->kind)->group, s_sub_resource (rt))) return;
        s_patch_start (r, S_STATUS_PATCH);
        return;
    default: s_reply (r, s_method_not_allowed ()); return;
    }
}

/* ------------------------------------------------------------ eviction */

static void s_eviction (api_req_t *r)
{
    const api_route_t *rt = api_req_route (r);
    if (rt->kind != HS_KIND_POD) {
        s_reply (r, api_status_fmt (404, "NotFound",
                                    "the server could not find the requested "
                                    "resource"));
        return;
    }
    if (api_req_method (r) != API_POST) {
        s_reply (r, s_method_not_allowed ());
        return;
    }
    if (s_forbidden (r, "create", "", "pods/eviction")) return;
    hs_tree_t *body;
    api_status_t st;
    if (s_body (r, true, &body, &st) < 0) {
        s_reply (r, st);
        return;
    }
    const char *kind = s_scalar (s_path (body, "kind", NULL));
    const char *av = s_scalar (s_path (body, "apiVersion", NULL));
    const char *name = s_scalar (s_path (body, "metadata", "name"));
    if (kind && strcmp (kind, "Eviction") != 0) {
        st = api_status_fmt (400, "BadRequest", "the body is a \"%s\", not a policy/v1 Eviction",
                             kind);
    } else if (av && strcmp (av, "policy/v1") != 0 && strcmp (av, "policy/v1beta1") != 0) {
        st = api_status_fmt (400, "BadRequest",
                             "the Eviction's apiVersion \"%s\" is not policy/v1 or policy/v1beta1",
                             av);
    } else if (!hs_empty (name) && strcmp (name, rt->name) != 0) {
        st = api_status_fmt (400, "BadRequest",
                             "name in URL does not match name in Eviction "
                             "object");
    } else {
        if (!s_live (r)) {
            hs_tree_free (body);
            return;
        }
        s_write_start (r, S_EVICT, body, API_PATCH_MERGE, 0);
        return;
    }
    hs_tree_free (body);
    s_reply (r, st);
}

/* ------------------------------------------------------------ pods/log */

/* One per user connection that asked for a log: its logs.<id> handler,
 * and the proof that the subscription is in force at the broker before a
 * request goes out (else the agent's first chunks could be lost): a Ping on
 * echo.<instance>/ that came back, as hs_bus_join does, but without
 * blocking the loop. */
typedef struct s_logsub {
    hs_client_t *client;
    hs_loop_t *loop;
    char *id;
    bool on, joined; /* the handlers are registered; the bus proved the subscription */
    char *echo_topic;
    char nonce[20];
    hs_loop_timer_t *ping; /* while joining */
    int64_t ping_start, ping_every;
    struct s_logsub *next;
} s_logsub_t;

typedef struct s_log {
    api_req_t *r; /* NULL once answered or gone */
    hs_client_t *client;
    hs_loop_timer_t *timer;
    char rid[24];
    char *ns, *pod, *container, *node, *waiting, *req_topic;
    char agent[300]; /* "node:<node>" */
    Hs__LogRequest req;
    s_logsub_t *sub;
    uint64_t seq, forged;
    bool got_any, started, done;
    int64_t start_mono, heard_mono, sent_mono;
    /* Gateway-side filtering (sinceSeconds / sinceTime): the agent adds
     * timestamps, the gateway drops older lines and strips them again
     * unless the client asked for them, and counts limitBytes itself. */
    int64_t since_ns; /* 0: none */
    bool strip_ts;
    int64_t limit_left; /* -1: none */
    hs_buf_t line;
    bool line_over; /* the current line went over S_LOG_LINE_MAX: dropped */
    struct s_log *next;
} s_log_t;

static s_logsub_t *s_logsubs;
static s_log_t *s_logs;

static void s_log_free (s_log_t *l)
{
    for (s_log_t **p = &s_logs; *p; p = &(*p)->next)
        if (*p == l) {
            *p = l->next;
            break;
        }
    hs_loop_timer_free (&l->timer);
    free (l->ns);
    free (l->pod);
    free (l->container);
    free (l->node);
    free (l->waiting);
    free (l->req_topic);
    free (l->req.client_id);
    hs_buf_free (&l->line);
    free (l);
}

static void s_log_publish (s_log_t *l)
{
    if (!l->client) return;
    Hs__Envelope env = HS__ENVELOPE__INIT;
    env.body_case = HS__ENVELOPE__BODY_LOG_REQUEST;
    env.log_request = &l->req;
    int rc = hs_bus_publish (hs_client_bus (l->client), l->req_topic, &env);
    hs_pb_take_str (&env.sender, NULL); /* publish set a heap copy */
    if (rc < 0 && rc != -EAGAIN) log_debug ("log request %s: %s", l->rid, strerror (-rc));
    l->sent_mono = hs_mono_ns ();
}

/* Ends the request: the stream, or an answer (st, consumed) when nothing
 * was sent yet. */
static void s_log_finish (s_log_t *l, api_status_t *st)
{
    if (l->r && !l->started && st) {
        api_reply_status (l->r, st);
        st = NULL;
    } else if (l->r && l->started)
        api_stream_end (l->r);
    else if (l->r)
        api_reply_text (l->r, 200, "", 0, "text/plain");
    if (st) api_status_free (st);
    s_log_free (l);
}

/* The client went while we wrote: its on_close hook (s_log_gone) frees. */
static void s_log_orphan (s_log_t *l)
{
    l->done = true;
    hs_loop_timer_free (&l->timer);
}

static void s_log_cancel (s_log_t *l)
{
    l->req.cancel = true;
    s_log_publish (l);
}

static int s_log_write (s_log_t *l, const char *data, size_t len)
{
    if (!len) return 0;
    if (!l->started) {
        api_stream_start (l->r, 200, "text/plain");
        l->started = true;
    }
    return api_stream_write (l->r, data, len);
}

/* One complete line (with its newline) through the since filter. */
static int s_log_line (s_log_t *l, const char *line, size_t len)
{
    const char *sp = memchr (line, ' ', len);
    if (sp && sp - line < 64) {
        char ts[64];
        memcpy (ts, line, (size_t)(sp - line));
        ts[sp - line] = '\0';
        int64_t t;
        if (hs_parse_time (ts, &t) == 0 && t < l->since_ns) return 0;
        if (l->strip_ts) {
            len -= (size_t)(sp + 1 - line);
            line = sp + 1;
        }
    }
    if (l->limit_left >= 0) {
        if (l->limit_left == 0) return 1;
        if ((int64_t)len > l->limit_left) len = (size_t)l->limit_left;
        l->limit_left -= (int64_t)len;
    }
    int rc = s_log_write (l, line, len);
    if (rc < 0) return rc;
    return l->limit_left == 0 ? 1 : 0;
}

/* Data from the agent. <0: the client is gone; 1: the limit is reached. */
static int s_log_data (s_log_t *l, const char *data, size_t len)
{
    if (!l->since_ns) return s_log_write (l, data, len);
    while (len) {
        const char *nl = memchr (data, '\n', len);
        size_t n = nl ? (size_t)(nl - data) + 1 : len;
        if (!l->line_over) {
            if (l->line.len + n > S_LOG_LINE_MAX) {
                l->line_over = true;
                l->line.len = 0;
            } else
                hs_buf_append (&l->line, data, n);
        }
        if (nl) {
            int rc = 0;
            if (!l->line_over) rc = s_log_line (l, l->line.data, l->line.len);
            l->line.len = 0;
            l->line_over = false;
            if (rc != 0) return rc;
        }
        data += n;
        len -= n;
    }
    return 0;
}

static void s_log_on_chunk (void *arg, const char *topic, const Hs__Envelope *env)
{
    s_logsub_t *sub = arg;
    (void)topic;
    if (env->body_case != HS__ENVELOPE__BODY_LOG_CHUNK || !env->log_chunk) return;
    const Hs__LogChunk *c = env->log_chunk;
    s_log_t *l = s_logs;
    while (l && !(l->client == sub->client && hs_streq (c->request_id, l->rid))) l = l->next;
    if (!l || l->done) return;
    /* Secured, hs-bus stamps who published it: only the agent of the pod's
     * node answers (any node can read our request and race it). */
    if (hs_bus_identity (hs_client_bus (l->client)) &&
        !hs_streq (hs_client_peer_identity (l->client), l->agent)) {
        l->forged++;
        return;
    }
    l->heard_mono = hs_mono_ns ();
    if (l->got_any && c->seq <= l->seq) {
        /* An old number is a new stream: the agent restarted. */
        log_info ("log %s: the node agent on %s restarted; the stream ended", l->rid, l->node);
        s_log_finish (l, NULL);
        return;
    }
    if (l->got_any && c->seq > l->seq + 1)
        log_info ("log %s: lost %llu chunks from %s", l->rid,
                  (unsigned long long)(c->seq - l->seq - 1), l->node);
    l->seq = c->seq;
    l->got_any = true;
    int rc = s_log_data (l, (const char *)c->data.data, c->data.len);
    if (rc != 0) {
        /* The client went (its on_close forgets the request) or has all
         * the bytes it wanted. */
        s_log_cancel (l);
        if (rc < 0)
            s_log_orphan (l);
        else
            s_log_finish (l, NULL);
        return;
    }
    if (c->code != HS__CODE__CODE_OK) {
        const char *reason;
        _cleanup_free_ char *msg =
            hs_podlog_error (c->code, c->message, l->pod, l->container, l->waiting, &reason);
        api_status_t st = api_status_fmt (hs_podlog_http (reason), reason, "%s", msg);
        if (l->started) log_info ("log %s ended: %s", l->rid, msg);
        s_log_finish (l, &st);
        return;
    }
    if (c->eof) {
        /* A last line without a newline, held by the since filter. */
        if (l->since_ns && l->line.len && !l->line_over &&
            s_log_line (l, l->line.data, l->line.len) < 0) {
            s_log_orphan (l);
            return;
        }
        s_log_finish (l, NULL);
    }
}

static void s_log_tick (void *arg)
{
    s_log_t *l = arg;
    int64_t now = hs_mono_ns ();
    if (now - (l->got_any ? l->heard_mono : l->start_mono) >= S_LOG_ANSWER_NS) {
        if (l->got_any) {
            log_info ("log %s: lost the stream from the node agent on %s", l->rid, l->node);
            s_log_cancel (l);
            s_log_finish (l, NULL);
        } else {
            api_status_t st = api_status_fmt (500, "InternalError",
                                              "the node agent on \"%s\" did not answer", l->node);
            s_log_finish (l, &st);
        }
        return;
    }
    /* before the first chunk the retry, then the keepalive */
    if (l->sub && l->sub->joined) s_log_publish (l);
    hs_loop_timer_set (l->timer, now + S_LOG_RESEND_NS);
}

static void s_log_gone (void *arg)
{
    s_log_t *l = arg;
    l->r = NULL;
    if (!l->done) s_log_cancel (l);
    s_log_free (l);
}

static void s_logsub_ping (void *arg)
{
    s_logsub_t *s = arg;
    int64_t now = hs_mono_ns ();
    if (now - s->ping_start >= S_LOG_JOIN_MS * S_MS) {
        /* The log requests waiting for it time out on their own. */
        log_warn ("the bus did not echo %s within %d ms: log requests of %s wait", s->echo_topic,
                  S_LOG_JOIN_MS, s->id);
        hs_loop_timer_free (&s->ping);
        return;
    }
    Hs__Envelope env = HS__ENVELOPE__INIT;
    Hs__Ping ping = HS__PING__INIT;
    ping.nonce = s->nonce;
    env.body_case = HS__ENVELOPE__BODY_PING;
    env.ping = &ping;
    hs_bus_publish (hs_client_bus (s->client), s->echo_topic, &env);
    hs_pb_take_str (&env.sender, NULL); /* publish set a heap copy */
    s->ping_every = s->ping_every < 200 * S_MS ? s->ping_every * 2 : s->ping_every;
    hs_loop_timer_set (s->ping, now + s->ping_every);
}

static void s_logsub_on_echo (void *arg, const char *topic, const Hs__Envelope *env)
{
    s_logsub_t *s = arg;
    if (s->joined || strcmp (topic, s->echo_topic) != 0 ||
        env->body_case != HS__ENVELOPE__BODY_PING || !env->ping ||
        !hs_streq (env->ping->nonce, s->nonce))
        return;
    s->joined = true;
    hs_loop_timer_free (&s->ping);
    /* The requests that waited go out now; their silence counts from now. */
    int64_t now = hs_mono_ns ();
    for (s_log_t *l = s_logs; l; l = l->next)
        if (l->sub == s && !l->done && !l->got_any) {
            l->start_mono = now;
            s_log_publish (l);
        }
}

/* A user's bus connection is about to be freed (api_auth: revoked,
 * expired, idle, evicted): its subscription, and the join ping timer that
 * would use the freed client, go with it. Its log requests are gone
 * already: each held the user, so the connection outlived them. */
static void s_logsub_client_free (void *arg, hs_client_t *client)
{
    (void)arg;
    for (s_logsub_t **p = &s_logsubs; *p;) {
        s_logsub_t *s = *p;
        if (s->client != client) {
            p = &s->next;
            continue;
        }
        *p = s->next;
        for (s_log_t *l = s_logs; l; l = l->next)
            if (l->sub == s) { /* cannot happen (see above); never dangle */
                log_warn ("log %s outlived its bus connection", l->rid);
                l->sub = NULL;
                l->client = NULL;
            }
        hs_loop_timer_free (&s->ping);
        free (s->id);
        free (s->echo_topic);
        free (s);
    }
}

/* The logs.<id> handler of this connection, registered once (hs_client
 * has no way to remove one; a second would see every chunk twice), and
 * the join under way or done. The entry lives as long as the connection
 * (s_logsub_client_free). */
static int s_logsub (hs_client_t *client, hs_loop_t *loop, s_logsub_t **ret)
{
    api_auth_on_client_free (s_logsub_client_free, NULL);
    const char *id = hs_client_id (client);
    s_logsub_t *s = s_logsubs;
    while (s && !(s->client == client && hs_streq (s->id, id))) s = s->next;
    if (!s) {
        s = hs_calloc (1, sizeof *s);
        s->client = client;
        s->loop = loop;
        s->id = hs_strdup (id);
        s->echo_topic = hs_topic_to ("echo", hs_bus_instance (hs_client_bus (client)));
        s->next = s_logsubs;
        s_logsubs = s;
    }
    if (!s->on) {
        _cleanup_free_ char *topic = hs_topic_to ("logs", id);
        int rc = hs_client_on (client, topic, s_log_on_chunk, s);
        if (rc == 0) rc = hs_client_on (client, s->echo_topic, s_logsub_on_echo, s);
        if (rc < 0) {
            /* A prefix that hs_client_on refused once it refuses again. */
            log_warn ("cannot subscribe to %s: %s", topic, strerror (-rc));
            return rc;
        }
        s->on = true;
    }
    if (!s->joined && !s->ping) {
        hs_random_id (s->nonce, 16);
        s->ping_start = hs_mono_ns ();
        s->ping_every = 5 * S_MS;
        s->ping = hs_loop_timer (loop, s->ping_start, s_logsub_ping, s);
    }
    *ret = s;
    return 0;
}

static bool s_query_i64 (api_req_t *r, const char *key, int64_t min, int64_t *ret,
                         api_status_t *ret_st)
{
    const char *v = api_query_get (api_req_query (r), key);
    if (!v || !*v) return false;
    if (hs_parse_i64 (v, ret) < 0 || *ret < min) {
        *ret_st = api_status_fmt (400, "BadRequest", "invalid %s \"%s\": must be a number >= %lld",
                                  key, v, (long long)min);
        return true;
    }
    return false;
}

static void s_log (api_req_t *r)
{
    const api_route_t *rt = api_req_route (r);
    if (rt->kind != HS_KIND_POD) {
        s_reply (r, api_status_fmt (404, "NotFound",
                                    "the server could not find the requested "
                                    "resource"));
        return;
    }
    if (api_req_method (r) != API_GET) {
        s_reply (r, s_method_not_allowed ());
        return;
    }
    const api_query_t *q = api_req_query (r);
    api_status_t st = {0};
    int64_t tail = -1, limit = 0, since_s = 0;
    if (s_query_i64 (r, "tailLines", 0, &tail, &st) ||
        s_query_i64 (r, "limitBytes", 1, &limit, &st) ||
        s_query_i64 (r, "sinceSeconds", 1, &since_s, &st)) {
        s_reply (r, st);
        return;
    }
    int64_t since_ns = 0;
    const char *since_time = api_query_get (q, "sinceTime");
    if (since_s && !hs_empty (since_time)) {
        s_reply (r, api_status_fmt (400, "BadRequest",
                                    "at most one of sinceTime or sinceSeconds may be specified"));
        return;
    }
    if (!hs_empty (since_time) && hs_parse_time (since_time, &since_ns) < 0) {
        s_reply (r, api_status_fmt (400, "BadRequest", "invalid sinceTime \"%s\"", since_time));
        return;
    }
    if (since_s) {
        /* Further back than the epoch is everything (and no overflow). */
        int64_t now = hs_now_ns ();
        since_ns = since_s >= now / 1000000000LL ? 1 : now - since_s * 1000000000LL;
    }

    if (s_forbidden (r, "get", "", "pods/log")) return;
    const Hs__Object *o = s_live (r);
    if (!o) return;
    const Hs__Pod *pod = o->pod;
    _cleanup_free_ char *why = NULL;
    const char *container =
        hs_podlog_container (pod, rt->name, api_query_get (q, "container"), &why);
    if (!container) {
        s_reply (r, api_status_fmt (400, "BadRequest", "%s", why));
        return;
    }
    const char *node = pod->spec ? pod->spec->node_name : "";
    const char *waiting = hs_podlog_waiting (pod, container);
    if (hs_empty (node)) {
        s_reply (r, api_status_fmt (400, "BadRequest",
                                    "container \"%s\" in pod \"%s\" is waiting to start: %s",
                                    container, rt->name, waiting ? waiting : "ContainerCreating"));
        return;
    }
    hs_client_t *client = api_req_client (r);
    s_logsub_t *sub;
    int rc = client ? s_logsub (client, api_server_loop (api_req_server (r)), &sub) : -ENOTCONN;
    if (rc < 0) {
        s_reply (r, api_status_fmt (503, "ServiceUnavailable", "cannot read logs over the bus: %s",
                                    strerror (-rc)));
        return;
    }

    s_log_t *l = hs_calloc (1, sizeof *l);
    l->r = r;
    l->client = client;
    l->sub = sub;
    l->ns = hs_strdup (rt->ns);
    l->pod = hs_strdup (rt->name);
    l->container = hs_strdup (container);
    l->node = hs_strdup (node);
    l->waiting = hs_strdup (waiting);
    l->req_topic = hs_topic_to ("logreq", node);
    snprintf (l->agent, sizeof l->agent, "node:%s", node);
    hs_random_id (l->rid, 16);
    bool timestamps = api_query_bool (q, "timestamps", false);
    l->since_ns = since_ns;
    l->strip_ts = since_ns && !timestamps;
    l->limit_left = since_ns && limit ? limit : -1;
    hs__log_request__init (&l->req);
    l->req.client_id = hs_strdup (hs_client_id (client));
    l->req.request_id = l->rid;
    l->req.namespace_ = l->ns;
    l->req.pod = l->pod;
    l->req.container = l->container;
    l->req.previous = api_query_bool (q, "previous", false);
    l->req.follow = api_query_bool (q, "follow", false);
    l->req.tail_lines = tail;
    l->req.timestamps = timestamps || since_ns;
    l->req.limit_bytes = since_ns ? 0 : limit;
    l->start_mono = hs_mono_ns ();
    l->next = s_logs;
    s_logs = l;
    api_req_on_close (r, s_log_gone, l);
    if (sub->joined) s_log_publish (l); /* else once the bus echoed the join */
    l->timer = hs_loop_timer (api_server_loop (api_req_server (r)), l->start_mono + S_LOG_RESEND_NS,
                              s_log_tick, l);
}

/* ------------------------------------------------------------ pods/exec */

/* kubectl 1.32 opens exec as a WebSocket (v5.channel.k8s.io) and falls back
 * to SPDY/3.1; neither is served (docs/architecture.md §24): a clean error
 * kubectl prints as `error: ... <message>`. */
static void s_exec (api_req_t *r)
{
    s_reply (r,
             api_status_fmt (
                 405, "MethodNotAllowed",
                 "pods/exec is not supported by Homeostat's Kubernetes API (it needs a WebSocket "
                 "or SPDY stream); use: hsctl exec %s -- COMMAND",
                 api_req_route (r)->name));
}

/* ------------------------------------------------------------ Namespaces */

typedef struct {
    const char **names;
    int64_t *created;
    size_t n;
} s_nslist_t;

static void s_nslist_free (s_nslist_t *l)
{
    free (l->names);
    free (l->created);
}

/* Namespaces in use that pass sel (NULL: all). */
static void s_nslist (api_req_t *r, const api_selector_t *sel, s_nslist_t *ret)
{
    api_cache_t *c = api_server_cache (api_req_server (r));
    const char **names = NULL;
    int64_t *created = NULL;
    size_t n = api_cache_namespaces (c, &names, &created);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!sel || api_selector_match_namespace (sel, names[i])) {
            names[k] = names[i];
            created[k] = created[i];
            k++;
        }
    ret->names = names;
    ret->created = created;
    ret->n = k;
}

static bool s_ns_find (const s_nslist_t *l, const char *name, size_t *ret)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp (l->names[i], name) == 0) {
            *ret = i;
            return true;
        }
    return false;
}

static api_status_t s_ns_not_found (const char *name)
{
    return api_status_fmt (404, "NotFound", "namespaces \"%s\" not found", name);
}

/* One namespace as the client wants it: the object, or a one-row Table. */
static hs_tree_t *s_ns_one (api_req_t *r, const char *name, int64_t created, int64_t rv)
{
    if (api_table_wanted (api_req_header (r, "Accept"))) {
        const char *names[] = {name};
        return api_table_namespaces (names, &created, 1, rv, hs_now_ns ());
    }
    return api_namespace_tree (name, created);
}

/* A namespace watch. Namespaces have no events of their own: the cache
 * counts the objects in each (api_cache_watch_namespaces), and a namespace
 * is ADDED when an object first uses it, DELETED when its last object goes
 * ("default" and "kube-system" never go). */
typedef struct {
    api_req_t *r;
    api_cache_t *cache;
    hs_loop_timer_t *timer;
    api_selector_t *sel;
    api_watcher_t *watcher;
    char **known; /* namespaces the client has as ADDED */
    size_t n_known;
    bool stopped;
} s_nswatch_t;

static void s_nswatch_stop (s_nswatch_t *w)
{
    if (w->stopped) return;
    w->stopped = true;
    api_cache_unwatch (w->cache, &w->watcher);
    hs_loop_timer_free (&w->timer);
}

static void s_nswatch_free (s_nswatch_t *w)
{
    s_nswatch_stop (w);
    api_selector_free (&w->sel);
    for (size_t i = 0; i < w->n_known; i++) free (w->known[i]);
    free (w->known);
    free (w);
}

static void s_nswatch_gone (void *arg)
{
    s_nswatch_free (arg);
}

static void s_nswatch_end (void *arg)
{
    s_nswatch_t *w = arg;
    api_req_t *r = w->r;
    s_nswatch_free (w);
    api_stream_end (r);
}

static bool s_nswatch_find (const s_nswatch_t *w, const char *name, size_t *ret)
{
    for (size_t i = 0; i < w->n_known; i++)
        if (strcmp (w->known[i], name) == 0) {
            *ret = i;
            return true;
        }
    return false;
}

/* One event line; false when the client is gone (its on_close frees). */
static bool s_nswatch_send (s_nswatch_t *w, const char *type, const char *name, int64_t created,
                            int64_t rv)
{
    hs_tree_t *ev = hs_tree_new (HS_TREE_MAP);
    hs_tree_add (ev, "type", s_str (type));
    hs_tree_add (ev, "object", s_ns_one (w->r, name, created, rv));
    char *text = hs_tree_to_text (ev, HS_FMT_JSON | HS_FMT_COMPACT);
    hs_tree_free (ev);
    hs_buf_t b = {0};
    hs_buf_puts (&b, text);
    free (text);
    if (!b.len || b.data[b.len - 1] != '\n') hs_buf_puts (&b, "\n");
    int rc = api_stream_write (w->r, b.data, b.len);
    hs_buf_free (&b);
    if (rc < 0) s_nswatch_stop (w);
    return rc >= 0;
}

/* A namespace's count of objects went 0 -> 1 (added) or 1 -> 0. */
static void s_nswatch_on_ns (void *arg, bool added, const char *ns, int64_t created, int64_t rev)
{
    s_nswatch_t *w = arg;
    if (w->stopped || (w->sel && !api_selector_match_namespace (w->sel, ns))) return;
    size_t k;
    bool known = s_nswatch_find (w, ns, &k);
    if (added) {
        if (known || !s_nswatch_send (w, "ADDED", ns, created, rev)) return;
        hs_pb_push ((void ***)&w->known, &w->n_known, hs_strdup (ns));
        return;
    }
    if (!known || !strcmp (ns, "default") || !strcmp (ns, "kube-system")) return;
    char *name = w->known[k];
    w->known[k] = w->known[--w->n_known];
    s_nswatch_send (w, "DELETED", name, created, rev);
    free (name);
}

/* Takes sel. */
static void s_ns_watch (api_req_t *r, const s_nslist_t *l, int64_t rv, api_selector_t *sel)
{
    const api_query_t *q = api_req_query (r);
    int64_t timeout = S_WATCH_DEFAULT;
    const char *ts = api_query_get (q, "timeoutSeconds");
    if (!hs_empty (ts) && (hs_parse_i64 (ts, &timeout) < 0 || timeout < 0)) {
        api_selector_free (&sel);
        s_reply (r, api_status_fmt (400, "BadRequest", "invalid timeoutSeconds \"%s\"", ts));
        return;
    }
    if (timeout == 0 || timeout > S_WATCH_DEFAULT) timeout = S_WATCH_DEFAULT;
    s_nswatch_t *w = hs_calloc (1, sizeof *w);
    w->r = r;
    w->cache = api_server_cache (api_req_server (r));
    w->sel = sel;
    for (size_t i = 0; i < l->n; i++)
        hs_pb_push ((void ***)&w->known, &w->n_known, hs_strdup (l->names[i]));
    const char *from = api_query_get (q, "resourceVersion");
    api_stream_start (r, 200, "application/json");
    api_req_on_close (r, s_nswatch_gone, w);
    /* From nothing (or "0"): the current ones first; from a revision the
     * client has them from its list. */
    if (hs_empty (from) || strcmp (from, "0") == 0)
        for (size_t i = 0; i < l->n; i++)
            if (!s_nswatch_send (w, "ADDED", l->names[i], l->created[i], rv)) return;
    api_cache_watch_namespaces (w->cache, s_nswatch_on_ns, w, &w->watcher);
    w->timer = hs_loop_timer (api_server_loop (api_req_server (r)),
                              hs_mono_ns () + timeout * 1000000000LL, s_nswatch_end, w);
}

static bool s_dns_label (const char *s)
{
    size_t n = strlen (s);
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-') return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

static void s_ns_create (api_req_t *r, const s_nslist_t *l, int64_t rv)
{
    if (s_forbidden (r, "create", "", "namespaces")) return;
    hs_tree_t *body;
    api_status_t st;
    if (s_body (r, false, &body, &st) < 0) {
        s_reply (r, st);
        return;
    }
    _cleanup_ (hs_tree_freep) hs_tree_t *b = body;
    const char *kind = s_scalar (s_path (b, "kind", NULL));
    const char *av = s_scalar (s_path (b, "apiVersion", NULL));
    if ((kind && strcmp (kind, "Namespace")) || (av && strcmp (av, "v1"))) {
        s_reply (r, api_status_fmt (400, "BadRequest", "the body is a %s %s, not a v1 Namespace",
                                    hs_s (av), hs_s (kind)));
        return;
    }
    const char *name = s_scalar (s_path (b, "metadata", "name"));
    if (hs_empty (name)) {
        api_cause_t cause = {"FieldValueRequired", "metadata.name",
                             "Required value: name or generateName is required"};
        s_reply (r, api_status_new (422, "Invalid",
                                    "Namespace \"\" is invalid: metadata.name: Required value: "
                                    "name or generateName is required",
                                    HS_KIND_NONE, "", &cause, 1));
        return;
    }
    if (!s_dns_label (name)) {
        api_cause_t cause = {"FieldValueInvalid", "metadata.name",
                             "a lowercase RFC 1123 label must consist of lower case "
                             "alphanumeric characters or '-', and must start and end with an "
                             "alphanumeric character"};
        _cleanup_free_ char *msg = hs_sprintf (
            "Namespace \"%s\" is invalid: metadata.name: Invalid value: \"%s\": a lowercase RFC "
            "1123 label must consist of lower case alphanumeric characters or '-', and must start "
            "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used "
            "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
            name, name);
        s_reply (r, api_status_new (422, "Invalid", msg, HS_KIND_NONE, name, &cause, 1));
        return;
    }
    size_t i;
    if (s_ns_find (l, name, &i)) {
        s_reply (r,
                 api_status_fmt (409, "AlreadyExists", "namespaces \"%s\" already exists", name));
        return;
    }
    _cleanup_free_ char *warn = hs_sprintf (
        "Homeostat namespaces exist while objects use them: namespace \"%s\" is accepted, and "
        "listed once an object is created in it",
        name);
    api_req_warn (r, warn);
    s_reply_free (r, 201, s_ns_one (r, name, hs_now_ns (), rv));
}

static void s_namespaces (api_req_t *r)
{
    const api_route_t *rt = api_req_route (r);
    api_method_t m = api_req_method (r);
    api_cache_t *c = api_server_cache (api_req_server (r));
    if (m == API_DELETE) {
        s_reply (r, api_status_fmt (405, "MethodNotAllowed",
                                    "Homeostat has no Namespace objects: a namespace exists while "
                                    "objects use it; delete its objects (kubectl delete all --all "
                                    "-n %s) and it is gone",
                                    hs_empty (rt->name) ? "NAMESPACE" : rt->name));
        return;
    }
    /* namespaces/NAME/status: the namespace itself, read-only. */
    if (!hs_empty (rt->sub) && (m != API_GET || strcmp (rt->sub, "status") != 0)) {
        s_reply (r, s_method_not_allowed ());
        return;
    }
    if (m == API_POST && hs_empty (rt->name) && s_is_protobuf (r)) {
        s_reply (r, s_protobuf_status ());
        return;
    }
    if (!api_cache_synced (c)) {
        s_reply (r, api_status_fmt (503, "ServiceUnavailable",
                                    "the server is starting: its cache is not loaded yet"));
        return;
    }
    int64_t rv = api_cache_rev (c);
    const api_query_t *q = api_req_query (r);
    api_selector_t *sel = NULL;
    api_status_t st;
    bool listing = m == API_GET && hs_empty (rt->name);
    if (listing && api_selector_parse (API_KIND_NAMESPACE, api_query_get (q, "labelSelector"),
                                       api_query_get (q, "fieldSelector"), &sel, &st) < 0) {
        s_reply (r, st);
        return;
    }
    s_nslist_t l;
    s_nslist (r, sel, &l);
    size_t i;
    if (m == API_POST && hs_empty (rt->name))
        s_ns_create (r, &l, rv);
    else if (m != API_GET)
        s_reply (r, s_method_not_allowed ());
    else if (!hs_empty (rt->name)) {
        if (s_ns_find (&l, rt->name, &i))
            s_reply_free (r, 200, s_ns_one (r, rt->name, l.created[i], rv));
        else
            s_reply (r, s_ns_not_found (rt->name));
    } else if (api_query_bool (q, "watch", false)) {
        s_ns_watch (r, &l, rv, sel);
        sel = NULL;
    } else if (api_table_wanted (api_req_header (r, "Accept")))
        s_reply_free (r, 200, api_table_namespaces (l.names, l.created, l.n, rv, hs_now_ns ()));
    else {
        hs_tree_t *t = hs_tree_new (HS_TREE_MAP);
        hs_tree_add (t, "kind", s_str ("NamespaceList"));
        hs_tree_add (t, "apiVersion", s_str ("v1"));
        hs_tree_t *meta = hs_tree_new (HS_TREE_MAP);
        hs_tree_add (meta, "resourceVersion", s_rv (rv));
        hs_tree_add (t, "metadata", meta);
        hs_tree_t *items = hs_tree_new (HS_TREE_SEQ);
        for (size_t k = 0; k < l.n; k++)
            hs_tree_add (items, NULL, api_namespace_tree (l.names[k], l.created[k]));
        hs_tree_add (t, "items", items);
        s_reply_free (r, 200, t);
    }
    api_selector_free (&sel);
    s_nslist_free (&l);
}

/* ------------------------------------------------------------ dispatch */

void api_sub_handle (api_req_t *r)
{
    const api_route_t *rt = api_req_route (r);
    if (rt->kind == API_KIND_NAMESPACE) {
        s_namespaces (r);
        return;
    }
    const char *sub = hs_s (rt->sub);
    if (hs_empty (rt->name)) {
        s_reply (r, api_status_fmt (404, "NotFound",
                                    "the server could not find the requested "
                                    "resource"));
        return;
    }
    if (!strcmp (sub, "scale"))
        s_scale (r);
    else if (!strcmp (sub, "status"))
        s_status (r);
    else if (!strcmp (sub, "log"))
        s_log (r);
    else if (!strcmp (sub, "eviction"))
        s_eviction (r);
    else if (!strcmp (sub, "exec") && rt->kind == HS_KIND_POD)
        s_exec (r);
    else
        s_reply (r, api_status_fmt (404, "NotFound",
                                    "the server could not find the requested "
                                    "resource"));
}
