/*  hs_podsec.h: a container's effective security settings (docs/architecture.md,
 *  "Hardened pods"), pure.
 *
 *  In bus/ because three parts need the same rules: the store validates
 *  capability names (hs_validate.c), the agent turns the settings into the
 *  shim's flags (agents/node/agent_sec.c) and `hsctl describe pod` shows them.
 *
 *  The rules, with Kubernetes' (containerd's) meaning:
 *  - user, group, runAsNonRoot and the seccomp profile: the container's
 *    securityContext, else the pod's; supplementalGroups: the pod's.
 *  - capabilities: Docker's default set (HS_CAPS_DEFAULT); `add: [ALL]` gives
 *    every capability, `drop: [ALL]` none; then the named adds, then the
 *    named drops (a capability both added and dropped is dropped).
 *    privileged: every capability.
 *  - no_new_privs: on unless allowPrivilegeEscalation is true, or privileged.
 *    (Kubernetes defaults it to true; Homeostat keeps no_new_privs on by
 *    default, as issue 16 asks: escalation must be asked for.)
 *  - seccomp: RuntimeDefault unless a profile says otherwise; privileged:
 *    Unconfined.
 *  - readOnlyRootFilesystem: the container's.
 */
#ifndef HS_PODSEC_H
#define HS_PODSEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hs_obj.h"

/* The highest capability number known here (CAP_CHECKPOINT_RESTORE). */
#define HS_CAP_MAX    40
#define HS_CAP_BIT(n) (UINT64_C (1) << (n))
#define HS_CAPS_ALL   ((UINT64_C (1) << (HS_CAP_MAX + 1)) - 1)

/* Docker's default set (moby's oci/caps/defaults.go, containerd's too):
 * CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP
 * SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE. */
uint64_t hs_caps_default (void);

/* The number of a capability name, "NET_ADMIN" or "CAP_NET_ADMIN" (any case);
 * -EINVAL for anything else, "ALL" included. */
int hs_cap_parse (const char *name);
/* "NET_ADMIN" for 12; NULL beyond HS_CAP_MAX. */
const char *hs_cap_name (int cap);
/* The names of a set, comma-separated, lowest first ("" for none): the
 * caller's. */
char *hs_caps_fmt (uint64_t caps);
/* Parses hs_caps_fmt's output back (also "" → 0): 0 or -EINVAL. */
int hs_caps_parse_list (const char *list, uint64_t *ret);

typedef enum {
    HS_SECCOMP_RUNTIME_DEFAULT = 0,
    HS_SECCOMP_UNCONFINED,
    HS_SECCOMP_LOCALHOST,
} hs_seccomp_t;

typedef struct {
    bool privileged;
    bool has_uid, has_gid;
    int64_t uid, gid;
    const int64_t *groups; /* supplementalGroups, borrowed from the pod */
    size_t n_groups;
    bool run_as_non_root;
    bool read_only_root;
    bool no_new_privs;
    uint64_t caps;       /* bounding, permitted and effective */
    uint64_t caps_added; /* named in capabilities.add (ambient for a non-root user) */
    hs_seccomp_t seccomp;
    const char *seccomp_localhost; /* borrowed */
} hs_podsec_t;

/* The effective settings of container c of pod spec (either NULL-safe:
 * NULL spec or security contexts mean the defaults). Strings and groups
 * are borrowed from spec. */
void hs_podsec_effective (const Hs__PodSpec *spec, const Hs__Container *c, hs_podsec_t *ret);

/* "RuntimeDefault", "Unconfined" or "Localhost". */
const char *hs_seccomp_name (hs_seccomp_t s);

#endif
