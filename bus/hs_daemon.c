/*  hs_daemon.c: the daemon skeleton (hs_daemon.h). */
#include "hs_daemon.h"
#include "hs_log.h"
#include "hs_notify.h"
#include "hs_util.h"

#include <errno.h>
#include <string.h>

/* The daemon's options and --help, for getopt_long. Caller frees. */
static struct option *s_options (const hs_daemon_t *d)
{
    size_t n = 0;
    while (d->options && d->options[n].name) n++;
    struct option *all = hs_calloc (n + 2, sizeof *all);
    if (n) memcpy (all, d->options, n * sizeof *all);
    all[n] = (struct option){"help", no_argument, NULL, 'h'};
    return all;
}

int hs_daemon_parse (const hs_daemon_t *d, void *self, int argc, char **argv)
{
    _cleanup_free_ struct option *all = s_options (d);
    _cleanup_free_ char *so = hs_sprintf (":h%s", hs_s (d->shortopts));
    int ch;
    optind = 1;
    opterr = 0; /* we say what was wrong, naming the program once */
    while ((ch = getopt_long (argc, argv, so, all, NULL)) != -1) {
        if (ch == 'h') {
            d->usage (stdout);
            return -1;
        }
        if (ch == '?' || ch == ':') {
            const char *what = ch == ':' ? "needs a value" : "unknown option";
            fprintf (stderr, "%s: %s: %s\n", d->name, argv[optind - 1], what);
            d->usage (stderr);
            return 2;
        }
        if (!d->flag || d->flag (self, ch, optarg) < 0) return 2;
    }
    if (d->check) return d->check (self, argc - optind, argv + optind) < 0 ? 2 : 0;
    if (optind < argc) {
        fprintf (stderr, "%s: unexpected argument: %s\n", d->name, argv[optind]);
        d->usage (stderr);
        return 2;
    }
    return 0;
}

int hs_daemon_main (const hs_daemon_t *d, void *self, int argc, char **argv)
{
    hs_log_init (d->name);
    int rc = hs_daemon_parse (d, self, argc, argv);
    if (rc != 0) return rc < 0 ? 0 : rc;
    return hs_daemon_run (d, self);
}

int hs_daemon_run (const hs_daemon_t *d, void *self)
{
    int rc;
    hs_loop_t *loop = NULL;
    int r = hs_loop_new (&loop);
    if (r < 0) {
        log_error ("cannot make the event loop: %s", strerror (-r));
        return 1;
    }
    rc = d->setup (self, loop);
    if (rc == 0) {
        rc = hs_loop_run (loop);
        hs_notify_stopping ();
    }
    if (d->teardown) d->teardown (self);
    hs_loop_destroy (&loop);
    return rc;
}

int hs_daemon_int (const char *prog, const char *flag, const char *value, int64_t min, int64_t max,
                   int64_t *ret)
{
    int64_t v;
    if (hs_parse_i64 (value, &v) < 0 || v < min || v > max) {
        fprintf (stderr, "%s: %s: not a number from %lld to %lld: %s\n", prog, flag, (long long)min,
                 (long long)max, value);
        return -1;
    }
    *ret = v;
    return 0;
}

int hs_daemon_ms (const char *prog, const char *flag, const char *value, int64_t max_ms,
                  int64_t *ret_ns)
{
    int64_t v;
    if (hs_parse_i64 (value, &v) < 0 || v <= 0 || v > max_ms) {
        fprintf (stderr, "%s: %s: not a positive number of milliseconds: %s\n", prog, flag, value);
        return -1;
    }
    *ret_ns = v * 1000000LL;
    return 0;
}

int hs_daemon_seconds (const char *prog, const char *flag, const char *value, int64_t max_s,
                       int64_t *ret_ns)
{
    int64_t v;
    if (hs_parse_i64 (value, &v) < 0 || v < 0 || v > max_s) {
        fprintf (stderr, "%s: %s: not a number of seconds: %s\n", prog, flag, value);
        return -1;
    }
    *ret_ns = v * 1000000000LL;
    return 0;
}
