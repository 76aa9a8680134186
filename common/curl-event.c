/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "curl-event.h"
#include "time-util.h"
#include "util.h"

/* One io source per socket curl watches; kept on a list too, because curl does not always say
 * CURL_POLL_REMOVE for the connections it closes. */
struct ce_socket {
        struct curl_event *ce;
        int fd; /* curl's descriptor (the io source watches our duplicate of it) */
        sd_event_source *io;
        struct ce_socket *prev, *next;
};

struct curl_event {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
        struct ce_socket *sockets;
        curl_event_done_fn done;
        void *userdata;
        char *socket_desc;
};

/* Finished transfers go to the owner one at a time; an owner may start or stop others from
 * its callback: curl drops the pending messages of handles taken off, so reading on is safe. */
static void dispatch(struct curl_event *ce) {
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(ce->multi, &left))) {
                if (m->msg != CURLMSG_DONE)
                        continue;
                CURL *easy = m->easy_handle;
                CURLcode code = m->data.result;
                curl_multi_remove_handle(ce->multi, easy);
                ce->done(easy, code, ce->userdata);
        }
}

static int on_io(sd_event_source *s, int dfd, uint32_t revents, void *userdata) {
        struct ce_socket *ps = userdata;
        struct curl_event *ce = ps->ce;
        int fd = ps->fd, action = 0, running = 0;
        if (revents & EPOLLIN)
                action |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                action |= CURL_CSELECT_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                action |= CURL_CSELECT_ERR;
        (void) curl_multi_socket_action(ce->multi, fd, action, &running);
        dispatch(ce);
        return 0;
}

static void socket_free(struct curl_event *ce, struct ce_socket *ps) {
        if (ps->prev)
                ps->prev->next = ps->next;
        else
                ce->sockets = ps->next;
        if (ps->next)
                ps->next->prev = ps->prev;
        sd_event_source_disable_unref(ps->io);
        free(ps);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userdata, void *socketp) {
        struct curl_event *ce = userdata;
        struct ce_socket *ps = socketp;
        uint32_t events = 0;
        int k;

        if (what == CURL_POLL_REMOVE) {
                if (ps) {
                        curl_multi_assign(ce->multi, fd, NULL);
                        socket_free(ce, ps);
                }
                return 0;
        }
        if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
                events |= EPOLLIN;
        if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
                events |= EPOLLOUT;
        if (!ps) {
                /* A socket curl closed without telling us, its number now reused: the stale
                 * source goes (the kernel dropped its epoll registration with the old file). */
                for (struct ce_socket *stale = ce->sockets; stale; stale = stale->next)
                        if (stale->fd == fd) {
                                socket_free(ce, stale);
                                break;
                        }
        }
        if (ps) {
                k = sd_event_source_set_io_events(ps->io, events);
                if (k >= 0)
                        k = sd_event_source_set_enabled(ps->io, SD_EVENT_ON);
                return k < 0 || curl_multi_assign(ce->multi, fd, ps) != CURLM_OK ? -1 : 0;
        }
        ps = calloc(1, sizeof(*ps));
        if (!ps)
                return -1;
        ps->fd = fd;
        /* epoll watches a duplicate that we own: a registration belongs to the open file, and
         * our forked children keep curl's sockets open after curl closed them, so a
         * registration made on curl's descriptor could outlive our source (and epoll would
         * then report events for freed memory); on our own descriptor, removing the source
         * always removes its registration. */
        int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (dfd < 0) {
                free(ps);
                return -1;
        }
        if (sd_event_add_io(ce->event, &ps->io, dfd, events, on_io, ps) < 0) {
                close(dfd);
                free(ps);
                return -1;
        }
        (void) sd_event_source_set_io_fd_own(ps->io, true);
        ps->ce = ce;
        (void) sd_event_source_set_description(ps->io, ce->socket_desc);
        ps->next = ce->sockets;
        if (ce->sockets)
                ce->sockets->prev = ps;
        ce->sockets = ps;
        if (curl_multi_assign(ce->multi, fd, ps) != CURLM_OK) {
                socket_free(ce, ps);
                return -1;
        }
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct curl_event *ce = userdata;
        int running = 0;
        (void) curl_multi_socket_action(ce->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        dispatch(ce);
        return 0;
}

/* curl asks to be called back after timeout_ms (-1: never); re-armed from curl's callback. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userdata) {
        struct curl_event *ce = userdata;
        uint64_t now;
        if (timeout_ms < 0)
                return sd_event_source_set_enabled(ce->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        /* curl's timeout counts from now, not from the loop iteration's cached time */
        now = now_monotonic();
        int k = sd_event_source_set_time(ce->timer, now + (uint64_t) timeout_ms * 1000);
        if (k >= 0)
                k = sd_event_source_set_enabled(ce->timer, SD_EVENT_ONESHOT);
        return k < 0 ? -1 : 0;
}

int curl_event_new(sd_event *event, const char *name, curl_event_done_fn done, void *userdata,
                   struct curl_event **ret) {
        if (!event || !done || !ret)
                return -EINVAL;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -EIO;
        struct curl_event *ce = calloc(1, sizeof(*ce));
        if (!ce) {
                curl_global_cleanup();
                return -ENOMEM;
        }
        ce->event = sd_event_ref(event);
        ce->done = done;
        ce->userdata = userdata;
        ce->multi = curl_multi_init();
        ce->socket_desc = nl_strdupf("%s-curl-socket", name ? name : "curl");
        _cleanup_free_ char *timer_desc = nl_strdupf("%s-curl-timer", name ? name : "curl");
        if (!ce->multi || !ce->socket_desc || !timer_desc) {
                curl_event_free(ce);
                return -ENOMEM;
        }
        /* accuracy 1 us: 0 would mean sd-event's default of 250 ms, and curl's timeouts (a
         * connection's next step, a retry) would each wait that long (seen in bench/) */
        int k = sd_event_add_time(event, &ce->timer, CLOCK_MONOTONIC, UINT64_MAX, 1, on_timer, ce);
        if (k < 0) {
                curl_event_free(ce);
                return k;
        }
        (void) sd_event_source_set_description(ce->timer, timer_desc);
        (void) sd_event_source_set_enabled(ce->timer, SD_EVENT_OFF);
        if (curl_multi_setopt(ce->multi, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK ||
            curl_multi_setopt(ce->multi, CURLMOPT_SOCKETDATA, ce) != CURLM_OK ||
            curl_multi_setopt(ce->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) != CURLM_OK ||
            curl_multi_setopt(ce->multi, CURLMOPT_TIMERDATA, ce) != CURLM_OK) {
                curl_event_free(ce);
                return -EIO;
        }
        *ret = ce;
        return 0;
}

void curl_event_free(struct curl_event *ce) {
        if (!ce)
                return;
        if (ce->multi)
                curl_multi_cleanup(ce->multi);
        while (ce->sockets)
                socket_free(ce, ce->sockets);
        sd_event_source_disable_unref(ce->timer);
        sd_event_unref(ce->event);
        free(ce->socket_desc);
        free(ce);
        curl_global_cleanup();
}

CURLM *curl_event_multi(struct curl_event *ce) {
        return ce->multi;
}

/* curl closes a socket: its io source goes too (curl does not always say CURL_POLL_REMOVE
 * first), before the descriptor number can be reused. */
static int on_close_socket(void *clientp, curl_socket_t fd) {
        struct curl_event *ce = clientp;
        for (struct ce_socket *ps = ce->sockets; ps; ps = ps->next)
                if (ps->fd == fd) {
                        socket_free(ce, ps);
                        break;
                }
        return close(fd);
}

int curl_event_add(struct curl_event *ce, CURL *easy) {
        if (curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, ce) != CURLE_OK)
                return -EIO;
        if (curl_multi_add_handle(ce->multi, easy) != CURLM_OK)
                return -EIO;
        /* curl arms its timer from add_handle; the transfer starts from there */
        return 0;
}

void curl_event_remove(struct curl_event *ce, CURL *easy) {
        if (ce && easy)
                curl_multi_remove_handle(ce->multi, easy);
}

bool curl_header_split(const char *data, size_t n, size_t *ret_name_len, const char **ret_value,
                       size_t *ret_value_len) {
        const char *colon = memchr(data, ':', n);
        if (!colon || colon == data)
                return false;
        const char *v = colon + 1, *end = data + n;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
                end--;
        *ret_name_len = (size_t) (colon - data);
        *ret_value = v;
        *ret_value_len = (size_t) (end - v);
        return true;
}
