/*  agent_probe.c: probe.<node>: probe results and exec probes (see
 *  agent_probe.h). */
#include "agent_probe.h"
#include "agent_rules.h"

#include "hs_topic.h"
#include "hs_log.h"
#include "hs_pb.h"
#include "hs_util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MS                 1000000LL
#define TIMEOUT_DEFAULT_MS 1000          /* Kubernetes' timeoutSeconds default */
#define TIMEOUT_MAX_MS     (3600 * 1000) /* hs-shim's bound */
#define SLACK_MS           3000          /* the helper's own deadline is the timeout */
#define ANSWER_MAX         (AGENT_EXEC_OUTPUT_MAX + 4096)
#define UNWATCHED_NS       (100 * MS) /* a pipe without a loop source is read this often */

typedef struct {
    char *client_id, *request_id;
    pid_t pid;
    int pidfd;        /* the helper's; -1 if pidfd_open failed */
    int fd;           /* the answer pipe; -1 once at EOF */
    hs_loop_io_t *io; /* fd's loop source; NULL: none (polled every UNWATCHED_NS) */
    hs_buf_t answer;
    int64_t deadline_mono; /* the helper should have answered by then */
} s_exec_t;

struct agent_probe_t {
    hs_client_t *client; /* borrowed */
    hs_loop_t *loop;     /* borrowed */
    agent_pods_t *pods;  /* borrowed */
    const char *shim;    /* borrowed */
    char *node;
    char *topic; /* probe.<node> */
    s_exec_t *execs[AGENT_EXEC_MAX];
    size_t n_execs;
    uint64_t results, execs_run, refused;
};

/* ------------------------------------------------------------------ small things */

static void s_refuse (agent_probe_t *self, const Hs__Envelope *env, const char *why)
{
    self->refused++;
    _cleanup_free_ char *key = hs_sprintf ("probe %s %s", hs_s (env->sender), why);
    hs_log_once (HS_LOG_WARN, key, "refused a message from %s on %s: %s (counted; logged once)",
                 hs_s (env->sender), self->topic, why);
}

/* The ExecResult on probres.<client_id>. output may be NULL. */
static void s_answer (agent_probe_t *self, const char *client_id, const char *request_id,
                      int32_t code, const uint8_t *output, size_t len, const char *error)
{
    Hs__ExecResult res = HS__EXEC_RESULT__INIT;
    res.request_id = (char *)request_id;
    res.exit_code = code;
    res.output.data = (uint8_t *)output;
    res.output.len = output ? len : 0;
    res.error = (char *)(error ? error : "");
    Hs__Envelope env = HS__ENVELOPE__INIT;
    env.body_case = HS__ENVELOPE__BODY_EXEC_RESULT;
    env.exec_result = &res;
    _cleanup_free_ char *topic = hs_topic_to ("probres", client_id);
    int r = hs_bus_publish (hs_client_bus (self->client), topic, &env);
    hs_pb_take_str (&env.sender, NULL); /* publish set a heap copy */
    /* A lost answer is a probe that timed out, for the prober. */
    if (r < 0) log_debug ("exec %s: cannot publish the result: %s", topic, strerror (-r));
}

static void s_exec_free (s_exec_t *e)
{
    hs_loop_io_free (&e->io); /* before the close: the number may be reused at once */
    if (e->fd >= 0) close (e->fd);
    if (e->pidfd >= 0) close (e->pidfd);
    hs_buf_free (&e->answer);
    free (e->client_id);
    free (e->request_id);
    free (e);
}

static void s_add_arg (char ***argv, size_t *n, const char *s)
{
    *argv = hs_realloc (*argv, (*n + 2) * sizeof **argv);
    (*argv)[(*n)++] = hs_strdup (s);
    (*argv)[*n] = NULL;
}

/* ------------------------------------------------------------------ exec */

/* ------------------------------------------------------------------ the shim, spawned */

int agent_spawn_piped (char *const *argv, char *const *env, pid_t *ret_pid, int *ret_fd,
                       int *ret_pidfd)
{
    int p[2], in[2] = {-1, -1};
    if (pipe2 (p, O_CLOEXEC) != 0) return -errno;
    /* A socket, not a pipe: send's MSG_NOSIGNAL, whatever SIGPIPE does here. */
    if (env && socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0) {
        int r = -errno;
        close (p[0]);
        close (p[1]);
        return r;
    }
    pid_t child = fork ();
    if (child < 0) {
        int r = -errno;
        close (p[0]);
        close (p[1]);
        if (in[0] >= 0) {
            close (in[0]);
            close (in[1]);
        }
        return r;
    }
    if (child == 0) {
        int nul = open ("/dev/null", O_RDWR);
        if (nul >= 0) {
            dup2 (in[1] >= 0 ? in[1] : nul, 0);
            dup2 (nul, 2);
        }
        dup2 (p[1], 1);
        sigset_t none;
        sigemptyset (&none);
        sigprocmask (SIG_SETMASK, &none, NULL);
        execv (argv[0], argv);
        _exit (127);
    }
    close (p[1]);
    if (env) {
        /* The variables on the helper's stdin (--env-stdin), never on its
         * command line: Secret values are among them. It reads all of them
         * before anything else; one that failed early leaves EPIPE, and
         * then its answer (or its exit) says why. */
        close (in[1]);
        hs_buf_t b = {0};
        for (size_t i = 0; env[i]; i++) hs_buf_append (&b, env[i], strlen (env[i]) + 1);
        for (size_t off = 0; off < b.len;) {
            ssize_t w = send (in[0], b.data + off, b.len - off, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) break;
            off += (size_t)w;
        }
        close (in[0]);
        if (b.data) explicit_bzero (b.data, b.len);
        hs_buf_free (&b);
    }
    fcntl (p[0], F_SETFL, O_NONBLOCK);
    *ret_fd = p[0];
    *ret_pid = child;
    *ret_pidfd = (int)syscall (SYS_pidfd_open, child, 0);
    return 0;
}

/* Forks and execs the helper with its stdout on a pipe. Between fork and
 * exec the child (of a threaded process) only dup2s, opens and execs. */
static int s_spawn (agent_probe_t *self, const Hs__ExecRequest *q, const agent_exec_target_t *t,
                    int timeout_ms, s_exec_t *e)
{
    char **argv = NULL;
    size_t n = 0;
    s_add_arg (&argv, &n, self->shim);
    _cleanup_free_ char *pid = hs_sprintf ("%d", (int)t->pid);
    _cleanup_free_ char *tmo = hs_sprintf ("%d", timeout_ms);
    s_add_arg (&argv, &n, "--exec");
    s_add_arg (&argv, &n, pid);
    s_add_arg (&argv, &n, "--timeout-ms");
    s_add_arg (&argv, &n, tmo);
    for (size_t i = 0; t->cgroup_procs && t->cgroup_procs[i]; i++) {
        s_add_arg (&argv, &n, "--cgroup-procs");
        s_add_arg (&argv, &n, t->cgroup_procs[i]);
    }
    if (t->workdir) {
        s_add_arg (&argv, &n, "--workdir");
        s_add_arg (&argv, &n, t->workdir);
    }
    /* The container's variables, Secret ones included (kube runs exec
     * probes with them), go on the helper's stdin. */
    s_add_arg (&argv, &n, "--env-stdin");
    for (size_t i = 0; t->sec_args && t->sec_args[i]; i++) s_add_arg (&argv, &n, t->sec_args[i]);
    s_add_arg (&argv, &n, "--");
    for (size_t i = 0; i < q->n_command; i++) s_add_arg (&argv, &n, q->command[i]);

    char *const none[] = {NULL};
    int r = agent_spawn_piped (argv, t->env ? t->env : none, &e->pid, &e->fd, &e->pidfd);
    for (size_t i = 0; i < n; i++) free (argv[i]);
    free (argv);
    return r;
}

static void s_wake (void *arg, int fd, uint32_t revents)
{
    (void)arg, (void)fd, (void)revents;
}

static s_exec_t *s_exec_find (agent_probe_t *self, const char *client_id, const char *request_id)
{
    for (size_t i = 0; i < self->n_execs; i++)
        if (hs_streq (self->execs[i]->client_id, client_id) &&
            hs_streq (self->execs[i]->request_id, request_id))
            return self->execs[i];
    return NULL;
}

static void s_on_exec (agent_probe_t *self, const Hs__Envelope *env, const Hs__ExecRequest *q)
{
    if (!agent_rules_id_ok (q->client_id) || !agent_rules_id_ok (q->request_id)) {
        s_refuse (self, env, "client_id and request_id must be 1-128 letters, digits, '-_.'");
        return;
    }
    if (s_exec_find (self, q->client_id, q->request_id)) return; /* a retry: it runs */
    const char *cid = q->client_id, *rid = q->request_id;
    const char *bad = agent_rules_exec_check (q);
    if (bad) {
        s_answer (self, cid, rid, -1, NULL, 0, bad);
        return;
    }
    if (self->n_execs >= AGENT_EXEC_MAX) {
        _cleanup_free_ char *msg =
            hs_sprintf ("the node agent on \"%s\" already runs %d exec probes; try again later",
                        self->node, AGENT_EXEC_MAX);
        self->refused++;
        s_answer (self, cid, rid, -1, NULL, 0, msg);
        return;
    }
    agent_exec_target_t t;
    int r = agent_pods_exec_target (self->pods, q->namespace_, q->pod, q->uid, q->container, &t);
    if (r < 0) {
        s_answer (self, cid, rid, -1, NULL, 0, "container not running");
        return;
    }
    int timeout_ms = q->timeout_ms > 0 ? q->timeout_ms : TIMEOUT_DEFAULT_MS;
    if (timeout_ms > TIMEOUT_MAX_MS) timeout_ms = TIMEOUT_MAX_MS;
    s_exec_t *e = hs_calloc (1, sizeof *e);
    e->fd = e->pidfd = -1;
    r = s_spawn (self, q, &t, timeout_ms, e);
    agent_exec_target_free (&t);
    if (r < 0) {
        _cleanup_free_ char *msg = hs_sprintf ("cannot run the exec helper: %s", strerror (-r));
        log_warn ("exec in %s/%s: %s", hs_s (q->namespace_), q->pod, msg);
        s_answer (self, cid, rid, -1, NULL, 0, msg);
        s_exec_free (e);
        return;
    }
    /* The pipe only wakes the loop; agent_probe_work, run after every
     * wake-up, reads it. */
    e->io = hs_loop_io (self->loop, e->fd, EPOLLIN, s_wake, NULL);
    e->client_id = hs_strdup (cid);
    e->request_id = hs_strdup (rid);
    e->deadline_mono = hs_mono_ns () + (timeout_ms + SLACK_MS) * MS;
    self->execs[self->n_execs++] = e;
    self->execs_run++;
    log_debug ("exec in %s/%s container %s: %s (helper pid %d, timeout %d ms)",
               hs_s (q->namespace_), q->pod, hs_s (q->container), q->command[0], (int)e->pid,
               timeout_ms);
}

/* Reads what the helper wrote; true at EOF. */
static bool s_exec_read (s_exec_t *e)
{
    char buf[8192];
    for (;;) {
        ssize_t n = read (e->fd, buf, sizeof buf);
        if (n > 0) {
            size_t keep =
                e->answer.len + (size_t)n > ANSWER_MAX ? ANSWER_MAX - e->answer.len : (size_t)n;
            if (keep) hs_buf_append (&e->answer, buf, keep);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return false;
        return true; /* EOF, or an error: what we have is all there is */
    }
}

/* ------------------------------------------------------------------ the topic */

static void s_on_message (void *arg, const char *topic, const Hs__Envelope *env)
{
    agent_probe_t *self = arg;
    if (strcmp (topic, self->topic) != 0) return; /* another node's, e.g. probe.<node>2 */
    if (env->body_case == HS__ENVELOPE__BODY_PROBE_RESULT && env->probe_result) {
        const Hs__ProbeResult *r = env->probe_result;
        if (!agent_rules_probe_result_ok (r)) {
            s_refuse (self, env, "a ProbeResult must name a pod and a container");
            return;
        }
        self->results++;
        agent_pods_probe_result (self->pods, r);
        return;
    }
    if (env->body_case == HS__ENVELOPE__BODY_EXEC_REQUEST && env->exec_request) {
        s_on_exec (self, env, env->exec_request);
        return;
    }
    s_refuse (self, env, "neither a ProbeResult nor an ExecRequest");
}

/* ------------------------------------------------------------------ public */

agent_probe_t *agent_probe_new (hs_client_t *client, hs_loop_t *loop, agent_pods_t *pods,
                                const char *node, const char *shim)
{
    agent_probe_t *self = hs_calloc (1, sizeof *self);
    self->client = client;
    self->loop = loop;
    self->pods = pods;
    self->shim = shim;
    self->node = hs_strdup (node);
    self->topic = hs_topic_to ("probe", node);
    int r = hs_client_on (client, self->topic, s_on_message, self);
    if (r < 0) {
        log_error ("cannot subscribe to %s: %s; probes will not reach this node", self->topic,
                   strerror (-r));
        agent_probe_destroy (&self);
    }
    return self;
}

void agent_probe_destroy (agent_probe_t **self_p)
{
    agent_probe_t *self = *self_p;
    if (!self) return;
    for (size_t i = 0; i < self->n_execs; i++) {
        s_exec_t *e = self->execs[i];
        /* The command dies with its helper (PR_SET_PDEATHSIG). */
        if (e->pidfd >= 0) syscall (SYS_pidfd_send_signal, e->pidfd, SIGKILL, NULL, 0);
        s_exec_free (e);
    }
    free (self->node);
    free (self->topic);
    free (self);
    *self_p = NULL;
}

int64_t agent_probe_work (agent_probe_t *self)
{
    if (!self) return HS_NEVER;
    int64_t now = hs_mono_ns ();
    int64_t wake = HS_NEVER;
    size_t j = 0;
    for (size_t i = 0; i < self->n_execs; i++) {
        s_exec_t *e = self->execs[i];
        if (s_exec_read (e)) {
            agent_exec_answer_t a;
            agent_rules_exec_parse ((const uint8_t *)e->answer.data, e->answer.len, &a);
            s_answer (self, e->client_id, e->request_id, a.exit_code, a.output, a.output_len,
                      a.error);
            free (a.error);
            s_exec_free (e);
            continue;
        }
        if (now >= e->deadline_mono) {
            /* The helper keeps its own deadline; this one is for a helper
             * that hangs. Its command dies with it. */
            log_warn ("exec helper pid %d did not answer in time; killed", (int)e->pid);
            if (e->pidfd >= 0) syscall (SYS_pidfd_send_signal, e->pidfd, SIGKILL, NULL, 0);
            s_answer (self, e->client_id, e->request_id, -1, NULL, 0, "timed out");
            s_exec_free (e);
            continue;
        }
        if (e->deadline_mono < wake) wake = e->deadline_mono;
        if (!e->io && now + UNWATCHED_NS < wake) wake = now + UNWATCHED_NS;
        self->execs[j++] = e;
    }
    self->n_execs = j;
    return wake;
}

uint64_t agent_probe_results (agent_probe_t *self)
{
    return self ? self->results : 0;
}

uint64_t agent_probe_execs (agent_probe_t *self)
{
    return self ? self->execs_run : 0;
}

uint64_t agent_probe_refused (agent_probe_t *self)
{
    return self ? self->refused : 0;
}
