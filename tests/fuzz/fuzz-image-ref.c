/* SPDX-License-Identifier: Apache-2.0 */
/* Image references: any bytes to image_ref_parse. What parses must print to a canonical string
 * that parses back to the same fields (the string is a fixed point), and errors must carry a
 * message. */
#include <stdio.h>
#include <stdlib.h>

#include "cri/cri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* References come from pod specs, whose strings are far shorter; past this the parser refuses. */
#define FUZZ_REF_MAX 8192

static void check(bool ok, const char *what, const char *input) {
        if (ok)
                return;
        fprintf(stderr, "fuzz-image-ref: %s for input \"%s\"\n", what, input);
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct image_ref r = {}, again = {};
        nl_error err = NL_ERROR_INIT;
        _cleanup_free_ char *in = NULL, *s = NULL, *s2 = NULL, *repo = NULL;

        if (size > FUZZ_REF_MAX)
                return 0;
        in = strndup((const char *) data, size); /* stops at an embedded NUL, as a C caller would */
        if (!in)
                return 0;

        if (image_ref_parse(in, &r, &err) < 0) {
                check(err.code == -EINVAL && err.msg != NULL, "error without a message", in);
                check(r.domain == NULL && r.path == NULL, "output written on failure", in);
                nl_error_clear(&err);
                return 0;
        }
        check(r.domain && r.path && (r.tag || r.digest), "incomplete reference", in);
        check(!r.digest || digest_is_valid(r.digest), "invalid digest accepted", in);
        check(strlen(r.path) <= 255, "path longer than 255", in);

        s = image_ref_string(&r);
        repo = image_ref_repository(&r);
        check(s && repo && strncmp(s, repo, strlen(repo)) == 0, "string does not start with repository", in);
        check(image_ref_parse(s, &again, &err) == 0, "canonical string does not parse", in);
        s2 = image_ref_string(&again);
        check(s2 && streq(s, s2), "canonical string is not a fixed point", in);
        check(streq(r.domain, again.domain) && streq(r.path, again.path) && streq_ptr(r.tag, again.tag) &&
                      streq_ptr(r.digest, again.digest),
              "reparse changed the fields", in);

        image_ref_done(&r);
        image_ref_done(&again);
        return 0;
}
