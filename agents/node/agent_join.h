/*  agent_join.h: `hs-agent --join TOKEN --broker-key Z85`: a new node
 *  joins a secured cluster with a join token, as `kubeadm join` does.
 *
 *  1. The agent makes its own keypair once, saved as its credential
 *     STATE/node.cred (identity node:<node>, the broker's key pinned, mode
 *     0600), before anything is sent: a restart reuses it.
 *  2. It connects with that key. Admitted: done (a restart, or a join
 *     finished earlier); the token is not used again.
 *  3. Refused: it connects as bootstrap:<token-id> with the keypair the
 *     token derives (bus/hs_token.h), and sends the one command such an
 *     identity may send, the registration of its public key as node
 *     <node>'s (services/store/store_join.c). The store records the key in
 *     the broker's key directory; hs-bus admits it at once.
 *  4. It reconnects with its own key; from then on the agent needs no token.
 *
 *  A token the bus refuses (wrong, expired, used, deleted) or a refusal
 *  from the store ends the agent with one line saying so. No bus yet: the
 *  agent tries again a second later, its static pods running meanwhile.
 */
#ifndef AGENT_JOIN_H
#define AGENT_JOIN_H

#include "hs_client.h"

typedef struct agent_join_t agent_join_t;

/* The credential an agent keeps in its state directory. Caller frees. */
char *agent_join_cred_path (const char *state_dir);

/* A joiner for node with token (hs_token_valid) and the broker's public
 * key (Z85); state_dir must exist when agent_join_connect runs. */
agent_join_t *agent_join_new (const char *node, const char *state_dir, const char *token,
                              const char *broker_key);
void agent_join_destroy (agent_join_t **self_p);

/* One try: connects as this node with a key the bus admits, registering
 * the key with the token first if the bus does not know it yet. 0 with
 * *ret_client; -EAGAIN: not now (no bus, or the store did not answer), try
 * again; any other negative errno: the join failed, said in one logged
 * line, and the agent should stop. */
int agent_join_connect (agent_join_t *self, const char *bus, const char *instance, int join_ms,
                        hs_client_t **ret_client);

#endif
