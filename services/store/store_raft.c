/*  store_raft.c: hs-store's FSM on libraft (store_raft.h). */
#include "store_raft.h"
#include "store_wal.h"
#include "hs_log.h"
#include "hs_util.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct store_raft_t {
    store_t *store;
    struct raft *raft;
    struct raft_fsm fsm;
    uint64_t cluster;
    char *cluster_id, *raft_dir; /* for messages; NULL: unknown */
    store_raft_cbs_t cbs;
    /* the batch in flight */
    struct raft_apply *req; /* NULL: none; a callback for another req is stale */
    uint64_t req_index;
    uint32_t req_crc;
    bool req_applied; /* the FSM recorded it (store_commit_own) */
    store_out_t held;
    /* leadership */
    struct raft_barrier *barrier; /* pending; a callback for another is stale */
    bool serving;
    raft_term serving_term;
    /* counters */
    int fatal;
    uint64_t refused, snapshots_installed, snapshot_index;
    uint64_t io_errors, disk_full;
};

/* ------------------------------------------------------------------ the header
 * u32 magic, u32 CRC-32C of the payload, u64 cluster hash, u64 payload
 * length, u64 raft index (snapshots; 0 in entries); little-endian (the
 * store runs on little-endian machines only, as its WAL). The buffer's
 * length is rounded up to 8 (canonical/raft#189). */

typedef struct {
    uint32_t magic, crc;
    uint64_t cluster, len, index;
} s_header_t;
_Static_assert(sizeof (s_header_t) == STORE_RAFT_HEADER, "the header is 32 bytes");

uint64_t store_raft_hash (const char *cluster_id)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = cluster_id; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return h;
}

static size_t s_round8 (size_t n)
{
    return (n + 7) & ~(size_t)7;
}

int store_raft_entry (uint64_t cluster, const uint8_t *payload, size_t len, struct raft_buffer *ret)
{
    size_t total = s_round8 (STORE_RAFT_HEADER + len);
    uint8_t *b = raft_malloc (total);
    if (!b) return -ENOMEM;
    s_header_t h = {.magic = STORE_RAFT_MAGIC,
                    .crc = store_wal_crc32c (0, payload, len),
                    .cluster = cluster,
                    .len = len};
    memcpy (b, &h, sizeof h);
    memcpy (b + STORE_RAFT_HEADER, payload, len);
    memset (b + STORE_RAFT_HEADER + len, 0, total - STORE_RAFT_HEADER - len);
    ret->base = b;
    ret->len = total;
    return 0;
}

/* The payload of buf, or NULL (logged, counted, fatal) if it is not this
 * cluster's or is corrupt. */
static const uint8_t *s_check (store_raft_t *self, const struct raft_buffer *buf, const char *what,
                               uint64_t index, s_header_t *h)
{
    const char *why = NULL;
    if (buf->len < STORE_RAFT_HEADER) why = "too short";
    if (!why) {
        memcpy (h, buf->base, sizeof *h);
        if (h->magic != STORE_RAFT_MAGIC)
            why = "not an hs-store record (bad magic)";
        else if (h->cluster != self->cluster)
            why = "from another cluster";
        else if (h->len > buf->len - STORE_RAFT_HEADER)
            why = "length past its buffer";
        else if (store_wal_crc32c (0, (const uint8_t *)buf->base + STORE_RAFT_HEADER, h->len) !=
                 h->crc)
            why = "bad CRC";
    }
    if (!why) return (const uint8_t *)buf->base + STORE_RAFT_HEADER;
    if (!self->fatal) {
        self->refused++;
        self->fatal = -EBADMSG;
        const char *dir = self->raft_dir ? self->raft_dir : "(raft dir)";
        const char *file = strcmp (what, "snapshot") == 0 ? "its snapshot-*-INDEX-* file in"
                                                          : "its log segment in";
        if (buf->len >= STORE_RAFT_HEADER && h->magic == STORE_RAFT_MAGIC &&
            h->cluster != self->cluster)
            log_error ("refused the raft %s at index %llu (%s %s): it is from another cluster "
                       "(cluster id hash %016llx; ours is \"%s\", hash %016llx): the member must "
                       "not join this cluster; stopping",
                       what, (unsigned long long)index, file, dir, (unsigned long long)h->cluster,
                       self->cluster_id ? self->cluster_id : "?",
                       (unsigned long long)self->cluster);
        else
            log_error ("refused the raft %s at index %llu (%s %s): %s; stopping", what,
                       (unsigned long long)index, file, dir, why);
    }
    return NULL;
}

/* ------------------------------------------------------------------ leadership */

/* Whether a raft I/O failure was the disk filling up: libraft 0.15 says
 * RAFT_NOSPACE when preallocating a segment or on a short write, but a
 * write's ENOSPC is RAFT_IOERR "write failed: -28". */
static bool s_no_space (struct raft *r, int status)
{
    const char *m = r ? raft_errmsg (r) : "";
    return status == RAFT_NOSPACE || strstr (m, "failed: -28") || strstr (m, "space");
}

/* The batch in flight will not commit under this leadership (it may still
 * commit under the next one: then its entry is replayed like any other and
 * the client's retry is answered from the request table). */
static void s_fail_held (store_raft_t *self)
{
    if (!self->req) return;
    self->req = NULL; /* its callback, when it comes, is stale */
    if (!self->req_applied) store_abort (self->store);
    self->req_applied = false;
    store_out_fail (self->store, &self->held, -EAGAIN,
                    "the store's leader lost its leadership before this command committed; it "
                    "may still commit: retry with the same request id");
    if (self->cbs.done) self->cbs.done (self->cbs.arg, &self->held, false);
    store_out_reset (&self->held);
}

static void s_stop_serving (store_raft_t *self)
{
    s_fail_held (self);
    self->barrier = NULL;
    if (!self->serving) return;
    self->serving = false;
    log_info ("no longer the leader (term %llu)", (unsigned long long)self->raft->current_term);
    if (self->cbs.serving) self->cbs.serving (self->cbs.arg, false);
}

static void s_barrier_cb (struct raft_barrier *req, int status)
{
    store_raft_t *self = req->data;
    bool mine = self && self->barrier == req;
    raft_free (req);
    if (!mine) return;
    self->barrier = NULL;
    if (status != 0 || self->raft->state != RAFT_LEADER) return; /* the next tick decides */
    /* Everything committed is applied: serve, under a new epoch. */
    store_new_epoch (self->store);
    self->serving = true;
    self->serving_term = self->raft->current_term;
    log_info ("leader for term %llu at index %llu: serving, epoch %016llx",
              (unsigned long long)self->serving_term, (unsigned long long)self->raft->last_applied,
              (unsigned long long)store_epoch (self->store));
    if (self->cbs.serving) self->cbs.serving (self->cbs.arg, true);
}

void store_raft_tick (store_raft_t *self)
{
    struct raft *r = self->raft;
    if (!r) return;
    /* libraft 0.15 turns a server that hit an I/O error on some paths
     * (persisting its term or vote, a follower's log write) RAFT_UNAVAILABLE
     * for good: it neither votes nor replicates again. Stop, so that a
     * supervisor restarts the member, which reloads its log from disk. */
    if (r->state == RAFT_UNAVAILABLE && !self->fatal) {
        bool full = s_no_space (r, 0);
        if (full) self->disk_full++;
        log_error ("raft stopped after an I/O error (%s)%s; stopping: a restart reloads the log",
                   raft_errmsg (r),
                   full ? ": the disk is full, free space before the restart" : "");
        self->fatal = -EIO;
    }
    bool leader = r->state == RAFT_LEADER;
    if (!leader || (self->serving && r->current_term != self->serving_term)) {
        if (self->serving || self->req || self->barrier) s_stop_serving (self);
        if (!leader) return;
    }
    if (self->serving || self->barrier) return;
    struct raft_barrier *req = raft_malloc (sizeof *req);
    if (!req) return;
    memset (req, 0, sizeof *req);
    req->data = self;
    self->barrier = req;
    int rv = raft_barrier (r, req, s_barrier_cb);
    if (rv != 0) {
        self->barrier = NULL;
        raft_free (req);
        hs_log_once (HS_LOG_WARN, "store:barrier", "raft_barrier: %s", raft_strerror (rv));
    }
}

bool store_raft_serving (store_raft_t *self)
{
    return self->serving;
}

bool store_raft_busy (store_raft_t *self)
{
    return self->req != NULL;
}

/* ------------------------------------------------------------------ the batch */

/* libraft 0.15's raft_strerror has no text for RAFT_NOSPACE. */
static const char *s_strerror (int status)
{
    return status == RAFT_NOSPACE ? "no space left on the disk" : raft_strerror (status);
}

/* raft's log could not be written. sync: raft_apply refused the entry
 * (libraft dropped it from its log: nothing else to do; the batch is
 * answered Unavailable). Otherwise the write failed later: libraft 0.15
 * fails the apply request but keeps the entry in its in-memory log (the
 * comment in appendLeaderCb says it truncates; the code does not), and
 * never calls back a barrier whose write failed. The leader then stays
 * leader without serving (its heartbeats keep the others from electing
 * another: the whole store is unavailable), and its disk log has a hole
 * that later entries are written past. Stop instead: the others elect a
 * leader, and a restart (once space is freed) reloads this member's log
 * and catches up from the new leader. */
static void s_io_error (store_raft_t *self, int status, bool sync)
{
    self->io_errors++;
    bool full = s_no_space (self->raft, status);
    if (full) self->disk_full++;
    if (!sync) {
        if (!self->fatal) {
            log_error ("cannot write raft's log: %s (%s)%s; stopping: libraft 0.15 cannot go on "
                       "after a failed write (another member takes over; restart this one once "
                       "the disk is fixed)",
                       s_strerror (status), raft_errmsg (self->raft),
                       full ? ": the disk is full" : "");
            self->fatal = full ? -ENOSPC : -EIO;
        }
        return;
    }
    if (full)
        hs_log_once (HS_LOG_ERROR, "store:raft-disk-full",
                     "the disk of raft's log is full (%s): commands are answered Unavailable "
                     "until space is freed (further failures counted in hb.raft disk_full, not "
                     "logged)",
                     raft_errmsg (self->raft));
    else
        hs_log_once (HS_LOG_ERROR, "store:raft-io",
                     "cannot write raft's log: %s (%s); commands are answered Unavailable "
                     "(further failures counted in hb.raft raft_io_errors, not logged)",
                     s_strerror (status), raft_errmsg (self->raft));
}

static void s_apply_cb (struct raft_apply *req, int status, void *result)
{
    (void)result;
    store_raft_t *self = req->data;
    bool mine = self && self->req == req;
    raft_free (req);
    if (mine && (status == RAFT_IOERR || status == RAFT_NOSPACE)) s_io_error (self, status, false);
    if (!mine) return;
    if (status != 0 || !self->req_applied) {
        log_info ("a batch in flight did not commit: %s", raft_strerror (status));
        s_stop_serving (self);
        return;
    }
    self->req = NULL;
    self->req_applied = false;
    if (self->cbs.done) self->cbs.done (self->cbs.arg, &self->held, true);
    store_out_reset (&self->held);
}

int store_raft_propose (store_raft_t *self, Hs__Command *const *cmds, const char *const *identities,
                        size_t n, store_out_t *out)
{
    if (!self->serving || self->req) return -EBUSY;
    int r = store_apply_as (self->store, cmds, identities, n, out);
    if (r < 0) return r;
    const uint8_t *rec;
    size_t len;
    store_record (self->store, &rec, &len);
    if (len == 0) return 1;
    struct raft_buffer buf;
    struct raft_apply *req = raft_malloc (sizeof *req);
    r = req ? store_raft_entry (self->cluster, rec, len, &buf) : -ENOMEM;
    if (r == 0) {
        memset (req, 0, sizeof *req);
        req->data = self;
        int rv = raft_apply (self->raft, req, &buf, 1, s_apply_cb);
        if (rv != 0) {
            raft_free (buf.base);
            r = rv == RAFT_NOTLEADER || rv == RAFT_LEADERSHIPLOST ? -ENOTCONN : -EIO;
            if (rv == RAFT_IOERR || rv == RAFT_NOSPACE) s_io_error (self, rv, true);
            hs_log_once (HS_LOG_WARN, "store:raft_apply", "raft_apply: %s", raft_strerror (rv));
        }
    }
    if (r < 0) {
        raft_free (req);
        store_abort (self->store);
        store_out_fail (self->store, out, r, NULL);
        return r;
    }
    self->req = req;
    self->req_index = req->index;
    self->req_crc = store_wal_crc32c (0, rec, len);
    self->req_applied = false;
    return 0;
}

void store_raft_hold (store_raft_t *self, store_out_t *out)
{
    store_out_t t = self->held;
    self->held = *out;
    *out = t;
    store_out_reset (out);
}

int store_raft_submit (store_raft_t *self, Hs__Command *const *cmds, const char *const *identities,
                       size_t n, store_out_t *out)
{
    int r = store_raft_propose (self, cmds, identities, n, out);
    if (r == 0) store_raft_hold (self, out);
    return r;
}

/* ------------------------------------------------------------------ the FSM */

static int s_fsm_apply (struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    store_raft_t *self = fsm->data;
    *result = NULL;
    if (self->fatal) return RAFT_CANCELED; /* stopping: apply nothing more */
    uint64_t index = self->raft->last_applied + 1;
    s_header_t h;
    const uint8_t *payload =
        s_check (self, buf, "entry", self->raft ? self->raft->last_applied + 1 : 0, &h);
    if (!payload) return RAFT_MALFORMED;
    if (index <= store_applied_index (self->store)) return 0; /* in LMDB or the log already */
    if (self->req && index == self->req_index && h.crc == self->req_crc &&
        self->raft->state == RAFT_LEADER) {
        int r = store_commit_own (self->store, index);
        if (r < 0) {
            /* The window was rebuilt without the batch: this member's state
             * is behind raft's applied index. Stop; a restart re-applies. */
            log_error ("cannot keep the committed raft entry %llu: %s; stopping",
                       (unsigned long long)index, strerror (-r));
            self->fatal = r;
            s_stop_serving (self);
            return RAFT_IOERR;
        }
        self->req_applied = true;
        return 0;
    }
    /* Not the batch in flight: if one is, it lost its place in the log. */
    if (self->req) s_stop_serving (self);
    int r = store_replay (self->store, index, payload, h.len);
    if (r < 0) {
        log_error ("cannot apply the committed raft entry %llu: %s; stopping",
                   (unsigned long long)index, strerror (-r));
        self->fatal = r;
        return RAFT_IOERR;
    }
    return 0;
}

static int s_fsm_snapshot (struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    store_raft_t *self = fsm->data;
    /* A checkpoint now would commit the uncommitted batch into LMDB. */
    if (self->req) return RAFT_BUSY;
    int fd = memfd_create ("hs-store-snapshot", MFD_CLOEXEC);
    if (fd < 0) return RAFT_IOERR;
    uint64_t index = 0;
    int64_t t0 = hs_mono_ns ();
    int r = store_snapshot_copy (self->store, fd, &index);
    struct stat st;
    if (r == 0 && fstat (fd, &st) != 0) r = -errno;
    uint8_t *b = NULL;
    size_t len = r == 0 ? (size_t)st.st_size : 0, total = s_round8 (STORE_RAFT_HEADER + len);
    if (r == 0 && !(b = raft_malloc (total))) r = -ENOMEM;
    for (size_t off = 0; r == 0 && off < len;) {
        ssize_t got = pread (fd, b + STORE_RAFT_HEADER + off, len - off, (off_t)off);
        if (got <= 0)
            r = got < 0 ? -errno : -EIO;
        else
            off += (size_t)got;
    }
    close (fd);
    struct raft_buffer *v = r == 0 ? raft_malloc (sizeof *v) : NULL;
    if (r == 0 && !v) r = -ENOMEM;
    if (r < 0) {
        raft_free (b);
        hs_log_once (HS_LOG_WARN, "store:snapshot", "cannot take a raft snapshot: %s",
                     strerror (-r));
        return RAFT_BUSY; /* retried at the next threshold */
    }
    /* The header's index is the copy's (LMDB's last record): the skip rule
     * compares it with a member's applied index. raft's snapshot index is
     * last_applied, which can be higher (barriers, configuration changes
     * after the last record); restoring at every start because of those
     * would be wasted work. */
    s_header_t h = {.magic = STORE_RAFT_MAGIC,
                    .crc = store_wal_crc32c (0, b + STORE_RAFT_HEADER, len),
                    .cluster = self->cluster,
                    .len = len,
                    .index = index};
    memcpy (b, &h, sizeof h);
    memset (b + STORE_RAFT_HEADER + len, 0, total - STORE_RAFT_HEADER - len);
    v->base = b;
    v->len = total;
    *bufs = v;
    *n_bufs = 1;
    self->snapshot_index = self->raft->last_applied;
    /* Taken on the loop: its length is a stall of this member (see
     * docs/architecture.md §4). */
    log_info ("raft snapshot at index %llu: %zu bytes of LMDB in %.1f ms",
              (unsigned long long)self->snapshot_index, len, (double)(hs_mono_ns () - t0) / 1e6);
    return 0;
}

static int s_fsm_snapshot_finalize (struct raft_fsm *fsm, struct raft_buffer *bufs[],
                                    unsigned *n_bufs)
{
    (void)fsm;
    if (*bufs) {
        for (unsigned i = 0; i < *n_bufs; i++) raft_free ((*bufs)[i].base);
        raft_free (*bufs);
    }
    *bufs = NULL;
    *n_bufs = 0;
    return 0;
}

static int s_fsm_restore (struct raft_fsm *fsm, struct raft_buffer *buf)
{
    store_raft_t *self = fsm->data;
    s_header_t h;
    /* libraft 0.15 owns buf->base again when restore fails (it frees it:
     * replication.c installSnapshotCb's discard, start.c's snapshot load);
     * only a 0 return hands it to us. So free it on success only. */
    uint64_t snap_index = 0;
    if (buf->len >= STORE_RAFT_HEADER)
        memcpy (&snap_index, (uint8_t *)buf->base + offsetof (s_header_t, index), 8);
    const uint8_t *data = s_check (self, buf, "snapshot", snap_index, &h);
    if (!data) return RAFT_MALFORMED;
    int r = 0;
    if (h.index > store_applied_index (self->store)) {
        /* A leader that gets a snapshot is no longer one. */
        s_stop_serving (self);
        r = store_restore (self->store, h.index, data, h.len);
        if (r == 0) {
            self->snapshots_installed++;
            log_info ("installed a snapshot at raft index %llu (%zu bytes)",
                      (unsigned long long)h.index, (size_t)h.len);
        }
    }
    if (r < 0) {
        log_error ("cannot install the snapshot at raft index %llu: %s; stopping",
                   (unsigned long long)h.index, strerror (-r));
        self->fatal = r;
        return RAFT_IOERR; /* libraft frees buf->base */
    }
    if (h.index > self->snapshot_index) self->snapshot_index = h.index;
    raft_free (buf->base);
    return 0;
}

/* ------------------------------------------------------------------ life */

int store_raft_new (store_t *store, uint64_t cluster, const store_raft_cbs_t *cbs,
                    store_raft_t **ret)
{
    store_raft_t *self = hs_calloc (1, sizeof *self);
    self->store = store;
    self->cluster = cluster;
    if (cbs) self->cbs = *cbs;
    self->fsm.version = 2;
    self->fsm.data = self;
    self->fsm.apply = s_fsm_apply;
    self->fsm.snapshot = s_fsm_snapshot;
    self->fsm.restore = s_fsm_restore;
    self->fsm.snapshot_finalize = s_fsm_snapshot_finalize;
    *ret = self;
    return 0;
}

void store_raft_destroy (store_raft_t **self_p)
{
    store_raft_t *self = *self_p;
    if (!self) return;
    /* raft is closed first: its callbacks for our requests have run. A
     * request still pending here is raft's to free; should its batch still
     * be held, it never committed here: answer it (and drop it from the
     * window, which store_destroy would otherwise commit). */
    s_fail_held (self);
    store_out_clear (&self->held);
    free (self->cluster_id);
    free (self->raft_dir);
    free (self);
    *self_p = NULL;
}

struct raft_fsm *store_raft_fsm (store_raft_t *self)
{
    return &self->fsm;
}

void store_raft_attach (store_raft_t *self, struct raft *raft)
{
    self->raft = raft;
}

struct raft *store_raft_raft (store_raft_t *self)
{
    return self->raft;
}

int store_raft_fatal (store_raft_t *self)
{
    return self->fatal;
}

uint64_t store_raft_snapshots_installed (store_raft_t *self)
{
    return self->snapshots_installed;
}

uint64_t store_raft_snapshot_index (store_raft_t *self)
{
    /* raft's own (it also takes the snapshots a leader installs); ours only
     * before raft is attached */
    if (self->raft && self->raft->log.snapshot.last_index > self->snapshot_index)
        return self->raft->log.snapshot.last_index;
    return self->snapshot_index;
}

uint64_t store_raft_refused (store_raft_t *self)
{
    return self->refused;
}

uint64_t store_raft_io_errors (store_raft_t *self)
{
    return self->io_errors;
}

uint64_t store_raft_disk_full (store_raft_t *self)
{
    return self->disk_full;
}

void store_raft_set_names (store_raft_t *self, const char *cluster_id, const char *raft_dir)
{
    free (self->cluster_id);
    free (self->raft_dir);
    self->cluster_id = cluster_id ? hs_strdup (cluster_id) : NULL;
    self->raft_dir = raft_dir ? hs_strdup (raft_dir) : NULL;
}
