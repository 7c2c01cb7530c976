/*  test_quantity.c: Kubernetes quantities (bus/hs_quantity). */
#include "hs_quantity.h"
#include "hs_test.h"

#include <errno.h>
#include <stdlib.h>

static void test_cpu (void)
{
    struct {
        const char *s;
        int64_t milli;
    } ok[] = {{"500m", 500},    {"2", 2000},      {"0.5", 500}, {"1.25", 1250}, {".5", 500},
              {"1.", 1000},     {"+1", 1000},     {"0", 0},     {"100u", 1},    {"1n", 1},
              {"1k", 1000000},  {"1e3", 1000000}, {"1E-3", 1},  {"2e0", 2000},  {"0.0001", 1},
              {"1Ki", 1024000}, {"007", 7000}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t v = -1;
        int r = hs_quantity_cpu_milli (ok[i].s, &v);
        if (r != 0 || v != ok[i].milli)
            fprintf (stderr, "  cpu %s -> r=%d v=%lld (want %lld)\n", ok[i].s, r, (long long)v,
                     (long long)ok[i].milli);
        CHECK_EQ_INT (r, 0);
        CHECK_EQ_INT (v, ok[i].milli);
    }
    const char *bad[] = {"",     "-1", "abc", "1x",  "1.2.3", " 1", "1 ", "m",   "1mm",
                         "1Ki ", "1e", "1e+", "1ki", "1Xi",   ".",  "+",  "--1", "1e3m"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v = 42;
        int r = hs_quantity_cpu_milli (bad[i], &v);
        if (r != -EINVAL) fprintf (stderr, "  cpu \"%s\" -> r=%d (want -EINVAL)\n", bad[i], r);
        CHECK_EQ_INT (r, -EINVAL);
        CHECK_EQ_INT (v, 42); /* untouched on error */
    }
    int64_t v;
    CHECK_EQ_INT (hs_quantity_cpu_milli ("10E", &v), -ERANGE);
    CHECK_EQ_INT (hs_quantity_cpu_milli ("1e100", &v), -ERANGE);
    CHECK_EQ_INT (hs_quantity_cpu_milli ("1e101", &v), -ERANGE);
    CHECK_EQ_INT (hs_quantity_cpu_milli ("123456789012345678901", &v), -ERANGE);
    CHECK_EQ_INT (hs_quantity_cpu_milli (NULL, &v), -EINVAL);
}

static void test_bytes (void)
{
    struct {
        const char *s;
        int64_t bytes;
    } ok[] = {{"64Mi", 64LL << 20}, {"1Gi", 1LL << 30},
              {"1G", 1000000000},   {"128974848", 128974848},
              {"129e6", 129000000}, {"123Ki", 123 * 1024},
              {"1k", 1000},         {"1.5Gi", 3LL << 29},
              {"0.5", 1}, /* rounds up, like Kubernetes' Value() */
              {"1Ei", 1LL << 60},   {"7Ei", 7LL << 60},
              {"500m", 1},          {"9223372036854775807", INT64_MAX}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t v = -1;
        int r = hs_quantity_bytes (ok[i].s, &v);
        if (r != 0 || v != ok[i].bytes)
            fprintf (stderr, "  bytes %s -> r=%d v=%lld\n", ok[i].s, r, (long long)v);
        CHECK_EQ_INT (r, 0);
        CHECK_EQ_INT (v, ok[i].bytes);
    }
    int64_t v;
    CHECK_EQ_INT (hs_quantity_bytes ("8Ei", &v), -ERANGE);
    CHECK_EQ_INT (hs_quantity_bytes ("9223372036854775808", &v), -ERANGE);
    CHECK_EQ_INT (hs_quantity_bytes ("10E", &v), -ERANGE);
    CHECK_EQ_INT (hs_quantity_bytes ("-64Mi", &v), -EINVAL);
    CHECK_EQ_INT (hs_quantity_bytes ("64MB", &v), -EINVAL);
    CHECK_EQ_INT (hs_quantity_bytes ("64mi", &v), -EINVAL);
    CHECK_EQ_INT (hs_quantity_count ("110", &v), 0);
    CHECK_EQ_INT (v, 110);
    CHECK_EQ_INT (hs_quantity_count ("x", &v), -EINVAL);
}

static void test_format (void)
{
    struct {
        int64_t v;
        const char *cpu;
    } cpus[] = {{500, "500m"}, {2000, "2"}, {0, "0"}, {1500, "1500m"}, {1, "1m"}};
    for (size_t i = 0; i < sizeof cpus / sizeof cpus[0]; i++) {
        char *s = hs_quantity_fmt_cpu (cpus[i].v);
        CHECK_EQ_STR (s, cpus[i].cpu);
        free (s);
    }
    struct {
        int64_t v;
        const char *s;
    } mem[] = {{64LL << 20, "64Mi"}, {1LL << 30, "1Gi"},    {1000, "1000"}, {0, "0"},
               {1536, "1536"},       {3LL << 29, "1536Mi"}, {2048, "2Ki"},  {1LL << 60, "1Ei"}};
    for (size_t i = 0; i < sizeof mem / sizeof mem[0]; i++) {
        char *s = hs_quantity_fmt_bytes (mem[i].v);
        CHECK_EQ_STR (s, mem[i].s);
        /* What we print parses back to the same amount. */
        int64_t back = -1;
        CHECK_EQ_INT (hs_quantity_bytes (s, &back), 0);
        CHECK_EQ_INT (back, mem[i].v);
        free (s);
    }
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"cpu", test_cpu},
        {"bytes", test_bytes},
        {"format", test_format},
    };
    return HS_TEST_RUN (tests);
}
