/*  hs_pbjson.c: YAML/JSON <-> protobuf by reflection over protobuf-c descriptors.
 *
 *  Three parts:
 *    1. the tree (hs_tree_t) and a libyaml event-driven parser that builds it,
 *       with limits on depth, node count, alias expansion and documents;
 *    2. tree -> message (hs_pb_from_tree), strict like Kubernetes' decoder:
 *       unknown fields, wrong shapes and quoted numbers are errors naming the
 *       field path;
 *    3. message -> tree -> text (JSON pretty/compact, YAML block style).
 *
 *  Nothing in here knows a kind: every rule is keyed on descriptor shape
 *  (map entries, Int32Value/Int64Value wrappers) or field names (*_timestamp,
 *  *_time, *_at hold nanoseconds).
 */
#include "hs_pbjson.h"
#include "hs_util.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

/* ------------------------------------------------------------------ tree */

hs_tree_t *hs_tree_new (hs_tree_type_t type)
{
    hs_tree_t *t = hs_calloc (1, sizeof *t);
    t->type = type;
    return t;
}

hs_tree_t *hs_tree_scalar (const char *text, bool quoted)
{
    hs_tree_t *t = hs_tree_new (HS_TREE_SCALAR);
    t->scalar = hs_strdup (hs_s (text));
    t->quoted = quoted;
    return t;
}

void hs_tree_free (hs_tree_t *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->n; i++) {
        if (t->keys) free (t->keys[i]);
        if (t->items) hs_tree_free (t->items[i]);
    }
    free (t->keys);
    free (t->items);
    free (t->scalar);
    free (t);
}

void hs_tree_freep (hs_tree_t **t)
{
    if (!t) return;
    hs_tree_free (*t);
    *t = NULL;
}

const hs_tree_t *hs_tree_get (const hs_tree_t *map, const char *key)
{
    if (!map || map->type != HS_TREE_MAP || !map->keys) return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp (map->keys[i], key) == 0) return map->items[i];
    return NULL;
}

void hs_tree_add (hs_tree_t *parent, const char *key, hs_tree_t *value)
{
    if (!value) value = hs_tree_new (HS_TREE_NULL);
    parent->items = hs_realloc (parent->items, (parent->n + 1) * sizeof (hs_tree_t *));
    if (parent->type == HS_TREE_MAP) {
        parent->keys = hs_realloc (parent->keys, (parent->n + 1) * sizeof (char *));
        parent->keys[parent->n] = hs_strdup (hs_s (key));
    }
    parent->items[parent->n++] = value;
}

bool hs_tree_remove (hs_tree_t *map, const char *key)
{
    if (!map || map->type != HS_TREE_MAP || !map->keys) return false;
    for (size_t i = 0; i < map->n; i++) {
        if (strcmp (map->keys[i], key) != 0) continue;
        free (map->keys[i]);
        hs_tree_free (map->items[i]);
        memmove (&map->keys[i], &map->keys[i + 1], (map->n - i - 1) * sizeof (char *));
        memmove (&map->items[i], &map->items[i + 1], (map->n - i - 1) * sizeof (hs_tree_t *));
        map->n--;
        return true;
    }
    return false;
}

void hs_trees_free (hs_tree_t **docs, size_t n)
{
    if (!docs) return;
    for (size_t i = 0; i < n; i++) hs_tree_free (docs[i]);
    free (docs);
}

/* ------------------------------------------------------------------ YAML parser */

/* YAML 1.1/1.2 core null spellings of a plain scalar. */
static bool s_is_null_text (const char *s)
{
    return !*s || !strcmp (s, "~") || !strcmp (s, "null") || !strcmp (s, "Null") ||
           !strcmp (s, "NULL");
}

/* Anchors of the current document: open addressing, name -> finished node. */
typedef struct {
    char *name;
    const hs_tree_t *node;
} s_anchor_t;

typedef struct {
    s_anchor_t *slots;
    size_t cap, n;
} s_anchors_t;

static uint64_t s_hash (const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void s_anchors_clear (s_anchors_t *a)
{
    for (size_t i = 0; i < a->cap; i++) free (a->slots[i].name);
    free (a->slots);
    *a = (s_anchors_t){0};
}

static void s_anchors_put (s_anchors_t *a, const char *name, const hs_tree_t *node);

static void s_anchors_grow (s_anchors_t *a)
{
    s_anchors_t old = *a;
    a->cap = old.cap ? old.cap * 2 : 16;
    a->slots = hs_calloc (a->cap, sizeof (s_anchor_t));
    a->n = 0;
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.slots[i].name) continue;
        s_anchors_put (a, old.slots[i].name, old.slots[i].node);
        free (old.slots[i].name);
    }
    free (old.slots);
}

/* A later anchor of the same name replaces the earlier one (YAML semantics). */
static void s_anchors_put (s_anchors_t *a, const char *name, const hs_tree_t *node)
{
    if ((a->n + 1) * 2 > a->cap) s_anchors_grow (a);
    size_t i = s_hash (name) & (a->cap - 1);
    while (a->slots[i].name && strcmp (a->slots[i].name, name) != 0) i = (i + 1) & (a->cap - 1);
    if (!a->slots[i].name) {
        a->slots[i].name = hs_strdup (name);
        a->n++;
    }
    a->slots[i].node = node;
}

static const hs_tree_t *s_anchors_get (const s_anchors_t *a, const char *name)
{
    if (!a->cap) return NULL;
    size_t i = s_hash (name) & (a->cap - 1);
    while (a->slots[i].name) {
        if (strcmp (a->slots[i].name, name) == 0) return a->slots[i].node;
        i = (i + 1) & (a->cap - 1);
    }
    return NULL;
}

/* One open collection. */
typedef struct {
    hs_tree_t *node;
    size_t cap;
    char *anchor;
    char *key; /* MAP: the key waiting for its value; NULL when a key comes next */
    int key_line, key_col;
    int *key_lines, *key_cols; /* MAP: where each key was, for duplicate errors */
} s_frame_t;

typedef struct {
    s_frame_t *stack;
    size_t depth, stack_cap;
    hs_tree_t *root;
    bool have_root;
    s_anchors_t anchors;
    size_t nodes;       /* in the current document */
    size_t alias_nodes; /* copied by alias expansion, whole parse */
    size_t total_nodes; /* whole parse */
    hs_tree_t **docs;
    size_t ndocs, docs_cap;
    bool in_doc;
    int err_line, err_col;
    char *err;
} s_parser_t;

static int s_perr (s_parser_t *p, yaml_mark_t mark, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static int s_perr (s_parser_t *p, yaml_mark_t mark, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    char *msg = NULL;
    if (vasprintf (&msg, fmt, ap) < 0) abort ();
    va_end (ap);
    free (p->err);
    p->err_line = (int)mark.line + 1;
    p->err_col = (int)mark.column + 1;
    p->err = hs_sprintf ("line %d, column %d: %s", p->err_line, p->err_col, msg);
    free (msg);
    return -EINVAL;
}

static void s_frame_release (s_frame_t *f, bool free_node)
{
    if (free_node) hs_tree_free (f->node);
    free (f->anchor);
    free (f->key);
    free (f->key_lines);
    free (f->key_cols);
    *f = (s_frame_t){0};
}

static void s_parser_reset_doc (s_parser_t *p)
{
    while (p->depth > 0) s_frame_release (&p->stack[--p->depth], true);
    hs_tree_free (p->root);
    p->root = NULL;
    p->have_root = false;
    s_anchors_clear (&p->anchors);
    p->nodes = 0;
}

static int s_count_node (s_parser_t *p, yaml_mark_t mark)
{
    if (++p->nodes > HS_YAML_MAX_NODES)
        return s_perr (p, mark, "document has more than %d nodes", HS_YAML_MAX_NODES);
    if (++p->total_nodes > HS_YAML_MAX_TOTAL_NODES)
        return s_perr (p, mark, "input has more than %d nodes", HS_YAML_MAX_TOTAL_NODES);
    return 0;
}

/* Deep copy for alias expansion; every copied node is charged to the budget
 * and the copy may not nest deeper than the limit where it lands. */
static hs_tree_t *s_tree_copy (s_parser_t *p, const hs_tree_t *src, size_t depth, int *r,
                               yaml_mark_t mark)
{
    if (*r < 0) return NULL;
    if (depth > HS_YAML_MAX_DEPTH) {
        *r = s_perr (p, mark, "alias expands deeper than %d levels", HS_YAML_MAX_DEPTH);
        return NULL;
    }
    if (++p->alias_nodes > HS_YAML_MAX_ALIAS_NODES) {
        *r = s_perr (p, mark, "aliases expand to more than %d nodes", HS_YAML_MAX_ALIAS_NODES);
        return NULL;
    }
    if ((*r = s_count_node (p, mark)) < 0) return NULL;
    hs_tree_t *t = hs_tree_new (src->type);
    t->scalar = hs_strdup (src->scalar);
    t->quoted = src->quoted;
    t->line = src->line;
    if (src->n) {
        t->items = hs_calloc (src->n, sizeof (hs_tree_t *));
        if (src->type == HS_TREE_MAP) t->keys = hs_calloc (src->n, sizeof (char *));
    }
    for (size_t i = 0; i < src->n; i++) {
        hs_tree_t *c = s_tree_copy (p, src->items[i], depth + 1, r, mark);
        if (!c) {
            t->n = i;
            hs_tree_free (t);
            return NULL;
        }
        if (t->keys) t->keys[i] = hs_strdup (src->keys[i]);
        t->items[i] = c;
        t->n = i + 1;
    }
    return t;
}

/* Hands a finished node to its parent (or makes it the document root). */
static int s_attach (s_parser_t *p, hs_tree_t *node, yaml_mark_t mark)
{
    if (p->depth == 0) {
        p->root = node;
        p->have_root = true;
        return 0;
    }
    s_frame_t *f = &p->stack[p->depth - 1];
    hs_tree_t *parent = f->node;
    if (parent->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 4;
        parent->items = hs_realloc (parent->items, f->cap * sizeof (hs_tree_t *));
        if (parent->type == HS_TREE_MAP) {
            parent->keys = hs_realloc (parent->keys, f->cap * sizeof (char *));
            f->key_lines = hs_realloc (f->key_lines, f->cap * sizeof (int));
            f->key_cols = hs_realloc (f->key_cols, f->cap * sizeof (int));
        }
    }
    if (parent->type == HS_TREE_MAP) {
        parent->keys[parent->n] = f->key;
        f->key_lines[parent->n] = f->key_line;
        f->key_cols[parent->n] = f->key_col;
        f->key = NULL;
    }
    parent->items[parent->n++] = node;
    return 0;
}

/* The next node of the top frame is a mapping key. */
static bool s_expect_key (const s_parser_t *p)
{
    return p->depth > 0 && p->stack[p->depth - 1].node->type == HS_TREE_MAP &&
           !p->stack[p->depth - 1].key;
}

static void s_json_string (hs_buf_t *b, const char *s);

/* The longest mapping key, as JSON text (quotes and escapes included): a
 * key is written back as JSON, where YAML parsers (libyaml: 1024
 * characters) refuse a longer simple key, so text we print must not hold
 * one. Kubernetes' longest keys (label and annotation keys) are 317. */
#define S_KEY_JSON_MAX 1000

static int s_take_key (s_parser_t *p, const char *text, yaml_mark_t mark)
{
    hs_buf_t j = {0};
    s_json_string (&j, text);
    size_t n = j.len;
    hs_buf_free (&j);
    if (n > S_KEY_JSON_MAX)
        return s_perr (p, mark, "mapping key is too long (%zu characters as JSON; at most %d)", n,
                       S_KEY_JSON_MAX);
    s_frame_t *f = &p->stack[p->depth - 1];
    f->key = hs_strdup (text);
    f->key_line = (int)mark.line + 1;
    f->key_col = (int)mark.column + 1;
    return 0;
}

static int s_cmp_idx_key (const void *a, const void *b, void *arg)
{
    char **keys = arg;
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    int c = strcmp (keys[ia], keys[ib]);
    if (c) return c;
    return ia < ib ? -1 : ia > ib;
}

/* Kubernetes rejects a mapping that names a key twice; so do we, pointing at
 * the second occurrence. O(n log n) so a huge mapping cannot stall us. */
static int s_check_duplicates (s_parser_t *p, s_frame_t *f)
{
    hs_tree_t *t = f->node;
    if (t->n < 2) return 0;
    size_t *idx = hs_malloc (t->n * sizeof (size_t));
    for (size_t i = 0; i < t->n; i++) idx[i] = i;
    qsort_r (idx, t->n, sizeof (size_t), s_cmp_idx_key, t->keys);
    size_t dup = SIZE_MAX;
    for (size_t i = 1; i < t->n; i++) {
        if (strcmp (t->keys[idx[i - 1]], t->keys[idx[i]]) == 0) {
            if (dup == SIZE_MAX || idx[i] < dup) dup = idx[i];
        }
    }
    free (idx);
    if (dup == SIZE_MAX) return 0;
    yaml_mark_t m = {0, (size_t)f->key_lines[dup] - 1, (size_t)f->key_cols[dup] - 1};
    return s_perr (p, m, "duplicate key \"%.100s\"", t->keys[dup]);
}

static int s_on_event (s_parser_t *p, yaml_event_t *ev)
{
    yaml_mark_t mark = ev->start_mark;
    int r;
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (p->ndocs >= HS_YAML_MAX_DOCS)
            return s_perr (p, mark, "more than %d documents", HS_YAML_MAX_DOCS);
        s_parser_reset_doc (p);
        p->in_doc = true;
        return 0;

    case YAML_DOCUMENT_END_EVENT: {
        hs_tree_t *root = p->root ? p->root : hs_tree_new (HS_TREE_NULL);
        p->root = NULL;
        if (p->ndocs == p->docs_cap) {
            p->docs_cap = p->docs_cap ? p->docs_cap * 2 : 4;
            p->docs = hs_realloc (p->docs, p->docs_cap * sizeof (hs_tree_t *));
        }
        p->docs[p->ndocs++] = root;
        s_parser_reset_doc (p);
        p->in_doc = false;
        return 0;
    }

    case YAML_SCALAR_EVENT: {
        const char *text = (const char *)ev->data.scalar.value;
        size_t len = ev->data.scalar.length;
        if ((r = s_count_node (p, mark)) < 0) return r;
        if (s_expect_key (p)) {
            _cleanup_free_ char *k = hs_strndup (text, len);
            return s_take_key (p, k, mark);
        }
        bool quoted =
            ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
            (ev->data.scalar.tag && !strcmp ((const char *)ev->data.scalar.tag, YAML_STR_TAG));
        hs_tree_t *t;
        _cleanup_free_ char *s = hs_strndup (text, len);
        if (!quoted && s_is_null_text (s)) {
            t = hs_tree_new (HS_TREE_NULL);
        } else {
            t = hs_tree_new (HS_TREE_SCALAR);
            t->scalar = TAKE_PTR (s);
            t->quoted = quoted;
        }
        t->line = (int)mark.line + 1;
        if (ev->data.scalar.anchor)
            s_anchors_put (&p->anchors, (const char *)ev->data.scalar.anchor, t);
        return s_attach (p, t, mark);
    }

    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        if (s_expect_key (p)) return s_perr (p, mark, "mapping keys must be scalars");
        if (p->depth >= HS_YAML_MAX_DEPTH)
            return s_perr (p, mark, "nesting deeper than %d levels", HS_YAML_MAX_DEPTH);
        if ((r = s_count_node (p, mark)) < 0) return r;
        if (p->depth == p->stack_cap) {
            p->stack_cap = p->stack_cap ? p->stack_cap * 2 : 16;
            p->stack = hs_realloc (p->stack, p->stack_cap * sizeof (s_frame_t));
        }
        bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
        const yaml_char_t *anchor =
            seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor;
        s_frame_t *f = &p->stack[p->depth++];
        *f = (s_frame_t){0};
        f->node = hs_tree_new (seq ? HS_TREE_SEQ : HS_TREE_MAP);
        f->node->line = (int)mark.line + 1;
        f->anchor = hs_strdup ((const char *)anchor);
        return 0;
    }

    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: {
        s_frame_t *f = &p->stack[p->depth - 1];
        if (f->node->type == HS_TREE_MAP && (r = s_check_duplicates (p, f)) < 0) return r;
        s_frame_t done = *f;
        p->depth--;
        if (done.anchor) s_anchors_put (&p->anchors, done.anchor, done.node);
        hs_tree_t *node = done.node;
        done.node = NULL;
        s_frame_release (&done, false);
        return s_attach (p, node, mark);
    }

    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)ev->data.alias.anchor;
        const hs_tree_t *src = s_anchors_get (&p->anchors, name);
        if (!src) return s_perr (p, mark, "unknown anchor \"%.100s\"", name);
        if (s_expect_key (p)) {
            if (src->type != HS_TREE_SCALAR && src->type != HS_TREE_NULL)
                return s_perr (p, mark, "mapping keys must be scalars");
            return s_take_key (p, hs_s (src->scalar), mark);
        }
        r = 0;
        hs_tree_t *copy = s_tree_copy (p, src, p->depth, &r, mark);
        if (!copy) return r;
        return s_attach (p, copy, mark);
    }

    default: return 0;
    }
}

/* libyaml reader errors carry a byte offset, not a mark. */
static yaml_mark_t s_mark_at (const char *text, size_t len, size_t offset)
{
    yaml_mark_t m = {offset, 0, 0};
    for (size_t i = 0; i < offset && i < len; i++) {
        if (text[i] == '\n') {
            m.line++;
            m.column = 0;
        } else {
            m.column++;
        }
    }
    return m;
}

int hs_yaml_parse_ex (const char *text, size_t len, hs_tree_t ***ret_docs, size_t *ret_n,
                      int *ret_err_doc, char **ret_error)
{
    yaml_parser_t yp;
    s_parser_t p = {0};
    int r = 0;

    if (!yaml_parser_initialize (&yp)) abort ();
    yaml_parser_set_input_string (&yp, (const unsigned char *)(text ? text : ""), text ? len : 0);
    yaml_parser_set_encoding (&yp, YAML_UTF8_ENCODING);

    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse (&yp, &ev)) {
            yaml_mark_t m = yp.error == YAML_READER_ERROR ? s_mark_at (text, len, yp.problem_offset)
                                                          : yp.problem_mark;
            if (yp.context)
                r = s_perr (&p, m, "%s %s", hs_s (yp.problem), yp.context);
            else
                r = s_perr (&p, m, "%s", yp.problem ? yp.problem : "invalid YAML");
            break;
        }
        yaml_event_type_t type = ev.type;
        r = s_on_event (&p, &ev);
        yaml_event_delete (&ev);
        if (r < 0 || type == YAML_STREAM_END_EVENT) break;
    }
    yaml_parser_delete (&yp);

    if (r < 0) {
        /* The document being read: a syntax error before its "---" (or its
         * first token) still belongs to the next one. Limits on the document
         * count are about the file, not a document. */
        int doc = (int)p.ndocs + 1;
        if (p.ndocs >= HS_YAML_MAX_DOCS) doc = 0;
        s_parser_reset_doc (&p);
        free (p.stack);
        hs_trees_free (p.docs, p.ndocs);
        if (ret_err_doc) *ret_err_doc = doc;
        if (ret_error)
            *ret_error = p.err;
        else
            free (p.err);
        return r;
    }
    s_parser_reset_doc (&p);
    free (p.stack);
    free (p.err);
    *ret_docs = p.docs;
    *ret_n = p.ndocs;
    return 0;
}

int hs_yaml_parse (const char *text, size_t len, hs_tree_t ***ret_docs, size_t *ret_n,
                   char **ret_error)
{
    return hs_yaml_parse_ex (text, len, ret_docs, ret_n, NULL, ret_error);
}

/* ------------------------------------------------------------------ names and shapes */

const char *hs_pb_json_name (const char *proto_name, char *buf, size_t len)
{
    static const char *const acronyms[] = {"ip", "id", "cidr", "uid"};
    size_t o = 0;
    bool first = true;
    const char *s = hs_s (proto_name);
    if (!buf || !len) return buf;
    while (*s) {
        while (*s == '_') s++;
        if (!*s) break;
        size_t w = strcspn (s, "_");
        size_t upper = 0; /* leading letters to upper-case: an acronym's */
        if (!first) {
            /* and its plural, as Kubernetes writes them: podIPs, podCIDRs */
            for (size_t a = 0; a < HS_ARRAY_LEN (acronyms); a++) {
                size_t al = strlen (acronyms[a]);
                if ((w == al || (w == al + 1 && s[al] == 's')) && !strncmp (s, acronyms[a], al))
                    upper = al;
            }
        }
        for (size_t i = 0; i < w && o + 1 < len; i++) {
            char c = s[i];
            if (i < upper || (!first && i == 0))
                c = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
            buf[o++] = c;
        }
        first = false;
        s += w;
    }
    buf[o] = '\0';
    return buf;
}

static bool s_is_wrapper (const ProtobufCMessageDescriptor *d)
{
    return d && (!strcmp (d->name, "hs.Int32Value") || !strcmp (d->name, "hs.Int64Value") ||
                 !strcmp (d->name, "hs.BoolValue"));
}

static bool s_is_map_entry (const ProtobufCFieldDescriptor *f)
{
    if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE) return false;
    const ProtobufCMessageDescriptor *d = f->descriptor;
    size_t nl = strlen (d->name);
    return nl > 5 && !strcmp (d->name + nl - 5, "Entry") && d->n_fields == 2 &&
           d->fields[0].id == 1 && !strcmp (d->fields[0].name, "key") && d->fields[1].id == 2 &&
           !strcmp (d->fields[1].name, "value") &&
           d->fields[0].label != PROTOBUF_C_LABEL_REPEATED &&
           d->fields[1].label != PROTOBUF_C_LABEL_REPEATED;
}

static bool s_ends_with (const char *s, const char *suffix)
{
    size_t ls = strlen (s), lx = strlen (suffix);
    return ls >= lx && !strcmp (s + ls - lx, suffix);
}

static bool s_is_timestamp (const ProtobufCFieldDescriptor *f)
{
    if (f->type != PROTOBUF_C_TYPE_INT64 && f->type != PROTOBUF_C_TYPE_SINT64 &&
        f->type != PROTOBUF_C_TYPE_SFIXED64)
        return false;
    /* time_added is Kubernetes' one timestamp named the other way round. */
    return s_ends_with (f->name, "_timestamp") || s_ends_with (f->name, "_time") ||
           s_ends_with (f->name, "_at") || strcmp (f->name, "time_added") == 0;
}

static size_t s_elem_size (ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_ENUM: return 4;
    case PROTOBUF_C_TYPE_FLOAT: return sizeof (float);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return 8;
    case PROTOBUF_C_TYPE_DOUBLE: return sizeof (double);
    case PROTOBUF_C_TYPE_BOOL: return sizeof (protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING: return sizeof (char *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof (ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof (void *);
    }
    return sizeof (void *);
}

/* A proto3 `optional` scalar (or a proto2 optional one) keeps a has_ flag. */
static bool s_has_flag (const ProtobufCFieldDescriptor *f)
{
    return f->label == PROTOBUF_C_LABEL_OPTIONAL && !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
           f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE;
}

#define S_FIELD(m, f, T) ((T *)((char *)(m) + (f)->offset))
#define S_QUANT(m, f, T) ((T *)((char *)(m) + (f)->quantifier_offset))

/* ------------------------------------------------------------------ base64 (bytes fields) */

static const char s_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *s_b64_encode (const uint8_t *d, size_t n)
{
    char *out = hs_malloc ((n + 2) / 3 * 4 + 1), *o = out;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) |
                     (i + 2 < n ? d[i + 2] : 0);
        *o++ = s_b64[v >> 18 & 63];
        *o++ = s_b64[v >> 12 & 63];
        *o++ = i + 1 < n ? s_b64[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? s_b64[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

static int s_b64_decode (const char *s, uint8_t **ret, size_t *ret_len)
{
    size_t n = strlen (s);
    uint8_t *out = hs_malloc (n / 4 * 3 + 3);
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '=') break;
        if (c == '\n' || c == '\r' || c == ' ') continue;
        const char *p = c ? strchr (s_b64, c) : NULL;
        if (c == '-') p = s_b64 + 62; /* URL-safe alphabet too */
        if (c == '_') p = s_b64 + 63;
        if (!p) {
            free (out);
            return -EINVAL;
        }
        acc = acc << 6 | (uint32_t)(p - s_b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    *ret = out;
    *ret_len = o;
    return 0;
}

/* ------------------------------------------------------------------ tree -> message */

typedef struct {
    char path[512];
    size_t len;
    hs_pb_error_t *err;
} s_ctx_t;

static size_t s_path_push (s_ctx_t *c, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* Appends to the path and returns the old length to restore with s_path_pop. */
static size_t s_path_push (s_ctx_t *c, const char *fmt, ...)
{
    size_t old = c->len;
    if (c->len < sizeof c->path - 1) {
        va_list ap;
        va_start (ap, fmt);
        int w = vsnprintf (c->path + c->len, sizeof c->path - c->len, fmt, ap);
        va_end (ap);
        if (w > 0) c->len += (size_t)w;
        if (c->len > sizeof c->path - 1) c->len = sizeof c->path - 1;
    }
    return old;
}

static void s_path_pop (s_ctx_t *c, size_t old)
{
    c->len = old;
    c->path[old] = '\0';
}

static size_t s_path_field (s_ctx_t *c, const char *name)
{
    return c->len ? s_path_push (c, ".%s", name) : s_path_push (c, "%s", name);
}

static int s_fail (s_ctx_t *c, const hs_tree_t *t, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static int s_fail (s_ctx_t *c, const hs_tree_t *t, const char *fmt, ...)
{
    if (c->err) {
        snprintf (c->err->path, sizeof c->err->path, "%s", c->path);
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (c->err->message, sizeof c->err->message, fmt, ap);
        va_end (ap);
        c->err->line = t ? t->line : 0;
    }
    return -EINVAL;
}

static bool s_looks_int (const char *s)
{
    if (*s == '-' || *s == '+') s++;
    if (!*s) return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return false;
    return true;
}

static bool s_looks_float (const char *s)
{
    if (!*s) return false;
    char *end;
    errno = 0;
    (void)strtod (s, &end);
    return !*end && strpbrk (s, "0123456789") && !strpbrk (s, "xXpP") &&
           !strpbrk (s, "iInN"); /* no hex floats, inf or nan spelled C's way */
}

static bool s_is_bool_text (const char *s, bool *ret)
{
    if (!strcmp (s, "true") || !strcmp (s, "True") || !strcmp (s, "TRUE")) {
        if (ret) *ret = true;
        return true;
    }
    if (!strcmp (s, "false") || !strcmp (s, "False") || !strcmp (s, "FALSE")) {
        if (ret) *ret = false;
        return true;
    }
    return false;
}

/* "a mapping", "a list", "null", `string "80"`, "integer 5", ... for errors. */
static const char *s_describe (const hs_tree_t *t, char *buf, size_t len)
{
    switch (t->type) {
    case HS_TREE_MAP: return "a mapping";
    case HS_TREE_SEQ: return "a list";
    case HS_TREE_NULL: return "null";
    case HS_TREE_SCALAR: break;
    }
    const char *s = hs_s (t->scalar);
    size_t sl = strlen (s);
    const char *dots = sl > 60 ? "..." : "";
    int w = sl > 60 ? 60 : (int)sl;
    if (t->quoted)
        snprintf (buf, len, "string \"%.*s%s\"", w, s, dots);
    else if (s_is_bool_text (s, NULL))
        snprintf (buf, len, "boolean %s", s);
    else if (s_looks_int (s))
        snprintf (buf, len, "integer %.*s%s", w, s, dots);
    else if (s_looks_float (s))
        snprintf (buf, len, "number %.*s%s", w, s, dots);
    else
        snprintf (buf, len, "string \"%.*s%s\"", w, s, dots);
    return buf;
}

static int s_expected (s_ctx_t *c, const hs_tree_t *t, const char *what)
{
    char d[128];
    return s_fail (c, t, "expected %s, got %s", what, s_describe (t, d, sizeof d));
}

/* YAML 1.1's octal integers, as Kubernetes reads manifests (go-yaml v2 under
 * sigs.k8s.io/yaml): a plain scalar of a 0 and more octal digits, such as
 * a volume's `defaultMode: 0400`, is 256. Anything else with a leading zero
 * ("09") stays decimal, as it does there (it reads as a float 9). 0 with
 * *ret, -ERANGE, or -EINVAL when s is not such a scalar. */
static int s_parse_octal (const char *s, int64_t *ret)
{
    bool neg = *s == '-';
    if (*s == '-' || *s == '+') s++;
    if (s[0] != '0' || !s[1]) return -EINVAL;
    for (const char *q = s + 1; *q; q++)
        if (*q < '0' || *q > '7') return -EINVAL;
    errno = 0;
    long long v = strtoll (s, NULL, 8);
    if (errno == ERANGE) return -ERANGE;
    *ret = neg ? -v : v;
    return 0;
}

/* A plain (unquoted) integer scalar within [min, max]. */
static int s_parse_int (s_ctx_t *c, const hs_tree_t *t, const char *type_name, int64_t min,
                        int64_t max, int64_t *ret)
{
    if (t->type != HS_TREE_SCALAR || t->quoted || !s_looks_int (t->scalar))
        return s_expected (c, t, "an integer");
    int64_t v;
    int r = s_parse_octal (t->scalar, &v);
    if (r == -EINVAL) r = hs_parse_i64 (t->scalar, &v);
    if (r == -ERANGE || (r == 0 && (v < min || v > max)))
        return s_fail (c, t, "%.60s is out of range for %s", t->scalar, type_name);
    if (r < 0) return s_expected (c, t, "an integer");
    *ret = v;
    return 0;
}

static int s_parse_uint (s_ctx_t *c, const hs_tree_t *t, const char *type_name, uint64_t max,
                         uint64_t *ret)
{
    if (t->type != HS_TREE_SCALAR || t->quoted || !s_looks_int (t->scalar))
        return s_expected (c, t, "an integer");
    const char *s = t->scalar;
    if (*s == '+') s++;
    if (*s == '-') {
        /* "-0" is zero; anything else negative is out of range */
        bool zero = true;
        for (const char *q = s + 1; *q; q++)
            if (*q != '0') zero = false;
        if (!zero) return s_fail (c, t, "%.60s is out of range for %s", t->scalar, type_name);
        *ret = 0;
        return 0;
    }
    int64_t oct;
    int r = s_parse_octal (s, &oct);
    if (r == 0 && (uint64_t)oct <= max) {
        *ret = (uint64_t)oct;
        return 0;
    }
    if (r == 0 || r == -ERANGE)
        return s_fail (c, t, "%.60s is out of range for %s", t->scalar, type_name);
    errno = 0;
    char *end;
    unsigned long long v = strtoull (s, &end, 10);
    if (errno == ERANGE || v > max)
        return s_fail (c, t, "%.60s is out of range for %s", t->scalar, type_name);
    if (*end) return s_expected (c, t, "an integer");
    *ret = v;
    return 0;
}

static int s_parse_message (s_ctx_t *c, const ProtobufCMessageDescriptor *d, const hs_tree_t *t,
                            ProtobufCMessage **ret);

/* One value (a singular field or one element of a repeated one) into slot.
 * elem: slot is an array element (repeated strings must be heap, even ""). */
static int s_parse_value (s_ctx_t *c, const ProtobufCFieldDescriptor *f, const hs_tree_t *t,
                          void *slot, bool elem)
{
    char d[128];
    int64_t i64;
    uint64_t u64;
    int r;

    if (t->type == HS_TREE_NULL) {
        /* A null list element is the zero value, as Go's decoder does. */
        switch (f->type) {
        case PROTOBUF_C_TYPE_STRING:
            if (elem)
                *(char **)slot = hs_strdup ("");
            else
                hs_pb_set_str ((char **)slot, NULL);
            return 0;
        case PROTOBUF_C_TYPE_MESSAGE:
            *(ProtobufCMessage **)slot = hs_pb_new (f->descriptor);
            return 0;
        default: return 0;
        }
    }

    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if ((r = s_parse_int (c, t, "int32", INT32_MIN, INT32_MAX, &i64)) < 0) return r;
        *(int32_t *)slot = (int32_t)i64;
        return 0;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if ((r = s_parse_uint (c, t, "uint32", UINT32_MAX, &u64)) < 0) return r;
        *(uint32_t *)slot = (uint32_t)u64;
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if (s_is_timestamp (f) && t->type == HS_TREE_SCALAR &&
            (t->quoted || !s_looks_int (t->scalar))) {
            if (hs_parse_time (t->scalar, &i64) < 0)
                return s_fail (c, t, "expected an RFC 3339 time or nanoseconds, got %s",
                               s_describe (t, d, sizeof d));
            *(int64_t *)slot = i64;
            return 0;
        }
        if ((r = s_parse_int (c, t, "int64", INT64_MIN, INT64_MAX, &i64)) < 0) return r;
        *(int64_t *)slot = i64;
        return 0;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if ((r = s_parse_uint (c, t, "uint64", UINT64_MAX, &u64)) < 0) return r;
        *(uint64_t *)slot = u64;
        return 0;
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE: {
        if (t->type != HS_TREE_SCALAR || t->quoted ||
            (!s_looks_float (t->scalar) && !s_looks_int (t->scalar)))
            return s_expected (c, t, "a number");
        double v = strtod (t->scalar, NULL);
        if (f->type == PROTOBUF_C_TYPE_FLOAT)
            *(float *)slot = (float)v;
        else
            *(double *)slot = v;
        return 0;
    }
    case PROTOBUF_C_TYPE_BOOL: {
        bool b;
        if (t->type != HS_TREE_SCALAR || t->quoted || !s_is_bool_text (t->scalar, &b))
            return s_expected (c, t, "a boolean");
        *(protobuf_c_boolean *)slot = b;
        return 0;
    }
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *ed = f->descriptor;
        if (t->type != HS_TREE_SCALAR) return s_expected (c, t, "a string");
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name (ed, t->scalar);
        if (!v && !t->quoted && s_looks_int (t->scalar) && hs_parse_i64 (t->scalar, &i64) == 0 &&
            i64 >= INT32_MIN && i64 <= INT32_MAX)
            v = protobuf_c_enum_descriptor_get_value (ed, (int)i64);
        if (!v) {
            char names[384] = "";
            size_t o = 0;
            for (unsigned i = 0; i < ed->n_values && o < sizeof names - 1; i++) {
                int w = snprintf (names + o, sizeof names - o, "%s%s", i ? ", " : "",
                                  ed->values[i].name);
                if (w > 0) o += (size_t)w;
            }
            return s_fail (c, t, "unknown value \"%.60s\", expected one of %s", t->scalar, names);
        }
        *(int *)slot = v->value;
        return 0;
    }
    case PROTOBUF_C_TYPE_STRING:
        if (t->type != HS_TREE_SCALAR) return s_expected (c, t, "a string");
        if (elem)
            *(char **)slot = hs_strdup (t->scalar);
        else
            hs_pb_set_str ((char **)slot, t->scalar);
        return 0;
    case PROTOBUF_C_TYPE_BYTES: {
        if (t->type != HS_TREE_SCALAR) return s_expected (c, t, "a base64 string");
        ProtobufCBinaryData *b = slot;
        uint8_t *data;
        size_t n;
        /* never echoed: bytes are a Secret's data */
        if (s_b64_decode (t->scalar, &data, &n) < 0)
            return s_fail (c, t,
                           "expected a base64 string, got %zu characters that are not "
                           "(the value is not shown: it may be a secret)",
                           strlen (hs_s (t->scalar)));
        if (b->data &&
            (!f->default_value || ((const ProtobufCBinaryData *)f->default_value)->data != b->data))
            free (b->data);
        b->data = data;
        b->len = n;
        return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessageDescriptor *md = f->descriptor;
        ProtobufCMessage *m = NULL;
        if (s_is_wrapper (md)) {
            m = hs_pb_new (md);
            r = s_parse_value (c, &md->fields[0], t, S_FIELD (m, &md->fields[0], void), false);
        } else {
            r = s_parse_message (c, md, t, &m);
        }
        if (r < 0) {
            hs_pb_free (m);
            return r;
        }
        ProtobufCMessage **pm = slot;
        hs_pb_free (*pm);
        *pm = m;
        return 0;
    }
    }
    return s_fail (c, t, "unsupported field type");
}

static int s_parse_map (s_ctx_t *c, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                        const hs_tree_t *t)
{
    if (t->type != HS_TREE_MAP) return s_expected (c, t, "a mapping");
    const ProtobufCMessageDescriptor *ed = f->descriptor;
    size_t *n = S_QUANT (m, f, size_t);
    ProtobufCMessage ***arr = S_FIELD (m, f, ProtobufCMessage **);
    if (!t->n) return 0;
    *arr = hs_calloc (t->n, sizeof (ProtobufCMessage *));
    *n = 0;
    for (size_t i = 0; i < t->n; i++) {
        ProtobufCMessage *e = hs_pb_new (ed);
        (*arr)[(*n)++] = e;
        size_t old = s_path_push (c, "[%s]", t->keys[i]);
        hs_tree_t key = {.type = HS_TREE_SCALAR,
                         .scalar = t->keys[i],
                         .quoted = true,
                         .line = t->items[i]->line};
        int r = s_parse_value (c, &ed->fields[0], &key, S_FIELD (e, &ed->fields[0], void), false);
        if (r == 0)
            r = s_parse_value (c, &ed->fields[1], t->items[i], S_FIELD (e, &ed->fields[1], void),
                               false);
        if (r < 0) return r;
        s_path_pop (c, old);
    }
    return 0;
}

static int s_parse_repeated (s_ctx_t *c, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                             const hs_tree_t *t)
{
    if (t->type != HS_TREE_SEQ) return s_expected (c, t, "a list");
    size_t *n = S_QUANT (m, f, size_t);
    void **arr = S_FIELD (m, f, void *);
    if (!t->n) return 0;
    size_t es = s_elem_size (f->type);
    *arr = hs_calloc (t->n, es);
    *n = 0;
    for (size_t i = 0; i < t->n; i++) {
        size_t old = s_path_push (c, "[%zu]", i);
        int r = s_parse_value (c, f, t->items[i], (char *)*arr + i * es, true);
        /* Count strings and messages even on failure: they may hold memory. */
        if (r == 0 || f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE ||
            f->type == PROTOBUF_C_TYPE_BYTES)
            (*n)++;
        if (r < 0) return r;
        s_path_pop (c, old);
    }
    return 0;
}

static const ProtobufCFieldDescriptor *s_find_field (const ProtobufCMessageDescriptor *d,
                                                     const char *key)
{
    char name[128];
    for (unsigned i = 0; i < d->n_fields; i++)
        if (!strcmp (hs_pb_json_name (d->fields[i].name, name, sizeof name), key))
            return &d->fields[i];
    return NULL;
}

static int s_parse_field (s_ctx_t *c, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                          const hs_tree_t *t)
{
    if (t->type == HS_TREE_NULL) return 0; /* null means absent */
    if (s_is_map_entry (f)) return s_parse_map (c, m, f, t);
    if (f->label == PROTOBUF_C_LABEL_REPEATED) return s_parse_repeated (c, m, f, t);

    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t *kase = S_QUANT (m, f, uint32_t);
        if (*kase && *kase != f->id) {
            const ProtobufCFieldDescriptor *other =
                protobuf_c_message_descriptor_get_field (m->descriptor, *kase);
            char a[128], b[128];
            return s_fail (c, t, "\"%s\" and \"%s\" cannot both be set",
                           hs_pb_json_name (other ? other->name : "?", b, sizeof b),
                           hs_pb_json_name (f->name, a, sizeof a));
        }
        int r = s_parse_value (c, f, t, S_FIELD (m, f, void), false);
        /* The slot is a union: mark it ours even on failure so the message
         * frees what was put there. */
        if (r == 0 || f->type == PROTOBUF_C_TYPE_MESSAGE || f->type == PROTOBUF_C_TYPE_STRING ||
            f->type == PROTOBUF_C_TYPE_BYTES)
            *kase = f->id;
        return r;
    }
    int r = s_parse_value (c, f, t, S_FIELD (m, f, void), false);
    if (r == 0 && s_has_flag (f)) *S_QUANT (m, f, protobuf_c_boolean) = 1;
    return r;
}

static int s_parse_message (s_ctx_t *c, const ProtobufCMessageDescriptor *d, const hs_tree_t *t,
                            ProtobufCMessage **ret)
{
    if (t->type != HS_TREE_MAP) return s_expected (c, t, "a mapping");
    ProtobufCMessage *m = hs_pb_new (d);
    _cleanup_free_ bool *seen = hs_calloc (d->n_fields ? d->n_fields : 1, sizeof (bool));
    for (size_t i = 0; i < t->n; i++) {
        const char *key = t->keys ? t->keys[i] : "";
        size_t old = s_path_field (c, key);
        const ProtobufCFieldDescriptor *f = s_find_field (d, key);
        int r = 0;
        if (!f)
            r = s_fail (c, t->items[i], "unknown field \"%.100s\"", key);
        else if (seen[f - d->fields])
            r = s_fail (c, t->items[i], "duplicate field \"%.100s\"", key);
        else {
            seen[f - d->fields] = true;
            r = s_parse_field (c, m, f, t->items[i]);
        }
        if (r < 0) {
            hs_pb_free (m);
            return r;
        }
        s_path_pop (c, old);
    }
    *ret = m;
    return 0;
}

int hs_pb_from_tree (const ProtobufCMessageDescriptor *d, const hs_tree_t *t,
                     const char *path_prefix, ProtobufCMessage **ret, hs_pb_error_t *err)
{
    s_ctx_t c = {.err = err};
    s_path_push (&c, "%s", hs_s (path_prefix));
    hs_tree_t null_tree = {.type = HS_TREE_NULL};
    if (!t || t->type == HS_TREE_NULL) t = &null_tree;
    if (t->type == HS_TREE_NULL) {
        /* An absent document body is an empty message. */
        *ret = hs_pb_new (d);
        return 0;
    }
    ProtobufCMessage *m = NULL;
    int r = s_parse_message (&c, d, t, &m);
    if (r < 0) return r;
    *ret = m;
    return 0;
}

/* ------------------------------------------------------------------ message -> tree */

static hs_tree_t *s_msg_to_tree (const ProtobufCMessage *m, int flags);

static hs_tree_t *s_num (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

static hs_tree_t *s_num (const char *fmt, ...)
{
    char buf[64];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (buf, sizeof buf, fmt, ap);
    va_end (ap);
    return hs_tree_scalar (buf, false);
}

static hs_tree_t *s_value_to_tree (const ProtobufCFieldDescriptor *f, const void *slot, int flags)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: return s_num ("%" PRId32, *(const int32_t *)slot);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: return s_num ("%" PRIu32, *(const uint32_t *)slot);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: {
        int64_t v = *(const int64_t *)slot;
        if (s_is_timestamp (f) && !(flags & HS_FMT_RAW)) {
            if (v == 0) return hs_tree_new (HS_TREE_NULL); /* kubectl: creationTimestamp: null */
            char buf[64];
            return hs_tree_scalar (hs_fmt_time (v, buf, sizeof buf), true);
        }
        return s_num ("%" PRId64, v);
    }
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return s_num ("%" PRIu64, *(const uint64_t *)slot);
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE: {
        double v = f->type == PROTOBUF_C_TYPE_FLOAT ? *(const float *)slot : *(const double *)slot;
        if (isnan (v)) return hs_tree_scalar ("NaN", true);
        if (isinf (v)) return hs_tree_scalar (v > 0 ? "Infinity" : "-Infinity", true);
        char buf[64];
        snprintf (buf, sizeof buf, "%.15g", v);
        if (strtod (buf, NULL) != v) snprintf (buf, sizeof buf, "%.17g", v);
        return hs_tree_scalar (buf, false);
    }
    case PROTOBUF_C_TYPE_BOOL:
        return hs_tree_scalar (*(const protobuf_c_boolean *)slot ? "true" : "false", false);
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)slot;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value (f->descriptor, v);
        return ev ? hs_tree_scalar (ev->name, true) : s_num ("%d", v);
    }
    case PROTOBUF_C_TYPE_STRING: return hs_tree_scalar (*(char *const *)slot, true);
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = slot;
        char *s = s_b64_encode (b->data, b->len);
        hs_tree_t *t = hs_tree_scalar (s, true);
        free (s);
        return t;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)slot;
        if (!sub) return hs_tree_new (HS_TREE_NULL);
        if (s_is_wrapper (sub->descriptor)) {
            const ProtobufCFieldDescriptor *vf = &sub->descriptor->fields[0];
            return s_value_to_tree (vf, (const char *)sub + vf->offset, flags);
        }
        return s_msg_to_tree (sub, flags);
    }
    }
    return hs_tree_new (HS_TREE_NULL);
}

/* Is the singular field set (Kubernetes' omitempty)? */
static bool s_field_present (const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    const void *slot = (const char *)m + f->offset;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *)((const char *)m + f->quantifier_offset) == f->id;
    if (s_has_flag (f))
        return *(const protobuf_c_boolean *)((const char *)m + f->quantifier_offset);
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_ENUM: return *(const uint32_t *)slot != 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return *(const uint64_t *)slot != 0;
    case PROTOBUF_C_TYPE_FLOAT: return *(const float *)slot != 0;
    case PROTOBUF_C_TYPE_DOUBLE: return *(const double *)slot != 0;
    case PROTOBUF_C_TYPE_BOOL: return *(const protobuf_c_boolean *)slot != 0;
    case PROTOBUF_C_TYPE_STRING: return !hs_empty (*(char *const *)slot);
    case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)slot)->len > 0;
    case PROTOBUF_C_TYPE_MESSAGE: return *(void *const *)slot != NULL;
    }
    return false;
}

static hs_tree_t *s_msg_to_tree (const ProtobufCMessage *m, int flags)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    hs_tree_t *t = hs_tree_new (HS_TREE_MAP);
    bool defaults = flags & HS_FMT_DEFAULTS;
    char name[128];
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        hs_pb_json_name (f->name, name, sizeof name);
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
            const char *arr = *(char *const *)((const char *)m + f->offset);
            if (!n && !defaults) continue;
            if (s_is_map_entry (f)) {
                hs_tree_t *map = hs_tree_new (HS_TREE_MAP);
                const ProtobufCMessageDescriptor *ed = f->descriptor;
                for (size_t j = 0; j < n; j++) {
                    const ProtobufCMessage *e = ((ProtobufCMessage *const *)arr)[j];
                    hs_tree_t *k = s_value_to_tree (&ed->fields[0],
                                                    (const char *)e + ed->fields[0].offset, flags);
                    hs_tree_add (map, hs_s (k->scalar),
                                 s_value_to_tree (&ed->fields[1],
                                                  (const char *)e + ed->fields[1].offset, flags));
                    hs_tree_free (k);
                }
                hs_tree_add (t, name, map);
                continue;
            }
            hs_tree_t *seq = hs_tree_new (HS_TREE_SEQ);
            size_t es = s_elem_size (f->type);
            for (size_t j = 0; j < n; j++)
                hs_tree_add (seq, NULL, s_value_to_tree (f, arr + j * es, flags));
            hs_tree_add (t, name, seq);
            continue;
        }
        bool oneof = f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF;
        bool present = s_field_present (m, f);
        if (!present && (oneof || !defaults)) continue;
        hs_tree_add (t, name, s_value_to_tree (f, (const char *)m + f->offset, flags));
    }
    return t;
}

hs_tree_t *hs_pb_to_tree (const ProtobufCMessage *m, int flags)
{
    if (!m) return hs_tree_new (HS_TREE_NULL);
    return s_msg_to_tree (m, flags);
}

/* ------------------------------------------------------------------ tree -> text */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t s_utf8_len (const unsigned char *s, uint32_t *ret_cp)
{
    unsigned char c = s[0];
    uint32_t cp;
    size_t n;
    if (c < 0x80) {
        *ret_cp = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
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

static void s_json_string (hs_buf_t *b, const char *s)
{
    hs_buf_puts (b, "\"");
    const unsigned char *p = (const unsigned char *)hs_s (s);
    while (*p) {
        uint32_t cp;
        size_t n = s_utf8_len (p, &cp);
        if (n == 0) {
            hs_buf_puts (b, "\\ufffd"); /* not UTF-8: replacement character */
            p++;
            continue;
        }
        switch (cp) {
        case '"': hs_buf_puts (b, "\\\""); break;
        case '\\': hs_buf_puts (b, "\\\\"); break;
        case '\b': hs_buf_puts (b, "\\b"); break;
        case '\f': hs_buf_puts (b, "\\f"); break;
        case '\n': hs_buf_puts (b, "\\n"); break;
        case '\r': hs_buf_puts (b, "\\r"); break;
        case '\t': hs_buf_puts (b, "\\t"); break;
        default:
            /* C0/C1 controls and the YAML 1.1 line breaks (JSON text is
             * also read by YAML parsers, which would fold them) */
            if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0x2028 || cp == 0x2029)
                hs_buf_printf (b, "\\u%04x", cp);
            else
                hs_buf_append (b, p, n);
        }
        p += n;
    }
    hs_buf_puts (b, "\"");
}

/* Strict JSON number grammar. */
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

static void s_json_scalar (hs_buf_t *b, const hs_tree_t *t)
{
    if (t->type == HS_TREE_NULL) {
        hs_buf_puts (b, "null");
        return;
    }
    const char *s = hs_s (t->scalar);
    if (!t->quoted && (s_is_json_number (s) || !strcmp (s, "true") || !strcmp (s, "false")))
        hs_buf_puts (b, s);
    else if (!t->quoted && (!strcmp (s, "True") || !strcmp (s, "TRUE")))
        hs_buf_puts (b, "true");
    else if (!t->quoted && (!strcmp (s, "False") || !strcmp (s, "FALSE")))
        hs_buf_puts (b, "false");
    else
        s_json_string (b, s);
}

static void s_indent (hs_buf_t *b, size_t n)
{
    static const char spaces[] = "                                ";
    while (n > 0) {
        size_t k = n < sizeof spaces - 1 ? n : sizeof spaces - 1;
        hs_buf_append (b, spaces, k);
        n -= k;
    }
}

static void s_json (hs_buf_t *b, const hs_tree_t *t, size_t level, bool compact)
{
    if (t->type != HS_TREE_MAP && t->type != HS_TREE_SEQ) {
        s_json_scalar (b, t);
        return;
    }
    bool map = t->type == HS_TREE_MAP;
    if (!t->n) {
        hs_buf_puts (b, map ? "{}" : "[]");
        return;
    }
    hs_buf_puts (b, map ? "{" : "[");
    for (size_t i = 0; i < t->n; i++) {
        if (i) hs_buf_puts (b, ",");
        if (!compact) {
            hs_buf_puts (b, "\n");
            s_indent (b, (level + 1) * 4);
        }
        if (map) {
            s_json_string (b, t->keys[i]);
            hs_buf_puts (b, compact ? ":" : ": ");
        }
        s_json (b, t->items[i], level + 1, compact);
    }
    if (!compact) {
        hs_buf_puts (b, "\n");
        s_indent (b, level * 4);
    }
    hs_buf_puts (b, map ? "}" : "]");
}

/* Would a plain scalar with this text be read back as something other than
 * a string (null, bool, number, timestamp) by a YAML 1.1 or 1.2 parser? */
static bool s_yaml_typed (const char *s)
{
    static const char *const words[] = {
        "~",     "null",  "Null",  "NULL",  "y",     "Y",    "yes",  "Yes",   "YES",   "n",
        "N",     "no",    "No",    "NO",    "true",  "True", "TRUE", "false", "False", "FALSE",
        "on",    "On",    "ON",    "off",   "Off",   "OFF",  ".inf", ".Inf",  ".INF",  "-.inf",
        "-.Inf", "-.INF", "+.inf", "+.Inf", "+.INF", ".nan", ".NaN", ".NAN",  "<<",    "="};
    for (size_t i = 0; i < HS_ARRAY_LEN (words); i++)
        if (!strcmp (s, words[i])) return true;
    const char *p = s;
    if (*p == '-' || *p == '+') p++;
    size_t pl = strlen (p);
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && pl > 2 &&
        strspn (p + 2, "0123456789abcdefABCDEF_") == pl - 2)
        return true; /* hex */
    if (p[0] == '0' && (p[1] == 'o' || p[1] == 'b') && pl > 2 &&
        strspn (p + 2, "01234567_") == pl - 2)
        return true; /* octal, binary */
    if ((*p >= '0' && *p <= '9') || (*p == '.' && p[1] >= '0' && p[1] <= '9')) {
        /* decimal, float, exponent, 1.1's sexagesimal 1:30; "10.0.0.1" is text */
        const char *dot = strchr (p, '.');
        if (strspn (p, "0123456789_.eE+-:") == pl && (!dot || !strchr (dot + 1, '.'))) return true;
    }
    /* timestamps: YYYY-M[M]-D[D]... */
    if (strlen (s) >= 8 && strspn (s, "0123456789") == 4 && s[4] == '-') return true;
    return false;
}

/* Must this text be quoted to survive as a YAML plain scalar in block context? */
static bool s_yaml_needs_quotes (const char *s, bool is_string)
{
    if (!*s) return true;
    if (is_string && s_yaml_typed (s)) return true;
    unsigned char c0 = (unsigned char)s[0];
    if (strchr ("?:,[]{}#&*!|>'\"%@`", c0)) return true;
    if (c0 == '-' && (s[1] == '\0' || s[1] == ' ' || s[1] == '\t')) return true;
    if (!strncmp (s, "---", 3) || !strncmp (s, "...", 3)) return true;
    size_t len = strlen (s);
    if (s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' || s[len - 1] == '\t') return true;
    if (s[len - 1] == ':') return true;
    if (strstr (s, ": ") || strstr (s, " #") || strstr (s, ":\t") || strstr (s, "\t#")) return true;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp;
        size_t n = s_utf8_len (p, &cp);
        if (n == 0) return true;
        if (cp < 0x20 || cp == 0x7f || cp == 0x85 || cp == 0x2028 || cp == 0x2029 || cp == 0xfeff ||
            (cp >= 0x80 && cp < 0xa0))
            return true;
        p += n;
    }
    return false;
}

static void s_yaml_quoted (hs_buf_t *b, const char *s)
{
    hs_buf_puts (b, "\"");
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp;
        size_t n = s_utf8_len (p, &cp);
        if (n == 0) {
            hs_buf_puts (b, "\\ufffd");
            p++;
            continue;
        }
        switch (cp) {
        case '"': hs_buf_puts (b, "\\\""); break;
        case '\\': hs_buf_puts (b, "\\\\"); break;
        case '\n': hs_buf_puts (b, "\\n"); break;
        case '\t': hs_buf_puts (b, "\\t"); break;
        case '\r': hs_buf_puts (b, "\\r"); break;
        default:
            if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
                hs_buf_printf (b, "\\x%02x", cp);
            else if (cp == 0x2028 || cp == 0x2029 || cp == 0xfeff)
                hs_buf_printf (b, "\\u%04x", cp);
            else
                hs_buf_append (b, p, n);
        }
        p += n;
    }
    hs_buf_puts (b, "\"");
}

static void s_yaml_scalar (hs_buf_t *b, const hs_tree_t *t)
{
    if (t->type == HS_TREE_NULL) {
        hs_buf_puts (b, "null");
        return;
    }
    const char *s = hs_s (t->scalar);
    if (s_yaml_needs_quotes (s, t->quoted))
        s_yaml_quoted (b, s);
    else
        hs_buf_puts (b, s);
}

static bool s_yaml_is_block (const hs_tree_t *t)
{
    return (t->type == HS_TREE_MAP || t->type == HS_TREE_SEQ) && t->n > 0;
}

static void s_yaml_inline (hs_buf_t *b, const hs_tree_t *t)
{
    if (t->type == HS_TREE_MAP)
        hs_buf_puts (b, "{}");
    else if (t->type == HS_TREE_SEQ)
        hs_buf_puts (b, "[]");
    else
        s_yaml_scalar (b, t);
}

/* The longest key written "key: value" (libyaml refuses a simple key
 * over 1024 characters). */
#define S_YAML_KEY_MAX 1000

/* Block YAML in kubectl's layout: a list under a key is not indented further,
 * a mapping in a list starts on the "- " line. first_inline: the first line's
 * indentation is already written. */
static void s_yaml (hs_buf_t *b, const hs_tree_t *t, size_t indent, bool first_inline)
{
    bool map = t->type == HS_TREE_MAP;
    for (size_t i = 0; i < t->n; i++) {
        if (i > 0 || !first_inline) s_indent (b, indent);
        const hs_tree_t *v = t->items[i];
        if (map) {
            hs_tree_t key = {.type = HS_TREE_SCALAR, .scalar = t->keys[i], .quoted = true};
            size_t at = b->len;
            s_yaml_scalar (b, &key);
            if (b->len - at > S_YAML_KEY_MAX) {
                /* YAML reads a plain "key:" only up to 1024 characters:
                 * a longer key goes explicit, "? key" then ":". */
                hs_buf_t k = {0};
                hs_buf_append (&k, b->data + at, b->len - at);
                b->len = at;
                hs_buf_puts (b, "? ");
                hs_buf_append (b, k.data, k.len);
                hs_buf_free (&k);
                hs_buf_puts (b, "\n");
                s_indent (b, indent);
            }
            hs_buf_puts (b, ":");
            if (s_yaml_is_block (v)) {
                hs_buf_puts (b, "\n");
                s_yaml (b, v, v->type == HS_TREE_MAP ? indent + 2 : indent, false);
            } else {
                hs_buf_puts (b, " ");
                s_yaml_inline (b, v);
                hs_buf_puts (b, "\n");
            }
        } else {
            hs_buf_puts (b, "- ");
            if (s_yaml_is_block (v)) {
                s_yaml (b, v, indent + 2, true);
            } else {
                s_yaml_inline (b, v);
                hs_buf_puts (b, "\n");
            }
        }
    }
}

char *hs_tree_to_text (const hs_tree_t *t, int flags)
{
    hs_buf_t b = {0};
    hs_tree_t null_tree = {.type = HS_TREE_NULL};
    if (!t) t = &null_tree;
    if ((flags & HS_FMT_KIND_MASK) == HS_FMT_YAML) {
        if (s_yaml_is_block (t))
            s_yaml (&b, t, 0, false);
        else {
            s_yaml_inline (&b, t);
            hs_buf_puts (&b, "\n");
        }
    } else {
        bool compact = flags & HS_FMT_COMPACT;
        s_json (&b, t, 0, compact);
        if (!compact) hs_buf_puts (&b, "\n");
    }
    return hs_buf_take (&b);
}

char *hs_pb_to_text (const ProtobufCMessage *m, int flags)
{
    hs_tree_t *t = hs_pb_to_tree (m, flags);
    char *s = hs_tree_to_text (t, flags);
    hs_tree_free (t);
    return s;
}
