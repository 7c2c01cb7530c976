/*  agent_svcenv.h: the Service environment variables a container starts
 *  with, kubelet's rules (pkg/kubelet/envvars/envvars.go). Pure.
 *
 *  For each Service in the pod's namespace that has a clusterIP (not
 *  "None", not empty) and exists when the container starts, with NAME its
 *  name upper-cased, '-' and '.' made '_' (and a leading '_' if it starts
 *  with a digit), its first port P0 and its IP:
 *      NAME_SERVICE_HOST=IP
 *      NAME_SERVICE_PORT=P0.port
 *      NAME_SERVICE_PORT_<PORTNAME>=port          per named port
 *      NAME_PORT=<proto>://IP:P0.port             proto lower-case, tcp by default
 *      NAME_PORT_<port>_<PROTO>=<proto>://IP:port per port, with
 *          ..._PROTO=<proto>, ..._PORT=<port>, ..._ADDR=IP
 *  Only when the pod's spec.enableServiceLinks is absent or true. The
 *  container's own env wins over them: the agent passes them to hs-shim
 *  before the container's (the last KEY= wins there).
 */
#ifndef AGENT_SVCENV_H
#define AGENT_SVCENV_H

#include <stdbool.h>
#include <stddef.h>

#include "objects.pb-c.h"

/* spec.enableServiceLinks is absent or true. spec may be NULL (true). */
bool agent_svcenv_enabled (const Hs__PodSpec *spec);

/* The variable prefix of a Service or port name ("catalog-api" ->
 * "CATALOG_API"). The caller's (free). */
char *agent_svcenv_name (const char *name);

/* The variables for a pod of namespace ns ("" = default) from objs (any
 * kinds; Services of other namespaces and other kinds are skipped), in
 * the order of objs, as "KEY=VALUE" strings in a NULL-terminated array.
 * NULL when there are none. Free with agent_svcenv_free. */
char **agent_svcenv_build (const char *ns, const Hs__Object *const *objs, size_t n);
void agent_svcenv_free (char **env);

#endif
