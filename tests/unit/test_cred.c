/*  test_cred.c: hs_cred selftest: identities and roles, credentials and key
 *  files written and read back, and every refusal naming the file and why. */
#include "hs_cred.h"
#include "hs_test.h"
#include "hs_util.h"

#include <czmq.h>
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_roles (void)
{
    CHECK_EQ_STR (hs_cred_role_of ("store"), "store");
    CHECK_EQ_STR (hs_cred_role_of ("store/r1"), "store");
    CHECK_EQ_STR (hs_cred_role_of ("node:demo2"), "node");
    CHECK_EQ_STR (hs_cred_role_of ("sa:scheduler"), "scheduler");
    CHECK_EQ_STR (hs_cred_role_of ("sa:replicas"), "controller");
    CHECK_EQ_STR (hs_cred_role_of ("sa:jobs"), "controller");
    CHECK_EQ_STR (hs_cred_role_of ("sa:autoscaler"), "controller");
    CHECK_EQ_STR (hs_cred_role_of ("sa:prober"), "prober");
    CHECK_EQ_STR (hs_cred_role_of ("sa:endpoints"), "endpoints");
    CHECK_EQ_STR (hs_cred_role_of ("sa:dns"), "dns");
    CHECK_EQ_STR (hs_cred_role_of ("admin:alice"), "admin");
    CHECK_EQ_STR (hs_cred_role_of ("tap:bob"), "tap");
    CHECK_EQ_STR (hs_cred_role_of ("bootstrap:abc123"), "bootstrap");
    CHECK_EQ_STR (hs_cred_role_of ("sa:apiserver"), "apiserver");
    CHECK (hs_cred_role_of ("sa:apiserver2") == NULL);
    CHECK (hs_cred_role_of ("sa:apiserve") == NULL);
    const char *bad[] = {"",       "node:",   "node", "sa:other",      "admin:a b", "node:a/b",
                         "store/", "tap:x\n", "root", "node:\xc3\xa9", "Node:x"};
    for (size_t i = 0; i < HS_ARRAY_LEN (bad); i++) CHECK (hs_cred_role_of (bad[i]) == NULL);
    CHECK (hs_cred_role_of (NULL) == NULL);
    char longname[300];
    memset (longname, 'a', sizeof longname);
    memcpy (longname, "node:", 5);
    longname[5 + 253] = '\0';
    CHECK_EQ_STR (hs_cred_role_of (longname), "node");
    longname[5 + 253] = 'a';
    longname[5 + 254] = '\0';
    CHECK (hs_cred_role_of (longname) == NULL);
    CHECK_EQ_STR (hs_cred_identity_name ("node:demo"), "demo");
    CHECK (hs_cred_identity_name ("store") == NULL);
}

static void test_create_load (void)
{
    const char *dir = hs_test_tmpdir ();
    _cleanup_free_ char *bpath = hs_sprintf ("%s/broker.key_secret", dir);
    char bpub[HS_CRED_Z85_LEN + 1], cpub[HS_CRED_Z85_LEN + 1];
    CHECK_EQ_INT (hs_cred_broker_create (bpath, bpub), 0);
    CHECK (hs_cred_key_ok (bpub));
    struct stat st;
    CHECK_EQ_INT (stat (bpath, &st), 0);
    CHECK_EQ_INT (st.st_mode & 0777, 0600);
    hs_cred_t *broker = NULL;
    char err[512] = "";
    CHECK_EQ_INT (hs_cred_broker_load (bpath, err, sizeof err, &broker), 0);
    if (!broker) return;
    CHECK_EQ_STR (broker->public_key, bpub);
    CHECK (hs_cred_key_ok (broker->secret_key));

    _cleanup_free_ char *cpath = hs_sprintf ("%s/demo2.cred", dir);
    CHECK_EQ_INT (hs_cred_create (cpath, "node:demo2", bpub, cpub), 0);
    CHECK_EQ_INT (stat (cpath, &st), 0);
    CHECK_EQ_INT (st.st_mode & 0777, 0600);
    hs_cred_t *cred = NULL;
    CHECK_EQ_INT (hs_cred_load (cpath, err, sizeof err, &cred), 0);
    if (cred) {
        CHECK_EQ_STR (cred->identity, "node:demo2");
        CHECK_EQ_STR (cred->role, "node");
        CHECK_EQ_STR (cred->public_key, cpub);
        CHECK_EQ_STR (cred->broker_key, bpub);
        char derived[HS_CRED_Z85_LEN + 1];
        CHECK_EQ_INT (zmq_curve_public (derived, cred->secret_key), 0);
        CHECK_EQ_STR (derived, cpub);
    }
    /* czmq itself reads what we wrote */
    zcert_t *zc = zcert_load (cpath);
    CHECK (zc != NULL);
    if (zc) {
        CHECK_EQ_STR (zcert_public_txt (zc), cpub);
        CHECK_EQ_STR (zcert_meta (zc, "identity"), "node:demo2");
        CHECK_EQ_STR (zcert_meta (zc, "broker-key"), bpub);
        zcert_destroy (&zc);
    }
    free (cred);
    free (broker);
    CHECK_EQ_INT (hs_cred_create (cpath, "nobody", bpub, NULL), -EINVAL);
    CHECK_EQ_INT (hs_cred_create (cpath, "node:x", "short", NULL), -EINVAL);
}

/* Each refusal says which file and what is wrong. */
static void test_load_refusals (void)
{
    const char *dir = hs_test_tmpdir ();
    char err[512] = "", bpub[HS_CRED_Z85_LEN + 1];
    hs_cred_t *cred = NULL;
    _cleanup_free_ char *missing = hs_sprintf ("%s/none.cred", dir);
    CHECK_EQ_INT (hs_cred_load (missing, err, sizeof err, &cred), -ENOENT);
    CHECK_CONTAINS (err, missing);
    CHECK_CONTAINS (err, "no such file");

    _cleanup_free_ char *bpath = hs_sprintf ("%s/b.key_secret", dir);
    CHECK_EQ_INT (hs_cred_broker_create (bpath, bpub), 0);
    _cleanup_free_ char *path = hs_sprintf ("%s/x.cred", dir);
    CHECK_EQ_INT (hs_cred_create (path, "sa:prober", bpub, NULL), 0);
    CHECK_EQ_INT (chmod (path, 0644), 0);
    CHECK_EQ_INT (hs_cred_load (path, err, sizeof err, &cred), -EPERM);
    CHECK_CONTAINS (err, "chmod 600");
    CHECK_EQ_INT (chmod (path, 0600), 0);

    /* a broker key is not a credential: no identity, no broker-key */
    CHECK_EQ_INT (hs_cred_load (bpath, err, sizeof err, &cred), -EINVAL);
    CHECK_CONTAINS (err, "identity");

    /* hand-made files with one part wrong */
    zcert_t *c = zcert_new ();
    zcert_set_meta (c, "identity", "sa:prober");
    _cleanup_free_ char *nobk = hs_sprintf ("%s/nobk.cred", dir);
    CHECK_EQ_INT (zcert_save_secret (c, nobk), 0);
    chmod (nobk, 0600);
    CHECK_EQ_INT (hs_cred_load (nobk, err, sizeof err, &cred), -EINVAL);
    CHECK_CONTAINS (err, "broker-key");
    CHECK_CONTAINS (err, nobk);
    zcert_set_meta (c, "broker-key", "%s", bpub);
    zcert_set_meta (c, "role", "admin"); /* the identity says prober */
    CHECK_EQ_INT (zcert_save_secret (c, nobk), 0);
    CHECK_EQ_INT (hs_cred_load (nobk, err, sizeof err, &cred), -EINVAL);
    CHECK_CONTAINS (err, "does not match");
    zcert_destroy (&c);

    _cleanup_free_ char *junk = hs_sprintf ("%s/junk.cred", dir);
    FILE *f = fopen (junk, "w");
    fputs ("curve\n    public-key = \"abc\"\n", f);
    fclose (f);
    chmod (junk, 0600);
    CHECK (hs_cred_load (junk, err, sizeof err, &cred) < 0);
    CHECK_CONTAINS (err, junk);
    CHECK (cred == NULL);

    /* public and secret key that do not belong together */
    zcert_t *a = zcert_new (), *b = zcert_new ();
    zcert_t *mix = zcert_new_from (zcert_public_key (a), zcert_secret_key (b));
    zcert_set_meta (mix, "identity", "sa:dns");
    zcert_set_meta (mix, "broker-key", "%s", bpub);
    CHECK_EQ_INT (zcert_save_secret (mix, junk), 0);
    CHECK_EQ_INT (hs_cred_load (junk, err, sizeof err, &cred), -EINVAL);
    CHECK_CONTAINS (err, "does not belong");
    zcert_destroy (&a);
    zcert_destroy (&b);
    zcert_destroy (&mix);
}

static void s_on_bad (const char *path, const char *why, void *arg)
{
    (void)path;
    int *n = arg;
    (*n)++;
    CHECK (strstr (why, path) != NULL);
}

static void test_key_dir (void)
{
    _cleanup_free_ char *dir = hs_sprintf ("%s/keys", hs_test_tmpdir ());
    CHECK_EQ_INT (hs_mkdir_p (dir, 0700), 0);
    zcert_t *c1 = zcert_new (), *c2 = zcert_new ();
    CHECK_EQ_INT (hs_cred_key_write (dir, "node-b", zcert_public_txt (c1), "node:b", 0), 0);
    CHECK_EQ_INT (
        hs_cred_key_write (dir, "boot-x", zcert_public_txt (c2), "bootstrap:x", 1900000000), 0);
    CHECK_EQ_INT (hs_cred_key_write (dir, "../evil", zcert_public_txt (c2), "admin:e", 0), -EINVAL);
    CHECK_EQ_INT (hs_cred_key_write (dir, "ok", zcert_public_txt (c2), "wizard", 0), -EINVAL);
    CHECK_EQ_INT (hs_cred_key_write (dir, "ok", "not-a-key", "admin:e", 0), -EINVAL);
    /* a file that is not a key file is skipped and reported */
    _cleanup_free_ char *bad = hs_sprintf ("%s/bad.key", dir);
    FILE *f = fopen (bad, "w");
    fputs ("metadata\n    identity = \"admin:x\"\n", f);
    fclose (f);
    _cleanup_free_ char *other = hs_sprintf ("%s/readme.txt", dir);
    f = fopen (other, "w");
    fputs ("not a key\n", f);
    fclose (f);

    hs_cred_key_t *keys = NULL;
    size_t n = 0;
    int nbad = 0;
    CHECK_EQ_INT (hs_cred_key_list (dir, s_on_bad, &nbad, &keys, &n), 0);
    CHECK_EQ_INT (n, 2);
    CHECK_EQ_INT (nbad, 1);
    if (n == 2) {
        CHECK_EQ_STR (keys[0].name, "boot-x");
        CHECK_EQ_STR (keys[0].identity, "bootstrap:x");
        CHECK_EQ_STR (keys[0].role, "bootstrap");
        CHECK_EQ_INT (keys[0].expires, 1900000000);
        CHECK_EQ_STR (keys[0].public_key, zcert_public_txt (c2));
        CHECK_EQ_STR (keys[1].name, "node-b");
        CHECK_EQ_STR (keys[1].role, "node");
        CHECK_EQ_INT (keys[1].expires, 0);
        CHECK_EQ_STR (keys[1].public_key, zcert_public_txt (c1));
    }
    free (keys);
    /* public key files carry no secret */
    _cleanup_free_ char *kpath = hs_sprintf ("%s/node-b.key", dir);
    zcert_t *back = zcert_load (kpath);
    CHECK (back != NULL);
    if (back) {
        CHECK_EQ_STR (zcert_meta (back, "identity"), "node:b");
        zcert_destroy (&back);
    }
    f = fopen (kpath, "r");
    char buf[4096] = "";
    size_t got = f ? fread (buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose (f);
    buf[got] = '\0';
    CHECK (strstr (buf, "secret-key") == NULL);
    CHECK (strstr (buf, zcert_secret_txt (c1)) == NULL);

    CHECK_EQ_INT (hs_cred_key_remove (dir, "node-b"), 0);
    CHECK_EQ_INT (hs_cred_key_remove (dir, "node-b"), -ENOENT);
    CHECK_EQ_INT (hs_cred_key_remove (dir, "../x"), -EINVAL);
    nbad = 0;
    CHECK_EQ_INT (hs_cred_key_list (dir, NULL, NULL, &keys, &n), 0);
    CHECK_EQ_INT (n, 1);
    free (keys);
    CHECK_EQ_INT (hs_cred_key_list ("/nonexistent/keys", NULL, NULL, &keys, &n), -ENOENT);
    zcert_destroy (&c1);
    zcert_destroy (&c2);
}

/* zcert and zconfig must not start czmq's global context: it would install
 * its own SIGINT/SIGTERM handlers in every daemon that reads a credential. */
static void test_no_czmq_signals (void)
{
    struct sigaction before, after;
    sigaction (SIGTERM, NULL, &before);
    char err[256];
    hs_cred_t *c = NULL;
    _cleanup_free_ char *p = hs_sprintf ("%s/s.key_secret", hs_test_tmpdir ());
    CHECK_EQ_INT (hs_cred_broker_create (p, NULL), 0);
    CHECK_EQ_INT (hs_cred_broker_load (p, err, sizeof err, &c), 0);
    free (c);
    sigaction (SIGTERM, NULL, &after);
    CHECK (before.sa_handler == after.sa_handler);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"roles", test_roles},
        {"create_load", test_create_load},
        {"load_refusals", test_load_refusals},
        {"key_dir", test_key_dir},
        {"no_czmq_signals", test_no_czmq_signals},
    };
    return HS_TEST_RUN (tests);
}
