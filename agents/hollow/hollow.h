/*  hollow.h: hs-hollow's hollow nodes (docs/architecture.md §10), like
 *  kubemark's hollow kubelet and kwok.
 *
 *  One process registers N Nodes and pretends to run the pods bound to
 *  them: for scale tests and benchmarks, not for workloads. Nothing is
 *  started; only the store sees the pods go Running, and Succeeded for
 *  run-to-completion pods. hollow_main.c is the daemon around it (flags,
 *  the bus, the loop); hollow.c is the simulation. It shares the real
 *  agent's rules and Node object through hsagent_core (agents/common/),
 *  nothing else of hs-agent.
 */
#ifndef HOLLOW_H
#define HOLLOW_H

#include <stddef.h>
#include <stdint.h>

#include "hs_client.h"

#define HOLLOW_MAX_NODES 1000000
/* A pod with restartPolicy OnFailure or Never "exits 0" after this many
 * (decimal) seconds; 0 when absent. */
#define HOLLOW_RUN_ANNOTATION "homeostat.io/simulate-run-seconds"

typedef struct {
    uint32_t n_nodes;   /* 1..HOLLOW_MAX_NODES */
    const char *prefix; /* node names prefix0 .. prefix(N-1); NULL: "hollow-" */
    const char *labels; /* "k=v,k2=v2", every node's extra labels; may be NULL */
    int64_t cpu_milli;  /* each node's capacity */
    int64_t memory_bytes;
    int64_t max_pods;
    int64_t start_delay_ns; /* a bound pod goes Running this long after we saw it */
    int64_t status_ns;      /* every node's Ready is re-posted once per interval, spread */
    int64_t heartbeat_ns;   /* hb.agent-sim.<instance> */
    int64_t usage_ns;       /* each node's usage.<node>/ (hollow_usage.h); 0: none */
} hollow_conf_t;

typedef struct hollow_t hollow_t;

/* The nodes, offline (conf is copied). */
hollow_t *hollow_new (const hollow_conf_t *conf);
/* Destroy the client first: acks of writes in flight must never run after
 * this. NULL-safe; NULLs *self_p. */
void hollow_destroy (hollow_t **self_p);

/* The bus instance: the prefix without trailing '-' and '.' ("hollow"). */
const char *hollow_instance (const hollow_t *self);

/* Goes online through client (borrowed; it must outlive self's use of
 * it): queues every node's registration, watches every pod, follows our
 * Nodes' events. Once every node is registered: READY=1. */
void hollow_start (hollow_t *self, hs_client_t *client);

/* One turn, after hollow_start: pods whose start or finish is due, the
 * Nodes' Ready re-posts that are due, writes flushed (within the in-flight
 * limit), the heartbeat when due. Returns when the next turn is due
 * (absolute monotonic ns); anything the client delivers meanwhile (acks,
 * pod events) also wants a turn. */
int64_t hollow_work (hollow_t *self);

#endif
