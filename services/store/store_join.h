/*  store_join.h: joining a node with a join token: the one command a
 *  bootstrap:<token-id> identity may send (bus/hs_token.h, hsctl token).
 *
 *  The agent that holds the token connects as bootstrap:<id> and sends on
 *  cmd.node one Command with one write: OP_APPLY (or OP_CREATE) of the
 *  Node the token names, carrying its own new public key in the annotation
 *  homeostat.io/bus-public-key. The store checks, against the token's key
 *  file in the broker's key directory ($HS_PKI/keys, the PKI directory the
 *  store and hs-bus share on the control-plane host): the token is known
 *  and not expired; the command is exactly that write, for that node; the
 *  node has no key yet (or this one: a retry); the token never registered
 *  a key before (keys/bootstrap-<id>.spent, hs_token_spend: not even one
 *  revoked since); the key is in no key file (another identity's key would
 *  make hs-bus take that identity's connections for node:<name>). Then it
 *  marks the token spent and records the key as the node's,
 *  keys/node-<name>.key (identity node:<name>), which hs-bus admits at
 *  once (inotify). The token is spent: its node has a key now, which no
 *  token may replace. The store leaves the token's file until it expires,
 *  `hsctl token delete` or `hsctl keys revoke node-<name>` (which deletes
 *  the node's tokens): removing a key makes hs-bus cut every subscriber (so
 *  that a revoked one reconnects and is refused), which would cut this very
 *  answer, and every other component's stream, at each join. The agent
 *  then reconnects with its own key and
 *  registers its Node as node:<name>, like any agent.
 *
 *  Anything else from a bootstrap identity is refused Forbidden, with
 *  kubectl's wording, and nothing of it reaches the store's batch: the
 *  Node object is written by the agent itself, as node:<name>, under the
 *  store's authorizer (store_authz.c).
 */
#ifndef STORE_JOIN_H
#define STORE_JOIN_H

#include "hs_bus.h"
#include "store.h"

#include <stdbool.h>
#include <stdint.h>

/* The annotation that carries the agent's public key (Z85). */
#define STORE_JOIN_KEY_ANNOTATION "homeostat.io/bus-public-key"

/* The decision, without a bus: identity is the stamp ("bootstrap:<id>"),
 * keys_dir the broker's key directory, now unix seconds. Writes
 * keys/node-<name>.key when it accepts (not for a dry run). Returns the Ack
 * code; *ret_msg (caller frees) is the message for the user, set for
 * refusals and for success. */
Hs__Code store_join_decide (const char *keys_dir, const char *identity, const Hs__Command *cmd,
                            int64_t now, char **ret_msg);

/* The call site in hs-store's receive loop: if the message just received
 * on bus (topic, env) carries a bootstrap:* stamp, answers it (Ack on
 * ack.<client_id>/; a client id other than join-<token id> is dropped
 * unanswered: store_authz_client_ok) or drops it (not a command), frees topic and env, and
 * returns true. Otherwise returns false and the batch takes the message.
 * The key directory is $HS_PKI/keys (default /etc/homeostat/pki/keys). */
bool store_join_take (hs_bus_t *bus, char *topic, Hs__Envelope *env);

#endif
