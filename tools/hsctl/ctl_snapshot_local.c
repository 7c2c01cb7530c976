/*  ctl_snapshot_local.c: `hsctl snapshot save FILE --data-dir DIR`, a backup
 *  read straight from a store member's LMDB directory, running or stopped
 *  (docs/architecture.md §4; any member of a replicated store will do).
 *
 *  LMDB lets readers beside the writer, so this never stops hs-store:
 *  mdb_env_copy2 (MDB_CP_COMPACT) copies the environment, read-only and
 *  from one read transaction, into a private directory beside FILE
 *  (FILE.copy-XXXXXX); the
 *  copy is then read like the store reads itself (Secrets opened with the
 *  store's keyring) and written in the format `hsctl snapshot restore`
 *  takes, the same as a save over the bus. The copy is removed after.
 *
 *  Staleness: the snapshot is as of what that member had in LMDB: its last
 *  checkpoint. Writes it acked since (in its write-ahead log) or a
 *  follower's not yet applied raft entries are not in it; a note says when
 *  the write-ahead log holds records.
 */
#include "ctl.h"
#include "store_secret.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Whether DIR's write-ahead log holds records (its first header is not
 * zeroed: hs_db.c's rule, HS_DB_WAL_HEADER). */
static bool s_wal_pending (const char *dir)
{
    _cleanup_free_ char *path = hs_sprintf ("%s/" HS_DB_WAL_FILE, dir);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    uint8_t hdr[HS_DB_WAL_HEADER];
    ssize_t n = pread (fd, hdr, sizeof hdr, 0);
    close (fd);
    if (n < (ssize_t)sizeof hdr) return n > 0;
    for (size_t i = 0; i < sizeof hdr; i++)
        if (hdr[i]) return true;
    return false;
}

static int s_unseal (void *arg, const void *value, size_t len, Hs__Object **ret)
{
    store_keyring_t *keys = arg;
    if (!keys) return -ENOKEY;
    uint8_t *plain;
    size_t plen;
    int r = store_secret_open (keys, value, len, &plain, &plen);
    if (r < 0) return r;
    Hs__Object *o = hs__object__unpack (&hs_pb_allocator, plen, plain);
    store_secret_free_plain (plain, plen);
    if (!o) return -EBADMSG;
    *ret = o;
    return 0;
}

/* Copies the environment in dir into copy_dir (which exists, empty). */
static int s_copy (const char *dir, const char *copy_dir, char **ret_error)
{
    MDB_env *env = NULL;
    int rc = mdb_env_create (&env);
    if (rc == 0) rc = mdb_env_set_maxdbs (env, 16);
    /* MDB_NOLOCK is wrong beside a running writer: use the lock file
     * read-only like every other reader (hs_db_open readonly) */
    if (rc == 0) rc = mdb_env_open (env, dir, MDB_RDONLY | MDB_NOTLS, 0644);
    if (rc == 0) rc = mdb_env_copy2 (env, copy_dir, MDB_CP_COMPACT);
    if (rc) *ret_error = hs_sprintf ("%s", mdb_strerror (rc));
    if (env) mdb_env_close (env);
    return rc ? -EIO : 0;
}

static void s_rm_copy (const char *copy_dir)
{
    static const char *files[] = {"data.mdb", "lock.mdb"};
    for (size_t i = 0; i < HS_ARRAY_LEN (files); i++) {
        _cleanup_free_ char *p = hs_sprintf ("%s/%s", copy_dir, files[i]);
        unlink (p);
    }
    rmdir (copy_dir);
}

int ctl_snapshot_local (const char *dir, const char *key_file, const char *file,
                        hs_db_snapshot_t *ret, bool *ret_wal_pending)
{
    _cleanup_free_ char *mdb = hs_sprintf ("%s/data.mdb", dir);
    if (access (mdb, R_OK) != 0) {
        fprintf (stderr, "error: %s holds no store (no readable data.mdb: %s)\n", dir,
                 strerror (errno));
        return -1;
    }
    /* the keyring: --encryption-key, else the store's default in DIR */
    store_keyring_t *keys = NULL;
    _cleanup_free_ char *def = hs_sprintf ("%s/%s", dir, STORE_SECRET_KEY_FILE);
    const char *kpath = key_file ? key_file : def;
    _cleanup_free_ char *kerr = NULL;
    int r = store_keyring_load (kpath, &keys, &kerr);
    if (r < 0 && (key_file || r != -ENOENT)) {
        fprintf (stderr, "error: %s\n", kerr ? kerr : strerror (-r));
        return -1;
    }
    *ret_wal_pending = s_wal_pending (dir);
    /* a private directory for the copy beside FILE: the filesystem the
     * user picked for a backup of this size (not /tmp, often in memory) */
    _cleanup_free_ char *copy_dir = hs_sprintf ("%s.copy-XXXXXX", file);
    if (!mkdtemp (copy_dir)) {
        fprintf (stderr, "error: cannot create a directory for the copy (%s): %s\n", copy_dir,
                 strerror (errno));
        store_keyring_destroy (&keys);
        return -1;
    }
    _cleanup_free_ char *err = NULL;
    r = s_copy (dir, copy_dir, &err);
    if (r < 0) {
        fprintf (stderr, "error: cannot copy the store in %s: %s\n", dir, err);
        s_rm_copy (copy_dir);
        store_keyring_destroy (&keys);
        return -1;
    }
    hs_db_t *db = NULL;
    r = hs_db_open (copy_dir, NULL, &db);
    if (r == 0) {
        hs_db_set_unseal (db, s_unseal, keys);
        r = hs_db_snapshot (db, NULL, 0, NULL, ret);
        hs_db_close (&db);
    }
    s_rm_copy (copy_dir);
    store_keyring_destroy (&keys);
    if (r == -ENOKEY || r == -EBADMSG) {
        fprintf (stderr,
                 "error: %s holds Secrets encrypted with a key %s does not have: give hs-store's "
                 "keyring with --encryption-key FILE\n",
                 dir, key_file ? key_file : def);
        return -1;
    }
    if (r < 0) {
        fprintf (stderr, "error: cannot read the copy of %s: %s\n", dir, strerror (-r));
        return -1;
    }
    return 0;
}
