/*  test_agent_exec_frame.c: the frames `hs-shim --exec --stream` writes, as
 *  the agent reads them (agent_exec_frame.h). */
#include "agent_exec_frame.h"
#include "hs_test.h"

#include <errno.h>
#include <stdlib.h>

static void test_data (void)
{
    agent_frame_t f;
    const char *b = "o 5\nhelloe 3\nerrexit 0\n";
    size_t len = strlen (b);
    ssize_t n = agent_exec_frame (b, len, &f);
    CHECK_EQ_INT (n, 9);
    CHECK_EQ_INT (f.kind, AGENT_FRAME_STDOUT);
    CHECK_EQ_INT (f.len, 5);
    CHECK (f.data && !memcmp (f.data, "hello", 5));
    n = agent_exec_frame (b + 9, len - 9, &f);
    CHECK_EQ_INT (n, 7);
    CHECK_EQ_INT (f.kind, AGENT_FRAME_STDERR);
    CHECK (f.len == 3 && !memcmp (f.data, "err", 3));
    n = agent_exec_frame (b + 16, len - 16, &f);
    CHECK_EQ_INT (n, 7);
    CHECK_EQ_INT (f.kind, AGENT_FRAME_EXIT);
    CHECK_EQ_INT (f.code, 0);
    /* Data may hold newlines and NULs: only the header is a line. */
    const char bin[] = "o 4\na\n\0b";
    n = agent_exec_frame (bin, sizeof bin - 1, &f);
    CHECK_EQ_INT (n, 8);
    CHECK (f.len == 4 && !memcmp (f.data, "a\n\0b", 4));
    /* An empty frame. */
    n = agent_exec_frame ("e 0\n", 4, &f);
    CHECK_EQ_INT (n, 4);
    CHECK_EQ_INT (f.len, 0);
}

static void test_partial (void)
{
    agent_frame_t f;
    const char *b = "o 10\n12345";
    for (size_t k = 0; k <= strlen (b); k++) CHECK_EQ_INT (agent_exec_frame (b, k, &f), 0);
    CHECK_EQ_INT (agent_exec_frame ("exit 13", 7, &f), 0); /* no newline yet */
    CHECK_EQ_INT (agent_exec_frame ("", 0, &f), 0);
}

static void test_last (void)
{
    agent_frame_t f;
    CHECK_EQ_INT (agent_exec_frame ("exit 137\n", 9, &f), 9);
    CHECK_EQ_INT (f.kind, AGENT_FRAME_EXIT);
    CHECK_EQ_INT (f.code, 137);
    const char *fl = "fail 127 exec \"nosuch\": no such file or directory\n";
    CHECK_EQ_INT (agent_exec_frame (fl, strlen (fl), &f), (ssize_t)strlen (fl));
    CHECK_EQ_INT (f.kind, AGENT_FRAME_FAIL);
    CHECK_EQ_INT (f.code, 127);
    CHECK_EQ_STR (f.text, "exec \"nosuch\": no such file or directory");
    CHECK_EQ_INT (agent_exec_frame ("timeout\n", 8, &f), 8);
    CHECK_EQ_INT (f.kind, AGENT_FRAME_TIMEOUT);
    const char *er = "error container not running\n";
    CHECK_EQ_INT (agent_exec_frame (er, strlen (er), &f), (ssize_t)strlen (er));
    CHECK_EQ_INT (f.kind, AGENT_FRAME_ERROR);
    CHECK_EQ_STR (f.text, "container not running");
}

static void test_bad (void)
{
    agent_frame_t f;
    static const char *bad[] = {
        "o -1\n",     "o 65537\n",  "o x\n",     "x 1\n",      "exit\n",
        "exit -1\n",  "exit 256\n", "exit 1x\n", "fail 127\n", "fail 0 x\n",
        "fail x y\n", "\n",         "o 1 2\n",   "EXIT 0\n",   "timeout 1\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ssize_t n = agent_exec_frame (bad[i], strlen (bad[i]), &f);
        if (n != -EBADMSG) fprintf (stderr, "  not refused: \"%s\" -> %zd\n", bad[i], n);
        CHECK_EQ_INT (n, -EBADMSG);
    }
    /* A header with a NUL in it. */
    CHECK_EQ_INT (agent_exec_frame ("exit\0 0\n", 8, &f), -EBADMSG);
    /* A line that never ends within the header bound. */
    char *big = malloc (AGENT_EXEC_FRAME_HEAD_MAX + 10);
    memset (big, 'a', AGENT_EXEC_FRAME_HEAD_MAX + 10);
    CHECK_EQ_INT (agent_exec_frame (big, AGENT_EXEC_FRAME_HEAD_MAX, &f), 0);
    CHECK_EQ_INT (agent_exec_frame (big, AGENT_EXEC_FRAME_HEAD_MAX + 10, &f), -EBADMSG);
    free (big);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"data", test_data},
        {"partial", test_partial},
        {"last", test_last},
        {"bad", test_bad},
    };
    return HS_TEST_RUN (tests);
}
