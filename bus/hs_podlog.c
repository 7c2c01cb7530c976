/*  hs_podlog.c: see hs_podlog.h. */
#include "hs_podlog.h"

#include "hs_client.h"
#include "hs_util.h"

#include <string.h>

const char *hs_podlog_container (const Hs__Pod *pod, const char *pod_name, const char *want,
                                 char **ret_error)
{
    const Hs__PodSpec *spec = pod->spec;
    size_t n = spec ? spec->n_containers : 0;
    if (!hs_empty (want)) {
        for (size_t i = 0; i < n; i++)
            if (hs_streq (spec->containers[i]->name, want)) return spec->containers[i]->name;
        *ret_error = hs_sprintf ("container %s is not valid for pod %s", want, pod_name);
        return NULL;
    }
    if (n == 1) return spec->containers[0]->name;
    hs_buf_t b = {0};
    for (size_t i = 0; i < n; i++)
        hs_buf_printf (&b, "%s%s", i ? " " : "", spec->containers[i]->name);
    _cleanup_free_ char *list = hs_buf_take (&b);
    *ret_error = hs_sprintf ("a container name must be specified for pod %s, choose one of: [%s]",
                             pod_name, list);
    return NULL;
}

const char *hs_podlog_waiting (const Hs__Pod *pod, const char *container)
{
    const Hs__PodStatus *st = pod->status;
    for (size_t i = 0; st && i < st->n_container_statuses; i++) {
        const Hs__ContainerStatus *c = st->container_statuses[i];
        if (hs_streq (c->name, container) && c->state && c->state->waiting &&
            !hs_empty (c->state->waiting->reason))
            return c->state->waiting->reason;
    }
    return NULL;
}

char *hs_podlog_error (Hs__Code code, const char *message, const char *pod, const char *container,
                       const char *waiting, const char **ret_reason)
{
    if (code == HS__CODE__CODE_NOT_FOUND && hs_startswith (message, "pods \"")) {
        /* The store has the pod but its agent does not run it yet. */
        *ret_reason = "BadRequest";
        return hs_sprintf ("container \"%s\" in pod \"%s\" is waiting to start: %s", container, pod,
                           waiting ? waiting : "ContainerCreating");
    }
    *ret_reason = code == HS__CODE__CODE_INVALID ? "BadRequest" : hs_code_reason (code);
    return hs_strdup (hs_s (message));
}

int hs_podlog_http (const char *reason)
{
    static const struct {
        const char *reason;
        int http;
    } map[] = {
        {"BadRequest", 400}, {"NotFound", 404}, {"Forbidden", 403},          {"AlreadyExists", 409},
        {"Conflict", 409},   {"Invalid", 422},  {"ServiceUnavailable", 503},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (hs_streq (reason, map[i].reason)) return map[i].http;
    return 500;
}
