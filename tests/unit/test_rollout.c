/*  test_rollout.c: bus/hs_rollout, the rules the Deployment controller and
 *  `hsctl rollout` share: template hash, "same template" (the hash label and
 *  map order ignored), the template a revision rolls back to, and the
 *  revision annotation. Table tests.
 */
#include "hs_rollout.h"
#include "hs_test.h"
#include "hs_util.h"

#include <stdlib.h>

static void s_map (void ***entries, size_t *n, const ProtobufCMessageDescriptor *d, const char *k,
                   const char *v)
{
    hs_pb_map_set (entries, n, d, k, v);
}

static void s_label (Hs__PodTemplateSpec *t, const char *k, const char *v)
{
    if (!t->metadata) t->metadata = hs_pb_new (&hs__object_meta__descriptor);
    s_map ((void ***)&t->metadata->labels, &t->metadata->n_labels,
           &hs__object_meta__labels_entry__descriptor, k, v);
}

/* A template from "k=v,k=v" labels, one container with image, and an
 * optional node selector "k=v,k=v". */
static Hs__PodTemplateSpec *s_template (const char *labels, const char *image, const char *nodesel)
{
    Hs__PodTemplateSpec *t = hs_pb_new (&hs__pod_template_spec__descriptor);
    t->metadata = hs_pb_new (&hs__object_meta__descriptor);
    t->spec = hs_pb_new (&hs__pod_spec__descriptor);
    const char *lists[2] = {labels, nodesel};
    for (int l = 0; l < 2; l++) {
        _cleanup_free_ char *copy = hs_strdup (hs_s (lists[l]));
        for (char *save = NULL, *kv = strtok_r (copy, ",", &save); kv;
             kv = strtok_r (NULL, ",", &save)) {
            char *eq = strchr (kv, '=');
            if (!eq) continue;
            *eq = '\0';
            if (l == 0)
                s_label (t, kv, eq + 1);
            else
                s_map ((void ***)&t->spec->node_selector, &t->spec->n_node_selector,
                       &hs__pod_spec__node_selector_entry__descriptor, kv, eq + 1);
        }
    }
    Hs__Container *c = hs_pb_new (&hs__container__descriptor);
    hs_pb_set_str (&c->name, "c");
    hs_pb_set_str (&c->image, image);
    hs_pb_push ((void ***)&t->spec->containers, &t->spec->n_containers, c);
    return t;
}

static void test_equal (void)
{
    static const struct {
        const char *a_labels, *a_image, *a_nodesel;
        const char *b_labels, *b_image, *b_nodesel;
        bool equal;
    } cases[] = {
        {"app=web", "v1", "", "app=web", "v1", "", true},
        {"app=web", "v1", "", "app=web", "v2", "", false},
        /* the hash label is not part of the template */
        {"app=web", "v1", "", "app=web,pod-template-hash=abc", "v1", "", true},
        {"app=web,pod-template-hash=x", "v1", "", "app=web,pod-template-hash=y", "v1", "", true},
        /* map order does not matter, contents do */
        {"app=web,tier=f", "v1", "", "tier=f,app=web", "v1", "", true},
        {"app=web", "v1", "", "app=web,tier=f", "v1", "", false},
        {"app=web", "v1", "a=1,b=2", "app=web", "v1", "b=2,a=1", true},
        {"app=web", "v1", "a=1", "app=web", "v1", "a=2", false},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (cases); i++) {
        Hs__PodTemplateSpec *a =
            s_template (cases[i].a_labels, cases[i].a_image, cases[i].a_nodesel);
        Hs__PodTemplateSpec *b =
            s_template (cases[i].b_labels, cases[i].b_image, cases[i].b_nodesel);
        if (hs_rollout_template_equal (a, b) != cases[i].equal) fprintf (stderr, "  case %zu\n", i);
        CHECK_EQ_INT (hs_rollout_template_equal (a, b), cases[i].equal);
        CHECK_EQ_INT (hs_rollout_template_equal (b, a), cases[i].equal);
        hs_pb_free (a);
        hs_pb_free (b);
    }
    /* NULL is the empty template, with or without empty metadata and spec */
    Hs__PodTemplateSpec *empty = hs_pb_new (&hs__pod_template_spec__descriptor);
    CHECK (hs_rollout_template_equal (NULL, NULL));
    CHECK (hs_rollout_template_equal (NULL, empty));
    s_label (empty, HS_ROLLOUT_HASH_LABEL, "abc");
    CHECK (hs_rollout_template_equal (NULL, empty));
    hs_pb_free (empty);
}

static void test_copy (void)
{
    /* what `rollout undo` writes back: the ReplicaSet's template without
     * the hash label, everything else kept, maps sorted */
    Hs__PodTemplateSpec *rs = s_template ("tier=f,pod-template-hash=abc,app=web", "v1", "b=2,a=1");
    Hs__PodTemplateSpec *c = hs_rollout_template_copy (rs);
    CHECK_EQ_INT (c->metadata->n_labels, 2);
    CHECK_EQ_STR (c->metadata->labels[0]->key, "app");
    CHECK_EQ_STR (c->metadata->labels[1]->key, "tier");
    CHECK (!hs_pb_map_get ((void *const *)c->metadata->labels, c->metadata->n_labels,
                           HS_ROLLOUT_HASH_LABEL));
    CHECK_EQ_STR (c->spec->node_selector[0]->key, "a");
    CHECK_EQ_STR (c->spec->containers[0]->image, "v1");
    CHECK (hs_rollout_template_equal (c, rs));
    /* the original is untouched */
    CHECK_EQ_INT (rs->metadata->n_labels, 3);
    hs_pb_free (c);
    hs_pb_free (rs);
    c = hs_rollout_template_copy (NULL);
    CHECK (c->metadata && c->spec);
    hs_pb_free (c);
}

static void test_hash (void)
{
    Hs__PodTemplateSpec *a = s_template ("app=web,tier=f", "v1", "");
    Hs__PodTemplateSpec *a2 = s_template ("tier=f,app=web", "v1", "");
    Hs__PodTemplateSpec *b = s_template ("app=web,tier=f", "v2", "");
    char h[4][HS_ROLLOUT_HASH_LEN + 1];
    hs_rollout_template_hash (a, 0, h[0]);
    hs_rollout_template_hash (a2, 0, h[1]);
    hs_rollout_template_hash (b, 0, h[2]);
    hs_rollout_template_hash (a, 1, h[3]);
    CHECK_EQ_INT (strlen (h[0]), HS_ROLLOUT_HASH_LEN);
    CHECK_EQ_INT (strspn (h[0], "bcdfghjklmnpqrstvwxz2456789"), HS_ROLLOUT_HASH_LEN);
    CHECK_EQ_STR (h[0], h[1]);        /* map order does not matter */
    CHECK (strcmp (h[0], h[2]) != 0); /* the image does */
    CHECK (strcmp (h[0], h[3]) != 0); /* and a collision count */
    hs_pb_free (a);
    hs_pb_free (a2);
    hs_pb_free (b);
}

static void test_revision (void)
{
    static const struct {
        const char *value; /* NULL: no annotation */
        int64_t want;
    } cases[] = {
        {NULL, 0},  {"", 0},   {"1", 1},
        {"12", 12}, {"0", 0},  {"-3", 0},
        {"x", 0},   {"3x", 0}, {"9223372036854775807", INT64_MAX},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (cases); i++) {
        Hs__ObjectMeta *m = hs_pb_new (&hs__object_meta__descriptor);
        if (cases[i].value)
            s_map ((void ***)&m->annotations, &m->n_annotations,
                   &hs__object_meta__annotations_entry__descriptor, HS_ROLLOUT_REVISION,
                   cases[i].value);
        CHECK_EQ_INT (hs_rollout_revision (m), cases[i].want);
        hs_pb_free (m);
    }
    CHECK_EQ_INT (hs_rollout_revision (NULL), 0);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"equal", test_equal},
        {"copy", test_copy},
        {"hash", test_hash},
        {"revision", test_revision},
    };
    return HS_TEST_RUN (tests);
}
