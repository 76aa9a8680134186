/* SPDX-License-Identifier: Apache-2.0 */
/* The data-driven manifest corpus: tests/manifests/{invalid,valid}/NNN-*.yaml (or .json with a
 * sibling .expect file). Every file is one result in the closing "N passed, N failed" line.
 *
 * Expectation lines (in YAML comments, or one per line in <name>.expect for JSON manifests):
 *   # expect: <line>               an exact error line pod_validate must produce
 *   # expect-match: <pattern>      an error line where '*' matches any text (for Go %#v dumps)
 *   # expect-decode-error: <sub>   decoding must fail with an error containing <sub>
 *   # expect-json: <path> = <JSON> the defaulted pod (pod_to_json) has this value at <path>
 *   # expect-json-absent: <path>   ... and nothing at <path>
 * The set of lines produced must equal the set of expect/expect-match lines exactly; a file
 * without any of them must validate cleanly. Paths: a.b[0].c, and [key] for keys with dots.
 * Run from the repository root. MANIFEST_ONLY=<substring> restricts the files run. */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "podspec/podspec.h"
#include "tests/lib/util.h"
#include "test.h"

#define CORPUS_DIR "tests/manifests"

struct strv {
        char **v;
        size_t n;
};

static void strv_add(struct strv *s, const char *str, size_t len) {
        char **nv = realloc(s->v, (s->n + 1) * sizeof(char *));
        if (!nv)
                abort();
        s->v = nv;
        s->v[s->n] = strndup(str, len);
        if (!s->v[s->n])
                abort();
        s->n++;
}

static void strv_free(struct strv *s) {
        for (size_t i = 0; i < s->n; i++)
                free(s->v[i]);
        free(s->v);
        s->v = NULL;
        s->n = 0;
}

struct expectations {
        struct strv exact, globs, decode, json, absent;
        size_t n_directives;
};

static void expectations_free(struct expectations *e) {
        strv_free(&e->exact);
        strv_free(&e->globs);
        strv_free(&e->decode);
        strv_free(&e->json);
        strv_free(&e->absent);
}

/* Scan text for "[# ]expect...: ..." lines (the "# " is optional, for .expect files). */
static void parse_expectations(const char *text, struct expectations *e) {
        const char *p = text;
        while (*p) {
                const char *eol = strchr(p, '\n');
                size_t len = eol ? (size_t) (eol - p) : strlen(p);
                const char *l = p, *end = p + len;
                p = eol ? eol + 1 : p + len;

                while (l < end && (*l == ' ' || *l == '\t'))
                        l++;
                if (l < end && *l == '#') {
                        l++;
                        while (l < end && *l == ' ')
                                l++;
                }
                while (end > l && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
                        end--;

                static const struct {
                        const char *prefix;
                        size_t off;
                } kinds[] = {
                        /* longest prefixes first */
                        { "expect-decode-error:", offsetof(struct expectations, decode) },
                        { "expect-json-absent:", offsetof(struct expectations, absent) },
                        { "expect-match:", offsetof(struct expectations, globs) },
                        { "expect-json:", offsetof(struct expectations, json) },
                        { "expect:", offsetof(struct expectations, exact) },
                };
                for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
                        size_t pl = strlen(kinds[k].prefix);
                        if ((size_t) (end - l) >= pl && strncmp(l, kinds[k].prefix, pl) == 0) {
                                const char *v = l + pl;
                                if (v < end && *v == ' ')
                                        v++;
                                strv_add((struct strv *) ((char *) e + kinds[k].off), v,
                                         (size_t) (end - v));
                                e->n_directives++;
                                break;
                        }
                }
        }
}

/* Resolve "a.b[0].c" / "a[key.with.dots]" in j. Returns a borrowed reference or NULL. */
static json_t *json_at(json_t *j, const char *path) {
        const char *p = path;
        while (j && *p) {
                if (*p == '.') {
                        p++;
                        continue;
                }
                if (*p == '[') {
                        const char *close = strchr(p, ']');
                        if (!close)
                                return NULL;
                        char *tok = strndup(p + 1, (size_t) (close - p - 1));
                        if (!tok)
                                abort();
                        char *endp;
                        long idx = strtol(tok, &endp, 10);
                        if (json_is_array(j) && *tok && !*endp)
                                j = idx >= 0 ? json_array_get(j, (size_t) idx) : NULL;
                        else if (json_is_object(j))
                                j = json_object_get(j, tok);
                        else
                                j = NULL;
                        free(tok);
                        p = close + 1;
                        continue;
                }
                size_t n = strcspn(p, ".[");
                char *tok = strndup(p, n);
                if (!tok)
                        abort();
                j = json_is_object(j) ? json_object_get(j, tok) : NULL;
                free(tok);
                p += n;
        }
        return j;
}

/* '*' matches any run of characters; everything else is literal. */
static bool star_match(const char *pat, const char *s) {
        while (*pat) {
                if (*pat == '*') {
                        while (*pat == '*')
                                pat++;
                        if (!*pat)
                                return true;
                        for (; *s; s++)
                                if (star_match(pat, s))
                                        return true;
                        return false;
                }
                if (*pat != *s)
                        return false;
                pat++;
                s++;
        }
        return !*s;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool run_file(const char *dir, const char *name) {
        char path[4096], expect_path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        bool ok = true;
        struct expectations e = {};
        struct podspec_file *f = NULL;
        pod_error_list errs = {};
        json_t *out = NULL;
        size_t len = 0;

        char *buf = test_read_file(path, &len);
        if (!buf) {
                fprintf(stderr, "%s: cannot read\n", path);
                return false;
        }
        size_t nl = strlen(name);
        if (nl > 5 && strcmp(name + nl - 5, ".json") == 0) {
                snprintf(expect_path, sizeof(expect_path), "%s/%.*s.expect", dir, (int) (nl - 5),
                         name);
                size_t elen;
                char *ebuf = test_read_file(expect_path, &elen);
                if (ebuf) {
                        parse_expectations(ebuf, &e);
                        free(ebuf);
                }
        } else
                parse_expectations(buf, &e);

        bool is_invalid_dir = strstr(dir, "/invalid") != NULL;
        if (is_invalid_dir && e.exact.n + e.globs.n + e.decode.n == 0) {
                fprintf(stderr, "%s: invalid manifest without any expect line\n", path);
                ok = false;
                goto done;
        }

        if (podspec_parse(buf, len, &f) < 0 || !f) {
                fprintf(stderr, "%s: podspec_parse failed (OOM?)\n", path);
                ok = false;
                goto done;
        }

        /* All decode-level messages of the file. */
        struct strv decode_msgs = {};
        if (f->error)
                strv_add(&decode_msgs, f->error, strlen(f->error));
        for (size_t d = 0; d < f->n_documents; d++)
                for (size_t k = 0; k < f->documents[d].errors.n_items; k++) {
                        const char *m = f->documents[d].errors.items[k].message;
                        if (m)
                                strv_add(&decode_msgs, m, strlen(m));
                }

        if (e.decode.n > 0) {
                for (size_t k = 0; k < e.decode.n; k++) {
                        bool found = false;
                        for (size_t m = 0; m < decode_msgs.n && !found; m++)
                                found = strstr(decode_msgs.v[m], e.decode.v[k]) != NULL;
                        if (!found) {
                                fprintf(stderr, "%s: no decode error containing \"%s\"\n", path,
                                        e.decode.v[k]);
                                ok = false;
                        }
                }
                if (!ok) {
                        for (size_t m = 0; m < decode_msgs.n; m++)
                                fprintf(stderr, "    decode error: %s\n", decode_msgs.v[m]);
                        if (decode_msgs.n == 0)
                                fprintf(stderr, "    (the file decoded without errors)\n");
                }
                strv_free(&decode_msgs);
                goto done;
        }

        if (decode_msgs.n > 0 || f->n_documents != 1 || !f->documents[0].pod) {
                fprintf(stderr, "%s: expected exactly one cleanly decoded Pod (%zu documents)\n",
                        path, f->n_documents);
                for (size_t m = 0; m < decode_msgs.n; m++)
                        fprintf(stderr, "    decode error: %s\n", decode_msgs.v[m]);
                strv_free(&decode_msgs);
                ok = false;
                goto done;
        }
        strv_free(&decode_msgs);

        struct pod *pod = f->documents[0].pod;
        if (pod_set_defaults(pod) < 0) {
                fprintf(stderr, "%s: pod_set_defaults failed\n", path);
                ok = false;
                goto done;
        }
        pod_validate(pod, &errs);

        /* Compare the sets: exact lines first, then globs over what is left. */
        size_t na = errs.n_items;
        bool *used = calloc(na + 1, sizeof(bool));
        bool *exact_hit = calloc(e.exact.n + 1, sizeof(bool));
        bool *glob_hit = calloc(e.globs.n + 1, sizeof(bool));
        if (!used || !exact_hit || !glob_hit)
                abort();
        for (size_t a = 0; a < na; a++) {
                const char *m = errs.items[a].message ? errs.items[a].message : "(null)";
                for (size_t x = 0; x < e.exact.n; x++)
                        if (strcmp(m, e.exact.v[x]) == 0) {
                                used[a] = true;
                                exact_hit[x] = true;
                        }
        }
        for (size_t a = 0; a < na; a++) {
                if (used[a])
                        continue;
                const char *m = errs.items[a].message ? errs.items[a].message : "(null)";
                for (size_t g = 0; g < e.globs.n; g++)
                        if (star_match(e.globs.v[g], m)) {
                                used[a] = true;
                                glob_hit[g] = true;
                        }
        }
        struct strv missing = {}, unexpected = {};
        for (size_t x = 0; x < e.exact.n; x++)
                if (!exact_hit[x])
                        strv_add(&missing, e.exact.v[x], strlen(e.exact.v[x]));
        for (size_t g = 0; g < e.globs.n; g++)
                if (!glob_hit[g])
                        strv_add(&missing, e.globs.v[g], strlen(e.globs.v[g]));
        for (size_t a = 0; a < na; a++)
                if (!used[a]) {
                        const char *m = errs.items[a].message ? errs.items[a].message : "(null)";
                        strv_add(&unexpected, m, strlen(m));
                }
        free(used);
        free(exact_hit);
        free(glob_hit);
        if (missing.n || unexpected.n) {
                ok = false;
                qsort(missing.v, missing.n, sizeof(char *), cmp_str);
                qsort(unexpected.v, unexpected.n, sizeof(char *), cmp_str);
                fprintf(stderr, "%s: validation mismatch\n", path);
                for (size_t k = 0; k < missing.n; k++)
                        fprintf(stderr, "    missing:    %s\n", missing.v[k]);
                for (size_t k = 0; k < unexpected.n; k++)
                        fprintf(stderr, "    unexpected: %s\n", unexpected.v[k]);
        }
        strv_free(&missing);
        strv_free(&unexpected);

        if (e.json.n + e.absent.n > 0) {
                out = pod_to_json(pod);
                if (!out) {
                        fprintf(stderr, "%s: pod_to_json failed\n", path);
                        ok = false;
                        goto done;
                }
        }
        for (size_t k = 0; k < e.json.n; k++) {
                const char *line = e.json.v[k];
                const char *eq = strstr(line, " = ");
                if (!eq) {
                        fprintf(stderr, "%s: malformed expect-json line: %s\n", path, line);
                        ok = false;
                        continue;
                }
                char *jpath = strndup(line, (size_t) (eq - line));
                if (!jpath)
                        abort();
                json_error_t jerr;
                json_t *want = json_loads(eq + 3, JSON_DECODE_ANY, &jerr);
                json_t *got = json_at(out, jpath);
                if (!want) {
                        fprintf(stderr, "%s: bad JSON in expect-json %s: %s\n", path, jpath,
                                jerr.text);
                        ok = false;
                } else if (!got || !json_equal(want, got)) {
                        char *gs = got ? json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
                        fprintf(stderr, "%s: %s: want %s, got %s\n", path, jpath, eq + 3,
                                gs ? gs : "(absent)");
                        free(gs);
                        ok = false;
                }
                json_decref(want);
                free(jpath);
        }
        for (size_t k = 0; k < e.absent.n; k++) {
                json_t *got = json_at(out, e.absent.v[k]);
                if (got) {
                        char *gs = json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT);
                        fprintf(stderr, "%s: %s: want absent, got %s\n", path, e.absent.v[k],
                                gs ? gs : "?");
                        free(gs);
                        ok = false;
                }
        }

done:
        json_decref(out);
        pod_error_list_done(&errs);
        podspec_file_free(f);
        expectations_free(&e);
        free(buf);
        return ok;
}

static int is_manifest(const struct dirent *d) {
        size_t n = strlen(d->d_name);
        if (d->d_name[0] == '.')
                return 0;
        return (n > 5 && strcmp(d->d_name + n - 5, ".yaml") == 0) ||
               (n > 4 && strcmp(d->d_name + n - 4, ".yml") == 0) ||
               (n > 5 && strcmp(d->d_name + n - 5, ".json") == 0);
}

static size_t run_dir(const char *dir) {
        struct dirent **list = NULL;
        int n = scandir(dir, &list, is_manifest, alphasort);
        if (n < 0) {
                fprintf(stderr, "%s: cannot list (run from the repository root)\n", dir);
                return 0;
        }
        const char *only = getenv("MANIFEST_ONLY");
        size_t ran = 0;
        for (int i = 0; i < n; i++) {
                char name[4096];
                snprintf(name, sizeof(name), "%s/%s", dir, list[i]->d_name);
                if (!only || strstr(name, only)) {
                        test_add_result(name, run_file(dir, list[i]->d_name));
                        ran++;
                }
                free(list[i]);
        }
        free(list);
        return ran;
}

TEST(manifest_corpus) {
        size_t ran = run_dir(CORPUS_DIR "/invalid");
        ran += run_dir(CORPUS_DIR "/valid");
        if (ran == 0 && !getenv("MANIFEST_ONLY"))
                TEST_FAIL("no manifests found under %s", CORPUS_DIR);
}
