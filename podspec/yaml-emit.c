/* SPDX-License-Identifier: Apache-2.0 */
/* JSON tree -> YAML text, for `-o yaml`. Strings that a YAML 1.1 reader would take for a
 * number, boolean or null are double-quoted so the output reads back as the same tree. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <yaml.h>

#include "podspec.h"

static bool needs_quotes(const char *s) {
        static const char *const words[] = { "~", "null", "Null", "NULL", "true", "True", "TRUE", "false",
                                             "False", "FALSE", "yes", "Yes", "YES", "no", "No", "NO", "on",
                                             "On", "ON", "off", "Off", "OFF", "y", "Y", "n", "N", "<<", NULL };
        if (*s == '\0')
                return true;
        for (size_t i = 0; words[i]; i++)
                if (streq(s, words[i]))
                        return true;
        /* Anything number-like: leave it to quotes rather than to the reader's resolution. */
        const char *p = s;
        if (*p == '+' || *p == '-')
                p++;
        if (*p == '.' && strchr("iInN", p[1]))
                return true; /* .inf, .nan */
        if (!isdigit((unsigned char) *p) && *p != '.')
                return false;
        /* Only characters of YAML 1.1 numbers (hex, octal, binary, exponents, '_', and
         * sexagesimal ':'): "500m" and "64Mi" stay plain, "0644", "1e3" and "1:20" are quoted. */
        return strspn(p, "0123456789abcdefABCDEFxXoO_.:+-") == strlen(p);
}

static int emit(yaml_emitter_t *e, yaml_event_t *ev) {
        return yaml_emitter_emit(e, ev) ? 0 : -EIO;
}

static int emit_scalar(yaml_emitter_t *e, const char *s, bool quote) {
        yaml_event_t ev;
        yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *) s, (int) strlen(s), !quote, quote,
                                     quote ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE);
        return emit(e, &ev);
}

static int emit_node(yaml_emitter_t *e, const json_t *j, int depth) {
        yaml_event_t ev;
        char buf[64];
        if (depth > PODSPEC_MAX_DEPTH * 4)
                return -ELOOP;
        switch (json_typeof(j)) {
        case JSON_OBJECT: {
                const char *k;
                json_t *v;
                yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
                if (emit(e, &ev) < 0)
                        return -EIO;
                json_object_foreach((json_t *) j, k, v) {
                        if (emit_scalar(e, k, needs_quotes(k)) < 0 || emit_node(e, v, depth + 1) < 0)
                                return -EIO;
                }
                yaml_mapping_end_event_initialize(&ev);
                return emit(e, &ev);
        }
        case JSON_ARRAY: {
                size_t i;
                json_t *v;
                yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
                if (emit(e, &ev) < 0)
                        return -EIO;
                json_array_foreach(j, i, v) {
                        if (emit_node(e, v, depth + 1) < 0)
                                return -EIO;
                }
                yaml_sequence_end_event_initialize(&ev);
                return emit(e, &ev);
        }
        case JSON_STRING:
                return emit_scalar(e, json_string_value(j), needs_quotes(json_string_value(j)));
        case JSON_INTEGER:
                snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
                return emit_scalar(e, buf, false);
        case JSON_REAL:
                snprintf(buf, sizeof(buf), "%.17g", json_real_value(j));
                return emit_scalar(e, buf, false);
        case JSON_TRUE:
                return emit_scalar(e, "true", false);
        case JSON_FALSE:
                return emit_scalar(e, "false", false);
        default:
                return emit_scalar(e, "null", false);
        }
}

static int write_handler(void *data, unsigned char *buffer, size_t size) {
        nl_buf_append(data, (const char *) buffer, size);
        return 1;
}

int podspec_json_to_yaml(const json_t *j, char **ret) {
        yaml_emitter_t e;
        yaml_event_t ev;
        nl_buf out = {};
        int r = -EIO;

        if (!yaml_emitter_initialize(&e))
                return -ENOMEM;
        yaml_emitter_set_output(&e, write_handler, &out);
        yaml_emitter_set_unicode(&e, 1);
        yaml_emitter_set_width(&e, -1);
        yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
        if (emit(&e, &ev) < 0)
                goto out;
        yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
        if (emit(&e, &ev) < 0 || emit_node(&e, j, 0) < 0)
                goto out;
        yaml_document_end_event_initialize(&ev, 1);
        if (emit(&e, &ev) < 0)
                goto out;
        yaml_stream_end_event_initialize(&ev);
        if (emit(&e, &ev) < 0 || !yaml_emitter_flush(&e))
                goto out;
        r = 0;
out:
        yaml_emitter_delete(&e);
        if (r < 0) {
                nl_buf_free(&out);
                return r;
        }
        *ret = nl_buf_steal(&out);
        return *ret ? 0 : -ENOMEM;
}
