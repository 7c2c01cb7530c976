/*  test_util.c: hs_util (saturating add, mkdir -p included), hs_obj and hs_pb
 *  selftests. */
#include "hs_obj.h"
#include "hs_pb.h"
#include "hs_test.h"
#include "hs_util.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_time_roundtrip (void)
{
    char buf[64];
    int64_t ns = 1795262400LL * 1000000000LL; /* 2026-11-21T12:00:00Z */
    CHECK_EQ_STR (hs_fmt_time (ns, buf, sizeof buf), "2026-11-21T12:00:00Z");
    int64_t back = 0;
    CHECK_EQ_INT (hs_parse_time ("2026-11-21T12:00:00Z", &back), 0);
    CHECK_EQ_INT (back, ns);
    CHECK_EQ_INT (hs_parse_time ("2026-11-21T13:00:00+01:00", &back), 0);
    CHECK_EQ_INT (back, ns);
    CHECK_EQ_INT (hs_parse_time ("2026-11-21T12:00:00.5Z", &back), 0);
    CHECK_EQ_INT (back, ns + 500000000LL);
    CHECK_EQ_INT (hs_parse_time ("yesterday", &back), -EINVAL);
    CHECK_EQ_INT (hs_parse_time ("2026-11-21T12:00:00", &back), -EINVAL);
    /* every field its full width (fuzz_pbjson: "00:00:2.3" was taken) */
    CHECK_EQ_INT (hs_parse_time ("2027-01-01T00:00:2.3Z", &back), -EINVAL);
    CHECK_EQ_INT (hs_parse_time ("2027-1-01T00:00:02Z", &back), -EINVAL);
    CHECK_EQ_INT (hs_parse_time ("2027-01-01T0:00:02Z", &back), -EINVAL);
    CHECK_EQ_INT (hs_parse_time ("2027-01-01T00:00:02.Z", &back), -EINVAL);
    CHECK_EQ_INT (hs_parse_time ("2027-01-01T00:00:02.3Z", &back), 0);
    /* hostile offsets and dates: no out-of-bounds read, no overflow */
    CHECK_EQ_INT (hs_parse_time ("2020-01-01T00:00:00+1:00", &back), -EINVAL);
    CHECK_EQ_INT (hs_parse_time ("2020-01-01T00:00:00+", &back), -EINVAL);
    CHECK_EQ_INT (hs_parse_time ("2020-01-01T00:00:00+25:00", &back), -EINVAL);
    CHECK_EQ_INT (hs_parse_time ("2020-02-31T00:00:00Z", &back), -EINVAL);
    CHECK_EQ_INT (hs_parse_time ("9999-12-31T23:59:59Z", &back), -ERANGE);
    CHECK_EQ_INT (hs_parse_time ("0000-01-01T00:00:00Z", &back), -ERANGE);
    CHECK_EQ_INT (hs_parse_time ("2262-04-11T23:47:16Z", &back), 0);
}

static void test_age (void)
{
    char buf[32];
    int64_t s = 1000000000LL, now = 1000000 * s;
    CHECK_EQ_STR (hs_fmt_age (now - 5 * s, now, buf, sizeof buf), "5s");
    CHECK_EQ_STR (hs_fmt_age (now - 119 * s, now, buf, sizeof buf), "119s");
    CHECK_EQ_STR (hs_fmt_age (now - 192 * s, now, buf, sizeof buf), "3m12s");
    CHECK_EQ_STR (hs_fmt_age (now - 45 * 60 * s, now, buf, sizeof buf), "45m");
    CHECK_EQ_STR (hs_fmt_age (now - 4 * 3600 * s, now, buf, sizeof buf), "4h");
    CHECK_EQ_STR (hs_fmt_age (now - 26 * 3600 * s, now, buf, sizeof buf), "26h");
    CHECK_EQ_STR (hs_fmt_age (now - 3 * 86400 * s, now, buf, sizeof buf), "3d");
    CHECK_EQ_STR (hs_fmt_age (0, now, buf, sizeof buf), "<unknown>");
}

static void test_parse_i64 (void)
{
    int64_t v = 0;
    CHECK_EQ_INT (hs_parse_i64 ("42", &v), 0);
    CHECK_EQ_INT (v, 42);
    CHECK_EQ_INT (hs_parse_i64 ("-7", &v), 0);
    CHECK_EQ_INT (v, -7);
    CHECK_EQ_INT (hs_parse_i64 ("4x", &v), -EINVAL);
    CHECK_EQ_INT (hs_parse_i64 ("", &v), -EINVAL);
    CHECK_EQ_INT (hs_parse_i64 ("99999999999999999999", &v), -ERANGE);
}

static void test_sat_add (void)
{
    static const struct {
        int64_t a, b, want;
    } cases[] = {
        {1, 2, 3},
        {-5, 3, -2},
        {INT64_MAX, 1, INT64_MAX},
        {INT64_MAX - 1, 1, INT64_MAX},
        {INT64_MAX, INT64_MAX, INT64_MAX},
        {INT64_MIN, -1, INT64_MIN},
        {INT64_MIN, INT64_MIN, INT64_MIN},
        {INT64_MAX, -1, INT64_MAX - 1},
        {INT64_MIN, 1, INT64_MIN + 1},
        {INT64_MAX, INT64_MIN, -1},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (cases); i++)
        CHECK_EQ_INT (hs_sat_add (cases[i].a, cases[i].b), cases[i].want);
}

static void test_mkdir_p (void)
{
    const char *tmp = hs_test_tmpdir ();
    _cleanup_free_ char *deep = hs_sprintf ("%s/a/b/c", tmp);
    CHECK_EQ_INT (hs_mkdir_p (deep, 0700), 0);
    struct stat st;
    CHECK_EQ_INT (stat (deep, &st), 0);
    CHECK (S_ISDIR (st.st_mode));
    CHECK_EQ_INT (st.st_mode & 0777, 0700);
    /* again, and with a trailing slash: nothing to do */
    CHECK_EQ_INT (hs_mkdir_p (deep, 0700), 0);
    _cleanup_free_ char *slash = hs_sprintf ("%s/a/b/", tmp);
    CHECK_EQ_INT (hs_mkdir_p (slash, 0755), 0);
    /* a file in the way */
    _cleanup_free_ char *file = hs_sprintf ("%s/f", tmp);
    FILE *f = fopen (file, "w");
    CHECK (f != NULL);
    if (f) fclose (f);
    CHECK_EQ_INT (hs_mkdir_p (file, 0700), -ENOTDIR);
    _cleanup_free_ char *under = hs_sprintf ("%s/f/x", tmp);
    CHECK_EQ_INT (hs_mkdir_p (under, 0700), -ENOTDIR);
    CHECK_EQ_INT (hs_mkdir_p ("", 0700), -ENOENT);
}

static void test_ids (void)
{
    char a[6], b[6];
    hs_random_id (a, 5);
    hs_random_id (b, 5);
    CHECK_EQ_INT (strlen (a), 5);
    CHECK (strcmp (a, b) != 0);
    char *u = hs_uuid ();
    CHECK_EQ_INT (strlen (u), 36);
    CHECK_EQ_INT (u[14], '4');
    free (u);

    /* the random pool: distinct values, and a forked child does not repeat
     * what its parent draws next */
    char *first = hs_uuid ();
    int dup = 0;
    for (int i = 0; i < 10000; i++) {
        char *x = hs_uuid ();
        if (strcmp (x, first) == 0) dup++;
        free (x);
    }
    CHECK_EQ_INT (dup, 0);
    free (first);
    int fds[2];
    CHECK_EQ_INT (pipe (fds), 0);
    pid_t pid = fork ();
    if (pid == 0) {
        char *c = hs_uuid ();
        ssize_t w = write (fds[1], c, 36);
        _exit (w == 36 ? 0 : 1);
    }
    char *mine = hs_uuid ();
    char theirs[37] = {0};
    CHECK_EQ_INT (read (fds[0], theirs, 36), 36);
    waitpid (pid, NULL, 0);
    CHECK (strcmp (mine, theirs) != 0);
    free (mine);
    close (fds[0]);
    close (fds[1]);
}

static void test_kinds (void)
{
    CHECK_EQ_INT (hs_kind_parse ("po"), HS_KIND_POD);
    CHECK_EQ_INT (hs_kind_parse ("pods"), HS_KIND_POD);
    CHECK_EQ_INT (hs_kind_parse ("Pod"), HS_KIND_POD);
    CHECK_EQ_INT (hs_kind_parse ("rs"), HS_KIND_REPLICASET);
    CHECK_EQ_INT (hs_kind_parse ("deploy"), HS_KIND_DEPLOYMENT);
    CHECK_EQ_INT (hs_kind_parse ("deployments.apps"), HS_KIND_DEPLOYMENT);
    CHECK_EQ_INT (hs_kind_parse ("deployments.batch"), HS_KIND_NONE);
    CHECK_EQ_INT (hs_kind_parse ("job"), HS_KIND_JOB);
    CHECK_EQ_INT (hs_kind_parse ("no"), HS_KIND_NODE);
    CHECK_EQ_INT (hs_kind_parse ("ev"), HS_KIND_EVENT);
    CHECK_EQ_INT (hs_kind_parse ("foo"), HS_KIND_NONE);
    CHECK_EQ_INT (hs_kind_parse (NULL), HS_KIND_NONE);
}

static void test_object_routing (void)
{
    Hs__Object *o = hs_obj_new (HS_KIND_POD, "default", "web");
    char *key = hs_obj_key_of (o);
    CHECK_EQ_STR (key, "pod/default/web");
    free (key);
    char *topic = hs_obj_topic (o);
    CHECK_EQ_STR (topic, "ev.pod.-/default/web");
    free (topic);
    o->pod->spec = hs_pb_new (&hs__pod_spec__descriptor);
    hs_pb_set_str (&o->pod->spec->node_name, "n1");
    char *stream = hs_obj_stream (o);
    CHECK_EQ_STR (stream, "pod.n1");
    free (stream);
    CHECK (hs_obj_in_stream (o, "pod.n1"));
    CHECK (!hs_obj_in_stream (o, "pod.-"));
    CHECK (!hs_obj_in_stream (o, "pod.n10"));
    CHECK (!hs_obj_in_stream (o, "node.n1"));
    CHECK (!hs_obj_in_stream (o, "pod"));
    CHECK (!hs_obj_in_stream (o, NULL));
    Hs__Object *node = hs_obj_new (HS_KIND_NODE, NULL, "n1");
    CHECK (hs_obj_in_stream (node, "node.-"));
    CHECK (!hs_obj_in_stream (node, "pod.-"));
    hs_pb_free (node);
    char *ref = hs_obj_ref (HS_KIND_DEPLOYMENT, "web");
    CHECK_EQ_STR (ref, "deployment.apps/web");
    free (ref);

    Hs__Object *n = hs_obj_new (HS_KIND_NODE, "ignored", "n1");
    key = hs_obj_key_of (n);
    CHECK_EQ_STR (key, "node//n1");
    free (key);
    hs_pb_free (n);

    /* dup and equality */
    Hs__Object *copy = hs_pb_dup (o);
    CHECK (hs_pb_equal (o, copy));
    hs_pb_set_str (&copy->pod->metadata->name, "other");
    CHECK (!hs_pb_equal (o, copy));
    hs_pb_free (copy);
    hs_pb_free (o);
}

static void test_maps (void)
{
    Hs__ObjectMeta *m = hs_pb_new (&hs__object_meta__descriptor);
    hs_pb_map_set ((void ***)&m->labels, &m->n_labels, &hs__object_meta__labels_entry__descriptor,
                   "b", "2");
    hs_pb_map_set ((void ***)&m->labels, &m->n_labels, &hs__object_meta__labels_entry__descriptor,
                   "a", "1");
    hs_pb_map_set ((void ***)&m->labels, &m->n_labels, &hs__object_meta__labels_entry__descriptor,
                   "b", "3");
    CHECK_EQ_INT (m->n_labels, 2);
    CHECK_EQ_STR (hs_pb_map_get ((void *const *)m->labels, m->n_labels, "b"), "3");
    CHECK (hs_pb_map_get ((void *const *)m->labels, m->n_labels, "c") == NULL);
    hs_pb_map_sort ((void **)m->labels, m->n_labels);
    CHECK_EQ_STR (m->labels[0]->key, "a");
    hs_pb_free (m);
}

static void test_buf (void)
{
    hs_buf_t b = {0};
    for (int i = 0; i < 1000; i++) hs_buf_printf (&b, "%d,", i);
    CHECK (b.len > 1000);
    char *s = hs_buf_take (&b);
    CHECK (strncmp (s, "0,1,2,", 6) == 0);
    free (s);
    CHECK (b.data == NULL);
}

int main (int argc, char **argv)
{
    hs_test_t tests[] = {
        {"time_roundtrip", test_time_roundtrip},
        {"age", test_age},
        {"parse_i64", test_parse_i64},
        {"sat_add", test_sat_add},
        {"mkdir_p", test_mkdir_p},
        {"ids", test_ids},
        {"kinds", test_kinds},
        {"object_routing", test_object_routing},
        {"maps", test_maps},
        {"buf", test_buf},
    };
    return HS_TEST_RUN (tests);
}
