/* SPDX-License-Identifier: Apache-2.0 */
/* Resource quantities, as k8s.io/apimachinery's resource.Quantity: the same grammar, the same
 * rounding and the same canonical string form, so a value the API server accepted reads the
 * same here and prints the same in anything we report.
 *
 * The value is exact in nano-units (value * 10^9) in an __int128. A parsed value with digits
 * below 1n is rounded away from zero to the next nano-unit, as ParseQuantity does: it rounds
 * the magnitude up and then applies the sign, so "0.1n" is 1n and "-0.1n" is -1n. Magnitudes
 * beyond 2^127-1 nano-units (about 1.7e29) are -ERANGE; the apimachinery keeps those exactly,
 * but nothing a node deals in comes near. */

#include <limits.h>

#include "podspec.h"

typedef unsigned __int128 u128;
typedef __int128 i128;

#define NANO_PER_UNIT 1000000000
#define U128_MAX (~(u128) 0)
#define I128_MAX ((i128) (U128_MAX >> 1))

/* ParseQuantity silently caps a BinarySI magnitude at 2^63-1 units ("9Ei" reads as
 * 9223372036854775807), so binary values never overflow; decimal ones are not capped. */
#define BINARY_CAP_NANO ((u128) INT64_MAX * NANO_PER_UNIT)

/* ---- scanning ------------------------------------------------------------------------------ */

/* <sign>? <digits>? ( '.' <digits>? )? <suffix letters>* <sign>? <digits>? -- the shape the
 * apimachinery scanner accepts before it interprets the suffix. */
struct qscan {
        bool negative;
        const char *int_digits; /* before the '.', leading zeros included */
        size_t n_int;
        const char *den; /* after the '.' */
        size_t n_den;
        const char *suffix; /* to the end of the string */
};

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool is_suffix_letter(char c) {
        return c != '\0' && strchr("eEinumkKMGTP", c);
}

static int quantity_scan(const char *s, struct qscan *ret) {
        struct qscan q = {};
        const char *p = s;

        if (*p == '+' || *p == '-')
                q.negative = *p++ == '-';
        q.int_digits = p;
        while (is_digit(*p))
                p++;
        q.n_int = (size_t) (p - q.int_digits);
        q.den = p;
        if (*p == '.') {
                q.den = ++p;
                while (is_digit(*p))
                        p++;
                q.n_den = (size_t) (p - q.den);
        }
        q.suffix = p;
        while (is_suffix_letter(*p))
                p++;
        if (*p == '+' || *p == '-')
                p++;
        while (is_digit(*p))
                p++;
        if (*p != '\0')
                return -EINVAL;
        *ret = q;
        return 0;
}

struct qsuffix {
        const char *name;
        int32_t exp10;
        unsigned exp2;
        quantity_format format;
};

static const struct qsuffix suffixes[] = {
        {"", 0, 0, QUANTITY_DECIMAL_SI},   {"n", -9, 0, QUANTITY_DECIMAL_SI},
        {"u", -6, 0, QUANTITY_DECIMAL_SI}, {"m", -3, 0, QUANTITY_DECIMAL_SI},
        {"k", 3, 0, QUANTITY_DECIMAL_SI},  {"M", 6, 0, QUANTITY_DECIMAL_SI},
        {"G", 9, 0, QUANTITY_DECIMAL_SI},  {"T", 12, 0, QUANTITY_DECIMAL_SI},
        {"P", 15, 0, QUANTITY_DECIMAL_SI}, {"E", 18, 0, QUANTITY_DECIMAL_SI},
        {"Ki", 0, 10, QUANTITY_BINARY_SI}, {"Mi", 0, 20, QUANTITY_BINARY_SI},
        {"Gi", 0, 30, QUANTITY_BINARY_SI}, {"Ti", 0, 40, QUANTITY_BINARY_SI},
        {"Pi", 0, 50, QUANTITY_BINARY_SI}, {"Ei", 0, 60, QUANTITY_BINARY_SI},
};

static int suffix_interpret(const char *s, struct qsuffix *ret) {
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++)
                if (streq(s, suffixes[i].name)) {
                        *ret = suffixes[i];
                        return 0;
                }

        if ((s[0] == 'e' || s[0] == 'E') && s[1] != '\0') {
                int64_t e;
                /* The exponent is read as an int64 (anything wider is malformed) and then
                 * narrowed to int32 with wrap-around, as the apimachinery does: "1e4294967296"
                 * is 1. Odd, but it is what the API server stores. */
                if (nl_parse_int64(s + 1, INT64_MIN, INT64_MAX, &e) < 0)
                        return -EINVAL;
                *ret = (struct qsuffix){s, (int32_t) (uint32_t) (uint64_t) e, 0, QUANTITY_DECIMAL_EXPONENT};
                return 0;
        }
        return -EINVAL;
}

/* ---- exact magnitude ----------------------------------------------------------------------- */

static bool u128_mul_add(u128 *v, u128 mul, u128 add) {
        u128 r;
        if (__builtin_mul_overflow(*v, mul, &r) || __builtin_add_overflow(r, add, &r))
                return false;
        *v = r;
        return true;
}

static bool u128_shl(u128 *v, unsigned bits) {
        if (*v != 0 && (bits >= 128 || *v > (U128_MAX >> bits)))
                return false;
        if (bits < 128)
                *v <<= bits;
        return true;
}

static unsigned scan_digit(const struct qscan *q, size_t i) {
        return (unsigned) (i < q->n_int ? q->int_digits[i] : q->den[i - q->n_int]) - '0';
}

/* The digits [from, to) of the significand as an integer; false when it overflows. */
static bool digits_value(const struct qscan *q, size_t from, size_t to, u128 *ret) {
        u128 v = 0;
        for (size_t i = from; i < to; i++)
                if (!u128_mul_add(&v, 10, scan_digit(q, i)))
                        return false;
        *ret = v;
        return true;
}

/* ceil(significand * 10^exp10 * 2^exp2 * 10^9), the magnitude in nano-units rounded up.
 * false when it does not fit 128 bits. */
static bool magnitude_nano(const struct qscan *q, int64_t exp10, unsigned exp2, u128 *ret) {
        size_t n = q->n_int + q->n_den;
        int64_t s = exp10 + 9;
        u128 v;

        if (s >= 0) {
                if (!digits_value(q, 0, n, &v))
                        return false;
                for (int64_t i = 0; i < s && v != 0; i++)
                        if (!u128_mul_add(&v, 10, 0))
                                return false;
                if (!u128_shl(&v, exp2))
                        return false;
                *ret = v;
                return true;
        }

        /* Below 1n: the last t digits are a fraction f = 0.d...d of a nano-unit (with t - n
         * zeros in front when the significand is shorter). The whole part is the leading
         * digits times 2^exp2; f * 2^exp2 adds a whole part of its own and rounds up if
         * anything is left over. */
        uint64_t t = (uint64_t) -s;
        size_t split = t < n ? n - (size_t) t : 0;
        u128 carry = 0;
        bool rest = false;

        if (!digits_value(q, 0, split, &v) || !u128_shl(&v, exp2))
                return false;
        /* Multiply f by 2^exp2 digit by digit from the right; the carry out of the top is its
         * whole part. Each step stays below 11 * 2^60, far inside 128 bits. */
        for (size_t i = n; i > split; i--) {
                u128 x = ((u128) scan_digit(q, i - 1) << exp2) + carry;
                rest = rest || x % 10 != 0;
                carry = x / 10;
        }
        /* The zeros in front of a short significand only shift the carry down; once it is
         * spent they add nothing, so this runs a few dozen times at most. */
        for (uint64_t zeros = t - (n - split); zeros > 0 && carry != 0; zeros--) {
                rest = rest || carry % 10 != 0;
                carry /= 10;
        }
        if (!u128_mul_add(&v, 1, carry) || !u128_mul_add(&v, 1, rest ? 1 : 0))
                return false;
        *ret = v;
        return true;
}

/* ---- parse --------------------------------------------------------------------------------- */

int pod_quantity_parse(const char *s, pod_quantity *ret) {
        struct qscan q;
        struct qsuffix suf;
        u128 mag;
        int r;

        if (isempty(s))
                return -EINVAL;
        r = quantity_scan(s, &q);
        if (r < 0)
                return r;
        r = suffix_interpret(q.suffix, &suf);
        if (r < 0)
                return r;

        /* A number without a single digit ("", ".", "-", "m", "Ki", "e5") is zero to the
         * apimachinery when its fast path takes it, and malformed when the value goes through
         * inf.Dec, which wants a digit: an exponent below -9, or Pi and Ei. Mirror that. */
        if (q.n_int + q.n_den == 0 && (suf.exp10 < -9 || suf.exp2 >= 50))
                return -EINVAL;

        bool fits = magnitude_nano(&q, (int64_t) suf.exp10 - (int64_t) q.n_den, suf.exp2, &mag);
        quantity_format format = suf.format;
        if (format == QUANTITY_BINARY_SI) {
                if (!fits || mag > BINARY_CAP_NANO)
                        mag = BINARY_CAP_NANO;
                /* A binary value strictly between 0 and 1 has no binary spelling: it becomes
                 * DecimalSI, as ParseQuantity does (".000000000001Ki" is "2n"). */
                if (mag > 0 && mag < NANO_PER_UNIT)
                        format = QUANTITY_DECIMAL_SI;
        } else if (!fits || mag > (u128) I128_MAX)
                return -ERANGE;

        *ret = (pod_quantity){
                .set = true,
                .nano = q.negative ? -(i128) mag : (i128) mag,
                .format = format,
        };
        return 0;
}

/* ---- format -------------------------------------------------------------------------------- */

static i128 quantity_nano(const pod_quantity *q) {
        return q && q->set ? q->nano : 0;
}

static u128 i128_abs(i128 v) {
        return v < 0 ? -(u128) v : (u128) v;
}

/* Writes v in decimal ending just before *end; returns the first character. */
static char *u128_decimal(u128 v, char *end) {
        do {
                *--end = (char) ('0' + (int) (v % 10));
                v /= 10;
        } while (v != 0);
        return end;
}

static const char *decimal_si_suffix(int exp10) {
        static const char *const names[] = {"n", "u", "m", "", "k", "M", "G", "T", "P", "E"};
        if (exp10 < -9 || exp10 > 18)
                return NULL;
        return names[(exp10 + 9) / 3];
}

/* Quantity.String(): the mantissa as an integer with the largest exponent (a multiple of 3, or
 * of 1024 for BinarySI) that keeps it exact. BinarySI falls back to DecimalSI for magnitudes
 * below 1024 and for non-integers, so nothing is rounded; DecimalSI past "E" falls back to an
 * exponent ("1000E" is "1e21"), and any other format prints as DecimalExponent. */
char *pod_quantity_format(const pod_quantity *q) {
        i128 v = quantity_nano(q);
        if (v == 0)
                return strdup("0");

        u128 mag = i128_abs(v);
        quantity_format format = q->format;
        if (format != QUANTITY_DECIMAL_SI && format != QUANTITY_BINARY_SI &&
            format != QUANTITY_DECIMAL_EXPONENT)
                format = QUANTITY_DECIMAL_EXPONENT;
        if (format == QUANTITY_BINARY_SI && (mag < (u128) 1024 * NANO_PER_UNIT || mag % NANO_PER_UNIT != 0))
                format = QUANTITY_DECIMAL_SI;

        char buf[64]; /* sign, 39 digits, "e-9" at most */
        char *end = buf + sizeof(buf) - 8, *start;
        char suffix[8] = "";

        if (format == QUANTITY_BINARY_SI) {
                static const char *const names[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
                u128 units = mag / NANO_PER_UNIT;
                size_t e = 0;
                /* Parsing caps binary values far below 1024Ei; a larger hand-made value stops
                 * at Ei rather than lose its magnitude. */
                while (units % 1024 == 0 && e + 1 < ELEMENTSOF(names)) {
                        units /= 1024;
                        e++;
                }
                start = u128_decimal(units, end);
                strcpy(suffix, names[e]);
        } else {
                int e = -9;
                while (mag % 1000 == 0) {
                        mag /= 1000;
                        e += 3;
                }
                start = u128_decimal(mag, end);
                const char *si = format == QUANTITY_DECIMAL_SI ? decimal_si_suffix(e) : NULL;
                if (si)
                        strcpy(suffix, si);
                else if (e != 0) {
                        /* e is a multiple of 3 in [-9, 30]: "e" and at most three characters. */
                        char *p = suffix + sizeof(suffix) - 1;
                        *p = '\0';
                        p = u128_decimal((u128) (e < 0 ? -e : e), p);
                        if (e < 0)
                                *--p = '-';
                        *--p = 'e';
                        memmove(suffix, p, strlen(p) + 1);
                }
        }
        if (v < 0)
                *--start = '-';
        size_t len = (size_t) (end - start), slen = strlen(suffix);
        memcpy(end, suffix, slen + 1);
        return strndup(start, len + slen);
}

/* ---- arithmetic ---------------------------------------------------------------------------- */

int pod_quantity_cmp(const pod_quantity *a, const pod_quantity *b) {
        i128 x = quantity_nano(a), y = quantity_nano(b);
        return (x > y) - (x < y);
}

bool pod_quantity_is_negative(const pod_quantity *q) {
        return quantity_nano(q) < 0;
}

bool pod_quantity_is_zero(const pod_quantity *q) {
        return quantity_nano(q) == 0;
}

static int64_t saturate_int64(bool negative, u128 mag) {
        if (negative)
                return mag > (u128) INT64_MAX + 1 ? INT64_MIN : (int64_t) - (i128) mag;
        return mag > (u128) INT64_MAX ? INT64_MAX : (int64_t) mag;
}

/* v / unit rounded away from zero, as Quantity.ScaledValue() on a parsed value: -1.5 is -2.
 * (The apimachinery's inf.Dec path rounds some negative values differently; the int64 path,
 * which most parsed values take, and the method's documentation say away from zero.) */
static int64_t nano_scaled(i128 v, u128 unit) {
        u128 mag = i128_abs(v);
        return saturate_int64(v < 0, mag / unit + (mag % unit != 0));
}

int64_t pod_quantity_value(const pod_quantity *q) {
        return nano_scaled(quantity_nano(q), NANO_PER_UNIT);
}

int64_t pod_quantity_milli_value(const pod_quantity *q) {
        return nano_scaled(quantity_nano(q), NANO_PER_UNIT / 1000);
}

/* The kubelet's downward API (resourceFieldRef) gives ceil(q.MilliValue() / d.MilliValue())
 * for cpu and ceil(q.Value() / d.Value()) for memory, hugepages and ephemeral storage, in
 * float64. Validation only admits divisors that are whole multiples of the unit in question
 * (1m or 1 for cpu; 1, 1k..1E, 1Ki..1Ei otherwise), and for those rounding q first changes
 * nothing, so the exact ceil(q / d) here gives the same numbers -- without the float64 error
 * above 2^53. The ceiling is towards +infinity, as math.Ceil; saturates at the int64 range. */
int64_t pod_quantity_divide_ceil(const pod_quantity *q, const pod_quantity *divisor) {
        i128 a = quantity_nano(q), d = quantity_nano(divisor);
        if (d == 0)
                d = NANO_PER_UNIT;

        bool negative = (a < 0) != (d < 0);
        u128 ma = i128_abs(a), md = i128_abs(d);
        u128 quo = ma / md;
        /* Towards +infinity: a positive quotient with a remainder goes up, a negative one
         * truncated towards zero already did. */
        if (!negative && ma % md != 0)
                quo++;
        return saturate_int64(negative, quo);
}
