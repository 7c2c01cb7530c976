/*  hs_manifest.c: Kubernetes-shaped manifests <-> objects (see hs_manifest.h).
 *
 *  Loading is all or nothing: every document of every file is parsed into a
 *  private list first, and only appended to the caller's manifest when all of
 *  them are good. Errors are one line naming file, document and field path.
 */
#include "hs_manifest.h"
#include "hs_pbjson.h"
#include "hs_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_MAX_FILE_BYTES (16u << 20) /* per file, like a sane kubectl -f */
#define S_MAX_DIR_DEPTH  32

void hs_manifest_free (hs_manifest_t *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) {
        hs_pb_free (m->docs[i].object);
        free (m->docs[i].file);
    }
    free (m->docs);
    m->docs = NULL;
    m->n = 0;
}

static void s_push (hs_manifest_t *m, Hs__Object *o, const char *file, int doc)
{
    m->docs = hs_realloc (m->docs, (m->n + 1) * sizeof (hs_manifest_doc_t));
    m->docs[m->n++] = (hs_manifest_doc_t){o, hs_strdup (file), doc};
}

/* Moves every document of src to the end of dst. */
static void s_append (hs_manifest_t *dst, hs_manifest_t *src)
{
    if (!src->n) return;
    dst->docs = hs_realloc (dst->docs, (dst->n + src->n) * sizeof (hs_manifest_doc_t));
    memcpy (dst->docs + dst->n, src->docs, src->n * sizeof (hs_manifest_doc_t));
    dst->n += src->n;
    free (src->docs);
    src->docs = NULL;
    src->n = 0;
}

/* The Kind of a manifest is case-sensitive, as in Kubernetes. */
static hs_kind_t s_kind_exact (const char *s)
{
    for (int k = HS_KIND_NONE + 1; k < HS_KIND__COUNT; k++) {
        const hs_kind_info_t *i = hs_kind_info ((hs_kind_t)k);
        if (i && !strcmp (i->kind_name, s)) return (hs_kind_t)k;
    }
    return HS_KIND_NONE;
}

static const char *s_scalar (const hs_tree_t *t)
{
    return t && t->type == HS_TREE_SCALAR ? t->scalar : NULL;
}

/* "error: FILE: document N (Kind "name"): PATH: MESSAGE" */
static char *s_doc_error (const char *file, int doc, const hs_kind_info_t *info, const char *name,
                          const char *path, const char *fmt, ...)
    __attribute__ ((format (printf, 6, 7)));

static char *s_doc_error (const char *file, int doc, const hs_kind_info_t *info, const char *name,
                          const char *path, const char *fmt, ...)
{
    hs_buf_t b = {0};
    hs_buf_printf (&b, "error: %s: document %d", file, doc);
    if (info && !hs_empty (name))
        hs_buf_printf (&b, " (%s \"%s\")", info->kind_name, name);
    else if (info)
        hs_buf_printf (&b, " (%s)", info->kind_name);
    hs_buf_puts (&b, ": ");
    if (!hs_empty (path)) hs_buf_printf (&b, "%s: ", path);
    va_list ap;
    va_start (ap, fmt);
    char *msg = NULL;
    if (vasprintf (&msg, fmt, ap) < 0) abort ();
    va_end (ap);
    hs_buf_puts (&b, msg);
    free (msg);
    return hs_buf_take (&b);
}

static const char *s_shape (const hs_tree_t *t, char *buf, size_t len)
{
    switch (t->type) {
    case HS_TREE_MAP: return "a mapping";
    case HS_TREE_SEQ: return "a list";
    case HS_TREE_NULL: return "null";
    case HS_TREE_SCALAR: break;
    }
    size_t n = strlen (hs_s (t->scalar));
    snprintf (buf, len, "string \"%.60s%s\"", hs_s (t->scalar), n > 60 ? "..." : "");
    return buf;
}

/* One non-empty document into an object. */
static int s_load_doc (const hs_tree_t *t, const char *file, int doc, Hs__Object **ret,
                       char **ret_error)
{
    char sb[96];
    if (t->type != HS_TREE_MAP) {
        *ret_error = s_doc_error (file, doc, NULL, NULL, NULL, "expected a mapping, got %s",
                                  s_shape (t, sb, sizeof sb));
        return -EINVAL;
    }
    const hs_tree_t *kt = hs_tree_get (t, "kind");
    const hs_tree_t *at = hs_tree_get (t, "apiVersion");
    const char *kind_s = s_scalar (kt);
    if (hs_empty (kind_s)) {
        *ret_error = kt && kt->type != HS_TREE_NULL
                         ? s_doc_error (file, doc, NULL, NULL, "kind", "expected a string, got %s",
                                        s_shape (kt, sb, sizeof sb))
                         : s_doc_error (file, doc, NULL, NULL, "kind", "Required value");
        return -EINVAL;
    }
    hs_kind_t kind = s_kind_exact (kind_s);
    if (kind == HS_KIND_NONE) {
        *ret_error = s_doc_error (file, doc, NULL, NULL, "kind", "unknown kind \"%.100s\"", kind_s);
        return -EINVAL;
    }
    const hs_kind_info_t *info = hs_kind_info (kind);
    const hs_tree_t *meta = hs_tree_get (t, "metadata");
    const char *name = s_scalar (hs_tree_get (meta, "name"));
    if (hs_empty (name)) name = s_scalar (hs_tree_get (meta, "generateName"));

    const char *api = s_scalar (at);
    if (hs_empty (api)) {
        *ret_error = at && at->type != HS_TREE_NULL
                         ? s_doc_error (file, doc, info, name, "apiVersion",
                                        "expected a string, got %s", s_shape (at, sb, sizeof sb))
                         : s_doc_error (file, doc, info, name, "apiVersion", "Required value");
        return -EINVAL;
    }
    if (strcmp (api, info->api_version) != 0) {
        *ret_error = s_doc_error (file, doc, info, name, "apiVersion",
                                  "expected \"%s\" for kind %s, got \"%.100s\"", info->api_version,
                                  info->kind_name, api);
        return -EINVAL;
    }

    /* The message is the document minus apiVersion and kind: a borrowed view. */
    hs_tree_t body = {.type = HS_TREE_MAP, .line = t->line};
    body.keys = hs_calloc (t->n ? t->n : 1, sizeof (char *));
    body.items = hs_calloc (t->n ? t->n : 1, sizeof (hs_tree_t *));
    for (size_t i = 0; i < t->n; i++) {
        if (!strcmp (t->keys[i], "apiVersion") || !strcmp (t->keys[i], "kind")) continue;
        body.keys[body.n] = t->keys[i];
        body.items[body.n++] = t->items[i];
    }
    ProtobufCMessage *msg = NULL;
    hs_pb_error_t err = {0};
    int r = hs_pb_from_tree (info->descriptor, &body, "", &msg, &err);
    free (body.keys);
    free (body.items);
    if (r < 0) {
        *ret_error = s_doc_error (file, doc, info, name, err.path, "%s", err.message);
        return r;
    }
    Hs__Object *o = hs_obj_wrap (kind, msg);
    Hs__ObjectMeta *m = hs_obj_meta (o);
    if (!m || (hs_empty (m->name) && hs_empty (m->generate_name))) {
        hs_pb_free (o);
        *ret_error = s_doc_error (file, doc, info, NULL, "metadata.name", "Required value");
        return -EINVAL;
    }
    *ret = o;
    return 0;
}

int hs_manifest_parse (const char *text, size_t len, const char *name, hs_manifest_t *m,
                       char **ret_error)
{
    const char *file = hs_empty (name) ? "STDIN" : name;
    char *error = NULL;
    int r;

    if (len > S_MAX_FILE_BYTES) {
        error = hs_sprintf ("error: %s: file is larger than %u MiB", file, S_MAX_FILE_BYTES >> 20);
        r = -EFBIG;
        goto out;
    }
    hs_tree_t **docs = NULL;
    size_t ndocs = 0;
    int err_doc = 0;
    char *perr = NULL;
    r = hs_yaml_parse_ex (text, len, &docs, &ndocs, &err_doc, &perr);
    if (r < 0) {
        if (err_doc > 0)
            error = hs_sprintf ("error: %s: document %d: %s", file, err_doc, hs_s (perr));
        else
            error = hs_sprintf ("error: %s: %s", file, hs_s (perr));
        free (perr);
        goto out;
    }
    hs_manifest_t tmp = {0};
    for (size_t i = 0; i < ndocs; i++) {
        if (docs[i]->type == HS_TREE_NULL) continue; /* empty document: counted, skipped */
        Hs__Object *o = NULL;
        r = s_load_doc (docs[i], file, (int)i + 1, &o, &error);
        if (r < 0) break;
        s_push (&tmp, o, file, (int)i + 1);
    }
    hs_trees_free (docs, ndocs);
    if (r < 0) {
        hs_manifest_free (&tmp);
        goto out;
    }
    s_append (m, &tmp);
    r = 0;
out:
    if (r < 0) {
        if (ret_error)
            *ret_error = error;
        else
            free (error);
    }
    return r;
}

/* Reads a whole descriptor, refusing more than the limit. */
static int s_read_all (int fd, const char *file, char **ret, size_t *ret_len, char **ret_error)
{
    hs_buf_t b = {0};
    char chunk[65536];
    for (;;) {
        ssize_t k = read (fd, chunk, sizeof chunk);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            int e = errno;
            hs_buf_free (&b);
            *ret_error = hs_sprintf ("error: %s: %s", file, strerror (e));
            return -e;
        }
        if (k == 0) break;
        if (b.len + (size_t)k > S_MAX_FILE_BYTES) {
            hs_buf_free (&b);
            *ret_error =
                hs_sprintf ("error: %s: file is larger than %u MiB", file, S_MAX_FILE_BYTES >> 20);
            return -EFBIG;
        }
        hs_buf_append (&b, chunk, (size_t)k);
    }
    *ret_len = b.len;
    *ret = hs_buf_take (&b);
    return 0;
}

static int s_load_file (const char *path, hs_manifest_t *m, char **ret_error)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT)
            *ret_error = hs_sprintf ("error: the path \"%s\" does not exist", path);
        else
            *ret_error = hs_sprintf ("error: %s: %s", path, strerror (e));
        return -e;
    }
    struct stat st;
    if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && (uint64_t)st.st_size > S_MAX_FILE_BYTES) {
        close (fd);
        *ret_error =
            hs_sprintf ("error: %s: file is larger than %u MiB", path, S_MAX_FILE_BYTES >> 20);
        return -EFBIG;
    }
    char *text = NULL;
    size_t len = 0;
    int r = s_read_all (fd, path, &text, &len, ret_error);
    close (fd);
    if (r < 0) return r;
    r = hs_manifest_parse (text, len, path, m, ret_error);
    free (text);
    return r;
}

static bool s_manifest_name (const char *name)
{
    size_t n = strlen (name);
    return (n > 5 && !strcmp (name + n - 5, ".yaml")) ||
           (n > 4 && !strcmp (name + n - 4, ".yml")) || (n > 5 && !strcmp (name + n - 5, ".json"));
}

static int s_cmp_names (const void *a, const void *b)
{
    return strcmp (*(char *const *)a, *(char *const *)b);
}

/* A directory's manifests in name order; subdirectories (at their place in
 * that order, not followed through symlinks) when recursive. *found counts
 * manifest files seen. */
static int s_load_dir (const char *dir, bool recursive, int depth, hs_manifest_t *m, size_t *found,
                       char **ret_error)
{
    DIR *d = opendir (dir);
    if (!d) {
        int e = errno;
        *ret_error = hs_sprintf ("error: %s: %s", dir, strerror (e));
        return -e;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir (d))) {
        if (!strcmp (de->d_name, ".") || !strcmp (de->d_name, "..")) continue;
        names = hs_realloc (names, (n + 1) * sizeof (char *));
        names[n++] = hs_strdup (de->d_name);
    }
    closedir (d);
    if (n) qsort (names, n, sizeof (char *), s_cmp_names);

    int r = 0;
    size_t dl = strlen (dir);
    for (size_t i = 0; i < n && r == 0; i++) {
        char *path = hs_sprintf ("%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", names[i]);
        struct stat lst, st;
        if (lstat (path, &lst) < 0) {
            free (path);
            continue; /* vanished meanwhile */
        }
        if (S_ISDIR (lst.st_mode)) {
            if (recursive && depth < S_MAX_DIR_DEPTH)
                r = s_load_dir (path, recursive, depth + 1, m, found, ret_error);
        } else if (s_manifest_name (names[i]) && stat (path, &st) == 0 && S_ISREG (st.st_mode)) {
            (*found)++;
            r = s_load_file (path, m, ret_error);
        }
        free (path);
    }
    for (size_t i = 0; i < n; i++) free (names[i]);
    free (names);
    return r;
}

int hs_manifest_load (const char *path, bool recursive, hs_manifest_t *m, char **ret_error)
{
    char *error = NULL;
    hs_manifest_t tmp = {0};
    int r;

    if (hs_empty (path)) {
        error = hs_sprintf ("error: must specify a file, directory or \"-\"");
        r = -EINVAL;
    } else if (!strcmp (path, "-")) {
        char *text = NULL;
        size_t len = 0;
        r = s_read_all (STDIN_FILENO, "STDIN", &text, &len, &error);
        if (r == 0) r = hs_manifest_parse (text, len, "STDIN", &tmp, &error);
        free (text);
    } else {
        struct stat st;
        if (stat (path, &st) < 0) {
            r = -errno;
            if (r == -ENOENT)
                error = hs_sprintf ("error: the path \"%s\" does not exist", path);
            else
                error = hs_sprintf ("error: %s: %s", path, strerror (-r));
        } else if (S_ISDIR (st.st_mode)) {
            size_t found = 0;
            r = s_load_dir (path, recursive, 0, &tmp, &found, &error);
            if (r == 0 && found == 0) {
                error = hs_sprintf ("error: no manifests found in %s", path);
                r = -ENOENT;
            }
        } else {
            r = s_load_file (path, &tmp, &error);
        }
    }
    if (r < 0) {
        hs_manifest_free (&tmp);
        if (ret_error)
            *ret_error = error;
        else
            free (error);
        return r;
    }
    s_append (m, &tmp);
    return 0;
}

hs_tree_t *hs_manifest_tree (const Hs__Object *o, int flags)
{
    const hs_kind_info_t *info = hs_kind_info (hs_obj_kind (o));
    const ProtobufCMessage *body = hs_obj_body (o);
    if (!info || !body) return NULL;
    hs_tree_t *t = hs_tree_new (HS_TREE_MAP);
    hs_tree_add (t, "apiVersion", hs_tree_scalar (info->api_version, true));
    hs_tree_add (t, "kind", hs_tree_scalar (info->kind_name, true));
    hs_tree_t *b = hs_pb_to_tree (body, flags);
    for (size_t i = 0; i < b->n; i++) {
        hs_tree_add (t, b->keys[i], b->items[i]);
        b->items[i] = NULL;
    }
    hs_tree_free (b);
    return t;
}

char *hs_manifest_render (const Hs__Object *o, int flags)
{
    hs_tree_t *t = hs_manifest_tree (o, flags);
    if (!t) return NULL;
    char *s = hs_tree_to_text (t, flags);
    hs_tree_free (t);
    return s;
}
