/* SPDX-License-Identifier: Apache-2.0 */
/* CertificateSigningRequests on the daemon's loop (agent/cluster/csr.c): one request sent and
 * followed until the signer issues a certificate (client-go's csr.RequestCertificate and
 * WaitForCertificate), and the certificate rotator built on it (client-go's certificate
 * manager): a new key and CSR at 70-90 % of the current certificate's life, the result kept
 * in --cert-dir as the kubelet keeps it. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "api.h"
#include "common/time-util.h"

/* ==== one CSR ================================================================================ */

struct csr_request;

/* error NULL: cert_pem (NUL-terminated, len bytes) is the issued certificate. Else why not
 * (denied, failed, timed out, refused by the API). Called once unless freed first. */
typedef void (*csr_done_fn)(const char *cert_pem, size_t len, const char *error, void *userdata);

struct csr_spec {
        const char *name;         /* metadata.name; NULL: generateName "csr-" */
        const char *signer_name;  /* spec.signerName */
        const char *const *usages; /* spec.usages, NULL-ended */
        const char *csr_pem;      /* the PKCS#10 request */
        usec_t timeout;           /* waiting for the certificate */
};

int csr_request_start(sd_event *event, struct api_client *api, const struct csr_spec *spec, csr_done_fn done,
                      void *userdata, struct csr_request **ret);
void csr_request_free(struct csr_request *r);
/* The CSR's name once the API server has it (NULL before). */
const char *csr_request_name(const struct csr_request *r);

/* The CSR object a csr_spec stands for (exposed for the unit tests). */
json_t *csr_object(const struct csr_spec *spec);
/* What a CSR's status says: 1 issued (*ret_cert_pem set, malloc'ed), 0 still pending, < 0
 * denied or failed (*ret_why says so, malloc'ed). */
int csr_status(json_t *csr, char **ret_cert_pem, size_t *ret_len, char **ret_why);

/* ==== the rotator ============================================================================ */

struct cert_rotator;

/* A new pair is in place: path is <dir>/<prefix>-current.pem. */
typedef void (*cert_rotated_fn)(const char *path, void *userdata);

struct cert_rotator_config {
        const char *dir;    /* --cert-dir */
        const char *prefix; /* "kubelet-client", "kubelet-server" */
        const char *what;   /* for logs: "client certificate", "serving certificate" */
        const char *signer_name;
        const char *const *usages;
        const char *cn;
        const char *const *orgs, *const *dns_names, *const *ips;
        /* the pair in use when the store has none yet (the kubeconfig's certificate), may be NULL */
        const char *initial_cert_file, *initial_key_file;
        cert_rotated_fn rotated;
        void *userdata;
};

/* Reads the current pair (the store's, else the initial one) and arms the rotation: at once
 * when there is none or it does not satisfy the template (CN, O, SANs), else at the deadline. */
int cert_rotator_new(sd_event *event, struct api_client *api, const struct cert_rotator_config *cfg,
                     struct cert_rotator **ret, nl_error *err);
void cert_rotator_free(struct cert_rotator *cr);
/* CLOCK_REALTIME seconds of the next rotation (tests and logs). */
time_t cert_rotator_deadline(const struct cert_rotator *cr);
