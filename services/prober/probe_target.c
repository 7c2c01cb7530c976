/*  probe_target.c: what a probe checks, and the kubelet's words for what it
 *  saw (probe_target.h). */
#include "probe_target.h"

#include "hs_util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_EXEC_MSG 1024
#define USER_AGENT   "kube-probe/homeostat"

void probe_target_free (probe_target_t *t)
{
    if (!t) return;
    free (t->hostport);
    free (t->url);
    free (t->request);
    memset (t, 0, sizeof *t);
}

/* A port: a number 1..65535 or the name of one of the container's ports. */
static int s_port (const Hs__Container *c, const char *port, int *ret, char **ret_err)
{
    int64_t v;
    if (hs_parse_i64 (port, &v) == 0) {
        if (v < 1 || v > 65535) {
            *ret_err = hs_sprintf ("invalid port number: %lld", (long long)v);
            return -EINVAL;
        }
        *ret = (int)v;
        return 0;
    }
    for (size_t i = 0; !hs_empty (port) && c && i < c->n_ports; i++)
        if (hs_streq (c->ports[i]->name, port) && c->ports[i]->container_port > 0 &&
            c->ports[i]->container_port <= 65535) {
            *ret = c->ports[i]->container_port;
            return 0;
        }
    *ret_err =
        hs_sprintf ("couldn't find port: %s in container %s", hs_s (port), c ? hs_s (c->name) : "");
    return -EINVAL;
}

/* The host: the handler's, else podIP, hostIP, 127.0.0.1; numeric only. */
static int s_host (const Hs__Pod *pod, const char *given, char *buf, size_t len, bool *ret_v6,
                   char **ret_err)
{
    const char *h = given;
    if (hs_empty (h) && pod->status) h = pod->status->pod_ip;
    if (hs_empty (h) && pod->status) h = pod->status->host_ip;
    if (hs_empty (h) || hs_streq (h, "localhost")) h = "127.0.0.1";
    unsigned char a[16];
    if (inet_pton (AF_INET, h, a) == 1)
        *ret_v6 = false;
    else if (inet_pton (AF_INET6, h, a) == 1)
        *ret_v6 = true;
    else {
        *ret_err = hs_sprintf ("host %s is not an IP address (the prober resolves no names)", h);
        return -EINVAL;
    }
    snprintf (buf, len, "%s", h);
    return 0;
}

int probe_target_resolve (const Hs__Pod *pod, const Hs__Container *c, const Hs__Probe *probe,
                          probe_target_t *ret, char **ret_err)
{
    probe_target_t t = {0};
    char *err = NULL;
    bool v6 = false;
    if (!probe) {
        *ret_err = hs_strdup ("no probe");
        return -EINVAL;
    }
    if (probe->exec) {
        if (probe->exec->n_command == 0) {
            *ret_err = hs_strdup ("exec probe without a command");
            return -EINVAL;
        }
        ret->handler = PROBE_H_EXEC;
        return 0;
    }
    const char *host = NULL, *port = NULL;
    if (probe->tcp_socket) {
        t.handler = PROBE_H_TCP;
        host = probe->tcp_socket->host;
        port = probe->tcp_socket->port;
    } else if (probe->http_get) {
        t.handler = PROBE_H_HTTP;
        host = probe->http_get->host;
        port = probe->http_get->port;
        const char *scheme = probe->http_get->scheme;
        if (!hs_empty (scheme) && strcasecmp (scheme, "HTTP") != 0) {
            *ret_err = hs_sprintf ("httpGet scheme %s is not supported: the prober speaks plain "
                                   "HTTP only (scheme: HTTP)",
                                   scheme);
            return -EINVAL;
        }
    } else {
        *ret_err = hs_strdup ("the probe has no handler (exec, tcpSocket or httpGet)");
        return -EINVAL;
    }
    if (s_port (c, port, &t.port, &err) < 0 ||
        s_host (pod, host, t.host, sizeof t.host, &v6, &err) < 0) {
        *ret_err = err;
        return -EINVAL;
    }
    t.hostport = v6 ? hs_sprintf ("[%s]:%d", t.host, t.port) : hs_sprintf ("%s:%d", t.host, t.port);
    if (t.handler == PROBE_H_HTTP) {
        const Hs__HTTPGetAction *g = probe->http_get;
        const char *path = hs_empty (g->path) ? "/" : g->path;
        const char *slash = path[0] == '/' ? "" : "/";
        t.url = hs_sprintf ("http://%s%s%s", t.hostport, slash, path);
        hs_buf_t b = {0};
        hs_buf_printf (&b, "GET %s%s HTTP/1.1\r\n", slash, path);
        bool has_host = false, has_ua = false, has_accept = false;
        for (size_t i = 0; i < g->n_http_headers; i++) {
            const Hs__HTTPHeader *h = g->http_headers[i];
            /* one line per header; a header that could split the request is dropped */
            if (hs_empty (h->name) || strpbrk (h->name, "\r\n:") ||
                strpbrk (hs_s (h->value), "\r\n"))
                continue;
            has_host |= strcasecmp (h->name, "Host") == 0;
            has_ua |= strcasecmp (h->name, "User-Agent") == 0;
            has_accept |= strcasecmp (h->name, "Accept") == 0;
            hs_buf_printf (&b, "%s: %s\r\n", h->name, hs_s (h->value));
        }
        if (!has_host) hs_buf_printf (&b, "Host: %s\r\n", t.hostport);
        if (!has_ua) hs_buf_puts (&b, "User-Agent: " USER_AGENT "\r\n");
        if (!has_accept) hs_buf_puts (&b, "Accept: */*\r\n");
        hs_buf_puts (&b, "Connection: close\r\n\r\n");
        t.request = hs_buf_take (&b);
    }
    *ret = t;
    return 0;
}

int probe_http_status (const char *buf, size_t len, int *ret_code)
{
    const char *eol = memchr (buf, '\n', len);
    size_t n = eol ? (size_t)(eol - buf) : len;
    /* "HTTP/1.1 200 OK": refuse early what cannot become one */
    static const char prefix[] = "HTTP/1.";
    size_t cmp = n < sizeof prefix - 1 ? n : sizeof prefix - 1;
    if (memcmp (buf, prefix, cmp) != 0) return -EPROTO;
    if (!eol) return len > 4096 ? -EPROTO : 0;
    if (n < 12 || !isdigit ((unsigned char)buf[7]) || buf[8] != ' ' ||
        !isdigit ((unsigned char)buf[9]) || !isdigit ((unsigned char)buf[10]) ||
        !isdigit ((unsigned char)buf[11]) || (n > 12 && buf[12] != ' ' && buf[12] != '\r'))
        return -EPROTO;
    *ret_code = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    return 1;
}

bool probe_http_ok (int code)
{
    return code >= 200 && code < 400;
}

/* Go's error text: strerror with a lower-case first letter. */
static char *s_errtext (int err)
{
    char *s = hs_strdup (strerror (err));
    if (s[0] && isupper ((unsigned char)s[0]) && !(s[1] && isupper ((unsigned char)s[1])))
        s[0] = (char)tolower ((unsigned char)s[0]);
    return s;
}

char *probe_msg_dial (const probe_target_t *t, int err)
{
    _cleanup_free_ char *e = s_errtext (err);
    if (t->handler == PROBE_H_HTTP)
        return hs_sprintf ("Get \"%s\": dial tcp %s: connect: %s", t->url, t->hostport, e);
    return hs_sprintf ("dial tcp %s: connect: %s", t->hostport, e);
}

char *probe_msg_timeout (const probe_target_t *t, bool connected)
{
    if (t->handler == PROBE_H_HTTP)
        return connected ? hs_sprintf ("Get \"%s\": context deadline exceeded (Client.Timeout "
                                       "exceeded while awaiting headers)",
                                       t->url)
                         : hs_sprintf ("Get \"%s\": dial tcp %s: i/o timeout", t->url, t->hostport);
    return hs_sprintf ("dial tcp %s: i/o timeout", t->hostport);
}

char *probe_msg_status (int code)
{
    return hs_sprintf ("HTTP probe failed with statuscode: %d", code);
}

/* Go's %q of the command joined by spaces (enough of it: quotes and
 * backslashes escaped, control characters as \xNN). */
static char *s_quoted_command (const Hs__Probe *probe)
{
    hs_buf_t b = {0};
    hs_buf_puts (&b, "\"");
    size_t n = probe && probe->exec ? probe->exec->n_command : 0;
    for (size_t i = 0; i < n; i++) {
        if (i) hs_buf_puts (&b, " ");
        for (const unsigned char *p = (const unsigned char *)hs_s (probe->exec->command[i]); *p;
             p++) {
            if (*p == '"' || *p == '\\')
                hs_buf_printf (&b, "\\%c", *p);
            else if (*p < 0x20 || *p == 0x7f)
                hs_buf_printf (&b, "\\x%02x", *p);
            else
                hs_buf_append (&b, p, 1);
        }
    }
    hs_buf_puts (&b, "\"");
    return hs_buf_take (&b);
}

/* The length of the valid UTF-8 sequence at p (at most n bytes), 0 if none. */
static size_t s_utf8_len (const unsigned char *p, size_t n)
{
    size_t len = p[0] < 0x80             ? 1
                 : (p[0] & 0xe0) == 0xc0 ? 2
                 : (p[0] & 0xf0) == 0xe0 ? 3
                 : (p[0] & 0xf8) == 0xf0 ? 4
                                         : 0;
    if (len == 0 || len > n || (len == 2 && p[0] < 0xc2)) return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80) return 0;
    return len;
}

/* Output bytes as message text: valid UTF-8 (a protobuf string), other
 * bytes and control characters but newline and tab as '?'. */
static char *s_text (const uint8_t *out, size_t n)
{
    char *m = hs_malloc (n + 1);
    size_t i = 0;
    while (i < n) {
        size_t l = s_utf8_len (out + i, n - i);
        if (l == 0 ||
            (l == 1 && ((out[i] < 0x20 && out[i] != '\n' && out[i] != '\t') || out[i] == 0x7f))) {
            m[i++] = '?';
            continue;
        }
        memcpy (m + i, out + i, l);
        i += l;
    }
    m[n] = '\0';
    return m;
}

char *probe_msg_exec_timeout (const Hs__Probe *probe)
{
    _cleanup_free_ char *q = s_quoted_command (probe);
    return hs_sprintf ("command %s timed out", q);
}

char *probe_msg_exec (const Hs__Probe *probe, int exit_code, const uint8_t *out, size_t out_len,
                      const char *error)
{
    if (exit_code == 0) return NULL;
    if (exit_code < 0) {
        if (hs_streq (error, "timed out")) return probe_msg_exec_timeout (probe);
        return hs_strdup (hs_empty (error) ? "the command did not run" : error);
    }
    size_t n = out ? out_len : 0;
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r')) n--;
    if (n == 0) {
        _cleanup_free_ char *q = s_quoted_command (probe);
        return hs_sprintf ("command %s exited with code %d", q, exit_code);
    }
    if (n > MAX_EXEC_MSG) n = MAX_EXEC_MSG;
    return s_text (out, n);
}

char *probe_msg_event (const char *title, const char *msg)
{
    return hs_sprintf ("%s probe failed: %s", title, hs_s (msg));
}
