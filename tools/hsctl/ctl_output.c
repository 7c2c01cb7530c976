/*  ctl_output.c: `-o yaml|json|name`. One object prints as its manifest; a
 *  listing prints as kubectl's {apiVersion: v1, kind: List, items: [...]}.
 */
#include "ctl_fmt.h"
#include "hs_manifest.h"
#include "hs_pbjson.h"

char *ctl_render_objects (const Hs__Object *const *objs, size_t n, bool as_list, int flags)
{
    if (!as_list && n == 1) return hs_manifest_render (objs[0], flags);
    hs_tree_t *list = hs_tree_new (HS_TREE_MAP);
    hs_tree_add (list, "apiVersion", hs_tree_scalar ("v1", false));
    hs_tree_t *items = hs_tree_new (HS_TREE_SEQ);
    for (size_t i = 0; i < n; i++) hs_tree_add (items, NULL, hs_manifest_tree (objs[i], flags));
    hs_tree_add (list, "items", items);
    hs_tree_add (list, "kind", hs_tree_scalar ("List", false));
    hs_tree_t *meta = hs_tree_new (HS_TREE_MAP);
    hs_tree_add (meta, "resourceVersion", hs_tree_scalar ("", true));
    hs_tree_add (list, "metadata", meta);
    char *text = hs_tree_to_text (list, flags);
    hs_tree_free (list);
    return text;
}

char *ctl_render_names (const Hs__Object *const *objs, size_t n)
{
    hs_buf_t b = {0};
    for (size_t i = 0; i < n; i++) {
        const Hs__ObjectMeta *m = hs_obj_meta (objs[i]);
        _cleanup_free_ char *ref = hs_obj_ref (hs_obj_kind (objs[i]), m ? m->name : "");
        hs_buf_printf (&b, "%s\n", ref);
    }
    return hs_buf_take (&b);
}
