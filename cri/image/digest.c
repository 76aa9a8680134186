/* SPDX-License-Identifier: Apache-2.0 */
/* sha256 digests in the OCI form "sha256:<64 lowercase hex>", computed with libcrypto's EVP. */
#include <openssl/evp.h>

#include "image.h"

/* SHA-256 fetched once: with OpenSSL 3, EVP_sha256() makes every init fetch the algorithm
 * again, which bench/'s profile found to be most of a digest's cost on small inputs. Never
 * freed: it lives as long as the process. */
static const EVP_MD *sha256_md(void) {
        static EVP_MD *md;
        if (!md)
                md = EVP_MD_fetch(NULL, "SHA256", NULL);
        return md ? md : EVP_sha256();
}

#define SHA256_PREFIX "sha256:"
#define SHA256_HEX_LEN 64

bool digest_is_valid(const char *d) {
        if (!d || strncmp(d, SHA256_PREFIX, strlen(SHA256_PREFIX)) != 0)
                return false;
        d += strlen(SHA256_PREFIX);
        for (size_t i = 0; i < SHA256_HEX_LEN; i++)
                if (!((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f')))
                        return false; /* also stops at the NUL of a short string */
        return d[SHA256_HEX_LEN] == '\0';
}

struct digester {
        EVP_MD_CTX *ctx;
        bool started;
};

static void format_digest(const unsigned char *md, char ret[DIGEST_STRING_MAX]) {
        static const char hex[] = "0123456789abcdef";
        char *p = ret;

        memcpy(p, SHA256_PREFIX, strlen(SHA256_PREFIX));
        p += strlen(SHA256_PREFIX);
        for (size_t i = 0; i < SHA256_HEX_LEN / 2; i++) {
                *p++ = hex[md[i] >> 4];
                *p++ = hex[md[i] & 0xf];
        }
        *p = '\0';
}

digester *digester_new(void) {
        digester *d = calloc(1, sizeof(*d));

        if (!d)
                return NULL;
        d->ctx = EVP_MD_CTX_new();
        if (!d->ctx || EVP_DigestInit_ex(d->ctx, sha256_md(), NULL) != 1) {
                digester_free(d);
                return NULL;
        }
        d->started = true;
        return d;
}

int digester_update(digester *d, const void *buf, size_t len) {
        if (!d || (!buf && len > 0))
                return -EINVAL;
        if (!d->started) {
                if (EVP_DigestInit_ex(d->ctx, sha256_md(), NULL) != 1)
                        return -EIO;
                d->started = true;
        }
        if (len > 0 && EVP_DigestUpdate(d->ctx, buf, len) != 1)
                return -EIO;
        return 0;
}

/* Finishes this digest and readies d for the next one. */
int digester_final(digester *d, char ret[DIGEST_STRING_MAX]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int md_len = 0;

        if (!d || !ret)
                return -EINVAL;
        if (!d->started) {
                if (EVP_DigestInit_ex(d->ctx, sha256_md(), NULL) != 1)
                        return -EIO;
                d->started = true;
        }
        d->started = false;
        if (EVP_DigestFinal_ex(d->ctx, md, &md_len) != 1 || md_len != SHA256_HEX_LEN / 2)
                return -EIO;
        format_digest(md, ret);
        return 0;
}

void digester_free(digester *d) {
        if (!d)
                return;
        EVP_MD_CTX_free(d->ctx);
        free(d);
}

int digest_buffer(const void *buf, size_t len, char ret[DIGEST_STRING_MAX]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int md_len = 0;

        if (!buf && len > 0)
                return -EINVAL;
        if (EVP_Digest(len > 0 ? buf : "", len, md, &md_len, sha256_md(), NULL) != 1 ||
            md_len != SHA256_HEX_LEN / 2)
                return -EIO;
        format_digest(md, ret);
        return 0;
}
