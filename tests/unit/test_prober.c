/*  test_prober.c: hs-prober's pure core (services/prober): probe timing and
 *  thresholds (probe_sched), what a probe checks and the kubelet's words
 *  (probe_target), the non-blocking checks against real loopback sockets
 *  (probe_net), and node health decisions (nodemon). Objects come from YAML
 *  through the manifest loader.
 */
#include "hs_manifest.h"
#include "hs_test.h"
#include "hs_util.h"
#include "nodemon.h"
#include "probe_net.h"
#include "probe_sched.h"
#include "probe_target.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define S  1000000000LL
#define MS 1000000LL

static hs_manifest_t s_docs;

static const Hs__Object *s_load (const char *yaml)
{
    size_t before = s_docs.n;
    char *err = NULL;
    int r = hs_manifest_parse (yaml, strlen (yaml), "test", &s_docs, &err);
    if (r < 0) fprintf (stderr, "  manifest: %s\n", err);
    free (err);
    CHECK_EQ_INT (r, 0);
    CHECK_EQ_INT (s_docs.n, before + 1);
    return r == 0 ? s_docs.docs[s_docs.n - 1].object : NULL;
}

static void s_reset (void)
{
    hs_manifest_free (&s_docs);
    memset (&s_docs, 0, sizeof s_docs);
}

/* A pod bound to node n1 with one container c; extra YAML under the
 * container (probes, ports) and under spec, status lines after phase. */
static const Hs__Pod *s_pod (const char *name, const char *container_extra, const char *spec_extra,
                             const char *status_extra)
{
    _cleanup_free_ char *y = hs_sprintf (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: default\n  uid: u-%s\n"
        "spec:\n  nodeName: n1\n%s  containers:\n  - name: c\n    command: [sleep, \"1\"]\n%s"
        "status:\n  phase: Running\n%s",
        name, name, hs_s (spec_extra), hs_s (container_extra), hs_s (status_extra));
    const Hs__Object *o = s_load (y);
    return o ? o->pod : NULL;
}

/* ------------------------------------------------------------------ probe_sched */

static probe_timing_t s_t (int delay, int period, int timeout, int succ, int fail)
{
    return (probe_timing_t){delay, period, timeout, succ, fail};
}

static void test_sched_timing (void)
{
    probe_timing_t live = s_t (5, 10, 1, 1, 3);
    const probe_timing_t *tp[PROBE_KINDS] = {NULL, &live, NULL};
    probe_ctr_t c;
    probe_ctr_init (&c, tp);
    int64_t mono = 1000 * S, wall = 5000 * S;
    /* not running: nothing is due */
    CHECK (!probe_ctr_observe (&c, false, 0, 0, mono, wall));
    CHECK (!probe_ctr_due (&c, PROBE_LIVENESS, mono + 100 * S));
    CHECK_EQ_INT (probe_ctr_next (&c), INT64_MAX);
    /* started 2 s ago: the first probe 3 s from now (initialDelaySeconds 5) */
    CHECK (probe_ctr_observe (&c, true, 0, wall - 2 * S, mono, wall));
    CHECK (!probe_ctr_observe (&c, true, 0, wall - 2 * S, mono, wall)); /* same run */
    CHECK (!probe_ctr_due (&c, PROBE_LIVENESS, mono + 2 * S));
    CHECK (probe_ctr_due (&c, PROBE_LIVENESS, mono + 3 * S));
    CHECK_EQ_INT (probe_ctr_next (&c), mono + 3 * S);
    CHECK (!probe_ctr_due (&c, PROBE_READINESS, mono + 3 * S)); /* not present */
    /* in flight: not due again; the next one a period after the start */
    int64_t t = mono + 3 * S;
    probe_ctr_begin (&c, PROBE_LIVENESS, t);
    CHECK (!probe_ctr_due (&c, PROBE_LIVENESS, t + 20 * S));
    CHECK_EQ_INT (probe_ctr_end (&c, PROBE_LIVENESS, 0, true, t + MS), PROBE_CHANGED);
    CHECK_EQ_INT (c.p[PROBE_LIVENESS].verdict, PROBE_SUCCESS);
    CHECK (probe_ctr_send_due (&c, PROBE_LIVENESS, t + MS)); /* a new verdict: say it now */
    probe_ctr_sent (&c, PROBE_LIVENESS, t + MS);
    CHECK (!probe_ctr_send_due (&c, PROBE_LIVENESS, t + 2 * MS));
    CHECK (probe_ctr_send_due (&c, PROBE_LIVENESS, t + MS + 10 * S)); /* again every period */
    CHECK (!probe_ctr_due (&c, PROBE_LIVENESS, t + 10 * S - 1));
    CHECK (probe_ctr_due (&c, PROBE_LIVENESS, t + 10 * S));
    CHECK_EQ_INT (probe_ctr_next (&c), t + 10 * S);
    /* a startedAt in the future (clock skew) or far past: never negative */
    probe_ctr_t d;
    probe_ctr_init (&d, tp);
    probe_ctr_observe (&d, true, 0, wall - 100 * S, mono, wall);
    CHECK (probe_ctr_due (&d, PROBE_LIVENESS, mono));
    /* first seen a period or more late (a prober started): spread by the seed */
    probe_ctr_t e;
    probe_ctr_init (&e, tp);
    e.seed = 4000000000u;
    probe_ctr_observe (&e, true, 0, wall - 100 * S, mono, wall);
    CHECK_EQ_INT (e.p[PROBE_LIVENESS].next_ns, mono + (4000000000LL % (10 * S)));
    probe_ctr_init (&e, tp);
    e.seed = 4000000000u;
    probe_ctr_observe (&e, true, 0, wall - 12 * S, mono, wall); /* 7 s late: at once */
    CHECK_EQ_INT (e.p[PROBE_LIVENESS].next_ns, mono);
    /* defaults for unset fields */
    probe_timing_t z = {0};
    CHECK_EQ_INT (probe_period_ns (&z), 10 * S);
    CHECK_EQ_INT (probe_timeout_ns (&z), 1 * S);
}

static void test_sched_thresholds (void)
{
    probe_timing_t ready = s_t (0, 1, 1, 2, 3), live = s_t (0, 1, 1, 1, 2);
    const probe_timing_t *tp[PROBE_KINDS] = {NULL, &live, &ready};
    probe_ctr_t c;
    probe_ctr_init (&c, tp);
    int64_t t = 10 * S;
    probe_ctr_observe (&c, true, 0, 1, t, 1);
    /* readiness: no verdict before a threshold; success needs 2 in a row */
    CHECK_EQ_INT (probe_ctr_end (&c, PROBE_READINESS, 0, true, t), 0);
    CHECK_EQ_INT (c.p[PROBE_READINESS].verdict, PROBE_UNKNOWN);
    CHECK (!probe_ctr_send_due (&c, PROBE_READINESS, t + 100 * S));     /* nothing to say yet */
    CHECK_EQ_INT (probe_ctr_end (&c, PROBE_READINESS, 0, false, t), 0); /* the run restarts */
    CHECK_EQ_INT (probe_ctr_end (&c, PROBE_READINESS, 0, true, t), 0);
    CHECK_EQ_INT (probe_ctr_end (&c, PROBE_READINESS, 0, true, t), PROBE_CHANGED);
    CHECK_EQ_INT (c.p[PROBE_READINESS].verdict, PROBE_SUCCESS);
    CHECK_EQ_INT (probe_ctr_end (&c, PROBE_READINESS, 0, true, t), 0); /* unchanged */
    /* failure needs 3 in a row; readiness failing restarts nothing */
    CHECK_EQ_INT (probe_ctr_end (&c, PROBE_READINESS, 0, false, t), 0);
    CHECK_EQ_INT (probe_ctr_end (&c, PROBE_READINESS, 0, false, t), 0);
    CHECK_EQ_INT (probe_ctr_end (&c, PROBE_READINESS, 0, false, t), PROBE_CHANGED);
    CHECK_EQ_INT (c.p[PROBE_READINESS].verdict, PROBE_FAILURE);
    CHECK (probe_ctr_due (&c, PROBE_READINESS, t + 2 * S)); /* still probed */
    /* liveness: 2 failures -> restart, once; then held for the run */
    CHECK_EQ_INT (probe_ctr_end (&c, PROBE_LIVENESS, 0, false, t), 0);
    CHECK_EQ_INT (probe_ctr_end (&c, PROBE_LIVENESS, 0, false, t), PROBE_CHANGED | PROBE_RESTART);
    CHECK (!probe_ctr_due (&c, PROBE_LIVENESS, t + 100 * S));
    CHECK_EQ_INT (probe_ctr_end (&c, PROBE_LIVENESS, 0, false, t), 0);
    CHECK (probe_ctr_send_due (&c, PROBE_LIVENESS, t)); /* the failure is said, and again */
    probe_ctr_sent (&c, PROBE_LIVENESS, t);
    CHECK (probe_ctr_send_due (&c, PROBE_LIVENESS, t + S));
    /* a result about an older run is ignored */
    CHECK_EQ_INT (probe_ctr_end (&c, PROBE_READINESS, 7, true, t), 0);
    /* not running (restarting): nothing due, nothing said */
    probe_ctr_observe (&c, false, 0, 1, t, 1);
    CHECK (!probe_ctr_send_due (&c, PROBE_LIVENESS, t + 5 * S));
    CHECK (!probe_ctr_due (&c, PROBE_READINESS, t + 5 * S));
    /* the new run (restartCount 1): everything starts over */
    CHECK (probe_ctr_observe (&c, true, 1, 2, t + 6 * S, 2));
    CHECK_EQ_INT (c.p[PROBE_LIVENESS].verdict, PROBE_UNKNOWN);
    CHECK_EQ_INT (c.p[PROBE_READINESS].verdict, PROBE_UNKNOWN);
    CHECK (probe_ctr_due (&c, PROBE_LIVENESS, t + 6 * S));
    CHECK_EQ_INT (probe_ctr_end (&c, PROBE_LIVENESS, 0, false, t), 0); /* old run */
    CHECK_EQ_INT (c.p[PROBE_LIVENESS].run_len, 0);
    /* an in-flight probe of the old run does not block the new run's */
    probe_ctr_begin (&c, PROBE_READINESS, t + 6 * S);
    probe_ctr_observe (&c, true, 2, 3, t + 7 * S, 3);
    CHECK (probe_ctr_due (&c, PROBE_READINESS, t + 7 * S));
    probe_ctr_begin (&c, PROBE_READINESS, t + 7 * S);
    probe_ctr_abort (&c, PROBE_READINESS, 1); /* the old one: changes nothing */
    CHECK (c.p[PROBE_READINESS].inflight);
    probe_ctr_abort (&c, PROBE_READINESS, 2);
    CHECK (!c.p[PROBE_READINESS].inflight);
}

static void test_sched_startup (void)
{
    probe_timing_t st = s_t (0, 1, 1, 1, 3), live = s_t (0, 1, 1, 1, 1),
                   ready = s_t (0, 1, 1, 1, 1);
    const probe_timing_t *tp[PROBE_KINDS] = {&st, &live, &ready};
    probe_ctr_t c;
    probe_ctr_init (&c, tp);
    int64_t t = 100 * S;
    probe_ctr_observe (&c, true, 0, 1, t, 1);
    /* startup first: the others wait */
    CHECK (probe_ctr_due (&c, PROBE_STARTUP, t));
    CHECK (!probe_ctr_due (&c, PROBE_LIVENESS, t));
    CHECK (!probe_ctr_due (&c, PROBE_READINESS, t));
    CHECK_EQ_INT (probe_ctr_next (&c), t);
    CHECK_EQ_INT (probe_ctr_end (&c, PROBE_STARTUP, 0, false, t), 0);
    CHECK (!probe_ctr_due (&c, PROBE_LIVENESS, t + 5 * S));
    CHECK_EQ_INT (probe_ctr_end (&c, PROBE_STARTUP, 0, true, t), PROBE_CHANGED);
    /* started: startup stops, the others run */
    CHECK (!probe_ctr_due (&c, PROBE_STARTUP, t + 5 * S));
    CHECK (probe_ctr_due (&c, PROBE_LIVENESS, t));
    CHECK (probe_ctr_due (&c, PROBE_READINESS, t));
    /* startup failing its threshold restarts, like liveness */
    probe_ctr_t d;
    probe_ctr_init (&d, tp);
    probe_ctr_observe (&d, true, 0, 1, t, 1);
    CHECK_EQ_INT (probe_ctr_end (&d, PROBE_STARTUP, 0, false, t), 0);
    CHECK_EQ_INT (probe_ctr_end (&d, PROBE_STARTUP, 0, false, t), 0);
    CHECK_EQ_INT (probe_ctr_end (&d, PROBE_STARTUP, 0, false, t), PROBE_CHANGED | PROBE_RESTART);
    CHECK (!probe_ctr_due (&d, PROBE_STARTUP, t + 5 * S));
    CHECK (!probe_ctr_due (&d, PROBE_LIVENESS, t + 5 * S));
    CHECK_EQ_STR (probe_kind_name (PROBE_STARTUP), "startup");
    CHECK_EQ_STR (probe_kind_title (PROBE_READINESS), "Readiness");
}

/* ------------------------------------------------------------------ probe_target */

static const Hs__Container *s_c0 (const Hs__Pod *p)
{
    return p && p->spec && p->spec->n_containers ? p->spec->containers[0] : NULL;
}

static void test_target (void)
{
    probe_target_t t = {0};
    char *err = NULL;
    /* tcpSocket, named port, the pod's IP */
    const Hs__Pod *p = s_pod ("a",
                              "    ports: [{name: web, containerPort: 8080}]\n"
                              "    livenessProbe: {tcpSocket: {port: web}}\n",
                              NULL, "  podIP: 10.0.0.7\n  hostIP: 10.0.0.1\n");
    CHECK_EQ_INT (probe_target_resolve (p, s_c0 (p), s_c0 (p)->liveness_probe, &t, &err), 0);
    CHECK_EQ_INT (t.handler, PROBE_H_TCP);
    CHECK_EQ_STR (t.hostport, "10.0.0.7:8080");
    _cleanup_free_ char *m1 = probe_msg_dial (&t, ECONNREFUSED);
    CHECK_EQ_STR (m1, "dial tcp 10.0.0.7:8080: connect: connection refused");
    _cleanup_free_ char *m2 = probe_msg_timeout (&t, false);
    CHECK_EQ_STR (m2, "dial tcp 10.0.0.7:8080: i/o timeout");
    probe_target_free (&t);
    /* httpGet: host given, path, headers; no podIP: hostIP; neither: 127.0.0.1 */
    p = s_pod ("b",
               "    readinessProbe:\n      httpGet:\n        path: healthz\n        port: \"81\"\n"
               "        httpHeaders: [{name: X-Probe, value: \"1\"}, {name: \"Bad\\r\\nX\", value: "
               "v}]\n",
               NULL, "  hostIP: 10.0.0.1\n");
    CHECK_EQ_INT (probe_target_resolve (p, s_c0 (p), s_c0 (p)->readiness_probe, &t, &err), 0);
    CHECK_EQ_INT (t.handler, PROBE_H_HTTP);
    CHECK_EQ_STR (t.url, "http://10.0.0.1:81/healthz");
    CHECK_EQ_STR (t.request, "GET /healthz HTTP/1.1\r\nX-Probe: 1\r\nHost: 10.0.0.1:81\r\n"
                             "User-Agent: kube-probe/homeostat\r\nAccept: */*\r\n"
                             "Connection: close\r\n\r\n");
    _cleanup_free_ char *m3 = probe_msg_dial (&t, ECONNREFUSED);
    CHECK_EQ_STR (m3, "Get \"http://10.0.0.1:81/healthz\": dial tcp 10.0.0.1:81: connect: "
                      "connection refused");
    _cleanup_free_ char *m4 = probe_msg_timeout (&t, true);
    CHECK_EQ_STR (m4, "Get \"http://10.0.0.1:81/healthz\": context deadline exceeded "
                      "(Client.Timeout exceeded while awaiting headers)");
    probe_target_free (&t);
    p = s_pod ("c", "    livenessProbe: {httpGet: {port: \"80\", host: \"::1\"}}\n", NULL, "");
    CHECK_EQ_INT (probe_target_resolve (p, s_c0 (p), s_c0 (p)->liveness_probe, &t, &err), 0);
    CHECK_EQ_STR (t.url, "http://[::1]:80/");
    probe_target_free (&t);
    p = s_pod ("d", "    livenessProbe: {tcpSocket: {port: \"22\"}}\n", NULL, "");
    CHECK_EQ_INT (probe_target_resolve (p, s_c0 (p), s_c0 (p)->liveness_probe, &t, &err), 0);
    CHECK_EQ_STR (t.hostport, "127.0.0.1:22");
    probe_target_free (&t);
    /* what cannot be probed is a failure with a message */
    struct {
        const char *probe, *want;
    } bad[] = {
        {"{tcpSocket: {port: nope}}", "couldn't find port: nope in container c"},
        {"{tcpSocket: {port: \"70000\"}}", "invalid port number: 70000"},
        {"{httpGet: {port: \"80\", scheme: HTTPS}}",
         "httpGet scheme HTTPS is not supported: the prober speaks plain HTTP only (scheme: HTTP)"},
        {"{tcpSocket: {port: \"80\", host: example.com}}",
         "host example.com is not an IP address (the prober resolves no names)"},
        {"{periodSeconds: 3}", "the probe has no handler (exec, tcpSocket or httpGet)"},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (bad); i++) {
        _cleanup_free_ char *extra = hs_sprintf ("    livenessProbe: %s\n", bad[i].probe);
        _cleanup_free_ char *name = hs_sprintf ("bad%zu", i);
        p = s_pod (name, extra, NULL, "");
        err = NULL;
        CHECK_EQ_INT (probe_target_resolve (p, s_c0 (p), s_c0 (p)->liveness_probe, &t, &err),
                      -EINVAL);
        CHECK_EQ_STR (err, bad[i].want);
        free (err);
    }
    /* exec */
    p = s_pod ("e", "    livenessProbe: {exec: {command: [cat, /tmp/he\"althy]}}\n", NULL, "");
    const Hs__Probe *ex = s_c0 (p)->liveness_probe;
    CHECK_EQ_INT (probe_target_resolve (p, s_c0 (p), ex, &t, &err), 0);
    CHECK_EQ_INT (t.handler, PROBE_H_EXEC);
    CHECK (probe_msg_exec (ex, 0, NULL, 0, NULL) == NULL);
    const char out[] = "cat: /tmp/healthy: No such file or directory\n";
    _cleanup_free_ char *e1 = probe_msg_exec (ex, 1, (const uint8_t *)out, strlen (out), NULL);
    CHECK_EQ_STR (e1, "cat: /tmp/healthy: No such file or directory");
    _cleanup_free_ char *e2 = probe_msg_exec (ex, 2, NULL, 0, NULL);
    CHECK_EQ_STR (e2, "command \"cat /tmp/he\\\"althy\" exited with code 2");
    _cleanup_free_ char *e3 = probe_msg_exec (ex, -1, NULL, 0, "timed out");
    CHECK_EQ_STR (e3, "command \"cat /tmp/he\\\"althy\" timed out");
    _cleanup_free_ char *e4 = probe_msg_exec_timeout (ex);
    CHECK_EQ_STR (e4, e3);
    _cleanup_free_ char *e5 = probe_msg_exec (ex, -1, NULL, 0, "container not running");
    CHECK_EQ_STR (e5, "container not running");
    const uint8_t raw[] = {'o', 'k', 0, 0xff, 0xc3, 0xa9, 0x1b, '\n', 'x'};
    _cleanup_free_ char *e6 = probe_msg_exec (ex, 1, raw, sizeof raw, NULL);
    CHECK_EQ_STR (e6, "ok??\xc3\xa9?\nx"); /* valid UTF-8 kept, the rest '?' */
    _cleanup_free_ char *ev = probe_msg_event ("Liveness", e1);
    CHECK_EQ_STR (ev, "Liveness probe failed: cat: /tmp/healthy: No such file or directory");
    _cleanup_free_ char *st = probe_msg_status (500);
    CHECK_EQ_STR (st, "HTTP probe failed with statuscode: 500");
    s_reset ();
}

static void test_http_status (void)
{
    int code = 0;
    const char *ok = "HTTP/1.1 204 No Content\r\nX: y\r\n";
    CHECK_EQ_INT (probe_http_status (ok, strlen (ok), &code), 1);
    CHECK_EQ_INT (code, 204);
    CHECK_EQ_INT (probe_http_status ("HTTP/1.0 500\r\n", 14, &code), 1);
    CHECK_EQ_INT (code, 500);
    CHECK_EQ_INT (probe_http_status ("HTTP/1.1 20", 11, &code), 0); /* more to come */
    CHECK_EQ_INT (probe_http_status ("HT", 2, &code), 0);
    CHECK_EQ_INT (probe_http_status ("SSH-2.0-OpenSSH\r\n", 17, &code), -EPROTO);
    CHECK_EQ_INT (probe_http_status ("HTTP/1.1 2x0 OK\r\n", 17, &code), -EPROTO);
    CHECK_EQ_INT (probe_http_status ("HTTP/1.1 2000 OK\r\n", 18, &code), -EPROTO);
    CHECK (probe_http_ok (200) && probe_http_ok (302) && probe_http_ok (399));
    CHECK (!probe_http_ok (199) && !probe_http_ok (400) && !probe_http_ok (500));
}

/* ------------------------------------------------------------------ probe_net */

/* A listening socket on 127.0.0.1 (port in *ret_port), or -1. */
static int s_listen (int *ret_port)
{
    int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind (fd, (struct sockaddr *)&a, sizeof a) < 0 || listen (fd, 8) < 0 ||
        getsockname (fd, (struct sockaddr *)&a, &len) < 0) {
        if (fd >= 0) close (fd);
        return -1;
    }
    *ret_port = ntohs (a.sin_port);
    return fd;
}

/* Runs a check of `probe` against 127.0.0.1:port; when listen_fd >= 0, a
 * server that accepts and answers `answer` (NULL: says nothing). Returns
 * 1 done (*ok, *msg), 0 out of time (*msg the timeout message). */
static int s_check (const char *probe_yaml, int port, int listen_fd, const char *answer, bool *ok,
                    char **msg)
{
    _cleanup_free_ char *extra = hs_sprintf (probe_yaml, port);
    const Hs__Pod *p = s_pod ("net", extra, NULL, "");
    probe_target_t t = {0};
    char *err = NULL;
    CHECK_EQ_INT (probe_target_resolve (p, s_c0 (p), s_c0 (p)->liveness_probe, &t, &err), 0);
    probe_net_t *net = NULL;
    *msg = NULL;
    int r = probe_net_start (&t, &net, msg);
    if (r == 1) {
        *ok = false;
        return 1;
    }
    CHECK (t.url == NULL && t.request == NULL); /* taken */
    int conn = -1;
    char req[4096];
    size_t got = 0;
    int64_t deadline = hs_mono_ns () + 2 * S;
    int done = 0;
    while (!done && hs_mono_ns () < deadline) {
        struct pollfd pf[3] = {{probe_net_fd (net), probe_net_events (net), 0},
                               {conn >= 0 ? conn : listen_fd, POLLIN, 0}};
        int n = poll (pf, listen_fd >= 0 ? 2 : 1, 50);
        if (n <= 0) continue;
        if (pf[0].revents) {
            short rv = (short)((pf[0].revents & POLLIN) | (pf[0].revents & POLLOUT) |
                               ((pf[0].revents & ~(POLLIN | POLLOUT)) ? POLLERR : 0));
            done = probe_net_step (net, rv, ok, msg);
        }
        if (listen_fd >= 0 && (pf[1].revents & POLLIN)) {
            if (conn < 0) {
                conn = accept4 (listen_fd, NULL, NULL, SOCK_CLOEXEC);
            } else {
                ssize_t k = read (conn, req + got, sizeof req - 1 - got);
                if (k > 0) got += (size_t)k;
                req[got] = '\0';
                if (strstr (req, "\r\n\r\n") && answer) {
                    CHECK (hs_startswith (req, "GET /"));
                    CHECK (write (conn, answer, strlen (answer)) == (ssize_t)strlen (answer));
                    answer = NULL;
                }
                if (k == 0) {
                    close (conn);
                    conn = -2; /* gone */
                }
            }
        }
    }
    if (!done) *msg = probe_net_timeout_msg (net);
    if (conn >= 0) close (conn);
    probe_net_destroy (&net);
    probe_net_destroy (&net); /* NULL-safe */
    return done;
}

static void test_net (void)
{
    int port = 0;
    int lfd = s_listen (&port);
    CHECK (lfd >= 0);
    bool ok = false;
    char *msg = NULL;
    /* tcpSocket: connected is success */
    CHECK_EQ_INT (
        s_check ("    livenessProbe: {tcpSocket: {port: \"%d\"}}\n", port, lfd, NULL, &ok, &msg),
        1);
    CHECK (ok);
    free (msg);
    /* httpGet: 200, 500, garbage, a server that never answers */
    CHECK_EQ_INT (s_check ("    livenessProbe: {httpGet: {port: \"%d\", path: /h}}\n", port, lfd,
                           "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &ok, &msg),
                  1);
    CHECK (ok);
    free (msg);
    CHECK_EQ_INT (s_check ("    livenessProbe: {httpGet: {port: \"%d\"}}\n", port, lfd,
                           "HTTP/1.1 500 Internal Server Error\r\n\r\n", &ok, &msg),
                  1);
    CHECK (!ok);
    CHECK_EQ_STR (msg, "HTTP probe failed with statuscode: 500");
    free (msg);
    CHECK_EQ_INT (s_check ("    livenessProbe: {httpGet: {port: \"%d\"}}\n", port, lfd,
                           "SSH-2.0-x\r\n", &ok, &msg),
                  1);
    CHECK (!ok);
    CHECK_CONTAINS (msg, "malformed HTTP response");
    free (msg);
    CHECK_EQ_INT (
        s_check ("    livenessProbe: {httpGet: {port: \"%d\"}}\n", port, lfd, NULL, &ok, &msg), 0);
    _cleanup_free_ char *want =
        hs_sprintf ("Get \"http://127.0.0.1:%d/\": context deadline exceeded (Client.Timeout "
                    "exceeded while awaiting headers)",
                    port);
    CHECK_EQ_STR (msg, want);
    free (msg);
    /* nothing listens: connection refused, the kubelet's words */
    close (lfd);
    CHECK_EQ_INT (
        s_check ("    livenessProbe: {tcpSocket: {port: \"%d\"}}\n", port, -1, NULL, &ok, &msg), 1);
    CHECK (!ok);
    _cleanup_free_ char *refused =
        hs_sprintf ("dial tcp 127.0.0.1:%d: connect: connection refused", port);
    CHECK_EQ_STR (msg, refused);
    free (msg);
    CHECK_EQ_INT (
        s_check ("    livenessProbe: {httpGet: {port: \"%d\"}}\n", port, -1, NULL, &ok, &msg), 1);
    CHECK (!ok);
    _cleanup_free_ char *refused2 = hs_sprintf (
        "Get \"http://127.0.0.1:%d/\": dial tcp 127.0.0.1:%d: connect: connection refused", port,
        port);
    CHECK_EQ_STR (msg, refused2);
    free (msg);
    s_reset ();
}

/* ------------------------------------------------------------------ nodemon */

static const Hs__Node *s_node (const char *name, const char *ready, const char *spec_extra)
{
    _cleanup_free_ char *cond =
        ready ? hs_sprintf ("  conditions:\n  - {type: Ready, status: \"%s\", reason: AgentReady, "
                            "lastHeartbeatTime: \"2024-01-01T00:00:00Z\"}\n",
                            ready)
              : hs_strdup ("");
    _cleanup_free_ char *y = hs_sprintf (
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: %s\n  uid: nu-%s\n  labels: {a: b}\n"
        "spec:\n%s"
        "status:\n  capacity: {cpu: \"2\"}\n%s",
        name, name, spec_extra ? spec_extra : "  unschedulable: false\n", cond);
    const Hs__Object *o = s_load (y);
    return o ? o->node : NULL;
}

static void test_nodemon_decide (void)
{
    nodemon_conf_t conf = {.grace_ns = 1 * S, .eviction_ns = 2 * S};
    /* silence counts from the later of the heartbeat and the judging start */
    CHECK_EQ_INT (nodemon_silent_at (&conf, 5 * S, 3 * S), 6 * S);
    CHECK_EQ_INT (nodemon_silent_at (&conf, 0, 3 * S), 4 * S); /* never heard */
    CHECK (nodemon_full_disruption (3, 3));
    CHECK (!nodemon_full_disruption (2, 3));
    CHECK (!nodemon_full_disruption (0, 0));

    const Hs__Node *up = s_node ("up", "True", NULL);
    CHECK_EQ_STR (nodemon_ready (up), "True");
    CHECK_EQ_INT (nodemon_decide (up, false, false), 0);
    CHECK_EQ_INT (nodemon_decide (up, true, false), NM_MARK); /* not yet: Ready still True */
    const Hs__Node *none = s_node ("none", NULL, NULL);
    CHECK_EQ_STR (nodemon_ready (none), "");
    CHECK_EQ_INT (nodemon_decide (none, true, false), NM_MARK | NM_EVICT);
    const Hs__Node *unk = s_node ("unk", "Unknown", NULL);
    CHECK_EQ_INT (nodemon_decide (unk, true, false), NM_TAINT | NM_EVICT);
    CHECK_EQ_INT (nodemon_decide (unk, true, true), NM_TAINT); /* full disruption */
    CHECK_EQ_INT (nodemon_decide (unk, false, false), 0);      /* back: the agent re-posts Ready */
    const char *taints = "  taints:\n  - {key: node.kubernetes.io/unreachable, effect: NoExecute}\n"
                         "  - {key: node.kubernetes.io/unreachable, effect: NoSchedule}\n"
                         "  - {key: dedicated, value: db, effect: NoSchedule}\n";
    const Hs__Node *ut = s_node ("ut", "Unknown", taints);
    CHECK_EQ_INT (nodemon_decide (ut, true, false), NM_EVICT);
    const Hs__Node *back = s_node ("back", "True", taints);
    CHECK_EQ_INT (nodemon_decide (back, false, false), NM_UNTAINT);
    const Hs__Node *half = s_node ("half", "True",
                                   "  taints:\n  - {key: node.kubernetes.io/unreachable, effect: "
                                   "NoSchedule}\n");
    CHECK_EQ_INT (nodemon_decide (half, false, false), NM_UNTAINT);
    const Hs__Node *down = s_node ("down", "False", NULL);
    CHECK_EQ_INT (nodemon_decide (down, true, false), NM_MARK | NM_EVICT);
    s_reset ();
}

static void test_nodemon_writes (void)
{
    int64_t now = 1700000000 * S;
    const Hs__Node *up = s_node ("up", "True", NULL);
    Hs__Object *o = nodemon_unknown_status (up, now);
    CHECK (o && o->node && o->node->status);
    if (o && o->node && o->node->status) {
        const Hs__NodeStatus *st = o->node->status;
        CHECK_EQ_INT (st->n_conditions, 1);
        const Hs__NodeCondition *c = st->conditions[0];
        CHECK_EQ_STR (c->status, "Unknown");
        CHECK_EQ_STR (c->reason, "NodeStatusUnknown");
        CHECK_EQ_STR (c->message, "Kubelet stopped posting node status.");
        CHECK_EQ_INT (c->last_transition_time, now);
        CHECK (c->last_heartbeat_time != 0); /* kept */
        CHECK_EQ_STR (st->capacity->cpu, "2");
        CHECK_EQ_STR (o->node->metadata->name, "up");
        /* said already: nothing to write */
        CHECK (nodemon_unknown_status (o->node, now + S) == NULL);
    }
    hs_pb_free (o);
    /* no condition at all: one is made */
    o = nodemon_unknown_status (s_node ("none", NULL, NULL), now);
    CHECK (o && o->node->status->n_conditions == 1);
    hs_pb_free (o);

    /* taints: added with their time, others kept; removing keeps others */
    const Hs__Node *n =
        s_node ("t", "True", "  taints:\n  - {key: dedicated, value: db, effect: NoSchedule}\n");
    o = nodemon_taints (n, true, now);
    CHECK (o != NULL);
    if (o) {
        CHECK_EQ_INT (o->node->spec->n_taints, 3);
        CHECK (nodemon_has_taint (o->node, NODEMON_TAINT_UNREACHABLE, "NoExecute"));
        CHECK (nodemon_has_taint (o->node, NODEMON_TAINT_UNREACHABLE, "NoSchedule"));
        CHECK (nodemon_has_taint (o->node, "dedicated", "NoSchedule"));
        CHECK_EQ_INT (o->node->spec->taints[1]->time_added, now);
        CHECK (o->node->status == NULL); /* an update of metadata and spec only */
        CHECK_EQ_STR (o->node->metadata->uid, "nu-t");
        CHECK (nodemon_taints (o->node, true, now) == NULL);
        Hs__Object *r = nodemon_taints (o->node, false, now);
        CHECK (r && r->node->spec->n_taints == 1);
        if (r) {
            CHECK_EQ_STR (r->node->spec->taints[0]->key, "dedicated");
            CHECK (nodemon_taints (r->node, false, now) == NULL);
        }
        hs_pb_free (r);
    }
    hs_pb_free (o);
    s_reset ();
}

static void test_nodemon_pods (void)
{
    nodemon_conf_t conf = {.grace_ns = 1 * S, .eviction_ns = 2 * S};
    int64_t since = 50 * S;
    const Hs__Pod *plain = s_pod ("plain", NULL, NULL, "");
    CHECK_EQ_INT (nodemon_pod_evict_at (&conf, plain, since), since + 2 * S);
    struct {
        const char *tolerations;
        int64_t want;
    } cases[] = {
        /* for ever: a matching toleration without tolerationSeconds */
        {"  - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute}\n",
         INT64_MAX},
        {"  - {operator: Exists}\n", INT64_MAX},
        /* tolerationSeconds instead of the eviction timeout; the shortest wins */
        {"  - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, "
         "tolerationSeconds: 5}\n",
         since + 5 * S},
        {"  - {key: node.kubernetes.io/not-ready, effect: NoExecute, tolerationSeconds: 7}\n"
         "  - {key: node.kubernetes.io/unreachable, operator: Exists, tolerationSeconds: 3}\n",
         since + 3 * S},
        {"  - {key: node.kubernetes.io/unreachable, operator: Exists, tolerationSeconds: 0}\n",
         since},
        {"  - {key: node.kubernetes.io/unreachable, operator: Exists}\n"
         "  - {key: node.kubernetes.io/not-ready, operator: Exists, tolerationSeconds: 9}\n",
         since + 9 * S},
        /* not matching: another effect, key, or value */
        {"  - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoSchedule}\n",
         since + 2 * S},
        {"  - {key: dedicated, operator: Exists}\n", since + 2 * S},
        {"  - {key: node.kubernetes.io/unreachable, operator: Equal, value: x}\n", since + 2 * S},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (cases); i++) {
        _cleanup_free_ char *spec = hs_sprintf ("  tolerations:\n%s", cases[i].tolerations);
        _cleanup_free_ char *name = hs_sprintf ("tol%zu", i);
        const Hs__Pod *p = s_pod (name, NULL, spec, "");
        int64_t got = nodemon_pod_evict_at (&conf, p, since);
        if (got != cases[i].want) fprintf (stderr, "  case %zu\n", i);
        CHECK_EQ_INT (got, cases[i].want);
    }
    /* finished and mirror pods stay */
    const Hs__Pod *done = s_pod ("done", NULL, NULL, "");
    Hs__Pod *dp = (Hs__Pod *)done;
    hs_pb_set_str (&dp->status->phase, "Succeeded");
    CHECK_EQ_INT (nodemon_pod_evict_at (&conf, done, since), INT64_MAX);
    _cleanup_free_ char *y =
        hs_sprintf ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: m\n  annotations: {%s: h}\n"
                    "spec:\n  nodeName: n1\n  containers: [{name: c, command: [x]}]\n",
                    HS_MIRROR_ANNOTATION);
    const Hs__Object *mo = s_load (y);
    CHECK_EQ_INT (nodemon_pod_evict_at (&conf, mo ? mo->pod : NULL, since), INT64_MAX);

    /* the write: Failed, NodeLost, kube's message, Ready False */
    const Hs__Pod *p = s_pod (
        "web-1", NULL, NULL,
        "  conditions:\n  - {type: Ready, status: \"True\"}\n  - {type: PodScheduled, status: "
        "\"True\"}\n"
        "  containerStatuses:\n  - {name: c, ready: true, restartCount: 2, state: {running: "
        "{startedAt: \"2024-01-01T00:00:00Z\"}}}\n");
    Hs__Object *o = nodemon_pod_lost (p, 77);
    CHECK (o && o->pod && o->pod->status);
    if (o && o->pod && o->pod->status) {
        const Hs__PodStatus *st = o->pod->status;
        CHECK_EQ_STR (st->phase, "Failed");
        CHECK_EQ_STR (st->reason, "NodeLost");
        CHECK_EQ_STR (st->message, "Node n1 which was running pod web-1 is unresponsive");
        CHECK_EQ_STR (o->pod->metadata->name, "web-1");
        CHECK_EQ_STR (o->pod->metadata->namespace_, "default");
        const Hs__PodCondition *rc = NULL, *ps = NULL;
        for (size_t i = 0; i < st->n_conditions; i++) {
            if (hs_streq (st->conditions[i]->type, "Ready")) rc = st->conditions[i];
            if (hs_streq (st->conditions[i]->type, "PodScheduled")) ps = st->conditions[i];
        }
        CHECK (rc && hs_streq (rc->status, "False") && rc->last_transition_time == 77);
        CHECK (ps && hs_streq (ps->status, "True"));
        CHECK_EQ_INT (st->n_container_statuses, 1);
        CHECK (!st->container_statuses[0]->ready);
        CHECK_EQ_INT (st->container_statuses[0]->restart_count, 2);
    }
    hs_pb_free (o);
    s_reset ();
}

/* The fence deadline: fence x (1 + drift) + margin from the later of the
 * node's last heartbeat and when we could start judging; an at-most-one
 * pod is replaced at the later of that and its ordinary eviction time;
 * other pods as before. */
static void test_nodemon_fence (void)
{
    nodemon_conf_t conf = {.grace_ns = 1 * S,
                           .eviction_ns = 1 * S,
                           .fence_ns = 2 * S,
                           .fence_margin_ns = 1 * S,
                           .max_drift = 0.05};
    int64_t heard = 100 * S, since = 10 * S;
    /* 2 s x 1.05 + 1 s = 3.1 s */
    CHECK_EQ_INT (nodemon_fence_at (&conf, heard, since), heard + 3100 * MS);
    /* a prober deaf until later judges from then */
    CHECK_EQ_INT (nodemon_fence_at (&conf, heard, heard + 5 * S), heard + 5 * S + 3100 * MS);
    /* never heard: from when it could start judging */
    CHECK_EQ_INT (nodemon_fence_at (&conf, 0, since), since + 3100 * MS);
    /* the drift is rounded up, never down */
    nodemon_conf_t odd = conf;
    odd.fence_ns = 1;
    odd.fence_margin_ns = 0;
    odd.max_drift = 0.5;
    CHECK_EQ_INT (nodemon_fence_at (&odd, heard, 0), heard + 2);
    /* no drift, no margin: exactly the fence */
    nodemon_conf_t exact = {.fence_ns = 2 * S};
    CHECK_EQ_INT (nodemon_fence_at (&exact, heard, 0), heard + 2 * S);
    CHECK_EQ_INT (nodemon_fence_at (&conf, INT64_MAX - S, 0), INT64_MAX);

    const Hs__Object *amo =
        s_load ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: one\n  annotations: "
                "{homeostat.io/at-most-one: \"true\"}\nspec:\n  nodeName: n1\n  containers: "
                "[{name: c, command: [x]}]\n");
    const Hs__Pod *plain = s_pod ("plain2", NULL, NULL, "");
    int64_t silent_since = heard + conf.grace_ns;
    /* ordinary: grace + eviction = 2 s after the last heartbeat */
    CHECK_EQ_INT (nodemon_pod_replace_at (&conf, plain, silent_since, heard, since), heard + 2 * S);
    /* at-most-one: 3.1 s, later than its 2 s */
    CHECK_EQ_INT (nodemon_pod_replace_at (&conf, amo ? amo->pod : NULL, silent_since, heard, since),
                  heard + 3100 * MS);
    /* an eviction timeout longer than the fence bound wins */
    nodemon_conf_t slow = conf;
    slow.eviction_ns = 10 * S;
    CHECK_EQ_INT (nodemon_pod_replace_at (&slow, amo ? amo->pod : NULL, silent_since, heard, since),
                  silent_since + 10 * S);
    /* tolerating the taint for ever: never, fenced or not */
    const Hs__Object *tol =
        s_load ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: tol\n  annotations: "
                "{homeostat.io/at-most-one: \"true\"}\nspec:\n  nodeName: n1\n  tolerations: "
                "[{operator: Exists}]\n  containers: [{name: c, command: [x]}]\n");
    CHECK_EQ_INT (nodemon_pod_replace_at (&conf, tol ? tol->pod : NULL, silent_since, heard, since),
                  INT64_MAX);
    /* the bound the agents rely on: max_drift bounds the ratio of the
     * clocks' rates (any interval measures at most (1 + d) times longer on
     * one than on the other), so the agent's fence ends at most
     * fence x (1 + d) later on our clock, and the margin is left over */
    for (int k = 0; k <= 10; k++) {
        double lo = 1.0 / (1.0 + conf.max_drift), hi = 1.0 + conf.max_drift;
        double rate = lo + (hi - lo) * k / 10.0;                /* agent ticks per tick of ours */
        double agent_fence_ours = (double)conf.fence_ns / rate; /* when, on our clock */
        int64_t repl =
            nodemon_pod_replace_at (&conf, amo ? amo->pod : NULL, silent_since, heard, since);
        CHECK ((double)(repl - heard) >=
               agent_fence_ours + (double)conf.fence_margin_ns - 1e-3 * S);
    }

    /* another prober's echo (fence.<node>/) for a node we judge restarts
     * its fence bound: probers that disagree on who owns n1 (A echoes it,
     * we judge it) never replace its at-most-one pod while A confirms it */
    const char *me = "prober:b", *other = "prober:a";
    CHECK_EQ_STR (nodemon_fence_echo_node ("fence.n1/", "hs-prober", "n1", other, me), "n1");
    /* our own echo, one that is not a prober's, or a topic not naming its
     * instance confirm nothing */
    CHECK (!nodemon_fence_echo_node ("fence.n1/", "hs-prober", "n1", me, me));
    CHECK (!nodemon_fence_echo_node ("fence.n1/", "hs-agent", "n1", other, me));
    CHECK (!nodemon_fence_echo_node ("fence.n1/", "hs-prober", "n2", other, me));
    CHECK (!nodemon_fence_echo_node ("fence.n12/", "hs-prober", "n1", other, me));
    CHECK (!nodemon_fence_echo_node ("fence.n1", "hs-prober", "n1", other, me));
    CHECK (!nodemon_fence_echo_node ("fence.n1/x", "hs-prober", "n1", other, me));
    CHECK (!nodemon_fence_echo_node ("fence./", "hs-prober", "", other, me));
    CHECK (!nodemon_fence_echo_node ("fence.n1/", "hs-prober", "n1", "", me));
    CHECK (!nodemon_fence_echo_node ("fence.n1/", NULL, "n1", other, me));
    /* the rule applied: we last heard n1 at `heard` (its link to our
     * broker cut); A's echo arrives 2.5 s later; the pod is not replaced
     * at heard + 3.1 s but 3.1 s after the echo, and each further echo
     * moves it again: never while anyone confirms the node */
    CHECK (amo != NULL);
    if (!amo) return;
    int64_t bound = nodemon_pod_replace_at (&conf, amo->pod, silent_since, heard, since);
    CHECK_EQ_INT (bound, heard + 3100 * MS);
    int64_t echo_at = heard + 2500 * MS;
    int64_t last_heard = heard;
    if (nodemon_fence_echo_node ("fence.n1/", "hs-prober", "n1", other, me)) last_heard = echo_at;
    bound = nodemon_pod_replace_at (&conf, amo->pod, echo_at + conf.grace_ns, last_heard, since);
    CHECK_EQ_INT (bound, echo_at + 3100 * MS);
    CHECK (bound > heard + 3100 * MS);
    s_reset ();
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"sched_timing", test_sched_timing},     {"sched_thresholds", test_sched_thresholds},
        {"sched_startup", test_sched_startup},   {"target", test_target},
        {"http_status", test_http_status},       {"net", test_net},
        {"nodemon_decide", test_nodemon_decide}, {"nodemon_writes", test_nodemon_writes},
        {"nodemon_pods", test_nodemon_pods},     {"nodemon_fence", test_nodemon_fence},
    };
    return HS_TEST_RUN (tests);
}
