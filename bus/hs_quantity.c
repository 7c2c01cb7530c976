/*  hs_quantity.c: Kubernetes resource quantities, parsed strictly.
 *
 *  A quantity is <number><suffix>: an unsigned decimal number ("2", "0.5",
 *  ".5", "1.") and one of the binary suffixes Ki..Ei, the decimal suffixes
 *  n u m "" k M G T P E, or a decimal exponent e<int>/E<int>. Arithmetic is
 *  exact (128-bit); fractions round up, as Kubernetes' Value/MilliValue do.
 */
#include "hs_quantity.h"
#include "hs_util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MAX_DIGITS   20  /* significant digits kept exactly */
#define MAX_EXPONENT 100 /* |e| beyond this is nonsense for a resource */

typedef __int128 s_i128;

/* Parses s into value = mantissa * 2^exp2 * 10^exp10. */
static int s_parse (const char *s, s_i128 *ret_mantissa, int *ret_exp2, int *ret_exp10)
{
    if (hs_empty (s)) return -EINVAL;
    const char *p = s;
    if (*p == '+') p++;
    if (*p == '-') return -EINVAL; /* negative quantities are never valid here */
    s_i128 mant = 0;
    int digits = 0, frac = 0, exp10 = 0;
    bool seen_digit = false, seen_dot = false;
    for (;; p++) {
        if (*p >= '0' && *p <= '9') {
            seen_digit = true;
            if (mant == 0 && *p == '0') {
                if (seen_dot) frac++;
                continue; /* leading zeros carry no precision */
            }
            if (digits >= MAX_DIGITS) return -ERANGE; /* more precision than we keep */
            mant = mant * 10 + (*p - '0');
            digits++;
            if (seen_dot) frac++;
        } else if (*p == '.' && !seen_dot) {
            seen_dot = true;
        } else {
            break;
        }
    }
    if (!seen_digit) return -EINVAL;
    int exp2 = 0;
    const char *suf = p;
    if (!*suf) {
    } else if (suf[1] == 'i' && !suf[2]) {
        static const char binary[] = "KMGTPE";
        const char *b = strchr (binary, suf[0]);
        if (!b || !*b) return -EINVAL;
        exp2 = 10 * (int)(b - binary + 1);
    } else if (!suf[1] && strchr ("numkMGTPE", suf[0])) {
        switch (suf[0]) {
        case 'n': exp10 = -9; break;
        case 'u': exp10 = -6; break;
        case 'm': exp10 = -3; break;
        case 'k': exp10 = 3; break;
        case 'M': exp10 = 6; break;
        case 'G': exp10 = 9; break;
        case 'T': exp10 = 12; break;
        case 'P': exp10 = 15; break;
        case 'E': exp10 = 18; break;
        }
    } else if (suf[0] == 'e' || suf[0] == 'E') {
        const char *q = suf + 1;
        int sign = 1;
        if (*q == '+' || *q == '-') sign = *q++ == '-' ? -1 : 1;
        if (!*q) return -EINVAL;
        int e = 0;
        for (; *q; q++) {
            if (*q < '0' || *q > '9') return -EINVAL;
            e = e * 10 + (*q - '0');
            if (e > MAX_EXPONENT) return -ERANGE;
        }
        exp10 = sign * e;
    } else {
        return -EINVAL;
    }
    *ret_mantissa = mant;
    *ret_exp2 = exp2;
    *ret_exp10 = exp10 - frac;
    return 0;
}

/* value * 10^scale, rounded up, into an int64. */
static int s_scaled (const char *s, int scale, int64_t *ret)
{
    s_i128 v;
    int exp2, exp10;
    int r = s_parse (s, &v, &exp2, &exp10);
    if (r < 0) return r;
    v <<= exp2; /* mantissa < 10^20 < 2^67 and exp2 <= 60: fits */
    int e = exp10 + scale;
    const s_i128 max = INT64_MAX;
    if (e >= 0) {
        for (int i = 0; i < e && v != 0; i++) {
            if (v > max) return -ERANGE;
            v *= 10;
        }
    } else if (v != 0) {
        if (-e > 38) {
            v = 1; /* a positive amount far below one unit rounds up to one */
        } else {
            s_i128 d = 1;
            for (int i = 0; i < -e; i++) d *= 10;
            v = v / d + (v % d != 0);
        }
    }
    if (v > max) return -ERANGE;
    *ret = (int64_t)v;
    return 0;
}

int hs_quantity_cpu_milli (const char *s, int64_t *ret_milli)
{
    return s_scaled (s, 3, ret_milli);
}

int hs_quantity_bytes (const char *s, int64_t *ret_bytes)
{
    return s_scaled (s, 0, ret_bytes);
}

int hs_quantity_count (const char *s, int64_t *ret)
{
    return s_scaled (s, 0, ret);
}

char *hs_quantity_fmt_cpu (int64_t milli)
{
    if (milli % 1000 == 0) return hs_sprintf ("%lld", (long long)(milli / 1000));
    return hs_sprintf ("%lldm", (long long)milli);
}

char *hs_quantity_fmt_bytes (int64_t bytes)
{
    static const char *suffix[] = {"Ei", "Pi", "Ti", "Gi", "Mi", "Ki"};
    if (bytes != 0) {
        for (int i = 0; i < 6; i++) {
            int shift = 60 - 10 * i;
            int64_t unit = (int64_t)1 << shift;
            if (bytes % unit == 0)
                return hs_sprintf ("%lld%s", (long long)(bytes / unit), suffix[i]);
        }
    }
    return hs_sprintf ("%lld", (long long)bytes);
}
