/*  api_auth.c: bearer tokens and client certificates -> identities, and the
 *  pool of bus connections that act as them (api_auth.h says the rules).
 *
 *  A connection is made on the loop's thread without joining
 *  (hs_client_new_cred_nojoin); the join is proven by an echo on the loop
 *  (s_join_tick, at most API_AUTH_JOIN_MS), the requests that need the bus
 *  waiting meanwhile (api_user_wait), so a slow broker stalls nobody else. A key file is looked at
 *  again (stat: inode, size, mtime) at most every API_AUTH_RECHECK_NS; a
 *  change re-reads it, a missing file locks the user out and closes the
 *  connection once no request holds it.
 */
#include "api_auth.h"
#include "hs_log.h"
#include "hs_pb.h"
#include "hs_token.h"
#include "hs_topic.h"
#include "hs_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SWEEP_NS API_AUTH_RECHECK_NS

struct api_user {
    api_auth_t *auth;
    char key[HS_CRED_MAX_IDENTITY + 16]; /* "token-<id>" or "cert:<identity>" */
    char secret[HS_TOKEN_LEN + 1];       /* the token, compared in constant time */
    char identity[HS_CRED_MAX_IDENTITY + 1];
    char role[32];
    char path[1024]; /* the key file or credential watched */
    struct stat st;
    char path2[1024]; /* a certificate user's public key file ("": none) */
    struct stat st2;
    api_user_counts_t counts;
    /* The join, proven on the loop (s_join_tick): a Ping on echo.<id>/
     * that came back, as hs_bus_join does, without blocking. */
    bool joining, echoed;
    char nonce[20];
    char *echo_topic;
    hs_loop_timer_t *join_timer;
    int64_t join_start, ping_every;
    struct s_waiter {
        void (*fn) (void *arg, int result, const char *err);
        void *arg;
    } * waiters;
    size_t n_waiters;
    int64_t checked_at, used_at; /* monotonic */
    int64_t expires;             /* unix seconds, 0: never */
    hs_client_t *client;
    int refs;
    bool dead; /* out of the pool: freed at the last release */
    api_user_t *next;
};

struct api_auth {
    hs_loop_t *loop;
    char *bus, *keys_dir, *creds_dir;
    char broker_key[HS_CRED_Z85_LEN + 1]; /* "" insecure */
    api_user_t *users;
    size_t n;
    hs_loop_timer_t *sweep;
    void (*on_unlink) (void *arg, api_user_t *u);
    void *on_unlink_arg;
};

/* Who keeps raw hs_client_t pointers of users (api_auth_on_client_free). */
static struct {
    void (*fn) (void *arg, hs_client_t *c);
    void *arg;
} s_client_hooks[4];

void api_auth_on_client_free (void (*fn) (void *arg, hs_client_t *c), void *arg)
{
    for (size_t i = 0; i < HS_ARRAY_LEN (s_client_hooks); i++) {
        if (s_client_hooks[i].fn == fn && s_client_hooks[i].arg == arg) return;
        if (!s_client_hooks[i].fn) {
            s_client_hooks[i].fn = fn;
            s_client_hooks[i].arg = arg;
            return;
        }
    }
    log_error ("api_auth_on_client_free: too many hooks");
    abort ();
}

void api_auth_on_unlink (api_auth_t *self, void (*fn) (void *arg, api_user_t *u), void *arg)
{
    self->on_unlink = fn;
    self->on_unlink_arg = arg;
}

static void s_user_free (api_user_t *u)
{
    if (u->client)
        for (size_t i = 0; i < HS_ARRAY_LEN (s_client_hooks) && s_client_hooks[i].fn; i++)
            s_client_hooks[i].fn (s_client_hooks[i].arg, u->client);
    hs_loop_timer_free (&u->join_timer);
    free (u->echo_topic);
    free (u->waiters);
    hs_client_destroy (&u->client);
    explicit_bzero (u->secret, sizeof u->secret);
    free (u);
}

/* Takes u out of the pool; freed now or at its last release. The requests
 * that hold it are told to end (the on_unlink hook): a reference is held
 * meanwhile, so their releases cannot free u under us. */
static void s_unlink (api_auth_t *self, api_user_t *u)
{
    if (u->dead) return;
    for (api_user_t **p = &self->users; *p; p = &(*p)->next) {
        if (*p != u) continue;
        *p = u->next;
        self->n--;
        break;
    }
    u->dead = true;
    u->next = NULL;
    if (u->refs > 0 && self->on_unlink) {
        u->refs++;
        self->on_unlink (self->on_unlink_arg, u);
        u->refs--;
    }
    if (u->refs == 0) s_user_free (u);
}

static bool s_still_good (api_auth_t *self, api_user_t *u);

static void s_sweep (void *arg)
{
    api_auth_t *self = arg;
    int64_t now = hs_mono_ns ();
    /* The users in use (open streams above all) are re-checked without
     * waiting for a new request: a revoked or expired user's streams end
     * within API_AUTH_RECHECK_NS. Unlinking one only unlinks that one, so
     * the list is walked from the start again after each. */
    bool again = true;
    while (again) {
        again = false;
        for (api_user_t *u = self->users; u; u = u->next) {
            if (u->refs > 0 && !s_still_good (self, u)) {
                log_info ("%s: token or key revoked, changed or expired: its requests end",
                          u->identity);
                again = true;
                break;
            }
            if (u->refs == 0 && now - u->used_at > API_AUTH_IDLE_NS) {
                log_debug ("closing %s's idle bus connection", u->identity);
                s_unlink (self, u);
                again = true;
                break;
            }
        }
    }
    hs_loop_timer_set (self->sweep, hs_mono_ns () + SWEEP_NS);
}

api_auth_t *api_auth_new (hs_loop_t *loop, const api_auth_opts_t *opts)
{
    api_auth_t *self = hs_calloc (1, sizeof *self);
    self->loop = loop;
    self->bus = hs_strdup (opts->bus);
    self->keys_dir = hs_strdup (opts->keys_dir);
    self->creds_dir = hs_strdup (opts->creds_dir);
    snprintf (self->broker_key, sizeof self->broker_key, "%s", hs_s (opts->broker_key));
    self->sweep = hs_loop_timer (loop, hs_mono_ns () + SWEEP_NS, s_sweep, self);
    return self;
}

void api_auth_destroy (api_auth_t **self_p)
{
    api_auth_t *self = *self_p;
    if (!self) return;
    self->on_unlink = NULL; /* the server is gone before us */
    while (self->users) s_unlink (self, self->users);
    hs_loop_timer_free (&self->sweep);
    free (self->bus);
    free (self->keys_dir);
    free (self->creds_dir);
    free (self);
    *self_p = NULL;
}

size_t api_auth_size (const api_auth_t *self)
{
    return self->n;
}

static bool s_same_file (const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static bool s_ct_equal (const char *a, const char *b, size_t len)
{
    unsigned char d = 0;
    for (size_t i = 0; i < len; i++) d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

static bool s_expired (int64_t expires)
{
    return expires > 0 && hs_now_ns () / 1000000000LL >= expires;
}

static api_user_t *s_find (api_auth_t *self, const char *key)
{
    for (api_user_t *u = self->users; u; u = u->next)
        if (strcmp (u->key, key) == 0) return u;
    return NULL;
}

/* A pooled user still good: its file unchanged (looked at again when due),
 * not expired. false: it was taken out of the pool. */
static bool s_still_good (api_auth_t *self, api_user_t *u)
{
    int64_t now = hs_mono_ns ();
    if (now - u->checked_at >= API_AUTH_RECHECK_NS) {
        struct stat st;
        if (stat (u->path, &st) != 0 || !s_same_file (&st, &u->st) ||
            (u->path2[0] && (stat (u->path2, &st) != 0 || !s_same_file (&st, &u->st2)))) {
            s_unlink (self, u);
            return false;
        }
        u->checked_at = now;
    }
    if (s_expired (u->expires)) {
        s_unlink (self, u);
        return false;
    }
    return true;
}

/* Room for one more connection: closes the least recently used idle one
 * when full. */
static int s_room (api_auth_t *self, char *err, size_t err_len)
{
    if (self->n < API_AUTH_MAX_CONNS) return 0;
    api_user_t *lru = NULL;
    for (api_user_t *u = self->users; u; u = u->next)
        if (u->refs == 0 && (!lru || u->used_at < lru->used_at)) lru = u;
    if (!lru) {
        snprintf (err, err_len, "too many users at once (%d connections in use)",
                  API_AUTH_MAX_CONNS);
        return -EBUSY;
    }
    s_unlink (self, lru);
    return 0;
}

/* The join is over: result 0 (the bus echoed), -EACCES (it refused the
 * key), -EIO (no answer in time). The waiting requests go on or get their
 * answer; a failed connection leaves the pool (the next request tries
 * again). From the loop's timer only, never from inside the client. */
static void s_join_end (api_user_t *u, int result, const char *err)
{
    u->joining = false;
    hs_loop_timer_free (&u->join_timer);
    hs_bus_handshake_check (hs_client_bus (u->client), true);
    if (result == 0)
        log_debug ("joined the bus as %s", u->identity);
    else
        log_info ("%s", err);
    u->refs++; /* the waiters' answers and the unlink must not free u under us */
    while (u->n_waiters > 0) {
        struct s_waiter w = u->waiters[--u->n_waiters];
        w.fn (w.arg, result, err);
    }
    if (result < 0) s_unlink (u->auth, u);
    if (--u->refs == 0 && u->dead) s_user_free (u);
}

static void s_join_tick (void *arg)
{
    api_user_t *u = arg;
    if (u->echoed) {
        s_join_end (u, 0, NULL);
        return;
    }
    char err[512];
    if (hs_bus_handshake_check (hs_client_bus (u->client), false) < 0) {
        snprintf (err, sizeof err, "the bus refused %s's key (revoked or expired)", u->identity);
        s_join_end (u, -EACCES, err);
        return;
    }
    int64_t now = hs_mono_ns ();
    if (now - u->join_start >= (int64_t)API_AUTH_JOIN_MS * 1000000LL) {
        snprintf (err, sizeof err, "the bus did not answer %s's connection within %d ms",
                  u->identity, API_AUTH_JOIN_MS);
        s_join_end (u, -EIO, err);
        return;
    }
    Hs__Envelope env = HS__ENVELOPE__INIT;
    Hs__Ping ping = HS__PING__INIT;
    ping.nonce = u->nonce;
    env.body_case = HS__ENVELOPE__BODY_PING;
    env.ping = &ping;
    hs_bus_publish (hs_client_bus (u->client), u->echo_topic, &env);
    hs_pb_take_str (&env.sender, NULL); /* publish set a heap copy */
    if (u->ping_every < 100000000LL) u->ping_every *= 2;
    hs_loop_timer_set (u->join_timer, now + u->ping_every);
}

/* Inside the client: only notes it; s_join_tick goes on from the loop. */
static void s_on_echo (void *arg, const char *topic, const Hs__Envelope *env)
{
    api_user_t *u = arg;
    if (!u->joining || u->echoed || strcmp (topic, u->echo_topic) != 0 ||
        env->body_case != HS__ENVELOPE__BODY_PING || !env->ping ||
        !hs_streq (env->ping->nonce, u->nonce))
        return;
    u->echoed = true;
    hs_loop_timer_set (u->join_timer, hs_mono_ns ());
}

bool api_user_joining (const api_user_t *u)
{
    return u->joining;
}

void api_user_wait (api_user_t *u, void (*fn) (void *arg, int result, const char *err), void *arg)
{
    u->waiters = hs_realloc (u->waiters, (u->n_waiters + 1) * sizeof *u->waiters);
    u->waiters[u->n_waiters++] = (struct s_waiter){fn, arg};
}

void api_user_unwait (api_user_t *u, void *arg)
{
    for (size_t i = 0; i < u->n_waiters; i++)
        if (u->waiters[i].arg == arg) {
            u->waiters[i] = u->waiters[--u->n_waiters];
            return;
        }
}

/* Connects u (identity, role filled) with keypair pub/sec to the bus and
 * puts it in the pool, joining (api_user_joining) until the bus proves
 * it. Takes u. */
static int s_connect (api_auth_t *self, api_user_t *u, const char *pub, const char *sec,
                      api_user_t **ret, char *err, size_t err_len)
{
    int r = s_room (self, err, err_len);
    if (r < 0) {
        s_user_free (u);
        return r;
    }
    hs_cred_t cred;
    memset (&cred, 0, sizeof cred);
    snprintf (cred.identity, sizeof cred.identity, "%s", u->identity);
    snprintf (cred.role, sizeof cred.role, "%s", u->role);
    snprintf (cred.public_key, sizeof cred.public_key, "%s", pub);
    snprintf (cred.secret_key, sizeof cred.secret_key, "%s", sec);
    snprintf (cred.broker_key, sizeof cred.broker_key, "%s", self->broker_key);
    bool secure = self->broker_key[0] != '\0';
    hs_bus_quiet_errors (true); /* a refused user is a 401, not an error of ours */
    r = hs_client_new_cred_nojoin (self->bus, "hs-apiserver", NULL, secure ? &cred : NULL,
                                   &u->client);
    hs_bus_quiet_errors (false);
    explicit_bzero (&cred, sizeof cred);
    if (r == 0) r = hs_client_attach (u->client, self->loop);
    if (r < 0) {
        if (r == -EKEYREJECTED) {
            snprintf (err, err_len, "the bus refused %s's key (revoked or expired)", u->identity);
            r = -EACCES;
        } else {
            snprintf (err, err_len, "cannot connect to the bus as %s: %s", u->identity,
                      strerror (-r));
            r = -EIO;
        }
        s_user_free (u);
        return r;
    }
    u->echo_topic = hs_topic_to ("echo", hs_client_id (u->client));
    r = hs_client_on (u->client, u->echo_topic, s_on_echo, u);
    if (r < 0) {
        snprintf (err, err_len, "cannot connect to the bus as %s: %s", u->identity, strerror (-r));
        s_user_free (u);
        return -EIO;
    }
    u->joining = true;
    hs_random_id (u->nonce, 16);
    u->join_start = hs_mono_ns ();
    u->ping_every = 5000000LL;
    u->join_timer = hs_loop_timer (self->loop, u->join_start, s_join_tick, u);
    u->auth = self;
    u->checked_at = u->used_at = hs_mono_ns ();
    u->refs = 1;
    u->next = self->users;
    self->users = u;
    self->n++;
    log_debug ("connected to the bus as %s", u->identity);
    *ret = u;
    return 0;
}

int api_auth_token (api_auth_t *self, const char *token, api_user_t **ret, char *err,
                    size_t err_len)
{
    char id[HS_TOKEN_ID_LEN + 1];
    if (!token || !hs_token_valid (token, id)) {
        snprintf (err, err_len, "malformed bearer token");
        return -EACCES;
    }
    if (!self->keys_dir) {
        snprintf (err, err_len, "this server takes no bearer tokens (no --pki)");
        return -EACCES;
    }
    char key[64];
    snprintf (key, sizeof key, "token-%s", id);
    api_user_t *u = s_find (self, key);
    if (u && s_still_good (self, u)) {
        if (!s_ct_equal (u->secret, token, HS_TOKEN_LEN)) {
            snprintf (err, err_len, "invalid bearer token");
            return -EACCES;
        }
        u->refs++;
        u->used_at = hs_mono_ns ();
        *ret = u;
        return 0;
    }

    u = hs_calloc (1, sizeof *u);
    snprintf (u->key, sizeof u->key, "%s", key);
    snprintf (u->secret, sizeof u->secret, "%s", token);
    snprintf (u->path, sizeof u->path, "%s/token-%s.key", self->keys_dir, id);
    hs_cred_key_t k;
    char why[512];
    if (stat (u->path, &u->st) != 0 ||
        hs_token_api_key_read (self->keys_dir, id, why, sizeof why, &k) < 0) {
        snprintf (err, err_len, "unknown or revoked token %s", id);
        s_user_free (u);
        return -EACCES;
    }
    char pub[HS_CRED_Z85_LEN + 1], sec[HS_CRED_Z85_LEN + 1];
    int r = hs_token_api_keypair (token, pub, sec);
    if (r < 0 || strcmp (pub, k.public_key) != 0) {
        explicit_bzero (sec, sizeof sec);
        snprintf (err, err_len, "invalid bearer token");
        s_user_free (u);
        return -EACCES;
    }
    if (s_expired (k.expires)) {
        explicit_bzero (sec, sizeof sec);
        snprintf (err, err_len, "token %s has expired", id);
        s_user_free (u);
        return -EACCES;
    }
    snprintf (u->identity, sizeof u->identity, "%s", k.identity);
    snprintf (u->role, sizeof u->role, "%s", k.role);
    u->expires = k.expires;
    r = s_connect (self, u, pub, sec, ret, err, err_len);
    explicit_bzero (sec, sizeof sec);
    return r;
}

int api_auth_cert (api_auth_t *self, const char *identity, api_user_t **ret, char *err,
                   size_t err_len)
{
    /* users only: a certificate never makes anyone a component */
    if (!identity || !hs_token_api_identity_ok (identity)) {
        snprintf (err, err_len,
                  "the client certificate's CN \"%.64s\" is not a user (admin:NAME, tap:NAME)",
                  hs_s (identity));
        return -EACCES;
    }
    if (!self->creds_dir) {
        snprintf (err, err_len,
                  "no bus credential for %s: client-certificate users need --user-creds DIR",
                  identity);
        return -EACCES;
    }
    char key[HS_CRED_MAX_IDENTITY + 8];
    snprintf (key, sizeof key, "cert:%s", identity);
    api_user_t *u = s_find (self, key);
    if (u && s_still_good (self, u)) {
        u->refs++;
        u->used_at = hs_mono_ns ();
        *ret = u;
        return 0;
    }
    u = hs_calloc (1, sizeof *u);
    snprintf (u->key, sizeof u->key, "%s", key);
    _cleanup_free_ char *name = hs_strdup (identity);
    for (char *c = name; *c; c++)
        if (*c == ':') *c = '-';
    snprintf (u->path, sizeof u->path, "%s/%s.cred", self->creds_dir, name);
    hs_cred_t *cred = NULL;
    char why[1024];
    if (stat (u->path, &u->st) != 0 || hs_cred_load (u->path, why, sizeof why, &cred) < 0) {
        snprintf (err, err_len, "no bus credential for %s in %s", identity, self->creds_dir);
        s_user_free (u);
        return -EACCES;
    }
    if (strcmp (cred->identity, identity) != 0) {
        snprintf (err, err_len, "%s holds %s's credential, not %s's", u->path, cred->identity,
                  identity);
        explicit_bzero (cred, sizeof *cred);
        free (cred);
        s_user_free (u);
        return -EACCES;
    }
    /* Revocation (hsctl keys revoke apiuser-<name>) removes the public key
     * file; the bus would refuse the key, but reads come from our cache:
     * the file is checked here too, and watched as the credential is. */
    if (self->keys_dir) {
        /* apiuser-<name>.key (hsctl kubeconfig --user), else <name>.key
         * (hsctl init --user, hsctl keys create) */
        snprintf (u->path2, sizeof u->path2, "%s/apiuser-%s.key", self->keys_dir, name);
        if (stat (u->path2, &u->st2) != 0)
            snprintf (u->path2, sizeof u->path2, "%s/%s.key", self->keys_dir, name);
        hs_cred_key_t k;
        if (stat (u->path2, &u->st2) != 0 || hs_cred_key_read (u->path2, why, sizeof why, &k) < 0 ||
            strcmp (k.public_key, cred->public_key) != 0 || s_expired (k.expires)) {
            snprintf (err, err_len, "%s's key (apiuser-%s or %s) is revoked, expired or not %s's",
                      identity, name, name, u->path);
            explicit_bzero (cred, sizeof *cred);
            free (cred);
            s_user_free (u);
            return -EACCES;
        }
        u->expires = k.expires;
    }
    snprintf (u->identity, sizeof u->identity, "%s", cred->identity);
    snprintf (u->role, sizeof u->role, "%s", cred->role);
    int r = s_connect (self, u, cred->public_key, cred->secret_key, ret, err, err_len);
    explicit_bzero (cred, sizeof *cred);
    free (cred);
    return r;
}

void api_user_release (api_user_t **user_p)
{
    api_user_t *u = *user_p;
    if (!u) return;
    *user_p = NULL;
    u->used_at = hs_mono_ns ();
    if (--u->refs == 0 && u->dead) s_user_free (u);
}

const char *api_user_identity (const api_user_t *u)
{
    return u->identity;
}

const char *api_user_role (const api_user_t *u)
{
    return u->role;
}

bool api_user_may_write (const api_user_t *u)
{
    return strcmp (u->role, "tap") != 0;
}

hs_client_t *api_user_client (api_user_t *u)
{
    return u->client;
}

api_user_counts_t *api_user_counts (api_user_t *u)
{
    return &u->counts;
}
