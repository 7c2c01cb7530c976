/*  shim_sec.c: the shim's hardening of a container's process (shim_sec.h).
 *
 *  The runtime-default seccomp profile is a deny list, built with libseccomp:
 *  everything is allowed except the calls below, which fail with EPERM
 *  (clone3 with ENOSYS, so libc falls back to clone, whose flags a filter can
 *  see). It follows Docker's and containerd's RuntimeDefault: a call that
 *  profile allows only with a capability is denied here unless the container
 *  holds that capability.
 *
 *    always:             keyctl add_key request_key (the kernel keyring is
 *                        not namespaced), vm86 vm86old, io_uring_setup
 *                        io_uring_enter io_uring_register (Docker 25 drops
 *                        them too), uselib ustat sysfs _sysctl nfsservctl,
 *                        personality other than 0, 8, 0x20000, 0x20008 and
 *                        the query 0xffffffff
 *    unless SYS_ADMIN:   mount umount2 umount pivot_root move_mount open_tree
 *                        fsopen fsconfig fsmount fspick mount_setattr
 *                        unshare setns, clone with a CLONE_NEW* flag, clone3
 *                        (ENOSYS), swapon swapoff quotactl quotactl_fd
 *                        lookup_dcookie fanotify_init
 *    unless SYS_ADMIN or BPF:      bpf
 *    unless SYS_ADMIN or PERFMON:  perf_event_open
 *    unless SYS_BOOT:    reboot kexec_load kexec_file_load
 *    unless SYS_MODULE:  init_module finit_module delete_module
 *    unless SYS_PTRACE:  ptrace process_vm_readv process_vm_writev userfaultfd
 *    unless SYS_TIME:    settimeofday clock_settime clock_adjtime stime
 *    unless SYS_RAWIO:   iopl ioperm
 *    unless SYS_PACCT:   acct
 *    unless DAC_READ_SEARCH: open_by_handle_at
 *    unless SYSLOG:      syslog
 *
 *  The filter covers the native architecture and its compat ones (x86 and
 *  x32 on x86_64, arm on aarch64), so a 32-bit call cannot slip past it.
 *  personality's allow list is a second, hand-written filter of a few
 *  instructions (s_personality_filter says why).
 */
#include "shim_sec.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hs_podsec.h"
#include "hs_util.h"

static int s_parse_id (const char *flag, const char *arg, uint32_t *ret)
{
    int64_t v;
    if (hs_parse_i64 (arg, &v) < 0 || v < 0 || v > INT32_MAX) {
        fprintf (stderr, "hs-shim: %s wants an id from 0 to 2147483647, not \"%s\"\n", flag, arg);
        return -1;
    }
    *ret = (uint32_t)v;
    return 0;
}

int shim_sec_flag (shim_sec_t *self, int opt, const char *arg)
{
    uint32_t id;
    uint64_t set;
    switch (opt - SHIM_SEC_OPT_MIN) {
    case 0:
        if (s_parse_id ("--user", arg, &id) < 0) return -1;
        self->has_uid = true;
        self->uid = id;
        return 0;
    case 1:
        if (s_parse_id ("--group", arg, &id) < 0) return -1;
        self->has_gid = true;
        self->gid = id;
        return 0;
    case 2: {
        self->has_groups = true;
        self->n_groups = 0;
        const char *p = arg;
        while (*p) {
            const char *end = strchrnul (p, ',');
            _cleanup_free_ char *one = hs_strndup (p, (size_t)(end - p));
            if (s_parse_id ("--groups", one, &id) < 0) return -1;
            if (self->n_groups >= NGROUPS_MAX) {
                fprintf (stderr, "hs-shim: --groups: more than %d groups\n", NGROUPS_MAX);
                return -1;
            }
            self->groups = hs_realloc (self->groups, (self->n_groups + 1) * sizeof *self->groups);
            self->groups[self->n_groups++] = id;
            p = *end ? end + 1 : end;
        }
        return 0;
    }
    case 3:
    case 4:
        /* ALL: every capability the shim holds (privileged). */
        if (hs_streq (arg, "ALL"))
            set = HS_CAPS_ALL, self->caps_all = true;
        else if (hs_caps_parse_list (arg, &set) < 0) {
            fprintf (stderr, "hs-shim: %s wants capability names (CHOWN,KILL,...), not \"%s\"\n",
                     opt == SHIM_SEC_OPT_MIN + 3 ? "--caps" : "--ambient-caps", arg);
            return -1;
        }
        if (opt == SHIM_SEC_OPT_MIN + 3) {
            self->has_caps = true;
            self->caps = set;
        } else
            self->ambient = set;
        return 0;
    case 5: self->no_new_privs = true; return 0;
    case 6:
        if (hs_streq (arg, "runtime-default"))
            self->seccomp = true;
        else if (hs_streq (arg, "unconfined"))
            self->seccomp = false;
        else {
            fprintf (stderr, "hs-shim: --seccomp wants runtime-default or unconfined, not \"%s\"\n",
                     arg);
            return -1;
        }
        return 0;
    case 7: self->read_only_root = true; return 0;
    default: return -1;
    }
}

int shim_sec_check (const shim_sec_t *self, bool namespaces)
{
    if (self->read_only_root && !namespaces) {
        fprintf (stderr, "hs-shim: --read-only-root needs a mount namespace: not with "
                         "--no-namespaces\n");
        return -1;
    }
    if (self->ambient & ~(self->has_caps ? self->caps : HS_CAPS_ALL)) {
        fprintf (stderr, "hs-shim: --ambient-caps must be a subset of --caps\n");
        return -1;
    }
    return 0;
}

void shim_sec_free (shim_sec_t *self)
{
    free (self->groups);
    self->groups = NULL;
    self->n_groups = 0;
}

/* ------------------------------------------------------------------ seccomp */

#define NO_CAP -1

typedef struct {
    const char *name;
    int unless[2]; /* capabilities that allow it (NO_CAP: none) */
    int err;
} s_rule_t;

/* CAP_ numbers (linux/capability.h). */
enum {
    C_DAC_READ_SEARCH = 2,
    C_SYS_MODULE = 16,
    C_SYS_RAWIO = 17,
    C_SYS_PTRACE = 19,
    C_SYS_PACCT = 20,
    C_SYS_ADMIN = 21,
    C_SYS_BOOT = 22,
    C_SYS_TIME = 25,
    C_SYSLOG = 34,
    C_PERFMON = 38,
    C_BPF = 39,
};

static const s_rule_t s_rules[] = {
    {"keyctl", {NO_CAP, NO_CAP}, EPERM},
    {"add_key", {NO_CAP, NO_CAP}, EPERM},
    {"request_key", {NO_CAP, NO_CAP}, EPERM},
    {"vm86", {NO_CAP, NO_CAP}, EPERM},
    {"vm86old", {NO_CAP, NO_CAP}, EPERM},
    {"io_uring_setup", {NO_CAP, NO_CAP}, EPERM},
    {"io_uring_enter", {NO_CAP, NO_CAP}, EPERM},
    {"io_uring_register", {NO_CAP, NO_CAP}, EPERM},
    {"uselib", {NO_CAP, NO_CAP}, EPERM},
    {"ustat", {NO_CAP, NO_CAP}, EPERM},
    {"sysfs", {NO_CAP, NO_CAP}, EPERM},
    {"_sysctl", {NO_CAP, NO_CAP}, EPERM},
    {"nfsservctl", {NO_CAP, NO_CAP}, EPERM},
    {"mount", {C_SYS_ADMIN, NO_CAP}, EPERM},
    {"umount2", {C_SYS_ADMIN, NO_CAP}, EPERM},
    {"umount", {C_SYS_ADMIN, NO_CAP}, EPERM},
    {"pivot_root", {C_SYS_ADMIN, NO_CAP}, EPERM},
    {"move_mount", {C_SYS_ADMIN, NO_CAP}, EPERM},
    {"open_tree", {C_SYS_ADMIN, NO_CAP}, EPERM},
    {"fsopen", {C_SYS_ADMIN, NO_CAP}, EPERM},
    {"fsconfig", {C_SYS_ADMIN, NO_CAP}, EPERM},
    {"fsmount", {C_SYS_ADMIN, NO_CAP}, EPERM},
    {"fspick", {C_SYS_ADMIN, NO_CAP}, EPERM},
    {"mount_setattr", {C_SYS_ADMIN, NO_CAP}, EPERM},
    {"unshare", {C_SYS_ADMIN, NO_CAP}, EPERM},
    {"setns", {C_SYS_ADMIN, NO_CAP}, EPERM},
    {"clone3", {C_SYS_ADMIN, NO_CAP}, ENOSYS},
    {"swapon", {C_SYS_ADMIN, NO_CAP}, EPERM},
    {"swapoff", {C_SYS_ADMIN, NO_CAP}, EPERM},
    {"quotactl", {C_SYS_ADMIN, NO_CAP}, EPERM},
    {"quotactl_fd", {C_SYS_ADMIN, NO_CAP}, EPERM},
    {"lookup_dcookie", {C_SYS_ADMIN, NO_CAP}, EPERM},
    {"fanotify_init", {C_SYS_ADMIN, NO_CAP}, EPERM},
    {"bpf", {C_SYS_ADMIN, C_BPF}, EPERM},
    {"perf_event_open", {C_SYS_ADMIN, C_PERFMON}, EPERM},
    {"reboot", {C_SYS_BOOT, NO_CAP}, EPERM},
    {"kexec_load", {C_SYS_BOOT, NO_CAP}, EPERM},
    {"kexec_file_load", {C_SYS_BOOT, NO_CAP}, EPERM},
    {"init_module", {C_SYS_MODULE, NO_CAP}, EPERM},
    {"finit_module", {C_SYS_MODULE, NO_CAP}, EPERM},
    {"delete_module", {C_SYS_MODULE, NO_CAP}, EPERM},
    {"ptrace", {C_SYS_PTRACE, NO_CAP}, EPERM},
    {"process_vm_readv", {C_SYS_PTRACE, NO_CAP}, EPERM},
    {"process_vm_writev", {C_SYS_PTRACE, NO_CAP}, EPERM},
    {"userfaultfd", {C_SYS_PTRACE, NO_CAP}, EPERM},
    {"settimeofday", {C_SYS_TIME, NO_CAP}, EPERM},
    {"clock_settime", {C_SYS_TIME, NO_CAP}, EPERM},
    {"clock_adjtime", {C_SYS_TIME, NO_CAP}, EPERM},
    {"stime", {C_SYS_TIME, NO_CAP}, EPERM},
    {"iopl", {C_SYS_RAWIO, NO_CAP}, EPERM},
    {"ioperm", {C_SYS_RAWIO, NO_CAP}, EPERM},
    {"acct", {C_SYS_PACCT, NO_CAP}, EPERM},
    {"open_by_handle_at", {C_DAC_READ_SEARCH, NO_CAP}, EPERM},
    {"syslog", {C_SYSLOG, NO_CAP}, EPERM},
};

/* The namespace flags clone may not carry (CLONE_NEWTIME needs clone3 or
 * unshare, both denied). */
static const uint32_t s_clone_ns[] = {CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                                      CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET};

/* personality's safe values (Docker's): PER_LINUX, PER_LINUX32, UNAME26,
 * PER_LINUX32|UNAME26, and the query. Sorted. */
static const uint32_t s_personality_ok[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

static bool s_holds (uint64_t caps, int cap)
{
    return cap != NO_CAP && (caps & HS_CAP_BIT (cap));
}

/* personality(2)'s allow list, as a second filter of a few instructions.
 * libseccomp compares an argument once per rule, so "deny unless one of
 * five values" would take the gaps between them cut into ~60 aligned
 * blocks per architecture, one rule each: most of the filter's build time.
 * The kernel runs every filter and keeps the strictest answer. */
static int s_personality_filter (char *err, size_t errlen)
{
    /* (audit arch, personality's number) of the native architecture and
     * its compat ones; x32 reports as x86_64 with its own numbers. */
    uint32_t arch[4];
    uint32_t nr[4];
    size_t n = 0;
    uint32_t tokens[3] = {seccomp_arch_native (), 0, 0};
    if (tokens[0] == SCMP_ARCH_X86_64) tokens[1] = SCMP_ARCH_X86, tokens[2] = SCMP_ARCH_X32;
    if (tokens[0] == SCMP_ARCH_AARCH64) tokens[1] = SCMP_ARCH_ARM;
    for (size_t i = 0; i < 3 && tokens[i]; i++) {
        int k = seccomp_syscall_resolve_name_arch (tokens[i], "personality");
        if (k < 0) continue;
        arch[n] = tokens[i] == SCMP_ARCH_X32 ? SCMP_ARCH_X86_64 : tokens[i];
        nr[n++] = (uint32_t)k;
    }
    struct sock_filter f[4 * 5 + 3 + HS_ARRAY_LEN (s_personality_ok) + 2];
    size_t at = 0, n_ok = HS_ARRAY_LEN (s_personality_ok);
    for (size_t i = 0; i < n; i++) {
        /* Not this architecture or not personality: the next pair. */
        f[at++] = (struct sock_filter)BPF_STMT (BPF_LD | BPF_W | BPF_ABS,
                                                offsetof (struct seccomp_data, arch));
        f[at++] = (struct sock_filter)BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, arch[i], 0, 3);
        f[at++] = (struct sock_filter)BPF_STMT (BPF_LD | BPF_W | BPF_ABS,
                                                offsetof (struct seccomp_data, nr));
        f[at++] = (struct sock_filter)BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, nr[i], 0, 1);
        /* To the argument check, past the other pairs and the ALLOW below. */
        f[at++] = (struct sock_filter)BPF_STMT (BPF_JMP | BPF_JA, (uint32_t)((n - 1 - i) * 5 + 1));
    }
    f[at++] = (struct sock_filter)BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    /* The argument's low 32 bits: the kernel takes an unsigned int. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint32_t lo = offsetof (struct seccomp_data, args[0]);
#else
    uint32_t lo = offsetof (struct seccomp_data, args[0]) + 4;
#endif
    f[at++] = (struct sock_filter)BPF_STMT (BPF_LD | BPF_W | BPF_ABS, lo);
    for (size_t i = 0; i < n_ok; i++)
        f[at++] = (struct sock_filter)BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, s_personality_ok[i],
                                                (uint8_t)(n_ok - i), 0);
    f[at++] = (struct sock_filter)BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
    f[at++] = (struct sock_filter)BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog prog = {.len = (unsigned short)at, .filter = f};
    if (prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0) {
        snprintf (err, errlen, "seccomp (personality): %s", strerror (errno));
        return -1;
    }
    return 0;
}

static int s_seccomp_load (uint64_t caps, char *err, size_t errlen)
{
    scmp_filter_ctx ctx = seccomp_init (SCMP_ACT_ALLOW);
    if (!ctx) {
        snprintf (err, errlen, "seccomp: cannot make a filter");
        return -1;
    }
    const char *step = "set filter attributes";
    /* no_new_privs is the agent's decision (--no-new-privs), not libseccomp's. */
    int r = seccomp_attr_set (ctx, SCMP_FLTATR_CTL_NNP, 0);
    if (r == 0) {
        step = "add the compat architectures";
        uint32_t native = seccomp_arch_native ();
        const uint32_t *compat = NULL;
        static const uint32_t x86_64[] = {SCMP_ARCH_X86, SCMP_ARCH_X32, 0};
        static const uint32_t aarch64[] = {SCMP_ARCH_ARM, 0};
        if (native == SCMP_ARCH_X86_64) compat = x86_64;
        if (native == SCMP_ARCH_AARCH64) compat = aarch64;
        for (size_t i = 0; compat && compat[i] && r == 0; i++) {
            r = seccomp_arch_add (ctx, compat[i]);
            if (r == -EEXIST) r = 0;
        }
    }
    for (size_t i = 0; r == 0 && i < HS_ARRAY_LEN (s_rules); i++) {
        const s_rule_t *rule = &s_rules[i];
        if (s_holds (caps, rule->unless[0]) || s_holds (caps, rule->unless[1])) continue;
        int nr = seccomp_syscall_resolve_name (rule->name);
        if (nr == __NR_SCMP_ERROR) continue; /* not a call this libseccomp knows */
        step = rule->name;
        r = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (rule->err), nr, 0);
    }
    if (r == 0 && !s_holds (caps, C_SYS_ADMIN)) {
        step = "clone";
        for (size_t i = 0; r == 0 && i < HS_ARRAY_LEN (s_clone_ns); i++)
            r = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (clone), 1,
                                  SCMP_A0_32 (SCMP_CMP_MASKED_EQ, s_clone_ns[i], s_clone_ns[i]));
    }
    if (r == 0) {
        step = "load the filter";
        r = seccomp_load (ctx);
    }
    seccomp_release (ctx);
    if (r < 0) {
        snprintf (err, errlen, "seccomp (%s): %s", step, strerror (-r));
        return -1;
    }
    return s_personality_filter (err, errlen);
}

/* ------------------------------------------------------------------ apply */

static int s_fail (char *err, size_t errlen, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
static int s_fail (char *err, size_t errlen, const char *fmt, ...)
{
    int e = errno;
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (err, errlen, fmt, ap);
    va_end (ap);
    if (n >= 0 && (size_t)n < errlen) snprintf (err + n, errlen - (size_t)n, ": %s", strerror (e));
    return -1;
}

/* / read-only: a bind remount changes this one mount's flags, so /proc,
 * /dev and the volumes mounted under / keep theirs. The flags / has are
 * kept (a remount replaces them all). */
static int s_read_only_root (char *err, size_t errlen)
{
    struct statvfs sv;
    if (statvfs ("/", &sv) < 0) return s_fail (err, errlen, "read-only root: statvfs /");
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY;
    if (sv.f_flag & ST_NOSUID) flags |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV) flags |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
    if (sv.f_flag & ST_NOATIME) flags |= MS_NOATIME;
    if (sv.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
    if (sv.f_flag & ST_RELATIME) flags |= MS_RELATIME;
    if (mount (NULL, "/", NULL, flags, NULL) < 0)
        return s_fail (err, errlen, "read-only root: remount / read-only");
    return 0;
}

static int s_capset (uint64_t eff, uint64_t prm, uint64_t inh)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct d[2] = {
        {(uint32_t)eff, (uint32_t)prm, (uint32_t)inh},
        {(uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32)},
    };
    return (int)syscall (SYS_capset, &h, d);
}

/* The kernel's highest capability: /proc/sys/kernel/cap_last_cap, else
 * probe the bounding set. */
static int s_last_cap (void)
{
    int fd = open ("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char buf[16] = "";
        ssize_t n = read (fd, buf, sizeof buf - 1);
        close (fd);
        int64_t v;
        if (n > 0) {
            buf[strcspn (buf, "\n")] = '\0';
            if (hs_parse_i64 (buf, &v) == 0 && v > 0 && v < 64) return (int)v;
        }
    }
    int last = 0;
    while (last < 63 && prctl (PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0) last++;
    return last;
}

int shim_sec_read_only_root (const shim_sec_t *self, char *err, size_t errlen)
{
    return self->read_only_root ? s_read_only_root (err, errlen) : 0;
}

int shim_sec_apply (const shim_sec_t *self, char *err, size_t errlen)
{
    if (self->no_new_privs && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return s_fail (err, errlen, "set no_new_privs");
    int last = s_last_cap ();
    uint64_t known = last >= 63 ? UINT64_MAX : (UINT64_C (1) << (last + 1)) - 1;
    /* Capabilities this kernel does not have cannot be held: leave them out. */
    uint64_t caps = self->caps & known, ambient = self->ambient & known;
    if (self->caps_all) {
        for (int c = 0; c <= last; c++)
            if (prctl (PR_CAPBSET_READ, c, 0, 0, 0) != 1) caps &= ~HS_CAP_BIT (c);
        ambient &= caps;
    } else if (self->has_caps) {
        /* What we do not hold we cannot give. */
        for (int c = 0; c <= last; c++)
            if ((caps & HS_CAP_BIT (c)) && prctl (PR_CAPBSET_READ, c, 0, 0, 0) != 1) {
                snprintf (err, errlen,
                          "capability %s: the shim does not hold it (not in its bounding set)",
                          hs_s (hs_cap_name (c)));
                return -1;
            }
    }
    /* The filter first, while CAP_SYS_ADMIN lets us load one without
     * no_new_privs; nothing after it needs a call it denies. */
    if (self->seccomp && s_seccomp_load (self->has_caps ? caps : HS_CAPS_ALL, err, errlen) < 0)
        return -1;
    if (self->has_caps)
        for (int c = 0; c <= last; c++)
            if (!(caps & HS_CAP_BIT (c)) && prctl (PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
                return s_fail (err, errlen, "drop %s from the bounding set",
                               hs_s (hs_cap_name (c)));
    if (self->has_uid || self->has_gid || self->has_groups) {
        gid_t gid = self->gid;
        if (!self->has_gid) {
            /* Docker's rule: the user's primary group, else 0. */
            struct passwd pw, *found = NULL;
            char buf[4096];
            gid = 0;
            if (self->has_uid && getpwuid_r (self->uid, &pw, buf, sizeof buf, &found) == 0 && found)
                gid = found->pw_gid;
        }
        if (setgroups (self->n_groups, self->groups) < 0)
            return s_fail (err, errlen, "set supplementary groups");
        if (setresgid (gid, gid, gid) < 0) return s_fail (err, errlen, "set group %u", gid);
    }
    if (self->has_uid) {
        /* Keep the permitted set across the change of user; capset below
         * sets exactly what the container gets. */
        if (prctl (PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
            return s_fail (err, errlen, "keep capabilities");
        if (setresuid (self->uid, self->uid, self->uid) < 0)
            return s_fail (err, errlen, "set user %u", self->uid);
    }
    if (self->has_caps) {
        if (s_capset (caps, caps, ambient) < 0) return s_fail (err, errlen, "set capabilities");
        for (int c = 0; c <= last; c++)
            if ((ambient & HS_CAP_BIT (c)) &&
                prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
                return s_fail (err, errlen, "raise ambient capability %s", hs_s (hs_cap_name (c)));
    }
    return 0;
}
