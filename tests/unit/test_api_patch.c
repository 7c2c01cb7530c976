/*  test_api_patch.c: merge patch, JSON patch and strategic merge patch
 *  (services/apiserver/api_patch.c).
 *
 *  Results are compared as compact JSON text, so key order counts: maps keep
 *  the live order and append new keys in the patch's order.
 */
#include "api.h"
#include "hs_test.h"
#include "hs_util.h"

#include <stdlib.h>
#include <string.h>

/* One JSON/YAML document; NULL (and a FAIL) on error. */
static hs_tree_t *s_parse (const char *text)
{
    hs_tree_t **docs = NULL;
    size_t n = 0;
    char *err = NULL;
    if (hs_yaml_parse (text, strlen (text), &docs, &n, &err) < 0 || n != 1) {
        fprintf (stderr, "  cannot parse %s: %s\n", text, err ? err : "not one document");
        free (err);
        hs_trees_free (docs, n);
        CHECK (!"parse");
        return NULL;
    }
    hs_tree_t *t = docs[0];
    free (docs);
    return t;
}

static char *s_text (const hs_tree_t *t)
{
    return hs_tree_to_text (t, HS_FMT_JSON | HS_FMT_COMPACT);
}

/* Applies patch to live; returns the result as compact JSON, or the error
 * prefixed "ERR<code>: ". Caller frees. */
static char *s_run (api_patch_type_t type, hs_kind_t kind, const char *live, const char *patch)
{
    hs_tree_t *l = s_parse (live), *p = s_parse (patch), *out = NULL;
    char *err = NULL, *r;
    if (!l || !p) {
        hs_tree_free (l);
        hs_tree_free (p);
        return hs_strdup ("PARSE");
    }
    char *lb = s_text (l), *pb = s_text (p);
    int rc = api_patch_apply (type, kind, l, p, &out, &err);
    if (rc == 0) {
        CHECK (err == NULL);
        r = s_text (out);
    } else {
        CHECK (out == NULL);
        CHECK (err != NULL);
        r = hs_sprintf ("ERR%d: %s", rc, err ? err : "");
    }
    /* live and patch are not changed */
    char *la = s_text (l), *pa = s_text (p);
    CHECK_EQ_STR (lb, la);
    CHECK_EQ_STR (pb, pa);
    free (lb);
    free (la);
    free (pb);
    free (pa);
    free (err);
    hs_tree_free (out);
    hs_tree_free (l);
    hs_tree_free (p);
    return r;
}

/* Normalizes expected JSON through the same printer. */
static char *s_norm (const char *json)
{
    hs_tree_t *t = s_parse (json);
    char *r = t ? s_text (t) : hs_strdup ("PARSE");
    hs_tree_free (t);
    return r;
}

#define EXPECT_PATCH(type, kind, live, patch, want)                                                \
    do {                                                                                           \
        char *_got = s_run (type, kind, live, patch), *_want = s_norm (want);                      \
        CHECK_EQ_STR (_got, _want);                                                                \
        free (_got);                                                                               \
        free (_want);                                                                              \
    } while (0)

/* An error with code and a message containing `has`. */
#define EXPECT_FAIL(type, kind, live, patch, code, has)                                            \
    do {                                                                                           \
        char *_got = s_run (type, kind, live, patch);                                              \
        char _pre[16];                                                                             \
        snprintf (_pre, sizeof _pre, "ERR%d: ", code);                                             \
        CHECK (strncmp (_got, _pre, strlen (_pre)) == 0);                                          \
        CHECK_CONTAINS (_got, has);                                                                \
        free (_got);                                                                               \
    } while (0)

#define MERGE(l, p, w)         EXPECT_PATCH (API_PATCH_MERGE, HS_KIND_POD, l, p, w)
#define JSONP(l, p, w)         EXPECT_PATCH (API_PATCH_JSON, HS_KIND_POD, l, p, w)
#define JSONP_FAIL(l, p, has)  EXPECT_FAIL (API_PATCH_JSON, HS_KIND_POD, l, p, API_PATCH_EAPPLY, has)
#define SMP(k, l, p, w)        EXPECT_PATCH (API_PATCH_STRATEGIC, k, l, p, w)
#define SMP_FAIL(k, l, p, has) EXPECT_FAIL (API_PATCH_STRATEGIC, k, l, p, API_PATCH_EBAD, has)

/* ------------------------------------------------------------------ content types */

static void test_patch_type (void)
{
    CHECK_EQ_INT (api_patch_type ("application/merge-patch+json"), API_PATCH_MERGE);
    CHECK_EQ_INT (api_patch_type ("application/json-patch+json"), API_PATCH_JSON);
    CHECK_EQ_INT (api_patch_type ("application/strategic-merge-patch+json"), API_PATCH_STRATEGIC);
    CHECK_EQ_INT (api_patch_type ("application/apply-patch+yaml"), API_PATCH_APPLY);
    CHECK_EQ_INT (api_patch_type ("application/merge-patch+json; charset=utf-8"), API_PATCH_MERGE);
    CHECK_EQ_INT (api_patch_type ("  Application/Strategic-Merge-Patch+JSON ;charset=UTF-8"),
                  API_PATCH_STRATEGIC);
    CHECK_EQ_INT (api_patch_type ("application/apply-patch+cbor"), -1);
    CHECK_EQ_INT (api_patch_type ("application/json"), -1);
    CHECK_EQ_INT (api_patch_type ("application/merge-patch+jsonx"), -1);
    CHECK_EQ_INT (api_patch_type (""), -1);
    CHECK_EQ_INT (api_patch_type (";"), -1);
    CHECK_EQ_INT (api_patch_type (NULL), -1);
}

/* ------------------------------------------------------------------ merge patch */

/* RFC 7386 appendix A, every row (the target and result wrapped in an
 * object where the RFC's are not objects: the gateway's documents always
 * are). */
static void test_merge_rfc7386 (void)
{
    MERGE ("{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
    MERGE ("{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}");
    MERGE ("{\"a\":\"b\"}", "{\"a\":null}", "{}");
    MERGE ("{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}");
    MERGE ("{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
    MERGE ("{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}");
    MERGE ("{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}");
    MERGE ("{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}");
    MERGE ("{\"x\":[\"a\",\"b\"]}", "{\"x\":[\"c\",\"d\"]}", "{\"x\":[\"c\",\"d\"]}");
    MERGE ("{\"x\":{\"a\":\"b\"}}", "{\"x\":[\"c\"]}", "{\"x\":[\"c\"]}");
    MERGE ("{\"x\":{\"a\":\"foo\"}}", "{\"x\":null}", "{}");
    MERGE ("{\"x\":{\"a\":\"foo\"}}", "{\"x\":\"bar\"}", "{\"x\":\"bar\"}");
    MERGE ("{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}");
    MERGE ("{\"x\":[1,2]}", "{\"x\":{\"a\":\"b\",\"c\":null}}", "{\"x\":{\"a\":\"b\"}}");
    MERGE ("{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}");
    /* a patch that is not an object cannot make an object */
    EXPECT_FAIL (API_PATCH_MERGE, HS_KIND_POD, "{\"a\":1}", "[1]", API_PATCH_EBAD,
                 "Invalid JSON Patch");
    EXPECT_FAIL (API_PATCH_MERGE, HS_KIND_POD, "{\"a\":1}", "\"x\"", API_PATCH_EBAD,
                 "Invalid JSON Patch");
}

/* The bodies kubectl sends as merge patches (notes §2). */
static void test_merge_kubectl (void)
{
    /* kubectl label pod web tier=fe */
    MERGE ("{\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"labels\":{\"app\":\"web\"}}}",
           "{\"metadata\":{\"labels\":{\"tier\":\"fe\"}}}",
           "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"labels\":{\"app\":\"web\","
           "\"tier\":\"fe\"}}}");
    /* kubectl label pod web tier- */
    MERGE ("{\"metadata\":{\"labels\":{\"app\":\"web\",\"tier\":\"fe\"}}}",
           "{\"metadata\":{\"labels\":{\"tier\":null}}}",
           "{\"metadata\":{\"labels\":{\"app\":\"web\"}}}");
    /* kubectl scale (on /scale) */
    MERGE ("{\"kind\":\"Scale\",\"spec\":{\"replicas\":1},\"status\":{\"replicas\":1}}",
           "{\"spec\":{\"replicas\":3}}",
           "{\"kind\":\"Scale\",\"spec\":{\"replicas\":3},\"status\":{\"replicas\":1}}");
    /* annotate on an object with no annotations yet */
    MERGE ("{\"metadata\":{\"name\":\"api\"}}", "{\"metadata\":{\"annotations\":{\"note\":\"x\"}}}",
           "{\"metadata\":{\"name\":\"api\",\"annotations\":{\"note\":\"x\"}}}");
    /* merge patch does not merge lists: containers are replaced */
    MERGE ("{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]}}",
           "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"y\"}]}}",
           "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"y\"}]}}");
    /* as kube-apiserver's MergePatch (evanphx/json-patch v4): a value that
     * replaces anything but an object loses its null members, objects in
     * arrays included; null array items stay */
    MERGE ("{\"a\":[{\"b\":1}]}", "{\"a\":[{\"b\":null,\"c\":1},null]}",
           "{\"a\":[{\"c\":1},null]}");
    MERGE ("{}", "{\"a\":[{\"b\":null}]}", "{\"a\":[{}]}");
    MERGE ("{\"a\":{\"x\":1}}", "{\"a\":[{\"b\":null}]}", "{\"a\":[{\"b\":null}]}");
    /* "$..." keys are plain keys to a merge patch */
    MERGE ("{}", "{\"$patch\":\"delete\"}", "{\"$patch\":\"delete\"}");
}

/* ------------------------------------------------------------------ JSON patch */

/* RFC 6902 appendix A. */
static void test_json_rfc6902 (void)
{
    /* A.1 add an object member */
    JSONP ("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
           "{\"foo\":\"bar\",\"baz\":\"qux\"}");
    /* A.2 add an array element */
    JSONP ("{\"foo\":[\"bar\",\"baz\"]}",
           "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
           "{\"foo\":[\"bar\",\"qux\",\"baz\"]}");
    /* A.3 remove an object member */
    JSONP ("{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\",\"path\":\"/baz\"}]",
           "{\"foo\":\"bar\"}");
    /* A.4 remove an array element */
    JSONP ("{\"foo\":[\"bar\",\"qux\",\"baz\"]}", "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]",
           "{\"foo\":[\"bar\",\"baz\"]}");
    /* A.5 replace a value */
    JSONP ("{\"baz\":\"qux\",\"foo\":\"bar\"}",
           "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
           "{\"baz\":\"boo\",\"foo\":\"bar\"}");
    /* A.6 move a value */
    JSONP ("{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
           "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
           "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}");
    /* A.7 move an array element */
    JSONP ("{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
           "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
           "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}");
    /* A.8 test a value: success */
    JSONP ("{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
           "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},"
           "{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
           "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}");
    /* A.9 test a value: error */
    JSONP_FAIL ("{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]",
                "testing value /baz failed: test failed");
    /* A.10 add a nested member object */
    JSONP ("{\"foo\":\"bar\"}",
           "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
           "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}");
    /* A.11 ignoring unrecognized elements */
    JSONP ("{\"foo\":\"bar\"}",
           "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"xyz\":123}]",
           "{\"foo\":\"bar\",\"baz\":\"qux\"}");
    /* A.12 add to a nonexistent target */
    JSONP_FAIL ("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]",
                "add operation does not apply: doc is missing path: \"/baz/bat\": missing value");
    /* A.14 ~ escape ordering */
    JSONP ("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]",
           "{\"/\":9,\"~1\":10}");
    JSONP ("{\"/\":9,\"~1\":10}", "[{\"op\":\"replace\",\"path\":\"/~1\",\"value\":8}]",
           "{\"/\":8,\"~1\":10}");
    /* A.15 comparing strings and numbers */
    JSONP_FAIL ("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":\"10\"}]",
                "testing value /~01 failed");
    /* A.16 add an array value */
    JSONP ("{\"foo\":[\"bar\"]}",
           "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
           "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}");
}

static void test_json_more (void)
{
    /* copy, the whole document, tests on objects regardless of key order */
    JSONP ("{\"a\":{\"x\":1}}", "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/b\"}]",
           "{\"a\":{\"x\":1},\"b\":{\"x\":1}}");
    JSONP ("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":{\"b\":2}}]", "{\"b\":2}");
    JSONP ("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"\",\"value\":{\"c\":3}}]", "{\"c\":3}");
    JSONP ("{\"a\":{\"x\":1,\"y\":[1,2.0]}}",
           "[{\"op\":\"test\",\"path\":\"/a\",\"value\":{\"y\":[1.0,2],\"x\":1}}]",
           "{\"a\":{\"x\":1,\"y\":[1,2.0]}}");
    JSONP ("{\"a\":null}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":null}]", "{\"a\":null}");
    JSONP ("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/1\",\"value\":2}]", "{\"a\":[1,2]}");
    JSONP ("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/0\",\"value\":0}]", "{\"a\":[0,1]}");
    /* add replaces an existing member in place */
    JSONP ("{\"a\":1,\"b\":2}", "[{\"op\":\"add\",\"path\":\"/a\",\"value\":3}]",
           "{\"a\":3,\"b\":2}");
    /* ops apply in order; the second sees the first */
    JSONP ("{}",
           "[{\"op\":\"add\",\"path\":\"/a\",\"value\":{}},{\"op\":\"add\",\"path\":\"/a/b\","
           "\"value\":1},{\"op\":\"move\",\"from\":\"/a/b\",\"path\":\"/c\"}]",
           "{\"a\":{},\"c\":1}");
    /* the empty key */
    JSONP ("{\"\":1}", "[{\"op\":\"replace\",\"path\":\"/\",\"value\":2}]", "{\"\":2}");

    /* failures: all 422 (EAPPLY) with evanphx/json-patch's texts */
    JSONP_FAIL ("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":2}]",
                "Unable to access invalid index: 2");
    JSONP_FAIL ("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/x\",\"value\":2}]",
                "error in add for path: '/a/x': value was not a proper array index: 'x': "
                "strconv.Atoi: parsing \"x\": invalid syntax");
    JSONP_FAIL ("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/-3\",\"value\":2}]",
                "Unable to access invalid index: -3");
    JSONP_FAIL ("{\"a\":[1]}", "[{\"op\":\"remove\",\"path\":\"/a/-2\"}]",
                "Unable to access invalid index: -2");
    JSONP_FAIL ("{\"a\":[1]}", "[{\"op\":\"replace\",\"path\":\"/a/1\",\"value\":2}]",
                "replace operation does not apply: doc is missing key: /a/1: missing value");
    JSONP_FAIL ("{\"a\":[1]}", "[{\"op\":\"test\",\"path\":\"/a/3\",\"value\":2}]",
                "error in test for path: '/a/3': Unable to access invalid index: 3");
    JSONP_FAIL ("{\"a\":[1]}", "[{\"op\":\"copy\",\"from\":\"/a/3\",\"path\":\"/b\"}]",
                "error in copy for from: '/a/3': Unable to access invalid index: 3");
    JSONP_FAIL ("{\"a\":[1]}", "[{\"op\":\"move\",\"from\":\"/a/3\",\"path\":\"/b\"}]",
                "error in move for path: '3': Unable to access invalid index: 3");
    JSONP_FAIL ("{\"a\":[1]}", "[{\"op\":\"remove\",\"path\":\"/a/1\"}]",
                "Unable to access invalid index: 1");
    JSONP_FAIL ("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/b\"}]",
                "error in remove for path: '/b': Unable to remove nonexistent key: b: missing "
                "value");
    JSONP_FAIL ("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/b/c\"}]",
                "remove operation does not apply: doc is missing path: \"/b/c\"");

    JSONP_FAIL ("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/b/c\",\"value\":1}]",
                "replace operation does not apply: doc is missing path: /b/c: missing value");
    JSONP_FAIL ("{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/b\",\"path\":\"/c\"}]",
                "error in move for path: 'b': Unable to remove nonexistent key: b: missing value");
    JSONP_FAIL ("{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/b/c\",\"path\":\"/c\"}]",
                "move operation does not apply: doc is missing from path: /b/c: missing value");
    JSONP_FAIL ("{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b/c\"}]",
                "move operation does not apply: doc is missing destination path: /a/b/c: missing "
                "value");
    JSONP_FAIL ("{\"a\":1}", "[{\"op\":\"copy\",\"from\":\"/b/x\",\"path\":\"/c\"}]",
                "copy operation does not apply: doc is missing from path: /b/x: missing value");
    JSONP_FAIL ("{\"a\":1}", "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/c/d\"}]",
                "copy operation does not apply: doc is missing destination path: /c/d: missing "
                "value");
    JSONP_FAIL ("{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/b/c\",\"value\":1}]",
                "test operation does not apply: is missing path: /b/c: missing value");
    JSONP_FAIL ("{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/b\",\"value\":1}]",
                "testing value /b failed: test failed");
    JSONP_FAIL ("{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":\"1\"}]",
                "testing value /a failed");
    JSONP_FAIL ("{\"a\":1}", "[{\"op\":\"jump\",\"path\":\"/a\"}]", "Unexpected kind: jump");
    JSONP_FAIL ("{\"a\":1}", "[{\"path\":\"/a\"}]", "Unexpected kind: unknown");
    JSONP_FAIL ("{\"a\":1}", "[{\"op\":\"add\",\"value\":1}]",
                "add operation failed to decode path: missing value");
    JSONP_FAIL ("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"b\",\"value\":1}]",
                "add operation does not apply: doc is missing path: \"b\": missing value");
    JSONP_FAIL ("{\"a\":1}", "[{\"op\":\"add\",\"path\":5,\"value\":1}]",
                "add operation failed to decode path: missing value");
    JSONP_FAIL ("{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/a\"}]", "testing value /a failed");
    JSONP_FAIL ("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"\"}]",
                "remove operation does not apply: doc is missing path: \"\"");
    JSONP_FAIL ("{\"a\":1}", "[{\"op\":\"move\",\"path\":\"/a\"}]",
                "move operation failed to decode from");
    JSONP_FAIL ("{\"a\":\"s\"}", "[{\"op\":\"add\",\"path\":\"/a/b\",\"value\":1}]",
                "doc is missing path");
    /* the first failure fails all: nothing half-applied comes back */
    JSONP_FAIL ("{\"a\":1}",
                "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":2},"
                "{\"op\":\"test\",\"path\":\"/a\",\"value\":1}]",
                "testing value /a failed");

    /* not a list of operations: 400 */
    EXPECT_FAIL (API_PATCH_JSON, HS_KIND_POD, "{}", "{\"op\":\"add\"}", API_PATCH_EBAD,
                 "cannot unmarshal object into Go value of type jsonpatch.Patch");
    EXPECT_FAIL (API_PATCH_JSON, HS_KIND_POD, "{}", "[1]", API_PATCH_EBAD, "jsonpatch.Operation");
    EXPECT_FAIL (API_PATCH_JSON, HS_KIND_POD, "{}", "[[]]", API_PATCH_EBAD, "jsonpatch.Operation");
    JSONP ("{\"a\":1}", "[]", "{\"a\":1}");
}

/* Where Kubernetes (evanphx/json-patch v4) is more lenient than RFC 6902,
 * and clients count on it (checked against kubectl 1.32's --local patch). */
static void test_json_kubernetes (void)
{
    /* replace of a key the object lacks sets it (a common way to set a label) */
    JSONP ("{\"metadata\":{\"labels\":{\"a\":\"1\"}}}",
           "[{\"op\":\"replace\",\"path\":\"/metadata/labels/b\",\"value\":\"2\"}]",
           "{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":\"2\"}}}");
    /* an absent value is null; copy from a missing key copies null */
    JSONP ("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/b\"}]", "{\"a\":1,\"b\":null}");
    JSONP ("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/a\"}]", "{\"a\":null}");
    JSONP ("{\"a\":1}", "[{\"op\":\"copy\",\"from\":\"/b\",\"path\":\"/c\"}]",
           "{\"a\":1,\"c\":null}");
    /* indexes as strconv.Atoi reads them, negative from the end */
    JSONP ("{\"a\":[1,2,3]}", "[{\"op\":\"remove\",\"path\":\"/a/-1\"}]", "{\"a\":[1,2]}");
    JSONP ("{\"a\":[1,2,3]}", "[{\"op\":\"replace\",\"path\":\"/a/-3\",\"value\":0}]",
           "{\"a\":[0,2,3]}");
    JSONP ("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/-1\",\"value\":2}]", "{\"a\":[1,2]}");
    JSONP ("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/01\",\"value\":2}]", "{\"a\":[1,2]}");
    JSONP ("{\"a\":[1,2]}", "[{\"op\":\"test\",\"path\":\"/a/+1\",\"value\":2}]", "{\"a\":[1,2]}");
    /* only ~0 and ~1 are escapes */
    JSONP ("{}", "[{\"op\":\"add\",\"path\":\"/x~2y\",\"value\":1}]", "{\"x~2y\":1}");
    JSONP ("{}", "[{\"op\":\"add\",\"path\":\"/x~\",\"value\":1}]", "{\"x~\":1}");
    /* move into its own child: removed first, so the destination is gone */
    JSONP_FAIL ("{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b\"}]",
                "move operation does not apply: doc is missing destination path: /a/b");
    /* move onto itself is a no-op */
    JSONP ("{\"a\":1,\"b\":2}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a\"}]",
           "{\"b\":2,\"a\":1}");
}

/* kubectl rollout undo (notes §2). */
static void test_json_rollout_undo (void)
{
    EXPECT_PATCH (
        API_PATCH_JSON, HS_KIND_DEPLOYMENT,
        "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web-deploy\","
        "\"annotations\":{\"deployment.kubernetes.io/revision\":\"3\",\"x\":\"y\"}},"
        "\"spec\":{\"replicas\":2,\"template\":{\"metadata\":{\"labels\":{\"app\":\"wd\"}},"
        "\"spec\":{\"containers\":[{\"name\":\"main\",\"image\":\"busybox:2\"}]}}}}",
        "[{\"op\":\"replace\",\"path\":\"/spec/template\",\"value\":{\"metadata\":{"
        "\"creationTimestamp\":null,\"labels\":{\"app\":\"wd\"}},\"spec\":{\"containers\":[{"
        "\"name\":\"main\",\"image\":\"busybox:1\",\"resources\":{}}]}}},"
        "{\"op\":\"replace\",\"path\":\"/metadata/annotations\",\"value\":{"
        "\"deployment.kubernetes.io/revision\":\"2\"}}]",
        "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web-deploy\","
        "\"annotations\":{\"deployment.kubernetes.io/revision\":\"2\"}},"
        "\"spec\":{\"replicas\":2,\"template\":{\"metadata\":{\"creationTimestamp\":null,"
        "\"labels\":{\"app\":\"wd\"}},\"spec\":{\"containers\":[{\"name\":\"main\","
        "\"image\":\"busybox:1\",\"resources\":{}}]}}}}");
}

/* ------------------------------------------------------------------ strategic merge patch */

#define DEPLOY_LIVE                                                                                \
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"api\","          \
    "\"namespace\":\"default\",\"annotations\":{\"kubectl.kubernetes.io/last-applied-"             \
    "configuration\":\"old\"}},\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":{\"app\":"   \
    "\"api\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"api\"}},\"spec\":{"               \
    "\"containers\":[{\"name\":\"main\",\"image\":\"busybox:1\",\"env\":[{\"name\":\"A\","         \
    "\"value\":\"1\"},{\"name\":\"B\",\"value\":\"b\"}]},{\"name\":\"side\",\"image\":\"s:1\"}]}}" \
    "},"                                                                                           \
    "\"status\":{\"replicas\":1}}"

/* kubectl's own bodies (notes §2). */
static void test_smp_kubectl (void)
{
    /* apply (client-side), changed: $setElementOrder/containers and env */
    SMP (HS_KIND_DEPLOYMENT, DEPLOY_LIVE,
         "{\"metadata\":{\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":"
         "\"new\"}},\"spec\":{\"replicas\":3,\"template\":{\"spec\":{"
         "\"$setElementOrder/containers\":[{\"name\":\"main\"},{\"name\":\"side\"}],"
         "\"containers\":[{\"$setElementOrder/env\":[{\"name\":\"A\"},{\"name\":\"B\"}],"
         "\"env\":[{\"name\":\"A\",\"value\":\"2\"}],\"name\":\"main\"}]}}}}",
         "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"api\","
         "\"namespace\":\"default\",\"annotations\":{\"kubectl.kubernetes.io/last-applied-"
         "configuration\":\"new\"}},\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{"
         "\"app\":\"api\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"api\"}},\"spec\":{"
         "\"containers\":[{\"name\":\"main\",\"image\":\"busybox:1\",\"env\":[{\"name\":\"A\","
         "\"value\":\"2\"},{\"name\":\"B\",\"value\":\"b\"}]},{\"name\":\"side\",\"image\":"
         "\"s:1\"}]}}},\"status\":{\"replicas\":1}}");
    /* kubectl set image deploy/api main=busybox:2 */
    SMP (HS_KIND_DEPLOYMENT, DEPLOY_LIVE,
         "{\"spec\":{\"template\":{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"main\"},"
         "{\"name\":\"side\"}],\"containers\":[{\"image\":\"busybox:2\",\"name\":\"main\"}]}}}}",
         "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"api\","
         "\"namespace\":\"default\",\"annotations\":{\"kubectl.kubernetes.io/last-applied-"
         "configuration\":\"old\"}},\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":{"
         "\"app\":\"api\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"api\"}},\"spec\":{"
         "\"containers\":[{\"name\":\"main\",\"image\":\"busybox:2\",\"env\":[{\"name\":\"A\","
         "\"value\":\"1\"},{\"name\":\"B\",\"value\":\"b\"}]},{\"name\":\"side\",\"image\":"
         "\"s:1\"}]}}},\"status\":{\"replicas\":1}}");
    /* kubectl rollout restart */
    SMP (HS_KIND_DEPLOYMENT,
         "{\"spec\":{\"template\":{\"metadata\":{\"labels\":{\"app\":\"api\"}},\"spec\":{}}}}",
         "{\"spec\":{\"template\":{\"metadata\":{\"annotations\":{\"kubectl.kubernetes.io/"
         "restartedAt\":\"2026-12-06T19:13:13Z\"}}}}}",
         "{\"spec\":{\"template\":{\"metadata\":{\"labels\":{\"app\":\"api\"},\"annotations\":{"
         "\"kubectl.kubernetes.io/restartedAt\":\"2026-12-06T19:13:13Z\"}},\"spec\":{}}}}");
    /* kubectl rollout pause */
    SMP (HS_KIND_DEPLOYMENT, "{\"spec\":{\"replicas\":1}}", "{\"spec\":{\"paused\":true}}",
         "{\"spec\":{\"replicas\":1,\"paused\":true}}");
    /* cordon, uncordon (null deletes) */
    SMP (HS_KIND_NODE, "{\"kind\":\"Node\",\"spec\":{\"podCIDR\":\"10.0.0.0/24\"}}",
         "{\"spec\":{\"unschedulable\":true}}",
         "{\"kind\":\"Node\",\"spec\":{\"podCIDR\":\"10.0.0.0/24\",\"unschedulable\":true}}");
    SMP (HS_KIND_NODE, "{\"spec\":{\"podCIDR\":\"10.0.0.0/24\",\"unschedulable\":true}}",
         "{\"spec\":{\"unschedulable\":null}}", "{\"spec\":{\"podCIDR\":\"10.0.0.0/24\"}}");
    /* kubectl edit, with status (the gateway ignores status; the patch merges it) */
    SMP (HS_KIND_DEPLOYMENT, "{\"spec\":{\"replicas\":1},\"status\":{\"replicas\":1}}",
         "{\"spec\":{\"replicas\":4},\"status\":{\"replicas\":4}}",
         "{\"spec\":{\"replicas\":4},\"status\":{\"replicas\":4}}");
    /* python's patch_namespaced_deployment_scale with a dict body */
    SMP (HS_KIND_NONE, "{\"kind\":\"Scale\",\"spec\":{\"replicas\":1}}",
         "{\"spec\":{\"replicas\":5}}", "{\"kind\":\"Scale\",\"spec\":{\"replicas\":5}}");
    /* a label merge as SMP */
    SMP (HS_KIND_POD, "{\"metadata\":{\"labels\":{\"a\":\"1\"}}}",
         "{\"metadata\":{\"labels\":{\"b\":\"2\",\"a\":null}}}",
         "{\"metadata\":{\"labels\":{\"b\":\"2\"}}}");
}

static void test_smp_lists (void)
{
    /* containers merge by name: a new one goes first (upstream's
     * mergeSortedSlice puts patch items the live list lacks before the
     * server's: `kubectl patch` adding an env var puts it first) */
    SMP (HS_KIND_POD, "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]}}",
         "{\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"y\"}]}}",
         "{\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"y\"},{\"name\":\"a\","
         "\"image\":\"x\"}]}}");
    /* ... and with $setElementOrder the new one goes first */
    SMP (HS_KIND_POD, "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]}}",
         "{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"b\"},{\"name\":\"a\"}],"
         "\"containers\":[{\"name\":\"b\",\"image\":\"y\"}]}}",
         "{\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"y\"},{\"name\":\"a\","
         "\"image\":\"x\"}]}}");
    /* $patch: delete on an item */
    SMP (HS_KIND_POD,
         "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\"}]}}",
         "{\"spec\":{\"containers\":[{\"name\":\"b\",\"$patch\":\"delete\"}]}}",
         "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"c\"}]}}");
    /* $patch: replace as a list item: the list is the patch's items */
    SMP (HS_KIND_POD,
         "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\"},{\"name\":\"b\"}]}}",
         "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"z\"},{\"$patch\":\"replace\"}]}}",
         "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"z\"}]}}");
    /* $patch: replace on a map */
    SMP (HS_KIND_POD, "{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":\"2\"}}}",
         "{\"metadata\":{\"labels\":{\"$patch\":\"replace\",\"c\":\"3\"}}}",
         "{\"metadata\":{\"labels\":{\"c\":\"3\"}}}");
    /* $patch: delete on a map */
    SMP (HS_KIND_POD, "{\"metadata\":{\"name\":\"p\",\"labels\":{\"a\":\"1\"}}}",
         "{\"metadata\":{\"labels\":{\"$patch\":\"delete\"}}}",
         "{\"metadata\":{\"name\":\"p\",\"labels\":{}}}");
    /* $patch: merge is the default */
    SMP (HS_KIND_POD, "{\"metadata\":{\"labels\":{\"a\":\"1\"}}}",
         "{\"metadata\":{\"labels\":{\"$patch\":\"merge\",\"b\":\"2\"}}}",
         "{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":\"2\"}}}");
    /* ports by containerPort, volumeMounts by mountPath */
    SMP (HS_KIND_POD,
         "{\"spec\":{\"containers\":[{\"name\":\"a\",\"ports\":[{\"containerPort\":80,"
         "\"name\":\"http\"}],\"volumeMounts\":[{\"mountPath\":\"/d\",\"name\":\"v\"}]}]}}",
         "{\"spec\":{\"containers\":[{\"name\":\"a\",\"ports\":[{\"containerPort\":80,"
         "\"protocol\":\"TCP\"},{\"containerPort\":443}],\"volumeMounts\":[{\"mountPath\":\"/d\","
         "\"readOnly\":true}]}]}}",
         "{\"spec\":{\"containers\":[{\"name\":\"a\",\"ports\":[{\"containerPort\":80,\"name\":"
         "\"http\",\"protocol\":\"TCP\"},{\"containerPort\":443}],\"volumeMounts\":[{"
         "\"mountPath\":\"/d\",\"name\":\"v\",\"readOnly\":true}]}]}}");
    /* command and args are atomic */
    SMP (HS_KIND_POD,
         "{\"spec\":{\"containers\":[{\"name\":\"a\",\"command\":[\"sh\",\"-c\"],\"args\":[\"x\"]}]"
         "}}",
         "{\"spec\":{\"containers\":[{\"name\":\"a\",\"command\":[\"sleep\"]}]}}",
         "{\"spec\":{\"containers\":[{\"name\":\"a\",\"command\":[\"sleep\"],\"args\":[\"x\"]}]}}");
    /* tolerations and taints are atomic */
    SMP (HS_KIND_POD, "{\"spec\":{\"tolerations\":[{\"key\":\"a\"},{\"key\":\"b\"}]}}",
         "{\"spec\":{\"tolerations\":[{\"key\":\"c\"}]}}",
         "{\"spec\":{\"tolerations\":[{\"key\":\"c\"}]}}");
    SMP (HS_KIND_NODE, "{\"spec\":{\"taints\":[{\"key\":\"a\",\"effect\":\"NoSchedule\"}]}}",
         "{\"spec\":{\"taints\":[{\"key\":\"b\",\"effect\":\"NoExecute\"}]}}",
         "{\"spec\":{\"taints\":[{\"key\":\"b\",\"effect\":\"NoExecute\"}]}}");
    /* matchExpressions are atomic */
    SMP (HS_KIND_DEPLOYMENT,
         "{\"spec\":{\"selector\":{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\"}]}}"
         "}",
         "{\"spec\":{\"selector\":{\"matchExpressions\":[{\"key\":\"b\",\"operator\":\"Exists\"}]}}"
         "}",
         "{\"spec\":{\"selector\":{\"matchExpressions\":[{\"key\":\"b\",\"operator\":\"Exists\"}]}}"
         "}");
    /* finalizers: a merged set; $deleteFromPrimitiveList removes */
    SMP (HS_KIND_POD, "{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
         "{\"metadata\":{\"finalizers\":[\"c\",\"a\"]}}",
         "{\"metadata\":{\"finalizers\":[\"c\",\"a\",\"b\"]}}");
    SMP (HS_KIND_POD, "{\"metadata\":{\"finalizers\":[\"a\",\"b\",\"c\"]}}",
         "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"b\",\"x\"]}}",
         "{\"metadata\":{\"finalizers\":[\"a\",\"c\"]}}");
    SMP (HS_KIND_POD, "{\"metadata\":{\"finalizers\":[\"a\",\"b\",\"c\"]}}",
         "{\"metadata\":{\"$setElementOrder/finalizers\":[\"c\",\"a\"],"
         "\"$deleteFromPrimitiveList/finalizers\":[\"b\"]}}",
         "{\"metadata\":{\"finalizers\":[\"c\",\"a\"]}}");
    SMP (HS_KIND_POD, "{\"metadata\":{}}",
         "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"b\"]}}", "{\"metadata\":{}}");
    /* ownerReferences by uid */
    SMP (HS_KIND_POD, "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"name\":\"rs\"}]}}",
         "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"controller\":true},{\"uid\":\"2\","
         "\"name\":\"j\"}]}}",
         "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"name\":\"rs\",\"controller\":true},"
         "{\"uid\":\"2\",\"name\":\"j\"}]}}");
    /* conditions and node addresses by type */
    SMP (HS_KIND_NODE,
         "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"},{\"type\":"
         "\"DiskPressure\",\"status\":\"False\"}],\"addresses\":[{\"type\":\"InternalIP\","
         "\"address\":\"10.0.0.1\"}]}}",
         "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}],\"addresses\":[{"
         "\"type\":\"Hostname\",\"address\":\"demo\"}]}}",
         "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"},{\"type\":"
         "\"DiskPressure\",\"status\":\"False\"}],\"addresses\":[{\"type\":\"Hostname\","
         "\"address\":\"demo\"},{\"type\":\"InternalIP\",\"address\":\"10.0.0.1\"}]}}");
    /* Service ports by port */
    SMP (HS_KIND_SERVICE, "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8080}]}}",
         "{\"spec\":{\"ports\":[{\"port\":80,\"name\":\"http\"}]}}",
         "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8080,\"name\":\"http\"}]}}");
    /* ... but a Pod has no spec.ports: a list there is atomic */
    SMP (HS_KIND_POD, "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8080}]}}",
         "{\"spec\":{\"ports\":[{\"port\":80,\"name\":\"http\"}]}}",
         "{\"spec\":{\"ports\":[{\"port\":80,\"name\":\"http\"}]}}");
    /* volumes by name with $retainKeys: the old source goes */
    SMP (HS_KIND_POD,
         "{\"spec\":{\"volumes\":[{\"name\":\"v\",\"emptyDir\":{}},{\"name\":\"w\","
         "\"emptyDir\":{}}]}}",
         "{\"spec\":{\"volumes\":[{\"$retainKeys\":[\"configMap\",\"name\"],\"name\":\"v\","
         "\"configMap\":{\"name\":\"cm\"}}]}}",
         "{\"spec\":{\"volumes\":[{\"name\":\"v\",\"configMap\":{\"name\":\"cm\"}},{\"name\":"
         "\"w\",\"emptyDir\":{}}]}}");
    /* $retainKeys on the Deployment strategy */
    SMP (
        HS_KIND_DEPLOYMENT,
        "{\"spec\":{\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":1}}}}",
        "{\"spec\":{\"strategy\":{\"$retainKeys\":[\"type\"],\"type\":\"Recreate\"}}}",
        "{\"spec\":{\"strategy\":{\"type\":\"Recreate\"}}}");
    /* kubectl apply switching the strategy to Recreate */
    SMP (HS_KIND_DEPLOYMENT,
         "{\"spec\":{\"replicas\":1,\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{"
         "\"maxSurge\":1,\"maxUnavailable\":0}}}}",
         "{\"spec\":{\"strategy\":{\"$retainKeys\":[\"type\"],\"rollingUpdate\":null,\"type\":"
         "\"Recreate\"}}}",
         "{\"spec\":{\"replicas\":1,\"strategy\":{\"type\":\"Recreate\"}}}");
    /* kubectl apply adding a port: ordered by containerPort, numbers */
    SMP (HS_KIND_DEPLOYMENT,
         "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"m\",\"ports\":[{"
         "\"containerPort\":8080,\"protocol\":\"TCP\"}]}]}}}}",
         "{\"spec\":{\"template\":{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"m\"}],"
         "\"containers\":[{\"$setElementOrder/ports\":[{\"containerPort\":8080},{\"containerPort\":"
         "9090}],\"name\":\"m\",\"ports\":[{\"containerPort\":9090,\"name\":\"metrics\"}]}]}}}}",
         "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"m\",\"ports\":[{"
         "\"containerPort\":8080,\"protocol\":\"TCP\"},{\"containerPort\":9090,\"name\":"
         "\"metrics\"}]}]}}}}");
    /* kubectl apply removing a container and an arg (args are atomic) */
    SMP (HS_KIND_DEPLOYMENT,
         "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\",\"args\":[\"-v\","
         "\"-x\"]},{\"name\":\"b\"}]}}}}",
         "{\"spec\":{\"template\":{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"a\"}],"
         "\"containers\":[{\"args\":[\"-v\"],\"name\":\"a\"},{\"$patch\":\"delete\",\"name\":"
         "\"b\"}]}}}}",
         "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\",\"args\":[\"-v\"]}"
         "]}}}}");
    /* a template in Job, ReplicaSet: the same pod schema */
    SMP (HS_KIND_JOB,
         "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\",\"env\":[{\"name\":"
         "\"X\",\"value\":\"1\"}]}]}}}}",
         "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\",\"env\":[{\"name\":"
         "\"Y\",\"value\":\"2\"}]}]}}}}",
         "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\",\"env\":[{\"name\":"
         "\"Y\",\"value\":\"2\"},{\"name\":\"X\",\"value\":\"1\"}]}]}}}}");
    SMP (HS_KIND_REPLICASET,
         "{\"spec\":{\"template\":{\"spec\":{\"initContainers\":[{\"name\":\"i\",\"image\":\"a\"}],"
         "\"imagePullSecrets\":[{\"name\":\"s1\"}]}}}}",
         "{\"spec\":{\"template\":{\"spec\":{\"initContainers\":[{\"name\":\"i\",\"image\":\"b\"}],"
         "\"imagePullSecrets\":[{\"name\":\"s2\"}]}}}}",
         "{\"spec\":{\"template\":{\"spec\":{\"initContainers\":[{\"name\":\"i\",\"image\":\"b\"}],"
         "\"imagePullSecrets\":[{\"name\":\"s2\"},{\"name\":\"s1\"}]}}}}");
    /* a list the live object lacks: directives are stripped */
    SMP (HS_KIND_POD, "{\"spec\":{}}",
         "{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"a\"}],\"containers\":[{"
         "\"name\":\"a\",\"$setElementOrder/env\":[{\"name\":\"E\"}],\"env\":[{\"name\":\"E\","
         "\"value\":\"v\",\"valueFrom\":null}]}]}}",
         "{\"spec\":{\"containers\":[{\"name\":\"a\",\"env\":[{\"name\":\"E\",\"value\":\"v\"}]}]}"
         "}");
    /* a new map with nulls: the nulls go */
    SMP (HS_KIND_POD, "{\"metadata\":{}}", "{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":null}}}",
         "{\"metadata\":{\"labels\":{\"a\":\"1\"}}}");
    /* type change: a map replaces a scalar */
    SMP (HS_KIND_POD, "{\"spec\":{\"x\":1}}", "{\"spec\":{\"x\":{\"y\":2}}}",
         "{\"spec\":{\"x\":{\"y\":2}}}");
    /* the whole object replaced */
    SMP (HS_KIND_POD, "{\"a\":1,\"b\":2}", "{\"$patch\":\"replace\",\"c\":3}", "{\"c\":3}");
}

/* Kubernetes' ordering rules (TestStrategicMergePatch's order cases). */
static void test_smp_order (void)
{
    /* server-only items keep their place relative to patched ones; e, new,
     * comes before d, which the live list had after c */
    SMP (HS_KIND_POD,
         "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\"},{"
         "\"name\":\"d\"}]}}",
         "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"},{\"name\":\"e\"}]}}",
         "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\","
         "\"image\":\"x\"},{\"name\":\"e\"},{\"name\":\"d\"}]}}");
    /* the patch's order wins over the live order; b (server-only, first
     * in the live list before c) stays in front of c */
    SMP (HS_KIND_POD,
         "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\"}]}}",
         "{\"spec\":{\"containers\":[{\"name\":\"c\"},{\"name\":\"a\"}]}}",
         "{\"spec\":{\"containers\":[{\"name\":\"b\"},{\"name\":\"c\"},{\"name\":\"a\"}]}}");
    /* $setElementOrder reorders without a patch list */
    SMP (HS_KIND_POD,
         "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\"}]}}",
         "{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"c\"},{\"name\":\"b\"},{"
         "\"name\":\"a\"}]}}",
         "{\"spec\":{\"containers\":[{\"name\":\"c\"},{\"name\":\"b\"},{\"name\":\"a\"}]}}");
    /* $setElementOrder with a server-only item: s was before b live */
    SMP (HS_KIND_POD,
         "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"s\"},{\"name\":\"b\"}]}}",
         "{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"b\"},{\"name\":\"a\"}],"
         "\"containers\":[{\"name\":\"b\",\"image\":\"x\"}]}}",
         "{\"spec\":{\"containers\":[{\"name\":\"s\"},{\"name\":\"b\",\"image\":\"x\"},{"
         "\"name\":\"a\"}]}}");
    /* deleting with $setElementOrder (kubectl apply after removing a container) */
    SMP (HS_KIND_POD, "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}}",
         "{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"a\"}],\"containers\":[{"
         "\"$patch\":\"delete\",\"name\":\"b\"}]}}",
         "{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}");
    /* kubectl apply renaming env var A to C, with S added by someone else:
     * S's place comes from upstream's view of the live list after the
     * delete and the append ([S, B, C]), so S goes first */
    SMP (HS_KIND_POD,
         "{\"spec\":{\"containers\":[{\"name\":\"m\",\"env\":[{\"name\":\"A\"},{\"name\":\"S\"},{"
         "\"name\":\"B\"}]}]}}",
         "{\"spec\":{\"containers\":[{\"name\":\"m\",\"$setElementOrder/env\":[{\"name\":\"C\"},{"
         "\"name\":\"B\"}],\"env\":[{\"name\":\"C\",\"value\":\"c\"},{\"$patch\":\"delete\","
         "\"name\":\"A\"}]}]}}",
         "{\"spec\":{\"containers\":[{\"name\":\"m\",\"env\":[{\"name\":\"S\"},{\"name\":\"C\","
         "\"value\":\"c\"},{\"name\":\"B\"}]}]}}");
    /* primitive set order */
    SMP (HS_KIND_NODE, "{\"spec\":{\"podCIDRs\":[\"a\",\"b\"]}}",
         "{\"spec\":{\"$setElementOrder/podCIDRs\":[\"b\",\"c\",\"a\"],\"podCIDRs\":[\"c\"]}}",
         "{\"spec\":{\"podCIDRs\":[\"b\",\"c\",\"a\"]}}");
}

static void test_smp_errors (void)
{
    SMP_FAIL (HS_KIND_POD, "{}", "{\"$patch\":\"explode\"}", "unknown patch type: explode");
    SMP_FAIL (HS_KIND_POD, "{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}",
              "{\"spec\":{\"containers\":[{\"$patch\":\"zap\",\"name\":\"a\"}]}}",
              "unknown patch type: zap");
    SMP_FAIL (HS_KIND_POD, "{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}",
              "{\"spec\":{\"containers\":[{\"image\":\"x\"}]}}",
              "does not contain declared merge key: name");
    SMP_FAIL (HS_KIND_POD, "{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}",
              "{\"spec\":{\"containers\":[{\"$patch\":\"delete\"}]}}",
              "does not contain declared merge key: name");
    SMP_FAIL (HS_KIND_POD, "{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}",
              "{\"spec\":{\"containers\":[\"a\"]}}", "list element types are not identical");
    SMP_FAIL (HS_KIND_POD, "{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}",
              "{\"spec\":{\"containers\":[[1]]}}", "lists of lists are not supported");
    SMP_FAIL (HS_KIND_POD, "{\"metadata\":{\"finalizers\":[\"a\"]}}",
              "{\"metadata\":{\"finalizers\":[{\"a\":1}]}}", "list element types");
    SMP_FAIL (HS_KIND_POD, "{}", "{\"spec\":{\"$bogus\":1}}",
              "unknown strategic merge patch directive: $bogus");
    SMP_FAIL (HS_KIND_POD, "{}", "{\"spec\":{\"$retainKeys\":\"x\"}}",
              "invalid patch format of retainKeys");
    SMP_FAIL (HS_KIND_POD, "{\"spec\":{\"a\":1}}", "{\"spec\":{\"$retainKeys\":[\"a\"],\"b\":2}}",
              "invalid patch format of retainKeys");
    SMP_FAIL (HS_KIND_POD, "{}", "{\"spec\":{\"$setElementOrder\":[]}}",
              "invalid patch format of setElementOrder list");
    SMP_FAIL (HS_KIND_POD, "{}", "{\"spec\":{\"$setElementOrder/containers\":{}}}",
              "expected a []interface {}");
    SMP_FAIL (HS_KIND_POD, "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}}",
              "{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"a\"}],\"containers\":[{"
              "\"name\":\"b\"}]}}",
              "doesn't match $setElementOrder list");
    /* as upstream: a trailing {"$patch":"replace"} once the order is used up */
    SMP_FAIL (HS_KIND_POD, "{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}",
              "{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"a\"}],\"containers\":[{"
              "\"name\":\"a\"},{\"$patch\":\"replace\"}]}}",
              "doesn't match $setElementOrder list");
    SMP_FAIL (HS_KIND_POD, "{}", "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":\"a\"}}",
              "invalid patch format of primitive list");
    SMP_FAIL (HS_KIND_POD, "{}", "{\"metadata\":{\"$deleteFromPrimitiveList\":[\"a\"]}}",
              "invalid patch format of primitive list");
    SMP_FAIL (HS_KIND_POD, "{}", "[1]", "invalid JSON document");
    SMP_FAIL (HS_KIND_POD, "{}", "\"x\"", "invalid JSON document");
}

/* Server-side apply bodies (YAML too) take the strategic path. */
static void test_apply (void)
{
    EXPECT_PATCH (API_PATCH_APPLY, HS_KIND_JOB,
                  "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"once\"},"
                  "\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":"
                  "\"a\"}]}}}}",
                  "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: once\n  labels:\n    x: y\n"
                  "spec:\n  template:\n    spec:\n      containers:\n      - name: c\n"
                  "        image: b\n",
                  "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"once\","
                  "\"labels\":{\"x\":\"y\"}},\"spec\":{\"template\":{\"spec\":{\"containers\":[{"
                  "\"name\":\"c\",\"image\":\"b\"}]}}}}");
    /* kubectl's second SSA patch (kubectl-last-applied) carries metadata only */
    EXPECT_PATCH (API_PATCH_APPLY, HS_KIND_DEPLOYMENT,
                  "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":"
                  "\"api\"},\"spec\":{\"replicas\":2}}",
                  "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{"
                  "\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":\"x\"},"
                  "\"name\":\"api\",\"namespace\":\"default\"}}",
                  "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":"
                  "\"api\",\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":"
                  "\"x\"},\"namespace\":\"default\"},\"spec\":{\"replicas\":2}}");
}

/* ------------------------------------------------------------------ garbage and limits */

static void test_dup (void)
{
    CHECK (api_tree_dup (NULL) == NULL);
    hs_tree_t *t = s_parse ("{\"a\":[1,\"x\",null,{\"b\":true}],\"c\":{}}");
    hs_tree_t *d = api_tree_dup (t);
    char *x = s_text (t), *y = s_text (d);
    CHECK_EQ_STR (x, y);
    CHECK (d != t && d->items[0] != t->items[0]);
    free (x);
    free (y);
    hs_tree_free (t);
    hs_tree_free (d);
}

static void test_garbage (void)
{
    hs_tree_t *live = s_parse ("{\"a\":1}"), *out = NULL;
    char *err = NULL;
    /* no patch */
    CHECK_EQ_INT (api_patch_apply (API_PATCH_MERGE, HS_KIND_POD, live, NULL, &out, &err),
                  API_PATCH_EBAD);
    CHECK (out == NULL);
    free (err);
    err = NULL;
    /* no live object: patches apply to {} */
    hs_tree_t *p = s_parse ("{\"b\":2}");
    CHECK_EQ_INT (api_patch_apply (API_PATCH_STRATEGIC, HS_KIND_POD, NULL, p, &out, &err), 0);
    char *s = out ? s_text (out) : NULL;
    CHECK_EQ_STR (s, "{\"b\":2}");
    free (s);
    hs_tree_free (out);
    out = NULL;
    /* a bad type value */
    CHECK_EQ_INT (api_patch_apply ((api_patch_type_t)99, HS_KIND_POD, live, p, &out, &err),
                  API_PATCH_EBAD);
    free (err);
    err = NULL;
    /* NULL ret_error is allowed */
    CHECK_EQ_INT (api_patch_apply (API_PATCH_MERGE, HS_KIND_POD, live, NULL, &out, NULL),
                  API_PATCH_EBAD);
    hs_tree_free (p);
    hs_tree_free (live);

    /* a live tree that is not an object */
    EXPECT_PATCH (API_PATCH_MERGE, HS_KIND_POD, "[1]", "{\"a\":1}", "{\"a\":1}");
    EXPECT_PATCH (API_PATCH_STRATEGIC, HS_KIND_POD, "\"s\"", "{\"a\":1}", "{\"a\":1}");
    EXPECT_PATCH (API_PATCH_JSON, HS_KIND_POD, "7",
                  "[{\"op\":\"replace\",\"path\":\"\",\"value\":{\"a\":1}}]", "{\"a\":1}");
    /* strategic patches whose shapes are wrong everywhere */
    EXPECT_PATCH (API_PATCH_STRATEGIC, HS_KIND_POD, "{\"spec\":[1,2]}",
                  "{\"spec\":{\"containers\":7}}", "{\"spec\":{\"containers\":7}}");
    EXPECT_PATCH (API_PATCH_STRATEGIC, HS_KIND_POD, "{\"spec\":{\"containers\":{\"a\":1}}}",
                  "{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}",
                  "{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}");
    SMP_FAIL (HS_KIND_POD, "{\"spec\":{\"containers\":[1]}}",
              "{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}", "list element types");
    SMP_FAIL (HS_KIND_POD, "{\"spec\":{\"containers\":[{\"name\":{\"x\":1}}]}}",
              "{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}", "not a scalar");
    SMP_FAIL (HS_KIND_POD, "{}", "{\"$patch\":[1]}", "unknown patch type");
}

/* Deep nesting: a JSON patch cannot build a tree deeper than the parser
 * would accept, and deep (legal) documents patch fine. */
static void test_deep (void)
{
    size_t depth = HS_YAML_MAX_DEPTH - 2;
    char *deep = hs_malloc (depth * 6 + 16), *o = deep;
    for (size_t i = 0; i < depth; i++) o += sprintf (o, "{\"a\":");
    o += sprintf (o, "1");
    for (size_t i = 0; i < depth; i++) *o++ = '}';
    *o = 0;
    hs_tree_t *live = s_parse (deep), *out = NULL;
    CHECK (live != NULL);
    char *err = NULL;
    /* copy the document into itself, again and again */
    hs_tree_t *p = s_parse ("[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/a/a\"}]");
    hs_tree_t *cur = api_tree_dup (live);
    int rc = 0;
    for (int i = 0; i < 10 && rc == 0; i++) {
        rc = api_patch_apply (API_PATCH_JSON, HS_KIND_POD, cur, p, &out, &err);
        if (rc == 0) {
            hs_tree_free (cur);
            cur = out;
            out = NULL;
        }
    }
    CHECK_EQ_INT (rc, API_PATCH_EAPPLY);
    CHECK_CONTAINS (err, "nests deeper");
    free (err);
    err = NULL;
    hs_tree_free (cur);
    hs_tree_free (p);
    /* merge and strategic patches of the same depth are fine */
    p = s_parse (deep);
    CHECK_EQ_INT (api_patch_apply (API_PATCH_MERGE, HS_KIND_POD, live, p, &out, &err), 0);
    hs_tree_free (out);
    out = NULL;
    CHECK_EQ_INT (api_patch_apply (API_PATCH_STRATEGIC, HS_KIND_POD, live, p, &out, &err), 0);
    hs_tree_free (out);
    out = NULL;
    hs_tree_free (p);
    hs_tree_free (live);
    free (deep);
}

/* Copies that double the document stop at the copy limit. */
static void test_copy_limit (void)
{
    hs_tree_t *live = s_parse ("{\"a\":{\"x\":\"0123456789012345678901234567890123456789\"}}");
    /* /a doubles with each pair of ops */
    size_t n = 60;
    char *text = hs_malloc (n * 120 + 8), *o = text;
    *o++ = '[';
    for (size_t i = 0; i < n; i++)
        o += sprintf (o,
                      "%s{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/b\"},"
                      "{\"op\":\"move\",\"from\":\"/b\",\"path\":\"/a/c%zu\"}",
                      i ? "," : "", i);
    *o++ = ']';
    *o = 0;
    hs_tree_t *p = s_parse (text), *out = NULL;
    char *err = NULL;
    CHECK_EQ_INT (api_patch_apply (API_PATCH_JSON, HS_KIND_POD, live, p, &out, &err),
                  API_PATCH_EAPPLY);
    CHECK_CONTAINS (err, "exceeding the limit");
    CHECK (out == NULL);
    free (err);
    hs_tree_free (p);
    hs_tree_free (live);
    free (text);

    /* too many operations */
    size_t many = 10001;
    text = hs_malloc (many * 40 + 8);
    o = text;
    *o++ = '[';
    for (size_t i = 0; i < many; i++)
        o += sprintf (o, "%s{\"op\":\"test\",\"path\":\"\",\"value\":{}}", i ? "," : "");
    *o++ = ']';
    *o = 0;
    live = s_parse ("{}");
    p = s_parse (text);
    err = NULL;
    CHECK_EQ_INT (api_patch_apply (API_PATCH_JSON, HS_KIND_POD, live, p, &out, &err),
                  API_PATCH_EBAD);
    CHECK_CONTAINS (err, "maximum operations in a JSON patch is 10000, got 10001");
    free (err);
    hs_tree_free (p);
    hs_tree_free (live);
    free (text);
}

/* Big lists and maps merge in about linear time (a quadratic merge of
 * these would take minutes). */
static void test_big (void)
{
    size_t n = 50000;
    char *a = hs_malloc (n * 24 + 64), *b = hs_malloc (n * 24 + 64), *oa = a, *ob = b;
    oa += sprintf (oa, "{\"metadata\":{\"finalizers\":[");
    ob += sprintf (ob, "{\"metadata\":{\"finalizers\":[");
    for (size_t i = 0; i < n; i++) {
        oa += sprintf (oa, "%s\"f%zu\"", i ? "," : "", i);
        ob += sprintf (ob, "%s\"f%zu\"", i ? "," : "", i + n / 2);
    }
    sprintf (oa, "]}}");
    sprintf (ob, "]}}");
    hs_tree_t *live = s_parse (a), *p = s_parse (b), *out = NULL;
    char *err = NULL;
    CHECK_EQ_INT (api_patch_apply (API_PATCH_STRATEGIC, HS_KIND_POD, live, p, &out, &err), 0);
    const hs_tree_t *f = out ? hs_tree_get (hs_tree_get (out, "metadata"), "finalizers") : NULL;
    CHECK (f && f->n == n + n / 2);
    hs_tree_free (out);
    out = NULL;
    hs_tree_free (live);
    hs_tree_free (p);

    /* labels maps, containers lists */
    oa = a;
    ob = b;
    oa += sprintf (oa, "{\"metadata\":{\"labels\":{");
    ob += sprintf (ob, "{\"metadata\":{\"labels\":{");
    for (size_t i = 0; i < n; i++) {
        oa += sprintf (oa, "%s\"k%zu\":\"v\"", i ? "," : "", i);
        ob += sprintf (ob, "%s\"k%zu\":%s", i ? "," : "", i + n / 2, i % 2 ? "null" : "\"w\"");
    }
    sprintf (oa, "}}}");
    sprintf (ob, "}}}");
    live = s_parse (a);
    p = s_parse (b);
    CHECK_EQ_INT (api_patch_apply (API_PATCH_STRATEGIC, HS_KIND_POD, live, p, &out, &err), 0);
    hs_tree_free (out);
    out = NULL;
    CHECK_EQ_INT (api_patch_apply (API_PATCH_MERGE, HS_KIND_POD, live, p, &out, &err), 0);
    f = out ? hs_tree_get (hs_tree_get (out, "metadata"), "labels") : NULL;
    CHECK (f && f->n == n); /* 12500 deleted, 12500 added */
    hs_tree_free (out);
    out = NULL;
    hs_tree_free (live);
    hs_tree_free (p);

    oa = a;
    ob = b;
    oa += sprintf (oa, "{\"spec\":{\"containers\":[");
    ob += sprintf (ob, "{\"spec\":{\"containers\":[");
    for (size_t i = 0; i < n / 2; i++) {
        oa += sprintf (oa, "%s{\"name\":\"c%zu\"}", i ? "," : "", i);
        ob += sprintf (ob, "%s{\"name\":\"c%zu\",\"x\":1}", i ? "," : "", n / 2 - i);
    }
    sprintf (oa, "]}}");
    sprintf (ob, "]}}");
    live = s_parse (a);
    p = s_parse (b);
    CHECK_EQ_INT (api_patch_apply (API_PATCH_STRATEGIC, HS_KIND_POD, live, p, &out, &err), 0);
    f = out ? hs_tree_get (hs_tree_get (out, "spec"), "containers") : NULL;
    CHECK (f && f->n == n / 2 + 1);
    hs_tree_free (out);
    hs_tree_free (live);
    hs_tree_free (p);
    free (a);
    free (b);
}

/* Random trees and random patches of all three types: never a crash, and
 * every result is a tree that prints (run under ASan/UBSan). */
static uint64_t s_rng = 88172645463325252ULL;
static uint64_t s_rand (void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

static const char *s_words[] = {"name",
                                "a",
                                "containers",
                                "env",
                                "$patch",
                                "delete",
                                "replace",
                                "merge",
                                "spec",
                                "metadata",
                                "ports",
                                "finalizers",
                                "$retainKeys",
                                "value",
                                "containerPort",
                                "$setElementOrder/containers",
                                "$deleteFromPrimitiveList/finalizers",
                                "template",
                                "0",
                                "-",
                                "~1",
                                "x"};

static hs_tree_t *s_random_tree (int depth)
{
    uint64_t r = s_rand () % 10;
    if (depth > 5 || r < 3) {
        if (r == 0) return hs_tree_new (HS_TREE_NULL);
        return hs_tree_scalar (s_words[s_rand () % HS_ARRAY_LEN (s_words)], s_rand () % 2);
    }
    hs_tree_t *t = hs_tree_new (r < 7 ? HS_TREE_MAP : HS_TREE_SEQ);
    size_t n = s_rand () % 5;
    for (size_t i = 0; i < n; i++) {
        const char *k = s_words[s_rand () % HS_ARRAY_LEN (s_words)];
        if (t->type == HS_TREE_MAP && hs_tree_get (t, k)) continue;
        hs_tree_add (t, t->type == HS_TREE_MAP ? k : NULL, s_random_tree (depth + 1));
    }
    return t;
}

static hs_tree_t *s_random_json_patch (void)
{
    static const char *ops[] = {"add", "remove", "replace", "move", "copy", "test", "bad"};
    static const char *paths[] = {"",
                                  "/a",
                                  "/spec",
                                  "/spec/containers",
                                  "/spec/containers/0",
                                  "/spec/containers/-1",
                                  "/spec/containers/01",
                                  "/spec/containers/-",
                                  "/a/-",
                                  "/x/0",
                                  "/~1",
                                  "/x~2",
                                  "/name/a",
                                  "/0",
                                  "/-9",
                                  "a/b",
                                  "/"};
    hs_tree_t *p = hs_tree_new (HS_TREE_SEQ);
    size_t n = s_rand () % 6;
    for (size_t i = 0; i < n; i++) {
        hs_tree_t *op = hs_tree_new (HS_TREE_MAP);
        hs_tree_add (op, "op", hs_tree_scalar (ops[s_rand () % HS_ARRAY_LEN (ops)], true));
        hs_tree_add (op, "path", hs_tree_scalar (paths[s_rand () % HS_ARRAY_LEN (paths)], true));
        hs_tree_add (op, "from", hs_tree_scalar (paths[s_rand () % HS_ARRAY_LEN (paths)], true));
        if (s_rand () % 4) hs_tree_add (op, "value", s_random_tree (3));
        hs_tree_add (p, NULL, op);
    }
    return p;
}

static bool s_dollar_keys (const hs_tree_t *t)
{
    for (size_t i = 0; t && i < t->n; i++)
        if ((t->keys && t->keys[i][0] == '$') || s_dollar_keys (t->items[i])) return true;
    return false;
}

static void test_fuzz (void)
{
    int ok = 0, failed = 0;
    for (int i = 0; i < 20000; i++) {
        hs_tree_t *live = s_random_tree (0);
        api_patch_type_t type = (api_patch_type_t)(s_rand () % 4);
        hs_tree_t *patch =
            type == API_PATCH_JSON && s_rand () % 8 ? s_random_json_patch () : s_random_tree (0);
        hs_kind_t kind = (hs_kind_t)(s_rand () % (HS_KIND__COUNT + 1));
        char *before = s_text (live), *pbefore = s_text (patch);
        hs_tree_t *out = NULL;
        char *err = NULL;
        int rc = api_patch_apply (type, kind, live, patch, &out, &err);
        if (rc == 0) {
            CHECK (out != NULL && err == NULL);
            char *s = s_text (out);
            CHECK (s != NULL);
            /* no key starting with '$' survives a strategic merge */
            if (type == API_PATCH_STRATEGIC || type == API_PATCH_APPLY)
                CHECK (s_dollar_keys (live) || !s_dollar_keys (out));
            free (s);
            ok++;
        } else {
            CHECK (rc == API_PATCH_EBAD || rc == API_PATCH_EAPPLY);
            CHECK (out == NULL && err != NULL && *err);
            failed++;
        }
        /* inputs untouched */
        char *after = s_text (live), *pafter = s_text (patch);
        CHECK_EQ_STR (before, after);
        CHECK_EQ_STR (pbefore, pafter);
        free (before);
        free (after);
        free (pbefore);
        free (pafter);
        free (err);
        hs_tree_free (out);
        hs_tree_free (live);
        hs_tree_free (patch);
    }
    /* both outcomes were exercised */
    CHECK (ok > 1000);
    CHECK (failed > 1000);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"patch_type", test_patch_type},
        {"merge_rfc7386", test_merge_rfc7386},
        {"merge_kubectl", test_merge_kubectl},
        {"json_rfc6902", test_json_rfc6902},
        {"json_more", test_json_more},
        {"json_kubernetes", test_json_kubernetes},
        {"json_rollout_undo", test_json_rollout_undo},
        {"smp_kubectl", test_smp_kubectl},
        {"smp_lists", test_smp_lists},
        {"smp_order", test_smp_order},
        {"smp_errors", test_smp_errors},
        {"apply", test_apply},
        {"dup", test_dup},
        {"garbage", test_garbage},
        {"deep", test_deep},
        {"copy_limit", test_copy_limit},
        {"big", test_big},
        {"fuzz", test_fuzz},
    };
    return HS_TEST_RUN (tests);
}
