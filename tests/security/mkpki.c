/*  mkpki.c: a test tool (not installed) that makes a PKI directory with
 *  hs_cred, in the layout `hsctl init --pki DIR` makes:
 *      mkpki DIR IDENTITY...
 *  writes DIR/broker.key_secret (unless there), and for each identity
 *  DIR/keys/<name>.key and DIR/creds/<name>.cred, <name> being the identity
 *  with ':' and '/' as '-' ("node:a" -> node-a). An identity written
 *  "IDENTITY@EXPIRES" gets metadata expires=EXPIRES (unix seconds).
 *  Prints each name and its public key. */
#include "hs_cred.h"
#include "hs_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main (int argc, char **argv)
{
    if (argc < 2) {
        fprintf (stderr, "usage: mkpki DIR [IDENTITY[@EXPIRES]]...\n");
        return 2;
    }
    const char *dir = argv[1];
    _cleanup_free_ char *keys = hs_sprintf ("%s/keys", dir);
    _cleanup_free_ char *creds = hs_sprintf ("%s/creds", dir);
    _cleanup_free_ char *bpath = hs_sprintf ("%s/broker.key_secret", dir);
    if (hs_mkdir_p (keys, 0755) < 0 || hs_mkdir_p (creds, 0700) < 0) {
        fprintf (stderr, "mkpki: cannot make %s: %s\n", dir, strerror (errno));
        return 1;
    }
    char err[1024];
    hs_cred_t *broker = NULL;
    if (access (bpath, F_OK) != 0 && hs_cred_broker_create (bpath, NULL) < 0) {
        fprintf (stderr, "mkpki: cannot write %s\n", bpath);
        return 1;
    }
    if (hs_cred_broker_load (bpath, err, sizeof err, &broker) < 0) {
        fprintf (stderr, "mkpki: %s\n", err);
        return 1;
    }
    printf ("broker %s\n", broker->public_key);
    for (int i = 2; i < argc; i++) {
        _cleanup_free_ char *id = hs_strdup (argv[i]);
        int64_t expires = 0;
        char *at = strchr (id, '@');
        if (at) {
            *at = '\0';
            expires = strtoll (at + 1, NULL, 10);
        }
        _cleanup_free_ char *name = hs_strdup (id);
        for (char *c = name; *c; c++)
            if (*c == ':' || *c == '/') *c = '-';
        _cleanup_free_ char *cpath = hs_sprintf ("%s/%s.cred", creds, name);
        char pub[HS_CRED_Z85_LEN + 1];
        int r = hs_cred_create (cpath, id, broker->public_key, pub);
        if (r == 0) r = hs_cred_key_write (keys, name, pub, id, expires);
        if (r < 0) {
            fprintf (stderr, "mkpki: %s: %s\n", id, strerror (-r));
            return 1;
        }
        printf ("%s %s\n", name, pub);
    }
    free (broker);
    return 0;
}
