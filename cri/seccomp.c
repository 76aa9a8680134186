/* SPDX-License-Identifier: Apache-2.0 */
/* The "linux.seccomp" object of a container's OCI spec, from the pod's seccompProfile:
 * RuntimeDefault is containerd's default profile (seccomp-default.c), Localhost a JSON
 * profile under the kubelet's seccomp directory, normalized to the OCI shape, Unconfined none.
 *
 * Syscall names: runc skips a name its libseccomp cannot resolve (with a debug log), and crun
 * 1.8 skips it with a warning on stderr, failing only under the annotation
 * run.oci.seccomp_fail_unknown_syscall. So containerd may hand either runtime names newer than
 * its libseccomp. We drop such names from RuntimeDefault, which changes nothing for the
 * runtime and keeps crun quiet, and refuse them in a Localhost profile, where a typo would
 * otherwise silently turn into the default action. */
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <seccomp.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include "common/fs.h"
#include "cri.h"
#include "seccomp-internal.h"

/* ==== this node ========================================================================== */

/* containerd's arches() for the GOARCH nodelet was built for, and moby's names for it. */
#if defined(__x86_64__) && !defined(__ILP32__)
#define HOST_ARCH "amd64"
#define HOST_NATIVE "SCMP_ARCH_X86_64"
#define HOST_ARCHES "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"
#elif defined(__i386__)
#define HOST_ARCH "x86"
#define HOST_NATIVE "SCMP_ARCH_X86"
#elif defined(__aarch64__)
#define HOST_ARCH "arm64"
#define HOST_NATIVE "SCMP_ARCH_AARCH64"
#define HOST_ARCHES "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"
#elif defined(__arm__)
#define HOST_ARCH "arm"
#define HOST_NATIVE "SCMP_ARCH_ARM"
#elif defined(__s390x__)
#define HOST_ARCH "s390x"
#define HOST_NATIVE "SCMP_ARCH_S390X"
#define HOST_ARCHES "SCMP_ARCH_S390X", "SCMP_ARCH_S390"
#elif defined(__s390__)
#define HOST_ARCH "s390"
#define HOST_NATIVE "SCMP_ARCH_S390"
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_ARCH "ppc64le"
#define HOST_NATIVE "SCMP_ARCH_PPC64LE"
#elif defined(__powerpc64__)
#define HOST_ARCH "ppc64"
#define HOST_NATIVE "SCMP_ARCH_PPC64"
#elif defined(__riscv) && __riscv_xlen == 64
#define HOST_ARCH "riscv64"
#define HOST_NATIVE "SCMP_ARCH_RISCV64"
#define HOST_ARCHES "SCMP_ARCH_RISCV64"
#elif defined(__loongarch64)
#define HOST_ARCH "loongarch64"
#define HOST_NATIVE "SCMP_ARCH_LOONGARCH64"
#define HOST_ARCHES "SCMP_ARCH_LOONGARCH64"
#elif defined(__mips__) && _MIPS_SIM == _ABI64 && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_ARCH "mipsel64"
#define HOST_NATIVE "SCMP_ARCH_MIPSEL64"
#define HOST_ARCHES "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32"
#elif defined(__mips__) && _MIPS_SIM == _ABI64
#define HOST_ARCH "mips64"
#define HOST_NATIVE "SCMP_ARCH_MIPS64"
#define HOST_ARCHES "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32"
#endif

#ifndef HOST_ARCH
#define HOST_ARCH NULL
#define HOST_NATIVE NULL
#endif
#ifdef HOST_ARCHES
static const char *const host_arches[] = {HOST_ARCHES, NULL};
#else
static const char *const host_arches[] = {NULL}; /* containerd lists none here */
#endif

/* "6.18.44-foo" -> 6, 18; anything else -> 0, 0 (no minKernel rule then applies). */
static void parse_kernel_release(const char *release, unsigned *ret_kernel, unsigned *ret_major) {
        unsigned v[2] = {};
        const char *p = release;

        for (size_t i = 0; i < 2; i++) {
                if (!isdigit((unsigned char) *p))
                        break;
                for (; isdigit((unsigned char) *p); p++)
                        v[i] = v[i] < 100000 ? v[i] * 10 + (unsigned) (*p - '0') : v[i];
                if (*p != '.')
                        break;
                p++;
        }
        *ret_kernel = v[0];
        *ret_major = v[1];
}

void seccomp_host_detect(struct seccomp_host *ret) {
        struct utsname u;

        *ret = (struct seccomp_host){.arch = HOST_ARCH, .native = HOST_NATIVE, .arches = host_arches};
        if (uname(&u) == 0)
                parse_kernel_release(u.release, &ret->kernel, &ret->major);
}

bool seccomp_syscall_known(const char *name) {
        return seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR;
}

/* ==== opening the profile ================================================================ */

static int check_relative_path(const char *path) {
        if (isempty(path) || path[0] == '/')
                return -EINVAL;
        for (const char *p = path; *p;) {
                size_t n = strcspn(p, "/");
                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return -EINVAL;
                p += n;
                p += strspn(p, "/");
        }
        return 0;
}

/* O_NONBLOCK so that a FIFO put where a profile belongs cannot hang us; the caller refuses
 * anything but a regular file, for which the flag changes nothing. */
static int open_openat2(int dirfd, const char *path) {
        struct open_how how = {
                .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
        };
        long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
        return fd < 0 ? -errno : (int) fd;
}

/* Without openat2: one component at a time, following no symlink at all. */
static int open_walk(int dirfd, const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        _cleanup_close_ int cur = -1;
        char *p, *slash;
        int fd;

        if (!copy)
                return -ENOMEM;
        for (p = copy; (slash = strchr(p, '/')); p = slash + 1 + strspn(slash + 1, "/")) {
                *slash = '\0';
                if (streq(p, "."))
                        continue;
                fd = openat(cur >= 0 ? cur : dirfd, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                        struct stat st;
                        int r = -errno;
                        /* A symlink fails O_DIRECTORY with ENOTDIR, like a file: say which. */
                        if (r == -ENOTDIR &&
                            fstatat(cur >= 0 ? cur : dirfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                            S_ISLNK(st.st_mode))
                                r = -ELOOP;
                        return r;
                }
                closep(&cur);
                cur = fd;
        }
        if (isempty(p) || streq(p, "."))
                return -EISDIR; /* "dir/" names a directory, not a profile */
        fd = openat(cur >= 0 ? cur : dirfd, p, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
        return fd < 0 ? -errno : fd;
}

int seccomp_open_beneath(int dirfd, const char *path, enum seccomp_open_mode mode) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        r = check_relative_path(path);
        if (r < 0)
                return r;
        if (mode == SECCOMP_OPEN_AUTO) {
                fd = open_openat2(dirfd, path);
                /* ENOSYS before 5.6; EPERM where a seccomp filter of our own forbids openat2. */
                if (fd == -ENOSYS || fd == -EPERM)
                        fd = open_walk(dirfd, path);
        } else
                fd = open_walk(dirfd, path);
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADF;
        return TAKE_FD(fd);
}

/* ==== parsing a Localhost profile ======================================================== */

static const char *const actions[] = {
        "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_TRAP",  "SCMP_ACT_TRACE", "SCMP_ACT_LOG",  "SCMP_ACT_NOTIFY",
};
static const char *const operators[] = {
        "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",        "SCMP_CMP_EQ",
        "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
};
static const char *const filter_flags[] = {
        "SECCOMP_FILTER_FLAG_TSYNC",
        "SECCOMP_FILTER_FLAG_LOG",
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
};

/* Values up to here are echoed in messages whole; longer ones are cut. */
#define ECHO_MAX 64
/* libseccomp and the kernel compare at most six arguments. */
#define SECCOMP_ARGS_MAX 6
/* SECCOMP_RET_DATA is 16 bits; a larger errno would be cut silently. */
#define SECCOMP_ERRNO_MAX 0xffff

struct parse_ctx {
        const char *name; /* the profile, for messages */
        const struct seccomp_host *host;
        char *const *caps;
        size_t n_caps;
        nl_error *err;
        bool uses_notify;
};

_printf_(3, 4) static int fail(struct parse_ctx *c, int code, const char *fmt, ...) {
        _cleanup_free_ char *m = NL_FORMAT_VA(fmt);
        return nl_error_set(c->err, code, "seccomp profile \"%s\": %s", c->name, m ? m : "out of memory");
}

static bool in_list(const char *const *l, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (streq(l[i], s))
                        return true;
        return false;
}

static bool has_cap(const struct parse_ctx *c, const char *cap) {
        for (size_t i = 0; i < c->n_caps; i++)
                if (c->caps[i] && streq(c->caps[i], cap))
                        return true;
        return false;
}

/* A non-negative integer no larger than max. */
static int get_uint(struct parse_ctx *c, json_t *v, uint64_t max, const char *what, uint64_t *ret) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t) json_integer_value(v) > max)
                return fail(c, -EINVAL, "%s: not an integer in [0, %" PRIu64 "]", what, max);
        *ret = (uint64_t) json_integer_value(v);
        return 0;
}

/* An array of strings, or absent/null (then *ret is NULL). */
static int get_strings(struct parse_ctx *c, json_t *v, const char *what, json_t **ret) {
        size_t i;
        json_t *e;

        *ret = NULL;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_array(v))
                return fail(c, -EINVAL, "%s: not an array of strings", what);
        json_array_foreach(v, i, e) if (!json_is_string(e)) return fail(c, -EINVAL,
                                                                        "%s: not an array of strings", what);
        *ret = v;
        return 0;
}

static bool strings_contain(json_t *l, const char *s) {
        size_t i;
        json_t *e;

        if (!s)
                return false;
        json_array_foreach(l, i, e) if (streq(json_string_value(e), s)) return true;
        return false;
}

/* moby's "minKernel": "<kernel>.<major>", each 0..255, not 0.0; "" means none. */
static int parse_min_kernel(struct parse_ctx *c, json_t *v, const char *what, bool *ret_set,
                            unsigned *ret_kernel, unsigned *ret_major) {
        const char *s = json_string_value(v), *dot;
        _cleanup_free_ char *a = NULL;
        int64_t k, m;

        *ret_set = false;
        if (!v || json_is_null(v))
                return 0;
        if (!s)
                return fail(c, -EINVAL, "%s.minKernel: not a string", what);
        if (!*s)
                return 0;
        dot = strchr(s, '.');
        if (!dot || !(a = strndup(s, (size_t) (dot - s))) || nl_parse_int64(a, 0, 255, &k) < 0 ||
            nl_parse_int64(dot + 1, 0, 255, &m) < 0 || (k == 0 && m == 0) || !isdigit((unsigned char) *a) ||
            !isdigit((unsigned char) dot[1]))
                return fail(c, -EINVAL, "%s.minKernel: \"%.*s\" is not \"<kernel>.<major>\"", what, ECHO_MAX,
                            s);
        *ret_set = true;
        *ret_kernel = (unsigned) k;
        *ret_major = (unsigned) m;
        return 0;
}

/* moby's rule filters: "excludes" drops the rule when any of its conditions holds,
 * "includes" keeps it only when all of them hold. */
static int eval_filter(struct parse_ctx *c, json_t *f, bool include, const char *what, bool *ret_keep) {
        json_t *arches, *caps;
        unsigned kernel = 0, major = 0;
        bool has_kernel, newer;
        size_t i;
        json_t *e;
        int r;

        *ret_keep = true;
        if (!f || json_is_null(f))
                return 0;
        if (!json_is_object(f))
                return fail(c, -EINVAL, "%s: not an object", what);
        r = get_strings(c, json_object_get(f, "arches"), what, &arches);
        if (r < 0)
                return r;
        r = get_strings(c, json_object_get(f, "caps"), what, &caps);
        if (r < 0)
                return r;
        r = parse_min_kernel(c, json_object_get(f, "minKernel"), what, &has_kernel, &kernel, &major);
        if (r < 0)
                return r;
        newer = c->host->kernel > kernel || (c->host->kernel == kernel && c->host->major >= major);

        if (include) {
                if (json_array_size(arches) > 0 && !strings_contain(arches, c->host->arch))
                        *ret_keep = false;
                json_array_foreach(caps, i, e) if (!has_cap(c, json_string_value(e))) *ret_keep = false;
                if (has_kernel && !newer)
                        *ret_keep = false;
        } else {
                if (strings_contain(arches, c->host->arch))
                        *ret_keep = false;
                json_array_foreach(caps, i, e) if (has_cap(c, json_string_value(e))) *ret_keep = false;
                if (has_kernel && newer)
                        *ret_keep = false;
        }
        return 0;
}

static int parse_action(struct parse_ctx *c, json_t *v, const char *what, const char **ret) {
        const char *s = json_string_value(v);

        if (!v)
                return fail(c, -EINVAL, "%s: missing", what);
        if (!s)
                return fail(c, -EINVAL, "%s: not a string", what);
        if (!in_list(actions, ELEMENTSOF(actions), s))
                return fail(c, -EINVAL, "%s: unknown action \"%.*s\"", what, ECHO_MAX, s);
        *ret = s;
        return 0;
}

/* "errnoRet" is for the actions that carry a value; runc and crun refuse it elsewhere. */
static int parse_errno(struct parse_ctx *c, json_t *v, const char *action, const char *what, json_t *out,
                       const char *key) {
        uint64_t e;
        int r;

        if (!v || json_is_null(v))
                return 0;
        r = get_uint(c, v, SECCOMP_ERRNO_MAX, what, &e);
        if (r < 0)
                return r;
        if (!streq(action, "SCMP_ACT_ERRNO") && !streq(action, "SCMP_ACT_TRACE"))
                return fail(c, -EINVAL, "%s: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one, not %s", what,
                            action);
        if (json_object_set_new(out, key, json_integer((json_int_t) e)) < 0)
                return fail(c, -ENOMEM, "out of memory");
        return 0;
}

static int parse_arg(struct parse_ctx *c, json_t *a, const char *what, json_t **ret) {
        uint64_t index, value = 0, value_two = 0;
        json_t *v;
        const char *op;
        int r;
        char field[80];

        if (!json_is_object(a))
                return fail(c, -EINVAL, "%s: not an object", what);
        v = json_object_get(a, "index");
        if (!v)
                return fail(c, -EINVAL, "%s.index: missing", what);
        snprintf(field, sizeof(field), "%s.index", what);
        r = get_uint(c, v, SECCOMP_ARGS_MAX - 1, field, &index);
        if (r < 0)
                return r;
        /* jansson reads integers as int64: values past INT64_MAX are refused as bad JSON. */
        snprintf(field, sizeof(field), "%s.value", what);
        if ((v = json_object_get(a, "value")) && (r = get_uint(c, v, INT64_MAX, field, &value)) < 0)
                return r;
        snprintf(field, sizeof(field), "%s.valueTwo", what);
        if ((v = json_object_get(a, "valueTwo")) && (r = get_uint(c, v, INT64_MAX, field, &value_two)) < 0)
                return r;
        op = json_string_value(json_object_get(a, "op"));
        if (!op)
                return fail(c, -EINVAL, "%s.op: missing or not a string", what);
        if (!in_list(operators, ELEMENTSOF(operators), op))
                return fail(c, -EINVAL, "%s.op: unknown operator \"%.*s\"", what, ECHO_MAX, op);

        *ret = json_pack("{s:I, s:I, s:I, s:s}", "index", (json_int_t) index, "value", (json_int_t) value,
                         "valueTwo", (json_int_t) value_two, "op", op);
        return *ret ? 0 : fail(c, -ENOMEM, "out of memory");
}

/* One entry of "syscalls": appended to out unless its filters leave it out here. */
static int parse_rule(struct parse_ctx *c, json_t *s, size_t idx, json_t *out) {
        char what[64];
        json_t *names, *name, *args, *rule = NULL, *list = NULL, *e;
        const char *action;
        bool keep_in, keep_ex;
        size_t i;
        int r;

        if (!json_is_object(s))
                return fail(c, -EINVAL, "syscalls[%zu]: not an object", idx);
        snprintf(what, sizeof(what), "syscalls[%zu].names", idx);
        r = get_strings(c, json_object_get(s, "names"), what, &names);
        if (r < 0)
                return r;
        name = json_object_get(s, "name");
        if (name && !json_is_null(name) && !json_is_string(name))
                return fail(c, -EINVAL, "syscalls[%zu].name: not a string", idx);
        if (json_string_length(name) > 0 && json_array_size(names) > 0)
                return fail(c, -EINVAL, "syscalls[%zu]: both \"name\" and \"names\"", idx);
        if (json_string_length(name) == 0 && json_array_size(names) == 0)
                return fail(c, -EINVAL, "syscalls[%zu]: no syscall names", idx);

        snprintf(what, sizeof(what), "syscalls[%zu].action", idx);
        r = parse_action(c, json_object_get(s, "action"), what, &action);
        if (r < 0)
                return r;
        args = json_object_get(s, "args");
        if (args && !json_is_null(args) && !json_is_array(args))
                return fail(c, -EINVAL, "syscalls[%zu].args: not an array", idx);
        if (json_array_size(args) > SECCOMP_ARGS_MAX)
                return fail(c, -EINVAL, "syscalls[%zu].args: more than %d conditions", idx,
                            SECCOMP_ARGS_MAX);

        snprintf(what, sizeof(what), "syscalls[%zu].excludes", idx);
        r = eval_filter(c, json_object_get(s, "excludes"), false, what, &keep_ex);
        if (r < 0)
                return r;
        snprintf(what, sizeof(what), "syscalls[%zu].includes", idx);
        r = eval_filter(c, json_object_get(s, "includes"), true, what, &keep_in);
        if (r < 0)
                return r;

        rule = json_object();
        list = json_array();
        if (!rule || !list)
                goto oom;
        if (json_array_size(names) > 0) {
                if (json_array_extend(list, names) < 0)
                        goto oom;
        } else if (json_array_append(list, name) < 0)
                goto oom;
        if (json_object_set(rule, "names", list) < 0 ||
            json_object_set_new(rule, "action", json_string(action)) < 0)
                goto oom;
        snprintf(what, sizeof(what), "syscalls[%zu].errnoRet", idx);
        r = parse_errno(c, json_object_get(s, "errnoRet"), action, what, rule, "errnoRet");
        if (r < 0)
                goto fail;
        if (json_array_size(args) > 0) {
                json_t *out_args = json_array();
                if (!out_args || json_object_set_new(rule, "args", out_args) < 0)
                        goto oom;
                json_array_foreach(args, i, e) {
                        json_t *a;
                        snprintf(what, sizeof(what), "syscalls[%zu].args[%zu]", idx, i);
                        r = parse_arg(c, e, what, &a);
                        if (r < 0)
                                goto fail;
                        if (json_array_append_new(out_args, a) < 0)
                                goto oom;
                }
        }

        if (keep_in && keep_ex) {
                /* Only the names that reach the runtime have to resolve: a rule kept for another
                 * architecture may name calls this node's libseccomp has never heard of. */
                json_array_foreach(list, i, e) if (!seccomp_syscall_known(json_string_value(e))) {
                        r = fail(c, -EINVAL, "unknown syscall \"%.*s\"", ECHO_MAX, json_string_value(e));
                        goto fail;
                }
                if (streq(action, "SCMP_ACT_NOTIFY"))
                        c->uses_notify = true;
                if (json_array_append(out, rule) < 0)
                        goto oom;
        }
        json_decref(list);
        json_decref(rule);
        return 0;
oom:
        r = fail(c, -ENOMEM, "out of memory");
fail:
        json_decref(list);
        json_decref(rule);
        return r;
}

/* "architectures" as given, or the "archMap" entry for this node with its sub-architectures;
 * every one must be an architecture libseccomp knows, as runc and crun require. */
static int parse_arches(struct parse_ctx *c, json_t *root, json_t *out) {
        json_t *arches, *map, *e, *list;
        size_t i;
        int r;

        r = get_strings(c, json_object_get(root, "architectures"), "architectures", &arches);
        if (r < 0)
                return r;
        map = json_object_get(root, "archMap");
        if (map && !json_is_null(map) && !json_is_array(map))
                return fail(c, -EINVAL, "archMap: not an array");
        if (json_array_size(arches) > 0 && json_array_size(map) > 0)
                return fail(c, -EINVAL, "both \"architectures\" and \"archMap\"");

        list = json_array();
        if (!list || json_object_set_new(out, "architectures", list) < 0)
                return fail(c, -ENOMEM, "out of memory");
        if (arches && json_array_extend(list, arches) < 0)
                return fail(c, -ENOMEM, "out of memory");
        json_array_foreach(map, i, e) {
                json_t *subs;
                const char *a;
                char what[48];

                snprintf(what, sizeof(what), "archMap[%zu]", i);
                if (!json_is_object(e))
                        return fail(c, -EINVAL, "%s: not an object", what);
                a = json_string_value(json_object_get(e, "architecture"));
                if (!a)
                        return fail(c, -EINVAL, "%s.architecture: missing or not a string", what);
                snprintf(what, sizeof(what), "archMap[%zu].subArchitectures", i);
                r = get_strings(c, json_object_get(e, "subArchitectures"), what, &subs);
                if (r < 0)
                        return r;
                if (json_array_size(list) > 0 || !streq_ptr(a, c->host->native))
                        continue; /* the first entry for this node wins, as in moby */
                if (json_array_append_new(list, json_string(a)) < 0 ||
                    (subs && json_array_extend(list, subs) < 0))
                        return fail(c, -ENOMEM, "out of memory");
        }

        json_array_foreach(list, i, e) {
                const char *a = json_string_value(e);
                char lower[32];
                size_t n;

                if (!a || strncmp(a, "SCMP_ARCH_", 10) != 0 || (n = strlen(a + 10)) == 0 ||
                    n >= sizeof(lower))
                        return fail(c, -EINVAL, "unknown architecture \"%.*s\"", ECHO_MAX, strempty(a));
                for (size_t k = 0; k <= n; k++)
                        lower[k] = (char) tolower((unsigned char) a[10 + k]);
                if (seccomp_arch_resolve_name(lower) == 0)
                        return fail(c, -EINVAL, "unknown architecture \"%s\"", a);
        }
        return 0;
}

/* "flags", "listenerPath" and "listenerMetadata" of the OCI format pass through, checked. */
static int parse_oci_extras(struct parse_ctx *c, json_t *root, json_t *out) {
        json_t *flags, *e;
        size_t i;
        int r;

        r = get_strings(c, json_object_get(root, "flags"), "flags", &flags);
        if (r < 0)
                return r;
        json_array_foreach(
                flags, i, e) if (!in_list(filter_flags, ELEMENTSOF(filter_flags),
                                          json_string_value(e))) return fail(c, -EINVAL,
                                                                             "flags: unknown flag \"%.*s\"",
                                                                             ECHO_MAX, json_string_value(e));
        if (json_array_size(flags) > 0 && json_object_set(out, "flags", flags) < 0)
                return fail(c, -ENOMEM, "out of memory");

        for (size_t k = 0; k < 2; k++) {
                const char *key = k == 0 ? "listenerPath" : "listenerMetadata";
                e = json_object_get(root, key);
                if (!e || json_is_null(e))
                        continue;
                if (!json_is_string(e))
                        return fail(c, -EINVAL, "%s: not a string", key);
                if (json_string_length(e) > 0 && json_object_set(out, key, e) < 0)
                        return fail(c, -ENOMEM, "out of memory");
        }
        return 0;
}

int seccomp_profile_parse(const char *data, size_t size, const char *name, const struct seccomp_host *host,
                          char *const *caps, size_t n_caps, json_t **ret, nl_error *err) {
        struct parse_ctx c = {
                .name = strempty(name), .host = host, .caps = caps, .n_caps = n_caps, .err = err};
        json_t *root = NULL, *out = NULL, *syscalls, *list, *e;
        const char *action;
        json_error_t jerr;
        size_t i;
        int r;

        if (size > SECCOMP_PROFILE_MAX)
                return fail(&c, -EFBIG, "larger than %u bytes", SECCOMP_PROFILE_MAX);
        root = json_loadb(data, size, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
                return fail(&c, -EINVAL, "bad JSON at line %d, column %d: %s", jerr.line, jerr.column,
                            jerr.text);
        if (!json_is_object(root)) {
                r = fail(&c, -EINVAL, "not a JSON object");
                goto finish;
        }

        r = parse_action(&c, json_object_get(root, "defaultAction"), "defaultAction", &action);
        if (r < 0)
                goto finish;
        /* libseccomp cannot notify by default: every syscall would wait on the agent. */
        if (streq(action, "SCMP_ACT_NOTIFY")) {
                r = fail(&c, -EINVAL, "defaultAction: SCMP_ACT_NOTIFY cannot be the default");
                goto finish;
        }
        out = json_pack("{s:s}", "defaultAction", action);
        if (!out) {
                r = fail(&c, -ENOMEM, "out of memory");
                goto finish;
        }
        r = parse_errno(&c, json_object_get(root, "defaultErrnoRet"), action, "defaultErrnoRet", out,
                        "defaultErrnoRet");
        if (r < 0)
                goto finish;
        r = parse_arches(&c, root, out);
        if (r < 0)
                goto finish;
        r = parse_oci_extras(&c, root, out);
        if (r < 0)
                goto finish;

        syscalls = json_object_get(root, "syscalls");
        if (syscalls && !json_is_null(syscalls) && !json_is_array(syscalls)) {
                r = fail(&c, -EINVAL, "syscalls: not an array");
                goto finish;
        }
        list = json_array();
        if (!list || json_object_set_new(out, "syscalls", list) < 0) {
                r = fail(&c, -ENOMEM, "out of memory");
                goto finish;
        }
        json_array_foreach(syscalls, i, e) {
                r = parse_rule(&c, e, i, list);
                if (r < 0)
                        goto finish;
        }
        if (c.uses_notify && !json_object_get(out, "listenerPath")) {
                r = fail(&c, -EINVAL, "SCMP_ACT_NOTIFY needs a listenerPath");
                goto finish;
        }

        *ret = TAKE_PTR(out);
        r = 0;
finish:
        json_decref(out);
        json_decref(root);
        return r;
}

/* ==== the entry point ==================================================================== */

static int profile_load(const char *profile, const char *root, const struct seccomp_host *host,
                        char *const *caps, size_t n_caps, json_t **ret, nl_error *err) {
        _cleanup_close_ int dirfd = -1, fd = -1;
        _cleanup_free_ char *data = NULL;
        size_t size = 0;
        int r;

        if (isempty(profile))
                return nl_error_set(err, -EINVAL, "seccomp profile type Localhost needs a localhostProfile");
        if (check_relative_path(profile) < 0)
                return nl_error_set(
                        err, -EINVAL,
                        "seccomp profile \"%s\": must be a relative path without \"..\" components",
                        profile);
        if (isempty(root))
                return nl_error_set(err, -EINVAL, "seccomp profile \"%s\": no seccomp profile root",
                                    profile);

        dirfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return nl_error_set(err, -errno,
                                    "seccomp profile \"%s\": cannot open profile root \"%s\": %m", profile,
                                    root);
        fd = seccomp_open_beneath(dirfd, profile, SECCOMP_OPEN_AUTO);
        if (fd == -EXDEV || fd == -ELOOP)
                return nl_error_set(
                        err, fd,
                        "seccomp profile \"%s\": path escapes the profile root \"%s\" through a symlink",
                        profile, root);
        if (fd < 0) {
                errno = -fd;
                return nl_error_set(err, fd, "seccomp profile \"%s\": cannot open under \"%s\": %m", profile,
                                    root);
        }
        r = nl_read_fd(fd, SECCOMP_PROFILE_MAX, &data, &size);
        if (r == -EFBIG)
                return nl_error_set(err, r, "seccomp profile \"%s\": larger than %u bytes", profile,
                                    SECCOMP_PROFILE_MAX);
        if (r < 0) {
                errno = -r;
                return nl_error_set(err, r, "seccomp profile \"%s\": cannot read: %m", profile);
        }
        return seccomp_profile_parse(data, size, profile, host, caps, n_caps, ret, err);
}

int seccomp_profile_build(const char *type, const char *localhost_profile, const char *profile_root,
                          char *const *caps, size_t n_caps, json_t **ret, nl_error *err) {
        struct seccomp_host host;
        json_t *profile = NULL;
        int r;

        if (isempty(type))
                return nl_error_set(err, -EINVAL, "seccomp profile type is empty");
        if (streq(type, "Unconfined")) {
                *ret = NULL;
                return 0;
        }
        seccomp_host_detect(&host);
        if (streq(type, "RuntimeDefault")) {
                r = seccomp_default_profile(&host, caps, n_caps, &profile);
                if (r < 0)
                        return nl_error_set(err, r, "seccomp profile RuntimeDefault: out of memory");
        } else if (streq(type, "Localhost")) {
                r = profile_load(localhost_profile, profile_root, &host, caps, n_caps, &profile, err);
                if (r < 0)
                        return r;
        } else
                return nl_error_set(err, -EINVAL, "unknown seccomp profile type \"%.*s\"", ECHO_MAX, type);

        *ret = profile;
        return 0;
}
