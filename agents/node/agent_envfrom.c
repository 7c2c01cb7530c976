/*  agent_envfrom.c: a container's variables from ConfigMaps, Secrets and
 *  its pod (see agent_envfrom.h). */
#include "agent_envfrom.h"

#include "hs_pb.h"
#include "hs_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int s_kv_cmp (const void *a, const void *b)
{
    return strcmp (((const agent_kv_t *)a)->key, ((const agent_kv_t *)b)->key);
}

static void s_kv_push (agent_kv_t **v, size_t *n, const char *key, const void *data, size_t len)
{
    *v = hs_realloc (*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = (agent_kv_t){key, data, len};
}

size_t agent_kv_list (const Hs__Object *o, agent_kv_t **ret)
{
    agent_kv_t *v = NULL;
    size_t n = 0;
    if (hs_obj_kind (o) == HS_KIND_CONFIGMAP && o->config_map) {
        const Hs__ConfigMap *cm = o->config_map;
        for (size_t i = 0; i < cm->n_data; i++)
            s_kv_push (&v, &n, cm->data[i]->key, cm->data[i]->value, strlen (cm->data[i]->value));
        for (size_t i = 0; i < cm->n_binary_data; i++)
            s_kv_push (&v, &n, cm->binary_data[i]->key, cm->binary_data[i]->value.data,
                       cm->binary_data[i]->value.len);
    } else if (hs_obj_kind (o) == HS_KIND_SECRET && o->secret) {
        const Hs__Secret *s = o->secret;
        for (size_t i = 0; i < s->n_data; i++)
            s_kv_push (&v, &n, s->data[i]->key, s->data[i]->value.data, s->data[i]->value.len);
        for (size_t i = 0; i < s->n_string_data; i++) {
            bool in_data = false;
            for (size_t j = 0; j < s->n_data && !in_data; j++)
                in_data = hs_streq (s->data[j]->key, s->string_data[i]->key);
            if (!in_data)
                s_kv_push (&v, &n, s->string_data[i]->key, s->string_data[i]->value,
                           strlen (s->string_data[i]->value));
        }
    }
    if (n > 1) qsort (v, n, sizeof *v, s_kv_cmp);
    *ret = v;
    return n;
}

const agent_kv_t *agent_kv_find (const agent_kv_t *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (hs_streq (kv[i].key, key)) return &kv[i];
    return NULL;
}

bool agent_env_name_valid (const char *name)
{
    if (hs_empty (name)) return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-' ||
                  c == '.' || (p != name && c >= '0' && c <= '9');
        if (!ok) return false;
    }
    return true;
}

/* metadata.labels['k'] / metadata.annotations['k'] (also with "): k, or NULL. */
static char *s_subscript (const char *path, const char *prefix)
{
    size_t pl = strlen (prefix);
    if (strncmp (path, prefix, pl) != 0) return NULL;
    const char *p = path + pl;
    size_t len = strlen (p);
    if (len < 4 || p[0] != '[' || p[len - 1] != ']') return NULL;
    char q = p[1];
    if ((q != '\'' && q != '"') || p[len - 2] != q) return NULL;
    return hs_strndup (p + 2, len - 4);
}

char *agent_env_field (const Hs__Pod *pod, const char *path, const char *pod_ip,
                       const char *host_ip)
{
    const Hs__ObjectMeta *m = pod->metadata;
    const Hs__PodSpec *sp = pod->spec;
    if (hs_streq (path, "metadata.name")) return hs_strdup (m ? hs_s (m->name) : "");
    if (hs_streq (path, "metadata.namespace"))
        return hs_strdup (m && !hs_empty (m->namespace_) ? m->namespace_ : "default");
    if (hs_streq (path, "metadata.uid")) return hs_strdup (m ? hs_s (m->uid) : "");
    if (hs_streq (path, "spec.nodeName")) return hs_strdup (sp ? hs_s (sp->node_name) : "");
    if (hs_streq (path, "spec.serviceAccountName")) return hs_strdup ("");
    if (hs_streq (path, "status.podIP")) return hs_strdup (hs_s (pod_ip));
    if (hs_streq (path, "status.hostIP")) return hs_strdup (hs_s (host_ip));
    _cleanup_free_ char *label = s_subscript (path, "metadata.labels");
    if (label)
        return hs_strdup (m ? hs_s (hs_pb_map_get ((void *const *)m->labels, m->n_labels, label))
                            : "");
    _cleanup_free_ char *ann = s_subscript (path, "metadata.annotations");
    if (ann)
        return hs_strdup (
            m ? hs_s (hs_pb_map_get ((void *const *)m->annotations, m->n_annotations, ann)) : "");
    return NULL;
}

typedef struct {
    char **v;
    size_t n;
} s_env_t;

static void s_put (s_env_t *e, const char *name, const void *data, size_t len)
{
    e->v = hs_realloc (e->v, (e->n + 2) * sizeof *e->v);
    size_t nl = strlen (name);
    char *kv = hs_malloc (nl + 1 + len + 1);
    memcpy (kv, name, nl);
    kv[nl] = '=';
    if (len) memcpy (kv + nl + 1, data, len);
    kv[nl + 1 + len] = '\0';
    e->v[e->n++] = kv;
    e->v[e->n] = NULL;
}

/* A ConfigMap's data value for env (data only, as kube), or NULL. */
static const char *s_cm_value (const Hs__ConfigMap *cm, const char *key)
{
    return hs_pb_map_get ((void *const *)cm->data, cm->n_data, key);
}

static const char *s_kind_word (hs_kind_t kind, bool lower)
{
    if (kind == HS_KIND_SECRET) return lower ? "secret" : "Secret";
    return lower ? "configmap" : "ConfigMap";
}

/* envFrom's source: every key, prefixed; invalid names into *skipped. */
static void s_env_from (s_env_t *e, const Hs__Object *o, const char *prefix, const char *ns,
                        const char *name, hs_buf_t *skipped)
{
    agent_kv_t *kv = NULL;
    size_t n = agent_kv_list (o, &kv);
    hs_buf_t bad = {0};
    hs_kind_t kind = hs_obj_kind (o);
    for (size_t i = 0; i < n; i++) {
        /* A ConfigMap's binaryData never becomes a variable. */
        if (kind == HS_KIND_CONFIGMAP && !s_cm_value (o->config_map, kv[i].key)) continue;
        _cleanup_free_ char *var = hs_sprintf ("%s%s", hs_s (prefix), kv[i].key);
        if (!agent_env_name_valid (var)) {
            hs_buf_printf (&bad, "%s%s", bad.len ? ", " : "", var);
            continue;
        }
        s_put (e, var, kv[i].data, kv[i].len);
    }
    free (kv);
    if (bad.len) {
        _cleanup_free_ char *list = hs_buf_take (&bad);
        hs_buf_printf (skipped,
                       "%sKeys [%s] from the EnvFrom %s %s/%s were skipped since they are "
                       "considered invalid environment variable names.",
                       skipped->len ? " " : "", list, s_kind_word (kind, true), ns, name);
    }
}

int agent_env_build (const agent_env_in_t *in, char ***ret_env, char **ret_skipped, char **ret_err)
{
    *ret_env = NULL;
    *ret_skipped = *ret_err = NULL;
    const Hs__Container *c = in->container;
    const Hs__ObjectMeta *m = in->pod->metadata;
    const char *ns = m && !hs_empty (m->namespace_) ? m->namespace_ : "default";
    s_env_t e = {0};
    hs_buf_t skipped = {0};
    char *err = NULL;
    int r = 0;
    for (size_t i = 0; i < c->n_env_from && !err; i++) {
        const Hs__EnvFromSource *f = c->env_from[i];
        hs_kind_t kind = f->secret_ref ? HS_KIND_SECRET : HS_KIND_CONFIGMAP;
        const char *name = f->secret_ref       ? f->secret_ref->name
                           : f->config_map_ref ? f->config_map_ref->name
                                               : NULL;
        bool optional = f->secret_ref       ? f->secret_ref->optional
                        : f->config_map_ref ? f->config_map_ref->optional
                                            : true;
        if (!name) continue; /* validation refuses it; nothing to take */
        if (kind == HS_KIND_SECRET && in->no_secrets) continue;
        const Hs__Object *o = in->lookup (in->arg, kind, ns, name);
        if (!o) {
            if (optional) continue;
            err = hs_sprintf ("%s \"%s\" not found", s_kind_word (kind, true), name);
            r = -ENOENT;
            break;
        }
        s_env_from (&e, o, f->prefix, ns, name, &skipped);
    }
    for (size_t i = 0; i < c->n_env && !err; i++) {
        const Hs__EnvVar *v = c->env[i];
        const Hs__EnvVarSource *from = v->value_from;
        if (!from || (!from->config_map_key_ref && !from->secret_key_ref && !from->field_ref)) {
            s_put (&e, v->name, hs_s (v->value), strlen (hs_s (v->value)));
            continue;
        }
        if (from->field_ref) {
            _cleanup_free_ char *val =
                agent_env_field (in->pod, from->field_ref->field_path, in->pod_ip, in->host_ip);
            if (!val) {
                err = hs_sprintf ("unsupported fieldRef %s for variable %s",
                                  hs_s (from->field_ref->field_path), v->name);
                r = -EINVAL;
                break;
            }
            s_put (&e, v->name, val, strlen (val));
            continue;
        }
        bool secret = from->secret_key_ref != NULL && from->config_map_key_ref == NULL;
        if (secret && in->no_secrets) continue;
        hs_kind_t kind = secret ? HS_KIND_SECRET : HS_KIND_CONFIGMAP;
        const char *name = secret ? from->secret_key_ref->name : from->config_map_key_ref->name;
        const char *key = secret ? from->secret_key_ref->key : from->config_map_key_ref->key;
        bool optional =
            secret ? from->secret_key_ref->optional : from->config_map_key_ref->optional;
        const Hs__Object *o = in->lookup (in->arg, kind, ns, name);
        if (!o) {
            if (optional) continue;
            err = hs_sprintf ("%s \"%s\" not found", s_kind_word (kind, true), hs_s (name));
            r = -ENOENT;
            break;
        }
        const void *data = NULL;
        size_t len = 0;
        if (secret) {
            agent_kv_t *kv = NULL;
            size_t n = agent_kv_list (o, &kv);
            const agent_kv_t *hit = agent_kv_find (kv, n, key);
            if (hit) data = hit->data, len = hit->len;
            bool found = hit != NULL;
            free (kv);
            if (!found) data = NULL;
            if (found && !data) data = "";
        } else {
            data = o->config_map ? s_cm_value (o->config_map, key) : NULL;
            len = data ? strlen (data) : 0;
        }
        if (!data) {
            if (optional) continue;
            err = hs_sprintf ("couldn't find key %s in %s %s/%s", hs_s (key),
                              s_kind_word (kind, false), ns, hs_s (name));
            r = -ENOENT;
            break;
        }
        s_put (&e, v->name, data, len);
    }
    if (err) {
        agent_env_free (e.v);
        hs_buf_free (&skipped);
        *ret_err = err;
        return r;
    }
    *ret_env = e.v ? e.v : hs_calloc (1, sizeof (char *));
    *ret_skipped = skipped.len ? hs_buf_take (&skipped) : NULL;
    hs_buf_free (&skipped);
    return 0;
}

void agent_env_free (char **env)
{
    for (size_t i = 0; env && env[i]; i++) free (env[i]);
    free (env);
}
