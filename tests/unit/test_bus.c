/*  test_bus.c: hs_bus against the real hs-bus broker: endpoints, join,
 *  publish/receive, prefix filtering, and garbage that is counted and survived. */
#include "hs_bus.h"
#include "hs_obj.h"
#include "hs_pb.h"
#include "hs_test.h"
#include "hs_topic.h"
#include "hs_util.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

static char s_addr[64];

static void s_start_broker (void)
{
    int port = hs_test_free_port_pair ();
    char p[16];
    snprintf (p, sizeof p, "%d", port);
    snprintf (s_addr, sizeof s_addr, "127.0.0.1:%d", port);
    char *argv[] = {"hs-bus", "--bind", "127.0.0.1", "--port", p, NULL};
    CHECK (hs_test_spawn ("hs-bus", argv) > 0);
}

static void test_endpoints (void)
{
    char pub[128], sub[128];
    CHECK_EQ_INT (hs_bus_endpoints ("10.0.0.1", pub, sub, sizeof pub), 0);
    CHECK_EQ_STR (pub, "tcp://10.0.0.1:7400");
    CHECK_EQ_STR (sub, "tcp://10.0.0.1:7401");
    CHECK_EQ_INT (hs_bus_endpoints ("tcp://host:9000", pub, sub, sizeof pub), 0);
    CHECK_EQ_STR (pub, "tcp://host:9000");
    CHECK_EQ_STR (sub, "tcp://host:9001");
    CHECK_EQ_INT (hs_bus_endpoints ("ipc:///run/hs", pub, sub, sizeof pub), 0);
    CHECK_EQ_STR (pub, "ipc:///run/hs/pub");
    CHECK_EQ_STR (sub, "ipc:///run/hs/sub");
    CHECK_EQ_INT (hs_bus_endpoints ("host:notaport", pub, sub, sizeof pub), -EINVAL);
    CHECK_EQ_INT (hs_bus_endpoints ("host:70000", pub, sub, sizeof pub), -EINVAL);
}

/* HS_BUS as a list of brokers (issue 19): elements, errors naming the bad
 * one, hs_bus_endpoints on a list. */
static void test_list_parsing (void)
{
    hs_bus_ep_t eps[HS_BUS_MAX_BROKERS];
    char err[800];
    CHECK_EQ_INT (hs_bus_endpoints_list ("10.0.0.1", eps, HS_BUS_MAX_BROKERS, err, sizeof err), 1);
    CHECK_EQ_STR (eps[0].pub, "tcp://10.0.0.1:7400");
    CHECK_EQ_STR (eps[0].sub, "tcp://10.0.0.1:7401");

    CHECK_EQ_INT (hs_bus_endpoints_list ("tcp://10.0.0.1:7600, 10.0.0.2:7600 ,ipc:///run/hs", eps,
                                         HS_BUS_MAX_BROKERS, err, sizeof err),
                  3);
    CHECK_EQ_STR (eps[0].pub, "tcp://10.0.0.1:7600");
    CHECK_EQ_STR (eps[1].sub, "tcp://10.0.0.2:7601");
    CHECK_EQ_STR (eps[2].pub, "ipc:///run/hs/pub");
    CHECK_EQ_STR (eps[2].sub, "ipc:///run/hs/sub");

    /* Errors name the bad element. */
    CHECK_EQ_INT (
        hs_bus_endpoints_list ("a:7400,,b:7400", eps, HS_BUS_MAX_BROKERS, err, sizeof err),
        -EINVAL);
    CHECK_CONTAINS (err, "element 2");
    CHECK_CONTAINS (err, "empty");
    CHECK_EQ_INT (
        hs_bus_endpoints_list ("a:7400,b:notaport", eps, HS_BUS_MAX_BROKERS, err, sizeof err),
        -EINVAL);
    CHECK_CONTAINS (err, "\"b:notaport\"");
    CHECK_CONTAINS (err, "element 2");
    CHECK_EQ_INT (hs_bus_endpoints_list ("a,", eps, HS_BUS_MAX_BROKERS, err, sizeof err), -EINVAL);
    CHECK_EQ_INT (hs_bus_endpoints_list ("a,b,c", eps, 2, err, sizeof err), -EINVAL);
    CHECK_CONTAINS (err, "too many");

    /* hs_bus_endpoints: one address as before; a list gives its first. */
    char pub[512], sub[512];
    CHECK_EQ_INT (hs_bus_endpoints ("h1:9000,h2:9000", pub, sub, sizeof pub), 0);
    CHECK_EQ_STR (pub, "tcp://h1:9000");
    CHECK_EQ_STR (sub, "tcp://h1:9001");
    CHECK_EQ_INT (hs_bus_endpoints ("h1:9000,h2:x", pub, sub, sizeof pub), -EINVAL);

    /* A connect with a bad list fails and says which element. */
    hs_bus_t *bus = NULL;
    hs_bus_quiet_errors (true);
    CHECK_EQ_INT (hs_bus_connect ("127.0.0.1:7400,bad:port", "t", NULL, &bus), -EINVAL);
    hs_bus_quiet_errors (false);
    CHECK_CONTAINS (hs_bus_last_error (), "bad:port");
}

static void test_join_timeout_without_broker (void)
{
    int port = hs_test_free_port_pair ();
    char addr[64];
    snprintf (addr, sizeof addr, "127.0.0.1:%d", port);
    hs_bus_t *bus = NULL;
    CHECK_EQ_INT (hs_bus_connect (addr, "test", NULL, &bus), 0);
    int64_t t0 = hs_mono_ns ();
    CHECK_EQ_INT (hs_bus_join (bus, 300), -ETIMEDOUT);
    CHECK ((hs_mono_ns () - t0) / 1000000 < 2000);
    hs_bus_destroy (&bus);
    CHECK (bus == NULL);
}

static Hs__Envelope *s_ping (const char *nonce)
{
    Hs__Envelope *env = hs_pb_new (&hs__envelope__descriptor);
    env->body_case = HS__ENVELOPE__BODY_PING;
    env->ping = hs_pb_new (&hs__ping__descriptor);
    hs_pb_set_str (&env->ping->nonce, nonce);
    return env;
}

/* Publisher a and subscriber b (on prefix), both joined. */
static void s_pair (const char *a_comp, const char *a_inst, const char *b_comp, const char *b_inst,
                    const char *prefix, hs_bus_t **a, hs_bus_t **b)
{
    CHECK_EQ_INT (hs_bus_connect (s_addr, a_comp, a_inst, a), 0);
    CHECK_EQ_INT (hs_bus_connect (s_addr, b_comp, b_inst, b), 0);
    CHECK_EQ_INT (hs_bus_subscribe (*b, prefix), 0);
    CHECK_EQ_INT (hs_bus_join (*a, 5000), 0);
    CHECK_EQ_INT (hs_bus_join (*b, 5000), 0);
}

static void test_publish_and_filter (void)
{
    hs_bus_t *a = NULL, *b = NULL;
    s_pair ("pub", "a1", "sub", "b1", "wanted.", &a, &b);

    /* A joined publisher's very first message is delivered: no slow joiner. */
    for (int i = 0; i < 100; i++) {
        Hs__Envelope *env = s_ping (i % 2 ? "skip" : "keep");
        CHECK_EQ_INT (hs_bus_publish (a, i % 2 ? "other.x" : "wanted.x", env), 0);
        hs_pb_free (env);
    }
    int got = 0;
    uint64_t last_seq = 0;
    for (;;) {
        char *topic = NULL;
        Hs__Envelope *env = NULL;
        int r = hs_bus_recv (b, &topic, &env, got == 50 ? 100 : 3000);
        if (r == -EAGAIN) break;
        CHECK_EQ_INT (r, 0);
        if (r < 0) break;
        CHECK_EQ_STR (topic, "wanted.x");
        CHECK_EQ_STR (env->ping->nonce, "keep");
        CHECK_EQ_STR (env->sender, "pub/a1");
        CHECK (env->sender_seq > last_seq);
        CHECK (env->sent_at_ns > 0);
        last_seq = env->sender_seq;
        got++;
        free (topic);
        hs_pb_free (env);
    }
    CHECK_EQ_INT (got, 50);
    hs_bus_destroy (&a);
    hs_bus_destroy (&b);
}

static void test_garbage_is_counted (void)
{
    hs_bus_t *a = NULL, *b = NULL;
    s_pair ("evil", "e1", "victim", "v1", "g.", &a, &b);

    /* undecodable bytes */
    uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x01};
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT (hs_bus_publish_raw (a, "g.decode", junk, sizeof junk), 0);
    /* a valid Envelope with only an unknown field (99, varint 1): no body */
    uint8_t nobody[] = {0x98, 0x06, 0x01};
    CHECK_EQ_INT (hs_bus_publish_raw (a, "g.body", nobody, sizeof nobody), 0);
    /* three frames */
    void *pub = NULL;
    (void)pub;
    /* a valid message last, so we know everything before it arrived */
    Hs__Envelope *env = s_ping ("after");
    CHECK_EQ_INT (hs_bus_publish (a, "g.ok", env), 0);
    hs_pb_free (env);

    char *topic = NULL;
    Hs__Envelope *in = NULL;
    CHECK_EQ_INT (hs_bus_recv (b, &topic, &in, 5000), 0);
    CHECK_EQ_STR (topic, "g.ok");
    CHECK_EQ_STR (in ? in->ping->nonce : NULL, "after");
    free (topic);
    hs_pb_free (in);
    CHECK_EQ_INT (hs_bus_garbage_by (b, HS_GARBAGE_DECODE), 3);
    CHECK_EQ_INT (hs_bus_garbage_by (b, HS_GARBAGE_BODY), 1);
    CHECK_EQ_INT (hs_bus_garbage (b), 4);

    /* oversized on send is refused locally */
    size_t big = HS_BUS_MAX_MSG + 1;
    uint8_t *blob = calloc (1, big);
    CHECK_EQ_INT (hs_bus_publish_raw (a, "g.big", blob, big), -EMSGSIZE);
    free (blob);
    hs_bus_destroy (&a);
    hs_bus_destroy (&b);
}

static void test_decode_reasons (void)
{
    hs_frame_t frames[3];
    Hs__Envelope *env = NULL;
    hs_garbage_t why;
    uint8_t ok_topic[] = "t.x";
    uint8_t bad_topic[] = {'t', 0x01};
    frames[0] = (hs_frame_t){ok_topic, 3};
    frames[1] = (hs_frame_t){(uint8_t *)"\xff\xff", 2};
    CHECK_EQ_INT (hs_bus_decode (frames, 1, &env, &why), -EBADMSG);
    CHECK_EQ_INT (why, HS_GARBAGE_FRAMES);
    CHECK_EQ_INT (hs_bus_decode (frames, 3, &env, &why), -EBADMSG);
    CHECK_EQ_INT (why, HS_GARBAGE_FRAMES);
    frames[0] = (hs_frame_t){bad_topic, 2};
    CHECK_EQ_INT (hs_bus_decode (frames, 2, &env, &why), -EBADMSG);
    CHECK_EQ_INT (why, HS_GARBAGE_TOPIC);
    frames[0] = (hs_frame_t){ok_topic, 3};
    CHECK_EQ_INT (hs_bus_decode (frames, 2, &env, &why), -EBADMSG);
    CHECK_EQ_INT (why, HS_GARBAGE_DECODE);
    frames[1] = (hs_frame_t){NULL, (size_t)HS_BUS_MAX_MSG + 1};
    CHECK_EQ_INT (hs_bus_decode (frames, 2, &env, &why), -EBADMSG);
    CHECK_EQ_INT (why, HS_GARBAGE_OVERSIZED);
    CHECK_EQ_STR (hs_garbage_name (HS_GARBAGE_BODY), "body");
}

static void test_broker_survives_oversized_frame (void)
{
    /* The largest message the API allows passes the broker and is refused by
     * the receiver as garbage (all-zero bytes are not an Envelope); the broker
     * and the receiver go on. Frames above the limit are hs-send's tests. */
    hs_bus_t *a = NULL, *b = NULL;
    CHECK_EQ_INT (hs_bus_connect (s_addr, "big", NULL, &a), 0);
    CHECK_EQ_INT (hs_bus_connect (s_addr, "sub", NULL, &b), 0);
    CHECK_EQ_INT (hs_bus_subscribe (b, "big."), 0);
    CHECK_EQ_INT (hs_bus_join (a, 5000), 0);
    CHECK_EQ_INT (hs_bus_join (b, 5000), 0);
    uint8_t *blob = calloc (1, HS_BUS_MAX_MSG);
    CHECK_EQ_INT (hs_bus_publish_raw (a, "big.max", blob, HS_BUS_MAX_MSG), 0);
    free (blob);
    char *topic = NULL;
    Hs__Envelope *env = NULL;
    /* All-zero bytes decode as field 0: invalid protobuf, so it is garbage. */
    Hs__Envelope *ping = s_ping ("small");
    CHECK_EQ_INT (hs_bus_publish (a, "big.small", ping), 0);
    hs_pb_free (ping);
    CHECK_EQ_INT (hs_bus_recv (b, &topic, &env, 5000), 0);
    CHECK_EQ_STR (topic, "big.small");
    CHECK_EQ_INT (hs_bus_garbage (b), 1);
    free (topic);
    hs_pb_free (env);
    hs_bus_destroy (&a);
    hs_bus_destroy (&b);
}

/* Receives one message within 5 s and checks its topic and ping nonce. */
static void s_expect (hs_bus_t *b, const char *topic, const char *nonce)
{
    char *t = NULL;
    Hs__Envelope *env = NULL;
    CHECK_EQ_INT (hs_bus_recv (b, &t, &env, 5000), 0);
    CHECK_EQ_STR (t, topic);
    CHECK_EQ_STR (env && env->body_case == HS__ENVELOPE__BODY_PING ? env->ping->nonce : NULL,
                  nonce);
    free (t);
    hs_pb_free (env);
}

static void s_publish_ping (hs_bus_t *a, const char *topic, const char *nonce)
{
    Hs__Envelope *env = s_ping (nonce);
    CHECK_EQ_INT (hs_bus_publish (a, topic, env), 0);
    hs_pb_free (env);
}

/* A batch reaches subscribers as the messages it holds, filtered and in
 * order, and only when the outermost end (or a flush) sends it. */
static void test_batch (void)
{
    hs_bus_t *a = NULL, *b = NULL;
    s_pair ("pub", "ba", "sub", "bb", "bw.", &a, &b);

    hs_bus_batch_begin (a);
    hs_bus_batch_begin (a); /* nested: its end sends nothing */
    char nonce[16];
    for (int i = 0; i < 10; i++) {
        snprintf (nonce, sizeof nonce, "n%d", i);
        s_publish_ping (a, i % 2 ? "other.b" : "bw.b", nonce);
    }
    uint8_t raw[] = {0x0a, 0x00}; /* publish_raw joins the batch too */
    CHECK_EQ_INT (hs_bus_publish_raw (a, "bw.raw", raw, sizeof raw), 0);
    CHECK_EQ_INT (hs_bus_batch_end (a), 0);
    CHECK_EQ_INT (hs_bus_wait (b, 300), -EAGAIN); /* nothing sent yet */
    CHECK_EQ_INT (hs_bus_batch_end (a), 0);
    uint64_t last_seq = 0;
    for (int i = 0; i < 10; i += 2) {
        char *t = NULL;
        Hs__Envelope *env = NULL;
        CHECK_EQ_INT (hs_bus_recv (b, &t, &env, 5000), 0);
        snprintf (nonce, sizeof nonce, "n%d", i);
        CHECK_EQ_STR (t, "bw.b");
        CHECK_EQ_STR (env ? env->ping->nonce : NULL, nonce);
        CHECK (env && env->sender_seq > last_seq);
        last_seq = env ? env->sender_seq : 0;
        free (t);
        hs_pb_free (env);
    }
    /* The raw frame was garbage ({0x0a, 0x00}: an empty sender, no body),
     * counted like any other; the next batch still arrives. */
    s_publish_ping (a, "bw.after", "after");
    s_expect (b, "bw.after", "after");
    CHECK_EQ_INT (hs_bus_garbage_by (b, HS_GARBAGE_BODY), 1);

    /* flush sends what is there and the batch goes on */
    hs_bus_batch_begin (a);
    s_publish_ping (a, "bw.f", "first");
    CHECK_EQ_INT (hs_bus_batch_flush (a), 0);
    s_expect (b, "bw.f", "first");
    s_publish_ping (a, "bw.f", "second");
    CHECK_EQ_INT (hs_bus_wait (b, 200), -EAGAIN);
    CHECK_EQ_INT (hs_bus_batch_end (a), 0);
    s_expect (b, "bw.f", "second");
    /* waiting sends what is batched: joining inside a batch works (its
     * pings would otherwise sit in the batch while it waits for them) */
    hs_bus_t *c = NULL;
    CHECK_EQ_INT (hs_bus_connect (s_addr, "pub", "bc", &c), 0);
    hs_bus_batch_begin (c);
    CHECK_EQ_INT (hs_bus_join (c, 5000), 0);
    CHECK_EQ_INT (hs_bus_batch_end (c), 0);
    hs_bus_destroy (&c);
    /* an empty batch sends nothing */
    hs_bus_batch_begin (a);
    CHECK_EQ_INT (hs_bus_batch_end (a), 0);
    CHECK_EQ_INT (hs_bus_wait (b, 0), -EAGAIN);
    hs_bus_destroy (&a);
    hs_bus_destroy (&b);
}

/* A batch with an odd number of frames, from a raw ZeroMQ publisher: the
 * broker forwards the pairs, and the dangling topic as a one-frame message
 * that receivers count as garbage; the broker goes on. */
static void test_batch_malformed (void)
{
    hs_bus_t *a = NULL, *b = NULL;
    s_pair ("pub", "ma", "sub", "mb", "bm.", &a, &b);
    /* a valid envelope to carry */
    Hs__Envelope *env = s_ping ("inside");
    hs_pb_set_str (&env->sender, "raw/1");
    env->sender_seq = 1;
    size_t len;
    uint8_t *buf = hs_pb_pack (env, &len);
    hs_pb_free (env);

    char pub_ep[300], sub_ep[300];
    CHECK_EQ_INT (hs_bus_endpoints (s_addr, pub_ep, sub_ep, sizeof pub_ep), 0);
    void *ctx = zmq_ctx_new ();
    void *raw = zmq_socket (ctx, ZMQ_PUB);
    CHECK_EQ_INT (zmq_connect (raw, pub_ep), 0);
    /* ZeroMQ drops what a PUB sends before the broker's subscription
     * reaches it: send the batch until its good message comes through. */
    int64_t deadline = hs_mono_ns () + 5000000000LL;
    bool seen = false;
    while (!seen && hs_mono_ns () < deadline) {
        zmq_send (raw, HS_BUS_BATCH_TOPIC, strlen (HS_BUS_BATCH_TOPIC), ZMQ_SNDMORE);
        zmq_send (raw, "bm.good", 7, ZMQ_SNDMORE);
        zmq_send (raw, buf, len, ZMQ_SNDMORE);
        zmq_send (raw, "bm.dangling", 11, 0);
        char *t = NULL;
        Hs__Envelope *in = NULL;
        if (hs_bus_recv (b, &t, &in, 100) == 0) {
            CHECK_EQ_STR (t, "bm.good");
            CHECK_EQ_STR (in->ping->nonce, "inside");
            seen = true;
            free (t);
            hs_pb_free (in);
        }
    }
    CHECK (seen);
    /* the dangling topic of that batch arrives next, as garbage */
    s_publish_ping (a, "bm.after", "after");
    s_expect (b, "bm.after", "after");
    CHECK (hs_bus_garbage_by (b, HS_GARBAGE_FRAMES) >= 1);
    zmq_close (raw);
    zmq_ctx_term (ctx);
    free (buf);
    hs_bus_destroy (&a);
    hs_bus_destroy (&b);
}

/* hs_bus_wait: 0 once something is queued, -EAGAIN after the timeout. */
static void test_wait (void)
{
    hs_bus_t *a = NULL, *b = NULL;
    s_pair ("pub", "wa", "sub", "wb", "wt.", &a, &b);
    int64_t t0 = hs_mono_ns ();
    CHECK_EQ_INT (hs_bus_wait (b, 150), -EAGAIN);
    int64_t waited_ms = (hs_mono_ns () - t0) / 1000000;
    CHECK (waited_ms >= 145 && waited_ms < 2000);
    CHECK_EQ_INT (hs_bus_wait (b, 0), -EAGAIN);
    s_publish_ping (a, "wt.x", "x");
    CHECK_EQ_INT (hs_bus_wait (b, 5000), 0);
    CHECK_EQ_INT (hs_bus_wait (b, 0), 0); /* still queued: waiting took nothing */
    s_expect (b, "wt.x", "x");
    hs_bus_destroy (&a);
    hs_bus_destroy (&b);
}

/* Messages built and decoded inside an arena come from it; heap strings
 * taken into them stay the heap's and are freed; arrays grown with
 * hs_pb_push are the heap's; leaving frees it all; outside, plain heap. */
static void test_arena (void)
{
    hs_pb_arena_t *a = hs_pb_arena_new ();
    for (int round = 0; round < 3; round++) {
        hs_pb_arena_enter (a);
        Hs__Object *o = hs_obj_new (HS_KIND_POD, "default", "web");
        hs_pb_set_str (&o->pod->metadata->uid, "uid-1");
        hs_pb_take_str (&o->pod->metadata->generate_name, hs_strdup ("heap-"));
        for (int i = 0; i < 50; i++) {
            char k[16];
            snprintf (k, sizeof k, "k%d", i);
            hs_pb_map_set ((void ***)&o->pod->metadata->labels, &o->pod->metadata->n_labels,
                           &hs__object_meta__labels_entry__descriptor, k, "v");
        }
        CHECK (hs_pb_arena_used (a) > 0);
        size_t len;
        uint8_t *buf = hs_pb_pack (o, &len);
        Hs__Object *copy = hs__object__unpack (&hs_pb_allocator, len, buf);
        free (buf);
        CHECK (copy && hs_pb_equal (o, copy));
        /* a repeated field decoded into the arena, grown with push: the
         * array moves to the heap and may be freed with free() */
        hs_pb_map_set ((void ***)&copy->pod->metadata->labels, &copy->pod->metadata->n_labels,
                       &hs__object_meta__labels_entry__descriptor, "new", "x");
        CHECK_EQ_INT (copy->pod->metadata->n_labels, 51);
        CHECK_EQ_STR (hs_pb_map_get ((void *const *)copy->pod->metadata->labels,
                                     copy->pod->metadata->n_labels, "k49"),
                      "v");
        void **arr = (void **)copy->pod->metadata->labels;
        for (size_t i = 0; i < copy->pod->metadata->n_labels; i++) hs_pb_free (arr[i]);
        free (arr);
        copy->pod->metadata->labels = NULL;
        copy->pod->metadata->n_labels = 0;
        hs_pb_free (copy);
        hs_pb_free (o); /* frees the heap string; the arena's are kept until leave */
        hs_pb_arena_leave (a);
        CHECK_EQ_INT (hs_pb_arena_used (a), 0);
    }
    /* Outside an arena: the heap, as before. */
    Hs__Object *o = hs_obj_new (HS_KIND_POD, "default", "web");
    hs_pb_set_str (&o->pod->metadata->uid, "uid-2");
    CHECK_EQ_INT (hs_pb_arena_used (a), 0);
    hs_pb_arena_enter (a);
    hs_pb_free (o); /* heap memory freed inside an arena goes back to the heap */
    hs_pb_arena_leave (a);
    hs_pb_arena_destroy (&a);
    CHECK (a == NULL);
}

/* A valid Envelope (a Ping from "raw/1") of about `size` bytes. */
static uint8_t *s_big_envelope (size_t size, size_t *ret_len)
{
    Hs__Envelope *env = s_ping ("");
    char *nonce = hs_malloc (size + 1);
    memset (nonce, 'x', size);
    nonce[size] = '\0';
    hs_pb_take_str (&env->ping->nonce, nonce);
    hs_pb_set_str (&env->sender, "raw/1");
    env->sender_seq = 1;
    uint8_t *buf = hs_pb_pack (env, ret_len);
    hs_pb_free (env);
    return buf;
}

/* The dropped_oversized counter of hs-bus's next heartbeat, or -1. */
static int64_t s_broker_dropped (hs_bus_t *b)
{
    int64_t deadline = hs_mono_ns () + 5000000000LL;
    while (hs_mono_ns () < deadline) {
        char *t = NULL;
        Hs__Envelope *env = NULL;
        if (hs_bus_recv (b, &t, &env, 1000) < 0) continue;
        int64_t v = -1;
        if (hs_startswith (t, "hb.bus.") && env->body_case == HS__ENVELOPE__BODY_HEARTBEAT)
            for (size_t i = 0; i < env->heartbeat->n_counters; i++)
                if (strcmp (env->heartbeat->counters[i]->name, "dropped_oversized") == 0)
                    v = (int64_t)env->heartbeat->counters[i]->value;
        free (t);
        hs_pb_free (env);
        if (v >= 0) return v;
    }
    return -1;
}

/* G1 (docs/protocol.md §4): the library refuses to send over the limits;
 * hs-bus drops a message between HS_BUS_MAX_MSG and HS_BUS_MAX_FRAME and
 * counts it in hb.bus.<id>, except on cmd.*, where it goes on so that the
 * store can answer it; hs_bus_recv_sized passes it to a receiver that asks. */
static void test_oversized_at_broker (void)
{
    hs_bus_t *a = NULL, *b = NULL;
    s_pair ("pub", "oa", "sub", "ob", "ov.", &a, &b);
    CHECK_EQ_INT (hs_bus_subscribe (b, "cmd.ov"), 0);
    CHECK_EQ_INT (hs_bus_subscribe (b, "hb.bus."), 0);
    CHECK_EQ_INT (hs_bus_join (b, 5000), 0);
    uint8_t small[] = {0x0a, 0x00};
    CHECK_EQ_INT (hs_bus_publish_raw (a, "ov.x", NULL, (size_t)HS_BUS_MAX_MSG + 1), -EMSGSIZE);
    char long_topic[HS_BUS_MAX_TOPIC + 2];
    memset (long_topic, 't', sizeof long_topic - 1);
    long_topic[sizeof long_topic - 1] = '\0';
    CHECK_EQ_INT (hs_bus_publish_raw (a, long_topic, small, sizeof small), -EINVAL);

    size_t big_len;
    uint8_t *big = s_big_envelope ((size_t)HS_BUS_MAX_MSG + 1000, &big_len);
    CHECK (big_len > HS_BUS_MAX_MSG && big_len < HS_BUS_MAX_FRAME);
    char pub_ep[300], sub_ep[300];
    CHECK_EQ_INT (hs_bus_endpoints (s_addr, pub_ep, sub_ep, sizeof pub_ep), 0);
    void *ctx = zmq_ctx_new ();
    void *raw = zmq_socket (ctx, ZMQ_PUB);
    CHECK_EQ_INT (zmq_connect (raw, pub_ep), 0);
    size_t ping_len;
    Hs__Envelope *ping = s_ping ("ready");
    hs_pb_set_str (&ping->sender, "raw/1");
    uint8_t *ping_buf = hs_pb_pack (ping, &ping_len);
    hs_pb_free (ping);
    /* until the broker's subscribe-all has reached the raw PUB */
    int64_t deadline = hs_mono_ns () + 5000000000LL;
    bool ready = false;
    while (!ready && hs_mono_ns () < deadline) {
        zmq_send (raw, "ov.ready", 8, ZMQ_SNDMORE);
        zmq_send (raw, ping_buf, ping_len, 0);
        char *t = NULL;
        Hs__Envelope *in = NULL;
        if (hs_bus_recv (b, &t, &in, 100) == 0) {
            ready = strcmp (t, "ov.ready") == 0;
            free (t);
            hs_pb_free (in);
        }
    }
    CHECK (ready);
    while (hs_bus_wait (b, 200) == 0) { /* the other "ready"s */
        char *t = NULL;
        Hs__Envelope *in = NULL;
        if (hs_bus_recv (b, &t, &in, 0) == 0) {
            free (t);
            hs_pb_free (in);
        }
    }
    int64_t before = s_broker_dropped (b);
    CHECK (before >= 0);
    zmq_send (raw, "ov.huge", 7, ZMQ_SNDMORE);
    zmq_send (raw, big, big_len, 0);
    /* in a batch: the oversized pair goes, its neighbours stay */
    zmq_send (raw, HS_BUS_BATCH_TOPIC, strlen (HS_BUS_BATCH_TOPIC), ZMQ_SNDMORE);
    zmq_send (raw, "ov.huge", 7, ZMQ_SNDMORE);
    zmq_send (raw, big, big_len, ZMQ_SNDMORE);
    zmq_send (raw, "ov.inbatch", 10, ZMQ_SNDMORE);
    zmq_send (raw, ping_buf, ping_len, 0);
    zmq_send (raw, "cmd.ov", 6, ZMQ_SNDMORE);
    zmq_send (raw, big, big_len, 0);
    zmq_send (raw, "ov.after", 8, ZMQ_SNDMORE);
    zmq_send (raw, ping_buf, ping_len, 0);
    const char *want[] = {"ov.inbatch", "cmd.ov", "ov.after"};
    for (size_t i = 0; i < HS_ARRAY_LEN (want); i++) {
        char *t = NULL;
        Hs__Envelope *in = NULL;
        size_t size = 0;
        int r;
        do { /* heartbeats come too */
            free (t);
            hs_pb_free (in);
            t = NULL;
            in = NULL;
            r = hs_bus_recv_sized (b, "cmd.", &t, &in, &size, 5000);
        } while (r == 0 && hs_startswith (t, "hb."));
        CHECK_EQ_INT (r, 0);
        CHECK_EQ_STR (t, want[i]);
        if (i == 1) CHECK_EQ_INT ((int64_t)size, (int64_t)big_len);
        free (t);
        hs_pb_free (in);
    }
    CHECK_EQ_INT (hs_bus_garbage (b), 0);
    /* the counter moves by the two dropped, at the next heartbeat */
    int64_t after = s_broker_dropped (b);
    for (int i = 0; i < 3 && after < before + 2; i++) after = s_broker_dropped (b);
    CHECK_EQ_INT (after, before + 2);

    zmq_close (raw);
    zmq_ctx_term (ctx);
    free (big);
    free (ping_buf);
    hs_bus_destroy (&a);
    hs_bus_destroy (&b);
}

/* G5: '/' ends the names in topics, so a prefix subscription cannot match
 * another client's acks (x vs xy) or another node's pods (a vs a.b). */
static void test_prefix_terminated (void)
{
    hs_bus_t *a = NULL, *b = NULL;
    _cleanup_free_ char *ack_x = hs_topic_to ("ack", "x");
    _cleanup_free_ char *pods_a = hs_topic_events (HS_KIND_POD, "a");
    _cleanup_free_ char *node_a = hs_topic_event (HS_KIND_NODE, "-", "", "a");
    CHECK_EQ_STR (ack_x, "ack.x/");
    CHECK_EQ_STR (pods_a, "ev.pod.a/");
    CHECK_EQ_STR (node_a, "ev.node.-//a");
    s_pair ("pub", "pa", "sub", "pb", ack_x, &a, &b);
    CHECK_EQ_INT (hs_bus_subscribe (b, pods_a), 0);
    CHECK_EQ_INT (hs_bus_join (b, 5000), 0);
    s_publish_ping (a, "ack.xy/", "other client");
    s_publish_ping (a, "ev.pod.a.b/default/p", "other node");
    s_publish_ping (a, "ev.pod.ab/default/p", "other node");
    s_publish_ping (a, "ack.x/", "mine");
    s_publish_ping (a, "ev.pod.a/default/p", "my pod");
    s_expect (b, "ack.x/", "mine");
    s_expect (b, "ev.pod.a/default/p", "my pod");
    CHECK_EQ_INT (hs_bus_wait (b, 200), -EAGAIN);
    hs_bus_destroy (&a);
    hs_bus_destroy (&b);
    /* an instance is a client id: no '/', printable, at most 253 bytes */
    CHECK_EQ_INT (hs_bus_connect (s_addr, "pub", "a/b", &a), -EINVAL);
    CHECK_EQ_INT (hs_bus_connect (s_addr, "pub", "a b", &a), -EINVAL);
    char id[300];
    memset (id, 'n', sizeof id - 1);
    id[HS_TOPIC_MAX_ID] = '\0';
    CHECK (hs_topic_id_ok (id));
    id[HS_TOPIC_MAX_ID] = 'n';
    id[HS_TOPIC_MAX_ID + 1] = '\0';
    CHECK (!hs_topic_id_ok (id));
    CHECK (hs_topic_id_ok ("node-1.example.com"));
    CHECK (!hs_topic_id_ok (""));
}

/* G4: the topic of a command is the kind of its writes, or cmd.multi. */
static void test_cmd_topic (void)
{
    Hs__Write *pod = hs_pb_new (&hs__write__descriptor);
    pod->op = HS__OP__OP_APPLY;
    pod->object = hs_obj_new (HS_KIND_POD, "default", "p");
    Hs__Write *rs = hs_pb_new (&hs__write__descriptor);
    rs->op = HS__OP__OP_APPLY;
    rs->object = hs_obj_new (HS_KIND_REPLICASET, "default", "r");
    Hs__Write *bind = hs_pb_new (&hs__write__descriptor); /* no kind: a pod */
    bind->op = HS__OP__OP_BIND;
    hs_pb_set_str (&bind->name, "p");
    Hs__Write *del = hs_pb_new (&hs__write__descriptor);
    del->op = HS__OP__OP_DELETE;
    hs_pb_set_str (&del->kind, "deployment");
    Hs__Write *odd = hs_pb_new (&hs__write__descriptor);
    odd->op = HS__OP__OP_DELETE;
    hs_pb_set_str (&odd->kind, "gizmo");

    Hs__Write *pods[] = {pod, bind}, *mixed[] = {rs, del}, *one_rs[] = {rs}, *unknown[] = {odd};
    char *t = hs_cmd_topic (pods, 2);
    CHECK_EQ_STR (t, "cmd.pod");
    free (t);
    t = hs_cmd_topic (mixed, 2);
    CHECK_EQ_STR (t, "cmd.multi");
    free (t);
    t = hs_cmd_topic (one_rs, 1);
    CHECK_EQ_STR (t, "cmd.replicaset");
    free (t);
    CHECK_EQ_INT (hs_write_kind (del), HS_KIND_DEPLOYMENT);
    CHECK_EQ_INT (hs_write_kind (odd), HS_KIND_NONE);

    char *msg = NULL;
    CHECK_EQ_INT (hs_cmd_topic_check ("cmd.pod", pods, 2, &msg), 0);
    CHECK_EQ_INT (hs_cmd_topic_check ("cmd.multi", mixed, 2, &msg), 0);
    CHECK_EQ_INT (hs_cmd_topic_check ("cmd.replicaset", one_rs, 1, &msg), 0);
    CHECK_EQ_INT (hs_cmd_topic_check ("cmd.pod", unknown, 1, &msg), 0); /* Invalid later */
    CHECK_EQ_INT (hs_cmd_topic_check ("cmd.pod", one_rs, 1, &msg), -EPERM);
    CHECK_CONTAINS (msg, "cmd.pod: Forbidden: writes[0] is a ReplicaSet");
    free (msg);
    CHECK_EQ_INT (hs_cmd_topic_check ("cmd.replicaset", mixed, 2, &msg), -EPERM);
    CHECK_CONTAINS (msg, "writes[1] is a Deployment");
    CHECK_CONTAINS (msg, "use cmd.multi");
    free (msg);
    CHECK_EQ_INT (hs_cmd_topic_check ("cmd.multi", one_rs, 1, &msg), -EPERM);
    CHECK_CONTAINS (msg, "must go on cmd.replicaset");
    free (msg);
    CHECK_EQ_INT (hs_cmd_topic_check ("cmd.pods", pods, 2, &msg), -EPERM); /* not the name */
    free (msg);
    CHECK_EQ_INT (hs_cmd_topic_check ("cmd.snapshot", pods, 2, &msg), -EPERM);
    CHECK_CONTAINS (msg, "not a command topic");
    free (msg);
    hs_pb_free (pod);
    hs_pb_free (rs);
    hs_pb_free (bind);
    hs_pb_free (del);
    hs_pb_free (odd);
}

int main (int argc, char **argv)
{
    s_start_broker ();
    hs_test_t tests[] = {
        {"endpoints", test_endpoints},
        {"list_parsing", test_list_parsing},
        {"join_timeout_without_broker", test_join_timeout_without_broker},
        {"publish_and_filter", test_publish_and_filter},
        {"garbage_is_counted", test_garbage_is_counted},
        {"decode_reasons", test_decode_reasons},
        {"broker_survives_big_frame", test_broker_survives_oversized_frame},
        {"arena", test_arena},
        {"batch", test_batch},
        {"batch_malformed", test_batch_malformed},
        {"wait", test_wait},
        {"oversized_at_broker", test_oversized_at_broker},
        {"prefix_terminated", test_prefix_terminated},
        {"cmd_topic", test_cmd_topic},
    };
    return HS_TEST_RUN (tests);
}
