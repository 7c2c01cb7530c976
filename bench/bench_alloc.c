/*  bench_alloc.c: what hs-store's address allocation (services/store/
 *  store_alloc.h) costs, as a range fills up: the store's core (store_open,
 *  store_apply) on a temporary LMDB with --no-sync, no sockets, so the table
 *  shows the apply path alone, not the bus.
 *
 *  Rows: Services created in batches of 128 single-write commands (the
 *  store's group commit), without clusterIP, until the Service CIDR is full
 *  (the upper band first, then the lower band), then creates refused as
 *  full; the same number of selector-less ConfigMap-sized objects (Pods
 *  with no node: no allocation) as the baseline; Nodes without podCIDR
 *  until the cluster CIDR is full; and a reopen (the allocation index is
 *  rebuilt from the objects). Figures are per create, apply only.
 */
#include "benchlib.h"
#include "hs_client.h"
#include "hs_net.h"
#include "hs_obj.h"
#include "hs_pb.h"
#include "store.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 128

typedef Hs__Object *(*mk_fn) (int i);

static Hs__Object *s_service (int i)
{
    char name[32];
    snprintf (name, sizeof name, "s%d", i);
    Hs__Object *o = hs_obj_new (HS_KIND_SERVICE, "default", name);
    o->service->spec = hs_pb_new (&hs__service_spec__descriptor);
    Hs__ServicePort *p = hs_pb_new (&hs__service_port__descriptor);
    p->port = 80;
    hs_pb_push ((void ***)&o->service->spec->ports, &o->service->spec->n_ports, p);
    hs_pb_map_set ((void ***)&o->service->spec->selector, &o->service->spec->n_selector,
                   &hs__service_spec__selector_entry__descriptor, "app", name);
    return o;
}

static Hs__Object *s_pod (int i)
{
    char name[32];
    snprintf (name, sizeof name, "p%d", i);
    Hs__Object *o = hs_obj_new (HS_KIND_POD, "default", name);
    o->pod->spec = hs_pb_new (&hs__pod_spec__descriptor);
    Hs__Container *c = hs_pb_new (&hs__container__descriptor);
    hs_pb_set_str (&c->name, "main");
    hs_pb_push ((void ***)&c->command, &c->n_command, hs_strdup ("sleep"));
    hs_pb_push ((void ***)&o->pod->spec->containers, &o->pod->spec->n_containers, c);
    return o;
}

static Hs__Object *s_node (int i)
{
    char name[32];
    snprintf (name, sizeof name, "n%d", i);
    Hs__Object *o = hs_obj_new (HS_KIND_NODE, NULL, name);
    o->node->spec = hs_pb_new (&hs__node_spec__descriptor);
    return o;
}

/* Creates objects first .. first+n-1 (mk); returns the seconds spent in
 * store_apply and counts the acks that were OK and refused. */
static double s_create (store_t *s, mk_fn mk, int first, int n, int *ret_ok, int *ret_refused)
{
    static int req;
    store_out_t out = {0};
    double secs = 0;
    *ret_ok = *ret_refused = 0;
    for (int at = first; at < first + n; at += BATCH) {
        int k = first + n - at < BATCH ? first + n - at : BATCH;
        Hs__Command *cmds[BATCH];
        for (int j = 0; j < k; j++) {
            Hs__Command *c = hs_pb_new (&hs__command__descriptor);
            hs_pb_set_str (&c->client_id, "bench");
            hs_pb_take_str (&c->request_id, hs_sprintf ("r%d", ++req));
            Hs__Write *w = hs_write_new (HS__OP__OP_CREATE, mk (at + j));
            hs_pb_push ((void ***)&c->writes, &c->n_writes, w);
            cmds[j] = c;
        }
        int64_t t0 = hs_mono_ns ();
        if (store_apply (s, cmds, (size_t)k, &out) < 0) bl_die ("store_apply failed");
        secs += (double)(hs_mono_ns () - t0) / 1e9;
        for (size_t j = 0; j < out.n_acks; j++)
            (out.acks[j].ack->code == HS__CODE__CODE_OK ? (*ret_ok)++ : (*ret_refused)++);
        for (int j = 0; j < k; j++) hs_pb_free (cmds[j]);
        if (store_checkpoint_due (s, hs_mono_ns (), false)) store_checkpoint (s);
    }
    store_checkpoint (s);
    store_out_clear (&out);
    return secs;
}

static void s_row (const char *what, int n, int ok, int refused, double secs)
{
    printf ("  %-34s %7d %7d %8d %9.3f %10.0f %9.2f\n", what, n, ok, refused, secs,
            secs > 0 ? n / secs : 0, n ? secs * 1e6 / n : 0);
}

static store_t *s_open (const char *dir, const hs_net_conf_t *net)
{
    store_opts_t opts = {.nosync = true, .net = net};
    store_t *s = NULL;
    int r = store_open (dir, &opts, &s);
    if (r < 0) bl_die ("cannot open a store in %s: %s", dir, strerror (-r));
    return s;
}

int main (int argc, char **argv)
{
    bl_init ("bench-alloc");
    const char *svc_cidr = "10.96.0.0/16", *cluster = "10.128.0.0/9";
    int mask = 24;
    static const struct option opts[] = {{"service-cidr", required_argument, 0, 'S'},
                                         {"cluster-cidr", required_argument, 0, 'C'},
                                         {"node-cidr-mask-size", required_argument, 0, 'M'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'S': svc_cidr = optarg; break;
        case 'C': cluster = optarg; break;
        case 'M': mask = bl_parse_int ("--node-cidr-mask-size", optarg, 1, 30); break;
        default:
            printf ("usage: bench-alloc [--service-cidr CIDR] [--cluster-cidr CIDR] "
                    "[--node-cidr-mask-size N]\n"
                    "  defaults 10.96.0.0/16, 10.128.0.0/9, 24: fills both ranges\n");
            return c == 'h' ? 0 : 2;
        }
    }
    hs_net_conf_t net;
    hs_net_conf_default (&net);
    const char *why = NULL;
    char mask_s[8];
    snprintf (mask_s, sizeof mask_s, "%d", mask);
    if (hs_net_flag (&net, "service-cidr", svc_cidr, &why) < 0 ||
        hs_net_flag (&net, "cluster-cidr", cluster, &why) < 0 ||
        hs_net_flag (&net, "node-cidr-mask-size", mask_s, &why) < 0 ||
        hs_net_conf_check (&net, &why) < 0)
        bl_die ("bench-alloc: %s", why);
    uint64_t ips = hs_cidr_size (&net.service) - 2, slots = hs_net_node_slots (&net);
    if (ips > 1000000 || slots > 1000000) bl_die ("bench-alloc: ranges over 1,000,000 blocks");

    char *dir = bl_tmpdir ("alloc");
    store_t *s = s_open (dir, &net);
    printf ("\n== bench-alloc: hs-store's apply path, --no-sync, batches of %d creates\n", BATCH);
    printf ("   Service CIDR %s (%llu clusterIPs), cluster CIDR %s in /%d (%llu podCIDRs)\n\n",
            svc_cidr, (unsigned long long)ips, cluster, mask, (unsigned long long)slots);
    printf ("  %-34s %7s %7s %8s %9s %10s %9s\n", "creates", "n", "ok", "refused", "seconds",
            "creates/s", "us/create");
    /* the Service range in steps: the share of it already held grows */
    int steps[] = {1000, 10000, 30000, 50000, 60000, 65000};
    int done = 0, ok, refused;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0] && (uint64_t)steps[i] < ips; i++) {
        char what[64];
        snprintf (what, sizeof what, "Service, range %d%% .. %d%% held", (int)(done * 100 / ips),
                  (int)(steps[i] * 100 / ips));
        double t = s_create (s, s_service, done, steps[i] - done, &ok, &refused);
        s_row (what, steps[i] - done, ok, refused, t);
        done = steps[i];
    }
    double t = s_create (s, s_service, done, (int)ips - done, &ok, &refused);
    s_row ("Service, to full (lower band last)", (int)ips - done, ok, refused, t);
    t = s_create (s, s_service, (int)ips, 1024, &ok, &refused);
    s_row ("Service, range full: refused", 1024, ok, refused, t);
    t = s_create (s, s_pod, 0, (int)ips, &ok, &refused);
    s_row ("Pod (no address): the baseline", (int)ips, ok, refused, t);
    t = s_create (s, s_node, 0, (int)slots, &ok, &refused);
    s_row ("Node, podCIDR until full", (int)slots, ok, refused, t);
    t = s_create (s, s_node, (int)slots, 1024, &ok, &refused);
    s_row ("Node, cluster CIDR full: refused", 1024, ok, refused, t);
    store_destroy (&s);
    int64_t t0 = hs_mono_ns ();
    s = s_open (dir, &net);
    double reopen = (double)(hs_mono_ns () - t0) / 1e9;
    printf ("\n  reopen (address index rebuilt from %llu Services and %llu Nodes): %.3f s\n",
            (unsigned long long)ips, (unsigned long long)slots, reopen);
    store_destroy (&s);
    free (dir);
    return 0;
}
