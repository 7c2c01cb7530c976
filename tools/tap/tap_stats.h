/*  tap_stats.h: hs-tap --stats, message and byte rates per topic group.
 *
 *  Pure: the caller feeds messages (with their group, see tap_topic_group)
 *  and asks for a table over an interval; no clocks are read here.
 */
#ifndef TAP_STATS_H
#define TAP_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tap_stats_t tap_stats_t;

tap_stats_t *tap_stats_new (void);
void tap_stats_destroy (tap_stats_t **self_p);

/* Counts one message of `bytes` in `group`; garbage also counts as garbage. */
void tap_stats_add (tap_stats_t *self, const char *group, size_t bytes, bool garbage);

/* The table for the interval since the last tap_stats_take (messages/s and
 * bytes/s over interval_ns, plus totals since the start), then starts a new
 * interval. Groups sorted by name, a TOTAL row last. Caller frees. */
char *tap_stats_take (tap_stats_t *self, int64_t interval_ns);

#endif
