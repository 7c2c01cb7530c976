/*  store_secret.c: the keyring file and sealed values (see store_secret.h).
 *
 *  libsodium, not a hand-made construction: crypto_secretbox is the
 *  XSalsa20-Poly1305 box Kubernetes' `secretbox` provider also uses, and a
 *  24-byte nonce is safe to draw at random for every write (no counter to
 *  persist across restarts and replays).
 */
#include "store_secret.h"
#include "hs_util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PREFIX     "\0hsenc:v1:"
#define PREFIX_LEN (sizeof PREFIX - 1)
#define NONCE      crypto_secretbox_NONCEBYTES
#define MAC        crypto_secretbox_MACBYTES
#define MAX_FILE   (64 * 1024)

_Static_assert(STORE_SECRET_KEY_BYTES == crypto_secretbox_KEYBYTES, "a secretbox key");

typedef struct {
    char name[STORE_SECRET_MAX_NAME + 1];
    size_t name_len;
    uint8_t key[STORE_SECRET_KEY_BYTES];
} s_key_t;

struct store_keyring_t {
    char *path;
    s_key_t *keys; /* sodium_malloc'ed: locked, guarded, zeroed on free */
    size_t n;
};

static bool s_sodium (void)
{
    return sodium_init () >= 0; /* idempotent, thread-safe */
}

void store_keyring_destroy (store_keyring_t **self_p)
{
    store_keyring_t *self = *self_p;
    if (!self) return;
    if (self->keys) sodium_free (self->keys);
    free (self->path);
    free (self);
    *self_p = NULL;
}

const char *store_keyring_path (const store_keyring_t *self)
{
    return self->path;
}

const char *store_keyring_primary (const store_keyring_t *self)
{
    return self->keys[0].name;
}

size_t store_keyring_count (const store_keyring_t *self)
{
    return self->n;
}

static bool s_name_ok (const char *s, size_t n)
{
    if (n == 0 || n > STORE_SECRET_MAX_NAME) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Parses the file's text into self->keys. 0 or -EINVAL with *ret_error. */
static int s_parse (store_keyring_t *self, char *text, char **ret_error)
{
    self->keys = sodium_malloc (STORE_SECRET_MAX_KEYS * sizeof *self->keys);
    if (!self->keys) abort (); /* the one out-of-memory policy */
    int lineno = 0;
    for (char *line = text, *next; line; line = next) {
        lineno++;
        next = strchr (line, '\n');
        if (next) *next++ = '\0';
        char *p = line + strspn (line, " \t\r");
        if (*p == '\0' || *p == '#') continue;
        size_t nlen = strcspn (p, " \t\r");
        char *b64 = p + nlen;
        b64 += strspn (b64, " \t");
        size_t blen = strcspn (b64, " \t\r");
        const char *rest = b64 + blen + strspn (b64 + blen, " \t\r");
        if (!s_name_ok (p, nlen) || blen == 0 || *rest != '\0') {
            *ret_error = hs_sprintf ("%s:%d: expected NAME BASE64 (a name of 1-%d letters, digits, "
                                     "'.', '_' or '-', then a 32-byte key in base64)",
                                     self->path, lineno, STORE_SECRET_MAX_NAME);
            return -EINVAL;
        }
        if (self->n == STORE_SECRET_MAX_KEYS) {
            *ret_error =
                hs_sprintf ("%s:%d: more than %d keys", self->path, lineno, STORE_SECRET_MAX_KEYS);
            return -EINVAL;
        }
        s_key_t *k = &self->keys[self->n];
        memcpy (k->name, p, nlen);
        k->name[nlen] = '\0';
        k->name_len = nlen;
        for (size_t i = 0; i < self->n; i++)
            if (strcmp (self->keys[i].name, k->name) == 0) {
                *ret_error =
                    hs_sprintf ("%s:%d: key \"%s\" is named twice", self->path, lineno, k->name);
                return -EINVAL;
            }
        size_t got = 0;
        b64[blen] = '\0';
        if (sodium_base642bin (k->key, sizeof k->key, b64, blen, NULL, &got, NULL,
                               sodium_base64_VARIANT_ORIGINAL) != 0 ||
            got != sizeof k->key) {
            *ret_error = hs_sprintf ("%s:%d: key \"%s\" is not %d bytes in base64 (make one with "
                                     "`head -c 32 /dev/urandom | base64`)",
                                     self->path, lineno, k->name, STORE_SECRET_KEY_BYTES);
            return -EINVAL;
        }
        sodium_memzero (b64, blen);
        self->n++;
    }
    if (self->n == 0) {
        *ret_error = hs_sprintf ("%s: holds no key", self->path);
        return -EINVAL;
    }
    return 0;
}

int store_keyring_load (const char *path, store_keyring_t **ret_keys, char **ret_error)
{
    char *error = NULL;
    if (!s_sodium ()) {
        *ret_error = hs_strdup ("libsodium cannot initialize");
        return -EIO;
    }
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        *ret_error =
            hs_sprintf ("cannot read the encryption key file %s: %s", path, strerror (err));
        return -err;
    }
    struct stat st;
    if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || st.st_size > MAX_FILE) {
        close (fd);
        *ret_error = hs_sprintf ("%s: not a regular file of at most %d KiB", path, MAX_FILE / 1024);
        return -EINVAL;
    }
    char *text = sodium_malloc ((size_t)st.st_size + 1);
    if (!text) abort ();
    size_t have = 0;
    while (have < (size_t)st.st_size) {
        ssize_t n = read (fd, text + have, (size_t)st.st_size - have);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        have += (size_t)n;
    }
    close (fd);
    text[have] = '\0';
    store_keyring_t *self = hs_calloc (1, sizeof *self);
    self->path = hs_strdup (path);
    int r = s_parse (self, text, &error);
    sodium_free (text); /* zeroes it */
    if (r < 0) {
        store_keyring_destroy (&self);
        *ret_error = error;
        return r;
    }
    *ret_keys = self;
    return 0;
}

int store_keyring_create (const char *path, store_keyring_t **ret_keys, char **ret_error)
{
    if (!s_sodium ()) {
        *ret_error = hs_strdup ("libsodium cannot initialize");
        return -EIO;
    }
    if (access (path, F_OK) == 0) {
        *ret_error = hs_sprintf ("%s: exists already", path);
        return -EEXIST;
    }
    uint8_t key[STORE_SECRET_KEY_BYTES];
    randombytes_buf (key, sizeof key);
    char b64[sodium_base64_ENCODED_LEN (STORE_SECRET_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64 (b64, sizeof b64, key, sizeof key, sodium_base64_VARIANT_ORIGINAL);
    sodium_memzero (key, sizeof key);
    /* Named after its day, so a rotation's new key gets another name. */
    char name[32];
    time_t now = time (NULL);
    struct tm tm;
    gmtime_r (&now, &tm);
    strftime (name, sizeof name, "key-%Y%m%dT%H%M%SZ", &tm);
    _cleanup_free_ char *text = hs_sprintf (
        "# hs-store's keys for Secrets at rest (docs/architecture.md, \"Secrets at rest\").\n"
        "# One key a line: NAME BASE64 (32 bytes). The first encrypts; every key decrypts.\n"
        "# Rotate: put a new key first (head -c 32 /dev/urandom | base64), run\n"
        "# `hs-store --data DIR --rewrite-secrets` (or restart hs-store), then remove the old "
        "key.\n"
        "%s %s\n",
        name, b64);
    sodium_memzero (b64, sizeof b64);
    _cleanup_free_ char *tmp = hs_sprintf ("%s.tmp.%d", path, (int)getpid ());
    int fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int r = 0;
    if (fd < 0) r = -errno;
    size_t len = strlen (text), off = 0;
    while (r == 0 && off < len) {
        ssize_t n = write (fd, text + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) r = -errno;
        if (n > 0) off += (size_t)n;
    }
    if (r == 0 && fsync (fd) != 0) r = -errno;
    if (fd >= 0 && close (fd) != 0 && r == 0) r = -errno;
    sodium_memzero (text, len);
    if (r == 0 && rename (tmp, path) != 0) r = -errno;
    if (r < 0) {
        unlink (tmp);
        *ret_error =
            hs_sprintf ("cannot create the encryption key file %s: %s", path, strerror (-r));
        return r;
    }
    /* the rename itself survives a crash once the directory is synced */
    _cleanup_free_ char *dcopy = hs_strdup (path);
    int dfd = open (dirname (dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync (dfd);
        close (dfd);
    }
    return store_keyring_load (path, ret_keys, ret_error);
}

/* ------------------------------------------------------------------ sealed values */

bool store_secret_is_sealed (const void *v, size_t len)
{
    return len >= PREFIX_LEN && memcmp (v, PREFIX, PREFIX_LEN) == 0;
}

size_t store_secret_sealed_size (const store_keyring_t *self, size_t len)
{
    return PREFIX_LEN + self->keys[0].name_len + 1 + NONCE + MAC + len;
}

void store_secret_seal (const store_keyring_t *self, const void *plain, size_t len, uint8_t *out)
{
    const s_key_t *k = &self->keys[0];
    uint8_t *p = out;
    memcpy (p, PREFIX, PREFIX_LEN);
    p += PREFIX_LEN;
    memcpy (p, k->name, k->name_len);
    p += k->name_len;
    *p++ = ':';
    randombytes_buf (p, NONCE);
    crypto_secretbox_easy (p + NONCE, plain, len, p, k->key);
}

int store_secret_key_name (const void *sealed, size_t len, const char **ret_name, size_t *ret_len)
{
    if (!store_secret_is_sealed (sealed, len)) return -EBADMSG;
    const char *name = (const char *)sealed + PREFIX_LEN;
    size_t room = len - PREFIX_LEN;
    const char *colon =
        memchr (name, ':', room < STORE_SECRET_MAX_NAME + 1 ? room : STORE_SECRET_MAX_NAME + 1);
    if (!colon || colon == name) return -EBADMSG;
    size_t nlen = (size_t)(colon - name);
    if (room - nlen - 1 < NONCE + MAC) return -EBADMSG;
    *ret_name = name;
    *ret_len = nlen;
    return 0;
}

static const s_key_t *s_find (const store_keyring_t *self, const char *name, size_t nlen)
{
    for (size_t i = 0; i < self->n; i++)
        if (self->keys[i].name_len == nlen && memcmp (self->keys[i].name, name, nlen) == 0)
            return &self->keys[i];
    return NULL;
}

int store_secret_open (const store_keyring_t *self, const void *sealed, size_t len,
                       uint8_t **ret_plain, size_t *ret_len)
{
    const char *name;
    size_t nlen;
    int r = store_secret_key_name (sealed, len, &name, &nlen);
    if (r < 0) return r;
    const s_key_t *k = s_find (self, name, nlen);
    if (!k) return -ENOKEY;
    const uint8_t *nonce = (const uint8_t *)name + nlen + 1;
    const uint8_t *box = nonce + NONCE;
    size_t blen = len - (size_t)(box - (const uint8_t *)sealed);
    size_t plen = blen - MAC;
    uint8_t *plain = hs_malloc (plen ? plen : 1);
    if (crypto_secretbox_open_easy (plain, box, blen, nonce, k->key) != 0) {
        store_secret_free_plain (plain, plen);
        return -EBADMSG;
    }
    *ret_plain = plain;
    *ret_len = plen;
    return 0;
}

void store_secret_free_plain (uint8_t *plain, size_t len)
{
    if (!plain) return;
    sodium_memzero (plain, len);
    free (plain);
}

bool store_secret_is_primary (const store_keyring_t *self, const void *sealed, size_t len)
{
    const char *name;
    size_t nlen;
    return store_secret_key_name (sealed, len, &name, &nlen) == 0 &&
           nlen == self->keys[0].name_len && memcmp (name, self->keys[0].name, nlen) == 0;
}
