/*  test_loop.c: hs_loop, the daemons' event loop: timers in monotonic ns,
 *  ZeroMQ sockets (messages left over after a bounded batch, fairness
 *  against a backlog), descriptors, turns, signals and exit codes. */
#include "hs_loop.h"
#include "hs_test.h"
#include "hs_util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <zmq.h>

#define MS 1000000LL

typedef struct {
    hs_loop_t *loop;
    int64_t fired_at;
    int fired;
} s_timer_t;

static void s_on_timer (void *arg)
{
    s_timer_t *t = arg;
    t->fired++;
    t->fired_at = hs_mono_ns ();
    hs_loop_exit (t->loop, 7);
}

/* A one-shot timer fires at its time, not before, and its code is the run's. */
static void test_timer (void)
{
    hs_loop_t *loop = NULL;
    CHECK_EQ_INT (hs_loop_new (&loop), 0);
    s_timer_t t = {.loop = loop};
    int64_t at = hs_mono_ns () + 30 * MS;
    hs_loop_timer_t *timer = hs_loop_timer (loop, at, s_on_timer, &t);
    CHECK (hs_loop_timer_at (timer) == at);
    CHECK_EQ_INT (hs_loop_run (loop), 7);
    CHECK_EQ_INT (t.fired, 1);
    CHECK (t.fired_at >= at);
    CHECK (t.fired_at < at + 500 * MS);
    CHECK (hs_loop_timer_at (timer) == HS_NEVER); /* one-shot */
    hs_loop_timer_free (&timer);
    CHECK (timer == NULL);
    hs_loop_destroy (&loop);
}

typedef struct {
    hs_loop_t *loop;
    void *pull;
    int received, calls;
    int timer_at_received; /* how many were read when the timer fired; -1: not yet */
    int total;
} s_sock_t;

/* One message per call: the loop must call again while messages remain. */
static void s_on_message (void *arg)
{
    s_sock_t *s = arg;
    s->calls++;
    char buf[16];
    if (zmq_recv (s->pull, buf, sizeof buf, ZMQ_DONTWAIT) >= 0) s->received++;
    if (s->received == s->total) hs_loop_exit (s->loop, 0);
}

static void s_on_fair_timer (void *arg)
{
    s_sock_t *s = arg;
    s->timer_at_received = s->received;
}

/* A backlog is worked off one bounded batch at a time, and a due timer runs
 * before the backlog is gone: a busy socket starves nobody. */
static void test_zsock_backlog_and_fairness (void)
{
    hs_loop_t *loop = NULL;
    CHECK_EQ_INT (hs_loop_new (&loop), 0);
    void *ctx = zmq_ctx_new ();
    void *push = zmq_socket (ctx, ZMQ_PUSH), *pull = zmq_socket (ctx, ZMQ_PULL);
    CHECK_EQ_INT (zmq_bind (pull, "inproc://test-loop"), 0);
    CHECK_EQ_INT (zmq_connect (push, "inproc://test-loop"), 0);
    s_sock_t s = {.loop = loop, .pull = pull, .timer_at_received = -1, .total = 2000};
    for (int i = 0; i < s.total; i++) CHECK (zmq_send (push, "m", 1, 0) == 1);
    hs_loop_zsock_t *z = hs_loop_zsock (loop, pull, s_on_message, NULL, &s);
    CHECK (z != NULL);
    hs_loop_timer_t *t = hs_loop_timer (loop, hs_mono_ns (), s_on_fair_timer, &s);
    CHECK_EQ_INT (hs_loop_run (loop), 0);
    CHECK_EQ_INT (s.received, s.total);
    CHECK (s.timer_at_received >= 0);
    CHECK (s.timer_at_received < s.total);
    hs_loop_timer_free (&t);
    hs_loop_zsock_free (&z);
    zmq_close (push);
    zmq_close (pull);
    zmq_ctx_term (ctx);
    hs_loop_destroy (&loop);
}

typedef struct {
    hs_loop_t *loop;
    int fd;
    int reads;
} s_io_t;

static void s_on_readable (void *arg, int fd, uint32_t revents)
{
    s_io_t *io = arg;
    char c;
    if ((revents & EPOLLIN) && read (fd, &c, 1) == 1) io->reads++;
    hs_loop_exit (io->loop, 0);
}

/* A descriptor source reports what became readable. */
static void test_io (void)
{
    hs_loop_t *loop = NULL;
    CHECK_EQ_INT (hs_loop_new (&loop), 0);
    int p[2];
    CHECK_EQ_INT (pipe2 (p, O_CLOEXEC), 0);
    s_io_t io = {.loop = loop, .fd = p[0]};
    hs_loop_io_t *src = hs_loop_io (loop, p[0], EPOLLIN, s_on_readable, &io);
    CHECK (src != NULL);
    CHECK (write (p[1], "x", 1) == 1);
    CHECK_EQ_INT (hs_loop_run (loop), 0);
    CHECK_EQ_INT (io.reads, 1);
    hs_loop_io_free (&src);
    close (p[0]);
    close (p[1]);
    hs_loop_destroy (&loop);
}

typedef struct {
    hs_loop_t *loop;
    int turns;
    int64_t due;
} s_turn_t;

/* Runs at once, then only at the deadline it gave (nothing else happens). */
static int64_t s_on_turn (void *arg)
{
    s_turn_t *t = arg;
    t->turns++;
    int64_t now = hs_mono_ns ();
    if (t->turns == 1) return t->due = now + 20 * MS;
    CHECK (now >= t->due);
    hs_loop_exit (t->loop, 0);
    return HS_NEVER;
}

static void test_turn (void)
{
    hs_loop_t *loop = NULL;
    CHECK_EQ_INT (hs_loop_new (&loop), 0);
    s_turn_t t = {.loop = loop};
    hs_loop_turn_t *turn = hs_loop_turn (loop, s_on_turn, &t);
    CHECK_EQ_INT (hs_loop_run (loop), 0);
    CHECK_EQ_INT (t.turns, 2);
    hs_loop_turn_free (&turn);
    hs_loop_destroy (&loop);
}

/* SIGTERM stops the loop with code 0, even with a backlog waiting. */
static void test_sigterm (void)
{
    hs_loop_t *loop = NULL;
    CHECK_EQ_INT (hs_loop_new (&loop), 0);
    CHECK_EQ_INT (kill (getpid (), SIGTERM), 0); /* blocked: pending until the loop reads it */
    s_timer_t t = {.loop = loop};
    hs_loop_timer_t *late = hs_loop_timer (loop, hs_mono_ns () + 5000 * MS, s_on_timer, &t);
    CHECK_EQ_INT (hs_loop_run (loop), 0);
    CHECK_EQ_INT (t.fired, 0);
    CHECK (hs_loop_exiting (loop));
    hs_loop_timer_free (&late);
    hs_loop_destroy (&loop);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"timer", test_timer},     {"zsock_backlog_and_fairness", test_zsock_backlog_and_fairness},
        {"io", test_io},           {"turn", test_turn},
        {"sigterm", test_sigterm},
    };
    return HS_TEST_RUN (tests);
}
