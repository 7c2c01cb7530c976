/*  hs_pb.c: ownership helpers for protobuf-c messages (see hs_pb.h). */
#include "hs_pb.h"
#include "hs_util.h"

#include <stdlib.h>
#include <string.h>

void *hs_pb_new (const ProtobufCMessageDescriptor *d)
{
    ProtobufCMessage *m = hs_malloc (d->sizeof_message);
    d->message_init (m);
    return m;
}

void hs_pb_free (void *msg)
{
    if (msg) protobuf_c_message_free_unpacked (msg, NULL);
}

void hs_pb_freep (void *msg_p)
{
    void **p = msg_p;
    hs_pb_free (*p);
    *p = NULL;
}

void hs_pb_take_str (char **field, char *s)
{
    if (*field && *field != protobuf_c_empty_string) free (*field);
    if (!s || !*s) {
        free (s);
        *field = (char *)protobuf_c_empty_string;
    } else {
        *field = s;
    }
}

void hs_pb_set_str (char **field, const char *s)
{
    hs_pb_take_str (field, (s && *s) ? hs_strdup (s) : NULL);
}

void hs_pb_push (void ***items, size_t *n, void *item)
{
    *items = hs_realloc (*items, (*n + 1) * sizeof (void *));
    (*items)[(*n)++] = item;
}

uint8_t *hs_pb_pack (const void *msg, size_t *ret_len)
{
    size_t len = protobuf_c_message_get_packed_size (msg);
    uint8_t *buf = hs_malloc (len ? len : 1);
    protobuf_c_message_pack (msg, buf);
    *ret_len = len;
    return buf;
}

void *hs_pb_dup (const void *msg)
{
    if (!msg) return NULL;
    const ProtobufCMessage *m = msg;
    size_t len;
    uint8_t *buf = hs_pb_pack (m, &len);
    void *copy = protobuf_c_message_unpack (m->descriptor, NULL, len, buf);
    free (buf);
    if (!copy) abort (); /* our own serialization always decodes */
    return copy;
}

size_t hs_pb_varint (uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

bool hs_pb_equal (const void *a, const void *b)
{
    if (!a || !b) return a == b;
    size_t la, lb;
    uint8_t *pa = hs_pb_pack (a, &la);
    uint8_t *pb = hs_pb_pack (b, &lb);
    bool eq = la == lb && memcmp (pa, pb, la) == 0;
    free (pa);
    free (pb);
    return eq;
}

const char *hs_pb_map_get (void *const *entries, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        const hs_pb_map_entry_t *e = entries[i];
        if (strcmp (e->key, key) == 0) return e->value;
    }
    return NULL;
}

void hs_pb_map_set (void ***entries, size_t *n, const ProtobufCMessageDescriptor *entry_desc,
                    const char *key, const char *value)
{
    for (size_t i = 0; i < *n; i++) {
        hs_pb_map_entry_t *e = (*entries)[i];
        if (strcmp (e->key, key) == 0) {
            hs_pb_set_str (&e->value, value);
            return;
        }
    }
    hs_pb_map_entry_t *e = hs_pb_new (entry_desc);
    hs_pb_set_str (&e->key, key);
    hs_pb_set_str (&e->value, value);
    hs_pb_push (entries, n, e);
}

static int s_entry_cmp (const void *a, const void *b)
{
    const hs_pb_map_entry_t *ea = *(hs_pb_map_entry_t *const *)a;
    const hs_pb_map_entry_t *eb = *(hs_pb_map_entry_t *const *)b;
    return strcmp (ea->key, eb->key);
}

void hs_pb_map_sort (void **entries, size_t n)
{
    if (n > 1) qsort (entries, n, sizeof (void *), s_entry_cmp);
}

const hs_pb_map_entry_t **hs_pb_map_sorted (void *const *entries, size_t n)
{
    const hs_pb_map_entry_t **sorted = hs_malloc (n * sizeof (*sorted));
    if (n) memcpy (sorted, entries, n * sizeof (*sorted));
    hs_pb_map_sort ((void **)sorted, n);
    return sorted;
}
