/*  bench_authz.c: what authorizing each write (services/store/store_authz.h)
 *  costs hs-store: the store's core (store_open, store_apply_as) on a
 *  temporary LMDB with --no-sync, no sockets, so the table shows the apply
 *  path alone.
 *
 *  Each row is one identity. Per row and round, a fresh store: N pods
 *  created in batches of 128 single-write commands (the store's group
 *  commit), then N status writes to them. The node rows' pods are created
 *  by an admin first (bound to n1, untimed); node:n1 then writes their
 *  status (admission on the stored pod), node:n2 is refused every time.
 *  "insecure" is the store without stamps (store_apply), the baseline.
 *  Rows run interleaved, ROUNDS times; the table gives each row's median
 *  CPU time per write (this process's, CLOCK_PROCESS_CPUTIME_ID, around
 *  store_apply_as only) and the difference from the baseline's median.
 */
#include "benchlib.h"
#include "hs_client.h"
#include "hs_obj.h"
#include "hs_pb.h"
#include "store.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 128

typedef struct {
    const char *label;
    const char *creator; /* identity of the creates; "-": insecure */
    const char *writer;  /* identity of the status writes */
    const char *node;    /* pods created bound to it, or NULL */
    bool timed_create;
} s_row_t;

static const s_row_t s_rows[] = {
    {"insecure (no stamp)", "-", "-", NULL, true},
    {"admin:bench", "admin:bench", "admin:bench", NULL, true},
    {"sa:replicas", "sa:replicas", "sa:replicas", NULL, true},
    {"node:n1, its own pods", "admin:bench", "node:n1", "n1", false},
    {"node:n2, refused", "admin:bench", "node:n2", "n1", false},
};

static double s_cpu_s (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static Hs__Object *s_pod (int i, const char *node, bool status_only)
{
    char name[32];
    snprintf (name, sizeof name, "p%d", i);
    Hs__Object *o = hs_obj_new (HS_KIND_POD, "default", name);
    if (status_only) {
        o->pod->status = hs_pb_new (&hs__pod_status__descriptor);
        hs_pb_set_str (&o->pod->status->phase, "Running");
        return o;
    }
    o->pod->spec = hs_pb_new (&hs__pod_spec__descriptor);
    Hs__Container *c = hs_pb_new (&hs__container__descriptor);
    hs_pb_set_str (&c->name, "main");
    hs_pb_set_str (&c->image, "busybox");
    hs_pb_push ((void ***)&c->command, &c->n_command, hs_strdup ("sleep"));
    hs_pb_push ((void ***)&o->pod->spec->containers, &o->pod->spec->n_containers, c);
    if (node) hs_pb_set_str (&o->pod->spec->node_name, node);
    return o;
}

/* n writes (create, or update_status) as identity ("-": none) in batches;
 * returns the CPU seconds spent in store_apply_as and counts the refusals. */
static double s_writes (store_t *s, const char *identity, int n, Hs__Op op, const char *node,
                        int *ret_refused)
{
    static int req;
    store_out_t out = {0};
    double cpu = 0;
    const char *ids[BATCH];
    for (int j = 0; j < BATCH; j++) ids[j] = identity;
    for (int at = 0; at < n; at += BATCH) {
        int k = n - at < BATCH ? n - at : BATCH;
        Hs__Command *cmds[BATCH];
        for (int j = 0; j < k; j++) {
            Hs__Command *c = hs_pb_new (&hs__command__descriptor);
            hs_pb_set_str (&c->client_id, "bench-0123");
            hs_pb_take_str (&c->request_id, hs_sprintf ("%016x", ++req));
            Hs__Write *w = hs_write_new (op, s_pod (at + j, node, op == HS__OP__OP_UPDATE_STATUS));
            hs_pb_push ((void ***)&c->writes, &c->n_writes, w);
            cmds[j] = c;
        }
        double t0 = s_cpu_s ();
        int r = strcmp (identity, "-") == 0 ? store_apply (s, cmds, (size_t)k, &out)
                                            : store_apply_as (s, cmds, ids, (size_t)k, &out);
        cpu += s_cpu_s () - t0;
        if (r < 0) bl_die ("store_apply failed");
        for (size_t j = 0; j < out.n_acks; j++)
            if (out.acks[j].ack->code != HS__CODE__CODE_OK) {
                if (out.acks[j].ack->code != HS__CODE__CODE_FORBIDDEN)
                    bl_die ("a write failed: %s", out.acks[j].ack->message);
                (*ret_refused)++;
            }
        for (int j = 0; j < k; j++) hs_pb_free (cmds[j]);
        if (store_checkpoint_due (s, hs_mono_ns (), false)) store_checkpoint (s);
    }
    store_checkpoint (s);
    store_out_clear (&out);
    return cpu;
}

static int s_cmp (const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double s_median (double *v, int n)
{
    qsort (v, (size_t)n, sizeof *v, s_cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main (int argc, char **argv)
{
    bl_init ("bench-authz");
    int n = 20000, rounds = 5;
    static const struct option opts[] = {{"writes", required_argument, 0, 'n'},
                                         {"rounds", required_argument, 0, 'r'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': n = bl_parse_int ("--writes", optarg, 128, 10000000); break;
        case 'r': rounds = bl_parse_int ("--rounds", optarg, 1, 100); break;
        default:
            printf ("usage: bench-authz [--writes N] [--rounds R]\n"
                    "  N pods created, then N status writes, per row and round (default "
                    "20000); R interleaved rounds (default 5)\n");
            return c == 'h' ? 0 : 2;
        }
    }
    enum { NROWS = sizeof s_rows / sizeof s_rows[0] };
    double *create = calloc ((size_t)NROWS * (size_t)rounds, sizeof *create);
    double *status = calloc ((size_t)NROWS * (size_t)rounds, sizeof *status);
    int refused[NROWS] = {0};
    char *base = bl_tmpdir ("authz");
    for (int round = 0; round < rounds; round++) {
        for (int r = 0; r < NROWS; r++) {
            const s_row_t *row = &s_rows[r];
            char *dir = hs_sprintf ("%s/r%d-%d", base, round, r);
            store_opts_t so = {.nosync = true};
            store_t *s = NULL;
            int rc = store_open (dir, &so, &s);
            if (rc < 0) bl_die ("cannot open a store in %s: %s", dir, strerror (-rc));
            int ref = 0;
            double cc = s_writes (s, row->creator, n, HS__OP__OP_CREATE, row->node, &ref);
            create[r * rounds + round] = row->timed_create ? cc / n : 0;
            ref = 0;
            status[r * rounds + round] =
                s_writes (s, row->writer, n, HS__OP__OP_UPDATE_STATUS, NULL, &ref) / n;
            refused[r] = ref;
            store_destroy (&s);
            free (dir);
        }
    }
    printf ("bench-authz: %d pod creates, then %d status writes, per row; %d rounds "
            "interleaved; medians\n",
            n, n, rounds);
    printf ("  %-24s %14s %10s %14s %10s %9s\n", "identity", "create us/cpu", "vs base",
            "status us/cpu", "vs base", "refused");
    double c0 = s_median (&create[0], rounds), s0 = s_median (&status[0], rounds);
    for (int r = 0; r < NROWS; r++) {
        double cm = s_median (&create[r * rounds], rounds);
        double sm = s_median (&status[r * rounds], rounds);
        char cbuf[16] = "-", dbuf[16] = "-";
        if (s_rows[r].timed_create) {
            snprintf (cbuf, sizeof cbuf, "%.2f", cm * 1e6);
            snprintf (dbuf, sizeof dbuf, "%+.1f%%", (cm - c0) / c0 * 100);
        }
        printf ("  %-24s %14s %10s %14.2f %+9.1f%% %9d\n", s_rows[r].label, cbuf, dbuf, sm * 1e6,
                (sm - s0) / s0 * 100, refused[r]);
    }
    free (create);
    free (status);
    free (base);
    return 0;
}
