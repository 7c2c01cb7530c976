/*  shim_mounts.c: a container's volume mounts (see shim_mounts.h). */
#include "shim_mounts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_COVERS 16

typedef struct {
    char src[PATH_MAX], dst[PATH_MAX];
    bool ro;
} s_mount_t;

static int s_parse (const char *spec, s_mount_t *m)
{
    const char *colon = strchr (spec, ':');
    if (!colon || colon == spec || spec[0] != '/') return -EINVAL;
    size_t sl = (size_t)(colon - spec);
    const char *dst = colon + 1;
    size_t dl = strlen (dst);
    m->ro = false;
    if (dl > 3 && !strcmp (dst + dl - 3, ":ro")) {
        m->ro = true;
        dl -= 3;
    }
    if (dl == 0 || dst[0] != '/' || memchr (dst, ':', dl) || sl >= sizeof m->src ||
        dl >= sizeof m->dst)
        return -EINVAL;
    memcpy (m->src, spec, sl);
    m->src[sl] = '\0';
    memcpy (m->dst, dst, dl);
    m->dst[dl] = '\0';
    /* No trailing '/' (but "/"), so parents are found by cutting. */
    while (dl > 1 && m->dst[dl - 1] == '/') m->dst[--dl] = '\0';
    return 0;
}

bool shim_mount_spec_ok (const char *spec)
{
    s_mount_t m;
    return s_parse (spec, &m) == 0;
}

static int s_fail (char *err, size_t len, int e, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));
static int s_fail (char *err, size_t len, int e, const char *fmt, ...)
{
    char what[PATH_MAX + 128];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (what, sizeof what, fmt, ap);
    va_end (ap);
    char eb[128];
    snprintf (eb, sizeof eb, "%s", strerror (e));
    if (eb[0] >= 'A' && eb[0] <= 'Z') eb[0] = (char)(eb[0] - 'A' + 'a');
    snprintf (err, len, "%s: %s", what, eb);
    return -e;
}

/* The mount flags a bind remount must keep (statvfs's ST_* as MS_*). */
static unsigned long s_kept_flags (const char *path)
{
    struct statvfs sv;
    unsigned long f = 0;
    if (statvfs (path, &sv) < 0) return 0;
    if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
    if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
    if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
    if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
    if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
    return f;
}

/* Fills the tmpfs at target with dir's entries (dir = the fds of what the
 * tmpfs now hides): symlinks copied, everything else bind-mounted back
 * with what is mounted below it. */
static int s_populate (int pfd, int lfd, const char *target, char *err, size_t len)
{
    DIR *d = fdopendir (lfd);
    if (!d) return s_fail (err, len, errno, "read the entries of %s", target);
    struct dirent *de;
    int r = 0;
    while (r == 0 && (de = readdir (d))) {
        const char *name = de->d_name;
        if (!strcmp (name, ".") || !strcmp (name, "..")) continue;
        struct stat st;
        if (fstatat (dirfd (d), name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue; /* gone meanwhile */
        char np[PATH_MAX];
        if ((size_t)snprintf (np, sizeof np, "%s/%s", strcmp (target, "/") ? target : "", name) >=
            sizeof np)
            continue;
        if (S_ISLNK (st.st_mode)) {
            char t[PATH_MAX];
            ssize_t tl = readlinkat (dirfd (d), name, t, sizeof t - 1);
            if (tl < 0) continue;
            t[tl] = '\0';
            if (symlink (t, np) < 0) r = s_fail (err, len, errno, "re-create the symlink %s", np);
            continue;
        }
        if (S_ISDIR (st.st_mode)) {
            if (mkdir (np, st.st_mode & 07777) < 0)
                r = s_fail (err, len, errno, "make the mount point %s", np);
        } else {
            int fd = open (np, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            if (fd < 0)
                r = s_fail (err, len, errno, "make the mount point %s", np);
            else
                close (fd);
        }
        if (r < 0) break;
        char old[64 + NAME_MAX];
        snprintf (old, sizeof old, "/proc/self/fd/%d/%s", pfd, name);
        if (mount (old, np, NULL, MS_BIND | MS_REC, NULL) < 0)
            r = s_fail (err, len, errno, "bind %s back over the tmpfs", np);
    }
    closedir (d);
    return r;
}

/* mkdir -p of rel below base (the missing part of a mount point), the
 * last component a directory (dir) or an empty file. */
static int s_make_below (const char *base, const char *rel, bool dir, char *err, size_t len)
{
    char p[PATH_MAX];
    if ((size_t)snprintf (p, sizeof p, "%s/%s", strcmp (base, "/") ? base : "", rel) >= sizeof p)
        return s_fail (err, len, ENAMETOOLONG, "make %s", rel);
    size_t start = strlen (base) + 1;
    for (char *s = strchr (p + start, '/'); s; s = strchr (s + 1, '/')) {
        *s = '\0';
        if (mkdir (p, 0755) < 0 && errno != EEXIST)
            return s_fail (err, len, errno, "make the mount point's parent %s", p);
        *s = '/';
    }
    if (dir) {
        if (mkdir (p, 0755) < 0 && errno != EEXIST)
            return s_fail (err, len, errno, "make the mount point %s", p);
        return 0;
    }
    int fd = open (p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return s_fail (err, len, errno, "make the mount point %s", p);
    close (fd);
    return 0;
}

/* dst does not exist: covers its nearest existing parent (see the
 * header) and makes the rest there. *cover gets the covered path (to be
 * made read-only at the end). */
static int s_make_mountpoint (const char *dst, bool dir, const char *staging, char *cover,
                              char *err, size_t len)
{
    char parent[PATH_MAX];
    snprintf (parent, sizeof parent, "%s", dst);
    struct stat st;
    for (;;) {
        char *slash = strrchr (parent, '/');
        if (slash == parent) {
            parent[1] = '\0';
            break;
        }
        *slash = '\0';
        if (stat (parent, &st) == 0) break;
    }
    if (stat (parent, &st) < 0 || !S_ISDIR (st.st_mode))
        return s_fail (err, len, ENOTDIR, "mount point %s: its parent %s", dst, parent);
    const char *rel = dst + (strcmp (parent, "/") ? strlen (parent) + 1 : 1);
    bool root = !strcmp (parent, "/");
    const char *target = root ? staging : parent;
    int pfd = open (parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
    int lfd = open (parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0 || lfd < 0) {
        int e = errno;
        if (pfd >= 0) close (pfd);
        if (lfd >= 0) close (lfd);
        return s_fail (err, len, e, "open %s", parent);
    }
    char opts[96];
    snprintf (opts, sizeof opts, "mode=%o,uid=%u,gid=%u", st.st_mode & 07777, st.st_uid, st.st_gid);
    int r = 0;
    if (mount ("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0) {
        r = s_fail (err, len, errno, "mount a tmpfs over %s (for mount point %s)", parent, dst);
        close (lfd);
    } else
        r = s_populate (pfd, lfd, target, err, len); /* closes lfd */
    close (pfd);
    if (r == 0) r = s_make_below (target, rel, dir, err, len);
    if (r < 0) return r;
    if (root) {
        /* The tmpfs becomes the root of this mount namespace. */
        if (chdir (staging) < 0) return s_fail (err, len, errno, "chdir %s", staging);
        if (syscall (SYS_pivot_root, ".", ".") < 0)
            return s_fail (err, len, errno, "pivot_root to a tmpfs for mount point %s", dst);
        if (umount2 (".", MNT_DETACH) < 0) return s_fail (err, len, errno, "detach the old root");
        if (chdir ("/") < 0) return s_fail (err, len, errno, "chdir /");
        /* The tmpfs showed itself again at staging (bound back with the
         * entry holding it): not for the container. */
        (void)umount2 (staging, MNT_DETACH);
    }
    snprintf (cover, PATH_MAX, "%s", parent);
    return 0;
}

static int s_apply_sorted (const char *const *specs, size_t n, const char *staging, bool ro_root,
                           char (*covers)[PATH_MAX], size_t *n_covers_p, char *err, size_t errlen);

/* How deep a path is: its count of '/'. */
static size_t s_depth (const char *spec)
{
    s_mount_t m;
    if (s_parse (spec, &m) < 0) return 0;
    size_t d = 0;
    for (const char *p = m.dst; *p; p++) d += *p == '/';
    return d;
}

int shim_mounts_apply (const char *const *specs, size_t n, const char *staging, bool ro_root,
                       char *err, size_t errlen)
{
    static char covers[MAX_COVERS][PATH_MAX];
    size_t n_covers = 0;
    /* Shallow mount points first (a stable insertion sort: the order given
     * among equals), so a mount inside another volume is not hidden by it. */
    const char **order = calloc (n ? n : 1, sizeof *order);
    if (!order) return s_fail (err, errlen, ENOMEM, "sort the mounts");
    for (size_t i = 0; i < n; i++) {
        size_t j = i, d = s_depth (specs[i]);
        while (j > 0 && s_depth (order[j - 1]) > d) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = specs[i];
    }
    int r = s_apply_sorted (order, n, staging, ro_root, covers, &n_covers, err, errlen);
    free (order);
    if (r < 0) return r;
    /* Nothing new beside the host's entries: a file made there would
     * vanish with the container. */
    for (size_t i = 0; i < n_covers; i++) {
        unsigned long keep = s_kept_flags (covers[i]);
        if (mount (NULL, covers[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0)
            return s_fail (err, errlen, errno, "make the tmpfs over %s read-only", covers[i]);
    }
    return 0;
}

static int s_apply_sorted (const char *const *specs, size_t n, const char *staging, bool ro_root,
                           char (*covers)[PATH_MAX], size_t *n_covers_p, char *err, size_t errlen)
{
    size_t n_covers = 0;
    for (size_t i = 0; i < n; i++) {
        static s_mount_t m, prev;
        if (s_parse (specs[i], &m) < 0)
            return s_fail (err, errlen, EINVAL, "--mount %s: wants SRC:DST[:ro]", specs[i]);
        struct stat sst, dst;
        if (stat (m.src, &sst) < 0) return s_fail (err, errlen, errno, "volume source %s", m.src);
        bool dir = S_ISDIR (sst.st_mode);
        /* Inside a writable volume mounted before (an emptyDir, a hostPath):
         * the mount point is made in the volume, as runc does, so the
         * volume stays one directory for every container of the pod. */
        const char *in_vol = NULL;
        size_t best = 0;
        for (size_t j = 0; j < i; j++) {
            if (s_parse (specs[j], &prev) < 0 || prev.ro) continue;
            size_t pl = strlen (prev.dst);
            if (pl > best && !strncmp (m.dst, prev.dst, pl) && m.dst[pl] == '/') {
                best = pl;
                in_vol = specs[j];
            }
        }
        if (stat (m.dst, &dst) < 0 && errno == ENOENT && in_vol) {
            s_parse (in_vol, &prev);
            int r = s_make_below (prev.dst, m.dst + strlen (prev.dst) + 1, dir, err, errlen);
            if (r < 0) return r;
        }
        if (stat (m.dst, &dst) < 0) {
            if (errno != ENOENT) return s_fail (err, errlen, errno, "mount point %s", m.dst);
            if (n_covers == MAX_COVERS)
                return s_fail (err, errlen, E2BIG, "mount point %s: too many missing mount points",
                               m.dst);
            int r = s_make_mountpoint (m.dst, dir, staging, covers[n_covers], err, errlen);
            if (r < 0) return r;
            n_covers++;
        } else if (dir != S_ISDIR (dst.st_mode)) {
            return s_fail (err, errlen, dir ? ENOTDIR : EISDIR, "mount %s on %s", m.src, m.dst);
        }
        if (mount (m.src, m.dst, NULL, MS_BIND | MS_REC, NULL) < 0)
            return s_fail (err, errlen, errno, "bind-mount %s on %s", m.src, m.dst);
        if (m.ro) {
            unsigned long keep = s_kept_flags (m.dst);
            if (mount (NULL, m.dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0)
                return s_fail (err, errlen, errno, "make %s read-only", m.dst);
        } else if (ro_root) {
            /* Bound from the read-only / (an emptyDir under the agent's
             * state dir): writable again, as the volume is meant to be. */
            unsigned long keep = s_kept_flags (m.dst) & ~(unsigned long)MS_RDONLY;
            if (mount (NULL, m.dst, NULL, MS_BIND | MS_REMOUNT | keep, NULL) < 0)
                return s_fail (err, errlen, errno, "make %s writable under a read-only root",
                               m.dst);
        }
    }
    *n_covers_p = n_covers;
    return 0;
}
