/*  api_auth.h: who is asking, and the bus connection that acts as them
 *  (docs/architecture.md §24, "The server, authentication and identities").
 *
 *  Bearer tokens: `Authorization: Bearer <id>.<secret>` (hs_token's shape).
 *  The key file DIR/token-<id>.key names the identity, its role and when it
 *  expires; the token itself derives a CURVE keypair
 *  (hs_token_api_keypair) whose public key must be the file's. The gateway
 *  then connects to the bus with that keypair: the bus admits it by the key
 *  file like any other client, and the store judges each write by that
 *  identity. The gateway never holds a user's secret beyond the token the
 *  user sends.
 *
 *  Client certificates (verified by api_http.c against --client-ca): CN is
 *  the identity; its keypair is DIR/<identity, ':' as '-'>.cred under
 *  --user-creds, so for those users the gateway does hold their secrets.
 *  The public key file keys/apiuser-<identity, ':' as '-'>.key (written
 *  with it by hsctl, removed by `hsctl keys revoke`) must exist, hold the
 *  same public key and not have expired: a revoked certificate user is
 *  locked out here, not only at the bus (reads come from our own cache).
 *
 *  Connections are pooled by token id (or "cert:<identity>"): reused while
 *  the key file is unchanged (re-examined at most every API_AUTH_RECHECK_NS,
 *  so a removed or rewritten key file locks the token out within that),
 *  closed after API_AUTH_IDLE_NS unused, at most API_AUTH_MAX_CONNS. A
 *  connection in use by a request stays until the request ends.
 */
#ifndef HS_API_AUTH_H
#define HS_API_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hs_client.h"
#include "hs_cred.h"
#include "hs_loop.h"

#define API_AUTH_RECHECK_NS (2LL * 1000000000LL)
#define API_AUTH_IDLE_NS    (300LL * 1000000000LL)
#define API_AUTH_MAX_CONNS  256
#define API_AUTH_JOIN_MS    3000
/* Per user: requests at once (streams are requests; more: 429), and
 * unsent stream bytes (past it, the user's stream being written is cut). */
#define API_USER_MAX_REQS   1024
#define API_USER_MAX_QUEUED ((size_t)256 << 20)

typedef struct api_auth api_auth_t;
typedef struct api_user api_user_t;

typedef struct {
    const char *bus;        /* the bus address (NULL: $HS_BUS or the default) */
    const char *keys_dir;   /* where token-<id>.key files are (NULL: no tokens) */
    const char *creds_dir;  /* --user-creds (NULL: no client-certificate users) */
    const char *broker_key; /* the broker's public key (Z85); NULL: the bus is insecure */
} api_auth_opts_t;

/* A pool on loop. Copies opts. Never NULL. */
api_auth_t *api_auth_new (hs_loop_t *loop, const api_auth_opts_t *opts);
/* Closes every connection; users still held must have been released. */
void api_auth_destroy (api_auth_t **self_p);

/* The user of a bearer token: 0 with *ret (a reference: api_user_release
 * it), or -EACCES (unknown, malformed, wrong secret, expired, revoked, or
 * the bus refused the key: 401), -EBUSY (the pool is full of connections
 * in use: 429), -EIO (the bus cannot be reached: 503), each with one line
 * in err for the Status message or the log. */
int api_auth_token (api_auth_t *self, const char *token, api_user_t **ret, char *err,
                    size_t err_len);
/* The user of a verified client certificate whose CN is identity; its
 * credential from creds_dir. Errors as api_auth_token. */
int api_auth_cert (api_auth_t *self, const char *identity, api_user_t **ret, char *err,
                   size_t err_len);
void api_user_release (api_user_t **user_p);

/* "admin:alice". Borrowed while the reference is held. */
const char *api_user_identity (const api_user_t *u);
/* "admin", "tap". */
const char *api_user_role (const api_user_t *u);
/* Whether the role may write at all (the bus drops a tap's commands: the
 * gateway answers 403 instead of letting them time out). */
bool api_user_may_write (const api_user_t *u);
hs_client_t *api_user_client (api_user_t *u);

/* A new connection joins the bus without blocking the loop: until the
 * bus has echoed it (at most API_AUTH_JOIN_MS), the user is joining.
 * Requests that act on the bus wait (api_user_wait): fn(arg, 0, NULL) once
 * joined, fn(arg, -EACCES, err) when the bus refused the key (401),
 * fn(arg, -EIO, err) when it did not answer in time (503); a failed
 * connection leaves the pool. fn runs once, from the loop; a waiter that
 * goes away first calls api_user_unwait (arg). Reads served from the
 * gateway's cache need not wait. */
bool api_user_joining (const api_user_t *u);
void api_user_wait (api_user_t *u, void (*fn) (void *arg, int result, const char *err), void *arg);
void api_user_unwait (api_user_t *u, void *arg);

/* What one user holds now, kept by api_http.c (per-user caps). */
typedef struct {
    size_t reqs;   /* live requests (streams included) */
    size_t queued; /* unsent stream bytes */
} api_user_counts_t;
api_user_counts_t *api_user_counts (api_user_t *u);

/* fn(arg, u) runs when u leaves the pool while requests still hold it: its
 * key file changed or went, it expired. The requests holding u are to end
 * at once (a revoked user keeps no stream). At most one hook per pool. The
 * pool re-checks the key files of users in use every API_AUTH_RECHECK_NS
 * even without new requests. */
void api_auth_on_unlink (api_auth_t *self, void (*fn) (void *arg, api_user_t *u), void *arg);
/* fn(arg, c) runs just before a user's bus connection c is freed, so that
 * whoever kept the raw hs_client_t* (api_sub.c's log subscriptions, with
 * their timers) forgets it. Process-wide, at most 4 hooks; a second call
 * with the same fn and arg is a no-op. */
void api_auth_on_client_free (void (*fn) (void *arg, hs_client_t *c), void *arg);

/* Connections open now. */
size_t api_auth_size (const api_auth_t *self);

#endif
