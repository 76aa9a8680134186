/* SPDX-License-Identifier: Apache-2.0 */
/* The registry client's settings (struct registry_config), built from `nodelet run`'s and
 * `nodelet images`' flags and the config file alike. */
#include "common/strv.h"
#include "image.h"

static struct registry_host_config *host_config(struct registry_config *c, const char *host) {
        for (size_t i = 0; i < c->n_hosts; i++)
                if (streq(c->hosts[i].host, host))
                        return &c->hosts[i];
        struct registry_host_config *n = realloc(c->hosts, (c->n_hosts + 1) * sizeof(*n));
        if (!n)
                return NULL;
        c->hosts = n;
        c->hosts[c->n_hosts] = (struct registry_host_config){ .host = strdup(host) };
        if (!c->hosts[c->n_hosts].host)
                return NULL;
        return &c->hosts[c->n_hosts++];
}

void registry_config_done(struct registry_config *c) {
        for (size_t i = 0; i < c->n_hosts; i++) {
                free(c->hosts[i].host);
                free(c->hosts[i].ca_file);
                strv_free_n(c->hosts[i].mirrors, c->hosts[i].n_mirrors);
        }
        free(c->hosts);
        free(c->auth_file);
        *c = (struct registry_config){};
}

int registry_config_add(struct registry_config *c, const char *kind, const char *arg, nl_error *err) {
        if (streq(kind, "insecure")) {
                struct registry_host_config *h = host_config(c, arg);
                if (!h)
                        return -ENOMEM;
                h->insecure = true;
                return 0;
        }
        const char *eq = strchr(arg, '=');
        if (!eq || eq == arg || !eq[1])
                return nl_error_set(err, -EINVAL, "--registry-%s takes HOST=%s, not \"%s\"", kind,
                                    streq(kind, "ca") ? "FILE" : "URL", arg);
        _cleanup_free_ char *host = strndup(arg, (size_t) (eq - arg));
        struct registry_host_config *h = host ? host_config(c, host) : NULL;
        if (!h)
                return -ENOMEM;
        if (streq(kind, "ca")) {
                free(h->ca_file);
                h->ca_file = strdup(eq + 1);
                return h->ca_file ? 0 : -ENOMEM;
        }
        return strv_push(&h->mirrors, &h->n_mirrors, eq + 1);
}
