/*  agent_volumes.h: a pod's volumes on the node, and what its containers
 *  mount of them (docs/architecture.md, "Volumes").
 *
 *  Every volume is a directory POD_DIR/volumes/<name> (POD_DIR is the
 *  pod's directory under the agent's state dir), except hostPath, which is
 *  the host's path itself:
 *  - configMap: the object's keys (or its items) as files, written the
 *    kubelet's way (agent_vol_write): a timestamped directory ..<time>.<rand>,
 *    a ..data symlink to it swapped atomically with rename(2), and one
 *    symlink per top-level name (key -> ..data/key). A change of the object
 *    writes a new timestamped directory and swaps ..data: a running
 *    container sees every file change at once, never half of it.
 *  - secret: the same, on a tmpfs of its own the agent mounts on the
 *    volume's directory, so a Secret's value never touches a disk.
 *  - emptyDir: a directory (mode 0777, as the kubelet's); medium Memory: a
 *    tmpfs there, sizeLimit its size.
 *  - hostPath: refused unless the agent runs with --allow-host-path; its
 *    type (Directory, DirectoryOrCreate, File, FileOrCreate, Socket,
 *    CharDevice, BlockDevice) is checked or made.
 *  Everything under POD_DIR goes with the pod: agent_vols_unmount_under
 *  before the directory is removed, and agent_vols_gc after an agent
 *  restart for pods it no longer has.
 *
 *  The container mounts (agent_vols_mounts) are hs-shim's --mount
 *  SRC:DST[:ro] flags: configMap and secret volumes always read-only, the
 *  others as volumeMounts[].readOnly says; subPath mounts one entry (a file
 *  or directory that must resolve inside the volume; in an emptyDir a
 *  missing one is made as a directory). As in kube, a subPath mount of a
 *  configMap or secret pins the file of the time: no updates.
 */
#ifndef AGENT_VOLUMES_H
#define AGENT_VOLUMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent_envfrom.h"

typedef struct {
    bool allow_host_path;
    const char *node; /* for messages */
    agent_lookup_fn *lookup;
    void *arg;
} agent_vol_conf_t;

/* Makes (or brings up to date) every volume of the pod under
 * pod_dir/volumes. Returns the number of configMap/secret volumes whose
 * files changed (0: all as they were), or -errno with *ret_reason (static:
 * "ContainerCreating" while an object is missing, as the kubelet's
 * FailedMount; "CreateContainerConfigError" for a hostPath this node
 * refuses or a volume that cannot be made) and *ret_err (malloc'd, kube's
 * words: `MountVolume.SetUp failed for volume "v" : configmap "x" not
 * found`). Every volume is tried even when one fails. */
int agent_vols_sync (const agent_vol_conf_t *conf, const char *pod_dir, const Hs__Pod *pod,
                     const char **ret_reason, char **ret_err);

/* hs-shim's --mount values for container c ("SRC:DST" or "SRC:DST:ro";
 * NULL-terminated, agent_env_free), after agent_vols_sync. 0, or -errno
 * with *ret_err (a volumeMount naming no volume, a subPath outside its
 * volume or missing, a path holding ':'). */
int agent_vols_mounts (const agent_vol_conf_t *conf, const char *pod_dir, const Hs__Pod *pod,
                       const Hs__Container *c, char ***ret, char **ret_err);

/* Whether the pod has a configMap/secret volume on (kind, name). */
bool agent_vols_uses (const Hs__Pod *pod, hs_kind_t kind, const char *name);

/* Unmounts every mount at or below dir (host mount namespace), deepest
 * first. Returns how many, or -errno when mountinfo cannot be read. */
int agent_vols_unmount_under (const char *dir);

/* After an agent restart: every entry of pods_dir whose name is not in
 * keep (the directory names of the pods it still runs) is unmounted and
 * removed. Returns how many went. */
int agent_vols_gc (const char *pods_dir, const char *const *keep, size_t n_keep);

/* ------------------------------------------------------------------ the atomic writer */

typedef struct {
    char *path; /* relative, validated (agent_vol_path_ok) */
    const uint8_t *data;
    size_t len;
    int mode; /* 0..0777 */
} agent_vol_file_t;

/* A relative path with no empty, "." or ".." component, not starting
 * with "..", at most 4096 bytes. */
bool agent_vol_path_ok (const char *path);

/* Projects files into dir (which exists): 1 when it wrote (the first time,
 * or something differs), 0 when dir already held exactly these files and
 * modes, -errno on failure (what was there stays). */
int agent_vol_write (const char *dir, const agent_vol_file_t *files, size_t n);

#endif
