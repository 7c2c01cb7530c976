/*  agent_fence.c: the fence timer (agent_fence.h). */
#include "agent_fence.h"

void agent_fence_init (agent_fence_t *f, int64_t fence_ns, int64_t last_contact)
{
    *f = (agent_fence_t){.fence_ns = fence_ns > 0 ? fence_ns : 0, .last_contact = last_contact};
}

int64_t agent_fence_start (int64_t lease, int64_t fence_ns, int64_t now)
{
    if (fence_ns <= 0) return now;
    if (lease > 0 && lease <= now + fence_ns) return lease - fence_ns;
    return now - fence_ns;
}

bool agent_fence_contact (agent_fence_t *f, int64_t sent, int64_t now)
{
    if (sent > now) sent = now;
    if (sent > f->last_contact) f->last_contact = sent;
    if (!f->fenced || !f->fence_ns || f->last_contact + f->fence_ns <= now) return false;
    f->fenced = false;
    f->fenced_at = 0;
    return true;
}

int64_t agent_fence_deadline (const agent_fence_t *f)
{
    if (!f->fence_ns || f->fenced) return INT64_MAX;
    if (f->last_contact > INT64_MAX - f->fence_ns) return INT64_MAX;
    return f->last_contact + f->fence_ns;
}

bool agent_fence_check (agent_fence_t *f, int64_t now)
{
    if (f->fenced || now < agent_fence_deadline (f)) return false;
    f->fenced = true;
    f->fenced_at = now;
    f->fences++;
    return true;
}
