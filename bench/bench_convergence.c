/*  bench_convergence.c: bench-convergence, Service convergence end to end
 *  (root): a pod turns not-ready -> its address is gone from the nftables
 *  rules on every node. Issue 15's target is p99 <= 100 ms; kube-proxy's
 *  default minSyncPeriod (1 s) is shown beside it.
 *
 *    1. three network namespaces of its own (hs-cv<pid>-n0..2, removed at
 *       exit, on error and on Ctrl-C; the root one is never changed);
 *       hs-bus (tcp on loopback for us and hs-store, ipc:// for the nodes),
 *       hs-store (durable), --services (100) Services each selecting
 *       --pods-per (10) pods whose status (Running, a podIP in 10.244.x.y,
 *       Ready=True) the bench writes itself: no pod process runs, the data
 *       plane is not under test, the rules are. Then one hs-endpoints.
 *    2. per mode (--min-sync-period 0, our default, then 1000, kube-proxy's
 *       default): one hs-proxy in each namespace (nsenter --net), wait until
 *       every Service's map holds all its endpoints in all three tables;
 *       then rounds: pick a pod, write its status Ready=False, and time from
 *       just before the write is sent until its address is gone from its
 *       Service's dnat map in all three namespaces (netlink: GETRULE dump of
 *       the Service's chain, then GETSETELEM dump of the map that rule looks
 *       up, per namespace, about every 250 us); then Ready=True and wait
 *       until it is back everywhere before the next round.
 *
 *  Prints tables; no pass/fail.
 */
#include "benchlib.h"
#include "hs_client.h"
#include "hs_obj.h"
#include "hs_pb.h"
#include "hs_util.h"
#include "hs_workload.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define MS     1000000LL
#define US     1000LL
#define BATCH  500
#define NODES  3
#define TABLE  "homeostat"
#define NS_DIR "/run/netns"

enum { B_BUS, B_STORE, B_EP, B_PROXY, B_N };
static const char *s_names[B_N] = {"hs-bus", "hs-store", "hs-endpoints", "hs-proxy"};
static char *s_bin[B_N];
static int s_services = 100, s_pods_per = 10;

/* ------------------------------------------------------------------ namespaces */

static char s_ns[NODES][64];      /* names; "" until chosen */
static char s_ns_path[NODES][96]; /* /run/netns/<name> */
static struct mnl_socket *s_nl[NODES];

/* At exit and on signals (async-signal-safe): what `ip netns del` does.
 * The namespaces live on until the processes in them are killed, which
 * the rest of the cleanup does next; their nft tables go with them. */
static void s_ns_remove (void)
{
    for (int i = 0; i < NODES; i++) {
        if (!s_ns_path[i][0]) continue;
        umount2 (s_ns_path[i], MNT_DETACH);
        unlink (s_ns_path[i]);
    }
}

static int s_run (char *const argv[])
{
    pid_t pid = fork ();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open ("/dev/null", O_WRONLY);
        if (fd >= 0) dup2 (fd, 1);
        execvp (argv[0], argv);
        _exit (127);
    }
    int st;
    if (waitpid (pid, &st, 0) < 0) return -1;
    return WIFEXITED (st) ? WEXITSTATUS (st) : -1;
}

/* Makes the namespaces and a netlink socket inside each (a netlink socket
 * belongs to the namespace it was opened in). Before any thread starts. */
static void s_ns_make (void)
{
    int self = open ("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0) bl_die ("/proc/self/ns/net: %s", strerror (errno));
    for (int i = 0; i < NODES; i++) {
        snprintf (s_ns[i], sizeof s_ns[i], "hs-cv%d-n%d", (int)getpid (), i);
        snprintf (s_ns_path[i], sizeof s_ns_path[i], NS_DIR "/%s", s_ns[i]);
        char *add[] = {"ip", "netns", "add", s_ns[i], NULL};
        if (s_run (add) != 0) bl_die ("ip netns add %s failed", s_ns[i]);
        char *lo[] = {"ip", "-n", s_ns[i], "link", "set", "lo", "up", NULL};
        if (s_run (lo) != 0) bl_die ("ip -n %s link set lo up failed", s_ns[i]);
        int fd = open (s_ns_path[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns (fd, CLONE_NEWNET) != 0)
            bl_die ("setns %s: %s", s_ns_path[i], strerror (errno));
        close (fd);
        s_nl[i] = mnl_socket_open (NETLINK_NETFILTER);
        if (!s_nl[i] || mnl_socket_bind (s_nl[i], 0, MNL_SOCKET_AUTOPID) < 0)
            bl_die ("netlink in %s: %s", s_ns[i], strerror (errno));
        if (setns (self, CLONE_NEWNET) != 0) bl_die ("setns back: %s", strerror (errno));
    }
    close (self);
}

/* ------------------------------------------------------------------ the probe */

/* One dump request (table/chain or table/set attributes) and its replies,
 * each handed to cb. 0, or -errno (ENOENT: no such chain or set). */
static int s_dump_once (struct mnl_socket *nl, uint16_t msg, uint16_t a_table, uint16_t a_name,
                        const char *name, mnl_cb_t cb, void *arg, int *ret_gen)
{
    static uint32_t seq;
    char buf[32768];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header (buf);
    nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | msg;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = ++seq;
    struct nfgenmsg *g = mnl_nlmsg_put_extra_header (nlh, sizeof *g);
    g->nfgen_family = NFPROTO_IPV4;
    g->version = NFNETLINK_V0;
    g->res_id = 0;
    mnl_attr_put_strz (nlh, a_table, TABLE);
    mnl_attr_put_strz (nlh, a_name, name);
    while (mnl_socket_sendto (nl, nlh, nlh->nlmsg_len) < 0)
        if (errno != EINTR) return -errno;
    /* our own walk, not mnl_cb_run: a dump the kernel flags NLM_F_DUMP_INTR
     * (the ruleset changed meanwhile) is read to its end and retried, and
     * replies to an earlier, abandoned request are skipped */
    bool intr = false;
    for (;;) {
        ssize_t n = mnl_socket_recvfrom (nl, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -errno;
        int len = (int)n;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; mnl_nlmsg_ok (h, len);
             h = mnl_nlmsg_next (h, &len)) {
            if (h->nlmsg_seq != seq) continue;
            if (h->nlmsg_type == NLMSG_DONE) {
                /* a dump that failed (no such set) says so in its DONE */
                int err = 0;
                if (mnl_nlmsg_get_payload_len (h) >= sizeof err)
                    memcpy (&err, mnl_nlmsg_get_payload (h), sizeof err);
                return intr ? -EINTR : err < 0 ? err : 0;
            }
            if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = mnl_nlmsg_get_payload (h);
                if (e->error) return e->error;
                continue;
            }
            if (h->nlmsg_flags & NLM_F_DUMP_INTR) intr = true;
            if (intr) continue;
            const struct nfgenmsg *gm = mnl_nlmsg_get_payload (h);
            if (*ret_gen < 0) *ret_gen = ntohs (gm->res_id);
            cb (h, arg);
        }
    }
}

static int s_dump (struct mnl_socket *nl, uint16_t msg, uint16_t a_table, uint16_t a_name,
                   const char *name, mnl_cb_t cb, void *arg, void (*reset) (void *), int *ret_gen)
{
    for (;;) {
        *ret_gen = -1;
        int r = s_dump_once (nl, msg, a_table, a_name, name, cb, arg, ret_gen);
        if (r != -EINTR) return r;
        reset (arg);
    }
}

/* A rule of the Service's chain: the name of the first set it looks up
 * (the anonymous map of "dnat ip to numgen ... map { ... }"). */
static int s_on_rule (const struct nlmsghdr *nlh, void *arg)
{
    char *set = arg;
    const struct nlattr *a, *e, *f, *d;
    mnl_attr_for_each (a, nlh, sizeof (struct nfgenmsg))
    {
        if (mnl_attr_get_type (a) != NFTA_RULE_EXPRESSIONS) continue;
        mnl_attr_for_each_nested (e, a)
        {
            const char *expr = NULL;
            mnl_attr_for_each_nested (f, e)
            {
                if (mnl_attr_get_type (f) == NFTA_EXPR_NAME) expr = mnl_attr_get_str (f);
                if (mnl_attr_get_type (f) != NFTA_EXPR_DATA || !expr || strcmp (expr, "lookup"))
                    continue;
                mnl_attr_for_each_nested (d, f)
                {
                    if (mnl_attr_get_type (d) == NFTA_LOOKUP_SET && !set[0])
                        snprintf (set, 64, "%s", mnl_attr_get_str (d));
                }
            }
        }
    }
    return MNL_CB_OK;
}

static void s_reset_rule (void *arg)
{
    *(char *)arg = 0;
}

typedef struct {
    uint32_t ip; /* network order */
    int n;       /* elements */
    bool found;
} s_elems_t;

/* Elements of the map: data = address . port; the address is its first 4 bytes. */
static int s_on_elems (const struct nlmsghdr *nlh, void *arg)
{
    s_elems_t *x = arg;
    const struct nlattr *a, *el, *f, *v;
    mnl_attr_for_each (a, nlh, sizeof (struct nfgenmsg))
    {
        if (mnl_attr_get_type (a) != NFTA_SET_ELEM_LIST_ELEMENTS) continue;
        mnl_attr_for_each_nested (el, a)
        {
            mnl_attr_for_each_nested (f, el)
            {
                if (mnl_attr_get_type (f) != NFTA_SET_ELEM_DATA) continue;
                mnl_attr_for_each_nested (v, f)
                {
                    if (mnl_attr_get_type (v) != NFTA_DATA_VALUE ||
                        mnl_attr_get_payload_len (v) < 4)
                        continue;
                    uint32_t ip;
                    memcpy (&ip, mnl_attr_get_payload (v), 4);
                    x->n++;
                    x->found |= ip == x->ip;
                }
            }
        }
    }
    return MNL_CB_OK;
}

static void s_reset_elems (void *arg)
{
    s_elems_t *x = arg;
    x->n = 0;
    x->found = false;
}

/* In namespace `node`, Service svc-I's dnat map: its number of endpoints
 * (and whether ip, network order, is one), or -1 if the chain, its rule or
 * its map is not there (not synced yet, or replaced between the dumps). */
static int s_probe (int node, int svc, uint32_t ip, bool *ret_found)
{
    char chain[96], set[64] = "";
    int gen_rule, gen_set;
    snprintf (chain, sizeof chain, "service-default/svc-%d/tcp/80", svc);
    int r = s_dump (s_nl[node], NFT_MSG_GETRULE, NFTA_RULE_TABLE, NFTA_RULE_CHAIN, chain, s_on_rule,
                    set, s_reset_rule, &gen_rule);
    if (r == -ENOENT || (r == 0 && !set[0])) return -1;
    if (r < 0) bl_die ("netlink GETRULE in %s: %s", s_ns[node], strerror (-r));
    s_elems_t x = {.ip = ip};
    r = s_dump (s_nl[node], NFT_MSG_GETSETELEM, NFTA_SET_ELEM_LIST_TABLE, NFTA_SET_ELEM_LIST_SET,
                set, s_on_elems, &x, s_reset_elems, &gen_set);
    if (r == -ENOENT) return -1;
    if (r < 0) bl_die ("netlink GETSETELEM in %s: %s", s_ns[node], strerror (-r));
    /* every reply carries the ruleset generation (low 16 bits): a commit
     * between the two dumps could have given the map's name to another */
    if (gen_set != gen_rule) return -1;
    if (ret_found) *ret_found = x.found;
    return x.n;
}

/* ------------------------------------------------------------------ objects */

static void s_ip (int svc, int j, char *buf, size_t len)
{
    int i = svc * s_pods_per + j;
    snprintf (buf, len, "10.244.%d.%d", i / 250, i % 250 + 1);
}

static Hs__Object *s_service (int i)
{
    char name[32];
    snprintf (name, sizeof name, "svc-%d", i);
    Hs__Object *o = hs_obj_new (HS_KIND_SERVICE, "default", name);
    Hs__ServiceSpec *sp = o->service->spec = hs_pb_new (&hs__service_spec__descriptor);
    hs_pb_map_set ((void ***)&sp->selector, &sp->n_selector,
                   &hs__service_spec__selector_entry__descriptor, "app", name);
    Hs__ServicePort *p = hs_pb_new (&hs__service_port__descriptor);
    hs_pb_set_str (&p->name, "http");
    p->port = 80;
    hs_pb_set_str (&p->target_port, "http");
    hs_pb_set_str (&p->protocol, "TCP");
    hs_pb_push ((void ***)&sp->ports, &sp->n_ports, p);
    return o;
}

static Hs__Object *s_pod (int svc, int j)
{
    char name[48], app[32];
    snprintf (name, sizeof name, "svc-%d-%d", svc, j);
    snprintf (app, sizeof app, "svc-%d", svc);
    Hs__Object *o = hs_obj_new (HS_KIND_POD, "default", name);
    hs_pb_map_set ((void ***)&o->pod->metadata->labels, &o->pod->metadata->n_labels,
                   &hs__object_meta__labels_entry__descriptor, "app", app);
    Hs__PodSpec *sp = o->pod->spec = hs_pb_new (&hs__pod_spec__descriptor);
    hs_pb_set_str (&sp->node_name, j % NODES == 0 ? "n0" : j % NODES == 1 ? "n1" : "n2");
    Hs__Container *ct = hs_pb_new (&hs__container__descriptor);
    hs_pb_set_str (&ct->name, "app");
    char *a0 = NULL, *a1 = NULL;
    hs_pb_set_str (&a0, "sleep");
    hs_pb_set_str (&a1, "3600");
    hs_pb_push ((void ***)&ct->command, &ct->n_command, a0);
    hs_pb_push ((void ***)&ct->command, &ct->n_command, a1);
    Hs__ContainerPort *cp = hs_pb_new (&hs__container_port__descriptor);
    hs_pb_set_str (&cp->name, "http");
    cp->container_port = 8080;
    hs_pb_set_str (&cp->protocol, "TCP");
    hs_pb_push ((void ***)&ct->ports, &ct->n_ports, cp);
    hs_pb_push ((void ***)&sp->containers, &sp->n_containers, ct);
    return o;
}

/* The status write of pod j of Service svc: Running, its IP, Ready or not. */
static Hs__Write *s_status (int svc, int j, bool ready)
{
    char name[48], ip[24];
    snprintf (name, sizeof name, "svc-%d-%d", svc, j);
    s_ip (svc, j, ip, sizeof ip);
    Hs__Object *o = hs_obj_new (HS_KIND_POD, "default", name);
    Hs__PodStatus *st = o->pod->status = hs_pb_new (&hs__pod_status__descriptor);
    hs_pb_set_str (&st->phase, "Running");
    hs_pb_set_str (&st->pod_ip, ip);
    Hs__PodCondition *cond = hs_pb_new (&hs__pod_condition__descriptor);
    hs_pb_set_str (&cond->type, "Ready");
    hs_pb_set_str (&cond->status, ready ? "True" : "False");
    cond->last_transition_time = hs_now_ns ();
    hs_pb_push ((void ***)&st->conditions, &st->n_conditions, cond);
    return hs_write_new (HS__OP__OP_UPDATE_STATUS, o);
}

/* ------------------------------------------------------------------ the cluster */

typedef struct {
    char *dir, *ipc;
    char bus[64], ipc_bus[160];
    hs_client_t *cl;
    int64_t ep_added;
    /* the round being measured: the Endpoints event showing the change */
    char svc[32], ip[24];
    bool want_ready;
    int64_t ep_seen;
} cluster_t;

static void s_pump (cluster_t *c, int ms)
{
    int r = hs_client_process (c->cl, ms);
    if (r < 0 && r != -EINTR) bl_die ("the bus failed: %s", strerror (-r));
}

/* Is ip in the Endpoints' ready (or not-ready) addresses? */
static bool s_has (const Hs__Endpoints *ep, const char *ip, bool ready)
{
    for (size_t i = 0; i < ep->n_subsets; i++) {
        const Hs__EndpointSubset *s = ep->subsets[i];
        size_t n = ready ? s->n_addresses : s->n_not_ready_addresses;
        for (size_t j = 0; j < n; j++)
            if (hs_streq ((ready ? s->addresses[j] : s->not_ready_addresses[j])->ip, ip))
                return true;
    }
    return false;
}

static void s_on_ep (void *arg, const char *topic, const Hs__Envelope *env)
{
    cluster_t *c = arg;
    (void)topic;
    if (env->body_case != HS__ENVELOPE__BODY_EVENT) return;
    const Hs__WatchEvent *e = env->event;
    if (e->type == HS__EVENT_TYPE__ADDED) c->ep_added++;
    const Hs__ObjectMeta *m = hs_obj_meta (e->object);
    if (e->type != HS__EVENT_TYPE__MODIFIED || !m || !c->svc[0] || !hs_streq (m->name, c->svc) ||
        c->ep_seen)
        return;
    const Hs__Endpoints *ep = e->object->endpoints;
    if (s_has (ep, c->ip, c->want_ready) && !s_has (ep, c->ip, !c->want_ready))
        c->ep_seen = hs_mono_ns ();
}

/* Sends writes[0..n) (taken) in Commands of BATCH and waits for each. */
static void s_write_all (cluster_t *c, Hs__Write **w, size_t n, const char *what)
{
    for (size_t base = 0; base < n; base += BATCH) {
        size_t k = n - base < BATCH ? n - base : BATCH;
        Hs__Ack *ack = NULL;
        hs_call_opts_t o = {.timeout_ms = 60000};
        int r = hs_client_call (c->cl, w + base, k, &o, &ack);
        if (r < 0 || ack->code != HS__CODE__CODE_OK)
            bl_die ("cannot write %s: %s", what, r < 0 ? strerror (-r) : ack->message);
        hs_pb_free (ack);
    }
    for (size_t i = 0; i < n; i++) hs_pb_free (w[i]);
    free (w);
}

/* hs-bus on loopback (us, hs-store, hs-endpoints) and on ipc:// (the
 * nodes: a path-named unix socket reaches into every namespace), hs-store
 * (durable), the Services and pods, then hs-endpoints and its Endpoints. */
static void s_cluster_up (cluster_t *c)
{
    *c = (cluster_t){0};
    c->dir = bl_tmpdir ("convergence");
    c->ipc = hs_sprintf ("%s/ipc", c->dir);
    if (mkdir (c->ipc, 0700) != 0) bl_die ("mkdir %s: %s", c->ipc, strerror (errno));
    snprintf (c->ipc_bus, sizeof c->ipc_bus, "ipc://%s", c->ipc);
    int port = bl_free_port (true);
    char port_s[16];
    snprintf (port_s, sizeof port_s, "%d", port);
    snprintf (c->bus, sizeof c->bus, "127.0.0.1:%d", port);
    _cleanup_free_ char *bus_log = hs_sprintf ("%s/hs-bus.log", c->dir);
    _cleanup_free_ char *store_log = hs_sprintf ("%s/hs-store.log", c->dir);
    _cleanup_free_ char *data = hs_sprintf ("%s/store", c->dir);
    char *a_bus[] = {s_bin[B_BUS], "--bind", "127.0.0.1", "--port", port_s, "--ipc", c->ipc, NULL};
    bl_spawn (a_bus, bus_log);
    if (bl_wait_tcp (port + 1, 5000) < 0) bl_die ("hs-bus did not start");
    char *a_store[] = {s_bin[B_STORE], "--bus", c->bus, "--data", data, NULL};
    bl_spawn (a_store, store_log);
    int r = hs_client_new (c->bus, "bench-convergence", NULL, 10000, &c->cl);
    if (r < 0) bl_die ("cannot join hs-bus: %s", strerror (-r));
    hs_client_on (c->cl, "ev.endpoints.", s_on_ep, c);
    hs_db_snapshot_t snap = {0};
    hs_kind_t k = HS_KIND_NODE;
    if (hs_client_snapshot (c->cl, &k, 1, NULL, 20000, &snap) < 0) {
        bl_tail_log (store_log, 20);
        bl_die ("hs-store did not answer");
    }
    hs_db_snapshot_free (&snap);

    int n = s_services, n_pods = s_services * s_pods_per;
    Hs__Write **w = hs_calloc ((size_t)n, sizeof *w);
    for (int i = 0; i < n; i++) w[i] = hs_write_new (HS__OP__OP_CREATE, s_service (i));
    s_write_all (c, w, (size_t)n, "Services");
    w = hs_calloc ((size_t)n_pods, sizeof *w);
    for (int i = 0; i < n_pods; i++)
        w[i] = hs_write_new (HS__OP__OP_CREATE, s_pod (i / s_pods_per, i % s_pods_per));
    s_write_all (c, w, (size_t)n_pods, "pods");
    w = hs_calloc ((size_t)n_pods, sizeof *w);
    for (int i = 0; i < n_pods; i++) w[i] = s_status (i / s_pods_per, i % s_pods_per, true);
    s_write_all (c, w, (size_t)n_pods, "pod statuses");

    _cleanup_free_ char *ep_log = hs_sprintf ("%s/hs-endpoints.log", c->dir);
    char *a_ep[] = {s_bin[B_EP],           "--bus", c->bus, "--instance", "e1",
                    "--member-timeout-ms", "200",   NULL};
    pid_t ep = bl_spawn (a_ep, ep_log);
    int64_t deadline = hs_mono_ns () + 120000 * MS;
    while (c->ep_added < n) {
        if (!bl_alive (ep)) bl_die ("hs-endpoints died (log in %s)", ep_log);
        if (hs_mono_ns () > deadline)
            bl_die ("only %lld of %d Endpoints", (long long)c->ep_added, n);
        s_pump (c, 20);
    }
}

/* ------------------------------------------------------------------ a mode */

typedef struct {
    bl_samples_t all, first, ep, after_ep, back, probe;
    int lost;
    double proxy_cpu; /* seconds, the three hs-proxy together, during the rounds */
} result_t;

/* Whether every Service's map has all its endpoints in every namespace. */
static bool s_all_synced (void)
{
    for (int node = 0; node < NODES; node++)
        for (int i = 0; i < s_services; i++)
            if (s_probe (node, i, 0, NULL) != s_pods_per) return false;
    return true;
}

/* Polls until ip (network order) is gone from (gone) or back in (!gone)
 * svc's map on every node, or the deadline; when[node] = the first time
 * each node showed it. Returns the number of nodes that did. */
static int s_wait_nodes (cluster_t *c, int svc, uint32_t ip, bool gone, int64_t deadline,
                         int64_t when[NODES], bl_samples_t *probe)
{
    int done = 0;
    for (int node = 0; node < NODES; node++) when[node] = 0;
    while (done < NODES && hs_mono_ns () < deadline) {
        hs_client_process (c->cl, 0);
        int64_t p0 = hs_mono_ns ();
        for (int node = 0; node < NODES; node++) {
            if (when[node]) continue;
            bool found = false;
            int n = s_probe (node, svc, ip, &found);
            if (n >= 0 && found != gone) {
                when[node] = hs_mono_ns ();
                done++;
            }
        }
        int64_t p1 = hs_mono_ns ();
        if (probe && done < NODES) bl_samples_add (probe, (uint64_t)(p1 - p0));
        if (done < NODES) bl_sleep_until (p1 + 250 * US);
    }
    return done;
}

static void s_mode (cluster_t *c, int min_sync_ms, int rounds, result_t *res)
{
    *res = (result_t){0};
    pid_t proxy[NODES];
    char ms[16];
    snprintf (ms, sizeof ms, "%d", min_sync_ms);
    for (int node = 0; node < NODES; node++) {
        char name[8], netarg[320];
        snprintf (name, sizeof name, "n%d", node);
        snprintf (netarg, sizeof netarg, "--net=%s", s_ns_path[node]);
        _cleanup_free_ char *log = hs_sprintf ("%s/hs-proxy-%s-%d.log", c->dir, name, min_sync_ms);
        char *argv[] = {
            "/usr/bin/nsenter",  netarg, s_bin[B_PROXY],  "--bus", c->ipc_bus, "--node-name", name,
            "--min-sync-period", ms,     "--sync-period", "3600",  NULL};
        proxy[node] = bl_spawn (argv, log);
        bl_wait_log (log, "full sync", proxy[node], 60000);
    }
    int64_t deadline = hs_mono_ns () + 60000 * MS;
    while (!s_all_synced ()) {
        if (hs_mono_ns () > deadline) bl_die ("the proxies never showed every endpoint");
        s_pump (c, 10);
    }
    double cpu0 = 0;
    for (int node = 0; node < NODES; node++) cpu0 += bl_cpu_s (proxy[node]);
    /* a random pause before each change, up to the min sync period (at
     * least 10 ms): a change lands anywhere in the proxy's sync cycle */
    int gap_ms = min_sync_ms > 10 ? min_sync_ms : 10;
    srand (42);
    for (int k = 0; k < rounds; k++) {
        int svc = (int)(((int64_t)k * 7919) % s_services), j = k % s_pods_per;
        snprintf (c->svc, sizeof c->svc, "svc-%d", svc);
        s_ip (svc, j, c->ip, sizeof c->ip);
        uint32_t ip;
        inet_pton (AF_INET, c->ip, &ip);
        int64_t when[NODES];
        for (int ready = 0; ready <= 1; ready++) {
            bl_sleep_until (hs_mono_ns () + (int64_t)(rand () % gap_ms) * MS);
            c->want_ready = ready;
            c->ep_seen = 0;
            Hs__Write *w = s_status (svc, j, ready);
            hs_call_opts_t o = {.timeout_ms = 10000};
            int64_t t0 = hs_mono_ns ();
            int r = hs_client_send (c->cl, &w, 1, &o, NULL, NULL);
            hs_pb_free (w);
            if (r < 0) bl_die ("cannot send a status: %s", strerror (-r));
            int done = s_wait_nodes (c, svc, ip, !ready, t0 + 10000 * MS, when,
                                     ready ? NULL : &res->probe);
            if (done < NODES) {
                if (ready) bl_die ("%s never came back on every node", c->ip);
                res->lost++;
                /* let it settle before Ready=True, or the rounds drift */
                s_wait_nodes (c, svc, ip, true, hs_mono_ns () + 30000 * MS, when, NULL);
                continue;
            }
            int64_t first = when[0], last = when[0];
            for (int node = 1; node < NODES; node++) {
                if (when[node] < first) first = when[node];
                if (when[node] > last) last = when[node];
            }
            /* the Endpoints event usually came meanwhile; if not, wait a bit */
            int64_t ev_deadline = hs_mono_ns () + 2000 * MS;
            while (!c->ep_seen && hs_mono_ns () < ev_deadline) s_pump (c, 1);
            if (ready) {
                bl_samples_add (&res->back, (uint64_t)(last - t0));
                continue;
            }
            bl_samples_add (&res->all, (uint64_t)(last - t0));
            bl_samples_add (&res->first, (uint64_t)(first - t0));
            if (c->ep_seen) {
                bl_samples_add (&res->ep, (uint64_t)(c->ep_seen - t0));
                bl_samples_add (&res->after_ep,
                                (uint64_t)(last > c->ep_seen ? last - c->ep_seen : 0));
            }
        }
    }
    c->svc[0] = 0;
    for (int node = 0; node < NODES; node++) res->proxy_cpu += bl_cpu_s (proxy[node]);
    res->proxy_cpu -= cpu0;
    for (int node = 0; node < NODES; node++) bl_stop (proxy[node]);
    /* drain acks and events so the next mode starts clean */
    for (int i = 0; i < 20 && hs_client_inflight (c->cl); i++) s_pump (c, 50);
}

/* ------------------------------------------------------------------ output */

static void s_row (const char *what, bl_samples_t *s, const char *note)
{
    char a[32], b[32], m[32];
    bl_samples_sort (s);
    printf ("| %-50s | %5zu | %9s | %9s | %9s | %s\n", what, s->n,
            bl_fmt_ns (bl_pct (s, 50), a, sizeof a), bl_fmt_ns (bl_pct (s, 99), b, sizeof b),
            bl_fmt_ns (s->n ? s->v[s->n - 1] : 0, m, sizeof m), note ? note : "");
}

static void s_table (const char *title, result_t *r, int rounds)
{
    char note[96];
    printf ("\n%s\n\n", title);
    printf ("| %-50s | %5s | %9s | %9s | %9s | %s\n",
            "from the status write sent (CLOCK_MONOTONIC)", "n", "p50", "p99", "max", "notes");
    printf ("|----------------------------------------------------|-------|-----------|-----------|"
            "-----------|------\n");
    snprintf (note, sizeof note, "%d rounds, %d lost (not gone in 10 s)", rounds, r->lost);
    s_row ("-> IP gone from the rules on ALL 3 nodes", &r->all, note);
    s_row ("-> IP gone on the first node", &r->first, NULL);
    s_row ("-> Endpoints event here (store+endpoints hop)", &r->ep, "status commit, hs-endpoints");
    s_row ("Endpoints event here -> gone on all 3 (proxy hop)", &r->after_ep,
           "bus, 3 x hs-proxy sync");
    s_row ("Ready again -> IP back on all 3 nodes", &r->back, NULL);
    s_row ("one probe pass (3 netns x GETRULE+GETSETELEM)", &r->probe, "then 250 us sleep");
    snprintf (note, sizeof note, "%.1f ms per round (two syncs each)",
              r->all.n ? r->proxy_cpu * 1e3 / (double)r->all.n : 0.0);
    printf ("| %-50s | %5s | %9s | %9s | %9s | %s\n", "3 x hs-proxy CPU (user+system)", "", "", "",
            "", note);
    fflush (stdout);
}

static void s_free (result_t *r)
{
    bl_samples_free (&r->all);
    bl_samples_free (&r->first);
    bl_samples_free (&r->ep);
    bl_samples_free (&r->after_ep);
    bl_samples_free (&r->back);
    bl_samples_free (&r->probe);
}

static void s_machine (void)
{
    char model[160] = "?", line[256];
    FILE *f = popen ("lscpu 2>/dev/null", "r");
    while (f && fgets (line, sizeof line, f))
        if (strncmp (line, "Model name:", 11) == 0) {
            const char *p = line + 11;
            p += strspn (p, " \t");
            snprintf (model, sizeof model, "%.*s", (int)strcspn (p, "\n"), p);
        }
    if (f) pclose (f);
    char load[64] = "?";
    f = fopen ("/proc/loadavg", "re");
    if (f && fgets (line, sizeof line, f)) {
        int n = 0, sp = 0;
        while (line[n] && sp < 3) sp += line[n++] == ' ';
        snprintf (load, sizeof load, "%.*s", n ? n - 1 : 0, line);
    }
    if (f) fclose (f);
    struct utsname u;
    uname (&u);
    printf ("   machine: %s, %ld cores online, load average %s, kernel %s\n", model,
            sysconf (_SC_NPROCESSORS_ONLN), load, u.release);
}

/* ------------------------------------------------------------------ main */

static void s_usage (FILE *f)
{
    fprintf (f, "usage: bench-convergence [--bin DIR] [--services N] [--pods-per M] [--rounds R]\n"
                "                         [--slow-rounds R2] [--quick]\n"
                "  needs root: three network namespaces of its own (the root one is untouched)\n"
                "  --services N     Services (default 100), each selecting M pods (10)\n"
                "  --rounds R       not-ready/ready rounds with --min-sync-period 0 (default 200)\n"
                "  --slow-rounds R2 rounds with --min-sync-period 1000 (default 30: ~2 s each)\n"
                "  --quick          20 rounds and 10 slow rounds\n");
}

int main (int argc, char **argv)
{
    const char *bin_dir = NULL;
    int rounds = 200, slow_rounds = 30;
    static struct option opts[] = {{"bin", required_argument, 0, 'b'},
                                   {"services", required_argument, 0, 's'},
                                   {"pods-per", required_argument, 0, 'p'},
                                   {"rounds", required_argument, 0, 'r'},
                                   {"slow-rounds", required_argument, 0, 'S'},
                                   {"quick", no_argument, 0, 'q'},
                                   {"help", no_argument, 0, 'h'},
                                   {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'b': bin_dir = optarg; break;
        case 's': s_services = bl_parse_int ("--services", optarg, 1, 5000); break;
        case 'p': s_pods_per = bl_parse_int ("--pods-per", optarg, 2, 50); break;
        case 'r': rounds = bl_parse_int ("--rounds", optarg, 1, 100000); break;
        case 'S': slow_rounds = bl_parse_int ("--slow-rounds", optarg, 0, 100000); break;
        case 'q':
            rounds = 20;
            slow_rounds = 10;
            break;
        case 'h': s_usage (stdout); return 0;
        default: s_usage (stderr); return 2;
        }
    }
    if (s_services * s_pods_per > 250 * 250) {
        fprintf (stderr, "bench-convergence: --services x --pods-per: at most 62,500 pods\n");
        return 2;
    }
    if (geteuid () != 0) {
        fprintf (stderr, "bench-convergence: needs root (network namespaces, nftables)\n");
        return 77;
    }
    bl_init ("bench-convergence");
    bl_cleanup_first (s_ns_remove);
    bl_find_bins (s_names, B_N, bin_dir, s_bin);
    if (access ("/usr/bin/nsenter", X_OK) != 0) bl_die ("needs /usr/bin/nsenter (util-linux)");
    s_ns_make ();

    printf ("\n== bench-convergence: a pod turns not-ready -> its address leaves the nftables "
            "rules on every node\n");
    s_machine ();
    printf ("   hs-bus, hs-store (durable), hs-endpoints in the root netns; one hs-proxy in each "
            "of %d netns\n"
            "   (%s..), reaching the bus over ipc://. %d Services x %d pods (statuses written "
            "by the bench,\n"
            "   no pod processes). A round: pod Ready=False sent -> its IP gone from its "
            "Service's dnat map\n"
            "   in every netns (netlink dumps), then Ready=True -> back everywhere. Random "
            "pause before\n"
            "   each write: 0..max(min-sync-period, 10 ms).\n",
            NODES, s_ns[0], s_services, s_pods_per);
    fflush (stdout);

    cluster_t c;
    s_cluster_up (&c);
    result_t r;
    char title[160];
    s_mode (&c, 0, rounds, &r);
    snprintf (title, sizeof title, "hs-proxy --min-sync-period 0 (our default)");
    s_table (title, &r, rounds);
    s_free (&r);
    if (slow_rounds > 0) {
        s_mode (&c, 1000, slow_rounds, &r);
        snprintf (title, sizeof title,
                  "hs-proxy --min-sync-period 1000 (kube-proxy's default minSyncPeriod)");
        s_table (title, &r, slow_rounds);
        s_free (&r);
    }
    printf ("\n   target (issue 15): ALL 3 nodes p99 <= 100 ms\n");
    hs_client_destroy (&c.cl);
    for (int i = 0; i < NODES; i++) mnl_socket_close (s_nl[i]);
    free (c.dir);
    free (c.ipc);
    for (int i = 0; i < B_N; i++) free (s_bin[i]);
    return 0;
}
