/* ui: the console's layouts and the `lab.ui` table.
 * A layout is a few columns of panels, each with a weight; presets:
 *   default   map and device | switch rates and training curves | accuracy and confusion
 *   training  training curves and switch rates | accuracy matrix
 *   chip      map | device view and confusion
 *   repl      no panels: the output pane takes the screen
 * From Lua:
 *   lab.ui.layout("chip") or lab.ui.layout{{"map", "device"}, {"curves"}}
 *   lab.ui.show("confusion", {task = 3})   -- shows the panel (switching layouts if needed)
 *   lab.ui.pause([message])               -- waits for a key, the panels live (demos)
 *   lab.ui.panels()                        -- the panel names */
#ifndef MPCL_UI_H
#define MPCL_UI_H

#include <lua.h>

#include "canvas.h"
#include "model.h"
#include "panel.h"

/* Register lab.ui into the global lab table; the model is what panels draw from. */
void ui_open(lua_State *L, model *m);
/* Draw the visible panels into area; focus is the index of the focused panel or -1. */
void ui_draw_panels(canvas *c, rect area, const model *m, int focus);
int ui_visible_count(void);
panel *ui_visible_panel(int i);
void ui_next_layout(void);
/* Set the layout by preset name; -1 for an unknown name. */
int ui_set_preset(const char *name);

/* The console gives lab.ui.pause its wait: draw frames and read keys until one comes;
 * returns the key, or -1 when interrupted. */
void ui_set_pause(int (*wait_key)(const char *message));

#endif
