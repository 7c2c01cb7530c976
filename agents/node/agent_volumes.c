/*  agent_volumes.c: a pod's volumes on the node (see agent_volumes.h). */
#include "agent_volumes.h"

#include "hs_log.h"
#include "hs_pb.h"
#include "hs_quantity.h"
#include "hs_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define DATA_LINK     "..data"
#define DATA_TMP_LINK "..data_tmp"
#define PATH_MAX_LEN  4096

/* ------------------------------------------------------------------ small things */

static int s_rm_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove (path);
    return 0;
}

/* rm -rf that never crosses into another file system (a mount that could
 * not be removed keeps its contents). */
static void s_rm_rf (const char *path)
{
    nftw (path, s_rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static bool s_is_mountpoint (const char *path)
{
    struct stat a, b;
    _cleanup_free_ char *parent = hs_sprintf ("%s/..", path);
    if (stat (path, &a) < 0 || stat (parent, &b) < 0) return false;
    return a.st_dev != b.st_dev || a.st_ino == b.st_ino;
}

static int s_write_all (int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write (fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -errno;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

bool agent_vol_path_ok (const char *path)
{
    if (hs_empty (path) || path[0] == '/' || strlen (path) > PATH_MAX_LEN) return false;
    if (hs_startswith (path, "..")) return false;
    const char *p = path;
    for (;;) {
        const char *end = strchrnul (p, '/');
        size_t len = (size_t)(end - p);
        if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        if (*end == '\0') return true;
        p = end + 1;
    }
}

/* ------------------------------------------------------------------ the atomic writer */

/* Whether dir/..data holds exactly these files, contents and modes. */
static bool s_same (int dfd, const agent_vol_file_t *files, size_t n)
{
    char target[NAME_MAX + 1];
    ssize_t tl = readlinkat (dfd, DATA_LINK, target, sizeof target - 1);
    if (tl <= 0) return false;
    target[tl] = '\0';
    for (size_t i = 0; i < n; i++) {
        _cleanup_free_ char *p = hs_sprintf ("%s/%s", target, files[i].path);
        int fd = openat (dfd, p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) return false;
        struct stat st;
        bool same = fstat (fd, &st) == 0 && S_ISREG (st.st_mode) &&
                    (size_t)st.st_size == files[i].len &&
                    (int)(st.st_mode & 07777) == files[i].mode;
        if (same && files[i].len) {
            uint8_t *buf = hs_malloc (files[i].len);
            ssize_t got = pread (fd, buf, files[i].len, 0);
            same = got == (ssize_t)files[i].len && memcmp (buf, files[i].data, files[i].len) == 0;
            free (buf);
        }
        close (fd);
        if (!same) return false;
    }
    /* No file more than these: count the regular files under ..data. */
    size_t count = 0;
    int rfd = openat (dfd, target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0) return false;
    /* A small walk by hand (no nftw: it wants a path, we have fds). */
    int stack[64];
    int top = 0;
    stack[top++] = rfd;
    bool ok = true;
    while (top > 0) {
        int fd = stack[--top];
        DIR *d = fdopendir (fd);
        if (!d) {
            close (fd);
            ok = false;
            continue;
        }
        struct dirent *de;
        while ((de = readdir (d))) {
            if (!strcmp (de->d_name, ".") || !strcmp (de->d_name, "..")) continue;
            struct stat st;
            if (fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
            if (S_ISREG (st.st_mode)) count++;
            if (S_ISDIR (st.st_mode) && top < (int)HS_ARRAY_LEN (stack)) {
                int sub = openat (dirfd (d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (sub >= 0) stack[top++] = sub;
            }
        }
        closedir (d);
    }
    return ok && count == n;
}

/* mkdir -p of path's parent directories below dfd (mode 0755). */
static int s_mkparents (int dfd, const char *path)
{
    _cleanup_free_ char *p = hs_strdup (path);
    for (char *s = strchr (p, '/'); s; s = strchr (s + 1, '/')) {
        *s = '\0';
        if (mkdirat (dfd, p, 0755) < 0 && errno != EEXIST) return -errno;
        *s = '/';
    }
    return 0;
}

/* The first component of a relative path (malloc'd). */
static char *s_first (const char *path)
{
    return hs_strndup (path, strcspn (path, "/"));
}

int agent_vol_write (const char *dir, const agent_vol_file_t *files, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!agent_vol_path_ok (files[i].path)) return -EINVAL;
    int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return -errno;
    if (s_same (dfd, files, n)) {
        close (dfd);
        return 0;
    }
    /* The new timestamped directory, named as the kubelet names it. */
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r (&ts.tv_sec, &tm);
    char stamp[64];
    strftime (stamp, sizeof stamp, "%Y_%m_%d_%H_%M_%S", &tm);
    _cleanup_free_ char *tmpl = hs_sprintf ("%s/..%s.%09ld.XXXXXX", dir, stamp, ts.tv_nsec);
    if (!mkdtemp (tmpl)) {
        int r = -errno;
        close (dfd);
        return r;
    }
    chmod (tmpl, 0755);
    const char *tsname = strrchr (tmpl, '/') + 1;
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        _cleanup_free_ char *rel = hs_sprintf ("%s/%s", tsname, files[i].path);
        r = s_mkparents (dfd, rel);
        if (r < 0) break;
        int fd = openat (dfd, rel, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            r = -errno;
            break;
        }
        r = s_write_all (fd, files[i].data, files[i].len);
        if (r == 0 && fchmod (fd, (mode_t)files[i].mode) < 0) r = -errno;
        close (fd);
    }
    char old[NAME_MAX + 1] = "";
    ssize_t ol = readlinkat (dfd, DATA_LINK, old, sizeof old - 1);
    old[ol > 0 ? ol : 0] = '\0';
    if (r == 0) {
        unlinkat (dfd, DATA_TMP_LINK, 0);
        if (symlinkat (tsname, dfd, DATA_TMP_LINK) < 0 ||
            renameat (dfd, DATA_TMP_LINK, dfd, DATA_LINK) < 0)
            r = -errno;
    }
    if (r < 0) {
        s_rm_rf (tmpl);
        unlinkat (dfd, DATA_TMP_LINK, 0);
        close (dfd);
        return r;
    }
    /* The names users see: one symlink per top-level entry into ..data. */
    for (size_t i = 0; i < n; i++) {
        _cleanup_free_ char *first = s_first (files[i].path);
        _cleanup_free_ char *target = hs_sprintf (DATA_LINK "/%s", first);
        if (symlinkat (target, dfd, first) < 0 && errno != EEXIST)
            log_debug ("volume %s: symlink %s: %s", dir, first, strerror (errno));
    }
    /* ... and no more: names the new payload lacks go. */
    int lfd = dup (dfd);
    DIR *d = lfd >= 0 ? fdopendir (lfd) : NULL;
    struct dirent *de;
    while (d && (de = readdir (d))) {
        if (hs_startswith (de->d_name, "..") || !strcmp (de->d_name, ".")) continue;
        bool keep = false;
        for (size_t i = 0; i < n && !keep; i++) {
            _cleanup_free_ char *first = s_first (files[i].path);
            keep = !strcmp (first, de->d_name);
        }
        struct stat st;
        if (!keep && fstatat (dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK (st.st_mode))
            unlinkat (dfd, de->d_name, 0);
    }
    if (d) closedir (d);
    if (old[0] && strcmp (old, tsname) != 0 && hs_startswith (old, "..") && !strchr (old, '/')) {
        _cleanup_free_ char *oldp = hs_sprintf ("%s/%s", dir, old);
        s_rm_rf (oldp);
    }
    close (dfd);
    return 1;
}

/* ------------------------------------------------------------------ volumes */

static const char *s_ns (const Hs__Pod *pod)
{
    const char *ns = pod->metadata ? pod->metadata->namespace_ : NULL;
    return hs_empty (ns) ? "default" : ns;
}

static char *s_vol_dir (const char *pod_dir, const char *name)
{
    return hs_sprintf ("%s/volumes/%s", pod_dir, name);
}

/* The files of a configMap or secret volume from its object. 0 with
 * *ret and *ret_n (free each path, then the array), or -ENOENT / -EINVAL with
 * *ret_err. */
static int s_payload (const Hs__Object *o, Hs__KeyToPath **items, size_t n_items,
                      const Hs__Int32Value *default_mode, bool optional, agent_vol_file_t **ret,
                      size_t *ret_n, char **ret_err)
{
    agent_kv_t *kv = NULL;
    size_t n = agent_kv_list (o, &kv);
    int dmode = default_mode ? default_mode->value & 0777 : 0644;
    agent_vol_file_t *f = NULL;
    size_t nf = 0;
    int r = 0;
    const char *kind = hs_obj_kind (o) == HS_KIND_SECRET ? "secret" : "configmap";
    if (n_items == 0) {
        for (size_t i = 0; i < n; i++) {
            if (!agent_vol_path_ok (kv[i].key)) continue; /* not a file name: skipped, as kube */
            f = hs_realloc (f, (nf + 1) * sizeof *f);
            f[nf++] = (agent_vol_file_t){hs_strdup (kv[i].key), kv[i].data, kv[i].len, dmode};
        }
    }
    for (size_t i = 0; i < n_items && r == 0; i++) {
        const Hs__KeyToPath *it = items[i];
        const agent_kv_t *hit = agent_kv_find (kv, n, it->key);
        if (!hit) {
            if (optional) continue;
            *ret_err = hs_sprintf ("%s references non-existent %s key: %s",
                                   strcmp (kind, "secret") ? "configmap" : "secret",
                                   strcmp (kind, "secret") ? "config" : "secret", hs_s (it->key));
            r = -ENOENT;
            break;
        }
        if (!agent_vol_path_ok (it->path)) {
            *ret_err = hs_sprintf ("items path %s: must be relative and may not contain '..'",
                                   hs_s (it->path));
            r = -EINVAL;
            break;
        }
        f = hs_realloc (f, (nf + 1) * sizeof *f);
        f[nf++] = (agent_vol_file_t){hs_strdup (it->path), hit->data, hit->len,
                                     it->mode ? it->mode->value & 0777 : dmode};
    }
    free (kv);
    if (r < 0) {
        for (size_t i = 0; i < nf; i++) free (f[i].path);
        free (f);
        return r;
    }
    *ret = f;
    *ret_n = nf;
    return 0;
}

/* A tmpfs on dir unless one is there already. */
static int s_tmpfs (const char *dir, const char *opts)
{
    if (s_is_mountpoint (dir)) return 0;
    if (mount ("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0) return -errno;
    return 0;
}

/* One configMap or secret volume. 1 written, 0 unchanged, -errno with *ret_err. */
static int s_projected (const agent_vol_conf_t *conf, const char *dir, const Hs__Pod *pod,
                        const Hs__Volume *v, char **ret_err)
{
    bool secret = v->secret != NULL;
    hs_kind_t kind = secret ? HS_KIND_SECRET : HS_KIND_CONFIGMAP;
    const char *name = secret ? v->secret->secret_name : v->config_map->name;
    bool optional = secret ? v->secret->optional : v->config_map->optional;
    int r = hs_mkdir_p (dir, 0755);
    if (r < 0) {
        *ret_err = hs_sprintf ("mkdir %s: %s", dir, strerror (-r));
        return r;
    }
    /* A Secret lives in memory only: its tmpfs, before any byte is written. */
    if (secret && (r = s_tmpfs (dir, "mode=0755")) < 0) {
        *ret_err = hs_sprintf ("mount a tmpfs for it: %s", strerror (-r));
        return r;
    }
    const Hs__Object *o = conf->lookup (conf->arg, kind, s_ns (pod), name);
    if (!o && !optional) {
        *ret_err = hs_sprintf ("%s \"%s\" not found", secret ? "secret" : "configmap", hs_s (name));
        return -ENOENT;
    }
    agent_vol_file_t *files = NULL;
    size_t n = 0;
    if (o) {
        r = secret ? s_payload (o, v->secret->items, v->secret->n_items, v->secret->default_mode,
                                optional, &files, &n, ret_err)
                   : s_payload (o, v->config_map->items, v->config_map->n_items,
                                v->config_map->default_mode, optional, &files, &n, ret_err);
        if (r < 0) return r;
    }
    r = agent_vol_write (dir, files, n);
    for (size_t i = 0; i < n; i++) free (files[i].path);
    free (files);
    if (r < 0) *ret_err = hs_sprintf ("write its files: %s", strerror (-r));
    return r;
}

static int s_empty_dir (const char *dir, const Hs__EmptyDirVolumeSource *e, char **ret_err)
{
    int r = hs_mkdir_p (dir, 0777);
    if (r < 0) {
        *ret_err = hs_sprintf ("mkdir %s: %s", dir, strerror (-r));
        return r;
    }
    if (!hs_streq (e->medium, "Memory")) {
        chmod (dir, 0777); /* any user of the pod may write, as the kubelet's */
        return 0;
    }
    _cleanup_free_ char *opts = NULL;
    int64_t bytes = 0;
    if (!hs_empty (e->size_limit)) {
        if (hs_quantity_bytes (e->size_limit, &bytes) < 0 || bytes <= 0) {
            *ret_err = hs_sprintf ("emptyDir.sizeLimit: Invalid value: \"%s\"", e->size_limit);
            return -EINVAL;
        }
        opts = hs_sprintf ("mode=0777,size=%lld", (long long)bytes);
    } else
        opts = hs_strdup ("mode=0777");
    r = s_tmpfs (dir, opts);
    if (r < 0) *ret_err = hs_sprintf ("mount a tmpfs for it: %s", strerror (-r));
    return r;
}

static int s_host_path (const agent_vol_conf_t *conf, const Hs__HostPathVolumeSource *h,
                        char **ret_err)
{
    if (!conf->allow_host_path) {
        *ret_err = hs_sprintf ("hostPath volumes are not allowed on node %s (hs-agent "
                               "--allow-host-path)",
                               hs_s (conf->node));
        return -EPERM;
    }
    const char *path = h->path, *type = hs_s (h->type);
    if (hs_empty (path) || path[0] != '/') {
        *ret_err = hs_sprintf ("hostPath.path: must be an absolute path, not \"%s\"", hs_s (path));
        return -EINVAL;
    }
    if (!strcmp (type, "DirectoryOrCreate")) {
        int r = hs_mkdir_p (path, 0755);
        if (r < 0) {
            *ret_err = hs_sprintf ("mkdir %s: %s", path, strerror (-r));
            return r;
        }
    } else if (!strcmp (type, "FileOrCreate")) {
        int fd = open (path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0) {
            *ret_err = hs_sprintf ("create %s: %s", path, strerror (errno));
            return -errno;
        }
        close (fd);
    }
    if (!*type) return 0;
    struct stat st;
    if (stat (path, &st) < 0) {
        *ret_err = hs_sprintf ("hostPath type check failed: %s does not exist", path);
        return -ENOENT;
    }
    static const struct {
        const char *type;
        mode_t fmt;
        const char *what;
    } checks[] = {{"Directory", S_IFDIR, "a directory"},
                  {"DirectoryOrCreate", S_IFDIR, "a directory"},
                  {"File", S_IFREG, "a file"},
                  {"FileOrCreate", S_IFREG, "a file"},
                  {"Socket", S_IFSOCK, "a socket file"},
                  {"CharDevice", S_IFCHR, "a character device"},
                  {"BlockDevice", S_IFBLK, "a block device"}};
    for (size_t i = 0; i < HS_ARRAY_LEN (checks); i++) {
        if (strcmp (type, checks[i].type) != 0) continue;
        if ((st.st_mode & S_IFMT) == checks[i].fmt) return 0;
        *ret_err = hs_sprintf ("hostPath type check failed: %s is not %s", path, checks[i].what);
        return -ENOTDIR;
    }
    *ret_err = hs_sprintf ("hostPath.type: Unsupported value: \"%s\"", type);
    return -EINVAL;
}

int agent_vols_sync (const agent_vol_conf_t *conf, const char *pod_dir, const Hs__Pod *pod,
                     const char **ret_reason, char **ret_err)
{
    *ret_reason = NULL;
    *ret_err = NULL;
    const Hs__PodSpec *sp = pod->spec;
    int changed = 0, first = 0;
    for (size_t i = 0; sp && i < sp->n_volumes; i++) {
        const Hs__Volume *v = sp->volumes[i];
        if (!agent_vol_path_ok (v->name) || strchr (v->name, '/')) {
            if (!first) {
                first = -EINVAL;
                *ret_reason = "CreateContainerConfigError";
                *ret_err = hs_sprintf ("volume name \"%s\" is not valid", hs_s (v->name));
            }
            continue;
        }
        _cleanup_free_ char *dir = s_vol_dir (pod_dir, v->name);
        char *err = NULL;
        int r = 0;
        if (v->config_map || v->secret)
            r = s_projected (conf, dir, pod, v, &err);
        else if (v->empty_dir)
            r = s_empty_dir (dir, v->empty_dir, &err);
        else if (v->host_path)
            r = s_host_path (conf, v->host_path, &err);
        else {
            r = -EINVAL;
            err = hs_strdup ("no volume source (configMap, secret, emptyDir or hostPath)");
        }
        if (r > 0) changed++;
        if (r >= 0) continue;
        if (!first) {
            first = r;
            /* A missing object is waited for, as the kubelet's FailedMount:
             * the pod stays ContainerCreating until it appears. */
            *ret_reason = r == -ENOENT && (v->config_map || v->secret)
                              ? "ContainerCreating"
                              : "CreateContainerConfigError";
            *ret_err =
                hs_sprintf ("MountVolume.SetUp failed for volume \"%s\" : %s", v->name, hs_s (err));
        }
        free (err);
    }
    return first < 0 ? first : changed;
}

bool agent_vols_uses (const Hs__Pod *pod, hs_kind_t kind, const char *name)
{
    const Hs__PodSpec *sp = pod->spec;
    for (size_t i = 0; sp && i < sp->n_volumes; i++) {
        const Hs__Volume *v = sp->volumes[i];
        if (kind == HS_KIND_CONFIGMAP && v->config_map && hs_streq (v->config_map->name, name))
            return true;
        if (kind == HS_KIND_SECRET && v->secret && hs_streq (v->secret->secret_name, name))
            return true;
    }
    return false;
}

static const Hs__Volume *s_volume (const Hs__Pod *pod, const char *name)
{
    const Hs__PodSpec *sp = pod->spec;
    for (size_t i = 0; sp && i < sp->n_volumes; i++)
        if (hs_streq (sp->volumes[i]->name, name)) return sp->volumes[i];
    return NULL;
}

int agent_vols_mounts (const agent_vol_conf_t *conf, const char *pod_dir, const Hs__Pod *pod,
                       const Hs__Container *c, char ***ret, char **ret_err)
{
    (void)conf;
    *ret = NULL;
    *ret_err = NULL;
    char **out = hs_calloc (c->n_volume_mounts + 1, sizeof *out);
    size_t n = 0;
    for (size_t i = 0; i < c->n_volume_mounts; i++) {
        const Hs__VolumeMount *vm = c->volume_mounts[i];
        const Hs__Volume *v = s_volume (pod, vm->name);
        const char *dst = vm->mount_path;
        if (!v) {
            *ret_err = hs_sprintf ("volumeMounts[%zu].name: Not found: \"%s\"", i, hs_s (vm->name));
            goto fail;
        }
        if (hs_empty (dst) || dst[0] != '/' || strchr (dst, ':') || strstr (dst, "/../") ||
            (strlen (dst) >= 3 && !strcmp (dst + strlen (dst) - 3, "/.."))) {
            *ret_err = hs_sprintf ("volumeMounts[%zu].mountPath: Invalid value: \"%s\": must be "
                                   "an absolute path without ':' or '..'",
                                   i, hs_s (dst));
            goto fail;
        }
        _cleanup_free_ char *src =
            v->host_path ? hs_strdup (v->host_path->path) : s_vol_dir (pod_dir, v->name);
        bool ro = vm->read_only || v->config_map || v->secret;
        if (!hs_empty (vm->sub_path)) {
            if (!agent_vol_path_ok (vm->sub_path)) {
                *ret_err = hs_sprintf ("volumeMounts[%zu].subPath: Invalid value: \"%s\": must be "
                                       "a relative path without '..'",
                                       i, vm->sub_path);
                goto fail;
            }
            _cleanup_free_ char *joined = hs_sprintf ("%s/%s", src, vm->sub_path);
            /* kube makes a missing subPath of a writable volume as a directory. */
            if (v->empty_dir || v->host_path) (void)hs_mkdir_p (joined, 0755);
            char real[PATH_MAX], base[PATH_MAX];
            if (!realpath (joined, real) || !realpath (src, base)) {
                *ret_err = hs_sprintf ("subPath %s of volume %s: %s", vm->sub_path, v->name,
                                       strerror (errno));
                goto fail;
            }
            size_t bl = strlen (base);
            /* Resolved (symlinks followed) and still inside the volume: a
             * container cannot aim a subPath at the host through a link
             * of its own. */
            if (strncmp (real, base, bl) != 0 || (real[bl] != '/' && real[bl] != '\0')) {
                *ret_err = hs_sprintf ("subPath %s of volume %s resolves outside the volume",
                                       vm->sub_path, v->name);
                goto fail;
            }
            free (src);
            src = hs_strdup (real);
        }
        if (strchr (src, ':')) {
            *ret_err = hs_sprintf ("volume %s: its path %s holds ':'", v->name, src);
            goto fail;
        }
        out[n++] = hs_sprintf ("%s:%s%s", src, dst, ro ? ":ro" : "");
    }
    *ret = out;
    return 0;
fail:
    agent_env_free (out);
    return -EINVAL;
}

/* ------------------------------------------------------------------ cleanup */

/* mountinfo's octal escapes (\040 for a space) undone in place. */
static void s_unescape (char *s)
{
    char *w = s;
    for (char *r = s; *r;) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] >= '0' && r[2] <= '7' &&
            r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)(((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
            r += 4;
        } else
            *w++ = *r++;
    }
    *w = '\0';
}

/* The mount points at or below dir, deepest first. Count or -errno. */
static int s_mounts_under (const char *dir, char ***ret)
{
    *ret = NULL;
    FILE *f = fopen ("/proc/self/mountinfo", "re");
    if (!f) return -errno;
    size_t dl = strlen (dir);
    char **v = NULL;
    int n = 0;
    char *line = NULL;
    size_t cap = 0;
    while (getline (&line, &cap, f) > 0) {
        /* id parent major:minor root mountpoint ... */
        char *save = NULL, *tok = strtok_r (line, " ", &save);
        for (int i = 0; tok && i < 4; i++) tok = strtok_r (NULL, " ", &save);
        if (!tok) continue;
        s_unescape (tok);
        if (strncmp (tok, dir, dl) != 0 || (tok[dl] != '/' && tok[dl] != '\0')) continue;
        v = hs_realloc (v, (size_t)(n + 1) * sizeof *v);
        v[n++] = hs_strdup (tok);
    }
    free (line);
    fclose (f);
    /* Deepest first: longer paths below shorter ones. */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strlen (v[j]) > strlen (v[i])) {
                char *t = v[i];
                v[i] = v[j];
                v[j] = t;
            }
    *ret = v;
    return n;
}

int agent_vols_unmount_under (const char *dir)
{
    char **v;
    int n = s_mounts_under (dir, &v);
    if (n < 0) return n;
    int done = 0;
    for (int i = 0; i < n; i++) {
        /* A mount stacked twice on one point shows twice: each goes. */
        if (umount2 (v[i], MNT_DETACH) == 0)
            done++;
        else if (errno != EINVAL && errno != ENOENT)
            log_warn ("cannot unmount %s: %s", v[i], strerror (errno));
        free (v[i]);
    }
    free (v);
    return done;
}

int agent_vols_gc (const char *pods_dir, const char *const *keep, size_t n_keep)
{
    DIR *d = opendir (pods_dir);
    if (!d) return 0;
    int gone = 0;
    struct dirent *de;
    while ((de = readdir (d))) {
        if (de->d_name[0] == '.') continue;
        bool kept = false;
        for (size_t i = 0; i < n_keep && !kept; i++) kept = hs_streq (keep[i], de->d_name);
        if (kept) continue;
        _cleanup_free_ char *p = hs_sprintf ("%s/%s", pods_dir, de->d_name);
        int r = agent_vols_unmount_under (p);
        if (r > 0) log_info ("unmounted %d volumes of a pod no longer here: %s", r, p);
        s_rm_rf (p);
        gone++;
    }
    closedir (d);
    return gone;
}
