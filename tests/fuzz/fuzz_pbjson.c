/*  fuzz_pbjson.c: libFuzzer target for the YAML/JSON <-> protobuf mapping
 *  (bus/hs_pbjson.c): the YAML parser with its limits, tree -> message by
 *  reflection (hs_pb_from_tree), message -> text (hs_pb_to_text) and tree
 *  -> text (hs_tree_to_text).
 *
 *  The first input byte picks the message type (s_types) and the output
 *  formats; the rest is the text. Invariants (abort on failure):
 *    - a failed parse or mapping explains itself (an error message);
 *    - whatever maps to a message renders, in each format tried, to text
 *      that parses and maps back to the same message (hs_pb_equal; a
 *      timestamp up to the second: text shows RFC 3339 seconds, as
 *      Kubernetes' metav1.Time does, unless HS_FMT_RAW), and packs and
 *      unpacks to the same message;
 *    - a parsed tree renders to text that parses back and renders the same.
 *  Not part of the default build: tests/fuzz/build.sh.
 */
#include "hs_pbjson.h"
#include "bus.pb-c.h"
#include "objects.pb-c.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const ProtobufCMessageDescriptor *const s_types[] = {
    &hs__object__descriptor,         &hs__pod__descriptor,
    &hs__node__descriptor,           &hs__deployment__descriptor,
    &hs__replica_set__descriptor,    &hs__job__descriptor,
    &hs__event__descriptor,          &hs__envelope__descriptor,
    &hs__command__descriptor,        &hs__watch_event__descriptor,
    &hs__snapshot_chunk__descriptor, &hs__pod_spec__descriptor,
    &hs__probe__descriptor,          &hs__object_meta__descriptor,
    &hs__taint__descriptor,          &hs__ack__descriptor,
};

static const int s_formats[] = {
    HS_FMT_JSON,
    HS_FMT_YAML,
    HS_FMT_JSON | HS_FMT_COMPACT,
    HS_FMT_YAML | HS_FMT_RAW,
    HS_FMT_JSON | HS_FMT_DEFAULTS,
    HS_FMT_YAML | HS_FMT_DEFAULTS,
    HS_FMT_JSON | HS_FMT_RAW,
    HS_FMT_YAML | HS_FMT_RAW | HS_FMT_DEFAULTS,
};

static void s_fail (const char *what, const char *text)
{
    fprintf (stderr, "fuzz_pbjson: %s\n--- text:\n%s\n---\n", what, text ? text : "(null)");
    abort ();
}

/* text must parse to exactly one document; returns it (caller frees). */
static hs_tree_t *s_parse_one (const char *text)
{
    hs_tree_t **docs = NULL;
    size_t n = 0;
    char *err = NULL;
    if (hs_yaml_parse (text, strlen (text), &docs, &n, &err) != 0) {
        fprintf (stderr, "fuzz_pbjson: %s\n", err ? err : "(no error)");
        s_fail ("rendered text does not parse", text);
    }
    if (n != 1) s_fail ("rendered text is not one document", text);
    hs_tree_t *t = docs[0];
    free (docs);
    return t;
}

/* hs_pbjson's timestamp fields (its s_is_timestamp): int64, named
 * *_timestamp, *_time, *_at or time_added. */
static bool s_is_time (const ProtobufCFieldDescriptor *f)
{
    if (f->type != PROTOBUF_C_TYPE_INT64 && f->type != PROTOBUF_C_TYPE_SINT64 &&
        f->type != PROTOBUF_C_TYPE_SFIXED64)
        return false;
    size_t n = strlen (f->name);
    static const char *const ends[] = {"_timestamp", "_time", "_at"};
    for (size_t i = 0; i < sizeof ends / sizeof *ends; i++) {
        size_t e = strlen (ends[i]);
        if (n >= e && !strcmp (f->name + n - e, ends[i])) return true;
    }
    return !strcmp (f->name, "time_added");
}

/* Every timestamp in m (and its sub-messages) cut to whole seconds, as
 * text holds it (hs_fmt_time: toward zero). */
static void s_trunc_times (ProtobufCMessage *m)
{
    if (!m) return;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        void *slot = (char *)m + f->offset;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF &&
            *(uint32_t *)((char *)m + f->quantifier_offset) != f->id)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(size_t *)((char *)m + f->quantifier_offset);
            if (f->type == PROTOBUF_C_TYPE_MESSAGE)
                for (size_t k = 0; k < n; k++) s_trunc_times ((*(ProtobufCMessage ***)slot)[k]);
            else if (s_is_time (f))
                for (size_t k = 0; k < n; k++) {
                    int64_t *v = &(*(int64_t **)slot)[k];
                    *v -= *v % 1000000000;
                }
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            s_trunc_times (*(ProtobufCMessage **)slot);
        } else if (s_is_time (f)) {
            int64_t *v = slot;
            *v -= *v % 1000000000;
        }
    }
}

static void s_check_message (const ProtobufCMessageDescriptor *d, const ProtobufCMessage *m,
                             int fmt)
{
    char *text = hs_pb_to_text (m, fmt);
    hs_tree_t *t = s_parse_one (text);
    ProtobufCMessage *again = NULL;
    hs_pb_error_t err = {0};
    if (hs_pb_from_tree (d, t, "", &again, &err) != 0) {
        fprintf (stderr, "fuzz_pbjson: %s: %s\n", err.path, err.message);
        s_fail ("rendered message does not map back", text);
    }
    ProtobufCMessage *want = hs_pb_dup (m);
    if (!(fmt & HS_FMT_RAW)) s_trunc_times (want);
    if (!hs_pb_equal (want, again)) s_fail ("rendered message maps back to another", text);
    hs_pb_free (want);
    hs_pb_free (again);
    hs_tree_free (t);
    free (text);
}

static void s_check_packed (const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size (m);
    uint8_t *buf = malloc (len ? len : 1);
    protobuf_c_message_pack (m, buf);
    ProtobufCMessage *again = protobuf_c_message_unpack (m->descriptor, &hs_pb_allocator, len, buf);
    if (!again || !hs_pb_equal (m, again)) s_fail ("packed message unpacks to another", NULL);
    hs_pb_free (again);
    free (buf);
}

/* A tree renders to text that parses back and renders the same. */
static void s_check_tree (const hs_tree_t *t, int fmt)
{
    char *text = hs_tree_to_text (t, fmt);
    hs_tree_t *again = s_parse_one (text);
    char *text2 = hs_tree_to_text (again, fmt);
    if (strcmp (text, text2) != 0) {
        fprintf (stderr, "--- again:\n%s\n", text2);
        s_fail ("a tree renders differently after a round trip", text);
    }
    free (text2);
    hs_tree_free (again);
    free (text);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t sel = data[0];
    const ProtobufCMessageDescriptor *d =
        s_types[(sel & 0x0f) % (sizeof s_types / sizeof *s_types)];
    int fmt1 = s_formats[(sel >> 4) & 7], fmt2 = s_formats[((sel >> 4) + 1) & 7];
    /* A copy of exactly the text: ASan sees the parser read past it. */
    size_t len = size - 1;
    char *text = malloc (len ? len : 1);
    if (len) memcpy (text, data + 1, len);

    hs_tree_t **docs = NULL;
    size_t n = 0;
    char *err = NULL;
    if (hs_yaml_parse (text, len, &docs, &n, &err) != 0) {
        if (!err) abort (); /* every failure explains itself */
        free (err);
        free (text);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        s_check_tree (docs[i], fmt1 & ~HS_FMT_DEFAULTS);
        ProtobufCMessage *m = NULL;
        hs_pb_error_t perr = {0};
        if (hs_pb_from_tree (d, docs[i], "", &m, &perr) != 0) {
            if (!perr.message[0]) abort ();
            continue;
        }
        s_check_message (d, m, fmt1);
        s_check_message (d, m, fmt2);
        s_check_packed (m);
        hs_pb_free (m);
    }
    hs_trees_free (docs, n);
    free (text);
    return 0;
}
