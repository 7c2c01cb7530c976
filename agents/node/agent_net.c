/*  agent_net.c: pod network sandboxes (see agent_net.h). */
#include "agent_net.h"
#include "agent_cni.h"

#include "hs_log.h"
#include "hs_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define MS            1000000LL
#define BACKOFF_FIRST (500 * MS)
#define BACKOFF_MAX   (30000 * MS)
#define NSFS_MAGIC_   0x6e736673
#define REC_NONE      0
#define REC_ADDING    1
#define REC_READY     2
#define REC_DELETING  3

typedef enum {
    SB_NONE,
    SB_ADD, /* loopback and the main plugin: two networks, added at once */
    SB_READY,
    SB_CHECK,
    SB_DEL,
    SB_LO_DEL,
} sb_state_t;

struct agent_sb_t {
    agent_net_t *net;
    char *uid;
    char *netns;
    sb_state_t state;
    bool check_due; /* adopted ready: CHECK before anything else */
    bool recreate;  /* tear down and make again (failed CHECK, lost namespace, failed ADD) */
    bool redo;      /* after the teardown: ADD again even if nothing failed */
    agent_cni_op_t *op, *lo_op; /* the main plugin's call; loopback's ADD */
    char *result;               /* the main ADD's result JSON */
    char *ip;
    int prefix;
    char *subnet, *mode; /* what it was added with */
    char *why;
    int64_t retry_at;
    int64_t backoff;
    int64_t add_started; /* mono ns, for the log */
    bool prepared;       /* this ADD's namespace came from the pool */
    bool cidr_event_sent;
};

typedef struct {
    char *id;
    agent_cni_op_t *op;
} s_gc_t;

/* A prepared namespace: pinned, loopback ADDed (op in flight until ready). */
typedef struct {
    char *path; /* <netns dir>/.pool-<n> */
    agent_cni_op_t *op;
    bool ready;
} s_pool_t;

/* Sandboxes being added at once: each ADD is one or two Go programs
 * starting, and host-local serializes on its lock; a burst of pods past this
 * many waits its turn rather than sharing the CPUs with all the others, so
 * the first ones are done sooner. */
#define ADD_PARALLEL  4
#define POOL_PREFIX   ".pool-"
#define POOL_RETRY_NS (5000 * MS)

struct agent_net_t {
    agent_net_conf_t conf;
    char *mode, *bin_dir, *data_dir, *netns_dir; /* conf's strings, owned */
    hs_loop_t *loop;
    char *cidr;
    agent_sb_t **sbs;
    size_t n_sbs;
    s_gc_t *gc;
    size_t n_gc;
    s_pool_t *pool;
    size_t n_pool;
    uint64_t pool_seq;
    int64_t pool_retry_at;
};

/* ------------------------------------------------------------------ namespaces */

/* The child of agent_netns_create: system calls only (it shares our memory). */
static int s_pin_child (void *arg)
{
    if (unshare (CLONE_NEWNET) < 0) return 10;
    if (mount ("/proc/self/ns/net", (const char *)arg, NULL, MS_BIND, NULL) < 0) return 11;
    return 0;
}

int agent_netns_create (const char *path)
{
    int fd = open (path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    if (fd < 0) return -errno;
    close (fd);
    /* A child, so the agent never leaves its own namespace; it pins its new
     * one by bind-mounting /proc/self/ns/net (its own: a process, not a
     * thread). CLONE_VM|CLONE_VFORK rather than fork: no copy of the
     * agent's page tables; we are suspended while it runs on this stack. */
    char stack[16384] __attribute__ ((aligned (16)));
    pid_t pid =
        clone (s_pin_child, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, (void *)path);
    if (pid < 0) {
        int e = -errno;
        unlink (path);
        return e;
    }
    int st = 0;
    while (waitpid (pid, &st, 0) < 0 && errno == EINTR) {}
    if (WIFEXITED (st) && WEXITSTATUS (st) == 0) return 0;
    unlink (path);
    return WIFEXITED (st) && WEXITSTATUS (st) == 10 ? -EPERM : -EIO;
}

bool agent_netns_pinned (const char *path)
{
    struct statfs sf;
    return statfs (path, &sf) == 0 && (unsigned long)sf.f_type == (unsigned long)NSFS_MAGIC_;
}

int agent_netns_remove (const char *path)
{
    if (umount2 (path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        log_debug ("umount %s: %s", path, strerror (errno));
    if (unlink (path) < 0 && errno != ENOENT) return -errno;
    return 0;
}

/* ------------------------------------------------------------------ the node */

agent_net_t *agent_net_new (const agent_net_conf_t *conf, hs_loop_t *loop)
{
    agent_net_t *self = hs_calloc (1, sizeof *self);
    self->mode = hs_strdup (conf->mode);
    self->bin_dir = hs_strdup (conf->bin_dir);
    self->data_dir = hs_strdup (conf->data_dir);
    self->netns_dir = hs_strdup (conf->netns_dir);
    self->conf = *conf;
    self->conf.mode = self->mode;
    self->conf.bin_dir = self->bin_dir;
    self->conf.data_dir = self->data_dir;
    self->conf.netns_dir = self->netns_dir;
    self->loop = loop;
    /* A predecessor's prepared namespaces: nothing runs in them. */
    DIR *d = opendir (self->conf.netns_dir);
    struct dirent *e;
    while (d && (e = readdir (d))) {
        if (!hs_startswith (e->d_name, POOL_PREFIX)) continue;
        _cleanup_free_ char *path = hs_sprintf ("%s/%s", self->conf.netns_dir, e->d_name);
        agent_netns_remove (path);
    }
    if (d) closedir (d);
    return self;
}

static void s_pool_drop (agent_net_t *self, size_t i)
{
    s_pool_t *pe = &self->pool[i];
    agent_cni_op_destroy (&pe->op);
    agent_netns_remove (pe->path);
    free (pe->path);
    self->pool[i] = self->pool[--self->n_pool];
}

/* Keeps conf.pool prepared namespaces: made only while no sandbox is being
 * added (a pod's ADD goes first; two Go plugins starting at once share the
 * CPU). */
/* Starts a plugin call with the configured timeout (agent_cni_op_start). */
static int s_start (agent_net_t *self, const char *plugin, const char *cmd, const char *id,
                    const char *netns, const char *ifname, const char *conf, agent_cni_op_t **ret)
{
    int r = agent_cni_op_start (self->loop, self->conf.bin_dir, plugin, cmd, id, netns, ifname,
                                conf, ret);
    if (r == 0 && self->conf.cni_timeout_ns > 0)
        agent_cni_op_set_timeout (*ret, self->conf.cni_timeout_ns);
    return r;
}

/* A call still running: wake at its deadline (its end wakes the loop itself). */
static void s_wake_for (const agent_cni_op_t *op, int64_t *wake)
{
    int64_t d = op ? agent_cni_op_deadline (op) : HS_NEVER;
    if (*wake > d) *wake = d;
}

static void s_pool_work (agent_net_t *self, int64_t now, int64_t *wake)
{
    for (size_t i = 0; i < self->n_pool; i++) {
        s_pool_t *pe = &self->pool[i];
        if (!pe->op) continue;
        if (!agent_cni_op_poll (pe->op)) {
            s_wake_for (pe->op, wake);
            continue;
        }
        if (agent_cni_op_ok (pe->op)) {
            agent_cni_op_destroy (&pe->op);
            pe->ready = true;
            continue;
        }
        _cleanup_free_ char *err = agent_cni_op_error (pe->op);
        hs_log_once (HS_LOG_WARN, "agent:netns-pool",
                     "cannot prepare a network namespace: %s (retried every 5 s; further "
                     "failures not logged)",
                     err);
        s_pool_drop (self, i--);
        self->pool_retry_at = now + POOL_RETRY_NS;
    }
    if (self->n_pool >= (size_t)self->conf.pool) return;
    if (self->pool_retry_at > now) {
        if (*wake > self->pool_retry_at) *wake = self->pool_retry_at;
        return;
    }
    for (size_t i = 0; i < self->n_sbs; i++)
        if (self->sbs[i]->state == SB_ADD) return; /* its end is a wake-up */
    while (self->n_pool < (size_t)self->conf.pool) {
        char *path = hs_sprintf ("%s/" POOL_PREFIX "%llu", self->conf.netns_dir,
                                 (unsigned long long)self->pool_seq++);
        agent_netns_remove (path);
        int r = agent_netns_create (path);
        _cleanup_free_ char *lo = agent_cni_loopback_conf ();
        agent_cni_op_t *op = NULL;
        /* CNI: a container ID starts with a letter or digit. */
        _cleanup_free_ char *id =
            hs_sprintf ("hs-pool-%llu", (unsigned long long)(self->pool_seq - 1));
        if (r == 0) r = s_start (self, "loopback", "ADD", id, path, "lo", lo, &op);
        if (r < 0) {
            hs_log_once (HS_LOG_WARN, "agent:netns-pool-make",
                         "cannot prepare a network namespace at %s: %s (further failures not "
                         "logged)",
                         path, strerror (-r));
            agent_netns_remove (path);
            free (path);
            self->pool_retry_at = now + POOL_RETRY_NS;
            if (*wake > self->pool_retry_at) *wake = self->pool_retry_at;
            return;
        }
        self->pool = hs_realloc (self->pool, (self->n_pool + 1) * sizeof *self->pool);
        self->pool[self->n_pool++] = (s_pool_t){path, op, false};
        s_wake_for (op, wake);
    }
}

/* Moves a prepared namespace to path (a bind mount of the pinned one, then
 * the pool's file goes). True if there was one. */
static bool s_pool_take (agent_net_t *self, const char *path)
{
    for (size_t i = 0; i < self->n_pool; i++) {
        s_pool_t *pe = &self->pool[i];
        if (!pe->ready) continue;
        int fd = open (path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
        if (fd < 0) return false;
        close (fd);
        if (mount (pe->path, path, NULL, MS_BIND, NULL) < 0) {
            log_warn ("cannot move prepared namespace %s to %s: %s", pe->path, path,
                      strerror (errno));
            unlink (path);
            s_pool_drop (self, i);
            return false;
        }
        s_pool_drop (self, i);
        return true;
    }
    return false;
}

void agent_net_destroy (agent_net_t **self_p)
{
    agent_net_t *self = *self_p;
    if (!self) return;
    while (self->n_sbs) {
        agent_sb_t *sb = self->sbs[0];
        agent_sb_destroy (&sb);
    }
    free (self->sbs);
    for (size_t i = 0; i < self->n_gc; i++) {
        agent_cni_op_destroy (&self->gc[i].op);
        free (self->gc[i].id);
    }
    free (self->gc);
    while (self->n_pool) s_pool_drop (self, 0);
    free (self->pool);
    free (self->mode);
    free (self->bin_dir);
    free (self->data_dir);
    free (self->netns_dir);
    free (self->cidr);
    free (self);
    *self_p = NULL;
}

void agent_net_set_cidr (agent_net_t *self, const char *cidr)
{
    if (hs_streq (self->cidr, cidr)) return;
    free (self->cidr);
    self->cidr = hs_empty (cidr) ? NULL : hs_strdup (cidr);
}

const char *agent_net_cidr (const agent_net_t *self)
{
    return self->cidr;
}

bool agent_net_reaped (agent_net_t *self, pid_t pid, int status)
{
    for (size_t i = 0; i < self->n_sbs; i++) {
        agent_sb_t *sb = self->sbs[i];
        if (sb->op && agent_cni_op_reaped (sb->op, pid, status)) return true;
        if (sb->lo_op && agent_cni_op_reaped (sb->lo_op, pid, status)) return true;
    }
    for (size_t i = 0; i < self->n_gc; i++)
        if (self->gc[i].op && agent_cni_op_reaped (self->gc[i].op, pid, status)) return true;
    for (size_t i = 0; i < self->n_pool; i++)
        if (self->pool[i].op && agent_cni_op_reaped (self->pool[i].op, pid, status)) return true;
    return false;
}

/* The main plugin's configuration for DEL/CHECK of something added with
 * subnet and mode (the current ones if NULL). */
static char *s_conf (const agent_net_t *self, const char *subnet, const char *mode,
                     const char *prev, char **ret_err)
{
    agent_cni_net_t n = {.mode = mode ? mode : self->conf.mode,
                         .subnet = subnet ? subnet : self->cidr,
                         .data_dir = self->conf.data_dir,
                         .mtu = self->conf.mtu};
    return agent_cni_conf (&n, prev, ret_err);
}

int agent_net_gc (agent_net_t *self, const char *const *known, size_t n)
{
    if (!self->cidr) return -EAGAIN;
    char **ids = NULL;
    int r = agent_cni_leases (self->conf.data_dir, &ids);
    if (r < 0) return r;
    int started = 0;
    for (size_t i = 0; ids && ids[i]; i++) {
        bool mine = false;
        for (size_t j = 0; j < n && !mine; j++) mine = hs_streq (ids[i], known[j]);
        for (size_t j = 0; j < self->n_sbs && !mine; j++)
            mine = hs_streq (ids[i], self->sbs[j]->uid);
        if (mine) continue;
        char *err = NULL;
        _cleanup_free_ char *conf = s_conf (self, NULL, NULL, NULL, &err);
        agent_cni_op_t *op = NULL;
        int e =
            conf ? s_start (self, self->conf.mode, "DEL", ids[i], "", AGENT_CNI_IFNAME, conf, &op)
                 : -EINVAL;
        if (e < 0) {
            log_warn ("network GC: cannot release the lease of %s: %s", ids[i],
                      err ? err : strerror (-e));
            free (err);
            continue;
        }
        log_info ("network GC: releasing the lease of %s, which is no pod of ours", ids[i]);
        self->gc = hs_realloc (self->gc, (self->n_gc + 1) * sizeof *self->gc);
        self->gc[self->n_gc++] = (s_gc_t){hs_strdup (ids[i]), op};
        started++;
    }
    agent_cni_strv_free (ids);
    return started;
}

int64_t agent_net_work (agent_net_t *self)
{
    int64_t wake = HS_NEVER;
    if (self->conf.pool > 0) s_pool_work (self, hs_mono_ns (), &wake);
    for (size_t i = 0; i < self->n_gc; i++) {
        s_gc_t *g = &self->gc[i];
        if (!agent_cni_op_poll (g->op)) {
            s_wake_for (g->op, &wake);
            continue;
        }
        if (!agent_cni_op_ok (g->op)) {
            _cleanup_free_ char *e = agent_cni_op_error (g->op);
            log_warn ("network GC: releasing %s: %s", g->id, e);
        }
        agent_cni_op_destroy (&g->op);
        free (g->id);
        self->gc[i--] = self->gc[--self->n_gc];
    }
    return wake;
}

size_t agent_net_gc_pending (const agent_net_t *self)
{
    return self->n_gc;
}

/* ------------------------------------------------------------------ one sandbox */

agent_sb_t *agent_sb_new (agent_net_t *net, const char *uid)
{
    agent_sb_t *sb = hs_calloc (1, sizeof *sb);
    sb->net = net;
    sb->uid = hs_strdup (uid);
    sb->netns = hs_sprintf ("%s/%s", net->conf.netns_dir, uid);
    net->sbs = hs_realloc (net->sbs, (net->n_sbs + 1) * sizeof *net->sbs);
    net->sbs[net->n_sbs++] = sb;
    return sb;
}

void agent_sb_destroy (agent_sb_t **sb_p)
{
    agent_sb_t *sb = *sb_p;
    if (!sb) return;
    agent_net_t *net = sb->net;
    for (size_t i = 0; i < net->n_sbs; i++)
        if (net->sbs[i] == sb) {
            net->sbs[i] = net->sbs[--net->n_sbs];
            break;
        }
    agent_cni_op_destroy (&sb->op);
    agent_cni_op_destroy (&sb->lo_op);
    free (sb->uid);
    free (sb->netns);
    free (sb->result);
    free (sb->ip);
    free (sb->subnet);
    free (sb->mode);
    free (sb->why);
    free (sb);
    *sb_p = NULL;
}

static void s_set (char **field, const char *s)
{
    char *old = *field;
    *field = hs_empty (s) ? NULL : hs_strdup (s);
    free (old);
}

static void s_why (agent_sb_t *sb, char *why /* taken */)
{
    free (sb->why);
    sb->why = why;
}

void agent_sb_restore (agent_sb_t *sb, const Hs__AgentNet *rec)
{
    if (!rec || rec->state == REC_NONE) return;
    s_set (&sb->result, rec->result);
    s_set (&sb->ip, rec->pod_ip);
    s_set (&sb->subnet, rec->subnet);
    s_set (&sb->mode, rec->mode);
    if (!hs_empty (rec->netns)) s_set (&sb->netns, rec->netns);
    switch (rec->state) {
    case REC_ADDING:
        /* Crashed during the ADD: whatever it did is undone, then done again. */
        log_info ("pod %s: the agent stopped during its network ADD: DEL, then ADD again", sb->uid);
        sb->state = SB_DEL;
        sb->redo = true;
        s_set (&sb->ip, NULL);
        break;
    case REC_READY:
        sb->state = SB_READY;
        if (!agent_netns_pinned (sb->netns) || !sb->result) {
            sb->recreate = true;
            s_why (sb, hs_sprintf ("the network namespace %s is gone", sb->netns));
        } else {
            sb->check_due = true;
        }
        break;
    default: sb->state = SB_DEL; break;
    }
}

bool agent_sb_record (const agent_sb_t *sb, Hs__AgentNet *ret)
{
    hs__agent_net__init (ret);
    switch (sb->state) {
    case SB_NONE: return false;
    case SB_ADD: ret->state = REC_ADDING; break;
    case SB_READY:
    case SB_CHECK: ret->state = REC_READY; break;
    case SB_DEL:
    case SB_LO_DEL: ret->state = REC_DELETING; break;
    }
    ret->netns = sb->netns;
    ret->result = sb->result ? sb->result : (char *)"";
    ret->pod_ip = sb->ip ? sb->ip : (char *)"";
    ret->subnet = sb->subnet ? sb->subnet : (char *)"";
    ret->mode = sb->mode ? sb->mode : (char *)"";
    return true;
}

const char *agent_sb_why (const agent_sb_t *sb)
{
    return sb->why;
}

const char *agent_sb_ip (const agent_sb_t *sb)
{
    return sb->state == SB_READY || sb->state == SB_CHECK ? sb->ip : NULL;
}

int agent_sb_prefix (const agent_sb_t *sb)
{
    return sb->prefix;
}

const char *agent_sb_netns (const agent_sb_t *sb)
{
    return sb->netns;
}

static void s_failed (agent_sb_t *sb, int64_t now)
{
    sb->backoff = sb->backoff ? sb->backoff * 2 : BACKOFF_FIRST;
    if (sb->backoff > BACKOFF_MAX) sb->backoff = BACKOFF_MAX;
    sb->retry_at = now + sb->backoff;
}

/* Starts a call; false (and sb->why, a retry) when it cannot be started. */
static bool s_call (agent_sb_t *sb, sb_state_t state, const char *plugin, const char *cmd,
                    const char *ifname, const char *conf, int64_t now)
{
    agent_net_t *net = sb->net;
    /* DEL names the namespace even when it is gone: plugins cope (CNI). */
    int r = s_start (net, plugin, cmd, sb->uid, sb->netns, ifname, conf, &sb->op);
    if (r < 0) {
        s_why (sb, hs_sprintf ("cannot run the %s plugin: %s", plugin, strerror (-r)));
        s_failed (sb, now);
        return false;
    }
    sb->state = state;
    return true;
}

static bool s_main_call (agent_sb_t *sb, sb_state_t state, const char *cmd, const char *prev,
                         int64_t now)
{
    char *err = NULL;
    _cleanup_free_ char *conf = s_conf (sb->net, sb->subnet, sb->mode, prev, &err);
    if (!conf) {
        s_why (sb, hs_sprintf ("the network configuration: %s", err));
        free (err);
        s_failed (sb, now);
        return false;
    }
    return s_call (sb, state, sb->mode ? sb->mode : sb->net->conf.mode, cmd, AGENT_CNI_IFNAME, conf,
                   now);
}

/* A finished call. */
static void s_done (agent_sb_t *sb, const agent_sb_cb_t *cb, int64_t now)
{
    agent_cni_op_t *op = sb->op; /* NULL: the main ADD did not start (sb->why) */
    bool ok = op && agent_cni_op_ok (op);
    _cleanup_free_ char *err = NULL;
    if (op && !ok) err = agent_cni_op_error (op);
    if (!op) err = hs_strdup (sb->why ? sb->why : "the plugin did not run");
    if (sb->lo_op) {
        if (ok && !agent_cni_op_ok (sb->lo_op)) {
            ok = false;
            err = agent_cni_op_error (sb->lo_op);
        }
        agent_cni_op_destroy (&sb->lo_op);
    }
    size_t len = 0;
    const char *out = op ? agent_cni_op_out (op, &len) : "";
    switch (sb->state) {
    case SB_ADD:
        if (ok) {
            agent_cni_result_t res;
            char *perr = NULL;
            if (agent_cni_parse_result (out, len, &res, &perr) == 0) {
                s_set (&sb->result, out);
                s_set (&sb->ip, res.ip);
                sb->prefix = res.prefix;
                agent_cni_result_free (&res);
                sb->state = SB_READY;
                sb->backoff = 0;
                s_why (sb, NULL);
                log_info ("pod %s: network ready, %s/%d on %s (%.1f ms%s)", sb->uid, sb->ip,
                          sb->prefix, sb->netns, (double)(hs_mono_ns () - sb->add_started) / 1e6,
                          sb->prepared ? ", a prepared namespace" : "");
                agent_cni_op_destroy (&sb->op);
                cb->save (cb->arg); /* a failure leaves the pod unsaved: retried there */
                return;
            }
            err = hs_sprintf ("plugin %s ADD: %s", agent_cni_op_plugin (op), perr);
            /* (err was NULL: ok) */
            free (perr);
            ok = false;
        }
        break;
    case SB_CHECK: {
        bool answered = agent_cni_op_answered (op);
        agent_cni_op_destroy (&sb->op);
        sb->state = SB_READY;
        if (ok) {
            log_info ("pod %s: network CHECK passed (%s)", sb->uid, hs_s (sb->ip));
            sb->backoff = 0;
            return;
        }
        if (!answered) {
            /* The plugin did not run: nothing is known about the sandbox,
             * whose pod keeps running. CHECK again later. */
            s_why (sb, hs_sprintf ("network CHECK could not run: %s", err));
            log_warn ("pod %s: %s", sb->uid, sb->why);
            cb->event (cb->arg, "Warning", "FailedCheckPodSandBox", sb->why);
            sb->check_due = true;
            s_failed (sb, now);
            return;
        }
        s_why (sb, hs_sprintf ("network CHECK failed: %s", err));
        cb->event (cb->arg, "Warning", "SandboxChanged", sb->why);
        sb->recreate = true;
        return;
    }
    case SB_DEL:
        if (ok) {
            agent_cni_op_destroy (&sb->op);
            _cleanup_free_ char *lo = agent_cni_loopback_conf ();
            s_call (sb, SB_LO_DEL, "loopback", "DEL", "lo", lo, now);
            return;
        }
        break;
    case SB_LO_DEL:
        /* Nothing of loopback's outlives the namespace: gone either way. */
        agent_cni_op_destroy (&sb->op);
        agent_netns_remove (sb->netns);
        sb->state = SB_NONE;
        s_set (&sb->ip, NULL);
        s_set (&sb->result, NULL);
        cb->save (cb->arg);
        return;
    default: break;
    }
    /* A failed call. */
    agent_cni_op_destroy (&sb->op);
    s_why (sb, hs_strdup (err ? err : "failed"));
    log_warn ("pod %s: %s", sb->uid, sb->why);
    s_failed (sb, now);
    if (sb->state == SB_DEL) {
        _cleanup_free_ char *m =
            hs_sprintf ("error killing pod: failed to destroy network for sandbox: %s", sb->why);
        cb->event (cb->arg, "Warning", "FailedKillPod", m);
        return; /* DEL again after the backoff */
    }
    /* A failed ADD: undo what it did (the runtime's part, CNI says), then
     * try again after the backoff. */
    _cleanup_free_ char *m =
        hs_sprintf ("Failed to create pod sandbox: failed to set up network: %s", sb->why);
    cb->event (cb->arg, "Warning", "FailedCreatePodSandBox", m);
    sb->state = SB_DEL;
    sb->redo = true;
}

static agent_sb_view_t s_step (agent_sb_t *sb, bool want_up, bool idle, const agent_sb_cb_t *cb,
                               int64_t now, int64_t *wake)
{
    agent_net_t *net = sb->net;
    if (sb->op || sb->lo_op) {
        bool done = !sb->op || agent_cni_op_poll (sb->op);
        if (sb->lo_op && !agent_cni_op_poll (sb->lo_op)) done = false;
        if (!done) return AGENT_SB_PENDING;
        s_done (sb, cb, now);
        if (sb->op || sb->lo_op) return AGENT_SB_PENDING;
    }
    switch (sb->state) {
    case SB_READY:
        if (sb->check_due && sb->retry_at > now && !sb->recreate) {
            if (*wake > sb->retry_at) *wake = sb->retry_at;
        } else if (sb->check_due) {
            sb->check_due = false;
            if (s_main_call (sb, SB_CHECK, "CHECK", sb->result, now)) return AGENT_SB_READY;
            sb->recreate = true;
        }
        if (want_up && !sb->recreate) return AGENT_SB_READY;
        if (!idle) {
            if (sb->recreate) cb->kill (cb->arg);
            return sb->recreate ? AGENT_SB_PENDING : AGENT_SB_READY;
        }
        if (sb->recreate) {
            sb->redo = true;
            sb->recreate = false;
        }
        sb->state = SB_DEL;
        if (cb->save (cb->arg) < 0) {
            sb->state = SB_READY;
            if (*wake > now + BACKOFF_FIRST) *wake = now + BACKOFF_FIRST;
            return AGENT_SB_PENDING;
        }
        s_main_call (sb, SB_DEL, "DEL", sb->result, now);
        return AGENT_SB_PENDING;
    case SB_DEL:
        /* A DEL to make (restored, or to retry). */
        if (sb->retry_at > now) {
            if (*wake > sb->retry_at) *wake = sb->retry_at;
            return AGENT_SB_PENDING;
        }
        s_main_call (sb, SB_DEL, "DEL", sb->result, now);
        if (!sb->op && *wake > sb->retry_at) *wake = sb->retry_at;
        return AGENT_SB_PENDING;
    case SB_NONE: break;
    default: return AGENT_SB_PENDING;
    }
    /* Nothing exists. */
    sb->redo = false;
    if (!want_up) return AGENT_SB_DOWN;
    if (!net->cidr) {
        if (!sb->cidr_event_sent) {
            sb->cidr_event_sent = true;
            s_why (sb, hs_strdup ("the node has no podCIDR yet"));
            cb->event (cb->arg, "Warning", "NetworkNotReady",
                       "network is not ready: the node has no podCIDR (spec.podCIDR, or "
                       "hs-agent --pod-cidr)");
        }
        return AGENT_SB_PENDING; /* agent_net_set_cidr comes with an event: a wake-up */
    }
    if (sb->retry_at > now) {
        if (*wake > sb->retry_at) *wake = sb->retry_at;
        return AGENT_SB_PENDING;
    }
    size_t adding = 0;
    for (size_t i = 0; i < net->n_sbs; i++) adding += net->sbs[i]->state == SB_ADD;
    if (adding >= ADD_PARALLEL) return AGENT_SB_PENDING; /* an ADD's end wakes the loop */
    bool lo_up = false; /* a prepared namespace comes with loopback up */
    sb->add_started = now;
    if (!agent_netns_pinned (sb->netns)) {
        agent_netns_remove (sb->netns); /* a file left without its mount */
        lo_up = s_pool_take (net, sb->netns);
        sb->prepared = lo_up;
        int r = lo_up ? 0 : agent_netns_create (sb->netns);
        if (r < 0) {
            s_why (sb, hs_sprintf ("cannot make the network namespace %s: %s", sb->netns,
                                   strerror (-r)));
            cb->event (cb->arg, "Warning", "FailedCreatePodSandBox", sb->why);
            s_failed (sb, now);
            if (*wake > sb->retry_at) *wake = sb->retry_at;
            return AGENT_SB_PENDING;
        }
    }
    s_set (&sb->subnet, net->cidr);
    s_set (&sb->mode, net->conf.mode);
    sb->state = SB_ADD; /* recorded as "adding" before the first call */
    if (cb->save (cb->arg) < 0) {
        sb->state = SB_NONE;
        if (*wake > now + BACKOFF_FIRST) *wake = now + BACKOFF_FIRST;
        return AGENT_SB_PENDING;
    }
    /* Loopback and the main network are two networks, not a chain: their
     * ADDs run at the same time (a plugin exec is most of a pod's start). */
    _cleanup_free_ char *lo = agent_cni_loopback_conf ();
    int r = lo_up ? 0 : s_start (net, "loopback", "ADD", sb->uid, sb->netns, "lo", lo, &sb->lo_op);
    if (r < 0) s_why (sb, hs_sprintf ("cannot run the loopback plugin: %s", strerror (-r)));
    if (r < 0 || !s_main_call (sb, SB_ADD, "ADD", NULL, now)) {
        if (!sb->lo_op) {
            /* Nothing runs: the failure path right away (DEL, backoff). */
            s_done (sb, cb, now);
            if (*wake > sb->retry_at) *wake = sb->retry_at;
        }
    }
    return AGENT_SB_PENDING;
}

agent_sb_view_t agent_sb_step (agent_sb_t *sb, bool want_up, bool idle, const agent_sb_cb_t *cb,
                               int64_t now, int64_t *wake)
{
    agent_sb_view_t v = s_step (sb, want_up, idle, cb, now, wake);
    /* A call in flight: its end wakes the loop, a hung one its deadline. */
    s_wake_for (sb->op, wake);
    s_wake_for (sb->lo_op, wake);
    return v;
}
