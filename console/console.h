/* console: the full-screen lab. Live panels above, the output pane, the job bar and the
 * Lua input line below. One poll() loop watches the terminal, the job system's wake pipe,
 * the captured stdout/stderr and a signal self-pipe; readline owns the input line through
 * its callback interface and draws it through our redisplay function; panels redraw from
 * the model at most every 50 ms while anything changes. SIGWINCH only sets a flag; Ctrl-C
 * interrupts the running chunk, cancels running jobs, or drops the line being typed.
 *
 * Keys: F1 help, F2 next layout, F3 focus the next panel (Esc: back to the input line), F4
 * (or z on a focused panel) that panel full screen and back, PgUp/PgDn scroll the output,
 * F10 or Ctrl-D on an empty line leave. The mouse (unless --no-mouse): a click focuses the
 * panel under it, the wheel zooms the map at the pointer or scrolls the output, a drag pans
 * the map. */
#ifndef MPCL_CONSOLE_H
#define MPCL_CONSOLE_H

#include <lua.h>

typedef struct console_opts {
    const char *record;    /* journal path; "" none; NULL the default */
    long long seed;
    int threads;
    const char *script;    /* a script to run once the console is up (the bench demo), or
                              NULL */
    const char *replay;    /* a journal to replay inside the console, or NULL */
    int step;              /* replay: wait for Enter before each chunk */
    int colors;            /* 0 auto, 256, 8, 1 (monochrome) */
    int ascii;             /* force ASCII glyphs */
    int mouse;             /* take the mouse where the terminal has one (--no-mouse: 0) */
} console_opts;

/* Runs until the user leaves; returns the exit status. L has the lab loaded. */
int console_run(lua_State *L, const console_opts *o);

#endif
