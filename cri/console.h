/* SPDX-License-Identifier: Apache-2.0 */
/* The runtime's --console-socket protocol (the pty master arrives over a unix socket as
 * SCM_RIGHTS), for nodelet-shim and the runtime's exec (cri/console.c). */
#pragma once

#include "common/util.h"

/* A listening socket dir/name (non-blocking); when that path does not fit sun_path, the
 * socket goes in a private directory under /tmp (*ret_tmpdir, to be removed after; else
 * NULL). */
int console_listen(const char *dir, const char *name, char **ret_path, char **ret_tmpdir, int *ret_fd);
/* The master from the first connection; -EAGAIN when nobody connected yet, -ETIMEDOUT when
 * the runtime connected but sent nothing within 5 s, -EBADMSG when it sent no descriptor. */
int console_receive(int listen_fd, int *ret_master);
