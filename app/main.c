/* mpcl: the lab's command line. `mpcl SCRIPT.lua [key=value ...]` runs a script headless;
 * the keys reach the script as a table (its `...` and lab.args). */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernels.h"
#include "lab.h"
#include "repl.h"
#include "repl_tty.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: mpcl SCRIPT.lua [key=value ...]\n"
               "       mpcl                (in a terminal: the Lua REPL)\n"
               "       mpcl --version | --help\n"
               "Runs SCRIPT.lua headless with the `lab` module; key=value pairs reach the\n"
               "script as a table (numbers converted). Environment: MPCL_THREADS (default:\n"
               "all cores), MPCL_DATA (data directory).\n");
}

static int default_threads(void)
{
    const char *s = getenv("MPCL_THREADS");
    if (s && *s) {
        int t = atoi(s);
        if (t >= 1 && t <= 64)
            return t;
        fprintf(stderr, "mpcl: MPCL_THREADS=%s ignored (1 to 64)\n", s);
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

/* Push a table of the key=value arguments; numeric values become numbers. */
static int push_args(lua_State *L, int argc, char **argv)
{
    lua_newtable(L);
    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i]) {
            fprintf(stderr, "mpcl: argument '%s' is not of the form key=value\n", argv[i]);
            return -1;
        }
        lua_pushlstring(L, argv[i], (size_t)(eq - argv[i]));
        if (!lua_stringtonumber(L, eq + 1))
            lua_pushstring(L, eq + 1);
        lua_settable(L, -3);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int interactive = argc < 2 && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    if ((argc < 2 && !interactive) || (argc >= 2 && (!strcmp(argv[1], "--help") ||
                                                      !strcmp(argv[1], "-h")))) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "--version")) {
        printf("mpcl %s\n", MPCL_VERSION);
        return 0;
    }
    kern_blas_env_fixup(argv);
    kern_flush_denormals();
    kern_set_threads(default_threads());

    lua_State *L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "mpcl: cannot create a Lua state (out of memory)\n");
        return 1;
    }
    luaL_openlibs(L);
    luaL_requiref(L, "lab", luaopen_lab, 1);
    if (interactive) {
        lua_pop(L, 1); /* the lab module table; it is the global `lab` */
        int rc = repl_tty_run(L);
        lab_jobs_shutdown(L);
        lua_close(L);
        return rc;
    }
    if (push_args(L, argc - 2, argv + 2) < 0) {
        lua_close(L);
        return 2;
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "args");
    int args = lua_gettop(L);
    lua_pushcfunction(L, repl_traceback);
    int handler = lua_gettop(L);
    if (luaL_loadfile(L, argv[1]) != LUA_OK) {
        fprintf(stderr, "mpcl: %s\n", lua_tostring(L, -1));
        lua_close(L);
        return 1;
    }
    lua_pushvalue(L, args);
    int rc = lua_pcall(L, 1, 0, handler);
    if (rc != LUA_OK)
        fprintf(stderr, "mpcl: %s\n", lua_tostring(L, -1));
    lab_jobs_shutdown(L);
    lua_close(L);
    return rc == LUA_OK ? 0 : 1;
}
