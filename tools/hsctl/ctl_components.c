/*  ctl_components.c: `hsctl get components` (docs/architecture.md §3) — every live component
 *  instance, from the heartbeats on hb.*: how far it lags behind the store's
 *  revision and what share of its objects it owns; for a replicated store
 *  one row per member with its raft role, term and indexes (hb.raft.*).
 *  Heartbeats are not stored, so this listens to the bus for a few heartbeat
 *  intervals. The tables themselves are ctl_comp_fmt.c's.
 */
#include "ctl.h"
#include "ctl_comp.h"
#include "ctl_fmt.h"

#include <string.h>

/* Heartbeats come every ~200-250 ms; two seconds catch every live instance. */
#define CTL_COMPONENTS_LISTEN_MS 2000

static void s_on_hb (void *arg, const char *topic, const Hs__Envelope *env)
{
    ctl_comps_t *s = arg;
    if (env->body_case == HS__ENVELOPE__BODY_STORE_HEARTBEAT)
        ctl_comps_on_store (s, topic, env->sender, env->store_heartbeat);
    else if (env->body_case == HS__ENVELOPE__BODY_HEARTBEAT)
        ctl_comps_on_component (s, env->heartbeat);
}

int ctl_components_listen (ctl_t *ctl, const char *prefix, int listen_ms, ctl_comps_t *ret)
{
    memset (ret, 0, sizeof *ret);
    if (ctl_connect (ctl) < 0) return -1;
    hs_client_on (ctl->client, prefix, s_on_hb, ret);
    int64_t deadline = hs_mono_ns () + (int64_t)listen_ms * 1000000;
    while (hs_mono_ns () < deadline) hs_client_process (ctl->client, 50);
    ctl_comps_finish (ret);
    return 0;
}

int ctl_get_components (ctl_t *ctl, bool no_headers, int flags)
{
    ctl_comps_t s;
    if (ctl_components_listen (ctl, "hb.", CTL_COMPONENTS_LISTEN_MS, &s) < 0) return 1;
    if (flags < 0 && s.n == 0) {
        fprintf (stderr, "No resources found\n");
        return 0;
    }
    _cleanup_free_ char *out = flags < 0 ? ctl_comps_table (&s, no_headers, hs_now_ns ())
                                         : ctl_comps_render (&s, flags, hs_now_ns ());
    fputs (out, stdout);
    ctl_comps_free (&s);
    return 0;
}
