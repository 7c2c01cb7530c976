/*  endpoints_sync.c: a Service and its pods -> the Endpoints it wants
 *  (endpoints_sync.h has the rules). */
#include "endpoints_sync.h"
#include "hs_net.h"
#include "hs_util.h"
#include "hs_workload.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ selection */

bool endpoints_managed (const Hs__Service *svc)
{
    return svc && svc->spec && svc->spec->n_selector > 0;
}

bool endpoints_selects_labels (const Hs__Service *svc, void *const *labels, size_t n_labels)
{
    if (!endpoints_managed (svc)) return false;
    for (size_t i = 0; i < svc->spec->n_selector; i++) {
        const Hs__ServiceSpec__SelectorEntry *e = svc->spec->selector[i];
        const char *v = hs_pb_map_get (labels, n_labels, e->key);
        if (!v || !hs_streq (v, e->value)) return false;
    }
    return true;
}

bool endpoints_selects (const Hs__Service *svc, const Hs__Pod *pod)
{
    if (!pod || !pod->metadata || !svc || !svc->metadata) return false;
    if (!hs_streq (pod->metadata->namespace_, svc->metadata->namespace_)) return false;
    return endpoints_selects_labels (svc, (void *const *)pod->metadata->labels,
                                     pod->metadata->n_labels);
}

bool endpoints_pod_eligible (const Hs__Pod *pod)
{
    return pod && pod->status && !hs_empty (pod->status->pod_ip) && !hs_pod_terminal (pod);
}

bool endpoints_pod_ready (const Hs__Pod *pod)
{
    return pod && pod->metadata && pod->metadata->deletion_timestamp == 0 && hs_pod_ready (pod);
}

/* ------------------------------------------------------------------ ports */

static const char *s_proto (const char *p)
{
    return hs_empty (p) ? "TCP" : p;
}

/* A port number written in decimal, 1..65535 (hs_port_parse: the rule
 * validation applies); -1 if s is not one. */
static int32_t s_port_number (const char *s)
{
    int v;
    return hs_port_parse (s, &v) == 0 ? v : -1;
}

/* Is s a port name: lower-case letters, digits and '-', with a letter,
 * at most 15 characters (IANA_SVC_NAME)? */
static bool s_port_name (const char *s)
{
    size_t n = strlen (s);
    if (n == 0 || n > 15) return false;
    bool letter = false;
    for (const char *p = s; *p; p++) {
        if (*p >= 'a' && *p <= 'z')
            letter = true;
        else if (!((*p >= '0' && *p <= '9') || *p == '-'))
            return false;
    }
    return letter;
}

int endpoints_resolve_port (const Hs__ServicePort *sp, const Hs__Pod *pod, int32_t *ret_port)
{
    if (!sp) return -EINVAL;
    const char *t = sp->target_port;
    if (hs_empty (t)) {
        if (sp->port < 1 || sp->port > 65535) return -EINVAL;
        *ret_port = sp->port;
        return 0;
    }
    int32_t num = s_port_number (t);
    if (num > 0) {
        *ret_port = num;
        return 0;
    }
    if (!s_port_name (t)) return -EINVAL;
    const Hs__PodSpec *spec = pod ? pod->spec : NULL;
    for (size_t i = 0; spec && i < spec->n_containers; i++) {
        const Hs__Container *c = spec->containers[i];
        for (size_t j = 0; j < c->n_ports; j++) {
            const Hs__ContainerPort *cp = c->ports[j];
            if (hs_streq (cp->name, t) &&
                hs_streq (s_proto (cp->protocol), s_proto (sp->protocol)) &&
                cp->container_port >= 1 && cp->container_port <= 65535) {
                *ret_port = cp->container_port;
                return 0;
            }
        }
    }
    return -ENOENT;
}

/* ------------------------------------------------------------------ order */

int endpoints_ip_cmp (const char *a, const char *b)
{
    unsigned char x[16], y[16];
    int fa = inet_pton (AF_INET, hs_s (a), x) == 1    ? 4
             : inet_pton (AF_INET6, hs_s (a), x) == 1 ? 6
                                                      : 0;
    int fb = inet_pton (AF_INET, hs_s (b), y) == 1    ? 4
             : inet_pton (AF_INET6, hs_s (b), y) == 1 ? 6
                                                      : 0;
    /* IPv4 (4) first, then IPv6 (6), then anything else (0 -> 7) */
    int ka = fa ? fa : 7, kb = fb ? fb : 7;
    if (ka != kb) return ka < kb ? -1 : 1;
    if (fa) return memcmp (x, y, fa == 4 ? 4 : 16);
    return strcmp (hs_s (a), hs_s (b));
}

/* One endpoint before grouping: its address, whether it is in rotation,
 * and its resolved port set as a key (ports in the Service's order,
 * "name\x1fport\x1fprotocol\x1e" each) that orders and groups the subsets. */
typedef struct {
    Hs__EndpointAddress *addr;
    Hs__EndpointPort **ports;
    size_t n_ports;
    char *key;
    bool ready;
    const Hs__Pod *pod;
} s_ep_t;

static int s_ep_cmp (const void *pa, const void *pb)
{
    const s_ep_t *a = pa, *b = pb;
    int c = strcmp (a->key, b->key);
    if (c) return c;
    c = endpoints_ip_cmp (a->addr->ip, b->addr->ip);
    if (c) return c;
    c = strcmp (a->pod->metadata->name, b->pod->metadata->name);
    if (c) return c;
    return strcmp (a->pod->metadata->uid, b->pod->metadata->uid);
}

/* ------------------------------------------------------------------ the sync */

static Hs__EndpointAddress *s_address (const Hs__Service *svc, const Hs__Pod *pod)
{
    Hs__EndpointAddress *a = hs_pb_new (&hs__endpoint_address__descriptor);
    const Hs__ObjectMeta *m = pod->metadata;
    hs_pb_set_str (&a->ip, pod->status->pod_ip);
    if (pod->spec) {
        hs_pb_set_str (&a->node_name, pod->spec->node_name);
        /* headless DNS: <hostname>.<subdomain>.<ns>.svc names this pod */
        if (!hs_empty (pod->spec->hostname) && hs_streq (pod->spec->subdomain, svc->metadata->name))
            hs_pb_set_str (&a->hostname, pod->spec->hostname);
    }
    a->target_ref = hs_pb_new (&hs__object_reference__descriptor);
    hs_pb_set_str (&a->target_ref->kind, "Pod");
    hs_pb_set_str (&a->target_ref->namespace_, m->namespace_);
    hs_pb_set_str (&a->target_ref->name, m->name);
    hs_pb_set_str (&a->target_ref->uid, m->uid);
    return a;
}

static void s_missing_add (endpoints_plan_t *p, const Hs__Pod *pod, const Hs__ServicePort *sp)
{
    p->missing = hs_realloc (p->missing, (p->n_missing + 1) * sizeof *p->missing);
    p->missing[p->n_missing++] = (endpoints_missing_t){.pod = pod->metadata->name,
                                                       .pod_uid = pod->metadata->uid,
                                                       .port = sp->name,
                                                       .target = sp->target_port,
                                                       .protocol = s_proto (sp->protocol)};
}

/* The pod's endpoint: its ports resolved; NULL ports for a pod missing a
 * named one are reported in p and the pod is not ready. */
static void s_endpoint (const Hs__Service *svc, const Hs__Pod *pod, endpoints_plan_t *p,
                        s_ep_t *ret)
{
    const Hs__ServiceSpec *spec = svc->spec;
    *ret = (s_ep_t){.pod = pod};
    hs_buf_t key = {0};
    bool missing = false;
    for (size_t i = 0; i < spec->n_ports; i++) {
        const Hs__ServicePort *sp = spec->ports[i];
        int32_t port = 0;
        int r = endpoints_resolve_port (sp, pod, &port);
        if (r < 0) {
            /* kube leaves this port out for this pod and keeps the pod in
             * rotation on the others; we take it out of rotation (see the
             * header). A bad targetPort (never stored: the store validates
             * it) is missing for every pod. */
            s_missing_add (p, pod, sp);
            missing = true;
            continue;
        }
        Hs__EndpointPort *ep = hs_pb_new (&hs__endpoint_port__descriptor);
        hs_pb_set_str (&ep->name, sp->name);
        ep->port = port;
        hs_pb_set_str (&ep->protocol, s_proto (sp->protocol));
        hs_pb_push ((void ***)&ret->ports, &ret->n_ports, ep);
        hs_buf_printf (&key, "%s\x1f%05d\x1f%s\x1e", ep->name, port, ep->protocol);
    }
    ret->key = key.data ? hs_buf_take (&key) : hs_strdup ("");
    ret->addr = s_address (svc, pod);
    ret->ready = !missing && (spec->publish_not_ready_addresses || endpoints_pod_ready (pod));
}

static void s_meta (const Hs__Service *svc, Hs__Endpoints *e)
{
    const Hs__ObjectMeta *sm = svc->metadata;
    Hs__ObjectMeta *m = e->metadata = hs_pb_new (&hs__object_meta__descriptor);
    hs_pb_set_str (&m->namespace_, sm->namespace_);
    hs_pb_set_str (&m->name, sm->name);
    for (size_t i = 0; i < sm->n_labels; i++)
        hs_pb_map_set ((void ***)&m->labels, &m->n_labels,
                       &hs__object_meta__labels_entry__descriptor, sm->labels[i]->key,
                       sm->labels[i]->value);
    if (hs_streq (svc->spec->cluster_ip, "None"))
        hs_pb_map_set ((void ***)&m->labels, &m->n_labels,
                       &hs__object_meta__labels_entry__descriptor, ENDPOINTS_HEADLESS_LABEL, "");
    hs_pb_map_sort ((void **)m->labels, m->n_labels);
    hs_pb_map_set ((void ***)&m->annotations, &m->n_annotations,
                   &hs__object_meta__annotations_entry__descriptor, ENDPOINTS_MANAGED_BY,
                   ENDPOINTS_MANAGED_BY_VALUE);
}

int endpoints_sync (const Hs__Service *svc, const Hs__Pod *const *pods, size_t n,
                    endpoints_plan_t *ret)
{
    *ret = (endpoints_plan_t){0};
    if (!svc || !svc->metadata || !svc->spec || !endpoints_managed (svc)) return -EINVAL;
    s_ep_t *eps = hs_calloc (n ? n : 1, sizeof *eps);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const Hs__Pod *pod = pods[i];
        if (!endpoints_selects (svc, pod) || !endpoints_pod_eligible (pod)) continue;
        s_endpoint (svc, pod, ret, &eps[k++]);
    }
    qsort (eps, k, sizeof *eps, s_ep_cmp);
    /* over the cap: the ready ones first (in order), then the rest */
    size_t n_ready = 0;
    for (size_t i = 0; i < k; i++) n_ready += eps[i].ready;
    for (size_t i = 0, kept_ready = 0, kept_not = 0; k > ENDPOINTS_MAX_ADDRESSES && i < k; i++) {
        size_t room_ready = ENDPOINTS_MAX_ADDRESSES;
        size_t room_not =
            n_ready >= ENDPOINTS_MAX_ADDRESSES ? 0 : ENDPOINTS_MAX_ADDRESSES - n_ready;
        bool keep = eps[i].ready ? kept_ready++ < room_ready : kept_not++ < room_not;
        if (keep) continue;
        hs_pb_free (TAKE_PTR (eps[i].addr));
        ret->n_dropped++;
    }

    Hs__Endpoints *e = ret->want = hs_pb_new (&hs__endpoints__descriptor);
    s_meta (svc, e);
    if (ret->n_dropped)
        hs_pb_map_set ((void ***)&e->metadata->annotations, &e->metadata->n_annotations,
                       &hs__object_meta__annotations_entry__descriptor, ENDPOINTS_OVER_CAPACITY,
                       ENDPOINTS_OVER_CAPACITY_AT);
    hs_pb_map_sort ((void **)e->metadata->annotations, e->metadata->n_annotations);
    Hs__EndpointSubset *sub = NULL;
    const char *sub_key = NULL;
    for (size_t i = 0; i < k; i++) {
        s_ep_t *x = &eps[i];
        if (!x->addr) continue; /* dropped over the cap */
        if (!sub || strcmp (sub_key, x->key) != 0) {
            sub = hs_pb_new (&hs__endpoint_subset__descriptor);
            hs_pb_push ((void ***)&e->subsets, &e->n_subsets, sub);
            sub->ports = TAKE_PTR (x->ports);
            sub->n_ports = x->n_ports;
            x->n_ports = 0;
            sub_key = x->key;
        }
        if (x->ready) {
            hs_pb_push ((void ***)&sub->addresses, &sub->n_addresses, TAKE_PTR (x->addr));
            ret->n_ready++;
        } else {
            hs_pb_push ((void ***)&sub->not_ready_addresses, &sub->n_not_ready_addresses,
                        TAKE_PTR (x->addr));
            ret->n_not_ready++;
        }
    }
    for (size_t i = 0; i < k; i++) {
        for (size_t j = 0; j < eps[i].n_ports; j++) hs_pb_free (eps[i].ports[j]);
        free (eps[i].ports);
        hs_pb_free (eps[i].addr);
        free (eps[i].key);
    }
    free (eps);
    return 0;
}

void endpoints_plan_clear (endpoints_plan_t *plan)
{
    if (!plan) return;
    hs_pb_free (plan->want);
    free (plan->missing);
    *plan = (endpoints_plan_t){0};
}

/* ------------------------------------------------------------------ comparing */

bool endpoints_ours (const Hs__Endpoints *ep)
{
    const Hs__ObjectMeta *m = ep ? ep->metadata : NULL;
    return m && hs_streq (hs_pb_map_get ((void *const *)m->annotations, m->n_annotations,
                                         ENDPOINTS_MANAGED_BY),
                          ENDPOINTS_MANAGED_BY_VALUE);
}

bool endpoints_should_delete (const Hs__Service *svc, const Hs__Endpoints *ep)
{
    return !svc && endpoints_ours (ep) && ep->metadata->deletion_timestamp == 0;
}

static bool s_labels_same (const Hs__ObjectMeta *a, const Hs__ObjectMeta *b)
{
    size_t na = a ? a->n_labels : 0, nb = b ? b->n_labels : 0;
    if (na != nb) return false;
    for (size_t i = 0; i < na; i++) {
        const char *v = hs_pb_map_get ((void *const *)b->labels, nb, a->labels[i]->key);
        if (!v || !hs_streq (v, a->labels[i]->value)) return false;
    }
    return true;
}

static const char *s_annotation (const Hs__Endpoints *ep, const char *key)
{
    const Hs__ObjectMeta *m = ep->metadata;
    return m ? hs_pb_map_get ((void *const *)m->annotations, m->n_annotations, key) : NULL;
}

bool endpoints_same (const Hs__Endpoints *have, const Hs__Endpoints *want)
{
    if (!have || !want) return false;
    if (!endpoints_ours (have) || !s_labels_same (have->metadata, want->metadata)) return false;
    if (!hs_streq (s_annotation (have, ENDPOINTS_OVER_CAPACITY),
                   s_annotation (want, ENDPOINTS_OVER_CAPACITY)))
        return false;
    if (have->n_subsets != want->n_subsets) return false;
    for (size_t i = 0; i < have->n_subsets; i++)
        if (!hs_pb_equal (have->subsets[i], want->subsets[i])) return false;
    return true;
}
