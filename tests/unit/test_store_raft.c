/*  test_store_raft.c: the replicated store (services/store/store_raft.c) on
 *  raft_fixture (libraft's deterministic in-memory io, simulated time and
 *  network) with the REAL store FSM on three temporary LMDB directories:
 *  election, replication, digests, leader killed, leader partitioned with a
 *  batch in flight (and one whose entry commits anyway under the next
 *  leader: the retry is a replay), a follower behind a compacted log installing a
 *  snapshot, and a foreign cluster's entry refused.
 */
#include "hs_test.h"
#include "hs_util.h"
#include "store.h"
#include "store_authz.h"
#include "store_raft.h"
#include "store_xport.h"

#include <errno.h>
#include <lmdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <raft/fixture.h>
#include <raft/uv.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#define N 3

typedef struct {
    store_t *s;
    store_raft_t *sr;
    store_out_t out;
    uint64_t acked_ok, acked_unavailable, acked_other, events, serving_changes;
} member_t;

static member_t g_m[N];
static struct raft_fixture g_f;
static int g_round; /* a fresh set of directories per test */
static uint64_t g_cluster;

/* ------------------------------------------------------------------ the cluster */

static void s_done (void *arg, store_out_t *out, bool committed)
{
    member_t *m = arg;
    (void)committed;
    m->events += out->n_events;
    for (size_t i = 0; i < out->n_acks; i++) {
        Hs__Code c = out->acks[i].ack->code;
        if (c == HS__CODE__CODE_OK)
            m->acked_ok++;
        else if (c == HS__CODE__CODE_UNAVAILABLE)
            m->acked_unavailable++;
        else
            m->acked_other++;
    }
}

static void s_serving (void *arg, bool serving)
{
    member_t *m = arg;
    (void)serving;
    m->serving_changes++;
}

static void s_tick_all (void)
{
    for (unsigned i = 0; i < N; i++)
        if (raft_fixture_alive (&g_f, i)) store_raft_tick (g_m[i].sr);
}

/* Steps the fixture (ticking every member after each step) until pred
 * holds or max_ms of simulated time passed. */
static bool s_until (bool (*pred) (void *), void *arg, unsigned max_ms)
{
    raft_time end = raft_fixture_time (&g_f) + max_ms;
    for (;;) {
        s_tick_all ();
        if (pred (arg)) return true;
        if (raft_fixture_time (&g_f) > end) return false;
        raft_fixture_step (&g_f);
    }
}

/* The serving member of the highest term (a revived old leader may still
 * believe it serves until it hears from the new one). */
static int s_serving_member (void)
{
    int best = -1;
    for (int i = 0; i < N; i++)
        if (raft_fixture_alive (&g_f, (unsigned)i) && store_raft_serving (g_m[i].sr) &&
            (best < 0 || raft_fixture_get (&g_f, (unsigned)i)->current_term >
                             raft_fixture_get (&g_f, (unsigned)best)->current_term))
            best = i;
    return best;
}

static bool s_has_serving (void *arg)
{
    int not = arg ? *(int *)arg : -1;
    int i = s_serving_member ();
    return i >= 0 && i != not ;
}

static void s_setup (unsigned threshold, unsigned trailing)
{
    g_round++;
    g_cluster = store_raft_hash ("test-cluster");
    memset (&g_f, 0, sizeof g_f);
    CHECK_EQ_INT (raft_fixture_initialize (&g_f), 0);
    _cleanup_free_ char *key = hs_sprintf ("%s/r%d.key", hs_test_tmpdir (), g_round);
    for (unsigned i = 0; i < N; i++) {
        member_t *m = &g_m[i];
        memset (m, 0, sizeof *m);
        _cleanup_free_ char *dir = hs_sprintf ("%s/r%d-m%u", hs_test_tmpdir (), g_round, i);
        store_opts_t opts = {.nosync = true, .replicated = true, .encryption_key = key};
        CHECK_EQ_INT (store_open (dir, &opts, &m->s), 0);
        store_raft_cbs_t cbs = {.done = s_done, .serving = s_serving, .arg = m};
        CHECK_EQ_INT (store_raft_new (m->s, g_cluster, &cbs, &m->sr), 0);
        CHECK_EQ_INT (raft_fixture_grow (&g_f, store_raft_fsm (m->sr)), 0);
        struct raft *r = raft_fixture_get (&g_f, i);
        store_raft_attach (m->sr, r);
        if (threshold) {
            raft_set_snapshot_threshold (r, threshold);
            raft_set_snapshot_trailing (r, trailing);
        }
    }
    struct raft_configuration conf;
    CHECK_EQ_INT (raft_fixture_configuration (&g_f, N, &conf), 0);
    CHECK_EQ_INT (raft_fixture_bootstrap (&g_f, &conf), 0);
    raft_configuration_close (&conf);
    CHECK_EQ_INT (raft_fixture_start (&g_f), 0);
    CHECK (s_until (s_has_serving, NULL, 10000));
}

static void s_teardown (void)
{
    raft_fixture_close (&g_f); /* the members' pending callbacks run here */
    for (unsigned i = 0; i < N; i++) {
        store_out_clear (&g_m[i].out);
        store_raft_destroy (&g_m[i].sr);
        store_destroy (&g_m[i].s);
    }
}

/* ------------------------------------------------------------------ commands */

static Hs__Command *s_create (const char *req, const char *name)
{
    Hs__Object *o = hs_obj_new (HS_KIND_CONFIGMAP, "default", name);
    Hs__Write *w = hs_pb_new (&hs__write__descriptor);
    w->op = HS__OP__OP_CREATE;
    w->object = o;
    Hs__Command *c = hs_pb_new (&hs__command__descriptor);
    hs_pb_set_str (&c->client_id, "c1");
    hs_pb_set_str (&c->request_id, req);
    hs_pb_push ((void ***)&c->writes, &c->n_writes, w);
    return c;
}

static bool s_idle (void *arg)
{
    return !store_raft_busy (((member_t *)arg)->sr);
}

/* Submits a create of configmap name on member i (serving), held: 0, or
 * the submit's return. */
static int s_submit (int i, const char *req, const char *name)
{
    Hs__Command *c = s_create (req, name);
    int r = store_raft_submit (g_m[i].sr, &c, NULL, 1, &g_m[i].out);
    hs_pb_free (c);
    return r;
}

/* n creates through the serving leader, one batch in flight, each acked. */
static void s_write_n (int from, int n)
{
    for (int k = from; k < from + n; k++) {
        int i = s_serving_member ();
        CHECK (i >= 0);
        if (i < 0) return;
        char req[32], name[32];
        snprintf (req, sizeof req, "req-%d", k);
        snprintf (name, sizeof name, "cm-%d", k);
        uint64_t ok = g_m[i].acked_ok;
        CHECK_EQ_INT (s_submit (i, req, name), 0);
        CHECK (s_until (s_idle, &g_m[i], 5000));
        CHECK_EQ_INT (g_m[i].acked_ok, ok + 1);
    }
}

typedef struct {
    uint64_t index;
} s_applied_t;

static bool s_all_applied (void *arg)
{
    uint64_t want = ((s_applied_t *)arg)->index;
    for (unsigned i = 0; i < N; i++)
        if (store_applied_index (g_m[i].s) < want) return false;
    return true;
}

/* Waits until every member applied what the serving one did. */
static void s_converge (void)
{
    int i = s_serving_member ();
    CHECK (i >= 0);
    s_applied_t a = {store_applied_index (g_m[i].s)};
    CHECK (s_until (s_all_applied, &a, 20000));
}

/* A digest of every table but meta (each member has its own epoch and
 * checkpoint bookkeeping there), plus meta's revision. Checkpoints first. */
static uint64_t s_digest (member_t *m)
{
    CHECK_EQ_INT (store_checkpoint (m->s), 0);
    MDB_env *env = hs_db_env (store_db (m->s));
    MDB_txn *txn;
    CHECK_EQ_INT (mdb_txn_begin (env, NULL, MDB_RDONLY, &txn), 0);
    uint64_t h = 1469598103934665603ull;
    for (int t = 0; t < HS_DB__COUNT; t++) {
        MDB_dbi dbi = hs_db_dbi (store_db (m->s), (hs_db_table_t)t);
        MDB_cursor *cur;
        CHECK_EQ_INT (mdb_cursor_open (txn, dbi, &cur), 0);
        MDB_val k, v;
        for (int rc = mdb_cursor_get (cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT)) {
            if (t == HS_DB_META && !(k.mv_size == 8 && memcmp (k.mv_data, "revision", 8) == 0))
                continue;
            const uint8_t *p[2] = {k.mv_data, v.mv_data};
            size_t l[2] = {k.mv_size, v.mv_size};
            for (int j = 0; j < 2; j++) {
                for (size_t b = 0; b < l[j]; b++) h = (h ^ p[j][b]) * 1099511628211ull;
                h = (h ^ (uint64_t)l[j]) * 1099511628211ull;
            }
        }
        mdb_cursor_close (cur);
    }
    mdb_txn_abort (txn);
    return h;
}

static size_t s_objects (member_t *m)
{
    CHECK_EQ_INT (store_checkpoint (m->s), 0);
    hs_db_snapshot_t snap;
    CHECK_EQ_INT (hs_db_snapshot (store_db (m->s), NULL, 0, NULL, &snap), 0);
    size_t n = snap.n_objects;
    hs_db_snapshot_free (&snap);
    return n;
}

static void s_check_digests (size_t objects)
{
    uint64_t d0 = s_digest (&g_m[0]);
    for (unsigned i = 1; i < N; i++) CHECK (s_digest (&g_m[i]) == d0);
    for (unsigned i = 0; i < N; i++) CHECK_EQ_INT (s_objects (&g_m[i]), objects);
}

/* ------------------------------------------------------------------ tests */

static void test_elect_replicate (void)
{
    s_setup (0, 0);
    int l = s_serving_member ();
    CHECK (l >= 0);
    s_write_n (0, 20);
    s_converge ();
    s_check_digests (20);
    for (unsigned i = 0; i < N; i++) CHECK (store_raft_fatal (g_m[i].sr) == 0);
    /* The same request id again: answered from the request table, nothing
     * replicated (submit answers at once). */
    Hs__Command *c = s_create ("req-3", "cm-3");
    int r = store_raft_submit (g_m[l].sr, &c, NULL, 1, &g_m[l].out);
    hs_pb_free (c);
    CHECK_EQ_INT (r, 1);
    CHECK_EQ_INT (g_m[l].out.n_acks, 1);
    if (g_m[l].out.n_acks) CHECK (g_m[l].out.acks[0].ack->replayed);
    store_out_reset (&g_m[l].out);
    /* A follower does not take batches. */
    int f = (l + 1) % N;
    CHECK_EQ_INT (s_submit (f, "req-x", "cm-x"), -EBUSY);
    s_teardown ();
}

/* Cuts member i off from the others (both ways), or heals it. */
static void s_isolate (int i, bool cut)
{
    for (unsigned j = 0; j < N; j++)
        if (j != (unsigned)i) {
            if (cut) {
                raft_fixture_disconnect (&g_f, (unsigned)i, j);
                raft_fixture_disconnect (&g_f, j, (unsigned)i);
            } else {
                raft_fixture_reconnect (&g_f, (unsigned)i, j);
                raft_fixture_reconnect (&g_f, j, (unsigned)i);
            }
        }
}

static bool s_not_serving (void *arg)
{
    return !store_raft_serving (((member_t *)arg)->sr);
}

static void test_kill_leader (void)
{
    s_setup (0, 0);
    s_write_n (0, 10);
    int old = s_serving_member ();
    raft_fixture_kill (&g_f, (unsigned)old);
    CHECK (s_until (s_has_serving, &old, 10000));
    int now = s_serving_member ();
    CHECK (now != old);
    s_write_n (10, 10);
    raft_fixture_revive (&g_f, (unsigned)old);
    CHECK (s_until (s_not_serving, &g_m[old], 10000));
    s_converge ();
    s_check_digests (20);
    s_teardown ();
}

static void test_partition_in_flight (void)
{
    s_setup (0, 0);
    s_write_n (0, 5);
    int old = s_serving_member ();
    /* A batch in flight, then the leader is cut off before raft sends it. */
    CHECK_EQ_INT (s_submit (old, "req-lost", "cm-lost"), 0);
    CHECK (store_raft_busy (g_m[old].sr));
    s_isolate (old, true);
    CHECK (s_until (s_has_serving, &old, 20000));
    CHECK (s_until (s_not_serving, &g_m[old], 20000));
    /* Its ack was Unavailable, its window rebuilt without the batch. */
    CHECK_EQ_INT (g_m[old].acked_unavailable, 1);
    CHECK_EQ_INT (g_m[old].acked_ok, 5);
    CHECK_EQ_INT (g_m[old].events, 5);
    CHECK (!store_raft_busy (g_m[old].sr));
    CHECK_EQ_INT (s_objects (&g_m[old]), 5);
    /* The client retries on the new leader: applied there once. */
    int now = s_serving_member ();
    uint64_t ok = g_m[now].acked_ok;
    CHECK_EQ_INT (s_submit (now, "req-lost", "cm-lost"), 0);
    CHECK (s_until (s_idle, &g_m[now], 5000));
    CHECK_EQ_INT (g_m[now].acked_ok, ok + 1);
    s_isolate (old, false);
    s_write_n (100, 3);
    s_converge ();
    s_check_digests (9);
    s_teardown ();
}

/* The leader's batch reaches the followers, then the leader is cut off
 * before it learns the entry committed: its client hears Unavailable, the
 * next leader commits the entry anyway (an entry of an earlier term, under
 * its barrier), and the client's retry with the same request id is
 * answered from the request table: replayed, applied once. */
static void test_unavailable_but_committed (void)
{
    s_setup (0, 0);
    s_write_n (0, 3);
    s_converge ();
    int old = s_serving_member ();
    struct raft *lr = raft_fixture_get (&g_f, (unsigned)old);
    CHECK_EQ_INT (s_submit (old, "req-maybe", "cm-maybe"), 0);
    raft_index idx = lr->last_stored + 1;
    bool cut = false;
    for (int k = 0; k < 10000 && !cut; k++) {
        raft_fixture_step (&g_f);
        unsigned stored = 0;
        for (unsigned j = 0; j < N; j++)
            if (j != (unsigned)old && raft_fixture_get (&g_f, j)->last_stored >= idx) stored++;
        if (stored == N - 1 && lr->commit_index < idx) {
            s_isolate (old, true);
            cut = true;
        }
    }
    CHECK (cut);
    CHECK (s_until (s_has_serving, &old, 20000));
    CHECK (s_until (s_not_serving, &g_m[old], 20000));
    CHECK_EQ_INT (g_m[old].acked_unavailable, 1);
    int now = s_serving_member ();
    Hs__Command *c = s_create ("req-maybe", "cm-maybe");
    int r = store_raft_submit (g_m[now].sr, &c, NULL, 1, &g_m[now].out);
    hs_pb_free (c);
    CHECK_EQ_INT (r, 1); /* answered at once, nothing to replicate */
    CHECK_EQ_INT (g_m[now].out.n_acks, 1);
    if (g_m[now].out.n_acks) {
        CHECK_EQ_INT (g_m[now].out.acks[0].ack->code, HS__CODE__CODE_OK);
        CHECK (g_m[now].out.acks[0].ack->replayed);
    }
    store_out_reset (&g_m[now].out);
    s_isolate (old, false);
    s_write_n (10, 2);
    s_converge ();
    s_check_digests (6);
    s_teardown ();
}

typedef struct {
    member_t *m;
    uint64_t answered;
} s_answered_t;

static bool s_answered (void *arg)
{
    s_answered_t *a = arg;
    return a->m->acked_ok + a->m->acked_unavailable + a->m->acked_other >= a->answered;
}

/* The leader's disk fails under a batch in flight (raft_fixture_io_fault):
 * the batch is answered exactly once, OK or Unavailable, never acked
 * without committing; the cluster goes on and the digests agree. */
/* delay: the fault hits the leader after that many I/O requests; -1: each
 * follower's next one instead. */
static void s_io_fault (int delay)
{
    s_setup (0, 0);
    s_write_n (0, 3);
    s_converge ();
    int l = s_serving_member ();
    member_t *m = &g_m[l];
    uint64_t before = m->acked_ok + m->acked_unavailable + m->acked_other;
    for (unsigned i = 0; i < N; i++)
        if (delay >= 0 ? i == (unsigned)l : i != (unsigned)l)
            raft_fixture_io_fault (&g_f, i, delay >= 0 ? delay : 0, 1);
    int r = s_submit (l, "req-io", "cm-io");
    if (r < 0) {
        /* raft_apply itself failed: answered at once, Unavailable */
        CHECK_EQ_INT (m->out.n_acks, 1);
        if (m->out.n_acks) CHECK_EQ_INT (m->out.acks[0].ack->code, HS__CODE__CODE_UNAVAILABLE);
        s_done (m, &m->out, false);
        store_out_reset (&m->out);
    } else
        CHECK_EQ_INT (r, 0);
    s_answered_t a = {m, before + 1};
    CHECK (s_until (s_answered, &a, 20000));
    CHECK_EQ_INT (m->acked_ok + m->acked_unavailable + m->acked_other, before + 1);
    CHECK_EQ_INT (m->acked_other, 0);
    if (delay == 0) {
        /* the leader's very next write is the batch's (raft_apply fails):
         * counted, an I/O error but not a full disk (the fixture's fault is
         * RAFT_IOERR) */
        CHECK_EQ_INT (r, -EIO);
        CHECK_EQ_INT (m->acked_unavailable, 1);
        CHECK_EQ_INT ((int)store_raft_io_errors (m->sr), 1);
        CHECK_EQ_INT ((int)store_raft_disk_full (m->sr), 0);
    }
    for (unsigned i = 0; i < N; i++)
        raft_fixture_io_fault (&g_f, i, 0, 0); /* a fault not yet fired: none */
    if (delay < 0) {
        /* libraft made both followers RAFT_UNAVAILABLE for good: each stops
         * (a supervisor restarts it, reloading its log); nothing more to
         * run on the fixture, which cannot restart a server. */
        for (unsigned i = 0; i < N; i++)
            if (i != (unsigned)l && raft_fixture_get (&g_f, i)->state == RAFT_UNAVAILABLE)
                CHECK (store_raft_fatal (g_m[i].sr) != 0);
        CHECK_EQ_INT (m->acked_ok, before);
        s_teardown ();
        return;
    }
    CHECK (s_until (s_has_serving, NULL, 20000));
    /* The client retries until it hears OK (a replay if it committed). */
    for (int tries = 0; tries < 5; tries++) {
        int i = s_serving_member ();
        if (i < 0) break;
        uint64_t ok = g_m[i].acked_ok;
        Hs__Command *c = s_create ("req-io", "cm-io");
        int r = store_raft_submit (g_m[i].sr, &c, NULL, 1, &g_m[i].out);
        hs_pb_free (c);
        if (r == 1) { /* answered at once: a replay */
            CHECK (g_m[i].out.n_acks == 1 && g_m[i].out.acks[0].ack->replayed);
            store_out_reset (&g_m[i].out);
            break;
        }
        if (r == 0 && s_until (s_idle, &g_m[i], 5000) && g_m[i].acked_ok == ok + 1) break;
        store_out_reset (&g_m[i].out);
        s_until (s_has_serving, NULL, 5000);
    }
    s_write_n (20, 2);
    s_converge ();
    s_check_digests (6);
    for (unsigned i = 0; i < N; i++) CHECK (store_raft_fatal (g_m[i].sr) == 0);
    s_teardown ();
}

static void test_io_fault (void)
{
    for (int delay = -1; delay < 6; delay++) s_io_fault (delay);
}

static void test_snapshot_install (void)
{
    s_setup (8, 2);
    s_write_n (0, 4);
    s_converge ();
    int l = s_serving_member ();
    int f = (l + 1) % N;
    raft_fixture_kill (&g_f, (unsigned)f);
    s_write_n (4, 40); /* several snapshots; the log is compacted past f */
    CHECK (store_raft_snapshot_index (g_m[l].sr) > 0);
    raft_fixture_revive (&g_f, (unsigned)f);
    s_converge ();
    CHECK_EQ_INT (store_raft_snapshots_installed (g_m[f].sr), 1);
    CHECK (store_raft_fatal (g_m[f].sr) == 0);
    s_write_n (44, 3); /* and it keeps applying after the install */
    s_converge ();
    s_check_digests (47);
    s_teardown ();
}

static bool s_refused (void *arg)
{
    (void)arg;
    unsigned n = 0;
    for (unsigned i = 0; i < N; i++) n += store_raft_refused (g_m[i].sr) > 0;
    return n == N;
}

static void s_foreign_cb (struct raft_apply *req, int status, void *result)
{
    (void)status;
    (void)result;
    raft_free (req);
}

/* The last line of defence: an entry of another cluster that got into the
 * log anyway (raft_fixture has no transport, so store_xport's preamble,
 * which keeps a foreign member from talking to raft at all, is checked by
 * test_store_ha_bad_input.sh) stops every member applying it. */
static void test_foreign_cluster (void)
{
    s_setup (0, 0);
    s_write_n (0, 2);
    s_converge ();
    int l = s_serving_member ();
    /* Another cluster's record, appended straight through raft. */
    struct raft_buffer buf;
    const uint8_t payload[8] = {0};
    CHECK_EQ_INT (store_raft_entry (store_raft_hash ("another"), payload, sizeof payload, &buf), 0);
    struct raft_apply *req = raft_malloc (sizeof *req);
    memset (req, 0, sizeof *req);
    CHECK_EQ_INT (raft_apply (store_raft_raft (g_m[l].sr), req, &buf, 1, s_foreign_cb), 0);
    CHECK (s_until (s_refused, NULL, 5000));
    for (unsigned i = 0; i < N; i++) {
        CHECK_EQ_INT (store_raft_refused (g_m[i].sr), 1);
        CHECK (store_raft_fatal (g_m[i].sr) != 0);
    }
    s_teardown ();
}

/* A snapshot that fails our header checks: restore refuses it and leaves the
 * buffer to libraft, which frees it on a failed restore (here the test does,
 * as libraft would): freed twice before, which ASan reports. */
static void test_snapshot_corrupt (void)
{
    s_setup (0, 0);
    struct raft_fsm *fsm = store_raft_fsm (g_m[0].sr);
    const uint8_t payload[16] = {1, 2, 3};
    for (int k = 0; k < 2; k++) {
        struct raft_buffer buf;
        CHECK_EQ_INT (store_raft_entry (g_cluster, payload, sizeof payload, &buf), 0);
        if (k == 0)
            ((uint8_t *)buf.base)[0] ^= 0xff; /* bad magic */
        else
            ((uint8_t *)buf.base)[STORE_RAFT_HEADER] ^= 0xff; /* bad CRC */
        CHECK (fsm->restore (fsm, &buf) != 0);
        raft_free (buf.base); /* libraft's discard */
    }
    CHECK (store_raft_fatal (g_m[0].sr) != 0);
    s_teardown ();
}

/* A MemberChange is acted on only on cmd.members/ and only from an admin
 * (a node credential may publish on cmd.pod/x, never on cmd.members*). */
static void test_member_change_authz (void)
{
    CHECK (store_authz_member_change_ok ("cmd.members/hsctl-1", "admin:alice", true));
    CHECK (!store_authz_member_change_ok ("cmd.pod/x", "admin:alice", true));
    CHECK (!store_authz_member_change_ok ("cmd.pod/x", "node:b", true));
    CHECK (!store_authz_member_change_ok ("cmd.members/x", "node:b", true));
    CHECK (!store_authz_member_change_ok ("cmd.members/x", "sa:scheduler", true));
    CHECK (!store_authz_member_change_ok ("cmd.members/x", "admin:", true));
    CHECK (!store_authz_member_change_ok ("cmd.members/x", NULL, true)); /* no stamp */
    CHECK (!store_authz_member_change_ok ("cmd.membersx", "admin:alice", true));
    CHECK (!store_authz_member_change_ok (NULL, "admin:alice", true));
    /* insecure bus: anyone, still only on cmd.members/ */
    CHECK (store_authz_member_change_ok ("cmd.members/x", NULL, false));
    CHECK (!store_authz_member_change_ok ("cmd.pod/x", NULL, false));
}

/* ------------------------------------------------------------------ the transport's preamble */

static int g_accepted;

static void s_x_free (uv_handle_t *h)
{
    raft_free (h);
}

static void s_x_accept (struct raft_uv_transport *t, raft_id id, const char *address,
                        uv_stream_t *stream)
{
    (void)t, (void)id, (void)address;
    g_accepted++;
    uv_close ((uv_handle_t *)stream, s_x_free);
}

static bool g_x_closed;
static void s_x_closed (struct raft_uv_transport *t)
{
    (void)t;
    g_x_closed = true;
}

/* A TCP connection to 127.0.0.1:port that has done raft_uv_tcp's own
 * handshake (protocol 1, id, address), so the wrapper reads next. */
static int s_x_client (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons ((uint16_t)port)};
    a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if (fd < 0 || connect (fd, (struct sockaddr *)&a, sizeof a) != 0) return -1;
    uint8_t hs[24 + 16] = {0};
    uint64_t v[3] = {1, 2, 16}; /* little-endian on the machines we run on */
    memcpy (hs, v, sizeof v);
    memcpy (hs + 24, "127.0.0.1:9", 11);
    if (write (fd, hs, sizeof hs) != (ssize_t)sizeof hs) {
        close (fd);
        return -1;
    }
    return fd;
}

static bool s_x_eof (int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char c;
    return poll (&p, 1, 0) == 1 && read (fd, &c, 1) == 0;
}

/* Peers that connect and never send the cluster preamble: no more than 64
 * wait (the oldest are dropped), and a good preamble still gets through. */
static void test_xport_silent_peers (void)
{
    uv_loop_t loop;
    CHECK_EQ_INT (uv_loop_init (&loop), 0);
    struct raft_uv_transport inner = {0}, outer;
    CHECK_EQ_INT (raft_uv_tcp_init (&inner, &loop), 0);
    CHECK_EQ_INT (store_xport_init (&outer, &inner, "c1"), 0);
    int port = hs_test_free_port_pair ();
    char addr[32];
    snprintf (addr, sizeof addr, "127.0.0.1:%d", port);
    CHECK_EQ_INT (outer.init (&outer, 1, addr), 0);
    CHECK_EQ_INT (outer.listen (&outer, s_x_accept), 0);
    enum { NC = 70 };
    int fds[NC];
    for (int i = 0; i < NC; i++) {
        fds[i] = s_x_client (port);
        CHECK (fds[i] >= 0);
        /* raft_uv_tcp listens with a short backlog: accept before the next */
        for (int k = 0; k < 5; k++) {
            uv_run (&loop, UV_RUN_NOWAIT);
            nanosleep (&(struct timespec){0, 200000}, NULL);
        }
    }
    /* until every one is either waiting in the wrapper or dropped */
    size_t dropped = 0;
    for (int k = 0; k < 3000; k++) {
        uv_run (&loop, UV_RUN_NOWAIT);
        dropped = 0;
        for (int i = 0; i < NC; i++)
            if (fds[i] >= 0 && s_x_eof (fds[i])) {
                close (fds[i]);
                fds[i] = -2;
            }
        for (int i = 0; i < NC; i++) dropped += fds[i] == -2;
        if (store_xport_pending (&outer) + dropped == NC) break;
        nanosleep (&(struct timespec){0, 1000000}, NULL);
    }
    CHECK_EQ_INT (store_xport_pending (&outer), 64);
    CHECK_EQ_INT (dropped, NC - 64);
    /* the oldest went: the first ones connected */
    CHECK_EQ_INT (fds[0], -2);
    CHECK (fds[NC - 1] >= 0);
    /* one of the waiting ones sends the right preamble: raft gets it */
    uint8_t pre[STORE_XPORT_PREAMBLE];
    store_xport_preamble ("c1", pre);
    CHECK_EQ_INT (write (fds[NC - 1], pre, sizeof pre), (ssize_t)sizeof pre);
    for (int k = 0; k < 3000 && g_accepted == 0; k++) {
        uv_run (&loop, UV_RUN_NOWAIT);
        nanosleep (&(struct timespec){0, 1000000}, NULL);
    }
    CHECK_EQ_INT (g_accepted, 1);
    CHECK_EQ_INT (store_xport_pending (&outer), 63);
    outer.close (&outer, s_x_closed);
    for (int k = 0; k < 3000 && !g_x_closed; k++) uv_run (&loop, UV_RUN_NOWAIT);
    CHECK (g_x_closed);
    store_xport_fini (&outer);
    raft_uv_tcp_close (&inner);
    uv_run (&loop, UV_RUN_DEFAULT);
    CHECK_EQ_INT (uv_loop_close (&loop), 0);
    for (int i = 0; i < NC; i++)
        if (fds[i] >= 0) close (fds[i]);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"elect_replicate", test_elect_replicate},
        {"kill_leader", test_kill_leader},
        {"partition_in_flight", test_partition_in_flight},
        {"unavailable_but_committed", test_unavailable_but_committed},
        {"io_fault", test_io_fault},
        {"snapshot_install", test_snapshot_install},
        {"foreign_cluster", test_foreign_cluster},
        {"member_change_authz", test_member_change_authz},
        {"snapshot_corrupt", test_snapshot_corrupt},
        {"xport_silent_peers", test_xport_silent_peers},
    };
    return HS_TEST_RUN (tests);
}
