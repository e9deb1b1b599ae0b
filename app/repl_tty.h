/* repl_tty: the plain terminal REPL of `mpcl` with no script: GNU readline (callback
 * interface) around the evaluator of scripting/repl.h, with history kept in
 * ${XDG_STATE_HOME:-~/.local/state}/mpcl/history, Tab completion of globals, fields and
 * methods, and Ctrl-C that interrupts the running chunk (or drops the line being typed)
 * without leaving the lab; jobs run in the background and say when they end; every chunk
 * is recorded in a session journal (sessions/session.h). Ctrl-D on an empty line leaves. Returns the exit status. */
#ifndef MPCL_REPL_TTY_H
#define MPCL_REPL_TTY_H

#include <lua.h>

/* record: the journal to write ("" for none, NULL for the default path). */
int repl_tty_run(lua_State *L, const char *record, long long seed, int threads);

#endif
