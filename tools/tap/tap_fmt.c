/*  tap_fmt.c: raw bus frames -> hs-tap's lines and JSON, from the schema alone. */
#include "tap_fmt.h"
#include "hs_obj.h"
#include "hs_pbjson.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define HEX_PREVIEW 16  /* bytes of a garbage message shown in hex */
#define TOPIC_MAX   120 /* topic characters shown on a line */
#define LIST_MAX    2   /* writes / results named before "+N more" */

/* ------------------------------------------------------------------ helpers */

const char *tap_fmt_clock (int64_t ns, char *buf, size_t len)
{
    time_t t = (time_t)(ns / 1000000000LL);
    struct tm tm;
    if (ns < 0 || !gmtime_r (&t, &tm)) {
        snprintf (buf, len, "??:??:??.???");
        return buf;
    }
    snprintf (buf, len, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
              (int)((ns / 1000000) % 1000));
    return buf;
}

const char *tap_fmt_rfc3339_ms (int64_t ns, char *buf, size_t len)
{
    time_t t = (time_t)(ns / 1000000000LL);
    struct tm tm;
    if (ns < 0 || !gmtime_r (&t, &tm) || tm.tm_year > 8099) {
        snprintf (buf, len, "1970-01-01T00:00:00.000Z");
        return buf;
    }
    snprintf (buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
              tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)((ns / 1000000) % 1000));
    return buf;
}

void tap_json_str (hs_buf_t *b, const uint8_t *s, size_t len)
{
    hs_buf_puts (b, "\"");
    for (size_t i = 0; i < len; i++) {
        uint8_t c = s[i];
        if (c == '"' || c == '\\')
            hs_buf_printf (b, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            /* Topics are ASCII by contract; anything else is shown byte by
             * byte (as Latin-1), which keeps the output valid JSON. */
            hs_buf_printf (b, "\\u%04x", c);
        else
            hs_buf_append (b, &c, 1);
    }
    hs_buf_puts (b, "\"");
}

void tap_escape (hs_buf_t *b, const uint8_t *s, size_t len, size_t max)
{
    size_t n = len < max ? len : max;
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= 0x21 && s[i] <= 0x7e && s[i] != '\\')
            hs_buf_append (b, &s[i], 1);
        else
            hs_buf_printf (b, "\\x%02x", s[i]);
    }
    if (len > max) hs_buf_puts (b, "...");
}

/* Bus strings (senders, messages) go on a terminal: no control characters. */
static void s_sanitize (char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n' || c == '\t' || c == '\r')
            *s = ' ';
        else if (c < 0x20 || c == 0x7f)
            *s = '?';
    }
}

size_t tap_msg_size (const tap_msg_t *m)
{
    size_t sum = 0;
    for (size_t i = 0; i < m->n; i++) sum += m->frames[i].len;
    return sum;
}

bool tap_filter_match (const tap_filter_t *f, const hs_frame_t *topic)
{
    const char *t = (const char *)topic->data;
    bool in = f->n_include == 0;
    for (size_t i = 0; i < f->n_include && !in; i++) {
        size_t pl = strlen (f->include[i]);
        in = pl <= topic->len && memcmp (t, f->include[i], pl) == 0;
    }
    if (!in) return false;
    for (size_t i = 0; i < f->n_exclude; i++) {
        size_t pl = strlen (f->exclude[i]);
        if (pl <= topic->len && memcmp (t, f->exclude[i], pl) == 0) return false;
    }
    return true;
}

const char *tap_topic_group (const hs_frame_t *topic, char *buf, size_t len)
{
    bool ok = topic->len > 0 && topic->len <= HS_BUS_MAX_TOPIC;
    for (size_t i = 0; ok && i < topic->len; i++)
        ok = topic->data[i] >= 0x21 && topic->data[i] <= 0x7e;
    if (!ok) {
        snprintf (buf, len, "(bad topic)");
        return buf;
    }
    const char *t = (const char *)topic->data;
    const char *dot1 = memchr (t, '.', topic->len);
    size_t first = dot1 ? (size_t)(dot1 - t) : topic->len;
    /* Per-client, per-node and per-instance topics would give one group each. */
    static const char *const per_client[] = {"ack",     "snap",   "echo", "logs",
                                             "probres", "logreq", "probe"};
    for (size_t i = 0; dot1 && i < HS_ARRAY_LEN (per_client); i++) {
        if (first == strlen (per_client[i]) && memcmp (t, per_client[i], first) == 0) {
            snprintf (buf, len, "%s", per_client[i]);
            return buf;
        }
    }
    size_t end = topic->len;
    if (dot1) {
        const char *dot2 = memchr (dot1 + 1, '.', topic->len - first - 1);
        if (dot2) end = (size_t)(dot2 - t);
    }
    if (end > 64) end = 64;
    snprintf (buf, len, "%.*s", (int)end, t);
    return buf;
}

/* ------------------------------------------------------------------ summaries */

/* An enum value's name, with `strip` removed and lower-cased ("OP_UPDATE_STATUS",
 * "OP_" -> "update_status"); "?<n>" for values this schema does not know. */
static const char *s_enum_lower (const ProtobufCEnumDescriptor *d, int v, const char *strip,
                                 char *buf, size_t len)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value (d, v);
    if (!ev) {
        snprintf (buf, len, "?%d", v);
        return buf;
    }
    const char *name = ev->name;
    if (hs_startswith (name, strip)) name += strlen (strip);
    size_t i = 0;
    for (; name[i] && i + 1 < len; i++) buf[i] = (char)tolower ((unsigned char)name[i]);
    buf[i] = '\0';
    return buf;
}

/* Kubernetes' reason from a Code's enum name: "CODE_ALREADY_EXISTS" -> "AlreadyExists". */
static const char *s_code_reason (Hs__Code code, char *buf, size_t len)
{
    const ProtobufCEnumValue *ev =
        protobuf_c_enum_descriptor_get_value (&hs__code__descriptor, (int)code);
    if (!ev) {
        snprintf (buf, len, "Code%d", (int)code);
        return buf;
    }
    const char *name = ev->name;
    if (hs_startswith (name, "CODE_")) name += 5;
    size_t o = 0;
    bool up = true;
    for (; *name && o + 1 < len; name++) {
        if (*name == '_') {
            up = true;
            continue;
        }
        buf[o++] = up ? (char)toupper ((unsigned char)*name) : (char)tolower ((unsigned char)*name);
        up = false;
    }
    buf[o] = '\0';
    return buf;
}

static void s_ns_name (hs_buf_t *b, const char *ns, const char *name)
{
    if (!hs_empty (ns)) hs_buf_printf (b, "%s/", ns);
    hs_buf_puts (b, hs_empty (name) ? "?" : name);
}

/* "pod default/web" for an object. */
static void s_object_ref (hs_buf_t *b, const Hs__Object *o)
{
    const hs_kind_info_t *ki = hs_kind_info (hs_obj_kind (o));
    const Hs__ObjectMeta *meta = hs_obj_meta (o);
    hs_buf_printf (b, "%s ", ki ? ki->name : "object?");
    if (!meta) {
        hs_buf_puts (b, "?");
        return;
    }
    if (hs_empty (meta->name) && !hs_empty (meta->generate_name)) {
        if (!hs_empty (meta->namespace_)) hs_buf_printf (b, "%s/", meta->namespace_);
        hs_buf_printf (b, "%s*", meta->generate_name);
    } else {
        s_ns_name (b, meta->namespace_, meta->name);
    }
}

static void s_write (hs_buf_t *b, const Hs__Write *w)
{
    char op[32];
    hs_buf_printf (b, "%s ", s_enum_lower (&hs__op__descriptor, (int)w->op, "OP_", op, sizeof op));
    if (w->object && hs_obj_kind (w->object) != HS_KIND_NONE) {
        s_object_ref (b, w->object);
    } else {
        hs_buf_printf (b, "%s ", hs_empty (w->kind) ? "?" : w->kind);
        s_ns_name (b, w->namespace_, w->name);
    }
    if (w->op == HS__OP__OP_BIND) hs_buf_printf (b, " -> %s", hs_s (w->node_name));
    if (w->expected_revision) hs_buf_printf (b, " if rev=%lld", (long long)w->expected_revision);
}

static void s_command (hs_buf_t *b, const Hs__Command *c)
{
    size_t shown = c->n_writes < LIST_MAX ? c->n_writes : LIST_MAX;
    for (size_t i = 0; i < shown; i++) {
        if (i) hs_buf_puts (b, ", ");
        if (c->writes[i]) s_write (b, c->writes[i]);
    }
    if (c->n_writes > shown) hs_buf_printf (b, ", +%zu more", c->n_writes - shown);
    if (c->n_writes == 0) hs_buf_puts (b, "(no writes)");
    if (c->dry_run) hs_buf_puts (b, " dry-run");
    hs_buf_printf (b, " req=%s (%zu write%s)", hs_s (c->request_id), c->n_writes,
                   c->n_writes == 1 ? "" : "s");
}

static void s_ack (hs_buf_t *b, const Hs__Ack *a)
{
    if (a->code == HS__CODE__CODE_OK) {
        hs_buf_printf (b, "ok rev=%lld", (long long)a->revision);
        size_t shown = a->n_results < LIST_MAX ? a->n_results : LIST_MAX;
        for (size_t i = 0; i < shown; i++) {
            const Hs__WriteResult *r = a->results[i];
            if (!r) continue;
            char res[32];
            hs_buf_printf (
                b, "%s %s %s/%s", i ? "," : "",
                s_enum_lower (&hs__result__descriptor, (int)r->result, "RESULT_", res, sizeof res),
                hs_empty (r->kind) ? "?" : r->kind, hs_empty (r->name) ? "?" : r->name);
        }
        if (a->n_results > shown) hs_buf_printf (b, ", +%zu more", a->n_results - shown);
    } else {
        char reason[64];
        hs_buf_printf (b, "%s: %s", s_code_reason (a->code, reason, sizeof reason),
                       hs_s (a->message));
        if (a->failed_index > 0) hs_buf_printf (b, " (write #%d)", a->failed_index);
    }
    hs_buf_printf (b, " req=%s", hs_s (a->request_id));
    if (a->replayed) hs_buf_puts (b, " (replayed)");
}

static void s_event (hs_buf_t *b, const Hs__WatchEvent *e)
{
    const ProtobufCEnumValue *ev =
        protobuf_c_enum_descriptor_get_value (&hs__event_type__descriptor, (int)e->type);
    if (ev)
        hs_buf_printf (b, "%s ", ev->name);
    else
        hs_buf_printf (b, "TYPE?%d ", (int)e->type);
    if (e->object)
        s_object_ref (b, e->object);
    else
        hs_buf_puts (b, "(no object)");
    hs_buf_printf (b, " rev=%lld seq=%s#%llu", (long long)e->revision, hs_s (e->stream),
                   (unsigned long long)e->seq);
}

static void s_store_heartbeat (hs_buf_t *b, const Hs__StoreHeartbeat *h)
{
    hs_buf_printf (b, "epoch=%llu rev=%lld streams=%zu objects=%llu commands=%llu garbage=%llu",
                   (unsigned long long)h->epoch, (long long)h->revision, h->n_streams,
                   (unsigned long long)h->objects, (unsigned long long)h->commands,
                   (unsigned long long)h->garbage);
    if (h->forbidden) hs_buf_printf (b, " forbidden=%llu", (unsigned long long)h->forbidden);
}

static void s_heartbeat (hs_buf_t *b, const Hs__ComponentHeartbeat *h)
{
    hs_buf_printf (b, "%s/%s owned=%llu rev=%lld", hs_s (h->component), hs_s (h->instance),
                   (unsigned long long)h->owned, (long long)h->observed_revision);
    if (h->garbage) hs_buf_printf (b, " garbage=%llu", (unsigned long long)h->garbage);
}

static void s_snapshot_request (hs_buf_t *b, const Hs__SnapshotRequest *r)
{
    hs_buf_printf (b, "snapshot req=%s kinds=", hs_s (r->request_id));
    if (r->n_kinds == 0) hs_buf_puts (b, "*");
    for (size_t i = 0; i < r->n_kinds; i++) hs_buf_printf (b, "%s%s", i ? "," : "", r->kinds[i]);
    if (!hs_empty (r->pod_node)) hs_buf_printf (b, " node=%s", r->pod_node);
    hs_buf_printf (b, " client=%s", hs_s (r->client_id));
}

static void s_snapshot_chunk (hs_buf_t *b, const Hs__SnapshotChunk *c)
{
    hs_buf_printf (b, "chunk req=%s #%u", hs_s (c->request_id), c->index);
    if (c->code != HS__CODE__CODE_OK) {
        char reason[64];
        hs_buf_printf (b, " %s: %s", s_code_reason (c->code, reason, sizeof reason),
                       hs_s (c->message));
        return;
    }
    hs_buf_printf (b, " objects=%zu rev=%lld", c->n_objects, (long long)c->revision);
    if (c->last)
        hs_buf_printf (b, " last total=%llu streams=%zu", (unsigned long long)c->total_objects,
                       c->n_streams);
}

static void s_log_request (hs_buf_t *b, const Hs__LogRequest *r)
{
    hs_buf_printf (b, "logs%s %s/%s", r->cancel ? " cancel" : "",
                   hs_empty (r->namespace_) ? "default" : r->namespace_, hs_s (r->pod));
    if (!hs_empty (r->container)) hs_buf_printf (b, " -c %s", r->container);
    if (r->follow) hs_buf_puts (b, " -f");
    if (r->previous) hs_buf_puts (b, " -p");
    if (r->tail_lines >= 0) hs_buf_printf (b, " --tail %lld", (long long)r->tail_lines);
    if (r->timestamps) hs_buf_puts (b, " --timestamps");
    if (r->limit_bytes) hs_buf_printf (b, " --limit-bytes %lld", (long long)r->limit_bytes);
    hs_buf_printf (b, " req=%s client=%s", hs_s (r->request_id), hs_s (r->client_id));
}

static void s_log_chunk (hs_buf_t *b, const Hs__LogChunk *c)
{
    hs_buf_printf (b, "log req=%s #%llu %zu bytes", hs_s (c->request_id),
                   (unsigned long long)c->seq, c->data.len);
    if (c->code != HS__CODE__CODE_OK) {
        char reason[64];
        hs_buf_printf (b, " %s: %s", s_code_reason (c->code, reason, sizeof reason),
                       hs_s (c->message));
    }
    if (c->eof) hs_buf_puts (b, " eof");
}

/* "usage n1 pods=2 containers=3 cpu=0.503 mem=12.3MiB window=1000ms": the
 * node's own CPU (cores) and memory working set. */
static void s_usage (hs_buf_t *b, const Hs__NodeUsage *u)
{
    size_t cs = 0;
    for (size_t i = 0; i < u->n_pods; i++) cs += u->pods[i]->n_containers;
    hs_buf_printf (b, "usage %s pods=%zu containers=%zu cpu=%.3f mem=%.1fMiB window=%ums",
                   hs_s (u->node), u->n_pods, cs, (double)u->cpu_usage_nanocores / 1e9,
                   (double)u->memory_working_set_bytes / (1 << 20), u->window_ms);
}

/* The Envelope field that holds the body (oneof case values are field numbers). */
static const ProtobufCFieldDescriptor *s_body_field (const Hs__Envelope *env)
{
    return protobuf_c_message_descriptor_get_field (&hs__envelope__descriptor,
                                                    (unsigned)env->body_case);
}

char *tap_summary_generic (const Hs__Envelope *env)
{
    hs_buf_t b = {0};
    const ProtobufCFieldDescriptor *f = s_body_field (env);
    if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE) {
        hs_buf_printf (&b, "body #%d", (int)env->body_case);
        return hs_buf_take (&b);
    }
    const ProtobufCMessage *body = *(ProtobufCMessage *const *)((const char *)env + f->offset);
    hs_buf_puts (&b, f->name);
    if (body) {
        char *json = hs_pb_to_text (body, HS_FMT_JSON | HS_FMT_COMPACT);
        size_t len = json ? strlen (json) : 0;
        while (len && (json[len - 1] == '\n' || json[len - 1] == ' ')) len--;
        hs_buf_puts (&b, " ");
        if (len > TAP_GENERIC_MAX) {
            hs_buf_append (&b, json, TAP_GENERIC_MAX);
            hs_buf_puts (&b, "...");
        } else {
            hs_buf_append (&b, json ? json : "", len);
        }
        free (json);
    }
    return hs_buf_take (&b);
}

char *tap_summary (const Hs__Envelope *env)
{
    hs_buf_t b = {0};
    switch (env->body_case) {
    case HS__ENVELOPE__BODY_COMMAND: s_command (&b, env->command); break;
    case HS__ENVELOPE__BODY_ACK: s_ack (&b, env->ack); break;
    case HS__ENVELOPE__BODY_EVENT: s_event (&b, env->event); break;
    case HS__ENVELOPE__BODY_STORE_HEARTBEAT: s_store_heartbeat (&b, env->store_heartbeat); break;
    case HS__ENVELOPE__BODY_HEARTBEAT: s_heartbeat (&b, env->heartbeat); break;
    case HS__ENVELOPE__BODY_SNAPSHOT_REQUEST: s_snapshot_request (&b, env->snapshot_request); break;
    case HS__ENVELOPE__BODY_SNAPSHOT_CHUNK: s_snapshot_chunk (&b, env->snapshot_chunk); break;
    case HS__ENVELOPE__BODY_PING:
        hs_buf_printf (&b, "ping nonce=%s", hs_s (env->ping->nonce));
        break;
    case HS__ENVELOPE__BODY_LOG_REQUEST: s_log_request (&b, env->log_request); break;
    case HS__ENVELOPE__BODY_LOG_CHUNK: s_log_chunk (&b, env->log_chunk); break;
    case HS__ENVELOPE__BODY_USAGE: s_usage (&b, env->usage); break;
    default: hs_buf_free (&b); return tap_summary_generic (env);
    }
    return hs_buf_take (&b);
}

/* ------------------------------------------------------------------ garbage */

typedef struct {
    hs_garbage_t reason;
    char *sender; /* known only for an Envelope without a known body */
    char *unknown;
} s_garbage_info_t;

static void s_garbage_info (const tap_msg_t *m, hs_garbage_t reason, s_garbage_info_t *ret)
{
    *ret = (s_garbage_info_t){.reason = reason};
    if (reason != HS_GARBAGE_BODY || m->n != 2) return;
    Hs__Envelope *env = hs__envelope__unpack (NULL, m->frames[1].len, m->frames[1].data);
    if (!env) return;
    ret->sender = hs_strdup (env->sender);
    if (env->base.n_unknown_fields) {
        hs_buf_t b = {0};
        for (unsigned i = 0; i < env->base.n_unknown_fields && i < 8; i++)
            hs_buf_printf (&b, "%s%u", i ? "," : "", env->base.unknown_fields[i].tag);
        ret->unknown = hs_buf_take (&b);
    }
    hs_pb_free (env);
}

static void s_garbage_info_free (s_garbage_info_t *g)
{
    free (g->sender);
    free (g->unknown);
}

static void s_hex_preview (hs_buf_t *b, const hs_frame_t *f)
{
    size_t n = f->len < HEX_PREVIEW ? f->len : HEX_PREVIEW;
    for (size_t i = 0; i < n; i++) hs_buf_printf (b, "%s%02x", i ? " " : "", f->data[i]);
    if (f->len > n) hs_buf_puts (b, " ...");
}

/* The frame worth a look: the payload if there is one, else the topic. */
static const hs_frame_t *s_payload (const tap_msg_t *m)
{
    return m->n >= 2 ? &m->frames[1] : &m->frames[0];
}

static const hs_frame_t s_no_frame = {(uint8_t *)"", 0};

static const hs_frame_t *s_topic (const tap_msg_t *m)
{
    return m->n >= 1 ? &m->frames[0] : &s_no_frame;
}

/* ------------------------------------------------------------------ Secrets */

static char *s_redacted (size_t len)
{
    return hs_sprintf ("<redacted %zu bytes>", len);
}

static void s_redact_secret (Hs__Secret *sec)
{
    for (size_t i = 0; i < sec->n_string_data; i++) {
        Hs__Secret__StringDataEntry *e = sec->string_data[i];
        hs_pb_take_str (&e->value, s_redacted (strlen (hs_s (e->value))));
    }
    for (size_t i = 0; i < sec->n_data; i++) {
        Hs__Secret__DataEntry *d = sec->data[i];
        if (!hs_pb_map_get ((void *const *)sec->string_data, sec->n_string_data, d->key)) {
            Hs__Secret__StringDataEntry *e = hs_pb_new (&hs__secret__string_data_entry__descriptor);
            hs_pb_set_str (&e->key, d->key);
            hs_pb_take_str (&e->value, s_redacted (d->value.len));
            hs_pb_push ((void ***)&sec->string_data, &sec->n_string_data, e);
        }
        hs_pb_free (d);
    }
    hs_pb_release (sec->data);
    sec->data = NULL;
    sec->n_data = 0;
    hs_pb_map_sort ((void **)sec->string_data, sec->n_string_data);
}

/* Every Secret anywhere in msg, found by walking the schema: commands,
 * events, snapshot chunks, and whatever body carries objects next. */
static size_t s_redact_walk (ProtobufCMessage *msg)
{
    if (!msg) return 0;
    if (msg->descriptor == &hs__secret__descriptor) {
        s_redact_secret ((Hs__Secret *)msg);
        return 1;
    }
    size_t n = 0;
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE) continue;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t which = *(const uint32_t *)((const char *)msg + f->quantifier_offset);
            if (which != f->id) continue;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t count = *(const size_t *)((const char *)msg + f->quantifier_offset);
            ProtobufCMessage **items = *(ProtobufCMessage ***)((char *)msg + f->offset);
            for (size_t j = 0; j < count; j++) n += s_redact_walk (items[j]);
        } else {
            n += s_redact_walk (*(ProtobufCMessage **)((char *)msg + f->offset));
        }
    }
    return n;
}

size_t tap_redact_secrets (Hs__Envelope *env)
{
    return env ? s_redact_walk (&env->base) : 0;
}

int tap_redact_frames (const tap_msg_t *m, hs_frame_t **ret_frames)
{
    Hs__Envelope *env = NULL;
    hs_garbage_t reason;
    if (m->n < 2 || hs_bus_decode (m->frames, m->n, &env, &reason) < 0) return 0;
    if (tap_redact_secrets (env) == 0) {
        hs_pb_free (env);
        return 0;
    }
    hs_frame_t *f = hs_calloc (m->n, sizeof *f);
    for (size_t i = 0; i < m->n; i++) {
        f[i].len = m->frames[i].len;
        f[i].data = hs_malloc (f[i].len ? f[i].len : 1);
        memcpy (f[i].data, m->frames[i].data, f[i].len);
    }
    free (f[1].data);
    f[1].data = hs_pb_pack (env, &f[1].len);
    hs_pb_free (env);
    *ret_frames = f;
    return 1;
}

/* ------------------------------------------------------------------ lines */

char *tap_fmt_line (const tap_msg_t *m)
{
    hs_buf_t b = {0};
    char clock[32];
    const hs_frame_t *topic = s_topic (m);
    Hs__Envelope *env = NULL;
    hs_garbage_t reason = HS_GARBAGE_FRAMES;
    if (m->n >= 1 && hs_bus_decode (m->frames, m->n, &env, &reason) == 0) {
        if (!m->show_secrets) tap_redact_secrets (env);
        int64_t t = env->sent_at_ns > 0 ? env->sent_at_ns : m->recv_ns;
        char *summary = tap_summary (env);
        char *sender = hs_strdup (hs_empty (env->sender) ? "?" : env->sender);
        s_sanitize (summary);
        s_sanitize (sender);
        /* hs-bus's stamp on a command: who really sent it (the sender is
         * what the envelope claims); decode checked it is an identity */
        char stamp[HS_BUS_MAX_TOPIC + 8] = "";
        if (m->n == 3)
            snprintf (stamp, sizeof stamp, " [%.*s]", (int)m->frames[2].len,
                      (const char *)m->frames[2].data);
        hs_buf_printf (&b, "%s  %s%s  %.*s  %s", tap_fmt_clock (t, clock, sizeof clock), sender,
                       stamp, (int)topic->len, (const char *)topic->data, summary);
        free (summary);
        free (sender);
        hs_pb_free (env);
        return hs_buf_take (&b);
    }
    s_garbage_info_t g;
    s_garbage_info (m, reason, &g);
    if (g.sender) s_sanitize (g.sender);
    hs_buf_printf (&b, "%s  %s  ", tap_fmt_clock (m->recv_ns, clock, sizeof clock),
                   hs_empty (g.sender) ? "?" : g.sender);
    if (topic->len)
        tap_escape (&b, topic->data, topic->len, TOPIC_MAX);
    else
        hs_buf_puts (&b, "(empty)");
    hs_buf_printf (&b, "  GARBAGE (%s) %zu frame%s, %zu bytes", hs_garbage_name (reason), m->n,
                   m->n == 1 ? "" : "s", tap_msg_size (m));
    if (g.unknown) hs_buf_printf (&b, ", unknown field %s", g.unknown);
    if (s_payload (m)->len) {
        hs_buf_puts (&b, ": ");
        s_hex_preview (&b, s_payload (m));
    }
    s_garbage_info_free (&g);
    return hs_buf_take (&b);
}

char *tap_fmt_json (const tap_msg_t *m)
{
    hs_buf_t b = {0};
    char when[40];
    const hs_frame_t *topic = s_topic (m);
    Hs__Envelope *env = NULL;
    hs_garbage_t reason = HS_GARBAGE_FRAMES;
    bool ok = m->n >= 1 && hs_bus_decode (m->frames, m->n, &env, &reason) == 0;
    int64_t t = ok && env->sent_at_ns > 0 ? env->sent_at_ns : m->recv_ns;
    hs_buf_printf (&b, "{\"time\":\"%s\",\"topic\":", tap_fmt_rfc3339_ms (t, when, sizeof when));
    tap_json_str (&b, topic->data, topic->len);
    if (ok) {
        if (!m->show_secrets) tap_redact_secrets (env);
        char *json = hs_pb_to_text (&env->base, HS_FMT_JSON | HS_FMT_COMPACT);
        size_t len = json ? strlen (json) : 0;
        while (len && (json[len - 1] == '\n' || json[len - 1] == ' ')) len--;
        if (m->n == 3) {
            hs_buf_puts (&b, ",\"identity\":");
            tap_json_str (&b, m->frames[2].data, m->frames[2].len);
        }
        hs_buf_printf (&b, ",\"size\":%zu,\"envelope\":", tap_msg_size (m));
        if (len)
            hs_buf_append (&b, json, len);
        else
            hs_buf_puts (&b, "{}");
        free (json);
        hs_pb_free (env);
    } else {
        s_garbage_info_t g;
        s_garbage_info (m, reason, &g);
        hs_buf_printf (&b, ",\"garbage\":\"%s\",\"size\":%zu,\"frames\":%zu",
                       hs_garbage_name (reason), tap_msg_size (m), m->n);
        if (g.sender) {
            hs_buf_puts (&b, ",\"sender\":");
            tap_json_str (&b, (const uint8_t *)g.sender, strlen (g.sender));
        }
        hs_buf_puts (&b, ",\"preview\":\"");
        s_hex_preview (&b, s_payload (m));
        hs_buf_puts (&b, "\"");
        s_garbage_info_free (&g);
    }
    hs_buf_puts (&b, "}");
    return hs_buf_take (&b);
}
