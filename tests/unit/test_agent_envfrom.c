/*  test_agent_envfrom.c: a container's variables from ConfigMaps, Secrets
 *  and its pod (agent_envfrom.h), and the kubelet-style atomic writer of
 *  projected volumes (agent_volumes.h: agent_vol_write, agent_vol_path_ok),
 *  which needs no root: it only writes files and symlinks. */
#include "agent_envfrom.h"
#include "agent_volumes.h"
#include "hs_obj.h"
#include "hs_pb.h"
#include "hs_test.h"
#include "hs_util.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ a tiny cache */

static Hs__Object *s_objs[8];
static size_t s_n_objs;

static const Hs__Object *s_lookup (void *arg, hs_kind_t kind, const char *ns, const char *name)
{
    (void)arg;
    for (size_t i = 0; i < s_n_objs; i++) {
        const Hs__ObjectMeta *m = hs_obj_meta (s_objs[i]);
        if (hs_obj_kind (s_objs[i]) == kind && hs_streq (m->namespace_, ns) &&
            hs_streq (m->name, name))
            return s_objs[i];
    }
    return NULL;
}

static void s_clear (void)
{
    for (size_t i = 0; i < s_n_objs; i++) hs_pb_free (s_objs[i]);
    s_n_objs = 0;
}

static Hs__Object *s_cm (const char *name)
{
    Hs__Object *o = hs_obj_new (HS_KIND_CONFIGMAP, "default", name);
    s_objs[s_n_objs++] = o;
    return o;
}

static void s_cm_set (Hs__Object *o, const char *k, const char *v)
{
    hs_pb_map_set ((void ***)&o->config_map->data, &o->config_map->n_data,
                   &hs__config_map__data_entry__descriptor, k, v);
}

static Hs__Object *s_secret (const char *name, const char *k, const char *v)
{
    Hs__Object *o = hs_obj_new (HS_KIND_SECRET, "default", name);
    Hs__Secret__DataEntry *e = hs_pb_new (&hs__secret__data_entry__descriptor);
    hs_pb_set_str (&e->key, k);
    e->value.len = strlen (v);
    e->value.data = (uint8_t *)hs_strdup (v);
    hs_pb_push ((void ***)&o->secret->data, &o->secret->n_data, e);
    s_objs[s_n_objs++] = o;
    return o;
}

static Hs__Pod *s_pod (void)
{
    Hs__Object *o = hs_obj_new (HS_KIND_POD, "default", "web");
    hs_pb_set_str (&o->pod->metadata->uid, "u-1");
    hs_pb_map_set ((void ***)&o->pod->metadata->labels, &o->pod->metadata->n_labels,
                   &hs__object_meta__labels_entry__descriptor, "app", "shop");
    o->pod->spec = hs_pb_new (&hs__pod_spec__descriptor);
    hs_pb_set_str (&o->pod->spec->node_name, "n1");
    Hs__Container *c = hs_pb_new (&hs__container__descriptor);
    hs_pb_set_str (&c->name, "main");
    hs_pb_push ((void ***)&o->pod->spec->containers, &o->pod->spec->n_containers, c);
    return (Hs__Pod *)hs_obj_unwrap (o);
}

static Hs__EnvVar *s_var (Hs__Container *c, const char *name)
{
    Hs__EnvVar *v = hs_pb_new (&hs__env_var__descriptor);
    hs_pb_set_str (&v->name, name);
    hs_pb_push ((void ***)&c->env, &c->n_env, v);
    return v;
}

static void s_cm_ref (Hs__Container *c, const char *var, const char *name, const char *key,
                      bool optional)
{
    Hs__EnvVar *v = s_var (c, var);
    v->value_from = hs_pb_new (&hs__env_var_source__descriptor);
    v->value_from->config_map_key_ref = hs_pb_new (&hs__config_map_key_selector__descriptor);
    hs_pb_set_str (&v->value_from->config_map_key_ref->name, name);
    hs_pb_set_str (&v->value_from->config_map_key_ref->key, key);
    v->value_from->config_map_key_ref->optional = optional;
}

static void s_secret_ref (Hs__Container *c, const char *var, const char *name, const char *key)
{
    Hs__EnvVar *v = s_var (c, var);
    v->value_from = hs_pb_new (&hs__env_var_source__descriptor);
    v->value_from->secret_key_ref = hs_pb_new (&hs__secret_key_selector__descriptor);
    hs_pb_set_str (&v->value_from->secret_key_ref->name, name);
    hs_pb_set_str (&v->value_from->secret_key_ref->key, key);
}

static void s_field_ref (Hs__Container *c, const char *var, const char *path)
{
    Hs__EnvVar *v = s_var (c, var);
    v->value_from = hs_pb_new (&hs__env_var_source__descriptor);
    v->value_from->field_ref = hs_pb_new (&hs__object_field_selector__descriptor);
    hs_pb_set_str (&v->value_from->field_ref->field_path, path);
}

static void s_env_from (Hs__Container *c, const char *prefix, const char *cm, const char *secret)
{
    Hs__EnvFromSource *f = hs_pb_new (&hs__env_from_source__descriptor);
    hs_pb_set_str (&f->prefix, prefix);
    if (cm) {
        f->config_map_ref = hs_pb_new (&hs__config_map_env_source__descriptor);
        hs_pb_set_str (&f->config_map_ref->name, cm);
    }
    if (secret) {
        f->secret_ref = hs_pb_new (&hs__secret_env_source__descriptor);
        hs_pb_set_str (&f->secret_ref->name, secret);
    }
    hs_pb_push ((void ***)&c->env_from, &c->n_env_from, f);
}

static char *s_join (char **env)
{
    hs_buf_t b = {0};
    for (size_t i = 0; env && env[i]; i++) hs_buf_printf (&b, "%s\n", env[i]);
    return hs_buf_take (&b);
}

/* Builds the env of the pod's container: 0 with *ret_text, or the error. */
static int s_build (const Hs__Pod *pod, bool no_secrets, char **ret_text, char **ret_skipped,
                    char **ret_err)
{
    agent_env_in_t in = {.pod = pod,
                         .container = pod->spec->containers[0],
                         .pod_ip = "10.244.0.5",
                         .host_ip = "192.168.1.2",
                         .lookup = s_lookup,
                         .no_secrets = no_secrets};
    char **env = NULL;
    int r = agent_env_build (&in, &env, ret_skipped, ret_err);
    *ret_text = r == 0 ? s_join (env) : NULL;
    agent_env_free (env);
    return r;
}

/* ------------------------------------------------------------------ env */

static void test_names (void)
{
    CHECK (agent_env_name_valid ("A"));
    CHECK (agent_env_name_valid ("_x.y-z9"));
    CHECK (agent_env_name_valid ("-dash"));
    CHECK (!agent_env_name_valid ("1bad"));
    CHECK (!agent_env_name_valid ("a=b"));
    CHECK (!agent_env_name_valid ("sp ace"));
    CHECK (!agent_env_name_valid (""));
    CHECK (!agent_env_name_valid (NULL));
}

static void test_fields (void)
{
    Hs__Pod *pod = s_pod ();
    char *text, *skipped, *err;
    Hs__Container *c = pod->spec->containers[0];
    s_field_ref (c, "NAME", "metadata.name");
    s_field_ref (c, "NS", "metadata.namespace");
    s_field_ref (c, "UID", "metadata.uid");
    s_field_ref (c, "NODE", "spec.nodeName");
    s_field_ref (c, "SA", "spec.serviceAccountName");
    s_field_ref (c, "IP", "status.podIP");
    s_field_ref (c, "HOST", "status.hostIP");
    s_field_ref (c, "APP", "metadata.labels['app']");
    s_field_ref (c, "NONE", "metadata.annotations[\"x\"]");
    CHECK_EQ_INT (s_build (pod, false, &text, &skipped, &err), 0);
    CHECK_EQ_STR (text, "NAME=web\nNS=default\nUID=u-1\nNODE=n1\nSA=\nIP=10.244.0.5\n"
                        "HOST=192.168.1.2\nAPP=shop\nNONE=\n");
    CHECK (skipped == NULL);
    free (text);
    s_field_ref (c, "BAD", "spec.containers");
    CHECK_EQ_INT (s_build (pod, false, &text, &skipped, &err), -EINVAL);
    CHECK_CONTAINS (err, "unsupported fieldRef spec.containers");
    free (err);
    hs_pb_free (pod);
}

static void test_refs (void)
{
    Hs__Pod *pod = s_pod ();
    Hs__Container *c = pod->spec->containers[0];
    char *text, *skipped = NULL, *err = NULL;
    Hs__EnvVar *plain = s_var (c, "PLAIN");
    hs_pb_set_str (&plain->value, "p");
    s_cm_ref (c, "G", "cfg", "greeting", false);
    s_cm_ref (c, "OPT", "nowhere", "k", true);
    s_secret_ref (c, "PW", "sec", "password");

    /* Nothing there yet: kube's words, the first missing one. */
    CHECK_EQ_INT (s_build (pod, false, &text, &skipped, &err), -ENOENT);
    CHECK_EQ_STR (err, "configmap \"cfg\" not found");
    free (err);
    Hs__Object *cm = s_cm ("cfg");
    s_cm_set (cm, "other", "x");
    CHECK_EQ_INT (s_build (pod, false, &text, &skipped, &err), -ENOENT);
    CHECK_EQ_STR (err, "couldn't find key greeting in ConfigMap default/cfg");
    free (err);
    s_cm_set (cm, "greeting", "hello");
    CHECK_EQ_INT (s_build (pod, false, &text, &skipped, &err), -ENOENT);
    CHECK_EQ_STR (err, "secret \"sec\" not found");
    free (err);
    s_secret ("sec", "user", "u");
    CHECK_EQ_INT (s_build (pod, false, &text, &skipped, &err), -ENOENT);
    CHECK_EQ_STR (err, "couldn't find key password in Secret default/sec");
    free (err);
    s_clear ();
    cm = s_cm ("cfg");
    s_cm_set (cm, "greeting", "hello");
    s_secret ("sec", "password", "s3cr3t");
    CHECK_EQ_INT (s_build (pod, false, &text, &skipped, &err), 0);
    CHECK_EQ_STR (text, "PLAIN=p\nG=hello\nPW=s3cr3t\n");
    free (text);
    /* Without the Secret's variables (an exec shim's command line). */
    CHECK_EQ_INT (s_build (pod, true, &text, &skipped, &err), 0);
    CHECK_EQ_STR (text, "PLAIN=p\nG=hello\n");
    free (text);
    /* A key only in stringData (a store that did not merge it) counts. */
    s_clear ();
    cm = s_cm ("cfg");
    s_cm_set (cm, "greeting", "hello");
    Hs__Object *sec = hs_obj_new (HS_KIND_SECRET, "default", "sec");
    hs_pb_map_set ((void ***)&sec->secret->string_data, &sec->secret->n_string_data,
                   &hs__secret__string_data_entry__descriptor, "password", "plain");
    s_objs[s_n_objs++] = sec;
    CHECK_EQ_INT (s_build (pod, false, &text, &skipped, &err), 0);
    CHECK_CONTAINS (text, "PW=plain\n");
    free (text);
    s_clear ();
    hs_pb_free (pod);
}

static void test_env_from (void)
{
    Hs__Pod *pod = s_pod ();
    Hs__Container *c = pod->spec->containers[0];
    char *text, *skipped = NULL, *err = NULL;
    Hs__Object *cm = s_cm ("cfg");
    s_cm_set (cm, "b", "2");
    s_cm_set (cm, "a", "1");
    s_cm_set (cm, "1bad", "x");
    Hs__ConfigMap__BinaryDataEntry *bin =
        hs_pb_new (&hs__config_map__binary_data_entry__descriptor);
    hs_pb_set_str (&bin->key, "blob");
    bin->value.len = 2;
    bin->value.data = (uint8_t *)hs_strdup ("zz");
    hs_pb_push ((void ***)&cm->config_map->binary_data, &cm->config_map->n_binary_data, bin);
    s_secret ("sec", "token", "t0k");
    s_env_from (c, NULL, "cfg", NULL);
    s_env_from (c, "S_", NULL, "sec");
    Hs__EnvVar *v = s_var (c, "a");
    hs_pb_set_str (&v->value, "override"); /* env after envFrom: the last wins */
    CHECK_EQ_INT (s_build (pod, false, &text, &skipped, &err), 0);
    CHECK_EQ_STR (text, "a=1\nb=2\nS_token=t0k\na=override\n");
    CHECK_EQ_STR (skipped, "Keys [1bad] from the EnvFrom configmap default/cfg were skipped "
                           "since they are considered invalid environment variable names.");
    free (text);
    free (skipped);
    /* A prefix can make a name valid. */
    hs_pb_set_str (&c->env_from[0]->prefix, "P_");
    CHECK_EQ_INT (s_build (pod, false, &text, &skipped, &err), 0);
    CHECK_CONTAINS (text, "P_1bad=x\n");
    CHECK (skipped == NULL);
    free (text);
    /* A missing source: kube's words unless optional. */
    hs_pb_set_str (&c->env_from[1]->secret_ref->name, "gone");
    CHECK_EQ_INT (s_build (pod, false, &text, &skipped, &err), -ENOENT);
    CHECK_EQ_STR (err, "secret \"gone\" not found");
    free (err);
    c->env_from[1]->secret_ref->optional = true;
    CHECK_EQ_INT (s_build (pod, false, &text, &skipped, &err), 0);
    free (text);
    s_clear ();
    hs_pb_free (pod);
}

static void test_kv_list (void)
{
    Hs__Object *cm = s_cm ("cfg");
    s_cm_set (cm, "z", "last");
    s_cm_set (cm, "a", "first");
    agent_kv_t *kv = NULL;
    size_t n = agent_kv_list (cm, &kv);
    CHECK_EQ_INT (n, 2);
    CHECK_EQ_STR (kv[0].key, "a");
    CHECK (agent_kv_find (kv, n, "z") && agent_kv_find (kv, n, "z")->len == 4);
    CHECK (agent_kv_find (kv, n, "q") == NULL);
    free (kv);
    s_clear ();
}

/* ------------------------------------------------------------------ the atomic writer */

static char *s_read (const char *dir, const char *name)
{
    _cleanup_free_ char *p = hs_sprintf ("%s/%s", dir, name);
    FILE *f = fopen (p, "re");
    if (!f) return NULL;
    char buf[256];
    size_t n = fread (buf, 1, sizeof buf - 1, f);
    fclose (f);
    buf[n] = '\0';
    return hs_strdup (buf);
}

static int s_mode (const char *dir, const char *name)
{
    _cleanup_free_ char *p = hs_sprintf ("%s/%s", dir, name);
    struct stat st;
    return stat (p, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static void test_paths (void)
{
    CHECK (agent_vol_path_ok ("a"));
    CHECK (agent_vol_path_ok ("a/b.c"));
    CHECK (agent_vol_path_ok (".hidden"));
    CHECK (!agent_vol_path_ok ("..data"));
    CHECK (!agent_vol_path_ok ("../x"));
    CHECK (!agent_vol_path_ok ("a/../b"));
    CHECK (!agent_vol_path_ok ("/abs"));
    CHECK (!agent_vol_path_ok ("a//b"));
    CHECK (!agent_vol_path_ok ("a/./b"));
    CHECK (!agent_vol_path_ok ("a/"));
    CHECK (!agent_vol_path_ok (""));
}

static void test_writer (void)
{
    _cleanup_free_ char *dir = hs_sprintf ("%s/vol", hs_test_tmpdir ());
    CHECK_EQ_INT (mkdir (dir, 0755), 0);
    agent_vol_file_t v1[] = {{(char *)"greeting", (const uint8_t *)"hello", 5, 0644},
                             {(char *)"deep/pw", (const uint8_t *)"s3", 2, 0400}};
    CHECK_EQ_INT (agent_vol_write (dir, v1, 2), 1);
    char *s = s_read (dir, "greeting");
    CHECK_EQ_STR (s, "hello");
    free (s);
    s = s_read (dir, "deep/pw");
    CHECK_EQ_STR (s, "s3");
    free (s);
    CHECK_EQ_INT (s_mode (dir, "deep/pw"), 0400);
    CHECK_EQ_INT (s_mode (dir, "greeting"), 0644);
    /* The kubelet's layout: key -> ..data/key -> ..<time>/key. */
    char link[256];
    _cleanup_free_ char *gl = hs_sprintf ("%s/greeting", dir);
    ssize_t l = readlink (gl, link, sizeof link - 1);
    link[l > 0 ? l : 0] = '\0';
    CHECK_EQ_STR (link, "..data/greeting");
    _cleanup_free_ char *dl = hs_sprintf ("%s/..data", dir);
    l = readlink (dl, link, sizeof link - 1);
    link[l > 0 ? l : 0] = '\0';
    CHECK (hs_startswith (link, "..20"));
    char first[256];
    snprintf (first, sizeof first, "%s", link);

    /* The same again: nothing written. */
    CHECK_EQ_INT (agent_vol_write (dir, v1, 2), 0);
    /* A mode alone differs: written. */
    v1[1].mode = 0440;
    CHECK_EQ_INT (agent_vol_write (dir, v1, 2), 1);
    CHECK_EQ_INT (s_mode (dir, "deep/pw"), 0440);
    /* A key goes, a value changes: the old directory and the old name go. */
    agent_vol_file_t v2[] = {{(char *)"greeting", (const uint8_t *)"bonjour", 7, 0644}};
    CHECK_EQ_INT (agent_vol_write (dir, v2, 1), 1);
    s = s_read (dir, "greeting");
    CHECK_EQ_STR (s, "bonjour");
    free (s);
    _cleanup_free_ char *deep = hs_sprintf ("%s/deep", dir);
    struct stat st;
    CHECK (lstat (deep, &st) < 0);
    _cleanup_free_ char *old = hs_sprintf ("%s/%s", dir, first);
    CHECK (lstat (old, &st) < 0);
    /* A key added: same value otherwise, written. */
    agent_vol_file_t v3[] = {{(char *)"greeting", (const uint8_t *)"bonjour", 7, 0644},
                             {(char *)"x", (const uint8_t *)"", 0, 0600}};
    CHECK_EQ_INT (agent_vol_write (dir, v3, 2), 1);
    CHECK_EQ_INT (s_mode (dir, "x"), 0600);
    /* Nothing at all: the names go, ..data stays (an empty directory). */
    CHECK_EQ_INT (agent_vol_write (dir, NULL, 0), 1);
    CHECK (lstat (gl, &st) < 0);
    CHECK_EQ_INT (agent_vol_write (dir, NULL, 0), 0);
    /* A path that escapes: refused before anything is written. */
    agent_vol_file_t bad[] = {{(char *)"../escape", (const uint8_t *)"x", 1, 0644}};
    CHECK_EQ_INT (agent_vol_write (dir, bad, 1), -EINVAL);
    /* A directory that is not there. */
    _cleanup_free_ char *none = hs_sprintf ("%s/none", hs_test_tmpdir ());
    CHECK_EQ_INT (agent_vol_write (none, v2, 1), -ENOENT);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"names", test_names},       {"fields", test_fields},   {"refs", test_refs},
        {"env_from", test_env_from}, {"kv_list", test_kv_list}, {"paths", test_paths},
        {"writer", test_writer},
    };
    return HS_TEST_RUN (tests);
}
