/* SPDX-License-Identifier: Apache-2.0 */
/* $(VAR) expansion for command, args and env values, with the kubelet's rules
 * (third_party/forked/golang/expansion/expand.go):
 *   "$(NAME)"  the value from lookup; kept literally as "$(NAME)" when lookup does not know it
 *   "$$"       an escaped '$'
 *   "$x"       kept as is, for any other x (shell variables such as "$HOME" or "$?" pass through)
 *   "$("       with no ')' after it is kept literally and scanning goes on after the '('
 * The name is everything up to the first ')', so "$(A$(B))" looks up "A$(B". Values are not
 * expanded again: a value "$(X)" is copied literally. */
#include "podspec.h"

/* A user can chain references ($(A)$(A)... where A is itself long) into an output far larger
 * than the manifest. Past this size expansion stops: the output is what was built so far
 * followed by the rest of the input unexpanded. The kubelet has no such cap. */
#define PODSPEC_EXPAND_MAX_BYTES (1024u * 1024u)

char *podspec_expand(const char *in, podspec_lookup_fn lookup, void *userdata) {
        _cleanup_(nl_buf_free) nl_buf b = {};
        size_t len, checkpoint = 0;

        if (!in)
                return strdup("");
        len = strlen(in);

        for (size_t cur = 0; cur + 1 < len; cur++) {
                if (in[cur] != '$')
                        continue;

                nl_buf_append(&b, in + checkpoint, cur - checkpoint);

                char next = in[cur + 1];
                if (next == '$') {
                        /* "$$": one '$' out, both consumed. */
                        nl_buf_append(&b, "$", 1);
                        cur++;
                } else if (next == '(') {
                        const char *close = strchr(in + cur + 2, ')');
                        if (!close) {
                                /* Unterminated: "$(" stays, scanning resumes after the '('. */
                                nl_buf_append(&b, "$(", 2);
                                cur++;
                        } else {
                                size_t name_start = cur + 2, name_len = (size_t) (close - in) - name_start;
                                _cleanup_free_ char *name = strndup(in + name_start, name_len);
                                if (!name)
                                        return NULL;
                                const char *value = lookup ? lookup(name, userdata) : NULL;
                                if (!value) {
                                        nl_buf_append(&b, in + cur, name_len + 3);
                                } else {
                                        size_t vlen = strlen(value);
                                        if (vlen > PODSPEC_EXPAND_MAX_BYTES ||
                                            b.len > PODSPEC_EXPAND_MAX_BYTES - vlen) {
                                                /* Too big: the rest, this reference included, as written. */
                                                checkpoint = cur;
                                                break;
                                        }
                                        nl_buf_append(&b, value, vlen);
                                }
                                cur = (size_t) (close - in);
                        }
                } else {
                        /* Any other byte after '$': both kept. (Upstream re-encodes this byte as
                         * a rune, which mangles a non-ASCII byte; we copy the byte as is.) */
                        nl_buf_append(&b, in + cur, 2);
                        cur++;
                }
                checkpoint = cur + 1;
        }

        nl_buf_append(&b, in + checkpoint, len - checkpoint);
        return nl_buf_steal(&b);
}
