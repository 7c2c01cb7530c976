/*  agent_envfrom.h: what a container gets from ConfigMaps, Secrets and its
 *  own pod: the environment (env[].valueFrom, envFrom) and the key/value
 *  view of a ConfigMap or Secret that volumes project as files. Pure: the
 *  objects come from a lookup the caller gives (the agent's watch cache).
 *
 *  The kubelet's rules (pkg/kubelet/kubelet_pods.go makeEnvironmentVariables):
 *  - envFrom first, in order, each key as prefix+key; a name that is not a
 *    valid variable name ([-._a-zA-Z][-._a-zA-Z0-9]*) is skipped and told
 *    in one message (the InvalidEnvironmentVariableNames Event); then env,
 *    in order. The last definition of a name wins (hs-shim's --env rule).
 *  - A ConfigMap's variables come from data only (not binaryData); a
 *    Secret's from data. On this base the store may not merge stringData
 *    into data yet, so a key only in stringData counts too.
 *  - A missing object or key fails the container's start with kube's
 *    words, unless the reference is optional (then the variable is unset):
 *      configmap "x" not found / secret "x" not found
 *      couldn't find key k in ConfigMap ns/x / couldn't find key k in Secret ns/x
 *  - fieldRef: metadata.name, metadata.namespace, metadata.uid,
 *    metadata.labels['k'], metadata.annotations['k'], spec.nodeName,
 *    spec.serviceAccountName (always "": Homeostat has no service
 *    accounts), status.podIP, status.hostIP.
 */
#ifndef AGENT_ENVFROM_H
#define AGENT_ENVFROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hs_obj.h"

/* The cache: the object of that kind, namespace and name, or NULL. */
typedef const Hs__Object *(agent_lookup_fn)(void *arg, hs_kind_t kind, const char *ns,
                                            const char *name);

/* One key of a ConfigMap or Secret, borrowed from the object. */
typedef struct {
    const char *key;
    const uint8_t *data;
    size_t len;
} agent_kv_t;

/* Every key of a ConfigMap (data, then binaryData) or Secret (data, then
 * stringData keys not in data), sorted by key. Returns the count with
 * *ret (free the array only; the entries borrow from o). */
size_t agent_kv_list (const Hs__Object *o, agent_kv_t **ret);
/* The entry of that key, or NULL. */
const agent_kv_t *agent_kv_find (const agent_kv_t *kv, size_t n, const char *key);

/* [-._a-zA-Z][-._a-zA-Z0-9]*: Kubernetes' IsEnvVarName. */
bool agent_env_name_valid (const char *name);

/* The value of a fieldRef (malloc'd), or NULL for a path not supported. */
char *agent_env_field (const Hs__Pod *pod, const char *path, const char *pod_ip,
                       const char *host_ip);

typedef struct {
    const Hs__Pod *pod;
    const Hs__Container *container;
    const char *pod_ip;  /* status.podIP; NULL: "" */
    const char *host_ip; /* status.hostIP */
    agent_lookup_fn *lookup;
    void *arg;
    bool no_secrets; /* leave out every variable whose value comes from a Secret */
} agent_env_in_t;

/* The container's variables as "K=V" (NULL-terminated, agent_env_free),
 * envFrom then env. 0 with *ret_env and *ret_skipped (the
 * InvalidEnvironmentVariableNames message or NULL, malloc'd), or -ENOENT
 * with *ret_err (kube's words, malloc'd) when an object or key is missing,
 * -EINVAL with *ret_err for a fieldRef not supported. */
int agent_env_build (const agent_env_in_t *in, char ***ret_env, char **ret_skipped, char **ret_err);
void agent_env_free (char **env);

#endif
