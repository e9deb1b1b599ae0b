#include "sandbox.h"
#include "clock.h"

#include <lauxlib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HOOK_EVERY 10000 /* instructions between count hooks */
#define COUNT_KEY "mpcl.sandbox.count"

/* The globals a replay keeps; everything else is removed. */
static const char *const ALLOWED[] = {
    "_G", "_VERSION", "assert", "collectgarbage", "error", "getmetatable", "ipairs", "load",
    "next", "pairs", "pcall", "print", "rawequal", "rawget", "rawlen", "rawset", "select",
    "setmetatable", "tonumber", "tostring", "type", "warn", "xpcall", "string", "table",
    "math", "utf8", "coroutine", "lab", "help", NULL};
/* Names removed that deserve a clear error rather than "attempt to index a nil value". */
static const char *const NAMED[] = {"io", "os", "package", "debug", "require", "dofile",
                                    "loadfile", NULL};

static int listed(const char *const *list, const char *k)
{
    for (int i = 0; list[i]; i++)
        if (!strcmp(k, list[i]))
            return 1;
    return 0;
}

/* _G's __index: a clear error for the names the sandbox took away. */
static int l_sandbox_index(lua_State *L)
{
    const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL;
    if (k && listed(NAMED, k))
        return luaL_error(L, "sandbox: '%s' is not available in a replay (run with --trust "
                             "to allow it)", k);
    return 0;
}

static int l_sandbox_dump(lua_State *L)
{
    return luaL_error(L, "sandbox: 'string.dump' is not available in a replay (run with "
                         "--trust to allow it)");
}

/* load, text chunks only: load(chunk [, name [, mode [, env]]]). A string chunk that
 * starts with ESC is bytecode whatever the mode says. */
static int l_sandbox_load(lua_State *L)
{
    const char *mode = luaL_optstring(L, 3, "t");
    if (strchr(mode, 'b') || (lua_type(L, 1) == LUA_TSTRING && lua_tostring(L, 1)[0] == 0x1b))
        return luaL_error(L, "sandbox: load of bytecode is not allowed in a replay (run with "
                             "--trust to allow it)");
    int with_env = lua_gettop(L) >= 4; /* an explicit nil env differs from none */
    lua_settop(L, 4);
    lua_pushstring(L, "t");
    lua_replace(L, 3);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    int nargs = with_env ? 4 : 3;
    lua_settop(L, 1 + nargs);
    lua_call(L, nargs, LUA_MULTRET);
    return lua_gettop(L);
}

/* ---- output ---------------------------------------------------------------------------- */

void sandbox_write_text(FILE *f, const char *s, size_t n)
{
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 0x20 && c != 0x7f) || c == '\n' || c == '\t')
            continue;
        fwrite(s + from, 1, i - from, f);
        fprintf(f, "\\x%02x", c);
        from = i + 1;
    }
    fwrite(s + from, 1, n - from, f);
}

/* print, with the text made safe for the terminal (sandbox_write_text). */
static int l_sandbox_print(lua_State *L)
{
    int n = lua_gettop(L);
    for (int i = 1; i <= n; i++) {
        size_t len;
        const char *s = luaL_tolstring(L, i, &len);
        if (i > 1)
            fputc('\t', stdout);
        sandbox_write_text(stdout, s, len);
        lua_pop(L, 1);
    }
    fputc('\n', stdout);
    fflush(stdout);
    return 0;
}

/* ---- the instruction count ----------------------------------------------------------- */

typedef struct counter {
    long long count, limit;
} counter;

static counter *get_counter(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, COUNT_KEY);
    counter *c = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return c;
}

static void count_hook(lua_State *L, lua_Debug *ar);

/* Raise the limit's error, and keep raising it: the hook fires at every instruction from now
 * on (on this thread and the main one), so a pcall that catches it gets no further than its
 * caller's next instruction, and the error climbs to the chunk. sandbox_reset_count ends it. */
static int over_limit(lua_State *L, const counter *c)
{
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    lua_State *main = lua_tothread(L, -1);
    lua_pop(L, 1);
    if (main && main != L)
        lua_sethook(main, count_hook, LUA_MASKCOUNT, 1);
    char msg[160];
    snprintf(msg, sizeof msg, "sandbox: instruction limit of %lld exceeded (raise it with "
                              "--max-instructions)", c->limit);
    return luaL_error(L, "%s", msg);
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    counter *c = get_counter(L);
    if (!c)
        return;
    c->count += lua_gethookcount(L);
    if (c->limit > 0 && c->count > c->limit)
        over_limit(L, c);
}

void sandbox_reset_count(lua_State *L)
{
    counter *c = get_counter(L);
    if (!c)
        return;
    c->count = 0;
    /* The evaluator clears hooks after each chunk (a late Ctrl-C must not fire): re-arm. */
    if (c->limit > 0)
        lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
}

/* ---- the watchdog of C calls that no hook can interrupt ------------------------------ */

static struct {
    pthread_once_t once;
    atomic_llong deadline_ns; /* 0: no call running */
    const char *_Atomic what;
    atomic_llong limit;
    void (*on_kill)(void);
} wd = {PTHREAD_ONCE_INIT, 0, NULL, 0, NULL};

void sandbox_on_kill(void (*fn)(void)) { wd.on_kill = fn; }

static void *watchdog(void *arg)
{
    (void)arg;
    for (;;) {
        struct timespec tick = {0, 20 * 1000000L};
        nanosleep(&tick, NULL);
        long long d = atomic_load(&wd.deadline_ns);
        if (d == 0 || (long long)(1e9 * clock_seconds()) < d)
            continue;
        if (wd.on_kill)
            wd.on_kill();
        char msg[256];
        int n = snprintf(msg, sizeof msg, "mpcl: sandbox: instruction limit of %lld exceeded "
                                          "inside %s, a C call that cannot be interrupted: "
                                          "the replay stops (raise it with "
                                          "--max-instructions)\n", atomic_load(&wd.limit),
                         atomic_load(&wd.what));
        if (write(STDERR_FILENO, msg, (size_t)n) < 0)
            _exit(1);
        _exit(1);
    }
    return NULL;
}

static void start_watchdog(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, watchdog, NULL) == 0)
        pthread_detach(t);
}

/* A pattern function of the string library, timed: upvalue 1 the original, 2 its name. */
static int l_sandbox_timed(lua_State *L)
{
    counter *c = get_counter(L);
    int nargs = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    long long left = c && c->limit > 0 ? c->limit - c->count : 0;
    long long t0 = (long long)(1e9 * clock_seconds());
    if (left > 0) {
        atomic_store(&wd.what, lua_tostring(L, lua_upvalueindex(2)));
        atomic_store(&wd.limit, c->limit);
        atomic_store(&wd.deadline_ns,
                     t0 + (long long)((double)left / SANDBOX_INSTRUCTIONS_PER_SECOND * 1e9) + 1);
    }
    int rc = lua_pcall(L, nargs, LUA_MULTRET, 0);
    atomic_store(&wd.deadline_ns, 0);
    if (c && c->limit > 0)
        c->count += (long long)((double)((long long)(1e9 * clock_seconds()) - t0) * 1e-9 * SANDBOX_INSTRUCTIONS_PER_SECOND);
    if (rc != LUA_OK)
        return lua_error(L);
    if (c && c->limit > 0 && c->count > c->limit)
        return over_limit(L, c);
    return lua_gettop(L);
}

/* gmatch: the iterator it returns does the matching, so it is the one timed. */
static int l_sandbox_gmatch(lua_State *L)
{
    int n = l_sandbox_timed(L);
    if (n >= 1 && lua_isfunction(L, -n)) {
        lua_pushvalue(L, -n);
        lua_pushstring(L, "string.gmatch");
        lua_pushcclosure(L, l_sandbox_timed, 2);
        lua_replace(L, -n - 1);
    }
    return n;
}

/* The library functions that can run long inside one C call: pattern matching (which can
 * backtrack for a power of the subject's length), sorting, building big strings, compiling. */
static const struct {
    const char *lib, *fn;
} TIMED[] = {{"string", "find"}, {"string", "match"}, {"string", "gmatch"}, {"string", "gsub"},
             {"string", "rep"},  {"table", "sort"},   {"table", "concat"},  {NULL, "load"}};

static void time_library(lua_State *L)
{
    for (size_t i = 0; i < sizeof TIMED / sizeof TIMED[0]; i++) {
        if (TIMED[i].lib)
            lua_getglobal(L, TIMED[i].lib);
        else
            lua_pushglobaltable(L);
        if (lua_getfield(L, -1, TIMED[i].fn) == LUA_TFUNCTION) {
            if (TIMED[i].lib)
                lua_pushfstring(L, "%s.%s", TIMED[i].lib, TIMED[i].fn);
            else
                lua_pushstring(L, TIMED[i].fn);
            lua_pushcclosure(L, strcmp(TIMED[i].fn, "gmatch") ? l_sandbox_timed : l_sandbox_gmatch, 2);
            lua_setfield(L, -2, TIMED[i].fn);
        } else {
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    pthread_once(&wd.once, start_watchdog);
}

/* ---- applying it --------------------------------------------------------------------- */

static void keep_allowed_globals(lua_State *L)
{
    lua_pushglobaltable(L);
    int g = lua_gettop(L);
    lua_newtable(L); /* the names to drop, collected first: lua_next forbids new nils */
    int drop = lua_gettop(L), n = 0;
    lua_pushnil(L);
    while (lua_next(L, g)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING || !listed(ALLOWED, lua_tostring(L, -1))) {
            lua_pushvalue(L, -1);
            lua_rawseti(L, drop, ++n);
        }
    }
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, drop, i);
        lua_pushnil(L);
        lua_rawset(L, g);
    }
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushcfunction(L, l_sandbox_index);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, g);
    lua_pop(L, 1);
}

void sandbox_apply(lua_State *L, long long max_instructions)
{
    keep_allowed_globals(L);
    if (lua_getglobal(L, "string") == LUA_TTABLE) {
        lua_pushcfunction(L, l_sandbox_dump);
        lua_setfield(L, -2, "dump");
    }
    lua_pop(L, 1);
    lua_getglobal(L, "load");
    lua_pushcclosure(L, l_sandbox_load, 1);
    lua_setglobal(L, "load");
    lua_pushcfunction(L, l_sandbox_print); /* the console puts its own (into its pane) */
    lua_setglobal(L, "print");
    counter *c = lua_newuserdatauv(L, sizeof *c, 0);
    c->count = 0;
    c->limit = max_instructions;
    lua_setfield(L, LUA_REGISTRYINDEX, COUNT_KEY);
    if (max_instructions > 0) {
        lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
        time_library(L);
    }
}
