/*  agent_join.c: a node joins with a join token (agent_join.h).
 */
#include "agent_join.h"
#include "hs_bus.h"
#include "hs_cred.h"
#include "hs_log.h"
#include "hs_obj.h"
#include "hs_pb.h"
#include "hs_token.h"
#include "hs_util.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* hs-store's annotation (services/store/store_join.h). */
#define JOIN_KEY_ANNOTATION "homeostat.io/bus-public-key"
/* After the store recorded our key, hs-bus reloads its key directory on
 * inotify: a refusal of our key this soon after is that reload, not yet
 * done, rather than a revocation. */
#define RELOAD_GRACE_NS (10 * 1000000000LL)

struct agent_join_t {
    char *node, *state_dir, *token, *broker_key;
    char id[HS_TOKEN_ID_LEN + 1];
    char *cred, *boot_cred; /* STATE/node.cred, STATE/bootstrap.cred */
    char public_key[HS_CRED_Z85_LEN + 1];
    int64_t registered_ns; /* when the store took our key, 0: not in this run */
    bool fresh;            /* the key was made in this run: the bus cannot know it yet */
};

char *agent_join_cred_path (const char *state_dir)
{
    return hs_sprintf ("%s/node.cred", state_dir);
}

agent_join_t *agent_join_new (const char *node, const char *state_dir, const char *token,
                              const char *broker_key)
{
    agent_join_t *self = hs_calloc (1, sizeof *self);
    self->node = hs_strdup (node);
    self->state_dir = hs_strdup (state_dir);
    self->token = hs_strdup (token);
    self->broker_key = hs_strdup (broker_key);
    hs_token_valid (token, self->id);
    self->cred = agent_join_cred_path (state_dir);
    self->boot_cred = hs_sprintf ("%s/bootstrap.cred", state_dir);
    return self;
}

void agent_join_destroy (agent_join_t **self_p)
{
    agent_join_t *self = *self_p;
    if (!self) return;
    unlink (self->boot_cred);
    free (self->node);
    free (self->state_dir);
    if (self->token) explicit_bzero (self->token, strlen (self->token));
    free (self->token);
    free (self->broker_key);
    free (self->cred);
    free (self->boot_cred);
    free (self);
    *self_p = NULL;
}

/* Our keypair: the saved credential, or a new one saved now. */
static int s_own_key (agent_join_t *self)
{
    if (self->public_key[0]) return 0;
    _cleanup_free_ char *identity = hs_sprintf ("node:%s", self->node);
    hs_cred_t *c = NULL;
    char err[1024];
    int r = hs_cred_load (self->cred, err, sizeof err, &c);
    if (r == 0) {
        bool same_id = hs_streq (c->identity, identity);
        bool ours = same_id && hs_streq (c->broker_key, self->broker_key);
        if (ours) memcpy (self->public_key, c->public_key, sizeof self->public_key);
        explicit_bzero (c->secret_key, sizeof c->secret_key);
        free (c);
        if (ours) return 0;
        log_error ("cannot join: %s holds the credential of %s; remove it to join this cluster "
                   "as node %s",
                   self->cred,
                   same_id ? "another cluster's bus (another --broker-key)" : "another node",
                   self->node);
        return -EEXIST;
    }
    if (r != -ENOENT) {
        log_error ("cannot join: %s", err);
        return r;
    }
    r = hs_cred_create (self->cred, identity, self->broker_key, self->public_key);
    if (r < 0) {
        log_error ("cannot join: cannot save the node's credential %s: %s", self->cred,
                   strerror (-r));
        self->public_key[0] = '\0';
        return r;
    }
    log_info ("made node %s's key %.8s..., saved in %s", self->node, self->public_key, self->cred);
    self->fresh = true;
    return 0;
}

/* As bootstrap:<id>: asks the store to record our key as the node's.
 * 0 recorded; -EAGAIN try again; other: refused (logged). */
static int s_register (agent_join_t *self, const char *bus, int join_ms)
{
    int r = hs_token_cred_write (self->boot_cred, self->token, self->broker_key);
    if (r < 0) {
        log_error ("cannot join: cannot write %s: %s", self->boot_cred, strerror (-r));
        return r;
    }
    hs_bus_use_credential (self->boot_cred);
    hs_client_t *client = NULL;
    _cleanup_free_ char *instance = hs_sprintf ("join-%s", self->id);
    r = hs_client_new (bus, "hs-agent", instance, join_ms, &client);
    unlink (self->boot_cred);
    if (r == -ETIMEDOUT) return -EAGAIN;
    if (r == -EKEYREJECTED) {
        log_error ("cannot join: the bus refused join token %s (unknown, expired, used or "
                   "deleted); make a new one with `hsctl token create --node %s`",
                   self->id, self->node);
        return r;
    }
    if (r < 0) {
        log_error ("cannot join: cannot connect as bootstrap:%s: %s", self->id, strerror (-r));
        return r;
    }
    Hs__Object *o = hs_obj_new (HS_KIND_NODE, "", self->node);
    Hs__ObjectMeta *meta = hs_obj_meta (o);
    hs_pb_map_set ((void ***)&meta->annotations, &meta->n_annotations,
                   &hs__object_meta__annotations_entry__descriptor, JOIN_KEY_ANNOTATION,
                   self->public_key);
    Hs__Write *w = hs_write_new (HS__OP__OP_APPLY, o);
    Hs__Ack *ack = NULL;
    hs_call_opts_t opts = {.timeout_ms = 5000};
    r = hs_client_call (client, &w, 1, &opts, &ack);
    hs_pb_free (w);
    hs_client_destroy (&client);
    if (r < 0) {
        /* The store may have taken the key and its answer been lost (hs-bus
         * cuts the subscribers of a key it drops: the used token's): the
         * next try starts with our own key. */
        log_warn ("joining: no answer from the store to the key registration: %s; trying again",
                  strerror (-r));
        self->fresh = false;
        return -EAGAIN;
    }
    if (ack->code != HS__CODE__CODE_OK) {
        log_error ("cannot join: the store refused the key registration: %s: %s",
                   hs_code_reason (ack->code), hs_s (ack->message));
        hs_pb_free (ack);
        return -EACCES;
    }
    log_info ("joined with token %s: %s", self->id, hs_s (ack->message));
    hs_pb_free (ack);
    self->registered_ns = hs_mono_ns ();
    return 0;
}

int agent_join_connect (agent_join_t *self, const char *bus, const char *instance, int join_ms,
                        hs_client_t **ret_client)
{
    int r = s_own_key (self);
    if (r < 0) return r;
    for (int attempt = 0; attempt < 2; attempt++) {
        /* A key made in this run is registered before it is tried (the
         * bus would only refuse it, loudly). */
        if (self->fresh && !self->registered_ns) {
            log_info ("registering node %s's new key with join token %s", self->node, self->id);
            r = s_register (self, bus, join_ms);
            if (r < 0) return r;
        }
        hs_bus_use_credential (self->cred);
        r = hs_client_new (bus, "hs-agent", instance, join_ms, ret_client);
        if (r == 0) {
            if (attempt > 0 || self->registered_ns)
                log_info ("on the bus as node:%s with the node's own key; the join token is no "
                          "longer needed",
                          self->node);
            return 0;
        }
        if (r == -ETIMEDOUT) return -EAGAIN;
        if (r != -EKEYREJECTED) {
            log_error ("cannot join the bus: %s", strerror (-r));
            return r;
        }
        if (self->registered_ns) {
            if (hs_mono_ns () - self->registered_ns < RELOAD_GRACE_NS) return -EAGAIN;
            log_error ("cannot join: the bus still refuses node %s's key %.8s..., which the store "
                       "recorded: was it revoked? (hsctl keys list)",
                       self->node, self->public_key);
            return r;
        }
        log_info ("the bus does not know node %s's key yet: registering it with join token %s",
                  self->node, self->id);
        r = s_register (self, bus, join_ms);
        if (r < 0) return r;
    }
    return -EAGAIN;
}
