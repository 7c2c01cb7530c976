/*  proxy_nft.h: hs-proxy's one door to the kernel's nftables, through
 *  libnftables (the library under the nft command: the same text, the same
 *  parser, one netlink batch per call, so a transaction is atomic).
 *
 *  Why libnftables and not the nft CLI or libnftnl: no fork+exec per sync,
 *  errors come back as text in-process, and nft's own compiler turns our
 *  text (concatenated keys, vmaps, numgen) into netlink; libnftnl would
 *  make us rewrite that compiler (docs/architecture.md, "hs-proxy").
 */
#ifndef PROXY_NFT_H
#define PROXY_NFT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct proxy_nft_t proxy_nft_t;

/* A libnftables context. 0, or -ENOMEM when the library cannot make one
 * (nothing else can fail before the first command). */
int proxy_nft_new (proxy_nft_t **ret_nft);
void proxy_nft_destroy (proxy_nft_t **self_p);

/* Runs text (nft -f syntax) as one transaction: all of it or none. 0, or
 * -EINVAL / -errno with *ret_error (borrowed until the next call) holding
 * nft's message, e.g. "Error: Could not process rule: No such file or
 * directory ...". */
int proxy_nft_run (proxy_nft_t *self, const char *text, const char **ret_error);
/* `nft -c`: parses and evaluates text against the kernel's current state
 * without changing it. 0 or -errno with *ret_error as proxy_nft_run. */
int proxy_nft_check (proxy_nft_t *self, const char *text, const char **ret_error);
/* Like proxy_nft_run, and the output (`list ...`) into *ret_output,
 * borrowed until the next call. */
int proxy_nft_list (proxy_nft_t *self, const char *cmd, const char **ret_output,
                    const char **ret_error);
/* The ruleset generation of this network namespace (NFT_MSG_GETGEN over
 * netlink: every committed nftables transaction, anyone's, bumps it). 0 or
 * -errno. */
int proxy_nft_genid (proxy_nft_t *self, uint32_t *ret_genid);
/* Whether `table ip homeostat` exists in this network namespace. */
bool proxy_nft_table_exists (proxy_nft_t *self);
/* Deletes `table ip homeostat` (hs-proxy --cleanup): 0 (also when there was
 * none) or -errno with *ret_error. */
int proxy_nft_cleanup (proxy_nft_t *self, const char **ret_error);

#endif
