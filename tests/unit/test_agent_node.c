/*  test_agent_node.c: the Node object an agent registers and re-posts
 *  (agents/common/agent_node.c), shared by hs-agent and hs-hollow: the
 *  standard labels and the --labels list, the architecture's Kubernetes
 *  name, and the status (capacity = allocatable, Ready with its times,
 *  addresses, system info).
 */
#include "agent_node.h"
#include "hs_pb.h"
#include "hs_test.h"
#include "hs_util.h"

#include <string.h>

static const char *s_label (const Hs__Object *o, const char *key)
{
    const Hs__ObjectMeta *m = o->node->metadata;
    return hs_pb_map_get ((void *const *)m->labels, m->n_labels, key);
}

static void test_object (void)
{
    struct utsname u = {0};
    strcpy (u.machine, "x86_64");
    Hs__Object *o = agent_node_object ("n1", &u, "zone=a,tier=hollow,bare");
    CHECK (o && o->node && o->node->spec);
    CHECK_EQ_STR (o->node->metadata->name, "n1");
    CHECK_EQ_STR (s_label (o, "kubernetes.io/hostname"), "n1");
    CHECK_EQ_STR (s_label (o, "kubernetes.io/os"), "linux");
    CHECK_EQ_STR (s_label (o, "kubernetes.io/arch"), "amd64");
    CHECK_EQ_STR (s_label (o, "zone"), "a");
    CHECK_EQ_STR (s_label (o, "tier"), "hollow");
    CHECK_EQ_STR (s_label (o, "bare"), ""); /* a key without a value */
    CHECK_EQ_INT (o->node->metadata->n_labels, 6);
    hs_pb_free (o);

    strcpy (u.machine, "aarch64"); /* only x86_64 has another name */
    o = agent_node_object ("n2", &u, NULL);
    CHECK_EQ_STR (s_label (o, "kubernetes.io/arch"), "aarch64");
    CHECK_EQ_INT (o->node->metadata->n_labels, 3);
    hs_pb_free (o);
}

static void test_status (void)
{
    struct utsname u = {0};
    strcpy (u.machine, "x86_64");
    strcpy (u.release, "6.1.0");
    agent_node_info_t in = {.name = "n1",
                            .cpu = "4",
                            .memory = "16Gi",
                            .pods = "110",
                            .ready_since_ns = 1000,
                            .message = "posting ready status",
                            .agent_version = "hs-test 1",
                            .machine_id = "abc",
                            .uts = &u};
    int64_t before = hs_now_ns ();
    Hs__Object *o = agent_node_status (&in);
    const Hs__NodeStatus *st = o->node->status;
    CHECK_EQ_STR (o->node->metadata->name, "n1");
    CHECK_EQ_STR (st->capacity->cpu, "4");
    CHECK_EQ_STR (st->capacity->memory, "16Gi");
    CHECK_EQ_STR (st->allocatable->pods, "110");
    CHECK_EQ_INT (st->n_conditions, 1);
    const Hs__NodeCondition *c = st->conditions[0];
    CHECK_EQ_STR (c->type, "Ready");
    CHECK_EQ_STR (c->status, "True");
    CHECK_EQ_STR (c->message, "posting ready status");
    CHECK_EQ_INT (c->last_transition_time, 1000);
    CHECK (c->last_heartbeat_time >= before);
    CHECK_EQ_INT (st->n_addresses, 2);
    CHECK_EQ_STR (st->addresses[1]->type, "Hostname");
    CHECK_EQ_STR (st->addresses[1]->address, "n1");
    CHECK_EQ_STR (st->node_info->kernel_version, "6.1.0");
    CHECK_EQ_STR (st->node_info->agent_version, "hs-test 1");
    CHECK_EQ_STR (st->node_info->machine_id, "abc");
    hs_pb_free (o);
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"object", test_object},
        {"status", test_status},
    };
    return HS_TEST_RUN (tests);
}
