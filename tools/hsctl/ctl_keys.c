/*  ctl_keys.c: `hsctl keys`: the broker's key directory, by hand.
 *
 *    keys create node NAME | tap USER | admin USER   a credential (DIR/creds/
 *                                                    KIND-NAME.cred, to copy
 *                                                    where it is used) and its
 *                                                    public file in DIR/keys
 *    keys list                                       every key the broker admits
 *    keys revoke NAME                                removes DIR/keys/NAME.key
 *                                                    (and the local credential):
 *                                                    hs-bus reloads its key
 *                                                    directory and refuses the
 *                                                    key at once;
 *                                                    for node-N, also
 *                                                    deletes N's join tokens
 *
 *  NAME in revoke is a key file's name ("node-demo2") or an identity
 *  ("node:demo2").
 */
#include "ctl_pki.h"
#include "hs_token.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { S_OPT_PKI = CTL_OPT_VERB_BASE, S_OPT_FORCE };

static const struct option s_longs[] = {
    {"pki", required_argument, NULL, S_OPT_PKI},
    {"force", no_argument, NULL, S_OPT_FORCE},
    {NULL, 0, NULL, 0},
};

typedef struct {
    const char *pki;
    bool force;
} s_args_t;

static int s_opt (ctl_t *ctl, void *arg, int c, const char *optarg)
{
    s_args_t *a = arg;
    switch (c) {
    case S_OPT_PKI: a->pki = optarg; return 0;
    case S_OPT_FORCE: a->force = true; return 0;
    default: return -1;
    }
}

static void s_usage (void)
{
    printf ("Manage the keys the bus admits.\n\n"
            "Usage:\n"
            "  hsctl keys create node NAME    a credential for node NAME (identity node:NAME)\n"
            "  hsctl keys create tap USER     a read-only credential for hs-tap (tap:USER)\n"
            "  hsctl keys create admin USER   an admin credential (admin:USER)\n"
            "  hsctl keys list                the keys in the broker's key directory\n"
            "  hsctl keys revoke NAME         remove a key (NAME: node-a, or node:a): the bus\n"
            "                                 refuses it from then on (node-N: N's join tokens\n"
            "                                 are deleted too)\n\n"
            "Options:\n"
            "  --pki DIR   the PKI directory (default $HS_PKI or " CTL_PKI_DEFAULT ")\n"
            "  --force     create: replace an existing credential with a new key\n");
}

static int s_create (ctl_t *ctl, const s_args_t *a, const char *kind, const char *name)
{
    if (strcmp (kind, "node") && strcmp (kind, "tap") && strcmp (kind, "admin")) {
        ctl_usage_error (ctl, "keys create: unknown kind \"%s\" (node, tap or admin)", kind);
        return 1;
    }
    _cleanup_free_ char *identity = hs_sprintf ("%s:%s", kind, name);
    if (!hs_cred_role_of (identity)) {
        ctl_usage_error (ctl,
                         "keys create: \"%s\" is not a valid name (letters, digits, '.', '_', "
                         "'-')",
                         name);
        return 1;
    }
    const char *dir = ctl_pki_dir (a->pki);
    char broker[HS_CRED_Z85_LEN + 1];
    if (ctl_pki_broker_key (dir, broker) < 0) return 1;
    _cleanup_free_ char *file = ctl_pki_name_of (identity);
    _cleanup_free_ char *cred = hs_sprintf ("%s/creds/%s.cred", dir, file);
    if (!a->force && access (cred, F_OK) == 0) {
        fprintf (stderr,
                 "error: %s already has a credential, %s (hsctl keys revoke %s first, or "
                 "--force)\n",
                 identity, cred, file);
        return 1;
    }
    if (ctl_pki_make_cred (dir, identity, broker, true) < 0) return 1;
    printf ("%s created: credential %s, public key %s/keys/%s.key\n", identity, cred, dir, file);
    if (!strcmp (kind, "node"))
        printf ("Copy the credential to the node (mode 0600) and start its agent with\n"
                "  hs-agent --credential FILE --node-name %s --bus ADDR\n",
                name);
    else
        printf ("Use it with HS_CREDENTIAL=%s\n", cred);
    return 0;
}

static const char *s_expires (int64_t t, char *buf, size_t len)
{
    if (t <= 0) return "<never>";
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r (&tt, &tm);
    strftime (buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (t < time (NULL)) snprintf (buf + strlen (buf), len - strlen (buf), " (expired)");
    return buf;
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
        fprintf (stderr, "error: cannot read the key directory %s: %s%s\n", keys_dir, strerror (-r),
                 r == -ENOENT ? " (run hsctl init first)" : "");
        return 1;
    }
    if (n == 0) {
        printf ("No keys in %s.\n", keys_dir);
        return 0;
    }
    printf ("%-24s %-28s %-10s %-12s %s\n", "NAME", "IDENTITY", "ROLE", "PUBLIC-KEY", "EXPIRES");
    for (size_t i = 0; i < n; i++) {
        char buf[64];
        printf ("%-24s %-28s %-10s %.8s...  %s\n", keys[i].name, keys[i].identity, keys[i].role,
                keys[i].public_key, s_expires (keys[i].expires, buf, sizeof buf));
    }
    free (keys);
    return 0;
}

/* Deletes every join token of keys_dir scoped to node, one line each.
 * 0, or -1 (said why) when one cannot be deleted. */
static int s_revoke_tokens (const char *keys_dir, const char *node)
{
    hs_cred_key_t *keys = NULL;
    size_t n = 0;
    int r = hs_cred_key_list (keys_dir, s_on_bad, NULL, &keys, &n);
    if (r < 0) {
        fprintf (stderr, "error: cannot read the key directory %s: %s\n", keys_dir, strerror (-r));
        return -1;
    }
    for (size_t i = 0; i < n && r == 0; i++) {
        const char *id = hs_cred_identity_name (keys[i].identity);
        hs_token_key_t tk;
        if (!hs_streq (keys[i].role, "bootstrap") || !id ||
            hs_token_key_read (keys_dir, id, NULL, 0, &tk) < 0 || !hs_streq (tk.node, node))
            continue;
        r = hs_cred_key_remove (keys_dir, keys[i].name);
        if (r < 0 && r != -ENOENT) {
            fprintf (stderr, "error: cannot remove join token %s (%s/%s.key): %s\n", tk.id,
                     keys_dir, keys[i].name, strerror (-r));
            break;
        }
        r = 0;
        printf ("join token %s for node %s deleted: it cannot join the node again\n", tk.id, node);
    }
    free (keys);
    return r < 0 ? -1 : 0;
}

static int s_revoke (const s_args_t *a, const char *arg)
{
    const char *dir = ctl_pki_dir (a->pki);
    _cleanup_free_ char *name = strchr (arg, ':') ? ctl_pki_name_of (arg) : hs_strdup (arg);
    if (!name) {
        fprintf (stderr, "error: \"%s\" is not a key name or an identity\n", arg);
        return 1;
    }
    _cleanup_free_ char *keys_dir = hs_sprintf ("%s/keys", dir);
    _cleanup_free_ char *path = hs_sprintf ("%s/%s.key", keys_dir, name);
    hs_cred_key_t key;
    char err[512];
    int r = hs_cred_key_read (path, err, sizeof err, &key);
    if (r == -ENOENT) {
        fprintf (stderr, "error: no key \"%s\" in %s (hsctl keys list)\n", name, keys_dir);
        return 1;
    }
    if (r < 0) memset (&key, 0, sizeof key); /* a bad file goes too */
    /* The node's join tokens first: whoever holds one would otherwise join
     * again with a fresh key (the store refuses a spent token too). */
    const char *node = hs_startswith (name, "node-") ? name + 5 : NULL;
    if (node && s_revoke_tokens (keys_dir, node) < 0) return 1;
    r = hs_cred_key_remove (keys_dir, name);
    if (r < 0) {
        fprintf (stderr, "error: cannot remove %s: %s\n", path, strerror (-r));
        return 1;
    }
    /* The local copy of the credential is useless now: a new `keys create`
     * makes a new key. */
    _cleanup_free_ char *cred = hs_sprintf ("%s/creds/%s.cred", dir, name);
    unlink (cred);
    printf ("key \"%s\" revoked%s%s%s: the bus refuses it from now on\n", name,
            key.identity[0] ? " (identity " : "", key.identity, key.identity[0] ? ")" : "");
    return 0;
}

int ctl_keys_main (ctl_t *ctl, int argc, char **argv)
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
    if (!strcmp (sub, "create")) {
        if (rest != 2) {
            ctl_usage_error (ctl, "keys create needs a kind and a name: keys create node NAME");
            return 1;
        }
        return s_create (ctl, &a, argv[first + 1], argv[first + 2]);
    }
    if (!strcmp (sub, "list") && rest == 0) return s_list (&a);
    if (!strcmp (sub, "revoke")) {
        if (rest != 1) {
            ctl_usage_error (ctl, "keys revoke needs one NAME");
            return 1;
        }
        return s_revoke (&a, argv[first + 1]);
    }
    ctl_usage_error (ctl, "unknown keys command \"%s\" (create, list or revoke)", sub);
    return 1;
}
