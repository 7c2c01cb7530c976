/*  hs_pbjson.h: YAML/JSON <-> protobuf, by reflection over the schema.
 *
 *  Nothing here knows a kind: it walks protobuf-c descriptors, so every message
 *  in schemas/ maps the same way, and hs-tap can print any bus message.
 *
 *  Mapping rules (also in docs/architecture.md):
 *    - field names are camelCase of the .proto snake_case; a word "ip", "id",
 *      "cidr" or "uid" after the first is upper-cased (pod_ip -> podIP,
 *      container_id -> containerID, pod_cidr -> podCIDR);
 *    - map<string,string> fields are YAML mappings;
 *    - hs.Int32Value / hs.Int64Value are plain numbers;
 *    - int64 fields named *_timestamp, *_time or *_at (and Taint's
 *      time_added) are RFC 3339 text
 *      (HS_FMT_RAW prints the nanoseconds instead); the parser takes either;
 *    - enums print their value name; the parser takes the name or the number;
 *    - output omits zero values, empty strings, empty lists and absent messages
 *      (Kubernetes' omitempty) unless HS_FMT_DEFAULTS.
 */
#ifndef HS_PBJSON_H
#define HS_PBJSON_H

#include <stdbool.h>
#include <stddef.h>

#include "hs_pb.h"

/* A parsed YAML/JSON document. */
typedef enum { HS_TREE_NULL = 0, HS_TREE_SCALAR, HS_TREE_MAP, HS_TREE_SEQ } hs_tree_type_t;

typedef struct hs_tree hs_tree_t;
struct hs_tree {
    hs_tree_type_t type;
    char *scalar;      /* HS_TREE_SCALAR: the text */
    bool quoted;       /* the scalar was quoted in the source (so: a string) */
    size_t n;          /* MAP / SEQ: number of items */
    char **keys;       /* MAP: keys[i] names items[i] */
    hs_tree_t **items; /* MAP / SEQ */
    int line;          /* 1-based source line, 0 when built in memory */
};

hs_tree_t *hs_tree_new (hs_tree_type_t type);
hs_tree_t *hs_tree_scalar (const char *text, bool quoted);
void hs_tree_free (hs_tree_t *t);
void hs_tree_freep (hs_tree_t **t);
/* MAP: the value under key, or NULL. */
const hs_tree_t *hs_tree_get (const hs_tree_t *map, const char *key);
/* MAP: appends (key, value), taking value. SEQ: key NULL. */
void hs_tree_add (hs_tree_t *parent, const char *key, hs_tree_t *value);
/* MAP: removes key (freeing its value); true if it was there. */
bool hs_tree_remove (hs_tree_t *map, const char *key);

/* Parses YAML (JSON is YAML) into one tree per document. Empty documents are
 * kept as HS_TREE_NULL trees so document numbers match the source.
 * 0, or -EINVAL with *ret_error ("line 4, column 3: mapping values are not
 * allowed in this context"), caller frees. */
int hs_yaml_parse (const char *text, size_t len, hs_tree_t ***ret_docs, size_t *ret_n,
                   char **ret_error);
void hs_trees_free (hs_tree_t **docs, size_t n);

/* Limits of hs_yaml_parse (each is a clean -EINVAL error with line/column):
 * nesting depth, nodes per document and per call, nodes copied by alias
 * expansion in one call (so "billion laughs" input cannot exhaust memory),
 * documents per call.
 * Scalars "", "~", "null", "Null", "NULL" (plain) become HS_TREE_NULL; a
 * mapping naming a key twice is an error ("duplicate key"). */
#define HS_YAML_MAX_DEPTH       200
#define HS_YAML_MAX_NODES       1000000
#define HS_YAML_MAX_TOTAL_NODES 2000000
#define HS_YAML_MAX_ALIAS_NODES 100000
#define HS_YAML_MAX_DOCS        10000

/* hs_yaml_parse that also tells, on error, which document (1-based, as the
 * user counts them) the error is in, or 0 when it is about the whole input
 * (too many documents). ret_err_doc may be NULL. (Additive.) */
int hs_yaml_parse_ex (const char *text, size_t len, hs_tree_t ***ret_docs, size_t *ret_n,
                      int *ret_err_doc, char **ret_error);

/* An error that names the field: path "spec.containers[0].image". */
typedef struct {
    char path[512];
    char message[512];
    int line;
} hs_pb_error_t;

/* Builds a message of descriptor d from tree t. Unknown fields, wrong types
 * and out-of-range numbers are errors. path_prefix ("" or "spec") starts the
 * error path. 0 with *ret (hs_pb_free), or -EINVAL with *err filled. */
int hs_pb_from_tree (const ProtobufCMessageDescriptor *d, const hs_tree_t *t,
                     const char *path_prefix, ProtobufCMessage **ret, hs_pb_error_t *err);

enum {
    HS_FMT_JSON = 0, /* pretty JSON, 4-space indent like kubectl */
    HS_FMT_YAML = 1,
    HS_FMT_KIND_MASK = 0x0f,
    HS_FMT_RAW = 1 << 4,      /* timestamps as nanoseconds */
    HS_FMT_COMPACT = 1 << 5,  /* JSON on one line (hs-tap -o json) */
    HS_FMT_DEFAULTS = 1 << 6, /* also print zero / empty fields */
};

/* Message -> tree (for composing documents, e.g. adding apiVersion/kind).
 * NULL m gives an HS_TREE_NULL tree. Build on trees with hs_tree_add. */
hs_tree_t *hs_pb_to_tree (const ProtobufCMessage *m, int flags);
/* Tree -> text; caller frees. YAML output is block style, ends with '\n'.
 * Pretty JSON ends with '\n'; HS_FMT_COMPACT JSON is one line without it.
 * A scalar with `quoted` set is a string (JSON: always quoted; YAML: quoted
 * only when plain text would read back differently); an unquoted one is
 * written bare when it is a valid literal there (numbers, true/false). */
char *hs_tree_to_text (const hs_tree_t *t, int flags);
/* Message -> text in one go; caller frees. */
char *hs_pb_to_text (const ProtobufCMessage *m, int flags);

/* The JSON/YAML name of a field (camelCase rules above), into buf. */
const char *hs_pb_json_name (const char *proto_name, char *buf, size_t len);

#endif
