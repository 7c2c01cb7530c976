/*  test_podlog.c: hs_podlog, the pod log rules hsctl logs and hs-apiserver's
 *  pods/log share: the container kubectl means, its waiting reason, and the
 *  API server's words for a failed log stream. */
#include "hs_client.h"
#include "hs_obj.h"
#include "hs_pb.h"
#include "hs_podlog.h"
#include "hs_test.h"
#include "hs_util.h"

#include <stdlib.h>

/* A pod with containers names[0..n) and, for the first, a waiting reason. */
static Hs__Pod *s_pod (const char *const *names, size_t n, const char *waiting)
{
    Hs__Pod *p = hs_pb_new (&hs__pod__descriptor);
    p->spec = hs_pb_new (&hs__pod_spec__descriptor);
    p->status = hs_pb_new (&hs__pod_status__descriptor);
    for (size_t i = 0; i < n; i++) {
        Hs__Container *c = hs_pb_new (&hs__container__descriptor);
        hs_pb_set_str (&c->name, names[i]);
        hs_pb_push ((void ***)&p->spec->containers, &p->spec->n_containers, c);
    }
    if (waiting) {
        Hs__ContainerStatus *cs = hs_pb_new (&hs__container_status__descriptor);
        hs_pb_set_str (&cs->name, names[0]);
        cs->state = hs_pb_new (&hs__container_state__descriptor);
        cs->state->waiting = hs_pb_new (&hs__container_state_waiting__descriptor);
        hs_pb_set_str (&cs->state->waiting->reason, waiting);
        hs_pb_push ((void ***)&p->status->container_statuses, &p->status->n_container_statuses, cs);
    }
    return p;
}

static void test_container (void)
{
    const char *one[] = {"main"}, *two[] = {"app", "side"};
    Hs__Pod *p1 = s_pod (one, 1, NULL), *p2 = s_pod (two, 2, NULL), *p0 = s_pod (NULL, 0, NULL);
    char *err = NULL;
    CHECK_EQ_STR (hs_podlog_container (p1, "web", NULL, &err), "main");
    CHECK_EQ_STR (hs_podlog_container (p1, "web", "", &err), "main");
    CHECK_EQ_STR (hs_podlog_container (p1, "web", "main", &err), "main");
    CHECK (err == NULL);
    CHECK (hs_podlog_container (p1, "web", "nope", &err) == NULL);
    CHECK_EQ_STR (err, "container nope is not valid for pod web");
    free (err), err = NULL;
    CHECK_EQ_STR (hs_podlog_container (p2, "web", "side", &err), "side");
    CHECK (hs_podlog_container (p2, "web", NULL, &err) == NULL);
    CHECK_EQ_STR (err, "a container name must be specified for pod web, choose one of: [app side]");
    free (err), err = NULL;
    /* a pod without containers (never valid, but from the bus): no crash */
    CHECK (hs_podlog_container (p0, "web", NULL, &err) == NULL);
    CHECK_EQ_STR (err, "a container name must be specified for pod web, choose one of: []");
    free (err);
    hs_pb_free (p0);
    hs_pb_free (p1);
    hs_pb_free (p2);
}

static void test_waiting_and_errors (void)
{
    const char *one[] = {"main"};
    Hs__Pod *p = s_pod (one, 1, "ImagePullBackOff");
    CHECK_EQ_STR (hs_podlog_waiting (p, "main"), "ImagePullBackOff");
    CHECK (hs_podlog_waiting (p, "other") == NULL);
    const char *reason;
    char *m = hs_podlog_error (HS__CODE__CODE_NOT_FOUND, "pods \"web\" not found on node n1", "web",
                               "main", NULL, &reason);
    CHECK_EQ_STR (reason, "BadRequest");
    CHECK_EQ_STR (m, "container \"main\" in pod \"web\" is waiting to start: ContainerCreating");
    CHECK_EQ_INT (hs_podlog_http (reason), 400);
    free (m);
    m = hs_podlog_error (HS__CODE__CODE_NOT_FOUND, "pods \"web\" not found", "web", "main",
                         hs_podlog_waiting (p, "main"), &reason);
    CHECK_EQ_STR (m, "container \"main\" in pod \"web\" is waiting to start: ImagePullBackOff");
    free (m);
    m = hs_podlog_error (HS__CODE__CODE_INVALID,
                         "previous terminated container \"main\" in pod "
                         "\"web\" not found",
                         "web", "main", NULL, &reason);
    CHECK_EQ_STR (reason, "BadRequest");
    CHECK_CONTAINS (m, "previous terminated container");
    free (m);
    m = hs_podlog_error (HS__CODE__CODE_UNAVAILABLE, NULL, "web", "main", NULL, &reason);
    CHECK_EQ_STR (reason, "ServiceUnavailable");
    CHECK_EQ_STR (m, "");
    CHECK_EQ_INT (hs_podlog_http (reason), 503);
    CHECK_EQ_INT (hs_podlog_http ("InternalError"), 500);
    CHECK_EQ_INT (hs_podlog_http ("Forbidden"), 403);
    free (m);
    hs_pb_free (p);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"container", test_container},
        {"waiting_and_errors", test_waiting_and_errors},
    };
    return HS_TEST_RUN (tests);
}
