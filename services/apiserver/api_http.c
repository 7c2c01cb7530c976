/*  api_http.c: hs-apiserver's HTTP(S) side (api_http.h, api_server.h).
 *
 *  libmicrohttpd without threads of its own: each listener is an MHD daemon
 *  with MHD_USE_EPOLL, whose epoll descriptor is a level-triggered source
 *  on our loop, and whose next timeout (MHD_get_timeout) arms a loop timer;
 *  both run MHD_run. So handlers, bus callbacks and cache events all run on
 *  the one thread and never race.
 *
 *  A request: the URI callback allocates it (and keeps the raw query
 *  string: MHD's own argument parsing does not read '+' as a space); the
 *  first access-handler call copies the headers and refuses early what can
 *  be refused on headers alone (413 on Content-Length, 415 on a protobuf
 *  body); then the body is collected (at most API_MAX_BODY; more is read
 *  and dropped, then 413); then it is dispatched. A handler that answers
 *  later leaves the connection suspended; its answer resumes it and MHD
 *  calls the access handler again, which queues the answer. Streams are
 *  chunked responses whose reader suspends the connection while the queue
 *  is empty; a write resumes it.
 *
 *  A suspended connection is not watched by MHD at all, so a client that
 *  goes away would go unnoticed until the next write: while suspended, the
 *  socket is watched for EPOLLRDHUP on our loop, which ends the request
 *  and runs its on_close hook. The request's memory lives until both MHD
 *  is done with the connection and the handler is done with the request
 *  (an answer, api_stream_end, or its on_close hook has run), so a handler
 *  may still answer a request whose client left: a no-op.
 */
#include "api_http.h"
#include "hs_log.h"
#include "hs_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/types.h>
#include <sys/socket.h>

#define MAX_LISTENERS   2
#define IDLE_TIMEOUT_S  120 /* an idle keep-alive connection */
#define STREAM_CHUNK    (64u << 10)
#define STREAM_RERUN_NS (1000000LL) /* 1 ms */
#define PROTOBUF_CT     "application/vnd.kubernetes.protobuf"
#define PROTOBUF_MSG                                                                               \
    "protobuf bodies are not supported by Homeostat; use: kubectl create deployment NAME "         \
    "--image=IMG --dry-run=client -o yaml | kubectl apply -f -"

typedef struct {
    api_server_t *srv;
    struct MHD_Daemon *d;
    hs_loop_io_t *io;
    hs_loop_timer_t *timer;
    bool tls;
} s_listener_t;

typedef struct s_chunk {
    struct s_chunk *next;
    size_t len, off;
    char data[];
} s_chunk_t;

struct api_req {
    api_server_t *srv;
    s_listener_t *lis;
    struct MHD_Connection *conn;
    char *raw_uri;
    api_method_t method;
    api_route_t route;
    char *route_buf;
    api_query_t query;
    char **hkeys, **hvals;
    size_t nh;
    hs_buf_t body;
    bool too_large;
    bool too_busy; /* API_BODIES_MAX reached: 429 */
    bool joining;  /* waiting for the user's bus connection (api_user_wait) */
    api_user_t *user;
    void (*on_close) (void *arg);
    void *close_arg;
    char **warnings;
    size_t n_warnings;

    bool started;        /* headers seen */
    bool dispatched;     /* the handler has it */
    bool in_handler;     /* inside the access handler: it queues the answer */
    bool suspended;      /* MHD suspended it, waiting for us */
    bool done;           /* the handler is done: answered, ended, or told it closed */
    bool closed;         /* the client is gone (or the stream was cut): answers are no-ops */
    bool close_notified; /* on_close ran */
    bool completed;      /* MHD is done with the connection */
    struct MHD_Response *resp;
    unsigned resp_code;
    hs_loop_io_t *hup; /* EPOLLRDHUP from the first suspension on */

    bool streaming, stream_ended;
    s_chunk_t *q_head, *q_tail;
    size_t queued;

    api_req_t *prev, *next;
};

struct api_server {
    hs_loop_t *loop;
    api_cache_t *cache;
    hs_client_t *client;
    api_auth_t *auth;
    s_listener_t lis[MAX_LISTENERS];
    size_t n_lis;
    char *cert_pem, *key_pem, *ca_pem;
    api_req_t *reqs;
    size_t queued; /* unsent stream bytes, all streams */
    size_t bodies; /* bytes of request bodies held, all requests */
    bool stopping;
};

/* ------------------------------------------------------------ the loop */

static void s_run (s_listener_t *l)
{
    MHD_run (l->d);
    MHD_UNSIGNED_LONG_LONG ms = 0;
    int64_t at = HS_NEVER;
    if (MHD_get_timeout (l->d, &ms) == MHD_YES)
        at = hs_mono_ns () + (int64_t)(ms > 3600000 ? 3600000 : ms) * 1000000LL;
    /* Streams with data queued: MHD sends a chunk per connection per run
     * and, on a socket that stayed writable, sees no new epoll edge to
     * run again: come back soon while anything is unsent. */
    if (l->srv->queued > 0 && at > hs_mono_ns () + STREAM_RERUN_NS)
        at = hs_mono_ns () + STREAM_RERUN_NS;
    hs_loop_timer_set (l->timer, at);
}

static void s_on_epoll (void *arg, int fd, uint32_t revents)
{
    (void)fd;
    (void)revents;
    s_run (arg);
}

static void s_on_timer (void *arg)
{
    s_run (arg);
}

/* MHD_run soon: something we did (a resume) wants it. */
static void s_kick (s_listener_t *l)
{
    hs_loop_timer_set (l->timer, hs_mono_ns ());
}

static void s_mhd_log (void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf (line, sizeof line, fmt, ap);
    size_t n = strlen (line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    log_debug ("microhttpd: %s", line);
}

/* ------------------------------------------------------------ request lifetime */

static void s_queue_free (api_req_t *r)
{
    r->srv->queued -= r->queued;
    if (r->user) api_user_counts (r->user)->queued -= r->queued;
    while (r->q_head) {
        s_chunk_t *c = r->q_head;
        r->q_head = c->next;
        free (c);
    }
    r->q_tail = NULL;
    r->queued = 0;
}

static void s_req_free (api_req_t *r)
{
    api_server_t *srv = r->srv;
    if (r->prev)
        r->prev->next = r->next;
    else if (srv->reqs == r)
        srv->reqs = r->next;
    if (r->next) r->next->prev = r->prev;
    hs_loop_io_free (&r->hup);
    if (r->resp) MHD_destroy_response (r->resp);
    free (r->raw_uri);
    free (r->route_buf);
    api_query_free (&r->query);
    for (size_t i = 0; i < r->nh; i++) {
        free (r->hkeys[i]);
        free (r->hvals[i]);
    }
    free (r->hkeys);
    free (r->hvals);
    srv->bodies -= r->body.len;
    hs_buf_free (&r->body);
    s_queue_free (r);
    if (r->user && r->joining) api_user_unwait (r->user, r);
    if (r->user) api_user_counts (r->user)->reqs--;
    api_user_release (&r->user);
    for (size_t i = 0; i < r->n_warnings; i++) free (r->warnings[i]);
    free (r->warnings);
    free (r);
}

/* Frees r once MHD and the handler are both done with it. */
static void s_maybe_free (api_req_t *r)
{
    if (r->completed && (r->done || !r->dispatched)) s_req_free (r);
}

/* The client is gone: tell the handler once. */
static void s_notify_close (api_req_t *r)
{
    r->closed = true;
    s_queue_free (r); /* nobody will read it */
    if (!r->dispatched || r->done || r->close_notified) return;
    if (r->on_close) {
        r->close_notified = true;
        r->done = true;
        r->on_close (r->close_arg);
    }
}

static void s_resume (api_req_t *r)
{
    if (!r->suspended) return;
    r->suspended = false;
    MHD_resume_connection (r->conn);
    s_kick (r->lis);
}

static void s_on_hup (void *arg, int fd, uint32_t revents)
{
    (void)fd;
    api_req_t *r = arg;
    if (!(revents & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return;
    hs_loop_io_free (&r->hup); /* level-triggered: once is enough */
    s_notify_close (r);
    s_resume (r); /* MHD ends it: the access handler or the reader says no */
    s_kick (r->lis);
}

/* Suspends r. The socket is watched for the client leaving from the first
 * suspension until the request ends (not re-added per suspension: a
 * stream is suspended and resumed once per write, and each add and
 * remove is an epoll_ctl). */
static void s_suspend (api_req_t *r)
{
    if (r->suspended) return;
    MHD_suspend_connection (r->conn);
    r->suspended = true;
    if (r->hup || r->closed) return;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info (r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci) r->hup = hs_loop_io (r->srv->loop, ci->connect_fd, EPOLLRDHUP, s_on_hup, r);
}

static void *s_uri_log (void *cls, const char *uri, struct MHD_Connection *conn)
{
    s_listener_t *l = cls;
    api_req_t *r = hs_calloc (1, sizeof *r);
    r->srv = l->srv;
    r->lis = l;
    r->conn = conn;
    r->raw_uri = hs_strdup (uri);
    r->next = l->srv->reqs;
    if (r->next) r->next->prev = r;
    l->srv->reqs = r;
    return r;
}

static void s_completed (void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    api_req_t *r = *con_cls;
    if (!r) return;
    *con_cls = NULL;
    r->completed = true;
    r->conn = NULL;
    hs_loop_io_free (&r->hup);
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK || !r->done) s_notify_close (r);
    s_maybe_free (r);
}

/* ------------------------------------------------------------ answers */

/* Hands resp to r: queued by the access handler now (inside it) or after
 * a resume. */
static void s_answer (api_req_t *r, struct MHD_Response *resp, unsigned code)
{
    r->resp = resp;
    r->resp_code = code;
    if (!r->in_handler) s_resume (r);
}

static void s_add_headers (api_req_t *r, struct MHD_Response *resp, const char *ct)
{
    MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_TYPE, ct);
    MHD_add_response_header (resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache, private");
    for (size_t i = 0; i < r->n_warnings; i++)
        MHD_add_response_header (resp, "Warning", r->warnings[i]);
}

/* Whether an answer may go: the first, to a client still there. */
static bool s_may_answer (api_req_t *r)
{
    if (r->done || r->streaming) {
        if (!r->closed) log_debug ("a second answer to one request (ignored)");
        return false;
    }
    r->done = true;
    if (r->closed || r->completed) {
        s_maybe_free (r);
        return false;
    }
    return true;
}

/* Takes text (malloc'd). */
static void s_reply_take (api_req_t *r, int http, char *text, size_t len, const char *ct)
{
    if (!s_may_answer (r)) {
        free (text);
        return;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer (len, text ? text : hs_strdup (""), MHD_RESPMEM_MUST_FREE);
    s_add_headers (r, resp, ct ? ct : "application/json");
    s_answer (r, resp, (unsigned)http);
}

void api_reply_tree (api_req_t *r, int http, const hs_tree_t *body, const char *content_type)
{
    char *text = hs_tree_to_text (body, HS_FMT_JSON | HS_FMT_COMPACT);
    s_reply_take (r, http, text, text ? strlen (text) : 0, content_type);
}

void api_reply_status (api_req_t *r, api_status_t *st)
{
    api_reply_tree (r, st->http, st->tree, NULL);
    api_status_free (st);
}

void api_reply_text (api_req_t *r, int http, const char *text, size_t len, const char *content_type)
{
    char *copy = hs_malloc (len + 1);
    memcpy (copy, text, len);
    copy[len] = '\0';
    s_reply_take (r, http, copy, len, content_type ? content_type : "text/plain");
}

/* Hands MHD as much of the queue as fits in one chunk: one event per chunk
 * would send one event per connection per MHD_run, while a burst queues
 * many per loop turn. */
static ssize_t s_reader (void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    api_req_t *r = cls;
    if (r->closed) return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t out = 0;
    while (r->q_head && out < max) {
        s_chunk_t *c = r->q_head;
        size_t n = c->len - c->off;
        if (n > max - out) n = max - out;
        memcpy (buf + out, c->data + c->off, n);
        out += n;
        c->off += n;
        if (c->off == c->len) {
            r->q_head = c->next;
            if (!r->q_head) r->q_tail = NULL;
            free (c);
        }
    }
    if (out > 0) {
        r->queued -= out;
        r->srv->queued -= out;
        if (r->user) api_user_counts (r->user)->queued -= out;
        return (ssize_t)out;
    }
    if (r->stream_ended) return MHD_CONTENT_READER_END_OF_STREAM;
    s_suspend (r);
    return 0;
}

void api_stream_start (api_req_t *r, int http, const char *content_type)
{
    if (r->done || r->streaming) return;
    r->streaming = true;
    if (r->closed || r->completed) return;
    struct MHD_Response *resp =
        MHD_create_response_from_callback (MHD_SIZE_UNKNOWN, STREAM_CHUNK, s_reader, r, NULL);
    s_add_headers (r, resp, content_type ? content_type : "application/json");
    s_answer (r, resp, (unsigned)http);
}

int api_stream_write (api_req_t *r, const char *data, size_t len)
{
    if (!r->streaming || r->stream_ended || r->done || r->closed || r->completed) return -EPIPE;
    if (len == 0) return 0;
    /* A watcher that does not read is cut (it relists): over its own bound,
     * or, when all streams together hold too much, the ones that hold more
     * than a little. */
    size_t user_queued = r->user ? api_user_counts (r->user)->queued : 0;
    if (r->queued + len > API_STREAM_MAX_QUEUED || user_queued + len > API_USER_MAX_QUEUED ||
        r->srv->queued + len > API_STREAMS_HARD_QUEUED ||
        (r->srv->queued + len > API_STREAMS_MAX_QUEUED && r->queued > API_STREAM_FAIR_QUEUED)) {
        log_info ("cutting a stream of %s: %zu bytes unsent (%zu in all streams)",
                  hs_s (api_req_identity (r)), r->queued, r->srv->queued);
        s_queue_free (r);
        r->closed = true;
        s_resume (r);
        return -EPIPE;
    }
    s_chunk_t *c = hs_malloc (sizeof *c + len);
    c->next = NULL;
    c->len = len;
    c->off = 0;
    memcpy (c->data, data, len);
    if (r->q_tail)
        r->q_tail->next = c;
    else
        r->q_head = c;
    r->q_tail = c;
    r->queued += len;
    r->srv->queued += len;
    if (r->user) api_user_counts (r->user)->queued += len;
    s_resume (r);
    s_kick (r->lis); /* flushed soon even when not suspended */
    return 0;
}

void api_stream_end (api_req_t *r)
{
    if (!r->streaming || r->stream_ended || r->done) return;
    r->stream_ended = true;
    r->done = true;
    if (r->completed) {
        s_maybe_free (r);
        return;
    }
    s_resume (r);
}

/* ------------------------------------------------------------ requests */

api_method_t api_req_method (api_req_t *r)
{
    return r->method;
}

const api_route_t *api_req_route (api_req_t *r)
{
    return &r->route;
}

const api_query_t *api_req_query (api_req_t *r)
{
    return &r->query;
}

const char *api_req_header (api_req_t *r, const char *name)
{
    for (size_t i = r->nh; i-- > 0;)
        if (strcasecmp (r->hkeys[i], name) == 0) return r->hvals[i];
    return NULL;
}

const char *api_req_body (api_req_t *r, size_t *len)
{
    if (len) *len = r->body.len;
    return r->body.data ? r->body.data : "";
}

const char *api_req_identity (api_req_t *r)
{
    return r->user ? api_user_identity (r->user) : NULL;
}

hs_client_t *api_req_client (api_req_t *r)
{
    return r->user ? api_user_client (r->user) : NULL;
}

api_server_t *api_req_server (api_req_t *r)
{
    return r->srv;
}

void api_req_on_close (api_req_t *r, void (*fn) (void *arg), void *arg)
{
    r->on_close = fn;
    r->close_arg = arg;
}

void api_req_warn (api_req_t *r, const char *text)
{
    if (r->n_warnings >= 32) return;
    /* Kubernetes' form: 299 - "text", quotes and backslashes escaped, and
     * no line breaks in a header */
    hs_buf_t b = {0};
    hs_buf_puts (&b, "299 - \"");
    for (const char *p = text; *p; p++) {
        if (*p == '"' || *p == '\\') hs_buf_append (&b, "\\", 1);
        char c = (*p == '\r' || *p == '\n' || *p == '\t') ? ' ' : *p;
        hs_buf_append (&b, &c, 1);
    }
    hs_buf_puts (&b, "\"");
    r->warnings = hs_realloc (r->warnings, (r->n_warnings + 1) * sizeof *r->warnings);
    r->warnings[r->n_warnings++] = hs_buf_take (&b);
}

api_cache_t *api_server_cache (api_server_t *s)
{
    return s->cache;
}

hs_loop_t *api_server_loop (api_server_t *s)
{
    return s->loop;
}

hs_client_t *api_server_client (api_server_t *s)
{
    return s->client;
}

/* ------------------------------------------------------------ dispatch */

static api_method_t s_method (const char *m)
{
    static const struct {
        const char *name;
        api_method_t m;
    } ms[] = {
        {"GET", API_GET},     {"POST", API_POST},     {"PUT", API_PUT},
        {"PATCH", API_PATCH}, {"DELETE", API_DELETE},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (ms); i++)
        if (strcmp (ms[i].name, m) == 0) return ms[i].m;
    return API_METHOD_OTHER;
}

static enum MHD_Result s_header (void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    (void)kind;
    api_req_t *r = cls;
    r->hkeys = hs_realloc (r->hkeys, (r->nh + 1) * sizeof *r->hkeys);
    r->hvals = hs_realloc (r->hvals, (r->nh + 1) * sizeof *r->hvals);
    r->hkeys[r->nh] = hs_strdup (hs_s (key));
    r->hvals[r->nh] = hs_strdup (hs_s (value));
    r->nh++;
    return MHD_YES;
}

static void s_status (api_req_t *r, int http, const char *reason, const char *message)
{
    api_status_t st = api_status_fmt (http, reason, "%s", message);
    api_reply_status (r, &st);
}

/* The CN of a client certificate that verifies against --client-ca, into
 * cn; false when there is none or it does not verify. */
static bool s_client_cn (api_req_t *r, char *cn, size_t len)
{
    if (!r->lis->tls || !r->srv->ca_pem) return false;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info (r->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!ci || !ci->tls_session) return false;
    gnutls_session_t sess = (gnutls_session_t)ci->tls_session;
    unsigned n = 0;
    const gnutls_datum_t *certs = gnutls_certificate_get_peers (sess, &n);
    if (!certs || n == 0) return false;
    unsigned status = 0;
    if (gnutls_certificate_verify_peers2 (sess, &status) != GNUTLS_E_SUCCESS || status != 0) {
        log_info ("a client certificate that does not verify against --client-ca (ignored)");
        return false;
    }
    gnutls_x509_crt_t crt;
    if (gnutls_x509_crt_init (&crt) != GNUTLS_E_SUCCESS) return false;
    bool ok = gnutls_x509_crt_import (crt, &certs[0], GNUTLS_X509_FMT_DER) == GNUTLS_E_SUCCESS &&
              gnutls_x509_crt_get_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &len) ==
                  GNUTLS_E_SUCCESS;
    gnutls_x509_crt_deinit (crt);
    return ok;
}

/* Who is asking: 0 with r->user, or the answer (401, 429, 503) given. */
static int s_authenticate (api_req_t *r)
{
    char err[512] = "";
    int ret = -EACCES;
    const char *authz = api_req_header (r, "Authorization");
    char cn[HS_CRED_MAX_IDENTITY + 1];
    if (authz && strncasecmp (authz, "Bearer ", 7) == 0) {
        const char *tok = authz + 7;
        while (*tok == ' ') tok++;
        _cleanup_free_ char *t = hs_strdup (tok);
        size_t n = strlen (t);
        while (n > 0 && t[n - 1] == ' ') t[--n] = '\0';
        ret = api_auth_token (r->srv->auth, t, &r->user, err, sizeof err);
    } else if (s_client_cn (r, cn, sizeof cn)) {
        ret = api_auth_cert (r->srv->auth, cn, &r->user, err, sizeof err);
    } else {
        snprintf (err, sizeof err, "no bearer token and no client certificate");
    }
    if (ret == 0) {
        api_user_counts_t *c = api_user_counts (r->user);
        if (c->reqs < API_USER_MAX_REQS) {
            c->reqs++;
            return 0;
        }
        api_user_release (&r->user);
        snprintf (err, sizeof err, "too many requests at once for one user (at most %d)",
                  API_USER_MAX_REQS);
        ret = -EBUSY;
    }
    /* debug: anyone can make us refuse, and must not fill the log */
    log_debug ("refused %.200s: %s", r->raw_uri, err);
    if (ret == -EBUSY)
        s_status (r, 429, "TooManyRequests", err);
    else if (ret == -EIO)
        s_status (r, 503, "ServiceUnavailable", err);
    else
        s_status (r, 401, "Unauthorized", "Unauthorized");
    return -1;
}

static const char *s_verb (api_req_t *r)
{
    switch (r->method) {
    case API_POST: return "create";
    case API_PUT: return "update";
    case API_PATCH: return "patch";
    case API_DELETE: return r->route.name[0] ? "delete" : "deletecollection";
    default: return "get";
    }
}

/* A user whose role cannot write asks to write: Kubernetes' 403. */
static void s_forbidden (api_req_t *r)
{
    const api_route_t *rt = &r->route;
    const char *plural =
        rt->kind == API_KIND_NAMESPACE ? "namespaces" : hs_kind_info (rt->kind)->plural;
    char res[128], scope[128];
    snprintf (res, sizeof res, "%s%s%s", plural, rt->sub[0] ? "/" : "", rt->sub);
    if (rt->ns[0])
        snprintf (scope, sizeof scope, "in the namespace \"%s\"", rt->ns);
    else
        snprintf (scope, sizeof scope, "at the cluster scope");
    api_status_t st =
        api_status_fmt (403, "Forbidden",
                        "%s%s%s%s is forbidden: User \"%s\" cannot %s resource \"%s\" in API "
                        "group \"%s\" %s",
                        plural, rt->name[0] ? " \"" : "", rt->name, rt->name[0] ? "\"" : "",
                        api_user_identity (r->user), s_verb (r), res, rt->group, scope);
    api_reply_status (r, &st);
}

static void s_tree (api_req_t *r, hs_tree_t *t, const char *ct)
{
    if (!t) {
        s_status (r, 404, "NotFound", "the server could not find the requested resource");
        return;
    }
    api_reply_tree (r, 200, t, ct);
    hs_tree_free (t);
}

static void s_discovery (api_req_t *r)
{
    const api_route_t *rt = &r->route;
    bool agg = api_discovery_wants_aggregated (api_req_header (r, "Accept"));
    switch (rt->path) {
    case API_PATH_API: s_tree (r, api_discovery_api (agg), agg ? API_AGGREGATED_CT : NULL); break;
    case API_PATH_APIS: s_tree (r, api_discovery_apis (agg), agg ? API_AGGREGATED_CT : NULL); break;
    case API_PATH_GROUP: s_tree (r, api_discovery_group (rt->group), NULL); break;
    case API_PATH_GV: s_tree (r, api_discovery_resources (rt->group, rt->version), NULL); break;
    case API_PATH_OPENAPI_V3: s_tree (r, api_openapi_index (), NULL); break;
    case API_PATH_OPENAPI_GV: s_tree (r, api_openapi_gv (rt->group, rt->version), NULL); break;
    default: s_tree (r, NULL, NULL); break; /* /openapi/v2: kubectl wants protobuf there */
    }
}

static void s_dispatch_user (api_req_t *r);

/* Whether r acts on the bus as its user (writes, logs), so that it must
 * wait for the user's connection to join; reads come from our cache. */
static bool s_needs_bus (api_req_t *r)
{
    return r->method != API_GET || strcmp (r->route.sub, "log") == 0;
}

/* The user's connection joined (0) or did not (-EACCES: 401, -EIO: 503). */
static void s_on_joined (void *arg, int result, const char *err)
{
    api_req_t *r = arg;
    r->joining = false;
    if (r->closed || r->completed) {
        r->done = true;
        s_maybe_free (r);
        return;
    }
    if (result == 0)
        s_dispatch_user (r);
    else if (result == -EACCES)
        s_status (r, 401, "Unauthorized", "Unauthorized");
    else
        s_status (r, 503, "ServiceUnavailable", err);
}

static void s_dispatch (api_req_t *r)
{
    const api_route_t *rt = &r->route;
    if (r->too_large) {
        s_status (r, 413, "RequestEntityTooLarge", "the request body is too large (over 3 MiB)");
        return;
    }
    if (r->too_busy) {
        s_status (r, 429, "TooManyRequests",
                  "too many request bodies being received at once: retry shortly");
        return;
    }
    if (rt->path == API_PATH_HEALTH) {
        /* readiness: the cache has every kind; health: the process answers */
        bool ready = strstr (r->raw_uri, "/readyz") != r->raw_uri || !r->srv->cache ||
                     api_cache_synced (r->srv->cache);
        api_reply_text (r, ready ? 200 : 503, ready ? "ok" : "cache not synced", ready ? 2 : 16,
                        "text/plain; charset=utf-8");
        return;
    }
    if (rt->path == API_PATH_VERSION) { /* public, as Kubernetes' system:public-info-viewer */
        s_tree (r, api_discovery_version (), NULL);
        return;
    }
    if (!r->user && s_authenticate (r) < 0) return;
    if (api_user_joining (r->user) && s_needs_bus (r)) {
        /* suspended by the access handler; s_on_joined goes on */
        r->joining = true;
        api_user_wait (r->user, s_on_joined, r);
        return;
    }
    s_dispatch_user (r);
}

/* `kubectl autoscale` (1.32) POSTs a protobuf autoscaling/v1 HPA: this
 * gateway serves HPAs as autoscaling/v2 and JSON bodies only. Say so
 * rather than 404 (true, but no help). */
static bool s_autoscale_v1 (api_req_t *r)
{
    const char *ct = api_req_header (r, "Content-Type");
    if (r->method == API_GET || !ct || !strstr (ct, "protobuf") ||
        !hs_startswith (r->raw_uri, "/apis/autoscaling/v1/") ||
        !strstr (r->raw_uri, "/horizontalpodautoscalers"))
        return false;
    s_status (r, 415, "UnsupportedMediaType",
              "protobuf bodies are not supported by Homeostat, and HorizontalPodAutoscalers are "
              "served as autoscaling/v2: use kubectl apply -f with an autoscaling/v2 "
              "HorizontalPodAutoscaler manifest");
    return true;
}

/* The rest of s_dispatch, for an authenticated user. */
static void s_dispatch_user (api_req_t *r)
{
    const api_route_t *rt = &r->route;
    if (rt->path == API_PATH_UNKNOWN) {
        if (!s_autoscale_v1 (r)) s_tree (r, NULL, NULL);
        return;
    }
    if (rt->path != API_PATH_RESOURCE) {
        if (r->method != API_GET) {
            s_status (r, 405, "MethodNotAllowed", "the server does not allow this method");
            return;
        }
        s_discovery (r);
        return;
    }
    if (r->method == API_METHOD_OTHER) {
        s_status (r, 405, "MethodNotAllowed",
                  "the server does not allow this method on the requested resource");
        return;
    }
    if (r->method != API_GET && !api_user_may_write (r->user)) {
        s_forbidden (r);
        return;
    }
    if (rt->sub[0] || rt->kind == API_KIND_NAMESPACE)
        api_sub_handle (r);
    else
        api_crud_handle (r);
}

/* The first call: headers. Refuses what the headers alone refuse. */
static void s_start (api_req_t *r, const char *url, const char *method)
{
    r->started = true;
    r->method = s_method (method);
    MHD_get_connection_values (r->conn, MHD_HEADER_KIND, s_header, r);
    const char *q = strchr (r->raw_uri, '?');
    api_query_parse (q ? q + 1 : "", &r->query);
    api_route_parse (r->method, url, &r->route, &r->route_buf);
    const char *cl = api_req_header (r, "Content-Length");
    if (cl && strtoull (cl, NULL, 10) > API_MAX_BODY) r->too_large = true;
    const char *ct = api_req_header (r, "Content-Type");
    /* only where a body could be taken: elsewhere the hint would send the
     * user the wrong way (kubectl auth can-i, autoscale: 404 after
     * authentication, as any unknown path) */
    if ((r->method == API_POST || r->method == API_PUT || r->method == API_PATCH) && ct &&
        r->route.path == API_PATH_RESOURCE &&
        strncasecmp (ct, PROTOBUF_CT, strlen (PROTOBUF_CT)) == 0) {
        r->dispatched = true;
        s_status (r, 415, "UnsupportedMediaType", PROTOBUF_MSG);
    } else if (r->too_large) {
        r->dispatched = true;
        s_dispatch (r);
    } else if (r->route.path != API_PATH_HEALTH && r->route.path != API_PATH_VERSION &&
               s_authenticate (r) < 0) {
        /* Who asks is known from the headers and the TLS session: a
         * stranger's body is never read, let alone buffered (the 401 goes
         * out and MHD closes the connection). */
        r->dispatched = true;
    }
}

static enum MHD_Result s_access (void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    (void)version;
    api_req_t *r = *con_cls;
    if (!r) { /* no URI callback ran: cannot happen, but never crash on it */
        r = s_uri_log (cls, url, conn);
        *con_cls = r;
    }
    r->conn = conn;
    r->in_handler = true;
    if (!r->started) {
        s_start (r, url, method);
    } else if (*upload_data_size > 0) {
        if (r->dispatched || r->too_large || r->too_busy) {
            /* dropped: answered already, or answered at its end */
        } else if (r->body.len + *upload_data_size > API_MAX_BODY) {
            r->too_large = true;
        } else if (r->srv->bodies + *upload_data_size > API_BODIES_MAX) {
            r->too_busy = true;
        } else {
            hs_buf_append (&r->body, upload_data, *upload_data_size);
            r->srv->bodies += *upload_data_size;
        }
        *upload_data_size = 0;
        r->in_handler = false;
        return MHD_YES;
    } else if (!r->dispatched && !r->closed) {
        hs_buf_append (&r->body, "", 1); /* NUL-terminated for the handlers */
        r->body.len--;
        r->dispatched = true;
        s_dispatch (r);
    }
    r->in_handler = false;
    if (r->closed && !r->resp) return MHD_NO;
    if (r->resp) {
        struct MHD_Response *resp = r->resp;
        r->resp = NULL;
        enum MHD_Result ret = MHD_queue_response (conn, r->resp_code, resp);
        MHD_destroy_response (resp);
        return ret;
    }
    if (r->dispatched) s_suspend (r); /* an answer comes later */
    return MHD_YES;
}

/* ------------------------------------------------------------ revoked users */

/* u left the auth pool (revoked, key changed, expired): every request it
 * holds ends now, streams above all (watches and log follows would
 * otherwise go on for ever). Each handler's on_close hook runs. */
static void s_on_unlink (void *arg, api_user_t *u)
{
    api_server_t *srv = arg;
    for (api_req_t *r = srv->reqs; r; r = r->next) {
        if (r->user != u || r->completed || r->closed || (r->done && !r->streaming)) continue;
        log_info ("ending a request of %s (%.200s): its token or key is no longer valid",
                  api_user_identity (u), r->raw_uri);
        s_notify_close (r);
        s_resume (r);
        s_kick (r->lis);
    }
}

/* ------------------------------------------------------------ the server */

int api_parse_listen (const char *text, struct sockaddr_storage *ret, socklen_t *ret_len)
{
    if (!text) return -EINVAL;
    char host[256];
    const char *colon;
    if (text[0] == '[') {
        const char *end = strchr (text, ']');
        if (!end || end[1] != ':' || (size_t)(end - text - 1) >= sizeof host) return -EINVAL;
        snprintf (host, sizeof host, "%.*s", (int)(end - text - 1), text + 1);
        colon = end + 1;
    } else {
        colon = strrchr (text, ':');
        if (!colon || (size_t)(colon - text) >= sizeof host) return -EINVAL;
        snprintf (host, sizeof host, "%.*s", (int)(colon - text), text);
    }
    int64_t port;
    if (hs_parse_i64 (colon + 1, &port) < 0 || port < 1 || port > 65535) return -EINVAL;
    memset (ret, 0, sizeof *ret);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ret;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ret;
    if (host[0] == '\0' || inet_pton (AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons ((uint16_t)port);
        *ret_len = sizeof *v4;
        return 0;
    }
    if (inet_pton (AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons ((uint16_t)port);
        *ret_len = sizeof *v6;
        return 0;
    }
    if (strcmp (host, "localhost") == 0) {
        inet_pton (AF_INET, "127.0.0.1", &v4->sin_addr);
        v4->sin_family = AF_INET;
        v4->sin_port = htons ((uint16_t)port);
        *ret_len = sizeof *v4;
        return 0;
    }
    return -EINVAL;
}

bool api_addr_loopback (const struct sockaddr_storage *a)
{
    if (a->ss_family == AF_INET)
        return (ntohl (((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) == 127;
    if (a->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK (&((const struct sockaddr_in6 *)a)->sin6_addr);
    return false;
}

/* A PEM file, whole (at most 1 MiB). NULL after logging. */
static char *s_read_pem (const char *path, const char *what)
{
    FILE *f = fopen (path, "re");
    if (!f) {
        log_error ("cannot read %s %s: %s", what, path, strerror (errno));
        return NULL;
    }
    hs_buf_t b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread (chunk, 1, sizeof chunk, f)) > 0 && b.len < (1u << 20))
        hs_buf_append (&b, chunk, n);
    bool bad = ferror (f) || b.len == 0 || b.len >= (1u << 20);
    fclose (f);
    if (bad) {
        log_error ("cannot read %s %s: empty, unreadable or too big", what, path);
        hs_buf_free (&b);
        return NULL;
    }
    return hs_buf_take (&b);
}

static int s_listen (api_server_t *srv, const char *addr, bool tls)
{
    struct sockaddr_storage sa;
    socklen_t sa_len;
    if (api_parse_listen (addr, &sa, &sa_len) < 0) {
        log_error ("%s: not an address ADDR:PORT: %s", tls ? "--listen" : "--insecure-http", addr);
        return -EINVAL;
    }
    if (!tls && !api_addr_loopback (&sa)) {
        log_error ("--insecure-http %s: refused, plain HTTP is served on a loopback address only "
                   "(127.0.0.1, ::1); use --listen with TLS for anything else",
                   addr);
        return -EINVAL;
    }
    s_listener_t *l = &srv->lis[srv->n_lis];
    l->srv = srv;
    l->tls = tls;
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (tls) flags |= MHD_USE_TLS;
    if (sa.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    uint16_t port = ntohs (sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                                    : ((struct sockaddr_in *)&sa)->sin_port);
    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_MEM_KEY, 0, srv->key_pem},
        {MHD_OPTION_HTTPS_MEM_CERT, 0, srv->cert_pem},
        {srv->ca_pem ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0, srv->ca_pem},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_OptionItem none[] = {{MHD_OPTION_END, 0, NULL}};
    l->d = MHD_start_daemon (
        flags, port, NULL, NULL, s_access, l, MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, NULL,
        MHD_OPTION_URI_LOG_CALLBACK, s_uri_log, l, MHD_OPTION_NOTIFY_COMPLETED, s_completed, l,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_MAX_CONNS, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)API_PER_IP_CONNS, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)API_CONN_MEM,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S, MHD_OPTION_LISTENING_ADDRESS_REUSE,
        (unsigned)1, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_ARRAY,
        tls ? tls_opts : none, MHD_OPTION_END);
    if (!l->d) {
        log_error ("cannot listen on %s%s (in use, or a bad certificate or key)", addr,
                   tls ? " with TLS" : "");
        return -EADDRINUSE;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info (l->d, MHD_DAEMON_INFO_EPOLL_FD);
    l->io = di ? hs_loop_io (srv->loop, di->epoll_fd, EPOLLIN, s_on_epoll, l) : NULL;
    l->timer = hs_loop_timer (srv->loop, hs_mono_ns (), s_on_timer, l);
    srv->n_lis++;
    if (!l->io) return -EIO;
    log_info ("serving the Kubernetes API on %s://%s", tls ? "https" : "http", addr);
    return 0;
}

int api_server_new (hs_loop_t *loop, const api_http_opts_t *opts, api_cache_t *cache,
                    hs_client_t *client, api_auth_t *auth, api_server_t **ret)
{
    api_server_t *srv = hs_calloc (1, sizeof *srv);
    srv->loop = loop;
    srv->cache = cache;
    srv->client = client;
    srv->auth = auth;
    if (auth) api_auth_on_unlink (auth, s_on_unlink, srv);
    int r = 0;
    if (opts->listen) {
        if (!opts->tls_cert || !opts->tls_key) {
            log_error ("--listen needs --tls-cert and --tls-key (or --pki DIR)");
            r = -EINVAL;
        } else if (!(srv->cert_pem = s_read_pem (opts->tls_cert, "the TLS certificate")) ||
                   !(srv->key_pem = s_read_pem (opts->tls_key, "the TLS key")) ||
                   (opts->client_ca &&
                    !(srv->ca_pem = s_read_pem (opts->client_ca, "the client CA")))) {
            r = -ENOENT;
        } else {
            r = s_listen (srv, opts->listen, true);
        }
    }
    if (r == 0 && opts->insecure_http) r = s_listen (srv, opts->insecure_http, false);
    if (r == 0 && srv->n_lis == 0) {
        log_error ("nothing to listen on: give --listen (or --pki) or --insecure-http");
        r = -EINVAL;
    }
    if (r < 0) {
        api_server_destroy (&srv);
        return r;
    }
    *ret = srv;
    return 0;
}

void api_server_destroy (api_server_t **self_p)
{
    api_server_t *srv = *self_p;
    if (!srv) return;
    srv->stopping = true;
    if (srv->auth) api_auth_on_unlink (srv->auth, NULL, NULL);
    /* MHD may not stop with suspended connections: end them all first */
    for (api_req_t *r = srv->reqs; r; r = r->next) {
        s_notify_close (r);
        r->done = true;
        if (r->suspended) {
            r->suspended = false;
            hs_loop_io_free (&r->hup);
            MHD_resume_connection (r->conn);
        }
    }
    for (size_t i = 0; i < srv->n_lis; i++) {
        s_listener_t *l = &srv->lis[i];
        MHD_run (l->d);
        hs_loop_io_free (&l->io);
        hs_loop_timer_free (&l->timer);
        MHD_stop_daemon (l->d);
    }
    while (srv->reqs) s_req_free (srv->reqs);
    if (srv->key_pem) explicit_bzero (srv->key_pem, strlen (srv->key_pem));
    free (srv->key_pem);
    free (srv->cert_pem);
    free (srv->ca_pem);
    free (srv);
    *self_p = NULL;
}
