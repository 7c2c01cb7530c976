/*  api_table_write.c: a meta.k8s.io/v1 Table written straight into a buffer
 *  (services/apiserver/api.h, api_table_write).
 *
 *  The bytes are exactly those of hs_tree_to_text (api_table (...),
 *  HS_FMT_JSON | HS_FMT_COMPACT); what differs is the cost. The tree path
 *  makes a node, a key and a scalar per field of every row, writes them, and
 *  frees them: for a 10,000-pod `kubectl get pods` that is most of the
 *  server's CPU. Here:
 *    - the column definitions are api_table's own, written once per kind
 *      (api_table of no objects, kept as text; the daemon is one thread);
 *    - cells are ctl_cells', as api_table's, escaped on the way out;
 *    - includeObject=Metadata (kubectl's default) writes
 *      PartialObjectMetadata straight from Hs__ObjectMeta, in the order and
 *      shape api_obj_meta_tree gives (hs_pb_to_tree's field order, omitted
 *      zeros, RFC 3339 times, resourceVersion a string, OwnerReference's
 *      always-written fields appended last as api_json's s_out does);
 *    - includeObject=Object falls back to api_obj_tree per row.
 *  Strings are escaped as hs_pbjson's JSON writer does, byte for byte:
 *  runs of plain ASCII are copied at once, the rest goes through the same
 *  UTF-8 check (invalid bytes become \ufffd; C0/C1 controls and U+2028/9
 *  are \u escapes). tests/unit/test_api_table_write.c holds it to the tree
 *  path.
 */
#include "api.h"
#include "ctl_fmt.h"
#include "hs_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ buffer */

static void s_reserve (hs_buf_t *b, size_t len)
{
    if (b->len + len + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + len + 1) cap *= 2;
    b->data = hs_realloc (b->data, cap);
    b->cap = cap;
}

/* Appends without the NUL hs_buf_append keeps (api_table_write puts it
 * back at the end). */
static inline void s_put (hs_buf_t *b, const void *p, size_t len)
{
    s_reserve (b, len);
    memcpy (b->data + b->len, p, len);
    b->len += len;
}

#define S_LIT(b, lit) s_put ((b), (lit), sizeof (lit) - 1)

static inline void s_putc (hs_buf_t *b, char c)
{
    s_reserve (b, 1);
    b->data[b->len++] = c;
}

static void s_puts (hs_buf_t *b, const char *s)
{
    s_put (b, s, strlen (s));
}

/* ------------------------------------------------------------ strings */

/* Bytes copied as they are: printable ASCII but '"' and '\\'. */
static bool s_plain[256];
static bool s_plain_ready;

static void s_plain_init (void)
{
    if (s_plain_ready) return;
    for (int c = 0x20; c < 0x7f; c++) s_plain[c] = c != '"' && c != '\\';
    s_plain_ready = true;
}

/* Length of the valid UTF-8 sequence at s (2..4) with *ret_cp, or 0:
 * hs_pbjson.c's s_utf8_len for bytes >= 0x80. */
static size_t s_utf8_len (const unsigned char *s, uint32_t *ret_cp)
{
    unsigned char c = s[0];
    uint32_t cp;
    size_t n;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    *ret_cp = cp;
    return n;
}

/* A JSON string as hs_pbjson's s_json_string writes it. blank: tabs and
 * line breaks become spaces first (api_table's cells). */
static void s_str_ex (hs_buf_t *b, const char *s, bool blank)
{
    const unsigned char *p = (const unsigned char *)hs_s (s);
    s_putc (b, '"');
    for (;;) {
        const unsigned char *run = p;
        while (s_plain[*p]) p++;
        if (p > run) s_put (b, run, (size_t)(p - run));
        unsigned char c = *p;
        if (!c) break;
        if (c < 0x80) {
            if (blank && (c == '\t' || c == '\n' || c == '\r')) c = ' ';
            switch (c) {
            case ' ': s_putc (b, ' '); break;
            case '"': S_LIT (b, "\\\""); break;
            case '\\': S_LIT (b, "\\\\"); break;
            case '\b': S_LIT (b, "\\b"); break;
            case '\f': S_LIT (b, "\\f"); break;
            case '\n': S_LIT (b, "\\n"); break;
            case '\r': S_LIT (b, "\\r"); break;
            case '\t': S_LIT (b, "\\t"); break;
            default: { /* C0 controls and DEL */
                char e[8];
                snprintf (e, sizeof e, "\\u%04x", c);
                s_put (b, e, 6);
            }
            }
            p++;
            continue;
        }
        uint32_t cp;
        size_t n = s_utf8_len (p, &cp);
        if (n == 0) {
            S_LIT (b, "\\ufffd"); /* not UTF-8: replacement character */
            p++;
            continue;
        }
        if (cp < 0xa0 || cp == 0x2028 || cp == 0x2029) {
            char e[8];
            snprintf (e, sizeof e, "\\u%04x", (unsigned)cp);
            s_put (b, e, 6);
        } else {
            s_put (b, p, n);
        }
        p += n;
    }
    s_putc (b, '"');
}

static void s_str (hs_buf_t *b, const char *s)
{
    s_str_ex (b, s, false);
}

/* ,"key": (the key plain ASCII, known here) */
static void s_key (hs_buf_t *b, bool *first, const char *key)
{
    if (!*first) s_putc (b, ',');
    *first = false;
    s_putc (b, '"');
    s_puts (b, key);
    S_LIT (b, "\":");
}

static void s_i64 (hs_buf_t *b, int64_t v)
{
    char buf[24];
    int n = snprintf (buf, sizeof buf, "%lld", (long long)v);
    s_put (b, buf, (size_t)n);
}

/* ------------------------------------------------------------ trees */

/* Strict JSON number grammar (hs_pbjson.c's s_is_json_number). */
static bool s_is_json_number (const char *s)
{
    if (*s == '-') s++;
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9') s++;
    else
        return false;
    if (*s == '.') {
        s++;
        if (!(*s >= '0' && *s <= '9')) return false;
        while (*s >= '0' && *s <= '9') s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-') s++;
        if (!(*s >= '0' && *s <= '9')) return false;
        while (*s >= '0' && *s <= '9') s++;
    }
    return !*s;
}

/* A tree as hs_tree_to_text (t, HS_FMT_JSON | HS_FMT_COMPACT) writes it
 * (hs_pbjson.c's s_json and s_json_scalar), with the faster escaping. */
static void s_tree (hs_buf_t *b, const hs_tree_t *t)
{
    if (!t || t->type == HS_TREE_NULL) {
        S_LIT (b, "null");
        return;
    }
    if (t->type == HS_TREE_MAP || t->type == HS_TREE_SEQ) {
        bool map = t->type == HS_TREE_MAP;
        s_putc (b, map ? '{' : '[');
        for (size_t i = 0; i < t->n; i++) {
            if (i) s_putc (b, ',');
            if (map) {
                s_str (b, t->keys[i]);
                s_putc (b, ':');
            }
            s_tree (b, t->items[i]);
        }
        s_putc (b, map ? '}' : ']');
        return;
    }
    const char *v = hs_s (t->scalar);
    if (!t->quoted && (s_is_json_number (v) || !strcmp (v, "true") || !strcmp (v, "false")))
        s_puts (b, v);
    else if (!t->quoted && (!strcmp (v, "True") || !strcmp (v, "TRUE")))
        S_LIT (b, "true");
    else if (!t->quoted && (!strcmp (v, "False") || !strcmp (v, "FALSE")))
        S_LIT (b, "false");
    else
        s_str (b, v);
}

/* An object as api_obj_tree gives it, written and freed at once (one small
 * tree at a time, hot in the cache); nothing when it has none. */
static bool s_object (hs_buf_t *b, const Hs__Object *o)
{
    hs_tree_t *t = api_obj_tree (o);
    if (!t) return false;
    s_tree (b, t);
    hs_tree_free (t);
    return true;
}

/* ------------------------------------------------------------ metadata */

static void s_time (hs_buf_t *b, int64_t ns)
{
    char buf[64];
    s_str (b, hs_fmt_time (ns, buf, sizeof buf));
}

/* A map<string,string> of ObjectMeta (labels, annotations): an entry per
 * message entry, in order (hs_pb_to_tree keeps duplicates too). */
static void s_string_map (hs_buf_t *b, size_t n, Hs__ObjectMeta__LabelsEntry *const *e)
{
    s_putc (b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i) s_putc (b, ',');
        s_str (b, e[i]->key);
        s_putc (b, ':');
        s_str (b, e[i]->value);
    }
    s_putc (b, '}');
}

static void s_owner_ref (hs_buf_t *b, const Hs__OwnerReference *r)
{
    bool first = true;
    s_putc (b, '{');
    /* present fields in field order, then the ones api_json always writes
     * (s_always: apiVersion, kind, name, uid) that were missing */
    const char *strs[] = {r->api_version, r->kind, r->name, r->uid};
    static const char *const keys[] = {"apiVersion", "kind", "name", "uid"};
    for (size_t i = 0; i < 4; i++)
        if (!hs_empty (strs[i])) {
            s_key (b, &first, keys[i]);
            s_str (b, strs[i]);
        }
    if (r->controller) {
        s_key (b, &first, "controller");
        S_LIT (b, "true");
    }
    if (r->block_owner_deletion) {
        s_key (b, &first, "blockOwnerDeletion");
        S_LIT (b, "true");
    }
    for (size_t i = 0; i < 4; i++)
        if (hs_empty (strs[i])) {
            s_key (b, &first, keys[i]);
            S_LIT (b, "\"\"");
        }
    s_putc (b, '}');
}

/* ObjectMeta as hs_pb_to_tree (HS_FMT_JSON) + api_json's corrections. */
static void s_meta (hs_buf_t *b, const Hs__ObjectMeta *m)
{
    if (!m) {
        S_LIT (b, "{}");
        return;
    }
    bool first = true;
    s_putc (b, '{');
    if (!hs_empty (m->name)) s_key (b, &first, "name"), s_str (b, m->name);
    if (!hs_empty (m->generate_name))
        s_key (b, &first, "generateName"), s_str (b, m->generate_name);
    if (!hs_empty (m->namespace_)) s_key (b, &first, "namespace"), s_str (b, m->namespace_);
    if (!hs_empty (m->uid)) s_key (b, &first, "uid"), s_str (b, m->uid);
    if (m->n_labels) {
        s_key (b, &first, "labels");
        s_string_map (b, m->n_labels, m->labels);
    }
    if (m->n_annotations) {
        s_key (b, &first, "annotations");
        s_string_map (b, m->n_annotations,
                      (Hs__ObjectMeta__LabelsEntry *const *)(void *)m->annotations);
    }
    if (m->resource_version) {
        s_key (b, &first, "resourceVersion");
        s_putc (b, '"');
        s_i64 (b, m->resource_version);
        s_putc (b, '"');
    }
    if (m->generation) s_key (b, &first, "generation"), s_i64 (b, m->generation);
    if (m->creation_timestamp)
        s_key (b, &first, "creationTimestamp"), s_time (b, m->creation_timestamp);
    if (m->deletion_timestamp)
        s_key (b, &first, "deletionTimestamp"), s_time (b, m->deletion_timestamp);
    if (m->deletion_grace_period_seconds) {
        s_key (b, &first, "deletionGracePeriodSeconds");
        s_i64 (b, m->deletion_grace_period_seconds->value);
    }
    if (m->n_owner_references) {
        s_key (b, &first, "ownerReferences");
        s_putc (b, '[');
        for (size_t i = 0; i < m->n_owner_references; i++) {
            if (i) s_putc (b, ',');
            if (m->owner_references[i])
                s_owner_ref (b, m->owner_references[i]);
            else
                S_LIT (b, "null");
        }
        s_putc (b, ']');
    }
    if (m->n_finalizers) {
        s_key (b, &first, "finalizers");
        s_putc (b, '[');
        for (size_t i = 0; i < m->n_finalizers; i++) {
            if (i) s_putc (b, ',');
            s_str (b, m->finalizers[i]);
        }
        s_putc (b, ']');
    }
    s_putc (b, '}');
}

/* ------------------------------------------------------------ header */

/* Per kind, from api_table of no objects: the column definitions as text
 * and which columns are integers. Made once (the schema is fixed). */
typedef struct {
    bool ready;
    char *defs; /* "[{...},...]" */
    size_t n;   /* columns */
    bool integer[CTL_MAX_COLS];
} s_head_t;

static s_head_t s_heads[HS_KIND__COUNT];

static void s_head_make (hs_kind_t kind, s_head_t *h)
{
    hs_tree_t *t = api_table (kind, NULL, 0, API_INCLUDE_NONE, 0, 0);
    const hs_tree_t *defs = hs_tree_get (t, "columnDefinitions");
    h->defs = hs_tree_to_text (defs, HS_FMT_JSON | HS_FMT_COMPACT);
    h->n = defs && defs->type == HS_TREE_SEQ ? defs->n : 0;
    if (h->n > CTL_MAX_COLS) h->n = CTL_MAX_COLS; /* ctl_columns' bound */
    for (size_t i = 0; i < h->n; i++) {
        const hs_tree_t *type = hs_tree_get (defs->items[i], "type");
        h->integer[i] = type && type->scalar && !strcmp (type->scalar, "integer");
    }
    hs_tree_free (t);
    h->ready = true;
}

/* ------------------------------------------------------------ rows */

/* Whether s is a decimal integer as JSON writes one (api_table's s_is_int). */
static bool s_is_int (const char *s)
{
    if (*s == '-') s++;
    if (*s < '0' || *s > '9') return false;
    if (*s == '0' && s[1]) return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return false;
    return true;
}

static void s_row (hs_buf_t *b, const Hs__Object *o, const s_head_t *h, api_include_t inc,
                   int64_t now_ns)
{
    char *cells[CTL_MAX_COLS + 2] = {0};
    size_t nc = ctl_cells (o, true, now_ns, cells);
    S_LIT (b, "{\"cells\":[");
    for (size_t i = 0; i < h->n; i++) {
        if (i) s_putc (b, ',');
        const char *c = i < nc && cells[i] ? cells[i] : "";
        if (h->integer[i] && s_is_int (c))
            s_puts (b, c);
        else
            s_str_ex (b, c, true);
    }
    s_putc (b, ']');
    for (size_t i = 0; i < nc; i++) free (cells[i]);
    switch (inc) {
    case API_INCLUDE_NONE: break;
    case API_INCLUDE_METADATA:
        S_LIT (b, ",\"object\":{\"kind\":\"PartialObjectMetadata\","
                  "\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":");
        s_meta (b, hs_obj_meta (o));
        s_putc (b, '}');
        break;
    case API_INCLUDE_OBJECT: {
        size_t mark = b->len;
        S_LIT (b, ",\"object\":");
        if (!s_object (b, o)) b->len = mark; /* no object: no key */
        break;
    }
    }
    s_putc (b, '}');
}

void api_table_write (hs_buf_t *b, hs_kind_t kind, const Hs__Object *const *objs, size_t n,
                      api_include_t inc, int64_t rv, int64_t now_ns)
{
    s_plain_init ();
    /* a kind of the table is made once; any other (none should come) each time */
    s_head_t other = {0};
    s_head_t *h = (unsigned)kind < HS_KIND__COUNT ? &s_heads[kind] : &other;
    if (!h->ready) s_head_make (kind, h);
    S_LIT (b, "{\"kind\":\"Table\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":");
    if (rv > 0) {
        S_LIT (b, "{\"resourceVersion\":\"");
        s_i64 (b, rv);
        S_LIT (b, "\"}");
    } else {
        S_LIT (b, "{}");
    }
    S_LIT (b, ",\"columnDefinitions\":");
    s_puts (b, h->defs);
    S_LIT (b, ",\"rows\":[");
    const Hs__Object **sorted = NULL;
    if (kind == HS_KIND_EVENT && n > 1) {
        /* by last timestamp, as api_table (and hsctl) */
        sorted = hs_malloc (n * sizeof (*sorted));
        memcpy (sorted, objs, n * sizeof (*sorted));
        ctl_sort_objects (sorted, n);
        objs = sorted;
    }
    for (size_t i = 0; i < n; i++) {
        if (i) s_putc (b, ',');
        s_row (b, objs[i], h, inc, now_ns);
    }
    free (sorted);
    free (other.defs);
    S_LIT (b, "]}");
    s_reserve (b, 0);
    b->data[b->len] = '\0';
}

/* ------------------------------------------------------------ lists */

void api_list_write (hs_buf_t *b, hs_kind_t kind, const Hs__Object *const *objs, size_t n,
                     int64_t rv)
{
    s_plain_init ();
    const hs_kind_info_t *info = hs_kind_info (kind);
    char *list_kind = hs_sprintf ("%sList", info ? info->kind_name : "");
    S_LIT (b, "{\"kind\":");
    s_str (b, list_kind);
    free (list_kind);
    S_LIT (b, ",\"apiVersion\":");
    s_str (b, info ? info->api_version : "v1");
    S_LIT (b, ",\"metadata\":{\"resourceVersion\":\"");
    s_i64 (b, rv);
    S_LIT (b, "\"},\"items\":[");
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        size_t mark = b->len;
        if (!first) s_putc (b, ',');
        if (s_object (b, objs[i]))
            first = false;
        else
            b->len = mark; /* api_list_tree leaves it out */
    }
    S_LIT (b, "]}");
    s_reserve (b, 0);
    b->data[b->len] = '\0';
}
