/*  agent_static.c: static pods from `hs-agent --manifests DIR` (docs/architecture.md §10).
 *
 *  Like the kubelet's file source: every *.yaml, *.yml and *.json file in
 *  DIR holds Pods the agent runs with no control plane at all. Each pod gets
 *  the store's defaults and validation (hs_validate.h, the same code), is
 *  named <name>-<node> like Kubernetes' static pods, is bound to this node,
 *  and gets a uid that is a hash of the node and the pod as loaded: the
 *  same manifest always gives the same uid, so an agent restart adopts what
 *  runs, and an edited manifest is a new pod. Its mirror in the store (once
 *  one is reachable) carries the hash in kubernetes.io/config.mirror.
 */
#include "agent.h"

#include "hs_log.h"
#include "hs_manifest.h"
#include "hs_pb.h"
#include "hs_util.h"
#include "hs_validate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static uint64_t s_fnv (uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* A UUID-shaped text from 128 bits of hash of node and the packed pod. */
static char *s_uid (const char *node, const Hs__Pod *pod, char **ret_hash)
{
    size_t len;
    _cleanup_free_ uint8_t *bytes = hs_pb_pack (pod, &len);
    uint64_t a = s_fnv (0xcbf29ce484222325ULL, (const uint8_t *)node, strlen (node));
    uint64_t b = s_fnv (0x84222325cbf29ce4ULL, (const uint8_t *)node, strlen (node));
    a = s_fnv (a, bytes, len);
    b = s_fnv (b ^ a, bytes, len);
    *ret_hash = hs_sprintf ("%016llx%016llx", (unsigned long long)a, (unsigned long long)b);
    const char *h = *ret_hash;
    return hs_sprintf ("%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

int agent_static_load (const char *dir, const char *node, Hs__Pod ***ret_pods)
{
    *ret_pods = NULL;
    hs_manifest_t m = {0};
    char *err = NULL;
    int r = hs_manifest_load (dir, false, &m, &err);
    if (r == -ENOENT && err && strstr (err, "no manifests found")) {
        free (err);
        return 0;
    }
    if (r < 0) {
        log_error ("static pods: %s", err ? err : strerror (-r));
        free (err);
        return r;
    }
    Hs__Pod **pods = NULL;
    size_t n = 0;
    for (size_t i = 0; i < m.n; i++) {
        const hs_manifest_doc_t *d = &m.docs[i];
        if (hs_obj_kind (d->object) != HS_KIND_POD) {
            log_warn ("static pods: %s: document %d: only Pods run as static pods; skipped",
                      d->file, d->doc);
            continue;
        }
        Hs__Object *o = hs_pb_dup (d->object);
        Hs__ObjectMeta *meta = o->pod->metadata;
        if (hs_empty (meta->namespace_)) hs_pb_set_str (&meta->namespace_, "default");
        _cleanup_free_ char *name = hs_sprintf ("%s-%s", meta->name, node);
        hs_pb_set_str (&meta->name, name);
        hs_pb_set_str (&o->pod->spec->node_name, node);
        hs_obj_defaults (o, hs_now_ns ());
        char *msg = NULL;
        if (hs_obj_validate (o, &msg) < 0) {
            log_error ("static pods: %s: document %d: %s; skipped", d->file, d->doc, hs_s (msg));
            free (msg);
            hs_pb_free (o);
            continue;
        }
        char *hash = NULL;
        char *uid = s_uid (node, o->pod, &hash);
        hs_pb_take_str (&meta->uid, uid);
        hs_pb_map_set ((void ***)&meta->annotations, &meta->n_annotations,
                       &hs__object_meta__annotations_entry__descriptor, HS_MIRROR_ANNOTATION, hash);
        hs_pb_map_set ((void ***)&meta->annotations, &meta->n_annotations,
                       &hs__object_meta__annotations_entry__descriptor,
                       "kubernetes.io/config.source", "file");
        free (hash);
        hs_pb_push ((void ***)&pods, &n, o->pod);
        o->pod = NULL;
        o->kind_case = HS__OBJECT__KIND__NOT_SET;
        hs_pb_free (o);
    }
    hs_manifest_free (&m);
    *ret_pods = pods;
    return (int)n;
}
