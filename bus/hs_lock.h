/*  hs_lock.h: one process per directory. A daemon that owns a directory (the
 *  store its data, the agent its node's state) takes an exclusive flock(2) on
 *  DIR/hs.lock for as long as it lives and writes its pid there, so a second
 *  one on the same directory is refused, naming the first, before it touches
 *  anything. The kernel drops the lock when the holder dies (kill -9
 *  included), so a restarted daemon never finds a stale one.
 */
#ifndef HS_LOCK_H
#define HS_LOCK_H

#include <sys/types.h>

/* Locks DIR (which must exist). 0 and *ret_fd, the lock's descriptor
 * (O_CLOEXEC: the processes the daemon starts do not inherit it; closing it
 * releases the lock). -EBUSY when another process holds it: *ret_holder is
 * the pid it wrote in the file (0 if none could be read). Else -errno.
 * Out-params are written only on the return they belong to. */
int hs_lock_dir (const char *dir, int *ret_fd, pid_t *ret_holder);

/* The holder hs_lock_dir named, for a message: "pid N", or "an unknown pid"
 * for 0. Writes into buf and returns it. */
const char *hs_lock_who (pid_t holder, char *buf, size_t size);

#endif
