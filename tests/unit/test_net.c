/*  test_net.c: hs_net, the cluster's address plan. */
#include "hs_net.h"
#include "hs_test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void test_cidr_parse (void)
{
    hs_cidr_t c;
    CHECK_EQ_INT (hs_cidr_parse ("10.244.0.0/16", &c), 0);
    CHECK_EQ_INT (c.prefix, 16);
    CHECK_EQ_INT (c.addr, 0x0af40000);
    char *s = hs_cidr_format (&c);
    CHECK_EQ_STR (s, "10.244.0.0/16");
    free (s);
    CHECK_EQ_INT (hs_cidr_parse ("0.0.0.0/0", &c), 0);
    CHECK_EQ_INT (hs_cidr_parse ("10.0.0.1/32", &c), 0);
    CHECK_EQ_INT (hs_cidr_parse ("10.244.0.1/16", &c), -EINVAL); /* host bits */
    CHECK_EQ_INT (hs_cidr_parse ("10.244.0.0/33", &c), -EINVAL);
    CHECK_EQ_INT (hs_cidr_parse ("10.244.0.0/", &c), -EINVAL);
    CHECK_EQ_INT (hs_cidr_parse ("10.244.0.0", &c), -EINVAL);
    CHECK_EQ_INT (hs_cidr_parse ("/16", &c), -EINVAL);
    CHECK_EQ_INT (hs_cidr_parse ("10.244.0.0/1x", &c), -EINVAL);
    CHECK_EQ_INT (hs_cidr_parse ("10.244.0.0/016", &c), -EINVAL);
    CHECK_EQ_INT (hs_cidr_parse ("300.0.0.0/8", &c), -EINVAL);
    CHECK_EQ_INT (hs_cidr_parse ("1234567890123456/8", &c), -EINVAL);
    CHECK_EQ_INT (hs_cidr_parse (NULL, &c), -EINVAL);
}

static void test_cidr_math (void)
{
    hs_cidr_t a, b;
    hs_cidr_parse ("10.96.0.0/16", &a);
    uint32_t ip;
    CHECK_EQ_INT (hs_ip_parse ("10.96.3.4", &ip), 0);
    CHECK (hs_cidr_contains (&a, ip));
    CHECK_EQ_INT (hs_ip_parse ("10.97.0.1", &ip), 0);
    CHECK (!hs_cidr_contains (&a, ip));
    CHECK_EQ_INT (hs_ip_parse ("10.97.0", &ip), -EINVAL);
    CHECK_EQ_INT (hs_cidr_size (&a), 65536);
    char buf[16];
    CHECK_EQ_STR (hs_ip_format (hs_cidr_nth (&a, 10), buf), "10.96.0.10");
    hs_cidr_parse ("10.0.0.0/8", &b);
    CHECK (hs_cidr_overlaps (&a, &b));
    CHECK (hs_cidr_overlaps (&b, &a));
    hs_cidr_parse ("10.244.0.0/16", &b);
    CHECK (!hs_cidr_overlaps (&a, &b));
}

static void test_conf (void)
{
    hs_net_conf_t c;
    hs_net_conf_default (&c);
    const char *why = NULL;
    CHECK_EQ_INT (hs_net_conf_check (&c, &why), 0);
    char buf[16];
    CHECK_EQ_STR (hs_ip_format (hs_net_dns_ip (&c), buf), "10.96.0.10");
    CHECK_EQ_INT (hs_net_node_slots (&c), 256);
    hs_cidr_t n = hs_net_node_cidr (&c, 3);
    char *s = hs_cidr_format (&n);
    CHECK_EQ_STR (s, "10.244.3.0/24");
    free (s);
    CHECK_EQ_STR (c.domain, "cluster.local");

    CHECK_EQ_INT (hs_net_flag (&c, "cluster-cidr", "10.1.0.0/16", &why), 0);
    CHECK_EQ_INT (hs_net_flag (&c, "cluster-cidr", "10.1.0.1/16", &why), -EINVAL);
    CHECK (why != NULL);
    CHECK_EQ_INT (hs_net_flag (&c, "node-cidr-mask-size", "31", &why), -EINVAL);
    CHECK_EQ_INT (hs_net_flag (&c, "node-cidr-mask-size", "2x", &why), -EINVAL);
    CHECK_EQ_INT (hs_net_flag (&c, "node-cidr-mask-size", "26", &why), 0);
    CHECK_EQ_INT (hs_net_node_slots (&c), 1024);
    CHECK_EQ_INT (hs_net_flag (&c, "cluster-domain", "Bad..domain", &why), -EINVAL);
    CHECK_EQ_INT (hs_net_flag (&c, "cluster-domain", "corp.example", &why), 0);
    CHECK_EQ_INT (hs_net_flag (&c, "no-such", "1", &why), -ENOENT);
    CHECK_EQ_INT (hs_net_conf_check (&c, &why), 0);
    CHECK_EQ_INT (hs_net_flag (&c, "service-cidr", "10.1.128.0/20", &why), 0);
    CHECK_EQ_INT (hs_net_conf_check (&c, &why), -EINVAL); /* overlaps the cluster CIDR */
    CHECK_EQ_INT (hs_net_flag (&c, "service-cidr", "10.96.0.0/28", &why), 0);
    CHECK_EQ_INT (hs_net_conf_check (&c, &why), -EINVAL); /* .10 not kept apart */
    CHECK_EQ_INT (hs_net_flag (&c, "service-cidr", "10.96.0.0/27", &why), 0);
    CHECK_EQ_INT (hs_net_conf_check (&c, &why), 0);
    char longd[120];
    memset (longd, 'a', sizeof longd - 1);
    longd[sizeof longd - 1] = '\0';
    longd[50] = '.';
    CHECK_EQ_INT (hs_net_flag (&c, "cluster-domain", longd, &why), -EINVAL); /* 119 > 100 */
    longd[101] = '\0';
    CHECK_EQ_INT (hs_net_flag (&c, "cluster-domain", longd, &why), -EINVAL);
    longd[100] = '\0';
    CHECK_EQ_INT (hs_net_flag (&c, "cluster-domain", longd, &why), 0);
    CHECK_EQ_INT (hs_net_flag (&c, "service-cidr", "10.96.0.0/24", &why), 0);
    CHECK_EQ_INT (hs_net_flag (&c, "node-cidr-mask-size", "8", &why), 0);
    CHECK_EQ_INT (hs_net_conf_check (&c, &why), -EINVAL); /* shorter than the cluster's /16 */
}

int main (int argc, char **argv)
{
    hs_test_t tests[] = {
        {"cidr_parse", test_cidr_parse},
        {"cidr_math", test_cidr_math},
        {"conf", test_conf},
    };
    return HS_TEST_RUN (tests);
}
