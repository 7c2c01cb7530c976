/*  ctl_top_fmt.c: `hsctl top`'s tables, as kubectl 1.32's `top` prints
 *  them (tools/hsctl/ctl_fmt.h; kubectl's pkg/metricsutil).
 *
 *  kubectl writes each cell followed by a tab through a tabwriter (minimum
 *  width 6, padding 3, spaces): every column, the last one included, is
 *  padded to its widest cell plus 3, so lines end in spaces. CPU is the
 *  rate rounded up to millicores ("251m"), memory the working set in whole
 *  mebibytes ("12Mi"); a node's percentages are of its allocatable,
 *  truncated. Nodes without metrics follow the others with "<unknown>" in
 *  every cell. Sorting: by name (namespace first with -A), or with
 *  --sort-by cpu|memory the largest first; containers within their pod
 *  likewise. Ties keep the name order (kubectl's sort is not stable; ours
 *  is, so the output is repeatable). --sum adds kubectl's rule and totals.
 */
#include "ctl_fmt.h"
#include "hs_usage.h"
#include "hs_util.h"

#include <stdlib.h>
#include <string.h>

#define S_MINWIDTH 6
#define S_PADDING  3

typedef struct {
    char **cells; /* row-major, n_rows x ncols, NULL: no cell */
    size_t n_rows, ncols, cap;
} s_tab_t;

static void s_row (s_tab_t *t, const char *const *cells, size_t n)
{
    if (t->n_rows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->cells = hs_realloc (t->cells, t->cap * t->ncols * sizeof (char *));
    }
    for (size_t i = 0; i < t->ncols; i++)
        t->cells[t->n_rows * t->ncols + i] = i < n && cells[i] ? hs_strdup (cells[i]) : NULL;
    t->n_rows++;
}

/* The tabwriter's text; frees t's cells. */
static char *s_render (s_tab_t *t)
{
    size_t *w = hs_calloc (t->ncols + 1, sizeof *w);
    for (size_t r = 0; r < t->n_rows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r * t->ncols + c];
            size_t len = s ? strlen (s) + S_PADDING : 0;
            if (s && len < S_MINWIDTH) len = S_MINWIDTH;
            if (len > w[c]) w[c] = len;
        }
    hs_buf_t b = {0};
    hs_buf_puts (&b, "");
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            char *s = t->cells[r * t->ncols + c];
            if (!s) continue;
            hs_buf_printf (&b, "%-*s", (int)w[c], s);
            free (s);
        }
        hs_buf_puts (&b, "\n");
    }
    free (t->cells);
    free (w);
    return hs_buf_take (&b);
}

static uint64_t s_milli (uint64_t nanocores)
{
    return nanocores / 1000000 + (nanocores % 1000000 != 0);
}

static const char *s_sort_by;
static bool s_with_ns;

static int s_cmp (const ctl_top_row_t *a, const ctl_top_row_t *b)
{
    if (s_sort_by && !strcmp (s_sort_by, "cpu") && s_milli (a->nanocores) != s_milli (b->nanocores))
        return s_milli (a->nanocores) > s_milli (b->nanocores) ? -1 : 1;
    if (s_sort_by && !strcmp (s_sort_by, "memory") && a->ws_bytes != b->ws_bytes)
        return a->ws_bytes > b->ws_bytes ? -1 : 1;
    int c = s_with_ns ? strcmp (hs_s (a->ns), hs_s (b->ns)) : 0;
    if (c) return c;
    c = strcmp (hs_s (a->pod), hs_s (b->pod));
    return c ? c : strcmp (hs_s (a->name), hs_s (b->name));
}

static int s_qcmp (const void *a, const void *b)
{
    return s_cmp (a, b);
}

/* Pods' totals for sorting: rows of one pod are adjacent after the first
 * sort by name; the pod's total decides, then the container's own. */
typedef struct {
    ctl_top_row_t row;
    uint64_t pod_cpu;
    int64_t pod_mem;
} s_crow_t;

static int s_ccmp (const void *pa, const void *pb)
{
    const s_crow_t *a = pa, *b = pb;
    if (s_sort_by && !strcmp (s_sort_by, "cpu") && s_milli (a->pod_cpu) != s_milli (b->pod_cpu))
        return s_milli (a->pod_cpu) > s_milli (b->pod_cpu) ? -1 : 1;
    if (s_sort_by && !strcmp (s_sort_by, "memory") && a->pod_mem != b->pod_mem)
        return a->pod_mem > b->pod_mem ? -1 : 1;
    int c = s_with_ns ? strcmp (hs_s (a->row.ns), hs_s (b->row.ns)) : 0;
    if (c) return c;
    c = strcmp (hs_s (a->row.pod), hs_s (b->row.pod));
    if (c) return c;
    return s_cmp (&a->row, &b->row);
}

char *ctl_top_pods_text (ctl_top_row_t *rows, size_t n, bool with_ns, bool containers,
                         bool no_headers, const char *sort_by, bool sum)
{
    if (n == 0) return hs_strdup ("");
    s_sort_by = hs_empty (sort_by) ? NULL : sort_by;
    s_with_ns = with_ns;
    s_tab_t t = {.ncols = 5};
    if (!no_headers) {
        const char *h[5];
        size_t k = 0;
        if (with_ns) h[k++] = "NAMESPACE";
        if (containers) h[k++] = "POD";
        h[k++] = "NAME";
        h[k++] = "CPU(cores)";
        h[k++] = "MEMORY(bytes)";
        s_row (&t, h, k);
    }
    if (containers) {
        /* each container row knows its pod's totals */
        s_crow_t *cr = hs_calloc (n, sizeof *cr);
        for (size_t i = 0; i < n; i++) {
            cr[i].row = rows[i];
            for (size_t j = 0; j < n; j++)
                if (hs_streq (rows[j].ns, rows[i].ns) && hs_streq (rows[j].pod, rows[i].pod)) {
                    cr[i].pod_cpu += rows[j].nanocores;
                    cr[i].pod_mem = hs_sat_add (cr[i].pod_mem, rows[j].ws_bytes);
                }
        }
        qsort (cr, n, sizeof *cr, s_ccmp);
        for (size_t i = 0; i < n; i++) rows[i] = cr[i].row;
        free (cr);
    } else {
        qsort (rows, n, sizeof *rows, s_qcmp);
    }
    for (size_t i = 0; i < n; i++) {
        _cleanup_free_ char *cpu = hs_usage_top_cpu (rows[i].nanocores);
        _cleanup_free_ char *mem = hs_usage_top_mem (rows[i].ws_bytes);
        const char *c[5];
        size_t k = 0;
        if (with_ns) c[k++] = rows[i].ns;
        if (containers) c[k++] = rows[i].pod;
        c[k++] = rows[i].name;
        c[k++] = cpu;
        c[k++] = mem;
        s_row (&t, c, k);
    }
    if (sum) {
        /* kubectl's --sum: a rule under the two figures, then the totals;
         * it counts the NAMESPACE and POD columns only when it printed
         * the headers (so do we) */
        size_t width = 3 + (no_headers ? 0 : (size_t)with_ns + (size_t)containers);
        uint64_t cpu = 0;
        int64_t mem = 0;
        for (size_t i = 0; i < n; i++) {
            cpu += rows[i].nanocores;
            mem = hs_sat_add (mem, rows[i].ws_bytes);
        }
        _cleanup_free_ char *tc = hs_usage_top_cpu (cpu);
        _cleanup_free_ char *tm = hs_usage_top_mem (mem);
        const char *c[5] = {"", "", "", "", ""};
        c[width - 2] = c[width - 1] = "________";
        s_row (&t, c, width);
        const char *d[5] = {"", "", "", "", ""};
        d[width - 2] = tc;
        d[width - 1] = tm;
        s_row (&t, d, width);
    }
    return s_render (&t);
}

/* kubectl's int64(float64(used milli) / float64(available milli) * 100). */
static char *s_pct (double used_milli, double avail_milli)
{
    double f = avail_milli > 0 ? used_milli / avail_milli * 100 : 0;
    return hs_sprintf ("%lld%%", (long long)f);
}

char *ctl_top_nodes_text (ctl_top_row_t *rows, size_t n, bool no_headers, const char *sort_by)
{
    size_t known = 0;
    for (size_t i = 0; i < n; i++) known += !rows[i].unknown;
    if (known == 0) return hs_strdup ("");
    s_sort_by = hs_empty (sort_by) ? NULL : sort_by;
    s_with_ns = false;
    /* the nodes with metrics, sorted; then the others, by name */
    ctl_top_row_t *sorted = hs_calloc (n + 1, sizeof *sorted);
    size_t a = 0, b = known;
    for (size_t i = 0; i < n; i++) sorted[rows[i].unknown ? b++ : a++] = rows[i];
    qsort (sorted, known, sizeof *sorted, s_qcmp);
    s_sort_by = NULL;
    qsort (sorted + known, n - known, sizeof *sorted, s_qcmp);
    s_tab_t t = {.ncols = 5};
    if (!no_headers) {
        const char *h[] = {"NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"};
        s_row (&t, h, 5);
    }
    for (size_t i = 0; i < n; i++) {
        const ctl_top_row_t *r = &sorted[i];
        if (r->unknown) {
            const char *c[] = {r->name, "<unknown>", "<unknown>", "<unknown>", "<unknown>"};
            s_row (&t, c, 5);
            continue;
        }
        _cleanup_free_ char *cpu = hs_usage_top_cpu (r->nanocores);
        _cleanup_free_ char *mem = hs_usage_top_mem (r->ws_bytes);
        _cleanup_free_ char *cp =
            s_pct ((double)s_milli (r->nanocores), (double)r->alloc_cpu_milli);
        _cleanup_free_ char *mp = s_pct ((double)r->ws_bytes, (double)r->alloc_mem_bytes);
        const char *c[] = {r->name, cpu, cp, mem, mp};
        s_row (&t, c, 5);
    }
    free (sorted);
    return s_render (&t);
}
