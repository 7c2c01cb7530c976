/*  proxy_ct.c: libnetfilter_conntrack behind proxy_ct.h. */
#include "proxy_ct.h"

#include "hs_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <netinet/in.h>
#include <stdlib.h>

typedef struct {
    const proxy_ct_gone_t *gone;
    size_t n;
    struct nf_conntrack **hits;
    size_t n_hits, cap;
} s_dump_t;

static int s_on_ct (enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *arg)
{
    (void)type;
    s_dump_t *d = arg;
    if (nfct_get_attr_u8 (ct, ATTR_L4PROTO) != IPPROTO_UDP) return NFCT_CB_CONTINUE;
    uint32_t dst = ntohl (nfct_get_attr_u32 (ct, ATTR_ORIG_IPV4_DST));
    uint16_t dport = ntohs (nfct_get_attr_u16 (ct, ATTR_ORIG_PORT_DST));
    uint32_t rsrc = ntohl (nfct_get_attr_u32 (ct, ATTR_REPL_IPV4_SRC));
    for (size_t i = 0; i < d->n; i++) {
        const proxy_ct_gone_t *g = &d->gone[i];
        if (g->cluster_ip != dst || g->port != dport || g->ep_ip != rsrc) continue;
        if (d->n_hits == d->cap) {
            d->cap = d->cap ? d->cap * 2 : 16;
            d->hits = hs_realloc (d->hits, d->cap * sizeof *d->hits);
        }
        d->hits[d->n_hits++] = nfct_clone (ct);
        break;
    }
    return NFCT_CB_CONTINUE;
}

int proxy_ct_flush_udp (const proxy_ct_gone_t *gone, size_t n)
{
    if (n == 0) return 0;
    struct nfct_handle *h = nfct_open (CONNTRACK, 0);
    if (!h) return errno ? -errno : -EIO;
    s_dump_t d = {.gone = gone, .n = n};
    nfct_callback_register (h, NFCT_T_ALL, s_on_ct, &d);
    uint32_t family = AF_INET;
    int r = nfct_query (h, NFCT_Q_DUMP, &family);
    int e = errno;
    nfct_callback_unregister (h);
    int deleted = 0;
    for (size_t i = 0; i < d.n_hits; i++) {
        /* gone meanwhile (it timed out) is not an error */
        if (d.hits[i] && nfct_query (h, NFCT_Q_DESTROY, d.hits[i]) == 0) deleted++;
        nfct_destroy (d.hits[i]);
    }
    free (d.hits);
    nfct_close (h);
    if (r < 0) return e ? -e : -EIO;
    return deleted;
}
