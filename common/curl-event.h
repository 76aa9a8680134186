/* SPDX-License-Identifier: Apache-2.0 */
/* libcurl's multi interface driven by an sd-event loop (as curl's multi-event example and
 * systemd-importd's curl glue): CURLMOPT_SOCKETFUNCTION -> one io source per socket,
 * CURLMOPT_TIMERFUNCTION -> one timer. Shared by the registry client, the probe runner and the
 * API client, so each owns its requests while the socket plumbing exists once. */
#pragma once

#include <curl/curl.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

struct curl_event;

/* A finished transfer (already removed from the multi handle): the owner finds its request
 * through CURLINFO_PRIVATE. It may add or remove other transfers from inside. */
typedef void (*curl_event_done_fn)(CURL *easy, CURLcode code, void *userdata);

/* name describes the event sources ("<name>-curl-socket", "<name>-curl-timer"). */
int curl_event_new(sd_event *event, const char *name, curl_event_done_fn done, void *userdata,
                   struct curl_event **ret);
/* Transfers still on the multi handle are removed, not finished: done is not called. */
void curl_event_free(struct curl_event *ce);
CURLM *curl_event_multi(struct curl_event *ce);
/* Add a configured easy handle and get it going. */
int curl_event_add(struct curl_event *ce, CURL *easy);
/* Take a transfer off before it finished (done is not called); NULL-safe. */
void curl_event_remove(struct curl_event *ce, CURL *easy);

/* A response header line as a CURLOPT_HEADERFUNCTION gets it ("Name: value\r\n"): its name's
 * length and its value without surrounding blanks. False for what is not a header (the status
 * line, the blank line that ends the headers). */
bool curl_header_split(const char *data, size_t n, size_t *ret_name_len, const char **ret_value,
                       size_t *ret_value_len);
