/*  agent_cni.c: CNI configurations, results, leases, and plugin calls as
 *  polled children (see agent_cni.h).
 *
 *  JSON goes through hs_pbjson's trees (libyaml reads JSON; the writer
 *  escapes strings): the results we read are small and flat, and the
 *  configurations we write are ours, so no second JSON library is needed.
 */
#include "agent_cni.h"

#include "hs_pbjson.h"
#include "hs_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define ERR_MAX 4096 /* stderr kept */

/* ------------------------------------------------------------------ configurations */

bool agent_cni_mode_valid (const char *mode)
{
    return hs_streq (mode, "bridge") || hs_streq (mode, "ptp");
}

static void s_str (hs_tree_t *map, const char *key, const char *value)
{
    hs_tree_add (map, key, hs_tree_scalar (value, true));
}

static void s_lit (hs_tree_t *map, const char *key, const char *literal)
{
    hs_tree_add (map, key, hs_tree_scalar (literal, false));
}

static char *s_json (const hs_tree_t *t)
{
    return hs_tree_to_text (t, HS_FMT_JSON | HS_FMT_COMPACT);
}

char *agent_cni_loopback_conf (void)
{
    hs_tree_t *t = hs_tree_new (HS_TREE_MAP);
    s_str (t, "cniVersion", AGENT_CNI_VERSION);
    s_str (t, "name", AGENT_CNI_NETWORK "-lo");
    s_str (t, "type", "loopback");
    char *s = s_json (t);
    hs_tree_free (t);
    return s;
}

char *agent_cni_conf (const agent_cni_net_t *net, const char *prev_result, char **ret_err)
{
    *ret_err = NULL;
    if (!agent_cni_mode_valid (net->mode)) {
        *ret_err = hs_sprintf ("unknown pod network mode \"%s\" (bridge or ptp)", hs_s (net->mode));
        return NULL;
    }
    hs_tree_t *prev = NULL;
    if (prev_result) {
        hs_tree_t **docs = NULL;
        size_t n = 0;
        char *err = NULL;
        if (hs_yaml_parse (prev_result, strlen (prev_result), &docs, &n, &err) < 0 || n != 1 ||
            docs[0]->type != HS_TREE_MAP) {
            *ret_err = hs_sprintf ("the stored result is not a JSON object: %s",
                                   err ? err : "not one object");
            free (err);
            hs_trees_free (docs, n);
            return NULL;
        }
        prev = docs[0];
        docs[0] = NULL;
        hs_trees_free (docs, n);
    }
    hs_tree_t *t = hs_tree_new (HS_TREE_MAP);
    s_str (t, "cniVersion", AGENT_CNI_VERSION);
    s_str (t, "name", AGENT_CNI_NETWORK);
    s_str (t, "type", net->mode);
    if (hs_streq (net->mode, "bridge")) {
        s_str (t, "bridge", AGENT_CNI_BRIDGE);
        s_lit (t, "isGateway", "true");
        s_lit (t, "hairpinMode", "true");
    }
    /* Masquerade is hs-proxy's (nftables), not the plugins' iptables. */
    s_lit (t, "ipMasq", "false");
    if (net->mtu > 0) {
        char mtu[16];
        snprintf (mtu, sizeof mtu, "%d", net->mtu);
        s_lit (t, "mtu", mtu);
    }
    hs_tree_t *ipam = hs_tree_new (HS_TREE_MAP);
    s_str (ipam, "type", "host-local");
    hs_tree_t *range = hs_tree_new (HS_TREE_MAP);
    s_str (range, "subnet", net->subnet);
    hs_tree_t *set = hs_tree_new (HS_TREE_SEQ);
    hs_tree_add (set, NULL, range);
    hs_tree_t *ranges = hs_tree_new (HS_TREE_SEQ);
    hs_tree_add (ranges, NULL, set);
    hs_tree_add (ipam, "ranges", ranges);
    hs_tree_t *route = hs_tree_new (HS_TREE_MAP);
    s_str (route, "dst", "0.0.0.0/0");
    hs_tree_t *routes = hs_tree_new (HS_TREE_SEQ);
    hs_tree_add (routes, NULL, route);
    hs_tree_add (ipam, "routes", routes);
    s_str (ipam, "dataDir", net->data_dir);
    hs_tree_add (t, "ipam", ipam);
    if (prev) hs_tree_add (t, "prevResult", prev);
    char *s = s_json (t);
    hs_tree_free (t);
    return s;
}

/* ------------------------------------------------------------------ results */

static const char *s_scalar (const hs_tree_t *map, const char *key)
{
    const hs_tree_t *v = map && map->type == HS_TREE_MAP ? hs_tree_get (map, key) : NULL;
    return v && v->type == HS_TREE_SCALAR ? v->scalar : NULL;
}

static int s_parse_one (const char *json, size_t len, hs_tree_t **ret, char **ret_err)
{
    hs_tree_t **docs = NULL;
    size_t n = 0;
    char *err = NULL;
    if (hs_yaml_parse (json, len, &docs, &n, &err) < 0) {
        *ret_err = hs_sprintf ("not JSON: %s", err ? err : "?");
        free (err);
        return -EINVAL;
    }
    if (n != 1 || docs[0]->type != HS_TREE_MAP) {
        hs_trees_free (docs, n);
        *ret_err = hs_strdup ("not a JSON object");
        return -EINVAL;
    }
    *ret = docs[0];
    docs[0] = NULL;
    hs_trees_free (docs, n);
    return 0;
}

int agent_cni_parse_result (const char *json, size_t len, agent_cni_result_t *ret, char **ret_err)
{
    *ret_err = NULL;
    hs_tree_t *t = NULL;
    int r = s_parse_one (json, len, &t, ret_err);
    if (r < 0) return r;
    const hs_tree_t *ifs = hs_tree_get (t, "interfaces");
    const hs_tree_t *ips = hs_tree_get (t, "ips");
    if (!ips || ips->type != HS_TREE_SEQ || ips->n == 0) {
        hs_tree_free (t);
        *ret_err = hs_strdup ("the result has no ips");
        return -EINVAL;
    }
    /* The sandbox's interface: the one with a sandbox path. */
    int64_t sandbox_if = -1;
    const char *veth = NULL;
    for (size_t i = 0; ifs && ifs->type == HS_TREE_SEQ && i < ifs->n; i++) {
        const char *sb = s_scalar (ifs->items[i], "sandbox");
        const char *name = s_scalar (ifs->items[i], "name");
        if (!hs_empty (sb)) {
            if (sandbox_if < 0) sandbox_if = (int64_t)i;
        } else if (name && !hs_streq (name, AGENT_CNI_BRIDGE) && !veth) {
            veth = name;
        }
    }
    const hs_tree_t *pick = NULL;
    for (int pass = 0; pass < 2 && !pick; pass++)
        for (size_t i = 0; i < ips->n && !pick; i++) {
            const char *addr = s_scalar (ips->items[i], "address");
            if (!addr || strchr (addr, ':')) continue; /* IPv6 */
            int64_t ifx = -1;
            const char *is = s_scalar (ips->items[i], "interface");
            if (is) hs_parse_i64 (is, &ifx);
            if (pass == 1 || sandbox_if < 0 || ifx == sandbox_if) pick = ips->items[i];
        }
    const char *addr = pick ? s_scalar (pick, "address") : NULL;
    const char *slash = addr ? strchr (addr, '/') : NULL;
    int64_t prefix = -1;
    char ip[64] = "";
    if (slash && (size_t)(slash - addr) < sizeof ip) {
        memcpy (ip, addr, (size_t)(slash - addr));
        ip[slash - addr] = '\0';
        if (hs_parse_i64 (slash + 1, &prefix) < 0) prefix = -1;
    }
    unsigned char a[4];
    if (!addr || prefix < 0 || prefix > 32 ||
        sscanf (ip, "%hhu.%hhu.%hhu.%hhu", &a[0], &a[1], &a[2], &a[3]) != 4) {
        *ret_err = hs_sprintf ("the result has no IPv4 address/prefix (ips[].address: %s)",
                               addr ? addr : "none");
        hs_tree_free (t);
        return -EINVAL;
    }
    memset (ret, 0, sizeof *ret);
    ret->ip = hs_strdup (ip);
    ret->prefix = (int)prefix;
    const char *gw = s_scalar (pick, "gateway");
    ret->gateway = hs_empty (gw) ? NULL : hs_strdup (gw);
    ret->host_veth = hs_strdup (veth);
    hs_tree_free (t);
    return 0;
}

void agent_cni_result_free (agent_cni_result_t *r)
{
    free (r->ip);
    free (r->gateway);
    free (r->host_veth);
    memset (r, 0, sizeof *r);
}

char *agent_cni_error_text (const char *plugin, const char *command, const char *out,
                            size_t out_len, const char *err, int wait_status)
{
    hs_tree_t *t = NULL;
    char *perr = NULL;
    const char *msg = NULL, *code = NULL, *details = NULL;
    if (out && out_len && s_parse_one (out, out_len, &t, &perr) == 0) {
        msg = s_scalar (t, "msg");
        code = s_scalar (t, "code");
        details = s_scalar (t, "details");
    }
    free (perr);
    char *s;
    if (msg) {
        s = hs_sprintf ("plugin %s %s failed (code %s): %s%s%s", plugin, command, code ? code : "?",
                        msg, hs_empty (details) ? "" : ": ", hs_empty (details) ? "" : details);
    } else {
        char how[64];
        if (WIFEXITED (wait_status))
            snprintf (how, sizeof how, "exited %d", WEXITSTATUS (wait_status));
        else if (WIFSIGNALED (wait_status))
            snprintf (how, sizeof how, "killed by signal %d", WTERMSIG (wait_status));
        else
            snprintf (how, sizeof how, "ended");
        size_t el = err ? strcspn (err, "\n") : 0;
        s = hs_sprintf ("plugin %s %s %s%s%.*s", plugin, command, how, el ? ": " : "", (int)el,
                        el ? err : "");
    }
    hs_tree_free (t);
    return s;
}

/* ------------------------------------------------------------------ leases */

void agent_cni_strv_free (char **v)
{
    for (size_t i = 0; v && v[i]; i++) free (v[i]);
    free (v);
}

/* Walks the lease files: with id NULL collects the distinct owners, else
 * the file names (IPs) owned by id. */
static int s_leases (const char *data_dir, const char *id, char ***ret)
{
    *ret = NULL;
    _cleanup_free_ char *dir = hs_sprintf ("%s/%s", data_dir, AGENT_CNI_NETWORK);
    DIR *d = opendir (dir);
    if (!d) return errno == ENOENT ? 0 : -errno;
    char **v = hs_calloc (1, sizeof *v);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir (d))) {
        unsigned char a[4];
        char tail;
        /* Only IPv4 lease files: not lock, not last_reserved_ip.N. */
        if (sscanf (e->d_name, "%hhu.%hhu.%hhu.%hhu%c", &a[0], &a[1], &a[2], &a[3], &tail) != 4)
            continue;
        char path[4096], buf[256];
        snprintf (path, sizeof path, "%s/%s", dir, e->d_name);
        int fd = open (path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ssize_t k = read (fd, buf, sizeof buf - 1);
        close (fd);
        if (k <= 0) continue;
        buf[k] = '\0';
        buf[strcspn (buf, "\r\n")] = '\0';
        const char *add = NULL;
        if (id) {
            if (hs_streq (buf, id)) add = e->d_name;
        } else {
            bool seen = false;
            for (size_t i = 0; i < n && !seen; i++) seen = hs_streq (v[i], buf);
            if (!seen && buf[0]) add = buf;
        }
        if (!add) continue;
        v = hs_realloc (v, (n + 2) * sizeof *v);
        v[n++] = hs_strdup (add);
        v[n] = NULL;
    }
    closedir (d);
    *ret = v;
    return (int)n;
}

int agent_cni_leases (const char *data_dir, char ***ret_ids)
{
    return s_leases (data_dir, NULL, ret_ids);
}

int agent_cni_leases_of (const char *data_dir, const char *id, char ***ret_ips)
{
    return s_leases (data_dir, id, ret_ips);
}

/* ------------------------------------------------------------------ one call */

struct agent_cni_op_t {
    char *plugin, *command;
    pid_t pid;
    int pidfd;
    int out_fd, err_fd; /* -1 at EOF */
    hs_loop_io_t *out_io, *err_io, *pid_io;
    hs_buf_t out, err;
    bool reaped;
    int status;
    int64_t started, deadline; /* monotonic ns */
    bool timed_out;
};

int64_t agent_cni_timeout_ns (const char *command)
{
    if (hs_streq (command, "DEL")) return AGENT_CNI_TIMEOUT_DEL_NS;
    if (hs_streq (command, "CHECK")) return AGENT_CNI_TIMEOUT_CHECK_NS;
    return AGENT_CNI_TIMEOUT_ADD_NS;
}

static void s_wake (void *arg, int fd, uint32_t revents)
{
    (void)arg, (void)fd, (void)revents;
}

/* Reads what is there; at EOF (or an error) closes the pipe. */
static void s_drain (int *fd, hs_loop_io_t **io, hs_buf_t *b, size_t max)
{
    char buf[4096];
    while (*fd >= 0) {
        ssize_t k = read (*fd, buf, sizeof buf);
        if (k > 0) {
            if (b->len < max)
                hs_buf_append (b, buf, b->len + (size_t)k > max ? max - b->len : (size_t)k);
            continue;
        }
        if (k < 0 && errno == EINTR) continue;
        if (k < 0 && errno == EAGAIN) return;
        hs_loop_io_free (io);
        close (*fd);
        *fd = -1;
    }
}

int agent_cni_op_start (hs_loop_t *loop, const char *bin_dir, const char *plugin,
                        const char *command, const char *id, const char *netns, const char *ifname,
                        const char *conf, agent_cni_op_t **ret)
{
    int in[2], out[2], err[2];
    if (pipe2 (in, O_CLOEXEC) < 0) return -errno;
    if (pipe2 (out, O_CLOEXEC) < 0) {
        int e = -errno;
        close (in[0]), close (in[1]);
        return e;
    }
    if (pipe2 (err, O_CLOEXEC) < 0) {
        int e = -errno;
        close (in[0]), close (in[1]), close (out[0]), close (out[1]);
        return e;
    }
    /* Our read ends only are non-blocking (each end of a pipe is its own
     * open file description): the plugin gets ordinary blocking stdio. */
    fcntl (out[0], F_SETFL, O_NONBLOCK);
    fcntl (err[0], F_SETFL, O_NONBLOCK);
    _cleanup_free_ char *prog = hs_sprintf ("%s/%s", bin_dir, plugin);
    char *envp[] = {hs_sprintf ("CNI_COMMAND=%s", command),
                    hs_sprintf ("CNI_CONTAINERID=%s", id),
                    hs_sprintf ("CNI_NETNS=%s", netns ? netns : ""),
                    hs_sprintf ("CNI_IFNAME=%s", ifname),
                    hs_sprintf ("CNI_PATH=%s", bin_dir),
                    hs_strdup ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
                    NULL};
    char *argv[] = {(char *)plugin, NULL};
    /* posix_spawn (glibc: clone with CLONE_VM|CLONE_VFORK): a fork of the
     * agent would copy its page tables for every call. The child's stdio
     * are the pipes; its signal mask is empty and SIGPIPE default. */
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init (&fa);
    posix_spawn_file_actions_adddup2 (&fa, in[0], 0);
    posix_spawn_file_actions_adddup2 (&fa, out[1], 1);
    posix_spawn_file_actions_adddup2 (&fa, err[1], 2);
    posix_spawnattr_init (&at);
    sigset_t none, dfl;
    sigemptyset (&none);
    sigemptyset (&dfl);
    sigaddset (&dfl, SIGPIPE);
    posix_spawnattr_setsigmask (&at, &none);
    posix_spawnattr_setsigdefault (&at, &dfl);
    posix_spawnattr_setflags (&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    int se = posix_spawn (&pid, prog, &fa, &at, argv, envp);
    posix_spawn_file_actions_destroy (&fa);
    posix_spawnattr_destroy (&at);
    for (size_t i = 0; envp[i]; i++) free (envp[i]);
    close (in[0]), close (out[1]), close (err[1]);
    if (se == ENOENT || se == EACCES || se == ENOEXEC || se == ENOTDIR) {
        /* No plugin to run: reported as its exit would be (127/126 and a
         * line on stderr), through the same path as any other failure. */
        close (in[1]), close (out[0]), close (err[0]);
        agent_cni_op_t *op = hs_calloc (1, sizeof *op);
        op->plugin = hs_strdup (plugin);
        op->command = hs_strdup (command);
        op->out_fd = op->err_fd = op->pidfd = -1;
        op->reaped = true;
        op->status = (se == ENOENT || se == ENOTDIR ? 127 : 126) << 8;
        hs_buf_printf (&op->err, "exec %s: %s\n", prog,
                       se == ENOENT || se == ENOTDIR ? "no such file or directory" : strerror (se));
        *ret = op;
        return 0;
    }
    if (se != 0) {
        close (in[1]), close (out[0]), close (err[0]);
        return -se;
    }
    /* The configuration is a few KiB, well under a pipe's buffer: the write
     * does not wait for the child. A child that died at once (EPIPE) says
     * so through its exit status. */
    signal (SIGPIPE, SIG_IGN);
    size_t len = strlen (conf), off = 0;
    while (off < len) {
        ssize_t k = write (in[1], conf + off, len - off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        off += (size_t)k;
    }
    close (in[1]);
    agent_cni_op_t *op = hs_calloc (1, sizeof *op);
    op->plugin = hs_strdup (plugin);
    op->command = hs_strdup (command);
    op->pid = pid;
    op->started = hs_mono_ns ();
    op->deadline = op->started + agent_cni_timeout_ns (command);
    op->out_fd = out[0];
    op->err_fd = err[0];
    op->pidfd = (int)syscall (SYS_pidfd_open, pid, 0);
    if (loop) {
        op->out_io = hs_loop_io (loop, op->out_fd, EPOLLIN, s_wake, NULL);
        op->err_io = hs_loop_io (loop, op->err_fd, EPOLLIN, s_wake, NULL);
        if (op->pidfd >= 0) op->pid_io = hs_loop_io (loop, op->pidfd, EPOLLIN, s_wake, NULL);
    }
    *ret = op;
    return 0;
}

static void s_close (int *fd, hs_loop_io_t **io)
{
    hs_loop_io_free (io);
    if (*fd >= 0) close (*fd);
    *fd = -1;
}

bool agent_cni_op_poll (agent_cni_op_t *op)
{
    s_drain (&op->out_fd, &op->out_io, &op->out, AGENT_CNI_OUTPUT_MAX);
    s_drain (&op->err_fd, &op->err_io, &op->err, ERR_MAX);
    if (!op->reaped && !op->timed_out && hs_mono_ns () >= op->deadline) {
        op->timed_out = true;
        if (op->pidfd >= 0)
            syscall (SYS_pidfd_send_signal, op->pidfd, SIGKILL, NULL, 0);
        else
            kill (op->pid, SIGKILL); /* not reaped: the pid is still ours */
        /* What it said so far stays; a child of the plugin may hold the pipes open. */
        s_close (&op->out_fd, &op->out_io);
        s_close (&op->err_fd, &op->err_io);
    }
    return op->reaped && op->out_fd < 0 && op->err_fd < 0;
}

void agent_cni_op_set_timeout (agent_cni_op_t *op, int64_t ns)
{
    op->deadline = op->started + ns;
}

int64_t agent_cni_op_deadline (const agent_cni_op_t *op)
{
    return op->reaped || op->timed_out ? HS_NEVER : op->deadline;
}

bool agent_cni_op_timed_out (const agent_cni_op_t *op)
{
    return op->timed_out;
}

bool agent_cni_op_reaped (agent_cni_op_t *op, pid_t pid, int status)
{
    if (op->reaped || pid != op->pid) return false;
    op->reaped = true;
    op->status = status;
    hs_loop_io_free (&op->pid_io);
    if (op->pidfd >= 0) close (op->pidfd);
    op->pidfd = -1;
    return true;
}

pid_t agent_cni_op_pid (const agent_cni_op_t *op)
{
    return op->reaped ? 0 : op->pid;
}

bool agent_cni_op_ok (const agent_cni_op_t *op)
{
    return op->reaped && WIFEXITED (op->status) && WEXITSTATUS (op->status) == 0;
}

const char *agent_cni_op_out (const agent_cni_op_t *op, size_t *ret_len)
{
    *ret_len = op->out.len;
    return op->out.data ? op->out.data : "";
}

const char *agent_cni_op_err (const agent_cni_op_t *op)
{
    return op->err.data ? op->err.data : "";
}

int agent_cni_op_status (const agent_cni_op_t *op)
{
    return op->status;
}

const char *agent_cni_op_plugin (const agent_cni_op_t *op)
{
    return op->plugin;
}

const char *agent_cni_op_command (const agent_cni_op_t *op)
{
    return op->command;
}

bool agent_cni_op_answered (const agent_cni_op_t *op)
{
    if (!op->out.len || op->timed_out) return false;
    hs_tree_t *t = NULL;
    char *err = NULL;
    bool ok = s_parse_one (op->out.data, op->out.len, &t, &err) == 0;
    free (err);
    hs_tree_free (t);
    return ok;
}

char *agent_cni_op_error (const agent_cni_op_t *op)
{
    if (op->timed_out)
        return hs_sprintf ("plugin %s %s timed out after %g s (killed)", op->plugin, op->command,
                           (double)(op->deadline - op->started) / 1e9);
    size_t len;
    const char *out = agent_cni_op_out (op, &len);
    return agent_cni_error_text (op->plugin, op->command, out, len, agent_cni_op_err (op),
                                 op->status);
}

void agent_cni_op_destroy (agent_cni_op_t **op_p)
{
    agent_cni_op_t *op = *op_p;
    if (!op) return;
    if (!op->reaped && op->pidfd >= 0) syscall (SYS_pidfd_send_signal, op->pidfd, SIGKILL, NULL, 0);
    hs_loop_io_free (&op->out_io);
    hs_loop_io_free (&op->err_io);
    hs_loop_io_free (&op->pid_io);
    if (op->out_fd >= 0) close (op->out_fd);
    if (op->err_fd >= 0) close (op->err_fd);
    if (op->pidfd >= 0) close (op->pidfd);
    hs_buf_free (&op->out);
    hs_buf_free (&op->err);
    free (op->plugin);
    free (op->command);
    free (op);
    *op_p = NULL;
}
