/* SPDX-License-Identifier: Apache-2.0 */
/* Image references, normalized as the kubelet and containerd do with
 * github.com/distribution/reference: ParseNormalizedNamed, then TagNameOnly.
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain "/" ] path
 *   domain     := host [ ":" port ]         host: domain-name | "[" ipv6 "]"
 *   path       := component *( "/" component )
 *   component  := [a-z0-9]+ *( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )
 *   tag        := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
 *
 * The first component is a domain when it contains '.' or ':', is "localhost", or has an
 * uppercase letter (uppercase is never valid in a path, so upstream reads it as a host); else the
 * domain is docker.io. "index.docker.io" is docker.io, and a single-component path on docker.io
 * gains "library/". */
#include <stdio.h>

#include "image.h"

#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DEFAULT_DOMAIN "index.docker.io"
#define OFFICIAL_REPO_PREFIX "library/"
#define DEFAULT_TAG "latest"

/* As upstream's RepositoryNameTotalLengthMax; since v0.6.0 it bounds the path, not the domain. */
#define REF_PATH_MAX 255
#define REF_TAG_MAX 128
/* Not an upstream limit: a bound on what we copy and print. Paths (255), tags (128), digests
 * (71) and any sane host name fit many times over. */
#define REF_INPUT_MAX 4096
/* How much of a bad reference an error message quotes. */
#define REF_QUOTE_MAX 300

static bool is_lower_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c) {
        return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool is_word(char c) {
        return is_alnum(c) || c == '_';
}

static bool is_hex_lower(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool is_hex(char c) {
        return is_hex_lower(c) || (c >= 'A' && c <= 'F');
}

static bool has_upper(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (s[i] >= 'A' && s[i] <= 'Z')
                        return true;
        return false;
}

/* One path component: alphanumeric runs joined by ".", "_", "__" or any number of "-". With
 * fold, uppercase letters count as alphanumeric (to tell "must be lowercase" from bad syntax). */
static bool path_component_valid(const char *s, size_t n, bool fold) {
        size_t i = 0;

        for (;;) {
                size_t run = 0;
                while (i < n && (fold ? is_alnum(s[i]) : is_lower_alnum(s[i]))) {
                        i++;
                        run++;
                }
                if (run == 0)
                        return false;
                if (i == n)
                        return true;
                if (s[i] == '.')
                        i++;
                else if (s[i] == '_')
                        i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
                else if (s[i] == '-')
                        while (i < n && s[i] == '-')
                                i++;
                else
                        return false;
        }
}

static bool path_valid(const char *s, size_t n, bool fold) {
        size_t start = 0;

        for (size_t i = 0; i <= n; i++) {
                if (i < n && s[i] != '/')
                        continue;
                if (!path_component_valid(s + start, i - start, fold))
                        return false;
                start = i + 1;
        }
        return true;
}

/* [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool domain_component_valid(const char *s, size_t n) {
        if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(s[i]) && s[i] != '-')
                        return false;
        return true;
}

/* host [":" port], host a domain name or a bracketed IPv6 address (no zone). */
static bool domain_valid(const char *s, size_t n) {
        size_t host_end;

        if (n == 0)
                return false;
        if (s[0] == '[') {
                const char *close = memchr(s, ']', n);
                if (!close || close == s + 1)
                        return false;
                for (const char *p = s + 1; p < close; p++)
                        if (!is_hex(*p) && *p != ':')
                                return false;
                host_end = (size_t) (close - s) + 1;
        } else {
                const char *colon = memchr(s, ':', n);
                size_t start = 0;
                host_end = colon ? (size_t) (colon - s) : n;
                for (size_t i = 0; i <= host_end; i++) {
                        if (i < host_end && s[i] != '.')
                                continue;
                        if (!domain_component_valid(s + start, i - start))
                                return false;
                        start = i + 1;
                }
        }
        if (host_end == n)
                return true;
        if (s[host_end] != ':' || host_end + 1 == n)
                return false;
        for (size_t i = host_end + 1; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

static bool tag_valid(const char *s, size_t n) {
        if (n == 0 || n > REF_TAG_MAX || !is_word(s[0]))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!is_word(s[i]) && s[i] != '.' && s[i] != '-')
                        return false;
        return true;
}

/* The general digest grammar upstream matches before it looks at the algorithm:
 * [A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)* ":" [0-9a-fA-F]{32,}. Returns the length of
 * the algorithm, or 0 when the string is not digest-shaped. */
static size_t digest_shape(const char *s, size_t n) {
        size_t i = 0;

        for (;;) {
                if (i >= n || !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
                        return 0;
                while (i < n && is_alnum(s[i]))
                        i++;
                if (i < n && (s[i] == '-' || s[i] == '_' || s[i] == '+' || s[i] == '.')) {
                        i++;
                        continue;
                }
                break;
        }
        if (i >= n || s[i] != ':' || n - i - 1 < 32)
                return 0;
        for (size_t k = i + 1; k < n; k++)
                if (!is_hex(s[k]))
                        return 0;
        return i;
}

_printf_(3, 4) static int ref_error(nl_error *err, const char *s, const char *fmt, ...) {
        _cleanup_free_ char *q = nl_quote(s, REF_QUOTE_MAX, true);
        _cleanup_free_ char *why = NL_FORMAT_VA(fmt);
        return nl_error_set(err, -EINVAL, "invalid image reference \"%s\": %s", strempty(q),
                            why ? why : "invalid reference format");
}

static bool is_identifier(const char *s, size_t n) {
        if (n != 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_hex_lower(s[i]))
                        return false;
        return true;
}

int image_ref_parse(const char *s, struct image_ref *ret, nl_error *err) {
        _cleanup_free_ char *domain = NULL, *path = NULL, *tag = NULL, *digest = NULL;
        const char *at, *name_end, *slash, *colon, *last_slash, *first_slash;
        size_t n, name_len, domain_len;
        const char *rest; /* the name without its domain */

        if (!s || !*s)
                return ref_error(err, "", "repository name must have at least one component");
        n = strnlen(s, REF_INPUT_MAX + 1);
        if (n > REF_INPUT_MAX)
                return ref_error(err, s, "reference is longer than %u characters", REF_INPUT_MAX);
        if (is_identifier(s, n))
                return ref_error(err, s, "cannot specify 64-byte hexadecimal strings");

        /* "@" starts the digest: no other part may contain one. */
        at = strchr(s, '@');
        name_end = at ? at : s + n;
        if (at) {
                const char *d = at + 1;
                size_t dn = strlen(d);
                size_t alg = digest_shape(d, dn);
                if (alg == 0)
                        return ref_error(err, s, "invalid digest format \"%.*s\"",
                                         (int) (dn > 100 ? 100 : dn), d);
                if (alg != 6 || memcmp(d, "sha256", 6) != 0)
                        return ref_error(err, s,
                                         "unsupported digest algorithm \"%.*s\" (only sha256 is supported)",
                                         (int) (alg > 32 ? 32 : alg), d);
                if (!digest_is_valid(d))
                        return ref_error(err, s,
                                         "invalid digest: want \"sha256:\" and 64 lowercase hex digits");
                digest = strdup(d);
                if (!digest)
                        return nl_error_set(err, -ENOMEM, "out of memory");
        }

        /* A ":" after the last "/" starts the tag; earlier ones belong to the domain's port. */
        last_slash = memrchr(s, '/', (size_t) (name_end - s));
        colon = memrchr(last_slash ? last_slash : s, ':',
                        (size_t) (name_end - (last_slash ? last_slash : s)));
        if (colon) {
                const char *t = colon + 1;
                if (!tag_valid(t, (size_t) (name_end - t)))
                        return ref_error(
                                err, s,
                                "invalid tag \"%.*s\": up to 128 of [A-Za-z0-9_.-], not starting with '.' "
                                "or '-'",
                                (int) ((size_t) (name_end - t) > 140 ? 140 : (size_t) (name_end - t)), t);
                tag = strndup(t, (size_t) (name_end - t));
                if (!tag)
                        return nl_error_set(err, -ENOMEM, "out of memory");
                name_end = colon;
        }
        name_len = (size_t) (name_end - s);
        if (name_len == 0)
                return ref_error(err, s, "repository name must have at least one component");

        /* Split off the domain as upstream's splitDockerDomain does. */
        first_slash = memchr(s, '/', name_len);
        if (!first_slash) {
                domain = strdup(DEFAULT_DOMAIN);
                rest = s;
        } else {
                domain_len = (size_t) (first_slash - s);
                if ((domain_len == strlen("localhost") && memcmp(s, "localhost", domain_len) == 0) ||
                    memchr(s, '.', domain_len) || memchr(s, ':', domain_len) || has_upper(s, domain_len)) {
                        if (domain_len == strlen(LEGACY_DEFAULT_DOMAIN) &&
                            memcmp(s, LEGACY_DEFAULT_DOMAIN, domain_len) == 0)
                                domain = strdup(DEFAULT_DOMAIN);
                        else
                                domain = strndup(s, domain_len);
                        rest = first_slash + 1;
                } else {
                        domain = strdup(DEFAULT_DOMAIN);
                        rest = s;
                }
        }
        if (!domain)
                return nl_error_set(err, -ENOMEM, "out of memory");
        if (!domain_valid(domain, strlen(domain)))
                return ref_error(err, s, "invalid registry host \"%.*s\"",
                                 (int) (strlen(domain) > 260 ? 260 : strlen(domain)), domain);

        slash = memchr(rest, '/', (size_t) (name_end - rest));
        if (streq(domain, DEFAULT_DOMAIN) && !slash)
                path = nl_strdupf("%s%.*s", OFFICIAL_REPO_PREFIX, (int) (name_end - rest), rest);
        else
                path = strndup(rest, (size_t) (name_end - rest));
        if (!path)
                return nl_error_set(err, -ENOMEM, "out of memory");

        if (!path_valid(path, strlen(path), false)) {
                if (has_upper(path, strlen(path)) && path_valid(path, strlen(path), true))
                        return ref_error(err, s, "repository name must be lowercase");
                return ref_error(err, s, "invalid reference format");
        }
        if (strlen(path) > REF_PATH_MAX)
                return ref_error(err, s, "repository name must not be more than %d characters",
                                 REF_PATH_MAX);

        /* TagNameOnly: neither tag nor digest means "latest". */
        if (!tag && !digest) {
                tag = strdup(DEFAULT_TAG);
                if (!tag)
                        return nl_error_set(err, -ENOMEM, "out of memory");
        }

        *ret = (struct image_ref){
                .domain = TAKE_PTR(domain),
                .path = TAKE_PTR(path),
                .tag = TAKE_PTR(tag),
                .digest = TAKE_PTR(digest),
        };
        return 0;
}

char *image_ref_repository(const struct image_ref *r) {
        if (!r || !r->domain || !r->path)
                return NULL;
        return nl_strdupf("%s/%s", r->domain, r->path);
}

char *image_ref_string(const struct image_ref *r) {
        if (!r || !r->domain || !r->path)
                return NULL;
        return nl_strdupf("%s/%s%s%s%s%s", r->domain, r->path, r->tag ? ":" : "", strempty(r->tag),
                          r->digest ? "@" : "", strempty(r->digest));
}

void image_ref_done(struct image_ref *r) {
        if (!r)
                return;
        free(r->domain);
        free(r->path);
        free(r->tag);
        free(r->digest);
        *r = (struct image_ref){};
}
