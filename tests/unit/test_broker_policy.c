/*  test_broker_policy.c: what hs-bus lets each identity publish (the pure
 *  hs_broker_policy tables), then a real secured hs-bus: the stamp on
 *  cmd.*, refusals counted in its heartbeat, a refused key failing
 *  hs_bus_join at once with its line, revocation by removing a key file. */
#include "hs_broker_policy.h"
#include "hs_bus.h"
#include "hs_client.h"
#include "hs_topic.h"
#include "hs_cred.h"
#include "hs_test.h"
#include "hs_util.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include <zmq.h>

static hs_keytab_t *s_table (void)
{
    static const char *ids[] = {"store",       "node:a",      "node:b", "sa:scheduler",
                                "sa:replicas", "sa:prober",   "sa:dns", "admin:root",
                                "tap:t",       "bootstrap:x", "sa:jobs"};
    hs_cred_key_t keys[HS_ARRAY_LEN (ids)];
    for (size_t i = 0; i < HS_ARRAY_LEN (ids); i++) {
        memset (&keys[i], 0, sizeof keys[i]);
        char sec[41];
        zmq_curve_keypair (keys[i].public_key, sec);
        snprintf (keys[i].identity, sizeof keys[i].identity, "%s", ids[i]);
        snprintf (keys[i].role, sizeof keys[i].role, "%s", hs_cred_role_of (ids[i]));
        snprintf (keys[i].name, sizeof keys[i].name, "k%zu", i);
    }
    hs_keytab_t *t = hs_keytab_new (keys, HS_ARRAY_LEN (ids), NULL, NULL, NULL);
    CHECK_EQ_INT (hs_keytab_size (t), HS_ARRAY_LEN (ids));
    for (size_t i = 0; i < HS_ARRAY_LEN (ids); i++) {
        const hs_keytab_entry_t *e = hs_keytab_find (t, keys[i].public_key);
        CHECK (e != NULL);
        if (e) CHECK_EQ_STR (e->identity, ids[i]);
    }
    return t;
}

/* One row: identity, topic, allowed. */
typedef struct {
    const char *identity, *topic;
    bool ok;
} s_row_t;

static void test_allow_lists (void)
{
    static const s_row_t rows[] = {
        /* only the store publishes events, acks, snapshots, hb.store */
        {"store", "ev.pod.a/default/web", true},
        {"store", "ack.hsctl-1/", true},
        {"store", "snap.x/", true},
        {"store", "hb.store", true},
        {"store", "hb.storex", false},
        {"store", "cmd.pod", false},
        {"store", "probe.a/", false},
        {"node:b", "ev.pod.a/default/web", false},
        {"node:b", "ack.hsctl-1/", false},
        {"node:b", "snap.x/", false},
        {"node:b", "hb.store", false},
        {"admin:root", "ev.pod.a/default/web", false},
        /* an agent: commands, its own node's heartbeats, its answers */
        {"node:b", "cmd.pod", true},
        {"node:b", "cmd.node", true},
        {"node:b", "hb.agent.b", true},
        {"node:b", "hb.proxy.b", true},
        {"node:b", "hb.agent.a", false},
        {"node:b", "hb.agent.bb", false},
        {"node:b", "hb.agent.", false},
        {"node:b", "hb.proxy.a", false},
        /* its own node's resource usage, exactly usage.<node>/ */
        {"node:b", "usage.b/", true},
        {"node:b", "usage.a/", false},
        {"node:b", "usage.b", false},
        {"node:b", "usage.bb/", false},
        {"node:b", "usage.b/x", false},
        {"node:b", "usage./", false},
        {"sa:prober", "usage.b/", false},
        {"admin:root", "usage.b/", false},
        {"store", "usage.b/", false},
        {"node:b", "logs.hsctl-1/", true},
        {"node:b", "execout.hsctl-1/", true},
        {"node:b", "probres.prober-1/", true},
        {"node:b", "probe.a/", false},
        {"node:b", "exec.a/", false},
        {"node:b", "logreq.a/", false},
        {"node:b", "echo.b/1", true},
        {"node:b", "bus.batch", false},
        /* only the prober probes */
        {"sa:prober", "probe.a/", true},
        {"sa:prober", "hb.prober.1", true},
        /* only the prober confirms an agent's fence contact */
        {"sa:prober", "fence.a/", true},
        {"node:a", "fence.a/", false},
        {"sa:replicas", "fence.a/", false},
        {"admin:root", "fence.a/", false},
        {"sa:prober", "hb.agent.a", false},
        {"admin:root", "probe.a/", false},
        {"sa:scheduler", "probe.a/", false},
        /* controllers: commands and their own heartbeat */
        {"sa:scheduler", "cmd.pod", true},
        {"sa:scheduler", "hb.scheduler.1", true},
        {"sa:scheduler", "hb.scheduler.", false},
        {"sa:scheduler", "hb.replicas.1", false},
        {"sa:replicas", "hb.replicas.1", true},
        {"sa:jobs", "hb.jobs.x", true},
        {"sa:jobs", "hb.replicas.x", false},
        {"sa:autoscaler", "cmd.deployment", true},
        {"sa:autoscaler", "hb.autoscaler.x", true},
        {"sa:autoscaler", "hb.replicas.x", false},
        {"sa:dns", "hb.dns.1", true},
        {"sa:dns", "ev.svc.-/", false},
        /* admin: commands, exec and logs requests */
        {"admin:root", "cmd.multi", true},
        {"admin:root", "exec.a/", true},
        {"admin:root", "logreq.a/", true},
        {"admin:root", "hb.agent.a", false},
        /* tap: its own round trip and snapshots (read-only) */
        {"tap:t", "echo.x/1", true},
        {"tap:t", "cmd.snapshot", true},
        {"tap:t", "cmd.snapshotx", false},
        {"tap:t", "cmd.snapshot.", false},
        {"tap:t", "cmd.snapshop", false},
        {"tap:t", "cmd.pod", false},
        {"tap:t", "cmd.multi", false},
        {"tap:t", "hb.tap.1", false},
        {"tap:t", "logreq.a/", false},
        {"tap:t", "exec.a/", false},
        /* hs-apiserver's own identity: what a read-only watcher needs */
        {"sa:apiserver", "echo.apiserver-1/7", true},
        {"sa:apiserver", "cmd.snapshot", true},
        {"sa:apiserver", "hb.apiserver.1", true},
        {"sa:apiserver", "hb.apiserver.", false},
        {"sa:apiserver", "hb.store", false},
        {"sa:apiserver", "cmd.pod", false},
        {"sa:apiserver", "cmd.multi", false},
        {"sa:apiserver", "cmd.node", false},
        {"sa:apiserver", "cmd.snapshotx", false},
        {"sa:apiserver", "exec.a/", false},
        {"sa:apiserver", "logreq.a/", false},
        {"sa:apiserver", "ev.pod.a/default/web", false},
        {"sa:apiserver", "ack.hsctl-1/", false},
        {"sa:apiserver", "snap.x/", false},
        {"sa:apiserver", "probe.a/", false},
        /* hs-metrics' own identity: read-only like hs-apiserver's */
        {"sa:metrics", "echo.metrics-1/7", true},
        {"sa:metrics", "cmd.snapshot", true},
        {"sa:metrics", "hb.metrics.1", true},
        {"sa:metrics", "hb.metrics.", false},
        {"sa:metrics", "hb.apiserver.1", false},
        {"sa:metrics", "hb.store", false},
        {"sa:metrics", "cmd.pod", false},
        {"sa:metrics", "cmd.multi", false},
        {"sa:metrics", "usage.n1/", false},
        {"sa:metrics", "ev.pod.a/default/web", false},
        /* bootstrap: commands only (the store limits which) */
        {"bootstrap:x", "cmd.node", true},
        {"bootstrap:x", "hb.agent.x", false},
        {"bootstrap:x", "echo.y/", true},
        {"node:b", "cmd.", false},
        {"node:b", "", false},
        /* a replicated store's members: hb.raft.<member>, the store alone */
        {"store", "hb.raft.s1", true},
        {"store", "hb.raft.store-2", true},
        {"store", "hb.raft.", false},
        {"store", "hb.raft.S1", false},
        {"store", "hb.raft.s1.x", false},
        {"store", "hb.raft.s1/", false},
        {"store", "hb.raft.0123456789abcdef0123456789abcdef", true},
        {"store", "hb.raft.0123456789abcdef0123456789abcdefg", false},
        {"node:b", "hb.raft.s1", false},
        {"admin:root", "hb.raft.s1", false},
        {"sa:scheduler", "hb.raft.s1", false},
        {"sa:metrics", "hb.raft.s1", false},
        /* membership changes: an admin's alone */
        {"admin:root", "cmd.members/", true},
        {"node:b", "cmd.members/", false},
        {"node:b", "cmd.members", false},
        {"node:b", "cmd.membersx", false},
        {"sa:scheduler", "cmd.members/", false},
        {"sa:replicas", "cmd.members/", false},
        {"sa:prober", "cmd.members/", false},
        {"sa:dns", "cmd.members/", false},
        {"bootstrap:x", "cmd.members/", false},
        {"tap:t", "cmd.members/", false},
        {"sa:apiserver", "cmd.members/", false},
        {"sa:metrics", "cmd.members/", false},
        {"store", "cmd.members/", false},
        {"node:b", "cmd.member", true},
    };
    hs_keytab_t *t = s_table ();
    /* each row through a table of its one identity */
    for (size_t i = 0; i < HS_ARRAY_LEN (rows); i++) {
        hs_cred_key_t k;
        memset (&k, 0, sizeof k);
        char sec[41];
        zmq_curve_keypair (k.public_key, sec);
        snprintf (k.identity, sizeof k.identity, "%s", rows[i].identity);
        snprintf (k.role, sizeof k.role, "%s", hs_cred_role_of (rows[i].identity));
        hs_keytab_t *one = hs_keytab_new (&k, 1, NULL, NULL, NULL);
        const hs_keytab_entry_t *e = hs_keytab_find (one, k.public_key);
        bool got = hs_policy_may_publish (e, rows[i].topic, strlen (rows[i].topic));
        if (got != rows[i].ok)
            fprintf (stderr, "  row %zu: %s on \"%s\": got %d, want %d\n", i, rows[i].identity,
                     rows[i].topic, got, rows[i].ok);
        CHECK (got == rows[i].ok);
        hs_keytab_destroy (&one);
    }
    CHECK (!hs_policy_may_publish (NULL, "cmd.pod", 7));
    hs_keytab_destroy (&t);
}

static void s_count_conflict (const char *first_name, const char *first_identity,
                              const hs_cred_key_t *again, void *arg)
{
    CHECK_EQ_STR (first_name, "k0");
    CHECK_EQ_STR (first_identity, "node:a");
    CHECK_EQ_STR (again->name, "k1");
    CHECK_EQ_STR (again->identity, "admin:x");
    (*(int *)arg)++;
}

static void test_keytab (void)
{
    hs_cred_key_t k[6];
    memset (k, 0, sizeof k);
    char sec[41];
    zmq_curve_keypair (k[0].public_key, sec);
    snprintf (k[0].identity, sizeof k[0].identity, "node:a");
    snprintf (k[0].role, sizeof k[0].role, "node");
    /* the same key under another identity (a join that registered the
     * store's or an admin's public key): neither identity gets it */
    k[1] = k[0];
    snprintf (k[1].identity, sizeof k[1].identity, "admin:x");
    snprintf (k[1].role, sizeof k[1].role, "admin");
    zmq_curve_keypair (k[2].public_key, sec);
    snprintf (k[2].identity, sizeof k[2].identity, "tap:z");
    snprintf (k[2].role, sizeof k[2].role, "wizard"); /* no such role: left out */
    zmq_curve_keypair (k[3].public_key, sec);
    snprintf (k[3].identity, sizeof k[3].identity, "bootstrap:t");
    snprintf (k[3].role, sizeof k[3].role, "bootstrap");
    k[3].expires = 1000;
    /* the same key twice under one identity (a copied file): kept once */
    zmq_curve_keypair (k[4].public_key, sec);
    snprintf (k[4].identity, sizeof k[4].identity, "node:c");
    snprintf (k[4].role, sizeof k[4].role, "node");
    k[5] = k[4];
    for (int i = 0; i < 6; i++) snprintf (k[i].name, sizeof k[i].name, "k%d", i);
    size_t dups = 0;
    int conflicts = 0;
    hs_keytab_t *t = hs_keytab_new (k, 6, &dups, s_count_conflict, &conflicts);
    CHECK_EQ_INT (hs_keytab_size (t), 2);
    CHECK_EQ_INT (dups, 4);
    CHECK_EQ_INT (conflicts, 1);
    CHECK (hs_keytab_find (t, k[0].public_key) == NULL);
    const hs_keytab_entry_t *e = hs_keytab_find (t, k[4].public_key);
    CHECK (e && strcmp (e->identity, "node:c") == 0 && strcmp (e->name, "k4") == 0);
    CHECK (hs_keytab_find (t, k[2].public_key) == NULL);
    CHECK (hs_keytab_find (t, "short") == NULL);
    CHECK (hs_keytab_find (t, NULL) == NULL);
    e = hs_keytab_find (t, k[3].public_key);
    CHECK (e != NULL);
    if (e) {
        CHECK (!hs_keytab_expired (e, 999));
        CHECK (hs_keytab_expired (e, 1000));
    }
    hs_keytab_destroy (&t);
    CHECK (t == NULL);
    CHECK_EQ_INT (hs_role_parse ("controller"), HS_ROLE_CONTROLLER);
    CHECK_EQ_INT (hs_role_parse ("root"), HS_ROLE_NONE);
    CHECK_EQ_INT (hs_role_parse ("apiserver"), HS_ROLE_APISERVER);
    /* many keys: the open addressing grows */
    hs_cred_key_t *many = hs_calloc (1000, sizeof *many);
    for (int i = 0; i < 1000; i++) {
        zmq_curve_keypair (many[i].public_key, sec);
        snprintf (many[i].identity, sizeof many[i].identity, "node:n%d", i);
        snprintf (many[i].role, sizeof many[i].role, "node");
    }
    t = hs_keytab_new (many, 1000, &dups, NULL, NULL);
    CHECK_EQ_INT (hs_keytab_size (t), 1000);
    for (int i = 0; i < 1000; i += 37) {
        e = hs_keytab_find (t, many[i].public_key);
        CHECK (e && strcmp (e->identity, many[i].identity) == 0);
    }
    hs_keytab_destroy (&t);
    free (many);
}

/* ------------------------------------------------------------ a real hs-bus */

static char s_addr[64], s_pki[512];
static pid_t s_bus_pid;

static char *s_cred (const char *identity)
{
    _cleanup_free_ char *name = hs_strdup (identity);
    for (char *c = name; *c; c++)
        if (*c == ':') *c = '-';
    return hs_sprintf ("%s/creds/%s.cred", s_pki, name);
}

static void s_make_pki (const char *const *ids, size_t n)
{
    snprintf (s_pki, sizeof s_pki, "%s/pki", hs_test_tmpdir ());
    _cleanup_free_ char *keys = hs_sprintf ("%s/keys", s_pki);
    _cleanup_free_ char *creds = hs_sprintf ("%s/creds", s_pki);
    CHECK_EQ_INT (hs_mkdir_p (keys, 0755), 0);
    CHECK_EQ_INT (hs_mkdir_p (creds, 0700), 0);
    _cleanup_free_ char *bpath = hs_sprintf ("%s/broker.key_secret", s_pki);
    char bpub[41], pub[41];
    CHECK_EQ_INT (hs_cred_broker_create (bpath, bpub), 0);
    for (size_t i = 0; i < n; i++) {
        _cleanup_free_ char *path = s_cred (ids[i]);
        CHECK_EQ_INT (hs_cred_create (path, ids[i], bpub, pub), 0);
        _cleanup_free_ char *name = hs_strdup (ids[i]);
        for (char *c = name; *c; c++)
            if (*c == ':') *c = '-';
        CHECK_EQ_INT (hs_cred_key_write (keys, name, pub, ids[i], 0), 0);
    }
}

static void s_start_secure_bus (void)
{
    int port = hs_test_free_port_pair ();
    char p[16];
    snprintf (p, sizeof p, "%d", port);
    snprintf (s_addr, sizeof s_addr, "127.0.0.1:%d", port);
    char *argv[] = {"hs-bus", "--bind", "127.0.0.1", "--port", p, "--pki", s_pki, NULL};
    s_bus_pid = hs_test_spawn ("hs-bus", argv);
    CHECK (s_bus_pid > 0);
}

static hs_bus_t *s_connect (const char *identity, int want_join)
{
    _cleanup_free_ char *path = s_cred (identity);
    hs_bus_use_credential (path);
    hs_bus_t *b = NULL;
    CHECK_EQ_INT (hs_bus_connect (s_addr, "test", NULL, &b), 0);
    if (!b) return NULL;
    CHECK_EQ_STR (hs_bus_identity (b), identity);
    int r = hs_bus_join (b, 10000);
    CHECK_EQ_INT (r, want_join);
    if (r < 0) hs_bus_destroy (&b);
    return b;
}

/* A counter of hs-bus's next heartbeat, read on b (subscribed to hb.bus.). */
static int64_t s_counter (hs_bus_t *b, const char *name)
{
    int64_t deadline = hs_mono_ns () + 5000000000LL;
    while (hs_mono_ns () < deadline) {
        char *t = NULL;
        Hs__Envelope *env = NULL;
        if (hs_bus_recv (b, &t, &env, 1000) < 0) continue;
        int64_t v = -1;
        if (hs_startswith (t, "hb.bus.") && env->body_case == HS__ENVELOPE__BODY_HEARTBEAT)
            for (size_t i = 0; i < env->heartbeat->n_counters; i++)
                if (strcmp (env->heartbeat->counters[i]->name, name) == 0)
                    v = (int64_t)env->heartbeat->counters[i]->value;
        free (t);
        hs_pb_free (env);
        if (v >= 0) return v;
    }
    return -1;
}

/* Receives on b until topic comes (its stamp to *ret_stamp) or 2 s pass. */
static bool s_got (hs_bus_t *b, const char *topic, char *ret_stamp, size_t len)
{
    int64_t deadline = hs_mono_ns () + 2000000000LL;
    while (hs_mono_ns () < deadline) {
        char *t = NULL;
        Hs__Envelope *env = NULL;
        if (hs_bus_recv (b, &t, &env, 200) < 0) continue;
        bool hit = strcmp (t, topic) == 0;
        if (hit && ret_stamp) snprintf (ret_stamp, len, "%s", hs_s (hs_bus_peer_identity (b)));
        free (t);
        hs_pb_free (env);
        if (hit) return true;
    }
    return false;
}

static void s_ping (hs_bus_t *b, const char *topic)
{
    Hs__Envelope env = HS__ENVELOPE__INIT;
    Hs__Ping ping = HS__PING__INIT;
    ping.nonce = "n";
    env.body_case = HS__ENVELOPE__BODY_PING;
    env.ping = &ping;
    CHECK_EQ_INT (hs_bus_publish (b, topic, &env), 0);
    hs_pb_take_str (&env.sender, NULL);
}

/* hs_bus_connect_cred and hs_client_new_cred: a keypair held in memory (a
 * gateway acting as its users), whatever the process-wide credential says. */
static void s_connect_cred (hs_bus_t *store, hs_bus_t *tap, const char *keys, const char *bpath)
{
    hs_cred_t *bk = NULL;
    char err[512];
    CHECK_EQ_INT (hs_cred_broker_load (bpath, err, sizeof err, &bk), 0);
    if (!bk) return;
    hs_cred_t c;
    memset (&c, 0, sizeof c);
    snprintf (c.identity, sizeof c.identity, "admin:api");
    snprintf (c.role, sizeof c.role, "admin");
    snprintf (c.broker_key, sizeof c.broker_key, "%s", bk->public_key);
    free (bk);
    zmq_curve_keypair (c.public_key, c.secret_key);

    /* not registered yet: refused at join */
    hs_bus_use_credential ("/nonexistent/never-read.cred");
    hs_bus_t *u = NULL;
    CHECK_EQ_INT (hs_bus_connect_cred (s_addr, "gw", NULL, &c, &u), 0);
    if (!u) return;
    CHECK_EQ_STR (hs_bus_identity (u), "admin:api");
    CHECK_EQ_INT (hs_bus_join (u, 10000), -EKEYREJECTED);
    hs_bus_destroy (&u);
    hs_client_t *cl = NULL;
    CHECK_EQ_INT (hs_client_new_cred (s_addr, "gw", NULL, 10000, &c, &cl), -EKEYREJECTED);
    CHECK (cl == NULL);

    /* registered: it joins, and its commands carry its identity */
    int64_t r0 = s_counter (tap, "key_reloads");
    CHECK_EQ_INT (hs_cred_key_write (keys, "api1", c.public_key, c.identity, 0), 0);
    int64_t deadline = hs_mono_ns () + 5000000000LL;
    while (s_counter (tap, "key_reloads") <= r0 && hs_mono_ns () < deadline) {}
    CHECK_EQ_INT (hs_bus_join (store, 5000), 0);
    CHECK_EQ_INT (hs_client_new_cred (s_addr, "gw", "gw-admin-api", 10000, &c, &cl), 0);
    if (!cl) return;
    CHECK_EQ_STR (hs_bus_identity (hs_client_bus (cl)), "admin:api");
    CHECK_EQ_STR (hs_client_id (cl), "gw-admin-api");
    char stamp[400] = "";
    s_ping (hs_client_bus (cl), "cmd.pod");
    CHECK (s_got (store, "cmd.pod", stamp, sizeof stamp));
    CHECK_EQ_STR (stamp, "admin:api");
    hs_client_destroy (&cl);

    /* malformed credentials never reach a socket */
    hs_cred_t bad = c;
    snprintf (bad.identity, sizeof bad.identity, "nobody");
    CHECK_EQ_INT (hs_bus_connect_cred (s_addr, "gw", NULL, &bad, &u), -EINVAL);
    bad = c;
    bad.secret_key[3] = '\0';
    CHECK_EQ_INT (hs_bus_connect_cred (s_addr, "gw", NULL, &bad, &u), -EINVAL);
    CHECK_EQ_INT (hs_bus_connect_cred (s_addr, "gw", "a/b", &c, &u), -EINVAL);
    CHECK (u == NULL);
    explicit_bzero (&c, sizeof c);
}

static void test_secure_bus (void)
{
    static const char *ids[] = {"store", "node:a", "node:b", "tap:t"};
    s_make_pki (ids, HS_ARRAY_LEN (ids));
    s_start_secure_bus ();
    hs_bus_t *store = s_connect ("store", 0);
    hs_bus_t *tap = s_connect ("tap:t", 0);
    if (!store || !tap) return;
    hs_bus_subscribe (store, "cmd.");
    hs_bus_subscribe (tap, "hb.bus.");
    hs_bus_subscribe (tap, "ev.");
    hs_bus_subscribe (tap, "probe.");
    CHECK_EQ_INT (hs_bus_join (store, 5000), 0);
    CHECK_EQ_INT (hs_bus_join (tap, 5000), 0);
    hs_bus_t *a = s_connect ("node:a", 0);
    hs_bus_t *b = s_connect ("node:b", 0);
    if (!a || !b) return;

    /* a command arrives stamped with its real sender */
    char stamp[400] = "";
    s_ping (a, "cmd.pod");
    CHECK (s_got (store, "cmd.pod", stamp, sizeof stamp));
    CHECK_EQ_STR (stamp, "node:a");
    s_ping (b, "cmd.node");
    CHECK (s_got (store, "cmd.node", stamp, sizeof stamp));
    CHECK_EQ_STR (stamp, "node:b");

    /* an agent's replies to one client arrive stamped too, so the client
     * can tell node a's answer from node b's forgery; a two-frame one
     * (not through the stamping) is refused as garbage */
    static const char *replies[] = {"probres.prober-1/", "execout.hsctl-1/", "logs.hsctl-1/"};
    for (size_t i = 0; i < HS_ARRAY_LEN (replies); i++) hs_bus_subscribe (tap, replies[i]);
    CHECK_EQ_INT (hs_bus_join (tap, 5000), 0);
    for (size_t i = 0; i < HS_ARRAY_LEN (replies); i++) {
        s_ping (a, replies[i]);
        CHECK (s_got (tap, replies[i], stamp, sizeof stamp));
        CHECK_EQ_STR (stamp, "node:a");
        s_ping (b, replies[i]);
        CHECK (s_got (tap, replies[i], stamp, sizeof stamp));
        CHECK_EQ_STR (stamp, "node:b");
    }
    for (size_t i = 0; i < HS_ARRAY_LEN (replies); i++) hs_bus_unsubscribe (tap, replies[i]);

    /* forged topics are dropped and counted; the store's own pass */
    int64_t denied0 = s_counter (tap, "denied");
    CHECK (denied0 >= 0);
    s_ping (b, "ev.pod.a/default/web");
    s_ping (b, "probe.a/");
    s_ping (b, "hb.store");
    s_ping (store, "ev.pod.a/default/ok");
    CHECK (s_got (tap, "ev.pod.a/default/ok", NULL, 0));
    int64_t denied1 = -1, deadline = hs_mono_ns () + 5000000000LL;
    while ((denied1 = s_counter (tap, "denied")) < denied0 + 3 && hs_mono_ns () < deadline) {}
    CHECK_EQ_INT (denied1, denied0 + 3);
    /* the tap saw none of the forged ones (it would have, unfiltered) */
    hs_bus_unsubscribe (tap, "hb.bus.");
    CHECK (!s_got (tap, "ev.pod.a/default/web", NULL, 0));
    hs_bus_subscribe (tap, "hb.bus.");

    /* an unknown key: refused at once with its line, not a timeout */
    _cleanup_free_ char *evil = hs_sprintf ("%s/evil.cred", hs_test_tmpdir ());
    hs_cred_t *bk = NULL;
    char err[512];
    _cleanup_free_ char *bpath = hs_sprintf ("%s/broker.key_secret", s_pki);
    CHECK_EQ_INT (hs_cred_broker_load (bpath, err, sizeof err, &bk), 0);
    CHECK_EQ_INT (hs_cred_create (evil, "admin:evil", bk->public_key, NULL), 0);
    free (bk);
    hs_bus_use_credential (evil);
    hs_bus_t *e = NULL;
    hs_bus_quiet_errors (true);
    CHECK_EQ_INT (hs_bus_connect (s_addr, "test", NULL, &e), 0);
    int64_t t0 = hs_mono_ns ();
    CHECK_EQ_INT (hs_bus_join (e, 10000), -EKEYREJECTED);
    CHECK ((hs_mono_ns () - t0) / 1000000 < 3000);
    CHECK_CONTAINS (hs_bus_last_error (), "the bus refused this client's key (unknown key ");
    hs_bus_destroy (&e);
    CHECK (s_counter (tap, "auth_refused") >= 1);

    /* revocation: b's key file goes; its next message is dropped on the
     * connection it has, and it cannot connect again */
    _cleanup_free_ char *keys = hs_sprintf ("%s/keys", s_pki);
    int64_t reloads0 = s_counter (tap, "key_reloads");
    int64_t cuts0 = s_counter (tap, "subscriber_cuts");
    CHECK_EQ_INT (hs_cred_key_remove (keys, "node-b"), 0);
    deadline = hs_mono_ns () + 10000000000LL;
    while (s_counter (tap, "key_reloads") <= reloads0 && hs_mono_ns () < deadline) {}
    /* every subscriber was cut, to cut b's reads: the store's is back
     * once an echo round trip works again */
    CHECK (s_counter (tap, "subscriber_cuts") > cuts0);
    CHECK_EQ_INT (hs_bus_join (store, 5000), 0);
    s_ping (b, "cmd.pod");
    s_ping (a, "cmd.node");
    CHECK (s_got (store, "cmd.node", stamp, sizeof stamp));
    CHECK_EQ_STR (stamp, "node:a");
    hs_bus_destroy (&b);
    _cleanup_free_ char *bcred = s_cred ("node:b");
    hs_bus_use_credential (bcred);
    CHECK_EQ_INT (hs_bus_connect (s_addr, "test", NULL, &b), 0);
    CHECK_EQ_INT (hs_bus_join (b, 10000), -EKEYREJECTED);
    hs_bus_destroy (&b);
    /* b's cmd.pod never reached the store: only a's came after it */
    char *t = NULL;
    Hs__Envelope *env = NULL;
    CHECK_EQ_INT (hs_bus_recv (store, &t, &env, 300), -EAGAIN);

    /* SIGHUP reloads too */
    int64_t r0 = s_counter (tap, "key_reloads");
    kill (s_bus_pid, SIGHUP);
    deadline = hs_mono_ns () + 5000000000LL;
    int64_t r1;
    while ((r1 = s_counter (tap, "key_reloads")) <= r0 && hs_mono_ns () < deadline) {}
    CHECK (r1 > r0);

    /* expiry: a key that expires between reloads is cut by the timer, and
     * once expired (a spent join token stays in keys/) later reloads do
     * not cut again */
    char tpub[41], tsec[41];
    zmq_curve_keypair (tpub, tsec);
    int64_t cuts1 = s_counter (tap, "subscriber_cuts");
    r0 = s_counter (tap, "key_reloads");
    int64_t exp_s = hs_now_ns () / 1000000000LL + 4;
    CHECK_EQ_INT (hs_cred_key_write (keys, "tok1", tpub, "bootstrap:tok1", exp_s), 0);
    deadline = hs_mono_ns () + 5000000000LL;
    while (s_counter (tap, "key_reloads") <= r0 && hs_mono_ns () < deadline) {}
    CHECK_EQ_INT (s_counter (tap, "subscriber_cuts"), cuts1);
    deadline = hs_mono_ns () + 8000000000LL;
    int64_t cuts2;
    while ((cuts2 = s_counter (tap, "subscriber_cuts")) <= cuts1 && hs_mono_ns () < deadline) {}
    CHECK_EQ_INT (cuts2, cuts1 + 1);
    CHECK (hs_now_ns () / 1000000000LL >= exp_s);
    CHECK_EQ_INT (hs_bus_join (tap, 5000), 0);
    r0 = s_counter (tap, "key_reloads");
    zmq_curve_keypair (tpub, tsec);
    CHECK_EQ_INT (hs_cred_key_write (keys, "other", tpub, "tap:other", 0), 0);
    deadline = hs_mono_ns () + 5000000000LL;
    while ((r1 = s_counter (tap, "key_reloads")) <= r0 && hs_mono_ns () < deadline) {}
    CHECK (r1 > r0);
    CHECK_EQ_INT (s_counter (tap, "subscriber_cuts"), cuts2);
    s_connect_cred (store, tap, keys, bpath);
    hs_bus_quiet_errors (false);
    hs_bus_destroy (&a);
    hs_bus_destroy (&store);
    hs_bus_destroy (&tap);
}

/* Three frames: only on cmd.*, and only with an identity as the third. */
static void test_decode_stamp (void)
{
    Hs__Envelope env = HS__ENVELOPE__INIT;
    Hs__Ping ping = HS__PING__INIT;
    ping.nonce = "n";
    env.sender = "x/y";
    env.body_case = HS__ENVELOPE__BODY_PING;
    env.ping = &ping;
    size_t len = hs__envelope__get_packed_size (&env);
    uint8_t *buf = hs_malloc (len);
    hs__envelope__pack (&env, buf);
    hs_frame_t f[3] = {{(uint8_t *)"cmd.pod", 7}, {buf, len}, {(uint8_t *)"node:a", 6}};
    Hs__Envelope *out = NULL;
    hs_garbage_t why;
    CHECK_EQ_INT (hs_bus_decode (f, 3, &out, &why), 0);
    hs_pb_free (out);
    f[2] = (hs_frame_t){(uint8_t *)"root", 4};
    CHECK_EQ_INT (hs_bus_decode (f, 3, &out, &why), -EBADMSG);
    CHECK_EQ_INT (why, HS_GARBAGE_STAMP);
    f[2] = (hs_frame_t){(uint8_t *)"node:a\0x", 8};
    CHECK_EQ_INT (hs_bus_decode (f, 3, &out, &why), -EBADMSG);
    CHECK_EQ_INT (why, HS_GARBAGE_STAMP);
    /* the agents' replies are stamped as commands are */
    static const char *replies[] = {"probres.p/", "execout.c/", "logs.c/"};
    for (size_t i = 0; i < HS_ARRAY_LEN (replies); i++) {
        f[0] = (hs_frame_t){(uint8_t *)replies[i], strlen (replies[i])};
        f[2] = (hs_frame_t){(uint8_t *)"node:a", 6};
        CHECK_EQ_INT (hs_bus_decode (f, 3, &out, &why), 0);
        hs_pb_free (out);
        f[2] = (hs_frame_t){(uint8_t *)"root", 4};
        CHECK_EQ_INT (hs_bus_decode (f, 3, &out, &why), -EBADMSG);
        CHECK_EQ_INT (why, HS_GARBAGE_STAMP);
    }
    CHECK (hs_topic_is_stamped ("logs.c/", 7) && hs_topic_is_stamped ("cmd.pod", 7));
    CHECK (!hs_topic_is_stamped ("logs.", 5) && !hs_topic_is_stamped ("logreq.a/", 9));
    CHECK (!hs_topic_is_stamped ("probe.a/", 8) && !hs_topic_is_stamped ("exec.a/", 7));
    f[0] = (hs_frame_t){(uint8_t *)"ev.pod.a/x/y", 12};
    f[2] = (hs_frame_t){(uint8_t *)"node:a", 6};
    CHECK_EQ_INT (hs_bus_decode (f, 3, &out, &why), -EBADMSG);
    CHECK_EQ_INT (why, HS_GARBAGE_FRAMES);
    CHECK_EQ_STR (hs_garbage_name (HS_GARBAGE_STAMP), "stamp");
    free (buf);
}

/* hs-bus's reload diff: which keys' subscriptions to cut, and when to look
 * again for a key that expires between reloads. */
static void test_keytab_diff (void)
{
    hs_cred_key_t k[4];
    memset (k, 0, sizeof k);
    char sec[41];
    const char *ids[] = {"node:a", "bootstrap:old", "bootstrap:soon", "bootstrap:later"};
    const int64_t expires[] = {0, 500, 1200, 1500};
    for (int i = 0; i < 4; i++) {
        zmq_curve_keypair (k[i].public_key, sec);
        snprintf (k[i].identity, sizeof k[i].identity, "%s", ids[i]);
        snprintf (k[i].role, sizeof k[i].role, "%s", hs_cred_role_of (ids[i]));
        k[i].expires = expires[i];
    }
    hs_keytab_t *old = hs_keytab_new (k, 4, NULL, NULL, NULL);
    CHECK_EQ_INT (hs_keytab_size (old), 4);
    /* the same keys again (an inotify event for another file): nothing is
     * gone, though one expired long ago */
    hs_keytab_t *same = hs_keytab_new (k, 4, NULL, NULL, NULL);
    CHECK_EQ_INT (hs_keytab_gone (old, same, 1000), 0);
    CHECK_EQ_INT (hs_keytab_gone (NULL, same, 1000), 0);
    /* a valid key's file removed: gone; the expired one's removed: not */
    hs_keytab_t *no_a = hs_keytab_new (k + 1, 3, NULL, NULL, NULL);
    CHECK_EQ_INT (hs_keytab_gone (old, no_a, 1000), 1);
    hs_cred_key_t without_old[3] = {k[0], k[2], k[3]};
    hs_keytab_t *no_old = hs_keytab_new (without_old, 3, NULL, NULL, NULL);
    CHECK_EQ_INT (hs_keytab_gone (old, no_old, 1000), 0);
    /* a key whose file now says it has expired: gone */
    hs_cred_key_t shortened[4] = {k[0], k[1], k[2], k[3]};
    shortened[0].expires = 900;
    hs_keytab_t *expired_a = hs_keytab_new (shortened, 4, NULL, NULL, NULL);
    CHECK_EQ_INT (hs_keytab_gone (old, expired_a, 1000), 1);
    /* one that expired between the reloads was the expiry timer's to cut */
    CHECK_EQ_INT (hs_keytab_gone (old, same, 1300), 0);
    /* the timer: the next expiry after a time, and what expired since */
    CHECK_EQ_INT (hs_keytab_next_expiry (old, 1000), 1200);
    CHECK_EQ_INT (hs_keytab_next_expiry (old, 1200), 1500);
    CHECK_EQ_INT (hs_keytab_next_expiry (old, 1500), 0);
    CHECK_EQ_INT (hs_keytab_next_expiry (old, 0), 500);
    CHECK_EQ_INT (hs_keytab_next_expiry (NULL, 0), 0);
    CHECK_EQ_INT (hs_keytab_expired_between (old, 1000, 1199), 0);
    CHECK_EQ_INT (hs_keytab_expired_between (old, 1000, 1200), 1);
    CHECK_EQ_INT (hs_keytab_expired_between (old, 1200, 1600), 1);
    CHECK_EQ_INT (hs_keytab_expired_between (old, 0, 1600), 3);
    hs_keytab_destroy (&old);
    hs_keytab_destroy (&same);
    hs_keytab_destroy (&no_a);
    hs_keytab_destroy (&no_old);
    hs_keytab_destroy (&expired_a);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"allow_lists", test_allow_lists}, {"keytab", test_keytab},
        {"keytab_diff", test_keytab_diff}, {"decode_stamp", test_decode_stamp},
        {"secure_bus", test_secure_bus},
    };
    return HS_TEST_RUN (tests);
}
