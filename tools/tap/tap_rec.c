/*  tap_rec.c: writing and reading hs-tap recordings (format in tap_rec.h). */
#include "tap_rec.h"
#include "hs_util.h"

#include <errno.h>
#include <string.h>

static void s_put_u32 (uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t s_get_u32 (const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int tap_rec_write_header (FILE *f)
{
    return fwrite (TAP_REC_MAGIC, 1, TAP_REC_MAGIC_LEN, f) == TAP_REC_MAGIC_LEN ? 0 : -errno;
}

int tap_rec_write (FILE *f, int64_t recv_ns, const hs_frame_t *frames, size_t n)
{
    if (n == 0 || n > TAP_REC_MAX_FRAMES) return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (frames[i].len > TAP_REC_MAX_FRAME) return -EINVAL;
    uint8_t head[12];
    s_put_u32 (head, (uint32_t)((uint64_t)recv_ns >> 32));
    s_put_u32 (head + 4, (uint32_t)(uint64_t)recv_ns);
    s_put_u32 (head + 8, (uint32_t)n);
    if (fwrite (head, 1, sizeof head, f) != sizeof head) return errno ? -errno : -EIO;
    for (size_t i = 0; i < n; i++) {
        uint8_t len[4];
        s_put_u32 (len, (uint32_t)frames[i].len);
        if (fwrite (len, 1, 4, f) != 4) return errno ? -errno : -EIO;
        if (frames[i].len && fwrite (frames[i].data, 1, frames[i].len, f) != frames[i].len)
            return errno ? -errno : -EIO;
    }
    return 0;
}

int tap_rec_read_header (FILE *f, char **ret_error)
{
    char magic[TAP_REC_MAGIC_LEN];
    size_t got = fread (magic, 1, sizeof magic, f);
    if (got != sizeof magic || memcmp (magic, TAP_REC_MAGIC, TAP_REC_MAGIC_LEN) != 0) {
        *ret_error = hs_strdup (got == 0 && ferror (f) ? strerror (errno)
                                                       : "not an hs-tap recording (bad magic)");
        return -EBADMSG;
    }
    return 0;
}

/* Reads exactly len bytes: 1, 0 if at EOF before any byte, -1 if cut short. */
static int s_read_exact (FILE *f, void *buf, size_t len)
{
    size_t got = fread (buf, 1, len, f);
    if (got == len) return 1;
    return got == 0 && !ferror (f) ? 0 : -1;
}

int tap_rec_read (FILE *f, int64_t *ret_recv_ns, hs_frame_t **ret_frames, size_t *ret_n,
                  char **ret_error)
{
    long start = ftell (f);
    uint8_t head[12];
    int r = s_read_exact (f, head, sizeof head);
    if (r == 0) return 0;
    const char *what = NULL;
    hs_frame_t *frames = NULL;
    size_t n = 0, nframes = 0;
    if (r < 0) {
        what = "truncated message header";
        goto bad;
    }
    nframes = s_get_u32 (head + 8);
    if (nframes == 0 || nframes > TAP_REC_MAX_FRAMES) {
        what = "corrupt message header (frame count)";
        goto bad;
    }
    frames = hs_calloc (nframes, sizeof *frames);
    for (n = 0; n < nframes; n++) {
        uint8_t len[4];
        if (s_read_exact (f, len, 4) != 1) {
            what = "truncated frame length";
            goto bad;
        }
        uint32_t l = s_get_u32 (len);
        if (l > TAP_REC_MAX_FRAME) {
            what = "corrupt frame length";
            goto bad;
        }
        frames[n].data = hs_malloc ((size_t)l + 1);
        frames[n].len = l;
        frames[n].data[l] = '\0';
        if (l && s_read_exact (f, frames[n].data, l) != 1) {
            n++;
            what = "truncated frame";
            goto bad;
        }
    }
    *ret_recv_ns = (int64_t)((uint64_t)s_get_u32 (head) << 32 | s_get_u32 (head + 4));
    *ret_frames = frames;
    *ret_n = nframes;
    return 1;
bad:
    hs_bus_frames_free (frames, n);
    /* A pipe has no offset; the caller still says how many messages were good. */
    if (start < 0)
        *ret_error = hs_sprintf ("%s", what);
    else
        *ret_error = hs_sprintf ("%s in the message at byte %ld", what, start);
    return ferror (f) ? -EIO : -EBADMSG;
}
