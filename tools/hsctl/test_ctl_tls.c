/*  test_ctl_tls.c: hs-apiserver's TLS files and kubeconfigs as hsctl makes
 *  them (ctl_tls.h): which SANs, URLs and TTLs are taken; a CA and serving
 *  certificate that GnuTLS verifies as a chain naming every SAN; what
 *  init keeps and what it remakes; client certificates; the kubeconfig
 *  read back. (openssl, curl and kubectl check the same files in
 *  tests/integration/test_init_api.sh.) */
#include "ctl_tls.h"
#include "hs_pbjson.h"
#include "hs_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_names (void)
{
    static const struct {
        const char *s;
        bool ok;
    } sans[] = {
        {"localhost", true},
        {"api.example.com", true},
        {"10.1.2.3", true},
        {"::1", true},
        {"fd00::7", true},
        {"a-b.c", true},
        {"", false},
        {NULL, false},
        {"bad name", false},
        {"-a.example", false},
        {"a-.example", false},
        {"a..b", false},
        {".a", false},
        {"a.", false},
        {"*.example.com", false},
        {"a_b.example", false},
        {"10.1.2.3.4", true}, /* a DNS name of digits */
        {"\"quoted\"", false},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (sans); i++) {
        if (ctl_tls_san_ok (sans[i].s) != sans[i].ok)
            fprintf (stderr, "  san %s\n", hs_s (sans[i].s));
        CHECK (ctl_tls_san_ok (sans[i].s) == sans[i].ok);
    }
    char long_label[80];
    memset (long_label, 'a', 64);
    long_label[64] = '\0';
    CHECK (!ctl_tls_san_ok (long_label));
    long_label[63] = '\0';
    CHECK (ctl_tls_san_ok (long_label));

    static const struct {
        const char *s;
        bool ok;
    } urls[] = {
        {"https://127.0.0.1:6443", true},
        {"http://localhost:8080", true},
        {"https://[::1]:6443", true},
        {"ftp://x", false},
        {"https://", false},
        {"https:///x", false},
        {"https://a b", false},
        {"https://\"x\"", false},
        {"https://x\n", false},
        {"", false},
        {NULL, false},
        {"127.0.0.1:6443", false},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (urls); i++) {
        if (ctl_tls_url_ok (urls[i].s) != urls[i].ok)
            fprintf (stderr, "  url %s\n", hs_s (urls[i].s));
        CHECK (ctl_tls_url_ok (urls[i].s) == urls[i].ok);
    }

    CHECK_EQ_INT (ctl_parse_ttl ("90s", 1000), 90);
    CHECK_EQ_INT (ctl_parse_ttl ("2h", 86400), 7200);
    CHECK_EQ_INT (ctl_parse_ttl ("3600", 86400), 3600);
    CHECK_EQ_INT (ctl_parse_ttl ("2d", 86400), -2);
    CHECK_EQ_INT (ctl_parse_ttl ("0", 86400), -1);
    CHECK_EQ_INT (ctl_parse_ttl ("-5m", 86400), -1);
    CHECK_EQ_INT (ctl_parse_ttl ("5w", 86400), -1);
    CHECK_EQ_INT (ctl_parse_ttl ("99999999999999999999d", 86400), -1);
}

static gnutls_x509_crt_t s_load (const char *path)
{
    gnutls_datum_t d = {0};
    gnutls_x509_crt_t c = NULL;
    if (gnutls_load_file (path, &d) < 0) return NULL;
    if (gnutls_x509_crt_init (&c) < 0 || gnutls_x509_crt_import (c, &d, GNUTLS_X509_FMT_PEM) < 0) {
        if (c) gnutls_x509_crt_deinit (c);
        c = NULL;
    }
    gnutls_free (d.data);
    return c;
}

static char *s_read (const char *path)
{
    FILE *f = fopen (path, "re");
    if (!f) return NULL;
    char *buf = hs_calloc (1, 1 << 16);
    size_t n = fread (buf, 1, (1 << 16) - 1, f);
    buf[n] = '\0';
    fclose (f);
    return buf;
}

static int s_mode (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

static void test_init (void)
{
    _cleanup_free_ char *dir = hs_sprintf ("%s/init", hs_test_tmpdir ());
    _cleanup_free_ char *keys = hs_sprintf ("%s/keys", dir);
    CHECK_EQ_INT (hs_mkdir_p (keys, 0700), 0);
    const char *sans[] = {"api.example.com", "10.9.8.7", "fd00::7"};
    CHECK_EQ_INT (ctl_tls_init (dir, sans, 3, false), 0);
    _cleanup_free_ char *ca_path = hs_sprintf ("%s/api/ca.crt", dir);
    _cleanup_free_ char *srv_path = hs_sprintf ("%s/api/apiserver.crt", dir);
    _cleanup_free_ char *ca_key = hs_sprintf ("%s/api/ca.key", dir);
    _cleanup_free_ char *srv_key = hs_sprintf ("%s/api/apiserver.key", dir);
    _cleanup_free_ char *users = hs_sprintf ("%s/api/users", dir);
    CHECK_EQ_INT (s_mode (ca_key), 0600);
    CHECK_EQ_INT (s_mode (srv_key), 0600);
    CHECK_EQ_INT (s_mode (ca_path), 0644);
    CHECK_EQ_INT (s_mode (users), 0700);
    gnutls_x509_crt_t ca = s_load (ca_path), srv = s_load (srv_path);
    CHECK (ca && srv);
    if (!ca || !srv) return;
    unsigned status = 1, is_ca = 0;
    CHECK (gnutls_x509_crt_verify (srv, &ca, 1, 0, &status) >= 0);
    CHECK_EQ_INT (status, 0);
    CHECK (gnutls_x509_crt_get_basic_constraints (ca, NULL, &is_ca, NULL) >= 0 && is_ca);
    CHECK (gnutls_x509_crt_check_hostname (srv, "localhost"));
    CHECK (gnutls_x509_crt_check_hostname (srv, "api.example.com"));
    CHECK (!gnutls_x509_crt_check_hostname (srv, "other.example.com"));
    unsigned char ip[16];
    inet_pton (AF_INET, "127.0.0.1", ip);
    CHECK (gnutls_x509_crt_check_ip (srv, ip, 4, 0));
    inet_pton (AF_INET, "10.9.8.7", ip);
    CHECK (gnutls_x509_crt_check_ip (srv, ip, 4, 0));
    inet_pton (AF_INET6, "::1", ip);
    CHECK (gnutls_x509_crt_check_ip (srv, ip, 16, 0));
    inet_pton (AF_INET6, "fd00::7", ip);
    CHECK (gnutls_x509_crt_check_ip (srv, ip, 16, 0));
    inet_pton (AF_INET, "10.9.8.8", ip);
    CHECK (!gnutls_x509_crt_check_ip (srv, ip, 4, 0));
    time_t left = gnutls_x509_crt_get_expiration_time (srv) - time (NULL);
    CHECK (left > 364 * 86400 && left <= 366 * 86400);
    left = gnutls_x509_crt_get_expiration_time (ca) - time (NULL);
    CHECK (left > 3640 * 86400);
    gnutls_x509_crt_deinit (srv);

    /* kept; a new SAN remakes the serving certificate alone; --force all */
    _cleanup_free_ char *ca1 = s_read (ca_path), *srv1 = s_read (srv_path);
    CHECK_EQ_INT (ctl_tls_init (dir, sans, 2, false), 0); /* a subset: still fits */
    _cleanup_free_ char *ca2 = s_read (ca_path), *srv2 = s_read (srv_path);
    CHECK_EQ_STR (ca2, ca1);
    CHECK_EQ_STR (srv2, srv1);
    const char *more[] = {"new.example.com"};
    CHECK_EQ_INT (ctl_tls_init (dir, more, 1, false), 0);
    _cleanup_free_ char *ca3 = s_read (ca_path), *srv3 = s_read (srv_path);
    CHECK_EQ_STR (ca3, ca1);
    CHECK (strcmp (srv3, srv1) != 0);
    CHECK_EQ_INT (ctl_tls_init (dir, NULL, 0, true), 0);
    _cleanup_free_ char *ca4 = s_read (ca_path);
    CHECK (strcmp (ca4, ca1) != 0);
    /* a key that is not the certificate's: remade */
    _cleanup_free_ char *srv_before = s_read (srv_path);
    _cleanup_free_ char *other_key = s_read (ca_key);
    CHECK_EQ_INT (ctl_file_write (srv_key, other_key, strlen (other_key), 0600), 0);
    CHECK_EQ_INT (ctl_tls_init (dir, NULL, 0, false), 0);
    _cleanup_free_ char *srv_after = s_read (srv_path);
    CHECK (strcmp (srv_before, srv_after) != 0);
    /* garbage where the CA was: a new CA */
    CHECK_EQ_INT (ctl_file_write (ca_path, "garbage\n", 8, 0644), 0);
    CHECK_EQ_INT (ctl_tls_init (dir, NULL, 0, false), 0);
    gnutls_x509_crt_deinit (ca);
    ca = s_load (ca_path);
    srv = s_load (srv_path);
    CHECK (ca && srv);
    if (ca && srv) {
        CHECK (gnutls_x509_crt_verify (srv, &ca, 1, 0, &status) >= 0);
        CHECK_EQ_INT (status, 0);
    }

    /* a client certificate: CN the identity, signed by the CA */
    char *cert = NULL, *key = NULL;
    CHECK_EQ_INT (ctl_tls_client_cert (dir, "tap:carol", 3600, &cert, &key), 0);
    CHECK (cert && strstr (cert, "BEGIN CERTIFICATE"));
    CHECK (key && strstr (key, "BEGIN PRIVATE KEY"));
    if (cert && ca) {
        gnutls_datum_t d = {(unsigned char *)cert, (unsigned)strlen (cert)};
        gnutls_x509_crt_t c = NULL;
        CHECK (gnutls_x509_crt_init (&c) >= 0 &&
               gnutls_x509_crt_import (c, &d, GNUTLS_X509_FMT_PEM) >= 0);
        char cn[128];
        size_t cn_len = sizeof cn;
        CHECK (gnutls_x509_crt_get_dn_by_oid (c, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cn_len) >=
               0);
        CHECK_EQ_STR (cn, "tap:carol");
        CHECK (gnutls_x509_crt_verify (c, &ca, 1, 0, &status) >= 0);
        CHECK_EQ_INT (status, 0);
        gnutls_x509_crt_deinit (c);
    }
    free (cert);
    free (key);
    CHECK_EQ_INT (ctl_tls_client_cert (dir, "nobody", 3600, &cert, &key), -1);
    if (ca) gnutls_x509_crt_deinit (ca);
    if (srv) gnutls_x509_crt_deinit (srv);
}

static const char *s_get (const hs_tree_t *t, const char *path)
{
    /* "clusters.0.cluster.server" */
    char buf[256];
    snprintf (buf, sizeof buf, "%s", path);
    for (char *save = NULL, *p = strtok_r (buf, ".", &save); p && t;
         p = strtok_r (NULL, ".", &save))
        t = t->type == HS_TREE_SEQ ? (t->n ? t->items[0] : NULL) : hs_tree_get (t, p);
    return t && t->type == HS_TREE_SCALAR ? t->scalar : NULL;
}

static void test_kubeconfig (void)
{
    _cleanup_free_ char *dir = hs_sprintf ("%s/kc", hs_test_tmpdir ());
    _cleanup_free_ char *keys = hs_sprintf ("%s/keys", dir);
    CHECK_EQ_INT (hs_mkdir_p (keys, 0700), 0);
    CHECK_EQ_INT (ctl_tls_init (dir, NULL, 0, false), 0);
    _cleanup_free_ char *path = hs_sprintf ("%s/kubeconfig", dir);
    CHECK_EQ_INT (ctl_kubeconfig_init (dir, "admin:alice", "https://127.0.0.1:6443", false), 0);
    CHECK_EQ_INT (s_mode (path), 0600);
    _cleanup_free_ char *text = s_read (path);
    hs_tree_t **docs = NULL;
    size_t n = 0;
    char *err = NULL;
    CHECK_EQ_INT (hs_yaml_parse (text, strlen (text), &docs, &n, &err), 0);
    free (err);
    if (n != 1) return;
    CHECK_EQ_STR (s_get (docs[0], "kind"), "Config");
    CHECK_EQ_STR (s_get (docs[0], "clusters.0.cluster.server"), "https://127.0.0.1:6443");
    CHECK_EQ_STR (s_get (docs[0], "users.0.name"), "admin:alice");
    CHECK_EQ_STR (s_get (docs[0], "current-context"), "admin:alice@homeostat");
    CHECK_EQ_STR (s_get (docs[0], "contexts.0.context.user"), "admin:alice");
    const char *token = s_get (docs[0], "users.0.user.token");
    char id[HS_TOKEN_ID_LEN + 1];
    CHECK (hs_token_valid (token, id));
    hs_cred_key_t k;
    CHECK_EQ_INT (hs_token_api_key_read (keys, id, NULL, 0, &k), 0);
    CHECK_EQ_STR (k.identity, "admin:alice");
    CHECK_EQ_INT (k.expires, 0);
    /* kept as it is; another server: a new token, the old one's file gone */
    CHECK_EQ_INT (ctl_kubeconfig_init (dir, "admin:alice", "https://127.0.0.1:6443", false), 0);
    _cleanup_free_ char *again = s_read (path);
    CHECK_EQ_STR (again, text);
    CHECK_EQ_INT (ctl_kubeconfig_init (dir, "admin:alice", "https://10.0.0.1:6443", false), 0);
    CHECK_EQ_INT (hs_token_api_key_read (keys, id, NULL, 0, &k), -ENOENT);
    _cleanup_free_ char *moved = s_read (path);
    CHECK (strstr (moved, "https://10.0.0.1:6443") != NULL);
    /* its token's key file removed by hand: a new kubeconfig */
    hs_trees_free (docs, n);
    CHECK_EQ_INT (hs_yaml_parse (moved, strlen (moved), &docs, &n, &err), 0);
    free (err);
    token = s_get (docs[0], "users.0.user.token");
    CHECK (hs_token_valid (token, id));
    _cleanup_free_ char *name = hs_sprintf ("token-%s", id);
    CHECK_EQ_INT (hs_cred_key_remove (keys, name), 0);
    CHECK_EQ_INT (ctl_kubeconfig_init (dir, "admin:alice", "https://10.0.0.1:6443", false), 0);
    _cleanup_free_ char *fresh = s_read (path);
    CHECK (strcmp (fresh, moved) != 0);
    hs_trees_free (docs, n);

    /* a client-certificate kubeconfig holds no token */
    _cleanup_free_ char *kc =
        ctl_kubeconfig_new (dir, "https://x:1", "tap:carol", NULL, "CERT-PEM\n", "KEY-PEM\n");
    CHECK (kc && !strstr (kc, "token"));
    CHECK (kc && strstr (kc, "client-certificate-data: Q0VSVC1QRU0K"));
    CHECK (kc && strstr (kc, "client-key-data: S0VZLVBFTQo="));
    /* no user token for a non-user; no kubeconfig without a CA */
    char tok[HS_TOKEN_LEN + 1];
    CHECK_EQ_INT (ctl_api_token_new (dir, "node:n1", 0, tok), -1);
    _cleanup_free_ char *empty = hs_sprintf ("%s/empty", hs_test_tmpdir ());
    _cleanup_free_ char *none =
        ctl_kubeconfig_new (empty, "https://x:1", "admin:a", "abcdef.0123456789abcdef", NULL, NULL);
    CHECK (none == NULL);
}

int main (int argc, char **argv)
{
    hs_test_t tests[] = {
        {"names", test_names},
        {"init", test_init},
        {"kubeconfig", test_kubeconfig},
    };
    return HS_TEST_RUN (tests);
}
