/* SPDX-License-Identifier: Apache-2.0 */
/* seccomp: pieces of seccomp_profile_build() that tests and the fuzz target reach directly. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "../common/util.h"

/* A Localhost profile is read whole; past this it is refused. */
#define SECCOMP_PROFILE_MAX (1024u * 1024u)

/* What a profile is evaluated against: this node's architecture and kernel. */
struct seccomp_host {
        /* The name moby's "includes"/"excludes" filters use for this architecture ("amd64",
         * "arm64", "x86", "s390x", ...), NULL when it has none. */
        const char *arch;
        /* The SCMP_ARCH_ constant that picks this node's "archMap" entry, or NULL. */
        const char *native;
        /* The RuntimeDefault "architectures" list, as containerd's arches(); NULL-terminated,
         * possibly empty (then the runtime filters the native ABI only). */
        const char *const *arches;
        /* Kernel version and major revision ("6.18" of "6.18.44-foo"), for minKernel. */
        unsigned kernel, major;
};

/* This node, as compiled for and as uname() reports it. */
void seccomp_host_detect(struct seccomp_host *ret);

/* True when libseccomp on this node knows the syscall name (on any architecture: names of
 * other ABIs, such as "chown32" on x86_64, resolve to pseudo numbers and count as known). */
bool seccomp_syscall_known(const char *name);

/* containerd's DefaultProfile() for host and the bounding set caps, without the names
 * libseccomp does not know. -ENOMEM is the only failure. */
int seccomp_default_profile(const struct seccomp_host *host, char *const *caps, size_t n_caps, json_t **ret);

/* The Localhost parser: a docker/moby or OCI profile in data (size bytes, no NUL needed)
 * to the normalized OCI "linux.seccomp" object, includes/excludes evaluated against host
 * and caps. name is the profile's path as the pod gave it, for messages. */
int seccomp_profile_parse(const char *data, size_t size, const char *name, const struct seccomp_host *host,
                          char *const *caps, size_t n_caps, json_t **ret, nl_error *err);

/* How seccomp_open_beneath() resolves the path. */
enum seccomp_open_mode {
        SECCOMP_OPEN_AUTO, /* openat2(RESOLVE_BENEATH), the component walk when the kernel lacks it */
        SECCOMP_OPEN_WALK, /* the component walk only (tests) */
        _SECCOMP_OPEN_MAX,
        _SECCOMP_OPEN_INVALID = -EINVAL,
};

/* Open the regular file at the relative path under dirfd for reading, never leaving dirfd:
 * absolute paths and ".." components are -EINVAL; a symlink that points out is -EXDEV under
 * openat2, and the walk refuses every symlink (-ELOOP). Returns the fd or -errno. */
int seccomp_open_beneath(int dirfd, const char *path, enum seccomp_open_mode mode);
