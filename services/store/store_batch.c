/*  store_batch.c: one batch of hs-store's bus messages (store_batch.h):
 *  sorting what arrived, applying and refusing commands, answering snapshot
 *  requests. No sockets.
 */
#include "store_batch.h"
#include "store_authz.h"
#include "hs_bus.h"
#include "hs_log.h"
#include "hs_topic.h"
#include "hs_util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define CHUNK_OBJECTS 500
#define CHUNK_BYTES   (1u << 20)

struct store_batch_t {
    store_t *store;
    Hs__Envelope *envs[STORE_BATCH_MAX + STORE_SNAP_MAX];
    size_t n_envs;
    Hs__Command *cmds[STORE_BATCH_MAX];
    char *ids[STORE_BATCH_MAX];    /* cmds[i]'s stamp, or NULL (insecure) */
    int64_t recv[STORE_BATCH_MAX]; /* when cmds[i] was taken (hs_mono_ns) */
    size_t n_cmds;
    Hs__SnapshotRequest *snaps[STORE_SNAP_MAX];
    char *snap_ids[STORE_SNAP_MAX]; /* snaps[i]'s stamp, or NULL (insecure) */
    size_t n_snaps;
    /* commands answered without applying (store_refuse) */
    struct {
        Hs__Command *cmd;
        Hs__Code code;
        char *msg;
        int64_t recv;
    } refused[STORE_BATCH_MAX];
    size_t n_refused;
    store_batch_apply_fn apply; /* NULL: store_apply_as */
    void *apply_arg;
};

store_batch_t *store_batch_new (store_t *store)
{
    store_batch_t *self = hs_calloc (1, sizeof *self);
    self->store = store;
    return self;
}

void store_batch_destroy (store_batch_t **self_p)
{
    store_batch_t *self = *self_p;
    if (!self) return;
    store_batch_end (self);
    free (self);
    *self_p = NULL;
}

bool store_batch_full (const store_batch_t *self)
{
    return self->n_envs >= STORE_BATCH_MAX || self->n_snaps >= STORE_SNAP_MAX;
}

/* Forgets the commands taken, and their identities. */
static void s_ids_free (store_batch_t *self)
{
    for (size_t i = 0; i < self->n_cmds; i++) {
        free (self->ids[i]);
        self->ids[i] = NULL;
    }
    self->n_cmds = 0;
}

/* Queues a command to be answered code/msg (taken) without applying it. */
static void s_refuse (store_batch_t *self, Hs__Command *cmd, Hs__Code code, char *msg, int64_t recv)
{
    self->refused[self->n_refused].cmd = cmd;
    self->refused[self->n_refused].code = code;
    self->refused[self->n_refused].msg = msg;
    self->refused[self->n_refused].recv = recv;
    self->n_refused++;
}

void store_batch_take (store_batch_t *self, char *topic, Hs__Envelope *env, size_t size)
{
    store_batch_take_as (self, topic, env, size, NULL);
}

void store_batch_take_as (store_batch_t *self, char *topic, Hs__Envelope *env, size_t size,
                          const char *identity)
{
    bool ok = false;
    if (store_batch_full (self)) {
        /* The caller stops taking at full; one more is garbage, not an overflow. */
    } else if (env->body_case == HS__ENVELOPE__BODY_COMMAND && hs_startswith (topic, "cmd.")) {
        Hs__Command *cmd = env->command;
        char *msg = NULL;
        int64_t now = hs_mono_ns (); /* the start of its ack_duration_seconds */
        ok = true;
        if (size > HS_BUS_MAX_MSG)
            s_refuse (self, cmd, HS__CODE__CODE_INVALID,
                      hs_sprintf ("Command: Too long: the envelope is %zu bytes: must be at most "
                                  "%d bytes (HS_BUS_MAX_MSG, 4 MiB); split it",
                                  size, HS_BUS_MAX_MSG),
                      now);
        else if (hs_cmd_topic_check (topic, cmd->writes, cmd->n_writes, &msg) < 0)
            s_refuse (self, cmd, HS__CODE__CODE_FORBIDDEN, msg, now);
        else {
            self->ids[self->n_cmds] = identity ? hs_strdup (identity) : NULL;
            self->recv[self->n_cmds] = now;
            self->cmds[self->n_cmds++] = cmd;
        }
    } else if (env->body_case == HS__ENVELOPE__BODY_SNAPSHOT_REQUEST &&
               strcmp (topic, HS_TOPIC_SNAPSHOT) == 0 && size <= HS_BUS_MAX_MSG) {
        self->snap_ids[self->n_snaps] = identity ? hs_strdup (identity) : NULL;
        self->snaps[self->n_snaps++] = env->snapshot_request;
        ok = true;
    }
    if (!ok) {
        store_count_garbage (self->store);
        char key[300];
        snprintf (key, sizeof key, "store:body:%.200s", env->sender);
        hs_log_once (HS_LOG_WARN, key,
                     "refused a message on %s from %s: not a command, or a snapshot request "
                     "not on " HS_TOPIC_SNAPSHOT "; counted as garbage, further ones not logged",
                     topic, env->sender);
        hs_pb_free (env);
    } else {
        self->envs[self->n_envs++] = env;
    }
    free (topic);
}

size_t store_batch_n_commands (const store_batch_t *self)
{
    return self->n_cmds + self->n_refused;
}

bool store_batch_apply (store_batch_t *self, store_out_t *out)
{
    if (self->n_cmds == 0 && self->n_refused == 0) return false;
    if (self->n_cmds > 0) {
        int r = self->apply ? self->apply (self->apply_arg, self->cmds,
                                           (const char *const *)self->ids, self->n_cmds, out)
                            : store_apply_as (self->store, self->cmds,
                                              (const char *const *)self->ids, self->n_cmds, out);
        if (r < 0)
            log_error ("a batch of %zu commands did not commit: %s; answered Unavailable",
                       self->n_cmds, strerror (-r));
        for (size_t k = 0; k < out->n_acks; k++)
            if (out->acks[k].cmd < self->n_cmds)
                out->acks[k].received_ns = self->recv[out->acks[k].cmd];
    }
    for (size_t i = 0; i < self->n_refused; i++) {
        size_t before = out->n_acks;
        store_refuse (self->store, out, self->refused[i].cmd, self->refused[i].code,
                      self->refused[i].msg);
        if (out->n_acks > before) out->acks[before].received_ns = self->refused[i].recv;
        free (self->refused[i].msg);
    }
    self->n_refused = 0;
    s_ids_free (self);
    return true;
}

void store_batch_set_apply (store_batch_t *self, store_batch_apply_fn fn, void *arg)
{
    self->apply = fn;
    self->apply_arg = arg;
}

size_t store_batch_n_snapshots (const store_batch_t *self)
{
    return self->n_snaps;
}

const Hs__SnapshotRequest *store_batch_snapshot (const store_batch_t *self, size_t i)
{
    return i < self->n_snaps ? self->snaps[i] : NULL;
}

const char *store_batch_snapshot_identity (const store_batch_t *self, size_t i)
{
    return i < self->n_snaps ? self->snap_ids[i] : NULL;
}

void store_batch_end (store_batch_t *self)
{
    s_ids_free (self);
    for (size_t i = 0; i < self->n_snaps; i++) {
        free (self->snap_ids[i]);
        self->snap_ids[i] = NULL;
    }
    for (size_t i = 0; i < self->n_refused; i++) free (self->refused[i].msg);
    for (size_t i = 0; i < self->n_envs; i++) hs_pb_free (self->envs[i]);
    self->n_envs = self->n_cmds = self->n_snaps = self->n_refused = 0;
}

/* ------------------------------------------------------------------ snapshots */

int store_snapshot_answer (store_t *store, const Hs__SnapshotRequest *req, store_snap_answer_t *ret)
{
    return store_snapshot_answer_as (store, req, NULL, ret);
}

int store_snapshot_answer_as (store_t *store, const Hs__SnapshotRequest *req, const char *identity,
                              store_snap_answer_t *ret)
{
    if (hs_empty (req->client_id)) {
        store_count_garbage (store);
        hs_log_once (HS_LOG_WARN, "store:snap-no-client",
                     "refused a snapshot request without "
                     "client_id; counted as garbage, further ones not logged");
        return -EINVAL;
    }
    if (!hs_topic_id_ok (req->client_id)) {
        store_count_garbage (store);
        hs_log_once (HS_LOG_WARN, "store:snap-bad-client",
                     "refused a snapshot request whose client_id cannot name a topic; counted as "
                     "garbage, further ones not logged");
        return -EINVAL;
    }
    store_authz_id_t id;
    store_authz_id_parse (identity, &id);
    if (!store_authz_client_ok (&id, req->client_id)) {
        /* Not answered: the chunks would go to another client. */
        store_count_forbidden (store);
        hs_log_once (HS_LOG_WARN, "store:snap-client",
                     "dropped a snapshot request of \"%.*s\" naming client \"%.100s\": a node "
                     "uses its own name as client id (counted in hb.store's forbidden; further "
                     "ones not logged)",
                     STORE_AUTHZ_MAX_IDENTITY, id.identity, req->client_id);
        return -EPERM;
    }
    *ret = (store_snap_answer_t){.topic = hs_topic_to ("snap", req->client_id)};
    hs_kind_t kinds[HS_KIND__COUNT];
    size_t n_kinds = 0;
    char *msg = NULL;
    for (size_t i = 0; i < req->n_kinds && !msg; i++) {
        hs_kind_t k = hs_kind_parse (req->kinds[i]);
        if (k == HS_KIND_NONE)
            msg = hs_sprintf ("the server doesn't have a resource type \"%.100s\"", req->kinds[i]);
        else if (n_kinds < HS_ARRAY_LEN (kinds))
            kinds[n_kinds++] = k;
    }
    store_authz_list_t list;
    int r = msg ? -EINVAL : store_authz_list (&id, kinds, n_kinds, req->pod_node, &list, &msg);
    if (r == -EPERM) {
        store_count_forbidden (store);
        char key[STORE_AUTHZ_MAX_IDENTITY + 64];
        snprintf (key, sizeof key, "store:forbidden-list:%.*s", STORE_AUTHZ_MAX_IDENTITY,
                  hs_s (identity));
        hs_log_once (HS_LOG_WARN, key,
                     "refused a snapshot (Forbidden): %s (further refusals of this identity's "
                     "snapshots are counted in hb.store's forbidden, not logged)",
                     msg);
    }
    if (r == 0) {
        r = hs_db_snapshot (store_db (store), list.kinds, list.n_kinds, list.pod_node, &ret->snap);
        ret->has_snap = r == 0;
    }
    if (r < 0) {
        Hs__SnapshotChunk *err = hs_pb_new (&hs__snapshot_chunk__descriptor);
        err->code = r == -EINVAL  ? HS__CODE__CODE_INVALID
                    : r == -EPERM ? HS__CODE__CODE_FORBIDDEN
                                  : HS__CODE__CODE_INTERNAL;
        if (!msg) msg = hs_sprintf ("cannot read the store: %s", strerror (-r));
        hs_pb_set_str (&err->request_id, req->request_id);
        hs_pb_take_str (&err->message, msg);
        err->epoch = store_epoch (store);
        err->revision = store_revision (store);
        err->last = true;
        ret->chunks = hs_calloc (1, sizeof *ret->chunks);
        ret->chunks[0] = err;
        ret->n = 1;
        return 0;
    }
    hs_db_snapshot_chunks (&ret->snap, req->request_id, CHUNK_OBJECTS, CHUNK_BYTES, &ret->chunks,
                           &ret->n);
    return 0;
}

void store_snap_answer_free (store_snap_answer_t *a)
{
    if (a->has_snap) {
        hs_db_chunks_free (a->chunks, a->n);
        hs_db_snapshot_free (&a->snap);
    } else {
        for (size_t i = 0; i < a->n; i++) hs_pb_free (a->chunks[i]);
        free (a->chunks);
    }
    free (a->topic);
    *a = (store_snap_answer_t){0};
}
