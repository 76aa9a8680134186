/* SPDX-License-Identifier: Apache-2.0 */
#include <time.h>

#include "podspec/podspec.h"
#include "test.h"

/* Parse s; returns the result code, fills docs and err (either may come back NULL). */
static int yaml(const char *s, json_t **docs, char **err) {
        *docs = NULL;
        *err = NULL;
        return podspec_yaml_to_json(s, strlen(s), docs, err);
}

/* The value of `key` in the first document, which must be a mapping; NULL when absent. Keeps
 * the documents in *keep for the caller to free. */
static json_t *first(const char *s, const char *key, json_t **keep) {
        char *err = NULL;
        int r = yaml(s, keep, &err);
        if (r != 0) {
                TEST_FAIL("parsing %s: %d %s", s, r, err ? err : "");
                free(err);
                return NULL;
        }
        free(err);
        return json_object_get(json_array_get(*keep, 0), key);
}

/* Expect an error whose message contains `want`; returns how many documents came back. */
static size_t expect_error(const char *s, size_t len, const char *want) {
        json_t *docs = NULL;
        char *err = NULL;
        int r = podspec_yaml_to_json(s, len, &docs, &err);
        size_t n = json_array_size(docs);

        if (r != -EINVAL)
                TEST_FAIL("want -EINVAL for input \"%.60s\", got %d", s, r);
        if (!err || !strstr(err, want))
                TEST_FAIL("want error containing \"%s\", got \"%s\"", want, err ? err : "(null)");
        if (!docs)
                TEST_FAIL("documents not returned with the error");
        json_decref(docs);
        free(err);
        return n;
}
#define EXPECT_ERROR(s, want) expect_error((s), strlen(s), (want))

static bool is_int(const json_t *v, json_int_t want) {
        return json_is_integer(v) && json_integer_value(v) == want;
}
static bool is_str(const json_t *v, const char *want) {
        return json_is_string(v) && streq(json_string_value(v), want);
}

/* Resolve one plain scalar as the value of key "v". */
static json_t *scalar(const char *text, json_t **keep) {
        char buf[512];
        snprintf(buf, sizeof buf, "v: %s\n", text);
        return first(buf, "v", keep);
}

#define CHECK_SCALAR(text, cond)                                                                            \
        do {                                                                                                \
                json_t *_keep = NULL;                                                                       \
                json_t *v = scalar((text), &_keep);                                                         \
                if (!(cond))                                                                                \
                        TEST_FAIL("%s: CHECK(%s) failed", (text), #cond);                                   \
                json_decref(_keep);                                                                         \
        } while (0)

/* ---- scalars ------------------------------------------------------------------------------ */

TEST(yaml_null) {
        CHECK_SCALAR("~", json_is_null(v));
        CHECK_SCALAR("null", json_is_null(v));
        CHECK_SCALAR("Null", json_is_null(v));
        CHECK_SCALAR("NULL", json_is_null(v));
        CHECK_SCALAR("", json_is_null(v));
        CHECK_SCALAR("nULL", is_str(v, "nULL"));
        CHECK_SCALAR("\"null\"", is_str(v, "null"));
        CHECK_SCALAR("''", is_str(v, ""));
        CHECK_SCALAR("!!null ''", json_is_null(v));
        CHECK_SCALAR("!!null ~", json_is_null(v));
}

TEST(yaml_bool_table) {
        /* go-yaml v2's resolve table: these spellings exactly */
        const char *t[] = {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"};
        const char *f[] = {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"};
        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                CHECK_SCALAR(t[i], json_is_true(v));
        for (size_t i = 0; i < ELEMENTSOF(f); i++)
                CHECK_SCALAR(f[i], json_is_false(v));
        /* other mixed cases are strings */
        const char *s[] = {"yES", "TRue", "oN", "oFF", "nO", "fALSE", "Yes!", "yess", "t", "f"};
        for (size_t i = 0; i < ELEMENTSOF(s); i++)
                CHECK_SCALAR(s[i], is_str(v, s[i]));
        CHECK_SCALAR("\"yes\"", is_str(v, "yes"));
        CHECK_SCALAR("'on'", is_str(v, "on"));
        CHECK_SCALAR("!!bool yes", json_is_true(v));
        CHECK_SCALAR("!!bool \"off\"", json_is_false(v));
}

TEST(yaml_int_decimal_hex_binary) {
        CHECK_SCALAR("0", is_int(v, 0));
        CHECK_SCALAR("-0", is_int(v, 0));
        CHECK_SCALAR("42", is_int(v, 42));
        CHECK_SCALAR("+42", is_int(v, 42));
        CHECK_SCALAR("-42", is_int(v, -42));
        CHECK_SCALAR("1_000_000", is_int(v, 1000000));
        CHECK_SCALAR("0x1F", is_int(v, 31));
        CHECK_SCALAR("0X1f", is_int(v, 31));
        CHECK_SCALAR("-0x10", is_int(v, -16));
        CHECK_SCALAR("0xFF_FF", is_int(v, 65535));
        CHECK_SCALAR("0b101", is_int(v, 5));
        CHECK_SCALAR("0B11", is_int(v, 3));
        CHECK_SCALAR("-0b11", is_int(v, -3));
        CHECK_SCALAR("0b1_0", is_int(v, 2));
        CHECK_SCALAR("9223372036854775807", is_int(v, INT64_MAX));
        CHECK_SCALAR("-9223372036854775808", is_int(v, INT64_MIN));
        /* not numbers */
        CHECK_SCALAR("0x", is_str(v, "0x"));
        CHECK_SCALAR("0b", is_str(v, "0b"));
        CHECK_SCALAR("0xG1", is_str(v, "0xG1"));
        CHECK_SCALAR("12abc", is_str(v, "12abc"));
        CHECK_SCALAR("1-2", is_str(v, "1-2"));
        CHECK_SCALAR("_1", is_str(v, "_1"));
        CHECK_SCALAR("2001-12-14", is_str(v, "2001-12-14")); /* timestamps stay strings */
        CHECK_SCALAR("1:20", is_str(v, "1:20"));             /* no base-60 */
        CHECK_SCALAR("\"42\"", is_str(v, "42"));
        CHECK_SCALAR("'0x1F'", is_str(v, "0x1F"));
}

TEST(yaml_int_octal_modes) {
        /* file modes as people write them: YAML 1.1 octal */
        CHECK_SCALAR("0644", is_int(v, 420));
        CHECK_SCALAR("0755", is_int(v, 493));
        CHECK_SCALAR("0400", is_int(v, 256));
        CHECK_SCALAR("0777", is_int(v, 511));
        CHECK_SCALAR("00", is_int(v, 0));
        CHECK_SCALAR("-0644", is_int(v, -420));
        CHECK_SCALAR("0o644", is_int(v, 420)); /* Go's ParseInt base 0 */
        CHECK_SCALAR("0O17", is_int(v, 15));
        CHECK_SCALAR("0_644", is_int(v, 420));
        CHECK_SCALAR("420", is_int(v, 420));
        /* 8 and 9 are not octal digits: go-yaml falls through to its float syntax */
        CHECK_SCALAR("08", is_int(v, 8));
        CHECK_SCALAR("0999", is_int(v, 999));
        /* quoted stays a string: the decoder then rejects it for a mode field */
        CHECK_SCALAR("\"0644\"", is_str(v, "0644"));
        CHECK_SCALAR("'0644'", is_str(v, "0644"));
        CHECK_SCALAR("!!int \"0644\"", is_int(v, 420));

        json_t *keep = NULL;
        json_t *items =
                first("defaultMode: 0600\nitems:\n- {key: a, path: a, mode: 0400}\n", "items", &keep);
        CHECK(is_int(json_object_get(json_array_get(items, 0), "mode"), 256));
        CHECK(is_int(json_object_get(json_array_get(keep, 0), "defaultMode"), 384));
        json_decref(keep);
}

TEST(yaml_int_beyond_int64) {
        /* Go keeps these exact (uint64, big.Int); jansson holds int64 only, so they become the
         * nearest double and any int field's decoder refuses them as upstream does. */
        CHECK_SCALAR("9223372036854775808", json_is_real(v) && json_real_value(v) == 0x1p63);
        CHECK_SCALAR("18446744073709551615", json_is_real(v) && json_real_value(v) == 0x1p64);
        CHECK_SCALAR("18446744073709551616", json_is_real(v) && json_real_value(v) == 0x1p64);
        CHECK_SCALAR("0xFFFFFFFFFFFFFFFFFF", json_is_real(v) && json_real_value(v) > 4.7e21);
        CHECK_SCALAR("99999999999999999999999", json_is_real(v) && json_real_value(v) > 9.9e22);
        /* decimal just below int64: float in go-yaml, a whole float64 that fits, so an int */
        CHECK_SCALAR("-9223372036854775809", is_int(v, INT64_MIN));
        /* a sign with a base prefix out of range: neither ParseInt nor ParseUint, a string */
        CHECK_SCALAR("-0xFFFFFFFFFFFFFFFFFF", is_str(v, "-0xFFFFFFFFFFFFFFFFFF"));
        /* too big even for a double */
        char big[400] = "v: 0x";
        memset(big + 5, 'f', 300);
        big[305] = '\0';
        EXPECT_ERROR(big, "too large");
}

TEST(yaml_float) {
        CHECK_SCALAR("1.5", json_is_real(v) && json_real_value(v) == 1.5);
        CHECK_SCALAR("-1.5", json_is_real(v) && json_real_value(v) == -1.5);
        CHECK_SCALAR(".5", json_is_real(v) && json_real_value(v) == 0.5);
        CHECK_SCALAR("+.5", json_is_real(v) && json_real_value(v) == 0.5);
        CHECK_SCALAR("-.25", json_is_real(v) && json_real_value(v) == -0.25);
        CHECK_SCALAR("2.5e-3", json_is_real(v) && json_real_value(v) == 2.5e-3);
        CHECK_SCALAR("1_0.5", json_is_real(v) && json_real_value(v) == 10.5);
        CHECK_SCALAR(".5_5", json_is_real(v) && json_real_value(v) == 0.55);
        CHECK_SCALAR("6.02E+23", json_is_real(v) && json_real_value(v) == 6.02e23);
        /* whole floats print as integers in encoding/json: 1e3 and 8080.0 decode as ints */
        CHECK_SCALAR("1e3", is_int(v, 1000));
        CHECK_SCALAR("8080.0", is_int(v, 8080));
        CHECK_SCALAR("1.", is_int(v, 1));
        CHECK_SCALAR("!!float 3", is_int(v, 3));
        CHECK_SCALAR("1e-400", is_int(v, 0)); /* underflow rounds to zero, as ParseFloat */
        /* overflow: ParseFloat fails, go-yaml keeps the text */
        CHECK_SCALAR("1e400", is_str(v, "1e400"));
        CHECK_SCALAR(".", is_str(v, "."));
        CHECK_SCALAR("._5", is_str(v, "._5"));
        CHECK_SCALAR(".e3", is_str(v, ".e3"));
        CHECK_SCALAR("1.2.3", is_str(v, "1.2.3"));
        CHECK_SCALAR(".nan2", is_str(v, ".nan2"));
        CHECK_SCALAR(".NAn", is_str(v, ".NAn"));
        CHECK_SCALAR("inf", is_str(v, "inf"));
        CHECK_SCALAR("0x1p3", is_str(v, "0x1p3"));
        CHECK_SCALAR("\"1.5\"", is_str(v, "1.5"));
        CHECK_SCALAR("!!float 1.5", json_is_real(v) && json_real_value(v) == 1.5);
}

TEST(yaml_float_inf_nan) {
        /* they resolve as floats, but JSON has no spelling for them (encoding/json fails too) */
        const char *bad[] = {".inf", ".Inf", ".INF", "+.inf", "-.inf", "-.INF", ".nan", ".NaN", ".NAN"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char buf[64];
                snprintf(buf, sizeof buf, "a: 1\nv: %s\n", bad[i]);
                EXPECT_ERROR(buf, "line 2, column 4:");
                EXPECT_ERROR(buf, "cannot be represented in JSON");
        }
        CHECK_SCALAR("\".inf\"", is_str(v, ".inf"));
        CHECK_SCALAR("!!str .nan", is_str(v, ".nan"));
}

TEST(yaml_quoted_and_block_scalars) {
        json_t *keep = NULL;
        json_t *doc;
        char *err = NULL;

        CHECK_INT_EQ(
                yaml("a: \"true\"\nb: 'yes'\nc: |\n  123\nd: >-\n  on\ne: \"\\t\\u00e9\"\nf: plain text\n"
                     "g: 'it''s'\n",
                     &keep, &err),
                0);
        doc = json_array_get(keep, 0);
        CHECK(is_str(json_object_get(doc, "a"), "true"));
        CHECK(is_str(json_object_get(doc, "b"), "yes"));
        CHECK(is_str(json_object_get(doc, "c"), "123\n"));
        CHECK(is_str(json_object_get(doc, "d"), "on"));
        CHECK(is_str(json_object_get(doc, "e"), "\t\xc3\xa9"));
        CHECK(is_str(json_object_get(doc, "f"), "plain text"));
        CHECK(is_str(json_object_get(doc, "g"), "it's"));
        json_decref(keep);
        free(err);

        /* a NUL from an escape is kept, length and all */
        json_t *v = first("v: \"a\\0b\"\n", "v", &keep);
        CHECK(json_is_string(v) && json_string_length(v) == 3 && json_string_value(v)[2] == 'b');
        json_decref(keep);
}

TEST(yaml_json_input) {
        json_t *keep = NULL;
        json_t *v =
                first("{\"a\": [1, \"b\", true, null, 1.5, {\"c\": \"0644\"}], \"d\": 0644}", "a", &keep);
        CHECK_INT_EQ(json_array_size(v), 6);
        CHECK(is_int(json_array_get(v, 0), 1));
        CHECK(is_str(json_array_get(v, 1), "b"));
        CHECK(json_is_true(json_array_get(v, 2)));
        CHECK(json_is_null(json_array_get(v, 3)));
        CHECK(json_is_real(json_array_get(v, 4)));
        CHECK(is_str(json_object_get(json_array_get(v, 5), "c"), "0644"));
        CHECK(is_int(json_object_get(json_array_get(keep, 0), "d"), 420));
        json_decref(keep);
}

/* ---- tags --------------------------------------------------------------------------------- */

TEST(yaml_tags_core) {
        CHECK_SCALAR("!!str 1", is_str(v, "1"));
        CHECK_SCALAR("!!str true", is_str(v, "true"));
        CHECK_SCALAR("!!str", is_str(v, ""));
        CHECK_SCALAR("!!int \"12\"", is_int(v, 12));
        CHECK_SCALAR("!!int 0x10", is_int(v, 16));
        CHECK_SCALAR("!!bool \"true\"", json_is_true(v));
        CHECK_SCALAR("!<tag:yaml.org,2002:int> '7'", is_int(v, 7));
        CHECK_SCALAR("! 12", is_str(v, "12")); /* the non-specific tag: a string */

        json_t *keep = NULL;
        json_t *v = first("v: !!map {a: 1}\nw: !!seq [1]\n", "v", &keep);
        CHECK(is_int(json_object_get(v, "a"), 1));
        CHECK(json_is_array(json_object_get(json_array_get(keep, 0), "w")));
        json_decref(keep);

        v = first("%TAG !e! tag:yaml.org,2002:\n---\nv: !e!int \"7\"\n", "v", &keep);
        CHECK(is_int(v, 7));
        json_decref(keep);
}

TEST(yaml_tags_bad) {
        EXPECT_ERROR("a: !!int abc\n", "line 1, column 4: cannot decode !!str \"abc\" as a !!int");
        EXPECT_ERROR("a: !!int 1.5\n", "cannot decode !!float \"1.5\" as a !!int");
        EXPECT_ERROR("a: !!bool 1\n", "cannot decode !!int \"1\" as a !!bool");
        EXPECT_ERROR("a: !!null x\n", "as a !!null");
        EXPECT_ERROR("a: !!float x\n", "as a !!float");
        EXPECT_ERROR("a: 1\nb: !foo x\n", "line 2, column 4: unsupported tag \"!foo\"");
        EXPECT_ERROR("a: !!binary aGk=\n", "unsupported tag \"!!binary\"");
        EXPECT_ERROR("a: !!timestamp 2001-12-14\n", "unsupported tag \"!!timestamp\"");
        EXPECT_ERROR("a: !!set {x}\n", "unsupported tag \"!!set\"");
        EXPECT_ERROR("a: !<tag:example.com,2000:x> 1\n", "unsupported tag \"tag:example.com,2000:x\"");
        EXPECT_ERROR("a: !!map [1]\n", "!!map tag on a sequence");
        EXPECT_ERROR("a: !!seq {b: 1}\n", "!!seq tag on a mapping");
        EXPECT_ERROR("a: !!str {b: 1}\n", "!!str tag on a mapping");
        EXPECT_ERROR("a: !!map x\n", "!!map tag on a scalar");
        EXPECT_ERROR("!custom {a: 1}\n", "line 1, column 1: unsupported tag \"!custom\"");
        EXPECT_ERROR("a: !!merge x\n", "unsupported tag \"!!merge\"");
}

/* ---- keys --------------------------------------------------------------------------------- */

TEST(yaml_keys_non_string) {
        json_t *keep = NULL;
        char *err = NULL;

        /* sigs.k8s.io/yaml's conversion: ints in decimal, bools as true/false, floats as
         * FormatFloat(v, 'g', -1, 32) */
        CHECK_INT_EQ(yaml("1: a\ntrue: b\n0x10: c\nno: d\n1.5: e\n1e6: f\n0.1: g\n3.14159265358979: h\n"
                          "\"2\": i\n.inf: j\n-.inf: k\n.nan: l\n1e-5: m\n-7: p\n0644: o\n",
                          &keep, &err),
                     0);
        json_t *d = json_array_get(keep, 0);
        CHECK(is_str(json_object_get(d, "1"), "a"));
        CHECK(is_str(json_object_get(d, "true"), "b"));
        CHECK(is_str(json_object_get(d, "16"), "c"));
        CHECK(is_str(json_object_get(d, "false"), "d"));
        CHECK(is_str(json_object_get(d, "1.5"), "e"));
        CHECK(is_str(json_object_get(d, "1e+06"), "f"));
        CHECK(is_str(json_object_get(d, "0.1"), "g"));
        CHECK(is_str(json_object_get(d, "3.1415927"), "h"));
        CHECK(is_str(json_object_get(d, "2"), "i"));
        CHECK(is_str(json_object_get(d, ".inf"), "j"));
        CHECK(is_str(json_object_get(d, "-.inf"), "k"));
        CHECK(is_str(json_object_get(d, ".nan"), "l"));
        CHECK(is_str(json_object_get(d, "1e-05"), "m"));
        CHECK(is_str(json_object_get(d, "-7"), "p"));
        CHECK(is_str(json_object_get(d, "420"), "o"));
        CHECK_INT_EQ(json_object_size(d), 15);
        json_decref(keep);
        free(err);

        /* the famous one: a key spelled y is the boolean true */
        json_t *v = first("y: 1\n", "true", &keep);
        CHECK(is_int(v, 1));
        json_decref(keep);
}

TEST(yaml_keys_bad) {
        EXPECT_ERROR("a: 1\n~: 2\n", "line 2, column 1: a null mapping key is not supported");
        EXPECT_ERROR("a: 1\n? \n: 2\n", "null mapping key");
        EXPECT_ERROR("? [a, b]\n: 1\n", "line 1, column 3: a mapping key must be a scalar, not a sequence");
        EXPECT_ERROR("? {a: 1}\n: 1\n", "a mapping key must be a scalar, not a mapping");
        EXPECT_ERROR("{[1]: 2}\n", "not a sequence");
        EXPECT_ERROR("a: &x {b: 1}\n*x : 2\n",
                     "line 2, column 1: a mapping key must be a scalar, not an alias to a mapping");
        EXPECT_ERROR("18446744073709551615: x\n",
                     "integer mapping key \"18446744073709551615\" does not fit");
        EXPECT_ERROR("\"a\\0b\": x\n", "NUL");
}

TEST(yaml_duplicate_keys) {
        EXPECT_ERROR("metadata:\n  name: a\n  labels: {}\n  name: b\n",
                     "line 4, column 3: duplicate key \"name\"");
        EXPECT_ERROR("{a: 1, a: 2}", "line 1, column 8: duplicate key \"a\"");
        /* different spellings of the same key text */
        EXPECT_ERROR("1: a\n\"1\": b\n", "line 2, column 1: duplicate key \"1\"");
        EXPECT_ERROR("yes: a\ntrue: b\n", "duplicate key \"true\"");
        EXPECT_ERROR("0x10: a\n16: b\n", "duplicate key \"16\"");
        /* the same key in different mappings is fine */
        json_t *keep = NULL;
        json_t *v = first("a: {name: x}\nb: {name: y}\nname: z\n", "name", &keep);
        CHECK(is_str(v, "z"));
        json_decref(keep);
        /* a key with a quote in it is quoted in the message */
        EXPECT_ERROR("'a\"b': 1\n'a\"b': 2\n", "duplicate key \"a\\\"b\"");
}

/* ---- documents ----------------------------------------------------------------------------- */

TEST(yaml_multi_document) {
        json_t *docs = NULL;
        char *err = NULL;

        CHECK_INT_EQ(yaml("---\n---\nkind: Pod\n--- ~\n---\n# only a comment\n---\nnull\n...\n---\n- a\n"
                          "---\n\"text\"\n---\nkind: Second\n...\n",
                          &docs, &err),
                     0);
        CHECK(err == NULL);
        CHECK_INT_EQ(json_array_size(docs), 4);
        CHECK(is_str(json_object_get(json_array_get(docs, 0), "kind"), "Pod"));
        CHECK(is_str(json_array_get(json_array_get(docs, 1), 0), "a"));
        CHECK(is_str(json_array_get(docs, 2), "text"));
        CHECK(is_str(json_object_get(json_array_get(docs, 3), "kind"), "Second"));
        json_decref(docs);

        CHECK_INT_EQ(yaml("", &docs, &err), 0);
        CHECK_INT_EQ(json_array_size(docs), 0);
        json_decref(docs);
        CHECK_INT_EQ(yaml("# nothing\n\n", &docs, &err), 0);
        CHECK_INT_EQ(json_array_size(docs), 0);
        json_decref(docs);

        /* ret_error may be NULL */
        docs = NULL;
        CHECK_INT_EQ(podspec_yaml_to_json("a: 1", 4, &docs, NULL), 0);
        CHECK_INT_EQ(json_array_size(docs), 1);
        json_decref(docs);
        CHECK_INT_EQ(podspec_yaml_to_json("a: [", 4, &docs, NULL), -EINVAL);
        json_decref(docs);
}

TEST(yaml_documents_before_error_kept) {
        const char *s = "kind: Pod\nmetadata: {name: one}\n---\nkind: Pod\nmetadata: {name: two}\n---\n"
                        "kind: Pod\nmetadata:\n  name: three\n   bad: indent\n---\nkind: Four\n";
        json_t *docs = NULL;
        char *err = NULL;
        CHECK_INT_EQ(yaml(s, &docs, &err), -EINVAL);
        CHECK_INT_EQ(json_array_size(docs), 2);
        CHECK(is_str(json_object_get(json_object_get(json_array_get(docs, 1), "metadata"), "name"), "two"));
        CHECK(err && strstr(err, "line 10, column "));
        json_decref(docs);
        free(err);

        /* a semantic error in the third document */
        CHECK_INT_EQ(
                EXPECT_ERROR("a: 1\n---\nb: 2\n---\nc: 3\nc: 4\n", "line 6, column 1: duplicate key \"c\""),
                2);
}

TEST(yaml_syntax_errors) {
        EXPECT_ERROR("a: [1, 2\n", "line 2, column 1: did not find expected ',' or ']'");
        EXPECT_ERROR("a: [1, 2\n", "while parsing a flow sequence at line 1, column 4");
        EXPECT_ERROR("a:\n  b: 1\n c: 2\n", "line 3, column 2:");
        EXPECT_ERROR("a: 'unterminated\n", "found unexpected end of stream");
        EXPECT_ERROR("a: b: c\n", "line 1, column 5: mapping values are not allowed in this context");
        EXPECT_ERROR("key: value\n\tbad: tab\n", "line 2, column 1:");
        EXPECT_ERROR("- a\nb: c\n", "line 2, column 1:");
        EXPECT_ERROR("a: \"\\q\"\n", "found unknown escape character");
        EXPECT_ERROR("a: &\n", "did not find expected alphabetic or numeric character");
}

TEST(yaml_invalid_utf8) {
        EXPECT_ERROR("a: b\nc: \xff\n",
                     "line 2, column 4: input is not valid UTF-8: invalid leading UTF-8 octet (byte 0xFF");
        EXPECT_ERROR("a: \"\xc3\x28\"\n",
                     "line 1, column 6: input is not valid UTF-8: invalid trailing UTF-8 octet (byte 0x28");
        EXPECT_ERROR("a: \xed\xa0\x80\n", "input is not valid UTF-8"); /* a surrogate */
        EXPECT_ERROR("a: \xc0\xaf\n", "input is not valid UTF-8");     /* overlong */
        EXPECT_ERROR("a: b\xe2\x82", "input is not valid UTF-8: incomplete UTF-8 octet sequence");
        expect_error("a: b\0c\n", 7, "line 1, column 5: control characters are not allowed (U+0000");
        expect_error("a: \x01\n", 5, "control characters are not allowed");
        /* multi-byte characters count as one column */
        EXPECT_ERROR("\xc3\xa9\xc3\xa9: \xff\n", "line 1, column 5:");
}

TEST(yaml_utf16_bom) {
        /* libyaml decodes UTF-16 with a BOM */
        const char s[] = "\xff\xfe"
                         "a\0:\0 \0\xe9\0\n\0";
        json_t *docs = NULL;
        char *err = NULL;
        CHECK_INT_EQ(podspec_yaml_to_json(s, sizeof s - 1, &docs, &err), 0);
        CHECK(is_str(json_object_get(json_array_get(docs, 0), "a"), "\xc3\xa9"));
        json_decref(docs);
        free(err);
}

/* ---- anchors, aliases, merge ---------------------------------------------------------------- */

TEST(yaml_anchors_aliases) {
        json_t *docs = NULL;
        char *err = NULL;

        CHECK_INT_EQ(yaml("base: &b {image: nginx, ports: [80, 443]}\nname: &n web\ncopy: *b\nalso: *n\n"
                          "list: [&one 1, *one, *one]\n*n : keyed\n",
                          &docs, &err),
                     0);
        json_t *d = json_array_get(docs, 0);
        json_t *base = json_object_get(d, "base"), *copy = json_object_get(d, "copy");
        CHECK(json_equal(base, copy));
        CHECK(base != copy); /* a copy, not a shared node */
        CHECK(json_object_get(base, "ports") != json_object_get(copy, "ports"));
        CHECK(is_str(json_object_get(d, "also"), "web"));
        CHECK(is_int(json_array_get(json_object_get(d, "list"), 2), 1));
        CHECK(is_str(json_object_get(d, "web"), "keyed"));
        json_decref(docs);

        /* an anchored key; a scalar alias keeps its resolved type */
        json_t *v = first("&k 0x10: a\nv: [*k, &t yes, *t]\n", "v", &docs);
        CHECK(is_int(json_array_get(v, 0), 16));
        CHECK(json_is_true(json_array_get(v, 2)));
        json_decref(docs);

        /* redefinition: the latest anchor wins */
        v = first("a: &x 1\nb: &x 2\nv: *x\n", "v", &docs);
        CHECK(is_int(v, 2));
        json_decref(docs);

        /* the document is the root alias target */
        v = first("--- &root\na: 1\nb: 2\n", "b", &docs);
        CHECK(is_int(v, 2));
        json_decref(docs);
}

TEST(yaml_alias_errors) {
        EXPECT_ERROR("a: 1\nb: *nope\n", "line 2, column 4: alias *nope refers to an unknown anchor");
        EXPECT_ERROR("a: &x [1, *x]\n", "line 1, column 11: anchor &x contains an alias to itself");
        EXPECT_ERROR("a: &x {b: {c: *x}}\n", "contains an alias to itself");
        /* anchors do not reach into the next document */
        CHECK_INT_EQ(EXPECT_ERROR("a: &x 1\n---\nb: *x\n",
                                  "line 3, column 4: alias *x refers to an unknown anchor"),
                     1);
        EXPECT_ERROR("a: &x .inf\nb: 1\n", "line 1, column 4:");
}

TEST(yaml_merge_keys) {
        json_t *docs = NULL;
        char *err = NULL;

        CHECK_INT_EQ(yaml("defaults: &d {cpu: 1, mem: 2, tier: base}\n"
                          "extra: &e {mem: 9, disk: 3}\n"
                          "one:\n  tier: own\n  <<: *d\n"
                          "two:\n  <<: [*e, *d]\n  cpu: 7\n"
                          "three: {<<: {x: 1}, z: 2}\n"
                          "four:\n  \"<<\": literal\n"
                          "five:\n  !!merge <<: *d\n",
                          &docs, &err),
                     0);
        CHECK(err == NULL);
        json_t *d = json_array_get(docs, 0);
        json_t *one = json_object_get(d, "one");
        CHECK(is_str(json_object_get(one, "tier"), "own")); /* own keys win, even before "<<" */
        CHECK(is_int(json_object_get(one, "cpu"), 1));
        CHECK_INT_EQ(json_object_size(one), 3);
        json_t *two = json_object_get(d, "two");
        CHECK(is_int(json_object_get(two, "mem"), 9)); /* earlier in the list wins */
        CHECK(is_int(json_object_get(two, "disk"), 3));
        CHECK(is_int(json_object_get(two, "cpu"), 7)); /* own key after "<<" replaces the merged one */
        CHECK(is_str(json_object_get(two, "tier"), "base"));
        CHECK(json_object_get(two, "<<") == NULL);
        json_t *three = json_object_get(d, "three");
        CHECK(is_int(json_object_get(three, "x"), 1) && is_int(json_object_get(three, "z"), 2));
        CHECK(is_str(json_object_get(json_object_get(d, "four"), "<<"), "literal"));
        CHECK(is_int(json_object_get(json_object_get(d, "five"), "mem"), 2));
        /* the source is untouched */
        CHECK_INT_EQ(json_object_size(json_object_get(d, "defaults")), 3);
        json_decref(docs);

        /* an own key written twice is still a duplicate, merged or not */
        EXPECT_ERROR("d: &d {a: 1}\ne:\n  <<: *d\n  a: 2\n  a: 3\n",
                     "line 5, column 3: duplicate key \"a\"");
        EXPECT_ERROR("a: {<<: 1}\n",
                     "line 1, column 9: map merge requires a mapping or a sequence of mappings");
        EXPECT_ERROR("a: {<<: [{b: 1}, 2]}\n", "map merge requires");
        EXPECT_ERROR("s: &s [{a: 1}]\nm: {<<: *s}\n", "map merge requires");
}

TEST(yaml_billion_laughs) {
        const char *bomb =
                "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
                "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
                "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
                "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        EXPECT_ERROR(bomb, "aliases expand the document to more than 200000 nodes");
        EXPECT_ERROR(bomb, "line 6, column ");
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double secs = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
        CHECK(secs < 5.0); /* fails fast (generous for sanitizer builds) */

        /* the documents before the bomb survive it */
        char buf[2048];
        snprintf(buf, sizeof buf, "kind: Pod\n---\n%s", bomb);
        CHECK_INT_EQ(EXPECT_ERROR(buf, "aliases expand"), 1);

        /* aliases count across the whole stream, not per document */
        nl_buf b = {};
        for (int i = 0; i < 30; i++)
                nl_buf_puts(&b, "---\na: &a "
                                "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,"
                                "28,29,30]\n"
                                "b: "
                                "[*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*"
                                "a,*a,*a,*a,*a,*a,"
                                "*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,"
                                "*a,*a,*a,*a,*a,"
                                "*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,"
                                "*a,*a,*a,*a,*a,"
                                "*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,"
                                "*a,*a,*a,*a,*a]\n");
        char *s = nl_buf_steal(&b);
        /* 120 aliases x 31 nodes = 3720 per document; past 200000 in document 54: with 30, fine */
        json_t *docs = NULL;
        char *err = NULL;
        CHECK_INT_EQ(yaml(s, &docs, &err), 0);
        CHECK_INT_EQ(json_array_size(docs), 30);
        json_decref(docs);
        free(err);
        free(s);
        for (int i = 0; i < 60; i++)
                nl_buf_puts(&b, "---\na: &a "
                                "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,"
                                "28,29,30]\n"
                                "b: "
                                "[*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*"
                                "a,*a,*a,*a,*a,*a,"
                                "*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,"
                                "*a,*a,*a,*a,*a,"
                                "*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,"
                                "*a,*a,*a,*a,*a,"
                                "*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,*a,"
                                "*a,*a,*a,*a,*a]\n");
        s = nl_buf_steal(&b);
        CHECK_INT_EQ(EXPECT_ERROR(s, "aliases expand the document to more than 200000 nodes"), 53);
        free(s);
}

TEST(yaml_alias_byte_bomb) {
        /* few nodes, many bytes: a 64 KiB string aliased 100 times is 6.4 MiB */
        nl_buf b = {};
        nl_buf_puts(&b, "s: &s \"");
        for (int i = 0; i < 65536; i++)
                nl_buf_puts(&b, "x");
        nl_buf_puts(&b, "\"\nl: [");
        for (int i = 0; i < 100; i++)
                nl_buf_puts(&b, "*s,");
        nl_buf_puts(&b, "]\n");
        char *s = nl_buf_steal(&b);
        EXPECT_ERROR(s, "aliases expand the document by more than 3145728 bytes");
        free(s);
}

static char *nested(int levels, const char *open, const char *close, const char *inner) {
        nl_buf b = {};
        nl_buf_puts(&b, "v: ");
        for (int i = 0; i < levels; i++)
                nl_buf_puts(&b, open);
        nl_buf_puts(&b, inner);
        for (int i = 0; i < levels; i++)
                nl_buf_puts(&b, close);
        nl_buf_puts(&b, "\n");
        return nl_buf_steal(&b);
}

TEST(yaml_depth) {
        json_t *docs = NULL;
        char *err = NULL;

        /* the root mapping is level 1: 63 more fit */
        char *s = nested(PODSPEC_MAX_DEPTH - 1, "[", "]", "1");
        CHECK_INT_EQ(yaml(s, &docs, &err), 0);
        json_decref(docs);
        free(err);
        free(s);

        s = nested(PODSPEC_MAX_DEPTH, "[", "]", "1");
        EXPECT_ERROR(s, "line 1, column 67: nesting is deeper than 64 levels");
        free(s);
        s = nested(PODSPEC_MAX_DEPTH, "{a: ", "}", "1");
        EXPECT_ERROR(s, "nesting is deeper than 64 levels");
        free(s);

        /* a depth bomb fails at the limit, not at the end of the input */
        s = nested(200000, "[", "]", "");
        EXPECT_ERROR(s, "line 1, column 67: nesting is deeper than 64 levels");
        free(s);

        /* block style */
        nl_buf b = {};
        for (int i = 0; i < 70; i++) {
                for (int j = 0; j < i; j++)
                        nl_buf_puts(&b, " ");
                nl_buf_puts(&b, "k:\n");
        }
        s = nl_buf_steal(&b);
        EXPECT_ERROR(s, "line 65, column 65: nesting is deeper than 64 levels");
        free(s);

        /* an alias that would nest too deep where it lands */
        s = nested(40, "[", "]", "1");
        b = (nl_buf){};
        nl_buf_puts(&b, "a: &deep ");
        nl_buf_puts(&b, s + 3);
        free(s);
        s = nested(30, "[", "]", "*deep");
        nl_buf_puts(&b, "b: ");
        nl_buf_puts(&b, s + 3);
        free(s);
        s = nl_buf_steal(&b);
        EXPECT_ERROR(s, "alias *deep nests deeper than 64 levels");
        free(s);
}

TEST(yaml_limits) {
        /* more than PODSPEC_MAX_NODES nodes without any alias */
        nl_buf b = {};
        nl_buf_puts(&b, "[");
        for (int i = 0; i < PODSPEC_MAX_NODES; i++)
                nl_buf_puts(&b, "1,");
        nl_buf_puts(&b, "]");
        char *s = nl_buf_steal(&b);
        EXPECT_ERROR(s, "document has more than 200000 nodes");
        free(s);

        /* documents */
        for (int i = 0; i < PODSPEC_MAX_DOCUMENTS; i++)
                nl_buf_puts(&b, "---\na: 1\n---\n");
        s = nl_buf_steal(&b);
        json_t *docs = NULL;
        char *err = NULL;
        CHECK_INT_EQ(yaml(s, &docs, &err), 0); /* empty documents do not count */
        CHECK_INT_EQ(json_array_size(docs), PODSPEC_MAX_DOCUMENTS);
        json_decref(docs);
        free(err);
        free(s);
        for (int i = 0; i <= PODSPEC_MAX_DOCUMENTS; i++)
                nl_buf_puts(&b, "---\na: 1\n");
        s = nl_buf_steal(&b);
        CHECK_INT_EQ(EXPECT_ERROR(s, "line 2049, column 1: more than 1024 documents"),
                     PODSPEC_MAX_DOCUMENTS);
        free(s);

        /* input size: checked before parsing, the position is where the limit falls */
        size_t n = PODSPEC_MAX_INPUT_BYTES + 1;
        char *big = malloc(n);
        CHECK(big != NULL);
        if (!big)
                return;
        for (size_t i = 0; i < n; i++)
                big[i] = (i % 64 == 63) ? '\n' : '#';
        CHECK_INT_EQ(expect_error(big, n, "line 49153, column 1: input is larger than 3145728 bytes"), 0);
        free(big);
}
