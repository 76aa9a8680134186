/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <ftw.h>
#include <seccomp.h>
#include <stdio.h>
#include <sys/stat.h>

#include "cri/cri.h"
#include "cri/seccomp-internal.h"
#include "test.h"

/* ==== helpers ============================================================================ */

static json_t *build(const char *type, const char *profile, const char *root, char *const *caps,
                     size_t n_caps, int *ret_r, nl_error *err) {
        json_t *p = NULL;
        *ret_r = seccomp_profile_build(type, profile, root, caps, n_caps, &p, err);
        return p;
}

static json_t *runtime_default(char *const *caps, size_t n_caps) {
        nl_error err = NL_ERROR_INIT;
        int r;
        json_t *p = build("RuntimeDefault", NULL, NULL, caps, n_caps, &r, &err);
        CHECK_INT_EQ(r, 0);
        CHECK(p != NULL);
        nl_error_clear(&err);
        return p;
}

static bool names_contain(json_t *rule, const char *name) {
        size_t i;
        json_t *n;
        json_array_foreach(json_object_get(rule, "names"), i,
                           n) if (streq(json_string_value(n), name)) return true;
        return false;
}

/* Allowed whatever its arguments: an ALLOW rule without conditions names it. */
static bool allows(json_t *profile, const char *name) {
        size_t i;
        json_t *rule;
        json_array_foreach(
                json_object_get(profile, "syscalls"), i,
                rule) if (streq(json_string_value(json_object_get(rule, "action")), "SCMP_ACT_ALLOW") &&
                          json_array_size(json_object_get(rule, "args")) == 0 &&
                          names_contain(rule, name)) return true;
        return false;
}

static size_t count_rules(json_t *profile, const char *name) {
        size_t i, n = 0;
        json_t *rule;
        json_array_foreach(json_object_get(profile, "syscalls"), i, rule) if (names_contain(rule, name)) n++;
        return n;
}

static json_t *first_rule(json_t *profile, const char *name) {
        size_t i;
        json_t *rule;
        json_array_foreach(json_object_get(profile, "syscalls"), i,
                           rule) if (names_contain(rule, name)) return rule;
        return NULL;
}

static uint32_t action_value(const char *s, json_t *errno_ret) {
        uint16_t e = errno_ret ? (uint16_t) json_integer_value(errno_ret) : EPERM;
        if (streq(s, "SCMP_ACT_ALLOW"))
                return SCMP_ACT_ALLOW;
        if (streq(s, "SCMP_ACT_ERRNO"))
                return SCMP_ACT_ERRNO(e);
        if (streq(s, "SCMP_ACT_KILL") || streq(s, "SCMP_ACT_KILL_THREAD"))
                return SCMP_ACT_KILL_THREAD;
        if (streq(s, "SCMP_ACT_KILL_PROCESS"))
                return SCMP_ACT_KILL_PROCESS;
        if (streq(s, "SCMP_ACT_TRAP"))
                return SCMP_ACT_TRAP;
        if (streq(s, "SCMP_ACT_TRACE"))
                return SCMP_ACT_TRACE(e);
        if (streq(s, "SCMP_ACT_LOG"))
                return SCMP_ACT_LOG;
        if (streq(s, "SCMP_ACT_NOTIFY"))
                return SCMP_ACT_NOTIFY;
        return 0xdeadbeef;
}

static enum scmp_compare op_value(const char *s) {
        static const struct {
                const char *name;
                enum scmp_compare op;
        } ops[] = {
                {"SCMP_CMP_NE", SCMP_CMP_NE},
                {"SCMP_CMP_LT", SCMP_CMP_LT},
                {"SCMP_CMP_LE", SCMP_CMP_LE},
                {"SCMP_CMP_EQ", SCMP_CMP_EQ},
                {"SCMP_CMP_GE", SCMP_CMP_GE},
                {"SCMP_CMP_GT", SCMP_CMP_GT},
                {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
        };
        for (size_t i = 0; i < ELEMENTSOF(ops); i++)
                if (streq(ops[i].name, s))
                        return ops[i].op;
        return _SCMP_CMP_MIN;
}

#define LOAD_FAIL(...)                                                                                      \
        do {                                                                                                \
                if (report)                                                                                 \
                        TEST_FAIL(__VA_ARGS__);                                                             \
        } while (0)

/* Build (never load) a libseccomp filter from the OCI object the way runc and crun do: rules
 * that repeat the default action are skipped, conditions repeating an argument index become
 * separate rules. Every name, architecture, action and operator must be accepted, and the
 * whole filter must compile to BPF. Returns the number of failures. */
static int load_checked(json_t *profile, bool report) {
        int failures = 0, r;
        uint32_t def = action_value(json_string_value(json_object_get(profile, "defaultAction")),
                                    json_object_get(profile, "defaultErrnoRet"));
        scmp_filter_ctx ctx = seccomp_init(def);
        size_t i, j, k;
        json_t *a, *rule, *n;

        if (!ctx)
                return 1;
        json_array_foreach(json_object_get(profile, "architectures"), i, a) {
                char lower[32] = {};
                const char *s = json_string_value(a) + strlen("SCMP_ARCH_");
                for (k = 0; s[k] && k < sizeof(lower) - 1; k++)
                        lower[k] = (char) (s[k] >= 'A' && s[k] <= 'Z' ? s[k] - 'A' + 'a' : s[k]);
                uint32_t token = seccomp_arch_resolve_name(lower);
                r = token ? seccomp_arch_add(ctx, token) : -EINVAL;
                if (r < 0 && r != -EEXIST) {
                        LOAD_FAIL("architecture %s: %d", json_string_value(a), r);
                        failures++;
                }
        }
        json_array_foreach(json_object_get(profile, "syscalls"), i, rule) {
                uint32_t act = action_value(json_string_value(json_object_get(rule, "action")),
                                            json_object_get(rule, "errnoRet"));
                json_t *args = json_object_get(rule, "args");
                struct scmp_arg_cmp cmp[6];
                unsigned seen = 0, n_cmp = 0;
                bool split = false;

                if (act == def)
                        continue;
                json_array_foreach(args, j, a) {
                        unsigned idx = (unsigned) json_integer_value(json_object_get(a, "index"));
                        if (n_cmp >= 6 || idx >= 6 ||
                            op_value(json_string_value(json_object_get(a, "op"))) == _SCMP_CMP_MIN) {
                                LOAD_FAIL("bad argument condition in rule %zu", i);
                                failures++;
                                continue;
                        }
                        if (seen & (1u << idx))
                                split = true;
                        seen |= 1u << idx;
                        cmp[n_cmp++] = (struct scmp_arg_cmp){
                                .arg = idx,
                                .op = op_value(json_string_value(json_object_get(a, "op"))),
                                .datum_a = (scmp_datum_t) json_integer_value(json_object_get(a, "value")),
                                .datum_b = (scmp_datum_t) json_integer_value(json_object_get(a, "valueTwo")),
                        };
                }
                json_array_foreach(json_object_get(rule, "names"), j, n) {
                        int nr = seccomp_syscall_resolve_name(json_string_value(n));
                        if (nr == __NR_SCMP_ERROR) {
                                LOAD_FAIL("unknown syscall %s", json_string_value(n));
                                failures++;
                                continue;
                        }
                        if (!split)
                                r = seccomp_rule_add_array(ctx, act, nr, n_cmp, cmp);
                        else
                                for (k = 0, r = 0; k < n_cmp && r == 0; k++)
                                        r = seccomp_rule_add_array(ctx, act, nr, 1, &cmp[k]);
                        if (r < 0) {
                                LOAD_FAIL("seccomp_rule_add %s (rule %zu): %d", json_string_value(n), i, r);
                                failures++;
                        }
                }
        }
        int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0) {
                LOAD_FAIL("seccomp_export_bpf: %d", r);
                failures++;
        }
        close(fd);
        seccomp_release(ctx);
        return failures;
}

static int load_into_libseccomp(json_t *profile) {
        return load_checked(profile, true);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st, (void) flag, (void) ftw;
        return remove(path);
}

struct tmp {
        char root[80];  /* the profile root */
        char outer[64]; /* its parent, holding things outside the root */
};

static void tmp_make(struct tmp *t) {
        snprintf(t->outer, sizeof(t->outer), "/tmp/test-seccomp-XXXXXX");
        if (!mkdtemp(t->outer))
                abort();
        snprintf(t->root, sizeof(t->root), "%s/root", t->outer);
        if (mkdir(t->root, 0755) < 0)
                abort();
}

static void tmp_done(struct tmp *t) {
        nftw(t->outer, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void put(const char *dir, const char *name, const char *content) {
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        FILE *f = fopen(path, "we");
        if (!f)
                abort();
        fputs(content, f);
        fclose(f);
}

static json_t *localhost(const struct tmp *t, const char *name, char *const *caps, size_t n_caps, int *ret_r,
                         nl_error *err) {
        return build("Localhost", name, t->root, caps, n_caps, ret_r, err);
}

/* ==== RuntimeDefault ===================================================================== */

TEST(default_shape) {
        json_t *p = runtime_default(NULL, 0);
        struct seccomp_host h;

        seccomp_host_detect(&h);
        CHECK_STR_EQ(json_string_value(json_object_get(p, "defaultAction")), "SCMP_ACT_ERRNO");
        CHECK_INT_EQ(json_integer_value(json_object_get(p, "defaultErrnoRet")), 1);
        json_t *arches = json_object_get(p, "architectures");
        CHECK(json_is_array(arches));
#if defined(__x86_64__) && !defined(__ILP32__)
        CHECK_INT_EQ(json_array_size(arches), 3);
        CHECK_STR_EQ(json_string_value(json_array_get(arches, 0)), "SCMP_ARCH_X86_64");
        CHECK_STR_EQ(json_string_value(json_array_get(arches, 1)), "SCMP_ARCH_X86");
        CHECK_STR_EQ(json_string_value(json_array_get(arches, 2)), "SCMP_ARCH_X32");
        CHECK_STR_EQ(h.arch, "amd64");
        CHECK(allows(p, "arch_prctl"));
        CHECK(allows(p, "modify_ldt"));
        CHECK(!allows(p, "set_tls"));
#elif defined(__aarch64__)
        CHECK_INT_EQ(json_array_size(arches), 2);
        CHECK(allows(p, "set_tls"));
        CHECK(!allows(p, "arch_prctl"));
#endif
        CHECK(h.kernel > 0);
        json_decref(p);
}

TEST(default_allowlist) {
        json_t *p = runtime_default(NULL, 0);
        const char *yes[] = {"read",       "write", "execve", "openat",
                             "exit_group", "futex", "mmap",   "socketpair"};
        const char *no[] = {"mount",
                            "umount2",
                            "reboot",
                            "kexec_load",
                            "init_module",
                            "finit_module",
                            "chroot",
                            "unshare",
                            "setns",
                            "bpf",
                            "perf_event_open",
                            "ptrace_does_not_exist",
                            "syslog",
                            "acct",
                            "swapon",
                            "open_by_handle_at",
                            "keyctl",
                            "add_key",
                            "io_uring_setup",
                            "userfaultfd",
                            "clock_settime",
                            "settimeofday",
                            "iopl",
                            "vhangup",
                            "mbind"};

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (!allows(p, yes[i]))
                        TEST_FAIL("%s not allowed", yes[i]);
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (count_rules(p, no[i]) != 0)
                        TEST_FAIL("%s has a rule", no[i]);
        /* Every rule is ALLOW but clone3's ENOSYS. */
        size_t i;
        json_t *rule;
        json_array_foreach(json_object_get(p, "syscalls"), i, rule) {
                const char *a = json_string_value(json_object_get(rule, "action"));
                if (names_contain(rule, "clone3")) {
                        CHECK_STR_EQ(a, "SCMP_ACT_ERRNO");
                        CHECK_INT_EQ(json_integer_value(json_object_get(rule, "errnoRet")), ENOSYS);
                } else
                        CHECK_STR_EQ(a, "SCMP_ACT_ALLOW");
                CHECK(json_array_size(json_object_get(rule, "names")) > 0);
        }
        json_decref(p);
}

TEST(default_argument_rules) {
        json_t *p = runtime_default(NULL, 0);
        size_t i;
        json_t *rule;

        /* clone only without namespace flags (argument 0, or 1 on s390) */
        CHECK(!allows(p, "clone"));
        CHECK_INT_EQ(count_rules(p, "clone"), 1);
        rule = first_rule(p, "clone");
        json_t *arg = json_array_get(json_object_get(rule, "args"), 0);
        CHECK_STR_EQ(json_string_value(json_object_get(arg, "op")), "SCMP_CMP_MASKED_EQ");
        CHECK_INT_EQ(json_integer_value(json_object_get(arg, "value")), 2114060288);
        CHECK_INT_EQ(json_integer_value(json_object_get(arg, "valueTwo")), 0);
#if defined(__s390__)
        CHECK_INT_EQ(json_integer_value(json_object_get(arg, "index")), 1);
#else
        CHECK_INT_EQ(json_integer_value(json_object_get(arg, "index")), 0);
#endif
        CHECK_INT_EQ(count_rules(p, "clone3"), 1);

        /* personality: five values, each its own rule */
        const json_int_t want[] = {0, 8, 0x20000, 0x20008, 0xffffffff};
        size_t seen = 0;
        json_array_foreach(json_object_get(p, "syscalls"), i, rule) {
                if (!names_contain(rule, "personality"))
                        continue;
                CHECK_INT_EQ(json_array_size(json_object_get(rule, "names")), 1);
                arg = json_array_get(json_object_get(rule, "args"), 0);
                CHECK_STR_EQ(json_string_value(json_object_get(arg, "op")), "SCMP_CMP_EQ");
                if (seen < ELEMENTSOF(want))
                        CHECK_INT_EQ(json_integer_value(json_object_get(arg, "value")), want[seen]);
                seen++;
        }
        CHECK_INT_EQ(seen, 5);
        CHECK(!allows(p, "personality"));

        /* socket: everything but AF_ALG (38) and AF_VSOCK (40) */
        CHECK(!allows(p, "socket"));
        CHECK_INT_EQ(count_rules(p, "socket"), 3);
        json_decref(p);
}

TEST(default_capabilities) {
        static const struct {
                const char *cap, *name;
        } cases[] = {
                {"CAP_SYS_ADMIN", "mount"},
                {"CAP_SYS_ADMIN", "unshare"},
                {"CAP_SYS_ADMIN", "setns"},
                {"CAP_SYS_ADMIN", "fsopen"},
                {"CAP_SYS_ADMIN", "syslog"},
                {"CAP_SYS_ADMIN", "quotactl"},
                {"CAP_SYS_BOOT", "reboot"},
                {"CAP_SYS_CHROOT", "chroot"},
                {"CAP_SYS_MODULE", "init_module"},
                {"CAP_SYS_MODULE", "finit_module"},
                {"CAP_SYS_MODULE", "delete_module"},
                {"CAP_SYS_PACCT", "acct"},
                {"CAP_SYS_PTRACE", "kcmp"},
                {"CAP_SYS_PTRACE", "pidfd_getfd"},
                {"CAP_SYS_RAWIO", "iopl"},
                {"CAP_SYS_RAWIO", "ioperm"},
                {"CAP_SYS_TIME", "settimeofday"},
                {"CAP_SYS_TIME", "clock_settime"},
                {"CAP_SYS_TTY_CONFIG", "vhangup"},
                {"CAP_SYS_NICE", "mbind"},
                {"CAP_SYS_NICE", "set_mempolicy"},
                {"CAP_SYSLOG", "syslog"},
                {"CAP_BPF", "bpf"},
                {"CAP_PERFMON", "perf_event_open"},
                {"CAP_DAC_READ_SEARCH", "open_by_handle_at"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *caps[] = {(char *) "CAP_CHOWN", (char *) cases[i].cap};
                json_t *with = runtime_default(caps, 2), *without = runtime_default(caps, 1);
                if (!allows(with, cases[i].name))
                        TEST_FAIL("%s not allowed with %s", cases[i].name, cases[i].cap);
                if (allows(without, cases[i].name))
                        TEST_FAIL("%s allowed without %s", cases[i].name, cases[i].cap);
                json_decref(with);
                json_decref(without);
        }
        /* kexec_load is never allowed, not even to CAP_SYS_BOOT */
        char *boot[] = {(char *) "CAP_SYS_BOOT"};
        json_t *p = runtime_default(boot, 1);
        CHECK_INT_EQ(count_rules(p, "kexec_load"), 0);
        json_decref(p);
}

TEST(default_sys_admin_clone) {
        char *caps[] = {(char *) "CAP_SYS_ADMIN"};
        json_t *p = runtime_default(caps, 1);

        CHECK(allows(p, "clone"));
        CHECK(allows(p, "clone3"));
        CHECK_INT_EQ(count_rules(p, "clone"), 1);
        CHECK_INT_EQ(count_rules(p, "clone3"), 1); /* no ENOSYS rule */
        json_decref(p);
}

TEST(default_names_known) {
        char *caps[] = {(char *) "CAP_SYS_ADMIN", (char *) "CAP_SYS_PTRACE", (char *) "CAP_SYS_NICE"};
        json_t *p = runtime_default(caps, ELEMENTSOF(caps));
        size_t i, j;
        json_t *rule, *n;

        json_array_foreach(json_object_get(p, "syscalls"), i, rule) json_array_foreach(
                json_object_get(rule, "names"), j, n) if (!seccomp_syscall_known(json_string_value(n)))
                TEST_FAIL("unknown name %s kept", json_string_value(n));
        json_decref(p);
}

TEST(default_kernel_and_arch_conditions) {
        static const char *const arches[] = {"SCMP_ARCH_S390X", "SCMP_ARCH_S390", NULL};
        struct seccomp_host old = {
                .arch = "amd64", .native = "SCMP_ARCH_X86_64", .arches = arches, .kernel = 4, .major = 4};
        struct seccomp_host s390 = {
                .arch = "s390x", .native = "SCMP_ARCH_S390X", .arches = arches, .kernel = 6, .major = 1};
        json_t *p = NULL;

        CHECK_INT_EQ(seccomp_default_profile(&old, NULL, 0, &p), 0);
        CHECK(!allows(p, "ptrace")); /* only from 4.8 on */
        CHECK(allows(p, "arch_prctl"));
        json_decref(p);

        CHECK_INT_EQ(seccomp_default_profile(&s390, NULL, 0, &p), 0);
        CHECK(allows(p, "ptrace"));
        CHECK(allows(p, "s390_runtime_instr"));
        CHECK(!allows(p, "arch_prctl"));
        json_t *arg = json_array_get(json_object_get(first_rule(p, "clone"), "args"), 0);
        CHECK_INT_EQ(json_integer_value(json_object_get(arg, "index")), 1);
        CHECK_INT_EQ(json_array_size(json_object_get(p, "architectures")), 2);
        json_decref(p);

        char *admin[] = {(char *) "CAP_SYS_ADMIN"};
        CHECK_INT_EQ(seccomp_default_profile(&s390, admin, 1, &p), 0);
        CHECK(allows(p, "clone"));
        CHECK_INT_EQ(count_rules(p, "clone"), 1);
        CHECK_INT_EQ(count_rules(p, "clone3"), 1);
        json_decref(p);
}

TEST(default_loads_into_libseccomp) {
        char *all[] = {
                (char *) "CAP_SYS_ADMIN",  (char *) "CAP_SYS_BOOT",       (char *) "CAP_SYS_CHROOT",
                (char *) "CAP_SYS_MODULE", (char *) "CAP_SYS_PACCT",      (char *) "CAP_SYS_PTRACE",
                (char *) "CAP_SYS_RAWIO",  (char *) "CAP_SYS_TIME",       (char *) "CAP_SYS_TTY_CONFIG",
                (char *) "CAP_SYS_NICE",   (char *) "CAP_SYSLOG",         (char *) "CAP_BPF",
                (char *) "CAP_PERFMON",    (char *) "CAP_DAC_READ_SEARCH"};
        json_t *p = runtime_default(NULL, 0);
        CHECK_INT_EQ(load_into_libseccomp(p), 0);
        json_decref(p);
        p = runtime_default(all, ELEMENTSOF(all));
        CHECK_INT_EQ(load_into_libseccomp(p), 0);
        json_decref(p);
}

/* ==== types ============================================================================== */

TEST(unconfined_and_unknown_types) {
        nl_error err = NL_ERROR_INIT;
        json_t *p = (json_t *) 1;
        int r;

        CHECK_INT_EQ(seccomp_profile_build("Unconfined", NULL, NULL, NULL, 0, &p, &err), 0);
        CHECK(p == NULL);
        p = build("Confined", NULL, NULL, NULL, 0, &r, &err);
        CHECK_INT_EQ(r, -EINVAL);
        CHECK(p == NULL);
        CHECK_STR_EQ(err.msg, "unknown seccomp profile type \"Confined\"");
        p = build("", NULL, NULL, NULL, 0, &r, &err);
        CHECK_INT_EQ(r, -EINVAL);
        nl_error_clear(&err);
}

/* ==== Localhost ========================================================================== */

static const char good_profile[] =
        "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 38,\n"
        " \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\"],\n"
        " \"syscalls\": [\n"
        "  {\"names\": [\"read\", \"write\", \"exit_group\", \"execve\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
        "   \"comment\": \"basics\"},\n"
        "  {\"name\": \"personality\", \"action\": \"SCMP_ACT_ALLOW\",\n"
        "   \"args\": [{\"index\": 0, \"value\": 8, \"op\": \"SCMP_CMP_EQ\"}]},\n"
        "  {\"names\": [\"mkdir\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13},\n"
        "  {\"names\": [\"ptrace\"], \"action\": \"SCMP_ACT_KILL_PROCESS\"},\n"
        "  {\"names\": [\"kill\"], \"action\": \"SCMP_ACT_LOG\", \"args\": [\n"
        "    {\"index\": 1, \"value\": 9, \"valueTwo\": 0, \"op\": \"SCMP_CMP_NE\"},\n"
        "    {\"index\": 0, \"value\": 255, \"valueTwo\": 1, \"op\": \"SCMP_CMP_MASKED_EQ\"}]}\n"
        " ]}\n";

TEST(localhost_good) {
        nl_error err = NL_ERROR_INIT;
        struct tmp t;
        json_t *p, *rule;
        int r;

        tmp_make(&t);
        if (mkdir(strcat(strcpy((char[128]){}, t.root), "/team"), 0755) < 0)
                abort();
        put(t.root, "team/good.json", good_profile);
        p = localhost(&t, "team/good.json", NULL, 0, &r, &err);
        CHECK_INT_EQ(r, 0);
        CHECK(err.msg == NULL);
        CHECK_STR_EQ(json_string_value(json_object_get(p, "defaultAction")), "SCMP_ACT_ERRNO");
        CHECK_INT_EQ(json_integer_value(json_object_get(p, "defaultErrnoRet")), 38);
        CHECK_INT_EQ(json_array_size(json_object_get(p, "architectures")), 2);
        CHECK_INT_EQ(json_array_size(json_object_get(p, "syscalls")), 5);
        CHECK(allows(p, "read"));
        rule = first_rule(p, "personality"); /* "name" became "names" */
        CHECK(json_is_array(json_object_get(rule, "names")));
        CHECK(json_object_get(rule, "name") == NULL);
        CHECK_INT_EQ(json_integer_value(
                             json_object_get(json_array_get(json_object_get(rule, "args"), 0), "valueTwo")),
                     0);
        CHECK(json_object_get(first_rule(p, "read"), "comment") == NULL);
        CHECK_INT_EQ(json_integer_value(json_object_get(first_rule(p, "mkdir"), "errnoRet")), 13);
        CHECK_INT_EQ(load_into_libseccomp(p), 0);
        json_decref(p);

        /* "./" components are harmless */
        p = localhost(&t, "./team//good.json", NULL, 0, &r, &err);
        CHECK_INT_EQ(r, 0);
        json_decref(p);
        nl_error_clear(&err);
        tmp_done(&t);
}

TEST(localhost_errors) {
        static const struct {
                const char *content, *msg;
        } cases[] = {
                {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [",
                 "seccomp profile \"p.json\": bad JSON"},
                {"[]", "seccomp profile \"p.json\": not a JSON object"},
                {"{}", "seccomp profile \"p.json\": defaultAction: missing"},
                {"{\"defaultAction\": \"SCMP_ACT_DENY\"}",
                 "seccomp profile \"p.json\": defaultAction: unknown action \"SCMP_ACT_DENY\""},
                {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"foo\"], "
                 "\"action\": \"SCMP_ACT_ALLOW\"}]}",
                 "seccomp profile \"p.json\": unknown syscall \"foo\""},
                {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], "
                 "\"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 1, \"op\": "
                 "\"SCMP_CMP_LIKE\"}]}]}",
                 "seccomp profile \"p.json\": syscalls[0].args[0].op: unknown operator \"SCMP_CMP_LIKE\""},
                {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], "
                 "\"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 6, \"value\": 1, \"op\": "
                 "\"SCMP_CMP_EQ\"}]}]}",
                 "seccomp profile \"p.json\": syscalls[0].args[0].index: not an integer in [0, 5]"},
                {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], "
                 "\"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": -1, \"op\": "
                 "\"SCMP_CMP_EQ\"}]}]}",
                 "seccomp profile \"p.json\": syscalls[0].args[0].value: not an integer"},
                {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], "
                 "\"action\": \"SCMP_ACT_ALLOW\", \"errnoRet\": 1}]}",
                 "seccomp profile \"p.json\": syscalls[0].errnoRet: only SCMP_ACT_ERRNO"},
                {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], \"name\": "
                 "\"write\", "
                 "\"action\": \"SCMP_ACT_ALLOW\"}]}",
                 "seccomp profile \"p.json\": syscalls[0]: both \"name\" and \"names\""},
                {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [], \"action\": "
                 "\"SCMP_ACT_ALLOW\"}]}",
                 "seccomp profile \"p.json\": syscalls[0]: no syscall names"},
                {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"]}]}",
                 "seccomp profile \"p.json\": syscalls[0].action: missing"},
                {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": [\"SCMP_ARCH_VAX\"]}",
                 "seccomp profile \"p.json\": unknown architecture \"SCMP_ARCH_VAX\""},
                {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": [\"SCMP_ARCH_X86_64\"], "
                 "\"archMap\": [{\"architecture\": \"SCMP_ARCH_X86_64\"}]}",
                 "seccomp profile \"p.json\": both \"architectures\" and \"archMap\""},
                {"{\"defaultAction\": \"SCMP_ACT_NOTIFY\"}",
                 "seccomp profile \"p.json\": defaultAction: SCMP_ACT_NOTIFY cannot be the default"},
                {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], "
                 "\"action\": \"SCMP_ACT_NOTIFY\"}]}",
                 "seccomp profile \"p.json\": SCMP_ACT_NOTIFY needs a listenerPath"},
                {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], "
                 "\"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"minKernel\": \"4\"}}]}",
                 "seccomp profile \"p.json\": syscalls[0].includes.minKernel: \"4\" is not"},
                {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultAction\": \"SCMP_ACT_ALLOW\"}",
                 "seccomp profile \"p.json\": bad JSON"},
                {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": {}}",
                 "seccomp profile \"p.json\": syscalls: not an array"},
                {"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"flags\": [\"SECCOMP_FILTER_FLAG_FAST\"]}",
                 "seccomp profile \"p.json\": flags: unknown flag \"SECCOMP_FILTER_FLAG_FAST\""},
        };
        nl_error err = NL_ERROR_INIT;
        struct tmp t;
        int r;

        tmp_make(&t);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                put(t.root, "p.json", cases[i].content);
                json_t *p = localhost(&t, "p.json", NULL, 0, &r, &err);
                if (r != -EINVAL || p || !err.msg ||
                    strncmp(err.msg, cases[i].msg, strlen(cases[i].msg)) != 0)
                        TEST_FAIL("case %zu: r=%d msg=\"%s\", want \"%s\"", i, r, strempty(err.msg),
                                  cases[i].msg);
                json_decref(p);
                nl_error_clear(&err);
        }
        tmp_done(&t);
}

TEST(localhost_missing_and_paths) {
        nl_error err = NL_ERROR_INIT;
        char path[160];
        struct tmp t;
        json_t *p = NULL;
        int r;

        tmp_make(&t);
        put(t.outer, "outside.json", good_profile);
        put(t.root, "inside.json", good_profile);

        p = localhost(&t, "missing.json", NULL, 0, &r, &err);
        CHECK_INT_EQ(r, -ENOENT);
        CHECK(p == NULL);
        CHECK(err.msg && strstr(err.msg, "seccomp profile \"missing.json\": cannot open under") &&
              strstr(err.msg, "No such file or directory"));

        p = localhost(&t, "../outside.json", NULL, 0, &r, &err);
        CHECK_INT_EQ(r, -EINVAL);
        CHECK_STR_EQ(
                err.msg,
                "seccomp profile \"../outside.json\": must be a relative path without \"..\" components");
        p = localhost(&t, "a/../../outside.json", NULL, 0, &r, &err);
        CHECK_INT_EQ(r, -EINVAL);

        snprintf(path, sizeof(path), "%s/outside.json", t.outer);
        p = localhost(&t, path, NULL, 0, &r, &err);
        CHECK_INT_EQ(r, -EINVAL);
        CHECK(p == NULL);

        p = localhost(&t, "", NULL, 0, &r, &err);
        CHECK_INT_EQ(r, -EINVAL);
        CHECK_STR_EQ(err.msg, "seccomp profile type Localhost needs a localhostProfile");
        p = build("Localhost", "inside.json", "", NULL, 0, &r, &err);
        CHECK_INT_EQ(r, -EINVAL);

        /* a directory is not a profile */
        p = localhost(&t, ".", NULL, 0, &r, &err);
        CHECK_INT_EQ(r, -EISDIR);

        /* symlinks out of the root, as the file and as a directory on the way */
        snprintf(path, sizeof(path), "%s/esc.json", t.root);
        CHECK_INT_EQ(symlink("../outside.json", path), 0);
        snprintf(path, sizeof(path), "%s/abs.json", t.root);
        char target[160];
        snprintf(target, sizeof(target), "%s/outside.json", t.outer);
        CHECK_INT_EQ(symlink(target, path), 0);
        snprintf(path, sizeof(path), "%s/up", t.root);
        CHECK_INT_EQ(symlink("..", path), 0);
        const char *escapes[] = {"esc.json", "abs.json", "up/outside.json", "up/root/esc.json"};
        for (size_t i = 0; i < ELEMENTSOF(escapes); i++) {
                p = localhost(&t, escapes[i], NULL, 0, &r, &err);
                if (p || (r != -EXDEV && r != -ELOOP))
                        TEST_FAIL("%s: r=%d", escapes[i], r);
                CHECK(err.msg && strstr(err.msg, "path escapes the profile root"));
                json_decref(p);
        }
        nl_error_clear(&err);
        tmp_done(&t);
}

TEST(open_beneath_modes) {
        struct tmp t;
        char path[160];
        int dirfd, fd;

        tmp_make(&t);
        put(t.outer, "outside.json", "{}");
        put(t.root, "inside.json", "{}");
        snprintf(path, sizeof(path), "%s/sub", t.root);
        CHECK_INT_EQ(mkdir(path, 0755), 0);
        put(path, "deep.json", "{}");
        snprintf(path, sizeof(path), "%s/link.json", t.root);
        CHECK_INT_EQ(symlink("inside.json", path), 0);
        snprintf(path, sizeof(path), "%s/esc.json", t.root);
        CHECK_INT_EQ(symlink("../outside.json", path), 0);
        snprintf(path, sizeof(path), "%s/sublink", t.root);
        CHECK_INT_EQ(symlink("sub", path), 0);
        snprintf(path, sizeof(path), "%s/fifo", t.root);
        CHECK_INT_EQ(mkfifo(path, 0600), 0);

        dirfd = open(t.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        CHECK(dirfd >= 0);
        for (int mode = 0; mode < _SECCOMP_OPEN_MAX; mode++) {
                bool walk = mode == SECCOMP_OPEN_WALK;
                fd = seccomp_open_beneath(dirfd, "inside.json", mode);
                CHECK(fd >= 0);
                close(fd);
                fd = seccomp_open_beneath(dirfd, "sub/deep.json", mode);
                CHECK(fd >= 0);
                close(fd);
                /* a symlink that stays inside: fine for openat2, refused by the walk */
                fd = seccomp_open_beneath(dirfd, "link.json", mode);
                if (walk)
                        CHECK_INT_EQ(fd, -ELOOP);
                else
                        CHECK(fd >= 0 || fd == -ELOOP);
                if (fd >= 0)
                        close(fd);
                fd = seccomp_open_beneath(dirfd, "sublink/deep.json", mode);
                if (walk)
                        CHECK_INT_EQ(fd, -ELOOP);
                else if (fd >= 0)
                        close(fd);
                fd = seccomp_open_beneath(dirfd, "esc.json", mode);
                CHECK(fd == -EXDEV || fd == -ELOOP);
                CHECK_INT_EQ(seccomp_open_beneath(dirfd, "../outside.json", mode), -EINVAL);
                CHECK_INT_EQ(seccomp_open_beneath(dirfd, "/etc/passwd", mode), -EINVAL);
                CHECK_INT_EQ(seccomp_open_beneath(dirfd, "inside.json/x", mode), -ENOTDIR);
                CHECK_INT_EQ(seccomp_open_beneath(dirfd, "sub", mode), -EISDIR);
                CHECK_INT_EQ(seccomp_open_beneath(dirfd, "sub/", mode), -EISDIR);
                CHECK_INT_EQ(seccomp_open_beneath(dirfd, "nope/x.json", mode), -ENOENT);
                /* a FIFO would block a plain O_RDONLY open */
                CHECK_INT_EQ(seccomp_open_beneath(dirfd, "fifo", mode), -EBADF);
        }
        close(dirfd);
        tmp_done(&t);
}

TEST(localhost_size_cap) {
        nl_error err = NL_ERROR_INIT;
        struct tmp t;
        char path[160];
        int r;

        tmp_make(&t);
        snprintf(path, sizeof(path), "%s/big.json", t.root);
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        CHECK(fd >= 0);
        CHECK_INT_EQ(ftruncate(fd, SECCOMP_PROFILE_MAX + 1), 0);
        close(fd);
        json_t *p = localhost(&t, "big.json", NULL, 0, &r, &err);
        CHECK_INT_EQ(r, -EFBIG);
        CHECK(p == NULL);
        CHECK(err.msg && strstr(err.msg, "seccomp profile \"big.json\": larger than"));
        nl_error_clear(&err);
        tmp_done(&t);
}

/* moby's conditional rules, against a fixed node so the test does not depend on this one */
static const char conditional_profile[] =
        "{\"defaultAction\": \"SCMP_ACT_ERRNO\",\n"
        " \"archMap\": [\n"
        "  {\"architecture\": \"SCMP_ARCH_AARCH64\", \"subArchitectures\": [\"SCMP_ARCH_ARM\"]},\n"
        "  {\"architecture\": \"SCMP_ARCH_X86_64\", \"subArchitectures\": [\"SCMP_ARCH_X86\", "
        "\"SCMP_ARCH_X32\"]}],\n"
        " \"syscalls\": [\n"
        "  {\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\"},\n"
        "  {\"names\": [\"arch_prctl\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"arches\": "
        "[\"amd64\", \"x32\"]}},\n"
        "  {\"names\": [\"set_tls\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"arches\": [\"arm\", "
        "\"arm64\"]}},\n"
        "  {\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"caps\": "
        "[\"CAP_SYS_ADMIN\"]}},\n"
        "  {\"names\": [\"reboot\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
        "   \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\", \"CAP_SYS_BOOT\"]}},\n"
        "  {\"names\": [\"clone\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
        "   \"args\": [{\"index\": 0, \"value\": 2114060288, \"op\": \"SCMP_CMP_MASKED_EQ\"}],\n"
        "   \"excludes\": {\"caps\": [\"CAP_SYS_ADMIN\"], \"arches\": [\"s390\", \"s390x\"]}},\n"
        "  {\"names\": [\"clone3\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 38,\n"
        "   \"excludes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}},\n"
        "  {\"names\": [\"ptrace\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"minKernel\": "
        "\"4.8\"}},\n"
        "  {\"names\": [\"kcmp\"], \"action\": \"SCMP_ACT_ALLOW\", \"excludes\": {\"minKernel\": "
        "\"5.10\"}},\n"
        "  {\"names\": [\"not_a_syscall_here\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"arches\": "
        "[\"vax\"]}}\n"
        " ]}\n";

TEST(localhost_includes_excludes) {
        static const char *const none[] = {NULL};
        const struct seccomp_host amd64 = {
                .arch = "amd64", .native = "SCMP_ARCH_X86_64", .arches = none, .kernel = 5, .major = 4};
        const struct seccomp_host arm64 = {
                .arch = "arm64", .native = "SCMP_ARCH_AARCH64", .arches = none, .kernel = 5, .major = 10};
        char *admin[] = {(char *) "CAP_SYS_ADMIN"}, *boot[] = {(char *) "CAP_SYS_BOOT"};
        nl_error err = NL_ERROR_INIT;
        json_t *p = NULL, *rule;
        size_t i;

        if (seccomp_profile_parse(conditional_profile, strlen(conditional_profile), "c.json", &amd64, boot,
                                  1, &p, &err) < 0) {
                TEST_FAIL("amd64: %s", err.msg);
                nl_error_clear(&err);
                return;
        }
        CHECK(allows(p, "read"));
        CHECK(allows(p, "arch_prctl"));
        CHECK(!allows(p, "set_tls"));
        CHECK(!allows(p, "mount"));
        CHECK(!allows(p, "reboot")); /* includes needs every cap */
        CHECK_INT_EQ(count_rules(p, "clone"), 1);
        CHECK_INT_EQ(count_rules(p, "clone3"), 1);
        CHECK(allows(p, "ptrace"));
        CHECK(allows(p, "kcmp"));
        CHECK_INT_EQ(count_rules(p, "not_a_syscall_here"), 0);
        json_t *arches = json_object_get(p, "architectures");
        CHECK_INT_EQ(json_array_size(arches), 3);
        CHECK_STR_EQ(json_string_value(json_array_get(arches, 0)), "SCMP_ARCH_X86_64");
        CHECK_STR_EQ(json_string_value(json_array_get(arches, 2)), "SCMP_ARCH_X32");
        json_array_foreach(json_object_get(p, "syscalls"), i, rule) {
                CHECK(json_object_get(rule, "includes") == NULL);
                CHECK(json_object_get(rule, "excludes") == NULL);
        }
        CHECK(json_object_get(p, "archMap") == NULL);
        json_decref(p);

        p = NULL;
        if (seccomp_profile_parse(conditional_profile, strlen(conditional_profile), "c.json", &arm64, admin,
                                  1, &p, &err) < 0) {
                TEST_FAIL("arm64: %s", err.msg);
                nl_error_clear(&err);
                return;
        }
        CHECK(!allows(p, "arch_prctl"));
        CHECK(allows(p, "mount"));
        CHECK_INT_EQ(count_rules(p, "clone"), 0);
        CHECK_INT_EQ(count_rules(p, "clone3"), 0);
        CHECK_INT_EQ(count_rules(p, "kcmp"), 0); /* excluded from 5.10 on */
        arches = json_object_get(p, "architectures");
        CHECK_INT_EQ(json_array_size(arches), 2);
        CHECK_STR_EQ(json_string_value(json_array_get(arches, 0)), "SCMP_ARCH_AARCH64");
        json_decref(p);
        nl_error_clear(&err);
}

/* The profile, or NULL after recording the failure. */
static json_t *parse_ok(const char *data, const char *name, const struct seccomp_host *host,
                        char *const *caps, size_t n_caps) {
        nl_error err = NL_ERROR_INIT;
        json_t *p = NULL;
        if (seccomp_profile_parse(data, strlen(data), name, host, caps, n_caps, &p, &err) < 0)
                TEST_FAIL("%s: %s", name, strempty(err.msg));
        nl_error_clear(&err);
        return p;
}

TEST(localhost_profiles_load_into_libseccomp) {
        struct seccomp_host host;
        char *admin[] = {(char *) "CAP_SYS_ADMIN"};
        json_t *p;

        seccomp_host_detect(&host);
        p = parse_ok(good_profile, "g.json", &host, NULL, 0);
        CHECK(p && load_into_libseccomp(p) == 0);
        json_decref(p);
        for (size_t n = 0; n <= 1; n++) {
                p = parse_ok(conditional_profile, "c.json", &host, admin, n);
                CHECK(p && load_into_libseccomp(p) == 0);
                json_decref(p);
        }

        /* The RuntimeDefault output read back as a Localhost profile is the same object. */
        json_t *def = runtime_default(NULL, 0);
        char *s = json_dumps(def, 0);
        p = s ? parse_ok(s, "d.json", &host, NULL, 0) : NULL;
        CHECK(p && json_equal(def, p));
        free(s);
        json_decref(def);
        json_decref(p);
}

/* The checker itself: a filter libseccomp refuses is reported. */
TEST(libseccomp_checker_catches_errors) {
        json_t *bad =
                json_loads("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": ["
                           "{\"names\": [\"no_such_call\"], \"action\": \"SCMP_ACT_ALLOW\"},"
                           "{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": ["
                           "{\"index\": 0, \"value\": 1, \"valueTwo\": 0, \"op\": \"SCMP_CMP_BOGUS\"}]}]}",
                           0, NULL);
        CHECK(bad != NULL);
        CHECK_INT_EQ(load_checked(bad, false), 2);
        json_decref(bad);
}
