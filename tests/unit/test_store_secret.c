/*  test_store_secret.c: Secrets at rest (services/store/store_secret) and
 *  ConfigMap/Secret validation (bus/hs_validate): the keyring file, sealing
 *  and opening, rotation, a wrong or missing key; then through the store:
 *  stringData merged, values absent from data.mdb and the write-ahead log,
 *  a refused open that keeps the log, a rotation that lets the old key go,
 *  a restored Secret in clear sealed at open, readers beside the store.
 */
#include "hs_manifest.h"
#include "hs_test.h"
#include "hs_util.h"
#include "hs_validate.h"
#include "store.h"
#include "store_secret.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define VALUE     "s3cr3t-Value-9f2c1e7a"
#define VALUE_B64 "czNjcjN0LVZhbHVlLTlmMmMxZTdh"
#define KEY_A     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" /* bytes 0..31 */
#define KEY_B     "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=" /* bytes 32..63 */

static store_out_t g_out;

/* ------------------------------------------------------------------ helpers */

static char *s_path (const char *name)
{
    return hs_sprintf ("%s/%s", hs_test_tmpdir (), name);
}

static void s_write_file (const char *path, const char *text)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK (fd >= 0);
    if (fd < 0) return;
    CHECK_EQ_INT (write (fd, text, strlen (text)), (long long)strlen (text));
    close (fd);
}

/* The whole file (caller frees), or NULL. */
static uint8_t *s_read_file (const char *path, size_t *ret_len)
{
    FILE *f = fopen (path, "rbe");
    if (!f) return NULL;
    hs_buf_t b = {0};
    char buf[65536];
    size_t n;
    while ((n = fread (buf, 1, sizeof buf, f)) > 0) hs_buf_append (&b, buf, n);
    fclose (f);
    *ret_len = b.len;
    return (uint8_t *)hs_buf_take (&b);
}

static bool s_file_has (const char *path, const char *needle)
{
    size_t len = 0;
    _cleanup_free_ uint8_t *data = s_read_file (path, &len);
    if (!data) return false;
    return memmem (data, len, needle, strlen (needle)) != NULL;
}

/* One object from YAML (caller frees). */
static Hs__Object *s_obj (const char *yaml)
{
    hs_manifest_t m = {0};
    char *error = NULL;
    int r = hs_manifest_parse (yaml, strlen (yaml), "test.yaml", &m, &error);
    if (r < 0) fprintf (stderr, "  %s\n", error);
    free (error);
    CHECK_EQ_INT (r, 0);
    CHECK_EQ_INT (m.n, 1);
    Hs__Object *o = m.n ? TAKE_PTR (m.docs[0].object) : NULL;
    hs_manifest_free (&m);
    return o;
}

static char *s_validate (const char *yaml)
{
    Hs__Object *o = s_obj (yaml);
    if (!o) return hs_strdup ("(no object)");
    hs_obj_defaults (o, 1);
    hs_obj_normalize (o);
    char *msg = NULL;
    if (hs_obj_validate (o, &msg) == 0) msg = hs_strdup ("ok");
    hs_pb_free (o);
    return msg;
}

static store_t *s_open_store (const char *dir, const char *key, char **ret_error, int *ret_r)
{
    store_opts_t opts = {.nosync = true, .encryption_key = key, .ret_error = ret_error};
    store_t *s = NULL;
    *ret_r = store_open (dir, &opts, &s);
    return s;
}

/* Applies one write of obj (taken) as a command; the ack until the next. */
static const Hs__Ack *s_apply (store_t *s, Hs__Op op, Hs__Object *obj)
{
    static int seq;
    Hs__Command *c = hs_pb_new (&hs__command__descriptor);
    hs_pb_set_str (&c->client_id, "t");
    hs_pb_take_str (&c->request_id, hs_sprintf ("r%d", ++seq));
    Hs__Write *w = hs_pb_new (&hs__write__descriptor);
    w->op = op;
    w->object = obj;
    hs_pb_push ((void ***)&c->writes, &c->n_writes, w);
    CHECK (store_apply (s, &c, 1, &g_out) >= 0);
    hs_pb_free (c);
    static Hs__Ack empty = HS__ACK__INIT;
    return g_out.n_acks ? g_out.acks[0].ack : &empty;
}

/* The store's own view (its snapshot path, which opens sealed values). */
static Hs__Object *s_get (store_t *s, hs_kind_t kind, const char *name)
{
    CHECK_EQ_INT (store_checkpoint (s), 0);
    hs_db_snapshot_t snap;
    CHECK_EQ_INT (hs_db_snapshot (store_db (s), &kind, 1, NULL, &snap), 0);
    Hs__Object *found = NULL;
    for (size_t i = 0; i < snap.n_objects; i++)
        if (hs_streq (hs_obj_meta (snap.objects[i])->name, name))
            found = hs_pb_dup (snap.objects[i]);
    hs_db_snapshot_free (&snap);
    return found;
}

static const char *s_secret_value (const Hs__Object *o, const char *key, size_t *ret_len)
{
    if (!o || o->kind_case != HS__OBJECT__KIND_SECRET) return NULL;
    for (size_t i = 0; i < o->secret->n_data; i++)
        if (hs_streq (o->secret->data[i]->key, key)) {
            *ret_len = o->secret->data[i]->value.len;
            return (const char *)o->secret->data[i]->value.data;
        }
    return NULL;
}

static const char *SECRET_YAML = "apiVersion: v1\n"
                                 "kind: Secret\n"
                                 "metadata: {name: db}\n"
                                 "stringData: {password: \"" VALUE "\"}\n"
                                 "data: {user: YWRtaW4=, password: b2xk}\n";

/* ------------------------------------------------------------------ keyring */

static void test_keyring_create_load (void)
{
    _cleanup_free_ char *path = s_path ("k1");
    store_keyring_t *k = NULL;
    char *error = NULL;
    CHECK_EQ_INT (store_keyring_load (path, &k, &error), -ENOENT);
    CHECK_CONTAINS (error, path);
    free (error);
    error = NULL;
    CHECK_EQ_INT (store_keyring_create (path, &k, &error), 0);
    CHECK (k != NULL);
    struct stat st;
    CHECK_EQ_INT (stat (path, &st), 0);
    CHECK_EQ_INT (st.st_mode & 0777, 0600);
    CHECK_EQ_INT (store_keyring_count (k), 1);
    CHECK (hs_startswith (store_keyring_primary (k), "key-"));
    store_keyring_t *again = NULL;
    CHECK_EQ_INT (store_keyring_create (path, &again, &error), -EEXIST);
    free (error);
    error = NULL;
    CHECK_EQ_INT (store_keyring_load (path, &again, &error), 0);
    CHECK_EQ_STR (store_keyring_primary (again), store_keyring_primary (k));
    /* the same key: one opens what the other sealed */
    uint8_t sealed[256];
    CHECK (store_secret_sealed_size (k, 5) <= sizeof sealed);
    store_secret_seal (k, "hello", 5, sealed);
    uint8_t *plain = NULL;
    size_t plen = 0;
    CHECK_EQ_INT (store_secret_open (again, sealed, store_secret_sealed_size (k, 5), &plain, &plen),
                  0);
    CHECK_EQ_INT (plen, 5);
    CHECK (plain && memcmp (plain, "hello", 5) == 0);
    store_secret_free_plain (plain, plen);
    store_keyring_destroy (&k);
    store_keyring_destroy (&again);
    CHECK (k == NULL);
}

static void test_keyring_bad_files (void)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"", "holds no key"},
        {"# only a comment\n\n", "holds no key"},
        {"k1\n", ":1: expected NAME BASE64"},
        {"k1 " KEY_A " extra\n", ":1: expected NAME BASE64"},
        {"bad/name " KEY_A "\n", ":1: expected NAME BASE64"},
        {"# c\nk1 AAEC\n", ":2: key \"k1\" is not 32 bytes in base64"},
        {"k1 !!!notbase64!!!\n", ":1: key \"k1\" is not 32 bytes"},
        {"k1 " KEY_A "\nk1 " KEY_B "\n", ":2: key \"k1\" is named twice"},
    };
    _cleanup_free_ char *path = s_path ("bad.key");
    for (size_t i = 0; i < HS_ARRAY_LEN (cases); i++) {
        s_write_file (path, cases[i].text);
        store_keyring_t *k = NULL;
        char *error = NULL;
        CHECK_EQ_INT (store_keyring_load (path, &k, &error), -EINVAL);
        CHECK (k == NULL);
        CHECK_CONTAINS (error, path);
        CHECK_CONTAINS (error, cases[i].want);
        /* a message never holds the key itself */
        if (error) CHECK (!strstr (error, KEY_A) && !strstr (error, KEY_B));
        free (error);
    }
    /* comments, blank lines, CRLF and spaces around are fine */
    s_write_file (path, "# keys\n\n  new  " KEY_B "  \r\nold\t" KEY_A "\n");
    store_keyring_t *k = NULL;
    char *error = NULL;
    CHECK_EQ_INT (store_keyring_load (path, &k, &error), 0);
    free (error);
    if (k) {
        CHECK_EQ_INT (store_keyring_count (k), 2);
        CHECK_EQ_STR (store_keyring_primary (k), "new");
    }
    store_keyring_destroy (&k);
}

static store_keyring_t *s_keys (const char *name, const char *text)
{
    _cleanup_free_ char *path = s_path (name);
    s_write_file (path, text);
    store_keyring_t *k = NULL;
    char *error = NULL;
    CHECK_EQ_INT (store_keyring_load (path, &k, &error), 0);
    free (error);
    return k;
}

static void test_seal_open (void)
{
    store_keyring_t *a = s_keys ("a.key", "ka " KEY_A "\n");
    store_keyring_t *b_same_name = s_keys ("b1.key", "ka " KEY_B "\n");
    store_keyring_t *b = s_keys ("b2.key", "kb " KEY_B "\n");
    store_keyring_t *rot = s_keys ("rot.key", "kb " KEY_B "\nka " KEY_A "\n");
    if (!a || !b || !b_same_name || !rot) return;
    const char *msg = "the quick brown fox";
    size_t len = strlen (msg), slen = store_secret_sealed_size (a, len);
    uint8_t *s1 = hs_malloc (slen), *s2 = hs_malloc (slen);
    store_secret_seal (a, msg, len, s1);
    store_secret_seal (a, msg, len, s2);
    CHECK (store_secret_is_sealed (s1, slen));
    CHECK (hs_db_is_sealed (s1, slen)); /* the reader's test agrees */
    CHECK (!store_secret_is_sealed (msg, len));
    CHECK (memcmp (s1, s2, slen) != 0); /* a fresh nonce every time */
    CHECK (!memmem (s1, slen, "quick", 5));
    const char *name;
    size_t nlen;
    CHECK_EQ_INT (store_secret_key_name (s1, slen, &name, &nlen), 0);
    CHECK (nlen == 2 && memcmp (name, "ka", 2) == 0);
    CHECK (store_secret_is_primary (a, s1, slen));
    CHECK (!store_secret_is_primary (rot, s1, slen));

    uint8_t *plain = NULL;
    size_t plen = 0;
    CHECK_EQ_INT (store_secret_open (a, s1, slen, &plain, &plen), 0);
    CHECK (plen == len && memcmp (plain, msg, len) == 0);
    store_secret_free_plain (plain, plen);
    /* rotation: the new keyring still opens what the old key sealed */
    CHECK_EQ_INT (store_secret_open (rot, s1, slen, &plain, &plen), 0);
    CHECK (plen == len && memcmp (plain, msg, len) == 0);
    store_secret_free_plain (plain, plen);
    /* and seals with its first key */
    uint8_t *s3 = hs_malloc (store_secret_sealed_size (rot, len));
    store_secret_seal (rot, msg, len, s3);
    CHECK (store_secret_is_primary (b, s3, store_secret_sealed_size (rot, len)));
    CHECK_EQ_INT (store_secret_open (a, s3, store_secret_sealed_size (rot, len), &plain, &plen),
                  -ENOKEY);
    free (s3);
    /* a key of another name: ENOKEY; the right name, the wrong key: EBADMSG */
    CHECK_EQ_INT (store_secret_open (b, s1, slen, &plain, &plen), -ENOKEY);
    CHECK_EQ_INT (store_secret_open (b_same_name, s1, slen, &plain, &plen), -EBADMSG);
    /* tampering: any flipped byte after the header fails authentication */
    for (size_t i = 13; i < slen; i += 7) {
        uint8_t *t = hs_malloc (slen);
        memcpy (t, s1, slen);
        t[i] ^= 0x01;
        CHECK_EQ_INT (store_secret_open (a, t, slen, &plain, &plen), -EBADMSG);
        free (t);
    }
    /* truncated or malformed */
    CHECK_EQ_INT (store_secret_open (a, s1, 20, &plain, &plen), -EBADMSG);
    CHECK_EQ_INT (store_secret_open (a, "\0hsenc:v1:", 10, &plain, &plen), -EBADMSG);
    CHECK_EQ_INT (store_secret_open (a, msg, len, &plain, &plen), -EBADMSG);
    /* an empty value seals and opens */
    uint8_t e[128];
    store_secret_seal (a, "", 0, e);
    CHECK_EQ_INT (store_secret_open (a, e, store_secret_sealed_size (a, 0), &plain, &plen), 0);
    CHECK_EQ_INT (plen, 0);
    store_secret_free_plain (plain, plen);
    free (s1);
    free (s2);
    store_keyring_destroy (&a);
    store_keyring_destroy (&b);
    store_keyring_destroy (&b_same_name);
    store_keyring_destroy (&rot);
}

/* ------------------------------------------------------------------ validation */

static void test_validation (void)
{
    static const struct {
        const char *yaml, *want;
    } cases[] = {
        {"kind: Secret\napiVersion: v1\nmetadata: {name: x}\ndata: {ok.key_1-A: YQ==}\n", "ok"},
        {"kind: Secret\napiVersion: v1\nmetadata: {name: x}\ndata: {\"bad key\": YQ==}\n",
         "Secret \"x\" is invalid: data[bad key]: Invalid value: \"bad key\": a valid config key "
         "must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
         "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"},
        {"kind: Secret\napiVersion: v1\nmetadata: {name: x}\ndata: {\".\": YQ==}\n",
         "Secret \"x\" is invalid: data[.]: Invalid value: \".\": must not be '.'"},
        {"kind: Secret\napiVersion: v1\nmetadata: {name: x}\ndata: {\"..\": YQ==}\n",
         "Secret \"x\" is invalid: data[..]: Invalid value: \"..\": must not be '..'"},
        {"kind: Secret\napiVersion: v1\nmetadata: {name: x}\nstringData: {\"..a\": b}\n",
         "Secret \"x\" is invalid: data[..a]: Invalid value: \"..a\": must not start with '..'"},
        {"kind: ConfigMap\napiVersion: v1\nmetadata: {name: c}\ndata: {a: x}\nbinaryData: {a: "
         "YQ==}\n",
         "ConfigMap \"c\" is invalid: binaryData: Invalid value: \"a\": duplicate of key present "
         "in data"},
        {"kind: ConfigMap\napiVersion: v1\nmetadata: {name: c}\ndata: {\"a/b\": x}\n",
         "ConfigMap \"c\" is invalid: data[a/b]: Invalid value: \"a/b\": a valid config key"},
        {"kind: Secret\napiVersion: v1\nmetadata: {name: t}\ntype: kubernetes.io/tls\ndata: "
         "{tls.crt: YQ==}\n",
         "Secret \"t\" is invalid: data[tls.key]: Required value"},
    };
    for (size_t i = 0; i < HS_ARRAY_LEN (cases); i++) {
        _cleanup_free_ char *msg = s_validate (cases[i].yaml);
        if (hs_streq (cases[i].want, "ok"))
            CHECK_EQ_STR (msg, "ok");
        else
            CHECK_CONTAINS (msg, cases[i].want);
    }
    /* a key of 254 characters */
    char key[255];
    memset (key, 'k', 254);
    key[254] = '\0';
    _cleanup_free_ char *y =
        hs_sprintf ("kind: ConfigMap\napiVersion: v1\nmetadata: {name: c}\ndata: {%s: x}\n", key);
    _cleanup_free_ char *msg = s_validate (y);
    CHECK_CONTAINS (msg, ": must be no more than 253 characters");

    /* a ConfigMap over 1 MiB of values (data and binaryData together) */
    Hs__Object *cm = hs_obj_new (HS_KIND_CONFIGMAP, "", "big");
    Hs__ConfigMap__BinaryDataEntry *bd = hs_pb_new (&hs__config_map__binary_data_entry__descriptor);
    hs_pb_set_str (&bd->key, "b");
    bd->value.len = 1 << 20;
    bd->value.data = hs_pb_alloc (bd->value.len);
    memset (bd->value.data, 1, bd->value.len);
    hs_pb_push ((void ***)&cm->config_map->binary_data, &cm->config_map->n_binary_data, bd);
    hs_obj_defaults (cm, 1);
    char *m = NULL;
    CHECK_EQ_INT (hs_obj_validate (cm, &m), 0); /* exactly 1 MiB */
    hs_pb_map_set ((void ***)&cm->config_map->data, &cm->config_map->n_data,
                   &hs__config_map__data_entry__descriptor, "a", "x");
    CHECK_EQ_INT (hs_obj_validate (cm, &m), -EINVAL);
    CHECK_EQ_STR (m, "ConfigMap \"big\" is invalid: []: Too long: must have at most 1048576 bytes");
    free (m);
    hs_pb_free (cm);

    /* stringData is merged into data (it wins), then gone; type Opaque */
    Hs__Object *o = s_obj (SECRET_YAML);
    hs_obj_defaults (o, 1);
    hs_obj_normalize (o);
    CHECK_EQ_INT (o->secret->n_string_data, 0);
    CHECK_EQ_INT (o->secret->n_data, 2);
    CHECK_EQ_STR (o->secret->type, "Opaque");
    size_t len = 0;
    const char *v = s_secret_value (o, "password", &len);
    CHECK (v && len == strlen (VALUE) && memcmp (v, VALUE, len) == 0);
    CHECK_EQ_STR (o->secret->data[0]->key, "password"); /* sorted */
    hs_pb_free (o);
}

static void test_validate_update (void)
{
    Hs__Object *old = s_obj ("kind: Secret\napiVersion: v1\nmetadata: {name: s}\nimmutable: "
                             "true\ndata: {a: YQ==}\n");
    Hs__Object *same = hs_pb_dup (old);
    Hs__Object *changed = s_obj ("kind: Secret\napiVersion: v1\nmetadata: {name: s}\nimmutable: "
                                 "true\ndata: {a: Yg==}\n");
    Hs__Object *unset = s_obj ("kind: Secret\napiVersion: v1\nmetadata: {name: s}\ndata: {a: "
                               "YQ==}\n");
    Hs__Object *retyped = s_obj ("kind: Secret\napiVersion: v1\nmetadata: {name: s}\nimmutable: "
                                 "true\ntype: Other\ndata: {a: YQ==}\n");
    Hs__Object *objs[] = {old, same, changed, unset, retyped};
    for (size_t i = 0; i < HS_ARRAY_LEN (objs); i++) {
        hs_obj_defaults (objs[i], 1);
        hs_obj_normalize (objs[i]);
    }
    char *msg = NULL;
    CHECK_EQ_INT (hs_data_validate_update (old, same, &msg), 0);
    CHECK_EQ_INT (hs_data_validate_update (old, changed, &msg), -EINVAL);
    CHECK_EQ_STR (msg, "Secret \"s\" is invalid: data: Forbidden: field is immutable when "
                       "`immutable` is set");
    CHECK (!strstr (msg, "YQ") && !strstr (msg, "Yg"));
    free (msg);
    CHECK_EQ_INT (hs_data_validate_update (old, unset, &msg), -EINVAL);
    CHECK_CONTAINS (msg, "immutable: Forbidden: field is immutable when `immutable` is set");
    free (msg);
    CHECK_EQ_INT (hs_data_validate_update (old, retyped, &msg), -EINVAL);
    CHECK_CONTAINS (msg, "type: Invalid value: \"Other\": field is immutable");
    free (msg);
    for (size_t i = 0; i < HS_ARRAY_LEN (objs); i++) hs_pb_free (objs[i]);
}

/* ------------------------------------------------------------------ through the store */

static void test_store_at_rest (void)
{
    _cleanup_free_ char *dir = s_path ("rest");
    char *error = NULL;
    int r;
    store_t *s = s_open_store (dir, NULL, &error, &r);
    CHECK_EQ_INT (r, 0);
    if (!s) return;
    _cleanup_free_ char *key = hs_sprintf ("%s/encryption.key", dir);
    struct stat st;
    CHECK_EQ_INT (stat (key, &st), 0);
    CHECK_EQ_INT (st.st_mode & 0777, 0600);

    const Hs__Ack *a = s_apply (s, HS__OP__OP_APPLY, s_obj (SECRET_YAML));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_OK);
    /* the event carries the merged Secret in clear (for the bus) */
    CHECK_EQ_INT (g_out.n_events, 1);
    if (g_out.n_events) {
        size_t len = 0;
        const char *v = s_secret_value (g_out.events[0].event->object, "password", &len);
        CHECK (v && len == strlen (VALUE) && memcmp (v, VALUE, len) == 0);
        CHECK (memmem (g_out.bytes + g_out.events[0].obj_off, g_out.events[0].obj_len, VALUE,
                       strlen (VALUE)));
    }
    /* the log holds the batch, sealed */
    _cleanup_free_ char *wal = hs_sprintf ("%s/wal", dir);
    size_t wlen = 0;
    _cleanup_free_ uint8_t *wdata = s_read_file (wal, &wlen);
    CHECK (wdata != NULL && wlen > 100);
    CHECK (!s_file_has (wal, VALUE) && !s_file_has (wal, VALUE_B64));
    CHECK (s_file_has (wal, "hsenc:v1:key-"));
    /* the same again: unchanged (stringData merges the same way) */
    a = s_apply (s, HS__OP__OP_APPLY, s_obj (SECRET_YAML));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_OK);
    CHECK (a->n_results == 1 && a->results[0]->result == HS__RESULT__RESULT_UNCHANGED);
    /* the store reads it back */
    Hs__Object *got = s_get (s, HS_KIND_SECRET, "db");
    size_t len = 0;
    const char *v = s_secret_value (got, "password", &len);
    CHECK (v && len == strlen (VALUE) && memcmp (v, VALUE, len) == 0);
    CHECK (got && got->secret->n_string_data == 0);
    hs_pb_free (got);
    _cleanup_free_ char *mdb = hs_sprintf ("%s/data.mdb", dir);
    CHECK (!s_file_has (mdb, VALUE) && !s_file_has (mdb, VALUE_B64));
    CHECK (s_file_has (mdb, "hsenc:v1:key-"));

    /* a reader beside the store holds no key: it is told to ask the store */
    hs_db_opts_t ro = {.readonly = true};
    hs_db_t *rd = NULL;
    CHECK_EQ_INT (hs_db_open (dir, &ro, &rd), 0);
    hs_kind_t secrets = HS_KIND_SECRET, pods = HS_KIND_POD;
    hs_db_snapshot_t snap;
    CHECK_EQ_INT (hs_db_snapshot (rd, &secrets, 1, NULL, &snap), -ENOKEY);
    CHECK_EQ_INT (hs_db_snapshot (rd, &pods, 1, NULL, &snap), 0);
    hs_db_snapshot_free (&snap);
    hs_db_close (&rd);

    /* over 1 MiB: refused, without a value in the message */
    Hs__Object *big = hs_obj_new (HS_KIND_SECRET, "", "big");
    Hs__Secret__DataEntry *d = hs_pb_new (&hs__secret__data_entry__descriptor);
    hs_pb_set_str (&d->key, "blob");
    d->value.len = (1 << 20) + 1;
    d->value.data = hs_pb_alloc (d->value.len);
    memset (d->value.data, 'z', d->value.len);
    hs_pb_push ((void ***)&big->secret->data, &big->secret->n_data, d);
    a = s_apply (s, HS__OP__OP_CREATE, big);
    CHECK_EQ_INT (a->code, HS__CODE__CODE_INVALID);
    CHECK_EQ_STR (a->message,
                  "Secret \"big\" is invalid: data: Too long: must have at most 1048576 bytes");
    /* immutable through the store */
    a = s_apply (s, HS__OP__OP_APPLY,
                 s_obj ("kind: ConfigMap\napiVersion: v1\nmetadata: {name: cm}\nimmutable: "
                        "true\ndata: {a: x}\n"));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_OK);
    a = s_apply (s, HS__OP__OP_APPLY,
                 s_obj ("kind: ConfigMap\napiVersion: v1\nmetadata: {name: cm}\nimmutable: "
                        "true\ndata: {a: y}\n"));
    CHECK_EQ_INT (a->code, HS__CODE__CODE_INVALID);
    CHECK_EQ_STR (a->message, "ConfigMap \"cm\" is invalid: data: Forbidden: field is immutable "
                              "when `immutable` is set");
    /* a Secret's delete works like any other */
    Hs__Object *gone = hs_obj_new (HS_KIND_SECRET, "", "db");
    a = s_apply (s, HS__OP__OP_DELETE, gone);
    CHECK_EQ_INT (a->code, HS__CODE__CODE_OK);
    CHECK_EQ_INT (g_out.n_events, 1); /* DELETED, with the last state */
    store_destroy (&s);
    free (error);
}

/* A store killed with its window open: the Secret is only in the log. */
static void s_crash_with_secret (const char *dir, const char *yaml)
{
    fflush (NULL);
    pid_t pid = fork ();
    if (pid == 0) {
        setenv ("HS_STORE_TEST_NO_CHECKPOINT", "1", 1);
        char *error = NULL;
        int r;
        store_t *s = s_open_store (dir, NULL, &error, &r);
        if (!s) _exit (2);
        const Hs__Ack *a = s_apply (s, HS__OP__OP_APPLY, s_obj (yaml));
        _exit (a->code == HS__CODE__CODE_OK ? 0 : 3); /* no close: the log keeps it */
    }
    int status = 0;
    CHECK_EQ_INT (waitpid (pid, &status, 0), pid);
    CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
}

static void test_store_missing_and_wrong_key (void)
{
    _cleanup_free_ char *dir = s_path ("missing");
    _cleanup_free_ char *key = hs_sprintf ("%s/encryption.key", dir);
    _cleanup_free_ char *saved = hs_sprintf ("%s/saved.key", hs_test_tmpdir ());
    s_crash_with_secret (dir, SECRET_YAML);
    _cleanup_free_ char *wal = hs_sprintf ("%s/wal", dir);
    CHECK (s_file_has (wal, "hsenc:v1:"));
    CHECK_EQ_INT (rename (key, saved), 0);

    /* missing: refused, one line naming the file; the log is kept */
    char *error = NULL;
    int r;
    store_t *s = s_open_store (dir, NULL, &error, &r);
    CHECK (s == NULL);
    CHECK_EQ_INT (r, -ENOKEY);
    CHECK_CONTAINS (error, "the store holds 1 encrypted Secret, but the key file");
    CHECK_CONTAINS (error, key);
    CHECK (error && !strchr (error, '\n'));
    free (error);
    error = NULL;
    CHECK (s_file_has (wal, "hsenc:v1:"));
    CHECK (access (key, F_OK) != 0); /* not made up anew */

    /* a key of another name */
    s_write_file (key, "other " KEY_A "\n");
    s = s_open_store (dir, NULL, &error, &r);
    CHECK_EQ_INT (r, -ENOKEY);
    CHECK_CONTAINS (error, "cannot decrypt secret/default/db: it is encrypted with key \"key-");
    CHECK_CONTAINS (error, key);
    free (error);
    error = NULL;

    /* the right name, the wrong key */
    size_t klen = 0;
    _cleanup_free_ uint8_t *ktext = s_read_file (saved, &klen);
    const char *line = ktext ? strstr ((char *)ktext, "\nkey-") : NULL;
    CHECK (line != NULL);
    if (line) {
        _cleanup_free_ char *name = hs_strndup (line + 1, strcspn (line + 1, " "));
        _cleanup_free_ char *wrong = hs_sprintf ("%s " KEY_B "\n", name);
        s_write_file (key, wrong);
        s = s_open_store (dir, NULL, &error, &r);
        CHECK_EQ_INT (r, -EBADMSG);
        CHECK_CONTAINS (error, "not the key it was encrypted with");
        free (error);
        error = NULL;
    }

    /* a malformed key file: refused naming the line */
    s_write_file (key, "garbage\n");
    s = s_open_store (dir, NULL, &error, &r);
    CHECK_EQ_INT (r, -EINVAL);
    CHECK_CONTAINS (error, ":1: expected NAME BASE64");
    free (error);
    error = NULL;

    /* the key back: the logged Secret is there */
    CHECK_EQ_INT (rename (saved, key), 0);
    s = s_open_store (dir, NULL, &error, &r);
    CHECK_EQ_INT (r, 0);
    if (s) {
        Hs__Object *got = s_get (s, HS_KIND_SECRET, "db");
        size_t len = 0;
        const char *v = s_secret_value (got, "password", &len);
        CHECK (v && len == strlen (VALUE) && memcmp (v, VALUE, len) == 0);
        hs_pb_free (got);
        store_destroy (&s);
    }
    free (error);
}

static void test_store_rotation (void)
{
    _cleanup_free_ char *dir = s_path ("rotate");
    _cleanup_free_ char *key = hs_sprintf ("%s/other.key", hs_test_tmpdir ());
    s_write_file (key, "old " KEY_A "\n");
    char *error = NULL;
    int r;
    store_t *s = s_open_store (dir, key, &error, &r);
    CHECK_EQ_INT (r, 0);
    if (!s) return;
    CHECK_EQ_STR (store_key_file (s), key);
    CHECK_EQ_INT (s_apply (s, HS__OP__OP_APPLY, s_obj (SECRET_YAML))->code, HS__CODE__CODE_OK);
    store_destroy (&s);
    _cleanup_free_ char *def = hs_sprintf ("%s/encryption.key", dir);
    CHECK (access (def, F_OK) != 0); /* --encryption-key named another file */
    _cleanup_free_ char *mdb = hs_sprintf ("%s/data.mdb", dir);
    CHECK (s_file_has (mdb, "hsenc:v1:old:"));

    /* a new first key: the open seals every Secret anew with it */
    s_write_file (key, "new " KEY_B "\nold " KEY_A "\n");
    s = s_open_store (dir, key, &error, &r);
    CHECK_EQ_INT (r, 0);
    if (!s) return;
    CHECK_EQ_INT (store_secrets_rewritten (s), 1);
    CHECK_EQ_STR (store_key_primary (s), "new");
    store_destroy (&s);
    s = s_open_store (dir, key, &error, &r);
    CHECK_EQ_INT (store_secrets_rewritten (s), 0); /* nothing left to do */
    store_destroy (&s);

    /* the old key removed: still readable */
    s_write_file (key, "new " KEY_B "\n");
    s = s_open_store (dir, key, &error, &r);
    CHECK_EQ_INT (r, 0);
    if (!s) return;
    Hs__Object *got = s_get (s, HS_KIND_SECRET, "db");
    size_t len = 0;
    const char *v = s_secret_value (got, "password", &len);
    CHECK (v && len == strlen (VALUE) && memcmp (v, VALUE, len) == 0);
    hs_pb_free (got);
    store_destroy (&s);
    free (error);
}

/* A snapshot restore writes objects as they come: a Secret in clear. The
 * next open seals it. */
static void test_store_restored_clear (void)
{
    _cleanup_free_ char *dir = s_path ("restored");
    hs_db_snapshot_t snap = {0};
    Hs__Object *o = s_obj (SECRET_YAML);
    hs_obj_defaults (o, 1);
    hs_obj_normalize (o);
    hs_pb_push ((void ***)&snap.objects, &snap.n_objects, o);
    CHECK_EQ_INT (hs_db_restore (dir, &snap), 0);
    hs_db_snapshot_free (&snap);
    char *error = NULL;
    int r;
    store_t *s = s_open_store (dir, NULL, &error, &r);
    CHECK_EQ_INT (r, 0);
    if (!s) return;
    CHECK_EQ_INT (store_secrets_rewritten (s), 1);
    /* not even in LMDB's free pages: the store compacted the file */
    _cleanup_free_ char *mdb = hs_sprintf ("%s/data.mdb", dir);
    CHECK (!s_file_has (mdb, VALUE));
    CHECK (s_file_has (mdb, "hsenc:v1:"));
    Hs__Object *got = s_get (s, HS_KIND_SECRET, "db");
    size_t len = 0;
    const char *v = s_secret_value (got, "password", &len);
    CHECK (v && len == strlen (VALUE) && memcmp (v, VALUE, len) == 0);
    hs_pb_free (got);
    /* and it works on: a write, a checkpoint, a reopen */
    CHECK_EQ_INT (s_apply (s, HS__OP__OP_APPLY,
                           s_obj ("kind: ConfigMap\napiVersion: v1\nmetadata: {name: after}\n"))
                      ->code,
                  HS__CODE__CODE_OK);
    store_destroy (&s);
    s = s_open_store (dir, NULL, &error, &r);
    CHECK_EQ_INT (r, 0);
    CHECK_EQ_INT (store_secrets_rewritten (s), 0);
    got = s_get (s, HS_KIND_CONFIGMAP, "after");
    CHECK (got != NULL);
    hs_pb_free (got);
    store_destroy (&s);
    CHECK (!s_file_has (mdb, VALUE));
    free (error);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"keyring_create_load", test_keyring_create_load},
        {"keyring_bad_files", test_keyring_bad_files},
        {"seal_open", test_seal_open},
        {"validation", test_validation},
        {"validate_update", test_validate_update},
        {"store_at_rest", test_store_at_rest},
        {"store_missing_and_wrong_key", test_store_missing_and_wrong_key},
        {"store_rotation", test_store_rotation},
        {"store_restored_clear", test_store_restored_clear},
    };
    int rc = HS_TEST_RUN (tests);
    store_out_clear (&g_out);
    return rc;
}
