/*  hs_podsec.c: a container's effective security settings (hs_podsec.h). */
#include "hs_podsec.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "hs_util.h"

/* linux/capability.h's numbers, without CAP_. */
static const char *const s_caps[HS_CAP_MAX + 1] = {
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
};

uint64_t hs_caps_default (void)
{
    static const int dflt[] = {0 /* CHOWN */,
                               1 /* DAC_OVERRIDE */,
                               4 /* FSETID */,
                               3 /* FOWNER */,
                               27 /* MKNOD */,
                               13 /* NET_RAW */,
                               6 /* SETGID */,
                               7 /* SETUID */,
                               31 /* SETFCAP */,
                               8 /* SETPCAP */,
                               10 /* NET_BIND_SERVICE */,
                               18 /* SYS_CHROOT */,
                               5 /* KILL */,
                               29 /* AUDIT_WRITE */};
    uint64_t set = 0;
    for (size_t i = 0; i < HS_ARRAY_LEN (dflt); i++) set |= HS_CAP_BIT (dflt[i]);
    return set;
}

int hs_cap_parse (const char *name)
{
    if (!name) return -EINVAL;
    if (strncasecmp (name, "CAP_", 4) == 0) name += 4;
    for (int i = 0; i <= HS_CAP_MAX; i++)
        if (strcasecmp (name, s_caps[i]) == 0) return i;
    return -EINVAL;
}

const char *hs_cap_name (int cap)
{
    return cap >= 0 && cap <= HS_CAP_MAX ? s_caps[cap] : NULL;
}

char *hs_caps_fmt (uint64_t caps)
{
    hs_buf_t b = {0};
    hs_buf_puts (&b, "");
    for (int i = 0; i <= HS_CAP_MAX; i++)
        if (caps & HS_CAP_BIT (i)) hs_buf_printf (&b, "%s%s", b.len ? "," : "", s_caps[i]);
    return hs_buf_take (&b);
}

int hs_caps_parse_list (const char *list, uint64_t *ret)
{
    uint64_t set = 0;
    const char *p = hs_s (list);
    while (*p) {
        const char *end = strchrnul (p, ',');
        char name[32];
        size_t len = (size_t)(end - p);
        if (len == 0 || len >= sizeof name) return -EINVAL;
        memcpy (name, p, len);
        name[len] = '\0';
        int cap = hs_cap_parse (name);
        if (cap < 0) return -EINVAL;
        set |= HS_CAP_BIT (cap);
        p = *end ? end + 1 : end;
    }
    *ret = set;
    return 0;
}

const char *hs_seccomp_name (hs_seccomp_t s)
{
    switch (s) {
    case HS_SECCOMP_UNCONFINED: return "Unconfined";
    case HS_SECCOMP_LOCALHOST: return "Localhost";
    default: return "RuntimeDefault";
    }
}

static bool s_has_all (char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp (names[i], "ALL") == 0) return true;
    return false;
}

static uint64_t s_named (char *const *names, size_t n)
{
    uint64_t set = 0;
    for (size_t i = 0; i < n; i++) {
        int cap = hs_cap_parse (names[i]);
        if (cap >= 0) set |= HS_CAP_BIT (cap); /* the store refused unknown names */
    }
    return set;
}

void hs_podsec_effective (const Hs__PodSpec *spec, const Hs__Container *c, hs_podsec_t *ret)
{
    memset (ret, 0, sizeof *ret);
    const Hs__PodSecurityContext *ps = spec ? spec->security_context : NULL;
    const Hs__SecurityContext *cs = c ? c->security_context : NULL;

    const Hs__Int64Value *uid = cs && cs->run_as_user ? cs->run_as_user
                                : ps                  ? ps->run_as_user
                                                      : NULL;
    const Hs__Int64Value *gid = cs && cs->run_as_group ? cs->run_as_group
                                : ps                   ? ps->run_as_group
                                                       : NULL;
    const Hs__BoolValue *nonroot = cs && cs->run_as_non_root ? cs->run_as_non_root
                                   : ps                      ? ps->run_as_non_root
                                                             : NULL;
    const Hs__SeccompProfile *prof = cs && cs->seccomp_profile ? cs->seccomp_profile
                                     : ps                      ? ps->seccomp_profile
                                                               : NULL;
    if (uid) ret->has_uid = true, ret->uid = uid->value;
    if (gid) ret->has_gid = true, ret->gid = gid->value;
    ret->run_as_non_root = nonroot && nonroot->value;
    if (ps) {
        ret->groups = ps->supplemental_groups;
        ret->n_groups = ps->n_supplemental_groups;
    }
    ret->read_only_root =
        cs && cs->read_only_root_filesystem && cs->read_only_root_filesystem->value;
    ret->privileged = cs && cs->privileged && cs->privileged->value;

    if (prof && hs_streq (prof->type, "Unconfined"))
        ret->seccomp = HS_SECCOMP_UNCONFINED;
    else if (prof && hs_streq (prof->type, "Localhost")) {
        ret->seccomp = HS_SECCOMP_LOCALHOST;
        ret->seccomp_localhost = prof->localhost_profile;
    }

    uint64_t caps = hs_caps_default ();
    const Hs__Capabilities *cc = cs ? cs->capabilities : NULL;
    if (cc) {
        if (s_has_all (cc->add, cc->n_add)) caps = HS_CAPS_ALL;
        if (s_has_all (cc->drop, cc->n_drop)) caps = 0;
        ret->caps_added = s_named (cc->add, cc->n_add) & ~s_named (cc->drop, cc->n_drop);
        caps |= ret->caps_added;
        caps &= ~s_named (cc->drop, cc->n_drop);
    }
    ret->caps = caps;
    ret->no_new_privs =
        !(cs && cs->allow_privilege_escalation && cs->allow_privilege_escalation->value);

    if (ret->privileged) {
        ret->caps = HS_CAPS_ALL;
        ret->caps_added = HS_CAPS_ALL;
        ret->no_new_privs = false;
        ret->seccomp = HS_SECCOMP_UNCONFINED;
        ret->seccomp_localhost = NULL;
    }
}
