/*  api_server.h: hs-apiserver's daemon side, shared by api_http.c (the
 *  server), api_crud.c and api_sub.c (the handlers) and api_cache.c.
 *
 *  One thread: libmicrohttpd runs on the daemon's hs_loop (its epoll
 *  descriptor is a loop source), so handlers, bus callbacks and cache
 *  events never race. A handler that must wait (an ack, the cache catching
 *  up, a stream) returns and answers later: the request stays alive until
 *  exactly one api_reply_* or api_stream_end, or until the client goes away
 *  (the on_close hook runs; replying after that is a no-op).
 */
#ifndef HS_API_SERVER_H
#define HS_API_SERVER_H

#include "api.h"
#include "hs_client.h"
#include "hs_loop.h"

typedef struct api_server api_server_t;
typedef struct api_req api_req_t;
typedef struct api_cache api_cache_t;

/* ------------------------------------------------------------ a request */

api_method_t api_req_method (api_req_t *r);
const api_route_t *api_req_route (api_req_t *r);
const api_query_t *api_req_query (api_req_t *r);
/* A request header (case-insensitive name), or NULL. */
const char *api_req_header (api_req_t *r, const char *name);
/* The whole body (NUL-terminated; len may be NULL); "" when none. */
const char *api_req_body (api_req_t *r, size_t *len);
/* Who is asking, as the bus knows them: "admin:alice", "tap:bob". */
const char *api_req_identity (api_req_t *r);
/* The bus connection acting as that identity (the gateway never writes as
 * itself). Borrowed; valid until the request ends. */
hs_client_t *api_req_client (api_req_t *r);
api_server_t *api_req_server (api_req_t *r);

/* Runs fn once if the client disconnects before the request ended (watches,
 * log streams: stop feeding). After it, replies are no-ops. */
void api_req_on_close (api_req_t *r, void (*fn) (void *arg), void *arg);
/* Adds a `Warning: 299 - "text"` header to the reply (before it is sent). */
void api_req_warn (api_req_t *r, const char *text);

/* ------------------------------------------------------------ answers
 * Exactly one per request. Each takes nothing it is given (copies). */

/* body as compact JSON; content_type NULL means "application/json". */
void api_reply_tree (api_req_t *r, int http, const hs_tree_t *body, const char *content_type);
/* A Status error (frees *st). */
void api_reply_status (api_req_t *r, api_status_t *st);
void api_reply_text (api_req_t *r, int http, const char *text, size_t len,
                     const char *content_type);

/* A chunked stream (watch: "application/json", one event per line; logs:
 * "text/plain"). Each write is flushed to the client as one chunk. */
void api_stream_start (api_req_t *r, int http, const char *content_type);
/* 0, or -EPIPE when the client is gone (stop writing; on_close has run or
 * will). Over a bound of unsent bytes (API_STREAM_MAX_QUEUED) the stream
 * is ended: a slow watcher must relist, it may not hold the gateway's
 * memory. */
int api_stream_write (api_req_t *r, const char *data, size_t len);
void api_stream_end (api_req_t *r);
#define API_STREAM_MAX_QUEUED (64u << 20)

/* ------------------------------------------------------------ the server */

api_cache_t *api_server_cache (api_server_t *s);
hs_loop_t *api_server_loop (api_server_t *s);
/* The gateway's own connection (sa:apiserver): the cache's watch; never
 * used for writes. */
hs_client_t *api_server_client (api_server_t *s);

/* (Additive, issue 18.) The latest usage of each node (hs_usage.h), which
 * api_main.c fills from `usage.` (api_metrics_follow); NULL: none kept.
 * The server takes nothing. */
typedef struct hs_usage_table hs_usage_table_t;
void api_server_set_usage (api_server_t *s, hs_usage_table_t *usage);
hs_usage_table_t *api_server_usage (api_server_t *s);
/* Follows `usage.` on client into table (api_metrics_serve.c): samples
 * whose topic does not name their node are refused, counted
 * (hs_usage_table_refused), logged once. 0 or -errno. */
int api_metrics_follow (hs_client_t *client, hs_usage_table_t *table);
/* metrics.k8s.io requests, called by api_http.c for API_PATH_METRICS. */
void api_metrics_handle (api_req_t *r);

/* Handlers, called by api_http.c for API_PATH_RESOURCE: api_sub_handle when
 * route->sub is set or the kind is API_KIND_NAMESPACE, else api_crud_handle. */
void api_crud_handle (api_req_t *r);
void api_sub_handle (api_req_t *r);

/* ------------------------------------------------------------ the cache (api_cache.c) */

/* Every kind, through hs_client_watch on the gateway's own connection, plus
 * a ring of the last `ring` events for resourceVersion replay. */
api_cache_t *api_cache_new (hs_client_t *client, size_t ring);
void api_cache_destroy (api_cache_t **c);
bool api_cache_synced (api_cache_t *c);
/* The store revision the cache reflects (a list's resourceVersion). */
int64_t api_cache_rev (api_cache_t *c);
/* Borrowed until the loop runs again. */
const Hs__Object *api_cache_get (api_cache_t *c, hs_kind_t kind, const char *ns, const char *name);
/* Objects of kind in ns ("" = all), sorted by namespace, name. *ret is a
 * malloc'd array of borrowed pointers (free the array). */
size_t api_cache_list (api_cache_t *c, hs_kind_t kind, const char *ns, const Hs__Object ***ret);
/* Namespaces in use (sorted, "default" and "kube-system" always), with the
 * earliest creation time of an object in each since it was last empty
 * (counted per event: no scan). Arrays malloc'd; names
 * borrowed until the loop runs. */
size_t api_cache_namespaces (api_cache_t *c, const char ***ret_names, int64_t **ret_created);

/* Watchers. fn gets each change of kind (in ns; "" = all) with its revision;
 * obj is borrowed for the call (DELETED: the last state). */
typedef struct api_watcher api_watcher_t;
typedef void (api_watch_fn) (void *arg, Hs__EventType type, const Hs__Object *obj, int64_t rev);
/* from_rev > 0: replays, at once, the ring's events newer than from_rev;
 * -ERANGE when from_rev is older than the ring holds (410 Expired: the
 * message names both revisions, see api_cache_oldest). from_rev 0: no
 * replay (the caller sends ADDED for the current state itself). */
int api_cache_watch (api_cache_t *c, hs_kind_t kind, const char *ns, int64_t from_rev,
                     api_watch_fn *fn, void *arg, api_watcher_t **ret);
/* (Additive: fix-cache.) Namespace watchers: fn hears of a namespace when
 * its count of objects goes 0 -> 1 (added, before that object's own event)
 * or 1 -> 0 (!added, after it); created as api_cache_namespaces gives it.
 * No replay. Ended with api_cache_unwatch. */
typedef void (api_ns_watch_fn) (void *arg, bool added, const char *ns, int64_t created,
                                int64_t rev);
int api_cache_watch_namespaces (api_cache_t *c, api_ns_watch_fn *fn, void *arg,
                                api_watcher_t **ret);
void api_cache_unwatch (api_cache_t *c, api_watcher_t **w);
/* The oldest revision a watch may start from. */
int64_t api_cache_oldest (api_cache_t *c);
/* (Additive: fix-cache.) Bounds the ring by the sum of its events' packed
 * sizes as well as by count (0: the default, 256 MiB); the oldest events
 * leave first and raise api_cache_oldest. */
void api_cache_set_ring_bytes (api_cache_t *c, size_t bytes);
/* Calls fn (reached true) once the cache has reached rev, or (false) after
 * timeout_ms: read-your-writes for the answer to a write. */
typedef void (api_rev_fn) (void *arg, bool reached);
void api_cache_wait_rev (api_cache_t *c, int64_t rev, int timeout_ms, api_rev_fn *fn, void *arg);

#endif
