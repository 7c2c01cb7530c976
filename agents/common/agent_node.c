/*  agent_node.c: the Node object an agent registers and re-posts, the same
 *  for a real node (hs-agent) and a hollow one (hs-hollow); see agent_node.h. */
#include "agent_node.h"

#include "hs_obj.h"
#include "hs_pb.h"
#include "hs_util.h"

#include <stdio.h>
#include <string.h>

static void s_label (Hs__ObjectMeta *m, const char *k, const char *v)
{
    hs_pb_map_set ((void ***)&m->labels, &m->n_labels, &hs__object_meta__labels_entry__descriptor,
                   k, v);
}

Hs__Object *agent_node_object (const char *name, const struct utsname *u, const char *labels)
{
    Hs__Object *o = hs_obj_new (HS_KIND_NODE, NULL, name);
    Hs__ObjectMeta *m = o->node->metadata;
    s_label (m, "kubernetes.io/hostname", name);
    s_label (m, "kubernetes.io/os", "linux");
    s_label (m, "kubernetes.io/arch", hs_streq (u->machine, "x86_64") ? "amd64" : u->machine);
    if (!hs_empty (labels)) {
        _cleanup_free_ char *copy = hs_strdup (labels);
        char *save = NULL;
        for (char *kv = strtok_r (copy, ",", &save); kv; kv = strtok_r (NULL, ",", &save)) {
            char *eq = strchr (kv, '=');
            if (eq) *eq = '\0';
            s_label (m, kv, eq ? eq + 1 : "");
        }
    }
    o->node->spec = hs_pb_new (&hs__node_spec__descriptor);
    return o;
}

static Hs__ResourceList *s_resources (const agent_node_info_t *in)
{
    Hs__ResourceList *r = hs_pb_new (&hs__resource_list__descriptor);
    hs_pb_set_str (&r->cpu, in->cpu);
    hs_pb_set_str (&r->memory, in->memory);
    hs_pb_set_str (&r->pods, in->pods);
    return r;
}

static void s_address (Hs__NodeStatus *st, const char *type, const char *address)
{
    Hs__NodeAddress *a = hs_pb_new (&hs__node_address__descriptor);
    hs_pb_set_str (&a->type, type);
    hs_pb_set_str (&a->address, address);
    hs_pb_push ((void ***)&st->addresses, &st->n_addresses, a);
}

Hs__Object *agent_node_status (const agent_node_info_t *in)
{
    Hs__Object *o = hs_obj_new (HS_KIND_NODE, NULL, in->name);
    Hs__NodeStatus *st = hs_pb_new (&hs__node_status__descriptor);
    o->node->status = st;
    st->capacity = s_resources (in);
    st->allocatable = s_resources (in);
    Hs__NodeCondition *c = hs_pb_new (&hs__node_condition__descriptor);
    hs_pb_set_str (&c->type, "Ready");
    hs_pb_set_str (&c->status, "True");
    hs_pb_set_str (&c->reason, "AgentReady");
    hs_pb_set_str (&c->message, in->message);
    c->last_heartbeat_time = hs_now_ns ();
    c->last_transition_time = in->ready_since_ns;
    hs_pb_push ((void ***)&st->conditions, &st->n_conditions, c);
    s_address (st, "InternalIP", in->internal_ip ? in->internal_ip : "127.0.0.1");
    s_address (st, "Hostname", in->name);
    st->node_info = hs_pb_new (&hs__node_system_info__descriptor);
    hs_pb_set_str (&st->node_info->kernel_version, in->uts->release);
    hs_pb_set_str (&st->node_info->architecture, in->uts->machine);
    hs_pb_set_str (&st->node_info->os_image, "linux");
    hs_pb_set_str (&st->node_info->agent_version, in->agent_version);
    hs_pb_set_str (&st->node_info->machine_id, in->machine_id);
    return o;
}

void agent_machine_id (char *buf, size_t len)
{
    buf[0] = '\0';
    FILE *f = fopen ("/etc/machine-id", "re");
    if (!f) return;
    if (fgets (buf, (int)len, f)) buf[strcspn (buf, "\n")] = '\0';
    fclose (f);
}
