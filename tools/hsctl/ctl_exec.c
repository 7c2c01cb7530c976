/*  ctl_exec.c: `hsctl exec POD [-c CONTAINER] -- COMMAND [ARGS...]`, a
 *  command run inside a running container, as kubectl does it
 *  (non-interactive: -i and -t are refused for now).
 *
 *  The pod comes from the store (one snapshot of the pods); its
 *  spec.nodeName says which agent runs it. hsctl publishes an ExecRequest
 *  on exec.<node> and writes the ExecChunks that come back on
 *  execout.<client_id> to its stdout and stderr as they come, until the
 *  one with done. The request is sent again, with the same request id,
 *  every second, and at once after every 16 chunks (a quarter of the
 *  agent's window, agent_exec.h): it is the retry before the first chunk, then the keepalive (without it
 *  the agent kills the command after 5 s) and the acknowledgement
 *  (acked_seq) that lets the agent send more. A gap in the chunks' seq is
 *  reported on stderr (`error: exec stream lost N chunks`). Nothing from
 *  the agent for 5 s (it sends an empty chunk every 2 s while the command
 *  is quiet) is an error. Ctrl-C sends a cancel: the agent kills the
 *  command.
 *
 *  The exit status is the command's; a non-zero one is also said on
 *  stderr, as kubectl says it: `command terminated with exit code N`.
 */
#include "hs_topic.h"
#include "ctl.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#define S_ANSWER_MS 5000 /* silence from the agent that ends the session */
#define S_RESEND_MS 1000 /* request again (retry, keepalive, ack) */
#define S_ACK_EVERY 16   /* chunks: a quarter of the agent's window (agent_exec.h) */
#define S_JOIN_MS   3000

typedef struct {
    const char *container;
    bool interactive, quiet;
} s_opts_t;

static const struct option s_longs[] = {
    {"container", required_argument, NULL, 'c'},
    {"stdin", no_argument, NULL, 'i'},
    {"tty", no_argument, NULL, 't'},
    {"quiet", no_argument, NULL, 'q'},
    {NULL, 0, NULL, 0},
};

static int s_opt (ctl_t *ctl, void *arg, int c, const char *optarg)
{
    s_opts_t *o = arg;
    (void)ctl;
    switch (c) {
    case 'c': o->container = optarg; return 0;
    case 'i':
    case 't': o->interactive = true; return 0;
    case 'q': o->quiet = true; return 0;
    default: return -1;
    }
}

static void s_usage (void)
{
    printf ("Execute a command in a container.\n\n"
            "Usage:\n  hsctl exec (POD | pod/POD) [-c CONTAINER] -- COMMAND [args...]\n\n"
            "Examples:\n"
            "  hsctl exec mypod -- date\n"
            "  hsctl exec mypod -c sidecar -- sh -c 'echo $HOSTNAME'\n\n"
            "Options:\n"
            "  -c, --container=NAME  the container (default: the pod's first one)\n"
            "  -q, --quiet           do not say which container was defaulted\n"
            "  -i, -t                interactive sessions are not supported yet\n"
            "  -n, --namespace=NS\n\n"
            "The exit status is the command's (128+N when signal N ended it).\n");
}

/* ------------------------------------------------------------ the session */

static volatile sig_atomic_t s_signal;

static void s_on_signal (int sig)
{
    s_signal = sig;
}

typedef struct {
    const char *topic; /* execout.<client_id> */
    char rid[24];
    const char *pod, *container, *node;
    hs_client_t *client;
    char agent[300]; /* "node:<node>": the only identity whose chunks count (secured bus) */
    uint64_t forged; /* chunks from anyone else, dropped */
    uint64_t seq, acked_sent;
    bool got_any, done;
    bool broken; /* our stdout or stderr was closed (a `| head`): cancel, as SIGPIPE would */
    int rc;
    int64_t heard_mono;
} s_state_t;

static void s_print_error (const s_state_t *st, Hs__Code code, const char *message)
{
    (void)st;
    switch (code) {
    case HS__CODE__CODE_NOT_FOUND:
        fprintf (stderr, "Error from server (NotFound): %s\n", hs_s (message));
        break;
    case HS__CODE__CODE_INVALID:
        fprintf (stderr, "Error from server (BadRequest): %s\n", hs_s (message));
        break;
    case HS__CODE__CODE_UNAVAILABLE:
        fprintf (stderr, "error: unable to upgrade connection: %s\n", hs_s (message));
        break;
    default:
        fprintf (stderr,
                 "error: Internal error occurred: error executing command in container: %s\n",
                 hs_s (message));
    }
}

static void s_on_chunk (void *arg, const char *topic, const Hs__Envelope *env)
{
    s_state_t *st = arg;
    if (strcmp (topic, st->topic) != 0 || env->body_case != HS__ENVELOPE__BODY_EXEC_CHUNK) return;
    const Hs__ExecChunk *c = env->exec_chunk;
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
        /* The agent repeats only a finished session's last chunk, which is
         * never one we had: an old number is the word of an agent that
         * restarted and no longer knows the session. */
        fprintf (stderr, "error: the node agent on \"%s\" restarted; the exec session ended\n",
                 st->node);
        st->rc = 1;
        st->done = true;
        return;
    }
    if (c->seq > st->seq + 1)
        fprintf (stderr, "error: exec stream lost %llu chunks\n",
                 (unsigned long long)(c->seq - st->seq - 1));
    st->seq = c->seq;
    st->got_any = true;
    if (c->data.len) {
        FILE *f = c->stream == HS__EXEC_STREAM__EXEC_STDERR ? stderr : stdout;
        if (fwrite (c->data.data, 1, c->data.len, f) != c->data.len || fflush (f) != 0) {
            st->broken = true;
            return;
        }
    }
    if (!c->done) return;
    st->done = true;
    if (c->code != HS__CODE__CODE_OK) {
        s_print_error (st, c->code, c->message);
        st->rc = 1;
        return;
    }
    st->rc = c->exit_code >= 0 && c->exit_code < 256 ? c->exit_code : 1;
    if (st->rc != 0) fprintf (stderr, "command terminated with exit code %d\n", st->rc);
}

static int s_publish (ctl_t *ctl, const char *topic, Hs__ExecRequest *req)
{
    Hs__Envelope env = HS__ENVELOPE__INIT;
    env.body_case = HS__ENVELOPE__BODY_EXEC_REQUEST;
    env.exec_request = req;
    int r = hs_bus_publish (hs_client_bus (ctl->client), topic, &env);
    hs_pb_take_str (&env.sender, NULL); /* publish set a heap copy */
    return r;
}

static int s_session (ctl_t *ctl, s_state_t *st, char **cmd, size_t n_cmd, const char *uid)
{
    const char *id = hs_client_id (ctl->client);
    _cleanup_free_ char *topic = hs_topic_to ("execout", id);
    _cleanup_free_ char *req_topic = hs_topic_to ("exec", st->node);
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
    Hs__ExecRequest req = HS__EXEC_REQUEST__INIT;
    req.client_id = (char *)id;
    req.request_id = st->rid;
    req.namespace_ = (char *)ctl->ns;
    req.pod = (char *)st->pod;
    req.uid = (char *)uid;
    req.container = (char *)st->container;
    req.command = cmd;
    req.n_command = n_cmd;

    struct sigaction sa = {.sa_handler = s_on_signal};
    sigemptyset (&sa.sa_mask);
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGTERM, &sa, NULL);
    sigaction (SIGHUP, &sa, NULL);
    signal (SIGPIPE, SIG_IGN); /* a closed stdout is seen by fwrite, and cancels */

    int64_t start = hs_mono_ns (), sent = 0;
    while (!st->done && !s_signal && !st->broken) {
        int64_t now = hs_mono_ns ();
        if (now - (st->got_any ? st->heard_mono : start) >= S_ANSWER_MS * 1000000LL) {
            if (st->got_any)
                fprintf (stderr, "error: lost the exec session with the node agent on \"%s\"\n",
                         st->node);
            else
                fprintf (stderr,
                         "Error from server: error dialing backend: the node agent on \"%s\" did "
                         "not answer within %ds\n",
                         st->node, S_ANSWER_MS / 1000);
            req.cancel = true;
            s_publish (ctl, req_topic, &req);
            return 1;
        }
        if (!sent || now - sent >= S_RESEND_MS * 1000000LL ||
            st->seq >= st->acked_sent + S_ACK_EVERY) {
            req.acked_seq = st->seq;
            r = s_publish (ctl, req_topic, &req);
            if (r < 0 && r != -EAGAIN) {
                fprintf (stderr, "error: cannot send the exec request: %s\n", strerror (-r));
                return 1;
            }
            st->acked_sent = st->seq;
            sent = now;
        }
        r = hs_client_process (ctl->client, 100);
        if (r < 0 && r != -EINTR) {
            fprintf (stderr, "error: lost the bus: %s\n", strerror (-r));
            return 1;
        }
    }
    if (!st->done) {
        /* Interrupted, or nobody reads us any more: the agent kills the
         * command (the socket lingers to send this). */
        req.cancel = true;
        s_publish (ctl, req_topic, &req);
        return 128 + (st->broken ? SIGPIPE : s_signal);
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

/* The container the user means, kubectl's way (the first one by default,
 * said on stderr when there are several); NULL after printing why not. */
static const char *s_pick_container (const Hs__Pod *pod, const char *name, const s_opts_t *o)
{
    const Hs__PodSpec *spec = pod->spec;
    size_t n = spec ? spec->n_containers : 0;
    if (!hs_empty (o->container)) {
        for (size_t i = 0; i < n; i++)
            if (hs_streq (spec->containers[i]->name, o->container)) return o->container;
        fprintf (stderr, "Error from server (BadRequest): container %s is not valid for pod %s\n",
                 o->container, name);
        return NULL;
    }
    if (n == 0) {
        fprintf (stderr, "error: pod %s has no containers\n", name);
        return NULL;
    }
    /* kubectl's annotation names the default. */
    const Hs__ObjectMeta *m = pod->metadata;
    for (size_t i = 0; m && i < m->n_annotations; i++) {
        if (!hs_streq (m->annotations[i]->key, "kubectl.kubernetes.io/default-container")) continue;
        for (size_t k = 0; k < n; k++)
            if (hs_streq (spec->containers[k]->name, m->annotations[i]->value))
                return spec->containers[k]->name;
    }
    if (n > 1 && !o->quiet) {
        hs_buf_t b = {0};
        for (size_t i = 0; i < n; i++)
            hs_buf_printf (&b, "%s%s", i ? ", " : "", spec->containers[i]->name);
        _cleanup_free_ char *list = hs_buf_take (&b);
        fprintf (stderr, "Defaulted container \"%s\" out of: %s\n", spec->containers[0]->name,
                 list);
    }
    return spec->containers[0]->name;
}

int ctl_exec_main (ctl_t *ctl, int argc, char **argv)
{
    /* What follows "--" is the command, never options. */
    int dash = -1;
    for (int i = 1; i < argc && dash < 0; i++)
        if (!strcmp (argv[i], "--")) dash = i;
    int oargc = dash < 0 ? argc : dash;
    s_opts_t o = {0};
    int first = ctl_parse (ctl, oargc, argv, s_longs, "c:itq", s_opt, &o);
    if (first < 0) return 1;
    if (ctl->help) {
        s_usage ();
        return 0;
    }
    int npos = oargc - first;
    if (npos == 0) {
        ctl_usage_error (ctl, "expected 'exec (POD | TYPE/NAME) [-c CONTAINER] [flags] -- COMMAND "
                              "[args...]'.\nPOD or TYPE/NAME is a required argument for the exec "
                              "command");
        return 1;
    }
    if (npos > 1) {
        fprintf (stderr, "error: exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- "
                         "[COMMAND] instead\n");
        return 1;
    }
    if (dash < 0 || dash + 1 >= argc) {
        ctl_usage_error (ctl, "you must specify at least one command for the container");
        return 1;
    }
    if (o.interactive) {
        fprintf (stderr, "error: -i/--stdin and -t/--tty (an interactive session) are not "
                         "supported yet; run the command without them\n");
        return 1;
    }
    char *name = argv[first];
    if (strchr (name, '/')) {
        hs_kind_t kind;
        if (ctl_split_ref (name, &kind, &name) < 0) return 1;
        if (kind != HS_KIND_POD) {
            fprintf (stderr, "error: cannot exec into a %s: name a pod (pod/NAME)\n",
                     hs_kind_info (kind)->resource);
            return 1;
        }
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
    const char *phase = pod->status ? hs_s (pod->status->phase) : "";
    if (!strcmp (phase, "Succeeded") || !strcmp (phase, "Failed")) {
        fprintf (stderr,
                 "error: cannot exec into a container in a completed pod; current phase is %s\n",
                 phase);
        goto out;
    }
    const char *container = s_pick_container (pod, name, &o);
    if (!container) goto out;
    st.container = container;
    st.node = pod->spec ? pod->spec->node_name : "";
    if (hs_empty (st.node)) {
        fprintf (stderr, "Error from server (BadRequest): pod %s does not have a host assigned\n",
                 name);
        goto out;
    }
    rc = s_session (ctl, &st, argv + dash + 1, (size_t)(argc - dash - 1),
                    pod->metadata ? pod->metadata->uid : "");
    if (st.forged)
        fprintf (stderr,
                 "warning: dropped %llu exec chunk(s) not sent by the node agent of \"%s\" (hs-bus "
                 "stamped another identity on them)\n",
                 (unsigned long long)st.forged, st.node);
out:
    hs_db_snapshot_free (&snap);
    return rc;
}
