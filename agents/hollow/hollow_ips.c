/*  hollow_ips.c: a hollow node's fake pod IPs (see hollow_ips.h). A sorted
 *  array: a node holds at most its max-pods addresses (110 by default), so
 *  a linear walk is cheaper than anything cleverer.
 */
#include "hollow_ips.h"
#include "hs_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct hollow_ips {
    uint32_t n, cap;
    uint32_t ip[];
};

/* The index of the first held address >= ip. */
static uint32_t s_lower_bound (const hollow_ips_t *s, uint32_t ip)
{
    uint32_t lo = 0, hi = s ? s->n : 0;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->ip[mid] < ip)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void s_insert (hollow_ips_t **set, uint32_t at, uint32_t ip)
{
    hollow_ips_t *s = *set;
    if (!s || s->n == s->cap) {
        uint32_t cap = s ? s->cap * 2 : 8;
        s = hs_realloc (s, sizeof *s + cap * sizeof s->ip[0]);
        if (!*set) s->n = 0;
        s->cap = cap;
        *set = s;
    }
    memmove (&s->ip[at + 1], &s->ip[at], (s->n - at) * sizeof s->ip[0]);
    s->ip[at] = ip;
    s->n++;
}

int hollow_ips_take (hollow_ips_t **set, const hs_cidr_t *cidr, uint32_t *ret_ip)
{
    uint64_t size = hs_cidr_size (cidr);
    if (size < 4) return -ENOSPC;
    uint64_t first = (uint64_t)cidr->addr + 2, last = (uint64_t)cidr->addr + size - 2;
    const hollow_ips_t *s = *set;
    uint32_t i = s_lower_bound (s, (uint32_t)first);
    uint64_t cand = first;
    for (; s && i < s->n && s->ip[i] == cand && cand <= last; i++) cand++;
    if (cand > last) return -ENOSPC;
    s_insert (set, i, (uint32_t)cand);
    *ret_ip = (uint32_t)cand;
    return 0;
}

void hollow_ips_hold (hollow_ips_t **set, uint32_t ip)
{
    uint32_t i = s_lower_bound (*set, ip);
    if (*set && i < (*set)->n && (*set)->ip[i] == ip) return;
    s_insert (set, i, ip);
}

void hollow_ips_put (hollow_ips_t **set, uint32_t ip)
{
    hollow_ips_t *s = *set;
    uint32_t i = s_lower_bound (s, ip);
    if (!s || i >= s->n || s->ip[i] != ip) return;
    memmove (&s->ip[i], &s->ip[i + 1], (s->n - i - 1) * sizeof s->ip[0]);
    if (--s->n == 0) hollow_ips_free (set);
}

uint32_t hollow_ips_count (const hollow_ips_t *set)
{
    return set ? set->n : 0;
}

void hollow_ips_free (hollow_ips_t **set)
{
    free (*set);
    *set = NULL;
}
