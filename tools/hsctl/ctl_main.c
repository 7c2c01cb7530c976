/*  ctl_main.c: hsctl's entry point — the global options that may come before
 *  the verb, and the verb table.
 */
#include "ctl.h"
#include "ctl_logs.h"
#include "ctl_pki.h"
#include "hs_log.h"

#include <string.h>

typedef struct {
    const char *name;
    ctl_verb_fn *fn;
    const char *summary;
} s_verb_t;

static const s_verb_t s_verbs[] = {
    {"apply", ctl_apply_main, "Apply a configuration to a resource by file name or stdin"},
    {"create", ctl_create_main, "Create a resource from a file or from stdin"},
    {"get", ctl_get_main, "Display one or many resources"},
    {"describe", ctl_describe_main, "Show details of a specific resource"},
    {"logs", ctl_logs_main, "Print the logs for a container in a pod"},
    {"exec", ctl_exec_main, "Execute a command in a container"},
    {"delete", ctl_delete_main, "Delete resources by file names, stdin, names or label selector"},
    {"replace", ctl_replace_main, "Replace a resource by file name or stdin"},
    {"cordon", ctl_cordon_main, "Mark node as unschedulable"},
    {"uncordon", ctl_uncordon_main, "Mark node as schedulable"},
    {"drain", ctl_drain_main, "Drain node in preparation for maintenance"},
    {"scale", ctl_scale_main, "Set a new size for a deployment, replica set or job"},
    {"rollout", ctl_rollout_main, "Manage the rollout of a deployment"},
    {"top", ctl_top_main, "Display resource (CPU/memory) usage"},
    {"member", ctl_member_main, "List and change the replicated store's members"},
    {"snapshot", ctl_snapshot_main, "Save, restore and inspect backups of the store"},
    {"version", ctl_version_main, "Print the client and server version information"},
    {"init", ctl_init_main, "Create the cluster's keys and hsctl's config"},
    {"keys", ctl_keys_main, "Create, list and revoke the keys the bus admits"},
    {"token", ctl_token_main, "Create, list and delete join tokens and API tokens"},
    {"config", ctl_config_main, "Print hsctl's config or a kubeconfig for kubectl"},
    {"help", ctl_help_main, "Help about any command"},
};

void ctl_print_verbs (FILE *out)
{
    fprintf (out, "hsctl controls the Homeostat cluster.\n\nAvailable Commands:\n");
    for (size_t i = 0; i < HS_ARRAY_LEN (s_verbs); i++)
        fprintf (out, "  %-10s %s\n", s_verbs[i].name, s_verbs[i].summary);
    fprintf (out,
             "\nGlobal options:\n"
             "  --bus ADDR                 the bus (HOST, HOST:PORT, ipc://DIR); default $HS_BUS "
             "or " HS_BUS_DEFAULT "\n"
             "  --credential FILE          the bus credential (default $HS_CREDENTIAL)\n"
             "  --insecure                 a bus without authentication (also HS_INSECURE=1)\n"
             "  -n, --namespace NS         the namespace (default \"default\")\n"
             "  -A, --all-namespaces       every namespace\n"
             "  --request-timeout SECONDS  how long to wait for the store (default 10)\n"
             "\nUsage:\n  hsctl [flags] [command]\n\n"
             "Use \"hsctl <command> --help\" for more information about a command.\n");
}

int ctl_help_main (ctl_t *ctl, int argc, char **argv)
{
    if (argc > 1) {
        for (size_t i = 0; i < HS_ARRAY_LEN (s_verbs); i++)
            if (!strcmp (argv[1], s_verbs[i].name) && s_verbs[i].fn != ctl_help_main) {
                char *hargv[] = {argv[1], (char *)"--help", NULL};
                ctl->verb = argv[1];
                return s_verbs[i].fn (ctl, 2, hargv);
            }
        fprintf (stderr, "Unknown help topic [`%s`]\n", argv[1]);
    }
    ctl_print_verbs (stdout);
    return 0;
}

/* Length of a global option at argv[i] (1 or 2 words), 0 if argv[i] is not one. */
static int s_global_words (char **argv, int argc, int i)
{
    const char *a = argv[i];
    static const char *with_arg[] = {"--bus", "--credential", "--namespace", "--request-timeout",
                                     "-n"};
    static const char *without[] = {"--all-namespaces", "-A", "--help", "-h"};
    for (size_t k = 0; k < HS_ARRAY_LEN (without); k++)
        if (!strcmp (a, without[k])) return 1;
    for (size_t k = 0; k < HS_ARRAY_LEN (with_arg); k++) {
        size_t l = strlen (with_arg[k]);
        if (!strcmp (a, with_arg[k])) return i + 1 < argc ? 2 : 1;
        if (!strncmp (a, with_arg[k], l) && (a[l] == '=' || (l == 2 && a[l]))) return 1;
    }
    return 0;
}

int main (int argc, char **argv)
{
    hs_log_init ("hsctl");
    if (!getenv ("HS_LOG_LEVEL")) hs_log_set_level (HS_LOG_ERROR);
    ctl_t ctl = {.ns = "default", .timeout_ms = 10000};
    /* hsctl's config (hsctl init wrote it) fills in what the environment
     * does not say: the bus and the credential. */
    if (ctl_config_apply () < 0) return 1;

    /* find the verb: the first word that is not a global option */
    int verb_at = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp (argv[i], "--")) break;
        int w = s_global_words (argv, argc, i);
        if (w) {
            i += w - 1;
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1]) {
            char name[128];
            snprintf (name, sizeof name, "%s", argv[i]);
            name[strcspn (name, "=")] = '\0';
            if (name[1] == '-')
                fprintf (stderr, "error: unknown flag: %s\n", name);
            else
                fprintf (stderr, "error: unknown shorthand flag: '%c' in %s\n", name[1], name);
            fprintf (stderr, "See 'hsctl --help' for usage.\n");
            return 1;
        }
        verb_at = i;
        break;
    }
    if (verb_at < 0) {
        ctl_print_verbs (stdout);
        return 0;
    }

    const s_verb_t *verb = NULL;
    for (size_t i = 0; i < HS_ARRAY_LEN (s_verbs); i++)
        if (!strcmp (argv[verb_at], s_verbs[i].name)) verb = &s_verbs[i];
    if (!verb) {
        fprintf (stderr, "error: unknown command \"%s\" for \"hsctl\"\n", argv[verb_at]);
        fprintf (stderr, "Run 'hsctl --help' for usage.\n");
        return 1;
    }

    /* the verb's argv: the verb, then the global options that came before it,
     * then the rest — the verb's parser sees them all */
    char **vargv = hs_calloc ((size_t)argc + 1, sizeof (char *));
    int vargc = 0;
    vargv[vargc++] = argv[verb_at];
    for (int i = 1; i < verb_at; i++) vargv[vargc++] = argv[i];
    for (int i = verb_at + 1; i < argc; i++) vargv[vargc++] = argv[i];
    ctl.verb = verb->name;
    int rc = verb->fn (&ctl, vargc, vargv);
    hs_client_destroy (&ctl.client);
    free (vargv);
    return rc;
}
