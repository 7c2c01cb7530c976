/*  hs_podlog.h: the rules of a pod's log request that `hsctl logs` and
 *  hs-apiserver's pods/log share: which container the user means, and the
 *  words kubectl shows when the log cannot be read (hs_podlog.c).
 *
 *  The log itself comes from the agent of the pod's node over the bus
 *  (LogRequest on logreq.<node>, LogChunks on logs.<client_id>; see
 *  docs/protocol.md). Only chunks hs-bus stamped with "node:<node>" count.
 */
#ifndef HS_PODLOG_H
#define HS_PODLOG_H

#include "hs_obj.h"

/* The container the user means, kubectl's way: `want` when the pod has it,
 * else the pod's only container. NULL with *ret_error (caller frees; the
 * message of a 400 BadRequest, as the API server words it) otherwise:
 *   `container x is not valid for pod web`
 *   `a container name must be specified for pod web, choose one of: [a b]` */
const char *hs_podlog_container (const Hs__Pod *pod, const char *pod_name, const char *want,
                                 char **ret_error);
/* The container's waiting reason in the store ("ContainerCreating",
 * "ImagePullBackOff"), or NULL. Borrowed from pod. */
const char *hs_podlog_waiting (const Hs__Pod *pod, const char *container);
/* The message of a failed LogChunk (code, message) as the API server says
 * it, and in *ret_reason its reason ("BadRequest", "NotFound", ...): an
 * agent that does not run the pod (yet) gives `container "c" in pod "p" is
 * waiting to start: <waiting or ContainerCreating>`. Caller frees. */
char *hs_podlog_error (Hs__Code code, const char *message, const char *pod, const char *container,
                       const char *waiting, const char **ret_reason);
/* The HTTP status of that reason (400 for BadRequest, 404, 403, 503, 500). */
int hs_podlog_http (const char *reason);

#endif
