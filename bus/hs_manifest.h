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
 * (caller frees). 0 or -EINVAL / -ENOENT / -EFBIG / -errno.
 *
 * Each document must be a mapping with `apiVersion` and `kind` (the exact,
 * case-sensitive Kind name); the rest is the kind's message. Error forms:
 *   error: the path "x.yaml" does not exist                           (-ENOENT)
 *   error: no manifests found in DIR                                  (-ENOENT)
 *   error: F: document N: line L, column C: <YAML syntax problem>
 *   error: F: line L, column C: more than 10000 documents
 *   error: F: file is larger than 16 MiB                              (-EFBIG)
 *   error: F: document N: expected a mapping, got a list
 *   error: F: document N: kind: unknown kind "Foo"
 *   error: F: document N (Deployment "web"): apiVersion: expected "apps/v1" for kind Deployment, got "v1"
 *   error: F: document N (Pod "web"): spec.containers[0].imag: unknown field "imag"
 *   error: F: document N (Pod): metadata.name: Required value
 * (`(Kind "name")` shows what is known: `(Pod)` without a name, nothing
 * without a known kind.) Standard input is named STDIN. */
int hs_manifest_load (const char *path, bool recursive, hs_manifest_t *m, char **ret_error);
/* Same for text already in memory; `name` is used in errors. */
int hs_manifest_parse (const char *text, size_t len, const char *name, hs_manifest_t *m,
                       char **ret_error);
void hs_manifest_free (hs_manifest_t *m);

/* The manifest form of an object (apiVersion and kind first), as YAML or JSON
 * per flags (HS_FMT_*). Caller frees. NULL if the object's kind is unset. */
char *hs_manifest_render (const Hs__Object *o, int flags);
/* The same as a tree, for lists ({"apiVersion":"v1","kind":"List","items":[...]}). */
struct hs_tree;
struct hs_tree *hs_manifest_tree (const Hs__Object *o, int flags);

#endif
