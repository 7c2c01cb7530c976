/*  hs_util.h: the small things every Homeostat file needs.
 *
 *  One out-of-memory policy for the whole project: hs_malloc and friends abort
 *  with a message when memory runs out, so callers never check for NULL.
 */
#ifndef HS_UTIL_H
#define HS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>

#define _cleanup_(f)    __attribute__ ((cleanup (f)))
#define HS_ARRAY_LEN(a) (sizeof (a) / sizeof ((a)[0]))

/* Take ownership out of a cleanup-managed variable: returns it and NULLs it. */
#define TAKE_PTR(p)                                                                                \
    ({                                                                                             \
        __typeof__ (p) _ptr_ = (p);                                                                \
        (p) = NULL;                                                                                \
        _ptr_;                                                                                     \
    })

void *hs_malloc (size_t size);
void *hs_calloc (size_t n, size_t size);
void *hs_realloc (void *p, size_t size);
char *hs_strdup (const char *s); /* NULL in, NULL out */
char *hs_strndup (const char *s, size_t n);
char *hs_sprintf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/* For cleanup attributes: free (*p). */
void hs_freep (void *p);
#define _cleanup_free_ _cleanup_ (hs_freep)

/* Never NULL: "" for NULL. */
static inline const char *hs_s (const char *s)
{
    return s ? s : "";
}
static inline bool hs_empty (const char *s)
{
    return !s || !*s;
}
bool hs_streq (const char *a, const char *b); /* NULL equals "" */
bool hs_startswith (const char *s, const char *prefix);

/* Clocks. wall: CLOCK_REALTIME in ns; mono: CLOCK_MONOTONIC in ns. */
int64_t hs_now_ns (void);
int64_t hs_mono_ns (void);

/* The fields of /proc/<pid>/stat after the command name, i.e. from field 3
 * (state) on, read into buf (len bytes; 1024 is plenty); NULL if the
 * process is gone. The name may hold spaces and parentheses: the fields
 * start after its last ')'. */
const char *hs_proc_stat (int pid, char *buf, size_t len);

/* Writes `len` random lower-case alphanumerics and a NUL into buf (len+1 bytes). */
void hs_random_id (char *buf, size_t len);
/* A random UUID v4 string, caller frees. */
char *hs_uuid (void);

/* RFC 3339 UTC text of a ns timestamp ("2026-11-21T12:00:00Z"), into buf. */
const char *hs_fmt_time (int64_t ns, char *buf, size_t len);
/* Parses RFC 3339 (Z or +hh:mm, optional fraction); 0 or -EINVAL. */
int hs_parse_time (const char *s, int64_t *ret_ns);
/* kubectl's short age: "5s", "3m12s", "4h", "2d", into buf. */
const char *hs_fmt_age (int64_t since_ns, int64_t now_ns, char *buf, size_t len);

/* Strict integer parse of the whole string; 0 or -EINVAL / -ERANGE. */
int hs_parse_i64 (const char *s, int64_t *ret);

/* a + b, clamped to INT64_MAX / INT64_MIN instead of overflowing: sums of
 * requests (valid but absurd ones included) never wrap. */
static inline int64_t hs_sat_add (int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_add_overflow (a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

/* mkdir -p: makes path and its missing parents, each with mode (existing
 * ones are left as they are). 0 when path is a directory afterwards, else
 * -errno (-ENOTDIR when something else has that name). */
int hs_mkdir_p (const char *path, mode_t mode);

/* Growable byte/char buffer. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
} hs_buf_t;
void hs_buf_append (hs_buf_t *b, const void *data, size_t len);
void hs_buf_puts (hs_buf_t *b, const char *s);
void hs_buf_printf (hs_buf_t *b, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
char *hs_buf_take (hs_buf_t *b); /* NUL-terminated; the buffer is reset */
void hs_buf_free (hs_buf_t *b);

#endif
