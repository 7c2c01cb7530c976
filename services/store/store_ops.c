/*  store_ops.c: applying Commands to LMDB (see store.h), the store's core.
 *
 *  Batches share one LMDB write transaction (the window, committed by
 *  store_checkpoint); a batch is durable once one write-ahead log record of
 *  its effects is fdatasync'ed (store_wal.h). A command of several writes
 *  runs in a nested transaction, a single write checks everything before
 *  its first put: either way a command is all-or-nothing and its failure
 *  leaves its neighbours alone.
 *  The request memory (requests/reqtime) is written in the window and the
 *  log record next to the writes, so a retried request id is answered from
 *  it, never applied twice, even across a crash.
 */
#include "store.h"
#include "hs_validate.h"
#include "store_alloc.h"
#include "store_authz.h"
#include "store_secret.h"
#include "store_wal.h"
#include "hs_log.h"
#include "hs_quantity.h"
#include "hs_topic.h"
#include "hs_util.h"
#include "hs_workload.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* Readers beside the store tell an empty log by its first header (hs_db.c). */
_Static_assert(STORE_WAL_HEADER == HS_DB_WAL_HEADER, "one record header size");
_Static_assert(STORE_AUTHZ_MAX_IDENTITY == 300, "s_command's refusal says 300 bytes");

#define MAX_KEY        511           /* LMDB's default maximum key size */
#define MAX_REQ_CR     400           /* client_id + request_id */
#define MAX_REQ_KEY    (MAX_KEY - 8) /* identity\nclient_id\nrequest_id: a reqtime key is 8 more */
#define PRUNE_MIN      64
#define GEN_NAME_TRIES 8

struct store_t {
    hs_db_t *db;
    MDB_env *env;
    MDB_dbi objects, streams, meta, requests, reqtime, nodeuse, alloc;
    hs_net_conf_t net;  /* the address plan (store_alloc.h) */
    uint64_t node_next; /* the podCIDR slice to try first (a hint: LMDB decides) */
    uint64_t rng;       /* xorshift state: where a clusterIP scan starts */
    uint64_t epoch;
    int64_t revision; /* last acked: durable in the log, maybe not yet in LMDB */
    int64_t ttl_ns;
    uint64_t commands, commits, checkpoints, garbage;
    uint64_t forbidden;               /* writes refused by store_authz */
    hs_hist_t *fsync_hist, *wal_hist; /* store_fsync_hist, store_wal_hist */
    /* The write-ahead window (docs/architecture.md §4): one LMDB write
     * transaction stays open across batches; each batch's effects go to the
     * log, fdatasync'ed before its acks; a checkpoint commits the window. */
    store_wal_t *wal;
    store_wal_buf_t fx; /* the current batch's effects, in order */
    MDB_txn *txn;       /* the window, or NULL */
    int64_t window_start_ns;
    uint64_t window_cmds, window_bytes;
    uint64_t wal_batch; /* the last batch number appended to the log */
    bool must_recover;  /* a failure aborted the window: rebuild it from the log */
    bool no_checkpoint; /* HS_STORE_TEST_NO_CHECKPOINT: only snapshots and close checkpoint */
    /* Secrets at rest (store_secret.h): every value under "secret/" is
     * sealed with the keyring's first key before it reaches LMDB or the
     * log. keys is NULL only while store_open decides whether to create
     * the key file. */
    store_keyring_t *keys;
    char *key_path;
    char *open_error; /* why store_open refused, for opts->ret_error */
    uint8_t *seal_buf;
    size_t seal_cap;
    uint64_t secrets_rewritten;  /* at open: sealed anew with the first key */
    uint64_t secrets_were_clear; /* of which were stored in clear (a restore) */
    bool opened;                 /* store_open succeeded: only then may close empty the log */
    /* Replicated (store_raft.h): a batch's record goes to raft, not to the
     * log; the log holds committed records only, unsynced (raft's log is the
     * durable copy), numbered by raft index. */
    bool replicated;
    char *dir;
    hs_db_opts_t dbo;
};

/* One command being applied. */
typedef struct {
    store_t *s;
    store_out_t *out;
    const store_authz_id_t *id; /* the sender (store_authz.h); identity NULL: insecure */
    MDB_txn *txn;               /* the command's nested transaction */
    int64_t now_ns;
    int64_t rev; /* the revision this command's changes get */
    bool changed;
    bool dry_run;
    Hs__Code code;
    char *msg;
    int db_error; /* an LMDB failure, not a refusal */
    Hs__WriteResult **results;
    size_t n_results;
} s_cmd_t;

/* ------------------------------------------------------------------ small things */

hs_db_t *store_db (store_t *self)
{
    return self->db;
}

uint64_t store_secrets_rewritten (store_t *self)
{
    return self->secrets_rewritten;
}

const char *store_key_file (store_t *self)
{
    return self->key_path;
}

const char *store_key_primary (store_t *self)
{
    return self->keys ? store_keyring_primary (self->keys) : "";
}

uint64_t store_epoch (store_t *self)
{
    return self->epoch;
}

int64_t store_revision (store_t *self)
{
    return self->revision;
}

void store_count_garbage (store_t *self)
{
    self->garbage++;
}

void store_count_forbidden (store_t *self)
{
    self->forbidden++;
}

static int s_fail (s_cmd_t *c, Hs__Code code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
static int s_fail (s_cmd_t *c, Hs__Code code, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    char *s = NULL;
    if (vasprintf (&s, fmt, ap) < 0) abort ();
    va_end (ap);
    free (c->msg);
    c->msg = s;
    c->code = code;
    return -1;
}

/* An LMDB failure inside a command: the store, not the request, is at fault. */
static int s_fail_db (s_cmd_t *c, int err, const char *what)
{
    if (err != -EUCLEAN) c->db_error = err < 0 ? err : -EIO;
    return s_fail (c, err == -ENOSPC ? HS__CODE__CODE_UNAVAILABLE : HS__CODE__CODE_INTERNAL,
                   "store cannot %s: %s", what, strerror (-err));
}

static int s_not_found (s_cmd_t *c, hs_kind_t kind, const char *name)
{
    return s_fail (c, HS__CODE__CODE_NOT_FOUND, "%s \"%s\" not found", hs_kind_resource (kind),
                   name);
}

static int s_stale (s_cmd_t *c, hs_kind_t kind, const char *name)
{
    return s_fail (c, HS__CODE__CODE_CONFLICT,
                   "Operation cannot be fulfilled on %s \"%s\": the object has been modified; "
                   "please apply your changes to the latest version and try again",
                   hs_kind_resource (kind), name);
}

/* ------------------------------------------------------------------ authorization */

/* Refuses the write Forbidden with msg (taken): counted, and logged once
 * per identity, verb and resource (a role that keeps trying must not
 * flood the log; the counter says how often). */
static int s_forbid (s_cmd_t *c, const store_authz_req_t *req, char *msg)
{
    c->s->forbidden++;
    char rbuf[64], key[STORE_AUTHZ_MAX_IDENTITY + 128];
    const char *verb = store_authz_verb_name (req->op);
    const char *res = store_authz_resource (req->op, req->kind, rbuf, sizeof rbuf);
    snprintf (key, sizeof key, "store:forbidden:%.*s %s %s", STORE_AUTHZ_MAX_IDENTITY,
              hs_s (c->id->identity), verb, res);
    hs_log_once (HS_LOG_WARN, key,
                 "refused (Forbidden): %s (further refusals of \"%.*s\" to %s %s are counted in "
                 "hb.store's forbidden, not logged)",
                 msg, STORE_AUTHZ_MAX_IDENTITY, hs_s (c->id->identity), verb, res);
    s_fail (c, HS__CODE__CODE_FORBIDDEN, "%s", msg);
    free (msg);
    return -1;
}

/* The role table (store_authz_verb): before the store reads anything. */
static int s_authz_verb (s_cmd_t *c, const store_authz_req_t *req)
{
    if (!c->id || !c->id->identity) return 0;
    char *msg = NULL;
    return store_authz_verb (c->id, req, &msg) == 0 ? 0 : s_forbid (c, req, msg);
}

/* Admission (store_authz_admit) on req->stored, read in this transaction. */
static int s_authz_admit (s_cmd_t *c, const store_authz_req_t *req)
{
    if (!c->id || !c->id->identity) return 0;
    char *msg = NULL;
    return store_authz_admit (c->id, req, &msg) == 0 ? 0 : s_forbid (c, req, msg);
}

/* A heap string joining the n parts. The per-command keys, topics and
 * stream names were built with hs_sprintf, whose format parsing showed in
 * the store's profile (docs/architecture.md §4). */
static char *s_join (size_t n, const char *const *parts)
{
    size_t lens[8], total = 0;
    assert (n <= HS_ARRAY_LEN (lens));
    for (size_t i = 0; i < n; i++) total += lens[i] = strlen (parts[i]);
    char *s = hs_malloc (total + 1), *p = s;
    for (size_t i = 0; i < n; i++) {
        memcpy (p, parts[i], lens[i]);
        p += lens[i];
    }
    *p = '\0';
    return s;
}
#define S_JOIN(...)                                                                                \
    s_join (HS_ARRAY_LEN (((const char *[]){__VA_ARGS__})), (const char *[]){__VA_ARGS__})

/* What hs_obj_key, hs_obj_key_of, hs_obj_stream and hs_obj_topic (hs_obj.c)
 * give, without the format parsing. */
static char *s_key (hs_kind_t kind, const char *ns, const char *name)
{
    const hs_kind_info_t *info = hs_kind_info (kind);
    return S_JOIN (info ? info->name : "?", "/", info && info->namespaced ? hs_s (ns) : "", "/",
                   hs_s (name));
}

static char *s_key_of (const Hs__Object *o)
{
    Hs__ObjectMeta *m = hs_obj_meta (o);
    return s_key (hs_obj_kind (o), m ? m->namespace_ : "", m ? m->name : "");
}

static char *s_stream_of (const Hs__Object *o)
{
    const hs_kind_info_t *info = hs_kind_info (hs_obj_kind (o));
    return S_JOIN (info ? info->name : "?", ".", hs_obj_routing (o));
}

static char *s_topic_of (const Hs__Object *o)
{
    const hs_kind_info_t *info = hs_kind_info (hs_obj_kind (o));
    Hs__ObjectMeta *m = hs_obj_meta (o);
    return S_JOIN ("ev.", info ? info->name : "?", ".", hs_obj_routing (o), "/",
                   m ? hs_s (m->namespace_) : "", "/", m ? hs_s (m->name) : "");
}

static bool s_bound (const Hs__Pod *p)
{
    return p && p->spec && !hs_empty (p->spec->node_name);
}

/* Swaps one field's storage between two messages of the same type. */
static void s_swap_field (ProtobufCMessage *a, ProtobufCMessage *b, const char *name)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name (a->descriptor, name);
    if (!f) return;
    size_t size;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE: size = 8; break;
    case PROTOBUF_C_TYPE_BOOL: size = sizeof (protobuf_c_boolean); break;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE: size = sizeof (void *); break;
    case PROTOBUF_C_TYPE_BYTES: size = sizeof (ProtobufCBinaryData); break;
    default: size = 4; break;
    }
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        size = sizeof (void *);
        size_t *na = (size_t *)((char *)a + f->quantifier_offset);
        size_t *nb = (size_t *)((char *)b + f->quantifier_offset);
        size_t t = *na;
        *na = *nb;
        *nb = t;
    }
    uint8_t tmp[sizeof (ProtobufCBinaryData)];
    memcpy (tmp, (char *)a + f->offset, size);
    memcpy ((char *)a + f->offset, (char *)b + f->offset, size);
    memcpy ((char *)b + f->offset, tmp, size);
}

/* A body's sub-message field by name ("spec", "status"), or NULL. */
static const ProtobufCMessage *s_sub (const Hs__Object *o, const char *name)
{
    const ProtobufCMessage *body = hs_obj_body (o);
    if (!body) return NULL;
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name (body->descriptor, name);
    if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE) return NULL;
    return *(const ProtobufCMessage **)((const char *)body + f->offset);
}

static bool s_has_field (hs_kind_t kind, const char *name)
{
    const hs_kind_info_t *info = hs_kind_info (kind);
    return info && protobuf_c_message_descriptor_get_field_by_name (info->descriptor, name);
}

/* Equal sub-messages (NULL equals an empty one). */
static bool s_sub_equal (const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    size_t la = a ? protobuf_c_message_get_packed_size (a) : 0;
    size_t lb = b ? protobuf_c_message_get_packed_size (b) : 0;
    if (la != lb) return false;
    if (la == 0) return true;
    return hs_pb_equal (a, b);
}

/* ------------------------------------------------------------------ LMDB access */

static int s_get (MDB_txn *txn, MDB_dbi dbi, const char *key, size_t klen, MDB_val *ret)
{
    if (klen == 0 || klen > MAX_KEY) return -ENOENT; /* such a key can never have been stored */
    MDB_val k = {klen, (void *)key};
    return hs_db_errno (mdb_get (txn, dbi, &k, ret));
}

/* The table a handle belongs to, as the log names it. */
static unsigned s_table_of (const store_t *s, MDB_dbi dbi)
{
    const MDB_dbi dbis[HS_DB__COUNT] = {
        [HS_DB_OBJECTS] = s->objects,   [HS_DB_STREAMS] = s->streams, [HS_DB_META] = s->meta,
        [HS_DB_REQUESTS] = s->requests, [HS_DB_REQTIME] = s->reqtime, [HS_DB_NODEUSE] = s->nodeuse,
        [HS_DB_ALLOC] = s->alloc};
    for (unsigned t = 0; t < HS_DB__COUNT; t++)
        if (dbis[t] == dbi) return t;
    assert (!"a handle the store did not open");
    return HS_DB__COUNT;
}

/* Every write to LMDB goes through s_put and s_del, which record it in the
 * batch's effects once LMDB took it: what the log must hold for a replay to
 * rebuild exactly what was acked. */
static int s_put (store_t *s, MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
                  const void *val, size_t vlen)
{
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    int r = hs_db_errno (mdb_put (txn, dbi, &k, &v, 0));
    if (r == 0) store_wal_effect_put (&s->fx, s_table_of (s, dbi), key, klen, val, vlen, NULL, 0);
    return r;
}

static int s_del (store_t *s, MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen)
{
    MDB_val k = {klen, (void *)key};
    int r = hs_db_errno (mdb_del (txn, dbi, &k, NULL));
    if (r == 0) store_wal_effect_del (&s->fx, s_table_of (s, dbi), key, klen);
    return r;
}

/* 0 with *ret (caller frees), -ENOENT, -EUCLEAN (does not decode), or another -errno. */
/* Opens a sealed Secret and unpacks it: hs_db's unseal function (the
 * store's snapshots) and s_get_obj's. 0, or -ENOKEY / -EBADMSG. */
static int s_unseal (void *arg, const void *value, size_t len, Hs__Object **ret)
{
    store_t *s = arg;
    if (!s->keys) return -ENOKEY;
    uint8_t *plain;
    size_t plen;
    int r = store_secret_open (s->keys, value, len, &plain, &plen);
    if (r < 0) return r;
    Hs__Object *o = hs__object__unpack (&hs_pb_allocator, plen, plain);
    store_secret_free_plain (plain, plen);
    if (!o) return -EBADMSG;
    *ret = o;
    return 0;
}

static bool s_secret_key (const char *key, size_t klen)
{
    return klen > 7 && memcmp (key, "secret/", 7) == 0;
}

static int s_get_obj (s_cmd_t *c, const char *key, Hs__Object **ret)
{
    MDB_val v;
    int r = s_get (c->txn, c->s->objects, key, strlen (key), &v);
    if (r < 0) return r;
    if (hs_db_is_sealed (v.mv_data, v.mv_size))
        /* checked at open: every sealed Secret opens with the keyring */
        return s_unseal (c->s, v.mv_data, v.mv_size, ret) < 0 ? -EUCLEAN : 0;
    Hs__Object *o = hs__object__unpack (&hs_pb_allocator, v.mv_size, v.mv_data);
    if (!o) return -EUCLEAN; /* a stored value that does not decode: the txn is fine */
    *ret = o;
    return 0;
}

/* Packs msg at the end of out->bytes; *ret_off and *ret_len say where.
 * Objects and acks are packed once, here, and the same bytes are written to
 * LMDB and published (store_main.c, hs_bus_publish_body). Packing each again
 * inside its envelope (protobuf-c recomputes every nested size at each
 * level) was the largest protobuf cost of an apply (docs/architecture.md
 * §4, "Pack once"). The buffer is
 * reused from batch to batch. */
static void s_pack (store_out_t *out, const ProtobufCMessage *msg, size_t *ret_off, size_t *ret_len)
{
    size_t len = protobuf_c_message_get_packed_size (msg);
    if (out->cap_bytes - out->n_bytes < len) {
        size_t cap = out->cap_bytes ? out->cap_bytes * 2 : 64 * 1024;
        while (cap - out->n_bytes < len) cap *= 2;
        out->bytes = hs_realloc (out->bytes, cap);
        out->cap_bytes = cap;
    }
    protobuf_c_message_pack (msg, out->bytes + out->n_bytes);
    *ret_off = out->n_bytes;
    *ret_len = len;
    out->n_bytes += len;
}

/* Seals plain with the first key into s->seal_buf; returns its length. */
static size_t s_seal (store_t *s, const void *plain, size_t len)
{
    size_t n = store_secret_sealed_size (s->keys, len);
    if (n > s->seal_cap) {
        s->seal_cap = n < 64 * 1024 ? 64 * 1024 : n;
        free (s->seal_buf);
        s->seal_buf = hs_malloc (s->seal_cap);
    }
    store_secret_seal (s->keys, plain, len, s->seal_buf);
    return n;
}

/* The packed object goes to LMDB and the log as it is, except a Secret's,
 * which is sealed first: the bus (CURVE-encrypted) carries the clear bytes,
 * the disk never does. */
static int s_put_obj (s_cmd_t *c, const char *key, size_t off, size_t len)
{
    size_t klen = strlen (key);
    if (s_secret_key (key, klen)) {
        size_t n = s_seal (c->s, c->out->bytes + off, len);
        return s_put (c->s, c->txn, c->s->objects, key, klen, c->s->seal_buf, n);
    }
    return s_put (c->s, c->txn, c->s->objects, key, klen, c->out->bytes + off, len);
}

/* ------------------------------------------------------------------ node usage index */

typedef struct {
    int64_t v[3]; /* cpu millicores, memory bytes, pods */
} s_row_t;

static int s_usage_get (MDB_txn *txn, MDB_dbi dbi, const char *node, s_row_t *ret)
{
    MDB_val v;
    memset (ret, 0, sizeof *ret);
    int r = s_get (txn, dbi, node, strlen (node), &v);
    if (r == -ENOENT) return 0;
    if (r < 0) return r;
    if (v.mv_size == sizeof *ret) memcpy (ret, v.mv_data, sizeof *ret);
    return 0;
}

static int s_usage_add (store_t *s, MDB_txn *txn, const char *node, const hs_resources_t *u,
                        int sign)
{
    MDB_dbi dbi = s->nodeuse;
    if (strlen (node) > MAX_KEY) return 0; /* validated names never get here */
    s_row_t row;
    int r = s_usage_get (txn, dbi, node, &row);
    if (r < 0) return r;
    const int64_t d[3] = {u->cpu_milli, u->mem_bytes, u->pods};
    for (int i = 0; i < 3; i++) row.v[i] = hs_sat_add (row.v[i], sign > 0 ? d[i] : -d[i]);
    return s_put (s, txn, dbi, node, strlen (node), &row, sizeof row);
}

/* Does this object use room on a node: a bound, non-terminal pod? */
static const char *s_pod_node (const Hs__Object *o, hs_resources_t *u)
{
    if (!o || o->kind_case != HS__OBJECT__KIND_POD || !s_bound (o->pod) || hs_pod_terminal (o->pod))
        return NULL;
    hs_pod_requests (o->pod, u);
    return o->pod->spec->node_name;
}

static int s_usage_update (s_cmd_t *c, const Hs__Object *old, const Hs__Object *new)
{
    hs_resources_t uo, un;
    const char *no = s_pod_node (old, &uo);
    const char *nn = s_pod_node (new, &un);
    if (no && nn && strcmp (no, nn) == 0 && memcmp (&uo, &un, sizeof uo) == 0) return 0;
    int r = 0;
    if (no) r = s_usage_add (c->s, c->txn, no, &uo, -1);
    if (r == 0 && nn) r = s_usage_add (c->s, c->txn, nn, &un, +1);
    return r;
}

/* The acked state: the open window if there is one (LMDB may lag it),
 * else a read transaction. *ret_owned: the caller aborts it. */
static int s_read_txn (store_t *self, MDB_txn **ret, bool *ret_owned)
{
    *ret_owned = !self->txn;
    if (self->txn) {
        *ret = self->txn;
        return 0;
    }
    if (!self->env) return -EIO; /* a failed store_restore: stopping */
    return hs_db_errno (mdb_txn_begin (self->env, NULL, MDB_RDONLY, ret));
}

int store_node_usage (store_t *self, const char *node, store_node_usage_t *ret)
{
    MDB_txn *txn;
    bool owned;
    int r = s_read_txn (self, &txn, &owned);
    if (r < 0) return r;
    MDB_val v;
    r = s_get (txn, self->nodeuse, node, strlen (node), &v);
    if (r == 0) {
        s_row_t row = {{0}};
        if (v.mv_size == sizeof row) memcpy (&row, v.mv_data, sizeof row);
        *ret = (store_node_usage_t){row.v[0], row.v[1], row.v[2]};
    }
    if (owned) mdb_txn_abort (txn);
    return r;
}

/* ------------------------------------------------------------------ addresses (store_alloc.h) */

/* The prefix length a held block's value records (its first byte). */
static int s_alloc_prefix (const MDB_val *v)
{
    if (v->mv_size < 1) return 32;
    int p = *(const uint8_t *)v->mv_data;
    return p > 32 ? 32 : p;
}

static uint64_t s_block_end (uint32_t addr, int prefix)
{
    return (uint64_t)addr + ((uint64_t)1 << (32 - prefix)) - 1;
}

/* Whether a held block of tag overlaps [lo, hi]. If so, 1 with *ret_end the
 * last address of the run of adjacent held blocks that starts with it (a
 * scan skips the whole run) and *ret_holder (may be NULL; the caller frees)
 * the first one's holder. 0 when free, or -errno. Held blocks never overlap
 * each other, so only the first block at or after lo and the last one
 * before it can overlap [lo, hi]. */
static int s_alloc_overlap (MDB_txn *txn, MDB_dbi dbi, char tag, uint32_t lo, uint64_t hi,
                            uint64_t *ret_end, char **ret_holder)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open (txn, dbi, &cur);
    if (rc) return hs_db_errno (rc);
    uint8_t kb[STORE_ALLOC_KEY_LEN];
    store_alloc_key (kb, tag, lo);
    MDB_val k = {sizeof kb, kb}, v;
    uint32_t addr;
    bool hit = false;
    rc = mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE);
    if (rc == 0 && store_alloc_key_parse (k.mv_data, k.mv_size, tag, &addr) && addr <= hi)
        hit = true;
    else if (rc == 0 || rc == MDB_NOTFOUND) {
        rc = mdb_cursor_get (cur, &k, &v, rc == 0 ? MDB_PREV : MDB_LAST);
        hit = rc == 0 && store_alloc_key_parse (k.mv_data, k.mv_size, tag, &addr) &&
              s_block_end (addr, s_alloc_prefix (&v)) >= lo;
    }
    if (rc && rc != MDB_NOTFOUND) {
        mdb_cursor_close (cur);
        return hs_db_errno (rc);
    }
    if (!hit) {
        mdb_cursor_close (cur);
        return 0;
    }
    if (ret_holder)
        *ret_holder =
            v.mv_size > 1 ? hs_strndup ((char *)v.mv_data + 1, v.mv_size - 1) : hs_strdup ("");
    uint64_t end = s_block_end (addr, s_alloc_prefix (&v));
    while (end < UINT32_MAX && mdb_cursor_get (cur, &k, &v, MDB_NEXT) == 0 &&
           store_alloc_key_parse (k.mv_data, k.mv_size, tag, &addr) && addr == end + 1)
        end = s_block_end (addr, s_alloc_prefix (&v));
    mdb_cursor_close (cur);
    *ret_end = end;
    return 1;
}

/* A free block among blocks first .. first+count-1 of 2^(32-prefix)
 * addresses from base, scanned from start (in that span) to the end, then
 * from first: 1 with *ret_block, 0 if every one is held, or -errno. */
static int s_alloc_find (MDB_txn *txn, MDB_dbi dbi, char tag, uint32_t base, int prefix,
                         uint64_t first, uint64_t count, uint64_t start, uint64_t *ret_block)
{
    uint64_t bsize = (uint64_t)1 << (32 - prefix);
    const uint64_t spans[2][2] = {{start, first + count}, {first, start}};
    for (int s = 0; s < 2; s++) {
        for (uint64_t b = spans[s][0]; b < spans[s][1];) {
            uint64_t lo = base + b * bsize, end;
            int r = s_alloc_overlap (txn, dbi, tag, (uint32_t)lo, lo + bsize - 1, &end, NULL);
            if (r < 0) return r;
            if (r == 0) {
                *ret_block = b;
                return 1;
            }
            b = (end + 1 - base + bsize - 1) / bsize; /* past the held run */
        }
    }
    return 0;
}

static uint64_t s_rand (store_t *s)
{
    uint64_t x = s->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return s->rng = x;
}

/* How many clusterIPs of the current --service-cidr's upper and lower band
 * are held: kept in the alloc table itself (keys that are no block's), in
 * the same transactions, rebuilt at open. */
#define ALLOC_COUNT_UPPER "#SU"
#define ALLOC_COUNT_LOWER "#SL"

static int s_count_get (MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t *ret)
{
    MDB_val v;
    *ret = 0;
    int r = s_get (txn, dbi, key, strlen (key), &v);
    if (r == -ENOENT) return 0;
    if (r == 0 && v.mv_size == sizeof *ret) memcpy (ret, v.mv_data, sizeof *ret);
    return r;
}

/* The counter of ip's band, or NULL when ip is no usable clusterIP of the
 * current range. */
static const char *s_band_counter (const hs_net_conf_t *net, uint32_t ip)
{
    if (!store_alloc_svc_in_range (&net->service, ip)) return NULL;
    uint32_t first;
    uint64_t count, band = store_alloc_svc_band (&net->service);
    store_alloc_svc_usable (&net->service, &first, &count);
    if (band > count) band = 0;
    return ip - first < band ? ALLOC_COUNT_LOWER : ALLOC_COUNT_UPPER;
}

/* Adds d to ip's band counter; logged (s_put) unless txn is the recovery's
 * (s NULL: a plain put). */
static int s_count_add (store_t *s, MDB_txn *txn, MDB_dbi dbi, const hs_net_conf_t *net,
                        uint32_t ip, int d)
{
    const char *key = s_band_counter (net, ip);
    if (!key) return 0;
    uint64_t n;
    int r = s_count_get (txn, dbi, key, &n);
    if (r < 0) return r;
    n = d < 0 && n == 0 ? 0 : n + (uint64_t)(int64_t)d;
    if (s) return s_put (s, txn, dbi, key, strlen (key), &n, sizeof n);
    return hs_db_errno (
        mdb_put (txn, dbi, &(MDB_val){strlen (key), (void *)key}, &(MDB_val){sizeof n, &n}, 0));
}

/* Sets a string and its one-element list twin (clusterIP/clusterIPs,
 * podCIDR/podCIDRs) to v. */
static void s_set_pair (char **one, char ***list, size_t *n, const char *v)
{
    hs_pb_set_str (one, v);
    for (size_t i = 0; i < *n; i++) hs_pb_release ((*list)[i]);
    hs_pb_release (*list);
    *list = NULL;
    *n = 0;
    hs_pb_push ((void ***)list, n, hs_strdup (v));
}

static int s_assign_cluster_ip (s_cmd_t *c, const Hs__Service *cur, Hs__Service *svc)
{
    const char *name = svc->metadata->name;
    if (!svc->spec) svc->spec = hs_pb_new (&hs__service_spec__descriptor);
    Hs__ServiceSpec *sp = svc->spec;
    const char *old = cur && cur->spec ? cur->spec->cluster_ip : NULL;
    const char *want = sp->cluster_ip;
    if (!hs_empty (old)) {
        /* kubectl apply without clusterIP keeps it, as the apiserver's
         * patchAllocatedValues does */
        if (hs_empty (want)) {
            _cleanup_free_ char *keep = hs_strdup (old);
            s_set_pair (&sp->cluster_ip, &sp->cluster_ips, &sp->n_cluster_ips, keep);
            return 0;
        }
        if (hs_streq (want, old)) return 0;
        return s_fail (c, HS__CODE__CODE_INVALID,
                       "Service \"%s\" is invalid: spec.clusterIPs[0]: Invalid value: "
                       "[]string{\"%s\"}: may not change once set",
                       name, want);
    }
    if (hs_streq (want, "None")) return 0; /* headless: no address */
    const hs_cidr_t *range = &c->s->net.service;
    char ipbuf[16];
    if (hs_empty (want)) {
        uint32_t first;
        uint64_t count, band = store_alloc_svc_band (range), off = 0;
        store_alloc_svc_usable (range, &first, &count);
        if (band > count) band = 0;
        uint64_t held[2] = {0, 0};
        int r = s_count_get (c->txn, c->s->alloc, ALLOC_COUNT_UPPER, &held[0]);
        if (r == 0) r = s_count_get (c->txn, c->s->alloc, ALLOC_COUNT_LOWER, &held[1]);
        /* the upper band from a random start, then the lower band; a band
         * its count says is full is not scanned (a full /16 would cost a
         * walk over 65,000 keys per refusal) */
        if (r == 0 && count > band && held[0] < count - band)
            r = s_alloc_find (c->txn, c->s->alloc, STORE_ALLOC_SVC, first, 32, band, count - band,
                              band + s_rand (c->s) % (count - band), &off);
        if (r == 0 && band > 0 && held[1] < band)
            r = s_alloc_find (c->txn, c->s->alloc, STORE_ALLOC_SVC, first, 32, 0, band,
                              s_rand (c->s) % band, &off);
        if (r < 0) return s_fail_db (c, r, "read the allocated addresses");
        if (r == 0)
            return s_fail (
                c, HS__CODE__CODE_INTERNAL,
                "Internal error occurred: failed to allocate a serviceIP: range is full");
        hs_ip_format (first + (uint32_t)off, ipbuf);
        s_set_pair (&sp->cluster_ip, &sp->cluster_ips, &sp->n_cluster_ips, ipbuf);
        return 0;
    }
    uint32_t ip;
    if (hs_ip_parse (want, &ip) < 0) return 0; /* validation refused it already */
    if (!store_alloc_svc_in_range (range, ip)) {
        _cleanup_free_ char *rs = hs_cidr_format (range);
        return s_fail (c, HS__CODE__CODE_INVALID,
                       "Service \"%s\" is invalid: spec.clusterIPs: Invalid value: "
                       "[]string{\"%s\"}: failed to allocate IP %s: the provided IP (%s) is not "
                       "in the valid range. The range of valid IPs is %s",
                       name, want, want, want, rs);
    }
    uint64_t end;
    int r = s_alloc_overlap (c->txn, c->s->alloc, STORE_ALLOC_SVC, ip, ip, &end, NULL);
    if (r < 0) return s_fail_db (c, r, "read the allocated addresses");
    if (r > 0)
        return s_fail (c, HS__CODE__CODE_INVALID,
                       "Service \"%s\" is invalid: spec.clusterIPs: Invalid value: "
                       "[]string{\"%s\"}: failed to allocate IP %s: provided IP is already "
                       "allocated",
                       name, want, want);
    _cleanup_free_ char *norm = hs_strdup (hs_ip_format (ip, ipbuf));
    s_set_pair (&sp->cluster_ip, &sp->cluster_ips, &sp->n_cluster_ips, norm);
    return 0;
}

static int s_assign_pod_cidr (s_cmd_t *c, const Hs__Node *cur, Hs__Node *node)
{
    const char *name = node->metadata->name;
    if (!node->spec) node->spec = hs_pb_new (&hs__node_spec__descriptor);
    Hs__NodeSpec *sp = node->spec;
    const char *old = cur && cur->spec ? cur->spec->pod_cidr : NULL;
    const char *want = sp->pod_cidr;
    if (!hs_empty (old)) {
        /* agents re-apply their Node without it */
        if (hs_empty (want)) {
            _cleanup_free_ char *keep = hs_strdup (old);
            s_set_pair (&sp->pod_cidr, &sp->pod_cidrs, &sp->n_pod_cidrs, keep);
            return 0;
        }
        if (hs_streq (want, old)) return 0;
        return s_fail (c, HS__CODE__CODE_INVALID,
                       "Node \"%s\" is invalid: spec.podCIDRs: Forbidden: node updates may not "
                       "change podCIDR except from \"\" to valid",
                       name);
    }
    const hs_net_conf_t *net = &c->s->net;
    if (hs_empty (want)) {
        uint64_t slots = hs_net_node_slots (net), slot;
        int r = s_alloc_find (c->txn, c->s->alloc, STORE_ALLOC_NODE, net->cluster.addr,
                              net->node_mask, 0, slots, c->s->node_next % slots, &slot);
        if (r < 0) return s_fail_db (c, r, "read the allocated addresses");
        if (r == 0) {
            _cleanup_free_ char *cs = hs_cidr_format (&net->cluster);
            return s_fail (c, HS__CODE__CODE_INTERNAL,
                           "Internal error occurred: failed to allocate cidr for Node \"%s\": "
                           "CIDR allocation failed; there are no remaining CIDRs left to "
                           "allocate in the accepted range (--cluster-cidr %s, "
                           "--node-cidr-mask-size %d: %llu nodes)",
                           name, cs, net->node_mask, (unsigned long long)slots);
        }
        c->s->node_next = slot + 1;
        hs_cidr_t got = hs_net_node_cidr (net, slot);
        _cleanup_free_ char *gs = hs_cidr_format (&got);
        s_set_pair (&sp->pod_cidr, &sp->pod_cidrs, &sp->n_pod_cidrs, gs);
        return 0;
    }
    hs_cidr_t want_c;
    if (hs_cidr_parse (want, &want_c) < 0) return 0; /* validation refused it already */
    /* One of the plan's node slices, nothing else: every agent routes a
     * Node's podCIDR to it, so a podCIDR outside the cluster CIDR (or a
     * whole /16) would take traffic meant for anything else. */
    if (want_c.prefix != net->node_mask || !hs_cidr_contains (&net->cluster, want_c.addr)) {
        _cleanup_free_ char *cs = hs_cidr_format (&net->cluster);
        return s_fail (c, HS__CODE__CODE_INVALID,
                       "Node \"%s\" is invalid: spec.podCIDR: Invalid value: \"%s\": must be a "
                       "/%d inside the cluster CIDR %s",
                       name, want, net->node_mask, cs);
    }
    if (hs_cidr_overlaps (&want_c, &net->service)) {
        _cleanup_free_ char *ss = hs_cidr_format (&net->service);
        return s_fail (c, HS__CODE__CODE_INVALID,
                       "Node \"%s\" is invalid: spec.podCIDR: Invalid value: \"%s\": overlaps the "
                       "Service CIDR %s",
                       name, want, ss);
    }
    uint64_t end;
    _cleanup_free_ char *holder = NULL;
    int r = s_alloc_overlap (c->txn, c->s->alloc, STORE_ALLOC_NODE, want_c.addr,
                             s_block_end (want_c.addr, want_c.prefix), &end, &holder);
    if (r < 0) return s_fail_db (c, r, "read the allocated addresses");
    if (r > 0) {
        const char *who = holder && hs_startswith (holder, "node//") ? holder + 6 : hs_s (holder);
        return s_fail (c, HS__CODE__CODE_INVALID,
                       "Node \"%s\" is invalid: spec.podCIDR: Invalid value: \"%s\": overlaps the "
                       "podCIDR of Node \"%s\"",
                       name, want, who);
    }
    return 0;
}

/* Fills in, or checks, the address obj (validated) holds once written
 * over cur (NULL: a create): an empty clusterIP or podCIDR keeps cur's,
 * else gets a free one; a requested one must be free; a set one never
 * changes. Refuses (s_fail) before anything is written. */
static int s_alloc_assign (s_cmd_t *c, const Hs__Object *cur, Hs__Object *obj)
{
    switch (hs_obj_kind (obj)) {
    case HS_KIND_SERVICE: return s_assign_cluster_ip (c, cur ? cur->service : NULL, obj->service);
    case HS_KIND_NODE: return s_assign_pod_cidr (c, cur ? cur->node : NULL, obj->node);
    default: return 0;
    }
}

/* The index follows what old (before) and new (after; NULL: deleted)
 * hold, both stored under key: releases old's block unless another object
 * holds it (two restored objects may claim one), takes new's. */
static int s_alloc_update (s_cmd_t *c, const char *key, const Hs__Object *old,
                           const Hs__Object *new)
{
    char to = 0, tn = 0;
    hs_cidr_t bo, bn;
    bool ho = old && store_alloc_held (old, &to, &bo);
    bool hn = new &&store_alloc_held (new, &tn, &bn);
    if (ho == hn && (!ho || (to == tn && bo.addr == bn.addr && bo.prefix == bn.prefix))) return 0;
    store_t *s = c->s;
    size_t klen = strlen (key);
    uint8_t kb[STORE_ALLOC_KEY_LEN];
    if (ho) {
        store_alloc_key (kb, to, bo.addr);
        MDB_val v;
        int r = s_get (c->txn, s->alloc, (const char *)kb, sizeof kb, &v);
        if (r == 0 && v.mv_size == 1 + klen && memcmp ((char *)v.mv_data + 1, key, klen) == 0) {
            r = s_del (s, c->txn, s->alloc, kb, sizeof kb);
            if (r == 0 && to == STORE_ALLOC_SVC)
                r = s_count_add (s, c->txn, s->alloc, &s->net, bo.addr, -1);
        }
        if (r < 0 && r != -ENOENT) return r;
    }
    if (hn) {
        store_alloc_key (kb, tn, bn.addr);
        uint8_t *val = hs_malloc (1 + klen);
        val[0] = (uint8_t)bn.prefix;
        memcpy (val + 1, key, klen);
        int r = s_put (s, c->txn, s->alloc, kb, sizeof kb, val, 1 + klen);
        free (val);
        if (r == 0 && tn == STORE_ALLOC_SVC)
            r = s_count_add (s, c->txn, s->alloc, &s->net, bn.addr, +1);
        if (r < 0) return r;
    }
    return 0;
}

/* Not recorded in the log, like the usage index: at open, in the recovery
 * transaction. Objects whose blocks overlap one indexed already (a restore
 * of an inconsistent snapshot) are logged and left out. */
static int s_rebuild_alloc (store_t *s, MDB_txn *txn)
{
    int rc = mdb_drop (txn, s->alloc, 0);
    if (rc) return hs_db_errno (rc);
    static const char *const prefixes[] = {"node/", "service/"};
    int r = 0;
    for (size_t p = 0; p < HS_ARRAY_LEN (prefixes) && r == 0; p++) {
        size_t plen = strlen (prefixes[p]);
        MDB_cursor *cur;
        rc = mdb_cursor_open (txn, s->objects, &cur);
        if (rc) return hs_db_errno (rc);
        MDB_val k = {plen, (void *)prefixes[p]}, v;
        for (rc = mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE);
             rc == 0 && k.mv_size >= plen && memcmp (k.mv_data, prefixes[p], plen) == 0;
             rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT)) {
            Hs__Object *o = hs__object__unpack (&hs_pb_allocator, v.mv_size, v.mv_data);
            char tag;
            hs_cidr_t b;
            if (o && store_alloc_held (o, &tag, &b)) {
                uint64_t end;
                char *holder = NULL;
                r = s_alloc_overlap (txn, s->alloc, tag, b.addr, s_block_end (b.addr, b.prefix),
                                     &end, &holder);
                if (r > 0) {
                    log_warn ("%.*s holds an address already held by %s; left out of the "
                              "address index (delete one of them)",
                              (int)k.mv_size, (char *)k.mv_data, holder);
                    r = 0;
                } else if (r == 0) {
                    uint8_t kb[STORE_ALLOC_KEY_LEN];
                    store_alloc_key (kb, tag, b.addr);
                    uint8_t *val = hs_malloc (1 + k.mv_size);
                    val[0] = (uint8_t)b.prefix;
                    memcpy (val + 1, k.mv_data, k.mv_size);
                    /* no cursor of the alloc table is open: s_alloc_overlap closed its own */
                    r = hs_db_errno (mdb_put (txn, s->alloc, &(MDB_val){sizeof kb, kb},
                                              &(MDB_val){1 + k.mv_size, val}, 0));
                    free (val);
                    if (r == 0 && tag == STORE_ALLOC_SVC)
                        r = s_count_add (NULL, txn, s->alloc, &s->net, b.addr, +1);
                }
                free (holder);
            }
            hs_pb_free (o);
            if (r < 0) break;
        }
        mdb_cursor_close (cur);
        if (r == 0 && rc && rc != MDB_NOTFOUND) r = hs_db_errno (rc);
    }
    return r;
}

/* ------------------------------------------------------------------ events and results */

static void s_result (s_cmd_t *c, Hs__Result result, const Hs__Object *o)
{
    Hs__WriteResult *wr = hs_pb_new (&hs__write_result__descriptor);
    const Hs__ObjectMeta *m = hs_obj_meta (o);
    wr->result = result;
    hs_pb_set_str (&wr->kind, hs_kind_info (hs_obj_kind (o))->name);
    hs_pb_set_str (&wr->namespace_, m->namespace_);
    hs_pb_set_str (&wr->name, m->name);
    hs_pb_set_str (&wr->uid, m->uid);
    wr->resource_version = m->resource_version;
    hs_pb_push ((void ***)&c->results, &c->n_results, wr);
}

/* Bumps the object's stream and records the event; takes obj, packed at
 * off/len in c->out->bytes. */
static int s_emit (s_cmd_t *c, Hs__EventType type, Hs__Object *obj, size_t off, size_t len)
{
    if (c->dry_run) {
        hs_pb_free (obj);
        return 0;
    }
    char *stream = s_stream_of (obj);
    size_t slen = strlen (stream);
    MDB_val v;
    uint64_t seq = 0;
    int r = s_get (c->txn, c->s->streams, stream, slen, &v);
    if (r == 0 && v.mv_size == sizeof seq) memcpy (&seq, v.mv_data, sizeof seq);
    if (r == 0 || r == -ENOENT) {
        seq++;
        r = s_put (c->s, c->txn, c->s->streams, stream, slen, &seq, sizeof seq);
    }
    if (r < 0) {
        free (stream);
        hs_pb_free (obj);
        return r;
    }
    Hs__WatchEvent *ev = hs_pb_new (&hs__watch_event__descriptor);
    ev->type = type;
    ev->revision = c->rev;
    hs_pb_take_str (&ev->stream, stream);
    ev->seq = seq;
    ev->epoch = c->s->epoch;
    ev->object = obj;
    store_out_t *out = c->out;
    if (out->n_events == out->cap_events) {
        out->cap_events = out->cap_events ? out->cap_events * 2 : 64;
        out->events = hs_realloc (out->events, out->cap_events * sizeof *out->events);
    }
    out->events[out->n_events++] = (store_event_t){s_topic_of (obj), ev, off, len};
    return 0;
}

/* Stores new (taken) under key, replacing old (borrowed, may be NULL). */
static int s_commit_obj (s_cmd_t *c, const char *key, const Hs__Object *old, Hs__Object *new,
                         Hs__EventType type)
{
    size_t off, len;
    s_pack (c->out, &new->base, &off, &len);
    int r = s_put_obj (c, key, off, len);
    if (r == 0) r = s_usage_update (c, old, new);
    if (r == 0) r = s_alloc_update (c, key, old, new);
    if (r < 0) {
        hs_pb_free (new);
        return s_fail_db (c, r, "write the object");
    }
    c->changed = true;
    r = s_emit (c, type, new, off, len);
    return r < 0 ? s_fail_db (c, r, "write the stream sequence") : 0;
}

/* Removes old (taken) from key. */
static int s_remove_obj (s_cmd_t *c, const char *key, Hs__Object *old)
{
    int r = s_del (c->s, c->txn, c->s->objects, key, strlen (key));
    if (r == 0) r = s_usage_update (c, old, NULL);
    if (r == 0) r = s_alloc_update (c, key, old, NULL);
    if (r < 0) {
        hs_pb_free (old);
        return s_fail_db (c, r, "delete the object");
    }
    c->changed = true;
    hs_obj_meta (old)->resource_version = c->rev; /* the last state, at the deleting revision */
    size_t off = 0, len = 0;
    if (!c->dry_run) s_pack (c->out, &old->base, &off, &len);
    r = s_emit (c, HS__EVENT_TYPE__DELETED, old, off, len);
    return r < 0 ? s_fail_db (c, r, "write the stream sequence") : 0;
}

/* ------------------------------------------------------------------ write checks */

static int s_check_size (s_cmd_t *c, const Hs__Object *o)
{
    size_t len = protobuf_c_message_get_packed_size (&o->base);
    if (len <= STORE_MAX_OBJECT) return 0;
    const Hs__ObjectMeta *m = hs_obj_meta (o);
    return s_fail (c, HS__CODE__CODE_INVALID,
                   "%s \"%s\" is invalid: metadata: Too long: the object is %zu bytes, must have "
                   "at most %d bytes",
                   hs_kind_info (hs_obj_kind (o))->kind_name, m ? m->name : "", len,
                   STORE_MAX_OBJECT);
}

/* Defaults, normalizes and validates o in place; for pods replacing old,
 * checks the spec stayed what it may. */
static int s_prepare (s_cmd_t *c, Hs__Object *o, const Hs__Object *old)
{
    hs_obj_defaults (o, c->now_ns);
    hs_obj_normalize (o);
    char *msg = NULL;
    if (hs_obj_validate (o, &msg) < 0 ||
        (old && o->kind_case == HS__OBJECT__KIND_POD &&
         hs_pod_validate_update (old->pod, o->pod, &msg) < 0) ||
        (old && hs_data_validate_update (old, o, &msg) < 0)) {
        s_fail (c, HS__CODE__CODE_INVALID, "%s", msg);
        free (msg);
        return -1;
    }
    return s_check_size (c, o);
}

static int s_preconditions (s_cmd_t *c, const Hs__Write *w, const Hs__Object *cur)
{
    const Hs__ObjectMeta *m = hs_obj_meta (cur);
    hs_kind_t kind = hs_obj_kind (cur);
    if (!hs_empty (w->expected_uid) && !hs_streq (w->expected_uid, m->uid))
        return s_fail (c, HS__CODE__CODE_CONFLICT,
                       "Precondition failed: UID in precondition: %s, UID in object meta: %s",
                       w->expected_uid, m->uid);
    if (w->expected_revision != 0 && w->expected_revision != m->resource_version)
        return s_stale (c, kind, m->name);
    return 0;
}

/* The object a create/apply/update/update_status write carries, taken from
 * it, with metadata present. */
static int s_take_object (s_cmd_t *c, Hs__Write *w, Hs__Object **ret)
{
    hs_kind_t kind = hs_obj_kind (w->object);
    if (kind == HS_KIND_NONE || !hs_obj_body (w->object))
        return s_fail (c, HS__CODE__CODE_INVALID,
                       "object: Required value: the write carries no "
                       "object of a known kind");
    if (!hs_empty (w->kind) && hs_kind_parse (w->kind) != kind)
        return s_fail (c, HS__CODE__CODE_INVALID, "kind: Invalid value: \"%s\": the object is a %s",
                       w->kind, hs_kind_info (kind)->kind_name);
    Hs__Object *o = TAKE_PTR (w->object);
    if (!hs_obj_meta (o)) {
        const hs_kind_info_t *info = hs_kind_info (kind);
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field (info->descriptor, 1);
        *(Hs__ObjectMeta **)((char *)hs_obj_body (o) + f->offset) =
            hs_pb_new (&hs__object_meta__descriptor);
    }
    Hs__ObjectMeta *m = hs_obj_meta (o);
    if (hs_kind_info (kind)->namespaced && hs_empty (m->namespace_))
        hs_pb_set_str (&m->namespace_, "default");
    *ret = o;
    return 0;
}

/* ------------------------------------------------------------------ the ops */

/* op: the write's (create, or an apply of what does not exist); the role
 * table allowed it already. */
static int s_create (s_cmd_t *c, Hs__Object *o /* taken */, Hs__Result result, Hs__Op op)
{
    _cleanup_pb_ Hs__Object *obj = o;
    Hs__ObjectMeta *m = hs_obj_meta (obj);
    hs_kind_t kind = hs_obj_kind (obj);
    if (!hs_kind_info (kind)->namespaced) hs_pb_set_str (&m->namespace_, NULL);
    if (hs_empty (m->name) && !hs_empty (m->generate_name)) {
        for (int attempt = 0; attempt < GEN_NAME_TRIES; attempt++) {
            char suffix[6];
            hs_random_id (suffix, 5);
            /* Kubernetes shortens the prefix so the name stays valid. */
            hs_pb_take_str (&m->name, hs_sprintf ("%.58s%s", m->generate_name, suffix));
            _cleanup_free_ char *key = s_key_of (obj);
            MDB_val v;
            if (s_get (c->txn, c->s->objects, key, strlen (key), &v) == -ENOENT) break;
        }
    }
    /* Nothing is stored: what is created is all admission can judge. */
    store_authz_req_t req = {
        .op = op, .kind = kind, .ns = hs_s (m->namespace_), .name = hs_s (m->name), .obj = obj};
    if (s_authz_admit (c, &req) < 0) return -1;
    hs_pb_take_str (&m->uid, hs_uuid ());
    m->creation_timestamp = c->now_ns;
    m->generation = 1;
    m->resource_version = c->rev;
    m->deletion_timestamp = 0;
    hs_pb_free (m->deletion_grace_period_seconds);
    m->deletion_grace_period_seconds = NULL;
    if (kind == HS_KIND_POD) {
        if (!obj->pod->status) obj->pod->status = hs_pb_new (&hs__pod_status__descriptor);
        if (hs_empty (obj->pod->status->phase)) hs_pb_set_str (&obj->pod->status->phase, "Pending");
    }
    if (s_prepare (c, obj, NULL) < 0) return -1;
    _cleanup_free_ char *key = s_key_of (obj);
    MDB_val v;
    int r = s_get (c->txn, c->s->objects, key, strlen (key), &v);
    if (r == 0)
        return s_fail (c, HS__CODE__CODE_ALREADY_EXISTS, "%s \"%s\" already exists",
                       hs_kind_resource (kind), m->name);
    if (r != -ENOENT) return s_fail_db (c, r, "read the object");
    if (s_alloc_assign (c, NULL, obj) < 0) return -1;
    s_result (c, result, obj);
    return s_commit_obj (c, key, NULL, TAKE_PTR (obj), HS__EVENT_TYPE__ADDED);
}

/* Replaces what an apply/update may replace in merged (a copy of the stored
 * object) with what in carries. */
/* Annotations a controller writes on objects users apply (kube's revision
 * bookkeeping, hs-replicas' fence): an apply that does not name them keeps
 * them, as kubectl's three-way merge would. */
static bool s_controller_annotation (const char *key)
{
    return hs_startswith (key, "deployment.kubernetes.io/") ||
           hs_streq (key, "homeostat.io/replicas-sync");
}

static void s_keep_controller_annotations (const Hs__ObjectMeta *cur, Hs__ObjectMeta *in)
{
    for (size_t i = 0; i < cur->n_annotations; i++) {
        const char *k = cur->annotations[i]->key;
        if (!s_controller_annotation (k) ||
            hs_pb_map_get ((void *const *)in->annotations, in->n_annotations, k))
            continue;
        hs_pb_map_set ((void ***)&in->annotations, &in->n_annotations,
                       &hs__object_meta__annotations_entry__descriptor, k,
                       cur->annotations[i]->value);
    }
}

static void s_merge (Hs__Object *merged, Hs__Object *in, bool update)
{
    Hs__ObjectMeta *mm = hs_obj_meta (merged), *mi = hs_obj_meta (in);
    if (!update) s_keep_controller_annotations (mm, mi);
    s_swap_field (&mm->base, &mi->base, "labels");
    s_swap_field (&mm->base, &mi->base, "annotations");
    s_swap_field (&mm->base, &mi->base, "owner_references");
    if (update) s_swap_field (&mm->base, &mi->base, "finalizers");
    ProtobufCMessage *bm = hs_obj_body (merged), *bi = hs_obj_body (in);
    hs_kind_t kind = hs_obj_kind (merged);
    if (kind == HS_KIND_EVENT || kind == HS_KIND_ENDPOINTS || kind == HS_KIND_CONFIGMAP ||
        kind == HS_KIND_SECRET) {
        /* An Event, Endpoints, ConfigMap or Secret has no spec: everything
         * but its metadata (an Endpoints' subsets, a Secret's data and
         * type) is its content. */
        const ProtobufCMessageDescriptor *d = bm->descriptor;
        for (unsigned i = 0; i < d->n_fields; i++)
            if (strcmp (d->fields[i].name, "metadata") != 0)
                s_swap_field (bm, bi, d->fields[i].name);
        return;
    }
    const char *keep_node = NULL;
    if (kind == HS_KIND_POD && merged->pod->spec) keep_node = merged->pod->spec->node_name;
    char *node = hs_strdup (keep_node);
    s_swap_field (bm, bi, "spec");
    if (kind == HS_KIND_POD) {
        if (!merged->pod->spec) merged->pod->spec = hs_pb_new (&hs__pod_spec__descriptor);
        /* The manifest rarely names a node; binding did. */
        if (hs_empty (merged->pod->spec->node_name))
            hs_pb_set_str (&merged->pod->spec->node_name, node);
    }
    free (node);
}

/* Apply or update (op) of an existing object. Admission judges what would
 * be stored against what is. */
static int s_replace (s_cmd_t *c, const char *key, Hs__Object *cur, Hs__Object *in, Hs__Op op)
{
    bool update = op == HS__OP__OP_UPDATE;
    hs_kind_t kind = hs_obj_kind (cur);
    if (kind == HS_KIND_POD && in->pod->spec && !hs_empty (in->pod->spec->node_name) &&
        !hs_streq (in->pod->spec->node_name, cur->pod->spec ? cur->pod->spec->node_name : ""))
        return s_fail (c, HS__CODE__CODE_INVALID,
                       "Pod \"%s\" is invalid: spec.nodeName: Forbidden: a pod is bound to a node "
                       "by binding only",
                       hs_obj_meta (cur)->name);
    /* An Event applied again under its name (hs_event_send names Events
     * after what they say) is a repeat: count it, keep the first time. */
    if (kind == HS_KIND_EVENT && !update && in->event && cur->event &&
        hs_streq (in->event->reason, cur->event->reason) &&
        hs_streq (in->event->message, cur->event->message)) {
        in->event->count = cur->event->count + (in->event->count > 0 ? in->event->count : 1);
        if (cur->event->first_timestamp) in->event->first_timestamp = cur->event->first_timestamp;
    }
    _cleanup_pb_ Hs__Object *merged = hs_pb_dup (cur);
    size_t fin_before = hs_obj_meta (cur)->n_finalizers;
    s_merge (merged, in, update);
    if (s_prepare (c, merged, cur) < 0) return -1;
    if (s_alloc_assign (c, cur, merged) < 0) return -1;
    Hs__ObjectMeta *m = hs_obj_meta (merged);
    store_authz_req_t req = {.op = op,
                             .kind = kind,
                             .ns = hs_s (m->namespace_),
                             .name = hs_s (m->name),
                             .stored = cur,
                             .obj = merged};
    if (s_authz_admit (c, &req) < 0) return -1;
    if (hs_pb_equal (merged, cur)) {
        s_result (c, HS__RESULT__RESULT_UNCHANGED, cur);
        return 0;
    }
    if (!s_sub_equal (s_sub (merged, "spec"), s_sub (cur, "spec"))) m->generation++;
    m->resource_version = c->rev;
    /* An update that drops the last finalizer of an object being deleted
     * completes the deletion. */
    if (update && fin_before > 0 && m->n_finalizers == 0 && m->deletion_timestamp != 0 &&
        (kind != HS_KIND_POD || !s_bound (merged->pod) || hs_pod_terminal (merged->pod) ||
         (m->deletion_grace_period_seconds && m->deletion_grace_period_seconds->value == 0))) {
        s_result (c, HS__RESULT__RESULT_DELETED, merged);
        return s_remove_obj (c, key, TAKE_PTR (merged));
    }
    s_result (c, HS__RESULT__RESULT_CONFIGURED, merged);
    return s_commit_obj (c, key, cur, TAKE_PTR (merged), HS__EVENT_TYPE__MODIFIED);
}

static int s_apply_like (s_cmd_t *c, Hs__Write *w, Hs__Op op)
{
    Hs__Object *taken = NULL;
    if (s_take_object (c, w, &taken) < 0) return -1;
    _cleanup_pb_ Hs__Object *in = taken;
    hs_kind_t kind = hs_obj_kind (in);
    const hs_kind_info_t *info = hs_kind_info (kind);
    Hs__ObjectMeta *mi = hs_obj_meta (in);
    store_authz_req_t req = {.op = op,
                             .kind = kind,
                             .ns = info->namespaced ? hs_s (mi->namespace_) : "",
                             .name = hs_s (mi->name)};
    if (s_authz_verb (c, &req) < 0) return -1;
    if (op == HS__OP__OP_CREATE) return s_create (c, TAKE_PTR (in), HS__RESULT__RESULT_CREATED, op);
    if (hs_empty (mi->name))
        return s_fail (c, HS__CODE__CODE_INVALID,
                       "%s \"\" is invalid: metadata.name: Required value: name is required",
                       info->kind_name);
    if (!info->namespaced) hs_pb_set_str (&mi->namespace_, NULL);
    _cleanup_free_ char *key = s_key_of (in);
    _cleanup_pb_ Hs__Object *cur = NULL;
    int r = s_get_obj (c, key, &cur);
    if (r == -ENOENT) {
        if (op == HS__OP__OP_APPLY)
            return s_create (c, TAKE_PTR (in), HS__RESULT__RESULT_CREATED, op);
        return s_not_found (c, kind, mi->name);
    }
    if (r < 0) return s_fail_db (c, r, "read the object");
    if (s_preconditions (c, w, cur) < 0) return -1;

    if (op != HS__OP__OP_UPDATE_STATUS) return s_replace (c, key, cur, in, op);

    if (!s_has_field (kind, "status"))
        return s_fail (c, HS__CODE__CODE_INVALID,
                       "%s \"%s\" is invalid: status: Forbidden: %s has "
                       "no status",
                       info->kind_name, mi->name, info->kind_name);
    _cleanup_pb_ Hs__Object *merged = hs_pb_dup (cur);
    s_swap_field (hs_obj_body (merged), hs_obj_body (in), "status");
    if (s_prepare (c, merged, NULL) < 0) return -1;
    req.stored = cur;
    req.obj = merged;
    if (s_authz_admit (c, &req) < 0) return -1;
    if (hs_pb_equal (merged, cur)) {
        s_result (c, HS__RESULT__RESULT_UNCHANGED, cur);
        return 0;
    }
    hs_obj_meta (merged)->resource_version = c->rev;
    s_result (c, HS__RESULT__RESULT_CONFIGURED, merged);
    return s_commit_obj (c, key, cur, TAKE_PTR (merged), HS__EVENT_TYPE__MODIFIED);
}

/* The kind, namespace and name a delete or bind names, into *ret_req
 * (borrowing w's strings; op set from w), and the store key. */
static int s_target (s_cmd_t *c, const Hs__Write *w, hs_kind_t fallback, store_authz_req_t *ret_req,
                     char **ret_key)
{
    hs_kind_t kind = hs_kind_parse (w->kind);
    const char *ns = w->namespace_, *name = w->name;
    Hs__ObjectMeta *om = hs_obj_meta (w->object);
    if (kind == HS_KIND_NONE && hs_empty (w->kind)) kind = hs_obj_kind (w->object);
    if (kind == HS_KIND_NONE && hs_empty (w->kind)) kind = fallback;
    if (om && hs_empty (name)) {
        name = om->name;
        if (hs_empty (ns)) ns = om->namespace_;
    }
    if (kind == HS_KIND_NONE)
        return s_fail (c, HS__CODE__CODE_INVALID, "kind: Unsupported value: \"%s\"",
                       hs_s (w->kind));
    const hs_kind_info_t *info = hs_kind_info (kind);
    if (hs_empty (name)) return s_fail (c, HS__CODE__CODE_INVALID, "name: Required value");
    if (info->namespaced && hs_empty (ns)) ns = "default";
    *ret_req = (store_authz_req_t){
        .op = w->op, .kind = kind, .ns = info->namespaced ? ns : "", .name = name};
    *ret_key = s_key (kind, ns, name);
    return 0;
}

/* propagationPolicy Orphan: the dependents of owner (the pods and replica
 * sets of its namespace that name its uid) lose that owner reference in
 * the same transaction, so no garbage collector ever sees them orphaned
 * by a deletion that meant to keep them. */
static void s_keys_free (char **keys, size_t n)
{
    for (size_t i = 0; i < n; i++) free (keys[i]);
    free (keys);
}

static int s_orphan_dependents (s_cmd_t *c, const Hs__ObjectMeta *owner)
{
    static const char *const kinds[] = {"pod", "replicaset"};
    for (size_t k = 0; k < HS_ARRAY_LEN (kinds); k++) {
        _cleanup_free_ char *prefix = hs_sprintf ("%s/%s/", kinds[k], hs_s (owner->namespace_));
        size_t plen = strlen (prefix), n = 0;
        char **keys = NULL;
        MDB_cursor *cur;
        int rc = mdb_cursor_open (c->txn, c->s->objects, &cur);
        if (rc) return s_fail_db (c, hs_db_errno (rc), "read the dependents");
        MDB_val kv = {plen, prefix}, v;
        for (rc = mdb_cursor_get (cur, &kv, &v, MDB_SET_RANGE);
             rc == 0 && kv.mv_size >= plen && memcmp (kv.mv_data, prefix, plen) == 0;
             rc = mdb_cursor_get (cur, &kv, &v, MDB_NEXT)) {
            Hs__Object *o = hs__object__unpack (&hs_pb_allocator, v.mv_size, v.mv_data);
            const Hs__ObjectMeta *m = hs_obj_meta (o);
            for (size_t i = 0; m && i < m->n_owner_references; i++)
                if (hs_streq (m->owner_references[i]->uid, owner->uid)) {
                    hs_pb_push ((void ***)&keys, &n, hs_strndup (kv.mv_data, kv.mv_size));
                    break;
                }
            hs_pb_free (o);
        }
        mdb_cursor_close (cur);
        /* written after the scan: no cursor is open while the tree changes */
        for (size_t j = 0; j < n; j++) {
            Hs__Object *o = NULL;
            int r = s_get_obj (c, keys[j], &o);
            if (r < 0) {
                s_keys_free (keys, n);
                return s_fail_db (c, r, "read a dependent");
            }
            Hs__Object *upd = hs_pb_dup (o);
            Hs__ObjectMeta *m = hs_obj_meta (upd);
            size_t out = 0;
            for (size_t i = 0; i < m->n_owner_references; i++) {
                if (hs_streq (m->owner_references[i]->uid, owner->uid))
                    hs_pb_free (m->owner_references[i]);
                else
                    m->owner_references[out++] = m->owner_references[i];
            }
            m->n_owner_references = out;
            m->resource_version = c->rev;
            r = s_commit_obj (c, keys[j], o, upd, HS__EVENT_TYPE__MODIFIED);
            hs_pb_free (o);
            if (r < 0) {
                s_keys_free (keys, n);
                return r;
            }
        }
        s_keys_free (keys, n);
    }
    return 0;
}

static int s_delete (s_cmd_t *c, const Hs__Write *w)
{
    store_authz_req_t req;
    _cleanup_free_ char *key = NULL;
    if (s_target (c, w, HS_KIND_NONE, &req, &key) < 0) return -1;
    hs_kind_t kind = req.kind;
    const char *name = req.name;
    if (s_authz_verb (c, &req) < 0) return -1;
    if (w->grace_period_seconds && w->grace_period_seconds->value < 0)
        return s_fail (
            c, HS__CODE__CODE_INVALID,
            "gracePeriodSeconds: Invalid value: %lld: must be greater than or equal to 0",
            (long long)w->grace_period_seconds->value);
    Hs__Object *cur = NULL;
    int r = s_get_obj (c, key, &cur);
    if (r == -ENOENT) return s_not_found (c, kind, name);
    if (r < 0) return s_fail_db (c, r, "read the object");
    _cleanup_pb_ Hs__Object *obj = cur;
    if (s_preconditions (c, w, obj) < 0) return -1;
    req.stored = obj;
    if (s_authz_admit (c, &req) < 0) return -1;
    Hs__ObjectMeta *m = hs_obj_meta (obj);
    /* A mirror pod stands for a static pod its node's agent runs from a
     * manifest: only that agent removes it (naming its uid). */
    if (kind == HS_KIND_POD && hs_empty (w->expected_uid) &&
        hs_pb_map_get ((void *const *)m->annotations, m->n_annotations, HS_MIRROR_ANNOTATION))
        return s_fail (c, HS__CODE__CODE_FORBIDDEN,
                       "pods \"%s\" is forbidden: it is the mirror of a static pod of node \"%s\"; "
                       "remove its manifest from the node's --manifests directory instead",
                       name, obj->pod->spec ? hs_s (obj->pod->spec->node_name) : "");

    if (hs_streq (w->propagation_policy, "Orphan") && s_orphan_dependents (c, m) < 0) return -1;
    bool graceful = m->n_finalizers > 0;
    int64_t grace = 0;
    if (kind == HS_KIND_POD && s_bound (obj->pod) && !hs_pod_terminal (obj->pod) &&
        (!w->grace_period_seconds || w->grace_period_seconds->value > 0)) {
        graceful = true;
        const Hs__Int64Value *tg = obj->pod->spec->termination_grace_period_seconds;
        grace = w->grace_period_seconds ? w->grace_period_seconds->value : tg ? tg->value : 30;
    }
    if (!graceful) {
        m->resource_version = c->rev;
        s_result (c, HS__RESULT__RESULT_DELETED, obj);
        return s_remove_obj (c, key, TAKE_PTR (obj));
    }
    /* Graceful: the agent stops the processes, then deletes with grace 0. A
     * second graceful delete keeps the first timestamp and may only shorten
     * the grace period. */
    _cleanup_pb_ Hs__Object *upd = hs_pb_dup (obj);
    m = hs_obj_meta (upd);
    bool changed = false;
    if (m->deletion_timestamp == 0) {
        m->deletion_timestamp = c->now_ns;
        changed = true;
    }
    if (!m->deletion_grace_period_seconds) {
        m->deletion_grace_period_seconds = hs_pb_new (&hs__int64_value__descriptor);
        m->deletion_grace_period_seconds->value = grace;
        changed = true;
    } else if (grace < m->deletion_grace_period_seconds->value) {
        m->deletion_grace_period_seconds->value = grace;
        changed = true;
    }
    if (!changed) {
        s_result (c, HS__RESULT__RESULT_DELETING, obj);
        return 0;
    }
    m->resource_version = c->rev;
    s_result (c, HS__RESULT__RESULT_DELETING, upd);
    return s_commit_obj (c, key, obj, TAKE_PTR (upd), HS__EVENT_TYPE__MODIFIED);
}

/* Room left on a node for one more pod's requests. */
static int s_check_room (s_cmd_t *c, const Hs__Node *node, const char *node_name,
                         const Hs__Pod *pod)
{
    s_row_t used;
    int r = s_usage_get (c->txn, c->s->nodeuse, node_name, &used);
    if (r < 0) return s_fail_db (c, r, "read the node's usage");
    hs_resources_t want, has;
    hs_pod_requests (pod, &want);
    hs_node_allocatable (node, &has);
    static const char *names[3] = {"cpu", "memory", "pods"};
    const int64_t need[3] = {want.cpu_milli, want.mem_bytes, want.pods};
    const int64_t avail[3] = {has.cpu_milli, has.mem_bytes, has.pods};
    hs_buf_t why = {0};
    for (int i = 0; i < 3; i++) {
        if (avail[i] < 0) continue; /* not reported: unlimited */
        if (hs_sat_add (used.v[i], need[i]) > avail[i])
            hs_buf_printf (&why, "%sInsufficient %s", why.len ? ", " : "", names[i]);
    }
    if (why.len == 0) return 0;
    _cleanup_free_ char *text = hs_buf_take (&why);
    return s_fail (c, HS__CODE__CODE_CONFLICT, "node \"%s\" lacks room: %s", node_name, text);
}

static void s_set_scheduled (Hs__Pod *pod, int64_t now_ns)
{
    if (!pod->status) pod->status = hs_pb_new (&hs__pod_status__descriptor);
    Hs__PodStatus *st = pod->status;
    Hs__PodCondition *cond = NULL;
    for (size_t i = 0; i < st->n_conditions; i++)
        if (hs_streq (st->conditions[i]->type, "PodScheduled")) cond = st->conditions[i];
    if (!cond) {
        cond = hs_pb_new (&hs__pod_condition__descriptor);
        hs_pb_set_str (&cond->type, "PodScheduled");
        hs_pb_push ((void ***)&st->conditions, &st->n_conditions, cond);
    }
    if (!hs_streq (cond->status, "True")) {
        hs_pb_set_str (&cond->status, "True");
        cond->last_transition_time = now_ns;
    }
    hs_pb_set_str (&cond->reason, NULL);
    hs_pb_set_str (&cond->message, NULL);
}

static int s_bind (s_cmd_t *c, const Hs__Write *w)
{
    store_authz_req_t req;
    _cleanup_free_ char *key = NULL;
    if (s_target (c, w, HS_KIND_POD, &req, &key) < 0) return -1;
    hs_kind_t kind = req.kind;
    const char *name = req.name;
    req.bind_node = w->node_name;
    if (s_authz_verb (c, &req) < 0) return -1;
    if (kind != HS_KIND_POD)
        return s_fail (c, HS__CODE__CODE_INVALID,
                       "kind: Unsupported value: \"%s\": only pods are "
                       "bound to nodes",
                       hs_kind_info (kind)->name);
    if (hs_empty (w->node_name))
        return s_fail (c, HS__CODE__CODE_INVALID, "target.name: Required value: bind needs a node");
    Hs__Object *cur = NULL;
    int r = s_get_obj (c, key, &cur);
    if (r == -ENOENT) return s_not_found (c, HS_KIND_POD, name);
    if (r < 0) return s_fail_db (c, r, "read the pod");
    _cleanup_pb_ Hs__Object *pod = cur;
    if (s_preconditions (c, w, pod) < 0) return -1;
    req.stored = pod;
    if (s_authz_admit (c, &req) < 0) return -1;
    if (s_bound (pod->pod))
        return s_fail (c, HS__CODE__CODE_CONFLICT, "pod \"%s\" is already assigned to node \"%s\"",
                       name, pod->pod->spec->node_name);
    if (hs_obj_meta (pod)->deletion_timestamp != 0)
        return s_fail (c, HS__CODE__CODE_CONFLICT, "pod \"%s\" is being deleted", name);
    if (hs_pod_terminal (pod->pod))
        return s_fail (c, HS__CODE__CODE_CONFLICT, "pod \"%s\" has already terminated", name);

    _cleanup_free_ char *nkey = s_key (HS_KIND_NODE, "", w->node_name);
    _cleanup_pb_ Hs__Object *node = NULL;
    r = s_get_obj (c, nkey, &node);
    if (r == -ENOENT) return s_not_found (c, HS_KIND_NODE, w->node_name);
    if (r < 0) return s_fail_db (c, r, "read the node");
    if (node->node->spec && node->node->spec->unschedulable)
        return s_fail (c, HS__CODE__CODE_FORBIDDEN, "node \"%s\" is unschedulable", w->node_name);
    if (s_check_room (c, node->node, w->node_name, pod->pod) < 0) return -1;

    _cleanup_pb_ Hs__Object *bound = hs_pb_dup (pod);
    if (!bound->pod->spec) bound->pod->spec = hs_pb_new (&hs__pod_spec__descriptor);
    hs_pb_set_str (&bound->pod->spec->node_name, w->node_name);
    s_set_scheduled (bound->pod, c->now_ns);
    hs_obj_meta (bound)->resource_version = c->rev;
    s_result (c, HS__RESULT__RESULT_BOUND, bound);
    return s_commit_obj (c, key, pod, TAKE_PTR (bound), HS__EVENT_TYPE__MODIFIED);
}

static int s_write (s_cmd_t *c, Hs__Write *w)
{
    switch (w->op) {
    case HS__OP__OP_CREATE:
    case HS__OP__OP_APPLY:
    case HS__OP__OP_UPDATE:
    case HS__OP__OP_UPDATE_STATUS: return s_apply_like (c, w, w->op);
    case HS__OP__OP_DELETE: return s_delete (c, w);
    case HS__OP__OP_BIND: return s_bind (c, w);
    default: return s_fail (c, HS__CODE__CODE_INVALID, "op: Unsupported value: %d", (int)w->op);
    }
}

/* ------------------------------------------------------------------ commands */

/* Records ack (taken) and packs it, unless the caller already did (len
 * not 0: at off in out->bytes). */
static void s_push_ack (store_out_t *out, const char *client_id, Hs__Ack *ack, size_t off,
                        size_t len, size_t cmd)
{
    if (out->n_acks == out->cap_acks) {
        out->cap_acks = out->cap_acks ? out->cap_acks * 2 : 64;
        out->acks = hs_realloc (out->acks, out->cap_acks * sizeof *out->acks);
    }
    if (len == 0) s_pack (out, &ack->base, &off, &len);
    out->acks[out->n_acks++] =
        (store_ack_t){S_JOIN ("ack.", client_id, "/"), ack, off, len, cmd, 0};
}

static void s_drop_events (store_out_t *out, size_t keep)
{
    while (out->n_events > keep) {
        store_event_t *e = &out->events[--out->n_events];
        free (e->topic);
        hs_pb_free (e->event);
    }
}

/* Acks worth remembering: the answer would be the same on a retry. A store
 * that was full or broken may do better next time. */
static bool s_definitive (Hs__Code code)
{
    return code != HS__CODE__CODE_UNAVAILABLE && code != HS__CODE__CODE_INTERNAL;
}

/* Remembers an ack (packed: len bytes at packed) under reqkey in the batch
 * transaction. */
static int s_remember (store_t *s, MDB_txn *txn, const char *reqkey, size_t klen, int64_t now,
                       const uint8_t *packed, size_t len)
{
    MDB_val k = {klen, (void *)reqkey}, v = {sizeof now + len, NULL};
    int rc = mdb_put (txn, s->requests, &k, &v, MDB_RESERVE);
    if (rc) return hs_db_errno (rc);
    memcpy (v.mv_data, &now, sizeof now);
    memcpy ((uint8_t *)v.mv_data + sizeof now, packed, len);
    store_wal_effect_put (&s->fx, HS_DB_REQUESTS, reqkey, klen, &now, sizeof now, packed, len);
    uint8_t tkey[8 + MAX_REQ_KEY];
    uint64_t t = (uint64_t)now;
    for (int i = 0; i < 8; i++)
        tkey[i] = (uint8_t)(t >> (56 - 8 * i)); /* big-endian: sorts by time */
    memcpy (tkey + 8, reqkey, klen);
    return s_put (s, txn, s->reqtime, tkey, 8 + klen, "", 0);
}

/* Applies one command, sent by id (NULL: from the store itself or an
 * insecure bus), inside the batch transaction. *rev is the batch's
 * revision so far. Returns the ack, and -errno in *ret_broken when the batch
 * transaction itself failed. When the ack was packed (to be remembered),
 * *ret_off and *ret_len say where in out->bytes; otherwise *ret_len is 0.
 * Answers are remembered under identity\nclient_id\nrequest_id (identity
 * "" when there is none): one identity can neither replay another's answer
 * nor take its request ids first (docs/protocol.md). Neither an identity
 * nor a client id holds '\n' (store_authz_id_parse, hs_topic_id_ok), so
 * keys of different triples never meet. */
static Hs__Ack *s_command (store_t *s, MDB_txn *txn, Hs__Command *cmd, const store_authz_id_t *id,
                           int64_t now, int64_t *rev, store_out_t *out, int *ret_broken,
                           size_t *ret_off, size_t *ret_len)
{
    *ret_len = 0;
    Hs__Ack *ack = hs_pb_new (&hs__ack__descriptor);
    hs_pb_set_str (&ack->request_id, cmd->request_id);
    char reqkey[MAX_REQ_KEY + 2];
    const char *ident = id && id->identity ? id->identity : "";
    size_t ilen = strlen (ident), clen = strlen (cmd->client_id);
    size_t crlen = clen + 1 + strlen (cmd->request_id), klen = ilen + 1 + crlen;
    bool remember = !hs_empty (cmd->request_id) && !cmd->dry_run;
    if (id && id->identity && !id->well_formed) {
        /* hs-bus stamps only identities it was given; this one could not
         * be told apart from others in the request table. */
        s->forbidden++;
        hs_log_once (HS_LOG_WARN, "store:bad-identity",
                     "refused a command whose identity stamp is empty, over %d bytes or not "
                     "printable ASCII (counted in hb.store's forbidden; further ones not logged)",
                     STORE_AUTHZ_MAX_IDENTITY);
        ack->code = HS__CODE__CODE_FORBIDDEN;
        hs_pb_set_str (&ack->message, "forbidden: the identity stamped on this command is empty, "
                                      "over 300 bytes or not printable ASCII");
        ack->revision = *rev;
        return ack;
    }
    if (crlen > MAX_REQ_CR || klen > MAX_REQ_KEY) {
        ack->code = HS__CODE__CODE_INVALID;
        hs_pb_take_str (&ack->message,
                        crlen > MAX_REQ_CR
                            ? hs_strdup ("request_id: Too long: client and request id must have "
                                         "at most 400 bytes together")
                            : hs_sprintf ("request_id: Too long: the identity (%zu bytes), client "
                                          "and request id must have at most %d bytes together",
                                          ilen, MAX_REQ_KEY - 2));
        ack->revision = *rev;
        return ack;
    }
    memcpy (reqkey, ident, ilen);
    reqkey[ilen] = '\n';
    memcpy (reqkey + ilen + 1, cmd->client_id, clen);
    reqkey[ilen + 1 + clen] = '\n';
    memcpy (reqkey + ilen + 1 + clen + 1, cmd->request_id, crlen - clen - 1);

    if (remember) {
        MDB_val v;
        int r = s_get (txn, s->requests, reqkey, klen, &v);
        if (r == 0 && v.mv_size >= sizeof (int64_t)) {
            Hs__Ack *old = hs__ack__unpack (&hs_pb_allocator, v.mv_size - sizeof (int64_t),
                                            (const uint8_t *)v.mv_data + sizeof (int64_t));
            if (old) {
                hs_pb_free (ack);
                old->replayed = true;
                return old;
            }
        }
    }

    s_cmd_t c = {
        .s = s, .out = out, .id = id, .now_ns = now, .rev = *rev + 1, .dry_run = cmd->dry_run};
    int failed = -1;
    if (cmd->n_writes == 0) {
        s_fail (&c, HS__CODE__CODE_INVALID, "writes: Required value: the command has no writes");
        failed = 0;
    } else if (cmd->n_writes > STORE_MAX_WRITES) {
        s_fail (&c, HS__CODE__CODE_INVALID,
                "writes: Too many: %zu: must have at most %d writes in one command", cmd->n_writes,
                STORE_MAX_WRITES);
        failed = 0;
    } else if (cmd->n_writes == 1 && !cmd->dry_run) {
        /* The common case needs no nested transaction (which costs a few
         * MiB of allocation and a copy of every page it touches): a single
         * write checks everything before its first put, so a refusal leaves
         * nothing to undo. A failing put poisons the batch transaction. */
        c.txn = txn;
        if (s_write (&c, cmd->writes[0]) < 0) {
            failed = 0;
            if (c.db_error) *ret_broken = c.db_error;
        }
    } else {
        /* The child's effects are kept only if it commits. */
        size_t fx_mark = s->fx.len;
        int rc = mdb_txn_begin (s->env, txn, 0, &c.txn);
        if (rc) {
            s_fail_db (&c, hs_db_errno (rc), "begin a transaction");
            failed = 0;
        } else {
            size_t mark = out->n_events;
            for (size_t i = 0; i < cmd->n_writes && failed < 0; i++)
                if (s_write (&c, cmd->writes[i]) < 0) failed = (int)i;
            if (failed < 0 && !c.dry_run) {
                rc = mdb_txn_commit (c.txn);
                if (rc) {
                    s_fail_db (&c, hs_db_errno (rc), "commit the command");
                    failed = 0;
                }
            } else {
                mdb_txn_abort (c.txn);
            }
            if (failed >= 0 || c.dry_run) s->fx.len = fx_mark;
            if (failed >= 0) s_drop_events (out, mark);
        }
    }
    if (failed >= 0) {
        ack->code = c.code;
        hs_pb_take_str (&ack->message, c.msg);
        ack->failed_index = failed;
        ack->revision = *rev;
        for (size_t i = 0; i < c.n_results; i++) hs_pb_free (c.results[i]);
        free (c.results);
    } else {
        if (c.changed && !c.dry_run) *rev = c.rev;
        ack->code = HS__CODE__CODE_OK;
        ack->revision = *rev;
        ack->results = c.results;
        ack->n_results = c.n_results;
    }
    if (remember && s_definitive (ack->code)) {
        s_pack (out, &ack->base, ret_off, ret_len);
        int r = s_remember (s, txn, reqkey, klen, now, out->bytes + *ret_off, *ret_len);
        if (r < 0) *ret_broken = r;
    }
    return ack;
}

/* Forgets request ids older than the TTL, a bounded number per batch. */
static int s_prune (store_t *s, MDB_txn *txn, int64_t now, size_t limit)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open (txn, s->reqtime, &cur);
    if (rc) return hs_db_errno (rc);
    MDB_val k, v;
    size_t n = 0;
    for (rc = mdb_cursor_get (cur, &k, &v, MDB_FIRST); rc == 0 && n < limit;
         rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT), n++) {
        if (k.mv_size < 8) {
            store_wal_effect_del (&s->fx, HS_DB_REQTIME, k.mv_data, k.mv_size);
            rc = mdb_cursor_del (cur, 0);
            if (rc) break;
            continue;
        }
        const uint8_t *p = k.mv_data;
        uint64_t t = 0;
        for (int i = 0; i < 8; i++) t = (t << 8) | p[i];
        if ((int64_t)t > now - s->ttl_ns) break;
        MDB_val rk = {k.mv_size - 8, (uint8_t *)k.mv_data + 8}, rv;
        if (mdb_get (txn, s->requests, &rk, &rv) == 0 && rv.mv_size >= 8) {
            int64_t stored;
            memcpy (&stored, rv.mv_data, sizeof stored);
            if (stored == (int64_t)t) {
                int r = s_del (s, txn, s->requests, rk.mv_data, rk.mv_size);
                if (r < 0) {
                    mdb_cursor_close (cur);
                    return r;
                }
            }
        }
        store_wal_effect_del (&s->fx, HS_DB_REQTIME, k.mv_data, k.mv_size);
        rc = mdb_cursor_del (cur, 0);
        if (rc) break;
    }
    mdb_cursor_close (cur);
    return rc && rc != MDB_NOTFOUND ? hs_db_errno (rc) : 0;
}

void store_out_reset (store_out_t *out)
{
    s_drop_events (out, 0);
    for (size_t i = 0; i < out->n_acks; i++) {
        free (out->acks[i].topic);
        hs_pb_free (out->acks[i].ack);
    }
    out->n_acks = 0;
    out->n_bytes = 0;
    out->unanswerable = 0;
    out->commit_error = 0;
}

void store_out_clear (store_out_t *out)
{
    store_out_reset (out);
    free (out->events);
    free (out->acks);
    free (out->bytes);
    memset (out, 0, sizeof *out);
}

/* The batch did not commit: no event happened, and every answer becomes
 * Unavailable (clients retry with the same request id). */
static void s_fail_batch_why (store_t *s, store_out_t *out, int err, const char *why);

static void s_fail_batch (store_t *s, store_out_t *out, int err)
{
    s_fail_batch_why (s, out, err, NULL);
}

static void s_fail_batch_why (store_t *s, store_out_t *out, int err, const char *why)
{
    s_drop_events (out, 0);
    out->commit_error = err;
    for (size_t i = 0; i < out->n_acks; i++) {
        /* Replays too: the ack they repeat may come from this very batch. */
        Hs__Ack *a = out->acks[i].ack;
        a->replayed = false;
        for (size_t j = 0; j < a->n_results; j++) hs_pb_free (a->results[j]);
        hs_pb_release (a->results);
        a->results = NULL;
        a->n_results = 0;
        a->code = HS__CODE__CODE_UNAVAILABLE;
        a->revision = s->revision;
        hs_pb_take_str (&a->message,
                        why ? hs_strdup (why)
                            : hs_sprintf ("store cannot commit: %s; retry", strerror (-err)));
        s_pack (out, &a->base, &out->acks[i].off, &out->acks[i].len);
    }
}

/* ------------------------------------------------------------------ open and heartbeat */

/* Not recorded in the log: it runs at open, in the recovery transaction,
 * which commits before anything is acked. */
static int s_rebuild_usage (store_t *s, MDB_txn *txn)
{
    int rc = mdb_drop (txn, s->nodeuse, 0);
    if (rc) return hs_db_errno (rc);
    MDB_cursor *cur;
    rc = mdb_cursor_open (txn, s->objects, &cur);
    if (rc) return hs_db_errno (rc);
    MDB_val k = {4, "pod/"}, v;
    int r = 0;
    for (rc = mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE);
         rc == 0 && k.mv_size >= 4 && memcmp (k.mv_data, "pod/", 4) == 0;
         rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT)) {
        Hs__Object *o = hs__object__unpack (&hs_pb_allocator, v.mv_size, v.mv_data);
        hs_resources_t u;
        const char *node = s_pod_node (o, &u);
        if (node) r = s_usage_add (s, txn, node, &u, +1);
        hs_pb_free (o);
        if (r < 0) break;
    }
    mdb_cursor_close (cur);
    if (r < 0) return r;
    return rc && rc != MDB_NOTFOUND ? hs_db_errno (rc) : 0;
}

/* ------------------------------------------------------------------ Secrets at open */

static void s_open_error (store_t *s, char *msg /* taken */)
{
    free (s->open_error);
    s->open_error = msg;
}

/* At open, in the recovery transaction (after the log's replay, not
 * logged itself: it commits before anything is acked): checks that every
 * sealed Secret opens with the keyring, creates the key file if there is
 * none and nothing is sealed yet, and seals anew with the first key every
 * Secret that is in clear (a restored snapshot, an older store) or sealed
 * with another key (a rotation). -ENOKEY / -EBADMSG with s->open_error
 * naming the key file, or another -errno. */
static int s_secrets_at_open (store_t *s, MDB_txn *txn)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open (txn, s->objects, &cur);
    if (rc) return hs_db_errno (rc);
    char **todo = NULL; /* keys to seal anew */
    size_t n_todo = 0, n_sealed = 0;
    int r = 0;
    MDB_val k = {7, "secret/"}, v;
    for (rc = mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE);
         rc == 0 && s_secret_key (k.mv_data, k.mv_size) && r == 0;
         rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT)) {
        bool sealed = hs_db_is_sealed (v.mv_data, v.mv_size);
        if (sealed) n_sealed++;
        if (sealed && s->keys) {
            uint8_t *plain = NULL;
            size_t plen = 0;
            r = store_secret_open (s->keys, v.mv_data, v.mv_size, &plain, &plen);
            store_secret_free_plain (plain, plen);
            const char *name = "?";
            size_t nlen = 1;
            store_secret_key_name (v.mv_data, v.mv_size, &name, &nlen);
            if (r == -ENOKEY)
                s_open_error (s, hs_sprintf ("cannot decrypt %.*s: it is encrypted with key "
                                             "\"%.*s\", which the key file %s does not hold",
                                             (int)k.mv_size, (char *)k.mv_data, (int)nlen, name,
                                             s->key_path));
            else if (r < 0)
                s_open_error (s, hs_sprintf ("cannot decrypt %.*s with key \"%.*s\" of the key "
                                             "file %s: not the key it was encrypted with",
                                             (int)k.mv_size, (char *)k.mv_data, (int)nlen, name,
                                             s->key_path));
            if (r == 0 && store_secret_is_primary (s->keys, v.mv_data, v.mv_size)) continue;
        }
        if (r == 0 && !sealed) {
            /* in clear: only a value that is a Secret (a restore wrote it) */
            Hs__Object *o = hs__object__unpack (&hs_pb_allocator, v.mv_size, v.mv_data);
            bool secret = o && o->kind_case == HS__OBJECT__KIND_SECRET;
            hs_pb_free (o);
            if (!secret) continue;
            s->secrets_were_clear++;
        }
        if (r == 0) hs_pb_push ((void ***)&todo, &n_todo, hs_strndup (k.mv_data, k.mv_size));
    }
    mdb_cursor_close (cur);
    if (r == 0 && rc && rc != MDB_NOTFOUND) r = hs_db_errno (rc);
    if (r == 0 && !s->keys) {
        if (n_sealed > 0) {
            s_open_error (s, hs_sprintf ("the store holds %zu encrypted Secret%s, but the key "
                                         "file %s does not exist (restore it, or name it with "
                                         "--encryption-key)",
                                         n_sealed, n_sealed == 1 ? "" : "s", s->key_path));
            r = -ENOKEY;
        } else {
            char *error = NULL;
            r = store_keyring_create (s->key_path, &s->keys, &error);
            if (r < 0)
                s_open_error (s, error);
            else
                log_info ("created the encryption key file %s (mode 0600): Secrets are encrypted "
                          "at rest with it; back it up apart from the data",
                          s->key_path);
        }
    }
    /* written after the scan: no cursor is open while the tree changes */
    for (size_t i = 0; i < n_todo && r == 0; i++) {
        MDB_val tk = {strlen (todo[i]), todo[i]}, tv;
        rc = mdb_get (txn, s->objects, &tk, &tv);
        if (rc) {
            r = hs_db_errno (rc);
            break;
        }
        uint8_t *plain = NULL;
        size_t plen = tv.mv_size;
        if (hs_db_is_sealed (tv.mv_data, tv.mv_size)) {
            r = store_secret_open (s->keys, tv.mv_data, tv.mv_size, &plain, &plen);
            if (r < 0) break;
        } else {
            plain = hs_malloc (plen ? plen : 1);
            memcpy (plain, tv.mv_data, plen);
        }
        size_t n = s_seal (s, plain, plen);
        store_secret_free_plain (plain, plen);
        r = hs_db_errno (mdb_put (txn, s->objects, &tk, &(MDB_val){n, s->seal_buf}, 0));
        if (r == 0) s->secrets_rewritten++;
    }
    s_keys_free (todo, n_todo);
    if (r == 0 && s->secrets_rewritten > 0)
        log_info ("encrypted %llu Secrets anew with key \"%s\" of %s",
                  (unsigned long long)s->secrets_rewritten, store_keyring_primary (s->keys),
                  s->key_path);
    return r;
}

/* Applies one log record's effects to txn (recovery). */
typedef struct {
    store_t *s;
    MDB_txn *txn;
    uint64_t committed; /* LMDB's wal_batch: records up to it are in LMDB already */
    uint64_t last;      /* the last record replayed */
    size_t replayed, skipped;
} s_replay_t;

static int s_replay_record (void *arg, uint64_t batch, const uint8_t *payload, size_t len)
{
    s_replay_t *rp = arg;
    if (batch <= rp->committed) {
        rp->skipped++;
        return 0;
    }
    const MDB_dbi dbis[HS_DB__COUNT] = {
        [HS_DB_OBJECTS] = rp->s->objects, [HS_DB_STREAMS] = rp->s->streams,
        [HS_DB_META] = rp->s->meta,       [HS_DB_REQUESTS] = rp->s->requests,
        [HS_DB_REQTIME] = rp->s->reqtime, [HS_DB_NODEUSE] = rp->s->nodeuse,
        [HS_DB_ALLOC] = rp->s->alloc};
    size_t off = 0;
    store_wal_effect_t e;
    int r;
    while ((r = store_wal_effect_next (payload, len, &off, &e)) == 1) {
        if (e.table >= HS_DB__COUNT || e.klen == 0 || e.klen > MAX_KEY) return -EBADMSG;
        MDB_val k = {e.klen, (void *)e.key}, v = {e.vlen, (void *)e.val};
        int rc = e.op == STORE_WAL_PUT ? mdb_put (rp->txn, dbis[e.table], &k, &v, 0)
                                       : mdb_del (rp->txn, dbis[e.table], &k, NULL);
        /* Strict: the effects replay onto exactly the state they were made
         * on (LMDB at wal_batch, then the records before), so a delete of a
         * missing key means the log and LMDB disagree. */
        if (rc) return rc == MDB_NOTFOUND ? -EBADMSG : hs_db_errno (rc);
    }
    if (r < 0) return r;
    rp->last = batch;
    rp->replayed++;
    return 0;
}

/* Rebuilds the acked state: replays every log record past LMDB's wal_batch
 * into one transaction, commits it (synced, unless --no-sync) and empties
 * the log. At open (then also writes the new epoch and rebuilds the usage
 * index) and after a failure aborted the window. */
static int s_recover (store_t *self, bool at_open)
{
    assert (!self->txn);
    if (!self->env) return -EIO; /* a failed store_restore: stopping */
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, 0, &txn);
    if (rc) return hs_db_errno (rc);
    s_replay_t rp = {.s = self, .txn = txn};
    MDB_val v;
    if (s_get (txn, self->meta, "wal_batch", 9, &v) == 0 && v.mv_size == sizeof rp.committed)
        memcpy (&rp.committed, v.mv_data, sizeof rp.committed);
    uint8_t *buf = NULL;
    size_t len = 0, valid = 0;
    int r = store_wal_read (self->wal, &buf, &len);
    if (r == 0 && at_open && self->replicated) {
        /* Replicated: the log is never synced, so after a power loss it
         * need not be a prefix of what was committed. raft's log holds
         * every entry above LMDB's wal_batch (a raft snapshot is preceded
         * by a synced checkpoint): raft applies them again after start.
         * So the log is emptied, not replayed. (store_restore empties it
         * before it gets here.) */
        if (len > 0)
            log_info ("write-ahead log: %zu bytes not replayed (replicated: raft's log holds "
                      "every entry above LMDB's raft index %llu)",
                      len, (unsigned long long)rp.committed);
        len = 0;
    }
    if (r == 0) r = store_wal_scan (buf, len, s_replay_record, &rp, &valid);
    if (r >= 0 && !store_wal_is_end (buf, len, valid))
        /* Never acked: acks go out only after a record's fdatasync returned,
         * and a record is torn or corrupt only if that did not happen. A log
         * reused after a checkpoint also has older records past the new ones. */
        log_info ("write-ahead log: %zu records, then bytes that are not a newer record (an "
                  "older window's leftovers, or a torn append, never acked): ignored",
                  rp.replayed + rp.skipped);
    free (buf);
    if (r >= 0 && rp.replayed > 0)
        r = hs_db_errno (mdb_put (txn, self->meta, &(MDB_val){9, "wal_batch"},
                                  &(MDB_val){sizeof rp.last, &rp.last}, 0));
    if (r >= 0) {
        self->revision = 0;
        if (s_get (txn, self->meta, "revision", 8, &v) == 0 && v.mv_size == sizeof self->revision)
            memcpy (&self->revision, v.mv_data, sizeof self->revision);
    }
    if (r >= 0 && at_open) {
        r = hs_db_errno (mdb_put (txn, self->meta, &(MDB_val){5, "epoch"},
                                  &(MDB_val){sizeof self->epoch, &self->epoch}, 0));
        if (r == 0) r = s_rebuild_usage (self, txn);
        if (r == 0) r = s_rebuild_alloc (self, txn);
        if (r == 0) r = s_secrets_at_open (self, txn);
    }
    if (r < 0) {
        mdb_txn_abort (txn);
        return r;
    }
    rc = mdb_txn_commit (txn); /* synced: from here the log's records are redundant */
    if (rc) return hs_db_errno (rc);
    if (rp.replayed > 0)
        log_info ("write-ahead log: replayed %zu batches (to batch %llu) over LMDB's batch %llu",
                  rp.replayed, (unsigned long long)rp.last, (unsigned long long)rp.committed);
    self->wal_batch = rp.replayed > 0 ? rp.last : rp.committed;
    self->fx.len = 0;
    self->commits++;
    return store_wal_reset (self->wal, true); /* once per start: give the space back */
}

/* The batch failed after touching the window: abort the window (LMDB then
 * holds none of its batches) and rebuild it from the log, which holds every
 * batch acked before this one. */
static void s_abort_window (store_t *self)
{
    if (self->txn) mdb_txn_abort (self->txn);
    self->txn = NULL;
    int r = s_recover (self, false);
    self->must_recover = r < 0;
    if (r < 0)
        log_error ("cannot rebuild the store from its write-ahead log: %s; retrying at the next "
                   "batch",
                   strerror (-r));
}

int store_apply (store_t *self, Hs__Command *const *cmds, size_t n, store_out_t *out)
{
    return store_apply_as (self, cmds, NULL, n, out);
}

int store_apply_as (store_t *self, Hs__Command *const *cmds, const char *const *identities,
                    size_t n, store_out_t *out)
{
    store_out_reset (out); /* keeps its buffers: a batch reuses the last one's */
    int64_t now = hs_now_ns ();
    int changed = 0, broken = 0;
    if (self->must_recover) {
        broken = s_recover (self, false);
        self->must_recover = broken < 0;
    }
    if (!broken && !self->txn && !self->env) broken = -EIO;
    if (!broken && !self->txn) {
        int rc = mdb_txn_begin (self->env, NULL, 0, &self->txn);
        if (rc) {
            self->txn = NULL;
            broken = hs_db_errno (rc);
        } else {
            self->window_start_ns = hs_mono_ns ();
            self->window_cmds = self->window_bytes = 0;
        }
    }
    MDB_txn *txn = self->txn;
    int64_t rev = self->revision;
    self->fx.len = 0;
    for (size_t i = 0; i < n; i++) {
        Hs__Command *cmd = cmds[i];
        self->commands++;
        if (!store_answerable (self, cmd)) {
            out->unanswerable++;
            continue;
        }
        Hs__Ack *ack;
        size_t off = 0, len = 0;
        if (broken) {
            ack = hs_pb_new (&hs__ack__descriptor);
            hs_pb_set_str (&ack->request_id, cmd->request_id);
        } else {
            int64_t before = rev;
            store_authz_id_t id;
            store_authz_id_parse (identities ? identities[i] : NULL, &id);
            if (!store_authz_client_ok (&id, cmd->client_id)) {
                /* Not answered: the answer would go to another client. */
                self->forbidden++;
                out->unanswerable++;
                char key[STORE_AUTHZ_MAX_IDENTITY + 64];
                snprintf (key, sizeof key, "store:client:%.*s", STORE_AUTHZ_MAX_IDENTITY,
                          id.identity);
                hs_log_once (HS_LOG_WARN, key,
                             "dropped a command of \"%.*s\" naming client \"%.100s\": a node "
                             "uses its own name as client id (counted in hb.store's forbidden; "
                             "further ones not logged)",
                             STORE_AUTHZ_MAX_IDENTITY, id.identity, cmd->client_id);
                continue;
            }
            ack = s_command (self, txn, cmd, &id, now, &rev, out, &broken, &off, &len);
            if (rev != before) changed++;
        }
        s_push_ack (out, cmd->client_id, ack, off, len, i);
    }
    if (!broken) broken = s_prune (self, txn, now, PRUNE_MIN + 2 * n);
    if (!broken && rev != self->revision)
        broken = s_put (self, txn, self->meta, "revision", 8, &rev, sizeof rev);
    /* The durability point: one record with every effect of the batch,
     * fdatasync'ed (unless --no-sync) before store_main publishes a single
     * event or ack. A batch without effects (only refusals without a request
     * id, replays, dry runs) has nothing to make durable. */
    if (!broken && self->fx.len > 0 && self->replicated) {
        /* store_raft takes self->fx (store_record) to raft_apply; the record
         * reaches the log only once committed (store_commit_own). */
    } else if (!broken && self->fx.len > 0) {
        int64_t t0 = hs_mono_ns ();
        broken = store_wal_append (self->wal, self->wal_batch + 1, self->fx.data, self->fx.len);
        hs_hist_since (self->wal_hist, t0);
        if (!broken) self->wal_batch++;
    }
    if (broken) {
        if (txn || self->must_recover) s_abort_window (self);
        s_fail_batch (self, out, broken);
        return broken;
    }
    self->window_cmds += n;
    self->window_bytes += self->fx.len;
    int64_t committed_at = hs_now_ns ();
    for (size_t i = 0; i < out->n_events; i++) out->events[i].event->committed_at_ns = committed_at;
    self->revision = rev;
    self->commits++;
    return changed;
}

bool store_answerable (store_t *self, const Hs__Command *cmd)
{
    if (hs_topic_id_ok (cmd->client_id)) return true;
    /* Nobody to answer (ack.<client_id>/ would not name one client):
     * garbage, whoever sent it. */
    self->garbage++;
    hs_log_once (HS_LOG_WARN, "store:no-client-id",
                 "refused a command whose client_id is empty, too long or holds '/' or a "
                 "non-printable byte (request \"%.100s\"); counted as garbage, further ones "
                 "not logged",
                 hs_s (cmd->request_id));
    return false;
}

void store_refuse (store_t *self, store_out_t *out, const Hs__Command *cmd, Hs__Code code,
                   const char *msg)
{
    self->commands++;
    if (!store_answerable (self, cmd)) {
        out->unanswerable++;
        return;
    }
    Hs__Ack *ack = hs_pb_new (&hs__ack__descriptor);
    hs_pb_set_str (&ack->request_id, cmd->request_id);
    ack->code = code;
    hs_pb_set_str (&ack->message, msg);
    ack->revision = self->revision;
    s_push_ack (out, cmd->client_id, ack, 0, 0, SIZE_MAX);
}

int store_checkpoint (store_t *self)
{
    if (!self->txn) return 0;
    /* wal_batch goes in the same transaction as the batches' writes: LMDB
     * then says exactly which records it holds, so a replay skips them. */
    int r = hs_db_errno (mdb_put (self->txn, self->meta, &(MDB_val){9, "wal_batch"},
                                  &(MDB_val){sizeof self->wal_batch, &self->wal_batch}, 0));
    if (r == 0) {
        /* LMDB's normal commit: fdatasync of the data, then of the meta page
         * (unless --no-sync). */
        int64_t t0 = hs_mono_ns ();
        r = hs_db_errno (mdb_txn_commit (self->txn));
        hs_hist_since (self->fsync_hist, t0);
        self->txn = NULL;
    }
    if (r < 0) {
        s_abort_window (self);
        return r;
    }
    self->checkpoints++;
    /* Only now are the log's records redundant. A failure to empty it only
     * costs space: replay skips records at or below wal_batch. */
    return store_wal_reset (self->wal, false);
}

bool store_checkpoint_due (store_t *self, int64_t mono_now, bool idle)
{
    if (!self->txn || self->no_checkpoint) return false;
    return idle || mono_now - self->window_start_ns >= STORE_WINDOW_NS ||
           self->window_cmds >= STORE_WINDOW_COMMANDS || self->window_bytes >= STORE_WINDOW_BYTES;
}

int64_t store_checkpoint_deadline (store_t *self)
{
    if (!self->txn || self->no_checkpoint) return INT64_MAX;
    return self->window_start_ns + STORE_WINDOW_NS;
}

static void s_take_db (store_t *self, hs_db_t *db)
{
    self->db = db;
    self->env = hs_db_env (db);
    self->objects = hs_db_dbi (db, HS_DB_OBJECTS);
    self->streams = hs_db_dbi (db, HS_DB_STREAMS);
    self->meta = hs_db_dbi (db, HS_DB_META);
    self->requests = hs_db_dbi (db, HS_DB_REQUESTS);
    self->reqtime = hs_db_dbi (db, HS_DB_REQTIME);
    self->nodeuse = hs_db_dbi (db, HS_DB_NODEUSE);
    self->alloc = hs_db_dbi (db, HS_DB_ALLOC);
    hs_db_set_unseal (db, s_unseal, self);
}

/* After Secrets stored in clear (a snapshot restore) were sealed at open:
 * LMDB keeps the bytes of the pages it freed until it reuses them, so the
 * clear values would stay in data.mdb. A compacting copy holds only live
 * pages: it replaces data.mdb (fsynced, renamed), and the store reopens it.
 * Runs before anything is acked; the log is empty (the recovery emptied it). */
static int s_compact (store_t *self, const char *dir, const hs_db_opts_t *dbo)
{
    _cleanup_free_ char *tmp = hs_sprintf ("%s/compact.tmp", dir);
    _cleanup_free_ char *copy = hs_sprintf ("%s/data.mdb", tmp);
    _cleanup_free_ char *final = hs_sprintf ("%s/data.mdb", dir);
    unlink (copy); /* an interrupted compaction's */
    rmdir (tmp);
    if (mkdir (tmp, 0700) != 0) return -errno;
    int r = hs_db_errno (mdb_env_copy2 (self->env, tmp, MDB_CP_COMPACT));
    if (r == 0) {
        int fd = open (copy, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fsync (fd) != 0) r = -errno;
        if (fd >= 0) close (fd);
    }
    if (r == 0) {
        hs_db_close (&self->db);
        if (rename (copy, final) != 0) r = -errno;
        int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync (dfd);
            close (dfd);
        }
    }
    unlink (copy);
    rmdir (tmp);
    if (!self->db) {
        hs_db_t *db = NULL;
        int r2 = hs_db_open (dir, dbo, &db);
        if (r2 < 0) return r2;
        s_take_db (self, db);
    }
    return r;
}

int store_open (const char *dir, const store_opts_t *opts, store_t **ret_store)
{
    store_opts_t none = {0};
    if (!opts) opts = &none;
    hs_db_opts_t dbo = {.readonly = false, .nosync = opts->nosync, .map_size = opts->map_size};
    hs_db_t *db;
    int r = hs_db_open (dir, &dbo, &db);
    if (r < 0) return r;
    store_t *self = hs_calloc (1, sizeof *self);
    s_take_db (self, db);
    self->fsync_hist = hs_hist_new ("fsync_duration_seconds", NULL, 0);
    self->wal_hist = hs_hist_new ("wal_fsync_duration_seconds", NULL, 0);
    if (opts->net)
        self->net = *opts->net;
    else
        hs_net_conf_default (&self->net);
    if (getrandom (&self->rng, sizeof self->rng, 0) != sizeof self->rng || self->rng == 0)
        self->rng = (uint64_t)hs_now_ns () | 1;
    self->ttl_ns = opts->request_ttl_ns > 0 ? opts->request_ttl_ns : STORE_DEFAULT_TTL_NS;
    self->no_checkpoint = !hs_empty (getenv ("HS_STORE_TEST_NO_CHECKPOINT"));
    /* A new epoch each start: subscribers resync instead of trusting
     * sequences they may have seen from a store that lost its tail. */
    do {
        if (getrandom (&self->epoch, sizeof self->epoch, 0) != sizeof self->epoch)
            self->epoch = (uint64_t)hs_now_ns () ^ (uint64_t)hs_mono_ns ();
    } while (self->epoch == 0);

    _cleanup_free_ char *path = hs_sprintf ("%s/" STORE_WAL_FILE, dir);
    /* The keyring: a missing file is decided after the log's replay (made
     * if nothing is sealed yet, else a refusal), a bad one refuses now. */
    self->key_path = !hs_empty (opts->encryption_key)
                         ? hs_strdup (opts->encryption_key)
                         : hs_sprintf ("%s/" STORE_SECRET_KEY_FILE, dir);
    char *kerr = NULL;
    r = store_keyring_load (self->key_path, &self->keys, &kerr);
    if (r == -ENOENT) {
        free (kerr);
        r = 0;
    } else if (r < 0) {
        s_open_error (self, kerr);
        goto fail;
    }
    struct stat kst;
    if (self->keys && stat (self->key_path, &kst) == 0 && (kst.st_mode & 077))
        log_warn ("the encryption key file %s can be read by others (mode %04o): chmod 600 it",
                  self->key_path, (unsigned)(kst.st_mode & 07777));

    self->replicated = opts->replicated;
    self->dir = hs_strdup (dir);
    self->dbo = dbo;
    r = store_wal_open (path, opts->nosync || opts->replicated, &self->wal);
    if (r < 0) goto fail;
    r = s_recover (self, true);
    if (r < 0) goto fail;
    if (self->secrets_were_clear > 0) {
        r = s_compact (self, dir, &dbo);
        if (r < 0) goto fail;
        log_info ("compacted %s/data.mdb: the %llu Secrets that were stored in clear left no "
                  "copy in its free pages",
                  dir, (unsigned long long)self->secrets_were_clear);
    }
    self->commits = 0;
    self->opened = true;
    *ret_store = self;
    return 0;
fail:
    if (opts->ret_error && self->open_error) *opts->ret_error = TAKE_PTR (self->open_error);
    store_destroy (&self);
    return r;
}

void store_destroy (store_t **self_p)
{
    store_t *self = *self_p;
    if (!self) return;
    /* A clean shutdown leaves LMDB complete and the log empty (no bytes:
     * the blocks kept for reuse are given back). */
    int r = self->txn ? store_checkpoint (self) : 0;
    if (r < 0)
        log_error ("cannot checkpoint at close: %s (the write-ahead log keeps every acked batch)",
                   strerror (-r));
    else if (self->wal && self->opened)
        /* not after a refused open: the log may hold acked batches that
         * LMDB does not (the recovery did not commit) */
        store_wal_reset (self->wal, true);
    store_wal_destroy (&self->wal);
    store_wal_buf_free (&self->fx);
    hs_db_close (&self->db);
    store_keyring_destroy (&self->keys);
    hs_hist_destroy (&self->fsync_hist);
    hs_hist_destroy (&self->wal_hist);
    free (self->key_path);
    free (self->dir);
    free (self->open_error);
    free (self->seal_buf);
    free (self);
    *self_p = NULL;
}

Hs__Command *store_expired_events (store_t *self, int64_t before_ns, size_t max)
{
    MDB_txn *txn;
    bool owned;
    if (s_read_txn (self, &txn, &owned) < 0) return NULL;
    Hs__Command *cmd = NULL;
    MDB_cursor *cur;
    if (mdb_cursor_open (txn, self->objects, &cur) == 0) {
        MDB_val k = {6, "event/"}, v;
        int rc;
        for (rc = mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE);
             rc == 0 && k.mv_size >= 6 && memcmp (k.mv_data, "event/", 6) == 0 &&
             (!cmd || cmd->n_writes < max);
             rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT)) {
            Hs__Object *o = hs__object__unpack (&hs_pb_allocator, v.mv_size, v.mv_data);
            const Hs__Event *e = o ? o->event : NULL;
            if (e && e->metadata && e->last_timestamp && e->last_timestamp < before_ns) {
                if (!cmd) {
                    cmd = hs_pb_new (&hs__command__descriptor);
                    hs_pb_set_str (&cmd->client_id, "hs-store");
                    char id[17];
                    hs_random_id (id, sizeof id - 1);
                    hs_pb_take_str (&cmd->request_id, hs_sprintf ("event-ttl-%s", id));
                }
                Hs__Write *w = hs_pb_new (&hs__write__descriptor);
                w->op = HS__OP__OP_DELETE;
                hs_pb_set_str (&w->kind, "event");
                hs_pb_set_str (&w->namespace_, e->metadata->namespace_);
                hs_pb_set_str (&w->name, e->metadata->name);
                /* only if it has not been repeated meanwhile */
                w->expected_revision = e->metadata->resource_version;
                hs_pb_push ((void ***)&cmd->writes, &cmd->n_writes, w);
            }
            hs_pb_free (o);
        }
        mdb_cursor_close (cur);
    }
    if (owned) mdb_txn_abort (txn);
    return cmd;
}

hs_hist_t *store_fsync_hist (store_t *self)
{
    return self->fsync_hist;
}

hs_hist_t *store_wal_hist (store_t *self)
{
    return self->wal_hist;
}

uint64_t store_checkpoints (store_t *self)
{
    return self->checkpoints;
}

int store_heartbeat (store_t *self, Hs__StoreHeartbeat *hb)
{
    MDB_txn *txn;
    bool owned;
    int rc = s_read_txn (self, &txn, &owned);
    if (rc < 0) return rc;
    hb->epoch = self->epoch;
    hb->revision = self->revision;
    hb->commands = self->commands;
    hb->commits = self->commits;
    hb->garbage = self->garbage;
    hb->forbidden = self->forbidden;
    MDB_stat st;
    if (mdb_stat (txn, self->objects, &st) == 0) hb->objects = st.ms_entries;
    MDB_cursor *cur;
    rc = mdb_cursor_open (txn, self->streams, &cur);
    if (rc == 0) {
        MDB_val k, v;
        for (rc = mdb_cursor_get (cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT)) {
            Hs__StreamSeq *ss = hs_pb_new (&hs__stream_seq__descriptor);
            hs_pb_take_str (&ss->stream, hs_strndup (k.mv_data, k.mv_size));
            if (v.mv_size == sizeof ss->seq) memcpy (&ss->seq, v.mv_data, sizeof ss->seq);
            hs_pb_push ((void ***)&hb->streams, &hb->n_streams, ss);
        }
        mdb_cursor_close (cur);
    }
    if (owned) mdb_txn_abort (txn);
    return rc && rc != MDB_NOTFOUND ? hs_db_errno (rc) : 0;
}

/* ------------------------------------------------------------------ replicated (store_raft.h) */

void store_record (store_t *self, const uint8_t **ret_data, size_t *ret_len)
{
    *ret_data = self->fx.data;
    *ret_len = self->fx.len;
}

uint64_t store_applied_index (store_t *self)
{
    return self->wal_batch;
}

/* A committed record is in the window but not in the local log (disk
 * full?): a rebuilt window would lose it while raft counts it applied.
 * Commit the window now (it holds committed records only); if that fails
 * too, the caller must stop (a restart re-applies from raft's log). */
static int s_unlogged (store_t *self, int err)
{
    hs_log_once (HS_LOG_ERROR, "store:wal-unlogged",
                 "cannot append a committed raft entry to the local log: %s; checkpointing "
                 "instead (further failures not logged)",
                 strerror (-err));
    return store_checkpoint (self);
}

int store_commit_own (store_t *self, uint64_t index)
{
    assert (index > self->wal_batch);
    /* Not synced (opened nosync): raft's log holds it durably. Kept so the
     * window can be rebuilt (s_abort_window) without this batch's loss. */
    int r = store_wal_append (self->wal, index, self->fx.data, self->fx.len);
    self->wal_batch = index;
    self->window_cmds++;
    self->window_bytes += self->fx.len;
    self->fx.len = 0;
    return r < 0 ? s_unlogged (self, r) : 0;
}

int store_replay (store_t *self, uint64_t index, const uint8_t *payload, size_t len)
{
    if (index <= self->wal_batch) return 0;
    int r = 0;
    if (self->must_recover) {
        r = s_recover (self, false);
        self->must_recover = r < 0;
        if (r < 0) return r;
    }
    if (!self->txn) {
        if (!self->env) return -EIO; /* a failed store_restore: stopping */
        int rc = mdb_txn_begin (self->env, NULL, 0, &self->txn);
        if (rc) {
            self->txn = NULL;
            return hs_db_errno (rc);
        }
        self->window_start_ns = hs_mono_ns ();
        self->window_cmds = self->window_bytes = 0;
    }
    s_replay_t rp = {.s = self, .txn = self->txn, .committed = self->wal_batch};
    r = s_replay_record (&rp, index, payload, len);
    if (r < 0) {
        s_abort_window (self);
        return r;
    }
    MDB_val v;
    if (s_get (self->txn, self->meta, "revision", 8, &v) == 0 && v.mv_size == sizeof self->revision)
        memcpy (&self->revision, v.mv_data, sizeof self->revision);
    r = store_wal_append (self->wal, index, payload, len);
    self->wal_batch = index;
    self->window_cmds++;
    self->window_bytes += len;
    self->commits++;
    return r < 0 ? s_unlogged (self, r) : 0;
}

void store_abort (store_t *self)
{
    self->fx.len = 0;
    s_abort_window (self);
}

void store_out_fail (store_t *self, store_out_t *out, int err, const char *why)
{
    s_fail_batch_why (self, out, err, why);
}

void store_new_epoch (store_t *self)
{
    do {
        if (getrandom (&self->epoch, sizeof self->epoch, 0) != sizeof self->epoch)
            self->epoch = (uint64_t)hs_now_ns () ^ (uint64_t)hs_mono_ns ();
    } while (self->epoch == 0);
    /* Local readers (hs_db_snapshot) take the epoch from meta: written in
     * the window, not logged (each member has its own). */
    MDB_val k = {5, "epoch"}, v = {sizeof self->epoch, &self->epoch};
    if (self->txn) {
        (void)mdb_put (self->txn, self->meta, &k, &v, 0);
        return;
    }
    /* No window open: a transaction of its own (not synced: a member's
     * epoch is new at every start anyway). */
    MDB_txn *txn;
    if (!self->env || mdb_txn_begin (self->env, NULL, 0, &txn) != 0) return;
    if (mdb_put (txn, self->meta, &k, &v, 0) == 0)
        (void)mdb_txn_commit (txn);
    else
        mdb_txn_abort (txn);
}

int store_snapshot_copy (store_t *self, int fd, uint64_t *ret_index)
{
    int r = store_checkpoint (self);
    if (r < 0) return r;
    *ret_index = self->wal_batch;
    if (!self->env) return -EIO;
    return hs_db_errno (mdb_env_copyfd2 (self->env, fd, MDB_CP_COMPACT));
}

int store_restore (store_t *self, uint64_t index, const uint8_t *data, size_t len)
{
    if (index <= self->wal_batch) return 0; /* raft restores its last snapshot at every start */
    if (self->txn) mdb_txn_abort (self->txn);
    self->txn = NULL;
    self->fx.len = 0;
    _cleanup_free_ char *tmp = hs_sprintf ("%s/lmdb.new", self->dir);
    _cleanup_free_ char *final = hs_sprintf ("%s/data.mdb", self->dir);
    int r = 0;
    int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -errno;
    for (size_t off = 0; off < len && r == 0;) {
        ssize_t w = write (fd, data + off, len - off);
        if (w < 0 && errno != EINTR) r = -errno;
        if (w > 0) off += (size_t)w;
    }
    if (r == 0 && !self->dbo.nosync && fsync (fd) != 0) r = -errno;
    close (fd);
    if (r < 0) {
        unlink (tmp);
        self->must_recover = true;
        return r;
    }
    hs_db_close (&self->db);
    self->env = NULL; /* until hs_db_open succeeds: every use checks it */
    if (rename (tmp, final) != 0) r = -errno;
    int dfd = open (self->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync (dfd);
        close (dfd);
    }
    hs_db_t *db = NULL;
    int r2 = hs_db_open (self->dir, &self->dbo, &db);
    if (r2 < 0) return r2; /* the store cannot go on: the caller stops */
    s_take_db (self, db);
    if (r < 0) return r;
    /* The log's records are older than the snapshot: drop them, then open
     * as store_open does (usage and address indexes rebuilt, new epoch). */
    r = store_wal_reset (self->wal, true);
    /* A new epoch, as after a restart: s_recover writes it in meta. */
    do {
        if (getrandom (&self->epoch, sizeof self->epoch, 0) != sizeof self->epoch)
            self->epoch = (uint64_t)hs_now_ns () ^ (uint64_t)hs_mono_ns ();
    } while (self->epoch == 0);
    if (r == 0) r = s_recover (self, true);
    if (r < 0) return r;
    self->wal_batch = index; /* the entries between LMDB's and index were no commands */
    self->must_recover = false;
    return 0;
}
