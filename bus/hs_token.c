/*  hs_token.c: join tokens and the CURVE keypair each derives (hs_token.h).
 */
#include "hs_token.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <zmq.h>

static const char s_alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
static const char s_context[] = "homeostat join token v1";

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

int hs_token_keypair (const char *token, char *ret_public_z85, char *ret_secret_z85)
{
    if (!hs_token_valid (token, NULL)) return -EINVAL;
    if (s_sodium () < 0) return -EIO;
    uint8_t seed[crypto_box_SEEDBYTES];
    uint8_t pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
    crypto_generichash (seed, sizeof seed, (const uint8_t *)token, HS_TOKEN_LEN,
                        (const uint8_t *)s_context, sizeof s_context - 1);
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
