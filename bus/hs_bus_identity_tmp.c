/*  hs_bus_identity_tmp.c: a stand-in for hs_bus_peer_identity (hs_bus.h) until
 *  hs-bus stamps cmd.* messages (branch sec-bus); deleted when that is merged.
 *  Returns $HS_TEST_IDENTITY, so NULL (insecure: every write allowed) unless set.
 */
#include "hs_bus.h"

#include <stdlib.h>

const char *hs_bus_peer_identity (hs_bus_t *self)
{
    (void)self;
    return getenv ("HS_TEST_IDENTITY");
}
