/*  test_dns_zone.c: the cluster zone (services/dns/dns_zone.h): Services,
 *  headless Services and their endpoints, SRV, pods, empty non-terminals,
 *  updates and deletes that leave nothing behind. */
#include "dns_zone.h"
#include "hs_net.h"
#include "hs_obj.h"
#include "hs_test.h"
#include "hs_util.h"

#include <stdlib.h>
#include <string.h>

static uint32_t s_ip (const char *s)
{
    uint32_t ip = 0;
    hs_ip_parse (s, &ip);
    return ip;
}

static Hs__Object *s_svc (const char *ns, const char *name, const char *cluster_ip)
{
    Hs__Object *o = hs_obj_new (HS_KIND_SERVICE, ns, name);
    o->service->spec = hs_pb_new (&hs__service_spec__descriptor);
    hs_pb_set_str (&o->service->spec->cluster_ip, cluster_ip);
    return o;
}

static void s_svc_port (Hs__Object *o, const char *name, const char *proto, int port)
{
    Hs__ServicePort *p = hs_pb_new (&hs__service_port__descriptor);
    hs_pb_set_str (&p->name, name);
    hs_pb_set_str (&p->protocol, proto);
    p->port = port;
    hs_pb_push ((void ***)&o->service->spec->ports, &o->service->spec->n_ports, p);
}

/* Endpoints with one subset: ready "ip[=hostname]" addresses, then not-ready
 * ones after a NULL, and one port. */
static Hs__Object *s_eps (const char *ns, const char *name, const char *port_name, int port,
                          const char *const *addrs)
{
    Hs__Object *o = hs_obj_new (HS_KIND_ENDPOINTS, ns, name);
    Hs__EndpointSubset *ss = hs_pb_new (&hs__endpoint_subset__descriptor);
    bool ready = true;
    for (size_t i = 0;; i++) {
        if (!addrs[i]) {
            if (!ready) break;
            ready = false;
            continue;
        }
        Hs__EndpointAddress *a = hs_pb_new (&hs__endpoint_address__descriptor);
        const char *eq = strchr (addrs[i], '=');
        if (eq) {
            char *ip = hs_strndup (addrs[i], (size_t)(eq - addrs[i]));
            hs_pb_take_str (&a->ip, ip);
            hs_pb_set_str (&a->hostname, eq + 1);
        } else
            hs_pb_set_str (&a->ip, addrs[i]);
        if (ready)
            hs_pb_push ((void ***)&ss->addresses, &ss->n_addresses, a);
        else
            hs_pb_push ((void ***)&ss->not_ready_addresses, &ss->n_not_ready_addresses, a);
    }
    Hs__EndpointPort *p = hs_pb_new (&hs__endpoint_port__descriptor);
    hs_pb_set_str (&p->name, port_name);
    hs_pb_set_str (&p->protocol, "TCP");
    p->port = port;
    hs_pb_push ((void ***)&ss->ports, &ss->n_ports, p);
    hs_pb_push ((void ***)&o->endpoints->subsets, &o->endpoints->n_subsets, ss);
    return o;
}

static dns_zone_kind_t s_look (dns_zone_t *z, const char *name, uint16_t t, dns_zone_answer_t *a)
{
    return dns_zone_lookup (z, name, t, a);
}

/* Whether the answer's addresses are exactly want (any order). */
static bool s_has (const dns_zone_answer_t *a, const char *const *want, size_t n)
{
    if (a->n_a != n) return false;
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t k = 0; k < a->n_a && !found; k++) found = a->a[k] == s_ip (want[i]);
        if (!found) return false;
    }
    return true;
}

static void test_cluster_ip (void)
{
    dns_zone_t *z = dns_zone_new ("cluster.local");
    dns_zone_answer_t a;
    /* the apex and the fixed names exist from the start */
    CHECK_EQ_INT (s_look (z, "cluster.local", DNS_TYPE_A, &a), DNS_ZONE_NODATA);
    CHECK_EQ_INT (s_look (z, "cluster.local", DNS_TYPE_SOA, &a), DNS_ZONE_FOUND);
    CHECK (a.soa);
    CHECK_EQ_INT (s_look (z, "svc.cluster.local", DNS_TYPE_A, &a), DNS_ZONE_NODATA);
    CHECK_EQ_INT (s_look (z, "pod.cluster.local", DNS_TYPE_A, &a), DNS_ZONE_NODATA);
    CHECK_EQ_INT (s_look (z, "default.svc.cluster.local", DNS_TYPE_A, &a), DNS_ZONE_NXDOMAIN);
    CHECK_EQ_INT (s_look (z, "example.com", DNS_TYPE_A, &a), DNS_ZONE_OUTSIDE);
    CHECK_EQ_INT (s_look (z, "xcluster.local", DNS_TYPE_A, &a), DNS_ZONE_OUTSIDE);
    CHECK_EQ_INT (s_look (z, "local", DNS_TYPE_A, &a), DNS_ZONE_OUTSIDE);
    CHECK_EQ_INT (s_look (z, "", DNS_TYPE_A, &a), DNS_ZONE_OUTSIDE);

    Hs__Object *s = s_svc ("default", "catalog", "10.96.0.20");
    s_svc_port (s, "http", "TCP", 80);
    s_svc_port (s, "", "TCP", 81); /* unnamed: no SRV */
    dns_zone_set (z, "default", "catalog", s->service, NULL);
    CHECK_EQ_INT (s_look (z, "catalog.default.svc.cluster.local", DNS_TYPE_A, &a), DNS_ZONE_FOUND);
    const char *want[] = {"10.96.0.20"};
    CHECK (s_has (&a, want, 1));
    CHECK_EQ_INT (s_look (z, "catalog.default.svc.cluster.local", DNS_TYPE_AAAA, &a),
                  DNS_ZONE_NODATA);
    CHECK_EQ_INT (s_look (z, "catalog.default.svc.cluster.local", DNS_TYPE_SRV, &a),
                  DNS_ZONE_NODATA);
    CHECK_EQ_INT (s_look (z, "default.svc.cluster.local", DNS_TYPE_A, &a), DNS_ZONE_NODATA);
    CHECK_EQ_INT (s_look (z, "nosuch.default.svc.cluster.local", DNS_TYPE_A, &a),
                  DNS_ZONE_NXDOMAIN);
    CHECK_EQ_INT (s_look (z, "catalog.other.svc.cluster.local", DNS_TYPE_A, &a), DNS_ZONE_NXDOMAIN);
    CHECK_EQ_INT (s_look (z, "x.catalog.default.svc.cluster.local", DNS_TYPE_A, &a),
                  DNS_ZONE_NXDOMAIN);
    /* SRV for the named port; its parents are empty non-terminals */
    CHECK_EQ_INT (s_look (z, "_http._tcp.catalog.default.svc.cluster.local", DNS_TYPE_SRV, &a),
                  DNS_ZONE_FOUND);
    CHECK_EQ_INT (a.n_srv, 1);
    CHECK_EQ_INT (a.srv[0].port, 80);
    CHECK_EQ_STR (a.srv[0].target, "catalog.default.svc.cluster.local");
    CHECK_EQ_INT (s_look (z, "_tcp.catalog.default.svc.cluster.local", DNS_TYPE_SRV, &a),
                  DNS_ZONE_NODATA);
    CHECK_EQ_INT (s_look (z, "_udp.catalog.default.svc.cluster.local", DNS_TYPE_SRV, &a),
                  DNS_ZONE_NXDOMAIN);
    /* the clusterIP changes: the old address goes */
    hs_pb_set_str (&s->service->spec->cluster_ip, "10.96.0.21");
    dns_zone_set (z, "default", "catalog", s->service, NULL);
    CHECK_EQ_INT (s_look (z, "catalog.default.svc.cluster.local", DNS_TYPE_A, &a), DNS_ZONE_FOUND);
    const char *want2[] = {"10.96.0.21"};
    CHECK (s_has (&a, want2, 1));
    /* no clusterIP yet: the name exists, without an address */
    hs_pb_set_str (&s->service->spec->cluster_ip, "");
    dns_zone_set (z, "default", "catalog", s->service, NULL);
    CHECK_EQ_INT (s_look (z, "catalog.default.svc.cluster.local", DNS_TYPE_A, &a), DNS_ZONE_NODATA);
    /* deleted: nothing is left, not even the namespace */
    dns_zone_set (z, "default", "catalog", NULL, NULL);
    CHECK_EQ_INT (s_look (z, "catalog.default.svc.cluster.local", DNS_TYPE_A, &a),
                  DNS_ZONE_NXDOMAIN);
    CHECK_EQ_INT (s_look (z, "default.svc.cluster.local", DNS_TYPE_A, &a), DNS_ZONE_NXDOMAIN);
    CHECK_EQ_INT (dns_zone_names (z), 0);
    CHECK_EQ_INT (dns_zone_services (z), 0);
    hs_pb_free (s);
    dns_zone_destroy (&z);
    CHECK (z == NULL);
}

static void test_headless (void)
{
    dns_zone_t *z = dns_zone_new ("Cluster.Local");
    dns_zone_answer_t a;
    Hs__Object *s = s_svc ("db", "pg", "None");
    s_svc_port (s, "sql", "TCP", 5432);
    const char *addrs[] = {"10.244.1.5=pg-0", "10.244.2.7", NULL, "10.244.3.9=pg-2", NULL};
    Hs__Object *e = s_eps ("db", "pg", "sql", 5432, addrs);
    /* no Endpoints yet: the name exists, no address */
    dns_zone_set (z, "db", "pg", s->service, NULL);
    CHECK_EQ_INT (s_look (z, "pg.db.svc.cluster.local", DNS_TYPE_A, &a), DNS_ZONE_NODATA);
    dns_zone_set (z, "db", "pg", s->service, e->endpoints);
    CHECK_EQ_INT (s_look (z, "pg.db.svc.cluster.local", DNS_TYPE_A, &a), DNS_ZONE_FOUND);
    const char *ready[] = {"10.244.1.5", "10.244.2.7"};
    CHECK (s_has (&a, ready, 2));
    CHECK_EQ_INT (s_look (z, "pg-0.pg.db.svc.cluster.local", DNS_TYPE_A, &a), DNS_ZONE_FOUND);
    CHECK (s_has (&a, ready, 1));
    CHECK_EQ_INT (s_look (z, "10-244-2-7.pg.db.svc.cluster.local", DNS_TYPE_A, &a), DNS_ZONE_FOUND);
    CHECK (s_has (&a, ready + 1, 1));
    /* not ready: not served */
    CHECK_EQ_INT (s_look (z, "pg-2.pg.db.svc.cluster.local", DNS_TYPE_A, &a), DNS_ZONE_NXDOMAIN);
    /* SRV per endpoint */
    CHECK_EQ_INT (s_look (z, "_sql._tcp.pg.db.svc.cluster.local", DNS_TYPE_SRV, &a),
                  DNS_ZONE_FOUND);
    CHECK_EQ_INT (a.n_srv, 2);
    CHECK_EQ_INT (a.srv[0].port, 5432);
    /* publishNotReadyAddresses */
    s->service->spec->publish_not_ready_addresses = true;
    dns_zone_set (z, "db", "pg", s->service, e->endpoints);
    CHECK_EQ_INT (s_look (z, "pg.db.svc.cluster.local", DNS_TYPE_A, &a), DNS_ZONE_FOUND);
    CHECK_EQ_INT (a.n_a, 3);
    CHECK_EQ_INT (s_look (z, "pg-2.pg.db.svc.cluster.local", DNS_TYPE_A, &a), DNS_ZONE_FOUND);
    /* the Endpoints go: addresses and host names go, the Service's name stays */
    dns_zone_set (z, "db", "pg", s->service, NULL);
    CHECK_EQ_INT (s_look (z, "pg.db.svc.cluster.local", DNS_TYPE_A, &a), DNS_ZONE_NODATA);
    CHECK_EQ_INT (s_look (z, "pg-0.pg.db.svc.cluster.local", DNS_TYPE_A, &a), DNS_ZONE_NXDOMAIN);
    CHECK_EQ_INT (dns_zone_names (z), 2); /* pg.db.svc..., db.svc... */
    dns_zone_set (z, "db", "pg", NULL, e->endpoints);
    CHECK_EQ_INT (dns_zone_names (z), 0);
    hs_pb_free (s);
    hs_pb_free (e);
    dns_zone_destroy (&z);
}

static void test_many (void)
{
    dns_zone_t *z = dns_zone_new ("cluster.local");
    dns_zone_answer_t a;
    char name[64], ip[32];
    /* 2000 Services in 10 namespaces, then every other one deleted */
    for (int i = 0; i < 2000; i++) {
        snprintf (name, sizeof name, "s%d", i);
        snprintf (ip, sizeof ip, "10.96.%d.%d", i / 250, i % 250 + 1);
        char ns[16];
        snprintf (ns, sizeof ns, "ns%d", i % 10);
        Hs__Object *s = s_svc (ns, name, ip);
        dns_zone_set (z, ns, name, s->service, NULL);
        hs_pb_free (s);
    }
    CHECK_EQ_INT (dns_zone_services (z), 2000);
    CHECK_EQ_INT (s_look (z, "s1234.ns4.svc.cluster.local", DNS_TYPE_A, &a), DNS_ZONE_FOUND);
    CHECK_EQ_INT (a.a[0], s_ip ("10.96.4.235"));
    for (int i = 0; i < 2000; i += 2) {
        snprintf (name, sizeof name, "s%d", i);
        char ns[16];
        snprintf (ns, sizeof ns, "ns%d", i % 10);
        dns_zone_set (z, ns, name, NULL, NULL);
    }
    CHECK_EQ_INT (dns_zone_services (z), 1000);
    /* namespaces with only even Services are gone, the others stay */
    CHECK_EQ_INT (s_look (z, "ns4.svc.cluster.local", DNS_TYPE_A, &a), DNS_ZONE_NXDOMAIN);
    CHECK_EQ_INT (s_look (z, "ns3.svc.cluster.local", DNS_TYPE_A, &a), DNS_ZONE_NODATA);
    CHECK_EQ_INT (s_look (z, "s1233.ns3.svc.cluster.local", DNS_TYPE_A, &a), DNS_ZONE_FOUND);
    CHECK_EQ_INT (dns_zone_names (z), 1000 + 5);
    dns_zone_destroy (&z);
}

static void test_pods_and_bad_names (void)
{
    dns_zone_t *z = dns_zone_new ("cluster.local");
    dns_zone_answer_t a;
    CHECK_EQ_INT (s_look (z, "10-244-1-5.default.pod.cluster.local", DNS_TYPE_A, &a),
                  DNS_ZONE_FOUND);
    CHECK_EQ_INT (a.n_a, 1);
    CHECK_EQ_INT (a.a[0], s_ip ("10.244.1.5"));
    CHECK_EQ_INT (s_look (z, "10-244-1-5.default.pod.cluster.local", DNS_TYPE_AAAA, &a),
                  DNS_ZONE_NODATA);
    CHECK_EQ_INT (s_look (z, "10-244-1.default.pod.cluster.local", DNS_TYPE_A, &a),
                  DNS_ZONE_NXDOMAIN);
    CHECK_EQ_INT (s_look (z, "x.10-244-1-5.default.pod.cluster.local", DNS_TYPE_A, &a),
                  DNS_ZONE_NXDOMAIN);
    CHECK_EQ_INT (s_look (z, "default.pod.cluster.local", DNS_TYPE_A, &a), DNS_ZONE_NODATA);
    /* names that are not DNS labels are not served (and never crash) */
    Hs__Object *s = s_svc ("a.b", "x", "10.96.0.5");
    dns_zone_set (z, "a.b", "x", s->service, NULL);
    CHECK_EQ_INT (s_look (z, "x.a.b.svc.cluster.local", DNS_TYPE_A, &a), DNS_ZONE_NXDOMAIN);
    char longname[80];
    memset (longname, 'l', 70);
    longname[70] = '\0';
    dns_zone_set (z, "default", longname, s->service, NULL);
    dns_zone_set (z, "default", "", s->service, NULL);
    CHECK_EQ_INT (dns_zone_names (z), 0);
    /* a Service without a spec */
    Hs__Object *bare = hs_obj_new (HS_KIND_SERVICE, "default", "bare");
    dns_zone_set (z, "default", "bare", bare->service, NULL);
    CHECK_EQ_INT (s_look (z, "bare.default.svc.cluster.local", DNS_TYPE_A, &a), DNS_ZONE_NODATA);
    hs_pb_free (bare);
    hs_pb_free (s);
    dns_zone_destroy (&z);
}

int main (int argc, char **argv)
{
    hs_test_t tests[] = {
        {"cluster_ip", test_cluster_ip},
        {"headless", test_headless},
        {"many", test_many},
        {"pods_and_bad_names", test_pods_and_bad_names},
    };
    return HS_TEST_RUN (tests);
}
