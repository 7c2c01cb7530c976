/*  probe_target.h: what a probe checks, read off the pod (pure).
 *
 *  A probe's handler is exec, tcpSocket or httpGet (the first one set, in
 *  that order). For the network handlers this resolves the address the way
 *  the kubelet does: the handler's host, else the pod's podIP, else its
 *  hostIP, else 127.0.0.1 (our pods share the host's network); the port is
 *  a number or the name of one of the container's ports. httpGet speaks
 *  plain HTTP only: scheme HTTPS is a failure with a message saying so.
 *  Hosts must be IP addresses or "localhost" (no DNS in the prober's loop).
 *
 *  Also here: the HTTP request the prober sends, reading the status line of
 *  the answer, and the kubelet's words for every outcome.
 */
#ifndef PROBE_TARGET_H
#define PROBE_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hs_pb.h"

typedef enum { PROBE_H_NONE = 0, PROBE_H_EXEC, PROBE_H_TCP, PROBE_H_HTTP } probe_handler_t;

typedef struct {
    probe_handler_t handler;
    char host[64]; /* numeric address ("127.0.0.1", "::1") */
    int port;
    char *hostport; /* "127.0.0.1:8080", "[::1]:8080" */
    char *url;      /* httpGet: "http://127.0.0.1:8080/healthz" */
    char *request;  /* httpGet: the whole request text */
} probe_target_t;

/* Resolves probe (of container c in pod) into *ret. 0, or -EINVAL with
 * *ret_err (caller frees) the failure message for the probe's result (a
 * bad port, HTTPS, a host that is not an address). For exec only
 * ret->handler is set. Free with probe_target_free. */
int probe_target_resolve (const Hs__Pod *pod, const Hs__Container *c, const Hs__Probe *probe,
                          probe_target_t *ret, char **ret_err);
void probe_target_free (probe_target_t *t);

/* Reads an HTTP response's status line from the first len bytes received:
 * 1 with *ret_code once the line is complete, 0 if more bytes are needed,
 * -EPROTO if it is not an HTTP/1.x status line. */
int probe_http_status (const char *buf, size_t len, int *ret_code);
/* Is this status code a success (200..399, as the kubelet)? */
bool probe_http_ok (int code);

/* The kubelet's messages (caller frees):
 *   connect failed (errno):  "dial tcp 127.0.0.1:8080: connect: connection refused"
 *   connect timed out:       "dial tcp 127.0.0.1:8080: i/o timeout"
 *   httpGet, any of these:   "Get \"http://...\": " + the above
 *   httpGet timed out:       "Get \"http://...\": context deadline exceeded
 *                             (Client.Timeout exceeded while awaiting headers)"
 *   httpGet status >= 400:   "HTTP probe failed with statuscode: 500" */
char *probe_msg_dial (const probe_target_t *t, int err);
char *probe_msg_timeout (const probe_target_t *t, bool connected);
char *probe_msg_status (int code);
/* An exec probe's outcome: exit code (-1: it did not run, error says why)
 * and its output; NULL when it succeeded (exit 0). The kubelet's message
 * is the output (trailing newlines dropped, at most 1 KiB); an empty
 * output says `command "cat /tmp/healthy" exited with code 1`; the
 * agent's error "timed out" is the kubelet's timeout message below. */
char *probe_msg_exec (const Hs__Probe *probe, int exit_code, const uint8_t *out, size_t out_len,
                      const char *error);
/* No answer in time: `command "cat /tmp/healthy" timed out`. */
char *probe_msg_exec_timeout (const Hs__Probe *probe);

/* The Unhealthy Event's message: "Liveness probe failed: <msg>". */
char *probe_msg_event (const char *title, const char *msg);

#endif
