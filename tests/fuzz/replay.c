/* SPDX-License-Identifier: Apache-2.0 */
/* A main() for fuzz targets without libFuzzer, so `make test` replays every committed corpus.
 *   build/tests/fuzz-<name>-replay           replays tests/fuzz/corpus/<name>/ (run from the repo root)
 *   build/tests/fuzz-<name>-replay PATH...   replays those files and directories instead
 * Prints "<name>: N passed, F failed", F counting inputs that could not be read. A crash is a crash:
 * the sanitizers report it, and we name the input that caused it. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>

#include "common/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer runs take -max_len=65536; committed seeds are far smaller. This only bounds reads. */
#define REPLAY_MAX_INPUT (64u * 1024u * 1024u)

/* From the sanitizer runtime when linked in (gcc and clang both ship it). */
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

static const char *current_input; /* for the crash note */

static void note_crash(void) {
        if (!current_input)
                return;
        const char *pre = "replay: crashed on input ";
        ssize_t n _unused_;
        n = write(STDERR_FILENO, pre, strlen(pre));
        n = write(STDERR_FILENO, current_input, strlen(current_input));
        n = write(STDERR_FILENO, "\n", 1);
}

static void on_signal(int sig) {
        note_crash();
        raise(sig); /* SA_RESETHAND: the default action now */
}

static void install_crash_note(void) {
        if (__sanitizer_set_death_callback) {
                /* the sanitizers own the signals; they call us after their report */
                __sanitizer_set_death_callback(note_crash);
                return;
        }
        struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESETHAND};
        sigemptyset(&sa.sa_mask);
        int sigs[] = {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL};
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                sigaction(sigs[i], &sa, NULL);
}

/* The whole file in a buffer of exactly its size, so ASan sees any read past the end. */
static int read_input(const char *path, uint8_t **ret, size_t *ret_size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ uint8_t *buf = NULL;
        struct stat st;
        size_t size, done = 0;

        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADF;
        if (st.st_size > (off_t) REPLAY_MAX_INPUT)
                return -EFBIG;
        size = (size_t) st.st_size;
        buf = malloc(size ? size : 1);
        if (!buf)
                return -ENOMEM;
        while (done < size) {
                ssize_t n = read(fd, buf + done, size - done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break; /* shrank under us: replay what we have */
                done += (size_t) n;
        }
        *ret = TAKE_PTR(buf);
        *ret_size = done;
        return 0;
}

static void replay_file(const char *path, unsigned *passed, unsigned *failed) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t size = 0;
        int r = read_input(path, &data, &size);

        if (r < 0) {
                fprintf(stderr, "replay: cannot read %s: %s\n", path, strerror(-r));
                (*failed)++;
                return;
        }
        current_input = path;
        LLVMFuzzerTestOneInput(data, size);
        current_input = NULL;
        (*passed)++;
}

static int skip_hidden(const struct dirent *de) {
        return de->d_name[0] != '.';
}

static void replay_path(const char *path, unsigned *passed, unsigned *failed) {
        struct dirent **names = NULL;
        struct stat st;
        int n;

        if (stat(path, &st) < 0) {
                fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
                (*failed)++;
                return;
        }
        if (!S_ISDIR(st.st_mode)) {
                replay_file(path, passed, failed);
                return;
        }
        n = scandir(path, &names, skip_hidden, alphasort); /* sorted: the same order every run */
        if (n < 0) {
                fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
                (*failed)++;
                return;
        }
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *p = nl_strdupf("%s/%s", path, names[i]->d_name);
                free(names[i]);
                if (!p) {
                        (*failed)++;
                        continue;
                }
                if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
                        continue; /* corpora are flat */
                replay_file(p, passed, failed);
        }
        free(names);
}

/* "build/tests/fuzz-yaml-replay" -> "yaml" */
static char *target_name(const char *argv0) {
        const char *base = strrchr(argv0, '/');
        base = base ? base + 1 : argv0;
        size_t len = strlen(base);
        const char *prefix = "fuzz-", *suffix = "-replay";

        if (strncmp(base, prefix, strlen(prefix)) == 0) {
                base += strlen(prefix);
                len -= strlen(prefix);
        }
        if (len > strlen(suffix) && streq(base + len - strlen(suffix), suffix))
                len -= strlen(suffix);
        return strndup(base, len);
}

int main(int argc, char **argv) {
        _cleanup_free_ char *name = target_name(argc > 0 ? argv[0] : "fuzz");
        unsigned passed = 0, failed = 0;

        if (!name)
                return 1;
        install_crash_note();
        if (argc > 1) {
                for (int i = 1; i < argc; i++)
                        replay_path(argv[i], &passed, &failed);
        } else {
                _cleanup_free_ char *dir = nl_strdupf("tests/fuzz/corpus/%s", name);
                if (!dir)
                        return 1;
                replay_path(dir, &passed, &failed);
        }
        printf("%s: %u passed, %u failed\n", name, passed, failed);
        return failed ? 1 : 0;
}
