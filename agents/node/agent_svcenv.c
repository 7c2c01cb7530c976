/*  agent_svcenv.c: Service environment variables (see agent_svcenv.h). */
#include "agent_svcenv.h"

#include "hs_obj.h"
#include "hs_util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

bool agent_svcenv_enabled (const Hs__PodSpec *spec)
{
    return !spec || !spec->enable_service_links || spec->enable_service_links->value;
}

char *agent_svcenv_name (const char *name)
{
    size_t len = strlen (name);
    bool digit = len > 0 && isdigit ((unsigned char)name[0]);
    char *out = hs_malloc (len + 2);
    size_t k = 0;
    if (digit) out[k++] = '_';
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        out[k++] = c == '-' || c == '.' ? '_' : (char)toupper ((unsigned char)c);
    }
    out[k] = '\0';
    return out;
}

typedef struct {
    char **v;
    size_t n;
} s_env_t;

static void s_put (s_env_t *e, char *kv /* taken */)
{
    e->v = hs_realloc (e->v, (e->n + 2) * sizeof *e->v);
    e->v[e->n++] = kv;
    e->v[e->n] = NULL;
}

/* The protocol lower-case ("tcp" by default) into buf. */
static const char *s_proto (const Hs__ServicePort *p, char *buf, size_t len, bool upper)
{
    const char *proto = hs_empty (p->protocol) ? "TCP" : p->protocol;
    size_t i = 0;
    for (; proto[i] && i + 1 < len; i++)
        buf[i] =
            (char)(upper ? toupper ((unsigned char)proto[i]) : tolower ((unsigned char)proto[i]));
    buf[i] = '\0';
    return buf;
}

static void s_service (s_env_t *e, const Hs__Service *svc)
{
    const Hs__ServiceSpec *spec = svc->spec;
    const char *ip = spec->cluster_ip;
    _cleanup_free_ char *name = agent_svcenv_name (svc->metadata->name);
    s_put (e, hs_sprintf ("%s_SERVICE_HOST=%s", name, ip));
    if (spec->n_ports == 0) return;
    s_put (e, hs_sprintf ("%s_SERVICE_PORT=%d", name, spec->ports[0]->port));
    for (size_t i = 0; i < spec->n_ports; i++) {
        const Hs__ServicePort *p = spec->ports[i];
        if (hs_empty (p->name)) continue;
        _cleanup_free_ char *pn = agent_svcenv_name (p->name);
        s_put (e, hs_sprintf ("%s_SERVICE_PORT_%s=%d", name, pn, p->port));
    }
    for (size_t i = 0; i < spec->n_ports; i++) {
        const Hs__ServicePort *p = spec->ports[i];
        char lo[16], up[16];
        s_proto (p, lo, sizeof lo, false);
        s_proto (p, up, sizeof up, true);
        if (i == 0) s_put (e, hs_sprintf ("%s_PORT=%s://%s:%d", name, lo, ip, p->port));
        _cleanup_free_ char *pre = hs_sprintf ("%s_PORT_%d_%s", name, p->port, up);
        s_put (e, hs_sprintf ("%s=%s://%s:%d", pre, lo, ip, p->port));
        s_put (e, hs_sprintf ("%s_PROTO=%s", pre, lo));
        s_put (e, hs_sprintf ("%s_PORT=%d", pre, p->port));
        s_put (e, hs_sprintf ("%s_ADDR=%s", pre, ip));
    }
}

char **agent_svcenv_build (const char *ns, const Hs__Object *const *objs, size_t n)
{
    if (hs_empty (ns)) ns = "default";
    s_env_t e = {0};
    for (size_t i = 0; i < n; i++) {
        if (hs_obj_kind (objs[i]) != HS_KIND_SERVICE) continue;
        const Hs__Service *svc = objs[i]->service;
        if (!svc || !svc->metadata || !svc->spec || hs_empty (svc->metadata->name)) continue;
        const char *sns =
            hs_empty (svc->metadata->namespace_) ? "default" : svc->metadata->namespace_;
        if (strcmp (sns, ns) != 0) continue;
        const char *ip = svc->spec->cluster_ip;
        if (hs_empty (ip) || !strcmp (ip, "None")) continue;
        s_service (&e, svc);
    }
    return e.v;
}

void agent_svcenv_free (char **env)
{
    for (size_t i = 0; env && env[i]; i++) free (env[i]);
    free (env);
}
