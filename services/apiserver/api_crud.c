/*  api_crud.c: the verbs on a main resource (api_server.h: api_crud_handle).
 *
 *  Reads (get, list, watch) come from the watch cache (api_cache.c); writes
 *  go to hs-store as the user (api_req_client) with hs_client_send, never
 *  blocking the loop, and answer once the cache has caught up with the
 *  ack's revision (read your writes):
 *
 *    GET    object      JSON, or a one-row Table
 *    GET    collection  a <Kind>List or a Table; labelSelector, fieldSelector;
 *                       `limit` is accepted and ignored (every item, no
 *                       `continue`: the API conventions allow it)
 *    GET    ?watch=1    one JSON event per line; resourceVersion unset or 0:
 *                       ADDED for the current state, then follow; N: replay
 *                       from the cache's ring, or one ERROR 410 Expired
 *    POST               OP_CREATE (201)
 *    PUT                OP_UPDATE, metadata.resourceVersion -> expected_revision
 *    PATCH              read, patch (api_patch_apply), OP_UPDATE with the read's
 *                       revision; retried on Conflict. apply-patch+yaml:
 *                       create or strategic merge, with a Warning
 *    DELETE object      OP_DELETE with DeleteOptions (body or query)
 *    DELETE collection  OP_DELETE of every match, then Status Success
 *
 *  A request whose client goes away (on_close) is only marked: the pending
 *  ack or cache wait frees its context when it comes back.
 */
#include "api_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hs_log.h"
#include "hs_util.h"

#define WRITE_WAIT_MS  5000 /* for the cache to show our own write */
#define PATCH_ATTEMPTS 5
#define PATCH_RETRY_MS 1000

static const char s_ssa_warning[] =
    "server-side apply is create-or-merge in Homeostat: fields removed from the manifest are "
    "not removed and managedFields are not tracked (use client-side kubectl apply to remove "
    "fields)";
static const char s_foreground_warning[] =
    "Foreground cascading deletion is not supported by Homeostat: deleted with Background "
    "propagation (dependents are removed after their owner)";
static const char s_protobuf_message[] =
    "protobuf bodies are not supported by Homeostat; use: kubectl create deployment NAME "
    "--image=IMG --dry-run=client -o yaml | kubectl apply -f -";

/* ------------------------------------------------------------ helpers */

static api_cache_t *s_cache (api_req_t *r)
{
    return api_server_cache (api_req_server (r));
}

static void s_fail (api_req_t *r, api_status_t st)
{
    api_reply_status (r, &st);
}

static void s_reply_tree (api_req_t *r, int http, hs_tree_t *t)
{
    api_reply_tree (r, http, t, NULL);
    hs_tree_free (t);
}

static char *s_text (hs_tree_t *t)
{
    char *s = hs_tree_to_text (t, HS_FMT_JSON | HS_FMT_COMPACT);
    hs_tree_free (t);
    return s;
}

/* A 200 with body's JSON (freed). */
static void s_reply_buf (api_req_t *r, hs_buf_t *body)
{
    api_reply_text (r, 200, body->data ? body->data : "", body->len, "application/json");
    hs_buf_free (body);
}

/* One object's one-row Table as compact JSON (a watch event's object). */
static char *s_table_text (hs_kind_t kind, const Hs__Object *o, api_include_t inc, int64_t rev)
{
    hs_buf_t b = {0};
    api_table_write (&b, kind, &o, 1, inc, rev, hs_now_ns ());
    return hs_buf_take (&b);
}

static api_include_t s_include (const api_query_t *q)
{
    const char *v = api_query_get (q, "includeObject");
    if (v && strcasecmp (v, "None") == 0) return API_INCLUDE_NONE;
    if (v && strcasecmp (v, "Object") == 0) return API_INCLUDE_OBJECT;
    return API_INCLUDE_METADATA;
}

static bool s_wants_table (api_req_t *r)
{
    return api_table_wanted (api_req_header (r, "Accept"));
}

/* fieldValidation: Kubernetes' default is Warn. */
static api_validate_t s_validation (const api_query_t *q)
{
    const char *v = api_query_get (q, "fieldValidation");
    if (v && strcasecmp (v, "Strict") == 0) return API_VALIDATE_STRICT;
    if (v && strcasecmp (v, "Ignore") == 0) return API_VALIDATE_IGNORE;
    return API_VALIDATE_WARN;
}

/* dryRun=All (the only value Kubernetes defines). 0, or -1 after replying. */
static int s_dry_run (api_req_t *r, bool *ret)
{
    const char *v = api_query_get (api_req_query (r), "dryRun");
    *ret = false;
    if (!v || !*v) return 0;
    if (strcmp (v, "All") != 0) {
        s_fail (r, api_status_fmt (400, "BadRequest",
                                   "Invalid dryRun value: \"%s\": supported values: \"All\"", v));
        return -1;
    }
    *ret = true;
    return 0;
}

static bool s_is_protobuf (api_req_t *r)
{
    const char *ct = api_req_header (r, "Content-Type");
    return ct && strstr (ct, "protobuf");
}

/* The body as one JSON/YAML document. 0, or -1 after replying 400. */
static int s_body_tree (api_req_t *r, hs_tree_t **ret)
{
    size_t len = 0;
    const char *body = api_req_body (r, &len);
    hs_tree_t **docs = NULL;
    size_t n = 0;
    char *err = NULL;
    if (hs_yaml_parse (body, len, &docs, &n, &err) < 0) {
        s_fail (r, api_status_fmt (400, "BadRequest", "the request body is not valid JSON: %s",
                                   hs_s (err)));
        free (err);
        return -1;
    }
    if (n != 1 || docs[0]->type != HS_TREE_MAP) {
        hs_trees_free (docs, n);
        s_fail (r, api_status_fmt (400, "BadRequest", "the request body must be one JSON object"));
        return -1;
    }
    *ret = docs[0];
    docs[0] = NULL;
    hs_trees_free (docs, n);
    return 0;
}

static void s_warn_all (api_req_t *r, api_warnings_t *w)
{
    for (size_t i = 0; i < w->n; i++) api_req_warn (r, w->texts[i]);
    api_warnings_free (w);
}

static const char *s_type_name (Hs__EventType t)
{
    switch (t) {
    case HS__EVENT_TYPE__ADDED: return "ADDED";
    case HS__EVENT_TYPE__MODIFIED: return "MODIFIED";
    case HS__EVENT_TYPE__DELETED: return "DELETED";
    default: return "ERROR";
    }
}

static const char *s_ns_of (const Hs__Object *o)
{
    const Hs__ObjectMeta *m = hs_obj_meta (o);
    return m ? hs_s (m->namespace_) : "";
}

static const char *s_name_of (const Hs__Object *o)
{
    const Hs__ObjectMeta *m = hs_obj_meta (o);
    return m ? hs_s (m->name) : "";
}

static int64_t s_rv_of (const Hs__Object *o)
{
    const Hs__ObjectMeta *m = hs_obj_meta (o);
    return m ? m->resource_version : 0;
}

/* ------------------------------------------------------------ get, list */

static void s_get (api_req_t *r, const api_route_t *rt)
{
    api_cache_t *c = s_cache (r);
    const Hs__Object *o = api_cache_get (c, rt->kind, rt->ns, rt->name);
    if (!o) return s_fail (r, api_status_not_found (rt->kind, rt->name));
    if (s_wants_table (r)) {
        hs_buf_t body = {0};
        api_table_write (&body, rt->kind, &o, 1, s_include (api_req_query (r)), api_cache_rev (c),
                         hs_now_ns ());
        return s_reply_buf (r, &body);
    }
    s_reply_tree (r, 200, api_obj_tree (o));
}

/* The selector of a list or watch; a watch or list on a named object
 * (GET /pods/web?watch=1) matches that name. 0, or -1 after replying. */
static int s_selector (api_req_t *r, const api_route_t *rt, api_selector_t **ret)
{
    const api_query_t *q = api_req_query (r);
    const char *fs = api_query_get (q, "fieldSelector");
    char *both = NULL;
    if (!hs_empty (rt->name))
        fs = both = hs_empty (fs) ? hs_sprintf ("metadata.name=%s", rt->name)
                                  : hs_sprintf ("%s,metadata.name=%s", fs, rt->name);
    api_status_t st = {0};
    int rc = api_selector_parse (rt->kind, api_query_get (q, "labelSelector"), fs, ret, &st);
    free (both);
    if (rc < 0) {
        s_fail (r, st);
        return -1;
    }
    return 0;
}

static void s_list (api_req_t *r, const api_route_t *rt)
{
    api_cache_t *c = s_cache (r);
    api_selector_t *sel = NULL;
    if (s_selector (r, rt, &sel) < 0) return;
    const Hs__Object **objs = NULL;
    size_t n = api_cache_list (c, rt->kind, rt->ns, &objs);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (api_selector_match (sel, objs[i])) objs[k++] = objs[i];
    api_selector_free (&sel);
    int64_t rv = api_cache_rev (c);
    /* the direct writers: the same bytes as the trees, a tenth of the
     * CPU (docs §24, "Direct writers") */
    hs_buf_t body = {0};
    if (s_wants_table (r))
        api_table_write (&body, rt->kind, (const Hs__Object *const *)objs, k,
                         s_include (api_req_query (r)), rv, hs_now_ns ());
    else
        api_list_write (&body, rt->kind, (const Hs__Object *const *)objs, k, rv);
    free (objs);
    s_reply_buf (r, &body);
}

/* ------------------------------------------------------------ watch */

/* Each event is rendered once and the line is shared by every watcher that
 * gets it (the cache calls them one after another with the same object):
 * per event type (a selector watch may see a MODIFIED as ADDED or DELETED)
 * and per form: JSON, or a one-row Table per includeObject. The memo is
 * keyed by the object's address, revision, kind and name, which together
 * tell one event from the next. */
#define MEMO_TYPES 4 /* Hs__EventType: NONE, ADDED, MODIFIED, DELETED */
#define MEMO_FORMS 4 /* JSON, then a Table per api_include_t */
static struct {
    const Hs__Object *obj;
    int64_t rev;
    char *ns, *name;
    hs_kind_t kind;
    char *object[MEMO_FORMS];
    char *line[MEMO_TYPES][MEMO_FORMS];
    size_t len[MEMO_TYPES][MEMO_FORMS];
} s_memo;

static void s_memo_reset (void)
{
    free (s_memo.ns);
    free (s_memo.name);
    for (int f = 0; f < MEMO_FORMS; f++) {
        free (s_memo.object[f]);
        for (int t = 0; t < MEMO_TYPES; t++) free (s_memo.line[t][f]);
    }
    memset (&s_memo, 0, sizeof s_memo);
}

/* The event's line ("{"type":…,"object":…}\n"), borrowed until the next
 * event. */
static const char *s_render (Hs__EventType type, const Hs__Object *o, int64_t rev, bool table,
                             api_include_t inc, size_t *ret_len)
{
    hs_kind_t kind = hs_obj_kind (o);
    if (s_memo.obj != o || s_memo.rev != rev || s_memo.kind != kind ||
        !hs_streq (s_memo.ns, s_ns_of (o)) || !hs_streq (s_memo.name, s_name_of (o))) {
        s_memo_reset ();
        s_memo.obj = o;
        s_memo.rev = rev;
        s_memo.kind = kind;
        s_memo.ns = hs_strdup (s_ns_of (o));
        s_memo.name = hs_strdup (s_name_of (o));
    }
    int f = table ? 1 + (int)inc : 0;
    int t = type >= 0 && type < MEMO_TYPES ? (int)type : 0;
    if (!s_memo.line[t][f]) {
        if (!s_memo.object[f])
            s_memo.object[f] = table ? s_table_text (kind, o, inc, rev) : s_text (api_obj_tree (o));
        s_memo.line[t][f] =
            hs_sprintf ("{\"type\":\"%s\",\"object\":%s}\n", s_type_name (type), s_memo.object[f]);
        s_memo.len[t][f] = strlen (s_memo.line[t][f]);
    }
    *ret_len = s_memo.len[t][f];
    return s_memo.line[t][f];
}

/* A sorted set of "ns/name": what a selector watch has told its client
 * about, so an object that stops matching is sent as DELETED. */
typedef struct {
    char **keys;
    size_t n, cap;
} s_keyset_t;

static size_t s_keyset_find (const s_keyset_t *s, const char *key, bool *found)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int d = strcmp (s->keys[mid], key);
        if (d == 0) {
            *found = true;
            return mid;
        }
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static bool s_keyset_has (const s_keyset_t *s, const char *key)
{
    bool found;
    s_keyset_find (s, key, &found);
    return found;
}

static void s_keyset_add (s_keyset_t *s, const char *key)
{
    bool found;
    size_t i = s_keyset_find (s, key, &found);
    if (found) return;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->keys = hs_realloc (s->keys, s->cap * sizeof *s->keys);
    }
    memmove (s->keys + i + 1, s->keys + i, (s->n - i) * sizeof *s->keys);
    s->keys[i] = hs_strdup (key);
    s->n++;
}

static void s_keyset_del (s_keyset_t *s, const char *key)
{
    bool found;
    size_t i = s_keyset_find (s, key, &found);
    if (!found) return;
    free (s->keys[i]);
    memmove (s->keys + i, s->keys + i + 1, (s->n - i - 1) * sizeof *s->keys);
    s->n--;
}

static void s_keyset_free (s_keyset_t *s)
{
    for (size_t i = 0; i < s->n; i++) free (s->keys[i]);
    free (s->keys);
    memset (s, 0, sizeof *s);
}

typedef struct {
    api_req_t *r;
    api_cache_t *cache;
    api_watcher_t *watcher;
    api_selector_t *sel; /* NULL: everything of the kind in the namespace */
    bool filtered;       /* sel was given: track `known` */
    s_keyset_t known;
    bool table;
    api_include_t inc;
    hs_loop_timer_t *timer;
    bool stopped; /* no more writes: unwatched, timer gone */
} s_watch_t;

static void s_watch_stop (s_watch_t *w)
{
    if (w->stopped) return;
    w->stopped = true;
    api_cache_unwatch (w->cache, &w->watcher);
    hs_loop_timer_free (&w->timer);
}

static void s_watch_free (s_watch_t *w)
{
    s_watch_stop (w);
    api_selector_free (&w->sel);
    s_keyset_free (&w->known);
    free (w);
}

static void s_watch_send (s_watch_t *w, Hs__EventType type, const Hs__Object *o, int64_t rev)
{
    if (w->stopped) return;
    size_t len = 0;
    const char *line = s_render (type, o, rev, w->table, w->inc, &len);
    int rc = api_stream_write (w->r, line, len);
    /* The client is gone (or too slow): stop feeding; on_close frees. */
    if (rc < 0) s_watch_stop (w);
}

static void s_watch_on_event (void *arg, Hs__EventType type, const Hs__Object *o, int64_t rev)
{
    s_watch_t *w = arg;
    if (!w->filtered) return s_watch_send (w, type, o, rev);
    char *key = hs_sprintf ("%s/%s", s_ns_of (o), s_name_of (o));
    bool match = api_selector_match (w->sel, o);
    bool known = s_keyset_has (&w->known, key);
    if (type == HS__EVENT_TYPE__DELETED) {
        if (match || known) s_watch_send (w, type, o, rev);
        s_keyset_del (&w->known, key);
    } else if (match) {
        /* Kubernetes: an object that starts matching is ADDED. */
        s_watch_send (w, known ? type : HS__EVENT_TYPE__ADDED, o, rev);
        s_keyset_add (&w->known, key);
    } else if (known) {
        s_watch_send (w, HS__EVENT_TYPE__DELETED, o, rev);
        s_keyset_del (&w->known, key);
    }
    free (key);
}

static void s_watch_on_close (void *arg)
{
    s_watch_free (arg);
}

static void s_watch_on_timeout (void *arg)
{
    s_watch_t *w = arg;
    api_req_t *r = w->r;
    s_watch_free (w);
    api_stream_end (r);
}

static void s_watch (api_req_t *r, const api_route_t *rt)
{
    api_cache_t *c = s_cache (r);
    const api_query_t *q = api_req_query (r);
    const char *rvs = api_query_get (q, "resourceVersion");
    int64_t from = 0;
    if (!hs_empty (rvs) && (hs_parse_i64 (rvs, &from) < 0 || from < 0))
        return s_fail (r,
                       api_status_fmt (400, "BadRequest", "invalid resourceVersion: \"%s\"", rvs));
    int64_t timeout_s = 0;
    const char *ts = api_query_get (q, "timeoutSeconds");
    if (!hs_empty (ts) && (hs_parse_i64 (ts, &timeout_s) < 0 || timeout_s < 0))
        return s_fail (r, api_status_fmt (400, "BadRequest", "invalid timeoutSeconds: \"%s\"", ts));
    if (timeout_s > 7 * 86400) timeout_s = 7 * 86400;

    s_watch_t *w = hs_calloc (1, sizeof *w);
    w->r = r;
    w->cache = c;
    w->table = s_wants_table (r);
    w->inc = s_include (q);
    if (s_selector (r, rt, &w->sel) < 0) {
        free (w);
        return;
    }
    w->filtered = !hs_empty (api_query_get (q, "labelSelector")) ||
                  !hs_empty (api_query_get (q, "fieldSelector")) || !hs_empty (rt->name);

    if (from > 0 && from < api_cache_oldest (c)) {
        /* 410 Expired, as an ERROR event (what clients expect on a watch). */
        api_status_t st = api_status_fmt (410, "Expired", "too old resource version: %lld (%lld)",
                                          (long long)from, (long long)api_cache_oldest (c));
        char *status = hs_tree_to_text (st.tree, HS_FMT_JSON | HS_FMT_COMPACT);
        char *line = hs_sprintf ("{\"type\":\"ERROR\",\"object\":%s}\n", status);
        api_stream_start (r, 200, "application/json");
        api_stream_write (r, line, strlen (line));
        api_stream_end (r);
        free (line);
        free (status);
        api_status_free (&st);
        s_watch_free (w);
        return;
    }

    api_stream_start (r, 200, "application/json");
    api_req_on_close (r, s_watch_on_close, w);
    if (timeout_s > 0)
        w->timer = hs_loop_timer (api_server_loop (api_req_server (r)),
                                  hs_mono_ns () + timeout_s * 1000000000LL, s_watch_on_timeout, w);
    if (from == 0) {
        /* The current state as ADDED, then follow. */
        const Hs__Object **objs = NULL;
        size_t n = api_cache_list (c, rt->kind, rt->ns, &objs);
        for (size_t i = 0; i < n && !w->stopped; i++)
            if (!w->filtered || api_selector_match (w->sel, objs[i]))
                s_watch_on_event (w, HS__EVENT_TYPE__ADDED, objs[i], s_rv_of (objs[i]));
        free (objs);
    } else if (w->filtered) {
        /* The client listed at `from`; what matches now stands in for
         * what it knows (objects that stopped matching since are told as
         * DELETED when they next change). */
        const Hs__Object **objs = NULL;
        size_t n = api_cache_list (c, rt->kind, rt->ns, &objs);
        for (size_t i = 0; i < n; i++)
            if (api_selector_match (w->sel, objs[i])) {
                char *key = hs_sprintf ("%s/%s", s_ns_of (objs[i]), s_name_of (objs[i]));
                s_keyset_add (&w->known, key);
                free (key);
            }
        free (objs);
    }
    if (w->stopped) return; /* on_close frees */
    int rc = api_cache_watch (c, rt->kind, rt->ns, from, s_watch_on_event, w, &w->watcher);
    if (rc == -ERANGE) {
        /* Checked above; a resync in between is the only way here. */
        s_watch_free (w);
        api_stream_end (r);
    }
}

/* ------------------------------------------------------------ writes */

typedef enum { W_CREATE, W_UPDATE, W_PATCH, W_DELETE } s_verb_t;

typedef struct {
    api_req_t *r; /* NULL once the client went away */
    api_cache_t *cache;
    s_verb_t verb;
    api_route_t route; /* strings owned below */
    char *group, *version, *ns, *name;
    bool dry_run;
    int http_ok;
    Hs__Object *sent; /* what we wrote (dry run answer, fallback) */
    Hs__Object *last; /* delete: the last state before it */
    Hs__Result result;
    int64_t result_rv;
    /* patch */
    api_patch_type_t ptype;
    hs_tree_t *patch;
    api_validate_t validate;
    bool patch_has_rv;
    int attempts;
} s_write_t;

static void s_write_free (void *arg)
{
    s_write_t *w = arg;
    if (!w) return;
    free (w->group);
    free (w->version);
    free (w->ns);
    free (w->name);
    hs_pb_free (w->sent);
    hs_pb_free (w->last);
    hs_tree_free (w->patch);
    free (w);
}

static void s_write_on_close (void *arg)
{
    s_write_t *w = arg;
    w->r = NULL;
}

static s_write_t *s_write_new (api_req_t *r, const api_route_t *rt, s_verb_t verb)
{
    s_write_t *w = hs_calloc (1, sizeof *w);
    w->r = r;
    w->cache = s_cache (r);
    w->verb = verb;
    w->route = *rt;
    w->route.group = w->group = hs_strdup (hs_s (rt->group));
    w->route.version = w->version = hs_strdup (hs_s (rt->version));
    w->route.ns = w->ns = hs_strdup (hs_s (rt->ns));
    w->route.name = w->name = hs_strdup (hs_s (rt->name));
    w->route.sub = "";
    w->http_ok = verb == W_CREATE ? 201 : 200;
    api_req_on_close (r, s_write_on_close, w);
    return w;
}

/* Replies (if the client is still there) and frees. */
static void s_write_done_status (s_write_t *w, api_status_t st)
{
    if (w->r)
        api_reply_status (w->r, &st);
    else
        api_status_free (&st);
    s_write_free (w);
}

static void s_write_done_tree (s_write_t *w, int http, hs_tree_t *t)
{
    if (w->r) api_reply_tree (w->r, http, t, NULL);
    hs_tree_free (t);
    s_write_free (w);
}

static void s_on_ack (void *arg, int err, const Hs__Ack *ack);
static void s_patch_try (s_write_t *w);

/* Sends one write (taken) for w. */
static void s_send (s_write_t *w, Hs__Write *wr)
{
    hs_call_opts_t o = {.dry_run = w->dry_run, .free_arg = s_write_free};
    int rc = hs_client_send (api_req_client (w->r), &wr, 1, &o, s_on_ack, w);
    hs_pb_free (wr);
    if (rc < 0)
        s_write_done_status (
            w, api_status_fmt (rc == -EMSGSIZE ? 413 : 500,
                               rc == -EMSGSIZE ? "RequestEntityTooLarge" : "InternalError",
                               "cannot send the write to the store: %s", strerror (-rc)));
}

static void s_on_rev (void *arg, bool reached)
{
    s_write_t *w = arg;
    (void)reached; /* not reached: answer with what we know */
    if (!w->r) return s_write_free (w);
    const Hs__Object *o = api_cache_get (w->cache, w->route.kind, w->ns, w->name);
    if (w->verb == W_DELETE) {
        if (w->result == HS__RESULT__RESULT_DELETING && o)
            return s_write_done_tree (w, 200, api_obj_tree (o));
        if (w->last) return s_write_done_tree (w, 200, api_obj_tree (w->last));
        return s_write_done_tree (w, 200, api_status_success (w->route.kind, w->name, ""));
    }
    if (o && s_rv_of (o) >= w->result_rv)
        return s_write_done_tree (w, w->http_ok, api_obj_tree (o));
    /* Not in the cache yet (or changed and gone since): what we wrote. */
    Hs__ObjectMeta *m = hs_obj_meta (w->sent);
    if (m && w->result_rv) m->resource_version = w->result_rv;
    s_write_done_tree (w, w->http_ok, api_obj_tree (w->sent));
}

static void s_on_patch_retry (void *arg, bool reached)
{
    s_write_t *w = arg;
    (void)reached;
    if (!w->r) return s_write_free (w);
    s_patch_try (w);
}

static void s_on_ack (void *arg, int err, const Hs__Ack *ack)
{
    s_write_t *w = arg;
    if (!w->r) return s_write_free (w);
    if (err < 0 || !ack)
        return s_write_done_status (
            w, api_status_fmt (504, "Timeout",
                               "Timeout: the store did not answer the write in time (%s)",
                               strerror (err < 0 ? -err : ETIMEDOUT)));
    if (ack->code == HS__CODE__CODE_CONFLICT && w->verb == W_PATCH && !w->patch_has_rv &&
        w->attempts < PATCH_ATTEMPTS) {
        /* Someone wrote in between: read again once the cache has it. */
        api_cache_wait_rev (w->cache, ack->revision, PATCH_RETRY_MS, s_on_patch_retry, w);
        return;
    }
    if (ack->code != HS__CODE__CODE_OK)
        return s_write_done_status (w, api_status_from_ack (ack, w->route.kind, w->name));
    if (ack->n_results > 0 && ack->results[0]) {
        const Hs__WriteResult *res = ack->results[0];
        w->result = res->result;
        w->result_rv = res->resource_version;
        if (!hs_empty (res->name) && !hs_streq (res->name, w->name)) {
            free (w->name); /* generateName */
            w->route.name = w->name = hs_strdup (res->name);
        }
        Hs__ObjectMeta *m = hs_obj_meta (w->sent);
        if (m) {
            if (hs_empty (m->name)) hs_pb_set_str (&m->name, res->name);
            if (hs_empty (m->uid)) hs_pb_set_str (&m->uid, res->uid);
        }
    }
    if (w->dry_run) {
        if (w->verb == W_DELETE)
            return s_write_done_tree (w, 200,
                                      w->last ? api_obj_tree (w->last)
                                              : api_status_success (w->route.kind, w->name, ""));
        return s_write_done_tree (w, w->http_ok, api_obj_tree (w->sent));
    }
    if (w->verb == W_PATCH && w->result == HS__RESULT__RESULT_CREATED) w->http_ok = 201;
    api_cache_wait_rev (w->cache, ack->revision, WRITE_WAIT_MS, s_on_rev, w);
}

/* Sends obj (taken) with op for w. */
static void s_send_obj (s_write_t *w, Hs__Op op, Hs__Object *obj, int64_t expected_rev)
{
    hs_pb_free (w->sent);
    w->sent = hs_pb_dup (obj);
    Hs__Write *wr = hs_write_new (op, obj);
    wr->expected_revision = expected_rev;
    s_send (w, wr);
}

static bool s_collection_ok (api_req_t *r, const api_route_t *rt)
{
    const hs_kind_info_t *ki = hs_kind_info (rt->kind);
    if (ki && ki->namespaced && hs_empty (rt->ns)) {
        s_fail (r, api_status_fmt (405, "MethodNotAllowed",
                                   "the server does not allow this method on the requested "
                                   "resource"));
        return false;
    }
    return true;
}

/* create (POST) and update (PUT) */
static void s_create_update (api_req_t *r, const api_route_t *rt, s_verb_t verb)
{
    if (!s_collection_ok (r, rt)) return;
    if (s_is_protobuf (r))
        return s_fail (r, api_status_fmt (415, "UnsupportedMediaType", "%s", s_protobuf_message));
    bool dry = false;
    if (s_dry_run (r, &dry) < 0) return;
    hs_tree_t *body = NULL;
    if (s_body_tree (r, &body) < 0) return;
    Hs__Object *obj = NULL;
    api_warnings_t warns = {0};
    api_status_t st = {0};
    int rc = api_obj_from_tree (rt, body, s_validation (api_req_query (r)), &obj, &warns, &st);
    hs_tree_free (body);
    s_warn_all (r, &warns);
    if (rc < 0) return s_fail (r, st);
    Hs__ObjectMeta *m = hs_obj_meta (obj);
    if (verb == W_UPDATE && (!m || !hs_streq (m->name, rt->name))) {
        s_fail (r, api_status_fmt (400, "BadRequest",
                                   "the name of the object (%s) does not match the name on the "
                                   "URL (%s)",
                                   m ? hs_s (m->name) : "", rt->name));
        hs_pb_free (obj);
        return;
    }
    if (verb == W_CREATE && m && hs_empty (m->name) && hs_empty (m->generate_name)) {
        hs_pb_free (obj);
        api_cause_t cause = {"FieldValueRequired", "metadata.name",
                             "Required value: name or generateName is required"};
        const hs_kind_info_t *ki = hs_kind_info (rt->kind);
        char *msg = hs_sprintf ("%s%s%s \"\" is invalid: metadata.name: Required value: name or "
                                "generateName is required",
                                ki->kind_name, hs_empty (ki->group) ? "" : ".", ki->group);
        api_status_t inv = api_status_new (422, "Invalid", msg, rt->kind, "", &cause, 1);
        free (msg);
        return s_fail (r, inv);
    }
    s_write_t *w = s_write_new (r, rt, verb);
    w->dry_run = dry;
    if (verb == W_CREATE && m) {
        free (w->name);
        w->route.name = w->name = hs_strdup (hs_s (m->name));
    }
    int64_t expected = verb == W_UPDATE && m ? m->resource_version : 0;
    s_send_obj (w, verb == W_CREATE ? HS__OP__OP_CREATE : HS__OP__OP_UPDATE, obj, expected);
}

/* ------------------------------------------------------------ patch */

static bool s_tree_has_rv (const hs_tree_t *t)
{
    const hs_tree_t *m = t ? hs_tree_get (t, "metadata") : NULL;
    const hs_tree_t *rv = m && m->type == HS_TREE_MAP ? hs_tree_get (m, "resourceVersion") : NULL;
    return rv && rv->type == HS_TREE_SCALAR && !hs_empty (rv->scalar);
}

/* One read-patch-write round (again after a Conflict). */
static void s_patch_try (s_write_t *w)
{
    w->attempts++;
    const Hs__Object *live = api_cache_get (w->cache, w->route.kind, w->ns, w->name);
    Hs__Object *obj = NULL;
    api_warnings_t warns = {0};
    api_status_t st = {0};
    if (!live) {
        if (w->ptype != API_PATCH_APPLY)
            return s_write_done_status (w, api_status_not_found (w->route.kind, w->name));
        /* Server-side apply of a missing object creates it. */
        if (api_obj_from_tree (&w->route, w->patch, w->validate, &obj, &warns, &st) < 0) {
            s_warn_all (w->r, &warns);
            return s_write_done_status (w, st);
        }
        s_warn_all (w->r, &warns);
        w->http_ok = 201;
        return s_send_obj (w, HS__OP__OP_CREATE, obj, 0);
    }
    hs_tree_t *live_tree = api_obj_tree (live);
    hs_tree_t *patched = NULL;
    char *err = NULL;
    int rc = api_patch_apply (w->ptype, w->route.kind, live_tree, w->patch, &patched, &err);
    hs_tree_free (live_tree);
    if (rc == API_PATCH_EAPPLY) {
        /* A JSON patch that does not apply: kube-apiserver's 422. */
        api_cause_t cause = {"UnexpectedServerResponse", "", hs_s (err)};
        api_status_t st422 = api_status_new (
            422, "Invalid", "the server rejected our request due to an error in our request",
            w->route.kind, w->name, &cause, 1);
        free (err);
        return s_write_done_status (w, st422);
    }
    if (rc < 0) {
        api_status_t bad = api_status_fmt (400, "BadRequest", "%s", hs_s (err));
        free (err);
        return s_write_done_status (w, bad);
    }
    rc = api_obj_from_tree (&w->route, patched, w->validate, &obj, &warns, &st);
    hs_tree_free (patched);
    /* Warnings only once, not on every retry. */
    if (w->attempts == 1)
        s_warn_all (w->r, &warns);
    else
        api_warnings_free (&warns);
    if (rc < 0) return s_write_done_status (w, st);
    Hs__ObjectMeta *m = hs_obj_meta (obj);
    /* A resourceVersion in the patch is the client's precondition; else
     * the version we read. */
    int64_t expected = w->patch_has_rv && m ? m->resource_version : s_rv_of (live);
    s_send_obj (w, HS__OP__OP_UPDATE, obj, expected);
}

static void s_patch (api_req_t *r, const api_route_t *rt)
{
    int type = api_patch_type (api_req_header (r, "Content-Type"));
    if (type < 0)
        return s_fail (r, api_status_fmt (415, "UnsupportedMediaType",
                                          "the body of the request was in an unknown format - "
                                          "accepted media types include: "
                                          "application/json-patch+json, "
                                          "application/merge-patch+json, "
                                          "application/apply-patch+yaml, "
                                          "application/strategic-merge-patch+json"));
    bool dry = false;
    if (s_dry_run (r, &dry) < 0) return;
    size_t len = 0;
    const char *body = api_req_body (r, &len);
    hs_tree_t **docs = NULL;
    size_t n = 0;
    char *err = NULL;
    if (hs_yaml_parse (body, len, &docs, &n, &err) < 0 || n != 1) {
        s_fail (r, api_status_fmt (400, "BadRequest", "the patch is not valid %s: %s",
                                   type == API_PATCH_APPLY ? "YAML" : "JSON",
                                   err ? err : "expected one document"));
        free (err);
        hs_trees_free (docs, n);
        return;
    }
    s_write_t *w = s_write_new (r, rt, W_PATCH);
    w->dry_run = dry;
    w->ptype = (api_patch_type_t)type;
    w->patch = docs[0];
    docs[0] = NULL;
    hs_trees_free (docs, n);
    w->validate = s_validation (api_req_query (r));
    w->patch_has_rv = w->ptype != API_PATCH_JSON && s_tree_has_rv (w->patch);
    if (w->ptype == API_PATCH_APPLY) api_req_warn (r, s_ssa_warning);
    s_patch_try (w);
}

/* ------------------------------------------------------------ delete */

typedef struct {
    bool has_grace;
    int64_t grace;
    char policy[32];
    char uid[128];
    int64_t rv;
    bool dry_run;
} s_delopts_t;

/* DeleteOptions from the body (kubectl) and the query (python). 0, or -1
 * after replying. */
static int s_delete_options (api_req_t *r, s_delopts_t *o)
{
    memset (o, 0, sizeof *o);
    if (s_dry_run (r, &o->dry_run) < 0) return -1;
    const api_query_t *q = api_req_query (r);
    const char *v;
    if ((v = api_query_get (q, "gracePeriodSeconds")) && *v) {
        if (hs_parse_i64 (v, &o->grace) < 0 || o->grace < 0) {
            s_fail (r, api_status_fmt (400, "BadRequest", "invalid gracePeriodSeconds: \"%s\"", v));
            return -1;
        }
        o->has_grace = true;
    }
    if ((v = api_query_get (q, "propagationPolicy")))
        snprintf (o->policy, sizeof o->policy, "%s", v);
    if (api_query_bool (q, "orphanDependents", false))
        snprintf (o->policy, sizeof o->policy, "Orphan");

    size_t len = 0;
    (void)api_req_body (r, &len);
    if (len == 0) return 0;
    if (s_is_protobuf (r)) {
        s_fail (r, api_status_fmt (415, "UnsupportedMediaType", "%s", s_protobuf_message));
        return -1;
    }
    hs_tree_t **docs = NULL;
    size_t n = 0;
    char *err = NULL;
    if (hs_yaml_parse (api_req_body (r, NULL), len, &docs, &n, &err) < 0 || n > 1 ||
        (n == 1 && docs[0]->type != HS_TREE_MAP && docs[0]->type != HS_TREE_NULL)) {
        s_fail (r, api_status_fmt (400, "BadRequest", "the DeleteOptions body is not valid: %s",
                                   err ? err : "expected one JSON object"));
        free (err);
        hs_trees_free (docs, n);
        return -1;
    }
    hs_tree_t *t = n == 1 && docs[0]->type == HS_TREE_MAP ? docs[0] : NULL;
    if (t) docs[0] = NULL;
    hs_trees_free (docs, n);
    if (!t) return 0;
    const hs_tree_t *f;
    int rc = 0;
    if ((f = hs_tree_get (t, "gracePeriodSeconds")) && f->type == HS_TREE_SCALAR) {
        if (hs_parse_i64 (f->scalar, &o->grace) < 0 || o->grace < 0) {
            s_fail (r, api_status_fmt (400, "BadRequest", "invalid gracePeriodSeconds: \"%s\"",
                                       f->scalar));
            rc = -1;
            goto out;
        }
        o->has_grace = true;
    }
    if ((f = hs_tree_get (t, "propagationPolicy")) && f->type == HS_TREE_SCALAR)
        snprintf (o->policy, sizeof o->policy, "%s", f->scalar);
    if ((f = hs_tree_get (t, "orphanDependents")) && f->type == HS_TREE_SCALAR &&
        strcasecmp (f->scalar, "true") == 0)
        snprintf (o->policy, sizeof o->policy, "Orphan");
    if ((f = hs_tree_get (t, "dryRun")) && f->type == HS_TREE_SEQ)
        for (size_t i = 0; i < f->n; i++)
            if (f->items[i]->type == HS_TREE_SCALAR && hs_streq (f->items[i]->scalar, "All"))
                o->dry_run = true;
    const hs_tree_t *pre = hs_tree_get (t, "preconditions");
    if (pre && pre->type == HS_TREE_MAP) {
        if ((f = hs_tree_get (pre, "uid")) && f->type == HS_TREE_SCALAR)
            snprintf (o->uid, sizeof o->uid, "%s", f->scalar);
        if ((f = hs_tree_get (pre, "resourceVersion")) && f->type == HS_TREE_SCALAR &&
            !hs_empty (f->scalar) && (hs_parse_i64 (f->scalar, &o->rv) < 0 || o->rv < 0)) {
            s_fail (r, api_status_fmt (400, "BadRequest",
                                       "invalid preconditions.resourceVersion: \"%s\"", f->scalar));
            rc = -1;
            goto out;
        }
    }
out:
    hs_tree_free (t);
    return rc;
}

/* The policy to send (warning for Foreground); -1 after replying 400. */
static int s_policy (api_req_t *r, const s_delopts_t *o, const char **ret)
{
    if (!o->policy[0] || strcmp (o->policy, "Background") == 0) {
        *ret = "Background";
    } else if (strcmp (o->policy, "Orphan") == 0) {
        *ret = "Orphan";
    } else if (strcmp (o->policy, "Foreground") == 0) {
        api_req_warn (r, s_foreground_warning);
        *ret = "Background";
    } else {
        s_fail (r, api_status_fmt (400, "BadRequest",
                                   "Unsupported value: \"%s\": supported values: \"Orphan\", "
                                   "\"Background\", \"Foreground\"",
                                   o->policy));
        return -1;
    }
    return 0;
}

static Hs__Write *s_delete_write (hs_kind_t kind, const char *ns, const char *name,
                                  const s_delopts_t *o, const char *policy)
{
    const hs_kind_info_t *ki = hs_kind_info (kind);
    Hs__Write *wr = hs_write_target (HS__OP__OP_DELETE, kind, ki->namespaced ? ns : "", name);
    if (o->has_grace) {
        wr->grace_period_seconds = hs_pb_new (&hs__int64_value__descriptor);
        wr->grace_period_seconds->value = o->grace;
    }
    hs_pb_set_str (&wr->propagation_policy, policy);
    if (o->uid[0]) hs_pb_set_str (&wr->expected_uid, o->uid);
    wr->expected_revision = o->rv;
    return wr;
}

static void s_delete (api_req_t *r, const api_route_t *rt)
{
    s_delopts_t o;
    const char *policy;
    if (s_delete_options (r, &o) < 0 || s_policy (r, &o, &policy) < 0) return;
    s_write_t *w = s_write_new (r, rt, W_DELETE);
    w->dry_run = o.dry_run;
    const Hs__Object *live = api_cache_get (w->cache, rt->kind, rt->ns, rt->name);
    if (live) w->last = hs_pb_dup (live);
    s_send (w, s_delete_write (rt->kind, rt->ns, rt->name, &o, policy));
}

/* deletecollection: every match deleted on its own (one failing must not
 * stop the others), then Status Success or the first failure. */
typedef struct {
    api_req_t *r;
    hs_kind_t kind;
    int refs; /* the request's own + one per write in flight */
    api_status_t failure;
    bool failed;
} s_coll_t;

static void s_coll_unref (void *arg)
{
    s_coll_t *c = arg;
    if (--c->refs > 0) return;
    if (c->r) {
        if (c->failed)
            api_reply_status (c->r, &c->failure);
        else {
            hs_tree_t *t = api_status_success (c->kind, "", "");
            api_reply_tree (c->r, 200, t, NULL);
            hs_tree_free (t);
        }
    } else if (c->failed) {
        api_status_free (&c->failure);
    }
    free (c);
}

static void s_coll_on_close (void *arg)
{
    ((s_coll_t *)arg)->r = NULL;
}

static void s_coll_on_ack (void *arg, int err, const Hs__Ack *ack)
{
    s_coll_t *c = arg;
    bool ok = err == 0 && ack &&
              (ack->code == HS__CODE__CODE_OK || ack->code == HS__CODE__CODE_NOT_FOUND);
    if (!ok && !c->failed) {
        c->failed = true;
        c->failure = ack ? api_status_from_ack (ack, c->kind, "")
                         : api_status_fmt (504, "Timeout",
                                           "Timeout: the store did not answer a delete in time");
    }
    s_coll_unref (c);
}

static void s_delete_collection (api_req_t *r, const api_route_t *rt)
{
    s_delopts_t o;
    const char *policy;
    if (s_delete_options (r, &o) < 0 || s_policy (r, &o, &policy) < 0) return;
    api_selector_t *sel = NULL;
    if (s_selector (r, rt, &sel) < 0) return;
    s_coll_t *c = hs_calloc (1, sizeof *c);
    c->r = r;
    c->kind = rt->kind;
    c->refs = 1;
    api_req_on_close (r, s_coll_on_close, c);
    const Hs__Object **objs = NULL;
    size_t n = api_cache_list (s_cache (r), rt->kind, rt->ns, &objs);
    hs_call_opts_t opts = {.dry_run = o.dry_run, .free_arg = s_coll_unref};
    for (size_t i = 0; i < n; i++) {
        if (!api_selector_match (sel, objs[i])) continue;
        Hs__Write *wr =
            s_delete_write (rt->kind, s_ns_of (objs[i]), s_name_of (objs[i]), &o, policy);
        c->refs++;
        if (hs_client_send (api_req_client (r), &wr, 1, &opts, s_coll_on_ack, c) < 0) c->refs--;
        hs_pb_free (wr);
    }
    free (objs);
    api_selector_free (&sel);
    s_coll_unref (c);
}

/* ------------------------------------------------------------ dispatch */

/* Whether identity may use verb on rt: a read-only identity (tap:<user>)
 * may not write (hs-bus would drop its command silently, role tap publishes
 * nothing, and the request would only time out), and may not read Secrets:
 * Kubernetes' `view` role, which tap stands for, leaves them out (docs §24,
 * "Read-only users and Secrets"). Anyone else may. */
static bool s_allowed (const char *who, hs_kind_t kind, const char *verb)
{
    if (who && !hs_startswith (who, "tap:")) return true;
    bool read = !strcmp (verb, "get") || !strcmp (verb, "list") || !strcmp (verb, "watch");
    return read && kind != HS_KIND_SECRET;
}

/* true after answering 403 Forbidden in Kubernetes' words when the
 * request's identity may not use verb on rt. */
static bool s_forbidden (api_req_t *r, const api_route_t *rt, const char *verb)
{
    const char *who = api_req_identity (r);
    if (s_allowed (who, rt->kind, verb)) return false;
    const hs_kind_info_t *ki = hs_kind_info (rt->kind);
    char *what = hs_empty (rt->name) ? hs_sprintf ("%s", ki->plural)
                                     : hs_sprintf ("%s \"%s\"", ki->plural, rt->name);
    char *where = hs_empty (rt->ns) ? hs_strdup ("at the cluster scope")
                                    : hs_sprintf ("in the namespace \"%s\"", rt->ns);
    api_status_t st = api_status_fmt (403, "Forbidden",
                                      "%s is forbidden: User \"%s\" cannot %s resource \"%s\" "
                                      "in API group \"%s\" %s",
                                      what, hs_s (who), verb, ki->plural, ki->group, where);
    free (what);
    free (where);
    s_fail (r, st);
    return true;
}

void api_crud_handle (api_req_t *r)
{
    const api_route_t *rt = api_req_route (r);
    api_method_t m = api_req_method (r);
    bool named = !hs_empty (rt->name);
    if (m == API_GET && !api_cache_synced (s_cache (r)))
        return s_fail (r, api_status_fmt (503, "ServiceUnavailable",
                                          "the gateway's watch cache is not synced with the store "
                                          "yet"));
    bool watch = m == API_GET && api_query_bool (api_req_query (r), "watch", false);
    static const char *const verbs[] = {[API_GET] = "get",
                                        [API_POST] = "create",
                                        [API_PUT] = "update",
                                        [API_PATCH] = "patch",
                                        [API_DELETE] = "delete"};
    const char *verb = m < API_METHOD_OTHER ? verbs[m] : NULL;
    if (watch)
        verb = "watch";
    else if (m == API_GET && !named)
        verb = "list";
    else if (m == API_DELETE && !named)
        verb = "deletecollection";
    if (verb && s_forbidden (r, rt, verb)) return;
    switch (m) {
    case API_GET:
        if (watch) return s_watch (r, rt);
        return named ? s_get (r, rt) : s_list (r, rt);
    case API_POST:
        if (!named) return s_create_update (r, rt, W_CREATE);
        break;
    case API_PUT:
        if (named) return s_create_update (r, rt, W_UPDATE);
        break;
    case API_PATCH:
        if (named && s_collection_ok (r, rt)) return s_patch (r, rt);
        if (named) return;
        break;
    case API_DELETE:
        if (!s_collection_ok (r, rt)) return;
        return named ? s_delete (r, rt) : s_delete_collection (r, rt);
    default: break;
    }
    s_fail (r, api_status_fmt (405, "MethodNotAllowed",
                               "the server does not allow this method on the requested resource"));
}
