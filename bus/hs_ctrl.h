/*  hs_ctrl.h: what every controller shares (docs/architecture.md §12): a
 *  level-triggered pass on the daemon loop (hs_loop.h, §17), heartbeats,
 *  membership, rendezvous sharding and Events.
 *
 *  A controller (hs-replicas, hs-jobs, hs-prober, hs-scheduler) is one
 *  client, one snapshot-then-follow watch and a level-triggered pass:
 *
 *    - the watch callback (ops.on_change) only notes what changed and calls
 *      hs_ctrl_kick; the pass (ops.pass) re-derives what to do from the
 *      whole cache, for the objects this instance owns;
 *    - every instance publishes a ComponentHeartbeat on hb.<role>.<instance>
 *      every hb_ms once its snapshot is loaded (not before: peers give up
 *      its share when they hear it) and listens to its peers' on
 *      hb.<role>.; a peer silent for member_timeout_ms has left (judged only
 *      when no message waits to be read, so a backlog never expires one). An object belongs to the live instance
 *      with the highest rendezvous score for its key (hs_ctrl_owns), so a
 *      change of membership moves only the leaver's or joiner's share, and
 *      the survivors take a dead instance's share within one timeout;
 *    - a new instance does nothing for one member timeout after it synced:
 *      by then it has heard every live peer, and they have heard it and
 *      stopped acting on its share. Two instances may still briefly act on
 *      one object; expected revisions and the store's checks keep that safe;
 *    - every ops.resync... a pass runs anyway, so nothing waits for an event
 *      that was lost;
 *    - the heartbeat carries the controller's counters and gauges, and
 *      hs_ctrl's own: counter reconcile_passes, gauges members and
 *      work_queue_length (ops.queue), histogram pass_duration_seconds (each
 *      ops.pass, docs/protocol.md §8). A value that can go down is a
 *      gauge, never a counter (Prometheus' rate() takes a drop for a reset).
 *
 *  Events: hs_event_send names an Event after what it says (involved uid,
 *  reason, message), so a repeat is an apply of the same object, which the
 *  store merges (count + 1, lastTimestamp now): kubectl's "x12 over 3m".
 */
#ifndef HS_CTRL_H
#define HS_CTRL_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "hs_client.h"
#include "hs_members.h"
#include "hs_metric.h"

typedef struct hs_ctrl_t hs_ctrl_t;

typedef struct {
    const char *component;  /* "hs-replicas": logs, heartbeats, Events' source */
    const char *role;       /* "replicas": hb.<role>.<instance>, the peers */
    const hs_kind_t *kinds; /* watched */
    size_t n_kinds;
    hs_watch_fn *on_change; /* may be NULL */
    /* Once joined, before the watch starts: keep ctrl for the callbacks,
     * subscribe to more topics. Nonzero stops the controller. May be NULL. */
    int (*start) (void *arg, hs_ctrl_t *ctrl);
    /* A pass: act on what this instance owns. Returns when the next pass
     * is wanted (monotonic ns); INT64_MAX: at the next kick or resync. */
    int64_t (*pass) (void *arg, hs_ctrl_t *ctrl, int64_t now_mono);
    /* The heartbeat's counters: fills up to max names and values, returns
     * how many. May be NULL. */
    size_t (*counters) (void *arg, const char **names, uint64_t *values, size_t max);
    /* The heartbeat's gauges (docs/protocol.md §8): fills up to max names
     * and values, returns how many. May be NULL. */
    size_t (*gauges) (void *arg, const char **names, double *values, size_t max);
    /* The work_queue_length gauge: keys (objects) waiting for a pass to
     * reconcile them. May be NULL: no such gauge. */
    size_t (*queue) (void *arg);
    /* The heartbeat's histograms besides pass_duration_seconds: fills up
     * to max (borrowed, hs_metric.h), returns how many. May be NULL. */
    size_t (*histograms) (void *arg, hs_hist_t **hists, size_t max);
    /* The heartbeat's share: objects owned and known. May be NULL. */
    void (*share) (void *arg, uint64_t *owned, uint64_t *total);
    void *arg;
} hs_ctrl_ops_t;

typedef struct {
    const char *bus;         /* NULL: $HS_BUS or the default */
    const char *instance;    /* NULL: random */
    int hb_ms;               /* 0: 250 */
    int member_timeout_ms;   /* 0: 1000 */
    int resync_ms;           /* 0: 10000 */
    const char *local_store; /* the store's data directory, when on its host: snapshots
                                are read from its LMDB file (faster); NULL: over the bus */
} hs_ctrl_opts_t;

/* The common flags, for a controller's getopt_long table (put them first;
 * their codes are 0x4800..0x4805) and its usage text. */
#define HS_CTRL_LONGOPTS                                                                           \
    {"bus", required_argument, NULL, 0x4800}, {"instance", required_argument, NULL, 0x4801},       \
        {"heartbeat-ms", required_argument, NULL, 0x4802},                                         \
        {"member-timeout-ms", required_argument, NULL, 0x4803},                                    \
        {"resync-ms", required_argument, NULL, 0x4804},                                            \
    {                                                                                              \
        "store-dir", required_argument, NULL, 0x4805                                               \
    }
/* 1 if ch was a common flag and is now in o; 0 if it is not one; -1 (after
 * a message on stderr naming the program) if its value is bad. */
int hs_ctrl_opt (hs_ctrl_opts_t *o, const char *prog, int ch, const char *arg);
void hs_ctrl_usage (FILE *f);
/* A controller's own flag, for hs_ctrl_args: 0, or -1 after a message on
 * stderr (a bad value). */
typedef int (*hs_ctrl_flag_fn) (void *arg, int ch, const char *value);
/* A controller's command line: the common flags into o, -h/--help, and its
 * own flags (extra: a getopt_long table ending in a zeroed entry, and
 * shortopts; either may be NULL) through fn. true: run; false: exit with
 * *ret_rc, 0 after --help (usage on stdout), 2 after a usage error (usage on
 * stderr) or a bad value. */
bool hs_ctrl_args (int argc, char **argv, const char *prog, hs_ctrl_opts_t *o,
                   const struct option *extra, const char *shortopts, hs_ctrl_flag_fn fn, void *arg,
                   void (*usage) (FILE *f), int *ret_rc);
/* A controller's own millisecond flag: a positive number up to max_ms, or
 * -1 after a message on stderr naming prog and --flag. */
int hs_ctrl_parse_ms (const char *prog, const char *flag, const char *s, int64_t max_ms,
                      int64_t *ret_ms);

/* Joins the bus, watches, and runs passes until SIGTERM/SIGINT. Returns the
 * process exit code (0 after a signal, 1 on failure). */
int hs_ctrl_run (const hs_ctrl_opts_t *opts, const hs_ctrl_ops_t *ops);

/* From inside callbacks and passes: */
hs_client_t *hs_ctrl_client (hs_ctrl_t *c);
hs_watch_t *hs_ctrl_watch (hs_ctrl_t *c);
const char *hs_ctrl_instance (hs_ctrl_t *c);
/* Is the object with this key ("ns/name") ours? */
bool hs_ctrl_owns (hs_ctrl_t *c, const char *key);
/* Live instances, this one included. */
size_t hs_ctrl_members (hs_ctrl_t *c);
/* Bumped whenever the live set changes: what hs_ctrl_owns answers may have
 * changed for any key. */
uint64_t hs_ctrl_membership (hs_ctrl_t *c);
/* A pass as soon as the loop gets to it. */
void hs_ctrl_kick (hs_ctrl_t *c);
/* A pass at the latest at this monotonic time. */
void hs_ctrl_wake_at (hs_ctrl_t *c, int64_t mono_ns);
/* An Event about obj (see hs_event_send). */
void hs_ctrl_event (hs_ctrl_t *c, const Hs__Object *obj, const char *type, const char *reason,
                    const char *fmt, ...) __attribute__ ((format (printf, 5, 6)));

/* Extra descriptors the loop polls besides the bus (a controller's own
 * non-blocking sockets: hs-prober's tcpSocket and httpGet probes), so they
 * never block it. events is POLLIN and/or POLLOUT (<poll.h>); fn runs from
 * the loop, between bus messages and passes, with what happened: POLLIN,
 * POLLOUT, or POLLERR for an error or hang-up. A descriptor stays polled
 * until hs_ctrl_fd_remove, which the owner calls before closing it; fn may
 * add, change and remove descriptors, its own included (one removed during
 * a round is not called again in it). Returns 0, -EEXIST (fd already
 * polled), -ENOSPC (HS_CTRL_MAX_FDS polled) or -EINVAL. */
#define HS_CTRL_MAX_FDS 1024
typedef void (hs_ctrl_fd_fn) (void *arg, hs_ctrl_t *c, int fd, short revents);
int hs_ctrl_fd_add (hs_ctrl_t *c, int fd, short events, hs_ctrl_fd_fn *fn, void *arg);
/* Changes what fd is polled for. 0 or -ENOENT. */
int hs_ctrl_fd_events (hs_ctrl_t *c, int fd, short events);
/* Stops polling fd (does not close it). NULL-safe about unknown fds. */
void hs_ctrl_fd_remove (hs_ctrl_t *c, int fd);

/* ------------------------------------------------------------------ pieces */

/* Rendezvous: hs_rendezvous_score (instance, key) is in hs_members.h. */

/* An Event about the object of kind/ns/name/uid, fire and forget: named
 * "<name>.<hash of uid, reason and message>" and applied, so the store
 * merges a repeat into the first (count, lastTimestamp). type is "Normal"
 * or "Warning". host may be NULL. */
void hs_event_send (hs_client_t *client, const char *component, const char *instance,
                    const char *host, const char *kind, const char *ns, const char *name,
                    const char *uid, const char *type, const char *reason, const char *message);
/* The same Event as a Write, for sending several in one Command. */
Hs__Write *hs_event_write (const char *component, const char *instance, const char *host,
                           const char *kind, const char *ns, const char *name, const char *uid,
                           const char *type, const char *reason, const char *message);
/* Sends n Event writes (borrowed) as one Command, fire and forget. One
 * Command is one store transaction: a write that fails fails them all. */
void hs_events_send (hs_client_t *client, Hs__Write **writes, size_t n);

#endif
