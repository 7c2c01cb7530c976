/*  replicas_plan.c: plans of Commands (replicas_plan.h). */
#include "replicas_plan.h"
#include "hs_util.h"

rp_cmd_t *rp_plan_cmd (rp_plan_t *p)
{
    if (p->n_cmds == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 4;
        p->cmds = hs_realloc (p->cmds, p->cap * sizeof *p->cmds);
    }
    rp_cmd_t *c = &p->cmds[p->n_cmds++];
    *c = (rp_cmd_t){0};
    return c;
}

void rp_cmd_add (rp_cmd_t *cmd, Hs__Write *w, rp_tag_t tag, const char *reason, const char *message)
{
    if (cmd->n == cmd->cap) {
        cmd->cap = cmd->cap ? cmd->cap * 2 : 8;
        cmd->w = hs_realloc (cmd->w, cmd->cap * sizeof *cmd->w);
    }
    cmd->w[cmd->n++] = (rp_write_t){
        .write = w, .tag = tag, .reason = hs_strdup (reason), .message = hs_strdup (message)};
}

void rp_plan_wake (rp_plan_t *p, int64_t at_ns)
{
    if (at_ns > 0 && (p->wake_ns == 0 || at_ns < p->wake_ns)) p->wake_ns = at_ns;
}

size_t rp_plan_writes (const rp_plan_t *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_cmds; i++) n += p->cmds[i].n;
    return n;
}

void rp_plan_free (rp_plan_t *p)
{
    for (size_t i = 0; i < p->n_cmds; i++) {
        rp_cmd_t *c = &p->cmds[i];
        for (size_t j = 0; j < c->n; j++) {
            hs_pb_free (c->w[j].write);
            free (c->w[j].reason);
            free (c->w[j].message);
        }
        free (c->w);
    }
    free (p->cmds);
    *p = (rp_plan_t){0};
}
