/*  bench_secrets.c: what encrypting Secrets at rest costs hs-store
 *  (services/store/store_secret.h): N Secrets against N ConfigMaps of the
 *  same size, applied through the store's core (store_open, store_apply,
 *  store_checkpoint) on a temporary LMDB, no sockets, so the table shows the
 *  apply path alone; once with --no-sync (CPU of the apply, where sealing
 *  shows) and once with fsync (hs-store's default: the write-ahead log's
 *  fdatasync per batch). One single-write command per batch, as one client
 *  applying one manifest after another. Then a reopen (the store opens and
 *  checks every sealed Secret at start) and the seal/open primitives alone.
 *  Prints tables; no pass/fail.
 */
#include "benchlib.h"
#include "hs_client.h"
#include "hs_obj.h"
#include "hs_pb.h"
#include "hs_util.h"
#include "store.h"
#include "store_secret.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/resource.h>
#include <unistd.h>

static char *g_root; /* one temp dir (bl_tmpdir); each run a subdirectory, removed after it */

static int s_rm_cb (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove (path);
    return 0;
}

static double s_cpu (void)
{
    struct rusage ru;
    getrusage (RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* One object of kind with one data value of size bytes (random, so LMDB
 * pages do not compress it away in any sense that matters). */
static Hs__Object *s_obj (hs_kind_t kind, int i, size_t size, const uint8_t *value)
{
    char name[32];
    snprintf (name, sizeof name, "o%d", i);
    Hs__Object *o = hs_obj_new (kind, "default", name);
    if (kind == HS_KIND_SECRET) {
        Hs__Secret__DataEntry *d = hs_pb_new (&hs__secret__data_entry__descriptor);
        hs_pb_set_str (&d->key, "value");
        d->value.len = size;
        d->value.data = hs_pb_alloc (size);
        memcpy (d->value.data, value, size);
        hs_pb_push ((void ***)&o->secret->data, &o->secret->n_data, d);
    } else {
        Hs__ConfigMap__BinaryDataEntry *d =
            hs_pb_new (&hs__config_map__binary_data_entry__descriptor);
        hs_pb_set_str (&d->key, "value");
        d->value.len = size;
        d->value.data = hs_pb_alloc (size);
        memcpy (d->value.data, value, size);
        hs_pb_push ((void ***)&o->config_map->binary_data, &o->config_map->n_binary_data, d);
    }
    return o;
}

static store_t *s_open (const char *dir, bool nosync, double *ret_secs)
{
    store_opts_t opts = {.nosync = nosync};
    store_t *s = NULL;
    int64_t t0 = hs_mono_ns ();
    int r = store_open (dir, &opts, &s);
    if (r < 0) bl_die ("cannot open a store in %s: %s", dir, strerror (-r));
    if (ret_secs) *ret_secs = (double)(hs_mono_ns () - t0) / 1e9;
    return s;
}

typedef struct {
    double wall, cpu, reopen;
} s_res_t;

static s_res_t s_run (hs_kind_t kind, int n, size_t size, bool nosync)
{
    static int req, run;
    char *dir = hs_sprintf ("%s/run-%d", g_root, ++run);
    store_t *s = s_open (dir, nosync, NULL);
    uint8_t *value = hs_malloc (size);
    uint64_t x = (uint64_t)hs_mono_ns () | 1;
    for (size_t i = 0; i < size; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift: bytes that do not repeat */
        value[i] = (uint8_t)x;
    }
    store_out_t out = {0};
    s_res_t res = {0};
    double cpu0 = s_cpu ();
    int64_t t0 = hs_mono_ns ();
    for (int i = 0; i < n; i++) {
        Hs__Command *c = hs_pb_new (&hs__command__descriptor);
        hs_pb_set_str (&c->client_id, "bench");
        hs_pb_take_str (&c->request_id, hs_sprintf ("r%d", ++req));
        hs_pb_push ((void ***)&c->writes, &c->n_writes,
                    hs_write_new (HS__OP__OP_APPLY, s_obj (kind, i, size, value)));
        if (store_apply (s, &c, 1, &out) < 0) bl_die ("store_apply failed");
        if (out.n_acks != 1 || out.acks[0].ack->code != HS__CODE__CODE_OK)
            bl_die ("an apply was refused: %s", out.n_acks ? out.acks[0].ack->message : "");
        hs_pb_free (c);
        if (store_checkpoint_due (s, hs_mono_ns (), false)) store_checkpoint (s);
    }
    store_checkpoint (s);
    res.wall = (double)(hs_mono_ns () - t0) / 1e9;
    res.cpu = s_cpu () - cpu0;
    store_out_clear (&out);
    store_destroy (&s);
    s = s_open (dir, nosync, &res.reopen);
    store_destroy (&s);
    free (value);
    nftw (dir, s_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free (dir);
    return res;
}

static int s_dbl_cmp (const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of each figure over rounds (the machine is shared: one run
 * is noise). ConfigMap and Secret runs alternate. */
static void s_pair (int n, size_t size, bool nosync, int rounds, s_res_t *ret_cm, s_res_t *ret_sec)
{
    double w[2][16], cpu[2][16], ro[2][16];
    for (int r = 0; r < rounds; r++)
        for (int k = 0; k < 2; k++) {
            s_res_t x = s_run (k ? HS_KIND_SECRET : HS_KIND_CONFIGMAP, n, size, nosync);
            w[k][r] = x.wall, cpu[k][r] = x.cpu, ro[k][r] = x.reopen;
        }
    s_res_t *out[2] = {ret_cm, ret_sec};
    for (int k = 0; k < 2; k++) {
        qsort (w[k], (size_t)rounds, sizeof (double), s_dbl_cmp);
        qsort (cpu[k], (size_t)rounds, sizeof (double), s_dbl_cmp);
        qsort (ro[k], (size_t)rounds, sizeof (double), s_dbl_cmp);
        *out[k] = (s_res_t){w[k][rounds / 2], cpu[k][rounds / 2], ro[k][rounds / 2]};
    }
}

/* ------------------------------------------------------------------ end to end */

/* The same through hs-bus and hs-store (its default fsync), as a user's
 * client sees it: one hs_client, one apply in flight (hsctl apply of one
 * manifest after another). ConfigMaps and Secrets alternate in blocks of
 * n / rounds, on one store; hs-store's CPU (/proc) over each kind's blocks. */
static void s_e2e (int n, const size_t *sizes, int n_sizes, int rounds, const char *bin_dir)
{
    char *bus = bl_find_bin ("hs-bus", bin_dir), *store = bl_find_bin ("hs-store", bin_dir);
    if (!bus || !store) {
        printf ("\n(end to end skipped: no hs-bus or hs-store; --bin DIR)\n");
        return;
    }
    bl_plane_t p;
    char *dir = hs_sprintf ("%s/e2e", g_root);
    if (hs_mkdir_p (dir, 0700) < 0) bl_die ("cannot make %s", dir);
    bl_plane_start (&p, dir, bus, store, false);
    hs_client_t *cl = NULL;
    int r = hs_client_new (p.bus, "bench-secrets", NULL, 10000, &cl);
    if (r < 0) bl_die ("cannot join hs-bus: %s", strerror (-r));
    printf ("\nend to end: hs-bus + hs-store (fsync), one client, one apply in flight; blocks of "
            "%d alternating\n",
            n / rounds);
    printf ("  %-10s %8s %10s %12s %16s\n", "KIND", "BYTES", "APPLIES/S", "WALL µs/op",
            "STORE CPU µs/op");
    int seq = 0;
    for (int i = 0; i < n_sizes; i++) {
        uint8_t *value = hs_malloc (sizes[i] ? sizes[i] : 1);
        for (size_t j = 0; j < sizes[i]; j++) value[j] = (uint8_t)(j * 131 + 7);
        double wall[2] = {0, 0}, cpu[2] = {0, 0};
        int done[2] = {0, 0};
        for (int round = 0; round < rounds; round++)
            for (int k = 0; k < 2; k++) {
                hs_kind_t kind = k ? HS_KIND_SECRET : HS_KIND_CONFIGMAP;
                double c0 = bl_cpu_s (p.store_pid);
                int64_t t0 = hs_mono_ns ();
                for (int j = 0; j < n / rounds; j++) {
                    Hs__Write *w =
                        hs_write_new (HS__OP__OP_APPLY, s_obj (kind, ++seq, sizes[i], value));
                    Hs__Ack *ack = NULL;
                    r = hs_client_call (cl, &w, 1, NULL, &ack);
                    if (r < 0 || ack->code != HS__CODE__CODE_OK) {
                        bl_tail_log (p.store_log, 20);
                        bl_die ("an apply failed: %s", r < 0 ? strerror (-r) : ack->message);
                    }
                    hs_pb_free (ack);
                    hs_pb_free (w);
                    done[k]++;
                }
                wall[k] += (double)(hs_mono_ns () - t0) / 1e9;
                cpu[k] += bl_cpu_s (p.store_pid) - c0;
            }
        for (int k = 0; k < 2; k++)
            printf ("  %-10s %8zu %10.0f %12.1f %16.1f\n", k ? "Secret" : "ConfigMap", sizes[i],
                    done[k] / wall[k], wall[k] * 1e6 / done[k], cpu[k] * 1e6 / done[k]);
        free (value);
    }
    hs_client_destroy (&cl);
    bl_stop (p.store_pid);
    bl_stop (p.bus_pid);
    bl_plane_free (&p);
    free (dir);
    free (bus);
    free (store);
}

static void s_primitives (const size_t *sizes, int n_sizes)
{
    char *dir = hs_sprintf ("%s/keys", g_root);
    if (hs_mkdir_p (dir, 0700) < 0) bl_die ("cannot make %s", dir);
    char *path = hs_sprintf ("%s/k", dir);
    store_keyring_t *k = NULL;
    char *error = NULL;
    if (store_keyring_create (path, &k, &error) < 0) bl_die ("%s", error);
    printf ("\nseal and open alone (crypto_secretbox, one key; µs per call, 2,000 calls)\n");
    printf ("  %10s %10s %10s\n", "BYTES", "SEAL µs", "OPEN µs");
    for (int i = 0; i < n_sizes; i++) {
        size_t size = sizes[i], slen = store_secret_sealed_size (k, size);
        uint8_t *plain = hs_calloc (1, size ? size : 1), *sealed = hs_malloc (slen);
        const int calls = 2000;
        int64_t t0 = hs_mono_ns ();
        for (int j = 0; j < calls; j++) store_secret_seal (k, plain, size, sealed);
        int64_t t1 = hs_mono_ns ();
        for (int j = 0; j < calls; j++) {
            uint8_t *p = NULL;
            size_t pl = 0;
            if (store_secret_open (k, sealed, slen, &p, &pl) < 0) bl_die ("open failed");
            store_secret_free_plain (p, pl);
        }
        int64_t t2 = hs_mono_ns ();
        printf ("  %10zu %10.2f %10.2f\n", size, (double)(t1 - t0) / calls / 1e3,
                (double)(t2 - t1) / calls / 1e3);
        free (plain);
        free (sealed);
    }
    store_keyring_destroy (&k);
    free (path);
    free (dir);
}

int main (int argc, char **argv)
{
    bl_init ("bench-secrets");
    int n = 1000, rounds = 3;
    bool e2e = true;
    const char *bin_dir = NULL;
    size_t sizes[8] = {256, 4096, 65536};
    int n_sizes = 3;
    static const struct option opts[] = {{"count", required_argument, 0, 'n'},
                                         {"sizes", required_argument, 0, 's'},
                                         {"rounds", required_argument, 0, 'r'},
                                         {"no-e2e", no_argument, 0, 'E'},
                                         {"bin", required_argument, 0, 'b'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': n = bl_parse_int ("--count", optarg, 1, 1000000); break;
        case 'r': rounds = bl_parse_int ("--rounds", optarg, 1, 15); break;
        case 'E': e2e = false; break;
        case 'b': bin_dir = optarg; break;
        case 's': {
            n_sizes = 0;
            char *copy = hs_strdup (optarg), *save = NULL;
            for (char *t = strtok_r (copy, ",", &save); t && n_sizes < 8;
                 t = strtok_r (NULL, ",", &save))
                sizes[n_sizes++] = (size_t)bl_parse_int ("--sizes", t, 0, 900 * 1024);
            free (copy);
            break;
        }
        default:
            printf ("usage: bench-secrets [--count N] [--sizes B,B,...] [--rounds R] [--no-e2e] "
                    "[--bin DIR]\n"
                    "  N Secrets vs N ConfigMaps (binaryData) of B bytes each, applied one\n"
                    "  command per batch through hs-store's core; defaults 1000 and "
                    "256,4096,65536;\n"
                    "  each figure the median of R alternating rounds (default 3); then the same\n"
                    "  end to end through hs-bus and hs-store (--no-e2e: not)\n");
            return c == 'h' ? 0 : 2;
        }
    }
    g_root = bl_tmpdir ("secrets");
    printf ("bench-secrets: %d applies per row, one single-write command per batch, store core "
            "only (no bus); medians of %d alternating rounds\n",
            n, rounds);
    static const struct {
        bool nosync;
        const char *title;
    } modes[] = {{true, "--no-sync (the apply's CPU: where sealing shows)"},
                 {false, "fsync (hs-store's default: one fdatasync of the log per batch)"}};
    for (size_t m = 0; m < HS_ARRAY_LEN (modes); m++) {
        printf ("\n%s\n", modes[m].title);
        printf ("  %-10s %8s %10s %12s %12s %12s %12s\n", "KIND", "BYTES", "APPLIES/S",
                "WALL µs/op", "CPU µs/op", "CPU Δ µs/op", "REOPEN ms");
        for (int i = 0; i < n_sizes; i++) {
            s_res_t cm, sec;
            s_pair (n, sizes[i], modes[m].nosync, rounds, &cm, &sec);
            printf ("  %-10s %8zu %10.0f %12.1f %12.1f %12s %12.1f\n", "ConfigMap", sizes[i],
                    n / cm.wall, cm.wall * 1e6 / n, cm.cpu * 1e6 / n, "", cm.reopen * 1e3);
            char delta[32];
            snprintf (delta, sizeof delta, "%+.1f", (sec.cpu - cm.cpu) * 1e6 / n);
            printf ("  %-10s %8zu %10.0f %12.1f %12.1f %12s %12.1f\n", "Secret", sizes[i],
                    n / sec.wall, sec.wall * 1e6 / n, sec.cpu * 1e6 / n, delta, sec.reopen * 1e3);
        }
    }
    if (e2e) s_e2e (n, sizes, n_sizes, rounds, bin_dir);
    s_primitives (sizes, n_sizes);
    return 0;
}
