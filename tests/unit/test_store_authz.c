/*  test_store_authz.c: who may write what in the store
 *  (services/store/store_authz.h).
 *
 *  First the decision function alone: identities parsed; the role table
 *  checked exhaustively (every role x kind x op) against a second statement
 *  of the policy written here; then admission case by case: each
 *  NodeRestriction refusal, the prober's and the dns' limits, with
 *  kubectl's words. Then through the store (store_apply_as, a temporary
 *  LMDB): every write our own components send today, built with their own
 *  code where that code is pure (agent_node, nodemon, dns_publish,
 *  hs_event_write), is allowed; refusals are decided on the stored object,
 *  leave no trace, are counted; the request table is keyed by identity.
 */
#include "hs_test.h"
#include "hs_ctrl.h"
#include "hs_net.h"
#include "hs_util.h"
#include "hs_workload.h"
#include "agent_node.h"
#include "dns_publish.h"
#include "nodemon.h"
#include "store.h"
#include "store_authz.h"
#include "store_batch.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

/* ------------------------------------------------------------------ objects */

static Hs__Object *s_pod (const char *name, const char *node)
{
    Hs__Object *o = hs_obj_new (HS_KIND_POD, "default", name);
    o->pod->spec = hs_pb_new (&hs__pod_spec__descriptor);
    Hs__Container *c = hs_pb_new (&hs__container__descriptor);
    hs_pb_set_str (&c->name, "app");
    hs_pb_set_str (&c->image, "busybox");
    hs_pb_push ((void ***)&c->command, &c->n_command, hs_strdup ("sleep"));
    hs_pb_push ((void ***)&o->pod->spec->containers, &o->pod->spec->n_containers, c);
    if (node) hs_pb_set_str (&o->pod->spec->node_name, node);
    return o;
}

static Hs__Object *s_mirror (Hs__Object *o)
{
    Hs__ObjectMeta *m = hs_obj_meta (o);
    hs_pb_map_set ((void ***)&m->annotations, &m->n_annotations,
                   &hs__object_meta__annotations_entry__descriptor, HS_MIRROR_ANNOTATION, "abc123");
    return o;
}

static Hs__Object *s_deleting (Hs__Object *o)
{
    hs_obj_meta (o)->deletion_timestamp = 1700000000000000000LL;
    return o;
}

static Hs__Object *s_phase (Hs__Object *o, const char *phase)
{
    if (!o->pod->status) o->pod->status = hs_pb_new (&hs__pod_status__descriptor);
    hs_pb_set_str (&o->pod->status->phase, phase);
    return o;
}

static Hs__Object *s_node (const char *name)
{
    Hs__Object *o = hs_obj_new (HS_KIND_NODE, NULL, name);
    o->node->status = hs_pb_new (&hs__node_status__descriptor);
    o->node->status->capacity = hs_pb_new (&hs__resource_list__descriptor);
    hs_pb_set_str (&o->node->status->capacity->cpu, "4");
    hs_pb_set_str (&o->node->status->capacity->memory, "8Gi");
    hs_pb_set_str (&o->node->status->capacity->pods, "110");
    return o;
}

/* ------------------------------------------------------------------ the decision */

#define REQ(op_, kind_, ns_, name_, stored_, obj_)                                                 \
    (&(store_authz_req_t){.op = HS__OP__OP_##op_,                                                  \
                          .kind = HS_KIND_##kind_,                                                 \
                          .ns = ns_,                                                               \
                          .name = name_,                                                           \
                          .stored = stored_,                                                       \
                          .obj = obj_})

static const Hs__Op s_ops[] = {HS__OP__OP_CREATE,        HS__OP__OP_APPLY,  HS__OP__OP_UPDATE,
                               HS__OP__OP_UPDATE_STATUS, HS__OP__OP_DELETE, HS__OP__OP_BIND};

/* store_authz_check for identity: 0 or -EPERM; the message, if any, in
 * *ret_msg (caller frees). */
static int s_decide (const char *identity, const store_authz_req_t *req, char **ret_msg)
{
    store_authz_id_t id;
    store_authz_id_parse (identity, &id);
    *ret_msg = NULL;
    int r = store_authz_check (&id, req, ret_msg);
    if (r == 0) CHECK (*ret_msg == NULL);
    if (r < 0) {
        CHECK_EQ_INT (r, -EPERM);
        CHECK (*ret_msg != NULL);
    }
    return r;
}

static void s_allow (const char *identity, const store_authz_req_t *req)
{
    char *msg;
    int r = s_decide (identity, req, &msg);
    if (r != 0)
        fprintf (stderr, "  expected %s to be allowed op %d on %s %s/%s: %s\n", hs_s (identity),
                 (int)req->op, hs_kind_info (req->kind)->name, hs_s (req->ns), hs_s (req->name),
                 msg);
    CHECK_EQ_INT (r, 0);
    free (msg);
}

/* Refused; with msg, the message is exactly that; without, it has
 * kubectl's head: '<resource> "<name>" is forbidden: User "<id>" '. */
static void s_deny (const char *identity, const store_authz_req_t *req, const char *msg)
{
    char *got;
    int r = s_decide (identity, req, &got);
    if (r == 0)
        fprintf (stderr, "  expected %s to be refused op %d on %s %s/%s\n", hs_s (identity),
                 (int)req->op, hs_kind_info (req->kind)->name, hs_s (req->ns), hs_s (req->name));
    CHECK_EQ_INT (r, -EPERM);
    if (msg) {
        CHECK_EQ_STR (got, msg);
    } else if (got) {
        _cleanup_free_ char *head =
            hs_empty (req->name)
                ? hs_sprintf ("%s is forbidden: User \"%s\" ", hs_kind_resource (req->kind),
                              hs_s (identity))
                : hs_sprintf ("%s \"%s\" is forbidden: User \"%s\" ", hs_kind_resource (req->kind),
                              req->name, hs_s (identity));
        CHECK (hs_startswith (got, head));
    }
    free (got);
}

static void test_identity_parse (void)
{
    static const struct {
        const char *in;
        store_role_t role;
        const char *name;
    } cases[] = {
        {"admin:alice", STORE_ROLE_ADMIN, "alice"},
        {"node:demo", STORE_ROLE_NODE, "demo"},
        {"node:a.b-c", STORE_ROLE_NODE, "a.b-c"},
        {"sa:scheduler", STORE_ROLE_SCHEDULER, ""},
        {"sa:replicas", STORE_ROLE_REPLICAS, ""},
        {"sa:jobs", STORE_ROLE_JOBS, ""},
        {"sa:prober", STORE_ROLE_PROBER, ""},
        {"sa:endpoints", STORE_ROLE_ENDPOINTS, ""},
        {"sa:dns", STORE_ROLE_DNS, ""},
        {"sa:apiserver", STORE_ROLE_APISERVER, ""},
        {"sa:autoscaler", STORE_ROLE_AUTOSCALER, ""},
        {"sa:metrics", STORE_ROLE_METRICS, ""},
        {"tap:bob", STORE_ROLE_TAP, "bob"},
        {"bootstrap:07401b", STORE_ROLE_BOOTSTRAP, "07401b"},
        {"store", STORE_ROLE_STORE, ""},
        {"store/r1", STORE_ROLE_STORE, ""},
        /* not one of the forms: unknown, may write nothing */
        {"", STORE_ROLE_UNKNOWN, ""},
        {"node:", STORE_ROLE_UNKNOWN, ""},
        {"admin:", STORE_ROLE_UNKNOWN, ""},
        {"admin", STORE_ROLE_UNKNOWN, ""},
        {"ADMIN:alice", STORE_ROLE_UNKNOWN, ""},
        {"sa:", STORE_ROLE_UNKNOWN, ""},
        {"sa:scheduler2", STORE_ROLE_UNKNOWN, ""},
        {"sa:apiserver2", STORE_ROLE_UNKNOWN, ""},
        {"sa:other", STORE_ROLE_UNKNOWN, ""},
        {"storex", STORE_ROLE_UNKNOWN, ""},
        {"node:a b", STORE_ROLE_UNKNOWN, ""},
        {"node:a\n", STORE_ROLE_UNKNOWN, ""},
        {"admin:\x01", STORE_ROLE_UNKNOWN, ""},
        {"admin:\xc3\xa9", STORE_ROLE_UNKNOWN, ""},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (cases); i++) {
        store_authz_id_t id;
        store_authz_id_parse (cases[i].in, &id);
        if (id.role != cases[i].role) fprintf (stderr, "  \"%s\"\n", cases[i].in);
        CHECK_EQ_INT (id.role, cases[i].role);
        CHECK_EQ_STR (id.name, cases[i].name);
        CHECK (id.identity == cases[i].in);
    }
    store_authz_id_t id;
    store_authz_id_parse (NULL, &id);
    CHECK (id.identity == NULL);
    /* over STORE_AUTHZ_MAX_IDENTITY bytes: unknown, whatever its form */
    char big[STORE_AUTHZ_MAX_IDENTITY + 2];
    memcpy (big, "admin:", 6);
    memset (big + 6, 'a', sizeof big - 7);
    big[sizeof big - 1] = '\0';
    store_authz_id_parse (big, &id);
    CHECK_EQ_INT (id.role, STORE_ROLE_UNKNOWN);
    big[sizeof big - 2] = '\0'; /* exactly the maximum */
    store_authz_id_parse (big, &id);
    CHECK_EQ_INT (id.role, STORE_ROLE_ADMIN);
    CHECK_EQ_STR (store_authz_role_name (STORE_ROLE_PROBER), "prober");

    /* a node answers to its own name only; the others to any client id */
    store_authz_id_parse ("node:demo", &id);
    CHECK (store_authz_client_ok (&id, "demo"));
    CHECK (!store_authz_client_ok (&id, "demo2"));
    CHECK (!store_authz_client_ok (&id, "hsctl-4f2a"));
    CHECK (!store_authz_client_ok (&id, ""));
    /* a join token answers to join-<its id> only */
    store_authz_id_parse ("bootstrap:abc123", &id);
    CHECK (store_authz_client_ok (&id, "join-abc123"));
    CHECK (!store_authz_client_ok (&id, "join-abc124"));
    CHECK (!store_authz_client_ok (&id, "abc123"));
    CHECK (!store_authz_client_ok (&id, "demo"));
    CHECK (!store_authz_client_ok (&id, "join-"));
    CHECK (!store_authz_client_ok (&id, NULL));
    static const char *const any[] = {NULL, "admin:alice", "sa:scheduler", "tap:bob", "sa:other"};
    for (size_t i = 0; i < HS_ARRAY_LEN (any); i++) {
        store_authz_id_parse (any[i], &id);
        CHECK (store_authz_client_ok (&id, "demo"));
        CHECK (store_authz_client_ok (&id, "hsctl-4f2a"));
    }
}

/* The policy again, written as the brief states it: per identity, the ops
 * (C create, A apply, U update, S update_status, D delete, B bind) on each
 * kind. Kinds not listed: nothing. The role table must say exactly this. */
static const struct {
    const char *identity;
    const char *grants; /* "kind=OPS kind=OPS" */
} s_policy[] = {
    {"node:n1", "node=CAUSD pod=CSD event=CAU"},
    {"sa:scheduler", "pod=BS event=CAU"},
    {"sa:replicas", "pod=CAUSD replicaset=CAUSD deployment=CAUSD event=CAU"},
    {"sa:jobs", "pod=CAUSD job=CAUSD event=CAU"},
    {"sa:prober", "pod=SD node=SU event=CAU"},
    {"sa:endpoints", "endpoints=CAUD event=CAU"},
    {"sa:dns", "service=CAUSD endpoints=CAUSD event=CAU"},
    {"sa:autoscaler", "horizontalpodautoscaler=S deployment=U replicaset=U event=CAU"},
    {"tap:bob", ""},
    {"sa:apiserver", ""},
    {"sa:metrics", ""},
    {"bootstrap:07401b", ""},
    {"store", ""},
    {"store/r2", ""},
    {"sa:other", ""},
    {"node:", ""},
    {"", ""},
};

static bool s_granted (const char *grants, hs_kind_t kind, Hs__Op op)
{
    static const char letters[] = {
        [HS__OP__OP_CREATE] = 'C',        [HS__OP__OP_APPLY] = 'A',  [HS__OP__OP_UPDATE] = 'U',
        [HS__OP__OP_UPDATE_STATUS] = 'S', [HS__OP__OP_DELETE] = 'D', [HS__OP__OP_BIND] = 'B'};
    _cleanup_free_ char *want = hs_sprintf ("%s=", hs_kind_info (kind)->name);
    const char *p = grants;
    while ((p = strstr (p, want)) && p != grants && p[-1] != ' ') p++;
    if (!p) return false;
    p += strlen (want);
    size_t n = strcspn (p, " ");
    return memchr (p, letters[op], n) != NULL;
}

static void test_role_table (void)
{
    for (size_t i = 0; i < HS_ARRAY_LEN (s_policy); i++) {
        const char *who = s_policy[i].identity;
        for (hs_kind_t k = HS_KIND_NONE + 1; k < HS_KIND__COUNT; k++) {
            const hs_kind_info_t *info = hs_kind_info (k);
            for (size_t o = 0; o < HS_ARRAY_LEN (s_ops); o++) {
                /* names the limited roles may write: the node its own Node,
                 * hs-dns kube-system/kube-dns */
                const char *ns = info->namespaced ? "default" : "";
                const char *name = "x";
                if (k == HS_KIND_NODE) name = "n1";
                if (hs_streq (who, "sa:dns")) {
                    ns = info->namespaced ? HS_NET_DNS_NAMESPACE : "";
                    name = HS_NET_DNS_SERVICE;
                }
                store_authz_req_t req = {.op = s_ops[o], .kind = k, .ns = ns, .name = name};
                store_authz_id_t id;
                store_authz_id_parse (who, &id);
                char *msg = NULL;
                int r = store_authz_verb (&id, &req, &msg);
                bool want = s_granted (s_policy[i].grants, k, s_ops[o]);
                if ((r == 0) != want)
                    fprintf (stderr, "  %s op %d on %s: the role table says %s\n", who,
                             (int)s_ops[o], info->name, r == 0 ? "yes" : msg);
                CHECK_EQ_INT (r == 0, want);
                if (r < 0) {
                    /* RBAC's words, whole */
                    char rbuf[64];
                    _cleanup_free_ char *expect = hs_sprintf (
                        "%s \"%s\" is forbidden: User \"%s\" cannot %s resource \"%s\" in API "
                        "group \"%s\" %s%s%s",
                        info->resource, name, who, store_authz_verb_name (s_ops[o]),
                        store_authz_resource (s_ops[o], k, rbuf, sizeof rbuf), info->group,
                        info->namespaced ? "in the namespace \"" : "at the cluster scope",
                        info->namespaced ? ns : "", info->namespaced ? "\"" : "");
                    CHECK_EQ_STR (msg, expect);
                }
                free (msg);
            }
        }
    }
}

static void test_insecure_and_admin (void)
{
    _cleanup_pb_ Hs__Object *running = s_pod ("web-1", "demo");
    _cleanup_pb_ Hs__Object *other = s_pod ("web-1", "demo2");
    for (hs_kind_t k = HS_KIND_NONE + 1; k < HS_KIND__COUNT; k++) {
        bool pod = k == HS_KIND_POD;
        for (size_t o = 0; o < HS_ARRAY_LEN (s_ops); o++) {
            store_authz_req_t req = {.op = s_ops[o],
                                     .kind = k,
                                     .ns = hs_kind_info (k)->namespaced ? "kube-system" : "",
                                     .name = "anything",
                                     .stored = pod ? running : NULL,
                                     .obj = pod ? other : NULL,
                                     .bind_node = "demo"};
            s_allow (NULL, &req);
            s_allow ("admin:alice", &req);
        }
    }
}

static void test_rbac_words (void)
{
    s_deny ("node:demo2", REQ (CREATE, DEPLOYMENT, "default", "web", NULL, NULL),
            "deployments.apps \"web\" is forbidden: User \"node:demo2\" cannot create resource "
            "\"deployments\" in API group \"apps\" in the namespace \"default\"");
    s_deny ("tap:bob", REQ (DELETE, NODE, "", "n1", NULL, NULL),
            "nodes \"n1\" is forbidden: User \"tap:bob\" cannot delete resource \"nodes\" in API "
            "group \"\" at the cluster scope");
    s_deny ("sa:apiserver", REQ (CREATE, POD, "default", "web-1", NULL, NULL),
            "pods \"web-1\" is forbidden: User \"sa:apiserver\" cannot create resource "
            "\"pods\" in API group \"\" in the namespace \"default\"");
    s_deny ("node:demo", REQ (BIND, POD, "default", "web-1", NULL, NULL),
            "pods \"web-1\" is forbidden: User \"node:demo\" cannot create resource "
            "\"pods/binding\" in API group \"\" in the namespace \"default\"");
    s_deny ("sa:scheduler", REQ (UPDATE_STATUS, NODE, "", "n1", NULL, NULL),
            "nodes \"n1\" is forbidden: User \"sa:scheduler\" cannot update resource "
            "\"nodes/status\" in API group \"\" at the cluster scope");
    s_deny ("node:demo", REQ (APPLY, SECRET, "default", "db", NULL, NULL),
            "secrets \"db\" is forbidden: User \"node:demo\" cannot patch resource \"secrets\" in "
            "API group \"\" in the namespace \"default\"");
    s_deny ("sa:jobs", REQ (CREATE, REPLICASET, "default", "", NULL, NULL),
            "replicasets.apps is forbidden: User \"sa:jobs\" cannot create resource "
            "\"replicasets\" in API group \"apps\" in the namespace \"default\"");
    s_deny ("bootstrap:07401b", REQ (CREATE, NODE, "", "n9", NULL, NULL),
            "nodes \"n9\" is forbidden: User \"bootstrap:07401b\" cannot create resource "
            "\"nodes\" in API group \"\" at the cluster scope");
    s_deny ("", REQ (CREATE, EVENT, "default", "e", NULL, NULL), NULL);
}

/* NodeRestriction: decided on the stored pod, with kubectl-like words. */
static void test_node_restriction (void)
{
    _cleanup_pb_ Hs__Object *on_demo = s_pod ("web-1", "demo");
    _cleanup_pb_ Hs__Object *on_demo2 = s_pod ("web-1", "demo2");
    _cleanup_pb_ Hs__Object *unbound = s_pod ("web-1", NULL);
    _cleanup_pb_ Hs__Object *deleting = s_deleting (s_pod ("web-1", "demo"));
    _cleanup_pb_ Hs__Object *deleting2 = s_deleting (s_pod ("web-1", "demo2"));
    _cleanup_pb_ Hs__Object *lost = s_phase (s_pod ("web-1", "demo"), "Failed");
    _cleanup_pb_ Hs__Object *done = s_phase (s_pod ("web-1", "demo"), "Succeeded");
    _cleanup_pb_ Hs__Object *mirror = s_mirror (s_pod ("web-1", "demo"));
    _cleanup_pb_ Hs__Object *mirror2 = s_mirror (s_pod ("web-1", "demo2"));
    _cleanup_pb_ Hs__Object *mirror_unbound = s_mirror (s_pod ("web-1", NULL));

    /* its own Node, every op; another's, none, refused before any read */
    static const char *const verbs[] = {"create", "patch", "update", "update", "delete"};
    for (size_t o = 0; o < 5; o++) {
        store_authz_req_t mine = {.op = s_ops[o], .kind = HS_KIND_NODE, .ns = "", .name = "demo"};
        s_allow ("node:demo", &mine);
        store_authz_req_t theirs = mine;
        theirs.name = "demo2";
        _cleanup_free_ char *msg = hs_sprintf (
            "nodes \"demo2\" is forbidden: User \"node:demo\" cannot %s nodes other than \"demo\"",
            verbs[o]);
        s_deny ("node:demo", &theirs, msg);
    }

    /* status of its pods only, judged on what is stored */
    s_allow ("node:demo", REQ (UPDATE_STATUS, POD, "default", "web-1", on_demo, on_demo));
    s_deny ("node:demo2", REQ (UPDATE_STATUS, POD, "default", "web-1", on_demo, on_demo),
            "pods \"web-1\" is forbidden: User \"node:demo2\" cannot update pods bound to node "
            "\"demo\"");
    /* the command's own object claiming the pod is ours changes nothing */
    s_deny ("node:demo2", REQ (UPDATE_STATUS, POD, "default", "web-1", on_demo, on_demo2),
            "pods \"web-1\" is forbidden: User \"node:demo2\" cannot update pods bound to node "
            "\"demo\"");
    s_deny ("node:demo", REQ (UPDATE_STATUS, POD, "default", "web-1", unbound, unbound),
            "pods \"web-1\" is forbidden: User \"node:demo\" cannot update pods not bound to node "
            "\"demo\"");
    s_deny ("node:demo", REQ (UPDATE_STATUS, POD, "default", "web-1", NULL, on_demo),
            "pods \"web-1\" is forbidden: User \"node:demo\" cannot update pods that do not exist");
    /* the result may not move the pod */
    s_deny ("node:demo", REQ (UPDATE_STATUS, POD, "default", "web-1", on_demo, on_demo2),
            "pods \"web-1\" is forbidden: User \"node:demo\" cannot change the spec.nodeName of "
            "pods");
    s_allow ("node:demo", REQ (UPDATE_STATUS, POD, "default", "web-1", mirror, mirror));

    /* create: mirror pods bound to itself only */
    s_allow ("node:demo", REQ (CREATE, POD, "default", "web-1", NULL, mirror));
    s_deny ("node:demo", REQ (CREATE, POD, "default", "web-1", NULL, on_demo),
            "pods \"web-1\" is forbidden: User \"node:demo\" cannot create pods other than mirror "
            "pods (annotation kubernetes.io/config.mirror) bound to node \"demo\"");
    s_deny ("node:demo", REQ (CREATE, POD, "default", "web-1", NULL, mirror2),
            "pods \"web-1\" is forbidden: User \"node:demo\" cannot create pods bound to node "
            "\"demo2\"");
    s_deny ("node:demo", REQ (CREATE, POD, "default", "web-1", NULL, mirror_unbound),
            "pods \"web-1\" is forbidden: User \"node:demo\" cannot create mirror pods not bound "
            "to node \"demo\"");
    s_deny ("node:demo", REQ (CREATE, POD, "default", "", NULL, unbound),
            "pods is forbidden: User \"node:demo\" cannot create pods other than mirror pods "
            "(annotation kubernetes.io/config.mirror) bound to node \"demo\"");

    /* delete: its mirror pods, the end of a graceful delete, finished pods */
    s_allow ("node:demo", REQ (DELETE, POD, "default", "web-1", deleting, NULL));
    s_allow ("node:demo", REQ (DELETE, POD, "default", "web-1", mirror, NULL));
    s_allow ("node:demo", REQ (DELETE, POD, "default", "web-1", lost, NULL));
    s_allow ("node:demo", REQ (DELETE, POD, "default", "web-1", done, NULL));
    s_deny ("node:demo", REQ (DELETE, POD, "default", "web-1", on_demo, NULL),
            "pods \"web-1\" is forbidden: User \"node:demo\" cannot delete pods that are running: "
            "only mirror pods, pods being deleted and finished pods");
    s_deny ("node:demo", REQ (DELETE, POD, "default", "web-1", deleting2, NULL),
            "pods \"web-1\" is forbidden: User \"node:demo\" cannot delete pods bound to node "
            "\"demo2\"");
    s_deny ("node:demo", REQ (DELETE, POD, "default", "web-1", mirror2, NULL),
            "pods \"web-1\" is forbidden: User \"node:demo\" cannot delete pods bound to node "
            "\"demo2\"");
    s_deny ("node:demo", REQ (DELETE, POD, "default", "web-1", s_deleting (unbound), NULL),
            "pods \"web-1\" is forbidden: User \"node:demo\" cannot delete pods not bound to node "
            "\"demo\"");

    /* no apply or update of pods, no bind, no other kinds but Events */
    s_deny ("node:demo", REQ (APPLY, POD, "default", "web-1", on_demo, on_demo), NULL);
    s_deny ("node:demo", REQ (UPDATE, POD, "default", "web-1", on_demo, on_demo), NULL);
    static const hs_kind_t none[] = {HS_KIND_REPLICASET, HS_KIND_DEPLOYMENT, HS_KIND_JOB,
                                     HS_KIND_SERVICE,    HS_KIND_ENDPOINTS,  HS_KIND_CONFIGMAP,
                                     HS_KIND_SECRET};
    for (size_t k = 0; k < HS_ARRAY_LEN (none); k++)
        for (size_t o = 0; o < HS_ARRAY_LEN (s_ops); o++)
            s_deny (
                "node:demo",
                &(store_authz_req_t){.op = s_ops[o], .kind = none[k], .ns = "default", .name = "x"},
                NULL);
    s_allow ("node:demo", REQ (APPLY, EVENT, "kube-system", "web-1.0123", NULL, NULL));
    s_deny ("node:demo", REQ (DELETE, EVENT, "default", "web-1.0123", NULL, NULL), NULL);
}

/* The prober, the scheduler, hs-dns: the limits past the role table. */
static void test_controller_limits (void)
{
    _cleanup_pb_ Hs__Object *node = s_node ("demo");
    hs_pb_map_set ((void ***)&node->node->metadata->labels, &node->node->metadata->n_labels,
                   &hs__object_meta__labels_entry__descriptor, "zone", "a");
    /* what the store would store after the prober's OP_UPDATE: its taints */
    _cleanup_pb_ Hs__Object *taints = nodemon_taints (node->node, true, hs_now_ns ());
    CHECK (taints != NULL);
    _cleanup_pb_ Hs__Object *tainted = hs_pb_dup (node);
    hs_pb_freep (&tainted->node->spec);
    tainted->node->spec = hs_pb_dup (taints->node->spec);
    s_allow ("sa:prober", REQ (UPDATE, NODE, "", "demo", node, tainted));
    _cleanup_pb_ Hs__Object *untainted = nodemon_taints (tainted->node, false, hs_now_ns ());
    CHECK (untainted != NULL);
    _cleanup_pb_ Hs__Object *back = hs_pb_dup (tainted);
    hs_pb_freep (&back->node->spec);
    back->node->spec = hs_pb_dup (untainted->node->spec);
    s_allow ("sa:prober", REQ (UPDATE, NODE, "", "demo", tainted, back));
    /* anything else: cordon, labels */
    _cleanup_pb_ Hs__Object *cordoned = hs_pb_dup (tainted);
    cordoned->node->spec->unschedulable = true;
    s_deny ("sa:prober", REQ (UPDATE, NODE, "", "demo", node, cordoned),
            "nodes \"demo\" is forbidden: User \"sa:prober\" cannot update nodes except their "
            "spec.taints");
    _cleanup_pb_ Hs__Object *relabelled = hs_pb_dup (node);
    hs_pb_map_set ((void ***)&relabelled->node->metadata->labels,
                   &relabelled->node->metadata->n_labels,
                   &hs__object_meta__labels_entry__descriptor, "zone", "b");
    s_deny ("sa:prober", REQ (UPDATE, NODE, "", "demo", node, relabelled), NULL);
    s_deny ("sa:prober", REQ (UPDATE, NODE, "", "demo", NULL, tainted), NULL);
    s_allow ("sa:prober", REQ (UPDATE_STATUS, NODE, "", "demo", node, node));
    s_deny ("sa:prober", REQ (APPLY, NODE, "", "demo", node, node), NULL);

    /* pods: NodeLost status anywhere; deletes only of pods being deleted */
    _cleanup_pb_ Hs__Object *pod = s_pod ("web-1", "demo");
    _cleanup_pb_ Hs__Object *deleting = s_deleting (s_pod ("web-1", "demo"));
    _cleanup_pb_ Hs__Object *lost = nodemon_pod_lost (pod->pod, hs_now_ns ());
    s_allow ("sa:prober", REQ (UPDATE_STATUS, POD, "default", "web-1", pod, lost));
    s_allow ("sa:prober", REQ (DELETE, POD, "default", "web-1", deleting, NULL));
    s_deny ("sa:prober", REQ (DELETE, POD, "default", "web-1", pod, NULL),
            "pods \"web-1\" is forbidden: User \"sa:prober\" cannot delete pods that are not "
            "being deleted");
    s_deny ("sa:prober", REQ (CREATE, POD, "default", "web-1", NULL, pod), NULL);
    s_deny ("sa:prober", REQ (BIND, POD, "default", "web-1", pod, NULL), NULL);

    /* the scheduler binds, and says why it cannot */
    _cleanup_pb_ Hs__Object *pending = s_pod ("web-1", NULL);
    s_allow ("sa:scheduler", &(store_authz_req_t){.op = HS__OP__OP_BIND,
                                                  .kind = HS_KIND_POD,
                                                  .ns = "default",
                                                  .name = "web-1",
                                                  .stored = pending,
                                                  .bind_node = "demo"});
    s_allow ("sa:scheduler", REQ (UPDATE_STATUS, POD, "default", "web-1", pending, pending));
    s_deny ("sa:scheduler", REQ (UPDATE, POD, "default", "web-1", pending, pending), NULL);

    /* hs-dns: kube-system/kube-dns and nothing else */
    s_allow ("sa:dns", REQ (CREATE, SERVICE, "kube-system", "kube-dns", NULL, NULL));
    s_allow ("sa:dns", REQ (UPDATE, ENDPOINTS, "kube-system", "kube-dns", NULL, NULL));
    s_deny ("sa:dns", REQ (CREATE, SERVICE, "default", "kube-dns", NULL, NULL),
            "services \"kube-dns\" is forbidden: User \"sa:dns\" cannot create resource "
            "\"services\" in API group \"\" in the namespace \"default\"");
    s_deny ("sa:dns", REQ (UPDATE, ENDPOINTS, "kube-system", "metrics", NULL, NULL), NULL);
    s_deny ("sa:dns", REQ (CREATE, POD, "kube-system", "kube-dns", NULL, NULL), NULL);

    /* hs-endpoints: any Endpoints, no Service */
    s_allow ("sa:endpoints", REQ (DELETE, ENDPOINTS, "shop", "web", NULL, NULL));
    s_deny ("sa:endpoints", REQ (UPDATE, SERVICE, "shop", "web", NULL, NULL), NULL);
}

/* ------------------------------------------------------------------ through the store */

static store_out_t g_out;
static int g_seq;

static store_t *s_open (const char *name)
{
    _cleanup_free_ char *dir = hs_sprintf ("%s/%s", hs_test_tmpdir (), name);
    store_opts_t opts = {.nosync = true};
    store_t *s = NULL;
    CHECK_EQ_INT (store_open (dir, &opts, &s), 0);
    return s;
}

/* A command of the given writes (taken), n of them. */
static Hs__Command *s_cmdv (const char *client, const char *req, size_t n, Hs__Write **w)
{
    Hs__Command *c = hs_pb_new (&hs__command__descriptor);
    hs_pb_set_str (&c->client_id, client);
    hs_pb_set_str (&c->request_id, req);
    for (size_t i = 0; i < n; i++) hs_pb_push ((void ***)&c->writes, &c->n_writes, w[i]);
    return c;
}

/* Applies cmd (taken) as identity; the ack lives until the next call. */
static Hs__Ack *s_run (store_t *s, const char *identity, Hs__Command *cmd)
{
    CHECK (store_apply_as (s, &cmd, &identity, 1, &g_out) >= 0);
    hs_pb_free (cmd);
    CHECK_EQ_INT (g_out.n_acks, 1);
    static Hs__Ack empty = HS__ACK__INIT;
    return g_out.n_acks ? g_out.acks[0].ack : &empty;
}

/* The client id identity's components use: a node's name for node:<N>,
 * join-<id> for bootstrap:<id> (store_authz_client_ok), else "c1". */
static const char *s_client_of (const char *identity)
{
    static char join[64];
    if (identity && hs_startswith (identity, "bootstrap:")) {
        snprintf (join, sizeof join, "join-%.50s", identity + 10);
        return join;
    }
    return identity && hs_startswith (identity, "node:") ? identity + 5 : "c1";
}

/* One write (taken) as identity, a fresh request id. */
static Hs__Ack *s_as (store_t *s, const char *identity, Hs__Write *w)
{
    char req[32];
    snprintf (req, sizeof req, "r%d", ++g_seq);
    return s_run (s, identity, s_cmdv (s_client_of (identity), req, 1, &w));
}

/* The same, which must be allowed. */
static void s_ok (store_t *s, const char *identity, Hs__Write *w, const char *what)
{
    Hs__Ack *a = s_as (s, identity, w);
    if (a->code != HS__CODE__CODE_OK)
        fprintf (stderr, "  %s as %s: %s: %s\n", what, identity, hs_code_reason (a->code),
                 hs_s (a->message));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_OK);
}

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

static uint64_t s_forbidden (store_t *s)
{
    Hs__StoreHeartbeat *hb = hs_pb_new (&hs__store_heartbeat__descriptor);
    CHECK_EQ_INT (store_heartbeat (s, hb), 0);
    uint64_t n = hb->forbidden;
    hs_pb_free (hb);
    return n;
}

static Hs__Write *s_target (Hs__Op op, hs_kind_t kind, const char *ns, const char *name)
{
    return hs_write_target (op, kind, ns, name);
}

static Hs__Write *s_delete_now (const char *name, const char *uid)
{
    Hs__Write *w = s_target (HS__OP__OP_DELETE, HS_KIND_POD, "default", name);
    w->grace_period_seconds = hs_pb_new (&hs__int64_value__descriptor);
    hs_pb_set_str (&w->expected_uid, uid);
    return w;
}

static Hs__Write *s_bind (const char *pod, const char *node)
{
    Hs__Write *w = s_target (HS__OP__OP_BIND, HS_KIND_POD, "default", pod);
    hs_pb_set_str (&w->node_name, node);
    return w;
}

/* A pod bound to node (by admin: create, then the scheduler's bind). */
static void s_bound_pod (store_t *s, const char *name, const char *node)
{
    s_ok (s, "admin:alice", hs_write_new (HS__OP__OP_CREATE, s_pod (name, NULL)), "create");
    s_ok (s, "sa:scheduler", s_bind (name, node), "bind");
}

static Hs__Write *s_event (const char *component, const char *host, const char *name)
{
    return hs_event_write (component, "i1", host, "pod", "default", name, "uid-1", "Normal",
                           "Tested", "a write of our own components");
}

/* Every write our components send today (grep hs_write_new, hs_write_target
 * and hs_event_send over services/, agents/, tools/), each as the identity
 * that component runs as, applied by the store: none is refused. */
static void test_components_writes (void)
{
    store_t *s = s_open ("components");
    int64_t now = hs_now_ns ();
    struct utsname u;
    uname (&u);

    /* hs-agent (node:n1): registers its Node, re-registers it, posts status */
    s_ok (s, "node:n1", hs_write_new (HS__OP__OP_CREATE, agent_node_object ("n1", &u, "disk=ssd")),
          "agent: create Node");
    s_ok (s, "node:n2", hs_write_new (HS__OP__OP_CREATE, agent_node_object ("n2", &u, NULL)),
          "agent: create Node");
    _cleanup_pb_ Hs__Object *n1 = s_get (s, HS_KIND_NODE, "n1");
    Hs__Object *again = hs_pb_dup (n1);
    hs_pb_map_set ((void ***)&again->node->metadata->labels, &again->node->metadata->n_labels,
                   &hs__object_meta__labels_entry__descriptor, "disk", "nvme");
    Hs__Write *w = hs_write_new (HS__OP__OP_UPDATE, again);
    w->expected_revision = n1->node->metadata->resource_version;
    s_ok (s, "node:n1", w, "agent: re-register Node");
    for (int i = 1; i <= 2; i++) {
        char name[8];
        snprintf (name, sizeof name, "n%d", i);
        agent_node_info_t in = {.name = name,
                                .cpu = "4",
                                .memory = "8Gi",
                                .pods = "110",
                                .ready_since_ns = now,
                                .message = "hs-agent is posting ready status",
                                .agent_version = "hs-agent test",
                                .machine_id = "",
                                .uts = &u};
        _cleanup_free_ char *id = hs_sprintf ("node:%s", name);
        s_ok (s, id, hs_write_new (HS__OP__OP_UPDATE_STATUS, agent_node_status (&in)),
              "agent: Node status");
    }
    /* hs-hollow's apply of its Node (one identity per hollow node) */
    s_ok (s, "node:n1", hs_write_new (HS__OP__OP_APPLY, agent_node_object ("n1", &u, NULL)),
          "hollow: apply Node");

    /* a user's pods (hsctl: admin), bound by hs-scheduler */
    s_bound_pod (s, "web-1", "n1");
    s_ok (s, "admin:alice", hs_write_new (HS__OP__OP_CREATE, s_pod ("pending", NULL)), "create");
    s_ok (s, "sa:scheduler", s_event ("default-scheduler", NULL, "web-1"), "scheduler: event");
    {
        _cleanup_pb_ Hs__Object *p = s_get (s, HS_KIND_POD, "pending");
        Hs__Object *o = hs_obj_new (HS_KIND_POD, "default", "pending");
        o->pod->status = hs_pb_new (&hs__pod_status__descriptor);
        Hs__PodCondition *c = hs_pb_new (&hs__pod_condition__descriptor);
        hs_pb_set_str (&c->type, "PodScheduled");
        hs_pb_set_str (&c->status, "False");
        hs_pb_set_str (&c->reason, "Unschedulable");
        hs_pb_push ((void ***)&o->pod->status->conditions, &o->pod->status->n_conditions, c);
        Hs__Write *sw = hs_write_new (HS__OP__OP_UPDATE_STATUS, o);
        sw->expected_revision = p->pod->metadata->resource_version;
        hs_pb_set_str (&sw->expected_uid, p->pod->metadata->uid);
        s_ok (s, "sa:scheduler", sw, "scheduler: PodScheduled=False");
    }

    /* hs-agent: the pod's status, its Events, a mirror pod, deletes */
    {
        _cleanup_pb_ Hs__Object *p = s_get (s, HS_KIND_POD, "web-1");
        Hs__Object *o = hs_obj_new (HS_KIND_POD, "default", "web-1");
        o->pod->status = hs_pb_new (&hs__pod_status__descriptor);
        hs_pb_set_str (&o->pod->status->phase, "Running");
        Hs__Write *sw = hs_write_new (HS__OP__OP_UPDATE_STATUS, o);
        sw->expected_revision = p->pod->metadata->resource_version;
        hs_pb_set_str (&sw->expected_uid, p->pod->metadata->uid);
        s_ok (s, "node:n1", sw, "agent: pod status");
    }
    Hs__Write *ev[2] = {s_event ("hs-agent", "n1", "web-1"), s_event ("hs-agent", "n1", "web-2")};
    Hs__Ack *a = s_run (s, "node:n1", s_cmdv ("n1", "events-1", 2, ev));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_OK); /* hs_events_send: several in one command */
    s_ok (s, "node:n1", hs_write_new (HS__OP__OP_CREATE, s_mirror (s_pod ("static-n1", "n1"))),
          "agent: mirror pod");
    {
        _cleanup_pb_ Hs__Object *m = s_get (s, HS_KIND_POD, "static-n1");
        Hs__Object *o = hs_obj_new (HS_KIND_POD, "default", "static-n1");
        o->pod->status = hs_pb_new (&hs__pod_status__descriptor);
        hs_pb_set_str (&o->pod->status->phase, "Running");
        s_ok (s, "node:n1", hs_write_new (HS__OP__OP_UPDATE_STATUS, o), "agent: mirror status");
        s_ok (s, "node:n1", s_delete_now ("static-n1", m->pod->metadata->uid),
              "agent: mirror delete");
    }
    /* a user deletes web-1 (graceful: bound), the agent finishes it */
    a = s_as (s, "admin:alice", s_target (HS__OP__OP_DELETE, HS_KIND_POD, "default", "web-1"));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_OK);
    CHECK_EQ_INT (a->results[0]->result, HS__RESULT__RESULT_DELETING);
    {
        _cleanup_pb_ Hs__Object *p = s_get (s, HS_KIND_POD, "web-1");
        s_ok (s, "node:n1", s_delete_now ("web-1", p->pod->metadata->uid), "agent: delete now");
        CHECK (s_get (s, HS_KIND_POD, "web-1") == NULL);
    }

    /* hs-prober (sa:prober): a silent node: Ready Unknown, taints, NodeLost
     * and the end of a graceful delete; then the node is back */
    s_bound_pod (s, "lost-1", "n2");
    s_bound_pod (s, "lost-2", "n2");
    a = s_as (s, "admin:alice", s_target (HS__OP__OP_DELETE, HS_KIND_POD, "default", "lost-2"));
    CHECK_EQ_INT (a->results[0]->result, HS__RESULT__RESULT_DELETING);
    {
        _cleanup_pb_ Hs__Object *n = s_get (s, HS_KIND_NODE, "n2");
        w = hs_write_new (HS__OP__OP_UPDATE_STATUS, nodemon_unknown_status (n->node, now));
        w->expected_revision = n->node->metadata->resource_version;
        s_ok (s, "sa:prober", w, "prober: Node status Unknown");
        _cleanup_pb_ Hs__Object *n_ = s_get (s, HS_KIND_NODE, "n2");
        w = hs_write_new (HS__OP__OP_UPDATE, nodemon_taints (n_->node, true, now));
        w->expected_revision = n_->node->metadata->resource_version;
        hs_pb_set_str (&w->expected_uid, n_->node->metadata->uid);
        s_ok (s, "sa:prober", w, "prober: taint");
        _cleanup_pb_ Hs__Object *p = s_get (s, HS_KIND_POD, "lost-1");
        w = hs_write_new (HS__OP__OP_UPDATE_STATUS, nodemon_pod_lost (p->pod, now));
        w->expected_revision = p->pod->metadata->resource_version;
        hs_pb_set_str (&w->expected_uid, p->pod->metadata->uid);
        s_ok (s, "sa:prober", w, "prober: NodeLost");
        _cleanup_pb_ Hs__Object *d = s_get (s, HS_KIND_POD, "lost-2");
        s_ok (s, "sa:prober", s_delete_now ("lost-2", d->pod->metadata->uid),
              "prober: finish a delete");
        s_ok (s, "sa:prober", s_event ("hs-prober", NULL, "lost-1"), "prober: Evicted");
        _cleanup_pb_ Hs__Object *n3 = s_get (s, HS_KIND_NODE, "n2");
        w = hs_write_new (HS__OP__OP_UPDATE, nodemon_taints (n3->node, false, now));
        w->expected_revision = n3->node->metadata->resource_version;
        hs_pb_set_str (&w->expected_uid, n3->node->metadata->uid);
        s_ok (s, "sa:prober", w, "prober: untaint");
        /* the agent of n2 removes the pod failed NodeLost */
        _cleanup_pb_ Hs__Object *l = s_get (s, HS_KIND_POD, "lost-1");
        s_ok (s, "node:n2", s_delete_now ("lost-1", l->pod->metadata->uid),
              "agent: delete a NodeLost pod");
    }

    /* hs-replicas (sa:replicas): ReplicaSets, their pods, Deployments */
    {
        Hs__Object *d = hs_obj_new (HS_KIND_DEPLOYMENT, "default", "web");
        d->deployment->spec = hs_pb_new (&hs__deployment_spec__descriptor);
        d->deployment->spec->selector = hs_pb_new (&hs__label_selector__descriptor);
        hs_pb_map_set ((void ***)&d->deployment->spec->selector->match_labels,
                       &d->deployment->spec->selector->n_match_labels,
                       &hs__label_selector__match_labels_entry__descriptor, "app", "web");
        d->deployment->spec->template_ = hs_pb_new (&hs__pod_template_spec__descriptor);
        d->deployment->spec->template_->metadata = hs_pb_new (&hs__object_meta__descriptor);
        hs_pb_map_set ((void ***)&d->deployment->spec->template_->metadata->labels,
                       &d->deployment->spec->template_->metadata->n_labels,
                       &hs__object_meta__labels_entry__descriptor, "app", "web");
        Hs__Object *tp = s_pod ("x", NULL);
        d->deployment->spec->template_->spec = TAKE_PTR (tp->pod->spec);
        hs_pb_free (tp);
        Hs__Object *rs = hs_obj_new (HS_KIND_REPLICASET, "default", "web-abc");
        rs->replica_set->spec = hs_pb_new (&hs__replica_set_spec__descriptor);
        rs->replica_set->spec->selector = hs_pb_dup (d->deployment->spec->selector);
        rs->replica_set->spec->template_ = hs_pb_dup (d->deployment->spec->template_);
        s_ok (s, "admin:alice", hs_write_new (HS__OP__OP_APPLY, d), "hsctl apply");
        s_ok (s, "sa:replicas", hs_write_new (HS__OP__OP_CREATE, rs), "replicas: create RS");
        _cleanup_pb_ Hs__Object *cur = s_get (s, HS_KIND_REPLICASET, "web-abc");
        Hs__Object *upd = hs_pb_dup (cur);
        hs_pb_map_set ((void ***)&upd->replica_set->metadata->annotations,
                       &upd->replica_set->metadata->n_annotations,
                       &hs__object_meta__annotations_entry__descriptor,
                       "homeostat.io/replicas-sync", "1");
        hs_pb_freep (&upd->replica_set->status);
        w = hs_write_new (HS__OP__OP_UPDATE, upd);
        w->expected_revision = cur->replica_set->metadata->resource_version;
        s_ok (s, "sa:replicas", w, "replicas: update RS");
        Hs__Object *st = hs_obj_new (HS_KIND_REPLICASET, "default", "web-abc");
        st->replica_set->status = hs_pb_new (&hs__replica_set_status__descriptor);
        st->replica_set->status->replicas = 1;
        s_ok (s, "sa:replicas", hs_write_new (HS__OP__OP_UPDATE_STATUS, st), "replicas: RS status");
        Hs__Object *pod = s_pod ("web-abc-x1", NULL);
        s_ok (s, "sa:replicas", hs_write_new (HS__OP__OP_CREATE, pod), "replicas: create pod");
        _cleanup_pb_ Hs__Object *pc = s_get (s, HS_KIND_POD, "web-abc-x1");
        Hs__Object *pu = hs_pb_dup (pc);
        hs_pb_map_set ((void ***)&pu->pod->metadata->labels, &pu->pod->metadata->n_labels,
                       &hs__object_meta__labels_entry__descriptor, "released", "yes");
        w = hs_write_new (HS__OP__OP_UPDATE, pu);
        w->expected_revision = pc->pod->metadata->resource_version;
        s_ok (s, "sa:replicas", w, "replicas: update pod");
        _cleanup_pb_ Hs__Object *dc = s_get (s, HS_KIND_DEPLOYMENT, "web");
        Hs__Object *du = hs_pb_dup (dc);
        hs_pb_map_set ((void ***)&du->deployment->metadata->annotations,
                       &du->deployment->metadata->n_annotations,
                       &hs__object_meta__annotations_entry__descriptor,
                       "deployment.kubernetes.io/revision", "1");
        w = hs_write_new (HS__OP__OP_UPDATE, du);
        w->expected_revision = dc->deployment->metadata->resource_version;
        s_ok (s, "sa:replicas", w, "replicas: update Deployment");
        Hs__Object *ds = hs_obj_new (HS_KIND_DEPLOYMENT, "default", "web");
        ds->deployment->status = hs_pb_new (&hs__deployment_status__descriptor);
        ds->deployment->status->observed_generation = 1;
        s_ok (s, "sa:replicas", hs_write_new (HS__OP__OP_UPDATE_STATUS, ds),
              "replicas: Deployment status");
        s_ok (s, "sa:replicas", s_event ("hs-replicas", NULL, "web"), "replicas: event");
        s_ok (s, "sa:replicas", s_target (HS__OP__OP_DELETE, HS_KIND_POD, "default", "web-abc-x1"),
              "replicas: delete pod");
        s_ok (s, "sa:replicas",
              s_target (HS__OP__OP_DELETE, HS_KIND_REPLICASET, "default", "web-abc"),
              "replicas: delete RS");
    }

    /* hs-jobs (sa:jobs): a Job's pods, its status, its removal */
    {
        Hs__Object *j = hs_obj_new (HS_KIND_JOB, "default", "pi");
        j->job->spec = hs_pb_new (&hs__job_spec__descriptor);
        j->job->spec->template_ = hs_pb_new (&hs__pod_template_spec__descriptor);
        Hs__Object *tp = s_pod ("x", NULL);
        j->job->spec->template_->spec = TAKE_PTR (tp->pod->spec);
        hs_pb_set_str (&j->job->spec->template_->spec->restart_policy, "Never");
        hs_pb_free (tp);
        s_ok (s, "admin:alice", hs_write_new (HS__OP__OP_APPLY, j), "hsctl apply Job");
        s_ok (s, "sa:jobs", hs_write_new (HS__OP__OP_CREATE, s_pod ("pi-x1", NULL)),
              "jobs: create pod");
        Hs__Object *st = hs_obj_new (HS_KIND_JOB, "default", "pi");
        st->job->status = hs_pb_new (&hs__job_status__descriptor);
        st->job->status->active = 1;
        s_ok (s, "sa:jobs", hs_write_new (HS__OP__OP_UPDATE_STATUS, st), "jobs: status");
        s_ok (s, "sa:jobs", s_event ("hs-jobs", NULL, "pi"), "jobs: event");
        s_ok (s, "sa:jobs", s_target (HS__OP__OP_DELETE, HS_KIND_POD, "default", "pi-x1"),
              "jobs: delete pod");
        s_ok (s, "sa:jobs", s_target (HS__OP__OP_DELETE, HS_KIND_JOB, "default", "pi"),
              "jobs: delete Job (ttl)");
    }

    /* hs-endpoints (sa:endpoints) and hs-dns (sa:dns) */
    {
        Hs__Object *ep = hs_obj_new (HS_KIND_ENDPOINTS, "default", "web");
        s_ok (s, "sa:endpoints", hs_write_new (HS__OP__OP_CREATE, ep), "endpoints: create");
        _cleanup_pb_ Hs__Object *cur = s_get (s, HS_KIND_ENDPOINTS, "web");
        Hs__Object *upd = hs_pb_dup (cur);
        hs_pb_map_set ((void ***)&upd->endpoints->metadata->labels,
                       &upd->endpoints->metadata->n_labels,
                       &hs__object_meta__labels_entry__descriptor, "app", "web");
        w = hs_write_new (HS__OP__OP_UPDATE, upd);
        w->expected_revision = cur->endpoints->metadata->resource_version;
        s_ok (s, "sa:endpoints", w, "endpoints: update");
        s_ok (s, "sa:endpoints", s_target (HS__OP__OP_DELETE, HS_KIND_ENDPOINTS, "default", "web"),
              "endpoints: delete");

        uint32_t ip;
        CHECK_EQ_INT (hs_ip_parse ("10.0.0.7", &ip), 0);
        uint32_t cip;
        CHECK_EQ_INT (hs_ip_parse ("10.96.0.10", &cip), 0);
        dns_pub_t p = {.instance = "dns1",
                       .host = "n1",
                       .advertise = ip,
                       .port = 53,
                       .cluster_ip = cip,
                       .leader = true};
        s_ok (s, "sa:dns", hs_write_new (HS__OP__OP_CREATE, dns_pub_service (&p, NULL)),
              "dns: create Service");
        s_ok (s, "sa:dns", hs_write_new (HS__OP__OP_CREATE, dns_pub_endpoints (&p, NULL)),
              "dns: create Endpoints");
        _cleanup_pb_ Hs__Object *eps = s_get (s, HS_KIND_ENDPOINTS, "kube-dns");
        CHECK (eps != NULL);
        p.port = 5353;
        Hs__Object *want = dns_pub_endpoints (&p, eps);
        CHECK (want != NULL);
        w = hs_write_new (HS__OP__OP_UPDATE, want);
        w->expected_revision = eps->endpoints->metadata->resource_version;
        s_ok (s, "sa:dns", w, "dns: update Endpoints");
    }

    /* hsctl (admin): every kind, the ConfigMaps and Secrets */
    Hs__Object *cm = hs_obj_new (HS_KIND_CONFIGMAP, "default", "conf");
    s_ok (s, "admin:alice", hs_write_new (HS__OP__OP_APPLY, cm), "hsctl: ConfigMap");
    Hs__Object *sec = hs_obj_new (HS_KIND_SECRET, "default", "db");
    s_ok (s, "admin:alice", hs_write_new (HS__OP__OP_APPLY, sec), "hsctl: Secret");
    s_ok (s, "admin:alice", s_target (HS__OP__OP_DELETE, HS_KIND_NODE, "", "n2"), "hsctl: delete");
    CHECK_EQ_INT (s_forbidden (s), 0);

    store_out_clear (&g_out);
    store_destroy (&s);
}

/* hs-autoscaler (sa:autoscaler): kube's /scale through OP_UPDATE (spec.replicas
 * and nothing else), its HPAs' status, Events; nothing more. */
static Hs__Object *s_scalable (hs_kind_t kind, const char *name)
{
    Hs__Object *o = hs_obj_new (kind, "default", name);
    Hs__LabelSelector *sel = hs_pb_new (&hs__label_selector__descriptor);
    hs_pb_map_set ((void ***)&sel->match_labels, &sel->n_match_labels,
                   &hs__label_selector__match_labels_entry__descriptor, "app", name);
    Hs__PodTemplateSpec *t = hs_pb_new (&hs__pod_template_spec__descriptor);
    t->metadata = hs_pb_new (&hs__object_meta__descriptor);
    hs_pb_map_set ((void ***)&t->metadata->labels, &t->metadata->n_labels,
                   &hs__object_meta__labels_entry__descriptor, "app", name);
    Hs__Object *tp = s_pod ("x", NULL);
    t->spec = TAKE_PTR (tp->pod->spec);
    hs_pb_free (tp);
    if (kind == HS_KIND_DEPLOYMENT) {
        o->deployment->spec = hs_pb_new (&hs__deployment_spec__descriptor);
        o->deployment->spec->selector = sel;
        o->deployment->spec->template_ = t;
    } else {
        o->replica_set->spec = hs_pb_new (&hs__replica_set_spec__descriptor);
        o->replica_set->spec->selector = sel;
        o->replica_set->spec->template_ = t;
    }
    return o;
}

/* An update of the stored object with replicas set (and, with image, the
 * first container's image changed too). */
static Hs__Write *s_scale (store_t *s, hs_kind_t kind, const char *name, int replicas,
                           const char *image)
{
    _cleanup_pb_ Hs__Object *cur = s_get (s, kind, name);
    CHECK (cur != NULL);
    Hs__Object *upd = hs_pb_dup (cur);
    bool dep = kind == HS_KIND_DEPLOYMENT;
    Hs__Int32Value **r = dep ? &upd->deployment->spec->replicas : &upd->replica_set->spec->replicas;
    if (!*r) *r = hs_pb_new (&hs__int32_value__descriptor);
    (*r)->value = replicas;
    if (image) {
        Hs__PodTemplateSpec *t =
            dep ? upd->deployment->spec->template_ : upd->replica_set->spec->template_;
        hs_pb_set_str (&t->spec->containers[0]->image, image);
    }
    Hs__Write *w = hs_write_new (HS__OP__OP_UPDATE, upd);
    w->expected_revision = hs_obj_meta (cur)->resource_version;
    return w;
}

static void test_autoscaler_writes (void)
{
    store_t *s = s_open ("autoscaler");
    const char *who = "sa:autoscaler";
    s_ok (s, "admin:alice", hs_write_new (HS__OP__OP_APPLY, s_scalable (HS_KIND_DEPLOYMENT, "web")),
          "hsctl apply Deployment");
    s_ok (s, "admin:alice", hs_write_new (HS__OP__OP_APPLY, s_scalable (HS_KIND_REPLICASET, "rs")),
          "hsctl apply ReplicaSet");
    Hs__Object *h = hs_obj_new (HS_KIND_HPA, "default", "web");
    h->horizontal_pod_autoscaler->spec =
        hs_pb_new (&hs__horizontal_pod_autoscaler_spec__descriptor);
    h->horizontal_pod_autoscaler->spec->max_replicas = 5;
    h->horizontal_pod_autoscaler->spec->scale_target_ref =
        hs_pb_new (&hs__cross_version_object_reference__descriptor);
    hs_pb_set_str (&h->horizontal_pod_autoscaler->spec->scale_target_ref->kind, "Deployment");
    hs_pb_set_str (&h->horizontal_pod_autoscaler->spec->scale_target_ref->name, "web");
    s_ok (s, "admin:alice", hs_write_new (HS__OP__OP_APPLY, h), "hsctl apply HPA");

    /* allowed: the scale of both kinds, the HPA's status, an Event */
    s_ok (s, who, s_scale (s, HS_KIND_DEPLOYMENT, "web", 3, NULL), "scale Deployment");
    s_ok (s, who, s_scale (s, HS_KIND_REPLICASET, "rs", 2, NULL), "scale ReplicaSet");
    _cleanup_pb_ Hs__Object *d = s_get (s, HS_KIND_DEPLOYMENT, "web");
    CHECK_EQ_INT (d->deployment->spec->replicas->value, 3);
    CHECK_EQ_INT (d->deployment->metadata->generation, 2);
    Hs__Object *st = hs_obj_new (HS_KIND_HPA, "default", "web");
    st->horizontal_pod_autoscaler->status =
        hs_pb_new (&hs__horizontal_pod_autoscaler_status__descriptor);
    st->horizontal_pod_autoscaler->status->current_replicas = 1;
    st->horizontal_pod_autoscaler->status->desired_replicas = 3;
    s_ok (s, who, hs_write_new (HS__OP__OP_UPDATE_STATUS, st), "HPA status");
    _cleanup_pb_ Hs__Object *hg = s_get (s, HS_KIND_HPA, "web");
    CHECK_EQ_INT (hg->horizontal_pod_autoscaler->status->desired_replicas, 3);
    CHECK_EQ_INT (hg->horizontal_pod_autoscaler->spec->min_replicas->value, 1); /* defaulted */
    Hs__Write *ev =
        hs_event_write ("horizontal-pod-autoscaler", "i1", NULL, "horizontalpodautoscaler",
                        "default", "web", "uid-1", "Normal", "SuccessfulRescale",
                        "New size: 3; reason: cpu resource "
                        "utilization (percentage of request) "
                        "above target");
    s_ok (s, who, ev, "event");
    CHECK_EQ_INT (s_forbidden (s), 0);

    /* refused: anything but replicas, with the reason; nothing written */
    int64_t rev = store_revision (s);
    Hs__Ack *a = s_as (s, who, s_scale (s, HS_KIND_DEPLOYMENT, "web", 4, "evil:latest"));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_FORBIDDEN);
    CHECK_EQ_STR (a->message,
                  "deployments.apps \"web\" is forbidden: User \"sa:autoscaler\" cannot "
                  "update deployments except their spec.replicas");
    a = s_as (s, who, s_scale (s, HS_KIND_REPLICASET, "rs", 2, "evil:latest"));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_FORBIDDEN);
    CHECK_EQ_STR (a->message, "replicasets.apps \"rs\" is forbidden: User \"sa:autoscaler\" cannot "
                              "update replicasets except their spec.replicas");
    {
        /* a label is not replicas either */
        _cleanup_pb_ Hs__Object *cur = s_get (s, HS_KIND_DEPLOYMENT, "web");
        Hs__Object *upd = hs_pb_dup (cur);
        hs_pb_map_set ((void ***)&upd->deployment->metadata->labels,
                       &upd->deployment->metadata->n_labels,
                       &hs__object_meta__labels_entry__descriptor, "owned", "yes");
        a = s_as (s, who, hs_write_new (HS__OP__OP_UPDATE, upd));
        CHECK_EQ_INT (a->code, HS__CODE__CODE_FORBIDDEN);
    }
    /* the role table: apply, create, delete, another kind, the HPA's spec */
    a = s_as (s, who, hs_write_new (HS__OP__OP_APPLY, s_scalable (HS_KIND_DEPLOYMENT, "web")));
    CHECK_EQ_STR (a->message,
                  "deployments.apps \"web\" is forbidden: User \"sa:autoscaler\" cannot "
                  "patch resource \"deployments\" in API group \"apps\" in the "
                  "namespace \"default\"");
    a = s_as (s, who, s_target (HS__OP__OP_DELETE, HS_KIND_DEPLOYMENT, "default", "web"));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_FORBIDDEN);
    a = s_as (s, who, hs_write_new (HS__OP__OP_CREATE, s_pod ("web-x", NULL)));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_FORBIDDEN);
    a = s_as (s, who, hs_write_new (HS__OP__OP_UPDATE, hs_pb_dup (hg)));
    CHECK_EQ_STR (a->message,
                  "horizontalpodautoscalers.autoscaling \"web\" is forbidden: User "
                  "\"sa:autoscaler\" cannot update resource \"horizontalpodautoscalers\" in API "
                  "group \"autoscaling\" in the namespace \"default\"");
    CHECK_EQ_INT (store_revision (s), rev);
    CHECK_EQ_INT (s_forbidden (s), 7);
    _cleanup_pb_ Hs__Object *after = s_get (s, HS_KIND_DEPLOYMENT, "web");
    CHECK (hs_pb_equal (d, after));

    store_out_clear (&g_out);
    store_destroy (&s);
}

/* A refusal: kubectl's words, nothing written, counted, answered the same
 * on a retry; through the batch as hs-store receives it. */
static void test_store_refusal (void)
{
    store_t *s = s_open ("refusal");
    s_ok (s, "node:demo", hs_write_new (HS__OP__OP_CREATE, s_node ("demo")), "node");
    s_ok (s, "node:demo2", hs_write_new (HS__OP__OP_CREATE, s_node ("demo2")), "node");
    s_bound_pod (s, "web-1", "demo");
    int64_t rev = store_revision (s);
    _cleanup_pb_ Hs__Object *before = s_get (s, HS_KIND_POD, "web-1");

    /* node:demo2 writes the status of a pod on demo; its object says demo2 */
    Hs__Object *o = s_pod ("web-1", "demo2");
    o->pod->status = hs_pb_new (&hs__pod_status__descriptor);
    hs_pb_set_str (&o->pod->status->phase, "Failed");
    Hs__Write *w = hs_write_new (HS__OP__OP_UPDATE_STATUS, o);
    Hs__Ack *a = s_run (s, "node:demo2", s_cmdv ("demo2", "st-1", 1, &w));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_FORBIDDEN);
    CHECK_EQ_STR (a->message, "pods \"web-1\" is forbidden: User \"node:demo2\" cannot update pods "
                              "bound to node \"demo\"");
    CHECK (!a->replayed);
    CHECK_EQ_INT (g_out.n_events, 0);
    CHECK_EQ_INT (store_revision (s), rev);
    CHECK_EQ_INT (s_forbidden (s), 1);
    _cleanup_pb_ Hs__Object *after = s_get (s, HS_KIND_POD, "web-1");
    CHECK (hs_pb_equal (before, after));
    /* the same request again: the same answer, remembered */
    o = s_pod ("web-1", "demo2");
    w = hs_write_new (HS__OP__OP_UPDATE_STATUS, o);
    a = s_run (s, "node:demo2", s_cmdv ("demo2", "st-1", 1, &w));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_FORBIDDEN);
    CHECK (a->replayed);
    CHECK_EQ_INT (s_forbidden (s), 1);

    /* the brief's second example, through store_batch as hs-store gets it */
    store_batch_t *b = store_batch_new (s);
    Hs__Object *d = hs_obj_new (HS_KIND_DEPLOYMENT, "default", "web");
    Hs__Envelope *env = hs_pb_new (&hs__envelope__descriptor);
    env->body_case = HS__ENVELOPE__BODY_COMMAND;
    w = hs_write_new (HS__OP__OP_CREATE, d);
    env->command = s_cmdv ("demo2", "dep-1", 1, &w);
    store_batch_take_as (b, hs_strdup ("cmd.deployment"), env, 100, "node:demo2");
    CHECK (store_batch_apply (b, &g_out));
    CHECK_EQ_INT (g_out.n_acks, 1);
    CHECK_EQ_STR (g_out.acks[0].topic, "ack.demo2/");
    CHECK_EQ_INT (g_out.acks[0].ack->code, HS__CODE__CODE_FORBIDDEN);
    CHECK_EQ_STR (g_out.acks[0].ack->message,
                  "deployments.apps \"web\" is forbidden: User \"node:demo2\" cannot create "
                  "resource \"deployments\" in API group \"apps\" in the namespace \"default\"");
    store_batch_end (b);
    /* and without a stamp (an insecure bus) the same command is applied */
    d = hs_obj_new (HS_KIND_DEPLOYMENT, "default", "web");
    Hs__Object *tp = s_pod ("x", NULL);
    d->deployment->spec = hs_pb_new (&hs__deployment_spec__descriptor);
    d->deployment->spec->selector = hs_pb_new (&hs__label_selector__descriptor);
    hs_pb_map_set ((void ***)&d->deployment->spec->selector->match_labels,
                   &d->deployment->spec->selector->n_match_labels,
                   &hs__label_selector__match_labels_entry__descriptor, "app", "web");
    d->deployment->spec->template_ = hs_pb_new (&hs__pod_template_spec__descriptor);
    d->deployment->spec->template_->metadata = hs_pb_new (&hs__object_meta__descriptor);
    hs_pb_map_set ((void ***)&d->deployment->spec->template_->metadata->labels,
                   &d->deployment->spec->template_->metadata->n_labels,
                   &hs__object_meta__labels_entry__descriptor, "app", "web");
    d->deployment->spec->template_->spec = TAKE_PTR (tp->pod->spec);
    hs_pb_free (tp);
    env = hs_pb_new (&hs__envelope__descriptor);
    env->body_case = HS__ENVELOPE__BODY_COMMAND;
    w = hs_write_new (HS__OP__OP_CREATE, d);
    env->command = s_cmdv ("demo2", "dep-1", 1, &w);
    store_batch_take (b, hs_strdup ("cmd.deployment"), env, 100);
    CHECK (store_batch_apply (b, &g_out));
    CHECK_EQ_INT (g_out.acks[0].ack->code, HS__CODE__CODE_OK);
    CHECK (!g_out.acks[0].ack->replayed); /* not node:demo2's answer */
    store_batch_end (b);
    store_batch_destroy (&b);
    CHECK_EQ_INT (s_forbidden (s), 2);

    /* a command with one refused write writes nothing */
    Hs__Write *two[2] = {s_event ("hs-agent", "demo2", "web-1"),
                         s_target (HS__OP__OP_DELETE, HS_KIND_POD, "default", "web-1")};
    rev = store_revision (s);
    a = s_run (s, "node:demo2", s_cmdv ("demo2", "multi-1", 2, two));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_FORBIDDEN);
    CHECK_EQ_INT (a->failed_index, 1);
    CHECK_EQ_INT (g_out.n_events, 0);
    CHECK_EQ_INT (store_revision (s), rev);

    /* a dry run is authorized like the real thing */
    w = s_bind ("web-1", "demo2");
    Hs__Command *c = s_cmdv ("demo2", "dry-1", 1, &w);
    c->dry_run = true;
    a = s_run (s, "node:demo2", c);
    CHECK_EQ_INT (a->code, HS__CODE__CODE_FORBIDDEN);

    /* tap users, bootstrap tokens, unknown stamps: nothing */
    static const char *const nobody[] = {
        "tap:bob", "sa:apiserver", "sa:metrics", "bootstrap:07401b", "store", "sa:other", ""};
    for (size_t i = 0; i < HS_ARRAY_LEN (nobody); i++) {
        a = s_as (s, nobody[i], s_event ("x", NULL, "web-1"));
        CHECK_EQ_INT (a->code, HS__CODE__CODE_FORBIDDEN);
    }
    store_out_clear (&g_out);
    store_destroy (&s);
}

/* NodeRestriction through the store: the stored pod decides, through a
 * whole graceful delete. */
static void test_store_node_restriction (void)
{
    store_t *s = s_open ("noderestriction");
    s_ok (s, "node:demo", hs_write_new (HS__OP__OP_CREATE, s_node ("demo")), "node");
    s_ok (s, "node:demo2", hs_write_new (HS__OP__OP_CREATE, s_node ("demo2")), "node");
    /* its Node only: refused before it is read (no NotFound for "ghost") */
    Hs__Ack *a =
        s_as (s, "node:demo2",
              hs_write_new (HS__OP__OP_UPDATE_STATUS, hs_obj_new (HS_KIND_NODE, NULL, "demo")));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_FORBIDDEN);
    a = s_as (s, "node:demo2", s_target (HS__OP__OP_DELETE, HS_KIND_NODE, "", "ghost"));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_FORBIDDEN);
    a = s_as (s, "node:demo2", s_target (HS__OP__OP_DELETE, HS_KIND_NODE, "", "demo2"));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_OK);

    /* pods: no create but mirrors of its own, no bind */
    a = s_as (s, "node:demo", hs_write_new (HS__OP__OP_CREATE, s_pod ("web-1", "demo")));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_FORBIDDEN);
    a = s_as (s, "node:demo", hs_write_new (HS__OP__OP_CREATE, s_mirror (s_pod ("m", "demo2"))));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_FORBIDDEN);
    s_bound_pod (s, "web-1", "demo");
    s_ok (s, "admin:alice", hs_write_new (HS__OP__OP_CREATE, s_pod ("web-2", NULL)), "create");
    a = s_as (s, "node:demo", s_bind ("web-2", "demo"));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_FORBIDDEN);
    /* a running pod of its own: not its to delete */
    _cleanup_pb_ Hs__Object *p = s_get (s, HS_KIND_POD, "web-1");
    a = s_as (s, "node:demo", s_delete_now ("web-1", p->pod->metadata->uid));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_FORBIDDEN);
    /* graceful delete by a user; another node cannot finish it; its own can */
    a = s_as (s, "admin:alice", s_target (HS__OP__OP_DELETE, HS_KIND_POD, "default", "web-1"));
    CHECK_EQ_INT (a->results[0]->result, HS__RESULT__RESULT_DELETING);
    a = s_as (s, "node:demo2", s_delete_now ("web-1", p->pod->metadata->uid));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_FORBIDDEN);
    CHECK_EQ_STR (a->message, "pods \"web-1\" is forbidden: User \"node:demo2\" cannot delete pods "
                              "bound to node \"demo\"");
    _cleanup_pb_ Hs__Object *still = s_get (s, HS_KIND_POD, "web-1");
    CHECK (still != NULL);
    a = s_as (s, "node:demo", s_delete_now ("web-1", p->pod->metadata->uid));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_OK);
    CHECK_EQ_INT (a->results[0]->result, HS__RESULT__RESULT_DELETED);
    /* the prober cannot delete a running pod, the scheduler no pod at all */
    s_bound_pod (s, "web-3", "demo");
    a = s_as (s, "sa:prober", s_target (HS__OP__OP_DELETE, HS_KIND_POD, "default", "web-3"));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_FORBIDDEN);
    a = s_as (s, "sa:scheduler", s_target (HS__OP__OP_DELETE, HS_KIND_POD, "default", "web-3"));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_FORBIDDEN);
    CHECK_EQ_INT (s_forbidden (s), 9);
    store_out_clear (&g_out);
    store_destroy (&s);
}

/* A node's commands naming another client are dropped unanswered; and
 * the request table is keyed by identity: sa:endpoints can neither take an
 * admin's next request id first nor replay its answer (§2.5). */
static void test_request_table (void)
{
    store_t *s = s_open ("requests");
    s_ok (s, "node:b", hs_write_new (HS__OP__OP_CREATE, s_node ("b")), "node");
    /* node:b names hsctl's client: no answer goes to hsctl */
    Hs__Write *w = s_event ("hs-agent", "b", "web-1");
    Hs__Command *cmd = s_cmdv ("hsctl-4f2a", "0007", 1, &w);
    const char *nodeb = "node:b";
    int64_t rev = store_revision (s);
    uint64_t forbidden = s_forbidden (s);
    CHECK (store_apply_as (s, &cmd, &nodeb, 1, &g_out) >= 0);
    hs_pb_free (cmd);
    CHECK_EQ_INT (g_out.n_acks, 0);
    CHECK_EQ_INT (g_out.n_events, 0);
    CHECK_EQ_INT (g_out.unanswerable, 1);
    CHECK_EQ_INT (store_revision (s), rev);
    CHECK_EQ_INT (s_forbidden (s), forbidden + 1);
    /* nor a snapshot */
    Hs__SnapshotRequest *sreq = hs_pb_new (&hs__snapshot_request__descriptor);
    hs_pb_set_str (&sreq->client_id, "hsctl-4f2a");
    hs_pb_set_str (&sreq->request_id, "s1");
    store_snap_answer_t sa;
    CHECK_EQ_INT (store_snapshot_answer_as (s, sreq, "node:b", &sa), -EPERM);
    hs_pb_free (sreq);
    CHECK_EQ_INT (s_forbidden (s), forbidden + 2);

    /* sa:endpoints squats hsctl's next ids: its own answers */
    w = hs_write_new (HS__OP__OP_CREATE, s_pod ("web-1", NULL));
    Hs__Ack *a = s_run (s, "sa:endpoints", s_cmdv ("hsctl-4f2a", "0007", 1, &w));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_FORBIDDEN);
    /* hsctl's command with that id is applied, not answered from node:b's */
    w = hs_write_new (HS__OP__OP_CREATE, s_pod ("web-1", NULL));
    a = s_run (s, "admin:alice", s_cmdv ("hsctl-4f2a", "0007", 1, &w));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_OK);
    CHECK (!a->replayed);
    CHECK_EQ_INT (g_out.n_events, 1);
    /* each retry gets its own identity's answer */
    w = hs_write_new (HS__OP__OP_CREATE, s_pod ("web-1", NULL));
    a = s_run (s, "admin:alice", s_cmdv ("hsctl-4f2a", "0007", 1, &w));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_OK);
    CHECK (a->replayed);
    w = hs_write_new (HS__OP__OP_CREATE, s_pod ("web-1", NULL));
    a = s_run (s, "sa:endpoints", s_cmdv ("hsctl-4f2a", "0007", 1, &w));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_FORBIDDEN);
    CHECK (a->replayed);
    /* the other way: the admin first, sa:endpoints replays its ids: no
     * answer of the admin's comes back, and its own write is judged */
    w = hs_write_new (HS__OP__OP_CREATE, s_pod ("web-2", NULL));
    a = s_run (s, "admin:alice", s_cmdv ("hsctl-4f2a", "0008", 1, &w));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_OK);
    w = s_target (HS__OP__OP_DELETE, HS_KIND_POD, "default", "web-2");
    a = s_run (s, "sa:endpoints", s_cmdv ("hsctl-4f2a", "0008", 1, &w));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_FORBIDDEN);
    CHECK (!a->replayed);
    CHECK (a->n_results == 0);
    /* the insecure key ("") is not any identity's either */
    w = s_target (HS__OP__OP_DELETE, HS_KIND_POD, "default", "web-2");
    a = s_run (s, NULL, s_cmdv ("hsctl-4f2a", "0008", 1, &w));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_OK);
    CHECK (!a->replayed);
    CHECK_EQ_INT (a->results[0]->result, HS__RESULT__RESULT_DELETED);
    /* a stamp holding '\n' would split its key elsewhere: refused, never
     * looked up nor remembered */
    w = hs_write_new (HS__OP__OP_CREATE, s_pod ("web-3", NULL));
    a = s_run (s, "admin:a", s_cmdv ("b", "c\nx", 1, &w));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_OK);
    w = hs_write_new (HS__OP__OP_CREATE, s_pod ("web-3", NULL));
    a = s_run (s, "admin:a\nb", s_cmdv ("c", "x", 1, &w));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_FORBIDDEN);
    CHECK (!a->replayed);
    CHECK_EQ_STR (a->message, "forbidden: the identity stamped on this command is empty, over 300 "
                              "bytes or not printable ASCII");
    a = s_run (s, "", s_cmdv ("c", "x", 1, (Hs__Write *[]){s_event ("x", NULL, "y")}));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_FORBIDDEN);
    CHECK (!a->replayed);

    /* the key's length: identity, client and request id together */
    char id[STORE_AUTHZ_MAX_IDENTITY + 1], client[254];
    memcpy (id, "admin:", 6);
    memset (id + 6, 'u', sizeof id - 7);
    id[sizeof id - 1] = '\0';
    memset (client, 'c', sizeof client - 1);
    client[sizeof client - 1] = '\0';
    w = hs_write_new (HS__OP__OP_CREATE, s_pod ("web-5", NULL));
    a = s_run (s, id, s_cmdv (client, "1", 1, &w));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_INVALID);
    CHECK_CONTAINS (a->message, "request_id: Too long: the identity (300 bytes), client and "
                                "request id must have at most 501 bytes together");
    client[150] = '\0';
    w = hs_write_new (HS__OP__OP_CREATE, s_pod ("web-5", NULL));
    a = s_run (s, id, s_cmdv (client, "1", 1, &w));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_OK);
    w = hs_write_new (HS__OP__OP_CREATE, s_pod ("web-5", NULL));
    a = s_run (s, id, s_cmdv (client, "1", 1, &w));
    CHECK (a->replayed);

    /* remembered across a restart, still per identity */
    store_destroy (&s);
    s = s_open ("requests");
    w = hs_write_new (HS__OP__OP_CREATE, s_pod ("web-1", NULL));
    a = s_run (s, "sa:endpoints", s_cmdv ("hsctl-4f2a", "0007", 1, &w));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_FORBIDDEN);
    CHECK (a->replayed);
    w = hs_write_new (HS__OP__OP_CREATE, s_pod ("web-1", NULL));
    a = s_run (s, "admin:alice", s_cmdv ("hsctl-4f2a", "0007", 1, &w));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_OK);
    CHECK (a->replayed);
    store_out_clear (&g_out);
    store_destroy (&s);
}

/* ------------------------------------------------------------------ reads */

static void test_list_rules (void)
{
    store_authz_id_t id;
    store_authz_list_t l;
    char *msg = NULL;
    const hs_kind_t pods[] = {HS_KIND_POD};
    const hs_kind_t deps[] = {HS_KIND_POD, HS_KIND_DEPLOYMENT};
    /* what they ask: insecure, admins, controllers, taps */
    static const char *const all[] = {NULL,      "admin:alice",  "sa:scheduler", "sa:replicas",
                                      "sa:jobs", "sa:prober",    "sa:endpoints", "sa:dns",
                                      "tap:bob", "sa:apiserver", "sa:autoscaler"};
    for (size_t i = 0; i < HS_ARRAY_LEN (all); i++) {
        store_authz_id_parse (all[i], &id);
        CHECK_EQ_INT (store_authz_list (&id, deps, 2, "n2", &l, &msg), 0);
        CHECK_EQ_INT (l.n_kinds, 2);
        CHECK_EQ_STR (l.pod_node, "n2");
        CHECK_EQ_INT (store_authz_list (&id, NULL, 0, NULL, &l, &msg), 0);
        CHECK_EQ_INT (l.n_kinds, 0);
        CHECK_EQ_STR (l.pod_node, "");
    }
    /* a node: its pods, whatever it asks */
    store_authz_id_parse ("node:n1", &id);
    CHECK_EQ_INT (store_authz_list (&id, pods, 1, NULL, &l, &msg), 0);
    CHECK_EQ_STR (l.pod_node, "n1");
    CHECK_EQ_INT (store_authz_list (&id, pods, 1, "n1", &l, &msg), 0);
    CHECK_EQ_INT (store_authz_list (&id, NULL, 0, NULL, &l, &msg), 0);
    CHECK_EQ_INT (l.n_kinds, 6); /* nodes, pods, services, endpoints, configmaps, secrets */
    CHECK_EQ_INT (store_authz_list (&id, pods, 1, "n2", &l, &msg), -EPERM);
    CHECK_EQ_STR (msg, "pods is forbidden: User \"node:n1\" cannot list pods bound to node \"n2\"");
    free (msg);
    CHECK_EQ_INT (store_authz_list (&id, deps, 2, NULL, &l, &msg), -EPERM);
    CHECK_EQ_STR (msg, "deployments.apps is forbidden: User \"node:n1\" cannot list resource "
                       "\"deployments\" in API group \"apps\" at the cluster scope");
    free (msg);
    /* sa:metrics: the six kinds hs-metrics renders, never a Secret (review 18, finding 8) */
    store_authz_id_parse ("sa:metrics", &id);
    const hs_kind_t rendered[] = {HS_KIND_POD,        HS_KIND_NODE, HS_KIND_DEPLOYMENT,
                                  HS_KIND_REPLICASET, HS_KIND_JOB,  HS_KIND_HPA};
    CHECK_EQ_INT (store_authz_list (&id, rendered, 6, NULL, &l, &msg), 0);
    CHECK_EQ_INT (l.n_kinds, 6);
    CHECK_EQ_INT (store_authz_list (&id, deps, 2, "n2", &l, &msg), 0);
    CHECK_EQ_INT (l.n_kinds, 2);
    CHECK_EQ_STR (l.pod_node, "n2");
    CHECK_EQ_INT (store_authz_list (&id, NULL, 0, NULL, &l, &msg), 0);
    CHECK_EQ_INT (l.n_kinds, 6); /* none asked: those six, not every kind */
    for (size_t i = 0; i < l.n_kinds; i++) CHECK (l.kinds[i] == rendered[i]);
    static const hs_kind_t secret_too[] = {HS_KIND_POD, HS_KIND_SECRET};
    msg = NULL;
    CHECK_EQ_INT (store_authz_list (&id, secret_too, 2, NULL, &l, &msg), -EPERM);
    CHECK_EQ_STR (msg, "secrets is forbidden: User \"sa:metrics\" cannot list resource "
                       "\"secrets\" in API group \"\" at the cluster scope");
    free (msg);
    static const hs_kind_t others[] = {HS_KIND_CONFIGMAP, HS_KIND_SERVICE, HS_KIND_ENDPOINTS,
                                       HS_KIND_EVENT};
    for (size_t i = 0; i < HS_ARRAY_LEN (others); i++) {
        msg = NULL;
        CHECK_EQ_INT (store_authz_list (&id, &others[i], 1, NULL, &l, &msg), -EPERM);
        free (msg);
    }
    static const char *const none[] = {"bootstrap:07401b", "store", "sa:other", ""};
    for (size_t i = 0; i < HS_ARRAY_LEN (none); i++) {
        store_authz_id_parse (none[i], &id);
        msg = NULL;
        CHECK_EQ_INT (store_authz_list (&id, pods, 1, NULL, &l, &msg), -EPERM);
        CHECK_CONTAINS (msg, "cannot list resource \"pods\"");
        free (msg);
    }
}

/* The names of the objects a snapshot answer carries, "kind/ns/name ..."
 * sorted as the store lists them; or "error <code>: <message>". */
static char *s_answer (store_t *s, const char *identity, const char *pod_node, size_t n,
                       const char *const *kinds)
{
    CHECK_EQ_INT (store_checkpoint (s), 0);
    Hs__SnapshotRequest *req = hs_pb_new (&hs__snapshot_request__descriptor);
    hs_pb_set_str (&req->client_id, s_client_of (identity));
    hs_pb_set_str (&req->request_id, "s1");
    hs_pb_set_str (&req->pod_node, pod_node);
    for (size_t i = 0; i < n; i++)
        hs_pb_push ((void ***)&req->kinds, &req->n_kinds, hs_strdup (kinds[i]));
    store_snap_answer_t a;
    CHECK_EQ_INT (store_snapshot_answer_as (s, req, identity, &a), 0);
    hs_buf_t b = {0};
    for (size_t c = 0; c < a.n; c++) {
        const Hs__SnapshotChunk *ch = a.chunks[c];
        if (ch->code) hs_buf_printf (&b, "error %d: %s", (int)ch->code, hs_s (ch->message));
        for (size_t i = 0; i < ch->n_objects; i++) {
            const Hs__ObjectMeta *m = hs_obj_meta (ch->objects[i]);
            hs_buf_printf (&b, "%s%s/%s/%s", b.len ? " " : "",
                           hs_kind_info (hs_obj_kind (ch->objects[i]))->name, hs_s (m->namespace_),
                           m->name);
        }
    }
    store_snap_answer_free (&a);
    hs_pb_free (req);
    char *text = hs_buf_take (&b);
    return text ? text : hs_strdup ("");
}

static void test_store_snapshots (void)
{
    store_t *s = s_open ("snapshots");
    s_ok (s, "node:n1", hs_write_new (HS__OP__OP_CREATE, s_node ("n1")), "node");
    s_ok (s, "node:n2", hs_write_new (HS__OP__OP_CREATE, s_node ("n2")), "node");
    s_ok (s, "admin:alice", hs_write_new (HS__OP__OP_CREATE, s_pod ("a", NULL)), "pod");
    s_ok (s, "sa:scheduler", s_bind ("a", "n1"), "bind");
    s_ok (s, "admin:alice", hs_write_new (HS__OP__OP_CREATE, s_pod ("b", NULL)), "pod");
    s_ok (s, "sa:scheduler", s_bind ("b", "n2"), "bind");
    s_ok (s, "admin:alice", hs_write_new (HS__OP__OP_CREATE, s_pod ("pending", NULL)), "pod");
    static const char *const objs[][2] = {
        {"secret", "db"}, {"secret", "other"}, {"configmap", "conf-b"}, {"configmap", "conf-x"}};
    for (size_t i = 0; i < HS_ARRAY_LEN (objs); i++) {
        hs_kind_t k = hs_kind_parse (objs[i][0]);
        s_ok (s, "admin:alice",
              hs_write_new (HS__OP__OP_CREATE, hs_obj_new (k, "default", objs[i][1])), "object");
    }
    s_ok (s, "admin:alice",
          hs_write_new (HS__OP__OP_CREATE, hs_obj_new (HS_KIND_SECRET, "shop", "db")), "object");
    Hs__Object *svc = hs_obj_new (HS_KIND_SERVICE, "default", "web");
    svc->service->spec = hs_pb_new (&hs__service_spec__descriptor);
    Hs__ServicePort *port = hs_pb_new (&hs__service_port__descriptor);
    port->port = 80;
    hs_pb_push ((void ***)&svc->service->spec->ports, &svc->service->spec->n_ports, port);
    s_ok (s, "admin:alice", hs_write_new (HS__OP__OP_CREATE, svc), "service");

    static const char *const everything[] = {"pods",      "nodes",      "services",
                                             "endpoints", "configmaps", "secrets"};
    _cleanup_free_ char *n1 = s_answer (s, "node:n1", NULL, 0, NULL);
    CHECK_EQ_STR (n1, "node//n1 node//n2 pod/default/a service/default/web "
                      "configmap/default/conf-b configmap/default/conf-x secret/default/db "
                      "secret/default/other secret/shop/db");
    _cleanup_free_ char *n2 = s_answer (s, "node:n2", "n2", HS_ARRAY_LEN (everything), everything);
    CHECK_EQ_STR (n2, "node//n1 node//n2 pod/default/b service/default/web "
                      "configmap/default/conf-b configmap/default/conf-x secret/default/db "
                      "secret/default/other secret/shop/db");
    _cleanup_free_ char *mine = s_answer (s, "node:n1", NULL, 1, (const char *[]){"pods"});
    CHECK_EQ_STR (mine, "pod/default/a");
    uint64_t before = s_forbidden (s);
    _cleanup_free_ char *other = s_answer (s, "node:n1", "n2", 1, (const char *[]){"pods"});
    CHECK_EQ_STR (other, "error 5: pods is forbidden: User \"node:n1\" cannot list pods bound to "
                         "node \"n2\"");
    _cleanup_free_ char *deps = s_answer (s, "node:n1", NULL, 1, (const char *[]){"deployments"});
    CHECK_EQ_STR (deps, "error 5: deployments.apps is forbidden: User \"node:n1\" cannot list "
                        "resource \"deployments\" in API group \"apps\" at the cluster scope");
    _cleanup_free_ char *boot = s_answer (s, "bootstrap:07401b", NULL, 0, NULL);
    CHECK_CONTAINS (boot, "error 5: nodes is forbidden: User \"bootstrap:07401b\" cannot list");
    /* sa:metrics: a snapshot of no kind in particular is of the six it renders */
    _cleanup_free_ char *metrics = s_answer (s, "sa:metrics", NULL, 0, NULL);
    CHECK_EQ_STR (metrics, "node//n1 node//n2 pod/default/a pod/default/b pod/default/pending");
    _cleanup_free_ char *msecret =
        s_answer (s, "sa:metrics", NULL, 2, (const char *[]){"pods", "secrets"});
    CHECK_EQ_STR (msecret, "error 5: secrets is forbidden: User \"sa:metrics\" cannot list "
                           "resource \"secrets\" in API group \"\" at the cluster scope");
    CHECK_EQ_INT (s_forbidden (s), before + 4);
    /* everyone else reads everything */
    _cleanup_free_ char *tap =
        s_answer (s, "tap:bob", NULL, 2, (const char *[]){"pods", "secrets"});
    CHECK_EQ_STR (tap, "pod/default/a pod/default/b pod/default/pending secret/default/db "
                       "secret/default/other secret/shop/db");
    _cleanup_free_ char *open = s_answer (s, NULL, NULL, 1, (const char *[]){"configmaps"});
    CHECK_EQ_STR (open, "configmap/default/conf-b configmap/default/conf-x");
    store_out_clear (&g_out);
    store_destroy (&s);
}

/* ------------------------------------------------------------------ random commands */

static uint64_t s_rng = 0x9e3779b97f4a7c15ULL;

static unsigned s_rand (unsigned n)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return (unsigned)(s_rng % n);
}

/* A random write over a small world (two nodes, two names per kind), so
 * that writes meet existing objects often. */
static Hs__Write *s_random_write (void)
{
    static const hs_kind_t kinds[] = {HS_KIND_POD,      HS_KIND_POD,        HS_KIND_NODE,
                                      HS_KIND_EVENT,    HS_KIND_DEPLOYMENT, HS_KIND_SECRET,
                                      HS_KIND_ENDPOINTS};
    static const char *const nodes[] = {"", "n1", "n2"};
    static const char *const names[] = {"a", "b"};
    hs_kind_t k = kinds[s_rand (HS_ARRAY_LEN (kinds))];
    Hs__Op op = s_ops[s_rand (HS_ARRAY_LEN (s_ops))];
    const char *name = k == HS_KIND_NODE ? nodes[1 + s_rand (2)] : names[s_rand (2)];
    if (op == HS__OP__OP_DELETE || op == HS__OP__OP_BIND) {
        Hs__Write *w = hs_write_target (op, k, "default", name);
        if (op == HS__OP__OP_BIND) hs_pb_set_str (&w->node_name, nodes[1 + s_rand (2)]);
        if (s_rand (2)) {
            w->grace_period_seconds = hs_pb_new (&hs__int64_value__descriptor);
            w->grace_period_seconds->value = s_rand (2);
        }
        return w;
    }
    Hs__Object *o;
    if (k == HS_KIND_POD) {
        o = s_pod (name, nodes[s_rand (3)]);
        if (s_rand (3) == 0) s_mirror (o);
        if (s_rand (3) == 0) s_phase (o, s_rand (2) ? "Failed" : "Running");
    } else if (k == HS_KIND_NODE) {
        o = s_node (name);
        if (s_rand (4) == 0) {
            o->node->spec = hs_pb_new (&hs__node_spec__descriptor);
            o->node->spec->unschedulable = true;
        }
    } else {
        o = hs_obj_new (k, "default", name);
    }
    return hs_write_new (op, o);
}

/* Whatever a role sends, what it changed is within its reach: every event
 * of an allowed command is of an object the role may write, and a refused
 * command changes nothing. */
static void test_random_commands (void)
{
    store_t *s = s_open ("random");
    s_ok (s, "admin:alice", hs_write_new (HS__OP__OP_CREATE, s_node ("n1")), "node");
    s_ok (s, "admin:alice", hs_write_new (HS__OP__OP_CREATE, s_node ("n2")), "node");
    static const char *const who[] = {
        "node:n1",      "node:n2",      "sa:scheduler",  "sa:replicas",      "sa:jobs", "sa:prober",
        "sa:endpoints", "sa:dns",       "tap:bob",       "bootstrap:07401b", "store",   "sa:other",
        "admin:alice",  "sa:apiserver", "sa:autoscaler", "sa:metrics"};
    size_t oks = 0, refused = 0;
    for (int i = 0; i < 4000; i++) {
        const char *id = who[s_rand (HS_ARRAY_LEN (who))];
        Hs__Write *w[2] = {s_random_write (), s_random_write ()};
        size_t nw = 1 + s_rand (2);
        if (nw == 1) hs_pb_free (w[1]);
        char req[16];
        snprintf (req, sizeof req, "q%d", i);
        int64_t rev = store_revision (s);
        Hs__Ack *a = s_run (s, id, s_cmdv (s_client_of (id), req, nw, w));
        store_authz_id_t pid;
        store_authz_id_parse (id, &pid);
        if (a->code == HS__CODE__CODE_FORBIDDEN) refused++;
        if (a->code != HS__CODE__CODE_OK) {
            CHECK_EQ_INT (g_out.n_events, 0);
            CHECK_EQ_INT (store_revision (s), rev);
            continue;
        }
        oks++;
        CHECK (pid.role != STORE_ROLE_TAP && pid.role != STORE_ROLE_APISERVER &&
               pid.role != STORE_ROLE_METRICS && pid.role != STORE_ROLE_BOOTSTRAP &&
               pid.role != STORE_ROLE_STORE && pid.role != STORE_ROLE_UNKNOWN);
        for (size_t e = 0; e < g_out.n_events; e++) {
            const Hs__Object *o = g_out.events[e].event->object;
            hs_kind_t k = hs_obj_kind (o);
            const char *name = hs_obj_meta (o)->name;
            bool ok;
            switch (pid.role) {
            case STORE_ROLE_ADMIN: ok = true; break;
            case STORE_ROLE_NODE:
                ok = k == HS_KIND_EVENT || (k == HS_KIND_NODE && hs_streq (name, pid.name)) ||
                     (k == HS_KIND_POD && o->pod->spec &&
                      hs_streq (o->pod->spec->node_name, pid.name));
                break;
            case STORE_ROLE_SCHEDULER: ok = k == HS_KIND_EVENT || k == HS_KIND_POD; break;
            case STORE_ROLE_REPLICAS:
                ok = k == HS_KIND_EVENT || k == HS_KIND_POD || k == HS_KIND_REPLICASET ||
                     k == HS_KIND_DEPLOYMENT;
                break;
            case STORE_ROLE_JOBS:
                ok = k == HS_KIND_EVENT || k == HS_KIND_POD || k == HS_KIND_JOB;
                break;
            case STORE_ROLE_PROBER:
                ok = k == HS_KIND_EVENT || k == HS_KIND_POD || k == HS_KIND_NODE;
                break;
            case STORE_ROLE_ENDPOINTS: ok = k == HS_KIND_EVENT || k == HS_KIND_ENDPOINTS; break;
            case STORE_ROLE_AUTOSCALER:
                ok = k == HS_KIND_EVENT || k == HS_KIND_HPA || k == HS_KIND_DEPLOYMENT ||
                     k == HS_KIND_REPLICASET;
                break;
            case STORE_ROLE_DNS:
                ok = k == HS_KIND_EVENT || ((k == HS_KIND_SERVICE || k == HS_KIND_ENDPOINTS) &&
                                            hs_streq (name, HS_NET_DNS_SERVICE));
                break;
            default: ok = false;
            }
            if (!ok) fprintf (stderr, "  %s changed %s %s\n", id, hs_kind_info (k)->name, name);
            CHECK (ok);
        }
    }
    /* the world is small enough that both happen, often */
    CHECK (oks > 150);
    CHECK (refused > 1000);
    store_out_clear (&g_out);
    store_destroy (&s);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"identity_parse", test_identity_parse},
        {"role_table", test_role_table},
        {"insecure_and_admin", test_insecure_and_admin},
        {"rbac_words", test_rbac_words},
        {"node_restriction", test_node_restriction},
        {"controller_limits", test_controller_limits},
        {"components_writes", test_components_writes},
        {"autoscaler_writes", test_autoscaler_writes},
        {"store_refusal", test_store_refusal},
        {"store_node_restriction", test_store_node_restriction},
        {"request_table", test_request_table},
        {"list_rules", test_list_rules},
        {"store_snapshots", test_store_snapshots},
        {"random_commands", test_random_commands},
    };
    return HS_TEST_RUN (tests);
}
