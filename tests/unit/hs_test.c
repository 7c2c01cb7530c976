/*  hs_test.c: the unit-test harness (see hs_test.h). */
#include "hs_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int hs_test_failures;

#define MAX_CHILDREN 64
static pid_t s_children[MAX_CHILDREN];
static int s_nchildren;
static char s_tmpdir[512];

static void s_cleanup (void)
{
    for (int i = 0; i < s_nchildren; i++) {
        if (s_children[i] > 0) {
            kill (s_children[i], SIGKILL);
            waitpid (s_children[i], NULL, 0);
        }
    }
    s_nchildren = 0;
    if (s_tmpdir[0] && !getenv ("HS_TEST_KEEP")) {
        char cmd[600];
        snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_tmpdir);
        if (system (cmd) != 0) fprintf (stderr, "warning: could not remove %s\n", s_tmpdir);
        s_tmpdir[0] = '\0';
    }
}

static void s_on_signal (int sig)
{
    s_cleanup ();
    signal (sig, SIG_DFL);
    raise (sig);
}

int hs_test_main (const hs_test_t *tests, size_t n, int argc, char **argv)
{
    atexit (s_cleanup);
    signal (SIGINT, s_on_signal);
    signal (SIGTERM, s_on_signal);
    signal (SIGPIPE, SIG_IGN);
    int failed_tests = 0;
    for (size_t i = 0; i < n; i++) {
        if (argc > 1 && strcmp (argv[1], tests[i].name) != 0) continue;
        int before = hs_test_failures;
        struct timespec a, b;
        clock_gettime (CLOCK_MONOTONIC, &a);
        tests[i].fn ();
        clock_gettime (CLOCK_MONOTONIC, &b);
        double ms = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
        bool ok = hs_test_failures == before;
        if (!ok) failed_tests++;
        fprintf (stderr, "%s %s (%.1f ms)\n", ok ? "ok  " : "FAIL", tests[i].name, ms);
    }
    fprintf (stderr, "%d of %zu tests failed, %d checks failed\n", failed_tests, n,
             hs_test_failures);
    s_cleanup ();
    return hs_test_failures ? 1 : 0;
}

const char *hs_test_tmpdir (void)
{
    if (!s_tmpdir[0]) {
        const char *base = getenv ("TMPDIR");
        snprintf (s_tmpdir, sizeof s_tmpdir, "%s/hs-test-XXXXXX", base ? base : "/tmp");
        if (!mkdtemp (s_tmpdir)) {
            perror ("mkdtemp");
            abort ();
        }
    }
    return s_tmpdir;
}

/* Below the kernel's ephemeral range, so no outgoing connection (ZeroMQ's
 * reconnects included) takes the port between our check and the bind. */
int hs_test_free_port_pair (void)
{
    int lo = 32768;
    FILE *f = fopen ("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf (f, "%d", &lo) != 1) lo = 32768;
        fclose (f);
    }
    if (lo < 12000) lo = 12000;
    static bool seeded;
    if (!seeded) srand ((unsigned)(getpid () ^ time (NULL)));
    seeded = true;
    for (int attempt = 0; attempt < 500; attempt++) {
        int port = 10000 + rand () % (lo - 2 - 10000);
        bool ok = true;
        for (int i = 0; i < 2 && ok; i++) {
            int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            struct sockaddr_in sa = {.sin_family = AF_INET,
                                     .sin_addr.s_addr = htonl (INADDR_LOOPBACK),
                                     .sin_port = htons ((uint16_t)(port + i))};
            ok = bind (fd, (struct sockaddr *)&sa, sizeof sa) == 0;
            close (fd);
        }
        if (ok) return port;
    }
    abort ();
}

pid_t hs_test_spawn (const char *prog, char *const argv[])
{
    const char *bin = getenv ("HS_BIN");
    char path[1024], log[1024];
    snprintf (path, sizeof path, "%s/%s", bin ? bin : ".", prog);
    snprintf (log, sizeof log, "%s/%s.log", hs_test_tmpdir (), prog);
    pid_t pid = fork ();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open (log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2 (fd, 2);
            dup2 (fd, 1);
        }
        execv (path, argv);
        _exit (127);
    }
    if (s_nchildren < MAX_CHILDREN) s_children[s_nchildren++] = pid;
    return pid;
}

void hs_test_kill (pid_t pid, int sig)
{
    kill (pid, sig);
    waitpid (pid, NULL, 0);
    for (int i = 0; i < s_nchildren; i++)
        if (s_children[i] == pid) s_children[i] = 0;
}

bool hs_test_wait (bool (*pred) (void *), void *arg, int timeout_ms)
{
    struct timespec start, now;
    clock_gettime (CLOCK_MONOTONIC, &start);
    for (;;) {
        if (pred (arg)) return true;
        clock_gettime (CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (elapsed > timeout_ms) return false;
        struct timespec ts = {0, 5 * 1000000};
        nanosleep (&ts, NULL);
    }
}
