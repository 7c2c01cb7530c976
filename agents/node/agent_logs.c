/*  agent_logs.c: `hsctl logs` served from the node (see agent_logs.h).
 *
 *  A stream reads one file at a time through a descriptor, so a rotation
 *  (a rename) never moves the bytes under it. Which file comes next is
 *  found afresh each time by listing the run directory's log files newest
 *  first and taking the one just newer than ours, by inode: that survives
 *  any number of rotations between two turns, and a file the rotation
 *  dropped while we were behind is skipped (its lines are gone from disk).
 *  Only complete records (ending in a newline) are used; the bytes of one
 *  being written wait for the next turn.
 */
#include "agent_logs.h"
#include "agent_rules.h"
#include "shim_log.h"

#include "hs_topic.h"
#include "hs_log.h"
#include "hs_pb.h"
#include "hs_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MS                (1000000LL)
#define CHUNK_MAX         (64 * 1024)               /* data bytes per LogChunk */
#define READ_MAX          (64 * 1024)               /* bytes per read */
#define RECORD_MAX        (SHIM_LOG_LINE_MAX + 256) /* a CRI record with its header */
#define HEAD_MAX          96                        /* "<time> <stream> <tag> " fits */
#define STREAMS_MAX       64                        /* open streams */
#define DONE_MAX          256                       /* finished streams remembered */
#define DONE_KEEP_NS      (10000 * MS)              /* ... for this long */
#define TURN_STREAM_BYTES ((size_t)256 * 1024)      /* read per stream per turn */
#define TURN_BYTES        ((size_t)1024 * 1024)     /* read per turn, all streams */
#define POLL_NS           (150 * MS)                /* a follow looks for new lines */
#define IDLE_NS           (5000 * MS)               /* no request for this long: dropped */
#define BEAT_NS           (2000 * MS)               /* an empty chunk while quiet */
#define RESEND_NS         (500 * MS)                /* a finished stream's last chunk, again */
#define FILES_MAX         128                       /* container.log.N probed */

typedef struct {
    dev_t dev;
    ino_t ino;
    off_t size;
    int index; /* 0: container.log; k: container.log.k */
} s_file_t;

typedef struct {
    char *client_id, *request_id;
    char *topic; /* logs.<client_id> */
    int dirfd;   /* the run directory; -1 once done */
    bool follow, timestamps;
    int64_t limit; /* bytes still allowed; -1: no limit */
    uint64_t seq;  /* of the last chunk sent */
    int64_t heard_mono, poll_mono, sent_mono;
    /* the file being read: fd -1 = before the oldest one */
    int fd;
    dev_t dev;
    ino_t ino;
    off_t off;
    /* not following: the end, the newest file and its size at the request */
    bool has_end;
    dev_t end_dev;
    ino_t end_ino;
    off_t end_size;
    hs_buf_t in;   /* the start of a record not complete yet */
    bool skipping; /* in a record over RECORD_MAX: dropping to its newline */
    bool mid_line; /* the last record was P: its line goes on */
    hs_buf_t out;  /* output not sent yet (less than a chunk) */
    bool backlog;  /* the last turn stopped at its budget */
    bool done;
    bool dead; /* to be freed at the end of the turn */
    int64_t done_mono, resent_mono;
    Hs__LogChunk *last; /* the final chunk, for a repeated request */
} s_stream_t;

struct agent_logs_t {
    hs_client_t *client; /* borrowed */
    agent_pods_t *pods;  /* borrowed */
    char *node;
    char *topic; /* logreq.<node> */
    s_stream_t **streams;
    size_t n_streams;
    size_t rr; /* round robin: the stream that goes first this turn */
    uint64_t refused, bad_records;
    char rbuf[READ_MAX];
};

/* ------------------------------------------------------------------ streams */

static size_t s_active (const agent_logs_t *self)
{
    size_t n = 0;
    for (size_t i = 0; i < self->n_streams; i++) n += !self->streams[i]->done;
    return n;
}

static s_stream_t *s_find (agent_logs_t *self, const char *client_id, const char *request_id)
{
    for (size_t i = 0; i < self->n_streams; i++) {
        s_stream_t *s = self->streams[i];
        if (!s->dead && hs_streq (s->client_id, client_id) && hs_streq (s->request_id, request_id))
            return s;
    }
    return NULL;
}

/* The buffers stay: s_finish may run while a record in `in` is being
 * used. agent_logs_work frees them once the turn is over. */
static void s_close_files (s_stream_t *s)
{
    if (s->fd >= 0) close (s->fd);
    if (s->dirfd >= 0) close (s->dirfd);
    s->fd = s->dirfd = -1;
}

static void s_stream_free (s_stream_t *s)
{
    s_close_files (s);
    hs_buf_free (&s->in);
    hs_buf_free (&s->out);
    free (s->client_id);
    free (s->request_id);
    free (s->topic);
    hs_pb_free (s->last);
    free (s);
}

static void s_publish (agent_logs_t *self, s_stream_t *s, Hs__LogChunk *c)
{
    Hs__Envelope env = HS__ENVELOPE__INIT;
    env.body_case = HS__ENVELOPE__BODY_LOG_CHUNK;
    env.log_chunk = c;
    int r = hs_bus_publish (hs_client_bus (self->client), s->topic, &env);
    hs_pb_take_str (&env.sender, NULL); /* publish set a heap copy */
    /* A lost chunk is a gap in seq, which hsctl reports. */
    if (r < 0) log_debug ("logs %s: cannot publish a chunk: %s", s->topic, strerror (-r));
}

/* Sends one chunk. The final one (eof) is kept for a repeated request. */
static void s_send (agent_logs_t *self, s_stream_t *s, const void *data, size_t len, bool eof,
                    Hs__Code code, const char *message)
{
    Hs__LogChunk c = HS__LOG_CHUNK__INIT;
    c.request_id = s->request_id;
    c.data.data = (uint8_t *)data;
    c.data.len = len;
    c.eof = eof;
    c.code = code;
    c.message = (char *)hs_s (message);
    c.seq = ++s->seq;
    s_publish (self, s, &c);
    s->sent_mono = hs_mono_ns ();
    if (!eof) return;
    s->last = hs_pb_new (&hs__log_chunk__descriptor);
    hs_pb_set_str (&s->last->request_id, s->request_id);
    hs_pb_set_str (&s->last->message, message);
    if (len) {
        s->last->data.data = hs_malloc (len);
        memcpy (s->last->data.data, data, len);
        s->last->data.len = len;
    }
    s->last->eof = true;
    s->last->code = code;
    s->last->seq = s->seq;
}

/* Ends the stream: what is left of the output goes in the last chunk. */
static void s_finish (agent_logs_t *self, s_stream_t *s, Hs__Code code, const char *message)
{
    if (s->done) return;
    s_send (self, s, s->out.data, s->out.len, true, code, message);
    s_close_files (s);
    s->done = true;
    s->done_mono = hs_mono_ns ();
}

/* Output for the client: full chunks go out at once; the limit cuts it. */
static void s_out (agent_logs_t *self, s_stream_t *s, const char *data, size_t len)
{
    if (s->done) return;
    bool cut = false;
    if (s->limit >= 0 && (int64_t)len >= s->limit) {
        cut = true;
        len = (size_t)s->limit;
    }
    if (s->limit >= 0) s->limit -= (int64_t)len;
    hs_buf_append (&s->out, data, len);
    size_t sent = 0;
    while (s->out.len - sent >= CHUNK_MAX) {
        s_send (self, s, s->out.data + sent, CHUNK_MAX, false, HS__CODE__CODE_OK, NULL);
        sent += CHUNK_MAX;
    }
    if (sent) {
        memmove (s->out.data, s->out.data + sent, s->out.len - sent);
        s->out.len -= sent;
    }
    if (cut) s_finish (self, s, HS__CODE__CODE_OK, NULL);
}

/* ------------------------------------------------------------------ records */

/* "<time> <stream> <F|P> <content>": the time and where the tag is. false if
 * it is not a CRI record. */
static bool s_parse (const char *rec, size_t len, size_t *ret_time_len, size_t *ret_tag)
{
    const char *sp1 = memchr (rec, ' ', len);
    if (!sp1 || sp1 == rec) return false;
    const char *stream = sp1 + 1;
    const char *sp2 = memchr (stream, ' ', len - (size_t)(stream - rec));
    if (!sp2) return false;
    size_t slen = (size_t)(sp2 - stream);
    if (!(slen == 6 && (!memcmp (stream, "stdout", 6) || !memcmp (stream, "stderr", 6))))
        return false;
    size_t tag = (size_t)(sp2 + 1 - rec);
    if (tag >= len || (rec[tag] != 'F' && rec[tag] != 'P')) return false;
    if (tag + 1 < len && rec[tag + 1] != ' ') return false;
    *ret_time_len = (size_t)(sp1 - rec);
    *ret_tag = tag;
    return true;
}

/* One complete record (without its newline) into output. */
static void s_record (agent_logs_t *self, s_stream_t *s, const char *rec, size_t len)
{
    size_t tlen, tag;
    if (!s_parse (rec, len, &tlen, &tag)) {
        self->bad_records++;
        return;
    }
    size_t content = tag + 2 <= len ? tag + 2 : len;
    if (!s->mid_line && s->timestamps) {
        s_out (self, s, rec, tlen);
        s_out (self, s, " ", 1);
    }
    s_out (self, s, rec + content, len - content);
    if (rec[tag] == 'F') {
        s_out (self, s, "\n", 1);
        s->mid_line = false;
    } else
        s->mid_line = true;
}

/* Bytes read from the current file: complete records are used, the start of
 * an incomplete one is kept. */
static void s_feed (agent_logs_t *self, s_stream_t *s, const char *data, size_t len)
{
    while (len > 0 && !s->done) {
        const char *nl = memchr (data, '\n', len);
        size_t l = nl ? (size_t)(nl - data) : len;
        if (s->skipping) {
            if (nl) s->skipping = false;
        } else if (!nl) {
            if (s->in.len + l > RECORD_MAX) {
                self->bad_records++;
                s->in.len = 0;
                s->skipping = true;
            } else
                hs_buf_append (&s->in, data, l);
        } else if (s->in.len) {
            if (s->in.len + l <= RECORD_MAX) {
                hs_buf_append (&s->in, data, l);
                s_record (self, s, s->in.data, s->in.len);
            } else
                self->bad_records++;
            s->in.len = 0;
        } else {
            s_record (self, s, data, l);
        }
        if (!nl) break;
        data += l + 1;
        len -= l + 1;
    }
}

/* ------------------------------------------------------------------ files */

static void s_file_name (int index, char *buf, size_t len)
{
    if (index == 0)
        snprintf (buf, len, "container.log");
    else
        snprintf (buf, len, "container.log.%d", index);
}

/* The log files, newest first. A rotation in progress may leave one name
 * missing for a moment, or show one file under two names; so a single gap
 * does not end the list and a file already listed is not listed again. */
static size_t s_scan (int dirfd, s_file_t *files, size_t max)
{
    size_t n = 0;
    int misses = 0;
    for (int k = 0; k < FILES_MAX && n < max; k++) {
        char name[64];
        s_file_name (k, name, sizeof name);
        struct stat st;
        if (fstatat (dirfd, name, &st, 0) < 0 || !S_ISREG (st.st_mode)) {
            if (k > 0 && ++misses >= 2) break;
            continue;
        }
        misses = 0;
        bool seen = false;
        for (size_t i = 0; i < n && !seen; i++)
            seen = files[i].dev == st.st_dev && files[i].ino == st.st_ino;
        if (!seen) files[n++] = (s_file_t){st.st_dev, st.st_ino, st.st_size, k};
    }
    return n;
}

/* Opens a listed file, checking it is still that file. fd or -errno
 * (-ESTALE: another file has the name now). */
static int s_open_file (int dirfd, const s_file_t *f)
{
    char name[64];
    s_file_name (f->index, name, sizeof name);
    int fd = openat (dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return -errno;
    struct stat st;
    if (fstat (fd, &st) < 0 || st.st_dev != f->dev || st.st_ino != f->ino) {
        close (fd);
        return -ESTALE;
    }
    return fd;
}

/* At the end of the current file: moves the stream to the start of the file
 * after it. 1 moved (or the current file grew: read on), 0 there is none
 * (ours is the newest, or there are no files), -errno. */
static int s_next_file (s_stream_t *s)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        s_file_t files[FILES_MAX];
        size_t n = s_scan (s->dirfd, files, FILES_MAX);
        /* Before the first file, or ours was dropped: the oldest there is. */
        size_t next = n;
        if (n > 0) next = n - 1;
        if (s->fd >= 0)
            for (size_t i = 0; i < n; i++)
                if (files[i].dev == s->dev && files[i].ino == s->ino) {
                    next = i > 0 ? i - 1 : n;
                    break;
                }
        if (next >= n) return 0;
        /* Ours was renamed before this scan, and the shim never writes a
         * file after renaming it: if it is longer than what we read, that
         * was written just before the rotation. */
        struct stat st;
        if (s->fd >= 0 && fstat (s->fd, &st) == 0 && st.st_size > s->off) return 1;
        int fd = s_open_file (s->dirfd, &files[next]);
        if (fd == -ESTALE || fd == -ENOENT) continue; /* rotated meanwhile */
        if (fd < 0) return fd;
        if (s->fd >= 0) close (s->fd);
        s->fd = fd;
        s->dev = files[next].dev;
        s->ino = files[next].ino;
        s->off = 0;
        /* A file is complete once rotated: a record it did not finish is
         * torn. A line (P records) may go on in the next file. */
        if (s->in.len || s->skipping) s->in.len = 0;
        s->skipping = false;
        return 1;
    }
    return 0;
}

/* Positions the stream at a file (by inode) and offset; if that file is gone,
 * before the oldest one. */
static void s_seek (s_stream_t *s, dev_t dev, ino_t ino, off_t off)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        s_file_t files[FILES_MAX];
        size_t n = s_scan (s->dirfd, files, FILES_MAX);
        for (size_t i = 0; i < n; i++) {
            if (files[i].dev != dev || files[i].ino != ino) continue;
            int fd = s_open_file (s->dirfd, &files[i]);
            if (fd < 0) break;
            s->fd = fd;
            s->dev = dev;
            s->ino = ino;
            s->off = off;
            return;
        }
    }
    s->fd = -1;
}

/* Whether the record starting at `at` is F (ends a line). buf holds the
 * file's bytes [lo, hi). */
static bool s_is_full (int fd, const char *buf, off_t lo, off_t hi, off_t at)
{
    char head[HEAD_MAX];
    const char *p;
    size_t len;
    if (at + HEAD_MAX <= hi) {
        p = buf + (at - lo);
        len = HEAD_MAX;
    } else {
        ssize_t r = pread (fd, head, sizeof head, at);
        if (r <= 0) return false;
        p = head;
        len = (size_t)r;
    }
    const char *nl = memchr (p, '\n', len);
    if (nl) len = (size_t)(nl - p);
    size_t tlen, tag;
    return s_parse (p, len, &tlen, &tag) && p[tag] == 'F';
}

/* Where the last `lines` lines begin: the end of the (lines+1)-th line
 * from the end, walking the files newest first and their records last
 * first; the start of the oldest file if there are not that many. */
static void s_tail (agent_logs_t *self, s_stream_t *s, const s_file_t *files, size_t n,
                    int64_t lines)
{
    int64_t seen = 0;
    for (size_t i = 0; i < n; i++) {
        int fd = s_open_file (s->dirfd, &files[i]);
        if (fd < 0) {
            /* Rotated away meanwhile: start after it. */
            if (i > 0) s_seek (s, files[i - 1].dev, files[i - 1].ino, 0);
            return;
        }
        off_t pos = files[i].size;
        off_t nl_after = -1; /* the newline ending the record looked at */
        while (pos > 0) {
            off_t lo = pos > READ_MAX ? pos - READ_MAX : 0;
            ssize_t r = pread (fd, self->rbuf, (size_t)(pos - lo), lo);
            if (r != pos - lo) break;
            for (off_t q = pos - 1; q >= lo; q--) {
                if (self->rbuf[q - lo] != '\n') continue;
                if (nl_after >= 0 && s_is_full (fd, self->rbuf, lo, pos, q + 1) && ++seen > lines) {
                    close (fd);
                    s_seek (s, files[i].dev, files[i].ino, nl_after + 1);
                    return;
                }
                nl_after = q;
            }
            pos = lo;
        }
        /* The file's first record. */
        if (pos == 0 && nl_after >= 0 && s_is_full (fd, self->rbuf, 0, 0, 0) && ++seen > lines) {
            close (fd);
            s_seek (s, files[i].dev, files[i].ino, nl_after + 1);
            return;
        }
        close (fd);
    }
    if (n > 0) s_seek (s, files[n - 1].dev, files[n - 1].ino, 0);
}

/* The run is over: its exit file is there, or its directory was removed. */
static bool s_run_over (const s_stream_t *s)
{
    if (faccessat (s->dirfd, "exit", F_OK, 0) == 0) return true;
    struct stat st;
    return fstat (s->dirfd, &st) == 0 && st.st_nlink == 0;
}

/* ------------------------------------------------------------------ reading */

/* Reads what the stream may this turn (*budget bytes in all). */
static void s_pump (agent_logs_t *self, s_stream_t *s, size_t *budget)
{
    /* Looked at before reading: the shim writes its last records, then
     * the exit file; so having read to the end after seeing it is all. */
    bool over = s->follow && s_run_over (s);
    size_t quota = *budget < TURN_STREAM_BYTES ? *budget : TURN_STREAM_BYTES;
    s->backlog = false;
    while (!s->done) {
        if (quota == 0) {
            s->backlog = true;
            return;
        }
        if (s->fd < 0) {
            int r = s_next_file (s);
            if (r < 0) {
                _cleanup_free_ char *msg = hs_sprintf ("cannot open the log: %s", strerror (-r));
                s_finish (self, s, HS__CODE__CODE_INTERNAL, msg);
                return;
            }
            if (r == 0) break;
            continue;
        }
        size_t want = quota < READ_MAX ? quota : READ_MAX;
        if (s->has_end && s->dev == s->end_dev && s->ino == s->end_ino) {
            if (s->off >= s->end_size) break;
            if ((off_t)want > s->end_size - s->off) want = (size_t)(s->end_size - s->off);
        }
        ssize_t n = pread (s->fd, self->rbuf, want, s->off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            _cleanup_free_ char *msg = hs_sprintf ("cannot read the log: %s", strerror (errno));
            s_finish (self, s, HS__CODE__CODE_INTERNAL, msg);
            return;
        }
        if (n > 0) {
            s->off += n;
            quota -= (size_t)n;
            *budget -= (size_t)n;
            s_feed (self, s, self->rbuf, (size_t)n);
            continue;
        }
        /* The end of this file: go on with the next, if it was rotated. */
        int r = s_next_file (s);
        if (r < 0) {
            _cleanup_free_ char *msg = hs_sprintf ("cannot open the log: %s", strerror (-r));
            s_finish (self, s, HS__CODE__CODE_INTERNAL, msg);
            return;
        }
        if (r == 0) break;
    }
    /* Caught up with what is on disk. */
    if (!s->done && (!s->follow || over)) s_finish (self, s, HS__CODE__CODE_OK, NULL);
}

/* ------------------------------------------------------------------ requests */

static void s_refuse (agent_logs_t *self, const Hs__Envelope *env, const char *why)
{
    self->refused++;
    _cleanup_free_ char *key = hs_sprintf ("logreq %s %s", hs_s (env->sender), why);
    hs_log_once (HS_LOG_WARN, key, "refused a log request from %s on %s: %s (counted; logged once)",
                 hs_s (env->sender), self->topic, why);
}

static void s_add (agent_logs_t *self, s_stream_t *s)
{
    /* Forget the oldest finished stream when too many are remembered. */
    size_t done = self->n_streams - s_active (self);
    if (done >= DONE_MAX) {
        size_t oldest = self->n_streams;
        for (size_t i = 0; i < self->n_streams; i++)
            if (self->streams[i]->done && !self->streams[i]->dead &&
                (oldest == self->n_streams ||
                 self->streams[i]->done_mono < self->streams[oldest]->done_mono))
                oldest = i;
        if (oldest < self->n_streams) self->streams[oldest]->dead = true;
    }
    self->streams = hs_realloc (self->streams, (self->n_streams + 1) * sizeof *self->streams);
    self->streams[self->n_streams++] = s;
}

/* A new stream: finds the run, positions it, or ends it at once with the
 * reason. */
static void s_start (agent_logs_t *self, const Hs__LogRequest *r)
{
    s_stream_t *s = hs_calloc (1, sizeof *s);
    s->client_id = hs_strdup (r->client_id);
    s->request_id = hs_strdup (r->request_id);
    s->topic = hs_topic_to ("logs", r->client_id);
    s->fd = s->dirfd = -1;
    s->follow = r->follow;
    s->timestamps = r->timestamps;
    s->limit = r->limit_bytes > 0 ? r->limit_bytes : -1;
    s->heard_mono = s->sent_mono = hs_mono_ns ();
    s_add (self, s);

    const char *bad = agent_rules_log_check (r);
    if (bad) {
        s_finish (self, s, HS__CODE__CODE_INVALID, bad);
        return;
    }
    if (s_active (self) > STREAMS_MAX) {
        _cleanup_free_ char *msg =
            hs_sprintf ("the node agent on \"%s\" already serves %d log streams; try again later",
                        self->node, STREAMS_MAX);
        s_finish (self, s, HS__CODE__CODE_UNAVAILABLE, msg);
        return;
    }
    _cleanup_free_ char *err = NULL;
    _cleanup_free_ char *dir =
        agent_pods_log_dir (self->pods, r->namespace_, r->pod, r->container, r->previous, &err);
    if (!dir) {
        bool gone = hs_startswith (err, "pods \"");
        s_finish (self, s, gone ? HS__CODE__CODE_NOT_FOUND : HS__CODE__CODE_INVALID, err);
        return;
    }
    s->dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dirfd < 0) {
        _cleanup_free_ char *msg =
            hs_sprintf ("the log of container \"%s\" in pod \"%s\" is gone (%s)",
                        hs_empty (r->container) ? "" : r->container, r->pod, strerror (errno));
        s_finish (self, s, HS__CODE__CODE_NOT_FOUND, msg);
        return;
    }
    s_file_t files[FILES_MAX];
    size_t n = s_scan (s->dirfd, files, FILES_MAX);
    if (!s->follow) {
        /* Up to what is there now: a chatty container cannot keep a
         * plain `logs` going for ever. */
        s->has_end = true;
        if (n > 0) {
            s->end_dev = files[0].dev;
            s->end_ino = files[0].ino;
            s->end_size = files[0].size;
        }
    }
    if (r->tail_lines >= 0) s_tail (self, s, files, n, r->tail_lines);
    log_debug ("logs %s/%s for %s: %s%s", hs_s (r->namespace_), r->pod, r->client_id, dir,
               s->follow ? " (follow)" : "");
}

static void s_on_request (void *arg, const char *topic, const Hs__Envelope *env)
{
    agent_logs_t *self = arg;
    if (strcmp (topic, self->topic) != 0) return; /* another node's, e.g. logreq.<node>2 */
    if (env->body_case != HS__ENVELOPE__BODY_LOG_REQUEST || !env->log_request) {
        s_refuse (self, env, "not a LogRequest");
        return;
    }
    const Hs__LogRequest *r = env->log_request;
    if (!agent_rules_id_ok (r->client_id) || !agent_rules_id_ok (r->request_id)) {
        s_refuse (self, env, "client_id and request_id must be 1-128 letters, digits, '-_.'");
        return;
    }
    int64_t now = hs_mono_ns ();
    s_stream_t *s = s_find (self, r->client_id, r->request_id);
    if (s && r->cancel) {
        s->dead = true;
        return;
    }
    if (s && !s->done) {
        s->heard_mono = now; /* a retry or a keepalive */
        return;
    }
    if (s) {
        /* The client has not seen the end: the last chunk again. */
        if (s->last && now - s->resent_mono >= RESEND_NS) {
            s->resent_mono = now;
            s_publish (self, s, s->last);
        }
        return;
    }
    if (!r->cancel) s_start (self, r);
}

/* ------------------------------------------------------------------ public */

agent_logs_t *agent_logs_new (hs_client_t *client, agent_pods_t *pods, const char *node)
{
    agent_logs_t *self = hs_calloc (1, sizeof *self);
    self->client = client;
    self->pods = pods;
    self->node = hs_strdup (node);
    self->topic = hs_topic_to ("logreq", node);
    int r = hs_client_on (client, self->topic, s_on_request, self);
    if (r < 0) {
        log_error ("cannot subscribe to %s: %s; `hsctl logs` will not work", self->topic,
                   strerror (-r));
        agent_logs_destroy (&self);
    }
    return self;
}

void agent_logs_destroy (agent_logs_t **self_p)
{
    agent_logs_t *self = *self_p;
    if (!self) return;
    for (size_t i = 0; i < self->n_streams; i++) s_stream_free (self->streams[i]);
    free (self->streams);
    free (self->node);
    free (self->topic);
    free (self);
    *self_p = NULL;
}

int64_t agent_logs_work (agent_logs_t *self)
{
    if (!self) return HS_NEVER;
    int64_t now = hs_mono_ns ();
    int64_t wake = HS_NEVER;
    size_t budget = TURN_BYTES;
    size_t n = self->n_streams;
    for (size_t k = 0; k < n; k++) {
        s_stream_t *s = self->streams[(self->rr + k) % n];
        if (s->dead) continue;
        if (s->done) {
            hs_buf_free (&s->in);
            hs_buf_free (&s->out);
            if (now - s->done_mono >= DONE_KEEP_NS)
                s->dead = true;
            else if (s->done_mono + DONE_KEEP_NS < wake)
                wake = s->done_mono + DONE_KEEP_NS;
            continue;
        }
        if (now - s->heard_mono >= IDLE_NS) {
            log_debug ("logs %s: no word from the client for 5 s; dropped", s->topic);
            s->dead = true;
            continue;
        }
        if (s->backlog || !s->follow || now >= s->poll_mono) {
            s_pump (self, s, &budget);
            if (s->follow && !s->done) {
                if (s->out.len) {
                    s_send (self, s, s->out.data, s->out.len, false, HS__CODE__CODE_OK, NULL);
                    s->out.len = 0;
                } else if (now - s->sent_mono >= BEAT_NS)
                    s_send (self, s, NULL, 0, false, HS__CODE__CODE_OK, NULL);
                s->poll_mono = now + POLL_NS;
            }
        }
        if (s->done) {
            hs_buf_free (&s->in);
            hs_buf_free (&s->out);
            if (s->done_mono + DONE_KEEP_NS < wake) wake = s->done_mono + DONE_KEEP_NS;
            continue;
        }
        if (s->backlog || !s->follow) wake = now;
        if (s->poll_mono < wake) wake = s->poll_mono;
        if (s->heard_mono + IDLE_NS < wake) wake = s->heard_mono + IDLE_NS;
    }
    if (n) self->rr = (self->rr + 1) % n;
    /* Sweep. */
    size_t j = 0;
    for (size_t i = 0; i < self->n_streams; i++) {
        if (self->streams[i]->dead)
            s_stream_free (self->streams[i]);
        else
            self->streams[j++] = self->streams[i];
    }
    self->n_streams = j;
    if (j == 0) self->rr = 0;
    return wake;
}
