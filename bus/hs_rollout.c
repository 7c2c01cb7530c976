/*  hs_rollout.c: template hash, template equality, revisions (hs_rollout.h). */
#include "hs_rollout.h"
#include "hs_util.h"

#include <stdlib.h>

static void s_map_del (void ***entries, size_t *n, const char *key)
{
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        hs_pb_map_entry_t *e = (*entries)[i];
        if (hs_streq (e->key, key))
            hs_pb_free (e);
        else
            (*entries)[k++] = e;
    }
    *n = k;
}

/* A copy with metadata and spec present and its maps sorted. */
static Hs__PodTemplateSpec *s_sorted_copy (const Hs__PodTemplateSpec *t)
{
    Hs__PodTemplateSpec *c = t ? hs_pb_dup (t) : hs_pb_new (&hs__pod_template_spec__descriptor);
    if (!c->metadata) c->metadata = hs_pb_new (&hs__object_meta__descriptor);
    if (!c->spec) c->spec = hs_pb_new (&hs__pod_spec__descriptor);
    hs_pb_map_sort ((void **)c->metadata->labels, c->metadata->n_labels);
    hs_pb_map_sort ((void **)c->metadata->annotations, c->metadata->n_annotations);
    hs_pb_map_sort ((void **)c->spec->node_selector, c->spec->n_node_selector);
    return c;
}

void hs_rollout_template_hash (const Hs__PodTemplateSpec *t, int32_t collision_count,
                               char ret[HS_ROLLOUT_HASH_LEN + 1])
{
    Hs__PodTemplateSpec *c = s_sorted_copy (t);
    size_t len = 0;
    uint8_t *b = hs_pb_pack (c, &len);
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < len; i++) h = (h ^ b[i]) * 1099511628211ULL;
    if (collision_count > 0)
        for (int i = 0; i < 4; i++)
            h = (h ^ (((uint32_t)collision_count >> (8 * i)) & 0xff)) * 1099511628211ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    static const char alpha[] = "bcdfghjklmnpqrstvwxz2456789";
    for (int i = 0; i < HS_ROLLOUT_HASH_LEN; i++) {
        ret[i] = alpha[h % (sizeof alpha - 1)];
        h /= sizeof alpha - 1;
    }
    ret[HS_ROLLOUT_HASH_LEN] = '\0';
    free (b);
    hs_pb_free (c);
}

Hs__PodTemplateSpec *hs_rollout_template_copy (const Hs__PodTemplateSpec *t)
{
    Hs__PodTemplateSpec *c = s_sorted_copy (t);
    s_map_del ((void ***)&c->metadata->labels, &c->metadata->n_labels, HS_ROLLOUT_HASH_LABEL);
    return c;
}

bool hs_rollout_template_equal (const Hs__PodTemplateSpec *a, const Hs__PodTemplateSpec *b)
{
    Hs__PodTemplateSpec *x = hs_rollout_template_copy (a), *y = hs_rollout_template_copy (b);
    bool eq = hs_pb_equal (x, y);
    hs_pb_free (x);
    hs_pb_free (y);
    return eq;
}

int64_t hs_rollout_revision (const Hs__ObjectMeta *m)
{
    const char *v =
        m ? hs_pb_map_get ((void *const *)m->annotations, m->n_annotations, HS_ROLLOUT_REVISION)
          : NULL;
    int64_t x;
    return v && hs_parse_i64 (v, &x) == 0 && x > 0 ? x : 0;
}
