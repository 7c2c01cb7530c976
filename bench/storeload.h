/*  storeload.h: bench-store's load, shared by bench-store and bench-store-ha.
 *
 *  One "row" is C logical clients in K forked processes, each keeping one
 *  write in flight, against hs-store (OP_APPLY of a new Pod through
 *  hs_client, plus an ev.pod. subscriber) or etcd (a put of a same-sized
 *  value, over the v3 JSON gateway or native gRPC); warm-up, then a fixed
 *  measured window. See bench_store.c's header for the method.
 */
#ifndef STORELOAD_H
#define STORELOAD_H

#include "benchlib.h"
#include "hs_pb.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SENT_ANNOTATION "bench.homeostat.io/sent-at-ns"

typedef enum { TARGET_HS, TARGET_ETCD, TARGET_CHECK } target_t;

typedef struct {
    target_t target;
    int row;     /* row number: makes names unique across rows */
    int clients; /* C */
    int procs;   /* K */
    int64_t warm_ns, dur_ns;
    const char *dir; /* where workers write results */
    const char *bus; /* hs */
    int etcd_port;   /* etcd */
    bool grpc;       /* etcd: gRPC (HTTP/2) rather than the JSON gateway */
    size_t value_size;
    pid_t server_pid, bus_pid; /* CPU is measured on these during the window */
} row_t;

/* Counters in a client worker's result; s[0] = latency samples (ns). */
enum { C_OK, C_ERR, C_TIMEOUT, C_LOGICAL, C_ALL_OK };
/* Counters in the event subscriber's result; s[0] commit->event, s[1] send->event. */
enum { E_EVENTS, E_GAPS, E_OTHER };

/* What one row measured. */
typedef struct {
    int clients;
    double rate;
    uint64_t ok, errors;
    bl_samples_t lat, ev_commit, ev_send;
    uint64_t events, gaps, all_ok;
    double server_cpu_s, bus_cpu_s; /* CPU seconds used in the measured window */
    bool done;
} rowres_t;

/* The benchmark's Pod (what `hsctl apply` of a one-container pod carries),
 * with the sender's realtime in an annotation; and its packed size. */
Hs__Object *sl_make_pod (const char *name, int64_t sent_real_ns);
size_t sl_pod_size (void);

/* Runs one row (row->dir is set to TMP/row<N>) and fills out. -1 if the
 * workers did not start. */
int sl_run_row (const char *tmp, row_t *row, rowres_t *out);
void sl_rowres_free (rowres_t *r);
/* The bl_group worker behind sl_run_row (and the TARGET_CHECK reader of
 * hb.store's object count, which writes DIR/check). */
int sl_worker (void *arg, int i);

/* Table rows as bench-store prints them. */
void sl_print_hs_header (void);
void sl_print_hs_row (const row_t *row, const rowres_t *r);
void sl_print_etcd_header (void);
void sl_print_etcd_row (const row_t *row, const rowres_t *r);
/* CPU seconds per operation, as "12.3 us" ("-" if unknown). */
const char *sl_fmt_cpu_per_op (double cpu_s, uint64_t ops, char *buf, size_t len);

/* Standard base64 of in[0..len) (caller frees). */
char *sl_base64 (const uint8_t *in, size_t len);

/* A TCP connection to 127.0.0.1:port (TCP_NODELAY), or -errno. */
int sl_tcp_connect (int port);
/* Blocking HTTP/1.1 to 127.0.0.1:port (Connection: close, 2 s per read):
 * the status code (or -errno) and the whole response in *ret_body. */
int sl_http_get (int port, const char *path, char **ret_body);
int sl_http_post (int port, const char *path, const char *body, char **ret_body);
/* The same with the wait for each read chosen (GET if body is NULL). */
int sl_http_req (int port, const char *path, const char *body, int timeout_ms, char **ret_body);

/* Spawns Debian's /usr/bin/etcd (bl_spawn: killed at exit) as member name
 * of cluster ("n1=http://127.0.0.1:P,..."), client and peer URLs on
 * 127.0.0.1:cport and :pport, quiet logs, then the NULL-terminated extra
 * flags (NULL: none). Returns its pid. */
pid_t sl_spawn_etcd (const char *name, int cport, int pport, const char *cluster, const char *data,
                     const char *log, const char *const *extra);
/* Starts Debian's etcd, single node, fresh data dir TMP/etcd-data, and waits
 * for /health (20 s). -1 (its log shown) if it did not come up. */
int sl_start_etcd (const char *tmp, int *ret_port, pid_t *ret_pid, char **ret_log);

#endif
