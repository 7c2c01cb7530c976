/*  hs_cred.c: bus credentials and key files as czmq zcert files (hs_cred.h).
 *
 *  Files are written with zcert (so they are exactly czmq's format) and read
 *  with zconfig, so that each refusal can say which part is missing. Every
 *  write goes to a temp file in the same directory, then rename(2): a reader
 *  (hs-bus reloading its key directory on inotify) never sees half a file.
 */
#include "hs_cred.h"
#include "hs_util.h"

#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char s_z85_chars[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  ".-:+=^!/*?&<>()[]{}@%$#";

static void s_err (char *err, size_t err_len, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
static void s_err (char *err, size_t err_len, const char *fmt, ...)
{
    if (!err || err_len == 0) return;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (err, err_len, fmt, ap);
    va_end (ap);
}

static bool s_name_char (char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

/* A name after "kind:": 1..253 bytes of [A-Za-z0-9._-]. */
static bool s_name_ok (const char *s, size_t max)
{
    size_t n = strlen (s);
    if (n == 0 || n > max) return false;
    for (size_t i = 0; i < n; i++)
        if (!s_name_char (s[i])) return false;
    return true;
}

bool hs_cred_key_ok (const char *s)
{
    if (!s || strlen (s) != HS_CRED_Z85_LEN) return false;
    for (size_t i = 0; i < HS_CRED_Z85_LEN; i++)
        if (!strchr (s_z85_chars, s[i])) return false;
    return true;
}

const char *hs_cred_identity_name (const char *identity)
{
    if (!identity) return NULL;
    const char *colon = strchr (identity, ':');
    return colon ? colon + 1 : NULL;
}

const char *hs_cred_role_of (const char *identity)
{
    if (!identity || strlen (identity) > HS_CRED_MAX_IDENTITY) return NULL;
    if (strcmp (identity, "store") == 0) return "store";
    if (hs_startswith (identity, "store/")) return s_name_ok (identity + 6, 253) ? "store" : NULL;
    static const struct {
        const char *identity, *role;
    } fixed[] = {
        {"sa:scheduler", "scheduler"}, {"sa:replicas", "controller"},   {"sa:jobs", "controller"},
        {"sa:prober", "prober"},       {"sa:endpoints", "endpoints"},   {"sa:dns", "dns"},
        {"sa:apiserver", "apiserver"}, {"sa:autoscaler", "controller"},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (fixed); i++)
        if (strcmp (identity, fixed[i].identity) == 0) return fixed[i].role;
    static const struct {
        const char *prefix, *role;
    } kinds[] = {
        {"node:", "node"},
        {"admin:", "admin"},
        {"tap:", "tap"},
        {"bootstrap:", "bootstrap"},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (kinds); i++)
        if (hs_startswith (identity, kinds[i].prefix))
            return s_name_ok (identity + strlen (kinds[i].prefix), 253) ? kinds[i].role : NULL;
    return NULL;
}

/* Saves cert (its secret file when secret) at path through a temp file,
 * then sets mode and renames. 0 or -errno. */
int hs_cred_save_zcert (zcert_t *cert, const char *path, bool secret, mode_t mode)
{
    _cleanup_free_ char *tmp = hs_sprintf ("%s.tmp.%d", path, (int)getpid ());
    int rc = secret ? zcert_save_secret (cert, tmp) : zcert_save_public (cert, tmp);
    if (rc != 0) {
        int err = errno ? errno : EIO;
        unlink (tmp);
        return -err;
    }
    if (chmod (tmp, mode) != 0 || rename (tmp, path) != 0) {
        int err = errno;
        unlink (tmp);
        return -err;
    }
    return 0;
}

int hs_cred_create (const char *path, const char *identity, const char *broker_key,
                    char *ret_public)
{
    const char *role = hs_cred_role_of (identity);
    if (!role || !hs_cred_key_ok (broker_key)) return -EINVAL;
    zcert_t *cert = zcert_new ();
    if (!cert) return -ENOMEM;
    zcert_set_meta (cert, "identity", "%s", identity);
    zcert_set_meta (cert, "role", "%s", role);
    zcert_set_meta (cert, "broker-key", "%s", broker_key);
    int r = hs_cred_save_zcert (cert, path, true, 0600);
    if (r == 0 && ret_public)
        snprintf (ret_public, HS_CRED_Z85_LEN + 1, "%s", zcert_public_txt (cert));
    zcert_destroy (&cert);
    return r;
}

int hs_cred_broker_create (const char *path, char *ret_public)
{
    zcert_t *cert = zcert_new ();
    if (!cert) return -ENOMEM;
    zcert_set_meta (cert, "identity", "%s", "broker");
    int r = hs_cred_save_zcert (cert, path, true, 0600);
    if (r == 0 && ret_public)
        snprintf (ret_public, HS_CRED_Z85_LEN + 1, "%s", zcert_public_txt (cert));
    zcert_destroy (&cert);
    return r;
}

/* Opens a zcert file for reading: exists, is a regular file, (private:)
 * mode without group or other bits, parses as ZPL. */
static int s_open (const char *path, bool private, const char *what, char *err, size_t err_len,
                   zconfig_t **ret_root)
{
    struct stat st;
    if (stat (path, &st) != 0) {
        int e = errno;
        s_err (err, err_len, "%s %s: %s", what, path, e == ENOENT ? "no such file" : strerror (e));
        return -e;
    }
    if (!S_ISREG (st.st_mode)) {
        s_err (err, err_len, "%s %s: not a regular file", what, path);
        return -EINVAL;
    }
    if (private && (st.st_mode & 077)) {
        s_err (err, err_len,
               "%s %s: mode %04o lets others read or change a secret key; chmod 600 %s", what, path,
               (unsigned)(st.st_mode & 07777), path);
        return -EPERM;
    }
    if (access (path, R_OK) != 0) {
        int e = errno;
        s_err (err, err_len, "%s %s: %s", what, path, strerror (e));
        return -e;
    }
    zconfig_t *root = zconfig_load (path);
    if (!root) {
        s_err (err, err_len, "%s %s: not a zcert file (ZPL text with a curve section)", what, path);
        return -EINVAL;
    }
    *ret_root = root;
    return 0;
}

/* Reads a Z85 key at item ("curve/public-key") into out. */
static int s_get_key (zconfig_t *root, const char *item, const char *what, const char *path,
                      char *err, size_t err_len, char *out)
{
    const char *v = zconfig_get (root, item, NULL);
    if (!v || !*v) {
        s_err (err, err_len, "%s %s: no %s", what, path, item);
        return -EINVAL;
    }
    if (!hs_cred_key_ok (v)) {
        s_err (err, err_len, "%s %s: %s is not a 40-character Z85 key", what, path, item);
        return -EINVAL;
    }
    snprintf (out, HS_CRED_Z85_LEN + 1, "%s", v);
    return 0;
}

/* The keypair of a secret file, checked to belong together. */
static int s_get_keypair (zconfig_t *root, const char *what, const char *path, char *err,
                          size_t err_len, hs_cred_t *cred)
{
    int r;
    if ((r = s_get_key (root, "curve/public-key", what, path, err, err_len, cred->public_key)) <
            0 ||
        (r = s_get_key (root, "curve/secret-key", what, path, err, err_len, cred->secret_key)) < 0)
        return r;
    char derived[HS_CRED_Z85_LEN + 1];
    if (zmq_curve_public (derived, cred->secret_key) != 0 ||
        strcmp (derived, cred->public_key) != 0) {
        s_err (err, err_len, "%s %s: curve/public-key does not belong to curve/secret-key", what,
               path);
        return -EINVAL;
    }
    return 0;
}

/* identity and role metadata: present, valid, matching. */
static int s_get_identity (zconfig_t *root, const char *what, const char *path, char *err,
                           size_t err_len, char *identity, char *role)
{
    const char *id = zconfig_get (root, "metadata/identity", NULL);
    if (!id || !*id) {
        s_err (err, err_len, "%s %s: no metadata/identity", what, path);
        return -EINVAL;
    }
    const char *want = hs_cred_role_of (id);
    if (!want) {
        s_err (err, err_len,
               "%s %s: identity \"%.64s\" is not one of store, node:<node>, sa:<component>, "
               "admin:<user>, tap:<user>, bootstrap:<token-id>",
               what, path, id);
        return -EINVAL;
    }
    const char *r = zconfig_get (root, "metadata/role", NULL);
    if (r && *r && strcmp (r, want) != 0) {
        s_err (err, err_len, "%s %s: role \"%.32s\" does not match identity %s (role %s)", what,
               path, r, id, want);
        return -EINVAL;
    }
    snprintf (identity, HS_CRED_MAX_IDENTITY + 1, "%s", id);
    snprintf (role, 32, "%s", want);
    return 0;
}

int hs_cred_load (const char *path, char *err, size_t err_len, hs_cred_t **ret_cred)
{
    const char *what = "credential";
    zconfig_t *root = NULL;
    int r = s_open (path, true, what, err, err_len, &root);
    if (r < 0) return r;
    hs_cred_t *cred = hs_calloc (1, sizeof *cred);
    if ((r = s_get_keypair (root, what, path, err, err_len, cred)) < 0 ||
        (r = s_get_identity (root, what, path, err, err_len, cred->identity, cred->role)) < 0)
        goto fail;
    const char *bk = zconfig_get (root, "metadata/broker-key", NULL);
    if (!bk || !*bk) {
        s_err (err, err_len, "%s %s: no metadata/broker-key (the bus's public key to pin)", what,
               path);
        r = -EINVAL;
        goto fail;
    }
    if (!hs_cred_key_ok (bk)) {
        s_err (err, err_len, "%s %s: metadata/broker-key is not a 40-character Z85 key", what,
               path);
        r = -EINVAL;
        goto fail;
    }
    snprintf (cred->broker_key, sizeof cred->broker_key, "%s", bk);
    zconfig_destroy (&root);
    *ret_cred = cred;
    return 0;
fail:
    zconfig_destroy (&root);
    free (cred);
    return r;
}

int hs_cred_broker_load (const char *path, char *err, size_t err_len, hs_cred_t **ret_cred)
{
    const char *what = "broker key";
    zconfig_t *root = NULL;
    int r = s_open (path, true, what, err, err_len, &root);
    if (r < 0) return r;
    hs_cred_t *cred = hs_calloc (1, sizeof *cred);
    r = s_get_keypair (root, what, path, err, err_len, cred);
    zconfig_destroy (&root);
    if (r < 0) {
        free (cred);
        return r;
    }
    *ret_cred = cred;
    return 0;
}

static bool s_file_name_ok (const char *name)
{
    return name && name[0] != '.' && s_name_ok (name, HS_CRED_MAX_NAME);
}

int hs_cred_key_write (const char *dir, const char *name, const char *public_key,
                       const char *identity, int64_t expires)
{
    const char *role = hs_cred_role_of (identity);
    if (!s_file_name_ok (name) || !role || !hs_cred_key_ok (public_key) || expires < 0)
        return -EINVAL;
    uint8_t pub[32], sec[32] = {0};
    if (!zmq_z85_decode (pub, public_key)) return -EINVAL;
    zcert_t *cert = zcert_new_from (pub, sec);
    if (!cert) return -ENOMEM;
    zcert_set_meta (cert, "identity", "%s", identity);
    zcert_set_meta (cert, "role", "%s", role);
    if (expires > 0) zcert_set_meta (cert, "expires", "%lld", (long long)expires);
    _cleanup_free_ char *path = hs_sprintf ("%s/%s.key", dir, name);
    int r = hs_cred_save_zcert (cert, path, false, 0644);
    zcert_destroy (&cert);
    return r;
}

int hs_cred_key_remove (const char *dir, const char *name)
{
    if (!s_file_name_ok (name)) return -EINVAL;
    _cleanup_free_ char *path = hs_sprintf ("%s/%s.key", dir, name);
    return unlink (path) == 0 ? 0 : -errno;
}

int hs_cred_key_read (const char *path, char *err, size_t err_len, hs_cred_key_t *ret_key)
{
    const char *what = "key file";
    zconfig_t *root = NULL;
    int r = s_open (path, false, what, err, err_len, &root);
    if (r < 0) return r;
    hs_cred_key_t key;
    memset (&key, 0, sizeof key);
    const char *base = strrchr (path, '/');
    base = base ? base + 1 : path;
    size_t blen = strlen (base);
    if (blen > 4 && strcmp (base + blen - 4, ".key") == 0) blen -= 4;
    snprintf (key.name, sizeof key.name, "%.*s", (int)blen, base);
    if ((r = s_get_key (root, "curve/public-key", what, path, err, err_len, key.public_key)) < 0 ||
        (r = s_get_identity (root, what, path, err, err_len, key.identity, key.role)) < 0)
        goto out;
    const char *exp = zconfig_get (root, "metadata/expires", NULL);
    if (exp && *exp) {
        int64_t v;
        if (hs_parse_i64 (exp, &v) < 0 || v <= 0) {
            s_err (err, err_len, "%s %s: metadata/expires \"%.32s\" is not unix seconds", what,
                   path, exp);
            r = -EINVAL;
            goto out;
        }
        key.expires = v;
    }
    *ret_key = key;
out:
    zconfig_destroy (&root);
    return r;
}

static int s_key_cmp (const void *a, const void *b)
{
    return strcmp (((const hs_cred_key_t *)a)->name, ((const hs_cred_key_t *)b)->name);
}

int hs_cred_key_list (const char *dir, hs_cred_bad_fn *on_bad, void *arg, hs_cred_key_t **ret_keys,
                      size_t *ret_n)
{
    DIR *d = opendir (dir);
    if (!d) return -errno;
    hs_cred_key_t *keys = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir (d))) {
        size_t len = strlen (de->d_name);
        if (de->d_name[0] == '.' || len <= 4 || strcmp (de->d_name + len - 4, ".key") != 0)
            continue;
        _cleanup_free_ char *path = hs_sprintf ("%s/%s", dir, de->d_name);
        hs_cred_key_t key;
        char why[512];
        if (hs_cred_key_read (path, why, sizeof why, &key) < 0) {
            if (on_bad) on_bad (path, why, arg);
            continue;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            keys = hs_realloc (keys, cap * sizeof *keys);
        }
        keys[n++] = key;
    }
    closedir (d);
    if (n) qsort (keys, n, sizeof *keys, s_key_cmp);
    *ret_keys = keys;
    *ret_n = n;
    return 0;
}
