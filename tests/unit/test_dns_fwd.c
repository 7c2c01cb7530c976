/*  test_dns_fwd.c: forwarded queries in flight (services/dns/dns_fwd.h):
 *  fresh IDs, matching by ID, upstream and question, retries on the next
 *  upstream, failure after the last attempt, the limit. */
#include "dns_fwd.h"
#include "hs_test.h"

#include <netinet/in.h>
#include <string.h>

#define MS 1000000LL

static size_t s_query (uint8_t *buf, uint16_t id, const char *name)
{
    memset (buf, 0, DNS_HEADER);
    dns_put16 (buf, id);
    dns_put16 (buf + 2, 0x0100);
    dns_put16 (buf + 4, 1);
    size_t n = DNS_HEADER + (size_t)dns_name_to_wire (name, buf + DNS_HEADER);
    dns_put16 (buf + n, DNS_TYPE_A);
    dns_put16 (buf + n + 2, DNS_CLASS_IN);
    return n + 4;
}

/* The upstream's answer to a forwarded packet: the same with QR set. */
static size_t s_answer (const dns_pending_t *p, uint8_t *out)
{
    memcpy (out, p->pkt, p->len);
    out[2] |= 0x80;
    return p->len;
}

static void test_roundtrip (void)
{
    dns_fwd_t *f = dns_fwd_new (4, 2, 2, 1000 * MS, 1);
    struct sockaddr_in cl = {.sin_family = AF_INET, .sin_port = htons (5353)};
    uint8_t b[512], a[512];
    size_t n = s_query (b, 0x4242, "Example.COM");
    dns_query_t q;
    CHECK_EQ_INT (dns_query_parse (b, n, &q), 0);
    dns_pending_t *p = dns_fwd_add (f, (struct sockaddr *)&cl, sizeof cl, &q, b, n, 0);
    CHECK (p != NULL);
    CHECK_EQ_INT (dns_fwd_inflight (f), 1);
    CHECK_EQ_INT (dns_get16 (p->pkt), p->id);
    CHECK_EQ_INT (p->client_id, 0x4242);
    CHECK (p->upstream < 2);
    CHECK_EQ_INT (dns_fwd_next (f), 1000 * MS);
    size_t an = s_answer (p, a);
    /* from the other upstream: not ours */
    CHECK (dns_fwd_match (f, 1 - p->upstream, a, an) == NULL);
    /* not a response */
    a[2] &= 0x7f;
    CHECK (dns_fwd_match (f, p->upstream, a, an) == NULL);
    a[2] |= 0x80;
    /* another question (a forged answer) */
    a[DNS_HEADER + 1] = 'X';
    CHECK (dns_fwd_match (f, p->upstream, a, an) == NULL);
    /* the same question in another case (0x20): ours */
    a[DNS_HEADER + 1] = 'e';
    a[DNS_HEADER + 9] = 'C';
    CHECK (dns_fwd_match (f, p->upstream, a, an) == p);
    CHECK_EQ_INT (dns_fwd_inflight (f), 0);
    CHECK (dns_fwd_match (f, p->upstream, a, an) == NULL); /* a duplicate */
    dns_fwd_free (p);
    /* a truncated answer is garbage */
    p = dns_fwd_add (f, (struct sockaddr *)&cl, sizeof cl, &q, b, n, 0);
    an = s_answer (p, a);
    CHECK (dns_fwd_match (f, p->upstream, a, an - 3) == NULL);
    CHECK (dns_fwd_match (f, p->upstream, a, 5) == NULL);
    /* an answer without the question (FORMERR from upstream) still matches */
    dns_put16 (a + 4, 0);
    CHECK (dns_fwd_match (f, p->upstream, a, DNS_HEADER) == p);
    dns_fwd_free (p);
    dns_fwd_destroy (&f);
}

static void test_retry_and_limit (void)
{
    dns_fwd_t *f = dns_fwd_new (3, 2, 2, 1000 * MS, 7);
    struct sockaddr_in cl = {.sin_family = AF_INET};
    uint8_t b[512];
    size_t n = s_query (b, 1, "a.example");
    dns_query_t q;
    dns_query_parse (b, n, &q);
    dns_pending_t *p[4];
    uint16_t ids[3];
    for (int i = 0; i < 3; i++) {
        p[i] = dns_fwd_add (f, (struct sockaddr *)&cl, sizeof cl, &q, b, n, i * MS);
        CHECK (p[i] != NULL);
        ids[i] = p[i]->id;
    }
    CHECK (ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
    /* full */
    CHECK (dns_fwd_add (f, (struct sockaddr *)&cl, sizeof cl, &q, b, n, 3 * MS) == NULL);
    bool failed;
    CHECK (dns_fwd_expired (f, 999 * MS, &failed) == NULL);
    /* the first times out: sent again, to the other upstream */
    size_t u0 = p[0]->upstream;
    CHECK (dns_fwd_expired (f, 1000 * MS, &failed) == p[0]);
    CHECK (!failed);
    CHECK_EQ_INT (p[0]->upstream, 1 - u0);
    CHECK_EQ_INT (p[0]->attempts, 2);
    CHECK (dns_fwd_expired (f, 1000 * MS, &failed) == NULL);
    CHECK_EQ_INT (dns_fwd_next (f), 1001 * MS); /* p[1] now */
    /* at 2000 ms: p[1], p[2] retried; p[0] fails at 2000 too */
    int retried = 0, fails = 0;
    dns_pending_t *x;
    while ((x = dns_fwd_expired (f, 2002 * MS, &failed))) {
        if (failed) {
            CHECK (x == p[0]);
            fails++;
            dns_fwd_free (x);
        } else
            retried++;
    }
    CHECK_EQ_INT (retried, 2);
    CHECK_EQ_INT (fails, 1);
    CHECK_EQ_INT (dns_fwd_inflight (f), 2);
    /* room again */
    p[3] = dns_fwd_add (f, (struct sockaddr *)&cl, sizeof cl, &q, b, n, 2002 * MS);
    CHECK (p[3] != NULL);
    dns_fwd_destroy (&f); /* frees what is in flight */
}

int main (int argc, char **argv)
{
    hs_test_t tests[] = {
        {"roundtrip", test_roundtrip},
        {"retry_and_limit", test_retry_and_limit},
    };
    return HS_TEST_RUN (tests);
}
