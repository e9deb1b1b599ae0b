/* capture: what the lab writes to stdout and stderr while the console owns the terminal.
 * capture_start points file descriptors 1 and 2 at pipes that a small thread drains into
 * a buffer (so a chunk that prints a lot never blocks on a full pipe), and returns a
 * descriptor of the real terminal for ncurses. capture_take hands the text read so far,
 * stderr's marked, to the main thread. capture_stop puts 1 and 2 back. */
#ifndef MPCL_CAPTURE_H
#define MPCL_CAPTURE_H

#include <stddef.h>

/* Returns a new descriptor on the terminal (for ncurses' output), or -1. wake_fd (may be
 * -1) is written a byte whenever text arrives. */
int capture_start(int wake_fd);
void capture_stop(void);

/* Call fn(ud, text, len, is_error) for each piece captured since the last call. */
void capture_take(void (*fn)(void *ud, const char *text, size_t len, int is_error), void *ud);

#endif
