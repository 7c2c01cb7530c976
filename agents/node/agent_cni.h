/*  agent_cni.h: hs-agent's side of the CNI plugins (CNI SPEC.md, "Execution
 *  Protocol"; docs/architecture.md "Pod networking").
 *
 *  There is no C libcni: the agent execs Debian's plugins itself. A call is
 *  one child process: the plugin's binary from the bin dir, run in the
 *  agent's (the node's) network namespace with CNI_COMMAND, CNI_CONTAINERID,
 *  CNI_NETNS, CNI_IFNAME and CNI_PATH as its whole environment (plus PATH),
 *  the network configuration JSON on stdin, the result (or the error
 *  {code, msg, details}) JSON on stdout; stderr is log text.
 *
 *  Two halves:
 *  - pure: the configurations the agent hands the plugins (loopback, then
 *    bridge or ptp with host-local IPAM), the parsing of their results and
 *    errors, the lease files of host-local's dataDir. Unit-tested
 *    (tests/unit/test_agent_cni.c).
 *  - agent_cni_op_t: one plugin call as a child the agent's loop polls
 *    (never waits for): its stdout pipe is a loop source, its exit status
 *    comes from agent_cni_op_reaped (the agent's reaper peeks at every
 *    child that ended and hands ours over).
 */
#ifndef AGENT_CNI_H
#define AGENT_CNI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hs_loop.h"

#define AGENT_CNI_VERSION "1.0.0"
#define AGENT_CNI_NETWORK "hs-podnet" /* the network's name: host-local's dataDir/<name>/ */
#define AGENT_CNI_BRIDGE  "hs0"
#define AGENT_CNI_IFNAME  "eth0"
/* The most of a plugin's stdout we keep (a result is well under 4 KiB). */
#define AGENT_CNI_OUTPUT_MAX (64 * 1024)

/* The pod network of this node: what the main plugin's configuration says. */
typedef struct {
    const char *mode;     /* "bridge" or "ptp" */
    const char *subnet;   /* the node's podCIDR, "10.244.1.0/24" */
    const char *data_dir; /* host-local's dataDir */
    int mtu;              /* 0: the plugin's default */
} agent_cni_net_t;

/* Whether mode names a main plugin we drive ("bridge", "ptp"). */
bool agent_cni_mode_valid (const char *mode);

/* The loopback plugin's configuration (JSON, one line; caller frees). */
char *agent_cni_loopback_conf (void);
/* The main plugin's configuration: bridge (bridge hs0, isGateway,
 * hairpinMode, ipMasq false, mtu) or ptp, both with host-local IPAM in
 * net->subnet with a default route and net->data_dir. prev_result: the ADD's
 * result (JSON text) for CHECK and DEL, or NULL. Returns the JSON (caller
 * frees), or NULL with *ret_err (caller frees) when prev_result is not JSON
 * or the mode is unknown. */
char *agent_cni_conf (const agent_cni_net_t *net, const char *prev_result, char **ret_err);

/* What the agent keeps of a successful ADD. */
typedef struct {
    char *ip;        /* the sandbox interface's address, "10.244.1.2" */
    int prefix;      /* its prefix length, 24 */
    char *gateway;   /* NULL if none */
    char *host_veth; /* the host side's interface name, NULL if not given */
} agent_cni_result_t;

/* Parses an ADD result (the main plugin's): the first IPv4 address in
 * `ips` (preferring the one whose `interface` index names the sandbox's
 * interface), its gateway, the host-side veth. 0 with *ret (its strings are
 * the caller's: agent_cni_result_free), or -EINVAL with *ret_err (caller
 * frees): not JSON, no address, an address that is not IPv4/prefix. */
int agent_cni_parse_result (const char *json, size_t len, agent_cni_result_t *ret, char **ret_err);
void agent_cni_result_free (agent_cni_result_t *r);

/* The text of a failed call, for Events and logs: from the error JSON on
 * stdout ({code, msg, details}) if there is one, else from the exit status
 * and the first line of stderr. "plugin bridge ADD failed (code 11): no IP
 * addresses available ...". Caller frees. */
char *agent_cni_error_text (const char *plugin, const char *command, const char *out,
                            size_t out_len, const char *err, int wait_status);

/* The container IDs host-local holds leases for under data_dir (its
 * <data_dir>/<AGENT_CNI_NETWORK>/<ip> files: "<id>\n<ifname>"), each once.
 * Returns the count with *ret_ids (NULL-terminated, caller frees each and the
 * array), 0 for none or no such directory, or -errno. */
int agent_cni_leases (const char *data_dir, char ***ret_ids);
/* The IPs leased to id (file names), the same way; for tests and logs. */
int agent_cni_leases_of (const char *data_dir, const char *id, char ***ret_ips);
void agent_cni_strv_free (char **v);

/* ------------------------------------------------------------------ one call */

typedef struct agent_cni_op_t agent_cni_op_t;

/* Starts bin_dir/plugin with CNI_COMMAND=command (ADD, DEL, CHECK),
 * CNI_CONTAINERID=id, CNI_NETNS=netns ("" allowed for DEL), CNI_IFNAME,
 * CNI_PATH=bin_dir, conf on stdin. Its stdout becomes a source of loop (it
 * only wakes the loop; NULL loop: none). 0 with *ret, or -errno (fork, pipe):
 * nothing was started. A plugin that does not exist is not an error here:
 * its child exits 127 and says so on stderr. */
int agent_cni_op_start (hs_loop_t *loop, const char *bin_dir, const char *plugin,
                        const char *command, const char *id, const char *netns, const char *ifname,
                        const char *conf, agent_cni_op_t **ret);
/* Reads what the child wrote so far (never blocks), kills it past its
 * deadline (agent_cni_op_deadline). True once it is done: its output at EOF
 * (or dropped, timed out) and its exit status known (agent_cni_op_reaped). */
bool agent_cni_op_poll (agent_cni_op_t *op);
/* The reaper found pid ended with status: if it is op's child, op takes the
 * status and true is returned (the caller reaps the pid). */
bool agent_cni_op_reaped (agent_cni_op_t *op, pid_t pid, int status);
pid_t agent_cni_op_pid (const agent_cni_op_t *op);
/* Once done: whether it succeeded (exit 0), its stdout and stderr (borrowed,
 * NUL-terminated), its wait status. */
bool agent_cni_op_ok (const agent_cni_op_t *op);
const char *agent_cni_op_out (const agent_cni_op_t *op, size_t *ret_len);
const char *agent_cni_op_err (const agent_cni_op_t *op);
int agent_cni_op_status (const agent_cni_op_t *op);
const char *agent_cni_op_plugin (const agent_cni_op_t *op);
const char *agent_cni_op_command (const agent_cni_op_t *op);
/* Whether the plugin answered (a JSON object on stdout: a result or an
 * error), as opposed to not running at all (missing, not executable,
 * killed): a CHECK that did not answer says nothing about the sandbox. */
bool agent_cni_op_answered (const agent_cni_op_t *op);
/* The error text of a failed op (agent_cni_error_text); caller frees. */
char *agent_cni_op_error (const agent_cni_op_t *op);
/* Every call has a deadline: a plugin that never exits would hold its pod
 * (and one of the few ADD slots) forever. On expiry agent_cni_op_poll
 * SIGKILLs it, stops reading its pipes (a child of the plugin may hold
 * them) and the call ends failed, its error saying it timed out. */
#define AGENT_CNI_TIMEOUT_ADD_NS   (60 * 1000000000LL)
#define AGENT_CNI_TIMEOUT_DEL_NS   (30 * 1000000000LL)
#define AGENT_CNI_TIMEOUT_CHECK_NS (10 * 1000000000LL)
/* The default timeout of a command (ADD's for any other). */
int64_t agent_cni_timeout_ns (const char *command);
/* Sets op's timeout, counted from its start (instead of its command's). */
void agent_cni_op_set_timeout (agent_cni_op_t *op, int64_t ns);
/* When op times out (monotonic ns), HS_NEVER once it ended or was killed
 * (its pidfd wakes the loop then). */
int64_t agent_cni_op_deadline (const agent_cni_op_t *op);
/* Whether op was killed for its deadline. */
bool agent_cni_op_timed_out (const agent_cni_op_t *op);
/* Kills the child if it still runs (SIGKILL; the reaper collects it) and
 * frees op. NULL-safe, NULLs *op_p. */
void agent_cni_op_destroy (agent_cni_op_t **op_p);

#endif
