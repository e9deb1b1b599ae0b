/* memcap: a cap on the C heap the lab allocates, for sandboxed replays. The lab's own code
 * (engine, plugins, bindings, and the Lua heap, whose allocator is the lab's) is linked
 * with malloc, calloc, realloc, free, aligned_alloc and posix_memalign wrapped
 * (app/memwrap.c, -Wl,--wrap): every allocation is counted here, on every thread, and one
 * that would take the total past the cap fails (returns NULL) instead, which the code
 * reports as "out of memory"; memcap_hit then says the cap, not the machine, was the
 * reason. Programs linked without the wrappers count nothing and have no cap.
 * The count is of usable bytes (malloc_usable_size), so it is exact for the lab's own
 * buffers; memory that a library allocates and the lab frees (or the reverse) makes it
 * drift by those blocks, which are small. */
#ifndef MPCL_MEMCAP_H
#define MPCL_MEMCAP_H

#include <stddef.h>

/* The cap in bytes; 0 removes it. Counting starts with the first cap set (a process that
 * never sets one pays nothing for the wrappers) and never stops after. */
void memcap_set_limit(size_t bytes);
/* Whether counting has started. */
int memcap_counting(void);
size_t memcap_limit(void);
/* Bytes counted now (0 when the wrappers are not linked in or counting has not started). */
size_t memcap_used(void);
/* Whether an allocation was refused since the last call (the flag is cleared). */
int memcap_hit(void);

/* For the wrappers: may n more bytes be taken? Counts them when so. */
int memcap_take(size_t n);
void memcap_give(size_t n);
/* Count n more bytes whatever the cap (a block's slack beyond what was asked). */
void memcap_add(size_t n);

#endif
