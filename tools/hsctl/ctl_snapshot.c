/*  ctl_snapshot.c: `hsctl snapshot save|restore|status` — consistent backups
 *  of the store (docs/architecture.md §4).
 *
 *  save asks the running store for a snapshot of every kind over the bus and
 *  writes it to FILE.tmp, then renames, so FILE is never half-written.
 *  With --data-dir DIR, save reads a member's LMDB directly instead
 *  (ctl_snapshot_local.c). restore is offline: it builds a new store directory from the file for a
 *  stopped (or new) hs-store to serve.
 */
#include "ctl.h"
#include "ctl_fmt.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

enum { S_OPT_DATA_DIR = CTL_OPT_VERB_BASE, S_OPT_KEY };

typedef struct {
    const char *data_dir;
    const char *key_file;
} s_opts_t;

static const struct option s_longs[] = {
    {"data-dir", required_argument, NULL, S_OPT_DATA_DIR},
    {"data", required_argument, NULL, S_OPT_DATA_DIR}, /* hs-store's own flag's name */
    {"encryption-key", required_argument, NULL, S_OPT_KEY},
    {NULL, 0, NULL, 0},
};

static int s_opt (ctl_t *ctl, void *arg, int c, const char *optarg)
{
    (void)ctl;
    s_opts_t *o = arg;
    if (c == S_OPT_DATA_DIR)
        o->data_dir = optarg;
    else if (c == S_OPT_KEY)
        o->key_file = optarg;
    else
        return -1;
    return 0;
}

static void s_usage (void)
{
    printf ("Save, restore and inspect backups of the store.\n\n"
            "Usage:\n"
            "  hsctl snapshot save FILE                     write a consistent snapshot of "
            "every object\n"
            "  hsctl snapshot save FILE --data-dir DIR      the same, read from a store "
            "member's\n"
            "                                               directory (running or not): as of "
            "its\n"
            "                                               last checkpoint; --encryption-key "
            "FILE\n"
            "                                               if its keyring is not DIR/"
            "encryption.key\n"
            "  hsctl snapshot restore FILE --data-dir DIR   build a new store directory from "
            "FILE (offline)\n"
            "  hsctl snapshot status FILE                   show what FILE holds\n");
}

static int s_save (ctl_t *ctl, const char *file, const s_opts_t *o)
{
    hs_db_snapshot_t snap = {0};
    bool wal = false;
    if (o->data_dir) {
        if (ctl_snapshot_local (o->data_dir, o->key_file, file, &snap, &wal) < 0) return 1;
    } else if (ctl_snapshot (ctl, NULL, 0, &snap) < 0) {
        return 1;
    }
    _cleanup_free_ char *tmp = hs_sprintf ("%s.tmp", file);
    int r = hs_db_snapshot_write_file (tmp, &snap);
    if (r < 0) {
        fprintf (stderr, "error: cannot write %s: %s\n", tmp, strerror (-r));
        unlink (tmp);
        hs_db_snapshot_free (&snap);
        return 1;
    }
    if (rename (tmp, file) < 0) {
        fprintf (stderr, "error: cannot rename %s to %s: %s\n", tmp, file, strerror (errno));
        unlink (tmp);
        hs_db_snapshot_free (&snap);
        return 1;
    }
    printf ("Snapshot saved at %s (%zu objects, revision %lld)\n", file, snap.n_objects,
            (long long)snap.revision);
    if (wal)
        fprintf (stderr,
                 "note: %s's write-ahead log holds writes not yet in its LMDB: the snapshot is as "
                 "of its last checkpoint (revision %lld), without them\n",
                 o->data_dir, (long long)snap.revision);
    hs_db_snapshot_free (&snap);
    return 0;
}

static int s_read (const char *file, hs_db_snapshot_t *snap)
{
    _cleanup_free_ char *err = NULL;
    int r = hs_db_snapshot_read_file (file, snap, &err);
    if (r < 0) {
        fprintf (stderr, "error: cannot read snapshot %s: %s\n", file, err ? err : strerror (-r));
        return -1;
    }
    return 0;
}

static int s_restore (const char *file, const char *dir)
{
    hs_db_snapshot_t snap = {0};
    if (s_read (file, &snap) < 0) return 1;
    int r = hs_db_restore (dir, &snap);
    if (r == -EEXIST) {
        fprintf (stderr, "error: %s already holds a store: restore into a new, empty directory\n",
                 dir);
        hs_db_snapshot_free (&snap);
        return 1;
    }
    if (r < 0) {
        fprintf (stderr, "error: cannot restore into %s: %s\n", dir, strerror (-r));
        hs_db_snapshot_free (&snap);
        return 1;
    }
    printf ("Restored %zu objects (revision %lld) into %s; start hs-store with --data %s\n",
            snap.n_objects, (long long)snap.revision, dir, dir);
    hs_db_snapshot_free (&snap);
    return 0;
}

static int s_status (const char *file)
{
    hs_db_snapshot_t snap = {0};
    if (s_read (file, &snap) < 0) return 1;
    size_t counts[HS_KIND__COUNT] = {0};
    for (size_t i = 0; i < snap.n_objects; i++) counts[hs_obj_kind (snap.objects[i])]++;
    hs_buf_t b = {0};
    hs_buf_printf (&b, "Snapshot:\t%s\n", file);
    hs_buf_printf (&b, "Revision:\t%lld\n", (long long)snap.revision);
    hs_buf_printf (&b, "Epoch:\t%llx\n", (unsigned long long)snap.epoch);
    hs_buf_printf (&b, "Streams:\t%zu\n", snap.n_streams);
    hs_buf_printf (&b, "Objects:\t%zu\n", snap.n_objects);
    for (int k = HS_KIND_NONE + 1; k < HS_KIND__COUNT; k++)
        if (counts[k]) hs_buf_printf (&b, "  %s:\t%zu\n", hs_kind_info (k)->plural, counts[k]);
    if (counts[HS_KIND_NONE]) hs_buf_printf (&b, "  unknown:\t%zu\n", counts[HS_KIND_NONE]);
    _cleanup_free_ char *text = hs_buf_take (&b);
    _cleanup_free_ char *out = ctl_tabwrite (text, 0, 2);
    fputs (out, stdout);
    hs_db_snapshot_free (&snap);
    return 0;
}

int ctl_snapshot_main (ctl_t *ctl, int argc, char **argv)
{
    s_opts_t o = {0};
    int first = ctl_parse (ctl, argc, argv, s_longs, "", s_opt, &o);
    if (first < 0) return 1;
    if (ctl->help) {
        s_usage ();
        return 0;
    }
    int npos = argc - first;
    char **pos = argv + first;
    if (npos == 0) {
        ctl_usage_error (ctl, "missing subcommand: save, restore or status");
        return 1;
    }
    const char *sub = pos[0];
    if (strcmp (sub, "save") && strcmp (sub, "restore") && strcmp (sub, "status")) {
        fprintf (stderr, "error: unknown command \"%s\" for \"hsctl snapshot\"\n", sub);
        return 1;
    }
    if (npos != 2) {
        ctl_usage_error (ctl, "snapshot %s takes exactly one FILE", sub);
        return 1;
    }
    if (!strcmp (sub, "save")) return s_save (ctl, pos[1], &o);
    if (!strcmp (sub, "status")) return s_status (pos[1]);
    if (hs_empty (o.data_dir)) {
        ctl_usage_error (ctl, "snapshot restore needs --data-dir DIR");
        return 1;
    }
    return s_restore (pos[1], o.data_dir);
}
