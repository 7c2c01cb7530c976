/*  fuzz_manifest.c: libFuzzer target for hs_manifest_parse (and, through it,
 *  the YAML parser and the tree -> message mapping), plus re-rendering of
 *  whatever loads. Not part of the default build: see tests/fuzz/build.sh.
 */
#include "hs_manifest.h"
#include "hs_pbjson.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    hs_manifest_t m = {0};
    char *err = NULL;
    if (hs_manifest_parse ((const char *)data, size, "fuzz.yaml", &m, &err) == 0) {
        for (size_t i = 0; i < m.n; i++) {
            /* what we print must load again, to the same object */
            char *text = hs_manifest_render (m.docs[i].object, HS_FMT_YAML);
            hs_manifest_t again = {0};
            char *e2 = NULL;
            if (hs_manifest_parse (text, strlen (text), "render.yaml", &again, &e2) != 0 ||
                again.n != 1 || !hs_pb_equal (again.docs[0].object, m.docs[i].object))
                abort ();
            hs_manifest_free (&again);
            free (text);
        }
    } else if (!err) {
        abort (); /* every failure explains itself */
    }
    free (err);
    hs_manifest_free (&m);
    return 0;
}
