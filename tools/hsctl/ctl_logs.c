/*  ctl_logs.c: `hsctl logs` — a container's log, as kubectl prints it.
 *
 *  The pod comes from the store (one snapshot of the pods, as `get pod
 *  NAME`); its spec.nodeName says which agent has the log. hsctl publishes a
 *  LogRequest on logreq.<node> and writes the data of the LogChunks that
 *  come back on logs.<client_id> until the one with eof. The request is sent
 *  again, with the same request id, every second while the stream is open:
 *  before the first chunk that is the retry, afterwards the keepalive
 *  without which the agent drops the stream after 5 s. Chunks are numbered:
 *  a gap is reported on stderr (`error: log stream lost N chunks`) and the
 *  output goes on. Nothing from the agent for 5 s (it sends an empty chunk
 *  every 2 s while a follow is quiet) is an error. Ctrl-C sends a cancel.
 */
#include "hs_podlog.h"
#include "hs_topic.h"
#include "ctl_logs.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#define S_ANSWER_MS 5000 /* silence from the agent that ends the stream */
#define S_RESEND_MS 1000 /* request again (retry, keepalive) */
#define S_JOIN_MS   3000

enum { S_OPT_TAIL = CTL_OPT_VERB_BASE, S_OPT_TIMESTAMPS, S_OPT_LIMIT };

typedef struct {
    const char *container;
    bool follow, previous, timestamps;
    int64_t tail;  /* -1: all */
    int64_t limit; /* 0: none */
} s_opts_t;

static const struct option s_longs[] = {
    {"container", required_argument, NULL, 'c'},
    {"follow", no_argument, NULL, 'f'},
    {"previous", no_argument, NULL, 'p'},
    {"tail", required_argument, NULL, S_OPT_TAIL},
    {"timestamps", no_argument, NULL, S_OPT_TIMESTAMPS},
    {"limit-bytes", required_argument, NULL, S_OPT_LIMIT},
    {NULL, 0, NULL, 0},
};

static int s_opt (ctl_t *ctl, void *arg, int c, const char *optarg)
{
    s_opts_t *o = arg;
    (void)ctl;
    switch (c) {
    case 'c': o->container = optarg; return 0;
    case 'f': o->follow = true; return 0;
    case 'p': o->previous = true; return 0;
    case S_OPT_TIMESTAMPS: o->timestamps = true; return 0;
    case S_OPT_TAIL:
        if (hs_parse_i64 (optarg, &o->tail) < 0) {
            fprintf (stderr, "error: invalid argument \"%s\" for \"--tail\" flag: not a number\n",
                     optarg);
            return -1;
        }
        if (o->tail < -1) {
            fprintf (stderr, "error: --tail must be greater than or equal to -1\n");
            return -1;
        }
        return 0;
    case S_OPT_LIMIT:
        if (hs_parse_i64 (optarg, &o->limit) < 0) {
            fprintf (stderr,
                     "error: invalid argument \"%s\" for \"--limit-bytes\" flag: not a number\n",
                     optarg);
            return -1;
        }
        if (o->limit <= 0) {
            fprintf (stderr, "error: --limit-bytes must be greater than 0\n");
            return -1;
        }
        return 0;
    default: return -1;
    }
}

static void s_usage (void)
{
    printf ("Print the logs for a container in a pod.\n\n"
            "Usage:\n  hsctl logs [-f] [-p] (POD | pod/POD) [-c CONTAINER] [options]\n\n"
            "Options:\n"
            "  -c, --container=NAME  the container (default: the pod's only one)\n"
            "  -f, --follow          keep printing what the container writes until it ends\n"
            "  -p, --previous        the previous run of the container (after a restart)\n"
            "      --tail=N          only the last N lines (-1: all)\n"
            "      --timestamps      prefix each line with its RFC 3339 time\n"
            "      --limit-bytes=N   stop after N bytes\n"
            "  -n, --namespace=NS\n");
}

/* ------------------------------------------------------------ the stream */

static volatile sig_atomic_t s_signal;

static void s_on_signal (int sig)
{
    s_signal = sig;
}

typedef struct {
    const char *topic; /* logs.<client_id> */
    char rid[24];
    const char *pod, *container, *node;
    hs_client_t *client;
    char agent[300];     /* "node:<node>": the only identity whose chunks count (secured bus) */
    uint64_t forged;     /* chunks from anyone else, dropped */
    const char *waiting; /* the container's waiting reason in the store, or NULL */
    uint64_t seq;        /* of the last chunk seen */
    bool got_any, done;
    int rc;
    int64_t heard_mono;
} s_state_t;

static void s_print_error (s_state_t *st, Hs__Code code, const char *message)
{
    const char *reason;
    _cleanup_free_ char *text =
        hs_podlog_error (code, message, st->pod, st->container, st->waiting, &reason);
    fprintf (stderr, "Error from server (%s): %s\n", reason, text);
}

static void s_on_chunk (void *arg, const char *topic, const Hs__Envelope *env)
{
    s_state_t *st = arg;
    if (strcmp (topic, st->topic) != 0 || env->body_case != HS__ENVELOPE__BODY_LOG_CHUNK) return;
    const Hs__LogChunk *c = env->log_chunk;
    if (!c || !hs_streq (c->request_id, st->rid) || st->done) return;
    /* Secured, hs-bus stamps who published it: only the agent of the pod's
     * node answers (any node can read our request and race it). */
    if (hs_bus_identity (hs_client_bus (st->client)) &&
        !hs_streq (hs_client_peer_identity (st->client), st->agent)) {
        st->forged++;
        return;
    }
    st->heard_mono = hs_mono_ns ();
    if (st->got_any && c->seq <= st->seq) {
        /* The agent repeats only a finished stream's last chunk, which is
         * never one we had: an old number is a new stream, from an agent
         * that restarted and took our keepalive for a request. */
        fprintf (stderr, "error: the node agent on \"%s\" restarted; the log stream ended\n",
                 st->node);
        st->rc = 1;
        st->done = true;
        return;
    }
    if (c->seq > st->seq + 1)
        fprintf (stderr, "error: log stream lost %llu chunks\n",
                 (unsigned long long)(c->seq - st->seq - 1));
    st->seq = c->seq;
    st->got_any = true;
    if (c->data.len) {
        fwrite (c->data.data, 1, c->data.len, stdout);
        fflush (stdout);
    }
    if (c->code != HS__CODE__CODE_OK) {
        s_print_error (st, c->code, c->message);
        st->rc = 1;
    }
    if (c->eof) st->done = true;
}

static int s_publish (ctl_t *ctl, const char *topic, Hs__LogRequest *req)
{
    Hs__Envelope env = HS__ENVELOPE__INIT;
    env.body_case = HS__ENVELOPE__BODY_LOG_REQUEST;
    env.log_request = req;
    int r = hs_bus_publish (hs_client_bus (ctl->client), topic, &env);
    hs_pb_take_str (&env.sender, NULL); /* publish set a heap copy */
    return r;
}

static int s_stream (ctl_t *ctl, const s_opts_t *o, s_state_t *st)
{
    const char *id = hs_client_id (ctl->client);
    _cleanup_free_ char *topic = hs_topic_to ("logs", id);
    _cleanup_free_ char *req_topic = hs_topic_to ("logreq", st->node);
    st->topic = topic;
    st->client = ctl->client;
    snprintf (st->agent, sizeof st->agent, "node:%s", st->node);
    hs_random_id (st->rid, 16);
    int r = hs_client_on (ctl->client, topic, s_on_chunk, st);
    /* Proves the subscription is in force before anything can answer. */
    if (r == 0) r = hs_bus_join (hs_client_bus (ctl->client), S_JOIN_MS);
    if (r < 0) {
        fprintf (stderr, "error: cannot subscribe to %s: %s\n", topic, strerror (-r));
        return 1;
    }
    Hs__LogRequest req = HS__LOG_REQUEST__INIT;
    req.client_id = (char *)id;
    req.request_id = st->rid;
    req.namespace_ = (char *)ctl->ns;
    req.pod = (char *)st->pod;
    req.container = (char *)st->container;
    req.previous = o->previous;
    req.follow = o->follow;
    req.tail_lines = o->tail;
    req.timestamps = o->timestamps;
    req.limit_bytes = o->limit;

    struct sigaction sa = {.sa_handler = s_on_signal};
    sigemptyset (&sa.sa_mask);
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGTERM, &sa, NULL);

    int64_t start = hs_mono_ns (), sent = 0;
    while (!st->done && !s_signal) {
        int64_t now = hs_mono_ns ();
        if (now - (st->got_any ? st->heard_mono : start) >= S_ANSWER_MS * 1000000LL) {
            if (st->got_any)
                fprintf (stderr, "error: lost the log stream from the node agent on \"%s\"\n",
                         st->node);
            else
                fprintf (stderr, "Error from server: the node agent on \"%s\" did not answer\n",
                         st->node);
            return 1;
        }
        if (!sent || now - sent >= S_RESEND_MS * 1000000LL) {
            r = s_publish (ctl, req_topic, &req);
            if (r < 0 && r != -EAGAIN) {
                fprintf (stderr, "error: cannot send the log request: %s\n", strerror (-r));
                return 1;
            }
            sent = now;
        }
        r = hs_client_process (ctl->client, 100);
        if (r < 0 && r != -EINTR) {
            fprintf (stderr, "error: lost the bus: %s\n", strerror (-r));
            return 1;
        }
    }
    if (!st->done) {
        /* Interrupted: tell the agent to stop (the socket lingers to send it). */
        req.cancel = true;
        s_publish (ctl, req_topic, &req);
        return 128 + s_signal;
    }
    return st->rc;
}

/* ------------------------------------------------------------ the pod */

static const Hs__Pod *s_find_pod (const hs_db_snapshot_t *snap, const char *ns, const char *name)
{
    for (size_t i = 0; i < snap->n_objects; i++) {
        const Hs__Object *o = snap->objects[i];
        const Hs__ObjectMeta *m = hs_obj_meta (o);
        if (hs_obj_kind (o) == HS_KIND_POD && m && hs_streq (m->namespace_, ns) &&
            hs_streq (m->name, name))
            return o->pod;
    }
    return NULL;
}

int ctl_logs_main (ctl_t *ctl, int argc, char **argv)
{
    s_opts_t o = {.tail = -1};
    int first = ctl_parse (ctl, argc, argv, s_longs, "c:fp", s_opt, &o);
    if (first < 0) return 1;
    if (ctl->help) {
        s_usage ();
        return 0;
    }
    int npos = argc - first;
    if (npos == 0) {
        ctl_usage_error (ctl, "expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\n"
                              "POD or TYPE/NAME is a required argument for the logs command");
        return 1;
    }
    if (npos > 2) {
        ctl_usage_error (ctl, "expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\n"
                              "too many arguments");
        return 1;
    }
    char *name = argv[first];
    if (strchr (name, '/')) {
        hs_kind_t kind;
        if (ctl_split_ref (name, &kind, &name) < 0) return 1;
        if (kind != HS_KIND_POD) {
            fprintf (stderr, "error: cannot get the logs of a %s: name a pod (pod/NAME)\n",
                     hs_kind_info (kind)->resource);
            return 1;
        }
    }
    if (npos == 2) {
        if (o.container) {
            fprintf (stderr, "error: only one of -c or an inline [CONTAINER] arg is allowed\n");
            return 1;
        }
        o.container = argv[first + 1];
    }

    hs_kind_t kinds[] = {HS_KIND_POD};
    hs_db_snapshot_t snap = {0};
    if (ctl_snapshot (ctl, kinds, 1, &snap) < 0) return 1;
    int rc = 1;
    s_state_t st = {.pod = name};
    const Hs__Pod *pod = s_find_pod (&snap, ctl->ns, name);
    if (!pod) {
        fprintf (stderr, "Error from server (NotFound): pods \"%s\" not found\n", name);
        goto out;
    }
    _cleanup_free_ char *why = NULL;
    const char *container = hs_podlog_container (pod, name, o.container, &why);
    if (!container) {
        fprintf (stderr, "Error from server (BadRequest): %s\n", why);
        goto out;
    }
    st.container = container;
    st.node = pod->spec ? pod->spec->node_name : "";
    st.waiting = hs_podlog_waiting (pod, container);
    if (hs_empty (st.node)) {
        fprintf (stderr,
                 "Error from server (BadRequest): container \"%s\" in pod \"%s\" is waiting to "
                 "start: the pod is not scheduled to a node yet\n",
                 container, name);
        goto out;
    }
    rc = s_stream (ctl, &o, &st);
    if (st.forged)
        fprintf (stderr,
                 "warning: dropped %llu log chunk(s) not sent by the node agent of \"%s\" (hs-bus "
                 "stamped another identity on them)\n",
                 (unsigned long long)st.forged, st.node);
out:
    hs_db_snapshot_free (&snap);
    return rc;
}
