/*  ctl_get.c: `hsctl get` — tables, -o yaml|json|name|wide, -l selectors,
 *  -A / -n, and -w watches that follow the store's events until a signal.
 *
 *  Listing reads one snapshot from the store (hs_client_snapshot); watching
 *  uses the client's snapshot-then-follow watch, so a watch survives a store
 *  restart and never misses a change.
 */
#include "ctl.h"
#include "ctl_fmt.h"
#include "hs_pbjson.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

typedef enum { S_OUT_TABLE = 0, S_OUT_WIDE, S_OUT_YAML, S_OUT_JSON, S_OUT_NAME } s_out_t;

enum { S_OPT_WATCH_ONLY = CTL_OPT_VERB_BASE, S_OPT_SHOW_LABELS, S_OPT_NO_HEADERS };

typedef struct {
    s_out_t out;
    const char *selector_text;
    bool watch;
    bool watch_only;
    bool show_labels;
    bool no_headers;
} s_opts_t;

static const struct option s_longs[] = {
    {"output", required_argument, NULL, 'o'},
    {"selector", required_argument, NULL, 'l'},
    {"watch", no_argument, NULL, 'w'},
    {"watch-only", no_argument, NULL, S_OPT_WATCH_ONLY},
    {"show-labels", no_argument, NULL, S_OPT_SHOW_LABELS},
    {"no-headers", no_argument, NULL, S_OPT_NO_HEADERS},
    {NULL, 0, NULL, 0},
};

static int s_opt (ctl_t *ctl, void *arg, int c, const char *optarg)
{
    s_opts_t *o = arg;
    switch (c) {
    case 'o':
        if (!strcmp (optarg, "wide"))
            o->out = S_OUT_WIDE;
        else if (!strcmp (optarg, "yaml"))
            o->out = S_OUT_YAML;
        else if (!strcmp (optarg, "json"))
            o->out = S_OUT_JSON;
        else if (!strcmp (optarg, "name"))
            o->out = S_OUT_NAME;
        else {
            fprintf (stderr,
                     "error: unable to match a printer suitable for the output format \"%s\", "
                     "allowed formats are: json,name,wide,yaml\n",
                     optarg);
            return -1;
        }
        return 0;
    case 'l': o->selector_text = optarg; return 0;
    case 'w': o->watch = true; return 0;
    case S_OPT_WATCH_ONLY: o->watch = o->watch_only = true; return 0;
    case S_OPT_SHOW_LABELS: o->show_labels = true; return 0;
    case S_OPT_NO_HEADERS: o->no_headers = true; return 0;
    default: return -1;
    }
}

static void s_usage (void)
{
    printf ("Display one or many resources.\n\n"
            "Usage:\n  hsctl get TYPE[,TYPE...] [NAME...] [options]\n"
            "  hsctl get TYPE/NAME ...\n\n"
            "Types: pods (po), nodes (no), services (svc), endpoints (ep), replicasets (rs),\n"
            "       deployments (deploy), jobs, events (ev), all,\n       components (cs: live "
            "component instances, from "
            "their heartbeats)\n\n"
            "Options:\n"
            "  -o, --output=yaml|json|name|wide\n"
            "  -l, --selector='k=v,k!=v,k,!k,k in (a,b)'\n"
            "  -w, --watch          after listing, print every change until interrupted\n"
            "      --watch-only     print only the changes\n"
            "      --show-labels    add a LABELS column\n"
            "      --no-headers     omit the header line\n"
            "  -n, --namespace=NS   -A, --all-namespaces\n");
}

/* ------------------------------------------------------------ what to show */

typedef struct {
    hs_kind_t kinds[HS_KIND__COUNT];
    size_t n_kinds;
    bool explicit_refs; /* TYPE/NAME form */
    hs_kind_t *name_kinds;
    char **names;
    size_t n_names;
} s_query_t;

static void s_query_free (s_query_t *q)
{
    free (q->name_kinds);
    free (q->names);
}

static void s_add_kind (s_query_t *q, hs_kind_t k)
{
    for (size_t i = 0; i < q->n_kinds; i++)
        if (q->kinds[i] == k) return;
    q->kinds[q->n_kinds++] = k;
}

static void s_add_name (s_query_t *q, hs_kind_t k, char *name)
{
    q->name_kinds = hs_realloc (q->name_kinds, (q->n_names + 1) * sizeof (hs_kind_t));
    q->names = hs_realloc (q->names, (q->n_names + 1) * sizeof (char *));
    q->name_kinds[q->n_names] = k;
    q->names[q->n_names++] = name;
}

static int s_parse_kinds (const char *text, s_query_t *q)
{
    _cleanup_free_ char *copy = hs_strdup (text);
    char *save = NULL;
    for (char *t = strtok_r (copy, ",", &save); t; t = strtok_r (NULL, ",", &save)) {
        if (!strcmp (t, "all")) {
            /* kubectl's "all" category, in its order, of the kinds we have */
            s_add_kind (q, HS_KIND_POD);
            s_add_kind (q, HS_KIND_SERVICE);
            s_add_kind (q, HS_KIND_REPLICASET);
            s_add_kind (q, HS_KIND_DEPLOYMENT);
            s_add_kind (q, HS_KIND_HPA);
            s_add_kind (q, HS_KIND_JOB);
            continue;
        }
        hs_kind_t k = hs_kind_parse (t);
        if (k == HS_KIND_NONE) {
            fprintf (stderr, "error: the server doesn't have a resource type \"%s\"\n", t);
            return -1;
        }
        s_add_kind (q, k);
    }
    if (q->n_kinds == 0) {
        fprintf (stderr, "error: the server doesn't have a resource type \"%s\"\n", text);
        return -1;
    }
    return 0;
}

/* Positionals: "TYPE[,TYPE] [NAME...]" or "TYPE/NAME...". */
static int s_parse_query (ctl_t *ctl, int argc, char **argv, s_query_t *q)
{
    if (argc == 0) {
        fprintf (stderr, "You must specify the type of resource to get. Use \"hsctl get -h\" "
                         "for the supported resource types.\n\n"
                         "error: Required resource not specified.\n"
                         "See 'hsctl get -h' for help and examples\n");
        return -1;
    }
    if (strchr (argv[0], '/')) {
        q->explicit_refs = true;
        for (int i = 0; i < argc; i++) {
            hs_kind_t k;
            char *name;
            if (ctl_split_ref (argv[i], &k, &name) < 0) return -1;
            s_add_kind (q, k);
            s_add_name (q, k, name);
        }
        return 0;
    }
    if (s_parse_kinds (argv[0], q) < 0) return -1;
    if (argc > 1 && q->n_kinds > 1) {
        fprintf (stderr, "error: arguments in resource/name form must have a single resource "
                         "and name\n");
        return -1;
    }
    for (int i = 1; i < argc; i++) s_add_name (q, q->kinds[0], argv[i]);
    (void)ctl;
    return 0;
}

/* ------------------------------------------------------------ filtering */

typedef struct {
    ctl_t *ctl;
    const s_opts_t *opts;
    const s_query_t *q;
    ctl_selector_t *sel;
} s_filter_t;

static bool s_wanted (const s_filter_t *f, hs_kind_t kind, const Hs__Object *o)
{
    if (hs_obj_kind (o) != kind) return false;
    const Hs__ObjectMeta *m = hs_obj_meta (o);
    if (!m) return false;
    const hs_kind_info_t *info = hs_kind_info (kind);
    if (info->namespaced && !f->ctl->all_ns && !hs_streq (m->namespace_, f->ctl->ns)) return false;
    if (!ctl_selector_matches (f->sel, (void *const *)m->labels, m->n_labels)) return false;
    if (f->q->n_names) {
        bool named = false;
        for (size_t i = 0; i < f->q->n_names && !named; i++)
            named = f->q->name_kinds[i] == kind && hs_streq (f->q->names[i], m->name);
        if (!named) return false;
    }
    return true;
}

static void s_no_resources (ctl_t *ctl, const s_query_t *q)
{
    bool namespaced = false;
    for (size_t i = 0; i < q->n_kinds; i++) namespaced |= hs_kind_info (q->kinds[i])->namespaced;
    if (ctl->all_ns || !namespaced)
        fprintf (stderr, "No resources found\n");
    else
        fprintf (stderr, "No resources found in %s namespace.\n", ctl->ns);
}

static int s_fmt_flags (s_out_t out)
{
    return out == S_OUT_JSON ? HS_FMT_JSON : HS_FMT_YAML;
}

/* ------------------------------------------------------------ list */

static int s_list (ctl_t *ctl, const s_opts_t *o, const s_query_t *q, ctl_selector_t *sel)
{
    hs_db_snapshot_t snap = {0};
    if (ctl_snapshot (ctl, q->kinds, q->n_kinds, &snap) < 0) return 1;
    s_filter_t f = {ctl, o, q, sel};
    int64_t now = hs_now_ns ();
    int rc = 0;

    const Hs__Object **all = hs_calloc (snap.n_objects + 1, sizeof (*all));
    size_t n_all = 0;
    bool printed_table = false;
    hs_buf_t out = {0};
    for (size_t k = 0; k < q->n_kinds; k++) {
        const Hs__Object **objs = hs_calloc (snap.n_objects + 1, sizeof (*objs));
        size_t n = 0;
        for (size_t i = 0; i < snap.n_objects; i++)
            if (s_wanted (&f, q->kinds[k], snap.objects[i])) objs[n++] = snap.objects[i];
        if (q->n_names) {
            /* kubectl keeps the order the names were given in */
            const Hs__Object **ordered = hs_calloc (q->n_names + 1, sizeof (*ordered));
            size_t m = 0;
            for (size_t j = 0; j < q->n_names; j++) {
                if (q->name_kinds[j] != q->kinds[k]) continue;
                for (size_t i = 0; i < n; i++)
                    if (hs_streq (hs_obj_meta (objs[i])->name, q->names[j])) {
                        ordered[m++] = objs[i];
                        break;
                    }
            }
            free (objs);
            objs = ordered;
            n = m;
        } else
            ctl_sort_objects (objs, n);
        for (size_t i = 0; i < n; i++) all[n_all++] = objs[i];
        if ((o->out == S_OUT_TABLE || o->out == S_OUT_WIDE) && n > 0) {
            ctl_list_opts_t lo = {.wide = o->out == S_OUT_WIDE,
                                  .all_ns = ctl->all_ns,
                                  .show_labels = o->show_labels,
                                  .kind_prefix = q->n_kinds > 1 || q->explicit_refs,
                                  .no_headers = o->no_headers};
            _cleanup_free_ char *t =
                ctl_table_render (q->kinds[k], (const Hs__Object *const *)objs, n, &lo, now);
            if (printed_table) hs_buf_puts (&out, "\n");
            hs_buf_puts (&out, t);
            printed_table = true;
        }
        free (objs);
    }

    /* the names that were not there */
    for (size_t j = 0; j < q->n_names; j++) {
        bool found = false;
        for (size_t i = 0; i < n_all && !found; i++)
            found = hs_obj_kind (all[i]) == q->name_kinds[j] &&
                    hs_streq (hs_obj_meta (all[i])->name, q->names[j]);
        if (!found) {
            fprintf (stderr, "Error from server (NotFound): %s \"%s\" not found\n",
                     hs_kind_info (q->name_kinds[j])->resource, q->names[j]);
            rc = 1;
        }
    }

    if (o->out == S_OUT_YAML || o->out == S_OUT_JSON) {
        bool single = q->n_names == 1 && n_all == 1;
        if (n_all > 0 || q->n_names == 0) {
            _cleanup_free_ char *t = ctl_render_objects ((const Hs__Object *const *)all, n_all,
                                                         !single, s_fmt_flags (o->out));
            hs_buf_puts (&out, t);
        }
    } else if (o->out == S_OUT_NAME) {
        _cleanup_free_ char *t = ctl_render_names ((const Hs__Object *const *)all, n_all);
        hs_buf_puts (&out, t);
    }
    if (out.len) fwrite (out.data, 1, out.len, stdout);
    hs_buf_free (&out);
    if (n_all == 0 && q->n_names == 0 && o->out != S_OUT_YAML && o->out != S_OUT_JSON)
        s_no_resources (ctl, q);
    free (all);
    hs_db_snapshot_free (&snap);
    return rc;
}

/* ------------------------------------------------------------ watch */

static volatile sig_atomic_t s_stop;

static void s_on_signal (int sig)
{
    (void)sig;
    s_stop = 1;
}

typedef struct {
    s_filter_t f;
    hs_kind_t kind;
    bool live;                 /* initial listing done: print what comes */
    ctl_stream_table_t *table; /* tables: aligned across events */
    size_t documents;          /* yaml: "---" between documents */
} s_watch_state_t;

static void s_print_table (s_watch_state_t *st, const Hs__Object *const *objs, size_t n)
{
    const s_opts_t *opts = st->f.opts;
    ctl_list_opts_t lo = {.wide = opts->out == S_OUT_WIDE,
                          .all_ns = st->f.ctl->all_ns,
                          .show_labels = opts->show_labels,
                          .no_headers = opts->no_headers};
    if (!st->table) st->table = ctl_stream_table_new (!opts->no_headers);
    _cleanup_free_ char *text = ctl_table_text (st->kind, objs, n, &lo, hs_now_ns ());
    _cleanup_free_ char *lines = ctl_stream_table_feed (st->table, text);
    fputs (lines, stdout);
}

static void s_print_one (s_watch_state_t *st, const Hs__Object *o)
{
    const s_opts_t *opts = st->f.opts;
    if (opts->out == S_OUT_TABLE || opts->out == S_OUT_WIDE) {
        s_print_table (st, &o, 1);
    } else if (opts->out == S_OUT_NAME) {
        _cleanup_free_ char *t = ctl_render_names (&o, 1);
        fputs (t, stdout);
    } else {
        _cleanup_free_ char *t = ctl_render_objects (&o, 1, false, s_fmt_flags (opts->out));
        if (opts->out == S_OUT_YAML && st->documents++) fputs ("---\n", stdout);
        fputs (t, stdout);
    }
    fflush (stdout);
}

static void s_on_change (void *arg, Hs__EventType type, const Hs__Object *obj,
                         const Hs__Object *old)
{
    s_watch_state_t *st = arg;
    (void)type;
    (void)old;
    if (!st->live || !obj) return;
    if (!s_wanted (&st->f, st->kind, obj)) {
        /* an object that just left the selection still shows its last row */
        if (!(old && s_wanted (&st->f, st->kind, old))) return;
    }
    s_print_one (st, obj);
}

static int s_watch (ctl_t *ctl, const s_opts_t *o, const s_query_t *q, ctl_selector_t *sel)
{
    if (q->n_kinds != 1) {
        fprintf (stderr, "error: you may only specify a single resource type\n");
        return 1;
    }
    if (ctl_connect (ctl) < 0) return 1;
    s_watch_state_t st = {.f = {ctl, o, q, sel}, .kind = q->kinds[0]};

    struct sigaction sa = {.sa_handler = s_on_signal};
    sigemptyset (&sa.sa_mask);
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGTERM, &sa, NULL);

    hs_watch_opts_t wo = {.kinds = &st.kind, .n_kinds = 1, .fn = s_on_change, .arg = &st};
    hs_watch_t *w = hs_client_watch (ctl->client, &wo);
    int r = hs_watch_wait_synced (w, ctl->timeout_ms);
    if (r == -ETIMEDOUT) {
        ctl_print_store_timeout (ctl);
        return 1;
    }
    if (r < 0 && !s_stop) {
        fprintf (stderr, "error: the watch failed: %s\n", strerror (-r));
        return 1;
    }
    if (!o->watch_only) {
        const Hs__Object **objs = NULL;
        size_t n = hs_watch_list (w, st.kind, &objs);
        const Hs__Object **shown = hs_calloc (n + 1, sizeof (*shown));
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (s_wanted (&st.f, st.kind, objs[i])) shown[m++] = objs[i];
        ctl_sort_objects (shown, m);
        if ((o->out == S_OUT_TABLE || o->out == S_OUT_WIDE) && m > 0) {
            s_print_table (&st, shown, m); /* one aligned table, as without -w */
            fflush (stdout);
        } else
            for (size_t i = 0; i < m; i++) s_print_one (&st, shown[i]);
        if (m == 0 && q->n_names == 0) s_no_resources (ctl, q);
        free (shown);
        free (objs);
    }
    st.live = true;
    while (!s_stop) {
        r = hs_client_process (ctl->client, 200);
        if (r < 0 && r != -EINTR) {
            fprintf (stderr, "error: lost the bus: %s\n", strerror (-r));
            return 1;
        }
    }
    ctl_stream_table_destroy (&st.table);
    return 0;
}

int ctl_get_main (ctl_t *ctl, int argc, char **argv)
{
    s_opts_t o = {0};
    int first = ctl_parse (ctl, argc, argv, s_longs, "o:l:w", s_opt, &o);
    if (first < 0) return 1;
    if (ctl->help) {
        s_usage ();
        return 0;
    }
    if (first < argc && (!strcmp (argv[first], "components") ||
                         !strcmp (argv[first], "component") || !strcmp (argv[first], "cs")))
        return ctl_get_components (ctl, o.no_headers,
                                   o.out == S_OUT_JSON   ? HS_FMT_JSON
                                   : o.out == S_OUT_YAML ? HS_FMT_YAML
                                                         : -1);
    s_query_t q = {0};
    if (s_parse_query (ctl, argc - first, argv + first, &q) < 0) {
        s_query_free (&q);
        return 1;
    }
    ctl_selector_t *sel = NULL;
    if (o.selector_text) {
        char *err = NULL;
        sel = ctl_selector_parse (o.selector_text, &err);
        if (!sel) {
            fprintf (stderr, "error: %s\n", err);
            free (err);
            s_query_free (&q);
            return 1;
        }
    }
    int rc = o.watch ? s_watch (ctl, &o, &q, sel) : s_list (ctl, &o, &q, sel);
    ctl_selector_free (&sel);
    s_query_free (&q);
    return rc;
}
