/*  agent_exec_frame.h: reading what `hs-shim --exec --stream` writes (the
 *  frames of shim_stream.h) on the agent's side. Pure.
 */
#ifndef AGENT_EXEC_FRAME_H
#define AGENT_EXEC_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define AGENT_EXEC_FRAME_DATA_MAX (64 * 1024) /* "o N" / "e N": N at most this */
#define AGENT_EXEC_FRAME_HEAD_MAX 1100        /* a header line, its newline excluded */

typedef enum {
    AGENT_FRAME_STDOUT,  /* data, len */
    AGENT_FRAME_STDERR,  /* data, len */
    AGENT_FRAME_EXIT,    /* code: the command's status */
    AGENT_FRAME_FAIL,    /* code (126, 127), text: it could not be exec'd */
    AGENT_FRAME_TIMEOUT, /* killed at --timeout-ms */
    AGENT_FRAME_ERROR,   /* text: it could not run */
} agent_frame_kind_t;

typedef struct {
    agent_frame_kind_t kind;
    const char *data; /* into the buffer parsed */
    size_t len;
    int code;
    char text[AGENT_EXEC_FRAME_HEAD_MAX + 1];
} agent_frame_t;

/* The first frame of buf[0..len): the bytes it takes (> 0) with *ret
 * filled, 0 when it is not whole yet (read more), or -EBADMSG when buf does
 * not start with a frame (a header over AGENT_EXEC_FRAME_HEAD_MAX, a size
 * over AGENT_EXEC_FRAME_DATA_MAX, an unknown or broken line). */
ssize_t agent_exec_frame (const char *buf, size_t len, agent_frame_t *ret);

#endif
