/*  test_store.c: hs-store's core (services/store/store_ops) on a temporary
 *  LMDB, without sockets: every op, revisions and streams, idempotent
 *  replays across a reopen, batches, bind's room check, snapshots, and the
 *  addresses it hands out (clusterIPs, podCIDRs: store_alloc.h), also
 *  across a reopen and a SIGKILL.
 */
#include "hs_test.h"
#include "hs_workload.h"
#include "hs_util.h"
#include "store.h"
#include "store_alloc.h"
#include "store_batch.h"
#include "store_wal.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static store_out_t g_out;

/* ------------------------------------------------------------------ builders */

static char *s_dir (const char *name)
{
    return hs_sprintf ("%s/%s", hs_test_tmpdir (), name);
}

static store_t *s_open (const char *name)
{
    _cleanup_free_ char *dir = s_dir (name);
    store_opts_t opts = {.nosync = true};
    store_t *s = NULL;
    CHECK_EQ_INT (store_open (dir, &opts, &s), 0);
    return s;
}

static Hs__Container *s_container (const char *name, const char *cpu, const char *mem)
{
    Hs__Container *c = hs_pb_new (&hs__container__descriptor);
    hs_pb_set_str (&c->name, name);
    hs_pb_push ((void ***)&c->command, &c->n_command, hs_strdup ("sleep"));
    if (cpu || mem) {
        c->resources = hs_pb_new (&hs__resource_requirements__descriptor);
        c->resources->requests = hs_pb_new (&hs__resource_list__descriptor);
        hs_pb_set_str (&c->resources->requests->cpu, cpu);
        hs_pb_set_str (&c->resources->requests->memory, mem);
    }
    return c;
}

static Hs__Object *s_pod (const char *name, const char *cpu, const char *mem)
{
    Hs__Object *o = hs_obj_new (HS_KIND_POD, "", name);
    o->pod->spec = hs_pb_new (&hs__pod_spec__descriptor);
    hs_pb_push ((void ***)&o->pod->spec->containers, &o->pod->spec->n_containers,
                s_container ("app", cpu, mem));
    return o;
}

static Hs__Object *s_node (const char *name, const char *cpu, const char *mem, const char *pods)
{
    Hs__Object *o = hs_obj_new (HS_KIND_NODE, "", name);
    o->node->status = hs_pb_new (&hs__node_status__descriptor);
    o->node->status->capacity = hs_pb_new (&hs__resource_list__descriptor);
    hs_pb_set_str (&o->node->status->capacity->cpu, cpu);
    hs_pb_set_str (&o->node->status->capacity->memory, mem);
    hs_pb_set_str (&o->node->status->capacity->pods, pods);
    return o;
}

static Hs__Write *s_w (Hs__Op op, Hs__Object *o)
{
    Hs__Write *w = hs_pb_new (&hs__write__descriptor);
    w->op = op;
    w->object = o;
    return w;
}

static Hs__Write *s_target (Hs__Op op, const char *kind, const char *name)
{
    Hs__Write *w = hs_pb_new (&hs__write__descriptor);
    w->op = op;
    hs_pb_set_str (&w->kind, kind);
    hs_pb_set_str (&w->name, name);
    return w;
}

static Hs__Write *s_bind (const char *pod, const char *node)
{
    Hs__Write *w = s_target (HS__OP__OP_BIND, "pod", pod);
    hs_pb_set_str (&w->node_name, node);
    return w;
}

static Hs__Write *s_delete (const char *kind, const char *name, int64_t grace)
{
    Hs__Write *w = s_target (HS__OP__OP_DELETE, kind, name);
    if (grace >= 0) {
        w->grace_period_seconds = hs_pb_new (&hs__int64_value__descriptor);
        w->grace_period_seconds->value = grace;
    }
    return w;
}

/* A command of n writes (taken). */
static Hs__Command *s_cmd (const char *client, const char *req, int n, ...)
{
    Hs__Command *c = hs_pb_new (&hs__command__descriptor);
    hs_pb_set_str (&c->client_id, client);
    hs_pb_set_str (&c->request_id, req);
    va_list ap;
    va_start (ap, n);
    for (int i = 0; i < n; i++)
        hs_pb_push ((void ***)&c->writes, &c->n_writes, va_arg (ap, Hs__Write *));
    va_end (ap);
    return c;
}

/* Applies one command (taken) as a batch of one; the ack is valid until the
 * next call. Events are in g_out. */
static const Hs__Ack *s_run (store_t *s, Hs__Command *cmd)
{
    int r = store_apply (s, &cmd, 1, &g_out);
    CHECK (r >= 0);
    hs_pb_free (cmd);
    CHECK_EQ_INT (g_out.n_acks, 1);
    static Hs__Ack empty = HS__ACK__INIT;
    return g_out.n_acks ? g_out.acks[0].ack : &empty;
}

static int s_seq (const char *req)
{
    static int n;
    (void)req;
    return ++n;
}

/* Shorthand: one write, a fresh request id. */
static const Hs__Ack *s_one (store_t *s, Hs__Write *w)
{
    char req[32];
    snprintf (req, sizeof req, "r%d", s_seq (NULL));
    return s_run (s, s_cmd ("c1", req, 1, w));
}

/* Reads through the LMDB file, as a snapshot does: checkpoint first (the
 * acked writes may still be only in the write-ahead window). */
static Hs__Object *s_get (store_t *s, hs_kind_t kind, const char *name)
{
    CHECK_EQ_INT (store_checkpoint (s), 0);
    hs_db_snapshot_t snap;
    CHECK_EQ_INT (hs_db_snapshot (store_db (s), &kind, 1, NULL, &snap), 0);
    Hs__Object *found = NULL;
    for (size_t i = 0; i < snap.n_objects; i++)
        if (hs_streq (hs_obj_meta (snap.objects[i])->name, name))
            found = hs_pb_dup (snap.objects[i]);
    hs_db_snapshot_free (&snap);
    return found;
}

static size_t s_count (store_t *s)
{
    CHECK_EQ_INT (store_checkpoint (s), 0);
    hs_db_snapshot_t snap;
    CHECK_EQ_INT (hs_db_snapshot (store_db (s), NULL, 0, NULL, &snap), 0);
    size_t n = snap.n_objects;
    hs_db_snapshot_free (&snap);
    return n;
}

/* ------------------------------------------------------------------ tests */

static void test_create (void)
{
    store_t *s = s_open ("create");
    int64_t rev0 = store_revision (s);
    const Hs__Ack *a = s_one (s, s_w (HS__OP__OP_CREATE, s_pod ("web", NULL, NULL)));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_OK);
    CHECK_EQ_INT (a->revision, rev0 + 1);
    CHECK_EQ_INT (a->n_results, 1);
    if (a->n_results) {
        CHECK_EQ_INT (a->results[0]->result, HS__RESULT__RESULT_CREATED);
        CHECK_EQ_STR (a->results[0]->kind, "pod");
        CHECK_EQ_STR (a->results[0]->namespace_, "default");
        CHECK_EQ_STR (a->results[0]->name, "web");
        CHECK (strlen (a->results[0]->uid) == 36);
        CHECK_EQ_INT (a->results[0]->resource_version, rev0 + 1);
    }
    CHECK_EQ_INT (g_out.n_events, 1);
    if (g_out.n_events) {
        Hs__WatchEvent *ev = g_out.events[0].event;
        CHECK_EQ_STR (g_out.events[0].topic, "ev.pod.-/default/web");
        CHECK_EQ_INT (ev->type, HS__EVENT_TYPE__ADDED);
        CHECK_EQ_STR (ev->stream, "pod.-");
        CHECK_EQ_INT (ev->seq, 1);
        CHECK_EQ_INT (ev->epoch, store_epoch (s));
        CHECK (ev->committed_at_ns > 0);
        Hs__ObjectMeta *m = hs_obj_meta (ev->object);
        CHECK_EQ_INT (m->generation, 1);
        CHECK (m->creation_timestamp > 0);
        CHECK_EQ_INT (m->resource_version, rev0 + 1);
        CHECK_EQ_STR (ev->object->pod->status->phase, "Pending");
    }
    a = s_one (s, s_w (HS__OP__OP_CREATE, s_pod ("web", NULL, NULL)));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_ALREADY_EXISTS);
    CHECK_EQ_STR (a->message, "pods \"web\" already exists");
    CHECK_EQ_INT (a->failed_index, 0);
    CHECK_EQ_INT (g_out.n_events, 0);
    CHECK_EQ_INT (store_revision (s), rev0 + 1);

    /* generateName */
    Hs__Object *g = s_pod ("", NULL, NULL);
    hs_pb_set_str (&hs_obj_meta (g)->generate_name, "web-");
    a = s_one (s, s_w (HS__OP__OP_CREATE, g));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_OK);
    if (a->n_results) {
        CHECK (hs_startswith (a->results[0]->name, "web-"));
        CHECK_EQ_INT (strlen (a->results[0]->name), 9);
    }
    g = s_pod ("", NULL, NULL);
    hs_pb_set_str (&hs_obj_meta (g)->generate_name, "web-");
    a = s_one (s, s_w (HS__OP__OP_CREATE, g));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_OK);
    CHECK_EQ_INT (s_count (s), 3);

    /* Write.kind must agree with the object. */
    Hs__Write *w = s_w (HS__OP__OP_CREATE, s_pod ("other", NULL, NULL));
    hs_pb_set_str (&w->kind, "node");
    a = s_one (s, w);
    CHECK_EQ_INT (a->code, HS__CODE__CODE_INVALID);
    store_out_clear (&g_out);
    store_destroy (&s);
}

static void test_apply (void)
{
    store_t *s = s_open ("apply");
    const Hs__Ack *a = s_one (s, s_w (HS__OP__OP_APPLY, s_pod ("web", "100m", NULL)));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_OK);
    CHECK_EQ_INT (a->results[0]->result, HS__RESULT__RESULT_CREATED);
    int64_t rev = store_revision (s);

    /* Same manifest: unchanged, no revision, no event. */
    a = s_one (s, s_w (HS__OP__OP_APPLY, s_pod ("web", "100m", NULL)));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_OK);
    CHECK_EQ_INT (a->results[0]->result, HS__RESULT__RESULT_UNCHANGED);
    CHECK_EQ_INT (a->results[0]->resource_version, rev);
    CHECK_EQ_INT (a->revision, rev);
    CHECK_EQ_INT (store_revision (s), rev);
    CHECK_EQ_INT (g_out.n_events, 0);

    /* New label: configured, same generation (spec unchanged). */
    Hs__Object *p = s_pod ("web", "100m", NULL);
    hs_pb_map_set ((void ***)&hs_obj_meta (p)->labels, &hs_obj_meta (p)->n_labels,
                   &hs__object_meta__labels_entry__descriptor, "app", "web");
    a = s_one (s, s_w (HS__OP__OP_APPLY, p));
    CHECK_EQ_INT (a->results[0]->result, HS__RESULT__RESULT_CONFIGURED);
    CHECK_EQ_INT (store_revision (s), rev + 1);
    CHECK_EQ_INT (g_out.n_events, 1);
    if (g_out.n_events) {
        CHECK_EQ_INT (g_out.events[0].event->type, HS__EVENT_TYPE__MODIFIED);
        CHECK_EQ_INT (hs_obj_meta (g_out.events[0].event->object)->generation, 1);
    }

    /* A pod's spec is immutable: a changed command is refused. */
    p = s_pod ("web", "100m", NULL);
    hs_pb_set_str (&p->pod->spec->containers[0]->command[0], "true");
    a = s_one (s, s_w (HS__OP__OP_APPLY, p));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_INVALID);
    CHECK_CONTAINS (a->message, "Pod \"web\" is invalid: spec: Forbidden: pod updates may not "
                                "change fields other than");
    /* The image may change; the spec change bumps the generation. */
    p = s_pod ("web", "100m", NULL);
    hs_pb_set_str (&p->pod->spec->containers[0]->image, "v2");
    a = s_one (s, s_w (HS__OP__OP_APPLY, p));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_OK);
    CHECK_EQ_INT (a->results[0]->result, HS__RESULT__RESULT_CONFIGURED);
    if (g_out.n_events) CHECK_EQ_INT (hs_obj_meta (g_out.events[0].event->object)->generation, 2);

    /* Apply keeps status and the node a bind set. */
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_node ("n1", "4", "8Gi", "10")))->code, 0);
    CHECK_EQ_INT (s_one (s, s_bind ("web", "n1"))->code, 0);
    p = s_pod ("web", "100m", NULL);
    hs_pb_set_str (&p->pod->spec->containers[0]->image, "v2");
    a = s_one (s, s_w (HS__OP__OP_APPLY, p));
    CHECK_EQ_INT (a->results[0]->result, HS__RESULT__RESULT_UNCHANGED);
    Hs__Object *stored = s_get (s, HS_KIND_POD, "web");
    CHECK_EQ_STR (stored->pod->spec->node_name, "n1");
    CHECK_EQ_STR (stored->pod->status->phase, "Pending");
    hs_pb_free (stored);
    store_out_clear (&g_out);
    store_destroy (&s);
}

static void test_update (void)
{
    store_t *s = s_open ("update");
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_node ("n1", "4", "8Gi", NULL)))->code, 0);
    int64_t rv = store_revision (s);

    Hs__Object *n = s_node ("n1", "4", "8Gi", NULL);
    n->node->spec = hs_pb_new (&hs__node_spec__descriptor);
    n->node->spec->unschedulable = true;
    Hs__Write *w = s_w (HS__OP__OP_UPDATE, n);
    w->expected_revision = rv;
    const Hs__Ack *a = s_one (s, w);
    CHECK_EQ_INT (a->code, HS__CODE__CODE_OK);
    CHECK_EQ_INT (a->results[0]->result, HS__RESULT__RESULT_CONFIGURED);
    CHECK_EQ_INT (a->results[0]->resource_version, rv + 1);

    /* Stale: Conflict with Kubernetes' message. */
    n = s_node ("n1", "4", "8Gi", NULL);
    w = s_w (HS__OP__OP_UPDATE, n);
    w->expected_revision = rv;
    a = s_one (s, w);
    CHECK_EQ_INT (a->code, HS__CODE__CODE_CONFLICT);
    CHECK_EQ_STR (a->message, "Operation cannot be fulfilled on nodes \"n1\": the object has been "
                              "modified; please apply your changes to the latest version and try "
                              "again");
    a = s_one (s, s_w (HS__OP__OP_UPDATE, s_node ("n9", "1", "1Gi", NULL)));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_NOT_FOUND);
    CHECK_EQ_STR (a->message, "nodes \"n9\" not found");

    /* Status update: replaces status only, same precondition rule. */
    Hs__Object *st = s_node ("n1", "8", "16Gi", NULL);
    st->node->spec = hs_pb_new (&hs__node_spec__descriptor); /* ignored */
    w = s_w (HS__OP__OP_UPDATE_STATUS, st);
    w->expected_revision = rv + 1;
    a = s_one (s, w);
    CHECK_EQ_INT (a->code, HS__CODE__CODE_OK);
    Hs__Object *stored = s_get (s, HS_KIND_NODE, "n1");
    CHECK_EQ_STR (stored->node->status->capacity->cpu, "8");
    CHECK (stored->node->spec->unschedulable); /* spec untouched */
    CHECK_EQ_INT (hs_obj_meta (stored)->generation, 2);
    hs_pb_free (stored);
    w = s_w (HS__OP__OP_UPDATE_STATUS, s_node ("n1", "2", "1Gi", NULL));
    w->expected_revision = rv;
    CHECK_EQ_INT (s_one (s, w)->code, HS__CODE__CODE_CONFLICT);
    /* Bad status is refused like anything else. */
    a = s_one (s, s_w (HS__OP__OP_UPDATE_STATUS, s_node ("n1", "two", "1Gi", NULL)));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_INVALID);
    CHECK_CONTAINS (a->message, "status.capacity.cpu: Invalid value: \"two\"");
    store_out_clear (&g_out);
    store_destroy (&s);
}

static void test_delete (void)
{
    store_t *s = s_open ("delete");
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_node ("n1", "4", "8Gi", NULL)))->code, 0);
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_pod ("bound", "1", "1Gi")))->code, 0);
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_pod ("free", NULL, NULL)))->code, 0);
    CHECK_EQ_INT (s_one (s, s_bind ("bound", "n1"))->code, 0);

    const Hs__Ack *a = s_one (s, s_delete ("pod", "missing", -1));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_NOT_FOUND);
    CHECK_EQ_STR (a->message, "pods \"missing\" not found");

    /* Unbound: gone now, with a DELETED event carrying the last state. */
    a = s_one (s, s_delete ("pod", "free", -1));
    CHECK_EQ_INT (a->results[0]->result, HS__RESULT__RESULT_DELETED);
    CHECK_EQ_INT (g_out.n_events, 1);
    if (g_out.n_events) {
        CHECK_EQ_INT (g_out.events[0].event->type, HS__EVENT_TYPE__DELETED);
        CHECK_EQ_STR (hs_obj_meta (g_out.events[0].event->object)->name, "free");
        CHECK_EQ_INT (hs_obj_meta (g_out.events[0].event->object)->resource_version,
                      store_revision (s));
    }
    CHECK (s_get (s, HS_KIND_POD, "free") == NULL);

    /* Bound and running: graceful. */
    a = s_one (s, s_delete ("pod", "bound", -1));
    CHECK_EQ_INT (a->results[0]->result, HS__RESULT__RESULT_DELETING);
    Hs__Object *p = s_get (s, HS_KIND_POD, "bound");
    CHECK (p && hs_obj_meta (p)->deletion_timestamp > 0);
    CHECK (p && hs_obj_meta (p)->deletion_grace_period_seconds &&
           hs_obj_meta (p)->deletion_grace_period_seconds->value == 30);
    int64_t first = p ? hs_obj_meta (p)->deletion_timestamp : 0;
    hs_pb_free (p);
    /* Bound pod being deleted: its usage still counts. */
    store_node_usage_t u;
    CHECK_EQ_INT (store_node_usage (s, "n1", &u), 0);
    CHECK_EQ_INT (u.pods, 1);
    /* A second graceful delete keeps the first timestamp, may shorten grace. */
    a = s_one (s, s_delete ("pod", "bound", 5));
    CHECK_EQ_INT (a->results[0]->result, HS__RESULT__RESULT_DELETING);
    p = s_get (s, HS_KIND_POD, "bound");
    CHECK_EQ_INT (hs_obj_meta (p)->deletion_timestamp, first);
    CHECK_EQ_INT (hs_obj_meta (p)->deletion_grace_period_seconds->value, 5);
    hs_pb_free (p);
    /* expected_uid precondition. */
    Hs__Write *w = s_delete ("pod", "bound", 0);
    hs_pb_set_str (&w->expected_uid, "not-the-uid");
    a = s_one (s, w);
    CHECK_EQ_INT (a->code, HS__CODE__CODE_CONFLICT);
    CHECK_CONTAINS (a->message, "Precondition failed: UID in precondition: not-the-uid");
    /* grace 0: removed now (the agent's final delete); usage released. */
    a = s_one (s, s_delete ("pod", "bound", 0));
    CHECK_EQ_INT (a->results[0]->result, HS__RESULT__RESULT_DELETED);
    CHECK (s_get (s, HS_KIND_POD, "bound") == NULL);
    CHECK_EQ_INT (store_node_usage (s, "n1", &u), 0);
    CHECK_EQ_INT (u.pods, 0);
    CHECK_EQ_INT (u.mem_bytes, 0);
    /* Non-pods go at once. */
    a = s_one (s, s_delete ("node", "n1", -1));
    CHECK_EQ_INT (a->results[0]->result, HS__RESULT__RESULT_DELETED);
    CHECK_EQ_INT (s_count (s), 0);
    store_out_clear (&g_out);
    store_destroy (&s);
}

static void test_bind (void)
{
    store_t *s = s_open ("bind");
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_node ("n1", "4", "1Gi", "3")))->code, 0);
    Hs__Object *cordoned = s_node ("n2", "4", "8Gi", NULL);
    cordoned->node->spec = hs_pb_new (&hs__node_spec__descriptor);
    cordoned->node->spec->unschedulable = true;
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, cordoned))->code, 0);
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_pod ("a", "1", "600Mi")))->code, 0);
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_pod ("b", "1", "600Mi")))->code, 0);
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_pod ("c", "100m", "10Mi")))->code, 0);

    const Hs__Ack *a = s_one (s, s_bind ("a", "n9"));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_NOT_FOUND);
    CHECK_EQ_STR (a->message, "nodes \"n9\" not found");
    a = s_one (s, s_bind ("zz", "n1"));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_NOT_FOUND);
    CHECK_EQ_STR (a->message, "pods \"zz\" not found");
    a = s_one (s, s_bind ("a", "n2"));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_FORBIDDEN);
    CHECK_EQ_STR (a->message, "node \"n2\" is unschedulable");

    a = s_one (s, s_bind ("a", "n1"));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_OK);
    CHECK_EQ_INT (a->results[0]->result, HS__RESULT__RESULT_BOUND);
    CHECK_EQ_INT (g_out.n_events, 1);
    if (g_out.n_events) {
        /* On the new stream only. */
        CHECK_EQ_STR (g_out.events[0].event->stream, "pod.n1");
        CHECK_EQ_INT (g_out.events[0].event->seq, 1);
        CHECK_EQ_STR (g_out.events[0].topic, "ev.pod.n1/default/a");
        CHECK_EQ_STR (g_out.events[0].event->object->pod->status->conditions[0]->type,
                      "PodScheduled");
    }
    a = s_one (s, s_bind ("a", "n1"));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_CONFLICT);
    CHECK_EQ_STR (a->message, "pod \"a\" is already assigned to node \"n1\"");

    /* 600Mi + 600Mi > 1Gi: the second is refused. */
    a = s_one (s, s_bind ("b", "n1"));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_CONFLICT);
    CHECK_EQ_STR (a->message, "node \"n1\" lacks room: Insufficient memory");
    a = s_one (s, s_bind ("c", "n1"));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_OK);
    store_node_usage_t u;
    CHECK_EQ_INT (store_node_usage (s, "n1", &u), 0);
    CHECK_EQ_INT (u.cpu_milli, 1100);
    CHECK_EQ_INT (u.mem_bytes, 610LL << 20);
    CHECK_EQ_INT (u.pods, 2);

    /* A terminal pod frees its room. */
    Hs__Object *done = s_pod ("a", NULL, NULL);
    done->pod->status = hs_pb_new (&hs__pod_status__descriptor);
    hs_pb_set_str (&done->pod->status->phase, "Succeeded");
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_UPDATE_STATUS, done))->code, 0);
    CHECK_EQ_INT (s_one (s, s_bind ("b", "n1"))->code, HS__CODE__CODE_OK);

    /* Two binds in one batch that together overfill the node: the check is
     * inside the transaction, so the second sees the first. */
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_pod ("d", NULL, "300Mi")))->code, 0);
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_pod ("e", NULL, "300Mi")))->code, 0);
    Hs__Command *cmds[2] = {s_cmd ("s1", "b1", 1, s_bind ("d", "n1")),
                            s_cmd ("s2", "b2", 1, s_bind ("e", "n1"))};
    CHECK (store_apply (s, cmds, 2, &g_out) >= 0);
    CHECK_EQ_INT (g_out.n_acks, 2);
    CHECK_EQ_INT (g_out.acks[0].ack->code, HS__CODE__CODE_OK);
    CHECK_EQ_INT (g_out.acks[1].ack->code, HS__CODE__CODE_CONFLICT);
    CHECK_EQ_STR (g_out.acks[1].topic, "ack.s2/");
    hs_pb_free (cmds[0]);
    hs_pb_free (cmds[1]);

    /* Pods limit: n1 allows 3 pods; b, c, d are on it. */
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_pod ("f", NULL, NULL)))->code, 0);
    a = s_one (s, s_bind ("f", "n1"));
    CHECK_EQ_STR (a->message, "node \"n1\" lacks room: Insufficient pods");

    /* The usage index is rebuilt identically at the next start. */
    store_node_usage_t before, after;
    CHECK_EQ_INT (store_node_usage (s, "n1", &before), 0);
    store_out_clear (&g_out);
    store_destroy (&s);
    s = s_open ("bind");
    CHECK_EQ_INT (store_node_usage (s, "n1", &after), 0);
    CHECK (memcmp (&before, &after, sizeof before) == 0);
    CHECK_EQ_INT (after.pods, 3);
    store_destroy (&s);
}

static void test_replay (void)
{
    store_t *s = s_open ("replay");
    const Hs__Ack *a =
        s_run (s, s_cmd ("cli", "req-1", 1, s_w (HS__OP__OP_CREATE, s_pod ("web", NULL, NULL))));
    CHECK_EQ_INT (a->code, 0);
    CHECK (!a->replayed);
    int64_t rev = store_revision (s);
    char *uid = hs_strdup (a->results[0]->uid);

    /* The retry is answered from memory: same answer, nothing applied. */
    a = s_run (s, s_cmd ("cli", "req-1", 1, s_w (HS__OP__OP_CREATE, s_pod ("web", NULL, NULL))));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_OK);
    CHECK (a->replayed);
    CHECK_EQ_INT (a->results[0]->result, HS__RESULT__RESULT_CREATED);
    CHECK_EQ_STR (a->results[0]->uid, uid);
    CHECK_EQ_INT (g_out.n_events, 0);
    CHECK_EQ_INT (store_revision (s), rev);

    /* A failure is remembered too. */
    a = s_run (s, s_cmd ("cli", "req-2", 1, s_delete ("pod", "nope", -1)));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_NOT_FOUND);
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_pod ("nope", NULL, NULL)))->code, 0);
    a = s_run (s, s_cmd ("cli", "req-2", 1, s_delete ("pod", "nope", -1)));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_NOT_FOUND);
    CHECK (a->replayed);
    /* Another client's request id is its own. */
    a = s_run (s, s_cmd ("other", "req-1", 1, s_w (HS__OP__OP_CREATE, s_pod ("web", NULL, NULL))));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_ALREADY_EXISTS);
    CHECK (!a->replayed);

    /* Across a close and reopen (a store restart). */
    uint64_t epoch = store_epoch (s);
    store_out_clear (&g_out);
    store_destroy (&s);
    s = s_open ("replay");
    CHECK (store_epoch (s) != epoch);
    CHECK_EQ_INT (store_revision (s), rev + 1);
    a = s_run (s, s_cmd ("cli", "req-1", 1, s_w (HS__OP__OP_CREATE, s_pod ("web", NULL, NULL))));
    CHECK (a->replayed);
    CHECK_EQ_INT (a->code, HS__CODE__CODE_OK);
    CHECK_EQ_STR (a->results[0]->uid, uid);
    CHECK_EQ_INT (g_out.n_events, 0);

    /* The same request twice in one batch: applied once. */
    Hs__Command *cmds[2] = {
        s_cmd ("cli", "req-3", 1, s_w (HS__OP__OP_CREATE, s_pod ("twice", NULL, NULL))),
        s_cmd ("cli", "req-3", 1, s_w (HS__OP__OP_CREATE, s_pod ("twice", NULL, NULL)))};
    CHECK (store_apply (s, cmds, 2, &g_out) >= 0);
    CHECK_EQ_INT (g_out.acks[0].ack->code, 0);
    CHECK_EQ_INT (g_out.acks[1].ack->code, 0);
    CHECK (g_out.acks[1].ack->replayed);
    CHECK_EQ_INT (g_out.n_events, 1);
    hs_pb_free (cmds[0]);
    hs_pb_free (cmds[1]);

    /* Unanswerable (no client id): counted, no ack. */
    Hs__Command *anon = s_cmd ("", "x", 1, s_w (HS__OP__OP_CREATE, s_pod ("anon", NULL, NULL)));
    CHECK (store_apply (s, &anon, 1, &g_out) >= 0);
    CHECK_EQ_INT (g_out.n_acks, 0);
    CHECK_EQ_INT (g_out.unanswerable, 1);
    hs_pb_free (anon);
    free (uid);
    store_out_clear (&g_out);
    store_destroy (&s);
}

static void test_ttl (void)
{
    _cleanup_free_ char *dir = s_dir ("ttl");
    store_opts_t opts = {.nosync = true, .request_ttl_ns = 1}; /* everything is old at once */
    store_t *s = NULL;
    CHECK_EQ_INT (store_open (dir, &opts, &s), 0);
    const Hs__Ack *a =
        s_run (s, s_cmd ("cli", "old", 1, s_w (HS__OP__OP_CREATE, s_pod ("p", NULL, NULL))));
    CHECK_EQ_INT (a->code, 0);
    /* The next batch prunes the remembered answer, so the retry is applied
     * again (and now finds the pod). */
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_pod ("q", NULL, NULL)))->code, 0);
    a = s_run (s, s_cmd ("cli", "old", 1, s_w (HS__OP__OP_CREATE, s_pod ("p", NULL, NULL))));
    CHECK (!a->replayed);
    CHECK_EQ_INT (a->code, HS__CODE__CODE_ALREADY_EXISTS);
    store_out_clear (&g_out);
    store_destroy (&s);
}

static void test_batch (void)
{
    store_t *s = s_open ("batch");
    int64_t rev = store_revision (s);
    /* A failing command between two good ones: only it is rolled back. Its
     * first write (a create) would have succeeded on its own. */
    Hs__Command *cmds[3] = {
        s_cmd ("c", "1", 1, s_w (HS__OP__OP_CREATE, s_pod ("one", NULL, NULL))),
        s_cmd ("c", "2", 2, s_w (HS__OP__OP_CREATE, s_pod ("half", NULL, NULL)),
               s_delete ("pod", "missing", -1)),
        s_cmd ("c", "3", 1, s_w (HS__OP__OP_CREATE, s_pod ("three", NULL, NULL)))};
    CHECK_EQ_INT (store_apply (s, cmds, 3, &g_out), 2);
    CHECK_EQ_INT (g_out.n_acks, 3);
    CHECK_EQ_INT (g_out.acks[0].ack->code, 0);
    CHECK_EQ_INT (g_out.acks[1].ack->code, HS__CODE__CODE_NOT_FOUND);
    CHECK_EQ_INT (g_out.acks[1].ack->failed_index, 1);
    CHECK_EQ_INT (g_out.acks[1].ack->n_results, 0);
    CHECK_EQ_INT (g_out.acks[2].ack->code, 0);
    /* One revision per changing command, events in commit order. */
    CHECK_EQ_INT (g_out.acks[0].ack->revision, rev + 1);
    CHECK_EQ_INT (g_out.acks[2].ack->revision, rev + 2);
    CHECK_EQ_INT (g_out.n_events, 2);
    CHECK_EQ_INT (g_out.events[0].event->revision, rev + 1);
    CHECK_EQ_INT (g_out.events[1].event->revision, rev + 2);
    CHECK_EQ_INT (g_out.events[0].event->seq + 1, g_out.events[1].event->seq);
    CHECK (s_get (s, HS_KIND_POD, "half") == NULL);
    CHECK_EQ_INT (s_count (s), 2);
    for (int i = 0; i < 3; i++) hs_pb_free (cmds[i]);

    /* All-or-nothing, and all writes of a command share its revision. */
    rev = store_revision (s);
    const Hs__Ack *a =
        s_run (s, s_cmd ("c", "4", 3, s_w (HS__OP__OP_CREATE, s_pod ("x", NULL, NULL)),
                         s_w (HS__OP__OP_CREATE, s_pod ("y", NULL, NULL)),
                         s_w (HS__OP__OP_CREATE, s_node ("n1", "1", "1Gi", NULL))));
    CHECK_EQ_INT (a->code, 0);
    CHECK_EQ_INT (a->n_results, 3);
    CHECK_EQ_INT (store_revision (s), rev + 1);
    for (size_t i = 0; i < a->n_results; i++)
        CHECK_EQ_INT (a->results[i]->resource_version, rev + 1);
    CHECK_EQ_INT (g_out.n_events, 3);
    a = s_run (s, s_cmd ("c", "5", 2, s_w (HS__OP__OP_CREATE, s_pod ("z", NULL, NULL)),
                         s_w (HS__OP__OP_CREATE, s_pod ("x", NULL, NULL))));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_ALREADY_EXISTS);
    CHECK_EQ_INT (a->failed_index, 1);
    CHECK (s_get (s, HS_KIND_POD, "z") == NULL);
    CHECK_EQ_INT (g_out.n_events, 0);
    CHECK_EQ_INT (store_revision (s), rev + 1);

    /* Dry run: answered, nothing written. */
    Hs__Command *dry = s_cmd ("c", "6", 1, s_w (HS__OP__OP_CREATE, s_pod ("dry", NULL, NULL)));
    dry->dry_run = true;
    a = s_run (s, dry);
    CHECK_EQ_INT (a->code, 0);
    CHECK_EQ_INT (a->results[0]->result, HS__RESULT__RESULT_CREATED);
    CHECK_EQ_INT (g_out.n_events, 0);
    CHECK (s_get (s, HS_KIND_POD, "dry") == NULL);
    CHECK_EQ_INT (store_revision (s), rev + 1);
    dry = s_cmd ("c", "7", 1, s_w (HS__OP__OP_CREATE, s_pod ("Bad_Name", NULL, NULL)));
    dry->dry_run = true;
    CHECK_EQ_INT (s_run (s, dry)->code, HS__CODE__CODE_INVALID);

    /* Limits: 1001 writes; a 2 MiB object. */
    Hs__Command *big = s_cmd ("c", "8", 0);
    for (int i = 0; i < 1001; i++)
        hs_pb_push ((void ***)&big->writes, &big->n_writes, s_delete ("pod", "x", -1));
    a = s_run (s, big);
    CHECK_EQ_INT (a->code, HS__CODE__CODE_INVALID);
    CHECK_CONTAINS (a->message, "at most 1000 writes");
    Hs__Object *fat = s_pod ("fat", NULL, NULL);
    char *blob = hs_malloc (2 << 20);
    memset (blob, 'a', (2 << 20) - 1);
    blob[(2 << 20) - 1] = '\0';
    hs_pb_map_set ((void ***)&hs_obj_meta (fat)->annotations, &hs_obj_meta (fat)->n_annotations,
                   &hs__object_meta__annotations_entry__descriptor, "blob", blob);
    free (blob);
    a = s_one (s, s_w (HS__OP__OP_CREATE, fat));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_INVALID);
    CHECK_CONTAINS (a->message, "Pod \"fat\" is invalid");
    /* Garbage writes never crash: no object, unknown op. */
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, NULL))->code, HS__CODE__CODE_INVALID);
    CHECK_EQ_INT (s_one (s, s_w ((Hs__Op)99, NULL))->code, HS__CODE__CODE_INVALID);
    CHECK_EQ_INT (s_one (s, s_target (HS__OP__OP_DELETE, "gizmo", "x"))->code,
                  HS__CODE__CODE_INVALID);
    char longname[1000];
    memset (longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CHECK_EQ_INT (s_one (s, s_delete ("pod", longname, -1))->code, HS__CODE__CODE_NOT_FOUND);
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_pod (longname, NULL, NULL)))->code,
                  HS__CODE__CODE_INVALID);
    Hs__Command *none = s_cmd ("c", "9", 0);
    CHECK_EQ_INT (s_run (s, none)->code, HS__CODE__CODE_INVALID);
    store_out_clear (&g_out);
    store_destroy (&s);
}

/* What hb.store measures: each ack knows when its command was taken (the
 * index survives an unanswerable command before it and a refused one after
 * the applied), the log's fdatasync is timed per batch with effects, the
 * LMDB commit per checkpoint. */
static Hs__Envelope *s_env (Hs__Command *cmd)
{
    Hs__Envelope *env = hs_pb_new (&hs__envelope__descriptor);
    env->body_case = HS__ENVELOPE__BODY_COMMAND;
    env->command = cmd;
    return env;
}

static void test_metrics (void)
{
    store_t *s = s_open ("metrics");
    hs_hist_t *wal = store_wal_hist (s), *fsync = store_fsync_hist (s);
    CHECK_EQ_STR (hs_hist_name (wal), "wal_fsync_duration_seconds");
    CHECK_EQ_STR (hs_hist_name (fsync), "fsync_duration_seconds");
    uint64_t wal0 = hs_hist_count (wal), fsync0 = hs_hist_count (fsync);
    uint64_t cp0 = store_checkpoints (s);
    store_batch_t *b = store_batch_new (s);
    int64_t t[5];
    /* A: applied; B: no client id (no ack); C: applied; D: refused (its
     * write is a pod on cmd.node). 2 ms apart, so each ack's time tells
     * which command it came from. */
    t[0] = hs_mono_ns ();
    store_batch_take (b, hs_strdup ("cmd.pod"),
                      s_env (s_cmd ("c", "a", 1, s_w (HS__OP__OP_CREATE, s_pod ("a", NULL, NULL)))),
                      100);
    usleep (2000);
    t[1] = hs_mono_ns ();
    store_batch_take (b, hs_strdup ("cmd.pod"),
                      s_env (s_cmd ("", "b", 1, s_w (HS__OP__OP_CREATE, s_pod ("b", NULL, NULL)))),
                      100);
    usleep (2000);
    t[2] = hs_mono_ns ();
    store_batch_take (b, hs_strdup ("cmd.pod"),
                      s_env (s_cmd ("c", "c", 1, s_w (HS__OP__OP_CREATE, s_pod ("c", NULL, NULL)))),
                      100);
    usleep (2000);
    t[3] = hs_mono_ns ();
    store_batch_take (b, hs_strdup ("cmd.node"),
                      s_env (s_cmd ("c", "d", 1, s_w (HS__OP__OP_CREATE, s_pod ("d", NULL, NULL)))),
                      100);
    t[4] = hs_mono_ns ();
    CHECK_EQ_INT (store_batch_n_commands (b), 4);
    CHECK (store_batch_apply (b, &g_out));
    CHECK_EQ_INT (g_out.n_acks, 3);
    CHECK_EQ_STR (g_out.acks[0].ack->request_id, "a");
    CHECK_EQ_STR (g_out.acks[1].ack->request_id, "c");
    CHECK_EQ_STR (g_out.acks[2].ack->request_id, "d");
    CHECK_EQ_INT (g_out.acks[2].ack->code, HS__CODE__CODE_FORBIDDEN);
    CHECK_EQ_INT (g_out.acks[0].cmd, 0);
    CHECK_EQ_INT (g_out.acks[1].cmd, 2);
    CHECK (g_out.acks[2].cmd == SIZE_MAX);
    const int from[] = {0, 2, 3};
    for (int k = 0; k < 3; k++) {
        int64_t r = g_out.acks[k].received_ns;
        if (r < t[from[k]] || r > t[from[k] + 1])
            fprintf (stderr, "  ack %d received %lld, want in [%lld, %lld]\n", k, (long long)r,
                     (long long)t[from[k]], (long long)t[from[k] + 1]);
        CHECK (r >= t[from[k]] && r <= t[from[k] + 1]);
    }
    store_batch_end (b);
    /* one batch with effects: one log append; no LMDB commit yet */
    CHECK_EQ_INT (hs_hist_count (wal), wal0 + 1);
    CHECK_EQ_INT (hs_hist_count (fsync), fsync0);
    /* a batch with nothing to make durable (a replay of "a") appends nothing,
     * and its ack still knows its command's time */
    store_batch_take (b, hs_strdup ("cmd.pod"),
                      s_env (s_cmd ("c", "a", 1, s_w (HS__OP__OP_CREATE, s_pod ("a", NULL, NULL)))),
                      100);
    CHECK (store_batch_apply (b, &g_out));
    CHECK_EQ_INT (g_out.n_acks, 1);
    CHECK (g_out.acks[0].ack->replayed);
    CHECK (g_out.acks[0].received_ns > t[4]);
    store_batch_end (b);
    CHECK_EQ_INT (hs_hist_count (wal), wal0 + 1);
    CHECK_EQ_INT (store_checkpoint (s), 0);
    CHECK_EQ_INT (hs_hist_count (fsync), fsync0 + 1);
    CHECK_EQ_INT (store_checkpoints (s), cp0 + 1);
    /* the store's own commands (store_apply) carry no receive time */
    const Hs__Ack *a = s_one (s, s_w (HS__OP__OP_CREATE, s_pod ("e", NULL, NULL)));
    CHECK_EQ_INT (a->code, 0);
    CHECK_EQ_INT (g_out.acks[0].received_ns, 0);
    CHECK_EQ_INT (g_out.acks[0].cmd, 0);
    store_batch_destroy (&b);
    store_out_clear (&g_out);
    store_destroy (&s);
}

static void test_validation_via_store (void)
{
    store_t *s = s_open ("validation");
    Hs__Object *p = s_pod ("web", NULL, NULL);
    hs_pb_set_str (&p->pod->spec->containers[0]->name, NULL);
    const Hs__Ack *a = s_one (s, s_w (HS__OP__OP_APPLY, p));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_INVALID);
    CHECK_EQ_STR (a->message, "Pod \"web\" is invalid: spec.containers[0].name: Required value");
    CHECK_EQ_INT (g_out.n_events, 0);
    CHECK_EQ_INT (s_count (s), 0);

    /* Stored defaults. */
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_pod ("web", NULL, NULL)))->code, 0);
    Hs__Object *st = s_get (s, HS_KIND_POD, "web");
    CHECK_EQ_STR (st->pod->spec->restart_policy, "Always");
    CHECK_EQ_INT (st->pod->spec->termination_grace_period_seconds->value, 30);
    CHECK_EQ_STR (hs_obj_meta (st)->namespace_, "default");
    hs_pb_free (st);

    /* A Job gets its generated selector with its own uid. */
    Hs__Object *j = hs_obj_new (HS_KIND_JOB, "", "pi");
    j->job->spec = hs_pb_new (&hs__job_spec__descriptor);
    j->job->spec->template_ = hs_pb_new (&hs__pod_template_spec__descriptor);
    Hs__Object *tp = s_pod ("x", NULL, NULL);
    j->job->spec->template_->spec = TAKE_PTR (tp->pod->spec);
    hs_pb_free (tp);
    a = s_one (s, s_w (HS__OP__OP_CREATE, j));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_INVALID);
    CHECK_CONTAINS (a->message, "spec.template.spec.restartPolicy: Unsupported value: \"Always\"");
    store_out_clear (&g_out);
    store_destroy (&s);
}

static Hs__Object *s_job (const char *name)
{
    Hs__Object *j = hs_obj_new (HS_KIND_JOB, "", name);
    j->job->spec = hs_pb_new (&hs__job_spec__descriptor);
    j->job->spec->template_ = hs_pb_new (&hs__pod_template_spec__descriptor);
    Hs__Object *tp = s_pod ("x", NULL, NULL);
    j->job->spec->template_->spec = TAKE_PTR (tp->pod->spec);
    hs_pb_free (tp);
    hs_pb_set_str (&j->job->spec->template_->spec->restart_policy, "Never");
    return j;
}

static void test_apply_kinds (void)
{
    store_t *s = s_open ("kinds");
    /* A Job's generated selector survives re-applying the same manifest. */
    const Hs__Ack *a = s_one (s, s_w (HS__OP__OP_APPLY, s_job ("pi")));
    CHECK_EQ_INT (a->code, 0);
    Hs__Object *j = s_get (s, HS_KIND_JOB, "pi");
    CHECK (j && j->job->spec->selector && j->job->spec->selector->n_match_labels == 2);
    CHECK_EQ_STR (hs_pb_map_get ((void *const *)j->job->spec->selector->match_labels,
                                 j->job->spec->selector->n_match_labels, "controller-uid"),
                  hs_obj_meta (j)->uid);
    hs_pb_free (j);
    a = s_one (s, s_w (HS__OP__OP_APPLY, s_job ("pi")));
    CHECK_EQ_INT (a->code, 0);
    CHECK_EQ_INT (a->results[0]->result, HS__RESULT__RESULT_UNCHANGED);

    /* An Event has no spec: apply replaces its content, and an apply that
     * says the same again (reason and message) is a repeat: counted, with
     * the first timestamp kept. */
    Hs__Object *e = hs_obj_new (HS_KIND_EVENT, "", "web.1");
    hs_pb_set_str (&e->event->reason, "Scheduled");
    e->event->count = 1;
    e->event->first_timestamp = e->event->last_timestamp = 1000;
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_APPLY, e))->code, 0);
    e = hs_obj_new (HS_KIND_EVENT, "", "web.1");
    hs_pb_set_str (&e->event->reason, "Scheduled");
    e->event->count = 2;
    e->event->first_timestamp = e->event->last_timestamp = 2000;
    a = s_one (s, s_w (HS__OP__OP_APPLY, e));
    CHECK_EQ_INT (a->results[0]->result, HS__RESULT__RESULT_CONFIGURED);
    Hs__Object *got = s_get (s, HS_KIND_EVENT, "web.1");
    CHECK_EQ_INT (got->event->count, 3);
    CHECK_EQ_INT (got->event->first_timestamp, 1000);
    CHECK_EQ_INT (got->event->last_timestamp, 2000);
    CHECK_EQ_STR (got->event->reason, "Scheduled");
    hs_pb_free (got);
    e = hs_obj_new (HS_KIND_EVENT, "", "web.1");
    hs_pb_set_str (&e->event->reason, "Pulled");
    e->event->count = 1;
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_APPLY, e))->code, 0);
    got = s_get (s, HS_KIND_EVENT, "web.1");
    CHECK_EQ_INT (got->event->count, 1);
    CHECK_EQ_STR (got->event->reason, "Pulled");
    hs_pb_free (got);
    a = s_one (s, s_w (HS__OP__OP_UPDATE_STATUS, hs_obj_new (HS_KIND_EVENT, "", "web.1")));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_INVALID);

    /* Finalizers hold a delete; dropping the last one completes it. */
    Hs__Object *n = s_node ("n1", "1", "1Gi", NULL);
    hs_pb_push ((void ***)&hs_obj_meta (n)->finalizers, &hs_obj_meta (n)->n_finalizers,
                hs_strdup ("example.com/hold"));
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, n))->code, 0);
    a = s_one (s, s_delete ("node", "n1", -1));
    CHECK_EQ_INT (a->results[0]->result, HS__RESULT__RESULT_DELETING);
    a = s_one (s, s_w (HS__OP__OP_UPDATE, s_node ("n1", "1", "1Gi", NULL)));
    CHECK_EQ_INT (a->code, 0);
    CHECK_EQ_INT (a->results[0]->result, HS__RESULT__RESULT_DELETED);
    CHECK (s_get (s, HS_KIND_NODE, "n1") == NULL);
    store_out_clear (&g_out);
    store_destroy (&s);
}

static void test_streams (void)
{
    store_t *s = s_open ("streams");
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_node ("n1", "4", "8Gi", NULL)))->code, 0);
    int64_t last_rev = store_revision (s);
    uint64_t last_unbound = 0, last_n1 = 0;
    for (int i = 0; i < 20; i++) {
        char name[16];
        snprintf (name, sizeof name, "p%d", i);
        const Hs__Ack *a = s_one (s, s_w (HS__OP__OP_CREATE, s_pod (name, NULL, NULL)));
        CHECK (a->revision > last_rev);
        last_rev = a->revision;
        CHECK_EQ_STR (g_out.events[0].event->stream, "pod.-");
        CHECK_EQ_INT (g_out.events[0].event->seq, last_unbound + 1);
        last_unbound = g_out.events[0].event->seq;
        if (i % 2) {
            a = s_one (s, s_bind (name, "n1"));
            CHECK_EQ_INT (a->code, 0);
            CHECK_EQ_STR (g_out.events[0].event->stream, "pod.n1");
            CHECK_EQ_INT (g_out.events[0].event->seq, last_n1 + 1);
            last_n1 = g_out.events[0].event->seq;
            CHECK (a->revision > last_rev);
            last_rev = a->revision;
        }
    }
    /* The heartbeat reports each stream's last sequence. */
    Hs__StoreHeartbeat *hb = hs_pb_new (&hs__store_heartbeat__descriptor);
    CHECK_EQ_INT (store_heartbeat (s, hb), 0);
    CHECK_EQ_INT (hb->revision, last_rev);
    CHECK_EQ_INT (hb->objects, 21);
    CHECK_EQ_INT (hb->epoch, store_epoch (s));
    int found = 0;
    for (size_t i = 0; i < hb->n_streams; i++) {
        if (hs_streq (hb->streams[i]->stream, "pod.-")) {
            found++;
            CHECK_EQ_INT (hb->streams[i]->seq, 20);
        }
        if (hs_streq (hb->streams[i]->stream, "pod.n1")) {
            found++;
            CHECK_EQ_INT (hb->streams[i]->seq, 10);
        }
        if (hs_streq (hb->streams[i]->stream, "node.-")) {
            found++;
            CHECK_EQ_INT (hb->streams[i]->seq, 1);
        }
    }
    CHECK_EQ_INT (found, 3);
    hs_pb_free (hb);

    /* Sequences and revision persist across a restart. */
    store_out_clear (&g_out);
    store_destroy (&s);
    s = s_open ("streams");
    CHECK_EQ_INT (store_revision (s), last_rev);
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_pod ("late", NULL, NULL)))->code, 0);
    CHECK_EQ_INT (g_out.events[0].event->seq, 21);
    CHECK_EQ_INT (g_out.events[0].event->revision, last_rev + 1);

    /* Snapshots: the kinds asked, pods of one node, and the matching streams. */
    hs_kind_t pods = HS_KIND_POD;
    hs_db_snapshot_t snap;
    CHECK_EQ_INT (store_checkpoint (s), 0);
    CHECK_EQ_INT (hs_db_snapshot (store_db (s), &pods, 1, "n1", &snap), 0);
    CHECK_EQ_INT (snap.n_objects, 10);
    CHECK_EQ_INT (snap.n_streams, 1);
    CHECK_EQ_STR (snap.streams[0]->stream, "pod.n1");
    CHECK_EQ_INT (snap.streams[0]->seq, 10);
    CHECK_EQ_INT (snap.revision, store_revision (s));
    CHECK_EQ_INT (snap.epoch, store_epoch (s));
    hs_db_snapshot_free (&snap);
    CHECK_EQ_INT (hs_db_snapshot (store_db (s), NULL, 0, NULL, &snap), 0);
    CHECK_EQ_INT (snap.n_objects, 22);
    CHECK_EQ_INT (snap.n_streams, 3);
    hs_db_snapshot_free (&snap);
    hs_kind_t nodes = HS_KIND_NODE;
    CHECK_EQ_INT (hs_db_snapshot (store_db (s), &nodes, 1, NULL, &snap), 0);
    CHECK_EQ_INT (snap.n_objects, 1);
    CHECK_EQ_INT (snap.n_streams, 1);
    hs_db_snapshot_free (&snap);
    store_out_clear (&g_out);
    store_destroy (&s);
}

static void test_snapshot_restore (void)
{
    store_t *s = s_open ("snapsrc");
    for (int i = 0; i < 30; i++) {
        char name[16];
        snprintf (name, sizeof name, "p%d", i);
        CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_pod (name, NULL, NULL)))->code, 0);
    }
    hs_db_snapshot_t snap;
    CHECK_EQ_INT (store_checkpoint (s), 0);
    CHECK_EQ_INT (hs_db_snapshot (store_db (s), NULL, 0, NULL, &snap), 0);
    _cleanup_free_ char *file = s_dir ("snap.hssnap");
    CHECK_EQ_INT (hs_db_snapshot_write_file (file, &snap), 0);
    hs_db_snapshot_t back;
    char *err = NULL;
    CHECK_EQ_INT (hs_db_snapshot_read_file (file, &back, &err), 0);
    CHECK_EQ_INT (back.n_objects, 30);
    CHECK_EQ_INT (back.revision, snap.revision);
    CHECK_EQ_INT (back.epoch, snap.epoch);
    for (size_t i = 0; i < back.n_objects && i < snap.n_objects; i++)
        CHECK (hs_pb_equal (back.objects[i], snap.objects[i]));

    /* Restore into a fresh dir: a store there serves the same, remembers the
     * revision and sequences. */
    _cleanup_free_ char *dir = s_dir ("restored");
    CHECK_EQ_INT (hs_db_restore (dir, &back), 0);
    CHECK_EQ_INT (hs_db_restore (dir, &back), -EEXIST);
    store_t *r = s_open ("restored");
    CHECK_EQ_INT (store_revision (r), snap.revision);
    CHECK_EQ_INT (s_count (r), 30);
    CHECK_EQ_INT (s_one (r, s_w (HS__OP__OP_CREATE, s_pod ("after", NULL, NULL)))->code, 0);
    CHECK_EQ_INT (g_out.events[0].event->seq, 31);
    store_destroy (&r);
    hs_db_snapshot_free (&back);
    hs_db_snapshot_free (&snap);
    store_out_clear (&g_out);
    store_destroy (&s);
}

/* Mutated commands (whatever still decodes) never crash the store and are
 * always answered. */
static void test_fuzz (void)
{
    store_t *s = s_open ("fuzz");
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_node ("n1", "4", "8Gi", "10")))->code, 0);
    Hs__Object *p = s_pod ("web", "100m", "64Mi");
    hs_pb_map_set ((void ***)&hs_obj_meta (p)->labels, &hs_obj_meta (p)->n_labels,
                   &hs__object_meta__labels_entry__descriptor, "app", "web");
    Hs__Write *bind = s_bind ("web", "n1");
    Hs__Command *seed =
        s_cmd ("fz", "seed", 3, s_w (HS__OP__OP_APPLY, p), bind, s_delete ("pod", "web", 5));
    size_t len;
    uint8_t *base = hs_pb_pack (seed, &len);
    hs_pb_free (seed);
    unsigned rnd = 12345;
    size_t decoded = 0;
    for (int iter = 0; iter < 3000; iter++) {
        uint8_t *buf = hs_malloc (len);
        memcpy (buf, base, len);
        int flips = 1 + (int)((rnd = rnd * 1103515245 + 12345) >> 16) % 4;
        for (int f = 0; f < flips; f++) {
            rnd = rnd * 1103515245 + 12345;
            buf[(rnd >> 8) % len] ^= (uint8_t)(1u << ((rnd >> 4) % 8));
        }
        Hs__Command *cmd = hs__command__unpack (NULL, len, buf);
        free (buf);
        if (!cmd) continue;
        decoded++;
        hs_pb_set_str (&cmd->client_id, "fz"); /* answerable */
        char req[32];
        snprintf (req, sizeof req, "f%d", iter);
        hs_pb_set_str (&cmd->request_id, req);
        CHECK (store_apply (s, &cmd, 1, &g_out) >= 0);
        CHECK_EQ_INT (g_out.n_acks, 1);
        hs_pb_free (cmd);
    }
    CHECK (decoded > 100);
    free (base);
    store_out_clear (&g_out);
    store_destroy (&s);
}

/* Deleting an owner with propagationPolicy Orphan keeps its dependents and
 * drops their reference to it, in the deleting transaction; Background
 * (the default) leaves the references for the garbage collectors. */
static void test_orphan (void)
{
    store_t *s = s_open ("orphan");
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_job ("pi")))->code, 0);
    Hs__Object *job = s_get (s, HS_KIND_JOB, "pi");
    for (int i = 0; i < 2; i++) {
        Hs__Object *p = s_pod (i ? "pi-b" : "pi-a", NULL, NULL);
        Hs__ObjectMeta *m = hs_obj_meta (p);
        hs_pb_push ((void ***)&m->owner_references, &m->n_owner_references,
                    hs_controller_ref_new (job));
        CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, p))->code, 0);
    }
    Hs__Object *other = s_pod ("other", NULL, NULL);
    Hs__OwnerReference *r = hs_pb_new (&hs__owner_reference__descriptor);
    hs_pb_set_str (&r->uid, "someone-else");
    hs_pb_set_str (&r->api_version, "batch/v1");
    hs_pb_set_str (&r->kind, "Job");
    hs_pb_set_str (&r->name, "else");
    hs_pb_push ((void ***)&hs_obj_meta (other)->owner_references,
                &hs_obj_meta (other)->n_owner_references, r);
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, other))->code, 0);

    Hs__Write *w = s_delete ("job", "pi", -1);
    hs_pb_set_str (&w->propagation_policy, "Orphan");
    CHECK_EQ_INT (s_one (s, w)->code, 0);
    CHECK (s_get (s, HS_KIND_JOB, "pi") == NULL);
    for (int i = 0; i < 2; i++) {
        Hs__Object *p = s_get (s, HS_KIND_POD, i ? "pi-b" : "pi-a");
        CHECK (p && hs_obj_meta (p)->n_owner_references == 0);
        hs_pb_free (p);
    }
    Hs__Object *o = s_get (s, HS_KIND_POD, "other");
    CHECK (o && hs_obj_meta (o)->n_owner_references == 1);
    hs_pb_free (o);
    hs_pb_free (job);
    store_out_clear (&g_out);
    store_destroy (&s);
}

/* Events not repeated within the TTL are found for deletion; fresh ones stay. */
static void test_event_ttl (void)
{
    store_t *s = s_open ("event_ttl");
    const char *names[] = {"old.1", "old.2", "fresh.1"};
    const int64_t last[] = {1000, 2000, 9000};
    for (int i = 0; i < 3; i++) {
        Hs__Object *e = hs_obj_new (HS_KIND_EVENT, "", names[i]);
        hs_pb_set_str (&e->event->reason, "Test");
        e->event->first_timestamp = e->event->last_timestamp = last[i];
        CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_APPLY, e))->code, 0);
    }
    CHECK (store_expired_events (s, 500, 10) == NULL);
    Hs__Command *cmd = store_expired_events (s, 5000, 10);
    CHECK (cmd && cmd->n_writes == 2);
    if (cmd) {
        store_out_clear (&g_out);
        CHECK (store_apply (s, &cmd, 1, &g_out) >= 0);
        CHECK_EQ_INT (g_out.n_acks, 1);
        CHECK_EQ_INT (g_out.acks[0].ack->code, 0);
        CHECK_EQ_INT (g_out.n_events, 2);
        hs_pb_free (cmd);
    }
    CHECK (s_get (s, HS_KIND_EVENT, "old.1") == NULL);
    Hs__Object *f = s_get (s, HS_KIND_EVENT, "fresh.1");
    CHECK (f != NULL);
    hs_pb_free (f);
    cmd = store_expired_events (s, 5000, 10);
    CHECK (cmd == NULL);
    store_out_clear (&g_out);
    store_destroy (&s);
}

/* Re-applying an unchanged manifest keeps what controllers annotated. */
static void test_apply_keeps_controller_annotations (void)
{
    store_t *s = s_open ("keep_annotations");
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_APPLY, s_job ("pi")))->code, 0);
    Hs__Object *j = s_get (s, HS_KIND_JOB, "pi");
    Hs__ObjectMeta *m = hs_obj_meta (j);
    hs_pb_map_set ((void ***)&m->annotations, &m->n_annotations,
                   &hs__object_meta__annotations_entry__descriptor,
                   "deployment.kubernetes.io/revision", "3");
    hs_pb_map_set ((void ***)&m->annotations, &m->n_annotations,
                   &hs__object_meta__annotations_entry__descriptor, "note", "mine");
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_UPDATE, j))->code, 0);
    const Hs__Ack *a = s_one (s, s_w (HS__OP__OP_APPLY, s_job ("pi")));
    CHECK_EQ_INT (a->code, 0);
    Hs__Object *got = s_get (s, HS_KIND_JOB, "pi");
    m = hs_obj_meta (got);
    CHECK_EQ_STR (hs_pb_map_get ((void *const *)m->annotations, m->n_annotations,
                                 "deployment.kubernetes.io/revision"),
                  "3");
    /* a user's annotation the manifest no longer names goes */
    CHECK (hs_pb_map_get ((void *const *)m->annotations, m->n_annotations, "note") == NULL);
    hs_pb_free (got);
    store_out_clear (&g_out);
    store_destroy (&s);
}

/* A snapshot request the store cannot serve says why: an unknown kind, or a
 * node name too long for the store's index, is the client's error
 * (Invalid), not the store's (Internal); either way one last chunk. */
static void test_snapshot_errors (void)
{
    store_t *s = s_open ("snapshot_errors");
    char long_node[700];
    memset (long_node, 'n', sizeof long_node - 1);
    long_node[sizeof long_node - 1] = '\0';
    char *kinds[] = {"gizmo"};
    Hs__SnapshotRequest bad_kind = HS__SNAPSHOT_REQUEST__INIT,
                        bad_node = HS__SNAPSHOT_REQUEST__INIT;
    bad_kind.client_id = bad_node.client_id = "c1";
    bad_kind.request_id = bad_node.request_id = "r1";
    bad_kind.kinds = kinds;
    bad_kind.n_kinds = 1;
    bad_node.pod_node = long_node;
    const Hs__SnapshotRequest *reqs[] = {&bad_kind, &bad_node};
    for (size_t i = 0; i < HS_ARRAY_LEN (reqs); i++) {
        store_snap_answer_t a = {0};
        CHECK_EQ_INT (store_snapshot_answer (s, reqs[i], &a), 0);
        CHECK_EQ_INT ((int)a.n, 1);
        CHECK (a.chunks[0]->last);
        CHECK_EQ_INT (a.chunks[0]->code, HS__CODE__CODE_INVALID);
        store_snap_answer_free (&a);
    }
    store_destroy (&s);
}

/* ------------------------------------------------------------------ addresses */

static store_t *s_open_net (const char *name, const char *cluster, int mask, const char *service)
{
    _cleanup_free_ char *dir = s_dir (name);
    hs_net_conf_t net;
    hs_net_conf_default (&net);
    CHECK_EQ_INT (hs_cidr_parse (cluster, &net.cluster), 0);
    net.node_mask = mask;
    CHECK_EQ_INT (hs_cidr_parse (service, &net.service), 0);
    const char *why = NULL;
    CHECK_EQ_INT (hs_net_conf_check (&net, &why), 0);
    store_opts_t opts = {.nosync = true, .net = &net};
    store_t *s = NULL;
    CHECK_EQ_INT (store_open (dir, &opts, &s), 0);
    return s;
}

static Hs__Object *s_svc (const char *name, const char *cluster_ip)
{
    Hs__Object *o = hs_obj_new (HS_KIND_SERVICE, "", name);
    o->service->spec = hs_pb_new (&hs__service_spec__descriptor);
    hs_pb_set_str (&o->service->spec->cluster_ip, cluster_ip);
    Hs__ServicePort *p = hs_pb_new (&hs__service_port__descriptor);
    p->port = 80;
    hs_pb_push ((void ***)&o->service->spec->ports, &o->service->spec->n_ports, p);
    hs_pb_map_set ((void ***)&o->service->spec->selector, &o->service->spec->n_selector,
                   &hs__service_spec__selector_entry__descriptor, "app", name);
    return o;
}

static Hs__Object *s_bare_node (const char *name, const char *pod_cidr)
{
    Hs__Object *o = hs_obj_new (HS_KIND_NODE, "", name);
    o->node->spec = hs_pb_new (&hs__node_spec__descriptor);
    hs_pb_set_str (&o->node->spec->pod_cidr, pod_cidr);
    return o;
}

/* The clusterIP the store gave Service name ("" if none). */
static char *s_cluster_ip (store_t *s, const char *name)
{
    _cleanup_pb_ Hs__Object *o = s_get (s, HS_KIND_SERVICE, name);
    CHECK (o != NULL);
    if (!o || !o->service->spec) return hs_strdup ("");
    const Hs__ServiceSpec *sp = o->service->spec;
    CHECK_EQ_INT (sp->n_cluster_ips, hs_empty (sp->cluster_ip) ? 0 : 1);
    if (sp->n_cluster_ips == 1) CHECK_EQ_STR (sp->cluster_ips[0], sp->cluster_ip);
    return hs_strdup (sp->cluster_ip);
}

static char *s_pod_cidr (store_t *s, const char *name)
{
    _cleanup_pb_ Hs__Object *o = s_get (s, HS_KIND_NODE, name);
    CHECK (o != NULL);
    if (!o || !o->node->spec) return hs_strdup ("");
    const Hs__NodeSpec *sp = o->node->spec;
    CHECK_EQ_INT (sp->n_pod_cidrs, hs_empty (sp->pod_cidr) ? 0 : 1);
    if (sp->n_pod_cidrs == 1) CHECK_EQ_STR (sp->pod_cidrs[0], sp->pod_cidr);
    return hs_strdup (sp->pod_cidr);
}

static uint32_t s_ip (const char *text)
{
    uint32_t ip = 0;
    CHECK_EQ_INT (hs_ip_parse (text, &ip), 0);
    return ip;
}

static void test_alloc_bands (void)
{
    hs_cidr_t c;
    hs_cidr_parse ("10.96.0.0/16", &c);
    CHECK_EQ_INT (store_alloc_svc_band (&c), 256);
    hs_cidr_parse ("10.96.0.0/24", &c);
    CHECK_EQ_INT (store_alloc_svc_band (&c), 16);
    hs_cidr_parse ("10.96.0.0/20", &c);
    CHECK_EQ_INT (store_alloc_svc_band (&c), 256);
    hs_cidr_parse ("10.96.0.0/22", &c);
    CHECK_EQ_INT (store_alloc_svc_band (&c), 64);
    hs_cidr_parse ("10.96.0.0/28", &c);
    CHECK_EQ_INT (store_alloc_svc_band (&c), 0);
    CHECK (!store_alloc_svc_in_range (&c, s_ip ("10.96.0.0")));
    CHECK (store_alloc_svc_in_range (&c, s_ip ("10.96.0.1")));
    CHECK (store_alloc_svc_in_range (&c, s_ip ("10.96.0.14")));
    CHECK (!store_alloc_svc_in_range (&c, s_ip ("10.96.0.15")));
    CHECK (!store_alloc_svc_in_range (&c, s_ip ("10.96.0.16")));
    uint8_t k[STORE_ALLOC_KEY_LEN];
    store_alloc_key (k, STORE_ALLOC_SVC, s_ip ("10.96.1.2"));
    uint32_t back = 0;
    CHECK (store_alloc_key_parse (k, sizeof k, STORE_ALLOC_SVC, &back));
    CHECK_EQ_INT (back, s_ip ("10.96.1.2"));
    CHECK (!store_alloc_key_parse (k, sizeof k, STORE_ALLOC_NODE, &back));
    CHECK (!store_alloc_key_parse (k, 4, STORE_ALLOC_SVC, &back));
}

static void test_cluster_ip (void)
{
    store_t *s = s_open ("clusterip"); /* Kubernetes' defaults: 10.96.0.0/16 */
    hs_cidr_t range;
    hs_cidr_parse ("10.96.0.0/16", &range);
    /* dynamic: the upper band, every one distinct */
    char *ips[20];
    for (int i = 0; i < 20; i++) {
        char name[16];
        snprintf (name, sizeof name, "s%d", i);
        const Hs__Ack *a = s_one (s, s_w (HS__OP__OP_CREATE, s_svc (name, NULL)));
        CHECK_EQ_INT (a->code, 0);
        ips[i] = s_cluster_ip (s, name);
        uint32_t ip = s_ip (ips[i]);
        CHECK (store_alloc_svc_in_range (&range, ip));
        CHECK (ip - range.addr - 1 >= 256); /* not in the lower band */
        for (int j = 0; j < i; j++) CHECK (strcmp (ips[i], ips[j]) != 0);
    }
    /* requested and free: kept (kube-dns's) */
    const Hs__Ack *a = s_one (s, s_w (HS__OP__OP_CREATE, s_svc ("dns", "10.96.0.10")));
    CHECK_EQ_INT (a->code, 0);
    _cleanup_free_ char *dns = s_cluster_ip (s, "dns");
    CHECK_EQ_STR (dns, "10.96.0.10");
    /* requested and taken: refused, nothing written */
    int64_t rev = store_revision (s);
    a = s_one (s, s_w (HS__OP__OP_CREATE, s_svc ("x", "10.96.0.10")));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_INVALID);
    CHECK_EQ_STR (a->message,
                  "Service \"x\" is invalid: spec.clusterIPs: Invalid value: "
                  "[]string{\"10.96.0.10\"}: failed to allocate IP 10.96.0.10: provided IP is "
                  "already allocated");
    a = s_one (s, s_w (HS__OP__OP_CREATE, s_svc ("x", ips[3])));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_INVALID);
    CHECK_CONTAINS (a->message, "provided IP is already allocated");
    /* outside the range, and its network and broadcast addresses */
    a = s_one (s, s_w (HS__OP__OP_CREATE, s_svc ("x", "10.97.0.1")));
    CHECK_EQ_STR (a->message,
                  "Service \"x\" is invalid: spec.clusterIPs: Invalid value: "
                  "[]string{\"10.97.0.1\"}: failed to allocate IP 10.97.0.1: the provided IP "
                  "(10.97.0.1) is not in the valid range. The range of valid IPs is "
                  "10.96.0.0/16");
    a = s_one (s, s_w (HS__OP__OP_CREATE, s_svc ("x", "10.96.0.0")));
    CHECK_CONTAINS (a->message, "is not in the valid range");
    a = s_one (s, s_w (HS__OP__OP_CREATE, s_svc ("x", "10.96.255.255")));
    CHECK_CONTAINS (a->message, "is not in the valid range");
    /* a command that fails after one allocation rolls it back */
    _cleanup_pb_ Hs__Object *bad = s_svc ("y", NULL);
    bad->service->spec->ports[0]->port = 0;
    a = s_run (s, s_cmd ("c1", "two", 2, s_w (HS__OP__OP_CREATE, s_svc ("ok1", "10.96.0.20")),
                         s_w (HS__OP__OP_CREATE, TAKE_PTR (bad))));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_INVALID);
    CHECK_EQ_INT (store_revision (s), rev);
    a = s_one (s, s_w (HS__OP__OP_CREATE, s_svc ("ok1", "10.96.0.20")));
    CHECK_EQ_INT (a->code, 0);
    /* two in one command asking for one address: the second is refused */
    a = s_run (s, s_cmd ("c1", "dup", 2, s_w (HS__OP__OP_CREATE, s_svc ("d1", "10.96.0.30")),
                         s_w (HS__OP__OP_CREATE, s_svc ("d2", "10.96.0.30"))));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_INVALID);
    CHECK_EQ_INT (a->failed_index, 1);
    /* a dry run allocates nothing */
    Hs__Command *dry = s_cmd ("c1", "dry", 1, s_w (HS__OP__OP_CREATE, s_svc ("dry", "10.96.0.31")));
    dry->dry_run = true;
    CHECK_EQ_INT (s_run (s, dry)->code, 0);
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_svc ("dry", "10.96.0.31")))->code, 0);

    /* headless: nothing allocated */
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_svc ("hl", "None")))->code, 0);
    _cleanup_free_ char *hl = s_cluster_ip (s, "hl");
    CHECK_EQ_STR (hl, "None");

    /* apply without clusterIP keeps it (unchanged); a new one is refused */
    a = s_one (s, s_w (HS__OP__OP_APPLY, s_svc ("s1", NULL)));
    CHECK_EQ_INT (a->code, 0);
    CHECK_EQ_INT (a->results[0]->result, HS__RESULT__RESULT_UNCHANGED);
    _cleanup_free_ char *kept = s_cluster_ip (s, "s1");
    CHECK_EQ_STR (kept, ips[1]);
    a = s_one (s, s_w (HS__OP__OP_APPLY, s_svc ("s1", "10.96.0.40")));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_INVALID);
    CHECK_EQ_STR (a->message, "Service \"s1\" is invalid: spec.clusterIPs[0]: Invalid value: "
                              "[]string{\"10.96.0.40\"}: may not change once set");
    a = s_one (s, s_w (HS__OP__OP_APPLY, s_svc ("hl", "10.96.0.41")));
    CHECK_CONTAINS (a->message, "may not change once set");
    /* a changed spec without clusterIP: configured, the address kept */
    Hs__Object *s1 = s_svc ("s1", NULL);
    s1->service->spec->ports[0]->port = 8080;
    a = s_one (s, s_w (HS__OP__OP_APPLY, s1));
    CHECK_EQ_INT (a->results[0]->result, HS__RESULT__RESULT_CONFIGURED);
    _cleanup_free_ char *kept2 = s_cluster_ip (s, "s1");
    CHECK_EQ_STR (kept2, ips[1]);

    /* delete frees it */
    CHECK_EQ_INT (s_one (s, s_delete ("service", "dns", -1))->code, 0);
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_svc ("dns2", "10.96.0.10")))->code, 0);
    CHECK_EQ_INT (s_one (s, s_delete ("service", "s2", -1))->code, 0);
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_svc ("re", ips[2])))->code, 0);

    /* the index is rebuilt at a reopen: taken stays taken */
    store_out_clear (&g_out);
    store_destroy (&s);
    s = s_open ("clusterip");
    a = s_one (s, s_w (HS__OP__OP_CREATE, s_svc ("x", "10.96.0.10")));
    CHECK_CONTAINS (a->message, "provided IP is already allocated");
    a = s_one (s, s_w (HS__OP__OP_CREATE, s_svc ("x", ips[5])));
    CHECK_CONTAINS (a->message, "provided IP is already allocated");
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_svc ("x", "10.96.0.11")))->code, 0);
    for (int i = 0; i < 20; i++) free (ips[i]);
    store_out_clear (&g_out);
    store_destroy (&s);
}

/* A /27 (the smallest Service CIDR) has 30 usable addresses, the lowest
 * 16 the lower band: the upper 14 go first, so the DNS's .10 stays free
 * until they are taken. */
static void test_cluster_ip_exhausted (void)
{
    store_t *s = s_open_net ("svcfull", "10.244.0.0/16", 24, "10.96.0.0/27");
    bool seen[32] = {false};
    for (int i = 0; i < 30; i++) {
        char name[16];
        snprintf (name, sizeof name, "s%d", i);
        const Hs__Ack *a = s_one (s, s_w (HS__OP__OP_CREATE, s_svc (name, NULL)));
        CHECK_EQ_INT (a->code, 0);
        _cleanup_free_ char *ip = s_cluster_ip (s, name);
        uint32_t off = s_ip (ip) - s_ip ("10.96.0.0");
        CHECK (off >= 1 && off <= 30);
        if (i < 14) CHECK (off >= 17);
        CHECK (!seen[off & 31]);
        seen[off & 31] = true;
    }
    int64_t rev = store_revision (s);
    const Hs__Ack *a = s_one (s, s_w (HS__OP__OP_CREATE, s_svc ("full", NULL)));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_INTERNAL);
    CHECK_EQ_STR (a->message,
                  "Internal error occurred: failed to allocate a serviceIP: range is full");
    CHECK_EQ_INT (store_revision (s), rev);
    /* headless still fits */
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_svc ("hl", "None")))->code, 0);
    /* one freed is the one handed out next */
    _cleanup_free_ char *freed = s_cluster_ip (s, "s7");
    CHECK_EQ_INT (s_one (s, s_delete ("service", "s7", -1))->code, 0);
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_svc ("full", NULL)))->code, 0);
    _cleanup_free_ char *got = s_cluster_ip (s, "full");
    CHECK_EQ_STR (got, freed);
    store_out_clear (&g_out);
    store_destroy (&s);
}

/* A /24: 254 usable, the first 16 the lower band. Dynamic creates fill the
 * upper band first, then the lower one around a requested address; the
 * band counters survive a reopen (rebuilt) and follow deletes. */
static void test_cluster_ip_bands (void)
{
    store_t *s = s_open_net ("svcbands", "10.244.0.0/16", 24, "10.96.0.0/24");
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_svc ("dns", "10.96.0.10")))->code, 0);
    for (int i = 0; i < 238 + 15; i++) {
        char name[16];
        snprintf (name, sizeof name, "s%d", i);
        CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_svc (name, NULL)))->code, 0);
        _cleanup_free_ char *ip = s_cluster_ip (s, name);
        uint32_t off = s_ip (ip) - s_ip ("10.96.0.0");
        if (i < 238)
            CHECK (off >= 17 && off <= 254); /* the upper band first */
        else
            CHECK (off >= 1 && off <= 16 && off != 10);
    }
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_svc ("full", NULL)))->code,
                  HS__CODE__CODE_INTERNAL);
    store_out_clear (&g_out);
    store_destroy (&s);
    s = s_open_net ("svcbands", "10.244.0.0/16", 24, "10.96.0.0/24");
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_svc ("full", NULL)))->code,
                  HS__CODE__CODE_INTERNAL);
    CHECK_EQ_INT (s_one (s, s_delete ("service", "dns", -1))->code, 0);
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_svc ("full", NULL)))->code, 0);
    _cleanup_free_ char *got = s_cluster_ip (s, "full");
    CHECK_EQ_STR (got, "10.96.0.10");
    CHECK_EQ_INT (s_one (s, s_delete ("service", "s3", -1))->code, 0);
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_svc ("again", NULL)))->code, 0);
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_svc ("over", NULL)))->code,
                  HS__CODE__CODE_INTERNAL);
    store_out_clear (&g_out);
    store_destroy (&s);
}

static void test_pod_cidr (void)
{
    /* 10.244.0.0/28 in /30 slices: 4 nodes */
    store_t *s = s_open_net ("podcidr", "10.244.0.0/28", 30, "10.96.0.0/16");
    const Hs__Ack *a = s_one (s, s_w (HS__OP__OP_APPLY, s_bare_node ("n0", NULL)));
    CHECK_EQ_INT (a->code, 0);
    _cleanup_free_ char *c0 = s_pod_cidr (s, "n0");
    CHECK_EQ_STR (c0, "10.244.0.0/30");
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_APPLY, s_bare_node ("n1", NULL)))->code, 0);
    _cleanup_free_ char *c1 = s_pod_cidr (s, "n1");
    CHECK_EQ_STR (c1, "10.244.0.4/30");
    /* a requested one is kept when free, refused when another Node has it */
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_bare_node ("req", "10.244.0.12/30")))->code,
                  0);
    _cleanup_free_ char *cr = s_pod_cidr (s, "req");
    CHECK_EQ_STR (cr, "10.244.0.12/30");
    int64_t rev = store_revision (s);
    a = s_one (s, s_w (HS__OP__OP_CREATE, s_bare_node ("dup", "10.244.0.4/30")));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_INVALID);
    CHECK_EQ_STR (a->message, "Node \"dup\" is invalid: spec.podCIDR: Invalid value: "
                              "\"10.244.0.4/30\": overlaps the podCIDR of Node \"n1\"");
    /* only one of the plan's /30 slices of 10.244.0.0/28: every agent routes
     * a Node's podCIDR to it */
    a = s_one (s, s_w (HS__OP__OP_CREATE, s_bare_node ("dup", "10.244.0.0/29")));
    CHECK_CONTAINS (a->message, "\"10.244.0.0/29\": must be a /30 inside the cluster CIDR "
                                "10.244.0.0/28");
    a = s_one (s, s_w (HS__OP__OP_CREATE, s_bare_node ("dup", "192.0.2.0/30")));
    CHECK_CONTAINS (a->message, "must be a /30 inside the cluster CIDR");
    a = s_one (s, s_w (HS__OP__OP_CREATE, s_bare_node ("dup", "10.244.0.5/30")));
    CHECK_CONTAINS (a->message,
                    "spec.podCIDR: Invalid value: \"10.244.0.5/30\": must be a valid CIDR");
    a = s_one (s, s_w (HS__OP__OP_CREATE, s_bare_node ("dup", "10.96.0.0/24")));
    CHECK_CONTAINS (a->message, "must be a /30 inside the cluster CIDR");
    CHECK_EQ_INT (store_revision (s), rev);
    /* the next free slice skips the requested one */
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_APPLY, s_bare_node ("n2", NULL)))->code, 0);
    _cleanup_free_ char *c2 = s_pod_cidr (s, "n2");
    CHECK_EQ_STR (c2, "10.244.0.8/30");
    /* full */
    a = s_one (s, s_w (HS__OP__OP_APPLY, s_bare_node ("n3", NULL)));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_INTERNAL);
    CHECK_CONTAINS (a->message,
                    "failed to allocate cidr for Node \"n3\": CIDR allocation failed; "
                    "there are no remaining CIDRs left to allocate in the accepted range");
    CHECK_EQ_INT (store_revision (s), rev + 1);
    /* an agent's re-apply without podCIDR keeps it; a change is refused */
    a = s_one (s, s_w (HS__OP__OP_APPLY, s_bare_node ("n1", NULL)));
    CHECK_EQ_INT (a->results[0]->result, HS__RESULT__RESULT_UNCHANGED);
    a = s_one (s, s_w (HS__OP__OP_APPLY, s_bare_node ("n1", "10.244.0.12/30")));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_INVALID);
    CHECK_EQ_STR (a->message, "Node \"n1\" is invalid: spec.podCIDRs: Forbidden: node updates may "
                              "not change podCIDR except from \"\" to valid");
    /* a status update leaves it alone */
    Hs__Object *st = s_node ("n1", "4", "8Gi", "110");
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_UPDATE_STATUS, st))->code, 0);
    _cleanup_free_ char *c1b = s_pod_cidr (s, "n1");
    CHECK_EQ_STR (c1b, "10.244.0.4/30");
    /* delete frees it: the next Node gets it */
    CHECK_EQ_INT (s_one (s, s_delete ("node", "n1", -1))->code, 0);
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_APPLY, s_bare_node ("n3", NULL)))->code, 0);
    _cleanup_free_ char *c3 = s_pod_cidr (s, "n3");
    CHECK_EQ_STR (c3, "10.244.0.4/30");
    /* after a reopen, what is held stays held */
    store_out_clear (&g_out);
    store_destroy (&s);
    s = s_open_net ("podcidr", "10.244.0.0/28", 30, "10.96.0.0/16");
    a = s_one (s, s_w (HS__OP__OP_APPLY, s_bare_node ("n4", NULL)));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_INTERNAL);
    a = s_one (s, s_w (HS__OP__OP_CREATE, s_bare_node ("dup", "10.244.0.8/30")));
    CHECK_CONTAINS (a->message, "overlaps the podCIDR of Node \"n2\"");
    CHECK_EQ_INT (s_one (s, s_delete ("node", "n0", -1))->code, 0);
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_APPLY, s_bare_node ("n4", NULL)))->code, 0);
    _cleanup_free_ char *c4 = s_pod_cidr (s, "n4");
    CHECK_EQ_STR (c4, "10.244.0.0/30");
    store_out_clear (&g_out);
    store_destroy (&s);
}

/* A store killed (SIGKILL) with its allocations only in the write-ahead
 * log: the restarted store replays them, rebuilds the index and never hands
 * one out again. */
static void test_alloc_after_kill (void)
{
    _cleanup_free_ char *dir = s_dir ("allockill");
    int fds[2];
    CHECK_EQ_INT (pipe (fds), 0);
    pid_t pid = fork ();
    if (pid == 0) {
        close (fds[0]);
        store_t *s = s_open_net ("allockill", "10.244.0.0/16", 24, "10.96.0.0/27");
        for (int i = 0; i < 10; i++) {
            char name[16];
            snprintf (name, sizeof name, "k%d", i);
            Hs__Command *cmd = s_cmd ("kill", name, 1, s_w (HS__OP__OP_CREATE, s_svc (name, NULL)));
            if (store_apply (s, &cmd, 1, &g_out) < 0 || g_out.acks[0].ack->code != 0) _exit (3);
            hs_pb_free (cmd);
            /* the event carries what was acked: its clusterIP */
            const Hs__Object *o = g_out.events[0].event->object;
            uint32_t ip = s_ip (o->service->spec->cluster_ip);
            if (write (fds[1], &ip, sizeof ip) != (ssize_t)sizeof ip) _exit (4);
        }
        raise (SIGKILL);
    }
    close (fds[1]);
    uint32_t acked[16];
    size_t n = 0;
    while (n < 16 && read (fds[0], &acked[n], sizeof acked[n]) == (ssize_t)sizeof acked[n]) n++;
    close (fds[0]);
    int status = 0;
    CHECK_EQ_INT (waitpid (pid, &status, 0), pid);
    CHECK (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
    CHECK_EQ_INT (n, 10);
    _cleanup_free_ char *wal = hs_sprintf ("%s/" STORE_WAL_FILE, dir);
    struct stat st;
    CHECK (stat (wal, &st) == 0 && st.st_size > 0); /* LMDB alone lacks them */

    store_t *s = s_open_net ("allockill", "10.244.0.0/16", 24, "10.96.0.0/27");
    for (size_t i = 0; i < n; i++) {
        char name[16], want[16];
        snprintf (name, sizeof name, "k%zu", i);
        _cleanup_free_ char *ip = s_cluster_ip (s, name);
        CHECK_EQ_STR (ip, hs_ip_format (acked[i], want));
    }
    /* 20 left of 30, none of them one of the 10 */
    for (int i = 0; i < 20; i++) {
        char name[16];
        snprintf (name, sizeof name, "new%d", i);
        CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_svc (name, NULL)))->code, 0);
        _cleanup_free_ char *ip = s_cluster_ip (s, name);
        for (size_t j = 0; j < n; j++) CHECK (s_ip (ip) != acked[j]);
    }
    CHECK_EQ_INT (s_one (s, s_w (HS__OP__OP_CREATE, s_svc ("over", NULL)))->code,
                  HS__CODE__CODE_INTERNAL);
    store_out_clear (&g_out);
    store_destroy (&s);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"create", test_create},
        {"apply", test_apply},
        {"update", test_update},
        {"delete", test_delete},
        {"bind", test_bind},
        {"replay", test_replay},
        {"ttl", test_ttl},
        {"batch", test_batch},
        {"metrics", test_metrics},
        {"validation_via_store", test_validation_via_store},
        {"apply_kinds", test_apply_kinds},
        {"streams", test_streams},
        {"snapshot_restore", test_snapshot_restore},
        {"fuzz", test_fuzz},
        {"orphan", test_orphan},
        {"event_ttl", test_event_ttl},
        {"apply_keeps_controller_annotations", test_apply_keeps_controller_annotations},
        {"snapshot_errors", test_snapshot_errors},
        {"alloc_bands", test_alloc_bands},
        {"cluster_ip", test_cluster_ip},
        {"cluster_ip_exhausted", test_cluster_ip_exhausted},
        {"cluster_ip_bands", test_cluster_ip_bands},
        {"pod_cidr", test_pod_cidr},
        {"alloc_after_kill", test_alloc_after_kill},
    };
    return HS_TEST_RUN (tests);
}
