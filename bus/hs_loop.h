/*  hs_loop.h: the one event loop every Homeostat daemon runs.
 *
 *  A thin layer over libsystemd's sd-event (docs/architecture.md §17 says
 *  why sd-event and not czmq's zloop). One time unit everywhere: absolute
 *  CLOCK_MONOTONIC nanoseconds, as hs_mono_ns returns them, and HS_NEVER
 *  (INT64_MAX) for "no deadline".
 *
 *  Sources:
 *    - timers: one-shot at an absolute time; re-arm from the callback (or
 *      anywhere) with hs_loop_timer_set. HS_NEVER disarms.
 *    - descriptors: EPOLLIN / EPOLLOUT, level-triggered.
 *    - ZeroMQ sockets: ZeroMQ's ZMQ_FD is only a "look again" signal, so
 *      the loop also asks the socket (ZMQ_EVENTS) after every dispatch of
 *      any other source, and calls fn again while a message waits. fn
 *      receives with ZMQ_DONTWAIT (or hs_bus_recv with timeout 0) and should
 *      take at most a bounded batch: the loop calls it again, after the
 *      other sources had their turn, while messages remain. An optional
 *      pending() says there is work queued outside the socket (hs_bus_join
 *      and nested calls queue messages in memory).
 *    - signals, before any other source: SIGTERM and SIGINT stop the loop
 *      (exit code 0) unless the
 *      daemon adds its own handler; hs_loop_new blocks them (and SIGHUP)
 *      for the whole process, so it must be called before any thread is
 *      started, ZeroMQ's I/O threads included.
 *    - the watchdog: when systemd set WATCHDOG_USEC, the loop itself sends
 *      WATCHDOG=1 (sd_event_set_watchdog): a loop stuck in a callback
 *      stops pinging. One that spins does not, so callbacks take bounded
 *      batches and timers are never re-armed into the past for ever.
 *
 *  Every callback runs on the loop's thread, one at a time. A source is
 *  freed with hs_loop_*_free (NULL-safe, NULLs the pointer), or with the
 *  loop.
 */
#ifndef HS_LOOP_H
#define HS_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#define HS_NEVER INT64_MAX

typedef struct hs_loop_t hs_loop_t;
typedef struct hs_loop_timer_t hs_loop_timer_t;
typedef struct hs_loop_io_t hs_loop_io_t;
typedef struct hs_loop_zsock_t hs_loop_zsock_t;
typedef struct hs_loop_post_t hs_loop_post_t;
typedef struct hs_loop_turn_t hs_loop_turn_t;

typedef void (hs_loop_fn) (void *arg);
typedef void (hs_loop_io_fn) (void *arg, int fd, uint32_t revents);
typedef bool (hs_loop_pending_fn) (void *arg);
typedef void (hs_loop_signal_fn) (void *arg, int signo);

/* A new loop. Blocks SIGTERM, SIGINT and SIGHUP for the process and ignores
 * SIGPIPE; SIGTERM and SIGINT stop the loop with exit code 0 until a
 * handler of the daemon's own replaces that (hs_loop_signal). 0 or -errno. */
int hs_loop_new (hs_loop_t **ret_loop);
void hs_loop_destroy (hs_loop_t **self_p);

/* Runs until hs_loop_exit; returns its code (or 1 if the loop failed). */
int hs_loop_run (hs_loop_t *self);
/* Makes hs_loop_run return code after the current callback. */
void hs_loop_exit (hs_loop_t *self, int code);
/* True once hs_loop_exit was called. */
bool hs_loop_exiting (hs_loop_t *self);

/* A one-shot timer at `at` (monotonic ns; HS_NEVER: disarmed). */
hs_loop_timer_t *hs_loop_timer (hs_loop_t *self, int64_t at, hs_loop_fn *fn, void *arg);
void hs_loop_timer_set (hs_loop_timer_t *t, int64_t at);
int64_t hs_loop_timer_at (const hs_loop_timer_t *t); /* HS_NEVER when disarmed */
void hs_loop_timer_free (hs_loop_timer_t **t_p);

/* A descriptor, level-triggered. events: EPOLLIN and/or EPOLLOUT
 * (<sys/epoll.h>); fn gets what happened, EPOLLERR/EPOLLHUP included.
 * NULL on failure (logged), e.g. a descriptor epoll cannot watch. The fd
 * is not closed by the loop. */
hs_loop_io_t *hs_loop_io (hs_loop_t *self, int fd, uint32_t events, hs_loop_io_fn *fn, void *arg);
int hs_loop_io_events (hs_loop_io_t *io, uint32_t events);
void hs_loop_io_free (hs_loop_io_t **io_p);

/* A ZeroMQ socket (a libzmq void *) that fn reads while ZMQ_EVENTS says
 * POLLIN or pending(arg) is true (pending may be NULL). fn must not free
 * the zsock it was called for. */
hs_loop_zsock_t *hs_loop_zsock (hs_loop_t *self, void *socket, hs_loop_fn *fn,
                                hs_loop_pending_fn *pending, void *arg);
void hs_loop_zsock_free (hs_loop_zsock_t **z_p);

/* Handles signo (SIGTERM, SIGINT or SIGHUP, which hs_loop_new blocked; any
 * other is blocked here, so call it before threads start) with fn instead
 * of the default. 0 or -errno. */
int hs_loop_signal (hs_loop_t *self, int signo, hs_loop_signal_fn *fn, void *arg);

/* Runs fn after every loop iteration that dispatched anything (sd-event's
 * post sources): the place to recompute a deadline that any activity may
 * have moved. */
hs_loop_post_t *hs_loop_post (hs_loop_t *self, hs_loop_fn *fn, void *arg);
/* A level-triggered turn: fn runs as soon as the loop runs, after every
 * iteration that dispatched anything, and at the latest at the deadline
 * it returned last (monotonic ns; HS_NEVER: none). For daemons that
 * re-derive what to do from their state (the controllers' passes, the
 * agent's pods): their other sources only note what changed. */
typedef int64_t (hs_loop_turn_fn) (void *arg);
hs_loop_turn_t *hs_loop_turn (hs_loop_t *self, hs_loop_turn_fn *fn, void *arg);
void hs_loop_turn_free (hs_loop_turn_t **t_p);

/* The same as hs_loop_post, after every hs_loop_post hook and turn (and
 * with the ZeroMQ sockets' own re-checks): for deadlines those hooks may move (hs_client's). */
hs_loop_post_t *hs_loop_post_last (hs_loop_t *self, hs_loop_fn *fn, void *arg);
void hs_loop_post_free (hs_loop_post_t **p_p);

#endif
