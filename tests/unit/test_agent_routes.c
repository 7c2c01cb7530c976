/*  test_agent_routes.c: the host-gw routes wanted and the changes to make
 *  (agent_routes_plan.h). */
#include "agent_routes_plan.h"
#include "hs_obj.h"
#include "hs_pb.h"
#include "hs_test.h"

#include <errno.h>
#include <stdlib.h>

static uint32_t s_ip (const char *s)
{
    uint32_t ip = 0;
    hs_ip_parse (s, &ip);
    return ip;
}

static hs_cidr_t s_cidr (const char *s)
{
    hs_cidr_t c = {0};
    hs_cidr_parse (s, &c);
    return c;
}

static Hs__Object *s_node (const char *name, const char *cidr, const char *ip)
{
    Hs__Object *o = hs_obj_new (HS_KIND_NODE, NULL, name);
    o->node->spec = hs_pb_new (&hs__node_spec__descriptor);
    hs_pb_set_str (&o->node->spec->pod_cidr, cidr);
    o->node->status = hs_pb_new (&hs__node_status__descriptor);
    Hs__NodeAddress *h = hs_pb_new (&hs__node_address__descriptor);
    hs_pb_set_str (&h->type, "Hostname");
    hs_pb_set_str (&h->address, name);
    hs_pb_push ((void ***)&o->node->status->addresses, &o->node->status->n_addresses, h);
    if (ip) {
        Hs__NodeAddress *a = hs_pb_new (&hs__node_address__descriptor);
        hs_pb_set_str (&a->type, "InternalIP");
        hs_pb_set_str (&a->address, ip);
        hs_pb_push ((void ***)&o->node->status->addresses, &o->node->status->n_addresses, a);
    }
    return o;
}

static const char *s_fmt (const agent_route_t *r)
{
    static char buf[4][80];
    static int k;
    k = (k + 1) % 4;
    return agent_route_fmt (r, buf[k], sizeof buf[k]);
}

static void test_internal_ip (void)
{
    uint32_t ip;
    Hs__Object *o = s_node ("a", "10.244.1.0/24", "172.30.0.11");
    CHECK_EQ_INT (agent_routes_internal_ip (o->node, &ip), 0);
    CHECK_EQ_INT (ip, s_ip ("172.30.0.11"));
    hs_pb_free (o);
    o = s_node ("a", "10.244.1.0/24", NULL);
    CHECK_EQ_INT (agent_routes_internal_ip (o->node, &ip), -ENOENT);
    hs_pb_free (o);
    o = s_node ("a", "10.244.1.0/24", "fe80::1");
    CHECK_EQ_INT (agent_routes_internal_ip (o->node, &ip), -EINVAL);
    hs_pb_free (o);
    CHECK_EQ_INT (agent_routes_internal_ip (NULL, &ip), -ENOENT);
}

static void test_want (void)
{
    Hs__Object *nodes[8];
    nodes[0] = s_node ("n1", "10.244.1.0/24", "172.30.0.11"); /* ourselves */
    nodes[1] = s_node ("n2", "10.244.2.0/24", "172.30.0.12");
    nodes[2] = s_node ("n3", "10.244.3.0/24", "172.30.0.13");
    nodes[3] = s_node ("n4", "", "172.30.0.14");              /* no podCIDR yet */
    nodes[4] = s_node ("n5", "10.244.5.0/24", NULL);          /* no address yet */
    nodes[5] = s_node ("n6", "10.244.2.0/24", "172.30.0.16"); /* n2's podCIDR again */
    nodes[6] = s_node ("n7", "10.244.1.0/25", "172.30.0.17"); /* inside ours */
    nodes[7] = s_node ("n8", "bogus", "172.30.0.18");
    hs_cidr_t svc = s_cidr ("10.96.0.0/16");
    agent_routes_self_t me = {
        .node = "n1", .node_ip = s_ip ("172.30.0.11"), .svc = &svc, .svc_oif = 2};
    /* Present, not ours: the node's own subnet; no default route. */
    agent_route_t others[] = {{.dst = s_cidr ("172.30.0.0/24"), .oif = 2}};
    agent_route_t *want = NULL;
    agent_routes_skip_t *skips = NULL;
    size_t n_skips = 0;
    size_t n = agent_routes_want (&me, (const Hs__Object *const *)nodes, 8, others, 1, &want,
                                  &skips, &n_skips);
    CHECK_EQ_INT (n, 3);
    if (n == 3) {
        CHECK_EQ_STR (s_fmt (&want[0]), "10.244.2.0/24 via 172.30.0.12");
        CHECK_EQ_STR (s_fmt (&want[1]), "10.244.3.0/24 via 172.30.0.13");
        CHECK_EQ_STR (s_fmt (&want[2]), "10.96.0.0/16 dev #2");
    }
    CHECK_EQ_INT (n_skips, 3);
    if (n_skips == 3) {
        CHECK_EQ_STR (skips[0].node, "n6");
        CHECK_CONTAINS (skips[0].why, "overlaps another node's");
        CHECK_EQ_STR (skips[1].node, "n7");
        CHECK_CONTAINS (skips[1].why, "overlaps this node's");
        CHECK_EQ_STR (skips[2].node, "n8");
    }
    free (want);
    free (skips);

    /* A default route covers the Service CIDR: no route of ours for it.
     * A route not ours to n3's podCIDR: n3 is left to it. A node with our
     * own address is skipped. */
    agent_route_t others2[] = {{.dst = s_cidr ("0.0.0.0/0"), .gw = s_ip ("172.30.0.1")},
                               {.dst = s_cidr ("10.244.3.0/24"), .oif = 5}};
    hs_pb_free (nodes[4]);
    nodes[4] = s_node ("n5", "10.244.5.0/24", "172.30.0.11");
    n = agent_routes_want (&me, (const Hs__Object *const *)nodes, 5, others2, 2, &want, &skips,
                           &n_skips);
    CHECK_EQ_INT (n, 1);
    if (n == 1) CHECK_EQ_STR (s_fmt (&want[0]), "10.244.2.0/24 via 172.30.0.12");
    CHECK_EQ_INT (n_skips, 2);
    if (n_skips == 2) {
        CHECK_EQ_STR (skips[0].node, "n3");
        CHECK_CONTAINS (skips[0].why, "not Homeostat's");
        CHECK_EQ_STR (skips[1].node, "n5");
        CHECK_CONTAINS (skips[1].why, "this node's own");
    }
    free (want);
    free (skips);

    /* No Service CIDR interface known: no Service route; skips may be NULL. */
    me.svc_oif = 0;
    n = agent_routes_want (&me, (const Hs__Object *const *)nodes, 3, others, 1, &want, NULL, NULL);
    CHECK_EQ_INT (n, 2);
    free (want);
    for (int i = 0; i < 8; i++) hs_pb_free (nodes[i]);
}

/* A podCIDR outside the cluster CIDR is no pod network of ours, and a gateway on loopback or
 * 0.0.0.0 (hollow nodes report InternalIP 127.0.0.1) cannot carry packets to another host:
 * both are skipped with a reason, not retried on every sync. */
static void test_want_bounds (void)
{
    Hs__Object *nodes[6];
    nodes[0] = s_node ("n1", "10.244.1.0/24", "172.30.0.11"); /* ourselves */
    nodes[1] = s_node ("n2", "10.244.2.0/24", "172.30.0.12");
    nodes[2] = s_node ("h1", "10.244.3.0/24", "127.0.0.1"); /* a hollow node */
    nodes[3] = s_node ("h2", "10.244.4.0/24", "127.9.9.9");
    nodes[4] = s_node ("z", "10.244.5.0/24", "0.0.0.0");
    nodes[5] = s_node ("x", "192.168.7.0/24", "172.30.0.15"); /* outside the cluster CIDR */
    hs_cidr_t cluster = s_cidr ("10.244.0.0/16");
    agent_routes_self_t me = {.node = "n1", .node_ip = s_ip ("172.30.0.11"), .cluster = &cluster};
    agent_route_t *want = NULL;
    agent_routes_skip_t *skips = NULL;
    size_t n_skips = 0;
    size_t n = agent_routes_want (&me, (const Hs__Object *const *)nodes, 6, NULL, 0, &want, &skips,
                                  &n_skips);
    CHECK_EQ_INT (n, 1);
    if (n == 1) CHECK_EQ_STR (s_fmt (&want[0]), "10.244.2.0/24 via 172.30.0.12");
    CHECK_EQ_INT (n_skips, 4);
    if (n_skips == 4) {
        CHECK_EQ_STR (skips[0].node, "h1");
        CHECK_CONTAINS (skips[0].why, "loopback");
        CHECK_EQ_STR (skips[1].node, "h2");
        CHECK_EQ_STR (skips[2].node, "z");
        CHECK_EQ_STR (skips[3].node, "x");
        CHECK_CONTAINS (skips[3].why, "cluster CIDR");
    }
    free (want);
    free (skips);
    /* no cluster CIDR given: podCIDRs are not bounded (the gateways still are) */
    me.cluster = NULL;
    n = agent_routes_want (&me, (const Hs__Object *const *)nodes, 6, NULL, 0, &want, NULL, NULL);
    CHECK_EQ_INT (n, 2);
    free (want);
    for (int i = 0; i < 6; i++) hs_pb_free (nodes[i]);
}

static void test_covered (void)
{
    hs_cidr_t svc = s_cidr ("10.96.0.0/16");
    agent_route_t r[] = {{.dst = s_cidr ("10.96.0.0/24")}};
    CHECK (!agent_routes_covered (&svc, r, 1)); /* a part is not the whole */
    r[0].dst = s_cidr ("10.0.0.0/8");
    CHECK (agent_routes_covered (&svc, r, 1));
    r[0].dst = s_cidr ("10.96.0.0/16");
    CHECK (agent_routes_covered (&svc, r, 1));
    r[0].dst = s_cidr ("10.97.0.0/16");
    CHECK (!agent_routes_covered (&svc, r, 1));
    CHECK (!agent_routes_covered (&svc, NULL, 0));
}

static void test_plan (void)
{
    agent_route_t want[] = {
        {.dst = s_cidr ("10.244.2.0/24"), .gw = s_ip ("172.30.0.12")},
        {.dst = s_cidr ("10.244.3.0/24"), .gw = s_ip ("172.30.0.13")},
        {.dst = s_cidr ("10.96.0.0/16"), .oif = 2},
    };
    agent_route_t ours[] = {
        {.dst = s_cidr ("10.244.2.0/24"), .gw = s_ip ("172.30.0.12")}, /* kept */
        {.dst = s_cidr ("10.244.3.0/24"), .gw = s_ip ("172.30.0.99")}, /* moved: replaced */
        {.dst = s_cidr ("10.244.9.0/24"), .gw = s_ip ("172.30.0.19")}, /* deleted Node: goes */
        {.dst = s_cidr ("10.96.0.0/16"), .oif = 3},                    /* other dev: replaced */
        {.dst = s_cidr ("10.244.2.0/24"), .gw = s_ip ("172.30.0.12"), .priority = 50},
    };
    agent_routes_plan_t p;
    agent_routes_plan (want, 3, ours, 5, &p);
    CHECK_EQ_INT (p.n_add, 2);
    if (p.n_add == 2) {
        CHECK_EQ_STR (s_fmt (&p.add[0]), "10.244.3.0/24 via 172.30.0.13");
        CHECK_EQ_STR (s_fmt (&p.add[1]), "10.96.0.0/16 dev #2");
    }
    CHECK_EQ_INT (p.n_del, 2);
    if (p.n_del == 2) {
        CHECK_EQ_STR (s_fmt (&p.del[0]), "10.244.9.0/24 via 172.30.0.19");
        CHECK_EQ_STR (s_fmt (&p.del[1]), "10.244.2.0/24 via 172.30.0.12");
        CHECK_EQ_INT (p.del[1].priority, 50);
    }
    agent_routes_plan_free (&p);

    /* Everything in place: nothing to do. Nothing wanted: all of ours go. */
    agent_routes_plan (want, 3, want, 3, &p);
    CHECK_EQ_INT (p.n_add + p.n_del, 0);
    agent_routes_plan_free (&p);
    agent_routes_plan (NULL, 0, ours, 3, &p);
    CHECK_EQ_INT (p.n_add, 0);
    CHECK_EQ_INT (p.n_del, 3);
    agent_routes_plan_free (&p);
    /* A fresh node: all added. */
    agent_routes_plan (want, 3, NULL, 0, &p);
    CHECK_EQ_INT (p.n_add, 3);
    CHECK_EQ_INT (p.n_del, 0);
    agent_routes_plan_free (&p);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"internal_ip", test_internal_ip}, {"want", test_want}, {"want_bounds", test_want_bounds},
        {"covered", test_covered},         {"plan", test_plan},
    };
    return HS_TEST_RUN (tests);
}
