/*  api_status.c: Kubernetes' Status objects (services/apiserver/api.h).
 *
 *  Every error the gateway answers is a meta/v1 Status whose texts are the
 *  ones kubectl prints (docs/architecture.md §24). Two details matter:
 *    - details.kind is the plural resource ("pods", group "apps") for
 *      NotFound, AlreadyExists and Conflict, but the Kind ("Deployment") for
 *      Invalid: kubectl prints `The Deployment "bad" is invalid: ...` from
 *      details.kind, details.name and the causes;
 *    - the store's INVALID text (bus/hs_validate.c) is one line,
 *      `Deployment "bad" is invalid: spec.replicas: Invalid value: -1: ...`
 *      or `... is invalid: [first, second]`; it is split back into causes
 *      (field, FieldValue* reason, message), as the apiserver's field.Error
 *      list would give them.
 *  Pure: no socket, no clock.
 */
#include "api.h"
#include "hs_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hs_tree_t *s_str (const char *s)
{
    return hs_tree_scalar (hs_s (s), true);
}

static hs_tree_t *s_int (int v)
{
    char buf[16];
    snprintf (buf, sizeof buf, "%d", v);
    return hs_tree_scalar (buf, false);
}

/* The names a Status uses for kind: plural, Kind and group. The synthesized
 * Namespace kind has no hs_kind_info. false for HS_KIND_NONE. */
static bool s_names (hs_kind_t kind, const char **ret_plural, const char **ret_kind,
                     const char **ret_group)
{
    if (kind == API_KIND_NAMESPACE) {
        *ret_plural = "namespaces";
        *ret_kind = "Namespace";
        *ret_group = "";
        return true;
    }
    const hs_kind_info_t *info = hs_kind_info (kind);
    if (!info) return false;
    *ret_plural = info->plural;
    *ret_kind = info->kind_name;
    *ret_group = info->group;
    return true;
}

/* "pods" or "deployments.apps", as Kubernetes' messages name a resource. */
static const char *s_resource (hs_kind_t kind)
{
    return kind == API_KIND_NAMESPACE ? "namespaces" : hs_kind_resource (kind);
}

static hs_tree_t *s_status_head (const char *status)
{
    hs_tree_t *t = hs_tree_new (HS_TREE_MAP);
    hs_tree_add (t, "kind", s_str ("Status"));
    hs_tree_add (t, "apiVersion", s_str ("v1"));
    hs_tree_add (t, "metadata", hs_tree_new (HS_TREE_MAP));
    hs_tree_add (t, "status", s_str (status));
    return t;
}

api_status_t api_status_new (int http, const char *reason, const char *message,
                             hs_kind_t details_kind, const char *details_name,
                             const api_cause_t *causes, size_t n_causes)
{
    api_status_t s = {.http = http, .reason = reason, .message = hs_strdup (hs_s (message))};
    hs_tree_t *t = s_status_head ("Failure");
    hs_tree_add (t, "message", s_str (s.message));
    if (!hs_empty (reason)) hs_tree_add (t, "reason", s_str (reason));

    const char *plural = NULL, *kname = NULL, *group = NULL;
    bool have_kind = s_names (details_kind, &plural, &kname, &group);
    /* always a details map, as kube-apiserver sends ("details":{} on a 404
     * for an unknown path): kubectl 1.32's debug dereferences it */
    {
        hs_tree_t *d = hs_tree_new (HS_TREE_MAP);
        if (!hs_empty (details_name)) hs_tree_add (d, "name", s_str (details_name));
        if (have_kind && !hs_empty (group)) hs_tree_add (d, "group", s_str (group));
        if (have_kind)
            hs_tree_add (d, "kind", s_str (hs_streq (reason, "Invalid") ? kname : plural));
        if (n_causes) {
            hs_tree_t *cs = hs_tree_new (HS_TREE_SEQ);
            for (size_t i = 0; i < n_causes; i++) {
                hs_tree_t *c = hs_tree_new (HS_TREE_MAP);
                if (!hs_empty (causes[i].type)) hs_tree_add (c, "reason", s_str (causes[i].type));
                if (!hs_empty (causes[i].message))
                    hs_tree_add (c, "message", s_str (causes[i].message));
                if (!hs_empty (causes[i].field)) hs_tree_add (c, "field", s_str (causes[i].field));
                hs_tree_add (cs, NULL, c);
            }
            hs_tree_add (d, "causes", cs);
        }
        hs_tree_add (t, "details", d);
    }
    hs_tree_add (t, "code", s_int (http));
    s.tree = t;
    return s;
}

api_status_t api_status_fmt (int http, const char *reason, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    char *msg = NULL;
    if (vasprintf (&msg, fmt, ap) < 0) abort ();
    va_end (ap);
    api_status_t s = api_status_new (http, reason, msg, HS_KIND_NONE, NULL, NULL, 0);
    free (msg);
    return s;
}

api_status_t api_status_not_found (hs_kind_t kind, const char *name)
{
    char *msg = hs_sprintf ("%s \"%s\" not found", s_resource (kind), hs_s (name));
    api_status_t s = api_status_new (404, "NotFound", msg, kind, name, NULL, 0);
    free (msg);
    return s;
}

/* ------------------------------------------------------------------ INVALID -> causes */

/* field.ErrorType's texts (k8s.io/apimachinery/pkg/util/validation/field)
 * and their cause reasons. */
static const struct {
    const char *text;
    const char *reason;
} s_types[] = {
    {"Not found", "FieldValueNotFound"},
    {"Required value", "FieldValueRequired"},
    {"Duplicate value", "FieldValueDuplicate"},
    {"Invalid value", "FieldValueInvalid"},
    {"Unsupported value", "FieldValueNotSupported"},
    {"Forbidden", "FieldValueForbidden"},
    {"Too long", "FieldValueTooLong"},
    {"Too many", "FieldValueTooMany"},
    {"Internal error", "InternalError"},
};

/* The error type whose text starts s and ends there, at ':' or at the ','
 * before the next error ("Required value" has no detail); NULL if none. */
static const char *s_type_at (const char *s)
{
    for (size_t i = 0; i < HS_ARRAY_LEN (s_types); i++) {
        size_t l = strlen (s_types[i].text);
        if (!strncmp (s, s_types[i].text, l) && (s[l] == '\0' || s[l] == ':' || s[l] == ','))
            return s_types[i].reason;
    }
    return NULL;
}

/* Whether s is `<field>: <Type>`: a field path (no space, no ", ") then
 * ": " and a known type. *ret_field_len gets the path's length. */
static const char *s_error_at (const char *s, size_t *ret_field_len)
{
    const char *colon = strstr (s, ": ");
    if (!colon || colon == s) return NULL;
    for (const char *p = s; p < colon; p++)
        if (*p == ' ') return NULL;
    const char *type = s_type_at (colon + 2);
    if (type) *ret_field_len = (size_t)(colon - s);
    return type;
}

/* One store error text -> cause (its strings point into storage the caller
 * frees: *owned gets the copies). */
static void s_cause (const char *text, size_t len, api_cause_t *ret, char **owned)
{
    char *e = hs_strndup (text, len);
    *owned = e;
    size_t fl = 0;
    const char *type = s_error_at (e, &fl);
    if (type) {
        e[fl] = '\0';
        *ret = (api_cause_t){.type = type, .field = e, .message = e + fl + 2};
    } else if ((type = s_type_at (e))) {
        *ret = (api_cause_t){.type = type, .field = "", .message = e};
    } else {
        *ret = (api_cause_t){.type = "FieldValueInvalid", .field = "", .message = e};
    }
}

/* Splits the list after "is invalid: " ("a: T: x" or "[a: T: x, b: T: y]")
 * where ", " starts another `<field>: <Type>`; messages themselves hold
 * ", " (DNS_LABEL_MSG does). At most max causes. */
static size_t s_split_causes (const char *list, api_cause_t *causes, char **owned, size_t max)
{
    size_t len = strlen (list);
    if (len >= 2 && list[0] == '[' && list[len - 1] == ']' && s_error_at (list + 1, &(size_t){0})) {
        list++;
        len -= 2;
    }
    size_t n = 0, start = 0;
    for (size_t i = 0; i + 2 <= len && n + 1 < max; i++) {
        if (list[i] != ',' || list[i + 1] != ' ') continue;
        size_t fl;
        /* the candidate must end inside the list (the ']' is cut off) */
        char *rest = hs_strndup (list + i + 2, len - i - 2);
        bool split = s_error_at (rest, &fl) != NULL;
        free (rest);
        if (!split) continue;
        s_cause (list + start, i - start, &causes[n], &owned[n]);
        n++;
        start = i + 2;
    }
    s_cause (list + start, len - start, &causes[n], &owned[n]);
    return n + 1;
}

#define S_MAX_CAUSES 32

static api_status_t s_invalid (const char *store_msg, hs_kind_t kind, const char *name)
{
    const char *msg = hs_s (store_msg);
    const char *plural = NULL, *kname = NULL, *group = NULL;
    if (!s_names (kind, &plural, &kname, &group)) kname = "Object", group = "";

    /* `Kind "name" is invalid: LIST`: the list, and the name if the caller
     * had none (generateName). */
    const char *list = msg;
    char *parsed_name = NULL;
    const char *inv = strstr (msg, " is invalid: ");
    if (inv) {
        list = inv + strlen (" is invalid: ");
        const char *q1 = memchr (msg, '"', (size_t)(inv - msg));
        if (q1 && inv > q1 + 1 && inv[-1] == '"')
            parsed_name = hs_strndup (q1 + 1, (size_t)(inv - 1 - (q1 + 1)));
    }
    if (hs_empty (name)) name = parsed_name;

    api_cause_t causes[S_MAX_CAUSES];
    char *owned[S_MAX_CAUSES] = {0};
    size_t n = s_split_causes (list, causes, owned, S_MAX_CAUSES);

    /* Kubernetes qualifies the Kind with its group: Deployment.apps "bad". */
    char *text = hs_sprintf ("%s%s%s \"%s\" is invalid: %s", kname, hs_empty (group) ? "" : ".",
                             hs_s (group), hs_s (name), list);
    api_status_t s = api_status_new (422, "Invalid", text, kind, name, causes, n);
    free (text);
    for (size_t i = 0; i < n; i++) free (owned[i]);
    free (parsed_name);
    return s;
}

api_status_t api_status_from_ack (const Hs__Ack *ack, hs_kind_t kind, const char *name)
{
    const char *msg = ack ? hs_s (ack->message) : "";
    Hs__Code code = ack ? ack->code : HS__CODE__CODE_INTERNAL;
    switch (code) {
    case HS__CODE__CODE_INVALID: return s_invalid (msg, kind, name);
    case HS__CODE__CODE_NOT_FOUND:
        if (hs_empty (name)) return api_status_new (404, "NotFound", msg, kind, NULL, NULL, 0);
        return api_status_not_found (kind, name);
    case HS__CODE__CODE_ALREADY_EXISTS: {
        char *m = hs_sprintf ("%s \"%s\" already exists", s_resource (kind), hs_s (name));
        api_status_t s = api_status_new (409, "AlreadyExists", m, kind, name, NULL, 0);
        free (m);
        return s;
    }
    case HS__CODE__CODE_CONFLICT: {
        /* The store's stale-revision text is already kubectl's; its other
         * conflicts ("pod is being deleted") get the same frame. */
        char *m = hs_startswith (msg, "Operation cannot be fulfilled")
                      ? hs_strdup (msg)
                      : hs_sprintf ("Operation cannot be fulfilled on %s \"%s\": %s",
                                    s_resource (kind), hs_s (name), msg);
        api_status_t s = api_status_new (409, "Conflict", m, kind, name, NULL, 0);
        free (m);
        return s;
    }
    case HS__CODE__CODE_FORBIDDEN:
        return api_status_new (403, "Forbidden", msg, kind, name, NULL, 0);
    case HS__CODE__CODE_UNAVAILABLE:
        return api_status_new (503, "ServiceUnavailable",
                               hs_empty (msg) ? "the store is unavailable" : msg, HS_KIND_NONE,
                               NULL, NULL, 0);
    case HS__CODE__CODE_OK:
    case HS__CODE__CODE_INTERNAL:
    default: {
        char *m = hs_sprintf ("Internal error occurred: %s",
                              hs_empty (msg) ? "the store gave no answer" : msg);
        api_status_t s = api_status_new (500, "InternalError", m, HS_KIND_NONE, NULL, NULL, 0);
        free (m);
        return s;
    }
    }
}

hs_tree_t *api_status_success (hs_kind_t kind, const char *name, const char *uid)
{
    hs_tree_t *t = s_status_head ("Success");
    const char *plural = NULL, *kname = NULL, *group = NULL;
    bool have_kind = s_names (kind, &plural, &kname, &group);
    if (have_kind || !hs_empty (name) || !hs_empty (uid)) {
        hs_tree_t *d = hs_tree_new (HS_TREE_MAP);
        if (!hs_empty (name)) hs_tree_add (d, "name", s_str (name));
        if (have_kind && !hs_empty (group)) hs_tree_add (d, "group", s_str (group));
        if (have_kind) hs_tree_add (d, "kind", s_str (plural));
        if (!hs_empty (uid)) hs_tree_add (d, "uid", s_str (uid));
        hs_tree_add (t, "details", d);
    }
    return t;
}

void api_status_free (api_status_t *s)
{
    if (!s) return;
    free (s->message);
    hs_tree_free (s->tree);
    s->message = NULL;
    s->tree = NULL;
}
