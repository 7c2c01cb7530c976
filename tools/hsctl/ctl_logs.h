/*  ctl_logs.h: `hsctl logs`, a container's log from the agent of its pod's
 *  node, over the bus (ctl_logs.c).
 */
#ifndef CTL_LOGS_H
#define CTL_LOGS_H

#include "ctl.h"

/* hsctl logs [-n NS] (POD | pod/POD) [CONTAINER] [-c NAME] [-f] [-p] [--tail N]
 * [--timestamps] [--limit-bytes N]. The exit status: 0, 1 on any error. */
int ctl_logs_main (ctl_t *ctl, int argc, char **argv);

#endif
