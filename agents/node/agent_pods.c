/*  agent_pods.c: the pods bound to this node, and their containers.
 *
 *  A pod arrives through the watch (agent_pods_on_event) and lives here until
 *  it is gone from the store and nothing of it runs. Each container is a
 *  small state machine:
 *
 *    waiting --start--> running --exit--> waiting (restart due later:
 *       ^                                 CrashLoopBackOff) or terminated
 *       '------------ start failed (ContainerCannotRun) ----'
 *
 *  A start runs hs-shim, which answers once the program is exec'd (or not)
 *  and leaves a daemon that is the container's parent. The agent holds a
 *  pidfd of that daemon: readable = the container is done and its exit file
 *  written. Nothing about an exit is guessed: the code and signal come from
 *  the shim's waitpid, OOMKilled from the cgroup's oom_kill counter.
 *
 *  Restarts follow Kubernetes: restartPolicy Always / OnFailure / Never; the
 *  first restart is immediate, later ones wait backoff_initial doubling to
 *  backoff_max; a run of backoff_reset or longer starts the series again.
 *
 *  Deletion: a deletionTimestamp makes the agent send SIGTERM through each
 *  shim (pidfd_send_signal: never a recycled pid), SIGKILL the cgroup when
 *  the grace period is over, remove the cgroups, and delete the pod from the
 *  store with grace 0, as the kubelet does. A pod that vanished from the
 *  store or was bound elsewhere is stopped the same way, without writes.
 *
 *  Networking (agent_net.h): a pod without hostNetwork has a sandbox; its
 *  containers start once it is ready (until then: ContainerCreating with the
 *  reason), its IP is status.podIP, and a stopped pod's sandbox is torn down
 *  before the pod is forgotten. The CNI calls are children of ours: the
 *  reaper in agent_pods_work hands their exit status over.
 *
 *  Probes (agent_pods_probe_result, agent_rules.h): a container's ready and
 *  started flags follow hs-prober's latest word about its current run; a
 *  liveness failure stops the run (SIGTERM, the grace, SIGKILL) and the
 *  exit is handled like any other. A pod hs-prober marked Failed/NodeLost
 *  is stopped like a deleted one and then deleted; its status is never
 *  written again. Status writes go one at a time per pod, conditional on
 *  the pod's last seen revision (see s_write_status).
 */
#include "agent.h"
#include "agent_net.h"
#include "agent_sec.h"
#include "agent_rules.h"
#include "agent_state.h"
#include "agent_volumes.h"

#include "hs_ctrl.h"
#include "hs_log.h"
#include "hs_pb.h"
#include "hs_quantity.h"
#include "hs_util.h"
#include "hs_workload.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define STATUS_RETRY_NS (1000LL * 1000000LL)
#define SAVE_RETRY_NS   (1000LL * 1000000LL) /* the record could not be written */
#define CGROUP_RETRY_NS (100LL * 1000000LL)  /* a stopped pod's cgroups still busy */
/* A running container whose exit no pidfd source reports (the source could
 * not be made) is looked at this often. */
#define UNWATCHED_NS (1000LL * 1000000LL)
/* The group of the shim daemons, beside the containers' under the agent's
 * parent: out of the agent's own groups (a container runtime that kills what
 * is left in the agent's container must not reach them), and never in a
 * container's (its SIGKILL would take the shim before it writes the exit).
 * Made at a start, removed when no container runs. */
#define SHIM_CGROUP     "shims"
#define STALE_RETRY_NS  (100LL * 1000000LL) /* a status write refused as stale */
#define DELETE_RETRY_NS (2000LL * 1000000LL)
#define RUNS_KEPT       2 /* the current run and the previous one (logs --previous) */
/* A container waiting for a ConfigMap, Secret or volume looks again this
 * often (and at once when one of them changes). */
#define CONFIG_RETRY_NS (2000LL * 1000000LL)

typedef enum { C_WAITING, C_RUNNING, C_TERMINATED } cstate_t;

typedef struct {
    char *name;
    char *cgroup; /* <uid>_<name> under the agent's parent group */
    cstate_t state;
    int runs;      /* runs started, = restartCount + 1 once started */
    char *run_dir; /* the current or last run's */
    pid_t shim_pid, pid;
    int pidfd;           /* the shim's, while it runs; -1 otherwise */
    hs_loop_io_t *io;    /* pidfd's loop source (s_pidfd_watch); NULL: none */
    uint64_t shim_ticks; /* the shim's start time (s_start_ticks): adoption checks it */
    int64_t started_at_ns;
    uint64_t oom_base; /* the cgroup's oom_kill count at start */
    uint64_t cpu_base; /* the cgroup's CPU time (ns) at start: usage counts this run's */
    bool stop_sent;
    Hs__ContainerStateTerminated *term; /* while terminated */
    Hs__ContainerStateTerminated *last; /* lastState */
    char *wait_reason, *wait_msg;
    int64_t backoff_ns;      /* the next restart's delay */
    int64_t next_start_mono; /* when waiting: start at (0: now) */
    bool done;               /* never starts again */
    agent_cprobe_t pr;       /* what the probes said about this run (agent_rules.h) */
    int64_t kill_at_mono;    /* liveness restart: SIGTERM sent, SIGKILL then; 0: none */
} acont_t;

typedef struct {
    char *ns, *name, *uid;
    char *dir; /* state_dir/pods/<ns>_<name>_<uid> */
    Hs__Pod *pod;
    acont_t *c;
    size_t n_c;
    int64_t start_time;
    bool stopping;        /* SIGTERM sent; SIGKILL at kill_at */
    int64_t kill_at_mono; /* 0: not yet */
    bool gone;            /* not ours in the store any more: no writes */
    bool dirty;           /* status to write */
    bool unsaved;         /* record to write (agent_state) */
    bool unconfirmed;     /* adopted from the record; not yet seen in the store */
    bool is_static;       /* from --manifests: no store object of its own */
    char *mirror_uid;     /* static: its mirror pod's uid in the store, once seen */
    int64_t mirror_sent_mono;
    bool static_seen; /* static: in the last load of the manifests */
    int64_t status_retry_mono;
    int64_t delete_sent_mono; /* 0: not sent */
    bool cgroups_removed;
    bool node_lost;       /* hs-prober marked it Failed/NodeLost: stop, delete, never write */
    bool status_inflight; /* one status write at a time (expected revision: see s_write_status) */
    int64_t acked_rev;    /* the revision our last acked status write made */
    agent_sb_t *sb;       /* its network sandbox; NULL: the node's network (hostNetwork) */
    agent_sb_view_t sb_view;
    bool vols_ready; /* its volumes were set up (agent_volumes.h) */
    bool vols_dirty; /* a ConfigMap/Secret they project changed: sync at the next turn */
} apod_t;

/* A status write in flight: its ack finds the pod again by uid (the pod may
 * be gone by then). On a list so that the agent's exit frees them. */
typedef struct s_sack {
    struct s_sack *prev, *next;
    struct agent_pods_t *self;
    char *uid;
} s_sack_t;

struct agent_pods_t {
    agent_conf_t conf;
    hs_loop_t *loop; /* the shims' pidfds are its sources */
    hs_client_t *client;
    hs_cg_t *cg;
    agent_state_t *state;
    bool online; /* registered: writes to the store may go out */
    apod_t **pods;
    size_t n_pods;
    s_sack_t *sacks;  /* status writes in flight */
    bool shim_cg;     /* SHIM_CGROUP may exist (a predecessor's too) */
    agent_net_t *net; /* pod sandboxes; NULL with --pod-network none */
    bool adopted;     /* the record is loaded: leases of no pod are garbage */
    bool gc_done;
    bool fenced; /* cut off (agent_fence.h): at-most-one pods neither run nor start */
};

/* ------------------------------------------------------------------ small things */

static int s_pidfd_open (pid_t pid)
{
    return (int)syscall (SYS_pidfd_open, pid, 0);
}

static int s_pidfd_signal (int pidfd, int sig)
{
    return (int)syscall (SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* A shim's pidfd source only wakes the loop: agent_pods_work, which runs
 * after every wake-up, reaps the run (see agent.h). */
static void s_wake (void *arg, int fd, uint32_t revents)
{
    (void)arg, (void)fd, (void)revents;
}

/* c's run has its shim's pidfd (or -1): the loop watches it. */
static void s_pidfd_watch (agent_pods_t *self, acont_t *c, int pidfd)
{
    c->pidfd = pidfd;
    if (pidfd >= 0 && self->loop) c->io = hs_loop_io (self->loop, pidfd, EPOLLIN, s_wake, NULL);
}

static void s_pidfd_close (acont_t *c)
{
    /* The source first: the descriptor's number may be reused at once. */
    hs_loop_io_free (&c->io);
    if (c->pidfd >= 0) close (c->pidfd);
    c->pidfd = -1;
}

static void s_before (int64_t *wake, int64_t at)
{
    if (at < *wake) *wake = at;
}

static int s_rm_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove (path);
    return 0;
}

static void s_rm_rf (const char *path)
{
    nftw (path, s_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The numbers of a shim's small key=value file (state, exit), read once:
 * each of the n keys' values into vals[i], or dflts[i] when the file or the
 * key is missing or not a number. false if the file cannot be read. */
static bool s_kv_read (const char *dir, const char *file, const char *const *keys,
                       const int64_t *dflts, int64_t *vals, size_t n)
{
    memcpy (vals, dflts, n * sizeof *vals);
    _cleanup_free_ char *path = hs_sprintf ("%s/%s", dir, file);
    FILE *f = fopen (path, "re");
    if (!f) return false;
    char line[512];
    while (fgets (line, sizeof line, f)) {
        line[strcspn (line, "\n")] = '\0';
        char *eq = strchr (line, '=');
        if (!eq) continue;
        *eq = '\0';
        for (size_t i = 0; i < n; i++)
            if (strcmp (line, keys[i]) == 0 && hs_parse_i64 (eq + 1, &vals[i]) < 0)
                vals[i] = dflts[i];
    }
    fclose (f);
    return true;
}

static const char *s_policy (const apod_t *p)
{
    const char *rp = p->pod->spec ? p->pod->spec->restart_policy : NULL;
    return hs_empty (rp) ? "Always" : rp;
}

static const Hs__Container *s_spec (const apod_t *p, const char *name)
{
    const Hs__PodSpec *sp = p->pod->spec;
    for (size_t i = 0; sp && i < sp->n_containers; i++)
        if (hs_streq (sp->containers[i]->name, name)) return sp->containers[i];
    return NULL;
}

/* The container's probe state, its derived fields brought up to date. */
static agent_cprobe_t *s_pr (const apod_t *p, acont_t *c)
{
    const Hs__Container *spec = s_spec (p, c->name);
    c->pr.running = c->state == C_RUNNING;
    c->pr.restarts = c->runs > 0 ? c->runs - 1 : 0;
    c->pr.has_readiness = spec && spec->readiness_probe;
    c->pr.has_startup = spec && spec->startup_probe;
    c->pr.has_liveness = spec && spec->liveness_probe;
    return &c->pr;
}

static acont_t *s_cont (apod_t *p, const char *name)
{
    for (size_t i = 0; i < p->n_c; i++)
        if (hs_streq (p->c[i].name, name)) return &p->c[i];
    return NULL;
}

/* The pod's IP for its status: its sandbox's, the node's for a pod in the
 * node's network; NULL while its sandbox is being made. */
static const char *s_pod_ip (const agent_pods_t *self, const apod_t *p)
{
    return p->sb ? agent_sb_ip (p->sb) : self->conf.node_ip;
}

static const char *s_dns_policy (const apod_t *p)
{
    const char *d = p->pod->spec ? p->pod->spec->dns_policy : NULL;
    return hs_empty (d) ? "ClusterFirst" : d;
}

/* Writes name in the pod's directory atomically. 0 or -errno. */
static int s_write_file (const apod_t *p, const char *name, const char *text)
{
    _cleanup_free_ char *path = hs_sprintf ("%s/%s", p->dir, name);
    _cleanup_free_ char *tmp = hs_sprintf ("%s.tmp", path);
    FILE *f = fopen (tmp, "we");
    if (!f) return -errno;
    fputs (text, f);
    int r = fclose (f) == 0 ? 0 : -EIO;
    if (r == 0 && rename (tmp, path) < 0) r = -errno;
    if (r < 0) unlink (tmp);
    return r;
}

/* The pod's /etc/resolv.conf (cluster DNS: dnsPolicy ClusterFirst in its
 * own network, ClusterFirstWithHostNet in the node's) and /etc/hosts (its
 * own network), written in its directory for the shim to bind-mount; the
 * paths (malloc'd) or NULL when the node's files are the pod's. */
static void s_pod_files (const agent_pods_t *self, const apod_t *p, const char *host,
                         char **ret_resolv, char **ret_hosts)
{
    *ret_resolv = *ret_hosts = NULL;
    const char *policy = s_dns_policy (p);
    bool cluster_dns =
        p->sb ? hs_streq (policy, "ClusterFirst") || hs_streq (policy, "ClusterFirstWithHostNet")
              : hs_streq (policy, "ClusterFirstWithHostNet");
    if (cluster_dns && self->conf.dns_ip) {
        const char *d = self->conf.domain;
        _cleanup_free_ char *text =
            hs_sprintf ("nameserver %s\nsearch %s.svc.%s svc.%s %s\noptions ndots:5\n",
                        self->conf.dns_ip, p->ns, d, d, d);
        int r = s_write_file (p, "resolv.conf", text);
        if (r == 0)
            *ret_resolv = hs_sprintf ("%s/resolv.conf", p->dir);
        else
            log_warn ("pod %s/%s: cannot write its resolv.conf: %s", p->ns, p->name, strerror (-r));
    }
    const char *ip = p->sb ? agent_sb_ip (p->sb) : NULL;
    if (ip) {
        _cleanup_free_ char *text =
            hs_sprintf ("# Kubernetes-managed hosts file (hs-agent).\n127.0.0.1\tlocalhost\n"
                        "::1\tlocalhost ip6-localhost ip6-loopback\n%s\t%s\n",
                        ip, host);
        int r = s_write_file (p, "hosts", text);
        if (r == 0)
            *ret_hosts = hs_sprintf ("%s/hosts", p->dir);
        else
            log_warn ("pod %s/%s: cannot write its hosts file: %s", p->ns, p->name, strerror (-r));
    }
}

/* The uid hs-prober and the store know the pod by (a static pod's mirror's). */
static const char *s_store_uid (const apod_t *p)
{
    return p->is_static ? p->mirror_uid : p->uid;
}

static char *s_fmt_dur (int64_t ns)
{
    int64_t s = ns / 1000000000LL;
    if (s >= 60 && s % 60 == 0) return hs_sprintf ("%lldm", (long long)(s / 60));
    if (s >= 60) return hs_sprintf ("%lldm%llds", (long long)(s / 60), (long long)(s % 60));
    return hs_sprintf ("%llds", (long long)s);
}

/* ------------------------------------------------------------------ events */

/* An Event about the pod, as the kubelet would write it. Fire and forget:
 * an Event that is lost costs an explanation, not correctness. Named after
 * what it says (hs_event_send), so a repeat (BackOff of a crash-looping
 * container) is merged by the store: kubectl's "x12 over 3m". */
static void s_event (agent_pods_t *self, apod_t *p, const char *type, const char *reason,
                     const char *fmt, ...) __attribute__ ((format (printf, 5, 6)));
static void s_event (agent_pods_t *self, apod_t *p, const char *type, const char *reason,
                     const char *fmt, ...)
{
    if (p->gone || !self->online || (p->is_static && !p->mirror_uid)) return;
    va_list ap;
    va_start (ap, fmt);
    char *msg = NULL;
    if (vasprintf (&msg, fmt, ap) < 0) msg = NULL;
    va_end (ap);
    hs_event_send (self->client, "hs-agent", self->conf.node, self->conf.node, "pod", p->ns,
                   p->name, p->is_static ? p->mirror_uid : p->uid, type, reason, msg);
    free (msg);
}

/* Removes a pod from the store now (grace 0), only if it is still the one
 * with this uid: what the kubelet does once a pod's processes are gone. */
static void s_delete_now (agent_pods_t *self, const char *ns, const char *name, const char *uid)
{
    Hs__Write *w = hs_write_target (HS__OP__OP_DELETE, HS_KIND_POD, ns, name);
    w->grace_period_seconds = hs_pb_new (&hs__int64_value__descriptor);
    w->grace_period_seconds->value = 0;
    hs_pb_set_str (&w->expected_uid, uid);
    hs_client_send (self->client, &w, 1, NULL, NULL, NULL);
    hs_pb_free (w);
}

/* ------------------------------------------------------------------ pods */

/* The pod of that name we run for the store: not one that is already gone
 * from it (being stopped), which a new pod of the same name may follow. */
static apod_t *s_find (agent_pods_t *self, const char *ns, const char *name)
{
    for (size_t i = 0; i < self->n_pods; i++) {
        apod_t *p = self->pods[i];
        if (!p->gone && hs_streq (p->ns, ns) && hs_streq (p->name, name)) return p;
    }
    return NULL;
}

static void s_cont_free (acont_t *c)
{
    free (c->name);
    free (c->cgroup);
    free (c->run_dir);
    s_pidfd_close (c);
    hs_pb_free (c->term);
    hs_pb_free (c->last);
    free (c->wait_reason);
    free (c->wait_msg);
}

static void s_pod_free (apod_t *p)
{
    for (size_t i = 0; i < p->n_c; i++) s_cont_free (&p->c[i]);
    free (p->c);
    free (p->ns);
    free (p->name);
    free (p->uid);
    free (p->dir);
    free (p->mirror_uid);
    agent_sb_destroy (&p->sb);
    hs_pb_free (p->pod);
    free (p);
}

/* A plain C string field (NULL for none), not a protobuf one. */
static void s_set (char **field, const char *s)
{
    free (*field);
    *field = hs_empty (s) ? NULL : hs_strdup (s);
}

static void s_set_waiting (acont_t *c, const char *reason, char *msg)
{
    c->state = C_WAITING;
    s_set (&c->wait_reason, reason);
    free (c->wait_msg);
    c->wait_msg = msg;
}

static apod_t *s_pod_add (agent_pods_t *self, const Hs__Pod *pod)
{
    const Hs__ObjectMeta *m = pod->metadata;
    apod_t *p = hs_calloc (1, sizeof *p);
    p->ns = hs_strdup (m->namespace_);
    p->name = hs_strdup (m->name);
    p->uid = hs_strdup (m->uid);
    p->dir = hs_sprintf ("%s/pods/%s_%s_%s", self->conf.state_dir, p->ns, p->name, p->uid);
    p->pod = hs_pb_dup (pod);
    p->start_time = pod->status && pod->status->start_time ? pod->status->start_time : hs_now_ns ();
    p->n_c = pod->spec ? pod->spec->n_containers : 0;
    p->c = hs_calloc (p->n_c ? p->n_c : 1, sizeof *p->c);
    for (size_t i = 0; i < p->n_c; i++) {
        acont_t *c = &p->c[i];
        c->name = hs_strdup (pod->spec->containers[i]->name);
        c->cgroup = hs_sprintf ("%s_%s", p->uid, c->name);
        c->pidfd = -1;
        s_set_waiting (c, "ContainerCreating", NULL);
    }
    if (self->net && !(pod->spec && pod->spec->host_network))
        p->sb = agent_sb_new (self->net, p->uid);
    p->dirty = p->unsaved = true;
    self->pods = hs_realloc (self->pods, (self->n_pods + 1) * sizeof *self->pods);
    self->pods[self->n_pods++] = p;
    log_info ("pod %s/%s (%s): %zu containers, restartPolicy %s", p->ns, p->name, p->uid, p->n_c,
              s_policy (p));
    return p;
}

static void s_pod_forget (agent_pods_t *self, apod_t *p)
{
    for (size_t i = 0; i < self->n_pods; i++) {
        if (self->pods[i] != p) continue;
        memmove (&self->pods[i], &self->pods[i + 1], (self->n_pods - i - 1) * sizeof *self->pods);
        self->n_pods--;
        break;
    }
    /* Its tmpfs volumes (Secrets, Memory emptyDirs) first: nothing of it
     * may stay mounted on the node. */
    int u = agent_vols_unmount_under (p->dir);
    if (u < 0) log_warn ("pod %s/%s: cannot read the mounts: %s", p->ns, p->name, strerror (-u));
    s_rm_rf (p->dir);
    int r = agent_state_del (self->state, p->uid);
    if (r < 0) log_warn ("pod %s/%s: cannot remove its record: %s", p->ns, p->name, strerror (-r));
    log_info ("pod %s/%s (%s): stopped and forgotten", p->ns, p->name, p->uid);
    s_pod_free (p);
}

static int64_t s_grace_ns (const apod_t *p)
{
    const Hs__ObjectMeta *m = p->pod->metadata;
    if (m->deletion_grace_period_seconds)
        return m->deletion_grace_period_seconds->value * 1000000000LL;
    const Hs__Int64Value *g = p->pod->spec ? p->pod->spec->termination_grace_period_seconds : NULL;
    return (g ? g->value : 30) * 1000000000LL;
}

/* An at-most-one pod of the store's (a static pod is the node's own: it
 * is never replaced elsewhere). */
static bool s_at_most_one (const apod_t *p)
{
    return !p->is_static && hs_pod_at_most_one (p->pod);
}

/* Starts stopping every container: SIGTERM now, SIGKILL after the grace. */
static void s_pod_stop (agent_pods_t *self, apod_t *p, const char *why)
{
    if (p->stopping) return;
    p->stopping = true;
    p->unsaved = true;
    int64_t grace = s_grace_ns (p);
    p->kill_at_mono = hs_mono_ns () + grace;
    for (size_t i = 0; i < p->n_c; i++) {
        acont_t *c = &p->c[i];
        c->done = true;
        if (c->state != C_RUNNING) continue;
        s_event (self, p, "Normal", "Killing", "Stopping container %s", c->name);
        if (c->pidfd >= 0 && s_pidfd_signal (c->pidfd, SIGTERM) < 0 && errno != ESRCH)
            log_warn ("pod %s/%s: cannot signal container %s: %s", p->ns, p->name, c->name,
                      strerror (errno));
        c->stop_sent = true;
    }
    log_info ("pod %s/%s: stopping (%s), grace %llds", p->ns, p->name, why,
              (long long)(grace / 1000000000LL));
}

/* Stops the pod with no grace: SIGKILL now, and again at the next turns
 * until every container is down; then the usual clean-up. */
static void s_pod_kill_now (agent_pods_t *self, apod_t *p, const char *why)
{
    s_pod_stop (self, p, why);
    for (size_t j = 0; j < p->n_c; j++) {
        acont_t *c = &p->c[j];
        c->done = true;
        if (c->state == C_RUNNING) hs_cg_kill (self->cg, c->cgroup, SIGKILL);
    }
    p->kill_at_mono = hs_mono_ns () + 100000000LL; /* again in 100 ms if need be */
}

char *agent_pods_fence (agent_pods_t *self, bool fenced)
{
    self->fenced = fenced;
    if (!fenced) return NULL;
    hs_buf_t names = {0};
    for (size_t i = 0; i < self->n_pods; i++) {
        apod_t *p = self->pods[i];
        if (!s_at_most_one (p)) continue;
        bool running = false;
        for (size_t j = 0; j < p->n_c; j++) running = running || p->c[j].state == C_RUNNING;
        if (!running && p->stopping) continue;
        /* No grace: the fence is the deadline (hs-prober replaces the pod
         * only a margin later); then the pod's deletion from the store once
         * it answers. */
        s_pod_kill_now (self, p, "fenced: cut off from the control plane");
        log_warn ("pod %s/%s (%s): fenced: SIGKILL (at-most-one, cut off from the control plane)",
                  p->ns, p->name, p->uid);
        hs_buf_printf (&names, "%s%s/%s", names.len ? ", " : "", p->ns, p->name);
    }
    return names.len ? hs_buf_take (&names) : NULL;
}

void agent_pods_on_event (void *arg, Hs__EventType type, const Hs__Object *obj,
                          const Hs__Object *old)
{
    (void)old;
    agent_pods_t *self = arg;
    const Hs__Pod *pod = obj ? obj->pod : NULL;
    if (!pod || !pod->metadata) return;
    const Hs__ObjectMeta *m = pod->metadata;
    apod_t *p = s_find (self, m->namespace_, m->name);
    const char *mirror =
        hs_pb_map_get ((void *const *)m->annotations, m->n_annotations, HS_MIRROR_ANNOTATION);
    if (p && p->is_static) {
        /* The store's side of a static pod: its mirror. */
        const char *ours = hs_pb_map_get ((void *const *)p->pod->metadata->annotations,
                                          p->pod->metadata->n_annotations, HS_MIRROR_ANNOTATION);
        bool same = hs_streq (p->mirror_uid, m->uid);
        free (p->mirror_uid);
        p->mirror_uid = NULL;
        if (type != HS__EVENT_TYPE__DELETED && hs_streq (mirror, ours)) {
            p->mirror_uid = hs_strdup (m->uid);
            /* A new mirror gets our status; our own status writes come
             * back here too and must not start another. */
            if (!same) p->dirty = true;
        } else if (type != HS__EVENT_TYPE__DELETED) {
            hs_log_once (HS_LOG_WARN, "agent:mirror-clash",
                         "pod %s/%s in the store is not the mirror of our static pod of that "
                         "name; the static pod runs without a mirror (further clashes not logged)",
                         p->ns, p->name);
        }
        return;
    }
    if (!p && mirror && type != HS__EVENT_TYPE__DELETED) {
        /* A mirror whose static pod we no longer run (its manifest went
         * while we were away): remove it. */
        if (self->online) {
            s_delete_now (self, m->namespace_, m->name, m->uid);
        }
        return;
    }
    if (p && !hs_streq (p->uid, m->uid)) {
        /* An older pod of that name leaving: already let go of. */
        if (type == HS__EVENT_TYPE__DELETED) return;
        /* A new pod of that name: the one we run is gone. */
        p->gone = true;
        s_pod_stop (self, p, "replaced in the store");
        p = NULL;
    }
    bool ours = pod->spec && hs_streq (pod->spec->node_name, self->conf.node);
    if (type == HS__EVENT_TYPE__DELETED || !ours) {
        if (p) {
            p->gone = true;
            s_pod_stop (self, p, type == HS__EVENT_TYPE__DELETED ? "deleted" : "bound elsewhere");
        }
        return;
    }
    if (!p) {
        /* Already finished with it: a late event for a pod being deleted. */
        if (m->deletion_timestamp && m->deletion_grace_period_seconds &&
            m->deletion_grace_period_seconds->value == 0)
            return;
        p = s_pod_add (self, pod);
    } else if (!p->gone) {
        hs_pb_free (p->pod);
        p->pod = hs_pb_dup (pod);
        p->unsaved = true;
    }
    p->unconfirmed = false;
    /* hs-prober gave the pod up with its silent node; its owner replaces it.
     * What still runs here goes, and the pod with it; its Failed status is
     * the last word (s_write_status writes nothing more). */
    if (!p->gone && !p->node_lost && agent_rules_node_lost (pod)) {
        p->node_lost = true;
        p->dirty = false;
        /* An at-most-one pod's replacement is on its way: no grace (we
         * should have fenced it already; if hs-prober misjudged us, this is
         * the quickest we can be gone). */
        if (s_at_most_one (p))
            s_pod_kill_now (self, p, "at-most-one, marked Failed/NodeLost: no grace");
        else
            s_pod_stop (self, p, "marked Failed/NodeLost while the node was silent");
    }
    if (m->deletion_timestamp && !p->stopping) s_pod_stop (self, p, "deleted");
}

/* ------------------------------------------------------------------ one container's runs */

static void s_add_arg (char ***argv, size_t *n, const char *s)
{
    *argv = hs_realloc (*argv, (*n + 2) * sizeof **argv);
    (*argv)[(*n)++] = hs_strdup (s);
    (*argv)[*n] = NULL;
}

static void s_limits (const Hs__Container *spec, hs_cg_limits_t *l)
{
    memset (l, 0, sizeof *l);
    const Hs__ResourceRequirements *r = spec->resources;
    if (!r) return;
    if (r->limits && !hs_empty (r->limits->memory))
        hs_quantity_bytes (r->limits->memory, &l->memory_max);
    if (r->limits && !hs_empty (r->limits->cpu))
        hs_quantity_cpu_milli (r->limits->cpu, &l->cpu_max_milli);
    if (r->requests && !hs_empty (r->requests->cpu))
        hs_quantity_cpu_milli (r->requests->cpu, &l->cpu_request_milli);
    else if (l->cpu_max_milli)
        l->cpu_request_milli = l->cpu_max_milli; /* Kubernetes: requests default to limits */
}

/* Runs hs-shim and waits for its answer: 0 with the container running, or
 * -errno / the shim's exit code (> 0) with *ret_msg saying why. */
static int s_run_shim (agent_pods_t *self, apod_t *p, acont_t *c, const Hs__Container *spec,
                       char *const *env, char *const *mounts, char **ret_msg)
{
    *ret_msg = NULL;
    char **argv = NULL;
    size_t n = 0;
    s_add_arg (&argv, &n, self->conf.shim);
    s_add_arg (&argv, &n, "--state");
    s_add_arg (&argv, &n, c->run_dir);
    char **procs = hs_cg_procs_files (self->cg, c->cgroup);
    for (size_t i = 0; procs && procs[i]; i++) {
        s_add_arg (&argv, &n, "--cgroup-procs");
        s_add_arg (&argv, &n, procs[i]);
    }
    hs_cg_strv_free (procs);
    if (!hs_empty (spec->working_dir)) {
        s_add_arg (&argv, &n, "--workdir");
        s_add_arg (&argv, &n, spec->working_dir);
    }
    /* The variables go on the shim's stdin, never on its command line
     * (which anyone on the node may read): Secret values are among them.
     * The Service variables first: the container's own env wins. */
    hs_buf_t envb = {0};
    char **extra = self->conf.pod_env ? self->conf.pod_env (self->conf.pod_env_arg, p->pod) : NULL;
    for (size_t i = 0; extra && extra[i]; i++)
        hs_buf_append (&envb, extra[i], strlen (extra[i]) + 1);
    if (extra) self->conf.pod_env_free (extra);
    for (size_t i = 0; env && env[i]; i++) hs_buf_append (&envb, env[i], strlen (env[i]) + 1);
    s_add_arg (&argv, &n, "--env-stdin");
    for (size_t i = 0; mounts && mounts[i]; i++) {
        s_add_arg (&argv, &n, "--mount");
        s_add_arg (&argv, &n, mounts[i]);
    }
    const char *host =
        p->pod->spec && !hs_empty (p->pod->spec->hostname) ? p->pod->spec->hostname : p->name;
    s_add_arg (&argv, &n, "--hostname");
    s_add_arg (&argv, &n, host);
    if (p->sb) {
        s_add_arg (&argv, &n, "--netns");
        s_add_arg (&argv, &n, agent_sb_netns (p->sb));
    }
    _cleanup_free_ char *resolv = NULL, *hosts = NULL;
    /* Without a mount namespace of its own a container sees the node's files. */
    if (!self->conf.no_namespaces) s_pod_files (self, p, host, &resolv, &hosts);
    if (resolv) {
        s_add_arg (&argv, &n, "--resolv-conf");
        s_add_arg (&argv, &n, resolv);
    }
    if (hosts) {
        s_add_arg (&argv, &n, "--hosts");
        s_add_arg (&argv, &n, hosts);
    }
    _cleanup_free_ char *lb = hs_sprintf ("%lld", (long long)self->conf.log_max_bytes);
    _cleanup_free_ char *lf = hs_sprintf ("%d", self->conf.log_max_files);
    s_add_arg (&argv, &n, "--log-max-bytes");
    s_add_arg (&argv, &n, lb);
    s_add_arg (&argv, &n, "--log-max-files");
    s_add_arg (&argv, &n, lf);
    if (self->conf.no_namespaces) s_add_arg (&argv, &n, "--no-namespaces");
    /* an at-most-one pod dies with the lease even when we are dead */
    if (self->conf.fence_lease && s_at_most_one (p)) {
        s_add_arg (&argv, &n, "--fence-lease");
        s_add_arg (&argv, &n, self->conf.fence_lease);
    }
    char **sec = agent_sec_shim_args (p->pod, spec, false);
    for (size_t i = 0; sec && sec[i]; i++) s_add_arg (&argv, &n, sec[i]);
    hs_cg_strv_free (sec);
    s_add_arg (&argv, &n, "--");
    for (size_t i = 0; i < spec->n_command; i++) s_add_arg (&argv, &n, spec->command[i]);
    for (size_t i = 0; i < spec->n_args; i++) s_add_arg (&argv, &n, spec->args[i]);

    int err[2], in[2] = {-1, -1};
    int r = 0;
    if (pipe2 (err, O_CLOEXEC) != 0) {
        r = -errno;
        goto out;
    }
    /* A socket, not a pipe: send's MSG_NOSIGNAL, whatever SIGPIPE does here. */
    if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0) {
        r = -errno;
        close (err[0]);
        close (err[1]);
        goto out;
    }
    pid_t pid = fork ();
    if (pid < 0) {
        r = -errno;
        close (err[0]);
        close (err[1]);
        close (in[0]);
        close (in[1]);
        goto out;
    }
    if (pid == 0) {
        dup2 (err[1], 2);
        dup2 (in[1], 0);
        int nul = open ("/dev/null", O_RDWR);
        if (nul >= 0) dup2 (nul, 1);
        sigset_t none;
        sigemptyset (&none);
        sigprocmask (SIG_SETMASK, &none, NULL);
        execv (argv[0], argv);
        dprintf (2, "cannot run the shim %s: %s\n", argv[0], strerror (errno));
        _exit (1);
    }
    close (err[1]);
    close (in[1]);
    /* The shim reads all of it before anything else; a shim that failed
     * early leaves EPIPE, and its stderr says why. */
    for (size_t off = 0; off < envb.len;) {
        ssize_t w = send (in[0], envb.data + off, envb.len - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        off += (size_t)w;
    }
    close (in[0]);
    hs_buf_t msg = {0};
    char buf[512];
    ssize_t k;
    while ((k = read (err[0], buf, sizeof buf)) > 0 || (k < 0 && errno == EINTR))
        if (k > 0 && msg.len < 4096) hs_buf_append (&msg, buf, (size_t)k);
    close (err[0]);
    int st;
    while (waitpid (pid, &st, 0) < 0 && errno == EINTR) {}
    r = WIFEXITED (st) ? WEXITSTATUS (st) : 1;
    char *text = hs_buf_take (&msg);
    text[strcspn (text, "\n")] = '\0';
    if (r != 0) {
        *ret_msg = text;
        text = NULL;
    }
    free (text);
out:
    /* Secret values: wiped, not only freed. */
    if (envb.data) explicit_bzero (envb.data, envb.len);
    hs_buf_free (&envb);
    for (size_t i = 0; i < n; i++) free (argv[i]);
    free (argv);
    return r;
}

/* The terminated state of a finished run. */
static Hs__ContainerStateTerminated *s_term_new (int32_t code, int32_t sig, const char *reason,
                                                 const char *msg, int64_t started, int64_t finished)
{
    Hs__ContainerStateTerminated *t = hs_pb_new (&hs__container_state_terminated__descriptor);
    t->exit_code = code;
    t->signal = sig;
    hs_pb_set_str (&t->reason, reason);
    hs_pb_set_str (&t->message, msg);
    t->started_at = started;
    t->finished_at = finished;
    return t;
}

/* A run ended (or never started): restart per policy, with backoff, or stay
 * terminated. term is taken. */
static void s_ended (agent_pods_t *self, apod_t *p, acont_t *c, Hs__ContainerStateTerminated *term,
                     bool cannot_run)
{
    int64_t now = hs_mono_ns ();
    const char *policy = s_policy (p);
    bool failed = term->exit_code != 0 || cannot_run;
    bool restart = !c->done && !p->stopping &&
                   (hs_streq (policy, "Always") || (hs_streq (policy, "OnFailure") && failed));
    hs_pb_freep (&c->term);
    p->dirty = p->unsaved = true;
    if (!restart) {
        c->state = C_TERMINATED;
        c->term = term;
        c->done = true;
        return;
    }
    hs_pb_free (c->last);
    c->last = term;
    /* A long run forgives the earlier crashes. */
    if (!cannot_run && term->finished_at - term->started_at >= self->conf.backoff_reset_ns)
        c->backoff_ns = 0;
    int64_t delay = c->backoff_ns;
    c->backoff_ns = delay == 0 ? self->conf.backoff_initial_ns : delay * 2;
    if (c->backoff_ns > self->conf.backoff_max_ns) c->backoff_ns = self->conf.backoff_max_ns;
    c->next_start_mono = now + delay;
    _cleanup_free_ char *d = s_fmt_dur (delay);
    if (cannot_run)
        s_set_waiting (c, "ContainerCannotRun", hs_strdup (term->message));
    else
        s_set_waiting (c, delay > 0 ? "CrashLoopBackOff" : "Restarting",
                       hs_sprintf ("back-off %s restarting failed container=%s pod=%s_%s(%s)", d,
                                   c->name, p->name, p->ns, p->uid));
    if (delay > 0)
        s_event (self, p, "Warning", "BackOff",
                 "Back-off restarting failed container %s in pod %s_%s(%s)", c->name, p->name,
                 p->ns, p->uid);
}

/* ------------------------------------------------------------------ ConfigMaps, Secrets, volumes */

static const Hs__Object *s_no_lookup (void *arg, hs_kind_t kind, const char *ns, const char *name)
{
    (void)arg, (void)kind, (void)ns, (void)name;
    return NULL;
}

static agent_vol_conf_t s_vol_conf (const agent_pods_t *self)
{
    return (agent_vol_conf_t){.allow_host_path = self->conf.allow_host_path,
                              .node = self->conf.node,
                              .lookup = self->conf.lookup ? self->conf.lookup : s_no_lookup,
                              .arg = self->conf.lookup_arg};
}

/* A variable list that may hold Secret values: wiped, then freed. */
static void s_strv_wipe (char ***v)
{
    for (size_t i = 0; *v && (*v)[i]; i++) explicit_bzero ((*v)[i], strlen ((*v)[i]));
    agent_env_free (*v);
    *v = NULL;
}

/* What the container needs before it can start: the pod's volumes, its
 * variables and its mounts. 0 with *ret_env and *ret_mounts, or -1 with
 * the container waiting (CreateContainerConfigError; ContainerCreating
 * while a volume's object is missing, as the kubelet's FailedMount) and
 * trying again later, or at once when a ConfigMap or Secret changes. */
static int s_prepare (agent_pods_t *self, apod_t *p, acont_t *c, const Hs__Container *spec,
                      char ***ret_env, char ***ret_mounts)
{
    *ret_env = *ret_mounts = NULL;
    agent_vol_conf_t vc = s_vol_conf (self);
    const char *reason = NULL;
    char *err = NULL;
    if (!p->vols_ready) {
        int r = agent_mkdir_p (p->dir);
        if (r < 0) {
            reason = "CreateContainerConfigError";
            err = hs_sprintf ("cannot make the pod's directory: %s", strerror (-r));
        } else if (agent_vols_sync (&vc, p->dir, p->pod, &reason, &err) >= 0) {
            p->vols_ready = true;
            p->vols_dirty = false;
        }
    }
    char **env = NULL, **mounts = NULL;
    if (!err) {
        agent_env_in_t in = {.pod = p->pod,
                             .container = spec,
                             .pod_ip = s_pod_ip (self, p),
                             .host_ip = self->conf.node_ip,
                             .lookup = vc.lookup,
                             .arg = vc.arg};
        char *skipped = NULL;
        if (agent_env_build (&in, &env, &skipped, &err) < 0) reason = "CreateContainerConfigError";
        if (skipped) s_event (self, p, "Warning", "InvalidEnvironmentVariableNames", "%s", skipped);
        free (skipped);
    }
    if (!err && agent_vols_mounts (&vc, p->dir, p->pod, spec, &mounts, &err) < 0)
        reason = "CreateContainerConfigError";
    if (!err) {
        *ret_env = env;
        *ret_mounts = mounts;
        return 0;
    }
    s_strv_wipe (&env);
    if (!hs_streq (c->wait_reason, reason) || !hs_streq (c->wait_msg, err)) {
        log_warn ("pod %s/%s: container %s waits: %s: %s", p->ns, p->name, c->name, reason, err);
        if (hs_streq (reason, "ContainerCreating"))
            s_event (self, p, "Warning", "FailedMount", "%s", err);
        else
            s_event (self, p, "Warning", "Failed", "Error: %s", err);
        p->dirty = p->unsaved = true;
    }
    s_set_waiting (c, reason, err);
    c->next_start_mono = hs_mono_ns () + CONFIG_RETRY_NS;
    return -1;
}

/* The projected volumes again, after a ConfigMap or Secret changed (or an
 * agent restart): in place, under the running containers. */
static void s_vols_refresh (agent_pods_t *self, apod_t *p)
{
    p->vols_dirty = false;
    agent_vol_conf_t vc = s_vol_conf (self);
    const char *reason;
    char *err = NULL;
    int r = agent_vols_sync (&vc, p->dir, p->pod, &reason, &err);
    if (r > 0) log_info ("pod %s/%s: %d volumes updated", p->ns, p->name, r);
    if (r < 0) {
        /* What the containers see stays as it was, as with the kubelet. */
        log_warn ("pod %s/%s: volumes not updated: %s", p->ns, p->name, err);
        s_event (self, p, "Warning", "FailedMount", "%s", err);
    }
    free (err);
}

void agent_pods_config_changed (agent_pods_t *self, hs_kind_t kind, const char *ns,
                                const char *name)
{
    for (size_t i = 0; i < self->n_pods; i++) {
        apod_t *p = self->pods[i];
        if (!hs_streq (p->ns, hs_empty (ns) ? "default" : ns) || p->stopping) continue;
        if (p->vols_ready && agent_vols_uses (p->pod, kind, name)) p->vols_dirty = true;
        for (size_t j = 0; j < p->n_c; j++) {
            acont_t *c = &p->c[j];
            if (c->state != C_WAITING || c->done) continue;
            if (hs_streq (c->wait_reason, "CreateContainerConfigError") ||
                (!p->vols_ready && hs_streq (c->wait_reason, "ContainerCreating")))
                c->next_start_mono = 0;
        }
    }
}

/* The container cannot be created as specified (CreateContainerConfigError):
 * it waits, and is tried again with the crash-loop backoff, as the kubelet
 * does. */
static void s_config_error (agent_pods_t *self, apod_t *p, acont_t *c, const char *msg)
{
    int64_t delay = c->backoff_ns;
    c->backoff_ns = delay == 0 ? self->conf.backoff_initial_ns : delay * 2;
    if (c->backoff_ns > self->conf.backoff_max_ns) c->backoff_ns = self->conf.backoff_max_ns;
    c->next_start_mono = hs_mono_ns () + (delay > 0 ? delay : self->conf.backoff_initial_ns);
    bool again = c->state == C_WAITING && hs_streq (c->wait_reason, "CreateContainerConfigError") &&
                 hs_streq (c->wait_msg, msg);
    s_set_waiting (c, "CreateContainerConfigError", hs_strdup (msg));
    p->dirty = p->unsaved = true;
    if (!again) log_warn ("pod %s/%s: container %s: %s", p->ns, p->name, c->name, msg);
    s_event (self, p, "Warning", "Failed", "Error: %s", msg);
}

static void s_start (agent_pods_t *self, apod_t *p, acont_t *c)
{
    const Hs__Container *spec = s_spec (p, c->name);
    if (!spec) return;
    c->next_start_mono = 0;
    _cleanup_free_ char *refused =
        agent_sec_refusal (p->pod, spec, self->conf.node, self->conf.allow_privileged,
                           self->conf.no_namespaces, p->is_static);
    if (refused) {
        s_config_error (self, p, c, refused);
        return;
    }
    _cleanup_ (s_strv_wipe) char **env = NULL;
    _cleanup_ (s_strv_wipe) char **mounts = NULL;
    if (s_prepare (self, p, c, spec, &env, &mounts) < 0) return;
    /* The cgroup lives as long as the container: limits, and the OOM
     * counter whose growth during a run means OOMKilled. */
    hs_cg_limits_t lim;
    s_limits (spec, &lim);
    int r = hs_cg_create (self->cg, c->cgroup, &lim);
    if (r < 0) {
        const char *why = hs_cg_last_error (self->cg);
        _cleanup_free_ char *msg =
            hs_sprintf ("cannot create the cgroup: %s", *why ? why : strerror (-r));
        s_event (self, p, "Warning", "Failed", "Error: %s", msg);
        c->runs++;
        s_ended (self, p, c, s_term_new (128, 0, "StartError", msg, 0, hs_now_ns ()), true);
        return;
    }
    if (hs_cg_oom_kills (self->cg, c->cgroup, &c->oom_base) < 0) c->oom_base = 0;
    hs_cg_usage_t u;
    c->cpu_base =
        hs_cg_usage (self->cg, c->cgroup, &u) == 0 && (u.have & HS_CG_HAVE_CPU) ? u.cpu_ns : 0;
    if (spec->n_command == 0 && spec->n_args == 0) {
        c->runs++;
        s_event (self, p, "Warning", "Failed", "Error: no command specified");
        s_ended (self, p, c,
                 s_term_new (128, 0, "ContainerCannotRun", "no command specified", 0, hs_now_ns ()),
                 true);
        return;
    }
    /* A fresh directory per run; keep the previous one (its log). */
    if (c->runs >= RUNS_KEPT) {
        _cleanup_free_ char *old = hs_sprintf ("%s/%s/%d", p->dir, c->name, c->runs - RUNS_KEPT);
        s_rm_rf (old);
    }
    free (c->run_dir);
    c->run_dir = hs_sprintf ("%s/%s/%d", p->dir, c->name, c->runs);
    s_rm_rf (c->run_dir);
    _cleanup_free_ char *parent = hs_sprintf ("%s/%s", p->dir, c->name);
    hs_mkdir_p (parent, 0700);
    c->runs++;
    char *msg = NULL;
    r = s_run_shim (self, p, c, spec, env, mounts, &msg);
    if (r != 0) {
        if (!msg || !*msg) {
            free (msg);
            msg = hs_sprintf ("the shim failed (%d)", r);
        }
        log_warn ("pod %s/%s: container %s cannot run: %s", p->ns, p->name, c->name, msg);
        s_event (self, p, "Warning", "Failed", "Error: %s", msg);
        s_ended (self, p, c,
                 s_term_new (r > 0 ? r : 128, 0, "ContainerCannotRun", msg, 0, hs_now_ns ()), true);
        free (msg);
        return;
    }
    static const char *const keys[] = {"shim_pid", "pid", "started_at_ns", "shim_started_ticks"};
    const int64_t dflts[] = {0, 0, hs_now_ns (), 0};
    int64_t v[4];
    s_kv_read (c->run_dir, "state", keys, dflts, v, 4);
    c->shim_pid = (pid_t)v[0];
    c->pid = (pid_t)v[1];
    c->started_at_ns = v[2];
    c->shim_ticks = (uint64_t)v[3];
    s_pidfd_watch (self, c, c->shim_pid > 0 ? s_pidfd_open (c->shim_pid) : -1);
    r = c->pidfd >= 0 ? hs_cg_create (self->cg, SHIM_CGROUP, NULL) : 0;
    if (c->pidfd >= 0 && r == 0) {
        self->shim_cg = true;
        r = hs_cg_attach (self->cg, SHIM_CGROUP, c->shim_pid);
    }
    if (r < 0 && r != -ESRCH) /* -ESRCH: already done */
        hs_log_once (HS_LOG_WARN, "agent:shim-cgroup", "cannot move shims to cgroup %s: %s",
                     SHIM_CGROUP, hs_cg_last_error (self->cg));
    /* No pidfd: the shim is already gone (a very short run); its exit file
     * tells the rest at the next turn. */
    c->state = C_RUNNING;
    c->stop_sent = false;
    c->kill_at_mono = 0;
    agent_rules_new_run (&c->pr);
    hs_pb_freep (&c->term);
    free (c->wait_reason);
    free (c->wait_msg);
    c->wait_reason = c->wait_msg = NULL;
    p->dirty = p->unsaved = true;
    s_event (self, p, "Normal", "Started", "Started container %s", c->name);
    log_info ("pod %s/%s: container %s started (pid %d, run %d)", p->ns, p->name, c->name,
              (int)c->pid, c->runs);
}

/* The shim said the run is over (or is gone without saying). */
static void s_reap (agent_pods_t *self, apod_t *p, acont_t *c)
{
    s_pidfd_close (c);
    c->kill_at_mono = 0;
    agent_rules_new_run (&c->pr);
    static const char *const keys[] = {"exit_code", "signal", "finished_at_ns"};
    const int64_t dflts[] = {-1, 0, hs_now_ns ()};
    int64_t v[3];
    s_kv_read (c->run_dir, "exit", keys, dflts, v, 3);
    int64_t code = v[0], sig = v[1], fin = v[2];
    /* Whatever the container left in its cgroup goes with it. */
    hs_cg_kill (self->cg, c->cgroup, SIGKILL);
    uint64_t ooms = 0;
    bool oom = hs_cg_oom_kills (self->cg, c->cgroup, &ooms) == 0 && ooms > c->oom_base;
    const char *reason;
    _cleanup_free_ char *msg = NULL;
    if (code < 0) {
        reason = "ContainerStatusUnknown";
        code = 137;
        msg = hs_strdup ("the container's shim ended without recording an exit status");
    } else if (oom) {
        reason = "OOMKilled";
    } else {
        reason = code == 0 ? "Completed" : "Error";
    }
    log_info ("pod %s/%s: container %s exited: code %lld, signal %lld, %s", p->ns, p->name, c->name,
              (long long)code, (long long)sig, reason);
    if (oom)
        s_event (self, p, "Warning", "OOMKilled",
                 "Container %s was killed by the kernel's OOM killer (memory limit reached)",
                 c->name);
    s_ended (self, p, c,
             s_term_new ((int32_t)code, (int32_t)sig, reason, msg, c->started_at_ns, fin), false);
}

/* ------------------------------------------------------------------ status */

static Hs__ContainerState *s_state_msg (const acont_t *c, bool current)
{
    Hs__ContainerState *s = hs_pb_new (&hs__container_state__descriptor);
    if (!current) {
        s->terminated = hs_pb_dup (c->last);
        return s;
    }
    switch (c->state) {
    case C_RUNNING:
        s->running = hs_pb_new (&hs__container_state_running__descriptor);
        s->running->started_at = c->started_at_ns;
        break;
    case C_TERMINATED: s->terminated = hs_pb_dup (c->term); break;
    case C_WAITING:
        s->waiting = hs_pb_new (&hs__container_state_waiting__descriptor);
        hs_pb_set_str (&s->waiting->reason, c->wait_reason);
        hs_pb_set_str (&s->waiting->message, c->wait_msg);
        break;
    }
    return s;
}

/* Kubernetes' phase from the container states (the kubelet's getPhase). */
static const char *s_phase (const apod_t *p)
{
    size_t running = 0, waiting = 0, stopped = 0, succeeded = 0;
    for (size_t i = 0; i < p->n_c; i++) {
        const acont_t *c = &p->c[i];
        if (c->state == C_RUNNING)
            running++;
        else if (c->state == C_TERMINATED) {
            stopped++;
            if (c->term && c->term->exit_code == 0) succeeded++;
        } else if (c->last)
            stopped++;
        else
            waiting++;
    }
    if (waiting > 0) return "Pending";
    if (running > 0) return "Running";
    if (stopped == p->n_c && p->n_c > 0) {
        const char *policy = s_policy (p);
        if (hs_streq (policy, "Always")) return "Running";
        if (succeeded == p->n_c) return "Succeeded";
        return hs_streq (policy, "Never") ? "Failed" : "Running";
    }
    return "Pending";
}

static void s_condition (Hs__PodStatus *st, const Hs__PodStatus *old, const char *type, bool ok,
                         const char *reason, const char *message)
{
    Hs__PodCondition *c = hs_pb_new (&hs__pod_condition__descriptor);
    hs_pb_set_str (&c->type, type);
    hs_pb_set_str (&c->status, ok ? "True" : "False");
    if (!ok) hs_pb_set_str (&c->reason, reason);
    if (!ok) hs_pb_set_str (&c->message, message);
    c->last_transition_time = hs_now_ns ();
    for (size_t i = 0; old && i < old->n_conditions; i++)
        if (hs_streq (old->conditions[i]->type, type) &&
            hs_streq (old->conditions[i]->status, c->status))
            c->last_transition_time = old->conditions[i]->last_transition_time;
    hs_pb_push ((void ***)&st->conditions, &st->n_conditions, c);
}

static void s_sack_free (agent_pods_t *self, s_sack_t *a)
{
    if (a->prev)
        a->prev->next = a->next;
    else
        self->sacks = a->next;
    if (a->next) a->next->prev = a->prev;
    free (a->uid);
    free (a);
}

static void s_status_ack (void *arg, int err, const Hs__Ack *ack)
{
    s_sack_t *a = arg;
    agent_pods_t *self = a->self;
    apod_t *p = NULL;
    for (size_t i = 0; i < self->n_pods && !p; i++)
        if (self->pods[i]->status_inflight && hs_streq (self->pods[i]->uid, a->uid))
            p = self->pods[i];
    s_sack_free (self, a);
    Hs__Code code = err < 0 ? HS__CODE__CODE_UNAVAILABLE : ack->code;
    if (code != HS__CODE__CODE_OK && code != HS__CODE__CODE_NOT_FOUND &&
        code != HS__CODE__CODE_CONFLICT)
        hs_log_once (HS_LOG_WARN, "agent:status",
                     "a pod status write failed: %s (retried; further failures not logged)",
                     err < 0 ? strerror (-err) : hs_s (ack->message));
    if (!p) return;
    p->status_inflight = false;
    if (code == HS__CODE__CODE_OK && ack && ack->n_results > 0 &&
        ack->results[0]->resource_version > p->acked_rev)
        p->acked_rev = ack->results[0]->resource_version;
    if (code == HS__CODE__CODE_CONFLICT || code == HS__CODE__CODE_UNAVAILABLE) {
        /* Stale (someone else wrote the pod: its event is here or on its
         * way) or no answer: write again what we know now. */
        p->dirty = true;
        p->status_retry_mono =
            hs_mono_ns () + (code == HS__CODE__CODE_CONFLICT ? STALE_RETRY_NS : STATUS_RETRY_NS);
    }
}

/* Writes the pod's status. One write at a time per pod, with the pod's
 * last seen revision as a precondition: a status someone else wrote
 * meanwhile (hs-prober's Failed/NodeLost) is never overwritten by one built
 * before we saw it; a stale write is refused (Conflict) and made again from
 * what the watch brought. Static pods' mirrors are written without it (we
 * do not keep their revision). */
static void s_write_status (agent_pods_t *self, apod_t *p)
{
    if (p->node_lost) {
        p->dirty = false;
        return;
    }
    /* Offline, a static pod without its mirror yet, or a write in flight
     * (its ack comes back here): the status waits. */
    if (!self->online || (p->is_static && !p->mirror_uid) || p->status_inflight) return;
    const Hs__PodStatus *old = p->pod->status;
    Hs__Object *o = hs_obj_new (HS_KIND_POD, p->ns, p->name);
    hs_pb_set_str (&o->pod->metadata->uid, p->is_static ? p->mirror_uid : p->uid);
    Hs__PodStatus *st = hs_pb_new (&hs__pod_status__descriptor);
    o->pod->status = st;
    hs_pb_set_str (&st->phase, s_phase (p));
    st->start_time = p->start_time;
    const char *ip = s_pod_ip (self, p);
    hs_pb_set_str (&st->host_ip, self->conf.node_ip);
    hs_pb_set_str (&st->pod_ip, ip);
    if (ip) {
        Hs__PodIP *pip = hs_pb_new (&hs__pod_ip__descriptor);
        hs_pb_set_str (&pip->ip, ip);
        hs_pb_push ((void ***)&st->pod_ips, &st->n_pod_ips, pip);
    }
    /* Others' conditions (PodScheduled) stay; ours are rewritten. */
    for (size_t i = 0; old && i < old->n_conditions; i++) {
        const char *t = old->conditions[i]->type;
        if (hs_streq (t, "Initialized") || hs_streq (t, "ContainersReady") || hs_streq (t, "Ready"))
            continue;
        hs_pb_push ((void ***)&st->conditions, &st->n_conditions, hs_pb_dup (old->conditions[i]));
    }
    bool all_ready = p->n_c > 0;
    hs_buf_t unready = {0};
    for (size_t i = 0; i < p->n_c; i++) {
        acont_t *c = &p->c[i];
        const agent_cprobe_t *pr = s_pr (p, c);
        bool ready = agent_rules_ready (pr);
        all_ready = all_ready && ready;
        if (!ready) hs_buf_printf (&unready, "%s%s", unready.len ? " " : "", c->name);
        Hs__ContainerStatus *cs = hs_pb_new (&hs__container_status__descriptor);
        hs_pb_set_str (&cs->name, c->name);
        cs->state = s_state_msg (c, true);
        if (c->last) cs->last_state = s_state_msg (c, false);
        cs->restart_count = c->runs > 1 ? c->runs - 1 : 0;
        cs->ready = ready;
        cs->started = agent_rules_started (pr);
        const Hs__Container *spec = s_spec (p, c->name);
        hs_pb_set_str (&cs->image, spec ? spec->image : NULL);
        if (c->pid > 0) cs->container_id = hs_sprintf ("hs://%s/%d", self->conf.node, (int)c->pid);
        hs_pb_push ((void ***)&st->container_statuses, &st->n_container_statuses, cs);
    }
    bool finished = hs_pod_phase_terminal (st->phase);
    _cleanup_free_ char *names = hs_buf_take (&unready);
    _cleanup_free_ char *msg =
        finished ? NULL : hs_sprintf ("containers with unready status: [%s]", names);
    s_condition (st, old, "Initialized", true, NULL, NULL);
    s_condition (st, old, "ContainersReady", all_ready,
                 finished ? "PodCompleted" : "ContainersNotReady", msg);
    s_condition (st, old, "Ready", all_ready, finished ? "PodCompleted" : "ContainersNotReady",
                 msg);
    Hs__Write *w = hs_write_new (HS__OP__OP_UPDATE_STATUS, o);
    if (!p->is_static) {
        /* Our own last write may be acked before its event arrives:
         * revisions only grow, so the later of the two is the pod's. */
        w->expected_revision = p->pod->metadata->resource_version > p->acked_rev
                                   ? p->pod->metadata->resource_version
                                   : p->acked_rev;
        hs_pb_set_str (&w->expected_uid, p->uid);
    }
    s_sack_t *a = hs_calloc (1, sizeof *a);
    a->self = self;
    a->uid = hs_strdup (p->uid);
    int r = hs_client_send (self->client, &w, 1, NULL, s_status_ack, a);
    hs_pb_free (w);
    if (r < 0) {
        free (a->uid);
        free (a);
        p->status_retry_mono = hs_mono_ns () + STATUS_RETRY_NS;
        return;
    }
    a->next = self->sacks;
    if (self->sacks) self->sacks->prev = a;
    self->sacks = a;
    p->status_inflight = true;
    p->dirty = false;
}

/* ------------------------------------------------------------------ the record */

static int64_t s_mono_to_real (int64_t mono)
{
    return mono ? mono - hs_mono_ns () + hs_now_ns () : 0;
}

static int64_t s_real_to_mono (int64_t real)
{
    return real ? real - hs_now_ns () + hs_mono_ns () : 0;
}

/* Field 22 of /proc/<pid>/stat: when the process started, in clock ticks
 * since boot. With the pid it names one process for the life of the boot. */
static uint64_t s_start_ticks (pid_t pid)
{
    char buf[1024];
    const char *s = hs_proc_stat ((int)pid, buf, sizeof buf);
    unsigned long long ticks = 0;
    /* from state (field 3) on: starttime is field 22 */
    if (s && sscanf (s,
                     " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
                     "%*d %llu",
                     &ticks) == 1)
        return ticks;
    return 0;
}

static int s_save (agent_pods_t *self, apod_t *p)
{
    Hs__AgentPod rec = HS__AGENT_POD__INIT;
    rec.pod = p->pod;
    rec.start_time = p->start_time;
    rec.stopping = p->stopping;
    rec.kill_at = s_mono_to_real (p->kill_at_mono);
    rec.is_static = p->is_static;
    Hs__AgentContainer *cs = hs_calloc (p->n_c ? p->n_c : 1, sizeof *cs);
    Hs__AgentRun *runs = hs_calloc (p->n_c ? p->n_c : 1, sizeof *runs);
    Hs__AgentContainer **ptrs = hs_calloc (p->n_c ? p->n_c : 1, sizeof *ptrs);
    for (size_t i = 0; i < p->n_c; i++) {
        const acont_t *c = &p->c[i];
        Hs__AgentContainer *ac = &cs[i];
        hs__agent_container__init (ac);
        hs__agent_run__init (&runs[i]);
        ac->name = c->name;
        ac->state = (int32_t)c->state;
        ac->runs = c->runs;
        ac->run = &runs[i];
        runs[i].dir = c->run_dir ? c->run_dir : (char *)"";
        runs[i].shim_pid = c->shim_pid;
        runs[i].shim_start_ticks = c->shim_ticks;
        runs[i].pid = c->pid;
        runs[i].started_at = c->started_at_ns;
        runs[i].oom_base = c->oom_base;
        runs[i].cpu_base = c->cpu_base;
        ac->term = c->term;
        ac->last = c->last;
        ac->wait_reason = c->wait_reason ? c->wait_reason : (char *)"";
        ac->wait_message = c->wait_msg ? c->wait_msg : (char *)"";
        ac->backoff_ns = c->backoff_ns;
        ac->next_start_at = s_mono_to_real (c->next_start_mono);
        ac->done = c->done;
        ptrs[i] = ac;
    }
    rec.containers = ptrs;
    rec.n_containers = p->n_c;
    Hs__AgentNet net;
    if (p->sb && agent_sb_record (p->sb, &net)) rec.net = &net;
    int r = agent_state_put (self->state, p->uid, &rec);
    if (r < 0) p->unsaved = true; /* and logged below */
    if (r < 0)
        hs_log_once (HS_LOG_ERROR, "agent:record",
                     "cannot write the agent's record: %s (an agent restart may not adopt "
                     "its pods; further failures not logged)",
                     strerror (-r));
    else
        p->unsaved = false;
    free (ptrs);
    free (runs);
    free (cs);
    return r;
}

/* Rebuilds a pod from its record: running containers whose shim is still
 * the same process are adopted as they are; the others are reaped from
 * their exit files (and restarted per policy at the next turn). */
static void s_adopt (agent_pods_t *self, const Hs__AgentPod *rec)
{
    apod_t *p = s_pod_add (self, rec->pod);
    p->start_time = rec->start_time;
    p->is_static = rec->is_static;
    p->unconfirmed = !rec->is_static;
    p->stopping = rec->stopping;
    p->kill_at_mono = s_real_to_mono (rec->kill_at);
    if (p->sb)
        agent_sb_restore (p->sb, rec->net);
    else if (rec->net && rec->net->state != 0)
        log_warn ("pod %s/%s: its record names network namespace %s, but pods run without "
                  "one now (--pod-network none or hostNetwork): left as it is",
                  p->ns, p->name, rec->net->netns);
    size_t adopted = 0, ended = 0;
    for (size_t i = 0; i < rec->n_containers; i++) {
        const Hs__AgentContainer *ac = rec->containers[i];
        acont_t *c = NULL;
        for (size_t j = 0; j < p->n_c; j++)
            if (hs_streq (p->c[j].name, ac->name)) c = &p->c[j];
        if (!c) continue;
        c->state = (cstate_t)ac->state;
        c->runs = ac->runs;
        const Hs__AgentRun *run = ac->run;
        if (run) s_set (&c->run_dir, run->dir);
        c->shim_pid = run ? run->shim_pid : 0;
        c->shim_ticks = run ? run->shim_start_ticks : 0;
        c->pid = run ? run->pid : 0;
        c->started_at_ns = run ? run->started_at : 0;
        c->oom_base = run ? run->oom_base : 0;
        c->cpu_base = run ? run->cpu_base : 0;
        hs_pb_freep (&c->term);
        c->term = ac->term ? hs_pb_dup (ac->term) : NULL;
        c->last = ac->last ? hs_pb_dup (ac->last) : NULL;
        s_set_waiting (c, NULL, NULL);
        c->state = (cstate_t)ac->state;
        s_set (&c->wait_reason, ac->wait_reason);
        s_set (&c->wait_msg, ac->wait_message);
        c->backoff_ns = ac->backoff_ns;
        c->next_start_mono = s_real_to_mono (ac->next_start_at);
        c->done = ac->done;
        c->stop_sent = p->stopping;
        if (c->state != C_RUNNING) continue;
        /* What the probes had said about this run, as our last status
         * showed it: the prober repeats it anyway, but Ready need not
         * flicker across an agent restart. */
        const Hs__PodStatus *ps = rec->pod->status;
        for (size_t k = 0; ps && k < ps->n_container_statuses; k++) {
            const Hs__ContainerStatus *cs = ps->container_statuses[k];
            if (!hs_streq (cs->name, c->name) || cs->restart_count != c->runs - 1) continue;
            c->pr.probe_ready = cs->ready;
            c->pr.probe_started = cs->started;
        }
        if (c->shim_pid > 0 && c->shim_ticks && s_start_ticks (c->shim_pid) == c->shim_ticks)
            s_pidfd_watch (self, c, s_pidfd_open (c->shim_pid));
        if (c->pidfd >= 0) {
            adopted++;
        } else {
            /* Ended while we were away: its exit file says how. */
            ended++;
            s_reap (self, p, c);
        }
    }
    log_info ("pod %s/%s (%s): adopted %zu running containers, %zu ended meanwhile", p->ns, p->name,
              p->uid, adopted, ended);
    /* Its volumes are there (its containers use them): brought up to date
     * with what changed while we were away, at the first turn. */
    if (adopted > 0) p->vols_ready = p->vols_dirty = true;
    /* Its record has no sandbox (an agent with --pod-network none ran it)
     * but a container runs: in the node's network namespace. A sandbox now
     * would give the pod a new podIP its processes do not have; it stays in
     * the node's network until it is replaced (a new pod, a new uid). */
    if (p->sb && (!rec->net || rec->net->state == 0) && adopted > 0) {
        agent_sb_destroy (&p->sb);
        log_warn ("pod %s/%s (%s): its containers run in the node's network (it started "
                  "without a pod network): it keeps the node's network and IP until it is "
                  "replaced",
                  p->ns, p->name, p->uid);
    }
}

int agent_pods_adopt (agent_pods_t *self)
{
    Hs__AgentPod **recs;
    int n = agent_state_load (self->state, &recs);
    if (n < 0) return n;
    for (int i = 0; i < n; i++) {
        s_adopt (self, recs[i]);
        hs_pb_free (recs[i]);
    }
    free (recs);
    self->adopted = true;
    /* What a pod the record no longer has left on the node (its volumes'
     * mounts above all): an agent that died between a pod's end and its
     * forgetting. */
    const char **keep = hs_calloc (self->n_pods + 1, sizeof *keep);
    for (size_t i = 0; i < self->n_pods; i++) keep[i] = strrchr (self->pods[i]->dir, '/') + 1;
    _cleanup_free_ char *pods_dir = hs_sprintf ("%s/pods", self->conf.state_dir);
    int gone = agent_vols_gc (pods_dir, keep, self->n_pods);
    free (keep);
    if (gone > 0) log_info ("removed what %d pods no longer here left in %s", gone, pods_dir);
    return n;
}

void agent_pods_confirm (agent_pods_t *self)
{
    for (size_t i = 0; i < self->n_pods; i++) {
        apod_t *p = self->pods[i];
        if (!p->unconfirmed || p->is_static) continue;
        p->unconfirmed = false;
        p->gone = true;
        s_pod_stop (self, p, "deleted or bound elsewhere while the agent was down");
    }
}

/* ------------------------------------------------------------------ the loop's work */

typedef struct {
    agent_pods_t *self;
    apod_t *p;
} s_pod_cb_t;

/* A stopping pod: once every container is down, clean up, then let the
 * store forget the pod (or forget it ourselves when the store already
 * has). True once forgotten; otherwise *wake gets when to look again
 * (nothing for what an event brings: an exit, going online, the store's
 * delete). */
static bool s_pod_finish (agent_pods_t *self, apod_t *p, int64_t now, int64_t *wake)
{
    for (size_t i = 0; i < p->n_c; i++)
        if (p->c[i].state == C_RUNNING) {
            s_before (wake, p->kill_at_mono); /* SIGKILL at the end of the grace */
            return false;
        }
    if (!p->cgroups_removed) {
        bool all = true;
        for (size_t i = 0; i < p->n_c; i++) {
            int r = hs_cg_remove (self->cg, p->c[i].cgroup);
            if (r == -EBUSY) {
                hs_cg_kill (self->cg, p->c[i].cgroup, SIGKILL);
                all = false;
            }
        }
        if (!all) {
            s_before (wake, now + CGROUP_RETRY_NS);
            return false;
        }
        p->cgroups_removed = true;
    }
    /* Its network goes once nothing of it runs (agent_sb_step, earlier in
     * this turn, tears it down): the IP and the veth are free. */
    if (p->sb && p->sb_view != AGENT_SB_DOWN) return false;
    if (p->is_static && p->mirror_uid && self->online) {
        /* Its manifest is gone (or changed): so is its mirror. */
        s_delete_now (self, p->ns, p->name, p->mirror_uid);
    }
    if (p->gone || p->is_static) {
        s_pod_forget (self, p);
        return true;
    }
    if (!self->online) return false;
    if (p->dirty) s_write_status (self, p);
    if (p->delete_sent_mono == 0 || now - p->delete_sent_mono > DELETE_RETRY_NS) {
        s_delete_now (self, p->ns, p->name, p->uid);
        p->delete_sent_mono = now;
    }
    s_before (wake, p->delete_sent_mono + DELETE_RETRY_NS + 1);
    return false;
}

/* A status write could go out now if one were due: its retry time is a
 * deadline. Otherwise the event that makes it possible (going online, the
 * mirror seen, the ack of the write in flight) wakes the loop. */
static bool s_status_writable (const agent_pods_t *self, const apod_t *p)
{
    return self->online && !p->gone && !p->node_lost && !(p->is_static && !p->mirror_uid) &&
           !p->status_inflight;
}

/* ------------------------------------------------------------------ the pod's network */

static int s_sb_save (void *arg)
{
    s_pod_cb_t *pc = arg;
    return s_save (pc->self, pc->p);
}

static void s_sb_event (void *arg, const char *type, const char *reason, const char *msg)
{
    s_pod_cb_t *pc = arg;
    s_event (pc->self, pc->p, type, reason, "%s", msg);
}

/* The sandbox must be made again: its containers go first (SIGKILL), and
 * start again per their restartPolicy once it is back. */
static void s_sb_kill (void *arg)
{
    s_pod_cb_t *pc = arg;
    apod_t *p = pc->p;
    for (size_t i = 0; i < p->n_c; i++) {
        acont_t *c = &p->c[i];
        if (c->state != C_RUNNING || c->kill_at_mono) continue;
        log_info ("pod %s/%s: killing container %s: its network sandbox is re-created", p->ns,
                  p->name, c->name);
        hs_cg_kill (pc->self->cg, c->cgroup, SIGKILL);
        c->kill_at_mono = hs_mono_ns () + 1000000000LL;
    }
}

/* One turn of the pod's sandbox (p->sb_view: whether its containers may
 * start); waiting containers that never ran show why they wait. */
static void s_net_turn (agent_pods_t *self, apod_t *p, int64_t now, int64_t *wake)
{
    bool idle = true;
    for (size_t j = 0; j < p->n_c; j++) idle = idle && p->c[j].state != C_RUNNING;
    s_pod_cb_t pc = {self, p};
    agent_sb_cb_t cb = {.arg = &pc, .save = s_sb_save, .event = s_sb_event, .kill = s_sb_kill};
    agent_sb_view_t v = agent_sb_step (p->sb, !p->stopping, idle, &cb, now, wake);
    if (v != p->sb_view) p->dirty = p->unsaved = true; /* its IP comes or goes */
    p->sb_view = v;
    if (v != AGENT_SB_PENDING || p->stopping) return;
    const char *why = agent_sb_why (p->sb);
    for (size_t j = 0; j < p->n_c; j++) {
        acont_t *c = &p->c[j];
        if (c->state != C_WAITING || c->runs > 0 || c->done) continue;
        if (hs_streq (c->wait_reason, "ContainerCreating") && hs_streq (c->wait_msg, why)) continue;
        s_set_waiting (c, "ContainerCreating", hs_strdup (why));
        p->dirty = true;
    }
}

int64_t agent_pods_work (agent_pods_t *self)
{
    /* Shims that ended (we are their subreaper; their status is in their
     * exit files, not here), exec probe helpers, and CNI plugin calls
     * (whose exit status their sandbox takes). */
    int wst;
    pid_t dead;
    while ((dead = waitpid (-1, &wst, WNOHANG)) > 0)
        if (self->net) agent_net_reaped (self->net, dead, wst);
    int64_t now = hs_mono_ns ();
    int64_t wake = HS_NEVER;
    if (self->net) {
        if (!self->gc_done && self->adopted && agent_net_cidr (self->net)) {
            const char **known = hs_calloc (self->n_pods + 1, sizeof *known);
            for (size_t i = 0; i < self->n_pods; i++) known[i] = self->pods[i]->uid;
            int r = agent_net_gc (self->net, known, self->n_pods);
            free (known);
            if (r < 0 && r != -EAGAIN)
                log_warn ("network GC: cannot read the leases: %s", strerror (-r));
            self->gc_done = r != -EAGAIN;
        }
        /* After the GC started its calls: their deadlines are in the wake-up. */
        wake = agent_net_work (self->net);
    }
    for (size_t i = 0; i < self->n_pods; i++) {
        apod_t *p = self->pods[i];
        for (size_t j = 0; j < p->n_c; j++) {
            acont_t *c = &p->c[j];
            if (c->state == C_RUNNING) {
                struct pollfd pf = {.fd = c->pidfd, .events = POLLIN};
                if (c->pidfd < 0 || poll (&pf, 1, 0) > 0) s_reap (self, p, c);
            }
        }
        if (p->sb) s_net_turn (self, p, now, &wake);
        if (p->vols_dirty && p->vols_ready && !p->stopping) s_vols_refresh (self, p);
        bool net_ok = !p->sb || p->sb_view == AGENT_SB_READY;
        for (size_t j = 0; j < p->n_c; j++) {
            acont_t *c = &p->c[j];
            if (c->state == C_RUNNING && p->stopping && p->kill_at_mono <= now) {
                hs_cg_kill (self->cg, c->cgroup, SIGKILL);
                p->kill_at_mono = now + 1000000000LL; /* again in a second if need be */
            }
            /* A liveness restart whose grace is over. */
            if (c->state == C_RUNNING && c->kill_at_mono && c->kill_at_mono <= now) {
                hs_cg_kill (self->cg, c->cgroup, SIGKILL);
                c->kill_at_mono = now + 1000000000LL;
            }
            if (c->state == C_RUNNING && c->kill_at_mono) s_before (&wake, c->kill_at_mono);
            if (c->state == C_WAITING && !c->done && !p->stopping && net_ok &&
                !(self->fenced && s_at_most_one (p))) {
                if (c->next_start_mono <= now) s_start (self, p, c);
                if (c->state == C_WAITING && !c->done) s_before (&wake, c->next_start_mono);
            }
            /* Started just now: no pidfd (a very short run) means its exit
             * file is there; no source means nothing tells us. */
            if (c->state == C_RUNNING && !c->io)
                s_before (&wake, c->pidfd < 0 ? now : now + UNWATCHED_NS);
        }
        if (p->stopping) {
            if (s_pod_finish (self, p, now, &wake)) {
                i--; /* forgotten: the array moved */
                continue;
            }
        }
        if (p->is_static && !p->mirror_uid && !p->stopping && self->online) {
            if (now - p->mirror_sent_mono > DELETE_RETRY_NS) {
                /* Its mirror: the pod as loaded, so `hsctl get pods` shows it. */
                Hs__Object *o = hs_pb_new (&hs__object__descriptor);
                o->kind_case = HS__OBJECT__KIND_POD;
                o->pod = hs_pb_dup (p->pod);
                hs_pb_freep (&o->pod->status);
                hs_pb_set_str (&o->pod->metadata->uid, NULL);
                Hs__Write *w = hs_write_new (HS__OP__OP_CREATE, o);
                hs_client_send (self->client, &w, 1, NULL, NULL, NULL);
                hs_pb_free (w);
                p->mirror_sent_mono = now;
            }
            /* Its event brings the mirror's uid; without it, again. */
            s_before (&wake, p->mirror_sent_mono + DELETE_RETRY_NS + 1);
        }
        if (p->unsaved) s_save (self, p);
        if (p->unsaved) s_before (&wake, now + SAVE_RETRY_NS);
        if (p->dirty && !p->gone && p->status_retry_mono <= now) s_write_status (self, p);
        if (p->dirty && s_status_writable (self, p)) s_before (&wake, p->status_retry_mono);
    }
    if (self->shim_cg && agent_pods_running (self) == 0) {
        (void)hs_cg_remove (self->cg, SHIM_CGROUP); /* busy: a stray shim; made again later */
        self->shim_cg = false;
    }
    return wake;
}

char *agent_pods_log_dir (agent_pods_t *self, const char *ns, const char *pod,
                          const char *container, bool previous, char **ret_err)
{
    *ret_err = NULL;
    apod_t *p = s_find (self, hs_empty (ns) ? "default" : ns, pod);
    if (!p || p->gone) {
        *ret_err = hs_sprintf ("pods \"%s\" not found", hs_s (pod));
        return NULL;
    }
    const acont_t *c = NULL;
    if (hs_empty (container) && p->n_c == 1) c = &p->c[0];
    for (size_t i = 0; !c && i < p->n_c; i++)
        if (hs_streq (p->c[i].name, container)) c = &p->c[i];
    if (!c) {
        hs_buf_t names = {0};
        for (size_t i = 0; i < p->n_c; i++)
            hs_buf_printf (&names, "%s%s", i ? " " : "", p->c[i].name);
        _cleanup_free_ char *list = hs_buf_take (&names);
        *ret_err =
            hs_empty (container)
                ? hs_sprintf ("a container name must be specified for pod %s, choose one of: [%s]",
                              p->name, list)
                : hs_sprintf ("container %s is not valid for pod %s", container, p->name);
        return NULL;
    }
    /* Runs are numbered from 0; c->runs were started. */
    int run = c->runs - (previous ? 2 : 1);
    if (run < 0) {
        *ret_err = previous
                       ? hs_sprintf ("previous terminated container \"%s\" in pod \"%s\" not found",
                                     c->name, p->name)
                       : hs_sprintf ("container \"%s\" in pod \"%s\" is waiting to start: %s",
                                     c->name, p->name, hs_s (c->wait_reason));
        return NULL;
    }
    return hs_sprintf ("%s/%s/%d", p->dir, c->name, run);
}

void agent_pods_set_online (agent_pods_t *self, hs_client_t *client)
{
    self->client = client;
    self->online = client != NULL;
    for (size_t i = 0; client && i < self->n_pods; i++) self->pods[i]->dirty = true;
}

void agent_pods_set_static (agent_pods_t *self, Hs__Pod *const *pods, size_t n)
{
    for (size_t i = 0; i < self->n_pods; i++) self->pods[i]->static_seen = false;
    for (size_t i = 0; i < n; i++) {
        const Hs__ObjectMeta *m = pods[i]->metadata;
        apod_t *p = s_find (self, m->namespace_, m->name);
        if (p && p->is_static && hs_streq (p->uid, m->uid)) {
            p->static_seen = true;
            continue;
        }
        if (p && !p->is_static) {
            log_warn ("static pod %s/%s: a pod of that name from the store runs here; skipped",
                      m->namespace_, m->name);
            continue;
        }
        if (p) {
            /* The manifest changed: the old pod goes, the new one comes
             * once it is gone (s_find finds the old one until then). */
            s_pod_stop (self, p, "its manifest changed");
            continue;
        }
        p = s_pod_add (self, pods[i]);
        p->is_static = p->static_seen = true;
    }
    for (size_t i = 0; i < self->n_pods; i++) {
        apod_t *p = self->pods[i];
        if (p->is_static && !p->static_seen) s_pod_stop (self, p, "its manifest was removed");
    }
}

/* ------------------------------------------------------------------ probes */

/* Liveness failed: SIGTERM now, SIGKILL after grace_ns; the exit is then a
 * run's end like any other (restart per policy, restartCount, lastState). */
static void s_cont_restart (agent_pods_t *self, apod_t *p, acont_t *c, int64_t grace_ns,
                            const char *why)
{
    (void)self;
    if (c->pidfd >= 0 && s_pidfd_signal (c->pidfd, SIGTERM) < 0 && errno != ESRCH)
        log_warn ("pod %s/%s: cannot signal container %s: %s", p->ns, p->name, c->name,
                  strerror (errno));
    c->kill_at_mono = hs_mono_ns () + grace_ns;
    log_info ("pod %s/%s: container %s failed liveness probe (%s), will be restarted "
              "(grace %llds)",
              p->ns, p->name, c->name, why, (long long)(grace_ns / 1000000000LL));
}

void agent_pods_probe_result (agent_pods_t *self, const Hs__ProbeResult *r)
{
    apod_t *p = s_find (self, hs_empty (r->namespace_) ? "default" : r->namespace_, r->pod);
    if (!p || p->gone || p->node_lost || !hs_streq (s_store_uid (p), r->uid)) return;
    acont_t *c = s_cont (p, r->container);
    if (!c) return;
    agent_cprobe_t *pr = s_pr (p, c);
    switch (agent_rules_probe (pr, r)) {
    case AGENT_PROBE_IGNORED:
        log_debug ("pod %s/%s: %s result for container %s (run %d) ignored", p->ns, p->name,
                   hs_s (r->probe), c->name, (int)r->restart_count);
        return;
    case AGENT_PROBE_UNCHANGED: return;
    case AGENT_PROBE_CHANGED:
        log_info ("pod %s/%s: container %s %s (%s probe: %s)", p->ns, p->name, c->name,
                  agent_rules_ready (pr) ? "ready" : "not ready", r->probe,
                  r->success ? "success" : "failure");
        p->dirty = true;
        return;
    case AGENT_PROBE_RESTART: {
        p->dirty = true; /* not ready while it goes down */
        if (p->stopping) return;
        const Hs__Container *spec = s_spec (p, c->name);
        const Hs__Probe *probe = !spec                  ? NULL
                                 : spec->liveness_probe ? spec->liveness_probe
                                                        : spec->startup_probe;
        int64_t grace = agent_rules_liveness_grace_ns (r, probe, p->pod);
        s_cont_restart (self, p, c, grace, hs_empty (r->message) ? "no message" : r->message);
        return;
    }
    }
}

/* The parent of pid (field 4 of /proc/<pid>/stat), or -1. */
static pid_t s_parent_of (pid_t pid)
{
    char buf[1024];
    const char *s = hs_proc_stat ((int)pid, buf, sizeof buf);
    int ppid = -1;
    char state = 0;
    if (!s || sscanf (s, " %c %d", &state, &ppid) != 2 || state == 'Z') return -1;
    return (pid_t)ppid;
}

int agent_pods_exec_target (agent_pods_t *self, const char *ns, const char *pod, const char *uid,
                            const char *container, agent_exec_target_t *ret)
{
    memset (ret, 0, sizeof *ret);
    apod_t *p = s_find (self, hs_empty (ns) ? "default" : ns, pod);
    if (!p || p->gone || p->node_lost) return -ENOENT;
    if (!hs_empty (uid) && !hs_streq (uid, s_store_uid (p))) return -ENOENT;
    acont_t *c = hs_empty (container) && p->n_c == 1 ? &p->c[0] : s_cont (p, container);
    if (!c) return -ENOENT;
    /* Running, and the pid still the container's init: its parent is the
     * run's shim, which has not reaped it (a pid is reused only once reaped). */
    if (c->state != C_RUNNING || c->pidfd < 0 || c->pid <= 0 || c->shim_pid <= 0 ||
        s_parent_of (c->pid) != c->shim_pid)
        return -ESRCH;
    const Hs__Container *spec = s_spec (p, c->name);
    if (!spec) return -ESRCH;
    ret->pid = c->pid;
    ret->cgroup_procs = hs_cg_procs_files (self->cg, c->cgroup);
    /* The container's variables as they are now, Secret ones included
     * (kube runs exec probes with them): they go on the exec shim's stdin. */
    agent_vol_conf_t vc = s_vol_conf (self);
    agent_env_in_t in = {.pod = p->pod,
                         .container = spec,
                         .pod_ip = s_pod_ip (self, p),
                         .host_ip = self->conf.node_ip,
                         .lookup = vc.lookup,
                         .arg = vc.arg};
    char *skipped = NULL, *err = NULL;
    if (agent_env_build (&in, &ret->env, &skipped, &err) < 0) {
        ret->env = hs_calloc (spec->n_env + 1, sizeof *ret->env);
        size_t k = 0;
        for (size_t i = 0; i < spec->n_env; i++)
            if (!spec->env[i]->value_from)
                ret->env[k++] =
                    hs_sprintf ("%s=%s", spec->env[i]->name, hs_s (spec->env[i]->value));
    }
    free (skipped);
    free (err);
    ret->workdir = hs_empty (spec->working_dir) ? NULL : hs_strdup (spec->working_dir);
    ret->sec_args = agent_sec_shim_args (p->pod, spec, true);
    return 0;
}

void agent_exec_target_free (agent_exec_target_t *t)
{
    hs_cg_strv_free (t->cgroup_procs);
    /* Secret values among them: wiped, not only freed. */
    for (size_t i = 0; t->env && t->env[i]; i++) explicit_bzero (t->env[i], strlen (t->env[i]));
    hs_cg_strv_free (t->env);
    free (t->workdir);
    hs_cg_strv_free (t->sec_args);
    memset (t, 0, sizeof *t);
}

uint64_t agent_pods_count (agent_pods_t *self)
{
    return self->n_pods;
}

uint64_t agent_pods_running (agent_pods_t *self)
{
    uint64_t n = 0;
    for (size_t i = 0; i < self->n_pods; i++)
        for (size_t j = 0; j < self->pods[i]->n_c; j++) n += self->pods[i]->c[j].state == C_RUNNING;
    return n;
}

agent_pods_t *agent_pods_new (const agent_conf_t *conf, hs_cg_t *cg, agent_state_t *state,
                              hs_loop_t *loop)
{
    agent_pods_t *self = hs_calloc (1, sizeof *self);
    self->conf = *conf;
    self->loop = loop;
    self->cg = cg;
    self->state = state;
    self->shim_cg = true;
    if (conf->pod_network && !hs_streq (conf->pod_network, "none")) {
        agent_net_conf_t nc = {.mode = conf->pod_network,
                               .bin_dir = conf->cni_bin_dir,
                               .data_dir = conf->cni_data_dir,
                               .netns_dir = conf->netns_dir,
                               .mtu = conf->mtu,
                               .pool = conf->netns_pool,
                               .cni_timeout_ns = (int64_t)conf->cni_timeout_s * 1000000000LL};
        self->net = agent_net_new (&nc, loop);
    }
    return self;
}

void agent_pods_set_pod_cidr (agent_pods_t *self, const char *cidr)
{
    if (!self->net || hs_streq (agent_net_cidr (self->net), cidr)) return;
    log_info ("node %s: podCIDR %s", self->conf.node, hs_empty (cidr) ? "(none)" : cidr);
    agent_net_set_cidr (self->net, cidr);
}

void agent_pods_destroy (agent_pods_t **self_p)
{
    agent_pods_t *self = *self_p;
    if (!self) return;
    /* A stop right after the last container ended, before a turn removed
     * the shims' group: removed here, so the parent can go too. */
    if (self->shim_cg && agent_pods_running (self) == 0) (void)hs_cg_remove (self->cg, SHIM_CGROUP);
    while (self->sacks) s_sack_free (self, self->sacks);
    for (size_t i = 0; i < self->n_pods; i++) s_pod_free (self->pods[i]);
    free (self->pods);
    agent_net_destroy (&self->net);
    free (self);
    *self_p = NULL;
}

void agent_pods_each_run (agent_pods_t *self, agent_run_fn *fn, void *arg)
{
    for (size_t i = 0; i < self->n_pods; i++) {
        apod_t *p = self->pods[i];
        for (size_t k = 0; k < p->n_c; k++) {
            acont_t *c = &p->c[k];
            if (c->state != C_RUNNING) continue;
            agent_run_t run = {.ns = p->ns,
                               .name = p->name,
                               .uid = hs_s (s_store_uid (p)), /* "" until a mirror is seen */
                               .container = c->name,
                               .cgroup = c->cgroup,
                               .restart_count = c->runs > 1 ? c->runs - 1 : 0,
                               .started_at_ns = c->started_at_ns,
                               .cpu_base_ns = c->cpu_base};
            fn (arg, &run);
        }
    }
}
