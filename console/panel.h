/* panel: one view of the console (the conductance map, switch rates, the accuracy matrix,
 * the confusion matrix, training curves, the device view). A panel draws itself into a
 * rectangle of the screen's canvas from the model, and may take keys when it has the
 * focus. Panels never touch Lua or the engine: the model is all they see. */
#ifndef MPCL_PANEL_H
#define MPCL_PANEL_H

#include "canvas.h"
#include "model.h"

typedef struct panel panel;

struct panel {
    const char *name;       /* "map", as lab.ui.show names it */
    const char *title;
    const char *keys;       /* the keys it takes when focused, for the help overlay */
    void (*draw)(panel *p, canvas *c, rect r, const model *m, int focused);
    int (*key)(panel *p, int key, const model *m); /* 1 when the key was used */
    /* lab.ui.show(name, {opts}): set an option ("mode", "task", ...); -1 for an unknown
     * key or value, with a message in err */
    int (*option)(panel *p, const char *key, const char *value, char *err, size_t errlen);
    /* panel state */
    int mode, task, zoom, row0, col0;
};

/* The panels, in a fixed order; panels_find by name. */
int panels_count(void);
panel *panels_get(int i);
panel *panels_find(const char *name);

#endif
