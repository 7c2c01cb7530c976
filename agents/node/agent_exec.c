/*  agent_exec.c: `hsctl exec` sessions (see agent_exec.h). */
#include "agent_exec.h"
#include "agent_exec_frame.h"
#include "agent_probe.h"
#include "agent_rules.h"

#include "hs_log.h"
#include "hs_pb.h"
#include "hs_topic.h"
#include "hs_util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MS             1000000LL
#define IN_MAX         (AGENT_EXEC_CHUNK_MAX + 4096) /* a whole frame, and its header */
#define TURN_BYTES     ((int64_t)2 * 1024 * 1024)    /* read per turn, all sessions */
#define IDLE_NS        (5000 * MS)                   /* no request for this long: ended */
#define BEAT_NS        (2000 * MS)                   /* an empty chunk while quiet */
#define KILL_AFTER_NS  (2000 * MS)                   /* SIGTERM to the shim, then SIGKILL */
#define DONE_KEEP_NS   (10000 * MS)                  /* a finished session is remembered */
#define DONE_MAX       256                           /* ... and at most this many */
#define RESEND_NS      (500 * MS)                    /* its last chunk, again */
#define ENVIRON_MAX    (256 * 1024)                  /* /proc/PID/environ read */
#define TIMEOUT_MAX_MS (3600 * 1000)                 /* hs-shim's bound */

typedef struct {
    char *client_id, *request_id;
    char *topic; /* execout.<client_id>/ */
    pid_t pid;   /* the shim */
    int pidfd;   /* -1: none */
    int fd;      /* the shim's stdout; -1 once closed */
    hs_loop_io_t *io;
    uint32_t io_events;
    hs_buf_t in; /* bytes read, not yet a whole frame */
    uint64_t seq, acked;
    int64_t heard_mono, sent_mono;
    int64_t tokens, refill_mono; /* the rate limit's bucket, bytes */
    bool stopping;               /* cancelled or idle: SIGTERM sent, draining to EOF */
    int64_t stop_mono;
    bool killed;
    bool done; /* the final chunk went out */
    bool dead; /* to be freed at the end of the turn */
    int64_t done_mono, resent_mono;
    Hs__ExecChunk *last;
} s_sess_t;

struct agent_exec_t {
    hs_client_t *client; /* borrowed */
    hs_loop_t *loop;     /* borrowed */
    agent_pods_t *pods;  /* borrowed */
    const char *shim;    /* borrowed */
    char *node;
    char *topic; /* exec.<node>/ */
    s_sess_t **sess;
    size_t n_sess;
    size_t rr;
    uint64_t started, refused;
    char rbuf[IN_MAX];
};

/* ------------------------------------------------------------------ small things */

static void s_wake (void *arg, int fd, uint32_t revents)
{
    (void)arg, (void)fd, (void)revents;
}

static void s_signal (s_sess_t *s, int sig)
{
    if (s->pidfd >= 0) syscall (SYS_pidfd_send_signal, s->pidfd, sig, NULL, 0);
}

static void s_close (s_sess_t *s)
{
    hs_loop_io_free (&s->io); /* before the close: the number may be reused at once */
    if (s->fd >= 0) close (s->fd);
    s->fd = -1;
}

static void s_sess_free (s_sess_t *s)
{
    s_close (s);
    if (s->pidfd >= 0) close (s->pidfd);
    hs_buf_free (&s->in);
    free (s->client_id);
    free (s->request_id);
    free (s->topic);
    hs_pb_free (s->last);
    free (s);
}

static size_t s_active (const agent_exec_t *self)
{
    size_t n = 0;
    for (size_t i = 0; i < self->n_sess; i++)
        n += !self->sess[i]->done && !self->sess[i]->dead && !self->sess[i]->stopping;
    return n;
}

static s_sess_t *s_find (agent_exec_t *self, const char *cid, const char *rid)
{
    for (size_t i = 0; i < self->n_sess; i++) {
        s_sess_t *s = self->sess[i];
        if (!s->dead && hs_streq (s->client_id, cid) && hs_streq (s->request_id, rid)) return s;
    }
    return NULL;
}

static void s_publish (agent_exec_t *self, s_sess_t *s, Hs__ExecChunk *c)
{
    Hs__Envelope env = HS__ENVELOPE__INIT;
    env.body_case = HS__ENVELOPE__BODY_EXEC_CHUNK;
    env.exec_chunk = c;
    int r = hs_bus_publish (hs_client_bus (self->client), s->topic, &env);
    hs_pb_take_str (&env.sender, NULL); /* publish set a heap copy */
    /* A lost chunk is a gap in seq, which hsctl reports. */
    if (r < 0) log_debug ("exec %s: cannot publish a chunk: %s", s->topic, strerror (-r));
}

/* Sends one chunk; the final one (done) is kept for a repeated request. */
static void s_send (agent_exec_t *self, s_sess_t *s, Hs__ExecStream stream, const void *data,
                    size_t len, bool done, int32_t exit_code, Hs__Code code, const char *message)
{
    Hs__ExecChunk c = HS__EXEC_CHUNK__INIT;
    c.request_id = s->request_id;
    c.seq = ++s->seq;
    c.stream = stream;
    c.data.data = (uint8_t *)data;
    c.data.len = len;
    c.done = done;
    c.exit_code = exit_code;
    c.code = code;
    c.message = (char *)hs_s (message);
    s_publish (self, s, &c);
    s->sent_mono = hs_mono_ns ();
    if (!done) return;
    s->done = true;
    s->done_mono = s->sent_mono;
    s->last = hs_pb_new (&hs__exec_chunk__descriptor);
    hs_pb_set_str (&s->last->request_id, s->request_id);
    hs_pb_set_str (&s->last->message, message);
    s->last->seq = s->seq;
    s->last->done = true;
    s->last->exit_code = exit_code;
    s->last->code = code;
}

static void s_fail (agent_exec_t *self, s_sess_t *s, Hs__Code code, const char *message)
{
    s_send (self, s, HS__EXEC_STREAM__EXEC_STREAM_NONE, NULL, 0, true, -1, code, message);
}

/* Ends a session the client gave up on: the shim kills the command; its
 * output is drained (and dropped) so that it is never stuck writing. */
static void s_stop (s_sess_t *s, const char *why)
{
    if (s->stopping || s->done) return;
    log_debug ("exec %s req %s: %s; stopping the command", s->topic, s->request_id, why);
    s->stopping = true;
    s->stop_mono = hs_mono_ns ();
    s_signal (s, SIGTERM);
}

/* ------------------------------------------------------------------ the shim */

/* The container's environment as its init has it: NULL-terminated
 * KEY=VALUE strings (hs_cg_strv_free), or NULL if it cannot be read. */
static char **s_environ (pid_t pid)
{
    char path[64];
    snprintf (path, sizeof path, "/proc/%d/environ", (int)pid);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    hs_buf_t b = {0};
    char buf[8192];
    ssize_t n;
    while ((n = read (fd, buf, sizeof buf)) > 0 && b.len < ENVIRON_MAX)
        hs_buf_append (&b, buf, (size_t)n);
    close (fd);
    if (n < 0 || b.len == 0 || b.len >= ENVIRON_MAX) {
        if (b.data) explicit_bzero (b.data, b.len);
        hs_buf_free (&b);
        return NULL;
    }
    char **env = NULL;
    size_t k = 0;
    for (size_t at = 0; at < b.len;) {
        const char *e = b.data + at;
        size_t len = strnlen (e, b.len - at);
        if (len > 1 && memchr (e, '=', len) && e[0] != '=') {
            env = hs_realloc (env, (k + 2) * sizeof *env);
            env[k] = hs_malloc (len + 1);
            memcpy (env[k], e, len);
            env[k][len] = '\0';
            env[++k] = NULL;
        }
        at += len + 1;
    }
    explicit_bzero (b.data, b.len);
    hs_buf_free (&b);
    return env;
}

/* Frees a KEY=VALUE list after wiping it: Secret values among them. */
static void s_strv_wipe (char **v)
{
    for (size_t i = 0; v && v[i]; i++) explicit_bzero (v[i], strlen (v[i]));
    hs_cg_strv_free (v);
}

static void s_add_arg (char ***argv, size_t *n, const char *s)
{
    *argv = hs_realloc (*argv, (*n + 2) * sizeof **argv);
    (*argv)[(*n)++] = hs_strdup (s);
    (*argv)[*n] = NULL;
}

/* Forks and execs the shim with its stdout on a pipe. Between fork and exec
 * the child (of a threaded process) only dup2s, opens and execs. */
static int s_spawn (agent_exec_t *self, const Hs__ExecRequest *q, const agent_exec_target_t *t,
                    s_sess_t *s)
{
    char **argv = NULL;
    size_t n = 0;
    s_add_arg (&argv, &n, self->shim);
    _cleanup_free_ char *pid = hs_sprintf ("%d", (int)t->pid);
    s_add_arg (&argv, &n, "--exec");
    s_add_arg (&argv, &n, pid);
    s_add_arg (&argv, &n, "--stream");
    if (q->timeout_ms > 0) {
        _cleanup_free_ char *tmo =
            hs_sprintf ("%d", q->timeout_ms > TIMEOUT_MAX_MS ? TIMEOUT_MAX_MS : q->timeout_ms);
        s_add_arg (&argv, &n, "--timeout-ms");
        s_add_arg (&argv, &n, tmo);
    }
    for (size_t i = 0; t->cgroup_procs && t->cgroup_procs[i]; i++) {
        s_add_arg (&argv, &n, "--cgroup-procs");
        s_add_arg (&argv, &n, t->cgroup_procs[i]);
    }
    if (t->workdir) {
        s_add_arg (&argv, &n, "--workdir");
        s_add_arg (&argv, &n, t->workdir);
    }
    /* The container's variables (Secret ones among them) go on the
     * shim's stdin, never on its command line. */
    s_add_arg (&argv, &n, "--env-stdin");
    for (size_t i = 0; t->sec_args && t->sec_args[i]; i++) s_add_arg (&argv, &n, t->sec_args[i]);
    s_add_arg (&argv, &n, "--");
    for (size_t i = 0; i < q->n_command; i++) s_add_arg (&argv, &n, q->command[i]);

    char **env = s_environ (t->pid);
    char *const none[] = {NULL};
    char *const *use = env ? env : t->env ? t->env : none;
    int r = agent_spawn_piped (argv, use, &s->pid, &s->fd, &s->pidfd);
    s_strv_wipe (env);
    for (size_t i = 0; i < n; i++) free (argv[i]);
    free (argv);
    return r;
}

/* ------------------------------------------------------------------ frames */

/* Handles the whole frames in s->in (agent_exec_frame.h). */
static void s_parse (agent_exec_t *self, s_sess_t *s)
{
    size_t off = 0;
    while (!s->done && off < s->in.len) {
        agent_frame_t f;
        ssize_t n = agent_exec_frame (s->in.data + off, s->in.len - off, &f);
        if (n == 0) break; /* the rest comes later */
        if (n < 0) {
            s_fail (self, s, HS__CODE__CODE_INTERNAL, "the exec helper's answer is malformed");
            break;
        }
        off += (size_t)n;
        switch (f.kind) {
        case AGENT_FRAME_STDOUT:
        case AGENT_FRAME_STDERR:
            s_send (self, s,
                    f.kind == AGENT_FRAME_STDOUT ? HS__EXEC_STREAM__EXEC_STDOUT
                                                 : HS__EXEC_STREAM__EXEC_STDERR,
                    f.data, f.len, false, 0, HS__CODE__CODE_OK, NULL);
            break;
        case AGENT_FRAME_EXIT:
            s_send (self, s, HS__EXEC_STREAM__EXEC_STREAM_NONE, NULL, 0, true, f.code,
                    HS__CODE__CODE_OK, NULL);
            break;
        case AGENT_FRAME_FAIL: {
            /* Not found (127) or not executable (126): the shell's codes,
             * its words on stderr. */
            _cleanup_free_ char *line = hs_sprintf ("%s\n", f.text);
            s_send (self, s, HS__EXEC_STREAM__EXEC_STDERR, line, strlen (line), false, 0,
                    HS__CODE__CODE_OK, NULL);
            s_send (self, s, HS__EXEC_STREAM__EXEC_STREAM_NONE, NULL, 0, true, f.code,
                    HS__CODE__CODE_OK, NULL);
            break;
        }
        case AGENT_FRAME_TIMEOUT:
            s_fail (self, s, HS__CODE__CODE_INTERNAL, "the command ran past its timeout; killed");
            break;
        case AGENT_FRAME_ERROR: s_fail (self, s, HS__CODE__CODE_INTERNAL, f.text); break;
        }
    }
    if (off) {
        memmove (s->in.data, s->in.data + off, s->in.len - off);
        s->in.len -= off;
    }
}

/* Whether the session may read now: not done, the window open, tokens left. */
static bool s_can_read (const s_sess_t *s)
{
    return s->fd >= 0 && !s->done &&
           (s->stopping || (s->seq - s->acked < AGENT_EXEC_WINDOW && s->tokens > 0));
}

/* Reads what the session may this turn (*budget bytes in all). */
static void s_pump (agent_exec_t *self, s_sess_t *s, int64_t *budget)
{
    while (s->fd >= 0 && *budget > 0 && (s_can_read (s) || s->done)) {
        size_t want = sizeof self->rbuf;
        if (!s->stopping && !s->done) {
            if (s->in.len >= sizeof self->rbuf) break; /* cannot happen: frames fit */
            want -= s->in.len;
            if ((int64_t)want > s->tokens) want = (size_t)s->tokens;
        }
        ssize_t n = read (s->fd, self->rbuf, want);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        if (n <= 0) {
            /* EOF: the shim is gone. Without its last line, it died. */
            s_close (s);
            if (!s->done && !s->stopping)
                s_fail (self, s, HS__CODE__CODE_INTERNAL,
                        "the exec helper ended without an answer");
            if (s->stopping) s->dead = true;
            return;
        }
        *budget -= n;
        if (s->stopping || s->done) continue; /* drained, dropped */
        s->tokens -= n;
        hs_buf_append (&s->in, self->rbuf, (size_t)n);
        s_parse (self, s);
    }
}

/* ------------------------------------------------------------------ requests */

static void s_refuse (agent_exec_t *self, const Hs__Envelope *env, const char *why)
{
    self->refused++;
    _cleanup_free_ char *key = hs_sprintf ("exec %s %s", hs_s (env->sender), why);
    hs_log_once (HS_LOG_WARN, key,
                 "refused an exec request from %s on %s: %s (counted; logged once)",
                 hs_s (env->sender), self->topic, why);
}

static s_sess_t *s_add (agent_exec_t *self, const Hs__ExecRequest *q)
{
    s_sess_t *s = hs_calloc (1, sizeof *s);
    s->client_id = hs_strdup (q->client_id);
    s->request_id = hs_strdup (q->request_id);
    s->topic = hs_topic_to ("execout", q->client_id);
    s->fd = s->pidfd = -1;
    s->heard_mono = s->sent_mono = s->refill_mono = hs_mono_ns ();
    s->tokens = AGENT_EXEC_BURST;
    /* Forget the oldest finished session when too many are remembered: a
     * flood of bad requests costs a bounded memory. */
    size_t done = 0, oldest = self->n_sess;
    for (size_t i = 0; i < self->n_sess; i++) {
        const s_sess_t *d = self->sess[i];
        if (!d->done || d->dead) continue;
        done++;
        if (oldest == self->n_sess || d->done_mono < self->sess[oldest]->done_mono) oldest = i;
    }
    if (done >= DONE_MAX && oldest < self->n_sess) self->sess[oldest]->dead = true;
    self->sess = hs_realloc (self->sess, (self->n_sess + 1) * sizeof *self->sess);
    self->sess[self->n_sess++] = s;
    return s;
}

static void s_start (agent_exec_t *self, const Hs__ExecRequest *q)
{
    /* Remembered finished sessions are bounded (s_add); the running ones
     * by the limit below. */
    s_sess_t *s = s_add (self, q);
    const char *bad = agent_rules_exec_check (q);
    if (bad) {
        self->refused++;
        s_fail (self, s, HS__CODE__CODE_INVALID, bad);
        return;
    }
    if (s_active (self) > AGENT_EXEC_SESSIONS_MAX) {
        self->refused++;
        _cleanup_free_ char *msg =
            hs_sprintf ("the node agent on \"%s\" already runs %d exec sessions; try again later",
                        self->node, AGENT_EXEC_SESSIONS_MAX);
        s_fail (self, s, HS__CODE__CODE_UNAVAILABLE, msg);
        return;
    }
    /* The pod and the container, in kubectl's words (agent_pods_log_dir
     * says them: not found, not valid, which one). */
    _cleanup_free_ char *err = NULL;
    _cleanup_free_ char *dir =
        agent_pods_log_dir (self->pods, q->namespace_, q->pod, q->container, false, &err);
    if (!dir && hs_startswith (err, "pods \"")) {
        s_fail (self, s, HS__CODE__CODE_NOT_FOUND, err);
        return;
    }
    if (!dir && !strstr (err, "is waiting to start")) {
        s_fail (self, s, HS__CODE__CODE_INVALID, err);
        return;
    }
    agent_exec_target_t t;
    int r = agent_pods_exec_target (self->pods, q->namespace_, q->pod, q->uid, q->container, &t);
    if (r == -ENOENT && !hs_empty (q->uid)) {
        /* Another pod of that name now. */
        _cleanup_free_ char *msg = hs_sprintf ("pods \"%s\" not found", q->pod);
        s_fail (self, s, HS__CODE__CODE_NOT_FOUND, msg);
        return;
    }
    if (r < 0) {
        _cleanup_free_ char *msg = hs_sprintf ("container not found (\"%s\")",
                                               hs_empty (q->container) ? "" : q->container);
        s_fail (self, s, HS__CODE__CODE_UNAVAILABLE, msg);
        return;
    }
    r = s_spawn (self, q, &t, s);
    agent_exec_target_free (&t);
    if (r < 0) {
        _cleanup_free_ char *msg = hs_sprintf ("cannot run the exec helper: %s", strerror (-r));
        log_warn ("exec in %s/%s: %s", hs_s (q->namespace_), q->pod, msg);
        s_fail (self, s, HS__CODE__CODE_INTERNAL, msg);
        return;
    }
    /* The pipe only wakes the loop; agent_exec_work reads it. */
    s->io = hs_loop_io (self->loop, s->fd, EPOLLIN, s_wake, NULL);
    s->io_events = EPOLLIN;
    s->acked = q->acked_seq;
    self->started++;
    log_info ("exec in %s/%s container %s: %s (helper pid %d)",
              hs_empty (q->namespace_) ? "default" : q->namespace_, q->pod,
              hs_empty (q->container) ? "(the only one)" : q->container, q->command[0],
              (int)s->pid);
}

static void s_on_request (void *arg, const char *topic, const Hs__Envelope *env)
{
    agent_exec_t *self = arg;
    if (strcmp (topic, self->topic) != 0) return; /* another node's, e.g. exec.<node>2/ */
    if (env->body_case != HS__ENVELOPE__BODY_EXEC_REQUEST || !env->exec_request) {
        s_refuse (self, env, "not an ExecRequest");
        return;
    }
    const Hs__ExecRequest *q = env->exec_request;
    if (!agent_rules_id_ok (q->client_id) || !agent_rules_id_ok (q->request_id)) {
        s_refuse (self, env, "client_id and request_id must be 1-128 letters, digits, '-_.'");
        return;
    }
    int64_t now = hs_mono_ns ();
    s_sess_t *s = s_find (self, q->client_id, q->request_id);
    if (s && q->cancel) {
        if (!s->done) s_stop (s, "cancelled by the client");
        return;
    }
    if (s && !s->done && !s->stopping) {
        s->heard_mono = now; /* a retry or a keepalive */
        if (q->acked_seq > s->acked && q->acked_seq <= s->seq) s->acked = q->acked_seq;
        return;
    }
    if (s) {
        /* The client has not seen the end: the last chunk again. */
        if (s->last && now - s->resent_mono >= RESEND_NS) {
            s->resent_mono = now;
            s_publish (self, s, s->last);
        }
        return;
    }
    if (q->cancel) return;
    if (q->acked_seq > 0) {
        /* The keepalive of a session we do not know: we restarted since.
         * The command is never run a second time. */
        s_fail (self, s_add (self, q), HS__CODE__CODE_UNAVAILABLE,
                "the exec session is gone: the node agent restarted");
        return;
    }
    s_start (self, q);
}

/* ------------------------------------------------------------------ public */

agent_exec_t *agent_exec_new (hs_client_t *client, hs_loop_t *loop, agent_pods_t *pods,
                              const char *node, const char *shim)
{
    agent_exec_t *self = hs_calloc (1, sizeof *self);
    self->client = client;
    self->loop = loop;
    self->pods = pods;
    self->shim = shim;
    self->node = hs_strdup (node);
    self->topic = hs_topic_to ("exec", node);
    int r = hs_client_on (client, self->topic, s_on_request, self);
    if (r < 0) {
        log_error ("cannot subscribe to %s: %s; `hsctl exec` will not work", self->topic,
                   strerror (-r));
        agent_exec_destroy (&self);
    }
    return self;
}

void agent_exec_destroy (agent_exec_t **self_p)
{
    agent_exec_t *self = *self_p;
    if (!self) return;
    for (size_t i = 0; i < self->n_sess; i++) {
        s_sess_t *s = self->sess[i];
        /* The shim kills the command's process group on SIGTERM, and on
         * its pipe closing (our exit) if it missed that. */
        if (!s->done && s->fd >= 0) s_signal (s, SIGTERM);
        s_sess_free (s);
    }
    free (self->sess);
    free (self->node);
    free (self->topic);
    free (self);
    *self_p = NULL;
}

int64_t agent_exec_work (agent_exec_t *self)
{
    if (!self) return HS_NEVER;
    int64_t now = hs_mono_ns ();
    int64_t wake = HS_NEVER;
    int64_t budget = TURN_BYTES;
    size_t n = self->n_sess;
    for (size_t k = 0; k < n; k++) {
        s_sess_t *s = self->sess[(self->rr + k) % n];
        if (s->dead) continue;
        if (!s->done && !s->stopping && now - s->heard_mono >= IDLE_NS)
            s_stop (s, "no word from the client for 5 s");
        if (s->stopping && !s->killed && now - s->stop_mono >= KILL_AFTER_NS) {
            s_signal (s, SIGKILL);
            s->killed = true;
        }
        /* The bucket: AGENT_EXEC_RATE bytes a second, up to the burst. */
        if (!s->done && !s->stopping) {
            int64_t add = (now - s->refill_mono) * (AGENT_EXEC_RATE / 1000) / 1000000;
            if (add > 0) {
                s->tokens = s->tokens + add > AGENT_EXEC_BURST ? AGENT_EXEC_BURST : s->tokens + add;
                s->refill_mono = now;
            }
        }
        if (s->fd >= 0) s_pump (self, s, &budget);
        if (s->done && s->fd >= 0) s_close (s); /* the shim exits after its last line */
        if (s->dead) continue;
        if (s->done) {
            hs_buf_free (&s->in);
            if (now - s->done_mono >= DONE_KEEP_NS) {
                s->dead = true;
                continue;
            }
            if (s->done_mono + DONE_KEEP_NS < wake) wake = s->done_mono + DONE_KEEP_NS;
            continue;
        }
        /* Throttled: the pipe must not wake the loop until it may be read.
         * Stopping: it is drained to its end. */
        uint32_t ev = s_can_read (s) ? EPOLLIN : 0;
        if (s->io && ev != s->io_events) {
            hs_loop_io_events (s->io, ev);
            s->io_events = ev;
        }
        if (s->stopping) {
            if (s->fd < 0) { /* the shim never ran */
                s->dead = true;
                continue;
            }
            /* After the SIGKILL, its pipe's EOF (a loop source) ends it. */
            if (!s->killed && s->stop_mono + KILL_AFTER_NS < wake)
                wake = s->stop_mono + KILL_AFTER_NS;
            if (!s->io && now + 100 * MS < wake) wake = now + 100 * MS;
            continue;
        }
        if (now - s->sent_mono >= BEAT_NS)
            s_send (self, s, HS__EXEC_STREAM__EXEC_STREAM_NONE, NULL, 0, false, 0,
                    HS__CODE__CODE_OK, NULL);
        if (!s->io && ev) wake = now + 100 * MS; /* no loop source: look again soon */
        if (budget <= 0 && ev) wake = now;
        if (s->tokens <= 0) {
            int64_t at = now + (AGENT_EXEC_CHUNK_MAX - s->tokens) * 1000000000LL / AGENT_EXEC_RATE;
            if (at < wake) wake = at;
        }
        if (s->sent_mono + BEAT_NS < wake) wake = s->sent_mono + BEAT_NS;
        if (s->heard_mono + IDLE_NS < wake) wake = s->heard_mono + IDLE_NS;
    }
    if (n) self->rr = (self->rr + 1) % n;
    size_t j = 0;
    for (size_t i = 0; i < self->n_sess; i++) {
        if (self->sess[i]->dead)
            s_sess_free (self->sess[i]);
        else
            self->sess[j++] = self->sess[i];
    }
    self->n_sess = j;
    if (j == 0) self->rr = 0;
    return wake;
}

uint64_t agent_exec_started (agent_exec_t *self)
{
    return self ? self->started : 0;
}

uint64_t agent_exec_refused (agent_exec_t *self)
{
    return self ? self->refused : 0;
}
