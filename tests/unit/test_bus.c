/*  test_bus.c: hs_bus against the real hs-bus broker: endpoints, join,
 *  publish/receive, prefix filtering, and garbage that is counted and survived. */
#include "hs_bus.h"
#include "hs_obj.h"
#include "hs_pb.h"
#include "hs_test.h"
#include "hs_util.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>

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

static void test_publish_and_filter (void)
{
    hs_bus_t *a = NULL, *b = NULL;
    CHECK_EQ_INT (hs_bus_connect (s_addr, "pub", "a1", &a), 0);
    CHECK_EQ_INT (hs_bus_connect (s_addr, "sub", "b1", &b), 0);
    CHECK_EQ_INT (hs_bus_subscribe (b, "wanted."), 0);
    CHECK_EQ_INT (hs_bus_join (a, 5000), 0);
    CHECK_EQ_INT (hs_bus_join (b, 5000), 0);

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
    CHECK_EQ_INT (hs_bus_connect (s_addr, "evil", "e1", &a), 0);
    CHECK_EQ_INT (hs_bus_connect (s_addr, "victim", "v1", &b), 0);
    CHECK_EQ_INT (hs_bus_subscribe (b, "g."), 0);
    CHECK_EQ_INT (hs_bus_join (a, 5000), 0);
    CHECK_EQ_INT (hs_bus_join (b, 5000), 0);

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

int main (int argc, char **argv)
{
    s_start_broker ();
    hs_test_t tests[] = {
        {"endpoints", test_endpoints},
        {"join_timeout_without_broker", test_join_timeout_without_broker},
        {"publish_and_filter", test_publish_and_filter},
        {"garbage_is_counted", test_garbage_is_counted},
        {"decode_reasons", test_decode_reasons},
        {"broker_survives_big_frame", test_broker_survives_oversized_frame},
        {"arena", test_arena},
    };
    return HS_TEST_RUN (tests);
}
