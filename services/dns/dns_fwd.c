/*  dns_fwd.c: forwarded queries in flight (dns_fwd.h). */
#include "dns_fwd.h"
#include "hs_util.h"

#include <string.h>

struct dns_fwd_t {
    dns_pending_t *by_id[65536];
    dns_pending_t *head, *tail; /* deadline order: every attempt lasts the same */
    size_t n, limit, n_upstreams;
    int attempts;
    int64_t attempt_ns;
    uint64_t rng;
};

dns_fwd_t *dns_fwd_new (size_t limit, size_t n_upstreams, int attempts, int64_t attempt_ns,
                        uint64_t seed)
{
    dns_fwd_t *f = hs_calloc (1, sizeof *f);
    f->limit = limit > 60000 ? 60000 : limit; /* IDs must stay easy to find */
    f->n_upstreams = n_upstreams ? n_upstreams : 1;
    f->attempts = attempts > 0 ? attempts : 1;
    f->attempt_ns = attempt_ns;
    f->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
    return f;
}

void dns_fwd_free (dns_pending_t *p)
{
    if (!p) return;
    free (p->pkt);
    free (p);
}

static void s_unlink (dns_fwd_t *f, dns_pending_t *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        f->head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        f->tail = p->prev;
    p->prev = p->next = NULL;
}

static void s_append (dns_fwd_t *f, dns_pending_t *p)
{
    p->prev = f->tail;
    p->next = NULL;
    if (f->tail)
        f->tail->next = p;
    else
        f->head = p;
    f->tail = p;
}

static void s_take (dns_fwd_t *f, dns_pending_t *p)
{
    s_unlink (f, p);
    f->by_id[p->id] = NULL;
    f->n--;
}

void dns_fwd_destroy (dns_fwd_t **self_p)
{
    dns_fwd_t *f = *self_p;
    if (!f) return;
    while (f->head) {
        dns_pending_t *p = f->head;
        s_take (f, p);
        dns_fwd_free (p);
    }
    free (f);
    *self_p = NULL;
}

/* xorshift64*: IDs need to be unguessable from outside, not cryptographic;
 * the seed comes from getrandom. */
static uint16_t s_rand16 (dns_fwd_t *f)
{
    f->rng ^= f->rng >> 12;
    f->rng ^= f->rng << 25;
    f->rng ^= f->rng >> 27;
    return (uint16_t)((f->rng * 0x2545F4914F6CDD1DULL) >> 48);
}

dns_pending_t *dns_fwd_add (dns_fwd_t *f, const struct sockaddr *client, socklen_t client_len,
                            const dns_query_t *q, const uint8_t *pkt, size_t len, int64_t now)
{
    if (f->n >= f->limit || len < DNS_HEADER || client_len > sizeof (struct sockaddr_storage))
        return NULL;
    uint16_t id = s_rand16 (f);
    while (f->by_id[id]) id++; /* at most limit (< 65536) are taken */
    dns_pending_t *p = hs_calloc (1, sizeof *p);
    memcpy (&p->client, client, client_len);
    p->client_len = client_len;
    p->client_id = q->id;
    p->id = id;
    p->upstream = s_rand16 (f) % f->n_upstreams;
    p->attempts = 1;
    p->deadline = now + f->attempt_ns;
    p->started = now;
    p->pkt = hs_malloc (len);
    memcpy (p->pkt, pkt, len);
    p->len = len;
    dns_put16 (p->pkt, id);
    p->client_udp = dns_udp_limit (q);
    f->by_id[id] = p;
    f->n++;
    s_append (f, p);
    return p;
}

/* The question of a (query or answer) message: its wire bytes with the
 * name decompressed and lower-cased, type and class. */
static bool s_question (const uint8_t *pkt, size_t len, uint8_t *out, size_t *ret_len)
{
    if (len < DNS_HEADER || dns_get16 (pkt + 4) != 1) return false;
    size_t off = DNS_HEADER, wl;
    if (dns_name_read (pkt, len, &off, out, &wl, NULL, NULL) < 0 || off + 4 > len) return false;
    for (size_t i = 0; i < wl; i++)
        if (out[i] >= 'A' && out[i] <= 'Z') out[i] = (uint8_t)(out[i] + 32);
    memcpy (out + wl, pkt + off, 4);
    *ret_len = wl + 4;
    return true;
}

dns_pending_t *dns_fwd_match (dns_fwd_t *f, size_t u, const uint8_t *pkt, size_t len)
{
    if (len < DNS_HEADER || !(pkt[2] & 0x80)) return NULL;
    dns_pending_t *p = f->by_id[dns_get16 (pkt)];
    if (!p || p->upstream != u) return NULL;
    uint8_t a[DNS_MAX_NAME + 4], b[DNS_MAX_NAME + 4];
    size_t al, bl;
    /* The question must be the one we asked (RFC 5452 §9.1): upstreams
     * answer FORMERR without one, which is still ours to pass on. */
    if (dns_get16 (pkt + 4) != 0) {
        if (!s_question (pkt, len, a, &al) || !s_question (p->pkt, p->len, b, &bl) || al != bl ||
            memcmp (a, b, al) != 0)
            return NULL;
    }
    s_take (f, p);
    return p;
}

int64_t dns_fwd_next (const dns_fwd_t *f)
{
    return f->head ? f->head->deadline : INT64_MAX;
}

dns_pending_t *dns_fwd_expired (dns_fwd_t *f, int64_t now, bool *ret_failed)
{
    dns_pending_t *p = f->head;
    if (!p || p->deadline > now) return NULL;
    if (p->attempts >= f->attempts) {
        s_take (f, p);
        *ret_failed = true;
        return p;
    }
    p->attempts++;
    p->upstream = (p->upstream + 1) % f->n_upstreams;
    p->deadline = now + f->attempt_ns;
    s_unlink (f, p);
    s_append (f, p);
    *ret_failed = false;
    return p;
}

size_t dns_fwd_inflight (const dns_fwd_t *f)
{
    return f->n;
}
