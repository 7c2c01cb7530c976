/*  ctl_tls.h: hs-apiserver's TLS files, API tokens and kubeconfigs, as
 *  `hsctl init` and `hsctl config view --kubeconfig` make them
 *  (docs/architecture.md §23, §24 "Identities, TLS and kubeconfig").
 *
 *  Under the PKI directory:
 *      DIR/api/ca.crt, ca.key          the cluster CA (ECDSA P-256, 10 years)
 *      DIR/api/apiserver.crt, .key     hs-apiserver's serving certificate
 *                                      (1 year; SANs 127.0.0.1, ::1,
 *                                      localhost, the host name, --api-san)
 *      DIR/api/users/<name>.cred       bus credentials of client-certificate
 *                                      users (hs-apiserver --user-creds)
 *      DIR/keys/token-<id>.key         API tokens (bus/hs_token.h)
 *      DIR/kubeconfig                  the admin's kubeconfig
 *  Keys and kubeconfigs are 0600, certificates 0644. GnuTLS's C API makes
 *  and checks every certificate; nothing runs openssl.
 */
#ifndef CTL_TLS_H
#define CTL_TLS_H

#include "ctl_pki.h"
#include "hs_token.h"

#define CTL_API_SERVER_DEFAULT "https://127.0.0.1:6443"
#define CTL_API_MAX_SANS       32

/* Whether san is a DNS name ([a-z0-9-] labels, dots; at most 253) or an
 * IPv4/IPv6 address. */
bool ctl_tls_san_ok (const char *san);

/* Whether url is a server URL for a kubeconfig: https:// or http://, a
 * host, printable ASCII without spaces or quotes, at most 512 bytes. */
bool ctl_tls_url_ok (const char *url);

/* The CA and the serving certificate under DIR/api: each kept when it is
 * valid (parses, its key matches, unexpired for 30 days more; the serving
 * certificate signed by the CA and naming every SAN wanted), else made
 * (force: always made). Prints one "[api] ..." line per file set. 0, or
 * -1 after printing an error. */
int ctl_tls_init (const char *dir, const char *const *sans, size_t n_sans, bool force);

/* A client certificate for identity (CN identity, O its role), signed by
 * DIR/api's CA, valid ttl seconds; PEM texts (caller frees). 0 or -1
 * (printed). */
int ctl_tls_client_cert (const char *dir, const char *identity, int64_t ttl, char **ret_cert_pem,
                         char **ret_key_pem);

/* A new API token for identity (a user: hs_token_api_identity_ok): its key
 * file DIR/keys/token-<id>.key, expiring at expires (0: never); the token
 * into ret (HS_TOKEN_LEN + 1 bytes). 0 or -1 (printed). */
int ctl_api_token_new (const char *dir, const char *identity, int64_t expires, char *ret);

/* A kubeconfig (YAML text, caller frees): cluster "homeostat" at server
 * with DIR/api/ca.crt as certificate-authority-data, user identity with
 * token, or with the client certificate and key (PEM) when token is NULL,
 * and the context <identity>@homeostat, current. NULL (printed) when the
 * CA cannot be read. */
char *ctl_kubeconfig_new (const char *dir, const char *server, const char *identity,
                          const char *token, const char *cert_pem, const char *key_pem);

/* DIR/kubeconfig for identity at server: kept when it is valid (names
 * server, the current CA, and a token of identity whose key file is
 * there and unexpired), else written with a new token (whose key file
 * replaces the old kubeconfig's token of the same identity). 0 or -1
 * (printed). */
int ctl_kubeconfig_init (const char *dir, const char *identity, const char *server, bool force);

/* Writes path atomically (a temp file beside it, mode, rename). 0 or
 * -errno. */
int ctl_file_write (const char *path, const void *data, size_t len, mode_t mode);

/* "90s", "30m", "1h", "2d", "3600" -> seconds, at most max: -1 malformed,
 * -2 over max. */
int64_t ctl_parse_ttl (const char *s, int64_t max);

#endif
