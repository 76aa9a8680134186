/* SPDX-License-Identifier: Apache-2.0 */
/* Localhost seccomp profiles: any bytes to seccomp_profile_parse, against two made-up nodes and
 * with and without capabilities, so both sides of every includes/excludes filter run. What parses
 * must be a well-formed OCI object whose names all resolve, and must parse back to itself;
 * errors must name the profile. */
#include <stdio.h>
#include <stdlib.h>

#include "cri/seccomp-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME "fuzz.json"
#define PREFIX "seccomp profile \"" NAME "\": "

static const char *const no_arches[] = {NULL};
static const struct seccomp_host hosts[] = {
        {.arch = "amd64", .native = "SCMP_ARCH_X86_64", .arches = no_arches, .kernel = 4, .major = 4},
        {.arch = "s390x", .native = "SCMP_ARCH_S390X", .arches = no_arches, .kernel = 6, .major = 8},
};

static char *const all_caps[] = {
        (char *) "CAP_SYS_ADMIN", (char *) "CAP_SYS_BOOT", (char *) "CAP_SYS_PTRACE",
        (char *) "CAP_SYS_NICE",  (char *) "CAP_SYSLOG",   (char *) "CAP_BPF",
        (char *) "CAP_PERFMON",   (char *) "CAP_SYS_TIME", (char *) "CAP_DAC_READ_SEARCH",
};

static void check(bool ok, const char *what) {
        if (ok)
                return;
        fprintf(stderr, "fuzz-seccomp-profile: %s\n", what);
        abort();
}

static void check_profile(json_t *p) {
        size_t i, j;
        json_t *rule, *e;

        check(json_is_object(p), "not an object");
        check(json_is_string(json_object_get(p, "defaultAction")), "no defaultAction");
        check(json_is_array(json_object_get(p, "architectures")), "no architectures");
        check(json_is_array(json_object_get(p, "syscalls")), "no syscalls");
        check(!json_object_get(p, "archMap"), "archMap left in");
        json_array_foreach(json_object_get(p, "syscalls"), i, rule) {
                check(json_is_string(json_object_get(rule, "action")), "rule without action");
                check(json_array_size(json_object_get(rule, "names")) > 0, "rule without names");
                check(!json_object_get(rule, "includes") && !json_object_get(rule, "excludes") &&
                              !json_object_get(rule, "name") && !json_object_get(rule, "comment"),
                      "moby keys left in");
                json_array_foreach(json_object_get(rule, "names"), j, e)
                        check(seccomp_syscall_known(json_string_value(e)), "unknown syscall kept");
                check(json_array_size(json_object_get(rule, "args")) <= 6, "more than six conditions");
                json_array_foreach(json_object_get(rule, "args"), j, e) {
                        json_int_t idx = json_integer_value(json_object_get(e, "index"));
                        check(idx >= 0 && idx < 6, "argument index out of range");
                        check(json_is_integer(json_object_get(e, "value")) &&
                                      json_is_integer(json_object_get(e, "valueTwo")) &&
                                      json_is_string(json_object_get(e, "op")),
                              "argument condition incomplete");
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > SECCOMP_PROFILE_MAX)
                return 0;

        for (size_t h = 0; h < ELEMENTSOF(hosts); h++)
                for (size_t n_caps = 0; n_caps <= ELEMENTSOF(all_caps); n_caps += ELEMENTSOF(all_caps)) {
                        nl_error err = NL_ERROR_INIT;
                        json_t *p = NULL, *again = NULL;
                        char *s;

                        if (seccomp_profile_parse((const char *) data, size, NAME, &hosts[h], all_caps,
                                                  n_caps, &p, &err) < 0) {
                                check(err.code < 0 && err.msg, "error without a message");
                                check(strncmp(err.msg, PREFIX, strlen(PREFIX)) == 0,
                                      "error does not name the profile");
                                check(p == NULL, "output written on failure");
                                nl_error_clear(&err);
                                continue;
                        }
                        check_profile(p);

                        s = json_dumps(p, JSON_COMPACT);
                        check(s != NULL, "cannot print the profile");
                        check(seccomp_profile_parse(s, strlen(s), NAME, &hosts[h], all_caps, n_caps, &again,
                                                    &err) == 0,
                              "normalized profile does not parse");
                        check(json_equal(p, again), "normalized profile is not a fixed point");
                        free(s);
                        json_decref(again);
                        json_decref(p);
                }
        return 0;
}
