/*  agent_net.h: pod network sandboxes (docs/architecture.md "Pod networking").
 *
 *  A pod without hostNetwork gets one network namespace for all its
 *  containers, pinned at <netns dir>/<pod uid> (a child unshares
 *  CLONE_NEWNET and bind-mounts its /proc/self/ns/net there), so it outlives
 *  the agent. Then the CNI `loopback` plugin, then `bridge` or `ptp` with
 *  host-local IPAM in the node's podCIDR (agent_cni.h), container ID = the
 *  pod's uid. Each plugin call is a child the loop polls; sandboxes of
 *  several pods make progress at once.
 *
 *  One sandbox's states (the record's in brackets, written through the
 *  save callback *before* the call it names):
 *
 *    none --netns, [adding]--> lo ADD --> main ADD --ok, [ready]--> ready
 *      ^                                      |fail (Event, backoff)
 *      |                                      v
 *      '--unmount, unlink, [none]-- lo DEL <-- main DEL [deleting] <-- ready, pod down
 *
 *  After an agent restart (agent_sb_restore): "adding" is DEL'd, then ADDed
 *  again (ADD is not idempotent); "ready" is CHECKed with the stored result
 *  as prevResult; a failed CHECK or a missing namespace means the sandbox is
 *  re-created (the pod's containers are killed first, as the kubelet does:
 *  a running pod never gets a new IP); "deleting" goes on deleting.
 *
 *  Prepared namespaces: agent_net_work keeps conf.pool namespaces pinned at
 *  <netns dir>/.pool-<n> with loopback ADDed, made while no pod's ADD runs;
 *  a new sandbox takes one (a bind mount to its own path), so its start
 *  costs one plugin call, the main ADD. A restart drops a predecessor's.
 *
 *  Every plugin call has a deadline (agent_cni.h): a hung plugin is
 *  killed and its call fails like any other (an ADD: Event, DEL, backoff).
 *
 *  Leaked leases (agent_net_gc): host-local's lease files naming a container
 *  ID that is no known pod are DEL'd.
 */
#ifndef AGENT_NET_H
#define AGENT_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent.pb-c.h"
#include "hs_loop.h"

typedef struct {
    const char *mode;      /* bridge or ptp */
    const char *bin_dir;   /* the plugins (/usr/lib/cni) */
    const char *data_dir;  /* host-local's dataDir */
    const char *netns_dir; /* where namespaces are pinned */
    int mtu;
    int pool;               /* namespaces kept prepared (pinned, loopback up) for the next pods */
    int64_t cni_timeout_ns; /* every plugin call's; 0: its command's (agent_cni_timeout_ns) */
} agent_net_conf_t;

typedef struct agent_net_t agent_net_t;
typedef struct agent_sb_t agent_sb_t;

/* The pod's side, called from agent_sb_step. */
typedef struct {
    void *arg;
    /* Writes the pod's record now (agent_sb_record gives the sandbox's
     * part): 0, or -errno (the step tries again later, calling nothing). */
    int (*save) (void *arg);
    /* An Event about the pod (type Normal/Warning). */
    void (*event) (void *arg, const char *type, const char *reason, const char *msg);
    /* The sandbox must be re-created: kill the pod's running containers. */
    void (*kill) (void *arg);
} agent_sb_cb_t;

agent_net_t *agent_net_new (const agent_net_conf_t *conf, hs_loop_t *loop);
/* Sandboxes still open are freed with it; what they made stays (the
 * namespaces and leases of running pods outlive the agent). */
void agent_net_destroy (agent_net_t **self_p);
/* The node's podCIDR ("10.244.1.0/24"), or NULL while there is none. */
void agent_net_set_cidr (agent_net_t *self, const char *cidr);
const char *agent_net_cidr (const agent_net_t *self);

/* The reaper found a child ended: true if it was one of our plugin calls
 * (it took the status; the caller reaps the pid). */
bool agent_net_reaped (agent_net_t *self, pid_t pid, int status);
/* Garbage collection of leaked leases, once the known pods are all loaded:
 * every lease ID not in known[0..n) is DEL'd (polled by agent_net_work).
 * Needs the podCIDR (the DEL's configuration); returns -EAGAIN without it,
 * else the number of IDs being collected. */
int agent_net_gc (agent_net_t *self, const char *const *known, size_t n);
/* Polls the GC's calls and keeps the prepared namespaces; returns the next
 * deadline (HS_NEVER). */
int64_t agent_net_work (agent_net_t *self);
/* GC calls still running. */
size_t agent_net_gc_pending (const agent_net_t *self);

/* A pod's sandbox (nothing made yet). uid is copied. */
agent_sb_t *agent_sb_new (agent_net_t *net, const char *uid);
/* Frees it (a call in flight is killed); what exists stays. NULL-safe. */
void agent_sb_destroy (agent_sb_t **sb_p);
/* After an agent restart: the sandbox as its record says (NULL: nothing). */
void agent_sb_restore (agent_sb_t *sb, const Hs__AgentNet *rec);
/* The sandbox's part of the pod's record, its strings borrowed from sb;
 * false when there is nothing to record. */
bool agent_sb_record (const agent_sb_t *sb, Hs__AgentNet *ret);

typedef enum {
    AGENT_SB_PENDING, /* being made (or waiting to retry, or for a podCIDR) */
    AGENT_SB_READY,   /* containers may start: the pod has its IP */
    AGENT_SB_DOWN,    /* nothing left (wanted down, and torn down) */
} agent_sb_view_t;

/* One turn: want_up (the pod should run) and idle (none of its containers
 * runs: a sandbox is only torn down under no process) decide what comes
 * next; calls that finished are handled, the next one started. Returns the
 * view, and in *wake the next deadline (retries; calls in flight wake the
 * loop themselves). */
agent_sb_view_t agent_sb_step (agent_sb_t *sb, bool want_up, bool idle, const agent_sb_cb_t *cb,
                               int64_t now, int64_t *wake);
/* Why it is not ready (the last failure or what it waits for), or NULL. */
const char *agent_sb_why (const agent_sb_t *sb);
const char *agent_sb_ip (const agent_sb_t *sb);    /* NULL until ready */
const char *agent_sb_netns (const agent_sb_t *sb); /* its pinned path */
int agent_sb_prefix (const agent_sb_t *sb);

/* Pins a new network namespace at path (created; must not exist): a
 * child unshares CLONE_NEWNET and bind-mounts its namespace there. 0 or
 * -errno (the file is removed again). */
int agent_netns_create (const char *path);
/* Whether path is a pinned namespace (an nsfs mount). */
bool agent_netns_pinned (const char *path);
/* Unmounts (lazily: shims' mount namespaces may hold copies) and unlinks.
 * 0, or -errno; missing is 0. */
int agent_netns_remove (const char *path);

#endif
