/*  notify_listen.c: a NOTIFY_SOCKET of our own, for test_notify.sh.
 *
 *  notify_listen PATH       binds an AF_UNIX datagram socket at PATH (as
 *                           systemd's notify socket) and prints one line per
 *                           datagram on stdout, flushed:
 *                             <CLOCK_MONOTONIC seconds> pid=<sender> <payload>
 *                           with the payload's newlines shown as spaces
 *                           ("READY=1 STATUS=synced"); pid=0 if the kernel
 *                           gave no credentials. Runs until killed.
 *  notify_listen --send PATH MESSAGE
 *                           sends MESSAGE to PATH as one datagram (the tests'
 *                           marks: MARK=stopped), and exits 0, or 1.
 *
 *  Only a test tool: not installed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_DGRAM 4096

static int s_addr (const char *path, struct sockaddr_un *ret_addr)
{
    if (strlen (path) >= sizeof ret_addr->sun_path) return -ENAMETOOLONG;
    memset (ret_addr, 0, sizeof *ret_addr);
    ret_addr->sun_family = AF_UNIX;
    strcpy (ret_addr->sun_path, path);
    return 0;
}

static int s_send (const char *path, const char *msg)
{
    struct sockaddr_un sa;
    if (s_addr (path, &sa) < 0) return -ENAMETOOLONG;
    int fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int r = 0;
    if (sendto (fd, msg, strlen (msg), 0, (struct sockaddr *)&sa, sizeof sa) < 0) r = -errno;
    close (fd);
    return r;
}

static int s_listen (const char *path)
{
    struct sockaddr_un sa;
    if (s_addr (path, &sa) < 0) return -ENAMETOOLONG;
    int fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int one = 1;
    /* the sender's pid arrives as SCM_CREDENTIALS (sd_notify sends them) */
    if (setsockopt (fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0 ||
        bind (fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        close (fd);
        return -e;
    }
    for (;;) {
        char buf[MAX_DGRAM + 1];
        union {
            struct cmsghdr align;
            char buf[CMSG_SPACE (sizeof (struct ucred))];
        } control;
        struct iovec iov = {.iov_base = buf, .iov_len = MAX_DGRAM};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = &control,
                            .msg_controllen = sizeof control};
        ssize_t n = recvmsg (fd, &mh, MSG_CMSG_CLOEXEC);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close (fd);
            return -e;
        }
        struct timespec ts;
        clock_gettime (CLOCK_MONOTONIC, &ts);
        pid_t pid = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR (&mh); c; c = CMSG_NXTHDR (&mh, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
                c->cmsg_len == CMSG_LEN (sizeof (struct ucred))) {
                struct ucred uc;
                memcpy (&uc, CMSG_DATA (c), sizeof uc);
                pid = uc.pid;
            }
        /* one line per datagram, whatever it holds */
        size_t len = (size_t)n;
        while (len > 0 && buf[len - 1] == '\n') len--;
        for (size_t i = 0; i < len; i++)
            if (buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\0') buf[i] = ' ';
        buf[len] = '\0';
        printf ("%lld.%06ld pid=%d %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000, (int)pid, buf);
        fflush (stdout);
    }
}

int main (int argc, char **argv)
{
    int r;
    if (argc == 4 && strcmp (argv[1], "--send") == 0) {
        r = s_send (argv[2], argv[3]);
        if (r < 0) fprintf (stderr, "notify_listen: send to %s: %s\n", argv[2], strerror (-r));
        return r < 0 ? 1 : 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        fprintf (stderr, "usage: notify_listen PATH | notify_listen --send PATH MESSAGE\n");
        return 2;
    }
    r = s_listen (argv[1]);
    fprintf (stderr, "notify_listen: %s: %s\n", argv[1], strerror (-r));
    return 1;
}
