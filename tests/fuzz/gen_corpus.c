/*  gen_corpus.c: writes the fuzz targets' seed corpus (tests/fuzz/corpus/)
 *  from examples/ and a few objects of its own, packed as the bus carries
 *  them, in each target's input format (see the targets' banners).
 *    fuzz-gen-corpus SOURCE_DIR     (writes SOURCE_DIR/tests/fuzz/corpus/)
 *  Deterministic: the same tree gives the same files.
 */
#include "hs_client.h"
#include "hs_manifest.h"
#include "hs_pbjson.h"
#include "hs_topic.h"
#include "hs_util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DELIM "\n=*=\n" /* fuzz_store.c's */

enum { F_END = 0x01, F_BIG = 0x02, F_CHECKPOINT = 0x04, F_FRAMES = 0x08 };

static const char *s_extra_yaml =
    "apiVersion: v1\n"
    "kind: Node\n"
    "metadata:\n  name: n1\n  labels: {kubernetes.io/hostname: n1}\n"
    "spec:\n  podCIDR: 10.0.1.0/24\n"
    "  taints: [{key: k, value: v, effect: NoSchedule}]\n"
    "status:\n"
    "  capacity: {cpu: \"4\", memory: 8Gi, pods: \"110\"}\n"
    "  allocatable: {cpu: \"4\", memory: 8Gi, pods: \"110\"}\n"
    "  conditions:\n"
    "  - {type: Ready, status: \"True\", lastHeartbeatTime: \"2026-01-01T00:00:00Z\",\n"
    "     lastTransitionTime: \"2026-01-01T00:00:00Z\"}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata:\n  name: lost\n  namespace: default\n  uid: 0f0f-1\n"
    "spec:\n"
    "  nodeName: n1\n"
    "  terminationGracePeriodSeconds: 5\n"
    "  containers:\n"
    "  - name: c\n    image: busybox\n    command: [sleep, \"100\"]\n"
    "    resources: {requests: {cpu: 100m, memory: 64Mi}}\n"
    "    livenessProbe: {exec: {command: [\"true\"]}, periodSeconds: 1,\n"
    "                    terminationGracePeriodSeconds: 2}\n"
    "    readinessProbe: {tcpSocket: {port: 80}}\n"
    "    startupProbe: {httpGet: {path: /, port: 80}}\n"
    "status:\n  phase: Failed\n  reason: NodeLost\n";

static char s_root[4096];

static void s_write (const char *target, const char *name, const void *data, size_t len)
{
    char path[4400];
    snprintf (path, sizeof path, "%s/tests/fuzz/corpus/%s", s_root, target);
    mkdir (path, 0755);
    snprintf (path, sizeof path, "%s/tests/fuzz/corpus/%s/%s", s_root, target, name);
    FILE *f = fopen (path, "wb");
    if (!f || fwrite (data, 1, len, f) != len || fclose (f) != 0) {
        fprintf (stderr, "fuzz-gen-corpus: cannot write %s: %s\n", path, strerror (errno));
        exit (1);
    }
}

/* ------------------------------------------------------------------ messages */

static void s_msg (hs_buf_t *b, uint8_t flags, const char *topic, Hs__Envelope *env)
{
    if (b->len) hs_buf_append (b, DELIM, strlen (DELIM));
    hs_buf_append (b, &flags, 1);
    hs_buf_append (b, topic, strlen (topic));
    hs_buf_append (b, "\n", 1);
    size_t n = protobuf_c_message_get_packed_size (&env->base);
    uint8_t *p = hs_malloc (n ? n : 1);
    protobuf_c_message_pack (&env->base, p);
    hs_buf_append (b, p, n);
    free (p);
}

static Hs__Envelope *s_env_cmd (Hs__Command *cmd)
{
    Hs__Envelope *env = hs_pb_new (&hs__envelope__descriptor);
    hs_pb_set_str (&env->sender, "hsctl/fuzz");
    env->sender_seq = 1;
    env->body_case = HS__ENVELOPE__BODY_COMMAND;
    env->command = cmd;
    return env;
}

/* A command of one write, on its topic, into b. */
static void s_cmd (hs_buf_t *b, uint8_t flags, const char *rid, Hs__Write *w, bool dry_run,
                   const char *topic)
{
    Hs__Command *cmd = hs_pb_new (&hs__command__descriptor);
    hs_pb_set_str (&cmd->client_id, "hsctl-fuzz");
    hs_pb_set_str (&cmd->request_id, rid);
    hs_pb_push ((void ***)&cmd->writes, &cmd->n_writes, w);
    cmd->dry_run = dry_run;
    char *t = topic ? hs_strdup (topic) : hs_cmd_topic (cmd->writes, cmd->n_writes);
    Hs__Envelope *env = s_env_cmd (cmd);
    s_msg (b, flags, t, env);
    hs_pb_free (env);
    free (t);
}

static Hs__Write *s_named (Hs__Op op, const char *kind, const char *ns, const char *name)
{
    Hs__Write *w = hs_pb_new (&hs__write__descriptor);
    w->op = op;
    hs_pb_set_str (&w->kind, kind);
    hs_pb_set_str (&w->namespace_, ns);
    hs_pb_set_str (&w->name, name);
    return w;
}

static void s_store_seeds (Hs__Object **objs, size_t n)
{
    /* One create per object. */
    for (size_t i = 0; i < n; i++) {
        hs_buf_t b = {0};
        char rid[32], name[32];
        snprintf (rid, sizeof rid, "create-%zu", i);
        s_cmd (&b, 0, rid, hs_write_new (HS__OP__OP_CREATE, hs_pb_dup (objs[i])), false, NULL);
        snprintf (name, sizeof name, "create-%zu", i);
        s_write ("fuzz_store", name, b.data, b.len);
        free (b.data);
    }
    /* A node's life with a pod: create both, bind, status, delete; in two
     * batches with a checkpoint, a dry run, a replay, a refusal. */
    hs_buf_t b = {0};
    for (size_t i = 0; i < n; i++) {
        char rid[32];
        snprintf (rid, sizeof rid, "apply-%zu", i);
        s_cmd (&b, i + 1 == n ? F_END | F_CHECKPOINT : 0, rid,
               hs_write_new (HS__OP__OP_APPLY, hs_pb_dup (objs[i])), false, NULL);
    }
    Hs__Write *bind = s_named (HS__OP__OP_BIND, "pod", "default", "lost");
    hs_pb_set_str (&bind->node_name, "n1");
    s_cmd (&b, 0, "bind-1", bind, false, NULL);
    s_cmd (&b, 0, "dry-1", s_named (HS__OP__OP_DELETE, "pod", "default", "lost"), true, NULL);
    s_cmd (&b, 0, "wrong-topic", s_named (HS__OP__OP_DELETE, "pod", "default", "lost"), false,
           "cmd.node");
    s_cmd (&b, F_BIG, "big-1", s_named (HS__OP__OP_DELETE, "pod", "default", "x"), false, NULL);
    s_cmd (&b, F_END, "del-1", s_named (HS__OP__OP_DELETE, "pod", "default", "lost"), false, NULL);
    s_cmd (&b, 0, "del-1", s_named (HS__OP__OP_DELETE, "pod", "default", "lost"), false, NULL);
    /* a snapshot request on cmd.snapshot */
    Hs__Envelope *env = hs_pb_new (&hs__envelope__descriptor);
    env->body_case = HS__ENVELOPE__BODY_SNAPSHOT_REQUEST;
    env->snapshot_request = hs_pb_new (&hs__snapshot_request__descriptor);
    hs_pb_set_str (&env->snapshot_request->client_id, "hsctl-fuzz");
    hs_pb_set_str (&env->snapshot_request->request_id, "snap-1");
    hs_pb_set_str (&env->snapshot_request->pod_node, "n1");
    hs_pb_push ((void ***)&env->snapshot_request->kinds, &env->snapshot_request->n_kinds,
                hs_strdup ("pods"));
    s_msg (&b, 0, HS_TOPIC_SNAPSHOT, env);
    hs_pb_free (env);
    s_write ("fuzz_store", "sequence", b.data, b.len);
    free (b.data);

    /* Several writes in one command (a nested transaction), applied then
     * dry-run; a status update and a forced delete of the last object. */
    b = (hs_buf_t){0};
    for (int dry = 0; dry < 2; dry++) {
        Hs__Command *cmd = hs_pb_new (&hs__command__descriptor);
        hs_pb_set_str (&cmd->client_id, "hsctl-fuzz");
        hs_pb_set_str (&cmd->request_id, dry ? "multi-dry" : "multi");
        cmd->dry_run = dry;
        for (size_t i = 0; i < n; i++)
            hs_pb_push ((void ***)&cmd->writes, &cmd->n_writes,
                        hs_write_new (HS__OP__OP_APPLY, hs_pb_dup (objs[i])));
        char *t = hs_cmd_topic (cmd->writes, cmd->n_writes);
        Hs__Envelope *e = s_env_cmd (cmd);
        s_msg (&b, F_END, t, e);
        hs_pb_free (e);
        free (t);
    }
    Hs__Write *st = hs_write_new (HS__OP__OP_UPDATE_STATUS, hs_pb_dup (objs[n - 1]));
    st->expected_revision = 1;
    s_cmd (&b, 0, "status-1", st, false, NULL);
    Hs__Write *del = s_named (HS__OP__OP_DELETE, "pod", "default", "lost");
    del->grace_period_seconds = hs_pb_new (&hs__int64_value__descriptor);
    s_cmd (&b, F_CHECKPOINT, "del-now", del, false, NULL);
    s_write ("fuzz_store", "multi", b.data, b.len);
    free (b.data);
}

/* ------------------------------------------------------------------ the agent */

static void s_agent_one (const char *name, uint8_t ctl, const char *topic, Hs__Envelope *env)
{
    hs_buf_t b = {0};
    hs_buf_append (&b, &ctl, 1);
    hs_buf_append (&b, topic, strlen (topic));
    hs_buf_append (&b, "\n", 1);
    size_t n = protobuf_c_message_get_packed_size (&env->base);
    uint8_t *p = hs_malloc (n ? n : 1);
    protobuf_c_message_pack (&env->base, p);
    hs_buf_append (&b, p, n);
    free (p);
    s_write ("fuzz_agent", name, b.data, b.len);
    free (b.data);
    hs_pb_free (env);
}

static Hs__Envelope *s_env (Hs__Envelope__BodyCase body, void *msg)
{
    Hs__Envelope *env = hs_pb_new (&hs__envelope__descriptor);
    hs_pb_set_str (&env->sender, "hs-prober/fuzz");
    env->body_case = body;
    /* the oneof's members share one pointer */
    env->command = msg;
    return env;
}

static void s_agent_seeds (Hs__Object **objs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        Hs__WatchEvent *ev = hs_pb_new (&hs__watch_event__descriptor);
        ev->type = i % 2 ? HS__EVENT_TYPE__MODIFIED : HS__EVENT_TYPE__ADDED;
        ev->revision = (int64_t)i + 1;
        ev->epoch = 7;
        ev->seq = 1;
        ev->object = hs_pb_dup (objs[i]);
        hs_pb_take_str (&ev->stream, hs_obj_stream (objs[i]));
        char *topic = hs_obj_topic (objs[i]);
        char name[32];
        snprintf (name, sizeof name, "event-%zu", i);
        s_agent_one (name, 0, topic, s_env (HS__ENVELOPE__BODY_EVENT, ev));
        free (topic);
    }
    static const char *probes[] = {"readiness", "startup", "liveness"};
    for (size_t i = 0; i < HS_ARRAY_LEN (probes); i++) {
        Hs__ProbeResult *r = hs_pb_new (&hs__probe_result__descriptor);
        hs_pb_set_str (&r->namespace_, "default");
        hs_pb_set_str (&r->pod, "lost");
        hs_pb_set_str (&r->uid, "0f0f-1");
        hs_pb_set_str (&r->container, "c");
        hs_pb_set_str (&r->probe, probes[i]);
        r->success = i != 2;
        r->termination_grace_period_seconds = i == 2 ? -1 : 0;
        char name[32];
        snprintf (name, sizeof name, "probe-%s", probes[i]);
        s_agent_one (name, 0x0f, "probe.n1", s_env (HS__ENVELOPE__BODY_PROBE_RESULT, r));
    }
    Hs__ExecRequest *q = hs_pb_new (&hs__exec_request__descriptor);
    hs_pb_set_str (&q->client_id, "hs-prober-1");
    hs_pb_set_str (&q->request_id, "exec-1");
    hs_pb_set_str (&q->pod, "lost");
    hs_pb_set_str (&q->container, "c");
    hs_pb_push ((void ***)&q->command, &q->n_command, hs_strdup ("cat"));
    hs_pb_push ((void ***)&q->command, &q->n_command, hs_strdup ("/tmp/healthy"));
    q->timeout_ms = 1000;
    s_agent_one ("exec-request", 0, "probe.n1", s_env (HS__ENVELOPE__BODY_EXEC_REQUEST, q));
    Hs__LogRequest *l = hs_pb_new (&hs__log_request__descriptor);
    hs_pb_set_str (&l->client_id, "hsctl-1");
    hs_pb_set_str (&l->request_id, "logs-1");
    hs_pb_set_str (&l->pod, "lost");
    l->follow = true;
    l->tail_lines = 10;
    l->limit_bytes = 4096;
    s_agent_one ("log-request", 0, "logreq.n1", s_env (HS__ENVELOPE__BODY_LOG_REQUEST, l));
    /* the exec helper's answers, as envelope bytes */
    static const char *answers[] = {"exit 0\nok\n", "timeout\n", "error no such container\n"};
    for (size_t i = 0; i < HS_ARRAY_LEN (answers); i++) {
        hs_buf_t b = {0};
        hs_buf_append (&b, "\0probe.n1\n", 10);
        hs_buf_append (&b, answers[i], strlen (answers[i]));
        char name[32];
        snprintf (name, sizeof name, "exec-answer-%zu", i);
        s_write ("fuzz_agent", name, b.data, b.len);
        free (b.data);
    }
}

/* ------------------------------------------------------------------ pbjson */

/* fuzz_pbjson.c's s_types: the index of a body's type, or -1. */
static int s_type_index (const ProtobufCMessageDescriptor *d)
{
    static const ProtobufCMessageDescriptor *const types[] = {
        &hs__object__descriptor,     &hs__pod__descriptor,         &hs__node__descriptor,
        &hs__deployment__descriptor, &hs__replica_set__descriptor, &hs__job__descriptor,
        &hs__event__descriptor,      &hs__envelope__descriptor,
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (types); i++)
        if (types[i] == d) return (int)i;
    return -1;
}

static void s_pbjson_one (const char *name, int type, int fmt_index, const ProtobufCMessage *m,
                          int fmt)
{
    char *text = hs_pb_to_text (m, fmt);
    hs_buf_t b = {0};
    uint8_t sel = (uint8_t)(type | fmt_index << 4);
    hs_buf_append (&b, &sel, 1);
    hs_buf_append (&b, text, strlen (text));
    s_write ("fuzz_pbjson", name, b.data, b.len);
    free (b.data);
    free (text);
}

static void s_pbjson_seeds (Hs__Object **objs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const ProtobufCMessage *body = hs_obj_body (objs[i]);
        int t = s_type_index (body->descriptor);
        char name[64];
        snprintf (name, sizeof name, "%s-json", body->descriptor->short_name);
        s_pbjson_one (name, t, 0, body, HS_FMT_JSON);
        snprintf (name, sizeof name, "%s-yaml", body->descriptor->short_name);
        s_pbjson_one (name, t, 1, body, HS_FMT_YAML);
    }
    /* a whole envelope: a command carrying the first object */
    Hs__Command *cmd = hs_pb_new (&hs__command__descriptor);
    hs_pb_set_str (&cmd->client_id, "hsctl-fuzz");
    hs_pb_set_str (&cmd->request_id, "r1");
    hs_pb_push ((void ***)&cmd->writes, &cmd->n_writes,
                hs_write_new (HS__OP__OP_APPLY, hs_pb_dup (objs[0])));
    Hs__Envelope *env = s_env_cmd (cmd);
    s_pbjson_one ("envelope-yaml", 7, 3, &env->base, HS_FMT_YAML | HS_FMT_RAW);
    hs_pb_free (env);
}

/* ------------------------------------------------------------------ main */

static void s_read (const char *path, char **ret, size_t *ret_len)
{
    FILE *f = fopen (path, "rb");
    hs_buf_t b = {0};
    char buf[4096];
    size_t n;
    while (f && (n = fread (buf, 1, sizeof buf, f)) > 0) hs_buf_append (&b, buf, n);
    if (!f || ferror (f)) {
        fprintf (stderr, "fuzz-gen-corpus: cannot read %s\n", path);
        exit (1);
    }
    fclose (f);
    *ret_len = b.len;
    *ret = hs_buf_take (&b);
}

static int s_yaml_name (const struct dirent *e)
{
    size_t n = strlen (e->d_name);
    return n > 5 && strcmp (e->d_name + n - 5, ".yaml") == 0;
}

/* Every document of every examples/ manifest, then s_extra_yaml's. */
static size_t s_load (Hs__Object ***ret)
{
    char dir[4200];
    snprintf (dir, sizeof dir, "%s/examples", s_root);
    struct dirent **names;
    int n = scandir (dir, &names, s_yaml_name, alphasort);
    if (n < 0) {
        fprintf (stderr, "fuzz-gen-corpus: cannot read %s: %s\n", dir, strerror (errno));
        exit (1);
    }
    Hs__Object **objs = NULL;
    size_t n_objs = 0;
    for (int i = 0; i <= n; i++) {
        char *text = NULL, *err = NULL;
        size_t len = 0;
        if (i < n) {
            char path[4500];
            snprintf (path, sizeof path, "%s/%s", dir, names[i]->d_name);
            s_read (path, &text, &len);
            /* also the manifest target's seed, as it is */
            s_write ("fuzz_manifest", names[i]->d_name, text, len);
            free (names[i]);
        } else {
            text = hs_strdup (s_extra_yaml);
            len = strlen (text);
        }
        hs_manifest_t m = {0};
        if (hs_manifest_parse (text, len, "seed.yaml", &m, &err) < 0) {
            fprintf (stderr, "fuzz-gen-corpus: %s\n", err);
            exit (1);
        }
        for (size_t d = 0; d < m.n; d++) {
            hs_pb_push ((void ***)&objs, &n_objs, m.docs[d].object);
            m.docs[d].object = NULL;
        }
        hs_manifest_free (&m);
        free (text);
    }
    free (names);
    s_write ("fuzz_manifest", "node-and-pod.yaml", s_extra_yaml, strlen (s_extra_yaml));
    /* examples/bad: the manifest target's seeds too */
    snprintf (dir, sizeof dir, "%s/examples/bad", s_root);
    n = scandir (dir, &names, s_yaml_name, alphasort);
    for (int i = 0; i < n; i++) {
        char path[4500], name[300];
        char *text;
        size_t len;
        snprintf (path, sizeof path, "%s/%s", dir, names[i]->d_name);
        snprintf (name, sizeof name, "bad-%s", names[i]->d_name);
        s_read (path, &text, &len);
        s_write ("fuzz_manifest", name, text, len);
        free (text);
        free (names[i]);
    }
    if (n >= 0) free (names);
    *ret = objs;
    return n_objs;
}

int main (int argc, char **argv)
{
    if (argc != 2) {
        fprintf (stderr, "usage: fuzz-gen-corpus SOURCE_DIR\n");
        return 2;
    }
    snprintf (s_root, sizeof s_root, "%s", argv[1]);
    char path[4200];
    snprintf (path, sizeof path, "%s/tests/fuzz/corpus", s_root);
    mkdir (path, 0755);
    Hs__Object **objs;
    size_t n = s_load (&objs);
    s_store_seeds (objs, n);
    s_agent_seeds (objs, n);
    s_pbjson_seeds (objs, n);
    for (size_t i = 0; i < n; i++) hs_pb_free (objs[i]);
    free (objs);
    return 0;
}
