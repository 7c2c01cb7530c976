/*  hs_loop.c: the one event loop, over sd-event (hs_loop.h). */
#include "hs_loop.h"
#include "hs_log.h"
#include "hs_util.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <systemd/sd-event.h>
#include <zmq.h>

#define NS_PER_US 1000LL

struct hs_loop_t {
    sd_event *e;
    sd_event_source *sig[3]; /* SIGTERM, SIGINT, SIGHUP */
    bool exiting;
};

struct hs_loop_timer_t {
    sd_event_source *src;
    int64_t at;
    hs_loop_fn *fn;
    void *arg;
};

struct hs_loop_io_t {
    sd_event_source *src;
    hs_loop_io_fn *fn;
    void *arg;
};

struct hs_loop_zsock_t {
    void *socket;
    sd_event_source *io, *again, *post;
    hs_loop_fn *fn;
    hs_loop_pending_fn *pending;
    void *arg;
};

struct hs_loop_turn_t {
    hs_loop_post_t *post;
    hs_loop_timer_t *timer;
    hs_loop_turn_fn *fn;
    void *arg;
};

struct hs_loop_post_t {
    sd_event_source *src;
    hs_loop_fn *fn;
    void *arg;
};

/* Adding a timer or post source fails only without memory: the one
 * out-of-memory policy (hs_util.h) is to abort. */
static void s_check (int r, const char *what)
{
    if (r >= 0) return;
    log_error ("%s: %s", what, strerror (-r));
    abort ();
}

static const int s_signals[] = {SIGTERM, SIGINT, SIGHUP};

static int s_sig_index (int signo)
{
    for (size_t i = 0; i < HS_ARRAY_LEN (s_signals); i++)
        if (s_signals[i] == signo) return (int)i;
    return -1;
}

static int s_on_stop_signal (sd_event_source *s, const struct signalfd_siginfo *si, void *arg)
{
    hs_loop_t *self = arg;
    (void)s;
    if (si->ssi_signo == SIGHUP) {
        log_info ("SIGHUP: nothing to reload");
        return 0;
    }
    log_info ("signal %u: stopping", si->ssi_signo);
    hs_loop_exit (self, 0);
    return 0;
}

int hs_loop_new (hs_loop_t **ret_loop)
{
    sigset_t mask;
    sigemptyset (&mask);
    for (size_t i = 0; i < HS_ARRAY_LEN (s_signals); i++) sigaddset (&mask, s_signals[i]);
    if (sigprocmask (SIG_BLOCK, &mask, NULL) < 0) return -errno;
    signal (SIGPIPE, SIG_IGN);
    hs_loop_t *self = hs_calloc (1, sizeof *self);
    int r = sd_event_new (&self->e);
    for (size_t i = 0; r >= 0 && i < HS_ARRAY_LEN (s_signals); i++) {
        r = sd_event_add_signal (self->e, &self->sig[i], s_signals[i], s_on_stop_signal, self);
        /* a stop is heard before any backlog is worked off */
        if (r >= 0) r = sd_event_source_set_priority (self->sig[i], SD_EVENT_PRIORITY_IMPORTANT);
    }
    /* WATCHDOG=1 from the loop itself when systemd asked for it: a loop
     * that stalls stops pinging. A no-op without WATCHDOG_USEC. */
    if (r >= 0) r = sd_event_set_watchdog (self->e, 1);
    if (r < 0) {
        hs_loop_destroy (&self);
        return r;
    }
    *ret_loop = self;
    return 0;
}

void hs_loop_destroy (hs_loop_t **self_p)
{
    hs_loop_t *self = *self_p;
    if (!self) return;
    for (size_t i = 0; i < HS_ARRAY_LEN (self->sig); i++)
        self->sig[i] = sd_event_source_disable_unref (self->sig[i]);
    sd_event_unref (self->e);
    free (self);
    *self_p = NULL;
}

int hs_loop_run (hs_loop_t *self)
{
    int r = sd_event_loop (self->e);
    if (r < 0) {
        log_error ("the event loop failed: %s", strerror (-r));
        return 1;
    }
    return r;
}

void hs_loop_exit (hs_loop_t *self, int code)
{
    self->exiting = true;
    sd_event_exit (self->e, code);
}

bool hs_loop_exiting (hs_loop_t *self)
{
    return self->exiting;
}

/* ------------------------------------------------------------------ timers */

/* Rounded up: a timer never fires before its time. */
static uint64_t s_usec (int64_t at_ns)
{
    if (at_ns <= 0) return 1;
    return (uint64_t)((at_ns + NS_PER_US - 1) / NS_PER_US);
}

static int s_on_timer (sd_event_source *s, uint64_t usec, void *arg)
{
    hs_loop_timer_t *t = arg;
    (void)s;
    (void)usec;
    t->at = HS_NEVER; /* one-shot: the callback re-arms */
    t->fn (t->arg);
    return 0;
}

hs_loop_timer_t *hs_loop_timer (hs_loop_t *self, int64_t at, hs_loop_fn *fn, void *arg)
{
    hs_loop_timer_t *t = hs_calloc (1, sizeof *t);
    t->fn = fn;
    t->arg = arg;
    t->at = HS_NEVER;
    /* accuracy 1 µs: sd-event's default (250 ms) would coalesce our
     * timers far too coarsely */
    int r = sd_event_add_time (self->e, &t->src, CLOCK_MONOTONIC, UINT64_MAX, 1, s_on_timer, t);
    s_check (r, "sd_event_add_time");
    sd_event_source_set_enabled (t->src, SD_EVENT_OFF);
    hs_loop_timer_set (t, at);
    return t;
}

void hs_loop_timer_set (hs_loop_timer_t *t, int64_t at)
{
    if (at == t->at) return;
    t->at = at;
    if (at == HS_NEVER) {
        sd_event_source_set_enabled (t->src, SD_EVENT_OFF);
        return;
    }
    sd_event_source_set_time (t->src, s_usec (at));
    sd_event_source_set_enabled (t->src, SD_EVENT_ONESHOT);
}

int64_t hs_loop_timer_at (const hs_loop_timer_t *t)
{
    return t->at;
}

void hs_loop_timer_free (hs_loop_timer_t **t_p)
{
    hs_loop_timer_t *t = *t_p;
    if (!t) return;
    sd_event_source_disable_unref (t->src);
    free (t);
    *t_p = NULL;
}

/* ------------------------------------------------------------------ descriptors */

static int s_on_io (sd_event_source *s, int fd, uint32_t revents, void *arg)
{
    hs_loop_io_t *io = arg;
    (void)s;
    io->fn (io->arg, fd, revents);
    return 0;
}

hs_loop_io_t *hs_loop_io (hs_loop_t *self, int fd, uint32_t events, hs_loop_io_fn *fn, void *arg)
{
    hs_loop_io_t *io = hs_calloc (1, sizeof *io);
    io->fn = fn;
    io->arg = arg;
    int r = sd_event_add_io (self->e, &io->src, fd, events, s_on_io, io);
    if (r < 0) {
        log_error ("cannot watch descriptor %d: %s", fd, strerror (-r));
        free (io);
        return NULL;
    }
    if (!events) sd_event_source_set_enabled (io->src, SD_EVENT_OFF);
    return io;
}

int hs_loop_io_events (hs_loop_io_t *io, uint32_t events)
{
    if (!events) return sd_event_source_set_enabled (io->src, SD_EVENT_OFF);
    int r = sd_event_source_set_io_events (io->src, events);
    if (r >= 0) r = sd_event_source_set_enabled (io->src, SD_EVENT_ON);
    return r;
}

void hs_loop_io_free (hs_loop_io_t **io_p)
{
    hs_loop_io_t *io = *io_p;
    if (!io) return;
    sd_event_source_disable_unref (io->src);
    free (io);
    *io_p = NULL;
}

/* ------------------------------------------------------------------ ZeroMQ sockets */

static bool s_zsock_ready (hs_loop_zsock_t *z)
{
    if (z->pending && z->pending (z->arg)) return true;
    int events = 0;
    size_t len = sizeof events;
    /* Asking also makes ZeroMQ process its command queue, which is what
     * re-arms ZMQ_FD: without it a level-triggered epoll would spin. */
    return zmq_getsockopt (z->socket, ZMQ_EVENTS, &events, &len) == 0 && (events & ZMQ_POLLIN);
}

/* Messages left after fn's batch, or that arrived while another source
 * ran (ZMQ_FD does not say so again): call fn once more, next iteration. */
static void s_zsock_recheck (hs_loop_zsock_t *z)
{
    if (s_zsock_ready (z)) sd_event_source_set_enabled (z->again, SD_EVENT_ONESHOT);
}

static void s_zsock_run (hs_loop_zsock_t *z)
{
    if (s_zsock_ready (z)) z->fn (z->arg);
    s_zsock_recheck (z);
}

static int s_on_zsock_io (sd_event_source *s, int fd, uint32_t revents, void *arg)
{
    (void)s;
    (void)fd;
    (void)revents;
    s_zsock_run (arg);
    return 0;
}

static int s_on_zsock_again (sd_event_source *s, void *arg)
{
    (void)s;
    s_zsock_run (arg);
    return 0;
}

static int s_on_zsock_post (sd_event_source *s, void *arg)
{
    (void)s;
    hs_loop_zsock_t *z = arg;
    if (sd_event_source_get_enabled (z->again, NULL) <= 0) s_zsock_recheck (z);
    return 0;
}

hs_loop_zsock_t *hs_loop_zsock (hs_loop_t *self, void *socket, hs_loop_fn *fn,
                                hs_loop_pending_fn *pending, void *arg)
{
    int fd = -1;
    size_t len = sizeof fd;
    if (zmq_getsockopt (socket, ZMQ_FD, &fd, &len) != 0) {
        log_error ("ZMQ_FD: %s", zmq_strerror (errno));
        return NULL;
    }
    hs_loop_zsock_t *z = hs_calloc (1, sizeof *z);
    z->socket = socket;
    z->fn = fn;
    z->pending = pending;
    z->arg = arg;
    int r = sd_event_add_io (self->e, &z->io, fd, EPOLLIN, s_on_zsock_io, z);
    if (r >= 0) r = sd_event_add_defer (self->e, &z->again, s_on_zsock_again, z);
    /* Below every other source: a defer source stays first among its
     * priority (its pending iteration never changes), so at NORMAL a busy
     * socket would starve timers, signals and the post hooks. */
    if (r >= 0) r = sd_event_source_set_priority (z->again, SD_EVENT_PRIORITY_NORMAL + 1);
    if (r >= 0) r = sd_event_add_post (self->e, &z->post, s_on_zsock_post, z);
    /* after the daemon's own post hooks, which may have read the socket */
    if (r >= 0) r = sd_event_source_set_priority (z->post, SD_EVENT_PRIORITY_IDLE);
    if (r < 0) {
        log_error ("cannot watch a ZeroMQ socket: %s", strerror (-r));
        hs_loop_zsock_free (&z);
        return NULL;
    }
    /* Messages may be queued already (hs_bus_join queues what it read):
     * look at once. */
    sd_event_source_set_enabled (z->again, SD_EVENT_ONESHOT);
    return z;
}

void hs_loop_zsock_free (hs_loop_zsock_t **z_p)
{
    hs_loop_zsock_t *z = *z_p;
    if (!z) return;
    sd_event_source_disable_unref (z->io);
    sd_event_source_disable_unref (z->again);
    sd_event_source_disable_unref (z->post);
    free (z);
    *z_p = NULL;
}

/* ------------------------------------------------------------------ signals, post */

typedef struct {
    hs_loop_signal_fn *fn;
    void *arg;
} s_sig_t;

static int s_on_signal (sd_event_source *s, const struct signalfd_siginfo *si, void *arg)
{
    (void)s;
    s_sig_t *h = arg;
    h->fn (h->arg, (int)si->ssi_signo);
    return 0;
}

static void s_free_userdata (void *p)
{
    free (p);
}

int hs_loop_signal (hs_loop_t *self, int signo, hs_loop_signal_fn *fn, void *arg)
{
    int i = s_sig_index (signo);
    if (i < 0) {
        sigset_t mask;
        sigemptyset (&mask);
        sigaddset (&mask, signo);
        if (sigprocmask (SIG_BLOCK, &mask, NULL) < 0) return -errno;
    } else {
        self->sig[i] = sd_event_source_disable_unref (self->sig[i]);
    }
    s_sig_t *h = hs_calloc (1, sizeof *h);
    h->fn = fn;
    h->arg = arg;
    sd_event_source *src = NULL;
    int r = sd_event_add_signal (self->e, &src, signo, s_on_signal, h);
    if (r < 0) {
        free (h);
        return r;
    }
    sd_event_source_set_destroy_callback (src, s_free_userdata);
    sd_event_source_set_priority (src, SD_EVENT_PRIORITY_IMPORTANT);
    if (i >= 0)
        self->sig[i] = src;
    else
        sd_event_source_set_floating (src, 1); /* lives as long as the loop */
    return 0;
}

static int s_on_post (sd_event_source *s, void *arg)
{
    (void)s;
    hs_loop_post_t *p = arg;
    p->fn (p->arg);
    return 0;
}

static hs_loop_post_t *s_post (hs_loop_t *self, hs_loop_fn *fn, void *arg, int64_t priority)
{
    hs_loop_post_t *p = hs_calloc (1, sizeof *p);
    p->fn = fn;
    p->arg = arg;
    int r = sd_event_add_post (self->e, &p->src, s_on_post, p);
    if (r >= 0) r = sd_event_source_set_priority (p->src, priority);
    s_check (r, "sd_event_add_post");
    return p;
}

hs_loop_post_t *hs_loop_post (hs_loop_t *self, hs_loop_fn *fn, void *arg)
{
    return s_post (self, fn, arg, SD_EVENT_PRIORITY_NORMAL);
}

hs_loop_post_t *hs_loop_post_last (hs_loop_t *self, hs_loop_fn *fn, void *arg)
{
    return s_post (self, fn, arg, SD_EVENT_PRIORITY_IDLE);
}

void hs_loop_post_free (hs_loop_post_t **p_p)
{
    hs_loop_post_t *p = *p_p;
    if (!p) return;
    sd_event_source_disable_unref (p->src);
    free (p);
    *p_p = NULL;
}

/* ------------------------------------------------------------------ turns */

static void s_turn (void *arg)
{
    hs_loop_turn_t *t = arg;
    hs_loop_timer_set (t->timer, t->fn (t->arg));
}

/* The deadline only wakes the loop: the turn runs after it, as after
 * anything. */
static void s_turn_due (void *arg)
{
    (void)arg;
}

hs_loop_turn_t *hs_loop_turn (hs_loop_t *self, hs_loop_turn_fn *fn, void *arg)
{
    hs_loop_turn_t *t = hs_calloc (1, sizeof *t);
    t->fn = fn;
    t->arg = arg;
    t->timer = hs_loop_timer (self, 0, s_turn_due, t);
    t->post = hs_loop_post (self, s_turn, t);
    return t;
}

void hs_loop_turn_free (hs_loop_turn_t **t_p)
{
    hs_loop_turn_t *t = *t_p;
    if (!t) return;
    hs_loop_post_free (&t->post);
    hs_loop_timer_free (&t->timer);
    free (t);
    *t_p = NULL;
}
