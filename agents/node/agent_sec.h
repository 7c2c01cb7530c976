/*  agent_sec.h: a container's hardening, on the agent's side (docs/architecture.md,
 *  "Hardened pods").
 *
 *  The rules are hs_podsec.h's (shared with the store and hsctl); this file
 *  adds what only the node knows (does it allow privileged containers? would
 *  a container without runAsUser run as root?) and turns the settings into
 *  hs-shim's flags (shim_sec.h).
 */
#ifndef AGENT_SEC_H
#define AGENT_SEC_H

#include <stdbool.h>

#include "hs_obj.h"

/* Why container c of pod cannot start on this node, in the kubelet's words
 * (the waiting reason is CreateContainerConfigError), or NULL when it can:
 * - privileged without --allow-privileged: `privileged containers are not
 *   allowed ...`;
 * - capabilities beyond the default set (Docker's 14; Pod Security's
 *   "baseline") without --allow-privileged, unless the pod is static (from
 *   --manifests: the node admin's own, run outside admission as the
 *   kubelet does): `non-default capabilities are not allowed: container
 *   main adds "SYS_ADMIN" in securityContext.capabilities.add and ...`;
 * - runAsNonRoot with runAsUser 0: `container's runAsUser breaks non-root
 *   policy (pod: "web_default(uid)", container: main)`;
 * - runAsNonRoot without runAsUser while the agent runs as root: `container
 *   has runAsNonRoot and image will run as root (pod: ..., container: ...)`;
 * - a Localhost seccomp profile (not supported here);
 * - readOnlyRootFilesystem with --no-namespaces (no mount namespace to make
 *   read-only).
 * malloc'd. */
char *agent_sec_refusal (const Hs__Pod *pod, const Hs__Container *c, const char *node,
                         bool allow_privileged, bool no_namespaces, bool is_static);

/* The shim flags for container c of pod (NULL-terminated, the caller's:
 * hs_cg_strv_free). for_exec: for `hs-shim --exec` (an exec probe or
 * `hsctl exec` in the running container), which joins the container's
 * mount namespace, already read-only where it should be. */
char **agent_sec_shim_args (const Hs__Pod *pod, const Hs__Container *c, bool for_exec);

#endif
