/*  test_proxy_nft.c: the renderer's text against the real nft parser and
 *  kernel, and the proxier's syncs (agents/proxy/proxy.c), inside a network
 *  namespace of this process's own (root; label system; exit 77 = skipped
 *  without the rights).
 *
 *  - every rendered table passes `nft -c` (libnftables dry run) and applies;
 *  - a full sync, then incremental syncs: an endpoint added and removed, a
 *    Service gone; stale chains flushed at once and deleted a sync later;
 *  - a refused transaction is reported, and the next sync (full) repairs;
 *  - a table changed behind the proxier's back is re-created by a full sync;
 *  - --cleanup's delete, twice.
 */
#include "hs_manifest.h"
#include "hs_test.h"
#include "hs_util.h"
#include "proxy.h"
#include "proxy_nft.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#define SEC (1000LL * 1000 * 1000)

static hs_manifest_t s_docs;
static proxy_nft_t *s_nft;

static const Hs__Object *s_load (const char *yaml)
{
    char *err = NULL;
    int r = hs_manifest_parse (yaml, strlen (yaml), "test", &s_docs, &err);
    if (r < 0) fprintf (stderr, "  manifest: %s\n", err);
    free (err);
    CHECK_EQ_INT (r, 0);
    return r == 0 ? s_docs.docs[s_docs.n - 1].object : NULL;
}

static proxy_conf_t s_conf (void)
{
    proxy_conf_t c = {.masquerade_egress = true};
    hs_cidr_parse ("10.244.0.0/16", &c.cluster);
    hs_cidr_parse ("10.96.0.0/16", &c.service);
    return c;
}

/* The model of Service NAME (TCP 80 and UDP 53) with ready endpoints IPS
 * ("10.244.1.2, 10.244.1.3"; "" for none). */
static proxy_svc_t *s_model (const char *name, const char *ip, const char *ips, bool affinity)
{
    _cleanup_free_ char *sy =
        hs_sprintf ("apiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: default}\n"
                    "spec:\n  clusterIP: %s\n  ports: [{name: http, port: 80}, {name: dns, port: "
                    "53, protocol: UDP}]\n%s",
                    name, ip, affinity ? "  sessionAffinity: ClientIP\n" : "");
    const Hs__Object *so = s_load (sy);
    const Hs__Object *eo = NULL;
    if (*ips) {
        hs_buf_t a = {0};
        char *list = hs_strdup (ips);
        for (char *save = NULL, *t = strtok_r (list, ", ", &save); t;
             t = strtok_r (NULL, ", ", &save))
            hs_buf_printf (&a, "%s{ip: %s}", a.len ? ", " : "", t);
        free (list);
        _cleanup_free_ char *ey = hs_sprintf (
            "apiVersion: v1\nkind: Endpoints\nmetadata: {name: %s, namespace: default}\n"
            "subsets:\n- addresses: [%s]\n  ports: [{name: http, port: 8080}, {name: dns, port: "
            "5353, protocol: UDP}]\n",
            name, a.data);
        hs_buf_free (&a);
        eo = s_load (ey);
    }
    proxy_svc_t *s = NULL;
    const char *why = NULL;
    CHECK_EQ_INT (proxy_svc_build (so ? so->service : NULL, eo ? eo->endpoints : NULL, &s, &why),
                  0);
    return s;
}

static const char *s_list (const char *what)
{
    const char *out = NULL, *err = NULL;
    _cleanup_free_ char *cmd = hs_sprintf ("list %s", what);
    if (proxy_nft_list (s_nft, cmd, &out, &err) < 0) return err;
    return out;
}

static bool s_chain_exists (const char *name)
{
    const char *out = NULL;
    _cleanup_free_ char *cmd = hs_sprintf ("list chain ip homeostat %s", name);
    return proxy_nft_list (s_nft, cmd, &out, NULL) == 0;
}

static void test_render_parses (void)
{
    proxy_conf_t conf = s_conf ();
    proxy_svc_t *svcs[3] = {s_model ("web", "10.96.0.10", "10.244.1.2, 10.244.1.3", false),
                            s_model ("empty", "10.96.0.11", "", false),
                            s_model ("sticky", "10.96.0.12", "10.244.1.4", true)};
    char *text = proxy_render_full (&conf, svcs, 3);
    const char *err = NULL;
    /* the parser and evaluator alone first (nft -c): nothing changes */
    CHECK_EQ_INT (proxy_nft_check (s_nft, text, &err), 0);
    if (err) fprintf (stderr, "  nft -c: %s\n", err);
    CHECK (!proxy_nft_table_exists (s_nft));
    err = NULL;
    CHECK_EQ_INT (proxy_nft_run (s_nft, text, &err), 0);
    if (err) fprintf (stderr, "  nft: %s\n", err);
    CHECK (proxy_nft_table_exists (s_nft));
    /* and a broken text is refused with nft's words */
    CHECK (proxy_nft_check (s_nft, "add rule ip homeostat nosuchchain accept\n", &err) < 0);
    CHECK_CONTAINS (err, "nosuchchain");
    CHECK_CONTAINS (s_list ("map ip homeostat service-ips"),
                    "10.96.0.10 . tcp . 80 : goto service-default/web/tcp/80");
    CHECK_CONTAINS (s_list ("map ip homeostat no-endpoint-services"),
                    "10.96.0.11 . udp . 53 : goto reject-chain");
    CHECK (s_chain_exists ("endpoint-default/sticky/udp/53__10.244.1.4/5353"));
    free (text);
    /* again: the full transaction replaces, it does not add */
    text = proxy_render_full (&conf, svcs, 1);
    CHECK_EQ_INT (proxy_nft_run (s_nft, text, &err), 0);
    CHECK (!s_chain_exists ("service-default/sticky/tcp/80"));
    free (text);
    for (int i = 0; i < 3; i++) proxy_svc_destroy (&svcs[i]);
    CHECK_EQ_INT (proxy_nft_cleanup (s_nft, &err), 0);
    CHECK (!proxy_nft_table_exists (s_nft));
    CHECK_EQ_INT (proxy_nft_cleanup (s_nft, &err), 0);
}

static void test_proxier_syncs (void)
{
    proxy_opts_t o = {.render = s_conf (), .min_sync_ns = 0, .sync_ns = 30 * SEC};
    proxy_t *p = proxy_new (&o);
    int64_t now = hs_mono_ns ();
    proxy_set (p, "default/web", s_model ("web", "10.96.0.10", "10.244.1.2, 10.244.1.3", true));
    proxy_set (p, "default/db", s_model ("db", "10.96.0.20", "10.244.2.2", false));
    /* the first sync is full, whatever is asked */
    CHECK_EQ_INT (proxy_sync (p, false, now), 0);
    CHECK_EQ_INT (proxy_stats (p)->syncs_full, 1);
    CHECK_EQ_INT (proxy_count (p), 2);
    CHECK (s_chain_exists ("endpoint-default/web/tcp/80__10.244.1.2/8080"));

    /* an endpoint leaves: incremental; its chain flushed, not yet deleted */
    proxy_set (p, "default/web", s_model ("web", "10.96.0.10", "10.244.1.3", true));
    CHECK_EQ_INT (proxy_sync (p, false, now), 0);
    CHECK_EQ_INT (proxy_stats (p)->syncs_partial, 1);
    const char *svc = s_list ("chain ip homeostat service-default/web/tcp/80");
    CHECK (strstr (svc, "10.244.1.2") == NULL);
    CHECK_CONTAINS (svc, "goto endpoint-default/web/tcp/80__10.244.1.3/8080");
    CHECK (s_chain_exists ("endpoint-default/web/tcp/80__10.244.1.2/8080"));
    CHECK (strstr (s_list ("chain ip homeostat endpoint-default/web/tcp/80__10.244.1.2/8080"),
                   "dnat") == NULL);
    /* a later sync, PROXY_STALE_NS on, deletes it (and its affinity set) */
    int64_t later = now + PROXY_STALE_NS + 1;
    CHECK (proxy_work (p, now) >= now + PROXY_STALE_NS);
    CHECK_EQ_INT (proxy_sync (p, false, later), 0);
    CHECK (!s_chain_exists ("endpoint-default/web/tcp/80__10.244.1.2/8080"));
    CHECK (strstr (s_list ("sets ip"), "affinity-default/web/tcp/80__10.244.1.2/8080") == NULL);
    CHECK_CONTAINS (s_list ("sets ip"), "affinity-default/web/tcp/80__10.244.1.3/8080");

    /* it comes back before its deletion would run: kept */
    proxy_set (p, "default/web", s_model ("web", "10.96.0.10", "10.244.1.3, 10.244.1.9", true));
    CHECK_EQ_INT (proxy_sync (p, false, later), 0);
    proxy_set (p, "default/web", s_model ("web", "10.96.0.10", "10.244.1.3", true));
    CHECK_EQ_INT (proxy_sync (p, false, later), 0);
    proxy_set (p, "default/web", s_model ("web", "10.96.0.10", "10.244.1.3, 10.244.1.9", true));
    CHECK_EQ_INT (proxy_sync (p, false, later + 2 * PROXY_STALE_NS), 0);
    CHECK_CONTAINS (s_list ("chain ip homeostat endpoint-default/web/tcp/80__10.244.1.9/8080"),
                    "dnat to 10.244.1.9:8080");

    /* a Service goes; another takes its clusterIP in the same sync */
    proxy_set (p, "default/db", NULL);
    proxy_set (p, "default/db2", s_model ("db2", "10.96.0.20", "10.244.2.3", false));
    CHECK_EQ_INT (proxy_sync (p, false, later + 2 * PROXY_STALE_NS), 0);
    CHECK_CONTAINS (s_list ("map ip homeostat service-ips"),
                    "10.96.0.20 . tcp . 80 : goto service-default/db2/tcp/80");
    CHECK (strstr (s_list ("map ip homeostat service-ips"), "default/db/") == NULL);
    /* two Services claiming one address: the later is left out, no error */
    proxy_set (p, "default/dup", s_model ("dup", "10.96.0.20", "10.244.2.4", false));
    CHECK_EQ_INT (proxy_sync (p, false, later + 2 * PROXY_STALE_NS), 0);
    CHECK_EQ_INT (proxy_stats (p)->skipped, 1);
    CHECK (!s_chain_exists ("service-default/dup/tcp/80"));
    CHECK_EQ_INT (proxy_stats (p)->sync_errors, 0);

    /* changed behind our back: an incremental sync fails, the full repairs */
    const char *err = NULL;
    CHECK_EQ_INT (
        proxy_nft_run (s_nft,
                       "delete element ip homeostat service-ips { 10.96.0.20 . tcp . 80 }\n"
                       "delete chain ip homeostat service-default/db2/tcp/80\n",
                       &err),
        0);
    proxy_set (p, "default/db2", s_model ("db2", "10.96.0.20", "10.244.2.5", false));
    CHECK (proxy_sync (p, false, later + 3 * PROXY_STALE_NS) < 0);
    CHECK_EQ_INT (proxy_stats (p)->sync_errors, 1);
    /* the retry is full and waits its backoff */
    CHECK (proxy_work (p, later + 3 * PROXY_STALE_NS) > later + 3 * PROXY_STALE_NS);
    CHECK_EQ_INT (proxy_sync (p, false, later + 5 * PROXY_STALE_NS), 0);
    CHECK_EQ_INT (proxy_stats (p)->syncs_full, 2);
    CHECK_CONTAINS (s_list ("chain ip homeostat service-default/db2/tcp/80"),
                    "dnat to 10.244.2.5:8080");

    /* hairpin addresses are counted across Services: 10.244.2.5 is db2's;
     * give it to dup2 too, take it from db2: it stays; from dup2: gone */
    const char *hp = "10.244.2.5 . 10.244.2.5";
    CHECK_CONTAINS (s_list ("set ip homeostat hairpin-endpoints"), hp);
    int64_t t = later + 6 * PROXY_STALE_NS;
    proxy_set (p, "default/dup2", s_model ("dup2", "10.96.0.21", "10.244.2.5", false));
    CHECK_EQ_INT (proxy_sync (p, false, t), 0);
    proxy_set (p, "default/db2", s_model ("db2", "10.96.0.20", "10.244.2.6", false));
    CHECK_EQ_INT (proxy_sync (p, false, t), 0);
    CHECK_CONTAINS (s_list ("set ip homeostat hairpin-endpoints"), hp);
    proxy_set (p, "default/dup2", NULL);
    CHECK_EQ_INT (proxy_sync (p, false, t), 0);
    CHECK (strstr (s_list ("set ip homeostat hairpin-endpoints"), hp) == NULL);
    CHECK_CONTAINS (s_list ("set ip homeostat hairpin-endpoints"), "10.244.2.6 . 10.244.2.6");
    CHECK_EQ_INT (proxy_stats (p)->sync_errors, 1);

    /* the periodic full sync is due sync_ns after the last; with nothing
     * changed in the netns since our last transaction it is skipped */
    int64_t periodic = later + 5 * PROXY_STALE_NS + 30 * SEC; /* the last full + 30 s */
    CHECK (proxy_work (p, t) <= periodic);
    proxy_work (p, t + 2 * PROXY_STALE_NS); /* the stale chains go */
    uint64_t fulls = proxy_stats (p)->syncs_full;
    CHECK (proxy_work (p, periodic) > periodic);
    CHECK_EQ_INT (proxy_stats (p)->syncs_full, fulls);
    CHECK_EQ_INT (proxy_stats (p)->resyncs_skipped, 1);
    /* anyone's change, even in another table, and the next one is full */
    CHECK_EQ_INT (proxy_nft_run (s_nft, "add table ip someone-else\n", &err), 0);
    proxy_work (p, periodic + 30 * SEC);
    CHECK_EQ_INT (proxy_stats (p)->syncs_full, fulls + 1);
    CHECK_EQ_INT (proxy_stats (p)->resyncs_skipped, 1);
    CHECK_EQ_INT (proxy_nft_run (s_nft, "delete table ip someone-else\n", &err), 0);
    proxy_destroy (&p);
    CHECK_EQ_INT (proxy_nft_cleanup (s_nft, &err), 0);
    hs_manifest_free (&s_docs);
    memset (&s_docs, 0, sizeof s_docs);
}

int main (int argc, char **argv)
{
    if (unshare (CLONE_NEWNET) != 0) {
        fprintf (stderr, "SKIP: cannot make a network namespace (%s): needs root\n",
                 strerror (errno));
        return 77;
    }
    if (proxy_nft_new (&s_nft) < 0) {
        fprintf (stderr, "libnftables cannot make a context\n");
        return 1;
    }
    static const hs_test_t tests[] = {
        {"render_parses", test_render_parses},
        {"proxier_syncs", test_proxier_syncs},
    };
    int rc = HS_TEST_RUN (tests);
    proxy_nft_destroy (&s_nft);
    return rc;
}
