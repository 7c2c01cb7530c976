/*  ctl_comp_fmt.c: the component and member tables (ctl_comp.h). Pure: no
 *  bus, no clock of its own. */
#include "ctl_comp.h"
#include "ctl_fmt.h"
#include "hs_pbjson.h"
#include "hs_topic.h"
#include "hs_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ctl_comp_t *s_slot (ctl_comps_t *s, const char *component, const char *instance)
{
    for (size_t i = 0; i < s->n; i++)
        if (hs_streq (s->items[i].component, component) &&
            hs_streq (s->items[i].instance, instance))
            return &s->items[i];
    s->items = hs_realloc (s->items, (s->n + 1) * sizeof (ctl_comp_t));
    ctl_comp_t *c = &s->items[s->n++];
    memset (c, 0, sizeof *c);
    c->component = hs_strdup (component);
    c->instance = hs_strdup (instance);
    return c;
}

static void s_members_free (ctl_comp_t *c)
{
    for (size_t i = 0; i < c->n_members; i++) {
        free (c->members[i].name);
        free (c->members[i].address);
        free (c->members[i].role);
    }
    free (c->members);
    c->members = NULL;
    c->n_members = 0;
}

static void s_set (char **dst, const char *src)
{
    free (*dst);
    *dst = hs_strdup (hs_s (src));
}

void ctl_comps_on_store (ctl_comps_t *s, const char *topic, const char *sender,
                         const Hs__StoreHeartbeat *hb)
{
    bool raft = hs_startswith (hs_s (topic), "hb.raft.") && topic[8];
    const char *slash = strchr (hs_s (sender), '/');
    /* a member's rows are keyed by its name, so the leader's hb.store (which
     * names its member) and its hb.raft.<member> make one row */
    const char *instance = raft                       ? topic + 8
                           : !hs_empty (hb->member)   ? hb->member
                           : !hs_empty (hb->instance) ? hb->instance
                           : slash                    ? slash + 1
                                                      : hs_s (sender);
    ctl_comp_t *c = s_slot (s, "hs-store", instance);
    c->is_store = true;
    c->started_at_ns = hb->started_at_ns;
    c->revision = hb->revision;
    c->total = hb->objects;
    if (hb->revision > s->store_revision) s->store_revision = hb->revision;
    /* hb.store of a member carries the same raft view; only a member's own
     * heartbeat says it is one */
    if (raft) {
        c->raft = true;
        s->raft = true;
    }
    if (!raft && c->raft) return; /* keep the member's own view */
    s_set (&c->role, hs_empty (hb->role) ? "standalone" : hb->role);
    s_set (&c->leader, hb->leader);
    s_set (&c->cluster_id, hb->cluster_id);
    c->term = hb->term;
    c->commit_index = hb->commit_index;
    c->applied_index = hb->applied_index;
    c->snapshot_index = hb->snapshot_index;
    c->snapshots_installed = hb->snapshots_installed;
    s_members_free (c);
    if (hb->n_members) c->members = hs_calloc (hb->n_members, sizeof *c->members);
    for (size_t i = 0; i < hb->n_members; i++) {
        const Hs__StoreMember *m = hb->members[i];
        ctl_conf_member_t *d = &c->members[c->n_members++];
        d->id = m->id;
        d->name = hs_strdup (hs_s (m->name));
        d->address = hs_strdup (hs_s (m->address));
        d->role = hs_strdup (hs_empty (m->role) ? "voter" : m->role);
        d->match_index = m->match_index;
    }
}

void ctl_comps_on_component (ctl_comps_t *s, const Hs__ComponentHeartbeat *hb)
{
    ctl_comp_t *c = s_slot (s, hs_s (hb->component), hs_s (hb->instance));
    s_set (&c->host, hb->host);
    c->started_at_ns = hb->started_at_ns;
    c->revision = hb->observed_revision;
    c->owned = hb->owned;
    c->total = hb->total;
}

static void s_item_free (ctl_comp_t *c)
{
    free (c->component);
    free (c->instance);
    free (c->host);
    free (c->role);
    free (c->leader);
    free (c->cluster_id);
    s_members_free (c);
}

static int s_cmp (const void *a, const void *b)
{
    const ctl_comp_t *x = a, *y = b;
    int r = strcmp (hs_s (x->component), hs_s (y->component));
    return r ? r : strcmp (hs_s (x->instance), hs_s (y->instance));
}

void ctl_comps_finish (ctl_comps_t *s)
{
    if (s->raft) {
        size_t k = 0;
        for (size_t i = 0; i < s->n; i++) {
            if (s->items[i].is_store && !s->items[i].raft)
                s_item_free (&s->items[i]);
            else
                s->items[k++] = s->items[i];
        }
        s->n = k;
    }
    if (s->n) qsort (s->items, s->n, sizeof (ctl_comp_t), s_cmp);
}

void ctl_comps_free (ctl_comps_t *s)
{
    for (size_t i = 0; i < s->n; i++) s_item_free (&s->items[i]);
    free (s->items);
    memset (s, 0, sizeof *s);
}

static const ctl_comp_t *s_find_store (const ctl_comps_t *s, const char *member)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->items[i].raft && hs_streq (s->items[i].instance, member)) return &s->items[i];
    return NULL;
}

/* How many of c's configured members were heard. */
static size_t s_heard (const ctl_comps_t *s, const ctl_comp_t *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_members; i++)
        if (s_find_store (s, c->members[i].name)) n++;
    return n;
}

static bool s_follows (const ctl_comp_t *c)
{
    /* a component that follows no state (the broker) has no lag */
    return c->is_store || c->revision > 0;
}

char *ctl_comps_table (const ctl_comps_t *s, bool no_headers, int64_t now_ns)
{
    hs_buf_t b = {0};
    if (!no_headers) {
        hs_buf_puts (&b, "NAME\tINSTANCE\tHOST\tAGE\tREVISION\tLAG\tOWNED");
        hs_buf_puts (&b, s->raft ? "\tROLE\tTERM\tCOMMIT\tAPPLIED\tLEADER\tMEMBERS\n" : "\n");
    }
    for (size_t i = 0; i < s->n; i++) {
        const ctl_comp_t *c = &s->items[i];
        char age[32], rev[32], lag[32], owned[64];
        hs_fmt_age (c->started_at_ns, now_ns, age, sizeof age);
        bool follows = s_follows (c);
        snprintf (rev, sizeof rev, "%lld", (long long)c->revision);
        snprintf (
            lag, sizeof lag, "%lld",
            (long long)(s->store_revision > c->revision ? s->store_revision - c->revision : 0));
        if (!follows) snprintf (rev, sizeof rev, "-");
        if (!follows) snprintf (lag, sizeof lag, "-");
        if (c->is_store)
            snprintf (owned, sizeof owned, "%llu objects", (unsigned long long)c->total);
        else if (c->total)
            snprintf (owned, sizeof owned, "%llu/%llu (%llu%%)", (unsigned long long)c->owned,
                      (unsigned long long)c->total,
                      (unsigned long long)(c->owned * 100 / c->total));
        else
            snprintf (owned, sizeof owned, "%llu", (unsigned long long)c->owned);
        char *cells[13] = {
            c->component, c->instance, hs_empty (c->host) ? (char *)"<none>" : c->host, age, rev,
            lag,          owned};
        size_t n = 7;
        char term[32], commit[32], applied[32], members[48];
        if (s->raft) {
            if (c->is_store) {
                snprintf (term, sizeof term, "%llu", (unsigned long long)c->term);
                snprintf (commit, sizeof commit, "%llu", (unsigned long long)c->commit_index);
                snprintf (applied, sizeof applied, "%llu", (unsigned long long)c->applied_index);
                snprintf (members, sizeof members, "%zu/%zu", s_heard (s, c), c->n_members);
                cells[7] = hs_empty (c->role) ? (char *)"-" : c->role;
                cells[8] = term;
                cells[9] = commit;
                cells[10] = applied;
                cells[11] = hs_empty (c->leader) ? (char *)"<none>" : c->leader;
                cells[12] = members;
            } else {
                for (size_t k = 7; k < 13; k++) cells[k] = (char *)"-";
            }
            n = 13;
        }
        ctl_row_append (&b, cells, n);
    }
    _cleanup_free_ char *text = hs_buf_take (&b);
    return ctl_tabwrite (text ? text : "", 6, 3);
}

static hs_tree_t *s_str (const char *v)
{
    return hs_tree_scalar (hs_s (v), true);
}

static hs_tree_t *s_num (long long v)
{
    char buf[32];
    snprintf (buf, sizeof buf, "%lld", v);
    return hs_tree_scalar (buf, false);
}

static hs_tree_t *s_unum (uint64_t v)
{
    char buf[32];
    snprintf (buf, sizeof buf, "%llu", (unsigned long long)v);
    return hs_tree_scalar (buf, false);
}

char *ctl_comps_render (const ctl_comps_t *s, int flags, int64_t now_ns)
{
    hs_tree_t *items = hs_tree_new (HS_TREE_SEQ);
    for (size_t i = 0; i < s->n; i++) {
        const ctl_comp_t *c = &s->items[i];
        hs_tree_t *it = hs_tree_new (HS_TREE_MAP);
        hs_tree_add (it, "name", s_str (c->component));
        hs_tree_add (it, "instance", s_str (c->instance));
        hs_tree_add (it, "host", s_str (c->host));
        hs_tree_add (it, "startedAtNs", s_num (c->started_at_ns));
        hs_tree_add (it, "ageSeconds",
                     s_num (now_ns > c->started_at_ns && c->started_at_ns > 0
                                ? (now_ns - c->started_at_ns) / 1000000000
                                : 0));
        if (s_follows (c)) {
            hs_tree_add (it, "revision", s_num (c->revision));
            hs_tree_add (
                it, "lag",
                s_num (s->store_revision > c->revision ? s->store_revision - c->revision : 0));
        }
        hs_tree_add (it, c->is_store ? "objects" : "owned",
                     s_unum (c->is_store ? c->total : c->owned));
        if (!c->is_store) hs_tree_add (it, "total", s_unum (c->total));
        if (c->is_store) {
            hs_tree_t *st = hs_tree_new (HS_TREE_MAP);
            hs_tree_add (st, "role", s_str (hs_empty (c->role) ? "standalone" : c->role));
            hs_tree_add (st, "term", s_unum (c->term));
            hs_tree_add (st, "commitIndex", s_unum (c->commit_index));
            hs_tree_add (st, "appliedIndex", s_unum (c->applied_index));
            hs_tree_add (st, "snapshotIndex", s_unum (c->snapshot_index));
            hs_tree_add (st, "snapshotsInstalled", s_unum (c->snapshots_installed));
            hs_tree_add (st, "leader", s_str (c->leader));
            hs_tree_add (st, "clusterID", s_str (c->cluster_id));
            hs_tree_t *ms = hs_tree_new (HS_TREE_SEQ);
            for (size_t k = 0; k < c->n_members; k++) {
                const ctl_conf_member_t *m = &c->members[k];
                hs_tree_t *mt = hs_tree_new (HS_TREE_MAP);
                hs_tree_add (mt, "id", s_unum (m->id));
                hs_tree_add (mt, "name", s_str (m->name));
                hs_tree_add (mt, "address", s_str (m->address));
                hs_tree_add (mt, "role", s_str (m->role));
                hs_tree_add (mt, "matchIndex", s_unum (m->match_index));
                hs_tree_add (mt, "heard",
                             hs_tree_scalar (s_find_store (s, m->name) ? "true" : "false", false));
                hs_tree_add (ms, NULL, mt);
            }
            hs_tree_add (st, "members", ms);
            hs_tree_add (it, "store", st);
        }
        hs_tree_add (items, NULL, it);
    }
    hs_tree_t *list = hs_tree_new (HS_TREE_MAP);
    hs_tree_add (list, "apiVersion", hs_tree_scalar ("v1", false));
    hs_tree_add (list, "items", items);
    hs_tree_add (list, "kind", hs_tree_scalar ("List", false));
    char *text = hs_tree_to_text (list, flags);
    hs_tree_free (list);
    return text;
}

const ctl_comp_t *ctl_members_view (const ctl_comps_t *s)
{
    const ctl_comp_t *best = NULL;
    for (size_t i = 0; i < s->n; i++) {
        const ctl_comp_t *c = &s->items[i];
        if (!c->raft) continue;
        bool lead = hs_streq (c->role, "leader"),
             best_lead = best && hs_streq (best->role, "leader");
        if (!best || (lead && !best_lead) ||
            (lead == best_lead &&
             (c->term > best->term || (c->term == best->term && c->n_members > best->n_members))))
            best = c;
    }
    return best;
}

char *ctl_members_table (const ctl_comps_t *s, bool no_headers)
{
    const ctl_comp_t *view = ctl_members_view (s);
    if (!view) return NULL;
    bool leader_view = hs_streq (view->role, "leader");
    hs_buf_t b = {0};
    if (!no_headers)
        hs_buf_puts (&b, "NAME\tID\tADDRESS\tVOTE\tSTATUS\tTERM\tCOMMIT\tAPPLIED\tMATCH\n");
    for (size_t i = 0; i < view->n_members; i++) {
        const ctl_conf_member_t *m = &view->members[i];
        const ctl_comp_t *c = s_find_store (s, m->name);
        char id[32], term[32], commit[32], applied[32], match[32];
        snprintf (id, sizeof id, "%llu", (unsigned long long)m->id);
        snprintf (term, sizeof term, "-");
        snprintf (commit, sizeof commit, "-");
        snprintf (applied, sizeof applied, "-");
        if (c) {
            snprintf (term, sizeof term, "%llu", (unsigned long long)c->term);
            snprintf (commit, sizeof commit, "%llu", (unsigned long long)c->commit_index);
            snprintf (applied, sizeof applied, "%llu", (unsigned long long)c->applied_index);
        }
        /* only the leader knows how far each member's log matches */
        if (leader_view)
            snprintf (match, sizeof match, "%llu", (unsigned long long)m->match_index);
        else
            snprintf (match, sizeof match, "-");
        char *cells[] = {m->name,
                         id,
                         hs_empty (m->address) ? (char *)"<none>" : m->address,
                         m->role,
                         c ? (hs_empty (c->role) ? (char *)"unknown" : c->role)
                           : (char *)"unreachable",
                         term,
                         commit,
                         applied,
                         match};
        ctl_row_append (&b, cells, HS_ARRAY_LEN (cells));
    }
    /* heard, but not in the configuration: joining (started with --join,
     * not yet added) or removed and still running */
    for (size_t i = 0; i < s->n; i++) {
        const ctl_comp_t *c = &s->items[i];
        if (!c->raft) continue;
        bool configured = false;
        for (size_t k = 0; k < view->n_members && !configured; k++)
            configured = hs_streq (view->members[k].name, c->instance);
        if (configured) continue;
        char term[32], commit[32], applied[32];
        snprintf (term, sizeof term, "%llu", (unsigned long long)c->term);
        snprintf (commit, sizeof commit, "%llu", (unsigned long long)c->commit_index);
        snprintf (applied, sizeof applied, "%llu", (unsigned long long)c->applied_index);
        char *cells[] = {
            c->instance, (char *)"-", (char *)"<none>", (char *)"-", (char *)"not-a-member",
            term,        commit,      applied,          (char *)"-"};
        ctl_row_append (&b, cells, HS_ARRAY_LEN (cells));
    }
    _cleanup_free_ char *text = hs_buf_take (&b);
    return ctl_tabwrite (text ? text : "", 6, 3);
}

bool ctl_member_name_ok (const char *name)
{
    return name && hs_member_name_ok (name, strlen (name));
}

bool ctl_member_addr_ok (const char *addr)
{
    const char *colon = addr ? strrchr (addr, ':') : NULL;
    if (!colon || colon == addr || !colon[1] || strlen (colon + 1) > 5) return false;
    for (const char *p = addr; p < colon; p++)
        if (*p == ' ' || *p == '/' || *p == ',' || *p == '=') return false;
    long port = 0;
    for (const char *p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9') return false;
        port = port * 10 + (*p - '0');
    }
    return port >= 1 && port <= 65535;
}

static const struct {
    const char *op;
    int nargs;
    const char *usage;
} s_ops[] = {
    {"add", 2, "member add NAME HOST:PORT"},
    {"remove", 1, "member remove NAME"},
    {"replace", 3, "member replace OLD NEW HOST:PORT"},
    {"transfer", 1, "member transfer NAME"},
};

Hs__MemberChange *ctl_member_change_new (const char *op, int nargs, char *const *args,
                                         char **ret_error)
{
    *ret_error = NULL;
    int k = -1;
    for (size_t i = 0; i < HS_ARRAY_LEN (s_ops); i++)
        if (hs_streq (op, s_ops[i].op)) k = (int)i;
    if (k < 0) {
        *ret_error = hs_sprintf ("unknown command \"%s\" for \"hsctl member\" (list, add, "
                                 "remove, replace or transfer)",
                                 hs_s (op));
        return NULL;
    }
    if (nargs != s_ops[k].nargs) {
        *ret_error = hs_sprintf ("%s takes %d argument%s: hsctl %s", op, s_ops[k].nargs,
                                 s_ops[k].nargs == 1 ? "" : "s", s_ops[k].usage);
        return NULL;
    }
    /* the names, then the address */
    int names = k == 2 ? 2 : 1;
    for (int i = 0; i < names; i++)
        if (!ctl_member_name_ok (args[i])) {
            *ret_error =
                hs_sprintf ("invalid member name \"%s\": 1 to 32 of a-z, 0-9 and '-'", args[i]);
            return NULL;
        }
    if (k == 2 && strcmp (args[0], args[1]) == 0) {
        *ret_error = hs_sprintf ("replace needs a new name: \"%s\" would replace itself", args[0]);
        return NULL;
    }
    const char *addr = k == 0 ? args[1] : k == 2 ? args[2] : NULL;
    if (addr && !ctl_member_addr_ok (addr)) {
        *ret_error = hs_sprintf ("invalid raft address \"%s\": want HOST:PORT (port 1-65535), "
                                 "as in hs-store --peers",
                                 addr);
        return NULL;
    }
    Hs__MemberChange *mc = hs_calloc (1, sizeof *mc);
    hs__member_change__init (mc);
    mc->op = hs_strdup (op);
    mc->name = hs_strdup (k == 2 ? args[1] : args[0]);
    if (addr) mc->address = hs_strdup (addr);
    if (k == 2) mc->replaces = hs_strdup (args[0]);
    return mc;
}

char *ctl_member_done_line (const Hs__MemberChange *mc)
{
    const char *op = hs_s (mc->op);
    if (!strcmp (op, "add"))
        return hs_sprintf ("member/%s added (%s)", hs_s (mc->name), hs_s (mc->address));
    if (!strcmp (op, "remove")) return hs_sprintf ("member/%s removed", hs_s (mc->name));
    if (!strcmp (op, "replace"))
        return hs_sprintf ("member/%s replaced by member/%s (%s)", hs_s (mc->replaces),
                           hs_s (mc->name), hs_s (mc->address));
    if (!strcmp (op, "transfer"))
        return hs_sprintf ("leadership transferred to member/%s", hs_s (mc->name));
    return hs_sprintf ("member/%s %s", hs_s (mc->name), op);
}
