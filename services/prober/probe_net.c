/*  probe_net.c: tcpSocket and httpGet checks on non-blocking sockets
 *  (probe_net.h). */
#include "probe_net.h"

#include "hs_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_STATUS_LINE 4096

typedef enum { S_CONNECTING, S_SENDING, S_READING } s_state_t;

struct probe_net_t {
    probe_target_t t;
    int fd;
    s_state_t state;
    size_t sent;
    char buf[MAX_STATUS_LINE + 1];
    size_t got;
};

void probe_net_destroy (probe_net_t **self_p)
{
    probe_net_t *self = *self_p;
    if (!self) return;
    if (self->fd >= 0) close (self->fd);
    probe_target_free (&self->t);
    free (self);
    *self_p = NULL;
}

int probe_net_fd (const probe_net_t *self)
{
    return self->fd;
}

short probe_net_events (const probe_net_t *self)
{
    return self->state == S_READING ? POLLIN : POLLOUT;
}

static char *s_errmsg (const probe_net_t *self, const char *op, int err)
{
    char *e = hs_strdup (strerror (err));
    if (e[0] >= 'A' && e[0] <= 'Z' && !(e[1] >= 'A' && e[1] <= 'Z'))
        e[0] = (char)(e[0] - 'A' + 'a');
    char *m = hs_sprintf ("Get \"%s\": %s tcp %s: %s", self->t.url, op, self->t.hostport, e);
    free (e);
    return m;
}

int probe_net_start (probe_target_t *t, probe_net_t **ret, char **ret_msg)
{
    probe_net_t *self = hs_calloc (1, sizeof *self);
    self->t = *t;
    memset (t, 0, sizeof *t);
    self->fd = -1;
    *ret = NULL;
    union {
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
    } a;
    memset (&a, 0, sizeof a);
    socklen_t alen;
    if (inet_pton (AF_INET, self->t.host, &a.in.sin_addr) == 1) {
        a.in.sin_family = AF_INET;
        a.in.sin_port = htons ((uint16_t)self->t.port);
        alen = sizeof a.in;
    } else if (inet_pton (AF_INET6, self->t.host, &a.in6.sin6_addr) == 1) {
        a.in6.sin6_family = AF_INET6;
        a.in6.sin6_port = htons ((uint16_t)self->t.port);
        alen = sizeof a.in6;
    } else {
        *ret_msg = probe_msg_dial (&self->t, EINVAL);
        probe_net_destroy (&self);
        return 1;
    }
    self->fd = socket (a.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (self->fd < 0) {
        *ret_msg = probe_msg_dial (&self->t, errno);
        probe_net_destroy (&self);
        return 1;
    }
    if (connect (self->fd, &a.sa, alen) < 0 && errno != EINPROGRESS) {
        *ret_msg = probe_msg_dial (&self->t, errno);
        probe_net_destroy (&self);
        return 1;
    }
    self->state = S_CONNECTING;
    *ret = self;
    return 0;
}

/* Done: 1 with the verdict. */
static int s_done (bool ok, char *msg, bool *ret_success, char **ret_msg)
{
    *ret_success = ok;
    *ret_msg = msg;
    return 1;
}

int probe_net_step (probe_net_t *self, short revents, bool *ret_success, char **ret_msg)
{
    if (self->state == S_CONNECTING) {
        if (!(revents & (POLLOUT | POLLERR))) return 0;
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt (self->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
        if (err == EINPROGRESS || (err == 0 && !(revents & POLLOUT))) return 0;
        if (err) return s_done (false, probe_msg_dial (&self->t, err), ret_success, ret_msg);
        if (self->t.handler != PROBE_H_HTTP) return s_done (true, NULL, ret_success, ret_msg);
        self->state = S_SENDING;
        revents = POLLOUT;
    }
    if (self->state == S_SENDING) {
        if (!(revents & (POLLOUT | POLLERR))) return 0;
        size_t total = strlen (self->t.request);
        while (self->sent < total) {
            ssize_t n = send (self->fd, self->t.request + self->sent, total - self->sent,
                              MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
            if (n < 0) return s_done (false, s_errmsg (self, "write", errno), ret_success, ret_msg);
            self->sent += (size_t)n;
        }
        self->state = S_READING;
        return 0;
    }
    /* reading the status line */
    if (!(revents & (POLLIN | POLLERR))) return 0;
    for (;;) {
        ssize_t n =
            recv (self->fd, self->buf + self->got, MAX_STATUS_LINE - self->got, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        if (n < 0) return s_done (false, s_errmsg (self, "read", errno), ret_success, ret_msg);
        self->got += (size_t)n;
        int code = 0;
        int r = probe_http_status (self->buf, self->got, &code);
        if (r == 1) {
            if (probe_http_ok (code)) return s_done (true, NULL, ret_success, ret_msg);
            return s_done (false, probe_msg_status (code), ret_success, ret_msg);
        }
        if (r < 0 || self->got >= MAX_STATUS_LINE)
            return s_done (false,
                           hs_sprintf ("Get \"%s\": net/http: HTTP/1.x transport connection "
                                       "broken: malformed HTTP response",
                                       self->t.url),
                           ret_success, ret_msg);
        if (n == 0)
            return s_done (false, hs_sprintf ("Get \"%s\": EOF", self->t.url), ret_success,
                           ret_msg);
    }
}

char *probe_net_timeout_msg (const probe_net_t *self)
{
    return probe_msg_timeout (&self->t, self->state != S_CONNECTING);
}
