/*  ctl_fmt.h: hsctl's pure formatting — objects in, text out, no bus.
 *
 *  Tables go through ctl_tabwrite, a port of Go's text/tabwriter (which is
 *  what kubectl prints with), so columns line up exactly like kubectl's:
 *  `get` uses minwidth 6 / padding 3, `describe` minwidth 0 / padding 2.
 *  Every returned char * is the caller's.
 */
#ifndef CTL_FMT_H
#define CTL_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hs_obj.h"
#include "hs_util.h"

/* ------------------------------------------------------------ tabwriter */

/* Aligns tab-separated cells like Go's tabwriter.NewWriter(out, minwidth, 8,
 * padding, ' ', 0): a cell is text ended by a tab; a column block is a run of
 * consecutive lines that have that cell; the text after a line's last tab is
 * not aligned. */
char *ctl_tabwrite (const char *text, int minwidth, int padding);
/* Appends one table row: cells joined by tabs (tabs and newlines inside a
 * cell become spaces), then a newline. */
void ctl_row_append (hs_buf_t *b, char *const *cells, size_t n);

/* A table printed piecemeal (get -w): every chunk stays aligned with what was
 * printed before, columns only ever widen, the header prints once. */
typedef struct ctl_stream_table ctl_stream_table_t;
ctl_stream_table_t *ctl_stream_table_new (bool has_header);
/* text: ctl_table_text output (with its header line when has_header).
 * Returns the aligned lines to print now. */
char *ctl_stream_table_feed (ctl_stream_table_t *self, const char *text);
void ctl_stream_table_destroy (ctl_stream_table_t **self_p);

/* ------------------------------------------------------------ get tables */

typedef struct {
    bool wide;        /* -o wide */
    bool all_ns;      /* -A: NAMESPACE column first */
    bool show_labels; /* --show-labels: LABELS column last */
    bool kind_prefix; /* NAME as "pod/web" (several kinds at once) */
    bool no_headers;
} ctl_list_opts_t;

#define CTL_MAX_COLS 16

/* Column headers of kind's table (without NAMESPACE/LABELS). */
size_t ctl_columns (hs_kind_t kind, bool wide, const char **ret_headers);
/* The cells of one object's row (without NAMESPACE/LABELS), heap strings. */
size_t ctl_cells (const Hs__Object *o, bool wide, int64_t now_ns, char **ret_cells);
/* The rows (tab-separated, unaligned) of objs, with the header unless
 * opts->no_headers; feed to ctl_tabwrite (…, 6, 3). */
char *ctl_table_text (hs_kind_t kind, const Hs__Object *const *objs, size_t n,
                      const ctl_list_opts_t *opts, int64_t now_ns);
/* ctl_table_text, aligned. */
char *ctl_table_render (hs_kind_t kind, const Hs__Object *const *objs, size_t n,
                        const ctl_list_opts_t *opts, int64_t now_ns);

/* Sorts for display: events by last timestamp, the rest by namespace, name. */
void ctl_sort_objects (const Hs__Object **objs, size_t n);

/* kubectl's pod STATUS column, and the READY/RESTARTS figures. *ret_last_restart_ns
 * is the latest lastState.terminated.finishedAt (0 if none). */
const char *ctl_pod_status (const Hs__Pod *pod, int *ret_ready, int *ret_total, int *ret_restarts,
                            int64_t *ret_last_restart_ns);
/* "Ready", "NotReady", "Unknown", plus ",SchedulingDisabled". Into buf. */
const char *ctl_node_status (const Hs__Node *node, char *buf, size_t len);
/* "control-plane,worker" from node-role.kubernetes.io/ labels, or "<none>". */
char *ctl_node_roles (const Hs__Node *node);

/* A Service's PORT(S): "80/TCP,53/UDP" ("<none>" without ports). */
char *ctl_service_ports_str (const Hs__ServiceSpec *s);
/* kubectl's ENDPOINTS: up to 3 ready "ip:port" (of the ports named
 * port_name; NULL: all), then " + N more..."; "<none>" when there is none. */
char *ctl_endpoints_str (const Hs__Endpoints *ep, const char *port_name);

/* An HPA's TARGETS as kubectl 1.32 prints them: "cpu: 73%/50%" per
 * metric (its status by index; "<unknown>" before one), two at most then
 * " + N more...", "<none>" without metrics. */
char *ctl_hpa_targets (const Hs__HorizontalPodAutoscaler *h);

/* "a=b,c=d" (sorted by key) or "<none>". entries: a string map field. */
char *ctl_labels_str (void *const *entries, size_t n);
/* A LabelSelector as kubectl prints it: "app=web,tier in (a,b)" or "<none>". */
char *ctl_label_selector_str (const Hs__LabelSelector *sel);
/* Whether labels match a LabelSelector (an empty selector matches nothing,
 * like a ReplicaSet's). */
bool ctl_label_selector_matches (const Hs__LabelSelector *sel, void *const *labels, size_t n);

/* RFC 1123 with numeric zone, local time ("Mon, 02 Jan 2006 15:04:05 -0700"). */
const char *ctl_fmt_rfc1123 (int64_t ns, char *buf, size_t len);
/* "5s" … like hs_fmt_age but of a duration. */
const char *ctl_fmt_duration (int64_t ns, char *buf, size_t len);

/* ------------------------------------------------------------ selectors (-l) */

typedef struct ctl_selector ctl_selector_t;
/* Parses kubectl's label selector syntax: k=v, k==v, k!=v, k, !k,
 * k in (a,b), k notin (a,b), comma-separated. NULL and *ret_error (caller
 * frees) on a bad one. "" gives a selector matching everything. */
ctl_selector_t *ctl_selector_parse (const char *text, char **ret_error);
bool ctl_selector_matches (const ctl_selector_t *sel, void *const *labels, size_t n);
void ctl_selector_free (ctl_selector_t **self_p);

/* ------------------------------------------------------------ -o yaml|json|name */

/* The manifest form of one object, or of a kind: List holding all of them
 * (as_list), in HS_FMT_YAML or HS_FMT_JSON. */
char *ctl_render_objects (const Hs__Object *const *objs, size_t n, bool as_list, int flags);
/* "pod/web\n" per object. */
char *ctl_render_names (const Hs__Object *const *objs, size_t n);

/* ------------------------------------------------------------ describe */

/* kubectl describe's text for o. `related` are other objects the
 * description draws on (the events about it, pods of a ReplicaSet or Job,
 * ReplicaSets of a Deployment, pods on a node); the formatter picks what
 * concerns o. */
char *ctl_describe_render (const Hs__Object *o, const Hs__Object *const *related, size_t n_related,
                           int64_t now_ns);

#endif
