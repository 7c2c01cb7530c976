/*  test_store_wal.c: hs-store's write-ahead log (services/store/store_wal)
 *  and recovery through it: the record format against a torn tail at every
 *  byte and corrupt records; a store killed with SIGKILL between a batch's
 *  log fdatasync and any checkpoint, whose acked writes must come back with
 *  the uid and resourceVersion they were acked with, and whose remembered
 *  request ids must be replayed, not re-applied; a batch that fails in the
 *  middle of a window.
 */
#include "hs_test.h"
#include "hs_util.h"
#include "store.h"
#include "store_wal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *s_path (const char *name)
{
    return hs_sprintf ("%s/%s", hs_test_tmpdir (), name);
}

/* ------------------------------------------------------------------ format */

typedef struct {
    uint64_t batches[64];
    size_t lens[64];
    int n;
} s_seen_t;

static int s_collect (void *arg, uint64_t batch, const uint8_t *payload, size_t len)
{
    s_seen_t *seen = arg;
    (void)payload;
    if (seen->n < 64) {
        seen->batches[seen->n] = batch;
        seen->lens[seen->n] = len;
    }
    seen->n++;
    return 0;
}

static void test_effects (void)
{
    store_wal_buf_t b = {0};
    store_wal_effect_put (&b, 2, "key", 3, "ab", 2, "cd", 2);
    store_wal_effect_del (&b, 4, "gone", 4);
    store_wal_effect_put (&b, 0, "empty", 5, NULL, 0, NULL, 0);
    size_t off = 0;
    store_wal_effect_t e;
    CHECK_EQ_INT (store_wal_effect_next (b.data, b.len, &off, &e), 1);
    CHECK (e.op == STORE_WAL_PUT && e.table == 2 && e.klen == 3 && e.vlen == 4);
    CHECK (memcmp (e.key, "key", 3) == 0 && memcmp (e.val, "abcd", 4) == 0);
    CHECK_EQ_INT (store_wal_effect_next (b.data, b.len, &off, &e), 1);
    CHECK (e.op == STORE_WAL_DEL && e.table == 4 && e.klen == 4 && memcmp (e.key, "gone", 4) == 0);
    CHECK_EQ_INT (store_wal_effect_next (b.data, b.len, &off, &e), 1);
    CHECK (e.op == STORE_WAL_PUT && e.vlen == 0);
    CHECK_EQ_INT (store_wal_effect_next (b.data, b.len, &off, &e), 0);
    /* Every truncation of a payload but the effect boundaries is refused. */
    for (size_t cut = 1; cut < b.len; cut++) {
        size_t o = 0;
        int r;
        while ((r = store_wal_effect_next (b.data, cut, &o, &e)) == 1) {}
        bool boundary = cut == 8 + 3 + 4 || cut == 8 + 3 + 4 + 4 + 4;
        CHECK_EQ_INT (r, boundary ? 0 : -EBADMSG);
    }
    store_wal_buf_free (&b);
}

/* Records 1..n with payloads of varied lengths (0 included), via the file. */
static uint8_t *s_log (int n, size_t *ret_len, size_t *ends)
{
    _cleanup_free_ char *path = s_path ("format.wal");
    unlink (path);
    store_wal_t *w = NULL;
    CHECK_EQ_INT (store_wal_open (path, false, &w), 0);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        uint8_t payload[300];
        size_t len = (size_t)(i * 37) % sizeof payload;
        for (size_t j = 0; j < len; j++) payload[j] = (uint8_t)(i + j);
        CHECK_EQ_INT (store_wal_append (w, (uint64_t)i + 1, payload, len), 0);
        total += STORE_WAL_HEADER + len;
        ends[i] = total;
    }
    CHECK_EQ_INT (store_wal_size (w), total);
    uint8_t *buf = NULL;
    CHECK_EQ_INT (store_wal_read (w, &buf, ret_len), 0);
    CHECK_EQ_INT (*ret_len, total);
    store_wal_destroy (&w);
    return buf;
}

static void test_torn_tail (void)
{
    enum { N = 12 };
    size_t ends[N], len;
    _cleanup_free_ uint8_t *buf = s_log (N, &len, ends);
    s_seen_t all = {0};
    size_t valid;
    CHECK_EQ_INT (store_wal_scan (buf, len, s_collect, &all, &valid), N);
    CHECK_EQ_INT (valid, len);
    for (int i = 0; i < N; i++) {
        CHECK_EQ_INT (all.batches[i], i + 1);
        CHECK_EQ_INT (all.lens[i], (size_t)(i * 37) % 300);
    }
    /* Cut at every byte: exactly the complete records come back. */
    for (size_t cut = 0; cut <= len; cut++) {
        int complete = 0;
        while (complete < N && ends[complete] <= cut) complete++;
        s_seen_t seen = {0};
        int n = store_wal_scan (buf, cut, s_collect, &seen, &valid);
        CHECK_EQ_INT (n, complete);
        CHECK_EQ_INT (seen.n, complete);
        CHECK_EQ_INT (valid, complete ? ends[complete - 1] : 0);
    }
}

static void test_corrupt (void)
{
    enum { N = 6 };
    size_t ends[N], len, valid;
    _cleanup_free_ uint8_t *buf = s_log (N, &len, ends);
    /* A flipped bit anywhere in record 3 (header or payload) stops the scan
     * after records 1 and 2. */
    for (size_t at = ends[1]; at < ends[2]; at++) {
        buf[at] ^= 0x10;
        CHECK_EQ_INT (store_wal_scan (buf, len, NULL, NULL, &valid), 2);
        CHECK_EQ_INT (valid, ends[1]);
        buf[at] ^= 0x10;
    }
    CHECK_EQ_INT (store_wal_scan (buf, len, NULL, NULL, NULL), N);
    /* The CRC field itself. */
    buf[ends[3] + 4] ^= 0xff;
    CHECK_EQ_INT (store_wal_scan (buf, len, NULL, NULL, NULL), 4);
    buf[ends[3] + 4] ^= 0xff;
    /* Zeros (a tail the file system extended but never wrote). */
    uint8_t zeros[64] = {0};
    CHECK_EQ_INT (store_wal_scan (zeros, sizeof zeros, NULL, NULL, &valid), 0);
    CHECK_EQ_INT (valid, 0);

    /* A valid record with a batch number not above the one before (stale
     * bytes after a lost truncation) ends the log. */
    uint8_t rec[2][STORE_WAL_HEADER + 4];
    store_wal_header (rec[0], 7, (const uint8_t *)"abcd", 4);
    memcpy (rec[0] + STORE_WAL_HEADER, "abcd", 4);
    store_wal_header (rec[1], 3, (const uint8_t *)"efgh", 4);
    memcpy (rec[1] + STORE_WAL_HEADER, "efgh", 4);
    CHECK_EQ_INT (store_wal_scan (&rec[0][0], sizeof rec, NULL, NULL, &valid), 1);
    CHECK_EQ_INT (valid, sizeof rec[0]);

    /* The known CRC-32C check value. */
    CHECK_EQ_INT (store_wal_crc32c (0, "123456789", 9), 0xE3069283u);
}

static size_t s_file_len (const char *path)
{
    struct stat st;
    CHECK (stat (path, &st) == 0);
    return (size_t)st.st_size;
}

static int s_records (store_wal_t *w, uint64_t *first, size_t *valid, bool *clean)
{
    uint8_t *buf;
    size_t len;
    CHECK_EQ_INT (store_wal_read (w, &buf, &len), 0);
    s_seen_t seen = {0};
    int n = store_wal_scan (buf, len, s_collect, &seen, valid);
    *first = n > 0 ? seen.batches[0] : 0;
    *clean = store_wal_is_end (buf, len, *valid);
    free (buf);
    return n;
}

/* A reset keeps the file and zeroes the first header; the next window's
 * records overwrite the old ones, and a replay stops where they end. */
static void test_reset (void)
{
    _cleanup_free_ char *path = s_path ("reset.wal");
    store_wal_t *w = NULL;
    uint64_t first;
    size_t valid;
    bool clean;
    CHECK_EQ_INT (store_wal_open (path, true, &w), 0);
    CHECK_EQ_INT (store_wal_append (w, 1, (const uint8_t *)"x", 1), 0);
    CHECK_EQ_INT (store_wal_append (w, 2, (const uint8_t *)"y", 1), 0);
    CHECK_EQ_INT (store_wal_append (w, 3, (const uint8_t *)"z", 1), 0);
    CHECK_EQ_INT (store_wal_reset (w, false), 0);
    CHECK_EQ_INT (store_wal_size (w), 0);
    CHECK_EQ_INT (s_file_len (path), 3 * (STORE_WAL_HEADER + 1)); /* blocks kept */
    CHECK_EQ_INT (s_records (w, &first, &valid, &clean), 0);      /* but empty */
    CHECK (clean);

    /* One new record: the old second one follows it, with a lower batch. */
    CHECK_EQ_INT (store_wal_append (w, 4, (const uint8_t *)"a", 1), 0);
    store_wal_destroy (&w);
    CHECK_EQ_INT (store_wal_open (path, true, &w), 0);
    CHECK_EQ_INT (s_records (w, &first, &valid, &clean), 1);
    CHECK_EQ_INT (first, 4);
    CHECK_EQ_INT (valid, STORE_WAL_HEADER + 1);
    CHECK (!clean);

    /* A longer new record ends inside an old one: the CRC stops the scan. */
    CHECK_EQ_INT (store_wal_reset (w, false), 0);
    CHECK_EQ_INT (store_wal_append (w, 5, (const uint8_t *)"0123456789", 10), 0);
    CHECK_EQ_INT (s_records (w, &first, &valid, &clean), 1);
    CHECK_EQ_INT (first, 5);

    /* Appends past the old end grow the file; a truncating reset empties it. */
    CHECK_EQ_INT (store_wal_append (w, 6, (const uint8_t *)"0123456789", 10), 0);
    CHECK_EQ_INT (store_wal_append (w, 7, (const uint8_t *)"0123456789", 10), 0);
    CHECK_EQ_INT (s_records (w, &first, &valid, &clean), 3);
    CHECK (clean);
    CHECK_EQ_INT (s_file_len (path), 3 * (STORE_WAL_HEADER + 10));
    CHECK_EQ_INT (store_wal_reset (w, true), 0);
    CHECK_EQ_INT (s_file_len (path), 0);
    CHECK_EQ_INT (s_records (w, &first, &valid, &clean), 0);
    CHECK (clean);
    store_wal_destroy (&w);
}

/* ------------------------------------------------------------------ recovery */

static Hs__Object *s_pod (const char *name, const char *cpu)
{
    Hs__Object *o = hs_obj_new (HS_KIND_POD, "", name);
    o->pod->spec = hs_pb_new (&hs__pod_spec__descriptor);
    Hs__Container *c = hs_pb_new (&hs__container__descriptor);
    hs_pb_set_str (&c->name, "app");
    hs_pb_push ((void ***)&c->command, &c->n_command, hs_strdup ("sleep"));
    if (cpu) {
        c->resources = hs_pb_new (&hs__resource_requirements__descriptor);
        c->resources->requests = hs_pb_new (&hs__resource_list__descriptor);
        hs_pb_set_str (&c->resources->requests->cpu, cpu);
    }
    hs_pb_push ((void ***)&o->pod->spec->containers, &o->pod->spec->n_containers, c);
    return o;
}

static Hs__Object *s_node (const char *name)
{
    Hs__Object *o = hs_obj_new (HS_KIND_NODE, "", name);
    o->node->status = hs_pb_new (&hs__node_status__descriptor);
    o->node->status->capacity = hs_pb_new (&hs__resource_list__descriptor);
    hs_pb_set_str (&o->node->status->capacity->cpu, "8");
    hs_pb_set_str (&o->node->status->capacity->memory, "8Gi");
    hs_pb_set_str (&o->node->status->capacity->pods, "100");
    return o;
}

static Hs__Write *s_w (Hs__Op op, Hs__Object *o)
{
    Hs__Write *w = hs_pb_new (&hs__write__descriptor);
    w->op = op;
    w->object = o;
    return w;
}

static Hs__Write *s_target (Hs__Op op, const char *name, const char *node)
{
    Hs__Write *w = hs_pb_new (&hs__write__descriptor);
    w->op = op;
    hs_pb_set_str (&w->kind, "pod");
    hs_pb_set_str (&w->name, name);
    if (node) hs_pb_set_str (&w->node_name, node);
    return w;
}

static Hs__Command *s_cmd (const char *req, int n, ...)
{
    Hs__Command *c = hs_pb_new (&hs__command__descriptor);
    hs_pb_set_str (&c->client_id, "c1");
    hs_pb_set_str (&c->request_id, req);
    va_list ap;
    va_start (ap, n);
    for (int i = 0; i < n; i++)
        hs_pb_push ((void ***)&c->writes, &c->n_writes, va_arg (ap, Hs__Write *));
    va_end (ap);
    return c;
}

/* What the child reports for each acked command: its request id, and the
 * first write result's name, uid and resourceVersion. */
typedef struct {
    char req[16], name[32], uid[64];
    int64_t rv;
    int code;
} s_acked_t;

enum { BATCHES = 20, PER_BATCH = 10 };

/* The child: applies batches with checkpoints disabled and dies by SIGKILL
 * right after the last batch's log fdatasync, reporting every ack on fd. */
static void s_child (const char *dir, int fd)
{
    setenv ("HS_STORE_TEST_NO_CHECKPOINT", "1", 1);
    store_opts_t opts = {0}; /* synced: the real durability path */
    store_t *s = NULL;
    if (store_open (dir, &opts, &s) < 0) _exit (3);
    store_out_t out = {0};
    for (int b = 0; b < BATCHES; b++) {
        Hs__Command *cmds[PER_BATCH + 2];
        size_t n = 0;
        char req[16], name[32];
        for (int i = 0; i < PER_BATCH; i++) {
            snprintf (req, sizeof req, "r%03d", b * PER_BATCH + i);
            snprintf (name, sizeof name, "p%03d", b * PER_BATCH + i);
            cmds[n++] = s_cmd (req, 1, s_w (HS__OP__OP_CREATE, s_pod (name, "100m")));
        }
        if (b == 0) {
            /* A multi-write command (nested transaction): a node and a
             * pod bound to it. */
            cmds[n++] = s_cmd ("multi", 3, s_w (HS__OP__OP_CREATE, s_node ("n1")),
                               s_w (HS__OP__OP_CREATE, s_pod ("bound", "500m")),
                               s_target (HS__OP__OP_BIND, "bound", "n1"));
            /* A multi-write command that fails half-way: its nested
             * transaction, and its effects, are rolled back. */
            cmds[n++] = s_cmd ("halfway", 2, s_w (HS__OP__OP_CREATE, s_pod ("ghost", NULL)),
                               s_w (HS__OP__OP_CREATE, s_pod ("p000", NULL)));
        }
        if (b == 5) cmds[n++] = s_cmd ("del", 1, s_target (HS__OP__OP_DELETE, "p001", NULL));
        if (store_apply (s, cmds, n, &out) < 0) _exit (4);
        for (size_t i = 0; i < out.n_acks; i++) {
            const Hs__Ack *a = out.acks[i].ack;
            s_acked_t r = {.rv = a->revision, .code = a->code};
            snprintf (r.req, sizeof r.req, "%s", a->request_id);
            if (a->n_results > 0) {
                snprintf (r.name, sizeof r.name, "%s", a->results[0]->name);
                snprintf (r.uid, sizeof r.uid, "%s", a->results[0]->uid);
                r.rv = a->results[0]->resource_version;
            }
            if (write (fd, &r, sizeof r) != (ssize_t)sizeof r) _exit (5);
        }
        for (size_t i = 0; i < n; i++) hs_pb_free (cmds[i]);
        if (b == BATCHES - 1 && out.n_events > 0) {
            /* The last event's stream and sequence, for the parent. */
            const Hs__WatchEvent *ev = out.events[out.n_events - 1].event;
            s_acked_t r = {.req = "#seq", .rv = (int64_t)ev->seq};
            snprintf (r.name, sizeof r.name, "%s", ev->stream);
            if (write (fd, &r, sizeof r) != (ssize_t)sizeof r) _exit (5);
        }
    }
    /* Acked (durable in the log), never checkpointed: die here. */
    kill (getpid (), SIGKILL);
    _exit (6);
}

static Hs__Object *s_find (const hs_db_snapshot_t *snap, const char *name)
{
    for (size_t i = 0; i < snap->n_objects; i++)
        if (hs_streq (hs_obj_meta (snap->objects[i])->name, name)) return snap->objects[i];
    return NULL;
}

static void test_kill_before_checkpoint (void)
{
    _cleanup_free_ char *dir = s_path ("killed");
    int fds[2];
    CHECK_EQ_INT (pipe (fds), 0);
    pid_t pid = fork ();
    if (pid == 0) {
        close (fds[0]);
        s_child (dir, fds[1]);
    }
    close (fds[1]);
    s_acked_t *acked = NULL;
    size_t n_acked = 0;
    s_acked_t r;
    while (read (fds[0], &r, sizeof r) == (ssize_t)sizeof r) {
        acked = hs_realloc (acked, (n_acked + 1) * sizeof *acked);
        acked[n_acked++] = r;
    }
    close (fds[0]);
    int status = 0;
    CHECK_EQ_INT (waitpid (pid, &status, 0), pid);
    CHECK (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
    CHECK_EQ_INT (n_acked, BATCHES * PER_BATCH + 3 + 1);

    /* The test means something only if LMDB itself lacks the writes: the
     * log holds them, and a reader of the LMDB file sees none. */
    _cleanup_free_ char *wal = hs_sprintf ("%s/" STORE_WAL_FILE, dir);
    struct stat st;
    CHECK (stat (wal, &st) == 0 && st.st_size > 0);
    hs_db_t *ro = NULL;
    hs_db_opts_t rdo = {.readonly = true};
    CHECK_EQ_INT (hs_db_open (dir, &rdo, &ro), 0);
    hs_db_snapshot_t before;
    /* A reader refuses while the log holds what LMDB lacks ... */
    CHECK_EQ_INT (hs_db_snapshot (ro, NULL, 0, NULL, &before), -EAGAIN);
    /* ... which, with the log out of the way, is everything. */
    _cleanup_free_ char *aside = hs_sprintf ("%s.aside", wal);
    CHECK_EQ_INT (rename (wal, aside), 0);
    CHECK_EQ_INT (hs_db_snapshot (ro, NULL, 0, NULL, &before), 0);
    CHECK_EQ_INT (before.n_objects, 0);
    hs_db_snapshot_free (&before);
    CHECK_EQ_INT (rename (aside, wal), 0);
    hs_db_close (&ro);

    /* A torn record after the last complete one (a crash inside a write):
     * discarded, and it never was acked. */
    int fd = open (wal, O_WRONLY | O_APPEND);
    CHECK (fd >= 0);
    uint8_t torn[STORE_WAL_HEADER + 10] = {20, 0, 0, 0, 1, 2, 3, 4};
    CHECK_EQ_INT (write (fd, torn, sizeof torn), (ssize_t)sizeof torn);
    close (fd);

    store_opts_t opts = {0};
    store_t *s = NULL;
    CHECK_EQ_INT (store_open (dir, &opts, &s), 0);
    if (!s) {
        free (acked);
        return;
    }
    CHECK (stat (wal, &st) == 0 && st.st_size == 0); /* recovery committed and emptied it */
    hs_db_snapshot_t snap;
    CHECK_EQ_INT (hs_db_snapshot (store_db (s), NULL, 0, NULL, &snap), 0);
    int64_t max_rv = 0;
    const s_acked_t *last_seq = NULL;
    for (size_t i = 0; i < n_acked; i++) {
        const s_acked_t *a = &acked[i];
        if (hs_streq (a->req, "#seq")) {
            last_seq = a;
            continue;
        }
        if (a->rv > max_rv) max_rv = a->rv;
        if (hs_streq (a->req, "halfway")) {
            CHECK (a->code != 0);
            CHECK (!s_find (&snap, "ghost"));
            continue;
        }
        CHECK_EQ_INT (a->code, 0);
        if (hs_streq (a->req, "del")) {
            CHECK (!s_find (&snap, "p001"));
            continue;
        }
        if (hs_streq (a->name, "p001")) continue; /* deleted by "del" */
        const Hs__Object *o = s_find (&snap, a->name);
        if (!o) fprintf (stderr, "  missing: %s (request %s)\n", a->name, a->req);
        CHECK (o != NULL);
        if (!o) continue;
        CHECK_EQ_STR (hs_obj_meta (o)->uid, a->uid);
        CHECK_EQ_INT (hs_obj_meta (o)->resource_version, a->rv);
    }
    CHECK_EQ_INT (snap.n_objects, BATCHES * PER_BATCH - 1 + 2); /* - p001 + n1, bound */
    CHECK_EQ_INT (store_revision (s), max_rv);
    CHECK_EQ_INT (snap.revision, max_rv);
    hs_db_snapshot_free (&snap);

    /* The usage index, rebuilt: the bound pod's 500m on n1. */
    store_node_usage_t u = {0};
    CHECK_EQ_INT (store_node_usage (s, "n1", &u), 0);
    CHECK_EQ_INT (u.cpu_milli, 500);
    CHECK_EQ_INT (u.pods, 1);

    /* Retries of acked requests are answered from memory, not applied:
     * same uid and resourceVersion, replayed=true. */
    store_out_t out = {0};
    Hs__Command *retry[2] = {
        s_cmd ("r007", 1, s_w (HS__OP__OP_CREATE, s_pod ("p007", "100m"))),
        s_cmd ("r150", 1, s_w (HS__OP__OP_CREATE, s_pod ("p150", "100m"))),
    };
    CHECK (store_apply (s, retry, 2, &out) >= 0);
    CHECK_EQ_INT (out.n_acks, 2);
    CHECK_EQ_INT (out.n_events, 0);
    for (size_t i = 0; i < out.n_acks && i < 2; i++) {
        const Hs__Ack *a = out.acks[i].ack;
        CHECK (a->replayed);
        CHECK_EQ_INT (a->code, 0);
        const s_acked_t *orig = NULL;
        for (size_t j = 0; j < n_acked; j++)
            if (hs_streq (acked[j].req, a->request_id)) orig = &acked[j];
        CHECK (orig && a->n_results == 1);
        if (orig && a->n_results == 1) {
            CHECK_EQ_STR (a->results[0]->uid, orig->uid);
            CHECK_EQ_INT (a->results[0]->resource_version, orig->rv);
        }
    }
    CHECK_EQ_INT (store_revision (s), max_rv);
    for (int i = 0; i < 2; i++) hs_pb_free (retry[i]);

    /* New work continues the revision and the stream's sequence. */
    Hs__Command *next = s_cmd ("next", 1, s_w (HS__OP__OP_CREATE, s_pod ("after", NULL)));
    CHECK (store_apply (s, &next, 1, &out) >= 0);
    hs_pb_free (next);
    CHECK_EQ_INT (out.n_events, 1);
    CHECK (last_seq != NULL);
    if (out.n_events == 1 && last_seq) {
        CHECK_EQ_INT (out.events[0].event->revision, max_rv + 1);
        CHECK_EQ_STR (out.events[0].event->stream, last_seq->name);
        CHECK_EQ_INT (out.events[0].event->seq, last_seq->rv + 1);
    }
    store_out_clear (&out);
    store_destroy (&s); /* a clean close checkpoints */
    CHECK (stat (wal, &st) == 0 && st.st_size == 0);
    free (acked);
}

/* A batch that fails inside a window (here: the map fills up) answers
 * Unavailable, and the batches acked before it in the same window survive:
 * the window is rebuilt from the log. */
static void test_failed_batch_keeps_window (void)
{
    _cleanup_free_ char *dir = s_path ("full");
    setenv ("HS_STORE_TEST_NO_CHECKPOINT", "1", 1);
    store_opts_t opts = {.nosync = true, .map_size = 4u << 20};
    store_t *s = NULL;
    CHECK_EQ_INT (store_open (dir, &opts, &s), 0);
    unsetenv ("HS_STORE_TEST_NO_CHECKPOINT");
    if (!s) return;
    store_out_t out = {0};
    int ok = 0, failed = 0;
    char big[60000];
    memset (big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    for (int i = 0; i < 400 && !failed; i++) {
        char req[16], name[16];
        snprintf (req, sizeof req, "f%d", i);
        snprintf (name, sizeof name, "big%d", i);
        Hs__Object *o = s_pod (name, NULL);
        hs_pb_map_set ((void ***)&hs_obj_meta (o)->annotations, &hs_obj_meta (o)->n_annotations,
                       &hs__object_meta__annotations_entry__descriptor, "pad", big);
        Hs__Command *c = s_cmd (req, 1, s_w (HS__OP__OP_CREATE, o));
        int r = store_apply (s, &c, 1, &out);
        hs_pb_free (c);
        if (r >= 0 && out.n_acks == 1 && out.acks[0].ack->code == 0)
            ok++;
        else {
            failed++;
            CHECK_EQ_INT (r, -ENOSPC);
            CHECK_EQ_INT (out.n_acks, 1);
            if (out.n_acks == 1) CHECK_EQ_INT (out.acks[0].ack->code, HS__CODE__CODE_UNAVAILABLE);
        }
    }
    CHECK_EQ_INT (failed, 1);
    CHECK (ok > 10);
    CHECK_EQ_INT (store_revision (s), ok);
    CHECK_EQ_INT (store_checkpoint (s), 0);
    hs_db_snapshot_t snap;
    CHECK_EQ_INT (hs_db_snapshot (store_db (s), NULL, 0, NULL, &snap), 0);
    CHECK_EQ_INT (snap.n_objects, ok);
    CHECK_EQ_INT (snap.revision, ok);
    hs_db_snapshot_free (&snap);
    store_out_clear (&out);
    store_destroy (&s);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"effects", test_effects},
        {"torn_tail", test_torn_tail},
        {"corrupt", test_corrupt},
        {"reset", test_reset},
        {"kill_before_checkpoint", test_kill_before_checkpoint},
        {"failed_batch_keeps_window", test_failed_batch_keeps_window},
    };
    return HS_TEST_RUN (tests);
}
