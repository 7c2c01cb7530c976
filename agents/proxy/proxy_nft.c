/*  proxy_nft.c: libnftables behind proxy_nft.h. */
#include "proxy_nft.h"

#include "proxy_render.h"

#include "hs_util.h"

#include <errno.h>
#include <nftables/libnftables.h>
#include <stdlib.h>
#include <string.h>

struct proxy_nft_t {
    struct nft_ctx *ctx;
};

int proxy_nft_new (proxy_nft_t **ret_nft)
{
    struct nft_ctx *ctx = nft_ctx_new (NFT_CTX_DEFAULT);
    if (!ctx) return -ENOMEM;
    /* errors and listings come back as text, never on our stderr */
    if (nft_ctx_buffer_error (ctx) != 0 || nft_ctx_buffer_output (ctx) != 0) {
        nft_ctx_free (ctx);
        return -ENOMEM;
    }
    proxy_nft_t *self = hs_calloc (1, sizeof *self);
    self->ctx = ctx;
    *ret_nft = self;
    return 0;
}

void proxy_nft_destroy (proxy_nft_t **self_p)
{
    proxy_nft_t *self = *self_p;
    if (!self) return;
    nft_ctx_free (self->ctx);
    free (self);
    *self_p = NULL;
}

int proxy_nft_list (proxy_nft_t *self, const char *cmd, const char **ret_output,
                    const char **ret_error)
{
    /* libnftables keeps errno from the failing netlink call; nft_run_cmd_*
     * itself only says -1 */
    errno = 0;
    int r = nft_run_cmd_from_buffer (self->ctx, cmd);
    int e = errno;
    const char *err = nft_ctx_get_error_buffer (self->ctx);
    const char *out = nft_ctx_get_output_buffer (self->ctx);
    if (r != 0) {
        if (ret_error) *ret_error = err && *err ? err : "nft failed without a message";
        return e > 0 ? -e : -EINVAL;
    }
    if (ret_output) *ret_output = out ? out : "";
    return 0;
}

int proxy_nft_run (proxy_nft_t *self, const char *text, const char **ret_error)
{
    return proxy_nft_list (self, text, NULL, ret_error);
}

int proxy_nft_check (proxy_nft_t *self, const char *text, const char **ret_error)
{
    nft_ctx_set_dry_run (self->ctx, true);
    int r = proxy_nft_list (self, text, NULL, ret_error);
    nft_ctx_set_dry_run (self->ctx, false);
    return r;
}

bool proxy_nft_table_exists (proxy_nft_t *self)
{
    const char *out = NULL;
    if (proxy_nft_list (self, "list tables " PROXY_FAMILY, &out, NULL) < 0) return false;
    return strstr (out, "table " PROXY_FAMILY " " PROXY_TABLE "\n") != NULL;
}

int proxy_nft_cleanup (proxy_nft_t *self, const char **ret_error)
{
    return proxy_nft_run (self,
                          "add table " PROXY_FAMILY " " PROXY_TABLE "\n"
                          "delete table " PROXY_FAMILY " " PROXY_TABLE "\n",
                          ret_error);
}
