/* error: the engine's one error convention. A function that can fail writes one line (no
 * newline, no trailing period) into the caller's err[errlen] and returns -1; err may be
 * NULL or errlen 0 when the caller does not want the words.
 *
 * Out of memory is an error like any other: the function says "<what>: out of memory",
 * leaves the caller's state as it was, and returns -1. The engine never aborts or exits on
 * a failed allocation; bindings turn the line into a Lua error, faces print it. */
#ifndef MPCL_ERROR_H
#define MPCL_ERROR_H

#include <stddef.h>

/* Format into err and give -1: `return err_set(err, errlen, "data: %s is empty", path);`
 * (a macro, so that the compiler sees the -1 and knows what a failed call left unset). */
#define err_set(err, errlen, ...) (err_format((err), (errlen), __VA_ARGS__), -1)
/* The same without the -1, where the caller goes on to clean up first. */
void err_format(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
