/*  ctl_describe.c: `hsctl describe KIND NAME...` (or TYPE/NAME, or KIND -l SEL).
 *
 *  One snapshot brings the object and what its description draws on (events,
 *  pods, replica sets); ctl_describe_fmt.c does the text. A node's
 *  description also shows its agent's last usage sample when one arrives
 *  on usage.<node>/ within 1.5 s (ctl_top.c follows the topic).
 */

#include "ctl.h"
#include "ctl_fmt.h"
#include "hs_usage.h"

#include <string.h>

#define S_USAGE_WAIT_MS 1500

/* o rendered, with its usage sample when o is a node that has one. */
static char *s_render (const Hs__Object *o, const Hs__Object *const *rel, size_t n, int64_t now,
                       hs_usage_table_t *usage)
{
    const Hs__NodeUsage *u = NULL;
    int64_t received = 0, now_mono = hs_mono_ns ();
    if (usage && hs_obj_kind (o) == HS_KIND_NODE) {
        const char *name = hs_obj_meta (o)->name;
        u = hs_usage_table_node (usage, name, now_mono);
        if (u) hs_usage_table_last (usage, name, &received);
    }
    return ctl_describe_render_usage (o, rel, n, now, u, now_mono - received);
}

/* Waits (once) for the usage of the nodes among objs. */
static void s_wait_usage (ctl_t *ctl, hs_usage_table_t *usage, const Hs__Object *const *objs,
                          size_t n)
{
    if (!usage) return;
    const char **names = hs_calloc (n + 1, sizeof *names);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (objs[i] && hs_obj_kind (objs[i]) == HS_KIND_NODE)
            names[k++] = hs_obj_meta (objs[i])->name;
    if (k) ctl_usage_wait (ctl, usage, names, k, S_USAGE_WAIT_MS);
    free (names);
}

static const struct option s_longs[] = {
    {"selector", required_argument, NULL, 'l'},
    {NULL, 0, NULL, 0},
};

static int s_opt (ctl_t *ctl, void *arg, int c, const char *optarg)
{
    if (c != 'l') return -1;
    *(const char **)arg = optarg;
    return 0;
}

static void s_usage (void)
{
    printf ("Show details of a specific resource, with the events about it.\n\n"
            "Usage:\n  hsctl describe TYPE NAME... | TYPE/NAME... | TYPE -l SELECTOR | TYPE\n");
}

static bool s_in_ns (ctl_t *ctl, hs_kind_t kind, const Hs__ObjectMeta *m)
{
    return !hs_kind_info (kind)->namespaced || ctl->all_ns || hs_streq (m->namespace_, ctl->ns);
}

int ctl_describe_main (ctl_t *ctl, int argc, char **argv)
{
    const char *selector = NULL;
    int first = ctl_parse (ctl, argc, argv, s_longs, "l:", s_opt, &selector);
    if (first < 0) return 1;
    if (ctl->help) {
        s_usage ();
        return 0;
    }
    int npos = argc - first;
    char **pos = argv + first;
    if (npos == 0) {
        ctl_usage_error (ctl, "Required resource not specified.");
        return 1;
    }
    /* (kind, name) pairs; a kind alone means "all of them" */
    hs_kind_t *kinds = hs_calloc ((size_t)npos + 1, sizeof (hs_kind_t));
    const char **names = hs_calloc ((size_t)npos + 1, sizeof (char *));
    size_t n = 0;
    int rc = 1;
    ctl_selector_t *sel = NULL;
    hs_db_snapshot_t snap = {0};
    hs_kind_t kind = HS_KIND_NONE;
    hs_usage_table_t *usage = NULL;
    if (strchr (pos[0], '/')) {
        for (int i = 0; i < npos; i++) {
            char *name;
            if (ctl_split_ref (pos[i], &kinds[n], &name) < 0) goto out;
            names[n++] = name;
        }
    } else {
        kind = hs_kind_parse (pos[0]);
        if (kind == HS_KIND_NONE) {
            fprintf (stderr, "error: the server doesn't have a resource type \"%s\"\n", pos[0]);
            goto out;
        }
        for (int i = 1; i < npos; i++) {
            kinds[n] = kind;
            names[n++] = pos[i];
        }
    }
    if (selector) {
        char *err = NULL;
        sel = ctl_selector_parse (selector, &err);
        if (!sel) {
            fprintf (stderr, "error: %s\n", err);
            free (err);
            goto out;
        }
    }
    bool nodes = kind == HS_KIND_NODE;
    for (size_t j = 0; j < n; j++) nodes |= kinds[j] == HS_KIND_NODE;
    /* subscribed before the snapshot: samples come while the store answers */
    if (nodes) {
        usage = hs_usage_table_new ();
        if (ctl_usage_follow (ctl, usage) < 0) goto out;
    }
    if (ctl_snapshot (ctl, NULL, 0, &snap) < 0) goto out;
    int64_t now = hs_now_ns ();
    const Hs__Object *const *rel = (const Hs__Object *const *)snap.objects;
    rc = 0;
    bool first_out = true;
    if (n == 0) {
        /* describe KIND [-l SEL]: every match */
        const Hs__Object **hits = hs_calloc (snap.n_objects + 1, sizeof (*hits));
        size_t nh = 0;
        for (size_t i = 0; i < snap.n_objects; i++) {
            const Hs__ObjectMeta *m = hs_obj_meta (snap.objects[i]);
            if (hs_obj_kind (snap.objects[i]) != kind || !m || !s_in_ns (ctl, kind, m)) continue;
            if (!ctl_selector_matches (sel, (void *const *)m->labels, m->n_labels)) continue;
            hits[nh++] = snap.objects[i];
        }
        ctl_sort_objects (hits, nh);
        s_wait_usage (ctl, usage, hits, nh);
        for (size_t i = 0; i < nh; i++) {
            _cleanup_free_ char *t = s_render (hits[i], rel, snap.n_objects, now, usage);
            printf ("%s%s", first_out ? "" : "\n\n", t);
            first_out = false;
        }
        if (nh == 0) {
            if (hs_kind_info (kind)->namespaced && !ctl->all_ns)
                fprintf (stderr, "No resources found in %s namespace.\n", ctl->ns);
            else
                fprintf (stderr, "No resources found\n");
        }
        free (hits);
        goto out;
    }
    const Hs__Object **found_all = hs_calloc (n + 1, sizeof *found_all);
    for (size_t j = 0; j < n; j++) {
        for (size_t i = 0; i < snap.n_objects && !found_all[j]; i++) {
            const Hs__ObjectMeta *m = hs_obj_meta (snap.objects[i]);
            if (hs_obj_kind (snap.objects[i]) == kinds[j] && m && hs_streq (m->name, names[j]) &&
                s_in_ns (ctl, kinds[j], m))
                found_all[j] = snap.objects[i];
        }
    }
    s_wait_usage (ctl, usage, found_all, n);
    free (found_all);
    for (size_t j = 0; j < n; j++) {
        const Hs__Object *found = NULL;
        for (size_t i = 0; i < snap.n_objects && !found; i++) {
            const Hs__ObjectMeta *m = hs_obj_meta (snap.objects[i]);
            if (hs_obj_kind (snap.objects[i]) == kinds[j] && m && hs_streq (m->name, names[j]) &&
                s_in_ns (ctl, kinds[j], m))
                found = snap.objects[i];
        }
        if (!found) {
            fprintf (stderr, "Error from server (NotFound): %s \"%s\" not found\n",
                     hs_kind_info (kinds[j])->resource, names[j]);
            rc = 1;
            continue;
        }
        _cleanup_free_ char *t = s_render (found, rel, snap.n_objects, now, usage);
        printf ("%s%s", first_out ? "" : "\n\n", t);
        first_out = false;
    }
out:
    hs_db_snapshot_free (&snap);
    hs_usage_table_destroy (&usage);
    ctl_selector_free (&sel);
    free (kinds);
    free (names);
    return rc;
}
