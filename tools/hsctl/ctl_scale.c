/*  ctl_scale.c: `hsctl scale TYPE NAME... | TYPE/NAME... --replicas=N`.
 *
 *  Sets spec.replicas of a Deployment or ReplicaSet (a Job's
 *  spec.parallelism, as kubectl does) with an update naming the revision it
 *  read; when the object changed meanwhile (a controller writing it), it
 *  reads it again and retries. --current-replicas=N is kubectl's
 *  precondition.
 */
#include "ctl.h"

#include <string.h>

#define S_TRIES 20

enum { S_OPT_REPLICAS = CTL_OPT_VERB_BASE, S_OPT_CURRENT };

typedef struct {
    int64_t replicas, current; /* -1: not given */
} s_opts_t;

static const struct option s_longs[] = {
    {"replicas", required_argument, NULL, S_OPT_REPLICAS},
    {"current-replicas", required_argument, NULL, S_OPT_CURRENT},
    {NULL, 0, NULL, 0},
};

static int s_opt (ctl_t *ctl, void *arg, int c, const char *optarg)
{
    s_opts_t *o = arg;
    (void)ctl;
    int64_t v;
    const char *flag = c == S_OPT_REPLICAS ? "--replicas" : "--current-replicas";
    if (c != S_OPT_REPLICAS && c != S_OPT_CURRENT) return -1;
    if (hs_parse_i64 (optarg, &v) < 0 || v < (c == S_OPT_CURRENT ? -1 : 0) || v > INT32_MAX) {
        fprintf (stderr, "error: invalid argument \"%s\" for \"%s\" flag\n", optarg, flag);
        return -1;
    }
    if (c == S_OPT_REPLICAS)
        o->replicas = v;
    else
        o->current = v;
    return 0;
}

static void s_usage (void)
{
    printf ("Set a new size for a deployment, replica set or job.\n\n"
            "Usage:\n  hsctl scale [--current-replicas=N] --replicas=N (TYPE NAME... | "
            "TYPE/NAME...)\n\n"
            "Options:\n"
            "      --replicas=N          the new size (a job's parallelism)\n"
            "      --current-replicas=N  only if the current size is N\n");
}

static const Hs__Object *s_find (const hs_db_snapshot_t *snap, hs_kind_t kind, const char *ns,
                                 const char *name)
{
    for (size_t i = 0; i < snap->n_objects; i++) {
        const Hs__ObjectMeta *m = hs_obj_meta (snap->objects[i]);
        if (hs_obj_kind (snap->objects[i]) == kind && m && hs_streq (m->name, name) &&
            hs_streq (m->namespace_, ns))
            return snap->objects[i];
    }
    return NULL;
}

/* The field scale sets, created if missing. */
static Hs__Int32Value **s_field (Hs__Object *o)
{
    switch (hs_obj_kind (o)) {
    case HS_KIND_DEPLOYMENT:
        if (!o->deployment->spec)
            o->deployment->spec = hs_pb_new (&hs__deployment_spec__descriptor);
        return &o->deployment->spec->replicas;
    case HS_KIND_REPLICASET:
        if (!o->replica_set->spec)
            o->replica_set->spec = hs_pb_new (&hs__replica_set_spec__descriptor);
        return &o->replica_set->spec->replicas;
    case HS_KIND_JOB:
        if (!o->job->spec) o->job->spec = hs_pb_new (&hs__job_spec__descriptor);
        return &o->job->spec->parallelism;
    default: return NULL;
    }
}

/* 0 scaled (printed), 1 failed (printed). */
static int s_scale_one (ctl_t *ctl, const s_opts_t *o, hs_kind_t kind, const char *name)
{
    const hs_kind_info_t *info = hs_kind_info (kind);
    _cleanup_free_ char *ref = hs_obj_ref (kind, name);
    for (int attempt = 0; attempt < S_TRIES; attempt++) {
        hs_db_snapshot_t snap = {0};
        if (ctl_snapshot (ctl, &kind, 1, &snap) < 0) return 1;
        const Hs__Object *cur = s_find (&snap, kind, ctl->ns, name);
        if (!cur) {
            fprintf (stderr, "Error from server (NotFound): %s \"%s\" not found\n", info->resource,
                     name);
            hs_db_snapshot_free (&snap);
            return 1;
        }
        Hs__Object *upd = hs_pb_dup (cur);
        int64_t rev = hs_obj_meta (cur)->resource_version;
        hs_db_snapshot_free (&snap);
        Hs__Int32Value **f = s_field (upd);
        int32_t was = *f ? (*f)->value : 1;
        if (o->current >= 0 && was != o->current) {
            fprintf (stderr, "error: Expected replicas to be %lld, was %d\n", (long long)o->current,
                     was);
            hs_pb_free (upd);
            return 1;
        }
        if (!*f) *f = hs_pb_new (&hs__int32_value__descriptor);
        (*f)->value = (int32_t)o->replicas;
        Hs__Write *w = hs_write_new (HS__OP__OP_UPDATE, upd);
        w->expected_revision = rev;
        Hs__Ack *ack = NULL;
        int r = ctl_call (ctl, &w, 1, false, &ack);
        hs_pb_free (w);
        if (r < 0) return 1;
        Hs__Code code = ack->code;
        if (code == HS__CODE__CODE_OK)
            printf ("%s scaled\n", ref);
        else if (code != HS__CODE__CODE_CONFLICT)
            fprintf (stderr, "Error from server (%s): %s\n", hs_code_reason (code), ack->message);
        hs_pb_free (ack);
        if (code != HS__CODE__CODE_CONFLICT) return code == HS__CODE__CODE_OK ? 0 : 1;
    }
    fprintf (stderr,
             "Error from server (Conflict): Operation cannot be fulfilled on %s \"%s\": the "
             "object has been modified; please apply your changes to the latest version and try "
             "again\n",
             info->resource, name);
    return 1;
}

static bool s_scalable (hs_kind_t k)
{
    return k == HS_KIND_DEPLOYMENT || k == HS_KIND_REPLICASET || k == HS_KIND_JOB;
}

int ctl_scale_main (ctl_t *ctl, int argc, char **argv)
{
    s_opts_t o = {.replicas = -1, .current = -1};
    int first = ctl_parse (ctl, argc, argv, s_longs, "", s_opt, &o);
    if (first < 0) return 1;
    if (ctl->help) {
        s_usage ();
        return 0;
    }
    if (o.replicas < 0) {
        ctl_usage_error (ctl, "required flag(s) \"replicas\" not set");
        return 1;
    }
    if (first >= argc) {
        ctl_usage_error (ctl, "You must specify the type of resource to scale.");
        return 1;
    }
    int rc = 0;
    if (!strchr (argv[first], '/')) {
        /* TYPE NAME... */
        hs_kind_t kind = hs_kind_parse (argv[first]);
        if (kind == HS_KIND_NONE) {
            fprintf (stderr, "error: the server doesn't have a resource type \"%s\"\n",
                     argv[first]);
            return 1;
        }
        if (!s_scalable (kind)) {
            fprintf (stderr, "error: cannot scale a %s: only deployments, replicasets and jobs\n",
                     hs_kind_info (kind)->name);
            return 1;
        }
        if (first + 1 >= argc) {
            ctl_usage_error (ctl, "resource(s) were provided, but no name was specified");
            return 1;
        }
        for (int i = first + 1; i < argc; i++)
            if (s_scale_one (ctl, &o, kind, argv[i]) != 0) rc = 1;
        return rc;
    }
    for (int i = first; i < argc; i++) {
        hs_kind_t kind;
        char *name;
        if (ctl_split_ref (argv[i], &kind, &name) < 0) {
            rc = 1;
            continue;
        }
        if (!s_scalable (kind)) {
            fprintf (stderr, "error: cannot scale a %s: only deployments, replicasets and jobs\n",
                     hs_kind_info (kind)->name);
            rc = 1;
            continue;
        }
        if (s_scale_one (ctl, &o, kind, name) != 0) rc = 1;
    }
    return rc;
}
