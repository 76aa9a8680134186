/* SPDX-License-Identifier: Apache-2.0 */
/* Resource quantities against the values and strings of k8s.io/apimachinery's
 * pkg/api/resource/quantity_test.go (TestQuantityParse, TestQuantityString,
 * TestQuantityParseEmit, TestParseQuantity, TestQuantityCmp, TestNewSet, ...), plus the
 * kubelet's downward API (resourceFieldRef) divisions. */

#include <stdlib.h>

#include "podspec/podspec.h"
#include "test.h"

#define DSI QUANTITY_DECIMAL_SI
#define BIN QUANTITY_BINARY_SI
#define DEX QUANTITY_DECIMAL_EXPONENT

typedef __int128 i128;

/* mant * 10^exp in nano-units, as the upstream tests' decQuantity(mant, exp, format). */
static i128 nano_of(int64_t mant, int exp) {
        i128 v = mant;
        for (int i = -9; i < exp; i++)
                v *= 10;
        for (int i = exp; i < -9; i++)
                v /= 10;
        return v;
}

static pod_quantity mk(int64_t mant, int exp, quantity_format format) {
        return (pod_quantity){.set = true, .nano = nano_of(mant, exp), .format = format};
}

static const char *i128_str(i128 v, char buf[static 48]) {
        unsigned __int128 m = v < 0 ? -(unsigned __int128) v : (unsigned __int128) v;
        char *p = buf + 47;
        *p = '\0';
        do {
                *--p = (char) ('0' + (int) (m % 10));
                m /= 10;
        } while (m);
        if (v < 0)
                *--p = '-';
        return p;
}

#define CHECK_NANO_EQ(ctx, got, want)                                                                       \
        do {                                                                                                \
                i128 _g = (got), _w = (want);                                                               \
                char _gb[48], _wb[48];                                                                      \
                if (_g != _w)                                                                               \
                        TEST_FAIL("%s: nano %s, want %s", (ctx), i128_str(_g, _gb), i128_str(_w, _wb));     \
        } while (0)

/* Parse s, format it and compare; a failed parse fails the check. */
static void check_canonical(const char *s, const char *want) {
        pod_quantity q = {};
        int r = pod_quantity_parse(s, &q);
        if (r < 0) {
                TEST_FAIL("parse \"%s\": %d", s, r);
                return;
        }
        _cleanup_free_ char *got = pod_quantity_format(&q);
        if (!got || !streq(got, want))
                TEST_FAIL("\"%s\" formats as \"%s\", want \"%s\"", s, got ? got : "(null)", want);
}

static pod_quantity parse_ok(const char *s) {
        pod_quantity q = {};
        int r = pod_quantity_parse(s, &q);
        if (r < 0)
                TEST_FAIL("parse \"%s\": %d", s, r);
        return q;
}

/* ---- parse: TestQuantityParse ------------------------------------------------------------- */

static const struct {
        const char *in;
        int64_t mant;
        int exp;
        quantity_format format;
} parse_table[] = {
        {"0", 0, 0, DSI},
        {"0n", 0, 0, DSI},
        {"0u", 0, 0, DSI},
        {"0m", 0, 0, DSI},
        {"0Ki", 0, 0, BIN},
        {"0k", 0, 0, DSI},
        {"0Mi", 0, 0, BIN},
        {"0M", 0, 0, DSI},
        {"0Gi", 0, 0, BIN},
        {"0G", 0, 0, DSI},
        {"0Ti", 0, 0, BIN},
        {"0T", 0, 0, DSI},
        /* quantity-less numbers */
        {"1", 1, 0, DSI},
        /* binary suffixes */
        {"1Ki", 1024, 0, BIN},
        {"8Ki", 8 * 1024, 0, BIN},
        {"7Mi", 7 * 1024 * 1024, 0, BIN},
        {"6Gi", 6LL * 1024 * 1024 * 1024, 0, BIN},
        {"5Ti", 5LL * 1024 * 1024 * 1024 * 1024, 0, BIN},
        {"4Pi", 4LL * 1024 * 1024 * 1024 * 1024 * 1024, 0, BIN},
        {"3Ei", 3LL * 1024 * 1024 * 1024 * 1024 * 1024 * 1024, 0, BIN},
        {"10Ti", 10LL * 1024 * 1024 * 1024 * 1024, 0, BIN},
        {"100Ti", 100LL * 1024 * 1024 * 1024 * 1024, 0, BIN},
        /* decimal suffixes */
        {"5n", 5, -9, DSI},
        {"4u", 4, -6, DSI},
        {"3m", 3, -3, DSI},
        {"9", 9, 0, DSI},
        {"8k", 8, 3, DSI},
        {"50k", 5, 4, DSI},
        {"7M", 7, 6, DSI},
        {"6G", 6, 9, DSI},
        {"5T", 5, 12, DSI},
        {"40T", 4, 13, DSI},
        {"300T", 3, 14, DSI},
        {"2P", 2, 15, DSI},
        {"1E", 1, 18, DSI},
        /* decimal exponents */
        {"1E-3", 1, -3, DEX},
        {"1e3", 1, 3, DEX},
        {"1E6", 1, 6, DEX},
        {"1e9", 1, 9, DEX},
        {"1E12", 1, 12, DEX},
        {"1e15", 1, 15, DEX},
        {"1E18", 1, 18, DEX},
        /* nonstandard but parsable */
        {"1e14", 1, 14, DEX},
        {"1e13", 1, 13, DEX},
        {"100.035k", 100035, 0, DSI},
        /* things that look like floating point */
        {"0.001", 1, -3, DSI},
        {"0.0005k", 5, -1, DSI},
        {"0.005", 5, -3, DSI},
        {"0.05", 5, -2, DSI},
        {"0.5", 5, -1, DSI},
        {"0.00050k", 5, -1, DSI},
        {"0.00500", 5, -3, DSI},
        {"0.05000", 5, -2, DSI},
        {"0.50000", 5, -1, DSI},
        {"0.5e0", 5, -1, DEX},
        {"0.5e-1", 5, -2, DEX},
        {"0.5e-2", 5, -3, DEX},
        {"10.035M", 10035, 3, DSI},
        {"1.2e3", 12, 2, DEX},
        {"1.3E+6", 13, 5, DEX},
        {"1.40e9", 14, 8, DEX},
        {"1.53E12", 153, 10, DEX},
        {"1.6e15", 16, 14, DEX},
        {"1.7E18", 17, 17, DEX},
        {"9.01", 901, -2, DSI},
        {"8.1k", 81, 2, DSI},
        {"7.123456M", 7123456, 0, DSI},
        {"6.987654321G", 6987654321, 0, DSI},
        {"5.444T", 5444, 9, DSI},
        {"40.1T", 401, 11, DSI},
        {"300.2T", 3002, 11, DSI},
        {"2.5P", 25, 14, DSI},
        {"1.01E", 101, 16, DSI},
        /* things that saturate or round */
        {"3.001n", 4, -9, DSI},
        {"1.1E-9", 2, -9, DEX},
        {"0.0000000001", 1, -9, DSI},
        {"0.0000000005", 1, -9, DSI},
        {"0.00000000050", 1, -9, DSI},
        {"0.5e-9", 1, -9, DEX},
        {"0.9n", 1, -9, DSI},
        {"0.00000012345", 124, -9, DSI},
        {"0.00000012354", 124, -9, DSI},
        {"9Ei", INT64_MAX, 0, BIN},
        {"9223372036854775807Ki", INT64_MAX, 0, BIN},
        {"12E", 12, 18, DSI},
        /* fractional binary */
        {"100.035Ki", 10243584, -2, BIN},
        {"0.5Mi", 512 * 1024, 0, BIN},
        {"0.05Gi", 536870912, -1, BIN},
        {"0.025Ti", 274877906944, -1, BIN},
        /* things written by trolls */
        {"0.000000000001Ki", 2, -9, DSI}, /* rounds up, changes format */
        {".001", 1, -3, DSI},
        {".0001k", 100, -3, DSI},
        {"1.", 1, 0, DSI},
        {"1.G", 1, 9, DSI},
};

TEST(quantity_parse_table) {
        for (size_t i = 0; i < ELEMENTSOF(parse_table); i++) {
                const char *in = parse_table[i].in;
                i128 want = nano_of(parse_table[i].mant, parse_table[i].exp);
                pod_quantity q = {};

                CHECK_INT_EQ(pod_quantity_parse(in, &q), 0);
                CHECK(q.set);
                CHECK_NANO_EQ(in, q.nano, want);
                if (q.format != parse_table[i].format)
                        TEST_FAIL("%s: format %d, want %d", in, q.format, parse_table[i].format);

                /* the negative and explicitly positive versions of everything */
                _cleanup_free_ char *neg = nl_strdupf("-%s", in), *pos = nl_strdupf("+%s", in);
                CHECK(neg && pos);
                if (!neg || !pos)
                        continue;
                q = (pod_quantity){};
                CHECK_INT_EQ(pod_quantity_parse(neg, &q), 0);
                CHECK_NANO_EQ(neg, q.nano, -want);
                if (q.format != parse_table[i].format)
                        TEST_FAIL("%s: format %d, want %d", neg, q.format, parse_table[i].format);
                q = (pod_quantity){};
                CHECK_INT_EQ(pod_quantity_parse(pos, &q), 0);
                CHECK_NANO_EQ(pos, q.nano, want);
                if (q.format != parse_table[i].format)
                        TEST_FAIL("%s: format %d, want %d", pos, q.format, parse_table[i].format);
        }
}

TEST(quantity_parse_rejects) {
        static const char *const bad[] = {
                /* upstream's invalid list */
                "1.1.M",
                "1+1.0M",
                "0.1mi",
                "0.1am",
                "aoeu",
                ".5i",
                "1i",
                "-3.01i",
                "-3.01e-",
                " 1",
                "1 ",
                "Non-Numeric",
                "",
                /* more of the grammar */
                "1.5.5",
                "1..5",
                "1Kib",
                "1KiB",
                "+-1",
                "-+1",
                "--1",
                "1e",
                "1E+",
                "1e+",
                "e",
                "1e3.5",
                "1ee3",
                "1eE3",
                "1EE",
                "1K",
                "1ki",
                "1Mi3",
                "1m5",
                "1m-3",
                "1e5m",
                "1b",
                "1\t",
                "\t1",
                "1,5",
                "1_000",
                "0x10",
                "1e3e3",
                "1-3",
                "1+",
                "1.5e",
                "1 Ki",
                "١", /* not an ASCII digit */
                /* exponents that do not fit an int64 are malformed, not out of range */
                "1e9223372036854775808",
                "1e-9223372036854775809",
                /* no digit at all and a value that needs one (see the quirks test) */
                "Pi",
                "Ei",
                "-Pi",
                ".Ei",
                "e-10",
                ".e-10",
                "-E-12",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                pod_quantity q = {.set = false, .nano = 42};
                int r = pod_quantity_parse(bad[i], &q);
                if (r != -EINVAL)
                        TEST_FAIL("\"%s\": got %d, want -EINVAL", bad[i], r);
                CHECK(!q.set && q.nano == 42); /* untouched on failure */
        }
        CHECK_INT_EQ(pod_quantity_parse(NULL, &(pod_quantity){}), -EINVAL);
}

/* Inputs without a digit that the apimachinery nonetheless reads as zero: its scanner makes
 * the missing number "0" and only the inf.Dec path (exponents below -9, Pi, Ei) insists on a
 * digit. These are accepted upstream, so they are here. */
TEST(quantity_parse_digitless_quirks) {
        static const struct {
                const char *in;
                quantity_format format;
        } zero[] = {
                {".", DSI},           {"-", DSI},           {"+", DSI},     {"-.", DSI},  {"+.", DSI},
                {"m", DSI},           {"k", DSI},           {"n", DSI},     {"E", DSI},   {".m", DSI},
                {"Ki", BIN},          {"Mi", BIN},          {"Gi", BIN},    {"Ti", BIN},  {"-Ki", BIN},
                {"e5", DEX},          {"E-9", DEX},         {"-0", DSI},    {"000", DSI}, {"00.000", DSI},
                {"0e999999999", DEX}, {"0e-99999999", DEX}, {"0.0Ki", BIN},
        };
        for (size_t i = 0; i < ELEMENTSOF(zero); i++) {
                pod_quantity q = {};
                int r = pod_quantity_parse(zero[i].in, &q);
                if (r != 0) {
                        TEST_FAIL("\"%s\": %d", zero[i].in, r);
                        continue;
                }
                CHECK_NANO_EQ(zero[i].in, q.nano, 0);
                if (q.format != zero[i].format)
                        TEST_FAIL("%s: format %d, want %d", zero[i].in, q.format, zero[i].format);
                _cleanup_free_ char *s = pod_quantity_format(&q);
                CHECK_STR_EQ(s, "0");
        }
}

/* The apimachinery reads the exponent as an int64 and narrows it to int32. */
TEST(quantity_parse_exponent_wraps_like_upstream) {
        pod_quantity q = parse_ok("1e4294967296");
        CHECK_NANO_EQ("1e4294967296", q.nano, nano_of(1, 0));
        CHECK_INT_EQ(q.format, DEX);
        q = parse_ok("1e4294967295"); /* int32 -1 */
        CHECK_NANO_EQ("1e4294967295", q.nano, nano_of(1, -1));
        q = parse_ok("1e9223372036854775807");
        CHECK_NANO_EQ("1e9223372036854775807", q.nano, nano_of(1, -1));
        q = parse_ok("1e-4294967296");
        CHECK_NANO_EQ("1e-4294967296", q.nano, nano_of(1, 0));
        q = parse_ok("1e+03");
        CHECK_NANO_EQ("1e+03", q.nano, nano_of(1, 3));
}

/* ---- rounding and range ------------------------------------------------------------------- */

TEST(quantity_parse_rounds_away_from_zero) {
        static const struct {
                const char *in;
                int64_t nano;
        } table[] = {
                {"0.1n", 1},
                {"-0.1n", -1},
                {"0.000000000000000000000000001", 1},
                {"-0.000000000000000000000000001", -1},
                {"1.0000000001", 1000000001},
                {"-1.0000000001", -1000000001},
                {"1.0000000000", 1000000000},
                {"2.5e-9", 3},
                {"-2.5e-9", -3},
                {"1e-99999999", 1},
                {"-1e-99999999", -1},
                {"1.999999999999999999999n", 2},
                {"0.001Ki", 1024000000},
                {"0.0000000001Ki", 103},                  /* 102.4n */
                {"-0.0000000001Ki", -103},                /* away from zero */
                {"0.00000000000000000001Ei", 11529216},   /* 11529215.04606846976n */
                {"0.0009765625Ki", 1000000000},           /* exactly 1 */
                {"0.00000000000000095367431640625Mi", 1}, /* 2^-20 * 10^-9: exactly 1n */
                {"0.00000000000000095367431640626Mi", 2},
                {"0.00000000000095367431640625Mi", 1000},
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                pod_quantity q = parse_ok(table[i].in);
                CHECK_NANO_EQ(table[i].in, q.nano, table[i].nano);
        }

        /* a thousand zeros in front of the digit are still 1n; a thousand behind are 1 */
        char buf[1100];
        memset(buf, '0', sizeof(buf));
        buf[1] = '.';
        buf[1050] = '1';
        buf[1051] = '\0';
        pod_quantity q = parse_ok(buf);
        CHECK_NANO_EQ("0.000...1", q.nano, 1);
        memset(buf, '0', sizeof(buf));
        buf[0] = '1';
        memcpy(buf + 1001, "e-1000", 7);
        q = parse_ok(buf);
        CHECK_NANO_EQ("1000...e-1000", q.nano, nano_of(1, 0));
        CHECK_INT_EQ(q.format, DEX);
}

TEST(quantity_parse_range) {
        const i128 max = (i128) (~(unsigned __int128) 0 >> 1);
        pod_quantity q = parse_ok("170141183460469231731687303715884105727n");
        CHECK_NANO_EQ("max", q.nano, max);
        q = parse_ok("-170141183460469231731687303715884105727n");
        CHECK_NANO_EQ("-max", q.nano, -max);
        q = parse_ok("170141183460469231731687303715.884105727");
        CHECK_NANO_EQ("max units", q.nano, max);
        q = parse_ok("170141183460469231731687303715.8841057261"); /* rounds up onto max */
        CHECK_NANO_EQ("max rounded", q.nano, max);
        q = parse_ok("1e29");
        CHECK_NANO_EQ("1e29", q.nano, nano_of(1, 20) * (i128) 1000000000);
        q = parse_ok("100000E");
        CHECK_NANO_EQ("100000E", q.nano, nano_of(1, 14) * (i128) 1000000000);
        q = parse_ok("18446744073709551616");
        CHECK_NANO_EQ("2^64", q.nano, ((i128) 1 << 64) * 1000000000);

        static const char *const too_big[] = {
                "170141183460469231731687303715884105728n",
                "-170141183460469231731687303715884105728n",
                "170141183460469231731687303715.8841057271",
                "1e30",
                "2e29",
                "-2e29",
                "1e2147483647",
                "1000000000000000000000000000000",
                "1000000000000E",
                "999999999999999999999999999999999999999999999999999999999999999999999m",
        };
        for (size_t i = 0; i < ELEMENTSOF(too_big); i++) {
                pod_quantity r = {};
                int ret = pod_quantity_parse(too_big[i], &r);
                if (ret != -ERANGE)
                        TEST_FAIL("\"%s\": got %d, want -ERANGE", too_big[i], ret);
        }
}

/* BinarySI magnitudes are capped at 2^63-1 units, silently, as ParseQuantity does. */
TEST(quantity_parse_binary_cap) {
        static const char *const capped[] = {
                "8Ei",
                "9Ei",
                "16Ei",
                "9223372036854775807Ki",
                "8192Pi",
                "8589934592Gi",
                "99999999999999999999999999999999999999999999999999999999Ki",
                "8.5Ei",
        };
        for (size_t i = 0; i < ELEMENTSOF(capped); i++) {
                pod_quantity q = parse_ok(capped[i]);
                CHECK_NANO_EQ(capped[i], q.nano, nano_of(INT64_MAX, 0));
                CHECK_INT_EQ(q.format, BIN);
                _cleanup_free_ char *s = pod_quantity_format(&q);
                CHECK_STR_EQ(s, "9223372036854775807");
        }
        pod_quantity q = parse_ok("-9Ei");
        CHECK_NANO_EQ("-9Ei", q.nano, -nano_of(INT64_MAX, 0));
        q = parse_ok("7Ei");
        CHECK_NANO_EQ("7Ei", q.nano, nano_of(7LL << 60, 0));
        q = parse_ok("8191.999Pi"); /* below the cap: kept exactly */
        CHECK_NANO_EQ("8191.999Pi", q.nano, ((i128) 8191999 << 50) * 1000000);
        CHECK_INT_EQ(q.format, BIN);
        _cleanup_free_ char *s = pod_quantity_format(&q); /* not whole: printed as DecimalSI */
        CHECK_STR_EQ(s, "9223370910954868965376m");
}

/* ---- canonical form: TestQuantityString ------------------------------------------------- */

static const struct {
        int64_t mant;
        int exp;
        quantity_format format;
        const char *expect, *alternate;
} string_table[] = {
        {1024 * 1024 * 1024, 0, BIN, "1Gi", "1024Mi"},
        {300 * 1024 * 1024, 0, BIN, "300Mi", "307200Ki"},
        {6 * 1024, 0, BIN, "6Ki", NULL},
        {1001LL * 1024 * 1024 * 1024, 0, BIN, "1001Gi", "1025024Mi"},
        {1024LL * 1024 * 1024 * 1024, 0, BIN, "1Ti", "1024Gi"},
        {5, 0, BIN, "5", "5000m"},
        {500, -3, BIN, "500m", "0.5"},
        {1, 9, DSI, "1G", "1000M"},
        {1000, 6, DSI, "1G", "0.001T"},
        {1000000, 3, DSI, "1G", NULL},
        {1000000000, 0, DSI, "1G", NULL},
        {1, -3, DSI, "1m", "1000u"},
        {80, -3, DSI, "80m", NULL},
        {1080, -3, DSI, "1080m", "1.08"},
        {108, -2, DSI, "1080m", "1080000000n"},
        {10800, -4, DSI, "1080m", NULL},
        {300, 6, DSI, "300M", NULL},
        {1, 12, DSI, "1T", NULL},
        {1, 18, DSI, "1E", NULL},
        {1, 21, DSI, "1e21", "1000E"},
        {5, 21, DSI, "5e21", "5000E"},
        {1, 24, DSI, "1e24", "1000000E"},
        {1234567, 6, DSI, "1234567M", NULL},
        {1234567, -3, BIN, "1234567m", NULL},
        {3, 3, DSI, "3k", NULL},
        {1025, 0, BIN, "1025", NULL},
        {0, 0, DSI, "0", NULL},
        {0, 0, BIN, "0", NULL},
        {1, 9, DEX, "1e9", ".001e12"},
        {1, -3, DEX, "1e-3", "0.001e0"},
        {1, -9, DEX, "1e-9", "1000e-12"},
        {80, -3, DEX, "80e-3", NULL},
        {300, 6, DEX, "300e6", NULL},
        {1, 12, DEX, "1e12", NULL},
        {1, 3, DEX, "1e3", NULL},
        {3, 3, DEX, "3e3", NULL},
        {3, 3, DSI, "3k", NULL},
        {0, 0, DEX, "0", "00"},
        {1, -9, DSI, "1n", NULL},
        {80, -9, DSI, "80n", NULL},
        {1080, -9, DSI, "1080n", NULL},
        {108, -8, DSI, "1080n", NULL},
        {10800, -10, DSI, "1080n", NULL},
        {1, -6, DSI, "1u", NULL},
        {80, -6, DSI, "80u", NULL},
        {1080, -6, DSI, "1080u", NULL},
};

TEST(quantity_format_string_table) {
        for (size_t i = 0; i < ELEMENTSOF(string_table); i++) {
                pod_quantity q = mk(string_table[i].mant, string_table[i].exp, string_table[i].format);
                _cleanup_free_ char *s = pod_quantity_format(&q);
                CHECK_STR_EQ(s, string_table[i].expect);

                /* the expected string parses back to the same value and prints unchanged */
                pod_quantity back = parse_ok(string_table[i].expect);
                CHECK_INT_EQ(pod_quantity_cmp(&back, &q), 0);
                check_canonical(string_table[i].expect, string_table[i].expect);
                if (string_table[i].alternate)
                        check_canonical(string_table[i].alternate, string_table[i].expect);

                /* negated, it prints with a '-' (never "-0") */
                if (q.nano == 0)
                        continue;
                q.nano = -q.nano;
                _cleanup_free_ char *n = pod_quantity_format(&q);
                _cleanup_free_ char *want = nl_strdupf("-%s", string_table[i].expect);
                CHECK_STR_EQ(n, want);
        }
}

/* TestQuantityParseEmit */
TEST(quantity_format_parse_emit) {
        static const struct {
                const char *in, *expect;
        } table[] = {
                {"1Ki", "1Ki"},
                {"1Mi", "1Mi"},
                {"1Gi", "1Gi"},
                {"1024Mi", "1Gi"},
                {"1000M", "1G"},
                {".001Ki", "1024m"},
                {".000001Ki", "1024u"},
                {".000000001Ki", "1024n"},
                {".000000000001Ki", "2n"},
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                check_canonical(table[i].in, table[i].expect);
                _cleanup_free_ char *neg = nl_strdupf("-%s", table[i].in);
                _cleanup_free_ char *want = nl_strdupf("-%s", table[i].expect);
                check_canonical(neg, want);
        }
}

/* TestParseQuantity: values around the int64 boundary keep every digit. */
TEST(quantity_format_int64_boundaries) {
        static const struct {
                const char *in, *canonical; /* NULL: the input is already canonical */
        } table[] = {
                {"-999999999999999999", NULL},
                {"999999999999999999", NULL},
                {"-999999999999999999.0", "-999999999999999999"},
                {"999999999999999999.0", "999999999999999999"},
                {"-999999999999999999.1", "-999999999999999999100m"},
                {"999999999999999999.1", "999999999999999999100m"},
                {"-9999999999999999999", NULL},
                {"9999999999999999999", NULL},
                {"-1E", NULL},
                {"1E", NULL},
                {"-1000000000000000000", "-1E"},
                {"1000000000000000000", "1E"},
                {"-9999999999999999999.0", "-9999999999999999999"},
                {"9999999999999999999.0", "9999999999999999999"},
                {"-1.0E", "-1E"},
                {"1.0E", "1E"},
                {"-1000000000000000000.0", "-1E"},
                {"1000000000000000000.0", "1E"},
                {"-9999999999999999999000m", "-9999999999999999999"},
                {"9999999999999999999000m", "9999999999999999999"},
                {"-9999999999999999999.1", "-9999999999999999999100m"},
                {"9999999999999999999.1", "9999999999999999999100m"},
                {"-1.0000000000000000001E", "-1000000000000000000100m"},
                {"1.0000000000000000001E", "1000000000000000000100m"},
                {"-1000000000000000000.1", "-1000000000000000000100m"},
                {"1000000000000000000.1", "1000000000000000000100m"},
                {"-1.000000000000000001E", "-1000000000000000001"},
                {"1.000000000000000001E", "1000000000000000001"},
                {"-1000000000000000001", NULL},
                {"1000000000000000001", NULL},
                {"-10E", NULL},
                {"10E", NULL},
                {"-10000000000000000000", "-10E"},
                {"10000000000000000000", "10E"},
                {"-10.0E", "-10E"},
                {"10.0E", "10E"},
                {"-10000000000000000000.0", "-10E"},
                {"10000000000000000000.0", "10E"},
                {"-10000000000000000000000m", "-10E"},
                {"10000000000000000000000m", "10E"},
                {"-10.0000000000000000001E", "-10000000000000000000100m"},
                {"10.0000000000000000001E", "10000000000000000000100m"},
                {"-10000000000000000000.1", "-10000000000000000000100m"},
                {"10000000000000000000.1", "10000000000000000000100m"},
                {"-10.000000000000000001E", "-10000000000000000001"},
                {"10.000000000000000001E", "10000000000000000001"},
                {"-10000000000000000001", NULL},
                {"10000000000000000001", NULL},
                {"-9223372036854775809", NULL},
                {"9223372036854775806", NULL},
                {"-9223372036854775809.0", "-9223372036854775809"},
                {"9223372036854775806.0", "9223372036854775806"},
                {"-9223372036854775809000m", "-9223372036854775809"},
                {"9223372036854775806000m", "9223372036854775806"},
                {"-9223372036854775809.1", "-9223372036854775809100m"},
                {"9223372036854775806.1", "9223372036854775806100m"},
                {"-9223372036854775808", NULL},
                {"9223372036854775807", NULL},
                {"-9223372036854775808.0", "-9223372036854775808"},
                {"9223372036854775807.0", "9223372036854775807"},
                {"-9223372036854775808000m", "-9223372036854775808"},
                {"9223372036854775807000m", "9223372036854775807"},
                {"-9223372036854775808.1", "-9223372036854775808100m"},
                {"9223372036854775807.1", "9223372036854775807100m"},
                {"-9223372036854775807", NULL},
                {"9223372036854775808", NULL},
                {"-9223372036854775807.0", "-9223372036854775807"},
                {"9223372036854775808.0", "9223372036854775808"},
                {"-9223372036854775807000m", "-9223372036854775807"},
                {"9223372036854775808000m", "9223372036854775808"},
                {"-9223372036854775807.1", "-9223372036854775807100m"},
                {"9223372036854775808.1", "9223372036854775808100m"},
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                check_canonical(table[i].in, table[i].canonical ? table[i].canonical : table[i].in);
}

TEST(quantity_format_examples) {
        static const struct {
                const char *in, *expect;
        } table[] = {
                {"1000m", "1"},
                {"1.5Gi", "1536Mi"},
                {"-1.5Gi", "-1536Mi"},
                {"0.5", "500m"},
                {"1000", "1k"},
                {"1024Mi", "1Gi"},
                {"1e3", "1e3"},
                {"1E3", "1e3"},
                {"1e+3", "1e3"},
                {"100m", "100m"},
                {"0", "0"},
                {"1.5", "1500m"},
                {"0.1Ki", "102400m"},
                {"0.5Ki", "512"},
                {"1.1Ki", "1126400m"},
                {"1.5Ki", "1536"},
                {"2048Ki", "2Mi"},
                {"1025Ki", "1025Ki"},
                {"1023Ki", "1023Ki"},
                {"1.0Ki", "1Ki"},
                {"100.035Ki", "102435840m"},
                {"12e-3", "12e-3"},
                {"12E-3", "12e-3"},
                {"1.5e3", "1500"},
                {"1e0", "1"},
                {"1e-9", "1e-9"},
                {"0.5e-9", "1e-9"},
                {"+1", "1"},
                {"-0", "0"},
                {"01", "1"},
                {"1.000", "1"},
                {"1.500", "1500m"},
                {"12.345k", "12345"},
                {"0.1", "100m"},
                {"1000000000n", "1"},
                {"1000E", "1e21"},
                {"1e21", "1e21"},
                {"1024", "1024"},
                {"1024000", "1024k"},
                {"250m", "250m"},
                {"128974848", "128974848"},
                {"129e6", "129e6"},
                {"129M", "129M"},
                {"123Mi", "123Mi"},
                {"0.000000001", "1n"},
                {"1Ei", "1Ei"},
                {"7Ei", "7Ei"},
                {"1.5Ei", "1536Pi"},
                {"1023.5Ki", "1048064"},
                {"1e-3", "1e-3"},
                {"1e2", "100"},
                {"10e2", "1e3"},
                {"1e4", "10e3"},
                {"-1e-1", "-100e-3"},
                {"1e22", "10e21"},
                {"1e29", "100e27"},
                {"12345678901234567890123456789", "12345678901234567890123456789"},
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                check_canonical(table[i].in, table[i].expect);
}

/* TestNewSet, TestMilliNewSet, TestNewScaledSet: values built in code, not parsed. */
TEST(quantity_format_constructed) {
        static const struct {
                int64_t mant;
                int exp;
                quantity_format format;
                const char *expect;
        } table[] = {
                {1, 0, DSI, "1"},
                {1000, 0, DSI, "1k"},
                {1234000, 0, DSI, "1234k"},
                {1024, 0, BIN, "1Ki"},
                {1000000, 0, _QUANTITY_FORMAT_INVALID, "1e6"}, /* unknown formats print as exponents */
                {1000000, 0, (quantity_format) 42, "1e6"},
                {1024 * 1024, 0, BIN, "1Mi"},
                {1, -3, DSI, "1m"},
                {1000, -3, DSI, "1"},
                {1234000, -3, DSI, "1234"},
                {1024, -3, BIN, "1024m"},
                {1000000, -3, _QUANTITY_FORMAT_INVALID, "1e3"},
                {1024 * 1024, -3, BIN, "1048576m"},
                {1, -9, DSI, "1n"},
                {1000, -9, DSI, "1u"},
                {1, -6, DSI, "1u"},
                {1000, -6, DSI, "1m"},
                {0, -9, DSI, "0"},
                {0, 0, _QUANTITY_FORMAT_INVALID, "0"},
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                pod_quantity q = mk(table[i].mant, table[i].exp, table[i].format);
                _cleanup_free_ char *s = pod_quantity_format(&q);
                CHECK_STR_EQ(s, table[i].expect);
        }

        /* unset is zero; a hand-made binary value past the parse cap keeps its magnitude */
        pod_quantity unset = {};
        _cleanup_free_ char *z = pod_quantity_format(&unset);
        CHECK_STR_EQ(z, "0");
        pod_quantity big = {.set = true, .nano = ((i128) 1 << 70) * 1000000000, .format = BIN};
        _cleanup_free_ char *b = pod_quantity_format(&big);
        CHECK_STR_EQ(b, "1024Ei");
        const i128 max = (i128) (~(unsigned __int128) 0 >> 1);
        pod_quantity most = {.set = true, .nano = max, .format = DSI};
        _cleanup_free_ char *m = pod_quantity_format(&most);
        CHECK_STR_EQ(m, "170141183460469231731687303715884105727n");
        pod_quantity least = {.set = true, .nano = -max - 1, .format = DEX};
        _cleanup_free_ char *l = pod_quantity_format(&least);
        CHECK_STR_EQ(l, "-170141183460469231731687303715884105728e-9");
}

/* Every canonical string parses back to the same value, and is its own canonical form. */
TEST(quantity_format_round_trip) {
        static const char *const inputs[] = {
                "1.5Gi",
                "100.035Ki",
                "0.000000000001Ki",
                "1.2e3",
                "1.3E+6",
                "6.987654321G",
                "0.00000012345",
                "12E",
                "9Ei",
                "-2.5P",
                "3.001n",
                "1000E",
                "0.1Ki",
                "1e-3",
                "-1.0000000000000000001E",
                "170141183460469231731687303715884105727n",
        };
        for (size_t i = 0; i < ELEMENTSOF(inputs); i++) {
                pod_quantity q = parse_ok(inputs[i]);
                _cleanup_free_ char *s = pod_quantity_format(&q);
                CHECK(s);
                if (!s)
                        continue;
                pod_quantity back = parse_ok(s);
                if (pod_quantity_cmp(&q, &back) != 0)
                        TEST_FAIL("%s -> %s does not round-trip", inputs[i], s);
                check_canonical(s, s);
        }
}

/* ---- comparisons ---------------------------------------------------------------------------- */

TEST(quantity_cmp) {
        static const struct {
                const char *x, *y;
                int expect;
        } table[] = {
                {"0", "0", 0},
                {"100m", "50m", 1},
                {"50m", "100m", -1},
                {"10000T", "100Gi", 1},
                {"1Ki", "1024", 0},
                {"1", "1000m", 0},
                {"-1", "0", -1},
                {"1n", "0.0000000001", 0},
                {"1e3", "1k", 0},
                {"9.01", "9010m", 0},
                {"9.01", "9", 1},
                {"-9.01", "-9", -1},
                {"1Gi", "1G", 1},
                {"0Ki", "-0", 0},
                {"9Ei", "9223372036854775807", 0},
                {"9223372036854775808", "9Ei", 1},
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                pod_quantity a = parse_ok(table[i].x), b = parse_ok(table[i].y);
                int c = pod_quantity_cmp(&a, &b), d = pod_quantity_cmp(&b, &a);
                if (c != table[i].expect || d != -table[i].expect)
                        TEST_FAIL("cmp(%s, %s) = %d / %d, want %d", table[i].x, table[i].y, c, d,
                                  table[i].expect);
        }

        pod_quantity unset = {}, zero = parse_ok("0"), ten = parse_ok("10"), mten = parse_ok("-10");
        CHECK_INT_EQ(pod_quantity_cmp(&unset, &unset), 0);
        CHECK_INT_EQ(pod_quantity_cmp(&unset, &zero), 0);
        CHECK_INT_EQ(pod_quantity_cmp(&zero, &unset), 0);
        CHECK_INT_EQ(pod_quantity_cmp(&unset, &ten), -1);
        CHECK_INT_EQ(pod_quantity_cmp(&unset, &mten), 1);
        CHECK_INT_EQ(pod_quantity_cmp(&ten, &unset), 1);
        CHECK_INT_EQ(pod_quantity_cmp(&mten, &unset), -1);
}

TEST(quantity_sign) {
        pod_quantity unset = {}, q;
        CHECK(pod_quantity_is_zero(&unset));
        CHECK(!pod_quantity_is_negative(&unset));
        q = parse_ok("0");
        CHECK(pod_quantity_is_zero(&q) && !pod_quantity_is_negative(&q));
        q = parse_ok("-0Ki");
        CHECK(pod_quantity_is_zero(&q) && !pod_quantity_is_negative(&q));
        q = parse_ok("-1n");
        CHECK(!pod_quantity_is_zero(&q) && pod_quantity_is_negative(&q));
        q = parse_ok("-0.0000000000001"); /* rounds away from zero: still negative */
        CHECK(!pod_quantity_is_zero(&q) && pod_quantity_is_negative(&q));
        q = parse_ok("1n");
        CHECK(!pod_quantity_is_zero(&q) && !pod_quantity_is_negative(&q));
}

/* ---- Value() and MilliValue() --------------------------------------------------------------- */

TEST(quantity_value_and_milli) {
        static const struct {
                const char *in;
                int64_t value, milli;
        } table[] = {
                /* TestScaledValue: 1 at each scale */
                {"1n", 1, 1},
                {"1u", 1, 1},
                {"1m", 1, 1},
                {"1", 1, 1000},
                {"100", 100, 100000},
                /* TestNewSet / TestMilliNewSet round trips */
                {"1k", 1000, 1000000},
                {"1234k", 1234000, 1234000000},
                {"1Ki", 1024, 1024000},
                {"1e6", 1000000, 1000000000},
                {"1e3", 1000, 1000000},
                {"1Mi", 1048576, 1048576000},
                {"1234", 1234, 1234000},
                /* rounding up */
                {"1.5", 2, 1500},
                {"0.0001", 1, 1},
                {"1.0001", 2, 1001},
                {"250m", 1, 250},
                {"1250m", 2, 1250},
                {"0", 0, 0},
                {"0.1Ki", 103, 102400},
                /* negatives round away from zero */
                {"-1.5", -2, -1500},
                {"-0.0001", -1, -1},
                {"-250m", -1, -250},
                {"-1n", -1, -1},
                /* the int64 edges, and saturation past them */
                {"9223372036854775807", INT64_MAX, INT64_MAX},
                {"-9223372036854775808", INT64_MIN, INT64_MIN},
                {"9223372036854775808", INT64_MAX, INT64_MAX},
                {"-9223372036854775809", INT64_MIN, INT64_MIN},
                {"9223372036854775.807", 9223372036854776, INT64_MAX},
                {"9223372036854775.8071", 9223372036854776, INT64_MAX},
                {"-9223372036854775.808", -9223372036854776, INT64_MIN},
                {"9223372036854775806.5", INT64_MAX, INT64_MAX},
                {"10E", INT64_MAX, INT64_MAX},
                {"-10E", INT64_MIN, INT64_MIN},
                {"1e29", INT64_MAX, INT64_MAX},
                {"9Ei", INT64_MAX, INT64_MAX},
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                pod_quantity q = parse_ok(table[i].in);
                int64_t v = pod_quantity_value(&q), m = pod_quantity_milli_value(&q);
                if (v != table[i].value || m != table[i].milli)
                        TEST_FAIL("%s: value %" PRId64 " milli %" PRId64 ", want %" PRId64 " %" PRId64,
                                  table[i].in, v, m, table[i].value, table[i].milli);
        }
        pod_quantity unset = {};
        CHECK_INT_EQ(pod_quantity_value(&unset), 0);
        CHECK_INT_EQ(pod_quantity_milli_value(&unset), 0);
}

/* ---- downward API: resourceFieldRef with a divisor -------------------------------------- */

TEST(quantity_divide_ceil) {
        static const struct {
                const char *q, *divisor; /* divisor NULL: unset */
                int64_t expect;
        } table[] = {
                /* cpu: ceil(milli(q) / milli(divisor)) */
                {"250m", NULL, 1},
                {"250m", "1", 1},
                {"250m", "0", 1}, /* a zero divisor means 1 */
                {"1250m", "1", 2},
                {"500m", "1m", 500},
                {"1250m", "1m", 1250},
                {"3", "1m", 3000},
                {"1", "1m", 1000},
                {"0.0001", "1m", 1},
                {"1001m", "1", 2},
                /* memory, ephemeral storage, hugepages: ceil(value(q) / value(divisor)) */
                {"64Mi", "1", 67108864},
                {"64Mi", NULL, 67108864},
                {"1Gi", "1Mi", 1024},
                {"128Mi", "1Mi", 128},
                {"1.5Gi", "1Gi", 2},
                {"100M", "1Mi", 96},
                {"1G", "1Gi", 1},
                {"1", "1k", 1},
                {"1001", "1k", 2},
                {"2000", "1k", 2},
                {"2Mi", "1Mi", 2},
                {"1Ei", "1Pi", 1024},
                {"0", "1Mi", 0},
                {"1.5", "1", 2},
                /* exact where the kubelet's float64 division is not (above 2^53) */
                {"9007199254740993", "1", 9007199254740993},
                /* towards +infinity for negatives, as math.Ceil */
                {"-1.5", "1", -1},
                {"-250m", "1", 0},
                {"-2", "1", -2},
                {"1", "-1m", -1000},
                {"-1.5", "-1", 2},
                /* saturation */
                {"100E", "1m", INT64_MAX},
                {"-100E", "1m", INT64_MIN},
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                pod_quantity q = parse_ok(table[i].q), d = {};
                if (table[i].divisor)
                        d = parse_ok(table[i].divisor);
                int64_t got = pod_quantity_divide_ceil(&q, &d);
                if (got != table[i].expect)
                        TEST_FAIL("%s / %s = %" PRId64 ", want %" PRId64, table[i].q,
                                  table[i].divisor ? table[i].divisor : "(unset)", got, table[i].expect);
        }
        pod_quantity unset = {}, one = parse_ok("1");
        CHECK_INT_EQ(pod_quantity_divide_ceil(&unset, &one), 0);
        CHECK_INT_EQ(pod_quantity_divide_ceil(&unset, &unset), 0);
}
