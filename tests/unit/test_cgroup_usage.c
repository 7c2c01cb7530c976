/*  test_cgroup_usage.c: a group's resource usage (hs_cg_usage_v1/_v2 of
 *  agents/node/cgroup.h) over fake cgroup trees in a temp dir, v1 and v2:
 *  the files the kernel writes, their absence, and garbage in them. Runs
 *  without root (test_cgroup.c reads real groups as root). */
#include "cgroup.h"
#include "hs_test.h"
#include "hs_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *s_dir;

static void s_put (const char *group, const char *file, const char *text)
{
    _cleanup_free_ char *d = hs_sprintf ("%s/%s", s_dir, group);
    hs_mkdir_p (d, 0700);
    _cleanup_free_ char *p = hs_sprintf ("%s/%s", d, file);
    FILE *f = fopen (p, "w");
    CHECK (f != NULL);
    if (!f) return;
    fputs (text, f);
    fclose (f);
}

static char *s_group (const char *group)
{
    return hs_sprintf ("%s/%s", s_dir, group);
}

/* A v1 memory.stat as the kernel writes it (abridged, the totals last). */
static const char s_v1_stat[] = "cache 4096\nrss 1048576\nrss_huge 0\nshmem 0\nmapped_file 0\n"
                                "inactive_anon 0\nactive_anon 1048576\ninactive_file 8192\n"
                                "active_file 4096\nhierarchical_memory_limit 33554432\n"
                                "total_cache 409600\ntotal_rss 1048576\n"
                                "total_inactive_file 307200\ntotal_active_file 102400\n";

static void test_v1 (void)
{
    s_put ("v1cpu/c1", "cpuacct.usage", "123456789\n");
    s_put ("v1mem/c1", "memory.usage_in_bytes", "2097152\n");
    s_put ("v1mem/c1", "memory.stat", s_v1_stat);
    s_put ("v1mem/c1", "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
    _cleanup_free_ char *cpu = s_group ("v1cpu/c1"), *mem = s_group ("v1mem/c1");
    hs_cg_usage_t u;
    CHECK_EQ_INT (hs_cg_usage_v1 (cpu, mem, &u), 0);
    CHECK_EQ_INT (u.have, HS_CG_HAVE_CPU | HS_CG_HAVE_MEMORY | HS_CG_HAVE_OOM);
    CHECK_EQ_INT (u.cpu_ns, 123456789);
    CHECK_EQ_INT (u.memory_usage, 2097152);
    /* total_inactive_file, not the group's own inactive_file */
    CHECK_EQ_INT (u.working_set, 2097152 - 307200);
    CHECK_EQ_INT (u.oom_kills, 2);

    /* a kernel before 4.13: no oom_kill line, no OOM figure */
    s_put ("v1mem/c2", "memory.usage_in_bytes", "100\n");
    s_put ("v1mem/c2", "memory.stat", "total_inactive_file 4096\n");
    s_put ("v1mem/c2", "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\n");
    _cleanup_free_ char *mem2 = s_group ("v1mem/c2");
    CHECK_EQ_INT (hs_cg_usage_v1 (NULL, mem2, &u), 0);
    CHECK_EQ_INT (u.have, HS_CG_HAVE_MEMORY);
    CHECK_EQ_INT (u.memory_usage, 100);
    CHECK_EQ_INT (u.working_set, 0); /* floored: inactive file above usage */

    /* no cpuacct hierarchy given, and a cpuacct group without its file */
    _cleanup_free_ char *none = s_group ("v1cpu/none");
    hs_mkdir_p (none, 0700);
    CHECK_EQ_INT (hs_cg_usage_v1 (none, mem, &u), 0);
    CHECK_EQ_INT (u.have, HS_CG_HAVE_MEMORY | HS_CG_HAVE_OOM);
    CHECK_EQ_INT (u.cpu_ns, 0);
    /* nothing at all: the group is not there */
    _cleanup_free_ char *gone = s_group ("v1mem/gone");
    CHECK_EQ_INT (hs_cg_usage_v1 (none, gone, &u), -ENOENT);
    CHECK_EQ_INT (hs_cg_usage_v1 (NULL, NULL, &u), -ENOENT);
    /* memory.stat missing: the working set is the usage */
    s_put ("v1mem/c3", "memory.usage_in_bytes", "5000\n");
    _cleanup_free_ char *mem3 = s_group ("v1mem/c3");
    CHECK_EQ_INT (hs_cg_usage_v1 (NULL, mem3, &u), 0);
    CHECK_EQ_INT (u.working_set, 5000);
}

static const char s_v2_stat[] = "anon 1048576\nfile 409600\nkernel_stack 16384\n"
                                "active_anon 1048576\ninactive_anon 0\nactive_file 102400\n"
                                "inactive_file 307200\nworkingset_refault_file 0\n";

static void test_v2 (void)
{
    s_put ("v2/c1", "cpu.stat",
           "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 0\n");
    s_put ("v2/c1", "memory.current", "2097152\n");
    s_put ("v2/c1", "memory.stat", s_v2_stat);
    s_put ("v2/c1", "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n");
    _cleanup_free_ char *g = s_group ("v2/c1");
    hs_cg_usage_t u;
    CHECK_EQ_INT (hs_cg_usage_v2 (g, &u), 0);
    CHECK_EQ_INT (u.have, HS_CG_HAVE_CPU | HS_CG_HAVE_MEMORY | HS_CG_HAVE_OOM);
    CHECK_EQ_INT (u.cpu_ns, 2500000000ULL);
    CHECK_EQ_INT (u.memory_usage, 2097152);
    CHECK_EQ_INT (u.working_set, 2097152 - 307200);
    CHECK_EQ_INT (u.oom_kills, 1);

    /* cpu.stat alone (memory not enabled in the subtree) */
    s_put ("v2/c2", "cpu.stat", "usage_usec 7\n");
    _cleanup_free_ char *g2 = s_group ("v2/c2");
    CHECK_EQ_INT (hs_cg_usage_v2 (g2, &u), 0);
    CHECK_EQ_INT (u.have, HS_CG_HAVE_CPU);
    CHECK_EQ_INT (u.cpu_ns, 7000);
    _cleanup_free_ char *gone = s_group ("v2/gone");
    CHECK_EQ_INT (hs_cg_usage_v2 (gone, &u), -ENOENT);
}

static void test_garbage (void)
{
    hs_cg_usage_t u;
    const char *bad_cpu[] = {"", "x\n", "-1\n", "12 34\n", "99999999999999999999999\n"};
    for (size_t i = 0; i < HS_ARRAY_LEN (bad_cpu); i++) {
        s_put ("bad1/c", "cpuacct.usage", bad_cpu[i]);
        _cleanup_free_ char *g = s_group ("bad1/c");
        CHECK_EQ_INT (hs_cg_usage_v1 (g, NULL, &u), -EBADMSG);
    }
    const char *bad_stat[] = {"usage_usec\n", "usage_usec x\n", "usage_usec -5\n",
                              "usage_usec 18446744073709552\n"};
    for (size_t i = 0; i < HS_ARRAY_LEN (bad_stat); i++) {
        s_put ("bad2/c", "cpu.stat", bad_stat[i]);
        _cleanup_free_ char *g = s_group ("bad2/c");
        int r = hs_cg_usage_v2 (g, &u);
        /* "usage_usec\n" has no "usage_usec " line: no CPU figure, no error */
        if (i == 0) {
            CHECK_EQ_INT (r, 0);
            CHECK_EQ_INT (u.have, 0);
        } else
            CHECK_EQ_INT (r, -EBADMSG);
    }
    s_put ("bad3/c", "memory.current", "1000\n");
    s_put ("bad3/c", "memory.stat", "inactive_file lots\n");
    _cleanup_free_ char *g3 = s_group ("bad3/c");
    CHECK_EQ_INT (hs_cg_usage_v2 (g3, &u), -EBADMSG);
    s_put ("bad4/c", "memory.current", "max\n");
    _cleanup_free_ char *g4 = s_group ("bad4/c");
    CHECK_EQ_INT (hs_cg_usage_v2 (g4, &u), -EBADMSG);
    /* a longer memory.stat than a page: the key is still found */
    hs_buf_t b = {0};
    for (int i = 0; i < 400; i++) hs_buf_printf (&b, "padding_%d 1\n", i);
    hs_buf_printf (&b, "inactive_file 100\n");
    hs_buf_append (&b, "", 0);
    s_put ("big/c", "memory.current", "1000\n");
    s_put ("big/c", "memory.stat", b.data);
    hs_buf_free (&b);
    _cleanup_free_ char *g5 = s_group ("big/c");
    CHECK_EQ_INT (hs_cg_usage_v2 (g5, &u), 0);
    CHECK_EQ_INT (u.working_set, 900);
}

int main (int argc, char **argv)
{
    s_dir = hs_test_tmpdir ();
    static const hs_test_t tests[] = {
        {"v1", test_v1},
        {"v2", test_v2},
        {"garbage", test_garbage},
    };
    return HS_TEST_RUN (tests);
}
