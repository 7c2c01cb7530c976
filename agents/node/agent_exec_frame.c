/*  agent_exec_frame.c: the frames of `hs-shim --exec --stream` (see
 *  agent_exec_frame.h). */
#include "agent_exec_frame.h"

#include "hs_util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

ssize_t agent_exec_frame (const char *buf, size_t len, agent_frame_t *ret)
{
    size_t look = len < AGENT_EXEC_FRAME_HEAD_MAX + 1 ? len : AGENT_EXEC_FRAME_HEAD_MAX + 1;
    const char *nl = memchr (buf, '\n', look);
    if (!nl) return len > AGENT_EXEC_FRAME_HEAD_MAX ? -EBADMSG : 0;
    size_t hlen = (size_t)(nl - buf);
    char head[AGENT_EXEC_FRAME_HEAD_MAX + 1];
    memcpy (head, buf, hlen);
    head[hlen] = '\0';
    if (memchr (head, '\0', hlen)) return -EBADMSG;
    memset (ret, 0, sizeof *ret);
    int64_t v;
    if ((head[0] == 'o' || head[0] == 'e') && head[1] == ' ') {
        if (hs_parse_i64 (head + 2, &v) < 0 || v < 0 || v > AGENT_EXEC_FRAME_DATA_MAX)
            return -EBADMSG;
        if (len < hlen + 1 + (size_t)v) return 0; /* the rest comes later */
        ret->kind = head[0] == 'o' ? AGENT_FRAME_STDOUT : AGENT_FRAME_STDERR;
        ret->data = nl + 1;
        ret->len = (size_t)v;
        return (ssize_t)(hlen + 1 + (size_t)v);
    }
    if (hs_startswith (head, "exit ")) {
        if (hs_parse_i64 (head + 5, &v) < 0 || v < 0 || v > 255) return -EBADMSG;
        ret->kind = AGENT_FRAME_EXIT;
        ret->code = (int)v;
    } else if (hs_startswith (head, "fail ")) {
        char *sp = strchr (head + 5, ' ');
        if (!sp) return -EBADMSG;
        *sp = '\0';
        if (hs_parse_i64 (head + 5, &v) < 0 || v < 1 || v > 255) return -EBADMSG;
        ret->kind = AGENT_FRAME_FAIL;
        ret->code = (int)v;
        snprintf (ret->text, sizeof ret->text, "%s", sp + 1);
    } else if (!strcmp (head, "timeout")) {
        ret->kind = AGENT_FRAME_TIMEOUT;
    } else if (hs_startswith (head, "error ")) {
        ret->kind = AGENT_FRAME_ERROR;
        snprintf (ret->text, sizeof ret->text, "%s", head + 6);
    } else {
        return -EBADMSG;
    }
    return (ssize_t)(hlen + 1);
}
