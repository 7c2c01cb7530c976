/*  test_api_status.c: Status objects with kubectl's texts (services/apiserver/api_status.c). */
#include "api.h"
#include "hs_test.h"
#include "hs_util.h"

#include <stdlib.h>
#include <string.h>

static char *s_json (const hs_tree_t *t)
{
    return hs_tree_to_text (t, HS_FMT_JSON | HS_FMT_COMPACT);
}

static void s_check (api_status_t *s, int http, const char *reason, const char *message,
                     const char *json)
{
    CHECK_EQ_INT (s->http, http);
    CHECK_EQ_STR (s->reason, reason);
    CHECK_EQ_STR (s->message, message);
    char *text = s_json (s->tree);
    CHECK_EQ_STR (text, json);
    free (text);
    api_status_free (s);
    CHECK (s->tree == NULL && s->message == NULL);
}

static api_status_t s_ack (Hs__Code code, const char *msg, hs_kind_t kind, const char *name)
{
    Hs__Ack ack = HS__ACK__INIT;
    ack.code = code;
    ack.message = (char *)msg;
    return api_status_from_ack (&ack, kind, name);
}

static void test_not_found_exists_conflict (void)
{
    api_status_t s = api_status_not_found (HS_KIND_POD, "x");
    s_check (&s, 404, "NotFound", "pods \"x\" not found",
             "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
             "\"message\":\"pods \\\"x\\\" not found\",\"reason\":\"NotFound\",\"details\":"
             "{\"name\":\"x\",\"kind\":\"pods\"},\"code\":404}");

    s = s_ack (HS__CODE__CODE_NOT_FOUND, "deployments.apps \"api\" not found", HS_KIND_DEPLOYMENT,
               "api");
    s_check (&s, 404, "NotFound", "deployments.apps \"api\" not found",
             "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
             "\"message\":\"deployments.apps \\\"api\\\" not found\",\"reason\":\"NotFound\","
             "\"details\":{\"name\":\"api\",\"group\":\"apps\",\"kind\":\"deployments\"},"
             "\"code\":404}");

    s = s_ack (HS__CODE__CODE_ALREADY_EXISTS, "pods \"p1\" already exists", HS_KIND_POD, "p1");
    s_check (&s, 409, "AlreadyExists", "pods \"p1\" already exists",
             "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
             "\"message\":\"pods \\\"p1\\\" already exists\",\"reason\":\"AlreadyExists\","
             "\"details\":{\"name\":\"p1\",\"kind\":\"pods\"},\"code\":409}");

    const char *stale = "Operation cannot be fulfilled on pods \"web\": the object has been "
                        "modified; please apply your changes to the latest version and try again";
    s = s_ack (HS__CODE__CODE_CONFLICT, stale, HS_KIND_POD, "web");
    CHECK_EQ_INT (s.http, 409);
    CHECK_EQ_STR (s.reason, "Conflict");
    CHECK_EQ_STR (s.message, stale);
    api_status_free (&s);

    s = s_ack (HS__CODE__CODE_CONFLICT, "pod \"web\" is being deleted", HS_KIND_POD, "web");
    CHECK_EQ_STR (s.message, "Operation cannot be fulfilled on pods \"web\": pod \"web\" is being "
                             "deleted");
    api_status_free (&s);

    s = api_status_not_found (API_KIND_NAMESPACE, "team");
    CHECK_EQ_STR (s.message, "namespaces \"team\" not found");
    api_status_free (&s);
}

static void test_invalid (void)
{
    api_status_t s = s_ack (HS__CODE__CODE_INVALID,
                            "Deployment \"bad\" is invalid: spec.replicas: Invalid value: -1: must "
                            "be greater than or equal to 0",
                            HS_KIND_DEPLOYMENT, "bad");
    s_check (&s, 422, "Invalid",
             "Deployment.apps \"bad\" is invalid: spec.replicas: Invalid value: -1: must be "
             "greater than or equal to 0",
             "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
             "\"message\":\"Deployment.apps \\\"bad\\\" is invalid: spec.replicas: Invalid value: "
             "-1: must be greater than or equal to 0\",\"reason\":\"Invalid\",\"details\":"
             "{\"name\":\"bad\",\"group\":\"apps\",\"kind\":\"Deployment\",\"causes\":[{\"reason\":"
             "\"FieldValueInvalid\",\"message\":\"Invalid value: -1: must be greater than or equal "
             "to 0\",\"field\":\"spec.replicas\"}]},\"code\":422}");

    /* several, with ", " inside a message (the DNS label text has it) */
    const char *several =
        "Pod \"Web\" is invalid: [metadata.name: Invalid value: \"Web\": a lowercase RFC 1123 "
        "subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start "
        "and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
        "'x'), spec.containers[0].name: Required value, spec.containers[0].ports[1]: Duplicate "
        "value: \"http\", metadata.labels[a/b]: Too long: must have at most 63 bytes, "
        "spec.dnsPolicy: Unsupported value: \"X\": supported values: \"ClusterFirst\", "
        "\"Default\", spec.volumes[0]: Forbidden: may not specify more than 1 volume type, "
        "spec.containers[0].env[0].valueFrom.configMapKeyRef.name: Not found: \"m\"]";
    s = s_ack (HS__CODE__CODE_INVALID, several, HS_KIND_POD, "");
    CHECK_EQ_INT (s.http, 422);
    CHECK (hs_startswith (s.message, "Pod \"Web\" is invalid: [metadata.name: Invalid value: "));
    const hs_tree_t *d = hs_tree_get (s.tree, "details");
    CHECK_EQ_STR (hs_tree_get (d, "name")->scalar, "Web");
    CHECK_EQ_STR (hs_tree_get (d, "kind")->scalar, "Pod");
    CHECK (hs_tree_get (d, "group") == NULL);
    const hs_tree_t *c = hs_tree_get (d, "causes");
    CHECK (c && c->n == 7);
    if (c && c->n == 7) {
        static const char *const want[7][3] = {
            {"FieldValueInvalid", "metadata.name", "Invalid value: \"Web\": a lowercase"},
            {"FieldValueRequired", "spec.containers[0].name", "Required value"},
            {"FieldValueDuplicate", "spec.containers[0].ports[1]", "Duplicate value: \"http\""},
            {"FieldValueTooLong", "metadata.labels[a/b]", "Too long: must have at most 63 bytes"},
            {"FieldValueNotSupported", "spec.dnsPolicy",
             "Unsupported value: \"X\": supported values: \"ClusterFirst\", \"Default\""},
            {"FieldValueForbidden", "spec.volumes[0]",
             "Forbidden: may not specify more than 1 volume type"},
            {"FieldValueNotFound", "spec.containers[0].env[0].valueFrom.configMapKeyRef.name",
             "Not found: \"m\""},
        };
        for (size_t i = 0; i < 7; i++) {
            CHECK_EQ_STR (hs_tree_get (c->items[i], "reason")->scalar, want[i][0]);
            CHECK_EQ_STR (hs_tree_get (c->items[i], "field")->scalar, want[i][1]);
            CHECK (hs_startswith (hs_tree_get (c->items[i], "message")->scalar, want[i][2]));
        }
        CHECK (!strchr (hs_tree_get (c->items[6], "message")->scalar, ']'));
        CHECK_CONTAINS (hs_tree_get (c->items[0], "message")->scalar, "'-' or '.', and must");
    }
    api_status_free (&s);

    /* not the validator's form: one cause with the whole text */
    s = s_ack (HS__CODE__CODE_INVALID,
               "Command: Too long: the envelope is 5000000 bytes: must be at most 4194304 bytes",
               HS_KIND_CONFIGMAP, "big");
    CHECK_EQ_STR (s.message, "ConfigMap \"big\" is invalid: Command: Too long: the envelope is "
                             "5000000 bytes: must be at most 4194304 bytes");
    c = hs_tree_get (hs_tree_get (s.tree, "details"), "causes");
    CHECK (c && c->n == 1);
    if (c && c->n == 1)
        CHECK_EQ_STR (hs_tree_get (c->items[0], "reason")->scalar, "FieldValueTooLong");
    api_status_free (&s);

    s = s_ack (HS__CODE__CODE_INVALID, "something odd", HS_KIND_JOB, "j");
    CHECK_EQ_STR (s.message, "Job.batch \"j\" is invalid: something odd");
    c = hs_tree_get (hs_tree_get (s.tree, "details"), "causes");
    CHECK (c && c->n == 1);
    api_status_free (&s);

    /* 40 errors: bounded, nothing lost from the message */
    hs_buf_t b = {0};
    hs_buf_puts (&b, "Pod \"p\" is invalid: [");
    for (int i = 0; i < 40; i++) hs_buf_printf (&b, "%sf%d: Required value", i ? ", " : "", i);
    hs_buf_puts (&b, "]");
    char *many = hs_buf_take (&b);
    s = s_ack (HS__CODE__CODE_INVALID, many, HS_KIND_POD, "p");
    c = hs_tree_get (hs_tree_get (s.tree, "details"), "causes");
    CHECK (c && c->n == 32);
    CHECK_CONTAINS (s.message, "f39: Required value]");
    api_status_free (&s);
    free (many);
}

static void test_other_codes (void)
{
    api_status_t s =
        s_ack (HS__CODE__CODE_FORBIDDEN,
               "pods \"m\" is forbidden: it is the mirror of a static pod", HS_KIND_POD, "m");
    CHECK_EQ_INT (s.http, 403);
    CHECK_EQ_STR (s.reason, "Forbidden");
    CHECK_EQ_STR (s.message, "pods \"m\" is forbidden: it is the mirror of a static pod");
    api_status_free (&s);

    s = s_ack (HS__CODE__CODE_UNAVAILABLE, "store cannot write: No space left on device",
               HS_KIND_POD, "m");
    CHECK_EQ_INT (s.http, 503);
    CHECK_EQ_STR (s.reason, "ServiceUnavailable");
    api_status_free (&s);

    s = s_ack (HS__CODE__CODE_INTERNAL, "boom", HS_KIND_POD, "m");
    CHECK_EQ_INT (s.http, 500);
    CHECK_EQ_STR (s.reason, "InternalError");
    CHECK_EQ_STR (s.message, "Internal error occurred: boom");
    api_status_free (&s);

    s = api_status_from_ack (NULL, HS_KIND_POD, "m");
    CHECK_EQ_INT (s.http, 500);
    api_status_free (&s);

    s = api_status_fmt (415, "UnsupportedMediaType", "protobuf bodies are not supported by %s",
                        "Homeostat");
    s_check (&s, 415, "UnsupportedMediaType", "protobuf bodies are not supported by Homeostat",
             "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
             "\"message\":\"protobuf bodies are not supported by Homeostat\",\"reason\":"
             "\"UnsupportedMediaType\",\"details\":{},\"code\":415}");

    api_cause_t cause = {
        .type = "FieldValueRequired", .field = "spec", .message = "Required value"};
    s = api_status_new (422, "Invalid", "x", HS_KIND_JOB, "j", &cause, 1);
    char *text = s_json (s.tree);
    CHECK_CONTAINS (text, "\"details\":{\"name\":\"j\",\"group\":\"batch\",\"kind\":\"Job\","
                          "\"causes\":[{\"reason\":\"FieldValueRequired\",\"message\":"
                          "\"Required value\",\"field\":\"spec\"}]}");
    free (text);
    api_status_free (&s);
    api_status_free (&s);
    api_status_free (NULL);

    hs_tree_t *ok = api_status_success (HS_KIND_DEPLOYMENT, "api", "u-1");
    text = s_json (ok);
    CHECK_EQ_STR (text, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                        "\"Success\",\"details\":{\"name\":\"api\",\"group\":\"apps\",\"kind\":"
                        "\"deployments\",\"uid\":\"u-1\"}}");
    free (text);
    hs_tree_free (ok);
    ok = api_status_success (HS_KIND_NONE, NULL, NULL);
    text = s_json (ok);
    CHECK_EQ_STR (text, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                        "\"Success\"}");
    free (text);
    hs_tree_free (ok);
}

/* Store texts of any shape: never a crash, always a 422 with causes. */
static void test_fuzz_invalid (void)
{
    static const char *const parts[] = {
        "Pod \"p\" is invalid: ",
        "[",
        "]",
        ", ",
        ": ",
        "spec.x",
        "Invalid value",
        "Required value",
        "\"",
        "a b",
        "Forbidden",
        ",",
        ":",
        "",
        "metadata.labels[a, b]",
        " is invalid: ",
    };
    uint32_t seed = 7;
    for (int round = 0; round < 5000; round++) {
        hs_buf_t b = {0};
        seed = seed * 1103515245u + 12345u;
        int n = (int)((seed >> 16) % 12);
        for (int i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            hs_buf_puts (&b, parts[(seed >> 16) % HS_ARRAY_LEN (parts)]);
        }
        char *msg = hs_buf_take (&b);
        api_status_t s =
            s_ack (HS__CODE__CODE_INVALID, msg ? msg : "", HS_KIND_POD, (round & 1) ? "p" : "");
        CHECK_EQ_INT (s.http, 422);
        const hs_tree_t *c = hs_tree_get (hs_tree_get (s.tree, "details"), "causes");
        CHECK (c && c->n >= 1 && c->n <= 32);
        api_status_free (&s);
        free (msg);
    }
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"not_found_exists_conflict", test_not_found_exists_conflict},
        {"invalid", test_invalid},
        {"other_codes", test_other_codes},
        {"fuzz_invalid", test_fuzz_invalid},
    };
    return HS_TEST_RUN (tests);
}
