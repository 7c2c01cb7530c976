/*  hs_test.h: a tiny test harness shared by the unit tests.
 *
 *  CHECK(cond) records a failure and goes on; CHECK_EQ_INT / CHECK_EQ_STR print
 *  both sides. hs_test_main runs the listed tests and returns non-zero if any
 *  check failed. hs_test_tmpdir makes a temp dir removed at exit;
 *  hs_test_spawn starts a built binary (from $HS_BIN) killed at exit.
 */
#ifndef HS_TEST_H
#define HS_TEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

extern int hs_test_failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf (stderr, "  FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                     \
            hs_test_failures++;                                                                    \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long _a = (long long)(a), _b = (long long)(b);                                        \
        if (_a != _b) {                                                                            \
            fprintf (stderr, "  FAIL %s:%d: %s == %s (%lld != %lld)\n", __FILE__, __LINE__, #a,    \
                     #b, _a, _b);                                                                  \
            hs_test_failures++;                                                                    \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *_a = (a), *_b = (b);                                                           \
        if (!_a || !_b || strcmp (_a, _b) != 0) {                                                  \
            fprintf (stderr, "  FAIL %s:%d: %s == %s (\"%s\" != \"%s\")\n", __FILE__, __LINE__,    \
                     #a, #b, _a ? _a : "(null)", _b ? _b : "(null)");                              \
            hs_test_failures++;                                                                    \
        }                                                                                          \
    } while (0)

#define CHECK_CONTAINS(hay, needle)                                                                \
    do {                                                                                           \
        const char *_h = (hay), *_n = (needle);                                                    \
        if (!_h || !strstr (_h, _n)) {                                                             \
            fprintf (stderr, "  FAIL %s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__, \
                     _h ? _h : "(null)", _n);                                                      \
            hs_test_failures++;                                                                    \
        }                                                                                          \
    } while (0)

typedef struct {
    const char *name;
    void (*fn) (void);
} hs_test_t;

int hs_test_main (const hs_test_t *tests, size_t n, int argc, char **argv);
#define HS_TEST_RUN(tests) hs_test_main (tests, sizeof (tests) / sizeof (tests[0]), argc, argv)

/* A fresh directory under $TMPDIR, removed (recursively) at exit. */
const char *hs_test_tmpdir (void);
/* A TCP port pair (p, p+1) free on 127.0.0.1 right now. */
int hs_test_free_port_pair (void);
/* Starts $HS_BIN/<prog> with argv (NULL-terminated, argv[0] included), stderr
 * to <tmpdir>/<prog>.log; killed (SIGKILL) at exit. Returns the pid or -1. */
pid_t hs_test_spawn (const char *prog, char *const argv[]);
/* Sends sig and waits for the process. */
void hs_test_kill (pid_t pid, int sig);
/* Waits until pred(arg) is true, polling every 5 ms, up to timeout_ms. */
bool hs_test_wait (bool (*pred) (void *), void *arg, int timeout_ms);

#endif
