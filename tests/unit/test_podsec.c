/*  test_podsec.c: a container's effective security settings (bus/hs_podsec)
 *  and the store's securityContext validation (bus/hs_validate), from YAML.
 */
#include "hs_manifest.h"
#include "hs_podsec.h"
#include "hs_test.h"
#include "hs_util.h"
#include "hs_validate.h"

#include <errno.h>
#include <stdlib.h>

/* The pod of one YAML document (the caller's: hs_pb_free). */
static Hs__Object *s_pod (const char *yaml)
{
    hs_manifest_t m = {0};
    char *err = NULL;
    int r = hs_manifest_parse (yaml, strlen (yaml), "test.yaml", &m, &err);
    if (r < 0) fprintf (stderr, "  parse: %s\n", err);
    free (err);
    if (r < 0 || m.n != 1) {
        hs_manifest_free (&m);
        return NULL;
    }
    Hs__Object *o = m.docs[0].object;
    m.docs[0].object = NULL;
    hs_manifest_free (&m);
    return o;
}

#define POD_HEAD "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"

static void s_effective (const char *yaml, hs_podsec_t *ret, Hs__Object **ret_o)
{
    Hs__Object *o = s_pod (yaml);
    CHECK (o && o->pod && o->pod->spec && o->pod->spec->n_containers > 0);
    if (!o) {
        memset (ret, 0, sizeof *ret);
        *ret_o = NULL;
        return;
    }
    hs_podsec_effective (o->pod->spec, o->pod->spec->containers[0], ret);
    *ret_o = o;
}

static void test_cap_names (void)
{
    CHECK_EQ_INT (hs_cap_parse ("CHOWN"), 0);
    CHECK_EQ_INT (hs_cap_parse ("CAP_NET_ADMIN"), 12);
    CHECK_EQ_INT (hs_cap_parse ("net_admin"), 12);
    CHECK_EQ_INT (hs_cap_parse ("cap_sys_admin"), 21);
    CHECK_EQ_INT (hs_cap_parse ("CHECKPOINT_RESTORE"), 40);
    CHECK_EQ_INT (hs_cap_parse ("ALL"), -EINVAL);
    CHECK_EQ_INT (hs_cap_parse ("NET_FOO"), -EINVAL);
    CHECK_EQ_INT (hs_cap_parse (""), -EINVAL);
    CHECK_EQ_INT (hs_cap_parse ("CAP_"), -EINVAL);
    CHECK_EQ_STR (hs_cap_name (13), "NET_RAW");
    CHECK (hs_cap_name (41) == NULL);
    CHECK (hs_cap_name (-1) == NULL);
    /* Docker's set, as /proc/PID/status shows it in a Docker container. */
    CHECK_EQ_INT (hs_caps_default (), 0xa80425fbULL);
    _cleanup_free_ char *s = hs_caps_fmt (hs_caps_default ());
    CHECK_EQ_STR (s, "CHOWN,DAC_OVERRIDE,FOWNER,FSETID,KILL,SETGID,SETUID,SETPCAP,"
                     "NET_BIND_SERVICE,NET_RAW,SYS_CHROOT,MKNOD,AUDIT_WRITE,SETFCAP");
    uint64_t back = 0;
    CHECK_EQ_INT (hs_caps_parse_list (s, &back), 0);
    CHECK_EQ_INT (back, hs_caps_default ());
    CHECK_EQ_INT (hs_caps_parse_list ("", &back), 0);
    CHECK_EQ_INT (back, 0);
    _cleanup_free_ char *none = hs_caps_fmt (0);
    CHECK_EQ_STR (none, "");
    CHECK_EQ_INT (hs_caps_parse_list ("CHOWN,,KILL", &back), -EINVAL);
    CHECK_EQ_INT (hs_caps_parse_list ("CHOWN,", &back), 0); /* a trailing comma ends the list */
    CHECK_EQ_INT (hs_caps_parse_list ("BOGUS", &back), -EINVAL);
}

static void test_defaults (void)
{
    hs_podsec_t s;
    Hs__Object *o;
    s_effective (POD_HEAD "  containers: [{name: a, command: [x]}]\n", &s, &o);
    CHECK (!s.has_uid && !s.has_gid && s.n_groups == 0);
    CHECK_EQ_INT (s.caps, hs_caps_default ());
    CHECK_EQ_INT (s.caps_added, 0);
    CHECK (s.no_new_privs);
    CHECK_EQ_INT (s.seccomp, HS_SECCOMP_RUNTIME_DEFAULT);
    CHECK (!s.read_only_root && !s.privileged && !s.run_as_non_root);
    hs_pb_free (o);
}

static void test_pod_and_container (void)
{
    hs_podsec_t s;
    Hs__Object *o;
    /* The container's fields win over the pod's; groups are the pod's. */
    s_effective (POD_HEAD "  securityContext: {runAsUser: 10, runAsGroup: 20, runAsNonRoot: true,\n"
                          "    supplementalGroups: [5, 6], seccompProfile: {type: Unconfined}}\n"
                          "  containers:\n"
                          "  - name: a\n"
                          "    command: [x]\n"
                          "    securityContext: {runAsUser: 30, runAsNonRoot: false,\n"
                          "      seccompProfile: {type: RuntimeDefault}, readOnlyRootFilesystem: "
                          "true}\n",
                 &s, &o);
    CHECK (s.has_uid && s.uid == 30);
    CHECK (s.has_gid && s.gid == 20);
    CHECK (!s.run_as_non_root);
    CHECK_EQ_INT (s.n_groups, 2);
    CHECK (s.n_groups == 2 && s.groups[0] == 5 && s.groups[1] == 6);
    CHECK_EQ_INT (s.seccomp, HS_SECCOMP_RUNTIME_DEFAULT);
    CHECK (s.read_only_root);
    hs_pb_free (o);

    s_effective (POD_HEAD "  securityContext: {seccompProfile: {type: Localhost, "
                          "localhostProfile: a.json}}\n"
                          "  containers: [{name: a, command: [x]}]\n",
                 &s, &o);
    CHECK_EQ_INT (s.seccomp, HS_SECCOMP_LOCALHOST);
    CHECK_EQ_STR (s.seccomp_localhost, "a.json");
    hs_pb_free (o);
}

static void test_capabilities (void)
{
    hs_podsec_t s;
    Hs__Object *o;
    s_effective (POD_HEAD "  containers:\n  - name: a\n    command: [x]\n"
                          "    securityContext: {capabilities: {drop: [ALL], add: [NET_ADMIN]}}\n",
                 &s, &o);
    CHECK_EQ_INT (s.caps, HS_CAP_BIT (12));
    CHECK_EQ_INT (s.caps_added, HS_CAP_BIT (12));
    hs_pb_free (o);

    s_effective (POD_HEAD "  containers:\n  - name: a\n    command: [x]\n"
                          "    securityContext: {capabilities: {drop: [CAP_NET_RAW, chown]}}\n",
                 &s, &o);
    CHECK_EQ_INT (s.caps, hs_caps_default () & ~HS_CAP_BIT (13) & ~HS_CAP_BIT (0));
    hs_pb_free (o);

    /* Added and dropped: dropped. add ALL: everything. */
    s_effective (POD_HEAD "  containers:\n  - name: a\n    command: [x]\n"
                          "    securityContext: {capabilities: {add: [ALL, SYS_TIME], drop: "
                          "[SYS_TIME]}}\n",
                 &s, &o);
    CHECK_EQ_INT (s.caps, HS_CAPS_ALL & ~HS_CAP_BIT (25));
    CHECK_EQ_INT (s.caps_added, 0);
    hs_pb_free (o);

    /* allowPrivilegeEscalation: true is the one way to drop no_new_privs
     * (short of privileged). */
    s_effective (POD_HEAD "  containers:\n  - name: a\n    command: [x]\n"
                          "    securityContext: {allowPrivilegeEscalation: true}\n",
                 &s, &o);
    CHECK (!s.no_new_privs);
    CHECK_EQ_INT (s.seccomp, HS_SECCOMP_RUNTIME_DEFAULT);
    hs_pb_free (o);
    s_effective (POD_HEAD "  containers:\n  - name: a\n    command: [x]\n"
                          "    securityContext: {capabilities: {add: [SYS_ADMIN]}}\n",
                 &s, &o);
    CHECK (s.no_new_privs);
    hs_pb_free (o);

    /* privileged: all, Unconfined, no nnp, whatever else is said. */
    s_effective (POD_HEAD "  securityContext: {seccompProfile: {type: RuntimeDefault}}\n"
                          "  containers:\n  - name: a\n    command: [x]\n"
                          "    securityContext: {privileged: true, capabilities: {drop: [ALL]}}\n",
                 &s, &o);
    CHECK (s.privileged);
    CHECK_EQ_INT (s.caps, HS_CAPS_ALL);
    CHECK (!s.no_new_privs);
    CHECK_EQ_INT (s.seccomp, HS_SECCOMP_UNCONFINED);
    hs_pb_free (o);
}

/* Validation: 0, or the message must hold want. */
static void s_validate (const char *yaml, const char *want)
{
    Hs__Object *o = s_pod (yaml);
    CHECK (o != NULL);
    if (!o) return;
    hs_obj_defaults (o, 1);
    char *msg = NULL;
    int r = hs_obj_validate (o, &msg);
    if (!want) {
        if (r != 0) fprintf (stderr, "  unexpected: %s\n", msg);
        CHECK_EQ_INT (r, 0);
    } else {
        CHECK_EQ_INT (r, -EINVAL);
        CHECK_CONTAINS (msg, want);
    }
    free (msg);
    hs_pb_free (o);
}

static void test_validate (void)
{
    s_validate (POD_HEAD "  securityContext: {runAsUser: 0, runAsNonRoot: true, fsGroup: 1,\n"
                         "    supplementalGroups: [1, 2]}\n"
                         "  containers:\n  - name: a\n    command: [x]\n"
                         "    securityContext: {capabilities: {add: [cap_net_admin, KILL], drop: "
                         "[ALL]}, privileged: true}\n",
                NULL);
    s_validate (POD_HEAD "  containers:\n  - name: a\n    command: [x]\n"
                         "    securityContext: {capabilities: {add: [NET_ADMIN, NET_FOO]}}\n",
                "spec.containers[0].securityContext.capabilities.add[1]: Unsupported value: "
                "\"NET_FOO\": not a Linux capability");
    s_validate (POD_HEAD "  containers:\n  - name: a\n    command: [x]\n"
                         "    securityContext: {capabilities: {add: [ALL]}}\n",
                "capabilities.add[0]: Unsupported value: \"ALL\"");
    s_validate (POD_HEAD "  securityContext: {runAsUser: -1}\n"
                         "  containers: [{name: a, command: [x]}]\n",
                "spec.securityContext.runAsUser: Invalid value: -1: must be between 0 and "
                "2147483647, inclusive");
    s_validate (POD_HEAD "  securityContext: {supplementalGroups: [1, -2]}\n"
                         "  containers: [{name: a, command: [x]}]\n",
                "spec.securityContext.supplementalGroups[1]: Invalid value: -2");
    s_validate (POD_HEAD "  securityContext: {fsGroup: 3000000000}\n"
                         "  containers: [{name: a, command: [x]}]\n",
                "spec.securityContext.fsGroup: Invalid value: 3000000000");
    s_validate (POD_HEAD "  containers:\n  - name: a\n    command: [x]\n"
                         "    securityContext: {runAsGroup: -7}\n",
                "spec.containers[0].securityContext.runAsGroup: Invalid value: -7");
    s_validate (POD_HEAD "  containers:\n  - name: a\n    command: [x]\n"
                         "    securityContext: {seccompProfile: {type: Localhost}}\n",
                "spec.containers[0].securityContext.seccompProfile.localhostProfile: Required "
                "value");
    s_validate (POD_HEAD "  securityContext: {seccompProfile: {type: Unconfined, "
                         "localhostProfile: x}}\n"
                         "  containers: [{name: a, command: [x]}]\n",
                "spec.securityContext.seccompProfile.localhostProfile: Invalid value: \"x\"");
    s_validate (POD_HEAD "  securityContext: {seccompProfile: {}}\n"
                         "  containers: [{name: a, command: [x]}]\n",
                "spec.securityContext.seccompProfile.type: Required value");
    s_validate (POD_HEAD
                "  containers:\n  - name: a\n    command: [x]\n"
                "    securityContext: {privileged: true, allowPrivilegeEscalation: false}\n",
                "cannot set `allowPrivilegeEscalation` to false and `privileged` to true");
    s_validate (POD_HEAD "  containers:\n  - name: a\n    command: [x]\n"
                         "    securityContext: {allowPrivilegeEscalation: false,\n"
                         "      capabilities: {add: [CAP_SYS_ADMIN]}}\n",
                "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` "
                "CAP_SYS_ADMIN");
}

int main (int argc, char **argv)
{
    static const hs_test_t tests[] = {
        {"cap_names", test_cap_names},
        {"defaults", test_defaults},
        {"pod_and_container", test_pod_and_container},
        {"capabilities", test_capabilities},
        {"validate", test_validate},
    };
    return HS_TEST_RUN (tests);
}
