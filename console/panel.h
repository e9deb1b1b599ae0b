/* panel: one view of the console (the conductance map, switch rates, the accuracy matrix,
 * the confusion matrix, training curves, the device view). A panel draws itself into a
 * rectangle of the screen's canvas from the model, and may take keys when it has the
 * focus. Panels never touch Lua or the engine: the model is all they see. */
#ifndef MPCL_PANEL_H
#define MPCL_PANEL_H

#include <stdio.h>

#include "canvas.h"
#include "model.h"
#include "palette.h"

typedef struct panel panel;

/* The pointer on a panel, in screen cells: the wheel at (x, y); a drag by (dx, dy) cells,
 * now at (x, y). */
typedef enum { PANEL_WHEEL_IN, PANEL_WHEEL_OUT, PANEL_DRAG } panel_pointer_kind;
typedef struct panel_pointer {
    panel_pointer_kind kind;
    int x, y, dx, dy;
} panel_pointer;

/* A kind of panel (htop's PanelClass): its names and what it does, one const instance per
 * kind, apart from the state of each panel. key and option are NULL for a kind that takes
 * none. */
typedef struct panel_class {
    const char *name;  /* "map", as lab.ui.show names it */
    const char *title; /* on its frame */
    const char *keys;  /* the keys it takes when focused, for the help overlay */
    /* draws what the panel shows into r (inside its frame), called only when it is not empty */
    void (*draw)(panel *p, canvas *c, rect r, const model *m, int focused);
    /* what the panel says while it has nothing to show ("exp:step() fills the accuracy
     * matrix"), centred in its frame and in a snapshot instead of draw and plot; NULL when
     * it has something */
    const char *(*empty)(const panel *p, const model *m);
    int (*key)(panel *p, int key, const model *m); /* 1 when the key was used */
    /* lab.ui.show(name, {opts}): set an option ("mode", "task", ...); -1 for an unknown
     * key or value, with a message in err */
    int (*option)(panel *p, const char *key, const char *value, char *err, size_t errlen);
    /* the pointer (ui.c hands it over); 1 when used. NULL for a kind that takes none */
    int (*pointer)(panel *p, const panel_pointer *ev, const model *m);
    /* lab.ui.snapshot, when the panel is not empty: the gnuplot commands and inline data
     * ($name << EOD ... EOD) of a figure of what the panel shows, from the same model,
     * written to gp after the terminal and output lines; its first line is
     * panel_plot_title's. 0, or -1 with err. */
    int (*plot)(panel *p, const model *m, FILE *gp, char *err, size_t errlen);
} panel_class;

/* One panel: its class. A kind with state of its own (the map's mode and window, the
 * confusion matrix's task) puts a panel first in a struct of its own (panels.c). */
struct panel {
    const panel_class *cls;
};

/* The panels, in a fixed order (map, switch, matrix, confusion, curves, device); panels_find
 * by name (panel.c). */
int panels_count(void);
panel *panels_get(int i);
panel *panels_find(const char *name);
/* Each kind's one panel: the map in panel_map.c, the others in panels.c. */
panel *panel_map(void);
panel *panel_switch(void);
panel *panel_matrix(void);
panel *panel_confusion(void);
panel *panel_curves(void);
panel *panel_device(void);

/* For the panels' draw functions (panel.c): dim text, and a line centred in r (an empty
 * panel's hint). */
canvas_style panel_dim(void);
void panel_centre_text(canvas *c, rect r, const char *text);

/* For the panels' plot functions (panel.c). The figure's title line: a comment
 * "# title: TITLE" (snapshot.c takes the PNG's Description from it) and `set title`. */
void panel_plot_title(FILE *gp, const char *title);
/* A figure of an empty panel: the title and the hint the terminal shows, centred. */
void panel_plot_empty(FILE *gp, const char *title, const char *hint);
/* Where a new task (or a new job) starts among the model's epochs: a dashed grey line between
 * the epochs and "task N" at its top, for plots over epochs (x = epoch, from 1). */
void panel_plot_task_marks(FILE *gp, const model *m);
/* `set palette defined (...)` of p's xterm colours, one level each, as the terminal cuts
 * them (maxcolors). */
void panel_plot_palette(FILE *gp, const palette *p);
/* xterm colour i as "#rrggbb" into out. */
void panel_plot_rgb(int i, char out[8]);
/* A colour that reads on the cell of t in palette p: "#000000" or "#ffffff" (as the terminal
 * picks the text on a coloured cell). */
const char *panel_plot_ink(const palette *p, double t);

#endif
