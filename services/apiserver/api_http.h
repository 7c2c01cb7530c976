/*  api_http.h: making hs-apiserver's HTTP(S) server (api_http.c); the
 *  request and answer functions are the contract's (api_server.h).
 *
 *  One libmicrohttpd daemon per listener (the TLS one and, when asked, the
 *  plain-HTTP one on loopback), all on the daemon's hs_loop: MHD's epoll
 *  descriptor is a loop source and MHD_get_timeout a timer.
 */
#ifndef HS_API_HTTP_H
#define HS_API_HTTP_H

#include "api_auth.h"
#include "api_server.h"

#include <sys/socket.h>

#define API_MAX_BODY  (3u << 20) /* a bigger body is 413 */
#define API_MAX_CONNS 4096
#define API_CONN_MEM  (128u << 10) /* per connection: request line and headers */
/* Unsent stream bytes of all streams together; past it, streams holding
 * more than API_STREAM_FAIR_QUEUED are cut as they are written. */
#define API_STREAMS_MAX_QUEUED ((size_t)512 << 20)
#define API_STREAM_FAIR_QUEUED ((size_t)1 << 20)
/* Unsent stream bytes of all streams together, hard: past it, the stream
 * being written is cut whatever it holds. */
#define API_STREAMS_HARD_QUEUED ((size_t)1 << 30)
/* Connections from one address (MHD_OPTION_PER_IP_CONNECTION_LIMIT). */
#define API_PER_IP_CONNS 1280
/* Request bodies being received, all requests together (only after the
 * request was authenticated: an unauthenticated body is never read);
 * past it, 429. */
#define API_BODIES_MAX ((size_t)96 << 20)

typedef struct {
    const char *listen;   /* "ADDR:PORT" ("[v6]:PORT"); NULL: no TLS listener */
    const char *tls_cert; /* PEM files, required with listen */
    const char *tls_key;
    const char *client_ca;     /* PEM: client certificates are verified against it; may be NULL */
    const char *insecure_http; /* "ADDR:PORT" plain HTTP, loopback only; may be NULL */
} api_http_opts_t;

/* Listens. 0 with *ret, or -errno after logging what is wrong (-EINVAL: an
 * address that cannot be parsed, or --insecure-http not on loopback). The
 * server takes nothing: loop, cache, client and auth outlive it. */
int api_server_new (hs_loop_t *loop, const api_http_opts_t *opts, api_cache_t *cache,
                    hs_client_t *client, api_auth_t *auth, api_server_t **ret);
/* Ends every request (their on_close hooks run) and stops listening. */
void api_server_destroy (api_server_t **self_p);
/* Parses "ADDR:PORT", "[V6]:PORT" or ":PORT" (any address). 0 or -EINVAL. */
int api_parse_listen (const char *text, struct sockaddr_storage *ret, socklen_t *ret_len);
/* Whether the address is a loopback one (127.0.0.0/8, ::1). */
bool api_addr_loopback (const struct sockaddr_storage *a);

#endif
