/*  bench-apiserver: hs-apiserver, the Kubernetes REST gateway (issue 17).
 *
 *  Starts its own secured set (hsctl init into a temp dir, hs-bus --pki,
 *  hs-store, hs-apiserver --pki with HTTPS and --insecure-http on loopback)
 *  and prints three tables, each beside the etcd-backed kube-apiserver's
 *  figure from a public source where one exists (labelled so, never
 *  measured here; URLs in bench/README.md):
 *
 *    a) list: GET /api/v1/namespaces/default/pods on --pods pods (10,000;
 *       written through the store in batches, left Pending: no scheduler)
 *       as a Table (kubectl's Accept) and as JSON, time to last byte over
 *       loopback, p50/p99 of --requests (20), on HTTP and HTTPS; and the
 *       wall time of the real `kubectl get pods` (the /usr/bin dispatcher).
 *    b) watch: --watches (1,000) concurrent watches of the pods of
 *       namespace flood, each from the resourceVersion of a list, while a
 *       client floods hs-store with applies of new pods for --flood-seconds:
 *       events/s per watch and in total, lag (apply sent -> event line read
 *       by the watcher: the sent time rides in an annotation) p50/p99, events
 *       missing at the end, 410s, streams the gateway ended.
 *    c) creates/s: --threads (8,32) threads, each with one keep-alive
 *       connection POSTing new pods for --seconds, on HTTP and HTTPS; beside
 *       it hs-store's own apply rate from one bus client with the same
 *       number of applies in flight, in the same run.
 *
 *  It watches the gateway's memory: past --max-rss-mb the flood stops and
 *  the row says so (a gateway that queues instead of ending slow streams
 *  must not take the machine with it).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchlib.h"
#include "hs_client.h"
#include "hs_obj.h"
#include "hs_pb.h"
#include "hs_util.h"

#define SENT_ANNOTATION "bench.homeostat.io/sent-ns"
#define TABLE_ACCEPT                                                                               \
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta."     \
    "k8s.io,application/json"

typedef struct {
    int pods, requests, watches, flood_s, seconds, max_rss_mb;
    int threads[4];
    int n_threads;
    double rates[4]; /* b)'s offered rates (0: full) */
    int n_rates;
    bool skip_list, skip_watch, skip_create;
    const char *bin;
} opts_t;

typedef struct {
    char *dir, *pki, *token, *ca;
    int https_port, http_port;
    pid_t api_pid;
    char *api_log;
    bl_plane_t plane;
    gnutls_certificate_credentials_t xcred;
} set_t;

static set_t S;

/* The memory guard: a thread that kills hs-apiserver once its RSS passes
 * --max-rss-mb (a gateway that queues without bound must not take the
 * machine, shared with other work, down with it). */
static volatile long s_rss_peak;
static volatile int s_rss_killed; /* the RSS (MB) it was killed at, 0: alive */
static int s_rss_limit;

static long s_rss_mb (pid_t pid);

static void *s_guard (void *arg)
{
    (void)arg;
    for (;;) {
        long rss = s_rss_mb (S.api_pid);
        if (rss > s_rss_peak) s_rss_peak = rss;
        if (rss > s_rss_limit && !s_rss_killed) {
            s_rss_killed = (int)rss;
            kill (S.api_pid, SIGKILL);
            fprintf (stderr,
                     "bench-apiserver: hs-apiserver's RSS reached %ld MB (> --max-rss-mb %d): "
                     "killed it\n",
                     rss, s_rss_limit);
        }
        usleep (50000);
    }
    return NULL;
}

/* ------------------------------------------------------------------ HTTP client */

typedef struct {
    int fd;
    gnutls_session_t tls; /* NULL: plain */
    char *buf;            /* read buffer */
    size_t len, off, cap;
} conn_t;

static int s_tcp (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons ((uint16_t)port)};
    a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if (connect (fd, (struct sockaddr *)&a, sizeof a) < 0) {
        int e = -errno;
        close (fd);
        return e;
    }
    int one = 1;
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* A gateway that stops answering fails the request, it does not hang us. */
    struct timeval tv = {.tv_sec = 60};
    setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static int s_conn_open (conn_t *c, bool tls)
{
    memset (c, 0, sizeof *c);
    c->fd = s_tcp (tls ? S.https_port : S.http_port);
    if (c->fd < 0) return c->fd;
    c->cap = 1 << 16;
    c->buf = hs_malloc (c->cap);
    if (!tls) return 0;
    gnutls_init (&c->tls, GNUTLS_CLIENT);
    gnutls_set_default_priority (c->tls);
    gnutls_credentials_set (c->tls, GNUTLS_CRD_CERTIFICATE, S.xcred);
    gnutls_server_name_set (c->tls, GNUTLS_NAME_DNS, "localhost", strlen ("localhost"));
    gnutls_session_set_verify_cert (c->tls, "localhost", 0);
    gnutls_transport_set_int (c->tls, c->fd);
    int r;
    do r = gnutls_handshake (c->tls);
    while (r < 0 && !gnutls_error_is_fatal (r));
    if (r < 0) {
        fprintf (stderr, "bench-apiserver: TLS handshake: %s\n", gnutls_strerror (r));
        return -EPROTO;
    }
    return 0;
}

static void s_conn_close (conn_t *c)
{
    if (c->tls) {
        gnutls_deinit (c->tls);
        c->tls = NULL;
    }
    if (c->fd >= 0) close (c->fd);
    c->fd = -1;
    free (c->buf);
    c->buf = NULL;
}

static ssize_t s_raw_read (conn_t *c, char *p, size_t n)
{
    if (!c->tls) {
        ssize_t r;
        do r = read (c->fd, p, n);
        while (r < 0 && errno == EINTR);
        return r < 0 ? -errno : r;
    }
    ssize_t r;
    do r = gnutls_record_recv (c->tls, p, n);
    while (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED);
    if (r == GNUTLS_E_PREMATURE_TERMINATION) return 0;
    return r < 0 ? -EIO : r;
}

static int s_write_all (conn_t *c, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t r;
        if (c->tls) {
            r = gnutls_record_send (c->tls, p, n);
            if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) continue;
            if (r < 0) return -EIO;
        } else {
            r = write (c->fd, p, n);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) return -errno;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Makes at least one more byte available at c->buf[c->len]; 0 at EOF. */
static ssize_t s_fill (conn_t *c)
{
    if (c->off > 0 && c->off == c->len) c->off = c->len = 0;
    if (c->len == c->cap) {
        if (c->off > 0) {
            memmove (c->buf, c->buf + c->off, c->len - c->off);
            c->len -= c->off;
            c->off = 0;
        } else {
            c->cap *= 2;
            c->buf = hs_realloc (c->buf, c->cap);
        }
    }
    ssize_t r = s_raw_read (c, c->buf + c->len, c->cap - c->len);
    if (r > 0) c->len += (size_t)r;
    return r;
}

/* A line ending in \r\n from the buffer (NUL-terminated in place, without
 * the \r\n), or NULL at EOF/error. */
static char *s_line (conn_t *c)
{
    for (;;) {
        char *s = c->buf + c->off;
        char *e = memmem (s, c->len - c->off, "\r\n", 2);
        if (e) {
            *e = '\0';
            c->off = (size_t)(e + 2 - c->buf);
            return s;
        }
        if (s_fill (c) <= 0) return NULL;
    }
}

/* Reads exactly n body bytes, appending them to body (NULL: discard). */
static int s_take (conn_t *c, size_t n, hs_buf_t *body)
{
    while (n > 0) {
        if (c->off == c->len && s_fill (c) <= 0) return -EIO;
        size_t k = c->len - c->off < n ? c->len - c->off : n;
        if (body) hs_buf_append (body, c->buf + c->off, k);
        c->off += k;
        n -= k;
    }
    return 0;
}

typedef struct {
    int status;
    size_t bytes;   /* body bytes */
    int64_t ttlb;   /* request sent -> last byte (ns) */
    bool chunked;   /* Transfer-Encoding: chunked */
    bool close;     /* the server closes after it */
    char warn[256]; /* the first Warning header */
} resp_t;

/* Reads the status line and headers. */
static int s_read_head (conn_t *c, resp_t *rp, long long *clen)
{
    char *l = s_line (c);
    if (!l || strncmp (l, "HTTP/1.", 7) != 0) return -EPROTO;
    rp->status = atoi (l + 9);
    *clen = -1;
    while ((l = s_line (c)) && *l) {
        if (!strncasecmp (l, "content-length:", 15))
            *clen = atoll (l + 15);
        else if (!strncasecmp (l, "transfer-encoding:", 18) && strcasestr (l, "chunked"))
            rp->chunked = true;
        else if (!strncasecmp (l, "connection:", 11) && strcasestr (l, "close"))
            rp->close = true;
        else if (!strncasecmp (l, "warning:", 8) && !rp->warn[0])
            snprintf (rp->warn, sizeof rp->warn, "%s", l + 9);
    }
    return l ? 0 : -EPROTO;
}

/* One request on a keep-alive connection; reads the whole answer. */
static int s_request (conn_t *c, const char *method, const char *path, const char *accept,
                      const char *body, hs_buf_t *ret_body, resp_t *rp)
{
    memset (rp, 0, sizeof *rp);
    char clen_hdr[96] = "";
    if (body)
        snprintf (clen_hdr, sizeof clen_hdr,
                  "Content-Type: application/json\r\nContent-Length: %zu\r\n", strlen (body));
    _cleanup_free_ char *req = hs_sprintf (
        "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench-apiserver\r\n"
        "Authorization: Bearer %s\r\nAccept: %s\r\n%s\r\n%s",
        method, path, S.token, accept ? accept : "application/json", clen_hdr, body ? body : "");
    int64_t t0 = hs_mono_ns ();
    int r = s_write_all (c, req, strlen (req));
    if (r < 0) return r;
    long long clen;
    r = s_read_head (c, rp, &clen);
    if (r < 0) return r;
    if (rp->chunked) {
        for (;;) {
            char *l = s_line (c);
            if (!l) return -EIO;
            size_t n = strtoul (l, NULL, 16);
            if (n == 0) {
                while ((l = s_line (c)) && *l) {}
                break;
            }
            if (s_take (c, n, ret_body) < 0) return -EIO;
            rp->bytes += n;
            if (!s_line (c)) return -EIO;
        }
    } else if (clen >= 0) {
        if (s_take (c, (size_t)clen, ret_body) < 0) return -EIO;
        rp->bytes = (size_t)clen;
    } else {
        return -EPROTO;
    }
    rp->ttlb = hs_mono_ns () - t0;
    return 0;
}

/* "resourceVersion":"N" in a list's metadata (the first one in the body). */
static long long s_list_rv (const char *body)
{
    const char *p = strstr (body, "\"resourceVersion\":\"");
    return p ? atoll (p + 19) : -1;
}

/* ------------------------------------------------------------------ the set */

static void s_run (char *const argv[], const char *log)
{
    pid_t pid = bl_spawn (argv, log);
    int st = 0;
    if (waitpid (pid, &st, 0) < 0 || !WIFEXITED (st) || WEXITSTATUS (st) != 0) {
        bl_tail_log (log, 20);
        bl_die ("%s failed", argv[0]);
    }
}

static char *s_read_file (const char *path)
{
    FILE *f = fopen (path, "r");
    if (!f) return NULL;
    hs_buf_t b = {0};
    char tmp[4096];
    size_t n;
    while ((n = fread (tmp, 1, sizeof tmp, f)) > 0) hs_buf_append (&b, tmp, n);
    fclose (f);
    return hs_buf_take (&b);
}

static long s_rss_mb (pid_t pid)
{
    char path[64];
    snprintf (path, sizeof path, "/proc/%d/status", (int)pid);
    _cleanup_free_ char *s = s_read_file (path);
    const char *p = s ? strstr (s, "VmRSS:") : NULL;
    return p ? atol (p + 6) / 1024 : -1;
}

static hs_client_t *s_admin (const char *inst)
{
    hs_client_t *cl = NULL;
    int r = hs_client_new (S.plane.bus, "bench-apiserver", inst, 10000, &cl);
    if (r < 0) bl_die ("cannot join hs-bus at %s: %s", S.plane.bus, strerror (-r));
    return cl;
}

static void s_set_start (const opts_t *o)
{
    S.dir = bl_tmpdir ("bench-apiserver");
    S.pki = hs_sprintf ("%s/pki", S.dir);
    const char *names[] = {"hs-bus", "hs-store", "hs-apiserver", "hsctl"};
    char *bins[4];
    bl_find_bins (names, 4, o->bin, bins);
    _cleanup_free_ char *hscfg = hs_sprintf ("%s/hsconfig", S.dir);
    setenv ("HSCONFIG", hscfg, 1);
    _cleanup_free_ char *init_log = hs_sprintf ("%s/init.log", S.dir);
    char *a_init[] = {bins[3], "init", "--pki", S.pki, "--user", "bench", NULL};
    s_run (a_init, init_log);
    _cleanup_free_ char *admin = hs_sprintf ("%s/creds/admin-bench.cred", S.pki);
    unsetenv ("HS_INSECURE");
    setenv ("HS_CREDENTIAL", admin, 1);
    bl_plane_start_pki (&S.plane, S.dir, bins[0], bins[1], false, S.pki);

    _cleanup_free_ char *kc_path = hs_sprintf ("%s/kubeconfig", S.pki);
    _cleanup_free_ char *kc = s_read_file (kc_path);
    const char *t = kc ? strstr (kc, "token: ") : NULL;
    if (!t) bl_die ("no token in %s (hsctl init of issue 17 writes it)", kc_path);
    t += 7;
    S.token = hs_strndup (t, strcspn (t, "\r\n \""));
    S.ca = hs_sprintf ("%s/api/ca.crt", S.pki);

    S.https_port = bl_free_port (false);
    S.http_port = bl_free_port (false);
    char https[32], http[32];
    snprintf (https, sizeof https, "127.0.0.1:%d", S.https_port);
    snprintf (http, sizeof http, "127.0.0.1:%d", S.http_port);
    /* Its own credential, whatever init names it (sa:apiserver). */
    _cleanup_free_ char *pat = hs_sprintf ("%s/creds/*apiserver*.cred", S.pki);
    glob_t g = {0};
    char *cred = NULL;
    if (glob (pat, 0, NULL, &g) == 0 && g.gl_pathc > 0) cred = hs_strdup (g.gl_pathv[0]);
    globfree (&g);
    S.api_log = hs_sprintf ("%s/hs-apiserver.log", S.dir);
    char *a_api[] = {bins[2],    "--bus", S.plane.bus,       "--pki", S.pki,
                     "--listen", https,   "--insecure-http", http,    cred ? "--credential" : NULL,
                     cred,       NULL};
    S.api_pid = bl_spawn (a_api, S.api_log);
    s_rss_limit = o->max_rss_mb;
    pthread_t guard;
    pthread_create (&guard, NULL, s_guard, NULL);
    pthread_detach (guard);
    free (cred);
    for (int i = 0; i < 4; i++) free (bins[i]);

    gnutls_global_init ();
    gnutls_certificate_allocate_credentials (&S.xcred);
    if (gnutls_certificate_set_x509_trust_file (S.xcred, S.ca, GNUTLS_X509_FMT_PEM) <= 0)
        bl_die ("cannot read the cluster CA %s", S.ca);

    /* Up and synced: a list of nodes answers 200. */
    int64_t deadline = hs_mono_ns () + 30000000000LL;
    for (;;) {
        if (!bl_alive (S.api_pid)) {
            bl_tail_log (S.api_log, 30);
            bl_die ("hs-apiserver exited");
        }
        conn_t c;
        resp_t rp = {0};
        if (s_conn_open (&c, false) == 0 &&
            s_request (&c, "GET", "/api/v1/nodes", NULL, NULL, NULL, &rp) == 0 &&
            rp.status == 200) {
            s_conn_close (&c);
            break;
        }
        s_conn_close (&c);
        if (hs_mono_ns () > deadline) {
            bl_tail_log (S.api_log, 30);
            bl_die ("hs-apiserver did not answer GET /api/v1/nodes within 30 s (last %d)",
                    rp.status);
        }
        usleep (50000); /* polling interval of a deadline wait */
    }
}

/* ------------------------------------------------------------------ pods through the store */

static Hs__Object *s_make_pod (const char *ns, const char *name, int64_t sent_real_ns)
{
    Hs__Object *obj = hs_obj_new (HS_KIND_POD, ns, name);
    Hs__Pod *pod = obj->pod;
    hs_pb_map_set ((void ***)&pod->metadata->labels, &pod->metadata->n_labels,
                   &hs__object_meta__labels_entry__descriptor, "app", "bench");
    char sent[32];
    snprintf (sent, sizeof sent, "%lld", (long long)sent_real_ns);
    hs_pb_map_set ((void ***)&pod->metadata->annotations, &pod->metadata->n_annotations,
                   &hs__object_meta__annotations_entry__descriptor, SENT_ANNOTATION, sent);
    pod->spec = hs_pb_new (&hs__pod_spec__descriptor);
    Hs__Container *c = hs_pb_new (&hs__container__descriptor);
    hs_pb_set_str (&c->name, "app");
    hs_pb_set_str (&c->image, "busybox:1.36");
    char *cmd0 = NULL, *cmd1 = NULL;
    hs_pb_take_str (&cmd0, hs_strdup ("sleep"));
    hs_pb_take_str (&cmd1, hs_strdup ("3600"));
    hs_pb_push ((void ***)&c->command, &c->n_command, cmd0);
    hs_pb_push ((void ***)&c->command, &c->n_command, cmd1);
    hs_pb_push ((void ***)&pod->spec->containers, &pod->spec->n_containers, c);
    hs_pb_set_str (&pod->spec->restart_policy, "Always");
    return obj;
}

typedef struct {
    hs_client_t *cl;
    const char *ns, *prefix;
    int batch;     /* writes per command */
    int64_t t_end; /* mono: stop sending (0: by count) */
    double rate;   /* writes per second offered (0: as fast as acks come) */
    int64_t t0;
    long long target; /* pods to write (by count) */
    long long sent, acked, errors;
    int inflight;
    int64_t max_rev;
} writer_t;

static void s_writer_send (writer_t *w);

static bool s_writer_done (const writer_t *w)
{
    return w->t_end ? hs_mono_ns () >= w->t_end : w->sent >= w->target;
}

static bool s_writer_due (const writer_t *w)
{
    if (s_writer_done (w)) return false;
    return w->rate <= 0 || (double)w->sent < w->rate * (double)(hs_mono_ns () - w->t0) / 1e9;
}

static void s_writer_ack (void *arg, int err, const Hs__Ack *ack)
{
    writer_t *w = arg;
    w->inflight--;
    if (err == 0 && ack && ack->code == HS__CODE__CODE_OK) {
        w->acked += w->batch;
        if (ack->revision > w->max_rev) w->max_rev = ack->revision;
    } else {
        if (w->errors++ == 0)
            fprintf (stderr, "bench-apiserver: apply: %s %s\n", err ? strerror (-err) : "",
                     ack ? hs_s (ack->message) : "");
    }
    if (s_writer_due (w)) s_writer_send (w);
}

static void s_writer_send (writer_t *w)
{
    Hs__Write **wr = hs_calloc ((size_t)w->batch, sizeof *wr);
    int64_t now = hs_now_ns ();
    for (int i = 0; i < w->batch; i++) {
        char name[64];
        snprintf (name, sizeof name, "%s-%07lld", w->prefix, w->sent + i);
        wr[i] = hs_write_new (HS__OP__OP_APPLY, s_make_pod (w->ns, name, now));
    }
    hs_call_opts_t opts = {.timeout_ms = 60000};
    int r = hs_client_send (w->cl, wr, (size_t)w->batch, &opts, s_writer_ack, w);
    for (int i = 0; i < w->batch; i++) hs_pb_free (wr[i]);
    free (wr);
    if (r < 0) bl_die ("hs_client_send: %s", strerror (-r));
    w->sent += w->batch;
    w->inflight++;
}

/* Runs the writer with `depth` commands in flight until done; returns the
 * seconds it took. */
static double s_writer_run (writer_t *w, int depth)
{
    int64_t t0 = hs_mono_ns ();
    w->t0 = t0;
    for (;;) {
        while (w->inflight < depth && s_writer_due (w)) s_writer_send (w);
        if (w->inflight == 0 && s_writer_done (w)) break;
        hs_client_process (w->cl, w->rate > 0 ? 1 : 50);
    }
    return (double)(hs_mono_ns () - t0) / 1e9;
}

/* ------------------------------------------------------------------ a) list */

static void s_list_row (const char *what, bool tls, const char *path, const char *accept, int n,
                        const char *public_fig)
{
    conn_t c;
    if (s_conn_open (&c, tls) < 0) bl_die ("connect");
    bl_samples_t s = {0};
    size_t bytes = 0;
    int status = 0;
    for (int i = 0; i < n + 1; i++) {
        resp_t rp;
        if (s_request (&c, "GET", path, accept, NULL, NULL, &rp) < 0) bl_die ("GET %s", path);
        status = rp.status;
        bytes = rp.bytes;
        if (i > 0) bl_samples_add (&s, (uint64_t)rp.ttlb); /* the first warms up */
        if (rp.close) {
            s_conn_close (&c);
            if (s_conn_open (&c, tls) < 0) bl_die ("connect");
        }
    }
    s_conn_close (&c);
    bl_samples_sort (&s);
    char p50[32], p99[32], b[32];
    printf ("%-34s %-5s %4d %12s %10s %10s   %s\n", what, tls ? "https" : "http", status,
            bl_fmt_count ((double)bytes, b, sizeof b), bl_fmt_ns (bl_pct (&s, 50), p50, sizeof p50),
            bl_fmt_ns (bl_pct (&s, 99), p99, sizeof p99), public_fig);
    bl_samples_free (&s);
}

static void s_kubectl_row (int n)
{
    _cleanup_free_ char *kc = hs_sprintf ("%s/kubeconfig", S.pki);
    _cleanup_free_ char *cache = hs_sprintf ("%s/kcache", S.dir);
    _cleanup_free_ char *server = hs_sprintf ("https://127.0.0.1:%d", S.https_port);
    _cleanup_free_ char *log = hs_sprintf ("%s/kubectl.log", S.dir);
    char *argv[] = {"/usr/bin/kubectl", "--kubeconfig", kc,    "--server", server,
                    "--cache-dir",      cache,          "get", "pods",     NULL};
    if (access (argv[0], X_OK) != 0) {
        printf ("%-34s %-5s %s\n", "kubectl get pods (wall)", "https", "no /usr/bin/kubectl");
        return;
    }
    bl_samples_t s = {0};
    int failed = 0;
    for (int i = 0; i < n + 1; i++) {
        int64_t t0 = hs_mono_ns ();
        pid_t pid = fork ();
        if (pid == 0) {
            int fd = open ("/dev/null", O_WRONLY);
            int lf = open (log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            dup2 (fd, 1);
            dup2 (lf, 2);
            execv (argv[0], argv);
            _exit (127);
        }
        int st = 0;
        waitpid (pid, &st, 0);
        if (!WIFEXITED (st) || WEXITSTATUS (st) != 0) failed++;
        if (i > 0) bl_samples_add (&s, (uint64_t)(hs_mono_ns () - t0));
    }
    bl_samples_sort (&s);
    char p50[32], mx[32];
    printf ("%-34s %-5s %4s %12s %10s %10s   %s\n", "kubectl get pods (wall: p50, max of 5)",
            "https", failed ? "FAIL" : "ok", "-", bl_fmt_ns (bl_pct (&s, 50), p50, sizeof p50),
            bl_fmt_ns (bl_pct (&s, 100), mx, sizeof mx), "no public figure found");
    if (failed) bl_tail_log (log, 5);
    bl_samples_free (&s);
}

static void s_bench_list (const opts_t *o)
{
    hs_client_t *cl = s_admin ("list");
    writer_t w = {.cl = cl, .ns = "default", .prefix = "p", .batch = 100, .target = o->pods};
    double secs = s_writer_run (&w, 8);
    if (w.errors) bl_die ("%lld failed applies while loading pods", w.errors);
    fprintf (stderr, "bench-apiserver: %d pods written through hs-store in %.1f s (rev %lld)\n",
             o->pods, secs, (long long)w.max_rev);
    hs_client_destroy (&cl);
    /* The gateway's cache has them all. */
    int64_t deadline = hs_mono_ns () + 60000000000LL;
    for (;;) {
        conn_t c;
        resp_t rp;
        hs_buf_t b = {0};
        long long rv = -1;
        if (s_conn_open (&c, false) == 0 &&
            s_request (&c, "GET", "/api/v1/namespaces/default/pods?limit=1", NULL, NULL, &b, &rp) ==
                0) {
            hs_buf_append (&b, "", 1);
            rv = s_list_rv (b.data);
        }
        s_conn_close (&c);
        hs_buf_free (&b);
        if (rv >= w.max_rev) break;
        if (hs_mono_ns () > deadline) bl_die ("the gateway's list stayed at rv %lld", rv);
        usleep (50000); /* polling interval of a deadline wait */
    }
    char pods[32];
    printf ("\na) list %s pods of one namespace, time to last byte over loopback, %d requests "
            "on one keep-alive connection (after one warm-up)\n",
            bl_fmt_count (o->pods, pods, sizeof pods), o->requests);
    printf ("%-34s %-5s %4s %12s %10s %10s   %s\n", "request", "proto", "code", "bytes", "p50",
            "p99", "etcd-backed kube-apiserver (public figure, not measured here)");
    /* https://github.com/kubernetes/community/blob/master/sig-scalability/slos/api_call_latency.md */
    /* https://kubernetes.io/blog/2024/08/15/consistent-read-from-cache-beta/ gives only a
     * ratio (p99 pod LIST up to 3x lower, 5,000-node test); no absolute time for 10,000 pods
     * was found. */
    const char *slo = "no measured figure found; SLO: namespace LIST p99 <= 5 s";
    s_list_row ("GET pods, Table (kubectl's Accept)", false, "/api/v1/namespaces/default/pods",
                TABLE_ACCEPT, o->requests, slo);
    s_list_row ("GET pods, Table (kubectl's Accept)", true, "/api/v1/namespaces/default/pods",
                TABLE_ACCEPT, o->requests, slo);
    s_list_row ("GET pods?limit=500, Table", true, "/api/v1/namespaces/default/pods?limit=500",
                TABLE_ACCEPT, o->requests, "(kubectl's first page)");
    s_list_row ("GET pods, JSON PodList", false, "/api/v1/namespaces/default/pods",
                "application/json", o->requests, slo);
    s_list_row ("GET pods, JSON PodList", true, "/api/v1/namespaces/default/pods",
                "application/json", o->requests, slo);
    s_kubectl_row (5);
}

/* ------------------------------------------------------------------ b) watches */

/* Lag histogram: 100 us buckets up to 60 s. */
#define LAG_BUCKET_NS 100000LL
#define LAG_BUCKETS   600000

typedef struct {
    conn_t c;
    int state; /* 0 head, 1 chunk size, 2 chunk data, 3 chunk crlf, 4 ended */
    size_t chunk_left;
    hs_buf_t line;
    long long events, errors, expired;
    int64_t first_ns, last_ns;
    bool ended;
} watch_t;

static uint32_t *s_lag;
static long long s_lag_n;

static void s_lag_add (int64_t ns)
{
    if (ns < 0) ns = 0;
    long long b = ns / LAG_BUCKET_NS;
    if (b >= LAG_BUCKETS) b = LAG_BUCKETS - 1;
    s_lag[b]++;
    s_lag_n++;
}

static int64_t s_lag_pct (double pct)
{
    if (s_lag_n == 0) return 0;
    long long want = (long long)((double)s_lag_n * pct / 100.0);
    if (want >= s_lag_n) want = s_lag_n - 1;
    long long seen = 0;
    for (long long b = 0; b < LAG_BUCKETS; b++) {
        seen += s_lag[b];
        if (seen > want) return (b + 1) * LAG_BUCKET_NS;
    }
    return 0;
}

static void s_watch_line (watch_t *w, const char *l, size_t n)
{
    if (n == 0) return;
    int64_t now_real = hs_now_ns (), now = hs_mono_ns ();
    if (memmem (l, n, "\"type\":\"ERROR\"", 14)) {
        w->errors++;
        if (memmem (l, n, "410", 3)) w->expired++;
        return;
    }
    if (memmem (l, n, "\"type\":\"BOOKMARK\"", 17)) return;
    w->events++;
    if (!w->first_ns) w->first_ns = now;
    w->last_ns = now;
    static const char key[] = "\"" SENT_ANNOTATION "\":\"";
    const char *p = memmem (l, n, key, sizeof key - 1);
    if (p) s_lag_add (now_real - atoll (p + sizeof key - 1));
}

/* Feeds what arrived on w's socket through the chunked framing into lines. */
static void s_watch_feed (watch_t *w)
{
    conn_t *c = &w->c;
    for (;;) {
        if (w->state == 0) {
            char *e = memmem (c->buf + c->off, c->len - c->off, "\r\n\r\n", 4);
            if (!e) return;
            if (strncmp (c->buf + c->off, "HTTP/1.1 200", 12) != 0) {
                fprintf (stderr, "bench-apiserver: watch answered %.40s\n", c->buf + c->off);
                w->state = 4, w->ended = true;
                return;
            }
            c->off = (size_t)(e + 4 - c->buf);
            w->state = 1;
        } else if (w->state == 1) {
            char *e = memmem (c->buf + c->off, c->len - c->off, "\r\n", 2);
            if (!e) return;
            w->chunk_left = strtoul (c->buf + c->off, NULL, 16);
            c->off = (size_t)(e + 2 - c->buf);
            if (w->chunk_left == 0) {
                w->state = 4, w->ended = true;
                return;
            }
            w->state = 2;
        } else if (w->state == 2) {
            size_t k = c->len - c->off;
            if (k == 0) return;
            if (k > w->chunk_left) k = w->chunk_left;
            const char *p = c->buf + c->off, *end = p + k;
            while (p < end) {
                const char *nl = memchr (p, '\n', (size_t)(end - p));
                if (!nl) {
                    hs_buf_append (&w->line, p, (size_t)(end - p));
                    break;
                }
                if (w->line.len) {
                    hs_buf_append (&w->line, p, (size_t)(nl - p));
                    s_watch_line (w, w->line.data, w->line.len);
                    w->line.len = 0;
                } else {
                    s_watch_line (w, p, (size_t)(nl - p));
                }
                p = nl + 1;
            }
            c->off += k;
            w->chunk_left -= k;
            if (w->chunk_left == 0) w->state = 3;
        } else if (w->state == 3) {
            if (c->len - c->off < 2) return;
            c->off += 2;
            w->state = 1;
        } else {
            c->off = c->len;
            return;
        }
        if (c->off == c->len) c->off = c->len = 0;
    }
}

typedef struct {
    const opts_t *o;
    double rate;
    const char *ns;
} flood_t;

static int s_flood_worker (void *arg, int i)
{
    (void)i;
    const flood_t *f = arg;
    hs_client_t *cl = s_admin ("flood");
    int64_t t0 = bl_worker_ready ();
    bl_sleep_until (t0);
    writer_t w = {.cl = cl,
                  .ns = f->ns,
                  .prefix = "f",
                  .batch = 1,
                  .rate = f->rate,
                  .t_end = t0 + (int64_t)f->o->flood_s * 1000000000LL};
    double secs = s_writer_run (&w, 64);
    bl_result_t res = {0};
    res.c[0] = (uint64_t)w.acked;
    res.c[1] = (uint64_t)w.errors;
    res.c[2] = (uint64_t)(secs * 1e6);
    _cleanup_free_ char *path = hs_sprintf ("%s/flood.res", S.dir);
    int r = bl_result_write (path, &res);
    hs_client_destroy (&cl);
    return r < 0;
}

/* One row of b): o->watches watches of namespace ns, then a flood offered at
 * rate pods/s (0: as fast as 64 applies in flight go). */
static void s_watch_row (const opts_t *o, double rate, const char *ns)
{
    memset (s_lag, 0, LAG_BUCKETS * sizeof *s_lag);
    s_lag_n = 0;
    /* resourceVersion from a list */
    conn_t c;
    resp_t rp;
    hs_buf_t b = {0};
    _cleanup_free_ char *lpath = hs_sprintf ("/api/v1/namespaces/%s/pods", ns);
    if (s_conn_open (&c, false) < 0 || s_request (&c, "GET", lpath, NULL, NULL, &b, &rp) < 0) {
        if (!s_rss_killed) bl_die ("list %s", ns);
        printf ("   (this row and the next skipped: hs-apiserver was killed at %d MB)\n",
                s_rss_killed);
        s_conn_close (&c);
        hs_buf_free (&b);
        return;
    }
    s_conn_close (&c);
    hs_buf_append (&b, "", 1);
    long long rv = s_list_rv (b.data);
    hs_buf_free (&b);
    if (rv < 0) bl_die ("the list has no resourceVersion");

    int ep = epoll_create1 (EPOLL_CLOEXEC);
    watch_t *ws = hs_calloc ((size_t)o->watches, sizeof *ws);
    _cleanup_free_ char *req =
        hs_sprintf ("GET %s?watch=true&resourceVersion=%lld HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    "User-Agent: bench-apiserver\r\nAuthorization: Bearer %s\r\n"
                    "Accept: application/json\r\n\r\n",
                    lpath, rv, S.token);
    for (int i = 0; i < o->watches; i++) {
        if (s_conn_open (&ws[i].c, false) < 0) bl_die ("watch %d: connect", i);
        if (s_write_all (&ws[i].c, req, strlen (req)) < 0) bl_die ("watch %d: send", i);
        fcntl (ws[i].c.fd, F_SETFL, O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl (ep, EPOLL_CTL_ADD, ws[i].c.fd, &ev);
    }
    /* Every watch answered its head. */
    struct epoll_event evs[256];
    int64_t deadline = hs_mono_ns () + 30000000000LL;
    int heads = 0;
    while (heads < o->watches && hs_mono_ns () < deadline) {
        int n = epoll_wait (ep, evs, 256, 100);
        for (int k = 0; k < n; k++) {
            watch_t *w = &ws[evs[k].data.u32];
            int before = w->state;
            ssize_t r = s_fill (&w->c);
            if (r <= 0 && r != -EAGAIN) w->ended = true, w->state = 4;
            s_watch_feed (w);
            if (before == 0 && w->state != 0) heads++;
        }
    }
    if (heads < o->watches) bl_die ("%d of %d watches answered in 30 s", heads, o->watches);

    flood_t fa = {.o = o, .rate = rate, .ns = ns};
    double cpu0 = bl_cpu_s (S.api_pid);
    struct rusage ru0, ru1;
    getrusage (RUSAGE_SELF, &ru0);
    bl_group_t *g = bl_group_start (1, s_flood_worker, &fa);
    int64_t t_go;
    if (bl_group_go (g, 15000, 200, &t_go) < 0) bl_die ("the flood client did not start");
    bool flood_done = false, aborted = false;
    long max_rss = 0;
    long long total = 0, want = -1;
    int64_t t_last = 0, idle_since = 0, next_rss = 0;
    bl_result_t fr = {0};
    _cleanup_free_ char *frpath = hs_sprintf ("%s/flood.res", S.dir);
    unlink (frpath);
    for (;;) {
        int n = epoll_wait (ep, evs, 256, 50);
        for (int k = 0; k < n; k++) {
            watch_t *w = &ws[evs[k].data.u32];
            for (;;) {
                ssize_t r = s_fill (&w->c);
                if (r == -EAGAIN) break;
                if (r <= 0) {
                    w->ended = true;
                    epoll_ctl (ep, EPOLL_CTL_DEL, w->c.fd, NULL);
                    break;
                }
                long long before = w->events;
                s_watch_feed (w);
                total += w->events - before;
            }
        }
        int64_t now = hs_mono_ns ();
        if (n > 0) t_last = now, idle_since = 0;
        if (now > next_rss) {
            long rss = s_rss_mb (S.api_pid);
            if (rss > max_rss) max_rss = rss;
            if (s_rss_killed) {
                aborted = true;
                max_rss = s_rss_killed;
                bl_group_wait (&g, 1); /* kills the flood */
                flood_done = true;
                break;
            }
            next_rss = now + 100000000;
        }
        if (!flood_done && bl_result_read (frpath, &fr) == 0) {
            flood_done = true;
            bl_group_wait (&g, 5000);
            want = (long long)fr.c[0];
        }
        if (flood_done && want >= 0 && total >= want * o->watches) break;
        if (flood_done && n == 0) {
            if (!idle_since) idle_since = now;
            if (now - idle_since > 10000000000LL) break; /* nothing for 10 s: stalled */
        }
    }
    if (g) bl_group_wait (&g, 1000);
    double cpu_gw = bl_cpu_s (S.api_pid) - cpu0;
    getrusage (RUSAGE_SELF, &ru1);
    double cpu_me = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec -
                             ru0.ru_stime.tv_sec) +
                    (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec -
                             ru0.ru_stime.tv_usec) /
                        1e6;
    double flood_s = (double)fr.c[2] / 1e6;
    long long ended = 0, errors = 0, expired = 0, missing = 0;
    double per_watch = 0;
    for (int i = 0; i < o->watches; i++) {
        watch_t *w = &ws[i];
        ended += w->ended;
        errors += w->errors;
        expired += w->expired;
        if (want > w->events) missing += want - w->events;
        if (w->last_ns > w->first_ns)
            per_watch += (double)w->events / ((double)(w->last_ns - w->first_ns) / 1e9);
    }
    per_watch /= o->watches;
    double span = (double)(t_last - t_go) / 1e9;
    char off[32], com[32], a[32], cc[32], p50[32], p99[32], mx[32], lm[32];
    if (rate > 0)
        bl_fmt_count (rate, off, sizeof off);
    else
        snprintf (off, sizeof off, "full");
    printf ("%-8s %10s %10s %12s %12s %10s %10s %10s %9lld %5lld %5lld %7ld%s %5.1f/%.1f\n", off,
            bl_fmt_count (flood_s > 0 && want > 0 ? (double)want / flood_s : 0, com, sizeof com),
            bl_fmt_count (o->watches ? (double)total / o->watches : 0, cc, sizeof cc),
            bl_fmt_count (per_watch, a, sizeof a),
            bl_fmt_count (span > 0 ? (double)total / span : 0, mx, sizeof mx),
            s_lag_n ? bl_fmt_ns ((uint64_t)s_lag_pct (50), p50, sizeof p50) : "-",
            s_lag_n ? bl_fmt_ns ((uint64_t)s_lag_pct (99), p99, sizeof p99) : "-",
            s_lag_n ? bl_fmt_ns ((uint64_t)s_lag_pct (100), lm, sizeof lm) : "-", missing, expired,
            ended, max_rss, aborted ? "!" : " ", cpu_gw, cpu_me);
    if (errors) printf ("   (%lld ERROR events)\n", errors);
    for (int i = 0; i < o->watches; i++) {
        s_conn_close (&ws[i].c);
        hs_buf_free (&ws[i].line);
    }
    free (ws);
    close (ep);
    bl_result_free (&fr);
}

static void s_bench_watch (const opts_t *o)
{
    struct rlimit rl;
    getrlimit (RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < (rlim_t)o->watches + 64) {
        rl.rlim_cur = rl.rlim_max < (rlim_t)o->watches + 64 ? rl.rlim_max : (rlim_t)o->watches + 64;
        setrlimit (RLIMIT_NOFILE, &rl);
    }
    s_lag = hs_calloc (LAG_BUCKETS, sizeof *s_lag);
    printf ("\nb) %d watches of pods in one namespace (plain HTTP, each from a list's "
            "resourceVersion) while one bus client writes new pods there for %d s, offered at a "
            "rate or as fast as 64 applies in flight go (full)\n",
            o->watches, o->flood_s);
    printf ("%-8s %10s %10s %12s %12s %10s %10s %10s %9s %5s %5s %8s %s\n", "offered", "commits/s",
            "ev/watch", "ev/s/watch", "delivered/s", "lag p50", "lag p99", "lag max", "missing",
            "410s", "ended", "gw MB", "cpu s gw/watchers");
    for (int i = 0; i < o->n_rates; i++) {
        if (s_rss_killed) {
            printf ("   (the other rows skipped: hs-apiserver was killed at %d MB)\n",
                    s_rss_killed);
            break;
        }
        char ns[32];
        snprintf (ns, sizeof ns, "flood%d", i);
        s_watch_row (o, o->rates[i], ns);
    }
    printf ("   lag: the flood client's send (CLOCK_REALTIME in an annotation) -> the event's line "
            "read by a watcher; missing: events a watch never got (10 s without data ends the row);"
            "\n   gw MB: hs-apiserver's peak RSS (! = over --max-rss-mb: the flood was stopped); "
            "cpu s: CPU seconds of hs-apiserver and of this reader during the row\n");
    /* https://github.com/kubernetes/community/blob/master/sig-scalability/slos/watch_latency.md */
    printf ("   etcd-backed kube-apiserver (public figure, not measured here): none found; the "
            "watch latency SLI is marked WIP with no target\n");
    free (s_lag);
}

/* ------------------------------------------------------------------ c) creates */

typedef struct {
    bool tls;
    int id;
    int64_t t_meas, t_end;
    long long ok, other;
    int first_status;
    bl_samples_t lat;
} creator_t;

static void *s_creator (void *arg)
{
    creator_t *cr = arg;
    conn_t c;
    if (s_conn_open (&c, cr->tls) < 0) return NULL;
    long long seq = 0;
    while (hs_mono_ns () < cr->t_end) {
        _cleanup_free_ char *body = hs_sprintf (
            "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"c%s-%d-%lld\","
            "\"labels\":{\"app\":\"bench\"}},\"spec\":{\"restartPolicy\":\"Always\","
            "\"containers\":[{\"name\":\"app\",\"image\":\"busybox:1.36\",\"command\":[\"sleep\","
            "\"3600\"]}]}}",
            cr->tls ? "s" : "p", cr->id, seq++);
        resp_t rp;
        int64_t t0 = hs_mono_ns ();
        if (s_request (&c, "POST", "/api/v1/namespaces/create/pods", NULL, body, NULL, &rp) < 0) {
            s_conn_close (&c);
            if (s_conn_open (&c, cr->tls) < 0) break;
            cr->other++;
            continue;
        }
        if (t0 < cr->t_meas) continue;
        if (rp.status == 201) {
            cr->ok++;
            bl_samples_add (&cr->lat, (uint64_t)rp.ttlb);
        } else {
            if (!cr->first_status) cr->first_status = rp.status;
            cr->other++;
        }
        if (rp.close) {
            s_conn_close (&c);
            if (s_conn_open (&c, cr->tls) < 0) break;
        }
    }
    s_conn_close (&c);
    return NULL;
}

static void s_create_row (int threads, bool tls, int seconds)
{
    creator_t *cr = hs_calloc ((size_t)threads, sizeof *cr);
    pthread_t *th = hs_calloc ((size_t)threads, sizeof *th);
    int64_t t0 = hs_mono_ns ();
    for (int i = 0; i < threads; i++) {
        cr[i] = (creator_t){.tls = tls,
                            .id = (int)(t0 / 1000 % 100000) * 100 + i,
                            .t_meas = t0 + 1000000000LL,
                            .t_end = t0 + 1000000000LL + (int64_t)seconds * 1000000000LL};
        pthread_create (&th[i], NULL, s_creator, &cr[i]);
    }
    long long ok = 0, other = 0;
    int first = 0;
    bl_samples_t lat = {0};
    for (int i = 0; i < threads; i++) {
        pthread_join (th[i], NULL);
        ok += cr[i].ok;
        other += cr[i].other;
        if (!first) first = cr[i].first_status;
        bl_samples_merge (&lat, &cr[i].lat);
        bl_samples_free (&cr[i].lat);
    }
    bl_samples_sort (&lat);
    char r[32], p50[32], p99[32], st[32] = "";
    if (first) snprintf (st, sizeof st, " (first: %d)", first);
    printf ("%-40s %-5s %7d %12s %10s %10s %8lld%s\n", "POST pods, keep-alive, 1 per thread",
            tls ? "https" : "http", threads, bl_fmt_count ((double)ok / seconds, r, sizeof r),
            bl_fmt_ns (bl_pct (&lat, 50), p50, sizeof p50),
            bl_fmt_ns (bl_pct (&lat, 99), p99, sizeof p99), other, st);
    bl_samples_free (&lat);
    free (cr);
    free (th);
}

static void s_bench_create (const opts_t *o)
{
    printf (
        "\nc) creates through the gateway: T threads, each one keep-alive connection with one "
        "POST in flight, %d s after 1 s of warm-up; beside: hs-store's own applies from one bus "
        "client with T in flight, same run\n",
        o->seconds);
    printf ("%-40s %-5s %7s %12s %10s %10s %8s\n", "path", "proto", "threads", "creates/s", "p50",
            "p99", "non-201");
    for (int k = 0; k < o->n_threads; k++) {
        s_create_row (o->threads[k], false, o->seconds);
        s_create_row (o->threads[k], true, o->seconds);
        hs_client_t *cl = s_admin ("store");
        char prefix[32];
        snprintf (prefix, sizeof prefix, "s%d", k);
        writer_t w = {.cl = cl,
                      .ns = "create",
                      .prefix = prefix,
                      .batch = 1,
                      .t_end = hs_mono_ns () + (int64_t)o->seconds * 1000000000LL};
        double secs = s_writer_run (&w, o->threads[k]);
        char r[32];
        printf ("%-40s %-5s %7d %12s %10s %10s %8lld\n",
                "hs-store OP_APPLY via the bus (no gateway)", "bus", o->threads[k],
                bl_fmt_count ((double)w.acked / secs, r, sizeof r), "-", "-", w.errors);
        hs_client_destroy (&cl);
    }
    /* https://github.com/kubernetes/community/blob/master/sig-scalability/slos/api_call_latency.md
     * https://www.vcluster.com/docs/v0.19/advanced-topics/load-testing/results */
    printf (
        "   etcd-backed kube-apiserver (public figure, not measured here): vCluster's load test "
        "measured ~0.15 s average response at 200 qps (5,000 Secrets, mixed verbs) for k8s;\n"
        "   no public creates/s figure found; the SLO is mutating call latency p99 <= 1 s\n");
}

/* ------------------------------------------------------------------ main */

static void s_usage (FILE *f)
{
    fprintf (f,
             "usage: bench-apiserver [--pods N] [--requests N] [--watches N] [--flood-seconds S]\n"
             "                       [--threads 8,32] [--seconds S] [--max-rss-mb MB] [--quick]\n"
             "                       [--skip-list] [--skip-watch] [--skip-create] [--bin DIR]\n"
             "  --pods N           pods listed by a) (default 10000)\n"
             "  --requests N       requests per row of a) (default 20)\n"
             "  --watches N        concurrent watches of b) (default 1000)\n"
             "  --flood-seconds S  how long b)'s client writes each row (default 3)\n"
             "  --flood-rates L    b)'s offered pods/s, \"full\" = 64 in flight (default "
             "full,1000,100)\n"
             "  --threads LIST     client threads of c) (default 8,32)\n"
             "  --seconds S        measurement window of c) (default 5)\n"
             "  --max-rss-mb MB    stop b) when hs-apiserver's RSS passes it (default 4000)\n"
             "  --quick            1000 pods, 100 watches, 2 s\n");
}

/* The command line into *o: -1 to go on, else the exit code. */
static int s_parse (int argc, char **argv, opts_t *o)
{
    static const struct option lo[] = {{"pods", required_argument, NULL, 'p'},
                                       {"requests", required_argument, NULL, 'r'},
                                       {"watches", required_argument, NULL, 'w'},
                                       {"flood-seconds", required_argument, NULL, 'f'},
                                       {"threads", required_argument, NULL, 't'},
                                       {"flood-rates", required_argument, NULL, 'R'},
                                       {"seconds", required_argument, NULL, 's'},
                                       {"max-rss-mb", required_argument, NULL, 'm'},
                                       {"quick", no_argument, NULL, 'q'},
                                       {"skip-list", no_argument, NULL, 'L'},
                                       {"skip-watch", no_argument, NULL, 'W'},
                                       {"skip-create", no_argument, NULL, 'C'},
                                       {"bin", required_argument, NULL, 'b'},
                                       {"help", no_argument, NULL, 'h'},
                                       {0}};
    int ch;
    while ((ch = getopt_long (argc, argv, "h", lo, NULL)) != -1) {
        switch (ch) {
        case 'p': o->pods = bl_parse_int ("--pods", optarg, 100, 1000000); break;
        case 'r': o->requests = bl_parse_int ("--requests", optarg, 1, 10000); break;
        case 'w': o->watches = bl_parse_int ("--watches", optarg, 1, 20000); break;
        case 'f': o->flood_s = bl_parse_int ("--flood-seconds", optarg, 1, 600); break;
        case 's': o->seconds = bl_parse_int ("--seconds", optarg, 1, 600); break;
        case 'm': o->max_rss_mb = bl_parse_int ("--max-rss-mb", optarg, 100, 1000000); break;
        case 't': {
            o->n_threads = 0;
            _cleanup_free_ char *s = hs_strdup (optarg);
            char *save = NULL;
            for (char *t = strtok_r (s, ",", &save); t && o->n_threads < 4;
                 t = strtok_r (NULL, ",", &save))
                o->threads[o->n_threads++] = bl_parse_int ("--threads", t, 1, 512);
            break;
        }
        case 'R': {
            o->n_rates = 0;
            _cleanup_free_ char *s = hs_strdup (optarg);
            char *save = NULL;
            for (char *t = strtok_r (s, ",", &save); t && o->n_rates < 4;
                 t = strtok_r (NULL, ",", &save))
                o->rates[o->n_rates++] =
                    hs_streq (t, "full") ? 0 : bl_parse_int ("--flood-rates", t, 1, 1000000);
            break;
        }
        case 'q': o->pods = 1000, o->watches = 100, o->flood_s = 2, o->seconds = 2; break;
        case 'L': o->skip_list = true; break;
        case 'W': o->skip_watch = true; break;
        case 'C': o->skip_create = true; break;
        case 'b': o->bin = optarg; break;
        case 'h': s_usage (stdout); return 0;
        default: s_usage (stderr); return 2;
        }
    }
    return -1;
}

int main (int argc, char **argv)
{
    opts_t o = {.pods = 10000,
                .requests = 20,
                .watches = 1000,
                .flood_s = 3,
                .seconds = 5,
                .max_rss_mb = 4000,
                .threads = {8, 32},
                .n_threads = 2,
                .rates = {0, 1000, 100},
                .n_rates = 3};
    int rc = s_parse (argc, argv, &o);
    if (rc >= 0) return rc;
    bl_init ("bench-apiserver");
    s_set_start (&o);
    printf ("bench-apiserver: hs-apiserver on a secured set (hs-bus --pki, hs-store, "
            "hs-apiserver --pki), all on this host; bearer token of admin:bench\n");
    if (!o.skip_list) s_bench_list (&o);
    if (!o.skip_watch) s_bench_watch (&o);
    if (!o.skip_create && !s_rss_killed) s_bench_create (&o);
    if (s_rss_killed)
        printf ("\nc) skipped: hs-apiserver was killed at %d MB RSS in b)\n", s_rss_killed);
    if (!s_rss_killed && !bl_alive (S.api_pid)) {
        bl_tail_log (S.api_log, 30);
        bl_die ("hs-apiserver died during the benchmark");
    }
    gnutls_certificate_free_credentials (S.xcred);
    return 0;
}
