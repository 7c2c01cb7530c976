/*  hs_daemon.h: the skeleton every Homeostat daemon's main() is.
 *
 *      int main (int argc, char **argv)
 *      {
 *          self_t self = {...defaults...};
 *          return hs_daemon_main (&s_daemon, &self, argc, argv);
 *      }
 *
 *  hs_daemon_main: starts logging under the daemon's name; parses the
 *  command line (getopt_long over d->options, -h/--help added), handing
 *  each flag to d->flag; makes the loop (hs_loop_new: the stop signals are
 *  blocked before any thread exists); calls d->setup, which connects,
 *  opens and adds its sources; runs the loop until a stop signal or
 *  hs_loop_exit; tells systemd STOPPING=1; calls d->teardown; frees the
 *  loop.
 *
 *  Exit codes: 0 after --help or a stop signal; 2 for a usage error (the
 *  usage on stderr; systemd units never restart on 2); 1 when setup or the
 *  loop failed.
 */
#ifndef HS_DAEMON_H
#define HS_DAEMON_H

#include <getopt.h>
#include <stdio.h>

#include "hs_loop.h"

typedef struct {
    const char *name;             /* "hs-store": the log prefix and the program in messages */
    void (*usage) (FILE *f);      /* the whole --help text */
    const struct option *options; /* getopt_long table ending in a zeroed entry; may be NULL */
    const char *shortopts;        /* may be NULL */
    /* One flag: 0, or -1 after a message on stderr that names the flag
     * (exit 2). ch is the option's val. */
    int (*flag) (void *self, int ch, const char *value);
    /* After the flags (argv[optind..] are the positional arguments):
     * 0, or -1 after a message (exit 2). May be NULL (then positional
     * arguments are a usage error). */
    int (*check) (void *self, int argc, char **argv);
    /* Sets up and adds sources to loop. 0 to run, or the exit code after
     * a logged error. */
    int (*setup) (void *self, hs_loop_t *loop);
    /* After the loop: frees what setup made. May be NULL. */
    void (*teardown) (void *self);
} hs_daemon_t;

int hs_daemon_main (const hs_daemon_t *d, void *self, int argc, char **argv);
/* hs_daemon_main after the command line: the loop, setup, run, teardown.
 * For daemons whose flags were parsed elsewhere (hs_ctrl_run). */
int hs_daemon_run (const hs_daemon_t *d, void *self);
/* hs_daemon_main's command line alone (d->setup is not used): 0 to go on,
 * -1 after --help (exit 0), or 2 after a usage error (said on stderr). */
int hs_daemon_parse (const hs_daemon_t *d, void *self, int argc, char **argv);

/* Flag helpers: parse value into *ret, or print "<prog>: <flag>: <why>: <value>"
 * on stderr and return -1. */
int hs_daemon_int (const char *prog, const char *flag, const char *value, int64_t min, int64_t max,
                   int64_t *ret);
/* Milliseconds, 1..max_ms, into nanoseconds. */
int hs_daemon_ms (const char *prog, const char *flag, const char *value, int64_t max_ms,
                  int64_t *ret_ns);
/* Seconds, 0..max_s, into nanoseconds. */
int hs_daemon_seconds (const char *prog, const char *flag, const char *value, int64_t max_s,
                       int64_t *ret_ns);

#endif
