/*  ctl_tls.c: hs-apiserver's CA, serving and client certificates, API
 *  tokens and kubeconfigs (ctl_tls.h). GnuTLS's x509 API makes the
 *  certificates: ECDSA P-256 keys, SHA-256 signatures, X.509 v3 with the
 *  extensions Go's crypto/x509 (kubectl) and OpenSSL check: basic
 *  constraints, key usage, extended key usage, subject and authority key
 *  ids, subject alternative names.
 */
#include "ctl_tls.h"
#include "hs_pbjson.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S_DAY         86400
#define S_CA_DAYS     3650
#define S_SERVER_DAYS 365
#define S_RENEW_DAYS  30 /* a certificate with less left is made anew */

/* ------------------------------------------------------------ files */

int ctl_file_write (const char *path, const void *data, size_t len, mode_t mode)
{
    _cleanup_free_ char *tmp = hs_sprintf ("%s.tmp.%d", path, (int)getpid ());
    int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) return -errno;
    int r = 0;
    if (fchmod (fd, mode) < 0 || write (fd, data, len) != (ssize_t)len || fsync (fd) < 0)
        r = -(errno ? errno : EIO);
    if (close (fd) < 0 && r == 0) r = -errno;
    if (r == 0 && rename (tmp, path) < 0) r = -errno;
    if (r < 0) unlink (tmp);
    return r;
}

int64_t ctl_parse_ttl (const char *s, int64_t max)
{
    char *end;
    errno = 0;
    long long v = strtoll (s, &end, 10);
    if (end == s || errno || v <= 0) return -1;
    int64_t unit = 1;
    if (!strcmp (end, "") || !strcmp (end, "s"))
        unit = 1;
    else if (!strcmp (end, "m"))
        unit = 60;
    else if (!strcmp (end, "h"))
        unit = 3600;
    else if (!strcmp (end, "d"))
        unit = S_DAY;
    else
        return -1;
    if (v > max / unit) return -2;
    return v * unit;
}

/* ------------------------------------------------------------ names */

static bool s_dns_ok (const char *s)
{
    size_t n = strlen (s), label = 0;
    if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.') return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-') return false;
            label = 0;
            continue;
        }
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && !(c == '-' && label > 0)) return false;
        if (++label > 63) return false;
    }
    return s[n - 1] != '-';
}

/* 4 or 16 for an IP address (its bytes to buf), else 0. */
static size_t s_ip (const char *s, unsigned char buf[16])
{
    if (inet_pton (AF_INET, s, buf) == 1) return 4;
    if (inet_pton (AF_INET6, s, buf) == 1) return 16;
    return 0;
}

bool ctl_tls_san_ok (const char *san)
{
    unsigned char ip[16];
    return !hs_empty (san) && (s_ip (san, ip) > 0 || s_dns_ok (san));
}

bool ctl_tls_url_ok (const char *url)
{
    if (hs_empty (url) || strlen (url) > 512) return false;
    const char *host = hs_startswith (url, "https://")  ? url + 8
                       : hs_startswith (url, "http://") ? url + 7
                                                        : NULL;
    if (!host || !*host || *host == '/' || *host == ':') return false;
    for (const char *p = url; *p; p++)
        if (*p < 0x21 || *p > 0x7e || *p == '"' || *p == '\'' || *p == '\\') return false;
    return true;
}

/* ------------------------------------------------------------ GnuTLS */

typedef struct {
    gnutls_x509_crt_t crt;
    gnutls_x509_privkey_t key;
} s_pair_t;

static void s_pair_free (s_pair_t *p)
{
    if (p->crt) gnutls_x509_crt_deinit (p->crt);
    if (p->key) gnutls_x509_privkey_deinit (p->key);
    p->crt = NULL;
    p->key = NULL;
}

/* Loads a certificate and its key (PEM). 0, -ENOENT when either file is
 * missing, -EINVAL with why (a short phrase) otherwise. */
static int s_pair_load (const char *crt_path, const char *key_path, s_pair_t *ret, const char **why)
{
    *ret = (s_pair_t){0};
    if (access (crt_path, F_OK) < 0 || access (key_path, F_OK) < 0) return -ENOENT;
    gnutls_datum_t c = {0}, k = {0};
    int r = -EINVAL;
    *why = "unreadable";
    if (gnutls_load_file (crt_path, &c) < 0 || gnutls_load_file (key_path, &k) < 0) goto out;
    *why = "not a PEM certificate and key";
    if (gnutls_x509_crt_init (&ret->crt) < 0 || gnutls_x509_privkey_init (&ret->key) < 0) goto out;
    if (gnutls_x509_crt_import (ret->crt, &c, GNUTLS_X509_FMT_PEM) < 0 ||
        gnutls_x509_privkey_import2 (ret->key, &k, GNUTLS_X509_FMT_PEM, NULL, 0) < 0)
        goto out;
    unsigned char a[64], b[64];
    size_t la = sizeof a, lb = sizeof b;
    *why = "its key does not match the certificate";
    if (gnutls_x509_crt_get_key_id (ret->crt, GNUTLS_KEYID_USE_SHA256, a, &la) < 0 ||
        gnutls_x509_privkey_get_key_id (ret->key, GNUTLS_KEYID_USE_SHA256, b, &lb) < 0 ||
        la != lb || memcmp (a, b, la) != 0)
        goto out;
    *why = "it expires within 30 days";
    if (gnutls_x509_crt_get_expiration_time (ret->crt) < time (NULL) + S_RENEW_DAYS * S_DAY)
        goto out;
    r = 0;
out:
    gnutls_free (c.data);
    gnutls_free (k.data);
    if (r < 0) s_pair_free (ret);
    return r;
}

/* Saves a pair: the key (PKCS#8 PEM) 0600, the certificate 0644. */
static int s_pair_save (const s_pair_t *p, const char *crt_path, const char *key_path)
{
    gnutls_datum_t c = {0}, k = {0};
    int r = -EIO;
    if (gnutls_x509_crt_export2 (p->crt, GNUTLS_X509_FMT_PEM, &c) < 0 ||
        gnutls_x509_privkey_export2_pkcs8 (p->key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN,
                                           &k) < 0)
        goto out;
    r = ctl_file_write (key_path, k.data, k.size, 0600);
    if (r == 0) r = ctl_file_write (crt_path, c.data, c.size, 0644);
out:
    if (k.data) sodium_memzero (k.data, k.size);
    gnutls_free (c.data);
    gnutls_free (k.data);
    return r;
}

typedef enum { S_CA, S_SERVER, S_CLIENT } s_usage_t;

/* A new key and certificate: CN, O (may be NULL), valid days from now,
 * for usage; signed by issuer (NULL: self-signed). 0 or a GnuTLS error. */
static int s_make (s_pair_t *ret, const char *cn, const char *org, int64_t secs, s_usage_t usage,
                   const char *const *sans, size_t n_sans, const s_pair_t *issuer)
{
    *ret = (s_pair_t){0};
    gnutls_x509_crt_t crt = NULL;
    gnutls_x509_privkey_t key = NULL;
    int r;
    if ((r = gnutls_x509_privkey_init (&key)) < 0 || (r = gnutls_x509_crt_init (&crt)) < 0)
        goto fail;
    if ((r = gnutls_x509_privkey_generate (
             key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), 0)) < 0)
        goto fail;
    unsigned char serial[16];
    randombytes_buf (serial, sizeof serial);
    serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x40); /* positive, 16 bytes */
    time_t now = time (NULL);
    if ((r = gnutls_x509_crt_set_version (crt, 3)) < 0 ||
        (r = gnutls_x509_crt_set_serial (crt, serial, sizeof serial)) < 0 ||
        (r = gnutls_x509_crt_set_activation_time (crt, now - 300)) < 0 ||
        (r = gnutls_x509_crt_set_expiration_time (crt, now + secs)) < 0 ||
        (r = gnutls_x509_crt_set_key (crt, key)) < 0 ||
        (r = gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
                                            (unsigned)strlen (cn))) < 0)
        goto fail;
    if (org && (r = gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, org,
                                                   (unsigned)strlen (org))) < 0)
        goto fail;
    unsigned char id[64];
    size_t id_len = sizeof id;
    if ((r = gnutls_x509_crt_get_key_id (crt, GNUTLS_KEYID_USE_SHA1, id, &id_len)) < 0 ||
        (r = gnutls_x509_crt_set_subject_key_id (crt, id, id_len)) < 0)
        goto fail;
    if (issuer) {
        id_len = sizeof id;
        unsigned critical = 0;
        if ((r = gnutls_x509_crt_get_subject_key_id (issuer->crt, id, &id_len, &critical)) < 0 ||
            (r = gnutls_x509_crt_set_authority_key_id (crt, id, id_len)) < 0)
            goto fail;
    }
    switch (usage) {
    case S_CA:
        if ((r = gnutls_x509_crt_set_basic_constraints (crt, 1, -1)) < 0 ||
            (r = gnutls_x509_crt_set_key_usage (crt, GNUTLS_KEY_KEY_CERT_SIGN |
                                                         GNUTLS_KEY_CRL_SIGN |
                                                         GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0)
            goto fail;
        break;
    case S_SERVER:
    case S_CLIENT:
        if ((r = gnutls_x509_crt_set_basic_constraints (crt, 0, -1)) < 0 ||
            (r = gnutls_x509_crt_set_key_usage (crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
            (r = gnutls_x509_crt_set_key_purpose_oid (
                 crt, usage == S_SERVER ? GNUTLS_KP_TLS_WWW_SERVER : GNUTLS_KP_TLS_WWW_CLIENT, 0)) <
                0)
            goto fail;
        break;
    }
    for (size_t i = 0; i < n_sans; i++) {
        unsigned char ip[16];
        size_t n = s_ip (sans[i], ip);
        r = n ? gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_IPADDRESS, ip, (unsigned)n,
                                                      GNUTLS_FSAN_APPEND)
              : gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_DNSNAME, sans[i],
                                                      (unsigned)strlen (sans[i]),
                                                      GNUTLS_FSAN_APPEND);
        if (r < 0) goto fail;
    }
    r = issuer ? gnutls_x509_crt_sign2 (crt, issuer->crt, issuer->key, GNUTLS_DIG_SHA256, 0)
               : gnutls_x509_crt_sign2 (crt, crt, key, GNUTLS_DIG_SHA256, 0);
    if (r < 0) goto fail;
    ret->crt = crt;
    ret->key = key;
    return 0;
fail:
    if (crt) gnutls_x509_crt_deinit (crt);
    if (key) gnutls_x509_privkey_deinit (key);
    return r;
}

/* Whether the serving certificate is the CA's and names every SAN. */
static const char *s_server_fits (const s_pair_t *srv, const s_pair_t *ca, const char *const *sans,
                                  size_t n_sans)
{
    unsigned status = 0;
    if (gnutls_x509_crt_verify (srv->crt, &ca->crt, 1, 0, &status) < 0 || status != 0)
        return "it is not signed by the CA";
    for (size_t i = 0; i < n_sans; i++) {
        unsigned char ip[16];
        size_t n = s_ip (sans[i], ip);
        bool has = n ? gnutls_x509_crt_check_ip (srv->crt, ip, (unsigned)n, 0)
                     : gnutls_x509_crt_check_hostname (srv->crt, sans[i]);
        if (!has) return "it does not name every SAN";
    }
    return NULL;
}

static void s_paths (const char *dir, const char *base, char **crt, char **key)
{
    *crt = hs_sprintf ("%s/api/%s.crt", dir, base);
    *key = hs_sprintf ("%s/api/%s.key", dir, base);
}

/* The CA: kept or made. 1 made, 0 kept, -1 printed. */
static int s_ca (const char *dir, bool force, s_pair_t *ca)
{
    _cleanup_free_ char *crt = NULL, *key = NULL;
    s_paths (dir, "ca", &crt, &key);
    const char *why = "";
    int r = force ? -ENOENT : s_pair_load (crt, key, ca, &why);
    if (r == 0) {
        unsigned is_ca = 0;
        if (gnutls_x509_crt_get_basic_constraints (ca->crt, NULL, &is_ca, NULL) >= 0 && is_ca) {
            printf ("[api] CA: kept %s\n", crt);
            return 0;
        }
        why = "it is not a CA";
        s_pair_free (ca);
        r = -EINVAL;
    }
    if (r == -EINVAL) printf ("[api] CA %s: %s; making a new one\n", crt, why);
    if ((r = s_make (ca, "homeostat-ca", "homeostat", (int64_t)S_CA_DAYS * S_DAY, S_CA, NULL, 0,
                     NULL)) < 0) {
        fprintf (stderr, "error: cannot make the CA: %s\n", gnutls_strerror (r));
        return -1;
    }
    if ((r = s_pair_save (ca, crt, key)) < 0) {
        fprintf (stderr, "error: cannot write %s: %s\n", crt, strerror (-r));
        s_pair_free (ca);
        return -1;
    }
    printf ("[api] CA: created %s (10 years)\n", crt);
    return 1;
}

int ctl_tls_init (const char *dir, const char *const *sans, size_t n_sans, bool force)
{
    /* api/users: client-certificate users' bus credentials (hs-apiserver
     * --user-creds), there from the start so a container can mount it */
    _cleanup_free_ char *users = hs_sprintf ("%s/api/users", dir);
    int r = hs_mkdir_p (users, 0700);
    if (r < 0) {
        fprintf (stderr, "error: cannot make %s: %s\n", users, strerror (-r));
        return -1;
    }
    s_pair_t ca, srv = {0};
    int made = s_ca (dir, force, &ca);
    if (made < 0) return -1;
    /* the SANs: loopback, the host name, and what was asked */
    const char *all[CTL_API_MAX_SANS + 4];
    size_t n = 0;
    all[n++] = "127.0.0.1";
    all[n++] = "::1";
    all[n++] = "localhost";
    char host[256] = "";
    if (gethostname (host, sizeof host - 1) == 0 && s_dns_ok (host) &&
        !hs_streq (host, "localhost"))
        all[n++] = host;
    for (size_t i = 0; i < n_sans && i < CTL_API_MAX_SANS; i++) all[n++] = sans[i];
    _cleanup_free_ char *crt = NULL, *key = NULL;
    s_paths (dir, "apiserver", &crt, &key);
    const char *why = "";
    r = force || made ? -ENOENT : s_pair_load (crt, key, &srv, &why);
    if (r == 0 && !(why = s_server_fits (&srv, &ca, all, n))) {
        printf ("[api] serving certificate: kept %s\n", crt);
        s_pair_free (&srv);
        s_pair_free (&ca);
        return 0;
    }
    if (r == 0 || r == -EINVAL)
        printf ("[api] serving certificate %s: %s; making a new one\n", crt, why);
    s_pair_free (&srv);
    r = s_make (&srv, "hs-apiserver", "homeostat", (int64_t)S_SERVER_DAYS * S_DAY, S_SERVER, all, n,
                &ca);
    s_pair_free (&ca);
    if (r < 0) {
        fprintf (stderr, "error: cannot make the serving certificate: %s\n", gnutls_strerror (r));
        return -1;
    }
    r = s_pair_save (&srv, crt, key);
    s_pair_free (&srv);
    if (r < 0) {
        fprintf (stderr, "error: cannot write %s: %s\n", crt, strerror (-r));
        return -1;
    }
    hs_buf_t b = {0};
    for (size_t i = 0; i < n; i++) hs_buf_printf (&b, "%s%s", i ? ", " : "", all[i]);
    _cleanup_free_ char *list = hs_buf_take (&b);
    printf ("[api] serving certificate: created %s (1 year; %s)\n", crt, list);
    return 0;
}

static char *s_export (gnutls_datum_t *d)
{
    char *s = hs_strndup ((const char *)d->data, d->size);
    sodium_memzero (d->data, d->size);
    gnutls_free (d->data);
    d->data = NULL;
    return s;
}

int ctl_tls_client_cert (const char *dir, const char *identity, int64_t ttl, char **ret_cert_pem,
                         char **ret_key_pem)
{
    const char *role = hs_cred_role_of (identity);
    if (!role) {
        fprintf (stderr, "error: \"%s\" is not an identity\n", hs_s (identity));
        return -1;
    }
    _cleanup_free_ char *crt = NULL, *key = NULL;
    s_paths (dir, "ca", &crt, &key);
    s_pair_t ca, cli;
    const char *why = "";
    int r = s_pair_load (crt, key, &ca, &why);
    if (r < 0) {
        fprintf (stderr, "error: the CA %s: %s (run hsctl init --pki %s)\n", crt,
                 r == -ENOENT ? "missing" : why, dir);
        return -1;
    }
    r = s_make (&cli, identity, role, ttl, S_CLIENT, NULL, 0, &ca);
    s_pair_free (&ca);
    if (r < 0) {
        fprintf (stderr, "error: cannot make a client certificate: %s\n", gnutls_strerror (r));
        return -1;
    }
    gnutls_datum_t c = {0}, k = {0};
    if (gnutls_x509_crt_export2 (cli.crt, GNUTLS_X509_FMT_PEM, &c) < 0 ||
        gnutls_x509_privkey_export2_pkcs8 (cli.key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN,
                                           &k) < 0) {
        gnutls_free (c.data);
        gnutls_free (k.data);
        s_pair_free (&cli);
        fprintf (stderr, "error: cannot export the client certificate\n");
        return -1;
    }
    s_pair_free (&cli);
    *ret_cert_pem = s_export (&c);
    *ret_key_pem = s_export (&k);
    return 0;
}

/* ------------------------------------------------------------ tokens */

int ctl_api_token_new (const char *dir, const char *identity, int64_t expires, char *ret)
{
    if (!hs_token_api_identity_ok (identity)) {
        fprintf (stderr,
                 "error: \"%s\" cannot hold an API token: use a user, admin:NAME or tap:NAME\n",
                 hs_s (identity));
        return -1;
    }
    char token[HS_TOKEN_LEN + 1], id[HS_TOKEN_ID_LEN + 1];
    if (hs_token_generate (token) < 0 || !hs_token_valid (token, id)) {
        fprintf (stderr, "error: cannot make a random token (libsodium)\n");
        return -1;
    }
    _cleanup_free_ char *keys = hs_sprintf ("%s/keys", dir);
    int r = hs_token_api_key_write (keys, token, identity, expires);
    if (r < 0) {
        fprintf (stderr, "error: cannot write %s/token-%s.key: %s\n", keys, id, strerror (-r));
        return -1;
    }
    memcpy (ret, token, sizeof token);
    sodium_memzero (token, sizeof token);
    return 0;
}

/* ------------------------------------------------------------ kubeconfig */

static char *s_base64 (const void *data, size_t len)
{
    size_t n = sodium_base64_encoded_len (len, sodium_base64_VARIANT_ORIGINAL);
    char *out = hs_malloc (n);
    sodium_bin2base64 (out, n, data, len, sodium_base64_VARIANT_ORIGINAL);
    return out;
}

static char *s_file_base64 (const char *path)
{
    gnutls_datum_t d = {0};
    if (gnutls_load_file (path, &d) < 0) return NULL;
    char *b = s_base64 (d.data, d.size);
    gnutls_free (d.data);
    return b;
}

static hs_tree_t *s_str (const char *s)
{
    return hs_tree_scalar (s, true);
}

/* {name: NAME, KEY: body} */
static hs_tree_t *s_named (const char *name, const char *key, hs_tree_t *body)
{
    hs_tree_t *m = hs_tree_new (HS_TREE_MAP);
    hs_tree_add (m, "name", s_str (name));
    hs_tree_add (m, key, body);
    return m;
}

static hs_tree_t *s_seq1 (hs_tree_t *item)
{
    hs_tree_t *s = hs_tree_new (HS_TREE_SEQ);
    hs_tree_add (s, NULL, item);
    return s;
}

char *ctl_kubeconfig_new (const char *dir, const char *server, const char *identity,
                          const char *token, const char *cert_pem, const char *key_pem)
{
    _cleanup_free_ char *ca_path = hs_sprintf ("%s/api/ca.crt", dir);
    _cleanup_free_ char *ca = s_file_base64 (ca_path);
    if (!ca) {
        fprintf (stderr, "error: cannot read the CA %s (run hsctl init --pki %s)\n", ca_path, dir);
        return NULL;
    }
    _cleanup_free_ char *context = hs_sprintf ("%s@homeostat", identity);
    hs_tree_t *cluster = hs_tree_new (HS_TREE_MAP);
    hs_tree_add (cluster, "certificate-authority-data", s_str (ca));
    hs_tree_add (cluster, "server", s_str (server));
    hs_tree_t *user = hs_tree_new (HS_TREE_MAP);
    if (token) {
        hs_tree_add (user, "token", s_str (token));
    } else {
        _cleanup_free_ char *c = s_base64 (cert_pem, strlen (cert_pem));
        char *k = s_base64 (key_pem, strlen (key_pem));
        hs_tree_add (user, "client-certificate-data", s_str (c));
        hs_tree_add (user, "client-key-data", s_str (k));
        sodium_memzero (k, strlen (k));
        free (k);
    }
    hs_tree_t *ctx = hs_tree_new (HS_TREE_MAP);
    hs_tree_add (ctx, "cluster", s_str ("homeostat"));
    hs_tree_add (ctx, "user", s_str (identity));
    hs_tree_t *root = hs_tree_new (HS_TREE_MAP);
    hs_tree_add (root, "apiVersion", s_str ("v1"));
    hs_tree_add (root, "kind", s_str ("Config"));
    hs_tree_add (root, "clusters", s_seq1 (s_named ("homeostat", "cluster", cluster)));
    hs_tree_add (root, "users", s_seq1 (s_named (identity, "user", user)));
    hs_tree_add (root, "contexts", s_seq1 (s_named (context, "context", ctx)));
    hs_tree_add (root, "current-context", s_str (context));
    hs_tree_add (root, "preferences", hs_tree_new (HS_TREE_MAP));
    char *text = hs_tree_to_text (root, HS_FMT_YAML);
    hs_tree_free (root);
    return text;
}

static const char *s_scalar (const hs_tree_t *t)
{
    return t && t->type == HS_TREE_SCALAR ? t->scalar : NULL;
}

/* The first item's BODY of seq KEY: clusters[0].cluster. */
static const hs_tree_t *s_first (const hs_tree_t *root, const char *key, const char *body)
{
    const hs_tree_t *s = hs_tree_get (root, key);
    if (!s || s->type != HS_TREE_SEQ || s->n == 0) return NULL;
    return hs_tree_get (s->items[0], body);
}

/* Why the kubeconfig at path does not fit (NULL: it does); its token's id
 * into old_id ("" when none). */
static const char *s_kubeconfig_fits (const char *dir, const char *path, const char *identity,
                                      const char *server, char *old_id)
{
    old_id[0] = '\0';
    gnutls_datum_t d = {0};
    if (gnutls_load_file (path, &d) < 0) return "unreadable";
    hs_tree_t **docs = NULL;
    size_t n = 0;
    char *err = NULL;
    int r = hs_yaml_parse ((const char *)d.data, d.size, &docs, &n, &err);
    sodium_memzero (d.data, d.size);
    gnutls_free (d.data);
    free (err);
    if (r < 0 || n != 1 || docs[0]->type != HS_TREE_MAP) {
        if (r == 0) hs_trees_free (docs, n);
        return "not a kubeconfig";
    }
    const char *why = NULL;
    const hs_tree_t *cluster = s_first (docs[0], "clusters", "cluster");
    const hs_tree_t *user = s_first (docs[0], "users", "user");
    const char *token = user ? s_scalar (hs_tree_get (user, "token")) : NULL;
    _cleanup_free_ char *ca_path = hs_sprintf ("%s/api/ca.crt", dir);
    _cleanup_free_ char *ca = s_file_base64 (ca_path);
    char id[HS_TOKEN_ID_LEN + 1];
    if (token && hs_token_valid (token, id)) snprintf (old_id, HS_TOKEN_ID_LEN + 1, "%s", id);
    if (!cluster || !hs_streq (s_scalar (hs_tree_get (cluster, "server")), server))
        why = "another server";
    else if (!ca || !hs_streq (s_scalar (hs_tree_get (cluster, "certificate-authority-data")), ca))
        why = "another CA";
    else if (!old_id[0])
        why = "no API token";
    if (!why) {
        _cleanup_free_ char *keys = hs_sprintf ("%s/keys", dir);
        hs_cred_key_t k;
        char pub[41], sec[41];
        if (hs_token_api_key_read (keys, old_id, NULL, 0, &k) < 0 ||
            hs_token_api_keypair (token, pub, sec) < 0 || !hs_streq (pub, k.public_key))
            why = "its token has no key file";
        else if (!hs_streq (k.identity, identity))
            why = "another user";
        else if (k.expires != 0 && k.expires <= time (NULL))
            why = "its token expired";
        sodium_memzero (sec, sizeof sec);
    }
    hs_trees_free (docs, n);
    return why;
}

int ctl_kubeconfig_init (const char *dir, const char *identity, const char *server, bool force)
{
    _cleanup_free_ char *path = hs_sprintf ("%s/kubeconfig", dir);
    char old_id[HS_TOKEN_ID_LEN + 1] = "";
    if (access (path, F_OK) == 0) {
        const char *why = s_kubeconfig_fits (dir, path, identity, server, old_id);
        if (!why && !force) {
            printf ("[api] kubeconfig: kept %s (%s at %s)\n", path, identity, server);
            return 0;
        }
        if (why) printf ("[api] kubeconfig %s: %s; writing a new one\n", path, why);
    }
    char token[HS_TOKEN_LEN + 1];
    if (ctl_api_token_new (dir, identity, 0, token) < 0) return -1;
    char *text = ctl_kubeconfig_new (dir, server, identity, token, NULL, NULL);
    sodium_memzero (token, sizeof token);
    if (!text) return -1;
    int r = ctl_file_write (path, text, strlen (text), 0600);
    sodium_memzero (text, strlen (text));
    free (text);
    if (r < 0) {
        fprintf (stderr, "error: cannot write %s: %s\n", path, strerror (-r));
        return -1;
    }
    /* the replaced kubeconfig's token, if it was this user's, goes with it */
    if (old_id[0]) {
        _cleanup_free_ char *keys = hs_sprintf ("%s/keys", dir);
        hs_cred_key_t k;
        _cleanup_free_ char *name = hs_sprintf ("token-%s", old_id);
        if (hs_token_api_key_read (keys, old_id, NULL, 0, &k) == 0 &&
            hs_streq (k.identity, identity))
            hs_cred_key_remove (keys, name);
    }
    printf ("[api] kubeconfig: created %s (%s at %s)\n", path, identity, server);
    return 0;
}
