/*  cgroup.c: the node agent's cgroups (see cgroup.h).
 *
 *  A hs_cg_t is a list of hierarchies, each a directory `<mount>/<parent>`
 *  that holds the pod groups: v1 has one per mounted controller we use
 *  (memory, cpu, pids; co-mounted controllers share one), then every other
 *  v1 hierarchy (devices, freezer, cpuset, name=systemd, the hybrid cgroup2
 *  one, ...) for membership alone, so a pod's processes leave the agent's own
 *  groups everywhere: a container runtime that kills what is left in the
 *  agent's container (runc looks in its devices group) does not reach them.
 *  v2 has exactly one.
 *  Making, listing, attaching, killing and removing groups is the same walk
 *  over that list for both versions; what differs (control file names and
 *  formats, the OOM counter, memory usage) sits behind s_ops_t, as in crun's
 *  cgroup_v1/cgroup_v2 split. The brief keeps this module in one file, so the
 *  two tables live here rather than in cgroup_v1.c / cgroup_v2.c.
 */
#include "cgroup.h"
#include "hs_log.h"
#include "hs_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define MAX_HIER        16          /* v1: memory, cpu, pids, then the rest */
#define MAX_FILE_SIZE   (16u << 20) /* a control file we read (cgroup.procs) */
#define KILL_MAX_PASSES 10000       /* SIGKILL passes before giving up (-EAGAIN) */
#define MIN_CPU_QUOTA   1000        /* us; the kernel refuses less (Kubernetes' floor) */
#define MAX_SHARES      262144
#define MIN_SHARES      2
#define DEFAULT_SHARES  1024
#define DEFAULT_WEIGHT  100

/* Controllers we use, as bits. */
enum { CG_MEMORY = 1u << 0, CG_CPU = 1u << 1, CG_PIDS = 1u << 2 };
static const struct {
    unsigned bit;
    const char *name;
} s_ctrls[] = {{CG_MEMORY, "memory"}, {CG_CPU, "cpu"}, {CG_PIDS, "pids"}};

typedef struct {
    char *mount;     /* where the hierarchy is mounted */
    char *dir;       /* mount/parent: the pod groups live here */
    unsigned ctrls;  /* v1: which of ours it carries (0: membership only); v2: 0 */
    bool cpuset;     /* v1 cpuset: a new group gets its parent's cpus and mems */
    bool cpuacct;    /* v1 cpuacct (alone or co-mounted): hs_cg_usage reads CPU time here */
    bool made_first; /* hs_cg_open made parent's first component (parent has two) */
} s_hier_t;

typedef struct {
    int (*apply) (hs_cg_t *self, const char *name, const hs_cg_limits_t *limits);
    int (*oom_kills) (hs_cg_t *self, const char *name, uint64_t *ret_count);
    int (*memory_usage) (hs_cg_t *self, const char *name, int64_t *ret_bytes);
} s_ops_t;

struct hs_cg_t {
    int version;
    const s_ops_t *ops;
    char *root;
    char *parent;
    s_hier_t hier[MAX_HIER];
    size_t n_hier;
    char *error; /* hs_cg_last_error */
};

/* ------------------------------------------------------------------ helpers */

/* Records what failed (for hs_cg_last_error) and returns r. */
static int s_fail (hs_cg_t *self, int r, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
static int s_fail (hs_cg_t *self, int r, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    char *msg = NULL;
    if (vasprintf (&msg, fmt, ap) < 0) msg = NULL;
    va_end (ap);
    if (self) {
        free (self->error);
        self->error = msg ? hs_sprintf ("%s: %s", msg, strerror (-r)) : NULL;
    }
    log_debug ("cgroup: %s: %s", hs_s (msg), strerror (-r));
    free (msg);
    return r;
}

static bool s_valid_name (const char *name)
{
    if (hs_empty (name) || strcmp (name, ".") == 0 || strcmp (name, "..") == 0) return false;
    if (strlen (name) > HS_CG_NAME_MAX) return false;
    return !strchr (name, '/') && !strchr (name, '\n');
}

static bool s_exists (const char *path)
{
    return access (path, F_OK) == 0;
}

/* Writes value to a control file with one write(2), as the kernel wants. */
static int s_write (hs_cg_t *self, const char *path, const char *value)
{
    int fd = open (path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return s_fail (self, -errno, "open %s", path);
    size_t len = strlen (value);
    ssize_t n = write (fd, value, len);
    int r = n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
    close (fd);
    if (r < 0) return s_fail (self, r, "write %s to %s", value, path);
    return 0;
}

static int s_writef (hs_cg_t *self, const char *path, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
static int s_writef (hs_cg_t *self, const char *path, const char *fmt, ...)
{
    char value[64];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (value, sizeof value, fmt, ap);
    va_end (ap);
    return s_write (self, path, value);
}

/* Reads a whole control file (NUL-terminated) into *ret. 0 or -errno. */
static int s_read (hs_cg_t *self, const char *path, char **ret)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return s_fail (self, -errno, "open %s", path);
    hs_buf_t b = {0};
    char chunk[4096];
    int r = 0;
    for (;;) {
        ssize_t n = read (fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            r = s_fail (self, -errno, "read %s", path);
            break;
        }
        if (n == 0) break;
        if (b.len + (size_t)n > MAX_FILE_SIZE) {
            r = s_fail (self, -EFBIG, "read %s", path);
            break;
        }
        hs_buf_append (&b, chunk, (size_t)n);
    }
    close (fd);
    if (r < 0) {
        hs_buf_free (&b);
        return r;
    }
    hs_buf_append (&b, "", 0);
    *ret = hs_buf_take (&b);
    return 0;
}

/* The value of `key` in a "key value\n" file (memory.events, memory.oom_control).
 * -ENODATA when the key is not there. */
static int s_read_keyed (hs_cg_t *self, const char *path, const char *key, uint64_t *ret)
{
    _cleanup_free_ char *text = NULL;
    int r = s_read (self, path, &text);
    if (r < 0) return r;
    size_t klen = strlen (key);
    for (char *line = text; line && *line;) {
        char *next = strchr (line, '\n');
        if (next) *next++ = '\0';
        if (strncmp (line, key, klen) == 0 && line[klen] == ' ') {
            int64_t v;
            if (hs_parse_i64 (line + klen + 1, &v) < 0 || v < 0)
                return s_fail (self, -EBADMSG, "parse %s in %s", key, path);
            *ret = (uint64_t)v;
            return 0;
        }
        line = next;
    }
    return -ENODATA;
}

static int s_read_i64 (hs_cg_t *self, const char *path, int64_t *ret)
{
    _cleanup_free_ char *text = NULL;
    int r = s_read (self, path, &text);
    if (r < 0) return r;
    text[strcspn (text, "\n")] = '\0';
    int64_t v;
    if (hs_parse_i64 (text, &v) < 0) return s_fail (self, -EBADMSG, "parse %s", path);
    *ret = v;
    return 0;
}

/* Whether `word` is one of the tokens of s split at any of seps. */
static bool s_has_word (const char *s, const char *word, const char *seps)
{
    size_t wlen = strlen (word);
    while (*s) {
        size_t n = strcspn (s, seps);
        if (n == wlen && strncmp (s, word, wlen) == 0) return true;
        s += n;
        if (*s) s++;
    }
    return false;
}

static int s_cmp_pid (const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
    return (x > y) - (x < y);
}

/* Appends the pids of a cgroup.procs file to *pids (n, cap). */
static int s_read_pids (hs_cg_t *self, const char *path, pid_t **pids, size_t *n, size_t *cap)
{
    _cleanup_free_ char *text = NULL;
    int r = s_read (self, path, &text);
    if (r < 0) return r;
    for (char *p = text; *p;) {
        char *end;
        errno = 0;
        long v = strtol (p, &end, 10);
        if (end == p || errno || v <= 0 || v > INT32_MAX || (*end && *end != '\n'))
            return s_fail (self, -EBADMSG, "parse %s", path);
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 16;
            *pids = hs_realloc (*pids, *cap * sizeof (pid_t));
        }
        (*pids)[(*n)++] = (pid_t)v;
        p = *end ? end + 1 : end;
    }
    return 0;
}

static size_t s_sort_unique (pid_t *pids, size_t n)
{
    if (n == 0) return 0;
    qsort (pids, n, sizeof (pid_t), s_cmp_pid);
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (pids[i] != pids[k - 1]) pids[k++] = pids[i];
    return k;
}

static s_hier_t *s_hier_of (hs_cg_t *self, unsigned ctrl)
{
    for (size_t i = 0; i < self->n_hier; i++)
        if (self->hier[i].ctrls & ctrl) return &self->hier[i];
    return NULL;
}

/* "<hier dir>/<name>/<file>" (file NULL: the group's directory). */
static char *s_path (const s_hier_t *h, const char *name, const char *file)
{
    return file ? hs_sprintf ("%s/%s/%s", h->dir, name, file) : hs_sprintf ("%s/%s", h->dir, name);
}

/* A control file that cannot be opened: -ENOENT if the group itself is
 * missing, else -ENOTSUP (the kernel or controller lacks the file). */
static int s_missing (hs_cg_t *self, const s_hier_t *h, const char *name, const char *file)
{
    _cleanup_free_ char *dir = s_path (h, name, NULL);
    if (!s_exists (dir)) return s_fail (self, -ENOENT, "group %s", dir);
    return s_fail (self, -ENOTSUP, "%s/%s", dir, file);
}

/* A controller the group cannot use. With a limit asked of it (`limit`, a
 * description such as "memory limit 33554432 bytes") that is an error: a
 * container never runs without the limit its spec asks for. Without one
 * (no limit, or only a CPU request: a relative weight, not a limit) there
 * is nothing to enforce; one warning says what is missing. */
static int s_no_controller (hs_cg_t *self, const char *ctrl, const char *where, const char *limit)
{
    if (limit)
        return s_fail (self, -ENOTSUP, "%s: cgroup controller %s is not available (%s)", limit,
                       ctrl, where);
    char key[64];
    snprintf (key, sizeof key, "hs-cg-no-%s", ctrl);
    hs_log_once (HS_LOG_WARN, key,
                 "cgroup controller %s is not available (%s): a pod that sets a %s limit will "
                 "not start",
                 ctrl, where, ctrl);
    return 0;
}

/* The description of a limit for s_no_controller, or NULL for none. */
static const char *s_limit_desc (char *buf, size_t size, const char *what, int64_t value,
                                 const char *unit)
{
    if (value <= 0) return NULL;
    snprintf (buf, size, "%s %lld%s", what, (long long)value, unit);
    return buf;
}

/* ------------------------------------------------------------------ conversions */

int64_t hs_cg_cpu_shares (int64_t request_milli)
{
    if (request_milli <= 0) return DEFAULT_SHARES;
    if (request_milli >= (int64_t)MAX_SHARES * 1000 / 1024) return MAX_SHARES;
    int64_t shares = request_milli * 1024 / 1000;
    return shares < MIN_SHARES ? MIN_SHARES : shares;
}

int64_t hs_cg_cpu_weight (int64_t shares)
{
    if (shares < MIN_SHARES) shares = MIN_SHARES;
    if (shares > MAX_SHARES) shares = MAX_SHARES;
    return 1 + ((shares - 2) * 9999) / 262142;
}

int64_t hs_cg_cpu_quota (int64_t limit_milli)
{
    if (limit_milli <= 0) return -1;
    if (limit_milli > INT64_MAX / 100) return INT64_MAX;
    int64_t quota = limit_milli * (HS_CG_CPU_PERIOD / 1000);
    return quota < MIN_CPU_QUOTA ? MIN_CPU_QUOTA : quota;
}

/* ------------------------------------------------------------------ v1 */

/* pids.max: the same file and format in v1 and v2. */
static int s_write_pids_max (hs_cg_t *self, const s_hier_t *h, const char *name, int64_t pids_max)
{
    _cleanup_free_ char *p = s_path (h, name, "pids.max");
    return pids_max > 0 ? s_writef (self, p, "%lld", (long long)pids_max)
                        : s_write (self, p, "max");
}

static int s_v1_apply (hs_cg_t *self, const char *name, const hs_cg_limits_t *l)
{
    int r;
    char desc[96];
    s_hier_t *h = s_hier_of (self, CG_MEMORY);
    if (!h) {
        r = s_no_controller (
            self, "memory", "no v1 memory hierarchy mounted",
            s_limit_desc (desc, sizeof desc, "memory limit", l->memory_max, " bytes"));
        if (r < 0) return r;
    } else {
        _cleanup_free_ char *p = s_path (h, name, "memory.limit_in_bytes");
        /* swap is left alone (memory.memsw.*): nodes run without it */
        r = l->memory_max > 0 ? s_writef (self, p, "%lld", (long long)l->memory_max)
                              : s_write (self, p, "-1");
        if (r < 0) return r;
    }

    const char *cpu_limit = s_limit_desc (desc, sizeof desc, "CPU limit", l->cpu_max_milli, "m");
    h = s_hier_of (self, CG_CPU);
    if (!h) {
        r = s_no_controller (self, "cpu", "no v1 cpu hierarchy mounted", cpu_limit);
        if (r < 0) return r;
    } else {
        _cleanup_free_ char *period = s_path (h, name, "cpu.cfs_period_us");
        _cleanup_free_ char *quota = s_path (h, name, "cpu.cfs_quota_us");
        _cleanup_free_ char *shares = s_path (h, name, "cpu.shares");
        if (!s_exists (quota)) {
            r = s_no_controller (self, "cpu", "kernel without CFS bandwidth control", cpu_limit);
            if (r < 0) return r;
        } else {
            /* the period first: a quota is checked against it */
            r = s_writef (self, period, "%d", HS_CG_CPU_PERIOD);
            if (r < 0) return r;
            r = s_writef (self, quota, "%lld", (long long)hs_cg_cpu_quota (l->cpu_max_milli));
            if (r < 0) return r;
        }
        r = s_writef (self, shares, "%lld", (long long)hs_cg_cpu_shares (l->cpu_request_milli));
        if (r < 0) return r;
    }

    h = s_hier_of (self, CG_PIDS);
    if (!h) {
        r = s_no_controller (self, "pids", "no v1 pids hierarchy mounted",
                             s_limit_desc (desc, sizeof desc, "pids limit", l->pids_max, ""));
        if (r < 0) return r;
    } else {
        r = s_write_pids_max (self, h, name, l->pids_max);
        if (r < 0) return r;
    }
    return 0;
}

static int s_v1_oom_kills (hs_cg_t *self, const char *name, uint64_t *ret_count)
{
    s_hier_t *h = s_hier_of (self, CG_MEMORY);
    if (!h) return s_fail (self, -ENOTSUP, "no v1 memory hierarchy");
    _cleanup_free_ char *p = s_path (h, name, "memory.oom_control");
    if (!s_exists (p)) return s_missing (self, h, name, "memory.oom_control");
    int r = s_read_keyed (self, p, "oom_kill", ret_count);
    /* kernels before 4.13 have no oom_kill line: no counter, never a guess */
    if (r == -ENODATA) return s_fail (self, -ENOTSUP, "no oom_kill line in %s", p);
    return r;
}

static int s_v1_memory_usage (hs_cg_t *self, const char *name, int64_t *ret_bytes)
{
    s_hier_t *h = s_hier_of (self, CG_MEMORY);
    if (!h) return s_fail (self, -ENOTSUP, "no v1 memory hierarchy");
    _cleanup_free_ char *p = s_path (h, name, "memory.usage_in_bytes");
    if (!s_exists (p)) return s_missing (self, h, name, "memory.usage_in_bytes");
    return s_read_i64 (self, p, ret_bytes);
}

static const s_ops_t s_v1_ops = {s_v1_apply, s_v1_oom_kills, s_v1_memory_usage};

/* Undoes mountinfo's octal escapes (\040 for a space, ...) in place. */
static void s_unescape (char *s)
{
    char *w = s;
    for (char *r = s; *r;) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
            r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
            r += 4;
        } else
            *w++ = *r++;
    }
    *w = '\0';
}

static bool s_path_under (const char *path, const char *root)
{
    size_t n = strlen (root);
    while (n > 1 && root[n - 1] == '/') n--;
    if (n == 1 && root[0] == '/') return path[0] == '/';
    return strncmp (path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Finds the v1 mount of each controller of ours at or under root, from
 * /proc/self/mountinfo ("36 35 0:32 / /sys/fs/cgroup/memory rw - cgroup
 * cgroup rw,memory"). Fills self->hier; co-mounted controllers share one. */
static int s_v1_find (hs_cg_t *self)
{
    FILE *f = fopen ("/proc/self/mountinfo", "re");
    if (!f) return s_fail (self, -errno, "open /proc/self/mountinfo");
    _cleanup_free_ char *line = NULL;
    size_t cap = 0;
    while (getline (&line, &cap, f) > 0) {
        char *fields[16], *save = NULL;
        size_t n = 0;
        for (char *t = strtok_r (line, " \n", &save); t && n < HS_ARRAY_LEN (fields);
             t = strtok_r (NULL, " \n", &save))
            fields[n++] = t;
        size_t dash = 6; /* optional fields end at "-" */
        while (dash < n && strcmp (fields[dash], "-") != 0) dash++;
        if (n < 7 || dash + 3 >= n) continue; /* fstype, source, super options */
        const char *fstype = fields[dash + 1], *opts = fields[dash + 3];
        bool hybrid = strcmp (fstype, "cgroup2") == 0; /* v1 with the unified one beside */
        if (strcmp (fstype, "cgroup") != 0 && !hybrid) continue;
        char *mnt = fields[4];
        s_unescape (mnt);
        if (!s_path_under (mnt, self->root)) continue;
        for (size_t c = 0; c < HS_ARRAY_LEN (s_ctrls) && !hybrid; c++) {
            if (!s_has_word (opts, s_ctrls[c].name, ",")) continue;
            if (s_hier_of (self, s_ctrls[c].bit)) continue; /* first mount wins */
            s_hier_t *h = NULL;
            for (size_t i = 0; i < self->n_hier; i++)
                if (strcmp (self->hier[i].mount, mnt) == 0) h = &self->hier[i];
            if (!h) {
                if (self->n_hier == MAX_HIER) break;
                h = &self->hier[self->n_hier++];
                h->mount = hs_strdup (mnt);
                h->dir = hs_sprintf ("%s/%s", mnt, self->parent);
            }
            h->ctrls |= s_ctrls[c].bit;
        }
        /* Any other hierarchy: membership only (one entry per mount point). */
        bool known = false;
        for (size_t i = 0; i < self->n_hier && !known; i++)
            known = strcmp (self->hier[i].mount, mnt) == 0;
        if (!known && self->n_hier < MAX_HIER) {
            s_hier_t *h = &self->hier[self->n_hier++];
            h->mount = hs_strdup (mnt);
            h->dir = hs_sprintf ("%s/%s", mnt, self->parent);
            h->cpuset = !hybrid && s_has_word (opts, "cpuset", ",");
        }
        for (size_t i = 0; i < self->n_hier && !hybrid; i++)
            if (strcmp (self->hier[i].mount, mnt) == 0 && s_has_word (opts, "cpuacct", ","))
                self->hier[i].cpuacct = true;
    }
    fclose (f);
    bool ours = false;
    for (size_t i = 0; i < self->n_hier; i++) ours |= self->hier[i].ctrls != 0;
    if (!ours)
        return s_fail (self, -ENOENT, "no cgroup v1 memory, cpu or pids hierarchy under %s",
                       self->root);
    return 0;
}

/* ------------------------------------------------------------------ v2 */

/* A v2 group's cgroup.controllers, without its newline; NULL when it cannot
 * be read. The caller's. */
static char *s_v2_controllers (hs_cg_t *self, const char *dir)
{
    _cleanup_free_ char *p = hs_sprintf ("%s/cgroup.controllers", dir);
    char *text = NULL;
    if (s_read (self, p, &text) < 0) return NULL;
    text[strcspn (text, "\n")] = '\0';
    return text;
}

/* Which of our controllers a cgroup.controllers text names. */
static unsigned s_v2_mask (const char *ctrls)
{
    unsigned mask = 0;
    for (size_t c = 0; ctrls && c < HS_ARRAY_LEN (s_ctrls); c++)
        if (s_has_word (ctrls, s_ctrls[c].name, " \n")) mask |= s_ctrls[c].bit;
    return mask;
}

/* Which of our controllers a v2 group may use (its cgroup.controllers). */
static unsigned s_v2_available (hs_cg_t *self, const char *dir)
{
    _cleanup_free_ char *ctrls = s_v2_controllers (self, dir);
    return s_v2_mask (ctrls);
}

/* Enables our controllers for the children of dir, as far as dir has them.
 * A refusal (e.g. dir holds processes) only means its children lack it. */
static void s_v2_enable_subtree (hs_cg_t *self, const char *dir)
{
    unsigned avail = s_v2_available (self, dir);
    _cleanup_free_ char *p = hs_sprintf ("%s/cgroup.subtree_control", dir);
    for (size_t c = 0; c < HS_ARRAY_LEN (s_ctrls); c++) {
        if (!(avail & s_ctrls[c].bit)) continue;
        int r = s_writef (self, p, "+%s", s_ctrls[c].name);
        if (r < 0) {
            char key[64];
            snprintf (key, sizeof key, "hs-cg-subtree-%s", s_ctrls[c].name);
            hs_log_once (HS_LOG_WARN, key, "cannot enable cgroup controller %s in %s: %s",
                         s_ctrls[c].name, p, strerror (-r));
        }
    }
}

static int s_v2_apply (hs_cg_t *self, const char *name, const hs_cg_limits_t *l)
{
    s_hier_t *h = &self->hier[0];
    _cleanup_free_ char *dir = s_path (h, name, NULL);
    _cleanup_free_ char *ctrls = s_v2_controllers (self, dir);
    unsigned avail = s_v2_mask (ctrls);
    /* where: the group and what its cgroup.controllers holds instead */
    _cleanup_free_ char *where =
        hs_sprintf ("%s/cgroup.controllers has \"%s\"", dir, ctrls ? ctrls : "(unreadable)");
    char desc[96];
    int r;

    if (!(avail & CG_MEMORY)) {
        r = s_no_controller (
            self, "memory", where,
            s_limit_desc (desc, sizeof desc, "memory limit", l->memory_max, " bytes"));
        if (r < 0) return r;
    } else {
        _cleanup_free_ char *p = s_path (h, name, "memory.max");
        _cleanup_free_ char *swap = s_path (h, name, "memory.swap.max");
        r = l->memory_max > 0 ? s_writef (self, p, "%lld", (long long)l->memory_max)
                              : s_write (self, p, "max");
        if (r < 0) return r;
        /* no swap for containers, as Kubernetes: the limit is a real OOM */
        if (s_exists (swap) && (r = s_write (self, swap, "0")) < 0) return r;
    }

    if (!(avail & CG_CPU)) {
        r = s_no_controller (self, "cpu", where,
                             s_limit_desc (desc, sizeof desc, "CPU limit", l->cpu_max_milli, "m"));
        if (r < 0) return r;
    } else {
        _cleanup_free_ char *max = s_path (h, name, "cpu.max");
        _cleanup_free_ char *weight = s_path (h, name, "cpu.weight");
        r = l->cpu_max_milli > 0
                ? s_writef (self, max, "%lld %d", (long long)hs_cg_cpu_quota (l->cpu_max_milli),
                            HS_CG_CPU_PERIOD)
                : s_writef (self, max, "max %d", HS_CG_CPU_PERIOD);
        if (r < 0) return r;
        int64_t w = l->cpu_request_milli > 0
                        ? hs_cg_cpu_weight (hs_cg_cpu_shares (l->cpu_request_milli))
                        : DEFAULT_WEIGHT;
        if ((r = s_writef (self, weight, "%lld", (long long)w)) < 0) return r;
    }

    if (!(avail & CG_PIDS)) {
        r = s_no_controller (self, "pids", where,
                             s_limit_desc (desc, sizeof desc, "pids limit", l->pids_max, ""));
        if (r < 0) return r;
    } else {
        r = s_write_pids_max (self, h, name, l->pids_max);
        if (r < 0) return r;
    }
    return 0;
}

static int s_v2_oom_kills (hs_cg_t *self, const char *name, uint64_t *ret_count)
{
    s_hier_t *h = &self->hier[0];
    _cleanup_free_ char *p = s_path (h, name, "memory.events");
    if (!s_exists (p)) return s_missing (self, h, name, "memory.events");
    int r = s_read_keyed (self, p, "oom_kill", ret_count);
    if (r == -ENODATA) return s_fail (self, -ENOTSUP, "no oom_kill line in %s", p);
    return r;
}

static int s_v2_memory_usage (hs_cg_t *self, const char *name, int64_t *ret_bytes)
{
    s_hier_t *h = &self->hier[0];
    _cleanup_free_ char *p = s_path (h, name, "memory.current");
    if (!s_exists (p)) return s_missing (self, h, name, "memory.current");
    return s_read_i64 (self, p, ret_bytes);
}

static const s_ops_t s_v2_ops = {s_v2_apply, s_v2_oom_kills, s_v2_memory_usage};

/* ------------------------------------------------------------------ open */

static int s_mkdir (hs_cg_t *self, const char *path, bool *ret_made)
{
    if (mkdir (path, 0755) == 0) {
        if (ret_made) *ret_made = true;
        return 0;
    }
    if (errno != EEXIST) return s_fail (self, -errno, "mkdir %s", path);
    struct stat st;
    if (stat (path, &st) < 0) return s_fail (self, -errno, "stat %s", path);
    if (!S_ISDIR (st.st_mode)) return s_fail (self, -ENOTDIR, "mkdir %s", path);
    return 0;
}

/* A v1 cpuset group starts with no CPUs and no memory nodes, and nothing
 * can join it until it has some: an empty one gets its parent's. */
static int s_cpuset_fill (hs_cg_t *self, const char *dir)
{
    static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
    _cleanup_free_ char *up = hs_strdup (dir);
    char *slash = strrchr (up, '/');
    if (!slash || slash == up) return 0;
    *slash = '\0';
    for (size_t i = 0; i < HS_ARRAY_LEN (files); i++) {
        _cleanup_free_ char *mine = hs_sprintf ("%s/%s", dir, files[i]);
        _cleanup_free_ char *theirs = hs_sprintf ("%s/%s", up, files[i]);
        _cleanup_free_ char *cur = NULL, *val = NULL;
        int r = s_read (self, mine, &cur);
        if (r < 0) return r;
        if (cur[strspn (cur, " \n")] != '\0') continue;
        if ((r = s_read (self, theirs, &val)) < 0) return r;
        val[strcspn (val, "\n")] = '\0';
        if ((r = s_write (self, mine, val)) < 0) return r;
    }
    return 0;
}

/* mkdir of a group directory in hierarchy h, ready for processes to join. */
static int s_mkdir_in (hs_cg_t *self, const s_hier_t *h, const char *dir, bool *ret_made)
{
    int r = s_mkdir (self, dir, ret_made);
    if (r == 0 && h->cpuset) r = s_cpuset_fill (self, dir);
    return r;
}

/* Makes parent (one or two components) in hierarchy h; on v2, enables our
 * controllers for the children of each level from the mount down. */
static int s_make_parent (hs_cg_t *self, s_hier_t *h)
{
    const char *slash = strchr (self->parent, '/');
    if (self->version == 2) s_v2_enable_subtree (self, h->mount);
    if (slash) {
        _cleanup_free_ char *first =
            hs_sprintf ("%s/%.*s", h->mount, (int)(slash - self->parent), self->parent);
        int r = s_mkdir_in (self, h, first, &h->made_first);
        if (r < 0) return r;
        if (self->version == 2) s_v2_enable_subtree (self, first);
    }
    int r = s_mkdir_in (self, h, h->dir, NULL);
    if (r < 0) return r;
    if (self->version == 2) s_v2_enable_subtree (self, h->dir);
    return 0;
}

static void s_hier_free (s_hier_t *h)
{
    free (h->mount);
    free (h->dir);
    memset (h, 0, sizeof *h);
}

static bool s_valid_parent (const char *parent)
{
    if (hs_empty (parent)) return false;
    const char *slash = strchr (parent, '/');
    if (!slash) return s_valid_name (parent);
    _cleanup_free_ char *first = hs_strndup (parent, (size_t)(slash - parent));
    return s_valid_name (first) && s_valid_name (slash + 1);
}

int hs_cg_open (const char *root, const char *parent, hs_cg_t **ret_cg)
{
    if (!root) root = HS_CG_DEFAULT_ROOT;
    if (hs_empty (root) || !s_valid_parent (parent)) return -EINVAL;
    struct statfs sfs;
    if (statfs (root, &sfs) < 0) return s_fail (NULL, -errno, "statfs %s", root);

    hs_cg_t *self = hs_calloc (1, sizeof *self);
    self->root = hs_strdup (root);
    size_t n = strlen (self->root);
    while (n > 1 && self->root[n - 1] == '/') self->root[--n] = '\0';
    self->parent = hs_strdup (parent);

    int r = 0;
    if (sfs.f_type == CGROUP2_SUPER_MAGIC) {
        self->version = 2;
        self->ops = &s_v2_ops;
        self->n_hier = 1;
        self->hier[0].mount = hs_strdup (self->root);
        self->hier[0].dir = hs_sprintf ("%s/%s", self->root, parent);
    } else {
        self->version = 1;
        self->ops = &s_v1_ops;
        r = s_v1_find (self);
    }
    for (size_t i = 0; r == 0 && i < self->n_hier;) {
        s_hier_t *h = &self->hier[i];
        r = s_make_parent (self, h);
        if (r < 0 && self->version == 1 && h->ctrls == 0) {
            /* A membership-only hierarchy we may not write: pods stay in
             * whatever group the agent has there, as before. */
            char key[300];
            snprintf (key, sizeof key, "hs-cg-skip-%s", h->mount);
            hs_log_once (HS_LOG_WARN, key, "cgroup hierarchy %s is not used: %s", h->mount,
                         hs_cg_last_error (self));
            s_hier_free (h);
            memmove (h, h + 1, (self->n_hier - i - 1) * sizeof *h);
            memset (&self->hier[--self->n_hier], 0, sizeof *h);
            r = 0;
            continue;
        }
        i++;
    }
    if (r < 0) {
        log_debug ("cgroup: cannot open %s/%s: %s", root, parent, hs_s (self->error));
        hs_cg_destroy (&self);
        return r;
    }
    *ret_cg = self;
    return 0;
}

void hs_cg_destroy (hs_cg_t **self_p)
{
    if (!self_p || !*self_p) return;
    hs_cg_t *self = *self_p;
    for (size_t i = 0; i < self->n_hier; i++) s_hier_free (&self->hier[i]);
    free (self->root);
    free (self->parent);
    free (self->error);
    free (self);
    *self_p = NULL;
}

int hs_cg_version (const hs_cg_t *self)
{
    return self->version;
}

const char *hs_cg_last_error (const hs_cg_t *self)
{
    return self->error ? self->error : "";
}

static void s_clear_error (hs_cg_t *self)
{
    free (self->error);
    self->error = NULL;
}

char *hs_cg_unavailable (hs_cg_t *self)
{
    unsigned avail = 0;
    _cleanup_free_ char *where = NULL;
    if (self->version == 2) {
        /* the pod groups get what the parent enables for its children */
        _cleanup_free_ char *p = hs_sprintf ("%s/cgroup.subtree_control", self->hier[0].dir);
        _cleanup_free_ char *text = NULL;
        if (s_read (self, p, &text) == 0) text[strcspn (text, "\n")] = '\0';
        avail = s_v2_mask (text);
        _cleanup_free_ char *ctrls = s_v2_controllers (self, self->hier[0].dir);
        where = hs_sprintf ("%s has \"%s\"; %s/cgroup.controllers \"%s\"", p, hs_s (text),
                            self->hier[0].dir, hs_s (ctrls));
    } else {
        for (size_t c = 0; c < HS_ARRAY_LEN (s_ctrls); c++)
            if (s_hier_of (self, s_ctrls[c].bit)) avail |= s_ctrls[c].bit;
        where = hs_sprintf ("no v1 hierarchy of theirs mounted under %s", self->root);
    }
    hs_buf_t b = {0};
    for (size_t c = 0; c < HS_ARRAY_LEN (s_ctrls); c++) {
        if (avail & s_ctrls[c].bit) continue;
        if (b.len) hs_buf_append (&b, ", ", 2);
        hs_buf_append (&b, s_ctrls[c].name, strlen (s_ctrls[c].name));
    }
    if (!b.len) return NULL;
    hs_buf_append (&b, " (", 2);
    hs_buf_append (&b, where, strlen (where));
    hs_buf_append (&b, ")", 1);
    return hs_buf_take (&b);
}

/* ------------------------------------------------------------------ groups */

int hs_cg_create (hs_cg_t *self, const char *name, const hs_cg_limits_t *limits)
{
    s_clear_error (self);
    static const hs_cg_limits_t none = {0};
    if (!limits) limits = &none;
    if (!s_valid_name (name)) return s_fail (self, -EINVAL, "group name \"%s\"", hs_s (name));
    if (limits->memory_max < 0 || limits->cpu_max_milli < 0 || limits->cpu_request_milli < 0 ||
        limits->pids_max < 0 || limits->cpu_max_milli > INT64_MAX / 100)
        return s_fail (self, -EINVAL, "limits for %s", name);

    bool made[MAX_HIER] = {false};
    int r = 0;
    for (size_t i = 0; r == 0 && i < self->n_hier; i++) {
        _cleanup_free_ char *dir = s_path (&self->hier[i], name, NULL);
        r = s_mkdir_in (self, &self->hier[i], dir, &made[i]);
    }
    if (r == 0) r = self->ops->apply (self, name, limits);
    if (r < 0) {
        /* leave no half-made group behind; an existing one stays as it was */
        for (size_t i = 0; i < self->n_hier; i++) {
            if (!made[i]) continue;
            _cleanup_free_ char *dir = s_path (&self->hier[i], name, NULL);
            (void)rmdir (dir);
        }
    }
    return r;
}

char **hs_cg_procs_files (hs_cg_t *self, const char *name)
{
    if (!s_valid_name (name)) {
        errno = EINVAL;
        return NULL;
    }
    char **v = hs_calloc (self->n_hier + 1, sizeof (char *));
    for (size_t i = 0; i < self->n_hier; i++) v[i] = s_path (&self->hier[i], name, "cgroup.procs");
    return v;
}

void hs_cg_strv_free (char **v)
{
    if (!v) return;
    for (char **p = v; *p; p++) free (*p);
    free (v);
}

int hs_cg_attach (hs_cg_t *self, const char *name, pid_t pid)
{
    s_clear_error (self);
    if (!s_valid_name (name) || pid <= 0)
        return s_fail (self, -EINVAL, "attach to \"%s\"", hs_s (name));
    for (size_t i = 0; i < self->n_hier; i++) {
        _cleanup_free_ char *p = s_path (&self->hier[i], name, "cgroup.procs");
        int r = s_writef (self, p, "%d", (int)pid);
        if (r == -ENOENT) return s_missing (self, &self->hier[i], name, "cgroup.procs");
        if (r < 0) return r;
    }
    return 0;
}

int hs_cg_oom_kills (hs_cg_t *self, const char *name, uint64_t *ret_count)
{
    s_clear_error (self);
    if (!s_valid_name (name)) return s_fail (self, -EINVAL, "group name \"%s\"", hs_s (name));
    return self->ops->oom_kills (self, name, ret_count);
}

int hs_cg_memory_usage (hs_cg_t *self, const char *name, int64_t *ret_bytes)
{
    s_clear_error (self);
    if (!s_valid_name (name)) return s_fail (self, -EINVAL, "group name \"%s\"", hs_s (name));
    return self->ops->memory_usage (self, name, ret_bytes);
}

/* The pids of the group: in hierarchy h, or (h NULL) in any of them. */
static int s_group_pids (hs_cg_t *self, const char *name, const s_hier_t *h, pid_t **ret_pids,
                         size_t *ret_n)
{
    pid_t *pids = NULL;
    size_t n = 0, cap = 0, missing = 0, tried = 0;
    for (size_t i = 0; i < self->n_hier; i++) {
        if (h && h != &self->hier[i]) continue;
        tried++;
        _cleanup_free_ char *p = s_path (&self->hier[i], name, "cgroup.procs");
        int r = s_read_pids (self, p, &pids, &n, &cap);
        if (r == -ENOENT) {
            missing++;
            continue;
        }
        if (r < 0) {
            free (pids);
            return r;
        }
    }
    if (missing == tried) {
        free (pids);
        return -ENOENT;
    }
    *ret_n = s_sort_unique (pids, n);
    *ret_pids = pids ? pids : hs_malloc (sizeof (pid_t));
    return 0;
}

int hs_cg_pids (hs_cg_t *self, const char *name, pid_t **ret_pids)
{
    s_clear_error (self);
    if (!s_valid_name (name)) return s_fail (self, -EINVAL, "group name \"%s\"", hs_s (name));
    s_hier_t *h = self->version == 1 ? s_hier_of (self, CG_MEMORY) : NULL;
    if (!h) h = &self->hier[0];
    pid_t *pids;
    size_t n;
    int r = s_group_pids (self, name, h, &pids, &n);
    if (r < 0) return r;
    *ret_pids = pids;
    return (int)n;
}

static bool s_pid_in (const pid_t *sorted, size_t n, pid_t pid)
{
    return n && bsearch (&pid, sorted, n, sizeof (pid_t), s_cmp_pid);
}

int hs_cg_kill (hs_cg_t *self, const char *name, int sig)
{
    s_clear_error (self);
    if (!s_valid_name (name)) return s_fail (self, -EINVAL, "group name \"%s\"", hs_s (name));
    if (sig <= 0 || sig >= _NSIG) return s_fail (self, -EINVAL, "signal %d", sig);

    if (self->version == 2 && sig == SIGKILL) {
        /* cgroup.kill (Linux 5.14): the kernel kills every process, also the
         * ones forked while it does */
        _cleanup_free_ char *kill_file = s_path (&self->hier[0], name, "cgroup.kill");
        if (s_exists (kill_file)) {
            pid_t *pids;
            size_t n;
            int r = s_group_pids (self, name, NULL, &pids, &n);
            if (r < 0) return r;
            free (pids);
            r = s_write (self, kill_file, "1");
            return r < 0 ? r : (int)n;
        }
    }

    /* signalled: sorted pids already sent sig. A pid that exits and is
     * reused by a new member within one call is not signalled again; with
     * pid_max at its default that needs a full wrap within milliseconds. */
    pid_t *done = NULL;
    size_t n_done = 0;
    int r = 0;
    for (int pass = 0;; pass++) {
        if (pass == KILL_MAX_PASSES) {
            r = s_fail (self, -EAGAIN, "kill %s: processes keep appearing", name);
            break;
        }
        pid_t *pids;
        size_t n;
        r = s_group_pids (self, name, NULL, &pids, &n);
        if (r < 0) break;
        size_t fresh = 0;
        for (size_t i = 0; i < n; i++) {
            if (s_pid_in (done, n_done, pids[i])) continue;
            if (kill (pids[i], sig) < 0) {
                if (errno == ESRCH) continue; /* exited meanwhile */
                r = s_fail (self, -errno, "kill %d in %s", (int)pids[i], name);
                break;
            }
            pids[fresh++] = pids[i]; /* reuse the array: fresh <= i */
        }
        if (r < 0) {
            free (pids);
            break;
        }
        if (fresh) {
            done = hs_realloc (done, (n_done + fresh) * sizeof (pid_t));
            memcpy (done + n_done, pids, fresh * sizeof (pid_t));
            n_done = s_sort_unique (done, n_done + fresh);
        }
        free (pids);
        if (sig != SIGKILL || fresh == 0) break;
    }
    free (done);
    return r < 0 ? r : (int)n_done;
}

int hs_cg_remove (hs_cg_t *self, const char *name)
{
    s_clear_error (self);
    if (!s_valid_name (name)) return s_fail (self, -EINVAL, "group name \"%s\"", hs_s (name));
    int first = 0;
    for (size_t i = 0; i < self->n_hier; i++) {
        _cleanup_free_ char *dir = s_path (&self->hier[i], name, NULL);
        if (rmdir (dir) < 0 && errno != ENOENT) {
            int r = s_fail (self, -errno, "rmdir %s", dir);
            if (!first) first = r;
        }
    }
    return first;
}

int hs_cg_remove_parent (hs_cg_t *self)
{
    s_clear_error (self);
    int first = 0;
    const char *slash = strchr (self->parent, '/');
    for (size_t i = 0; i < self->n_hier; i++) {
        s_hier_t *h = &self->hier[i];
        if (rmdir (h->dir) < 0 && errno != ENOENT) {
            int r = s_fail (self, -errno, "rmdir %s", h->dir);
            if (!first) first = r;
            continue;
        }
        if (slash && h->made_first) {
            /* ours, but another parent may have been made beside us since */
            _cleanup_free_ char *dir =
                hs_sprintf ("%s/%.*s", h->mount, (int)(slash - self->parent), self->parent);
            if (rmdir (dir) == 0 || errno == ENOENT) h->made_first = false;
        }
    }
    return first;
}

static int s_cmp_str (const void *a, const void *b)
{
    return strcmp (*(char *const *)a, *(char *const *)b);
}

char **hs_cg_list (hs_cg_t *self)
{
    s_clear_error (self);
    char **v = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < self->n_hier; i++) {
        DIR *d = opendir (self->hier[i].dir);
        if (!d) {
            int r = s_fail (self, -errno, "opendir %s", self->hier[i].dir);
            for (size_t k = 0; k < n; k++) free (v[k]);
            free (v);
            errno = -r;
            return NULL;
        }
        struct dirent *de;
        while ((de = readdir (d))) {
            if (de->d_type != DT_DIR || strcmp (de->d_name, ".") == 0 ||
                strcmp (de->d_name, "..") == 0)
                continue;
            bool dup = false;
            for (size_t k = 0; k < n && !dup; k++) dup = strcmp (v[k], de->d_name) == 0;
            if (dup) continue;
            if (n + 1 >= cap) {
                cap = cap ? cap * 2 : 16;
                v = hs_realloc (v, cap * sizeof (char *));
            }
            v[n++] = hs_strdup (de->d_name);
        }
        closedir (d);
    }
    if (!v) v = hs_malloc (sizeof (char *));
    qsort (v, n, sizeof (char *), s_cmp_str);
    v[n] = NULL;
    return v;
}

/* ------------------------------------------------------------------ usage */

#define USAGE_BUF 16384 /* memory.stat is about 1.5 KiB on v1 and v2 */

/* Reads a small control file into buf (NUL-terminated; at most size - 1
 * bytes). 0 or -errno. No allocation: this runs per container per second. */
static int s_read_small (const char *path, char *buf, size_t size)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    size_t len = 0;
    int r = 0;
    while (len < size - 1) {
        ssize_t n = read (fd, buf + len, size - 1 - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) r = -errno;
        if (n <= 0) break;
        len += (size_t)n;
    }
    close (fd);
    buf[len] = '\0';
    return r;
}

/* An unsigned decimal from s up to the end of its line: 0 or -EBADMSG. */
static int s_u64 (const char *s, uint64_t *ret)
{
    if (*s < '0' || *s > '9') return -EBADMSG;
    char *end;
    errno = 0;
    unsigned long long v = strtoull (s, &end, 10);
    if (errno || (*end && *end != '\n')) return -EBADMSG;
    *ret = (uint64_t)v;
    return 0;
}

/* The value of `key` in "key value" lines: 0, -ENODATA (no such line) or
 * -EBADMSG. */
static int s_keyed_u64 (const char *text, const char *key, uint64_t *ret)
{
    size_t klen = strlen (key);
    for (const char *line = text; *line;) {
        if (strncmp (line, key, klen) == 0 && line[klen] == ' ')
            return s_u64 (line + klen + 1, ret);
        const char *nl = strchr (line, '\n');
        if (!nl) break;
        line = nl + 1;
    }
    return -ENODATA;
}

/* dir/file into buf; 0, -ENOENT (no such file) or -EBADMSG/-errno with the
 * path left in path for the error. */
static int s_usage_file (const char *dir, const char *file, char *path, size_t plen, char *buf)
{
    if ((size_t)snprintf (path, plen, "%s/%s", dir, file) >= plen) return -ENAMETOOLONG;
    return s_read_small (path, buf, USAGE_BUF);
}

/* The memory figures of a group directory: usage from usage_file, the
 * inactive file cache from memory.stat's stat_key, OOM kills from
 * oom_file's "oom_kill" line. */
static int s_usage_memory (const char *dir, const char *usage_file, const char *stat_key,
                           const char *oom_file, hs_cg_usage_t *ret, char *path, size_t plen,
                           bool *any)
{
    char buf[USAGE_BUF];
    uint64_t v;
    int r = s_usage_file (dir, usage_file, path, plen, buf);
    if (r == 0) {
        *any = true;
        if (s_u64 (buf, &v) < 0 || v > INT64_MAX) return -EBADMSG;
        ret->memory_usage = ret->working_set = (int64_t)v;
        ret->have |= HS_CG_HAVE_MEMORY;
        r = s_usage_file (dir, "memory.stat", path, plen, buf);
        if (r == 0) {
            r = s_keyed_u64 (buf, stat_key, &v);
            if (r == -EBADMSG) return r;
            if (r == 0)
                ret->working_set =
                    v >= (uint64_t)ret->memory_usage ? 0 : ret->memory_usage - (int64_t)v;
        } else if (r != -ENOENT)
            return r;
    } else if (r != -ENOENT)
        return r;
    r = s_usage_file (dir, oom_file, path, plen, buf);
    if (r == 0) {
        *any = true;
        r = s_keyed_u64 (buf, "oom_kill", &ret->oom_kills);
        if (r == -EBADMSG) return r;
        if (r == 0) ret->have |= HS_CG_HAVE_OOM;
    } else if (r != -ENOENT)
        return r;
    return 0;
}

static int s_usage_v1 (const char *cpuacct_dir, const char *memory_dir, hs_cg_usage_t *ret,
                       char *path, size_t plen)
{
    memset (ret, 0, sizeof *ret);
    char buf[64];
    bool any = false;
    if (cpuacct_dir) {
        if ((size_t)snprintf (path, plen, "%s/cpuacct.usage", cpuacct_dir) >= plen)
            return -ENAMETOOLONG;
        int r = s_read_small (path, buf, sizeof buf);
        if (r == 0) {
            any = true;
            if (s_u64 (buf, &ret->cpu_ns) < 0) return -EBADMSG;
            ret->have |= HS_CG_HAVE_CPU;
        } else if (r != -ENOENT)
            return r;
    }
    if (memory_dir) {
        int r = s_usage_memory (memory_dir, "memory.usage_in_bytes", "total_inactive_file",
                                "memory.oom_control", ret, path, plen, &any);
        if (r < 0) return r;
    }
    return any ? 0 : -ENOENT;
}

static int s_usage_v2 (const char *dir, hs_cg_usage_t *ret, char *path, size_t plen)
{
    memset (ret, 0, sizeof *ret);
    char buf[USAGE_BUF];
    bool any = false;
    int r = s_usage_file (dir, "cpu.stat", path, plen, buf);
    if (r == 0) {
        any = true;
        uint64_t us;
        r = s_keyed_u64 (buf, "usage_usec", &us);
        if (r == -EBADMSG || (r == 0 && us > UINT64_MAX / 1000)) return -EBADMSG;
        if (r == 0) {
            ret->cpu_ns = us * 1000;
            ret->have |= HS_CG_HAVE_CPU;
        }
    } else if (r != -ENOENT)
        return r;
    r = s_usage_memory (dir, "memory.current", "inactive_file", "memory.events", ret, path, plen,
                        &any);
    if (r < 0) return r;
    return any ? 0 : -ENOENT;
}

int hs_cg_usage_v1 (const char *cpuacct_dir, const char *memory_dir, hs_cg_usage_t *ret)
{
    char path[PATH_MAX];
    return s_usage_v1 (cpuacct_dir, memory_dir, ret, path, sizeof path);
}

int hs_cg_usage_v2 (const char *dir, hs_cg_usage_t *ret)
{
    char path[PATH_MAX];
    return s_usage_v2 (dir, ret, path, sizeof path);
}

int hs_cg_usage (hs_cg_t *self, const char *name, hs_cg_usage_t *ret)
{
    s_clear_error (self);
    if (!s_valid_name (name)) return s_fail (self, -EINVAL, "group name \"%s\"", hs_s (name));
    char path[PATH_MAX], a[PATH_MAX], b[PATH_MAX];
    int r;
    if (self->version == 2) {
        snprintf (a, sizeof a, "%s/%s", self->hier[0].dir, name);
        r = s_usage_v2 (a, ret, path, sizeof path);
    } else {
        const s_hier_t *cpu = NULL, *mem = s_hier_of (self, CG_MEMORY);
        for (size_t i = 0; i < self->n_hier && !cpu; i++)
            if (self->hier[i].cpuacct) cpu = &self->hier[i];
        if (cpu) snprintf (a, sizeof a, "%s/%s", cpu->dir, name);
        if (mem) snprintf (b, sizeof b, "%s/%s", mem->dir, name);
        r = s_usage_v1 (cpu ? a : NULL, mem ? b : NULL, ret, path, sizeof path);
    }
    if (r == -ENOENT) return s_fail (self, r, "group %s", name);
    if (r < 0) return s_fail (self, r, "read %s", path);
    return 0;
}
