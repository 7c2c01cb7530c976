/*  ctl_kubeconfig.c: `hsctl config view`: hsctl's config, or a kubeconfig
 *  for kubectl and the Kubernetes clients (ctl_tls.h):
 *
 *    config view                              hsctl's own config file
 *    config view --kubeconfig                 the admin's ($PKI/kubeconfig)
 *    config view --kubeconfig --user ID       a new API token for user ID
 *                                             (admin:NAME, tap:NAME)
 *    config view --kubeconfig --client-cert [--user ID]
 *                                             a client certificate instead of
 *                                             a token, and the bus credential
 *                                             hs-apiserver acts with for it
 *  --server URL names another server; --ttl D makes the token or the
 *  certificate expire.
 *
 *  A token is the only secret of a token user: hs-apiserver derives the
 *  user's bus keypair from it. A certificate cannot derive a key, so its
 *  user's bus credential is written where hs-apiserver reads it
 *  (--user-creds DIR, default $PKI/api/users): the gateway then holds that
 *  user's bus secret (docs/architecture.md §24).
 */
#include "ctl_tls.h"
#include "hs_pbjson.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_TTL_MAX (10LL * 365 * 86400)

enum {
    S_OPT_PKI = CTL_OPT_VERB_BASE,
    S_OPT_KUBECONFIG,
    S_OPT_USER,
    S_OPT_SERVER,
    S_OPT_CLIENT_CERT,
    S_OPT_TTL,
    S_OPT_USER_CREDS,
};

static const struct option s_longs[] = {
    {"pki", required_argument, NULL, S_OPT_PKI},
    {"kubeconfig", no_argument, NULL, S_OPT_KUBECONFIG},
    {"user", required_argument, NULL, S_OPT_USER},
    {"server", required_argument, NULL, S_OPT_SERVER},
    {"client-cert", no_argument, NULL, S_OPT_CLIENT_CERT},
    {"ttl", required_argument, NULL, S_OPT_TTL},
    {"user-creds", required_argument, NULL, S_OPT_USER_CREDS},
    {NULL, 0, NULL, 0},
};

typedef struct {
    const char *pki, *user, *server, *ttl, *user_creds;
    bool kubeconfig, client_cert;
} s_args_t;

static int s_opt (ctl_t *ctl, void *arg, int c, const char *optarg)
{
    s_args_t *a = arg;
    switch (c) {
    case S_OPT_PKI: a->pki = optarg; return 0;
    case S_OPT_KUBECONFIG: a->kubeconfig = true; return 0;
    case S_OPT_USER: a->user = optarg; return 0;
    case S_OPT_SERVER: a->server = optarg; return 0;
    case S_OPT_CLIENT_CERT: a->client_cert = true; return 0;
    case S_OPT_TTL: a->ttl = optarg; return 0;
    case S_OPT_USER_CREDS: a->user_creds = optarg; return 0;
    default: return -1;
    }
}

static void s_usage (void)
{
    printf ("Print hsctl's config, or a kubeconfig for kubectl.\n\n"
            "Usage:\n"
            "  hsctl config view                      hsctl's config\n"
            "  hsctl config view --kubeconfig         the admin's kubeconfig (hsctl init)\n"
            "  hsctl config view --kubeconfig --user tap:bob\n"
            "                                         a kubeconfig with a new API token\n"
            "  hsctl config view --kubeconfig --client-cert [--user ID]\n"
            "                                         with a client certificate (CN = ID)\n\n"
            "Options:\n"
            "  --pki DIR         the PKI directory (default $HS_PKI or " CTL_PKI_DEFAULT ")\n"
            "  --user ID         the identity: admin:NAME or tap:NAME (read-only)\n"
            "  --server URL      the server (default: the admin kubeconfig's, "
            "else " CTL_API_SERVER_DEFAULT ")\n"
            "  --ttl D           the token or certificate expires: 30m, 12h, 90d (default: a "
            "token never,\n"
            "                    a certificate in 365d)\n"
            "  --client-cert     a client certificate, and the user's bus credential in\n"
            "                    --user-creds DIR (default DIR/api/users): hs-apiserver "
            "--user-creds DIR\n");
}

/* The admin kubeconfig's user, token and server (caller frees each; NULL
 * when missing). */
static void s_admin (const char *dir, char **ret_user, char **ret_token, char **ret_server)
{
    *ret_user = *ret_token = *ret_server = NULL;
    _cleanup_free_ char *path = hs_sprintf ("%s/kubeconfig", dir);
    FILE *f = fopen (path, "re");
    if (!f) return;
    char buf[65536];
    size_t n = fread (buf, 1, sizeof buf, f);
    fclose (f);
    hs_tree_t **docs = NULL;
    size_t nd = 0;
    char *err = NULL;
    int r = hs_yaml_parse (buf, n, &docs, &nd, &err);
    sodium_memzero (buf, sizeof buf);
    free (err);
    if (r < 0) return;
    if (nd == 1 && docs[0]->type == HS_TREE_MAP) {
        const hs_tree_t *users = hs_tree_get (docs[0], "users");
        const hs_tree_t *clusters = hs_tree_get (docs[0], "clusters");
        const hs_tree_t *u =
            users && users->type == HS_TREE_SEQ && users->n ? users->items[0] : NULL;
        const hs_tree_t *c =
            clusters && clusters->type == HS_TREE_SEQ && clusters->n ? clusters->items[0] : NULL;
        const hs_tree_t *name = u ? hs_tree_get (u, "name") : NULL;
        const hs_tree_t *user = u ? hs_tree_get (u, "user") : NULL;
        const hs_tree_t *token = user ? hs_tree_get (user, "token") : NULL;
        const hs_tree_t *cluster = c ? hs_tree_get (c, "cluster") : NULL;
        const hs_tree_t *server = cluster ? hs_tree_get (cluster, "server") : NULL;
        if (name && name->type == HS_TREE_SCALAR) *ret_user = hs_strdup (name->scalar);
        if (token && token->type == HS_TREE_SCALAR) *ret_token = hs_strdup (token->scalar);
        if (server && server->type == HS_TREE_SCALAR) *ret_server = hs_strdup (server->scalar);
    }
    hs_trees_free (docs, nd);
}

/* hsctl's own config. */
static int s_view_config (void)
{
    _cleanup_free_ char *path = ctl_config_path ();
    FILE *f = path ? fopen (path, "re") : NULL;
    if (!f) {
        fprintf (stderr, "error: no hsctl config at %s (hsctl init writes it)\n", hs_s (path));
        return 1;
    }
    char line[4096];
    while (fgets (line, sizeof line, f)) fputs (line, stdout);
    fclose (f);
    return 0;
}

/* The user's bus credential for hs-apiserver --user-creds, and its public
 * key file (DIR/keys/apiuser-<name>.key) expiring with the certificate. */
static int s_user_cred (const char *dir, const char *creds_dir, const char *identity,
                        int64_t expires)
{
    char broker[HS_CRED_Z85_LEN + 1], pub[HS_CRED_Z85_LEN + 1];
    if (ctl_pki_broker_key (dir, broker) < 0) return -1;
    int r = hs_mkdir_p (creds_dir, 0700);
    if (r < 0) {
        fprintf (stderr, "error: cannot make %s: %s\n", creds_dir, strerror (-r));
        return -1;
    }
    _cleanup_free_ char *name = hs_strdup (identity);
    for (char *p = name; *p; p++)
        if (*p == ':') *p = '-';
    _cleanup_free_ char *path = hs_sprintf ("%s/%s.cred", creds_dir, name);
    if ((r = hs_cred_create (path, identity, broker, pub)) < 0) {
        fprintf (stderr, "error: cannot write %s: %s\n", path, strerror (-r));
        return -1;
    }
    _cleanup_free_ char *keys = hs_sprintf ("%s/keys", dir);
    _cleanup_free_ char *key_name = hs_sprintf ("apiuser-%s", name);
    if ((r = hs_cred_key_write (keys, key_name, pub, identity, expires)) < 0) {
        fprintf (stderr, "error: cannot write %s/%s.key: %s\n", keys, key_name, strerror (-r));
        return -1;
    }
    fprintf (stderr,
             "Client certificate for %s; hs-apiserver acts for it on the bus with %s "
             "(hs-apiserver --user-creds %s; revoke: hsctl keys revoke %s)\n",
             identity, path, creds_dir, key_name);
    return 0;
}

static int s_view_kubeconfig (ctl_t *ctl, const s_args_t *a)
{
    const char *dir = ctl_pki_dir (a->pki);
    _cleanup_free_ char *admin = NULL, *admin_token = NULL, *admin_server = NULL;
    s_admin (dir, &admin, &admin_token, &admin_server);
    const char *server = a->server      ? a->server
                         : admin_server ? admin_server
                                        : CTL_API_SERVER_DEFAULT;
    if (!ctl_tls_url_ok (server)) {
        ctl_usage_error (ctl, "--server \"%s\": not a URL (https://HOST:PORT)", server);
        return 1;
    }
    const char *identity = a->user ? a->user : admin;
    if (!identity) {
        fprintf (stderr, "error: no kubeconfig in %s (hsctl init): name the user with --user\n",
                 dir);
        return 1;
    }
    int64_t ttl = 0;
    if (a->ttl && (ttl = ctl_parse_ttl (a->ttl, S_TTL_MAX)) < 0) {
        ctl_usage_error (ctl, "invalid argument \"%s\" for \"--ttl\" flag: %s", a->ttl,
                         ttl == -2 ? "at most 3650d" : "use a number and a unit: 30m, 12h, 90d");
        return 1;
    }
    char token[HS_TOKEN_LEN + 1] = "";
    _cleanup_free_ char *cert = NULL;
    char *key = NULL;
    if (a->client_cert) {
        if (!hs_cred_role_of (identity) || !hs_token_api_identity_ok (identity)) {
            fprintf (stderr, "error: \"%s\" is not a user: use admin:NAME or tap:NAME\n", identity);
            return 1;
        }
        if (!ttl) ttl = 365LL * 86400;
        _cleanup_free_ char *creds =
            a->user_creds ? hs_strdup (a->user_creds) : hs_sprintf ("%s/api/users", dir);
        if (ctl_tls_client_cert (dir, identity, ttl, &cert, &key) < 0 ||
            s_user_cred (dir, creds, identity, (int64_t)time (NULL) + ttl) < 0) {
            free (key);
            return 1;
        }
    } else if (!a->user && admin_token && hs_token_valid (admin_token, NULL) && !a->ttl) {
        snprintf (token, sizeof token, "%s", admin_token); /* the admin's own */
    } else {
        if (ctl_api_token_new (dir, identity, ttl ? (int64_t)time (NULL) + ttl : 0, token) < 0)
            return 1;
        char id[HS_TOKEN_ID_LEN + 1];
        hs_token_valid (token, id);
        fprintf (stderr, "API token %s for %s%s (hsctl token delete %s revokes it)\n", id, identity,
                 ttl ? ", expiring" : "", id);
    }
    char *text =
        ctl_kubeconfig_new (dir, server, identity, a->client_cert ? NULL : token, cert, key);
    sodium_memzero (token, sizeof token);
    if (key) sodium_memzero (key, strlen (key));
    free (key);
    if (!text) return 1;
    fputs (text, stdout);
    sodium_memzero (text, strlen (text));
    free (text);
    return 0;
}

int ctl_config_main (ctl_t *ctl, int argc, char **argv)
{
    s_args_t a = {0};
    int first = ctl_parse (ctl, argc, argv, s_longs, "", s_opt, &a);
    if (first < 0) return 1;
    if (ctl->help || first >= argc) {
        s_usage ();
        return ctl->help ? 0 : 1;
    }
    if (strcmp (argv[first], "view") != 0 || first + 1 < argc) {
        ctl_usage_error (ctl, "usage: hsctl config view [--kubeconfig [--user ID] [--server URL] "
                              "[--client-cert] [--ttl D]]");
        return 1;
    }
    if (!a.kubeconfig) {
        if (a.user || a.server || a.client_cert || a.ttl || a.user_creds) {
            ctl_usage_error (ctl, "--user, --server, --client-cert and --ttl go with --kubeconfig");
            return 1;
        }
        return s_view_config ();
    }
    return s_view_kubeconfig (ctl, &a);
}
