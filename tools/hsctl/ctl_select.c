/*  ctl_select.c: kubectl's label selector syntax for `-l`.
 *
 *  "app=web,tier!=db,env in (a,b),release notin (x),gpu,!legacy". Keys and
 *  values are checked like Kubernetes checks label keys and values, and the
 *  errors read like kubectl's: "unable to parse requirement: ...".
 */
#include "ctl_fmt.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

typedef enum { S_EQ, S_NE, S_IN, S_NOTIN, S_EXISTS, S_NOT_EXISTS } s_op_t;

typedef struct {
    char *key;
    s_op_t op;
    char **values;
    size_t n_values;
} s_req_t;

struct ctl_selector {
    s_req_t *reqs;
    size_t n;
};

static bool s_alnum (char c)
{
    return isalnum ((unsigned char)c);
}

/* Kubernetes' qualified-name part / label value: [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, <= 63. */
static bool s_valid_name (const char *s, size_t len, bool allow_empty)
{
    if (len == 0) return allow_empty;
    if (len > 63) return false;
    if (!s_alnum (s[0]) || !s_alnum (s[len - 1])) return false;
    for (size_t i = 0; i < len; i++)
        if (!s_alnum (s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.') return false;
    return true;
}

static bool s_valid_key (const char *k)
{
    const char *slash = strchr (k, '/');
    if (!slash) return s_valid_name (k, strlen (k), false);
    size_t plen = (size_t)(slash - k);
    if (plen == 0 || plen > 253) return false;
    for (size_t i = 0; i < plen; i++)
        if (!islower ((unsigned char)k[i]) && !isdigit ((unsigned char)k[i]) && k[i] != '-' &&
            k[i] != '.')
            return false;
    return s_valid_name (slash + 1, strlen (slash + 1), false);
}

static char *s_trim (const char *s, size_t len)
{
    while (len && isspace ((unsigned char)*s)) s++, len--;
    while (len && isspace ((unsigned char)s[len - 1])) len--;
    return hs_strndup (s, len);
}

static void s_req_free (s_req_t *r)
{
    free (r->key);
    for (size_t i = 0; i < r->n_values; i++) free (r->values[i]);
    free (r->values);
}

void ctl_selector_free (ctl_selector_t **self_p)
{
    if (!self_p || !*self_p) return;
    ctl_selector_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++) s_req_free (&self->reqs[i]);
    free (self->reqs);
    free (self);
    *self_p = NULL;
}

static void s_add_value (s_req_t *r, char *v)
{
    r->values = hs_realloc (r->values, (r->n_values + 1) * sizeof (char *));
    r->values[r->n_values++] = v;
}

/* Parses one requirement (trimmed, non-empty). 0 or -EINVAL with *err. */
static int s_parse_req (const char *text, s_req_t *r, char **err)
{
    memset (r, 0, sizeof *r);
    const char *p = text;
    if (*p == '!') {
        r->op = S_NOT_EXISTS;
        r->key = s_trim (p + 1, strlen (p + 1));
    } else {
        size_t klen = strcspn (p, "=!() \t");
        if (klen == 0) {
            *err = hs_sprintf ("unable to parse requirement: found '%c', expected: !, "
                               "identifier, or 'end of string'",
                               *p);
            return -EINVAL;
        }
        r->key = hs_strndup (p, klen);
        const char *q = p + klen;
        while (isspace ((unsigned char)*q)) q++;
        if (*q == '\0') {
            r->op = S_EXISTS;
        } else if (!strncmp (q, "!=", 2) || !strncmp (q, "==", 2) || *q == '=') {
            r->op = q[0] == '!' ? S_NE : S_EQ;
            q += (q[0] == '=' && q[1] != '=') ? 1 : 2;
            char *v = s_trim (q, strlen (q));
            s_add_value (r, v);
        } else if ((!strncmp (q, "in", 2) && (isspace ((unsigned char)q[2]) || q[2] == '(')) ||
                   (!strncmp (q, "notin", 5) && (isspace ((unsigned char)q[5]) || q[5] == '('))) {
            r->op = q[0] == 'i' ? S_IN : S_NOTIN;
            q += r->op == S_IN ? 2 : 5;
            while (isspace ((unsigned char)*q)) q++;
            size_t len = strlen (q);
            if (*q != '(' || len < 2 || q[len - 1] != ')') {
                *err = hs_sprintf ("unable to parse requirement: found '%s', expected: '('", q);
                return -EINVAL;
            }
            const char *v = q + 1, *end = q + len - 1;
            while (v <= end) {
                const char *c = memchr (v, ',', (size_t)(end - v));
                const char *stop = c ? c : end;
                s_add_value (r, s_trim (v, (size_t)(stop - v)));
                v = stop + 1;
            }
            if (r->n_values == 1 && hs_empty (r->values[0])) {
                *err = hs_sprintf ("unable to parse requirement: values: Invalid value: "
                                   "\"%s\": for 'in', 'notin' operators, values set can't be "
                                   "empty",
                                   r->key);
                return -EINVAL;
            }
        } else {
            *err = hs_sprintf ("unable to parse requirement: found '%s', expected: ',', '!=', "
                               "'==', '=', 'in', 'notin'",
                               q);
            return -EINVAL;
        }
    }
    if (!s_valid_key (r->key)) {
        *err = hs_sprintf ("unable to parse requirement: key: Invalid value: \"%s\": name part "
                           "must consist of alphanumeric characters, '-', '_' or '.', and must "
                           "start and end with an alphanumeric character",
                           r->key);
        return -EINVAL;
    }
    for (size_t i = 0; i < r->n_values; i++)
        if (!s_valid_name (r->values[i], strlen (r->values[i]), true)) {
            *err = hs_sprintf ("unable to parse requirement: values[%zu][%s]: Invalid value: "
                               "\"%s\": a valid label must be an empty string or consist of "
                               "alphanumeric characters, '-', '_' or '.', and must start and "
                               "end with an alphanumeric character",
                               i, r->key, r->values[i]);
            return -EINVAL;
        }
    return 0;
}

ctl_selector_t *ctl_selector_parse (const char *text, char **ret_error)
{
    ctl_selector_t *self = hs_calloc (1, sizeof *self);
    const char *p = hs_s (text);
    char *err = NULL;
    while (*p) {
        /* one requirement: up to a comma outside parentheses */
        int depth = 0;
        const char *q = p;
        for (; *q && (*q != ',' || depth > 0); q++) {
            if (*q == '(') depth++;
            if (*q == ')') depth--;
        }
        _cleanup_free_ char *one = s_trim (p, (size_t)(q - p));
        if (*one == '\0') {
            err = hs_sprintf ("unable to parse requirement: found '%s', expected: !, "
                              "identifier, or 'end of string'",
                              *q ? "," : "");
            break;
        }
        s_req_t r;
        if (s_parse_req (one, &r, &err) < 0) {
            s_req_free (&r);
            break;
        }
        self->reqs = hs_realloc (self->reqs, (self->n + 1) * sizeof (s_req_t));
        self->reqs[self->n++] = r;
        p = *q ? q + 1 : q;
        if (*q && !*p) {
            err = hs_strdup ("unable to parse requirement: found '', expected: !, identifier, "
                             "or 'end of string'");
            break;
        }
    }
    if (err) {
        ctl_selector_free (&self);
        *ret_error = err;
        return NULL;
    }
    return self;
}

bool ctl_selector_matches (const ctl_selector_t *sel, void *const *labels, size_t n)
{
    if (!sel) return true;
    for (size_t i = 0; i < sel->n; i++) {
        const s_req_t *r = &sel->reqs[i];
        const char *v = hs_pb_map_get (labels, n, r->key);
        bool in = false;
        for (size_t j = 0; v && j < r->n_values; j++)
            if (!strcmp (v, r->values[j])) in = true;
        switch (r->op) {
        case S_EQ:
        case S_IN:
            if (!in) return false;
            break;
        case S_NE:
        case S_NOTIN:
            if (in) return false;
            break;
        case S_EXISTS:
            if (!v) return false;
            break;
        case S_NOT_EXISTS:
            if (v) return false;
            break;
        }
    }
    return true;
}
