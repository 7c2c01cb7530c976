/*  test_agent_svcenv.c: the Service environment variables (agent_svcenv.h),
 *  against kubelet's envvars.go rules. */
#include "agent_svcenv.h"
#include "hs_obj.h"
#include "hs_pb.h"
#include "hs_test.h"
#include "hs_util.h"

#include <stdlib.h>

static Hs__Object *s_svc (const char *ns, const char *name, const char *ip)
{
    Hs__Object *o = hs_obj_new (HS_KIND_SERVICE, ns, name);
    o->service->spec = hs_pb_new (&hs__service_spec__descriptor);
    hs_pb_set_str (&o->service->spec->cluster_ip, ip);
    return o;
}

static void s_port (Hs__Object *o, const char *name, int port, const char *proto)
{
    Hs__ServicePort *p = hs_pb_new (&hs__service_port__descriptor);
    hs_pb_set_str (&p->name, name);
    p->port = port;
    hs_pb_set_str (&p->protocol, proto);
    hs_pb_push ((void ***)&o->service->spec->ports, &o->service->spec->n_ports, p);
}

static char *s_join (char **env)
{
    hs_buf_t b = {0};
    for (size_t i = 0; env && env[i]; i++) hs_buf_printf (&b, "%s\n", env[i]);
    return hs_buf_take (&b);
}

static void test_name (void)
{
    char *n = agent_svcenv_name ("catalog-api");
    CHECK_EQ_STR (n, "CATALOG_API");
    free (n);
    n = agent_svcenv_name ("a.b-c");
    CHECK_EQ_STR (n, "A_B_C");
    free (n);
    n = agent_svcenv_name ("9lives");
    CHECK_EQ_STR (n, "_9LIVES");
    free (n);
    n = agent_svcenv_name ("");
    CHECK_EQ_STR (n, "");
    free (n);
}

static void test_enabled (void)
{
    CHECK (agent_svcenv_enabled (NULL));
    Hs__PodSpec *spec = hs_pb_new (&hs__pod_spec__descriptor);
    CHECK (agent_svcenv_enabled (spec)); /* absent: true */
    spec->enable_service_links = hs_pb_new (&hs__bool_value__descriptor);
    spec->enable_service_links->value = false;
    CHECK (!agent_svcenv_enabled (spec));
    spec->enable_service_links->value = true;
    CHECK (agent_svcenv_enabled (spec));
    hs_pb_free (spec);
}

static void test_build (void)
{
    Hs__Object *objs[6];
    objs[0] = s_svc ("default", "catalog", "10.96.0.10");
    s_port (objs[0], "http", 80, "");
    s_port (objs[0], "", 8443, "TCP");
    s_port (objs[0], "dns-udp", 53, "UDP");
    objs[1] = s_svc ("default", "headless", "None");
    s_port (objs[1], "", 80, "");
    objs[2] = s_svc ("default", "pending", ""); /* no clusterIP yet */
    s_port (objs[2], "", 80, "");
    objs[3] = s_svc ("other", "elsewhere", "10.96.0.11");
    s_port (objs[3], "", 80, "");
    objs[4] = s_svc ("", "noports", "10.96.0.12");          /* "" namespace: default */
    objs[5] = hs_obj_new (HS_KIND_POD, "default", "a-pod"); /* not a Service */
    char **env = agent_svcenv_build ("default", (const Hs__Object *const *)objs, 6);
    char *all = s_join (env);
    CHECK_EQ_STR (all, "CATALOG_SERVICE_HOST=10.96.0.10\n"
                       "CATALOG_SERVICE_PORT=80\n"
                       "CATALOG_SERVICE_PORT_HTTP=80\n"
                       "CATALOG_SERVICE_PORT_DNS_UDP=53\n"
                       "CATALOG_PORT=tcp://10.96.0.10:80\n"
                       "CATALOG_PORT_80_TCP=tcp://10.96.0.10:80\n"
                       "CATALOG_PORT_80_TCP_PROTO=tcp\n"
                       "CATALOG_PORT_80_TCP_PORT=80\n"
                       "CATALOG_PORT_80_TCP_ADDR=10.96.0.10\n"
                       "CATALOG_PORT_8443_TCP=tcp://10.96.0.10:8443\n"
                       "CATALOG_PORT_8443_TCP_PROTO=tcp\n"
                       "CATALOG_PORT_8443_TCP_PORT=8443\n"
                       "CATALOG_PORT_8443_TCP_ADDR=10.96.0.10\n"
                       "CATALOG_PORT_53_UDP=udp://10.96.0.10:53\n"
                       "CATALOG_PORT_53_UDP_PROTO=udp\n"
                       "CATALOG_PORT_53_UDP_PORT=53\n"
                       "CATALOG_PORT_53_UDP_ADDR=10.96.0.10\n"
                       "NOPORTS_SERVICE_HOST=10.96.0.12\n");
    free (all);
    agent_svcenv_free (env);
    /* Another namespace sees only its own. */
    env = agent_svcenv_build ("other", (const Hs__Object *const *)objs, 6);
    all = s_join (env);
    CHECK_CONTAINS (all, "ELSEWHERE_SERVICE_HOST=10.96.0.11\n");
    CHECK (!strstr (all, "CATALOG"));
    free (all);
    agent_svcenv_free (env);
    /* Nothing: NULL. */
    CHECK (agent_svcenv_build ("empty", (const Hs__Object *const *)objs, 6) == NULL);
    CHECK (agent_svcenv_build ("default", NULL, 0) == NULL);
    /* A Service without metadata or spec is skipped, not a crash. */
    hs_pb_freep (&objs[0]->service->spec);
    env = agent_svcenv_build ("default", (const Hs__Object *const *)objs, 1);
    CHECK (env == NULL);
    for (int i = 0; i < 6; i++) hs_pb_free (objs[i]);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"name", test_name},
        {"enabled", test_enabled},
        {"build", test_build},
    };
    return HS_TEST_RUN (tests);
}
