/* clock: the lab's one clock. Seconds on the monotonic clock (CLOCK_MONOTONIC: never
 * jumps with the wall clock), for timings, timeouts, ETAs and frame rates. */
#ifndef MPCL_CLOCK_H
#define MPCL_CLOCK_H

double clock_seconds(void);

#endif
