/*  api_patch.c: the three PATCH bodies Kubernetes clients send (pure).
 *
 *  Every patch is applied to a deep copy of the live object's Kubernetes JSON
 *  tree (api_obj_tree); the caller turns the result back into an object.
 *
 *    merge patch      RFC 7386: objects merge key by key, null deletes, any
 *                     other value (lists included) replaces.
 *    JSON patch       RFC 6902 over RFC 6901 pointers: add, remove, replace,
 *                     move, copy, test, applied in order; the first failing
 *                     operation fails the whole patch. Semantics and error
 *                     texts are evanphx/json-patch v4's, which kube-apiserver
 *                     applies with (its leniencies: see that section).
 *    strategic merge  Kubernetes' server-side StrategicMergePatch
 *                     (k8s.io/apimachinery/pkg/util/strategicpatch, mergeMap
 *                     with MergeParallelList and IgnoreUnmatchedNulls): a
 *                     merge patch in which lists named in a per-kind schema
 *                     merge by a key (containers by name, ports by
 *                     containerPort, ...) or as sets (finalizers), and the
 *                     directives $patch (replace | delete | merge, on maps
 *                     and list items), $setElementOrder/<list>,
 *                     $retainKeys and $deleteFromPrimitiveList/<list> steer
 *                     it. Lists the schema does not name are atomic.
 *
 *  Order. Maps keep the live object's key order and append new keys in the
 *  patch's order. Merged lists follow Kubernetes: items the patch (or
 *  $setElementOrder) names come in the patch's order, items only the server
 *  has keep their place relative to them as in the live list
 *  (mergeSortedSlice), so an item new to the list goes first.
 *
 *  Where this deliberately differs from apimachinery (which has quirks a
 *  client never relies on):
 *    - a map value the live object lacks is merged onto an empty map, so its
 *      directives are honoured and stripped ("$patch: replace" there keeps
 *      the content; upstream drops the whole map) and nothing starting with
 *      '$' ever reaches the result;
 *    - "$patch: merge" is accepted (a no-op) on maps and list items;
 *    - an unknown "$..." key is an error, not a field.
 *
 *  Bounds: every lookup that could be quadratic (map keys, merge keys, set
 *  items, order positions) goes through a hash index; a JSON patch has at
 *  most 10000 operations (Kubernetes' maxJSONPatchOperations), its copies
 *  may add at most 3 MiB, and nothing it builds nests deeper than
 *  HS_YAML_MAX_DEPTH.
 */
#include "api.h"
#include "hs_util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_JSONPATCH_MAX_OPS 10000
#define S_COPY_LIMIT        (3 * 1024 * 1024)
#define S_MAX_DEPTH         HS_YAML_MAX_DEPTH
/* Recursion guard for trees built in memory (parsed ones are shallower). */
#define S_RECURSION_LIMIT (4 * HS_YAML_MAX_DEPTH)
/* Longest excerpt of a tree quoted in an error message. */
#define S_QUOTE_MAX 200

/* ------------------------------------------------------------------ errors */

typedef struct {
    char *error; /* the first error, heap */
    int code;    /* API_PATCH_EBAD or API_PATCH_EAPPLY */
    size_t copied;
} s_ctx_t;

static int s_fail (s_ctx_t *c, int code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
static int s_fail (s_ctx_t *c, int code, const char *fmt, ...)
{
    if (!c->error) {
        va_list ap;
        va_start (ap, fmt);
        char buf[1024];
        int n = vsnprintf (buf, sizeof buf, fmt, ap);
        va_end (ap);
        if (n >= (int)sizeof buf) { /* cut long ones (a huge path) on a UTF-8 boundary */
            size_t cut = sizeof buf - 4;
            while (cut && ((unsigned char)buf[cut] & 0xC0) == 0x80) cut--;
            strcpy (buf + cut, "...");
        }
        c->error = hs_strdup (buf);
        c->code = code;
    }
    return c->code;
}

/* A short JSON rendering of t for messages; caller frees. */
static char *s_quote (const hs_tree_t *t)
{
    if (!t) return hs_strdup ("null");
    char *s = hs_tree_to_text (t, HS_FMT_JSON | HS_FMT_COMPACT);
    if (!s) return hs_strdup ("?");
    if (strlen (s) > S_QUOTE_MAX) {
        size_t cut = S_QUOTE_MAX - 3;
        while (cut && ((unsigned char)s[cut] & 0xC0) == 0x80) cut--; /* not inside UTF-8 */
        strcpy (s + cut, "...");
    }
    return s;
}

static const char *s_type_name (const hs_tree_t *t)
{
    if (!t) return "nil";
    switch (t->type) {
    case HS_TREE_MAP: return "map[string]interface {}";
    case HS_TREE_SEQ: return "[]interface {}";
    case HS_TREE_SCALAR: return t->quoted ? "string" : "float64";
    default: return "nil";
    }
}

/* ------------------------------------------------------------------ trees */

hs_tree_t *api_tree_dup (const hs_tree_t *t)
{
    if (!t) return NULL;
    hs_tree_t *r = hs_tree_new (t->type);
    r->scalar = hs_strdup (t->scalar);
    r->quoted = t->quoted;
    r->line = t->line;
    if (t->n) {
        r->items = hs_calloc (t->n, sizeof (hs_tree_t *));
        if (t->type == HS_TREE_MAP) r->keys = hs_calloc (t->n, sizeof (char *));
    }
    for (size_t i = 0; i < t->n; i++) {
        if (r->keys) r->keys[i] = hs_strdup (t->keys ? hs_s (t->keys[i]) : "");
        r->items[i] = t->items[i] ? api_tree_dup (t->items[i]) : hs_tree_new (HS_TREE_NULL);
    }
    r->n = t->n;
    return r;
}

/* Appends (key, v) to a map or v to a sequence, taking v. *cap is the
 * arrays' room (start it at t->n): it grows geometrically, where
 * hs_tree_add grows by one (quadratic for big lists). */
static void s_tree_append (hs_tree_t *t, size_t *cap, const char *key, hs_tree_t *v)
{
    if (t->n == *cap) {
        *cap = *cap < 8 ? 8 : *cap * 2;
        t->items = hs_realloc (t->items, *cap * sizeof (hs_tree_t *));
        if (t->type == HS_TREE_MAP) t->keys = hs_realloc (t->keys, *cap * sizeof (char *));
    }
    if (t->type == HS_TREE_MAP) t->keys[t->n] = hs_strdup (hs_s (key));
    t->items[t->n++] = v;
}

/* Empties t and makes it an empty tree of type. */
static void s_tree_reset (hs_tree_t *t, hs_tree_type_t type)
{
    for (size_t i = 0; i < t->n; i++) {
        if (t->keys) free (t->keys[i]);
        if (t->items) hs_tree_free (t->items[i]);
    }
    free (t->keys);
    free (t->items);
    free (t->scalar);
    t->keys = NULL;
    t->items = NULL;
    t->scalar = NULL;
    t->n = 0;
    t->quoted = false;
    t->type = type;
}

/* Moves src's contents into dst (dst's old contents freed), frees src. */
static void s_tree_move (hs_tree_t *dst, hs_tree_t *src)
{
    s_tree_reset (dst, HS_TREE_NULL);
    *dst = *src;
    free (src);
}

static size_t s_depth (const hs_tree_t *t)
{
    if (!t || (t->type != HS_TREE_MAP && t->type != HS_TREE_SEQ)) return 1;
    size_t d = 0;
    for (size_t i = 0; i < t->n; i++) {
        size_t c = s_depth (t->items[i]);
        if (c > d) d = c;
    }
    return d + 1;
}

/* Rough bytes a tree takes as JSON (for the copy limit). */
static size_t s_size (const hs_tree_t *t)
{
    if (!t) return 4;
    size_t sz = 2 + (t->scalar ? strlen (t->scalar) : 4);
    for (size_t i = 0; i < t->n; i++) {
        if (t->keys) sz += strlen (hs_s (t->keys[i])) + 4;
        sz += s_size (t->items[i]) + 1;
    }
    return sz;
}

/* ------------------------------------------------------------------ hash index */

/* string -> position; keys are borrowed. The first put of a key wins. */
typedef struct {
    const char **keys;
    size_t *vals;
    size_t cap; /* 0: not built */
    size_t n;
} s_index_t;

static uint64_t s_hash (const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void s_index_grow (s_index_t *ix, size_t want)
{
    size_t cap = 16;
    while (cap < want * 2) cap *= 2;
    if (cap <= ix->cap) return;
    const char **ok = ix->keys;
    size_t *ov = ix->vals, ocap = ix->cap;
    ix->keys = hs_calloc (cap, sizeof (char *));
    ix->vals = hs_calloc (cap, sizeof (size_t));
    ix->cap = cap;
    ix->n = 0;
    for (size_t i = 0; i < ocap; i++) {
        if (!ok[i]) continue;
        size_t j = s_hash (ok[i]) & (cap - 1);
        while (ix->keys[j]) j = (j + 1) & (cap - 1);
        ix->keys[j] = ok[i];
        ix->vals[j] = ov[i];
        ix->n++;
    }
    free (ok);
    free (ov);
}

static bool s_index_get (const s_index_t *ix, const char *key, size_t *ret)
{
    if (!ix->cap || !key) return false;
    for (size_t j = s_hash (key) & (ix->cap - 1); ix->keys[j]; j = (j + 1) & (ix->cap - 1)) {
        if (strcmp (ix->keys[j], key) == 0) {
            *ret = ix->vals[j];
            return true;
        }
    }
    return false;
}

static void s_index_put (s_index_t *ix, const char *key, size_t val)
{
    if (!key) return;
    if ((ix->n + 1) * 2 > ix->cap) s_index_grow (ix, ix->n + 1);
    size_t j = s_hash (key) & (ix->cap - 1);
    for (; ix->keys[j]; j = (j + 1) & (ix->cap - 1))
        if (strcmp (ix->keys[j], key) == 0) return;
    ix->keys[j] = key;
    ix->vals[j] = val;
    ix->n++;
}

static void s_index_free (s_index_t *ix)
{
    free (ix->keys);
    free (ix->vals);
    memset (ix, 0, sizeof *ix);
}

/* ------------------------------------------------------------------ map access */

/* A map being read or changed key by key: lookups go through a hash index
 * once the map is big; deleted entries stay as holes (NULL item) until
 * s_mapw_close compacts them, so the index stays valid meanwhile. */
typedef struct {
    hs_tree_t *map;
    s_index_t ix;
    size_t cap; /* room in map's arrays */
    bool holes;
} s_mapw_t;

#define S_INDEX_FROM 16

static void s_mapw_open (s_mapw_t *w, hs_tree_t *map)
{
    memset (w, 0, sizeof *w);
    w->map = map;
    w->cap = map->n;
    if (map->n >= S_INDEX_FROM) {
        s_index_grow (&w->ix, map->n);
        for (size_t i = 0; i < map->n; i++) s_index_put (&w->ix, map->keys[i], i);
    }
}

/* The position of key (maybe a hole), or -1. */
static ssize_t s_mapw_pos (const s_mapw_t *w, const char *key)
{
    if (w->ix.cap) {
        size_t p;
        return s_index_get (&w->ix, key, &p) ? (ssize_t)p : -1;
    }
    for (size_t i = 0; i < w->map->n; i++)
        if (strcmp (w->map->keys[i], key) == 0) return (ssize_t)i;
    return -1;
}

static hs_tree_t *s_mapw_get (const s_mapw_t *w, const char *key)
{
    ssize_t p = s_mapw_pos (w, key);
    return p < 0 ? NULL : w->map->items[p];
}

/* Sets key to value (taken), in place when the key is there. */
static void s_mapw_set (s_mapw_t *w, const char *key, hs_tree_t *value)
{
    ssize_t p = s_mapw_pos (w, key);
    if (p >= 0) {
        hs_tree_free (w->map->items[p]);
        w->map->items[p] = value;
        return;
    }
    s_tree_append (w->map, &w->cap, key, value);
    if (w->ix.cap)
        s_index_put (&w->ix, w->map->keys[w->map->n - 1], w->map->n - 1);
    else if (w->map->n >= S_INDEX_FROM) {
        s_index_grow (&w->ix, w->map->n);
        for (size_t i = 0; i < w->map->n; i++) s_index_put (&w->ix, w->map->keys[i], i);
    }
}

static void s_mapw_del_at (s_mapw_t *w, size_t p)
{
    if (!w->map->items[p]) return;
    hs_tree_free (w->map->items[p]);
    w->map->items[p] = NULL;
    w->holes = true;
}

static void s_mapw_del (s_mapw_t *w, const char *key)
{
    ssize_t p = s_mapw_pos (w, key);
    if (p >= 0) s_mapw_del_at (w, (size_t)p);
}

static void s_mapw_close (s_mapw_t *w)
{
    s_index_free (&w->ix);
    if (!w->holes) return;
    hs_tree_t *m = w->map;
    size_t o = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (!m->items[i]) {
            free (m->keys[i]);
            continue;
        }
        m->keys[o] = m->keys[i];
        m->items[o++] = m->items[i];
    }
    m->n = o;
    w->holes = false;
}

/* A const map's lookups (the patch side). */
typedef struct {
    const hs_tree_t *map;
    s_index_t ix;
} s_mapr_t;

static void s_mapr_open (s_mapr_t *r, const hs_tree_t *map)
{
    memset (r, 0, sizeof *r);
    r->map = map;
    if (map->n >= S_INDEX_FROM) {
        s_index_grow (&r->ix, map->n);
        for (size_t i = 0; i < map->n; i++) s_index_put (&r->ix, map->keys[i], i);
    }
}

static ssize_t s_mapr_pos (const s_mapr_t *r, const char *key)
{
    if (r->ix.cap) {
        size_t p;
        return s_index_get (&r->ix, key, &p) ? (ssize_t)p : -1;
    }
    for (size_t i = 0; i < r->map->n; i++)
        if (strcmp (r->map->keys[i], key) == 0) return (ssize_t)i;
    return -1;
}

/* ------------------------------------------------------------------ equality */

static bool s_is_number (const char *s, double *ret)
{
    if (!s || !*s) return false;
    char *end = NULL;
    errno = 0;
    double d = strtod (s, &end);
    if (*end || errno) return false;
    if (!isdigit ((unsigned char)s[0]) && s[0] != '-') return false; /* not nan, inf, 0x.. */
    *ret = d;
    return true;
}

static bool s_scalar_equal (const hs_tree_t *a, const hs_tree_t *b)
{
    if (a->quoted != b->quoted) return false;
    if (strcmp (hs_s (a->scalar), hs_s (b->scalar)) == 0) return true;
    double x, y;
    return !a->quoted && s_is_number (a->scalar, &x) && s_is_number (b->scalar, &y) && x == y;
}

/* JSON equality: maps regardless of key order, numbers by value. */
static bool s_equal (const hs_tree_t *a, const hs_tree_t *b, int depth)
{
    if (depth > S_RECURSION_LIMIT) return false;
    if (!a || !b) return a == b;
    if (a->type != b->type) return false;
    switch (a->type) {
    case HS_TREE_NULL: return true;
    case HS_TREE_SCALAR: return s_scalar_equal (a, b);
    case HS_TREE_SEQ:
        if (a->n != b->n) return false;
        for (size_t i = 0; i < a->n; i++)
            if (!s_equal (a->items[i], b->items[i], depth + 1)) return false;
        return true;
    case HS_TREE_MAP: {
        if (a->n != b->n) return false;
        s_mapr_t r;
        s_mapr_open (&r, b);
        bool eq = true;
        for (size_t i = 0; eq && i < a->n; i++) {
            ssize_t p = s_mapr_pos (&r, a->keys[i]);
            eq = p >= 0 && s_equal (a->items[i], b->items[p], depth + 1);
        }
        s_index_free (&r.ix);
        return eq;
    }
    }
    return false;
}

/* ------------------------------------------------------------------ content types */

int api_patch_type (const char *content_type)
{
    static const struct {
        const char *mime;
        api_patch_type_t type;
    } types[] = {
        {"application/merge-patch+json", API_PATCH_MERGE},
        {"application/json-patch+json", API_PATCH_JSON},
        {"application/strategic-merge-patch+json", API_PATCH_STRATEGIC},
        {"application/apply-patch+yaml", API_PATCH_APPLY},
    };
    if (!content_type) return -1;
    const char *s = content_type;
    while (*s == ' ' || *s == '\t') s++;
    size_t len = strcspn (s, ";");
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t')) len--;
    for (size_t i = 0; i < HS_ARRAY_LEN (types); i++)
        if (strlen (types[i].mime) == len && strncasecmp (s, types[i].mime, len) == 0)
            return (int)types[i].type;
    return -1;
}

/* ------------------------------------------------------------------ merge patch (RFC 7386) */

/* A copy without null object members, at any depth (objects inside arrays
 * too); null array items stay (evanphx's pruneNulls). */
static hs_tree_t *s_dup_pruned (const hs_tree_t *t)
{
    if (t->type != HS_TREE_MAP && t->type != HS_TREE_SEQ) return api_tree_dup (t);
    hs_tree_t *r = hs_tree_new (t->type);
    size_t cap = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->type == HS_TREE_MAP && t->items[i]->type == HS_TREE_NULL) continue;
        s_tree_append (r, &cap, t->keys ? t->keys[i] : NULL, s_dup_pruned (t->items[i]));
    }
    return r;
}

/* MergePatch(target, patch): takes target (may be NULL), returns the result. */
static hs_tree_t *s_merge (hs_tree_t *target, const hs_tree_t *patch, int depth, s_ctx_t *c)
{
    if (depth > S_RECURSION_LIMIT) {
        s_fail (c, API_PATCH_EBAD, "the patch nests too deeply");
        return target;
    }
    if (patch->type != HS_TREE_MAP) {
        /* evanphx/json-patch v4 (kube-apiserver's MergePatch) prunes null
         * members from a value that replaces anything but an object */
        bool prune = !target || target->type != HS_TREE_MAP;
        hs_tree_free (target);
        return prune ? s_dup_pruned (patch) : api_tree_dup (patch);
    }
    if (!target || target->type != HS_TREE_MAP) {
        hs_tree_free (target);
        target = hs_tree_new (HS_TREE_MAP);
    }
    s_mapw_t w;
    s_mapw_open (&w, target);
    for (size_t i = 0; i < patch->n && !c->error; i++) {
        const char *k = patch->keys[i];
        const hs_tree_t *v = patch->items[i];
        if (!v || v->type == HS_TREE_NULL) {
            s_mapw_del (&w, k);
            continue;
        }
        ssize_t p = s_mapw_pos (&w, k);
        if (p >= 0 && w.map->items[p]) {
            w.map->items[p] = s_merge (w.map->items[p], v, depth + 1, c);
        } else {
            hs_tree_t *nv = s_merge (NULL, v, depth + 1, c);
            if (p >= 0)
                w.map->items[p] = nv;
            else
                s_mapw_set (&w, k, nv);
        }
    }
    s_mapw_close (&w);
    return target;
}

/* ------------------------------------------------------------------ JSON patch (RFC 6902) */

/* Kubernetes applies JSON patches with gopkg.in/evanphx/json-patch.v4
 * (v4.12), and clients rely on some of its leniencies (a `replace` of a
 * key an object lacks adds it: a common way to set a label), so this
 * follows it, texts included, where it is more lenient than RFC 6902:
 *   - `replace` of a missing key in an existing object sets it; `copy` from
 *     one copies null; an absent "value" is null;
 *   - array indexes read as strconv.Atoi does (a sign, leading zeros), and
 *     a negative one counts from the end;
 *   - only ~1 and ~0 are escapes ("~2" is two characters).
 * Where v4 does not follow the RFC in a stricter way it is not followed:
 * `add` at "" replaces the document, a failing `test` with no "value" is a
 * failed test (v4 crashes). Every failure is API_PATCH_EAPPLY (422). */

typedef struct {
    char **tok;
    size_t n;
} s_ptr_t;

static void s_ptr_free (s_ptr_t *p)
{
    for (size_t i = 0; i < p->n; i++) free (p->tok[i]);
    free (p->tok);
    p->tok = NULL;
    p->n = 0;
}

/* "" is the whole document, else "/"-separated tokens, ~1 -> '/' then
 * ~0 -> '~'. -EINVAL: no leading '/'; -E2BIG: deeper than any document. */
static int s_ptr_parse (const char *text, s_ptr_t *ret)
{
    memset (ret, 0, sizeof *ret);
    if (!*text) return 0;
    if (*text != '/') return -EINVAL;
    size_t cap = 0;
    for (const char *s = text; *s; s++)
        if (*s == '/') cap++;
    if (cap > S_MAX_DEPTH + 1) return -E2BIG;
    ret->tok = hs_calloc (cap, sizeof (char *));
    const char *s = text + 1;
    for (;;) {
        size_t len = strcspn (s, "/");
        char *t = hs_malloc (len + 1), *o = t;
        for (size_t i = 0; i < len; i++) {
            if (s[i] == '~' && i + 1 < len && s[i + 1] == '1') {
                *o++ = '/';
                i++;
            } else {
                *o++ = s[i];
            }
        }
        *o = 0;
        /* then ~0 -> ~ */
        o = t;
        for (const char *r = t; *r; r++) {
            *o++ = *r;
            if (r[0] == '~' && r[1] == '0') r++;
        }
        *o = 0;
        ret->tok[ret->n++] = t;
        if (!s[len]) break;
        s += len + 1;
    }
    return 0;
}

/* strconv.Atoi: optional sign, decimal digits. */
static bool s_atoi (const char *t, long *ret)
{
    const char *s = t;
    if (*s == '+' || *s == '-') s++;
    if (!*s || strlen (s) > 15) return false;
    for (const char *d = s; *d; d++)
        if (!isdigit ((unsigned char)*d)) return false;
    *ret = strtol (t, NULL, 10);
    return true;
}

/* An error text for a bad array token into buf; the index for a get (or a
 * set, remove) of an array of n, or -1 with buf set. */
static long s_arr_get (const char *tok, size_t n, bool remove, char *buf, size_t len)
{
    long x;
    if (!s_atoi (tok, &x)) {
        snprintf (buf, len, "strconv.Atoi: parsing \"%s\": invalid syntax", tok);
        return -1;
    }
    long orig = x;
    if (remove && x >= (long)n) goto bad;
    if (x < 0) {
        if (x < -(long)n) goto bad;
        x += (long)n;
    }
    if (x >= (long)n) goto bad;
    return x;
bad:
    snprintf (buf, len, "Unable to access invalid index: %ld: invalid index referenced", orig);
    return -1;
}

/* The container holding the pointer's last token, or NULL (findObject). */
static hs_tree_t *s_ptr_parent (hs_tree_t *doc, const s_ptr_t *p)
{
    if (!p->n) return NULL;
    hs_tree_t *t = doc;
    char why[128];
    for (size_t i = 0; t && i + 1 < p->n; i++) {
        if (t->type == HS_TREE_MAP) {
            t = (hs_tree_t *)hs_tree_get (t, p->tok[i]);
        } else if (t->type == HS_TREE_SEQ) {
            long x = s_arr_get (p->tok[i], t->n, false, why, sizeof why);
            t = x >= 0 ? t->items[x] : NULL;
        } else {
            t = NULL;
        }
    }
    return t && (t->type == HS_TREE_MAP || t->type == HS_TREE_SEQ) ? t : NULL;
}

static ssize_t s_map_pos (const hs_tree_t *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp (m->keys[i], key) == 0) return (ssize_t)i;
    return -1;
}

static void s_seq_insert (hs_tree_t *seq, size_t at, hs_tree_t *v)
{
    seq->items = hs_realloc (seq->items, (seq->n + 1) * sizeof (hs_tree_t *));
    memmove (&seq->items[at + 1], &seq->items[at], (seq->n - at) * sizeof (hs_tree_t *));
    seq->items[at] = v;
    seq->n++;
}

static hs_tree_t *s_seq_take (hs_tree_t *seq, size_t at)
{
    hs_tree_t *v = seq->items[at];
    memmove (&seq->items[at], &seq->items[at + 1], (seq->n - at - 1) * sizeof (hs_tree_t *));
    seq->n--;
    return v;
}

static hs_tree_t *s_map_take (hs_tree_t *map, size_t at)
{
    hs_tree_t *v = map->items[at];
    free (map->keys[at]);
    memmove (&map->keys[at], &map->keys[at + 1], (map->n - at - 1) * sizeof (char *));
    memmove (&map->items[at], &map->items[at + 1], (map->n - at - 1) * sizeof (hs_tree_t *));
    map->n--;
    return v;
}

/* con.get: the value under the last token of parent (NULL for a key the
 * object lacks, which is no error), or -1 with why. */
static int s_con_get (hs_tree_t *parent, const char *tok, hs_tree_t **ret, char *why, size_t len)
{
    *ret = NULL;
    if (parent->type == HS_TREE_MAP) {
        *ret = (hs_tree_t *)hs_tree_get (parent, tok);
        return 0;
    }
    long x = s_arr_get (tok, parent->n, false, why, len);
    if (x < 0) return -1;
    *ret = parent->items[x];
    return 0;
}

/* con.add: takes v (freed on error, with why). */
static int s_con_add (hs_tree_t *parent, const char *tok, hs_tree_t *v, char *why, size_t len)
{
    if (parent->type == HS_TREE_MAP) {
        ssize_t i = s_map_pos (parent, tok);
        if (i >= 0) {
            hs_tree_free (parent->items[i]);
            parent->items[i] = v;
        } else {
            hs_tree_add (parent, tok, v);
        }
        return 0;
    }
    if (strcmp (tok, "-") == 0) {
        s_seq_insert (parent, parent->n, v);
        return 0;
    }
    long x;
    if (!s_atoi (tok, &x)) {
        snprintf (why, len,
                  "value was not a proper array index: '%s': strconv.Atoi: parsing \"%s\": "
                  "invalid syntax",
                  tok, tok);
        hs_tree_free (v);
        return -1;
    }
    long sz = (long)parent->n + 1, orig = x;
    if (x >= sz || x < -sz) {
        snprintf (why, len, "Unable to access invalid index: %ld: invalid index referenced", orig);
        hs_tree_free (v);
        return -1;
    }
    if (x < 0) x += sz;
    s_seq_insert (parent, (size_t)x, v);
    return 0;
}

/* con.remove: the removed value (caller frees), or NULL with why. */
static hs_tree_t *s_con_remove (hs_tree_t *parent, const char *tok, char *why, size_t len)
{
    if (parent->type == HS_TREE_MAP) {
        ssize_t i = s_map_pos (parent, tok);
        if (i < 0) {
            snprintf (why, len, "Unable to remove nonexistent key: %s: missing value", tok);
            return NULL;
        }
        return s_map_take (parent, (size_t)i);
    }
    long x = s_arr_get (tok, parent->n, true, why, len);
    return x < 0 ? NULL : s_seq_take (parent, (size_t)x);
}

/* Nothing a patch builds nests deeper than a parsed document may. */
static int s_jp_depth_ok (const s_ptr_t *p, const hs_tree_t *v, const char *op, s_ctx_t *c)
{
    if (p->n + s_depth (v) <= S_MAX_DEPTH + 1) return 0;
    return s_fail (c, API_PATCH_EAPPLY,
                   "%s operation does not apply: the result nests deeper than %d levels", op,
                   S_MAX_DEPTH);
}

/* A string member of an operation, NULL when absent or not a string. */
static const char *s_op_str (const hs_tree_t *op, const char *key)
{
    const hs_tree_t *v = hs_tree_get (op, key);
    return v && v->type == HS_TREE_SCALAR && v->quoted ? hs_s (v->scalar) : NULL;
}

static int s_jp_op (hs_tree_t **doc, const hs_tree_t *op, s_ctx_t *c)
{
    const char *kind = s_op_str (op, "op");
    if (!kind) kind = "unknown";
    enum { ADD, REMOVE, REPLACE, MOVE, COPY, TEST } k;
    if (!strcmp (kind, "add"))
        k = ADD;
    else if (!strcmp (kind, "remove"))
        k = REMOVE;
    else if (!strcmp (kind, "replace"))
        k = REPLACE;
    else if (!strcmp (kind, "move"))
        k = MOVE;
    else if (!strcmp (kind, "copy"))
        k = COPY;
    else if (!strcmp (kind, "test"))
        k = TEST;
    else
        return s_fail (c, API_PATCH_EAPPLY, "Unexpected kind: %s", kind);

    const hs_tree_t *value = hs_tree_get (op, "value");
    const hs_tree_t null_value = {.type = HS_TREE_NULL};
    if (!value && k != TEST) value = &null_value; /* v4: an absent value is null */
    char why[256];
    int r = 0;
    s_ptr_t p = {0}, f = {0};
    const char *from = NULL, *path = NULL;
    hs_tree_t *parent = NULL, *cur = NULL, *mine = NULL; /* mine: the value move/copy adds */

    /* move and copy read "from" first */
    if (k == MOVE || k == COPY) {
        from = s_op_str (op, "from");
        if (!from) {
            r = s_fail (c, API_PATCH_EAPPLY, "%s operation failed to decode from: missing value",
                        kind);
            goto out;
        }
        if (s_ptr_parse (from, &f) < 0 || !(parent = s_ptr_parent (*doc, &f))) {
            r = s_fail (c, API_PATCH_EAPPLY,
                        "%s operation does not apply: doc is missing from path: %s: missing value",
                        kind, from);
            goto out;
        }
        const char *ftok = f.tok[f.n - 1];
        if (s_con_get (parent, ftok, &cur, why, sizeof why) < 0) {
            if (k == MOVE)
                r = s_fail (c, API_PATCH_EAPPLY, "error in move for path: '%s': %s", ftok, why);
            else
                r = s_fail (c, API_PATCH_EAPPLY, "error in copy for from: '%s': %s", from, why);
            goto out;
        }
        if (k == MOVE) {
            mine = s_con_remove (parent, ftok, why, sizeof why);
            if (!mine) {
                r = s_fail (c, API_PATCH_EAPPLY, "error in move for path: '%s': %s", ftok, why);
                goto out;
            }
        } else {
            size_t sz = s_size (cur);
            c->copied += sz;
            if (c->copied > S_COPY_LIMIT) {
                r = s_fail (c, API_PATCH_EAPPLY,
                            "Unable to complete the copy, the accumulated size increase of copy "
                            "is %zu, exceeding the limit %d",
                            c->copied, S_COPY_LIMIT);
                goto out;
            }
            /* a key the object lacks copies as null */
            mine = cur ? api_tree_dup (cur) : hs_tree_new (HS_TREE_NULL);
        }
    }

    path = s_op_str (op, "path");
    if (!path) {
        r = s_fail (c, API_PATCH_EAPPLY, "%s operation failed to decode path: missing value", kind);
        goto out;
    }
    int pr = s_ptr_parse (path, &p);
    if (pr == 0 && !p.n && (k == ADD || k == REPLACE || k == TEST || k == MOVE || k == COPY)) {
        /* the whole document */
        if (k == TEST) {
            if (!value || !s_equal (*doc, value, 0))
                r = s_fail (c, API_PATCH_EAPPLY, "testing value %s failed: test failed", path);
            goto out;
        }
        hs_tree_t *v = k == ADD || k == REPLACE ? api_tree_dup (value) : mine;
        mine = NULL;
        hs_tree_free (*doc);
        *doc = v;
        goto out;
    }
    parent = pr == 0 ? s_ptr_parent (*doc, &p) : NULL;
    if (!parent) {
        switch (k) {
        case ADD:
        case REMOVE:
            r = s_fail (c, API_PATCH_EAPPLY,
                        "%s operation does not apply: doc is missing path: \"%s\": missing value",
                        kind, path);
            break;
        case REPLACE:
            r = s_fail (c, API_PATCH_EAPPLY,
                        "replace operation does not apply: doc is missing path: %s: missing value",
                        path);
            break;
        case TEST:
            r = s_fail (c, API_PATCH_EAPPLY,
                        "test operation does not apply: is missing path: %s: missing value", path);
            break;
        default:
            r = s_fail (c, API_PATCH_EAPPLY,
                        "%s operation does not apply: doc is missing destination path: %s: missing "
                        "value",
                        kind, path);
            break;
        }
        goto out;
    }
    const char *tok = p.tok[p.n - 1];
    switch (k) {
    case ADD:
        if ((r = s_jp_depth_ok (&p, value, kind, c)) < 0) break;
        if (s_con_add (parent, tok, api_tree_dup (value), why, sizeof why) < 0)
            r = s_fail (c, API_PATCH_EAPPLY, "error in add for path: '%s': %s", path, why);
        break;
    case REMOVE: {
        hs_tree_t *old = s_con_remove (parent, tok, why, sizeof why);
        if (!old) r = s_fail (c, API_PATCH_EAPPLY, "error in remove for path: '%s': %s", path, why);
        hs_tree_free (old);
        break;
    }
    case REPLACE: {
        hs_tree_t *old = NULL;
        if (s_con_get (parent, tok, &old, why, sizeof why) < 0) {
            r = s_fail (c, API_PATCH_EAPPLY,
                        "replace operation does not apply: doc is missing key: %s: missing value",
                        path);
            break;
        }
        if ((r = s_jp_depth_ok (&p, value, kind, c)) < 0) break;
        if (old)
            s_tree_move (old, api_tree_dup (value));
        else /* a key the object lacks: set (v4) */
            hs_tree_add (parent, tok, api_tree_dup (value));
        break;
    }
    case TEST: {
        hs_tree_t *v = NULL;
        if (s_con_get (parent, tok, &v, why, sizeof why) < 0)
            r = s_fail (c, API_PATCH_EAPPLY, "error in test for path: '%s': %s", path, why);
        else if (!v || !value || !s_equal (v, value, 0))
            r = s_fail (c, API_PATCH_EAPPLY, "testing value %s failed: test failed", path);
        break;
    }
    case MOVE:
    case COPY:
        if ((r = s_jp_depth_ok (&p, mine, kind, c)) < 0) break;
        r = s_con_add (parent, tok, mine, why, sizeof why);
        mine = NULL;
        if (r < 0)
            r = k == MOVE
                    ? s_fail (c, API_PATCH_EAPPLY, "error in move for path: '%s': %s", path, why)
                    : s_fail (c, API_PATCH_EAPPLY,
                              "error while adding value during copy: error in add for "
                              "path: '%s': %s",
                              path, why);
        break;
    }
out:
    hs_tree_free (mine);
    s_ptr_free (&p);
    s_ptr_free (&f);
    return r < 0 ? r : 0;
}

static int s_json_patch (hs_tree_t **doc, const hs_tree_t *patch, s_ctx_t *c)
{
    if (patch->type != HS_TREE_SEQ)
        return s_fail (c, API_PATCH_EBAD,
                       "json: cannot unmarshal %s into Go value of type jsonpatch.Patch",
                       patch->type == HS_TREE_MAP ? "object" : "value");
    for (size_t i = 0; i < patch->n; i++)
        if (!patch->items[i] || patch->items[i]->type != HS_TREE_MAP)
            return s_fail (c, API_PATCH_EBAD,
                           "json: cannot unmarshal %s into Go value of type jsonpatch.Operation",
                           patch->items[i] && patch->items[i]->type == HS_TREE_SEQ ? "array"
                                                                                   : "value");
    if (patch->n > S_JSONPATCH_MAX_OPS)
        return s_fail (c, API_PATCH_EBAD,
                       "The allowed maximum operations in a JSON patch is %d, got %zu",
                       S_JSONPATCH_MAX_OPS, patch->n);
    for (size_t i = 0; i < patch->n; i++) {
        int r = s_jp_op (doc, patch->items[i], c);
        if (r < 0) return r;
    }
    return 0;
}

/* ------------------------------------------------------------------ strategic merge: schema */

/* How a field merges. Fields the schema does not name: maps merge, lists
 * are atomic. */
typedef enum {
    S_MAP = 0, /* a struct: merge; sub names its fields */
    S_KEYED,   /* a list of maps merged by merge_key; sub names the items' fields */
    S_SET,     /* a list of scalars merged as a set */
} s_strategy_t;

typedef struct s_field s_field_t;
struct s_field {
    const char *name;
    s_strategy_t strategy;
    const char *merge_key;
    const s_field_t *sub; /* {NULL}-terminated */
};

/* From k8s.io/api's patchStrategy / patchMergeKey tags. */
static const s_field_t s_meta[] = {
    {"finalizers", S_SET, NULL, NULL},
    {"ownerReferences", S_KEYED, "uid", NULL},
    {NULL, 0, NULL, NULL},
};
static const s_field_t s_container[] = {
    {"ports", S_KEYED, "containerPort", NULL},
    {"env", S_KEYED, "name", NULL},
    {"volumeMounts", S_KEYED, "mountPath", NULL},
    {"volumeDevices", S_KEYED, "devicePath", NULL},
    {NULL, 0, NULL, NULL},
};
static const s_field_t s_pod_spec[] = {
    {"containers", S_KEYED, "name", s_container},
    {"initContainers", S_KEYED, "name", s_container},
    {"ephemeralContainers", S_KEYED, "name", s_container},
    {"volumes", S_KEYED, "name", NULL},
    {"imagePullSecrets", S_KEYED, "name", NULL},
    {"hostAliases", S_KEYED, "ip", NULL},
    {"topologySpreadConstraints", S_KEYED, "topologyKey", NULL},
    {"schedulingGates", S_KEYED, "name", NULL},
    {"resourceClaims", S_KEYED, "name", NULL},
    {NULL, 0, NULL, NULL},
};
static const s_field_t s_pod_status[] = {
    {"conditions", S_KEYED, "type", NULL},
    {"podIPs", S_KEYED, "ip", NULL},
    {"hostIPs", S_KEYED, "ip", NULL},
    {"resourceClaimStatuses", S_KEYED, "name", NULL},
    {NULL, 0, NULL, NULL},
};
static const s_field_t s_conditions_status[] = {
    {"conditions", S_KEYED, "type", NULL},
    {NULL, 0, NULL, NULL},
};
static const s_field_t s_template[] = {
    {"metadata", S_MAP, NULL, s_meta},
    {"spec", S_MAP, NULL, s_pod_spec},
    {NULL, 0, NULL, NULL},
};
static const s_field_t s_workload_spec[] = {
    {"template", S_MAP, NULL, s_template},
    {NULL, 0, NULL, NULL},
};
static const s_field_t s_node_spec[] = {
    {"podCIDRs", S_SET, NULL, NULL},
    {NULL, 0, NULL, NULL},
};
static const s_field_t s_node_status[] = {
    {"conditions", S_KEYED, "type", NULL},
    {"addresses", S_KEYED, "type", NULL},
    {NULL, 0, NULL, NULL},
};
static const s_field_t s_service_spec[] = {
    {"ports", S_KEYED, "port", NULL},
    {NULL, 0, NULL, NULL},
};

static const s_field_t s_root_pod[] = {
    {"metadata", S_MAP, NULL, s_meta},
    {"spec", S_MAP, NULL, s_pod_spec},
    {"status", S_MAP, NULL, s_pod_status},
    {NULL, 0, NULL, NULL},
};
static const s_field_t s_root_workload[] = {
    {"metadata", S_MAP, NULL, s_meta},
    {"spec", S_MAP, NULL, s_workload_spec},
    {"status", S_MAP, NULL, s_conditions_status},
    {NULL, 0, NULL, NULL},
};
static const s_field_t s_root_node[] = {
    {"metadata", S_MAP, NULL, s_meta},
    {"spec", S_MAP, NULL, s_node_spec},
    {"status", S_MAP, NULL, s_node_status},
    {NULL, 0, NULL, NULL},
};
static const s_field_t s_root_service[] = {
    {"metadata", S_MAP, NULL, s_meta},
    {"spec", S_MAP, NULL, s_service_spec},
    {"status", S_MAP, NULL, s_conditions_status},
    {NULL, 0, NULL, NULL},
};
/* HPAs: metrics and policies are atomic lists (replaced whole), conditions
 * merge by type, as kube's autoscaling/v2 types say. */
static const s_field_t s_root_hpa[] = {
    {"metadata", S_MAP, NULL, s_meta},
    {"status", S_MAP, NULL, s_conditions_status},
    {NULL, 0, NULL, NULL},
};
static const s_field_t s_root_other[] = {
    {"metadata", S_MAP, NULL, s_meta},
    {NULL, 0, NULL, NULL},
};

static const s_field_t *s_schema_of (hs_kind_t kind)
{
    switch ((int)kind) {
    case HS_KIND_POD: return s_root_pod;
    case HS_KIND_DEPLOYMENT:
    case HS_KIND_REPLICASET:
    case HS_KIND_JOB: return s_root_workload;
    case HS_KIND_NODE: return s_root_node;
    case HS_KIND_SERVICE: return s_root_service;
    case HS_KIND_HPA: return s_root_hpa;
    default: return s_root_other;
    }
}

static const s_field_t *s_field (const s_field_t *fields, const char *name)
{
    for (const s_field_t *f = fields; f && f->name; f++)
        if (strcmp (f->name, name) == 0) return f;
    return NULL;
}

/* ------------------------------------------------------------------ strategic merge: lists */

#define S_DIRECTIVE       "$patch"
#define S_RETAIN_KEYS     "$retainKeys"
#define S_SET_ORDER       "$setElementOrder"
#define S_DELETE_FROM     "$deleteFromPrimitiveList"
#define S_ERR_RETAIN_KEYS "invalid patch format of retainKeys"
#define S_ERR_SET_ORDER   "invalid patch format of setElementOrder list"
#define S_ERR_PRIMITIVE   "invalid patch format of primitive list"

static int s_smp_map (hs_tree_t *orig, const hs_tree_t *patch, const s_field_t *fields, int depth,
                      s_ctx_t *c);
static hs_tree_t *s_smp_clean (const hs_tree_t *v, const s_field_t *field, int depth, s_ctx_t *c);

/* The identity of a list item: a scalar's text, or a map's merge key value
 * (a scalar). NULL when it has none. */
static const char *s_ident (const hs_tree_t *item, const char *merge_key)
{
    if (!item) return NULL;
    if (merge_key) {
        if (item->type != HS_TREE_MAP) return NULL;
        const hs_tree_t *k = hs_tree_get (item, merge_key);
        return k && k->type == HS_TREE_SCALAR ? hs_s (k->scalar) : NULL;
    }
    return item->type == HS_TREE_SCALAR ? hs_s (item->scalar) : NULL;
}

/* The "$patch" value of a list item or map, NULL if none. */
static const hs_tree_t *s_directive (const hs_tree_t *t)
{
    return t && t->type == HS_TREE_MAP ? hs_tree_get (t, S_DIRECTIVE) : NULL;
}

static bool s_directive_is (const hs_tree_t *d, const char *what)
{
    return d && d->type == HS_TREE_SCALAR && strcmp (hs_s (d->scalar), what) == 0;
}

static int s_no_merge_key (const hs_tree_t *item, const char *merge_key, s_ctx_t *c)
{
    _cleanup_free_ char *q = s_quote (item);
    if (!item || item->type != HS_TREE_MAP)
        return s_fail (c, API_PATCH_EBAD, "expected a map[string]interface {}, but received a %s",
                       s_type_name (item));
    const hs_tree_t *k = hs_tree_get (item, merge_key);
    if (k)
        return s_fail (c, API_PATCH_EBAD, "map: %s has a merge key %s that is not a scalar", q,
                       merge_key);
    return s_fail (c, API_PATCH_EBAD, "map: %s does not contain declared merge key: %s", q,
                   merge_key);
}

/* Every item of the lists is a map (merge_key) or a scalar (none). */
static int s_check_items (const hs_tree_t *a, const hs_tree_t *b, bool maps, s_ctx_t *c)
{
    const hs_tree_t *lists[2] = {a, b};
    for (size_t l = 0; l < 2; l++) {
        if (!lists[l]) continue;
        for (size_t i = 0; i < lists[l]->n; i++) {
            const hs_tree_t *it = lists[l]->items[i];
            if (it && it->type == HS_TREE_SEQ)
                return s_fail (c, API_PATCH_EBAD, "lists of lists are not supported");
            if (!it || it->type != (maps ? HS_TREE_MAP : HS_TREE_SCALAR))
                return s_fail (c, API_PATCH_EBAD, "list element types are not identical");
        }
    }
    return 0;
}

/* Positions of identities in a list (first occurrence), over dup'd keys
 * (the list may change while the positions are used). */
typedef struct {
    char **ids;
    size_t n;
    s_index_t ix;
} s_order_t;

static void s_order_build (s_order_t *o, hs_tree_t *const *items, size_t n, const char *merge_key)
{
    memset (o, 0, sizeof *o);
    o->ids = hs_calloc (n ? n : 1, sizeof (char *));
    s_index_grow (&o->ix, n);
    for (size_t i = 0; i < n; i++) {
        o->ids[i] = hs_strdup (s_ident (items[i], merge_key));
        s_index_put (&o->ix, o->ids[i], i);
    }
    o->n = n;
}

static ssize_t s_order_pos (const s_order_t *o, const hs_tree_t *item, const char *merge_key)
{
    size_t p;
    return s_index_get (&o->ix, s_ident (item, merge_key), &p) ? (ssize_t)p : -1;
}

static void s_order_free (s_order_t *o)
{
    for (size_t i = 0; i < o->n; i++) free (o->ids[i]);
    free (o->ids);
    s_index_free (&o->ix);
    memset (o, 0, sizeof *o);
}

typedef struct {
    hs_tree_t *item;
    size_t key; /* position in the wanted order; SIZE_MAX: not there */
    size_t seq; /* position before sorting: keeps the sort stable */
} s_sortee_t;

static int s_sortee_cmp (const void *a, const void *b)
{
    const s_sortee_t *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Kubernetes' normalizeElementOrder: items in `order` (the patch's order or
 * $setElementOrder) sorted by it; the others (server-only) sorted by the
 * live list's order; then mergeSortedSlice interleaves them, a server-only
 * item going first when the live list had it before the patch item.
 * Takes the items of `merged` and rebuilds it. Items $patch: delete (none
 * here after merging) would go last. */
static void s_normalize_order (hs_tree_t *merged, const s_order_t *order, const s_order_t *live,
                               const char *merge_key)
{
    size_t n = merged->n;
    if (n < 2) return;
    s_sortee_t *pi = hs_calloc (n, sizeof *pi), *so = hs_calloc (n, sizeof *so);
    size_t np = 0, ns = 0;
    for (size_t i = 0; i < n; i++) {
        hs_tree_t *it = merged->items[i];
        ssize_t p = s_order_pos (order, it, merge_key);
        if (p >= 0) {
            pi[np] = (s_sortee_t){it, (size_t)p, i};
            np++;
        } else {
            ssize_t l = s_order_pos (live, it, merge_key);
            so[ns] = (s_sortee_t){it, l >= 0 ? (size_t)l : SIZE_MAX, i};
            ns++;
        }
    }
    qsort (pi, np, sizeof *pi, s_sortee_cmp);
    qsort (so, ns, sizeof *so, s_sortee_cmp);
    /* left = server-only, right = patch items */
    size_t i = 0, j = 0, k = 0;
    while (k < n) {
        if (i >= ns) {
            merged->items[k++] = pi[j++].item;
        } else if (j >= np) {
            merged->items[k++] = so[i++].item;
        } else {
            ssize_t li = s_order_pos (live, so[i].item, merge_key);
            ssize_t ri = s_order_pos (live, pi[j].item, merge_key);
            if (li >= 0 && ri >= 0 && li < ri)
                merged->items[k++] = so[i++].item;
            else
                merged->items[k++] = pi[j++].item;
        }
    }
    free (pi);
    free (so);
}

/* mergeSlice for a list the schema merges (field->strategy S_KEYED or
 * S_SET), or a $deleteFromPrimitiveList (del). orig is changed in place. */
static int s_smp_list (hs_tree_t *orig, const hs_tree_t *patch, const s_field_t *field, bool del,
                       int depth, s_ctx_t *c)
{
    if (!orig->n && !patch->n) return 0;
    bool maps = false;
    const hs_tree_t *first = orig->n ? orig->items[0] : patch->items[0];
    if (first && first->type == HS_TREE_MAP) maps = true;
    if (s_check_items (orig, patch, maps, c) < 0) return c->code;

    if (!maps) {
        s_index_t seen = {0};
        if (del) {
            s_index_grow (&seen, patch->n);
            for (size_t i = 0; i < patch->n; i++) s_index_put (&seen, patch->items[i]->scalar, i);
            size_t o = 0, p;
            for (size_t i = 0; i < orig->n; i++) {
                if (s_index_get (&seen, orig->items[i]->scalar, &p))
                    hs_tree_free (orig->items[i]);
                else
                    orig->items[o++] = orig->items[i];
            }
            orig->n = o;
            s_index_free (&seen);
            return 0;
        }
        s_order_t live, order;
        s_order_build (&live, orig->items, orig->n, NULL);
        s_order_build (&order, patch->items, patch->n, NULL);
        /* deduplicateScalars (orig + patch): first occurrences */
        hs_tree_t **all = hs_calloc (orig->n + patch->n + 1, sizeof (hs_tree_t *));
        size_t n = 0, p;
        s_index_grow (&seen, orig->n + patch->n);
        for (size_t i = 0; i < orig->n; i++) {
            if (s_index_get (&seen, orig->items[i]->scalar, &p)) {
                hs_tree_free (orig->items[i]);
                continue;
            }
            s_index_put (&seen, orig->items[i]->scalar, n);
            all[n++] = orig->items[i];
        }
        for (size_t i = 0; i < patch->n; i++) {
            if (s_index_get (&seen, patch->items[i]->scalar, &p)) continue;
            all[n] = api_tree_dup (patch->items[i]);
            s_index_put (&seen, all[n]->scalar, n);
            n++;
        }
        s_index_free (&seen);
        free (orig->items);
        orig->items = all;
        orig->n = n;
        s_normalize_order (orig, &order, &live, NULL);
        s_order_free (&live);
        s_order_free (&order);
        return 0;
    }

    const char *mk = field ? field->merge_key : NULL;
    if (del || !mk)
        return s_fail (c, API_PATCH_EBAD, "cannot merge lists without merge key for %s",
                       field ? field->name : "a list");
    const s_field_t *sub = field->sub;

    /* mergeSliceWithSpecialElements: $patch items first */
    bool replace = false;
    for (size_t i = 0; i < patch->n; i++) {
        const hs_tree_t *e = patch->items[i], *d = s_directive (e);
        if (!d) continue;
        if (s_directive_is (d, "delete")) {
            const char *id = s_ident (e, mk);
            if (!id) return s_no_merge_key (e, mk, c);
            size_t o = 0;
            for (size_t j = 0; j < orig->n; j++) {
                const char *oid = s_ident (orig->items[j], mk);
                if (oid && strcmp (oid, id) == 0)
                    hs_tree_free (orig->items[j]);
                else
                    orig->items[o++] = orig->items[j];
            }
            orig->n = o;
        } else if (s_directive_is (d, "replace")) {
            replace = true;
        } else if (!s_directive_is (d, "merge")) {
            _cleanup_free_ char *q = s_quote (e);
            return s_fail (c, API_PATCH_EBAD, "unknown patch type: %s in map: %s",
                           d->type == HS_TREE_SCALAR ? hs_s (d->scalar) : "?", q);
        }
    }
    /* the patch's regular items ("$patch: merge" ones included) */
    size_t nreg = 0;
    const hs_tree_t **reg = hs_calloc (patch->n + 1, sizeof (hs_tree_t *));
    for (size_t i = 0; i < patch->n; i++) {
        const hs_tree_t *d = s_directive (patch->items[i]);
        if (!d || s_directive_is (d, "merge")) reg[nreg++] = patch->items[i];
    }
    for (size_t i = 0; i < nreg; i++) {
        if (!s_ident (reg[i], mk)) {
            s_no_merge_key (reg[i], mk, c);
            free (reg);
            return c->code;
        }
    }
    if (replace) {
        /* the list is exactly the patch's regular items */
        s_tree_reset (orig, HS_TREE_SEQ);
        size_t cap = 0;
        for (size_t i = 0; i < nreg && !c->error; i++) {
            hs_tree_t *v = hs_tree_new (HS_TREE_MAP);
            s_smp_map (v, reg[i], sub, depth + 1, c);
            s_tree_append (orig, &cap, NULL, v);
        }
        free (reg);
        return c->error ? c->code : 0;
    }
    for (size_t j = 0; j < orig->n; j++)
        if (!s_ident (orig->items[j], mk)) {
            s_no_merge_key (orig->items[j], mk, c);
            free (reg);
            return c->code;
        }

    s_order_t live, order;
    s_order_build (&live, orig->items, orig->n, mk);
    s_order_build (&order, (hs_tree_t *const *)reg, nreg, mk);
    /* mergeSliceWithoutSpecialElements: merge into a same-key item, or append */
    s_index_t at = {0};
    s_index_grow (&at, orig->n + nreg);
    for (size_t j = 0; j < orig->n; j++) s_index_put (&at, live.ids[j], j);
    orig->items = hs_realloc (orig->items, (orig->n + nreg + 1) * sizeof (hs_tree_t *));
    for (size_t i = 0; i < nreg && !c->error; i++) {
        size_t p;
        if (s_index_get (&at, order.ids[i], &p)) {
            s_smp_map (orig->items[p], reg[i], sub, depth + 1, c);
            continue;
        }
        hs_tree_t *v = hs_tree_new (HS_TREE_MAP);
        s_smp_map (v, reg[i], sub, depth + 1, c);
        orig->items[orig->n] = v;
        s_index_put (&at, order.ids[i], orig->n);
        orig->n++;
    }
    s_index_free (&at);
    free (reg);
    if (!c->error) s_normalize_order (orig, &order, &live, mk);
    s_order_free (&live);
    s_order_free (&order);
    return c->error ? c->code : 0;
}

/* A patch value for a place the live object does not have (or has with
 * another type): merged onto nothing, so directives apply and go away.
 * NULL: nothing to put there ($patch: delete, or only nulls in a list). */
static hs_tree_t *s_smp_clean (const hs_tree_t *v, const s_field_t *field, int depth, s_ctx_t *c)
{
    if (depth > S_RECURSION_LIMIT) {
        s_fail (c, API_PATCH_EBAD, "the patch nests too deeply");
        return NULL;
    }
    if (v->type == HS_TREE_MAP) {
        const hs_tree_t *d = s_directive (v);
        if (d && s_directive_is (d, "delete")) return NULL;
        hs_tree_t *r = hs_tree_new (HS_TREE_MAP);
        s_smp_map (r, v, field && field->strategy == S_MAP ? field->sub : NULL, depth + 1, c);
        return r;
    }
    if (v->type == HS_TREE_SEQ) {
        hs_tree_t *r = hs_tree_new (HS_TREE_SEQ);
        if (field && (field->strategy == S_KEYED || field->strategy == S_SET)) {
            s_smp_list (r, v, field, false, depth + 1, c);
            return r;
        }
        /* atomic: the items, without directives */
        size_t cap = 0;
        for (size_t i = 0; i < v->n && !c->error; i++) {
            const hs_tree_t *it = v->items[i];
            if (!it) continue;
            hs_tree_t *x = s_smp_clean (it, NULL, depth + 1, c);
            if (x) s_tree_append (r, &cap, NULL, x);
        }
        return r;
    }
    return api_tree_dup (v);
}

/* Whether key is "<prefix>/<rest>"; *rest points into key. */
static bool s_split_directive (const char *key, const char *prefix, const char **rest)
{
    size_t n = strlen (prefix);
    if (strncmp (key, prefix, n) != 0) return false;
    *rest = key[n] == '/' ? key + n + 1 : NULL;
    return true;
}

/* validatePatchWithSetOrderList: the patch's items come in the order's
 * relative order, and all of them are in it. */
static int s_check_set_order (const hs_tree_t *plist, const hs_tree_t *order, const char *mk,
                              s_ctx_t *c)
{
    if (!plist || !plist->n || !order->n) return 0;
    /* the patch's items but "$patch: delete" ones (a list of maps) */
    const hs_tree_t **nd = hs_calloc (plist->n, sizeof (hs_tree_t *));
    size_t n = 0;
    for (size_t i = 0; i < plist->n; i++) {
        const hs_tree_t *e = plist->items[i];
        if (mk && (!e || e->type != HS_TREE_MAP)) {
            free (nd);
            return s_fail (c, API_PATCH_EBAD,
                           "expected a map[string]interface {}, but received a %s",
                           s_type_name (e));
        }
        if (!mk || !s_directive_is (s_directive (e), "delete")) nd[n++] = e;
    }
    size_t pi = 0, oi = 0;
    int r = 0;
    while (r == 0 && pi < n && oi < order->n) {
        if (s_directive (nd[pi])) { /* other $patch items are not ordered */
            pi++;
            continue;
        }
        const char *a = s_ident (nd[pi], mk), *b = s_ident (order->items[oi], mk);
        if (mk && !a)
            r = s_no_merge_key (nd[pi], mk, c);
        else if (mk && !b)
            r = s_no_merge_key (order->items[oi], mk, c);
        else if (a && b && strcmp (a, b) == 0)
            pi++;
        oi++;
    }
    free (nd);
    if (r == 0 && pi < n && oi >= order->n) {
        _cleanup_free_ char *qp = s_quote (plist), *qo = s_quote (order);
        r = s_fail (c, API_PATCH_EBAD,
                    "The order in patch list:\n%s\n doesn't match %s list:\n%s\n", qp, S_SET_ORDER,
                    qo);
    }
    return r;
}

/* Upstream orders the server-only items of a $setElementOrder list by the
 * live list as it sees it after merging, and that view is a Go slice that
 * shares its array with the merge: "$patch: delete" items shift the array
 * left in place (its last slots keep stale copies) and new items are
 * appended into the room that leaves. kubectl apply sends exactly that
 * when it renames a container or an env var, so the same view is rebuilt
 * here: same results as kube-apiserver, item for item. */
static void s_order_alias (s_order_t *live, const hs_tree_t *plist, const char *mk)
{
    size_t n = live->n, len = n;
    bool deleted = false, replace = false;
    const char **a = hs_calloc (n + 1, sizeof (char *));
    for (size_t i = 0; i < n; i++) a[i] = live->ids[i];
    for (size_t i = 0; i < plist->n; i++) {
        const hs_tree_t *d = s_directive (plist->items[i]);
        const char *id = s_ident (plist->items[i], mk);
        if (s_directive_is (d, "replace")) replace = true;
        if (!s_directive_is (d, "delete") || !id) continue;
        for (size_t k = 0; k < len;) {
            if (!a[k] || strcmp (a[k], id) != 0) {
                k++;
                continue;
            }
            memmove (&a[k], &a[k + 1], (len - k - 1) * sizeof (char *));
            len--;
            deleted = true;
        }
    }
    if (!deleted) {
        free (a);
        return;
    }
    if (!replace) {
        s_index_t cur = {0};
        s_index_grow (&cur, len + plist->n);
        for (size_t i = 0; i < len; i++) s_index_put (&cur, a[i], i);
        for (size_t i = 0; i < plist->n; i++) {
            const hs_tree_t *d = s_directive (plist->items[i]);
            const char *id = s_ident (plist->items[i], mk);
            size_t p;
            if ((d && !s_directive_is (d, "merge")) || !id || s_index_get (&cur, id, &p)) continue;
            if (len < n) a[len] = id;
            s_index_put (&cur, id, len++);
        }
        s_index_free (&cur);
    }
    char **ids = hs_calloc (n + 1, sizeof (char *));
    for (size_t i = 0; i < n; i++) ids[i] = hs_strdup (a[i]);
    free (a);
    s_order_free (live);
    live->ids = ids;
    live->n = n;
    s_index_grow (&live->ix, n);
    for (size_t i = 0; i < n; i++) s_index_put (&live->ix, ids[i], i);
}

/* mergePatchIntoOriginal for one "$setElementOrder/<name>" key. *done is
 * set to the patch position of the list it handled (or -1). */
static int s_smp_set_order (s_mapw_t *w, const s_mapr_t *pr, const char *name,
                            const hs_tree_t *order, const s_field_t *fields, int depth,
                            ssize_t *done, s_ctx_t *c)
{
    *done = -1;
    if (!name) return s_fail (c, API_PATCH_EBAD, S_ERR_SET_ORDER);
    if (order->type != HS_TREE_SEQ)
        return s_fail (c, API_PATCH_EBAD, "expected a []interface {}, but received a %s",
                       s_type_name (order));
    const s_field_t *f = s_field (fields, name);
    const char *mk = f && f->strategy == S_KEYED ? f->merge_key : NULL;
    ssize_t lp = s_mapw_pos (w, name);
    hs_tree_t *olist = lp >= 0 ? w->map->items[lp] : NULL;
    ssize_t pp = s_mapr_pos (pr, name);
    const hs_tree_t *plist = pp >= 0 ? pr->map->items[pp] : NULL;
    if (olist && olist->type != HS_TREE_SEQ)
        return s_fail (c, API_PATCH_EBAD, "expected a []interface {}, but received a %s",
                       s_type_name (olist));
    if (plist && plist->type != HS_TREE_SEQ)
        return s_fail (c, API_PATCH_EBAD, "expected a []interface {}, but received a %s",
                       s_type_name (plist));
    if (s_check_set_order (plist, order, mk, c) < 0) return c->code;
    *done = pp;
    if (!olist && !plist) return 0;

    s_order_t live = {0}, ord;
    if (olist) s_order_build (&live, olist->items, olist->n, mk);
    if (olist && plist) {
        if (f && (f->strategy == S_KEYED || f->strategy == S_SET)) {
            s_smp_list (olist, plist, f, false, depth + 1, c);
            if (mk) s_order_alias (&live, plist, mk);
        } else {
            hs_tree_t *v = s_smp_clean (plist, f, depth + 1, c);
            if (v) s_tree_move (olist, v);
        }
    } else if (plist) {
        olist = s_smp_clean (plist, f, depth + 1, c);
        if (olist) s_mapw_set (w, name, olist);
    }
    /* order: the list's items named in $setElementOrder as it says, the
     * others where the live list had them */
    if (!c->error && olist && olist->n > 1) {
        bool maps = olist->items[0] && olist->items[0]->type == HS_TREE_MAP;
        if (!maps || mk) {
            bool ok = true;
            for (size_t i = 0; ok && i < olist->n; i++) ok = s_ident (olist->items[i], mk) != NULL;
            if (!ok) {
                s_order_free (&live);
                if (mk) {
                    for (size_t i = 0; i < olist->n; i++)
                        if (!s_ident (olist->items[i], mk))
                            return s_no_merge_key (olist->items[i], mk, c);
                }
                return s_fail (c, API_PATCH_EBAD, "list element types are not identical");
            }
            s_order_build (&ord, order->items, order->n, mk);
            s_normalize_order (olist, &ord, &live, mk);
            s_order_free (&ord);
        }
    }
    s_order_free (&live);
    return c->error ? c->code : 0;
}

/* mergeMap: merges patch (a map) into orig (a map), in place. */
static int s_smp_map (hs_tree_t *orig, const hs_tree_t *patch, const s_field_t *fields, int depth,
                      s_ctx_t *c)
{
    if (depth > S_RECURSION_LIMIT) return s_fail (c, API_PATCH_EBAD, "the patch nests too deeply");
    if (orig->type != HS_TREE_MAP) s_tree_reset (orig, HS_TREE_MAP);

    const hs_tree_t *d = hs_tree_get (patch, S_DIRECTIVE);
    if (d) {
        if (s_directive_is (d, "delete")) {
            s_tree_reset (orig, HS_TREE_MAP);
            return 0;
        }
        if (s_directive_is (d, "replace"))
            s_tree_reset (orig, HS_TREE_MAP); /* then merge onto nothing */
        else if (!s_directive_is (d, "merge")) {
            _cleanup_free_ char *q = s_quote (patch);
            return s_fail (c, API_PATCH_EBAD, "unknown patch type: %s in map: %s",
                           d->type == HS_TREE_SCALAR ? hs_s (d->scalar) : "?", q);
        }
    }

    s_mapw_t w;
    s_mapr_t pr;
    s_mapw_open (&w, orig);
    s_mapr_open (&pr, patch);
    bool *done = hs_calloc (patch->n + 1, sizeof (bool));

    /* $retainKeys: keys of orig not listed go; the patch may set only listed keys */
    const hs_tree_t *rk = hs_tree_get (patch, S_RETAIN_KEYS);
    if (rk) {
        s_index_t keep = {0};
        if (rk->type != HS_TREE_SEQ) s_fail (c, API_PATCH_EBAD, S_ERR_RETAIN_KEYS);
        for (size_t i = 0; !c->error && i < rk->n; i++) {
            if (!rk->items[i] || rk->items[i]->type != HS_TREE_SCALAR)
                s_fail (c, API_PATCH_EBAD, S_ERR_RETAIN_KEYS);
            else
                s_index_put (&keep, rk->items[i]->scalar, i);
        }
        for (size_t i = 0; !c->error && i < patch->n; i++) {
            const char *k = patch->keys[i];
            size_t p;
            if (k[0] == '$' || patch->items[i]->type == HS_TREE_NULL) continue;
            if (!s_index_get (&keep, k, &p)) s_fail (c, API_PATCH_EBAD, S_ERR_RETAIN_KEYS);
        }
        for (size_t i = 0; !c->error && i < orig->n; i++) {
            size_t p;
            if (orig->items[i] && !s_index_get (&keep, orig->keys[i], &p)) s_mapw_del_at (&w, i);
        }
        s_index_free (&keep);
    }

    /* Keys in the patch's order (new keys land in it), a list together
     * with its $setElementOrder; $deleteFromPrimitiveList after all of
     * them, as upstream applies it after the order. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; !c->error && i < patch->n; i++) {
            if (done[i]) continue;
            const char *k = patch->keys[i], *rest = NULL;
            const hs_tree_t *v = patch->items[i];
            if (!strcmp (k, S_DIRECTIVE) || !strcmp (k, S_RETAIN_KEYS)) continue;
            if (s_split_directive (k, S_DELETE_FROM, &rest)) {
                if (pass == 0) continue;
                done[i] = true;
                if (!rest || v->type != HS_TREE_SEQ) {
                    s_fail (c, API_PATCH_EBAD, S_ERR_PRIMITIVE);
                    break;
                }
                for (size_t j = 0; j < v->n; j++)
                    if (!v->items[j] || v->items[j]->type != HS_TREE_SCALAR)
                        s_fail (c, API_PATCH_EBAD, S_ERR_PRIMITIVE);
                hs_tree_t *cur = s_mapw_get (&w, rest);
                if (c->error || !cur || cur->type != HS_TREE_SEQ) continue;
                s_smp_list (cur, v, s_field (fields, rest), true, depth + 1, c);
                continue;
            }
            ssize_t op = -1;
            if (s_split_directive (k, S_SET_ORDER, &rest)) {
                op = (ssize_t)i;
            } else if (k[0] != '$') {
                _cleanup_free_ char *dk = hs_sprintf ("%s/%s", S_SET_ORDER, k);
                op = s_mapr_pos (&pr, dk);
                rest = k;
            }
            if (op >= 0) {
                ssize_t lp = -1;
                done[op] = true;
                s_smp_set_order (&w, &pr, rest, patch->items[op], fields, depth, &lp, c);
                if (lp >= 0) done[lp] = true;
                continue;
            }
            done[i] = true;
            if (k[0] == '$') {
                s_fail (c, API_PATCH_EBAD, "unknown strategic merge patch directive: %s", k);
                break;
            }
            if (v->type == HS_TREE_NULL) {
                s_mapw_del (&w, k);
                continue;
            }
            const s_field_t *f = s_field (fields, k);
            hs_tree_t *cur = s_mapw_get (&w, k);
            if (cur && cur->type == v->type && v->type == HS_TREE_MAP) {
                s_smp_map (cur, v, f && f->strategy == S_MAP ? f->sub : NULL, depth + 1, c);
            } else if (cur && cur->type == v->type && v->type == HS_TREE_SEQ && f &&
                       (f->strategy == S_KEYED || f->strategy == S_SET)) {
                s_smp_list (cur, v, f, false, depth + 1, c);
            } else {
                hs_tree_t *nv = s_smp_clean (v, f, depth + 1, c);
                if (nv)
                    s_mapw_set (&w, k, nv);
                else
                    s_mapw_del (&w, k);
            }
        }
    }
    free (done);
    s_index_free (&pr.ix);
    s_mapw_close (&w);
    return c->error ? c->code : 0;
}

/* ------------------------------------------------------------------ entry */

int api_patch_apply (api_patch_type_t type, hs_kind_t kind, const hs_tree_t *live,
                     const hs_tree_t *patch, hs_tree_t **ret, char **ret_error)
{
    s_ctx_t c = {0};
    hs_tree_t *doc = live ? api_tree_dup (live) : hs_tree_new (HS_TREE_MAP);
    if (!patch) {
        s_fail (&c, API_PATCH_EBAD, "the patch is empty");
    } else {
        switch (type) {
        case API_PATCH_MERGE:
            if (patch->type != HS_TREE_MAP)
                s_fail (&c, API_PATCH_EBAD, "Invalid JSON Patch");
            else
                doc = s_merge (doc, patch, 0, &c);
            break;
        case API_PATCH_JSON: s_json_patch (&doc, patch, &c); break;
        case API_PATCH_STRATEGIC:
        case API_PATCH_APPLY:
            if (patch->type != HS_TREE_MAP) {
                s_fail (&c, API_PATCH_EBAD, "invalid JSON document");
                break;
            }
            if (doc->type != HS_TREE_MAP) s_tree_reset (doc, HS_TREE_MAP);
            s_smp_map (doc, patch, s_schema_of (kind), 0, &c);
            break;
        default: s_fail (&c, API_PATCH_EBAD, "unknown patch type %d", (int)type); break;
        }
    }
    if (c.error) {
        hs_tree_free (doc);
        if (ret_error)
            *ret_error = c.error;
        else
            free (c.error);
        return c.code;
    }
    *ret = doc;
    return 0;
}
