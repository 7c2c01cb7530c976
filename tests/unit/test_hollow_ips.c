/*  test_hollow_ips.c: the fake pod IPs of hollow nodes
 *  (agents/hollow/hollow_ips): .2 upward inside the podCIDR, the lowest
 *  free first, never network, gateway or broadcast, full, adopted ones.
 */
#include "hollow_ips.h"
#include "hs_test.h"
#include "hs_util.h"

#include <errno.h>

static uint32_t s_ip (const char *s)
{
    uint32_t ip = 0;
    CHECK_EQ_INT (hs_ip_parse (s, &ip), 0);
    return ip;
}

static void test_take_put (void)
{
    hollow_ips_t *set = NULL;
    hs_cidr_t c;
    CHECK_EQ_INT (hs_cidr_parse ("10.244.3.0/29", &c), 0); /* .2 .. .6 */
    uint32_t ip;
    const char *want[] = {"10.244.3.2", "10.244.3.3", "10.244.3.4", "10.244.3.5", "10.244.3.6"};
    for (size_t i = 0; i < HS_ARRAY_LEN (want); i++) {
        CHECK_EQ_INT (hollow_ips_take (&set, &c, &ip), 0);
        CHECK_EQ_INT (ip, s_ip (want[i]));
    }
    CHECK_EQ_INT (hollow_ips_take (&set, &c, &ip), -ENOSPC); /* .7 is the broadcast */
    CHECK_EQ_INT (hollow_ips_count (set), 5);
    hollow_ips_put (&set, s_ip ("10.244.3.4"));
    hollow_ips_put (&set, s_ip ("10.244.3.3"));
    hollow_ips_put (&set, s_ip ("10.244.9.9")); /* not held: nothing */
    CHECK_EQ_INT (hollow_ips_take (&set, &c, &ip), 0);
    CHECK_EQ_INT (ip, s_ip ("10.244.3.3")); /* the lowest freed one */
    CHECK_EQ_INT (hollow_ips_take (&set, &c, &ip), 0);
    CHECK_EQ_INT (ip, s_ip ("10.244.3.4"));
    CHECK_EQ_INT (hollow_ips_take (&set, &c, &ip), -ENOSPC);
    for (size_t i = 0; i < HS_ARRAY_LEN (want); i++) hollow_ips_put (&set, s_ip (want[i]));
    CHECK (set == NULL); /* empty: freed */
    /* a /31 or /32 has no room */
    CHECK_EQ_INT (hs_cidr_parse ("10.244.3.0/31", &c), 0);
    CHECK_EQ_INT (hollow_ips_take (&set, &c, &ip), -ENOSPC);
}

static void test_hold (void)
{
    hollow_ips_t *set = NULL;
    hs_cidr_t c;
    CHECK_EQ_INT (hs_cidr_parse ("10.244.1.0/24", &c), 0);
    /* adopted after a restart: .2 and .4 are taken, and one outside */
    hollow_ips_hold (&set, s_ip ("10.244.1.4"));
    hollow_ips_hold (&set, s_ip ("10.244.1.2"));
    hollow_ips_hold (&set, s_ip ("10.244.1.2"));
    hollow_ips_hold (&set, s_ip ("127.0.0.1"));
    CHECK_EQ_INT (hollow_ips_count (set), 3);
    uint32_t ip;
    CHECK_EQ_INT (hollow_ips_take (&set, &c, &ip), 0);
    CHECK_EQ_INT (ip, s_ip ("10.244.1.3"));
    CHECK_EQ_INT (hollow_ips_take (&set, &c, &ip), 0);
    CHECK_EQ_INT (ip, s_ip ("10.244.1.5"));
    /* many: all distinct, in order, up to .254 */
    for (int i = 6; i <= 254; i++) {
        CHECK_EQ_INT (hollow_ips_take (&set, &c, &ip), 0);
        CHECK_EQ_INT (ip, s_ip ("10.244.1.0") + (uint32_t)i);
    }
    CHECK_EQ_INT (hollow_ips_take (&set, &c, &ip), -ENOSPC);
    hollow_ips_free (&set);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"take_put", test_take_put},
        {"hold", test_hold},
    };
    return HS_TEST_RUN (tests);
}
