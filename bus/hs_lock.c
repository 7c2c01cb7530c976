/*  hs_lock.c: one process per directory (hs_lock.h). */
#include "hs_lock.h"
#include "hs_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* The pid the holder wrote, or 0. */
static pid_t s_holder (int fd)
{
    char buf[32];
    ssize_t n = pread (fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return 0;
    buf[n] = '\0';
    char *end;
    long pid = strtol (buf, &end, 10);
    return pid > 0 && pid < (1L << 22) && (*end == '\n' || *end == '\0') ? (pid_t)pid : 0;
}

int hs_lock_dir (const char *dir, int *ret_fd, pid_t *ret_holder)
{
    _cleanup_free_ char *path = hs_sprintf ("%s/hs.lock", dir);
    int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return -errno;
    if (flock (fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        if (err == EWOULDBLOCK) {
            /* The holder writes its pid just after locking: a moment's
             * race shows 0, which callers print as unknown. */
            *ret_holder = s_holder (fd);
            close (fd);
            return -EBUSY;
        }
        close (fd);
        return -err;
    }
    char buf[32];
    int len = snprintf (buf, sizeof buf, "%ld\n", (long)getpid ());
    if (ftruncate (fd, 0) != 0 || pwrite (fd, buf, (size_t)len, 0) != len) {
        int err = errno ? errno : EIO;
        close (fd);
        return -err;
    }
    *ret_fd = fd;
    return 0;
}

const char *hs_lock_who (pid_t holder, char *buf, size_t size)
{
    if (holder > 0)
        snprintf (buf, size, "pid %ld", (long)holder);
    else
        snprintf (buf, size, "an unknown pid");
    return buf;
}
