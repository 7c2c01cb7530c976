/*  hs_manifest.h: Kubernetes-shaped manifests <-> objects.
 *
 *  A manifest document is {apiVersion, kind, metadata, spec[, status]} (Event:
 *  its own top-level fields). Files hold one or more YAML documents separated
 *  by "---"; JSON documents work too. Empty documents are skipped.
 *
 *  Errors name the file, the document (1-based, as counted in the file) and the
 *  field path, in one line:
 *    error: examples/bad.yaml: document 2 (Pod "web"): spec.containers[0].imag: unknown field "imag"
 */
#ifndef HS_MANIFEST_H
#define HS_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

#include "hs_obj.h"

typedef struct {
    Hs__Object *object;
    char *file; /* "examples/web.yaml", or "STDIN" */
    int doc;    /* 1-based document number in that file */
} hs_manifest_doc_t;

typedef struct {
    hs_manifest_doc_t *docs;
    size_t n;
} hs_manifest_t;

/* Loads every object from `path`: a file, a directory (its *.yaml, *.yml and
 * *.json files in name order; subdirectories too when recursive), or "-" for
 * standard input. Appends to *m (start from a zeroed hs_manifest_t). All or
 * nothing: on error *m is unchanged and *ret_error says what and where
 * (caller frees). 0 or -EINVAL / -ENOENT / -errno. */
int hs_manifest_load (const char *path, bool recursive, hs_manifest_t *m, char **ret_error);
/* Same for text already in memory; `name` is used in errors. */
int hs_manifest_parse (const char *text, size_t len, const char *name, hs_manifest_t *m,
                       char **ret_error);
void hs_manifest_free (hs_manifest_t *m);

/* The manifest form of an object (apiVersion and kind first), as YAML or JSON
 * per flags (HS_FMT_*). Caller frees. */
char *hs_manifest_render (const Hs__Object *o, int flags);
/* The same as a tree, for lists ({"apiVersion":"v1","kind":"List","items":[...]}). */
struct hs_tree;
struct hs_tree *hs_manifest_tree (const Hs__Object *o, int flags);

#endif
