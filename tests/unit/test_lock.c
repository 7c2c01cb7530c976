/*  test_lock.c: hs_lock selftest: one holder per directory, the holder's pid
 *  named to the refused one, the lock gone with its holder. */
#include "hs_lock.h"
#include "hs_test.h"
#include "hs_util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_one_holder (void)
{
    const char *dir = hs_test_tmpdir ();
    int fd = -1, fd2 = -1;
    pid_t holder = -1;
    CHECK_EQ_INT (hs_lock_dir (dir, &fd, &holder), 0);
    CHECK (fd >= 0);
    CHECK_EQ_INT (holder, -1); /* written only on -EBUSY */
    CHECK (fcntl (fd, F_GETFD) & FD_CLOEXEC);
    /* flock is per open file: a second open in this process conflicts too */
    CHECK_EQ_INT (hs_lock_dir (dir, &fd2, &holder), -EBUSY);
    CHECK_EQ_INT (holder, getpid ());
    CHECK_EQ_INT (fd2, -1);
    close (fd);
    CHECK_EQ_INT (hs_lock_dir (dir, &fd2, &holder), 0);
    close (fd2);
}

/* A holder killed with SIGKILL leaves no lock behind. */
static void test_dies_with_holder (void)
{
    _cleanup_free_ char *dir = hs_sprintf ("%s/dies", hs_test_tmpdir ());
    CHECK_EQ_INT (hs_mkdir_p (dir, 0700), 0);
    int p[2];
    CHECK_EQ_INT (pipe (p), 0);
    pid_t child = fork ();
    if (child == 0) {
        int fd;
        pid_t h;
        char ok = hs_lock_dir (dir, &fd, &h) == 0 ? 'y' : 'n';
        if (write (p[1], &ok, 1) != 1) _exit (1);
        pause ();
        _exit (0);
    }
    close (p[1]);
    char ok = 0;
    CHECK_EQ_INT (read (p[0], &ok, 1), 1);
    CHECK_EQ_INT (ok, 'y');
    close (p[0]);
    int fd = -1;
    pid_t holder = 0;
    CHECK_EQ_INT (hs_lock_dir (dir, &fd, &holder), -EBUSY);
    CHECK_EQ_INT (holder, child);
    kill (child, SIGKILL);
    waitpid (child, NULL, 0);
    CHECK_EQ_INT (hs_lock_dir (dir, &fd, &holder), 0);
    close (fd);
}

static void test_missing_dir (void)
{
    _cleanup_free_ char *dir = hs_sprintf ("%s/none/such", hs_test_tmpdir ());
    int fd = -1;
    pid_t holder = 0;
    CHECK_EQ_INT (hs_lock_dir (dir, &fd, &holder), -ENOENT);
}

int main (int argc, char **argv)
{
    hs_test_t tests[] = {
        {"one_holder", test_one_holder},
        {"dies_with_holder", test_dies_with_holder},
        {"missing_dir", test_missing_dir},
    };
    return HS_TEST_RUN (tests);
}
