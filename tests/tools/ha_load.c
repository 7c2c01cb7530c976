/*  ha_load.c: hs-ha-load, the HA tests' writer and recorder (a test tool).
 *
 *  N logical clients through one hs_client (request ids, resends at a new
 *  store epoch), each with one command in flight, for --ms milliseconds:
 *    - even steps: OP_CREATE of a new Pod "u-c<client>-<step>" (a distinct
 *      key per write: acked ones must be there exactly once afterwards);
 *    - odd steps: a write of register "r-<k>" (a Pod, K of them, made
 *      first): OP_APPLY with a value unique to this write, or, every
 *      --cas-every'th, OP_UPDATE with expected_revision = the last revision
 *      this client saw for that register (compare-and-set).
 *  The value is the annotation ha.homeostat.io/v = "c<client>-<step>".
 *  A watcher on ev.pod. (on the client's connection: it fails over with
 *  it) records every event. Every send, answer and event
 *  goes to --out as one JSON line with CLOCK_MONOTONIC ns (one process, one
 *  clock: real-time order holds), for hs_history_check.py.
 *  --stop-file PATH ends the window early once PATH exists.
 *  Exit 0 once the window ended and every call was answered or timed out.
 */
#include "hs_bus.h"
#include "hs_client.h"
#include "hs_log.h"
#include "hs_obj.h"
#include "hs_pb.h"
#include "hs_util.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VAL_ANNOTATION "ha.homeostat.io/v"

typedef struct {
    int idx;
    uint64_t step;
    uint64_t op_id;
} lclient_t;

typedef struct {
    hs_client_t *cl;
    FILE *out;
    int64_t t_end;
    int clients, keys, cas_every, timeout_ms, inflight;
    int64_t *last_rev; /* per register: the last revision seen (ack or event) */
    lclient_t *lcs;
    uint64_t next_op, sent, acked, failed, unknown, events;
} load_t;

static load_t G;

static Hs__Object *s_pod (const char *name, const char *val)
{
    Hs__Object *obj = hs_obj_new (HS_KIND_POD, "default", name);
    Hs__Pod *pod = obj->pod;
    hs_pb_map_set ((void ***)&pod->metadata->annotations, &pod->metadata->n_annotations,
                   &hs__object_meta__annotations_entry__descriptor, VAL_ANNOTATION, val);
    pod->spec = hs_pb_new (&hs__pod_spec__descriptor);
    Hs__Container *c = hs_pb_new (&hs__container__descriptor);
    hs_pb_set_str (&c->name, "app");
    hs_pb_set_str (&c->image, "busybox:1.36");
    char *cmd0 = NULL;
    hs_pb_take_str (&cmd0, hs_strdup ("true"));
    hs_pb_push ((void ***)&c->command, &c->n_command, cmd0);
    hs_pb_push ((void ***)&pod->spec->containers, &pod->spec->n_containers, c);
    return obj;
}

static void s_send (lclient_t *lc);

typedef struct {
    lclient_t *lc;
    uint64_t op;
    int key; /* register, -1 for a create */
} call_t;

static void s_on_ack (void *arg, int err, const Hs__Ack *ack)
{
    call_t *c = arg;
    int64_t now = hs_mono_ns ();
    bool ok = err == 0 && ack && ack->code == HS__CODE__CODE_OK;
    const char *code = ok                  ? "OK"
                       : err == -ETIMEDOUT ? "Timeout"
                       : err < 0           ? "Error"
                       : ack               ? hs_code_reason (ack->code)
                                           : "Error";
    int64_t rev = ok ? ack->revision : 0;
    fprintf (G.out,
             "{\"t\":\"ack\",\"op\":%" PRIu64 ",\"ts\":%" PRId64 ",\"code\":\"%s\",\"rev\":%" PRId64
             ",\"replayed\":%s}\n",
             c->op, now, code, rev, ok && ack->replayed ? "true" : "false");
    if (ok) {
        G.acked++;
        if (c->key >= 0 && rev > G.last_rev[c->key]) G.last_rev[c->key] = rev;
    } else if (err == 0 && ack && ack->code != HS__CODE__CODE_UNAVAILABLE &&
               ack->code != HS__CODE__CODE_INTERNAL) {
        G.failed++; /* a definite refusal: Conflict, AlreadyExists */
    } else {
        G.unknown++;
    }
    G.inflight--;
    lclient_t *lc = c->lc;
    free (c);
    if (now < G.t_end) s_send (lc);
}

static void s_send (lclient_t *lc)
{
    char name[80], val[64];
    uint64_t step = lc->step++;
    snprintf (val, sizeof val, "c%d-%" PRIu64, lc->idx, step);
    call_t *c = hs_calloc (1, sizeof *c);
    c->lc = lc;
    c->op = ++G.next_op;
    c->key = -1;
    Hs__Op op = HS__OP__OP_CREATE;
    int64_t expect = 0;
    if (step % 2 == 0) {
        snprintf (name, sizeof name, "u-%s", val);
    } else {
        c->key = (int)((unsigned)(lc->idx * 7 + step) % (unsigned)G.keys);
        snprintf (name, sizeof name, "r-%d", c->key);
        op = HS__OP__OP_APPLY;
        if (G.cas_every > 0 && (step / 2) % (uint64_t)G.cas_every == 0) {
            op = HS__OP__OP_UPDATE;
            expect = G.last_rev[c->key];
        }
    }
    Hs__Write *wr = hs_write_new (op, s_pod (name, val));
    wr->expected_revision = expect;
    hs_call_opts_t opts = {.timeout_ms = G.timeout_ms};
    int64_t now = hs_mono_ns ();
    fprintf (G.out,
             "{\"t\":\"send\",\"op\":%" PRIu64 ",\"ts\":%" PRId64
             ",\"kind\":\"%s\",\"key\":\"%s\",\"val\":\"%s\",\"exp\":%" PRId64 "}\n",
             c->op, now,
             op == HS__OP__OP_CREATE   ? "create"
             : op == HS__OP__OP_UPDATE ? "cas"
                                       : "write",
             name, val, expect);
    int r = hs_client_send (G.cl, &wr, 1, &opts, s_on_ack, c);
    hs_pb_free (wr);
    if (r < 0) {
        fprintf (G.out,
                 "{\"t\":\"ack\",\"op\":%" PRIu64 ",\"ts\":%" PRId64
                 ",\"code\":\"NotSent\",\"rev\":0,\"replayed\":false}\n",
                 c->op, now);
        free (c);
        G.failed++;
        return;
    }
    G.sent++;
    G.inflight++;
}

static void s_event (void *arg, const char *topic, const Hs__Envelope *env)
{
    (void)arg;
    (void)topic;
    if (env->body_case != HS__ENVELOPE__BODY_EVENT) return;
    const Hs__WatchEvent *ev = env->event;
    if (!ev->object || !ev->object->pod || !ev->object->pod->metadata) return;
    const Hs__ObjectMeta *m = ev->object->pod->metadata;
    const char *v = hs_pb_map_get ((void *const *)m->annotations, m->n_annotations, VAL_ANNOTATION);
    if (!v) return;
    fprintf (G.out,
             "{\"t\":\"ev\",\"ts\":%" PRId64
             ",\"type\":%d,\"key\":\"%s\",\"val\":\"%s\",\"rev\":%" PRId64 ",\"epoch\":%" PRIu64
             ",\"seq\":%" PRIu64 "}\n",
             hs_mono_ns (), (int)ev->type, hs_s (m->name), v, ev->revision, ev->epoch, ev->seq);
    G.events++;
    if (hs_startswith (hs_s (m->name), "r-")) {
        int k = atoi (m->name + 2);
        if (k >= 0 && k < G.keys && ev->revision > G.last_rev[k]) G.last_rev[k] = ev->revision;
    }
}

int main (int argc, char **argv)
{
    const char *bus = NULL, *out = NULL, *stop_file = NULL;
    int ms = 5000;
    G.clients = 256;
    G.keys = 32;
    G.cas_every = 4;
    G.timeout_ms = 8000;
    static struct option opts[] = {{"bus", required_argument, 0, 'b'},
                                   {"clients", required_argument, 0, 'c'},
                                   {"keys", required_argument, 0, 'k'},
                                   {"ms", required_argument, 0, 'm'},
                                   {"out", required_argument, 0, 'o'},
                                   {"cas-every", required_argument, 0, 'a'},
                                   {"timeout-ms", required_argument, 0, 't'},
                                   {"stop-file", required_argument, 0, 's'},
                                   {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long (argc, argv, "b:c:k:m:o:a:t:s:", opts, NULL)) != -1) {
        switch (c) {
        case 'b': bus = optarg; break;
        case 'c': G.clients = atoi (optarg); break;
        case 'k': G.keys = atoi (optarg); break;
        case 'm': ms = atoi (optarg); break;
        case 'o': out = optarg; break;
        case 'a': G.cas_every = atoi (optarg); break;
        case 't': G.timeout_ms = atoi (optarg); break;
        case 's': stop_file = optarg; break;
        default:
            fprintf (stderr, "usage: hs-ha-load [--bus LIST] --out FILE [--clients N] "
                             "[--keys K] [--ms MS] [--cas-every M] [--timeout-ms T]\n"
                             "       [--stop-file PATH]  (stop early once PATH exists)\n");
            return 2;
        }
    }
    if (!out || G.clients < 1 || G.keys < 1 || ms < 1) {
        fprintf (stderr, "hs-ha-load: --out FILE is required; counts must be positive\n");
        return 2;
    }
    hs_log_set_level (HS_LOG_WARN);
    G.out = fopen (out, "w");
    if (!G.out) {
        fprintf (stderr, "hs-ha-load: %s: %s\n", out, strerror (errno));
        return 1;
    }
    setvbuf (G.out, NULL, _IOFBF, 1 << 20);
    int r = hs_client_new (bus, "hs-ha-load", NULL, 15000, &G.cl);
    if (r < 0) {
        fprintf (stderr, "hs-ha-load: cannot join the bus: %s\n", strerror (-r));
        return 1;
    }
    /* The watcher rides the client's own bus connection, so it moves to
     * another broker with it when its broker goes quiet. */
    r = hs_client_on (G.cl, "ev.pod.", s_event, NULL);
    if (r < 0) {
        fprintf (stderr, "hs-ha-load: cannot watch ev.pod.: %s\n", strerror (-r));
        return 1;
    }
    G.last_rev = hs_calloc ((size_t)G.keys, sizeof *G.last_rev);
    /* The registers first (their creates are in the history too). */
    for (int k = 0; k < G.keys; k++) {
        char name[32], val[32];
        snprintf (name, sizeof name, "r-%d", k);
        snprintf (val, sizeof val, "init-%d", k);
        uint64_t op = ++G.next_op;
        fprintf (G.out,
                 "{\"t\":\"send\",\"op\":%" PRIu64 ",\"ts\":%" PRId64
                 ",\"kind\":\"write\",\"key\":\"%s\",\"val\":\"%s\",\"exp\":0}\n",
                 op, hs_mono_ns (), name, val);
        Hs__Write *wr = hs_write_new (HS__OP__OP_APPLY, s_pod (name, val));
        hs_call_opts_t o = {.timeout_ms = 15000};
        Hs__Ack *ack = NULL;
        r = hs_client_call (G.cl, &wr, 1, &o, &ack);
        hs_pb_free (wr);
        bool ok = r == 0 && ack->code == HS__CODE__CODE_OK;
        fprintf (G.out,
                 "{\"t\":\"ack\",\"op\":%" PRIu64 ",\"ts\":%" PRId64
                 ",\"code\":\"%s\",\"rev\":%" PRId64 ",\"replayed\":false}\n",
                 op, hs_mono_ns (), ok ? "OK" : "Error", ok ? ack->revision : 0);
        if (!ok) {
            fprintf (stderr, "hs-ha-load: cannot make register %s: %s\n", name,
                     r < 0 ? strerror (-r) : hs_s (ack->message));
            return 1;
        }
        G.last_rev[k] = ack->revision;
        hs_pb_free (ack);
    }
    G.lcs = hs_calloc ((size_t)G.clients, sizeof *G.lcs);
    G.t_end = hs_mono_ns () + (int64_t)ms * 1000000;
    fprintf (stderr, "hs-ha-load: started %d clients\n", G.clients);
    for (int i = 0; i < G.clients; i++) {
        G.lcs[i].idx = i;
        s_send (&G.lcs[i]);
    }
    /* Until the window ends and every call is answered or timed out; events
     * for another second after that. */
    int64_t quiet_end = 0, next_stat = 0;
    for (;;) {
        int64_t now = hs_mono_ns ();
        /* --stop-file: the test says when its disruptions are over */
        if (stop_file && now < G.t_end && now >= next_stat) {
            if (access (stop_file, F_OK) == 0) G.t_end = now;
            next_stat = now + 20000000;
        }
        if (now >= G.t_end && G.inflight == 0) {
            if (!quiet_end) quiet_end = now + 1000000000LL;
            if (now >= quiet_end) break;
        }
        hs_client_process (G.cl, 2);
    }
    fflush (G.out);
    fclose (G.out);
    fprintf (stderr,
             "hs-ha-load: sent %" PRIu64 " acked %" PRIu64 " failed %" PRIu64 " unknown %" PRIu64
             " events %" PRIu64 " resends %" PRIu64 "\n",
             G.sent, G.acked, G.failed, G.unknown, G.events, hs_client_resends (G.cl));
    hs_client_destroy (&G.cl);
    free (G.lcs);
    free (G.last_rev);
    return 0;
}
