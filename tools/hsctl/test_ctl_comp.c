/*  test_ctl_comp.c: `hsctl get components` and `hsctl member` without a bus
 *  (ctl_comp_fmt.c): a single store as today, a replicated store's members
 *  with their raft view, the leader's hb.store folded into its row, member
 *  list from the leader's view, and the checks on member add|remove|...
 */
#include "ctl_comp.h"
#include "hs_pbjson.h"
#include "hs_test.h"
#include "hs_util.h"

#include <stdlib.h>
#include <string.h>

#define SEC 1000000000LL

static Hs__StoreHeartbeat *s_hb (const char *member, const char *role, uint64_t term,
                                 uint64_t commit, uint64_t applied, int64_t revision)
{
    Hs__StoreHeartbeat *hb = hs_pb_new (&hs__store_heartbeat__descriptor);
    hs_pb_set_str (&hb->instance, "inst");
    if (member) hs_pb_set_str (&hb->member, member);
    if (role) hs_pb_set_str (&hb->role, role);
    hb->term = term;
    hb->commit_index = commit;
    hb->applied_index = applied;
    hb->revision = revision;
    hb->objects = 7;
    hb->started_at_ns = 100 * SEC;
    return hb;
}

static void s_member (Hs__StoreHeartbeat *hb, uint64_t id, const char *name, uint64_t match)
{
    Hs__StoreMember *m = hs_pb_new (&hs__store_member__descriptor);
    m->id = id;
    hs_pb_set_str (&m->name, name);
    char addr[32];
    snprintf (addr, sizeof addr, "127.0.0.1:770%llu", (unsigned long long)id);
    hs_pb_set_str (&m->address, addr);
    hs_pb_set_str (&m->role, "voter");
    m->match_index = match;
    hs_pb_push ((void ***)&hb->members, &hb->n_members, m);
}

static void s_three (Hs__StoreHeartbeat *hb, bool leader)
{
    s_member (hb, 1, "s1", leader ? 42 : 0);
    s_member (hb, 2, "s2", leader ? 41 : 0);
    s_member (hb, 3, "s3", leader ? 40 : 0);
}

static void s_feed (ctl_comps_t *s, const char *topic, Hs__StoreHeartbeat *hb)
{
    ctl_comps_on_store (s, topic, "hs-store/inst", hb);
    hs_pb_free (hb);
}

static void s_component (ctl_comps_t *s, const char *name, const char *inst, int64_t rev)
{
    Hs__ComponentHeartbeat *hb = hs_pb_new (&hs__component_heartbeat__descriptor);
    hs_pb_set_str (&hb->component, name);
    hs_pb_set_str (&hb->instance, inst);
    hs_pb_set_str (&hb->host, "vm");
    hb->started_at_ns = 100 * SEC;
    hb->observed_revision = rev;
    hb->owned = 5;
    hb->total = 10;
    ctl_comps_on_component (s, hb);
    hs_pb_free (hb);
}

static void test_single_store (void)
{
    ctl_comps_t s = {0};
    s_feed (&s, "hb.store", s_hb (NULL, NULL, 0, 0, 0, 12));
    s_component (&s, "hs-scheduler", "r1", 10);
    ctl_comps_finish (&s);
    CHECK (!s.raft);
    char *t = ctl_comps_table (&s, false, 130 * SEC);
    /* today's columns, nothing more */
    CHECK_EQ_STR (t, "NAME           INSTANCE   HOST     AGE   REVISION   LAG   OWNED\n"
                     "hs-scheduler   r1         vm       30s   10         2     5/10 (50%)\n"
                     "hs-store       inst       <none>   30s   12         0     7 objects\n");
    free (t);
    CHECK (ctl_members_table (&s, false) == NULL);
    t = ctl_comps_render (&s, HS_FMT_JSON | HS_FMT_COMPACT, 130 * SEC);
    CHECK (strstr (t, "\"store\":{\"role\":\"standalone\",\"term\":0") != NULL);
    CHECK (strstr (t, "\"kind\":\"List\"") != NULL);
    free (t);
    ctl_comps_free (&s);
}

static ctl_comps_t s_cluster (void)
{
    ctl_comps_t s = {0};
    Hs__StoreHeartbeat *l = s_hb ("s1", "leader", 3, 42, 42, 20);
    s_three (l, true);
    hs_pb_set_str (&l->leader, "s1");
    hs_pb_set_str (&l->cluster_id, "c-1");
    s_feed (&s, "hb.raft.s1", l);
    /* the leader's hb.store names its member: the same row */
    Hs__StoreHeartbeat *ls = s_hb ("s1", "leader", 3, 42, 42, 20);
    s_three (ls, true);
    s_feed (&s, "hb.store", ls);
    Hs__StoreHeartbeat *f = s_hb ("s2", "follower", 3, 42, 41, 19);
    s_three (f, false);
    hs_pb_set_str (&f->leader, "s1");
    s_feed (&s, "hb.raft.s2", f);
    s_component (&s, "hs-bus", "b", 0);
    ctl_comps_finish (&s);
    return s;
}

static void test_members_components (void)
{
    ctl_comps_t s = s_cluster ();
    CHECK (s.raft);
    CHECK_EQ_INT (s.n, 3);
    char *t = ctl_comps_table (&s, false, 130 * SEC);
    CHECK_EQ_STR (t,
                  "NAME       INSTANCE   HOST     AGE   REVISION   LAG   OWNED        ROLE       "
                  "TERM   COMMIT   APPLIED   LEADER   MEMBERS\n"
                  "hs-bus     b          vm       30s   -          -     5/10 (50%)   -          -"
                  "      -        -         -        -\n"
                  "hs-store   s1         <none>   30s   20         0     7 objects    leader     "
                  "3      42       42        s1       2/3\n"
                  "hs-store   s2         <none>   30s   19         1     7 objects    follower   "
                  "3      42       41        s1       2/3\n");
    free (t);
    t = ctl_comps_render (&s, HS_FMT_YAML, 130 * SEC);
    CHECK (
        strstr (t, "    role: leader\n    term: 3\n    commitIndex: 42\n    appliedIndex: 42\n") !=
        NULL);
    CHECK (strstr (t, "clusterID: c-1") != NULL);
    CHECK (strstr (t, "matchIndex: 41") != NULL);
    free (t);
    /* member list: the leader's configuration; s3 unheard */
    t = ctl_members_table (&s, false);
    CHECK_EQ_STR (t,
                  "NAME   ID    ADDRESS          VOTE    STATUS        TERM   COMMIT   APPLIED   "
                  "MATCH\n"
                  "s1     1     127.0.0.1:7701   voter   leader        3      42       42        "
                  "42\n"
                  "s2     2     127.0.0.1:7702   voter   follower      3      42       41        "
                  "41\n"
                  "s3     3     127.0.0.1:7703   voter   unreachable   -      -        -         "
                  "40\n");
    free (t);
    ctl_comps_free (&s);
}

static void test_members_no_leader (void)
{
    /* two followers, no leader heard: the highest term's view, no MATCH;
     * a member heard but not configured is shown as such */
    ctl_comps_t s = {0};
    Hs__StoreHeartbeat *a = s_hb ("s2", "follower", 4, 50, 50, 30);
    s_three (a, false);
    s_feed (&s, "hb.raft.s2", a);
    Hs__StoreHeartbeat *b = s_hb ("s3", "candidate", 5, 50, 50, 30);
    s_three (b, false);
    s_feed (&s, "hb.raft.s3", b);
    Hs__StoreHeartbeat *c = s_hb ("s4", "follower", 5, 0, 0, 0);
    s_feed (&s, "hb.raft.s4", c);
    ctl_comps_finish (&s);
    const ctl_comp_t *v = ctl_members_view (&s);
    CHECK (v && strcmp (v->instance, "s3") == 0);
    char *t = ctl_members_table (&s, true);
    CHECK_EQ_STR (t, "s1    1     127.0.0.1:7701   voter   unreachable    -     -     -     -\n"
                     "s2    2     127.0.0.1:7702   voter   follower       4     50    50    -\n"
                     "s3    3     127.0.0.1:7703   voter   candidate      5     50    50    -\n"
                     "s4    -     <none>           -       not-a-member   5     0     0     -\n");
    free (t);
    ctl_comps_free (&s);
}

static void test_member_change (void)
{
    char *err = NULL;
    char *add[] = {"s4", "127.0.0.1:7704"};
    Hs__MemberChange *mc = ctl_member_change_new ("add", 2, add, &err);
    CHECK (mc && !err);
    CHECK_EQ_STR (mc->op, "add");
    CHECK_EQ_STR (mc->name, "s4");
    CHECK_EQ_STR (mc->address, "127.0.0.1:7704");
    CHECK_EQ_STR (mc->replaces, "");
    char *line = ctl_member_done_line (mc);
    CHECK_EQ_STR (line, "member/s4 added (127.0.0.1:7704)");
    free (line);
    hs_pb_free (mc);
    char *rep[] = {"s1", "s5", "10.0.0.5:7701"};
    mc = ctl_member_change_new ("replace", 3, rep, &err);
    CHECK (mc != NULL);
    CHECK_EQ_STR (mc->name, "s5");
    CHECK_EQ_STR (mc->replaces, "s1");
    line = ctl_member_done_line (mc);
    CHECK_EQ_STR (line, "member/s1 replaced by member/s5 (10.0.0.5:7701)");
    free (line);
    hs_pb_free (mc);
    char *one[] = {"s2"};
    mc = ctl_member_change_new ("transfer", 1, one, &err);
    line = ctl_member_done_line (mc);
    CHECK_EQ_STR (line, "leadership transferred to member/s2");
    free (line);
    hs_pb_free (mc);
    mc = ctl_member_change_new ("remove", 1, one, &err);
    line = ctl_member_done_line (mc);
    CHECK_EQ_STR (line, "member/s2 removed");
    free (line);
    hs_pb_free (mc);
    /* mistakes, each named */
    static const struct {
        const char *op;
        int n;
        char *args[3];
        const char *want;
    } bad[] = {
        {"frob", 1, {"s1"}, "unknown command \"frob\""},
        {"add", 1, {"s4"}, "add takes 2 arguments: hsctl member add NAME HOST:PORT"},
        {"remove", 2, {"s4", "x"}, "remove takes 1 argument"},
        {"add", 2, {"S4", "127.0.0.1:1"}, "invalid member name \"S4\""},
        {"add", 2, {"s4", "127.0.0.1"}, "invalid raft address \"127.0.0.1\""},
        {"add", 2, {"s4", "127.0.0.1:65536"}, "invalid raft address"},
        {"add", 2, {"s4", ":7704"}, "invalid raft address"},
        {"add", 2, {"s4", "a=b:1"}, "invalid raft address"},
        {"replace", 3, {"s1", "s1", "h:1"}, "would replace itself"},
        {"transfer", 1, {"a_b"}, "invalid member name \"a_b\""},
        {"remove", 1, {"0123456789abcdef0123456789abcdefg"}, "invalid member name"},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (bad); i++) {
        err = NULL;
        mc = ctl_member_change_new (bad[i].op, bad[i].n, (char *const *)bad[i].args, &err);
        CHECK (mc == NULL);
        if (!err || !strstr (err, bad[i].want))
            fprintf (stderr, "  case %zu: got \"%s\", want \"%s\"\n", i, err ? err : "(null)",
                     bad[i].want);
        CHECK (err && strstr (err, bad[i].want));
        free (err);
    }
    CHECK (ctl_member_name_ok ("store-1"));
    CHECK (ctl_member_name_ok ("0123456789abcdef0123456789abcdef"));
    CHECK (!ctl_member_name_ok (""));
    CHECK (ctl_member_addr_ok ("[::1]:7701"));
    CHECK (ctl_member_addr_ok ("store-2.example:1"));
    CHECK (!ctl_member_addr_ok ("h:0"));
    CHECK (!ctl_member_addr_ok ("h:"));
    CHECK (!ctl_member_addr_ok (NULL));
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"single_store", test_single_store},
        {"members_components", test_members_components},
        {"members_no_leader", test_members_no_leader},
        {"member_change", test_member_change},
    };
    return HS_TEST_RUN (tests);
}
