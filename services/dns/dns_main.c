/*  dns_main.c: hs-dns' wiring (docs/architecture.md, "hs-dns"): flags, the
 *  controller loop (hs_ctrl: the watch of Services and Endpoints,
 *  heartbeats, passes), the UDP and TCP listeners, forwarding to the
 *  upstreams, and publishing kube-system/kube-dns. The decisions are in
 *  dns_msg.c (messages), dns_zone.c (names), dns_fwd.c (queries in flight)
 *  and dns_publish.c (the Service and its Endpoints).
 *
 *  One thread, one loop. A readable UDP socket is drained in bounded
 *  batches; each query is answered from the zone in place or forwarded.
 *  TCP connections are non-blocking, each with its own buffers, and may
 *  pipeline queries (RFC 7766); a TCP query for an outside name is
 *  forwarded over its own TCP connection to an upstream. One timerfd
 *  carries every deadline: forwarded queries, upstream connections, idle
 *  clients.
 *
 *  Until its watch has loaded the first snapshot, hs-dns answers SERVFAIL
 *  for names in the zone (it cannot know them yet: a client tries again or
 *  asks another server) and forwards the rest.
 */
#include "dns_fwd.h"
#include "dns_msg.h"
#include "dns_publish.h"
#include "dns_zone.h"
#include "hs_ctrl.h"
#include "hs_daemon.h"
#include "hs_log.h"
#include "hs_members.h"
#include "hs_net.h"
#include "hs_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define MS                 1000000LL
#define MAX_UPSTREAMS      8
#define UDP_BATCH          64 /* datagrams per wake-up, so the bus gets its turn */
#define ATTEMPT_NS         (1000 * MS)
#define ATTEMPTS           2
#define TCP_IDLE_NS        (10000 * MS)
#define TCP_UP_NS          (2000 * MS)
#define TCP_MAX_OUT        (256 * 1024) /* a client that does not read is closed */
#define PUBLISH_BACKOFF_NS (30000 * MS)
#define RETRY_NS           (200 * MS)
#define CALL_TIMEOUT_MS    10000
#define BURST_NS           (10000 * MS)
#define BURST_WRITES       20
#define MAX_ALLOW          32
#define MAX_IFNETS         64
#define IFNETS_NS          (5000 * MS) /* the host's networks, looked at again at most so often */

enum {
    OPT_LISTEN = 0x4900,
    OPT_ADVERTISE,
    OPT_UPSTREAM,
    OPT_TTL,
    OPT_MAX_INFLIGHT,
    OPT_MAX_TCP,
    OPT_NET_CLUSTER,
    OPT_NET_MASK,
    OPT_NET_SERVICE,
    OPT_NET_DOMAIN,
    OPT_ALLOW,
};

struct self_t;

/* A client's TCP connection. */
typedef struct s_conn_t {
    struct self_t *self;
    int fd;
    uint8_t *in; /* 2 + DNS_MAX_TCP */
    size_t in_len;
    uint8_t *out;
    size_t out_len, out_off, out_cap;
    int64_t idle_at;
    int upstreams; /* its queries forwarded and not answered yet */
    bool closing;
    bool allowed; /* its source may ask (s_allowed); else every query is REFUSED */
    struct s_conn_t *prev, *next;
} s_conn_t;

/* A TCP query forwarded to an upstream over its own connection. */
typedef struct s_up_t {
    struct self_t *self;
    int fd;
    s_conn_t *conn; /* NULL once the client went */
    uint16_t client_id;
    size_t upstream; /* index of the upstream it is asking */
    int tries;
    uint8_t *query; /* the query, length-prefixed (query_len bytes) */
    size_t query_len;
    uint8_t *buf; /* the query out, then the answer in */
    size_t len, off, want;
    bool sent;
    int64_t started, deadline; /* monotonic ns */
    struct s_up_t *prev, *next;
} s_up_t;

typedef struct self_t {
    hs_ctrl_t *ctrl;
    hs_watch_t *w;
    const char *instance;
    char host[256];
    hs_net_conf_t net;
    struct sockaddr_in listen, advertise;
    bool advertise_set;
    struct sockaddr_in upstreams[MAX_UPSTREAMS];
    size_t n_upstreams;
    bool upstreams_set;
    uint32_t ttl;
    /* Who may ask: loopback, the cluster CIDR, the host's networks
     * (ifnets: its interfaces' subnets, the node fabric) and --allow. */
    hs_cidr_t allow[MAX_ALLOW];
    size_t n_allow;
    hs_cidr_t ifnets[MAX_IFNETS];
    size_t n_ifnets;
    int64_t ifnets_at;
    size_t max_inflight, max_tcp;
    int64_t member_timeout_ns;
    int udp_fd, tcp_fd, up_fd, timer_fd;
    int64_t timer_at;
    dns_zone_t *zone;
    dns_fwd_t *fwd;
    s_conn_t *conns;
    size_t n_conns;
    s_up_t *ups;
    size_t n_ups;
    size_t rr; /* round robin over the upstreams (TCP) */
    uint64_t rotate;
    hs_members_t *members;
    /* publishing */
    bool svc_inflight, eps_inflight;
    int64_t svc_backoff, eps_backoff;
    int64_t svc_need_rev, eps_need_rev; /* the watch must show our last write first */
    bool svc_refused_logged, unchanged_logged;
    int64_t burst_start; /* writes since then: a guard against fighting someone */
    int burst_writes;
    /* forward_duration_seconds: a query forwarded -> its upstream's answer
     * relayed (UDP and TCP, retries to other upstreams included; failures
     * are counted in fwd_failed, not timed) */
    hs_hist_t *fwd_hist;
    /* counters */
    uint64_t queries, queries_tcp, rcodes[DNS_RCODES], forwarded, forwarded_tcp, fwd_timeouts,
        fwd_late, garbage, dropped_full, tcp_refused, truncated, publishes, refused;
    uint8_t buf[DNS_MAX_TCP + 2], obuf[DNS_MAX_TCP + 2];
} self_t;

static void s_timer_arm (self_t *self, int64_t at);
static void s_tcp_deadlines (self_t *self);

/* ------------------------------------------------------------------ flags */

static int s_addr_port (const char *s, uint16_t def_port, struct sockaddr_in *ret)
{
    char host[64];
    const char *colon = strrchr (s, ':');
    size_t hl = colon ? (size_t)(colon - s) : strlen (s);
    if (hl == 0 || hl >= sizeof host) return -EINVAL;
    memcpy (host, s, hl);
    host[hl] = '\0';
    uint32_t ip;
    if (hs_ip_parse (host, &ip) < 0) return -EINVAL;
    int64_t port = def_port;
    if (colon && (hs_parse_i64 (colon + 1, &port) < 0 || port < 1 || port > 65535)) return -EINVAL;
    *ret = (struct sockaddr_in){
        .sin_family = AF_INET, .sin_port = htons ((uint16_t)port), .sin_addr.s_addr = htonl (ip)};
    return 0;
}

static int s_flag (void *arg, int ch, const char *value)
{
    self_t *self = arg;
    int64_t v;
    const char *why = NULL;
    static const char *net_flags[] = {"cluster-cidr", "node-cidr-mask-size", "service-cidr",
                                      "cluster-domain"};
    switch (ch) {
    case OPT_LISTEN:
        if (s_addr_port (value, 10053, &self->listen) < 0) {
            fprintf (stderr, "hs-dns: --listen: want IPV4[:PORT]: %s\n", value);
            return -1;
        }
        return 0;
    case OPT_ADVERTISE:
        if (s_addr_port (value, 0, &self->advertise) < 0 || strchr (value, ':')) {
            fprintf (stderr, "hs-dns: --advertise-address: want an IPv4 address: %s\n", value);
            return -1;
        }
        self->advertise_set = true;
        return 0;
    case OPT_UPSTREAM:
        if (self->n_upstreams == MAX_UPSTREAMS) {
            fprintf (stderr, "hs-dns: --upstream: at most %d\n", MAX_UPSTREAMS);
            return -1;
        }
        if (s_addr_port (value, 53, &self->upstreams[self->n_upstreams]) < 0) {
            fprintf (stderr, "hs-dns: --upstream: want IPV4[:PORT]: %s\n", value);
            return -1;
        }
        self->n_upstreams++;
        self->upstreams_set = true;
        return 0;
    case OPT_TTL:
        if (hs_daemon_int ("hs-dns", "--ttl", value, 0, 86400, &v) < 0) return -1;
        self->ttl = (uint32_t)v;
        return 0;
    case OPT_MAX_INFLIGHT:
        if (hs_daemon_int ("hs-dns", "--max-inflight", value, 1, 60000, &v) < 0) return -1;
        self->max_inflight = (size_t)v;
        return 0;
    case OPT_ALLOW: {
        if (self->n_allow == MAX_ALLOW) {
            fprintf (stderr, "hs-dns: --allow: at most %d\n", MAX_ALLOW);
            return -1;
        }
        hs_cidr_t c;
        if (hs_cidr_parse (value, &c) < 0) {
            fprintf (stderr, "hs-dns: --allow: want an IPv4 CIDR: %s\n", value);
            return -1;
        }
        self->allow[self->n_allow++] = c;
        return 0;
    }
    case OPT_MAX_TCP:
        if (hs_daemon_int ("hs-dns", "--max-tcp", value, 1, 900, &v) < 0) return -1;
        self->max_tcp = (size_t)v;
        return 0;
    case OPT_NET_CLUSTER:
    case OPT_NET_MASK:
    case OPT_NET_SERVICE:
    case OPT_NET_DOMAIN:
        if (hs_net_flag (&self->net, net_flags[ch - OPT_NET_CLUSTER], value, &why) < 0) {
            fprintf (stderr, "hs-dns: --%s: %s: %s\n", net_flags[ch - OPT_NET_CLUSTER], why, value);
            return -1;
        }
        return 0;
    default: return -1;
    }
}

static void s_usage (FILE *f)
{
    fprintf (f, "usage: hs-dns [--bus ADDR] [--listen IP[:PORT]] [--advertise-address IP]\n"
                "              [--upstream IP[:PORT]]... [--ttl S] [--cluster-domain D]\n"
                "              [--service-cidr CIDR] [--max-inflight N] [--max-tcp N]\n"
                "The cluster DNS: answers <svc>.<ns>.svc.<domain> from the Services and\n"
                "Endpoints it watches, forwards other names, and keeps the Service\n"
                "kube-system/kube-dns (docs/architecture.md, \"hs-dns\").\n"
                "  --listen IP[:PORT]        UDP and TCP (default 0.0.0.0:10053)\n"
                "  --advertise-address IP    where other hosts reach it, for kube-dns' Endpoints\n"
                "                            (default: the --listen address, or the host's first\n"
                "                            non-loopback IPv4, or 127.0.0.1)\n"
                "  --upstream IP[:PORT]      where other names go (repeatable; default: the\n"
                "                            nameservers of /etc/resolv.conf but itself)\n"
                "  --ttl S                   TTL of its answers (default 5)\n"
                "  --max-inflight N          forwarded UDP queries in flight (default 1024)\n"
                "  --max-tcp N               TCP connections, clients and upstream (default 256)\n"
                "  --allow CIDR              clients that may ask besides loopback, the cluster\n"
                "                            CIDR and the subnets of this host's interfaces (the\n"
                "                            node fabric); others are REFUSED (repeatable)\n"
                "  --cluster-cidr, --node-cidr-mask-size, --service-cidr, --cluster-domain:\n"
                "                            the cluster's address plan (bus/hs_net.h)\n");
    hs_ctrl_usage (f);
}

/* ------------------------------------------------------------------ defaults */

/* The host's first non-loopback IPv4 address that is up, or 127.0.0.1. */
static uint32_t s_host_ip (void)
{
    struct ifaddrs *ifs = NULL;
    uint32_t ip = 0x7f000001;
    if (getifaddrs (&ifs) < 0) return ip;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
        if ((i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP)) continue;
        ip = ntohl (((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
        break;
    }
    freeifaddrs (ifs);
    return ip;
}

/* Would a query to u come back to us? */
static bool s_is_self (const self_t *self, const struct sockaddr_in *u)
{
    uint32_t ip = ntohl (u->sin_addr.s_addr);
    if (ip == hs_net_dns_ip (&self->net)) return true; /* the Service in front of us */
    if (u->sin_port != self->listen.sin_port) return false;
    uint32_t l = ntohl (self->listen.sin_addr.s_addr);
    if (ip == l || ip == ntohl (self->advertise.sin_addr.s_addr)) return true;
    return l == 0 && ((ip >> 24) == 127 || ip == 0);
}

/* The subnets of the host's IPv4 interfaces that are up (loopback's too). */
static void s_ifnets (self_t *self)
{
    self->n_ifnets = 0;
    self->ifnets_at = hs_mono_ns ();
    struct ifaddrs *ifs = NULL;
    if (getifaddrs (&ifs) < 0) return;
    for (struct ifaddrs *i = ifs; i && self->n_ifnets < MAX_IFNETS; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !i->ifa_netmask) continue;
        if (!(i->ifa_flags & IFF_UP)) continue;
        uint32_t ip = ntohl (((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
        uint32_t mask = ntohl (((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr);
        int prefix = __builtin_popcount (mask);
        self->ifnets[self->n_ifnets++] = (hs_cidr_t){ip & mask, prefix};
    }
    freeifaddrs (ifs);
}

static bool s_allowed_now (const self_t *self, uint32_t ip)
{
    if ((ip >> 24) == 127 || hs_cidr_contains (&self->net.cluster, ip)) return true;
    for (size_t i = 0; i < self->n_allow; i++)
        if (hs_cidr_contains (&self->allow[i], ip)) return true;
    for (size_t i = 0; i < self->n_ifnets; i++)
        if (hs_cidr_contains (&self->ifnets[i], ip)) return true;
    return false;
}

/* Whether a client at from may ask: hs-dns is no open resolver (it listens
 * on every address). An unknown source makes it look at the host's
 * interfaces again (at most every IFNETS_NS) before it is refused. */
static bool s_allowed (self_t *self, const struct sockaddr *from)
{
    if (!from || from->sa_family != AF_INET) return false;
    uint32_t ip = ntohl (((const struct sockaddr_in *)from)->sin_addr.s_addr);
    if (s_allowed_now (self, ip)) return true;
    if (hs_mono_ns () - self->ifnets_at < IFNETS_NS) return false;
    s_ifnets (self);
    return s_allowed_now (self, ip);
}

/* The nameservers of /etc/resolv.conf (IPv4), but ourselves. */
static void s_resolv_conf (self_t *self)
{
    FILE *f = fopen ("/etc/resolv.conf", "re");
    if (!f) {
        log_warn ("cannot read /etc/resolv.conf: %s: no upstreams", strerror (errno));
        return;
    }
    char line[512];
    while (fgets (line, sizeof line, f) && self->n_upstreams < MAX_UPSTREAMS) {
        char addr[256];
        if (sscanf (line, " nameserver %255s", addr) != 1) continue;
        struct sockaddr_in u;
        if (s_addr_port (addr, 53, &u) < 0 || strchr (addr, ':')) {
            log_info ("resolv.conf: nameserver %s skipped (IPv4 only)", addr);
            continue;
        }
        if (s_is_self (self, &u)) {
            log_info ("resolv.conf: nameserver %s skipped (that is this server)", addr);
            continue;
        }
        self->upstreams[self->n_upstreams++] = u;
    }
    fclose (f);
}

/* ------------------------------------------------------------------ answering */

static hs_watch_t *s_w (self_t *self)
{
    if (!self->w && self->ctrl) self->w = hs_ctrl_watch (self->ctrl);
    return self->w;
}

static bool s_synced (self_t *self)
{
    return s_w (self) && hs_watch_synced (self->w);
}

static void s_garbage (self_t *self, const char *how, const struct sockaddr *from)
{
    self->garbage++;
    char ip[INET6_ADDRSTRLEN] = "?";
    if (from && from->sa_family == AF_INET)
        inet_ntop (AF_INET, &((const struct sockaddr_in *)from)->sin_addr, ip, sizeof ip);
    hs_log_once (HS_LOG_WARN, "dns:garbage",
                 "dropped a malformed message (%s) from %s (counted as garbage; not logged again)",
                 how, ip);
}

/* The outcome of one query. */
typedef enum { A_REPLY, A_FORWARD, A_NONE } s_act_t;

/* Answers the query pkt[0..len) into self->obuf (*ret_len bytes), or says
 * to forward it (q parsed) or to say nothing. max: the size the answer may
 * use over TCP; over UDP the query's own limit. */
static s_act_t s_handle (self_t *self, const uint8_t *pkt, size_t len, bool tcp, bool allowed,
                         const struct sockaddr *from, dns_query_t *q, size_t *ret_len)
{
    self->queries++;
    if (tcp) self->queries_tcp++;
    int r = dns_query_parse (pkt, len, q);
    int rcode;
    if (r == DNS_PARSE_DROP) {
        s_garbage (self, len < DNS_HEADER ? "shorter than a header" : "a response", from);
        return A_NONE;
    }
    if (!allowed) {
        /* REFUSED (RFC 1035): no bigger than the query, so no amplifier either. */
        self->refused++;
        self->rcodes[DNS_RCODE_REFUSED]++;
        char ip[INET_ADDRSTRLEN] = "?";
        if (from && from->sa_family == AF_INET)
            inet_ntop (AF_INET, &((const struct sockaddr_in *)from)->sin_addr, ip, sizeof ip);
        hs_log_once (HS_LOG_WARN, "dns:refused",
                     "refused a query from %s%s: not loopback, the cluster CIDR, this host's "
                     "networks or --allow (counted as refused; not logged again)",
                     ip, tcp ? " (TCP)" : "");
        *ret_len = dns_reply_error (q, DNS_RCODE_REFUSED, self->obuf, sizeof self->obuf);
        return A_REPLY;
    }
    if (r == DNS_PARSE_FORMERR || r == DNS_PARSE_NOTIMP) {
        if (r == DNS_PARSE_FORMERR) s_garbage (self, "cannot parse the question", from);
        rcode = r == DNS_PARSE_FORMERR ? DNS_RCODE_FORMERR : DNS_RCODE_NOTIMP;
        self->rcodes[rcode]++;
        *ret_len = dns_reply_error (q, rcode, self->obuf, sizeof self->obuf);
        return A_REPLY;
    }
    size_t max = tcp ? DNS_MAX_TCP : dns_udp_limit (q);
    if (q->edns && q->edns_version != 0) {
        self->rcodes[DNS_RCODE_BADVERS]++;
        *ret_len = dns_reply_error (q, DNS_RCODE_BADVERS, self->obuf, sizeof self->obuf);
        return A_REPLY;
    }
    dns_zone_answer_t za;
    dns_zone_kind_t k = DNS_ZONE_OUTSIDE;
    if (!q->name_odd && (q->qclass == DNS_CLASS_IN || q->qclass == DNS_TYPE_ANY))
        k = dns_zone_lookup (self->zone, q->name, q->qtype, &za);
    else if (q->name_odd &&
             dns_zone_lookup (self->zone, q->name, q->qtype, &za) != DNS_ZONE_OUTSIDE)
        k = DNS_ZONE_NXDOMAIN; /* a name no Service can have */
    if (k == DNS_ZONE_OUTSIDE) {
        if (self->n_upstreams) return A_FORWARD;
        self->rcodes[DNS_RCODE_SERVFAIL]++;
        *ret_len = dns_reply_error (q, DNS_RCODE_SERVFAIL, self->obuf, sizeof self->obuf);
        return A_REPLY;
    }
    if (!s_synced (self) || q->qtype == 251 || q->qtype == 252) { /* IXFR, AXFR */
        rcode = s_synced (self) ? DNS_RCODE_NOTIMP : DNS_RCODE_SERVFAIL;
        self->rcodes[rcode]++;
        *ret_len = dns_reply_error (q, rcode, self->obuf, sizeof self->obuf);
        return A_REPLY;
    }
    dns_reply_t rep = {.aa = true, .ttl = self->ttl};
    switch (k) {
    case DNS_ZONE_NXDOMAIN:
        rep.rcode = DNS_RCODE_NXDOMAIN;
        rep.soa_zone = dns_zone_domain (self->zone);
        break;
    case DNS_ZONE_NODATA: rep.soa_zone = dns_zone_domain (self->zone); break;
    default:
        rep.a = za.a;
        rep.n_a = za.n_a;
        rep.a_rotate = za.n_a > 1 ? (size_t)(self->rotate++ % za.n_a) : 0;
        rep.srv = za.srv;
        rep.n_srv = za.n_srv;
        if (za.soa) {
            rep.soa_zone = dns_zone_domain (self->zone);
            rep.soa_in_answer = true;
        }
        break;
    }
    self->rcodes[rep.rcode]++;
    *ret_len = dns_reply_build (q, &rep, max, self->obuf, sizeof self->obuf);
    if (self->obuf[2] & 0x02) self->truncated++;
    return A_REPLY;
}

/* ------------------------------------------------------------------ UDP */

static void s_udp_forward (self_t *self, const dns_query_t *q, const uint8_t *pkt, size_t len,
                           const struct sockaddr *from, socklen_t fromlen, uint32_t local)
{
    dns_pending_t *p = dns_fwd_add (self->fwd, from, fromlen, q, pkt, len, hs_mono_ns ());
    if (!p) {
        self->dropped_full++;
        hs_log_once (HS_LOG_WARN, "dns:full",
                     "%zu forwarded queries in flight (--max-inflight): dropping new ones "
                     "(counted; not logged again)",
                     self->max_inflight);
        return;
    }
    self->forwarded++;
    p->local = local;
    const struct sockaddr_in *u = &self->upstreams[p->upstream];
    if (sendto (self->up_fd, p->pkt, p->len, 0, (const struct sockaddr *)u, sizeof *u) < 0)
        log_debug ("cannot send to an upstream: %s", strerror (errno));
    if (p->deadline < self->timer_at) s_timer_arm (self, p->deadline);
}

/* A datagram on the listening socket, with the address it was sent to
 * (IP_PKTINFO), so the answer leaves from that address: listening on
 * 0.0.0.0 on a host with several addresses, the kernel would otherwise pick
 * the source of the route back (the pod bridge's address for a pod), and
 * the client, or the conntrack entry of the Service's DNAT, would not take
 * it as the answer. */
static ssize_t s_udp_recv (self_t *self, int fd, struct sockaddr_storage *from, socklen_t *fromlen,
                           uint32_t *ret_local)
{
    struct iovec iov = {.iov_base = self->buf, .iov_len = sizeof self->buf};
    union {
        char buf[CMSG_SPACE (sizeof (struct in_pktinfo))];
        struct cmsghdr align;
    } cbuf;
    struct msghdr mh = {.msg_name = from,
                        .msg_namelen = *fromlen,
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = cbuf.buf,
                        .msg_controllen = sizeof cbuf.buf};
    ssize_t n = recvmsg (fd, &mh, MSG_DONTWAIT);
    *ret_local = 0;
    if (n < 0) return n;
    *fromlen = mh.msg_namelen;
    for (struct cmsghdr *c = CMSG_FIRSTHDR (&mh); c; c = CMSG_NXTHDR (&mh, c))
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy (&pi, CMSG_DATA (c), sizeof pi);
            *ret_local = pi.ipi_addr.s_addr;
        }
    return n;
}

/* Sends an answer to a UDP client from local (network order; 0: any). */
static void s_udp_send (self_t *self, const void *data, size_t len, const struct sockaddr *to,
                        socklen_t tolen, uint32_t local)
{
    if (!local) {
        (void)sendto (self->udp_fd, data, len, MSG_DONTWAIT, to, tolen);
        return;
    }
    struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
    union {
        char buf[CMSG_SPACE (sizeof (struct in_pktinfo))];
        struct cmsghdr align;
    } cbuf;
    memset (&cbuf, 0, sizeof cbuf);
    struct msghdr mh = {.msg_name = (void *)to,
                        .msg_namelen = tolen,
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = cbuf.buf,
                        .msg_controllen = sizeof cbuf.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR (&mh);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN (sizeof (struct in_pktinfo));
    struct in_pktinfo pi = {.ipi_ifindex = 0};
    pi.ipi_spec_dst.s_addr = local;
    memcpy (CMSG_DATA (c), &pi, sizeof pi);
    (void)sendmsg (self->udp_fd, &mh, MSG_DONTWAIT);
}

static void s_udp_ready (void *arg, hs_ctrl_t *c, int fd, short revents)
{
    self_t *self = arg;
    (void)c;
    (void)revents;
    for (int i = 0; i < UDP_BATCH; i++) {
        struct sockaddr_storage from;
        socklen_t fromlen = sizeof from;
        uint32_t local;
        ssize_t n = s_udp_recv (self, fd, &from, &fromlen, &local);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                hs_log_once (HS_LOG_WARN, "dns:udp", "UDP receive: %s (not logged again)",
                             strerror (errno));
            return;
        }
        dns_query_t q;
        size_t olen = 0;
        s_act_t act =
            s_handle (self, self->buf, (size_t)n, false, s_allowed (self, (struct sockaddr *)&from),
                      (struct sockaddr *)&from, &q, &olen);
        if (act == A_FORWARD)
            s_udp_forward (self, &q, self->buf, (size_t)n, (struct sockaddr *)&from, fromlen,
                           local);
        else if (act == A_REPLY)
            s_udp_send (self, self->obuf, olen, (struct sockaddr *)&from, fromlen, local);
    }
}

/* Answers from the upstreams. */
static void s_up_ready (void *arg, hs_ctrl_t *c, int fd, short revents)
{
    self_t *self = arg;
    (void)c;
    (void)revents;
    for (int i = 0; i < UDP_BATCH; i++) {
        struct sockaddr_in from;
        socklen_t fromlen = sizeof from;
        ssize_t n = recvfrom (fd, self->buf, sizeof self->buf, MSG_DONTWAIT,
                              (struct sockaddr *)&from, &fromlen);
        if (n < 0) return;
        size_t u = SIZE_MAX;
        for (size_t k = 0; k < self->n_upstreams; k++)
            if (self->upstreams[k].sin_addr.s_addr == from.sin_addr.s_addr &&
                self->upstreams[k].sin_port == from.sin_port)
                u = k;
        dns_pending_t *p =
            u == SIZE_MAX ? NULL : dns_fwd_match (self->fwd, u, self->buf, (size_t)n);
        if (!p) {
            self->fwd_late++;
            continue;
        }
        hs_hist_since (self->fwd_hist, p->started);
        dns_put16 (self->buf, p->client_id);
        int rc = dns_msg_rcode (self->buf);
        if (rc < DNS_RCODES) self->rcodes[rc]++;
        s_udp_send (self, self->buf, (size_t)n, (struct sockaddr *)&p->client, p->client_len,
                    p->local);
        dns_fwd_free (p);
    }
}

/* ------------------------------------------------------------------ TCP clients */

static void s_conn_close (self_t *self, s_conn_t *cn)
{
    hs_ctrl_fd_remove (self->ctrl, cn->fd);
    close (cn->fd);
    for (s_up_t *u = self->ups; u; u = u->next)
        if (u->conn == cn) u->conn = NULL;
    if (cn->prev)
        cn->prev->next = cn->next;
    else
        self->conns = cn->next;
    if (cn->next) cn->next->prev = cn->prev;
    self->n_conns--;
    free (cn->in);
    free (cn->out);
    free (cn);
}

static void s_conn_flush (self_t *self, s_conn_t *cn)
{
    while (cn->out_off < cn->out_len) {
        ssize_t n = send (cn->fd, cn->out + cn->out_off, cn->out_len - cn->out_off,
                          MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            cn->closing = true;
            cn->out_off = cn->out_len;
            break;
        }
        cn->out_off += (size_t)n;
    }
    if (cn->out_off == cn->out_len) cn->out_off = cn->out_len = 0;
    /* a closing connection is not read any more (EOF stays readable) */
    hs_ctrl_fd_events (self->ctrl, cn->fd,
                       (short)((cn->closing ? 0 : POLLIN) | (cn->out_len ? POLLOUT : 0)));
}

/* Queues one length-prefixed answer. */
static void s_conn_send (self_t *self, s_conn_t *cn, const uint8_t *msg, size_t len)
{
    if (cn->out_len + len + 2 > TCP_MAX_OUT) {
        cn->closing = true; /* it does not read its answers */
        return;
    }
    if (cn->out_len + len + 2 > cn->out_cap) {
        cn->out_cap = cn->out_len + len + 2 + 4096;
        cn->out = hs_realloc (cn->out, cn->out_cap);
    }
    dns_put16 (cn->out + cn->out_len, (uint16_t)len);
    memcpy (cn->out + cn->out_len + 2, msg, len);
    cn->out_len += len + 2;
    s_conn_flush (self, cn);
}

static void s_up_free (self_t *self, s_up_t *u)
{
    if (u->fd >= 0) {
        hs_ctrl_fd_remove (self->ctrl, u->fd);
        close (u->fd);
    }
    if (u->conn) u->conn->upstreams--;
    if (u->prev)
        u->prev->next = u->next;
    else
        self->ups = u->next;
    if (u->next) u->next->prev = u->prev;
    self->n_ups--;
    free (u->buf);
    free (u->query);
    free (u);
}

static void s_up_io (void *arg, hs_ctrl_t *c, int fd, short revents);

/* Connects u to its upstream and sends the query once connected. 0 or -1. */
static int s_up_connect (self_t *self, s_up_t *u)
{
    const struct sockaddr_in *to = &self->upstreams[u->upstream];
    u->tries++;
    u->sent = false;
    u->off = 0;
    u->len = u->query_len;
    memcpy (u->buf, u->query, u->query_len);
    u->fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (u->fd < 0) return -1;
    if ((connect (u->fd, (const struct sockaddr *)to, sizeof *to) < 0 && errno != EINPROGRESS) ||
        hs_ctrl_fd_add (self->ctrl, u->fd, POLLOUT, s_up_io, u) < 0) {
        close (u->fd);
        u->fd = -1;
        return -1;
    }
    return 0;
}

/* A TCP upstream query that failed: the next upstream while attempts and
 * time remain, else SERVFAIL to its client. */
static void s_up_fail (self_t *self, s_up_t *u, const char *why, bool timed_out)
{
    log_debug ("TCP upstream query failed: %s", why);
    if (u->fd >= 0) {
        hs_ctrl_fd_remove (self->ctrl, u->fd);
        close (u->fd);
        u->fd = -1;
    }
    while (!timed_out && u->conn && u->tries < ATTEMPTS && (size_t)u->tries < self->n_upstreams) {
        u->upstream = (u->upstream + 1) % self->n_upstreams;
        if (s_up_connect (self, u) == 0) return;
    }
    if (u->conn && !u->conn->closing) {
        dns_query_t q;
        if (dns_query_parse (u->query + 2, u->query_len - 2, &q) < 0) q.question_end = 0;
        q.id = u->client_id;
        self->rcodes[DNS_RCODE_SERVFAIL]++;
        self->fwd_timeouts++;
        size_t n = dns_reply_error (&q, DNS_RCODE_SERVFAIL, self->obuf, sizeof self->obuf);
        s_conn_send (self, u->conn, self->obuf, n);
    }
    s_up_free (self, u);
}

static void s_up_io (void *arg, hs_ctrl_t *c, int fd, short revents)
{
    s_up_t *u = arg;
    self_t *self = u->self;
    (void)c;
    (void)fd;
    if (!u->sent) {
        if (revents & POLLERR) return s_up_fail (self, u, "connect", false);
        ssize_t n = send (u->fd, u->buf + u->off, u->len - u->off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            return s_up_fail (self, u, strerror (errno), false);
        }
        u->off += (size_t)n;
        if (u->off < u->len) return;
        u->sent = true;
        u->off = 0;
        u->want = 2;
        hs_ctrl_fd_events (self->ctrl, u->fd, POLLIN);
        return;
    }
    ssize_t n = recv (u->fd, u->buf + u->off, u->want - u->off, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) return s_up_fail (self, u, n == 0 ? "closed" : strerror (errno), false);
    u->off += (size_t)n;
    if (u->off < u->want) return;
    if (u->want == 2) {
        size_t l = dns_get16 (u->buf);
        if (l < DNS_HEADER) return s_up_fail (self, u, "a short answer", false);
        u->want = 2 + l;
        return;
    }
    hs_hist_since (self->fwd_hist, u->started);
    if (u->conn && !u->conn->closing) {
        dns_put16 (u->buf + 2, u->client_id);
        int rc = dns_msg_rcode (u->buf + 2);
        if (rc < DNS_RCODES) self->rcodes[rc]++;
        s_conn_send (self, u->conn, u->buf + 2, u->want - 2);
        if (u->conn->closing && u->conn->upstreams <= 1) {
            s_conn_t *cn = u->conn;
            s_up_free (self, u);
            s_conn_close (self, cn);
            return;
        }
    }
    s_up_free (self, u);
}

static void s_tcp_forward (self_t *self, s_conn_t *cn, const dns_query_t *q, const uint8_t *pkt,
                           size_t len)
{
    if (self->n_conns + self->n_ups >= self->max_tcp) {
        self->dropped_full++;
        self->rcodes[DNS_RCODE_SERVFAIL]++;
        size_t n = dns_reply_error (q, DNS_RCODE_SERVFAIL, self->obuf, sizeof self->obuf);
        s_conn_send (self, cn, self->obuf, n);
        return;
    }
    s_up_t *u = hs_calloc (1, sizeof *u);
    int64_t now = hs_mono_ns ();
    *u = (s_up_t){.self = self,
                  .fd = -1,
                  .conn = cn,
                  .client_id = q->id,
                  .upstream = self->rr++ % self->n_upstreams,
                  .query_len = len + 2,
                  .started = now,
                  .deadline = now + TCP_UP_NS};
    u->query = hs_malloc (len + 2);
    dns_put16 (u->query, (uint16_t)len);
    memcpy (u->query + 2, pkt, len);
    u->buf = hs_malloc (DNS_MAX_TCP + 2);
    u->next = self->ups;
    if (self->ups) self->ups->prev = u;
    self->ups = u;
    self->n_ups++;
    cn->upstreams++;
    self->forwarded_tcp++;
    if (s_up_connect (self, u) < 0) {
        s_up_fail (self, u, "cannot connect", false);
        return;
    }
    if (u->deadline < self->timer_at) s_timer_arm (self, u->deadline);
}

static void s_conn_io (void *arg, hs_ctrl_t *c, int fd, short revents)
{
    s_conn_t *cn = arg;
    self_t *self = cn->self;
    (void)c;
    (void)fd;
    if (revents & POLLOUT) s_conn_flush (self, cn);
    if ((revents & (POLLIN | POLLERR)) && !cn->closing) {
        ssize_t n = recv (cn->fd, cn->in + cn->in_len, 2 + DNS_MAX_TCP - cn->in_len, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n <= 0) {
            cn->closing = true;
        } else {
            cn->in_len += (size_t)n;
            cn->idle_at = hs_mono_ns () + TCP_IDLE_NS;
            /* every whole query in the buffer (pipelined) */
            while (cn->in_len >= 2 && !cn->closing) {
                size_t l = dns_get16 (cn->in);
                if (cn->in_len < 2 + l) break;
                dns_query_t q;
                size_t olen = 0;
                s_act_t act = s_handle (self, cn->in + 2, l, true, cn->allowed, NULL, &q, &olen);
                if (act == A_REPLY)
                    s_conn_send (self, cn, self->obuf, olen);
                else if (act == A_FORWARD)
                    s_tcp_forward (self, cn, &q, cn->in + 2, l);
                else
                    cn->closing = true; /* garbage on a stream: no resync possible */
                memmove (cn->in, cn->in + 2 + l, cn->in_len - 2 - l);
                cn->in_len -= 2 + l;
            }
        }
    }
    /* closed by the client, or by us: go once the answers are out */
    if (cn->closing) s_conn_flush (self, cn);
    if (cn->closing && (cn->out_len == 0 || (revents & POLLERR)) && cn->upstreams == 0)
        s_conn_close (self, cn);
}

static void s_tcp_accept (void *arg, hs_ctrl_t *c, int fd, short revents)
{
    self_t *self = arg;
    (void)c;
    (void)revents;
    for (int i = 0; i < 16; i++) {
        struct sockaddr_storage from;
        socklen_t fromlen = sizeof from;
        int cfd = accept4 (fd, (struct sockaddr *)&from, &fromlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) return;
        if (self->n_conns + self->n_ups >= self->max_tcp) {
            self->tcp_refused++;
            hs_log_once (HS_LOG_WARN, "dns:tcpfull",
                         "%zu TCP connections open (--max-tcp): closing new ones (counted; not "
                         "logged again)",
                         self->max_tcp);
            close (cfd);
            continue;
        }
        int one = 1;
        setsockopt (cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        s_conn_t *cn = hs_calloc (1, sizeof *cn);
        cn->self = self;
        cn->fd = cfd;
        cn->allowed = s_allowed (self, (struct sockaddr *)&from);
        cn->in = hs_malloc (2 + DNS_MAX_TCP);
        cn->idle_at = hs_mono_ns () + TCP_IDLE_NS;
        if (hs_ctrl_fd_add (self->ctrl, cfd, POLLIN, s_conn_io, cn) < 0) {
            close (cfd);
            free (cn->in);
            free (cn);
            continue;
        }
        cn->next = self->conns;
        if (self->conns) self->conns->prev = cn;
        self->conns = cn;
        self->n_conns++;
        if (cn->idle_at < self->timer_at) s_timer_arm (self, cn->idle_at);
    }
}

/* ------------------------------------------------------------------ deadlines */

static void s_timer_arm (self_t *self, int64_t at)
{
    self->timer_at = at;
    struct itimerspec its = {0};
    if (at != INT64_MAX) {
        if (at <= 0) at = 1;
        its.it_value.tv_sec = at / 1000000000LL;
        its.it_value.tv_nsec = at % 1000000000LL;
    }
    timerfd_settime (self->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* The next deadline of all, and what is due now. */
static void s_tcp_deadlines (self_t *self)
{
    int64_t now = hs_mono_ns ();
    int64_t next = dns_fwd_next (self->fwd);
    for (s_up_t *u = self->ups, *nx; u; u = nx) {
        nx = u->next;
        if (u->deadline <= now) {
            s_up_fail (self, u, "timed out", true);
            continue;
        }
        if (u->deadline < next) next = u->deadline;
    }
    for (s_conn_t *cn = self->conns, *nx; cn; cn = nx) {
        nx = cn->next;
        if (cn->idle_at <= now && cn->upstreams == 0) {
            s_conn_close (self, cn);
            continue;
        }
        if (cn->idle_at < next) next = cn->idle_at;
    }
    s_timer_arm (self, next);
}

static void s_timer_ready (void *arg, hs_ctrl_t *c, int fd, short revents)
{
    self_t *self = arg;
    (void)c;
    (void)revents;
    uint64_t ticks;
    if (read (fd, &ticks, sizeof ticks) < 0 && errno != EAGAIN) return;
    int64_t now = hs_mono_ns ();
    bool failed;
    dns_pending_t *p;
    while ((p = dns_fwd_expired (self->fwd, now, &failed))) {
        if (!failed) {
            const struct sockaddr_in *u = &self->upstreams[p->upstream];
            (void)sendto (self->up_fd, p->pkt, p->len, 0, (const struct sockaddr *)u, sizeof *u);
            continue;
        }
        self->fwd_timeouts++;
        self->rcodes[DNS_RCODE_SERVFAIL]++;
        dns_query_t q;
        if (dns_query_parse (p->pkt, p->len, &q) < 0) q.question_end = 0;
        q.id = p->client_id;
        size_t n = dns_reply_error (&q, DNS_RCODE_SERVFAIL, self->obuf, sizeof self->obuf);
        s_udp_send (self, self->obuf, n, (struct sockaddr *)&p->client, p->client_len, p->local);
        dns_fwd_free (p);
    }
    s_tcp_deadlines (self);
}

/* ------------------------------------------------------------------ the watch */

static void s_on_change (void *arg, Hs__EventType type, const Hs__Object *obj,
                         const Hs__Object *old)
{
    self_t *self = arg;
    (void)old;
    const Hs__ObjectMeta *m = hs_obj_meta (obj);
    if (!m) return;
    if (!s_w (self)) return;
    const Hs__Service *svc = NULL;
    const Hs__Endpoints *eps = NULL;
    bool gone = type == HS__EVENT_TYPE__DELETED;
    if (hs_obj_kind (obj) == HS_KIND_SERVICE) {
        svc = gone ? NULL : obj->service;
        const Hs__Object *e = hs_watch_get (self->w, HS_KIND_ENDPOINTS, m->namespace_, m->name);
        eps = e ? e->endpoints : NULL;
    } else if (hs_obj_kind (obj) == HS_KIND_ENDPOINTS) {
        eps = gone ? NULL : obj->endpoints;
        const Hs__Object *s = hs_watch_get (self->w, HS_KIND_SERVICE, m->namespace_, m->name);
        svc = s ? s->service : NULL;
    } else
        return;
    dns_zone_set (self->zone, m->namespace_, m->name, svc, eps);
    if (hs_streq (m->namespace_, HS_NET_DNS_NAMESPACE) && hs_streq (m->name, HS_NET_DNS_SERVICE) &&
        self->ctrl)
        hs_ctrl_kick (self->ctrl);
}

/* ------------------------------------------------------------------ publishing */

typedef struct {
    self_t *self;
    bool svc;
    char *what;
} s_pub_ack_t;

/* Also the calls' free_arg, for a call that never answers. */
static void s_pub_ack_free (void *arg)
{
    s_pub_ack_t *a = arg;
    free (a->what);
    free (a);
}

static void s_pub_ack (void *arg, int err, const Hs__Ack *ack)
{
    s_pub_ack_t *a = arg;
    self_t *self = a->self;
    bool *inflight = a->svc ? &self->svc_inflight : &self->eps_inflight;
    int64_t *backoff = a->svc ? &self->svc_backoff : &self->eps_backoff;
    *inflight = false;
    int64_t now = hs_mono_ns ();
    if (err < 0 || !ack) {
        log_warn ("cannot write %s: no answer from the store; trying again", a->what);
        *backoff = now + RETRY_NS;
    } else if (ack->code == HS__CODE__CODE_OK && ack->n_results > 0 && ack->results[0] &&
               ack->results[0]->result == HS__RESULT__RESULT_UNCHANGED) {
        /* The store kept the object as it was although ours differs: it
         * does not take that field on update. Asking again would loop. */
        if (!self->unchanged_logged)
            log_error ("the store left %s unchanged although it differs from what hs-dns wants "
                       "(does this store replace that kind's content on update?); trying again "
                       "every %lld s",
                       a->what, (long long)(PUBLISH_BACKOFF_NS / 1000000000LL));
        self->unchanged_logged = true;
        *backoff = now + PUBLISH_BACKOFF_NS;
    } else if (ack->code == HS__CODE__CODE_OK) {
        self->publishes++;
        log_info ("wrote %s", a->what);
        if (a->svc) self->svc_refused_logged = false;
        *(a->svc ? &self->svc_need_rev : &self->eps_need_rev) = ack->revision;
    } else if (ack->code == HS__CODE__CODE_CONFLICT || ack->code == HS__CODE__CODE_ALREADY_EXISTS ||
               ack->code == HS__CODE__CODE_NOT_FOUND || ack->code == HS__CODE__CODE_UNAVAILABLE) {
        /* another instance wrote first: look again once the watch has it */
        *backoff = now + RETRY_NS;
    } else {
        if (!a->svc || !self->svc_refused_logged)
            log_error (
                "the store refused %s: %s: %s (DNS keeps serving; trying again every %lld s)",
                a->what, hs_code_reason (ack->code), ack->message,
                (long long)(PUBLISH_BACKOFF_NS / 1000000000LL));
        if (a->svc) self->svc_refused_logged = true;
        *backoff = now + PUBLISH_BACKOFF_NS;
    }
    hs_ctrl_wake_at (self->ctrl, *backoff);
    s_pub_ack_free (a);
}

static void s_publish_one (self_t *self, bool svc, Hs__Object *want, const Hs__Object *cur)
{
    const char *kind = svc ? "Service" : "Endpoints";
    /* Someone who keeps undoing our writes (another program, a store that
     * rewrites a field) must not make us write in a loop. */
    int64_t now = hs_mono_ns ();
    if (now - self->burst_start > BURST_NS) {
        self->burst_start = now;
        self->burst_writes = 0;
    }
    if (++self->burst_writes > BURST_WRITES) {
        hs_log_once (HS_LOG_ERROR, "dns:burst",
                     "over %d writes of kube-system/kube-dns within %lld s: something undoes "
                     "them; pausing for %lld s each time (not logged again)",
                     BURST_WRITES, (long long)(BURST_NS / 1000000000LL),
                     (long long)(PUBLISH_BACKOFF_NS / 1000000000LL));
        *(svc ? &self->svc_backoff : &self->eps_backoff) = now + PUBLISH_BACKOFF_NS;
        self->burst_writes = 0;
        self->burst_start = now + PUBLISH_BACKOFF_NS;
        hs_pb_free (want);
        return;
    }
    s_pub_ack_t *a = hs_calloc (1, sizeof *a);
    a->self = self;
    a->svc = svc;
    a->what = hs_sprintf ("%s %s/%s (%s)", kind, HS_NET_DNS_NAMESPACE, HS_NET_DNS_SERVICE,
                          cur ? "updated" : "created");
    Hs__Write *wr = hs_write_new (cur ? HS__OP__OP_UPDATE : HS__OP__OP_CREATE, want);
    if (cur) wr->expected_revision = hs_obj_meta (cur)->resource_version;
    hs_call_opts_t o = {.timeout_ms = CALL_TIMEOUT_MS, .free_arg = s_pub_ack_free};
    int r = hs_client_send (hs_ctrl_client (self->ctrl), &wr, 1, &o, s_pub_ack, a);
    hs_pb_free (wr);
    if (r < 0) {
        log_warn ("cannot send %s: %s", a->what, strerror (-r));
        s_pub_ack_free (a);
        return;
    }
    *(svc ? &self->svc_inflight : &self->eps_inflight) = true;
}

static bool s_live (void *arg, const char *instance)
{
    self_t *self = arg;
    return hs_members_live (self->members, instance);
}

static void s_on_peer (void *arg, const char *topic, const Hs__Envelope *env)
{
    self_t *self = arg;
    (void)topic;
    if (env->body_case != HS__ENVELOPE__BODY_HEARTBEAT || !self->members) return;
    const Hs__ComponentHeartbeat *hb = env->heartbeat;
    if (!hs_streq (hb->component, "hs-dns") || hs_empty (hb->instance)) return;
    if (hs_members_heard (self->members, hb->instance, hs_mono_ns ()) > 0 && self->ctrl)
        hs_ctrl_kick (self->ctrl);
}

static int64_t s_pass (void *arg, hs_ctrl_t *ctrl, int64_t now)
{
    self_t *self = arg;
    (void)ctrl;
    hs_members_expire (self->members, now, NULL, NULL);
    const char *first = hs_members_at (self->members, 0);
    dns_pub_t p = {.instance = self->instance,
                   .host = self->host,
                   .advertise = ntohl (self->advertise.sin_addr.s_addr),
                   .port = ntohs (self->listen.sin_port),
                   .cluster_ip = hs_net_dns_ip (&self->net),
                   .leader = hs_streq (first, self->instance),
                   .live = s_live,
                   .live_arg = self};
    int64_t rev = hs_watch_revision (s_w (self));
    bool waiting = rev < self->svc_need_rev || rev < self->eps_need_rev;
    if (!self->svc_inflight && now >= self->svc_backoff && rev >= self->svc_need_rev) {
        const Hs__Object *cur =
            hs_watch_get (s_w (self), HS_KIND_SERVICE, HS_NET_DNS_NAMESPACE, HS_NET_DNS_SERVICE);
        Hs__Object *want = dns_pub_service (&p, cur);
        if (want) s_publish_one (self, true, want, cur);
    }
    if (!self->eps_inflight && now >= self->eps_backoff && rev >= self->eps_need_rev) {
        const Hs__Object *cur =
            hs_watch_get (self->w, HS_KIND_ENDPOINTS, HS_NET_DNS_NAMESPACE, HS_NET_DNS_SERVICE);
        Hs__Object *want = dns_pub_endpoints (&p, cur);
        if (want) s_publish_one (self, false, want, cur);
    }
    int64_t wake = INT64_MAX;
    if (self->svc_backoff > now) wake = self->svc_backoff;
    if (self->eps_backoff > now && self->eps_backoff < wake) wake = self->eps_backoff;
    /* the watch brings our write and kicks a pass; this is in case it does not */
    if (waiting && now + RETRY_NS < wake) wake = now + RETRY_NS;
    /* with peers, look again as they may leave (the leader prunes) */
    if (hs_members_count (self->members) > 1 && now + self->member_timeout_ns / 2 < wake)
        wake = now + self->member_timeout_ns / 2;
    return wake;
}

/* ------------------------------------------------------------------ setup */

static int s_listen (self_t *self)
{
    int one = 1;
    char a[16];
    hs_ip_format (ntohl (self->listen.sin_addr.s_addr), a);
    int port = ntohs (self->listen.sin_port);
    self->udp_fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    self->tcp_fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    self->up_fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    self->timer_fd = timerfd_create (CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (self->udp_fd < 0 || self->tcp_fd < 0 || self->up_fd < 0 || self->timer_fd < 0) {
        log_error ("cannot make sockets: %s", strerror (errno));
        return -1;
    }
    int rcvbuf = 1 << 20; /* a burst of queries waits here while the loop is busy */
    setsockopt (self->udp_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    setsockopt (self->tcp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt (self->udp_fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one); /* s_udp_recv */
    if (bind (self->udp_fd, (struct sockaddr *)&self->listen, sizeof self->listen) < 0 ||
        bind (self->tcp_fd, (struct sockaddr *)&self->listen, sizeof self->listen) < 0 ||
        listen (self->tcp_fd, 128) < 0) {
        log_error ("cannot listen on %s:%d (UDP and TCP): %s", a, port, strerror (errno));
        return -1;
    }
    return 0;
}

static int s_start (void *arg, hs_ctrl_t *ctrl)
{
    self_t *self = arg;
    self->ctrl = ctrl;
    self->instance = hs_ctrl_instance (ctrl);
    self->members = hs_members_new (self->instance, self->member_timeout_ns);
    if (hs_client_on (hs_ctrl_client (ctrl), "hb.dns.", s_on_peer, self) < 0) {
        log_error ("cannot subscribe to hb.dns.");
        return 1;
    }
    if (hs_ctrl_fd_add (ctrl, self->udp_fd, POLLIN, s_udp_ready, self) < 0 ||
        hs_ctrl_fd_add (ctrl, self->tcp_fd, POLLIN, s_tcp_accept, self) < 0 ||
        hs_ctrl_fd_add (ctrl, self->up_fd, POLLIN, s_up_ready, self) < 0 ||
        hs_ctrl_fd_add (ctrl, self->timer_fd, POLLIN, s_timer_ready, self) < 0) {
        log_error ("cannot poll the sockets");
        return 1;
    }
    return 0;
}

static size_t s_counters (void *arg, const char **names, uint64_t *values, size_t max)
{
    self_t *self = arg;
    const char *n[] = {"queries",    "queries_tcp",   "noerror", "formerr",      "servfail",
                       "nxdomain",   "notimp",        "badvers", "forwarded",    "forwarded_tcp",
                       "fwd_failed", "fwd_unmatched", "garbage", "dropped_full", "tcp_refused",
                       "truncated",  "publishes",     "refused"};
    uint64_t v[] = {self->queries,
                    self->queries_tcp,
                    self->rcodes[DNS_RCODE_NOERROR],
                    self->rcodes[DNS_RCODE_FORMERR],
                    self->rcodes[DNS_RCODE_SERVFAIL],
                    self->rcodes[DNS_RCODE_NXDOMAIN],
                    self->rcodes[DNS_RCODE_NOTIMP],
                    self->rcodes[DNS_RCODE_BADVERS],
                    self->forwarded,
                    self->forwarded_tcp,
                    self->fwd_timeouts,
                    self->fwd_late,
                    self->garbage,
                    self->dropped_full,
                    self->tcp_refused,
                    self->truncated,
                    self->publishes,
                    self->refused};
    size_t k = 0;
    for (; k < HS_ARRAY_LEN (n) && k < max; k++) {
        names[k] = n[k];
        values[k] = v[k];
    }
    return k;
}

static size_t s_gauges (void *arg, const char **names, double *values, size_t max)
{
    self_t *self = arg;
    const char *n[] = {"zone_names", "zone_services", "inflight"};
    const double v[] = {(double)dns_zone_names (self->zone), (double)dns_zone_services (self->zone),
                        (double)(dns_fwd_inflight (self->fwd) + self->n_ups)};
    size_t k = 0;
    for (; k < HS_ARRAY_LEN (n) && k < max; k++) {
        names[k] = n[k];
        values[k] = v[k];
    }
    return k;
}

static size_t s_histograms (void *arg, hs_hist_t **hists, size_t max)
{
    self_t *self = arg;
    if (max < 1) return 0;
    hists[0] = self->fwd_hist;
    return 1;
}

static void s_share (void *arg, uint64_t *owned, uint64_t *total)
{
    self_t *self = arg;
    *owned = *total = dns_zone_services (self->zone); /* every instance serves them all */
}

/* ------------------------------------------------------------------ main */

int main (int argc, char **argv)
{
    hs_log_init ("hs-dns");
    static self_t self_storage; /* the buffers are large: not on the stack */
    self_t *self = &self_storage;
    self->udp_fd = self->tcp_fd = self->up_fd = self->timer_fd = -1;
    self->timer_at = INT64_MAX;
    hs_net_conf_default (&self->net);
    self->listen = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons (10053)};
    self->ttl = 5;
    self->max_inflight = 1024;
    self->max_tcp = 256;
    static const struct option extra[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"advertise-address", required_argument, NULL, OPT_ADVERTISE},
        {"upstream", required_argument, NULL, OPT_UPSTREAM},
        {"ttl", required_argument, NULL, OPT_TTL},
        {"max-inflight", required_argument, NULL, OPT_MAX_INFLIGHT},
        {"max-tcp", required_argument, NULL, OPT_MAX_TCP},
        {"allow", required_argument, NULL, OPT_ALLOW},
        {"cluster-cidr", required_argument, NULL, OPT_NET_CLUSTER},
        {"node-cidr-mask-size", required_argument, NULL, OPT_NET_MASK},
        {"service-cidr", required_argument, NULL, OPT_NET_SERVICE},
        {"cluster-domain", required_argument, NULL, OPT_NET_DOMAIN},
        {0}};
    hs_ctrl_opts_t o = {0};
    int rc;
    if (!hs_ctrl_args (argc, argv, "hs-dns", &o, extra, NULL, s_flag, self, s_usage, &rc))
        return rc;
    const char *why;
    if (hs_net_conf_check (&self->net, &why) < 0) {
        fprintf (stderr, "hs-dns: the address plan: %s\n", why);
        return 2;
    }
    self->member_timeout_ns = (o.member_timeout_ms ? o.member_timeout_ms : 1000) * MS;
    gethostname (self->host, sizeof self->host - 1);
    if (!self->advertise_set) {
        uint32_t l = ntohl (self->listen.sin_addr.s_addr);
        self->advertise.sin_family = AF_INET;
        self->advertise.sin_addr.s_addr = htonl (l ? l : s_host_ip ());
    }
    if (!self->upstreams_set) s_resolv_conf (self);
    s_ifnets (self);
    hs_buf_t al = {0};
    hs_buf_printf (&al, "loopback, the cluster CIDR");
    for (size_t i = 0; i < self->n_ifnets; i++) {
        _cleanup_free_ char *c = hs_cidr_format (&self->ifnets[i]);
        hs_buf_printf (&al, ", %s", c);
    }
    for (size_t i = 0; i < self->n_allow; i++) {
        _cleanup_free_ char *c = hs_cidr_format (&self->allow[i]);
        hs_buf_printf (&al, ", %s (--allow)", c);
    }
    _cleanup_free_ char *al_s = hs_buf_take (&al);
    log_info ("answering clients in: %s; others are REFUSED", al_s);
    char la[16], aa[16];
    hs_ip_format (ntohl (self->listen.sin_addr.s_addr), la);
    hs_ip_format (ntohl (self->advertise.sin_addr.s_addr), aa);
    hs_buf_t ups = {0};
    for (size_t i = 0; i < self->n_upstreams; i++) {
        char ua[16];
        hs_buf_printf (&ups, "%s%s:%u", i ? ", " : "",
                       hs_ip_format (ntohl (self->upstreams[i].sin_addr.s_addr), ua),
                       ntohs (self->upstreams[i].sin_port));
    }
    _cleanup_free_ char *ups_s = hs_buf_take (&ups);
    if (s_listen (self) < 0) return 1;
    log_info ("listening on %s:%u (UDP, TCP) for %s; advertised as %s; upstreams: %s", la,
              ntohs (self->listen.sin_port), self->net.domain, aa,
              self->n_upstreams ? ups_s : "none (other names get SERVFAIL)");
    uint64_t seed = 0;
    if (getrandom (&seed, sizeof seed, 0) != sizeof seed) seed = (uint64_t)hs_now_ns ();
    self->zone = dns_zone_new (self->net.domain);
    self->fwd = dns_fwd_new (self->max_inflight, self->n_upstreams, ATTEMPTS, ATTEMPT_NS, seed);
    self->fwd_hist = hs_hist_new ("forward_duration_seconds", NULL, 0);
    static const hs_kind_t kinds[] = {HS_KIND_SERVICE, HS_KIND_ENDPOINTS};
    hs_ctrl_ops_t ops = {.component = "hs-dns",
                         .role = "dns",
                         .kinds = kinds,
                         .n_kinds = HS_ARRAY_LEN (kinds),
                         .on_change = s_on_change,
                         .start = s_start,
                         .pass = s_pass,
                         .counters = s_counters,
                         .share = s_share,
                         .gauges = s_gauges,
                         .histograms = s_histograms,
                         .arg = self};
    rc = hs_ctrl_run (&o, &ops);
    /* the loop is gone (and hs_ctrl with it): close what is left */
    while (self->ups) {
        s_up_t *u = self->ups;
        self->ups = u->next;
        if (u->fd >= 0) close (u->fd);
        free (u->buf);
        free (u);
    }
    while (self->conns) {
        s_conn_t *cn = self->conns;
        self->conns = cn->next;
        close (cn->fd);
        free (cn->in);
        free (cn->out);
        free (cn);
    }
    dns_fwd_destroy (&self->fwd);
    hs_hist_destroy (&self->fwd_hist);
    dns_zone_destroy (&self->zone);
    hs_members_destroy (&self->members);
    close (self->udp_fd);
    close (self->tcp_fd);
    close (self->up_fd);
    close (self->timer_fd);
    return rc;
}
