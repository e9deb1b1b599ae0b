/* repl_tty: the plain terminal REPL of `mpcl` with no script: GNU readline (callback
 * interface) around the evaluator of scripting/repl.h, with history kept in
 * ${XDG_STATE_HOME:-~/.local/state}/mpcl/history, Tab completion of globals, fields and
 * methods, and Ctrl-C that interrupts the running chunk (or drops the line being typed)
 * without leaving the lab. Ctrl-D on an empty line leaves. Returns the exit status. */
#ifndef MPCL_REPL_TTY_H
#define MPCL_REPL_TTY_H

#include <lua.h>

int repl_tty_run(lua_State *L);

#endif
