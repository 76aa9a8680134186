/* SPDX-License-Identifier: Apache-2.0 */
/* podspec_expand against upstream's table (third_party/forked/golang/expansion/expand_test.go)
 * plus the edges and the output cap. */
#include <stdlib.h>

#include "podspec/podspec.h"
#include "test.h"

struct var {
        const char *name, *value;
};

/* One or more variable tables searched in order, as upstream's MappingFuncFor(ctx...). */
struct tables {
        const struct var *t[2];
        size_t n[2];
};

static const char *lookup_tables(const char *name, void *userdata) {
        const struct tables *ts = userdata;
        for (size_t k = 0; k < 2; k++)
                for (size_t i = 0; i < ts->n[k]; i++)
                        if (streq(ts->t[k][i].name, name))
                                return ts->t[k][i].value;
        return NULL;
}

struct expand_case {
        const char *name, *input, *expected;
};

/* Upstream's doExpansionTest table, every row. */
static const struct expand_case upstream_cases[] = {
        {"whole string", "$(VAR_A)", "A"},
        {"repeat", "$(VAR_A)-$(VAR_A)", "A-A"},
        {"beginning", "$(VAR_A)-1", "A-1"},
        {"middle", "___$(VAR_B)___", "___B___"},
        {"end", "___$(VAR_C)", "___C"},
        {"compound", "$(VAR_A)_$(VAR_B)_$(VAR_C)", "A_B_C"},
        {"escape & expand", "$$(VAR_B)_$(VAR_A)", "$(VAR_B)_A"},
        {"compound escape", "$$(VAR_A)_$$(VAR_B)", "$(VAR_A)_$(VAR_B)"},
        {"mixed in escapes", "f000-$$VAR_A", "f000-$VAR_A"},
        {"backslash escape ignored", "foo\\$(VAR_C)bar", "foo\\Cbar"},
        {"backslash escape ignored 2", "foo\\\\$(VAR_C)bar", "foo\\\\Cbar"},
        {"lots of backslashes", "foo\\\\\\\\$(VAR_A)bar", "foo\\\\\\\\Abar"},
        {"nested var references", "$(VAR_A$(VAR_B))", "$(VAR_A$(VAR_B))"},
        {"nested var references second type", "$(VAR_A$(VAR_B)", "$(VAR_A$(VAR_B)"},
        {"value is a reference", "$(VAR_REF)", "$(VAR_A)"},
        {"value is a reference x 2", "%%$(VAR_REF)--$(VAR_REF)%%", "%%$(VAR_A)--$(VAR_A)%%"},
        {"empty var", "foo$(VAR_EMPTY)bar", "foobar"},
        {"unterminated expression", "foo$(VAR_Awhoops!", "foo$(VAR_Awhoops!"},
        {"expression without operator", "f00__(VAR_A)__", "f00__(VAR_A)__"},
        {"shell special vars pass through", "$?_boo_$!", "$?_boo_$!"},
        {"bare operators are ignored", "$VAR_A", "$VAR_A"},
        {"undefined vars are passed through", "$(VAR_DNE)", "$(VAR_DNE)"},
        {"multiple (even) operators, var undefined", "$$$$$$(BIG_MONEY)", "$$$(BIG_MONEY)"},
        {"multiple (even) operators, var defined", "$$$$$$(VAR_A)", "$$$(VAR_A)"},
        {"multiple (odd) operators, var undefined", "$$$$$$$(GOOD_ODDS)", "$$$$(GOOD_ODDS)"},
        {"multiple (odd) operators, var defined", "$$$$$$$(VAR_A)", "$$$A"},
        {"missing open expression", "$VAR_A)", "$VAR_A)"},
        {"shell syntax ignored", "${VAR_A}", "${VAR_A}"},
        {"trailing incomplete expression not consumed", "$(VAR_B)_______$(A", "B_______$(A"},
        {"trailing incomplete expression, no content, is not consumed", "$(VAR_C)_______$(", "C_______$("},
        {"operator at end of input string is preserved", "$(VAR_A)foobarzab$", "Afoobarzab$"},
        {"shell escaped incomplete expr", "foo-\\$(VAR_A", "foo-\\$(VAR_A"},
        {"lots of $( in middle", "--$($($($($--", "--$($($($($--"},
        {"lots of $( in beginning", "$($($($($--foo$(", "$($($($($--foo$("},
        {"lots of $( at end", "foo0--$($($($(", "foo0--$($($($("},
        {"escaped operators in variable names are not escaped", "$(foo$$var)", "$(foo$$var)"},
        {"newline not expanded", "\n", "\n"},
};

static void run_table(const struct tables *ts) {
        for (size_t i = 0; i < ELEMENTSOF(upstream_cases); i++) {
                const struct expand_case *c = &upstream_cases[i];
                char *got = podspec_expand(c->input, lookup_tables, (void *) ts);
                if (!got || !streq(got, c->expected))
                        TEST_FAIL("%s: input \"%s\": got \"%s\", want \"%s\"", c->name, c->input,
                                  got ? got : "(null)", c->expected);
                free(got);
        }
}

/* TestMapping: one table. */
TEST(expand_upstream_table_single_context) {
        static const struct var ctx[] = {
                {"VAR_A", "A"}, {"VAR_B", "B"}, {"VAR_C", "C"}, {"VAR_REF", "$(VAR_A)"}, {"VAR_EMPTY", ""},
        };
        struct tables ts = {{ctx, NULL}, {ELEMENTSOF(ctx), 0}};
        run_table(&ts);
}

/* TestMappingDual: the same variables split across two tables. */
TEST(expand_upstream_table_dual_context) {
        static const struct var ctx1[] = {{"VAR_A", "A"}, {"VAR_EMPTY", ""}};
        static const struct var ctx2[] = {{"VAR_B", "B"}, {"VAR_C", "C"}, {"VAR_REF", "$(VAR_A)"}};
        struct tables ts = {{ctx1, ctx2}, {ELEMENTSOF(ctx1), ELEMENTSOF(ctx2)}};
        run_table(&ts);
}

/* TestMapReference: env values expanded in order, each seeing the ones before it. */
struct env_map {
        const char *names[3];
        char *values[3];
        size_t n;
};

static const char *lookup_env(const char *name, void *userdata) {
        struct env_map *m = userdata;
        for (size_t i = 0; i < m->n; i++)
                if (streq(m->names[i], name))
                        return m->values[i];
        return NULL;
}

TEST(expand_upstream_map_reference) {
        static const char *const names[] = {"FOO", "ZOO", "BLU"};
        static const char *const raw[] = {"bar", "$(FOO)-1", "$(ZOO)-2"};
        static const char *const want[] = {"bar", "bar-1", "bar-1-2"};
        struct env_map m = {.n = 3};

        /* Upstream declares every variable with its raw value, then expands each in turn. */
        for (size_t i = 0; i < 3; i++) {
                m.names[i] = names[i];
                m.values[i] = strdup(raw[i]);
        }
        for (size_t i = 0; i < 3; i++) {
                char *v = podspec_expand(raw[i], lookup_env, &m);
                CHECK(v != NULL);
                free(m.values[i]);
                m.values[i] = v;
        }
        for (size_t i = 0; i < 3; i++) {
                CHECK_STR_EQ(m.values[i], want[i]);
                free(m.values[i]);
        }
}

static const char *lookup_one(const char *name, void *userdata) {
        return streq(name, "VAR") ? "value" : NULL;
}

static void check_one(const char *in, const char *want) {
        char *got = podspec_expand(in, lookup_one, NULL);
        if (!got || !streq(got, want))
                TEST_FAIL("input \"%s\": got \"%s\", want \"%s\"", in, got ? got : "(null)", want);
        free(got);
}

TEST(expand_edges) {
        check_one("", "");
        check_one("$", "$");
        check_one("$$", "$");
        check_one("$$$", "$$");
        check_one("$(", "$(");
        check_one("$()", "$()");
        check_one("$(VAR)", "value");
        check_one("$$(VAR)", "$(VAR)");
        check_one("$(VAR", "$(VAR");
        check_one("$(VAR))", "value)");
        check_one("($(VAR))", "(value)");
        check_one("$(VAR)$(VAR)", "valuevalue");
        check_one("$(A$(VAR))", "$(A$(VAR))");
        check_one("$(UNKNOWN)x$(VAR)", "$(UNKNOWN)xvalue");
        check_one("a$)b", "a$)b");
        check_one("$ (VAR)", "$ (VAR)");
        check_one("$(VAR )", "$(VAR )");
        check_one("$( VAR)", "$( VAR)");
        check_one("plain text", "plain text");
        /* Non-ASCII after '$' is copied byte for byte (upstream mangles it, see expand.c). */
        check_one("$\xc3\xa9t\xc3\xa9", "$\xc3\xa9t\xc3\xa9");
        check_one("$(\xc3\xa9)", "$(\xc3\xa9)");
}

TEST(expand_null_lookup_and_input) {
        char *s = podspec_expand("$(VAR) $$ $x", NULL, NULL);
        CHECK_STR_EQ(s, "$(VAR) $ $x");
        free(s);
        s = podspec_expand(NULL, lookup_one, NULL);
        CHECK_STR_EQ(s, "");
        free(s);
}

static const char *lookup_big(const char *name, void *userdata) {
        return streq(name, "BIG") ? (const char *) userdata : NULL;
}

TEST(expand_output_cap) {
        const size_t vlen = 300 * 1024; /* three fit under 1 MiB, the fourth does not */
        char *big = malloc(vlen + 1);
        CHECK(big != NULL);
        if (!big)
                return;
        memset(big, 'x', vlen);
        big[vlen] = '\0';

        char *s = podspec_expand("<$(BIG)$(BIG)$(BIG)$(BIG)$$tail$(BIG)>", lookup_big, big);
        CHECK(s != NULL);
        if (s) {
                size_t n = strlen(s);
                CHECK(n <= 1024 * 1024 + 64);
                CHECK_INT_EQ(n, 1 + 3 * vlen + strlen("$(BIG)$$tail$(BIG)>"));
                CHECK(s[0] == '<');
                CHECK(strspn(s + 1, "x") == 3 * vlen);
                /* The rest is literal: the escape is not applied either. */
                CHECK_STR_EQ(s + 1 + 3 * vlen, "$(BIG)$$tail$(BIG)>");
        }
        free(s);

        /* Exactly at the cap still expands. */
        char *exact = malloc(1024 * 1024 + 1);
        CHECK(exact != NULL);
        if (exact) {
                memset(exact, 'y', 1024 * 1024);
                exact[1024 * 1024] = '\0';
                s = podspec_expand("$(BIG)", lookup_big, exact);
                CHECK(s && strlen(s) == 1024 * 1024);
                free(s);
                s = podspec_expand("a$(BIG)", lookup_big, exact);
                CHECK_STR_EQ(s, "a$(BIG)");
                free(s);
        }
        free(exact);
        free(big);
}
