/*  shim_sec.h: the shim's hardening of a container's process (docs/architecture.md,
 *  "Hardened pods"): user and groups, capabilities, no_new_privs, the seccomp
 *  profile and a read-only root filesystem.
 *
 *  The agent decides (agent_sec.c, from hs_podsec.h's rules) and passes
 *  flags; the shim only applies them, in the container's child (and in
 *  `--exec` children, so an exec probe or `hsctl exec` is held to the same),
 *  right before execve. Without any of these flags nothing changes: the
 *  process keeps the shim's credentials, as before issue 16.
 *
 *  Flags:
 *    --user UID --group GID   the ids (setresuid/setresgid); --user without
 *                             --group takes the user's primary group from
 *                             /etc/passwd, else 0, as Docker does
 *    --groups G,G...          the supplementary groups (default: none, once
 *                             --user or --group is given)
 *    --caps LIST              bounding, permitted and effective set
 *                             (CHOWN,KILL,...; "" for none; ALL: every
 *                             one the shim holds, for privileged); a named
 *                             one the shim lacks fails the start
 *    --ambient-caps LIST      also inheritable and ambient, so a non-root
 *                             user keeps them across execve (a subset of --caps)
 *    --no-new-privs           PR_SET_NO_NEW_PRIVS
 *    --seccomp PROFILE        runtime-default (shim_sec.c's list) or unconfined
 *    --read-only-root         remount / read-only in the container's mount
 *                             namespace (its other mounts stay as they are)
 */
#ifndef SHIM_SEC_H
#define SHIM_SEC_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
    bool has_uid, has_gid, has_groups;
    uid_t uid;
    gid_t gid;
    gid_t *groups; /* malloc'd */
    size_t n_groups;
    bool has_caps;
    uint64_t caps;
    uint64_t ambient;
    bool caps_all; /* --caps ALL: whatever the shim holds */
    bool no_new_privs;
    bool seccomp; /* the runtime-default profile */
    bool read_only_root;
} shim_sec_t;

/* The getopt_long values of these flags start here. */
#define SHIM_SEC_OPT_MIN 1000
/* getopt_long entries for the flags above, to put in the caller's table. */
#define SHIM_SEC_LONGOPTS                                                                          \
    {"user", required_argument, NULL, SHIM_SEC_OPT_MIN + 0},                                       \
        {"group", required_argument, NULL, SHIM_SEC_OPT_MIN + 1},                                  \
        {"groups", required_argument, NULL, SHIM_SEC_OPT_MIN + 2},                                 \
        {"caps", required_argument, NULL, SHIM_SEC_OPT_MIN + 3},                                   \
        {"ambient-caps", required_argument, NULL, SHIM_SEC_OPT_MIN + 4},                           \
        {"no-new-privs", no_argument, NULL, SHIM_SEC_OPT_MIN + 5},                                 \
        {"seccomp", required_argument, NULL, SHIM_SEC_OPT_MIN + 6},                                \
    {                                                                                              \
        "read-only-root", no_argument, NULL, SHIM_SEC_OPT_MIN + 7                                  \
    }
#define SHIM_SEC_OPT_MAX (SHIM_SEC_OPT_MIN + 7)

/* One of the flags (opt from getopt_long, arg its value): 0, or -1 after
 * printing why on stderr. */
int shim_sec_flag (shim_sec_t *self, int opt, const char *arg);
/* After all flags: -1 (printed) when they contradict each other. */
int shim_sec_check (const shim_sec_t *self, bool namespaces);
void shim_sec_free (shim_sec_t *self);

/* Applies everything asked, in this order: the read-only root, no_new_privs,
 * the seccomp filter (while we still hold CAP_SYS_ADMIN), the bounding set,
 * groups and ids, the capability sets, the ambient set. 0, or -1 with
 * err (one line) saying which step failed and why. Call it in the child
 * right before execve: on failure the process is half-changed. */
int shim_sec_apply (const shim_sec_t *self, char *err, size_t errlen);
/* readOnlyRootFilesystem: / read-only in this mount namespace (nothing when
 * not asked). Before the volumes are mounted (shim_mounts_apply with
 * ro_root): what is bound back from / then inherits its read-only flag, so
 * no path of the host's root stays writable by way of a cover. 0 or -1 with
 * err. */
int shim_sec_read_only_root (const shim_sec_t *self, char *err, size_t errlen);

#endif
