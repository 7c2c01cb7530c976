/*  store_join.c: a join token's one command, the registration of its
 *  node's key (store_join.h).
 */
#include "store_join.h"
#include "store_authz.h"
#include "hs_cred.h"
#include "hs_log.h"
#include "hs_obj.h"
#include "hs_pb.h"
#include "hs_token.h"
#include "hs_topic.h"
#include "hs_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static Hs__Code s_forbidden (char **ret_msg, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
static Hs__Code s_forbidden (char **ret_msg, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    char *msg = NULL;
    if (vasprintf (&msg, fmt, ap) < 0) msg = NULL;
    va_end (ap);
    *ret_msg = msg ? msg : hs_strdup ("forbidden");
    return HS__CODE__CODE_FORBIDDEN;
}

/* The Node a write registers: an apply or create of a Node. */
static const Hs__Node *s_node_of (const Hs__Write *w)
{
    if (w->op != HS__OP__OP_APPLY && w->op != HS__OP__OP_CREATE) return NULL;
    if (!w->object || hs_obj_kind (w->object) != HS_KIND_NODE) return NULL;
    return (const Hs__Node *)hs_obj_body (w->object);
}

/* Whether public key z85 is in any key file of keys_dir: 1 (the file's
 * name to owner), 0, or -errno when the directory cannot be read. */
static int s_key_owner (const char *keys_dir, const char *z85, char *owner, size_t owner_len)
{
    hs_cred_key_t *keys = NULL;
    size_t n = 0;
    int r = hs_cred_key_list (keys_dir, NULL, NULL, &keys, &n);
    if (r < 0) return r;
    for (size_t i = 0; i < n && r == 0; i++)
        if (hs_streq (keys[i].public_key, z85)) {
            snprintf (owner, owner_len, "%s", keys[i].name);
            r = 1;
        }
    free (keys);
    return r;
}

Hs__Code store_join_decide (const char *keys_dir, const char *identity, const Hs__Command *cmd,
                            int64_t now, char **ret_msg)
{
    const char *id = hs_startswith (identity, "bootstrap:") ? identity + 10 : NULL;
    /* A resend whose first answer was lost, even after the token was
     * deleted: the key is already the node's; saying so grants nothing. */
    const Hs__Node *asked = cmd->n_writes == 1 ? s_node_of (cmd->writes[0]) : NULL;
    if (asked && asked->metadata && hs_cred_role_of (identity) && id) {
        const char *k = hs_pb_map_get ((void *const *)asked->metadata->annotations,
                                       asked->metadata->n_annotations, STORE_JOIN_KEY_ANNOTATION);
        _cleanup_free_ char *p =
            hs_sprintf ("%s/node-%s.key", keys_dir, hs_s (asked->metadata->name));
        hs_cred_key_t had;
        if (hs_cred_key_ok (k) && !hs_empty (asked->metadata->name) &&
            !strchr (asked->metadata->name, '/') && hs_cred_key_read (p, NULL, 0, &had) == 0 &&
            hs_streq (had.public_key, k)) {
            *ret_msg = hs_sprintf ("node %s: key already registered", asked->metadata->name);
            return HS__CODE__CODE_OK;
        }
    }
    char err[512] = "";
    hs_token_key_t tk;
    if (!id || hs_token_key_read (keys_dir, id, err, sizeof err, &tk) < 0)
        return s_forbidden (ret_msg,
                            "User \"%s\" cannot register node keys: the join token is not known "
                            "to the store (deleted, used, or the store and hs-bus do not share "
                            "the PKI directory %s)",
                            identity, keys_dir);
    if (tk.expires <= now) {
        char when[32];
        time_t t = (time_t)tk.expires;
        struct tm tm;
        gmtime_r (&t, &tm);
        strftime (when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        return s_forbidden (ret_msg,
                            "User \"%s\" cannot register node keys: the join token %s "
                            "expired at %s; make another with hsctl token create --node %s",
                            identity, tk.id, when, tk.node);
    }
    const Hs__Node *node = cmd->n_writes == 1 ? s_node_of (cmd->writes[0]) : NULL;
    const char *name = node && node->metadata ? node->metadata->name : NULL;
    if (!node || !hs_streq (name, tk.node))
        return s_forbidden (ret_msg,
                            "nodes \"%s\" is forbidden: User \"%s\" may only register the key of "
                            "node \"%s\"",
                            name ? name : "", identity, tk.node);
    const char *key = hs_pb_map_get ((void *const *)node->metadata->annotations,
                                     node->metadata->n_annotations, STORE_JOIN_KEY_ANNOTATION);
    if (!hs_cred_key_ok (key)) {
        *ret_msg = hs_sprintf ("Node \"%s\" is invalid: metadata.annotations[%s]: Invalid value: "
                               "must be a 40-character Z85 CURVE public key",
                               tk.node, STORE_JOIN_KEY_ANNOTATION);
        return HS__CODE__CODE_INVALID;
    }
    _cleanup_free_ char *file = hs_sprintf ("node-%s", tk.node);
    _cleanup_free_ char *path = hs_sprintf ("%s/%s.key", keys_dir, file);
    hs_cred_key_t had;
    if (hs_cred_key_read (path, NULL, 0, &had) == 0) {
        if (!hs_streq (had.public_key, key))
            return s_forbidden (ret_msg,
                                "nodes \"%s\" is forbidden: node %s already has a key; revoke it "
                                "first (hsctl keys revoke %s)",
                                tk.node, tk.node, file);
        *ret_msg = hs_sprintf ("node %s: key already registered", tk.node);
        return HS__CODE__CODE_OK; /* a retry whose first answer was lost */
    }
    /* A token registers one key, ever: not another after that one is
     * revoked (hsctl keys revoke), which would let whoever holds the token
     * come back with a fresh key. */
    if (hs_token_spent (keys_dir, tk.id))
        return s_forbidden (ret_msg,
                            "User \"%s\" cannot register node keys: the join token %s was used "
                            "already (node %s's key); make another with hsctl token create "
                            "--node %s",
                            identity, tk.id, tk.node, tk.node);
    /* Another identity's public key (key files are world-readable): hs-bus
     * would map that identity's connections to node:<name>. */
    char owner[HS_CRED_MAX_NAME + 1] = "";
    int r = s_key_owner (keys_dir, key, owner, sizeof owner);
    if (r < 0) {
        *ret_msg = hs_sprintf ("cannot read the key directory %s: %s", keys_dir, strerror (-r));
        return HS__CODE__CODE_UNAVAILABLE;
    }
    if (r > 0)
        return s_forbidden (ret_msg,
                            "nodes \"%s\" is forbidden: User \"%s\" cannot register the public "
                            "key %.8s...: it is already the key of %s.key; a node needs a key "
                            "of its own",
                            tk.node, identity, key, owner);
    if (cmd->dry_run) {
        *ret_msg = hs_sprintf ("node %s: key would be registered (dry run)", tk.node);
        return HS__CODE__CODE_OK;
    }
    r = hs_token_spend (keys_dir, tk.id, tk.node);
    if (r == -EEXIST)
        return s_forbidden (ret_msg,
                            "User \"%s\" cannot register node keys: the join token %s was used "
                            "already",
                            identity, tk.id);
    if (r < 0) {
        *ret_msg = hs_sprintf ("cannot record join token %s as used in %s: %s", tk.id, keys_dir,
                               strerror (-r));
        return HS__CODE__CODE_UNAVAILABLE;
    }
    _cleanup_free_ char *node_id = hs_sprintf ("node:%s", tk.node);
    r = hs_cred_key_write (keys_dir, file, key, node_id, 0);
    if (r < 0) {
        _cleanup_free_ char *spent = hs_sprintf ("%s/bootstrap-%s.spent", keys_dir, tk.id);
        unlink (spent); /* nothing registered: the token may try again */
        *ret_msg =
            hs_sprintf ("cannot record node %s's key in %s: %s", tk.node, keys_dir, strerror (-r));
        return HS__CODE__CODE_UNAVAILABLE;
    }
    *ret_msg =
        hs_sprintf ("node %s: key %.8s... registered with join token %s", tk.node, key, tk.id);
    return HS__CODE__CODE_OK;
}

static bool s_client_ok (const char *who, const char *client_id)
{
    store_authz_id_t id;
    store_authz_id_parse (who, &id);
    return store_authz_client_ok (&id, client_id);
}

static void s_ack (hs_bus_t *bus, const Hs__Command *cmd, Hs__Code code, const char *msg)
{
    if (!hs_topic_id_ok (cmd->client_id)) return;
    Hs__Ack ack = HS__ACK__INIT;
    ack.request_id = cmd->request_id;
    ack.code = code;
    ack.message = (char *)msg;
    Hs__Envelope env = HS__ENVELOPE__INIT;
    env.body_case = HS__ENVELOPE__BODY_ACK;
    env.ack = &ack;
    _cleanup_free_ char *topic = hs_topic_to ("ack", cmd->client_id);
    int r = hs_bus_publish (bus, topic, &env);
    if (r < 0) log_warn ("cannot answer the join on %s: %s", topic, strerror (-r));
}

bool store_join_take (hs_bus_t *bus, char *topic, Hs__Envelope *env)
{
    const char *who = hs_bus_peer_identity (bus);
    if (!who || !hs_startswith (who, "bootstrap:")) return false;
    if (env->body_case != HS__ENVELOPE__BODY_COMMAND) {
        char key[400];
        snprintf (key, sizeof key, "store:join:body:%.300s", who);
        hs_log_once (HS_LOG_WARN, key,
                     "dropped a message on %s from %s: a join token may only register its "
                     "node's key (further ones not logged)",
                     topic, who);
    } else if (!s_client_ok (who, env->command->client_id)) {
        /* Not answered: the answer would go to another client's topic. */
        char key[400];
        snprintf (key, sizeof key, "store:join:client:%.300s", who);
        hs_log_once (HS_LOG_WARN, key,
                     "dropped a command of %s naming client \"%.100s\": a join token uses the "
                     "client id join-<token id> (further ones not logged)",
                     who, hs_s (env->command->client_id));
    } else {
        const char *pki = getenv ("HS_PKI");
        _cleanup_free_ char *keys_dir =
            hs_sprintf ("%s/keys", hs_empty (pki) ? "/etc/homeostat/pki" : pki);
        char *msg = NULL;
        Hs__Code code = store_join_decide (keys_dir, who, env->command, (int64_t)time (NULL), &msg);
        if (code == HS__CODE__CODE_OK)
            log_info ("%s (%s)", msg, who);
        else {
            char key[400];
            snprintf (key, sizeof key, "store:join:%d:%.300s", (int)code, who);
            hs_log_once (HS_LOG_WARN, key, "refused %s: %s", who, msg);
        }
        s_ack (bus, env->command, code, msg);
        free (msg);
    }
    hs_pb_free (env);
    free (topic);
    return true;
}
