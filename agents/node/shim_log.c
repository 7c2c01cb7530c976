/*  shim_log.c: the CRI log writer of hs-shim (see shim_log.h). */
#include "shim_log.h"
#include "hs_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    char buf[SHIM_LOG_LINE_MAX];
    size_t len;
} s_stream_t;

struct shim_log_t {
    int dirfd; /* borrowed */
    char *name;
    int fd; /* -1 after a failed reopen; retried at the next record */
    uint64_t size;
    uint64_t max_bytes;
    unsigned max_files;
    uint64_t dropped;
    int first_errno;
    s_stream_t streams[2];
};

static const char *s_stream_names[] = {"stdout", "stderr"};

size_t shim_log_fmt_time (int64_t ns, char *buf, size_t len)
{
    time_t t = (time_t)(ns / 1000000000LL);
    struct tm tm;
    gmtime_r (&t, &tm);
    size_t n = strftime (buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    int m = snprintf (buf + n, len - n, ".%09lldZ", (long long)(ns % 1000000000LL));
    return n + (size_t)m;
}

static void s_drop (shim_log_t *self, int err)
{
    self->dropped++;
    if (!self->first_errno) self->first_errno = err;
}

static int s_open (shim_log_t *self)
{
    int fd = openat (self->dirfd, self->name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) return -errno;
    struct stat st;
    if (fstat (fd, &st) < 0) {
        int r = -errno;
        close (fd);
        return r;
    }
    self->fd = fd;
    self->size = (uint64_t)st.st_size;
    return 0;
}

/* NAME.k -> NAME.k+1 for k = max_files-2 .. 1, NAME -> NAME.1 (a rename over
 * NAME.max_files-1 drops the oldest), then a fresh NAME. With one file, NAME
 * is removed. */
static int s_rotate (shim_log_t *self)
{
    if (self->fd >= 0) {
        close (self->fd);
        self->fd = -1;
    }
    if (self->max_files == 1) {
        if (unlinkat (self->dirfd, self->name, 0) < 0 && errno != ENOENT) return -errno;
    } else {
        for (unsigned k = self->max_files - 2; k >= 1; k--) {
            _cleanup_free_ char *from = hs_sprintf ("%s.%u", self->name, k);
            _cleanup_free_ char *to = hs_sprintf ("%s.%u", self->name, k + 1);
            if (renameat (self->dirfd, from, self->dirfd, to) < 0 && errno != ENOENT) return -errno;
        }
        _cleanup_free_ char *first = hs_sprintf ("%s.1", self->name);
        if (renameat (self->dirfd, self->name, self->dirfd, first) < 0 && errno != ENOENT)
            return -errno;
    }
    return s_open (self);
}

static void s_record (shim_log_t *self, shim_log_stream_t stream, bool full, const char *data,
                      size_t len, int64_t now_ns)
{
    char head[64];
    size_t hlen = shim_log_fmt_time (now_ns, head, sizeof head);
    hlen += (size_t)snprintf (head + hlen, sizeof head - hlen, " %s %c ", s_stream_names[stream],
                              full ? 'F' : 'P');
    size_t total = hlen + len + 1;

    int r = self->fd < 0 ? s_open (self) : 0;
    if (r == 0 && self->size > 0 && self->size + total > self->max_bytes) r = s_rotate (self);
    if (r < 0) {
        s_drop (self, -r);
        return;
    }
    struct iovec iov[3] = {{head, hlen}, {(void *)data, len}, {"\n", 1}};
    struct iovec *v = iov;
    int n = 3;
    while (n > 0) {
        ssize_t w = writev (self->fd, v, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            /* Counted as dropped even if part of it (a torn record) got out. */
            s_drop (self, w < 0 ? errno : EIO);
            return;
        }
        self->size += (uint64_t)w;
        while (n > 0 && (size_t)w >= v->iov_len) {
            w -= (ssize_t)v->iov_len;
            v++;
            n--;
        }
        if (n > 0) {
            v->iov_base = (char *)v->iov_base + w;
            v->iov_len -= (size_t)w;
        }
    }
}

/* Writes every complete line of the stream's buffer, and the whole buffer as
 * a P chunk if it is full without a newline. Keeps the rest. */
static void s_drain (shim_log_t *self, shim_log_stream_t stream, int64_t now_ns)
{
    s_stream_t *s = &self->streams[stream];
    size_t off = 0;
    while (off < s->len) {
        char *nl = memchr (s->buf + off, '\n', s->len - off);
        if (!nl) break;
        size_t l = (size_t)(nl - (s->buf + off));
        s_record (self, stream, true, s->buf + off, l, now_ns);
        off += l + 1;
    }
    if (off == 0 && s->len == sizeof s->buf) {
        s_record (self, stream, false, s->buf, s->len, now_ns);
        off = s->len;
    }
    if (off > 0) {
        memmove (s->buf, s->buf + off, s->len - off);
        s->len -= off;
    }
}

int shim_log_new (int dirfd, const char *name, uint64_t max_bytes, unsigned max_files,
                  shim_log_t **ret_log)
{
    if (max_bytes < SHIM_LOG_MIN_BYTES || max_files < 1) return -EINVAL;
    shim_log_t *self = hs_calloc (1, sizeof *self);
    self->dirfd = dirfd;
    self->name = hs_strdup (name);
    self->fd = -1;
    self->max_bytes = max_bytes;
    self->max_files = max_files;
    int r = s_open (self);
    if (r < 0) {
        shim_log_destroy (&self);
        return r;
    }
    *ret_log = self;
    return 0;
}

void shim_log_destroy (shim_log_t **self_p)
{
    shim_log_t *self = *self_p;
    if (!self) return;
    int64_t now = hs_now_ns ();
    shim_log_eof (self, SHIM_LOG_STDOUT, now);
    shim_log_eof (self, SHIM_LOG_STDERR, now);
    if (self->fd >= 0) close (self->fd);
    free (self->name);
    free (self);
    *self_p = NULL;
}

void shim_log_feed (shim_log_t *self, shim_log_stream_t stream, const char *data, size_t len,
                    int64_t now_ns)
{
    s_stream_t *s = &self->streams[stream];
    while (len > 0) {
        size_t n = sizeof s->buf - s->len;
        if (n > len) n = len;
        memcpy (s->buf + s->len, data, n);
        s->len += n;
        data += n;
        len -= n;
        s_drain (self, stream, now_ns);
    }
}

void shim_log_eof (shim_log_t *self, shim_log_stream_t stream, int64_t now_ns)
{
    s_stream_t *s = &self->streams[stream];
    if (s->len == 0) return;
    s_record (self, stream, true, s->buf, s->len, now_ns);
    s->len = 0;
}

uint64_t shim_log_dropped (const shim_log_t *self, int *ret_first_errno)
{
    if (ret_first_errno) *ret_first_errno = self->first_errno;
    return self->dropped;
}
