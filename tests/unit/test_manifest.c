/*  test_manifest.c: manifests <-> objects (bus/hs_manifest). */
#include "hs_manifest.h"
#include "hs_pbjson.h"
#include "hs_test.h"
#include "hs_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* examples/ of this source tree: $HS_SRC/examples, else found from __FILE__
 * (tests/unit/test_manifest.c -> ../../examples). */
static const char *s_examples (void)
{
    static char path[1024];
    if (path[0]) return path;
    const char *src = getenv ("HS_SRC");
    if (!hs_empty (src)) {
        snprintf (path, sizeof path, "%s/examples", src);
    } else {
        char here[900];
        snprintf (here, sizeof here, "%s", __FILE__);
        char *slash = strrchr (here, '/');
        if (slash)
            *slash = '\0';
        else
            snprintf (here, sizeof here, ".");
        snprintf (path, sizeof path, "%s/../../examples", here);
    }
    return path;
}

static char *s_write (const char *dir, const char *name, const char *text)
{
    char *path = hs_sprintf ("%s/%s", dir, name);
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK (fd >= 0);
    if (fd >= 0) {
        CHECK_EQ_INT (write (fd, text, strlen (text)), (long long)strlen (text));
        close (fd);
    }
    return path;
}

static char *s_mkdir (const char *name)
{
    char *path = hs_sprintf ("%s/%s", hs_test_tmpdir (), name);
    CHECK_EQ_INT (mkdir (path, 0755), 0);
    return path;
}

/* Parses text expecting failure with exactly this error; *m must stay as it was. */
static void s_expect_parse_error (const char *text, const char *name, const char *expected)
{
    hs_manifest_t m = {0};
    char *err = NULL;
    int r = hs_manifest_parse (text, strlen (text), name, &m, &err);
    CHECK (r < 0);
    CHECK_EQ_INT (m.n, 0);
    CHECK (m.docs == NULL);
    CHECK_EQ_STR (err, expected);
    free (err);
    hs_manifest_free (&m);
}

static void s_expect_load_error (const char *path, int code, const char *expected)
{
    hs_manifest_t m = {0};
    char *err = NULL;
    int r = hs_manifest_load (path, false, &m, &err);
    CHECK_EQ_INT (r, code);
    CHECK_EQ_INT (m.n, 0);
    CHECK_EQ_STR (err, expected);
    free (err);
    hs_manifest_free (&m);
}

static const char *s_pod (const char *name)
{
    static char buf[4][256];
    static int k;
    char *b = buf[k++ % 4];
    snprintf (b, 256,
              "apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n  containers:\n"
              "  - name: main\n    command: [sleep, '60']\n",
              name);
    return b;
}

/* ------------------------------------------------------------------ tests */

static void test_multi_doc (void)
{
    char *text = hs_sprintf ("# leading comment\n%s---\n---\n%s---\n"
                             "{\"apiVersion\": \"apps/v1\", \"kind\": \"Deployment\", "
                             "\"metadata\": {\"name\": \"d\"}, \"spec\": {\"replicas\": 2}}\n"
                             "---\n# trailing\n",
                             s_pod ("a"), s_pod ("b"));
    hs_manifest_t m = {0};
    char *err = NULL;
    CHECK_EQ_INT (hs_manifest_parse (text, strlen (text), "multi.yaml", &m, &err), 0);
    CHECK (err == NULL);
    CHECK_EQ_INT (m.n, 3);
    if (m.n == 3) {
        CHECK_EQ_INT (hs_obj_kind (m.docs[0].object), HS_KIND_POD);
        CHECK_EQ_STR (hs_obj_meta (m.docs[0].object)->name, "a");
        CHECK_EQ_INT (m.docs[0].doc, 1);
        CHECK_EQ_STR (m.docs[0].file, "multi.yaml");
        CHECK_EQ_STR (hs_obj_meta (m.docs[1].object)->name, "b");
        CHECK_EQ_INT (m.docs[1].doc, 3); /* document 2 is empty: counted, skipped */
        CHECK_EQ_INT (hs_obj_kind (m.docs[2].object), HS_KIND_DEPLOYMENT);
        CHECK_EQ_INT (m.docs[2].doc, 4);
        CHECK_EQ_INT (m.docs[2].object->deployment->spec->replicas->value, 2);
        CHECK_EQ_STR (m.docs[0].object->pod->spec->containers[0]->command[1], "60");
    }
    /* appends to what is there */
    CHECK_EQ_INT (hs_manifest_parse (s_pod ("c"), strlen (s_pod ("c")), NULL, &m, &err), 0);
    CHECK_EQ_INT (m.n, 4);
    if (m.n == 4) {
        CHECK_EQ_STR (m.docs[3].file, "STDIN");
        CHECK_EQ_INT (m.docs[3].doc, 1);
    }
    hs_manifest_free (&m);
    CHECK_EQ_INT (m.n, 0);
    free (text);

    /* an empty input loads nothing, successfully */
    CHECK_EQ_INT (hs_manifest_parse ("", 0, "empty.yaml", &m, &err), 0);
    CHECK_EQ_INT (m.n, 0);
    CHECK_EQ_INT (hs_manifest_parse ("---\n---\n", 8, "empty.yaml", &m, &err), 0);
    CHECK_EQ_INT (m.n, 0);
}

static void test_error_formats (void)
{
    const char *f = "app.yaml";
    char *t;

    t = hs_sprintf ("%s---\napiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n"
                    "  containers:\n  - name: x\n    imag: nginx\n",
                    s_pod ("ok"));
    s_expect_parse_error (t, f,
                          "error: app.yaml: document 2 (Pod \"web\"): spec.containers[0].imag: "
                          "unknown field \"imag\"");
    free (t);
    s_expect_parse_error ("apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n"
                          "  - name: x\n    ports: [{containerPort: \"80\"}]\n",
                          f,
                          "error: app.yaml: document 1 (Pod \"web\"): "
                          "spec.containers[0].ports[0].containerPort: expected an integer, got "
                          "string \"80\"");
    s_expect_parse_error ("apiVersion: v1\nkind: Foo\nmetadata: {name: web}\n", f,
                          "error: app.yaml: document 1: kind: unknown kind \"Foo\"");
    s_expect_parse_error ("apiVersion: v1\nkind: pod\nmetadata: {name: web}\n", f,
                          "error: app.yaml: document 1: kind: unknown kind \"pod\"");
    s_expect_parse_error ("apiVersion: v1\nmetadata: {name: web}\n", f,
                          "error: app.yaml: document 1: kind: Required value");
    s_expect_parse_error ("apiVersion: v1\nkind: [Pod]\n", f,
                          "error: app.yaml: document 1: kind: expected a string, got a list");
    s_expect_parse_error ("apiVersion: v1\nkind: Deployment\nmetadata: {name: web}\n", f,
                          "error: app.yaml: document 1 (Deployment \"web\"): apiVersion: expected "
                          "\"apps/v1\" for kind Deployment, got \"v1\"");
    s_expect_parse_error ("kind: Job\nmetadata: {name: j}\n", f,
                          "error: app.yaml: document 1 (Job \"j\"): apiVersion: Required value");
    s_expect_parse_error ("apiVersion: v1\nkind: Pod\nmetadata: {labels: {a: b}}\n", f,
                          "error: app.yaml: document 1 (Pod): metadata.name: Required value");
    s_expect_parse_error ("apiVersion: v1\nkind: Pod\n", f,
                          "error: app.yaml: document 1 (Pod): metadata.name: Required value");
    s_expect_parse_error ("apiVersion: v1\nkind: Pod\nmetadata: {name: ''}\n", f,
                          "error: app.yaml: document 1 (Pod): metadata.name: Required value");
    s_expect_parse_error ("- a\n- b\n", f,
                          "error: app.yaml: document 1: expected a mapping, got a list");
    s_expect_parse_error (
        "---\n---\njust text\n", f,
        "error: app.yaml: document 2: expected a mapping, got string \"just text\"");
    s_expect_parse_error (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: [1]\n", f,
        "error: app.yaml: document 1 (Pod \"web\"): spec: expected a mapping, got "
        "a list");
    s_expect_parse_error ("apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nstatus:\n"
                          "  phase: Running\n  podIp: 1.2.3.4\n",
                          f,
                          "error: app.yaml: document 1 (Pod \"web\"): status.podIp: unknown field "
                          "\"podIp\"");
    /* Event's own top-level fields */
    s_expect_parse_error ("apiVersion: v1\nkind: Event\nmetadata: {name: e}\ncount: many\n", f,
                          "error: app.yaml: document 1 (Event \"e\"): count: expected an integer, "
                          "got string \"many\"");
    /* generateName shows when there is no name */
    s_expect_parse_error (
        "apiVersion: v1\nkind: Pod\nmetadata: {generateName: web-}\nspec: {x: 1}\n", f,
        "error: app.yaml: document 1 (Pod \"web-\"): spec.x: unknown field \"x\"");

    /* YAML syntax errors, with the document */
    t = hs_sprintf ("%s---\n%s---\nmetadata: {name: [x}\n", s_pod ("a"), s_pod ("b"));
    hs_manifest_t m = {0};
    char *err = NULL;
    CHECK_EQ_INT (hs_manifest_parse (t, strlen (t), f, &m, &err), -EINVAL);
    CHECK (hs_startswith (err, "error: app.yaml: document 3: line 19, column 20: "));
    free (err);
    free (t);
    s_expect_parse_error ("a: b: c\n", "STDIN",
                          "error: STDIN: document 1: line 1, column 5: mapping values are not "
                          "allowed in this context");
    s_expect_parse_error ("a: 1\na: 2\n", f,
                          "error: app.yaml: document 1: line 2, column 1: "
                          "duplicate key \"a\"");
}

static void test_examples (void)
{
    const char *ex = s_examples ();
    hs_manifest_t m = {0};
    char *err = NULL;
    int r = hs_manifest_load (ex, false, &m, &err);
    if (r < 0) fprintf (stderr, "  %s\n", err);
    CHECK_EQ_INT (r, 0);
    free (err);
    /* name order: deployment, job, pod-web, replicaset, service-web; bad/ is
     * not recursed into */
    CHECK_EQ_INT (m.n, 5);
    if (m.n != 5) {
        hs_manifest_free (&m);
        return;
    }
    CHECK_EQ_INT (hs_obj_kind (m.docs[0].object), HS_KIND_DEPLOYMENT);
    CHECK_EQ_INT (hs_obj_kind (m.docs[1].object), HS_KIND_JOB);
    CHECK_EQ_INT (hs_obj_kind (m.docs[2].object), HS_KIND_POD);
    CHECK_EQ_INT (hs_obj_kind (m.docs[3].object), HS_KIND_REPLICASET);
    char *want = hs_sprintf ("%s/pod-web.yaml", ex);
    CHECK_EQ_STR (m.docs[2].file, want);
    free (want);

    Hs__Deployment *d = m.docs[0].object->deployment;
    CHECK_EQ_STR (d->metadata->name, "api");
    CHECK_EQ_INT (d->spec->replicas->value, 3);
    CHECK_EQ_STR (d->spec->strategy->type, "RollingUpdate");
    CHECK_EQ_STR (d->spec->strategy->rolling_update->max_surge, "1");
    CHECK_EQ_STR (d->spec->strategy->rolling_update->max_unavailable, "0");
    CHECK_EQ_STR (hs_pb_map_get ((void *const *)d->spec->selector->match_labels,
                                 d->spec->selector->n_match_labels, "app"),
                  "api");

    Hs__Job *j = m.docs[1].object->job;
    CHECK_EQ_INT (j->spec->completions->value, 3);
    CHECK_EQ_INT (j->spec->parallelism->value, 2);
    CHECK_EQ_STR (j->spec->template_->spec->restart_policy, "Never");
    Hs__Container *jc = j->spec->template_->spec->containers[0];
    CHECK_EQ_INT (jc->n_command, 3);
    CHECK_EQ_STR (jc->command[0], "sh");
    CHECK_EQ_STR (jc->command[2], "echo done");

    Hs__Pod *p = m.docs[2].object->pod;
    CHECK_EQ_STR (p->metadata->name, "web");
    CHECK_EQ_STR (hs_pb_map_get ((void *const *)p->metadata->labels, p->metadata->n_labels, "app"),
                  "web");
    Hs__Container *c = p->spec->containers[0];
    CHECK_EQ_INT (c->n_command, 4);
    CHECK_EQ_STR (c->command[0], "python3");
    CHECK_EQ_STR (c->command[3], "8080");
    CHECK_EQ_STR (c->resources->requests->cpu, "100m");
    CHECK_EQ_STR (c->resources->limits->memory, "128Mi");
    CHECK_EQ_STR (c->readiness_probe->http_get->port, "8080");
    CHECK_EQ_INT (c->ports[0]->container_port, 8080);

    Hs__ReplicaSet *rs = m.docs[3].object->replica_set;
    CHECK_EQ_INT (rs->spec->replicas->value, 2);
    CHECK_EQ_INT (hs_obj_kind (m.docs[4].object), HS_KIND_SERVICE);
    Hs__Service *svc = m.docs[4].object->service;
    CHECK_EQ_STR (svc->metadata->name, "web");
    CHECK_EQ_INT (svc->spec->n_ports, 1);

    /* every container of every example has a command (Homeostat runs processes) */
    for (size_t i = 0; i < m.n; i++) {
        Hs__Object *o = m.docs[i].object;
        Hs__PodSpec *ps = NULL;
        switch (hs_obj_kind (o)) {
        case HS_KIND_POD: ps = o->pod->spec; break;
        case HS_KIND_JOB: ps = o->job->spec->template_->spec; break;
        case HS_KIND_DEPLOYMENT: ps = o->deployment->spec->template_->spec; break;
        case HS_KIND_REPLICASET: ps = o->replica_set->spec->template_->spec; break;
        case HS_KIND_SERVICE: continue; /* no pods */
        default: break;
        }
        CHECK (ps && ps->n_containers > 0);
        for (size_t k = 0; ps && k < ps->n_containers; k++)
            CHECK (ps->containers[k]->n_command > 0);
    }

    /* render -> parse gives the same object, YAML and JSON */
    for (size_t i = 0; i < m.n; i++) {
        int fmts[] = {HS_FMT_YAML, HS_FMT_JSON, HS_FMT_JSON | HS_FMT_COMPACT};
        for (size_t k = 0; k < HS_ARRAY_LEN (fmts); k++) {
            char *text = hs_manifest_render (m.docs[i].object, fmts[k]);
            hs_manifest_t again = {0};
            char *e2 = NULL;
            CHECK_EQ_INT (hs_manifest_parse (text, strlen (text), "render", &again, &e2), 0);
            if (e2) fprintf (stderr, "  %s\n%s\n", e2, text);
            free (e2);
            CHECK_EQ_INT (again.n, 1);
            if (again.n == 1) CHECK (hs_pb_equal (again.docs[0].object, m.docs[i].object));
            hs_manifest_free (&again);
            free (text);
        }
    }
    hs_manifest_free (&m);

    /* each file alone, too */
    static const char *const files[] = {"pod-web.yaml", "replicaset.yaml", "deployment.yaml",
                                        "job.yaml"};
    for (size_t i = 0; i < HS_ARRAY_LEN (files); i++) {
        char *path = hs_sprintf ("%s/%s", ex, files[i]);
        CHECK_EQ_INT (hs_manifest_load (path, false, &m, &err), 0);
        free (path);
    }
    CHECK_EQ_INT (m.n, 4);
    hs_manifest_free (&m);
}

static void test_bad_examples (void)
{
    const char *ex = s_examples ();
    static const char *const cases[][2] = {
        {"unknown-field.yaml",
         "document 1 (Pod \"web\"): spec.containers[0].imag: unknown field \"imag\""},
        {"wrong-type.yaml", "document 1 (Pod \"web\"): spec.containers[0].ports[0].containerPort: "
                            "expected an integer, got string \"80\""},
        {"unknown-kind.yaml", "document 1: kind: unknown kind \"Pods\""},
        {"missing-name.yaml", "document 1 (Job): metadata.name: Required value"},
        {"multi-doc.yaml",
         "document 2 (Deployment \"two\"): spec.replicas: expected an integer, got a list"},
        {"wrong-api-version.yaml", "document 1 (Deployment \"web\"): apiVersion: expected "
                                   "\"apps/v1\" for kind Deployment, got \"v1\""},
        {"syntax.yaml", "document 2: line 16, column 1: did not find expected ',' or ']' while "
                        "parsing a flow sequence"},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (cases); i++) {
        char *path = hs_sprintf ("%s/bad/%s", ex, cases[i][0]);
        char *want = hs_sprintf ("error: %s: %s", path, cases[i][1]);
        s_expect_load_error (path, -EINVAL, want);
        free (want);
        free (path);
    }
    /* the whole bad/ directory fails, on its first file in name order */
    char *dir = hs_sprintf ("%s/bad", ex);
    hs_manifest_t m = {0};
    char *err = NULL;
    CHECK_EQ_INT (hs_manifest_load (dir, false, &m, &err), -EINVAL);
    char *want = hs_sprintf ("error: %s/missing-name.yaml: ", dir);
    CHECK (hs_startswith (err, want));
    free (want);
    free (err);
    free (dir);
    /* and recursing into examples/ reaches bad/ too */
    err = NULL;
    CHECK_EQ_INT (hs_manifest_load (ex, true, &m, &err), -EINVAL);
    CHECK_CONTAINS (err, "/bad/missing-name.yaml: ");
    CHECK_EQ_INT (m.n, 0);
    free (err);
}

static void test_directory (void)
{
    char *dir = s_mkdir ("manifests");
    char *sub = hs_sprintf ("%s/sub", dir);
    CHECK_EQ_INT (mkdir (sub, 0755), 0);
    free (s_write (dir, "b.yaml", s_pod ("b")));
    free (s_write (dir, "a.yml", s_pod ("a")));
    free (
        s_write (dir, "c.json",
                 "{\"apiVersion\": \"v1\", \"kind\": \"Node\", \"metadata\": {\"name\": \"n1\"}}"));
    free (s_write (dir, "notes.txt", "not: a manifest\n"));
    free (s_write (dir, "a.yaml.bak", "garbage: [\n"));
    free (s_write (sub, "d.yaml", s_pod ("d")));
    free (s_write (dir, "0-empty.yaml", "# nothing yet\n"));

    hs_manifest_t m = {0};
    char *err = NULL;
    CHECK_EQ_INT (hs_manifest_load (dir, false, &m, &err), 0);
    CHECK_EQ_INT (m.n, 3);
    if (m.n == 3) {
        CHECK_EQ_STR (hs_obj_meta (m.docs[0].object)->name, "a");
        CHECK_EQ_STR (hs_obj_meta (m.docs[1].object)->name, "b");
        CHECK_EQ_STR (hs_obj_meta (m.docs[2].object)->name, "n1");
        char *want = hs_sprintf ("%s/a.yml", dir);
        CHECK_EQ_STR (m.docs[0].file, want);
        free (want);
    }
    hs_manifest_free (&m);

    CHECK_EQ_INT (hs_manifest_load (dir, true, &m, &err), 0);
    CHECK_EQ_INT (m.n, 4);
    if (m.n == 4) {
        CHECK_EQ_STR (hs_obj_meta (m.docs[3].object)->name, "d");
        char *want = hs_sprintf ("%s/sub/d.yaml", dir);
        CHECK_EQ_STR (m.docs[3].file, want);
        free (want);
    }
    hs_manifest_free (&m);

    /* a trailing slash does not double */
    char *slashed = hs_sprintf ("%s/", dir);
    CHECK_EQ_INT (hs_manifest_load (slashed, false, &m, &err), 0);
    if (m.n) {
        char *want = hs_sprintf ("%s/a.yml", dir);
        CHECK_EQ_STR (m.docs[0].file, want);
        free (want);
    }
    hs_manifest_free (&m);
    free (slashed);

    /* all or nothing across files: a bad file leaves *m as it was */
    CHECK_EQ_INT (hs_manifest_parse (s_pod ("pre"), strlen (s_pod ("pre")), "pre", &m, &err), 0);
    CHECK_EQ_INT (m.n, 1);
    hs_manifest_doc_t *before = m.docs;
    Hs__Object *first = m.docs[0].object;
    free (s_write (sub, "e.yaml",
                   "apiVersion: v1\nkind: Pod\nmetadata: {name: e}\nspec: {bad: 1}\n"));
    CHECK_EQ_INT (hs_manifest_load (dir, true, &m, &err), -EINVAL);
    char *want =
        hs_sprintf ("error: %s/sub/e.yaml: document 1 (Pod \"e\"): spec.bad: unknown field "
                    "\"bad\"",
                    dir);
    CHECK_EQ_STR (err, want);
    free (want);
    free (err);
    err = NULL;
    CHECK_EQ_INT (m.n, 1);
    CHECK (m.docs == before && m.docs[0].object == first);
    /* non-recursive load of the same directory still works: sub/ is not read */
    CHECK_EQ_INT (hs_manifest_load (dir, false, &m, &err), 0);
    CHECK_EQ_INT (m.n, 4);
    hs_manifest_free (&m);

    /* an empty directory, or one with no manifests */
    char *empty = s_mkdir ("empty");
    free (s_write (empty, "README.md", "hi\n"));
    want = hs_sprintf ("error: no manifests found in %s", empty);
    s_expect_load_error (empty, -ENOENT, want);
    free (want);
    free (empty);
    free (sub);
    free (dir);
}

static void test_paths (void)
{
    s_expect_load_error ("/nonexistent/x.yaml", -ENOENT,
                         "error: the path \"/nonexistent/x.yaml\" does not exist");
    s_expect_load_error ("x.yaml-does-not-exist", -ENOENT,
                         "error: the path \"x.yaml-does-not-exist\" does not exist");
    /* a file named explicitly loads whatever its extension */
    char *path = s_write (hs_test_tmpdir (), "pod.txt", s_pod ("txt"));
    hs_manifest_t m = {0};
    char *err = NULL;
    CHECK_EQ_INT (hs_manifest_load (path, false, &m, &err), 0);
    CHECK_EQ_INT (m.n, 1);
    hs_manifest_free (&m);
    free (path);
}

static void test_stdin (void)
{
    char *text = hs_sprintf ("%s---\n%s", s_pod ("s1"), s_pod ("s2"));
    char *path = s_write (hs_test_tmpdir (), "stdin.yaml", text);
    free (text);
    int saved = dup (STDIN_FILENO);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    CHECK (saved >= 0 && fd >= 0);
    dup2 (fd, STDIN_FILENO);
    close (fd);
    hs_manifest_t m = {0};
    char *err = NULL;
    CHECK_EQ_INT (hs_manifest_load ("-", false, &m, &err), 0);
    CHECK_EQ_INT (m.n, 2);
    if (m.n == 2) {
        CHECK_EQ_STR (m.docs[0].file, "STDIN");
        CHECK_EQ_INT (m.docs[1].doc, 2);
        CHECK_EQ_STR (hs_obj_meta (m.docs[1].object)->name, "s2");
    }
    hs_manifest_free (&m);

    /* bad input on stdin names STDIN */
    free (s_write (hs_test_tmpdir (), "stdin.yaml", "apiVersion: v1\nkind: Nope\n"));
    fd = open (path, O_RDONLY | O_CLOEXEC);
    dup2 (fd, STDIN_FILENO);
    close (fd);
    CHECK_EQ_INT (hs_manifest_load ("-", false, &m, &err), -EINVAL);
    CHECK_EQ_STR (err, "error: STDIN: document 1: kind: unknown kind \"Nope\"");
    free (err);
    dup2 (saved, STDIN_FILENO);
    close (saved);
    free (path);
}

static void test_limits (void)
{
    /* more than 16 MiB */
    size_t len = (16u << 20) + 1;
    char *big = hs_malloc (len + 1);
    memset (big, '#', len);
    big[len] = '\0';
    hs_manifest_t m = {0};
    char *err = NULL;
    CHECK_EQ_INT (hs_manifest_parse (big, len, "big.yaml", &m, &err), -EFBIG);
    CHECK_EQ_STR (err, "error: big.yaml: file is larger than 16 MiB");
    free (err);
    char *path = hs_sprintf ("%s/big.yaml", hs_test_tmpdir ());
    FILE *f = fopen (path, "w");
    CHECK (f != NULL);
    if (f) {
        CHECK_EQ_INT (fwrite (big, 1, len, f), (long long)len);
        fclose (f);
        char *want = hs_sprintf ("error: %s: file is larger than 16 MiB", path);
        s_expect_load_error (path, -EFBIG, want);
        free (want);
    }
    free (path);
    free (big);

    /* more than 10,000 documents */
    hs_buf_t b = {0};
    for (int i = 0; i < 10001; i++) hs_buf_puts (&b, "---\n");
    CHECK_EQ_INT (hs_manifest_parse (b.data, b.len, "many.yaml", &m, &err), -EINVAL);
    CHECK_EQ_STR (err, "error: many.yaml: line 10001, column 1: more than 10000 documents");
    free (err);
    hs_buf_free (&b);
    for (int i = 0; i < 10000; i++) hs_buf_puts (&b, "---\n");
    CHECK_EQ_INT (hs_manifest_parse (b.data, b.len, "many.yaml", &m, &err), 0);
    hs_buf_free (&b);
}

static void test_render (void)
{
    hs_manifest_t m = {0};
    char *err = NULL;
    const char *y = "apiVersion: v1\nkind: Event\nmetadata:\n  name: web.1\n  namespace: default\n"
                    "involvedObject:\n  kind: Pod\n  name: web\nreason: Started\n"
                    "firstTimestamp: \"2026-01-02T03:04:05Z\"\ncount: 1\n";
    CHECK_EQ_INT (hs_manifest_parse (y, strlen (y), "ev.yaml", &m, &err), 0);
    if (m.n != 1) return;
    CHECK_EQ_STR (m.docs[0].object->event->reason, "Started");
    char *s = hs_manifest_render (m.docs[0].object, HS_FMT_YAML);
    CHECK_EQ_STR (s, y);
    free (s);
    s = hs_manifest_render (m.docs[0].object, HS_FMT_JSON | HS_FMT_COMPACT | HS_FMT_RAW);
    CHECK_EQ_STR (s, "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":\"web.1\","
                     "\"namespace\":\"default\"},\"involvedObject\":{\"kind\":\"Pod\",\"name\":"
                     "\"web\"},\"reason\":\"Started\",\"firstTimestamp\":1767323045000000000,"
                     "\"count\":1}");
    free (s);

    /* a List composed from trees */
    hs_tree_t *list = hs_tree_new (HS_TREE_MAP);
    hs_tree_add (list, "apiVersion", hs_tree_scalar ("v1", true));
    hs_tree_add (list, "kind", hs_tree_scalar ("List", true));
    hs_tree_t *items = hs_tree_new (HS_TREE_SEQ);
    hs_tree_add (items, NULL, hs_manifest_tree (m.docs[0].object, 0));
    hs_tree_add (list, "items", items);
    s = hs_tree_to_text (list, HS_FMT_YAML);
    CHECK (hs_startswith (s, "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Event\n"
                             "  metadata:\n    name: web.1\n"));
    free (s);
    hs_tree_free (list);
    hs_manifest_free (&m);

    /* an object with no kind renders as nothing */
    Hs__Object *o = hs_pb_new (&hs__object__descriptor);
    CHECK (hs_manifest_render (o, HS_FMT_YAML) == NULL);
    CHECK (hs_manifest_tree (o, HS_FMT_YAML) == NULL);
    hs_pb_free (o);
    /* a fresh object renders its identity */
    o = hs_obj_new (HS_KIND_DEPLOYMENT, "prod", "api");
    s = hs_manifest_render (o, HS_FMT_YAML);
    CHECK_EQ_STR (s, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n"
                     "  namespace: prod\n");
    free (s);
    hs_pb_free (o);
}

/* Mutated examples: an error or objects, never a crash or a leak. */
static void test_mutations (void)
{
    char *path = hs_sprintf ("%s/deployment.yaml", s_examples ());
    FILE *f = fopen (path, "r");
    free (path);
    CHECK (f != NULL);
    if (!f) return;
    char base[8192];
    size_t len = fread (base, 1, sizeof base - 1, f);
    fclose (f);
    uint32_t seed = 42;
    char buf[8192 + 64];
    for (int iter = 0; iter < 2000; iter++) {
        memcpy (buf, base, len);
        size_t n = len;
        int edits = 1 + iter % 4;
        for (int e = 0; e < edits; e++) {
            seed = seed * 1103515245u + 12345u;
            size_t pos = (seed >> 8) % n;
            seed = seed * 1103515245u + 12345u;
            static const char subst[] = ":- \n[]{}'\"#&*!x0\t";
            switch ((seed >> 8) % 3) {
            case 0: buf[pos] = subst[(seed >> 12) % (sizeof subst - 1)]; break;
            case 1:
                memmove (buf + pos, buf + pos + 1, n - pos - 1);
                n--;
                break;
            default:
                if (n < sizeof buf - 1) {
                    memmove (buf + pos + 1, buf + pos, n - pos);
                    buf[pos] = subst[(seed >> 12) % (sizeof subst - 1)];
                    n++;
                }
            }
        }
        hs_manifest_t m = {0};
        char *err = NULL;
        int r = hs_manifest_parse (buf, n, "fuzz.yaml", &m, &err);
        if (r < 0) {
            CHECK (err && hs_startswith (err, "error: fuzz.yaml: "));
            CHECK (m.n == 0);
            free (err);
        }
        hs_manifest_free (&m);
    }
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"multi_doc", test_multi_doc}, {"error_formats", test_error_formats},
        {"examples", test_examples},   {"bad_examples", test_bad_examples},
        {"directory", test_directory}, {"paths", test_paths},
        {"stdin", test_stdin},         {"limits", test_limits},
        {"render", test_render},       {"mutations", test_mutations},
    };
    return HS_TEST_RUN (tests);
}
