/*  hs_util.c: allocation, strings, clocks, ids and time text. */
#include "hs_util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void s_oom (size_t size)
{
    fprintf (stderr, "fatal: out of memory allocating %zu bytes\n", size);
    abort ();
}

void *hs_malloc (size_t size)
{
    void *p = malloc (size ? size : 1);
    if (!p) s_oom (size);
    return p;
}

void *hs_calloc (size_t n, size_t size)
{
    void *p = calloc (n ? n : 1, size ? size : 1);
    if (!p) s_oom (n * size);
    return p;
}

void *hs_realloc (void *p, size_t size)
{
    void *q = realloc (p, size ? size : 1);
    if (!q) s_oom (size);
    return q;
}

char *hs_strdup (const char *s)
{
    if (!s) return NULL;
    char *d = strdup (s);
    if (!d) s_oom (strlen (s));
    return d;
}

char *hs_strndup (const char *s, size_t n)
{
    if (!s) return NULL;
    char *d = strndup (s, n);
    if (!d) s_oom (n);
    return d;
}

char *hs_sprintf (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    char *s = NULL;
    int r = vasprintf (&s, fmt, ap);
    va_end (ap);
    if (r < 0) s_oom (strlen (fmt));
    return s;
}

void hs_freep (void *p)
{
    free (*(void **)p);
    *(void **)p = NULL;
}

bool hs_streq (const char *a, const char *b)
{
    return strcmp (hs_s (a), hs_s (b)) == 0;
}

bool hs_startswith (const char *s, const char *prefix)
{
    return strncmp (hs_s (s), prefix, strlen (prefix)) == 0;
}

int64_t hs_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t hs_mono_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void s_getrandom (void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t r = getrandom (p, len, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            /* getrandom cannot fail on Linux >= 3.17 with a valid buffer */
            abort ();
        }
        p += r;
        len -= (size_t)r;
    }
}

/* Random bytes from a per-thread 4 KiB pool refilled by getrandom: one
 * getrandom per uuid showed in hs-store's profile (docs/architecture.md §4). A forked
 * child starts with an empty pool, so parent and child never share values. */
static __thread uint8_t s_pool[4096];
static __thread size_t s_pool_used = sizeof s_pool;
static pthread_once_t s_pool_once = PTHREAD_ONCE_INIT;

static void s_pool_after_fork (void)
{
    s_pool_used = sizeof s_pool;
}

static void s_pool_init (void)
{
    pthread_atfork (NULL, NULL, s_pool_after_fork);
}

static void s_random_bytes (void *buf, size_t len)
{
    pthread_once (&s_pool_once, s_pool_init);
    if (len > sizeof s_pool / 4) {
        s_getrandom (buf, len);
        return;
    }
    if (s_pool_used + len > sizeof s_pool) {
        s_getrandom (s_pool, sizeof s_pool);
        s_pool_used = 0;
    }
    memcpy (buf, s_pool + s_pool_used, len);
    /* used bytes are not kept around */
    memset (s_pool + s_pool_used, 0, len);
    s_pool_used += len;
}

void hs_random_id (char *buf, size_t len)
{
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    uint8_t raw[64];
    size_t done = 0;
    while (done < len) {
        size_t chunk = len - done < sizeof raw ? len - done : sizeof raw;
        s_random_bytes (raw, chunk);
        for (size_t i = 0; i < chunk; i++) buf[done + i] = alphabet[raw[i] % (sizeof alphabet - 1)];
        done += chunk;
    }
    buf[len] = '\0';
}

char *hs_uuid (void)
{
    uint8_t b[16];
    s_random_bytes (b, sizeof b);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789abcdef";
    char *s = hs_malloc (37), *p = s;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) *p++ = '-';
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 15];
    }
    *p = '\0';
    return s;
}

const char *hs_fmt_time (int64_t ns, char *buf, size_t len)
{
    time_t t = (time_t)(ns / 1000000000LL);
    struct tm tm;
    gmtime_r (&t, &tm);
    strftime (buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

static bool s_digits (const char *p, int n)
{
    for (int i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9') return false;
    return true;
}

int hs_parse_time (const char *s, int64_t *ret_ns)
{
    struct tm tm = {0};
    /* RFC 3339's shape, every field its full width (strptime alone takes
     * "00:00:2" for 00:00:02): YYYY-MM-DDTHH:MM:SS */
    const char *q = hs_s (s);
    if (!s_digits (q, 4) || q[4] != '-' || !s_digits (q + 5, 2) || q[7] != '-' ||
        !s_digits (q + 8, 2) || (q[10] != 'T' && q[10] != 't') || !s_digits (q + 11, 2) ||
        q[13] != ':' || !s_digits (q + 14, 2) || q[16] != ':' || !s_digits (q + 17, 2))
        return -EINVAL;
    const char *p = strptime (q, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p || p != q + 19) return -EINVAL;
    int64_t frac = 0;
    if (*p == '.') {
        if (p[1] < '0' || p[1] > '9') return -EINVAL; /* "12:00:00.Z" */
        int64_t scale = 100000000;
        for (p++; *p >= '0' && *p <= '9'; p++) {
            frac += (*p - '0') * scale;
            scale /= 10;
        }
    }
    int64_t offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        /* exactly "+hh:mm" */
        if (!s_digits (p + 1, 2) || p[3] != ':' || !s_digits (p + 4, 2)) return -EINVAL;
        int hh = (p[1] - '0') * 10 + (p[2] - '0');
        int mm = (p[4] - '0') * 10 + (p[5] - '0');
        if (hh > 23 || mm > 59) return -EINVAL;
        offset = (hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -EINVAL;
    }
    if (*p) return -EINVAL;
    /* timegm normalises 2020-02-31 into March: refuse dates that are not real */
    struct tm check = tm;
    int64_t secs = (int64_t)timegm (&check);
    if (check.tm_mday != tm.tm_mday || check.tm_mon != tm.tm_mon || check.tm_year != tm.tm_year)
        return -EINVAL;
    int64_t ns;
    if (__builtin_sub_overflow (secs, offset, &secs) ||
        __builtin_mul_overflow (secs, (int64_t)1000000000, &ns) ||
        __builtin_add_overflow (ns, frac, &ns))
        return -ERANGE; /* outside 1677..2262, what nanoseconds in an int64 can hold */
    *ret_ns = ns;
    return 0;
}

const char *hs_fmt_age (int64_t since_ns, int64_t now_ns, char *buf, size_t len)
{
    if (since_ns <= 0) {
        snprintf (buf, len, "<unknown>");
        return buf;
    }
    int64_t d = (now_ns - since_ns) / 1000000000LL;
    if (d < 0) d = 0;
    /* kubectl's HumanDuration, abridged */
    if (d < 120)
        snprintf (buf, len, "%llds", (long long)d);
    else if (d < 600) {
        if (d % 60)
            snprintf (buf, len, "%lldm%llds", (long long)d / 60, (long long)d % 60);
        else
            snprintf (buf, len, "%lldm", (long long)d / 60);
    } else if (d < 3 * 3600)
        snprintf (buf, len, "%lldm", (long long)d / 60);
    else if (d < 8 * 3600) {
        long long h = d / 3600, m = (d % 3600) / 60;
        if (m)
            snprintf (buf, len, "%lldh%lldm", h, m);
        else
            snprintf (buf, len, "%lldh", h);
    } else if (d < 48 * 3600)
        snprintf (buf, len, "%lldh", (long long)d / 3600);
    else if (d < 8 * 86400) {
        long long dd = d / 86400, h = (d % 86400) / 3600;
        if (h)
            snprintf (buf, len, "%lldd%lldh", dd, h);
        else
            snprintf (buf, len, "%lldd", dd);
    } else if (d < 2 * 365 * 86400LL)
        snprintf (buf, len, "%lldd", (long long)d / 86400);
    else
        snprintf (buf, len, "%lldy", (long long)d / (365 * 86400LL));
    return buf;
}

int hs_mkdir_p (const char *path, mode_t mode)
{
    if (hs_empty (path)) return -ENOENT;
    _cleanup_free_ char *p = hs_strdup (path);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0') continue;
        char c = *s;
        *s = '\0';
        if (mkdir (p, mode) != 0 && errno != EEXIST) return -errno;
        *s = c;
        if (c == '\0') break;
    }
    struct stat st;
    if (stat (path, &st) != 0) return -errno;
    return S_ISDIR (st.st_mode) ? 0 : -ENOTDIR;
}

int hs_parse_i64 (const char *s, int64_t *ret)
{
    if (hs_empty (s)) return -EINVAL;
    char *end = NULL;
    errno = 0;
    long long v = strtoll (s, &end, 10);
    if (errno == ERANGE) return -ERANGE;
    if (*end || end == s) return -EINVAL;
    *ret = v;
    return 0;
}

void hs_buf_append (hs_buf_t *b, const void *data, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len + 1) cap *= 2;
        b->data = hs_realloc (b->data, cap);
        b->cap = cap;
    }
    memcpy (b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void hs_buf_puts (hs_buf_t *b, const char *s)
{
    hs_buf_append (b, s, strlen (s));
}

void hs_buf_printf (hs_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    char *s = NULL;
    int r = vasprintf (&s, fmt, ap);
    va_end (ap);
    if (r < 0) s_oom (strlen (fmt));
    hs_buf_append (b, s, (size_t)r);
    free (s);
}

char *hs_buf_take (hs_buf_t *b)
{
    if (!b->data) return hs_strdup ("");
    char *d = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

void hs_buf_free (hs_buf_t *b)
{
    free (b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

const char *hs_proc_stat (int pid, char *buf, size_t len)
{
    char path[64];
    snprintf (path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen (path, "re");
    if (!f) return NULL;
    size_t n = fread (buf, 1, len - 1, f);
    fclose (f);
    buf[n] = '\0';
    char *s = strrchr (buf, ')');
    return s ? s + 1 : NULL;
}
