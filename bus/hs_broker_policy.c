/*  hs_broker_policy.c: hs-bus's key table and publish allow-lists
 *  (hs_broker_policy.h). */
#include "hs_broker_policy.h"
#include "hs_topic.h"
#include "hs_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hs_keytab_t {
    hs_keytab_entry_t *entries;
    size_t n;
    uint32_t *slots; /* open addressing: index + 1, 0 empty */
    size_t cap;      /* power of two, at least twice n */
};

static const struct {
    const char *name;
    hs_role_t role;
} s_roles[] = {
    {"store", HS_ROLE_STORE},
    {"node", HS_ROLE_NODE},
    {"scheduler", HS_ROLE_SCHEDULER},
    {"controller", HS_ROLE_CONTROLLER},
    {"prober", HS_ROLE_PROBER},
    {"endpoints", HS_ROLE_ENDPOINTS},
    {"dns", HS_ROLE_DNS},
    {"admin", HS_ROLE_ADMIN},
    {"tap", HS_ROLE_TAP},
    {"bootstrap", HS_ROLE_BOOTSTRAP},
    {"apiserver", HS_ROLE_APISERVER},
    {"metrics", HS_ROLE_METRICS},
};

hs_role_t hs_role_parse (const char *role)
{
    for (size_t i = 0; role && i < HS_ARRAY_LEN (s_roles); i++)
        if (strcmp (role, s_roles[i].name) == 0) return s_roles[i].role;
    return HS_ROLE_NONE;
}

static uint64_t s_hash (const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ULL;
    return h;
}

/* The slot holding z85, or the empty one where it would go. */
static size_t s_slot (const hs_keytab_t *self, const char *z85)
{
    size_t mask = self->cap - 1, i = s_hash (z85, HS_CRED_Z85_LEN) & mask;
    while (self->slots[i] &&
           memcmp (self->entries[self->slots[i] - 1].public_key, z85, HS_CRED_Z85_LEN) != 0)
        i = (i + 1) & mask;
    return i;
}

/* Adds keys[i] to self (whose slots have room); false if its key is there. */
static bool s_add (hs_keytab_t *self, const hs_cred_key_t *k, hs_role_t role)
{
    size_t s = s_slot (self, k->public_key);
    if (self->slots[s]) return false;
    hs_keytab_entry_t *e = &self->entries[self->n];
    snprintf (e->name, sizeof e->name, "%s", k->name);
    snprintf (e->identity, sizeof e->identity, "%s", k->identity);
    snprintf (e->public_key, sizeof e->public_key, "%s", k->public_key);
    e->role = role;
    e->expires = k->expires;
    const char *name = hs_cred_identity_name (e->identity);
    if (role == HS_ROLE_NODE && name) {
        snprintf (e->own_hb, sizeof e->own_hb, "hb.agent.%s", name);
        snprintf (e->own_hb2, sizeof e->own_hb2, "hb.proxy.%s", name);
        snprintf (e->own_usage, sizeof e->own_usage, "usage.%s/", name);
    } else if (hs_startswith (e->identity, "sa:") && name) {
        snprintf (e->own_hb, sizeof e->own_hb, "hb.%s.", name);
    }
    self->slots[s] = (uint32_t)++self->n;
    return true;
}

static hs_keytab_t *s_new (size_t n)
{
    hs_keytab_t *self = hs_calloc (1, sizeof *self);
    self->entries = hs_calloc (n ? n : 1, sizeof *self->entries);
    self->cap = 16;
    while (self->cap < 2 * n) self->cap *= 2;
    self->slots = hs_calloc (self->cap, sizeof *self->slots);
    return self;
}

hs_keytab_t *hs_keytab_new (const hs_cred_key_t *keys, size_t n, size_t *ret_dups,
                            hs_keytab_conflict_fn *on_conflict, void *arg)
{
    /* First every usable key once, to see which keys name two identities. */
    hs_keytab_t *seen = s_new (n);
    bool *conflict = hs_calloc (n ? n : 1, sizeof *conflict);
    size_t dups = 0;
    for (size_t i = 0; i < n; i++) {
        hs_role_t role = hs_role_parse (keys[i].role);
        if (role == HS_ROLE_NONE || !hs_cred_key_ok (keys[i].public_key)) continue;
        if (s_add (seen, &keys[i], role)) continue;
        const hs_keytab_entry_t *first = hs_keytab_find (seen, keys[i].public_key);
        if (hs_streq (first->identity, keys[i].identity)) continue;
        conflict[first - seen->entries] = true;
        if (on_conflict) on_conflict (first->name, first->identity, &keys[i], arg);
    }
    /* Then the table, without those keys at all: picking one identity by
     * file name would hand one identity's connections to the other. */
    hs_keytab_t *self = s_new (n);
    for (size_t i = 0; i < n; i++) {
        hs_role_t role = hs_role_parse (keys[i].role);
        const hs_keytab_entry_t *e =
            role == HS_ROLE_NONE ? NULL : hs_keytab_find (seen, keys[i].public_key);
        if (!e || conflict[e - seen->entries] || !s_add (self, &keys[i], role)) dups++;
    }
    free (conflict);
    hs_keytab_destroy (&seen);
    if (ret_dups) *ret_dups = dups;
    return self;
}

void hs_keytab_destroy (hs_keytab_t **self_p)
{
    hs_keytab_t *self = *self_p;
    if (!self) return;
    free (self->entries);
    free (self->slots);
    free (self);
    *self_p = NULL;
}

size_t hs_keytab_size (const hs_keytab_t *self)
{
    return self ? self->n : 0;
}

const hs_keytab_entry_t *hs_keytab_entry (const hs_keytab_t *self, size_t i)
{
    return self && i < self->n ? &self->entries[i] : NULL;
}

const hs_keytab_entry_t *hs_keytab_find (const hs_keytab_t *self, const char *z85)
{
    if (!self || !z85 || strlen (z85) != HS_CRED_Z85_LEN) return NULL;
    size_t s = s_slot (self, z85);
    return self->slots[s] ? &self->entries[self->slots[s] - 1] : NULL;
}

bool hs_keytab_expired (const hs_keytab_entry_t *e, int64_t now_s)
{
    return e->expires > 0 && now_s >= e->expires;
}

size_t hs_keytab_gone (const hs_keytab_t *old, const hs_keytab_t *new_, int64_t now_s)
{
    size_t gone = 0;
    for (size_t i = 0; old && i < old->n; i++) {
        const hs_keytab_entry_t *o = &old->entries[i];
        if (hs_keytab_expired (o, now_s)) continue;
        const hs_keytab_entry_t *e = hs_keytab_find (new_, o->public_key);
        if (!e || hs_keytab_expired (e, now_s)) gone++;
    }
    return gone;
}

int64_t hs_keytab_next_expiry (const hs_keytab_t *self, int64_t now_s)
{
    int64_t next = 0;
    for (size_t i = 0; self && i < self->n; i++) {
        int64_t x = self->entries[i].expires;
        if (x > now_s && (next == 0 || x < next)) next = x;
    }
    return next;
}

size_t hs_keytab_expired_between (const hs_keytab_t *self, int64_t after_s, int64_t now_s)
{
    size_t n = 0;
    for (size_t i = 0; self && i < self->n; i++) {
        int64_t x = self->entries[i].expires;
        if (x > after_s && x <= now_s) n++;
    }
    return n;
}

static bool s_prefix (const char *topic, size_t len, const char *prefix)
{
    size_t n = strlen (prefix);
    return len >= n && memcmp (topic, prefix, n) == 0;
}

static bool s_exact (const char *topic, size_t len, const char *want)
{
    return *want && strlen (want) == len && memcmp (topic, want, len) == 0;
}

bool hs_policy_is_cmd (const char *topic, size_t len)
{
    return len > 4 && memcmp (topic, "cmd.", 4) == 0;
}

/* hb.raft.<member>, a valid member name (hs_member_name_ok). */
static bool s_raft_hb (const char *topic, size_t len)
{
    const size_t n = strlen ("hb.raft.");
    return s_prefix (topic, len, "hb.raft.") && hs_member_name_ok (topic + n, len - n);
}

bool hs_policy_is_members (const char *topic, size_t len)
{
    return s_prefix (topic, len, "cmd.members");
}

bool hs_policy_may_publish (const hs_keytab_entry_t *who, const char *topic, size_t len)
{
    if (!who || len == 0) return false;
    /* a membership change (cmd.members/, MemberChange) is an admin's alone:
     * every other identity that may send commands is refused it here; the
     * prefix without its slash too, so no near-miss topic reaches the store */
    if (hs_policy_is_members (topic, len) && who->role != HS_ROLE_ADMIN) return false;
    /* every identity proves its round trip through the bus (hs_bus_join) */
    if (s_prefix (topic, len, "echo.")) return true;
    switch (who->role) {
    case HS_ROLE_STORE:
        return s_prefix (topic, len, "ev.") || s_prefix (topic, len, "ack.") ||
               s_prefix (topic, len, "snap.") || s_exact (topic, len, "hb.store") ||
               s_raft_hb (topic, len);
    case HS_ROLE_NODE:
        return hs_policy_is_cmd (topic, len) || s_prefix (topic, len, "logs.") ||
               s_prefix (topic, len, "probres.") || s_prefix (topic, len, "execout.") ||
               s_exact (topic, len, who->own_hb) || s_exact (topic, len, who->own_hb2) ||
               s_exact (topic, len, who->own_usage);
    case HS_ROLE_SCHEDULER:
    case HS_ROLE_CONTROLLER:
    case HS_ROLE_ENDPOINTS:
    case HS_ROLE_DNS:
        return hs_policy_is_cmd (topic, len) ||
               (*who->own_hb && s_prefix (topic, len, who->own_hb) && len > strlen (who->own_hb));
    case HS_ROLE_PROBER:
        /* fence.<node>/: the agents' fence contact (its identity alone) */
        return hs_policy_is_cmd (topic, len) || s_prefix (topic, len, "probe.") ||
               s_prefix (topic, len, "fence.") ||
               (s_prefix (topic, len, "hb.prober.") && len > strlen ("hb.prober."));
    case HS_ROLE_ADMIN:
        return hs_policy_is_cmd (topic, len) || s_prefix (topic, len, "logreq.") ||
               s_prefix (topic, len, "exec.");
    case HS_ROLE_BOOTSTRAP: return hs_policy_is_cmd (topic, len);
    case HS_ROLE_TAP: return s_exact (topic, len, "cmd.snapshot");
    case HS_ROLE_APISERVER:
    case HS_ROLE_METRICS:
        return s_exact (topic, len, "cmd.snapshot") ||
               (*who->own_hb && s_prefix (topic, len, who->own_hb) && len > strlen (who->own_hb));
    case HS_ROLE_NONE: return false;
    }
    return false;
}
