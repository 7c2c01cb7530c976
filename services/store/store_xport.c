/*  store_xport.c: raft's TCP transport with a cluster check (store_xport.h). */
#include "store_xport.h"
#include "store_raft.h"
#include "hs_log.h"
#include "hs_util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const uint8_t s_magic[8] = {'H', 'S', 'R', 'A', 'F', 'T', 0, 1};

/* An incoming connection that has not sent its preamble within this is
 * dropped (at the next accept), and no more than XP_MAX_PENDING wait for
 * theirs (the oldest goes): a peer that connects and sends nothing must
 * not pile up fds until EMFILE. */
#define XP_PREAMBLE_MS 5000
#define XP_MAX_PENDING 64

typedef struct xp_op xp_op_t;
typedef struct {
    struct raft_uv_transport *outer, *inner;
    char *cluster_id;
    uint8_t pre[STORE_XPORT_PREAMBLE];
    raft_uv_accept_cb accept_cb;
    raft_uv_transport_close_cb close_cb;
    xp_op_t *ops;
    size_t n_handles_closing;
    bool closing, inner_closed;
    uint64_t refused;
} xport_t;

/* A connection between raft_uv_tcp and raft: an outgoing one writing the
 * preamble (req set), or an incoming one reading it. */
struct xp_op {
    xp_op_t *next, **pprev;
    xport_t *x;
    uv_stream_t *stream; /* ours until handed to raft */
    /* outgoing */
    struct raft_uv_connect *req, inner_req;
    uv_write_t w;
    /* incoming */
    raft_id id;
    uint64_t since; /* uv_now at accept */
    char address[256];
    size_t got;
    uint8_t buf[STORE_XPORT_PREAMBLE];
};

void store_xport_preamble (const char *cluster_id, uint8_t *buf)
{
    memset (buf, 0, STORE_XPORT_PREAMBLE);
    memcpy (buf, s_magic, 8);
    uint64_t h = store_raft_hash (cluster_id);
    memcpy (buf + 8, &h, 8);
    size_t n = strlen (cluster_id);
    memcpy (buf + 16, cluster_id, n < STORE_XPORT_PREAMBLE - 16 ? n : STORE_XPORT_PREAMBLE - 16);
}

static void s_link (xport_t *x, xp_op_t *op)
{
    op->x = x;
    op->next = x->ops;
    if (x->ops) x->ops->pprev = &op->next;
    op->pprev = &x->ops;
    x->ops = op;
}

static void s_unlink (xp_op_t *op)
{
    *op->pprev = op->next;
    if (op->next) op->next->pprev = op->pprev;
}

static void s_maybe_closed (xport_t *x)
{
    if (x->closing && x->inner_closed && !x->ops && x->n_handles_closing == 0 && x->close_cb) {
        raft_uv_transport_close_cb cb = x->close_cb;
        x->close_cb = NULL;
        cb (x->outer);
    }
}

static void s_handle_closed (uv_handle_t *h)
{
    xport_t *x = h->data;
    raft_free (h); /* raft_uv_tcp allocates its streams with raft_malloc */
    x->n_handles_closing--;
    s_maybe_closed (x);
}

static void s_close_stream (xport_t *x, uv_stream_t *s)
{
    if (!s || uv_is_closing ((uv_handle_t *)s)) return;
    s->data = x;
    x->n_handles_closing++;
    uv_close ((uv_handle_t *)s, s_handle_closed);
}

/* ------------------------------------------------------------------ outgoing */

static void s_connect_done (xp_op_t *op, uv_stream_t *stream, int status)
{
    xport_t *x = op->x;
    struct raft_uv_connect *req = op->req;
    s_unlink (op);
    free (op);
    req->cb (req, stream, status);
    s_maybe_closed (x);
}

static void s_write_cb (uv_write_t *w, int status)
{
    xp_op_t *op = w->data;
    xport_t *x = op->x;
    if (status != 0 || x->closing) {
        s_close_stream (x, op->stream);
        s_connect_done (op, NULL, x->closing ? RAFT_CANCELED : RAFT_NOCONNECTION);
        return;
    }
    s_connect_done (op, op->stream, 0);
}

static void s_connect_cb (struct raft_uv_connect *inner_req, uv_stream_t *stream, int status)
{
    xp_op_t *op = inner_req->data;
    xport_t *x = op->x;
    if (status != 0) {
        s_connect_done (op, NULL, status);
        return;
    }
    if (x->closing) {
        s_close_stream (x, stream);
        s_connect_done (op, NULL, RAFT_CANCELED);
        return;
    }
    op->stream = stream;
    op->w.data = op;
    uv_buf_t b = uv_buf_init ((char *)x->pre, STORE_XPORT_PREAMBLE);
    if (uv_write (&op->w, stream, &b, 1, s_write_cb) != 0) {
        s_close_stream (x, stream);
        s_connect_done (op, NULL, RAFT_NOCONNECTION);
    }
}

static int s_connect (struct raft_uv_transport *t, struct raft_uv_connect *req, raft_id id,
                      const char *address, raft_uv_connect_cb cb)
{
    xport_t *x = t->impl;
    xp_op_t *op = calloc (1, sizeof *op);
    if (!op) return RAFT_NOMEM;
    req->cb = cb;
    op->req = req;
    op->inner_req.data = op;
    s_link (x, op);
    int rv = x->inner->connect (x->inner, &op->inner_req, id, address, s_connect_cb);
    if (rv != 0) {
        s_unlink (op);
        free (op);
        snprintf (t->errmsg, sizeof t->errmsg, "%s", x->inner->errmsg);
    }
    return rv;
}

/* ------------------------------------------------------------------ incoming */

static void s_incoming_drop (xp_op_t *op)
{
    xport_t *x = op->x;
    uv_read_stop (op->stream);
    s_close_stream (x, op->stream);
    s_unlink (op);
    free (op);
    s_maybe_closed (x);
}

static void s_alloc (uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    xp_op_t *op = h->data;
    /* exactly what is missing: raft's own bytes stay in the socket */
    *buf = uv_buf_init ((char *)op->buf + op->got, (unsigned)(STORE_XPORT_PREAMBLE - op->got));
}

static void s_refuse (xp_op_t *op)
{
    xport_t *x = op->x;
    x->refused++;
    char key[320];
    snprintf (key, sizeof key, "store:xport:%s", op->address);
    if (memcmp (op->buf, s_magic, 8) != 0) {
        hs_log_once (HS_LOG_ERROR, key,
                     "refused a raft connection from member id %llu at %s: it is not an hs-store "
                     "of this version (no cluster preamble); closed (further ones from there "
                     "not logged)",
                     (unsigned long long)op->id, op->address);
        return;
    }
    char theirs[STORE_XPORT_PREAMBLE - 16 + 1];
    memcpy (theirs, op->buf + 16, STORE_XPORT_PREAMBLE - 16);
    theirs[STORE_XPORT_PREAMBLE - 16] = 0;
    for (char *p = theirs; *p; p++)
        if (*p < 0x20 || *p > 0x7e) *p = '?';
    hs_log_once (HS_LOG_ERROR, key,
                 "refused a raft connection from member id %llu at %s: it belongs to cluster "
                 "\"%s\", this member to cluster \"%s\"; closed, it gets no vote and no entry "
                 "(check that member's --cluster-id/--peers; further ones from there not "
                 "logged)",
                 (unsigned long long)op->id, op->address, theirs, x->cluster_id);
}

static void s_read_cb (uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    xp_op_t *op = s->data;
    if (nread == 0) return;
    if (nread < 0) {
        s_incoming_drop (op);
        return;
    }
    op->got += (size_t)nread;
    if (op->got < STORE_XPORT_PREAMBLE) return;
    xport_t *x = op->x;
    if (memcmp (op->buf, x->pre, STORE_XPORT_PREAMBLE) != 0) {
        s_refuse (op);
        s_incoming_drop (op);
        return;
    }
    uv_read_stop (s);
    s->data = NULL;
    raft_id id = op->id;
    char address[sizeof op->address];
    memcpy (address, op->address, sizeof address);
    s_unlink (op);
    free (op);
    x->accept_cb (x->outer, id, address, s);
}

/* Drops the incoming connections still without a preamble after
 * XP_PREAMBLE_MS, and the oldest ones beyond XP_MAX_PENDING - 1 (room for
 * one more). */
static void s_incoming_expire (xport_t *x, uint64_t now)
{
    size_t n = 0;
    xp_op_t *oldest = NULL;
    for (xp_op_t *op = x->ops, *next; op; op = next) {
        next = op->next;
        if (op->req) continue;
        if (now - op->since >= XP_PREAMBLE_MS) {
            hs_log_once (HS_LOG_WARN, "store:xport:slow",
                         "dropped a raft connection from member id %llu at %s: no cluster "
                         "preamble within %d ms (further ones not logged)",
                         (unsigned long long)op->id, op->address, XP_PREAMBLE_MS);
            s_incoming_drop (op);
            continue;
        }
        n++;
        oldest = op; /* the list is newest first */
    }
    if (n >= XP_MAX_PENDING && oldest) {
        hs_log_once (HS_LOG_WARN, "store:xport:full",
                     "dropped a raft connection from member id %llu at %s: %d connections wait "
                     "for their cluster preamble (further ones not logged)",
                     (unsigned long long)oldest->id, oldest->address, XP_MAX_PENDING);
        s_incoming_drop (oldest);
    }
}

static void s_accept_cb (struct raft_uv_transport *inner, raft_id id, const char *address,
                         uv_stream_t *stream)
{
    xport_t *x = inner->data;
    if (x->closing) {
        s_close_stream (x, stream);
        return;
    }
    uint64_t now = uv_now (stream->loop);
    s_incoming_expire (x, now);
    xp_op_t *op = calloc (1, sizeof *op);
    if (!op) {
        s_close_stream (x, stream);
        return;
    }
    op->id = id;
    op->since = now;
    snprintf (op->address, sizeof op->address, "%s", address ? address : "?");
    op->stream = stream;
    stream->data = op;
    s_link (x, op);
    if (uv_read_start (stream, s_alloc, s_read_cb) != 0) s_incoming_drop (op);
}

static int s_listen (struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
    xport_t *x = t->impl;
    x->accept_cb = cb;
    int rv = x->inner->listen (x->inner, s_accept_cb);
    if (rv != 0) snprintf (t->errmsg, sizeof t->errmsg, "%s", x->inner->errmsg);
    return rv;
}

/* ------------------------------------------------------------------ life */

static int s_init (struct raft_uv_transport *t, raft_id id, const char *address)
{
    xport_t *x = t->impl;
    int rv = x->inner->init (x->inner, id, address);
    if (rv != 0) snprintf (t->errmsg, sizeof t->errmsg, "%s", x->inner->errmsg);
    return rv;
}

static void s_inner_closed (struct raft_uv_transport *inner)
{
    xport_t *x = inner->data;
    x->inner_closed = true;
    s_maybe_closed (x);
}

static void s_close (struct raft_uv_transport *t, raft_uv_transport_close_cb cb)
{
    xport_t *x = t->impl;
    x->closing = true;
    x->close_cb = cb;
    /* Incoming ones reading the preamble: closed here. Outgoing ones
     * writing it: closing the stream cancels the write (s_write_cb answers
     * RAFT_CANCELED). Outgoing ones still connecting: the inner close
     * cancels them (s_connect_cb). */
    for (xp_op_t *op = x->ops, *next; op; op = next) {
        next = op->next;
        if (!op->req)
            s_incoming_drop (op);
        else if (op->stream)
            s_close_stream (x, op->stream);
    }
    x->inner->close (x->inner, s_inner_closed);
}

int store_xport_init (struct raft_uv_transport *outer, struct raft_uv_transport *inner,
                      const char *cluster_id)
{
    xport_t *x = calloc (1, sizeof *x);
    if (!x) return -ENOMEM;
    x->cluster_id = strdup (cluster_id);
    if (!x->cluster_id) {
        free (x);
        return -ENOMEM;
    }
    store_xport_preamble (cluster_id, x->pre);
    x->outer = outer;
    x->inner = inner;
    inner->data = x;
    memset (outer, 0, sizeof *outer);
    outer->impl = x;
    outer->init = s_init;
    outer->listen = s_listen;
    outer->connect = s_connect;
    outer->close = s_close;
    return 0;
}

void store_xport_fini (struct raft_uv_transport *outer)
{
    xport_t *x = outer->impl;
    if (!x) return;
    free (x->cluster_id);
    free (x);
    outer->impl = NULL;
}

uint64_t store_xport_refused (struct raft_uv_transport *outer)
{
    xport_t *x = outer->impl;
    return x ? x->refused : 0;
}

size_t store_xport_pending (struct raft_uv_transport *outer)
{
    xport_t *x = outer->impl;
    size_t n = 0;
    for (xp_op_t *op = x ? x->ops : NULL; op; op = op->next)
        if (!op->req) n++;
    return n;
}
