/*  store_secret.h: Secrets at rest: the keyring file and sealed values
 *  (docs/architecture.md §4, "Secrets at rest").
 *
 *  hs-store keeps every Secret encrypted in LMDB, in its write-ahead log and
 *  in anything else it writes to disk, with libsodium's crypto_secretbox
 *  (XSalsa20-Poly1305) and a random 24-byte nonce per write.
 *
 *  The keyring is a text file, like Kubernetes' EncryptionConfiguration
 *  reduced to its keys: one key a line, `NAME BASE64` (32 bytes), '#'
 *  comments and blank lines allowed. The first key encrypts; every key
 *  decrypts. Names are 1-64 of [A-Za-z0-9._-].
 *
 *  A sealed value names the key that sealed it, so a keyring can hold the
 *  old key and the new one during a rotation:
 *      "\0hsenc:v1:" NAME ":" nonce(24) MAC(16) ciphertext
 *  The leading zero byte is never the first byte of a packed hs.Object
 *  (protobuf has no field 0), so a reader tells the two apart without
 *  knowing the kind (HS_DB_SEALED_PREFIX in hs_db.h).
 *  Nothing here knows LMDB: the unit tests drive it directly.
 */
#ifndef STORE_SECRET_H
#define STORE_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_SECRET_KEY_FILE  "encryption.key" /* default, in the data directory */
#define STORE_SECRET_MAX_NAME  64
#define STORE_SECRET_MAX_KEYS  64
#define STORE_SECRET_KEY_BYTES 32

typedef struct store_keyring_t store_keyring_t;

/* Reads the keyring at path. 0; -ENOENT when the file does not exist;
 * -EINVAL (a line that is not NAME BASE64-of-32-bytes, a repeated name, no
 * key at all) or another -errno. On failure *ret_error (caller frees) is
 * one line naming the file (and the line). */
int store_keyring_load (const char *path, store_keyring_t **ret_keys, char **ret_error);

/* Creates a keyring file at path holding one fresh random key, mode 0600
 * (written beside, fsynced, renamed: never half a key file), and returns it
 * loaded. -EEXIST if path exists. On failure *ret_error as above. */
int store_keyring_create (const char *path, store_keyring_t **ret_keys, char **ret_error);

/* Frees the keys (zeroed first). NULL-safe. */
void store_keyring_destroy (store_keyring_t **self_p);

/* The file it was read from; the name of the key that encrypts (the
 * first); how many keys. Borrowed. */
const char *store_keyring_path (const store_keyring_t *self);
const char *store_keyring_primary (const store_keyring_t *self);
size_t store_keyring_count (const store_keyring_t *self);

/* Whether v is a sealed value (starts with the sealed prefix). */
bool store_secret_is_sealed (const void *v, size_t len);

/* The bytes store_secret_seal writes for len plaintext bytes. */
size_t store_secret_sealed_size (const store_keyring_t *self, size_t len);

/* Seals plain (len bytes) with the primary key and a fresh random nonce
 * into out, which has store_secret_sealed_size (self, len) bytes. */
void store_secret_seal (const store_keyring_t *self, const void *plain, size_t len, uint8_t *out);

/* The name of the key a sealed value names: 0 with *ret_name (borrowed
 * from sealed, not terminated) and *ret_len, or -EBADMSG if sealed is not
 * a well-formed sealed value. */
int store_secret_key_name (const void *sealed, size_t len, const char **ret_name, size_t *ret_len);

/* Opens a sealed value: 0 with *ret_plain (caller frees; zero it first with
 * store_secret_free_plain) and *ret_len; -ENOKEY when the keyring has no
 * key of the name it was sealed with; -EBADMSG when it is malformed or
 * fails authentication (a wrong key under the right name, or tampering). */
int store_secret_open (const store_keyring_t *self, const void *sealed, size_t len,
                       uint8_t **ret_plain, size_t *ret_len);

/* Zeroes and frees plaintext from store_secret_open. NULL-safe. */
void store_secret_free_plain (uint8_t *plain, size_t len);

/* Whether sealed was sealed with the primary key (a rewrite skips it). */
bool store_secret_is_primary (const store_keyring_t *self, const void *sealed, size_t len);

#endif
