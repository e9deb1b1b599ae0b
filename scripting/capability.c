#include "capability.h"

#include <lauxlib.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data.h"

#define POLICY_KEY "mpcl.capability"

/* The allow-list: every function Lua can reach in the lab, with what it may touch. A new
 * function is refused in replays until it is declared here (tests/lua/sandbox.lua checks
 * that nothing reachable is undeclared). */
typedef struct cap_decl {
    const char *name;
    unsigned caps;
} cap_decl;

static const cap_decl DECLS[] = {
    /* the lab's functions */
    {"lab.background", 0}, {"lab.baseline", 0}, {"lab.blas", 0}, {"lab.cancel", 0},
    {"lab.clock", 0}, {"lab.dataset", CAP_DATA}, {"lab.energy", 0}, {"lab.evaluate", 0},
    {"lab.experiment", 0}, {"lab.finetune", 0}, {"lab.jobs", 0}, {"lab.json", 0},
    {"lab.load", CAP_READ}, {"lab.net", 0}, {"lab.noise_sweep", 0}, {"lab.ops", 0},
    {"lab.platform", 0}, {"lab.seed", 0}, {"lab.tasks", 0}, {"lab.threads", 0},
    {"lab.trainer", 0}, {"lab.write_json", CAP_WRITE}, {"lab.sweep", CAP_WRITE}, {"lab.rank", 0},
    {"lab.chip.open", CAP_SIM | CAP_LINK | CAP_PLUGIN},
    {"lab.ui.layout", 0}, {"lab.ui.panels", 0}, {"lab.ui.pause", 0}, {"lab.ui.show", 0},
    {"lab.ui.snapshot", CAP_WRITE}, {"lab.ui.zoom", 0},
    /* methods (of objects already made under the capabilities above) */
    {"lab.tasks:task", 0},
    {"lab.net:copy", 0}, {"lab.net:hidden", 0}, {"lab.net:save", CAP_WRITE},
    {"lab.net:sizes", 0}, {"lab.net:weights", 0},
    {"lab.trainer:learn", 0},
    {"lab.experiment:back", 0}, {"lab.experiment:net", 0}, {"lab.experiment:run", 0},
    {"lab.experiment:step", 0},
    {"lab.job:cancel", 0}, {"lab.job:progress", 0}, {"lab.job:result", 0}, {"lab.job:wait", 0},
    {"lab.baseline:back", 0}, {"lab.baseline:evaluate", 0}, {"lab.baseline:noise_sweep", 0},
    {"lab.baseline:run", 0},
    {"lab.baseline:sizes", 0}, {"lab.baseline:step", 0}, {"lab.baseline:weights", 0},
    {"lab.chip:close", 0}, {"lab.chip:get", 0}, {"lab.chip:histogram", 0},
    {"lab.chip:infer", 0}, {"lab.chip:info", 0}, {"lab.chip:map", 0}, {"lab.chip:mapping", 0},
    {"lab.chip:net", 0}, {"lab.chip:params", 0}, {"lab.chip:program", 0},
    {"lab.chip:pulse", 0}, {"lab.chip:read", 0}, {"lab.chip:retention", 0},
    {"lab.chip:set", 0},
    {"lab.sweep:cancel", 0}, {"lab.sweep:progress", 0}, {"lab.sweep:wait", 0},
};

static const char *const CLASSES[] = {"lab.dataset", "lab.tasks", "lab.net", "lab.trainer",
                                      "lab.experiment", "lab.job", "lab.baseline", "lab.chip",
                                      "lab.sweep", NULL};

typedef struct policy {
    unsigned caps;
    int sandboxed;
    char chip[1024];         /* --chip, "" when none */
    char cwd[PATH_MAX];      /* resolved when installed */
} policy;

int cap_declared(const char *name)
{
    for (size_t i = 0; i < sizeof DECLS / sizeof DECLS[0]; i++)
        if (!strcmp(DECLS[i].name, name))
            return (int)DECLS[i].caps;
    return -1;
}

static const char *cap_name(unsigned c)
{
    switch (c) {
    case CAP_DATA: return "'data' (reading the data sets)";
    case CAP_READ: return "'read' (reading files)";
    case CAP_WRITE: return "'write' (writing files)";
    case CAP_SIM: return "'sim' (simulated chips)";
    case CAP_LINK: return "'link' (a chip over tcp: or serial:)";
    case CAP_PLUGIN: return "'plugin' (loading a native chip plugin runs its code)";
    }
    return "this";
}

static policy *get_policy(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, POLICY_KEY);
    policy *p = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return p;
}

int cap_sandboxed(lua_State *L)
{
    policy *p = get_policy(L);
    return p && p->sandboxed;
}

/* A state without a policy (a test's bare state) is trusted. */
static unsigned caps_of(lua_State *L)
{
    policy *p = get_policy(L);
    return p ? p->caps : CAP_ALL;
}

static int refuse(lua_State *L, const char *who, const char *what)
{
    return luaL_error(L, "%s: sandbox: the capability %s is not allowed in a replay (run with "
                         "--trust to allow it)", who, what);
}

void cap_need(lua_State *L, unsigned c, const char *who)
{
    if (!(caps_of(L) & c))
        refuse(L, who, cap_name(c));
}

/* ---- paths --------------------------------------------------------------------------- */

/* Make path absolute and drop ".", ".." and repeated slashes, in out (PATH_MAX). */
static int lexical(const char *cwd, const char *path, char *out)
{
    char buf[2 * PATH_MAX];
    int n = path[0] == '/' ? snprintf(buf, sizeof buf, "%s", path)
                           : snprintf(buf, sizeof buf, "%s/%s", cwd, path);
    if (n < 0 || (size_t)n >= sizeof buf)
        return -1;
    size_t o = 0;
    for (char *save = NULL, *part = strtok_r(buf, "/", &save); part;
         part = strtok_r(NULL, "/", &save)) {
        if (!strcmp(part, "."))
            continue;
        if (!strcmp(part, "..")) {
            while (o > 0 && out[--o] != '/')
                ;
            continue;
        }
        size_t k = strlen(part);
        if (o + 1 + k >= PATH_MAX)
            return -1;
        out[o++] = '/';
        memcpy(out + o, part, k);
        o += k;
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    return 0;
}

/* Where path really leads: the resolved file, else its resolved directory and its name
 * (a file still to be written), else the lexical form. */
static int resolve(const char *cwd, const char *path, char *out)
{
    char lex[PATH_MAX];
    if (lexical(cwd, path, lex) < 0)
        return -1;
    if (realpath(lex, out))
        return 0;
    char *slash = strrchr(lex, '/');
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%.*s", slash == lex ? 1 : (int)(slash - lex), lex);
    char rdir[PATH_MAX];
    if (realpath(dir, rdir)) {
        const char *head = strcmp(rdir, "/") ? rdir : "";
        size_t a = strlen(head), b = strlen(slash);
        if (a + b >= PATH_MAX)
            return -1;
        memcpy(out, head, a);
        memcpy(out + a, slash, b + 1);
        return 0;
    }
    snprintf(out, PATH_MAX, "%s", lex);
    return 0;
}

/* Whether path is root or below it (both resolved). */
static int below(const char *path, const char *root)
{
    char r[PATH_MAX];
    if (!realpath(root, r))
        return 0;
    size_t n = strlen(r);
    if (n == 1)
        return 1;
    return !strncmp(path, r, n) && (path[n] == '/' || path[n] == '\0');
}

static int in_data_dirs(const char *resolved)
{
    static const char *const sets[] = {"mnist", "fmnist"};
    for (int i = 0; i < 2; i++) {
        const char *d = data_dir_for(sets[i]);
        if (d && below(resolved, d))
            return 1;
    }
    return 0;
}

static void check_path(lua_State *L, const char *path, const char *who, int writing)
{
    policy *p = get_policy(L);
    if (!p || !p->sandboxed)
        return;
    char r[PATH_MAX];
    int ok = resolve(p->cwd, path, r) == 0 &&
             (below(r, p->cwd) || (!writing && in_data_dirs(r)));
    if (!ok)
        luaL_error(L, "%s: sandbox: the capability '%s' of a replay reaches only below the "
                      "current directory%s, not '%s' (run with --trust to allow it)", who,
                   writing ? "write" : "read", writing ? "" : " and the data directories", path);
}

void cap_read_path(lua_State *L, const char *path, const char *who)
{
    cap_need(L, CAP_READ, who);
    check_path(L, path, who, 0);
}

void cap_write_path(lua_State *L, const char *path, const char *who)
{
    cap_need(L, CAP_WRITE, who);
    check_path(L, path, who, 1);
}

/* ---- chips ----------------------------------------------------------------------------- */

/* A sim's map= and map_neg= files are read like any file (split as the sim splits). */
static void check_sim_maps(lua_State *L, const char *options, const char *who)
{
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", options);
    for (char *save = NULL, *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save))
        if (!strncmp(kv, "map=", 4) || !strncmp(kv, "map_neg=", 8))
            cap_read_path(L, strchr(kv, '=') + 1, who);
}

const char *cap_chip_uri(lua_State *L, const char *uri, char *buf, size_t n, const char *who)
{
    policy *p = get_policy(L);
    int hardware = !strncmp(uri, "tcp://", 6) || !strncmp(uri, "serial:", 7) ||
                   !strncmp(uri, "plugin:", 7);
    if (hardware && p && p->chip[0]) { /* the bench's chip stands in for the recorded one */
        snprintf(buf, n, "%s", p->chip);
        return buf;
    }
    if (!strcmp(uri, "sim") || !strncmp(uri, "sim:", 4)) {
        cap_need(L, CAP_SIM, who);
        check_sim_maps(L, uri[3] ? uri + 4 : "", who);
    } else if (!strncmp(uri, "plugin:", 7)) {
        cap_need(L, CAP_PLUGIN, who);
    } else if (hardware && !(caps_of(L) & CAP_LINK)) {
        luaL_error(L, "%s: sandbox: the capability 'link' (a chip over tcp: or serial:) is not "
                      "allowed in a replay unless the user names the chip (--chip URI) or runs "
                      "with --trust", who);
    }
    snprintf(buf, n, "%s", uri);
    return buf;
}

/* ---- installing the policy -------------------------------------------------------------- */

static int l_undeclared(lua_State *L)
{
    return luaL_error(L, "%s: sandbox: declares no capability, so a replay may not call it "
                         "(run with --trust to allow it)", lua_tostring(L, lua_upvalueindex(1)));
}

/* Replace every undeclared function of the table at t, named prefix<key>. */
static void guard_table(lua_State *L, int t, const char *prefix)
{
    t = lua_absindex(L, t);
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TFUNCTION) {
            char name[128];
            snprintf(name, sizeof name, "%s%s", prefix, lua_tostring(L, -2));
            if (cap_declared(name) < 0) {
                lua_pushvalue(L, -2);
                lua_pushstring(L, name);
                lua_pushcclosure(L, l_undeclared, 1);
                lua_rawset(L, t); /* an existing key: lua_next may go on */
            }
        }
        lua_pop(L, 1);
    }
}

static void guard_lab(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, "mpcl.lab");
    int lab = lua_gettop(L);
    guard_table(L, lab, "lab.");
    lua_pushnil(L);
    while (lua_next(L, lab)) {
        if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TTABLE) {
            char prefix[64];
            snprintf(prefix, sizeof prefix, "lab.%s.", lua_tostring(L, -2));
            guard_table(L, -1, prefix);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    for (int i = 0; CLASSES[i]; i++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "%s:", CLASSES[i]);
        luaL_getmetatable(L, CLASSES[i]);
        if (lua_getfield(L, -1, "__index") == LUA_TTABLE)
            guard_table(L, -1, prefix);
        lua_pop(L, 1);
        if (lua_getfield(L, -1, "__methods") == LUA_TTABLE)
            guard_table(L, -1, prefix);
        lua_pop(L, 2);
    }
}

void cap_install(lua_State *L, int trusted, const char *chip_uri)
{
    policy *p = lua_newuserdatauv(L, sizeof *p, 0);
    memset(p, 0, sizeof *p);
    p->sandboxed = !trusted;
    p->caps = trusted ? CAP_ALL : CAP_DATA | CAP_READ | CAP_WRITE | CAP_SIM;
    if (chip_uri && *chip_uri) {
        snprintf(p->chip, sizeof p->chip, "%s", chip_uri);
        p->caps |= CAP_LINK;
    }
    if (!getcwd(p->cwd, sizeof p->cwd))
        snprintf(p->cwd, sizeof p->cwd, "/nonexistent"); /* then nothing is below it */
    lua_setfield(L, LUA_REGISTRYINDEX, POLICY_KEY);
    if (!trusted)
        guard_lab(L);
}
