/*  benchlib.c: temp dirs, spawned processes, workers and samples for the
 *  benchmarks (see benchlib.h).
 *
 *  Cleanup must also work from a signal handler, so what it needs is kept in
 *  fixed arrays and it uses only async-signal-safe calls (kill, waitpid,
 *  fork/execve of rm -rf).
 */
#include "benchlib.h"
#include "hs_cred.h"
#include "hs_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROCS 64
#define MAX_DIRS  16

static const char *s_prog = "bench";
static pid_t s_procs[MAX_PROCS];
static int s_nprocs;
static char s_dirs[MAX_DIRS][PATH_MAX];
static int s_ndirs;
static bool s_is_child;
static volatile sig_atomic_t s_cleaning;

/* ------------------------------------------------------------------ clocks */

void bl_sleep_until (int64_t t)
{
    struct timespec ts = {(time_t)(t / 1000000000LL), (long)(t % 1000000000LL)};
    while (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
}

/* ------------------------------------------------------------------ cleanup */

static void s_reap (pid_t pid, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        pid_t r = waitpid (pid, NULL, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD)) return;
        struct timespec ts = {0, 10000000};
        nanosleep (&ts, NULL);
    }
    kill (pid, SIGKILL);
    waitpid (pid, NULL, 0);
}

static void s_rmrf (const char *dir)
{
    pid_t pid = fork ();
    if (pid == 0) {
        char *const argv[] = {"rm", "-rf", "--", (char *)dir, NULL};
        char *const envp[] = {NULL};
        execve ("/bin/rm", argv, envp);
        _exit (127);
    }
    if (pid > 0) waitpid (pid, NULL, 0);
}

void bl_cleanup (void)
{
    if (s_is_child || s_cleaning) return;
    s_cleaning = 1;
    for (int i = 0; i < s_nprocs; i++)
        if (s_procs[i] > 0) kill (s_procs[i], SIGTERM);
    for (int i = 0; i < s_nprocs; i++)
        if (s_procs[i] > 0) {
            s_reap (s_procs[i], 3000);
            s_procs[i] = 0;
        }
    s_nprocs = 0;
    for (int i = 0; i < s_ndirs; i++) s_rmrf (s_dirs[i]);
    s_ndirs = 0;
    s_cleaning = 0;
}

static void s_on_signal (int sig)
{
    if (s_is_child) _exit (128 + sig);
    bl_cleanup ();
    signal (sig, SIG_DFL);
    raise (sig);
}

void bl_init (const char *prog)
{
    s_prog = prog;
    /* Benchmarks measure a plaintext bus unless they ask for CURVE
     * (bl_plane_start_pki, hs_bus_use_credential): the spawned hs-bus and
     * hs-store and every forked client inherit this. */
    if (!getenv ("HS_CREDENTIAL")) setenv ("HS_INSECURE", "1", 0);
    atexit (bl_cleanup);
    struct sigaction sa = {0};
    sa.sa_handler = s_on_signal;
    sigemptyset (&sa.sa_mask);
    sigaddset (&sa.sa_mask, SIGINT);
    sigaddset (&sa.sa_mask, SIGTERM);
    sigaddset (&sa.sa_mask, SIGHUP);
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGTERM, &sa, NULL);
    sigaction (SIGHUP, &sa, NULL);
    signal (SIGPIPE, SIG_IGN);
    setvbuf (stdout, NULL, _IOLBF, 0);
}

static void (*s_first) (void);

/* The signal handler once bl_cleanup_first was called: fn, the rest, die. */
static void s_on_signal_first (int sig)
{
    s_first ();
    bl_cleanup ();
    signal (sig, SIG_DFL);
    raise (sig);
}

void bl_cleanup_first (void (*fn) (void))
{
    s_first = fn;
    atexit (fn); /* runs before bl_cleanup, which bl_init registered earlier */
    /* No signal masked during the handler (unlike bl_init's): a second
     * Ctrl-C while the workloads are being killed ends us at once. */
    struct sigaction sa = {0};
    sa.sa_handler = s_on_signal_first;
    sigemptyset (&sa.sa_mask);
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGTERM, &sa, NULL);
    sigaction (SIGHUP, &sa, NULL);
}

void bl_die (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    fprintf (stderr, "%s: ", s_prog);
    vfprintf (stderr, fmt, ap);
    fprintf (stderr, "\n");
    va_end (ap);
    if (s_is_child) _exit (1);
    exit (1);
}

char *bl_tmpdir (const char *tag)
{
    if (s_ndirs >= MAX_DIRS) bl_die ("too many temp dirs");
    const char *base = getenv ("TMPDIR");
    if (hs_empty (base)) base = "/tmp";
    char *path = hs_sprintf ("%s/hs-bench-%s-XXXXXX", base, tag);
    if (!mkdtemp (path)) bl_die ("cannot create a temp dir in %s: %s", base, strerror (errno));
    snprintf (s_dirs[s_ndirs++], PATH_MAX, "%s", path);
    return path;
}

/* In a forked child: die with the parent, default signals, no parent cleanup. */
static void s_child_setup (void)
{
    s_is_child = true;
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    signal (SIGINT, SIG_DFL);
    signal (SIGTERM, SIG_DFL);
    signal (SIGHUP, SIG_DFL);
    signal (SIGPIPE, SIG_DFL);
}

pid_t bl_spawn (char *const argv[], const char *log_path)
{
    if (s_nprocs >= MAX_PROCS) bl_die ("too many processes");
    fflush (stdout);
    fflush (stderr);
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid < 0) bl_die ("fork: %s", strerror (errno));
    if (pid == 0) {
        s_child_setup ();
        if (getppid () != parent) _exit (1);
        if (log_path) {
            int fd = open (log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                dup2 (fd, 1);
                dup2 (fd, 2);
                close (fd);
            }
        }
        int devnull = open ("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2 (devnull, 0);
        execv (argv[0], argv);
        fprintf (stderr, "cannot run %s: %s\n", argv[0], strerror (errno));
        _exit (127);
    }
    s_procs[s_nprocs++] = pid;
    return pid;
}

int bl_stop (pid_t pid)
{
    int status = -1;
    for (int i = 0; i < s_nprocs; i++) {
        if (s_procs[i] != pid) continue;
        kill (pid, SIGTERM);
        int64_t deadline = hs_mono_ns () + 3000000000LL;
        for (;;) {
            pid_t r = waitpid (pid, &status, WNOHANG);
            if (r == pid || r < 0) break;
            if (hs_mono_ns () > deadline) {
                kill (pid, SIGKILL);
                waitpid (pid, &status, 0);
                break;
            }
            usleep (10000);
        }
        s_procs[i] = s_procs[--s_nprocs];
        return status;
    }
    return -1;
}

bool bl_alive (pid_t pid)
{
    int status;
    pid_t r = waitpid (pid, &status, WNOHANG);
    if (r == 0) return true;
    for (int i = 0; i < s_nprocs; i++)
        if (s_procs[i] == pid) {
            s_procs[i] = s_procs[--s_nprocs];
            break;
        }
    return false;
}

void bl_tail_log (const char *path, int lines)
{
    FILE *f = fopen (path, "r");
    if (!f) return;
    char *ring[64] = {0};
    if (lines > 64) lines = 64;
    char buf[1024];
    int n = 0;
    while (fgets (buf, sizeof buf, f)) {
        free (ring[n % lines]);
        ring[n % lines] = hs_strdup (buf);
        n++;
    }
    fclose (f);
    fprintf (stderr, "--- last lines of %s:\n", path);
    for (int i = n > lines ? n - lines : 0; i < n; i++) fputs (ring[i % lines], stderr);
    for (int i = 0; i < 64; i++) free (ring[i]);
}

void bl_wait_log (const char *path, const char *what, pid_t pid, int timeout_ms)
{
    int64_t deadline = hs_mono_ns () + timeout_ms * 1000000LL;
    for (;;) {
        FILE *f = fopen (path, "re");
        char line[1024];
        bool found = false;
        while (f && !found && fgets (line, sizeof line, f)) found = strstr (line, what) != NULL;
        if (f) fclose (f);
        if (found) return;
        if (!bl_alive (pid) || hs_mono_ns () > deadline) {
            bl_tail_log (path, 20);
            bl_die ("no \"%s\" in %s", what, path);
        }
        usleep (20000); /* polling interval of a deadline wait */
    }
}

char *bl_find_bin (const char *name, const char *dir)
{
    char self[PATH_MAX];
    ssize_t len = readlink ("/proc/self/exe", self, sizeof self - 1);
    self[len > 0 ? len : 0] = '\0';
    char *slash = strrchr (self, '/');
    if (slash) *slash = '\0';
    const char *env = getenv ("HS_BIN");
    char *cands[4] = {
        dir ? hs_sprintf ("%s/%s", dir, name) : NULL,
        !hs_empty (env) ? hs_sprintf ("%s/%s", env, name) : NULL,
        *self ? hs_sprintf ("%s/%s", self, name) : NULL,
        *self ? hs_sprintf ("%s/../bin/%s", self, name) : NULL,
    };
    char *found = NULL;
    for (int i = 0; i < 4; i++) {
        /* An explicit dir is authoritative. */
        bool usable = cands[i] && (!dir || i == 0);
        if (!found && usable && access (cands[i], X_OK) == 0)
            found = cands[i];
        else
            free (cands[i]);
    }
    return found;
}

void bl_find_bins (const char *const names[], int n, const char *dir, char *ret[])
{
    for (int i = 0; i < n; i++)
        if (!(ret[i] = bl_find_bin (names[i], dir)))
            bl_die ("cannot find %s (--bin, $HS_BIN, next to %s); build it first", names[i],
                    s_prog);
}

/* ------------------------------------------------------------------ hs-bus + hs-store */

void bl_plane_start_pki (bl_plane_t *p, const char *dir, char *hsbus, char *hsstore, bool nosync,
                         const char *pki)
{
    memset (p, 0, sizeof *p);
    int port = bl_free_port (true);
    char port_s[16];
    snprintf (port_s, sizeof port_s, "%d", port);
    snprintf (p->bus, sizeof p->bus, "127.0.0.1:%d", port);
    p->bus_log = hs_sprintf ("%s/hs-bus.log", dir);
    p->store_log = hs_sprintf ("%s/hs-store.log", dir);
    p->data = hs_sprintf ("%s/store", dir);
    char *a_bus[] = {hsbus,       "--bind", "127.0.0.1",
                     "--port",    port_s,   pki ? "--pki" : "--insecure",
                     (char *)pki, NULL};
    p->bus_pid = bl_spawn (a_bus, p->bus_log);
    /* hs-bus binds PUB on port+1 after XSUB on port: +1 accepting means both do. */
    if (bl_wait_tcp (port + 1, 5000) < 0) bl_die ("hs-bus did not start");
    _cleanup_free_ char *cred = pki ? hs_sprintf ("HS_CREDENTIAL=%s/creds/store.cred", pki) : NULL;
    /* env execs hs-store in place: the pid is hs-store's */
    char *a_store[] = {"/usr/bin/env",
                       cred ? cred : "HS_INSECURE=1",
                       hsstore,
                       "--bus",
                       p->bus,
                       "--data",
                       p->data,
                       "--cluster-cidr",
                       BL_CLUSTER_CIDR,
                       nosync ? "--no-sync" : NULL,
                       NULL};
    p->store_pid = bl_spawn (a_store, p->store_log);
}

void bl_plane_start (bl_plane_t *p, const char *dir, char *hsbus, char *hsstore, bool nosync)
{
    bl_plane_start_pki (p, dir, hsbus, hsstore, nosync, NULL);
}

void bl_pki_make (const char *dir, const char *const *ids, size_t n)
{
    _cleanup_free_ char *keys = hs_sprintf ("%s/keys", dir);
    _cleanup_free_ char *creds = hs_sprintf ("%s/creds", dir);
    _cleanup_free_ char *bpath = hs_sprintf ("%s/broker.key_secret", dir);
    char bpub[HS_CRED_Z85_LEN + 1], pub[HS_CRED_Z85_LEN + 1];
    if (hs_mkdir_p (keys, 0755) < 0 || hs_mkdir_p (creds, 0700) < 0 ||
        hs_cred_broker_create (bpath, bpub) < 0)
        bl_die ("cannot make a PKI in %s", dir);
    for (size_t i = 0; i < n; i++) {
        _cleanup_free_ char *name = hs_strdup (ids[i]);
        for (char *c = name; *c; c++)
            if (*c == ':') *c = '-';
        _cleanup_free_ char *path = hs_sprintf ("%s/%s.cred", creds, name);
        if (hs_cred_create (path, ids[i], bpub, pub) < 0 ||
            hs_cred_key_write (keys, name, pub, ids[i], 0) < 0)
            bl_die ("cannot make a credential for %s in %s", ids[i], dir);
    }
}

void bl_plane_free (bl_plane_t *p)
{
    free (p->bus_log);
    free (p->store_log);
    free (p->data);
    p->bus_log = p->store_log = p->data = NULL;
}

/* ------------------------------------------------------------------ network */

static int s_port_free (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons ((uint16_t)port)};
    a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    int ok = bind (fd, (struct sockaddr *)&a, sizeof a) == 0;
    close (fd);
    return ok;
}

int bl_free_port (bool pair)
{
    /* Outside the usual ephemeral range (32768-60999) so that our own client
     * connections cannot take it between this check and the bind. */
    static unsigned seed;
    if (!seed) seed = (unsigned)(getpid () ^ hs_mono_ns ());
    for (int tries = 0; tries < 1000; tries++) {
        int port = 20000 + (int)(rand_r (&seed) % 12000);
        if (s_port_free (port) && (!pair || s_port_free (port + 1))) return port;
    }
    bl_die ("no free loopback port found");
}

int bl_wait_tcp (int port, int timeout_ms)
{
    int64_t deadline = hs_mono_ns () + (int64_t)timeout_ms * 1000000;
    while (hs_mono_ns () < deadline) {
        int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons ((uint16_t)port)};
        a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
        int ok = connect (fd, (struct sockaddr *)&a, sizeof a) == 0;
        close (fd);
        if (ok) return 0;
        usleep (20000);
    }
    return -ETIMEDOUT;
}

/* ------------------------------------------------------------------ workers */

struct bl_group {
    int n;
    pid_t *pids;
    int ready_rd; /* children write 'R' or 'E' + text */
    int go_wr;    /* parent writes the 8-byte start time once per child */
};

static int s_ready_wr = -1, s_go_rd = -1;

bl_group_t *bl_group_start (int n, bl_worker_fn *fn, void *arg)
{
    int ready[2], go[2];
    if (pipe2 (ready, O_CLOEXEC) < 0 || pipe2 (go, O_CLOEXEC) < 0)
        bl_die ("pipe: %s", strerror (errno));
    bl_group_t *g = hs_calloc (1, sizeof *g);
    g->n = n;
    g->pids = hs_calloc ((size_t)n, sizeof (pid_t));
    g->ready_rd = ready[0];
    g->go_wr = go[1];
    fflush (stdout);
    fflush (stderr);
    pid_t parent = getpid ();
    for (int i = 0; i < n; i++) {
        pid_t pid = fork ();
        if (pid < 0) bl_die ("fork: %s", strerror (errno));
        if (pid == 0) {
            s_child_setup ();
            if (getppid () != parent) _exit (1);
            close (ready[0]);
            close (go[1]);
            s_ready_wr = ready[1];
            s_go_rd = go[0];
            int rc = fn (arg, i);
            fflush (stdout);
            fflush (stderr);
            _exit (rc);
        }
        g->pids[i] = pid;
    }
    close (ready[1]);
    close (go[0]);
    return g;
}

int64_t bl_worker_ready (void)
{
    char c = 'R';
    if (write (s_ready_wr, &c, 1) != 1) _exit (1);
    int64_t t0;
    ssize_t r;
    do r = read (s_go_rd, &t0, sizeof t0);
    while (r < 0 && errno == EINTR);
    if (r != sizeof t0) _exit (1); /* the parent gave up */
    return t0;
}

void bl_worker_fail (const char *fmt, ...)
{
    char msg[256];
    msg[0] = 'E';
    va_list ap;
    va_start (ap, fmt);
    int len = vsnprintf (msg + 1, sizeof msg - 2, fmt, ap);
    va_end (ap);
    if (len < 0) len = 0;
    if (len > (int)sizeof msg - 3) len = (int)sizeof msg - 3;
    msg[1 + len] = '\n';
    /* One write below PIPE_BUF: not interleaved with other workers. */
    if (write (s_ready_wr, msg, (size_t)len + 2) < 0) {}
    _exit (1);
}

int bl_group_go (bl_group_t *g, int timeout_ms, int lead_ms, int64_t *ret_t0)
{
    int64_t deadline = hs_mono_ns () + (int64_t)timeout_ms * 1000000;
    int ready = 0;
    char buf[512];
    while (ready < g->n) {
        int left = (int)((deadline - hs_mono_ns ()) / 1000000);
        if (left <= 0) {
            fprintf (stderr, "%s: only %d of %d workers got ready within %d ms\n", s_prog, ready,
                     g->n, timeout_ms);
            return -1;
        }
        struct pollfd p = {g->ready_rd, POLLIN, 0};
        if (poll (&p, 1, left) <= 0) continue;
        ssize_t r = read (g->ready_rd, buf, sizeof buf - 1);
        if (r <= 0) {
            fprintf (stderr, "%s: a worker exited before getting ready\n", s_prog);
            return -1;
        }
        for (ssize_t i = 0; i < r; i++) {
            if (buf[i] == 'R') {
                ready++;
            } else if (buf[i] == 'E') {
                buf[r] = '\0';
                fprintf (stderr, "%s: worker failed: %s", s_prog, buf + i + 1);
                return -1;
            }
        }
    }
    int64_t t0 = hs_mono_ns () + (int64_t)lead_ms * 1000000;
    for (int i = 0; i < g->n; i++)
        if (write (g->go_wr, &t0, sizeof t0) != sizeof t0) return -1;
    *ret_t0 = t0;
    return 0;
}

int bl_group_wait (bl_group_t **g_p, int timeout_ms)
{
    bl_group_t *g = *g_p;
    if (!g) return 0;
    /* Closing go makes any worker still waiting for it exit. */
    close (g->go_wr);
    int failed = 0;
    int64_t deadline = hs_mono_ns () + (int64_t)timeout_ms * 1000000;
    for (int i = 0; i < g->n; i++) {
        int status = 0;
        for (;;) {
            pid_t r = waitpid (g->pids[i], &status, WNOHANG);
            if (r == g->pids[i]) break;
            if (r < 0) {
                status = -1;
                break;
            }
            if (hs_mono_ns () > deadline) {
                kill (g->pids[i], SIGKILL);
                waitpid (g->pids[i], &status, 0);
                break;
            }
            usleep (5000);
        }
        if (!(WIFEXITED (status) && WEXITSTATUS (status) == 0)) failed++;
    }
    close (g->ready_rd);
    free (g->pids);
    free (g);
    *g_p = NULL;
    return failed;
}

/* ------------------------------------------------------------------ samples */

void bl_samples_add (bl_samples_t *s, uint64_t v)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->v = hs_realloc (s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = v;
}

void bl_samples_merge (bl_samples_t *into, const bl_samples_t *from)
{
    for (size_t i = 0; i < from->n; i++) bl_samples_add (into, from->v[i]);
}

void bl_samples_free (bl_samples_t *s)
{
    free (s->v);
    memset (s, 0, sizeof *s);
}

static int s_cmp_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void bl_samples_sort (bl_samples_t *s)
{
    if (s->n) qsort (s->v, s->n, sizeof *s->v, s_cmp_u64);
}

uint64_t bl_pct (const bl_samples_t *s, double pct)
{
    if (!s->n) return 0;
    /* Nearest rank. */
    size_t rank = (size_t)((pct / 100.0) * (double)s->n + 0.999999);
    if (rank < 1) rank = 1;
    if (rank > s->n) rank = s->n;
    return s->v[rank - 1];
}

int bl_result_write (const char *path, const bl_result_t *r)
{
    FILE *f = fopen (path, "wb");
    if (!f) return -errno;
    fwrite (r->c, sizeof r->c, 1, f);
    for (int i = 0; i < 2; i++) {
        uint64_t n = r->s[i].n;
        fwrite (&n, sizeof n, 1, f);
        if (n) fwrite (r->s[i].v, sizeof (uint64_t), n, f);
    }
    return fclose (f) == 0 ? 0 : -EIO;
}

int bl_result_read (const char *path, bl_result_t *r)
{
    memset (r, 0, sizeof *r);
    FILE *f = fopen (path, "rb");
    if (!f) return -errno;
    int rc = 0;
    if (fread (r->c, sizeof r->c, 1, f) != 1) rc = -EIO;
    for (int i = 0; i < 2 && rc == 0; i++) {
        uint64_t n;
        if (fread (&n, sizeof n, 1, f) != 1 || n > (1ULL << 32)) {
            rc = -EIO;
            break;
        }
        r->s[i].v = hs_malloc ((n ? n : 1) * sizeof (uint64_t));
        r->s[i].n = r->s[i].cap = n;
        if (n && fread (r->s[i].v, sizeof (uint64_t), n, f) != n) rc = -EIO;
    }
    fclose (f);
    return rc;
}

void bl_result_free (bl_result_t *r)
{
    bl_samples_free (&r->s[0]);
    bl_samples_free (&r->s[1]);
}

/* ------------------------------------------------------------------ flags */

int bl_parse_int (const char *flag, const char *s, int lo, int hi)
{
    int64_t v;
    if (hs_parse_i64 (s, &v) < 0 || v < lo || v > hi) bl_die ("%s: %s", flag, s);
    return (int)v;
}

double bl_parse_seconds (const char *flag, const char *s, bool zero_ok)
{
    double v = atof (s);
    /* atof: anything unparsable reads as 0, which only zero_ok accepts. */
    if ((zero_ok ? v < 0 : v <= 0) || v > 600) bl_die ("%s: %s", flag, s);
    return v;
}

/* ------------------------------------------------------------------ format */

const char *bl_fmt_ns (uint64_t ns, char *buf, size_t len)
{
    if (ns >= 10000000000ULL)
        snprintf (buf, len, "%.0f s", ns / 1e9);
    else if (ns >= 1000000000ULL)
        snprintf (buf, len, "%.2f s", ns / 1e9);
    else if (ns >= 10000000ULL)
        snprintf (buf, len, "%.1f ms", ns / 1e6);
    else if (ns >= 1000000ULL)
        snprintf (buf, len, "%.2f ms", ns / 1e6);
    else
        snprintf (buf, len, "%.0f us", ns / 1e3);
    return buf;
}

const char *bl_fmt_count (double v, char *buf, size_t len)
{
    char digits[32];
    snprintf (digits, sizeof digits, "%.0f", v);
    size_t n = strlen (digits), o = 0;
    for (size_t i = 0; i < n && o + 2 < len; i++) {
        if (i > 0 && digits[i - 1] != '-' && (n - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

/* ------------------------------------------------------------------ real workloads */

static void s_kill_procs_file (const char *path)
{
    FILE *f = fopen (path, "re");
    if (!f) return;
    int pid;
    while (fscanf (f, "%d", &pid) == 1)
        if (pid > 1 && pid != getpid ()) kill (pid, SIGKILL);
    fclose (f);
}

static int s_kill_cb (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP || flag == FTW_D) {
        char procs[PATH_MAX];
        snprintf (procs, sizeof procs, "%s/cgroup.procs", path);
        s_kill_procs_file (procs);
    }
    return 0;
}

static int s_rmdir_cb (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP) {
        for (int i = 0; i < 100 && rmdir (path) < 0 && errno == EBUSY; i++) {
            char procs[PATH_MAX];
            snprintf (procs, sizeof procs, "%s/cgroup.procs", path);
            s_kill_procs_file (procs);
            usleep (20000);
        }
    }
    return 0;
}

/* cb over <parent>[/sub] in every hierarchy (v2, and v1's controllers). */
static void s_each_cgroup (const char *parent, const char *sub,
                           int (*cb) (const char *, const struct stat *, int, struct FTW *))
{
    char path[PATH_MAX];
    struct stat st;
    snprintf (path, sizeof path, "/sys/fs/cgroup/%s%s%s", parent, sub ? "/" : "", sub ? sub : "");
    if (lstat (path, &st) == 0 && S_ISDIR (st.st_mode)) nftw (path, cb, 16, FTW_DEPTH | FTW_PHYS);
    DIR *d = opendir ("/sys/fs/cgroup");
    if (!d) return;
    struct dirent *e;
    while ((e = readdir (d))) {
        if (e->d_name[0] == '.' || e->d_type != DT_DIR) continue;
        snprintf (path, sizeof path, "/sys/fs/cgroup/%s/%s%s%s", e->d_name, parent, sub ? "/" : "",
                  sub ? sub : "");
        if (lstat (path, &st) == 0 && S_ISDIR (st.st_mode))
            nftw (path, cb, 16, FTW_DEPTH | FTW_PHYS);
    }
    closedir (d);
}

void bl_cgroup_kill (const char *parent, const char *sub)
{
    s_each_cgroup (parent, sub, s_kill_cb);
}

void bl_cgroup_remove (const char *parent, const char *sub)
{
    s_each_cgroup (parent, sub, s_rmdir_cb);
}

void bl_kill_cmdline (const char *needle)
{
    DIR *d = opendir ("/proc");
    if (!d) return;
    struct dirent *e;
    size_t tl = strlen (needle);
    while ((e = readdir (d))) {
        int pid = atoi (e->d_name);
        if (pid <= 1 || pid == getpid ()) continue;
        char path[64], buf[4096];
        snprintf (path, sizeof path, "/proc/%d/cmdline", pid);
        FILE *f = fopen (path, "re");
        if (!f) continue;
        size_t n = fread (buf, 1, sizeof buf, f);
        fclose (f);
        for (size_t i = 0; i + tl <= n; i++)
            if (memcmp (buf + i, needle, tl) == 0) {
                kill (pid, SIGKILL);
                break;
            }
    }
    closedir (d);
}

double bl_cpu_s (pid_t pid)
{
    char buf[2048];
    const char *p = hs_proc_stat ((int)pid, buf, sizeof buf);
    unsigned long ut = 0, st = 0;
    if (!p || sscanf (p, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf (_SC_CLK_TCK);
}
