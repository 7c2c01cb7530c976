/*  agent_usage.h: what the node's pods use, for usage.<node>/ (NodeUsage).
 *
 *  Every --usage-interval the agent reads each running container's cgroup
 *  (hs_cg_usage: cumulative CPU time, memory usage and working set, OOM
 *  kills) and the host's /proc/stat and /proc/meminfo, and publishes one
 *  NodeUsage (schemas/bus.proto). This module is the pure part: samples in,
 *  NodeUsage out; agent_main.c does the reading and the publishing.
 *
 *  A sample: agent_usage_begin (the host's figures), agent_usage_add for
 *  each running container, pod by pod, then agent_usage_end. Rates: a
 *  container's cpu_usage_nanocores is its CPU time since the previous
 *  sample of the same run (same restart_count and started_at) over the
 *  monotonic time between the two; the first sample of a run says 0. Its
 *  cpu_usage_core_ns is the group's CPU time minus what the group had
 *  used when the run started (the group outlives a restart), so it starts
 *  again at 0 with every run. A run not seen in a sample is forgotten.
 */
#ifndef AGENT_USAGE_H
#define AGENT_USAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "bus.pb-c.h"
#include "cgroup.h"

/* One running container, as agent_pods knows it (strings borrowed: they
 * must stay valid until the NodeUsage of agent_usage_end is published). */
typedef struct {
    const char *ns, *name, *uid; /* its pod (uid: the store's; a static pod's mirror's) */
    const char *container;
    const char *cgroup; /* its group under the agent's parent: unique on the node */
    int32_t restart_count;
    int64_t started_at_ns; /* realtime */
    uint64_t cpu_base_ns;  /* the group's CPU time when this run started */
} agent_run_t;

/* The host's figures: busy CPU time (/proc/stat: every field but idle and
 * iowait, USER_HZ ticks in ns) and MemTotal - MemAvailable. */
typedef struct {
    bool have_cpu, have_memory;
    uint64_t cpu_ns;
    int64_t memory_working_set;
} agent_host_usage_t;

typedef struct agent_usage_t agent_usage_t;

/* node is copied; interval_ms is the NodeUsage's interval_ms. */
agent_usage_t *agent_usage_new (const char *node, uint32_t interval_ms);
void agent_usage_destroy (agent_usage_t **self_p);

/* Starts a sample taken at mono_ns (monotonic) and real_ns (timestamp). */
void agent_usage_begin (agent_usage_t *self, int64_t mono_ns, int64_t real_ns,
                        const agent_host_usage_t *host);
/* One running container and what its group read (u->have says which
 * figures are there). Containers of one pod come one after the other. */
void agent_usage_add (agent_usage_t *self, const agent_run_t *run, const hs_cg_usage_t *u);
/* The sample, borrowed until the next agent_usage_begin. */
const Hs__NodeUsage *agent_usage_end (agent_usage_t *self);

/* How many runs the module remembers (their previous samples). */
size_t agent_usage_tracked (const agent_usage_t *self);

/* The rate in nanocores of delta_cpu_ns CPU time over window_ns (0 for
 * an empty window). */
uint64_t agent_usage_nanocores (uint64_t delta_cpu_ns, int64_t window_ns);

/* Parsers for the host's files (text NUL-terminated): /proc/stat's "cpu"
 * line into busy ns at clk_tck ticks per second; /proc/meminfo's MemTotal
 * - MemAvailable in bytes. 0 or -EBADMSG. */
int agent_usage_parse_stat (const char *text, long clk_tck, uint64_t *ret_busy_ns);
int agent_usage_parse_meminfo (const char *text, int64_t *ret_bytes);
/* Reads both from proc_dir ("/proc" when NULL) into *ret (what cannot be
 * read is left out, have_* false). No allocation. */
void agent_usage_read_host (const char *proc_dir, agent_host_usage_t *ret);

/* --usage-interval: "1s", "500ms", "2" (seconds), "0" (off); at most an
 * hour, and at least 100ms when not 0. 0 with *ret_ns, or -EINVAL. */
int agent_usage_parse_interval (const char *text, int64_t *ret_ns);

#endif
