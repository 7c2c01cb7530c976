/*  test_store_bus.c: the real hs-bus and hs-store binaries, spoken to over
 *  the raw bus: a command gets its ack and its event, hb.store flows, a
 *  snapshot streams back, garbage is counted, and after a kill -9 and a
 *  restart the same request id is answered from memory without a second
 *  event.
 */
#include "hs_bus.h"
#include "hs_obj.h"
#include "hs_test.h"
#include "hs_util.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define CLIENT     "tstore"
#define TIMEOUT_MS 15000

static hs_bus_t *g_bus;
static int g_port;
static char g_data[1024];

/* Events seen on ev.pod.* while waiting for other things. */
static char *g_events[256];
static size_t g_n_events;

static pid_t s_start_store (void)
{
    char addr[64];
    snprintf (addr, sizeof addr, "127.0.0.1:%d", g_port);
    char *argv[] = {"hs-store", "--bus", addr, "--data", g_data, "--instance", "s1", NULL};
    return hs_test_spawn ("hs-store", argv);
}

typedef bool (*s_match_fn) (const char *topic, const Hs__Envelope *env, void *arg);

/* Receives until match() accepts a message (returned, caller frees) or the
 * deadline passes (NULL). Pod events on the way are recorded. */
static Hs__Envelope *s_wait (s_match_fn match, void *arg, int timeout_ms)
{
    int64_t deadline = hs_mono_ns () + (int64_t)timeout_ms * 1000000;
    for (;;) {
        int left = (int)((deadline - hs_mono_ns ()) / 1000000);
        if (left <= 0) return NULL;
        char *topic;
        Hs__Envelope *env;
        if (hs_bus_recv (g_bus, &topic, &env, left) < 0) continue;
        if (env->body_case == HS__ENVELOPE__BODY_EVENT && g_n_events < HS_ARRAY_LEN (g_events))
            g_events[g_n_events++] = hs_strdup (topic);
        bool ok = match (topic, env, arg);
        free (topic);
        if (ok) return env;
        hs_pb_free (env);
    }
}

static bool s_is_hb (const char *topic, const Hs__Envelope *env, void *arg)
{
    uint64_t *not_epoch = arg;
    return strcmp (topic, "hb.store") == 0 &&
           env->body_case == HS__ENVELOPE__BODY_STORE_HEARTBEAT &&
           (!not_epoch || env->store_heartbeat->epoch != *not_epoch);
}

static bool s_is_ack (const char *topic, const Hs__Envelope *env, void *arg)
{
    return strcmp (topic, "ack." CLIENT "/") == 0 && env->body_case == HS__ENVELOPE__BODY_ACK &&
           hs_streq (env->ack->request_id, arg);
}

static bool s_is_event (const char *topic, const Hs__Envelope *env, void *arg)
{
    return env->body_case == HS__ENVELOPE__BODY_EVENT && strcmp (topic, arg) == 0;
}

static bool s_is_chunk (const char *topic, const Hs__Envelope *env, void *arg)
{
    return strcmp (topic, "snap." CLIENT "/") == 0 &&
           env->body_case == HS__ENVELOPE__BODY_SNAPSHOT_CHUNK &&
           hs_streq (env->snapshot_chunk->request_id, arg);
}

static bool s_has_garbage (const char *topic, const Hs__Envelope *env, void *arg)
{
    return s_is_hb (topic, env, NULL) && env->store_heartbeat->garbage >= *(uint64_t *)arg;
}

/* An Envelope with a Command creating pod `name` with request id `req`. */
static Hs__Envelope *s_create_env (const char *req, const char *name)
{
    Hs__Envelope *env = hs_pb_new (&hs__envelope__descriptor);
    env->body_case = HS__ENVELOPE__BODY_COMMAND;
    Hs__Command *c = env->command = hs_pb_new (&hs__command__descriptor);
    hs_pb_set_str (&c->client_id, CLIENT);
    hs_pb_set_str (&c->request_id, req);
    Hs__Write *w = hs_pb_new (&hs__write__descriptor);
    w->op = HS__OP__OP_CREATE;
    w->object = hs_obj_new (HS_KIND_POD, "default", name);
    Hs__Pod *p = w->object->pod;
    p->spec = hs_pb_new (&hs__pod_spec__descriptor);
    Hs__Container *ct = hs_pb_new (&hs__container__descriptor);
    hs_pb_set_str (&ct->name, "app");
    hs_pb_push ((void ***)&ct->command, &ct->n_command, hs_strdup ("sleep"));
    hs_pb_push ((void ***)&p->spec->containers, &p->spec->n_containers, ct);
    hs_pb_push ((void ***)&c->writes, &c->n_writes, w);
    return env;
}

/* Publishes a Command creating pod `name` with request id `req`. */
static void s_send_create (const char *req, const char *name)
{
    Hs__Envelope *env = s_create_env (req, name);
    CHECK_EQ_INT (hs_bus_publish (g_bus, "cmd.pod", env), 0);
    hs_pb_free (env);
}

/* What a client may not send, answered rather than dropped
 * (docs/protocol.md): a command on another kind's topic (Forbidden), one
 * over HS_BUS_MAX_MSG (sent raw: the library refuses it) or over the
 * writes per command (Invalid), each naming what was wrong. */
static void s_check_refusals (const char *addr)
{
    Hs__Envelope *env = s_create_env ("wrongtopic", "wt");
    CHECK_EQ_INT (hs_bus_publish (g_bus, "cmd.replicaset", env), 0);
    hs_pb_free (env);
    Hs__Envelope *ack = s_wait (s_is_ack, "wrongtopic", TIMEOUT_MS);
    CHECK (ack != NULL);
    if (ack) {
        CHECK_EQ_INT (ack->ack->code, HS__CODE__CODE_FORBIDDEN);
        CHECK_CONTAINS (ack->ack->message,
                        "cmd.replicaset: Forbidden: writes[0] is a Pod: a command on "
                        "cmd.replicaset may only write replicasets");
    }
    hs_pb_free (ack);

    env = s_create_env ("many", "m");
    Hs__Command *c = env->command;
    for (int i = 0; i < 1000; i++) {
        Hs__Write *w = hs_pb_new (&hs__write__descriptor);
        w->op = HS__OP__OP_DELETE;
        hs_pb_set_str (&w->kind, "pod");
        hs_pb_set_str (&w->name, "x");
        hs_pb_push ((void ***)&c->writes, &c->n_writes, w);
    }
    CHECK_EQ_INT (hs_bus_publish (g_bus, "cmd.pod", env), 0);
    hs_pb_free (env);
    ack = s_wait (s_is_ack, "many", TIMEOUT_MS);
    CHECK (ack != NULL);
    if (ack) {
        CHECK_EQ_INT (ack->ack->code, HS__CODE__CODE_INVALID);
        CHECK_CONTAINS (ack->ack->message, "must have at most 1000 writes");
    }
    hs_pb_free (ack);

    env = s_create_env ("huge", "big");
    char *v = hs_malloc ((size_t)HS_BUS_MAX_MSG + 1);
    memset (v, 'v', HS_BUS_MAX_MSG);
    v[HS_BUS_MAX_MSG] = '\0';
    Hs__ObjectMeta *m = env->command->writes[0]->object->pod->metadata;
    Hs__ObjectMeta__AnnotationsEntry *e =
        hs_pb_new (&hs__object_meta__annotations_entry__descriptor);
    hs_pb_set_str (&e->key, "big");
    hs_pb_take_str (&e->value, v);
    hs_pb_push ((void ***)&m->annotations, &m->n_annotations, e);
    hs_pb_set_str (&env->sender, "raw/1");
    env->sender_seq = 1;
    CHECK_EQ_INT (hs_bus_publish (g_bus, "cmd.pod", env), -EMSGSIZE);
    size_t len;
    uint8_t *buf = hs_pb_pack (env, &len);
    hs_pb_free (env);
    char pub_ep[300], sub_ep[300];
    CHECK_EQ_INT (hs_bus_endpoints (addr, pub_ep, sub_ep, sizeof pub_ep), 0);
    void *ctx = zmq_ctx_new ();
    void *raw = zmq_socket (ctx, ZMQ_PUB);
    CHECK_EQ_INT (zmq_connect (raw, pub_ep), 0);
    /* Retried as a client would, until acked (the first may go before the
     * raw PUB has the broker's subscription). */
    ack = NULL;
    for (int i = 0; i < 50 && !ack; i++) {
        zmq_send (raw, "cmd.pod", 7, ZMQ_SNDMORE);
        zmq_send (raw, buf, len, 0);
        ack = s_wait (s_is_ack, "huge", 300);
    }
    CHECK (ack != NULL);
    if (ack) {
        CHECK_EQ_INT (ack->ack->code, HS__CODE__CODE_INVALID);
        CHECK_CONTAINS (ack->ack->message, "Command: Too long");
        CHECK_CONTAINS (ack->ack->message, "must be at most 4194304 bytes (HS_BUS_MAX_MSG");
    }
    hs_pb_free (ack);
    free (buf);
    zmq_close (raw);
    zmq_ctx_term (ctx);
}

static void s_send_snapshot_request (const char *req)
{
    Hs__Envelope *env = hs_pb_new (&hs__envelope__descriptor);
    env->body_case = HS__ENVELOPE__BODY_SNAPSHOT_REQUEST;
    Hs__SnapshotRequest *r = env->snapshot_request = hs_pb_new (&hs__snapshot_request__descriptor);
    hs_pb_set_str (&r->client_id, CLIENT);
    hs_pb_set_str (&r->request_id, req);
    hs_pb_push ((void ***)&r->kinds, &r->n_kinds, hs_strdup ("pods"));
    CHECK_EQ_INT (hs_bus_publish (g_bus, "cmd.snapshot", env), 0);
    hs_pb_free (env);
}

static void test_store_over_bus (void)
{
    g_port = hs_test_free_port_pair ();
    snprintf (g_data, sizeof g_data, "%s/store", hs_test_tmpdir ());
    char port[16], addr[64];
    snprintf (port, sizeof port, "%d", g_port);
    snprintf (addr, sizeof addr, "127.0.0.1:%d", g_port);
    char *bus_argv[] = {"hs-bus", "--bind", "127.0.0.1", "--port", port, NULL};
    CHECK (hs_test_spawn ("hs-bus", bus_argv) > 0);
    pid_t store = s_start_store ();
    CHECK (store > 0);

    CHECK_EQ_INT (hs_bus_connect (addr, "test", CLIENT, &g_bus), 0);
    if (!g_bus) return;
    hs_bus_subscribe (g_bus, "ack." CLIENT "/");
    hs_bus_subscribe (g_bus, "snap." CLIENT "/");
    hs_bus_subscribe (g_bus, "ev.pod.");
    hs_bus_subscribe (g_bus, "hb.store");
    CHECK_EQ_INT (hs_bus_join (g_bus, TIMEOUT_MS), 0);

    /* The store's heartbeat says it is up (it beats only after joining). */
    Hs__Envelope *hb = s_wait (s_is_hb, NULL, TIMEOUT_MS);
    CHECK (hb != NULL);
    if (!hb) return;
    uint64_t epoch = hb->store_heartbeat->epoch;
    CHECK (epoch != 0);
    CHECK_EQ_STR (hb->store_heartbeat->instance, "s1");
    CHECK (hb->store_heartbeat->started_at_ns > 0);
    hs_pb_free (hb);

    /* A command: its event, then its ack. */
    s_send_create ("r1", "web");
    Hs__Envelope *ev = s_wait (s_is_event, "ev.pod.-/default/web", TIMEOUT_MS);
    CHECK (ev != NULL);
    if (ev) {
        CHECK_EQ_INT (ev->event->type, HS__EVENT_TYPE__ADDED);
        CHECK_EQ_STR (ev->event->stream, "pod.-");
        CHECK_EQ_INT (ev->event->seq, 1);
        CHECK_EQ_INT (ev->event->epoch, epoch);
        CHECK (ev->event->committed_at_ns > 0);
        CHECK_EQ_STR (hs_obj_meta (ev->event->object)->name, "web");
        CHECK_EQ_STR (ev->sender, "hs-store/s1");
    }
    hs_pb_free (ev);
    Hs__Envelope *ack = s_wait (s_is_ack, "r1", TIMEOUT_MS);
    CHECK (ack != NULL);
    int64_t rev = 0;
    if (ack) {
        CHECK_EQ_INT (ack->ack->code, HS__CODE__CODE_OK);
        CHECK (!ack->ack->replayed);
        CHECK_EQ_INT (ack->ack->n_results, 1);
        rev = ack->ack->revision;
        CHECK (rev > 0);
    }
    hs_pb_free (ack);

    /* hb.store reflects it. */
    hb = s_wait (s_is_hb, NULL, TIMEOUT_MS);
    CHECK (hb != NULL);
    if (hb) {
        CHECK_EQ_INT (hb->store_heartbeat->revision, rev);
        CHECK_EQ_INT (hb->store_heartbeat->objects, 1);
        CHECK (hb->store_heartbeat->commands >= 1);
        CHECK (hb->store_heartbeat->commits >= 1);
        bool seen = false;
        for (size_t i = 0; i < hb->store_heartbeat->n_streams; i++)
            if (hs_streq (hb->store_heartbeat->streams[i]->stream, "pod.-"))
                seen = hb->store_heartbeat->streams[i]->seq == 1;
        CHECK (seen);
    }
    hs_pb_free (hb);

    /* A snapshot streams back. */
    s_send_snapshot_request ("s1");
    Hs__Envelope *chunk = s_wait (s_is_chunk, "s1", TIMEOUT_MS);
    CHECK (chunk != NULL);
    if (chunk) {
        Hs__SnapshotChunk *c = chunk->snapshot_chunk;
        CHECK (c->last);
        CHECK_EQ_INT (c->index, 0);
        CHECK_EQ_INT (c->total_objects, 1);
        CHECK_EQ_INT (c->n_objects, 1);
        CHECK_EQ_INT (c->epoch, epoch);
        CHECK_EQ_INT (c->revision, rev);
        CHECK_EQ_INT (c->code, HS__CODE__CODE_OK);
        CHECK (c->n_streams >= 1 && hs_streq (c->streams[0]->stream, "pod.-") &&
               c->streams[0]->seq == 1);
    }
    hs_pb_free (chunk);

    /* Garbage: raw junk, and a valid envelope of the wrong kind on cmd.*. */
    CHECK_EQ_INT (hs_bus_publish_raw (g_bus, "cmd.pod", "\xff\xff\xff", 3), 0);
    Hs__Envelope ping = HS__ENVELOPE__INIT;
    Hs__Ping p = HS__PING__INIT;
    ping.body_case = HS__ENVELOPE__BODY_PING;
    ping.ping = &p;
    CHECK_EQ_INT (hs_bus_publish (g_bus, "cmd.pod", &ping), 0);
    hs_pb_take_str (&ping.sender, NULL);
    uint64_t want = 2;
    hb = s_wait (s_has_garbage, &want, TIMEOUT_MS);
    CHECK (hb != NULL);
    hs_pb_free (hb);

    s_check_refusals (addr);

    /* kill -9, restart: a new epoch; the retry is replayed, not re-applied. */
    hs_test_kill (store, SIGKILL);
    store = s_start_store ();
    CHECK (store > 0);
    hb = s_wait (s_is_hb, &epoch, TIMEOUT_MS);
    CHECK (hb != NULL);
    if (hb) CHECK_EQ_INT (hb->store_heartbeat->revision, rev);
    hs_pb_free (hb);
    for (size_t i = 0; i < g_n_events; i++) free (g_events[i]);
    g_n_events = 0;
    s_send_create ("r1", "web");
    ack = s_wait (s_is_ack, "r1", TIMEOUT_MS);
    CHECK (ack != NULL);
    if (ack) {
        CHECK (ack->ack->replayed);
        CHECK_EQ_INT (ack->ack->code, HS__CODE__CODE_OK);
        CHECK_EQ_INT (ack->ack->revision, rev);
    }
    hs_pb_free (ack);
    /* Events go out in commit order: once the next command's event is here,
     * a second event for the replay would have been seen. */
    s_send_create ("r2", "two");
    ev = s_wait (s_is_event, "ev.pod.-/default/two", TIMEOUT_MS);
    CHECK (ev != NULL);
    if (ev) CHECK_EQ_INT (ev->event->seq, 2);
    hs_pb_free (ev);
    for (size_t i = 0; i < g_n_events; i++) {
        CHECK (strcmp (g_events[i], "ev.pod.-/default/web") != 0);
        free (g_events[i]);
    }
    g_n_events = 0;

    /* SIGTERM: a clean exit, said in the log. */
    hs_test_kill (store, SIGTERM);
    char path[1200];
    snprintf (path, sizeof path, "%s/hs-store.log", hs_test_tmpdir ());
    FILE *f = fopen (path, "re");
    CHECK (f != NULL);
    bool stopped = false;
    char line[1024];
    while (f && fgets (line, sizeof line, f))
        stopped |= strstr (line, "signal 15: stopping") != NULL;
    if (f) fclose (f);
    CHECK (stopped);
    hs_bus_destroy (&g_bus);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"store_over_bus", test_store_over_bus},
    };
    return HS_TEST_RUN (tests);
}
