/* SPDX-License-Identifier: Apache-2.0 */
/* A static-mode manifest of any kinds through what the file source does with each document:
 * the any-kind parse, the kind dispatch, the data kinds' checks and normalization, the
 * workloads' checks, their pods and CronJob schedules (podspec/cron.c). */
#include <stdlib.h>

#include "podspec/podspec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct podspec_file *f = NULL;

        if (podspec_parse_flags((const char *) data, size, PODSPEC_PARSE_ANY_KIND, &f) < 0)
                return 0;
        for (size_t i = 0; i < f->n_documents; i++) {
                struct podspec_document *d = &f->documents[i];
                if (!d->other_kind)
                        continue;
                if (d->pod || !json_is_object(d->json))
                        abort(); /* an undecoded object, by promise */
                enum manifest_kind k = manifest_kind_of(json_string_value(json_object_get(d->json, "apiVersion")),
                                                        json_string_value(json_object_get(d->json, "kind")));
                if (k == MANIFEST_POD)
                        abort(); /* a Pod is always decoded */
                pod_error_list errors = {};
                if (k >= MANIFEST_DEPLOYMENT) {
                        /* a workload: its checks, the pods it makes, a CronJob's schedule */
                        (void) workload_validate(k, d->json, "", "node", &errors);
                        pod_error_list_done(&errors);
                        struct workload_spec *w = NULL;
                        if (workload_spec_parse(k, d->json, "", &w, &errors) == 0 && w) {
                                for (unsigned n = 0; n < 2; n++)
                                        json_decref(workload_pod_json(w, n, n ? "job" : NULL, "/claims"));
                                if (k == MANIFEST_CRONJOB && cron_next(&w->cron, 1800000000) < 0)
                                        abort();
                        }
                        workload_spec_free(w);
                        pod_error_list_done(&errors);
                        const char *sched = json_string_value(json_object_get(json_object_get(d->json, "spec"), "schedule"));
                        struct cron c;
                        if (sched && cron_parse(sched, &c) == 0 && (c.minutes == 0 || c.hours == 0))
                                abort(); /* a parsed schedule has some minute and hour */
                        continue;
                }
                manifest_validate_object(k, d->json, d->in_list ? "items[0]" : "", &errors);
                json_t *o = NULL;
                if (errors.n_items == 0 && manifest_object_normalize(k, d->json, &o) == 0) {
                        free(json_dumps(o, JSON_COMPACT));
                        json_decref(o);
                }
                pod_error_list_done(&errors);
        }
        podspec_file_free(f);
        return 0;
}
