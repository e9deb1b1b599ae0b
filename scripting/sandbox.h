/* sandbox: the Lua side of a replay's sandbox (capability.h is the lab's side). A journal is
 * code from a file someone handed you; unless the user says --trust, it runs with
 *   - only the globals on an allow-list: the base functions, string (without dump), table,
 *     math, utf8, coroutine, load limited to text chunks, the lab and help. Touching io, os,
 *     package, debug, require, dofile or loadfile is the error
 *     "sandbox: 'os' is not available in a replay (run with --trust to allow it)";
 *   - an instruction limit per chunk ("sandbox: instruction limit of N exceeded"). The
 *     library functions that can run long inside one C call, where no instruction is
 *     counted (string.find, match, gmatch, gsub, rep; table.sort, concat; load), count
 *     their time against the same limit at SANDBOX_INSTRUCTIONS_PER_SECOND, and a watchdog
 *     ends the process with a one-line message when one call alone outlives what is left
 *     (a C call cannot be interrupted);
 *   - the memory cap of memcap.h (C and Lua heap together; lab_state.h sets it). */
#ifndef MPCL_SANDBOX_H
#define MPCL_SANDBOX_H

#include <lua.h>
#include <stdio.h>

#define SANDBOX_INSTRUCTIONS_PER_SECOND 100000000.0

/* Keep only the allowed globals (after luaL_openlibs and the lab) and install the
 * instruction limit (0: none). */
void sandbox_apply(lua_State *L, long long max_instructions);
/* Restart the instruction count and re-arm its hook: before each chunk. A no-op in a state
 * without a sandbox. */
void sandbox_reset_count(lua_State *L);
/* Write n bytes of text a replay produced to f with the terminal's control bytes (C0 but
 * newline and tab, and DEL) written as \xNN: a journal cannot move the cursor, retitle the
 * window or reach the clipboard through escape codes. UTF-8 passes unchanged. A sandboxed
 * state's print goes through it; so does what the replay prints for it. */
void sandbox_write_text(FILE *f, const char *s, size_t n);

/* Called by the watchdog (on its own thread) just before it ends the process: the console
 * puts the terminal back. */
void sandbox_on_kill(void (*fn)(void));

#endif
