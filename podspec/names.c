/* SPDX-License-Identifier: Apache-2.0 */
/* Name and value checks of k8s.io/apimachinery/pkg/util/validation, returning the same
 * messages: each check fills msgs[] with static strings and returns how many. */
#include <arpa/inet.h>
#include <ctype.h>

#include "names.h"

#define DNS1123_LABEL_MSG                                                                                    \
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "    \
        "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "       \
        "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
#define DNS1123_SUBDOMAIN_MSG                                                                                \
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and " \
        "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation "  \
        "is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define QUALIFIED_NAME_MSG                                                                                   \
        "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "           \
        "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is " \
        "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define LABEL_VALUE_MSG                                                                                      \
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and " \
        "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "   \
        "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

static bool is_lower_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c) {
        return isalnum((unsigned char) c);
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? over s[0..n) */
static bool match_label(const char *s, size_t n) {
        if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_lower_alnum(s[i]) && s[i] != '-')
                        return false;
        return true;
}

static bool match_subdomain(const char *s, size_t n) {
        size_t start = 0;
        for (size_t i = 0; i <= n; i++)
                if (i == n || s[i] == '.') {
                        if (!match_label(s + start, i - start))
                                return false;
                        start = i + 1;
                }
        return true;
}

size_t names_dns1123_label(const char *s, const char **msgs) {
        size_t k = 0, n = strlen(s);
        if (n > 63)
                msgs[k++] = "must be no more than 63 characters";
        if (!match_label(s, n))
                /* a valid subdomain fails only for its dots: say just that */
                msgs[k++] = match_subdomain(s, n) ? "must not contain dots" : DNS1123_LABEL_MSG;
        return k;
}

size_t names_dns1123_subdomain(const char *s, const char **msgs) {
        size_t k = 0, n = strlen(s);
        if (n > 253)
                msgs[k++] = "must be no more than 253 characters";
        if (!match_subdomain(s, n))
                msgs[k++] = DNS1123_SUBDOMAIN_MSG;
        return k;
}

const char *podspec_qualified_name_error(const char *s) {
        const char *m[NAMES_MAX_MSGS];
        return names_qualified_name(s, m) > 0 ? m[0] : NULL;
}

const char *podspec_label_value_error(const char *s) {
        const char *m[NAMES_MAX_MSGS];
        return names_label_value(s, m) > 0 ? m[0] : NULL;
}

bool podspec_is_dns1123_label(const char *s) {
        const char *m[NAMES_MAX_MSGS];
        return s && names_dns1123_label(s, m) == 0;
}

bool podspec_is_dns1123_subdomain(const char *s) {
        const char *m[NAMES_MAX_MSGS];
        return s && names_dns1123_subdomain(s, m) == 0;
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] */
static bool match_qualified_part(const char *s, size_t n) {
        if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
                        return false;
        return true;
}

size_t names_qualified_name(const char *s, const char **msgs) {
        size_t k = 0;
        const char *slash = strchr(s, '/');
        const char *name = s;

        if (slash && strchr(slash + 1, '/')) {
                msgs[k++] = "a valid label key " QUALIFIED_NAME_MSG " with an optional DNS subdomain prefix "
                            "and '/' (e.g. 'example.com/MyName')";
                return k;
        }
        if (slash) {
                size_t plen = (size_t) (slash - s);
                name = slash + 1;
                if (plen == 0)
                        msgs[k++] = "prefix part must be non-empty";
                else {
                        if (plen > 253)
                                msgs[k++] = "prefix part must be no more than 253 characters";
                        if (!match_subdomain(s, plen))
                                msgs[k++] = "prefix part " DNS1123_SUBDOMAIN_MSG;
                }
        }
        size_t n = strlen(name);
        if (n == 0)
                msgs[k++] = "name part must be non-empty";
        else if (n > 63)
                msgs[k++] = "name part must be no more than 63 characters";
        if (n > 0 && !match_qualified_part(name, n))
                msgs[k++] = "name part " QUALIFIED_NAME_MSG;
        return k;
}

size_t names_label_value(const char *s, const char **msgs) {
        size_t k = 0, n = strlen(s);
        if (n > 63)
                msgs[k++] = "must be no more than 63 characters";
        if (n > 0 && !match_qualified_part(s, n))
                msgs[k++] = LABEL_VALUE_MSG;
        return k;
}

size_t names_port_name(const char *s, const char **msgs) {
        size_t k = 0, n = strlen(s);
        bool letter = false, bad = false;
        if (n > 15)
                msgs[k++] = "must be no more than 15 characters";
        for (size_t i = 0; i < n; i++) {
                if (s[i] >= 'a' && s[i] <= 'z')
                        letter = true;
                else if (!(s[i] >= '0' && s[i] <= '9') && s[i] != '-')
                        bad = true;
        }
        if (bad)
                msgs[k++] = "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)";
        if (!letter)
                msgs[k++] = "must contain at least one letter (a-z)";
        if (strstr(s, "--"))
                msgs[k++] = "must not contain consecutive hyphens";
        if (n > 0 && (s[0] == '-' || s[n - 1] == '-'))
                msgs[k++] = "must not begin or end with a hyphen";
        return k;
}

size_t names_env_var_name(const char *s, const char **msgs) {
        /* RelaxedEnvironmentVariableValidation (GA): any printable ASCII but '='. */
        size_t k = 0;
        for (const char *p = s; *p; p++)
                if (*p < 0x20 || *p > 0x7e || *p == '=') {
                        msgs[k++] = "a valid environment variable name must consist only of printable ASCII "
                                    "characters other than '='";
                        break;
                }
        return k;
}

size_t names_config_map_key(const char *s, const char **msgs) {
        size_t k = 0, n = strlen(s);
        bool bad = n == 0;
        if (n > 253)
                msgs[k++] = "must be no more than 253 characters";
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
                        bad = true;
        if (bad)
                msgs[k++] = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
                            "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
                            "'[-._a-zA-Z0-9]+')";
        if (streq(s, "."))
                msgs[k++] = "must not be '.'";
        else if (streq(s, ".."))
                msgs[k++] = "must not be '..'";
        else if (strncmp(s, "..", 2) == 0)
                msgs[k++] = "must not start with '..'";
        return k;
}

bool names_is_ip(const char *s) {
        unsigned char buf[sizeof(struct in6_addr)];
        return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$, at most 253 */
bool names_is_sysctl_name(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 253)
                return false;
        size_t start = 0;
        for (size_t i = 0; i <= n; i++) {
                if (i < n && s[i] != '.' && s[i] != '/')
                        continue;
                size_t len = i - start;
                const char *seg = s + start;
                if (len == 0 || !is_lower_alnum(seg[0]) || !is_lower_alnum(seg[len - 1]))
                        return false;
                for (size_t j = 0; j < len; j++)
                        if (!is_lower_alnum(seg[j]) && seg[j] != '-' && seg[j] != '_')
                                return false;
                start = i + 1;
        }
        return true;
}
