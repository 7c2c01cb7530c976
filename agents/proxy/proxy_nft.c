/*  proxy_nft.c: libnftables behind proxy_nft.h. */
#include "proxy_nft.h"

#include "proxy_render.h"

#include "hs_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <nftables/libnftables.h>
#include <stdlib.h>
#include <string.h>

struct proxy_nft_t {
    struct nft_ctx *ctx;
    struct mnl_socket *nl; /* for the generation id, opened on first use */
    uint32_t seq;
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
    if (self->nl) mnl_socket_close (self->nl);
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

static int s_on_gen (const struct nlmsghdr *nlh, void *arg)
{
    struct nlattr *a;
    mnl_attr_for_each (a, nlh, sizeof (struct nfgenmsg))
    {
        if (mnl_attr_get_type (a) == NFTA_GEN_ID && mnl_attr_validate (a, MNL_TYPE_U32) == 0) {
            *(int64_t *)arg = ntohl (mnl_attr_get_u32 (a));
            return MNL_CB_OK;
        }
    }
    return MNL_CB_OK;
}

int proxy_nft_genid (proxy_nft_t *self, uint32_t *ret_genid)
{
    if (!self->nl) {
        self->nl = mnl_socket_open2 (NETLINK_NETFILTER, SOCK_CLOEXEC);
        if (!self->nl) return -errno;
        if (mnl_socket_bind (self->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
            int e = errno;
            mnl_socket_close (self->nl);
            self->nl = NULL;
            return -e;
        }
    }
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header (buf);
    nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN;
    nlh->nlmsg_flags = NLM_F_REQUEST;
    nlh->nlmsg_seq = ++self->seq;
    struct nfgenmsg *g = mnl_nlmsg_put_extra_header (nlh, sizeof *g);
    g->nfgen_family = AF_UNSPEC;
    g->version = NFNETLINK_V0;
    g->res_id = 0;
    if (mnl_socket_sendto (self->nl, nlh, nlh->nlmsg_len) < 0) return -errno;
    ssize_t n = mnl_socket_recvfrom (self->nl, buf, sizeof buf);
    if (n < 0) return -errno;
    int64_t gen = -1;
    if (mnl_cb_run (buf, (size_t)n, self->seq, mnl_socket_get_portid (self->nl), s_on_gen, &gen) <
        0)
        return errno ? -errno : -EPROTO;
    if (gen < 0) return -EPROTO;
    *ret_genid = (uint32_t)gen;
    return 0;
}
