/*  test_dns_publish.c: kube-system/kube-dns and its Endpoints as hs-dns
 *  keeps them (services/dns/dns_publish.h): created, left alone when right,
 *  put back when they drift, several instances merged, the leader prunes. */
#include "dns_publish.h"
#include "hs_net.h"
#include "hs_obj.h"
#include "hs_test.h"
#include "hs_util.h"

#include <string.h>

static const char *s_live_set[4];

static bool s_live (void *arg, const char *instance)
{
    (void)arg;
    for (size_t i = 0; i < 4 && s_live_set[i]; i++)
        if (hs_streq (s_live_set[i], instance)) return true;
    return false;
}

static dns_pub_t s_pub (const char *inst, const char *ip, uint16_t port, bool leader)
{
    dns_pub_t p = {.instance = inst,
                   .host = "host1",
                   .port = port,
                   .cluster_ip = 0x0a60000a,
                   .leader = leader,
                   .live = s_live};
    hs_ip_parse (ip, &p.advertise);
    return p;
}

/* The stored object after a write: what the store would keep. */
static Hs__Object *s_store (Hs__Object *want)
{
    hs_obj_meta (want)->resource_version++;
    return want;
}

static void test_service (void)
{
    dns_pub_t p = s_pub ("a", "192.0.2.1", 10053, true);
    Hs__Object *s = dns_pub_service (&p, NULL);
    CHECK (s != NULL);
    CHECK_EQ_STR (s->service->metadata->namespace_, "kube-system");
    CHECK_EQ_STR (s->service->metadata->name, "kube-dns");
    CHECK_EQ_STR (s->service->spec->cluster_ip, "10.96.0.10");
    CHECK_EQ_INT (s->service->spec->n_cluster_ips, 1);
    CHECK_EQ_INT (s->service->spec->n_ports, 2);
    CHECK_EQ_STR (s->service->spec->ports[0]->name, "dns");
    CHECK_EQ_STR (s->service->spec->ports[0]->protocol, "UDP");
    CHECK_EQ_INT (s->service->spec->ports[0]->port, 53);
    CHECK_EQ_STR (s->service->spec->ports[0]->target_port, "10053");
    CHECK_EQ_STR (s->service->spec->ports[1]->name, "dns-tcp");
    CHECK_EQ_STR (s->service->spec->ports[1]->protocol, "TCP");
    CHECK_EQ_STR (hs_pb_map_get ((void *const *)s->service->metadata->labels,
                                 s->service->metadata->n_labels, "k8s-app"),
                  "kube-dns");
    s = s_store (s);
    /* as it should be: nothing to write */
    CHECK (dns_pub_service (&p, s) == NULL);
    /* a follower on another port accepts the leader's targetPort */
    dns_pub_t f = s_pub ("b", "192.0.2.2", 10054, false);
    CHECK (dns_pub_service (&f, s) == NULL);
    /* ...the leader does not */
    dns_pub_t l2 = s_pub ("a", "192.0.2.1", 10055, true);
    Hs__Object *w = dns_pub_service (&l2, s);
    CHECK (w != NULL);
    if (w) CHECK_EQ_STR (w->service->spec->ports[1]->target_port, "10055");
    hs_pb_free (w);
    /* drift: a selector, a port removed, the label gone, another clusterIP */
    Hs__ServiceSpec__SelectorEntry *e = hs_pb_new (&hs__service_spec__selector_entry__descriptor);
    hs_pb_set_str (&e->key, "app");
    hs_pb_set_str (&e->value, "x");
    hs_pb_push ((void ***)&s->service->spec->selector, &s->service->spec->n_selector, e);
    w = dns_pub_service (&f, s);
    CHECK (w != NULL);
    if (w) {
        CHECK_EQ_INT (w->service->spec->n_selector, 0);
        CHECK_EQ_STR (w->service->spec->ports[0]->target_port, "10053"); /* follower kept it */
    }
    hs_pb_free (w);
    hs_pb_set_str (&s->service->spec->cluster_ip, "10.96.0.99");
    s->service->spec->n_selector = 0;
    hs_pb_free (s->service->spec->selector[0]);
    w = dns_pub_service (&p, s);
    CHECK (w != NULL);
    if (w) {
        CHECK_EQ_STR (w->service->spec->cluster_ip, "10.96.0.10");
        CHECK_EQ_INT (w->service->metadata->resource_version, 1); /* the update's base */
    }
    hs_pb_free (w);
    hs_pb_free (s);
}

/* The addresses of a kube-dns Endpoints as "ip:port@instance ..." */
static void s_addrs (const Hs__Object *o, char *buf, size_t len)
{
    buf[0] = '\0';
    size_t n = 0;
    for (size_t s = 0; s < o->endpoints->n_subsets; s++) {
        const Hs__EndpointSubset *ss = o->endpoints->subsets[s];
        for (size_t i = 0; i < ss->n_addresses; i++)
            n += (size_t)snprintf (buf + n, len - n, "%s%s:%d@%s", n ? " " : "",
                                   ss->addresses[i]->ip, ss->n_ports ? ss->ports[0]->port : 0,
                                   ss->addresses[i]->target_ref ? ss->addresses[i]->target_ref->name
                                                                : "-");
    }
}

static void test_endpoints (void)
{
    char buf[512];
    s_live_set[0] = "a";
    s_live_set[1] = "b";
    s_live_set[2] = NULL;
    dns_pub_t a = s_pub ("a", "192.0.2.1", 10053, true);
    dns_pub_t b = s_pub ("b", "192.0.2.2", 10053, false);
    Hs__Object *e = s_store (dns_pub_endpoints (&a, NULL));
    s_addrs (e, buf, sizeof buf);
    CHECK_EQ_STR (buf, "192.0.2.1:10053@a");
    CHECK_EQ_STR (e->endpoints->subsets[0]->addresses[0]->node_name, "host1");
    CHECK_EQ_STR (e->endpoints->subsets[0]->ports[1]->name, "dns-tcp");
    CHECK (dns_pub_endpoints (&a, e) == NULL);
    /* b merges its address, keeps a's */
    Hs__Object *e2 = dns_pub_endpoints (&b, e);
    CHECK (e2 != NULL);
    hs_pb_free (e);
    e = s_store (e2);
    s_addrs (e, buf, sizeof buf);
    CHECK_EQ_STR (buf, "192.0.2.1:10053@a 192.0.2.2:10053@b");
    CHECK (dns_pub_endpoints (&a, e) == NULL);
    CHECK (dns_pub_endpoints (&b, e) == NULL);
    /* c on another port: a subset of its own */
    s_live_set[2] = "c";
    dns_pub_t c = s_pub ("c", "192.0.2.3", 5353, false);
    e2 = dns_pub_endpoints (&c, e);
    hs_pb_free (e);
    e = s_store (e2);
    s_addrs (e, buf, sizeof buf);
    CHECK_EQ_STR (buf, "192.0.2.3:5353@c 192.0.2.1:10053@a 192.0.2.2:10053@b");
    CHECK_EQ_INT (e->endpoints->n_subsets, 2);
    /* b dies: a follower leaves it, the leader removes it */
    s_live_set[1] = "c";
    s_live_set[2] = NULL;
    CHECK (dns_pub_endpoints (&c, e) == NULL);
    e2 = dns_pub_endpoints (&a, e);
    CHECK (e2 != NULL);
    hs_pb_free (e);
    e = s_store (e2);
    s_addrs (e, buf, sizeof buf);
    CHECK_EQ_STR (buf, "192.0.2.3:5353@c 192.0.2.1:10053@a");
    /* a restarts as a2 on the same address: the address is its own */
    s_live_set[0] = "a2";
    dns_pub_t a2 = s_pub ("a2", "192.0.2.1", 10053, true);
    e2 = dns_pub_endpoints (&a2, e);
    hs_pb_free (e);
    e = s_store (e2);
    s_addrs (e, buf, sizeof buf);
    CHECK_EQ_STR (buf, "192.0.2.3:5353@c 192.0.2.1:10053@a2");
    /* an operator's address (no targetRef) is never removed */
    Hs__EndpointAddress *op = hs_pb_new (&hs__endpoint_address__descriptor);
    hs_pb_set_str (&op->ip, "192.0.2.50");
    Hs__EndpointSubset *ss = e->endpoints->subsets[1];
    hs_pb_push ((void ***)&ss->addresses, &ss->n_addresses, op);
    CHECK (dns_pub_endpoints (&a2, e) == NULL); /* kept as it is */
    /* c leaves: the leader prunes it, the operator's address stays */
    s_live_set[1] = NULL;
    e2 = dns_pub_endpoints (&a2, e);
    CHECK (e2 != NULL);
    hs_pb_free (e);
    e = s_store (e2);
    s_addrs (e, buf, sizeof buf);
    CHECK_EQ_STR (buf, "192.0.2.1:10053@a2 192.0.2.50:10053@-");
    CHECK (dns_pub_endpoints (&a2, e) == NULL);
    hs_pb_free (e);
}

int main (int argc, char **argv)
{
    hs_test_t tests[] = {
        {"service", test_service},
        {"endpoints", test_endpoints},
    };
    return HS_TEST_RUN (tests);
}
