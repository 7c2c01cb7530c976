/*  tap_selftest.c: hs-tap's pure parts (formatting, recordings, stats) and
 *  hs-send's message builders, without a bus. */
#include "hs_obj.h"
#include "hs_test.h"
#include "hs_util.h"
#include "send_build.h"
#include "tap_fmt.h"
#include "tap_rec.h"
#include "tap_stats.h"

#include <errno.h>
#include <stdlib.h>

static const send_stamp_t s_st = {"hs-test/abc", 7, 1700000000123000000LL};

/* Packs env (its body set by the caller) into a two-frame message. */
static char *s_line_of (const char *topic, Hs__Envelope *env)
{
    env->sender = (char *)"hs-store/s1";
    env->sent_at_ns = 1700000000123456789LL;
    size_t len = hs__envelope__get_packed_size (env);
    uint8_t *buf = hs_malloc (len + 1);
    hs__envelope__pack (env, buf);
    hs_frame_t frames[2] = {{(uint8_t *)topic, strlen (topic)}, {buf, len}};
    tap_msg_t m = {frames, 2, 0, false};
    char *line = tap_fmt_line (&m);
    free (buf);
    return line;
}

static void test_command (void)
{
    Hs__Object *obj = hs_obj_new (HS_KIND_POD, "default", "web");
    Hs__Write w = HS__WRITE__INIT, w2 = HS__WRITE__INIT;
    w.op = HS__OP__OP_APPLY;
    w.object = obj;
    w2.op = HS__OP__OP_BIND;
    w2.kind = (char *)"pod";
    w2.namespace_ = (char *)"default";
    w2.name = (char *)"db";
    w2.node_name = (char *)"n1";
    Hs__Write *writes[] = {&w, &w2, &w};
    Hs__Command cmd = HS__COMMAND__INIT;
    cmd.request_id = (char *)"ab12";
    cmd.writes = writes;
    cmd.n_writes = 1;
    Hs__Envelope env = HS__ENVELOPE__INIT;
    env.body_case = HS__ENVELOPE__BODY_COMMAND;
    env.command = &cmd;
    char *s = tap_summary (&env);
    CHECK_EQ_STR (s, "apply pod default/web req=ab12 (1 write)");
    free (s);
    cmd.n_writes = 3;
    s = tap_summary (&env);
    CHECK_EQ_STR (s,
                  "apply pod default/web, bind pod default/db -> n1, +1 more req=ab12 (3 writes)");
    free (s);
    cmd.n_writes = 1;
    char *line = s_line_of ("cmd.pod", &env);
    CHECK_EQ_STR (line,
                  "22:13:20.123  hs-store/s1  cmd.pod  apply pod default/web req=ab12 (1 write)");
    free (line);
    hs_pb_free (obj);
}

static void test_usage (void)
{
    Hs__ContainerUsage c = HS__CONTAINER_USAGE__INIT;
    Hs__ContainerUsage *cs[] = {&c, &c};
    Hs__PodUsage p = HS__POD_USAGE__INIT;
    p.containers = cs;
    p.n_containers = 2;
    Hs__PodUsage *ps[] = {&p};
    Hs__NodeUsage u = HS__NODE_USAGE__INIT;
    u.node = (char *)"n1";
    u.pods = ps;
    u.n_pods = 1;
    u.cpu_usage_nanocores = 503000000;
    u.memory_working_set_bytes = 3 << 20;
    u.window_ms = 1000;
    Hs__Envelope env = HS__ENVELOPE__INIT;
    env.body_case = HS__ENVELOPE__BODY_USAGE;
    env.usage = &u;
    char *s = tap_summary (&env);
    CHECK_EQ_STR (s, "usage n1 pods=1 containers=2 cpu=0.503 mem=3.0MiB window=1000ms");
    free (s);
}

static void test_ack (void)
{
    Hs__WriteResult r = HS__WRITE_RESULT__INIT;
    r.result = HS__RESULT__RESULT_CREATED;
    r.kind = (char *)"pod";
    r.name = (char *)"web";
    Hs__WriteResult *results[] = {&r};
    Hs__Ack ack = HS__ACK__INIT;
    ack.request_id = (char *)"ab12";
    ack.revision = 42;
    ack.results = results;
    ack.n_results = 1;
    Hs__Envelope env = HS__ENVELOPE__INIT;
    env.body_case = HS__ENVELOPE__BODY_ACK;
    env.ack = &ack;
    char *s = tap_summary (&env);
    CHECK_EQ_STR (s, "ok rev=42 created pod/web req=ab12");
    free (s);
    ack.code = HS__CODE__CODE_CONFLICT;
    ack.message = (char *)"the object has been modified\nplease retry";
    ack.n_results = 0;
    char *line = s_line_of ("ack.c1/", &env);
    CHECK_CONTAINS (line,
                    "  ack.c1/  Conflict: the object has been modified please retry req=ab12");
    free (line);
    ack.code = HS__CODE__CODE_ALREADY_EXISTS;
    s = tap_summary (&env);
    CHECK_CONTAINS (s, "AlreadyExists: ");
    free (s);
    ack.code = (Hs__Code)99;
    s = tap_summary (&env);
    CHECK_CONTAINS (s, "Code99: ");
    free (s);
}

static void test_event_and_heartbeats (void)
{
    Hs__Object *obj = hs_obj_new (HS_KIND_POD, "default", "web");
    Hs__WatchEvent ev = HS__WATCH_EVENT__INIT;
    ev.type = HS__EVENT_TYPE__MODIFIED;
    ev.revision = 42;
    ev.stream = (char *)"pod.-";
    ev.seq = 7;
    ev.object = obj;
    Hs__Envelope env = HS__ENVELOPE__INIT;
    env.body_case = HS__ENVELOPE__BODY_EVENT;
    env.event = &ev;
    char *s = tap_summary (&env);
    CHECK_EQ_STR (s, "MODIFIED pod default/web rev=42 seq=pod.-#7");
    free (s);
    hs_pb_free (obj);

    Hs__StoreHeartbeat sh = HS__STORE_HEARTBEAT__INIT;
    sh.epoch = 5;
    sh.revision = 42;
    sh.garbage = 3;
    env.body_case = HS__ENVELOPE__BODY_STORE_HEARTBEAT;
    env.store_heartbeat = &sh;
    s = tap_summary (&env);
    CHECK_EQ_STR (s, "epoch=5 rev=42 streams=0 objects=0 commands=0 garbage=3");
    free (s);
    sh.forbidden = 2; /* shown once the store refused a write */
    s = tap_summary (&env);
    CHECK_EQ_STR (s, "epoch=5 rev=42 streams=0 objects=0 commands=0 garbage=3 forbidden=2");
    free (s);

    Hs__ComponentHeartbeat hb = HS__COMPONENT_HEARTBEAT__INIT;
    hb.component = (char *)"hs-scheduler";
    hb.instance = (char *)"i1";
    hb.owned = 4;
    hb.observed_revision = 41;
    env.body_case = HS__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    s = tap_summary (&env);
    CHECK_EQ_STR (s, "hs-scheduler/i1 owned=4 rev=41");
    free (s);

    char *kinds[] = {(char *)"pod", (char *)"node"};
    Hs__SnapshotRequest sr = HS__SNAPSHOT_REQUEST__INIT;
    sr.request_id = (char *)"r1";
    sr.client_id = (char *)"c1";
    sr.kinds = kinds;
    sr.n_kinds = 2;
    env.body_case = HS__ENVELOPE__BODY_SNAPSHOT_REQUEST;
    env.snapshot_request = &sr;
    s = tap_summary (&env);
    CHECK_EQ_STR (s, "snapshot req=r1 kinds=pod,node client=c1");
    free (s);

    Hs__SnapshotChunk ch = HS__SNAPSHOT_CHUNK__INIT;
    ch.request_id = (char *)"r1";
    ch.index = 2;
    ch.revision = 9;
    ch.last = true;
    ch.total_objects = 12;
    env.body_case = HS__ENVELOPE__BODY_SNAPSHOT_CHUNK;
    env.snapshot_chunk = &ch;
    s = tap_summary (&env);
    CHECK_EQ_STR (s, "chunk req=r1 #2 objects=0 rev=9 last total=12 streams=0");
    free (s);

    Hs__Ping ping = HS__PING__INIT;
    ping.nonce = (char *)"xyz";
    env.body_case = HS__ENVELOPE__BODY_PING;
    env.ping = &ping;
    s = tap_summary (&env);
    CHECK_EQ_STR (s, "ping nonce=xyz");
    free (s);
    /* The generic form, used for any body without its own summary. */
    s = tap_summary_generic (&env);
    CHECK_CONTAINS (s, "ping {");
    CHECK_CONTAINS (s, "xyz");
    free (s);
}

static void test_garbage_lines (void)
{
    static const char *want[SEND_GARBAGE__COUNT] = {
        /* three frames on cmd.*: the third is not hs-bus's identity stamp */
        [SEND_GARBAGE_FRAMES] = "GARBAGE (stamp) 3 frames",
        [SEND_GARBAGE_DECODE] = "GARBAGE (decode) 2 frames, 39 bytes: 07 ",
        [SEND_GARBAGE_OVERSIZED] = "GARBAGE (oversized) 2 frames, 4194312 bytes: 00 00",
        [SEND_GARBAGE_BODY] = "GARBAGE (body) 2 frames",
        [SEND_GARBAGE_TOPIC] = "cmd.pod\\x01\\xff\\x20  GARBAGE (topic)",
        [SEND_GARBAGE_HUGE] = "GARBAGE (oversized)",
    };
    for (int k = 0; k < SEND_GARBAGE__COUNT; k++) {
        hs_frame_t *frames;
        size_t n;
        CHECK_EQ_INT (send_build_garbage ((send_garbage_t)k, "cmd.pod", &s_st, &frames, &n), 0);
        Hs__Envelope *env = NULL;
        hs_garbage_t reason;
        CHECK_EQ_INT (hs_bus_decode (frames, n, &env, &reason), -EBADMSG);
        tap_msg_t m = {frames, n, 1700000000000000000LL, false};
        char *line = tap_fmt_line (&m);
        CHECK_CONTAINS (line, want[k]);
        CHECK (strchr (line, '\n') == NULL);
        free (line);
        char *json = tap_fmt_json (&m);
        CHECK_CONTAINS (json, "\"garbage\":\"");
        CHECK_CONTAINS (json, "\"time\":\"2023-11-14T22:13:20.000Z\"");
        free (json);
        if (k == SEND_GARBAGE_BODY) {
            line = tap_fmt_line (&m);
            CHECK_CONTAINS (line, "  hs-test/abc  cmd.pod  GARBAGE (body)");
            CHECK_CONTAINS (line, "unknown field 99");
            free (line);
        }
        hs_bus_frames_free (frames, n);
    }
    /* One frame, empty frames: still a line, never a crash. */
    hs_frame_t one = {(uint8_t *)"", 0};
    tap_msg_t m = {&one, 1, 0, false};
    char *line = tap_fmt_line (&m);
    CHECK_CONTAINS (line, "(empty)  GARBAGE (frames) 1 frame, 0 bytes");
    free (line);
}

static void test_json (void)
{
    size_t len;
    uint8_t *buf = send_build_ping (&s_st, "n\"once", &len);
    hs_frame_t frames[2] = {{(uint8_t *)"echo.x/", 7}, {buf, len}};
    tap_msg_t m = {frames, 2, 0, false};
    char *json = tap_fmt_json (&m);
    CHECK_CONTAINS (json, "{\"time\":\"2023-11-14T22:13:20.123Z\",\"topic\":\"echo.x/\",\"size\":");
    CHECK_CONTAINS (json, ",\"envelope\":{");
    CHECK_CONTAINS (json, "n\\\"once");
    CHECK (json[strlen (json) - 1] == '}');
    CHECK (strchr (json, '\n') == NULL);
    free (json);
    free (buf);
    hs_buf_t b = {0};
    tap_json_str (&b, (const uint8_t *)"a\x01\xff\\", 4);
    char *s = hs_buf_take (&b);
    CHECK_EQ_STR (s, "\"a\\u0001\\u00ff\\\\\"");
    free (s);
}

static void test_groups_and_filter (void)
{
    static const struct {
        const char *topic, *group;
    } cases[] = {
        {"ev.pod.n1/default/web", "ev.pod"},
        {"ev.pod.a.b/default/web", "ev.pod"},
        {"cmd.pod", "cmd.pod"},
        {"hb.store", "hb.store"},
        {"ack.c1/", "ack"},
        {"snap.c1/", "snap"},
        {"echo.x/", "echo"},
        {"probe.a.b/", "probe"},
        {"logs.c1/", "logs"},
        {"hb.bus.abc", "hb.bus"},
        {"single", "single"},
        {"acks.x", "acks.x"},
        {"", "(bad topic)"},
        {"a b", "(bad topic)"},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (cases); i++) {
        char g[80];
        hs_frame_t t = {(uint8_t *)cases[i].topic, strlen (cases[i].topic)};
        CHECK_EQ_STR (tap_topic_group (&t, g, sizeof g), cases[i].group);
    }
    const char *inc[] = {"ev.", "cmd.pod"}, *exc[] = {"ev.node."};
    tap_filter_t f = {inc, 2, exc, 1};
    hs_frame_t a = {(uint8_t *)"ev.pod.x", 8}, b = {(uint8_t *)"ev.node.x", 9},
               c = {(uint8_t *)"hb.store", 8}, d = {(uint8_t *)"cmd.pod", 7},
               e = {(uint8_t *)"cmd", 3};
    CHECK (tap_filter_match (&f, &a));
    CHECK (!tap_filter_match (&f, &b));
    CHECK (!tap_filter_match (&f, &c));
    CHECK (tap_filter_match (&f, &d));
    CHECK (!tap_filter_match (&f, &e));
    tap_filter_t all = {0};
    CHECK (tap_filter_match (&all, &c));
}

static void test_recording (void)
{
    char path[4096];
    snprintf (path, sizeof path, "%s/rec", hs_test_tmpdir ());
    FILE *f = fopen (path, "wb");
    CHECK_EQ_INT (tap_rec_write_header (f), 0);
    hs_frame_t *g;
    size_t gn;
    send_build_garbage (SEND_GARBAGE_FRAMES, "cmd.pod", &s_st, &g, &gn);
    hs_frame_t two[2] = {{(uint8_t *)"hb.store", 8}, {(uint8_t *)"", 0}};
    CHECK_EQ_INT (tap_rec_write (f, 123456789012345LL, two, 2), 0);
    CHECK_EQ_INT (tap_rec_write (f, -5, g, gn), 0);
    long size = ftell (f);
    fclose (f);

    f = fopen (path, "rb");
    char *err = NULL;
    CHECK_EQ_INT (tap_rec_read_header (f, &err), 0);
    int64_t t;
    hs_frame_t *fr;
    size_t n;
    CHECK_EQ_INT (tap_rec_read (f, &t, &fr, &n, &err), 1);
    CHECK_EQ_INT (t, 123456789012345LL);
    CHECK_EQ_INT (n, 2);
    CHECK_EQ_STR ((char *)fr[0].data, "hb.store");
    CHECK_EQ_INT (fr[1].len, 0);
    hs_bus_frames_free (fr, n);
    CHECK_EQ_INT (tap_rec_read (f, &t, &fr, &n, &err), 1);
    CHECK_EQ_INT (t, -5);
    CHECK_EQ_INT (n, 3);
    CHECK_EQ_INT (fr[2].len, 5);
    CHECK (memcmp (fr[1].data, g[1].data, g[1].len) == 0);
    hs_bus_frames_free (fr, n);
    CHECK_EQ_INT (tap_rec_read (f, &t, &fr, &n, &err), 0);
    fclose (f);
    hs_bus_frames_free (g, gn);

    /* Every truncation fails cleanly, except exactly at a message boundary. */
    long boundary1 = TAP_REC_MAGIC_LEN + 12 + 4 + 8 + 4;
    uint8_t *whole = hs_malloc ((size_t)size);
    f = fopen (path, "rb");
    CHECK_EQ_INT (fread (whole, 1, (size_t)size, f), size);
    fclose (f);
    for (long cut = 0; cut < size; cut++) {
        /* fmemopen of 0 bytes is refused by older glibc. */
        f = cut ? fmemopen (whole, (size_t)cut, "rb") : fopen ("/dev/null", "rb");
        int r = tap_rec_read_header (f, &err);
        int msgs = 0;
        while (r == 0) {
            r = tap_rec_read (f, &t, &fr, &n, &err);
            if (r == 1) {
                hs_bus_frames_free (fr, n);
                msgs++;
                r = 0;
            } else if (r == 0) {
                r = 2;
            }
        }
        fclose (f);
        bool clean = cut == TAP_REC_MAGIC_LEN || cut == boundary1;
        if (clean) {
            CHECK_EQ_INT (r, 2);
        } else {
            CHECK_EQ_INT (r, -EBADMSG);
            CHECK (err != NULL);
            if (cut > TAP_REC_MAGIC_LEN) CHECK_CONTAINS (err, "truncated");
        }
        free (err);
        err = NULL;
    }
    free (whole);
    /* A length field pointing far past any sane size is corrupt, not a malloc. */
    f = fopen (path, "wb");
    fwrite ("HSTAP1\n\0\0\0\0\0\0\0\1\0\0\0\1\xff\xff\xff\xff", 1, 23, f);
    fclose (f);
    f = fopen (path, "rb");
    CHECK_EQ_INT (tap_rec_read_header (f, &err), 0);
    CHECK_EQ_INT (tap_rec_read (f, &t, &fr, &n, &err), -EBADMSG);
    CHECK_CONTAINS (err, "corrupt frame length");
    free (err);
    fclose (f);
    f = fopen (path, "wb");
    fwrite ("HSTAP2\n", 1, 7, f);
    fclose (f);
    f = fopen (path, "rb");
    CHECK_EQ_INT (tap_rec_read_header (f, &err), -EBADMSG);
    CHECK_CONTAINS (err, "not an hs-tap recording");
    free (err);
    fclose (f);
}

static void test_stats (void)
{
    tap_stats_t *st = tap_stats_new ();
    for (int i = 0; i < 10; i++) tap_stats_add (st, "ev.pod", 100, false);
    tap_stats_add (st, "cmd.pod", 50, true);
    char *table = tap_stats_take (st, 2000000000LL);
    CHECK_CONTAINS (table, "GROUP");
    CHECK_CONTAINS (table, "\ncmd.pod ");
    CHECK_CONTAINS (
        table,
        "\nev.pod                            5        500           10         1000        0\n");
    CHECK_CONTAINS (
        table,
        "\nTOTAL                             6        525           11         1050        1\n");
    free (table);
    table = tap_stats_take (st, 1000000000LL);
    CHECK_CONTAINS (
        table,
        "\nev.pod                            0          0           10         1000        0\n");
    free (table);
    /* Unbounded junk topics end up in one group. */
    for (int i = 0; i < 1000; i++) {
        char g[32];
        snprintf (g, sizeof g, "junk.%d", i);
        tap_stats_add (st, g, 1, true);
    }
    table = tap_stats_take (st, 1000000000LL);
    CHECK_CONTAINS (table, "(other)");
    free (table);
    tap_stats_destroy (&st);
    CHECK (st == NULL);
}

static void test_hex (void)
{
    uint8_t *b;
    size_t n;
    CHECK_EQ_INT (send_hex_decode ("0a 0B:ff", &b, &n), 0);
    CHECK_EQ_INT (n, 3);
    CHECK (b[0] == 0x0a && b[1] == 0x0b && b[2] == 0xff);
    free (b);
    CHECK_EQ_INT (send_hex_decode ("", &b, &n), 0);
    CHECK_EQ_INT (n, 0);
    free (b);
    CHECK_EQ_INT (send_hex_decode ("abc", &b, &n), -EINVAL);
    CHECK_EQ_INT (send_hex_decode ("zz", &b, &n), -EINVAL);
    send_garbage_t k;
    CHECK_EQ_INT (send_garbage_parse ("oversized", &k), 0);
    CHECK_EQ_INT (k, SEND_GARBAGE_OVERSIZED);
    CHECK_EQ_INT (send_garbage_parse ("nope", &k), -EINVAL);
}

/* A Secret anywhere (an event's object, a command's writes, a snapshot
 * chunk) shows as "<redacted N bytes>" unless show_secrets; recordings too. */
static void test_secret_redaction (void)
{
    static const char value[] = "pa55-w0rd-xyzzy";
    static const char b64[] = "cGE1NS13MHJkLXh5enp5"; /* base64 of value */
    Hs__Object *sec = hs_obj_new (HS_KIND_SECRET, "default", "db");
    Hs__Secret__DataEntry *d = hs_pb_new (&hs__secret__data_entry__descriptor);
    hs_pb_set_str (&d->key, "password");
    d->value.len = strlen (value);
    d->value.data = hs_pb_alloc (d->value.len);
    memcpy (d->value.data, value, d->value.len);
    hs_pb_push ((void ***)&sec->secret->data, &sec->secret->n_data, d);
    Hs__Secret__StringDataEntry *sd = hs_pb_new (&hs__secret__string_data_entry__descriptor);
    hs_pb_set_str (&sd->key, "token");
    hs_pb_set_str (&sd->value, value);
    hs_pb_push ((void ***)&sec->secret->string_data, &sec->secret->n_string_data, sd);

    Hs__Envelope *envs[3];
    Hs__WatchEvent *ev = hs_pb_new (&hs__watch_event__descriptor);
    ev->type = HS__EVENT_TYPE__ADDED;
    ev->object = hs_pb_dup (sec);
    envs[0] = hs_pb_new (&hs__envelope__descriptor);
    envs[0]->body_case = HS__ENVELOPE__BODY_EVENT;
    envs[0]->event = ev;
    Hs__Command *cmd = hs_pb_new (&hs__command__descriptor);
    hs_pb_set_str (&cmd->client_id, "c");
    Hs__Write *w = hs_pb_new (&hs__write__descriptor);
    w->op = HS__OP__OP_APPLY;
    w->object = hs_pb_dup (sec);
    hs_pb_push ((void ***)&cmd->writes, &cmd->n_writes, w);
    envs[1] = hs_pb_new (&hs__envelope__descriptor);
    envs[1]->body_case = HS__ENVELOPE__BODY_COMMAND;
    envs[1]->command = cmd;
    Hs__SnapshotChunk *ch = hs_pb_new (&hs__snapshot_chunk__descriptor);
    hs_pb_push ((void ***)&ch->objects, &ch->n_objects, hs_pb_dup (sec));
    hs_pb_push ((void ***)&ch->objects, &ch->n_objects, hs_obj_new (HS_KIND_POD, "default", "p"));
    envs[2] = hs_pb_new (&hs__envelope__descriptor);
    envs[2]->body_case = HS__ENVELOPE__BODY_SNAPSHOT_CHUNK;
    envs[2]->snapshot_chunk = ch;
    const char *topics[3] = {"ev.secret.-/default/db", "cmd.secret", "snap.c/"};
    for (int i = 0; i < 3; i++) {
        hs_pb_set_str (&envs[i]->sender, "hs-store/s1");
        size_t len;
        uint8_t *buf = hs_pb_pack (envs[i], &len);
        hs_frame_t frames[2] = {{(uint8_t *)topics[i], strlen (topics[i])}, {buf, len}};
        tap_msg_t m = {frames, 2, 0, false};
        char *json = tap_fmt_json (&m);
        char *line = tap_fmt_line (&m);
        CHECK_CONTAINS (json, "\"password\":\"<redacted 15 bytes>\"");
        CHECK_CONTAINS (json, "\"token\":\"<redacted 15 bytes>\"");
        CHECK (json && !strstr (json, b64) && !strstr (json, value));
        CHECK (line && !strstr (line, b64) && !strstr (line, value));
        free (json);
        free (line);
        hs_frame_t *red = NULL;
        CHECK_EQ_INT (tap_redact_frames (&m, &red), 1);
        if (red) {
            CHECK (!memmem (red[1].data, red[1].len, value, strlen (value)));
            CHECK (red[0].len == frames[0].len);
            tap_msg_t rm = {red, 2, 0, true}; /* what a replay of the recording shows */
            char *rj = tap_fmt_json (&rm);
            CHECK_CONTAINS (rj, "<redacted 15 bytes>");
            free (rj);
            hs_bus_frames_free (red, 2);
        }
        m.show_secrets = true;
        json = tap_fmt_json (&m);
        CHECK_CONTAINS (json, b64);
        free (json);
        free (buf);
        hs_pb_free (envs[i]);
    }
    /* nothing to redact: no copy */
    Hs__Envelope *plain = hs_pb_new (&hs__envelope__descriptor);
    plain->body_case = HS__ENVELOPE__BODY_EVENT;
    plain->event = hs_pb_new (&hs__watch_event__descriptor);
    plain->event->object = hs_obj_new (HS_KIND_POD, "default", "p");
    size_t len;
    uint8_t *buf = hs_pb_pack (plain, &len);
    hs_frame_t frames[2] = {{(uint8_t *)"ev.pod.-/default/p", 18}, {buf, len}};
    tap_msg_t m = {frames, 2, 0, false};
    hs_frame_t *red = NULL;
    CHECK_EQ_INT (tap_redact_frames (&m, &red), 0);
    free (buf);
    hs_pb_free (plain);
    hs_pb_free (sec);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"command", test_command},
        {"ack", test_ack},
        {"usage", test_usage},
        {"event_and_heartbeats", test_event_and_heartbeats},
        {"garbage_lines", test_garbage_lines},
        {"json", test_json},
        {"groups_and_filter", test_groups_and_filter},
        {"recording", test_recording},
        {"stats", test_stats},
        {"hex", test_hex},
        {"secret_redaction", test_secret_redaction},
    };
    return HS_TEST_RUN (tests);
}
