/*  hs_broker_policy.h: what hs-bus lets each identity publish (notes/security.md
 *  §2.2-2.3), and the key table it authenticates and authorizes against.
 *
 *  Pure: no sockets, so tests/unit/test_broker_policy.c drives it with tables.
 *
 *  The key table maps a client's public key (Z85, as hs-bus's ZAP handler
 *  puts it in the connection's User-Id) to its identity and role, from the
 *  key directory's files (hs_cred_key_list). hs-bus looks every message's
 *  key up in the *current* table, so removing a key file and reloading
 *  stops that client's next message, on a connection made before.
 *
 *  Publishing, by role (a prefix unless marked exact; N is the node of
 *  node:N, X the name of sa:X):
 *    store       ev.  ack.  snap.  echo.  hb.store (exact)
 *    node        cmd.  logs.  probres.  execout.  echo.
 *                hb.agent.N and hb.proxy.N (exact: its own node's only)
 *    scheduler, controller, endpoints, dns
 *                cmd.  echo.  hb.X.
 *    prober      cmd.  probe.  echo.  hb.prober.
 *    admin       cmd.  logreq.  exec.  echo.
 *    tap         cmd.snapshot (exact)  echo.
 *    apiserver   cmd.snapshot (exact)  echo.  hb.apiserver.
 *    metrics     cmd.snapshot (exact)  echo.  hb.metrics.
 *    bootstrap   cmd.  echo.  (the store limits it to registering its key)
 *  tap, apiserver (hs-apiserver's own identity, sa:apiserver) and metrics
 *  (hs-metrics', sa:metrics) are
 *  read-only: they may ask for snapshots (the store answers what
 *  store_authz_list grants them) but send no other command.
 *  So only the store publishes events, acks, snapshots and hb.store; only
 *  the prober publishes probes; an agent speaks for its own node only.
 *  Reads are not limited (Phase 1: any authenticated identity may
 *  subscribe to anything, until libzmq 4.3.5's XPUB_MANUAL is safe).
 */
#ifndef HS_BROKER_POLICY_H
#define HS_BROKER_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hs_cred.h"

typedef enum {
    HS_ROLE_NONE = 0,
    HS_ROLE_STORE,
    HS_ROLE_NODE,
    HS_ROLE_SCHEDULER,
    HS_ROLE_CONTROLLER,
    HS_ROLE_PROBER,
    HS_ROLE_ENDPOINTS,
    HS_ROLE_DNS,
    HS_ROLE_ADMIN,
    HS_ROLE_TAP,
    HS_ROLE_BOOTSTRAP,
    HS_ROLE_APISERVER,
    HS_ROLE_METRICS,
} hs_role_t;

/* "node" -> HS_ROLE_NODE; HS_ROLE_NONE for anything else. */
hs_role_t hs_role_parse (const char *role);

/* One identity of the key table. */
typedef struct {
    char name[HS_CRED_MAX_NAME + 1]; /* its key file, without ".key" */
    char identity[HS_CRED_MAX_IDENTITY + 1];
    char public_key[HS_CRED_Z85_LEN + 1];
    hs_role_t role;
    int64_t expires; /* unix seconds, 0: never */
    /* node: "hb.agent.N", "hb.proxy.N"; sa:X: "hb.X." (own_hb2 empty) */
    char own_hb[HS_CRED_MAX_IDENTITY + 16], own_hb2[HS_CRED_MAX_IDENTITY + 16];
    /* node: "usage.N/", the only usage topic it may publish (else empty) */
    char own_usage[HS_CRED_MAX_IDENTITY + 16];
} hs_keytab_entry_t;

typedef struct hs_keytab_t hs_keytab_t;

/* A table of keys[0..n). A key that appears twice under one identity
 * keeps its first entry (sorted by file name); a key that appears under two
 * different identities is left out altogether (its connections are
 * refused: no identity is picked by file name), and on_conflict (may be
 * NULL) is called for each file that repeats it, with the first file's
 * name and identity. Every file left out is counted in *ret_dups (may be
 * NULL), as are keys whose role is not one of the above. */
typedef void (hs_keytab_conflict_fn) (const char *first_name, const char *first_identity,
                                      const hs_cred_key_t *again, void *arg);
hs_keytab_t *hs_keytab_new (const hs_cred_key_t *keys, size_t n, size_t *ret_dups,
                            hs_keytab_conflict_fn *on_conflict, void *arg);
void hs_keytab_destroy (hs_keytab_t **self_p);
size_t hs_keytab_size (const hs_keytab_t *self);
/* Entry i (0 <= i < hs_keytab_size), in the order of the keys given. */
const hs_keytab_entry_t *hs_keytab_entry (const hs_keytab_t *self, size_t i);

/* The entry of public key z85 (40 characters), or NULL. Borrowed: valid
 * until the table is destroyed. */
const hs_keytab_entry_t *hs_keytab_find (const hs_keytab_t *self, const char *z85);

/* Whether the entry's key has expired at unix time now_s. */
bool hs_keytab_expired (const hs_keytab_entry_t *e, int64_t now_s);

/* On a reload: how many keys of old (NULL: none) were valid at now_s and
 * are not in new_ or have expired there: the keys whose subscriptions
 * hs-bus must cut. A key that had already expired in old was cut when it
 * expired (or never admitted), so it does not count again. */
size_t hs_keytab_gone (const hs_keytab_t *old, const hs_keytab_t *new_, int64_t now_s);

/* The earliest expiry after now_s among the table's keys (unix seconds),
 * or 0 if none expires later: when hs-bus looks again. */
int64_t hs_keytab_next_expiry (const hs_keytab_t *self, int64_t now_s);

/* How many of the table's keys expire in (after_s, now_s]. */
size_t hs_keytab_expired_between (const hs_keytab_t *self, int64_t after_s, int64_t now_s);

/* Whether who may publish on topic (len bytes, not NUL-terminated). */
bool hs_policy_may_publish (const hs_keytab_entry_t *who, const char *topic, size_t len);

/* Whether topic (len bytes) starts with "cmd.members" (MemberChange on
 * cmd.members/): only an admin identity may publish it. */
bool hs_policy_is_members (const char *topic, size_t len);

/* Whether topic (len bytes) is a command: hs-bus stamps it. */
bool hs_policy_is_cmd (const char *topic, size_t len);

#endif
