/*  hollow_usage.c: synthetic NodeUsage for hollow nodes (see hollow_usage.h).
 *
 *  A round's pods are copied into flat arrays (strings in one arena), then
 *  ordered by node with a counting sort (stable: a pod's containers stay
 *  together), so node i's containers are recs[first[i] .. first[i+1]).
 *  Everything is reused from round to round.
 */
#include "hollow_usage.h"
#include "hs_pb.h"
#include "hs_quantity.h"
#include "hs_util.h"

#include <string.h>

#define MS               1000000LL
#define SYSTEM_NANOCORES 100000000ULL /* the "system" of a hollow node: 100m */
#define SYSTEM_BYTES     (256LL << 20)

typedef struct {
    uint32_t node;
    uint32_t pod;   /* offset of "uid\0ns\0name\0" in the arena: a pod's containers share it */
    uint32_t cname; /* offset of the container's name */
    uint64_t nanocores;
    int64_t working_set;
    int64_t started_ns;
} s_rec_t;

struct hollow_usage_t {
    uint32_t n_nodes;
    uint32_t interval_ms;
    hs_buf_t arena;
    s_rec_t *recs, *sorted;
    size_t n_recs, cap_recs;
    uint32_t *first; /* n_nodes + 1 */
    size_t n_pods;
    /* the node's cumulative CPU time and when it was last published */
    uint64_t *ncpu;
    int64_t *nlast;
    /* node i's NodeUsage, rebuilt per call */
    Hs__NodeUsage nu;
    Hs__PodUsage *pu;
    Hs__PodUsage **pup;
    Hs__ContainerUsage *cu;
    Hs__ContainerUsage **cup;
    size_t cap_pu, cap_cu;
};

static uint64_t s_hash (const char *a, const char *b)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const char *s = a; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    h = (h ^ '/') * 1099511628211ULL;
    for (const char *s = b; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h ^ (h >> 29);
}

/* lo + (hi - lo) * (a share of the hash, 0..1) */
static int64_t s_between (uint64_t h, int64_t lo, int64_t hi)
{
    return lo + (int64_t)((double)(hi - lo) * (double)(h % 10007) / 10007.0);
}

void hollow_usage_figures (const Hs__Pod *pod, size_t i, uint64_t *ret_nanocores,
                           int64_t *ret_working_set)
{
    const Hs__ObjectMeta *m = pod->metadata;
    const Hs__Container *c = pod->spec->containers[i];
    uint64_t h = s_hash (m && m->uid ? m->uid : "", c->name ? c->name : "");
    const char *cpu_a =
        m ? hs_pb_map_get ((void *const *)m->annotations, m->n_annotations, HOLLOW_CPU_ANNOTATION)
          : NULL;
    const char *mem_a = m ? hs_pb_map_get ((void *const *)m->annotations, m->n_annotations,
                                           HOLLOW_MEMORY_ANNOTATION)
                          : NULL;
    const Hs__ResourceList *req = c->resources ? c->resources->requests : NULL;
    int64_t milli = 0, bytes = 0;
    if (cpu_a && hs_quantity_cpu_milli (cpu_a, &milli) == 0)
        *ret_nanocores = (uint64_t)milli * 1000000u;
    else if (req && !hs_empty (req->cpu) && hs_quantity_cpu_milli (req->cpu, &milli) == 0 &&
             milli > 0)
        *ret_nanocores = (uint64_t)s_between (h, milli * 100000, milli * 600000);
    else
        *ret_nanocores = (uint64_t)s_between (h, 1000000, 20000000);
    h = h * 6364136223846793005ULL + 1442695040888963407ULL;
    if (mem_a && hs_quantity_bytes (mem_a, &bytes) == 0)
        *ret_working_set = bytes;
    else if (req && !hs_empty (req->memory) && hs_quantity_bytes (req->memory, &bytes) == 0 &&
             bytes > 0)
        *ret_working_set = s_between (h, bytes / 10 * 3, bytes / 10 * 8);
    else
        *ret_working_set = s_between (h, 4LL << 20, 36LL << 20);
}

hollow_usage_t *hollow_usage_new (uint32_t n_nodes, uint32_t interval_ms)
{
    hollow_usage_t *self = hs_calloc (1, sizeof *self);
    self->n_nodes = n_nodes;
    self->interval_ms = interval_ms;
    self->first = hs_calloc ((size_t)n_nodes + 1, sizeof *self->first);
    self->ncpu = hs_calloc (n_nodes, sizeof *self->ncpu);
    self->nlast = hs_calloc (n_nodes, sizeof *self->nlast);
    return self;
}

void hollow_usage_destroy (hollow_usage_t **self_p)
{
    if (!self_p || !*self_p) return;
    hollow_usage_t *self = *self_p;
    hs_buf_free (&self->arena);
    free (self->recs);
    free (self->sorted);
    free (self->first);
    free (self->ncpu);
    free (self->nlast);
    free (self->pu);
    free (self->pup);
    free (self->cu);
    free (self->cup);
    free (self);
    *self_p = NULL;
}

void hollow_usage_round_begin (hollow_usage_t *self)
{
    self->arena.len = 0;
    self->n_recs = 0;
    self->n_pods = 0;
}

static uint32_t s_put (hollow_usage_t *self, const char *s)
{
    uint32_t off = (uint32_t)self->arena.len;
    hs_buf_append (&self->arena, s ? s : "", strlen (s ? s : "") + 1);
    return off;
}

void hollow_usage_add_pod (hollow_usage_t *self, uint32_t node, const Hs__Pod *pod,
                           int64_t started_ns)
{
    if (node >= self->n_nodes || !pod->metadata || !pod->spec || pod->spec->n_containers == 0)
        return;
    uint32_t off = s_put (self, pod->metadata->uid);
    s_put (self, pod->metadata->namespace_);
    s_put (self, pod->metadata->name);
    self->n_pods++;
    for (size_t i = 0; i < pod->spec->n_containers; i++) {
        if (self->n_recs == self->cap_recs) {
            self->cap_recs = self->cap_recs ? self->cap_recs * 2 : 1024;
            self->recs = hs_realloc (self->recs, self->cap_recs * sizeof *self->recs);
            self->sorted = hs_realloc (self->sorted, self->cap_recs * sizeof *self->sorted);
        }
        s_rec_t *r = &self->recs[self->n_recs++];
        r->node = node;
        r->pod = off;
        r->cname = s_put (self, pod->spec->containers[i]->name);
        r->started_ns = started_ns;
        hollow_usage_figures (pod, i, &r->nanocores, &r->working_set);
    }
}

void hollow_usage_round_end (hollow_usage_t *self)
{
    memset (self->first, 0, ((size_t)self->n_nodes + 1) * sizeof *self->first);
    for (size_t i = 0; i < self->n_recs; i++) self->first[self->recs[i].node + 1]++;
    for (uint32_t n = 0; n < self->n_nodes; n++) self->first[n + 1] += self->first[n];
    /* first[n] is node n's start; place with a moving cursor, then restore */
    for (size_t i = 0; i < self->n_recs; i++)
        self->sorted[self->first[self->recs[i].node]++] = self->recs[i];
    for (uint32_t n = self->n_nodes; n > 0; n--) self->first[n] = self->first[n - 1];
    self->first[0] = 0;
}

size_t hollow_usage_pods (const hollow_usage_t *self)
{
    return self->n_pods;
}

const Hs__NodeUsage *hollow_usage_node (hollow_usage_t *self, uint32_t i, const char *name,
                                        int64_t real_ns, int64_t mono_ns)
{
    size_t a = i < self->n_nodes ? self->first[i] : 0,
           b = i < self->n_nodes ? self->first[i + 1] : 0;
    size_t n = b - a;
    if (n > self->cap_cu) {
        self->cap_cu = n;
        self->cu = hs_realloc (self->cu, n * sizeof *self->cu);
        self->cup = hs_realloc (self->cup, n * sizeof *self->cup);
    }
    if (n > self->cap_pu) { /* at most one pod per container */
        self->cap_pu = n;
        self->pu = hs_realloc (self->pu, n * sizeof *self->pu);
        self->pup = hs_realloc (self->pup, n * sizeof *self->pup);
    }
    Hs__NodeUsage *nu = &self->nu;
    hs__node_usage__init (nu);
    nu->node = (char *)name;
    nu->timestamp = real_ns;
    nu->interval_ms = self->interval_ms;
    uint64_t cores = SYSTEM_NANOCORES;
    int64_t bytes = SYSTEM_BYTES;
    size_t np = 0;
    for (size_t k = 0; k < n; k++) {
        const s_rec_t *r = &self->sorted[a + k];
        Hs__ContainerUsage *c = &self->cu[k];
        hs__container_usage__init (c);
        self->cup[k] = c;
        c->name = self->arena.data + r->cname;
        c->cpu_usage_nanocores = r->nanocores;
        int64_t ran = real_ns > r->started_ns ? real_ns - r->started_ns : 0;
        c->cpu_usage_core_ns = (uint64_t)((double)r->nanocores * ((double)ran / 1e9));
        c->memory_working_set_bytes = r->working_set;
        c->memory_usage_bytes = r->working_set + r->working_set / 8;
        c->started_at = r->started_ns;
        cores += r->nanocores;
        bytes += r->working_set;
        if (k == 0 || self->sorted[a + k - 1].pod != r->pod) {
            Hs__PodUsage *p = &self->pu[np];
            hs__pod_usage__init (p);
            const char *uid = self->arena.data + r->pod;
            const char *ns = uid + strlen (uid) + 1;
            p->uid = (char *)uid;
            p->namespace_ = (char *)ns;
            p->name = (char *)ns + strlen (ns) + 1;
            p->containers = &self->cup[k];
            self->pup[np++] = p;
        }
        self->pu[np - 1].n_containers++;
    }
    nu->pods = np ? self->pup : NULL;
    nu->n_pods = np;
    nu->cpu_usage_nanocores = cores;
    nu->memory_working_set_bytes = bytes;
    if (i < self->n_nodes) {
        if (self->nlast[i] > 0 && mono_ns > self->nlast[i]) {
            int64_t w = mono_ns - self->nlast[i];
            nu->window_ms = (uint32_t)(w / MS);
            self->ncpu[i] += (uint64_t)((double)cores * ((double)w / 1e9));
        }
        self->nlast[i] = mono_ns;
        nu->cpu_usage_core_ns = self->ncpu[i];
    }
    return nu;
}
