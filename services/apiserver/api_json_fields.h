/*  api_json_fields.h: what Kubernetes' JSON writes differently from
 *  hs_pbjson's, per message field (internal to hs-apiserver).
 *
 *  Defined once in api_json.c, read by its tree walks and by the direct
 *  writers of api_table_write.c, which must give the same bytes
 *  (tests/unit/test_api_table_write.c holds the two together).
 */
#ifndef HS_API_JSON_FIELDS_H
#define HS_API_JSON_FIELDS_H

#include <stddef.h>

/* A field of a message: "hs.ServicePort", "target_port". */
typedef struct {
    const char *message;
    const char *field;
} api_json_field_t;

/* Homeostat's field -> Kubernetes' JSON key. */
typedef struct {
    const char *message;
    const char *field;
    const char *k8s;
} api_json_renamed_t;

/* A JSON key Homeostat has no field for, written with a fixed value. */
typedef struct {
    const char *message;
    const char *key;
    const char *value;
} api_json_extra_t;

/* Kubernetes' int-or-string fields (IntOrString), strings in objects.proto:
 * numbers when they are a canonical int32. */
extern const api_json_field_t api_json_intstr[];
extern const size_t api_json_n_intstr;
/* int64 revisions that Kubernetes writes as (opaque) strings. */
extern const api_json_field_t api_json_revision[];
extern const size_t api_json_n_revision;
extern const api_json_renamed_t api_json_renamed[];
extern const size_t api_json_n_renamed;
/* Fields Kubernetes writes even when zero (no omitempty in its Go types),
 * that python-kubernetes' models require. */
extern const api_json_field_t api_json_always[];
extern const size_t api_json_n_always;
/* Required keys of Kubernetes' status types Homeostat has no value for,
 * written as Kubernetes writes an unknown one; rows of one message are
 * adjacent. */
extern const api_json_extra_t api_json_extra[];
extern const size_t api_json_n_extra;

#endif
