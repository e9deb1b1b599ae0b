/* repl_rl: what the two faces of the REPL share with GNU readline: the history file under
 * the user's state directory and Tab completion through repl_complete. */
#ifndef MPCL_REPL_RL_H
#define MPCL_REPL_RL_H

#include <lua.h>
#include <stddef.h>

/* ${XDG_STATE_HOME:-$HOME/.local/state}/mpcl/history, directories created; "" when there
 * is no home. */
void repl_rl_history_path(char *out, size_t len);
/* Load the history from path (kept to 2000 lines); path "" does nothing. */
void repl_rl_history_load(const char *path);
/* Add a typed line to the history and append it to path. */
void repl_rl_history_add(const char *path, const char *line);
/* Make readline's Tab complete Lua names of L (globals, fields, methods after ':'). */
void repl_rl_completion(lua_State *L);
/* Free the completion state. */
void repl_rl_free(void);

#endif
