#include "ui.h"

#include "help.h"
#include "snapshot.h"

#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

#define MAX_COLS 4
#define MAX_ROWS 4

typedef struct layout {
    char name[16];
    int ncols;
    int nrows[MAX_COLS];
    const char *panel[MAX_COLS][MAX_ROWS];
    int weight[MAX_COLS];
} layout;

static layout presets[] = {
    {"default", 3, {2, 2, 2},
     {{"map", "device"}, {"switch", "curves"}, {"matrix", "confusion"}}, {4, 3, 3}},
    {"training", 2, {2, 1}, {{"curves", "switch"}, {"matrix"}}, {3, 2}},
    {"chip", 2, {1, 2}, {{"map"}, {"device", "confusion"}}, {3, 2}},
    {"repl", 0, {0}, {{0}}, {0}},
};
enum { NPRESETS = sizeof presets / sizeof presets[0] };

static layout current;      /* the layout shown */
static int current_preset;  /* its preset, or -1 for one set from Lua */
static panel *visible[MAX_COLS * MAX_ROWS];
static rect visible_at[MAX_COLS * MAX_ROWS];
static int nvisible;
static int (*pause_fn)(const char *message);

void ui_set_pause(int (*wait_key)(const char *message)) { pause_fn = wait_key; }

int ui_set_preset(const char *name)
{
    for (int i = 0; i < NPRESETS; i++)
        if (!strcmp(presets[i].name, name)) {
            current = presets[i];
            current_preset = i;
            return 0;
        }
    return -1;
}

void ui_next_layout(void)
{
    current_preset = current_preset < 0 ? 0 : (current_preset + 1) % NPRESETS;
    current = presets[current_preset];
}

int ui_visible_count(void) { return nvisible; }

panel *ui_visible_panel(int i) { return i >= 0 && i < nvisible ? visible[i] : NULL; }

/* Split n cells by weights: sizes sum to n, the remainder to the first parts. */
static void split(int n, const int *w, int k, int *out)
{
    int total = 0, used = 0;
    for (int i = 0; i < k; i++)
        total += w[i] > 0 ? w[i] : 1;
    for (int i = 0; i < k; i++) {
        out[i] = total ? n * (w[i] > 0 ? w[i] : 1) / total : 0;
        used += out[i];
    }
    for (int i = 0; used < n && k > 0; i = (i + 1) % k, used++)
        out[i]++;
}

void ui_draw_panels(canvas *c, rect area, const model *m, int focus)
{
    if (!current.name[0])
        ui_set_preset("default");
    nvisible = 0;
    if (current.ncols == 0 || area.w < 10 || area.h < 4)
        return;
    int cw[MAX_COLS];
    split(area.w, current.weight, current.ncols, cw);
    int x = area.x;
    for (int col = 0; col < current.ncols; col++) {
        int n = current.nrows[col], ones[MAX_ROWS] = {1, 1, 1, 1}, rh[MAX_ROWS];
        split(area.h, ones, n, rh);
        int y = area.y;
        for (int row = 0; row < n; row++) {
            panel *p = panels_find(current.panel[col][row]);
            rect r = RECT(x, y, cw[col], rh[row]);
            if (p && nvisible < MAX_COLS * MAX_ROWS) {
                int focused = nvisible == focus;
                canvas_style frame = focused ? STYLE(-1, -1, CANVAS_BOLD) : STYLE(-1, -1, CANVAS_DIM);
                canvas_box(c, r, p->cls->title, frame, STYLE(-1, -1, CANVAS_BOLD));
                p->cls->draw(p, c, canvas_inner(r), m, focused);
                visible_at[nvisible] = r;
                visible[nvisible++] = p;
            }
            y += rh[row];
        }
        x += cw[col];
    }
}

/* ---- lab.ui ---------------------------------------------------------------------------- */

/* lab.ui.layout(name | {{panel, ...}, ...}) -> the layout's name ("custom" from a table) */
static int l_ui_layout(lua_State *L)
{
    if (lua_isnoneornil(L, 1)) {
        lua_pushstring(L, current_preset >= 0 ? presets[current_preset].name : "custom");
        return 1;
    }
    if (lua_type(L, 1) == LUA_TSTRING) {
        const char *name = lua_tostring(L, 1);
        if (ui_set_preset(name) < 0)
            return luaL_error(L, "lab.ui.layout: no layout '%s' (default, training, chip, repl)",
                              name);
        lua_pushstring(L, name);
        return 1;
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    layout l;
    memset(&l, 0, sizeof l);
    snprintf(l.name, sizeof l.name, "custom");
    lua_Integer ncols0 = luaL_len(L, 1); /* compared before any cast: __len may say 2^40 */
    if (ncols0 < 1 || ncols0 > MAX_COLS)
        return luaL_error(L, "lab.ui.layout: 1 to %d columns of panel names, got %I", MAX_COLS,
                          ncols0);
    int ncols = (int)ncols0;
    for (int col = 0; col < ncols; col++) {
        lua_geti(L, 1, col + 1);
        if (lua_type(L, -1) == LUA_TSTRING) { /* a column of one panel */
            lua_createtable(L, 1, 0);
            lua_insert(L, -2);
            lua_rawseti(L, -2, 1);
        }
        if (!lua_istable(L, -1))
            return luaL_error(L, "lab.ui.layout: column %d must list panel names", col + 1);
        lua_Integer nrows0 = luaL_len(L, -1);
        if (nrows0 < 1 || nrows0 > MAX_ROWS)
            return luaL_error(L, "lab.ui.layout: 1 to %d panels a column, got %I", MAX_ROWS,
                              nrows0);
        int nrows = (int)nrows0;
        for (int row = 0; row < nrows; row++) {
            lua_geti(L, -1, row + 1);
            const char *name = lua_tostring(L, -1);
            panel *p = name ? panels_find(name) : NULL;
            if (!p)
                return luaL_error(L, "lab.ui.layout: no panel '%s' (lab.ui.panels() lists them)",
                                  name ? name : "?");
            l.panel[col][row] = p->cls->name; /* static storage */
            lua_pop(L, 1);
        }
        l.nrows[col] = nrows;
        l.weight[col] = 1;
        lua_pop(L, 1);
    }
    l.ncols = ncols;
    current = l;
    current_preset = -1;
    lua_pushstring(L, "custom");
    return 1;
}

static int shown(const layout *l, const char *name)
{
    for (int col = 0; col < l->ncols; col++)
        for (int row = 0; row < l->nrows[col]; row++)
            if (!strcmp(l->panel[col][row], name))
                return 1;
    return 0;
}

/* lab.ui.show(name [, {mode=, task=, ...}]) */
static int l_ui_show(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    panel *p = panels_find(name);
    if (!p)
        return luaL_error(L, "lab.ui.show: no panel '%s' (lab.ui.panels() lists them)", name);
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        lua_pushnil(L);
        while (lua_next(L, 2)) {
            if (lua_type(L, -2) != LUA_TSTRING)
                return luaL_error(L, "lab.ui.show: options are name = value");
            lua_pushvalue(L, -1);
            const char *v = lua_tostring(L, -1);
            char err[200];
            const panel_class *k = p->cls;
            if (!v || !k->option || k->option(p, lua_tostring(L, -3), v, err, sizeof err) < 0)
                return luaL_error(L, "lab.ui.show: %s", v && k->option ? err : "bad option value");
            lua_pop(L, 2);
        }
    }
    if (!current.name[0])
        ui_set_preset("default");
    if (!shown(&current, name)) { /* the first preset that shows it */
        for (int i = 0; i < NPRESETS; i++)
            if (shown(&presets[i], name)) {
                current = presets[i];
                current_preset = i;
                break;
            }
    }
    return 0;
}

/* lab.ui.pause([message]) -> the key pressed (a string), or nil without a console */
static int l_ui_pause(lua_State *L)
{
    const char *msg = luaL_optstring(L, 1, "press a key to go on");
    if (!pause_fn) {
        lua_pushnil(L);
        return 1;
    }
    int k = pause_fn(msg);
    if (k < 0)
        return luaL_error(L, "interrupted!");
    char s[8];
    snprintf(s, sizeof s, "%c", k >= 32 && k < 127 ? k : ' ');
    lua_pushstring(L, s);
    return 1;
}

static int l_ui_panels(lua_State *L)
{
    lua_createtable(L, panels_count(), 0);
    for (int i = 0; i < panels_count(); i++) {
        lua_pushstring(L, panels_get(i)->cls->name);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

void ui_open(lua_State *L, model *m)
{
    static const luaL_Reg funcs[] = {{"layout", l_ui_layout}, {"show", l_ui_show},
                                     {"pause", l_ui_pause},   {"panels", l_ui_panels},
                                     {"snapshot", l_ui_snapshot}, {NULL, NULL}};
    ui_set_preset("default");
    snapshot_set_model(m);
    lua_getglobal(L, "lab");
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    luaL_newlib(L, funcs);
    lua_setfield(L, -2, "ui");
    lab_help_open(L, -1); /* help() learns lab.ui's functions too */
    lua_pop(L, 1);
}
