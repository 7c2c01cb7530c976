/*  ctl_cordon.c: `hsctl cordon NODE...` and `hsctl uncordon NODE...`.
 *
 *  Sets or clears a node's spec.unschedulable with an update that names the
 *  revision it read (optimistic concurrency): when the node changed meanwhile
 *  (an agent reporting), it reads it again and retries. The scheduler stops
 *  (or starts again) placing pods there; pods already on it stay.
 */
#include "ctl.h"

#include <string.h>

/* Attempts per node before giving up on a node that keeps changing. */
#define S_TRIES 20

static void s_usage (bool cordon)
{
    if (cordon)
        printf ("Mark node as unschedulable.\n\nUsage:\n  hsctl cordon NODE...\n");
    else
        printf ("Mark node as schedulable.\n\nUsage:\n  hsctl uncordon NODE...\n");
}

static const Hs__Object *s_find (const hs_db_snapshot_t *snap, const char *name)
{
    for (size_t i = 0; i < snap->n_objects; i++) {
        const Hs__ObjectMeta *m = hs_obj_meta (snap->objects[i]);
        if (hs_obj_kind (snap->objects[i]) == HS_KIND_NODE && m && hs_streq (m->name, name))
            return snap->objects[i];
    }
    return NULL;
}

/* 0 done (printed), 1 failed (printed). */
int ctl_cordon_node (ctl_t *ctl, const char *name, bool cordon)
{
    const char *word = cordon ? "cordoned" : "uncordoned";
    for (int attempt = 0; attempt < S_TRIES; attempt++) {
        hs_kind_t kind = HS_KIND_NODE;
        hs_db_snapshot_t snap = {0};
        if (ctl_snapshot (ctl, &kind, 1, &snap) < 0) return 1;
        const Hs__Object *cur = s_find (&snap, name);
        if (!cur) {
            fprintf (stderr, "Error from server (NotFound): nodes \"%s\" not found\n", name);
            hs_db_snapshot_free (&snap);
            return 1;
        }
        bool is = cur->node->spec && cur->node->spec->unschedulable;
        if (is == cordon) {
            printf ("node/%s already %s\n", name, word);
            hs_db_snapshot_free (&snap);
            return 0;
        }
        Hs__Object *upd = hs_pb_dup (cur);
        int64_t rev = hs_obj_meta (cur)->resource_version;
        hs_db_snapshot_free (&snap);
        if (!upd->node->spec) upd->node->spec = hs_pb_new (&hs__node_spec__descriptor);
        upd->node->spec->unschedulable = cordon;
        Hs__Write *w = hs_write_new (HS__OP__OP_UPDATE, upd);
        w->expected_revision = rev;
        Hs__Ack *ack = NULL;
        int r = ctl_call (ctl, &w, 1, false, &ack);
        hs_pb_free (w);
        if (r < 0) return 1;
        Hs__Code code = ack->code;
        if (code == HS__CODE__CODE_OK)
            printf ("node/%s %s\n", name, word);
        else if (code != HS__CODE__CODE_CONFLICT)
            fprintf (stderr, "Error from server (%s): %s\n", hs_code_reason (code), ack->message);
        hs_pb_free (ack);
        if (code != HS__CODE__CODE_CONFLICT) return code == HS__CODE__CODE_OK ? 0 : 1;
    }
    fprintf (stderr,
             "Error from server (Conflict): Operation cannot be fulfilled on nodes \"%s\": the "
             "object has been modified; please apply your changes to the latest version and try "
             "again\n",
             name);
    return 1;
}

static int s_run (ctl_t *ctl, int argc, char **argv, bool cordon)
{
    int first = ctl_parse (ctl, argc, argv, NULL, "", NULL, NULL);
    if (first < 0) return 1;
    if (ctl->help) {
        s_usage (cordon);
        return 0;
    }
    if (first >= argc) {
        ctl_usage_error (ctl, "USAGE: %s NODE [flags]", cordon ? "cordon" : "uncordon");
        return 1;
    }
    int rc = 0;
    for (int i = first; i < argc; i++) {
        const char *name = argv[i];
        /* "node/NAME" and "nodes/NAME" are accepted, like kubectl */
        const char *slash = strchr (name, '/');
        if (slash) {
            _cleanup_free_ char *type = hs_strndup (name, (size_t)(slash - name));
            if (hs_kind_parse (type) != HS_KIND_NODE) {
                fprintf (stderr, "error: cannot %s a \"%s\": only nodes can be %s\n",
                         cordon ? "cordon" : "uncordon", type, cordon ? "cordoned" : "uncordoned");
                rc = 1;
                continue;
            }
            name = slash + 1;
        }
        if (ctl_cordon_node (ctl, name, cordon) != 0) rc = 1;
    }
    return rc;
}

int ctl_cordon_main (ctl_t *ctl, int argc, char **argv)
{
    return s_run (ctl, argc, argv, true);
}

int ctl_uncordon_main (ctl_t *ctl, int argc, char **argv)
{
    return s_run (ctl, argc, argv, false);
}
