/*  sched_pick.c: filter and score, pure (see sched_pick.h for the rules). */
#include "sched_pick.h"
#include "hs_util.h"
#include "hs_workload.h"

#include <czmq.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define S_CPU  0
#define S_MEM  1
#define S_PODS 2

#define S_MAX_SCORE 100

static const char S_NOT_READY[] = "node(s) were not ready";
static const char S_UNSCHEDULABLE[] = "node(s) were unschedulable";
static const char S_SELECTOR[] = "node(s) didn't match Pod's node affinity/selector";
static const char S_PORTS[] = "node(s) didn't have free ports for the requested pod ports";
static const char S_TOO_MANY_PODS[] = "Too many pods";
static const char S_NO_CPU[] = "Insufficient cpu";
static const char S_NO_MEM[] = "Insufficient memory";

typedef struct {
    char *uid; /* owned */
    int64_t count;
} s_owner_t;

typedef struct {
    char *protocol; /* owned; "TCP" when unset */
    char *ip;       /* owned; "0.0.0.0" when unset */
    int32_t port;
} s_port_t;

/* What the pods counted on one node name use (the node may not exist). */
typedef struct {
    char *name;
    int64_t used[3];
    int64_t used_nonzero[2];
    s_port_t *ports;
    size_t n_ports;
    s_owner_t *owners;
    size_t n_owners;
} s_use_t;

typedef struct {
    const Hs__Node *node;
    const char *name; /* use->name */
    bool ready;
    bool unschedulable; /* spec.unschedulable */
    bool tainted;       /* has a NoSchedule or NoExecute taint */
    int64_t alloc[3];   /* cpu, memory, pods; -1: not reported, unlimited */
    s_use_t *use;
} s_node_t;

/* What one pod counted under a key adds to its node's use. */
typedef struct {
    s_use_t *use;
    sched_req_t req, nz;
    s_port_t *ports; /* owned copies */
    size_t n_ports;
    char *owner;
    bool assumed;
} s_contrib_t;

struct sched_cluster_t {
    s_node_t *nodes; /* sorted by name */
    size_t n;
    size_t next_start; /* sched_pick's rotating first node (sampling) */
    zhashx_t *uses;    /* node name -> s_use_t */
    zhashx_t *pods;    /* key -> s_contrib_t */
};

/* What filter and score need of a pod, worked out once per pick rather
 * than once per node (the quantities are text). */
typedef struct {
    sched_req_t req, nonzero;
    const char *owner;
} s_want_t;

/* ------------------------------------------------------------------ pods and nodes */

/* A pod's requests, and its non-zero requests for scoring (so best-effort
 * pods spread instead of piling on one node): hs_workload's rules. */
static void s_requests (const Hs__Pod *pod, sched_req_t *ret, sched_req_t *ret_nonzero)
{
    hs_resources_t r, nz;
    hs_pod_requests (pod, &r);
    hs_pod_requests_nonzero (pod, &nz);
    *ret = (sched_req_t){r.cpu_milli, r.mem_bytes};
    *ret_nonzero = (sched_req_t){nz.cpu_milli, nz.mem_bytes};
}

bool sched_node_ready (const Hs__Node *node)
{
    const Hs__NodeStatus *st = node ? node->status : NULL;
    for (size_t i = 0; st && i < st->n_conditions; i++)
        if (hs_streq (st->conditions[i]->type, "Ready"))
            return hs_streq (st->conditions[i]->status, "True");
    return false;
}

bool sched_tolerates (const Hs__Toleration *t, const Hs__Taint *taint)
{
    if (!hs_empty (t->effect) && !hs_streq (t->effect, taint->effect)) return false;
    if (!hs_empty (t->key) && !hs_streq (t->key, taint->key)) return false;
    if (hs_empty (t->operator_) || hs_streq (t->operator_, "Equal"))
        return hs_streq (t->value, taint->value);
    return hs_streq (t->operator_, "Exists");
}

/* ------------------------------------------------------------------ the cluster */

static int s_node_cmp (const void *a, const void *b)
{
    return strcmp (((const s_node_t *)a)->name, ((const s_node_t *)b)->name);
}

static void s_use_destroy (void **item)
{
    s_use_t *u = *item;
    if (!u) return;
    for (size_t k = 0; k < u->n_ports; k++) {
        free (u->ports[k].protocol);
        free (u->ports[k].ip);
    }
    for (size_t k = 0; k < u->n_owners; k++) free (u->owners[k].uid);
    free (u->ports);
    free (u->owners);
    free (u->name);
    free (u);
    *item = NULL;
}

static void s_contrib_free (s_contrib_t *c)
{
    if (!c) return;
    for (size_t k = 0; k < c->n_ports; k++) {
        free (c->ports[k].protocol);
        free (c->ports[k].ip);
    }
    free (c->ports);
    free (c->owner);
    free (c);
}

static void s_contrib_destroy (void **item)
{
    s_contrib_free (*item);
    *item = NULL;
}

static s_use_t *s_use_get (sched_cluster_t *self, const char *name)
{
    s_use_t *u = zhashx_lookup (self->uses, name);
    if (!u) {
        u = hs_calloc (1, sizeof *u);
        u->name = hs_strdup (name);
        zhashx_insert (self->uses, name, u);
    }
    return u;
}

static void s_fill_node (s_node_t *sn, const Hs__Node *node)
{
    sn->node = node;
    sn->ready = sched_node_ready (node);
    sn->unschedulable = node->spec && node->spec->unschedulable;
    sn->tainted = false;
    for (size_t i = 0; node->spec && i < node->spec->n_taints; i++) {
        const char *e = node->spec->taints[i]->effect;
        if (hs_streq (e, "NoSchedule") || hs_streq (e, "NoExecute")) sn->tainted = true;
    }
    hs_resources_t a; /* allocatable, else capacity; -1: unlimited */
    hs_node_allocatable (node, &a);
    sn->alloc[S_CPU] = a.cpu_milli;
    sn->alloc[S_MEM] = a.mem_bytes;
    sn->alloc[S_PODS] = a.pods;
}

sched_cluster_t *sched_cluster_new (const Hs__Node *const *nodes, size_t n)
{
    sched_cluster_t *self = hs_calloc (1, sizeof *self);
    self->uses = zhashx_new ();
    zhashx_set_destructor (self->uses, s_use_destroy);
    self->pods = zhashx_new ();
    zhashx_set_destructor (self->pods, s_contrib_destroy);
    sched_cluster_set_nodes (self, nodes, n);
    return self;
}

void sched_cluster_set_nodes (sched_cluster_t *self, const Hs__Node *const *nodes, size_t n)
{
    free (self->nodes);
    self->n = 0;
    self->nodes = hs_calloc (n + 1, sizeof (s_node_t));
    for (size_t i = 0; i < n; i++) {
        const Hs__Node *node = nodes[i];
        if (!node || !node->metadata || hs_empty (node->metadata->name)) continue;
        s_node_t *sn = &self->nodes[self->n++];
        sn->name = node->metadata->name; /* for the sort; the use's own copy below */
        s_fill_node (sn, node);
    }
    /* one node per name (a cache keyed by name never has two) */
    qsort (self->nodes, self->n, sizeof (s_node_t), s_node_cmp);
    size_t w = 0;
    for (size_t i = 0; i < self->n; i++) {
        if (w > 0 && strcmp (self->nodes[w - 1].name, self->nodes[i].name) == 0) continue;
        self->nodes[w++] = self->nodes[i];
    }
    self->n = w;
    for (size_t i = 0; i < self->n; i++) {
        self->nodes[i].use = s_use_get (self, self->nodes[i].name);
        self->nodes[i].name = self->nodes[i].use->name;
    }
    /* forget what nothing uses on names no node has (no contribution points
     * at a use without pods: each one counts one pod) */
    if (zhashx_size (self->uses) > self->n) {
        zlistx_t *keys = zhashx_keys (self->uses);
        for (const char *k = zlistx_first (keys); k; k = zlistx_next (keys)) {
            const s_use_t *u = zhashx_lookup (self->uses, k);
            if (u->used[S_PODS] == 0 && sched_cluster_find (self, k) < 0)
                zhashx_delete (self->uses, k);
        }
        zlistx_destroy (&keys);
    }
}

int sched_cluster_update_node (sched_cluster_t *self, const Hs__Node *node)
{
    if (!node || !node->metadata) return -ENOENT;
    int i = sched_cluster_find (self, node->metadata->name);
    if (i < 0) return -ENOENT;
    s_fill_node (&self->nodes[i], node);
    return 0;
}

void sched_cluster_destroy (sched_cluster_t **self_p)
{
    if (!self_p || !*self_p) return;
    sched_cluster_t *self = *self_p;
    zhashx_destroy (&self->pods);
    zhashx_destroy (&self->uses);
    free (self->nodes);
    free (self);
    *self_p = NULL;
}

size_t sched_cluster_size (const sched_cluster_t *self)
{
    return self->n;
}

const char *sched_cluster_node_name (const sched_cluster_t *self, size_t i)
{
    return i < self->n ? self->nodes[i].name : NULL;
}

int sched_cluster_find (const sched_cluster_t *self, const char *name)
{
    size_t lo = 0, hi = self->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp (self->nodes[mid].name, hs_s (name));
        if (c == 0) return (int)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static const char *s_port_protocol (const Hs__ContainerPort *p)
{
    return hs_empty (p->protocol) ? "TCP" : p->protocol;
}

static const char *s_port_ip (const Hs__ContainerPort *p)
{
    return hs_empty (p->host_ip) ? "0.0.0.0" : p->host_ip;
}

/* What pod (not terminal) adds on a node, with copies of what it borrows. */
static s_contrib_t *s_contrib_new (const Hs__Pod *pod)
{
    s_contrib_t *c = hs_calloc (1, sizeof *c);
    s_requests (pod, &c->req, &c->nz);
    const Hs__PodSpec *s = pod->spec;
    for (size_t k = 0; s && k < s->n_containers; k++) {
        const Hs__Container *ct = s->containers[k];
        for (size_t p = 0; p < ct->n_ports; p++) {
            const Hs__ContainerPort *cp = ct->ports[p];
            if (cp->host_port <= 0) continue;
            c->ports = hs_realloc (c->ports, (c->n_ports + 1) * sizeof (s_port_t));
            c->ports[c->n_ports++] = (s_port_t){hs_strdup (s_port_protocol (cp)),
                                                hs_strdup (s_port_ip (cp)), cp->host_port};
        }
    }
    const char *owner = hs_controller_uid (pod ? pod->metadata : NULL);
    if (owner) c->owner = hs_strdup (owner);
    return c;
}

static void s_use_add (s_use_t *u, const s_contrib_t *c)
{
    u->used[S_CPU] = hs_sat_add (u->used[S_CPU], c->req.cpu_milli);
    u->used[S_MEM] = hs_sat_add (u->used[S_MEM], c->req.mem_bytes);
    u->used[S_PODS]++;
    u->used_nonzero[S_CPU] = hs_sat_add (u->used_nonzero[S_CPU], c->nz.cpu_milli);
    u->used_nonzero[S_MEM] = hs_sat_add (u->used_nonzero[S_MEM], c->nz.mem_bytes);
    if (c->n_ports) {
        u->ports = hs_realloc (u->ports, (u->n_ports + c->n_ports) * sizeof (s_port_t));
        for (size_t k = 0; k < c->n_ports; k++)
            u->ports[u->n_ports++] = (s_port_t){hs_strdup (c->ports[k].protocol),
                                                hs_strdup (c->ports[k].ip), c->ports[k].port};
    }
    if (c->owner) {
        size_t k = 0;
        while (k < u->n_owners && strcmp (u->owners[k].uid, c->owner) != 0) k++;
        if (k == u->n_owners) {
            u->owners = hs_realloc (u->owners, (u->n_owners + 1) * sizeof (s_owner_t));
            u->owners[u->n_owners++] = (s_owner_t){hs_strdup (c->owner), 0};
        }
        u->owners[k].count++;
    }
}

/* Exactly what s_use_add (u, c) added, taken out. */
static void s_use_sub (s_use_t *u, const s_contrib_t *c)
{
    u->used[S_CPU] = hs_sat_add (u->used[S_CPU], -c->req.cpu_milli);
    u->used[S_MEM] = hs_sat_add (u->used[S_MEM], -c->req.mem_bytes);
    u->used[S_PODS]--;
    u->used_nonzero[S_CPU] = hs_sat_add (u->used_nonzero[S_CPU], -c->nz.cpu_milli);
    u->used_nonzero[S_MEM] = hs_sat_add (u->used_nonzero[S_MEM], -c->nz.mem_bytes);
    for (size_t p = 0; p < c->n_ports; p++) {
        const s_port_t *cp = &c->ports[p];
        for (size_t k = 0; k < u->n_ports; k++) {
            s_port_t *up = &u->ports[k];
            if (up->port != cp->port || strcmp (up->protocol, cp->protocol) != 0 ||
                strcmp (up->ip, cp->ip) != 0)
                continue;
            free (up->protocol);
            free (up->ip);
            u->ports[k] = u->ports[--u->n_ports];
            break;
        }
    }
    if (c->owner) {
        for (size_t k = 0; k < u->n_owners; k++) {
            if (strcmp (u->owners[k].uid, c->owner) != 0) continue;
            if (--u->owners[k].count == 0) {
                free (u->owners[k].uid);
                u->owners[k] = u->owners[--u->n_owners];
            }
            break;
        }
    }
}

int sched_cluster_add_pod (sched_cluster_t *self, const Hs__Pod *pod, const char *node_name)
{
    if (!node_name) node_name = pod && pod->spec ? pod->spec->node_name : NULL;
    if (hs_empty (node_name)) return -ENOENT;
    int i = sched_cluster_find (self, node_name);
    if (i < 0) return -ENOENT;
    if (hs_pod_terminal (pod)) return 0;
    s_contrib_t *c = s_contrib_new (pod);
    s_use_add (self->nodes[i].use, c);
    s_contrib_free (c);
    return 0;
}

void sched_cluster_unset_pod (sched_cluster_t *self, const char *key, bool only_assumed)
{
    s_contrib_t *c = zhashx_lookup (self->pods, key);
    if (!c || (only_assumed && !c->assumed)) return;
    s_use_sub (c->use, c);
    zhashx_delete (self->pods, key);
}

int sched_cluster_set_pod (sched_cluster_t *self, const char *key, const Hs__Pod *pod,
                           const char *node_name, bool assumed)
{
    sched_cluster_unset_pod (self, key, false);
    if (!node_name) node_name = pod && pod->spec ? pod->spec->node_name : NULL;
    if (hs_empty (node_name) || !pod || hs_pod_terminal (pod)) return 0;
    s_contrib_t *c = s_contrib_new (pod);
    c->assumed = assumed;
    int i = sched_cluster_find (self, node_name);
    c->use = i >= 0 ? self->nodes[i].use : s_use_get (self, node_name);
    s_use_add (c->use, c);
    zhashx_insert (self->pods, key, c);
    return 0;
}

void sched_cluster_used (const sched_cluster_t *self, size_t i, sched_req_t *ret_req,
                         int64_t *ret_pods)
{
    const s_use_t *u = self->nodes[i].use;
    if (ret_req) *ret_req = (sched_req_t){u->used[S_CPU], u->used[S_MEM]};
    if (ret_pods) *ret_pods = u->used[S_PODS];
}

/* ------------------------------------------------------------------ filter */

static void s_why (sched_why_t *why, const char *reason)
{
    if (why && why->n < SCHED_MAX_REASONS) why->reasons[why->n++] = reason;
}

/* The first NoSchedule/NoExecute taint no toleration of the pod tolerates. */
static const Hs__Taint *s_untolerated (const Hs__Node *node, const Hs__Pod *pod)
{
    const Hs__NodeSpec *ns = node->spec;
    const Hs__PodSpec *ps = pod->spec;
    for (size_t i = 0; ns && i < ns->n_taints; i++) {
        const Hs__Taint *t = ns->taints[i];
        if (!hs_streq (t->effect, "NoSchedule") && !hs_streq (t->effect, "NoExecute")) continue;
        bool ok = false;
        for (size_t k = 0; ps && k < ps->n_tolerations && !ok; k++)
            ok = sched_tolerates (ps->tolerations[k], t);
        if (!ok) return t;
    }
    return NULL;
}

static bool s_selector_matches (const Hs__Node *node, const Hs__Pod *pod)
{
    const Hs__PodSpec *ps = pod->spec;
    const Hs__ObjectMeta *m = node->metadata;
    for (size_t i = 0; ps && i < ps->n_node_selector; i++) {
        const Hs__PodSpec__NodeSelectorEntry *e = ps->node_selector[i];
        const char *v = hs_pb_map_get ((void *const *)m->labels, m->n_labels, e->key);
        if (!v || !hs_streq (v, e->value)) return false;
    }
    return true;
}

static bool s_ip_clash (const char *a, const char *b)
{
    return hs_streq (a, "0.0.0.0") || hs_streq (b, "0.0.0.0") || hs_streq (a, b);
}

static bool s_ports_free (const s_node_t *sn, const Hs__Pod *pod)
{
    const Hs__PodSpec *s = pod->spec;
    for (size_t c = 0; s && c < s->n_containers; c++) {
        const Hs__Container *ct = s->containers[c];
        for (size_t p = 0; p < ct->n_ports; p++) {
            const Hs__ContainerPort *cp = ct->ports[p];
            if (cp->host_port <= 0) continue;
            for (size_t k = 0; k < sn->use->n_ports; k++) {
                const s_port_t *u = &sn->use->ports[k];
                if (u->port == cp->host_port && hs_streq (u->protocol, s_port_protocol (cp)) &&
                    s_ip_clash (u->ip, s_port_ip (cp)))
                    return false;
            }
        }
    }
    return true;
}

static void s_want (const Hs__Pod *pod, s_want_t *ret)
{
    s_requests (pod, &ret->req, &ret->nonzero);
    ret->owner = hs_controller_uid (pod ? pod->metadata : NULL);
}

static bool s_filter (const sched_cluster_t *self, size_t i, const Hs__Pod *pod, const s_want_t *w,
                      sched_why_t *ret_why)
{
    const s_node_t *sn = &self->nodes[i];
    if (ret_why) ret_why->n = 0;
    if (sn->unschedulable) {
        s_why (ret_why, S_UNSCHEDULABLE);
        return false;
    }
    if (!sn->ready) {
        s_why (ret_why, S_NOT_READY);
        return false;
    }
    const Hs__Taint *taint = sn->tainted ? s_untolerated (sn->node, pod) : NULL;
    if (taint) {
        if (ret_why) {
            snprintf (ret_why->text, sizeof ret_why->text, "node(s) had untolerated taint {%s: %s}",
                      hs_s (taint->key), hs_s (taint->value));
            s_why (ret_why, ret_why->text);
        }
        return false;
    }
    if (!s_selector_matches (sn->node, pod)) {
        s_why (ret_why, S_SELECTOR);
        return false;
    }
    if (!s_ports_free (sn, pod)) {
        s_why (ret_why, S_PORTS);
        return false;
    }
    /* The store's bind refuses when used + wanted > limit; so do we. */
    const int64_t want[3] = {w->req.cpu_milli, w->req.mem_bytes, 1};
    static const char *const reason[3] = {S_NO_CPU, S_NO_MEM, S_TOO_MANY_PODS};
    static const int order[3] = {S_PODS, S_CPU, S_MEM}; /* kube's order */
    bool fits = true;
    for (int k = 0; k < 3; k++) {
        int r = order[k];
        if (sn->alloc[r] < 0) continue;
        if (hs_sat_add (sn->use->used[r], want[r]) > sn->alloc[r]) {
            s_why (ret_why, reason[r]);
            fits = false;
        }
    }
    return fits;
}

bool sched_filter (const sched_cluster_t *self, size_t i, const Hs__Pod *pod, sched_why_t *ret_why)
{
    s_want_t w;
    s_want (pod, &w);
    return s_filter (self, i, pod, &w, ret_why);
}

/* ------------------------------------------------------------------ score */

static void s_score (const sched_cluster_t *self, size_t i, const s_want_t *w, sched_score_t *ret)
{
    const s_node_t *sn = &self->nodes[i];
    const s_use_t *u = sn->use;
    const sched_req_t req = w->req, nz = w->nonzero;
    sched_score_t sc = {0, S_MAX_SCORE, 0};

    const char *owner = w->owner;
    for (size_t k = 0; owner && k < u->n_owners; k++)
        if (strcmp (u->owners[k].uid, owner) == 0) sc.spread = u->owners[k].count;

    /* BalancedResourceAllocation: 1 - |cpu fraction - memory fraction| / 2
     * (the standard deviation of two), fractions capped at 1. */
    const int64_t want[2] = {req.cpu_milli, req.mem_bytes};
    const int64_t want_nz[2] = {nz.cpu_milli, nz.mem_bytes};
    double frac[2];
    int nf = 0;
    for (int r = 0; r < 2; r++) {
        if (sn->alloc[r] <= 0) continue;
        double f = (double)hs_sat_add (u->used[r], want[r]) / (double)sn->alloc[r];
        frac[nf++] = f > 1 ? 1 : f;
    }
    if (nf == 2) sc.balanced = (int)((1 - fabs (frac[0] - frac[1]) / 2) * S_MAX_SCORE);

    /* LeastAllocated: the mean of (allocatable - requested) / allocatable. */
    int64_t sum = 0;
    int nr = 0;
    for (int r = 0; r < 2; r++) {
        if (sn->alloc[r] < 0) continue;
        nr++;
        int64_t used = hs_sat_add (u->used_nonzero[r], want_nz[r]);
        if (sn->alloc[r] == 0 || used > sn->alloc[r]) continue;
        /* in 128-bit when allocatable times 100 may not fit in 64 */
        if (sn->alloc[r] <= INT64_MAX / S_MAX_SCORE)
            sum += (sn->alloc[r] - used) * S_MAX_SCORE / sn->alloc[r];
        else
            sum += (int64_t)((__int128)(sn->alloc[r] - used) * S_MAX_SCORE / sn->alloc[r]);
    }
    sc.least = nr ? (int)(sum / nr) : S_MAX_SCORE;
    *ret = sc;
}

void sched_score (const sched_cluster_t *self, size_t i, const Hs__Pod *pod, sched_score_t *ret)
{
    s_want_t w;
    s_want (pod, &w);
    s_score (self, i, &w, ret);
}

int sched_score_cmp (const sched_score_t *a, const sched_score_t *b)
{
    if (a->spread != b->spread) return a->spread < b->spread ? -1 : 1;
    if (a->balanced != b->balanced) return a->balanced > b->balanced ? -1 : 1;
    if (a->least != b->least) return a->least > b->least ? -1 : 1;
    return 0;
}

/* ------------------------------------------------------------------ pick */

typedef struct {
    char *reason;
    size_t count;
} s_hist_t;

static int s_str_cmp (const void *a, const void *b)
{
    return strcmp (*(char *const *)a, *(char *const *)b);
}

/* kube-scheduler's FitError.Error(): "COUNT REASON" strings, sorted as strings. */
static char *s_fit_message (size_t n_nodes, const s_hist_t *hist, size_t n_hist)
{
    char **parts = hs_calloc (n_hist + 1, sizeof (char *));
    for (size_t i = 0; i < n_hist; i++)
        parts[i] = hs_sprintf ("%zu %s", hist[i].count, hist[i].reason);
    qsort (parts, n_hist, sizeof (char *), s_str_cmp);
    hs_buf_t b = {0};
    hs_buf_printf (&b, "0/%zu nodes are available:", n_nodes);
    for (size_t i = 0; i < n_hist; i++) {
        hs_buf_printf (&b, "%s%s", i ? ", " : " ", parts[i]);
        free (parts[i]);
    }
    hs_buf_puts (&b, ".");
    free (parts);
    return hs_buf_take (&b);
}

size_t sched_nodes_to_find (size_t n)
{
    if (n <= SCHED_MIN_FEASIBLE) return n;
    long pct = 50 - (long)(n / 125);
    if (pct < 5) pct = 5;
    size_t k = n * (size_t)pct / 100;
    return k < SCHED_MIN_FEASIBLE ? SCHED_MIN_FEASIBLE : k;
}

int sched_pick (sched_cluster_t *self, const Hs__Pod *pod, const char **ret_node,
                char **ret_message)
{
    if (self->n == 0) {
        *ret_message = hs_strdup ("no nodes available to schedule pods");
        return -ENOSPC;
    }
    s_want_t w;
    s_want (pod, &w);
    /* kube-scheduler's percentageOfNodesToScore: stop once enough feasible
     * nodes were found, starting where the last pick stopped so every node
     * gets its turn. Nothing feasible: every node was looked at, and the
     * message counts them all. */
    size_t want = sched_nodes_to_find (self->n), found = 0, seen = 0;
    size_t start = self->next_start % self->n;
    int best = -1;
    sched_score_t best_sc = {0};
    s_hist_t *hist = NULL;
    size_t n_hist = 0;
    for (; seen < self->n && found < want; seen++) {
        size_t i = (start + seen) % self->n;
        sched_why_t why;
        if (!s_filter (self, i, pod, &w, best >= 0 ? NULL : &why)) {
            if (best >= 0) continue; /* the reasons only matter if nothing fits */
            for (size_t r = 0; r < why.n; r++) {
                size_t k = 0;
                while (k < n_hist && strcmp (hist[k].reason, why.reasons[r]) != 0) k++;
                if (k == n_hist) {
                    hist = hs_realloc (hist, (n_hist + 1) * sizeof (s_hist_t));
                    hist[n_hist++] = (s_hist_t){hs_strdup (why.reasons[r]), 0};
                }
                hist[k].count++;
            }
            continue;
        }
        found++;
        sched_score_t sc;
        s_score (self, i, &w, &sc);
        /* nodes are sorted by name: on a tie the earlier name wins */
        int cmp = best < 0 ? -1 : sched_score_cmp (&sc, &best_sc);
        if (cmp < 0 || (cmp == 0 && (int)i < best)) {
            best = (int)i;
            best_sc = sc;
        }
    }
    self->next_start = (start + seen) % self->n;
    int rc = 0;
    if (best >= 0)
        *ret_node = self->nodes[best].name;
    else {
        *ret_message = s_fit_message (self->n, hist, n_hist);
        rc = -ENOSPC;
    }
    for (size_t k = 0; k < n_hist; k++) free (hist[k].reason);
    free (hist);
    return rc;
}
