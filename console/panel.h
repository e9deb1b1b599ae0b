/* panel: one view of the console (the conductance map, switch rates, the accuracy matrix,
 * the confusion matrix, training curves, the device view). A panel draws itself into a
 * rectangle of the screen's canvas from the model, and may take keys when it has the
 * focus. Panels never touch Lua or the engine: the model is all they see. */
#ifndef MPCL_PANEL_H
#define MPCL_PANEL_H

#include "canvas.h"
#include "model.h"

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
    void (*draw)(panel *p, canvas *c, rect r, const model *m, int focused);
    int (*key)(panel *p, int key, const model *m); /* 1 when the key was used */
    /* lab.ui.show(name, {opts}): set an option ("mode", "task", ...); -1 for an unknown
     * key or value, with a message in err */
    int (*option)(panel *p, const char *key, const char *value, char *err, size_t errlen);
    /* the pointer (ui.c hands it over); 1 when used. NULL for a kind that takes none */
    int (*pointer)(panel *p, const panel_pointer *ev, const model *m);
} panel_class;

/* One panel: its class. A kind with state of its own (the map's mode and window, the
 * confusion matrix's task) puts a panel first in a struct of its own (panels.c). */
struct panel {
    const panel_class *cls;
};

/* The panels, in a fixed order (map, switch, matrix, confusion, curves, device); panels_find
 * by name. The map is in panel_map.c, the others in panels.c. */
int panels_count(void);
panel *panels_get(int i);
panel *panels_find(const char *name);
panel *panel_map(void);

/* For the panels' draw functions: dim text, and a line centred in r (an empty panel's hint). */
canvas_style panel_dim(void);
void panel_centre_text(canvas *c, rect r, const char *text);

#endif
