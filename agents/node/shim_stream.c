/*  shim_stream.c: the relay of `hs-shim --exec PID --stream` (see
 *  shim_stream.h). */
#include "shim_stream.h"

#include "hs_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_READ_MAX (64 * 1024) /* bytes per frame: one ExecChunk's worth */
#define S_DRAIN_MS 100         /* output read after the command exited */

static volatile sig_atomic_t s_stop;

static void s_on_stop (int sig)
{
    (void)sig;
    s_stop = 1;
}

void shim_stream_signals (void)
{
    struct sigaction sa = {.sa_handler = s_on_stop}; /* no SA_RESTART: a write returns */
    sigemptyset (&sa.sa_mask);
    sigaction (SIGTERM, &sa, NULL);
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGHUP, &sa, NULL);
    signal (SIGPIPE, SIG_IGN);
}

typedef struct {
    pid_t pid;
    bool killed, agent_gone;
} s_relay_t;

static void s_kill (s_relay_t *r)
{
    if (r->killed) return;
    r->killed = true;
    kill (-r->pid, SIGKILL); /* its process group: what it started too */
    kill (r->pid, SIGKILL);
}

/* Writes all of data to the agent. A stop asked meanwhile kills the
 * command but the write goes on (the agent drains a stopped session); a
 * closed pipe means the agent is gone. */
static void s_put (s_relay_t *r, const char *data, size_t len)
{
    while (len > 0 && !r->agent_gone) {
        ssize_t w = write (1, data, len);
        if (w < 0 && errno == EINTR) {
            if (s_stop) s_kill (r);
            continue;
        }
        if (w < 0) {
            r->agent_gone = true;
            s_kill (r);
            return;
        }
        data += w;
        len -= (size_t)w;
    }
}

/* Reads what fd has into one frame. false at EOF (or an error). */
static bool s_pump (s_relay_t *r, int fd, char tag)
{
    static char buf[S_READ_MAX];
    ssize_t n = read (fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
    if (n <= 0) return false;
    char head[32];
    int h = snprintf (head, sizeof head, "%c %zd\n", tag, n);
    s_put (r, head, (size_t)h);
    s_put (r, buf, (size_t)n);
    return true;
}

int shim_stream_run (pid_t pid, int out_fd, int err_fd, int64_t timeout_ms)
{
    s_relay_t r = {.pid = pid};
    int fds[2] = {out_fd, err_fd};
    const char tags[2] = {'o', 'e'};
    for (int i = 0; i < 2; i++) fcntl (fds[i], F_SETFL, O_NONBLOCK);
    int pidfd = (int)syscall (SYS_pidfd_open, pid, 0);
    int status = 0;
    bool exited = false, timed_out = false;
    int64_t deadline = timeout_ms > 0 ? hs_mono_ns () + timeout_ms * 1000000LL : INT64_MAX;
    int64_t drain_until = 0;
    for (;;) {
        if (s_stop) s_kill (&r);
        int64_t now = hs_mono_ns ();
        if (exited && ((fds[0] < 0 && fds[1] < 0) || now >= drain_until)) break;
        if (!exited && now >= deadline && !r.killed) {
            s_kill (&r);
            timed_out = true;
        }
        int64_t until = exited ? drain_until : deadline;
        int timeout = until == INT64_MAX ? -1 : (int)((until - now + 999999) / 1000000);
        /* No pidfd (an old kernel): look at the child every 10 ms. */
        if (pidfd < 0 && !exited && (timeout < 0 || timeout > 10)) timeout = 10;
        struct pollfd pfd[4] = {{fds[0], POLLIN, 0},
                                {fds[1], POLLIN, 0},
                                {exited ? -1 : pidfd, POLLIN, 0},
                                {r.agent_gone ? -1 : 1, 0, 0}}; /* POLLERR: the agent closed it */
        int k = poll (pfd, 4, timeout);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) break;
        if (pfd[3].revents & (POLLERR | POLLHUP)) {
            r.agent_gone = true;
            s_kill (&r);
        }
        for (int i = 0; i < 2; i++)
            if (fds[i] >= 0 && pfd[i].revents && !s_pump (&r, fds[i], tags[i])) {
                close (fds[i]);
                fds[i] = -1;
            }
        if (!exited && (pfd[2].revents || pidfd < 0)) {
            pid_t w = waitpid (pid, &status, pidfd < 0 ? WNOHANG : 0);
            if (w == pid || (w < 0 && errno == ECHILD)) {
                exited = true;
                drain_until = hs_mono_ns () + S_DRAIN_MS * 1000000LL;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0) close (fds[i]);
    if (pidfd >= 0) close (pidfd);
    if (r.agent_gone) return 1;
    char last[32];
    if (timed_out)
        snprintf (last, sizeof last, "timeout\n");
    else
        snprintf (last, sizeof last, "exit %d\n",
                  WIFSIGNALED (status) ? 128 + WTERMSIG (status) : WEXITSTATUS (status));
    s_put (&r, last, strlen (last));
    return r.agent_gone ? 1 : 0;
}
