/*  storeload.c: bench-store's load (see storeload.h), moved out of
 *  bench_store.c so that bench-store-ha runs the very same clients.
 */
#include "storeload.h"

#include <sys/uio.h>
#include "hs_bus.h"
#include "hs_client.h"
#include "hs_log.h"
#include "hs_obj.h"
#include "hs_pb.h"
#include "hs_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int s_share (const row_t *row, int w)
{
    return row->clients / row->procs + (w < row->clients % row->procs);
}

/* ------------------------------------------------------------------ the pod */

/* The benchmark's Pod: what `hsctl apply` of a one-container pod carries. */
Hs__Object *sl_make_pod (const char *name, int64_t sent_real_ns)
{
    Hs__Object *obj = hs_obj_new (HS_KIND_POD, "default", name);
    Hs__Pod *pod = obj->pod;
    hs_pb_map_set ((void ***)&pod->metadata->labels, &pod->metadata->n_labels,
                   &hs__object_meta__labels_entry__descriptor, "app", "bench");
    char sent[32];
    snprintf (sent, sizeof sent, "%lld", (long long)sent_real_ns);
    hs_pb_map_set ((void ***)&pod->metadata->annotations, &pod->metadata->n_annotations,
                   &hs__object_meta__annotations_entry__descriptor, SENT_ANNOTATION, sent);
    pod->spec = hs_pb_new (&hs__pod_spec__descriptor);
    Hs__Container *c = hs_pb_new (&hs__container__descriptor);
    hs_pb_set_str (&c->name, "app");
    hs_pb_set_str (&c->image, "busybox:1.36");
    char *cmd0 = NULL, *cmd1 = NULL;
    hs_pb_take_str (&cmd0, hs_strdup ("sleep"));
    hs_pb_take_str (&cmd1, hs_strdup ("3600"));
    hs_pb_push ((void ***)&c->command, &c->n_command, cmd0);
    hs_pb_push ((void ***)&c->command, &c->n_command, cmd1);
    hs_pb_push ((void ***)&pod->spec->containers, &pod->spec->n_containers, c);
    hs_pb_set_str (&pod->spec->restart_policy, "Always");
    return obj;
}

size_t sl_pod_size (void)
{
    Hs__Object *o = sl_make_pod ("r0-w0-c000-0000000", hs_now_ns ());
    size_t len = hs__object__get_packed_size (o);
    hs_pb_free (o);
    return len;
}

/* ------------------------------------------------------------------ hs client worker */

typedef struct worker worker_t;

typedef struct {
    worker_t *w;
    int idx;
    uint64_t seq;
    int64_t sent_ns;
    bool busy;
} lclient_t;

struct worker {
    const row_t *row;
    int id;
    hs_client_t *cl;
    int64_t t_meas, t_end;
    int inflight;
    bl_result_t res;
    lclient_t *lcs;
};

static void s_hs_send (lclient_t *lc);

static void s_hs_on_ack (void *arg, int err, const Hs__Ack *ack)
{
    lclient_t *lc = arg;
    worker_t *w = lc->w;
    int64_t now = hs_mono_ns ();
    lc->busy = false;
    w->inflight--;
    if (err == 0 && ack && ack->code == HS__CODE__CODE_OK) w->res.c[C_ALL_OK]++;
    if (now >= w->t_meas && now < w->t_end) {
        if (err == -ETIMEDOUT)
            w->res.c[C_TIMEOUT]++;
        else if (err < 0 || !ack || ack->code != HS__CODE__CODE_OK)
            w->res.c[C_ERR]++;
        else {
            w->res.c[C_OK]++;
            bl_samples_add (&w->res.s[0], (uint64_t)(now - lc->sent_ns));
        }
    }
    if (err == 0 && ack && ack->code != HS__CODE__CODE_OK && w->res.c[C_ERR] == 1)
        fprintf (stderr, "bench-store: first error ack: %s: %s\n", hs_code_reason (ack->code),
                 hs_s (ack->message));
    if (now < w->t_end) s_hs_send (lc);
}

static void s_hs_send (lclient_t *lc)
{
    worker_t *w = lc->w;
    char name[64];
    snprintf (name, sizeof name, "r%d-w%d-c%03d-%07llu", w->row->row, w->id, lc->idx,
              (unsigned long long)lc->seq++);
    Hs__Write *wr = hs_write_new (HS__OP__OP_APPLY, sl_make_pod (name, hs_now_ns ()));
    hs_call_opts_t opts = {.timeout_ms = 30000};
    lc->sent_ns = hs_mono_ns ();
    int r = hs_client_send (w->cl, &wr, 1, &opts, s_hs_on_ack, lc);
    hs_pb_free (wr);
    if (r < 0) {
        w->res.c[C_ERR]++;
        return;
    }
    lc->busy = true;
    w->inflight++;
}

static int s_hs_client (const row_t *row, int id)
{
    worker_t w = {.row = row, .id = id};
    char inst[32];
    snprintf (inst, sizeof inst, "bench%d-%d", id, (int)getpid ());
    int r = hs_client_new (row->bus, "bench-store", inst, 10000, &w.cl);
    if (r < 0) bl_worker_fail ("client: cannot join hs-bus at %s: %s", row->bus, strerror (-r));
    /* Proves hs-store answers before the clock starts. */
    char name[64];
    snprintf (name, sizeof name, "r%d-w%d-ready", row->row, id);
    Hs__Write *wr = hs_write_new (HS__OP__OP_APPLY, sl_make_pod (name, hs_now_ns ()));
    hs_call_opts_t opts = {.timeout_ms = 15000};
    Hs__Ack *ack = NULL;
    r = hs_client_call (w.cl, &wr, 1, &opts, &ack);
    hs_pb_free (wr);
    if (r < 0) bl_worker_fail ("hs-store did not answer a command within 15 s (%s)", strerror (-r));
    if (ack->code != HS__CODE__CODE_OK)
        bl_worker_fail ("hs-store refused the benchmark pod: %s: %s", hs_code_reason (ack->code),
                        hs_s (ack->message));
    hs_pb_free (ack);

    int n = s_share (row, id);
    w.lcs = hs_calloc ((size_t)n, sizeof *w.lcs);
    w.res.c[C_LOGICAL] = (uint64_t)n;
    int64_t t0 = bl_worker_ready ();
    w.t_meas = t0 + row->warm_ns;
    w.t_end = w.t_meas + row->dur_ns;
    bl_sleep_until (t0);
    for (int i = 0; i < n; i++) {
        w.lcs[i].w = &w;
        w.lcs[i].idx = i;
        s_hs_send (&w.lcs[i]);
    }
    /* After the window, let the calls in flight finish (not counted). */
    int64_t drain_end = w.t_end + 5000000000LL;
    while (hs_mono_ns () < drain_end && (w.inflight > 0 || hs_mono_ns () < w.t_end)) {
        r = hs_client_process (w.cl, 20);
        if (r < 0 && r != -EINTR) break;
    }
    char *path = hs_sprintf ("%s/w%d", row->dir, id);
    r = bl_result_write (path, &w.res);
    free (path);
    hs_client_destroy (&w.cl);
    free (w.lcs);
    return r < 0;
}

/* ------------------------------------------------------------------ event subscriber */

static int s_hs_events (const row_t *row)
{
    hs_bus_t *bus = NULL;
    int r = hs_bus_connect (row->bus, "bench-store", NULL, &bus);
    if (r < 0) bl_worker_fail ("subscriber: cannot connect to %s: %s", row->bus, strerror (-r));
    hs_bus_subscribe (bus, "ev.pod.");
    if (hs_bus_join (bus, 10000) < 0) bl_worker_fail ("subscriber: no hs-bus at %s", row->bus);
    int64_t t0 = bl_worker_ready ();
    int64_t t_meas = t0 + row->warm_ns, t_end = t_meas + row->dur_ns;
    bl_result_t res = {0};
    uint64_t last_seq = 0;
    char *stream = NULL;
    while (hs_mono_ns () < t_end + 1000000000LL) {
        char *topic;
        Hs__Envelope *env;
        r = hs_bus_recv (bus, &topic, &env, 50);
        if (r < 0) continue;
        int64_t now_real = hs_now_ns (), now = hs_mono_ns ();
        if (env->body_case == HS__ENVELOPE__BODY_EVENT && env->event->object &&
            env->event->object->pod && env->event->object->pod->metadata) {
            const Hs__WatchEvent *ev = env->event;
            /* Stream sequences have no gaps: count what the bus lost. */
            if (stream && hs_streq (stream, ev->stream) && ev->seq > last_seq + 1)
                res.c[E_GAPS] += ev->seq - last_seq - 1;
            if (!stream || !hs_streq (stream, ev->stream)) {
                free (stream);
                stream = hs_strdup (ev->stream);
            }
            last_seq = ev->seq;
            if (now >= t_meas && now < t_end) {
                res.c[E_EVENTS]++;
                if (ev->committed_at_ns > 0)
                    bl_samples_add (&res.s[0], (uint64_t)(now_real - ev->committed_at_ns));
                const Hs__ObjectMeta *m = ev->object->pod->metadata;
                const char *sent = hs_pb_map_get ((void *const *)m->annotations, m->n_annotations,
                                                  SENT_ANNOTATION);
                int64_t sent_ns;
                if (sent && hs_parse_i64 (sent, &sent_ns) == 0)
                    bl_samples_add (&res.s[1], (uint64_t)(now_real - sent_ns));
            }
        } else {
            res.c[E_OTHER]++;
        }
        free (topic);
        hs_pb_free (env);
    }
    free (stream);
    hs_bus_destroy (&bus);
    char *path = hs_sprintf ("%s/events", row->dir);
    r = bl_result_write (path, &res);
    free (path);
    bl_result_free (&res);
    return r < 0;
}

/* ------------------------------------------------------------------ etcd client worker */

char *sl_base64 (const uint8_t *in, size_t len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = hs_malloc ((len + 2) / 3 * 4 + 1), *o = out;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len) v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len) v |= in[i + 2];
        *o++ = tab[(v >> 18) & 63];
        *o++ = tab[(v >> 12) & 63];
        *o++ = i + 1 < len ? tab[(v >> 6) & 63] : '=';
        *o++ = i + 2 < len ? tab[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

typedef struct {
    int fd;
    int idx;
    uint64_t seq;
    int64_t sent_ns;
    hs_buf_t out; /* unsent bytes from out_off: requests and control frames */
    size_t out_off;
    char *in;
    size_t in_len, in_cap;
    bool busy;
    /* gRPC over HTTP/2 */
    uint32_t stream;     /* the stream in flight */
    bool got_data;       /* it carried a response message */
    int64_t send_window; /* connection-level, what etcd lets us send */
} conn_t;

int sl_tcp_connect (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons ((uint16_t)port)};
    a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if (connect (fd, (struct sockaddr *)&a, sizeof a) < 0) {
        int e = errno;
        close (fd);
        return -e;
    }
    int one = 1;
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* One complete HTTP/1.1 response at the start of buf? Returns its length (0:
 * not yet, -1: malformed) and its status code. */
static ssize_t s_http_complete (const char *buf, size_t len, int *ret_status)
{
    const char *end = memmem (buf, len, "\r\n\r\n", 4);
    if (!end) return 0;
    size_t hdr = (size_t)(end - buf) + 4;
    int status = 0;
    if (sscanf (buf, "HTTP/1.%*d %d", &status) != 1) return -1;
    *ret_status = status;
    /* Header names are case-insensitive. */
    char *h = hs_strndup (buf, hdr);
    for (char *p = h; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    const char *cl = strstr (h, "\r\ncontent-length:");
    bool chunked = strstr (h, "\r\ntransfer-encoding: chunked") != NULL;
    ssize_t total;
    if (cl) {
        long n = strtol (cl + 17, NULL, 10);
        total = n < 0 ? -1 : hdr + (size_t)n <= len ? (ssize_t)(hdr + (size_t)n) : 0;
    } else if (chunked) {
        const char *z = memmem (buf + hdr, len - hdr, "0\r\n\r\n", 5);
        total = z ? (ssize_t)((z + 5) - buf) : 0;
    } else {
        total = (ssize_t)hdr; /* no body */
    }
    free (h);
    return total;
}

typedef struct {
    const row_t *row;
    int id;
    const uint8_t *value;
    const char *value_b64;
    int64_t t_meas, t_end;
    bl_result_t res;
    int inflight;
} ework_t;

/* ---- HTTP/2 framing, just enough for unary gRPC calls (RFC 7540, 7541) */

enum { H2_DATA = 0, H2_HEADERS = 1, H2_RST = 3, H2_SETTINGS = 4, H2_PING = 6, H2_GOAWAY = 7 };
enum { H2_WINUPDATE = 8, H2_END_STREAM = 1, H2_ACK = 1, H2_END_HEADERS = 4 };
#define H2_MAX_WINDOW 0x7fffffff

static void s_h2_frame (hs_buf_t *b, size_t len, uint8_t type, uint8_t flags, uint32_t stream)
{
    uint8_t h[9] = {(uint8_t)(len >> 16),
                    (uint8_t)(len >> 8),
                    (uint8_t)len,
                    type,
                    flags,
                    (uint8_t)(stream >> 24),
                    (uint8_t)(stream >> 16),
                    (uint8_t)(stream >> 8),
                    (uint8_t)stream};
    hs_buf_append (b, h, 9);
}

/* HPACK string literal, no Huffman, 7-bit length prefix (our strings < 127). */
static void s_hpack_str (hs_buf_t *b, const char *s)
{
    uint8_t len = (uint8_t)strlen (s);
    hs_buf_append (b, &len, 1);
    hs_buf_append (b, s, len);
}

static void s_pb_varint (hs_buf_t *b, uint64_t v)
{
    do {
        uint8_t byte = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) byte |= 0x80;
        hs_buf_append (b, &byte, 1);
    } while (v);
}

/* The connection preface, our SETTINGS (large stream windows) and a large
 * connection window, so etcd's answers never wait on flow control. */
static void s_h2_start (conn_t *c)
{
    hs_buf_puts (&c->out, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    s_h2_frame (&c->out, 6, H2_SETTINGS, 0, 0);
    uint8_t set[6] = {0, 4, 0x7f, 0xff, 0xff, 0xff}; /* INITIAL_WINDOW_SIZE */
    hs_buf_append (&c->out, set, 6);
    s_h2_frame (&c->out, 4, H2_WINUPDATE, 0, 0);
    uint32_t inc = H2_MAX_WINDOW - 65535;
    uint8_t w[4] = {(uint8_t)(inc >> 24), (uint8_t)(inc >> 16), (uint8_t)(inc >> 8), (uint8_t)inc};
    hs_buf_append (&c->out, w, 4);
    c->send_window = 65535;
    c->stream = 0;
}

/* Appends an etcdserverpb.KV/Put call with key and value on a new stream. */
static void s_grpc_put (ework_t *e, conn_t *c, const char *key, size_t klen)
{
    c->stream = c->stream ? c->stream + 2 : 1;
    c->got_data = false;
    hs_buf_t hp = {0};
    char auth[32];
    snprintf (auth, sizeof auth, "127.0.0.1:%d", e->row->etcd_port);
    hs_buf_append (&hp, "\x83\x86", 2); /* :method POST, :scheme http (static table) */
    hs_buf_append (&hp, "\x04", 1);     /* :path, literal value, not indexed */
    s_hpack_str (&hp, "/etcdserverpb.KV/Put");
    hs_buf_append (&hp, "\x01", 1); /* :authority */
    s_hpack_str (&hp, auth);
    hs_buf_append (&hp, "\x0f\x10", 2); /* content-type (static index 31) */
    s_hpack_str (&hp, "application/grpc");
    hs_buf_append (&hp, "\x00", 1); /* te: trailers, new name */
    s_hpack_str (&hp, "te");
    s_hpack_str (&hp, "trailers");
    s_h2_frame (&c->out, hp.len, H2_HEADERS, H2_END_HEADERS, c->stream);
    hs_buf_append (&c->out, hp.data, hp.len);
    hs_buf_free (&hp);

    hs_buf_t pb = {0}; /* PutRequest {bytes key = 1; bytes value = 2;} */
    hs_buf_append (&pb, "\x0a", 1);
    s_pb_varint (&pb, klen);
    hs_buf_append (&pb, key, klen);
    hs_buf_append (&pb, "\x12", 1);
    s_pb_varint (&pb, e->row->value_size);
    hs_buf_append (&pb, e->value, e->row->value_size);
    uint8_t lp[5] = {0, (uint8_t)(pb.len >> 24), (uint8_t)(pb.len >> 16), (uint8_t)(pb.len >> 8),
                     (uint8_t)pb.len};
    s_h2_frame (&c->out, pb.len + 5, H2_DATA, H2_END_STREAM, c->stream);
    hs_buf_append (&c->out, lp, 5);
    hs_buf_append (&c->out, pb.data, pb.len);
    c->send_window -= (int64_t)(pb.len + 5);
    if (c->send_window < 0) bl_die ("etcd: HTTP/2 connection window exhausted");
    hs_buf_free (&pb);
}

/* Consumes complete frames from c->in, answering SETTINGS and PING. Returns
 * 1 when the call in flight finished (*ret_ok: it carried a response
 * message; a gRPC error is trailers only), 0 if more input is needed. */
static int s_h2_parse (conn_t *c, bool *ret_ok)
{
    size_t off = 0;
    int done = 0;
    while (!done && c->in_len - off >= 9) {
        const uint8_t *f = (const uint8_t *)c->in + off;
        size_t len = (size_t)f[0] << 16 | (size_t)f[1] << 8 | f[2];
        uint8_t type = f[3], flags = f[4];
        uint32_t sid =
            ((uint32_t)f[5] << 24 | (uint32_t)f[6] << 16 | (uint32_t)f[7] << 8 | f[8]) & 0x7fffffff;
        if (c->in_len - off < 9 + len) break;
        const uint8_t *p = f + 9;
        switch (type) {
        case H2_SETTINGS:
            if (!(flags & H2_ACK)) s_h2_frame (&c->out, 0, H2_SETTINGS, H2_ACK, 0);
            break;
        case H2_PING:
            if (!(flags & H2_ACK) && len == 8) {
                s_h2_frame (&c->out, 8, H2_PING, H2_ACK, 0);
                hs_buf_append (&c->out, p, 8);
            }
            break;
        case H2_WINUPDATE:
            if (sid == 0 && len == 4)
                c->send_window +=
                    ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]) &
                    0x7fffffff;
            break;
        case H2_GOAWAY: bl_die ("etcd sent GOAWAY");
        case H2_DATA:
            if (sid == c->stream && len > 5) c->got_data = true;
            if (sid == c->stream && (flags & H2_END_STREAM)) done = 1;
            break;
        case H2_HEADERS:
            if (sid == c->stream && (flags & H2_END_STREAM)) done = 1;
            break;
        case H2_RST:
            if (sid == c->stream) {
                c->got_data = false;
                done = 1;
            }
            break;
        default: break;
        }
        off += 9 + len;
    }
    memmove (c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    *ret_ok = c->got_data;
    return done;
}

static void s_etcd_build (ework_t *e, conn_t *c)
{
    char key[128];
    int kl = snprintf (key, sizeof key, "/registry/pods/default/r%d-w%d-c%03d-%07llu", e->row->row,
                       e->id, c->idx, (unsigned long long)c->seq++);
    if (e->row->grpc) {
        s_grpc_put (e, c, key, (size_t)kl);
        return;
    }
    char *k64 = sl_base64 ((const uint8_t *)key, (size_t)kl);
    char *body = hs_sprintf ("{\"key\":\"%s\",\"value\":\"%s\"}", k64, e->value_b64);
    free (k64);
    hs_buf_printf (&c->out,
                   "POST /v3/kv/put HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                   "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                   e->row->etcd_port, strlen (body), body);
    free (body);
}

/* Writes what is pending on c; 0 all sent, 1 would block, -1 error. */
static int s_etcd_flush (conn_t *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = send (c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) return errno == EAGAIN || errno == EINTR ? 1 : -1;
        c->out_off += (size_t)n;
    }
    c->out.len = c->out_off = 0;
    return 0;
}

static void s_etcd_kick (int ep, conn_t *c)
{
    int f = s_etcd_flush (c);
    if (f < 0) bl_die ("etcd: send failed: %s", strerror (errno));
    struct epoll_event ev = {.events = EPOLLIN | (f ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl (ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static int s_etcd_client (const row_t *row, int id)
{
    ework_t e = {.row = row, .id = id};
    uint8_t *value = hs_malloc (row->value_size);
    for (size_t i = 0; i < row->value_size; i++) value[i] = (uint8_t)(i * 131 + 7);
    char *v64 = sl_base64 (value, row->value_size);
    e.value = value;
    e.value_b64 = v64;
    int n = s_share (row, id);
    conn_t *cs = hs_calloc ((size_t)n, sizeof *cs);
    int ep = epoll_create1 (EPOLL_CLOEXEC);
    for (int i = 0; i < n; i++) {
        cs[i].idx = i;
        cs[i].fd = sl_tcp_connect (row->etcd_port);
        if (cs[i].fd < 0) bl_worker_fail ("cannot connect to etcd: %s", strerror (-cs[i].fd));
        cs[i].in_cap = 16384;
        cs[i].in = hs_malloc (cs[i].in_cap);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
        epoll_ctl (ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
        if (row->grpc) {
            s_h2_start (&cs[i]);
            s_etcd_kick (ep, &cs[i]);
        }
    }
    e.res.c[C_LOGICAL] = (uint64_t)n;
    int64_t t0 = bl_worker_ready ();
    e.t_meas = t0 + row->warm_ns;
    e.t_end = e.t_meas + row->dur_ns;
    bl_sleep_until (t0);
    for (int i = 0; i < n; i++) {
        s_etcd_build (&e, &cs[i]);
        cs[i].sent_ns = hs_mono_ns ();
        s_etcd_kick (ep, &cs[i]);
        cs[i].busy = true;
        e.inflight++;
    }
    int64_t drain_end = e.t_end + 5000000000LL;
    struct epoll_event evs[256];
    while (hs_mono_ns () < drain_end && e.inflight > 0) {
        int k = epoll_wait (ep, evs, 256, 20);
        for (int j = 0; j < k; j++) {
            conn_t *c = evs[j].data.ptr;
            if (evs[j].events & EPOLLOUT) s_etcd_kick (ep, c);
            if (!(evs[j].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
            if (c->in_len + 4096 > c->in_cap) {
                c->in_cap *= 2;
                c->in = hs_realloc (c->in, c->in_cap);
            }
            ssize_t got = recv (c->fd, c->in + c->in_len, c->in_cap - c->in_len - 1, 0);
            if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR))
                bl_die ("etcd closed a connection (%s)", got == 0 ? "EOF" : strerror (errno));
            if (got < 0) continue;
            c->in_len += (size_t)got;
            bool ok = false;
            int status = 0;
            if (row->grpc) {
                if (!s_h2_parse (c, &ok)) {
                    if (c->out.len) s_etcd_kick (ep, c); /* SETTINGS/PING acks */
                    continue;
                }
            } else {
                ssize_t used = s_http_complete (c->in, c->in_len, &status);
                if (used < 0) bl_die ("etcd: malformed HTTP response");
                if (used == 0) continue;
                ok = status == 200;
                memmove (c->in, c->in + used, c->in_len - (size_t)used);
                c->in_len -= (size_t)used;
            }
            if (!c->busy) continue;
            int64_t now = hs_mono_ns ();
            if (ok) e.res.c[C_ALL_OK]++;
            if (now >= e.t_meas && now < e.t_end) {
                if (ok) {
                    e.res.c[C_OK]++;
                    bl_samples_add (&e.res.s[0], (uint64_t)(now - c->sent_ns));
                } else if (++e.res.c[C_ERR] == 1) {
                    fprintf (stderr, "bench-store: etcd refused a put (%s %d)\n",
                             row->grpc ? "gRPC, no response message" : "HTTP", status);
                }
            }
            c->busy = false;
            e.inflight--;
            if (now < e.t_end) {
                s_etcd_build (&e, c);
                c->sent_ns = hs_mono_ns ();
                c->busy = true;
                e.inflight++;
            }
            if (c->out.len) s_etcd_kick (ep, c);
        }
    }
    char *path = hs_sprintf ("%s/w%d", row->dir, id);
    int r = bl_result_write (path, &e.res);
    free (path);
    for (int i = 0; i < n; i++) {
        close (cs[i].fd);
        free (cs[i].in);
        hs_buf_free (&cs[i].out);
    }
    free (cs);
    close (ep);
    free (v64);
    free (value);
    bl_result_free (&e.res);
    return r < 0;
}

/* Blocking request (GET if body is NULL, else POST); returns the status and
 * the whole response (caller frees). */
int sl_http_req (int port, const char *path, const char *body, int timeout_ms, char **ret_body)
{
    int fd = sl_tcp_connect (port);
    if (fd < 0) return fd;
    char req[1024];
    int len = body ? snprintf (req, sizeof req,
                               "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
                               "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                               path, port, strlen (body), body)
                   : snprintf (req, sizeof req,
                               "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n",
                               path, port);
    if (len <= 0 || len >= (int)sizeof req) {
        close (fd);
        return -EINVAL;
    }
    if (send (fd, req, (size_t)len, MSG_NOSIGNAL) != len) {
        close (fd);
        return -EIO;
    }
    hs_buf_t b = {0};
    char buf[4096];
    struct pollfd p = {fd, POLLIN, 0};
    while (poll (&p, 1, timeout_ms) > 0) {
        ssize_t n = recv (fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        hs_buf_append (&b, buf, (size_t)n);
        /* A whole response is enough: a server may keep the connection. */
        int st;
        if (s_http_complete (b.data, b.len, &st) > 0) break;
    }
    close (fd);
    int status = 0;
    if (!b.data || sscanf (b.data, "HTTP/1.%*d %d", &status) != 1) status = -EPROTO;
    *ret_body = hs_buf_take (&b);
    return status;
}

int sl_http_get (int port, const char *path, char **ret_body)
{
    return sl_http_req (port, path, NULL, 2000, ret_body);
}

int sl_http_post (int port, const char *path, const char *body, char **ret_body)
{
    return sl_http_req (port, path, body, 2000, ret_body);
}

/* ------------------------------------------------------------------ rows */

/* Reads the store's object count from its heartbeat (hb.store). */
static int s_hs_check (const row_t *row)
{
    hs_bus_t *bus = NULL;
    if (hs_bus_connect (row->bus, "bench-store", NULL, &bus) < 0) return 1;
    hs_bus_subscribe (bus, "hb.store");
    bl_result_t res = {0};
    if (hs_bus_join (bus, 5000) == 0) {
        int64_t deadline = hs_mono_ns () + 3000000000LL;
        while (hs_mono_ns () < deadline) {
            char *topic;
            Hs__Envelope *env;
            if (hs_bus_recv (bus, &topic, &env, 100) < 0) continue;
            bool hb = env->body_case == HS__ENVELOPE__BODY_STORE_HEARTBEAT;
            if (hb) res.c[0] = env->store_heartbeat->objects + 1; /* 0: none seen */
            free (topic);
            hs_pb_free (env);
            if (hb) break;
        }
    }
    hs_bus_destroy (&bus);
    char *path = hs_sprintf ("%s/check", row->dir);
    int r = bl_result_write (path, &res);
    free (path);
    return r < 0;
}

int sl_worker (void *arg, int i)
{
    const row_t *row = arg;
    if (row->target == TARGET_CHECK) {
        bl_worker_ready ();
        return s_hs_check (row);
    }
    if (row->target == TARGET_ETCD) return s_etcd_client (row, i);
    return i == 0 ? s_hs_events (row) : s_hs_client (row, i - 1);
}

int sl_run_row (const char *tmp, row_t *row, rowres_t *out)
{
    char *dir = hs_sprintf ("%s/row%d", tmp, row->row);
    if (mkdir (dir, 0700) < 0) bl_die ("mkdir %s: %s", dir, strerror (errno));
    row->dir = dir;
    bool hs = row->target == TARGET_HS;
    int nw = row->procs + (hs ? 1 : 0);
    bl_group_t *g = bl_group_start (nw, sl_worker, row);
    int64_t t0;
    if (bl_group_go (g, 30000, 100, &t0) < 0) {
        bl_group_wait (&g, 2000);
        free (dir);
        return -1;
    }
    /* The servers' CPU during the measured window: a steadier figure than
     * the rate on a shared VM, and where the next optimisation should go. */
    bl_sleep_until (t0 + row->warm_ns);
    double cpu0[2] = {bl_cpu_s (row->server_pid), bl_cpu_s (row->bus_pid)};
    bl_sleep_until (t0 + row->warm_ns + row->dur_ns);
    double cpu1[2] = {bl_cpu_s (row->server_pid), bl_cpu_s (row->bus_pid)};
    int64_t total_ms = (row->warm_ns + row->dur_ns) / 1000000;
    int failed = bl_group_wait (&g, (int)total_ms + 20000);
    if (failed) fprintf (stderr, "bench-store: %d worker(s) failed in row %d\n", failed, row->row);
    memset (out, 0, sizeof *out);
    out->clients = row->clients;
    uint64_t tmo = 0;
    for (int i = 0; i < row->procs; i++) {
        char *path = hs_sprintf ("%s/w%d", dir, i);
        bl_result_t r;
        if (bl_result_read (path, &r) == 0) {
            out->ok += r.c[C_OK];
            out->all_ok += r.c[C_ALL_OK];
            out->errors += r.c[C_ERR] + r.c[C_TIMEOUT];
            tmo += r.c[C_TIMEOUT];
            bl_samples_merge (&out->lat, &r.s[0]);
        } else {
            fprintf (stderr, "bench-store: row %d: worker %d left no result\n", row->row, i);
        }
        bl_result_free (&r);
        free (path);
    }
    if (hs) {
        char *path = hs_sprintf ("%s/events", dir);
        bl_result_t r;
        if (bl_result_read (path, &r) == 0) {
            out->events = r.c[E_EVENTS];
            out->gaps = r.c[E_GAPS];
            bl_samples_merge (&out->ev_commit, &r.s[0]);
            bl_samples_merge (&out->ev_send, &r.s[1]);
        }
        bl_result_free (&r);
        free (path);
    }
    bl_samples_sort (&out->lat);
    bl_samples_sort (&out->ev_commit);
    bl_samples_sort (&out->ev_send);
    out->rate = (double)out->ok / ((double)row->dur_ns / 1e9);
    out->server_cpu_s = cpu0[0] < 0 || cpu1[0] < 0 ? -1 : cpu1[0] - cpu0[0];
    out->bus_cpu_s = cpu0[1] < 0 || cpu1[1] < 0 ? -1 : cpu1[1] - cpu0[1];
    out->done = true;
    free (dir);
    return 0;
}

void sl_rowres_free (rowres_t *r)
{
    bl_samples_free (&r->lat);
    bl_samples_free (&r->ev_commit);
    bl_samples_free (&r->ev_send);
}

void sl_print_hs_header (void)
{
    printf ("%7s %5s %12s %7s %9s %9s %9s %10s %10s %10s %10s %6s %9s %9s\n", "clients", "procs",
            "applies/s", "errors", "ack p50", "ack p99", "ack max", "cmt>ev p50", "cmt>ev p99",
            "snd>ev p50", "snd>ev p99", "ev gap", "store cpu", "bus cpu");
}

/* CPU seconds per operation, as "12.3 us". */
const char *sl_fmt_cpu_per_op (double cpu_s, uint64_t ops, char *buf, size_t len)
{
    if (cpu_s < 0 || ops == 0)
        snprintf (buf, len, "-");
    else
        snprintf (buf, len, "%.1f us", cpu_s * 1e6 / (double)ops);
    return buf;
}

void sl_print_hs_row (const row_t *row, const rowres_t *r)
{
    char b[10][32];
    printf ("%7d %5d %12s %7llu %9s %9s %9s %10s %10s %10s %10s %6llu %9s %9s\n", r->clients,
            row->procs, bl_fmt_count (r->rate, b[0], 32), (unsigned long long)r->errors,
            bl_fmt_ns (bl_pct (&r->lat, 50), b[1], 32), bl_fmt_ns (bl_pct (&r->lat, 99), b[2], 32),
            bl_fmt_ns (bl_pct (&r->lat, 100), b[3], 32),
            bl_fmt_ns (bl_pct (&r->ev_commit, 50), b[4], 32),
            bl_fmt_ns (bl_pct (&r->ev_commit, 99), b[5], 32),
            bl_fmt_ns (bl_pct (&r->ev_send, 50), b[6], 32),
            bl_fmt_ns (bl_pct (&r->ev_send, 99), b[7], 32), (unsigned long long)r->gaps,
            sl_fmt_cpu_per_op (r->server_cpu_s, r->ok, b[8], 32),
            sl_fmt_cpu_per_op (r->bus_cpu_s, r->ok, b[9], 32));
}

void sl_print_etcd_header (void)
{
    printf ("%7s %5s %12s %7s %9s %9s %9s %9s\n", "clients", "procs", "writes/s", "errors", "p50",
            "p99", "max", "etcd cpu");
}

void sl_print_etcd_row (const row_t *row, const rowres_t *r)
{
    char b[5][32];
    printf ("%7d %5d %12s %7llu %9s %9s %9s %9s\n", r->clients, row->procs,
            bl_fmt_count (r->rate, b[0], 32), (unsigned long long)r->errors,
            bl_fmt_ns (bl_pct (&r->lat, 50), b[1], 32), bl_fmt_ns (bl_pct (&r->lat, 99), b[2], 32),
            bl_fmt_ns (bl_pct (&r->lat, 100), b[3], 32),
            sl_fmt_cpu_per_op (r->server_cpu_s, r->ok, b[4], 32));
}

pid_t sl_spawn_etcd (const char *name, int cport, int pport, const char *cluster, const char *data,
                     const char *log, const char *const *extra)
{
    char curl[64], purl[64];
    snprintf (curl, sizeof curl, "http://127.0.0.1:%d", cport);
    snprintf (purl, sizeof purl, "http://127.0.0.1:%d", pport);
    const char *base[] = {"/usr/bin/etcd",
                          "--name",
                          name,
                          "--data-dir",
                          data,
                          "--listen-client-urls",
                          curl,
                          "--advertise-client-urls",
                          curl,
                          "--listen-peer-urls",
                          purl,
                          "--initial-advertise-peer-urls",
                          purl,
                          "--initial-cluster",
                          cluster,
                          "--logger",
                          "zap",
                          "--log-outputs",
                          "stderr",
                          "--log-level",
                          "error"};
    size_t nb = HS_ARRAY_LEN (base), ne = 0;
    while (extra && extra[ne]) ne++;
    char **argv = hs_calloc (nb + ne + 1, sizeof *argv);
    for (size_t i = 0; i < nb; i++) argv[i] = (char *)base[i];
    for (size_t i = 0; i < ne; i++) argv[nb + i] = (char *)extra[i];
    pid_t pid = bl_spawn (argv, log);
    free (argv);
    return pid;
}

int sl_start_etcd (const char *tmp, int *ret_port, pid_t *ret_pid, char **ret_log)
{
    int port = bl_free_port (true);
    char cluster[96];
    snprintf (cluster, sizeof cluster, "bench=http://127.0.0.1:%d", port + 1);
    char *data = hs_sprintf ("%s/etcd-data", tmp);
    char *log = hs_sprintf ("%s/etcd.log", tmp);
    if (access ("/usr/bin/etcd", X_OK) != 0) {
        fprintf (stderr, "bench-store: /usr/bin/etcd not found (Debian package etcd-server)\n");
        free (data);
        free (log);
        return -1;
    }
    pid_t pid = sl_spawn_etcd ("bench", port, port + 1, cluster, data, log, NULL);
    int64_t deadline = hs_mono_ns () + 20000000000LL;
    int rc = -1;
    while (hs_mono_ns () < deadline && bl_alive (pid)) {
        char *body = NULL;
        int st = sl_http_get (port, "/health", &body);
        bool ok = st == 200 && body && strstr (body, "\"health\":\"true\"");
        free (body);
        if (ok) {
            rc = 0;
            break;
        }
        usleep (50000);
    }
    free (data);
    if (rc < 0) {
        bl_tail_log (log, 20);
        fprintf (stderr, "bench-store: etcd did not become healthy within 20 s\n");
        bl_stop (pid);
        free (log);
        return -1;
    }
    *ret_port = port;
    *ret_pid = pid;
    *ret_log = log;
    return 0;
}
