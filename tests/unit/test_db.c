/*  test_db.c: the LMDB layer (bus/hs_db): open modes, snapshots read-only
 *  beside a writer in another process, chunking, snapshot files (and their
 *  refusal when truncated or corrupt), restore.
 */
#include "hs_db.h"
#include "hs_test.h"
#include "hs_util.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *s_path (const char *name)
{
    return hs_sprintf ("%s/%s", hs_test_tmpdir (), name);
}

static Hs__Object *s_pod (const char *name, const char *node)
{
    Hs__Object *o = hs_obj_new (HS_KIND_POD, "default", name);
    o->pod->spec = hs_pb_new (&hs__pod_spec__descriptor);
    hs_pb_set_str (&o->pod->spec->node_name, node);
    return o;
}

/* A snapshot of n pods (every third on n1) and two nodes. */
static void s_make (hs_db_snapshot_t *snap, size_t n)
{
    memset (snap, 0, sizeof *snap);
    snap->epoch = 0xabcdef;
    snap->revision = 77;
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf (name, sizeof name, "p%05zu", i);
        hs_pb_push ((void ***)&snap->objects, &snap->n_objects, s_pod (name, i % 3 ? "" : "n1"));
    }
    hs_pb_push ((void ***)&snap->objects, &snap->n_objects, hs_obj_new (HS_KIND_NODE, "", "n1"));
    hs_pb_push ((void ***)&snap->objects, &snap->n_objects, hs_obj_new (HS_KIND_NODE, "", "n2"));
    const char *streams[] = {"pod.-", "pod.n1", "node.-"};
    for (int i = 0; i < 3; i++) {
        Hs__StreamSeq *ss = hs_pb_new (&hs__stream_seq__descriptor);
        hs_pb_set_str (&ss->stream, streams[i]);
        ss->seq = 10 + (uint64_t)i;
        hs_pb_push ((void ***)&snap->streams, &snap->n_streams, ss);
    }
}

static void test_open (void)
{
    _cleanup_free_ char *dir = s_path ("open");
    hs_db_t *db = NULL;
    hs_db_opts_t ro = {.readonly = true};
    /* Nothing there yet: a reader gets ENOENT, not a fresh empty store. */
    CHECK_EQ_INT (hs_db_open (dir, &ro, &db), -ENOENT);
    CHECK_EQ_INT (hs_db_open (dir, NULL, &db), 0);
    CHECK (db != NULL);
    hs_db_snapshot_t snap;
    CHECK_EQ_INT (hs_db_snapshot (db, NULL, 0, NULL, &snap), 0);
    CHECK_EQ_INT (snap.n_objects, 0);
    CHECK_EQ_INT (snap.revision, 0);
    hs_db_snapshot_free (&snap);
    hs_kind_t bad = (hs_kind_t)99;
    CHECK_EQ_INT (hs_db_snapshot (db, &bad, 1, NULL, &snap), -EINVAL);
    hs_db_close (&db);
    CHECK (db == NULL);
    hs_db_close (&db); /* NULL-safe */
    CHECK_EQ_INT (hs_db_errno (MDB_NOTFOUND), -ENOENT);
    CHECK_EQ_INT (hs_db_errno (MDB_MAP_FULL), -ENOSPC);
    CHECK_EQ_INT (hs_db_errno (MDB_KEYEXIST), -EEXIST);
    CHECK_EQ_INT (hs_db_errno (EACCES), -EACCES);
}

static void test_restore_and_filters (void)
{
    hs_db_snapshot_t src;
    s_make (&src, 30);
    _cleanup_free_ char *dir = s_path ("restore");
    CHECK_EQ_INT (hs_db_restore (dir, &src), 0);
    CHECK_EQ_INT (hs_db_restore (dir, &src), -EEXIST);

    hs_db_t *db = NULL;
    hs_db_opts_t ro = {.readonly = true};
    CHECK_EQ_INT (hs_db_open (dir, &ro, &db), 0);
    hs_db_snapshot_t snap;
    CHECK_EQ_INT (hs_db_snapshot (db, NULL, 0, NULL, &snap), 0);
    CHECK_EQ_INT (snap.n_objects, 32);
    CHECK_EQ_INT (snap.revision, 77);
    CHECK_EQ_INT (snap.epoch, 0xabcdef);
    CHECK_EQ_INT (snap.n_streams, 3);
    hs_db_snapshot_free (&snap);

    hs_kind_t pods = HS_KIND_POD;
    CHECK_EQ_INT (hs_db_snapshot (db, &pods, 1, "n1", &snap), 0);
    CHECK_EQ_INT (snap.n_objects, 10);
    for (size_t i = 0; i < snap.n_objects; i++)
        CHECK_EQ_STR (snap.objects[i]->pod->spec->node_name, "n1");
    CHECK_EQ_INT (snap.n_streams, 1);
    CHECK_EQ_STR (snap.streams[0]->stream, "pod.n1");
    CHECK_EQ_INT (snap.streams[0]->seq, 11);
    hs_db_snapshot_free (&snap);
    /* A node nobody wrote to yet: its stream at 0. */
    CHECK_EQ_INT (hs_db_snapshot (db, &pods, 1, "n7", &snap), 0);
    CHECK_EQ_INT (snap.n_objects, 0);
    CHECK_EQ_INT (snap.n_streams, 1);
    CHECK_EQ_INT (snap.streams[0]->seq, 0);
    hs_db_snapshot_free (&snap);
    hs_kind_t nodes = HS_KIND_NODE;
    CHECK_EQ_INT (hs_db_snapshot (db, &nodes, 1, NULL, &snap), 0);
    CHECK_EQ_INT (snap.n_objects, 2);
    CHECK_EQ_INT (snap.n_streams, 1);
    CHECK_EQ_STR (snap.streams[0]->stream, "node.-");
    hs_db_snapshot_free (&snap);
    hs_db_close (&db);
    hs_db_snapshot_free (&src);

    /* A bad object is refused before anything is written. */
    hs_db_snapshot_t bad = {0};
    hs_pb_push ((void ***)&bad.objects, &bad.n_objects, hs_obj_new (HS_KIND_POD, "default", ""));
    _cleanup_free_ char *dir2 = s_path ("restore-bad");
    CHECK_EQ_INT (hs_db_restore (dir2, &bad), -EINVAL);
    hs_db_snapshot_free (&bad);
}

/* A reader in another process opens the directory while this process holds
 * it open for writing, and sees committed state. */
static void test_reader_beside_writer (void)
{
    _cleanup_free_ char *dir = s_path ("shared");
    hs_db_t *w = NULL;
    CHECK_EQ_INT (hs_db_open (dir, NULL, &w), 0);
    MDB_env *env = hs_db_env (w);
    MDB_txn *txn;
    CHECK_EQ_INT (mdb_txn_begin (env, NULL, 0, &txn), 0);
    Hs__Object *o = s_pod ("web", "");
    size_t len;
    uint8_t *buf = hs_pb_pack (o, &len);
    MDB_val k = {strlen ("pod/default/web"), "pod/default/web"}, v = {len, buf};
    CHECK_EQ_INT (mdb_put (txn, hs_db_dbi (w, HS_DB_OBJECTS), &k, &v, 0), 0);
    int64_t rev = 5;
    MDB_val rk = {8, "revision"}, rv = {sizeof rev, &rev};
    CHECK_EQ_INT (mdb_put (txn, hs_db_dbi (w, HS_DB_META), &rk, &rv, 0), 0);
    CHECK_EQ_INT (mdb_txn_commit (txn), 0);
    free (buf);
    hs_pb_free (o);

    /* An uncommitted write the reader must not see. */
    CHECK_EQ_INT (mdb_txn_begin (env, NULL, 0, &txn), 0);
    MDB_val k2 = {strlen ("pod/default/pending"), "pod/default/pending"}, v2 = {1, "x"};
    CHECK_EQ_INT (mdb_put (txn, hs_db_dbi (w, HS_DB_OBJECTS), &k2, &v2, 0), 0);

    pid_t pid = fork ();
    if (pid == 0) {
        hs_db_t *r = NULL;
        hs_db_opts_t ro = {.readonly = true};
        if (hs_db_open (dir, &ro, &r) < 0) _exit (10);
        hs_db_snapshot_t snap;
        if (hs_db_snapshot (r, NULL, 0, NULL, &snap) < 0) _exit (11);
        int rc = snap.n_objects == 1 && snap.revision == 5 ? 0 : 12;
        hs_db_snapshot_free (&snap);
        hs_db_close (&r);
        _exit (rc);
    }
    int status = -1;
    waitpid (pid, &status, 0);
    CHECK (WIFEXITED (status));
    CHECK_EQ_INT (WEXITSTATUS (status), 0);
    mdb_txn_abort (txn);
    hs_db_close (&w);
}

static void test_chunks (void)
{
    hs_db_snapshot_t snap;
    s_make (&snap, 1198); /* 1200 objects */
    Hs__SnapshotChunk **chunks;
    size_t n;
    hs_db_snapshot_chunks (&snap, "req", 500, 1 << 20, &chunks, &n);
    CHECK_EQ_INT (n, 3);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ_INT (chunks[i]->index, i);
        CHECK_EQ_STR (chunks[i]->request_id, "req");
        CHECK_EQ_INT (chunks[i]->epoch, 0xabcdef);
        CHECK_EQ_INT (chunks[i]->revision, 77);
        CHECK (chunks[i]->n_objects <= 500);
        CHECK_EQ_INT (chunks[i]->last, i == n - 1);
        total += chunks[i]->n_objects;
    }
    CHECK_EQ_INT (chunks[n - 1]->total_objects, 1200);
    CHECK_EQ_INT (chunks[n - 1]->n_streams, 3);
    CHECK_EQ_INT (chunks[0]->n_streams, 0);
    CHECK_EQ_INT (total, 1200);
    hs_db_chunks_free (chunks, n);

    /* The byte limit splits too: each chunk stays near it. */
    hs_db_snapshot_chunks (&snap, "req", 500, 4096, &chunks, &n);
    CHECK (n > 5);
    for (size_t i = 0; i < n; i++)
        CHECK (protobuf_c_message_get_packed_size (&chunks[i]->base) < 8192);
    hs_db_chunks_free (chunks, n);
    hs_db_snapshot_free (&snap);

    /* An empty snapshot is one last chunk. */
    hs_db_snapshot_t empty = {.epoch = 1, .revision = 2};
    hs_db_snapshot_chunks (&empty, "", 500, 1 << 20, &chunks, &n);
    CHECK_EQ_INT (n, 1);
    CHECK (chunks[0]->last);
    CHECK_EQ_INT (chunks[0]->total_objects, 0);
    hs_db_chunks_free (chunks, n);
}

static void test_files (void)
{
    hs_db_snapshot_t snap;
    s_make (&snap, 1100);
    _cleanup_free_ char *file = s_path ("backup.snap");
    CHECK_EQ_INT (hs_db_snapshot_write_file (file, &snap), 0);
    hs_db_snapshot_t back;
    char *err = NULL;
    CHECK_EQ_INT (hs_db_snapshot_read_file (file, &back, &err), 0);
    CHECK (err == NULL);
    CHECK_EQ_INT (back.n_objects, snap.n_objects);
    CHECK_EQ_INT (back.n_streams, 3);
    CHECK_EQ_INT (back.revision, 77);
    CHECK_EQ_INT (back.epoch, 0xabcdef);
    bool same = back.n_objects == snap.n_objects;
    for (size_t i = 0; same && i < back.n_objects; i++)
        same = hs_pb_equal (back.objects[i], snap.objects[i]);
    CHECK (same);
    hs_db_snapshot_free (&back);

    /* Truncated anywhere: refused with a clear error. */
    struct stat st;
    CHECK_EQ_INT (stat (file, &st), 0);
    _cleanup_free_ char *cut = s_path ("cut.snap");
    off_t sizes[] = {0, 4, 8, 10, 100, st.st_size / 2, st.st_size - 1};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char cmd[2048];
        snprintf (cmd, sizeof cmd, "cp '%s' '%s'", file, cut);
        CHECK_EQ_INT (system (cmd), 0);
        CHECK_EQ_INT (truncate (cut, sizes[i]), 0);
        err = NULL;
        int r = hs_db_snapshot_read_file (cut, &back, &err);
        CHECK_EQ_INT (r, -EBADMSG);
        CHECK (err != NULL);
        if (sizes[i] >= 8) CHECK_CONTAINS (err, "truncated");
        free (err);
    }
    /* Trailing garbage and a bad header are refused too. */
    FILE *f = fopen (cut, "we");
    fputs ("NOTSNAP!", f);
    fclose (f);
    err = NULL;
    CHECK_EQ_INT (hs_db_snapshot_read_file (cut, &back, &err), -EBADMSG);
    CHECK_CONTAINS (err, "not a Homeostat snapshot");
    free (err);
    char cmd[2048];
    snprintf (cmd, sizeof cmd, "cp '%s' '%s' && printf 'junk' >> '%s'", file, cut, cut);
    CHECK_EQ_INT (system (cmd), 0);
    err = NULL;
    CHECK_EQ_INT (hs_db_snapshot_read_file (cut, &back, &err), -EBADMSG);
    CHECK_CONTAINS (err, "after the final chunk");
    free (err);
    _cleanup_free_ char *missing = s_path ("nope.snap");
    err = NULL;
    CHECK_EQ_INT (hs_db_snapshot_read_file (missing, &back, &err), -ENOENT);
    CHECK_CONTAINS (err, "cannot open");
    free (err);
    hs_db_snapshot_free (&snap);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"open", test_open},
        {"restore_and_filters", test_restore_and_filters},
        {"reader_beside_writer", test_reader_beside_writer},
        {"chunks", test_chunks},
        {"files", test_files},
    };
    return HS_TEST_RUN (tests);
}
