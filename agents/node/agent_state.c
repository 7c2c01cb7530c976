/*  agent_state.c: hs-agent's LMDB record (see agent_state.h). */
#include "agent_state.h"

#include "hs_db.h"
#include "hs_log.h"
#include "hs_pb.h"
#include "hs_util.h"

#include <errno.h>
#include <lmdb.h>
#include <string.h>

#define MAP_SIZE (256u << 20)

struct agent_state_t {
    MDB_env *env;
    MDB_dbi dbi;
};

int agent_state_open (const char *dir, agent_state_t **ret_state)
{
    int r = hs_mkdir_p (dir, 0700);
    if (r < 0) return r;
    agent_state_t *self = hs_calloc (1, sizeof *self);
    int rc = mdb_env_create (&self->env);
    if (rc == 0) rc = mdb_env_set_mapsize (self->env, MAP_SIZE);
    if (rc == 0) rc = mdb_env_open (self->env, dir, MDB_NOSYNC | MDB_NOTLS, 0600);
    MDB_txn *txn = NULL;
    if (rc == 0) rc = mdb_txn_begin (self->env, NULL, 0, &txn);
    if (rc == 0) rc = mdb_dbi_open (txn, NULL, 0, &self->dbi);
    if (rc == 0) {
        rc = mdb_txn_commit (txn);
        txn = NULL;
    }
    if (txn) mdb_txn_abort (txn);
    if (rc) {
        agent_state_close (&self);
        return hs_db_errno (rc);
    }
    *ret_state = self;
    return 0;
}

void agent_state_close (agent_state_t **self_p)
{
    agent_state_t *self = *self_p;
    if (!self) return;
    if (self->env) {
        mdb_env_sync (self->env, 1);
        mdb_env_close (self->env);
    }
    free (self);
    *self_p = NULL;
}

int agent_state_put (agent_state_t *self, const char *uid, const Hs__AgentPod *rec)
{
    size_t len;
    _cleanup_free_ uint8_t *buf = hs_pb_pack (rec, &len);
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, 0, &txn);
    if (rc) return hs_db_errno (rc);
    MDB_val k = {strlen (uid), (void *)uid}, v = {len, buf};
    rc = mdb_put (txn, self->dbi, &k, &v, 0);
    if (rc) {
        mdb_txn_abort (txn);
        return hs_db_errno (rc);
    }
    return hs_db_errno (mdb_txn_commit (txn));
}

int agent_state_del (agent_state_t *self, const char *uid)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, 0, &txn);
    if (rc) return hs_db_errno (rc);
    MDB_val k = {strlen (uid), (void *)uid};
    rc = mdb_del (txn, self->dbi, &k, NULL);
    if (rc && rc != MDB_NOTFOUND) {
        mdb_txn_abort (txn);
        return hs_db_errno (rc);
    }
    return hs_db_errno (mdb_txn_commit (txn));
}

int agent_state_load (agent_state_t *self, Hs__AgentPod ***ret)
{
    *ret = NULL;
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn);
    if (rc) return hs_db_errno (rc);
    MDB_cursor *cur;
    rc = mdb_cursor_open (txn, self->dbi, &cur);
    if (rc) {
        mdb_txn_abort (txn);
        return hs_db_errno (rc);
    }
    Hs__AgentPod **recs = NULL;
    size_t n = 0;
    MDB_val k, v;
    for (rc = mdb_cursor_get (cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT)) {
        Hs__AgentPod *rec = hs__agent_pod__unpack (NULL, v.mv_size, v.mv_data);
        if (!rec || !rec->pod || !rec->pod->metadata) {
            log_warn ("agent record %.*s does not decode; skipped", (int)k.mv_size,
                      (const char *)k.mv_data);
            hs_pb_free (rec);
            continue;
        }
        hs_pb_push ((void ***)&recs, &n, rec);
    }
    mdb_cursor_close (cur);
    mdb_txn_abort (txn);
    if (rc != MDB_NOTFOUND) {
        for (size_t i = 0; i < n; i++) hs_pb_free (recs[i]);
        free (recs);
        return hs_db_errno (rc);
    }
    *ret = recs;
    return (int)n;
}
