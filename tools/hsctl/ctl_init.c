/*  ctl_init.c: `hsctl init`: a cluster's keys, as `kubeadm init` makes its
 *  PKI. In the PKI directory (ctl_pki.h): the broker's keypair, a
 *  credential and public key file for every control-plane component
 *  (store, sa:scheduler, sa:replicas, sa:jobs, sa:prober, sa:endpoints,
 *  sa:dns, sa:apiserver, sa:autoscaler), one for the admin (admin:<user>), optionally ones for nodes;
 *  hs-apiserver's CA and serving certificate, an API token for the admin
 *  and the admin's kubeconfig (ctl_tls.h); then hsctl's config, naming the
 *  admin credential and the bus, so the next hsctl talks to the secured set
 *  with no flag.
 *
 *  Idempotent: what exists is kept (and checked to load); --force makes
 *  every key anew (and so every credential: they pin the broker's key).
 *  Directories 0700, credentials and the broker's keypair 0600.
 */
#include "ctl_pki.h"
#include "ctl_tls.h"

#include <errno.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    S_OPT_PKI = CTL_OPT_VERB_BASE,
    S_OPT_USER,
    S_OPT_NODE,
    S_OPT_FORCE,
    S_OPT_NO_CONFIG,
    S_OPT_API_SAN,
    S_OPT_API_SERVER,
};

static const struct option s_longs[] = {
    {"pki", required_argument, NULL, S_OPT_PKI},
    {"user", required_argument, NULL, S_OPT_USER},
    {"node", required_argument, NULL, S_OPT_NODE},
    {"force", no_argument, NULL, S_OPT_FORCE},
    {"no-config", no_argument, NULL, S_OPT_NO_CONFIG},
    {"api-san", required_argument, NULL, S_OPT_API_SAN},
    {"api-server", required_argument, NULL, S_OPT_API_SERVER},
    {NULL, 0, NULL, 0},
};

/* The control plane's identities, in start order. */
static const char *const s_components[] = {"store",   "sa:scheduler", "sa:replicas",
                                           "sa:jobs", "sa:prober",    "sa:endpoints",
                                           "sa:dns",  "sa:apiserver", "sa:autoscaler"};

typedef struct {
    const char *pki, *user, *api_server;
    const char *nodes[32];
    size_t n_nodes;
    const char *sans[CTL_API_MAX_SANS];
    size_t n_sans;
    bool force, no_config;
} s_args_t;

static int s_opt (ctl_t *ctl, void *arg, int c, const char *optarg)
{
    s_args_t *a = arg;
    switch (c) {
    case S_OPT_PKI: a->pki = optarg; return 0;
    case S_OPT_USER: a->user = optarg; return 0;
    case S_OPT_NODE:
        if (a->n_nodes == HS_ARRAY_LEN (a->nodes)) {
            ctl_usage_error (ctl, "at most %zu --node flags", HS_ARRAY_LEN (a->nodes));
            return -1;
        }
        a->nodes[a->n_nodes++] = optarg;
        return 0;
    case S_OPT_API_SAN:
        if (!ctl_tls_san_ok (optarg)) {
            ctl_usage_error (ctl, "--api-san \"%s\": not a DNS name or an IP address", optarg);
            return -1;
        }
        if (a->n_sans == HS_ARRAY_LEN (a->sans)) {
            ctl_usage_error (ctl, "at most %zu --api-san flags", HS_ARRAY_LEN (a->sans));
            return -1;
        }
        a->sans[a->n_sans++] = optarg;
        return 0;
    case S_OPT_API_SERVER:
        if (!ctl_tls_url_ok (optarg)) {
            ctl_usage_error (ctl, "--api-server \"%s\": not a URL (https://HOST:PORT)", optarg);
            return -1;
        }
        a->api_server = optarg;
        return 0;
    case S_OPT_FORCE: a->force = true; return 0;
    case S_OPT_NO_CONFIG: a->no_config = true; return 0;
    default: return -1;
    }
}

static void s_usage (void)
{
    printf ("Create a cluster's keys: the broker's keypair, a credential for every\n"
            "control-plane component and one for you (admin), and hsctl's config.\n\n"
            "Usage:\n  hsctl init [--pki DIR] [--user NAME] [--node NAME]... [--force]\n\n"
            "Options:\n"
            "  --pki DIR      the PKI directory (default $HS_PKI or " CTL_PKI_DEFAULT ")\n"
            "  --user NAME    the admin identity admin:NAME (default: your login name)\n"
            "  --node NAME    also a credential for node NAME (node:NAME), e.g. this host's\n"
            "  --force        make every key anew (default: keep what exists)\n"
            "  --no-config    leave hsctl's config ($HSCONFIG or ~/.homeostat/config) alone\n"
            "  --api-san S    also name S (DNS name or IP) in hs-apiserver's certificate "
            "(repeatable)\n"
            "  --api-server U the server URL of the kubeconfig (default " CTL_API_SERVER_DEFAULT
            ")\n"
            "  --bus ADDR     the bus address written into the config (default $HS_BUS or "
            "127.0.0.1:7400)\n\n"
            "Layout: DIR/broker.key_secret (hs-bus --pki DIR), DIR/keys/NAME.key (public keys:\n"
            "the broker's key directory), DIR/creds/NAME.cred (credentials: HS_CREDENTIAL),\n"
            "DIR/api/ (hs-apiserver's CA and certificate), DIR/kubeconfig (kubectl, as you).\n");
}

static int s_mkdir (const char *path)
{
    int r = hs_mkdir_p (path, 0700);
    if (r < 0) {
        fprintf (stderr, "error: cannot make %s: %s\n", path, strerror (-r));
        return -1;
    }
    return 0;
}

/* The broker's keypair: kept, or made. Its public key into pub. */
static int s_broker (const char *dir, bool force, char *pub)
{
    _cleanup_free_ char *path = hs_sprintf ("%s/broker.key_secret", dir);
    if (!force && access (path, F_OK) == 0) {
        if (ctl_pki_broker_key (dir, pub) < 0) return -1;
        printf ("[pki] broker key: kept %s (public key %s)\n", path, pub);
        return 0;
    }
    int r = hs_cred_broker_create (path, pub);
    if (r < 0) {
        fprintf (stderr, "error: cannot write the broker key %s: %s\n", path, strerror (-r));
        return -1;
    }
    printf ("[pki] broker key: created %s (public key %s)\n", path, pub);
    return 0;
}

static int s_cred (const char *dir, const char *identity, const char *broker, bool force)
{
    int r = ctl_pki_make_cred (dir, identity, broker, force);
    if (r < 0) return -1;
    _cleanup_free_ char *name = ctl_pki_name_of (identity);
    printf ("[pki] %s: %s %s/creds/%s.cred\n", identity, r == 0 ? "created" : "kept", dir, name);
    return 0;
}

/* Reads the credential a config file names ("" when none). */
static void s_config_cred (const char *path, char *ret, size_t len)
{
    ret[0] = '\0';
    FILE *f = fopen (path, "re");
    if (!f) return;
    char line[4096];
    while (fgets (line, sizeof line, f))
        if (!strncmp (line, "credential:", 11)) {
            char *v = line + 11;
            while (*v == ' ') v++;
            v[strcspn (v, "\r\n")] = '\0';
            snprintf (ret, len, "%s", v);
        }
    fclose (f);
}

static int s_config (ctl_t *ctl, const char *cred, const char *identity, bool force)
{
    _cleanup_free_ char *path = ctl_config_path ();
    if (!path) {
        fprintf (stderr, "error: no home directory for hsctl's config: set HSCONFIG\n");
        return -1;
    }
    char had[4096];
    s_config_cred (path, had, sizeof had);
    if (!force && had[0] && !hs_streq (had, cred)) {
        printf ("[config] kept %s: it names the credential %s (--force replaces it; HSCONFIG=FILE "
                "writes another file)\n",
                path, had);
        return 0;
    }
    if (ctl_config_write (path, ctl_bus_addr (ctl), cred) < 0) return -1;
    printf ("[config] wrote %s: hsctl talks to the bus at %s as %s\n", path, ctl_bus_addr (ctl),
            identity);
    return 0;
}

int ctl_init_main (ctl_t *ctl, int argc, char **argv)
{
    s_args_t a = {0};
    int first = ctl_parse (ctl, argc, argv, s_longs, "", s_opt, &a);
    if (first < 0) return 1;
    if (ctl->help) {
        s_usage ();
        return 0;
    }
    if (first < argc) {
        ctl_usage_error (ctl, "unexpected argument \"%s\"", argv[first]);
        return 1;
    }
    const char *dir = ctl_pki_dir (a.pki);
    char login[256] = "";
    if (!a.user) {
        struct passwd *pw = getpwuid (getuid ());
        snprintf (login, sizeof login, "%s", pw ? pw->pw_name : "admin");
        a.user = login;
    }
    _cleanup_free_ char *admin = hs_sprintf ("admin:%s", a.user);
    if (!hs_cred_role_of (admin)) {
        ctl_usage_error (ctl, "--user \"%s\": use letters, digits, '.', '_' and '-'", a.user);
        return 1;
    }
    for (size_t i = 0; i < a.n_nodes; i++) {
        _cleanup_free_ char *id = hs_sprintf ("node:%s", a.nodes[i]);
        if (!hs_cred_role_of (id)) {
            ctl_usage_error (ctl, "--node \"%s\": not a node name", a.nodes[i]);
            return 1;
        }
    }
    _cleanup_free_ char *keys = hs_sprintf ("%s/keys", dir);
    _cleanup_free_ char *creds = hs_sprintf ("%s/creds", dir);
    if (s_mkdir (dir) < 0 || s_mkdir (keys) < 0 || s_mkdir (creds) < 0) return 1;
    printf ("[pki] using %s\n", dir);
    char broker[HS_CRED_Z85_LEN + 1];
    if (s_broker (dir, a.force, broker) < 0) return 1;
    for (size_t i = 0; i < HS_ARRAY_LEN (s_components); i++)
        if (s_cred (dir, s_components[i], broker, a.force) < 0) return 1;
    if (s_cred (dir, admin, broker, a.force) < 0) return 1;
    for (size_t i = 0; i < a.n_nodes; i++) {
        _cleanup_free_ char *id = hs_sprintf ("node:%s", a.nodes[i]);
        if (s_cred (dir, id, broker, a.force) < 0) return 1;
    }
    if (ctl_tls_init (dir, a.sans, a.n_sans, a.force) < 0 ||
        ctl_kubeconfig_init (dir, admin, a.api_server ? a.api_server : CTL_API_SERVER_DEFAULT,
                             a.force) < 0)
        return 1;
    _cleanup_free_ char *admin_name = ctl_pki_name_of (admin);
    _cleanup_free_ char *admin_cred = hs_sprintf ("%s/creds/%s.cred", dir, admin_name);
    if (!a.no_config) {
        /* An absolute path: the config is read from anywhere. */
        char *abs = realpath (admin_cred, NULL);
        int r = s_config (ctl, abs ? abs : admin_cred, admin, a.force);
        free (abs);
        if (r < 0) return 1;
    }
    printf ("\nThe cluster's keys are in %s. Next:\n"
            "  hs-bus --pki %s                      # the broker, with these keys\n"
            "  HS_CREDENTIAL=%s/creds/store.cred hs-store ...   # each component its credential\n"
            "  hsctl token create --node NAME       # a join token for each new node\n"
            "  hs-apiserver --pki %s                # then: kubectl --kubeconfig %s/kubeconfig "
            "get nodes\n",
            dir, dir, dir, dir, dir);
    return 0;
}
