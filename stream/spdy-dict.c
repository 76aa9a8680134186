/* SPDX-License-Identifier: Apache-2.0 */
/* The SPDY/3 header compression dictionary, as the SPDY/3 draft (section 2.6.10.1) defines it:
 * common header names, each preceded by its length as a 32-bit big-endian integer, then a run of
 * common values with no separators. Both directions prime their zlib streams with it; its
 * Adler-32 (0xe3c6a7c2) is the DICTID in the peer's zlib header. */
#include "internal.h"

/* clang-format off */
static const char *const dict_words[] = {
        "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset", "accept-encoding",
        "accept-language", "accept-ranges", "age", "allow", "authorization", "cache-control", "connection",
        "content-base", "content-encoding", "content-language", "content-length", "content-location",
        "content-md5", "content-range", "content-type", "date", "etag", "expect", "expires", "from", "host",
        "if-match", "if-modified-since", "if-none-match", "if-range", "if-unmodified-since",
        "last-modified", "location", "max-forwards", "pragma", "proxy-authenticate",
        "proxy-authorization", "range", "referer", "retry-after", "server", "te", "trailer",
        "transfer-encoding", "upgrade", "user-agent", "vary", "via", "warning", "www-authenticate",
        "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie",
        "keep-alive", "origin",
};
/* clang-format on */

static const char dict_tail[] =
        "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
        "203 Non-Authoritative Information"
        "204 No Content"
        "301 Moved Permanently"
        "400 Bad Request"
        "401 Unauthorized"
        "403 Forbidden"
        "404 Not Found"
        "500 Internal Server Error"
        "501 Not Implemented"
        "503 Service Unavailable"
        "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
        "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,"
        "text/plain,text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8"
        "charset=iso-8859-1,utf-,*,enq=0.";

#define DICT_LEN 1423

const uint8_t *spdy_dictionary(size_t *ret_len) {
        static uint8_t dict[DICT_LEN];
        static size_t len;

        if (len == 0) {
                size_t n = 0;
                for (size_t i = 0; i < ELEMENTSOF(dict_words); i++) {
                        size_t wl = strlen(dict_words[i]);
                        dict[n++] = (uint8_t) (wl >> 24);
                        dict[n++] = (uint8_t) (wl >> 16);
                        dict[n++] = (uint8_t) (wl >> 8);
                        dict[n++] = (uint8_t) wl;
                        memcpy(dict + n, dict_words[i], wl);
                        n += wl;
                }
                memcpy(dict + n, dict_tail, sizeof(dict_tail) - 1);
                n += sizeof(dict_tail) - 1;
                len = n;
        }
        *ret_len = len;
        return dict;
}

/* the words and the tail add up to the draft's 1423 bytes */
_Static_assert(sizeof(dict_tail) - 1 + 4 * 65 + 589 == DICT_LEN, "SPDY/3 dictionary size");
