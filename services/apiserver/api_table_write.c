/*  api_table_write.c: meta.k8s.io/v1 Tables and plain lists written
 *  straight into a buffer (services/apiserver/api.h: api_table_write,
 *  api_list_write).
 *
 *  The bytes are exactly those of hs_tree_to_text (api_table (...) or
 *  api_list_tree (...), HS_FMT_JSON | HS_FMT_COMPACT); what differs is the
 *  cost. The tree path makes a node, a key and a scalar per field of every
 *  row, writes them, and frees them: for a 10,000-pod `kubectl get pods`
 *  that is most of the server's CPU. Here:
 *    - the column definitions are api_table's own, written once per kind
 *      (api_table of no objects, kept as text; the daemon is one thread);
 *    - cells are ctl_cells', as api_table's, escaped on the way out;
 *    - includeObject=Metadata (kubectl's default) writes
 *      PartialObjectMetadata straight from Hs__ObjectMeta, in the order and
 *      shape api_obj_meta_tree gives (hs_pb_to_tree's field order, omitted
 *      zeros, RFC 3339 times, resourceVersion a string, OwnerReference's
 *      always-written fields appended last as api_json's s_out does);
 *    - whole objects (includeObject=Object, lists) are walked from the
 *      message as hs_manifest_tree + hs_pb_to_tree + api_json's s_out would
 *      make them, with api_json's correction tables (api_json_fields.h).
 *  Strings are escaped as hs_pbjson's JSON writer does, byte for byte:
 *  runs of plain ASCII are copied at once, the rest goes through the same
 *  UTF-8 check (invalid bytes become \ufffd; C0/C1 controls and U+2028/9
 *  are \u escapes). tests/unit/test_api_table_write.c holds all of it to
 *  the tree path. The correction tables are api_json.c's own, shared
 *  through api_json_fields.h (a change there reaches both).
 */
#include "api.h"
#include "api_json_fields.h"
#include "ctl_fmt.h"
#include "hs_util.h"

#include <inttypes.h>
#include <math.h>
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

/* ------------------------------------------------------------ objects
 *
 * An object as api_obj_tree gives it (hs_manifest_tree: apiVersion, kind,
 * then hs_pb_to_tree of the body; then api_json's s_out corrections),
 * walked from the message with no tree. The corrections' tables are
 * api_json.c's (api_json_fields.h): test_api_table_write holds the two to
 * the same bytes for every kind. */

enum {
    S_F_REVISION = 1 << 0,
    S_F_INTSTR = 1 << 1,
    S_F_TIME = 1 << 2,   /* an int64 written as an RFC 3339 time */
    S_F_MAP = 1 << 3,    /* a map<K, V> (repeated *Entry) */
    S_F_OBJECT = 1 << 4, /* a nested message written as a mapping, corrected */
};

typedef struct {
    const ProtobufCMessageDescriptor *d;
    char **keys;    /* [n_fields] corrected keys (Kubernetes' spelling) */
    char **ours;    /* [n_fields] hs_pbjson's keys */
    uint8_t *flags; /* [n_fields] S_F_* */
    unsigned *always;
    size_t n_always;
    size_t extra_from, extra_to; /* api_json_extra rows for d */
    bool wrapper;
} s_md_t;

#define S_MD_SLOTS 512
static s_md_t s_mds[S_MD_SLOTS];

static bool s_pair_in (const api_json_field_t *table, size_t n, const char *msg, const char *field)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp (table[i].message, msg) && !strcmp (table[i].field, field)) return true;
    return false;
}

static bool s_ends_with (const char *s, const char *suffix)
{
    size_t ls = strlen (s), lx = strlen (suffix);
    return ls >= lx && !strcmp (s + ls - lx, suffix);
}

static bool s_desc_is_wrapper (const ProtobufCMessageDescriptor *d)
{
    return d && (!strcmp (d->name, "hs.Int32Value") || !strcmp (d->name, "hs.Int64Value") ||
                 !strcmp (d->name, "hs.BoolValue"));
}

/* hs_pbjson's s_is_map_entry */
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

/* api_json's s_is_map (a looser test: the two agree on the schema, and
 * the corrections follow api_json's) */
static bool s_json_is_map (const ProtobufCFieldDescriptor *f)
{
    if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE) return false;
    const ProtobufCMessageDescriptor *d = f->descriptor;
    size_t l = strlen (d->name);
    return l > 5 && !strcmp (d->name + l - 5, "Entry") && d->n_fields == 2;
}

static const s_md_t *s_md (const ProtobufCMessageDescriptor *d)
{
    size_t h = ((uintptr_t)d >> 4) * 2654435761u;
    for (size_t k = 0; k < S_MD_SLOTS; k++) {
        s_md_t *e = &s_mds[(h + k) & (S_MD_SLOTS - 1)];
        if (e->d == d) return e;
        if (e->d) continue;
        char name[128];
        e->d = d;
        e->wrapper = s_desc_is_wrapper (d);
        e->keys = hs_calloc (d->n_fields + 1, sizeof (char *));
        e->ours = hs_calloc (d->n_fields + 1, sizeof (char *));
        e->flags = hs_calloc (d->n_fields + 1, 1);
        for (unsigned i = 0; i < d->n_fields; i++) {
            const ProtobufCFieldDescriptor *f = &d->fields[i];
            e->ours[i] = hs_strdup (hs_pb_json_name (f->name, name, sizeof name));
            const char *k8s = NULL;
            for (size_t r = 0; r < api_json_n_renamed; r++)
                if (!strcmp (d->name, api_json_renamed[r].message) &&
                    !strcmp (f->name, api_json_renamed[r].field))
                    k8s = api_json_renamed[r].k8s;
            e->keys[i] = hs_strdup (k8s ? k8s : name);
            if (s_pair_in (api_json_revision, api_json_n_revision, d->name, f->name))
                e->flags[i] |= S_F_REVISION;
            if (s_pair_in (api_json_intstr, api_json_n_intstr, d->name, f->name))
                e->flags[i] |= S_F_INTSTR;
            if ((f->type == PROTOBUF_C_TYPE_INT64 || f->type == PROTOBUF_C_TYPE_SINT64 ||
                 f->type == PROTOBUF_C_TYPE_SFIXED64) &&
                (s_ends_with (f->name, "_timestamp") || s_ends_with (f->name, "_time") ||
                 s_ends_with (f->name, "_at") || !strcmp (f->name, "time_added")))
                e->flags[i] |= S_F_TIME;
            if (s_is_map_entry (f)) e->flags[i] |= S_F_MAP;
            if (f->type == PROTOBUF_C_TYPE_MESSAGE && !s_json_is_map (f) &&
                !s_desc_is_wrapper (f->descriptor))
                e->flags[i] |= S_F_OBJECT;
        }
        e->always = hs_calloc (api_json_n_always + 1, sizeof (unsigned));
        for (size_t i = 0; i < api_json_n_always; i++) {
            if (strcmp (api_json_always[i].message, d->name)) continue;
            const ProtobufCFieldDescriptor *f =
                protobuf_c_message_descriptor_get_field_by_name (d, api_json_always[i].field);
            if (f) e->always[e->n_always++] = (unsigned)(f - d->fields);
        }
        e->extra_from = e->extra_to = 0;
        for (size_t i = 0; i < api_json_n_extra; i++)
            if (!strcmp (api_json_extra[i].message, d->name)) {
                if (e->extra_to == 0) e->extra_from = i;
                e->extra_to = i + 1;
            }
        return e;
    }
    abort (); /* more message types than slots */
}

static const char s_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void s_b64_write (hs_buf_t *b, const uint8_t *d, size_t n)
{
    s_putc (b, '"');
    s_reserve (b, (n + 2) / 3 * 4);
    char *o = b->data + b->len;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) |
                     (i + 2 < n ? d[i + 2] : 0);
        *o++ = s_b64[v >> 18 & 63];
        *o++ = s_b64[v >> 12 & 63];
        *o++ = i + 1 < n ? s_b64[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? s_b64[v & 63] : '=';
    }
    b->len = (size_t)(o - b->data);
    s_putc (b, '"');
}

/* Canonical int32 (api_json's s_canonical_int32). */
static bool s_canonical_int32 (const char *s)
{
    if (hs_empty (s) || (s[0] == '0' && s[1]) || strlen (s) > 10) return false;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9') return false;
    return strtoll (s, NULL, 10) <= INT32_MAX;
}

/* An unquoted scalar's text, quoted when flags ask (s_json_scalar). */
static void s_scalar (hs_buf_t *b, const char *text, bool quoted)
{
    if (!quoted && (s_is_json_number (text) || !strcmp (text, "true") || !strcmp (text, "false")))
        s_puts (b, text);
    else
        s_str (b, text);
}

static void s_msg (hs_buf_t *b, const ProtobufCMessage *m, bool fix, const char *api_version,
                   const char *kind);

/* One value of field f at slot (s_value_to_tree), corrected per fl when fix. */
static void s_value (hs_buf_t *b, const ProtobufCFieldDescriptor *f, const void *slot, uint8_t fl,
                     bool fix)
{
    bool rev = fix && (fl & S_F_REVISION);
    char buf[64];
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        snprintf (buf, sizeof buf, "%" PRId32, *(const int32_t *)slot);
        return s_scalar (b, buf, rev);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        snprintf (buf, sizeof buf, "%" PRIu32, *(const uint32_t *)slot);
        return s_scalar (b, buf, rev);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: {
        int64_t v = *(const int64_t *)slot;
        if (fl & S_F_TIME) {
            if (v == 0) return S_LIT (b, "null");
            return s_str (b, hs_fmt_time (v, buf, sizeof buf));
        }
        snprintf (buf, sizeof buf, "%" PRId64, v);
        return s_scalar (b, buf, rev);
    }
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf (buf, sizeof buf, "%" PRIu64, *(const uint64_t *)slot);
        return s_scalar (b, buf, rev);
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE: {
        double v = f->type == PROTOBUF_C_TYPE_FLOAT ? *(const float *)slot : *(const double *)slot;
        if (isnan (v)) return s_str (b, "NaN");
        if (isinf (v)) return s_str (b, v > 0 ? "Infinity" : "-Infinity");
        snprintf (buf, sizeof buf, "%.15g", v);
        if (strtod (buf, NULL) != v) snprintf (buf, sizeof buf, "%.17g", v);
        return s_scalar (b, buf, rev);
    }
    case PROTOBUF_C_TYPE_BOOL:
        return s_scalar (b, *(const protobuf_c_boolean *)slot ? "true" : "false", rev);
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)slot;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value (f->descriptor, v);
        if (ev) return s_str (b, ev->name);
        snprintf (buf, sizeof buf, "%d", v);
        return s_scalar (b, buf, rev);
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *v = hs_s (*(char *const *)slot);
        if (fix && (fl & S_F_INTSTR) && s_canonical_int32 (v)) return s_scalar (b, v, false);
        return s_str (b, v);
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *d = slot;
        return s_b64_write (b, d->data, d->len);
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)slot;
        if (!sub) return S_LIT (b, "null");
        if (s_desc_is_wrapper (sub->descriptor)) {
            const ProtobufCFieldDescriptor *vf = &sub->descriptor->fields[0];
            /* the wrapped value, with the wrapper field's own corrections */
            uint8_t vfl = s_md (sub->descriptor)->flags[0] & S_F_TIME;
            return s_value (b, vf, (const char *)sub + vf->offset,
                            (uint8_t)(vfl | (fl & (S_F_REVISION | S_F_INTSTR))), fix);
        }
        return s_msg (b, sub, fix && (fl & S_F_OBJECT), NULL, NULL);
    }
    }
    S_LIT (b, "null");
}

/* hs_pbjson's s_field_present */
static bool s_present (const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    const void *slot = (const char *)m + f->offset;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *)((const char *)m + f->quantifier_offset) == f->id;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
        f->type != PROTOBUF_C_TYPE_MESSAGE)
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

/* A map field's entries: {"k":v,...} (hs_pb_to_tree; no corrections inside). */
static void s_map (hs_buf_t *b, const ProtobufCFieldDescriptor *f, size_t n, const void *arr)
{
    const ProtobufCMessageDescriptor *ed = f->descriptor;
    const s_md_t *em = s_md (ed);
    s_putc (b, '{');
    for (size_t j = 0; j < n; j++) {
        const ProtobufCMessage *e = ((ProtobufCMessage *const *)arr)[j];
        if (j) s_putc (b, ',');
        const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];
        const void *kslot = (const char *)e + kf->offset;
        if (kf->type == PROTOBUF_C_TYPE_STRING) {
            s_str (b, *(char *const *)kslot);
        } else {
            /* a key of another type (none in the schema): its number as a
             * string, as hs_pb_to_tree makes the map's key from the scalar */
            char kb[64];
            switch (kf->type) {
            case PROTOBUF_C_TYPE_BOOL:
                snprintf (kb, sizeof kb, "%s",
                          *(const protobuf_c_boolean *)kslot ? "true" : "false");
                break;
            case PROTOBUF_C_TYPE_INT32:
            case PROTOBUF_C_TYPE_SINT32:
            case PROTOBUF_C_TYPE_SFIXED32:
                snprintf (kb, sizeof kb, "%" PRId32, *(const int32_t *)kslot);
                break;
            case PROTOBUF_C_TYPE_UINT32:
            case PROTOBUF_C_TYPE_FIXED32:
                snprintf (kb, sizeof kb, "%" PRIu32, *(const uint32_t *)kslot);
                break;
            case PROTOBUF_C_TYPE_INT64:
            case PROTOBUF_C_TYPE_SINT64:
            case PROTOBUF_C_TYPE_SFIXED64:
                snprintf (kb, sizeof kb, "%" PRId64, *(const int64_t *)kslot);
                break;
            case PROTOBUF_C_TYPE_UINT64:
            case PROTOBUF_C_TYPE_FIXED64:
                snprintf (kb, sizeof kb, "%" PRIu64, *(const uint64_t *)kslot);
                break;
            default: kb[0] = '\0';
            }
            s_str (b, kb);
        }
        s_putc (b, ':');
        s_value (b, vf, (const char *)e + vf->offset, em->flags[1], false);
    }
    s_putc (b, '}');
}

/* A message as a mapping; fix: api_json's corrections at this level and
 * below. api_version/kind: the manifest's first two keys (top level). */
static void s_msg (hs_buf_t *b, const ProtobufCMessage *m, bool fix, const char *api_version,
                   const char *kind)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const s_md_t *e = s_md (d);
    bool first = true;
    s_putc (b, '{');
    if (api_version) {
        S_LIT (b, "\"apiVersion\":");
        s_str (b, api_version);
        S_LIT (b, ",\"kind\":");
        s_str (b, kind);
        first = false;
    }
    uint8_t written_small[64];
    uint8_t *written = d->n_fields <= 64 ? written_small : hs_calloc (d->n_fields, 1);
    memset (written, 0, d->n_fields <= 64 ? sizeof written_small : 0);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *key = fix ? e->keys[i] : e->ours[i];
        uint8_t fl = e->flags[i];
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
            const char *arr = *(char *const *)((const char *)m + f->offset);
            if (!n) continue;
            if (!first) s_putc (b, ',');
            first = false;
            s_str (b, key);
            s_putc (b, ':');
            written[i] = 1;
            if (fl & S_F_MAP) {
                s_map (b, f, n, arr);
                continue;
            }
            size_t es = s_elem_size (f->type);
            s_putc (b, '[');
            for (size_t j = 0; j < n; j++) {
                if (j) s_putc (b, ',');
                s_value (b, f, arr + j * es, fl, fix);
            }
            s_putc (b, ']');
            continue;
        }
        if (!s_present (m, f)) continue;
        if (!first) s_putc (b, ',');
        first = false;
        s_str (b, key);
        s_putc (b, ':');
        written[i] = 1;
        s_value (b, f, (const char *)m + f->offset, fl, fix);
    }
    if (fix) {
        for (size_t k = 0; k < e->n_always; k++) {
            unsigned i = e->always[k];
            if (written[i]) continue;
            const char *zero;
            switch (d->fields[i].type) {
            case PROTOBUF_C_TYPE_BOOL: zero = "false"; break;
            case PROTOBUF_C_TYPE_STRING: zero = "\"\""; break;
            case PROTOBUF_C_TYPE_MESSAGE:
                /* api_json's s_zero: a nested object's is {} */
                zero = (e->flags[i] & S_F_OBJECT) && d->fields[i].label != PROTOBUF_C_LABEL_REPEATED
                           ? "{}"
                           : NULL;
                break;
            case PROTOBUF_C_TYPE_BYTES:
            case PROTOBUF_C_TYPE_ENUM: zero = NULL; break;
            default: zero = "0";
            }
            if (!zero) continue;
            if (!first) s_putc (b, ',');
            first = false;
            s_str (b, e->keys[i]);
            s_putc (b, ':');
            s_puts (b, zero);
            written[i] = 1;
        }
        for (size_t x = e->extra_from; x < e->extra_to; x++) {
            if (strcmp (api_json_extra[x].message, d->name)) continue;
            bool there = false;
            for (unsigned i = 0; i < d->n_fields && !there; i++)
                there = written[i] && !strcmp (e->keys[i], api_json_extra[x].key);
            if (there) continue;
            if (!first) s_putc (b, ',');
            first = false;
            s_str (b, api_json_extra[x].key);
            s_putc (b, ':');
            s_str (b, api_json_extra[x].value);
        }
    }
    if (written != written_small) free (written);
    s_putc (b, '}');
}

/* An object as api_obj_tree gives it; false (nothing written) when it has
 * none. */
static bool s_object (hs_buf_t *b, const Hs__Object *o)
{
    const hs_kind_info_t *info = hs_kind_info (hs_obj_kind (o));
    const ProtobufCMessage *body = hs_obj_body (o);
    if (!info || !body) return false;
    s_msg (b, body, true, info->api_version, info->kind_name);
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
     * (api_json_always: apiVersion, kind, name, uid) that were missing */
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
