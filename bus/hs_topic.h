/*  hs_topic.h: the bus's topics, built and checked in one place
 *  (docs/protocol.md §2 is the contract; keep the two in step).
 *
 *  Subscriptions are ZeroMQ prefix filters, so every name a subscriber
 *  selects by prefix ends with HS_TOPIC_END ('/'), a byte no client id,
 *  instance, node name or namespace may contain (Kubernetes names are DNS
 *  subdomains, [a-z0-9.-]). Then `ack.x/` cannot match client xy's acks and
 *  `ev.pod.a/` cannot match the pods of node a.b:
 *
 *    ack.<client_id>/            snap.<client_id>/        echo.<client_id>/...
 *    logs.<client_id>/           probres.<client_id>/
 *    logreq.<node>/              probe.<node>/
 *    ev.<kind>.<routing>/<namespace>/<name>     (namespace "" if cluster-scoped)
 *    cmd.<kind>  cmd.multi  cmd.snapshot        hb.store  hb.<component>.<instance>
 *
 *  Command topics. A Command goes on cmd.<kind> when every write is of that
 *  one kind, and on cmd.multi when its writes are of two kinds or more: the
 *  topic says what the command may write, so the broker can authorize by
 *  topic (notes/security.md) and hs-store refuses a command whose writes do
 *  not match its topic (Forbidden).
 */
#ifndef HS_TOPIC_H
#define HS_TOPIC_H

#include <stdbool.h>
#include <stddef.h>

#include "hs_obj.h"
#include "hs_pb.h"

#define HS_TOPIC_END       '/'
#define HS_TOPIC_CMD_MULTI "cmd.multi"
#define HS_TOPIC_SNAPSHOT  "cmd.snapshot"
/* Longest client id, instance or node name in a topic: a DNS subdomain's
 * 253, so a node's name can be its agent's client id. */
#define HS_TOPIC_MAX_ID 253

/* Whether id can name a client, instance or node in a topic: 1 to
 * HS_TOPIC_MAX_ID bytes of printable ASCII (0x21-0x7e) without '/'. */
bool hs_topic_id_ok (const char *id);

/* Whether hs-bus (secured) stamps a message on topic (len bytes) with its
 * publisher's identity as a third frame: commands (cmd.) and the replies
 * agents send to one client (probres., execout., logs.), whose receivers
 * check who answered (docs/protocol.md §Security). */
bool hs_topic_is_stamped (const char *topic, size_t len);

/* "<family>.<id>/" (ack, snap, echo, logs, probres, logreq, probe): the
 * topic, and the exact subscription prefix, addressed to one client or
 * node. Caller frees. */
char *hs_topic_to (const char *family, const char *id);

/* Event topics. hs_topic_events: the prefix of one kind's events, "ev.<kind>."
 * (routing NULL), or of one stream, "ev.<kind>.<routing>/" (a node's pods:
 * routing = node name; unbound pods and every other kind: "-").
 * hs_topic_event: one object's, "ev.<kind>.<routing>/<ns>/<name>". Caller frees. */
char *hs_topic_events (hs_kind_t kind, const char *routing);
char *hs_topic_event (hs_kind_t kind, const char *routing, const char *ns, const char *name);

/* The kind a write writes, as hs-store reads it: Write.kind if set
 * (HS_KIND_NONE if unknown), else the object's kind, else pod for a bind. */
hs_kind_t hs_write_kind (const Hs__Write *w);

/* The topic for a command of these writes (see the banner): "cmd.<kind>"
 * or HS_TOPIC_CMD_MULTI (also for no writes or an unknown kind, which the
 * store refuses as Invalid anyway). Caller frees. */
char *hs_cmd_topic (Hs__Write *const *writes, size_t n);

/* Whether a Command may travel on topic. 0, or -EPERM with *ret_msg (caller
 * frees) a kubectl-style message naming the first write that does not
 * belong: the store answers it Forbidden. Commands without writes or with
 * a write of unknown kind pass: the store refuses them as Invalid. */
int hs_cmd_topic_check (const char *topic, Hs__Write *const *writes, size_t n, char **ret_msg);

/* A replicated store's member name (hs-store --member, the tail of
 * hb.raft.<member>): 1 to 32 of a-z, 0-9 and '-'. len bytes of s (s need
 * not be terminated there); false for NULL. */
#define HS_MEMBER_NAME_MAX 32
bool hs_member_name_ok (const char *s, size_t len);

#endif
