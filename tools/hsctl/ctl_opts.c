/*  ctl_opts.c: command-line parsing. Every verb's options are merged with the
 *  global ones (--bus, --credential, --insecure, -n, -A, --request-timeout,
 *  -h) and parsed with GNU
 *  getopt_long, so flags may come before or after the positional arguments,
 *  as with kubectl. Errors are kubectl's ("error: unknown flag: --foo").
 */
#include "ctl.h"

#include <stdarg.h>
#include <math.h>
#include <string.h>

static const struct option s_global_longs[] = {
    {"bus", required_argument, NULL, CTL_OPT_BUS},
    {"credential", required_argument, NULL, CTL_OPT_CREDENTIAL},
    {"insecure", no_argument, NULL, CTL_OPT_INSECURE},
    {"namespace", required_argument, NULL, 'n'},
    {"all-namespaces", no_argument, NULL, 'A'},
    {"request-timeout", required_argument, NULL, CTL_OPT_TIMEOUT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

void ctl_getopt_build (ctl_getopt_t *g, const struct option *verb_longs, const char *verb_shorts)
{
    size_t n = 0;
    for (const struct option *o = s_global_longs; o->name; o++) g->longs[n++] = *o;
    for (const struct option *o = verb_longs; o && o->name && n + 1 < HS_ARRAY_LEN (g->longs); o++)
        g->longs[n++] = *o;
    g->longs[n] = (struct option){NULL, 0, NULL, 0};
    snprintf (g->shorts, sizeof g->shorts, ":n:Ah%s", hs_s (verb_shorts));
}

/* "10", "10s", "500ms", "2m" -> ms; 0 means "no limit" (a day). */
static int s_parse_timeout (const char *s, int *ret_ms)
{
    char *end;
    double v = strtod (s, &end);
    if (end == s || !isfinite (v) || v < 0) return -1; /* "nan" and "inf" too */
    double ms;
    if (*end == '\0' || !strcmp (end, "s"))
        ms = v * 1000;
    else if (!strcmp (end, "ms"))
        ms = v;
    else if (!strcmp (end, "m"))
        ms = v * 60000;
    else if (!strcmp (end, "h"))
        ms = v * 3600000;
    else
        return -1;
    if (ms > 86400000 || ms == 0) ms = 86400000;
    *ret_ms = ms < 1 ? 1 : (int)ms;
    return 0;
}

int ctl_global_opt (ctl_t *ctl, int c, const char *arg)
{
    switch (c) {
    case CTL_OPT_BUS: ctl->bus = arg; return 1;
    /* the bus library's process-wide choice (hs_bus.h): before any connect */
    case CTL_OPT_CREDENTIAL: hs_bus_use_credential (arg); return 1;
    case CTL_OPT_INSECURE: hs_bus_use_insecure (); return 1;
    case 'n':
        if (hs_empty (arg)) {
            fprintf (stderr, "error: a namespace must be given with -n\n");
            return -1;
        }
        ctl->ns = arg;
        ctl->ns_given = true;
        return 1;
    case 'A': ctl->all_ns = true; return 1;
    case 'h': ctl->help = true; return 1;
    case CTL_OPT_TIMEOUT:
        if (s_parse_timeout (arg, &ctl->timeout_ms) < 0) {
            fprintf (stderr,
                     "error: invalid argument \"%s\" for \"--request-timeout\" flag: "
                     "use a number of seconds or a unit (1s, 2m, 500ms)\n",
                     arg);
            return -1;
        }
        return 1;
    default: return 0;
    }
}

void ctl_usage_error (ctl_t *ctl, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    fputs ("error: ", stderr);
    vfprintf (stderr, fmt, ap);
    fputc ('\n', stderr);
    va_end (ap);
    fprintf (stderr, "See 'hsctl %s -h' for help and examples\n", hs_s (ctl->verb));
}

static void s_flag_error (ctl_t *ctl, char **argv, int c)
{
    const char *arg = argv[optind - 1];
    bool is_long = hs_startswith (arg, "--");
    if (c == ':') {
        if (is_long) {
            char name[128];
            snprintf (name, sizeof name, "%s", arg);
            name[strcspn (name, "=")] = '\0';
            fprintf (stderr, "error: flag needs an argument: %s\n", name);
        } else
            fprintf (stderr, "error: flag needs an argument: '%c' in -%c\n", optopt, optopt);
    } else if (is_long || optopt == 0) {
        char name[128];
        snprintf (name, sizeof name, "%s", arg);
        name[strcspn (name, "=")] = '\0';
        fprintf (stderr, "error: unknown flag: %s\n", name);
    } else
        fprintf (stderr, "error: unknown shorthand flag: '%c' in %s\n", optopt, arg);
    fprintf (stderr, "See 'hsctl %s --help' for usage.\n", hs_s (ctl->verb));
}

int ctl_parse (ctl_t *ctl, int argc, char **argv, const struct option *verb_longs,
               const char *verb_shorts, ctl_opt_fn *fn, void *arg)
{
    ctl_getopt_t g;
    ctl_getopt_build (&g, verb_longs, verb_shorts);
    optind = 0; /* GNU: full re-initialisation */
    opterr = 0;
    int c;
    while ((c = getopt_long (argc, argv, g.shorts, g.longs, NULL)) != -1) {
        if (c == '?' || c == ':') {
            s_flag_error (ctl, argv, c);
            return -1;
        }
        int r = ctl_global_opt (ctl, c, optarg);
        if (r < 0) return -1;
        if (r > 0) continue;
        if (!fn || fn (ctl, arg, c, optarg) < 0) {
            if (!fn) s_flag_error (ctl, argv, '?');
            return -1;
        }
    }
    return optind;
}

int ctl_split_ref (char *arg, hs_kind_t *ret_kind, char **ret_name)
{
    char *slash = strchr (arg, '/');
    if (!slash) {
        fprintf (stderr, "error: there is no need to specify a resource type as a separate "
                         "argument when passing arguments in resource/name form (e.g. 'hsctl "
                         "get resource/<resource_name>' instead of 'hsctl get resource "
                         "resource/<resource_name>'\n");
        return -1;
    }
    if (slash == arg || !slash[1] || strchr (slash + 1, '/')) {
        fprintf (stderr, "error: arguments in resource/name form must have a single resource and "
                         "name\n");
        return -1;
    }
    *slash = '\0';
    hs_kind_t k = hs_kind_parse (arg);
    if (k == HS_KIND_NONE) {
        fprintf (stderr, "error: the server doesn't have a resource type \"%s\"\n", arg);
        return -1;
    }
    *ret_kind = k;
    *ret_name = slash + 1;
    return 0;
}

void ctl_add_file (char ***files, size_t *n, const char *path)
{
    *files = hs_realloc (*files, (*n + 1) * sizeof (char *));
    (*files)[(*n)++] = (char *)path;
}

int ctl_load_files (char *const *files, size_t n, bool recursive, hs_manifest_t *m)
{
    for (size_t i = 0; i < n; i++) {
        _cleanup_free_ char *err = NULL;
        if (hs_manifest_load (files[i], recursive, m, &err) < 0) {
            const char *e = err ? err : "cannot load manifests";
            fprintf (stderr, "%s%s\n", hs_startswith (e, "error: ") ? "" : "error: ", e);
            hs_manifest_free (m);
            return -1;
        }
    }
    return 0;
}
