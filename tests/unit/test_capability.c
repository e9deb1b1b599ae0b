/* Unit tests for the one constructor of the lab's states (scripting/lab_state), the
 * capability allow-list (scripting/capability) and the memory cap's accounting
 * (core/memcap): every function Lua can reach is declared; a sandboxed state refuses an
 * undeclared one, a plugin, a link without --chip, paths outside its directories (after
 * symbolic links) and keeps the rest working. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capability.h"
#include "lab.h"
#include "lab_state.h"
#include "memcap.h"
#include "ui.h"

static void open_ui(lua_State *L, void *ud)
{
    (void)ud;
    ui_open(L, NULL);
}

static int sneaky(lua_State *L)
{
    lua_pushstring(L, "ran");
    return 1;
}

/* An extra, undeclared lab function, as a careless new binding would add. */
static void open_sneaky(lua_State *L, void *ud)
{
    open_ui(L, ud);
    lua_getglobal(L, "lab");
    lua_pushcfunction(L, sneaky);
    lua_setfield(L, -2, "sneaky");
    lua_pop(L, 1);
}

static lua_State *state(int trusted, void (*more)(lua_State *, void *), const char *chip)
{
    lab_state_opts o;
    lab_state_opts_default(&o);
    o.trusted = trusted;
    o.open_more = more;
    o.chip = chip;
    char err[300];
    lua_State *L = lab_state_new(&o, err, sizeof err);
    assert_non_null(L);
    return L;
}

/* Run code; returns its error message (static copy) or "" when it ran. */
static const char *run(lua_State *L, const char *code)
{
    static char msg[1024];
    msg[0] = '\0';
    if (luaL_dostring(L, code) != LUA_OK) {
        snprintf(msg, sizeof msg, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    return msg;
}

static void check_declared_table(lua_State *L, int t, const char *prefix, int *count)
{
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TFUNCTION) {
            char name[128];
            snprintf(name, sizeof name, "%s%s", prefix, lua_tostring(L, -2));
            if (cap_declared(name) < 0)
                fail_msg("%s is reachable from Lua but not declared in capability.c", name);
            (*count)++;
        }
        lua_pop(L, 1);
    }
}

static void test_every_function_declared(void **s)
{
    (void)s;
    lua_State *L = state(1, open_ui, NULL);
    int count = 0;
    lua_getglobal(L, "lab");
    int lab = lua_gettop(L);
    check_declared_table(L, lab, "lab.", &count);
    lua_pushnil(L);
    while (lua_next(L, lab)) {
        if (lua_type(L, -1) == LUA_TTABLE) {
            char prefix[64];
            snprintf(prefix, sizeof prefix, "lab.%s.", lua_tostring(L, -2));
            check_declared_table(L, lua_gettop(L), prefix, &count);
        }
        lua_pop(L, 1);
    }
    static const char *const classes[] = {"lab.dataset", "lab.tasks", "lab.net", "lab.trainer",
                                          "lab.experiment", "lab.job", "lab.baseline",
                                          "lab.chip", NULL};
    for (int i = 0; classes[i]; i++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "%s:", classes[i]);
        assert_int_equal(luaL_getmetatable(L, classes[i]), LUA_TTABLE);
        int mt = lua_gettop(L);
        for (int k = 0; k < 2; k++) {
            if (lua_getfield(L, mt, k ? "__methods" : "__index") == LUA_TTABLE)
                check_declared_table(L, lua_gettop(L), prefix, &count);
            lua_pop(L, 1);
        }
        lua_settop(L, lab);
    }
    assert_true(count > 60); /* the walk found the lab */
    assert_int_equal(cap_declared("lab.no_such_function"), -1);
    assert_int_equal(cap_declared("lab.chip.open"), CAP_SIM | CAP_LINK | CAP_PLUGIN);
    lab_state_close(L);
}

static void test_undeclared_refused(void **s)
{
    (void)s;
    lua_State *L = state(1, open_sneaky, NULL);
    assert_string_equal(run(L, "assert(lab.sneaky() == 'ran')"), "");
    lab_state_close(L);
    L = state(0, open_sneaky, NULL);
    const char *e = run(L, "lab.sneaky()");
    assert_non_null(strstr(e, "lab.sneaky: sandbox: declares no capability"));
    assert_non_null(strstr(e, "--trust"));
    assert_string_equal(run(L, "assert(lab.ui.panels())"), ""); /* declared ones stay */
    lab_state_close(L);
}

static void test_globals_allow_list(void **s)
{
    (void)s;
    lua_State *L = state(0, NULL, NULL);
    assert_non_null(strstr(run(L, "return os.time()"), "'os' is not available in a replay"));
    assert_string_equal(run(L, "assert(collectgarbage == collectgarbage and math.sqrt(4) == 2 "
                               "and string.rep('a', 2) == 'aa' and utf8.char(65) == 'A')"), "");
    /* A global nobody listed (here: one the standard library has) is gone. */
    assert_string_equal(run(L, "assert(rawget(_G, 'loadstring') == nil and "
                               "rawget(_G, 'io') == nil)"), "");
    lab_state_close(L);
}

static void test_chip_uris(void **s)
{
    (void)s;
    lua_State *L = state(0, NULL, NULL);
    assert_non_null(strstr(run(L, "lab.chip.open('plugin:/nonexistent/x.so')"),
                           "the capability 'plugin'"));
    assert_non_null(strstr(run(L, "lab.chip.open('tcp://127.0.0.1:1')"), "'link'"));
    assert_non_null(strstr(run(L, "lab.chip.open('serial:/dev/tty')"), "'link'"));
    assert_string_equal(run(L, "assert(lab.chip.open('sim:rows=8,cols=8'))"), "");
    lab_state_close(L);
    L = state(0, NULL, "sim:id=9,rows=8,cols=8");
    assert_string_equal(run(L, "assert(lab.chip.open('tcp://10.1.1.1:70'):info().id == '9')"),
                        "");
    lab_state_close(L);
}

static void test_paths(void **s)
{
    (void)s;
    char cwd[4096], dir[] = "/tmp/mpcl-cap-XXXXXX", out[] = "/tmp/mpcl-out-XXXXXX";
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_non_null(mkdtemp(dir));
    assert_non_null(mkdtemp(out));
    assert_int_equal(chdir(dir), 0);
    char link[4200];
    snprintf(link, sizeof link, "%s/away", dir);
    assert_int_equal(symlink(out, link), 0);
    assert_int_equal(mkdir("in", 0755), 0);
    lua_State *L = state(0, NULL, NULL);
    assert_string_equal(run(L, "lab.write_json('in/a.json', {1})"), "");
    assert_string_equal(run(L, "lab.write_json('./in/../b.json', {1})"), "");
    assert_non_null(strstr(run(L, "lab.write_json('away/c.json', {1})"), "'write'"));
    assert_non_null(strstr(run(L, "lab.write_json('in/../../c.json', {1})"), "'write'"));
    assert_non_null(strstr(run(L, "lab.load('/etc/hostname')"), "'read'"));
    assert_non_null(strstr(run(L, "lab.load('away/nothing')"), "'read'"));
    /* Inside, a missing file is the loader's own error (the sandbox lets it look). */
    assert_non_null(strstr(run(L, "lab.load('in/nothing')"), "cannot open"));
    lab_state_close(L);
    char c[4300];
    snprintf(c, sizeof c, "%s/c.json", out);
    assert_int_not_equal(access(c, F_OK), 0);
    assert_int_equal(chdir(cwd), 0);
    snprintf(c, sizeof c, "rm -rf '%s' '%s'", dir, out);
    assert_int_equal(system(c), 0);
}

static void test_memcap_accounting(void **s)
{
    (void)s;
    size_t before = memcap_used();
    memcap_set_limit(before + 1000);
    assert_true(memcap_take(600));
    assert_false(memcap_take(600)); /* past the cap: refused, not counted */
    assert_true(memcap_hit());
    assert_false(memcap_hit()); /* the flag clears when read */
    memcap_give(600);
    assert_true(memcap_take(900));
    memcap_give(900);
    memcap_give((size_t)1 << 40); /* a block counted nowhere: never below zero */
    assert_int_equal(memcap_used(), 0);
    memcap_set_limit(0);
    assert_true(memcap_take((size_t)1 << 50)); /* no cap */
    memcap_give((size_t)1 << 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_function_declared),
        cmocka_unit_test(test_undeclared_refused),
        cmocka_unit_test(test_globals_allow_list),
        cmocka_unit_test(test_chip_uris),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_memcap_accounting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
