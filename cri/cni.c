/* SPDX-License-Identifier: Apache-2.0 */
/* A small CNI client (spec 0.3.x, 0.4.0, 1.0.0), doing what libcni does for containerd's CRI
 * plugin: load the node's network config, run each plugin of the list with the config on
 * stdin and the CNI_* environment, chain prevResult, pass portMappings to plugins that declare
 * the capability, and cache what was sent and returned so DEL works later from the cache alone
 * (after a restart, or after the config dir changed). The loopback plugin is run for "lo" first,
 * as containerd does. */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cni.h"
#include "common/fs.h"
#include "common/run.h"

extern char **environ;

#define CNI_IFNAME "eth0"
#define CNI_MAX_IPS 16
#define CNI_CACHE_NAME "cni.json"
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


/* ---- versions ---------------------------------------------------------------------------- */

/* "1.0.0" -> 10000; -1 when malformed */
static long version_code(const char *v) {
        unsigned a = 0, b = 0, c = 0;
        int n = 0;
        if (!v || sscanf(v, "%u.%u.%u%n", &a, &b, &c, &n) != 3 || v[n] != '\0' || a > 99 || b > 99 || c > 99)
                return -1;
        return (long) a * 10000 + (long) b * 100 + c;
}

static bool version_supported(const char *v) {
        long c = version_code(v);
        return c >= 300 && c < 20000; /* 0.3.0 .. 1.x */
}

/* ---- port mappings ----------------------------------------------------------------------- */

void cni_port_mappings_free(struct cni_port_mapping *m, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(m[i].host_ip);
        free(m);
}

int cni_port_mappings(const struct pod *pod, struct cni_port_mapping **ret, size_t *ret_n, nl_error *err) {
        struct cni_port_mapping *m = NULL;
        size_t n = 0;

        for (size_t i = 0; i < pod->spec.n_containers; i++) {
                const struct pod_container *c = &pod->spec.containers[i];
                for (size_t j = 0; j < c->n_ports; j++) {
                        const struct pod_container_port *p = &c->ports[j];
                        if (!p->host_port.set || p->host_port.v <= 0)
                                continue;
                        if (p->host_port.v > 65535 || !p->container_port.set || p->container_port.v <= 0 ||
                            p->container_port.v > 65535) {
                                cni_port_mappings_free(m, n);
                                return nl_error_set(err, -EINVAL,
                                                    "container \"%s\": bad port mapping %" PRId64,
                                                    strempty(c->name), p->host_port.v);
                        }
                        struct cni_port_mapping pm = {.host_port = (int) p->host_port.v,
                                                      .container_port = (int) p->container_port.v};
                        const char *proto = isempty(p->protocol) ? "TCP" : p->protocol;
                        if (strlen(proto) >= sizeof(pm.protocol)) {
                                cni_port_mappings_free(m, n);
                                return nl_error_set(err, -EINVAL, "container \"%s\": bad protocol \"%s\"",
                                                    strempty(c->name), proto);
                        }
                        for (size_t k = 0; proto[k]; k++)
                                pm.protocol[k] = (char) (proto[k] >= 'A' && proto[k] <= 'Z' ? proto[k] + 32
                                                                                            : proto[k]);
                        /* the same mapping twice would only make the plugin fail */
                        bool dup = false;
                        for (size_t k = 0; k < n && !dup; k++)
                                dup = m[k].host_port == pm.host_port &&
                                      m[k].container_port == pm.container_port &&
                                      streq(m[k].protocol, pm.protocol) &&
                                      streq_ptr(m[k].host_ip, p->host_ip);
                        if (dup)
                                continue;
                        if (n >= CNI_MAX_PORT_MAPPINGS) {
                                cni_port_mappings_free(m, n);
                                return nl_error_set(err, -E2BIG, "more than %u host ports",
                                                    CNI_MAX_PORT_MAPPINGS);
                        }
                        struct cni_port_mapping *nm = realloc(m, (n + 1) * sizeof(*nm));
                        if (!nm) {
                                cni_port_mappings_free(m, n);
                                return nl_error_set(err, -ENOMEM, "out of memory");
                        }
                        m = nm;
                        if (!isempty(p->host_ip) && !(pm.host_ip = strdup(p->host_ip))) {
                                cni_port_mappings_free(m, n);
                                return nl_error_set(err, -ENOMEM, "out of memory");
                        }
                        m[n++] = pm;
                }
        }
        *ret = m;
        *ret_n = n;
        return 0;
}

/* ---- config loading ---------------------------------------------------------------------- */

static char *find_plugin(char *const *bin_dirs, size_t n, const char *type) {
        if (isempty(type) || strchr(type, '/') || streq(type, ".") || streq(type, ".."))
                return NULL;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *p = nl_strdupf("%s/%s", bin_dirs[i], type);
                struct stat st;
                if (p && stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0)
                        return TAKE_PTR(p);
        }
        return NULL;
}

static int name_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool has_suffix(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && streq(s + a - b, suffix);
}

/* A conflist from one file, or NULL with *why set. */
static json_t *load_file(const char *path, const char *name, char *const *bin_dirs, size_t n_bin_dirs,
                         char **why) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        json_error_t je;
        int r = nl_read_file(path, CNI_MAX_CONF_BYTES, false, &buf, &len);
        if (r < 0) {
                *why = nl_strdupf("%s: %s", name, strerror(-r));
                return NULL;
        }
        _cleanup_json_ json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
        if (!j || !json_is_object(j)) {
                *why = nl_strdupf("%s: %s", name, j ? "not a JSON object" : je.text);
                return NULL;
        }
        _cleanup_json_ json_t *list = NULL;
        if (has_suffix(name, ".conflist"))
                list = json_incref(j);
        else {
                /* a single plugin's config becomes a one-plugin list (ConfListFromConf) */
                if (!json_is_string(json_object_get(j, "type"))) {
                        *why = nl_strdupf("%s: no plugin \"type\"", name);
                        return NULL;
                }
                list = json_pack("{s:O?,s:O?,s:[O]}", "cniVersion", json_object_get(j, "cniVersion"), "name",
                                 json_object_get(j, "name"), "plugins", j);
                if (!list) {
                        *why = nl_strdupf("%s: out of memory", name);
                        return NULL;
                }
        }
        const char *net = json_string_value(json_object_get(list, "name"));
        const char *ver = json_string_value(json_object_get(list, "cniVersion"));
        json_t *plugins = json_object_get(list, "plugins");
        if (isempty(net)) {
                *why = nl_strdupf("%s: no network \"name\"", name);
                return NULL;
        }
        if (!version_supported(ver)) {
                *why = nl_strdupf("%s: unsupported cniVersion \"%s\" (0.3.0 to 1.x are)", name,
                                  strempty(ver));
                return NULL;
        }
        if (!json_is_array(plugins) || json_array_size(plugins) == 0 ||
            json_array_size(plugins) > CNI_MAX_PLUGINS) {
                *why = nl_strdupf("%s: \"plugins\" must list 1 to %u plugins", name, CNI_MAX_PLUGINS);
                return NULL;
        }
        size_t i;
        json_t *p;
        json_array_foreach(plugins, i, p) {
                const char *type = json_string_value(json_object_get(p, "type"));
                if (!json_is_object(p) || isempty(type)) {
                        *why = nl_strdupf("%s: plugin %zu has no \"type\"", name, i);
                        return NULL;
                }
                _cleanup_free_ char *bin = find_plugin(bin_dirs, n_bin_dirs, type);
                if (!bin) {
                        *why = nl_strdupf("%s: plugin \"%s\" not found in the CNI bin dirs", name, type);
                        return NULL;
                }
        }
        return TAKE_PTR(list);
}

int cni_load_network(const char *conf_dir, char *const *bin_dirs, size_t n_bin_dirs, json_t **ret,
                     nl_error *err) {
        char **names = NULL;
        size_t n = 0;
        nl_buf why = {};
        int r = 0;

        if (isempty(conf_dir))
                return nl_error_set(err, -EINVAL, "no CNI config dir configured");
        DIR *d = opendir(conf_dir);
        if (!d)
                return nl_error_set(err, -errno, "no network config: read %s: %m", conf_dir);
        struct dirent *e;
        while ((e = readdir(d))) {
                if (e->d_name[0] == '.' ||
                    !(has_suffix(e->d_name, ".conflist") || has_suffix(e->d_name, ".conf") ||
                      has_suffix(e->d_name, ".json")))
                        continue;
                if (n >= CNI_MAX_CONF_FILES) {
                        r = nl_error_set(err, -E2BIG, "more than %u files in %s", CNI_MAX_CONF_FILES,
                                         conf_dir);
                        break;
                }
                char **nn = realloc(names, (n + 1) * sizeof(char *));
                if (!nn || !(nn[n] = strdup(e->d_name))) {
                        names = nn ? nn : names;
                        r = nl_error_set(err, -ENOMEM, "out of memory");
                        break;
                }
                names = nn;
                n++;
        }
        closedir(d);
        if (r == 0) {
                if (n > 0) /* qsort(NULL, 0) is undefined */
                        qsort(names, n, sizeof(char *), name_cmp);
                r = -ENOENT;
                for (size_t i = 0; i < n && r < 0; i++) {
                        _cleanup_free_ char *path = nl_strdupf("%s/%s", conf_dir, names[i]);
                        _cleanup_free_ char *reason = NULL;
                        json_t *list =
                                path ? load_file(path, names[i], bin_dirs, n_bin_dirs, &reason) : NULL;
                        if (list) {
                                *ret = list;
                                r = 0;
                        } else
                                nl_buf_printf(&why, "; %s", reason ? reason : "out of memory");
                }
                if (r < 0)
                        nl_error_set(err, r, "no valid network config in %s%s", conf_dir,
                                     why.data ? why.data : " (no *.conflist, *.conf or *.json files)");
        }
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        nl_buf_free(&why);
        return r;
}

/* ---- running a plugin --------------------------------------------------------------------- */

struct invocation {
        const char *command; /* ADD, DEL, CHECK */
        const char *id, *netns, *ifname, *args;
        char *const *bin_dirs;
        size_t n_bin_dirs;
};

static char **plugin_env(const struct invocation *inv) {
        size_t n = 0;
        for (char **e = environ; e && *e; e++)
                n++;
        char **env = calloc(n + 8, sizeof(char *));
        if (!env)
                return NULL;
        size_t k = 0;
        bool have_path = false;
        _cleanup_free_ char *cni_path = NULL;
        for (char **e = environ; e && *e; e++) {
                if (strncmp(*e, "CNI_", 4) == 0)
                        continue;
                if (strncmp(*e, "PATH=", 5) == 0)
                        have_path = true;
                env[k++] = strdup(*e);
                if (!env[k - 1])
                        goto oom;
        }
        nl_buf path = {};
        for (size_t i = 0; i < inv->n_bin_dirs; i++)
                nl_buf_printf(&path, "%s%s", i ? ":" : "", inv->bin_dirs[i]);
        cni_path = nl_buf_steal(&path);
        env[k++] = nl_strdupf("CNI_COMMAND=%s", inv->command);
        env[k++] = nl_strdupf("CNI_CONTAINERID=%s", inv->id);
        env[k++] = nl_strdupf("CNI_NETNS=%s", strempty(inv->netns));
        env[k++] = nl_strdupf("CNI_IFNAME=%s", inv->ifname);
        env[k++] = nl_strdupf("CNI_PATH=%s", strempty(cni_path));
        env[k++] = nl_strdupf("CNI_ARGS=%s", strempty(inv->args));
        if (!have_path) /* plugins run iptables, ip... */
                env[k++] = strdup("PATH=" DEFAULT_PATH);
        for (size_t i = 0; i < k; i++)
                if (!env[i])
                        goto oom;
        return env;
oom:
        for (size_t i = 0; i < n + 8; i++)
                free(env[i]);
        free(env);
        return NULL;
}

static void env_free(char **env) {
        for (char **e = env; e && *e; e++)
                free(*e);
        free(env);
}

/* Run the plugin binary with data on stdin; stdout and stderr captured (a stdout larger than
 * the cap fails it), with a deadline. */
static int exec_plugin(const char *bin, const struct invocation *inv, const char *data,
                       struct nl_run_result *o) {
        char **env = plugin_env(inv);
        if (!env)
                return -ENOMEM;
        char *const argv[] = { (char *) bin, NULL };
        int r = nl_run(&(struct nl_run_spec){ .argv = argv,
                                              .envp = env,
                                              .input = data,
                                              .timeout = CNI_PLUGIN_TIMEOUT_USEC,
                                              .max_stdout = CNI_MAX_OUTPUT_BYTES,
                                              .max_stderr = CNI_MAX_STDERR_BYTES,
                                              .stdout_overflow_fails = true },
                       o);
        env_free(env);
        return r;
}

static char *trim_dup(const char *s, size_t max) {
        if (!s)
                return NULL;
        while (*s == ' ' || *s == '\n' || *s == '\t')
                s++;
        size_t n = strnlen(s, max);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t' || s[n - 1] == '\r'))
                n--;
        return strndup(s, n);
}

/* Run one plugin; on success *ret is its parsed stdout (NULL when it printed nothing). */
static int run_plugin(const struct invocation *inv, json_t *conf, json_t **ret, nl_error *err) {
        const char *type = json_string_value(json_object_get(conf, "type"));
        _cleanup_free_ char *bin = find_plugin(inv->bin_dirs, inv->n_bin_dirs, type);
        _cleanup_free_ char *data = NULL;
        struct nl_run_result o;
        int r;

        if (!bin)
                return nl_error_set(err, -ENOENT, "CNI %s of plugin %s: not found in the CNI bin dirs",
                                    inv->command, strempty(type));
        data = json_dumps(conf, JSON_COMPACT);
        if (!data)
                return nl_error_set(err, -ENOMEM, "out of memory");
        r = exec_plugin(bin, inv, data, &o);
        if (r < 0) {
                nl_run_result_done(&o);
                return nl_error_set(err, r, "CNI %s of plugin %s: run %s: %s", inv->command, type, bin,
                                    strerror(-r));
        }
        if (o.timed_out) {
                nl_run_result_done(&o);
                return nl_error_set(err, -ETIMEDOUT, "CNI %s of plugin %s: timed out after %llu s",
                                    inv->command, type,
                                    (unsigned long long) (CNI_PLUGIN_TIMEOUT_USEC / USEC_PER_SEC));
        }
        if (o.too_big) {
                nl_run_result_done(&o);
                return nl_error_set(err, -EFBIG, "CNI %s of plugin %s: output larger than %u bytes",
                                    inv->command, type, CNI_MAX_OUTPUT_BYTES);
        }
        json_error_t je;
        _cleanup_json_ json_t *j = o.out_len ? json_loadb(o.out, o.out_len, 0, &je) : NULL;
        if (!WIFEXITED(o.status) || WEXITSTATUS(o.status) != 0) {
                /* the spec's error: {"cniVersion", "code", "msg", "details"} on stdout */
                const char *msg = json_string_value(json_object_get(j, "msg"));
                const char *details = json_string_value(json_object_get(j, "details"));
                json_t *code = json_object_get(j, "code");
                _cleanup_free_ char *stderr_text = trim_dup(o.err, 4096);
                if (!isempty(msg))
                        r = nl_error_set(
                                err, -EIO, "CNI %s of plugin %s: %s%s%s (code %" JSON_INTEGER_FORMAT ")",
                                inv->command, type, msg, isempty(details) ? "" : ": ", strempty(details),
                                json_is_integer(code) ? json_integer_value(code) : (json_int_t) 0);
                else if (!isempty(stderr_text))
                        r = nl_error_set(err, -EIO, "CNI %s of plugin %s: %s", inv->command, type,
                                         stderr_text);
                else if (WIFEXITED(o.status))
                        r = nl_error_set(err, -EIO, "CNI %s of plugin %s: exit status %d", inv->command,
                                         type, WEXITSTATUS(o.status));
                else
                        r = nl_error_set(err, -EIO, "CNI %s of plugin %s: killed by signal %d", inv->command,
                                         type, WTERMSIG(o.status));
                nl_run_result_done(&o);
                return r;
        }
        if (o.out_len && !j) {
                r = nl_error_set(err, -EBADMSG, "CNI %s of plugin %s: bad result: %s", inv->command, type,
                                 je.text);
                nl_run_result_done(&o);
                return r;
        }
        if (j && !json_is_object(j)) {
                nl_run_result_done(&o);
                return nl_error_set(err, -EBADMSG, "CNI %s of plugin %s: result is not an object",
                                    inv->command, type);
        }
        nl_run_result_done(&o);
        *ret = TAKE_PTR(j);
        return 0;
}

/* The config one plugin gets: its own object plus name, cniVersion, runtimeConfig. */
static json_t *plugin_config(json_t *list, json_t *plugin, const struct cni_attach *a) {
        json_t *c = json_deep_copy(plugin);
        if (!c)
                return NULL;
        if (json_object_set(c, "name", json_object_get(list, "name")) < 0 ||
            json_object_set(c, "cniVersion", json_object_get(list, "cniVersion")) < 0) {
                json_decref(c);
                return NULL;
        }
        json_object_del(c, "runtimeConfig");
        json_t *caps = json_object_get(plugin, "capabilities");
        if (a && a->n_port_mappings > 0 && json_is_true(json_object_get(caps, "portMappings"))) {
                json_t *pm = json_array();
                for (size_t i = 0; pm && i < a->n_port_mappings; i++) {
                        const struct cni_port_mapping *m = &a->port_mappings[i];
                        json_t *o = json_pack("{s:i,s:i,s:s}", "hostPort", m->host_port, "containerPort",
                                              m->container_port, "protocol", m->protocol);
                        if (o && m->host_ip)
                                json_object_set_new(o, "hostIP", json_string(m->host_ip));
                        if (!o || json_array_append_new(pm, o) < 0) {
                                json_decref(pm);
                                pm = NULL;
                        }
                }
                if (!pm ||
                    json_object_set_new(c, "runtimeConfig", json_pack("{s:o}", "portMappings", pm)) < 0) {
                        json_decref(c);
                        return NULL;
                }
        }
        return c;
}

static char *cni_args(const char *id, const char *ns, const char *name, const char *uid) {
        return nl_strdupf(
                "IgnoreUnknown=1;K8S_POD_NAMESPACE=%s;K8S_POD_NAME=%s;K8S_POD_INFRA_CONTAINER_ID=%s;"
                "K8S_POD_UID=%s",
                strempty(ns), strempty(name), id, strempty(uid));
}

/* DEL (or CHECK) of one attachment: {"ifname", "network", "configs": [...], "result"}.
 * DEL goes in reverse and runs every plugin; CHECK goes in order and stops at the first error. */
static int attachment_run(const struct invocation *base, json_t *att, const char *command, nl_error *err) {
        json_t *configs = json_object_get(att, "configs");
        json_t *result = json_object_get(att, "result");
        const char *ifname = json_string_value(json_object_get(att, "ifname"));
        const char *ver = json_string_value(json_object_get(json_object_get(att, "network"), "cniVersion"));
        bool del = streq(command, "DEL");
        struct invocation inv = *base;
        int ret = 0;

        inv.command = command;
        inv.ifname = ifname ? ifname : CNI_IFNAME;
        if (!json_is_array(configs))
                return 0;
        size_t n = json_array_size(configs);
        for (size_t k = 0; k < n; k++) {
                size_t i = del ? n - 1 - k : k;
                _cleanup_json_ json_t *conf = json_deep_copy(json_array_get(configs, i));
                if (!conf)
                        return nl_error_set(err, -ENOMEM, "out of memory");
                /* 0.4.0 and later get the cached result as prevResult on DEL and CHECK */
                if (version_code(ver) >= 400 && json_is_object(result))
                        json_object_set(conf, "prevResult", result);
                json_t *out = NULL;
                nl_error e = NL_ERROR_INIT;
                int r = run_plugin(&inv, conf, &out, &e);
                if (out)
                        json_decref(out);
                if (r < 0) {
                        if (ret == 0) {
                                ret = r;
                                nl_error_set(err, r, "%s", strempty(e.msg));
                        }
                        nl_error_clear(&e);
                        if (!del)
                                break;
                }
        }
        return ret;
}

/* ADD of one network list for ifname; *ret_att is the cache entry (also on failure, covering
 * what was attempted, so the caller can DEL it). */
static int attachment_add(const struct invocation *base, json_t *list, const struct cni_attach *a,
                          const char *ifname, json_t **ret_att, nl_error *err) {
        struct invocation inv = *base;
        json_t *plugins = json_object_get(list, "plugins");
        _cleanup_json_ json_t *att =
                json_pack("{s:s,s:O,s:[]}", "ifname", ifname, "network", list, "configs");
        _cleanup_json_ json_t *prev = NULL;
        size_t i;
        json_t *p;

        inv.command = "ADD";
        inv.ifname = ifname;
        if (!att)
                return nl_error_set(err, -ENOMEM, "out of memory");
        json_array_foreach(plugins, i, p) {
                _cleanup_json_ json_t *conf = plugin_config(list, p, a);
                if (!conf || json_array_append(json_object_get(att, "configs"), conf) < 0)
                        return nl_error_set(err, -ENOMEM, "out of memory");
                if (prev)
                        json_object_set(conf, "prevResult", prev);
                json_t *out = NULL;
                int r = run_plugin(&inv, conf, &out, err);
                if (r < 0) {
                        if (prev)
                                json_object_set(att, "result", prev);
                        *ret_att = TAKE_PTR(att);
                        return r;
                }
                if (out) { /* a plugin that prints nothing passes the previous result on */
                        if (prev)
                                json_decref(prev);
                        prev = out;
                }
        }
        if (prev)
                json_object_set(att, "result", prev);
        *ret_att = TAKE_PTR(att);
        return 0;
}

static int result_ips(json_t *result, char ***ret, size_t *ret_n, nl_error *err) {
        json_t *ips = json_object_get(result, "ips"), *ifaces = json_object_get(result, "interfaces");
        char **v = calloc(CNI_MAX_IPS + 1, sizeof(char *));
        size_t n = 0, i;
        json_t *ip;

        if (!v)
                return nl_error_set(err, -ENOMEM, "out of memory");
        json_array_foreach(ips, i, ip) {
                const char *addr = json_string_value(json_object_get(ip, "address"));
                json_t *idx = json_object_get(ip, "interface");
                if (isempty(addr))
                        continue;
                if (json_is_integer(idx)) { /* an address of the host side of the link is not the pod's */
                        json_t *iface = json_array_get(ifaces, (size_t) json_integer_value(idx));
                        if (iface && isempty(json_string_value(json_object_get(iface, "sandbox"))))
                                continue;
                }
                if (n >= CNI_MAX_IPS)
                        break;
                v[n] = strndup(addr, strcspn(addr, "/"));
                if (!v[n]) {
                        for (size_t k = 0; k < n; k++)
                                free(v[k]);
                        free(v);
                        return nl_error_set(err, -ENOMEM, "out of memory");
                }
                n++;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static char *cache_path(const char *dir) {
        return nl_strdupf("%s/" CNI_CACHE_NAME, dir);
}

static json_t *loopback_list(void) {
        return json_pack("{s:s,s:s,s:[{s:s}]}", "cniVersion", "0.3.1", "name", "cni-loopback", "plugins",
                         "type", "loopback");
}

int cni_add(const struct cri_config *cfg, const char *dir, const struct cni_attach *a, char ***ret_ips,
            size_t *ret_n_ips, nl_error *err) {
        _cleanup_json_ json_t *network = NULL, *lo = loopback_list(), *lo_att = NULL, *net_att = NULL;
        _cleanup_json_ json_t *cache = NULL;
        _cleanup_free_ char *args = cni_args(a->id, a->pod_namespace, a->pod_name, a->pod_uid);
        _cleanup_free_ char *path = cache_path(dir), *data = NULL;
        int r;

        if (!lo || !args || !path)
                return nl_error_set(err, -ENOMEM, "out of memory");
        r = cni_load_network(cfg->cni_conf_dir, cfg->cni_bin_dirs, cfg->n_cni_bin_dirs, &network, err);
        if (r < 0)
                return r;
        struct invocation inv = {.id = a->id,
                                 .netns = a->netns,
                                 .args = args,
                                 .bin_dirs = cfg->cni_bin_dirs,
                                 .n_bin_dirs = cfg->n_cni_bin_dirs};

        r = attachment_add(&inv, lo, NULL, "lo", &lo_att, err);
        if (r >= 0)
                r = attachment_add(&inv, network, a, CNI_IFNAME, &net_att, err);
        if (r >= 0) {
                cache = json_pack("{s:s,s:s,s:s,s:s,s:s,s:[OO]}", "id", a->id, "netns", strempty(a->netns),
                                  "podNamespace", strempty(a->pod_namespace), "podName",
                                  strempty(a->pod_name), "podUID", strempty(a->pod_uid), "attachments",
                                  net_att, lo_att);
                data = cache ? json_dumps(cache, JSON_INDENT(1)) : NULL;
                if (!data)
                        r = nl_error_set(err, -ENOMEM, "out of memory");
                else if ((r = nl_write_file_atomic(path, data, strlen(data), 0600)) < 0)
                        nl_error_set(err, r, "write %s: %s", path, strerror(-r));
        }
        if (r >= 0)
                r = result_ips(json_object_get(net_att, "result"), ret_ips, ret_n_ips, err);
        if (r < 0) {
                /* undo: DEL what was attempted (releases the IP, removes the veth), errors ignored */
                nl_error ignored = NL_ERROR_INIT;
                if (net_att)
                        (void) attachment_run(&inv, net_att, "DEL", &ignored);
                if (lo_att)
                        (void) attachment_run(&inv, lo_att, "DEL", &ignored);
                nl_error_clear(&ignored);
                (void) unlink(path);
                return r;
        }
        return 0;
}

static int cache_load(const char *dir, json_t **ret, nl_error *err) {
        _cleanup_free_ char *path = cache_path(dir), *buf = NULL;
        size_t len;
        json_error_t je;
        if (!path)
                return nl_error_set(err, -ENOMEM, "out of memory");
        int r = nl_read_file(path, 16u * CNI_MAX_CONF_BYTES, false, &buf, &len);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return nl_error_set(err, r, "read %s: %s", path, strerror(-r));
        json_t *j = json_loadb(buf, len, 0, &je);
        if (!j || !json_is_object(j)) {
                if (j)
                        json_decref(j);
                return nl_error_set(err, -EBADMSG, "read %s: %s", path, j ? "not an object" : je.text);
        }
        *ret = j;
        return 1;
}

static int cache_run(const struct cri_config *cfg, const char *dir, const char *netns, const char *command,
                     nl_error *err) {
        _cleanup_json_ json_t *cache = NULL;
        int r = cache_load(dir, &cache, err);
        if (r <= 0)
                return r;
        const char *id = json_string_value(json_object_get(cache, "id"));
        _cleanup_free_ char *args =
                cni_args(strempty(id), json_string_value(json_object_get(cache, "podNamespace")),
                         json_string_value(json_object_get(cache, "podName")),
                         json_string_value(json_object_get(cache, "podUID")));
        if (!args)
                return nl_error_set(err, -ENOMEM, "out of memory");
        struct invocation inv = {.id = strempty(id),
                                 .netns = netns,
                                 .args = args,
                                 .bin_dirs = cfg->cni_bin_dirs,
                                 .n_bin_dirs = cfg->n_cni_bin_dirs};
        json_t *atts = json_object_get(cache, "attachments");
        int ret = 0;
        for (size_t i = 0; i < json_array_size(atts); i++) {
                json_t *att = json_array_get(atts, i);
                if (streq(command, "CHECK")) {
                        const char *ver = json_string_value(
                                json_object_get(json_object_get(att, "network"), "cniVersion"));
                        if (version_code(ver) < 400 ||
                            json_is_true(json_object_get(json_object_get(att, "network"), "disableCheck")))
                                continue;
                }
                nl_error e = NL_ERROR_INIT;
                r = attachment_run(&inv, att, command, &e);
                if (r < 0 && ret == 0) {
                        ret = r;
                        nl_error_set(err, r, "%s", strempty(e.msg));
                }
                nl_error_clear(&e);
                if (r < 0 && !streq(command, "DEL"))
                        break;
        }
        return ret;
}

int cni_del(const struct cri_config *cfg, const char *dir, const char *netns, nl_error *err) {
        int r = cache_run(cfg, dir, netns, "DEL", err);
        if (r < 0)
                return r;
        _cleanup_free_ char *path = cache_path(dir);
        if (path && unlink(path) < 0 && errno != ENOENT)
                return nl_error_set(err, -errno, "remove %s: %m", path);
        return 0;
}

int cni_check(const struct cri_config *cfg, const char *dir, const char *netns, nl_error *err) {
        return cache_run(cfg, dir, netns, "CHECK", err);
}
