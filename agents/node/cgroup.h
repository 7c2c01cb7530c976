/*  cgroup.h: the node agent's cgroups, v1 and v2 behind one API.
 *
 *  hs_cg_open finds out which cgroup version the node runs (v2: root is a
 *  cgroup2 filesystem; v1: one hierarchy per controller, found in
 *  /proc/self/mountinfo) and makes our own group, `parent`, in every hierarchy
 *  (v1: memory, cpu, pids for limits, and every other mounted one for
 *  membership alone, so a pod leaves the agent's groups everywhere: one it may
 *  not write is skipped with a warning; v2: the unified one). Pod containers
 *  are groups one level below it. Limits follow Kubernetes' conversions.
 *
 *  Functions that can fail return 0 or -errno; when the failure is about a
 *  file, hs_cg_last_error names it. Library code: nothing is logged above
 *  debug, except one hs_log_once warning per controller that is not available.
 *
 *  A controller that is not available (v1: not mounted; v2: not in the
 *  group's cgroup.controllers, e.g. a v2 tree on a host whose memory and cpu
 *  controllers are bound to v1 hierarchies) is an error for a group whose
 *  limits need it: a container never runs without the limit it asks for
 *  (-ENOTSUP, hs_cg_last_error names the limit, the controller and the
 *  group). A group that sets no such limit is made without it.
 */
#ifndef HS_AGENT_CGROUP_H
#define HS_AGENT_CGROUP_H

#include <stdint.h>
#include <sys/types.h>

typedef struct hs_cg_t hs_cg_t;

typedef struct {
    int64_t memory_max;        /* bytes, 0 = no limit (limits.memory) */
    int64_t cpu_max_milli;     /* CPU quota in millicores, 0 = none (limits.cpu): period
                                  100000us, quota = milli*100 (at least 1000, as Kubernetes) */
    int64_t cpu_request_milli; /* requests.cpu -> v1 cpu.shares, v2 cpu.weight (see below);
                                  0 = the kernel's default (v1 1024 shares, v2 weight 100) */
    int64_t pids_max;          /* 0 = none */
} hs_cg_limits_t;

#define HS_CG_DEFAULT_ROOT "/sys/fs/cgroup"
#define HS_CG_NAME_MAX     200
#define HS_CG_CPU_PERIOD   100000 /* us */

/* root: the cgroup mount root (HS_CG_DEFAULT_ROOT when NULL); on v1 only the
 * hierarchies mounted at or under it are used. parent: our own group under
 * it, one or two path components ("homeostat", "homeostat/node-1"), created
 * where missing in every hierarchy we use; on v2, +memory +cpu +pids are
 * enabled in cgroup.subtree_control of root .. parent as far as available.
 * 0 or -errno (-EINVAL for a bad parent, -ENOENT when no hierarchy is
 * found). *ret_cg is the caller's: hs_cg_destroy. */
int hs_cg_open (const char *root, const char *parent, hs_cg_t **ret_cg);
/* NULL-safe; NULLs *self_p. Removes nothing from the cgroup filesystem. */
void hs_cg_destroy (hs_cg_t **self_p);
/* 1 or 2. */
int hs_cg_version (const hs_cg_t *self);
/* Which of memory, cpu, pids the pod groups cannot use, and why: NULL when
 * all three are available, else the caller's string, e.g. "memory, cpu
 * (/sys/fs/cgroup/homeostat/n1/cgroup.subtree_control has "pids"; ...)".
 * For the agent to say at start what its pods cannot be limited by. */
char *hs_cg_unavailable (hs_cg_t *self);
/* What the last failed call tripped on, with the path ("write 5 to
 * /sys/fs/cgroup/x/cpu.max: Invalid argument"); "" if none. Borrowed, valid
 * until the next call on self. */
const char *hs_cg_last_error (const hs_cg_t *self);

/* Creates group `name` (one path component: not empty, not "." or "..", no
 * '/', at most HS_CG_NAME_MAX chars; else -EINVAL) under parent in every
 * hierarchy and applies limits (NULL: none). An existing group gets the
 * limits re-applied (fields at 0 reset to no limit / default weight): 0.
 * A controller that is not available (v1: not mounted, or the cpu one
 * without CFS quota; v2: not in the group's cgroup.controllers): -ENOTSUP
 * when a limit needs it (memory_max, cpu_max_milli, pids_max > 0;
 * hs_cg_last_error: "memory limit 33554432 bytes: cgroup controller memory
 * is not available (<group>/cgroup.controllers has "hugetlb")"); else it is
 * skipped with one hs_log_once warning (cpu_request_milli alone is a weight,
 * not a limit). A write the kernel refuses is an error (hs_cg_last_error
 * names the file). On any error a group this call made is removed again.
 * Negative limits: -EINVAL. */
int hs_cg_create (hs_cg_t *self, const char *name, const hs_cg_limits_t *limits);

/* The cgroup.procs files a process writes "0" to (v1: one per hierarchy, v2:
 * one) to join group `name`. NULL-terminated array of strings, all the
 * caller's (hs_cg_strv_free); NULL for a bad name. */
char **hs_cg_procs_files (hs_cg_t *self, const char *name);
void hs_cg_strv_free (char **v);

/* Moves pid (its whole thread group) into the group in every hierarchy.
 * 0 or -errno (-ENOENT: no such group; -ESRCH: no such process). */
int hs_cg_attach (hs_cg_t *self, const char *name, pid_t pid);

/* How many times the kernel's OOM killer killed a process in the group: v2
 * memory.events "oom_kill", v1 memory.oom_control "oom_kill" (kernel >= 4.13).
 * No such counter (no memory controller, older kernel): -ENOTSUP; no such
 * group: -ENOENT. Nothing is ever estimated from other counters. */
int hs_cg_oom_kills (hs_cg_t *self, const char *name, uint64_t *ret_count);

/* The processes in the group (v2 cgroup.procs; v1 the memory hierarchy's, or
 * another when memory is not mounted), sorted, without duplicates. Returns
 * the count, or -errno; *ret_pids is the caller's (free), also when the
 * count is 0. */
int hs_cg_pids (hs_cg_t *self, const char *name, pid_t **ret_pids);

/* Sends sig to every process in the group (v1: in any of its hierarchies).
 * SIGKILL: v2 writes cgroup.kill when the kernel has it; otherwise pids are
 * read and signalled again until a pass finds no process not yet signalled
 * (they may fork meanwhile). Other signals: one pass. Returns how many
 * processes were signalled (v2 cgroup.kill: how many the group held), or
 * -errno. Does not wait for them to exit. */
int hs_cg_kill (hs_cg_t *self, const char *name, int sig);

/* Removes the group from every hierarchy (rmdir). -EBUSY while processes (or
 * child groups) remain; a missing group: 0. */
int hs_cg_remove (hs_cg_t *self, const char *name);

/* Removes parent from every hierarchy (and its first component too when
 * hs_cg_open made it and it is empty). -EBUSY while groups remain under it;
 * missing: 0. */
int hs_cg_remove_parent (hs_cg_t *self);

/* Names of the groups under parent (v1: in any hierarchy), sorted.
 * NULL-terminated, the caller's (hs_cg_strv_free); NULL with errno set on
 * error (ENOENT once the parent is removed). */
char **hs_cg_list (hs_cg_t *self);

/* Memory charged to the group in bytes: v2 memory.current, v1
 * memory.usage_in_bytes. 0, -ENOTSUP (no memory controller) or -errno. */
int hs_cg_memory_usage (hs_cg_t *self, const char *name, int64_t *ret_bytes);

/* ------------------------------------------------------------------ usage
 *
 * What a group uses, as the kubelet's cAdvisor reads it: cumulative CPU
 * time (v1 cpuacct.usage in the cpuacct hierarchy, often co-mounted as
 * cpu,cpuacct; v2 cpu.stat usage_usec * 1000), the memory charged (v1
 * memory.usage_in_bytes, v2 memory.current) and the working set: that
 * minus the inactive file cache (v1 memory.stat total_inactive_file, v2
 * memory.stat inactive_file), floored at 0; and the OOM kills (as
 * hs_cg_oom_kills). Runs for every container every second: the readers
 * allocate nothing (paths and file contents live on the stack). */
enum {
    HS_CG_HAVE_CPU = 1u << 0,    /* cpu_ns is set */
    HS_CG_HAVE_MEMORY = 1u << 1, /* memory_usage and working_set are set */
    HS_CG_HAVE_OOM = 1u << 2,    /* oom_kills is set */
};
typedef struct {
    unsigned have; /* HS_CG_HAVE_*: what could be read */
    uint64_t cpu_ns;
    int64_t memory_usage; /* bytes */
    int64_t working_set;  /* bytes, memory_usage - inactive file, >= 0 */
    uint64_t oom_kills;
} hs_cg_usage_t;

/* The usage of group `name` into *ret (zeroed first). A figure whose file
 * is missing (controller not mounted or not enabled) is left out of
 * ret->have; a file that does not parse is -EBADMSG (hs_cg_last_error names
 * it). -ENOENT when the group is in no hierarchy we read, -EINVAL for a bad
 * name. */
int hs_cg_usage (hs_cg_t *self, const char *name, hs_cg_usage_t *ret);
/* The readers behind it, over explicit group directories (NULL: that
 * controller is not there), for tests over fake trees: v1 reads
 * cpuacct_dir/cpuacct.usage, memory_dir/memory.usage_in_bytes, memory.stat
 * and memory.oom_control; v2 dir/cpu.stat, memory.current, memory.stat and
 * memory.events. 0, -ENOENT (no file at all) or -EBADMSG. */
int hs_cg_usage_v1 (const char *cpuacct_dir, const char *memory_dir, hs_cg_usage_t *ret);
int hs_cg_usage_v2 (const char *dir, hs_cg_usage_t *ret);

/* Kubernetes' conversions, exposed for tests and `describe`.
 * shares = max(2, milli*1024/1000), at most 262144; 0 milli -> 1024 (v1 default).
 * weight = 1 + ((shares-2)*9999)/262142 (1..10000). */
int64_t hs_cg_cpu_shares (int64_t request_milli);
int64_t hs_cg_cpu_weight (int64_t shares);
/* cfs quota in us for a limit in millicores: milli*100, at least 1000; -1 for 0. */
int64_t hs_cg_cpu_quota (int64_t limit_milli);

#endif
