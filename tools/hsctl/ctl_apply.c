/*  ctl_apply.c: `hsctl apply -f`, `hsctl create -f` and `hsctl replace -f`.
 *
 *  apply and create: every object from every -f goes into ONE command, so
 *  the store commits them all or none: a bad third document means nothing of
 *  the first two is written. Manifest errors stop us before anything is sent.
 *
 *  replace (kubectl's): one update per object, like kubectl, so one missing
 *  object does not stop the others; a resourceVersion in the file is a
 *  precondition. --subresource=status replaces the status only (how a status'
 *  owner, or a test standing in for one, reports it).
 */
#include "ctl.h"
#include "hs_manifest.h"

#include <string.h>

typedef enum { S_DRY_NONE = 0, S_DRY_CLIENT, S_DRY_SERVER } s_dry_t;

typedef struct {
    Hs__Op op;
    char **files;
    size_t n_files;
    bool recursive;
    s_dry_t dry;
} s_opts_t;

static void s_opts_done (s_opts_t *o)
{
    free (o->files);
}

enum { S_OPT_DRY_RUN = CTL_OPT_VERB_BASE, S_OPT_SUBRESOURCE };

static const struct option s_longs[] = {
    {"filename", required_argument, NULL, 'f'},
    {"recursive", no_argument, NULL, 'R'},
    {"dry-run", optional_argument, NULL, S_OPT_DRY_RUN},
    {NULL, 0, NULL, 0},
};

static int s_opt (ctl_t *ctl, void *arg, int c, const char *optarg)
{
    s_opts_t *o = arg;
    switch (c) {
    case 'f': ctl_add_file (&o->files, &o->n_files, optarg); return 0;
    case 'R': o->recursive = true; return 0;
    case S_OPT_DRY_RUN:
        if (!optarg || !strcmp (optarg, "client"))
            o->dry = S_DRY_CLIENT;
        else if (!strcmp (optarg, "server"))
            o->dry = S_DRY_SERVER;
        else if (!strcmp (optarg, "none"))
            o->dry = S_DRY_NONE;
        else {
            fprintf (stderr,
                     "error: Invalid dry-run value (%s). Must be \"none\", \"server\", or "
                     "\"client\".\n",
                     optarg);
            return -1;
        }
        return 0;
    default: return -1;
    }
}

static void s_usage (Hs__Op op)
{
    const char *verb = op == HS__OP__OP_APPLY ? "apply" : "create";
    printf ("%s\n\nUsage:\n  hsctl %s -f FILENAME [options]\n\n"
            "Options:\n"
            "  -f, --filename=[]   a file, a directory of *.yaml/*.yml/*.json, or - for stdin "
            "(repeatable)\n"
            "  -R, --recursive     process the directories given with -f recursively\n"
            "      --dry-run=server|client|none\n"
            "                      server: the store validates and answers, writes nothing;\n"
            "                      client: only print what would be sent\n\n"
            "All objects are sent as one command: the store writes all of them or none.\n",
            op == HS__OP__OP_APPLY
                ? "Apply a configuration to resources by file name or stdin: create what is "
                  "missing,\nreplace the labels, annotations and spec of what exists."
                : "Create resources from files or stdin; fails if any already exists.",
            verb);
}

static const char *s_result_word (Hs__Result r)
{
    switch (r) {
    case HS__RESULT__RESULT_CREATED: return "created";
    case HS__RESULT__RESULT_CONFIGURED: return "configured";
    case HS__RESULT__RESULT_UNCHANGED: return "unchanged";
    case HS__RESULT__RESULT_DELETED:
    case HS__RESULT__RESULT_DELETING: return "deleted";
    default: return "configured";
    }
}

/* Namespaces like kubectl: default the missing ones to -n, refuse a clash
 * with an explicit -n. */
static int s_fix_namespaces (ctl_t *ctl, hs_manifest_t *m)
{
    for (size_t i = 0; i < m->n; i++) {
        const hs_kind_info_t *info = hs_kind_info (hs_obj_kind (m->docs[i].object));
        Hs__ObjectMeta *meta = hs_obj_meta (m->docs[i].object);
        if (!info || !meta || !info->namespaced) continue;
        if (hs_empty (meta->namespace_))
            hs_pb_set_str (&meta->namespace_, ctl->ns);
        else if (ctl->ns_given && strcmp (meta->namespace_, ctl->ns)) {
            fprintf (stderr,
                     "error: the namespace from the provided object \"%s\" does not match the "
                     "namespace \"%s\". You must pass '--namespace=%s' to perform this "
                     "operation.\n",
                     meta->namespace_, ctl->ns, meta->namespace_);
            return -1;
        }
    }
    return 0;
}

/* --dry-run=client: say what would happen from a snapshot, send nothing. */
static int s_client_dry_run (ctl_t *ctl, const s_opts_t *o, const hs_manifest_t *m)
{
    hs_kind_t kinds[HS_KIND__COUNT];
    size_t nk = 0;
    for (size_t i = 0; i < m->n; i++) {
        hs_kind_t k = hs_obj_kind (m->docs[i].object);
        bool seen = false;
        for (size_t j = 0; j < nk; j++) seen |= kinds[j] == k;
        if (!seen) kinds[nk++] = k;
    }
    hs_db_snapshot_t snap = {0};
    if (ctl_snapshot (ctl, kinds, nk, &snap) < 0) return 1;
    for (size_t i = 0; i < m->n; i++) {
        const Hs__Object *obj = m->docs[i].object;
        const Hs__ObjectMeta *meta = hs_obj_meta (obj);
        _cleanup_free_ char *key = hs_obj_key_of (obj);
        bool exists = false;
        for (size_t j = 0; j < snap.n_objects && !exists; j++) {
            _cleanup_free_ char *k2 = hs_obj_key_of (snap.objects[j]);
            exists = !strcmp (key, k2);
        }
        _cleanup_free_ char *ref = hs_obj_ref (hs_obj_kind (obj), meta ? meta->name : "");
        if (exists && o->op == HS__OP__OP_CREATE) {
            const hs_kind_info_t *info = hs_kind_info (hs_obj_kind (obj));
            fprintf (stderr,
                     "Error from server (AlreadyExists): error when creating \"%s\": %s \"%s\" "
                     "already exists\n",
                     m->docs[i].file, info ? info->resource : "objects", meta ? meta->name : "");
            hs_db_snapshot_free (&snap);
            return 1;
        }
        printf ("%s %s (dry run)\n", ref, exists ? "configured" : "created");
    }
    hs_db_snapshot_free (&snap);
    return 0;
}

static int s_run (ctl_t *ctl, int argc, char **argv, Hs__Op op)
{
    _cleanup_ (s_opts_done) s_opts_t o = {.op = op};
    int first = ctl_parse (ctl, argc, argv, s_longs, "f:R", s_opt, &o);
    if (first < 0) return 1;
    if (ctl->help) {
        s_usage (op);
        return 0;
    }
    if (first < argc) {
        hs_buf_t b = {0};
        for (int i = first; i < argc; i++)
            hs_buf_printf (&b, "%s%s", i > first ? " " : "", argv[i]);
        _cleanup_free_ char *s = hs_buf_take (&b);
        ctl_usage_error (ctl, "Unexpected args: [%s]", s);
        return 1;
    }
    if (o.n_files == 0) {
        ctl_usage_error (ctl, "must specify one of -f and -k");
        return 1;
    }

    hs_manifest_t m = {0};
    if (ctl_load_files (o.files, o.n_files, o.recursive, &m) < 0) return 1;
    int rc = 1;
    if (m.n == 0) {
        fprintf (stderr, "error: no objects passed to %s\n",
                 op == HS__OP__OP_APPLY ? "apply" : "create");
        goto out;
    }
    if (s_fix_namespaces (ctl, &m) < 0) goto out;
    if (o.dry == S_DRY_CLIENT) {
        rc = s_client_dry_run (ctl, &o, &m);
        goto out;
    }

    Hs__Write **writes = hs_calloc (m.n, sizeof (Hs__Write *));
    for (size_t i = 0; i < m.n; i++) writes[i] = hs_write_new (op, hs_pb_dup (m.docs[i].object));
    Hs__Ack *ack = NULL;
    int r = ctl_call (ctl, writes, m.n, o.dry == S_DRY_SERVER, &ack);
    for (size_t i = 0; i < m.n; i++) hs_pb_free (writes[i]);
    free (writes);
    if (r < 0) goto out;

    const char *suffix = o.dry == S_DRY_SERVER ? " (server dry run)" : "";
    if (ack->code == HS__CODE__CODE_OK) {
        for (size_t i = 0; i < m.n; i++) {
            const Hs__Object *obj = m.docs[i].object;
            const Hs__WriteResult *wr = i < ack->n_results ? ack->results[i] : NULL;
            const Hs__ObjectMeta *meta = hs_obj_meta (obj);
            const char *name = wr && !hs_empty (wr->name) ? wr->name : meta ? meta->name : "";
            _cleanup_free_ char *ref = hs_obj_ref (hs_obj_kind (obj), name);
            const char *word = op == HS__OP__OP_CREATE
                                   ? "created"
                                   : s_result_word (wr ? wr->result : HS__RESULT__RESULT_NONE);
            printf ("%s %s%s\n", ref, word, suffix);
        }
        rc = 0;
    } else {
        const char *reason = hs_code_reason (ack->code);
        /* Unavailable and Internal are the store's own failures, of the whole
         * command: failed_index is then 0 by default and names nothing. */
        bool per_write =
            ack->code != HS__CODE__CODE_UNAVAILABLE && ack->code != HS__CODE__CODE_INTERNAL;
        int fi = per_write ? ack->failed_index : -1;
        if (fi >= 0 && (size_t)fi < m.n && op == HS__OP__OP_APPLY)
            fprintf (stderr,
                     "Error from server (%s): error when applying \"%s\" (document %d): %s\n",
                     reason, m.docs[fi].file, m.docs[fi].doc, ack->message);
        else if (fi >= 0 && (size_t)fi < m.n)
            fprintf (stderr, "Error from server (%s): error when creating \"%s\": %s\n", reason,
                     m.docs[fi].file, ack->message);
        else
            fprintf (stderr, "Error from server (%s): %s\n", reason, ack->message);
        if (op == HS__OP__OP_APPLY)
            fprintf (stderr, "error: nothing was applied: apply is all-or-nothing\n");
        else if (m.n > 1)
            fprintf (stderr, "error: nothing was created: create is all-or-nothing\n");
    }
    hs_pb_free (ack);
out:
    hs_manifest_free (&m);
    return rc;
}

int ctl_apply_main (ctl_t *ctl, int argc, char **argv)
{
    return s_run (ctl, argc, argv, HS__OP__OP_APPLY);
}

int ctl_create_main (ctl_t *ctl, int argc, char **argv)
{
    return s_run (ctl, argc, argv, HS__OP__OP_CREATE);
}

/* ------------------------------------------------------------------ replace */

typedef struct {
    char **files;
    size_t n_files;
    bool recursive;
    bool status;
} s_replace_opts_t;

static void s_replace_opts_done (s_replace_opts_t *o)
{
    free (o->files);
}

static const struct option s_replace_longs[] = {
    {"filename", required_argument, NULL, 'f'},
    {"recursive", no_argument, NULL, 'R'},
    {"subresource", required_argument, NULL, S_OPT_SUBRESOURCE},
    {NULL, 0, NULL, 0},
};

static int s_replace_opt (ctl_t *ctl, void *arg, int c, const char *optarg)
{
    s_replace_opts_t *o = arg;
    switch (c) {
    case 'f': ctl_add_file (&o->files, &o->n_files, optarg); return 0;
    case 'R': o->recursive = true; return 0;
    case S_OPT_SUBRESOURCE:
        if (strcmp (optarg, "status") != 0) {
            fprintf (stderr, "error: invalid subresource value: \"%s\". Must be one of [status]\n",
                     optarg);
            return -1;
        }
        o->status = true;
        return 0;
    default: return -1;
    }
}

int ctl_replace_main (ctl_t *ctl, int argc, char **argv)
{
    _cleanup_ (s_replace_opts_done) s_replace_opts_t o = {0};
    int first = ctl_parse (ctl, argc, argv, s_replace_longs, "f:R", s_replace_opt, &o);
    if (first < 0) return 1;
    if (ctl->help) {
        printf ("Replace a resource by file name or stdin: its labels, annotations and spec,\n"
                "or with --subresource=status its status only.\n\n"
                "Usage:\n  hsctl replace -f FILENAME [--subresource=status]\n\n"
                "Options:\n"
                "  -f, --filename=[]   a file, a directory of *.yaml/*.yml/*.json, or - for "
                "stdin (repeatable)\n"
                "  -R, --recursive     process the directories given with -f recursively\n"
                "      --subresource=status\n"
                "                      replace the status, not the spec\n\n"
                "A resourceVersion in the file must be the object's current one.\n");
        return 0;
    }
    if (first < argc) {
        ctl_usage_error (ctl, "Unexpected args: [%s]", argv[first]);
        return 1;
    }
    if (o.n_files == 0) {
        ctl_usage_error (ctl, "must specify --filename to replace");
        return 1;
    }
    hs_manifest_t m = {0};
    if (ctl_load_files (o.files, o.n_files, o.recursive, &m) < 0) return 1;
    bool failed = false;
    int rc = 0;
    if (m.n == 0) {
        fprintf (stderr, "error: no objects passed to replace\n");
        rc = 1;
    } else if (s_fix_namespaces (ctl, &m) < 0)
        rc = 1;
    for (size_t i = 0; rc == 0 && i < m.n; i++) {
        const Hs__Object *obj = m.docs[i].object;
        const Hs__ObjectMeta *meta = hs_obj_meta (obj);
        Hs__Write *w =
            hs_write_new (o.status ? HS__OP__OP_UPDATE_STATUS : HS__OP__OP_UPDATE, hs_pb_dup (obj));
        w->expected_revision = meta ? meta->resource_version : 0;
        Hs__Ack *ack = NULL;
        int r = ctl_call (ctl, &w, 1, false, &ack);
        hs_pb_free (w);
        if (r < 0) {
            rc = 1; /* no bus or no store: the others would fail alike */
            break;
        }
        if (ack->code == HS__CODE__CODE_OK) {
            _cleanup_free_ char *ref = hs_obj_ref (hs_obj_kind (obj), meta ? meta->name : "");
            printf ("%s replaced\n", ref);
        } else {
            /* go on with the others, fail at the end */
            fprintf (stderr, "Error from server (%s): error when replacing \"%s\": %s\n",
                     hs_code_reason (ack->code), m.docs[i].file, ack->message);
            failed = true;
        }
        hs_pb_free (ack);
    }
    hs_manifest_free (&m);
    return rc || failed ? 1 : 0;
}
