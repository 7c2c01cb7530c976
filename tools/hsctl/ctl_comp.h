/*  ctl_comp.h: what `hsctl get components` and `hsctl member` hear on hb.*
 *  and how they print it (ctl_comp_fmt.c, pure: test_ctl_fmt drives it).
 *
 *  A single store publishes hb.store; a replicated store's members each
 *  publish hb.raft.<member> (the leader also hb.store), a StoreHeartbeat
 *  with the raft fields (schemas/bus.proto, docs/protocol.md). One row per
 *  store member then; the leader's hb.store folds into its member's row.
 */
#ifndef CTL_COMP_H
#define CTL_COMP_H

#include <stdbool.h>
#include <stdint.h>

#include "hs_pb.h"

/* One member of a raft configuration, as some member's heartbeat says. */
typedef struct {
    uint64_t id;
    char *name, *address, *role; /* role: voter | standby | spare */
    uint64_t match_index;        /* the leader's view; 0 elsewhere */
} ctl_conf_member_t;

/* One live component instance. */
typedef struct {
    char *component, *instance, *host;
    int64_t started_at_ns, revision;
    uint64_t owned, total;
    bool is_store;
    /* a store: its view of raft (role "standalone" for a single store) */
    bool raft; /* heard on hb.raft.<member> */
    char *role, *leader, *cluster_id;
    uint64_t term, commit_index, applied_index, snapshot_index, snapshots_installed;
    ctl_conf_member_t *members;
    size_t n_members;
} ctl_comp_t;

typedef struct {
    ctl_comp_t *items;
    size_t n;
    int64_t store_revision; /* the highest any store reported */
    bool raft;              /* some hb.raft.* was heard */
} ctl_comps_t;

/* Takes one heartbeat. topic is where it came (hb.store, hb.raft.<member>),
 * sender the envelope's. Later heartbeats of an instance replace earlier. */
void ctl_comps_on_store (ctl_comps_t *s, const char *topic, const char *sender,
                         const Hs__StoreHeartbeat *hb);
void ctl_comps_on_component (ctl_comps_t *s, const Hs__ComponentHeartbeat *hb);
/* After listening: sorts, and when members were heard drops a store row
 * that came only from hb.store (its member's row has it). */
void ctl_comps_finish (ctl_comps_t *s);
void ctl_comps_free (ctl_comps_t *s);

/* `get components` table (ctl_tabwrite'd). Today's columns NAME INSTANCE
 * HOST AGE REVISION LAG OWNED; with members heard also ROLE TERM COMMIT
 * APPLIED LEADER MEMBERS (heard/configured). */
char *ctl_comps_table (const ctl_comps_t *s, bool no_headers, int64_t now_ns);
/* -o json|yaml (flags HS_FMT_*): a List of items, a store's with "store":
 * {role, term, commitIndex, appliedIndex, leader, clusterId, members...}. */
char *ctl_comps_render (const ctl_comps_t *s, int flags, int64_t now_ns);

/* `member list`: the configuration as the leader (else the member of the
 * highest term) knows it, one row per member: NAME ID ADDRESS VOTE STATUS
 * TERM COMMIT APPLIED MATCH; a configured member not heard shows STATUS
 * "unreachable", one heard but not configured "not-a-member". NULL when no
 * member was heard (a single store, or none). */
char *ctl_members_table (const ctl_comps_t *s, bool no_headers);
/* The member whose view `member list` uses, or NULL. */
const ctl_comp_t *ctl_members_view (const ctl_comps_t *s);

/* A member name as hs-store --member takes it: [a-z0-9-]{1,32}. */
bool ctl_member_name_ok (const char *name);
/* A raft address: HOST:PORT, PORT 1-65535, HOST not empty. */
bool ctl_member_addr_ok (const char *addr);
/* Checks `member OP ARGS...` (op add|remove|replace|transfer, args after
 * it) and fills a MemberChange (hs_pb_free; client and request ids left
 * empty). NULL and *ret_error (caller frees) on a mistake, naming it. */
Hs__MemberChange *ctl_member_change_new (const char *op, int nargs, char *const *args,
                                         char **ret_error);
/* The line printed on success: "member/s4 added (127.0.0.1:7704)" ... */
char *ctl_member_done_line (const Hs__MemberChange *mc);

#endif
