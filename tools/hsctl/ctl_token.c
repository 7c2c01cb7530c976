/*  ctl_token.c: `hsctl token`: join tokens, as `kubeadm token`, and
 *  hs-apiserver's API tokens (bearer tokens for kubectl).
 *
 *    token create --node NAME [--ttl 1h]   prints the token and the hs-agent
 *                                          line to run on the new host
 *    token create --user ID [--ttl D]      prints an API token for user ID
 *                                          (admin:NAME, tap:NAME); no --ttl:
 *                                          it never expires
 *    token list                            the tokens, their node or user,
 *                                          and expiry
 *    token delete ID                       removes a token before it expires
 *
 *  A token is "<id>.<secret>" (bus/hs_token.h). Creating one writes only its
 *  public key into the broker's key directory (DIR/keys/bootstrap-<id>.key,
 *  identity bootstrap:<id>, scoped to node NAME, with its expiry): the bus
 *  admits the holder as bootstrap:<id>, which may do one thing, register
 *  node NAME's own key with the store (services/store/store_join.c). The
 *  join line carries the bus address and the broker's public key, which the
 *  agent pins, as kubeadm's discovery hash pins the API server's CA.
 */
#include "ctl_pki.h"
#include "ctl_tls.h"
#include "hs_token.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_TTL_MAX     (7 * 86400)          /* a week: join tokens are short-lived */
#define S_API_TTL_MAX (10LL * 365 * 86400) /* API tokens: a user's credential */

enum { S_OPT_PKI = CTL_OPT_VERB_BASE, S_OPT_NODE, S_OPT_TTL, S_OPT_USER };

static const struct option s_longs[] = {
    {"pki", required_argument, NULL, S_OPT_PKI},
    {"node", required_argument, NULL, S_OPT_NODE},
    {"ttl", required_argument, NULL, S_OPT_TTL},
    {"user", required_argument, NULL, S_OPT_USER},
    {NULL, 0, NULL, 0},
};

typedef struct {
    const char *pki, *node, *ttl, *user;
} s_args_t;

static int s_opt (ctl_t *ctl, void *arg, int c, const char *optarg)
{
    s_args_t *a = arg;
    switch (c) {
    case S_OPT_PKI: a->pki = optarg; return 0;
    case S_OPT_NODE: a->node = optarg; return 0;
    case S_OPT_TTL: a->ttl = optarg; return 0;
    case S_OPT_USER: a->user = optarg; return 0;
    default: return -1;
    }
}

static void s_usage (void)
{
    printf (
        "Manage join tokens (each lets one new node register its own key) and API tokens\n"
        "(hs-apiserver's bearer tokens: kubectl acts as their user).\n\n"
        "Usage:\n"
        "  hsctl token create --node NAME [--ttl 1h]   a join token for node NAME\n"
        "  hsctl token create --user ID [--ttl D]      an API token for admin:NAME or tap:NAME\n"
        "  hsctl token list                            the tokens (<used>: its node joined)\n"
        "  hsctl token delete ID                       remove a token\n\n"
        "Options:\n"
        "  --pki DIR    the PKI directory (default $HS_PKI or " CTL_PKI_DEFAULT ")\n"
        "  --node NAME  the node the join token may register\n"
        "  --user ID    the user the API token acts as (tap:NAME: read-only)\n"
        "  --ttl D      how long the token is valid: 90s, 30m, 1h, 2d (join tokens: default\n"
        "               1h, at most 7d; API tokens: default never, at most 3650d)\n"
        "  --bus ADDR   the bus address the join line names (default $HS_BUS or the config's)\n");
}

/* An API token for --user. */
static int s_create_api (ctl_t *ctl, const s_args_t *a)
{
    int64_t ttl = a->ttl ? ctl_parse_ttl (a->ttl, S_API_TTL_MAX) : 0;
    if (ttl < 0) {
        ctl_usage_error (ctl, "invalid argument \"%s\" for \"--ttl\" flag: %s", a->ttl,
                         ttl == -2 ? "at most 3650d" : "use a number and a unit: 30m, 12h, 90d");
        return 1;
    }
    if (!hs_token_api_identity_ok (a->user)) {
        ctl_usage_error (ctl, "token create: --user \"%s\": use admin:NAME or tap:NAME", a->user);
        return 1;
    }
    const char *dir = ctl_pki_dir (a->pki);
    char token[HS_TOKEN_LEN + 1], id[HS_TOKEN_ID_LEN + 1];
    if (ctl_api_token_new (dir, a->user, ttl ? (int64_t)time (NULL) + ttl : 0, token) < 0) return 1;
    hs_token_valid (token, id);
    printf ("%s\n", token);
    fprintf (stderr,
             "API token %s for %s, %s. Use it as a bearer token: kubectl --token %s, or\n"
             "  hsctl config view --kubeconfig --user %s > kubeconfig   (a new token)\n",
             id, a->user, ttl ? "expiring" : "never expiring (hsctl token delete revokes it)",
             "TOKEN", a->user);
    return 0;
}

static int s_create (ctl_t *ctl, const s_args_t *a)
{
    if (a->user && a->node) {
        ctl_usage_error (ctl, "token create: --node (a join token) or --user (an API token)");
        return 1;
    }
    if (a->user) return s_create_api (ctl, a);
    if (hs_empty (a->node)) {
        ctl_usage_error (ctl, "token create: --node NAME is required for a join token (--user ID "
                              "makes an API token)");
        return 1;
    }
    _cleanup_free_ char *identity = hs_sprintf ("node:%s", a->node);
    if (!hs_cred_role_of (identity)) {
        ctl_usage_error (ctl, "token create: --node \"%s\" is not a node name", a->node);
        return 1;
    }
    int64_t ttl = a->ttl ? ctl_parse_ttl (a->ttl, S_TTL_MAX) : 3600;
    if (ttl < 0) {
        ctl_usage_error (ctl, "invalid argument \"%s\" for \"--ttl\" flag: %s", a->ttl,
                         ttl == -2 ? "at most 7d" : "use a number and a unit: 90s, 30m, 1h, 2d");
        return 1;
    }
    const char *dir = ctl_pki_dir (a->pki);
    char broker[HS_CRED_Z85_LEN + 1];
    if (ctl_pki_broker_key (dir, broker) < 0) return 1;
    _cleanup_free_ char *keys = hs_sprintf ("%s/keys", dir);
    _cleanup_free_ char *node_key = hs_sprintf ("%s/node-%s.key", keys, a->node);
    if (access (node_key, F_OK) == 0) {
        fprintf (stderr,
                 "error: node %s already has a key (%s): a token could not register another; "
                 "hsctl keys revoke node-%s first\n",
                 a->node, node_key, a->node);
        return 1;
    }
    char token[HS_TOKEN_LEN + 1], id[HS_TOKEN_ID_LEN + 1];
    if (hs_token_generate (token) < 0 || !hs_token_valid (token, id)) {
        fprintf (stderr, "error: cannot make a random token (libsodium)\n");
        return 1;
    }
    int64_t expires = (int64_t)time (NULL) + ttl;
    int r = hs_token_key_write (keys, token, a->node, expires);
    if (r < 0) {
        fprintf (stderr, "error: cannot write %s/bootstrap-%s.key: %s\n", keys, id, strerror (-r));
        return 1;
    }
    printf ("%s\n", token);
    fprintf (stderr,
             "Token %s for node %s, valid for %llds. On the new host, run:\n"
             "  hs-agent --bus %s --node-name %s --join %s --broker-key '%s'\n",
             id, a->node, (long long)ttl, ctl_bus_addr (ctl), a->node, token, broker);
    return 0;
}

static void s_on_bad (const char *path, const char *why, void *arg)
{
    fprintf (stderr, "warning: %s\n", why);
}

static int s_list (const s_args_t *a)
{
    const char *dir = ctl_pki_dir (a->pki);
    _cleanup_free_ char *keys_dir = hs_sprintf ("%s/keys", dir);
    hs_cred_key_t *keys = NULL;
    size_t n = 0;
    int r = hs_cred_key_list (keys_dir, s_on_bad, NULL, &keys, &n);
    if (r < 0) {
        fprintf (stderr, "error: cannot read the key directory %s: %s\n", keys_dir, strerror (-r));
        return 1;
    }
    int shown = 0;
    time_t now = time (NULL);
    for (size_t i = 0; i < n; i++) {
        if (!hs_streq (keys[i].role, "bootstrap")) continue;
        const char *id = hs_cred_identity_name (keys[i].identity);
        hs_token_key_t tk;
        if (!id || hs_token_key_read (keys_dir, id, NULL, 0, &tk) < 0) continue;
        if (!shown++) printf ("%-8s %-24s %-22s %s\n", "TOKEN", "NODE", "EXPIRES", "TTL");
        char when[32];
        time_t t = (time_t)tk.expires;
        struct tm tm;
        gmtime_r (&t, &tm);
        strftime (when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        char left[32];
        _cleanup_free_ char *node_key = hs_sprintf ("%s/node-%s.key", keys_dir, tk.node);
        if (access (node_key, F_OK) == 0 || hs_token_spent (keys_dir, tk.id))
            snprintf (left, sizeof left, "<used>"); /* spent: its node has a key, or had */
        else if (tk.expires <= now)
            snprintf (left, sizeof left, "<expired>");
        else
            snprintf (left, sizeof left, "%llds", (long long)(tk.expires - now));
        printf ("%-8s %-24s %-22s %s\n", tk.id, tk.node, when, left);
    }
    if (!shown) printf ("No join tokens in %s.\n", keys_dir);
    /* API tokens */
    shown = 0;
    for (size_t i = 0; i < n; i++) {
        if (!hs_startswith (keys[i].name, "token-")) continue;
        hs_cred_key_t k;
        if (hs_token_api_key_read (keys_dir, keys[i].name + 6, NULL, 0, &k) < 0) continue;
        if (!shown++) printf ("\n%-9s %-24s %-22s %s\n", "API TOKEN", "USER", "EXPIRES", "TTL");
        char when[32] = "<never>", left[32] = "<forever>";
        if (k.expires) {
            time_t t = (time_t)k.expires;
            struct tm tm;
            gmtime_r (&t, &tm);
            strftime (when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
            if (k.expires <= now)
                snprintf (left, sizeof left, "<expired>");
            else
                snprintf (left, sizeof left, "%llds", (long long)(k.expires - now));
        }
        printf ("%-9s %-24s %-22s %s\n", keys[i].name + 6, k.identity, when, left);
    }
    free (keys);
    if (!shown) printf ("No API tokens in %s.\n", keys_dir);
    return 0;
}

static int s_delete (const s_args_t *a, const char *arg)
{
    char id[HS_TOKEN_ID_LEN + 1];
    if (hs_token_valid (arg, id))
        arg = id; /* the whole token names its id */
    else if (!hs_token_id_valid (arg)) {
        fprintf (stderr, "error: \"%s\" is not a token id (6 of a-z, 0-9)\n", arg);
        return 1;
    }
    const char *dir = ctl_pki_dir (a->pki);
    _cleanup_free_ char *keys_dir = hs_sprintf ("%s/keys", dir);
    _cleanup_free_ char *name = hs_sprintf ("bootstrap-%s", arg);
    const char *what = "bootstrap token";
    int r = hs_cred_key_remove (keys_dir, name);
    if (r == -ENOENT) {
        free (name);
        name = hs_sprintf ("token-%s", arg);
        what = "API token";
        r = hs_cred_key_remove (keys_dir, name);
    }
    if (r == -ENOENT) {
        fprintf (stderr, "error: no token \"%s\" in %s (hsctl token list)\n", arg, keys_dir);
        return 1;
    }
    if (r < 0) {
        fprintf (stderr, "error: cannot remove %s/%s.key: %s\n", keys_dir, name, strerror (-r));
        return 1;
    }
    printf ("%s \"%s\" deleted\n", what, arg);
    return 0;
}

int ctl_token_main (ctl_t *ctl, int argc, char **argv)
{
    s_args_t a = {0};
    int first = ctl_parse (ctl, argc, argv, s_longs, "", s_opt, &a);
    if (first < 0) return 1;
    if (ctl->help || first >= argc) {
        s_usage ();
        return ctl->help ? 0 : 1;
    }
    const char *sub = argv[first];
    int rest = argc - first - 1;
    if (!strcmp (sub, "create") && rest == 0) return s_create (ctl, &a);
    if (!strcmp (sub, "list") && rest == 0) return s_list (&a);
    if (!strcmp (sub, "delete") && rest == 1) return s_delete (&a, argv[first + 1]);
    ctl_usage_error (ctl, "usage: hsctl token create --node NAME | token create --user ID | token "
                          "list | token delete ID");
    return 1;
}
