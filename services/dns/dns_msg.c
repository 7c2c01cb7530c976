/*  dns_msg.c: DNS messages (dns_msg.h). */
#include "dns_msg.h"

#include <errno.h>
#include <string.h>

#define F_QR     0x8000
#define F_OPCODE 0x7800
#define F_AA     0x0400
#define F_TC     0x0200
#define F_RD     0x0100
#define F_RA     0x0080
#define F_CD     0x0010

/* SOA timers (seconds): refresh, retry, expire. Nothing transfers our zone;
 * these are CoreDNS's values, so a tool that shows them shows familiar ones. */
#define SOA_REFRESH 7200
#define SOA_RETRY   1800
#define SOA_EXPIRE  86400

static void s_put32 (uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t s_get32 (const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int dns_name_read (const uint8_t *pkt, size_t len, size_t *off, uint8_t *wire, size_t *ret_wire_len,
                   char *dotted, bool *ret_odd)
{
    size_t pos = *off, after = 0, wl = 0, dl = 0;
    bool jumped = false, odd = false;
    int pointers = 0;
    for (;;) {
        if (pos >= len) return -EBADMSG;
        uint8_t c = pkt[pos];
        if ((c & 0xc0) == 0xc0) {
            if (pos + 1 >= len) return -EBADMSG;
            size_t target = ((size_t)(c & 0x3f) << 8) | pkt[pos + 1];
            /* Only backwards, never into the header; the count bounds a
             * cycle among backward pointers. */
            if (target >= pos || target < DNS_HEADER || ++pointers > DNS_MAX_POINTERS)
                return -EBADMSG;
            if (!jumped) after = pos + 2;
            jumped = true;
            pos = target;
            continue;
        }
        if (c & 0xc0) return -EBADMSG; /* 0x40 and 0x80: reserved label types */
        if (c == 0) {
            if (wl + 1 > DNS_MAX_NAME) return -EBADMSG;
            wire[wl++] = 0;
            pos++;
            break;
        }
        if (pos + 1 + c > len) return -EBADMSG;
        if (wl + 1 + c + 1 > DNS_MAX_NAME) return -EBADMSG; /* and the root after it */
        wire[wl++] = c;
        memcpy (wire + wl, pkt + pos + 1, c);
        wl += c;
        if (dotted && dl) dotted[dl++] = '.';
        for (size_t i = 0; i < c; i++) {
            uint8_t b = pkt[pos + 1 + i];
            if (b == '.' || b < 0x21 || b > 0x7e) {
                odd = true;
                b = '?';
            }
            if (b >= 'A' && b <= 'Z') b = (uint8_t)(b + 32);
            if (dotted) dotted[dl++] = (char)b;
        }
        pos += 1 + (size_t)c;
    }
    if (dotted) dotted[dl] = '\0';
    *off = jumped ? after : pos;
    if (ret_wire_len) *ret_wire_len = wl;
    if (ret_odd) *ret_odd = odd;
    return 0;
}

/* Skips one resource record at *off; its type, class and TTL in ret_*. */
static int s_rr_read (const uint8_t *pkt, size_t len, size_t *off, uint8_t *owner_wire,
                      size_t *owner_len, uint16_t *ret_type, uint16_t *ret_class, uint32_t *ret_ttl)
{
    if (dns_name_read (pkt, len, off, owner_wire, owner_len, NULL, NULL) < 0) return -EBADMSG;
    if (*off + 10 > len) return -EBADMSG;
    const uint8_t *p = pkt + *off;
    uint16_t rdlen = dns_get16 (p + 8);
    if (*off + 10 + rdlen > len) return -EBADMSG;
    *ret_type = dns_get16 (p);
    *ret_class = dns_get16 (p + 2);
    *ret_ttl = s_get32 (p + 4);
    *off += 10 + (size_t)rdlen;
    return 0;
}

int dns_query_parse (const uint8_t *pkt, size_t len, dns_query_t *q)
{
    q->id = 0;
    q->flags = 0;
    q->qname_len = 0;
    q->name[0] = '\0';
    q->name_odd = false;
    q->qtype = q->qclass = 0;
    q->question_end = 0;
    q->edns = false;
    q->edns_version = 0;
    q->edns_udp = 0;
    q->edns_do = false;
    if (!pkt || len < DNS_HEADER) return DNS_PARSE_DROP;
    q->id = dns_get16 (pkt);
    q->flags = dns_get16 (pkt + 2);
    if (q->flags & F_QR) return DNS_PARSE_DROP; /* a response: answering it could loop */
    if ((q->flags & F_OPCODE) != 0) return DNS_PARSE_NOTIMP;
    uint16_t qd = dns_get16 (pkt + 4), an = dns_get16 (pkt + 6), ns = dns_get16 (pkt + 8),
             ar = dns_get16 (pkt + 10);
    if (qd != 1) return DNS_PARSE_FORMERR;
    size_t off = DNS_HEADER;
    if (dns_name_read (pkt, len, &off, q->qname, &q->qname_len, q->name, &q->name_odd) < 0)
        return DNS_PARSE_FORMERR;
    if (off + 4 > len) return DNS_PARSE_FORMERR;
    q->qtype = dns_get16 (pkt + off);
    q->qclass = dns_get16 (pkt + off + 2);
    off += 4;
    size_t qend = off;
    uint8_t owner[DNS_MAX_NAME];
    size_t owner_len;
    uint16_t type, klass;
    uint32_t ttl;
    for (uint32_t i = 0; i < (uint32_t)an + ns; i++)
        if (s_rr_read (pkt, len, &off, owner, &owner_len, &type, &klass, &ttl) < 0)
            return DNS_PARSE_FORMERR;
    for (uint16_t i = 0; i < ar; i++) {
        if (s_rr_read (pkt, len, &off, owner, &owner_len, &type, &klass, &ttl) < 0)
            return DNS_PARSE_FORMERR;
        if (type != DNS_TYPE_OPT) continue;
        /* RFC 6891 §6.1.1: one OPT, owned by the root */
        if (q->edns || owner_len != 1) return DNS_PARSE_FORMERR;
        q->edns = true;
        q->edns_udp = klass;
        q->edns_version = (uint8_t)(ttl >> 16);
        q->edns_do = (ttl & 0x8000) != 0;
    }
    q->question_end = qend;
    return 0;
}

size_t dns_udp_limit (const dns_query_t *q)
{
    if (!q->edns || q->edns_udp <= DNS_UDP_MIN) return DNS_UDP_MIN;
    return q->edns_udp > DNS_EDNS_MAX_UDP ? DNS_EDNS_MAX_UDP : q->edns_udp;
}

int dns_name_to_wire (const char *dotted, uint8_t *out)
{
    size_t n = 0;
    const char *p = dotted ? dotted : "";
    while (*p) {
        const char *dot = strchr (p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen (p);
        if (l == 0 || l > DNS_MAX_LABEL || n + 1 + l + 1 > DNS_MAX_NAME) return -EINVAL;
        out[n++] = (uint8_t)l;
        memcpy (out + n, p, l);
        n += l;
        p += l;
        if (*p == '.') {
            p++;
            if (!*p) return -EINVAL; /* a trailing dot: we take names without one */
        }
    }
    out[n++] = 0;
    return (int)n;
}

/* The fixed part of a record: type, class, TTL, rdata length. */
static void s_rr_head (uint8_t *p, uint16_t type, uint32_t ttl, uint16_t rdlen)
{
    dns_put16 (p, type);
    dns_put16 (p + 2, DNS_CLASS_IN);
    s_put32 (p + 4, ttl);
    dns_put16 (p + 8, rdlen);
}

/* The SOA record holds the zone three times (owner, ns.dns.<zone>, hostmaster.<zone>) plus
 * the fixed part (10), the two prefixes (7 + 11) and the five numbers (20): 3 * zl + 48. */
#define SOA_MAX (3 * DNS_MAX_NAME + 48)

/* The zone's SOA record into p (cap bytes, SOA_MAX is always enough). Length, 0 on a bad zone
 * (hostmaster.<zone> would be longer than a name) or one that does not fit cap. */
static size_t s_soa (const char *zone, uint32_t ttl, uint8_t *p, size_t cap)
{
    uint8_t zw[DNS_MAX_NAME];
    int zl = dns_name_to_wire (zone, zw);
    if (zl < 0 || zl + 11 > DNS_MAX_NAME) return 0;
    if (3 * (size_t)zl + 48 > cap) return 0;
    size_t n = 0;
    memcpy (p, zw, (size_t)zl);
    n += (size_t)zl;
    uint8_t *head = p + n;
    n += 10;
    size_t rd = n;
    /* mname ns.dns.<zone>, rname hostmaster.<zone> */
    static const uint8_t ns[] = {2, 'n', 's', 3, 'd', 'n', 's'};
    memcpy (p + n, ns, sizeof ns);
    n += sizeof ns;
    memcpy (p + n, zw, (size_t)zl);
    n += (size_t)zl;
    static const uint8_t hm[] = {10, 'h', 'o', 's', 't', 'm', 'a', 's', 't', 'e', 'r'};
    memcpy (p + n, hm, sizeof hm);
    n += sizeof hm;
    memcpy (p + n, zw, (size_t)zl);
    n += (size_t)zl;
    s_put32 (p + n, 1); /* serial: nothing transfers the zone */
    s_put32 (p + n + 4, SOA_REFRESH);
    s_put32 (p + n + 8, SOA_RETRY);
    s_put32 (p + n + 12, SOA_EXPIRE);
    s_put32 (p + n + 16, ttl); /* minimum: the negative answers' TTL (RFC 2308) */
    n += 20;
    s_rr_head (head, DNS_TYPE_SOA, ttl, (uint16_t)(n - rd));
    return n;
}

size_t dns_reply_build (const dns_query_t *q, const dns_reply_t *r, size_t max, uint8_t *out,
                        size_t cap)
{
    if (max > cap) max = cap;
    if (max < DNS_UDP_MIN) max = DNS_UDP_MIN; /* cap is at least that (the contract) */
    int rcode = r->rcode;
    if (rcode > 15 && !q->edns) rcode = DNS_RCODE_SERVFAIL;
    size_t opt_len = q->edns ? 11 : 0;
    size_t limit = max - opt_len;
    size_t n = DNS_HEADER;
    uint16_t qd = 0, an = 0, ns = 0, ar = 0;
    bool tc = false;
    if (q->question_end > 0) {
        memcpy (out + n, q->qname, q->qname_len);
        n += q->qname_len;
        dns_put16 (out + n, q->qtype);
        dns_put16 (out + n + 2, q->qclass);
        n += 4;
        qd = 1;
    }
    uint8_t soa[SOA_MAX];
    size_t soa_len = r->soa_zone && qd ? s_soa (r->soa_zone, r->ttl, soa, sizeof soa) : 0;
    if (soa_len && r->soa_in_answer) {
        if (n + soa_len <= limit) {
            memcpy (out + n, soa, soa_len);
            n += soa_len;
            an++;
        } else
            tc = true;
    }
    for (size_t i = 0; qd && !tc && i < r->n_a; i++) {
        if (n + 16 > limit) {
            tc = true;
            break;
        }
        dns_put16 (out + n, 0xc000 | DNS_HEADER); /* the question's name */
        s_rr_head (out + n + 2, DNS_TYPE_A, r->ttl, 4);
        s_put32 (out + n + 12, r->a[(i + r->a_rotate) % r->n_a]);
        n += 16;
        an++;
    }
    for (size_t i = 0; qd && !tc && i < r->n_srv; i++) {
        uint8_t tw[DNS_MAX_NAME];
        int tl = dns_name_to_wire (r->srv[i].target, tw);
        if (tl < 0) continue;
        size_t rec = 2 + 10 + 6 + (size_t)tl;
        if (n + rec > limit) {
            tc = true;
            break;
        }
        dns_put16 (out + n, 0xc000 | DNS_HEADER);
        s_rr_head (out + n + 2, DNS_TYPE_SRV, r->ttl, (uint16_t)(6 + tl));
        dns_put16 (out + n + 12, r->srv[i].priority);
        dns_put16 (out + n + 14, r->srv[i].weight);
        dns_put16 (out + n + 16, r->srv[i].port);
        memcpy (out + n + 18, tw, (size_t)tl); /* uncompressed (RFC 2782) */
        n += rec;
        an++;
    }
    /* The negative answer's SOA; a client that lacks it only caches less. */
    if (soa_len && !r->soa_in_answer && !tc && n + soa_len <= limit) {
        memcpy (out + n, soa, soa_len);
        n += soa_len;
        ns++;
    }
    if (opt_len) {
        out[n] = 0; /* root */
        dns_put16 (out + n + 1, DNS_TYPE_OPT);
        dns_put16 (out + n + 3, DNS_EDNS_MAX_UDP);
        /* extended rcode, version 0, no DO: we do not sign */
        s_put32 (out + n + 5, (uint32_t)((rcode >> 4) & 0xff) << 24);
        dns_put16 (out + n + 9, 0);
        n += 11;
        ar++;
    }
    uint16_t flags = F_QR | (q->flags & (F_OPCODE | F_RD | F_CD)) | F_RA;
    if (r->aa) flags |= F_AA;
    if (tc) flags |= F_TC;
    flags |= (uint16_t)(rcode & 0x0f);
    dns_put16 (out, q->id);
    dns_put16 (out + 2, flags);
    dns_put16 (out + 4, qd);
    dns_put16 (out + 6, an);
    dns_put16 (out + 8, ns);
    dns_put16 (out + 10, ar);
    return n;
}

size_t dns_reply_error (const dns_query_t *q, int rcode, uint8_t *out, size_t cap)
{
    dns_reply_t r = {.rcode = rcode};
    return dns_reply_build (q, &r, DNS_UDP_MIN, out, cap);
}
