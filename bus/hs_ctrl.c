/*  hs_ctrl.c: the controllers' shared loop, membership and Events (hs_ctrl.h). */
#include "hs_ctrl.h"
#include "hs_daemon.h"
#include "hs_log.h"
#include "hs_members.h"
#include "hs_metric.h"
#include "hs_notify.h"
#include "hs_util.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define MS               1000000LL
#define JOIN_TIMEOUT_MS  30000
#define MAX_COUNTERS     24
#define MAX_GAUGES       16
#define MAX_HISTOGRAMS   8
#define EVENT_TIMEOUT_MS 10000

/* An extra descriptor (hs_ctrl_fd_add), a source of the loop. */
typedef struct {
    hs_ctrl_t *c;
    int fd;
    hs_loop_io_t *io;
    hs_ctrl_fd_fn *fn;
    void *arg;
} s_fd_t;

struct hs_ctrl_t {
    hs_ctrl_opts_t o;
    const hs_ctrl_ops_t *ops;
    hs_client_t *client;
    hs_watch_t *watch;
    const char *instance;
    char host[256];
    int64_t started_at_ns;
    int64_t synced_mono; /* 0: not yet */
    int64_t active_mono; /* passes run from here on */
    int64_t next_pass, next_hb, next_resync;
    hs_members_t *members; /* live instances, this one included */
    size_t n_live;         /* hs_members_count (members) */
    uint64_t passes;
    hs_hist_t *pass_hist; /* pass_duration_seconds */
    s_fd_t **fds;         /* extra descriptors */
    size_t n_fds, cap_fds;
    hs_loop_t *loop;
    hs_loop_turn_t *tick; /* s_tick */
};

/* ------------------------------------------------------------------ flags */

int hs_ctrl_parse_ms (const char *prog, const char *flag, const char *s, int64_t max_ms,
                      int64_t *ret_ms)
{
    _cleanup_free_ char *dashed = hs_sprintf ("--%s", flag);
    int64_t ns;
    if (hs_daemon_ms (prog, dashed, s, max_ms, &ns) < 0) return -1;
    *ret_ms = ns / MS;
    return 0;
}

static int s_parse_ms (const char *prog, const char *flag, const char *s, int *ret)
{
    int64_t v;
    if (hs_ctrl_parse_ms (prog, flag, s, 3600 * 1000, &v) < 0) return -1;
    *ret = (int)v;
    return 1;
}

int hs_ctrl_opt (hs_ctrl_opts_t *o, const char *prog, int ch, const char *arg)
{
    switch (ch) {
    case 0x4800: o->bus = arg; return 1;
    case 0x4801:
        if (hs_empty (arg) || strchr (arg, '.') || strchr (arg, '/')) {
            fprintf (stderr, "%s: --instance: must be a non-empty word without '.' or '/'\n", prog);
            return -1;
        }
        o->instance = arg;
        return 1;
    case 0x4802: return s_parse_ms (prog, "heartbeat-ms", arg, &o->hb_ms);
    case 0x4803: return s_parse_ms (prog, "member-timeout-ms", arg, &o->member_timeout_ms);
    case 0x4804: return s_parse_ms (prog, "resync-ms", arg, &o->resync_ms);
    case 0x4805: o->local_store = arg; return 1;
    default: return 0;
    }
}

void hs_ctrl_usage (FILE *f)
{
    fprintf (f, "  --bus ADDR[,ADDR...]    the bus: one broker or several (default $HS_BUS, "
                "else " HS_BUS_DEFAULT ")\n"
                "  --instance NAME         instance name on the bus (default: random)\n"
                "  --heartbeat-ms MS       heartbeat interval (default 250)\n"
                "  --member-timeout-ms MS  a silent peer has left after this (default 1000)\n"
                "  --resync-ms MS          a full pass at least this often (default 10000)\n"
                "  --store-dir DIR         on the store's host: read snapshots from its data\n"
                "                          directory (faster catch-up; falls back to the bus)\n");
}

typedef struct {
    hs_ctrl_opts_t *o;
    const char *prog;
    hs_ctrl_flag_fn fn;
    void *arg;
} s_args_t;

/* The common flags first, then the controller's own. */
static int s_args_flag (void *arg, int ch, const char *value)
{
    s_args_t *a = arg;
    int r = hs_ctrl_opt (a->o, a->prog, ch, value);
    if (r != 0) return r < 0 ? -1 : 0;
    return a->fn ? a->fn (a->arg, ch, value) : -1;
}

bool hs_ctrl_args (int argc, char **argv, const char *prog, hs_ctrl_opts_t *o,
                   const struct option *extra, const char *shortopts, hs_ctrl_flag_fn fn, void *arg,
                   void (*usage) (FILE *f), int *ret_rc)
{
    static const struct option common[] = {HS_CTRL_LONGOPTS};
    size_t n_extra = 0;
    while (extra && extra[n_extra].name) n_extra++;
    _cleanup_free_ struct option *all =
        hs_calloc (HS_ARRAY_LEN (common) + n_extra + 1, sizeof *all);
    memcpy (all, common, sizeof common);
    if (n_extra) memcpy (all + HS_ARRAY_LEN (common), extra, n_extra * sizeof *all);
    s_args_t a = {.o = o, .prog = prog, .fn = fn, .arg = arg};
    hs_daemon_t d = {
        .name = prog, .usage = usage, .options = all, .shortopts = shortopts, .flag = s_args_flag};
    int rc = hs_daemon_parse (&d, &a, argc, argv);
    *ret_rc = rc < 0 ? 0 : rc;
    return rc == 0;
}

/* ------------------------------------------------------------------ membership */

static void s_member_gone (void *arg, const char *instance, int64_t silent_ns)
{
    (void)arg;
    log_info ("peer %s left (silent for %lld ms)", instance, (long long)(silent_ns / MS));
}

/* Expires the peers silent for longer than the timeout; true if the live
 * set changed. The first call makes the table (the instance is known). */
static bool s_members_refresh (hs_ctrl_t *c, int64_t now)
{
    bool changed = false;
    if (!c->members) {
        c->members = hs_members_new (c->instance, (int64_t)c->o.member_timeout_ms * MS);
        changed = true;
    }
    changed |= hs_members_expire (c->members, now, s_member_gone, c) > 0;
    c->n_live = hs_members_count (c->members);
    return changed;
}

static void s_on_peer (void *arg, const char *topic, const Hs__Envelope *env)
{
    hs_ctrl_t *c = arg;
    (void)topic;
    if (env->body_case != HS__ENVELOPE__BODY_HEARTBEAT) return;
    const char *inst = env->heartbeat->instance;
    if (hs_empty (inst) || hs_streq (inst, c->instance)) return;
    if (!hs_streq (env->heartbeat->component, c->ops->component)) return;
    int r = hs_members_heard (c->members, inst, hs_mono_ns ());
    if (r == -ENOSPC)
        hs_log_once (HS_LOG_WARN, "ctrl:members", "over %d peers: %s ignored (not logged again)",
                     HS_MEMBERS_MAX, inst);
    if (r <= 0) return;
    log_info ("peer %s joined", inst);
    c->n_live = hs_members_count (c->members);
    hs_ctrl_kick (c);
}

bool hs_ctrl_owns (hs_ctrl_t *c, const char *key)
{
    return hs_members_owns (c->members, c->instance, key);
}

size_t hs_ctrl_members (hs_ctrl_t *c)
{
    return c->n_live;
}

uint64_t hs_ctrl_membership (hs_ctrl_t *c)
{
    return hs_members_generation (c->members);
}

/* ------------------------------------------------------------------ events */

Hs__Write *hs_event_write (const char *component, const char *instance, const char *host,
                           const char *kind, const char *ns, const char *name, const char *uid,
                           const char *type, const char *reason, const char *message)
{
    uint64_t h = hs_rendezvous_score (uid, reason);
    h ^= hs_rendezvous_score (reason, message);
    _cleanup_free_ char *ename = hs_sprintf ("%.236s.%016llx", hs_s (name), (unsigned long long)h);
    Hs__Object *o = hs_obj_new (HS_KIND_EVENT, ns, ename);
    Hs__Event *e = o->event;
    e->involved_object = hs_pb_new (&hs__object_reference__descriptor);
    hs_kind_t k = hs_kind_parse (kind);
    const hs_kind_info_t *info = hs_kind_info (k);
    hs_pb_set_str (&e->involved_object->kind, info ? info->kind_name : kind);
    hs_pb_set_str (&e->involved_object->api_version, info ? info->api_version : "");
    hs_pb_set_str (&e->involved_object->namespace_, ns);
    hs_pb_set_str (&e->involved_object->name, name);
    hs_pb_set_str (&e->involved_object->uid, uid);
    hs_pb_set_str (&e->reason, reason);
    hs_pb_set_str (&e->message, message);
    hs_pb_set_str (&e->type, type);
    e->source = hs_pb_new (&hs__event_source__descriptor);
    hs_pb_set_str (&e->source->component, component);
    hs_pb_set_str (&e->source->host, host);
    hs_pb_set_str (&e->reporting_component, component);
    hs_pb_set_str (&e->reporting_instance, instance);
    e->first_timestamp = e->last_timestamp = hs_now_ns ();
    e->count = 1;
    return hs_write_new (HS__OP__OP_APPLY, o);
}

void hs_events_send (hs_client_t *client, Hs__Write **writes, size_t n)
{
    if (n == 0) return;
    hs_call_opts_t opts = {.timeout_ms = EVENT_TIMEOUT_MS};
    int r = hs_client_send (client, writes, n, &opts, NULL, NULL);
    if (r < 0)
        hs_log_once (HS_LOG_WARN, "ctrl:event", "cannot send an Event: %s (not logged again)",
                     strerror (-r));
}

void hs_event_send (hs_client_t *client, const char *component, const char *instance,
                    const char *host, const char *kind, const char *ns, const char *name,
                    const char *uid, const char *type, const char *reason, const char *message)
{
    Hs__Write *w =
        hs_event_write (component, instance, host, kind, ns, name, uid, type, reason, message);
    hs_events_send (client, &w, 1);
    hs_pb_free (w);
}

void hs_ctrl_event (hs_ctrl_t *c, const Hs__Object *obj, const char *type, const char *reason,
                    const char *fmt, ...)
{
    const Hs__ObjectMeta *m = hs_obj_meta (obj);
    if (!m) return;
    va_list ap;
    va_start (ap, fmt);
    char *msg = NULL;
    if (vasprintf (&msg, fmt, ap) < 0) msg = NULL;
    va_end (ap);
    hs_event_send (c->client, c->ops->component, c->instance, c->host,
                   hs_kind_info (hs_obj_kind (obj))->name, m->namespace_, m->name, m->uid, type,
                   reason, msg);
    free (msg);
}

/* ------------------------------------------------------------------ extra descriptors */

static size_t s_fd_index (hs_ctrl_t *c, int fd)
{
    for (size_t i = 0; i < c->n_fds; i++)
        if (c->fds[i]->fd == fd) return i;
    return SIZE_MAX;
}

/* EPOLLIN, EPOLLOUT and EPOLLERR have poll(2)'s values. */
static void s_fd_ready (void *arg, int fd, uint32_t revents)
{
    s_fd_t *f = arg;
    short r = (short)(revents & (EPOLLIN | EPOLLOUT));
    if (revents & (EPOLLERR | EPOLLHUP)) r |= POLLERR;
    f->fn (f->arg, f->c, fd, r);
}

int hs_ctrl_fd_add (hs_ctrl_t *c, int fd, short events, hs_ctrl_fd_fn *fn, void *arg)
{
    if (fd < 0 || !fn || (events & ~(POLLIN | POLLOUT))) return -EINVAL;
    if (s_fd_index (c, fd) != SIZE_MAX) return -EEXIST;
    if (c->n_fds >= HS_CTRL_MAX_FDS) return -ENOSPC;
    s_fd_t *f = hs_calloc (1, sizeof *f);
    *f = (s_fd_t){.c = c, .fd = fd, .fn = fn, .arg = arg};
    f->io = hs_loop_io (c->loop, fd, (uint32_t)events, s_fd_ready, f);
    if (!f->io) {
        free (f);
        return -EINVAL;
    }
    if (c->n_fds == c->cap_fds) {
        c->cap_fds = c->cap_fds ? c->cap_fds * 2 : 16;
        c->fds = hs_realloc (c->fds, c->cap_fds * sizeof *c->fds);
    }
    c->fds[c->n_fds++] = f;
    return 0;
}

int hs_ctrl_fd_events (hs_ctrl_t *c, int fd, short events)
{
    size_t i = fd >= 0 ? s_fd_index (c, fd) : SIZE_MAX;
    if (i == SIZE_MAX) return -ENOENT;
    return hs_loop_io_events (c->fds[i]->io, (uint32_t)(events & (POLLIN | POLLOUT)));
}

void hs_ctrl_fd_remove (hs_ctrl_t *c, int fd)
{
    size_t i = fd >= 0 ? s_fd_index (c, fd) : SIZE_MAX;
    if (i == SIZE_MAX) return;
    hs_loop_io_free (&c->fds[i]->io);
    free (c->fds[i]);
    c->fds[i] = c->fds[--c->n_fds];
}

/* ------------------------------------------------------------------ the loop */

hs_client_t *hs_ctrl_client (hs_ctrl_t *c)
{
    return c->client;
}

hs_watch_t *hs_ctrl_watch (hs_ctrl_t *c)
{
    return c->watch;
}

const char *hs_ctrl_instance (hs_ctrl_t *c)
{
    return c->instance;
}

void hs_ctrl_kick (hs_ctrl_t *c)
{
    c->next_pass = 0;
}

void hs_ctrl_wake_at (hs_ctrl_t *c, int64_t mono_ns)
{
    if (mono_ns < c->next_pass) c->next_pass = mono_ns;
}

static void s_heartbeat (hs_ctrl_t *c)
{
    Hs__ComponentHeartbeat hb = HS__COMPONENT_HEARTBEAT__INIT;
    const char *names[MAX_COUNTERS];
    uint64_t values[MAX_COUNTERS];
    size_t n = 0;
    if (c->ops->counters) n = c->ops->counters (c->ops->arg, names, values, MAX_COUNTERS - 1);
    if (n > MAX_COUNTERS - 1) n = MAX_COUNTERS - 1;
    names[n] = "reconcile_passes";
    values[n++] = c->passes;
    Hs__Counter cs[MAX_COUNTERS];
    Hs__Counter *cp[MAX_COUNTERS];
    hs_heartbeat_counters (&hb, cs, cp, names, values, n);
    const char *gnames[MAX_GAUGES];
    double gvalues[MAX_GAUGES];
    size_t ng = 0;
    if (c->ops->gauges) ng = c->ops->gauges (c->ops->arg, gnames, gvalues, MAX_GAUGES - 2);
    if (ng > MAX_GAUGES - 2) ng = MAX_GAUGES - 2;
    gnames[ng] = "members";
    gvalues[ng++] = (double)c->n_live;
    if (c->ops->queue) {
        gnames[ng] = "work_queue_length";
        gvalues[ng++] = (double)c->ops->queue (c->ops->arg);
    }
    Hs__Gauge gs[MAX_GAUGES];
    Hs__Gauge *gp[MAX_GAUGES];
    hs_metric_gauges (&hb.gauges, &hb.n_gauges, gs, gp, gnames, gvalues, ng);
    hs_hist_t *hists[MAX_HISTOGRAMS] = {c->pass_hist};
    size_t nh = 1;
    if (c->ops->histograms) nh += c->ops->histograms (c->ops->arg, hists + 1, MAX_HISTOGRAMS - 1);
    if (nh > MAX_HISTOGRAMS) nh = MAX_HISTOGRAMS;
    hs_hist_pb_t hroom[MAX_HISTOGRAMS];
    Hs__Histogram *hp[MAX_HISTOGRAMS];
    hs_metric_histograms (&hb.histograms, &hb.n_histograms, hroom, hp, hists, nh);
    hb.component = (char *)c->ops->component;
    hb.instance = (char *)c->instance;
    hb.host = c->host;
    hb.started_at_ns = c->started_at_ns;
    hb.observed_revision = c->watch ? hs_watch_revision (c->watch) : 0;
    hb.interval_ms = (uint32_t)c->o.hb_ms;
    if (c->ops->share) c->ops->share (c->ops->arg, &hb.owned, &hb.total);
    hb.garbage = hs_bus_garbage (hs_client_bus (c->client));
    Hs__Envelope env = HS__ENVELOPE__INIT;
    env.body_case = HS__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    _cleanup_free_ char *topic = hs_sprintf ("hb.%s.%s", c->ops->role, c->instance);
    int r = hs_bus_publish (hs_client_bus (c->client), topic, &env);
    hs_pb_take_str (&env.sender, NULL); /* publish set a heap copy */
    if (r < 0)
        hs_log_once (HS_LOG_WARN, "ctrl:hb", "cannot publish on %s: %s (not logged again)", topic,
                     strerror (-r));
}

static int64_t s_min (int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* The loop's turn, after anything ran (a bus message, a descriptor): expire
 * peers, notice the snapshot, run a pass when one is due, heartbeat.
 * Returns when the next of those is due. */
static int64_t s_tick (void *arg)
{
    hs_ctrl_t *c = arg;
    const hs_ctrl_ops_t *ops = c->ops;
    if (hs_loop_exiting (c->loop)) return HS_NEVER;
    int64_t now = hs_mono_ns ();
    /* With messages still queued a peer's heartbeat may be among them:
     * expire no one before they are read. */
    if (!hs_bus_pending (hs_client_bus (c->client)) && s_members_refresh (c, now)) {
        log_info ("%zu live instance(s) of %s", c->n_live, ops->component);
        hs_ctrl_kick (c);
    }
    if (!c->synced_mono && hs_watch_synced (c->watch)) {
        c->synced_mono = now;
        /* learn the peers before acting (see the banner) */
        c->active_mono = now + c->o.member_timeout_ms * MS;
        c->next_resync = c->active_mono;
        hs_notify_ready ("synced");
        log_info ("synced at revision %lld as %s; acting in %d ms",
                  (long long)hs_watch_revision (c->watch),
                  hs_bus_sender (hs_client_bus (c->client)), c->o.member_timeout_ms);
        c->next_hb = now; /* announce ourselves now */
    }
    if (c->synced_mono && now >= c->active_mono && (now >= c->next_pass || now >= c->next_resync)) {
        if (now >= c->next_resync) c->next_resync = now + c->o.resync_ms * MS;
        c->next_pass = INT64_MAX;
        c->passes++;
        int64_t want = ops->pass (ops->arg, c, now);
        hs_ctrl_wake_at (c, want);
        int64_t took_ms = (hs_hist_since (c->pass_hist, now) - now) / MS;
        if (took_ms * 2 > c->o.member_timeout_ms)
            hs_log_once (HS_LOG_WARN, "ctrl:slowpass",
                         "a pass took %lld ms, over half the member timeout (%d ms): peers may "
                         "take this instance for gone; raise --member-timeout-ms (not logged "
                         "again)",
                         (long long)took_ms, c->o.member_timeout_ms);
    }
    if (c->synced_mono && hs_mono_ns () >= c->next_hb) {
        s_heartbeat (c);
        c->next_hb = hs_mono_ns () + c->o.hb_ms * MS;
    }
    now = hs_mono_ns ();
    /* Before the snapshot nothing is due but the expiry below (next_hb
     * then is only the earliest first heartbeat, and would lie in the
     * past for as long as the store is away). */
    int64_t wake = HS_NEVER;
    if (c->synced_mono) {
        wake = s_min (c->next_hb, c->next_resync);
        wake = s_min (wake, now < c->active_mono ? c->active_mono : c->next_pass);
    }
    /* peers expire on time even when nothing else happens */
    return s_min (wake, now + c->o.member_timeout_ms * MS / 4);
}

/* hs_daemon's setup: join, subscribe to the peers, watch, and put it all
 * on the loop. 0, or 1 after a logged error. */
static int s_setup (void *arg, hs_loop_t *loop)
{
    hs_ctrl_t *c = arg;
    const hs_ctrl_ops_t *ops = c->ops;
    c->loop = loop;
    c->pass_hist = hs_hist_new ("pass_duration_seconds", NULL, 0);
    int r = hs_client_new (c->o.bus, ops->component, c->o.instance, JOIN_TIMEOUT_MS, &c->client);
    if (r < 0) {
        log_error ("cannot join the bus at %s: %s", hs_s (c->o.bus ? c->o.bus : getenv ("HS_BUS")),
                   strerror (-r));
        return 1;
    }
    c->instance = hs_bus_instance (hs_client_bus (c->client));
    s_members_refresh (c, hs_mono_ns ());
    _cleanup_free_ char *prefix = hs_sprintf ("hb.%s.", ops->role);
    r = hs_client_on (c->client, prefix, s_on_peer, c);
    if (r < 0) {
        log_error ("cannot subscribe to %s: %s", prefix, strerror (-r));
        return 1;
    }
    if (ops->start && ops->start (ops->arg, c) != 0) return 1;
    hs_watch_opts_t wo = {.kinds = ops->kinds,
                          .n_kinds = ops->n_kinds,
                          .local_store = c->o.local_store,
                          .fn = ops->on_change,
                          .arg = ops->arg};
    c->watch = hs_client_watch (c->client, &wo);
    if (!c->watch) {
        log_error ("cannot watch");
        return 1;
    }
    r = hs_client_attach (c->client, loop);
    if (r < 0) {
        log_error ("cannot put the bus on the loop: %s", strerror (-r));
        return 1;
    }
    /* No heartbeat before the snapshot is in: peers give up a member's
     * share when they hear it, and it cannot act on it before then. */
    c->next_hb = hs_mono_ns () + c->o.hb_ms * MS;
    c->tick = hs_loop_turn (loop, s_tick, c);
    return 0;
}

static void s_teardown (void *arg)
{
    hs_ctrl_t *c = arg;
    hs_loop_turn_free (&c->tick);
    while (c->n_fds) hs_ctrl_fd_remove (c, c->fds[0]->fd);
    hs_client_destroy (&c->client);
    hs_members_destroy (&c->members);
    hs_hist_destroy (&c->pass_hist);
    free (c->fds);
}

int hs_ctrl_run (const hs_ctrl_opts_t *opts, const hs_ctrl_ops_t *ops)
{
    hs_ctrl_t c = {.o = *opts, .ops = ops, .next_pass = INT64_MAX};
    if (!c.o.hb_ms) c.o.hb_ms = 250;
    if (!c.o.member_timeout_ms) c.o.member_timeout_ms = 1000;
    if (!c.o.resync_ms) c.o.resync_ms = 10000;
    c.started_at_ns = hs_now_ns ();
    gethostname (c.host, sizeof c.host - 1);
    hs_daemon_t d = {.name = ops->component, .setup = s_setup, .teardown = s_teardown};
    return hs_daemon_run (&d, &c);
}
