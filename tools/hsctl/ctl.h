/*  ctl.h: what hsctl's verbs share: the global options, the connection to the
 *  bus and the store (with kubectl's error messages), and the verb table.
 *
 *  Every function that talks to the user prints its own error and returns -1
 *  (or a negative errno) so a verb only has to return 1.
 */
#ifndef CTL_H
#define CTL_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "ctl_comp.h"
#include "hs_client.h"
#include "hs_db.h"
#include "hs_manifest.h"
#include "hs_obj.h"
#include "hs_util.h"

typedef struct {
    const char *bus;  /* --bus, or NULL: $HS_BUS, then the default */
    const char *ns;   /* -n; "default" unless given */
    bool ns_given;    /* -n was on the command line */
    bool all_ns;      /* -A */
    int timeout_ms;   /* --request-timeout, default 10 s */
    const char *verb; /* for "See 'hsctl VERB --help'" */
    bool help;        /* -h/--help was given: the verb prints its usage */
    hs_client_t *client;
} ctl_t;

/* --------------------------------------------------------------- options */

/* Global options every verb accepts (ids above 255 are long-only). */
enum {
    CTL_OPT_BUS = 1000,
    CTL_OPT_TIMEOUT,
    CTL_OPT_CREDENTIAL,
    CTL_OPT_INSECURE,
    CTL_OPT_VERB_BASE = 1100
};

/* A verb's getopt_long tables, merged with the global ones. */
typedef struct {
    struct option longs[64];
    char shorts[96];
} ctl_getopt_t;

void ctl_getopt_build (ctl_getopt_t *g, const struct option *verb_longs, const char *verb_shorts);
/* Handles a global option: 1 handled, 0 not global, -1 bad value (printed). */
int ctl_global_opt (ctl_t *ctl, int c, const char *arg);
/* Prints kubectl's unknown-flag message for the current getopt state. */
void ctl_bad_flag (ctl_t *ctl, char **argv);
/* Runs getopt_long over argv with globals merged in; calls fn for each verb
 * option. Returns the index of the first positional (argv permuted), or -1
 * after printing an error. */
typedef int (ctl_opt_fn) (ctl_t *ctl, void *arg, int c, const char *optarg);
int ctl_parse (ctl_t *ctl, int argc, char **argv, const struct option *verb_longs,
               const char *verb_shorts, ctl_opt_fn *fn, void *arg);

/* Prints "error: MSG" and "See 'hsctl VERB -h' for help and examples." */
void ctl_usage_error (ctl_t *ctl, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* -f FILE, repeatable: appends to a growing list of borrowed argv strings. */
void ctl_add_file (char ***files, size_t *n, const char *path);
/* Loads every -f path into *m, all or nothing (-R: recursive). 0, or -1
 * after printing the loader's one-line error (file, document, field). */
int ctl_load_files (char *const *files, size_t n, bool recursive, hs_manifest_t *m);

/* Splits a "TYPE/NAME" argument in place: 0 with *ret_kind and *ret_name
 * (pointing into arg), or -1 after printing kubectl's error (no slash, an
 * empty or slashed name, an unknown type). */
int ctl_split_ref (char *arg, hs_kind_t *ret_kind, char **ret_name);

/* --------------------------------------------------------------- bus */

/* Connects once (later calls reuse it). 0, or -1 after printing
 * "error: cannot reach the bus at ADDR: is hs-bus running?". */
int ctl_connect (ctl_t *ctl);
/* The bus address the user meant ("127.0.0.1:7400" when nothing was set). */
const char *ctl_bus_addr (ctl_t *ctl);
/* A snapshot of `kinds` (NULL/0: all). 0 or -1 (printed). */
int ctl_snapshot (ctl_t *ctl, const hs_kind_t *kinds, size_t n, hs_db_snapshot_t *ret);
/* One command; 0 with the ack (whatever its code), or -1 (printed). */
int ctl_call (ctl_t *ctl, Hs__Write *const *writes, size_t n, bool dry_run, Hs__Ack **ret_ack);
/* "Unable to connect to the server: the store did not answer within 10s". */
void ctl_print_store_timeout (ctl_t *ctl);

/* --------------------------------------------------------------- verbs */

typedef int (ctl_verb_fn) (ctl_t *ctl, int argc, char **argv);

int ctl_apply_main (ctl_t *ctl, int argc, char **argv);
int ctl_create_main (ctl_t *ctl, int argc, char **argv);
int ctl_get_main (ctl_t *ctl, int argc, char **argv);
int ctl_describe_main (ctl_t *ctl, int argc, char **argv);
int ctl_delete_main (ctl_t *ctl, int argc, char **argv);
int ctl_replace_main (ctl_t *ctl, int argc, char **argv);
int ctl_cordon_main (ctl_t *ctl, int argc, char **argv);
int ctl_uncordon_main (ctl_t *ctl, int argc, char **argv);
int ctl_drain_main (ctl_t *ctl, int argc, char **argv);
int ctl_scale_main (ctl_t *ctl, int argc, char **argv);
int ctl_rollout_main (ctl_t *ctl, int argc, char **argv);
/* hsctl exec POD [-c C] -- CMD...: ctl_exec.c; exits with the command's status. */
int ctl_exec_main (ctl_t *ctl, int argc, char **argv);
/* Sets node's spec.unschedulable; prints kubectl's line. 0, or 1 (printed). */
int ctl_cordon_node (ctl_t *ctl, const char *name, bool cordon);
int ctl_snapshot_main (ctl_t *ctl, int argc, char **argv);
/* A snapshot of the store in dir (a member's --data, running or stopped),
 * Secrets opened with key_file (NULL: dir/encryption.key when there);
 * *ret_wal_pending when its write-ahead log holds writes LMDB lacks; the
 * copy it reads is made in FILE.copy-XXXXXX, removed after. 0, or
 * -1 (printed). ctl_snapshot_local.c. */
int ctl_snapshot_local (const char *dir, const char *key_file, const char *file,
                        hs_db_snapshot_t *ret, bool *ret_wal_pending);
int ctl_version_main (ctl_t *ctl, int argc, char **argv);
int ctl_help_main (ctl_t *ctl, int argc, char **argv);
/* The PKI (ctl_pki.h): ctl_init.c, ctl_keys.c, ctl_token.c. */
int ctl_init_main (ctl_t *ctl, int argc, char **argv);
int ctl_keys_main (ctl_t *ctl, int argc, char **argv);
int ctl_token_main (ctl_t *ctl, int argc, char **argv);
int ctl_config_main (ctl_t *ctl, int argc, char **argv);

/* hsctl top pods|nodes (ctl_top.c, issue 18). */
int ctl_top_main (ctl_t *ctl, int argc, char **argv);
/* Follows `usage.` into table (connects first). 0, or -1 (printed). */
typedef struct hs_usage_table hs_usage_table_t;
int ctl_usage_follow (ctl_t *ctl, hs_usage_table_t *table);
/* Processes the bus until each of nodes has a fresh sample with a window,
 * or wait_ms passed (more for a node reporting less often than every
 * wait_ms / 2: 2 of its intervals, at most 30 s). */
void ctl_usage_wait (ctl_t *ctl, hs_usage_table_t *t, const char *const *nodes, size_t n,
                     int wait_ms);

/* `get components`: live component instances from their heartbeats; flags
 * -1 for the table, else HS_FMT_JSON or HS_FMT_YAML. */
int ctl_get_components (ctl_t *ctl, bool no_headers, int flags);
/* Listens on prefix (hb.: everything; hb.raft.: store members) for
 * listen_ms, into *ret (ctl_comps_free). 0, or -1 (printed). */
int ctl_components_listen (ctl_t *ctl, const char *prefix, int listen_ms, ctl_comps_t *ret);
/* hsctl member list|add|remove|replace|transfer (ctl_member.c). */
int ctl_member_main (ctl_t *ctl, int argc, char **argv);

/* Prints the list of verbs (hsctl help). */
void ctl_print_verbs (FILE *out);

#endif
