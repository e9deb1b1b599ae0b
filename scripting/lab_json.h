/* lab_json: Lua values to canonical JSON (cJSON) and back, for sweep points and results.
 *
 * To JSON: nil -> null, booleans, numbers (NaN and infinities -> null), strings (no NUL
 * bytes), tables as lists (keys exactly 1..n) or objects (string keys, written in sorted
 * order, so that the same table always gives the same text); the empty table is {}.
 * Functions, userdata, threads, other keys and nesting deeper than 64 are refused with the
 * key path ("result.curve.3 is a function").
 * Back to Lua: numbers that are integral and within +-2^53 become integers, the others
 * floats (a double's text round-trips exactly); null in a list leaves a hole. */
#ifndef MPCL_LAB_JSON_H
#define MPCL_LAB_JSON_H

#include <cjson/cJSON.h>
#include <lua.h>
#include <stddef.h>

/* The value at idx as JSON, or NULL with a message naming `what` and the path in err. */
cJSON *lab_json_from_lua(lua_State *L, int idx, const char *what, char *err, size_t errlen);

/* Push v as a Lua value (nil for NULL). Raises only on out of memory. */
void lab_json_push(lua_State *L, const cJSON *v);

#endif
