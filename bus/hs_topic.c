/*  hs_topic.c: topic builders and the command-topic rule (see hs_topic.h). */
#include "hs_topic.h"
#include "hs_util.h"

#include <errno.h>
#include <string.h>

bool hs_topic_id_ok (const char *id)
{
    if (hs_empty (id)) return false;
    size_t n = 0;
    for (const char *p = id; *p; p++, n++)
        if (*p < 0x21 || *p > 0x7e || *p == HS_TOPIC_END || n >= HS_TOPIC_MAX_ID) return false;
    return true;
}

bool hs_topic_is_stamped (const char *topic, size_t len)
{
    static const char *const stamped[] = {"cmd.", "probres.", "execout.", "logs."};
    for (size_t i = 0; i < HS_ARRAY_LEN (stamped); i++) {
        size_t n = strlen (stamped[i]);
        if (len > n && memcmp (topic, stamped[i], n) == 0) return true;
    }
    return false;
}

char *hs_topic_to (const char *family, const char *id)
{
    return hs_sprintf ("%s.%s%c", family, hs_s (id), HS_TOPIC_END);
}

char *hs_topic_events (hs_kind_t kind, const char *routing)
{
    const hs_kind_info_t *info = hs_kind_info (kind);
    if (!routing) return hs_sprintf ("ev.%s.", info ? info->name : "?");
    return hs_sprintf ("ev.%s.%s%c", info ? info->name : "?", routing, HS_TOPIC_END);
}

char *hs_topic_event (hs_kind_t kind, const char *routing, const char *ns, const char *name)
{
    const hs_kind_info_t *info = hs_kind_info (kind);
    return hs_sprintf ("ev.%s.%s%c%s%c%s", info ? info->name : "?", hs_s (routing), HS_TOPIC_END,
                       hs_s (ns), HS_TOPIC_END, hs_s (name));
}

hs_kind_t hs_write_kind (const Hs__Write *w)
{
    if (!hs_empty (w->kind)) return hs_kind_parse (w->kind);
    hs_kind_t k = hs_obj_kind (w->object);
    if (k == HS_KIND_NONE && w->op == HS__OP__OP_BIND) k = HS_KIND_POD;
    return k;
}

/* The one kind of all writes, or HS_KIND_NONE if none, mixed or unknown;
 * *ret_unknown tells the last case apart. */
static hs_kind_t s_single_kind (Hs__Write *const *writes, size_t n, bool *ret_unknown)
{
    hs_kind_t one = HS_KIND_NONE;
    bool mixed = false;
    *ret_unknown = false;
    for (size_t i = 0; i < n; i++) {
        hs_kind_t k = hs_write_kind (writes[i]);
        if (k == HS_KIND_NONE) {
            *ret_unknown = true;
            return HS_KIND_NONE;
        }
        if (i == 0)
            one = k;
        else if (k != one)
            mixed = true;
    }
    return mixed ? HS_KIND_NONE : one;
}

char *hs_cmd_topic (Hs__Write *const *writes, size_t n)
{
    bool unknown;
    hs_kind_t k = s_single_kind (writes, n, &unknown);
    if (k == HS_KIND_NONE) return hs_strdup (HS_TOPIC_CMD_MULTI);
    return hs_sprintf ("cmd.%s", hs_kind_info (k)->name);
}

int hs_cmd_topic_check (const char *topic, Hs__Write *const *writes, size_t n, char **ret_msg)
{
    bool unknown;
    hs_kind_t one = s_single_kind (writes, n, &unknown);
    if (n == 0 || unknown) return 0;
    if (strcmp (topic, HS_TOPIC_CMD_MULTI) == 0) {
        if (one == HS_KIND_NONE) return 0;
        *ret_msg = hs_sprintf ("%s: Forbidden: every write of this command is a %s: it must go on "
                               "cmd.%s (cmd.multi is for commands that write several kinds)",
                               topic, hs_kind_info (one)->kind_name, hs_kind_info (one)->name);
        return -EPERM;
    }
    hs_kind_t want = hs_startswith (topic, "cmd.") ? hs_kind_parse (topic + 4) : HS_KIND_NONE;
    /* hs_kind_parse accepts plurals and short names; the topic takes only
     * the kind's own name. */
    if (want != HS_KIND_NONE && strcmp (topic + 4, hs_kind_info (want)->name) != 0)
        want = HS_KIND_NONE;
    for (size_t i = 0; i < n; i++) {
        hs_kind_t k = hs_write_kind (writes[i]);
        if (k == want) continue;
        if (want == HS_KIND_NONE)
            *ret_msg = hs_sprintf ("%.100s: Forbidden: not a command topic: a command goes on "
                                   "cmd.<kind> or, writing several kinds, on cmd.multi",
                                   topic);
        else
            *ret_msg = hs_sprintf ("%s: Forbidden: writes[%zu] is a %s: a command on %s may "
                                   "only write %s%s",
                                   topic, i, hs_kind_info (k)->kind_name, topic,
                                   hs_kind_info (want)->plural,
                                   one == HS_KIND_NONE ? " (several kinds: use cmd.multi)" : "");
        return -EPERM;
    }
    return 0;
}

bool hs_member_name_ok (const char *s, size_t len)
{
    if (!s || len == 0 || len > HS_MEMBER_NAME_MAX) return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    return true;
}
