/* SPDX-License-Identifier: Apache-2.0 */
/* The node's key pairs and certificate requests (see certs.h), with OpenSSL's libcrypto. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certs.h"
#include "common/fs.h"

static int ssl_error(nl_error *err, int code, const char *what) {
        unsigned long e = ERR_get_error();
        char buf[256] = "";
        if (e)
                ERR_error_string_n(e, buf, sizeof(buf));
        ERR_clear_error();
        return nl_error_set(err, code, "%s%s%s", what, buf[0] ? ": " : "", buf);
}

static char *bio_steal(BIO *b) {
        char *data = NULL;
        long n = BIO_get_mem_data(b, &data);
        if (n < 0 || !data)
                return NULL;
        char *s = malloc((size_t) n + 1);
        if (!s)
                return NULL;
        memcpy(s, data, (size_t) n);
        s[n] = '\0';
        return s;
}

static EVP_PKEY *key_from_pem(const char *pem, size_t len) {
        BIO *b = BIO_new_mem_buf(pem, (int) len);
        EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
        return k;
}

static X509 *cert_from_pem(const char *pem, size_t len) {
        BIO *b = BIO_new_mem_buf(pem, (int) len);
        X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
        return x;
}

int cert_key_generate(char **ret_key_pem, nl_error *err) {
        /* client-go's certificate manager: ecdsa.GenerateKey(elliptic.P256()), written as
         * "EC PRIVATE KEY" (SEC 1) */
        EVP_PKEY *k = EVP_EC_gen("P-256");
        BIO *b = BIO_new(BIO_s_mem());
        int r = 0;
        if (!k || !b)
                r = ssl_error(err, -ENOMEM, "generate an EC P-256 key");
        else if (PEM_write_bio_PrivateKey_traditional(b, k, NULL, NULL, 0, NULL, NULL) != 1)
                r = ssl_error(err, -EIO, "write the new key as PEM");
        char *s = r == 0 ? bio_steal(b) : NULL;
        if (r == 0 && !s)
                r = nl_error_set(err, -ENOMEM, "out of memory");
        EVP_PKEY_free(k);
        BIO_free(b);
        if (r == 0)
                *ret_key_pem = s;
        return r;
}

/* an IP address's bytes (4 or 16), 0 when it is none */
static int ip_bytes(const char *s, unsigned char out[static 16]) {
        if (inet_pton(AF_INET, s, out) == 1)
                return 4;
        if (inet_pton(AF_INET6, s, out) == 1)
                return 16;
        return 0;
}

static int san_add(nl_buf *b, const char *kind, const char *v) {
        for (const char *p = v; *p; p++)
                if (*p == ',' || (*p == ':' && streq(kind, "DNS")) || (unsigned char) *p < 0x21)
                        return -EINVAL;
        nl_buf_printf(b, "%s%s:%s", b->len ? "," : "", kind, v);
        return 0;
}

int cert_csr_make(const char *key_pem, const char *cn, const char *const *orgs, const char *const *dns_names,
                  const char *const *ips, char **ret_csr_pem, nl_error *err) {
        EVP_PKEY *k = key_from_pem(key_pem, strlen(key_pem));
        X509_REQ *req = X509_REQ_new();
        BIO *b = NULL;
        STACK_OF(X509_EXTENSION) *exts = NULL;
        nl_buf san = {};
        int r = 0;
        if (!k) {
                r = ssl_error(err, -EINVAL, "certificate request: the private key does not load");
                goto out;
        }
        X509_NAME *name = req ? X509_REQ_get_subject_name(req) : NULL;
        if (!name || X509_REQ_set_version(req, 0) != 1) {
                r = ssl_error(err, -ENOMEM, "certificate request");
                goto out;
        }
        /* Go's pkix.Name order: O before CN */
        for (size_t i = 0; orgs && orgs[i]; i++)
                if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *) orgs[i], -1, -1, 0) !=
                    1) {
                        r = ssl_error(err, -EINVAL, "certificate request: organization");
                        goto out;
                }
        if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *) cn, -1, -1, 0) != 1) {
                r = ssl_error(err, -EINVAL, "certificate request: common name");
                goto out;
        }
        for (size_t i = 0; dns_names && dns_names[i]; i++)
                if (san_add(&san, "DNS", dns_names[i]) < 0) {
                        r = nl_error_set(err, -EINVAL, "certificate request: \"%s\" is not a DNS name", dns_names[i]);
                        goto out;
                }
        for (size_t i = 0; ips && ips[i]; i++) {
                unsigned char tmp[16];
                if (ip_bytes(ips[i], tmp) == 0 || san_add(&san, "IP", ips[i]) < 0) {
                        r = nl_error_set(err, -EINVAL, "certificate request: \"%s\" is not an IP address", ips[i]);
                        goto out;
                }
        }
        if (san.oom) {
                r = nl_error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        if (san.len > 0) {
                X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san.data);
                if (!e || !(exts = sk_X509_EXTENSION_new_null()) || !sk_X509_EXTENSION_push(exts, e)) {
                        X509_EXTENSION_free(e);
                        r = ssl_error(err, -EINVAL, "certificate request: subjectAltName");
                        goto out;
                }
                if (X509_REQ_add_extensions(req, exts) != 1) {
                        r = ssl_error(err, -EINVAL, "certificate request: extensions");
                        goto out;
                }
        }
        if (X509_REQ_set_pubkey(req, k) != 1 || X509_REQ_sign(req, k, EVP_sha256()) <= 0) {
                r = ssl_error(err, -EIO, "certificate request: sign");
                goto out;
        }
        if (!(b = BIO_new(BIO_s_mem())) || PEM_write_bio_X509_REQ(b, req) != 1) {
                r = ssl_error(err, -ENOMEM, "certificate request: write PEM");
                goto out;
        }
        char *s = bio_steal(b);
        if (!s) {
                r = nl_error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        *ret_csr_pem = s;
out:
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
        nl_buf_free(&san);
        BIO_free(b);
        X509_REQ_free(req);
        EVP_PKEY_free(k);
        return r;
}

/* base64url without padding (Go's base64.RawURLEncoding) */
static void b64url(nl_buf *out, const unsigned char *d, size_t n) {
        static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for (size_t i = 0; i < n; i += 3) {
                unsigned v = (unsigned) d[i] << 16;
                if (i + 1 < n)
                        v |= (unsigned) d[i + 1] << 8;
                if (i + 2 < n)
                        v |= d[i + 2];
                char q[4] = { tab[(v >> 18) & 63], tab[(v >> 12) & 63], tab[(v >> 6) & 63], tab[v & 63] };
                nl_buf_append(out, q, i + 2 < n ? 4 : i + 1 < n ? 3 : 2);
        }
}

int cert_bootstrap_csr_name(const char *key_pem, const char *cn, const char *const *orgs,
                            const char *const *usages, char **ret, nl_error *err) {
        EVP_PKEY *k = key_from_pem(key_pem, strlen(key_pem));
        unsigned char *der = NULL;
        int der_len = k ? i2d_PUBKEY(k, &der) : -1;
        EVP_PKEY_free(k);
        if (der_len <= 0)
                return ssl_error(err, -EINVAL, "CSR name: the private key does not load");
        nl_buf in = {}, out = {};
        b64url(&in, der, (size_t) der_len);
        nl_buf_append(&in, "|", 1);
        OPENSSL_free(der);
        b64url(&in, (const unsigned char *) cn, strlen(cn));
        nl_buf_append(&in, "|", 1);
        for (size_t i = 0; orgs && orgs[i]; i++) {
                b64url(&in, (const unsigned char *) orgs[i], strlen(orgs[i]));
                nl_buf_append(&in, "|", 1);
        }
        for (size_t i = 0; usages && usages[i]; i++) {
                b64url(&in, (const unsigned char *) usages[i], strlen(usages[i]));
                nl_buf_append(&in, "|", 1);
        }
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;
        const EVP_MD *sha = EVP_get_digestbyname("SHA512-256");
        int r = 0;
        if (in.oom)
                r = nl_error_set(err, -ENOMEM, "out of memory");
        else if (!sha || EVP_Digest(in.data, in.len, md, &md_len, sha, NULL) != 1)
                r = ssl_error(err, -EIO, "CSR name: SHA-512/256");
        if (r == 0) {
                nl_buf_printf(&out, "node-csr-");
                b64url(&out, md, md_len);
                if (out.oom)
                        r = nl_error_set(err, -ENOMEM, "out of memory");
        }
        nl_buf_free(&in);
        if (r < 0) {
                nl_buf_free(&out);
                return r;
        }
        *ret = nl_buf_steal(&out);
        return 0;
}

static int asn1_time_to_unix(const ASN1_TIME *t, time_t *ret) {
        struct tm tm = {};
        if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
                return -EINVAL;
        *ret = timegm(&tm);
        return 0;
}

int cert_pem_validity(const char *pem, size_t len, time_t *ret_not_before, time_t *ret_not_after, nl_error *err) {
        X509 *x = cert_from_pem(pem, len);
        time_t nb = 0, na = 0;
        if (!x)
                return ssl_error(err, -EINVAL, "no PEM certificate");
        int r = asn1_time_to_unix(X509_get0_notBefore(x), &nb) < 0 || asn1_time_to_unix(X509_get0_notAfter(x), &na) < 0
                        ? nl_error_set(err, -EINVAL, "certificate validity does not parse")
                        : 0;
        X509_free(x);
        if (r == 0) {
                *ret_not_before = nb;
                *ret_not_after = na;
        }
        return r;
}

time_t cert_rotation_deadline(time_t not_before, time_t not_after, double jitter) {
        /* client-go's jitteryDuration: wait.Jitter(total, 0.2) - 0.3 * total */
        if (jitter < 0)
                jitter = 0;
        if (jitter >= 1)
                jitter = 0.999999;
        double total = not_after > not_before ? (double) (not_after - not_before) : 0;
        return not_before + (time_t) (total * (0.7 + 0.2 * jitter) + 0.5);
}

bool cert_pair_usable(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len, time_t now,
                      char **ret_why) {
        BIO *b = BIO_new_mem_buf(cert_pem, (int) cert_len);
        EVP_PKEY *k = key_from_pem(key_pem, key_len);
        X509 *x, *first = NULL;
        char *why = NULL;
        size_t n = 0;
        while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
                time_t na;
                if (!why && (asn1_time_to_unix(X509_get0_notAfter(x), &na) < 0 || na < now))
                        why = strdup("the client certificate has expired");
                if (!first)
                        first = x;
                else
                        X509_free(x);
                n++;
        }
        ERR_clear_error();
        if (!why && n == 0)
                why = strdup("no client certificate");
        else if (!why && !k)
                why = strdup("the client key does not load");
        else if (!why && X509_check_private_key(first, k) != 1)
                why = strdup("the client key does not match the certificate");
        ERR_clear_error();
        X509_free(first);
        EVP_PKEY_free(k);
        BIO_free(b);
        bool ok = !why;
        if (ret_why)
                *ret_why = why;
        else
                free(why);
        return ok;
}

char *cert_store_current_path(const char *dir, const char *prefix) {
        return nl_strdupf("%s/%s-current.pem", dir, prefix);
}

int cert_store_update(const char *dir, const char *prefix, const char *cert_pem, size_t cert_len,
                      const char *key_pem, time_t now, char **ret_path, nl_error *err) {
        int r = nl_mkdir_p(dir, 0755);
        if (r < 0)
                return nl_error_set(err, r, "create --cert-dir %s: %s", dir, strerror(-r));
        struct tm tm;
        char ts[32];
        if (!gmtime_r(&now, &tm) || strftime(ts, sizeof(ts), "%Y-%m-%d-%H-%M-%S", &tm) == 0)
                return nl_error_set(err, -EINVAL, "certificate store: bad time");
        _cleanup_free_ char *name = nl_strdupf("%s-%s.pem", prefix, ts);
        _cleanup_free_ char *path = name ? nl_strdupf("%s/%s", dir, name) : NULL;
        _cleanup_free_ char *cur = cert_store_current_path(dir, prefix);
        _cleanup_free_ char *tmp = nl_strdupf("%s/.%s-current.pem.tmp", dir, prefix);
        nl_buf data = {};
        nl_buf_append(&data, cert_pem, cert_len);
        if (cert_len > 0 && cert_pem[cert_len - 1] != '\n')
                nl_buf_append(&data, "\n", 1);
        nl_buf_append(&data, key_pem, strlen(key_pem));
        if (!path || !cur || !tmp || data.oom) {
                nl_buf_free(&data);
                return nl_error_set(err, -ENOMEM, "out of memory");
        }
        r = nl_write_file_atomic(path, data.data, data.len, 0600);
        explicit_bzero(data.data, data.len);
        nl_buf_free(&data);
        if (r < 0)
                return nl_error_set(err, r, "write %s: %s", path, strerror(-r));
        /* as client-go's file store: the current pair is a symlink, swapped with a rename */
        (void) unlink(tmp);
        if (symlink(name, tmp) < 0 || rename(tmp, cur) < 0) {
                r = -errno;
                (void) unlink(tmp);
                return nl_error_set(err, r, "point %s at %s: %s", cur, name, strerror(-r));
        }
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
                (void) fsync(dfd);
        if (ret_path)
                *ret_path = TAKE_PTR(path);
        return 0;
}

static bool name_has(X509_NAME *name, int nid, const char *want) {
        int i = -1;
        while ((i = X509_NAME_get_index_by_NID(name, nid, i)) >= 0) {
                ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
                unsigned char *u = NULL;
                int n = ASN1_STRING_to_UTF8(&u, d);
                bool eq = n >= 0 && (size_t) n == strlen(want) && memcmp(u, want, (size_t) n) == 0;
                OPENSSL_free(u);
                if (eq)
                        return true;
        }
        return false;
}

static bool san_has(GENERAL_NAMES *names, int type, const char *want) {
        unsigned char ip[16];
        int ip_len = type == GEN_IPADD ? ip_bytes(want, ip) : 0;
        for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
                GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
                if (g->type != type)
                        continue;
                ASN1_STRING *s = type == GEN_DNS ? g->d.dNSName : g->d.iPAddress;
                const unsigned char *d = ASN1_STRING_get0_data(s);
                int n = ASN1_STRING_length(s);
                if (type == GEN_DNS && (size_t) n == strlen(want) && memcmp(d, want, (size_t) n) == 0)
                        return true;
                if (type == GEN_IPADD && ip_len > 0 && n == ip_len && memcmp(d, ip, (size_t) n) == 0)
                        return true;
        }
        return false;
}

bool cert_satisfies(const char *pem, size_t len, const char *cn, const char *const *orgs,
                    const char *const *dns_names, const char *const *ips) {
        X509 *x = cert_from_pem(pem, len);
        if (!x) {
                ERR_clear_error();
                return false;
        }
        X509_NAME *subj = X509_get_subject_name(x);
        bool ok = name_has(subj, NID_commonName, cn);
        for (size_t i = 0; ok && orgs && orgs[i]; i++)
                ok = name_has(subj, NID_organizationName, orgs[i]);
        GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
        for (size_t i = 0; ok && dns_names && dns_names[i]; i++)
                ok = san_has(names, GEN_DNS, dns_names[i]);
        for (size_t i = 0; ok && ips && ips[i]; i++)
                ok = san_has(names, GEN_IPADD, ips[i]);
        GENERAL_NAMES_free(names);
        X509_free(x);
        ERR_clear_error();
        return ok;
}
