/*  test_cgroup.c: the node agent's cgroup interface (agents/node/cgroup.h),
 *  against the real cgroup filesystem of this host (v1 or v2), and against a
 *  cgroup2 filesystem mounted in a temp dir for the v2 paths.
 *
 *  Needs root (skips otherwise). Everything lives under "hs-test-cg-<pid>";
 *  each test removes what it made, s_cleanup_all (also at exit) removes what
 *  a failed check left, and test_nothing_left checks that nothing is.
 *  Processes started here block on a pipe we hold: they exit when we do.
 */
#include "cgroup.h"
#include "hs_test.h"
#include "hs_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MiB ((int64_t)1 << 20)

static char s_parent[64]; /* hs-test-cg-<pid> */
static char s_v2dir[64];  /* our cgroup2 mount point, when made */
static bool s_v2mounted;
static bool s_skip_all;   /* not root, or the cgroup fs is read-only */
static int s_release[16]; /* write ends of the pipes our processes block on */
static size_t s_n_release;

/* ------------------------------------------------------------------ helpers */

static char *s_slurp (const char *path)
{
    FILE *f = fopen (path, "re");
    if (!f) return NULL;
    hs_buf_t b = {0};
    char chunk[1024];
    size_t n;
    while ((n = fread (chunk, 1, sizeof chunk, f)) > 0) hs_buf_append (&b, chunk, n);
    fclose (f);
    hs_buf_append (&b, "", 0);
    char *s = hs_buf_take (&b);
    s[strcspn (s, "\n")] = '\0'; /* first line: control files hold one value */
    return s;
}

/* The control file `file` of group name, in whichever hierarchy has it
 * (found from hs_cg_procs_files, so no mount point is assumed here). */
static char *s_ctl_path (hs_cg_t *cg, const char *name, const char *file)
{
    char **procs = hs_cg_procs_files (cg, name);
    char *found = NULL;
    for (size_t i = 0; procs && procs[i] && !found; i++) {
        char *slash = strrchr (procs[i], '/');
        char *p = hs_sprintf ("%.*s/%s", (int)(slash - procs[i]), procs[i], file);
        if (access (p, F_OK) == 0)
            found = p;
        else
            free (p);
    }
    hs_cg_strv_free (procs);
    return found;
}

static char *s_ctl (hs_cg_t *cg, const char *name, const char *file)
{
    _cleanup_free_ char *p = s_ctl_path (cg, name, file);
    return p ? s_slurp (p) : NULL;
}

static size_t s_strv_len (char **v)
{
    size_t n = 0;
    while (v && v[n]) n++;
    return n;
}

static bool s_strv_has (char **v, const char *s)
{
    for (size_t i = 0; v && v[i]; i++)
        if (strcmp (v[i], s) == 0) return true;
    return false;
}

/* A pipe whose write end we keep; processes block reading it. */
static int s_new_release (void)
{
    int fds[2];
    if (pipe2 (fds, O_CLOEXEC) < 0) abort ();
    if (s_n_release == HS_ARRAY_LEN (s_release)) abort ();
    s_release[s_n_release++] = fds[1];
    return fds[0];
}

/* In a forked process: drop our copies of the write ends, block until EOF. */
static void s_child_close_releases (void)
{
    for (size_t i = 0; i < s_n_release; i++) close (s_release[i]);
}
static void s_block (int rfd)
{
    char c;
    while (read (rfd, &c, 1) < 0 && errno == EINTR) {}
}

static pid_t s_fork_blocker (int rfd)
{
    pid_t pid = fork ();
    if (pid == 0) {
        s_child_close_releases ();
        s_block (rfd);
        _exit (0);
    }
    return pid;
}

typedef struct {
    pid_t pid;
    int status;
} s_waited_t;

static bool s_reaped (void *arg)
{
    s_waited_t *w = arg;
    return waitpid (w->pid, &w->status, WNOHANG) == w->pid;
}

/* waitpid with a deadline; -1 if the process did not end in time. */
static int s_wait_child (pid_t pid, int timeout_ms)
{
    s_waited_t w = {pid, 0};
    if (!hs_test_wait (s_reaped, &w, timeout_ms)) return -1;
    return w.status;
}

static bool s_killed_by (int status, int sig)
{
    return status != -1 && WIFSIGNALED (status) && WTERMSIG (status) == sig;
}

/* In how many hierarchies /proc/<pid>/cgroup puts pid in <parent>/<name>. */
static int s_proc_cgroup_hits (pid_t pid, const char *name)
{
    char path[64];
    snprintf (path, sizeof path, "/proc/%d/cgroup", (int)pid);
    FILE *f = fopen (path, "re");
    if (!f) return -1;
    _cleanup_free_ char *suffix = hs_sprintf (":/%s/%s\n", s_parent, name);
    char line[1024];
    int hits = 0;
    while (fgets (line, sizeof line, f)) {
        size_t n = strlen (line), k = strlen (suffix);
        if (n >= k && strcmp (line + n - k, suffix) == 0) hits++;
    }
    fclose (f);
    return hits;
}

/* Every cgroup (v1) and cgroup2 mount point, from mountinfo. */
static char **s_cgroup_mounts (void)
{
    FILE *f = fopen ("/proc/self/mountinfo", "re");
    char **v = hs_calloc (64, sizeof (char *));
    size_t n = 0;
    char line[4096];
    while (f && fgets (line, sizeof line, f) && n < 63) {
        char *dash = strstr (line, " - ");
        if (!dash) continue;
        if (!hs_startswith (dash + 3, "cgroup ") && !hs_startswith (dash + 3, "cgroup2 ")) continue;
        char mnt[1024];
        if (sscanf (line, "%*s %*s %*s %*s %1023s", mnt) == 1) v[n++] = hs_strdup (mnt);
    }
    if (f) fclose (f);
    return v;
}

static void s_reap_any (void)
{
    while (waitpid (-1, NULL, WNOHANG) > 0) {}
}

/* Kills what is in dir and its subgroups and removes them, by hand (not
 * through the module under test). */
static void s_nuke (const char *dir)
{
    DIR *d = opendir (dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir (d)))
        if (de->d_type == DT_DIR && strcmp (de->d_name, ".") && strcmp (de->d_name, "..")) {
            _cleanup_free_ char *sub = hs_sprintf ("%s/%s", dir, de->d_name);
            s_nuke (sub);
        }
    closedir (d);
    int64_t deadline = hs_mono_ns () + 5000000000LL;
    while (rmdir (dir) < 0 && errno == EBUSY && hs_mono_ns () < deadline) {
        _cleanup_free_ char *procs = hs_sprintf ("%s/cgroup.procs", dir);
        FILE *f = fopen (procs, "re");
        int pid;
        while (f && fscanf (f, "%d", &pid) == 1) kill (pid, SIGKILL);
        if (f) fclose (f);
        s_reap_any ();
        usleep (5000);
    }
}

/* Whether a dir named s_parent exists in any cgroup hierarchy. */
static int s_leftovers (bool report)
{
    char **mounts = s_cgroup_mounts ();
    int n = 0;
    for (size_t i = 0; mounts[i]; i++) {
        _cleanup_free_ char *p = hs_sprintf ("%s/%s", mounts[i], s_parent);
        if (access (p, F_OK) == 0) {
            if (report) fprintf (stderr, "  left behind: %s\n", p);
            n++;
        }
    }
    hs_cg_strv_free (mounts);
    return n;
}

static void s_cleanup_all (void)
{
    for (size_t i = 0; i < s_n_release; i++) close (s_release[i]);
    s_n_release = 0;
    if (s_parent[0]) {
        char **mounts = s_cgroup_mounts ();
        for (size_t i = 0; mounts[i]; i++) {
            _cleanup_free_ char *p = hs_sprintf ("%s/%s", mounts[i], s_parent);
            s_nuke (p);
        }
        hs_cg_strv_free (mounts);
    }
    /* blocked processes exit on EOF; reap them (we are their subreaper) */
    int64_t deadline = hs_mono_ns () + 5000000000LL;
    while (hs_mono_ns () < deadline) {
        pid_t r = waitpid (-1, NULL, WNOHANG);
        if (r < 0) break; /* ECHILD: none left */
        if (r == 0) usleep (2000);
    }
    if (s_v2mounted && umount2 (s_v2dir, MNT_DETACH) == 0) s_v2mounted = false;
    if (s_v2dir[0] && !s_v2mounted && rmdir (s_v2dir) == 0) s_v2dir[0] = '\0';
}

static hs_cg_t *s_open_host (void)
{
    hs_cg_t *cg = NULL;
    int r = hs_cg_open (NULL, s_parent, &cg);
    CHECK_EQ_INT (r, 0);
    if (r < 0) fprintf (stderr, "  hs_cg_open: %s\n", strerror (-r));
    return cg;
}

/* ------------------------------------------------------------------ tests */

static void test_conversions (void)
{
    CHECK_EQ_INT (hs_cg_cpu_shares (0), 1024);
    CHECK_EQ_INT (hs_cg_cpu_shares (1), 2);
    CHECK_EQ_INT (hs_cg_cpu_shares (250), 256);
    CHECK_EQ_INT (hs_cg_cpu_shares (1000), 1024);
    CHECK_EQ_INT (hs_cg_cpu_shares (256000), 262144);
    CHECK_EQ_INT (hs_cg_cpu_shares (INT64_MAX), 262144);
    CHECK_EQ_INT (hs_cg_cpu_weight (2), 1);
    CHECK_EQ_INT (hs_cg_cpu_weight (1024), 39);
    CHECK_EQ_INT (hs_cg_cpu_weight (256), 10);
    CHECK_EQ_INT (hs_cg_cpu_weight (262144), 10000);
    CHECK_EQ_INT (hs_cg_cpu_quota (0), -1);
    CHECK_EQ_INT (hs_cg_cpu_quota (5), 1000); /* the kernel's 1 ms floor */
    CHECK_EQ_INT (hs_cg_cpu_quota (500), 50000);
    CHECK_EQ_INT (hs_cg_cpu_quota (2000), 200000);
}

static void test_bad_names (void)
{
    if (s_skip_all) return;
    hs_cg_t *cg = NULL;
    const char *bad_parents[] = {"", ".", "..", "a/b/c", "/x", "x/", "a//b", "x/.."};
    for (size_t i = 0; i < HS_ARRAY_LEN (bad_parents); i++)
        CHECK_EQ_INT (hs_cg_open (NULL, bad_parents[i], &cg), -EINVAL);
    CHECK_EQ_INT (hs_cg_open (NULL, NULL, &cg), -EINVAL);
    CHECK (cg == NULL);
    CHECK_EQ_INT (hs_cg_open ("/nonexistent-cgroup-root", s_parent, &cg), -ENOENT);

    cg = s_open_host ();
    if (!cg) return;
    char long_name[HS_CG_NAME_MAX + 2];
    memset (long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0'; /* 201 chars */
    const char *bad[] = {"", ".", "..", "a/b", "/", "a\nb", long_name, NULL};
    for (size_t i = 0; i < HS_ARRAY_LEN (bad); i++) {
        uint64_t u;
        int64_t i64;
        pid_t *pids = NULL;
        CHECK_EQ_INT (hs_cg_create (cg, bad[i], NULL), -EINVAL);
        CHECK_EQ_INT (hs_cg_attach (cg, bad[i], getpid ()), -EINVAL);
        CHECK_EQ_INT (hs_cg_kill (cg, bad[i], SIGKILL), -EINVAL);
        CHECK_EQ_INT (hs_cg_remove (cg, bad[i]), -EINVAL);
        CHECK_EQ_INT (hs_cg_pids (cg, bad[i], &pids), -EINVAL);
        CHECK_EQ_INT (hs_cg_oom_kills (cg, bad[i], &u), -EINVAL);
        CHECK_EQ_INT (hs_cg_memory_usage (cg, bad[i], &i64), -EINVAL);
        CHECK (hs_cg_procs_files (cg, bad[i]) == NULL);
    }
    /* 200 chars is fine */
    long_name[HS_CG_NAME_MAX] = '\0';
    CHECK_EQ_INT (hs_cg_create (cg, long_name, NULL), 0);
    char **list = hs_cg_list (cg);
    CHECK (s_strv_has (list, long_name));
    hs_cg_strv_free (list);
    CHECK_EQ_INT (hs_cg_remove (cg, long_name), 0);

    hs_cg_limits_t neg = {.memory_max = -1};
    CHECK_EQ_INT (hs_cg_create (cg, "neg", &neg), -EINVAL);
    CHECK_EQ_INT (hs_cg_kill (cg, "neg", 0), -EINVAL);
    CHECK_EQ_INT (hs_cg_attach (cg, "neg", 0), -EINVAL);
    list = hs_cg_list (cg);
    CHECK_EQ_INT (s_strv_len (list), 0); /* nothing made by the refused calls */
    hs_cg_strv_free (list);

    CHECK_EQ_INT (hs_cg_remove_parent (cg), 0);
    hs_cg_destroy (&cg);
    CHECK (cg == NULL);
    hs_cg_destroy (&cg); /* NULL-safe */
    s_cleanup_all ();
}

static void test_limits (void)
{
    if (s_skip_all) return;
    hs_cg_t *cg = s_open_host ();
    if (!cg) return;
    fprintf (stderr, "  host cgroup version %d\n", hs_cg_version (cg));
    int v = hs_cg_version (cg);
    CHECK (v == 1 || v == 2);

    hs_cg_limits_t lim = {
        .memory_max = 64 * MiB, .cpu_max_milli = 500, .cpu_request_milli = 250, .pids_max = 100};
    CHECK_EQ_INT (hs_cg_create (cg, "limits", &lim), 0);
    char *s;
#define CHECK_CTL(file, want)                                                                      \
    do {                                                                                           \
        s = s_ctl (cg, "limits", file);                                                            \
        CHECK_EQ_STR (s, want);                                                                    \
        free (s);                                                                                  \
    } while (0)
    if (v == 1) {
        CHECK_CTL ("memory.limit_in_bytes", "67108864");
        CHECK_CTL ("cpu.cfs_period_us", "100000");
        CHECK_CTL ("cpu.cfs_quota_us", "50000");
        CHECK_CTL ("cpu.shares", "256");
        CHECK_CTL ("pids.max", "100");
    } else {
        CHECK_CTL ("memory.max", "67108864");
        CHECK_CTL ("cpu.max", "50000 100000");
        CHECK_CTL ("cpu.weight", "10");
        CHECK_CTL ("pids.max", "100");
    }

    /* again, with other limits: re-applied; zeros reset */
    hs_cg_limits_t none = {0};
    CHECK_EQ_INT (hs_cg_create (cg, "limits", &none), 0);
    if (v == 1) {
        s = s_ctl (cg, "limits", "memory.limit_in_bytes");
        CHECK (s && strlen (s) >= 18); /* 9223372036854771712: no limit, page-rounded */
        free (s);
        CHECK_CTL ("cpu.cfs_quota_us", "-1");
        CHECK_CTL ("cpu.shares", "1024");
        CHECK_CTL ("pids.max", "max");
    } else {
        CHECK_CTL ("memory.max", "max");
        CHECK_CTL ("cpu.max", "max 100000");
        CHECK_CTL ("cpu.weight", "100");
        CHECK_CTL ("pids.max", "max");
    }
#undef CHECK_CTL

    int64_t usage = -1;
    CHECK_EQ_INT (hs_cg_memory_usage (cg, "limits", &usage), 0);
    CHECK (usage >= 0);
    uint64_t ooms = 99;
    int r = hs_cg_oom_kills (cg, "limits", &ooms);
    CHECK (r == 0 || r == -ENOTSUP);
    if (r == 0) CHECK_EQ_INT (ooms, 0);
    CHECK_EQ_INT (hs_cg_oom_kills (cg, "nosuch", &ooms), -ENOENT);
    CHECK_EQ_INT (hs_cg_memory_usage (cg, "nosuch", &usage), -ENOENT);

    /* a write the kernel refuses (quota above its maximum) is an error naming
     * the file, and the group this call made is gone again */
    hs_cg_limits_t huge = {.cpu_max_milli = 10000000000000LL}; /* quota 1e15 us */
    CHECK_EQ_INT (hs_cg_create (cg, "refused", &huge), -EINVAL);
    CHECK_CONTAINS (hs_cg_last_error (cg), v == 1 ? "cpu.cfs_quota_us" : "cpu.max");
    fprintf (stderr, "  refused: %s\n", hs_cg_last_error (cg));
    char **list = hs_cg_list (cg);
    CHECK_EQ_INT (s_strv_len (list), 1);
    CHECK (s_strv_has (list, "limits"));
    hs_cg_strv_free (list);
    /* an existing group keeps its limits when a re-apply is refused */
    CHECK_EQ_INT (hs_cg_create (cg, "limits", &huge), -EINVAL);
    list = hs_cg_list (cg);
    CHECK (s_strv_has (list, "limits"));
    hs_cg_strv_free (list);

    CHECK_EQ_INT (hs_cg_remove_parent (cg), -EBUSY); /* "limits" is still there */
    CHECK_EQ_INT (hs_cg_remove (cg, "limits"), 0);
    CHECK_EQ_INT (hs_cg_remove (cg, "limits"), 0); /* missing: 0 */
    CHECK_EQ_INT (hs_cg_remove_parent (cg), 0);
    errno = 0;
    list = hs_cg_list (cg);
    CHECK (list == NULL && errno == ENOENT);
    CHECK_EQ_INT (s_leftovers (true), 0);
    hs_cg_destroy (&cg);

    /* a two-level parent: the first level is removed only by whoever made it */
    hs_cg_t *outer = s_open_host ();
    _cleanup_free_ char *nested = hs_sprintf ("%s/node-1", s_parent);
    hs_cg_t *inner = NULL;
    CHECK_EQ_INT (hs_cg_open (NULL, nested, &inner), 0);
    if (outer && inner) {
        CHECK_EQ_INT (hs_cg_create (inner, "pod", &lim), 0);
        list = hs_cg_list (outer);
        CHECK (s_strv_has (list, "node-1"));
        hs_cg_strv_free (list);
        CHECK_EQ_INT (hs_cg_remove_parent (inner), -EBUSY);
        CHECK_EQ_INT (hs_cg_remove (inner, "pod"), 0);
        CHECK_EQ_INT (hs_cg_remove_parent (inner), 0);
        char **procs = hs_cg_procs_files (outer, "x");          /* one per hierarchy */
        CHECK_EQ_INT (s_leftovers (false), s_strv_len (procs)); /* outer's parent, each */
        hs_cg_strv_free (procs);
        CHECK_EQ_INT (hs_cg_remove_parent (outer), 0);
    }
    hs_cg_destroy (&inner);
    hs_cg_destroy (&outer);
    /* made by the nested open itself: removed with it */
    CHECK_EQ_INT (hs_cg_open (NULL, nested, &inner), 0);
    if (inner) {
        CHECK_EQ_INT (hs_cg_remove_parent (inner), 0);
        CHECK_EQ_INT (s_leftovers (true), 0);
    }
    hs_cg_destroy (&inner);
    s_cleanup_all ();
}

/* attach, pids, /proc/<pid>/cgroup, remove while busy, kill, remove */
static void s_attach_kill (hs_cg_t *cg, const char *name, int sig)
{
    CHECK_EQ_INT (hs_cg_create (cg, name, NULL), 0);
    int rfd = s_new_release ();
    pid_t child = s_fork_blocker (rfd);
    close (rfd);
    CHECK (child > 0);
    if (child <= 0) return;
    CHECK_EQ_INT (hs_cg_attach (cg, name, child), 0);

    pid_t *pids = NULL;
    CHECK_EQ_INT (hs_cg_pids (cg, name, &pids), 1);
    CHECK (pids && pids[0] == child);
    free (pids);
    char **procs = hs_cg_procs_files (cg, name);
    CHECK_EQ_INT (s_proc_cgroup_hits (child, name), (int)s_strv_len (procs));
    CHECK ((hs_cg_version (cg) == 2) == (s_strv_len (procs) == 1));
    hs_cg_strv_free (procs);

    CHECK_EQ_INT (hs_cg_remove (cg, name), -EBUSY);
    CHECK_CONTAINS (hs_cg_last_error (cg), name);
    CHECK_EQ_INT (hs_cg_kill (cg, name, sig), 1);
    int status = s_wait_child (child, 10000);
    CHECK (s_killed_by (status, sig));
    CHECK_EQ_INT (hs_cg_remove (cg, name), 0);
    CHECK_EQ_INT (hs_cg_kill (cg, name, sig), -ENOENT);
    CHECK_EQ_INT (hs_cg_pids (cg, name, &pids), -ENOENT);
    CHECK_EQ_INT (hs_cg_attach (cg, name, getpid ()), -ENOENT);
}

typedef struct {
    hs_cg_t *cg;
    const char *name;
    int want;
    int reaped, reaped_sigkill;
} s_tree_t;

static bool s_tree_grown (void *arg)
{
    s_tree_t *t = arg;
    pid_t *pids = NULL;
    int n = hs_cg_pids (t->cg, t->name, &pids);
    free (pids);
    return n >= t->want;
}

static bool s_tree_gone (void *arg)
{
    s_tree_t *t = arg;
    int status;
    pid_t p;
    while ((p = waitpid (-1, &status, WNOHANG)) > 0) {
        t->reaped++;
        if (s_killed_by (status, SIGKILL)) t->reaped_sigkill++;
    }
    pid_t *pids = NULL;
    int n = hs_cg_pids (t->cg, t->name, &pids);
    free (pids);
    return n == 0 && p < 0; /* empty, and every process of ours reaped */
}

/* A child in the group starts 8 forkers, which fork blockers (up to 60
 * each) while the kill runs: one pass over the pids misses the late ones,
 * hs_cg_kill(SIGKILL) must get them all. pids.max bounds the tree where
 * the pids controller is there, should the kill fail (where it is not, a
 * pids limit is refused: the tree goes unbounded). */
static void s_kill_tree (hs_cg_t *cg, const char *name)
{
    hs_cg_limits_t lim = {.pids_max = 1000};
    int r = hs_cg_create (cg, name, &lim);
    if (r == -ENOTSUP) r = hs_cg_create (cg, name, NULL);
    CHECK_EQ_INT (r, 0);
    int rfd = s_new_release ();
    int go[2];
    if (pipe2 (go, O_CLOEXEC) < 0) abort ();
    pid_t child = fork ();
    if (child == 0) {
        s_child_close_releases ();
        close (go[1]);
        s_block (go[0]); /* until the parent has attached us */
        for (int i = 0; i < 8; i++)
            if (fork () == 0) {
                for (int k = 0; k < 60; k++)
                    if (fork () == 0) {
                        s_block (rfd);
                        _exit (0);
                    }
                s_block (rfd);
                _exit (0);
            }
        s_block (rfd);
        _exit (0);
    }
    close (go[0]);
    close (rfd);
    CHECK (child > 0);
    if (child <= 0) {
        close (go[1]);
        return;
    }
    CHECK_EQ_INT (hs_cg_attach (cg, name, child), 0);
    close (go[1]); /* go */

    s_tree_t t = {cg, name, 1 + 8 + 8, 0, 0};
    CHECK (hs_test_wait (s_tree_grown, &t, 20000));
    int n = hs_cg_kill (cg, name, SIGKILL);
    fprintf (stderr, "  %s: SIGKILL to %d processes\n", name, n);
    CHECK (n >= t.want);
    CHECK (s_killed_by (s_wait_child (child, 10000), SIGKILL));
    CHECK (hs_test_wait (s_tree_gone, &t, 20000));
    /* every process in the tree died of SIGKILL, none of old age */
    CHECK_EQ_INT (t.reaped, t.reaped_sigkill);
    CHECK (t.reaped_sigkill + 1 >= n);
    CHECK_EQ_INT (hs_cg_remove (cg, name), 0);
}

static void test_attach_kill (void)
{
    if (s_skip_all) return;
    hs_cg_t *cg = s_open_host ();
    if (!cg) return;
    s_attach_kill (cg, "attach", SIGKILL);
    s_attach_kill (cg, "term", SIGTERM);
    CHECK_EQ_INT (hs_cg_remove_parent (cg), 0);
    hs_cg_destroy (&cg);
    s_cleanup_all ();
}

static void test_kill_tree (void)
{
    if (s_skip_all) return;
    hs_cg_t *cg = s_open_host ();
    if (!cg) return;
    s_kill_tree (cg, "tree");
    CHECK_EQ_INT (hs_cg_remove_parent (cg), 0);
    hs_cg_destroy (&cg);
    s_cleanup_all ();
}

/* Whether the kernel has an OOM-kill counter for name, and why not. */
static const char *s_no_oom_counter (hs_cg_t *cg, const char *name)
{
    _cleanup_free_ char *events = s_ctl_path (cg, name, "memory.events");
    _cleanup_free_ char *ctl = s_ctl_path (cg, name, "memory.oom_control");
    const char *file = events ? events : ctl;
    if (!file) return "no memory controller for the group";
    FILE *f = fopen (file, "re");
    char line[256];
    bool has = false;
    while (f && fgets (line, sizeof line, f)) has |= hs_startswith (line, "oom_kill ");
    if (f) fclose (f);
    return has ? NULL : "the kernel has no oom_kill counter (before 4.13)";
}

static void test_oom (void)
{
    if (s_skip_all) return;
    hs_cg_t *cg = s_open_host ();
    if (!cg) return;
    hs_cg_limits_t lim = {.memory_max = 8 * MiB};
    CHECK_EQ_INT (hs_cg_create (cg, "oom", &lim), 0);
    const char *why = s_no_oom_counter (cg, "oom");
    uint64_t kills = 99;
    if (why) {
        fprintf (stderr, "  no OOM counter here: %s\n", why);
        CHECK_EQ_INT (hs_cg_oom_kills (cg, "oom", &kills), -ENOTSUP);
    } else {
        CHECK_EQ_INT (hs_cg_oom_kills (cg, "oom", &kills), 0);
        CHECK_EQ_INT (kills, 0);
    }

    /* the child joins as the shim will: "0" into each cgroup.procs */
    char **procs = hs_cg_procs_files (cg, "oom");
    pid_t child = fork ();
    if (child == 0) {
        s_child_close_releases ();
        for (size_t i = 0; procs && procs[i]; i++) {
            int fd = open (procs[i], O_WRONLY | O_CLOEXEC);
            if (fd < 0 || write (fd, "0", 1) != 1) _exit (3);
            close (fd);
        }
        size_t len = (size_t)(64 * MiB);
        volatile char *p =
            mmap (NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) _exit (4);
        for (size_t off = 0; off < len; off += 4096) p[off] = 1;
        _exit (0); /* survived: the limit did not hold */
    }
    hs_cg_strv_free (procs);
    CHECK (child > 0);
    int status = child > 0 ? s_wait_child (child, 60000) : -1;
    if (status != -1 && WIFEXITED (status))
        fprintf (stderr, "  OOM child exited %d instead of being killed\n", WEXITSTATUS (status));
    CHECK (s_killed_by (status, SIGKILL));
    int r = hs_cg_oom_kills (cg, "oom", &kills);
    if (why)
        CHECK_EQ_INT (r, -ENOTSUP);
    else {
        CHECK_EQ_INT (r, 0);
        CHECK (kills >= 1);
        fprintf (stderr, "  oom_kill = %llu\n", (unsigned long long)kills);
    }
    CHECK_EQ_INT (hs_cg_remove (cg, "oom"), 0);
    CHECK_EQ_INT (hs_cg_remove_parent (cg), 0);
    hs_cg_destroy (&cg);
    s_cleanup_all ();
}

typedef struct {
    hs_cg_t *cg;
    const char *name;
    hs_cg_usage_t u;
} s_usage_wait_t;

/* The group has used at least 100 ms of CPU (and, where memory is read,
 * holds the child's 8 MiB). */
static bool s_used (void *arg)
{
    s_usage_wait_t *w = arg;
    if (hs_cg_usage (w->cg, w->name, &w->u) < 0) return false;
    if (!(w->u.have & HS_CG_HAVE_CPU) || w->u.cpu_ns < 100000000) return false;
    return !(w->u.have & HS_CG_HAVE_MEMORY) || w->u.working_set >= 8 * MiB;
}

/* hs_cg_usage of a real group: a child joins it, burns 150 ms of CPU and
 * touches 16 MiB, then blocks; the group's CPU time and working set show
 * it. want_memory: the memory controller is there for the group. */
static void s_usage_real (hs_cg_t *cg, const char *name, bool want_memory)
{
    CHECK_EQ_INT (hs_cg_create (cg, name, NULL), 0);
    hs_cg_usage_t u;
    CHECK_EQ_INT (hs_cg_usage (cg, name, &u), 0);
    CHECK (u.have & HS_CG_HAVE_CPU);
    CHECK_EQ_INT (u.cpu_ns, 0);
    CHECK_EQ_INT ((u.have & HS_CG_HAVE_MEMORY) != 0, want_memory);
    int rfd = s_new_release ();
    char **procs = hs_cg_procs_files (cg, name);
    pid_t child = fork ();
    if (child == 0) {
        s_child_close_releases ();
        for (size_t i = 0; procs && procs[i]; i++) {
            int fd = open (procs[i], O_WRONLY | O_CLOEXEC);
            if (fd < 0 || write (fd, "0", 1) != 1) _exit (3);
            close (fd);
        }
        size_t len = (size_t)(16 * MiB);
        volatile char *p =
            mmap (NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) _exit (4);
        for (size_t off = 0; off < len; off += 4096) p[off] = 1;
        struct timespec ts;
        do clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
        while (ts.tv_sec == 0 && ts.tv_nsec < 150000000);
        s_block (rfd);
        _exit (0);
    }
    hs_cg_strv_free (procs);
    close (rfd);
    CHECK (child > 0);
    s_usage_wait_t w = {cg, name, {0}};
    bool used = child > 0 && hs_test_wait (s_used, &w, 60000);
    CHECK (used);
    fprintf (stderr, "  %s: cpu %llu ns, memory %lld bytes, working set %lld bytes\n", name,
             (unsigned long long)w.u.cpu_ns, (long long)w.u.memory_usage,
             (long long)w.u.working_set);
    if (want_memory) CHECK (w.u.working_set <= w.u.memory_usage);
    if (child > 0) {
        kill (child, SIGKILL);
        s_wait_child (child, 10000);
    }
    CHECK_EQ_INT (hs_cg_remove (cg, name), 0);
    CHECK_EQ_INT (hs_cg_usage (cg, name, &u), -ENOENT);
    CHECK_EQ_INT (hs_cg_usage (cg, "../x", &u), -EINVAL);
}

static void test_usage (void)
{
    if (s_skip_all) return;
    hs_cg_t *cg = s_open_host ();
    if (!cg) return;
    /* memory is there whenever the host has the controller */
    int64_t bytes;
    CHECK_EQ_INT (hs_cg_create (cg, "probe", NULL), 0);
    bool mem = hs_cg_memory_usage (cg, "probe", &bytes) == 0;
    CHECK_EQ_INT (hs_cg_remove (cg, "probe"), 0);
    s_usage_real (cg, "usage", mem);
    CHECK_EQ_INT (hs_cg_remove_parent (cg), 0);
    hs_cg_destroy (&cg);
    s_cleanup_all ();
}

static void test_v2_mount (void)
{
    if (s_skip_all) return;
    snprintf (s_v2dir, sizeof s_v2dir, "/tmp/hs-test-cg2-XXXXXX");
    if (!mkdtemp (s_v2dir)) {
        fprintf (stderr, "  skip: mkdtemp: %s\n", strerror (errno));
        s_v2dir[0] = '\0';
        return;
    }
    if (mount ("none", s_v2dir, "cgroup2", 0, NULL) < 0) {
        fprintf (stderr, "  skip: cannot mount cgroup2 at %s: %s\n", s_v2dir, strerror (errno));
        s_cleanup_all ();
        return;
    }
    s_v2mounted = true;

    hs_cg_t *cg = NULL;
    CHECK_EQ_INT (hs_cg_open (s_v2dir, s_parent, &cg), 0);
    if (!cg) {
        s_cleanup_all ();
        return;
    }
    CHECK_EQ_INT (hs_cg_version (cg), 2);
    hs_cg_limits_t lim = {
        .memory_max = 64 * MiB, .cpu_max_milli = 500, .cpu_request_milli = 250, .pids_max = 100};
    /* The tree may lack controllers (a v1 host binds memory and cpu to its
     * v1 hierarchies): a limit that needs one is an error naming it and the
     * group, and leaves no group; a group without such limits is made. */
    _cleanup_free_ char *dir = hs_sprintf ("%s/%s/v2", s_v2dir, s_parent);
    _cleanup_free_ char *ctrls_path =
        hs_sprintf ("%s/%s/cgroup.subtree_control", s_v2dir, s_parent);
    _cleanup_free_ char *ctrls = s_slurp (ctrls_path);
    CHECK (ctrls != NULL);
    fprintf (stderr, "  v2 group controllers: \"%s\"\n", hs_s (ctrls));
    _cleanup_free_ char *missing = hs_cg_unavailable (cg);
    bool all = ctrls && strstr (ctrls, "memory") && strstr (ctrls, "cpu") && strstr (ctrls, "pids");
    CHECK_EQ_INT (missing == NULL, all);
    static const struct {
        const char *ctrl;
        hs_cg_limits_t lim;
        const char *says;
    } one[] = {
        {"memory",
         {.memory_max = 64 * MiB},
         "memory limit 67108864 bytes: cgroup controller memory"},
        {"cpu", {.cpu_max_milli = 500}, "CPU limit 500m: cgroup controller cpu"},
        {"pids", {.pids_max = 100}, "pids limit 100: cgroup controller pids"},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (one); i++) {
        if (ctrls && strstr (ctrls, one[i].ctrl)) continue;
        CHECK (missing && strstr (missing, one[i].ctrl));
        CHECK_EQ_INT (hs_cg_create (cg, "v2", &one[i].lim), -ENOTSUP);
        const char *err = hs_cg_last_error (cg);
        CHECK (strstr (err, one[i].says) != NULL);
        CHECK (strstr (err, dir) != NULL); /* names the group */
        CHECK (access (dir, F_OK) != 0);   /* and leaves none behind */
        fprintf (stderr, "  %s\n", err);
    }
    if (!all) {
        /* a CPU request alone is a weight, not a limit: made without it */
        hs_cg_limits_t req = {.cpu_request_milli = 250};
        if (ctrls && strstr (ctrls, "memory")) req.memory_max = lim.memory_max;
        if (ctrls && strstr (ctrls, "cpu")) req.cpu_max_milli = lim.cpu_max_milli;
        if (ctrls && strstr (ctrls, "pids")) req.pids_max = lim.pids_max;
        lim = req;
    }
    CHECK_EQ_INT (hs_cg_create (cg, "v2", &lim), 0);
    char *s;
    if (ctrls && strstr (ctrls, "memory")) {
        s = s_ctl (cg, "v2", "memory.max");
        CHECK_EQ_STR (s, "67108864");
        free (s);
    } else {
        uint64_t u;
        int64_t i64;
        CHECK_EQ_INT (hs_cg_oom_kills (cg, "v2", &u), -ENOTSUP);
        CHECK_EQ_INT (hs_cg_memory_usage (cg, "v2", &i64), -ENOTSUP);
    }
    if (ctrls && strstr (ctrls, "pids")) {
        s = s_ctl (cg, "v2", "pids.max");
        CHECK_EQ_STR (s, "100");
        free (s);
    }
    char **procs = hs_cg_procs_files (cg, "v2");
    CHECK_EQ_INT (s_strv_len (procs), 1);
    _cleanup_free_ char *want = hs_sprintf ("%s/cgroup.procs", dir);
    if (procs) CHECK_EQ_STR (procs[0], want);
    hs_cg_strv_free (procs);
    CHECK_EQ_INT (hs_cg_remove (cg, "v2"), 0);

    /* cpu.stat is a core file of v2: CPU time without the cpu controller */
    s_usage_real (cg, "v2-usage", ctrls && strstr (ctrls, "memory"));
    s_attach_kill (cg, "v2-kill", SIGKILL); /* cgroup.kill where the kernel has it */
    s_attach_kill (cg, "v2-term", SIGTERM); /* the pid loop */
    s_kill_tree (cg, "v2-tree");
    char **list = hs_cg_list (cg);
    CHECK (list && s_strv_len (list) == 0);
    hs_cg_strv_free (list);
    CHECK_EQ_INT (hs_cg_remove_parent (cg), 0);
    hs_cg_destroy (&cg);

    s_cleanup_all ();
    CHECK (!s_v2mounted);
    CHECK_EQ_INT (s_v2dir[0], '\0');
}

static void test_nothing_left (void)
{
    if (s_skip_all) return;
    s_cleanup_all ();
    CHECK_EQ_INT (s_leftovers (true), 0);
    FILE *f = fopen ("/proc/self/mounts", "re");
    char line[4096];
    while (f && fgets (line, sizeof line, f)) CHECK (!strstr (line, "hs-test-cg2-"));
    if (f) fclose (f);
    errno = 0;
    CHECK (waitpid (-1, NULL, WNOHANG) < 0 && errno == ECHILD);
}

int main (int argc, char **argv)
{
    snprintf (s_parent, sizeof s_parent, "hs-test-cg-%d", (int)getpid ());
    /* orphaned grandchildren come to us, so every process is reaped here */
    prctl (PR_SET_CHILD_SUBREAPER, 1);
    atexit (s_cleanup_all);
    if (geteuid () != 0) {
        fprintf (stderr, "skip: cgroup tests need root\n");
        s_skip_all = true;
    } else {
        hs_cg_t *cg = NULL;
        int r = hs_cg_open (NULL, s_parent, &cg);
        if (r == -EROFS || r == -EACCES || r == -EPERM || r == -ENOENT) {
            fprintf (stderr, "skip: no writable cgroup hierarchy here: %s\n", strerror (-r));
            s_skip_all = true;
        }
        hs_cg_destroy (&cg);
        s_cleanup_all ();
    }
    static const hs_test_t tests[] = {
        {"conversions", test_conversions},
        {"bad_names", test_bad_names},
        {"limits", test_limits},
        {"attach_kill", test_attach_kill},
        {"kill_tree", test_kill_tree},
        {"oom", test_oom},
        {"usage", test_usage},
        {"v2_mount", test_v2_mount},
        {"nothing_left", test_nothing_left},
    };
    return HS_TEST_RUN (tests);
}
