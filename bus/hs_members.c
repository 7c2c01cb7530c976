/*  hs_members.c: live instances and rendezvous ownership (hs_members.h). */
#include "hs_members.h"
#include "hs_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *instance;
    int64_t heard; /* monotonic ns of the last heartbeat */
} s_entry_t;

struct hs_members_t {
    char *self;
    int64_t timeout_ns;
    s_entry_t *live; /* sorted by instance, self included */
    size_t n, cap;
    uint64_t generation;
};

uint64_t hs_rendezvous_score (const char *instance, const char *key)
{
    uint64_t h = 14695981039346656037ULL;
    for (const unsigned char *p = (const unsigned char *)hs_s (instance); *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    h = (h ^ 0) * 1099511628211ULL;
    for (const unsigned char *p = (const unsigned char *)hs_s (key); *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* Index of instance in live, or where it would be inserted (*found false). */
static size_t s_find (const hs_members_t *m, const char *instance, bool *found)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp (m->live[mid].instance, instance);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static void s_insert (hs_members_t *m, size_t at, const char *instance, int64_t now)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 8;
        m->live = hs_realloc (m->live, m->cap * sizeof *m->live);
    }
    memmove (&m->live[at + 1], &m->live[at], (m->n - at) * sizeof *m->live);
    m->live[at] = (s_entry_t){.instance = hs_strdup (instance), .heard = now};
    m->n++;
}

hs_members_t *hs_members_new (const char *self, int64_t timeout_ns)
{
    hs_members_t *m = hs_calloc (1, sizeof *m);
    m->self = hs_strdup (hs_s (self));
    m->timeout_ns = timeout_ns;
    s_insert (m, 0, m->self, 0);
    m->generation = 1;
    return m;
}

void hs_members_destroy (hs_members_t **self_p)
{
    hs_members_t *m = *self_p;
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) free (m->live[i].instance);
    free (m->live);
    free (m->self);
    free (m);
    *self_p = NULL;
}

int hs_members_heard (hs_members_t *m, const char *instance, int64_t now)
{
    if (hs_empty (instance)) return -EINVAL;
    bool found;
    size_t at = s_find (m, instance, &found);
    if (found) {
        m->live[at].heard = now;
        return 0;
    }
    if (m->n - 1 >= HS_MEMBERS_MAX) return -ENOSPC; /* self is not a peer */
    s_insert (m, at, instance, now);
    m->generation++;
    return 1;
}

size_t hs_members_expire (hs_members_t *m, int64_t now, hs_members_gone_fn *gone, void *arg)
{
    size_t k = 0, left = 0;
    for (size_t i = 0; i < m->n; i++) {
        s_entry_t *e = &m->live[i];
        bool is_self = strcmp (e->instance, m->self) == 0;
        if (!is_self && now - e->heard > m->timeout_ns) {
            if (gone) gone (arg, e->instance, now - e->heard);
            free (e->instance);
            left++;
            continue;
        }
        m->live[k++] = *e;
    }
    m->n = k;
    if (left) m->generation++;
    return left;
}

const char *hs_members_owner (const hs_members_t *m, const char *key)
{
    if (m->n == 1) return m->live[0].instance;
    const char *best = m->live[0].instance;
    uint64_t best_score = hs_rendezvous_score (best, key);
    for (size_t i = 1; i < m->n; i++) {
        uint64_t s = hs_rendezvous_score (m->live[i].instance, key);
        if (s > best_score) {
            best = m->live[i].instance;
            best_score = s;
        }
    }
    return best;
}

bool hs_members_owns (const hs_members_t *m, const char *instance, const char *key)
{
    return hs_streq (hs_members_owner (m, key), instance);
}

size_t hs_members_count (const hs_members_t *m)
{
    return m->n;
}

const char *hs_members_at (const hs_members_t *m, size_t i)
{
    return i < m->n ? m->live[i].instance : NULL;
}

bool hs_members_live (const hs_members_t *m, const char *instance)
{
    bool found;
    if (hs_empty (instance)) return false;
    s_find (m, instance, &found);
    return found;
}

uint64_t hs_members_generation (const hs_members_t *m)
{
    return m->generation;
}
