/*  ctl_pki.h: what hsctl's PKI verbs share (init, keys, token): where the
 *  PKI directory is, the broker's public key, key-file names, and hsctl's
 *  own config file.
 *
 *  The PKI directory (bus/hs_cred.h): DIR/broker.key_secret, DIR/keys/
 *  (the broker's key directory: public files only), DIR/creds/ (client
 *  credentials, 0600). DIR is --pki, else $HS_PKI, else /etc/homeostat/pki.
 *
 *  hsctl's config (like kubectl's kubeconfig) is $HSCONFIG, else
 *  ~/.homeostat/config: "key: value" lines, '#' comments; keys `bus` (the
 *  bus address) and `credential` (the credential file hsctl connects
 *  with). `hsctl init` writes it; every hsctl run reads it (ctl_config_apply).
 */
#ifndef CTL_PKI_H
#define CTL_PKI_H

#include "ctl.h"
#include "hs_cred.h"

#define CTL_PKI_DEFAULT "/etc/homeostat/pki"

/* The PKI directory: flag, else $HS_PKI, else CTL_PKI_DEFAULT. Borrowed. */
const char *ctl_pki_dir (const char *flag);

/* The broker's public key (Z85) from DIR/broker.key_secret into ret
 * (HS_CRED_Z85_LEN + 1 bytes). 0, or -1 after printing one line
 * (missing: "run hsctl init first"). */
int ctl_pki_broker_key (const char *dir, char *ret);

/* The key-file name of an identity: "node:a" -> "node-a", "sa:jobs" ->
 * "jobs", "store" -> "store". Caller frees. NULL for an invalid identity. */
char *ctl_pki_name_of (const char *identity);

/* Creates a credential for identity as DIR/creds/NAME.cred and its
 * public file DIR/keys/NAME.key (NAME from ctl_pki_name_of). With force
 * false an existing credential is kept (and 1 returned); its public file
 * is not re-written, so a revoked key stays revoked. 0 created, 1 kept,
 * or -1 after printing one line. */
int ctl_pki_make_cred (const char *dir, const char *identity, const char *broker_key, bool force);

/* The config file's path (caller frees): $HSCONFIG, else
 * $HOME/.homeostat/config; NULL when neither is known. */
char *ctl_config_path (void);
/* Writes the config file (0600, its directory 0700). 0, or -1 (printed). */
int ctl_config_write (const char *path, const char *bus, const char *credential);
/* Reads the config file, if there is one, and fills in what the
 * environment does not set at all (an empty value counts as set): HS_BUS
 * from `bus`, HS_CREDENTIAL from `credential` (not with HS_INSECURE). 0, or -1 after printing a line
 * naming the file and line of a malformed entry. */
int ctl_config_apply (void);

#endif
