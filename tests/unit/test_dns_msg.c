/*  test_dns_msg.c: DNS messages (services/dns/dns_msg.h): parsing queries,
 *  hostile names, answers, negative answers, EDNS, truncation. */
#include "dns_msg.h"
#include "hs_test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A query for name/qtype into buf; with edns > 0 an OPT of that size. */
static size_t s_query (uint8_t *buf, uint16_t id, const char *name, uint16_t qtype, int edns)
{
    memset (buf, 0, DNS_HEADER);
    dns_put16 (buf, id);
    dns_put16 (buf + 2, 0x0100); /* RD */
    dns_put16 (buf + 4, 1);
    dns_put16 (buf + 10, edns > 0 ? 1 : 0);
    size_t n = DNS_HEADER;
    int l = dns_name_to_wire (name, buf + n);
    n += (size_t)l;
    dns_put16 (buf + n, qtype);
    dns_put16 (buf + n + 2, DNS_CLASS_IN);
    n += 4;
    if (edns > 0) {
        buf[n] = 0;
        dns_put16 (buf + n + 1, DNS_TYPE_OPT);
        dns_put16 (buf + n + 3, (uint16_t)edns);
        memset (buf + n + 5, 0, 6);
        n += 11;
    }
    return n;
}

/* A response's record counts. */
static void s_counts (const uint8_t *r, int *qd, int *an, int *ns, int *ar)
{
    *qd = dns_get16 (r + 4);
    *an = dns_get16 (r + 6);
    *ns = dns_get16 (r + 8);
    *ar = dns_get16 (r + 10);
}

static void test_parse (void)
{
    uint8_t b[512];
    dns_query_t q;
    size_t n = s_query (b, 0x1234, "Catalog.Default.svc.cluster.local", DNS_TYPE_A, 0);
    CHECK_EQ_INT (dns_query_parse (b, n, &q), 0);
    CHECK_EQ_INT (q.id, 0x1234);
    CHECK_EQ_STR (q.name, "catalog.default.svc.cluster.local");
    CHECK_EQ_INT (q.qtype, DNS_TYPE_A);
    CHECK_EQ_INT (q.qclass, DNS_CLASS_IN);
    CHECK (!q.edns);
    CHECK (!q.name_odd);
    CHECK_EQ_INT (q.question_end, n);
    CHECK_EQ_INT (dns_udp_limit (&q), 512);
    /* the case of the question is kept for the answer (0x20 randomization) */
    CHECK (memcmp (q.qname, "\7Catalog", 8) == 0);

    n = s_query (b, 7, "example.com", DNS_TYPE_AAAA, 4096);
    CHECK_EQ_INT (dns_query_parse (b, n, &q), 0);
    CHECK (q.edns);
    CHECK_EQ_INT (q.edns_udp, 4096);
    CHECK_EQ_INT (dns_udp_limit (&q), DNS_EDNS_MAX_UDP);
    n = s_query (b, 7, "example.com", DNS_TYPE_AAAA, 100);
    CHECK_EQ_INT (dns_query_parse (b, n, &q), 0);
    CHECK_EQ_INT (dns_udp_limit (&q), 512);

    /* the root */
    n = s_query (b, 7, "", DNS_TYPE_NS, 0);
    CHECK_EQ_INT (dns_query_parse (b, n, &q), 0);
    CHECK_EQ_STR (q.name, "");
}

static void test_parse_refused (void)
{
    uint8_t b[600];
    dns_query_t q;
    size_t n = s_query (b, 1, "a.b", DNS_TYPE_A, 0);
    /* shorter than a header: dropped; every truncation of a whole query: FORMERR */
    for (size_t k = 0; k < DNS_HEADER; k++)
        CHECK_EQ_INT (dns_query_parse (b, k, &q), DNS_PARSE_DROP);
    for (size_t k = DNS_HEADER; k < n; k++)
        CHECK_EQ_INT (dns_query_parse (b, k, &q), DNS_PARSE_FORMERR);
    CHECK_EQ_INT (dns_query_parse (NULL, 0, &q), DNS_PARSE_DROP);
    /* a response */
    b[2] |= 0x80;
    CHECK_EQ_INT (dns_query_parse (b, n, &q), DNS_PARSE_DROP);
    b[2] &= 0x7f;
    /* opcode STATUS (2) */
    b[2] |= 2 << 3;
    CHECK_EQ_INT (dns_query_parse (b, n, &q), DNS_PARSE_NOTIMP);
    CHECK_EQ_INT (q.id, 1);
    b[2] &= (uint8_t) ~(0xf << 3);
    /* no question, two questions */
    dns_put16 (b + 4, 0);
    CHECK_EQ_INT (dns_query_parse (b, n, &q), DNS_PARSE_FORMERR);
    dns_put16 (b + 4, 2);
    CHECK_EQ_INT (dns_query_parse (b, n, &q), DNS_PARSE_FORMERR);
    dns_put16 (b + 4, 1);
    /* an additional record announced but absent */
    dns_put16 (b + 10, 1);
    CHECK_EQ_INT (dns_query_parse (b, n, &q), DNS_PARSE_FORMERR);
    dns_put16 (b + 10, 0);
    CHECK_EQ_INT (dns_query_parse (b, n, &q), 0);

    /* two OPT records */
    n = s_query (b, 1, "a.b", DNS_TYPE_A, 1232);
    memcpy (b + n, b + n - 11, 11);
    dns_put16 (b + 10, 2);
    CHECK_EQ_INT (dns_query_parse (b, n + 11, &q), DNS_PARSE_FORMERR);

    /* a label over 63 bytes */
    memset (b, 0, sizeof b);
    dns_put16 (b + 4, 1);
    b[12] = 64;
    memset (b + 13, 'a', 64);
    b[13 + 64] = 0;
    CHECK_EQ_INT (dns_query_parse (b, 13 + 64 + 1 + 4, &q), DNS_PARSE_FORMERR);
    /* 0x40 and 0x80 label types */
    b[12] = 0x41;
    CHECK_EQ_INT (dns_query_parse (b, 13 + 64 + 1 + 4, &q), DNS_PARSE_FORMERR);
    b[12] = 0x81;
    CHECK_EQ_INT (dns_query_parse (b, 13 + 64 + 1 + 4, &q), DNS_PARSE_FORMERR);

    /* a name over 255 bytes: 5 labels of 63 */
    memset (b, 0, sizeof b);
    dns_put16 (b + 4, 1);
    size_t o = DNS_HEADER;
    for (int i = 0; i < 5; i++) {
        b[o++] = 63;
        memset (b + o, 'x', 63);
        o += 63;
    }
    b[o++] = 0;
    CHECK_EQ_INT (dns_query_parse (b, o + 4, &q), DNS_PARSE_FORMERR);
    /* 4 labels of 63 = 257 bytes with the root: over too; 3 of 63 + 1 of 61 = 255: fine */
    memset (b, 0, sizeof b);
    dns_put16 (b + 4, 1);
    o = DNS_HEADER;
    for (int i = 0; i < 4; i++) {
        int l = i == 3 ? 61 : 63;
        b[o++] = (uint8_t)l;
        memset (b + o, 'x', (size_t)l);
        o += (size_t)l;
    }
    b[o++] = 0;
    CHECK_EQ_INT (o - DNS_HEADER, 255);
    CHECK_EQ_INT (dns_query_parse (b, o + 4, &q), 0);
    CHECK_EQ_INT (strlen (q.name), 253);
    b[DNS_HEADER + 3 * 64] = 62; /* one byte longer: 256 */
    memmove (b + o, b + o - 1, 5);
    b[o - 1] = 'x';
    CHECK_EQ_INT (dns_query_parse (b, o + 5, &q), DNS_PARSE_FORMERR);
}

static void test_pointers (void)
{
    uint8_t b[512];
    dns_query_t q;
    memset (b, 0, sizeof b);
    dns_put16 (b + 4, 1);
    dns_put16 (b + 10, 1);
    /* The question is a pointer to a name the additional section holds?
     * Forward pointers are refused: a name may only point back. */
    b[12] = 0xc0;
    b[13] = 20;
    CHECK_EQ_INT (dns_query_parse (b, 40, &q), DNS_PARSE_FORMERR);
    /* pointing at itself */
    b[13] = 12;
    CHECK_EQ_INT (dns_query_parse (b, 40, &q), DNS_PARSE_FORMERR);
    /* into the header */
    b[13] = 2;
    CHECK_EQ_INT (dns_query_parse (b, 40, &q), DNS_PARSE_FORMERR);
    /* out of bounds */
    b[12] = 0xff;
    b[13] = 0xff;
    CHECK_EQ_INT (dns_query_parse (b, 40, &q), DNS_PARSE_FORMERR);
    /* a pointer cut in half */
    b[12] = 0xc0;
    CHECK_EQ_INT (dns_query_parse (b, 13, &q), DNS_PARSE_FORMERR);

    /* A loop of backward pointers, read from the additional section: the
     * question is "a" + pointer to 16, which is "b" + pointer to 12. */
    memset (b, 0, sizeof b);
    dns_put16 (b + 4, 1);
    b[12] = 1;
    b[13] = 'a';
    b[14] = 0xc0;
    b[15] = 16; /* forward: refused already */
    CHECK_EQ_INT (dns_query_parse (b, 30, &q), DNS_PARSE_FORMERR);

    /* A valid backward pointer: the OPT's owner is not the root but a
     * pointer to the question's name: FORMERR (an OPT must be the root). */
    size_t n = s_query (b, 9, "svc.cluster.local", DNS_TYPE_A, 0);
    dns_put16 (b + 10, 1);
    b[n] = 0xc0;
    b[n + 1] = 12;
    dns_put16 (b + n + 2, DNS_TYPE_OPT);
    dns_put16 (b + n + 4, 1232);
    memset (b + n + 6, 0, 6);
    CHECK_EQ_INT (dns_query_parse (b, n + 12, &q), DNS_PARSE_FORMERR);
    /* as another type it is fine, and reading it follows the pointer */
    dns_put16 (b + n + 2, DNS_TYPE_A);
    dns_put16 (b + n + 10, 0);
    CHECK_EQ_INT (dns_query_parse (b, n + 12, &q), 0);
    size_t off = n;
    uint8_t wire[DNS_MAX_NAME];
    char dotted[DNS_MAX_NAME];
    size_t wl;
    bool odd;
    CHECK_EQ_INT (dns_name_read (b, n + 12, &off, wire, &wl, dotted, &odd), 0);
    CHECK_EQ_INT (off, n + 2);
    CHECK_EQ_STR (dotted, "svc.cluster.local");
    CHECK_EQ_INT (wl, 19);

    /* A chain of backward pointers, each to the one before: more than
     * DNS_MAX_POINTERS is refused even though none loops. */
    memset (b, 0, sizeof b);
    b[12] = 0; /* the root at 12 */
    for (int i = 0; i < 40; i++) {
        size_t at = 13 + 2 * (size_t)i;
        size_t to = i == 0 ? 12 : at - 2;
        b[at] = (uint8_t)(0xc0 | (to >> 8));
        b[at + 1] = (uint8_t)to;
    }
    off = 13 + 2 * 10; /* 11 pointers: fine */
    CHECK_EQ_INT (dns_name_read (b, sizeof b, &off, wire, &wl, dotted, &odd), 0);
    off = 13 + 2 * 30; /* 31: refused */
    CHECK_EQ_INT (dns_name_read (b, sizeof b, &off, wire, &wl, dotted, &odd), -EBADMSG);

    /* odd labels: a dot inside one, a NUL */
    memset (b, 0, sizeof b);
    dns_put16 (b + 4, 1);
    memcpy (b + 12, "\3a.b\0", 5);
    CHECK_EQ_INT (dns_query_parse (b, 12 + 5 + 4, &q), 0);
    CHECK (q.name_odd);
}

/* Every prefix and every single-byte corruption of a valid query parses to
 * some outcome without reading past the end (ASan watches). */
static void test_fuzzish (void)
{
    uint8_t b[512];
    size_t n = s_query (b, 3, "_http._tcp.web.default.svc.cluster.local", DNS_TYPE_SRV, 1232);
    dns_query_t q;
    for (size_t k = 0; k <= n; k++) {
        uint8_t *c = malloc (k ? k : 1);
        memcpy (c, b, k);
        (void)dns_query_parse (c, k, &q);
        free (c);
    }
    srand (42);
    for (int i = 0; i < 20000; i++) {
        uint8_t c[512];
        memcpy (c, b, n);
        int flips = 1 + rand () % 4;
        for (int f = 0; f < flips; f++) c[rand () % n] = (uint8_t)rand ();
        size_t len = (size_t)(rand () % (int)(n + 1));
        uint8_t *h = malloc (len ? len : 1);
        memcpy (h, c, len);
        int r = dns_query_parse (h, len, &q);
        if (r == 0 || r == DNS_PARSE_FORMERR || r == DNS_PARSE_NOTIMP) {
            uint8_t out[600];
            dns_reply_t rep = {.rcode = DNS_RCODE_NXDOMAIN, .soa_zone = "cluster.local"};
            size_t on = r == 0 ? dns_reply_build (&q, &rep, 512, out, sizeof out)
                               : dns_reply_error (&q, DNS_RCODE_FORMERR, out, sizeof out);
            CHECK (on >= DNS_HEADER && on <= 512);
        }
        free (h);
    }
}

static void test_answers (void)
{
    uint8_t b[512], out[DNS_MAX_TCP];
    dns_query_t q;
    size_t n = s_query (b, 0xbeef, "Web.default.svc.cluster.local", DNS_TYPE_A, 0);
    CHECK_EQ_INT (dns_query_parse (b, n, &q), 0);
    uint32_t ips[] = {0x0a600001, 0x0a600002};
    dns_reply_t r = {.aa = true, .a = ips, .n_a = 2, .a_rotate = 1, .ttl = 5};
    size_t on = dns_reply_build (&q, &r, 512, out, sizeof out);
    int qd, an, ns, ar;
    s_counts (out, &qd, &an, &ns, &ar);
    CHECK_EQ_INT (dns_get16 (out), 0xbeef);
    CHECK_EQ_INT (dns_get16 (out + 2), 0x8580); /* QR AA RD RA, NOERROR */
    CHECK_EQ_INT (qd, 1);
    CHECK_EQ_INT (an, 2);
    CHECK_EQ_INT (ns + ar, 0);
    CHECK_EQ_INT (on, n + 2 * 16);
    /* the question as sent, case kept */
    CHECK (memcmp (out + DNS_HEADER, b + DNS_HEADER, n - DNS_HEADER) == 0);
    /* first record: pointer to the question, A IN ttl 5, the rotated address */
    const uint8_t *rr = out + n;
    CHECK_EQ_INT (dns_get16 (rr), 0xc00c);
    CHECK_EQ_INT (dns_get16 (rr + 2), DNS_TYPE_A);
    CHECK_EQ_INT (dns_get16 (rr + 4), DNS_CLASS_IN);
    CHECK_EQ_INT (dns_get16 (rr + 8), 5);
    CHECK_EQ_INT (dns_get16 (rr + 10), 4);
    CHECK (memcmp (rr + 12, "\x0a\x60\x00\x02", 4) == 0);
    CHECK (memcmp (rr + 16 + 12, "\x0a\x60\x00\x01", 4) == 0);

    /* NXDOMAIN: the SOA in authority, its minimum = the TTL */
    dns_reply_t nx = {
        .rcode = DNS_RCODE_NXDOMAIN, .aa = true, .soa_zone = "cluster.local", .ttl = 5};
    on = dns_reply_build (&q, &nx, 512, out, sizeof out);
    s_counts (out, &qd, &an, &ns, &ar);
    CHECK_EQ_INT (dns_msg_rcode (out), DNS_RCODE_NXDOMAIN);
    CHECK_EQ_INT (an, 0);
    CHECK_EQ_INT (ns, 1);
    CHECK_EQ_INT (dns_get16 (out + n + 15), DNS_TYPE_SOA); /* owner \7cluster\5local\0 = 15 */
    CHECK_EQ_INT (dns_get16 (out + on - 2), 5);            /* minimum */
    /* NODATA: NOERROR, no answers, the SOA */
    nx.rcode = DNS_RCODE_NOERROR;
    dns_reply_build (&q, &nx, 512, out, sizeof out);
    s_counts (out, &qd, &an, &ns, &ar);
    CHECK_EQ_INT (dns_msg_rcode (out), 0);
    CHECK_EQ_INT (an, 0);
    CHECK_EQ_INT (ns, 1);

    /* SRV: target uncompressed */
    n = s_query (b, 1, "_http._tcp.web.default.svc.cluster.local", DNS_TYPE_SRV, 0);
    CHECK_EQ_INT (dns_query_parse (b, n, &q), 0);
    dns_srv_t srv = {
        .priority = 0, .weight = 100, .port = 80, .target = "web.default.svc.cluster.local"};
    dns_reply_t rs = {.aa = true, .srv = &srv, .n_srv = 1, .ttl = 5};
    on = dns_reply_build (&q, &rs, 512, out, sizeof out);
    s_counts (out, &qd, &an, &ns, &ar);
    CHECK_EQ_INT (an, 1);
    CHECK_EQ_INT (dns_get16 (out + n + 2), DNS_TYPE_SRV);
    CHECK_EQ_INT (dns_get16 (out + n + 16), 80);
    CHECK (memcmp (out + n + 18, "\3web\7default\3svc\7cluster\5local", 30) == 0);
    CHECK_EQ_INT (on, n + 18 + 31);
}

static void test_edns_and_truncation (void)
{
    uint8_t b[512], out[DNS_MAX_TCP];
    dns_query_t q;
    uint32_t *ips = calloc (200, sizeof *ips);
    for (int i = 0; i < 200; i++) ips[i] = 0x0af40000u + (uint32_t)i;
    dns_reply_t r = {.aa = true, .a = ips, .n_a = 200, .ttl = 5};
    int qd, an, ns, ar;

    /* no EDNS, over UDP: 512 bytes, TC, the records that fit */
    size_t n = s_query (b, 1, "h.default.svc.cluster.local", DNS_TYPE_A, 0);
    CHECK_EQ_INT (dns_query_parse (b, n, &q), 0);
    size_t on = dns_reply_build (&q, &r, dns_udp_limit (&q), out, sizeof out);
    s_counts (out, &qd, &an, &ns, &ar);
    CHECK (on <= 512);
    CHECK (out[2] & 0x02);
    CHECK_EQ_INT (an, (512 - (int)n) / 16);
    /* over TCP all of them */
    on = dns_reply_build (&q, &r, DNS_MAX_TCP, out, sizeof out);
    s_counts (out, &qd, &an, &ns, &ar);
    CHECK (!(out[2] & 0x02));
    CHECK_EQ_INT (an, 200);
    CHECK_EQ_INT (on, n + 200 * 16);

    /* EDNS 1232: more fit, and the OPT comes back (our size, no rcode) */
    n = s_query (b, 1, "h.default.svc.cluster.local", DNS_TYPE_A, 4096);
    CHECK_EQ_INT (dns_query_parse (b, n, &q), 0);
    on = dns_reply_build (&q, &r, dns_udp_limit (&q), out, sizeof out);
    s_counts (out, &qd, &an, &ns, &ar);
    CHECK (on <= DNS_EDNS_MAX_UDP);
    CHECK (out[2] & 0x02);
    CHECK_EQ_INT (ar, 1);
    size_t qlen = n - 11; /* the question ends where the query's OPT began */
    CHECK_EQ_INT (an, ((int)DNS_EDNS_MAX_UDP - (int)qlen - 11) / 16);
    const uint8_t *opt = out + on - 11;
    CHECK_EQ_INT (opt[0], 0);
    CHECK_EQ_INT (dns_get16 (opt + 1), DNS_TYPE_OPT);
    CHECK_EQ_INT (dns_get16 (opt + 3), DNS_EDNS_MAX_UDP);
    CHECK_EQ_INT (opt[5], 0);
    /* a small answer fits: no TC */
    r.n_a = 3;
    dns_reply_build (&q, &r, dns_udp_limit (&q), out, sizeof out);
    CHECK (!(out[2] & 0x02));
    free (ips);

    /* BADVERS: extended rcode 16 = 1 in the OPT's high byte, 0 in the header */
    n = s_query (b, 1, "x.cluster.local", DNS_TYPE_A, 1232);
    b[n - 11 + 6] = 1; /* version 1 */
    CHECK_EQ_INT (dns_query_parse (b, n, &q), 0);
    CHECK_EQ_INT (q.edns_version, 1);
    on = dns_reply_error (&q, DNS_RCODE_BADVERS, out, sizeof out);
    CHECK_EQ_INT (dns_msg_rcode (out), 0);
    CHECK_EQ_INT (out[on - 11 + 5], 1);
    /* without EDNS an extended rcode cannot be said: SERVFAIL */
    n = s_query (b, 1, "x.cluster.local", DNS_TYPE_A, 0);
    CHECK_EQ_INT (dns_query_parse (b, n, &q), 0);
    dns_reply_error (&q, DNS_RCODE_BADVERS, out, sizeof out);
    CHECK_EQ_INT (dns_msg_rcode (out), DNS_RCODE_SERVFAIL);

    /* an error for a query that did not parse: header only */
    memset (b, 0, 20);
    dns_put16 (b, 77);
    dns_put16 (b + 4, 3);
    CHECK_EQ_INT (dns_query_parse (b, 20, &q), DNS_PARSE_FORMERR);
    on = dns_reply_error (&q, DNS_RCODE_FORMERR, out, sizeof out);
    CHECK_EQ_INT (on, DNS_HEADER);
    CHECK_EQ_INT (dns_get16 (out), 77);
    CHECK_EQ_INT (dns_msg_rcode (out), DNS_RCODE_FORMERR);
    s_counts (out, &qd, &an, &ns, &ar);
    CHECK_EQ_INT (qd + an + ns + ar, 0);
}

static void test_name_to_wire (void)
{
    uint8_t w[DNS_MAX_NAME];
    CHECK_EQ_INT (dns_name_to_wire ("a.bc", w), 6);
    CHECK (memcmp (w, "\1a\2bc\0", 6) == 0);
    CHECK_EQ_INT (dns_name_to_wire ("", w), 1);
    CHECK_EQ_INT (dns_name_to_wire ("a..b", w), -EINVAL);
    CHECK_EQ_INT (dns_name_to_wire ("a.", w), -EINVAL);
    char big[300];
    memset (big, 'a', 64);
    big[64] = '\0';
    CHECK_EQ_INT (dns_name_to_wire (big, w), -EINVAL);
}

/* The SOA holds the zone three times (owner, ns.dns.<zone>, hostmaster.<zone>): the longest
 * zone the builder accepts (wire 244 bytes, so that hostmaster.<zone> is still a name) makes a
 * 3 * 244 + 48 byte record, all of which must fit the builder's buffer. */
static void test_soa_long_zone (void)
{
    char zone[256];
    size_t zn = 0;
    for (int l = 0; l < 4; l++) {
        int len = l < 3 ? 63 : 50;
        if (l) zone[zn++] = '.';
        memset (zone + zn, 'a' + l, (size_t)len);
        zn += (size_t)len;
    }
    zone[zn] = '\0';
    CHECK_EQ_INT (zn, 242);
    uint8_t b[512], out[DNS_MAX_TCP];
    dns_query_t q;
    size_t n = s_query (b, 1, "x.cluster.local", DNS_TYPE_A, 0);
    CHECK_EQ_INT (dns_query_parse (b, n, &q), 0);
    dns_reply_t nx = {.rcode = DNS_RCODE_NXDOMAIN, .aa = true, .soa_zone = zone, .ttl = 5};
    int qd, an, ns, ar;
    size_t on = dns_reply_build (&q, &nx, DNS_MAX_TCP, out, sizeof out);
    s_counts (out, &qd, &an, &ns, &ar);
    CHECK_EQ_INT (ns, 1);
    CHECK_EQ_INT (on, n + 3 * 244 + 48);
    CHECK_EQ_INT (dns_get16 (out + n + 244), DNS_TYPE_SOA);
    CHECK_EQ_INT (dns_get16 (out + on - 2), 5);
    /* in the answer section too (a SOA query for the zone) */
    nx.soa_in_answer = true;
    on = dns_reply_build (&q, &nx, DNS_MAX_TCP, out, sizeof out);
    s_counts (out, &qd, &an, &ns, &ar);
    CHECK_EQ_INT (an, 1);
    CHECK_EQ_INT (on, n + 3 * 244 + 48);
    /* one character longer and hostmaster.<zone> is no name: no SOA, no overrun */
    zone[zn] = 'e';
    zone[zn + 1] = '\0';
    nx.soa_in_answer = false;
    on = dns_reply_build (&q, &nx, DNS_MAX_TCP, out, sizeof out);
    s_counts (out, &qd, &an, &ns, &ar);
    CHECK_EQ_INT (ns, 0);
}

int main (int argc, char **argv)
{
    hs_test_t tests[] = {
        {"parse", test_parse},
        {"parse_refused", test_parse_refused},
        {"pointers", test_pointers},
        {"fuzzish", test_fuzzish},
        {"answers", test_answers},
        {"edns_and_truncation", test_edns_and_truncation},
        {"name_to_wire", test_name_to_wire},
        {"soa_long_zone", test_soa_long_zone},
    };
    return HS_TEST_RUN (tests);
}
