/* SPDX-License-Identifier: Apache-2.0 */
/* nodelet validate: check manifests as kube-apiserver would on create. Exit 0 when every
 * document is valid, 1 when any is not, 2 on usage or I/O errors. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <sys/stat.h>

#include "cli.h"
#include "common/fs.h"
#include "podspec/podspec.h"

enum output { OUTPUT_NONE, OUTPUT_JSON, OUTPUT_YAML };

static void usage(FILE *f) {
        fprintf(f, "Usage: nodelet validate [--strict] [-o json|yaml] FILE...\n"
                   "\n"
                   "Checks manifests (YAML or JSON; a Pod, a List or PodList, or a stream of YAML\n"
                   "documents; '-' reads stdin) as kube-apiserver does on create, after applying its\n"
                   "defaults: Pods, ConfigMaps, Secrets and PersistentVolumeClaims. Kinds that static\n"
                   "mode does not run (Service, RBAC, ...) are named as skipped, not errors.\n"
                   "Every error is printed as\n"
                   "  FILE[DOC]: FIELD: MESSAGE\n"
                   "where [DOC] is the document's index in a multi-document stream.\n"
                   "A Pod without metadata.namespace is checked in namespace \"default\".\n"
                   "\n"
                   "Options:\n"
                   "  --strict          also report fields the Pod schema does not know\n"
                   "  -o, --output FMT  print the defaulted Pods as json or yaml on stdout\n"
                   "                    (errors then go to stderr)\n"
                   "  -h, --help        show this help\n"
                   "\n"
                   "Exit status: 0 all valid, 1 some document invalid, 2 usage or I/O error.\n");
}

struct report {
        FILE *out;
        const char *file;
        bool multi_doc;
        size_t invalid;
};

static void print_errors(struct report *r, const struct podspec_document *d, const pod_error_list *l) {
        for (size_t i = 0; i < l->n_items; i++) {
                if (r->multi_doc)
                        fprintf(r->out, "%s[%zu]: %s\n", r->file, d->index, l->items[i].message);
                else
                        fprintf(r->out, "%s: %s\n", r->file, l->items[i].message);
        }
        if (l->truncated)
                fprintf(r->out, "%s: (more errors not shown)\n", r->file);
}

/* Validate one parsed document; returns true when valid. Adds the defaulted Pod to items. */
static bool check_document(struct report *r, struct podspec_document *d, bool strict, json_t *items) {
        bool ok = true;

        if (d->errors.n_items > 0) {
                print_errors(r, d, &d->errors);
                ok = false;
        }
        if (strict && d->unknown.n_items > 0) {
                print_errors(r, d, &d->unknown);
                ok = false;
        }
        /* As the API server: a document that does not decode is not validated. */
        if (!d->pod || d->errors.n_items > 0)
                return false;

        /* kubectl sends the current namespace; a static pod gets "default". */
        if (isempty(d->pod->metadata.namespace)) {
                free(d->pod->metadata.namespace);
                d->pod->metadata.namespace = strdup("default");
        }
        if (pod_set_defaults(d->pod) < 0) {
                fprintf(stderr, "nodelet: out of memory\n");
                return false;
        }
        pod_error_list errs = {};
        pod_validate(d->pod, &errs);
        if (errs.n_items > 0) {
                /* Paths of List items carry their "items[N]." prefix. */
                if (d->in_list)
                        for (size_t i = 0; i < errs.n_items; i++) {
                                char *m = nl_strdupf("items[%zu].%s", d->item, errs.items[i].message);
                                if (m) {
                                        free(errs.items[i].message);
                                        errs.items[i].message = m;
                                }
                        }
                print_errors(r, d, &errs);
                ok = false;
        }
        pod_error_list_done(&errs);
        if (ok && items)
                json_array_append_new(items, pod_to_json(d->pod));
        return ok;
}

/* A document of another kind: ConfigMaps, Secrets and PersistentVolumeClaims are checked as the
 * API server would; kinds static mode does not run are named, and are no error. */
static bool check_other(struct report *r, struct podspec_document *d, json_t *items) {
        const char *kind = json_string_value(json_object_get(d->json, "kind"));
        const char *api = json_string_value(json_object_get(d->json, "apiVersion"));
        const char *name = json_string_value(json_object_get(json_object_get(d->json, "metadata"), "name"));
        _cleanup_free_ char *q = pod_error_quote(strempty(name));
        _cleanup_free_ char *prefix = d->in_list ? nl_strdupf("items[%zu]", d->item) : strdup("");
        enum manifest_kind k = manifest_kind_of(api, kind);
        char where[64] = "";
        if (r->multi_doc)
                snprintf(where, sizeof(where), "[%zu]", d->index);

        switch (k) {
        case MANIFEST_CONFIGMAP:
        case MANIFEST_SECRET:
        case MANIFEST_PVC: {
                pod_error_list errs = {};
                manifest_validate_object(k, d->json, strempty(prefix), &errs);
                bool ok = errs.n_items == 0;
                if (!ok)
                        print_errors(r, d, &errs);
                pod_error_list_done(&errs);
                json_t *obj = NULL;
                if (ok && items && manifest_object_normalize(k, d->json, &obj) >= 0)
                        json_array_append_new(items, obj);
                return ok;
        }
        case MANIFEST_OTHER:
                fprintf(r->out, "%s%s: skipped %s %s (%s): static mode runs no such kind\n", r->file, where,
                        strempty(kind), strempty(q), strempty(api));
                return true;
        default: {
                pod_error_list errs = {};
                (void) workload_validate(k, d->json, strempty(prefix), "node", &errs);
                bool ok = errs.n_items == 0;
                if (!ok)
                        print_errors(r, d, &errs);
                pod_error_list_done(&errs);
                if (ok && items)
                        json_array_append(items, d->json);
                return ok;
        }
        }
}

/* A manifest file, or stdin for "-", up to max bytes (-EFBIG beyond); a directory is -EISDIR. */
static int read_manifest(const char *path, size_t max, char **ret, size_t *ret_len) {
        _cleanup_close_ int own = -1;
        int fd;
        if (streq(path, "-"))
                fd = STDIN_FILENO;
        else {
                own = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (own < 0)
                        return -errno;
                struct stat st;
                if (fstat(own, &st) < 0)
                        return -errno;
                if (S_ISDIR(st.st_mode))
                        return -EISDIR;
                fd = own;
        }
        return nl_read_fd(fd, max, ret, ret_len);
}

static int validate_file(const char *path, bool strict, enum output output, json_t *items, size_t *n_pods,
                         size_t *n_invalid) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r = read_manifest(path, PODSPEC_MAX_INPUT_BYTES, &buf, &len);
        if (r == -EFBIG) {
                printf("%s: file is larger than the %u bytes a manifest may have\n", path, PODSPEC_MAX_INPUT_BYTES);
                (*n_pods)++; /* the file counts as one document: "1 of 1 documents invalid" */
                (*n_invalid)++;
                return 0;
        }
        if (r < 0) {
                fprintf(stderr, "nodelet: %s: %s\n", path, strerror(-r));
                return r;
        }

        struct podspec_file *f = NULL;
        if (podspec_parse_flags(buf, len, PODSPEC_PARSE_ANY_KIND, &f) < 0) {
                fprintf(stderr, "nodelet: %s: out of memory\n", path);
                return -ENOMEM;
        }
        struct report rep = { .out = output == OUTPUT_NONE ? stdout : stderr, .file = path };
        size_t max_index = 0;
        for (size_t i = 0; i < f->n_documents; i++)
                if (f->documents[i].index > max_index)
                        max_index = f->documents[i].index;
        rep.multi_doc = max_index > 0;

        for (size_t i = 0; i < f->n_documents; i++) {
                (*n_pods)++;
                struct podspec_document *d = &f->documents[i];
                if (!(d->other_kind ? check_other(&rep, d, items) : check_document(&rep, d, strict, items)))
                        (*n_invalid)++;
        }
        if (f->error) {
                fprintf(rep.out, "%s: %s\n", path, f->error);
                (*n_pods)++; /* the document that did not parse */
                (*n_invalid)++;
        } else if (f->n_documents == 0) {
                fprintf(rep.out, "%s: no Pod in this file\n", path);
                (*n_pods)++;
                (*n_invalid)++;
        }
        podspec_file_free(f);
        return 0;
}

int cmd_validate(int argc, char **argv) {
        static const struct option options[] = {
                { "strict", no_argument, NULL, 's' },
                { "output", required_argument, NULL, 'o' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        bool strict = false;
        enum output output = OUTPUT_NONE;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "o:h", options, NULL)) >= 0) {
                switch (c) {
                case 's':
                        strict = true;
                        break;
                case 'o':
                        if (streq(optarg, "json"))
                                output = OUTPUT_JSON;
                        else if (streq(optarg, "yaml"))
                                output = OUTPUT_YAML;
                        else {
                                fprintf(stderr, "nodelet validate: -o takes json or yaml, not \"%s\"\n", optarg);
                                return 2;
                        }
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind >= argc) {
                fprintf(stderr, "nodelet validate: no FILE given\n");
                usage(stderr);
                return 2;
        }

        json_t *items = output != OUTPUT_NONE ? json_array() : NULL;
        size_t n_pods = 0, n_invalid = 0;
        bool io_error = false;
        for (int i = optind; i < argc; i++)
                if (validate_file(argv[i], strict, output, items, &n_pods, &n_invalid) < 0)
                        io_error = true;

        if (items) {
                json_t *doc;
                if (json_array_size(items) == 1)
                        doc = json_incref(json_array_get(items, 0));
                else {
                        doc = json_pack("{s:s, s:s, s:O}", "apiVersion", "v1", "kind", "List", "items", items);
                }
                _cleanup_free_ char *text = NULL;
                if (output == OUTPUT_JSON)
                        text = json_dumps(doc, JSON_INDENT(4));
                else if (podspec_json_to_yaml(doc, &text) < 0)
                        text = NULL;
                if (text)
                        fputs(text, stdout), fputs(output == OUTPUT_JSON ? "\n" : "", stdout);
                json_decref(doc);
                json_decref(items);
        }

        if (n_invalid > 0 || io_error)
                fprintf(stderr, "%zu of %zu documents invalid\n", n_invalid, n_pods);
        if (io_error)
                return 2;
        return n_invalid > 0 ? 1 : 0;
}
