/* snapshot: a panel's figure into a PNG (snapshot.h). The panel's plot function writes the
 * gnuplot commands into memory first (its title line becomes the PNG's Description), the
 * figure (gnuplot.h) checks the destination and finds gnuplot before that, then renders. */
#include "snapshot.h"

#include <errno.h>
#include <lauxlib.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "capability.h"
#include "error.h"
#include "gnuplot.h"

static model *snap_model;

void snapshot_set_model(model *m) { snap_model = m; }

void snapshot_opts_default(snapshot_opts *o)
{
    o->width = SNAPSHOT_WIDTH;
    o->height = SNAPSHOT_HEIGHT;
    o->font = 0;
}

/* The text after "# title: " on the script's first line, into out. */
static void description_of(const char *script, char *out, size_t len)
{
    static const char tag[] = "# title: ";
    out[0] = '\0';
    if (strncmp(script, tag, sizeof tag - 1))
        return;
    const char *s = script + sizeof tag - 1, *nl = strchr(s, '\n');
    size_t n = nl ? (size_t)(nl - s) : strlen(s);
    snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), s);
}

/* The panel's plot commands into a malloc'd string (*out): 0, or -1. */
static int plot_to_memory(panel *p, const model *m, char **out, size_t *len, char *err,
                          size_t errlen)
{
    *out = NULL;
    *len = 0;
    FILE *ms = open_memstream(out, len);
    if (!ms)
        return err_set(err, errlen, "the %s's figure: out of memory", p->cls->name);
    const char *hint = p->cls->empty(p, m);
    int rc = 0;
    if (hint) /* the terminal's hint, centred, under the panel's title */
        panel_plot_empty(ms, p->cls->title, hint);
    else if (p->cls->plot)
        rc = p->cls->plot(p, m, ms, err, errlen);
    else
        rc = err_set(err, errlen, "the %s has no figure", p->cls->name);
    if (fclose(ms) != 0 && rc == 0)
        rc = err_set(err, errlen, "the %s's figure: out of memory", p->cls->name);
    if (rc < 0) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

int snapshot_panel(panel *p, const model *m, const char *path, const snapshot_opts *o,
                   char *err, size_t errlen)
{
    snapshot_opts d;
    if (!o) {
        snapshot_opts_default(&d);
        o = &d;
    }
    gnuplot_fig f;
    if (gnuplot_begin(&f, path, o->width, o->height, o->font, err, errlen) < 0)
        return -1;
    char *script;
    size_t len;
    if (plot_to_memory(p, m, &script, &len, err, errlen) < 0) {
        gnuplot_abort(&f);
        return -1;
    }
    fwrite(script, 1, len, f.gp);
    char desc[512], what[64];
    description_of(script, desc, sizeof desc);
    free(script);
    snprintf(what, sizeof what, "the %s", p->cls->name);
    return gnuplot_finish(&f, what, p->cls->title, desc[0] ? desc : NULL, err, errlen);
}

/* mkdir -p dir: 0, or -1. */
static int make_dirs(const char *dir, char *err, size_t errlen)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
        return err_set(err, errlen, "cannot make '%s': %s", dir, strerror(ENAMETOOLONG));
    for (char *s = buf + 1; ; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        struct stat st;
        if (mkdir(buf, 0777) < 0 && (errno != EEXIST || stat(buf, &st) < 0 ||
                                     !S_ISDIR(st.st_mode)))
            return err_set(err, errlen, "cannot make '%s': %s", buf,
                           errno == EEXIST ? strerror(ENOTDIR) : strerror(errno));
        *s = c;
        if (!c || !s[1])
            break;
    }
    return 0;
}

/* dir/<name>.png into out (one slash between): 0, or -1 when too long. */
static int file_in(const char *dir, const char *name, char *out, size_t len, char *err,
                   size_t errlen)
{
    size_t n = strlen(dir);
    int w = snprintf(out, len, "%s%s%s.png", dir, n && dir[n - 1] == '/' ? "" : "/", name);
    if (w < 0 || (size_t)w >= len)
        return err_set(err, errlen, "cannot write in '%s': %s", dir, strerror(ENAMETOOLONG));
    return 0;
}

int snapshot_all(const model *m, const char *dir, const snapshot_opts *o, char *err,
                 size_t errlen)
{
    if (make_dirs(dir, err, errlen) < 0)
        return -1;
    for (int i = 0; i < panels_count(); i++) {
        char path[PATH_MAX];
        panel *p = panels_get(i);
        if (file_in(dir, p->cls->name, path, sizeof path, err, errlen) < 0 ||
            snapshot_panel(p, m, path, o, err, errlen) < 0)
            return -1;
    }
    return 0;
}

int snapshot_default_path(const char *name, char *out, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;
    char stamp[32];
    if (!localtime_r(&now, &tm) || !strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm))
        return -1;
    int all = !strcmp(name, "all");
    int w = snprintf(out, len, "%s-%s%s", all ? "snapshots" : name, stamp, all ? "" : ".png");
    return w < 0 || (size_t)w >= len ? -1 : 0;
}

/* ---- lab.ui.snapshot ------------------------------------------------------------------- */

/* opts at index i (nil or a table of width, height, font) into o; raises on a bad one. */
static void read_opts(lua_State *L, int i, snapshot_opts *o)
{
    static const char *const names[] = {"width", "height", "font"};
    static const int lo[] = {200, 200, 4}, hi[] = {10000, 10000, 400};
    snapshot_opts_default(o);
    if (lua_isnoneornil(L, i))
        return;
    if (!lua_istable(L, i))
        luaL_error(L, "lab.ui.snapshot: options must be a table (width, height, font)");
    lua_pushnil(L);
    while (lua_next(L, i)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        int which = -1;
        for (int n = 0; k && n < 3; n++)
            which = !strcmp(k, names[n]) ? n : which;
        if (which < 0)
            luaL_error(L, "lab.ui.snapshot: unknown option '%s' (width, height, font)",
                       k ? k : luaL_typename(L, -2));
        int isint;
        lua_Integer v = lua_tointegerx(L, -1, &isint);
        if (!isint || v < lo[which] || v > hi[which])
            luaL_error(L, "lab.ui.snapshot: %s must be an integer from %d to %d, got %s",
                       names[which], lo[which], hi[which], luaL_tolstring(L, -1, NULL));
        int *field = which == 0 ? &o->width : which == 1 ? &o->height : &o->font;
        *field = (int)v;
        lua_pop(L, 1);
    }
}

/* lab.ui.snapshot("all", dir): every panel; returns the table of paths. */
static int snapshot_all_lua(lua_State *L, const char *dir, const snapshot_opts *o)
{
    char err[PATH_MAX + 200];
    cap_write_path(L, dir, "lab.ui.snapshot");
    if (make_dirs(dir, err, sizeof err) < 0)
        return luaL_error(L, "lab.ui.snapshot: %s", err);
    lua_createtable(L, panels_count(), 0);
    for (int i = 0; i < panels_count(); i++) {
        char path[PATH_MAX];
        panel *p = panels_get(i);
        if (file_in(dir, p->cls->name, path, sizeof path, err, sizeof err) < 0)
            return luaL_error(L, "lab.ui.snapshot: %s", err);
        cap_write_path(L, path, "lab.ui.snapshot"); /* dir/x.png may be a link out */
        if (snapshot_panel(p, snap_model, path, o, err, sizeof err) < 0)
            return luaL_error(L, "lab.ui.snapshot: %s", err);
        lua_pushstring(L, path);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* lab.ui.snapshot(panel | "all", [path], [{width=, height=, font=}]) -> path | {paths} */
int l_ui_snapshot(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    const char *path = luaL_optstring(L, 2, NULL);
    snapshot_opts o;
    read_opts(L, 3, &o);
    int all = !strcmp(name, "all");
    panel *p = all ? NULL : panels_find(name);
    if (!all && !p)
        return luaL_error(L, "lab.ui.snapshot: no panel '%s' (lab.ui.panels() lists them)",
                          name);
    if (!snap_model)
        return luaL_error(L, "lab.ui.snapshot: no model to draw from");
    model_update(snap_model); /* the latest epochs in */
    char def[PATH_MAX];
    if (!path) {
        if (snapshot_default_path(name, def, sizeof def) < 0)
            return luaL_error(L, "lab.ui.snapshot: no default name");
        path = def;
    }
    if (all)
        return snapshot_all_lua(L, path, &o);
    cap_write_path(L, path, "lab.ui.snapshot");
    char err[PATH_MAX + 200];
    if (snapshot_panel(p, snap_model, path, &o, err, sizeof err) < 0)
        return luaL_error(L, "lab.ui.snapshot: %s", err);
    lua_pushstring(L, path);
    return 1;
}
