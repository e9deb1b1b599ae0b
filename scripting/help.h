/* help: doc strings for everything in the lab, and the global help():
 *   help()            lists the lab's functions and objects, one line each;
 *   help(f)           the doc string of a lab function or method;
 *   help(obj)         what an object is and its methods;
 *   help("name")      the same by name ("net", "lab.trainer", "learn"). */
#ifndef MPCL_HELP_H
#define MPCL_HELP_H

#include <lua.h>

/* Index the doc strings by function value (lab at index `lab`, metatables by name) and set
 * the global help. Call after the lab module and its metatables exist. */
void lab_help_open(lua_State *L, int lab);

#endif
