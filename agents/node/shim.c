/*  shim.c: hs-shim, the per-container shim. The container runs as a real
 *  process whose parent is this small shim, which holds its exit status and
 *  its log pipes, so the agent itself can crash and come back.
 *
 *  Three processes, one after the other:
 *  - the foreground, which the agent spawns: checks the flags, claims DIR,
 *    forks the daemon and exits once the container has started (0) or failed
 *    to (127 not found, 126 not executable, 1 anything else; one line on
 *    stderr, also in DIR/error). No daemon remains after a failure.
 *  - the daemon: a new session, stdin/stdout on /dev/null, stderr on
 *    DIR/shim.log; a child subreaper. It is the container's parent: it
 *    writes DIR/state, copies the container's stdout and stderr into
 *    DIR/container.log (shim_log.c), forwards SIGTERM, SIGINT, SIGHUP,
 *    SIGQUIT, SIGUSR1 and SIGUSR2 to it, reaps it and writes DIR/exit.
 *  - the container: created in new pid, mount, UTS and IPC namespaces
 *    (unshare of the pid namespace in the daemon, then fork, so the
 *    container is pid 1 there and still the daemon's child); joins its
 *    cgroups, then the pod's network namespace (--netns, setns before the
 *    other namespaces are made), mounts its own /proc, bind-mounts the
 *    pod's --resolv-conf and --hosts over /etc's, then its volumes
 *    (--mount, shim_mounts.h), sets its hostname,
 *    working directory, stdio, signals and environment, applies its
 *    hardening (user, capabilities, no_new_privs, seccomp, read-only root:
 *    shim_sec.h), then execve. Setup errors come back
 *    through a close-on-exec pipe: EOF means the exec happened.
 *
 *  The environment is --env's, then --env-stdin's records (read from
 *  stdin before anything else): the agent passes every variable there, so
 *  that Secret values never show on a command line.
 *
 *  DIR/state and DIR/exit are written atomically (temp file, fsync, rename)
 *  as key=value lines; see s_write_state and s_write_exit.
 *
 *  --fence-lease FILE (an at-most-one pod's container, agent_fence.h): FILE
 *  holds a CLOCK_MONOTONIC deadline in ns, which hs-agent moves on at every
 *  contact with the control plane. The daemon reads it every
 *  FENCE_CHECK_MS; past it (or unreadable) it SIGKILLs the container. So
 *  the container is fenced on time even when the agent is dead or stopped
 *  (its own fence timer cannot run then), and hs-prober may replace it.
 *
 *  `hs-shim --exec PID` is another, short-lived mode: the agent's exec
 *  probes. It joins the cgroups given (--cgroup-procs) and the network, IPC,
 *  UTS, PID and mount namespaces of the container whose init is host pid PID,
 *  runs the command there (in a new session, killed if we die) with the
 *  container's --env and --workdir, collects its stdout and stderr (the
 *  first 10 KiB), kills its process group at --timeout-ms, and writes one
 *  answer on its own stdout for the agent (format in agent_rules.h):
 *  "exit N", "timeout" or "error TEXT", a newline, then the output.
 */
#include "hs_log.h"
#include "hs_util.h"
#include "shim_log.h"
#include "shim_mounts.h"
#include "shim_sec.h"
#include "shim_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_PATH      "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define DEFAULT_MAX_BYTES (10u << 20)
#define DEFAULT_MAX_FILES 5
#define MAX_FILES_LIMIT   100
/* After the container's init exits, its pipes are read until EOF or this
 * long: with --no-namespaces, a descendant outside any pid namespace can
 * keep them open forever. */
#define DRAIN_AFTER_EXIT_MS 2000
#define READ_CHUNK          65536
/* --exec: the output kept (agent_rules.h AGENT_EXEC_OUTPUT_MAX), the
 * default time limit, and how long the output is read after the command
 * exited (a background child of it may hold the pipe open). */
#define EXEC_OUTPUT_MAX         (10 * 1024)
#define EXEC_DEFAULT_TIMEOUT_MS 1000
#define EXEC_MAX_TIMEOUT_MS     (3600 * 1000)
#define EXEC_DRAIN_MS           100
#define FENCE_CHECK_MS          100

typedef struct {
    const char *state_dir;
    const char **cgroup_procs;
    size_t n_cgroup_procs;
    const char *workdir;
    const char **env; /* KEY=VALUE, borrowed from argv */
    size_t n_env;
    const char *hostname;
    const char *netns;       /* --netns: the pod's pinned network namespace */
    const char *resolv_conf; /* --resolv-conf: bind-mounted on /etc/resolv.conf */
    const char *hosts;       /* --hosts: bind-mounted on /etc/hosts */
    const char **mounts;     /* --mount SRC:DST[:ro] (shim_mounts.h), borrowed */
    size_t n_mounts;
    bool env_stdin; /* --env-stdin: more KEY=VALUE, NUL-separated, on stdin */
    uint64_t log_max_bytes;
    unsigned log_max_files;
    bool namespaces;
    pid_t exec_pid;     /* --exec: the container's init (host pid); 0: not exec mode */
    int64_t timeout_ms; /* --exec: kill the command after this long */
    bool stream;        /* --exec --stream: `hsctl exec` (shim_stream.h) */
    bool timeout_given;
    shim_sec_t sec;          /* user, capabilities, seccomp... (shim_sec.h) */
    const char *fence_lease; /* --fence-lease FILE: kill past its deadline */
    char **argv;             /* PROG ARG..., borrowed */
} s_opts_t;

/* A start result: from the container to the daemon, and from the daemon to
 * the foreground. Smaller than PIPE_BUF, so one write is atomic. */
typedef struct {
    int32_t code; /* the foreground's exit code: 0 started, 1, 126 or 127 */
    char msg[1020];
} s_result_t;

typedef struct {
    const s_opts_t *opts;
    int dirfd;
    int sigfd;
    int fds[2]; /* read ends of the container's stdout and stderr; -1 at EOF */
    shim_log_t *log;
    bool drop_logged;
    pid_t pid; /* the container's init (host pid) */
    bool exited;
    int status;
    int64_t finished_at_ns;
    int64_t drain_deadline; /* CLOCK_MONOTONIC ns */
    bool fenced;            /* the lease ran out: SIGKILL sent */
    int64_t lease_next;     /* CLOCK_MONOTONIC ns: read the lease again then */
} self_t;

static void s_usage (FILE *f)
{
    fprintf (
        f,
        "usage: hs-shim --state DIR [--cgroup-procs FILE]... [--workdir DIR]\n"
        "               [--env KEY=VALUE]... [--hostname NAME] [--log-max-bytes N]\n"
        "               [--log-max-files N] [--no-namespaces] -- PROG [ARG]...\n"
        "  --state DIR          this run's directory (created 0700; must hold no state)\n"
        "  --cgroup-procs FILE  a cgroup.procs file the container joins before exec\n"
        "  --workdir DIR        the container's working directory (default /)\n"
        "  --env KEY=VALUE      the container's environment (nothing is inherited;\n"
        "                       PATH and HOSTNAME get defaults)\n"
        "  --hostname NAME      the container's hostname (its own UTS namespace)\n"
        "  --log-max-bytes N    rotate DIR/container.log at N bytes (default %u, min %u)\n"
        "  --log-max-files N    keep at most N log files (default %u)\n"
        "  --no-namespaces      run the container in the shim's namespaces\n"
        "  --netns PATH         join this network namespace (the pod's) first\n"
        "  --resolv-conf FILE   bind-mount FILE on /etc/resolv.conf (needs namespaces)\n"
        "  --hosts FILE         bind-mount FILE on /etc/hosts (needs namespaces)\n"
        "  --mount SRC:DST[:ro] bind-mount SRC on DST, read-only with :ro; a missing DST\n"
        "                       is made in the container only (needs namespaces)\n"
        "  --env-stdin          read more KEY=VALUE, NUL-separated, from stdin (values\n"
        "                       that must not show in the process list: Secrets)\n"
        "  --fence-lease FILE   SIGKILL the container once CLOCK_MONOTONIC passes the\n"
        "                       deadline (ns) in FILE, or FILE cannot be read (hs-agent's\n"
        "                       fencing of at-most-one pods)\n"
        "  --user UID, --group GID, --groups G,G, --caps LIST, --ambient-caps LIST,\n"
        "  --no-new-privs, --seccomp runtime-default|unconfined, --read-only-root\n"
        "                       the container's hardening (shim_sec.h); also with --exec\n"
        "       hs-shim --exec PID [--cgroup-procs FILE]... [--workdir DIR]\n"
        "               [--env KEY=VALUE]... [--env-stdin] [--timeout-ms MS] -- PROG [ARG]...\n"
        "  --exec PID           run PROG inside the namespaces of the container whose\n"
        "                       init is PID (an exec probe); the answer goes to stdout\n"
        "  --timeout-ms MS      kill it after MS (default %d; with --stream: none)\n"
        "  --stream             `hsctl exec`: stdout and stderr apart, as they come, on\n"
        "                       stdout in frames (shim_stream.h); SIGTERM kills it\n",
        DEFAULT_MAX_BYTES, SHIM_LOG_MIN_BYTES, DEFAULT_MAX_FILES, EXEC_DEFAULT_TIMEOUT_MS);
}

/* strerror as Go prints errors: "no such file or directory". */
static const char *s_strerror (int err, char *buf, size_t len)
{
    snprintf (buf, len, "%s", strerror (err));
    if (buf[0] >= 'A' && buf[0] <= 'Z') buf[0] = (char)(buf[0] - 'A' + 'a');
    return buf;
}

static void s_result_set (s_result_t *res, int code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
static void s_result_set (s_result_t *res, int code, const char *fmt, ...)
{
    memset (res, 0, sizeof *res);
    res->code = code;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (res->msg, sizeof res->msg, fmt, ap);
    va_end (ap);
    /* One line, whatever a path held. */
    for (char *p = res->msg; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
}

static int s_write_all (int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write (fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -errno;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Reads up to len bytes, stopping early only at EOF; the count, or -errno. */
static ssize_t s_read_full (int fd, void *data, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read (fd, (char *)data + got, len - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -errno;
        if (n == 0) break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* Replaces dirfd/name with content: .name.tmp, fsync, rename, fsync of the
 * directory. 0 or -errno. */
static int s_write_atomic (int dirfd, const char *name, const char *content)
{
    _cleanup_free_ char *tmp = hs_sprintf (".%s.tmp", name);
    int fd = openat (dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -errno;
    int r = s_write_all (fd, content, strlen (content));
    if (r == 0 && fsync (fd) < 0) r = -errno;
    if (close (fd) < 0 && r == 0) r = -errno;
    if (r == 0 && renameat (dirfd, tmp, dirfd, name) < 0) r = -errno;
    if (r < 0) {
        unlinkat (dirfd, tmp, 0);
        return r;
    }
    fsync (dirfd);
    return 0;
}

/* Field 22 of /proc/self/stat: start time in clock ticks after boot. */
static int s_self_start_ticks (unsigned long long *ret)
{
    char buf[1024];
    int fd = open ("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    ssize_t n = s_read_full (fd, buf, sizeof buf - 1);
    close (fd);
    if (n < 0) return (int)n;
    buf[n] = '\0';
    /* The command name (field 2) may hold spaces and parentheses. */
    char *p = strrchr (buf, ')');
    if (!p) return -EBADMSG;
    p++;
    for (int field = 3; field <= 22; field++) {
        while (*p == ' ') p++;
        if (field == 22) {
            char *end;
            errno = 0;
            unsigned long long v = strtoull (p, &end, 10);
            if (errno || end == p) return -EBADMSG;
            *ret = v;
            return 0;
        }
        p = strchr (p, ' ');
        if (!p) return -EBADMSG;
    }
    return -EBADMSG;
}

/* ------------------------------------------------------------------ flags */

/* 0 with *opts filled, 1 after --help, -1 after printing an error. */
static int s_parse (int argc, char **argv, s_opts_t *opts)
{
    enum {
        O_STATE = 1,
        O_CGROUP,
        O_WORKDIR,
        O_ENV,
        O_HOSTNAME,
        O_MAXB,
        O_MAXF,
        O_NONS,
        O_EXEC,
        O_TIMEOUT,
        O_STREAM,
        O_NETNS,
        O_RESOLV,
        O_HOSTS,
        O_MOUNT,
        O_ENV_STDIN,
        O_FENCE,
        O_HELP
    };
    static const struct option longopts[] = {
        {"state", required_argument, NULL, O_STATE},
        {"cgroup-procs", required_argument, NULL, O_CGROUP},
        {"workdir", required_argument, NULL, O_WORKDIR},
        {"env", required_argument, NULL, O_ENV},
        {"hostname", required_argument, NULL, O_HOSTNAME},
        {"log-max-bytes", required_argument, NULL, O_MAXB},
        {"log-max-files", required_argument, NULL, O_MAXF},
        {"no-namespaces", no_argument, NULL, O_NONS},
        {"exec", required_argument, NULL, O_EXEC},
        {"timeout-ms", required_argument, NULL, O_TIMEOUT},
        {"stream", no_argument, NULL, O_STREAM},
        {"netns", required_argument, NULL, O_NETNS},
        {"resolv-conf", required_argument, NULL, O_RESOLV},
        {"hosts", required_argument, NULL, O_HOSTS},
        {"mount", required_argument, NULL, O_MOUNT},
        {"env-stdin", no_argument, NULL, O_ENV_STDIN},
        {"fence-lease", required_argument, NULL, O_FENCE},
        {"help", no_argument, NULL, O_HELP},
        SHIM_SEC_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    opts->cgroup_procs = hs_calloc ((size_t)argc, sizeof *opts->cgroup_procs);
    opts->env = hs_calloc ((size_t)argc, sizeof *opts->env);
    opts->mounts = hs_calloc ((size_t)argc, sizeof *opts->mounts);
    opts->log_max_bytes = DEFAULT_MAX_BYTES;
    opts->log_max_files = DEFAULT_MAX_FILES;
    opts->namespaces = true;
    opts->timeout_ms = EXEC_DEFAULT_TIMEOUT_MS;
    opterr = 0;
    int c;
    int64_t v;
    while ((c = getopt_long (argc, argv, "+", longopts, NULL)) != -1) {
        switch (c) {
        case O_STATE: opts->state_dir = optarg; break;
        case O_CGROUP: opts->cgroup_procs[opts->n_cgroup_procs++] = optarg; break;
        case O_WORKDIR: opts->workdir = optarg; break;
        case O_HOSTNAME: opts->hostname = optarg; break;
        case O_NONS: opts->namespaces = false; break;
        case O_NETNS: opts->netns = optarg; break;
        case O_RESOLV: opts->resolv_conf = optarg; break;
        case O_HOSTS: opts->hosts = optarg; break;
        case O_ENV_STDIN: opts->env_stdin = true; break;
        case O_FENCE: opts->fence_lease = optarg; break;
        case O_MOUNT:
            if (!shim_mount_spec_ok (optarg)) {
                fprintf (stderr, "hs-shim: --mount wants SRC:DST[:ro], both absolute, not \"%s\"\n",
                         optarg);
                return -1;
            }
            opts->mounts[opts->n_mounts++] = optarg;
            break;
        case O_HELP: s_usage (stdout); return 1;
        case O_ENV:
            if (!strchr (optarg, '=') || optarg[0] == '=') {
                fprintf (stderr, "hs-shim: --env wants KEY=VALUE, not \"%s\"\n", optarg);
                return -1;
            }
            opts->env[opts->n_env++] = optarg;
            break;
        case O_MAXB:
            if (hs_parse_i64 (optarg, &v) < 0 || v < SHIM_LOG_MIN_BYTES) {
                fprintf (stderr, "hs-shim: --log-max-bytes wants a byte count >= %u, not \"%s\"\n",
                         SHIM_LOG_MIN_BYTES, optarg);
                return -1;
            }
            opts->log_max_bytes = (uint64_t)v;
            break;
        case O_MAXF:
            if (hs_parse_i64 (optarg, &v) < 0 || v < 1 || v > MAX_FILES_LIMIT) {
                fprintf (stderr, "hs-shim: --log-max-files wants 1 to %d, not \"%s\"\n",
                         MAX_FILES_LIMIT, optarg);
                return -1;
            }
            opts->log_max_files = (unsigned)v;
            break;
        case O_EXEC:
            if (hs_parse_i64 (optarg, &v) < 0 || v < 1 || v > INT32_MAX) {
                fprintf (stderr, "hs-shim: --exec wants a process id, not \"%s\"\n", optarg);
                return -1;
            }
            opts->exec_pid = (pid_t)v;
            break;
        case O_TIMEOUT:
            if (hs_parse_i64 (optarg, &v) < 0 || v < 1 || v > EXEC_MAX_TIMEOUT_MS) {
                fprintf (stderr, "hs-shim: --timeout-ms wants 1 to %d, not \"%s\"\n",
                         EXEC_MAX_TIMEOUT_MS, optarg);
                return -1;
            }
            opts->timeout_ms = v;
            opts->timeout_given = true;
            break;
        case O_STREAM: opts->stream = true; break;
        default:
            if (c >= SHIM_SEC_OPT_MIN && c <= SHIM_SEC_OPT_MAX) {
                if (shim_sec_flag (&opts->sec, c, optarg) < 0) return -1;
                break;
            }
            fprintf (stderr, "hs-shim: unknown flag or missing value: %s (see --help)\n",
                     argv[optind - 1]);
            return -1;
        }
    }
    if (hs_empty (opts->state_dir) && !opts->exec_pid) {
        fprintf (stderr, "hs-shim: --state DIR is required (see --help)\n");
        return -1;
    }
    if (optind >= argc) {
        fprintf (stderr, "hs-shim: no program to run: -- PROG [ARG]... (see --help)\n");
        return -1;
    }
    if (opts->n_mounts && !opts->namespaces) {
        fprintf (stderr, "hs-shim: --mount needs a mount namespace: not with --no-namespaces\n");
        return -1;
    }
    if ((opts->resolv_conf || opts->hosts) && !opts->namespaces) {
        fprintf (stderr, "hs-shim: --resolv-conf and --hosts need a mount namespace: not with "
                         "--no-namespaces\n");
        return -1;
    }
    if (opts->hostname && (strlen (opts->hostname) == 0 || strlen (opts->hostname) > 64)) {
        fprintf (stderr, "hs-shim: --hostname wants 1 to 64 characters\n");
        return -1;
    }
    if (shim_sec_check (&opts->sec, opts->namespaces && !opts->exec_pid) < 0) return -1;
    if (opts->stream && !opts->timeout_given) opts->timeout_ms = 0; /* no limit */
    opts->argv = argv + optind;
    return 0;
}

/* ------------------------------------------------------------------ the container */

/* What the container child needs, all prepared before the fork. */
typedef struct {
    const s_opts_t *opts;
    char **envp;
    const char *path; /* the PATH programs are looked up in */
    int out_w, err_w; /* write ends of the log pipes */
    int report_w;     /* close-on-exec: EOF at exec, an s_result_t on failure */
} s_child_t;

static void s_child_fail (const s_child_t *c, int code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4), noreturn));
static void s_child_fail (const s_child_t *c, int code, const char *fmt, ...)
{
    s_result_t res;
    va_list ap;
    va_start (ap, fmt);
    char msg[sizeof res.msg];
    vsnprintf (msg, sizeof msg, fmt, ap);
    va_end (ap);
    s_result_set (&res, code, "%s", msg);
    s_write_all (c->report_w, &res, sizeof res);
    _exit (1);
}

/* execve of prog, looked up in path if it has no '/' as execvpe does, but in
 * the container's PATH rather than ours, and with no /bin/sh fallback for
 * ENOEXEC. Returns the errno that explains the failure. */
static int s_exec (const char *prog, char **argv, char **envp, const char *path)
{
    if (*prog == '\0') return ENOENT;
    if (strchr (prog, '/')) {
        execve (prog, argv, envp);
        return errno;
    }
    bool denied = false;
    const char *p = path;
    for (;;) {
        const char *end = strchrnul (p, ':');
        char full[PATH_MAX];
        size_t dlen = (size_t)(end - p);
        if (dlen == 0)
            snprintf (full, sizeof full, "%s", prog); /* an empty entry is "." */
        else if ((size_t)snprintf (full, sizeof full, "%.*s/%s", (int)dlen, p, prog) >= sizeof full)
            full[0] = '\0';
        if (full[0]) {
            execve (full, argv, envp);
            switch (errno) {
            case EACCES: denied = true; break;
            case ENOENT:
            case ENOTDIR:
            case ESTALE:
            case ENODEV:
            case ETIMEDOUT: break;
            default: return errno;
            }
        }
        if (*end == '\0') break;
        p = end + 1;
    }
    return denied ? EACCES : ENOENT;
}

static void s_container (const s_child_t *c) __attribute__ ((noreturn));
static void s_container (const s_child_t *c)
{
    const s_opts_t *o = c->opts;
    char eb[128];

    /* The cgroup first, so everything the container ever starts is in it. */
    for (size_t i = 0; i < o->n_cgroup_procs; i++) {
        const char *file = o->cgroup_procs[i];
        int fd = open (file, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || s_write_all (fd, "0", 1) < 0)
            s_child_fail (c, 1, "join cgroup \"%s\": %s", file, s_strerror (errno, eb, sizeof eb));
        close (fd);
    }
    /* The pod's network first: its sandbox is shared by its containers. */
    if (o->netns) {
        int fd = open (o->netns, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns (fd, CLONE_NEWNET) < 0)
            s_child_fail (c, 1, "join network namespace \"%s\": %s", o->netns,
                          s_strerror (errno, eb, sizeof eb));
        close (fd);
    }
    if (o->namespaces) {
        if (unshare (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC) < 0)
            s_child_fail (c, 1, "unshare mount, uts and ipc namespaces: %s",
                          s_strerror (errno, eb, sizeof eb));
        /* Our mounts must not propagate back to the host. */
        if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
            s_child_fail (c, 1, "make / private: %s", s_strerror (errno, eb, sizeof eb));
        if (mount ("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
            s_child_fail (c, 1, "mount proc on /proc: %s", s_strerror (errno, eb, sizeof eb));
        /* The pod's resolver and hosts files, in this mount namespace only. */
        const char *files[][2] = {{o->resolv_conf, "/etc/resolv.conf"}, {o->hosts, "/etc/hosts"}};
        for (size_t i = 0; i < HS_ARRAY_LEN (files); i++) {
            if (!files[i][0]) continue;
            if (mount (files[i][0], files[i][1], NULL, MS_BIND, NULL) < 0)
                s_child_fail (c, 1, "bind-mount \"%s\" on %s: %s", files[i][0], files[i][1],
                              s_strerror (errno, eb, sizeof eb));
            /* Read-only for the container, as the kubelet mounts them. */
            mount (NULL, files[i][1], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
        }
        /* readOnlyRootFilesystem before the volumes: what they bind back
         * from / inherits its read-only flag (shim_sec.h, shim_mounts.h). */
        char merr[sizeof ((s_result_t *)0)->msg - 16];
        if (shim_sec_read_only_root (&o->sec, merr, sizeof merr) < 0)
            s_child_fail (c, 1, "%s", merr);
        /* The pod's volumes (shim_mounts.h). */
        if (o->n_mounts && shim_mounts_apply (o->mounts, o->n_mounts, o->state_dir,
                                              o->sec.read_only_root, merr, sizeof merr) < 0)
            s_child_fail (c, 1, "%s", merr);
        if (o->hostname && sethostname (o->hostname, strlen (o->hostname)) < 0)
            s_child_fail (c, 1, "sethostname \"%s\": %s", o->hostname,
                          s_strerror (errno, eb, sizeof eb));
    }
    const char *wd = o->workdir ? o->workdir : "/";
    if (chdir (wd) < 0)
        s_child_fail (c, 1, "chdir \"%s\": %s", wd, s_strerror (errno, eb, sizeof eb));

    int null = open ("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null < 0 || dup2 (null, 0) < 0 || dup2 (c->out_w, 1) < 0 || dup2 (c->err_w, 2) < 0)
        s_child_fail (c, 1, "set up stdio: %s", s_strerror (errno, eb, sizeof eb));

    /* Default dispositions and an empty mask: the shim's SIG_IGN of SIGPIPE
     * and its blocked signals must not reach the workload. */
    struct sigaction sa = {.sa_handler = SIG_DFL};
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP) sigaction (sig, &sa, NULL);
    sigset_t none;
    sigemptyset (&none);
    sigprocmask (SIG_SETMASK, &none, NULL);

    /* Last, so everything above ran with the shim's privileges. */
    char why[sizeof ((s_result_t *)0)->msg];
    if (shim_sec_apply (&o->sec, why, sizeof why) < 0) s_child_fail (c, 1, "%s", why);
    int err = s_exec (o->argv[0], o->argv, c->envp, c->path);
    s_child_fail (c, err == ENOENT ? 127 : 126, "exec \"%s\": %s", o->argv[0],
                  s_strerror (err, eb, sizeof eb));
}

/* The container's environment: exactly --env (the last KEY= wins), plus PATH
 * and HOSTNAME unless --env sets them. *ret_owned holds the one string made
 * here. The array is the caller's (free); its strings are borrowed. */
static char **s_build_env (const s_opts_t *o, const char *hostname, char **ret_owned,
                           const char **ret_path)
{
    char **envp = hs_calloc (o->n_env + 3, sizeof *envp);
    size_t n = 0;
    const char *path = NULL;
    bool has_hostname = false;
    for (size_t i = 0; i < o->n_env; i++) {
        if (hs_startswith (o->env[i], "PATH=")) path = o->env[i] + 5;
        if (hs_startswith (o->env[i], "HOSTNAME=")) has_hostname = true;
    }
    if (!path) envp[n++] = (char *)"PATH=" DEFAULT_PATH;
    *ret_owned = NULL;
    if (!has_hostname) envp[n++] = *ret_owned = hs_sprintf ("HOSTNAME=%s", hostname);
    for (size_t i = 0; i < o->n_env; i++) {
        size_t klen = (size_t)(strchr (o->env[i], '=') - o->env[i]) + 1;
        bool later = false;
        for (size_t j = i + 1; j < o->n_env && !later; j++)
            later = strncmp (o->env[i], o->env[j], klen) == 0;
        if (!later) envp[n++] = (char *)o->env[i];
    }
    *ret_path = path ? path : DEFAULT_PATH;
    return envp;
}

/* ------------------------------------------------------------------ the daemon */

static int s_write_state (self_t *self, int64_t started_at_ns, unsigned long long ticks)
{
    _cleanup_free_ char *text =
        hs_sprintf ("shim_pid=%d\npid=%d\nstarted_at_ns=%lld\nshim_started_ticks=%llu\n",
                    (int)getpid (), (int)self->pid, (long long)started_at_ns, ticks);
    return s_write_atomic (self->dirfd, "state", text);
}

static int s_write_exit (self_t *self)
{
    int code, sig = 0;
    if (WIFSIGNALED (self->status)) {
        sig = WTERMSIG (self->status);
        code = 128 + sig;
    } else
        code = WEXITSTATUS (self->status);
    _cleanup_free_ char *text = hs_sprintf ("exit_code=%d\nsignal=%d\nfinished_at_ns=%lld\n", code,
                                            sig, (long long)self->finished_at_ns);
    return s_write_atomic (self->dirfd, "exit", text);
}

/* Starts the container. 0, or -1 with *res saying why (nothing left running). */
static int s_start (self_t *self, s_result_t *res)
{
    const s_opts_t *o = self->opts;
    char eb[128];
    int r =
        shim_log_new (self->dirfd, "container.log", o->log_max_bytes, o->log_max_files, &self->log);
    if (r < 0) {
        s_result_set (res, 1, "open \"%s/container.log\": %s", o->state_dir,
                      s_strerror (-r, eb, sizeof eb));
        return -1;
    }
    char host[HOST_NAME_MAX + 1] = "";
    if (!o->hostname) gethostname (host, sizeof host - 1);
    _cleanup_free_ char *owned = NULL;
    const char *path;
    _cleanup_free_ char **envp = s_build_env (o, o->hostname ? o->hostname : host, &owned, &path);

    int outp[2], errp[2], rep[2];
    if (pipe2 (outp, O_CLOEXEC) < 0) goto sys_fail;
    if (pipe2 (errp, O_CLOEXEC) < 0) {
        close (outp[0]), close (outp[1]);
        goto sys_fail;
    }
    if (pipe2 (rep, O_CLOEXEC) < 0) {
        close (outp[0]), close (outp[1]), close (errp[0]), close (errp[1]);
        goto sys_fail;
    }
    /* Our next child is pid 1 of a new pid namespace, and stays our child.
     * Afterwards our children are born in our own namespace again: once the
     * container's init is gone, no fork could succeed in its namespace. */
    int own_pidns = -1;
    if (o->namespaces) {
        own_pidns = open ("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
        if (own_pidns < 0 || unshare (CLONE_NEWPID) < 0) {
            s_result_set (res, 1, "unshare pid namespace: %s", s_strerror (errno, eb, sizeof eb));
            if (own_pidns >= 0) close (own_pidns);
            close (outp[0]), close (outp[1]), close (errp[0]), close (errp[1]);
            close (rep[0]), close (rep[1]);
            return -1;
        }
    }
    pid_t pid = fork ();
    if (pid == 0) {
        close (outp[0]), close (errp[0]), close (rep[0]);
        s_child_t c = {o, envp, path, outp[1], errp[1], rep[1]};
        s_container (&c);
    }
    int fork_errno = errno;
    if (own_pidns >= 0) {
        if (setns (own_pidns, CLONE_NEWPID) < 0)
            log_warn ("cannot go back to our own pid namespace for children: %s", strerror (errno));
        close (own_pidns);
    }
    close (outp[1]), close (errp[1]), close (rep[1]);
    if (pid < 0) {
        close (outp[0]), close (errp[0]), close (rep[0]);
        s_result_set (res, 1, "fork: %s", s_strerror (fork_errno, eb, sizeof eb));
        return -1;
    }
    self->fds[0] = outp[0];
    self->fds[1] = errp[0];
    fcntl (outp[0], F_SETFL, O_NONBLOCK);
    fcntl (errp[0], F_SETFL, O_NONBLOCK);
    /* The agent's working directory must not stay busy for the container's life. */
    if (chdir ("/") < 0) log_warn ("chdir /: %s", strerror (errno));

    ssize_t n = s_read_full (rep[0], res, sizeof *res);
    close (rep[0]);
    if (n != 0) {
        if (n != (ssize_t)sizeof *res)
            s_result_set (res, 1, "container setup failed without saying why");
        res->msg[sizeof res->msg - 1] = '\0';
        while (waitpid (pid, NULL, 0) < 0 && errno == EINTR) {}
        return -1;
    }
    self->pid = pid;
    int64_t started_at = hs_now_ns ();
    unsigned long long ticks = 0;
    r = s_self_start_ticks (&ticks);
    if (r == 0) r = s_write_state (self, started_at, ticks);
    if (r < 0) {
        s_result_set (res, 1, "write \"%s/state\": %s", o->state_dir,
                      s_strerror (-r, eb, sizeof eb));
        kill (pid, SIGKILL);
        while (waitpid (pid, NULL, 0) < 0 && errno == EINTR) {}
        return -1;
    }
    log_info ("started %s as pid %d", o->argv[0], (int)pid);
    return 0;

sys_fail:
    s_result_set (res, 1, "pipe: %s", s_strerror (errno, eb, sizeof eb));
    return -1;
}

static void s_reap (self_t *self)
{
    int status;
    pid_t p;
    /* Orphans re-parented to us (we are a subreaper) are reaped and forgotten. */
    while ((p = waitpid (-1, &status, WNOHANG)) > 0) {
        if (p != self->pid || self->exited) continue;
        self->exited = true;
        self->status = status;
        self->finished_at_ns = hs_now_ns ();
        self->drain_deadline = hs_mono_ns () + DRAIN_AFTER_EXIT_MS * 1000000LL;
        if (WIFSIGNALED (status))
            log_info ("container pid %d killed by signal %d", (int)p, WTERMSIG (status));
        else
            log_info ("container pid %d exited with %d", (int)p, WEXITSTATUS (status));
    }
}

static void s_on_signals (self_t *self)
{
    struct signalfd_siginfo si;
    while (read (self->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        int sig = (int)si.ssi_signo;
        if (sig == SIGCHLD) {
            s_reap (self);
            continue;
        }
        /* Once reaped, the pid may be someone else's: nothing to forward to. */
        if (self->exited) continue;
        if (kill (self->pid, sig) < 0)
            log_warn ("cannot forward SIG%s to %d: %s", sigabbrev_np (sig), (int)self->pid,
                      strerror (errno));
        else
            log_info ("forwarded SIG%s to %d", sigabbrev_np (sig), (int)self->pid);
    }
}

static void s_close_stream (self_t *self, int i)
{
    shim_log_eof (self->log, (shim_log_stream_t)i, hs_now_ns ());
    close (self->fds[i]);
    self->fds[i] = -1;
}

static void s_on_output (self_t *self, int i)
{
    static char buf[READ_CHUNK];
    ssize_t n = read (self->fds[i], buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n < 0)
        log_warn ("reading the container's %s: %s", i ? "stderr" : "stdout", strerror (errno));
    if (n <= 0) {
        s_close_stream (self, i);
        return;
    }
    shim_log_feed (self->log, (shim_log_stream_t)i, buf, (size_t)n, hs_now_ns ());
    int err;
    if (!self->drop_logged && shim_log_dropped (self->log, &err) > 0) {
        self->drop_logged = true;
        log_error ("cannot write container.log: %s; dropping output (counted, logged once)",
                   strerror (err));
    }
}

/* The deadline in the --fence-lease file (monotonic ns) into *deadline;
 * false when it cannot be read. */
static bool s_read_lease (const char *path, int64_t *deadline)
{
    FILE *f = fopen (path, "re");
    char line[64] = "";
    bool ok = f && fgets (line, sizeof line, f);
    if (f) fclose (f);
    line[strcspn (line, "\n")] = '\0';
    return ok && hs_parse_i64 (line, deadline) == 0;
}

/* --fence-lease: the deadline in the file has passed (or the file cannot
 * be read): SIGKILL the container, once. The container is pid 1 of its pid
 * namespace, so everything in it goes with it. */
static void s_check_lease (self_t *self)
{
    const char *path = self->opts->fence_lease;
    if (!path || self->exited || self->fenced) return;
    int64_t now = hs_mono_ns ();
    if (now < self->lease_next) return; /* not at every chunk of output */
    self->lease_next = now + FENCE_CHECK_MS * 1000000LL;
    int64_t deadline = 0;
    bool ok = s_read_lease (path, &deadline);
    if (ok && now < deadline) return;
    self->fenced = true;
    if (ok)
        log_warn ("fence lease %s ran out %lld ms ago: SIGKILL to the container (pid %d)", path,
                  (long long)((now - deadline) / 1000000), (int)self->pid);
    else
        log_warn ("fence lease %s cannot be read: SIGKILL to the container (pid %d)", path,
                  (int)self->pid);
    if (kill (self->pid, SIGKILL) < 0)
        log_warn ("SIGKILL to %d: %s", (int)self->pid, strerror (errno));
}

/* Before the start: an at-most-one container starts only while the lease
 * runs (the agent may be fenced, or a restarted one not confirmed yet). */
static bool s_lease_valid (const char *path, s_result_t *res)
{
    int64_t deadline = 0;
    if (!s_read_lease (path, &deadline)) {
        s_result_set (res, 1,
                      "fence lease %s cannot be read: not starting an at-most-one container", path);
        return false;
    }
    int64_t now = hs_mono_ns ();
    if (now >= deadline) {
        s_result_set (res, 1,
                      "fence lease %s ran out %lld ms ago: not starting an at-most-one container",
                      path, (long long)((now - deadline) / 1000000));
        return false;
    }
    return true;
}

/* Until the container has exited and its pipes are drained (or the drain
 * deadline passed). */
static void s_loop (self_t *self)
{
    for (;;) {
        int timeout = -1;
        s_check_lease (self);
        if (self->opts->fence_lease && !self->exited && !self->fenced) timeout = FENCE_CHECK_MS;
        if (self->exited) {
            if (self->fds[0] < 0 && self->fds[1] < 0) break;
            int64_t left = self->drain_deadline - hs_mono_ns ();
            if (left <= 0) {
                log_warn ("container output still open %d ms after its exit (a descendant holds "
                          "it); stopped reading",
                          DRAIN_AFTER_EXIT_MS);
                break;
            }
            timeout = (int)((left + 999999) / 1000000);
        }
        struct pollfd pfd[3] = {
            {self->sigfd, POLLIN, 0},
            {self->fds[0], POLLIN, 0},
            {self->fds[1], POLLIN, 0},
        };
        int n = poll (pfd, 3, timeout);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            log_error ("poll: %s", strerror (errno));
            break;
        }
        if (pfd[0].revents) s_on_signals (self);
        for (int i = 0; i < 2; i++)
            if (self->fds[i] >= 0 && pfd[i + 1].revents) s_on_output (self, i);
    }
    for (int i = 0; i < 2; i++)
        if (self->fds[i] >= 0) s_close_stream (self, i);
}

/* The daemon, in the child of the foreground; result_w gets the start
 * result. Returns its exit code. */
static int s_daemon (const s_opts_t *o, int dirfd, int result_w)
{
    self_t self = {.opts = o, .dirfd = dirfd, .sigfd = -1, .fds = {-1, -1}};
    setsid ();
    /* Off the agent's pipes: a crashed agent must not take us down with
     * SIGPIPE or a full pipe. Our own log lines go to DIR/shim.log. */
    int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
    int logfd = openat (dirfd, "shim.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (null >= 0) dup2 (null, 0), dup2 (null, 1);
    dup2 (logfd >= 0 ? logfd : null, 2);
    if (null > 2) close (null);
    if (logfd > 2) close (logfd);
    signal (SIGPIPE, SIG_IGN);

    s_result_t res;
    char eb[128];
    sigset_t set;
    sigemptyset (&set);
    int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD};
    for (size_t i = 0; i < HS_ARRAY_LEN (sigs); i++) sigaddset (&set, sigs[i]);
    sigprocmask (SIG_BLOCK, &set, NULL);
    self.sigfd = signalfd (-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    int rc = 1;
    if (self.sigfd < 0)
        s_result_set (&res, 1, "signalfd: %s", s_strerror (errno, eb, sizeof eb));
    else if (prctl (PR_SET_CHILD_SUBREAPER, 1) < 0)
        s_result_set (&res, 1, "set child subreaper: %s", s_strerror (errno, eb, sizeof eb));
    else if (o->fence_lease && !s_lease_valid (o->fence_lease, &res))
        ; /* fenced: an at-most-one container does not start */
    else if (s_start (&self, &res) == 0) {
        s_result_set (&res, 0, "started");
        rc = 0;
    }
    if (rc != 0) log_error ("%s", res.msg);
    /* The foreground may be gone already (the agent died): EPIPE is fine. */
    s_write_all (result_w, &res, sizeof res);
    close (result_w);

    if (rc == 0) {
        s_loop (&self);
        int err;
        uint64_t dropped = shim_log_dropped (self.log, &err);
        if (dropped > 0)
            log_error ("%llu container.log records dropped (first error: %s)",
                       (unsigned long long)dropped, strerror (err));
        int r = s_write_exit (&self);
        if (r < 0) {
            log_error ("cannot write %s/exit: %s", o->state_dir, strerror (-r));
            rc = 1;
        }
    }
    shim_log_destroy (&self.log);
    if (self.fds[0] >= 0) close (self.fds[0]);
    if (self.fds[1] >= 0) close (self.fds[1]);
    if (self.sigfd >= 0) close (self.sigfd);
    return rc;
}

/* ------------------------------------------------------------------ the foreground */

/* The one line the agent reads on our stderr, also kept in DIR/error. */
static int s_fail (int dirfd, int code, const char *msg)
{
    fprintf (stderr, "%s\n", msg);
    if (dirfd >= 0) {
        _cleanup_free_ char *text = hs_sprintf ("%s\n", msg);
        s_write_atomic (dirfd, "error", text);
    }
    return code;
}

static int s_run (const s_opts_t *o)
{
    char eb[128];
    int r = hs_mkdir_p (o->state_dir, 0700);
    if (r < 0) {
        fprintf (stderr, "mkdir \"%s\": %s\n", o->state_dir, s_strerror (-r, eb, sizeof eb));
        return 1;
    }
    int dirfd = open (o->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        fprintf (stderr, "open \"%s\": %s\n", o->state_dir, s_strerror (errno, eb, sizeof eb));
        return 1;
    }
    /* A fresh DIR per run: an old state or exit would be taken for ours. */
    const char *old = faccessat (dirfd, "state", F_OK, 0) == 0  ? "state"
                      : faccessat (dirfd, "exit", F_OK, 0) == 0 ? "exit"
                                                                : NULL;
    if (old) {
        fprintf (stderr, "state directory \"%s\" was used by an earlier run (it holds %s)\n",
                 o->state_dir, old);
        close (dirfd);
        return 1;
    }
    unlinkat (dirfd, "error", 0);

    int rp[2];
    if (pipe2 (rp, O_CLOEXEC) < 0) {
        _cleanup_free_ char *m = hs_sprintf ("pipe: %s", s_strerror (errno, eb, sizeof eb));
        r = s_fail (dirfd, 1, m);
        close (dirfd);
        return r;
    }
    fflush (NULL);
    pid_t pid = fork ();
    if (pid == 0) {
        close (rp[0]);
        r = s_daemon (o, dirfd, rp[1]);
        close (dirfd);
        return r;
    }
    int fork_errno = errno;
    close (rp[1]);
    s_result_t res;
    ssize_t n = pid < 0 ? 0 : s_read_full (rp[0], &res, sizeof res);
    close (rp[0]);
    if (pid < 0)
        s_result_set (&res, 1, "fork: %s", s_strerror (fork_errno, eb, sizeof eb));
    else if (n != (ssize_t)sizeof res)
        s_result_set (&res, 1, "the shim daemon died before the container started");
    res.msg[sizeof res.msg - 1] = '\0';
    if (res.code == 0) {
        close (dirfd);
        return 0;
    }
    /* It exits right after a failed start: wait, so that none remains. */
    if (pid > 0)
        while (waitpid (pid, NULL, 0) < 0 && errno == EINTR) {}
    r = s_fail (dirfd, res.code, res.msg);
    close (dirfd);
    return r;
}

/* ------------------------------------------------------------------ --exec */

/* The one answer of --exec mode, on stdout: head line, then output. */
static int s_exec_answer (const char *head, const char *out, size_t len)
{
    signal (SIGPIPE, SIG_IGN); /* the agent gave up on us: EPIPE, not death */
    if (s_write_all (1, head, strlen (head)) < 0 || s_write_all (1, "\n", 1) < 0 ||
        (len && s_write_all (1, out, len) < 0))
        return 1;
    return 0;
}

static int s_exec_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
static int s_exec_error (const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (msg, sizeof msg, fmt, ap);
    va_end (ap);
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    _cleanup_free_ char *head = hs_sprintf ("error %s", msg);
    s_exec_answer (head, NULL, 0);
    return 1;
}

/* The command's process, in the container's namespaces: its own session
 * and process group (so a timeout kills everything it started), killed
 * when the helper dies, stdout and stderr on the output pipe. */
static void s_exec_child (const s_opts_t *o, char **envp, const char *path, int out_w, int err_w,
                          int report_w, pid_t helper) __attribute__ ((noreturn));
static void s_exec_child (const s_opts_t *o, char **envp, const char *path, int out_w, int err_w,
                          int report_w, pid_t helper)
{
    s_child_t c = {.opts = o, .report_w = report_w};
    char eb[128];
    setsid ();
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    if (getppid () != helper && getppid () != 0) _exit (1); /* the helper is already gone */
    int null = open ("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null < 0 || dup2 (null, 0) < 0 || dup2 (out_w, 1) < 0 || dup2 (err_w, 2) < 0)
        s_child_fail (&c, 1, "set up stdio: %s", s_strerror (errno, eb, sizeof eb));
    struct sigaction sa = {.sa_handler = SIG_DFL};
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP) sigaction (sig, &sa, NULL);
    sigset_t none;
    sigemptyset (&none);
    sigprocmask (SIG_SETMASK, &none, NULL);
    /* The container's own hardening (the agent passes it), then the death
     * signal again: a change of user clears it. */
    char why[sizeof ((s_result_t *)0)->msg];
    if (shim_sec_apply (&o->sec, why, sizeof why) < 0) s_child_fail (&c, 1, "%s", why);
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    if (getppid () != helper && getppid () != 0) _exit (1);
    int err = s_exec (o->argv[0], o->argv, envp, path);
    s_child_fail (&c, err == ENOENT ? 127 : 126, "exec \"%s\": %s", o->argv[0],
                  s_strerror (err, eb, sizeof eb));
}

/* Joins the container (cgroups, then namespaces: all opened before the
 * mount namespace changes what /proc is), runs the command, answers. */
static int s_exec_main (const s_opts_t *o)
{
    char eb[128];
    static const struct {
        const char *name;
        int type;
    } nss[] = {{"net", CLONE_NEWNET},
               {"ipc", CLONE_NEWIPC},
               {"uts", CLONE_NEWUTS},
               {"pid", CLONE_NEWPID},
               {"mnt", CLONE_NEWNS}};
    /* Before any goto out: their cleanup runs there. */
    _cleanup_free_ char *owned = NULL;
    _cleanup_free_ char **envp = NULL;
    const char *path = NULL;
    char host[HOST_NAME_MAX + 1] = "";
    int fds[HS_ARRAY_LEN (nss)];
    for (size_t i = 0; i < HS_ARRAY_LEN (nss); i++) {
        char nspath[64], own[64];
        snprintf (nspath, sizeof nspath, "/proc/%d/ns/%s", (int)o->exec_pid, nss[i].name);
        snprintf (own, sizeof own, "/proc/self/ns/%s", nss[i].name);
        fds[i] = open (nspath, O_RDONLY | O_CLOEXEC);
        if (fds[i] < 0) {
            int e = errno;
            for (size_t j = 0; j < i; j++)
                if (fds[j] >= 0) close (fds[j]);
            if (e == ENOENT || e == ESRCH) return s_exec_error ("container not running");
            return s_exec_error ("open %s: %s", nspath, s_strerror (e, eb, sizeof eb));
        }
        /* Already ours (a container run with --no-namespaces): nothing to join. */
        struct stat a, b;
        if (fstat (fds[i], &a) == 0 && stat (own, &b) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino) {
            close (fds[i]);
            fds[i] = -1;
        }
    }
    int rc = 1;
    for (size_t i = 0; i < o->n_cgroup_procs; i++) {
        int fd = open (o->cgroup_procs[i], O_WRONLY | O_CLOEXEC);
        if (fd < 0 || s_write_all (fd, "0", 1) < 0) {
            int e = errno;
            if (fd >= 0) close (fd);
            s_exec_error ("join cgroup \"%s\": %s", o->cgroup_procs[i],
                          s_strerror (e, eb, sizeof eb));
            goto out;
        }
        close (fd);
    }
    for (size_t i = 0; i < HS_ARRAY_LEN (nss); i++) {
        if (fds[i] < 0) continue;
        if (setns (fds[i], nss[i].type) < 0) {
            s_exec_error ("join the container's %s namespace: %s", nss[i].name,
                          s_strerror (errno, eb, sizeof eb));
            goto out;
        }
    }
    const char *wd = o->workdir ? o->workdir : "/";
    if (chdir (wd) < 0) {
        s_exec_error ("chdir \"%s\": %s", wd, s_strerror (errno, eb, sizeof eb));
        goto out;
    }
    gethostname (host, sizeof host - 1);
    envp = s_build_env (o, host, &owned, &path);

    /* --stream: stderr apart (errp); otherwise both on outp. */
    int outp[2], rep[2], errp[2] = {-1, -1};
    if (pipe2 (outp, O_CLOEXEC) < 0) {
        s_exec_error ("pipe: %s", s_strerror (errno, eb, sizeof eb));
        goto out;
    }
    if (pipe2 (rep, O_CLOEXEC) < 0 || (o->stream && pipe2 (errp, O_CLOEXEC) < 0)) {
        s_exec_error ("pipe: %s", s_strerror (errno, eb, sizeof eb));
        close (outp[0]), close (outp[1]);
        goto out;
    }
    if (o->stream) shim_stream_signals ();
    pid_t helper = getpid ();
    pid_t pid = fork ();
    if (pid == 0) {
        close (outp[0]), close (rep[0]);
        if (errp[0] >= 0) close (errp[0]);
        s_exec_child (o, envp, path, outp[1], o->stream ? errp[1] : outp[1], rep[1], helper);
    }
    int fork_errno = errno;
    close (outp[1]), close (rep[1]);
    if (errp[1] >= 0) close (errp[1]);
    if (pid < 0) {
        close (outp[0]), close (rep[0]);
        if (errp[0] >= 0) close (errp[0]);
        /* ENOMEM: the pid namespace has no init any more. */
        if (fork_errno == ENOMEM)
            s_exec_error ("container not running");
        else
            s_exec_error ("fork: %s", s_strerror (fork_errno, eb, sizeof eb));
        goto out;
    }
    s_result_t res;
    ssize_t n = s_read_full (rep[0], &res, sizeof res);
    close (rep[0]);
    if (n != 0) {
        close (outp[0]);
        while (waitpid (pid, NULL, 0) < 0 && errno == EINTR) {}
        if (errp[0] >= 0) close (errp[0]);
        if (n != (ssize_t)sizeof res) s_result_set (&res, 1, "the command failed to start");
        res.msg[sizeof res.msg - 1] = '\0';
        /* --stream: the shell's codes for a command not found (127) or
         * not executable (126), as `docker exec` answers. */
        if (o->stream && (res.code == 126 || res.code == 127)) {
            _cleanup_free_ char *head = hs_sprintf ("fail %d %s", (int)res.code, res.msg);
            rc = s_exec_answer (head, NULL, 0);
        } else
            s_exec_error ("%s", res.msg);
        goto out;
    }
    if (o->stream) {
        rc = shim_stream_run (pid, outp[0], errp[0], o->timeout_ms);
        goto out;
    }
    int pidfd = (int)syscall (SYS_pidfd_open, pid, 0);
    fcntl (outp[0], F_SETFL, O_NONBLOCK);
    static char out[EXEC_OUTPUT_MAX];
    size_t got = 0;
    int status = 0;
    bool exited = false, timed_out = false;
    int64_t deadline = hs_mono_ns () + o->timeout_ms * 1000000LL, drain_until = 0;
    int rfd = outp[0];
    for (;;) {
        int64_t now = hs_mono_ns ();
        if (exited && (rfd < 0 || now >= drain_until)) break;
        if (!exited && now >= deadline) {
            kill (-pid, SIGKILL); /* its process group: what it started too */
            kill (pid, SIGKILL);
            while (waitpid (pid, &status, 0) < 0 && errno == EINTR) {}
            timed_out = true;
            break;
        }
        int64_t until = exited ? drain_until : deadline;
        int timeout = (int)((until - now + 999999) / 1000000);
        struct pollfd pfd[2] = {{rfd, POLLIN, 0}, {exited ? -1 : pidfd, POLLIN, 0}};
        /* No pidfd (an old kernel): look at the child every 10 ms. */
        if (pidfd < 0 && !exited && timeout > 10) timeout = 10;
        int k = poll (pfd, 2, timeout);
        if (k < 0 && errno != EINTR) break;
        if (rfd >= 0 && pfd[0].revents) {
            char buf[READ_CHUNK];
            ssize_t r = read (rfd, buf, sizeof buf);
            if (r > 0) {
                size_t keep = got + (size_t)r > sizeof out ? sizeof out - got : (size_t)r;
                memcpy (out + got, buf, keep);
                got += keep;
            } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                close (rfd);
                rfd = -1;
            }
        }
        if (!exited && (pfd[1].revents || pidfd < 0)) {
            pid_t w = waitpid (pid, &status, pidfd < 0 ? WNOHANG : 0);
            if (w == pid) {
                exited = true;
                drain_until = hs_mono_ns () + EXEC_DRAIN_MS * 1000000LL;
            }
        }
    }
    if (rfd >= 0) close (rfd);
    if (pidfd >= 0) close (pidfd);
    if (timed_out) {
        rc = s_exec_answer ("timeout", out, got);
    } else {
        int code = WIFSIGNALED (status) ? 128 + WTERMSIG (status) : WEXITSTATUS (status);
        char head[32];
        snprintf (head, sizeof head, "exit %d", code);
        rc = s_exec_answer (head, out, got);
    }
out:
    for (size_t i = 0; i < HS_ARRAY_LEN (nss); i++)
        if (fds[i] >= 0) close (fds[i]);
    return rc;
}

/* --env-stdin: the KEY=VALUE records on stdin (NUL-separated, at most
 * ENV_STDIN_MAX bytes) join --env's, after them. *ret_block holds them.
 * 0, or -1 after printing an error. */
#define ENV_STDIN_MAX (64u << 20)
static int s_env_stdin (s_opts_t *o, char **ret_block)
{
    hs_buf_t b = {0};
    char buf[65536];
    for (;;) {
        ssize_t k = read (0, buf, sizeof buf);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            fprintf (stderr, "hs-shim: --env-stdin: read: %s\n", strerror (errno));
            hs_buf_free (&b);
            return -1;
        }
        if (k == 0) break;
        if (b.len + (size_t)k > ENV_STDIN_MAX) {
            fprintf (stderr, "hs-shim: --env-stdin: more than %u bytes\n", ENV_STDIN_MAX);
            hs_buf_free (&b);
            return -1;
        }
        hs_buf_append (&b, buf, (size_t)k);
    }
    size_t len = b.len;
    char *block = hs_buf_take (&b);
    size_t count = 0;
    for (size_t i = 0; i < len; i++) count += block[i] == '\0';
    if (len && block[len - 1] != '\0') count++;
    o->env = hs_realloc (o->env, (o->n_env + count + 1) * sizeof *o->env);
    for (size_t i = 0; i < len;) {
        const char *rec = block + i;
        size_t rl = strnlen (rec, len - i);
        if (!memchr (rec, '=', rl) || rec[0] == '=') {
            fprintf (stderr, "hs-shim: --env-stdin: a record is not KEY=VALUE\n");
            free (block);
            return -1;
        }
        o->env[o->n_env++] = rec;
        i += rl + 1;
    }
    *ret_block = block;
    return 0;
}

int main (int argc, char **argv)
{
    /* Nothing the agent leaked to us may live on in a long-lived daemon. */
    close_range (3, ~0u, 0);
    hs_log_init ("hs-shim");
    s_opts_t opts = {0};
    int r = s_parse (argc, argv, &opts);
    /* Before --exec too: an exec with a container's Secret variables
     * should take them this way, not as --env. */
    _cleanup_free_ char *env_block = NULL;
    if (r == 0 && opts.env_stdin) r = s_env_stdin (&opts, &env_block);
    if (r == 0 && opts.exec_pid) {
        /* In the container's mount namespace /proc is the container's: no
         * exit handler may run (a sanitizer's leak check reads /proc/self
         * and spins there). The answer is written; the agent reads to EOF. */
        _exit (s_exec_main (&opts));
    }
    int rc = r < 0 ? 1 : r > 0 ? 0 : s_run (&opts);
    free (opts.cgroup_procs);
    free (opts.env);
    free (opts.mounts);
    shim_sec_free (&opts.sec);
    return rc;
}
