/*  agent.h: hs-agent, the node agent (docs/architecture.md §10).
 *
 *  One agent runs the pods bound to its node. Each container runs under its
 *  own hs-shim, in its own cgroup (cgroup.h), and the agent follows it
 *  through the shim's pidfd and the files the shim writes in the run's
 *  directory (state when started, exit when done). The agent decides
 *  restarts (restartPolicy, crash-loop backoff), stops pods gracefully and
 *  reports exactly what happened: container states, restart counts, phase,
 *  conditions and Events.
 *
 *  agent_main.c: flags, registering the Node, heartbeats, the event loop.
 *  agent_pods.c: the pods and their containers; agent_static.c: static pods.
 *  agent_probe.c: probe.<node>: hs-prober's results and exec probes.
 *  agent_state.c: the record of what runs; agent_logs.c: `hsctl logs`.
 *  agent_net.c: pod network sandboxes; agent_cni.c: the CNI plugin calls.
 *  agents/common/ (hsagent_core, shared with hs-hollow): agent_rules.c, the
 *  pure decisions about probes and node failure; agent_node.c, the Node
 *  object and its status.
 */
#ifndef AGENT_H
#define AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/utsname.h>

#include "agent_envfrom.h"
#include "agent_node.h"
#include "agent_usage.h"
#include "cgroup.h"
#include "hs_client.h"
#include "hs_loop.h"
#include "hs_util.h"

typedef struct {
    const char *node;           /* the Node's name */
    const char *state_dir;      /* runs, logs */
    const char *shim;           /* path of hs-shim */
    int64_t backoff_initial_ns; /* the second restart's delay (the first is immediate) */
    int64_t backoff_max_ns;
    int64_t backoff_reset_ns; /* a run this long resets the backoff */
    int64_t log_max_bytes;
    int log_max_files;
    bool no_namespaces;
    bool allow_privileged; /* --allow-privileged: privileged containers may run */
    /* Extra environment a container starts with, before its own env (which
     * wins): the Service variables (agent_svcenv.h). A NULL-terminated
     * "K=V" array or NULL, the caller's (freed with pod_env_free);
     * pod_env may be NULL. */
    char **(*pod_env) (void *arg, const Hs__Pod *pod);
    void (*pod_env_free) (char **env);
    void *pod_env_arg;
    /* Pod networking (agent_net.h): pod_network "none" runs every pod in
     * the node's network namespace, as hostNetwork. */
    const char *pod_network; /* none, bridge or ptp */
    const char *cni_bin_dir; /* the CNI plugins */
    const char *cni_data_dir;
    const char *netns_dir;
    int mtu;
    int netns_pool;      /* namespaces kept prepared */
    int cni_timeout_s;   /* every plugin call's deadline; 0: its command's */
    const char *node_ip; /* status.hostIP (and podIP of hostNetwork pods) */
    const char *dns_ip;  /* the cluster DNS (hs_net_dns_ip) */
    const char *domain;  /* --cluster-domain */
    /* ConfigMaps and Secrets (agent_envfrom.h, agent_volumes.h): the
     * agent's cache of them (NULL: none known), and whether hostPath
     * volumes may be used (--allow-host-path). */
    agent_lookup_fn *lookup;
    void *lookup_arg;
    bool allow_host_path;
    /* --fence-timeout (agent_fence.h): the lease file the shims of
     * at-most-one pods watch (hs-shim --fence-lease); NULL: no fencing */
    const char *fence_lease;
} agent_conf_t;

typedef struct agent_pods_t agent_pods_t;
typedef struct agent_state_t agent_state_t;

/* Offline until agent_pods_set_online. The shims' pidfds become sources of
 * loop (borrowed; may be NULL, then nothing but the deadlines wakes the
 * loop) as runs start and go; they only wake it: agent_pods_work, which the
 * loop runs after every wake-up, does the rest. */
agent_pods_t *agent_pods_new (const agent_conf_t *conf, hs_cg_t *cg, agent_state_t *state,
                              hs_loop_t *loop);
/* Stops nothing: the workloads outlive the agent (their shims hold them). */
void agent_pods_destroy (agent_pods_t **self_p);

/* After a restart, before the watch: rebuilds the pods from the agent's
 * record, adopting the shims that still run (same pid, same start time) and
 * reaping those that ended meanwhile. Returns the number of pods or -errno. */
int agent_pods_adopt (agent_pods_t *self);
/* Once the watch has its first snapshot: adopted pods the store no longer
 * binds here are stopped and cleaned up. */
void agent_pods_confirm (agent_pods_t *self);

/* Registered with the store, through client (NULL: offline again): status
 * writes, Events, deletes and mirror pods go out only online. Going online
 * re-sends every status. */
void agent_pods_set_online (agent_pods_t *self, hs_client_t *client);
/* The static pods loaded from --manifests (agent_static_load; borrowed):
 * new ones start, changed ones are replaced, missing ones stop. */
void agent_pods_set_static (agent_pods_t *self, Hs__Pod *const *pods, size_t n);
/* Loads DIR's Pods as static pods of node (see agent_static.c). Returns the
 * count with *ret_pods (hs_pb_free each, free the array), or -errno. */
int agent_static_load (const char *dir, const char *node, Hs__Pod ***ret_pods);

/* The node's podCIDR (NULL: none yet): pods with their own network wait
 * for one. A no-op with --pod-network none. */
void agent_pods_set_pod_cidr (agent_pods_t *self, const char *cidr);

/* The watch callback: a pod bound to this node appeared, changed or went. */
void agent_pods_on_event (void *arg, Hs__EventType type, const Hs__Object *obj,
                          const Hs__Object *old);

/* A ConfigMap or Secret (kind) appeared, changed or went: the volumes
 * projecting it are brought up to date at the next turn, and containers
 * waiting for it (CreateContainerConfigError, a volume not set up) try
 * again at once. */
void agent_pods_config_changed (agent_pods_t *self, hs_kind_t kind, const char *ns,
                                const char *name);

/* Fencing (agent_fence.h): fenced, it SIGKILLs every at-most-one pod
 * that runs (hs_pod_at_most_one; not static pods) and starts none until
 * called again with false; a killed pod is stopped for good (deleted from
 * the store once it answers: its owner has replaced it, or will). Returns
 * "ns/name, ..." of the pods it killed (free it), or NULL. */
char *agent_pods_fence (agent_pods_t *self, bool fenced);

/* One turn of work: containers that exited, starts that are due, stops
 * whose grace ran out, status writes, retries. Level-triggered: it looks at
 * every pod, so any wake-up may call it. Returns when the next turn is due
 * at the latest (absolute monotonic ns), or HS_NEVER: until something
 * arrives (a pidfd, an event, an ack). */
int64_t agent_pods_work (agent_pods_t *self);

/* The directory of a container's current (or, with previous, last but one)
 * run: its shim's files and container.log (+ .1, .2 ... when rotated).
 * Empty container: the pod's only one. NULL with *ret_err (kubectl's words:
 * `pods "x" not found`, `a container name must be specified for pod x,
 * choose one of: [a b]`, `previous terminated container "c" in pod "x" not
 * found`) when there is none. Both malloc'd. */
char *agent_pods_log_dir (agent_pods_t *self, const char *ns, const char *pod,
                          const char *container, bool previous, char **ret_err);

/* ------------------------------------------------------------------ probes (agent_probe.c) */

/* A ProbeResult from hs-prober (borrowed): for a pod we run (namespace,
 * name and uid match) and one of its containers, about its current run
 * (restart_count): readiness sets its ready flag, startup its started flag,
 * a liveness failure restarts it once per run (SIGTERM, the grace, SIGKILL;
 * then restartPolicy). The pod's status is written when what it shows
 * changes. Anything else is ignored. */
void agent_pods_probe_result (agent_pods_t *self, const Hs__ProbeResult *r);

/* Where an exec probe runs: a running container's init (host pid), the
 * cgroup.procs files of its cgroup, its env (KEY=VALUE) and workingDir. */
typedef struct {
    pid_t pid;
    char **cgroup_procs; /* NULL-terminated */
    char **env;          /* NULL-terminated */
    char *workdir;       /* NULL: / */
    char **sec_args;     /* the container's hardening: hs-shim flags (agent_sec.h) */
} agent_exec_target_t;

/* Finds a running container (container "" = the pod's only one; uid ""
 * matches any). 0 with *ret (agent_exec_target_free), -ENOENT for no such
 * pod or container, -ESRCH when it is not running. */
int agent_pods_exec_target (agent_pods_t *self, const char *ns, const char *pod, const char *uid,
                            const char *container, agent_exec_target_t *ret);
void agent_exec_target_free (agent_exec_target_t *t);

/* mkdir -p for the agent's own directories, which are private (0700):
 * hs_mkdir_p (path, 0700), 0 or -errno. */
static inline int agent_mkdir_p (const char *path)
{
    return hs_mkdir_p (path, 0700);
}

/* Calls fn for every running container (agent_usage.h's agent_run_t, its
 * strings borrowed until the pods change), a pod's containers one after
 * the other. */
typedef void agent_run_fn (void *arg, const agent_run_t *run);
void agent_pods_each_run (agent_pods_t *self, agent_run_fn *fn, void *arg);

/* Counters for the heartbeat. */
uint64_t agent_pods_count (agent_pods_t *self);
uint64_t agent_pods_running (agent_pods_t *self);

#endif
