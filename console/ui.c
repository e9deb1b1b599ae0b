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
static rect visible_at[MAX_COLS * MAX_ROWS]; /* each visible panel's frame */
static int nvisible;
static int focus = -1;      /* the focused panel's index in visible[], -1: the input line */
static panel *zoomed;       /* the panel given the whole panel area, or NULL */
static int (*pause_fn)(const char *message);

/* A drag with the first button: the panel it started on and where the pointer was last. */
static struct {
    panel *p;
    int x, y;
} drag;

void ui_set_pause(int (*wait_key)(const char *message)) { pause_fn = wait_key; }

/* A new layout: the focus goes back to the input line and a full-screen panel back to it. */
static void set_layout(const layout *l, int preset)
{
    current = *l;
    current_preset = preset;
    zoomed = NULL;
    focus = -1;
}

int ui_set_preset(const char *name)
{
    for (int i = 0; i < NPRESETS; i++)
        if (!strcmp(presets[i].name, name)) {
            set_layout(&presets[i], i);
            return 0;
        }
    return -1;
}

void ui_next_layout(void)
{
    int i = current_preset < 0 ? 0 : (current_preset + 1) % NPRESETS;
    set_layout(&presets[i], i);
}

int ui_visible_count(void) { return nvisible; }

panel *ui_visible_panel(int i) { return i >= 0 && i < nvisible ? visible[i] : NULL; }

/* ---- focus and full screen ------------------------------------------------------------- */

int ui_focus(void) { return focus < nvisible ? focus : -1; }

panel *ui_focused_panel(void) { return ui_visible_panel(ui_focus()); }

void ui_focus_next(void) { focus = focus + 1 >= nvisible ? -1 : focus + 1; }

void ui_focus_line(void) { focus = -1; }

/* The index panel p would have among the layout's visible panels (drawn column by column),
 * -1 when the layout does not show it. */
static int layout_index(const layout *l, const panel *p)
{
    int k = 0;
    for (int col = 0; col < l->ncols; col++)
        for (int row = 0; row < l->nrows[col]; row++, k++)
            if (panels_find(l->panel[col][row]) == p)
                return k;
    return -1;
}

int ui_zoom(panel *p, int take_focus)
{
    if (p) {
        zoomed = p;
        focus = take_focus || focus >= 0 ? 0 : -1; /* a focused panel's keys stay live */
        nvisible = 1, visible[0] = p;
        return 0;
    }
    if (zoomed) {
        focus = focus == 0 ? layout_index(&current, zoomed) : -1;
        zoomed = NULL;
    }
    return 0;
}

panel *ui_zoomed(void) { return zoomed; }

int ui_toggle_zoom(void)
{
    if (zoomed)
        return ui_zoom(NULL, 0);
    panel *p = ui_focused_panel() ? ui_focused_panel() : ui_visible_panel(0);
    return p ? ui_zoom(p, 1) : -1; /* the repl layout shows none */
}

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

/* One panel in its frame (bold when focused) at r; it joins the visible list. */
static void draw_panel(canvas *c, rect r, panel *p, const model *m, const char *note)
{
    int focused = nvisible == focus;
    canvas_style frame = focused ? STYLE(-1, -1, CANVAS_BOLD) : STYLE(-1, -1, CANVAS_DIM);
    char title[120];
    snprintf(title, sizeof title, "%s%s", p->cls->title, note);
    canvas_box(c, r, title, frame, STYLE(-1, -1, CANVAS_BOLD));
    const char *hint = p->cls->empty(p, m);
    if (hint)
        panel_centre_text(c, canvas_inner(r), hint);
    else
        p->cls->draw(p, c, canvas_inner(r), m, focused);
    visible_at[nvisible] = r;
    visible[nvisible++] = p;
}

void ui_draw_panels(canvas *c, rect area, const model *m)
{
    if (!current.name[0])
        ui_set_preset("default");
    nvisible = 0;
    if (area.w < 10 || area.h < 4)
        return;
    if (zoomed) {
        draw_panel(c, area, zoomed, m, "  [full screen: z or F4 returns]");
        return;
    }
    int cw[MAX_COLS];
    split(area.w, current.weight, current.ncols, cw);
    int x = area.x;
    for (int col = 0; col < current.ncols; col++) {
        int n = current.nrows[col], ones[MAX_ROWS] = {1, 1, 1, 1}, rh[MAX_ROWS];
        split(area.h, ones, n, rh);
        int y = area.y;
        for (int row = 0; row < n; row++) {
            panel *p = panels_find(current.panel[col][row]);
            if (p && nvisible < MAX_COLS * MAX_ROWS)
                draw_panel(c, RECT(x, y, cw[col], rh[row]), p, m, "");
            y += rh[row];
        }
        x += cw[col];
    }
}

/* ---- the pointer ------------------------------------------------------------------------ */

static int panel_at(int x, int y)
{
    for (int i = 0; i < nvisible; i++) {
        rect r = visible_at[i];
        if (x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h)
            return i;
    }
    return -1;
}

/* Hands a pointer event to panel p when it takes them. */
static int to_panel(panel *p, panel_pointer_kind k, int x, int y, int dx, int dy, const model *m)
{
    if (!p || !p->cls->pointer)
        return 0;
    panel_pointer ev = {k, x, y, dx, dy};
    return p->cls->pointer(p, &ev, m);
}

int ui_pointer(ui_pointer_kind k, int x, int y, const model *m)
{
    int i = panel_at(x, y);
    switch (k) {
    case UI_PRESS: /* a click focuses the panel under it (or, outside them, the input line) */
        focus = i;
        drag.p = i >= 0 ? visible[i] : NULL, drag.x = x, drag.y = y;
        return 1;
    case UI_DRAG:
    case UI_RELEASE: {
        int used = 0;
        if (drag.p && (x != drag.x || y != drag.y))
            used = to_panel(drag.p, PANEL_DRAG, x, y, x - drag.x, y - drag.y, m);
        if (used) /* else the motion adds up until the panel takes it */
            drag.x = x, drag.y = y;
        if (k == UI_RELEASE)
            drag.p = NULL;
        return used;
    }
    case UI_WHEEL_UP:
    case UI_WHEEL_DOWN:
        if (i < 0)
            return 0;
        return to_panel(visible[i], k == UI_WHEEL_UP ? PANEL_WHEEL_IN : PANEL_WHEEL_OUT, x, y, 0, 0,
                        m);
    }
    return 0;
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
    set_layout(&l, -1);
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
    if (zoomed && zoomed != p)
        ui_zoom(NULL, 0); /* the layout again, where it shows */
    if (!zoomed && !shown(&current, name)) { /* the first preset that shows it */
        for (int i = 0; i < NPRESETS; i++)
            if (shown(&presets[i], name)) {
                set_layout(&presets[i], i);
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

/* lab.ui.zoom(name): that panel full screen, its keys live; lab.ui.zoom(false) (or nil): the
 * layout again; lab.ui.zoom(): the name of the panel full screen, or nil. */
static int l_ui_zoom(lua_State *L)
{
    if (lua_isnone(L, 1)) {
        if (zoomed)
            lua_pushstring(L, zoomed->cls->name);
        else
            lua_pushnil(L);
        return 1;
    }
    if (lua_isnil(L, 1) || (lua_isboolean(L, 1) && !lua_toboolean(L, 1))) {
        ui_zoom(NULL, 0);
        lua_pushnil(L);
        return 1;
    }
    const char *name = luaL_checkstring(L, 1);
    panel *p = panels_find(name);
    if (!p)
        return luaL_error(L, "lab.ui.zoom: no panel '%s' (lab.ui.panels() lists them)", name);
    ui_zoom(p, 0);
    lua_pushstring(L, name);
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
                                     {"zoom", l_ui_zoom},         {"snapshot", l_ui_snapshot},
                                     {NULL, NULL}};
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
