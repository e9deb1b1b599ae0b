/* lab: the Lua 5.4 face of the engine. luaopen_lab builds the `lab` table: datasets,
 * task sequences, nets, trainers, evaluation and JSON results, as userdata with methods
 * and __tostring. Errors reach Lua as clear messages ("lab.net: ..."), never a crash. */
#ifndef MPCL_LAB_H
#define MPCL_LAB_H

#include <lua.h>

int luaopen_lab(lua_State *L);

/* Cancellation of running engine work (training polls it between batches). The request
 * is async-signal-safe; each REPL chunk starts with the flag cleared. */
void lab_cancel_request(void);
void lab_cancel_clear(void);

#endif
