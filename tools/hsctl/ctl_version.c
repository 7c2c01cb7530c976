/*  ctl_version.c: `hsctl version` — this client's version, and the store's
 *  identity as its heartbeat (hb.store) tells it.
 */
#include "ctl.h"

#include <string.h>

enum { S_OPT_CLIENT = CTL_OPT_VERB_BASE };

static const struct option s_longs[] = {
    {"client", no_argument, NULL, S_OPT_CLIENT},
    {NULL, 0, NULL, 0},
};

static int s_opt (ctl_t *ctl, void *arg, int c, const char *optarg)
{
    if (c != S_OPT_CLIENT) return -1;
    *(bool *)arg = true;
    return 0;
}

typedef struct {
    bool seen;
    char *instance;
    int64_t revision;
    uint64_t epoch;
    uint64_t objects;
} s_server_t;

static void s_on_hb (void *arg, const char *topic, const Hs__Envelope *env)
{
    s_server_t *s = arg;
    if (env->body_case != HS__ENVELOPE__BODY_STORE_HEARTBEAT || s->seen) return;
    const Hs__StoreHeartbeat *hb = env->store_heartbeat;
    s->seen = true;
    s->instance = hs_strdup (!hs_empty (hb->instance) ? hb->instance : env->sender);
    s->revision = hb->revision;
    s->epoch = hb->epoch;
    s->objects = hb->objects;
}

int ctl_version_main (ctl_t *ctl, int argc, char **argv)
{
    bool client_only = false;
    int first = ctl_parse (ctl, argc, argv, s_longs, "", s_opt, &client_only);
    if (first < 0) return 1;
    if (ctl->help) {
        printf ("Print the client and server version information.\n\n"
                "Usage:\n  hsctl version [--client]\n");
        return 0;
    }
    printf ("Client Version: v%s\n", HSCTL_VERSION);
    if (client_only) return 0;
    if (ctl_connect (ctl) < 0) return 1;
    s_server_t s = {0};
    hs_client_on (ctl->client, "hb.store", s_on_hb, &s);
    int64_t deadline = hs_mono_ns () + (int64_t)ctl->timeout_ms * 1000000;
    while (!s.seen && hs_mono_ns () < deadline) hs_client_process (ctl->client, 100);
    if (!s.seen) {
        ctl_print_store_timeout (ctl);
        return 1;
    }
    printf ("Server: hs-store %s (epoch %llx, revision %lld, %llu objects)\n", s.instance,
            (unsigned long long)s.epoch, (long long)s.revision, (unsigned long long)s.objects);
    free (s.instance);
    return 0;
}
