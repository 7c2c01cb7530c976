/*  ctl_pki.c: the PKI directory, key-file names and hsctl's config file
 *  (ctl_pki.h).
 */
#include "ctl_pki.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *ctl_pki_dir (const char *flag)
{
    if (!hs_empty (flag)) return flag;
    const char *env = getenv ("HS_PKI");
    return hs_empty (env) ? CTL_PKI_DEFAULT : env;
}

int ctl_pki_broker_key (const char *dir, char *ret)
{
    _cleanup_free_ char *path = hs_sprintf ("%s/broker.key_secret", dir);
    char err[512];
    hs_cred_t *broker = NULL;
    int r = hs_cred_broker_load (path, err, sizeof err, &broker);
    if (r == -ENOENT) {
        fprintf (stderr, "error: no broker key in %s: run `hsctl init --pki %s` first\n", dir, dir);
        return -1;
    }
    if (r < 0) {
        fprintf (stderr, "error: %s\n", err);
        return -1;
    }
    memcpy (ret, broker->public_key, HS_CRED_Z85_LEN + 1);
    free (broker);
    return 0;
}

char *ctl_pki_name_of (const char *identity)
{
    if (!hs_cred_role_of (identity)) return NULL;
    if (hs_startswith (identity, "sa:")) return hs_strdup (identity + 3);
    char *name = hs_strdup (identity);
    for (char *p = name; *p; p++)
        if (*p == ':' || *p == '/') *p = '-';
    return name;
}

int ctl_pki_make_cred (const char *dir, const char *identity, const char *broker_key, bool force)
{
    _cleanup_free_ char *name = ctl_pki_name_of (identity);
    if (!name) {
        fprintf (stderr, "error: \"%s\" is not a valid identity\n", identity);
        return -1;
    }
    _cleanup_free_ char *creds = hs_sprintf ("%s/creds", dir);
    _cleanup_free_ char *keys = hs_sprintf ("%s/keys", dir);
    _cleanup_free_ char *path = hs_sprintf ("%s/%s.cred", creds, name);
    char err[512];
    if (!force && access (path, F_OK) == 0) {
        hs_cred_t *c = NULL;
        if (hs_cred_load (path, err, sizeof err, &c) < 0) {
            fprintf (stderr, "error: %s (--force makes a new one)\n", err);
            return -1;
        }
        bool same = hs_streq (c->identity, identity) && hs_streq (c->broker_key, broker_key);
        free (c);
        if (!same) {
            fprintf (stderr,
                     "error: credential %s: not %s with the broker key of %s (--force makes a "
                     "new one)\n",
                     path, identity, dir);
            return -1;
        }
        return 1;
    }
    char pub[HS_CRED_Z85_LEN + 1];
    int r = hs_cred_create (path, identity, broker_key, pub);
    if (r < 0) {
        fprintf (stderr, "error: cannot write the credential %s: %s\n", path, strerror (-r));
        return -1;
    }
    r = hs_cred_key_write (keys, name, pub, identity, 0);
    if (r < 0) {
        fprintf (stderr, "error: cannot write the key file %s/%s.key: %s\n", keys, name,
                 strerror (-r));
        unlink (path);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ config */

char *ctl_config_path (void)
{
    const char *env = getenv ("HSCONFIG");
    if (!hs_empty (env)) return hs_strdup (env);
    const char *home = getenv ("HOME");
    if (hs_empty (home)) {
        struct passwd *pw = getpwuid (getuid ());
        home = pw ? pw->pw_dir : NULL;
    }
    return hs_empty (home) ? NULL : hs_sprintf ("%s/.homeostat/config", home);
}

int ctl_config_write (const char *path, const char *bus, const char *credential)
{
    _cleanup_free_ char *dir = hs_strdup (path);
    char *slash = strrchr (dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        int r = hs_mkdir_p (dir, 0700);
        if (r < 0) {
            fprintf (stderr, "error: cannot make %s: %s\n", dir, strerror (-r));
            return -1;
        }
    }
    _cleanup_free_ char *tmp = hs_sprintf ("%s.tmp.%d", path, (int)getpid ());
    int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen (fd, "w") : NULL;
    if (!f) {
        fprintf (stderr, "error: cannot write %s: %s\n", path, strerror (errno));
        if (fd >= 0) close (fd);
        return -1;
    }
    fprintf (f,
             "# hsctl's configuration, as kubectl's kubeconfig (written by hsctl init).\n"
             "# The bus to talk to, and the credential to talk with; HS_BUS, HS_CREDENTIAL\n"
             "# and --bus override them.\n"
             "bus: %s\n"
             "credential: %s\n",
             bus, credential);
    bool ok = fflush (f) == 0 && fsync (fileno (f)) == 0;
    ok = fclose (f) == 0 && ok;
    if (!ok || rename (tmp, path) != 0) {
        fprintf (stderr, "error: cannot write %s: %s\n", path, strerror (errno));
        unlink (tmp);
        return -1;
    }
    return 0;
}

static char *s_trim (char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen (s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

int ctl_config_apply (void)
{
    _cleanup_free_ char *path = ctl_config_path ();
    if (!path) return 0;
    FILE *f = fopen (path, "re");
    if (!f) return 0; /* no config: the environment and the defaults */
    char line[4096];
    int lineno = 0, rc = 0;
    while (fgets (line, sizeof line, f)) {
        lineno++;
        char *s = s_trim (line);
        if (!*s || *s == '#') continue;
        char *colon = strchr (s, ':');
        if (!colon) {
            fprintf (stderr, "error: %s:%d: expected \"key: value\"\n", path, lineno);
            rc = -1;
            break;
        }
        *colon = '\0';
        char *key = s_trim (s), *value = s_trim (colon + 1);
        /* Only what the environment does not set at all: HS_CREDENTIAL=
         * (empty) says "no credential", and hsctl then says so. */
        if (!strcmp (key, "bus")) {
            if (!getenv ("HS_BUS")) setenv ("HS_BUS", value, 1);
        } else if (!strcmp (key, "credential")) {
            const char *insecure = getenv ("HS_INSECURE");
            if (!getenv ("HS_CREDENTIAL") && (hs_empty (insecure) || hs_streq (insecure, "0")))
                setenv ("HS_CREDENTIAL", value, 1);
        } else {
            fprintf (stderr, "error: %s:%d: unknown key \"%s\" (known: bus, credential)\n", path,
                     lineno, key);
            rc = -1;
            break;
        }
    }
    fclose (f);
    return rc;
}
