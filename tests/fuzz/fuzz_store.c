/*  fuzz_store.c: libFuzzer target for what hs-store does with cmd.*
 *  messages: the envelope decode (hs_bus_decode_sized, as
 *  hs_bus_recv_sized), the batch (store_batch.c: topic checks, size limit,
 *  store_answerable / store_refuse, store_apply), checkpoints and snapshot
 *  answers, against one LMDB store per process (nosync, in a temp directory
 *  ($TMPDIR) removed at exit; a fresh one every RESET_INPUTS inputs so it
 *  stays small).
 *
 *  One input is several messages, separated by DELIM. A message is one
 *  control byte, the topic up to the first '\n', then the envelope bytes:
 *    0x01  the batch ends after this message (so does a full one, and the input)
 *    0x02  the envelope counts as over HS_BUS_MAX_MSG (as if its frame were)
 *    0x04  checkpoint after the batch
 *    0x08  sent as three frames (refused by the decode)
 *  Invariants checked (abort on failure):
 *    - every answerable command (a Command on cmd.*, its client_id
 *      hs_topic_id_ok) gets exactly one ack, on ack.<client_id>/;
 *    - the batch sent again (the commands with a request id, not dry runs)
 *      changes nothing: same revision, no event, and each remembered answer
 *      comes back the same, marked replayed; an OK answer is remembered;
 *    - a snapshot answer has at least one chunk and ends with `last`.
 *  Not part of the default build: tests/fuzz/build.sh.
 */
#include "hs_bus.h"
#include "hs_log.h"
#include "hs_pb.h"
#include "hs_topic.h"
#include "hs_util.h"
#include "store.h"
#include "store_batch.h"

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DELIM        "\n=*=\n"
#define MAX_MSGS     64
#define RESET_INPUTS 20000

enum { F_END = 0x01, F_BIG = 0x02, F_CHECKPOINT = 0x04, F_FRAMES = 0x08 };

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef struct {
    uint8_t flags;
    hs_frame_t frames[3]; /* each its own allocation: ASan sees over-reads */
    size_t n_frames;
} s_msg_t;

static char s_dir[4096];
static store_t *s_store;
static store_batch_t *s_batch;
static hs_pb_arena_t *s_arena;
static store_out_t s_out, s_again;
static uint64_t s_inputs;
/* What the invariants saw (printed at exit with FUZZ_STORE_STATS=1): so a
 * check that never runs shows. */
static struct {
    uint64_t batches, acks, events, again_batches, again_compared, snapshots;
} s_stats;

static int s_rm (const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove (path);
}

static void s_close (void)
{
    store_batch_destroy (&s_batch);
    store_destroy (&s_store);
    if (s_dir[0]) nftw (s_dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
    s_dir[0] = '\0';
}

static void s_open (void)
{
    const char *tmp = getenv ("TMPDIR");
    snprintf (s_dir, sizeof s_dir, "%s/fuzz_store.XXXXXX", hs_empty (tmp) ? "/tmp" : tmp);
    if (!mkdtemp (s_dir)) abort ();
    store_opts_t opts = {.nosync = true, .map_size = 256u << 20};
    if (store_open (s_dir, &opts, &s_store) < 0) abort ();
    s_batch = store_batch_new (s_store);
}

static void s_exit (void)
{
    if (getenv ("FUZZ_STORE_STATS"))
        fprintf (stderr,
                 "fuzz_store: %llu batches, %llu acks, %llu events, %llu batches sent again, "
                 "%llu answers compared, %llu snapshots\n",
                 (unsigned long long)s_stats.batches, (unsigned long long)s_stats.acks,
                 (unsigned long long)s_stats.events, (unsigned long long)s_stats.again_batches,
                 (unsigned long long)s_stats.again_compared, (unsigned long long)s_stats.snapshots);
    s_close ();
    store_out_clear (&s_out);
    store_out_clear (&s_again);
    hs_pb_arena_destroy (&s_arena);
}

int LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void)argc, (void)argv;
    hs_log_set_level (HS_LOG_ERROR);
    s_arena = hs_pb_arena_new ();
    s_open ();
    atexit (s_exit);
    return 0;
}

static uint8_t *s_copy (const uint8_t *p, size_t n)
{
    uint8_t *c = hs_malloc (n ? n : 1);
    if (n) memcpy (c, p, n);
    return c;
}

/* Splits the input into messages. */
static size_t s_split (const uint8_t *data, size_t size, s_msg_t *msgs)
{
    size_t n = 0, dl = strlen (DELIM);
    while (size > 0 && n < MAX_MSGS) {
        const uint8_t *end = memmem (data, size, DELIM, dl);
        size_t len = end ? (size_t)(end - data) : size;
        if (len > 0) {
            s_msg_t *m = &msgs[n++];
            m->flags = data[0];
            const uint8_t *t = data + 1;
            const uint8_t *nl = memchr (t, '\n', len - 1);
            size_t tlen = nl ? (size_t)(nl - t) : len - 1;
            size_t blen = nl ? len - 1 - tlen - 1 : 0;
            m->frames[0] = (hs_frame_t){s_copy (t, tlen), tlen};
            m->frames[1] = (hs_frame_t){s_copy (nl ? nl + 1 : t, blen), blen};
            m->n_frames = 2;
            if (m->flags & F_FRAMES) m->frames[m->n_frames++] = (hs_frame_t){s_copy (t, 0), 0};
        }
        if (!end) break;
        data = end + dl;
        size -= len + dl;
    }
    return n;
}

/* Decodes msg and gives it to the batch, as store_main.c's s_batch does.
 * *ret_answerable: it must be acked. *ret_again: sending it again must
 * change nothing (a command with a request id, not a dry run). */
static void s_take (const s_msg_t *m, bool *ret_answerable, bool *ret_again)
{
    *ret_answerable = *ret_again = false;
    Hs__Envelope *env;
    hs_garbage_t reason;
    if (hs_bus_decode_sized (m->frames, m->n_frames, "cmd.", &env, &reason) < 0) return;
    char *topic = hs_strndup ((const char *)m->frames[0].data, m->frames[0].len);
    size_t size = m->frames[1].len + (m->flags & F_BIG ? HS_BUS_MAX_MSG : 0);
    if (env->body_case == HS__ENVELOPE__BODY_COMMAND && hs_startswith (topic, "cmd.")) {
        const Hs__Command *c = env->command;
        *ret_answerable = hs_topic_id_ok (c->client_id);
        *ret_again = *ret_answerable && !hs_empty (c->request_id) && !c->dry_run;
    }
    store_batch_take (s_batch, topic, env, size);
}

/* The one ack in out on topic for request rid, or NULL (none, or several). */
static Hs__Ack *s_find_ack (const store_out_t *out, const char *topic, const char *rid)
{
    Hs__Ack *found = NULL;
    for (size_t i = 0; i < out->n_acks; i++) {
        if (strcmp (out->acks[i].topic, topic) != 0 ||
            strcmp (hs_s (out->acks[i].ack->request_id), hs_s (rid)) != 0)
            continue;
        if (found) return NULL;
        found = out->acks[i].ack;
    }
    return found;
}

static void s_check_acks (const store_out_t *out, size_t answerable)
{
    if (out->n_acks != answerable) {
        fprintf (stderr, "fuzz_store: %zu answerable commands, %zu acks\n", answerable,
                 out->n_acks);
        abort ();
    }
    for (size_t i = 0; i < out->n_acks; i++)
        if (!hs_startswith (out->acks[i].topic, "ack.") || !out->acks[i].ack) abort ();
}

/* Sends again the messages of the batch that must change nothing, and
 * compares their answers with the first ones (in s_out). */
static void s_send_again (const s_msg_t *msgs, const bool *again, size_t n)
{
    int64_t rev = store_revision (s_store);
    size_t answerable = 0;
    for (size_t i = 0; i < n; i++) {
        if (!again[i]) continue;
        bool a, ag;
        s_take (&msgs[i], &a, &ag);
        answerable += a;
    }
    if (!store_batch_apply (s_batch, &s_again)) {
        if (answerable) abort ();
        store_batch_end (s_batch);
        return;
    }
    s_check_acks (&s_again, answerable);
    s_stats.again_batches++;
    if (s_again.commit_error == 0) {
        if (store_revision (s_store) != rev || s_again.n_events != 0) {
            fprintf (stderr, "fuzz_store: the same commands again changed the store\n");
            abort ();
        }
        for (size_t i = 0; i < s_again.n_acks; i++) {
            Hs__Ack *second = s_again.acks[i].ack;
            Hs__Ack *first = s_find_ack (&s_out, s_again.acks[i].topic, second->request_id);
            if (!first || !s_find_ack (&s_again, s_again.acks[i].topic, second->request_id))
                continue; /* that request id twice in the batch */
            s_stats.again_compared++;
            if (second->replayed) {
                bool was = first->replayed;
                first->replayed = true;
                bool same = hs_pb_equal (&first->base, &second->base);
                first->replayed = was;
                if (!same) {
                    fprintf (stderr, "fuzz_store: request %s answered differently again\n",
                             second->request_id);
                    abort ();
                }
            } else if (first->code == HS__CODE__CODE_OK) {
                fprintf (stderr, "fuzz_store: request %s: an OK answer was not remembered\n",
                         second->request_id);
                abort ();
            }
        }
    }
    store_out_reset (&s_again);
    store_batch_end (s_batch);
}

static void s_snapshots (void)
{
    for (size_t i = 0; i < store_batch_n_snapshots (s_batch); i++) {
        store_snap_answer_t a;
        if (store_snapshot_answer (s_store, store_batch_snapshot (s_batch, i), &a) < 0) continue;
        if (a.n == 0 || !a.chunks[a.n - 1]->last || !hs_startswith (a.topic, "snap.")) abort ();
        s_stats.snapshots++;
        store_snap_answer_free (&a);
    }
}

/* One batch: msgs[0..n). */
static void s_run_batch (const s_msg_t *msgs, size_t n, bool checkpoint)
{
    hs_pb_arena_enter (s_arena);
    bool again[MAX_MSGS] = {false}, any_again = false;
    size_t answerable = 0;
    for (size_t i = 0; i < n; i++) {
        bool a;
        s_take (&msgs[i], &a, &again[i]);
        answerable += a;
        any_again |= again[i];
    }
    s_stats.batches++;
    if (store_batch_apply (s_batch, &s_out)) {
        s_check_acks (&s_out, answerable);
        s_stats.acks += s_out.n_acks;
        s_stats.events += s_out.n_events;
    } else if (answerable) {
        abort ();
    }
    if (store_batch_n_snapshots (s_batch) > 0 || checkpoint ||
        store_checkpoint_due (s_store, hs_mono_ns (), false))
        store_checkpoint (s_store);
    s_snapshots ();
    store_batch_end (s_batch);
    if (any_again && s_out.commit_error == 0) s_send_again (msgs, again, n);
    store_out_reset (&s_out);
    hs_pb_arena_leave (s_arena);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (++s_inputs % RESET_INPUTS == 0) {
        s_close ();
        s_open ();
    }
    s_msg_t msgs[MAX_MSGS];
    size_t n = s_split (data, size, msgs);
    size_t start = 0;
    bool checkpoint = false;
    for (size_t i = 0; i < n; i++) {
        checkpoint |= (msgs[i].flags & F_CHECKPOINT) != 0;
        /* A batch ends where a message says so, when full, and at the end. */
        if ((msgs[i].flags & F_END) || i + 1 - start == STORE_BATCH_MAX || i + 1 == n) {
            s_run_batch (msgs + start, i + 1 - start, checkpoint);
            start = i + 1;
            checkpoint = false;
        }
    }
    for (size_t i = 0; i < n; i++)
        for (size_t f = 0; f < msgs[i].n_frames; f++) free (msgs[i].frames[f].data);
    return 0;
}
