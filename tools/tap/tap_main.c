/*  tap_main.c: hs-tap, the bus tap: shows, filters, counts, records and
 *  replays bus traffic (DESIGN §2). The wiring only; what a message looks like
 *  is tap_fmt.c, the recording format tap_rec.c, the rate table tap_stats.c.
 *
 *  It reads raw frames (hs_bus_recv_raw), so it shows garbage too, and never
 *  trusts a byte of it.
 */
#include "hs_bus.h"
#include "hs_log.h"
#include "hs_util.h"
#include "tap_fmt.h"
#include "tap_rec.h"
#include "tap_stats.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define JOIN_TIMEOUT_MS 5000
#define STATS_EVERY_NS  1000000000LL

static volatile sig_atomic_t s_stop;
static void s_on_signal (int sig)
{
    (void)sig;
    s_stop = 1;
}

static void s_usage (FILE *f)
{
    fprintf (f,
             "usage: hs-tap [--bus ADDR] [PREFIX...] [--exclude PREFIX]... [-o line|json]\n"
             "              [-c N] [--stats] [-w FILE [-q]] [-r FILE]\n"
             "Shows the messages on the Homeostat bus whose topic starts with one of the\n"
             "PREFIXes (default: all), decoded from the schema; garbage is shown too.\n"
             "  --bus ADDR          the bus (default $HS_BUS, then %s)\n"
             "  -x, --exclude P     hide topics starting with P (repeatable)\n"
             "  -o, --output line   one line per message (default):\n"
             "                        HH:MM:SS.mmm  SENDER  TOPIC  SUMMARY\n"
             "                      times are the sender's clock (sent_at_ns) in UTC;\n"
             "                      garbage: recv time, ? or sender, GARBAGE (reason) ...\n"
             "  -o, --output json   one JSON object per line: {\"time\" (RFC 3339, UTC),\n"
             "                      \"topic\", \"size\", \"envelope\"}, or for garbage\n"
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
             "Live, only messages sent after the tap subscribed are seen; it says\n"
             "\"hs-tap: listening on ADDR\" on stderr once subscribed. Ctrl-C (or\n"
             "SIGTERM) stops it cleanly. Exit status: 0, 1 on a bus or file error, 2 usage.\n",
             HS_BUS_DEFAULT);
}

typedef struct {
    tap_filter_t filter;
    bool json, stats, quiet;
    int64_t count; /* 0: no limit */
    int64_t shown;
    FILE *rec;
    const char *rec_path;
    tap_stats_t *st;
    char own_echo[128]; /* our own hs_bus_join pings: not bus traffic */
    int rc;             /* set on an output error */
} self_t;

/* stdout went away (hs-tap | head): stop quietly. Any other write error: 1. */
static bool s_output_ok (self_t *self)
{
    if (!ferror (stdout)) return true;
    if (errno != EPIPE) {
        fprintf (stderr, "hs-tap: cannot write output: %s\n", strerror (errno));
        self->rc = 1;
    }
    s_stop = 1;
    return false;
}

static void s_flush (self_t *self)
{
    if (fflush (stdout) != 0) s_output_ok (self);
    if (self->rec && fflush (self->rec) != 0) {
        fprintf (stderr, "hs-tap: cannot write %s: %s\n", self->rec_path, strerror (errno));
        self->rc = 1;
        s_stop = 1;
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
    if (self->rec) {
        int r = tap_rec_write (self->rec, m->recv_ns, m->frames, m->n);
        if (r < 0 && r != -EINVAL) {
            fprintf (stderr, "hs-tap: cannot write %s: %s\n", self->rec_path, strerror (-r));
            self->rc = 1;
            s_stop = 1;
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

/* -r: a recording instead of the bus. */
static int s_replay (self_t *self, const char *path)
{
    FILE *f = strcmp (path, "-") == 0 ? stdin : fopen (path, "rbe");
    if (!f) {
        fprintf (stderr, "hs-tap: cannot open %s: %s\n", path, strerror (errno));
        return 1;
    }
    char *error = NULL;
    int rc = 0;
    int64_t first = 0, last = 0, msgs = 0;
    if (tap_rec_read_header (f, &error) < 0) {
        fprintf (stderr, "hs-tap: %s: %s\n", path, error);
        rc = 1;
    }
    while (rc == 0 && !s_stop) {
        int64_t recv_ns;
        hs_frame_t *frames;
        size_t n;
        int r = tap_rec_read (f, &recv_ns, &frames, &n, &error);
        if (r == 0) break;
        if (r < 0) {
            s_flush (self);
            fprintf (stderr, "hs-tap: %s: %s (after %lld good messages)\n", path, error,
                     (long long)msgs);
            rc = 1;
            break;
        }
        if (msgs++ == 0) first = recv_ns;
        last = recv_ns;
        tap_msg_t m = {frames, n, recv_ns};
        bool done = s_handle (self, &m);
        hs_bus_frames_free (frames, n);
        if (done) break;
    }
    if (rc == 0 && self->stats) s_print_stats (self, last, last > first ? last - first : 0);
    free (error);
    if (f != stdin) fclose (f);
    s_flush (self);
    return rc ? rc : self->rc;
}

static int s_live (self_t *self, const char *bus_addr)
{
    const char *shown_addr = !hs_empty (bus_addr)            ? bus_addr
                             : !hs_empty (getenv ("HS_BUS")) ? getenv ("HS_BUS")
                                                             : HS_BUS_DEFAULT;
    hs_bus_t *bus = NULL;
    int r = hs_bus_connect (bus_addr, "hs-tap", NULL, &bus);
    if (r < 0) {
        fprintf (stderr, "error: cannot connect to the bus at %s: %s\n", shown_addr, strerror (-r));
        return r == -EINVAL ? 2 : 1;
    }
    if (self->filter.n_include == 0) hs_bus_subscribe (bus, "");
    for (size_t i = 0; i < self->filter.n_include; i++)
        hs_bus_subscribe (bus, self->filter.include[i]);
    snprintf (self->own_echo, sizeof self->own_echo, "echo.%s/", hs_bus_instance (bus));
    if (hs_bus_join (bus, JOIN_TIMEOUT_MS) < 0) {
        fprintf (stderr, "error: cannot reach the bus at %s: is hs-bus running?\n", shown_addr);
        hs_bus_destroy (&bus);
        return 1;
    }
    /* Like tcpdump: on stderr, so scripts can wait for it and stdout stays data. */
    fprintf (stderr, "hs-tap: listening on %s\n", shown_addr);
    bool done = false;
    /* What arrived while joining was decoded and queued by hs_bus_join (garbage
     * then was counted, not kept): show it as the bytes it came as. */
    while (!done && hs_bus_pending (bus)) {
        char *topic;
        Hs__Envelope *env;
        if (hs_bus_recv (bus, &topic, &env, 0) < 0) break;
        hs_frame_t frames[2] = {{(uint8_t *)topic, strlen (topic)}, {NULL, 0}};
        frames[1].data = hs_pb_pack (env, &frames[1].len);
        tap_msg_t m = {frames, 2, hs_now_ns ()};
        done = s_handle (self, &m);
        free (frames[1].data);
        free (topic);
        hs_pb_free (env);
    }
    int64_t last_tick = hs_mono_ns (), next_tick = last_tick + STATS_EVERY_NS;
    while (!done && !s_stop) {
        hs_frame_t *frames;
        size_t n;
        r = hs_bus_recv_raw (bus, &frames, &n, 0);
        if (r == -EAGAIN) {
            /* Idle: a good moment to push out what is buffered. */
            s_flush (self);
            int wait_ms = 1000;
            if (self->stats) wait_ms = (int)((next_tick - hs_mono_ns ()) / 1000000) + 1;
            if (wait_ms < 0) wait_ms = 0;
            r = hs_bus_recv_raw (bus, &frames, &n, wait_ms);
        }
        if (r == 0) {
            tap_msg_t m = {frames, n, hs_now_ns ()};
            done = n > 0 && s_handle (self, &m);
            hs_bus_frames_free (frames, n);
        } else if (r != -EAGAIN && r != -EINTR) {
            fprintf (stderr, "hs-tap: receive failed: %s\n", strerror (-r));
            self->rc = 1;
            break;
        }
        int64_t now = hs_mono_ns ();
        if (self->stats && now >= next_tick) {
            s_print_stats (self, hs_now_ns (), now - last_tick);
            last_tick = now;
            next_tick = now + STATS_EVERY_NS;
        }
    }
    if (self->stats) s_print_stats (self, hs_now_ns (), hs_mono_ns () - last_tick);
    s_flush (self);
    hs_bus_destroy (&bus);
    return self->rc;
}

int main (int argc, char **argv)
{
    hs_log_init ("hs-tap");
    const char *bus_addr = NULL, *read_path = NULL, *write_path = NULL;
    self_t self = {0};
    const char **include = hs_calloc ((size_t)argc + 1, sizeof *include);
    const char **exclude = hs_calloc ((size_t)argc + 1, sizeof *exclude);
    static struct option opts[] = {
        {"bus", required_argument, 0, 'b'},    {"exclude", required_argument, 0, 'x'},
        {"output", required_argument, 0, 'o'}, {"count", required_argument, 0, 'c'},
        {"stats", no_argument, 0, 's'},        {"write", required_argument, 0, 'w'},
        {"read", required_argument, 0, 'r'},   {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    int c, rc = 0;
    while ((c = getopt_long (argc, argv, "b:x:o:c:w:r:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'b': bus_addr = optarg; break;
        case 'x': exclude[self.filter.n_exclude++] = optarg; break;
        case 'o':
            if (strcmp (optarg, "json") == 0)
                self.json = true;
            else if (strcmp (optarg, "line") != 0) {
                fprintf (stderr, "hs-tap: -o: expected line or json, not %s\n", optarg);
                rc = 2;
            }
            break;
        case 'c':
            if (hs_parse_i64 (optarg, &self.count) < 0 || self.count < 1) {
                fprintf (stderr, "hs-tap: -c: not a positive count: %s\n", optarg);
                rc = 2;
            }
            break;
        case 's': self.stats = true; break;
        case 'w': write_path = optarg; break;
        case 'r': read_path = optarg; break;
        case 'q': self.quiet = true; break;
        case 'h': s_usage (stdout); goto out;
        default: s_usage (stderr); rc = 2;
        }
    }
    for (int i = optind; i < argc; i++) include[self.filter.n_include++] = argv[i];
    self.filter.include = include;
    self.filter.exclude = exclude;
    if (rc) goto out;

    struct sigaction sa = {0};
    sa.sa_handler = s_on_signal; /* no SA_RESTART: poll must return EINTR */
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGTERM, &sa, NULL);
    signal (SIGPIPE, SIG_IGN);

    if (write_path) {
        self.rec_path = write_path;
        self.rec = fopen (write_path, "wbe");
        if (!self.rec || tap_rec_write_header (self.rec) < 0) {
            fprintf (stderr, "hs-tap: cannot write %s: %s\n", write_path, strerror (errno));
            rc = 1;
            goto out;
        }
    }
    if (self.stats) self.st = tap_stats_new ();
    rc = read_path ? s_replay (&self, read_path) : s_live (&self, bus_addr);
    if (self.rec && fclose (self.rec) != 0) {
        fprintf (stderr, "hs-tap: cannot write %s: %s\n", write_path, strerror (errno));
        rc = 1;
    }
    self.rec = NULL;
out:
    if (self.rec) fclose (self.rec);
    tap_stats_destroy (&self.st);
    free (include);
    free (exclude);
    return rc;
}
