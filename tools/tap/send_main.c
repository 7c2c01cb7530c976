/*  send_main.c: hs-send, puts hand-made messages on the bus (debugging, tests).
 *
 *  It sends through a PUB socket of its own rather than hs_bus_publish, which
 *  (rightly) refuses anything malformed. Before the first message it proves
 *  that socket's path through the broker, as hs_bus_join does, so nothing sent
 *  is dropped for want of a connection; at exit it waits for the queue to
 *  drain.
 */
#include "hs_topic.h"
#include "hs_bus.h"
#include "hs_daemon.h"
#include "hs_log.h"
#include "hs_pbjson.h"
#include "hs_util.h"
#include "send_build.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#define JOIN_TIMEOUT_MS 5000
#define LINGER_MS       10000

static void s_usage (FILE *f)
{
    fprintf (f,
             "usage: hs-send [--bus ADDR] TOPIC WHAT [--count N]\n"
             "Sends hand-made messages on the Homeostat bus (for debugging and tests).\n"
             "WHAT is one of:\n"
             "  --ping [--nonce TEXT]     a valid Envelope holding a Ping\n"
             "  --envelope JSON|YAML      a valid Envelope given as text, e.g.\n"
             "                            '{\"ping\": {\"nonce\": \"x\"}}' (sender, senderSeq\n"
             "                            and sentAtNs are filled in when absent)\n"
             "  --frames HEX...           raw frames: TOPIC is the first frame, each HEX\n"
             "                            argument one more (\"\" for an empty frame)\n"
             "  --garbage KIND            a broken message; KIND is one of\n"
             "      frames     three frames instead of two\n"
             "      decode     bytes that are no Envelope\n"
             "      oversized  an envelope of %d bytes (one above the limit): hs-bus\n"
             "                 drops and counts it, except on cmd.* (for the store)\n"
             "      body       an Envelope whose only body is unknown field 99\n"
             "      topic      TOPIC with non-printable bytes appended\n"
             "      huge       8 MiB + 1 bytes, above the broker's frame limit: it drops\n"
             "                 our connection and nobody receives it\n"
             "  --count N                 send it N times (default 1)\n"
             "  --bus ADDR                the bus (default $HS_BUS, then %s)\n"
             "Exit status: 0 sent, 1 bus unreachable or send failed, 2 usage.\n",
             HS_BUS_MAX_MSG + 1, HS_BUS_DEFAULT);
}

typedef struct {
    /* the command line */
    const char *bus_addr, *garbage, *nonce, *envelope, *topic;
    bool ping, raw;
    int64_t count;
    send_garbage_t kind;
    hs_frame_t *raw_frames; /* --frames, decoded up front so a typo sends nothing */
    size_t n_raw;
    /* sending */
    void *ctx, *pub;
    hs_bus_t *bus; /* its SUB side hears our join pings come back */
    uint64_t seq;
} self_t;

static int s_send_frames (self_t *self, const hs_frame_t *frames, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (zmq_send (self->pub, frames[i].data, frames[i].len, i + 1 < n ? ZMQ_SNDMORE : 0) < 0)
            return -errno;
    return 0;
}

static send_stamp_t s_stamp (self_t *self)
{
    return (send_stamp_t){hs_bus_sender (self->bus), ++self->seq, hs_now_ns ()};
}

/* Pings echo.<instance> from our own PUB socket until one comes back. */
static int s_join (self_t *self, int timeout_ms)
{
    char nonce[17];
    _cleanup_free_ char *topic = hs_topic_to ("echo", hs_bus_instance (self->bus));
    hs_random_id (nonce, 16);
    int r = hs_bus_subscribe (self->bus, topic);
    if (r < 0) return r;
    int64_t deadline = hs_mono_ns () + (int64_t)timeout_ms * 1000000;
    int interval_ms = 5;
    while (hs_mono_ns () < deadline) {
        send_stamp_t st = s_stamp (self);
        size_t len;
        _cleanup_free_ uint8_t *buf = send_build_ping (&st, nonce, &len);
        hs_frame_t frames[2] = {{(uint8_t *)topic, strlen (topic)}, {buf, len}};
        s_send_frames (self, frames, 2);
        int64_t until = hs_mono_ns () + (int64_t)interval_ms * 1000000;
        for (;;) {
            int left = (int)((until - hs_mono_ns ()) / 1000000);
            if (left <= 0) break;
            char *t = NULL;
            Hs__Envelope *env = NULL;
            if (hs_bus_recv (self->bus, &t, &env, left) < 0) break;
            bool mine = env->body_case == HS__ENVELOPE__BODY_PING && strcmp (t, topic) == 0 &&
                        strcmp (env->ping->nonce, nonce) == 0;
            free (t);
            hs_pb_free (env);
            if (mine) return 0;
        }
        if (interval_ms < 100) interval_ms *= 2;
    }
    return -ETIMEDOUT;
}

static uint8_t *s_envelope_from_text (self_t *self, const char *text, size_t *ret_len)
{
    hs_tree_t **docs = NULL;
    size_t n = 0;
    char *error = NULL;
    if (hs_yaml_parse (text, strlen (text), &docs, &n, &error) < 0 || n != 1) {
        fprintf (stderr, "hs-send: --envelope: %s\n", error ? error : "expected one document");
        free (error);
        hs_trees_free (docs, n);
        return NULL;
    }
    ProtobufCMessage *m = NULL;
    hs_pb_error_t err = {0};
    int r = hs_pb_from_tree (&hs__envelope__descriptor, docs[0], "", &m, &err);
    hs_trees_free (docs, n);
    if (r < 0) {
        fprintf (stderr, "hs-send: --envelope: %s%s%s\n", err.path, *err.path ? ": " : "",
                 err.message);
        return NULL;
    }
    Hs__Envelope *env = (Hs__Envelope *)m;
    send_stamp_t st = s_stamp (self);
    if (hs_empty (env->sender)) hs_pb_set_str (&env->sender, st.sender);
    if (!env->sender_seq) env->sender_seq = st.seq;
    if (!env->sent_at_ns) env->sent_at_ns = st.now_ns;
    uint8_t *buf = hs_pb_pack (env, ret_len);
    hs_pb_free (env);
    return buf;
}

/* ------------------------------------------------------------------ the command line */

static int s_flag (void *arg, int ch, const char *value)
{
    self_t *self = arg;
    switch (ch) {
    case 'b': self->bus_addr = value; return 0;
    case 'f': self->raw = true; return 0;
    case 'g': self->garbage = value; return 0;
    case 'p': self->ping = true; return 0;
    case 'N': self->nonce = value; return 0;
    case 'e': self->envelope = value; return 0;
    case 'n': return hs_daemon_int ("hs-send", "--count", value, 1, 100000000, &self->count);
    default: return -1;
    }
}

/* TOPIC, and with --frames the HEX frames after it. */
static int s_check (void *arg, int argc, char **argv)
{
    self_t *self = arg;
    if (argc < 1) {
        s_usage (stderr);
        return -1;
    }
    self->topic = argv[0];
    if ((int)self->ping + (int)self->raw + (self->garbage != NULL) + (self->envelope != NULL) !=
        1) {
        fprintf (stderr, "hs-send: give exactly one of --ping, --envelope, --frames, --garbage\n");
        return -1;
    }
    if (!self->raw && argc > 1) {
        fprintf (stderr, "hs-send: unexpected argument: %s\n", argv[1]);
        return -1;
    }
    if (self->garbage && send_garbage_parse (self->garbage, &self->kind) < 0) {
        fprintf (stderr, "hs-send: --garbage: unknown kind %s (see --help)\n", self->garbage);
        return -1;
    }
    if (!self->raw) return 0;
    self->n_raw = (size_t)argc;
    self->raw_frames = hs_calloc (self->n_raw, sizeof *self->raw_frames);
    self->raw_frames[0].len = strlen (self->topic);
    self->raw_frames[0].data = (uint8_t *)hs_strdup (self->topic);
    for (size_t i = 1; i < self->n_raw; i++)
        if (send_hex_decode (argv[i], &self->raw_frames[i].data, &self->raw_frames[i].len) < 0) {
            fprintf (stderr, "hs-send: --frames: not hex: %s\n", argv[i]);
            return -1;
        }
    return 0;
}

/* ------------------------------------------------------------------ sending */

/* The bus connection and our own PUB socket, joined: 0, or the exit code. */
static int s_open (self_t *self)
{
    char pub_ep[512], sub_ep[512];
    if (hs_bus_endpoints (self->bus_addr, pub_ep, sub_ep, sizeof pub_ep) < 0) {
        fprintf (stderr, "hs-send: not a bus address: %s\n", hs_s (self->bus_addr));
        return 2;
    }
    int r = hs_bus_connect (self->bus_addr, "hs-send", NULL, &self->bus);
    if (r < 0) {
        fprintf (stderr, "hs-send: cannot connect to the bus: %s\n", strerror (-r));
        return 1;
    }
    self->ctx = zmq_ctx_new ();
    self->pub = zmq_socket (self->ctx, ZMQ_PUB);
    /* A huge frame makes the broker drop the connection, so what is queued
     * behind it may never be delivered: do not wait the full linger for it. */
    int linger = self->garbage && self->kind == SEND_GARBAGE_HUGE ? 500 : LINGER_MS;
    int hwm = HS_BUS_HWM;
    zmq_setsockopt (self->pub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt (self->pub, ZMQ_SNDHWM, &hwm, sizeof hwm);
    if (zmq_connect (self->pub, pub_ep) != 0) {
        fprintf (stderr, "hs-send: cannot connect to %s: %s\n", pub_ep, zmq_strerror (errno));
        return 1;
    }
    if (s_join (self, JOIN_TIMEOUT_MS) < 0) {
        fprintf (stderr, "error: cannot reach the bus at %s: is hs-bus running?\n", pub_ep);
        return 1;
    }
    return 0;
}

/* One message as asked: 0, or the exit code. */
static int s_send_one (self_t *self)
{
    int r;
    if (self->raw) {
        r = s_send_frames (self, self->raw_frames, self->n_raw);
    } else if (self->garbage) {
        hs_frame_t *frames = NULL;
        size_t n = 0;
        send_stamp_t st = s_stamp (self);
        send_build_garbage (self->kind, self->topic, &st, &frames, &n);
        r = s_send_frames (self, frames, n);
        hs_bus_frames_free (frames, n);
    } else {
        size_t len = 0;
        uint8_t *buf = NULL;
        if (self->ping) {
            send_stamp_t st = s_stamp (self);
            char id[17];
            hs_random_id (id, 16);
            buf = send_build_ping (&st, self->nonce ? self->nonce : id, &len);
        } else if (!(buf = s_envelope_from_text (self, self->envelope, &len))) {
            return 2;
        }
        hs_frame_t two[2] = {{(uint8_t *)self->topic, strlen (self->topic)}, {buf, len}};
        r = s_send_frames (self, two, 2);
        free (buf);
    }
    if (r < 0) {
        fprintf (stderr, "hs-send: send failed: %s\n", zmq_strerror (-r));
        return 1;
    }
    return 0;
}

static void s_close (self_t *self)
{
    hs_bus_frames_free (self->raw_frames, self->n_raw);
    /* Closing with a linger waits until the queue reaches the broker. */
    if (self->pub) zmq_close (self->pub);
    if (self->ctx) zmq_ctx_term (self->ctx);
    hs_bus_destroy (&self->bus);
}

static const struct option s_options[] = {
    {"bus", required_argument, 0, 'b'},     {"frames", no_argument, 0, 'f'},
    {"garbage", required_argument, 0, 'g'}, {"ping", no_argument, 0, 'p'},
    {"nonce", required_argument, 0, 'N'},   {"envelope", required_argument, 0, 'e'},
    {"count", required_argument, 0, 'n'},   {0, 0, 0, 0}};

/* A one-shot tool, not a daemon: the skeleton's command line, no loop. */
static const hs_daemon_t s_program = {.name = "hs-send",
                                      .usage = s_usage,
                                      .options = s_options,
                                      .shortopts = "b:fg:pN:e:n:",
                                      .flag = s_flag,
                                      .check = s_check};

int main (int argc, char **argv)
{
    hs_log_init ("hs-send");
    self_t self = {.count = 1};
    int rc = hs_daemon_parse (&s_program, &self, argc, argv);
    if (rc == 0) rc = s_open (&self);
    for (int64_t i = 0; rc == 0 && i < self.count; i++) rc = s_send_one (&self);
    s_close (&self);
    return rc < 0 ? 0 : rc;
}
