/*  shim_mounts.h: a container's volume mounts, made by hs-shim in the
 *  container's own (private) mount namespace (--mount SRC:DST[:ro]).
 *
 *  Containers run on the node's root file system, so a mount point that
 *  does not exist there must not be made there. When DST is missing, the
 *  nearest existing parent P is covered with a tmpfs holding P's entries
 *  bind-mounted back (recursively: mounts below P stay, /etc's resolv.conf
 *  and hosts included), and only the missing part is made in that tmpfs.
 *  When P is / itself, the tmpfs is built on a staging directory and made
 *  the container's root with pivot_root, so exec probes that join the
 *  mount namespace see the same tree. docs/architecture.md ("Volumes")
 *  says why this and not an overlay. Existing entries are the host's as
 *  before; the tmpfs itself is made read-only once every mount is in, so
 *  nothing new can be created beside them (it would vanish with the
 *  container). Mounts go shallowest first; a missing DST inside a
 *  writable volume mounted before (emptyDir, hostPath) is made in that
 *  volume, as runc does.
 */
#ifndef SHIM_MOUNTS_H
#define SHIM_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>

/* Whether spec is SRC:DST or SRC:DST:ro with SRC and DST absolute. */
bool shim_mount_spec_ok (const char *spec);

/* Makes the mounts of specs (--mount values), in order. staging: a
 * directory of the host the container does not need (the run's). 0, or
 * -errno with err (one line) saying which and why. Runs in the container
 * child, after / was made private. ro_root: / was made read-only before
 * (readOnlyRootFilesystem); a bind inherits its source mount's flags, so a
 * writable volume whose source lies on / is made writable again, and
 * everything bound back from / stays read-only. */
int shim_mounts_apply (const char *const *specs, size_t n, const char *staging, bool ro_root,
                       char *err, size_t errlen);

#endif
