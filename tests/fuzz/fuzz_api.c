/*  fuzz_api.c: libFuzzer target for what hs-apiserver reads from a client
 *  before anything reaches the bus (services/apiserver/api.h's pure
 *  modules): the path and the query string, label and field selectors, the
 *  media types of Accept and Content-Type, request bodies mapped to objects
 *  (api_obj_from_tree, every fieldValidation mode), and patches of every
 *  type applied to a live object.
 *
 *  Input: byte 0 picks the kind (low 4 bits) and the validation or patch
 *  type (bits 4-5); then up to three parts separated by "\n=*=\n": a body
 *  (or the live object), a patch, and a line "PATH?QUERY" or selectors.
 *  Invariants (abort on failure):
 *    - every refusal explains itself (a Status with a message, an error);
 *    - an object a body maps to prints, and its Table and List written
 *      directly (api_table_write, api_list_write) are byte for byte the
 *      trees' (api_table, api_list_tree) for every includeObject;
 *    - that object's JSON maps back (Ignore) to an object that prints the
 *      same JSON;
 *    - a patch never changes the live tree nor the patch, and either gives
 *      a tree or an error text.
 *  Not part of the default build: tests/fuzz/build.sh.
 */
#include "api.h"
#include "objects.pb-c.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define SEP     "\n=*=\n"
#define NOW_NS  1700000000000000000LL
#define N_PARTS 3

static void s_fail (const char *what, const char *a, const char *b)
{
    fprintf (stderr, "fuzz_api: %s\n--- a:\n%s\n--- b:\n%s\n---\n", what, a ? a : "(null)",
             b ? b : "(null)");
    abort ();
}

static char *s_json (const hs_tree_t *t)
{
    return hs_tree_to_text (t, HS_FMT_JSON | HS_FMT_COMPACT);
}

/* The first document of text, or NULL. */
static hs_tree_t *s_parse (const char *text)
{
    hs_tree_t **docs = NULL;
    size_t n = 0;
    char *err = NULL;
    if (hs_yaml_parse (text, strlen (text), &docs, &n, &err) < 0) {
        if (hs_empty (err)) s_fail ("a parse error without a message", text, NULL);
        free (err);
        return NULL;
    }
    hs_tree_t *t = NULL;
    if (n > 0) {
        t = docs[0];
        docs[0] = NULL;
    }
    hs_trees_free (docs, n);
    return t;
}

static void s_route_and_query (const char *line)
{
    char *path = strdup (line);
    char *q = strchr (path, '?');
    if (q) *q++ = '\0';
    for (int m = API_GET; m <= API_METHOD_OTHER; m++) {
        api_route_t rt;
        char *buf = NULL;
        api_route_parse ((api_method_t)m, path, &rt, &buf);
        if (rt.path == API_PATH_RESOURCE &&
            (!rt.group || !rt.version || !rt.ns || !rt.name || !rt.sub ||
             (rt.kind <= HS_KIND_NONE || rt.kind > API_KIND_NAMESPACE)))
            s_fail ("a resource route with a missing part", line, NULL);
        free (buf);
    }
    api_query_t qs = {0};
    api_query_parse (q ? q : "", &qs);
    for (size_t i = 0; i < qs.n; i++)
        if (!api_query_get (&qs, qs.keys[i])) s_fail ("a parsed key has no value", line, NULL);
    (void)api_query_bool (&qs, "watch", false);
    api_query_free (&qs);
    (void)api_table_wanted (line);
    (void)api_discovery_wants_aggregated (line);
    (void)api_patch_type (line);
    free (path);
}

/* The direct writers must equal the trees, for one object. */
static void s_writers (hs_kind_t kind, const Hs__Object *o)
{
    const Hs__Object *objs[1] = {o};
    for (int inc = API_INCLUDE_METADATA; inc <= API_INCLUDE_OBJECT; inc++) {
        hs_tree_t *t = api_table (kind, objs, 1, (api_include_t)inc, 42, NOW_NS);
        char *want = s_json (t);
        hs_tree_free (t);
        hs_buf_t b = {0};
        api_table_write (&b, kind, objs, 1, (api_include_t)inc, 42, NOW_NS);
        char *got = hs_buf_take (&b);
        if (strcmp (want, got) != 0) s_fail ("api_table_write differs from api_table", want, got);
        free (want);
        free (got);
    }
    hs_tree_t *t = api_list_tree (kind, objs, 1, 42);
    char *want = s_json (t);
    hs_tree_free (t);
    hs_buf_t b = {0};
    api_list_write (&b, kind, objs, 1, 42);
    char *got = hs_buf_take (&b);
    if (strcmp (want, got) != 0) s_fail ("api_list_write differs from api_list_tree", want, got);
    free (want);
    free (got);
}

static void s_body (hs_kind_t kind, api_validate_t v, const char *text)
{
    hs_tree_t *body = s_parse (text);
    if (!body) return;
    const hs_kind_info_t *ki = hs_kind_info (kind);
    api_route_t rt = {.path = API_PATH_RESOURCE,
                      .group = ki->group,
                      .version = "v1",
                      .kind = kind,
                      .ns = ki->namespaced ? "default" : "",
                      .name = "",
                      .sub = ""};
    Hs__Object *o = NULL;
    api_warnings_t w = {0};
    api_status_t st = {0};
    if (api_obj_from_tree (&rt, body, v, &o, &w, &st) < 0) {
        if (!st.tree || hs_empty (st.message) || st.http < 400)
            s_fail ("a refused body without a Status", text, st.message);
        api_status_free (&st);
    } else {
        hs_tree_t *t = api_obj_tree (o);
        char *first = s_json (t);
        Hs__Object *again = NULL;
        api_warnings_t w2 = {0};
        api_status_t st2 = {0};
        if (api_obj_from_tree (&rt, t, API_VALIDATE_IGNORE, &again, &w2, &st2) < 0)
            s_fail ("an object's own JSON is refused", first, st2.message);
        hs_tree_t *t2 = api_obj_tree (again);
        char *second = s_json (t2);
        if (strcmp (first, second) != 0) s_fail ("JSON -> object -> JSON changed", first, second);
        s_writers (kind, o);
        free (first);
        free (second);
        hs_tree_free (t);
        hs_tree_free (t2);
        hs_pb_free (again);
        hs_pb_free (o);
        api_warnings_free (&w2);
    }
    api_warnings_free (&w);
    hs_tree_free (body);
}

static void s_patch (hs_kind_t kind, api_patch_type_t type, const char *live_text,
                     const char *patch_text)
{
    hs_tree_t *live = s_parse (live_text);
    hs_tree_t *patch = s_parse (patch_text);
    if (live && patch) {
        char *live0 = s_json (live), *patch0 = s_json (patch);
        hs_tree_t *out = NULL;
        char *err = NULL;
        int rc = api_patch_apply (type, kind, live, patch, &out, &err);
        if (rc == 0 && !out) s_fail ("a patch gave no tree", live0, patch0);
        if (rc < 0 && hs_empty (err)) s_fail ("a failed patch without a message", live0, patch0);
        char *live1 = s_json (live), *patch1 = s_json (patch);
        if (strcmp (live0, live1) != 0) s_fail ("the patch changed the live tree", live0, live1);
        if (strcmp (patch0, patch1) != 0) s_fail ("the patch changed itself", patch0, patch1);
        hs_tree_free (out);
        free (err);
        free (live0);
        free (live1);
        free (patch0);
        free (patch1);
    }
    hs_tree_free (live);
    hs_tree_free (patch);
}

static void s_selectors (hs_kind_t kind, const char *labels, const char *fields, const char *obj)
{
    api_selector_t *sel = NULL;
    api_status_t st = {0};
    if (api_selector_parse (kind, labels, fields, &sel, &st) < 0) {
        if (hs_empty (st.message)) s_fail ("a refused selector without a message", labels, fields);
        api_status_free (&st);
        return;
    }
    hs_tree_t *t = s_parse (obj);
    if (t && kind != API_KIND_NAMESPACE) {
        const hs_kind_info_t *ki = hs_kind_info (kind);
        api_route_t rt = {
            API_PATH_RESOURCE, ki->group, "v1", kind, ki->namespaced ? "default" : "", "", ""};
        Hs__Object *o = NULL;
        api_warnings_t w = {0};
        if (api_obj_from_tree (&rt, t, API_VALIDATE_IGNORE, &o, &w, &st) == 0) {
            (void)api_selector_match (sel, o);
            hs_pb_free (o);
        } else {
            api_status_free (&st);
        }
        api_warnings_free (&w);
    }
    if (kind == API_KIND_NAMESPACE) (void)api_selector_match_namespace (sel, labels);
    hs_tree_free (t);
    api_selector_free (&sel);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    hs_kind_t kind = (hs_kind_t)(1 + (data[0] & 15) % (HS_KIND__COUNT - 1));
    int variant = (data[0] >> 4) & 3;
    char *text = malloc (size);
    memcpy (text, data + 1, size - 1);
    text[size - 1] = '\0';
    char *parts[N_PARTS] = {text, "", ""};
    for (int i = 1; i < N_PARTS; i++) {
        char *sep = strstr (parts[i - 1], SEP);
        if (!sep) break;
        *sep = '\0';
        parts[i] = sep + strlen (SEP);
    }
    switch ((data[0] >> 6) & 3) {
    case 0: s_body (kind, (api_validate_t)(variant % 3), parts[0]); break;
    case 1: s_patch (kind, (api_patch_type_t)variant, parts[0], parts[1]); break;
    case 2: s_route_and_query (parts[0]); break;
    default:
        s_selectors (variant == 3 ? API_KIND_NAMESPACE : kind, parts[0], parts[1], parts[2]);
        break;
    }
    free (text);
    return 0;
}
