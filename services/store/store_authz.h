/*  store_authz.h: who may write what in the store (docs/architecture.md,
 *  "The store authorizes every write"). Pure: an identity and one write in,
 *  allowed or Kubernetes' Forbidden text out. No LMDB, no bus, no clock.
 *
 *  The identity is the stamp hs-bus puts on every cmd.* message
 *  (hs_bus_peer_identity); Envelope.sender is never looked at. NULL means
 *  the bus runs insecure: everything is allowed. Forms (anything else is
 *  unknown and may write nothing):
 *    admin:<user>        everything (hsctl)
 *    node:<N>            hs-agent and hs-proxy of node N
 *    sa:scheduler  sa:replicas  sa:jobs  sa:prober  sa:endpoints  sa:dns
 *    sa:autoscaler
 *    tap:<user>          nothing (read-only)
 *    sa:apiserver        nothing (read-only: hs-apiserver's watch cache;
 *                        it writes as the user it serves, never as itself)
 *    bootstrap:<id>      nothing here (it registers a node key elsewhere)
 *    store[/replica]     nothing (the store's own writes never come by the bus)
 *
 *  A write is judged in two steps, as Kubernetes does with its authorizers
 *  and then its admission plugins:
 *    1. the role table (store_authz_verb): may this role use this op on
 *       this kind at all? Checked before the store reads anything, so a
 *       refused identity learns nothing (NotFound, Conflict) about objects.
 *    2. admission (store_authz_admit), on the object as *stored* (read in
 *       the write transaction), never on what the command says it is:
 *       node:<N> (the Node authorizer plus NodeRestriction)
 *         nodes   create/apply/update/update_status/delete: only Node N;
 *         pods    create: only mirror pods (annotation
 *                   kubernetes.io/config.mirror) with spec.nodeName N;
 *                 update_status: only pods stored with spec.nodeName N,
 *                   and the status write may not name another node;
 *                 delete: only pods stored with spec.nodeName N that are
 *                   mirror pods, being deleted (the agent's grace-0 delete
 *                   that finishes a graceful one) or finished (hs-agent
 *                   removes the pods hs-prober failed with NodeLost);
 *         events  create/apply/update.
 *       sa:scheduler   pods: bind, update_status (PodScheduled=False);
 *                      events.
 *       sa:replicas    pods, replicasets, deployments: every op but bind;
 *                      events.
 *       sa:jobs        pods, jobs: every op but bind; events.
 *       sa:prober      pods: update_status (NodeLost), delete of pods
 *                        being deleted (a lost node's agent never finishes
 *                        it); nodes: update_status (Ready Unknown), update
 *                        that changes nothing but spec.taints (unreachable);
 *                      events.
 *       sa:endpoints   endpoints: create/apply/update/delete; events.
 *       sa:dns         services and endpoints, kube-system/kube-dns only:
 *                        every op but bind; events.
 *       sa:autoscaler  horizontalpodautoscalers: update_status;
 *                      deployments, replicasets: update that changes
 *                        nothing but spec.replicas (the /scale
 *                        subresource's write); events.
 *  Every refusal reads as kubectl prints it, e.g.
 *    deployments.apps "web" is forbidden: User "node:b" cannot create
 *      resource "deployments" in API group "apps" in the namespace "default"
 *    pods "web-1" is forbidden: User "node:b" cannot update pods bound to
 *      node "a"
 *  Kubernetes' verbs: apply is "patch", update_status is "update" of
 *  "<plural>/status", bind is "create" of "pods/binding".
 */
#ifndef STORE_AUTHZ_H
#define STORE_AUTHZ_H

#include <stdbool.h>

#include "hs_obj.h"
#include "hs_pb.h"

#define STORE_AUTHZ_MAX_IDENTITY 300 /* bytes; a longer stamp is unknown */

typedef enum {
    STORE_ROLE_UNKNOWN = 0,
    STORE_ROLE_ADMIN,
    STORE_ROLE_NODE,
    STORE_ROLE_SCHEDULER,
    STORE_ROLE_REPLICAS,
    STORE_ROLE_JOBS,
    STORE_ROLE_PROBER,
    STORE_ROLE_ENDPOINTS,
    STORE_ROLE_DNS,
    STORE_ROLE_TAP,
    STORE_ROLE_BOOTSTRAP,
    STORE_ROLE_STORE,
    STORE_ROLE_APISERVER,
    STORE_ROLE_AUTOSCALER,
    STORE_ROLE_METRICS,
    STORE_ROLE__COUNT
} store_role_t;

typedef struct {
    const char *identity; /* as stamped (borrowed); NULL: the bus runs insecure */
    store_role_t role;
    const char *name; /* what follows "<role>:" (the node of node:<N>), or "" */
    bool well_formed; /* 1 to STORE_AUTHZ_MAX_IDENTITY bytes of printable ASCII, no space */
} store_authz_id_t;

/* Parses a stamp (borrowed: it must outlive *ret). NULL gives the insecure
 * identity, which may do everything. An empty, over-long (over
 * STORE_AUTHZ_MAX_IDENTITY bytes) or non-printable stamp (not well_formed:
 * the store refuses its commands outright, as its request-table key could
 * be split ambiguously), or one of no form above ("node:" without a name,
 * "sa:other"), is STORE_ROLE_UNKNOWN. */
void store_authz_id_parse (const char *identity, store_authz_id_t *ret);
/* "admin", "node", ... (static). */
const char *store_authz_role_name (store_role_t role);

/* Whether id may send a command or snapshot request naming client_id,
 * whose answers go to ack.<client_id>/ and snap.<client_id>/ (security.md
 * §2.5, "bind client_id to the identity"). node:<N> may use the client id
 * <N> only: hs-agent and hs-proxy of node N use it, and a node using
 * another client's id would have the store send that client answers to
 * requests it never made (racing the real ones). bootstrap:<id> may use
 * join-<id> only (hs-agent's joining client, agent_join.c): a join token's
 * answers go to no other client. Other identities: any client id (their
 * ids are random instance names, and admins and the control plane are
 * trusted not to spoof). The store drops a refused message unanswered and
 * counts it. */
#define STORE_AUTHZ_JOIN_CLIENT_PREFIX "join-"
bool store_authz_client_ok (const store_authz_id_t *id, const char *client_id);

/* Whether a MemberChange received on `topic`, stamped `identity`, may be
 * acted on: only on a cmd.members/ topic, and only from admin:<user>. The
 * broker restricts the topic cmd.members* to admins, but nothing stops a
 * node from putting a MemberChange body on cmd.pod/x: so both are checked
 * here. bus_secure false (the store's own connection is insecure): any
 * identity, still only on cmd.members/. On a secure bus a missing stamp is
 * refused. */
#define STORE_AUTHZ_MEMBERS_TOPIC "cmd.members/"
bool store_authz_member_change_ok (const char *topic, const char *identity, bool bus_secure);

/* One write, as the store sees it. */
typedef struct {
    Hs__Op op;
    hs_kind_t kind;
    const char *ns;           /* "" for cluster-scoped kinds */
    const char *name;         /* may be "" (a create with generateName) */
    const Hs__Object *stored; /* as stored, NULL if there is none (a create) */
    const Hs__Object *obj;    /* what create/apply/update/update_status carries, else NULL */
    const char *bind_node;    /* bind: the node named */
} store_authz_req_t;

/* Step 1, the role table: 0 if id's role may use req->op on req->kind
 * (req->ns/name for roles limited to names), else -EPERM with *ret_msg
 * (caller frees). Reads neither stored nor obj. */
int store_authz_verb (const store_authz_id_t *id, const store_authz_req_t *req, char **ret_msg);
/* Step 2, admission on the stored object (req->stored, req->obj): 0 or
 * -EPERM with *ret_msg. Call it after store_authz_verb allowed the write. */
int store_authz_admit (const store_authz_id_t *id, const store_authz_req_t *req, char **ret_msg);
/* Both steps. */
int store_authz_check (const store_authz_id_t *id, const store_authz_req_t *req, char **ret_msg);

/* Reads: what a snapshot request (cmd.snapshot) for kinds (n_kinds 0:
 * every kind) and pod_node gets, in *ret. node:<N> (after the Node
 * authorizer's read rule): Nodes, Services and Endpoints (hs-agent's
 * Service variables, hs-proxy's rules), ConfigMaps and Secrets; pods bound
 * to N only (an empty pod_node becomes N; another node's is refused); no
 * other kind. Kubernetes gives a node only the ConfigMaps and Secrets its
 * pods refer to, by name; hs-agent watches them (a snapshot, then events),
 * and a snapshot filtered so would miss an existing Secret that a pod bound
 * later refers to, while the events carry every one anyway until
 * subscriptions are filtered (libzmq 4.3.5). sa:metrics: Pods, Nodes,
 * Deployments, ReplicaSets, Jobs and HorizontalPodAutoscalers, what
 * hs-metrics renders (a request naming no kind gets those), so a leaked
 * metrics credential reads no Secret through a snapshot. bootstrap, store
 * and unknown identities: nothing. The insecure identity, admin, the other
 * sa:* (sa:apiserver included) and tap (read-only, but reading): what they
 * ask. 0, or -EPERM with *ret_msg (caller frees). */
typedef struct {
    hs_kind_t kinds[HS_KIND__COUNT];
    size_t n_kinds;       /* 0: every kind */
    const char *pod_node; /* borrowed: pod_node or the identity's node; "" for none */
} store_authz_list_t;
int store_authz_list (const store_authz_id_t *id, const hs_kind_t *kinds, size_t n_kinds,
                      const char *pod_node, store_authz_list_t *ret, char **ret_msg);

/* Kubernetes' verb for op ("create", "patch", "update", "delete"), and
 * the resource it acts on ("pods", "pods/status", "pods/binding"; static
 * or in buf). For logs and messages. */
const char *store_authz_verb_name (Hs__Op op);
const char *store_authz_resource (Hs__Op op, hs_kind_t kind, char *buf, size_t len);

#endif
