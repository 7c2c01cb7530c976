/*  metrics_http.c: /metrics and /healthz over libmicrohttpd on our loop
 *  (metrics_http.h).
 */
#include "metrics_http.h"
#include "hs_log.h"
#include "hs_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#define MAX_CONNS      64
#define IDLE_TIMEOUT_S 30
#define MAX_WAIT_MS    3600000

struct metrics_http_t {
    hs_loop_t *loop;
    struct MHD_Daemon *d;
    hs_loop_io_t *io;
    hs_loop_timer_t *timer;
    metrics_page_fn *page;
    void *arg;
    uint16_t port;
    uint64_t scrapes;
};

static void s_run (metrics_http_t *self)
{
    MHD_run (self->d);
    MHD_UNSIGNED_LONG_LONG ms = 0;
    int64_t at = HS_NEVER;
    if (MHD_get_timeout (self->d, &ms) == MHD_YES)
        at = hs_mono_ns () + (int64_t)(ms > MAX_WAIT_MS ? MAX_WAIT_MS : ms) * 1000000LL;
    hs_loop_timer_set (self->timer, at);
}

static void s_on_epoll (void *arg, int fd, uint32_t revents)
{
    (void)fd;
    (void)revents;
    s_run (arg);
}

static void s_on_timer (void *arg)
{
    s_run (arg);
}

static void s_mhd_log (void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf (line, sizeof line, fmt, ap);
    size_t n = strlen (line);
    while (n && line[n - 1] == '\n') line[--n] = '\0';
    log_debug ("http: %s", line);
}

static enum MHD_Result s_reply (struct MHD_Connection *conn, unsigned code, const char *ctype,
                                char *body, size_t len)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer (len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free (body);
        return MHD_NO;
    }
    MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (code == MHD_HTTP_METHOD_NOT_ALLOWED) MHD_add_response_header (resp, "Allow", "GET, HEAD");
    enum MHD_Result r = MHD_queue_response (conn, code, resp);
    MHD_destroy_response (resp);
    return r;
}

static enum MHD_Result s_access (void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_len, void **con_cls)
{
    metrics_http_t *self = cls;
    (void)version;
    (void)upload;
    /* the first call only has the headers; answer on the second (no body is read) */
    if (!*con_cls) {
        *con_cls = self;
        return MHD_YES;
    }
    *upload_len = 0;
    static const char *const text = "text/plain; charset=utf-8";
    if (strcmp (method, "GET") != 0 && strcmp (method, "HEAD") != 0)
        return s_reply (conn, MHD_HTTP_METHOD_NOT_ALLOWED, text, hs_strdup ("only GET and HEAD\n"),
                        17);
    if (strcmp (url, "/metrics") == 0) {
        size_t len = 0;
        char *page = self->page (self->arg, &len);
        self->scrapes++;
        return s_reply (conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", page, len);
    }
    if (strcmp (url, "/healthz") == 0)
        return s_reply (conn, MHD_HTTP_OK, text, hs_strdup ("ok"), 2);
    char *body = hs_sprintf ("404 page not found: %s (try /metrics)\n", url);
    return s_reply (conn, MHD_HTTP_NOT_FOUND, text, body, strlen (body));
}

int metrics_http_parse (const char *listen, void *ret_sockaddr, unsigned *ret_len)
{
    const char *colon = listen ? strrchr (listen, ':') : NULL;
    if (!colon) return -EINVAL;
    int64_t port;
    if (hs_parse_i64 (colon + 1, &port) < 0 || port < 0 || port > 65535) return -EINVAL;
    _cleanup_free_ char *host = hs_strndup (listen, (size_t)(colon - listen));
    size_t hl = strlen (host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6, .sin6_port = htons ((uint16_t)port)};
        host[hl - 1] = '\0';
        if (inet_pton (AF_INET6, host + 1, &sa6.sin6_addr) != 1) return -EINVAL;
        memcpy (ret_sockaddr, &sa6, sizeof sa6);
        *ret_len = sizeof sa6;
        return 0;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons ((uint16_t)port)};
    if (hl == 0)
        sa.sin_addr.s_addr = htonl (INADDR_ANY);
    else if (inet_pton (AF_INET, host, &sa.sin_addr) != 1)
        return -EINVAL;
    memcpy (ret_sockaddr, &sa, sizeof sa);
    *ret_len = sizeof sa;
    return 0;
}

int metrics_http_new (hs_loop_t *loop, const char *listen, metrics_page_fn *page, void *arg,
                      metrics_http_t **ret)
{
    struct sockaddr_storage sa;
    unsigned sa_len = 0;
    if (metrics_http_parse (listen, &sa, &sa_len) < 0) {
        log_error ("--listen: not an address ADDR:PORT: %s", hs_s (listen));
        return -EINVAL;
    }
    metrics_http_t *self = hs_calloc (1, sizeof *self);
    self->loop = loop;
    self->page = page;
    self->arg = arg;
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (sa.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    self->d = MHD_start_daemon (flags, 0, NULL, NULL, s_access, self, MHD_OPTION_EXTERNAL_LOGGER,
                                s_mhd_log, NULL, MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNS,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
                                MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
                                MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_END);
    if (!self->d) {
        log_error ("cannot listen on %s: %s", listen, strerror (errno ? errno : EADDRINUSE));
        free (self);
        return -EADDRINUSE;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info (self->d, MHD_DAEMON_INFO_BIND_PORT);
    self->port = di ? di->port : 0;
    di = MHD_get_daemon_info (self->d, MHD_DAEMON_INFO_EPOLL_FD);
    self->io = di ? hs_loop_io (loop, di->epoll_fd, EPOLLIN, s_on_epoll, self) : NULL;
    self->timer = hs_loop_timer (loop, hs_mono_ns (), s_on_timer, self);
    if (!self->io) {
        metrics_http_destroy (&self);
        return -EIO;
    }
    *ret = self;
    return 0;
}

void metrics_http_destroy (metrics_http_t **self_p)
{
    metrics_http_t *self = *self_p;
    if (!self) return;
    hs_loop_io_free (&self->io);
    hs_loop_timer_free (&self->timer);
    if (self->d) MHD_stop_daemon (self->d);
    free (self);
    *self_p = NULL;
}

uint16_t metrics_http_port (metrics_http_t *self)
{
    return self->port;
}

uint64_t metrics_http_scrapes (metrics_http_t *self)
{
    return self->scrapes;
}
