/*  test_proxy_render.c: hs-proxy's pure renderer (agents/proxy/proxy_render):
 *  the model built from Service + Endpoints (ready addresses only, named
 *  ports, headless, bad input), the whole table against golden text, and
 *  incremental transactions (one endpoint changed, a service gone, a port
 *  losing its endpoints), UDP conntrack removals.
 *
 *  HS_PROXY_DUMP=DIR writes each rendered text to DIR/<test>.nft, which
 *  test_proxy_nft (label system) feeds to `nft -c -f` in a fresh netns.
 */
#include "hs_manifest.h"
#include "hs_test.h"
#include "hs_util.h"
#include "proxy_render.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>

static hs_manifest_t s_docs;

static const Hs__Object *s_load (const char *yaml)
{
    size_t before = s_docs.n;
    char *err = NULL;
    int r = hs_manifest_parse (yaml, strlen (yaml), "test", &s_docs, &err);
    if (r < 0) fprintf (stderr, "  manifest: %s\n", err);
    free (err);
    CHECK_EQ_INT (r, 0);
    CHECK_EQ_INT (s_docs.n, before + 1);
    return r == 0 ? s_docs.docs[s_docs.n - 1].object : NULL;
}

static void s_reset (void)
{
    hs_manifest_free (&s_docs);
    memset (&s_docs, 0, sizeof s_docs);
}

static proxy_conf_t s_conf (void)
{
    proxy_conf_t c = {.masquerade_egress = true};
    hs_cidr_parse ("10.244.0.0/16", &c.cluster);
    hs_cidr_parse ("10.96.0.0/16", &c.service);
    return c;
}

/* A Service in default with a clusterIP and ports (YAML list items). */
static const Hs__Service *s_svc (const char *name, const char *ip, const char *ports,
                                 const char *extra)
{
    _cleanup_free_ char *y =
        hs_sprintf ("apiVersion: v1\nkind: Service\nmetadata:\n  name: %s\n  namespace: default\n"
                    "spec:\n  clusterIP: \"%s\"\n  ports:\n%s%s",
                    name, ip, ports, hs_s (extra));
    const Hs__Object *o = s_load (y);
    return o ? o->service : NULL;
}

static const Hs__Endpoints *s_eps (const char *name, const char *subsets)
{
    _cleanup_free_ char *y =
        hs_sprintf ("apiVersion: v1\nkind: Endpoints\nmetadata:\n  name: %s\n  namespace: default\n"
                    "subsets:\n%s",
                    name, subsets);
    const Hs__Object *o = s_load (y);
    return o ? o->endpoints : NULL;
}

static proxy_svc_t *s_build (const Hs__Service *svc, const Hs__Endpoints *ep)
{
    proxy_svc_t *s = NULL;
    const char *why = NULL;
    int r = proxy_svc_build (svc, ep, &s, &why);
    if (r < 0) fprintf (stderr, "  build: %s\n", why);
    CHECK_EQ_INT (r, 0);
    return s;
}

static void s_dump (const char *name, const char *text)
{
    const char *dir = getenv ("HS_PROXY_DUMP");
    if (!dir || !text) return;
    _cleanup_free_ char *path = hs_sprintf ("%s/%s.nft", dir, name);
    FILE *f = fopen (path, "w");
    if (!f) return;
    fputs (text, f);
    fclose (f);
}

/* ------------------------------------------------------------------ the model */

static void test_model_ready_only (void)
{
    const Hs__Service *svc =
        s_svc ("web", "10.96.0.20", "  - {name: http, port: 80, targetPort: http}\n", NULL);
    const Hs__Endpoints *ep =
        s_eps ("web", "- addresses: [{ip: 10.244.1.3}, {ip: 10.244.1.2}, {ip: 10.244.1.2}]\n"
                      "  notReadyAddresses: [{ip: 10.244.2.9}]\n"
                      "  ports: [{name: http, port: 8080}]\n"
                      "- addresses: [{ip: 10.244.2.4}]\n"
                      "  ports: [{name: http, port: 9090}, {name: other, port: 1}]\n"
                      "- addresses: [{ip: not-an-ip}, {ip: 10.244.3.3}]\n"
                      "  ports: [{name: metrics, port: 9100}]\n"
                      /* never Service traffic to a node's loopback, link-local
                       * (metadata) or multicast address */
                      "- addresses: [{ip: 127.0.0.1}, {ip: 169.254.169.254}, {ip: 224.0.0.1}]\n"
                      "  ports: [{name: http, port: 8080}]\n");
    proxy_svc_t *s = s_build (svc, ep);
    CHECK (s != NULL);
    if (!s) return s_reset ();
    CHECK_EQ_STR (s->ns, "default");
    CHECK_EQ_INT (s->n_ports, 1);
    CHECK_EQ_INT (s->ports[0].proto, IPPROTO_TCP);
    CHECK_EQ_INT (s->ports[0].port, 80);
    /* ready only, sorted, the duplicate once; the other subset's own port */
    CHECK_EQ_INT (s->ports[0].n_eps, 3);
    char ip[16];
    CHECK_EQ_STR (hs_ip_format (s->ports[0].eps[0].ip, ip), "10.244.1.2");
    CHECK_EQ_INT (s->ports[0].eps[0].port, 8080);
    CHECK_EQ_STR (hs_ip_format (s->ports[0].eps[2].ip, ip), "10.244.2.4");
    CHECK_EQ_INT (s->ports[0].eps[2].port, 9090);
    proxy_svc_destroy (&s);
    CHECK (s == NULL);
    s_reset ();
}

static void test_model_headless_and_bad (void)
{
    proxy_svc_t *s = (proxy_svc_t *)1;
    const char *why = NULL;
    /* headless, and no clusterIP yet: nothing, not an error */
    CHECK_EQ_INT (proxy_svc_build (s_svc ("h", "None", "  - {port: 80}\n", NULL), NULL, &s, &why),
                  0);
    CHECK (s == NULL);
    s = (proxy_svc_t *)1;
    CHECK_EQ_INT (proxy_svc_build (s_svc ("n", "", "  - {port: 80}\n", NULL), NULL, &s, &why), 0);
    CHECK (s == NULL);
    /* a clusterIP that is not an address */
    CHECK_EQ_INT (
        proxy_svc_build (s_svc ("b", "10.96.0.300", "  - {port: 80}\n", NULL), NULL, &s, &why),
        -EINVAL);
    CHECK_CONTAINS (why, "spec.clusterIP");
    /* a name nft would read as syntax */
    const Hs__Object *o =
        s_load ("apiVersion: v1\nkind: Service\nmetadata:\n  name: \"x; flush ruleset\"\n"
                "spec:\n  clusterIP: 10.96.0.9\n  ports: [{port: 80}]\n");
    CHECK_EQ_INT (proxy_svc_build (o ? o->service : NULL, NULL, &s, &why), -EINVAL);
    CHECK_CONTAINS (why, "metadata");
    CHECK_EQ_INT (proxy_svc_build (NULL, NULL, &s, &why), -EINVAL);
    /* ports: out of range, SCTP, a duplicate are skipped; the rest kept */
    s = s_build (
        s_svc ("p", "10.96.0.21",
               "  - {name: a, port: 0}\n  - {name: b, port: 70000}\n"
               "  - {name: c, port: 53, protocol: SCTP}\n  - {name: d, port: 53, protocol: UDP}\n"
               "  - {name: e, port: 53, protocol: UDP}\n  - {name: f, port: 53}\n",
               NULL),
        NULL);
    CHECK (s != NULL);
    if (s) {
        CHECK_EQ_INT (s->n_ports, 2);
        CHECK_EQ_INT (s->ports[0].proto, IPPROTO_UDP);
        CHECK_EQ_INT (s->ports[1].proto, IPPROTO_TCP);
        CHECK_EQ_INT (s->ports[0].n_eps, 0);
    }
    proxy_svc_destroy (&s);
    s_reset ();
}

/* ------------------------------------------------------------------ the table */

static const char *GOLDEN_TABLE =
    "table ip homeostat {\n"
    "\tmap service-ips {\n"
    "\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n"
    "\t\telements = {\n"
    "\t\t\t10.96.0.10 . tcp . 80 : goto service-default/web/tcp/80\n"
    "\t\t}\n"
    "\t}\n"
    "\tmap no-endpoint-services {\n"
    "\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n"
    "\t\telements = {\n"
    "\t\t\t10.96.0.11 . tcp . 80 : goto reject-chain\n"
    "\t\t}\n"
    "\t}\n"
    "\tset cluster-ips {\n"
    "\t\ttype ipv4_addr\n"
    "\t\telements = {\n"
    "\t\t\t10.96.0.10,\n"
    "\t\t\t10.96.0.11\n"
    "\t\t}\n"
    "\t}\n"
    "\tset hairpin-endpoints {\n"
    "\t\ttype ipv4_addr . ipv4_addr\n"
    "\t\telements = {\n"
    "\t\t\t10.244.1.2 . 10.244.1.2,\n"
    "\t\t\t10.244.2.3 . 10.244.2.3\n"
    "\t\t}\n"
    "\t}\n"
    "\tchain filter-input {\n"
    "\t\ttype filter hook input priority -110; policy accept;\n"
    "\t\tct state new jump service-endpoints-check\n"
    "\t}\n"
    "\tchain filter-forward {\n"
    "\t\ttype filter hook forward priority -110; policy accept;\n"
    "\t\tct state new jump service-endpoints-check\n"
    "\t\tct state new jump cluster-ips-check\n"
    "\t}\n"
    "\tchain filter-output {\n"
    "\t\ttype filter hook output priority -110; policy accept;\n"
    "\t\tct state new jump service-endpoints-check\n"
    "\t}\n"
    "\tchain filter-output-post-dnat {\n"
    "\t\ttype filter hook output priority -90; policy accept;\n"
    "\t\tct state new jump cluster-ips-check\n"
    "\t}\n"
    "\tchain nat-prerouting {\n"
    "\t\ttype nat hook prerouting priority -100; policy accept;\n"
    "\t\tjump services\n"
    "\t}\n"
    "\tchain nat-output {\n"
    "\t\ttype nat hook output priority -100; policy accept;\n"
    "\t\tjump services\n"
    "\t}\n"
    "\tchain nat-postrouting {\n"
    "\t\ttype nat hook postrouting priority 100; policy accept;\n"
    "\t\tjump masquerading\n"
    "\t}\n"
    "\tchain services {\n"
    "\t\tip daddr . meta l4proto . th dport vmap @service-ips\n"
    "\t}\n"
    "\tchain service-endpoints-check {\n"
    "\t\tip daddr . meta l4proto . th dport vmap @no-endpoint-services\n"
    "\t}\n"
    "\tchain cluster-ips-check {\n"
    "\t\tip daddr @cluster-ips meta l4proto tcp reject with tcp reset\n"
    "\t\tip daddr @cluster-ips reject\n"
    "\t\tip daddr 10.96.0.0/16 drop\n"
    "\t}\n"
    "\tchain reject-chain {\n"
    "\t\tmeta l4proto tcp reject with tcp reset\n"
    "\t\treject\n"
    "\t}\n"
    "\tchain mark-for-masquerade {\n"
    "\t\tmark set mark or 0x4000\n"
    "\t}\n"
    "\tchain masquerading {\n"
    "\t\tip saddr 10.244.0.0/16 ip daddr != 10.244.0.0/16 masquerade fully-random\n"
    "\t\tip saddr . ip daddr @hairpin-endpoints masquerade fully-random\n"
    "\t\tmark and 0x4000 == 0 return\n"
    "\t\tmark set mark xor 0x4000\n"
    "\t\tmasquerade fully-random\n"
    "\t}\n"
    "\tchain service-default/web/tcp/80 {\n"
    "\t\tip saddr != 10.244.0.0/16 jump mark-for-masquerade\n"
    "\t\tmeta l4proto tcp dnat ip to numgen random mod 2 map { 0 : 10.244.1.2 . 8080, 1 : "
    "10.244.2.3 . 8080 }\n"
    "\t}\n"
    "}\n";

/* Two Services: web with two ready endpoints, empty with none. */
static void test_table_golden (void)
{
    proxy_conf_t conf = s_conf ();
    const Hs__Service *web =
        s_svc ("web", "10.96.0.10", "  - {port: 80, targetPort: 8080}\n", NULL);
    const Hs__Endpoints *wep = s_eps (
        "web", "- addresses: [{ip: 10.244.2.3}, {ip: 10.244.1.2}]\n  ports: [{port: 8080}]\n");
    const Hs__Service *empty = s_svc ("empty", "10.96.0.11", "  - {port: 80}\n", NULL);
    proxy_svc_t *svcs[2] = {s_build (web, wep), s_build (empty, NULL)};
    char *text = proxy_render_table (&conf, svcs, 2);
    CHECK_EQ_STR (text, GOLDEN_TABLE);
    s_dump ("golden", text);
    free (text);
    text = proxy_render_full (&conf, svcs, 2);
    CHECK (hs_startswith (
        text, "add table ip homeostat\ndelete table ip homeostat\ntable ip homeostat {\n"));
    free (text);
    /* no Services at all: the skeleton, no empty element lists */
    text = proxy_render_table (&conf, NULL, 0);
    CHECK (strstr (text, "elements") == NULL);
    CHECK_CONTAINS (text, "chain masquerading {\n");
    s_dump ("empty", text);
    free (text);
    conf.masquerade_egress = false;
    text = proxy_render_table (&conf, svcs, 2);
    CHECK (strstr (text, "ip daddr != 10.244.0.0/16") == NULL);
    free (text);
    proxy_svc_destroy (&svcs[0]);
    proxy_svc_destroy (&svcs[1]);
    s_reset ();
}

/* UDP, several named ports, one endpoint (no numgen), ClientIP affinity. */
static void test_table_ports (void)
{
    proxy_conf_t conf = s_conf ();
    const Hs__Service *dns =
        s_svc ("kube-dns", "10.96.0.10",
               "  - {name: dns, port: 53, protocol: UDP, targetPort: 10053}\n"
               "  - {name: dns-tcp, port: 53, protocol: TCP, targetPort: 10053}\n"
               "  - {name: metrics, port: 9153}\n",
               NULL);
    const Hs__Endpoints *dep =
        s_eps ("kube-dns", "- addresses: [{ip: 172.30.0.11}]\n"
                           "  ports: [{name: dns, port: 10053, protocol: UDP},"
                           " {name: dns-tcp, port: 10053}]\n");
    const Hs__Service *sticky = s_svc (
        "sticky", "10.96.0.30", "  - {port: 80}\n",
        "  sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}\n");
    const Hs__Endpoints *sep = s_eps (
        "sticky", "- addresses: [{ip: 10.244.1.5}, {ip: 10.244.1.6}]\n  ports: [{port: 80}]\n");
    proxy_svc_t *svcs[2] = {s_build (dns, dep), s_build (sticky, sep)};
    char *text = proxy_render_table (&conf, svcs, 2);
    s_dump ("ports", text);
    CHECK_CONTAINS (text, "\t\t\t10.96.0.10 . tcp . 53 : goto service-default/kube-dns/tcp/53,\n"
                          "\t\t\t10.96.0.10 . udp . 53 : goto service-default/kube-dns/udp/53,\n");
    /* metrics has no endpoint port of its name: refused, not black-holed */
    CHECK_CONTAINS (text, "10.96.0.10 . tcp . 9153 : goto reject-chain");
    CHECK_CONTAINS (text, "\tchain service-default/kube-dns/udp/53 {\n"
                          "\t\tip saddr != 10.244.0.0/16 jump mark-for-masquerade\n"
                          "\t\tmeta l4proto udp dnat to 172.30.0.11:10053\n\t}\n");
    /* one hairpin element, though two ports use the address */
    CHECK_CONTAINS (text, "\t\telements = {\n\t\t\t172.30.0.11 . 172.30.0.11\n\t\t}\n");
    /* affinity: kube-proxy's per-endpoint chains */
    CHECK_CONTAINS (text, "\tchain endpoint-default/sticky/tcp/80__10.244.1.5/80 {\n"
                          "\t\tip saddr 10.244.1.5 jump mark-for-masquerade\n"
                          "\t\tupdate @affinity-default/sticky/tcp/80__10.244.1.5/80 { ip saddr }\n"
                          "\t\tmeta l4proto tcp dnat to 10.244.1.5:80\n");
    CHECK_CONTAINS (text, "\tset affinity-default/sticky/tcp/80__10.244.1.5/80 "
                          "{ type ipv4_addr; flags dynamic,timeout; timeout 60s; }\n");
    CHECK_CONTAINS (text, "\t\tip saddr @affinity-default/sticky/tcp/80__10.244.1.6/80 goto "
                          "endpoint-default/sticky/tcp/80__10.244.1.6/80\n");
    CHECK_CONTAINS (text,
                    "\t\tupdate @affinity-default/sticky/tcp/80__10.244.1.5/80 { ip saddr }\n");
    free (text);
    proxy_svc_destroy (&svcs[0]);
    proxy_svc_destroy (&svcs[1]);
    s_reset ();
}

/* ------------------------------------------------------------------ incremental */

static const char *GOLDEN_DIFF =
    /* pre: nothing (the map element still points at the same chain); the
     * chain rewritten; hairpin addresses are left to the caller */
    "flush chain ip homeostat service-default/web/tcp/80\n"
    "add rule ip homeostat service-default/web/tcp/80 ip saddr != 10.244.0.0/16 jump "
    "mark-for-masquerade\n"
    "add rule ip homeostat service-default/web/tcp/80 meta l4proto tcp dnat ip to numgen random "
    "mod 2 map { 0 : 10.244.1.2 . 8080, 1 : 10.244.1.4 . 8080 }\n";

static void test_diff_endpoint_change (void)
{
    proxy_conf_t conf = s_conf ();
    const Hs__Service *web =
        s_svc ("web", "10.96.0.10", "  - {port: 80, targetPort: 8080}\n", NULL);
    proxy_svc_t *old =
        s_build (web, s_eps ("web", "- addresses: [{ip: 10.244.2.3}, {ip: 10.244.1.2}]\n"
                                    "  ports: [{port: 8080}]\n"));
    proxy_svc_t *new =
        s_build (web, s_eps ("web", "- addresses: [{ip: 10.244.1.4}, {ip: 10.244.1.2}]\n"
                                    "  ports: [{port: 8080}]\n"));
    proxy_diff_t d = {0};
    proxy_diff_service (&d, &conf, old, new);
    char *text = proxy_diff_text (&d);
    CHECK_EQ_STR (text, GOLDEN_DIFF);
    CHECK_EQ_INT (d.n_stale, 0);
    CHECK_EQ_INT (d.n_hairpin_del, 1);
    CHECK_EQ_INT (d.n_hairpin_add, 1);
    char ip[16];
    if (d.n_hairpin_del) CHECK_EQ_STR (hs_ip_format (d.hairpin_del[0], ip), "10.244.2.3");
    if (d.n_hairpin_add) CHECK_EQ_STR (hs_ip_format (d.hairpin_add[0], ip), "10.244.1.4");
    hs_buf_t hb = {0};
    proxy_render_hairpin (&hb, d.hairpin_add[0], true);
    CHECK_EQ_STR (hb.data,
                  "add element ip homeostat hairpin-endpoints { 10.244.1.4 . 10.244.1.4 }\n");
    hs_buf_free (&hb);
    free (text);
    proxy_diff_clear (&d);
    /* with ClientIP affinity: per-endpoint chains; the one left goes stale */
    const Hs__Service *sticky = s_svc ("web", "10.96.0.10", "  - {port: 80, targetPort: 8080}\n",
                                       "  sessionAffinity: ClientIP\n");
    proxy_svc_t *so =
        s_build (sticky, s_eps ("web", "- addresses: [{ip: 10.244.2.3}, {ip: 10.244.1.2}]\n"
                                       "  ports: [{port: 8080}]\n"));
    proxy_svc_t *sn =
        s_build (sticky, s_eps ("web", "- addresses: [{ip: 10.244.1.4}, {ip: 10.244.1.2}]\n"
                                       "  ports: [{port: 8080}]\n"));
    proxy_diff_service (&d, &conf, so, sn);
    text = proxy_diff_text (&d);
    s_dump ("diff-affinity", text);
    CHECK (hs_startswith (text,
                          "add set ip homeostat affinity-default/web/tcp/80__10.244.1.4/8080 "
                          "{ type ipv4_addr; flags dynamic,timeout; timeout 10800s; }\n"
                          "add chain ip homeostat endpoint-default/web/tcp/80__10.244.1.4/8080\n"));
    CHECK_CONTAINS (text,
                    "flush chain ip homeostat endpoint-default/web/tcp/80__10.244.2.3/8080\n");
    CHECK_EQ_INT (d.n_hairpin_add + d.n_hairpin_del, 0);
    CHECK_EQ_INT (d.n_stale, 2);
    if (d.n_stale == 2) {
        CHECK_EQ_STR (d.stale[0], "set affinity-default/web/tcp/80__10.244.2.3/8080");
        CHECK_EQ_STR (d.stale[1], "chain endpoint-default/web/tcp/80__10.244.2.3/8080");
        CHECK (!proxy_svc_has (sn, d.stale[1]));
        CHECK (proxy_svc_has (so, d.stale[1]));
        CHECK (proxy_svc_has (so, d.stale[0]));
        _cleanup_free_ char *del = proxy_render_delete (d.stale[1]);
        CHECK_EQ_STR (del,
                      "delete chain ip homeostat endpoint-default/web/tcp/80__10.244.2.3/8080\n");
    }
    free (text);
    proxy_diff_clear (&d);
    proxy_svc_destroy (&so);
    proxy_svc_destroy (&sn);
    /* unchanged: nothing at all */
    proxy_diff_service (&d, &conf, new, new);
    CHECK (proxy_diff_text (&d) == NULL);
    CHECK_EQ_INT (d.changed, 0);
    proxy_diff_clear (&d);
    proxy_svc_destroy (&old);
    proxy_svc_destroy (&new);
    s_reset ();
}

static void test_diff_add_remove (void)
{
    proxy_conf_t conf = s_conf ();
    const Hs__Service *web = s_svc ("web", "10.96.0.10", "  - {port: 80}\n", NULL);
    proxy_svc_t *a =
        s_build (web, s_eps ("web", "- addresses: [{ip: 10.244.1.2}]\n  ports: [{port: 80}]\n"));
    proxy_svc_t *none = s_build (web, NULL);
    proxy_diff_t d = {0};
    /* appears: chains, then elements */
    proxy_diff_service (&d, &conf, NULL, a);
    char *text = proxy_diff_text (&d);
    s_dump ("diff-add", text);
    CHECK_CONTAINS (text, "add chain ip homeostat service-default/web/tcp/80\n");
    CHECK_CONTAINS (text, "add element ip homeostat cluster-ips { 10.96.0.10 }\n");
    CHECK_CONTAINS (text, "add element ip homeostat service-ips { 10.96.0.10 . tcp . 80 : goto "
                          "service-default/web/tcp/80 }\n");
    CHECK (strstr (text, "add chain ip homeostat service") < strstr (text, "add rule"));
    free (text);
    proxy_diff_clear (&d);
    /* loses its endpoints: element moves maps (delete first), chains flushed */
    proxy_diff_service (&d, &conf, a, none);
    text = proxy_diff_text (&d);
    CHECK (hs_startswith (text,
                          "delete element ip homeostat service-ips { 10.96.0.10 . tcp . 80 }\n"));
    CHECK_CONTAINS (text, "add element ip homeostat no-endpoint-services { 10.96.0.10 . tcp . 80 : "
                          "goto reject-chain }\n");
    CHECK_CONTAINS (text, "flush chain ip homeostat service-default/web/tcp/80\n");
    CHECK (strstr (text, "cluster-ips") == NULL);
    CHECK_EQ_INT (d.n_stale, 1);
    CHECK_EQ_INT (d.n_hairpin_del, 1);
    free (text);
    proxy_diff_clear (&d);
    /* goes: every element deleted */
    proxy_diff_service (&d, &conf, a, NULL);
    text = proxy_diff_text (&d);
    CHECK_CONTAINS (text, "delete element ip homeostat cluster-ips { 10.96.0.10 }\n");
    CHECK (strstr (text, "add ") == NULL);
    free (text);
    proxy_diff_clear (&d);
    proxy_svc_destroy (&a);
    proxy_svc_destroy (&none);
    s_reset ();
}

typedef struct {
    int n;
    uint32_t cip, ep;
    uint16_t port;
} s_gone_t;

static void s_on_gone (void *arg, uint32_t cip, uint16_t port, uint32_t ep)
{
    s_gone_t *g = arg;
    g->n++;
    g->cip = cip;
    g->port = port;
    g->ep = ep;
}

static void test_udp_gone (void)
{
    const Hs__Service *dns =
        s_svc ("dns", "10.96.0.10",
               "  - {name: u, port: 53, protocol: UDP}\n  - {name: t, port: 53}\n", NULL);
    proxy_svc_t *two = s_build (
        dns, s_eps ("dns", "- addresses: [{ip: 10.244.1.2}, {ip: 10.244.1.3}]\n"
                           "  ports: [{name: u, port: 53, protocol: UDP}, {name: t, port: 53}]\n"));
    proxy_svc_t *one = s_build (
        dns, s_eps ("dns", "- addresses: [{ip: 10.244.1.2}]\n"
                           "  ports: [{name: u, port: 53, protocol: UDP}, {name: t, port: 53}]\n"));
    s_gone_t g = {0};
    /* 10.244.1.3 left UDP 53 (its TCP entry is not ours to touch) */
    CHECK_EQ_INT (proxy_udp_gone (two, one, s_on_gone, &g), 1);
    CHECK_EQ_INT (g.n, 1);
    char ip[16];
    CHECK_EQ_STR (hs_ip_format (g.ep, ip), "10.244.1.3");
    CHECK_EQ_STR (hs_ip_format (g.cip, ip), "10.96.0.10");
    CHECK_EQ_INT (g.port, 53);
    CHECK_EQ_INT (proxy_udp_gone (one, two, NULL, NULL), 0);
    CHECK_EQ_INT (proxy_udp_gone (two, NULL, NULL, NULL), 2);
    CHECK_EQ_INT (proxy_udp_gone (NULL, two, NULL, NULL), 0);
    proxy_svc_destroy (&two);
    proxy_svc_destroy (&one);
    s_reset ();
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"model_ready_only", test_model_ready_only},
        {"model_headless_and_bad", test_model_headless_and_bad},
        {"table_golden", test_table_golden},
        {"table_ports", test_table_ports},
        {"diff_endpoint_change", test_diff_endpoint_change},
        {"diff_add_remove", test_diff_add_remove},
        {"udp_gone", test_udp_gone},
    };
    return HS_TEST_RUN (tests);
}
