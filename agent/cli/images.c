/* SPDX-License-Identifier: Apache-2.0 */
/* nodelet images: pull, ls, inspect, rm, prune, import on the store under --root-dir. They
 * work with or without the daemon running: the store is locked for concurrent use. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "cli.h"
#include "common/strv.h"
#include "cri/cri.h"
#include "cri/layout.h"

struct images_opts {
        const char *root_dir;
        bool json;
        struct registry_config reg;
};

static void images_usage(FILE *f) {
        fprintf(f, "Usage: nodelet images COMMAND [OPTIONS]\n"
                   "\n"
                   "Commands:\n"
                   "  pull REF          pull an image from its registry (progress per layer on a terminal)\n"
                   "  ls                list images\n"
                   "  inspect REF|ID    print an image's config, layers and history\n"
                   "  rm REF|ID...      remove names; an image goes with its last name\n"
                   "  prune             remove every image no container uses\n"
                   "  import PATH       import an OCI layout directory, oci-archive or docker-archive tar\n"
                   "\n"
                   "Options:\n"
                   "  --root-dir DIR              state directory (default /var/lib/nodelet); images live in DIR/images\n"
                   "  -o, --output json           machine-readable output (ls, inspect, pull)\n"
                   "  --insecure-registry HOST    use plain HTTP for HOST[:PORT] (repeatable)\n"
                   "  --registry-ca HOST=FILE     trust FILE's CA certificates for HOST (repeatable)\n"
                   "  --registry-mirror HOST=URL  try URL before HOST (repeatable)\n"
                   "  --auth-file FILE            docker config.json-style credentials\n"
                   "  --creds USER:PASSWORD       credentials for this pull\n"
                   "  --repo NAME                 import: repository for bare tags in an OCI layout\n"
                   "  -h, --help                  show this help\n");
}

static int open_store(const struct images_opts *o, struct image_store **ret) {
        nl_error err = NL_ERROR_INIT;
        int r = layout_image_store_open(o->root_dir, ret, &err);
        if (r < 0)
                fprintf(stderr, "nodelet images: %s\n", err.msg ? err.msg : strerror(-r));
        nl_error_clear(&err);
        return r;
}

/* The store for a subcommand that takes arguments (what, for its message; NULL: none needed):
 * 0, or the exit code to return (2: usage, 1: no store). */
static int begin(const struct images_opts *o, const char *sub, int argc, const char *what,
                 struct image_store **ret) {
        if (what && argc < 1) {
                fprintf(stderr, "nodelet images %s: %s required\n", sub, what);
                return 2;
        }
        return open_store(o, ret) < 0 ? 1 : 0;
}

/* The images the node's containers use (and which container uses each), for rm and prune. */
static void images_in_use(const struct images_opts *o, char ***ret_ids, char ***ret_users, size_t *ret_n) {
        struct cri_config cfg = { .root_dir = o->root_dir };
        *ret_ids = *ret_users = NULL;
        *ret_n = 0;
        (void) cri_images_in_use(&cfg, ret_ids, ret_users, ret_n);
}

static char *format_size(int64_t n) {
        const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
        double v = (double) n;
        size_t u = 0;
        while (v >= 1024 && u + 1 < ELEMENTSOF(units)) {
                v /= 1024;
                u++;
        }
        return u == 0 ? nl_strdupf("%" PRId64 " B", n) : nl_strdupf("%.1f %s", v, units[u]);
}

static char *format_time(usec_t t) {
        time_t s = (time_t) (t / USEC_PER_SEC);
        struct tm tm;
        char buf[64];
        if (!gmtime_r(&s, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return strdup("-");
        return strdup(buf);
}

static json_t *strv_json(char **v, size_t n) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < n; i++)
                json_array_append_new(a, json_string(strempty(v[i])));
        return a;
}

static json_t *image_json(const struct image_info *i, bool full) {
        _cleanup_free_ char *created = format_time(i->created), *used = format_time(i->last_used);
        json_t *j = json_pack("{s:s, s:o, s:o, s:s, s:I, s:s, s:s}", "id", i->id, "names",
                              strv_json(i->names, i->n_names), "repoDigests",
                              strv_json(i->repo_digests, i->n_repo_digests), "manifest", i->manifest_digest,
                              "size", (json_int_t) i->size, "created", strempty(created), "lastUsed",
                              strempty(used));
        if (!j || !full)
                return j;
        json_object_set_new(j, "layers", strv_json(i->chain_ids, i->n_chain_ids));
        if (i->index_digest)
                json_object_set_new(j, "index", json_string(i->index_digest));
        const struct image_config *c = i->config;
        if (c) {
                json_t *cfg = json_object();
                json_object_set_new(cfg, "Entrypoint", strv_json(c->entrypoint, c->n_entrypoint));
                json_object_set_new(cfg, "Cmd", strv_json(c->cmd, c->n_cmd));
                json_object_set_new(cfg, "Env", strv_json(c->env, c->n_env));
                json_object_set_new(cfg, "ExposedPorts", strv_json(c->exposed_ports, c->n_exposed_ports));
                if (c->working_dir)
                        json_object_set_new(cfg, "WorkingDir", json_string(c->working_dir));
                if (c->user)
                        json_object_set_new(cfg, "User", json_string(c->user));
                if (c->stop_signal)
                        json_object_set_new(cfg, "StopSignal", json_string(c->stop_signal));
                if (c->labels)
                        json_object_set(cfg, "Labels", c->labels);
                json_object_set_new(j, "config", cfg);
                json_object_set_new(j, "os", json_string(strempty(c->os)));
                json_object_set_new(j, "architecture", json_string(strempty(c->architecture)));
                json_object_set_new(j, "diffIDs", strv_json(c->diff_ids, c->n_diff_ids));
                if (c->history)
                        json_object_set(j, "history", c->history);
        }
        return j;
}

static void print_json(json_t *j) {
        _cleanup_free_ char *s = json_dumps(j, JSON_INDENT(4));
        if (s)
                puts(s);
        json_decref(j);
}

static int images_ls(const struct images_opts *o) {
        struct image_store *s = NULL;
        int rc = begin(o, "ls", 0, NULL, &s);
        if (rc != 0)
                return rc;
        struct image_info **list = NULL;
        size_t n = 0;
        nl_error err = NL_ERROR_INIT;
        int r = image_store_list(s, &list, &n, &err);
        if (r < 0) {
                fprintf(stderr, "nodelet images ls: %s\n", err.msg ? err.msg : strerror(-r));
                nl_error_clear(&err);
                image_store_close(s);
                return 1;
        }
        if (o->json) {
                json_t *a = json_array();
                for (size_t i = 0; i < n; i++)
                        json_array_append_new(a, image_json(list[i], false));
                print_json(a);
        } else {
                printf("%-60s %-14s %10s  %s\n", "NAME", "IMAGE ID", "SIZE", "CREATED");
                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *size = format_size(list[i]->size), *created = format_time(list[i]->created);
                        const char *id = strchr(list[i]->id, ':') ? strchr(list[i]->id, ':') + 1 : list[i]->id;
                        if (list[i]->n_names == 0)
                                printf("%-60s %-14.12s %10s  %s\n", "<none>", id, strempty(size), strempty(created));
                        for (size_t k = 0; k < list[i]->n_names; k++)
                                printf("%-60s %-14.12s %10s  %s\n", list[i]->names[k], id, strempty(size),
                                       strempty(created));
                }
        }
        image_info_list_free(list, n);
        image_store_close(s);
        return 0;
}

static int images_inspect(const struct images_opts *o, int argc, char **argv) {
        struct image_store *s = NULL;
        int rc = begin(o, "inspect", argc, "REF or ID", &s);
        if (rc != 0)
                return rc;
        int ret = 0;
        json_t *all = json_array();
        for (int i = 0; i < argc; i++) {
                struct image_info *info = NULL;
                nl_error err = NL_ERROR_INIT;
                int r = image_store_lookup(s, argv[i], &info, &err);
                if (r < 0) {
                        fprintf(stderr, "nodelet images inspect: %s\n", err.msg ? err.msg : strerror(-r));
                        nl_error_clear(&err);
                        ret = 1;
                        continue;
                }
                json_array_append_new(all, image_json(info, true));
                image_info_free(info);
        }
        /* like `docker image inspect`: always an array */
        print_json(all);
        image_store_close(s);
        return ret;
}

static int images_rm(const struct images_opts *o, int argc, char **argv) {
        struct image_store *s = NULL;
        int rc = begin(o, "rm", argc, "REF or ID", &s);
        if (rc != 0)
                return rc;
        /* as the kubelet's image GC: an image a container uses stays */
        _cleanup_strv_free_ char **in_use = NULL, **users = NULL;
        size_t n_in_use;
        images_in_use(o, &in_use, &users, &n_in_use);
        int ret = 0;
        for (int i = 0; i < argc; i++) {
                nl_error err = NL_ERROR_INIT;
                struct image_info *info = NULL;
                ssize_t u = -1;
                if (image_store_lookup(s, argv[i], &info, NULL) == 0)
                        u = strv_find(in_use, n_in_use, info->id);
                const char *user = u >= 0 ? users[u] : NULL;
                image_info_free(info);
                if (user) {
                        fprintf(stderr, "nodelet images rm: %s is used by container %.12s\n", argv[i], user);
                        ret = 1;
                        continue;
                }
                int r = image_store_remove(s, argv[i], &err);
                if (r < 0) {
                        fprintf(stderr, "nodelet images rm: %s\n", err.msg ? err.msg : strerror(-r));
                        ret = 1;
                } else
                        printf("Untagged: %s\n", argv[i]);
                nl_error_clear(&err);
        }
        image_store_close(s);
        return ret;
}

static int images_prune(const struct images_opts *o) {
        struct image_store *s = NULL;
        int rc = begin(o, "prune", 0, NULL, &s);
        if (rc != 0)
                return rc;
        /* every image no container on the node uses */
        _cleanup_strv_free_ char **in_use = NULL, **users = NULL;
        size_t n_in_use;
        images_in_use(o, &in_use, &users, &n_in_use);
        nl_error err = NL_ERROR_INIT;
        int r = image_store_gc(s, in_use, n_in_use, 0, 0, &err);
        if (r < 0)
                fprintf(stderr, "nodelet images prune: %s\n", err.msg ? err.msg : strerror(-r));
        else
                printf("Removed %d image%s\n", r, r == 1 ? "" : "s");
        nl_error_clear(&err);
        image_store_close(s);
        return r < 0 ? 1 : 0;
}

static int images_import(const struct images_opts *o, const char *repo, int argc, char **argv) {
        struct image_store *s = NULL;
        int rc = begin(o, "import", argc, "PATH", &s);
        if (rc != 0)
                return rc;
        int ret = 0;
        for (int i = 0; i < argc; i++) {
                nl_error err = NL_ERROR_INIT;
                int r = image_import(s, argv[i], repo, &err);
                if (r < 0) {
                        fprintf(stderr, "nodelet images import: %s: %s\n", argv[i], err.msg ? err.msg : strerror(-r));
                        ret = 1;
                } else
                        printf("Imported %d image%s from %s\n", r, r == 1 ? "" : "s", argv[i]);
                nl_error_clear(&err);
        }
        image_store_close(s);
        return ret;
}

struct pull_state {
        bool done, tty;
        int r;
        enum pull_error_kind kind;
        char *image_id;
        char *error;
};

static void pull_progress(const struct pull_progress *p, void *userdata) {
        struct pull_state *st = userdata;
        if (!st->tty)
                return;
        const char *hex = strchr(p->digest, ':') ? strchr(p->digest, ':') + 1 : p->digest;
        _cleanup_free_ char *done = format_size(p->done), *total = format_size(p->total);
        fprintf(stderr, "\r%.12s: %s / %s   ", hex, strempty(done), strempty(total));
        if (p->done == p->total)
                fputc('\n', stderr);
}

static void pull_done(int r, enum pull_error_kind kind, const char *image_id, const nl_error *err, void *userdata) {
        struct pull_state *st = userdata;
        st->done = true;
        st->r = r;
        st->kind = kind;
        st->image_id = image_id ? strdup(image_id) : NULL;
        st->error = err && err->msg ? strdup(err->msg) : NULL;
}

static int images_pull(const struct images_opts *o, const char *creds, int argc, char **argv) {
        if (argc != 1) {
                fprintf(stderr, "nodelet images pull: exactly one REF required\n");
                return 2;
        }
        struct image_ref ref = {};
        nl_error err = NL_ERROR_INIT;
        if (image_ref_parse(argv[0], &ref, &err) < 0) {
                fprintf(stderr, "nodelet images pull: %s\n", strempty(err.msg));
                nl_error_clear(&err);
                return 1;
        }
        _cleanup_free_ char *user = NULL, *pass = NULL;
        if (creds) {
                const char *colon = strchr(creds, ':');
                user = colon ? strndup(creds, (size_t) (colon - creds)) : strdup(creds);
                pass = colon ? strdup(colon + 1) : strdup("");
        }

        sd_event *event = NULL;
        struct image_store *s = NULL;
        struct registry_client *c = NULL;
        struct pull_state st = { .tty = isatty(STDERR_FILENO) };
        _cleanup_free_ char *name = NULL;
        int ret = 1, r;

        if ((r = sd_event_new(&event)) < 0) {
                fprintf(stderr, "nodelet images pull: event loop: %s\n", strerror(-r));
                goto out;
        }
        if (open_store(o, &s) < 0)
                goto out;
        if ((r = registry_client_new(event, s, &o->reg, &c)) < 0) {
                fprintf(stderr, "nodelet images pull: registry client: %s\n", strerror(-r));
                goto out;
        }
        if ((r = registry_pull(c, &ref, user, pass, pull_progress, pull_done, &st)) < 0) {
                fprintf(stderr, "nodelet images pull: %s\n", strerror(-r));
                goto out;
        }
        while (!st.done)
                if ((r = sd_event_run(event, UINT64_MAX)) < 0) {
                        fprintf(stderr, "nodelet images pull: event loop: %s\n", strerror(-r));
                        goto out;
                }
        if (st.r < 0) {
                fprintf(stderr, "nodelet images pull: %s\n", st.error ? st.error : strerror(-st.r));
                goto out;
        }
        name = image_ref_string(&ref);
        if (o->json)
                print_json(json_pack("{s:s, s:s}", "name", strempty(name), "id", strempty(st.image_id)));
        else
                printf("%s %s\n", strempty(name), strempty(st.image_id));
        ret = 0;
out:
        registry_client_free(c);
        image_store_close(s);
        sd_event_unref(event);
        image_ref_done(&ref);
        free(st.image_id);
        free(st.error);
        return ret;
}

static const struct option images_options[] = {
        { "root-dir", required_argument, NULL, 'R' },
        { "output", required_argument, NULL, 'o' },
        { "insecure-registry", required_argument, NULL, 'I' },
        { "registry-ca", required_argument, NULL, 'C' },
        { "registry-mirror", required_argument, NULL, 'M' },
        { "auth-file", required_argument, NULL, 'A' },
        { "creds", required_argument, NULL, 'c' },
        { "repo", required_argument, NULL, 'r' },
        { "help", no_argument, NULL, 'h' },
        {},
};

/* Returns 1 after --help, 0 to go on, -1 on a bad option (message printed). With
 * stop_at_command, parsing stops at the first non-option (the subcommand). */
static int parse_images_opts(int argc, char **argv, bool stop_at_command, struct images_opts *o,
                             const char **creds, const char **repo) {
        nl_error err = NL_ERROR_INIT;
        int c, r = 0;

        optind = 1;
        while ((c = getopt_long(argc, argv, stop_at_command ? "+o:h" : "o:h", images_options, NULL)) >= 0) {
                switch (c) {
                case 'R': o->root_dir = optarg; break;
                case 'o':
                        if (!streq(optarg, "json")) {
                                fprintf(stderr, "nodelet images: -o takes json, not \"%s\"\n", optarg);
                                return -1;
                        }
                        o->json = true;
                        break;
                case 'I': r = registry_config_add(&o->reg, "insecure", optarg, &err); break;
                case 'C': r = registry_config_add(&o->reg, "ca", optarg, &err); break;
                case 'M': r = registry_config_add(&o->reg, "mirror", optarg, &err); break;
                case 'A':
                        free(o->reg.auth_file);
                        o->reg.auth_file = strdup(optarg);
                        break;
                case 'c': *creds = optarg; break;
                case 'r': *repo = optarg; break;
                case 'h': images_usage(stdout); return 1;
                default: images_usage(stderr); return -1;
                }
                if (r < 0) {
                        fprintf(stderr, "nodelet images: %s\n", err.msg ? err.msg : "out of memory");
                        nl_error_clear(&err);
                        return -1;
                }
        }
        return 0;
}

int cmd_images(int argc, char **argv) {
        struct images_opts o = { .root_dir = "/var/lib/nodelet" };
        const char *creds = NULL, *repo = NULL;
        int ret = 2, r;

        /* Options may come before and after the subcommand. */
        r = parse_images_opts(argc, argv, true, &o, &creds, &repo);
        if (r != 0 || optind >= argc) {
                if (r == 0)
                        images_usage(stderr);
                ret = r > 0 ? 0 : 2;
                goto out;
        }
        const char *sub = argv[optind];
        int sargc = argc - optind;
        char **sargv = argv + optind;
        r = parse_images_opts(sargc, sargv, false, &o, &creds, &repo);
        if (r != 0) {
                ret = r > 0 ? 0 : 2;
                goto out;
        }
        int rest_argc = sargc - optind;
        char **rest = sargv + optind;

        if (streq(sub, "ls") || streq(sub, "list"))
                ret = images_ls(&o);
        else if (streq(sub, "inspect"))
                ret = images_inspect(&o, rest_argc, rest);
        else if (streq(sub, "rm"))
                ret = images_rm(&o, rest_argc, rest);
        else if (streq(sub, "prune"))
                ret = images_prune(&o);
        else if (streq(sub, "import"))
                ret = images_import(&o, repo, rest_argc, rest);
        else if (streq(sub, "pull"))
                ret = images_pull(&o, creds, rest_argc, rest);
        else {
                fprintf(stderr, "nodelet images: unknown command \"%s\"\n", sub);
                images_usage(stderr);
        }
out:
        registry_config_done(&o.reg);
        return ret;
}
