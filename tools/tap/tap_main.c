/*  tap_main.c: hs-tap, the bus tap: shows, filters, counts, records and
 *  replays bus traffic (docs/architecture.md §6). The wiring only; what a message looks like
 *  is tap_fmt.c, the recording format tap_rec.c, the rate table tap_stats.c.
 *
 *  It reads raw frames (hs_bus_recv_raw), so it shows garbage too, and never
 *  trusts a byte of it.
 */
#include "hs_bus.h"
#include "hs_daemon.h"
#include "hs_log.h"
#include "hs_util.h"
#include "tap_fmt.h"
#include "tap_rec.h"
#include "tap_stats.h"

#include <errno.h>
#include <signal.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define JOIN_TIMEOUT_MS 5000
#define STATS_EVERY_NS  1000000000LL

static void s_usage (FILE *f)
{
    fprintf (
        f,
        "usage: hs-tap [--bus ADDR] [--credential FILE | --insecure] [PREFIX...]\n"
        "              [--exclude PREFIX]... [-o line|json]\n"
        "              [-c N] [--stats] [-w FILE [-q]] [-r FILE] [--show-secrets]\n"
        "Shows the messages on the Homeostat bus whose topic starts with one of the\n"
        "PREFIXes (default: all), decoded from the schema; garbage is shown too.\n"
        "  --bus ADDR          the bus (default $HS_BUS, then %s)\n"
        "  --credential FILE   the bus credential (default $HS_CREDENTIAL); cmd.* lines\n"
        "                      show hs-bus's identity stamp as SENDER [identity]\n"
        "  --insecure          a bus without authentication (also HS_INSECURE=1)\n"
        "  -x, --exclude P     hide topics starting with P (repeatable)\n"
        "  -o, --output line   one line per message (default):\n"
        "                        HH:MM:SS.mmm  SENDER  TOPIC  SUMMARY\n"
        "                      times are the sender's clock (sent_at_ns) in UTC;\n"
        "                      garbage: recv time, ? or sender, GARBAGE (reason) ...\n"
        "  -o, --output json   one JSON object per line: {\"time\" (RFC 3339, UTC),\n"
        "                      \"topic\", \"size\", \"envelope\"} (and \"identity\", hs-bus's\n"
        "                      stamp, on cmd.*), or for garbage\n"
        "                      {\"time\", \"topic\", \"garbage\": reason, \"size\", ...}\n"
        "  -c, --count N       exit after N messages\n"
        "      --stats         instead of messages, print messages/s and bytes/s per\n"
        "                      topic group (ev.pod, cmd.pod, hb.store, ack, ...) every\n"
        "                      second; with -r, one table for the whole recording\n"
        "  -w, --write FILE    also record the messages shown (raw frames, garbage\n"
        "                      included) to FILE; the format is in tools/tap/tap_rec.h\n"
        "  -q, --quiet         with -w: record only, print nothing\n"
        "  -r, --read FILE     show a recording instead of the live bus (- = stdin);\n"
        "                      filters and output options apply as live\n"
        "      --show-secrets  show Secrets' values (needs an admin credential on a\n"
        "                      secured bus); without it every Secret's data shows as\n"
        "                      \"<redacted N bytes>\", in recordings too\n"
        "Live, only messages sent after the tap subscribed are seen; it says\n"
        "\"hs-tap: listening on ADDR\" on stderr once subscribed. Ctrl-C (or\n"
        "SIGTERM) stops it cleanly. Exit status: 0, 1 on a bus or file error, 2 usage.\n",
        HS_BUS_DEFAULT);
}

typedef struct {
    /* flags */
    const char *bus_addr, *read_path, *write_path;
    const char **include, **exclude;
    /* running */
    hs_loop_t *loop;
    hs_bus_t *bus;
    hs_loop_zsock_t *in;
    bool listening;        /* joined: the stats at exit are worth printing */
    hs_loop_timer_t *tick; /* --stats: every second; -r: the next records */
    FILE *replay;
    int64_t first, last, msgs, last_tick;
    tap_filter_t filter;
    bool json, stats, quiet;
    /* --show-secrets: live, only with an admin credential (s_live_start);
     * on an insecure bus anyone reads Secrets anyway. */
    bool show_secrets;
    int64_t count; /* 0: no limit */
    int64_t shown;
    FILE *rec;
    const char *rec_path;
    tap_stats_t *st;
    char own_echo[128]; /* our own hs_bus_join pings: not bus traffic */
    int rc;             /* set on an output error */
} self_t;

static void s_stop (self_t *self)
{
    hs_loop_exit (self->loop, self->rc);
}

/* stdout went away (hs-tap | head): stop quietly. Any other write error: 1. */
static bool s_output_ok (self_t *self)
{
    if (!ferror (stdout)) return true;
    if (errno != EPIPE) {
        fprintf (stderr, "hs-tap: cannot write output: %s\n", strerror (errno));
        self->rc = 1;
    }
    s_stop (self);
    return false;
}

static void s_flush (self_t *self)
{
    if (fflush (stdout) != 0) s_output_ok (self);
    if (self->rec && fflush (self->rec) != 0) {
        fprintf (stderr, "hs-tap: cannot write %s: %s\n", self->rec_path, strerror (errno));
        self->rc = 1;
        s_stop (self);
    }
}

/* Handles one message; returns true when -c is reached. */
static bool s_handle (self_t *self, const tap_msg_t *m)
{
    const hs_frame_t *topic = &m->frames[0];
    if (!tap_filter_match (&self->filter, topic)) return false;
    if (*self->own_echo && topic->len == strlen (self->own_echo) &&
        memcmp (topic->data, self->own_echo, topic->len) == 0)
        return false;
    tap_msg_t shown = *m;
    shown.show_secrets = self->show_secrets;
    m = &shown;
    if (self->rec) {
        /* a recording is a file: Secrets redacted in it too */
        hs_frame_t *redacted = NULL;
        bool red = !self->show_secrets && tap_redact_frames (m, &redacted) == 1;
        int r = tap_rec_write (self->rec, m->recv_ns, red ? redacted : m->frames, m->n);
        if (red) hs_bus_frames_free (redacted, m->n);
        if (r < 0 && r != -EINVAL) {
            fprintf (stderr, "hs-tap: cannot write %s: %s\n", self->rec_path, strerror (-r));
            self->rc = 1;
            s_stop (self);
            return true;
        }
    }
    if (self->stats) {
        char group[80];
        Hs__Envelope *env = NULL;
        hs_garbage_t reason;
        bool garbage = hs_bus_decode (m->frames, m->n, &env, &reason) < 0;
        hs_pb_free (env);
        tap_stats_add (self->st, tap_topic_group (topic, group, sizeof group), tap_msg_size (m),
                       garbage);
    } else if (!self->quiet) {
        char *text = self->json ? tap_fmt_json (m) : tap_fmt_line (m);
        fputs (text, stdout);
        fputc ('\n', stdout);
        free (text);
        s_output_ok (self);
    }
    self->shown++;
    return self->count && self->shown >= self->count;
}

static void s_print_stats (self_t *self, int64_t now_ns, int64_t interval_ns)
{
    char clock[32];
    char *table = tap_stats_take (self->st, interval_ns);
    printf ("--- %s UTC, over %.2f s\n%s", tap_fmt_clock (now_ns, clock, sizeof clock),
            interval_ns / 1e9, table);
    free (table);
    s_flush (self);
}

/* -r: a recording instead of the bus, RECORDS_PER_TURN records a turn of
 * the loop so a signal is heard between them. */
#define RECORDS_PER_TURN 1024

static void s_replay_done (self_t *self, bool ok)
{
    if (ok && self->stats)
        s_print_stats (self, self->last, self->last > self->first ? self->last - self->first : 0);
    s_flush (self);
    hs_loop_exit (self->loop, self->rc);
}

static void s_replay_some (void *arg)
{
    self_t *self = arg;
    char *error = NULL;
    for (int i = 0; i < RECORDS_PER_TURN; i++) {
        int64_t recv_ns;
        hs_frame_t *frames;
        size_t n;
        int r = tap_rec_read (self->replay, &recv_ns, &frames, &n, &error);
        if (r <= 0) {
            if (r < 0) {
                s_flush (self);
                fprintf (stderr, "hs-tap: %s: %s (after %lld good messages)\n", self->read_path,
                         error, (long long)self->msgs);
                self->rc = 1;
            }
            free (error);
            s_replay_done (self, r == 0);
            return;
        }
        if (self->msgs++ == 0) self->first = recv_ns;
        self->last = recv_ns;
        tap_msg_t m = {frames, n, recv_ns, false};
        bool done = s_handle (self, &m);
        hs_bus_frames_free (frames, n);
        if (done || hs_loop_exiting (self->loop)) {
            s_replay_done (self, true);
            return;
        }
    }
    hs_loop_timer_set (self->tick, hs_mono_ns ());
}

static int s_replay_start (self_t *self)
{
    const char *path = self->read_path;
    self->replay = strcmp (path, "-") == 0 ? stdin : fopen (path, "rbe");
    if (!self->replay) {
        fprintf (stderr, "hs-tap: cannot open %s: %s\n", path, strerror (errno));
        return 1;
    }
    char *error = NULL;
    if (tap_rec_read_header (self->replay, &error) < 0) {
        fprintf (stderr, "hs-tap: %s: %s\n", path, error);
        free (error);
        return 1;
    }
    self->tick = hs_loop_timer (self->loop, hs_mono_ns (), s_replay_some, self);
    return 0;
}

/* Messages from the bus: a bounded batch, then the loop looks again. Idle
 * is a good moment to push out what is buffered. */
static void s_on_bus (void *arg)
{
    self_t *self = arg;
    for (int i = 0; i < 1024 && !hs_loop_exiting (self->loop); i++) {
        hs_frame_t *frames;
        size_t n;
        int r = hs_bus_recv_raw (self->bus, &frames, &n, 0);
        if (r == -EAGAIN || r == -EINTR) break;
        if (r < 0) {
            fprintf (stderr, "hs-tap: receive failed: %s\n", strerror (-r));
            self->rc = 1;
            s_stop (self);
            return;
        }
        tap_msg_t m = {frames, n, hs_now_ns (), false};
        bool done = n > 0 && s_handle (self, &m);
        hs_bus_frames_free (frames, n);
        if (done) s_stop (self);
    }
    s_flush (self);
}

static void s_on_stats (void *arg)
{
    self_t *self = arg;
    int64_t now = hs_mono_ns ();
    s_print_stats (self, hs_now_ns (), now - self->last_tick);
    self->last_tick = now;
    hs_loop_timer_set (self->tick, now + STATS_EVERY_NS);
}

static int s_live_start (self_t *self)
{
    const char *bus_addr = self->bus_addr;
    const char *shown_addr = !hs_empty (bus_addr)            ? bus_addr
                             : !hs_empty (getenv ("HS_BUS")) ? getenv ("HS_BUS")
                                                             : HS_BUS_DEFAULT;
    int r = hs_bus_connect (bus_addr, "hs-tap", NULL, &self->bus);
    if (r < 0) {
        fprintf (stderr, "error: cannot connect to the bus at %s: %s\n", shown_addr, strerror (-r));
        return r == -EINVAL ? 2 : 1;
    }
    const char *me = hs_bus_identity (self->bus);
    if (self->show_secrets && me && !hs_startswith (me, "admin:")) {
        fprintf (stderr,
                 "error: --show-secrets needs an admin credential; this tap is \"%s\" "
                 "(Secrets show redacted without it)\n",
                 me);
        return 2;
    }
    if (self->filter.n_include == 0) hs_bus_subscribe (self->bus, "");
    for (size_t i = 0; i < self->filter.n_include; i++)
        hs_bus_subscribe (self->bus, self->filter.include[i]);
    snprintf (self->own_echo, sizeof self->own_echo, "echo.%s/", hs_bus_instance (self->bus));
    if (hs_bus_join (self->bus, JOIN_TIMEOUT_MS) < 0) {
        fprintf (stderr, "error: cannot reach the bus at %s: is hs-bus running?\n", shown_addr);
        return 1;
    }
    /* Like tcpdump: on stderr, so scripts can wait for it and stdout stays data. */
    fprintf (stderr, "hs-tap: listening on %s\n", shown_addr);
    self->listening = true;
    /* What arrived while joining was decoded and queued by hs_bus_join (garbage
     * then was counted, not kept): show it as the bytes it came as. */
    bool done = false;
    while (!done && hs_bus_pending (self->bus)) {
        char *topic;
        Hs__Envelope *env;
        if (hs_bus_recv (self->bus, &topic, &env, 0) < 0) break;
        hs_frame_t frames[2] = {{(uint8_t *)topic, strlen (topic)}, {NULL, 0}};
        frames[1].data = hs_pb_pack (env, &frames[1].len);
        tap_msg_t m = {frames, 2, hs_now_ns (), false};
        done = s_handle (self, &m);
        free (frames[1].data);
        free (topic);
        hs_pb_free (env);
    }
    if (done) {
        s_flush (self);
        s_stop (self);
        return 0;
    }
    self->in = hs_loop_zsock (self->loop, hs_bus_sub_socket (self->bus), s_on_bus, NULL, self);
    if (!self->in) return 1;
    /* several brokers: the tap follows one, and moves when it goes quiet */
    if (hs_bus_attach (self->bus, self->loop) < 0) return 1;
    self->last_tick = hs_mono_ns ();
    if (self->stats)
        self->tick = hs_loop_timer (self->loop, self->last_tick + STATS_EVERY_NS, s_on_stats, self);
    return 0;
}

/* ------------------------------------------------------------------ the program */

static int s_flag (void *arg, int ch, const char *value)
{
    self_t *self = arg;
    switch (ch) {
    case 'b': self->bus_addr = value; return 0;
    case 'S': self->show_secrets = true; return 0;
    /* the bus library's process-wide choice, before we connect (hs_bus.h) */
    case 'K': hs_bus_use_credential (value); return 0;
    case 'I': hs_bus_use_insecure (); return 0;
    case 'x': self->exclude[self->filter.n_exclude++] = value; return 0;
    case 'o':
        if (strcmp (value, "json") == 0)
            self->json = true;
        else if (strcmp (value, "line") != 0) {
            fprintf (stderr, "hs-tap: -o: expected line or json, not %s\n", value);
            return -1;
        }
        return 0;
    case 'c': return hs_daemon_int ("hs-tap", "-c", value, 1, INT64_MAX, &self->count);
    case 's': self->stats = true; return 0;
    case 'w': self->write_path = value; return 0;
    case 'r': self->read_path = value; return 0;
    case 'q': self->quiet = true; return 0;
    default: return -1;
    }
}

static int s_check (void *arg, int argc, char **argv)
{
    self_t *self = arg;
    for (int i = 0; i < argc; i++) self->include[self->filter.n_include++] = argv[i];
    self->filter.include = self->include;
    self->filter.exclude = self->exclude;
    return 0;
}

/* A hang-up (the terminal closed) stops the tap, as it did before the
 * loop blocked SIGHUP for every daemon. */
static void s_on_hangup (void *arg, int signo)
{
    self_t *self = arg;
    (void)signo;
    s_stop (self);
}

static int s_setup (void *arg, hs_loop_t *loop)
{
    self_t *self = arg;
    self->loop = loop;
    int r = hs_loop_signal (loop, SIGHUP, s_on_hangup, self);
    if (r < 0) {
        fprintf (stderr, "hs-tap: cannot handle SIGHUP: %s\n", strerror (-r));
        return 1;
    }
    if (self->write_path) {
        self->rec_path = self->write_path;
        self->rec = fopen (self->write_path, "wbe");
        if (!self->rec || tap_rec_write_header (self->rec) < 0) {
            fprintf (stderr, "hs-tap: cannot write %s: %s\n", self->write_path, strerror (errno));
            return 1;
        }
    }
    if (self->stats) self->st = tap_stats_new ();
    return self->read_path ? s_replay_start (self) : s_live_start (self);
}

static void s_teardown (void *arg)
{
    self_t *self = arg;
    if (self->listening) {
        if (self->stats) s_print_stats (self, hs_now_ns (), hs_mono_ns () - self->last_tick);
        s_flush (self);
    }
    hs_loop_zsock_free (&self->in);
    hs_loop_timer_free (&self->tick);
    hs_bus_destroy (&self->bus);
    if (self->replay && self->replay != stdin) fclose (self->replay);
    if (self->rec && fclose (self->rec) != 0) {
        fprintf (stderr, "hs-tap: cannot write %s: %s\n", self->write_path, strerror (errno));
        self->rc = 1;
    }
    tap_stats_destroy (&self->st);
}

static const struct option s_options[] = {
    {"bus", required_argument, 0, 'b'},    {"credential", required_argument, 0, 'K'},
    {"insecure", no_argument, 0, 'I'},     {"exclude", required_argument, 0, 'x'},
    {"output", required_argument, 0, 'o'}, {"count", required_argument, 0, 'c'},
    {"stats", no_argument, 0, 's'},        {"write", required_argument, 0, 'w'},
    {"read", required_argument, 0, 'r'},   {"quiet", no_argument, 0, 'q'},
    {"show-secrets", no_argument, 0, 'S'}, {0, 0, 0, 0}};

static const hs_daemon_t s_program = {.name = "hs-tap",
                                      .usage = s_usage,
                                      .options = s_options,
                                      .shortopts = "b:x:o:c:w:r:q",
                                      .flag = s_flag,
                                      .check = s_check,
                                      .setup = s_setup,
                                      .teardown = s_teardown};

int main (int argc, char **argv)
{
    self_t self = {0};
    self.include = hs_calloc ((size_t)argc + 1, sizeof *self.include);
    self.exclude = hs_calloc ((size_t)argc + 1, sizeof *self.exclude);
    int rc = hs_daemon_main (&s_program, &self, argc, argv);
    free (self.include);
    free (self.exclude);
    return rc ? rc : self.rc;
}
