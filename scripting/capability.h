/* capability: what a Lua state of the lab may reach outside the process, decided in one
 * place. A state is trusted (the user's own scripts, REPL and console, `--trust` replays:
 * every capability, everywhere) or a sandboxed replay, which has only
 *   data   the data sets (lab.dataset)
 *   read   files below the current directory and the data directories (lab.load, a sim's
 *          map= files)
 *   write  files below the current directory (net:save, lab.write_json)
 *   sim    simulated chips
 *   link   the one chip the user named with --chip (every lab.chip.open of tcp:, serial: or
 *          plugin: is redirected to it)
 * and never `plugin` (dlopen runs a library's code before anyone can look at it) nor a link
 * to any other place. Paths are checked after resolving symbolic links, and a refusal does
 * not depend on whether the file exists (a replay cannot probe the disk).
 *
 * The allow-list: every function of the lab that Lua can reach is declared in capability.c
 * with the capabilities it may use; in a sandboxed state a function nobody declared is
 * replaced by one that refuses. Functions that need a capability ask for it with cap_need,
 * cap_read_path, cap_write_path or cap_chip_uri, which raise
 *   "WHO: sandbox: CAPABILITY is not allowed in a replay (... run with --trust ...)". */
#ifndef MPCL_CAPABILITY_H
#define MPCL_CAPABILITY_H

#include <lua.h>
#include <stddef.h>

enum {
    CAP_DATA = 1 << 0,
    CAP_READ = 1 << 1,
    CAP_WRITE = 1 << 2,
    CAP_SIM = 1 << 3,
    CAP_LINK = 1 << 4,
    CAP_PLUGIN = 1 << 5,
    CAP_ALL = (1 << 6) - 1
};

/* Give the state its policy: trusted (every capability) or sandboxed, and the chip the user
 * named (--chip; NULL: none), to which hardware chip opens are redirected. Sandboxed: every
 * undeclared function in the lab's tables and classes is replaced by a refusal. Call once,
 * after every module of the lab is loaded. */
void cap_install(lua_State *L, int trusted, const char *chip_uri);

/* Whether the state runs sandboxed. */
int cap_sandboxed(lua_State *L);

/* Raise unless the state has capability c (one of CAP_*). */
void cap_need(lua_State *L, unsigned c, const char *who);

/* Raise unless the state may read (write) path; trusted states may anything. */
void cap_read_path(lua_State *L, const char *path, const char *who);
void cap_write_path(lua_State *L, const char *path, const char *who);

/* The URI to open for lab.chip.open(uri): uri itself, or the --chip URI for a hardware
 * chip; raises when the state may not open it (a plugin, a link without --chip, a sim
 * whose map file it may not read). Returns buf. */
const char *cap_chip_uri(lua_State *L, const char *uri, char *buf, size_t n, const char *who);

/* The declaration of a function of the lab by its full name ("lab.load", "lab.net:save"):
 * its capabilities (0: none, in-process only), or -1 when nobody declared it. */
int cap_declared(const char *name);

#endif
