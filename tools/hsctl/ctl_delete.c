/*  ctl_delete.c: `hsctl delete KIND NAME... | TYPE/NAME... | -f FILE | -l SEL | --all`.
 *
 *  Named objects and -f objects are deleted one command each, like kubectl
 *  (one missing name does not stop the others); a selector's matches go in
 *  one command.
 */
#include "ctl.h"
#include "ctl_fmt.h"
#include "hs_manifest.h"

#include <string.h>

enum {
    S_OPT_GRACE = CTL_OPT_VERB_BASE,
    S_OPT_NOW,
    S_OPT_FORCE,
    S_OPT_CASCADE,
    S_OPT_IGNORE_NOT_FOUND,
    S_OPT_ALL,
};

typedef struct {
    char **files;
    size_t n_files;
    bool recursive;
    const char *selector;
    bool all;
    int64_t grace; /* -1: the object's own */
    bool now;
    bool force;
    const char *policy; /* "" | Background | Orphan | Foreground */
    bool ignore_not_found;
} s_opts_t;

static void s_opts_done (s_opts_t *o)
{
    free (o->files);
}

static const struct option s_longs[] = {
    {"filename", required_argument, NULL, 'f'},
    {"recursive", no_argument, NULL, 'R'},
    {"selector", required_argument, NULL, 'l'},
    {"grace-period", required_argument, NULL, S_OPT_GRACE},
    {"now", no_argument, NULL, S_OPT_NOW},
    {"force", no_argument, NULL, S_OPT_FORCE},
    {"cascade", optional_argument, NULL, S_OPT_CASCADE},
    {"ignore-not-found", optional_argument, NULL, S_OPT_IGNORE_NOT_FOUND},
    {"all", no_argument, NULL, S_OPT_ALL},
    {NULL, 0, NULL, 0},
};

static int s_opt (ctl_t *ctl, void *arg, int c, const char *optarg)
{
    s_opts_t *o = arg;
    switch (c) {
    case 'f': ctl_add_file (&o->files, &o->n_files, optarg); return 0;
    case 'R': o->recursive = true; return 0;
    case 'l': o->selector = optarg; return 0;
    case S_OPT_ALL: o->all = true; return 0;
    case S_OPT_GRACE:
        if (hs_parse_i64 (optarg, &o->grace) < 0) {
            fprintf (stderr, "error: invalid argument \"%s\" for \"--grace-period\" flag\n",
                     optarg);
            return -1;
        }
        return 0;
    case S_OPT_NOW: o->now = true; return 0;
    case S_OPT_FORCE: o->force = true; return 0;
    case S_OPT_IGNORE_NOT_FOUND:
        o->ignore_not_found = !optarg || !strcmp (optarg, "true");
        return 0;
    case S_OPT_CASCADE:
        if (!optarg || !strcmp (optarg, "background") || !strcmp (optarg, "true"))
            o->policy = "Background";
        else if (!strcmp (optarg, "orphan") || !strcmp (optarg, "false"))
            o->policy = "Orphan";
        else if (!strcmp (optarg, "foreground"))
            o->policy = "Foreground";
        else {
            fprintf (stderr,
                     "error: invalid cascade value (%s). Must be \"background\", "
                     "\"foreground\", or \"orphan\"\n",
                     optarg);
            return -1;
        }
        return 0;
    default: return -1;
    }
}

static void s_usage (void)
{
    printf ("Delete resources by file names, stdin, resources and names, or by label "
            "selector.\n\n"
            "Usage:\n  hsctl delete TYPE NAME... | TYPE/NAME... | -f FILE | TYPE -l SELECTOR | "
            "TYPE --all\n\n"
            "Options:\n"
            "  -f, --filename=[]      delete the objects a manifest names (repeatable; -R "
            "recurses)\n"
            "  -l, --selector=SEL     delete every object of TYPE matching the selector\n"
            "      --all              delete every object of TYPE in the namespace\n"
            "      --grace-period=N   seconds a pod gets to stop (-1: its own setting)\n"
            "      --now              --grace-period=1\n"
            "      --force            remove immediately (grace period 0)\n"
            "      --cascade=background|orphan|foreground\n"
            "      --ignore-not-found  a missing object is not an error\n");
}

/* "pod", "deployment.apps": kubectl's delete messages. */
static char *s_kind_word (hs_kind_t k)
{
    const hs_kind_info_t *info = hs_kind_info (k);
    if (!hs_empty (info->group)) return hs_sprintf ("%s.%s", info->name, info->group);
    return hs_strdup (info->name);
}

static Hs__Write *s_write (const s_opts_t *o, hs_kind_t kind, const char *ns, const char *name)
{
    Hs__Write *w = hs_write_target (HS__OP__OP_DELETE, kind, ns, name);
    int64_t grace = o->grace;
    if (grace >= 0) {
        w->grace_period_seconds = hs_pb_new (&hs__int64_value__descriptor);
        w->grace_period_seconds->value = grace;
    }
    if (!hs_empty (o->policy)) hs_pb_set_str (&w->propagation_policy, o->policy);
    return w;
}

static void s_print_deleted (const s_opts_t *o, hs_kind_t kind, const char *name)
{
    _cleanup_free_ char *word = s_kind_word (kind);
    bool forced = o->force && o->grace == 0;
    printf ("%s \"%s\" %sdeleted\n", word, name, forced ? "force " : "");
}

/* Deletes one object; 0, or 1 after printing the error. `file` names the
 * manifest it came from, or NULL. */
static int s_delete_one (ctl_t *ctl, const s_opts_t *o, hs_kind_t kind, const char *ns,
                         const char *name, const char *file)
{
    Hs__Write *w = s_write (o, kind, ns, name);
    Hs__Ack *ack = NULL;
    int r = ctl_call (ctl, &w, 1, false, &ack);
    hs_pb_free (w);
    if (r < 0) return -1; /* the store is not there: stop */
    int rc = 0;
    if (ack->code == HS__CODE__CODE_OK)
        s_print_deleted (o, kind, name);
    else if (ack->code == HS__CODE__CODE_NOT_FOUND) {
        if (!o->ignore_not_found) {
            if (file)
                fprintf (stderr,
                         "Error from server (NotFound): error when deleting \"%s\": %s \"%s\" "
                         "not found\n",
                         file, hs_kind_info (kind)->resource, name);
            else
                fprintf (stderr, "Error from server (NotFound): %s \"%s\" not found\n",
                         hs_kind_info (kind)->resource, name);
            rc = 1;
        }
    } else {
        fprintf (stderr, "Error from server (%s): %s\n", hs_code_reason (ack->code), ack->message);
        rc = 1;
    }
    hs_pb_free (ack);
    return rc;
}

static const char *s_ns_for (ctl_t *ctl, hs_kind_t kind)
{
    return hs_kind_info (kind)->namespaced ? ctl->ns : "";
}

static int s_by_files (ctl_t *ctl, const s_opts_t *o)
{
    hs_manifest_t m = {0};
    if (ctl_load_files (o->files, o->n_files, o->recursive, &m) < 0) return 1;
    int rc = 0;
    for (size_t i = 0; i < m.n; i++) {
        const Hs__ObjectMeta *meta = hs_obj_meta (m.docs[i].object);
        hs_kind_t kind = hs_obj_kind (m.docs[i].object);
        const char *ns = hs_kind_info (kind)->namespaced && meta && !hs_empty (meta->namespace_)
                             ? meta->namespace_
                             : s_ns_for (ctl, kind);
        int r = s_delete_one (ctl, o, kind, ns, meta ? meta->name : "", m.docs[i].file);
        if (r < 0) {
            rc = 1;
            break;
        }
        rc |= r;
    }
    hs_manifest_free (&m);
    return rc;
}

static int s_by_selector (ctl_t *ctl, const s_opts_t *o, hs_kind_t kind)
{
    char *err = NULL;
    ctl_selector_t *sel = ctl_selector_parse (o->all ? "" : o->selector, &err);
    if (!sel) {
        fprintf (stderr, "error: %s\n", err);
        free (err);
        return 1;
    }
    hs_db_snapshot_t snap = {0};
    if (ctl_snapshot (ctl, &kind, 1, &snap) < 0) {
        ctl_selector_free (&sel);
        return 1;
    }
    bool namespaced = hs_kind_info (kind)->namespaced;
    const Hs__Object **hits = hs_calloc (snap.n_objects + 1, sizeof (*hits));
    size_t n = 0;
    for (size_t i = 0; i < snap.n_objects; i++) {
        const Hs__ObjectMeta *m = hs_obj_meta (snap.objects[i]);
        if (!m || hs_obj_kind (snap.objects[i]) != kind) continue;
        if (namespaced && !ctl->all_ns && !hs_streq (m->namespace_, ctl->ns)) continue;
        if (!ctl_selector_matches (sel, (void *const *)m->labels, m->n_labels)) continue;
        hits[n++] = snap.objects[i];
    }
    ctl_selector_free (&sel);
    int rc = 0;
    if (n == 0) {
        printf ("No resources found\n"); /* kubectl delete says it on stdout */
        goto out;
    }
    ctl_sort_objects (hits, n);
    Hs__Write **writes = hs_calloc (n, sizeof (*writes));
    for (size_t i = 0; i < n; i++) {
        const Hs__ObjectMeta *m = hs_obj_meta (hits[i]);
        writes[i] = s_write (o, kind, m->namespace_, m->name);
    }
    Hs__Ack *ack = NULL;
    int r = ctl_call (ctl, writes, n, false, &ack);
    for (size_t i = 0; i < n; i++) hs_pb_free (writes[i]);
    free (writes);
    if (r < 0) {
        rc = 1;
        goto out;
    }
    if (ack->code == HS__CODE__CODE_OK) {
        for (size_t i = 0; i < n; i++) s_print_deleted (o, kind, hs_obj_meta (hits[i])->name);
    } else {
        fprintf (stderr, "Error from server (%s): %s\n", hs_code_reason (ack->code), ack->message);
        rc = 1;
    }
    hs_pb_free (ack);
out:
    free (hits);
    hs_db_snapshot_free (&snap);
    return rc;
}

int ctl_delete_main (ctl_t *ctl, int argc, char **argv)
{
    _cleanup_ (s_opts_done) s_opts_t o = {.grace = -1};
    int first = ctl_parse (ctl, argc, argv, s_longs, "f:Rl:", s_opt, &o);
    if (first < 0) return 1;
    if (ctl->help) {
        s_usage ();
        return 0;
    }
    /* kubectl's rules: --now is --grace-period=1; --grace-period=0 without
     * --force is turned into 1 so nothing is removed by accident; --force
     * alone means 0. */
    if (o.now) {
        if (o.grace != -1) {
            fprintf (stderr, "error: --now and --grace-period cannot be specified together\n");
            return 1;
        }
        o.grace = 1;
    }
    if (o.grace == 0 && !o.force) o.grace = 1;
    if (o.force && o.grace < 0) o.grace = 0;
    if (o.force && o.grace == 0)
        fprintf (stderr, "Warning: Immediate deletion does not wait for confirmation that the "
                         "running resource has been terminated. The resource may continue to "
                         "run on the cluster indefinitely.\n");
    int npos = argc - first;
    char **pos = argv + first;
    if (o.n_files) {
        if (npos) {
            ctl_usage_error (ctl, "cannot specify both file names and resource arguments");
            return 1;
        }
        return s_by_files (ctl, &o);
    }
    if (npos == 0) {
        ctl_usage_error (ctl, "You must provide one or more resources by argument or filename.");
        return 1;
    }
    /* TYPE/NAME form */
    if (strchr (pos[0], '/')) {
        int rc = 0;
        for (int i = 0; i < npos; i++) {
            hs_kind_t k;
            char *name;
            if (ctl_split_ref (pos[i], &k, &name) < 0) return 1;
            int r = s_delete_one (ctl, &o, k, s_ns_for (ctl, k), name, NULL);
            if (r < 0) return 1;
            rc |= r;
        }
        return rc;
    }
    hs_kind_t kind = hs_kind_parse (pos[0]);
    if (kind == HS_KIND_NONE) {
        fprintf (stderr, "error: the server doesn't have a resource type \"%s\"\n", pos[0]);
        return 1;
    }
    if (o.selector || o.all) {
        if (npos > 1) {
            ctl_usage_error (ctl, "name cannot be provided when a selector is specified");
            return 1;
        }
        return s_by_selector (ctl, &o, kind);
    }
    if (npos == 1) {
        ctl_usage_error (ctl, "resource(s) were provided, but no name was specified");
        return 1;
    }
    int rc = 0;
    for (int i = 1; i < npos; i++) {
        int r = s_delete_one (ctl, &o, kind, s_ns_for (ctl, kind), pos[i], NULL);
        if (r < 0) return 1;
        rc |= r;
    }
    return rc;
}
