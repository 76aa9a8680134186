/* yaml2json: one YAML document on stdin (or FILE) -> compact JSON on stdout.
 *
 * The conformance runner reads its scenario files with this (Debian 12 has no yq that
 * does not need python). libyaml parses, jansson writes. Scalars follow the YAML 1.2 core
 * schema: quoted scalars are strings; plain ones are null (null, ~, empty), true/false,
 * integers, floats, or strings. Anchors, aliases, tags and several documents are refused.
 *
 * Build: cc -O2 -o yaml2json yaml2json.c $(pkg-config --cflags --libs yaml-0.1 jansson)
 */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <yaml.h>

static const char *path = "<stdin>";

static void die(const char *what, const yaml_parser_t *p)
{
        if (p)
                fprintf(stderr, "yaml2json: %s:%zu:%zu: %s%s%s\n", path, p->problem_mark.line + 1,
                        p->problem_mark.column + 1, what, p->problem ? ": " : "",
                        p->problem ? p->problem : "");
        else
                fprintf(stderr, "yaml2json: %s: %s\n", path, what);
        exit(1);
}

static int matches(const char *re, const char *s)
{
        regex_t r;
        int ok;

        if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB))
                return 0;
        ok = regexec(&r, s, 0, NULL, 0) == 0;
        regfree(&r);
        return ok;
}

static json_t *scalar(const yaml_event_t *ev)
{
        const char *v = (const char *) ev->data.scalar.value;
        size_t len = ev->data.scalar.length;

        if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
                return json_stringn(v, len);
        if (len == 0 || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL"))
                return json_null();
        if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE"))
                return json_true();
        if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE"))
                return json_false();
        if (matches("^[-+]?[0-9]+$", v)) {
                errno = 0;
                long long n = strtoll(v, NULL, 10);
                if (!errno)
                        return json_integer(n);
        }
        if (matches("^[-+]?([0-9]+\\.[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?$", v) ||
            matches("^[-+]?[0-9]+[eE][-+]?[0-9]+$", v))
                return json_real(strtod(v, NULL));
        return json_stringn(v, len);
}

static void next(yaml_parser_t *p, yaml_event_t *ev)
{
        if (!yaml_parser_parse(p, ev))
                die("parse error", p);
        if (ev->type == YAML_ALIAS_EVENT)
                die("aliases are not supported", NULL);
}

/* Builds the node that starts with ev (already read); consumes its events. */
static json_t *node(yaml_parser_t *p, yaml_event_t *ev)
{
        json_t *out;
        yaml_event_t e;

        switch (ev->type) {
        case YAML_SCALAR_EVENT:
                out = scalar(ev);
                break;
        case YAML_SEQUENCE_START_EVENT:
                out = json_array();
                for (;;) {
                        next(p, &e);
                        if (e.type == YAML_SEQUENCE_END_EVENT) {
                                yaml_event_delete(&e);
                                break;
                        }
                        json_array_append_new(out, node(p, &e));
                }
                break;
        case YAML_MAPPING_START_EVENT:
                out = json_object();
                for (;;) {
                        next(p, &e);
                        if (e.type == YAML_MAPPING_END_EVENT) {
                                yaml_event_delete(&e);
                                break;
                        }
                        if (e.type != YAML_SCALAR_EVENT)
                                die("mapping keys must be scalars", NULL);
                        char *key = strndup((const char *) e.data.scalar.value, e.data.scalar.length);
                        yaml_event_delete(&e);
                        if (json_object_get(out, key)) {
                                fprintf(stderr, "yaml2json: %s: duplicate key %s\n", path, key);
                                exit(1);
                        }
                        next(p, &e);
                        json_object_set_new(out, key, node(p, &e));
                        free(key);
                }
                break;
        default:
                die("unexpected event", NULL);
                return NULL;
        }
        yaml_event_delete(ev);
        return out;
}

int main(int argc, char **argv)
{
        FILE *in = stdin;
        yaml_parser_t p;
        yaml_event_t ev;
        json_t *doc = NULL;

        if (argc > 2 || (argc == 2 && argv[1][0] == '-' && argv[1][1])) {
                fprintf(stderr, "usage: yaml2json [FILE]\n");
                return 2;
        }
        if (argc == 2 && strcmp(argv[1], "-")) {
                path = argv[1];
                if (!(in = fopen(path, "r"))) {
                        perror(path);
                        return 1;
                }
        }
        yaml_parser_initialize(&p);
        yaml_parser_set_input_file(&p, in);
        for (;;) {
                next(&p, &ev);
                yaml_event_type_t t = ev.type;
                if (t == YAML_STREAM_END_EVENT) {
                        yaml_event_delete(&ev);
                        break;
                }
                if (t == YAML_DOCUMENT_START_EVENT) {
                        yaml_event_delete(&ev);
                        if (doc)
                                die("only one document is allowed", NULL);
                        next(&p, &ev);
                        doc = node(&p, &ev);
                        continue;
                }
                yaml_event_delete(&ev);
        }
        yaml_parser_delete(&p);
        if (!doc)
                die("no document", NULL);
        if (json_dumpf(doc, stdout, JSON_COMPACT | JSON_ENCODE_ANY) || fputc('\n', stdout) == EOF)
                return 1;
        json_decref(doc);
        return 0;
}
