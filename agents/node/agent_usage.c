/*  agent_usage.c: a node's resource usage samples (see agent_usage.h).
 *
 *  The NodeUsage and its pods and containers live in arrays kept from one
 *  sample to the next (grown, never shrunk), so a sample allocates nothing
 *  once the node's pod count is reached, except the hash entry of a run
 *  seen for the first time.
 */
#include "agent_usage.h"
#include "hs_util.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The previous sample of one run. */
typedef struct {
    int32_t restart_count;
    int64_t started_at_ns;
    uint64_t cpu_ns; /* the group's CPU time */
    int64_t mono_ns;
    uint64_t gen; /* the sample that last saw it */
} s_prev_t;

typedef struct {
    size_t first, n; /* its containers in self->cs */
} s_pod_t;

struct agent_usage_t {
    char *node;
    Hs__NodeUsage nu;
    Hs__PodUsage *pods;
    Hs__PodUsage **pod_ptrs;
    s_pod_t *pod_at;
    size_t n_pods, cap_pods;
    Hs__ContainerUsage *cs;
    Hs__ContainerUsage **c_ptrs;
    size_t n_cs, cap_cs;
    zhashx_t *prev; /* the container's cgroup -> s_prev_t */
    uint64_t gen;
    int64_t mono_ns;
    /* the host's previous sample */
    bool host_prev;
    uint64_t host_cpu_ns;
    int64_t host_mono_ns;
};

static void s_free_prev (void **item)
{
    free (*item);
    *item = NULL;
}

agent_usage_t *agent_usage_new (const char *node, uint32_t interval_ms)
{
    agent_usage_t *self = hs_calloc (1, sizeof *self);
    self->node = hs_strdup (node);
    hs__node_usage__init (&self->nu);
    self->nu.node = self->node;
    self->nu.interval_ms = interval_ms;
    self->prev = zhashx_new ();
    zhashx_set_destructor (self->prev, s_free_prev);
    return self;
}

void agent_usage_destroy (agent_usage_t **self_p)
{
    if (!self_p || !*self_p) return;
    agent_usage_t *self = *self_p;
    zhashx_destroy (&self->prev);
    free (self->pods);
    free (self->pod_ptrs);
    free (self->pod_at);
    free (self->cs);
    free (self->c_ptrs);
    free (self->node);
    free (self);
    *self_p = NULL;
}

size_t agent_usage_tracked (const agent_usage_t *self)
{
    return zhashx_size (self->prev);
}

uint64_t agent_usage_nanocores (uint64_t delta_cpu_ns, int64_t window_ns)
{
    if (window_ns <= 0) return 0;
    unsigned __int128 v = (unsigned __int128)delta_cpu_ns * 1000000000u / (uint64_t)window_ns;
    return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

void agent_usage_begin (agent_usage_t *self, int64_t mono_ns, int64_t real_ns,
                        const agent_host_usage_t *host)
{
    self->gen++;
    self->mono_ns = mono_ns;
    self->n_pods = self->n_cs = 0;
    Hs__NodeUsage *nu = &self->nu;
    nu->timestamp = real_ns;
    nu->window_ms = 0;
    nu->cpu_usage_core_ns = 0;
    nu->cpu_usage_nanocores = 0;
    nu->memory_working_set_bytes = 0;
    if (host && host->have_cpu) {
        nu->cpu_usage_core_ns = host->cpu_ns;
        if (self->host_prev && host->cpu_ns >= self->host_cpu_ns && mono_ns > self->host_mono_ns) {
            int64_t w = mono_ns - self->host_mono_ns;
            nu->window_ms = (uint32_t)(w / 1000000);
            nu->cpu_usage_nanocores = agent_usage_nanocores (host->cpu_ns - self->host_cpu_ns, w);
        }
        self->host_prev = true;
        self->host_cpu_ns = host->cpu_ns;
        self->host_mono_ns = mono_ns;
    }
    if (host && host->have_memory) nu->memory_working_set_bytes = host->memory_working_set;
}

static s_pod_t *s_pod_for (agent_usage_t *self, const agent_run_t *run)
{
    const Hs__PodUsage *last = self->n_pods ? &self->pods[self->n_pods - 1] : NULL;
    if (last && hs_streq (last->uid, run->uid) && hs_streq (last->name, run->name) &&
        hs_streq (last->namespace_, run->ns))
        return &self->pod_at[self->n_pods - 1];
    if (self->n_pods == self->cap_pods) {
        self->cap_pods = self->cap_pods ? self->cap_pods * 2 : 16;
        self->pods = hs_realloc (self->pods, self->cap_pods * sizeof *self->pods);
        self->pod_ptrs = hs_realloc (self->pod_ptrs, self->cap_pods * sizeof *self->pod_ptrs);
        self->pod_at = hs_realloc (self->pod_at, self->cap_pods * sizeof *self->pod_at);
    }
    Hs__PodUsage *p = &self->pods[self->n_pods];
    hs__pod_usage__init (p);
    p->namespace_ = (char *)run->ns;
    p->name = (char *)run->name;
    p->uid = (char *)run->uid;
    s_pod_t *at = &self->pod_at[self->n_pods++];
    at->first = self->n_cs;
    at->n = 0;
    return at;
}

void agent_usage_add (agent_usage_t *self, const agent_run_t *run, const hs_cg_usage_t *u)
{
    s_pod_t *at = s_pod_for (self, run);
    if (self->n_cs == self->cap_cs) {
        self->cap_cs = self->cap_cs ? self->cap_cs * 2 : 16;
        self->cs = hs_realloc (self->cs, self->cap_cs * sizeof *self->cs);
        self->c_ptrs = hs_realloc (self->c_ptrs, self->cap_cs * sizeof *self->c_ptrs);
    }
    Hs__ContainerUsage *c = &self->cs[self->n_cs++];
    at->n++;
    hs__container_usage__init (c);
    c->name = (char *)run->container;
    c->restart_count = run->restart_count;
    c->started_at = run->started_at_ns;
    if (u->have & HS_CG_HAVE_MEMORY) {
        c->memory_working_set_bytes = u->working_set;
        c->memory_usage_bytes = u->memory_usage;
    }
    if (u->have & HS_CG_HAVE_OOM) c->oom_kills = u->oom_kills;
    if (!(u->have & HS_CG_HAVE_CPU)) return;
    /* The group outlives a restart: this run's time is what it used since. */
    c->cpu_usage_core_ns = u->cpu_ns >= run->cpu_base_ns ? u->cpu_ns - run->cpu_base_ns : u->cpu_ns;
    /* keyed by the container's cgroup: unique on the node, also for a
     * static pod whose mirror (and so its uid in the store) is not known */
    const char *key = run->cgroup;
    s_prev_t *prev = zhashx_lookup (self->prev, key);
    if (prev && prev->restart_count == run->restart_count &&
        prev->started_at_ns == run->started_at_ns && u->cpu_ns >= prev->cpu_ns)
        c->cpu_usage_nanocores =
            agent_usage_nanocores (u->cpu_ns - prev->cpu_ns, self->mono_ns - prev->mono_ns);
    if (!prev) {
        prev = hs_calloc (1, sizeof *prev);
        zhashx_insert (self->prev, key, prev);
    }
    prev->restart_count = run->restart_count;
    prev->started_at_ns = run->started_at_ns;
    prev->cpu_ns = u->cpu_ns;
    prev->mono_ns = self->mono_ns;
    prev->gen = self->gen;
}

const Hs__NodeUsage *agent_usage_end (agent_usage_t *self)
{
    for (size_t i = 0; i < self->n_cs; i++) self->c_ptrs[i] = &self->cs[i];
    for (size_t i = 0; i < self->n_pods; i++) {
        self->pods[i].containers = &self->c_ptrs[self->pod_at[i].first];
        self->pods[i].n_containers = self->pod_at[i].n;
        self->pod_ptrs[i] = &self->pods[i];
    }
    self->nu.pods = self->n_pods ? self->pod_ptrs : NULL;
    self->nu.n_pods = self->n_pods;
    /* Runs not seen this time (ended, or their group could not be read) are
     * forgotten: a later sample of them starts a new window. */
    size_t stale = 0;
    for (s_prev_t *p = zhashx_first (self->prev); p; p = zhashx_next (self->prev))
        stale += p->gen != self->gen;
    if (stale > 0) {
        zlistx_t *gone = zlistx_new ();
        for (s_prev_t *p = zhashx_first (self->prev); p; p = zhashx_next (self->prev))
            if (p->gen != self->gen) zlistx_add_end (gone, (void *)zhashx_cursor (self->prev));
        for (void *k = zlistx_first (gone); k; k = zlistx_next (gone))
            zhashx_delete (self->prev, k);
        zlistx_destroy (&gone);
    }
    return &self->nu;
}

/* ------------------------------------------------------------------ the host */

int agent_usage_parse_stat (const char *text, long clk_tck, uint64_t *ret_busy_ns)
{
    if (strncmp (text, "cpu ", 4) != 0 || clk_tck <= 0) return -EBADMSG;
    /* user nice system idle iowait irq softirq steal [guest guest_nice]:
     * guest time is already in user and nice, so the first eight count. */
    const char *s = text + 4;
    uint64_t f[8] = {0}, total = 0;
    size_t n = 0;
    while (n < 8) {
        while (*s == ' ') s++;
        if (*s < '0' || *s > '9') break;
        char *end;
        errno = 0;
        f[n] = strtoull (s, &end, 10);
        if (errno) return -EBADMSG;
        total += f[n++];
        s = end;
    }
    if (n < 4) return -EBADMSG; /* at least user nice system idle */
    uint64_t busy = total - f[3] - f[4];
    unsigned __int128 ns = (unsigned __int128)busy * 1000000000u / (uint64_t)clk_tck;
    *ret_busy_ns = ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
    return 0;
}

/* The kB value of "key:   N kB" in meminfo text: 0 or -ENODATA/-EBADMSG. */
static int s_meminfo_kb (const char *text, const char *key, uint64_t *ret)
{
    size_t klen = strlen (key);
    for (const char *line = text; *line;) {
        if (strncmp (line, key, klen) == 0 && line[klen] == ':') {
            const char *s = line + klen + 1;
            while (*s == ' ') s++;
            if (*s < '0' || *s > '9') return -EBADMSG;
            char *end;
            errno = 0;
            *ret = strtoull (s, &end, 10);
            if (errno) return -EBADMSG;
            return 0;
        }
        const char *nl = strchr (line, '\n');
        if (!nl) break;
        line = nl + 1;
    }
    return -ENODATA;
}

int agent_usage_parse_meminfo (const char *text, int64_t *ret_bytes)
{
    uint64_t total, avail;
    if (s_meminfo_kb (text, "MemTotal", &total) < 0 ||
        s_meminfo_kb (text, "MemAvailable", &avail) < 0 || total > INT64_MAX / 1024)
        return -EBADMSG;
    *ret_bytes = avail >= total ? 0 : (int64_t)(total - avail) * 1024;
    return 0;
}

/* Reads path's first size - 1 bytes into buf. 0 or -errno. */
static int s_read_head (const char *path, char *buf, size_t size)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    ssize_t n;
    do n = read (fd, buf, size - 1);
    while (n < 0 && errno == EINTR);
    int r = n < 0 ? -errno : 0;
    close (fd);
    buf[n > 0 ? n : 0] = '\0';
    return r;
}

void agent_usage_read_host (const char *proc_dir, agent_host_usage_t *ret)
{
    memset (ret, 0, sizeof *ret);
    if (!proc_dir) proc_dir = "/proc";
    char path[PATH_MAX], buf[4096];
    /* The "cpu" line is first; MemAvailable is the third line. One read. */
    snprintf (path, sizeof path, "%s/stat", proc_dir);
    static long tck;
    if (!tck) tck = sysconf (_SC_CLK_TCK);
    if (s_read_head (path, buf, sizeof buf) == 0)
        ret->have_cpu = agent_usage_parse_stat (buf, tck, &ret->cpu_ns) == 0;
    snprintf (path, sizeof path, "%s/meminfo", proc_dir);
    if (s_read_head (path, buf, sizeof buf) == 0)
        ret->have_memory = agent_usage_parse_meminfo (buf, &ret->memory_working_set) == 0;
}

int agent_usage_parse_interval (const char *text, int64_t *ret_ns)
{
    if (!text || *text < '0' || *text > '9') return -EINVAL;
    char *end;
    errno = 0;
    unsigned long long v = strtoull (text, &end, 10);
    if (errno || v > 3600000) return -EINVAL;
    int64_t ns;
    if (strcmp (end, "ms") == 0)
        ns = (int64_t)v * 1000000;
    else if (strcmp (end, "s") == 0 || *end == '\0')
        ns = (int64_t)v * 1000000000;
    else
        return -EINVAL;
    if (ns > 3600LL * 1000000000 || (ns > 0 && ns < 100000000)) return -EINVAL;
    *ret_ns = ns;
    return 0;
}
