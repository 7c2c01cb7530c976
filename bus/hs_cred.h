/*  hs_cred.h: bus credentials, key files and identities (notes/security.md §2).
 *
 *  Every file here is a czmq zcert file (ZPL text: a "metadata" section and a
 *  "curve" section holding Z85 keys), so `zcert` tools and pyzmq can read it.
 *
 *  A credential (what a client holds, mode 0600) is a zcert *secret* file:
 *  the client's keypair, with metadata
 *      identity    "node:demo2", "sa:scheduler", "admin:alice", ...
 *      role        hs_cred_role_of (identity)
 *      broker-key  the broker's public key (Z85, 40 characters), pinned
 *                  with ZMQ_CURVE_SERVERKEY.
 *  The broker's key directory holds zcert *public* files `<name>.key` with
 *  metadata identity, role and optionally expires (unix seconds: bootstrap
 *  tokens). The admin writes them; nothing in them comes from the client at
 *  connection time. The broker's own keypair is a zcert secret file.
 *
 *  PKI directory layout (hsctl init --pki DIR):
 *      DIR/broker.key_secret      hs-bus's keypair
 *      DIR/keys/<name>.key        the key directory (hs-bus --pki DIR reads it)
 *      DIR/creds/<name>.cred      client credentials
 *
 *  Identities and roles (docs/architecture.md, "Identities"):
 *      store, store/<replica>   store       sa:replicas, sa:jobs  controller
 *      node:<node>              node        sa:prober             prober
 *      sa:scheduler             scheduler   sa:endpoints          endpoints
 *      sa:dns                   dns         admin:<user>          admin
 *      tap:<user>               tap         bootstrap:<token-id>  bootstrap
 *      sa:apiserver             apiserver   (hs-apiserver's own: read-only)
 *      sa:autoscaler            controller  (hs-autoscaler)
 *
 *  Errors: functions return 0 or -errno; those that read a file also fill
 *  err (err_len bytes, may be NULL) with one line naming the file and what is
 *  wrong, ready to log.
 */
#ifndef HS_CRED_H
#define HS_CRED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HS_CRED_Z85_LEN      40  /* a Z85 CURVE key, without its NUL */
#define HS_CRED_MAX_IDENTITY 300 /* "node:" + a 253-byte node name, and room */
#define HS_CRED_MAX_NAME     200 /* a key file's name, without ".key" */

/* A loaded credential (hs_cred_load) or broker keypair (hs_cred_broker_load). */
typedef struct {
    char identity[HS_CRED_MAX_IDENTITY + 1]; /* "" for the broker's keypair */
    char role[32];
    char public_key[HS_CRED_Z85_LEN + 1];
    char secret_key[HS_CRED_Z85_LEN + 1];
    char broker_key[HS_CRED_Z85_LEN + 1]; /* "" for the broker's keypair */
} hs_cred_t;

/* One public key file of a key directory. */
typedef struct {
    char name[HS_CRED_MAX_NAME + 1]; /* file name without ".key" */
    char identity[HS_CRED_MAX_IDENTITY + 1];
    char role[32];
    char public_key[HS_CRED_Z85_LEN + 1];
    int64_t expires; /* unix seconds, 0: never */
} hs_cred_key_t;

/* The role of an identity ("node:x" -> "node", "sa:jobs" -> "controller"),
 * or NULL when the identity is not one of the forms above (empty name, a
 * name with characters outside [A-Za-z0-9._-], too long). Static string. */
const char *hs_cred_role_of (const char *identity);

/* For identities of the form "<kind>:<name>": the name ("node:demo" ->
 * "demo"), else NULL. Points into identity. */
const char *hs_cred_identity_name (const char *identity);

/* Whether s is a Z85 CURVE key: 40 characters of the Z85 alphabet. */
bool hs_cred_key_ok (const char *s);

/* Creates a new keypair for identity (its role derived with
 * hs_cred_role_of) with broker_key (Z85) pinned, and saves it at path as a
 * zcert secret file, mode 0600, replacing any file there (atomically). The
 * new public key goes to ret_public (HS_CRED_Z85_LEN + 1 bytes; may be
 * NULL), for hs_cred_key_write. 0, -EINVAL (identity or broker_key bad),
 * -errno. */
int hs_cred_create (const char *path, const char *identity, const char *broker_key,
                    char *ret_public);

/* Loads a credential. Refuses (and says why in err): a missing file
 * (-ENOENT), one readable or writable by group or others (-EPERM: "chmod
 * 600 FILE"), not a zcert secret file (-EINVAL), no or a bad identity,
 * role not matching the identity, no or a bad broker-key (-EINVAL).
 * On success *ret_cred is the caller's (free ()). */
int hs_cred_load (const char *path, char *err, size_t err_len, hs_cred_t **ret_cred);

/* Creates the broker's keypair at path (zcert secret file, mode 0600,
 * atomically replacing any file there); its public key to ret_public
 * (may be NULL). 0 or -errno. */
int hs_cred_broker_create (const char *path, char *ret_public);

/* Loads the broker's keypair (no identity or broker-key needed). The same
 * refusals as hs_cred_load for the file itself. *ret_cred is the caller's. */
int hs_cred_broker_load (const char *path, char *err, size_t err_len, hs_cred_t **ret_cred);

/* Writes dir/<name>.key: a zcert public file with metadata identity, role
 * (derived) and, when expires > 0, expires. Atomic (temp file, rename), mode
 * 0644. name: [A-Za-z0-9._-], at most HS_CRED_MAX_NAME bytes, not starting
 * with '.'. 0, -EINVAL, -errno. */
int hs_cred_key_write (const char *dir, const char *name, const char *public_key,
                       const char *identity, int64_t expires);

/* Removes dir/<name>.key. 0, -ENOENT, -EINVAL (name), -errno. */
int hs_cred_key_remove (const char *dir, const char *name);

/* Reads one public key file. The refusals of hs_cred_load that apply (no
 * mode check: public files are public). */
int hs_cred_key_read (const char *path, char *err, size_t err_len, hs_cred_key_t *ret_key);

/* Lists dir's *.key files (sorted by name). A file that cannot be read is
 * skipped and, when on_bad is given, reported to it with hs_cred_key_read's
 * line. *ret_keys is the caller's (free ()), NULL when *ret_n is 0.
 * 0, or -errno when dir cannot be read. */
typedef void (hs_cred_bad_fn) (const char *path, const char *why, void *arg);
int hs_cred_key_list (const char *dir, hs_cred_bad_fn *on_bad, void *arg, hs_cred_key_t **ret_keys,
                      size_t *ret_n);

/* Saves a czmq zcert (struct _zcert_t, czmq.h) at path, public or secret
 * (zcert_save_public / _secret), with mode, atomically: a temp file beside
 * it, chmod, rename. 0 or -errno. For hs_token.c and the functions above. */
struct _zcert_t;
int hs_cred_save_zcert (struct _zcert_t *cert, const char *path, bool secret, mode_t mode);

#endif
