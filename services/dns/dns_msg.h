/*  dns_msg.h: DNS messages (RFC 1035, EDNS0 of RFC 6891), pure: bytes in,
 *  bytes out, no sockets, no clock.
 *
 *  A query is one question. Its name may use compression pointers (no
 *  client needs them in a question, but RFC 1035 allows them anywhere); a
 *  pointer must point backwards, inside the packet, and a name may follow
 *  at most DNS_MAX_POINTERS of them, so loops and out-of-bounds pointers are
 *  refused. So are labels over 63 bytes, names over 255 bytes on the wire
 *  and the reserved label types (0x40, 0x80). What cannot be parsed is
 *  answered FORMERR when it has a whole header, and dropped when it has not
 *  (dns_query_parse's codes say which); nothing is read past the packet.
 *
 *  Answers are built into a caller's buffer: the header, the question as the
 *  client sent it (re-encoded without compression), the answer records
 *  (their owner a pointer to the question's name, 0xC00C), the zone's SOA in
 *  the authority section for NXDOMAIN and NODATA (RFC 2308: its minimum,
 *  the TTL of the negative answer, is the TTL we use), and an OPT record
 *  when the query had one. When the records do not fit the client's size
 *  (512 over UDP, or its EDNS size, at least 512 and at most
 *  DNS_EDNS_MAX_UDP), the answer holds the records that fit and sets TC,
 *  so the client asks again over TCP.
 */
#ifndef DNS_MSG_H
#define DNS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HEADER       12
#define DNS_MAX_NAME     255 /* on the wire, with the length bytes and the root */
#define DNS_MAX_LABEL    63
#define DNS_MAX_POINTERS 16
#define DNS_UDP_MIN      512
#define DNS_EDNS_MAX_UDP 1232 /* what we offer and accept over UDP (the 2020 "DNS flag day" size) */
#define DNS_MAX_TCP      65535

#define DNS_TYPE_A     1
#define DNS_TYPE_NS    2
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_SOA   6
#define DNS_TYPE_PTR   12
#define DNS_TYPE_AAAA  28
#define DNS_TYPE_SRV   33
#define DNS_TYPE_OPT   41
#define DNS_TYPE_ANY   255
#define DNS_CLASS_IN   1

#define DNS_RCODE_NOERROR  0
#define DNS_RCODE_FORMERR  1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_NOTIMP   4
#define DNS_RCODE_REFUSED  5
#define DNS_RCODE_BADVERS  16 /* extended (EDNS): upper 8 bits in the OPT record */
#define DNS_RCODES         17 /* counters are kept per rcode 0..16 */

/* A parsed query. */
typedef struct {
    uint16_t id;
    uint16_t flags;              /* the header's flags word as sent */
    uint8_t qname[DNS_MAX_NAME]; /* the name, uncompressed wire form, as sent (case kept) */
    size_t qname_len;            /* bytes in qname, the root's 0 included */
    char name[DNS_MAX_NAME];     /* lower-case, dotted, no trailing dot; "" for the root */
    bool name_odd;               /* a label holds '.', a NUL or a byte outside printable
                                       ASCII: never one of ours (zone lookups skip it) */
    uint16_t qtype, qclass;
    size_t question_end; /* offset just past the question in the packet */
    bool edns;           /* an OPT record came with it */
    uint8_t edns_version;
    uint16_t edns_udp; /* the client's UDP size, as sent */
    bool edns_do;
} dns_query_t;

/* The answers to put in a response. */
typedef struct {
    uint16_t priority, weight, port;
    const char *target; /* dotted, no trailing dot */
} dns_srv_t;

typedef struct {
    int rcode;         /* DNS_RCODE_* (BADVERS goes through OPT) */
    bool aa;           /* authoritative (our zone) */
    const uint32_t *a; /* A records (host byte order) */
    size_t n_a;
    size_t a_rotate; /* start the A records at this index (round robin) */
    const dns_srv_t *srv;
    size_t n_srv;
    const char *soa_zone; /* NULL: no SOA; else put the SOA of this zone (dotted) ... */
    bool soa_in_answer;   /* ... in the answer section (a query for the SOA itself)
                                 instead of the authority section */
    uint32_t ttl;
} dns_reply_t;

/* dns_query_parse's outcomes (negative: what to do with the packet). */
#define DNS_PARSE_DROP    (-1) /* no whole header, or a response (QR set): say nothing */
#define DNS_PARSE_FORMERR (-2) /* answer FORMERR (the header's id and opcode are valid) */
#define DNS_PARSE_NOTIMP  (-3) /* an opcode other than QUERY: answer NOTIMP */

/* Parses pkt[0..len) into *ret (always written: at least the id and flags
 * once there is a header). 0, or one of DNS_PARSE_*. */
int dns_query_parse (const uint8_t *pkt, size_t len, dns_query_t *ret);

/* Reads the (possibly compressed) name at *off into wire (uncompressed, at
 * least DNS_MAX_NAME bytes) and, if dotted is not NULL, its lower-case
 * dotted form (DNS_MAX_NAME bytes); advances *off past the name as it
 * appears at that place. 0, or -EBADMSG (truncated, a loop, a forward or
 * out-of-bounds pointer, a long label or name, a reserved label type).
 * *ret_odd (may be NULL) says whether a label held a '.' or a
 * non-printable byte. */
int dns_name_read (const uint8_t *pkt, size_t len, size_t *off, uint8_t *wire, size_t *ret_wire_len,
                   char *dotted, bool *ret_odd);

/* The UDP payload size the answer to q may use: 512, or its EDNS size
 * clamped to 512..DNS_EDNS_MAX_UDP. */
size_t dns_udp_limit (const dns_query_t *q);

/* Writes the response to q into out (cap bytes, at least DNS_UDP_MIN),
 * using at most max bytes (dns_udp_limit over UDP, DNS_MAX_TCP over TCP):
 * records that do not fit are left out and TC is set. Returns the length. */
size_t dns_reply_build (const dns_query_t *q, const dns_reply_t *r, size_t max, uint8_t *out,
                        size_t cap);

/* A response with only a header (and the question when q got that far:
 * q->question_end > 0) and rcode: FORMERR, NOTIMP, SERVFAIL. Returns the
 * length (at least DNS_HEADER; out holds DNS_UDP_MIN bytes). */
size_t dns_reply_error (const dns_query_t *q, int rcode, uint8_t *out, size_t cap);

/* Header fields of any message (len >= DNS_HEADER). */
static inline uint16_t dns_get16 (const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}
static inline void dns_put16 (uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline int dns_msg_rcode (const uint8_t *p)
{
    return p[3] & 0x0f;
}

/* Dotted name (no trailing dot, "" = root) to uncompressed wire form in
 * out (DNS_MAX_NAME bytes). Length, or -EINVAL (an empty label, a label
 * over 63, a name over 255). */
int dns_name_to_wire (const char *dotted, uint8_t *out);

#endif
