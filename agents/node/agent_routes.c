/*  agent_routes.c: host-gw routes through rtnetlink (see agent_routes.h). */
#include "agent_routes.h"
#include "agent_routes_plan.h"

#include "hs_log.h"
#include "hs_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MS          1000000LL
#define RESYNC_NS   (10000 * MS) /* a sync at least this often */
#define DEBOUNCE_NS (50 * MS)    /* between two syncs */
#define STUCK_NS    (3000 * MS)  /* a dump or acks that never finish */

typedef enum { S_IDLE, S_DUMP, S_APPLY } s_phase_t;

struct agent_routes_t {
    hs_loop_t *loop;
    char *node;
    uint32_t node_ip;
    hs_cidr_t svc;
    bool has_svc;
    hs_cidr_t cluster;
    bool has_cluster;
    hs_watch_t *watch;
    struct mnl_socket *nl, *mon;
    uint32_t portid, seq;
    hs_loop_io_t *nl_io, *mon_io;
    s_phase_t phase;
    int64_t phase_mono;
    uint32_t dump_seq;
    uint32_t apply_lo, apply_hi; /* the seqs of the changes sent */
    size_t pending;              /* their acks still awaited */
    bool dirty;
    int64_t last_sync_mono;
    agent_route_t *ours, *others; /* from the dump */
    size_t n_ours, n_others;
    agent_routes_plan_t plan;
    uint64_t counters[4];
    char buf[32768]; /* netlink reads (MNL_SOCKET_BUFFER_SIZE is a call, not a constant) */
};

/* ------------------------------------------------------------------ helpers */

int agent_routes_source_ip (const char *host, uint32_t *ret_ip)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM}, *ai = NULL;
    if (getaddrinfo (host, "9", &hints, &ai) != 0 || !ai) return -EHOSTUNREACH;
    int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int r = fd < 0 ? -errno : 0;
    /* A UDP connect sends nothing: it only asks the kernel for the route. */
    if (r == 0 && connect (fd, ai->ai_addr, ai->ai_addrlen) < 0) r = -errno;
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    if (r == 0 && getsockname (fd, (struct sockaddr *)&sin, &len) < 0) r = -errno;
    if (fd >= 0) close (fd);
    freeaddrinfo (ai);
    if (r == 0) *ret_ip = ntohl (sin.sin_addr.s_addr);
    return r;
}

static uint32_t s_first_ip (void)
{
    struct ifaddrs *ifs = NULL;
    if (getifaddrs (&ifs) < 0) return 0;
    uint32_t ip = 0;
    for (struct ifaddrs *i = ifs; i && !ip; i = i->ifa_next)
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && (i->ifa_flags & IFF_UP) &&
            !(i->ifa_flags & IFF_LOOPBACK))
            ip = ntohl (((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
    freeifaddrs (ifs);
    return ip;
}

uint32_t agent_routes_default_ip (const char *bus)
{
    uint32_t ip = 0;
    char pub[512], sub[512];
    if (hs_bus_endpoints (bus, pub, sub, sizeof pub) == 0 && hs_startswith (pub, "tcp://")) {
        char *host = pub + 6, *colon = strrchr (host, ':');
        if (colon) *colon = '\0';
        if (!strcmp (host, "*") || agent_routes_source_ip (host, &ip) < 0) ip = 0;
    }
    if (!ip) ip = s_first_ip ();
    if (!ip) hs_ip_parse ("127.0.0.1", &ip);
    return ip;
}

int agent_routes_ifindex_of (uint32_t ip)
{
    struct ifaddrs *ifs = NULL;
    if (getifaddrs (&ifs) < 0) return 0;
    int idx = 0;
    for (struct ifaddrs *i = ifs; i && !idx; i = i->ifa_next)
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
            ntohl (((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr) == ip)
            idx = (int)if_nametoindex (i->ifa_name);
    freeifaddrs (ifs);
    return idx;
}

static void s_wake (void *arg, int fd, uint32_t revents)
{
    (void)fd, (void)revents;
    (void)arg;
}

/* A route changed in the namespace (ours included): read the news, sync. */
static void s_on_monitor (void *arg, int fd, uint32_t revents)
{
    agent_routes_t *self = arg;
    (void)fd, (void)revents;
    while (mnl_socket_recvfrom (self->mon, self->buf, sizeof self->buf) > 0) {}
    /* ENOBUFS (we missed some): a sync looks at everything anyway. */
    self->dirty = true;
}

static void s_log_skip (const agent_routes_skip_t *s)
{
    _cleanup_free_ char *key = hs_sprintf ("routes skip %s %s", s->node, s->why);
    hs_log_once (HS_LOG_WARN, key, "no route to node %s's pods: %s", s->node, s->why);
}

/* ------------------------------------------------------------------ netlink */

static int s_send (agent_routes_t *self, struct nlmsghdr *nlh)
{
    if (mnl_socket_sendto (self->nl, nlh, nlh->nlmsg_len) < 0) return -errno;
    return 0;
}

static int s_dump_start (agent_routes_t *self)
{
    char b[1024];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header (b);
    nlh->nlmsg_type = RTM_GETROUTE;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = self->dump_seq = ++self->seq;
    struct rtmsg *rtm = mnl_nlmsg_put_extra_header (nlh, sizeof *rtm);
    rtm->rtm_family = AF_INET;
    free (self->ours);
    free (self->others);
    self->ours = self->others = NULL;
    self->n_ours = self->n_others = 0;
    return s_send (self, nlh);
}

static int s_attr_cb (const struct nlattr *attr, void *data)
{
    const struct nlattr **tb = data;
    int type = mnl_attr_get_type (attr);
    if (mnl_attr_type_valid (attr, RTA_MAX) < 0) return MNL_CB_OK;
    switch (type) {
    case RTA_DST:
    case RTA_GATEWAY:
    case RTA_OIF:
    case RTA_PRIORITY:
    case RTA_TABLE:
        if (mnl_attr_validate (attr, MNL_TYPE_U32) < 0) return MNL_CB_OK;
        break;
    default: return MNL_CB_OK;
    }
    tb[type] = attr;
    return MNL_CB_OK;
}

/* One route of the dump: the main table's unicast IPv4 routes, ours and not. */
static void s_dump_route (agent_routes_t *self, const struct nlmsghdr *nlh)
{
    const struct rtmsg *rtm = mnl_nlmsg_get_payload (nlh);
    if (rtm->rtm_family != AF_INET) return;
    const struct nlattr *tb[RTA_MAX + 1] = {0};
    mnl_attr_parse (nlh, sizeof *rtm, s_attr_cb, tb);
    uint32_t table = tb[RTA_TABLE] ? mnl_attr_get_u32 (tb[RTA_TABLE]) : rtm->rtm_table;
    if (table != RT_TABLE_MAIN) return;
    agent_route_t r = {0};
    r.dst.prefix = rtm->rtm_dst_len;
    if (tb[RTA_DST]) r.dst.addr = ntohl (mnl_attr_get_u32 (tb[RTA_DST]));
    if (tb[RTA_GATEWAY]) r.gw = ntohl (mnl_attr_get_u32 (tb[RTA_GATEWAY]));
    if (tb[RTA_OIF]) r.oif = (int)mnl_attr_get_u32 (tb[RTA_OIF]);
    if (tb[RTA_PRIORITY]) r.priority = mnl_attr_get_u32 (tb[RTA_PRIORITY]);
    bool ours = rtm->rtm_protocol == HS_ROUTES_PROTO;
    /* Others: any route that takes packets somewhere (unicast; local,
     * blackhole, unreachable, prohibit also keep a destination taken). */
    if (!ours && rtm->rtm_type == RTN_BROADCAST) return;
    agent_route_t **v = ours ? &self->ours : &self->others;
    size_t *n = ours ? &self->n_ours : &self->n_others;
    *v = hs_realloc (*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = r;
}

static void s_put_route (struct nlmsghdr *nlh, const agent_route_t *r, bool del)
{
    struct rtmsg *rtm = mnl_nlmsg_put_extra_header (nlh, sizeof *rtm);
    rtm->rtm_family = AF_INET;
    rtm->rtm_dst_len = (unsigned char)r->dst.prefix;
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = HS_ROUTES_PROTO;
    rtm->rtm_scope = del ? RT_SCOPE_NOWHERE : r->gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
    rtm->rtm_type = del ? RTN_UNSPEC : RTN_UNICAST;
    mnl_attr_put_u32 (nlh, RTA_DST, htonl (r->dst.addr));
    if (del) {
        if (r->priority) mnl_attr_put_u32 (nlh, RTA_PRIORITY, r->priority);
        return;
    }
    if (r->gw) mnl_attr_put_u32 (nlh, RTA_GATEWAY, htonl (r->gw));
    if (r->oif) mnl_attr_put_u32 (nlh, RTA_OIF, (uint32_t)r->oif);
}

/* The dump is in: plan and send the changes. */
static void s_apply (agent_routes_t *self)
{
    const Hs__Object **nodes = NULL;
    size_t n = self->watch ? hs_watch_list (self->watch, HS_KIND_NODE, &nodes) : 0;
    agent_routes_self_t me = {.node = self->node,
                              .node_ip = self->node_ip,
                              .svc = self->has_svc ? &self->svc : NULL,
                              .cluster = self->has_cluster ? &self->cluster : NULL,
                              .svc_oif =
                                  self->has_svc ? agent_routes_ifindex_of (self->node_ip) : 0};
    agent_route_t *want = NULL;
    agent_routes_skip_t *skips = NULL;
    size_t n_skips = 0;
    size_t nw =
        agent_routes_want (&me, nodes, n, self->others, self->n_others, &want, &skips, &n_skips);
    for (size_t i = 0; i < n_skips; i++) s_log_skip (&skips[i]);
    free (skips);
    free (nodes);
    agent_routes_plan_free (&self->plan);
    agent_routes_plan (want, nw, self->ours, self->n_ours, &self->plan);
    free (want);
    /* Before the Nodes are known, add but never delete: a restart keeps
     * what it finds until it knows better. */
    if (!self->watch || !hs_watch_synced (self->watch)) self->plan.n_del = 0;
    self->apply_lo = self->seq + 1;
    self->pending = 0;
    char b[1024];
    for (size_t k = 0; k < self->plan.n_add + self->plan.n_del; k++) {
        bool del = k >= self->plan.n_add;
        const agent_route_t *r = del ? &self->plan.del[k - self->plan.n_add] : &self->plan.add[k];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header (b);
        nlh->nlmsg_type = del ? RTM_DELROUTE : RTM_NEWROUTE;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (del ? 0 : NLM_F_CREATE | NLM_F_REPLACE);
        nlh->nlmsg_seq = ++self->seq;
        s_put_route (nlh, r, del);
        char rb[80];
        int e = s_send (self, nlh);
        if (e < 0) {
            self->counters[AGENT_ROUTES_ERRORS]++;
            log_warn ("route %s %s: cannot send: %s", del ? "delete" : "add",
                      agent_route_fmt (r, rb, sizeof rb), strerror (-e));
            continue;
        }
        self->pending++;
        log_info ("route %s %s proto %d", del ? "delete" : "add",
                  agent_route_fmt (r, rb, sizeof rb), HS_ROUTES_PROTO);
    }
    self->apply_hi = self->seq;
    self->phase = self->pending ? S_APPLY : S_IDLE;
    self->phase_mono = hs_mono_ns ();
    self->counters[AGENT_ROUTES_SYNCS]++;
}

/* The route a change's seq was about, for its ack. */
static const agent_route_t *s_change (agent_routes_t *self, uint32_t seq, bool *ret_del)
{
    size_t k = seq - self->apply_lo;
    *ret_del = k >= self->plan.n_add;
    if (k < self->plan.n_add) return &self->plan.add[k];
    if (k - self->plan.n_add < self->plan.n_del) return &self->plan.del[k - self->plan.n_add];
    return NULL;
}

static void s_ack (agent_routes_t *self, const struct nlmsghdr *nlh)
{
    if (nlh->nlmsg_len < mnl_nlmsg_size (sizeof (struct nlmsgerr))) return;
    const struct nlmsgerr *err = mnl_nlmsg_get_payload (nlh);
    if (self->phase == S_DUMP && nlh->nlmsg_seq == self->dump_seq && err->error) {
        log_warn ("cannot read the routes: %s", strerror (-err->error));
        self->phase = S_IDLE;
        return;
    }
    if (self->phase != S_APPLY || nlh->nlmsg_seq < self->apply_lo ||
        nlh->nlmsg_seq > self->apply_hi)
        return;
    bool del;
    const agent_route_t *r = s_change (self, nlh->nlmsg_seq, &del);
    if (self->pending) self->pending--;
    if (!r) return;
    char rb[80];
    agent_route_fmt (r, rb, sizeof rb);
    if (err->error == 0) {
        self->counters[del ? AGENT_ROUTES_DELETED : AGENT_ROUTES_ADDED]++;
        return;
    }
    /* ESRCH on delete: already gone. */
    if (del && err->error == -ESRCH) return;
    self->counters[AGENT_ROUTES_ERRORS]++;
    _cleanup_free_ char *key = hs_sprintf ("route %s %s %d", del ? "del" : "add", rb, err->error);
    hs_log_once (HS_LOG_WARN, key, "route %s %s: the kernel refused: %s (logged once)",
                 del ? "delete" : "add", rb, strerror (-err->error));
}

/* Reads what netlink has for us; moves the sync on. */
static void s_read (agent_routes_t *self)
{
    for (int batch = 0; batch < 64; batch++) {
        ssize_t len = mnl_socket_recvfrom (self->nl, self->buf, sizeof self->buf);
        if (len < 0 && errno == EINTR) continue;
        if (len <= 0) return; /* EAGAIN: more later */
        int left = (int)len;
        for (const struct nlmsghdr *nlh = (const struct nlmsghdr *)self->buf;
             mnl_nlmsg_ok (nlh, left); nlh = mnl_nlmsg_next (nlh, &left)) {
            if (nlh->nlmsg_type == NLMSG_ERROR) {
                s_ack (self, nlh);
            } else if (self->phase == S_DUMP && nlh->nlmsg_seq == self->dump_seq) {
                if (nlh->nlmsg_type == NLMSG_DONE)
                    s_apply (self);
                else if (nlh->nlmsg_type == RTM_NEWROUTE)
                    s_dump_route (self, nlh);
            }
        }
        if (self->phase == S_APPLY && self->pending == 0) self->phase = S_IDLE;
    }
}

/* ------------------------------------------------------------------ public */

static void s_ip_forward (void)
{
    int fd = open ("/proc/sys/net/ipv4/ip_forward", O_RDWR | O_CLOEXEC);
    char c = 0;
    if (fd >= 0 && read (fd, &c, 1) == 1 && c == '1') {
        close (fd);
        return;
    }
    if (fd < 0 || pwrite (fd, "1\n", 2, 0) != 2)
        log_warn ("cannot set net.ipv4.ip_forward=1: %s; this node will not route its pods' "
                  "traffic",
                  strerror (errno));
    else
        log_info ("set net.ipv4.ip_forward=1");
    if (fd >= 0) close (fd);
}

agent_routes_t *agent_routes_new (hs_loop_t *loop, const char *node, uint32_t node_ip,
                                  const hs_cidr_t *svc, const hs_cidr_t *cluster)
{
    agent_routes_t *self = hs_calloc (1, sizeof *self);
    self->loop = loop;
    self->node = hs_strdup (node);
    self->node_ip = node_ip;
    if (svc) {
        self->svc = *svc;
        self->has_svc = true;
    }
    if (cluster) {
        self->cluster = *cluster;
        self->has_cluster = true;
    }
    self->nl = mnl_socket_open2 (NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
    self->mon = mnl_socket_open2 (NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (!self->nl || !self->mon || mnl_socket_bind (self->nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
        mnl_socket_bind (self->mon, RTMGRP_IPV4_ROUTE, MNL_SOCKET_AUTOPID) < 0) {
        log_error ("cannot open rtnetlink: %s; no routes to the other nodes' pods",
                   strerror (errno));
        agent_routes_destroy (&self);
        return NULL;
    }
    self->portid = mnl_socket_get_portid (self->nl);
    self->nl_io = hs_loop_io (loop, mnl_socket_get_fd (self->nl), EPOLLIN, s_wake, self);
    self->mon_io = hs_loop_io (loop, mnl_socket_get_fd (self->mon), EPOLLIN, s_on_monitor, self);
    self->dirty = true;
    s_ip_forward ();
    return self;
}

void agent_routes_destroy (agent_routes_t **self_p)
{
    agent_routes_t *self = *self_p;
    if (!self) return;
    hs_loop_io_free (&self->nl_io);
    hs_loop_io_free (&self->mon_io);
    if (self->nl) mnl_socket_close (self->nl);
    if (self->mon) mnl_socket_close (self->mon);
    agent_routes_plan_free (&self->plan);
    free (self->ours);
    free (self->others);
    free (self->node);
    free (self);
    *self_p = NULL;
}

void agent_routes_set_watch (agent_routes_t *self, hs_watch_t *w)
{
    if (!self) return;
    self->watch = w;
    self->dirty = true;
}

void agent_routes_changed (agent_routes_t *self)
{
    if (self) self->dirty = true;
}

int64_t agent_routes_work (agent_routes_t *self)
{
    if (!self) return HS_NEVER;
    s_read (self);
    int64_t now = hs_mono_ns ();
    if (self->phase != S_IDLE && now - self->phase_mono >= STUCK_NS) {
        log_warn ("routes: netlink did not answer in %lld ms; starting over",
                  (long long)(STUCK_NS / MS));
        self->phase = S_IDLE;
        self->dirty = true;
    }
    if (self->phase != S_IDLE) return self->phase_mono + STUCK_NS;
    int64_t due =
        self->dirty ? self->last_sync_mono + DEBOUNCE_NS : self->last_sync_mono + RESYNC_NS;
    if (now < due) return due;
    self->dirty = false;
    self->last_sync_mono = now;
    int r = s_dump_start (self);
    if (r < 0) {
        self->counters[AGENT_ROUTES_ERRORS]++;
        hs_log_once (HS_LOG_WARN, "routes dump", "cannot ask for the routes: %s (logged once)",
                     strerror (-r));
        return now + RESYNC_NS;
    }
    self->phase = S_DUMP;
    self->phase_mono = now;
    s_read (self); /* the kernel answers a dump at once, usually */
    return self->phase == S_IDLE ? now + DEBOUNCE_NS : now + STUCK_NS;
}

uint64_t agent_routes_counter (agent_routes_t *self, int which)
{
    return self && which >= 0 && which < 4 ? self->counters[which] : 0;
}
