/* snapshot: what a panel shows, rendered from the model it draws from into a PNG at print
 * resolution (gnuplot's pngcairo: gnuplot.h), with a title, axes and a colour bar where the
 * panel has colours; lab.ui.snapshot(panel, path [, opts]) for Lua, the C API for the
 * console's key. Each panel's figure is its class's plot function (panel.h). Main thread. */
#ifndef MPCL_SNAPSHOT_H
#define MPCL_SNAPSHOT_H

#include <lua.h>
#include <stddef.h>

#include "model.h"
#include "panel.h"

typedef struct snapshot_opts {
    int width, height; /* pixels, 200 to 10000 */
    int font;          /* points; 0: scaled to the width */
} snapshot_opts;

#define SNAPSHOT_WIDTH 2000
#define SNAPSHOT_HEIGHT 1250

/* 2000 x 1250, the font scaled. */
void snapshot_opts_default(snapshot_opts *o);

/* Render panel p from model m into path (0, or -1 with a one-line message). o NULL: the
 * defaults. */
int snapshot_panel(panel *p, const model *m, const char *path, const snapshot_opts *o,
                   char *err, size_t errlen);

/* Every panel into dir/<panel>.png, dir made when missing (mkdir -p): 0, or -1 at the first
 * failure. */
int snapshot_all(const model *m, const char *dir, const snapshot_opts *o, char *err,
                 size_t errlen);

/* <name>-YYYYmmdd-HHMMSS.png (or the directory name snapshots-YYYYmmdd-HHMMSS for "all") in
 * the current directory, at local time. 0, or -1 when out is too small. */
int snapshot_default_path(const char *name, char *out, size_t len);

void snapshot_set_model(model *m);        /* the model lab.ui.snapshot draws from */
int l_ui_snapshot(lua_State *L);           /* lab.ui.snapshot */

#endif
