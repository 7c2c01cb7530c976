/*  hs_pb.c: ownership helpers for protobuf-c messages (see hs_pb.h). */
#include "hs_pb.h"
#include "hs_util.h"

#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define S_POISON(p, n)   ASAN_POISON_MEMORY_REGION ((p), (n))
#define S_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION ((p), (n))
#else
#define S_POISON(p, n)   ((void)(p), (void)(n))
#define S_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* ------------------------------------------------------------------ arenas */

#define S_CHUNK_MIN  (256u << 10) /* the first chunk; later ones double */
#define S_CHUNK_KEEP (4u << 20)   /* leave keeps one chunk up to this size */
#define S_CHUNKS_MAX 24
#define S_ALIGN      16
/* Each allocation is preceded by its size, for s_realloc's copy. */
#define S_HEAD S_ALIGN

typedef struct {
    uint8_t *base;
    size_t size, used;
} s_chunk_t;

struct hs_pb_arena {
    s_chunk_t chunks[S_CHUNKS_MAX];
    size_t n;
};

static __thread hs_pb_arena_t *t_arena;

hs_pb_arena_t *hs_pb_arena_new (void)
{
    return hs_calloc (1, sizeof (hs_pb_arena_t));
}

static void s_chunks_free (hs_pb_arena_t *self)
{
    for (size_t i = 0; i < self->n; i++) {
        S_UNPOISON (self->chunks[i].base, self->chunks[i].size);
        free (self->chunks[i].base);
    }
    self->n = 0;
}

void hs_pb_arena_destroy (hs_pb_arena_t **self_p)
{
    hs_pb_arena_t *self = *self_p;
    if (!self) return;
    if (t_arena == self) t_arena = NULL;
    s_chunks_free (self);
    free (self);
    *self_p = NULL;
}

void hs_pb_arena_enter (hs_pb_arena_t *self)
{
    t_arena = self;
}

void hs_pb_arena_leave (hs_pb_arena_t *self)
{
    if (t_arena == self) t_arena = NULL;
    /* Keep the biggest chunk (the last) if it is not huge, for the next
     * batch; a batch that needed more gets it again by doubling. */
    if (self->n > 0) {
        s_chunk_t last = self->chunks[self->n - 1];
        if (last.size <= S_CHUNK_KEEP) {
            self->n--;
            s_chunks_free (self);
            self->chunks[0] = last;
            self->chunks[0].used = 0;
            self->n = 1;
            S_POISON (last.base, last.size);
        } else {
            s_chunks_free (self);
        }
    }
}

size_t hs_pb_arena_used (const hs_pb_arena_t *self)
{
    size_t used = 0;
    for (size_t i = 0; i < self->n; i++) used += self->chunks[i].used;
    return used;
}

static bool s_in_arena (const hs_pb_arena_t *a, const void *p)
{
    const uint8_t *b = p;
    for (size_t i = a->n; i-- > 0;)
        if (b >= a->chunks[i].base && b < a->chunks[i].base + a->chunks[i].size) return true;
    return false;
}

static void *s_arena_alloc (hs_pb_arena_t *a, size_t size)
{
    size_t need = S_HEAD + ((size + S_ALIGN - 1) & ~(size_t)(S_ALIGN - 1));
    s_chunk_t *c = a->n ? &a->chunks[a->n - 1] : NULL;
    if (!c || c->size - c->used < need) {
        if (a->n == S_CHUNKS_MAX) return NULL; /* the caller falls back to malloc */
        size_t sz = c ? c->size * 2 : S_CHUNK_MIN;
        while (sz < need) sz *= 2;
        c = &a->chunks[a->n++];
        c->base = hs_malloc (sz);
        c->size = sz;
        c->used = 0;
        S_POISON (c->base, sz);
    }
    uint8_t *p = c->base + c->used;
    c->used += need;
    S_UNPOISON (p, need);
    memcpy (p, &size, sizeof size);
    return p + S_HEAD;
}

void *hs_pb_alloc (size_t size)
{
    void *p = t_arena ? s_arena_alloc (t_arena, size) : NULL;
    return p ? p : hs_malloc (size ? size : 1);
}

void hs_pb_release (void *p)
{
    if (!p) return;
    if (t_arena && s_in_arena (t_arena, p)) return; /* freed when the arena is left */
    free (p);
}

/* realloc for arrays that may come from hs_pb_alloc. The result is always
 * malloc's, as hs_pb_push's callers free some arrays with free(). */
static void *s_realloc (void *p, size_t size)
{
    if (!p || !t_arena || !s_in_arena (t_arena, p)) return hs_realloc (p, size);
    size_t old;
    memcpy (&old, (uint8_t *)p - S_HEAD, sizeof old);
    void *q = hs_malloc (size);
    memcpy (q, p, old < size ? old : size);
    return q;
}

static void *s_pc_alloc (void *data, size_t size)
{
    (void)data;
    return hs_pb_alloc (size);
}

static void s_pc_free (void *data, void *p)
{
    (void)data;
    hs_pb_release (p);
}

ProtobufCAllocator hs_pb_allocator = {s_pc_alloc, s_pc_free, NULL};

/* ------------------------------------------------------------------ messages */

void *hs_pb_new (const ProtobufCMessageDescriptor *d)
{
    ProtobufCMessage *m = hs_pb_alloc (d->sizeof_message);
    d->message_init (m);
    return m;
}

void hs_pb_free (void *msg)
{
    if (msg) protobuf_c_message_free_unpacked (msg, &hs_pb_allocator);
}

void hs_pb_freep (void *msg_p)
{
    void **p = msg_p;
    hs_pb_free (*p);
    *p = NULL;
}

void hs_pb_take_str (char **field, char *s)
{
    if (*field && *field != protobuf_c_empty_string) hs_pb_release (*field);
    if (!s || !*s) {
        hs_pb_release (s);
        *field = (char *)protobuf_c_empty_string;
    } else {
        *field = s;
    }
}

void hs_pb_set_str (char **field, const char *s)
{
    char *copy = NULL;
    if (s && *s) {
        size_t n = strlen (s) + 1;
        copy = hs_pb_alloc (n);
        memcpy (copy, s, n);
    }
    hs_pb_take_str (field, copy);
}

void hs_pb_push (void ***items, size_t *n, void *item)
{
    *items = s_realloc (*items, (*n + 1) * sizeof (void *));
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
    void *copy = protobuf_c_message_unpack (m->descriptor, &hs_pb_allocator, len, buf);
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
