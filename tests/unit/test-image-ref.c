/* SPDX-License-Identifier: Apache-2.0 */
/* Image references: the values of github.com/distribution/reference's test tables
 * (reference_test.go, normalize_test.go, regexp_test.go), run through ParseNormalizedNamed +
 * TagNameOnly semantics, plus our own cases (sha256 only, error messages). */
#include <stdio.h>
#include <stdlib.h>

#include "cri/cri.h"
#include "test.h"

#define H64F "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define DBCC "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"
#define BE17 "be178c0543eb17f5f3043021c9e5fcf30285e557a4fc309cce97ff9ca6182912"
#define E669 "e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582"

struct valid_case {
        const char *input;
        const char *canonical; /* image_ref_string */
        const char *domain, *path, *tag, *digest;
};

static const struct valid_case valid_cases[] = {
        /* normalize_test.go: TestValidateReferenceName, valid names */
        {"docker/docker", "docker.io/docker/docker:latest", "docker.io", "docker/docker", "latest", NULL},
        {"library/debian", "docker.io/library/debian:latest", "docker.io", "library/debian", "latest", NULL},
        {"debian", "docker.io/library/debian:latest", "docker.io", "library/debian", "latest", NULL},
        {"localhost/library/debian", "localhost/library/debian:latest", "localhost", "library/debian",
         "latest", NULL},
        {"localhost/debian", "localhost/debian:latest", "localhost", "debian", "latest", NULL},
        {"LOCALDOMAIN/library/debian", "LOCALDOMAIN/library/debian:latest", "LOCALDOMAIN", "library/debian",
         "latest", NULL},
        {"LOCALDOMAIN/debian", "LOCALDOMAIN/debian:latest", "LOCALDOMAIN", "debian", "latest", NULL},
        {"docker.io/docker/docker", "docker.io/docker/docker:latest", "docker.io", "docker/docker", "latest",
         NULL},
        {"docker.io/library/debian", "docker.io/library/debian:latest", "docker.io", "library/debian",
         "latest", NULL},
        {"docker.io/debian", "docker.io/library/debian:latest", "docker.io", "library/debian", "latest",
         NULL},
        {"index.docker.io/docker/docker", "docker.io/docker/docker:latest", "docker.io", "docker/docker",
         "latest", NULL},
        {"index.docker.io/library/debian", "docker.io/library/debian:latest", "docker.io", "library/debian",
         "latest", NULL},
        {"index.docker.io/debian", "docker.io/library/debian:latest", "docker.io", "library/debian",
         "latest", NULL},
        {"127.0.0.1:5000/docker/docker", "127.0.0.1:5000/docker/docker:latest", "127.0.0.1:5000",
         "docker/docker", "latest", NULL},
        {"127.0.0.1:5000/library/debian", "127.0.0.1:5000/library/debian:latest", "127.0.0.1:5000",
         "library/debian", "latest", NULL},
        {"127.0.0.1:5000/debian", "127.0.0.1:5000/debian:latest", "127.0.0.1:5000", "debian", "latest",
         NULL},
        /* a single component is never a domain: these are docker.io names, ":80" a tag */
        {"192.168.0.1", "docker.io/library/192.168.0.1:latest", "docker.io", "library/192.168.0.1", "latest",
         NULL},
        {"192.168.0.1:80", "docker.io/library/192.168.0.1:80", "docker.io", "library/192.168.0.1", "80",
         NULL},
        {"192.168.0.1:8/debian", "192.168.0.1:8/debian:latest", "192.168.0.1:8", "debian", "latest", NULL},
        {"192.168.0.2:25000/debian", "192.168.0.2:25000/debian:latest", "192.168.0.2:25000", "debian",
         "latest", NULL},
        {"thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
         "docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest",
         "docker.io", "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "latest",
         NULL},
        {"[fc00::1]:5000/docker", "[fc00::1]:5000/docker:latest", "[fc00::1]:5000", "docker", "latest",
         NULL},
        {"[fc00::1]:5000/docker/docker", "[fc00::1]:5000/docker/docker:latest", "[fc00::1]:5000",
         "docker/docker", "latest", NULL},
        {"[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000/library/debian:latest",
         "[fc00:1:2:3:4:5:6:7]:5000", "library/debian", "latest", NULL},
        /* with a domain, 64 hex digits are a name, not an image id */
        {"docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
         "docker.io/library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a:latest",
         "docker.io", "library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", "latest",
         NULL},
        /* an uppercase first component is read as a host */
        {"Docker/docker", "Docker/docker:latest", "Docker", "docker", "latest", NULL},
        {"DOCKER/docker", "DOCKER/docker:latest", "DOCKER", "docker", "latest", NULL},
        {"Foo/bar", "Foo/bar:latest", "Foo", "bar", "latest", NULL},

        /* TestValidateRemoteName */
        {"docker-rules/docker", "docker.io/docker-rules/docker:latest", "docker.io", "docker-rules/docker",
         "latest", NULL},
        {"docker---rules/docker", "docker.io/docker---rules/docker:latest", "docker.io",
         "docker---rules/docker", "latest", NULL},
        {"doc/docker", "docker.io/doc/docker:latest", "docker.io", "doc/docker", "latest", NULL},
        {"d/docker", "docker.io/d/docker:latest", "docker.io", "d/docker", "latest", NULL},
        {"jess/t", "docker.io/jess/t:latest", "docker.io", "jess/t", "latest", NULL},
        {"dock__er/docker", "docker.io/dock__er/docker:latest", "docker.io", "dock__er/docker", "latest",
         NULL},

        /* TestParseRepositoryInfo */
        {"localhost/fooo/bar", "localhost/fooo/bar:latest", "localhost", "fooo/bar", "latest", NULL},
        {"fooo/bar", "docker.io/fooo/bar:latest", "docker.io", "fooo/bar", "latest", NULL},
        {"index.docker.io/fooo/bar", "docker.io/fooo/bar:latest", "docker.io", "fooo/bar", "latest", NULL},
        {"nonlibrary/ubuntu", "docker.io/nonlibrary/ubuntu:latest", "docker.io", "nonlibrary/ubuntu",
         "latest", NULL},
        {"other/library", "docker.io/other/library:latest", "docker.io", "other/library", "latest", NULL},
        {"127.0.0.1:8000/private/moonbase", "127.0.0.1:8000/private/moonbase:latest", "127.0.0.1:8000",
         "private/moonbase", "latest", NULL},
        {"example.com/privatebase", "example.com/privatebase:latest", "example.com", "privatebase", "latest",
         NULL},
        {"example.com:8000/privatebasee", "example.com:8000/privatebasee:latest", "example.com:8000",
         "privatebasee", "latest", NULL},
        {"ubuntu-12.04-base", "docker.io/library/ubuntu-12.04-base:latest", "docker.io",
         "library/ubuntu-12.04-base", "latest", NULL},
        {"index.docker.io/library/ubuntu-12.04-base", "docker.io/library/ubuntu-12.04-base:latest",
         "docker.io", "library/ubuntu-12.04-base", "latest", NULL},
        {"docker.io/foo", "docker.io/library/foo:latest", "docker.io", "library/foo", "latest", NULL},
        {"library/foo/bar", "docker.io/library/foo/bar:latest", "docker.io", "library/foo/bar", "latest",
         NULL},
        {"store/foo/bar", "docker.io/store/foo/bar:latest", "docker.io", "store/foo/bar", "latest", NULL},
        {"FOO/bar", "FOO/bar:latest", "FOO", "bar", "latest", NULL},

        /* TestParseReferenceWithTagAndDigest: both are kept */
        {"busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa",
         "docker.io/library/"
         "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa",
         "docker.io", "library/busybox", "latest",
         "sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"},

        /* TestParseAnyReference (names only) */
        {"redis", "docker.io/library/redis:latest", "docker.io", "library/redis", "latest", NULL},
        {"redis:latest", "docker.io/library/redis:latest", "docker.io", "library/redis", "latest", NULL},
        {"redis@sha256:" DBCC, "docker.io/library/redis@sha256:" DBCC, "docker.io", "library/redis", NULL,
         "sha256:" DBCC},
        {"dmcgowan/myapp@sha256:" DBCC, "docker.io/dmcgowan/myapp@sha256:" DBCC, "docker.io",
         "dmcgowan/myapp", NULL, "sha256:" DBCC},
        {"docker.io/mcgowan/myapp:latest", "docker.io/mcgowan/myapp:latest", "docker.io", "mcgowan/myapp",
         "latest", NULL},
        /* 63 hex digits are a name */
        {"dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9",
         "docker.io/library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9:latest",
         "docker.io", "library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9", "latest",
         NULL},
        {"dbcc1", "docker.io/library/dbcc1:latest", "docker.io", "library/dbcc1", "latest", NULL},

        /* TestParseDockerRef inputs (we keep the tag next to a digest; TagNameOnly, not ParseDockerRef) */
        {"busybox@sha256:" E669, "docker.io/library/busybox@sha256:" E669, "docker.io", "library/busybox",
         NULL, "sha256:" E669},
        {"docker.io/busybox:latest", "docker.io/library/busybox:latest", "docker.io", "library/busybox",
         "latest", NULL},
        {"gcr.io/library/busybox", "gcr.io/library/busybox:latest", "gcr.io", "library/busybox", "latest",
         NULL},
        {"gcr.io/library/busybox:latest@sha256:" E669, "gcr.io/library/busybox:latest@sha256:" E669,
         "gcr.io", "library/busybox", "latest", "sha256:" E669},

        /* reference_test.go: TestReferenceParse, normalized */
        {"test_com", "docker.io/library/test_com:latest", "docker.io", "library/test_com", "latest", NULL},
        {"test.com:tag", "docker.io/library/test.com:tag", "docker.io", "library/test.com", "tag", NULL},
        {"test.com:5000", "docker.io/library/test.com:5000", "docker.io", "library/test.com", "5000", NULL},
        {"test.com/repo:tag", "test.com/repo:tag", "test.com", "repo", "tag", NULL},
        {"test:5000/repo", "test:5000/repo:latest", "test:5000", "repo", "latest", NULL},
        {"test:5000/repo:tag", "test:5000/repo:tag", "test:5000", "repo", "tag", NULL},
        {"test:5000/repo@sha256:" H64F, "test:5000/repo@sha256:" H64F, "test:5000", "repo", NULL,
         "sha256:" H64F},
        {"test:5000/repo:tag@sha256:" H64F, "test:5000/repo:tag@sha256:" H64F, "test:5000", "repo", "tag",
         "sha256:" H64F},
        {"lowercase:Uppercase", "docker.io/library/lowercase:Uppercase", "docker.io", "library/lowercase",
         "Uppercase", NULL},
        {"sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com/bar/baz/quux:latest", "sub-dom1.foo.com",
         "bar/baz/quux", "latest", NULL},
        {"sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
         "sub-dom1.foo.com", "bar/baz/quux", "some-long-tag", NULL},
        {"b.gcr.io/test.example.com/my-app:test.example.com",
         "b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io", "test.example.com/my-app",
         "test.example.com", NULL},
        {"xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "myimage",
         "xn--n3h.com", NULL},
        {"foo_bar.com:8080", "docker.io/library/foo_bar.com:8080", "docker.io", "library/foo_bar.com",
         "8080", NULL},
        {"foo/foo_bar.com:8080", "docker.io/foo/foo_bar.com:8080", "docker.io", "foo/foo_bar.com", "8080",
         NULL},
        {"192.168.1.1:5000/repo:5050", "192.168.1.1:5000/repo:5050", "192.168.1.1:5000", "repo", "5050",
         NULL},
        {"192.168.1.1/repo", "192.168.1.1/repo:latest", "192.168.1.1", "repo", "latest", NULL},
        {"[2001:db8::1]/repo", "[2001:db8::1]/repo:latest", "[2001:db8::1]", "repo", "latest", NULL},
        {"[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]",
         "repo", "tag", NULL},
        {"[2001:db8::1]:5000/repo", "[2001:db8::1]:5000/repo:latest", "[2001:db8::1]:5000", "repo", "latest",
         NULL},
        {"[2001:db8::1]:5000/repo:tag@sha256:" H64F, "[2001:db8::1]:5000/repo:tag@sha256:" H64F,
         "[2001:db8::1]:5000", "repo", "tag", "sha256:" H64F},
        {"[2001:db8::]:5000/repo", "[2001:db8::]:5000/repo:latest", "[2001:db8::]:5000", "repo", "latest",
         NULL},
        {"[::1]:5000/repo", "[::1]:5000/repo:latest", "[::1]:5000", "repo", "latest", NULL},

        /* TestNormalizedSplitHostname */
        {"test-com:8080/foo", "test-com:8080/foo:latest", "test-com:8080", "foo", "latest", NULL},
        {"xn--n3h.com:18080/foo", "xn--n3h.com:18080/foo:latest", "xn--n3h.com:18080", "foo", "latest",
         NULL},
        {"docker/migrator", "docker.io/docker/migrator:latest", "docker.io", "docker/migrator", "latest",
         NULL},
        {"docker.io/library/foo/bar", "docker.io/library/foo/bar:latest", "docker.io", "library/foo/bar",
         "latest", NULL},

        /* regexp_test.go, full references */
        {"registry.com:8080/myapp:tag2@sha256:" BE17, "registry.com:8080/myapp:tag2@sha256:" BE17,
         "registry.com:8080", "myapp", "tag2", "sha256:" BE17},
        {"localhost:8080/name@sha256:" BE17, "localhost:8080/name@sha256:" BE17, "localhost:8080", "name",
         NULL, "sha256:" BE17},
        {"localhost@sha256:" BE17, "docker.io/library/localhost@sha256:" BE17, "docker.io",
         "library/localhost", NULL, "sha256:" BE17},
        {"localhost:8080", "docker.io/library/localhost:8080", "docker.io", "library/localhost", "8080",
         NULL},
        {"registry.io/foo/project--id.module--name.ver---sion--name",
         "registry.io/foo/project--id.module--name.ver---sion--name:latest", "registry.io",
         "foo/project--id.module--name.ver---sion--name", "latest", NULL},
        {"Asdf.com/foo/bar", "Asdf.com/foo/bar:latest", "Asdf.com", "foo/bar", "latest", NULL},
        {"example.com/some_separator__underscore/myimage",
         "example.com/some_separator__underscore/myimage:latest", "example.com",
         "some_separator__underscore/myimage", "latest", NULL},
        {"do__cker/docker", "docker.io/do__cker/docker:latest", "docker.io", "do__cker/docker", "latest",
         NULL},
        {"aa-a/a", "docker.io/aa-a/a:latest", "docker.io", "aa-a/a", "latest", NULL},
        {"0101.com/a", "0101.com/a:latest", "0101.com", "a", "latest", NULL},
        {"b.gbc.io:443/x", "b.gbc.io:443/x:latest", "b.gbc.io:443", "x", "latest", NULL},
        {"192.168.1.1:75050/x", "192.168.1.1:75050/x:latest", "192.168.1.1:75050", "x", "latest", NULL},
        {"[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:75050/x",
         "[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:75050/x:latest",
         "[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:75050", "x", "latest", NULL},

        /* a bare host is a docker.io name (upstream's FIXME in splitDockerDomain) */
        {"example.com", "docker.io/library/example.com:latest", "docker.io", "library/example.com", "latest",
         NULL},
        {"example.com:5000", "docker.io/library/example.com:5000", "docker.io", "library/example.com",
         "5000", NULL},

        /* tags: word characters, '.', '-', at most 128 */
        {"busybox:1.36.1-glibc", "docker.io/library/busybox:1.36.1-glibc", "docker.io", "library/busybox",
         "1.36.1-glibc", NULL},
        {"busybox:_x", "docker.io/library/busybox:_x", "docker.io", "library/busybox", "_x", NULL},
        {"k8s.gcr.io/pause:3.9", "k8s.gcr.io/pause:3.9", "k8s.gcr.io", "pause", "3.9", NULL},
        {"registry.k8s.io/e2e-test-images/agnhost:2.45", "registry.k8s.io/e2e-test-images/agnhost:2.45",
         "registry.k8s.io", "e2e-test-images/agnhost", "2.45", NULL},
        {"quay.io/a.b/c_d/e-f/g__h/i---j", "quay.io/a.b/c_d/e-f/g__h/i---j:latest", "quay.io",
         "a.b/c_d/e-f/g__h/i---j", "latest", NULL},
};

static void check_valid(const struct valid_case *c) {
        struct image_ref r = {};
        nl_error err = NL_ERROR_INIT;
        int rc = image_ref_parse(c->input, &r, &err);

        if (rc < 0) {
                TEST_FAIL("parse \"%s\": %d %s", c->input, rc, strempty(err.msg));
                nl_error_clear(&err);
                return;
        }
        char *s = image_ref_string(&r);
        char *repo = image_ref_repository(&r);
        char *want_repo = nl_strdupf("%s/%s", c->domain, c->path);
        if (!streq_ptr(s, c->canonical))
                TEST_FAIL("\"%s\": string \"%s\", want \"%s\"", c->input, strempty(s), c->canonical);
        if (!streq_ptr(r.domain, c->domain))
                TEST_FAIL("\"%s\": domain \"%s\", want \"%s\"", c->input, strempty(r.domain), c->domain);
        if (!streq_ptr(r.path, c->path))
                TEST_FAIL("\"%s\": path \"%s\", want \"%s\"", c->input, strempty(r.path), c->path);
        if (!streq_ptr(r.tag, c->tag))
                TEST_FAIL("\"%s\": tag \"%s\", want \"%s\"", c->input, strempty(r.tag), strempty(c->tag));
        if (!streq_ptr(r.digest, c->digest))
                TEST_FAIL("\"%s\": digest \"%s\", want \"%s\"", c->input, strempty(r.digest),
                          strempty(c->digest));
        if (!streq_ptr(repo, want_repo))
                TEST_FAIL("\"%s\": repository \"%s\", want \"%s\"", c->input, strempty(repo),
                          strempty(want_repo));
        CHECK(err.msg == NULL);

        /* The canonical string is a fixed point. */
        struct image_ref again = {};
        rc = image_ref_parse(s, &again, &err);
        if (rc < 0) {
                TEST_FAIL("reparse \"%s\": %s", s, strempty(err.msg));
                nl_error_clear(&err);
        } else {
                char *s2 = image_ref_string(&again);
                if (!streq_ptr(s, s2))
                        TEST_FAIL("reparse \"%s\" gave \"%s\"", s, strempty(s2));
                free(s2);
                image_ref_done(&again);
        }
        free(s);
        free(repo);
        free(want_repo);
        image_ref_done(&r);
        CHECK(r.domain == NULL && r.path == NULL && r.tag == NULL && r.digest == NULL);
}

/* Each table row counts as a result of its own in the summary. */
#define ROW(name, body)                                                                                     \
        do {                                                                                                \
                int _saved = test_current_failed;                                                           \
                test_current_failed = 0;                                                                    \
                body;                                                                                       \
                _cleanup_free_ char *_n = nl_strdupf("ref %s", name);                                       \
                test_add_result(_n ? _n : "ref", !test_current_failed);                                     \
                test_current_failed |= _saved;                                                              \
        } while (0)

TEST(valid_references) {
        for (size_t i = 0; i < ELEMENTSOF(valid_cases); i++)
                ROW(valid_cases[i].input, check_valid(&valid_cases[i]));
}

static const char *const invalid_cases[] = {
        "",
        ":justtag",
        "@sha256:" H64F,
        "repo@sha256:ffffffffffffffffffffffffffffffffff",
        "validname@invaliddigest:" H64F,
        "Uppercase:tag",
        "test:5000/Uppercase/lowercase:tag",
        "aa/asdf$$^/aa",
        "[2001:db8::1]",
        "[2001:db8::1]:5000",
        "[2001:db8::1]:tag",
        "[fe80::1%eth0]:5000/repo",
        "[fe80::1%@invalidzone]:5000/repo",
        "https://github.com/docker/docker",
        "docker/Docker",
        "-docker",
        "-docker/docker",
        "-docker.io/docker/docker",
        "docker///docker",
        "docker.io/docker/Docker",
        "docker.io/docker///docker",
        "[fc00::1]",
        "[fc00::1]:5000",
        "fc00::1:5000/debian",
        "[fe80::1%eth0]:5000/debian",
        "[2001:db8:3:4::192.0.2.33]:5000/debian",
        "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
        DBCC,
        "docker-/docker",
        "-docker-/docker",
        "____/____",
        "_docker/_docker",
        "dock..er/docker",
        "dock_.er/docker",
        "dock-.er/docker",
        "docker/",
        "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_"
        "because_"
        "its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_"
        "this_is_"
        "not_a_valid_namespace_because_its_lenth_is_greater_than_255/docker",
        "-foo",
        "registry.com:8080/myapp@sha256:badbadbadbad",
        "registry.com:8080/myapp:invalid~tag",
        "bad_hostname.com:8080/myapp:tag",
        "localhost:http/name@sha256:" BE17,
        "registry.com:8080/myapp@bad",
        "registry.com:8080/myapp@2bad",
        "foo.com:http/bar",
        "foo_bar.com:8080/app",
        "example.com/__underscore/myimage",
        "example.com/..dots/myimage",
        "example.com/.dots/myimage",
        "example.com/nodouble..dots/myimage",
        "docker./docker",
        ".docker/docker",
        "do..cker/docker",
        "do__cker:8080/docker",
        "Foo/FarB",
        "a^a",
        "a/a/a/a/",
        "a//a/a",
        "foo.com/",
        "a-/a/a/a",
        "foo.com/a-/a/a",
        "foo/bar-",
        "foo-/bar",
        "foo/-bar",
        "_foo/bar",
        "docker_/docker_",
        "[fd00:1:2::3]75050/x",
        "[fd00:1:2::3]::75050/x",
        "[]/x",
        "[fd00::1/x",
        "host:/x",
        "-host.com/x",
        "host-.com/x",
        "a.-b.com/x",
        /* our own */
        "busybox:",
        "busybox@",
        "busybox:1.0:2.0",
        "busybox:.x",
        "busybox:-x",
        "busybox@sha256:" H64F "@sha256:" H64F,
        "busybox@sha256:" H64F "0",
        "busybox@sha256:FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
        "busybox@sha512:" H64F H64F,
        "busybox@sha384:" H64F "ffffffffffffffffffffffffffffffff",
        "busybox@md5:ffffffffffffffffffffffffffffffff",
        "busybox@SHA256:" H64F,
        "busy box",
        "busybox ",
        " busybox",
        "busybox\n",
        "busybox:lat est",
        "ex\xc3\xa4mple.com/x",
        "example.com/\xc3\xa4",
        "/busybox",
        "example.com//busybox",
        "example.com/busybox/",
        "/",
        ":",
        "@",
        ":@",
};

static void check_invalid(const char *input) {
        struct image_ref r = {};
        nl_error err = NL_ERROR_INIT;
        int rc = image_ref_parse(input, &r, &err);

        if (rc != -EINVAL) {
                _cleanup_free_ char *s = image_ref_string(&r);
                TEST_FAIL("\"%s\": got %d (%s), want -EINVAL", input, rc, strempty(s));
                image_ref_done(&r);
                return;
        }
        CHECK(r.domain == NULL); /* untouched on failure */
        if (!err.msg || strncmp(err.msg, "invalid image reference \"", 25) != 0)
                TEST_FAIL("\"%s\": message \"%s\"", input, strempty(err.msg));
        nl_error_clear(&err);
}

TEST(invalid_references) {
        for (size_t i = 0; i < ELEMENTSOF(invalid_cases); i++)
                ROW(invalid_cases[i], check_invalid(invalid_cases[i]));
}

/* Upstream's length rule (v0.6.0): at most 255 characters of path, the domain not counted. */
TEST(path_length) {
        nl_buf b = {};
        struct image_ref r = {};
        nl_error err = NL_ERROR_INIT;

        for (int i = 0; i < 127; i++)
                nl_buf_puts(&b, "a/");
        nl_buf_puts(&b, "a:tag-puts-this-over-max");
        _cleanup_free_ char *ok = nl_buf_steal(&b);
        CHECK_INT_EQ(image_ref_parse(ok, &r, &err), 0);
        CHECK_STR_EQ(r.domain, "docker.io");
        CHECK_INT_EQ(strlen(strempty(r.path)), 255);
        CHECK_STR_EQ(r.tag, "tag-puts-this-over-max");
        image_ref_done(&r);

        /* the same path behind a long domain still fits */
        _cleanup_free_ char *with_domain = nl_strdupf("registry.example.com:5000/%s", ok);
        CHECK_INT_EQ(image_ref_parse(with_domain, &r, &err), 0);
        image_ref_done(&r);

        for (int i = 0; i < 128; i++)
                nl_buf_puts(&b, "a/");
        nl_buf_puts(&b, "a:tag");
        _cleanup_free_ char *bad = nl_buf_steal(&b);
        CHECK_INT_EQ(image_ref_parse(bad, &r, &err), -EINVAL);
        CHECK(err.msg && strstr(err.msg, "repository name must not be more than 255 characters"));
        nl_error_clear(&err);

        /* "library/" counts: 248 characters on docker.io become 256 */
        char name[249];
        memset(name, 'a', 248);
        name[248] = '\0';
        CHECK_INT_EQ(image_ref_parse(name, &r, &err), -EINVAL);
        nl_error_clear(&err);
        name[247] = '\0';
        CHECK_INT_EQ(image_ref_parse(name, &r, &err), 0);
        CHECK_INT_EQ(strlen(strempty(r.path)), 255);
        image_ref_done(&r);
}

TEST(tag_length) {
        char in[200];
        struct image_ref r = {};
        nl_error err = NL_ERROR_INIT;

        memcpy(in, "busybox:", 8);
        memset(in + 8, 'T', 128);
        in[8 + 128] = '\0';
        CHECK_INT_EQ(image_ref_parse(in, &r, &err), 0);
        CHECK_INT_EQ(strlen(strempty(r.tag)), 128);
        image_ref_done(&r);

        in[8 + 128] = 'T';
        in[8 + 129] = '\0';
        CHECK_INT_EQ(image_ref_parse(in, &r, &err), -EINVAL);
        CHECK(err.msg && strstr(err.msg, "invalid tag"));
        nl_error_clear(&err);
}

static void check_message(const char *input, const char *want) {
        struct image_ref r = {};
        nl_error err = NL_ERROR_INIT;

        CHECK_INT_EQ(image_ref_parse(input, &r, &err), -EINVAL);
        CHECK_INT_EQ(err.code, -EINVAL);
        if (!err.msg || !strstr(err.msg, want))
                TEST_FAIL("\"%s\": message \"%s\", want it to contain \"%s\"", input, strempty(err.msg),
                          want);
        nl_error_clear(&err);
}

TEST(error_messages) {
        check_message("Busybox", "invalid image reference \"Busybox\": repository name must be lowercase");
        check_message("Uppercase:tag", "repository name must be lowercase");
        check_message("docker/Docker", "repository name must be lowercase");
        check_message("test:5000/Uppercase/lowercase:tag", "repository name must be lowercase");
        check_message("", "invalid image reference \"\": repository name must have at least one component");
        check_message(DBCC, "cannot specify 64-byte hexadecimal strings");
        check_message("busybox@sha512:" H64F H64F, "unsupported digest algorithm \"sha512\"");
        check_message("validname@invaliddigest:" H64F, "unsupported digest algorithm \"invaliddigest\"");
        check_message("repo@sha256:ffffffffffffffffffffffffffffffffff", "invalid digest");
        check_message("busybox@sha256:FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
                      "64 lowercase hex digits");
        check_message("busybox:-x", "invalid tag \"-x\"");
        check_message("bad_hostname.com:8080/myapp:tag", "invalid registry host \"bad_hostname.com:8080\"");
        check_message("aa/asdf$$^/aa",
                      "invalid image reference \"aa/asdf$$^/aa\": invalid reference format");
        /* unprintable bytes are escaped in the message */
        check_message("bad\n\"ref", "invalid image reference \"bad\\x0a\\x22ref\"");
}

TEST(long_input_is_capped) {
        size_t n = 100000;
        char *in = malloc(n + 1);
        struct image_ref r = {};
        nl_error err = NL_ERROR_INIT;

        CHECK(in != NULL);
        if (!in)
                return;
        memset(in, 'a', n);
        in[n] = '\0';
        CHECK_INT_EQ(image_ref_parse(in, &r, &err), -EINVAL);
        CHECK(err.msg && strlen(err.msg) < 1000); /* the message quotes a prefix only */
        nl_error_clear(&err);
        free(in);
}

TEST(null_error_is_fine) {
        struct image_ref r = {};
        CHECK_INT_EQ(image_ref_parse("Busybox", &r, NULL), -EINVAL);
        CHECK_INT_EQ(image_ref_parse("busybox", &r, NULL), 0);
        CHECK_STR_EQ(r.path, "library/busybox");
        image_ref_done(&r);
        image_ref_done(&r); /* idempotent */
        image_ref_done(NULL);
}

TEST(string_of_hand_built_ref) {
        struct image_ref r = {
                .domain = (char *) "host:5000", .path = (char *) "a/b", .digest = (char *) "sha256:" H64F};
        _cleanup_free_ char *s = image_ref_string(&r);
        _cleanup_free_ char *repo = image_ref_repository(&r);
        CHECK_STR_EQ(s, "host:5000/a/b@sha256:" H64F);
        CHECK_STR_EQ(repo, "host:5000/a/b");
        r.tag = (char *) "t";
        _cleanup_free_ char *s2 = image_ref_string(&r);
        CHECK_STR_EQ(s2, "host:5000/a/b:t@sha256:" H64F);
}
