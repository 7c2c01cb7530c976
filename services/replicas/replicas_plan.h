/*  replicas_plan.h: what a sync of one ReplicaSet or Deployment decides, as
 *  data: a list of Commands (each a list of writes, committed together or
 *  not at all), the Event each write earns when its Command succeeds, and
 *  when to look at the object again. rs_sync.c and deploy_sync.c produce
 *  plans from cache state; replicas_main.c sends them.
 */
#ifndef REPLICAS_PLAN_H
#define REPLICAS_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "hs_client.h"

/* What a write is for: the wiring turns it into Events and counters. */
typedef enum {
    RP_TAG_NONE = 0,
    RP_TAG_POD_CREATE,  /* SuccessfulCreate "Created pod: <name from the ack>" */
    RP_TAG_POD_DELETE,  /* SuccessfulDelete "Deleted pod: <name>" */
    RP_TAG_POD_ADOPT,   /* an orphan gets our controller reference */
    RP_TAG_POD_RELEASE, /* a pod that no longer matches loses it */
    RP_TAG_GUARD,       /* the owner's fencing update (see rs_sync.h) */
    RP_TAG_STATUS,      /* the owner's status */
    RP_TAG_RS_CREATE,   /* a Deployment's new ReplicaSet */
    RP_TAG_RS_UPDATE,   /* scale, annotations, minReadySeconds */
    RP_TAG_RS_DELETE,   /* history cleanup */
    RP_TAG_RS_ADOPT,
    RP_TAG_RS_RELEASE,
    RP_TAG_DEPLOY_UPDATE, /* the Deployment's revision annotation */
} rp_tag_t;

typedef struct {
    Hs__Write *write;
    rp_tag_t tag;
    char *reason;  /* the Event on success (Normal), or NULL */
    char *message; /* its text */
} rp_write_t;

typedef struct {
    rp_write_t *w;
    size_t n, cap;
} rp_cmd_t;

typedef struct {
    rp_cmd_t *cmds;
    size_t n_cmds, cap;
    /* Wall-clock time (ns) at which the object wants another look (a pod
     * becomes available, a progress deadline passes); 0: none. */
    int64_t wake_ns;
} rp_plan_t;

/* A new, empty Command at the end of the plan. */
rp_cmd_t *rp_plan_cmd (rp_plan_t *p);
/* Appends a write (taken) to cmd; reason/message may be NULL (copied). */
void rp_cmd_add (rp_cmd_t *cmd, Hs__Write *w, rp_tag_t tag, const char *reason,
                 const char *message);
/* Wakes at the earlier of the plan's time and at (0 ignored). */
void rp_plan_wake (rp_plan_t *p, int64_t at_ns);
/* Number of writes in the plan. */
size_t rp_plan_writes (const rp_plan_t *p);
/* Frees everything the plan holds and empties it. */
void rp_plan_free (rp_plan_t *p);

#endif
