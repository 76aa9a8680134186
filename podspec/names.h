/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "podspec.h"

#define NAMES_MAX_MSGS 8

size_t names_dns1123_label(const char *s, const char **msgs);
size_t names_dns1123_subdomain(const char *s, const char **msgs);
size_t names_qualified_name(const char *s, const char **msgs);
size_t names_label_value(const char *s, const char **msgs);
size_t names_port_name(const char *s, const char **msgs);
size_t names_env_var_name(const char *s, const char **msgs);
size_t names_config_map_key(const char *s, const char **msgs);
bool names_is_ip(const char *s);
bool names_is_sysctl_name(const char *s);
