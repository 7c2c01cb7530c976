/*  benchlib.h: what every Homeostat benchmark needs and nothing else does.
 *
 *  Temp directories and spawned processes that are always cleaned up (at
 *  exit, on SIGINT/SIGTERM, and by PR_SET_PDEATHSIG if we die hard), free
 *  loopback ports, forked workers that start together, latency samples and
 *  percentiles, and finding the Homeostat binaries next to the benchmark.
 */
#ifndef BENCHLIB_H
#define BENCHLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hs_util.h" /* hs_mono_ns, hs_now_ns */

/* ------------------------------------------------------------------ cleanup */

/* Installs the exit/signal handlers that kill spawned processes and remove
 * temp dirs. Call once at the start of main. */
void bl_init (const char *prog);
/* A fresh directory under $TMPDIR (or /tmp), removed at exit. Caller frees. */
char *bl_tmpdir (const char *tag);
/* Kills every process spawned with bl_spawn and every worker still running,
 * removes temp dirs. Idempotent; also run at exit. */
void bl_cleanup (void);
/* Prints to stderr and exits 1 (cleanup runs). */
void bl_die (const char *fmt, ...) __attribute__ ((format (printf, 1, 2), noreturn));
/* Makes fn run before the rest of the cleanup, at exit and on SIGINT/SIGTERM/
 * SIGHUP (then the signal kills us as before). For benchmarks with real
 * workloads, whose agent and shims must go before the temp dir. Call once,
 * after bl_init; fn must be idempotent and async-signal-safe enough. */
void bl_cleanup_first (void (*fn) (void));

/* Starts argv[0] (a path) with stdout/stderr appended to log_path (NULL: keep
 * ours); it is killed at exit. Returns its pid. */
pid_t bl_spawn (char *const argv[], const char *log_path);
/* Stops a spawned process: SIGTERM, up to 3 s, then SIGKILL. Returns its wait
 * status, or -1 if it was already gone. */
int bl_stop (pid_t pid);
/* True while the spawned process is running. */
bool bl_alive (pid_t pid);
/* User + system CPU time of a process so far, in seconds; -1 if it is gone. */
double bl_cpu_s (pid_t pid);
/* Prints the last lines of a log file to stderr (for error reports). */
void bl_tail_log (const char *path, int lines);

/* ------------------------------------------------------------------ real workloads */

/* Kills every process in the cgroup <parent>[/<sub>] and below, in every
 * hierarchy (v2's /sys/fs/cgroup/<parent>, and each v1 controller's). */
void bl_cgroup_kill (const char *parent, const char *sub);
/* Removes <parent>[/<sub>] and below in every hierarchy, deepest first,
 * killing what still holds a group busy. */
void bl_cgroup_remove (const char *parent, const char *sub);
/* Kills every process (not us) whose command line contains needle: shims
 * name their --state directory there. */
void bl_kill_cmdline (const char *needle);
/* Polls the log at path until a line contains what; dies (showing the log's
 * tail) if pid exits first or timeout_ms passes. */
void bl_wait_log (const char *path, const char *what, pid_t pid, int timeout_ms);

/* Full path of a Homeostat binary: dir (if given), then $HS_BIN, then the
 * directory of this executable, then its ../bin. NULL if not found. Caller frees. */
char *bl_find_bin (const char *name, const char *dir);
/* bl_find_bin for each of n names into ret[i]; dies naming the first one
 * missing. The caller frees each ret[i]. */
void bl_find_bins (const char *const names[], int n, const char *dir, char *ret[]);

/* ------------------------------------------------------------------ hs-bus + hs-store */

/* hs-store's --cluster-cidr for the benchmarks: room for 32,768 /24 node
 * podCIDRs (the default 10.244.0.0/16 holds 256, and hs-store refuses a Node
 * it has no podCIDR for), clear of the default Service CIDR. */
#define BL_CLUSTER_CIDR "10.128.0.0/9"

/* The pair every control-plane benchmark starts first. */
typedef struct {
    char bus[64];              /* "127.0.0.1:<port>", for --bus and hs_client_new */
    pid_t bus_pid, store_pid;  /* spawned: killed at exit */
    char *bus_log, *store_log; /* DIR/hs-bus.log, DIR/hs-store.log */
    char *data;                /* DIR/store, hs-store's --data */
} bl_plane_t;
/* Starts hs-bus (--bind 127.0.0.1, a free port pair) and, once it accepts,
 * hs-store on it (--data DIR/store, --no-sync if nosync), logging in dir.
 * Dies if hs-bus does not listen within 5 s; hs-store is not waited for. */
void bl_plane_start (bl_plane_t *p, const char *dir, char *hsbus, char *hsstore, bool nosync);
/* bl_plane_start on a secured bus: hs-bus --pki pki (made by bl_pki_make),
 * hs-store with the credential pki/creds/store.cred. pki NULL: plaintext
 * (hs-bus --insecure), as bl_plane_start. */
void bl_plane_start_pki (bl_plane_t *p, const char *dir, char *hsbus, char *hsstore, bool nosync,
                         const char *pki);
/* Makes a PKI directory (hs_cred.h's layout) at dir with credentials for
 * the identities ids[0..n) (creds/<id with ':' as '-'>.cred). Dies on error. */
void bl_pki_make (const char *dir, const char *const *ids, size_t n);
/* Frees the paths (the processes stay: cleanup or bl_stop ends them). */
void bl_plane_free (bl_plane_t *p);

/* ------------------------------------------------------------------ network */

/* A port P on 127.0.0.1 such that P and P+1 (pair) are both free now. */
int bl_free_port (bool pair);
/* Waits until something accepts on 127.0.0.1:port. 0 or -ETIMEDOUT. */
int bl_wait_tcp (int port, int timeout_ms);

/* ------------------------------------------------------------------ workers */

/* A group of forked worker processes that signal ready, then start together. */
typedef struct bl_group bl_group_t;
/* fn runs in each of n forked children with index i; its return is the exit
 * code. Inside, call bl_worker_ready once set up; it returns the common start
 * time (CLOCK_MONOTONIC ns), or exits the worker if the parent gave up. */
typedef int (bl_worker_fn) (void *arg, int i);
bl_group_t *bl_group_start (int n, bl_worker_fn *fn, void *arg);
int64_t bl_worker_ready (void);
/* Reports a setup failure from a worker (reason shown by the parent). */
void bl_worker_fail (const char *fmt, ...) __attribute__ ((format (printf, 1, 2), noreturn));
/* Waits up to timeout_ms for every worker to be ready; 0, or -1 with a message
 * printed. Then sends the start time (now + lead_ms) and returns it in *ret_t0. */
int bl_group_go (bl_group_t *g, int timeout_ms, int lead_ms, int64_t *ret_t0);
/* Waits up to timeout_ms for all workers to exit (then kills the rest).
 * Returns the number that failed (non-zero exit or killed). Frees g. */
int bl_group_wait (bl_group_t **g_p, int timeout_ms);

/* ------------------------------------------------------------------ samples */

typedef struct {
    uint64_t *v;
    size_t n, cap;
} bl_samples_t;
void bl_samples_add (bl_samples_t *s, uint64_t v);
void bl_samples_merge (bl_samples_t *into, const bl_samples_t *from);
void bl_samples_free (bl_samples_t *s);
/* Sorts in place; then bl_pct (s, 99.0) is the 99th percentile (0 if empty). */
void bl_samples_sort (bl_samples_t *s);
uint64_t bl_pct (const bl_samples_t *s, double pct);

/* What one worker hands back: counters and up to two sample sets, via a file. */
#define BL_COUNTERS 12
typedef struct {
    uint64_t c[BL_COUNTERS];
    bl_samples_t s[2];
} bl_result_t;
int bl_result_write (const char *path, const bl_result_t *r);
int bl_result_read (const char *path, bl_result_t *r);
void bl_result_free (bl_result_t *r);

/* ------------------------------------------------------------------ flags */

/* optarg of flag as an int in lo..hi; dies with "FLAG: VALUE" if it is not. */
int bl_parse_int (const char *flag, const char *s, int lo, int hi);
/* optarg of flag as seconds in (0, 600], or [0, 600] with zero_ok; dies with
 * "FLAG: VALUE" otherwise. */
double bl_parse_seconds (const char *flag, const char *s, bool zero_ok);

/* ------------------------------------------------------------------ misc */

/* Sleeps until CLOCK_MONOTONIC reaches t (ns). */
void bl_sleep_until (int64_t t);
/* "12.3 ms", "850 us" into buf. */
const char *bl_fmt_ns (uint64_t ns, char *buf, size_t len);
/* "1,234,567" into buf. */
const char *bl_fmt_count (double v, char *buf, size_t len);

#endif
