/*  ctl_member.c: `hsctl member list|add|remove|replace|transfer` — the
 *  replicated store's membership (docs/protocol.md, cmd.members/).
 *
 *  list listens to hb.raft.* (every member's heartbeat, ~200 ms apart) until
 *  it has heard the leader and every member the leader names, or 2 s.
 *  The changes publish a MemberChange on cmd.members/ (an admin identity's
 *  alone: hs-bus refuses it to anyone else) with this client's id and a
 *  fresh request id, resend it with the SAME request id until the leader's
 *  Ack comes (the store's request table makes a resend a replay), and print
 *  one line. It resends at once when hb.store shows a new epoch (a new
 *  leader), else every 3 s. An Unavailable answer (leadership lost) is not
 *  final: the resends go on until --request-timeout.
 */
#include "ctl.h"
#include "ctl_comp.h"
#include "ctl_fmt.h"
#include "hs_pbjson.h"
#include "hs_topic.h"

#include <errno.h>
#include <string.h>

#define CTL_MEMBER_LISTEN_MS 2000
/* A resend in case the message was lost; at once when hb.store shows a new
 * epoch (a new leader). Rare on purpose: a change takes as long as the new
 * member's catch-up, and a resend meets the change still in progress. */
#define CTL_MEMBER_RESEND_MS 3000

enum { S_OPT_NO_HEADERS = CTL_OPT_VERB_BASE };

typedef struct {
    int flags; /* -1: table; HS_FMT_JSON / HS_FMT_YAML */
    bool no_headers;
} s_opts_t;

static const struct option s_longs[] = {
    {"output", required_argument, NULL, 'o'},
    {"no-headers", no_argument, NULL, S_OPT_NO_HEADERS},
    {NULL, 0, NULL, 0},
};

static int s_opt (ctl_t *ctl, void *arg, int c, const char *optarg)
{
    (void)ctl;
    s_opts_t *o = arg;
    switch (c) {
    case 'o':
        if (!strcmp (optarg, "json"))
            o->flags = HS_FMT_JSON;
        else if (!strcmp (optarg, "yaml"))
            o->flags = HS_FMT_YAML;
        else if (!strcmp (optarg, "wide"))
            o->flags = -1;
        else {
            fprintf (stderr,
                     "error: unable to match a printer suitable for the output format \"%s\", "
                     "allowed formats are: json,wide,yaml\n",
                     optarg);
            return -1;
        }
        return 0;
    case S_OPT_NO_HEADERS: o->no_headers = true; return 0;
    default: return -1;
    }
}

static void s_usage (void)
{
    printf ("List and change the members of a replicated store (hs-store --peers).\n\n"
            "Usage:\n"
            "  hsctl member list [-o json|yaml] [--no-headers]\n"
            "  hsctl member add NAME HOST:PORT        add a member (start its hs-store with "
            "--join first)\n"
            "  hsctl member remove NAME               remove a member\n"
            "  hsctl member replace OLD NEW HOST:PORT add NEW, then remove OLD\n"
            "  hsctl member transfer NAME             hand leadership to NAME\n\n"
            "Changes go to the leader on cmd.members/ and need an admin credential; each\n"
            "waits for the new configuration to commit (--request-timeout, default 10s).\n");
}

/* ------------------------------------------------------------------ list */

typedef struct {
    ctl_comps_t comps;
    bool store_heard; /* hb.store: some store is up */
    uint64_t epoch;   /* the serving store's, from hb.store */
} s_list_t;

static void s_on_hb (void *arg, const char *topic, const Hs__Envelope *env)
{
    s_list_t *l = arg;
    if (env->body_case != HS__ENVELOPE__BODY_STORE_HEARTBEAT) return;
    if (!strcmp (topic, "hb.store")) {
        l->store_heard = true;
        l->epoch = env->store_heartbeat->epoch;
    }
    ctl_comps_on_store (&l->comps, topic, env->sender, env->store_heartbeat);
}

/* Whether the leader and every member it names were heard. */
static bool s_all_heard (const ctl_comps_t *s)
{
    const ctl_comp_t *v = ctl_members_view (s);
    if (!v || !hs_streq (v->role, "leader")) return false;
    for (size_t i = 0; i < v->n_members; i++) {
        bool heard = false;
        for (size_t k = 0; k < s->n && !heard; k++)
            heard = s->items[k].raft && hs_streq (s->items[k].instance, v->members[i].name);
        if (!heard) return false;
    }
    return true;
}

static int s_list (ctl_t *ctl, const s_opts_t *o)
{
    if (ctl_connect (ctl) < 0) return 1;
    s_list_t l = {0};
    hs_client_on (ctl->client, "hb.raft.", s_on_hb, &l);
    hs_client_on (ctl->client, "hb.store", s_on_hb, &l);
    int64_t deadline = hs_mono_ns () + (int64_t)CTL_MEMBER_LISTEN_MS * 1000000;
    while (hs_mono_ns () < deadline && !s_all_heard (&l.comps)) hs_client_process (ctl->client, 50);
    ctl_comps_finish (&l.comps);
    int rc = 0;
    if (!l.comps.raft) {
        if (l.store_heard)
            fprintf (stderr, "error: the store is not replicated (a single hs-store, started "
                             "without --peers): it has no members\n");
        else
            fprintf (stderr,
                     "error: no store member heartbeat (hb.raft.*) within %ds: is hs-store "
                     "running?\n",
                     CTL_MEMBER_LISTEN_MS / 1000);
        rc = 1;
    } else if (o->flags >= 0) {
        /* only the stores' rows: those are what hb.raft.* and hb.store carry */
        _cleanup_free_ char *out = ctl_comps_render (&l.comps, o->flags, hs_now_ns ());
        fputs (out, stdout);
    } else {
        _cleanup_free_ char *out = ctl_members_table (&l.comps, o->no_headers);
        fputs (out ? out : "", stdout);
    }
    ctl_comps_free (&l.comps);
    return rc;
}

/* ------------------------------------------------------------------ changes */

typedef struct {
    const char *rid;
    Hs__Ack *ack;      /* the first definitive answer to rid */
    char *unavailable; /* the last Unavailable answer's message */
} s_wait_t;

static void s_on_ack (void *arg, const char *topic, const Hs__Envelope *env)
{
    (void)topic;
    s_wait_t *w = arg;
    if (env->body_case != HS__ENVELOPE__BODY_ACK || w->ack) return;
    if (!hs_streq (env->ack->request_id, w->rid)) return;
    /* Unavailable (leadership lost, another change in progress): kept
     * apart, the resends go on until the deadline (same request id) */
    if (env->ack->code == HS__CODE__CODE_UNAVAILABLE) {
        free (w->unavailable);
        w->unavailable = hs_strdup (hs_empty (env->ack->message) ? "the store is unavailable"
                                                                 : env->ack->message);
        return;
    }
    /* a copy: env is borrowed */
    size_t len = hs__ack__get_packed_size (env->ack);
    uint8_t *buf = hs_malloc (len ? len : 1);
    hs__ack__pack (env->ack, buf);
    w->ack = hs__ack__unpack (&hs_pb_allocator, len, buf);
    free (buf);
}

static int s_change (ctl_t *ctl, const char *op, int nargs, char **args)
{
    _cleanup_free_ char *err = NULL;
    Hs__MemberChange *mc = ctl_member_change_new (op, nargs, args, &err);
    if (!mc) {
        ctl_usage_error (ctl, "%s", err);
        return 1;
    }
    if (ctl_connect (ctl) < 0) {
        hs_pb_free (mc);
        return 1;
    }
    char rid[17];
    hs_random_id (rid, 16);
    /* both are protobuf_c_empty_string from ctl_member_change_new */
    mc->client_id = hs_strdup (hs_client_id (ctl->client));
    mc->request_id = hs_strdup (rid);
    s_wait_t w = {.rid = rid};
    _cleanup_free_ char *ack_topic = hs_topic_to ("ack", hs_client_id (ctl->client));
    hs_client_on (ctl->client, ack_topic, s_on_ack, &w);
    /* what answered, if nothing did: a single store ignores cmd.members/ */
    s_list_t heard = {0};
    hs_client_on (ctl->client, "hb.raft.", s_on_hb, &heard);
    hs_client_on (ctl->client, "hb.store", s_on_hb, &heard);
    Hs__Envelope env = HS__ENVELOPE__INIT;
    env.body_case = HS__ENVELOPE__BODY_MEMBER_CHANGE;
    env.member_change = mc;
    int64_t start = hs_mono_ns (), next = start;
    int64_t deadline = start + (int64_t)ctl->timeout_ms * 1000000;
    int r = 0;
    uint64_t sent_epoch = 0;
    while (!w.ack && hs_mono_ns () < deadline) {
        /* a new leader did not see it (or lost it with its leadership) */
        bool new_leader = sent_epoch && heard.epoch && heard.epoch != sent_epoch;
        if (hs_mono_ns () >= next || new_leader) {
            sent_epoch = heard.epoch ? heard.epoch : 1;
            /* the same request id every time: a replay, never a second change */
            r = hs_bus_publish (hs_client_bus (ctl->client), "cmd.members/", &env);
            hs_pb_take_str (&env.sender, NULL); /* publish set a heap copy */
            if (r < 0) break;
            next = hs_mono_ns () + (int64_t)CTL_MEMBER_RESEND_MS * 1000000;
        }
        r = hs_client_process (ctl->client, 50);
        if (r == -EINTR) break;
        r = 0;
    }
    int rc = 0;
    if (r < 0) {
        fprintf (stderr, "error: cannot send the membership change: %s\n", strerror (-r));
        rc = 1;
    } else if (!w.ack && w.unavailable) {
        fprintf (stderr, "Error from server (ServiceUnavailable): %s (still so after %d ms)\n",
                 w.unavailable, ctl->timeout_ms);
        rc = 1;
    } else if (!w.ack && heard.store_heard && !heard.comps.raft) {
        fprintf (stderr, "error: the store is not replicated (a single hs-store, started without "
                         "--peers): it has no members to change\n");
        rc = 1;
    } else if (!w.ack) {
        ctl_print_store_timeout (ctl);
        fprintf (stderr,
                 "(no leader answered the %s on cmd.members/: see hsctl member list; "
                 "the change may still happen)\n",
                 op);
        rc = 1;
    } else if (w.ack->code != HS__CODE__CODE_OK) {
        fprintf (stderr, "Error from server (%s): %s\n", hs_code_reason (w.ack->code),
                 hs_empty (w.ack->message) ? "the store refused the membership change"
                                           : w.ack->message);
        rc = 1;
    } else {
        _cleanup_free_ char *line = ctl_member_done_line (mc);
        printf ("%s\n", line);
    }
    hs_pb_free (w.ack);
    free (w.unavailable);
    hs_pb_free (mc);
    ctl_comps_free (&heard.comps);
    return rc;
}

int ctl_member_main (ctl_t *ctl, int argc, char **argv)
{
    s_opts_t o = {.flags = -1};
    int first = ctl_parse (ctl, argc, argv, s_longs, "o:", s_opt, &o);
    if (first < 0) return 1;
    if (ctl->help) {
        s_usage ();
        return 0;
    }
    int npos = argc - first;
    char **pos = argv + first;
    if (npos == 0) {
        ctl_usage_error (ctl, "missing subcommand: list, add, remove, replace or transfer");
        return 1;
    }
    if (!strcmp (pos[0], "list")) {
        if (npos != 1) {
            ctl_usage_error (ctl, "member list takes no arguments");
            return 1;
        }
        return s_list (ctl, &o);
    }
    return s_change (ctl, pos[0], npos - 1, pos + 1);
}
