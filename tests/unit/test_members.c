/*  test_members.c: controllers' membership and rendezvous ownership
 *  (bus/hs_members, what hs_ctrl_owns and hs_ctrl_membership answer). */
#include "hs_members.h"
#include "hs_test.h"
#include "hs_util.h"

#include <errno.h>
#include <stdlib.h>

#define MS      1000000LL
#define TIMEOUT (1000 * MS)
#define N_KEYS  10000

static const char *s_key (int i)
{
    static char buf[64];
    snprintf (buf, sizeof buf, "default/pod-%d", i);
    return buf;
}

static void test_self (void)
{
    hs_members_t *m = hs_members_new ("a", TIMEOUT);
    CHECK_EQ_INT (hs_members_count (m), 1);
    CHECK_EQ_STR (hs_members_at (m, 0), "a");
    CHECK (hs_members_at (m, 1) == NULL);
    CHECK (hs_members_live (m, "a"));
    CHECK (!hs_members_live (m, "b"));
    CHECK_EQ_INT (hs_members_generation (m), 1);
    for (int i = 0; i < 100; i++) {
        CHECK (hs_members_owns (m, "a", s_key (i)));
        CHECK (!hs_members_owns (m, "b", s_key (i)));
    }
    /* self's own heartbeat is no join, and self never expires */
    CHECK_EQ_INT (hs_members_heard (m, "a", 5 * MS), 0);
    CHECK_EQ_INT (hs_members_expire (m, INT64_MAX / 2, NULL, NULL), 0);
    CHECK_EQ_INT (hs_members_count (m), 1);
    CHECK_EQ_INT (hs_members_generation (m), 1);
    hs_members_destroy (&m);
    CHECK (m == NULL);
    hs_members_destroy (&m); /* NULL-safe */
}

typedef struct {
    char names[8][16];
    int64_t silent[8];
    size_t n;
} s_gone_t;

static void s_gone (void *arg, const char *instance, int64_t silent_ns)
{
    s_gone_t *g = arg;
    if (g->n < 8) {
        snprintf (g->names[g->n], sizeof g->names[0], "%s", instance);
        g->silent[g->n] = silent_ns;
    }
    g->n++;
}

static void test_generation (void)
{
    hs_members_t *m = hs_members_new ("b", TIMEOUT);
    /* join, repeat, another join: each join bumps once, a repeat not */
    CHECK_EQ_INT (hs_members_heard (m, "c", 0), 1);
    CHECK_EQ_INT (hs_members_generation (m), 2);
    CHECK_EQ_INT (hs_members_heard (m, "c", 10 * MS), 0);
    CHECK_EQ_INT (hs_members_generation (m), 2);
    CHECK_EQ_INT (hs_members_heard (m, "a", 20 * MS), 1);
    CHECK_EQ_INT (hs_members_generation (m), 3);
    CHECK_EQ_INT (hs_members_count (m), 3);
    /* kept in name order */
    CHECK_EQ_STR (hs_members_at (m, 0), "a");
    CHECK_EQ_STR (hs_members_at (m, 1), "b");
    CHECK_EQ_STR (hs_members_at (m, 2), "c");
    /* bad names are refused and change nothing */
    CHECK_EQ_INT (hs_members_heard (m, "", 0), -EINVAL);
    CHECK_EQ_INT (hs_members_heard (m, NULL, 0), -EINVAL);
    CHECK_EQ_INT (hs_members_generation (m), 3);
    /* nothing expired: no bump */
    CHECK_EQ_INT (hs_members_expire (m, 30 * MS, s_gone, NULL), 0);
    CHECK_EQ_INT (hs_members_generation (m), 3);
    /* both peers leave in one round: one bump, each one reported */
    s_gone_t g = {0};
    CHECK_EQ_INT (hs_members_expire (m, 20 * MS + TIMEOUT + 1, s_gone, &g), 2);
    CHECK_EQ_INT (hs_members_generation (m), 4);
    CHECK_EQ_INT (g.n, 2);
    CHECK_EQ_STR (g.names[0], "a");
    CHECK_EQ_INT (g.silent[0], TIMEOUT + 1);
    CHECK_EQ_STR (g.names[1], "c");
    CHECK_EQ_INT (g.silent[1], TIMEOUT + 10 * MS + 1);
    CHECK_EQ_INT (hs_members_count (m), 1);
    CHECK_EQ_STR (hs_members_at (m, 0), "b");
    /* a leaver that comes back joins again */
    CHECK_EQ_INT (hs_members_heard (m, "c", 2 * TIMEOUT), 1);
    CHECK_EQ_INT (hs_members_generation (m), 5);
    hs_members_destroy (&m);
}

static void test_expiry (void)
{
    /* a peer heard at these times (0: not again), expired at `at` */
    struct {
        int64_t heard[3];
        int64_t at;
        bool live;
    } cases[] = {
        {{100 * MS}, 100 * MS, true},                          /* just heard */
        {{100 * MS}, 100 * MS + TIMEOUT - 1, true},            /* just before */
        {{100 * MS}, 100 * MS + TIMEOUT, true},                /* exactly the timeout */
        {{100 * MS}, 100 * MS + TIMEOUT + 1, false},           /* just after */
        {{100 * MS}, 100 * MS + 10 * TIMEOUT, false},          /* long after */
        {{100 * MS, 900 * MS}, 100 * MS + TIMEOUT + 1, true},  /* a later beat extends */
        {{100 * MS, 900 * MS}, 900 * MS + TIMEOUT + 1, false}, /* ... from the last beat */
        {{100 * MS, 600 * MS, 1500 * MS}, 2400 * MS, true},
        {{100 * MS, 600 * MS, 1500 * MS}, 2600 * MS, false},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (cases); i++) {
        hs_members_t *m = hs_members_new ("self", TIMEOUT);
        for (size_t k = 0; k < 3 && cases[i].heard[k]; k++)
            hs_members_heard (m, "peer", cases[i].heard[k]);
        size_t left = hs_members_expire (m, cases[i].at, NULL, NULL);
        if (hs_members_live (m, "peer") != cases[i].live)
            fprintf (stderr, "  case %zu: live=%d, want %d\n", i, !cases[i].live, cases[i].live);
        CHECK_EQ_INT (hs_members_live (m, "peer"), cases[i].live);
        CHECK_EQ_INT (left, cases[i].live ? 0 : 1);
        CHECK_EQ_INT (hs_members_count (m), cases[i].live ? 2 : 1);
        CHECK (hs_members_live (m, "self"));
        hs_members_destroy (&m);
    }
}

/* n tables, one per instance (each one's own view), all hearing each other. */
static void s_views (hs_members_t **v, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        v[i] = hs_members_new (names[i], TIMEOUT);
        for (size_t j = 0; j < n; j++) hs_members_heard (v[i], names[j], 0);
    }
}

static void test_one_owner (void)
{
    static const char *const names[] = {"sched-1",  "sched-2", "sched-3",  "x",
                                        "sched-10", "y7f3a",   "sched-11", "z"};
    for (size_t n = 1; n <= HS_ARRAY_LEN (names); n++) {
        hs_members_t *v[8];
        s_views (v, names, n);
        size_t bad = 0, owned_by_0 = 0;
        for (int k = 0; k < N_KEYS; k++) {
            const char *key = s_key (k);
            size_t owners = 0;
            for (size_t i = 0; i < n; i++) owners += hs_members_owns (v[0], names[i], key);
            const char *o = hs_members_owner (v[0], key);
            /* every view agrees, and the owner is live */
            for (size_t i = 1; i < n; i++) bad += !hs_streq (hs_members_owner (v[i], key), o);
            bad += owners != 1 || !hs_members_live (v[0], o);
            owned_by_0 += hs_members_owns (v[0], names[0], key);
        }
        if (bad) fprintf (stderr, "  %zu instance(s): %zu keys without one agreed owner\n", n, bad);
        CHECK_EQ_INT (bad, 0);
        CHECK (owned_by_0 > 0);
        CHECK (n > 1 || owned_by_0 == N_KEYS);
        for (size_t i = 0; i < n; i++) hs_members_destroy (&v[i]);
    }
}

static void test_leave_and_join_move_only_their_keys (void)
{
    hs_members_t *m = hs_members_new ("a", TIMEOUT);
    const char *peers[] = {"b", "c", "d", "e"};
    for (size_t i = 0; i < 4; i++) hs_members_heard (m, peers[i], 0);
    char *before[N_KEYS];
    for (int k = 0; k < N_KEYS; k++) before[k] = strdup (hs_members_owner (m, s_key (k)));

    /* d falls silent: everyone else beats again at 600 ms */
    hs_members_heard (m, "b", 600 * MS);
    hs_members_heard (m, "c", 600 * MS);
    hs_members_heard (m, "e", 600 * MS);
    CHECK_EQ_INT (hs_members_expire (m, TIMEOUT + 1, NULL, NULL), 1);
    CHECK (!hs_members_live (m, "d"));
    size_t moved = 0, had_d = 0, wrong = 0;
    for (int k = 0; k < N_KEYS; k++) {
        const char *now = hs_members_owner (m, s_key (k));
        if (hs_streq (before[k], "d")) {
            had_d++;
            moved += !hs_streq (now, "d");
            wrong += hs_streq (now, "d");
        } else {
            wrong += !hs_streq (now, before[k]);
        }
    }
    CHECK_EQ_INT (wrong, 0);
    CHECK (had_d > N_KEYS / 10); /* d owned a fifth: the check was not vacuous */
    CHECK_EQ_INT (moved, had_d);

    /* a join takes keys only for itself */
    for (int k = 0; k < N_KEYS; k++) {
        free (before[k]);
        before[k] = strdup (hs_members_owner (m, s_key (k)));
    }
    CHECK_EQ_INT (hs_members_heard (m, "f", 1600 * MS), 1);
    size_t to_f = 0;
    wrong = 0;
    for (int k = 0; k < N_KEYS; k++) {
        const char *now = hs_members_owner (m, s_key (k));
        if (hs_streq (now, "f"))
            to_f++;
        else
            wrong += !hs_streq (now, before[k]);
    }
    CHECK_EQ_INT (wrong, 0);
    CHECK (to_f > N_KEYS / 10);
    for (int k = 0; k < N_KEYS; k++) free (before[k]);
    hs_members_destroy (&m);
}

static void test_scores (void)
{
    /* The same on every host and in every version: instances of different
     * builds must agree on owners, so these values are pinned (computed
     * independently of this code, from the algorithm in hs_members.h). */
    CHECK (hs_rendezvous_score ("a", "default/web") == hs_rendezvous_score ("a", "default/web"));
    CHECK (hs_rendezvous_score ("sched-1", "default/web-0") == 0x798d6f03bc4aa28fULL);
    CHECK (hs_rendezvous_score ("sched-2", "default/web-0") == 0x435b60d21eb32d0aULL);
    CHECK (hs_rendezvous_score ("", "") == 0xb9034ad37056f5fbULL);
    /* the NUL between instance and key: "ab"+"c" is not "a"+"bc" */
    CHECK (hs_rendezvous_score ("ab", "c") != hs_rendezvous_score ("a", "bc"));
    /* NULL is "" */
    CHECK (hs_rendezvous_score (NULL, NULL) == hs_rendezvous_score ("", ""));
}

static void test_distribution (void)
{
    hs_members_t *m = hs_members_new ("replicas-0", TIMEOUT);
    hs_members_heard (m, "replicas-1", 0);
    hs_members_heard (m, "replicas-2", 0);
    size_t owned[3] = {0};
    const int keys = 30000;
    for (int k = 0; k < keys; k++) {
        const char *o = hs_members_owner (m, s_key (k));
        for (size_t i = 0; i < 3; i++) owned[i] += hs_streq (o, hs_members_at (m, i));
    }
    for (size_t i = 0; i < 3; i++) {
        fprintf (stderr, "  %s owns %zu of %d\n", hs_members_at (m, i), owned[i], keys);
        CHECK (owned[i] * 100 >= (size_t)keys * 25);
        CHECK (owned[i] * 100 <= (size_t)keys * 42);
    }
    CHECK_EQ_INT (owned[0] + owned[1] + owned[2], keys);
    hs_members_destroy (&m);
}

static void test_limit (void)
{
    hs_members_t *m = hs_members_new ("self", TIMEOUT);
    char name[32];
    for (int i = 0; i < HS_MEMBERS_MAX; i++) {
        snprintf (name, sizeof name, "peer-%d", i);
        CHECK_EQ_INT (hs_members_heard (m, name, 0), 1);
    }
    CHECK_EQ_INT (hs_members_count (m), HS_MEMBERS_MAX + 1);
    CHECK_EQ_INT (hs_members_heard (m, "one-too-many", 0), -ENOSPC);
    CHECK (!hs_members_live (m, "one-too-many"));
    CHECK_EQ_INT (hs_members_heard (m, "peer-7", 1), 0); /* known peers still beat */
    CHECK_EQ_INT (hs_members_heard (m, "self", 1), 0);
    hs_members_destroy (&m);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"self", test_self},
        {"generation", test_generation},
        {"expiry", test_expiry},
        {"one_owner", test_one_owner},
        {"leave_and_join_move_only_their_keys", test_leave_and_join_move_only_their_keys},
        {"scores", test_scores},
        {"distribution", test_distribution},
        {"limit", test_limit},
    };
    return HS_TEST_RUN (tests);
}
