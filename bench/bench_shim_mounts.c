/*  bench_shim_mounts.c: bench-shim-mounts, what a container's volume mounts
 *  cost at its start (hs-shim --mount, agents/node/shim_mounts.h).
 *
 *  Runs hs-shim directly (no control plane), N times per row, each with
 *  /bin/true as the container, and times each start: from our fork of
 *  hs-shim until its foreground exits (the container is exec'd, or failed
 *  to). Rows:
 *    no mount;
 *    one mount on a mount point that exists (a directory of ours);
 *    one on a missing mount point under /etc: /etc is covered with a
 *      tmpfs holding its entries bound back (one bind per entry);
 *    one under /: the same, built on a staging directory, then pivot_root;
 *    three under /etc and / at once.
 *  The entries of the covered directory are counted in the table: the cost
 *  grows with them. Needs root (mount namespaces). Prints a table; no
 *  pass/fail. Nothing is mounted outside the containers' own namespaces.
 */
#include "benchlib.h"
#include "hs_util.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int s_entries (const char *dir)
{
    DIR *d = opendir (dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir (d)))
        if (strcmp (de->d_name, ".") && strcmp (de->d_name, "..")) n++;
    closedir (d);
    return n;
}

/* One start: ns from fork to the foreground's exit; dies if it failed. */
static int64_t s_start (const char *shim, const char *state, char *const *mounts, int n_mounts)
{
    char *argv[32];
    int k = 0;
    argv[k++] = (char *)shim;
    argv[k++] = (char *)"--state";
    argv[k++] = (char *)state;
    for (int i = 0; i < n_mounts; i++) {
        argv[k++] = (char *)"--mount";
        argv[k++] = mounts[i];
    }
    argv[k++] = (char *)"--";
    argv[k++] = (char *)"/bin/true";
    argv[k] = NULL;
    int64_t t0 = hs_mono_ns ();
    pid_t pid = fork ();
    if (pid < 0) bl_die ("fork: %s", strerror (errno));
    if (pid == 0) {
        execv (shim, argv);
        _exit (127);
    }
    int st;
    while (waitpid (pid, &st, 0) < 0 && errno == EINTR) {}
    int64_t dt = hs_mono_ns () - t0;
    if (!WIFEXITED (st) || WEXITSTATUS (st) != 0) {
        _cleanup_free_ char *err = hs_sprintf ("%s/error", state);
        bl_tail_log (err, 5);
        bl_die ("hs-shim failed (status %d)", st);
    }
    /* The shim's daemon (ours: we are its subreaper) ends with the container. */
    while (waitpid (-1, &st, 0) > 0 || errno == EINTR) {}
    return dt;
}

int main (int argc, char **argv)
{
    bl_init ("bench-shim-mounts");
    const char *bin = NULL;
    int runs = 50;
    static const struct option opts[] = {{"bin", required_argument, NULL, 'b'},
                                         {"runs", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': bin = optarg; break;
        case 'r': runs = bl_parse_int ("--runs", optarg, 1, 100000); break;
        case 'h':
            printf ("usage: bench-shim-mounts [--bin DIR] [--runs N]\n"
                    "  --bin DIR   where hs-shim is\n"
                    "  --runs N    starts per row (default 50)\n"
                    "Needs root (mount namespaces).\n");
            return 0;
        default: return 2;
        }
    }
    if (geteuid () != 0) {
        fprintf (stderr, "bench-shim-mounts: needs root (mount namespaces); skipped\n");
        return 0;
    }
    _cleanup_free_ char *shim = bl_find_bin ("hs-shim", bin);
    _cleanup_free_ char *tmp = bl_tmpdir ("shim-mounts");
    prctl (PR_SET_CHILD_SUBREAPER, 1);
    _cleanup_free_ char *src = hs_sprintf ("%s/src", tmp);
    _cleanup_free_ char *there = hs_sprintf ("%s/there", tmp);
    if (mkdir (src, 0755) < 0 || mkdir (there, 0755) < 0) bl_die ("mkdir: %s", strerror (errno));
    int pid = (int)getpid ();
    _cleanup_free_ char *m_there = hs_sprintf ("%s:%s:ro", src, there);
    _cleanup_free_ char *m_etc = hs_sprintf ("%s:/etc/hs-bench-%d:ro", src, pid);
    _cleanup_free_ char *m_root = hs_sprintf ("%s:/hs-bench-%d:ro", src, pid);
    _cleanup_free_ char *m_root2 = hs_sprintf ("%s:/hs-bench-%d-b/x", src, pid);
    struct {
        const char *name;
        char *mounts[3];
        int n;
        const char *covered;
    } rows[] = {
        {"no mount", {NULL}, 0, NULL},
        {"mount point exists", {m_there}, 1, NULL},
        {"missing under /etc", {m_etc}, 1, "/etc"},
        {"missing under /", {m_root}, 1, "/"},
        {"3: /etc, / and /", {m_etc, m_root, m_root2}, 3, "/etc, /"},
    };
    printf ("bench-shim-mounts: %d container starts per row (hs-shim ... -- /bin/true),\n"
            "from fork until the container is exec'd\n\n",
            runs);
    printf ("| mounts | entries covered | p50 | p90 | max |\n|---|---|---|---|---|\n");
    int seq = 0;
    for (size_t r = 0; r < HS_ARRAY_LEN (rows); r++) {
        bl_samples_t s = {0};
        for (int i = 0; i < runs; i++) {
            _cleanup_free_ char *state = hs_sprintf ("%s/run-%d", tmp, seq++);
            bl_samples_add (&s, (uint64_t)s_start (shim, state, rows[r].mounts, rows[r].n));
        }
        bl_samples_sort (&s);
        char cov[64] = "-";
        if (rows[r].covered && !strcmp (rows[r].covered, "/etc"))
            snprintf (cov, sizeof cov, "%d (/etc)", s_entries ("/etc"));
        else if (rows[r].covered && !strcmp (rows[r].covered, "/"))
            snprintf (cov, sizeof cov, "%d (/)", s_entries ("/"));
        else if (rows[r].covered)
            snprintf (cov, sizeof cov, "%d + %d", s_entries ("/etc"), s_entries ("/"));
        char a[32], b[32], m[32];
        printf ("| %s | %s | %s | %s | %s |\n", rows[r].name, cov,
                bl_fmt_ns (bl_pct (&s, 50), a, sizeof a), bl_fmt_ns (bl_pct (&s, 90), b, sizeof b),
                bl_fmt_ns (bl_pct (&s, 100), m, sizeof m));
        bl_samples_free (&s);
    }
    return 0;
}
