/*  hs_bus.c: PUB/SUB connection to hs-bus, checked decoding, garbage counting. */
#include "hs_bus.h"
#include "hs_cred.h"
#include "hs_log.h"
#include "hs_metric.h"
#include "hs_topic.h"
#include "hs_util.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#define JOIN_QUEUE_MAX 10000

typedef struct s_queued {
    char *topic;
    Hs__Envelope *env;
    size_t size;
    char *peer; /* the cmd.* stamp, or NULL */
    struct s_queued *next;
} s_queued_t;

struct hs_bus_t {
    void *ctx;
    void *pub;
    void *sub;
    /* Secure mode: the credential's identity and public key; the stamp of
     * the message last returned (peer_set: there was one). The monitors
     * watch the handshakes until hs_bus_join succeeds. */
    bool secure;
    char identity[HS_CRED_MAX_IDENTITY + 1];
    char public_key[HS_CRED_Z85_LEN + 1];
    char peer[HS_CRED_MAX_IDENTITY + 1];
    bool peer_set;
    void *mon[2];
    bool handshake_ok[2], mechanism_mismatch;
    char *cred_path, *pub_ep; /* for the messages of a failed join */
    int auth_status;          /* ZAP status of a refused handshake, 0: none */
    char *component;
    char *instance;
    char *sender;
    uint64_t seq;
    uint64_t garbage[HS_GARBAGE__COUNT];
    s_queued_t *queue_head, *queue_tail;
    size_t queue_len;
    /* Several brokers (HS_BUS a list): the PUB socket is connected to every
     * one, the SUB socket to eps[cur] only. sub_up: its connection to that
     * broker has completed a handshake and not gone since; move_ns: when
     * to move on to the next broker unless it is up by then. links: SUB
     * connections made after a move (hs_bus_links). */
    hs_bus_ep_t *eps;
    size_t n_eps, cur;
    uint8_t *pub_state; /* per broker until the join: 0 unknown, 1 up, 2 refused */
    bool sub_up;
    size_t tries; /* moves since the SUB socket was last up */
    int64_t move_ns;
    uint64_t moves, links;
    hs_loop_timer_t *check_timer; /* hs_bus_attach */
    /* hs_bus_batch_begin..end: messages go out packed into one frame of a
     * bus.packed message (hs_bus.h): pack holds the pairs so far. */
    int batching; /* nesting depth of hs_bus_batch_begin */
    size_t batch_n;
    uint8_t *pack;
    size_t pack_len, pack_cap;
};

static const char *s_garbage_names[HS_GARBAGE__COUNT] = {
    [HS_GARBAGE_FRAMES] = "frames",       [HS_GARBAGE_TOPIC] = "topic",
    [HS_GARBAGE_OVERSIZED] = "oversized", [HS_GARBAGE_DECODE] = "decode",
    [HS_GARBAGE_BODY] = "body",           [HS_GARBAGE_STAMP] = "stamp",
};

const char *hs_garbage_name (hs_garbage_t reason)
{
    return reason < HS_GARBAGE__COUNT ? s_garbage_names[reason] : "?";
}

/* One address (no list) into its two endpoints. 0 or -EINVAL (also for
 * one too long for len). */
static int s_endpoints_one (const char *addr, char *ret_pub, char *ret_sub, size_t len)
{
    int n1, n2;
    if (hs_startswith (addr, "ipc://")) {
        if (!addr[6]) return -EINVAL;
        n1 = snprintf (ret_pub, len, "%s/pub", addr);
        n2 = snprintf (ret_sub, len, "%s/sub", addr);
        return n1 < 0 || n2 < 0 || (size_t)n1 >= len || (size_t)n2 >= len ? -EINVAL : 0;
    }
    if (hs_startswith (addr, "tcp://")) addr += 6;
    char host[256];
    int port = HS_BUS_PORT;
    const char *colon = strrchr (addr, ':');
    size_t hlen = colon && !strchr (colon, ']') ? (size_t)(colon - addr) : strlen (addr);
    if (hlen == 0 || hlen >= sizeof host) return -EINVAL;
    if (hlen < strlen (addr)) {
        int64_t p;
        if (hs_parse_i64 (colon + 1, &p) < 0 || p <= 0 || p >= 65535) return -EINVAL;
        port = (int)p;
    }
    memcpy (host, addr, hlen);
    host[hlen] = '\0';
    if (strchr (host, '/') || strchr (host, ' ')) return -EINVAL;
    n1 = snprintf (ret_pub, len, "tcp://%s:%d", host, port);
    n2 = snprintf (ret_sub, len, "tcp://%s:%d", host, port + 1);
    return n1 < 0 || n2 < 0 || (size_t)n1 >= len || (size_t)n2 >= len ? -EINVAL : 0;
}

int hs_bus_endpoints_list (const char *addr, hs_bus_ep_t *ret, size_t max, char *err,
                           size_t err_len)
{
    if (hs_empty (addr)) addr = getenv ("HS_BUS");
    if (hs_empty (addr)) addr = HS_BUS_DEFAULT;
    size_t n = 0;
    const char *p = addr;
    for (;;) {
        const char *comma = strchr (p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen (p);
        while (len && (*p == ' ' || *p == '\t')) p++, len--;
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t')) len--;
        char one[512];
        hs_bus_ep_t ep;
        const char *why = NULL;
        if (len == 0)
            why = "an empty element";
        else if (len >= sizeof one)
            why = "an element too long";
        else if (n >= max)
            why = "one broker too many";
        if (!why) {
            memcpy (one, p, len);
            one[len] = '\0';
            if (s_endpoints_one (one, ep.pub, ep.sub, sizeof ep.pub) < 0)
                why = "not HOST, HOST:PORT, tcp://HOST:PORT or ipc://DIR";
        }
        if (why) {
            if (err && err_len)
                snprintf (err, err_len, "bad bus address \"%.*s\" (element %zu of \"%s\"): %s",
                          (int)(len > 200 ? 200 : len), p, n + 1, addr, why);
            return -EINVAL;
        }
        ret[n++] = ep;
        if (!comma) break;
        p = comma + 1;
    }
    return (int)n;
}

int hs_bus_endpoints (const char *addr, char *ret_pub, char *ret_sub, size_t len)
{
    hs_bus_ep_t eps[HS_BUS_MAX_BROKERS];
    int n = hs_bus_endpoints_list (addr, eps, HS_BUS_MAX_BROKERS, NULL, 0);
    if (n < 0) return n;
    snprintf (ret_pub, len, "%s", eps[0].pub);
    snprintf (ret_sub, len, "%s", eps[0].sub);
    return 0;
}

/* ------------------------------------------------------------- security */

static char *s_cred_path; /* hs_bus_use_credential */
static char s_last_error[1200];
static bool s_quiet;

const char *hs_bus_last_error (void)
{
    return s_last_error[0] ? s_last_error : NULL;
}

void hs_bus_quiet_errors (bool quiet)
{
    s_quiet = quiet;
}

/* A security error: kept for hs_bus_last_error, logged unless quiet. */
static void s_sec_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
static void s_sec_error (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (s_last_error, sizeof s_last_error, fmt, ap);
    va_end (ap);
    if (!s_quiet) log_error ("%s", s_last_error);
}
static bool s_insecure; /* hs_bus_use_insecure */
static bool s_insecure_logged;

void hs_bus_use_credential (const char *path)
{
    free (s_cred_path);
    s_cred_path = path ? hs_strdup (path) : NULL;
    s_insecure = false;
}

void hs_bus_use_insecure (void)
{
    hs_bus_use_credential (NULL);
    s_insecure = true;
}

/* Which mode, in order: the flags (--insecure, then --credential), then
 * the environment, where a credential wins over HS_INSECURE (the safer
 * reading of a contradiction). NULL *ret_path: insecure. -ENOKEY: neither. */
static int s_security (const char **ret_path)
{
    if (s_insecure) {
        *ret_path = NULL;
        return 0;
    }
    if (!hs_empty (s_cred_path)) {
        *ret_path = s_cred_path;
        return 0;
    }
    const char *env = getenv ("HS_CREDENTIAL");
    if (!hs_empty (env)) {
        *ret_path = env;
        return 0;
    }
    env = getenv ("HS_INSECURE");
    if (!hs_empty (env) && strcmp (env, "0") != 0) {
        *ret_path = NULL;
        return 0;
    }
    return -ENOKEY;
}

/* A monitor on sock for the handshake events (before connecting, so that
 * none is missed), read by s_read_monitors. NULL if it cannot be made. */
static void *s_monitor (hs_bus_t *self, void *sock, int i)
{
    char ep[80];
    snprintf (ep, sizeof ep, "inproc://hs-bus-monitor-%p-%d", (void *)self, i);
    int events = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
    /* Several brokers: the SUB socket's monitor also says when its
     * connection goes (hs_bus_check), and lives as long as the bus. */
    if (i == 1 && self->n_eps > 1) events |= ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CONNECT_RETRIED;
    /* ... and the PUB socket's, until the join, which brokers are up */
    if (i == 0 && self->n_eps > 1) events |= ZMQ_EVENT_CONNECT_RETRIED;
    if (zmq_socket_monitor (sock, ep, events) != 0) return NULL;
    void *mon = zmq_socket (self->ctx, ZMQ_PAIR);
    if (mon && zmq_connect (mon, ep) != 0) {
        zmq_close (mon);
        mon = NULL;
    }
    return mon;
}

/* all: the SUB socket's failover monitor too (hs_bus_destroy). */
static void s_stop_monitors_all (hs_bus_t *self, bool all)
{
    void *socks[2] = {self->pub, self->sub};
    for (int i = 0; i < 2; i++) {
        if (!self->mon[i] || (i == 1 && self->n_eps > 1 && !all)) continue;
        zmq_socket_monitor (socks[i], NULL, 0);
        zmq_close (self->mon[i]);
        self->mon[i] = NULL;
    }
}

static void s_stop_monitors (hs_bus_t *self)
{
    s_stop_monitors_all (self, false);
}

/* The PUB socket's connection event on endpoint addr (len bytes). */
static void s_pub_event (hs_bus_t *self, uint16_t event, const char *addr, size_t len)
{
    if (!self->pub_state) return;
    for (size_t i = 0; i < self->n_eps; i++) {
        const char *ep = self->eps[i].pub;
        if (len != strlen (ep) || memcmp (addr, ep, len) != 0) continue;
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            self->pub_state[i] = 1;
        else if (self->pub_state[i] != 1)
            self->pub_state[i] = 2; /* refused, or its handshake failed */
    }
}

/* The SUB socket's connection event on endpoint addr (len bytes). */
static void s_sub_event (hs_bus_t *self, uint16_t event, const char *addr, size_t len)
{
    if (self->n_eps < 2) return;
    const char *cur = self->eps[self->cur].sub;
    if (len != strlen (cur) || memcmp (addr, cur, len) != 0) return; /* a broker we left */
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        if (!self->sub_up && self->moves) self->links++;
        self->sub_up = true;
        self->tries = 0;
    } else if (event == ZMQ_EVENT_CONNECT_RETRIED) {
        /* refused (nothing listens there): no use waiting for it, unless
         * every broker refused this round (then each gets its 500 ms, so
         * that a bus with no broker up is not a busy loop) */
        if (!self->sub_up && self->tries < self->n_eps) self->move_ns = hs_mono_ns ();
    } else if (event == ZMQ_EVENT_DISCONNECTED) {
        if (self->sub_up) log_info ("bus: lost the broker at %s", cur);
        self->sub_up = false;
        self->move_ns = hs_mono_ns (); /* move on at once */
    } else {
        /* a handshake that failed: this broker will not do */
        self->sub_up = false;
        self->move_ns = hs_mono_ns ();
    }
}

/* Reads what the monitors reported: handshakes done, refused (ZAP status),
 * mechanism mismatches. */
static void s_read_monitors (hs_bus_t *self)
{
    for (int i = 0; i < 2; i++) {
        if (!self->mon[i]) continue;
        for (;;) {
            zmq_msg_t ev, addr;
            zmq_msg_init (&ev);
            if (zmq_msg_recv (&ev, self->mon[i], ZMQ_DONTWAIT) < 0) {
                zmq_msg_close (&ev);
                break;
            }
            uint16_t event = 0;
            uint32_t value = 0;
            if (zmq_msg_size (&ev) >= 6) {
                memcpy (&event, zmq_msg_data (&ev), 2);
                memcpy (&value, (uint8_t *)zmq_msg_data (&ev) + 2, 4);
            }
            bool more = zmq_msg_more (&ev);
            zmq_msg_close (&ev);
            while (more) {
                zmq_msg_init (&addr);
                if (zmq_msg_recv (&addr, self->mon[i], 0) < 0) {
                    more = false;
                } else {
                    more = zmq_msg_more (&addr);
                    if (i == 1)
                        s_sub_event (self, event, zmq_msg_data (&addr), zmq_msg_size (&addr));
                    else
                        s_pub_event (self, event, zmq_msg_data (&addr), zmq_msg_size (&addr));
                }
                zmq_msg_close (&addr);
            }
            if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
                self->handshake_ok[i] = true;
            else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
                self->auth_status = value ? (int)value : 400;
            else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
                     value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
                self->mechanism_mismatch = true;
        }
    }
}

/* Puts the credential on both sockets: our keypair, the broker's key. */
static int s_set_curve (void *sock, const hs_cred_t *cred)
{
    if (zmq_setsockopt (sock, ZMQ_CURVE_SERVERKEY, cred->broker_key, HS_CRED_Z85_LEN + 1) != 0 ||
        zmq_setsockopt (sock, ZMQ_CURVE_PUBLICKEY, cred->public_key, HS_CRED_Z85_LEN + 1) != 0 ||
        zmq_setsockopt (sock, ZMQ_CURVE_SECRETKEY, cred->secret_key, HS_CRED_Z85_LEN + 1) != 0)
        return -errno;
    return 0;
}

const char *hs_bus_identity (hs_bus_t *self)
{
    return self->secure ? self->identity : NULL;
}

const char *hs_bus_peer_identity (hs_bus_t *self)
{
    return self->secure && self->peer_set ? self->peer : NULL;
}

/* ------------------------------------------------------------- connect */

static void s_set_common (void *sock)
{
    int hwm = HS_BUS_HWM, linger = 200, ivl = 100, ivl_max = 1000;
    zmq_setsockopt (sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt (sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt (sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt (sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt (sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max);
}

static void s_log_insecure (const char *pub_ep)
{
    if (s_insecure_logged) return;
    s_insecure_logged = true;
    log_warn ("INSECURE BUS: no authentication, no encryption (%s): anyone who can reach %s "
              "can read every object and write anything",
              s_insecure ? "--insecure" : "HS_INSECURE", pub_ep);
}

/* Connects with cred (NULL: plaintext); cred_where names where the
 * credential came from in the messages of a failed join. The caller has
 * checked addr and instance into pub_ep/sub_ep. cred's secret is copied
 * onto the sockets only. */
static int s_connect (const hs_bus_ep_t *eps, size_t n_eps, const char *component,
                      const char *instance, const hs_cred_t *cred, const char *cred_where,
                      hs_bus_t **ret_bus)
{
    int r;
    const char *pub_ep = eps[0].pub;
    hs_bus_t *self = hs_calloc (1, sizeof *self);
    self->eps = hs_calloc (n_eps, sizeof *self->eps);
    memcpy (self->eps, eps, n_eps * sizeof *eps);
    self->n_eps = n_eps;
    self->component = hs_strdup (component);
    if (hs_empty (instance)) {
        char id[9];
        hs_random_id (id, 8);
        self->instance = hs_strdup (id);
    } else {
        self->instance = hs_strdup (instance);
    }
    self->sender = hs_sprintf ("%s/%s", self->component, self->instance);
    self->ctx = zmq_ctx_new ();
    self->pub = zmq_socket (self->ctx, ZMQ_PUB);
    self->sub = zmq_socket (self->ctx, ZMQ_SUB);
    if (!self->ctx || !self->pub || !self->sub) {
        r = -errno;
        hs_bus_destroy (&self);
        return r ? r : -ENOMEM;
    }
    s_set_common (self->pub);
    s_set_common (self->sub);
    /* A bad actor on the bus may send a huge frame: never buffer more than
     * the frame limit. */
    int64_t max = HS_BUS_MAX_FRAME;
    zmq_setsockopt (self->sub, ZMQ_MAXMSGSIZE, &max, sizeof max);
    if (n_eps > 1) {
        /* Heartbeats tell a quiet broker from an idle one; and the PUB
         * socket queues nothing for a broker it is not connected to (that
         * broker's subscribers would get it late, after a restart, long
         * after their resync). */
        int ivl = HS_BUS_PING_MS, quiet = HS_BUS_QUIET_MS, one = 1;
        void *socks[2] = {self->pub, self->sub};
        for (int i = 0; i < 2; i++) {
            zmq_setsockopt (socks[i], ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl);
            zmq_setsockopt (socks[i], ZMQ_HEARTBEAT_TIMEOUT, &quiet, sizeof quiet);
        }
        zmq_setsockopt (self->pub, ZMQ_IMMEDIATE, &one, sizeof one);
    }
    if (cred) {
        self->secure = true;
        snprintf (self->identity, sizeof self->identity, "%s", cred->identity);
        snprintf (self->public_key, sizeof self->public_key, "%s", cred->public_key);
        self->cred_path = hs_strdup (cred_where);
        self->pub_ep = hs_strdup (pub_ep);
        r = s_set_curve (self->pub, cred);
        if (r == 0) r = s_set_curve (self->sub, cred);
        if (r < 0) {
            hs_bus_destroy (&self);
            return r;
        }
        self->mon[0] = s_monitor (self, self->pub, 0);
        self->mon[1] = s_monitor (self, self->sub, 1);
    } else if (n_eps > 1) {
        self->mon[0] = s_monitor (self, self->pub, 0);
        self->mon[1] = s_monitor (self, self->sub, 1);
    }
    if (n_eps > 1) self->pub_state = hs_calloc (n_eps, 1);
    for (size_t i = 0; i < n_eps; i++) {
        if (zmq_connect (self->pub, eps[i].pub) != 0) {
            r = -errno;
            hs_bus_destroy (&self);
            return r;
        }
    }
    if (zmq_connect (self->sub, eps[0].sub) != 0) {
        r = -errno;
        hs_bus_destroy (&self);
        return r;
    }
    self->move_ns = hs_mono_ns () + (int64_t)HS_BUS_CONNECT_MS * 1000000;
    *ret_bus = self;
    return 0;
}

/* The endpoints of addr, and an instance that can be a client id. */
static int s_check_addr (const char *addr, const char *instance, hs_bus_ep_t *eps, size_t *ret_n)
{
    char err[800];
    int r = hs_bus_endpoints_list (addr, eps, HS_BUS_MAX_BROKERS, err, sizeof err);
    if (r < 0) {
        s_sec_error ("%s", err);
        return r;
    }
    *ret_n = (size_t)r;
    /* The instance is the client id that acks, snapshots and echoes are
     * addressed to: it must fit in a topic, and never contain the '/'
     * that ends it there. */
    if (!hs_empty (instance) && !hs_topic_id_ok (instance)) return -EINVAL;
    return 0;
}

int hs_bus_connect (const char *addr, const char *component, const char *instance,
                    hs_bus_t **ret_bus)
{
    hs_bus_ep_t eps[HS_BUS_MAX_BROKERS];
    size_t n_eps;
    s_last_error[0] = '\0';
    int r = s_check_addr (addr, instance, eps, &n_eps);
    if (r < 0) return r;
    const char *pub_ep = eps[0].pub;
    const char *cred_path = NULL;
    if ((r = s_security (&cred_path)) < 0) {
        s_sec_error (
            "no bus credential: set HS_CREDENTIAL (or --credential FILE) to a credential "
            "file, or run `hsctl init` to make one; HS_INSECURE=1 (--insecure) runs without "
            "authentication or encryption");
        return r;
    }
    hs_cred_t *cred = NULL;
    if (cred_path) {
        char err[1024];
        if ((r = hs_cred_load (cred_path, err, sizeof err, &cred)) < 0) {
            s_sec_error ("%s", err);
            return r;
        }
    } else {
        s_log_insecure (pub_ep);
    }
    r = s_connect (eps, n_eps, component, instance, cred, cred_path, ret_bus);
    if (cred) {
        explicit_bzero (cred->secret_key, sizeof cred->secret_key);
        free (cred);
    }
    return r;
}

int hs_bus_connect_cred (const char *addr, const char *component, const char *instance,
                         const hs_cred_t *cred, hs_bus_t **ret_bus)
{
    hs_bus_ep_t eps[HS_BUS_MAX_BROKERS];
    size_t n_eps;
    s_last_error[0] = '\0';
    int r = s_check_addr (addr, instance, eps, &n_eps);
    if (r < 0) return r;
    if (!cred) {
        s_log_insecure (eps[0].pub);
    } else if (!hs_cred_role_of (cred->identity) || !hs_cred_key_ok (cred->public_key) ||
               !hs_cred_key_ok (cred->secret_key) || !hs_cred_key_ok (cred->broker_key)) {
        return -EINVAL;
    }
    char where[HS_CRED_MAX_IDENTITY + 40];
    snprintf (where, sizeof where, "the credential of %s", cred ? cred->identity : "");
    return s_connect (eps, n_eps, component, instance, cred, where, ret_bus);
}

void hs_bus_destroy (hs_bus_t **self_p)
{
    hs_bus_t *self = *self_p;
    if (!self) return;
    while (self->queue_head) {
        s_queued_t *q = self->queue_head;
        self->queue_head = q->next;
        free (q->topic);
        free (q->peer);
        hs_pb_free (q->env);
        free (q);
    }
    hs_bus_batch_flush (self); /* a batch never ended still goes */
    free (self->pack);
    s_stop_monitors_all (self, true);
    hs_loop_timer_free (&self->check_timer);
    free (self->eps);
    free (self->pub_state);
    free (self->cred_path);
    free (self->pub_ep);
    if (self->pub) zmq_close (self->pub);
    if (self->sub) zmq_close (self->sub);
    if (self->ctx) zmq_ctx_term (self->ctx);
    free (self->component);
    free (self->instance);
    free (self->sender);
    free (self);
    *self_p = NULL;
}

const char *hs_bus_sender (hs_bus_t *self)
{
    return self->sender;
}
const char *hs_bus_instance (hs_bus_t *self)
{
    return self->instance;
}
const char *hs_bus_component (hs_bus_t *self)
{
    return self->component;
}

int hs_bus_subscribe (hs_bus_t *self, const char *prefix)
{
    return zmq_setsockopt (self->sub, ZMQ_SUBSCRIBE, prefix, strlen (prefix)) == 0 ? 0 : -errno;
}

int hs_bus_unsubscribe (hs_bus_t *self, const char *prefix)
{
    return zmq_setsockopt (self->sub, ZMQ_UNSUBSCRIBE, prefix, strlen (prefix)) == 0 ? 0 : -errno;
}

static void s_pack_free (void *data, void *hint)
{
    (void)hint;
    free (data);
}

/* Sends topic and body (taken) as two frames; in a batch, appends them to
 * the pack instead (varint topic length, topic, varint body length, body),
 * sending the pack first if they would take it over HS_BUS_PACK_MAX. A
 * pair too big for any pack goes on its own, after the pack. */
static int s_send_msg (hs_bus_t *self, const char *topic, zmq_msg_t *body)
{
    size_t tlen = strlen (topic);
    if (tlen == 0 || tlen > HS_BUS_MAX_TOPIC) {
        zmq_msg_close (body);
        return -EINVAL;
    }
    size_t blen = zmq_msg_size (body);
    size_t need = 10 + tlen + 10 + blen;
    if (self->batching && need > HS_BUS_PACK_MAX) {
        int r = hs_bus_batch_flush (self);
        if (r < 0) {
            zmq_msg_close (body);
            return r;
        }
    }
    if (!self->batching || need > HS_BUS_PACK_MAX) {
        if (zmq_send (self->pub, topic, tlen, ZMQ_SNDMORE) < 0 ||
            zmq_msg_send (body, self->pub, 0) < 0) {
            int err = errno;
            zmq_msg_close (body);
            return -err;
        }
        return 0;
    }
    if (self->pack_len + need > HS_BUS_PACK_MAX) {
        int r = hs_bus_batch_flush (self);
        if (r < 0) {
            zmq_msg_close (body);
            return r;
        }
    }
    if (self->pack_len + need > self->pack_cap) {
        size_t cap = self->pack_cap ? self->pack_cap : 4096;
        while (cap < self->pack_len + need) cap *= 2;
        self->pack = hs_realloc (self->pack, cap);
        self->pack_cap = cap;
    }
    uint8_t *p = self->pack + self->pack_len;
    p += hs_pb_varint (p, tlen);
    memcpy (p, topic, tlen);
    p += tlen;
    p += hs_pb_varint (p, blen);
    if (blen) memcpy (p, zmq_msg_data (body), blen);
    p += blen;
    self->pack_len = (size_t)(p - self->pack);
    zmq_msg_close (body);
    self->batch_n++;
    return 0;
}

void hs_bus_batch_begin (hs_bus_t *self)
{
    self->batching++;
}

int hs_bus_batch_flush (hs_bus_t *self)
{
    if (self->batch_n == 0) return 0;
    self->batch_n = 0;
    /* the pack goes to ZeroMQ as it is, no copy; the next one is new */
    zmq_msg_t msg;
    uint8_t *data = self->pack;
    size_t len = self->pack_len;
    self->pack = NULL;
    self->pack_len = self->pack_cap = 0;
    if (zmq_msg_init_data (&msg, data, len, s_pack_free, NULL) != 0) {
        free (data);
        return -ENOMEM;
    }
    if (zmq_send (self->pub, HS_BUS_PACKED_TOPIC, strlen (HS_BUS_PACKED_TOPIC), ZMQ_SNDMORE) < 0 ||
        zmq_msg_send (&msg, self->pub, 0) < 0) {
        int err = errno;
        zmq_msg_close (&msg);
        return -err;
    }
    return 0;
}

int hs_bus_batch_end (hs_bus_t *self)
{
    if (self->batching > 0 && --self->batching > 0) return 0;
    return hs_bus_batch_flush (self);
}

int hs_bus_publish_raw (hs_bus_t *self, const char *topic, const void *data, size_t len)
{
    if (len > HS_BUS_MAX_MSG) return -EMSGSIZE;
    zmq_msg_t msg;
    if (zmq_msg_init_size (&msg, len) != 0) return -errno;
    if (len) memcpy (zmq_msg_data (&msg), data, len);
    return s_send_msg (self, topic, &msg);
}

int hs_bus_publish (hs_bus_t *self, const char *topic, Hs__Envelope *env)
{
    hs_pb_set_str (&env->sender, self->sender);
    env->sender_seq = ++self->seq;
    env->sent_at_ns = hs_now_ns ();
    size_t len = protobuf_c_message_get_packed_size (&env->base);
    if (len > HS_BUS_MAX_MSG) return -EMSGSIZE;
    zmq_msg_t msg; /* packed straight into the message ZeroMQ sends */
    if (zmq_msg_init_size (&msg, len) != 0) return -errno;
    protobuf_c_message_pack (&env->base, zmq_msg_data (&msg));
    return s_send_msg (self, topic, &msg);
}

int hs_bus_publish_body (hs_bus_t *self, const char *topic, unsigned field,
                         const struct iovec *parts, size_t n)
{
    size_t body = 0;
    for (size_t i = 0; i < n; i++) body += parts[i].iov_len;
    /* The envelope head, in field order as protobuf-c packs it: sender (1),
     * sender_seq (2), sent_at_ns (3), then the body's tag and length. Our
     * sender is never empty and the other two never zero, so all three are
     * present, as they are in hs_bus_publish's output. */
    size_t slen = strlen (self->sender);
    uint8_t head[3 * 11 + 2 * 10];
    if (slen > HS_BUS_MAX_MSG) return -EMSGSIZE;
    size_t h = 0;
    head[h++] = 1 << 3 | 2;
    h += hs_pb_varint (head + h, slen);
    size_t after_sender = h;
    head[h++] = 2 << 3 | 0;
    h += hs_pb_varint (head + h, ++self->seq);
    head[h++] = 3 << 3 | 0;
    h += hs_pb_varint (head + h, (uint64_t)hs_now_ns ());
    h += hs_pb_varint (head + h, (uint64_t)field << 3 | 2);
    h += hs_pb_varint (head + h, body);
    size_t len = h + slen + body;
    if (len > HS_BUS_MAX_MSG) return -EMSGSIZE;
    /* Written straight into the message ZeroMQ sends: one copy of the body,
     * which zmq_send would make anyway. */
    zmq_msg_t msg;
    if (zmq_msg_init_size (&msg, len) != 0) return -errno;
    uint8_t *p = zmq_msg_data (&msg);
    memcpy (p, head, after_sender);
    p += after_sender;
    memcpy (p, self->sender, slen);
    p += slen;
    memcpy (p, head + after_sender, h - after_sender);
    p += h - after_sender;
    for (size_t i = 0; i < n; i++) {
        if (parts[i].iov_len) memcpy (p, parts[i].iov_base, parts[i].iov_len);
        p += parts[i].iov_len;
    }
    return s_send_msg (self, topic, &msg);
}

void hs_bus_frames_free (hs_frame_t *frames, size_t n)
{
    for (size_t i = 0; i < n; i++) free (frames[i].data);
    free (frames);
}

int hs_bus_wait (hs_bus_t *self, int timeout_ms)
{
    /* zmq_poll would poll(2) once with no timeout before waiting; asking the
     * socket first costs no system call when a message is queued, which
     * under load is nearly always. ZMQ_FD only says that the socket's state
     * may have changed: ZMQ_EVENTS is the truth, asked after every wake. */
    int fd;
    size_t fd_len = sizeof fd;
    if (zmq_getsockopt (self->sub, ZMQ_FD, &fd, &fd_len) != 0) return -errno;
    int64_t deadline = timeout_ms > 0 ? hs_mono_ns () + (int64_t)timeout_ms * 1000000 : 0;
    for (;;) {
        int events;
        size_t ev_len = sizeof events;
        if (zmq_getsockopt (self->sub, ZMQ_EVENTS, &events, &ev_len) != 0) return -errno;
        if (events & ZMQ_POLLIN) return 0;
        int wait = timeout_ms;
        if (timeout_ms > 0) {
            int64_t left = deadline - hs_mono_ns ();
            if (left <= 0) return -EAGAIN;
            wait = (int)((left + 999999) / 1000000);
        }
        if (self->n_eps > 1) {
            /* several brokers: wake up often enough to notice a quiet one */
            if (hs_bus_check (self)) continue;
            if (wait < 0 || wait > HS_BUS_CHECK_MS) wait = HS_BUS_CHECK_MS;
        }
        if (timeout_ms == 0) return -EAGAIN;
        /* Never block with publications held back: what we wait for may
         * be the answer to one of them. */
        hs_bus_batch_flush (self);
        struct pollfd p = {fd, POLLIN, 0};
        if (poll (&p, 1, wait) < 0) return -errno;
    }
}

#define S_FRAMES_KEPT 8

/* Receives one message into msgs (the first S_FRAMES_KEPT frames; the
 * rest of a malformed one are drained), without copying: receive first,
 * wait only if nothing is queued. The caller closes msgs[0..*ret_n). */
static int s_recv_msgs (hs_bus_t *self, zmq_msg_t *msgs, size_t *ret_n, int timeout_ms)
{
    zmq_msg_init (&msgs[0]);
    while (zmq_msg_recv (&msgs[0], self->sub, ZMQ_DONTWAIT) < 0) {
        int err = errno;
        if (err != EAGAIN || timeout_ms == 0) {
            zmq_msg_close (&msgs[0]);
            return -err;
        }
        int r = hs_bus_wait (self, timeout_ms);
        if (r < 0) {
            zmq_msg_close (&msgs[0]);
            return r;
        }
        timeout_ms = 0; /* readable now: one more try, without waiting */
    }
    size_t n = 1;
    int more = zmq_msg_more (&msgs[0]);
    while (more) {
        zmq_msg_t extra, *m = n < S_FRAMES_KEPT ? &msgs[n] : &extra;
        zmq_msg_init (m);
        if (zmq_msg_recv (m, self->sub, 0) < 0) {
            int err = errno;
            zmq_msg_close (m);
            for (size_t i = 0; i < n; i++) zmq_msg_close (&msgs[i]);
            return -err;
        }
        more = zmq_msg_more (m);
        if (m == &extra)
            zmq_msg_close (m);
        else
            n++;
    }
    *ret_n = n;
    return 0;
}

int hs_bus_recv_raw (hs_bus_t *self, hs_frame_t **ret_frames, size_t *ret_n, int timeout_ms)
{
    zmq_msg_t msgs[S_FRAMES_KEPT];
    size_t n;
    int r = s_recv_msgs (self, msgs, &n, timeout_ms);
    if (r < 0) return r;
    hs_frame_t *frames = hs_calloc (n, sizeof *frames);
    for (size_t i = 0; i < n; i++) {
        frames[i].len = zmq_msg_size (&msgs[i]);
        frames[i].data = hs_malloc (frames[i].len + 1);
        memcpy (frames[i].data, zmq_msg_data (&msgs[i]), frames[i].len);
        frames[i].data[frames[i].len] = '\0';
        zmq_msg_close (&msgs[i]);
    }
    *ret_frames = frames;
    *ret_n = n;
    return 0;
}

static bool s_topic_ok (const hs_frame_t *f)
{
    if (f->len == 0 || f->len > HS_BUS_MAX_TOPIC) return false;
    for (size_t i = 0; i < f->len; i++)
        if (f->data[i] < 0x21 || f->data[i] > 0x7e) return false;
    return true;
}

/* Whether f (a third frame) is an identity stamp: a valid identity. */
static bool s_stamp_ok (const hs_frame_t *f)
{
    if (f->len == 0 || f->len > HS_CRED_MAX_IDENTITY || memchr (f->data, 0, f->len)) return false;
    char id[HS_CRED_MAX_IDENTITY + 1];
    memcpy (id, f->data, f->len);
    id[f->len] = '\0';
    return hs_cred_role_of (id) != NULL;
}

static bool s_is_stamped (const hs_frame_t *topic)
{
    return hs_topic_is_stamped ((const char *)topic->data, topic->len);
}

int hs_bus_decode_sized (const hs_frame_t *frames, size_t n, const char *oversized_prefix,
                         Hs__Envelope **ret_env, hs_garbage_t *ret_reason)
{
    hs_garbage_t reason;
    if (n != 2 && !(n == 3 && s_is_stamped (&frames[0])))
        reason = HS_GARBAGE_FRAMES;
    else if (!s_topic_ok (&frames[0]))
        reason = HS_GARBAGE_TOPIC;
    else if (n == 3 && !s_stamp_ok (&frames[2]))
        reason = HS_GARBAGE_STAMP;
    else if (frames[1].len > HS_BUS_MAX_MSG &&
             (!oversized_prefix || frames[1].len > HS_BUS_MAX_FRAME ||
              frames[0].len < strlen (oversized_prefix) ||
              memcmp (frames[0].data, oversized_prefix, strlen (oversized_prefix)) != 0))
        reason = HS_GARBAGE_OVERSIZED;
    else {
        /* An oversized envelope that was let through but is no use is
         * counted as what it is above all: oversized. */
        bool big = frames[1].len > HS_BUS_MAX_MSG;
        Hs__Envelope *env = hs__envelope__unpack (&hs_pb_allocator, frames[1].len, frames[1].data);
        if (!env)
            reason = big ? HS_GARBAGE_OVERSIZED : HS_GARBAGE_DECODE;
        else if (env->body_case == HS__ENVELOPE__BODY__NOT_SET) {
            hs_pb_free (env);
            reason = big ? HS_GARBAGE_OVERSIZED : HS_GARBAGE_BODY;
        } else {
            *ret_env = env;
            return 0;
        }
    }
    *ret_reason = reason;
    return -EBADMSG;
}

int hs_bus_decode (const hs_frame_t *frames, size_t n, Hs__Envelope **ret_env,
                   hs_garbage_t *ret_reason)
{
    return hs_bus_decode_sized (frames, n, NULL, ret_env, ret_reason);
}

static void s_count_garbage (hs_bus_t *self, const hs_frame_t *frames, size_t n,
                             hs_garbage_t reason)
{
    self->garbage[reason]++;
    /* The sender is known only if the envelope decodes far enough; otherwise
     * the topic is the best name we have for the offender. */
    char who[300] = "unknown sender";
    Hs__Envelope *env = NULL;
    if (n == 2 && reason == HS_GARBAGE_BODY)
        env = hs__envelope__unpack (&hs_pb_allocator, frames[1].len, frames[1].data);
    if (env && !hs_empty (env->sender)) {
        snprintf (who, sizeof who, "sender %s", env->sender);
    } else if (n >= 1 && s_topic_ok (&frames[0])) {
        snprintf (who, sizeof who, "topic %.*s", (int)frames[0].len, (const char *)frames[0].data);
    }
    hs_pb_free (env);
    char key[340];
    snprintf (key, sizeof key, "garbage:%s:%s", hs_garbage_name (reason), who);
    hs_log_once (HS_LOG_WARN, key,
                 "refused bus message (%s) from %s; counted, further ones not logged",
                 hs_garbage_name (reason), who);
}

/* Receives one valid message. In secure mode a message on a stamped topic
 * (cmd.*, the agents' replies: hs_topic_is_stamped) must carry hs-bus's
 * stamp, kept in self->peer. */
static int s_recv_one (hs_bus_t *self, const char *oversized_prefix, char **ret_topic,
                       Hs__Envelope **ret_env, size_t *ret_size, int timeout_ms)
{
    int64_t deadline = timeout_ms > 0 ? hs_mono_ns () + (int64_t)timeout_ms * 1000000 : 0;
    for (;;) {
        zmq_msg_t msgs[S_FRAMES_KEPT];
        size_t n;
        int r = s_recv_msgs (self, msgs, &n, timeout_ms);
        if (r < 0) return r;
        /* Decoded straight from ZeroMQ's buffers: only the topic is copied. */
        hs_frame_t frames[S_FRAMES_KEPT] = {{0}};
        for (size_t i = 0; i < n; i++)
            frames[i] = (hs_frame_t){zmq_msg_data (&msgs[i]), zmq_msg_size (&msgs[i])};
        Hs__Envelope *env;
        hs_garbage_t reason;
        if (self->secure && n == 2 && s_is_stamped (&frames[0])) {
            /* not through hs-bus's stamping: refused before decoding */
            r = -EBADMSG;
            reason = HS_GARBAGE_STAMP;
        } else {
            r = hs_bus_decode_sized (frames, n, oversized_prefix, &env, &reason);
        }
        if (r == 0) {
            *ret_topic = hs_strndup ((const char *)frames[0].data, frames[0].len);
            *ret_env = env;
            *ret_size = frames[1].len;
            self->peer_set = n == 3;
            if (n == 3) {
                memcpy (self->peer, frames[2].data, frames[2].len);
                self->peer[frames[2].len] = '\0';
            }
        } else {
            s_count_garbage (self, frames, n, reason);
        }
        for (size_t i = 0; i < n; i++) zmq_msg_close (&msgs[i]);
        if (r == 0) return 0;
        if (timeout_ms > 0) {
            int64_t left = (deadline - hs_mono_ns ()) / 1000000;
            if (left <= 0) return -EAGAIN;
            timeout_ms = (int)left;
        }
    }
}

int hs_bus_recv_sized (hs_bus_t *self, const char *oversized_prefix, char **ret_topic,
                       Hs__Envelope **ret_env, size_t *ret_size, int timeout_ms)
{
    if (self->queue_head) {
        s_queued_t *q = self->queue_head;
        self->queue_head = q->next;
        if (!self->queue_head) self->queue_tail = NULL;
        self->queue_len--;
        *ret_topic = q->topic;
        *ret_env = q->env;
        *ret_size = q->size;
        self->peer_set = q->peer != NULL;
        if (q->peer) snprintf (self->peer, sizeof self->peer, "%s", q->peer);
        free (q->peer);
        free (q);
        return 0;
    }
    return s_recv_one (self, oversized_prefix, ret_topic, ret_env, ret_size, timeout_ms);
}

int hs_bus_recv (hs_bus_t *self, char **ret_topic, Hs__Envelope **ret_env, int timeout_ms)
{
    size_t size;
    return hs_bus_recv_sized (self, NULL, ret_topic, ret_env, &size, timeout_ms);
}

/* A refused key or a bus without CURVE ends hs_bus_join at once, with the
 * line that says what to do. */
static int s_check_handshakes (hs_bus_t *self)
{
    s_read_monitors (self);
    if (self->auth_status) {
        s_sec_error ("the bus refused this client's key (unknown key %.8s..., identity %s, in %s): "
                     "it was never registered, or was revoked, or has expired (ZAP status %d)",
                     self->public_key, self->identity, self->cred_path, self->auth_status);
        return -EKEYREJECTED;
    }
    if (self->mechanism_mismatch) {
        s_sec_error ("the bus at %s does not speak CURVE: it runs insecure (--insecure); give it "
                     "--pki DIR, or run this client with HS_INSECURE=1 too",
                     self->pub_ep);
        return -EPROTO;
    }
    return 0;
}

static void s_join_timed_out (hs_bus_t *self, int timeout_ms)
{
    s_read_monitors (self);
    if (self->handshake_ok[0] && self->handshake_ok[1]) return; /* the plain timeout says it */
    s_sec_error (
        "no CURVE handshake with the bus at %s completed in %d ms: is hs-bus running there "
        "(with --pki), and is broker-key in %s its public key?",
        self->pub_ep, timeout_ms, self->cred_path);
}

/* Several brokers: the echo proved the path through the SUB socket's
 * broker; the PUB socket sends nothing to a broker it is not connected to
 * yet (ZMQ_IMMEDIATE), so wait, a little, for its connections to the
 * others: each up or refused, or HS_BUS_CONNECT_MS (a host that does not
 * answer), or the join's deadline. Then "nothing is dropped for want of a
 * connection" holds for every broker that is up. */
static void s_join_publishers (hs_bus_t *self, int64_t deadline)
{
    if (!self->pub_state || !self->mon[0]) return;
    int64_t until = hs_mono_ns () + (int64_t)HS_BUS_CONNECT_MS * 1000000;
    if (until > deadline) until = deadline;
    for (;;) {
        s_read_monitors (self);
        size_t open = 0;
        for (size_t i = 0; i < self->n_eps; i++) open += self->pub_state[i] == 0;
        if (!open || hs_mono_ns () >= until) {
            if (open) log_debug ("bus: joined with %zu broker(s) not connected yet", open);
            return;
        }
        poll (NULL, 0, 2);
    }
}

int hs_bus_join (hs_bus_t *self, int timeout_ms)
{
    _cleanup_free_ char *topic = hs_topic_to ("echo", self->instance);
    char nonce[17];
    hs_random_id (nonce, 16);
    hs_bus_subscribe (self, topic);
    int64_t deadline = hs_mono_ns () + (int64_t)timeout_ms * 1000000;
    int rc = -ETIMEDOUT;
    int interval_ms = 5;
    while (hs_mono_ns () < deadline) {
        Hs__Envelope env = HS__ENVELOPE__INIT;
        Hs__Ping ping = HS__PING__INIT;
        ping.nonce = nonce;
        env.body_case = HS__ENVELOPE__BODY_PING;
        env.ping = &ping;
        hs_bus_publish (self, topic, &env);
        hs_pb_take_str (&env.sender, NULL); /* publish set a heap copy */
        int64_t wait_until = hs_mono_ns () + (int64_t)interval_ms * 1000000;
        bool found = false;
        while (!found) {
            int left = (int)((wait_until - hs_mono_ns ()) / 1000000);
            if (left <= 0) break;
            char *t;
            Hs__Envelope *in;
            size_t size;
            if (s_recv_one (self, NULL, &t, &in, &size, left) < 0) break;
            if (in->body_case == HS__ENVELOPE__BODY_PING && strcmp (t, topic) == 0 &&
                strcmp (in->ping->nonce, nonce) == 0) {
                found = true;
                free (t);
                hs_pb_free (in);
            } else if (strcmp (t, topic) == 0 || self->queue_len >= JOIN_QUEUE_MAX) {
                free (t);
                hs_pb_free (in);
            } else {
                s_queued_t *q = hs_calloc (1, sizeof *q);
                q->topic = t;
                q->env = in;
                q->size = size;
                q->peer = self->peer_set ? hs_strdup (self->peer) : NULL;
                if (self->queue_tail)
                    self->queue_tail->next = q;
                else
                    self->queue_head = q;
                self->queue_tail = q;
                self->queue_len++;
            }
        }
        if (found) {
            rc = 0;
            s_join_publishers (self, deadline);
            break;
        }
        if (self->secure && (rc = s_check_handshakes (self)) < 0) break;
        rc = -ETIMEDOUT;
        if (interval_ms < 100) interval_ms *= 2;
    }
    hs_bus_unsubscribe (self, topic);
    if (self->secure) {
        if (rc == -ETIMEDOUT) s_join_timed_out (self, timeout_ms);
        s_stop_monitors (self);
    } else if (self->n_eps > 1) {
        s_stop_monitors (self); /* the PUB socket's; the SUB's stays */
    }
    return rc;
}

int hs_bus_handshake_check (hs_bus_t *self, bool done)
{
    int rc = self->secure ? s_check_handshakes (self) : 0;
    if (done && self->secure) s_stop_monitors (self);
    return rc;
}

uint64_t hs_bus_garbage (hs_bus_t *self)
{
    uint64_t sum = 0;
    for (int i = 0; i < HS_GARBAGE__COUNT; i++) sum += self->garbage[i];
    return sum;
}

uint64_t hs_bus_garbage_by (hs_bus_t *self, hs_garbage_t reason)
{
    return reason < HS_GARBAGE__COUNT ? self->garbage[reason] : 0;
}

void *hs_bus_sub_socket (hs_bus_t *self)
{
    return self->sub;
}

bool hs_bus_pending (hs_bus_t *self)
{
    return self->queue_head != NULL;
}

void hs_heartbeat_counters (Hs__ComponentHeartbeat *hb, Hs__Counter *cs, Hs__Counter **cp,
                            const char *const *names, const uint64_t *values, size_t n)
{
    hs_metric_counters (&hb->counters, &hb->n_counters, cs, cp, names, values, n);
}

/* ------------------------------------------------------------- several brokers */

/* Reads and drops every whole message queued on the SUB socket, at most
 * max. A SUB socket asked for ZMQ_EVENTS (zmq_poll, hs_bus_wait, the
 * loop) takes the FIRST frame of the next message off its pipe in
 * advance; if that pipe is then disconnected, the message's other frames
 * are gone with it and the next receive aborts the process inside libzmq
 * ("Assertion failed: !_more (src/fq.cpp:112)", zeromq/libzmq#2163; seen
 * in test_fence and bench-store-ha when a client moved brokers). Reading
 * whole messages until none is left clears that first frame. What is read
 * here would be dropped with the connection anyway. */
static size_t s_drain_sub (hs_bus_t *self, size_t max)
{
    size_t n = 0;
    zmq_msg_t m;
    zmq_msg_init (&m);
    while (n < max && zmq_msg_recv (&m, self->sub, ZMQ_DONTWAIT) >= 0) {
        while (zmq_msg_more (&m))
            if (zmq_msg_recv (&m, self->sub, 0) < 0) break;
        n++;
    }
    zmq_msg_close (&m);
    return n;
}

/* Moves the SUB socket to the next broker. why: NULL for the ZMTP link's
 * own failover (logged once per broker lost), or the caller's reason. */
static int s_move (hs_bus_t *self, int64_t now, const char *why)
{
    const char *from = self->eps[self->cur].sub;
    size_t next = (self->cur + 1) % self->n_eps;
    /* Whatever the old connection held is dropped with it: the messages
     * that might still sit in its queue were the broker's last ones. They
     * are read off first (s_drain_sub), and nothing asks the socket for
     * ZMQ_EVENTS between that and the disconnect. */
    size_t drained = s_drain_sub (self, 10000);
    if (drained) log_debug ("bus: dropped %zu messages queued from %s", drained, from);
    zmq_disconnect (self->sub, from);
    if (zmq_connect (self->sub, self->eps[next].sub) != 0) {
        /* not connected anywhere: the next check tries the one after */
        log_warn ("bus: cannot connect to %s: %s", self->eps[next].sub, strerror (errno));
        self->cur = next;
        self->sub_up = false;
        self->move_ns = now + (int64_t)HS_BUS_CONNECT_MS * 1000000;
        return 0;
    }
    /* once per broker lost, not once per try while none answers */
    if (why)
        log_info ("bus: %s through %s; subscribing through %s", why, from, self->eps[next].sub);
    else if (self->tries == 0)
        log_info ("bus: the broker at %s went quiet; subscribing through %s", from,
                  self->eps[next].sub);
    else
        log_debug ("bus: no broker up yet; trying %s", self->eps[next].sub);
    self->cur = next;
    self->sub_up = false;
    self->moves++;
    self->tries++;
    self->move_ns = now + (int64_t)HS_BUS_CONNECT_MS * 1000000;
    return 1;
}

int hs_bus_check (hs_bus_t *self)
{
    if (self->n_eps < 2) return 0;
    s_read_monitors (self);
    int64_t now = hs_mono_ns ();
    if (self->sub_up || now < self->move_ns) return 0;
    return s_move (self, now, NULL);
}

int hs_bus_move (hs_bus_t *self, const char *why)
{
    if (self->n_eps < 2) return 0;
    s_read_monitors (self);
    return s_move (self, hs_mono_ns (), why ? why : "moved on request");
}

size_t hs_bus_brokers (hs_bus_t *self)
{
    return self->n_eps;
}

const char *hs_bus_sub_endpoint (hs_bus_t *self)
{
    return self->eps[self->cur].sub;
}

uint64_t hs_bus_moves (hs_bus_t *self)
{
    return self->moves;
}

uint64_t hs_bus_links (hs_bus_t *self)
{
    return self->links;
}

static void s_on_check (void *arg)
{
    hs_bus_t *self = arg;
    hs_bus_check (self);
    hs_loop_timer_set (self->check_timer, hs_mono_ns () + (int64_t)HS_BUS_CHECK_MS * 1000000);
}

int hs_bus_attach (hs_bus_t *self, hs_loop_t *loop)
{
    if (self->n_eps < 2 || self->check_timer) return 0;
    self->check_timer =
        hs_loop_timer (loop, hs_mono_ns () + (int64_t)HS_BUS_CHECK_MS * 1000000, s_on_check, self);
    return self->check_timer ? 0 : -ENOMEM;
}
