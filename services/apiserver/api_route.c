/*  api_route.c: Kubernetes' URL paths and query strings -> api_route_t
 *  (pure; services/apiserver/api.h).
 *
 *  The shapes served (notes/kube-api.md §1, §2):
 *    /version  /api  /apis  /apis/G  /api/v1  /apis/G/V
 *    /openapi/v3  /openapi/v3/api/v1  /openapi/v3/apis/G/V  /openapi/v2
 *    /healthz  /livez  /readyz
 *    PREFIX/R                          every namespace, or a cluster-scoped kind
 *    PREFIX/R/NAME[/SUB]               cluster-scoped kinds (nodes)
 *    PREFIX/namespaces/NS/R[/NAME[/SUB]]
 *    /api/v1/namespaces[/NS[/status]]  synthesized Namespaces
 *  where PREFIX is /api/v1 for the core group and /apis/G/V for the others,
 *  and R is a kind's plural (hs_kind_info) served under exactly that group
 *  and version: /apis/apps/v1/namespaces/NS/pods is unknown, as in
 *  Kubernetes. A subresource must be one this kind has (pods: status, log,
 *  eviction, exec; deployments, replicasets: scale, status; jobs, nodes,
 *  services, horizontalpodautoscalers: status). One trailing '/' is tolerated; an empty segment, a
 *  name "." or "..", or a name longer than Kubernetes allows is not.
 */
#include "api.h"
#include "hs_util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_SEGS      10
#define MAX_NAME_LEN  253 /* a DNS subdomain */
#define MAX_NS_LEN    63  /* a DNS label */
#define MAX_GROUP_LEN 253

static bool s_name_ok (const char *s, size_t max)
{
    size_t n = strlen (s);
    return n > 0 && n <= max && strcmp (s, ".") != 0 && strcmp (s, "..") != 0;
}

/* The kind whose plural is res, served at group/version; HS_KIND_NONE. */
static hs_kind_t s_kind (const char *group, const char *version, const char *res)
{
    for (int k = HS_KIND_NONE + 1; k < HS_KIND__COUNT; k++) {
        const hs_kind_info_t *ki = hs_kind_info ((hs_kind_t)k);
        if (!ki || strcmp (ki->plural, res) != 0 || strcmp (ki->group, group) != 0) continue;
        const char *slash = strchr (ki->api_version, '/');
        const char *v = slash ? slash + 1 : ki->api_version;
        return strcmp (v, version) == 0 ? (hs_kind_t)k : HS_KIND_NONE;
    }
    return HS_KIND_NONE;
}

static bool s_sub_ok (hs_kind_t kind, const char *sub)
{
    static const struct {
        hs_kind_t kind;
        const char *sub;
    } subs[] = {
        {HS_KIND_POD, "status"},       {HS_KIND_POD, "log"},
        {HS_KIND_POD, "eviction"},     {HS_KIND_POD, "exec"},
        {HS_KIND_DEPLOYMENT, "scale"}, {HS_KIND_DEPLOYMENT, "status"},
        {HS_KIND_REPLICASET, "scale"}, {HS_KIND_REPLICASET, "status"},
        {HS_KIND_JOB, "status"},       {HS_KIND_NODE, "status"},
        {HS_KIND_SERVICE, "status"},   {API_KIND_NAMESPACE, "status"},
        {HS_KIND_HPA, "status"},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (subs); i++)
        if (subs[i].kind == kind && strcmp (subs[i].sub, sub) == 0) return true;
    return false;
}

/* The resource part after PREFIX: seg[0..n). */
static void s_resource (const char *group, const char *version, char **seg, size_t n,
                        api_route_t *r)
{
    if (n == 0) return;
    bool core = group[0] == '\0';
    if (strcmp (seg[0], "namespaces") == 0) {
        if (n == 1 && core) { /* every Namespace */
            r->kind = API_KIND_NAMESPACE;
            r->path = API_PATH_RESOURCE;
            return;
        }
        if (n == 1 || !s_name_ok (seg[1], MAX_NS_LEN)) return;
        if (n == 2 || (n == 3 && strcmp (seg[2], "status") == 0)) {
            if (!core) return;
            r->kind = API_KIND_NAMESPACE;
            r->name = seg[1];
            if (n == 3) r->sub = seg[2];
            r->path = API_PATH_RESOURCE;
            return;
        }
        if (n > 5) return;
        hs_kind_t k = s_kind (group, version, seg[2]);
        const hs_kind_info_t *ki = hs_kind_info (k);
        if (!ki || !ki->namespaced) return;
        if (n >= 4 && !s_name_ok (seg[3], MAX_NAME_LEN)) return;
        if (n == 5 && !s_sub_ok (k, seg[4])) return;
        r->kind = k;
        r->ns = seg[1];
        if (n >= 4) r->name = seg[3];
        if (n == 5) r->sub = seg[4];
        r->path = API_PATH_RESOURCE;
        return;
    }
    if (n > 3) return;
    hs_kind_t k = s_kind (group, version, seg[0]);
    const hs_kind_info_t *ki = hs_kind_info (k);
    if (!ki) return;
    /* a namespaced kind: only its all-namespaces collection lives here */
    if (ki->namespaced && n > 1) return;
    if (n >= 2 && !s_name_ok (seg[1], MAX_NAME_LEN)) return;
    if (n == 3 && !s_sub_ok (k, seg[2])) return;
    r->kind = k;
    if (n >= 2) r->name = seg[1];
    if (n == 3) r->sub = seg[2];
    r->path = API_PATH_RESOURCE;
}

/* Discovery and resources under /api and /apis. */
static void s_api (char **seg, size_t n, api_route_t *r)
{
    if (strcmp (seg[0], "api") == 0) {
        if (n == 1) {
            r->path = API_PATH_API;
            return;
        }
        if (strcmp (seg[1], "v1") != 0) return;
        r->version = seg[1];
        if (n == 2)
            r->path = API_PATH_GV;
        else
            s_resource ("", seg[1], seg + 2, n - 2, r);
        return;
    }
    /* /apis */
    if (n == 1) {
        r->path = API_PATH_APIS;
        return;
    }
    if (!s_name_ok (seg[1], MAX_GROUP_LEN)) return;
    r->group = seg[1];
    if (n == 2) {
        r->path = API_PATH_GROUP;
        return;
    }
    if (!s_name_ok (seg[2], 63)) return;
    r->version = seg[2];
    if (n == 3)
        r->path = API_PATH_GV;
    else
        s_resource (seg[1], seg[2], seg + 3, n - 3, r);
}

static void s_openapi (char **seg, size_t n, api_route_t *r)
{
    if (n == 2 && strcmp (seg[1], "v2") == 0) {
        r->path = API_PATH_OPENAPI_V2;
        return;
    }
    if (strcmp (seg[1], "v3") != 0) return;
    if (n == 2) {
        r->path = API_PATH_OPENAPI_V3;
    } else if (n == 4 && strcmp (seg[2], "api") == 0 && strcmp (seg[3], "v1") == 0) {
        r->version = seg[3];
        r->path = API_PATH_OPENAPI_GV;
    } else if (n == 5 && strcmp (seg[2], "apis") == 0 && s_name_ok (seg[3], MAX_GROUP_LEN) &&
               s_name_ok (seg[4], 63)) {
        r->group = seg[3];
        r->version = seg[4];
        r->path = API_PATH_OPENAPI_GV;
    }
}

void api_route_parse (api_method_t method, const char *path, api_route_t *ret, char **ret_buf)
{
    (void)method; /* which methods a route takes is the handlers' business */
    *ret = (api_route_t){API_PATH_UNKNOWN, "", "", HS_KIND_NONE, "", "", ""};
    *ret_buf = NULL;
    if (!path || path[0] != '/') return;
    char *buf = hs_strdup (path + 1);
    *ret_buf = buf;
    size_t len = strlen (buf);
    if (len > 0 && buf[len - 1] == '/') buf[--len] = '\0';
    if (len == 0) return;
    char *seg[MAX_SEGS];
    size_t n = 0;
    for (char *p = buf;;) {
        if (n == MAX_SEGS) return;
        seg[n++] = p;
        char *slash = strchr (p, '/');
        if (!slash) break;
        *slash = '\0';
        p = slash + 1;
    }
    for (size_t i = 0; i < n; i++)
        if (seg[i][0] == '\0') return;
    if (n == 1) {
        if (strcmp (seg[0], "version") == 0)
            ret->path = API_PATH_VERSION;
        else if (strcmp (seg[0], "healthz") == 0 || strcmp (seg[0], "livez") == 0 ||
                 strcmp (seg[0], "readyz") == 0)
            ret->path = API_PATH_HEALTH;
    }
    if (strcmp (seg[0], "api") == 0 || strcmp (seg[0], "apis") == 0) {
        s_api (seg, n, ret);
    } else if (strcmp (seg[0], "openapi") == 0 && n >= 2) {
        s_openapi (seg, n, ret);
    }
    if (ret->path == API_PATH_UNKNOWN)
        *ret = (api_route_t){API_PATH_UNKNOWN, "", "", HS_KIND_NONE, "", "", ""};
}

/* ------------------------------------------------------------ queries */

static int s_hex (int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower (c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Decodes s[0..n): '+' is a space, %XX a byte; a malformed % stays as it is. */
static char *s_decode (const char *s, size_t n)
{
    char *out = hs_malloc (n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] == '%' && i + 2 < n && s_hex (s[i + 1]) >= 0 && s_hex (s[i + 2]) >= 0) {
            *o++ = (char)(s_hex (s[i + 1]) * 16 + s_hex (s[i + 2]));
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

void api_query_parse (const char *text, api_query_t *q)
{
    *q = (api_query_t){NULL, NULL, 0};
    if (!text) return;
    size_t cap = 0;
    for (const char *p = text; *p;) {
        size_t len = strcspn (p, "&");
        if (len > 0) {
            const char *eq = memchr (p, '=', len);
            size_t klen = eq ? (size_t)(eq - p) : len;
            if (q->n == cap) {
                cap = cap ? cap * 2 : 8;
                q->keys = hs_realloc (q->keys, cap * sizeof *q->keys);
                q->values = hs_realloc (q->values, cap * sizeof *q->values);
            }
            q->keys[q->n] = s_decode (p, klen);
            q->values[q->n] = eq ? s_decode (eq + 1, len - klen - 1) : hs_strdup ("");
            q->n++;
        }
        p += len;
        if (*p == '&') p++;
    }
}

void api_query_free (api_query_t *q)
{
    for (size_t i = 0; i < q->n; i++) {
        free (q->keys[i]);
        free (q->values[i]);
    }
    free (q->keys);
    free (q->values);
    *q = (api_query_t){NULL, NULL, 0};
}

const char *api_query_get (const api_query_t *q, const char *key)
{
    for (size_t i = q->n; i-- > 0;)
        if (strcmp (q->keys[i], key) == 0) return q->values[i];
    return NULL;
}

bool api_query_bool (const api_query_t *q, const char *key, bool dflt)
{
    const char *v = api_query_get (q, key);
    if (!v) return dflt;
    return strcasecmp (v, "true") == 0 || strcmp (v, "1") == 0;
}
