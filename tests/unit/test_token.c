/*  test_token.c: hs_token selftest: the token's shape, which strings are
 *  refused, and the keypair it derives: the same for the same token,
 *  another for any other, a valid Curve25519 pair (libzmq derives the same
 *  public key from the secret) that completes a real CURVE handshake. */
#include "hs_token.h"
#include "hs_cred.h"
#include "hs_test.h"
#include "hs_util.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <zmq.h>

static void test_generate (void)
{
    char a[HS_TOKEN_LEN + 1], b[HS_TOKEN_LEN + 1], id[HS_TOKEN_ID_LEN + 1];
    CHECK_EQ_INT (hs_token_generate (a), 0);
    CHECK_EQ_INT (hs_token_generate (b), 0);
    CHECK_EQ_INT (strlen (a), 23);
    CHECK_EQ_INT (a[6], '.');
    CHECK (strcmp (a, b) != 0);
    CHECK (hs_token_valid (a, id));
    CHECK_EQ_INT (strlen (id), 6);
    CHECK (strncmp (a, id, 6) == 0);
    CHECK (hs_token_id_valid (id));
}

static void test_shapes (void)
{
    static const struct {
        const char *token;
        bool ok;
    } cases[] = {
        {"abcdef.0123456789abcdef", true},
        {"07x9zz.zzzzzzzzzzzzzzzz", true},
        {"abcdef.0123456789abcde", false},   /* short secret */
        {"abcdef.0123456789abcdefg", false}, /* long secret */
        {"abcde.0123456789abcdef0", false},  /* short id */
        {"ABCDEF.0123456789abcdef", false},  /* upper case */
        {"abcdef-0123456789abcdef", false},  /* no dot */
        {"abcdef.0123456789abcde!", false},
        {"abcdef.0123456789ab\ncdef", false},
        {"", false},
        {NULL, false},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (cases); i++) {
        bool got = hs_token_valid (cases[i].token, NULL);
        if (got != cases[i].ok) fprintf (stderr, "  case %zu: %s\n", i, hs_s (cases[i].token));
        CHECK (got == cases[i].ok);
    }
    CHECK (!hs_token_id_valid ("abc"));
    CHECK (!hs_token_id_valid ("abcdefg"));
    CHECK (!hs_token_id_valid ("abc.ef"));
    CHECK (!hs_token_id_valid (NULL));
    char pub[41], sec[41];
    CHECK_EQ_INT (hs_token_keypair ("abcdef.0123", pub, sec), -EINVAL);
}

static void test_keypair (void)
{
    char p1[41], s1[41], p2[41], s2[41], p3[41], s3[41];
    CHECK_EQ_INT (hs_token_keypair ("abcdef.0123456789abcdef", p1, s1), 0);
    CHECK_EQ_INT (hs_token_keypair ("abcdef.0123456789abcdef", p2, s2), 0);
    CHECK_EQ_STR (p1, p2);
    CHECK_EQ_STR (s1, s2);
    /* one character of the secret changes the pair */
    CHECK_EQ_INT (hs_token_keypair ("abcdef.0123456789abcdeg", p3, s3), 0);
    CHECK (strcmp (p1, p3) != 0);
    CHECK (strcmp (s1, s3) != 0);
    CHECK_EQ_INT (strlen (p1), 40);
    CHECK_EQ_INT (strlen (s1), 40);
    /* the public key is the secret's (what CurveZMQ computes) */
    char derived[41];
    CHECK_EQ_INT (zmq_curve_public (derived, s1), 0);
    CHECK_EQ_STR (derived, p1);
}

/* A client with the token's pair completes a CURVE handshake: a message
 * sent over ipc arrives. */
static void test_handshake (void)
{
    char cp[41], cs[41], sp[41], ss[41];
    CHECK_EQ_INT (hs_token_keypair ("q1w2e3.r4t5y6u7i8o9p0as", cp, cs), 0);
    CHECK_EQ_INT (zmq_curve_keypair (sp, ss), 0);
    void *ctx = zmq_ctx_new ();
    void *srv = zmq_socket (ctx, ZMQ_PULL), *cli = zmq_socket (ctx, ZMQ_PUSH);
    int one = 1, ms = 5000;
    CHECK_EQ_INT (zmq_setsockopt (srv, ZMQ_CURVE_SERVER, &one, sizeof one), 0);
    CHECK_EQ_INT (zmq_setsockopt (srv, ZMQ_CURVE_SECRETKEY, ss, 40), 0);
    CHECK_EQ_INT (zmq_setsockopt (srv, ZMQ_RCVTIMEO, &ms, sizeof ms), 0);
    _cleanup_free_ char *ep = hs_sprintf ("ipc://%s/curve", hs_test_tmpdir ());
    CHECK_EQ_INT (zmq_bind (srv, ep), 0);
    CHECK_EQ_INT (zmq_setsockopt (cli, ZMQ_CURVE_SERVERKEY, sp, 40), 0);
    CHECK_EQ_INT (zmq_setsockopt (cli, ZMQ_CURVE_PUBLICKEY, cp, 40), 0);
    CHECK_EQ_INT (zmq_setsockopt (cli, ZMQ_CURVE_SECRETKEY, cs, 40), 0);
    CHECK_EQ_INT (zmq_connect (cli, ep), 0);
    CHECK_EQ_INT (zmq_send (cli, "hello", 5, 0), 5);
    char buf[8] = {0};
    CHECK_EQ_INT (zmq_recv (srv, buf, sizeof buf, 0), 5);
    CHECK_EQ_STR (buf, "hello");
    int zero = 0;
    zmq_setsockopt (cli, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close (cli);
    zmq_close (srv);
    zmq_ctx_term (ctx);
}

/* The key file hsctl writes, read back as hs-store does; the agent's
 * bootstrap credential holds the same public key, and hs_cred_load takes
 * it. */
static void test_files (void)
{
    const char *dir = hs_test_tmpdir ();
    const char *token = "k3y5ab.cdefghijklmnop12";
    CHECK_EQ_INT (hs_token_key_write (dir, token, "node-b", 1999999999), 0);
    hs_token_key_t k;
    char err[512] = "";
    CHECK_EQ_INT (hs_token_key_read (dir, "k3y5ab", err, sizeof err, &k), 0);
    CHECK_EQ_STR (k.id, "k3y5ab");
    CHECK_EQ_STR (k.node, "node-b");
    CHECK_EQ_INT (k.expires, 1999999999);
    char pub[41], sec[41];
    CHECK_EQ_INT (hs_token_keypair (token, pub, sec), 0);
    CHECK_EQ_STR (k.public_key, pub);
    /* hs-bus reads it like any key file */
    _cleanup_free_ char *path = hs_sprintf ("%s/bootstrap-k3y5ab.key", dir);
    hs_cred_key_t ck;
    CHECK_EQ_INT (hs_cred_key_read (path, err, sizeof err, &ck), 0);
    CHECK_EQ_STR (ck.identity, "bootstrap:k3y5ab");
    CHECK_EQ_STR (ck.role, "bootstrap");
    struct stat st;
    CHECK_EQ_INT (stat (path, &st), 0);
    CHECK_EQ_INT (st.st_mode & 0777, 0644);

    /* refusals */
    CHECK_EQ_INT (hs_token_key_read (dir, "zzzzzz", err, sizeof err, &k), -ENOENT);
    CHECK_CONTAINS (err, "bootstrap-zzzzzz.key");
    CHECK_EQ_INT (hs_token_key_read (dir, "../../x", err, sizeof err, &k), -EINVAL);
    CHECK_EQ_INT (hs_token_key_write (dir, token, "bad/node", 1999999999), -EINVAL);
    CHECK_EQ_INT (hs_token_key_write (dir, token, "", 1999999999), -EINVAL);
    CHECK_EQ_INT (hs_token_key_write (dir, token, "n", 0), -EINVAL);
    CHECK_EQ_INT (hs_token_key_write (dir, "nope", "n", 5), -EINVAL);
    /* a key file of another identity under a token's name */
    char other[41];
    CHECK_EQ_INT (zmq_curve_keypair (other, sec), 0);
    CHECK_EQ_INT (hs_cred_key_write (dir, "bootstrap-aaaaaa", other, "node:x", 0), 0);
    CHECK_EQ_INT (hs_token_key_read (dir, "aaaaaa", err, sizeof err, &k), -EINVAL);
    CHECK_CONTAINS (err, "identity node:x");

    /* the agent's bootstrap credential */
    char bpub[41], bsec[41];
    CHECK_EQ_INT (zmq_curve_keypair (bpub, bsec), 0);
    _cleanup_free_ char *cred_path = hs_sprintf ("%s/bootstrap.cred", dir);
    CHECK_EQ_INT (hs_token_cred_write (cred_path, token, bpub), 0);
    CHECK_EQ_INT (stat (cred_path, &st), 0);
    CHECK_EQ_INT (st.st_mode & 0777, 0600);
    hs_cred_t *cred = NULL;
    CHECK_EQ_INT (hs_cred_load (cred_path, err, sizeof err, &cred), 0);
    if (cred) {
        CHECK_EQ_STR (cred->identity, "bootstrap:k3y5ab");
        CHECK_EQ_STR (cred->role, "bootstrap");
        CHECK_EQ_STR (cred->public_key, pub);
        CHECK_EQ_STR (cred->broker_key, bpub);
        free (cred);
    }
    CHECK_EQ_INT (hs_token_cred_write (cred_path, token, "short"), -EINVAL);
}

/* API tokens: another derivation than join tokens (neither is the
 * other's key), key files that name a user identity and its role, with or
 * without expires, and refusals. */
static void test_api (void)
{
    const char *dir = hs_test_tmpdir ();
    const char *token = "ap1k3y.cdefghijklmnop12";
    char jp[41], js[41], ap[41], as[41], ap2[41], as2[41];
    CHECK_EQ_INT (hs_token_keypair (token, jp, js), 0);
    CHECK_EQ_INT (hs_token_api_keypair (token, ap, as), 0);
    CHECK (strcmp (jp, ap) != 0);
    CHECK (strcmp (js, as) != 0);
    CHECK_EQ_INT (hs_token_api_keypair (token, ap2, as2), 0);
    CHECK_EQ_STR (ap, ap2);
    CHECK_EQ_STR (as, as2);
    char derived[41];
    CHECK_EQ_INT (zmq_curve_public (derived, as), 0);
    CHECK_EQ_STR (derived, ap);
    CHECK_EQ_INT (hs_token_api_keypair ("AP1K3Y.cdefghijklmnop12", ap2, as2), -EINVAL);

    /* a key file, read back: identity, role, public key; never expiring */
    char err[512] = "";
    CHECK_EQ_INT (hs_token_api_key_write (dir, token, "admin:alice", 0), 0);
    hs_cred_key_t k;
    CHECK_EQ_INT (hs_token_api_key_read (dir, "ap1k3y", err, sizeof err, &k), 0);
    CHECK_EQ_STR (k.identity, "admin:alice");
    CHECK_EQ_STR (k.role, "admin");
    CHECK_EQ_STR (k.public_key, ap);
    CHECK_EQ_STR (k.name, "token-ap1k3y");
    CHECK_EQ_INT (k.expires, 0);
    struct stat st;
    _cleanup_free_ char *path = hs_sprintf ("%s/token-ap1k3y.key", dir);
    CHECK_EQ_INT (stat (path, &st), 0);
    CHECK_EQ_INT (st.st_mode & 0777, 0644);
    /* the join token's key file of the same text holds another key */
    CHECK_EQ_INT (hs_token_key_write (dir, token, "node-b", 1999999999), 0);
    hs_token_key_t jk;
    CHECK_EQ_INT (hs_token_key_read (dir, "ap1k3y", err, sizeof err, &jk), 0);
    CHECK (strcmp (jk.public_key, k.public_key) != 0);
    CHECK_EQ_STR (jk.public_key, jp);

    /* a read-only user, expiring; written again, replaced */
    CHECK_EQ_INT (hs_token_api_key_write (dir, token, "tap:bob", 1999999999), 0);
    CHECK_EQ_INT (hs_token_api_key_read (dir, "ap1k3y", err, sizeof err, &k), 0);
    CHECK_EQ_STR (k.identity, "tap:bob");
    CHECK_EQ_STR (k.role, "tap");
    CHECK_EQ_INT (k.expires, 1999999999);

    /* refusals: identities that are no user, bad tokens, bad ids */
    static const char *const not_users[] = {
        "node:n1", "sa:apiserver", "sa:jobs", "store", "bootstrap:abcdef",
        "admin:",  "admin:a/b",    "",        NULL};
    for (size_t i = 0; i < HS_ARRAY_LEN (not_users); i++) {
        if (hs_token_api_key_write (dir, token, not_users[i], 0) != -EINVAL)
            fprintf (stderr, "  identity %s\n", hs_s (not_users[i]));
        CHECK_EQ_INT (hs_token_api_key_write (dir, token, not_users[i], 0), -EINVAL);
        CHECK (!hs_token_api_identity_ok (not_users[i]));
    }
    CHECK_EQ_INT (hs_token_api_key_write (dir, token, "admin:alice", -1), -EINVAL);
    CHECK_EQ_INT (hs_token_api_key_write (dir, "nope", "admin:alice", 0), -EINVAL);
    CHECK_EQ_INT (hs_token_api_key_write (NULL, token, "admin:alice", 0), -EINVAL);
    static const char *const bad_ids[] = {"../../x", "ap1k3", "ap1k3yy", "AP1K3Y",
                                          "a.1k3y",  "",      NULL};
    for (size_t i = 0; i < HS_ARRAY_LEN (bad_ids); i++)
        CHECK_EQ_INT (hs_token_api_key_read (dir, bad_ids[i], err, sizeof err, &k), -EINVAL);
    CHECK_EQ_INT (hs_token_api_key_read (dir, "zzzzzz", err, sizeof err, &k), -ENOENT);
    CHECK_CONTAINS (err, "token-zzzzzz.key");
    /* a key file under a token's name that names no user */
    char other[41], osec[41];
    CHECK_EQ_INT (zmq_curve_keypair (other, osec), 0);
    CHECK_EQ_INT (hs_cred_key_write (dir, "token-bbbbbb", other, "node:x", 0), 0);
    CHECK_EQ_INT (hs_token_api_key_read (dir, "bbbbbb", err, sizeof err, &k), -EINVAL);
    CHECK_CONTAINS (err, "identity node:x");
}

int main (int argc, char **argv)
{
    hs_test_t tests[] = {
        {"generate", test_generate},   {"shapes", test_shapes}, {"keypair", test_keypair},
        {"handshake", test_handshake}, {"files", test_files},   {"api", test_api},
    };
    return HS_TEST_RUN (tests);
}
