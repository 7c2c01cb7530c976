/*  test_ctl_top.c: `hsctl top`'s tables, cell for cell as kubectl 1.32
 *  prints them (tools/hsctl/ctl_top_fmt.c, issue 18): tabwriter padding
 *  (every column, the last too, padded to its widest cell + 3, at least
 *  6), millicores rounded up, MiB rounded down, sorting, <unknown> nodes. */
#include "ctl_fmt.h"
#include "hs_test.h"

#include <stdlib.h>
#include <string.h>

#define MI (1024LL * 1024)

static void test_pods (void)
{
    ctl_top_row_t rows[] = {
        {.ns = "default", .pod = "web", .name = "web", .nanocores = 250000001, .ws_bytes = 12 * MI},
        {.ns = "default", .pod = "busy", .name = "busy", .nanocores = 1000000000, .ws_bytes = MI},
    };
    char *t = ctl_top_pods_text (rows, 2, false, false, false, NULL, false);
    CHECK_EQ_STR (t, "NAME   CPU(cores)   MEMORY(bytes)   \n"
                     "busy   1000m        1Mi             \n"
                     "web    251m         12Mi            \n");
    free (t);
    t = ctl_top_pods_text (rows, 2, false, false, true, "memory", false);
    CHECK_EQ_STR (t, "web    251m    12Mi   \n"
                     "busy   1000m   1Mi    \n");
    free (t);
    t = ctl_top_pods_text (rows, 2, true, false, false, "cpu", false);
    CHECK_EQ_STR (t, "NAMESPACE   NAME   CPU(cores)   MEMORY(bytes)   \n"
                     "default     busy   1000m        1Mi             \n"
                     "default     web    251m         12Mi            \n");
    free (t);
    t = ctl_top_pods_text (rows, 2, false, false, false, NULL, true);
    CHECK_EQ_STR (t, "NAME   CPU(cores)   MEMORY(bytes)   \n"
                     "busy   1000m        1Mi             \n"
                     "web    251m         12Mi            \n"
                     "       ________     ________        \n"
                     "       1251m        13Mi            \n");
    free (t);
    t = ctl_top_pods_text (rows, 0, false, false, false, NULL, false);
    CHECK_EQ_STR (t, "");
    free (t);
}

static void test_containers (void)
{
    /* the pod's total orders pods; containers by name within it */
    ctl_top_row_t rows[] = {
        {.ns = "a", .pod = "p1", .name = "side", .nanocores = 1000000},
        {.ns = "a", .pod = "p2", .name = "main", .nanocores = 3000000},
        {.ns = "a", .pod = "p1", .name = "main", .nanocores = 5000000},
    };
    char *t = ctl_top_pods_text (rows, 3, false, true, false, "cpu", false);
    CHECK_EQ_STR (t, "POD   NAME   CPU(cores)   MEMORY(bytes)   \n"
                     "p1    main   5m           0Mi             \n"
                     "p1    side   1m           0Mi             \n"
                     "p2    main   3m           0Mi             \n");
    free (t);
}

static void test_nodes (void)
{
    ctl_top_row_t rows[] = {
        {.name = "n2", .unknown = true},
        {.name = "worker-1",
         .nanocores = 1500000000,
         .ws_bytes = 1024 * MI,
         .alloc_cpu_milli = 2000,
         .alloc_mem_bytes = 3 * 1024 * MI},
        {.name = "a", .nanocores = 1, .ws_bytes = 5 * MI, .alloc_cpu_milli = 0},
    };
    char *t = ctl_top_nodes_text (rows, 3, false, NULL);
    CHECK_EQ_STR (t, "NAME       CPU(cores)   CPU(%)      MEMORY(bytes)   MEMORY(%)   \n"
                     "a          1m           0%          5Mi             0%          \n"
                     "worker-1   1500m        75%         1024Mi          33%         \n"
                     "n2         <unknown>    <unknown>   <unknown>       <unknown>   \n");
    free (t);
    t = ctl_top_nodes_text (rows, 3, true, "cpu");
    CHECK (strncmp (t, "worker-1", 8) == 0);
    free (t);
    /* nothing known: kubectl prints nothing (and says why itself) */
    t = ctl_top_nodes_text (rows, 1, false, NULL);
    CHECK_EQ_STR (t, "");
    free (t);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"pods", test_pods},
        {"containers", test_containers},
        {"nodes", test_nodes},
    };
    return HS_TEST_RUN (tests);
}
