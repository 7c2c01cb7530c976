/*  hs_quantity.h: Kubernetes resource quantities.
 *
 *  CPU: "500m", "2", "0.5", "1.25" -> millicores. Memory: "64Mi", "1Gi", "1G",
 *  "128974848", "129e6", "123Ki", "1k" -> bytes. Both reject negative values,
 *  junk suffixes and overflow with -EINVAL / -ERANGE.
 */
#ifndef HS_QUANTITY_H
#define HS_QUANTITY_H

#include <stdint.h>

int hs_quantity_cpu_milli (const char *s, int64_t *ret_milli);
int hs_quantity_bytes (const char *s, int64_t *ret_bytes);
/* Plain count ("110" pods). */
int hs_quantity_count (const char *s, int64_t *ret);

/* "500m" or "2"; caller frees. */
char *hs_quantity_fmt_cpu (int64_t milli);
/* The largest exact binary suffix: "64Mi", "1Gi", "1000"; caller frees. */
char *hs_quantity_fmt_bytes (int64_t bytes);

#endif
