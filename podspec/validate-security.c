/* SPDX-License-Identifier: Apache-2.0 */
/* Pod validation: security contexts, seccomp and AppArmor profiles, sysctls. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>

#include "validate-internal.h"

/* ---- security ---------------------------------------------------------------------------- */

static const char *const PROFILE_TYPES[] = { "Localhost", "RuntimeDefault", "Unconfined", NULL };

static void validate_seccomp(V *v, const struct pod_seccomp_profile *s) {
        if (!s)
                return;
        size_t o = vpush(v, "seccompProfile");
        if (isempty(s->type))
                verr(v, POD_ERROR_REQUIRED, "type", "type is required when seccompProfile is set");
        else if (!str_in(s->type, PROFILE_TYPES))
                verr_unsupported(v, "type", s->type, PROFILE_TYPES);
        else if (streq(s->type, "Localhost")) {
                if (!s->localhost_profile)
                        verr(v, POD_ERROR_REQUIRED, "localhostProfile", "must be set when seccomp type is Localhost");
                else
                        check_local_descending_path(v, "localhostProfile", s->localhost_profile);
        } else if (s->localhost_profile) {
                /* upstream dumps the Go struct here; we show the offending value */
                verr_str(v, POD_ERROR_INVALID, "localhostProfile", s->localhost_profile,
                         "can only be set when seccomp type is Localhost");
        }
        vpop(v, o);
}

static void validate_app_armor(V *v, const struct pod_app_armor_profile *a) {
        if (!a)
                return;
        size_t o = vpush(v, "appArmorProfile");
        if (isempty(a->type))
                verr(v, POD_ERROR_REQUIRED, "type", "type is required when appArmorProfile is set");
        else if (!str_in(a->type, PROFILE_TYPES))
                verr_unsupported(v, "type", a->type, PROFILE_TYPES);
        else if (streq(a->type, "Localhost")) {
                if (isempty(a->localhost_profile))
                        verr(v, POD_ERROR_REQUIRED, "localhostProfile", "must be set when AppArmor type is Localhost");
                else {
                        size_t n = strlen(a->localhost_profile);
                        if (isspace((unsigned char) a->localhost_profile[0]) ||
                            isspace((unsigned char) a->localhost_profile[n - 1]))
                                verr_str(v, POD_ERROR_INVALID, "localhostProfile", a->localhost_profile,
                                         "must not be padded with whitespace");
                }
        } else if (a->localhost_profile)
                verr_str(v, POD_ERROR_INVALID, "localhostProfile", a->localhost_profile,
                         "can only be set when AppArmor type is Localhost");
        vpop(v, o);
}

/* Upstream prints the whole SecurityContext (%#v) as the value of this error. */
static void verr_security_context(V *v, const struct pod_security_context *sc, const char *detail) {
        json_t *j = json_object();
        if (sc->privileged.set)
                json_object_set_new(j, "privileged", json_boolean(sc->privileged.v));
        if (sc->allow_privilege_escalation.set)
                json_object_set_new(j, "allowPrivilegeEscalation", json_boolean(sc->allow_privilege_escalation.v));
        _cleanup_free_ char *s = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        verr_v(v, POD_ERROR_INVALID, NULL, strempty(s), detail);
}

void validate_security_context(V *v, const struct pod_security_context *sc, const struct pod_spec *spec) {
        if (!sc)
                return;
        size_t o = vpush(v, "securityContext");
        check_user_id(v, "runAsUser", sc->run_as_user);
        check_user_id(v, "runAsGroup", sc->run_as_group);
        if (sc->proc_mount) {
                static const char *const modes[] = { "Default", "Unmasked", NULL };
                if (!str_in(sc->proc_mount, modes))
                        verr_unsupported(v, "procMount", sc->proc_mount, modes);
                else if (streq(sc->proc_mount, "Unmasked") && !opt_false(spec->host_users))
                        verr_str(v, POD_ERROR_INVALID, "procMount", "Unmasked",
                                 "`hostUsers` must be false to use `Unmasked`");
        }
        validate_seccomp(v, sc->seccomp_profile);
        validate_app_armor(v, sc->app_armor_profile);
        if (opt_false(sc->allow_privilege_escalation)) {
                if (opt_true(sc->privileged))
                        verr_security_context(v, sc,
                                              "cannot set `allowPrivilegeEscalation` to false and `privileged` to true");
                if (sc->capabilities)
                        for (size_t i = 0; i < sc->capabilities->n_add; i++)
                                if (streq(sc->capabilities->add[i], "CAP_SYS_ADMIN"))
                                        verr_security_context(v, sc,
                                                              "cannot set `allowPrivilegeEscalation` to false and "
                                                              "`capabilities.Add` CAP_SYS_ADMIN");
        }
        if (sc->windows_options && spec->os && streq_ptr(spec->os->name, "linux"))
                verr(v, POD_ERROR_FORBIDDEN, "windowsOptions", "windows options cannot be set for a linux pod");
        vpop(v, o);
}

static bool is_ipc_sysctl(const char *n) {
        return strncmp(n, "kernel.shm", 10) == 0 || strncmp(n, "kernel.msg", 10) == 0 || streq(n, "kernel.sem") ||
               strncmp(n, "fs.mqueue.", 10) == 0;
}

static void validate_sysctls(V *v, const struct pod_spec *spec) {
        const struct pod_pod_security_context *sc = spec->security_context;
        for (size_t i = 0; i < sc->n_sysctls; i++) {
                const struct pod_sysctl *s = &sc->sysctls[i];
                size_t o = vpush(v, "sysctls[%zu]", i);
                if (isempty(s->name))
                        verr(v, POD_ERROR_REQUIRED, "name", NULL);
                else if (!names_is_sysctl_name(s->name))
                        verr_str(v, POD_ERROR_INVALID, "name", s->name,
                                 "must have at most 253 characters and match regex "
                                 "^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$");
                else {
                        bool dup = false;
                        for (size_t k = 0; k < i; k++)
                                dup = dup || streq_ptr(sc->sysctls[k].name, s->name);
                        if (dup)
                                verr_str(v, POD_ERROR_DUPLICATE, "name", s->name, NULL);
                }
                if (!isempty(s->name)) {
                        if (opt_true(spec->host_network) && strncmp(s->name, "net.", 4) == 0)
                                verr_str(v, POD_ERROR_INVALID, "name", s->name,
                                         "may not be specified when 'hostNetwork' is true");
                        if (opt_true(spec->host_ipc) && is_ipc_sysctl(s->name))
                                verr_str(v, POD_ERROR_INVALID, "name", s->name,
                                         "may not be specified when 'hostIPC' is true");
                }
                /* Not an API server rule: a value carrying '+' or '=' could smuggle a second
                 * sysctl into a runtime that passes "name=value" pairs (CVE-2022-0811), and
                 * no namespaced sysctl needs either character. Refused here for every runtime. */
                if (s->value && strpbrk(s->value, "+=\n"))
                        verr_str(v, POD_ERROR_INVALID, "value", s->value,
                                 "must not contain '+', '=' or a newline");
                vpop(v, o);
        }
}

void validate_pod_security_context(V *v, const struct pod_spec *spec) {
        const struct pod_pod_security_context *sc = spec->security_context;
        if (!sc)
                return;
        size_t o = vpush(v, "securityContext");
        check_user_id(v, "runAsUser", sc->run_as_user);
        check_user_id(v, "runAsGroup", sc->run_as_group);
        check_user_id(v, "fsGroup", sc->fs_group);
        for (size_t i = 0; i < sc->n_supplemental_groups; i++) {
                _cleanup_free_ char *c = nl_strdupf("supplementalGroups[%zu]", i);
                check_user_id(v, c, (nl_opt_int){ true, sc->supplemental_groups[i] });
        }
        if (opt_true(spec->share_process_namespace) && opt_true(spec->host_pid))
                verr_v(v, POD_ERROR_INVALID, "shareProcessNamespace", "true",
                       "ShareProcessNamespace and HostPID cannot both be enabled");
        validate_sysctls(v, spec);
        if (sc->fs_group_change_policy) {
                static const char *const p[] = { "Always", "OnRootMismatch", NULL };
                if (!str_in(sc->fs_group_change_policy, p))
                        verr_unsupported(v, "fsGroupChangePolicy", sc->fs_group_change_policy, p);
        }
        if (sc->supplemental_groups_policy) {
                static const char *const p[] = { "Merge", "Strict", NULL };
                if (!str_in(sc->supplemental_groups_policy, p))
                        verr_unsupported(v, "supplementalGroupsPolicy", sc->supplemental_groups_policy, p);
        }
        if (sc->se_linux_change_policy) {
                static const char *const p[] = { "MountOption", "Recursive", NULL };
                if (!str_in(sc->se_linux_change_policy, p))
                        verr_unsupported(v, "seLinuxChangePolicy", sc->se_linux_change_policy, p);
        }
        validate_seccomp(v, sc->seccomp_profile);
        validate_app_armor(v, sc->app_armor_profile);
        if (sc->windows_options && spec->os && streq_ptr(spec->os->name, "linux"))
                verr(v, POD_ERROR_FORBIDDEN, "windowsOptions", "windows options cannot be set for a linux pod");
        vpop(v, o);
}
