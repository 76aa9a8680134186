/* SPDX-License-Identifier: Apache-2.0 */
/* The RuntimeDefault seccomp profile: containerd's DefaultProfile() (contrib/seccomp, v2.3),
 * as a table of rules with the conditions containerd attaches to them, and a builder that
 * keeps the rules whose conditions hold for this node and container. The names, actions and
 * argument values are containerd's; docker's default.json (moby/profiles) says the same but
 * files the lsm_* calls under CAP_SYS_ADMIN, where containerd allows them to everyone. */
#include <sched.h>
#include <seccomp.h>
#include <sys/socket.h>

#include "seccomp-internal.h"

#define NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})

struct default_arg {
        unsigned index;
        uint64_t value, value_two;
        const char *op;
};

struct default_rule {
        const char *const *names;
        const char *action;               /* NULL: SCMP_ACT_ALLOW */
        int errno_ret;                    /* > 0: "errnoRet" */
        const struct default_arg *arg;    /* the one argument condition, or NULL */
        const char *const *if_arches;     /* only on these architectures (moby names) */
        const char *const *unless_arches; /* not on these */
        const char *if_cap;               /* only when the bounding set has it */
        const char *unless_cap;           /* only when the bounding set lacks it */
        unsigned min_kernel, min_major;   /* only on kernels at least this */
};

/* clone() may not create namespaces without CAP_SYS_ADMIN. */
#define CLONE_NAMESPACES                                                                                    \
        ((uint64_t) (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |             \
                     CLONE_NEWNET | CLONE_NEWCGROUP))

/* clang-format off */
static const char *const allowed[] = {
        "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget",
        "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64",
        "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
        "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat", "dup",
        "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
        "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat",
        "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
        "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat",
        "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr",
        "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
        "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv",
        "futex_wake", "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid",
        "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32",
        "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority",
        "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit",
        "get_robust_list", "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area",
        "gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "getxattrat", "inotify_add_watch",
        "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy",
        "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set",
        "io_setup", "io_submit", "ipc", "kill", "landlock_add_rule", "landlock_create_ruleset",
        "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen",
        "listmount", "listxattr", "listxattrat", "llistxattr", "_llseek", "lremovexattr", "lseek",
        "lsetxattr", "lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr", "lstat", "lstat64",
        "madvise", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat",
        "mknod", "mknodat", "mlock", "mlock2", "mlockall", "map_shadow_stack", "mmap", "mmap2",
        "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
        "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap",
        "mseal", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap",
        "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open", "openat", "openat2",
        "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free",
        "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2",
        "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev",
        "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom",
        "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "removexattrat",
        "rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction",
        "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
        "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity",
        "sched_getattr", "sched_getparam", "sched_get_priority_max", "sched_get_priority_min",
        "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
        "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield",
        "seccomp", "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send",
        "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32",
        "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer",
        "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
        "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid",
        "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr",
        "setxattrat", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd",
        "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat",
        "stat64", "statfs", "statfs64", "statmount", "statx", "symlink", "symlinkat", "sync",
        "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create",
        "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
        "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
        "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate", "truncate64",
        "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "uretprobe", "utime", "utimensat",
        "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write",
        "writev", NULL,
};
/* clang-format on */

/* socket() for every address family but AF_ALG and AF_VSOCK, as three single-condition
 * rules: runc and crun turn two conditions on one argument into two rules (an OR). */
static const struct default_arg socket_below_alg = {0, AF_ALG, 0, "SCMP_CMP_LT"};
static const struct default_arg socket_between = {0, AF_ALG + 1, 0, "SCMP_CMP_EQ"};
static const struct default_arg socket_above_vsock = {0, AF_VSOCK, 0, "SCMP_CMP_GT"};

/* personality(): PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32 and the query. */
static const struct default_arg personality_args[] = {
        {0, 0x0, 0, "SCMP_CMP_EQ"},     {0, 0x0008, 0, "SCMP_CMP_EQ"},     {0, 0x20000, 0, "SCMP_CMP_EQ"},
        {0, 0x20008, 0, "SCMP_CMP_EQ"}, {0, 0xffffffff, 0, "SCMP_CMP_EQ"},
};

/* The flags are clone's first argument everywhere but on s390, where they are the second. */
static const struct default_arg clone_flags_arg0 = {0, CLONE_NAMESPACES, 0, "SCMP_CMP_MASKED_EQ"};
static const struct default_arg clone_flags_arg1 = {1, CLONE_NAMESPACES, 0, "SCMP_CMP_MASKED_EQ"};

static const struct default_rule default_rules[] = {
        {.names = allowed},
        {.names = NAMES("socket"), .arg = &socket_below_alg},
        {.names = NAMES("socket"), .arg = &socket_between},
        {.names = NAMES("socket"), .arg = &socket_above_vsock},
        {.names = NAMES("personality"), .arg = &personality_args[0]},
        {.names = NAMES("personality"), .arg = &personality_args[1]},
        {.names = NAMES("personality"), .arg = &personality_args[2]},
        {.names = NAMES("personality"), .arg = &personality_args[3]},
        {.names = NAMES("personality"), .arg = &personality_args[4]},
        {.names = NAMES("process_vm_readv", "process_vm_writev", "ptrace"), .min_kernel = 4, .min_major = 8},

        {.names = NAMES("sync_file_range2", "swapcontext"), .if_arches = NAMES("ppc64le")},
        {.names = NAMES("arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint",
                        "cacheflush", "set_tls"),
         .if_arches = NAMES("arm", "arm64")},
        {.names = NAMES("arch_prctl", "modify_ldt"), .if_arches = NAMES("amd64")},
        {.names = NAMES("modify_ldt"), .if_arches = NAMES("x86")},
        {.names = NAMES("s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"),
         .if_arches = NAMES("s390", "s390x")},
        {.names = NAMES("riscv_flush_icache", "riscv_hwprobe"), .if_arches = NAMES("riscv64")},

        {.names = NAMES("open_by_handle_at"), .if_cap = "CAP_DAC_READ_SEARCH"},
        {.names = NAMES("bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
                        "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree",
                        "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname",
                        "setns", "syslog", "umount", "umount2", "unshare"),
         .if_cap = "CAP_SYS_ADMIN"},
        {.names = NAMES("reboot"), .if_cap = "CAP_SYS_BOOT"},
        {.names = NAMES("chroot"), .if_cap = "CAP_SYS_CHROOT"},
        {.names = NAMES("delete_module", "init_module", "finit_module"), .if_cap = "CAP_SYS_MODULE"},
        {.names = NAMES("acct"), .if_cap = "CAP_SYS_PACCT"},
        {.names = NAMES("kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev",
                        "ptrace"),
         .if_cap = "CAP_SYS_PTRACE"},
        {.names = NAMES("iopl", "ioperm"), .if_cap = "CAP_SYS_RAWIO"},
        {.names = NAMES("settimeofday", "stime", "clock_settime", "clock_settime64"),
         .if_cap = "CAP_SYS_TIME"},
        {.names = NAMES("vhangup"), .if_cap = "CAP_SYS_TTY_CONFIG"},
        {.names = NAMES("get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"),
         .if_cap = "CAP_SYS_NICE"},
        {.names = NAMES("syslog"), .if_cap = "CAP_SYSLOG"},
        {.names = NAMES("bpf"), .if_cap = "CAP_BPF"},
        {.names = NAMES("perf_event_open"), .if_cap = "CAP_PERFMON"},

        {.names = NAMES("clone"),
         .arg = &clone_flags_arg1,
         .if_arches = NAMES("s390", "s390x"),
         .unless_cap = "CAP_SYS_ADMIN"},
        {.names = NAMES("clone"),
         .arg = &clone_flags_arg0,
         .unless_arches = NAMES("s390", "s390x"),
         .unless_cap = "CAP_SYS_ADMIN"},
        /* ENOSYS, not EPERM, so that glibc falls back to clone() (moby/moby#42681). */
        {.names = NAMES("clone3"),
         .action = "SCMP_ACT_ERRNO",
         .errno_ret = ENOSYS,
         .unless_cap = "CAP_SYS_ADMIN"},
};

static bool strv_contains(const char *const *l, const char *s) {
        if (!s)
                return false;
        for (; l && *l; l++)
                if (streq(*l, s))
                        return true;
        return false;
}

static bool caps_contain(char *const *caps, size_t n_caps, const char *cap) {
        for (size_t i = 0; i < n_caps; i++)
                if (caps[i] && streq(caps[i], cap))
                        return true;
        return false;
}

static bool rule_applies(const struct default_rule *r, const struct seccomp_host *host, char *const *caps,
                         size_t n_caps) {
        if (r->if_arches && !strv_contains(r->if_arches, host->arch))
                return false;
        if (r->unless_arches && strv_contains(r->unless_arches, host->arch))
                return false;
        if (r->if_cap && !caps_contain(caps, n_caps, r->if_cap))
                return false;
        if (r->unless_cap && caps_contain(caps, n_caps, r->unless_cap))
                return false;
        if (r->min_kernel > 0 &&
            (host->kernel < r->min_kernel || (host->kernel == r->min_kernel && host->major < r->min_major)))
                return false;
        return true;
}

/* The rule as OCI JSON; *ret stays NULL when libseccomp knows none of its names. */
static int rule_to_json(const struct default_rule *r, json_t **ret) {
        json_t *names = json_array();
        json_t *rule = NULL;

        *ret = NULL;
        if (!names)
                return -ENOMEM;
        for (const char *const *n = r->names; *n; n++) {
                if (!seccomp_syscall_known(*n))
                        continue; /* runc and crun skip these too; crun 1.8 warns for each */
                if (json_array_append_new(names, json_string(*n)) < 0)
                        goto oom;
        }
        if (json_array_size(names) == 0) {
                json_decref(names);
                return 0;
        }

        rule = json_pack("{s:o, s:s}", "names", names, "action", r->action ?: "SCMP_ACT_ALLOW");
        names = NULL; /* "o" stole it, even on failure */
        if (!rule)
                goto oom;
        if (r->errno_ret > 0 && json_object_set_new(rule, "errnoRet", json_integer(r->errno_ret)) < 0)
                goto oom;
        if (r->arg) {
                json_t *args = json_pack("[{s:I, s:I, s:I, s:s}]", "index", (json_int_t) r->arg->index,
                                         "value", (json_int_t) r->arg->value, "valueTwo",
                                         (json_int_t) r->arg->value_two, "op", r->arg->op);
                if (!args || json_object_set_new(rule, "args", args) < 0)
                        goto oom;
        }
        *ret = rule;
        return 0;
oom:
        json_decref(names);
        json_decref(rule);
        return -ENOMEM;
}

int seccomp_default_profile(const struct seccomp_host *host, char *const *caps, size_t n_caps,
                            json_t **ret) {
        json_t *profile = NULL, *arches, *syscalls;

        arches = json_array();
        if (!arches)
                return -ENOMEM;
        for (const char *const *a = host->arches; a && *a; a++)
                if (json_array_append_new(arches, json_string(*a)) < 0) {
                        json_decref(arches);
                        return -ENOMEM;
                }

        /* containerd leaves defaultErrnoRet out, which runc and crun read as EPERM; docker's
         * default.json says 1 outright, and so do we. */
        profile = json_pack("{s:s, s:i, s:o, s:[]}", "defaultAction", "SCMP_ACT_ERRNO", "defaultErrnoRet",
                            EPERM, "architectures", arches, "syscalls");
        if (!profile)
                return -ENOMEM;
        syscalls = json_object_get(profile, "syscalls");

        for (size_t i = 0; i < ELEMENTSOF(default_rules); i++) {
                json_t *rule;

                if (!rule_applies(&default_rules[i], host, caps, n_caps))
                        continue;
                if (rule_to_json(&default_rules[i], &rule) < 0 ||
                    (rule && json_array_append_new(syscalls, rule) < 0)) {
                        json_decref(profile);
                        return -ENOMEM;
                }
        }

        *ret = profile;
        return 0;
}
