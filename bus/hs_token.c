/*  hs_token.c: join tokens and the CURVE keypair each derives (hs_token.h).
 */
#include "hs_token.h"
#include "hs_cred.h"
#include "hs_util.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char s_alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
static const char s_context[] = "homeostat join token v1";
static const char s_api_context[] = "homeostat api token v1";

static int s_sodium (void)
{
    return sodium_init () < 0 ? -EIO : 0;
}

static bool s_chars_ok (const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!s[i] || !strchr (s_alphabet, s[i])) return false;
    return true;
}

int hs_token_generate (char *buf)
{
    if (s_sodium () < 0) return -EIO;
    for (size_t i = 0; i < HS_TOKEN_LEN; i++)
        buf[i] = i == HS_TOKEN_ID_LEN
                     ? '.'
                     : s_alphabet[randombytes_uniform ((uint32_t)(sizeof s_alphabet - 1))];
    buf[HS_TOKEN_LEN] = '\0';
    return 0;
}

bool hs_token_id_valid (const char *id)
{
    return id && strlen (id) == HS_TOKEN_ID_LEN && s_chars_ok (id, HS_TOKEN_ID_LEN);
}

bool hs_token_valid (const char *token, char *ret_id)
{
    if (!token || strlen (token) != HS_TOKEN_LEN || token[HS_TOKEN_ID_LEN] != '.') return false;
    if (!s_chars_ok (token, HS_TOKEN_ID_LEN) ||
        !s_chars_ok (token + HS_TOKEN_ID_LEN + 1, HS_TOKEN_SECRET_LEN))
        return false;
    if (ret_id) {
        memcpy (ret_id, token, HS_TOKEN_ID_LEN);
        ret_id[HS_TOKEN_ID_LEN] = '\0';
    }
    return true;
}

static int s_keypair (const char *context, const char *token, char *ret_public_z85,
                      char *ret_secret_z85)
{
    if (!hs_token_valid (token, NULL)) return -EINVAL;
    if (s_sodium () < 0) return -EIO;
    uint8_t seed[crypto_box_SEEDBYTES];
    uint8_t pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
    crypto_generichash (seed, sizeof seed, (const uint8_t *)token, HS_TOKEN_LEN,
                        (const uint8_t *)context, strlen (context));
    crypto_box_seed_keypair (pk, sk, seed);
    char pz[41], sz[41];
    bool ok = zmq_z85_encode (pz, pk, sizeof pk) && zmq_z85_encode (sz, sk, sizeof sk);
    sodium_memzero (seed, sizeof seed);
    sodium_memzero (sk, sizeof sk);
    if (!ok) return -EIO;
    memcpy (ret_public_z85, pz, sizeof pz);
    memcpy (ret_secret_z85, sz, sizeof sz);
    sodium_memzero (sz, sizeof sz);
    return 0;
}

int hs_token_keypair (const char *token, char *ret_public_z85, char *ret_secret_z85)
{
    return s_keypair (s_context, token, ret_public_z85, ret_secret_z85);
}

int hs_token_api_keypair (const char *token, char *ret_public_z85, char *ret_secret_z85)
{
    return s_keypair (s_api_context, token, ret_public_z85, ret_secret_z85);
}

/* ------------------------------------------------------------ key files */

static bool s_node_ok (const char *node)
{
    if (hs_empty (node) || strlen (node) > 253) return false;
    _cleanup_free_ char *identity = hs_sprintf ("node:%s", node);
    return hs_cred_role_of (identity) != NULL;
}

int hs_token_key_write (const char *dir, const char *token, const char *node, int64_t expires)
{
    char id[HS_TOKEN_ID_LEN + 1], pub[41], sec[41];
    if (!hs_token_valid (token, id) || !s_node_ok (node) || expires <= 0) return -EINVAL;
    int r = hs_token_keypair (token, pub, sec);
    sodium_memzero (sec, sizeof sec);
    if (r < 0) return r;
    uint8_t pk[32], zero[32] = {0};
    if (!zmq_z85_decode (pk, pub)) return -EINVAL;
    zcert_t *cert = zcert_new_from (pk, zero);
    if (!cert) return -ENOMEM;
    zcert_set_meta (cert, "identity", "bootstrap:%s", id);
    zcert_set_meta (cert, "role", "%s", "bootstrap");
    zcert_set_meta (cert, "node", "%s", node);
    zcert_set_meta (cert, "expires", "%lld", (long long)expires);
    _cleanup_free_ char *path = hs_sprintf ("%s/bootstrap-%s.key", dir, id);
    r = hs_cred_save_zcert (cert, path, false, 0644);
    zcert_destroy (&cert);
    return r;
}

int hs_token_key_read (const char *dir, const char *id, char *err, size_t err_len,
                       hs_token_key_t *ret_key)
{
    if (!hs_token_id_valid (id)) {
        if (err) snprintf (err, err_len, "\"%.16s\" is not a join token id", hs_s (id));
        return -EINVAL;
    }
    _cleanup_free_ char *path = hs_sprintf ("%s/bootstrap-%s.key", dir, id);
    hs_cred_key_t key;
    int r = hs_cred_key_read (path, err, err_len, &key);
    if (r < 0) return r;
    _cleanup_free_ char *want = hs_sprintf ("bootstrap:%s", id);
    if (!hs_streq (key.identity, want)) {
        if (err)
            snprintf (err, err_len, "key file %s: identity %s, not %s", path, key.identity, want);
        return -EINVAL;
    }
    if (key.expires <= 0) {
        if (err)
            snprintf (err, err_len, "key file %s: a join token without metadata/expires", path);
        return -EINVAL;
    }
    zconfig_t *root = zconfig_load (path);
    const char *node = root ? zconfig_get (root, "metadata/node", NULL) : NULL;
    if (!s_node_ok (node)) {
        if (err) snprintf (err, err_len, "key file %s: no valid metadata/node", path);
        zconfig_destroy (&root);
        return -EINVAL;
    }
    hs_token_key_t k;
    memset (&k, 0, sizeof k);
    snprintf (k.id, sizeof k.id, "%s", id);
    snprintf (k.node, sizeof k.node, "%s", node);
    snprintf (k.public_key, sizeof k.public_key, "%s", key.public_key);
    k.expires = key.expires;
    zconfig_destroy (&root);
    *ret_key = k;
    return 0;
}

int hs_token_spend (const char *dir, const char *id, const char *node)
{
    if (!hs_token_id_valid (id) || !s_node_ok (node)) return -EINVAL;
    _cleanup_free_ char *path = hs_sprintf ("%s/bootstrap-%s.spent", dir, id);
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return -errno;
    _cleanup_free_ char *line = hs_sprintf ("%s\n", node);
    size_t len = strlen (line);
    int r = write (fd, line, len) == (ssize_t)len && fsync (fd) == 0 ? 0 : -(errno ? errno : EIO);
    if (close (fd) < 0 && r == 0) r = -errno;
    if (r < 0) unlink (path);
    return r;
}

bool hs_token_spent (const char *dir, const char *id)
{
    if (!hs_token_id_valid (id)) return false;
    _cleanup_free_ char *path = hs_sprintf ("%s/bootstrap-%s.spent", dir, id);
    return access (path, F_OK) == 0;
}

int hs_token_cred_write (const char *path, const char *token, const char *broker_key)
{
    char id[HS_TOKEN_ID_LEN + 1], pub[41], sec[41];
    if (!hs_token_valid (token, id) || !hs_cred_key_ok (broker_key)) return -EINVAL;
    int r = hs_token_keypair (token, pub, sec);
    if (r < 0) return r;
    uint8_t pk[32], sk[32];
    bool ok = zmq_z85_decode (pk, pub) && zmq_z85_decode (sk, sec);
    sodium_memzero (sec, sizeof sec);
    if (!ok) return -EINVAL;
    zcert_t *cert = zcert_new_from (pk, sk);
    sodium_memzero (sk, sizeof sk);
    if (!cert) return -ENOMEM;
    zcert_set_meta (cert, "identity", "bootstrap:%s", id);
    zcert_set_meta (cert, "role", "%s", "bootstrap");
    zcert_set_meta (cert, "broker-key", "%s", broker_key);
    r = hs_cred_save_zcert (cert, path, true, 0600);
    zcert_destroy (&cert);
    return r;
}

/* ------------------------------------------------------------ API tokens */

bool hs_token_api_identity_ok (const char *identity)
{
    const char *role = hs_cred_role_of (identity);
    return role && (hs_streq (role, "admin") || hs_streq (role, "tap"));
}

int hs_token_api_key_write (const char *dir, const char *token, const char *identity,
                            int64_t expires)
{
    char id[HS_TOKEN_ID_LEN + 1], pub[41], sec[41];
    if (!dir || !hs_token_valid (token, id) || !hs_token_api_identity_ok (identity) || expires < 0)
        return -EINVAL;
    int r = hs_token_api_keypair (token, pub, sec);
    sodium_memzero (sec, sizeof sec);
    if (r < 0) return r;
    _cleanup_free_ char *name = hs_sprintf ("token-%s", id);
    return hs_cred_key_write (dir, name, pub, identity, expires);
}

int hs_token_api_key_read (const char *dir, const char *id, char *err, size_t err_len,
                           hs_cred_key_t *ret)
{
    if (!hs_token_id_valid (id)) {
        if (err) snprintf (err, err_len, "\"%.16s\" is not an API token id", hs_s (id));
        return -EINVAL;
    }
    _cleanup_free_ char *path = hs_sprintf ("%s/token-%s.key", hs_s (dir), id);
    hs_cred_key_t key;
    int r = hs_cred_key_read (path, err, err_len, &key);
    if (r < 0) return r;
    if (!hs_token_api_identity_ok (key.identity)) {
        if (err)
            snprintf (err, err_len,
                      "key file %s: identity %s is not a user (admin:<user>, tap:<user>)", path,
                      key.identity);
        return -EINVAL;
    }
    *ret = key;
    return 0;
}
