/*  hs_token.h: join tokens, as kubeadm's bootstrap tokens: "<id>.<secret>",
 *  6 and 16 characters of [a-z0-9].
 *
 *  The id is public: it names the token (`hsctl token list`) and the
 *  identity the broker gives its holder, bootstrap:<id>. The secret never
 *  leaves the token. Both halves together derive one CURVE keypair
 *  (hs_token_keypair): the admin who creates the token writes the public
 *  key into the broker's key directory; the agent that holds the token
 *  derives the same pair and connects with it. So the broker never learns a
 *  token it has not been given, and no token travels on the wire.
 *
 *  Derivation: seed = BLAKE2b-256 keyed with "homeostat join token v1"
 *  over the whole token text, then libsodium's crypto_box_seed_keypair
 *  (Curve25519, what CurveZMQ uses).
 */
#ifndef HS_TOKEN_H
#define HS_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HS_TOKEN_ID_LEN     6
#define HS_TOKEN_SECRET_LEN 16
#define HS_TOKEN_LEN        (HS_TOKEN_ID_LEN + 1 + HS_TOKEN_SECRET_LEN)

/* A fresh random token into buf (HS_TOKEN_LEN + 1 bytes). 0, or -EIO when
 * libsodium cannot start. */
int hs_token_generate (char *buf);

/* Whether token has the shape "<6 of [a-z0-9]>.<16 of [a-z0-9]>". When it
 * has, and ret_id is not NULL, the id is copied there (HS_TOKEN_ID_LEN + 1
 * bytes). */
bool hs_token_valid (const char *token, char *ret_id);

/* Whether id is a token id: 6 of [a-z0-9]. */
bool hs_token_id_valid (const char *id);

/* The token's CURVE keypair, Z85 (41 bytes each, NUL-terminated). 0, or
 * -EINVAL for a malformed token, -EIO when libsodium cannot start. */
int hs_token_keypair (const char *token, char *ret_public_z85, char *ret_secret_z85);

#endif
