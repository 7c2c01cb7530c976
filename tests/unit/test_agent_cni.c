/*  test_agent_cni.c: hs-agent's CNI side (agents/node/agent_cni.h) and the
 *  sandbox record's transitions (agent_net.h): configurations, results,
 *  errors, lease files, a real plugin call as a polled child, and what a
 *  restored record becomes. Needs no root: the plugin calls here are
 *  host-local (file work only) and a plugin that does not exist. */
#include "agent_cni.h"
#include "agent_net.h"
#include "hs_pbjson.h"
#include "hs_test.h"
#include "hs_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A bridge ADD result as Debian's plugins 1.1.1 print it. */
static const char *BRIDGE_RESULT =
    "{\n    \"cniVersion\": \"1.0.0\",\n    \"interfaces\": [\n"
    "        {\"name\": \"hs0\", \"mac\": \"4e:b8:33:26:37:11\"},\n"
    "        {\"name\": \"vethf3532af7\", \"mac\": \"ea:08:22:5a:66:b4\"},\n"
    "        {\"name\": \"eth0\", \"mac\": \"d6:47:45:ba:78:72\", \"sandbox\": \"/run/netns/p\"}\n"
    "    ],\n    \"ips\": [\n        {\"interface\": 2, \"address\": \"10.244.1.2/24\", "
    "\"gateway\": \"10.244.1.1\"}\n    ],\n"
    "    \"routes\": [{\"dst\": \"0.0.0.0/0\"}],\n    \"dns\": {}\n}";

static hs_tree_t *s_parse (const char *json)
{
    hs_tree_t **docs = NULL;
    size_t n = 0;
    char *err = NULL;
    if (!json || hs_yaml_parse (json, strlen (json), &docs, &n, &err) < 0 || n != 1) {
        free (err);
        hs_trees_free (docs, n);
        return NULL;
    }
    hs_tree_t *t = docs[0];
    docs[0] = NULL;
    hs_trees_free (docs, n);
    return t;
}

static const char *s_get (const hs_tree_t *t, const char *path)
{
    /* "a.b.0.c": map keys and sequence indexes */
    char buf[256];
    snprintf (buf, sizeof buf, "%s", path);
    const hs_tree_t *cur = t;
    for (char *tok = strtok (buf, "."); tok && cur; tok = strtok (NULL, ".")) {
        if (cur->type == HS_TREE_SEQ) {
            size_t i = (size_t)atoi (tok);
            cur = i < cur->n ? cur->items[i] : NULL;
        } else {
            cur = hs_tree_get (cur, tok);
        }
    }
    return cur && cur->type == HS_TREE_SCALAR ? cur->scalar : NULL;
}

static void test_loopback_conf (void)
{
    char *s = agent_cni_loopback_conf ();
    hs_tree_t *t = s_parse (s);
    CHECK (t != NULL);
    CHECK_EQ_STR (s_get (t, "type"), "loopback");
    CHECK_EQ_STR (s_get (t, "cniVersion"), AGENT_CNI_VERSION);
    CHECK (strchr (s, '\n') == NULL); /* one line */
    hs_tree_free (t);
    free (s);
}

static void test_main_conf (void)
{
    agent_cni_net_t net = {.mode = "bridge",
                           .subnet = "10.244.7.0/24",
                           .data_dir = "/run/homeostat/cni/n1",
                           .mtu = 1450};
    char *err = NULL;
    char *s = agent_cni_conf (&net, NULL, &err);
    CHECK (err == NULL);
    hs_tree_t *t = s_parse (s);
    CHECK (t != NULL);
    CHECK_EQ_STR (s_get (t, "name"), AGENT_CNI_NETWORK);
    CHECK_EQ_STR (s_get (t, "type"), "bridge");
    CHECK_EQ_STR (s_get (t, "bridge"), "hs0");
    CHECK_EQ_STR (s_get (t, "isGateway"), "true");
    CHECK_EQ_STR (s_get (t, "hairpinMode"), "true");
    CHECK_EQ_STR (s_get (t, "ipMasq"), "false");
    CHECK_EQ_STR (s_get (t, "mtu"), "1450");
    CHECK_EQ_STR (s_get (t, "ipam.type"), "host-local");
    CHECK_EQ_STR (s_get (t, "ipam.ranges.0.0.subnet"), "10.244.7.0/24");
    CHECK_EQ_STR (s_get (t, "ipam.routes.0.dst"), "0.0.0.0/0");
    CHECK_EQ_STR (s_get (t, "ipam.dataDir"), "/run/homeostat/cni/n1");
    CHECK (hs_tree_get (t, "prevResult") == NULL);
    /* JSON literals, not strings: the plugins' Go structs want bools and ints */
    CHECK_CONTAINS (s, "\"isGateway\":true");
    CHECK_CONTAINS (s, "\"mtu\":1450");
    hs_tree_free (t);
    free (s);

    /* ptp: no bridge keys; CHECK/DEL carry the ADD's result as prevResult */
    net.mode = "ptp";
    net.mtu = 0;
    s = agent_cni_conf (&net, BRIDGE_RESULT, &err);
    t = s_parse (s);
    CHECK (t != NULL);
    CHECK_EQ_STR (s_get (t, "type"), "ptp");
    CHECK (s_get (t, "bridge") == NULL);
    CHECK (s_get (t, "isGateway") == NULL);
    CHECK (s_get (t, "mtu") == NULL);
    CHECK_EQ_STR (s_get (t, "prevResult.ips.0.address"), "10.244.1.2/24");
    CHECK_EQ_STR (s_get (t, "prevResult.interfaces.2.sandbox"), "/run/netns/p");
    hs_tree_free (t);
    free (s);

    /* strings are escaped */
    net.data_dir = "/tmp/a \"quoted\" dir";
    s = agent_cni_conf (&net, NULL, &err);
    t = s_parse (s);
    CHECK_EQ_STR (s_get (t, "ipam.dataDir"), "/tmp/a \"quoted\" dir");
    hs_tree_free (t);
    free (s);

    /* bad input: an error, never a crash */
    CHECK (agent_cni_conf (&net, "{not json", &err) == NULL);
    CHECK_CONTAINS (err, "stored result");
    free (err);
    CHECK (agent_cni_conf (&net, "[1, 2]", &err) == NULL);
    free (err);
    net.mode = "macvlan";
    CHECK (agent_cni_conf (&net, NULL, &err) == NULL);
    CHECK_CONTAINS (err, "macvlan");
    free (err);
    CHECK (agent_cni_mode_valid ("bridge") && agent_cni_mode_valid ("ptp"));
    CHECK (!agent_cni_mode_valid ("none") && !agent_cni_mode_valid (NULL));
}

static void test_parse_result (void)
{
    agent_cni_result_t r;
    char *err = NULL;
    CHECK_EQ_INT (agent_cni_parse_result (BRIDGE_RESULT, strlen (BRIDGE_RESULT), &r, &err), 0);
    CHECK_EQ_STR (r.ip, "10.244.1.2");
    CHECK_EQ_INT (r.prefix, 24);
    CHECK_EQ_STR (r.gateway, "10.244.1.1");
    CHECK_EQ_STR (r.host_veth, "vethf3532af7");
    agent_cni_result_free (&r);

    /* ptp: host veth first, the sandbox's second; an IPv6 address first */
    const char *ptp =
        "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"veth1\"},"
        "{\"name\":\"eth0\",\"sandbox\":\"/x\"}],\"ips\":["
        "{\"interface\":1,\"address\":\"fd00::2/64\"},"
        "{\"interface\":1,\"address\":\"10.244.3.9/24\",\"gateway\":\"10.244.3.1\"}]}";
    CHECK_EQ_INT (agent_cni_parse_result (ptp, strlen (ptp), &r, &err), 0);
    CHECK_EQ_STR (r.ip, "10.244.3.9");
    CHECK_EQ_STR (r.host_veth, "veth1");
    agent_cni_result_free (&r);

    /* no interfaces at all (CNI allows it): the first IPv4, no veth */
    const char *bare = "{\"ips\":[{\"address\":\"10.1.2.3/16\"}]}";
    CHECK_EQ_INT (agent_cni_parse_result (bare, strlen (bare), &r, &err), 0);
    CHECK_EQ_STR (r.ip, "10.1.2.3");
    CHECK_EQ_INT (r.prefix, 16);
    CHECK (r.gateway == NULL && r.host_veth == NULL);
    agent_cni_result_free (&r);

    const char *bad[] = {
        "",
        "not json at all: [",
        "[]",
        "{\"ips\": []}",
        "{\"interfaces\": []}",
        "{\"ips\":[{\"address\":\"fd00::2/64\"}]}",
        "{\"ips\":[{\"address\":\"10.1.2.3\"}]}",
        "{\"ips\":[{\"address\":\"10.1.2.3/40\"}]}",
        "{\"ips\":[{\"address\":\"ten.one/8\"}]}",
        "{\"ips\":[{\"address\":{\"a\":1}}]}",
        "{\"ips\":\"10.1.2.3/8\"}",
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (bad); i++) {
        err = NULL;
        CHECK_EQ_INT (agent_cni_parse_result (bad[i], strlen (bad[i]), &r, &err), -EINVAL);
        CHECK (err != NULL);
        free (err);
    }
}

static void test_error_text (void)
{
    const char *full = "{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"failed to allocate for "
                       "range 0: no IP addresses available in range set: "
                       "10.244.7.1-10.244.7.254\"}";
    char *s = agent_cni_error_text ("bridge", "ADD", full, strlen (full), "", 1 << 8);
    CHECK_EQ_STR (s, "plugin bridge ADD failed (code 11): failed to allocate for range 0: no IP "
                     "addresses available in range set: 10.244.7.1-10.244.7.254");
    free (s);
    const char *det = "{\"code\":999,\"msg\":\"m\",\"details\":\"d\"}";
    s = agent_cni_error_text ("ptp", "CHECK", det, strlen (det), NULL, 1 << 8);
    CHECK_EQ_STR (s, "plugin ptp CHECK failed (code 999): m: d");
    free (s);
    /* no JSON: the exit status and stderr's first line */
    s = agent_cni_error_text ("bridge", "ADD", "", 0,
                              "exec /x/bridge: no such file or directory\nmore", 127 << 8);
    CHECK_EQ_STR (s, "plugin bridge ADD exited 127: exec /x/bridge: no such file or directory");
    free (s);
    s = agent_cni_error_text ("bridge", "DEL", "garbage{", 8, "", 9);
    CHECK_EQ_STR (s, "plugin bridge DEL killed by signal 9");
    free (s);
}

static void s_write (const char *dir, const char *name, const char *text)
{
    _cleanup_free_ char *path = hs_sprintf ("%s/%s", dir, name);
    FILE *f = fopen (path, "w");
    CHECK (f != NULL);
    if (!f) return;
    fputs (text, f);
    fclose (f);
}

static void test_leases (void)
{
    const char *tmp = hs_test_tmpdir ();
    char **ids = NULL;
    CHECK_EQ_INT (agent_cni_leases (tmp, &ids), 0); /* no network dir yet */
    agent_cni_strv_free (ids);
    char dir[4096];
    snprintf (dir, sizeof dir, "%s/%s", tmp, AGENT_CNI_NETWORK);
    mkdir (dir, 0700);
    s_write (dir, "10.244.7.2", "uid-a\r\neth0");
    s_write (dir, "10.244.7.3", "uid-b\r\neth0");
    s_write (dir, "10.244.7.4", "uid-a\r\neth1"); /* a second lease of one ID */
    s_write (dir, "last_reserved_ip.0", "10.244.7.4");
    s_write (dir, "lock", "");
    s_write (dir, "10.244.7.5.tmp", "junk\r\n");
    int n = agent_cni_leases (tmp, &ids);
    CHECK_EQ_INT (n, 2);
    bool a = false, b = false;
    for (int i = 0; i < n; i++) {
        a = a || hs_streq (ids[i], "uid-a");
        b = b || hs_streq (ids[i], "uid-b");
    }
    CHECK (a && b);
    agent_cni_strv_free (ids);
    char **ips = NULL;
    CHECK_EQ_INT (agent_cni_leases_of (tmp, "uid-a", &ips), 2);
    agent_cni_strv_free (ips);
    CHECK_EQ_INT (agent_cni_leases_of (tmp, "uid-c", &ips), 0);
    agent_cni_strv_free (ips);
}

/* Runs op to its end the way the agent's loop does: poll, reap. */
static void s_finish (agent_cni_op_t *op)
{
    for (int i = 0; i < 5000 && !agent_cni_op_poll (op); i++) {
        int st;
        pid_t pid = agent_cni_op_pid (op);
        if (pid > 0 && waitpid (pid, &st, WNOHANG) == pid) agent_cni_op_reaped (op, pid, st);
        usleep (1000);
    }
}

static void test_op (void)
{
    const char *tmp = hs_test_tmpdir ();
    /* a plugin that does not exist: exit 127, no answer, an error that says so */
    agent_cni_op_t *op = NULL;
    CHECK_EQ_INT (
        agent_cni_op_start (NULL, tmp, "nosuch", "ADD", "id1", "/nonexistent", "eth0", "{}", &op),
        0);
    s_finish (op);
    CHECK (!agent_cni_op_ok (op));
    CHECK (!agent_cni_op_answered (op));
    char *e = agent_cni_op_error (op);
    CHECK_CONTAINS (e, "plugin nosuch ADD exited 127");
    CHECK_CONTAINS (e, "no such file or directory");
    free (e);
    agent_cni_op_destroy (&op);
    CHECK (op == NULL);

    if (access ("/usr/lib/cni/host-local", X_OK) != 0) {
        fprintf (stderr, "  (no /usr/lib/cni/host-local: the real plugin call is skipped)\n");
        return;
    }
    /* host-local DEL of a planted lease: the environment, the config on
     * stdin and the exit status all have to be right for the file to go */
    char data[2048], dir[4096], lease[4200];
    snprintf (data, sizeof data, "%s/cni", tmp);
    snprintf (dir, sizeof dir, "%s/%s", data, AGENT_CNI_NETWORK);
    hs_mkdir_p (dir, 0700);
    s_write (dir, "10.244.7.9", "leaked-id\r\neth0");
    snprintf (lease, sizeof lease, "%s/10.244.7.9", dir);
    agent_cni_net_t net = {.mode = "bridge", .subnet = "10.244.7.0/24", .data_dir = data};
    char *err = NULL;
    char *conf = agent_cni_conf (&net, NULL, &err);
    CHECK_EQ_INT (agent_cni_op_start (NULL, "/usr/lib/cni", "host-local", "DEL", "leaked-id", "",
                                      "eth0", conf, &op),
                  0);
    s_finish (op);
    CHECK (agent_cni_op_ok (op));
    CHECK (access (lease, F_OK) != 0);
    agent_cni_op_destroy (&op);
    /* and a malformed configuration: the plugin's own {code, msg} */
    CHECK_EQ_INT (agent_cni_op_start (NULL, "/usr/lib/cni", "host-local", "DEL", "x", "", "eth0",
                                      "{\"cniVersion\":", &op),
                  0);
    s_finish (op);
    CHECK (!agent_cni_op_ok (op));
    CHECK (agent_cni_op_answered (op));
    e = agent_cni_op_error (op);
    CHECK_CONTAINS (e, "plugin host-local DEL failed (code");
    free (e);
    agent_cni_op_destroy (&op);
    free (conf);
}

/* ------------------------------------------------------------------ sandbox records */

typedef struct {
    int saves, kills, events;
    char last_reason[64];
} s_cb_state_t;

static int s_cb_save (void *arg)
{
    ((s_cb_state_t *)arg)->saves++;
    return 0;
}

static void s_cb_event (void *arg, const char *type, const char *reason, const char *msg)
{
    (void)type, (void)msg;
    s_cb_state_t *s = arg;
    s->events++;
    snprintf (s->last_reason, sizeof s->last_reason, "%s", reason);
}

static void s_cb_kill (void *arg)
{
    ((s_cb_state_t *)arg)->kills++;
}

static void test_sandbox_records (void)
{
    char tmp[2048];
    snprintf (tmp, sizeof tmp, "%s/sandboxes", hs_test_tmpdir ());
    hs_mkdir_p (tmp, 0700);
    agent_net_conf_t nc = {
        .mode = "bridge", .bin_dir = tmp, .data_dir = tmp, .netns_dir = tmp, .mtu = 1500};
    agent_net_t *net = agent_net_new (&nc, NULL);
    s_cb_state_t st = {0};
    agent_sb_cb_t cb = {&st, s_cb_save, s_cb_event, s_cb_kill};
    int64_t wake = HS_NEVER;

    /* nothing made: no record; not wanted: down at once */
    agent_sb_t *sb = agent_sb_new (net, "uid-1");
    Hs__AgentNet rec;
    CHECK (!agent_sb_record (sb, &rec));
    CHECK_EQ_INT (agent_sb_step (sb, false, true, &cb, 0, &wake), AGENT_SB_DOWN);
    /* wanted, no podCIDR: pending, one NetworkNotReady Event, nothing saved */
    CHECK_EQ_INT (agent_sb_step (sb, true, true, &cb, 0, &wake), AGENT_SB_PENDING);
    CHECK_EQ_INT (agent_sb_step (sb, true, true, &cb, 0, &wake), AGENT_SB_PENDING);
    CHECK_EQ_INT (st.events, 1);
    CHECK_EQ_STR (st.last_reason, "NetworkNotReady");
    CHECK_EQ_INT (st.saves, 0);
    CHECK_CONTAINS (agent_sb_why (sb), "podCIDR");
    CHECK (agent_sb_ip (sb) == NULL);
    char want[4096];
    snprintf (want, sizeof want, "%s/uid-1", tmp);
    CHECK_EQ_STR (agent_sb_netns (sb), want);
    agent_sb_destroy (&sb);

    /* restored "adding" (a crash during the ADD): DEL first, recorded as deleting */
    Hs__AgentNet in = HS__AGENT_NET__INIT;
    in.state = 1;
    in.netns = "/nonexistent/ns";
    in.pod_ip = "";
    in.subnet = "10.244.7.0/24";
    in.mode = "bridge";
    sb = agent_sb_new (net, "uid-2");
    agent_sb_restore (sb, &in);
    CHECK (agent_sb_record (sb, &rec));
    CHECK_EQ_INT (rec.state, 3);
    CHECK_EQ_STR (rec.netns, "/nonexistent/ns");
    CHECK (agent_sb_ip (sb) == NULL);
    agent_sb_destroy (&sb);

    /* restored "ready" whose namespace is gone: keeps its IP while its
     * containers run, asks for them to be killed, never re-adds under them */
    in.state = 2;
    in.pod_ip = "10.244.7.5";
    in.result = (char *)BRIDGE_RESULT;
    sb = agent_sb_new (net, "uid-3");
    agent_sb_restore (sb, &in);
    CHECK (agent_sb_record (sb, &rec));
    CHECK_EQ_INT (rec.state, 2);
    CHECK_EQ_STR (rec.pod_ip, "10.244.7.5");
    CHECK_EQ_STR (agent_sb_ip (sb), "10.244.7.5");
    CHECK_CONTAINS (agent_sb_why (sb), "is gone");
    memset (&st, 0, sizeof st);
    CHECK_EQ_INT (agent_sb_step (sb, true, false, &cb, 0, &wake), AGENT_SB_PENDING);
    CHECK_EQ_INT (st.kills, 1);
    CHECK_EQ_INT (st.saves, 0);
    CHECK (agent_sb_record (sb, &rec) && rec.state == 2);
    agent_sb_destroy (&sb);

    /* restored "deleting": goes on deleting; a restore of nothing is nothing */
    in.state = 3;
    sb = agent_sb_new (net, "uid-4");
    agent_sb_restore (sb, &in);
    CHECK (agent_sb_record (sb, &rec) && rec.state == 3);
    agent_sb_destroy (&sb);
    sb = agent_sb_new (net, "uid-5");
    agent_sb_restore (sb, NULL);
    CHECK (!agent_sb_record (sb, &rec));
    /* GC without a podCIDR cannot make the DEL's configuration */
    CHECK_EQ_INT (agent_net_gc (net, NULL, 0), -EAGAIN);
    agent_net_set_cidr (net, "10.244.7.0/24");
    CHECK_EQ_STR (agent_net_cidr (net), "10.244.7.0/24");
    CHECK_EQ_INT (agent_net_gc (net, NULL, 0), 0); /* no leases */
    agent_net_destroy (&net);                      /* frees the sandboxes still open */
    CHECK (net == NULL);
}

/* ------------------------------------------------------------------ timeouts */

/* A plugin that never exits (it stands in for a hung one): a shell script
 * that execs sleep, so the kill of its pid leaves nothing behind. */
static void s_hung_plugin (const char *dir, const char *name)
{
    s_write (dir, name, "#!/bin/sh\necho partial\nexec sleep 60\n");
    char path[4096];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    chmod (path, 0755);
}

/* Reaps our children into net (the agent's reaper). */
static void s_reap_into (agent_net_t *net)
{
    int st;
    pid_t pid;
    while ((pid = waitpid (-1, &st, WNOHANG)) > 0) agent_net_reaped (net, pid, st);
}

static void test_timeouts (void)
{
    char dir[2048];
    snprintf (dir, sizeof dir, "%s/hung", hs_test_tmpdir ());
    hs_mkdir_p (dir, 0700);
    s_hung_plugin (dir, "bridge");
    CHECK_EQ_INT (agent_cni_timeout_ns ("ADD"), AGENT_CNI_TIMEOUT_ADD_NS);
    CHECK_EQ_INT (agent_cni_timeout_ns ("DEL"), AGENT_CNI_TIMEOUT_DEL_NS);
    CHECK_EQ_INT (agent_cni_timeout_ns ("CHECK"), AGENT_CNI_TIMEOUT_CHECK_NS);

    /* one call: killed at its deadline, failed, saying so */
    agent_cni_op_t *op = NULL;
    int64_t t0 = hs_mono_ns ();
    CHECK_EQ_INT (
        agent_cni_op_start (NULL, dir, "bridge", "ADD", "id1", "/nonexistent", "eth0", "{}", &op),
        0);
    CHECK (agent_cni_op_deadline (op) >= t0 + AGENT_CNI_TIMEOUT_ADD_NS);
    agent_cni_op_set_timeout (op, 200 * 1000000LL);
    CHECK (agent_cni_op_deadline (op) <= hs_mono_ns () + 200 * 1000000LL);
    s_finish (op);
    int64_t took = hs_mono_ns () - t0;
    CHECK (agent_cni_op_poll (op));
    CHECK (agent_cni_op_timed_out (op));
    CHECK (!agent_cni_op_ok (op));
    CHECK (!agent_cni_op_answered (op));
    CHECK (WIFSIGNALED (agent_cni_op_status (op)) && WTERMSIG (agent_cni_op_status (op)) == 9);
    CHECK (took >= 200 * 1000000LL && took < 4000 * 1000000LL);
    char *e = agent_cni_op_error (op);
    CHECK_CONTAINS (e, "plugin bridge ADD timed out after 0.2 s");
    free (e);
    CHECK_EQ_INT (agent_cni_op_deadline (op), HS_NEVER);
    agent_cni_op_destroy (&op);

    /* a sandbox's DEL (restored "deleting"): the step wakes at the deadline,
     * the call fails the usual way (FailedKillPod Event, a DEL again after
     * the backoff) */
    agent_net_conf_t nc = {.mode = "bridge",
                           .bin_dir = dir,
                           .data_dir = dir,
                           .netns_dir = dir,
                           .cni_timeout_ns = 200 * 1000000LL};
    agent_net_t *net = agent_net_new (&nc, NULL);
    s_cb_state_t st = {0};
    agent_sb_cb_t cb = {&st, s_cb_save, s_cb_event, s_cb_kill};
    Hs__AgentNet in = HS__AGENT_NET__INIT;
    in.state = 3;
    in.netns = "/nonexistent/ns";
    in.pod_ip = "10.244.7.5";
    in.subnet = "10.244.7.0/24";
    in.mode = "bridge";
    in.result = (char *)BRIDGE_RESULT;
    agent_sb_t *sb = agent_sb_new (net, "uid-hung");
    agent_sb_restore (sb, &in);
    t0 = hs_mono_ns ();
    int64_t wake = HS_NEVER;
    CHECK_EQ_INT (agent_sb_step (sb, false, true, &cb, t0, &wake), AGENT_SB_PENDING);
    CHECK (wake <= t0 + 300 * 1000000LL); /* the call's deadline, not never */
    for (int i = 0; i < 4000 && st.events == 0; i++) {
        usleep (1000);
        s_reap_into (net);
        wake = HS_NEVER;
        agent_sb_step (sb, false, true, &cb, hs_mono_ns (), &wake);
    }
    CHECK_EQ_INT (st.events, 1);
    CHECK_EQ_STR (st.last_reason, "FailedKillPod");
    CHECK_CONTAINS (agent_sb_why (sb), "timed out");
    CHECK (wake > hs_mono_ns () && wake != HS_NEVER); /* the backoff's retry */
    agent_sb_destroy (&sb);

    /* the GC's DEL of a leaked lease: agent_net_work wakes at its deadline */
    char leases[4096];
    snprintf (leases, sizeof leases, "%s/%s", dir, AGENT_CNI_NETWORK);
    hs_mkdir_p (leases, 0700);
    s_write (leases, "10.244.7.9", "leaked-id\r\neth0");
    agent_net_set_cidr (net, "10.244.7.0/24");
    CHECK_EQ_INT (agent_net_gc (net, NULL, 0), 1);
    t0 = hs_mono_ns ();
    wake = agent_net_work (net);
    CHECK (wake <= t0 + 300 * 1000000LL);
    for (int i = 0; i < 4000 && agent_net_gc_pending (net) > 0; i++) {
        usleep (1000);
        s_reap_into (net);
        agent_net_work (net);
    }
    CHECK_EQ_INT (agent_net_gc_pending (net), 0);
    agent_net_destroy (&net);
}

static void test_netns_helpers (void)
{
    const char *tmp = hs_test_tmpdir ();
    char path[4096];
    snprintf (path, sizeof path, "%s/plain-file", tmp);
    s_write (tmp, "plain-file", "");
    CHECK (!agent_netns_pinned (path));
    CHECK_EQ_INT (agent_netns_remove (path), 0);
    CHECK (access (path, F_OK) != 0);
    CHECK_EQ_INT (agent_netns_remove (path), 0); /* missing: fine */
    if (getuid () != 0) {
        fprintf (stderr, "  (not root: pinning a namespace is skipped)\n");
        return;
    }
    snprintf (path, sizeof path, "%s/ns1", tmp);
    CHECK_EQ_INT (agent_netns_create (path), 0);
    CHECK (agent_netns_pinned (path));
    CHECK_EQ_INT (agent_netns_create (path), -EEXIST);
    CHECK_EQ_INT (agent_netns_remove (path), 0);
    CHECK (!agent_netns_pinned (path));
    CHECK (access (path, F_OK) != 0);
}

int main (int argc, char **argv)
{
    hs_test_t tests[] = {
        {"loopback_conf", test_loopback_conf},
        {"main_conf", test_main_conf},
        {"parse_result", test_parse_result},
        {"error_text", test_error_text},
        {"leases", test_leases},
        {"op", test_op},
        {"sandbox_records", test_sandbox_records},
        {"timeouts", test_timeouts},
        {"netns_helpers", test_netns_helpers},
    };
    return HS_TEST_RUN (tests);
}
