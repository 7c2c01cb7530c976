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

int main (int argc, char **argv)
{
    hs_log_init ("hs-send");
    const char *bus_addr = NULL, *garbage = NULL, *nonce = NULL, *envelope = NULL;
    bool ping = false, raw = false;
    int64_t count = 1;
    static struct option opts[] = {{"bus", required_argument, 0, 'b'},
                                   {"frames", no_argument, 0, 'f'},
                                   {"garbage", required_argument, 0, 'g'},
                                   {"ping", no_argument, 0, 'p'},
                                   {"nonce", required_argument, 0, 'N'},
                                   {"envelope", required_argument, 0, 'e'},
                                   {"count", required_argument, 0, 'n'},
                                   {"help", no_argument, 0, 'h'},
                                   {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long (argc, argv, "b:fg:pN:e:n:h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': bus_addr = optarg; break;
        case 'f': raw = true; break;
        case 'g': garbage = optarg; break;
        case 'p': ping = true; break;
        case 'N': nonce = optarg; break;
        case 'e': envelope = optarg; break;
        case 'n':
            if (hs_parse_i64 (optarg, &count) < 0 || count < 1 || count > 100000000) {
                fprintf (stderr, "hs-send: --count: not a positive count: %s\n", optarg);
                return 2;
            }
            break;
        case 'h': s_usage (stdout); return 0;
        default: s_usage (stderr); return 2;
        }
    }
    if (optind >= argc) {
        s_usage (stderr);
        return 2;
    }
    const char *topic = argv[optind++];
    if ((int)ping + (int)raw + (garbage != NULL) + (envelope != NULL) != 1) {
        fprintf (stderr, "hs-send: give exactly one of --ping, --envelope, --frames, --garbage\n");
        return 2;
    }
    if (!raw && optind < argc) {
        fprintf (stderr, "hs-send: unexpected argument: %s\n", argv[optind]);
        return 2;
    }
    send_garbage_t kind = SEND_GARBAGE_FRAMES;
    if (garbage && send_garbage_parse (garbage, &kind) < 0) {
        fprintf (stderr, "hs-send: --garbage: unknown kind %s (see --help)\n", garbage);
        return 2;
    }
    /* Raw frames are decoded up front so a typo sends nothing. */
    size_t n_raw = raw ? 1 + (size_t)(argc - optind) : 0;
    hs_frame_t *raw_frames = raw ? hs_calloc (n_raw, sizeof *raw_frames) : NULL;
    if (raw) {
        raw_frames[0].len = strlen (topic);
        raw_frames[0].data = (uint8_t *)hs_strdup (topic);
        for (size_t i = 1; i < n_raw; i++) {
            if (send_hex_decode (argv[optind + (int)i - 1], &raw_frames[i].data,
                                 &raw_frames[i].len) < 0) {
                fprintf (stderr, "hs-send: --frames: not hex: %s\n", argv[optind + (int)i - 1]);
                hs_bus_frames_free (raw_frames, n_raw);
                return 2;
            }
        }
    }

    char pub_ep[512], sub_ep[512];
    if (hs_bus_endpoints (bus_addr, pub_ep, sub_ep, sizeof pub_ep) < 0) {
        fprintf (stderr, "hs-send: not a bus address: %s\n", hs_s (bus_addr));
        return 2;
    }
    self_t self = {0};
    int r = hs_bus_connect (bus_addr, "hs-send", NULL, &self.bus);
    if (r < 0) {
        fprintf (stderr, "hs-send: cannot connect to the bus: %s\n", strerror (-r));
        return 1;
    }
    self.ctx = zmq_ctx_new ();
    self.pub = zmq_socket (self.ctx, ZMQ_PUB);
    /* A huge frame makes the broker drop the connection, so what is queued
     * behind it may never be delivered: do not wait the full linger for it. */
    int linger = garbage && kind == SEND_GARBAGE_HUGE ? 500 : LINGER_MS, hwm = HS_BUS_HWM;
    zmq_setsockopt (self.pub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt (self.pub, ZMQ_SNDHWM, &hwm, sizeof hwm);
    int rc = 0;
    if (zmq_connect (self.pub, pub_ep) != 0) {
        fprintf (stderr, "hs-send: cannot connect to %s: %s\n", pub_ep, zmq_strerror (errno));
        rc = 1;
    } else if (s_join (&self, JOIN_TIMEOUT_MS) < 0) {
        fprintf (stderr, "error: cannot reach the bus at %s: is hs-bus running?\n", pub_ep);
        rc = 1;
    }
    for (int64_t i = 0; rc == 0 && i < count; i++) {
        hs_frame_t *frames = NULL;
        size_t n = 0;
        if (raw) {
            r = s_send_frames (&self, raw_frames, n_raw);
        } else if (garbage) {
            send_stamp_t st = s_stamp (&self);
            send_build_garbage (kind, topic, &st, &frames, &n);
            r = s_send_frames (&self, frames, n);
            hs_bus_frames_free (frames, n);
        } else {
            size_t len = 0;
            uint8_t *buf = NULL;
            if (ping) {
                send_stamp_t st = s_stamp (&self);
                char id[17];
                hs_random_id (id, 16);
                buf = send_build_ping (&st, nonce ? nonce : id, &len);
            } else if (!(buf = s_envelope_from_text (&self, envelope, &len))) {
                rc = 2;
                break;
            }
            hs_frame_t two[2] = {{(uint8_t *)topic, strlen (topic)}, {buf, len}};
            r = s_send_frames (&self, two, 2);
            free (buf);
        }
        if (r < 0) {
            fprintf (stderr, "hs-send: send failed: %s\n", zmq_strerror (-r));
            rc = 1;
        }
    }
    hs_bus_frames_free (raw_frames, n_raw);
    /* Closing with a linger waits until the queue reaches the broker. */
    zmq_close (self.pub);
    zmq_ctx_term (self.ctx);
    hs_bus_destroy (&self.bus);
    return rc;
}
