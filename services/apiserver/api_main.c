/*  api_main.c: hs-apiserver's wiring (docs/architecture.md §24): flags, its
 *  own bus connection (sa:apiserver, read-only: the watch cache), the pool
 *  of per-user connections (api_auth.c) and the HTTP(S) listeners
 *  (api_http.c). READY=1 once the cache has synced and the ports listen.
 */
#include "api_auth.h"
#include "api_http.h"
#include "hs_daemon.h"
#include "hs_log.h"
#include "hs_notify.h"
#include "hs_usage.h"
#include "hs_util.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_LISTEN "127.0.0.1:6443"
#define DEFAULT_RING   100000 /* api_cache.c's own default, docs §24 */
#define READY_POLL_NS  (20LL * 1000000LL)

enum {
    OPT_BUS = 0x4a00,
    OPT_INSTANCE,
    OPT_CREDENTIAL,
    OPT_INSECURE,
    OPT_LISTEN,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_CLIENT_CA,
    OPT_PKI,
    OPT_INSECURE_HTTP,
    OPT_USER_CREDS,
    OPT_WATCH_RING,
    OPT_WATCH_RING_BYTES,
};

typedef struct {
    const char *bus, *instance, *credential, *listen, *tls_cert, *tls_key, *client_ca, *pki,
        *insecure_http, *user_creds;
    bool insecure;
    int64_t ring;
    int64_t ring_bytes;
    char *pki_paths[6]; /* what --pki implies, owned */
    hs_loop_t *loop;
    hs_client_t *client;
    api_cache_t *cache;
    api_auth_t *auth;
    api_server_t *server;
    hs_usage_table_t *usage; /* metrics.k8s.io: the latest sample per node */
    hs_loop_timer_t *ready;
} self_t;

static void s_usage (FILE *f)
{
    fprintf (
        f,
        "usage: hs-apiserver [--bus ADDR] [--credential FILE | --insecure] [--pki DIR]\n"
        "                    [--listen ADDR:PORT --tls-cert F --tls-key F] [--client-ca F]\n"
        "                    [--insecure-http ADDR:PORT] [--user-creds DIR] [--watch-ring N]\n"
        "                    [--watch-ring-bytes N[Ki|Mi|Gi]]\n"
        "Serves Kubernetes' REST API (kubectl, client libraries) over the Homeostat bus,\n"
        "acting on the bus as each user.\n"
        "  --bus ADDR            the bus (default $HS_BUS, then %s)\n"
        "  --instance ID         this instance's client id (default: random)\n"
        "  --credential FILE     its own credential, sa:apiserver (default\n"
        "                        $HS_CREDENTIAL, then DIR/creds/apiserver.cred with --pki)\n"
        "  --insecure            a bus without authentication (also HS_INSECURE=1)\n"
        "  --pki DIR             bearer tokens from DIR/keys/token-<id>.key; TLS from\n"
        "                        DIR/api/apiserver.{crt,key}, client CA DIR/api/ca.crt\n"
        "  --listen ADDR:PORT    HTTPS (default %s when TLS files are given)\n"
        "  --tls-cert F, --tls-key F   the server's certificate and key (PEM)\n"
        "  --client-ca F         verify client certificates against F (CN = identity)\n"
        "  --insecure-http ADDR:PORT   plain HTTP too, loopback addresses only\n"
        "  --user-creds DIR      bus credentials of client-certificate users\n"
        "                        (DIR/<identity, ':' as '-'>.cred; with --pki: DIR/api/users)\n"
        "  --watch-ring N        events kept for watch replay (default %d)\n"
        "  --watch-ring-bytes N  and at most N bytes of them, packed (default 256Mi);\n"
        "                        watches from an event that left get 410 Expired\n",
        HS_BUS_DEFAULT, DEFAULT_LISTEN, DEFAULT_RING);
}

/* A byte count with an optional binary suffix (Ki, Mi, Gi), 1Mi to 1Ti. */
static int s_bytes_flag (const char *flag, const char *value, int64_t *ret)
{
    static const struct {
        const char *suffix;
        int shift;
    } units[] = {{"Ki", 10}, {"Mi", 20}, {"Gi", 30}};
    size_t n = strlen (value);
    int shift = 0;
    for (size_t i = 0; i < HS_ARRAY_LEN (units); i++)
        if (n > 2 && !strcmp (value + n - 2, units[i].suffix)) shift = units[i].shift;
    _cleanup_free_ char *digits = hs_strndup (value, shift ? n - 2 : n);
    int64_t v = 0;
    if (hs_daemon_int ("hs-apiserver", flag, digits, 1, INT64_MAX >> 30, &v) < 0) return -1;
    v <<= shift;
    if (v < ((int64_t)1 << 20) || v > ((int64_t)1 << 40)) {
        fprintf (stderr, "hs-apiserver: %s %s: between 1Mi and 1024Gi\n", flag, value);
        return -1;
    }
    *ret = v;
    return 0;
}

static int s_flag (void *arg, int ch, const char *value)
{
    self_t *self = arg;
    switch (ch) {
    case OPT_BUS: self->bus = value; return 0;
    case OPT_INSTANCE: self->instance = value; return 0;
    case OPT_CREDENTIAL: self->credential = value; return 0;
    case OPT_INSECURE: self->insecure = true; return 0;
    case OPT_LISTEN: self->listen = value; return 0;
    case OPT_TLS_CERT: self->tls_cert = value; return 0;
    case OPT_TLS_KEY: self->tls_key = value; return 0;
    case OPT_CLIENT_CA: self->client_ca = value; return 0;
    case OPT_PKI: self->pki = value; return 0;
    case OPT_INSECURE_HTTP: self->insecure_http = value; return 0;
    case OPT_USER_CREDS: self->user_creds = value; return 0;
    case OPT_WATCH_RING:
        return hs_daemon_int ("hs-apiserver", "--watch-ring", value, 100, 10000000, &self->ring);
    case OPT_WATCH_RING_BYTES: return s_bytes_flag ("--watch-ring-bytes", value, &self->ring_bytes);
    default: return -1;
    }
}

/* What --pki implies, for what was not given on its own. */
static const char *s_pki_path (self_t *self, int i, const char *given, const char *rel)
{
    if (given || !self->pki) return given;
    self->pki_paths[i] = hs_sprintf ("%s/%s", self->pki, rel);
    if (i >= 4 && access (self->pki_paths[i], F_OK) != 0) return NULL; /* optional */
    return self->pki_paths[i];
}

static int s_check (void *arg, int argc, char **argv)
{
    self_t *self = arg;
    (void)argv;
    if (argc > 0) {
        fprintf (stderr, "hs-apiserver: unexpected argument %s\n", argv[0]);
        return -1;
    }
    self->tls_cert = s_pki_path (self, 0, self->tls_cert, "api/apiserver.crt");
    self->tls_key = s_pki_path (self, 1, self->tls_key, "api/apiserver.key");
    self->client_ca = s_pki_path (self, 2, self->client_ca, "api/ca.crt");
    if (self->pki) self->pki_paths[3] = hs_sprintf ("%s/keys", self->pki);
    if (!self->insecure && !self->credential && hs_empty (getenv ("HS_CREDENTIAL")))
        self->credential = s_pki_path (self, 4, NULL, "creds/apiserver.cred");
    /* where `hsctl config view --kubeconfig --client-cert` puts users' credentials */
    self->user_creds = s_pki_path (self, 5, self->user_creds, "api/users");
    if (!self->listen && self->tls_cert && self->tls_key) self->listen = DEFAULT_LISTEN;
    if (self->listen && (!self->tls_cert || !self->tls_key)) {
        fprintf (stderr, "hs-apiserver: --listen needs --tls-cert and --tls-key (or --pki)\n");
        return -1;
    }
    if (!self->listen && !self->insecure_http) {
        fprintf (stderr, "hs-apiserver: nothing to serve: give --pki, --listen with TLS files, "
                         "or --insecure-http\n");
        return -1;
    }
    return 0;
}

/* The bus security, as every daemon's, and the broker key the users'
 * connections pin (NULL: insecure). */
static int s_security (self_t *self, char *broker_key)
{
    const char *path = self->credential;
    if (!path && !self->insecure) path = getenv ("HS_CREDENTIAL");
    const char *ins = getenv ("HS_INSECURE");
    if (hs_empty (path) && (self->insecure || (!hs_empty (ins) && strcmp (ins, "0") != 0))) {
        hs_bus_use_insecure ();
        broker_key[0] = '\0';
        return 0;
    }
    if (hs_empty (path)) {
        log_error ("no bus credential: give --credential FILE (sa:apiserver), or --insecure");
        return -ENOKEY;
    }
    hs_cred_t *cred = NULL;
    char err[1024];
    int r = hs_cred_load (path, err, sizeof err, &cred);
    if (r < 0) {
        log_error ("%s", err);
        return r;
    }
    snprintf (broker_key, HS_CRED_Z85_LEN + 1, "%s", cred->broker_key);
    explicit_bzero (cred, sizeof *cred);
    free (cred);
    hs_bus_use_credential (path);
    return 0;
}

static void s_ready_check (void *arg)
{
    self_t *self = arg;
    if (!api_cache_synced (self->cache)) {
        hs_loop_timer_set (self->ready, hs_mono_ns () + READY_POLL_NS);
        return;
    }
    log_info ("ready: the cache is synced at revision %lld",
              (long long)api_cache_rev (self->cache));
    hs_notify_ready ("serving the Kubernetes API");
}

static int s_setup (void *arg, hs_loop_t *loop)
{
    self_t *self = arg;
    self->loop = loop;
    /* Lists and Tables are big trees of small blocks freed at once:
     * without fastbins glibc does not consolidate them again on the next
     * large malloc (docs §24, "Tables and selectors", has the figures). */
    mallopt (M_MXFAST, 0);
    char broker_key[HS_CRED_Z85_LEN + 1];
    if (s_security (self, broker_key) < 0) return 1;
    int r = hs_client_new (self->bus, "hs-apiserver", self->instance, 0, &self->client);
    if (r == 0) r = hs_client_attach (self->client, loop);
    if (r < 0) {
        log_error ("cannot join the bus: %s", strerror (-r));
        return 1;
    }
    self->cache = api_cache_new (self->client, (size_t)self->ring);
    if (self->cache) api_cache_set_ring_bytes (self->cache, (size_t)self->ring_bytes);
    api_auth_opts_t ao = {self->bus, self->pki_paths[3], self->user_creds,
                          broker_key[0] ? broker_key : NULL};
    self->auth = api_auth_new (loop, &ao);
    api_http_opts_t ho = {self->listen, self->tls_cert, self->tls_key, self->client_ca,
                          self->insecure_http};
    if (api_server_new (loop, &ho, self->cache, self->client, self->auth, &self->server) < 0)
        return 1;
    self->usage = hs_usage_table_new ();
    api_server_set_usage (self->server, self->usage);
    r = api_metrics_follow (self->client, self->usage);
    if (r < 0) {
        log_error ("cannot follow usage.: %s", strerror (-r));
        return 1;
    }
    self->ready = hs_loop_timer (loop, hs_mono_ns (), s_ready_check, self);
    return 0;
}

static void s_teardown (void *arg)
{
    self_t *self = arg;
    hs_loop_timer_free (&self->ready);
    api_server_destroy (&self->server); /* first: handlers let go of the cache and users */
    api_cache_destroy (&self->cache);
    api_auth_destroy (&self->auth);
    hs_client_destroy (&self->client); /* before the table its handler fills */
    hs_usage_table_destroy (&self->usage);
    for (size_t i = 0; i < HS_ARRAY_LEN (self->pki_paths); i++) free (self->pki_paths[i]);
}

static const struct option s_options[] = {
    {"bus", required_argument, 0, OPT_BUS},
    {"instance", required_argument, 0, OPT_INSTANCE},
    {"credential", required_argument, 0, OPT_CREDENTIAL},
    {"insecure", no_argument, 0, OPT_INSECURE},
    {"listen", required_argument, 0, OPT_LISTEN},
    {"tls-cert", required_argument, 0, OPT_TLS_CERT},
    {"tls-key", required_argument, 0, OPT_TLS_KEY},
    {"client-ca", required_argument, 0, OPT_CLIENT_CA},
    {"pki", required_argument, 0, OPT_PKI},
    {"insecure-http", required_argument, 0, OPT_INSECURE_HTTP},
    {"user-creds", required_argument, 0, OPT_USER_CREDS},
    {"watch-ring", required_argument, 0, OPT_WATCH_RING},
    {"watch-ring-bytes", required_argument, 0, OPT_WATCH_RING_BYTES},
    {0, 0, 0, 0}};

static const hs_daemon_t s_program = {.name = "hs-apiserver",
                                      .usage = s_usage,
                                      .options = s_options,
                                      .flag = s_flag,
                                      .check = s_check,
                                      .setup = s_setup,
                                      .teardown = s_teardown};

int main (int argc, char **argv)
{
    self_t self = {.ring = DEFAULT_RING};
    return hs_daemon_main (&s_program, &self, argc, argv);
}
