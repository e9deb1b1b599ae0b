/* Unit tests for scripting/repl: incomplete chunks, printing values, error recovery,
 * interrupts and completion, on a real Lua state with the lab loaded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab.h"
#include "lab_state.h"
#include "repl.h"

typedef struct capture {
    char text[4096];
    int errors;
} capture;

static void writer(void *ud, const char *text, int is_error)
{
    capture *c = ud;
    strncat(c->text, text, sizeof c->text - strlen(c->text) - 1);
    c->errors += is_error;
}

typedef struct world {
    lua_State *L;
    repl r;
    capture out;
} world;

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    lab_state_opts o;
    lab_state_opts_default(&o);
    char err[200];
    w->L = lab_state_new(&o, err, sizeof err);
    assert_non_null(w->L);
    repl_init(&w->r, w->L, writer, &w->out);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    repl_free(&w->r);
    lua_close(w->L);
    free(w);
    return 0;
}

static const char *feed(world *w, const char *line, repl_status expect)
{
    w->out.text[0] = '\0';
    w->out.errors = 0;
    assert_int_equal(repl_feed(&w->r, line), expect);
    return w->out.text;
}

static void test_incomplete_chunks(void **state)
{
    world *w = *state;
    feed(w, "s = 0", REPL_DONE);
    feed(w, "for i = 1, 3 do", REPL_INCOMPLETE);
    assert_true(repl_has_pending(&w->r));
    feed(w, "  s = s + i", REPL_INCOMPLETE);
    feed(w, "end", REPL_DONE);
    assert_false(repl_has_pending(&w->r));
    assert_string_equal(feed(w, "=s", REPL_DONE), "6\n");
    /* An unfinished string or table is incomplete too; a real error is not. */
    feed(w, "t = {1,", REPL_INCOMPLETE);
    feed(w, "2}", REPL_DONE);
    assert_string_equal(feed(w, "#t", REPL_DONE), "2\n");
    assert_non_null(strstr(feed(w, "x = = 1", REPL_ERROR), "unexpected symbol"));
    assert_false(repl_has_pending(&w->r));
    /* Dropping a pending chunk (Ctrl-C at the second prompt). */
    feed(w, "if true then", REPL_INCOMPLETE);
    repl_reset(&w->r);
    assert_string_equal(feed(w, "1", REPL_DONE), "1\n");
}

static void test_printing(void **state)
{
    world *w = *state;
    assert_string_equal(feed(w, "1 + 1", REPL_DONE), "2\n");
    assert_string_equal(feed(w, "=  'a\"b'", REPL_DONE), "\"a\\\"b\"\n");
    assert_string_equal(feed(w, "1, nil, true", REPL_DONE), "1\tnil\ttrue\n");
    assert_string_equal(feed(w, "{1, 'two', x = 3}", REPL_DONE), "{1, \"two\", x = 3}\n");
    /* Two levels shown, deeper tables by address. */
    const char *nested = feed(w, "{{1, {2}}}", REPL_DONE);
    assert_true(!strncmp(nested, "{{1, table: ", 12));
    /* Statements print nothing; userdata print through __tostring. */
    assert_string_equal(feed(w, "local z = 5", REPL_DONE), "");
    assert_string_equal(feed(w, "lab.net{sizes = {4, 3, 2}}", REPL_DONE),
                        "net 4-3-2 (28 parameters)\n");
}

static void test_errors_recover(void **state)
{
    world *w = *state;
    const char *out = feed(w, "error('boom')", REPL_ERROR);
    assert_non_null(strstr(out, "boom"));
    assert_non_null(strstr(out, "stack traceback"));
    assert_int_equal(w->out.errors, 1);
    out = feed(w, "lab.net{sizes = {4, -3, 2}}", REPL_ERROR);
    assert_non_null(strstr(out, "lab.net: layer sizes must be positive, got -3"));
    assert_string_equal(feed(w, "=40 + 2", REPL_DONE), "42\n");
}

static int interrupt_me(lua_State *L)
{
    repl_interrupt(L); /* as the SIGINT handler does */
    return 0;
}

static void test_interrupt(void **state)
{
    world *w = *state;
    lua_register(w->L, "interrupt_me", interrupt_me);
    const char *out = feed(w, "interrupt_me() while true do end", REPL_ERROR);
    assert_non_null(strstr(out, "interrupted!"));
    /* The state goes on, with no hook left behind. */
    assert_string_equal(feed(w, "n = 0 for i = 1, 100000 do n = n + 1 end return n", REPL_DONE),
                        "100000\n");
}

static void complete(world *w, const char *word, const char *const *expect, size_t n)
{
    char *out[64];
    size_t got = repl_complete(w->L, word, out, 64);
    for (size_t i = 0; i < n; i++) {
        int found = 0;
        for (size_t k = 0; k < got; k++)
            found |= !strcmp(out[k], expect[i]);
        if (!found)
            fail_msg("completing '%s': '%s' missing", word, expect[i]);
    }
    for (size_t k = 0; k < got; k++)
        free(out[k]);
}

static void test_completion(void **state)
{
    world *w = *state;
    const char *globals[] = {"print", "pairs"};
    complete(w, "p", globals, 2);
    const char *fields[] = {"lab.dataset", "lab.trainer"};
    complete(w, "lab.", fields, 2);
    const char *strings[] = {"string.format"};
    complete(w, "string.fo", strings, 1);
    /* Methods of userdata, through the metatable's __index table. */
    feed(w, "n = lab.net{sizes = {4, 2}}", REPL_DONE);
    const char *methods[] = {"n:copy"};
    complete(w, "n:co", methods, 1);
    char *out[8];
    assert_int_equal(repl_complete(w->L, "nosuch.x", out, 8), 0);
    assert_int_equal(repl_complete(w->L, "zzz", out, 8), 0);
}

/* The chunk hook (sessions record through it) sees each chunk as it was loaded. */
typedef struct seen {
    char code[8][128];
    char error[8][128];
    int n;
} seen;

static void on_chunk(void *ud, const char *code, const char *error)
{
    seen *s = ud;
    if (s->n >= 8)
        return;
    snprintf(s->code[s->n], sizeof s->code[0], "%s", code);
    snprintf(s->error[s->n], sizeof s->error[0], "%s", error ? error : "");
    s->n++;
}

static void test_chunk_hook(void **state)
{
    world *w = *state;
    seen s = {0};
    w->r.on_chunk = on_chunk;
    w->r.chunk_ud = &s;
    feed(w, "=6 * 7", REPL_DONE);
    feed(w, "x = 1", REPL_DONE);
    feed(w, "x + 1", REPL_DONE);
    feed(w, "for i = 1, 2 do", REPL_INCOMPLETE);
    feed(w, "end", REPL_DONE);
    feed(w, "error('boom')", REPL_ERROR);
    feed(w, "x = = 1", REPL_ERROR); /* a syntax error never ran: not a chunk */
    assert_int_equal(s.n, 5);
    assert_string_equal(s.code[0], "return 6 * 7");
    assert_string_equal(s.code[1], "x = 1");
    assert_string_equal(s.code[2], "return x + 1");
    assert_string_equal(s.code[3], "for i = 1, 2 do\nend");
    assert_string_equal(s.error[3], "");
    assert_string_equal(s.code[4], "return error('boom')"); /* a call is an expression */
    assert_string_equal(s.error[4], "stdin:1: boom");
    /* A whole chunk, as a replay runs it. */
    assert_int_equal(repl_run_chunk(&w->r, "y = 2\nreturn y * 3", "=stdin"), REPL_DONE);
    assert_non_null(strstr(w->out.text, "6"));
    assert_int_equal(repl_run_chunk(&w->r, "y = = 2", "=stdin"), REPL_ERROR);
    assert_non_null(strstr(w->r.last_error, "unexpected symbol"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_incomplete_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_printing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_recover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_completion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunk_hook, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
