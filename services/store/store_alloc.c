/*  store_alloc.c: keys, bands and held blocks of hs-store's address
 *  allocation (see store_alloc.h). Pure.
 */
#include "store_alloc.h"
#include "hs_util.h"

#include <string.h>

void store_alloc_key (uint8_t key[STORE_ALLOC_KEY_LEN], char tag, uint32_t addr)
{
    key[0] = (uint8_t)tag;
    key[1] = (uint8_t)(addr >> 24);
    key[2] = (uint8_t)(addr >> 16);
    key[3] = (uint8_t)(addr >> 8);
    key[4] = (uint8_t)addr;
}

bool store_alloc_key_parse (const void *key, size_t len, char tag, uint32_t *ret_addr)
{
    const uint8_t *k = key;
    if (len != STORE_ALLOC_KEY_LEN || k[0] != (uint8_t)tag) return false;
    *ret_addr = (uint32_t)k[1] << 24 | (uint32_t)k[2] << 16 | (uint32_t)k[3] << 8 | k[4];
    return true;
}

void store_alloc_svc_usable (const hs_cidr_t *range, uint32_t *ret_first, uint64_t *ret_count)
{
    uint64_t size = hs_cidr_size (range);
    *ret_first = range->addr + 1;
    *ret_count = size > 2 ? size - 2 : 0;
}

uint64_t store_alloc_svc_band (const hs_cidr_t *range)
{
    /* kube's calculateRangeOffset: of the whole size, network and
     * broadcast included */
    uint64_t size = hs_cidr_size (range);
    if (size <= STORE_ALLOC_BAND_MIN) return 0;
    uint64_t off = size / STORE_ALLOC_BAND_DIV;
    if (off < STORE_ALLOC_BAND_MIN) return STORE_ALLOC_BAND_MIN;
    return off > STORE_ALLOC_BAND_MAX ? STORE_ALLOC_BAND_MAX : off;
}

bool store_alloc_svc_in_range (const hs_cidr_t *range, uint32_t ip)
{
    uint32_t first;
    uint64_t count;
    store_alloc_svc_usable (range, &first, &count);
    return hs_cidr_contains (range, ip) && ip >= first && (uint64_t)(ip - first) < count;
}

bool store_alloc_held (const Hs__Object *o, char *ret_tag, hs_cidr_t *ret_block)
{
    switch (hs_obj_kind (o)) {
    case HS_KIND_SERVICE: {
        const Hs__ServiceSpec *s = o->service ? o->service->spec : NULL;
        uint32_t ip;
        if (!s || hs_ip_parse (s->cluster_ip, &ip) < 0) return false;
        *ret_tag = STORE_ALLOC_SVC;
        *ret_block = (hs_cidr_t){ip, 32};
        return true;
    }
    case HS_KIND_NODE: {
        const Hs__NodeSpec *s = o->node ? o->node->spec : NULL;
        hs_cidr_t c;
        if (!s || hs_cidr_parse (s->pod_cidr, &c) < 0) return false;
        *ret_tag = STORE_ALLOC_NODE;
        *ret_block = c;
        return true;
    }
    default: return false;
    }
}
