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

#include "hs_cred.h"

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

/* ------------------------------------------------------------ key files
 * A token lives in the broker's key directory (hs_cred.h) as
 * DIR/bootstrap-<id>.key: a zcert public file with the token's public key
 * and metadata identity "bootstrap:<id>", role "bootstrap", node (the one
 * Node whose key the token may register) and expires (unix seconds).
 * hs-bus admits the key until it expires; hs-store (store_join.c) reads
 * node and expires back. */

typedef struct {
    char id[HS_TOKEN_ID_LEN + 1];
    char node[254];
    char public_key[41];
    int64_t expires; /* unix seconds */
} hs_token_key_t;

/* Writes dir/bootstrap-<id>.key for token, scoped to node, expiring at
 * expires (unix seconds, > 0). Atomic (temp file, rename), mode 0644.
 * 0, -EINVAL (token, node or expires), -errno. */
int hs_token_key_write (const char *dir, const char *token, const char *node, int64_t expires);

/* Reads dir/bootstrap-<id>.key. 0, or -errno with one line in err
 * (err_len bytes, may be NULL) naming the file and what is wrong: missing
 * (-ENOENT), no node, no expires, identity not bootstrap:<id>. */
int hs_token_key_read (const char *dir, const char *id, char *err, size_t err_len,
                       hs_token_key_t *ret_key);

/* A token that registered a node's key is spent for good: the store
 * records it as dir/bootstrap-<id>.spent (the node's name, one line; not a
 * .key file, so hs-bus does not read it). The record outlives the node's
 * key (hsctl keys revoke) and the token's own file, so a token never
 * registers a second key. hs_token_spend creates it exclusively: 0,
 * -EEXIST when the token is spent already, -EINVAL (id), -errno. */
int hs_token_spend (const char *dir, const char *id, const char *node);

/* Whether dir/bootstrap-<id>.spent exists. */
bool hs_token_spent (const char *dir, const char *id);

/* Saves at path a credential (hs_cred_load reads it) holding the token's
 * keypair: identity bootstrap:<id>, broker_key pinned. Mode 0600, atomic.
 * 0, -EINVAL, -errno. */
int hs_token_cred_write (const char *path, const char *token, const char *broker_key);

/* ------------------------------------------------------------ API tokens
 *  hs-apiserver's bearer tokens (docs/architecture.md §24, "Identities, TLS
 *  and kubeconfig") have a join token's shape but derive their keypair with
 *  another context, "homeostat api token v1": a join token is never an API
 *  token, nor the reverse. A user's token derives the CURVE keypair
 *  hs-apiserver connects to the bus with AS that user, so the token is the
 *  only secret, the gateway holds no user key, and hs-bus admits the
 *  connection by the key file below like any other.
 *
 *  Key file: DIR/token-<id>.key, a zcert public file with metadata
 *  identity (a user: admin:<user> or tap:<user>), role (hs_cred_role_of)
 *  and, when the token expires, expires (unix seconds). */

/* The API token's CURVE keypair, Z85 (41 bytes each). 0, -EINVAL for a
 * malformed token, -EIO when libsodium cannot start. */
int hs_token_api_keypair (const char *token, char *ret_public_z85, char *ret_secret_z85);

/* Whether identity may hold an API token: a user, admin:<user> or
 * tap:<user>. */
bool hs_token_api_identity_ok (const char *identity);

/* Writes dir/token-<id>.key for token, naming identity, expiring at
 * expires (unix seconds; 0: never). Atomic, mode 0644, replacing a file
 * there. 0, -EINVAL (token, identity, expires < 0), -errno. */
int hs_token_api_key_write (const char *dir, const char *token, const char *identity,
                            int64_t expires /* 0: never */);

/* Reads dir/token-<id>.key. 0, or -errno with one line in err (err_len
 * bytes, may be NULL): a bad id or a file naming no user identity
 * (-EINVAL), missing (-ENOENT). Does not judge expires (the caller has the
 * clock): ret->expires is 0 or the unix second it ends. */
int hs_token_api_key_read (const char *dir, const char *id, char *err, size_t err_len,
                           hs_cred_key_t *ret);

#endif
