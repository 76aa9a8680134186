/* SPDX-License-Identifier: Apache-2.0 */
/* kube-apiserver's defaults for a v1 Pod, as pkg/apis/core/v1/defaults.go sets them
 * (SetDefaults_Pod, _PodSpec, _Container, _ContainerPort, _Probe, _HTTPGetAction, _Volume,
 * the volume sources, _ObjectFieldSelector, _ServiceAccountTokenProjection). */
#include "internal.h"

#define DEFAULT_MODE 0644 /* SecretVolumeSourceDefaultMode and friends */

static int set_str(char **field, const char *value) {
        if (*field)
                return 0;
        *field = strdup(value);
        return *field ? 0 : -ENOMEM;
}

static void set_int(nl_opt_int *field, int64_t value) {
        if (!field->set)
                *field = (nl_opt_int){ true, value };
}

/* Probe thresholds are defaulted when zero, not only when absent (SetDefaults_Probe). */
static void set_int_if_zero(nl_opt_int *field, int64_t value) {
        if (!field->set || field->v == 0)
                *field = (nl_opt_int){ true, value };
}

static void set_bool(nl_opt_bool *field, bool value) {
        if (!field->set)
                *field = (nl_opt_bool){ true, value };
}

/* The tag of an image reference the way parsers.ParseImageName reports it: the tag after the
 * last '/', "" when only a digest is given, "latest" when neither is. */
static const char *image_tag(const char *image, char **ret_buf) {
        *ret_buf = NULL;
        if (isempty(image))
                return "";
        const char *at = strchr(image, '@');
        size_t len = at ? (size_t) (at - image) : strlen(image);
        const char *slash = memrchr(image, '/', len);
        const char *name = slash ? slash + 1 : image;
        const char *colon = memchr(name, ':', len - (size_t) (name - image));
        if (colon) {
                *ret_buf = strndup(colon + 1, len - (size_t) (colon + 1 - image));
                return *ret_buf ? *ret_buf : "";
        }
        return at ? "" : "latest";
}

static int default_http_get(struct pod_http_get_action *h) {
        if (!h)
                return 0;
        if (set_str(&h->path, "/") < 0 || set_str(&h->scheme, "HTTP") < 0)
                return -ENOMEM;
        return 0;
}

static int default_probe(struct pod_probe *p) {
        if (!p)
                return 0;
        if (p->grpc && set_str(&p->grpc->service, "") < 0)
                return -ENOMEM;
        set_int_if_zero(&p->timeout_seconds, 1);
        set_int_if_zero(&p->period_seconds, 10);
        set_int_if_zero(&p->success_threshold, 1);
        set_int_if_zero(&p->failure_threshold, 3);
        return default_http_get(p->http_get);
}

static int default_lifecycle_handler(struct pod_lifecycle_handler *h) {
        return h ? default_http_get(h->http_get) : 0;
}

static int default_field_selector(struct pod_object_field_selector *s) {
        return s ? set_str(&s->api_version, "v1") : 0;
}

/* The API server keeps resource quantities at milli precision, rounding up ("0.0001" -> 1m). */
static void round_to_milli(struct pod_resource *items, size_t n) {
        const __int128 milli = 1000000; /* nano units per milli */
        for (size_t i = 0; i < n; i++) {
                __int128 v = items[i].q.nano, rem = v % milli;
                if (rem != 0)
                        items[i].q.nano = v - rem + (v > 0 ? milli : 0);
        }
}

static int copy_limits_to_requests(struct pod_resource_requirements *r) {
        if (!r)
                return 0;
        round_to_milli(r->limits, r->n_limits);
        round_to_milli(r->requests, r->n_requests);
        /* SetDefaults_Pod: a limit without a request sets the request to the limit. */
        for (size_t i = 0; i < r->n_limits; i++) {
                bool found = false;
                for (size_t k = 0; k < r->n_requests; k++)
                        if (streq(r->requests[k].name, r->limits[i].name))
                                found = true;
                if (found)
                        continue;
                struct pod_resource *n = realloc(r->requests, (r->n_requests + 1) * sizeof(*n));
                if (!n)
                        return -ENOMEM;
                r->requests = n;
                char *name = strdup(r->limits[i].name);
                if (!name)
                        return -ENOMEM;
                r->requests[r->n_requests++] = (struct pod_resource){ name, r->limits[i].q };
        }
        return 0;
}

static int default_container(struct pod_container *c, bool host_network) {
        char *tagbuf;
        const char *tag = image_tag(c->image, &tagbuf);
        int r = set_str(&c->image_pull_policy, streq(tag, "latest") ? "Always" : "IfNotPresent");
        free(tagbuf);
        if (r < 0)
                return r;
        if (set_str(&c->termination_message_path, "/dev/termination-log") < 0 ||
            set_str(&c->termination_message_policy, "File") < 0)
                return -ENOMEM;

        for (size_t i = 0; i < c->n_ports; i++) {
                struct pod_container_port *p = &c->ports[i];
                if (set_str(&p->protocol, "TCP") < 0)
                        return -ENOMEM;
                /* Under hostNetwork the port is the host's: hostPort defaults to containerPort. */
                if (host_network && (!p->host_port.set || p->host_port.v == 0) && p->container_port.set)
                        p->host_port = p->container_port;
        }
        for (size_t i = 0; i < c->n_env; i++)
                if (c->env[i].value_from && default_field_selector(c->env[i].value_from->field_ref) < 0)
                        return -ENOMEM;
        if (default_probe(c->liveness_probe) < 0 || default_probe(c->readiness_probe) < 0 ||
            default_probe(c->startup_probe) < 0)
                return -ENOMEM;
        if (c->lifecycle && (default_lifecycle_handler(c->lifecycle->post_start) < 0 ||
                             default_lifecycle_handler(c->lifecycle->pre_stop) < 0))
                return -ENOMEM;
        return copy_limits_to_requests(c->resources);
}

static int default_downward_files(struct pod_downward_api_file *items, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (default_field_selector(items[i].field_ref) < 0)
                        return -ENOMEM;
        return 0;
}

static int default_volume(struct pod_volume *v) {
        /* SetDefaults_Volume: a volume with no source is an emptyDir. */
        if (!v->host_path && !v->empty_dir && !v->secret && !v->config_map && !v->downward_api && !v->projected &&
            v->n_other == 0) {
                v->empty_dir = calloc(1, sizeof(*v->empty_dir));
                if (!v->empty_dir)
                        return -ENOMEM;
        }
        if (v->host_path && set_str(&v->host_path->type, "") < 0)
                return -ENOMEM;
        if (v->secret)
                set_int(&v->secret->default_mode, DEFAULT_MODE);
        if (v->config_map)
                set_int(&v->config_map->default_mode, DEFAULT_MODE);
        if (v->downward_api) {
                set_int(&v->downward_api->default_mode, DEFAULT_MODE);
                if (default_downward_files(v->downward_api->items, v->downward_api->n_items) < 0)
                        return -ENOMEM;
        }
        if (v->projected) {
                set_int(&v->projected->default_mode, DEFAULT_MODE);
                for (size_t i = 0; i < v->projected->n_sources; i++) {
                        struct pod_volume_projection *s = &v->projected->sources[i];
                        if (s->service_account_token)
                                set_int(&s->service_account_token->expiration_seconds, 3600);
                        if (s->downward_api &&
                            default_downward_files(s->downward_api->items, s->downward_api->n_items) < 0)
                                return -ENOMEM;
                }
        }
        return 0;
}

int pod_set_defaults(struct pod *p) {
        struct pod_spec *s = &p->spec;
        bool host_network = s->host_network.set && s->host_network.v;

        if (set_str(&s->dns_policy, "ClusterFirst") < 0 || set_str(&s->restart_policy, "Always") < 0 ||
            set_str(&s->scheduler_name, "default-scheduler") < 0)
                return -ENOMEM;
        set_int(&s->termination_grace_period_seconds, 30);
        /* as the API server's pod strategy (mutatePodTerminationGracePeriod): a negative grace
         * period is taken as 1 ("negative values are invalid and will be treated as 1") */
        if (s->termination_grace_period_seconds.v < 0)
                s->termination_grace_period_seconds.v = 1;
        set_bool(&s->enable_service_links, true);
        if (!s->security_context) {
                s->security_context = calloc(1, sizeof(*s->security_context));
                if (!s->security_context)
                        return -ENOMEM;
        }
        /* The deprecated serviceAccount field mirrors serviceAccountName. */
        if (isempty(s->service_account_name) && !isempty(s->service_account)) {
                free(s->service_account_name);
                s->service_account_name = strdup(s->service_account);
        } else if (!isempty(s->service_account_name) && isempty(s->service_account)) {
                free(s->service_account);
                s->service_account = strdup(s->service_account_name);
        }

        for (size_t i = 0; i < s->n_init_containers; i++)
                if (default_container(&s->init_containers[i], host_network) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < s->n_containers; i++)
                if (default_container(&s->containers[i], host_network) < 0)
                        return -ENOMEM;
        /* SetObjectDefaults_Pod defaults EphemeralContainerCommon as a Container */
        for (size_t i = 0; i < s->n_ephemeral_containers; i++)
                if (default_container(&s->ephemeral_containers[i], host_network) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < s->n_volumes; i++)
                if (default_volume(&s->volumes[i]) < 0)
                        return -ENOMEM;
        if (copy_limits_to_requests(s->resources) < 0)
                return -ENOMEM;
        return 0;
}
