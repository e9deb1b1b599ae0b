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
 *   lab.ui.zoom("map"), lab.ui.zoom(false) -- one panel full screen, and back
 *   lab.ui.panels()                        -- the panel names */
#ifndef MPCL_UI_H
#define MPCL_UI_H

#include <lua.h>

#include "canvas.h"
#include "model.h"
#include "panel.h"

/* Register lab.ui into the global lab table; the model is what panels draw from. */
void ui_open(lua_State *L, model *m);
/* Draw the visible panels into area (the layout's, or the one full-screen panel), the
 * focused one with a bold frame. */
void ui_draw_panels(canvas *c, rect area, const model *m);
int ui_visible_count(void);
panel *ui_visible_panel(int i);
/* A new layout (the next preset, or one by name; -1 for an unknown name) takes the focus
 * back to the input line and ends full screen. */
void ui_next_layout(void);
int ui_set_preset(const char *name);

/* The focus: the index of the focused panel among the visible ones, -1 for the input line.
 * ui_focus_next steps through the panels and then the input line (F3). */
int ui_focus(void);
panel *ui_focused_panel(void);
void ui_focus_next(void);
void ui_focus_line(void);

/* Full screen: ui_zoom(p, take_focus) gives p the whole panel area, with the focus when
 * take_focus or when a panel had it (its keys stay live); ui_zoom(NULL, 0) returns to the
 * layout, a focused panel keeping the focus where the layout shows it. ui_toggle_zoom (F4,
 * z) does either for the focused panel (the first one, focused, when none is); -1 when
 * there is no panel. */
int ui_zoom(panel *p, int take_focus);
panel *ui_zoomed(void);
int ui_toggle_zoom(void);

/* The pointer, in screen cells: a press focuses the panel under it (the input line outside
 * the panels); moving with the button held, and its release, drag the panel pressed (the
 * map pans); the wheel goes to the panel under the pointer (the map zooms there). Returns 1
 * when the event was used. */
typedef enum { UI_PRESS, UI_DRAG, UI_RELEASE, UI_WHEEL_UP, UI_WHEEL_DOWN } ui_pointer_kind;
int ui_pointer(ui_pointer_kind k, int x, int y, const model *m);

/* The console gives lab.ui.pause its wait: draw frames and read keys until one comes;
 * returns the key, or -1 when interrupted. */
void ui_set_pause(int (*wait_key)(const char *message));

#endif
