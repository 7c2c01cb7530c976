/*  ctl_rollout.c: `hsctl rollout status|history|undo|pause|resume|restart
 *  deployment/NAME`.
 *
 *  status  watches the Deployment and prints kubectl's lines until the
 *          rollout finished (exit 0), exceeded its progress deadline or
 *          --timeout passed (exit 1).
 *  history the ReplicaSets the Deployment controls, by their revision
 *          annotation, with kubernetes.io/change-cause.
 *  undo    copies the pod template of a revision's ReplicaSet (the one
 *          before the current, or --to-revision) into the Deployment, with
 *          an update naming the revision it read (retried on Conflict).
 *  pause, resume  set or clear spec.paused; restart stamps the template with
 *          kubectl.kubernetes.io/restartedAt, so a new ReplicaSet rolls out.
 *          All three write the way undo does.
 */
#include "ctl.h"
#include "hs_rollout.h"
#include "hs_workload.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define S_TRIES 20

enum { S_OPT_TIMEOUT = CTL_OPT_VERB_BASE, S_OPT_WATCH, S_OPT_REVISION, S_OPT_TO_REVISION };

typedef struct {
    int64_t timeout_ms; /* 0: for ever */
    bool watch;
    int64_t revision, to_revision;
} s_opts_t;

static const struct option s_longs[] = {
    {"timeout", required_argument, NULL, S_OPT_TIMEOUT},
    {"watch", optional_argument, NULL, S_OPT_WATCH},
    {"revision", required_argument, NULL, S_OPT_REVISION},
    {"to-revision", required_argument, NULL, S_OPT_TO_REVISION},
    {NULL, 0, NULL, 0},
};

/* Go's durations as kubectl takes them ("90s", "2m", "1m30s", "500ms"); a
 * bare number is seconds. */
static int s_parse_duration (const char *s, int64_t *ret_ms)
{
    double total = 0;
    const char *p = s;
    if (!*p) return -1;
    while (*p) {
        char *end;
        double v = strtod (p, &end);
        if (end == p || !isfinite (v) || v < 0) return -1;
        p = end;
        double unit = 1000;
        if (!strncmp (p, "ms", 2)) {
            unit = 1;
            p += 2;
        } else if (*p == 's') {
            p++;
        } else if (*p == 'm') {
            unit = 60000;
            p++;
        } else if (*p == 'h') {
            unit = 3600000;
            p++;
        } else if (*p) {
            return -1;
        }
        total += v * unit;
    }
    if (total > 1e12) return -1;
    *ret_ms = (int64_t)total;
    return 0;
}

static int s_opt (ctl_t *ctl, void *arg, int c, const char *optarg)
{
    s_opts_t *o = arg;
    (void)ctl;
    switch (c) {
    case S_OPT_TIMEOUT:
        if (s_parse_duration (optarg, &o->timeout_ms) < 0) {
            fprintf (stderr,
                     "error: invalid argument \"%s\" for \"--timeout\" flag: use a "
                     "duration (90s, 2m, 500ms)\n",
                     optarg);
            return -1;
        }
        return 0;
    case S_OPT_WATCH: o->watch = !optarg || !strcmp (optarg, "true"); return 0;
    case S_OPT_REVISION:
    case S_OPT_TO_REVISION: {
        int64_t v;
        if (hs_parse_i64 (optarg, &v) < 0 || v < 0) {
            fprintf (stderr, "error: invalid argument \"%s\" for \"--%s\" flag\n", optarg,
                     c == S_OPT_REVISION ? "revision" : "to-revision");
            return -1;
        }
        if (c == S_OPT_REVISION)
            o->revision = v;
        else
            o->to_revision = v;
        return 0;
    }
    default: return -1;
    }
}

static void s_usage (void)
{
    printf ("Manage the rollout of a deployment.\n\n"
            "Usage:\n"
            "  hsctl rollout status deployment/NAME [--timeout=DURATION] [--watch=false]\n"
            "  hsctl rollout history deployment/NAME [--revision=N]\n"
            "  hsctl rollout undo deployment/NAME [--to-revision=N]\n"
            "  hsctl rollout pause deployment/NAME\n"
            "  hsctl rollout resume deployment/NAME\n"
            "  hsctl rollout restart deployment/NAME\n");
}

/* ------------------------------------------------------------------ reading */

typedef struct {
    hs_db_snapshot_t snap;
    const Hs__Object *d;
    const Hs__Object **rs; /* controlled by d, by revision */
    size_t n_rs;
} s_view_t;

static void s_view_free (s_view_t *v)
{
    free (v->rs);
    hs_db_snapshot_free (&v->snap);
    *v = (s_view_t){0};
}

static int s_cmp_rev (const void *a, const void *b)
{
    int64_t x = hs_rollout_revision ((*(const Hs__Object *const *)a)->replica_set->metadata);
    int64_t y = hs_rollout_revision ((*(const Hs__Object *const *)b)->replica_set->metadata);
    return x < y ? -1 : x > y;
}

/* The Deployment and its ReplicaSets; 0, or 1 (printed). */
static int s_view (ctl_t *ctl, const char *name, s_view_t *v)
{
    *v = (s_view_t){0};
    hs_kind_t kinds[] = {HS_KIND_DEPLOYMENT, HS_KIND_REPLICASET};
    if (ctl_snapshot (ctl, kinds, 2, &v->snap) < 0) return 1;
    for (size_t i = 0; i < v->snap.n_objects; i++) {
        const Hs__Object *o = v->snap.objects[i];
        const Hs__ObjectMeta *m = hs_obj_meta (o);
        if (hs_obj_kind (o) == HS_KIND_DEPLOYMENT && m && hs_streq (m->name, name) &&
            hs_streq (m->namespace_, ctl->ns))
            v->d = o;
    }
    if (!v->d) {
        fprintf (stderr, "Error from server (NotFound): deployments.apps \"%s\" not found\n", name);
        s_view_free (v);
        return 1;
    }
    const char *uid = v->d->deployment->metadata->uid;
    v->rs = hs_calloc (v->snap.n_objects + 1, sizeof *v->rs);
    for (size_t i = 0; i < v->snap.n_objects; i++) {
        const Hs__Object *o = v->snap.objects[i];
        if (hs_obj_kind (o) != HS_KIND_REPLICASET || !o->replica_set->metadata) continue;
        const Hs__ObjectMeta *m = o->replica_set->metadata;
        if (hs_controlled_by (m, uid)) v->rs[v->n_rs++] = o;
    }
    qsort (v->rs, v->n_rs, sizeof *v->rs, s_cmp_rev);
    return 0;
}

/* "deployment/NAME" (or "deployments/NAME", "deploy/NAME", "TYPE NAME"); 0 or 1 (printed). */
static int s_target (ctl_t *ctl, int argc, char **argv, int first, const char *sub, char **ret_name)
{
    if (first >= argc) {
        ctl_usage_error (ctl, "required resource not specified");
        return 1;
    }
    hs_kind_t kind;
    char *name;
    if (strchr (argv[first], '/')) {
        if (ctl_split_ref (argv[first], &kind, &name) < 0) return 1;
    } else {
        kind = hs_kind_parse (argv[first]);
        if (kind == HS_KIND_NONE) {
            fprintf (stderr, "error: the server doesn't have a resource type \"%s\"\n",
                     argv[first]);
            return 1;
        }
        if (first + 1 >= argc) {
            ctl_usage_error (ctl, "required resource not specified");
            return 1;
        }
        name = argv[first + 1];
    }
    if (kind != HS_KIND_DEPLOYMENT) {
        fprintf (stderr, "error: rollout %s is only supported for deployments, not %s\n", sub,
                 hs_kind_info (kind)->plural);
        return 1;
    }
    *ret_name = name;
    return 0;
}

/* ------------------------------------------------------------------ status */

/* kubectl's DeploymentStatusViewer: the line to print, *done, or an error
 * (returns -1 with *ret_line the message). */
static int s_status_line (const Hs__Object *o, char **ret_line, bool *done)
{
    const Hs__Deployment *d = o->deployment;
    const Hs__DeploymentStatus *st = d->status;
    Hs__DeploymentStatus zero = HS__DEPLOYMENT_STATUS__INIT;
    if (!st) st = &zero;
    const char *name = d->metadata->name;
    *done = false;
    if (d->metadata->generation > st->observed_generation) {
        *ret_line = hs_strdup ("Waiting for deployment spec update to be observed...");
        return 0;
    }
    for (size_t i = 0; i < st->n_conditions; i++)
        if (hs_streq (st->conditions[i]->type, "Progressing") &&
            hs_streq (st->conditions[i]->reason, "ProgressDeadlineExceeded")) {
            *ret_line = hs_sprintf ("deployment \"%s\" exceeded its progress deadline", name);
            return -1;
        }
    int32_t want = d->spec && d->spec->replicas ? d->spec->replicas->value : 1;
    if (st->updated_replicas < want)
        *ret_line = hs_sprintf ("Waiting for deployment \"%s\" rollout to finish: %d out of %d "
                                "new replicas have been updated...",
                                name, st->updated_replicas, want);
    else if (st->replicas > st->updated_replicas)
        *ret_line = hs_sprintf ("Waiting for deployment \"%s\" rollout to finish: %d old "
                                "replicas are pending termination...",
                                name, st->replicas - st->updated_replicas);
    else if (st->available_replicas < st->updated_replicas)
        *ret_line = hs_sprintf ("Waiting for deployment \"%s\" rollout to finish: %d of %d "
                                "updated replicas are available...",
                                name, st->available_replicas, st->updated_replicas);
    else {
        *ret_line = hs_sprintf ("deployment \"%s\" successfully rolled out", name);
        *done = true;
    }
    return 0;
}

static int s_status (ctl_t *ctl, const s_opts_t *o, const char *name)
{
    if (ctl_connect (ctl) < 0) return 1;
    hs_kind_t kind = HS_KIND_DEPLOYMENT;
    hs_watch_opts_t wo = {.kinds = &kind, .n_kinds = 1};
    hs_watch_t *w = hs_client_watch (ctl->client, &wo);
    int r = w ? hs_watch_wait_synced (w, ctl->timeout_ms) : -EINVAL;
    if (r == -ETIMEDOUT) {
        ctl_print_store_timeout (ctl);
        return 1;
    }
    if (r < 0) {
        fprintf (stderr, "error: cannot watch deployments: %s\n", strerror (-r));
        return 1;
    }
    int64_t deadline = o->timeout_ms > 0 ? hs_mono_ns () + o->timeout_ms * 1000000 : INT64_MAX;
    char *last = NULL;
    int rc = 1;
    for (;;) {
        const Hs__Object *d = hs_watch_get (w, HS_KIND_DEPLOYMENT, ctl->ns, name);
        if (!d) {
            fprintf (stderr, "Error from server (NotFound): deployments.apps \"%s\" not found\n",
                     name);
            break;
        }
        char *line = NULL;
        bool done = false;
        if (s_status_line (d, &line, &done) < 0) {
            fprintf (stderr, "error: %s\n", line);
            free (line);
            break;
        }
        if (!last || strcmp (last, line) != 0) {
            printf ("%s\n", line);
            fflush (stdout);
        }
        free (last);
        last = line;
        if (done) {
            rc = 0;
            break;
        }
        if (!o->watch) {
            rc = 0;
            break;
        }
        int64_t left = deadline - hs_mono_ns ();
        if (left <= 0) {
            fprintf (stderr, "error: timed out waiting for the condition\n");
            break;
        }
        int ms = left > 200000000 ? 200 : (int)(left / 1000000) + 1;
        r = hs_client_process (ctl->client, ms);
        if (r == -EINTR) break;
        if (r < 0) {
            fprintf (stderr, "error: the bus failed: %s\n", strerror (-r));
            break;
        }
    }
    free (last);
    return rc;
}

/* ------------------------------------------------------------------ history */

static const char *s_ann (const Hs__ObjectMeta *m, const char *key)
{
    return hs_pb_map_get ((void *const *)m->annotations, m->n_annotations, key);
}

static void s_print_template (const Hs__PodTemplateSpec *t)
{
    printf ("Pod Template:\n");
    const Hs__ObjectMeta *m = t ? t->metadata : NULL;
    printf ("  Labels:\t");
    for (size_t i = 0; m && i < m->n_labels; i++)
        printf ("%s%s=%s\n", i ? "\t\t" : "", m->labels[i]->key, m->labels[i]->value);
    if (!m || !m->n_labels) printf ("<none>\n");
    if (m && m->n_annotations) {
        printf ("  Annotations:\t");
        for (size_t i = 0; i < m->n_annotations; i++)
            printf ("%s%s: %s\n", i ? "\t\t" : "", m->annotations[i]->key,
                    m->annotations[i]->value);
    }
    printf ("  Containers:\n");
    for (size_t i = 0; t && t->spec && i < t->spec->n_containers; i++) {
        const Hs__Container *c = t->spec->containers[i];
        printf ("   %s:\n", c->name);
        printf ("    Image:\t%s\n", hs_empty (c->image) ? "<none>" : c->image);
        printf ("    Command:\n");
        for (size_t j = 0; j < c->n_command; j++) printf ("      %s\n", c->command[j]);
        for (size_t j = 0; j < c->n_args; j++) printf ("      %s\n", c->args[j]);
        printf ("    Environment:");
        if (!c->n_env) printf ("\t<none>");
        printf ("\n");
        for (size_t j = 0; j < c->n_env; j++)
            printf ("      %s:\t%s\n", c->env[j]->name, c->env[j]->value);
    }
}

static int s_history (ctl_t *ctl, const s_opts_t *o, const char *name)
{
    s_view_t v;
    if (s_view (ctl, name, &v) != 0) return 1;
    int rc = 0;
    if (o->revision > 0) {
        const Hs__Object *hit = NULL;
        for (size_t i = 0; i < v.n_rs; i++)
            if (hs_rollout_revision (v.rs[i]->replica_set->metadata) == o->revision) hit = v.rs[i];
        if (!hit) {
            fprintf (stderr, "error: unable to find the specified revision\n");
            rc = 1;
        } else {
            printf ("deployment.apps/%s with revision #%lld\n", name, (long long)o->revision);
            s_print_template (hit->replica_set->spec ? hit->replica_set->spec->template_ : NULL);
            printf ("\n");
        }
    } else if (v.n_rs == 0) {
        printf ("No rollout history found.\n");
    } else {
        printf ("deployment.apps/%s \nREVISION  CHANGE-CAUSE\n", name);
        for (size_t i = 0; i < v.n_rs; i++) {
            const Hs__ObjectMeta *m = v.rs[i]->replica_set->metadata;
            int64_t rev = hs_rollout_revision (m);
            if (!rev) continue;
            const char *cause = s_ann (m, HS_ROLLOUT_CHANGE_CAUSE);
            printf ("%-9lld %s\n", (long long)rev, hs_empty (cause) ? "<none>" : cause);
        }
        printf ("\n");
    }
    s_view_free (&v);
    return rc;
}

/* ------------------------------------------------------------------ changes */

/* A change of the Deployment: given the view, edits upd (a copy of the
 * Deployment) and returns S_WRITE, or prints why not and returns the exit
 * code. done is the word printed after the write ("rolled back"). */
enum { S_WRITE = -1 };
typedef int (*s_change_fn) (const s_view_t *v, Hs__Object *upd, void *arg, const char **done);

/* Reads, changes and writes the Deployment with the revision it read as a
 * precondition, again from a fresh read on Conflict (kubectl's retry). */
static int s_change (ctl_t *ctl, const char *name, s_change_fn fn, void *arg)
{
    for (int attempt = 0; attempt < S_TRIES; attempt++) {
        s_view_t v;
        if (s_view (ctl, name, &v) != 0) return 1;
        Hs__Object *upd = hs_pb_dup (v.d);
        if (!upd->deployment->spec)
            upd->deployment->spec = hs_pb_new (&hs__deployment_spec__descriptor);
        const char *done = NULL;
        int rc = fn (&v, upd, arg, &done);
        int64_t expect = v.d->deployment->metadata->resource_version;
        s_view_free (&v);
        if (rc != S_WRITE) {
            hs_pb_free (upd);
            return rc;
        }
        Hs__Write *w = hs_write_new (HS__OP__OP_UPDATE, upd);
        w->expected_revision = expect;
        Hs__Ack *ack = NULL;
        int r = ctl_call (ctl, &w, 1, false, &ack);
        hs_pb_free (w);
        if (r < 0) return 1;
        Hs__Code code = ack->code;
        if (code == HS__CODE__CODE_OK)
            printf ("deployment.apps/%s %s\n", name, done);
        else if (code != HS__CODE__CODE_CONFLICT)
            fprintf (stderr, "Error from server (%s): %s\n", hs_code_reason (code), ack->message);
        hs_pb_free (ack);
        if (code != HS__CODE__CODE_CONFLICT) return code == HS__CODE__CODE_OK ? 0 : 1;
    }
    fprintf (stderr,
             "Error from server (Conflict): Operation cannot be fulfilled on deployments.apps "
             "\"%s\": the object has been modified; please apply your changes to the latest "
             "version and try again\n",
             name);
    return 1;
}

static int s_undo_fn (const s_view_t *v, Hs__Object *upd, void *arg, const char **done)
{
    const s_opts_t *o = arg;
    const Hs__Deployment *d = v->d->deployment;
    const char *name = d->metadata->name;
    if (d->spec && d->spec->paused) {
        fprintf (stderr,
                 "error: you cannot rollback a paused deployment; resume it first with "
                 "'hsctl rollout resume deployment/%s' and try again\n",
                 name);
        return 1;
    }
    const Hs__Object *target = NULL;
    int64_t rev = o->to_revision;
    if (rev > 0) {
        for (size_t i = 0; i < v->n_rs; i++)
            if (hs_rollout_revision (v->rs[i]->replica_set->metadata) == rev) target = v->rs[i];
        if (!target) {
            fprintf (stderr, "error: unable to find specified revision %lld in history\n",
                     (long long)rev);
            return 1;
        }
    } else {
        /* the highest revision below the current (highest) one */
        size_t with_rev = 0;
        for (size_t i = 0; i < v->n_rs; i++)
            if (hs_rollout_revision (v->rs[i]->replica_set->metadata) > 0) with_rev++;
        if (with_rev < 2) {
            fprintf (stderr, "error: no rollout history found for deployment \"%s\"\n", name);
            return 1;
        }
        target = v->rs[v->n_rs - 2]; /* sorted by revision */
        rev = hs_rollout_revision (target->replica_set->metadata);
    }
    /* the revision's template as a Deployment's: without the hash label */
    const Hs__ReplicaSetSpec *ts = target->replica_set->spec;
    Hs__PodTemplateSpec *t = hs_rollout_template_copy (ts ? ts->template_ : NULL);
    if (hs_rollout_template_equal (t, d->spec ? d->spec->template_ : NULL)) {
        printf ("deployment.apps/%s skipped rollback (current template already matches "
                "revision %lld)\n",
                name, (long long)rev);
        hs_pb_free (t);
        return 0;
    }
    hs_pb_free (upd->deployment->spec->template_);
    upd->deployment->spec->template_ = t;
    /* like kubectl: the revision's change-cause comes back with it */
    const char *cause = s_ann (target->replica_set->metadata, HS_ROLLOUT_CHANGE_CAUSE);
    Hs__ObjectMeta *um = upd->deployment->metadata;
    if (cause)
        hs_pb_map_set ((void ***)&um->annotations, &um->n_annotations,
                       &hs__object_meta__annotations_entry__descriptor, HS_ROLLOUT_CHANGE_CAUSE,
                       cause);
    *done = "rolled back";
    return S_WRITE;
}

/* pause (arg non-NULL) or resume: spec.paused, as kubectl does. */
static int s_pause_fn (const s_view_t *v, Hs__Object *upd, void *arg, const char **done)
{
    bool pause = arg != NULL;
    const Hs__Deployment *d = v->d->deployment;
    if ((d->spec && d->spec->paused) == pause) {
        fprintf (stderr, "error: deployments.apps \"%s\" is %s\n", d->metadata->name,
                 pause ? "already paused" : "not paused");
        return 1;
    }
    upd->deployment->spec->paused = pause;
    *done = pause ? "paused" : "resumed";
    return S_WRITE;
}

/* restart: a new template annotation, so a new ReplicaSet rolls out. */
static int s_restart_fn (const s_view_t *v, Hs__Object *upd, void *arg, const char **done)
{
    (void)arg;
    const Hs__Deployment *d = v->d->deployment;
    if (d->spec && d->spec->paused) {
        fprintf (stderr,
                 "error: deployments.apps \"%s\" can't restart paused deployment (run rollout "
                 "resume first)\n",
                 d->metadata->name);
        return 1;
    }
    Hs__DeploymentSpec *spec = upd->deployment->spec;
    if (!spec->template_) spec->template_ = hs_pb_new (&hs__pod_template_spec__descriptor);
    if (!spec->template_->metadata)
        spec->template_->metadata = hs_pb_new (&hs__object_meta__descriptor);
    Hs__ObjectMeta *tm = spec->template_->metadata;
    char when[64];
    hs_fmt_time (hs_now_ns (), when, sizeof when);
    hs_pb_map_set ((void ***)&tm->annotations, &tm->n_annotations,
                   &hs__object_meta__annotations_entry__descriptor,
                   "kubectl.kubernetes.io/restartedAt", when);
    *done = "restarted";
    return S_WRITE;
}

/* ------------------------------------------------------------------ main */

int ctl_rollout_main (ctl_t *ctl, int argc, char **argv)
{
    s_opts_t o = {.watch = true};
    int first = ctl_parse (ctl, argc, argv, s_longs, "", s_opt, &o);
    if (first < 0) return 1;
    if (ctl->help || first >= argc) {
        s_usage ();
        return ctl->help ? 0 : 1;
    }
    const char *sub = argv[first];
    char *name = NULL;
    static const char *const subs[] = {"status", "history", "undo", "pause", "resume", "restart"};
    bool known = false;
    for (size_t i = 0; i < HS_ARRAY_LEN (subs); i++) known = known || !strcmp (sub, subs[i]);
    if (!known) {
        fprintf (stderr, "error: unknown command \"%s\" for \"hsctl rollout\"\n", sub);
        return 1;
    }
    if (s_target (ctl, argc, argv, first + 1, sub, &name) != 0) return 1;
    if (!strcmp (sub, "status")) return s_status (ctl, &o, name);
    if (!strcmp (sub, "history")) return s_history (ctl, &o, name);
    if (!strcmp (sub, "pause")) return s_change (ctl, name, s_pause_fn, &o);
    if (!strcmp (sub, "resume")) return s_change (ctl, name, s_pause_fn, NULL);
    if (!strcmp (sub, "restart")) return s_change (ctl, name, s_restart_fn, NULL);
    return s_change (ctl, name, s_undo_fn, &o);
}
