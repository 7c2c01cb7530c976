/*  ctl_conn.c: hsctl's one connection to the bus and the store, and the
 *  messages a user sees when either is not there (kubectl's wording where
 *  kubectl has one).
 */
#include "ctl.h"

#include <errno.h>
#include <string.h>

/* How long to wait for the broker's echo. A broker that is up answers in
 * milliseconds; this is its own limit, apart from --request-timeout, so a
 * short request timeout on a loaded machine still tells "no bus" apart from
 * "no store". */
#define CTL_JOIN_MS 3000

const char *ctl_bus_addr (ctl_t *ctl)
{
    if (!hs_empty (ctl->bus)) return ctl->bus;
    const char *env = getenv ("HS_BUS");
    return hs_empty (env) ? HS_BUS_DEFAULT : env;
}

int ctl_connect (ctl_t *ctl)
{
    if (ctl->client) return 0;
    /* a credential or key problem is said once, as our own error line */
    hs_bus_quiet_errors (true);
    int r = hs_client_new (ctl_bus_addr (ctl), "hsctl", NULL, CTL_JOIN_MS, &ctl->client);
    const char *why = hs_bus_last_error ();
    if (r < 0 && why) {
        fprintf (stderr, "error: %s\n", why);
        return -1;
    }
    if (r == -ETIMEDOUT) {
        fprintf (stderr, "error: cannot reach the bus at %s: is hs-bus running?\n",
                 ctl_bus_addr (ctl));
        return -1;
    }
    if (r == -EINVAL) {
        fprintf (stderr, "error: invalid bus address \"%s\" (use HOST, HOST:PORT or ipc://DIR)\n",
                 ctl_bus_addr (ctl));
        return -1;
    }
    if (r < 0) {
        fprintf (stderr, "error: cannot connect to the bus at %s: %s\n", ctl_bus_addr (ctl),
                 strerror (-r));
        return -1;
    }
    return 0;
}

void ctl_print_store_timeout (ctl_t *ctl)
{
    int ms = ctl->timeout_ms;
    if (ms % 1000 == 0)
        fprintf (stderr, "Unable to connect to the server: the store did not answer within %ds\n",
                 ms / 1000);
    else
        fprintf (stderr, "Unable to connect to the server: the store did not answer within %dms\n",
                 ms);
}

int ctl_snapshot (ctl_t *ctl, const hs_kind_t *kinds, size_t n, hs_db_snapshot_t *ret)
{
    if (ctl_connect (ctl) < 0) return -1;
    int r = hs_client_snapshot (ctl->client, kinds, n, NULL, ctl->timeout_ms, ret);
    if (r == -ETIMEDOUT) {
        ctl_print_store_timeout (ctl);
        return -1;
    }
    if (r < 0) {
        fprintf (stderr, "Error from server: the store refused the snapshot (%s)\n", strerror (-r));
        return -1;
    }
    return 0;
}

int ctl_call (ctl_t *ctl, Hs__Write *const *writes, size_t n, bool dry_run, Hs__Ack **ret_ack)
{
    if (ctl_connect (ctl) < 0) return -1;
    hs_call_opts_t opts = {.timeout_ms = ctl->timeout_ms, .dry_run = dry_run};
    int r = hs_client_call (ctl->client, writes, n, &opts, ret_ack);
    if (r == -ETIMEDOUT) {
        ctl_print_store_timeout (ctl);
        return -1;
    }
    if (r == -EMSGSIZE) {
        fprintf (stderr,
                 "error: the command is larger than the bus carries (%d bytes, HS_BUS_MAX_MSG); "
                 "nothing was sent: apply fewer or smaller objects at a time\n",
                 HS_BUS_MAX_MSG);
        return -1;
    }
    if (r < 0) {
        fprintf (stderr, "error: cannot send the command: %s\n", strerror (-r));
        return -1;
    }
    return 0;
}
