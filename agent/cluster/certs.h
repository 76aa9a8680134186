/* SPDX-License-Identifier: Apache-2.0 */
/* The node's certificates as the kubelet keeps them (client-go's util/certificate and
 * pkg/kubelet/certificate): EC P-256 keys, PKCS#10 requests for a CertificateSigningRequest,
 * the validity and rotation math, and the file store in --cert-dir
 * (<prefix>-<YYYY-MM-DD-HH-MM-SS>.pem holding certificate and key, <prefix>-current.pem a
 * symlink to the newest). Pure libcrypto and file I/O: nothing here touches the network. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "common/util.h"

#define CERT_PEM_MAX (256 * 1024) /* a certificate chain and key we read back */

/* A new EC P-256 private key as an "EC PRIVATE KEY" PEM block (what the kubelet makes). */
int cert_key_generate(char **ret_key_pem, nl_error *err);

/* A PEM "CERTIFICATE REQUEST" signed with key_pem: subject CN and O (orgs, NULL-ended, may be
 * NULL), subjectAltName from dns_names and ips (NULL-ended, may be NULL). An IP that does not
 * parse is an error naming it. */
int cert_csr_make(const char *key_pem, const char *cn, const char *const *orgs, const char *const *dns_names,
                  const char *const *ips, char **ret_csr_pem, nl_error *err);

/* The name the kubelet's bootstrap gives its CSR, so a restarted bootstrap finds its own
 * request again: "node-csr-" + base64url(SHA-512/256 over the public key's DER, CN, each O and
 * each usage, each base64url-encoded and followed by '|'). */
int cert_bootstrap_csr_name(const char *key_pem, const char *cn, const char *const *orgs,
                            const char *const *usages, char **ret, nl_error *err);

/* The first certificate's validity in pem (a file's bytes: certificate(s) then key, or only a
 * certificate). */
int cert_pem_validity(const char *pem, size_t len, time_t *ret_not_before, time_t *ret_not_after, nl_error *err);

/* When to rotate, as client-go's certificate manager: notBefore + 70-90 % of the validity,
 * jitter in [0, 1) picking the point (0.7 + 0.2 * jitter). */
time_t cert_rotation_deadline(time_t not_before, time_t not_after, double jitter);

/* Whether a client certificate and its key can be used at `now`: both load, the key matches
 * the certificate, no certificate in the chain has expired (the kubelet's
 * isClientConfigStillValid). cert and key may be the same file. On false, *ret_why (when not
 * NULL) says why. */
bool cert_pair_usable(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len, time_t now,
                      char **ret_why);

/* The file store: writes dir/<prefix>-<UTC YYYY-MM-DD-HH-MM-SS of now>.pem (mode 0600, the
 * certificate then the key) and points dir/<prefix>-current.pem at it (a relative symlink,
 * replaced atomically). *ret_path (when not NULL) gets the new file's path. */
int cert_store_update(const char *dir, const char *prefix, const char *cert_pem, size_t cert_len,
                      const char *key_pem, time_t now, char **ret_path, nl_error *err);
/* dir/<prefix>-current.pem */
char *cert_store_current_path(const char *dir, const char *prefix);

/* Whether the first certificate in pem has common name cn, every organization in orgs and
 * every DNS name and IP address asked for among its subjectAltNames (client-go's
 * certSatisfiesTemplate: more is fine). */
bool cert_satisfies(const char *pem, size_t len, const char *cn, const char *const *orgs,
                    const char *const *dns_names, const char *const *ips);
