/*  send_build.c: valid and deliberately broken bus messages for hs-send. */
#include "send_build.h"
#include "hs_util.h"

#include <errno.h>
#include <string.h>

static const char *s_names[SEND_GARBAGE__COUNT] = {
    [SEND_GARBAGE_FRAMES] = "frames",       [SEND_GARBAGE_DECODE] = "decode",
    [SEND_GARBAGE_OVERSIZED] = "oversized", [SEND_GARBAGE_BODY] = "body",
    [SEND_GARBAGE_TOPIC] = "topic",         [SEND_GARBAGE_HUGE] = "huge",
};

int send_garbage_parse (const char *name, send_garbage_t *ret)
{
    for (int i = 0; i < SEND_GARBAGE__COUNT; i++) {
        if (hs_streq (name, s_names[i])) {
            *ret = (send_garbage_t)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *send_garbage_name (send_garbage_t kind)
{
    return kind < SEND_GARBAGE__COUNT ? s_names[kind] : "?";
}

static uint8_t *s_pack (Hs__Envelope *env, const send_stamp_t *st, size_t *ret_len)
{
    env->sender = (char *)st->sender;
    env->sender_seq = st->seq;
    env->sent_at_ns = st->now_ns;
    size_t len = hs__envelope__get_packed_size (env);
    uint8_t *buf = hs_malloc (len ? len : 1);
    hs__envelope__pack (env, buf);
    *ret_len = len;
    return buf;
}

uint8_t *send_build_ping (const send_stamp_t *st, const char *nonce, size_t *ret_len)
{
    Hs__Envelope env = HS__ENVELOPE__INIT;
    Hs__Ping ping = HS__PING__INIT;
    ping.nonce = (char *)hs_s (nonce);
    env.body_case = HS__ENVELOPE__BODY_PING;
    env.ping = &ping;
    return s_pack (&env, st, ret_len);
}

static void s_frame (hs_frame_t *f, const void *data, size_t len)
{
    f->data = hs_malloc (len + 1);
    if (len) memcpy (f->data, data, len);
    f->data[len] = '\0';
    f->len = len;
}

static void s_random (uint8_t *p, size_t n)
{
    char id[65];
    while (n) {
        size_t k = n < 64 ? n : 64;
        hs_random_id (id, k);
        memcpy (p, id, k);
        p += k;
        n -= k;
    }
}

int send_build_garbage (send_garbage_t kind, const char *topic, const send_stamp_t *st,
                        hs_frame_t **ret_frames, size_t *ret_n)
{
    size_t n = 2;
    hs_frame_t *frames = hs_calloc (3, sizeof *frames);
    s_frame (&frames[0], topic, strlen (topic));
    size_t len;
    uint8_t *buf = NULL;
    switch (kind) {
    case SEND_GARBAGE_FRAMES:
        buf = send_build_ping (st, "garbage-frames", &len);
        s_frame (&frames[1], buf, len);
        s_frame (&frames[2], "extra", 5);
        n = 3;
        break;
    case SEND_GARBAGE_DECODE: {
        /* Field 0 with wire type 7 exists in no protobuf: the first byte makes
         * it undecodable whatever random bytes follow. */
        uint8_t junk[32];
        junk[0] = 0x07;
        s_random (junk + 1, sizeof junk - 1);
        s_frame (&frames[1], junk, sizeof junk);
        break;
    }
    case SEND_GARBAGE_OVERSIZED:
    case SEND_GARBAGE_HUGE:
        len = kind == SEND_GARBAGE_HUGE ? (size_t)HS_BUS_MAX_FRAME + 1 : (size_t)HS_BUS_MAX_MSG + 1;
        frames[1].data = hs_calloc (1, len + 1);
        frames[1].len = len;
        break;
    case SEND_GARBAGE_BODY: {
        Hs__Envelope env = HS__ENVELOPE__INIT;
        buf = s_pack (&env, st, &len);
        /* Field 99, varint 1: tag (99 << 3 | 0) = 792 = 0x98 0x06. */
        static const uint8_t unknown[] = {0x98, 0x06, 0x01};
        buf = hs_realloc (buf, len + sizeof unknown);
        memcpy (buf + len, unknown, sizeof unknown);
        s_frame (&frames[1], buf, len + sizeof unknown);
        break;
    }
    case SEND_GARBAGE_TOPIC: {
        free (frames[0].data);
        size_t tl = strlen (topic);
        frames[0].data = hs_malloc (tl + 4);
        memcpy (frames[0].data, topic, tl);
        memcpy (frames[0].data + tl, "\x01\xff ", 3);
        frames[0].data[tl + 3] = '\0';
        frames[0].len = tl + 3;
        buf = send_build_ping (st, "garbage-topic", &len);
        s_frame (&frames[1], buf, len);
        break;
    }
    default: hs_bus_frames_free (frames, 3); return -EINVAL;
    }
    free (buf);
    *ret_frames = frames;
    *ret_n = n;
    return 0;
}

static int s_nibble (char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int send_hex_decode (const char *hex, uint8_t **ret, size_t *ret_len)
{
    size_t cap = strlen (hex) / 2 + 1, n = 0;
    uint8_t *out = hs_malloc (cap);
    for (const char *p = hex; *p;) {
        if (*p == ' ' || *p == ':' || *p == '\t' || *p == '\n') {
            p++;
            continue;
        }
        int hi = s_nibble (p[0]), lo = p[1] ? s_nibble (p[1]) : -1;
        if (hi < 0 || lo < 0) {
            free (out);
            return -EINVAL;
        }
        out[n++] = (uint8_t)(hi << 4 | lo);
        p += 2;
    }
    *ret = out;
    *ret_len = n;
    return 0;
}
