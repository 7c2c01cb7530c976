/*  store_wal.c: the effects write-ahead log (see store_wal.h): encoding,
 *  CRC-32C, scanning with torn-tail detection, and the file itself.
 */
#include "store_wal.h"
#include "hs_util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* ------------------------------------------------------------------ little-endian */

static void s_le16 (uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void s_le32 (uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void s_le64 (uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t s_get32 (const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t s_get64 (const uint8_t *p)
{
    return (uint64_t)s_get32 (p) | (uint64_t)s_get32 (p + 4) << 32;
}

/* ------------------------------------------------------------------ CRC-32C */

static uint32_t s_table[256];

static void s_table_init (void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        s_table[i] = c;
    }
}

static uint32_t s_crc_sw (uint32_t c, const uint8_t *p, size_t n)
{
    static bool ready;
    if (!ready) { /* the store is single-threaded; the tests too */
        s_table_init ();
        ready = true;
    }
    while (n--) c = s_table[(c ^ *p++) & 0xff] ^ (c >> 8);
    return c;
}

#if defined(__x86_64__)
/* The SSE4.2 instruction computes the same polynomial much faster than the
 * table: a batch's payload is a few hundred KiB, so this matters. */
__attribute__ ((target ("sse4.2"))) static uint32_t s_crc_hw (uint32_t c, const uint8_t *p,
                                                              size_t n)
{
    uint64_t c64 = c;
    while (n >= 8) {
        uint64_t w;
        memcpy (&w, p, 8);
        c64 = __builtin_ia32_crc32di (c64, w);
        p += 8;
        n -= 8;
    }
    c = (uint32_t)c64;
    while (n--) c = __builtin_ia32_crc32qi (c, *p++);
    return c;
}
#endif

uint32_t store_wal_crc32c (uint32_t crc, const void *data, size_t len)
{
    uint32_t c = ~crc;
#if defined(__x86_64__)
    if (__builtin_cpu_supports ("sse4.2")) return ~s_crc_hw (c, data, len);
#endif
    return ~s_crc_sw (c, data, len);
}

/* ------------------------------------------------------------------ effects */

void store_wal_buf_free (store_wal_buf_t *b)
{
    free (b->data);
    memset (b, 0, sizeof *b);
}

static uint8_t *s_grow (store_wal_buf_t *b, size_t n)
{
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap * 2 : 64 * 1024;
        while (cap - b->len < n) cap *= 2;
        b->data = hs_realloc (b->data, cap);
        b->cap = cap;
    }
    uint8_t *p = b->data + b->len;
    b->len += n;
    return p;
}

void store_wal_effect_put (store_wal_buf_t *b, unsigned table, const void *key, size_t klen,
                           const void *v1, size_t l1, const void *v2, size_t l2)
{
    uint8_t *p = s_grow (b, 8 + klen + l1 + l2);
    p[0] = STORE_WAL_PUT;
    p[1] = (uint8_t)table;
    s_le16 (p + 2, (uint16_t)klen);
    s_le32 (p + 4, (uint32_t)(l1 + l2));
    memcpy (p + 8, key, klen);
    if (l1) memcpy (p + 8 + klen, v1, l1);
    if (l2) memcpy (p + 8 + klen + l1, v2, l2);
}

void store_wal_effect_del (store_wal_buf_t *b, unsigned table, const void *key, size_t klen)
{
    uint8_t *p = s_grow (b, 4 + klen);
    p[0] = STORE_WAL_DEL;
    p[1] = (uint8_t)table;
    s_le16 (p + 2, (uint16_t)klen);
    memcpy (p + 4, key, klen);
}

int store_wal_effect_next (const uint8_t *payload, size_t len, size_t *off, store_wal_effect_t *ret)
{
    size_t o = *off;
    if (o == len) return 0;
    if (len - o < 4) return -EBADMSG;
    const uint8_t *p = payload + o;
    store_wal_effect_t e = {.op = p[0], .table = p[1], .klen = (size_t)(p[2] | p[3] << 8)};
    size_t head = 4;
    if (e.op == STORE_WAL_PUT) {
        if (len - o < 8) return -EBADMSG;
        e.vlen = s_get32 (p + 4);
        head = 8;
    } else if (e.op != STORE_WAL_DEL) {
        return -EBADMSG;
    }
    if (len - o - head < e.klen || len - o - head - e.klen < e.vlen) return -EBADMSG;
    e.key = p + head;
    e.val = e.op == STORE_WAL_PUT ? p + head + e.klen : NULL;
    *off = o + head + e.klen + e.vlen;
    *ret = e;
    return 1;
}

/* ------------------------------------------------------------------ records */

static uint32_t s_record_crc (uint64_t batch, const uint8_t *payload, size_t len)
{
    uint8_t b[8];
    s_le64 (b, batch);
    /* The batch number is covered too: a flipped bit there would make replay
     * skip (or keep) a record it should not. */
    return store_wal_crc32c (store_wal_crc32c (0, b, 8), payload, len);
}

void store_wal_header (uint8_t hdr[STORE_WAL_HEADER], uint64_t batch, const uint8_t *payload,
                       size_t len)
{
    s_le32 (hdr, (uint32_t)len);
    s_le32 (hdr + 4, s_record_crc (batch, payload, len));
    s_le64 (hdr + 8, batch);
}

int store_wal_scan (const uint8_t *buf, size_t len, store_wal_fn fn, void *arg, size_t *ret_valid)
{
    size_t off = 0;
    int n = 0;
    uint64_t last = 0;
    for (;;) {
        if (len - off < STORE_WAL_HEADER) break; /* torn header (or the end) */
        const uint8_t *h = buf + off;
        uint32_t plen = s_get32 (h), crc = s_get32 (h + 4);
        uint64_t batch = s_get64 (h + 8);
        if (plen > STORE_WAL_MAX_RECORD || len - off - STORE_WAL_HEADER < plen) break;
        const uint8_t *payload = h + STORE_WAL_HEADER;
        if (s_record_crc (batch, payload, plen) != crc) break;
        /* Out of order: not something we wrote after the record before it
         * (e.g. a stale record surviving beyond a truncation). */
        if (batch <= last) break;
        if (fn) {
            int r = fn (arg, batch, payload, plen);
            if (r < 0) return r;
        }
        last = batch;
        off += STORE_WAL_HEADER + plen;
        n++;
    }
    if (ret_valid) *ret_valid = off;
    return n;
}

bool store_wal_is_end (const uint8_t *buf, size_t len, size_t off)
{
    if (len - off < STORE_WAL_HEADER) return off == len;
    for (size_t i = 0; i < STORE_WAL_HEADER; i++)
        if (buf[off + i]) return false;
    return true;
}

/* ------------------------------------------------------------------ the file */

struct store_wal_t {
    int fd;
    bool nosync;
    uint64_t size; /* where the next record goes: the end of the records */
    uint64_t end;  /* the file's length: reset keeps it, to reuse the blocks */
};

int store_wal_open (const char *path, bool nosync, store_wal_t **ret_wal)
{
    int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return -errno;
    struct stat st;
    if (fstat (fd, &st) != 0) {
        int err = -errno;
        close (fd);
        return err;
    }
    /* The file's name must survive a power loss too: fsync the directory
     * (the file may have just been created), once, before any append is
     * acked. */
    if (!nosync) {
        const char *slash = strrchr (path, '/');
        _cleanup_free_ char *dir = slash ? hs_strndup (path, (size_t)(slash - path)) : NULL;
        int dfd = open (dir && *dir ? dir : slash ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int err = dfd < 0 || fsync (dfd) != 0 ? -errno : 0;
        if (dfd >= 0) close (dfd);
        if (err < 0) {
            close (fd);
            return err;
        }
    }
    store_wal_t *self = hs_calloc (1, sizeof *self);
    self->fd = fd;
    self->nosync = nosync;
    self->size = (uint64_t)st.st_size;
    self->end = self->size;
    *ret_wal = self;
    return 0;
}

void store_wal_destroy (store_wal_t **self_p)
{
    store_wal_t *self = *self_p;
    if (!self) return;
    close (self->fd);
    free (self);
    *self_p = NULL;
}

uint64_t store_wal_size (store_wal_t *self)
{
    return self->size;
}

int store_wal_read (store_wal_t *self, uint8_t **ret_buf, size_t *ret_len)
{
    struct stat st;
    if (fstat (self->fd, &st) != 0) return -errno;
    size_t len = (size_t)st.st_size, got = 0;
    uint8_t *buf = hs_malloc (len ? len : 1);
    while (got < len) {
        ssize_t r = pread (self->fd, buf + got, len - got, (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            int err = r < 0 ? -errno : -EIO;
            free (buf);
            return err;
        }
        got += (size_t)r;
    }
    *ret_buf = buf;
    *ret_len = len;
    return 0;
}

int store_wal_append (store_wal_t *self, uint64_t batch, const uint8_t *payload, size_t len)
{
    if (len > STORE_WAL_MAX_RECORD) return -EFBIG;
    uint8_t hdr[STORE_WAL_HEADER];
    store_wal_header (hdr, batch, payload, len);
    struct iovec iov[2] = {{hdr, sizeof hdr}, {(void *)payload, len}};
    size_t want = sizeof hdr + len, done = 0;
    int err = 0;
    /* pwritev at our own idea of the end, not O_APPEND: after a failed
     * append the next one overwrites the partial bytes instead of following
     * them (a replay would stop at the garbage and miss what came after). */
    while (done < want) {
        struct iovec v[2];
        int n = 0;
        size_t skip = done;
        for (int i = 0; i < 2; i++) {
            if (skip >= iov[i].iov_len) {
                skip -= iov[i].iov_len;
                continue;
            }
            v[n].iov_base = (uint8_t *)iov[i].iov_base + skip;
            v[n].iov_len = iov[i].iov_len - skip;
            skip = 0;
            n++;
        }
        ssize_t w = pwritev (self->fd, v, n, (off_t)(self->size + done));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            err = w < 0 ? -errno : -EIO;
            break;
        }
        done += (size_t)w;
    }
    /* THE durability point of a batch: its acks go out only after this
     * fdatasync returns. fdatasync (not fsync) is enough: the file's size,
     * which it also persists, is the only metadata a replay needs. */
    if (err == 0 && !self->nosync && fdatasync (self->fd) != 0) err = -errno;
    if (err < 0) {
        /* Best effort: the caller treats the batch as failed either way, and
         * a replay stops at a torn record. */
        if (ftruncate (self->fd, (off_t)self->size) != 0) {
            /* nothing more to do: the caller recovers from the log as it is */
        }
        self->end = self->size;
        return err;
    }
    self->size += want;
    if (self->size > self->end) self->end = self->size;
    return 0;
}

int store_wal_reset (store_wal_t *self, bool truncate)
{
    /* Not synced, on purpose: every record in the file is already in
     * committed LMDB state (a checkpoint precedes this), and replay skips
     * records at or below LMDB's wal_batch; should the reset be lost in a
     * crash, the stale records are skipped. Records left behind the next
     * window's appends are older, so a replay stops at them: they carry
     * lower batch numbers, or fail the CRC where a new record ends inside
     * one of them.
     *
     * Reuse rather than truncate: fdatasync after appending past the end
     * must also write the file's new size (a journal commit); overwriting
     * blocks the file already has needs none, so the log's fdatasync is
     * much shorter (docs/architecture.md §4). The zeroed first
     * header is what marks the log empty, for the replay (it stops there)
     * and for readers beside the store (hs_db_snapshot). */
    if (truncate || self->end > STORE_WAL_KEEP) {
        if (ftruncate (self->fd, 0) != 0) return -errno;
        self->end = 0;
    } else if (self->end > 0) {
        static const uint8_t zeros[STORE_WAL_HEADER];
        size_t n = self->end < sizeof zeros ? (size_t)self->end : sizeof zeros;
        ssize_t w;
        do w = pwrite (self->fd, zeros, n, 0);
        while (w < 0 && errno == EINTR);
        if (w != (ssize_t)n) return w < 0 ? -errno : -EIO;
    }
    self->size = 0;
    return 0;
}
