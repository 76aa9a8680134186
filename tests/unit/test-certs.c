/* SPDX-License-Identifier: Apache-2.0 */
/* The node's certificates (agent/cluster/certs.c, csr.c): keys and CSRs as the kubelet makes
 * them, the bootstrap CSR's name against client-go's digestedName, validity and the rotation
 * deadline, usability checks, the file store in --cert-dir, and what a CSR's status says. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "agent/cluster/certs.h"
#include "agent/cluster/csr.h"
#include "common/fs.h"
#include "test.h"

/* A fixed P-256 key; its bootstrap CSR name was computed with Go's crypto/x509 and sha512
 * exactly as pkg/kubelet/certificate/bootstrap's digestedName does (CN system:node:worker-1,
 * O system:nodes, usages digital signature, key encipherment, client auth). */
static const char fixed_key[] = "-----BEGIN EC PRIVATE KEY-----\n"
                                "MHcCAQEEICQGiMH7VYUx/vDAtaWx4T0iLGNIG9odDLplT3AprH3QoAoGCCqGSM49\n"
                                "AwEHoUQDQgAEdVAGSaAsh/Z9MQ8XLdKQLwXnlSh5E9pmv2ony3roFabl0vcsHF3C\n"
                                "fw9ejZ+0QoDcBZjtiGZ4RaEhYDr0eIM2Wg==\n"
                                "-----END EC PRIVATE KEY-----\n";
static const char *const orgs[] = { "system:nodes", NULL };

/* A certificate for key_pem, self-signed, valid [nb, na], with CN/O and SANs. */
static char *make_cert(const char *key_pem, const char *cn, time_t nb, time_t na, const char *san) {
        BIO *kb = BIO_new_mem_buf(key_pem, -1);
        EVP_PKEY *k = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
        X509 *x = X509_new();
        X509_NAME *name = X509_get_subject_name(x);
        X509_set_version(x, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
        ASN1_TIME_set(X509_getm_notBefore(x), nb);
        ASN1_TIME_set(X509_getm_notAfter(x), na);
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *) "system:nodes", -1, -1, 0);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *) cn, -1, -1, 0);
        X509_set_issuer_name(x, name);
        X509_set_pubkey(x, k);
        if (san) {
                X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
                X509_add_ext(x, e, -1);
                X509_EXTENSION_free(e);
        }
        X509_sign(x, k, EVP_sha256());
        BIO *out = BIO_new(BIO_s_mem());
        PEM_write_bio_X509(out, x);
        char *data;
        long n = BIO_get_mem_data(out, &data);
        char *s = strndup(data, (size_t) n);
        BIO_free(out);
        X509_free(x);
        EVP_PKEY_free(k);
        BIO_free(kb);
        return s;
}

TEST(certs_bootstrap_csr_name_matches_the_kubelets) {
        static const char *const usages[] = { "digital signature", "key encipherment", "client auth", NULL };
        char *name = NULL;
        nl_error err = NL_ERROR_INIT;
        CHECK_INT_EQ(cert_bootstrap_csr_name(fixed_key, "system:node:worker-1", orgs, usages, &name, &err), 0);
        CHECK_STR_EQ(name, "node-csr-_DummMr2RndV-_zWCoT5oFvDrk8OiWa2M0Qu61COskQ");
        free(name);
        /* another usage list is another name */
        static const char *const two[] = { "digital signature", "client auth", NULL };
        CHECK_INT_EQ(cert_bootstrap_csr_name(fixed_key, "system:node:worker-1", orgs, two, &name, &err), 0);
        CHECK(strcmp(name, "node-csr-_DummMr2RndV-_zWCoT5oFvDrk8OiWa2M0Qu61COskQ") != 0);
        free(name);
        CHECK(cert_bootstrap_csr_name("not a key", "x", orgs, usages, &name, &err) < 0);
        nl_error_clear(&err);
}

TEST(certs_key_and_csr_as_the_kubelet_makes_them) {
        char *key = NULL, *csr = NULL;
        nl_error err = NL_ERROR_INIT;
        CHECK_INT_EQ(cert_key_generate(&key, &err), 0);
        CHECK(key && strstr(key, "-----BEGIN EC PRIVATE KEY-----"));
        const char *dns[] = { "worker-1", NULL }, *ips[] = { "10.0.0.5", "fd00::1", NULL };
        CHECK_INT_EQ(cert_csr_make(key, "system:node:worker-1", orgs, dns, ips, &csr, &err), 0);
        BIO *b = BIO_new_mem_buf(csr, -1);
        X509_REQ *req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
        CHECK(req);
        if (req) {
                EVP_PKEY *pub = X509_REQ_get0_pubkey(req);
                CHECK(X509_REQ_verify(req, pub) == 1);
                CHECK_INT_EQ(EVP_PKEY_get_bits(pub), 256);
                char *subj = X509_NAME_oneline(X509_REQ_get_subject_name(req), NULL, 0);
                CHECK_STR_EQ(subj, "/O=system:nodes/CN=system:node:worker-1");
                OPENSSL_free(subj);
                STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
                CHECK_INT_EQ(sk_X509_EXTENSION_num(exts), 1);
                BIO *o = BIO_new(BIO_s_mem());
                X509V3_EXT_print(o, sk_X509_EXTENSION_value(exts, 0), 0, 0);
                char *txt;
                long n = BIO_get_mem_data(o, &txt);
                char *s = strndup(txt, (size_t) n);
                CHECK_STR_EQ(s, "DNS:worker-1, IP Address:10.0.0.5, IP Address:FD00:0:0:0:0:0:0:1");
                free(s);
                BIO_free(o);
                sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
                X509_REQ_free(req);
        }
        BIO_free(b);
        free(csr);
        csr = NULL;
        /* a client CSR has no SANs */
        CHECK_INT_EQ(cert_csr_make(key, "system:node:worker-1", orgs, NULL, NULL, &csr, &err), 0);
        b = BIO_new_mem_buf(csr, -1);
        req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
        STACK_OF(X509_EXTENSION) *none = req ? X509_REQ_get_extensions(req) : NULL;
        CHECK_INT_EQ(sk_X509_EXTENSION_num(none), -1 + (none != NULL));
        sk_X509_EXTENSION_pop_free(none, X509_EXTENSION_free);
        X509_REQ_free(req);
        BIO_free(b);
        free(csr);
        const char *bad[] = { "10.0.0.300", NULL };
        CHECK(cert_csr_make(key, "system:node:worker-1", orgs, NULL, bad, &csr, &err) < 0);
        CHECK_STR_EQ(err.msg, "certificate request: \"10.0.0.300\" is not an IP address");
        nl_error_clear(&err);
        free(key);
}

TEST(certs_rotation_deadline_is_70_to_90_percent) {
        CHECK_INT_EQ(cert_rotation_deadline(1000, 2000, 0), 1700);
        CHECK_INT_EQ(cert_rotation_deadline(1000, 2000, 0.5), 1800);
        CHECK_INT_EQ(cert_rotation_deadline(1000, 2000, 0.99), 1898);
        CHECK(cert_rotation_deadline(1000, 2000, 1.0) <= 1900);
        /* a day's certificate: between 16.8 h and 21.6 h after notBefore */
        CHECK_INT_EQ(cert_rotation_deadline(0, 86400, 0), 60480);
        CHECK_INT_EQ(cert_rotation_deadline(0, 86400, 0.5), 69120);
        /* nonsense validity rotates at once */
        CHECK_INT_EQ(cert_rotation_deadline(5000, 4000, 0.5), 5000);
}

TEST(certs_validity_usability_and_template) {
        time_t now = time(NULL);
        char *key = NULL, *other = NULL;
        CHECK_INT_EQ(cert_key_generate(&key, NULL), 0);
        CHECK_INT_EQ(cert_key_generate(&other, NULL), 0);
        char *good = make_cert(key, "system:node:w", now - 300, now + 3600, "DNS:w,IP:10.0.0.5");
        char *expired = make_cert(key, "system:node:w", now - 7200, now - 60, NULL);
        time_t nb, na;
        nl_error err = NL_ERROR_INIT;
        CHECK_INT_EQ(cert_pem_validity(good, strlen(good), &nb, &na, &err), 0);
        CHECK_INT_EQ(nb, now - 300);
        CHECK_INT_EQ(na, now + 3600);
        CHECK(cert_pem_validity("junk", 4, &nb, &na, &err) < 0);
        nl_error_clear(&err);

        char *why = NULL;
        CHECK(cert_pair_usable(good, strlen(good), key, strlen(key), now, &why));
        CHECK(!why);
        CHECK(!cert_pair_usable(expired, strlen(expired), key, strlen(key), now, &why));
        CHECK_STR_EQ(why, "the client certificate has expired");
        free(why);
        CHECK(!cert_pair_usable(good, strlen(good), other, strlen(other), now, &why));
        CHECK_STR_EQ(why, "the client key does not match the certificate");
        free(why);
        CHECK(!cert_pair_usable("", 0, key, strlen(key), now, &why));
        CHECK_STR_EQ(why, "no client certificate");
        free(why);
        CHECK(!cert_pair_usable(good, strlen(good), "garbage", 7, now, &why));
        CHECK_STR_EQ(why, "the client key does not load");
        free(why);

        const char *dns[] = { "w", NULL }, *ips[] = { "10.0.0.5", NULL }, *ips2[] = { "10.0.0.6", NULL };
        const char *more_orgs[] = { "system:nodes", "other", NULL };
        CHECK(cert_satisfies(good, strlen(good), "system:node:w", orgs, dns, ips));
        CHECK(cert_satisfies(good, strlen(good), "system:node:w", orgs, NULL, NULL));
        CHECK(!cert_satisfies(good, strlen(good), "system:node:x", orgs, NULL, NULL));
        CHECK(!cert_satisfies(good, strlen(good), "system:node:w", orgs, dns, ips2));
        CHECK(!cert_satisfies(good, strlen(good), "system:node:w", more_orgs, NULL, NULL));
        CHECK(!cert_satisfies(expired, strlen(expired), "system:node:w", orgs, dns, NULL));
        free(good);
        free(expired);
        free(key);
        free(other);
}

TEST(certs_store_writes_pem_and_moves_the_symlink) {
        char dir[] = "/tmp/nodelet-test-certs-XXXXXX";
        CHECK(mkdtemp(dir) != NULL);
        char *key = NULL;
        CHECK_INT_EQ(cert_key_generate(&key, NULL), 0);
        char *cert = make_cert(key, "system:node:w", 0, 4000000000, NULL);
        char *path = NULL;
        nl_error err = NL_ERROR_INIT;
        /* 2026-01-02 03:04:05 UTC */
        CHECK_INT_EQ(cert_store_update(dir, "kubelet-client", cert, strlen(cert), key, 1767323045, &path, &err), 0);
        char want[256];
        snprintf(want, sizeof(want), "%s/kubelet-client-2026-01-02-03-04-05.pem", dir);
        CHECK_STR_EQ(path, want);
        struct stat st;
        CHECK(stat(want, &st) == 0 && (st.st_mode & 0777) == 0600);
        char cur[256], link[256] = "";
        snprintf(cur, sizeof(cur), "%s/kubelet-client-current.pem", dir);
        CHECK(readlink(cur, link, sizeof(link) - 1) > 0);
        CHECK_STR_EQ(link, "kubelet-client-2026-01-02-03-04-05.pem");
        char *data = NULL;
        size_t len = 0;
        CHECK_INT_EQ(nl_read_file(cur, 1 << 20, false, &data, &len), 0);
        CHECK(data && strstr(data, "BEGIN CERTIFICATE") && strstr(data, "BEGIN EC PRIVATE KEY"));
        CHECK(data && cert_pair_usable(data, len, data, len, time(NULL), NULL));
        free(data);
        free(path);
        path = NULL;
        CHECK_INT_EQ(cert_store_update(dir, "kubelet-client", cert, strlen(cert), key, 1767323045 + 61, &path, &err),
                     0);
        memset(link, 0, sizeof(link));
        CHECK(readlink(cur, link, sizeof(link) - 1) > 0);
        CHECK_STR_EQ(link, "kubelet-client-2026-01-02-03-05-06.pem");
        CHECK(access(want, F_OK) == 0); /* the old pair stays, as the kubelet's store keeps it */
        /* a store in a file's place is an error naming it */
        char bad[300];
        snprintf(bad, sizeof(bad), "%s/kubelet-client-2026-01-02-03-04-05.pem/sub", dir);
        CHECK(cert_store_update(bad, "kubelet-client", cert, strlen(cert), key, 0, NULL, &err) < 0);
        CHECK(err.msg && strstr(err.msg, "create --cert-dir"));
        nl_error_clear(&err);
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        CHECK(system(cmd) == 0);
        free(path);
        free(cert);
        free(key);
}

TEST(csr_object_and_status) {
        static const char *const usages[] = { "digital signature", "client auth", NULL };
        struct csr_spec spec = { .signer_name = "kubernetes.io/kube-apiserver-client-kubelet", .usages = usages,
                                 .csr_pem = "PEM" };
        json_t *o = csr_object(&spec);
        char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        CHECK_STR_EQ(s, "{\"apiVersion\":\"certificates.k8s.io/v1\",\"kind\":\"CertificateSigningRequest\","
                        "\"metadata\":{\"generateName\":\"csr-\"},\"spec\":{\"request\":\"UEVN\",\"signerName\":"
                        "\"kubernetes.io/kube-apiserver-client-kubelet\",\"usages\":[\"digital signature\","
                        "\"client auth\"]}}");
        free(s);
        json_decref(o);
        spec.name = "node-csr-x";
        o = csr_object(&spec);
        CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(o, "metadata"), "name")), "node-csr-x");
        json_decref(o);

        char *cert = NULL, *why = NULL;
        size_t len = 0;
        json_t *pending = json_loads("{\"metadata\":{\"name\":\"c\"},\"status\":{}}", 0, NULL);
        CHECK_INT_EQ(csr_status(pending, &cert, &len, &why), 0);
        json_decref(pending);
        /* approved but not yet signed: still waiting */
        json_t *approved = json_loads("{\"metadata\":{\"name\":\"c\"},\"status\":{\"conditions\":[{\"type\":"
                                      "\"Approved\"}]}}",
                                      0, NULL);
        CHECK_INT_EQ(csr_status(approved, &cert, &len, &why), 0);
        json_decref(approved);
        json_t *issued = json_loads("{\"metadata\":{\"name\":\"c\"},\"status\":{\"conditions\":[{\"type\":"
                                    "\"Approved\"}],\"certificate\":\"Q0VSVA==\"}}",
                                    0, NULL);
        CHECK_INT_EQ(csr_status(issued, &cert, &len, &why), 1);
        CHECK(cert && len == 4 && memcmp(cert, "CERT", 4) == 0);
        free(cert);
        json_decref(issued);
        json_t *denied = json_loads("{\"metadata\":{\"name\":\"c\"},\"status\":{\"conditions\":[{\"type\":"
                                    "\"Denied\",\"reason\":\"NotMine\",\"message\":\"go away\"}]}}",
                                    0, NULL);
        CHECK(csr_status(denied, &cert, &len, &why) < 0);
        CHECK_STR_EQ(why, "certificate signing request c is denied, reason: NotMine, message: go away");
        free(why);
        json_decref(denied);
        json_t *failed = json_loads("{\"metadata\":{\"name\":\"c\"},\"status\":{\"conditions\":[{\"type\":"
                                    "\"Failed\",\"reason\":\"SignerValidationFailure\"}]}}",
                                    0, NULL);
        CHECK(csr_status(failed, &cert, &len, &why) < 0);
        CHECK_STR_EQ(why, "certificate signing request c is failed, reason: SignerValidationFailure, message: ");
        free(why);
        json_decref(failed);
}
