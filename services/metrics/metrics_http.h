/*  metrics_http.h: hs-metrics' HTTP side, libmicrohttpd on the daemon's
 *  loop in its one thread (as hs-apiserver's, docs/architecture.md §24):
 *  MHD_USE_EPOLL, its epoll descriptor a level-triggered source of the loop
 *  and its next timeout a loop timer, both running MHD_run. So a page is
 *  rendered on the loop, between bus messages, from a cache nothing else
 *  touches meanwhile.
 *
 *  GET (or HEAD) /metrics: the page fn returns, text/plain; version=0.0.4.
 *  GET /healthz: "ok". Anything else: 404; a method other than GET or
 *  HEAD: 405.
 */
#ifndef METRICS_HTTP_H
#define METRICS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "hs_loop.h"

typedef struct metrics_http_t metrics_http_t;

/* The page: a malloc'd buffer (the server frees it) of *ret_len bytes. */
typedef char *(metrics_page_fn)(void *arg, size_t *ret_len);

/* Parses "ADDR:PORT" ("127.0.0.1:9464", "[::1]:9464", ":9464" for every
 * IPv4 address; port 0: any free one). 0 or -EINVAL. */
int metrics_http_parse (const char *listen, void *ret_sockaddr, unsigned *ret_len);

/* Listens on listen and serves. 0, -EINVAL (a bad address) or -EADDRINUSE
 * (logged). */
int metrics_http_new (hs_loop_t *loop, const char *listen, metrics_page_fn *page, void *arg,
                      metrics_http_t **ret);
void metrics_http_destroy (metrics_http_t **self_p);
/* The port it listens on (the one the kernel chose for port 0). */
uint16_t metrics_http_port (metrics_http_t *self);
/* Pages served since it started. */
uint64_t metrics_http_scrapes (metrics_http_t *self);

#endif
