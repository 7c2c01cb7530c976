/*  agent_node.h: the Node object an agent registers and re-posts, the same
 *  for a real node (hs-agent, agents/node/agent_main.c) and a hollow one
 *  (hs-hollow, agents/hollow/hollow.c). Pure: objects in, objects out;
 *  only agent_machine_id reads a file.
 */
#ifndef AGENT_NODE_H
#define AGENT_NODE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/utsname.h>

#include "objects.pb-c.h"

/* The Node to register: labels kubernetes.io/hostname, os and arch, then
 * "k=v,k2=v2" from labels (may be NULL). The caller's (hs_pb_free). */
Hs__Object *agent_node_object (const char *name, const struct utsname *u, const char *labels);

typedef struct {
    const char *name;
    const char *cpu, *memory, *pods; /* capacity = allocatable, as quantities */
    int64_t ready_since_ns;          /* Ready's lastTransitionTime */
    const char *message;             /* Ready's message */
    const char *agent_version;
    const char *machine_id;
    const struct utsname *uts;
    const char *internal_ip; /* status.addresses InternalIP; NULL: 127.0.0.1 */
} agent_node_info_t;

/* The Node's status to post: capacity, allocatable, Ready with a fresh
 * heartbeat time, addresses, system info. The caller's (hs_pb_free). */
Hs__Object *agent_node_status (const agent_node_info_t *info);
/* /etc/machine-id, or "". */
void agent_machine_id (char *buf, size_t len);

#endif
