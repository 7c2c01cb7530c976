/*  agent_sec.c: a container's hardening, on the agent's side (agent_sec.h). */
#include "agent_sec.h"

#include <string.h>
#include <unistd.h>

#include "hs_podsec.h"
#include "hs_util.h"

/* kubelet's pod description in these messages: "name_namespace(uid)". */
static char *s_pod_desc (const Hs__Pod *pod)
{
    const Hs__ObjectMeta *m = pod->metadata;
    return hs_sprintf ("\"%s_%s(%s)\"", m ? hs_s (m->name) : "", m ? hs_s (m->namespace_) : "",
                       m ? hs_s (m->uid) : "");
}

/* "SYS_ADMIN", "SYS_PTRACE": the names of a set, quoted, as kube lists them. */
static char *s_caps_quoted (uint64_t caps)
{
    hs_buf_t b = {0};
    for (int i = 0; i <= HS_CAP_MAX; i++)
        if (caps & HS_CAP_BIT (i))
            hs_buf_printf (&b, "%s\"%s\"", b.len ? ", " : "", hs_s (hs_cap_name (i)));
    return hs_buf_take (&b);
}

char *agent_sec_refusal (const Hs__Pod *pod, const Hs__Container *c, const char *node,
                         bool allow_privileged, bool no_namespaces, bool is_static)
{
    hs_podsec_t s;
    hs_podsec_effective (pod->spec, c, &s);
    if (s.privileged && !allow_privileged)
        return hs_sprintf ("privileged containers are not allowed: container %s is privileged and "
                           "hs-agent on node %s runs without --allow-privileged",
                           hs_s (c->name), hs_s (node));
    /* Pod Security "baseline": nothing beyond the default set. SYS_ADMIN,
     * SYS_MODULE, SYS_PTRACE... lift their seccomp denials too, and a
     * container sees the host's files: that is root on the node. */
    uint64_t extra = s.caps & ~hs_caps_default ();
    if (extra && !allow_privileged && !is_static) {
        _cleanup_free_ char *names = s_caps_quoted (extra);
        return hs_sprintf ("non-default capabilities are not allowed: container %s adds %s in "
                           "securityContext.capabilities.add and hs-agent on node %s runs without "
                           "--allow-privileged",
                           hs_s (c->name), names, hs_s (node));
    }
    if (s.run_as_non_root) {
        _cleanup_free_ char *desc = s_pod_desc (pod);
        if (s.has_uid && s.uid == 0)
            return hs_sprintf ("container's runAsUser breaks non-root policy (pod: %s, "
                               "container: %s)",
                               desc, hs_s (c->name));
        /* The "image's" user here is the agent's own: the container
         * keeps it when no runAsUser is given. */
        if (!s.has_uid && geteuid () == 0)
            return hs_sprintf ("container has runAsNonRoot and image will run as root (pod: %s, "
                               "container: %s)",
                               desc, hs_s (c->name));
    }
    if (s.seccomp == HS_SECCOMP_LOCALHOST)
        return hs_sprintf ("seccomp profile type Localhost (%s) is not supported on node %s: use "
                           "RuntimeDefault or Unconfined",
                           hs_s (s.seccomp_localhost), hs_s (node));
    if (s.read_only_root && no_namespaces)
        return hs_sprintf ("readOnlyRootFilesystem needs the container's own mount namespace, and "
                           "hs-agent on node %s runs with --no-namespaces",
                           hs_s (node));
    return NULL;
}

static void s_push (char ***v, size_t *n, char *s)
{
    *v = hs_realloc (*v, (*n + 2) * sizeof **v);
    (*v)[(*n)++] = s;
    (*v)[*n] = NULL;
}

char **agent_sec_shim_args (const Hs__Pod *pod, const Hs__Container *c, bool for_exec)
{
    hs_podsec_t s;
    hs_podsec_effective (pod->spec, c, &s);
    char **v = NULL;
    size_t n = 0;
    if (s.has_uid) {
        s_push (&v, &n, hs_strdup ("--user"));
        s_push (&v, &n, hs_sprintf ("%lld", (long long)s.uid));
    }
    if (s.has_gid) {
        s_push (&v, &n, hs_strdup ("--group"));
        s_push (&v, &n, hs_sprintf ("%lld", (long long)s.gid));
    }
    if (s.n_groups > 0) {
        hs_buf_t b = {0};
        for (size_t i = 0; i < s.n_groups; i++)
            hs_buf_printf (&b, "%s%lld", i ? "," : "", (long long)s.groups[i]);
        s_push (&v, &n, hs_strdup ("--groups"));
        s_push (&v, &n, hs_buf_take (&b));
    }
    s_push (&v, &n, hs_strdup ("--caps"));
    s_push (&v, &n, s.caps == HS_CAPS_ALL ? hs_strdup ("ALL") : hs_caps_fmt (s.caps));
    /* A user other than root loses every capability at execve unless it is
     * ambient: the ones the pod asked for by name are (Podman's rule; the
     * default set stays root's only, as in Docker and Kubernetes). */
    bool root = s.has_uid ? s.uid == 0 : geteuid () == 0;
    if (!root && (s.caps_added & s.caps)) {
        s_push (&v, &n, hs_strdup ("--ambient-caps"));
        uint64_t amb = s.caps_added & s.caps;
        s_push (&v, &n, amb == HS_CAPS_ALL ? hs_strdup ("ALL") : hs_caps_fmt (amb));
    }
    if (s.no_new_privs) s_push (&v, &n, hs_strdup ("--no-new-privs"));
    s_push (&v, &n, hs_strdup ("--seccomp"));
    s_push (&v, &n,
            hs_strdup (s.seccomp == HS_SECCOMP_UNCONFINED ? "unconfined" : "runtime-default"));
    if (s.read_only_root && !for_exec) s_push (&v, &n, hs_strdup ("--read-only-root"));
    return v;
}
