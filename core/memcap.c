#include "memcap.h"

#include <stdatomic.h>

static atomic_size_t used;
static atomic_size_t limit;
static atomic_int hit;
static atomic_int counting;

void memcap_set_limit(size_t bytes)
{
    atomic_store(&limit, bytes);
    if (bytes)
        atomic_store(&counting, 1);
}

int memcap_counting(void) { return atomic_load_explicit(&counting, memory_order_relaxed); }
size_t memcap_limit(void) { return atomic_load(&limit); }
size_t memcap_used(void) { return atomic_load(&used); }
int memcap_hit(void) { return atomic_exchange(&hit, 0); }

int memcap_take(size_t n)
{
    size_t cap = atomic_load_explicit(&limit, memory_order_relaxed);
    size_t now = atomic_fetch_add_explicit(&used, n, memory_order_relaxed);
    if (cap && (now + n > cap || now + n < now)) {
        atomic_fetch_sub_explicit(&used, n, memory_order_relaxed);
        atomic_store(&hit, 1);
        return 0;
    }
    return 1;
}

void memcap_give(size_t n)
{
    /* Blocks a library allocated and the lab frees were never counted: never below 0. */
    size_t now = atomic_load_explicit(&used, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&used, &now, now > n ? now - n : 0,
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

void memcap_add(size_t n) { atomic_fetch_add_explicit(&used, n, memory_order_relaxed); }
