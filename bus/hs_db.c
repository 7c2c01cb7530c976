/*  hs_db.c: the store's LMDB environment, consistent snapshots, snapshot files.
 *
 *  Every LMDB call goes through this file or hs-store's write path; LMDB's
 *  codes become errno-style codes in hs_db_errno only. MDB_val pointers are
 *  copied or unpacked before their transaction ends.
 */
#include "hs_db.h"
#include "hs_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_MAP_SIZE ((size_t)8 << 30)
#define MAX_READERS      512
#define SNAP_MAGIC       "HSSNAP1\n"
#define SNAP_MAGIC_LEN   8
#define SNAP_MAX_CHUNK   (64u << 20)
#define FILE_CHUNK_OBJS  500
#define FILE_CHUNK_BYTES (1u << 20)

static const char *s_table_names[HS_DB__COUNT] = {
    [HS_DB_OBJECTS] = "objects",   [HS_DB_STREAMS] = "streams", [HS_DB_META] = "meta",
    [HS_DB_REQUESTS] = "requests", [HS_DB_REQTIME] = "reqtime", [HS_DB_NODEUSE] = "nodeuse",
    [HS_DB_ALLOC] = "alloc",
};

struct hs_db_t {
    MDB_env *env;
    MDB_dbi dbi[HS_DB__COUNT];
    bool have[HS_DB__COUNT]; /* a read-only opener may find a table missing */
    bool readonly;
    char *wal;              /* readers: the path of hs-store's write-ahead log */
    hs_db_unseal_fn unseal; /* hs-store's: opens sealed Secrets */
    void *unseal_arg;
};

void hs_db_set_unseal (hs_db_t *self, hs_db_unseal_fn fn, void *arg)
{
    self->unseal = fn;
    self->unseal_arg = arg;
}

bool hs_db_is_sealed (const void *value, size_t len)
{
    return len >= HS_DB_SEALED_PREFIX_LEN &&
           memcmp (value, HS_DB_SEALED_PREFIX, HS_DB_SEALED_PREFIX_LEN) == 0;
}

int hs_db_errno (int rc)
{
    switch (rc) {
    case MDB_SUCCESS: return 0;
    case MDB_NOTFOUND: return -ENOENT;
    case MDB_KEYEXIST: return -EEXIST;
    case MDB_MAP_FULL:
    case MDB_TXN_FULL: return -ENOSPC;
    case MDB_BAD_VALSIZE: return -EINVAL;
    case MDB_READERS_FULL: return -EUSERS;
    case MDB_DBS_FULL: return -EMFILE;
    case MDB_MAP_RESIZED: return -EAGAIN;
    case MDB_PAGE_NOTFOUND:
    case MDB_CORRUPTED:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_INCOMPATIBLE:
    case MDB_PANIC: return -EBADMSG;
    default: return rc > 0 ? -rc : -EIO;
    }
}

struct MDB_env *hs_db_env (hs_db_t *self)
{
    return self->env;
}

unsigned int hs_db_dbi (hs_db_t *self, hs_db_table_t table)
{
    return self->dbi[table];
}

void hs_db_close (hs_db_t **self_p)
{
    hs_db_t *self = *self_p;
    if (!self) return;
    if (self->env) mdb_env_close (self->env);
    free (self->wal);
    free (self);
    *self_p = NULL;
}

int hs_db_open (const char *dir, const hs_db_opts_t *opts, hs_db_t **ret_db)
{
    hs_db_opts_t none = {0};
    if (!opts) opts = &none;
    if (hs_empty (dir)) return -EINVAL;
    if (opts->readonly) {
        char path[4096];
        snprintf (path, sizeof path, "%s/data.mdb", dir);
        if (access (path, R_OK) != 0) return -errno;
    } else {
        /* the store's --data may name a directory whose parents are new */
        int r = hs_mkdir_p (dir, 0755);
        if (r < 0) return r;
    }

    hs_db_t *self = hs_calloc (1, sizeof *self);
    self->readonly = opts->readonly;
    if (opts->readonly) self->wal = hs_sprintf ("%s/" HS_DB_WAL_FILE, dir);
    int rc = mdb_env_create (&self->env);
    if (rc) {
        self->env = NULL;
        goto fail;
    }
    mdb_env_set_maxdbs (self->env, 16);
    mdb_env_set_maxreaders (self->env, MAX_READERS);
    /* A reader takes the writer's map size from the file. */
    if (!opts->readonly)
        mdb_env_set_mapsize (self->env, opts->map_size ? opts->map_size : DEFAULT_MAP_SIZE);
    unsigned flags = MDB_NOTLS | MDB_NORDAHEAD;
    if (opts->readonly) flags |= MDB_RDONLY;
    if (opts->nosync) flags |= MDB_NOSYNC;
    rc = mdb_env_open (self->env, dir, flags, 0644);
    if (rc) goto fail;
    int fd = -1;
    if (mdb_env_get_fd (self->env, &fd) == 0 && fd >= 0) fcntl (fd, F_SETFD, FD_CLOEXEC);

    MDB_txn *txn;
    rc = mdb_txn_begin (self->env, NULL, opts->readonly ? MDB_RDONLY : 0, &txn);
    if (rc) goto fail;
    for (int t = 0; t < HS_DB__COUNT; t++) {
        rc = mdb_dbi_open (txn, s_table_names[t], opts->readonly ? 0 : MDB_CREATE, &self->dbi[t]);
        if (rc == MDB_NOTFOUND && opts->readonly) continue; /* treated as empty */
        if (rc) {
            mdb_txn_abort (txn);
            goto fail;
        }
        self->have[t] = true;
    }
    rc = mdb_txn_commit (txn); /* makes the handles usable by later transactions */
    if (rc) goto fail;
    *ret_db = self;
    return 0;
fail:
    hs_db_close (&self);
    return hs_db_errno (rc);
}

/* ------------------------------------------------------------------ snapshots */

void hs_db_snapshot_free (hs_db_snapshot_t *snap)
{
    if (!snap) return;
    for (size_t i = 0; i < snap->n_streams; i++) hs_pb_free (snap->streams[i]);
    for (size_t i = 0; i < snap->n_objects; i++) hs_pb_free (snap->objects[i]);
    free (snap->streams);
    free (snap->objects);
    memset (snap, 0, sizeof *snap);
}

static void s_push_stream (hs_db_snapshot_t *snap, const char *name, size_t len, uint64_t seq)
{
    Hs__StreamSeq *ss = hs_pb_new (&hs__stream_seq__descriptor);
    hs_pb_take_str (&ss->stream, hs_strndup (name, len));
    ss->seq = seq;
    hs_pb_push ((void ***)&snap->streams, &snap->n_streams, ss);
}

static bool s_has_prefix (const MDB_val *k, const char *prefix, size_t plen)
{
    return k->mv_size >= plen && memcmp (k->mv_data, prefix, plen) == 0;
}

static int s_snap_kind (hs_db_t *self, MDB_txn *txn, hs_kind_t kind, const char *pod_node,
                        hs_db_snapshot_t *snap)
{
    const hs_kind_info_t *info = hs_kind_info (kind);
    char prefix[64];
    size_t plen = (size_t)snprintf (prefix, sizeof prefix, "%s/", info->name);
    bool filter = kind == HS_KIND_POD && !hs_empty (pod_node);
    MDB_cursor *cur;
    int rc;
    if (self->have[HS_DB_OBJECTS]) {
        rc = mdb_cursor_open (txn, self->dbi[HS_DB_OBJECTS], &cur);
        if (rc) return hs_db_errno (rc);
        MDB_val k = {plen, prefix}, v;
        for (rc = mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE);
             rc == 0 && s_has_prefix (&k, prefix, plen);
             rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT)) {
            Hs__Object *o = NULL;
            if (hs_db_is_sealed (v.mv_data, v.mv_size)) {
                /* a Secret: only hs-store holds the key */
                int r = self->unseal ? self->unseal (self->unseal_arg, v.mv_data, v.mv_size, &o)
                                     : -ENOKEY;
                if (r < 0) {
                    mdb_cursor_close (cur);
                    return r;
                }
            } else {
                o = hs__object__unpack (NULL, v.mv_size, v.mv_data);
            }
            if (!o) continue; /* never written by us; skip rather than fail a reader */
            if (filter &&
                !hs_streq (o->pod && o->pod->spec ? o->pod->spec->node_name : "", pod_node)) {
                hs_pb_free (o);
                continue;
            }
            hs_pb_push ((void ***)&snap->objects, &snap->n_objects, o);
        }
        mdb_cursor_close (cur);
        if (rc && rc != MDB_NOTFOUND) return hs_db_errno (rc);
    }

    if (!self->have[HS_DB_STREAMS]) return 0;
    if (filter) {
        char name[512];
        size_t len = (size_t)snprintf (name, sizeof name, "pod.%s", pod_node);
        if (len >= sizeof name) return -EINVAL;
        MDB_val k = {len, name}, v;
        uint64_t seq = 0;
        rc = mdb_get (txn, self->dbi[HS_DB_STREAMS], &k, &v);
        if (rc == 0 && v.mv_size == sizeof seq)
            memcpy (&seq, v.mv_data, sizeof seq);
        else if (rc && rc != MDB_NOTFOUND)
            return hs_db_errno (rc);
        s_push_stream (snap, name, len, seq);
        return 0;
    }
    plen = (size_t)snprintf (prefix, sizeof prefix, "%s.", info->name);
    rc = mdb_cursor_open (txn, self->dbi[HS_DB_STREAMS], &cur);
    if (rc) return hs_db_errno (rc);
    MDB_val k = {plen, prefix}, v;
    for (rc = mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE);
         rc == 0 && s_has_prefix (&k, prefix, plen); rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT)) {
        uint64_t seq = 0;
        if (v.mv_size == sizeof seq) memcpy (&seq, v.mv_data, sizeof seq);
        s_push_stream (snap, k.mv_data, k.mv_size, seq);
    }
    mdb_cursor_close (cur);
    return rc && rc != MDB_NOTFOUND ? hs_db_errno (rc) : 0;
}

static void s_get_meta (hs_db_t *self, MDB_txn *txn, const char *name, void *out, size_t size)
{
    memset (out, 0, size);
    if (!self->have[HS_DB_META]) return;
    MDB_val k = {strlen (name), (void *)name}, v;
    if (mdb_get (txn, self->dbi[HS_DB_META], &k, &v) == 0 && v.mv_size == size)
        memcpy (out, v.mv_data, size);
}

/* Whether hs-store's write-ahead log holds records: its first record header
 * is there and not zeroed (store_wal.h). The store appends the
 * first record of a window over a zeroed header, so a header being written
 * now reads as records: the safe answer. */
static bool s_wal_has_records (const char *path)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    uint8_t hdr[HS_DB_WAL_HEADER];
    ssize_t n = pread (fd, hdr, sizeof hdr, 0);
    close (fd);
    if (n < (ssize_t)sizeof hdr) return n > 0; /* a torn first header: not known to be empty */
    for (size_t i = 0; i < sizeof hdr; i++)
        if (hdr[i]) return true;
    return false;
}

int hs_db_snapshot (hs_db_t *self, const hs_kind_t *kinds, size_t n_kinds, const char *pod_node,
                    hs_db_snapshot_t *ret_snap)
{
    bool want[HS_KIND__COUNT] = {false};
    if (!kinds || n_kinds == 0) {
        for (int k = HS_KIND_NONE + 1; k < HS_KIND__COUNT; k++) want[k] = true;
    } else {
        for (size_t i = 0; i < n_kinds; i++) {
            if (!hs_kind_info (kinds[i])) return -EINVAL;
            want[kinds[i]] = true;
        }
    }
    /* Beside a running store, LMDB may lag the acked writes, which are then
     * in the store's write-ahead log; the store empties the log at every
     * checkpoint. Checked BEFORE the read transaction begins: an empty log
     * then means that transaction holds every write acked so far (one acked
     * later has its events published after the caller subscribed). */
    if (self->readonly && s_wal_has_records (self->wal)) return -EAGAIN;
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn);
    if (rc) return hs_db_errno (rc);
    hs_db_snapshot_t snap = {0};
    s_get_meta (self, txn, "epoch", &snap.epoch, sizeof snap.epoch);
    s_get_meta (self, txn, "revision", &snap.revision, sizeof snap.revision);
    int r = 0;
    for (int k = HS_KIND_NONE + 1; k < HS_KIND__COUNT && r == 0; k++)
        if (want[k]) r = s_snap_kind (self, txn, (hs_kind_t)k, pod_node, &snap);
    mdb_txn_abort (txn);
    if (r < 0) {
        hs_db_snapshot_free (&snap);
        return r;
    }
    *ret_snap = snap;
    return 0;
}

/* ------------------------------------------------------------------ chunks */

void hs_db_snapshot_chunks (const hs_db_snapshot_t *snap, const char *request_id,
                            size_t max_objects, size_t max_bytes, Hs__SnapshotChunk ***ret_chunks,
                            size_t *ret_n)
{
    Hs__SnapshotChunk **chunks = NULL;
    size_t n = 0, i = 0;
    if (max_objects == 0) max_objects = 1;
    do {
        Hs__SnapshotChunk *c = hs_pb_new (&hs__snapshot_chunk__descriptor);
        hs_pb_set_str (&c->request_id, request_id);
        c->epoch = snap->epoch;
        c->revision = snap->revision;
        c->index = (uint32_t)n;
        size_t first = i, bytes = 0;
        while (i < snap->n_objects && i - first < max_objects) {
            size_t len = protobuf_c_message_get_packed_size (&snap->objects[i]->base) + 8;
            if (i > first && bytes + len > max_bytes) break;
            bytes += len;
            i++;
        }
        c->n_objects = i - first;
        c->objects = c->n_objects ? snap->objects + first : NULL;
        if (i == snap->n_objects) {
            c->last = true;
            c->total_objects = snap->n_objects;
            c->n_streams = snap->n_streams;
            c->streams = snap->streams;
        }
        hs_pb_push ((void ***)&chunks, &n, c);
    } while (i < snap->n_objects);
    *ret_chunks = chunks;
    *ret_n = n;
}

void hs_db_chunks_free (Hs__SnapshotChunk **chunks, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        /* The objects and streams are borrowed from the snapshot. */
        chunks[i]->objects = NULL;
        chunks[i]->n_objects = 0;
        chunks[i]->streams = NULL;
        chunks[i]->n_streams = 0;
        hs_pb_free (chunks[i]);
    }
    free (chunks);
}

/* ------------------------------------------------------------------ files */

static int s_write_all (int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t w = write (fd, p, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int hs_db_snapshot_write_file (const char *path, const hs_db_snapshot_t *snap)
{
    /* Write beside, fsync, then rename: a crash never leaves half a backup
     * under the final name. */
    _cleanup_free_ char *tmp = hs_sprintf ("%s.tmp.%d", path, (int)getpid ());
    /* 0600, as etcdctl's: a backup holds Secrets in clear (the bus carried
     * them so; docs/architecture.md §4, "Secrets at rest") */
    int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -errno;
    Hs__SnapshotChunk **chunks;
    size_t n;
    hs_db_snapshot_chunks (snap, "", FILE_CHUNK_OBJS, FILE_CHUNK_BYTES, &chunks, &n);
    int r = s_write_all (fd, SNAP_MAGIC, SNAP_MAGIC_LEN);
    for (size_t i = 0; i < n && r == 0; i++) {
        size_t len;
        _cleanup_free_ uint8_t *buf = hs_pb_pack (chunks[i], &len);
        uint32_t be = htonl ((uint32_t)len);
        r = s_write_all (fd, &be, sizeof be);
        if (r == 0) r = s_write_all (fd, buf, len);
    }
    hs_db_chunks_free (chunks, n);
    if (r == 0 && fsync (fd) != 0) r = -errno;
    if (close (fd) != 0 && r == 0) r = -errno;
    if (r == 0 && rename (tmp, path) != 0) r = -errno;
    if (r < 0) unlink (tmp);
    return r;
}

/* Reads exactly len bytes: 1 done, 0 clean EOF before any byte, -EPIPE short. */
static int s_read_full (FILE *f, void *buf, size_t len)
{
    size_t got = fread (buf, 1, len, f);
    if (got == len) return 1;
    if (ferror (f)) return -EIO;
    return got == 0 ? 0 : -EPIPE;
}

int hs_db_snapshot_read_file (const char *path, hs_db_snapshot_t *ret_snap, char **ret_error)
{
    FILE *f = fopen (path, "rbe");
    if (!f) {
        int err = errno;
        if (ret_error) *ret_error = hs_sprintf ("cannot open %s: %s", path, strerror (err));
        return -err;
    }
    hs_db_snapshot_t snap = {0};
    char *error = NULL;
    int r = 0;
    char magic[SNAP_MAGIC_LEN];
    if (s_read_full (f, magic, sizeof magic) != 1 || memcmp (magic, SNAP_MAGIC, SNAP_MAGIC_LEN)) {
        error = hs_sprintf ("%s is not a Homeostat snapshot file (bad header)", path);
        r = -EBADMSG;
    }
    bool last = false;
    uint32_t index = 0;
    while (r == 0 && !last) {
        uint32_t be;
        int got = s_read_full (f, &be, sizeof be);
        if (got != 1) {
            error = hs_sprintf ("snapshot file %s is truncated: it ends after %u chunk(s) and "
                                "%zu object(s) without its final chunk",
                                path, index, snap.n_objects);
            r = got < 0 && got != -EPIPE ? got : -EBADMSG;
            break;
        }
        uint32_t len = ntohl (be);
        if (len > SNAP_MAX_CHUNK) {
            error = hs_sprintf ("snapshot file %s is corrupt: chunk %u claims %u bytes", path,
                                index, len);
            r = -EBADMSG;
            break;
        }
        uint8_t *buf = hs_malloc (len ? len : 1);
        got = len ? s_read_full (f, buf, len) : 1;
        Hs__SnapshotChunk *c = got == 1 ? hs__snapshot_chunk__unpack (NULL, len, buf) : NULL;
        free (buf);
        if (got != 1) {
            error = hs_sprintf ("snapshot file %s is truncated inside chunk %u", path, index);
            r = -EBADMSG;
            break;
        }
        if (!c || c->index != index) {
            error =
                hs_sprintf ("snapshot file %s is corrupt: chunk %u does not decode", path, index);
            hs_pb_free (c);
            r = -EBADMSG;
            break;
        }
        for (size_t i = 0; i < c->n_objects; i++)
            hs_pb_push ((void ***)&snap.objects, &snap.n_objects, c->objects[i]);
        free (c->objects);
        c->objects = NULL;
        c->n_objects = 0;
        if (c->last) {
            last = true;
            snap.epoch = c->epoch;
            snap.revision = c->revision;
            snap.streams = c->streams;
            snap.n_streams = c->n_streams;
            c->streams = NULL;
            c->n_streams = 0;
            if (c->total_objects != snap.n_objects) {
                error = hs_sprintf ("snapshot file %s is corrupt: %zu objects, final chunk says "
                                    "%llu",
                                    path, snap.n_objects, (unsigned long long)c->total_objects);
                r = -EBADMSG;
            }
        }
        hs_pb_free (c);
        index++;
    }
    if (r == 0 && fgetc (f) != EOF) {
        error = hs_sprintf ("snapshot file %s is corrupt: data after the final chunk", path);
        r = -EBADMSG;
    }
    fclose (f);
    if (r < 0) {
        hs_db_snapshot_free (&snap);
        if (ret_error)
            *ret_error = error;
        else
            free (error);
        return r;
    }
    free (error);
    *ret_snap = snap;
    return 0;
}

/* ------------------------------------------------------------------ restore */

static int s_put (MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, const void *val,
                  size_t vlen)
{
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    return mdb_put (txn, dbi, &k, &v, 0);
}

int hs_db_restore (const char *dir, const hs_db_snapshot_t *snap)
{
    char path[4096];
    snprintf (path, sizeof path, "%s/data.mdb", hs_s (dir));
    if (access (path, F_OK) == 0) return -EEXIST;
    /* hs-store's write-ahead log (store_wal.h) left beside: its records
     * would be replayed over the restored state. */
    snprintf (path, sizeof path, "%s/" HS_DB_WAL_FILE, hs_s (dir));
    if (access (path, F_OK) == 0) return -EEXIST;
    for (size_t i = 0; i < snap->n_objects; i++) {
        Hs__ObjectMeta *m = hs_obj_meta (snap->objects[i]);
        if (hs_obj_kind (snap->objects[i]) == HS_KIND_NONE || !m || hs_empty (m->name))
            return -EINVAL;
    }
    hs_db_t *db;
    int r = hs_db_open (dir, NULL, &db);
    if (r < 0) return r;
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin (db->env, NULL, 0, &txn);
    for (size_t i = 0; rc == 0 && i < snap->n_objects; i++) {
        _cleanup_free_ char *key = hs_obj_key_of (snap->objects[i]);
        size_t len;
        _cleanup_free_ uint8_t *buf = hs_pb_pack (snap->objects[i], &len);
        rc = s_put (txn, db->dbi[HS_DB_OBJECTS], key, strlen (key), buf, len);
    }
    for (size_t i = 0; rc == 0 && i < snap->n_streams; i++) {
        const Hs__StreamSeq *ss = snap->streams[i];
        if (hs_empty (ss->stream)) continue;
        rc = s_put (txn, db->dbi[HS_DB_STREAMS], ss->stream, strlen (ss->stream), &ss->seq,
                    sizeof ss->seq);
    }
    if (rc == 0)
        rc =
            s_put (txn, db->dbi[HS_DB_META], "revision", 8, &snap->revision, sizeof snap->revision);
    if (rc == 0)
        rc = s_put (txn, db->dbi[HS_DB_META], "epoch", 5, &snap->epoch, sizeof snap->epoch);
    if (rc == 0)
        rc = mdb_txn_commit (txn);
    else if (txn)
        mdb_txn_abort (txn);
    hs_db_close (&db);
    return hs_db_errno (rc);
}
