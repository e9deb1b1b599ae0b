/* The allocation wrappers of memcap.h: the programs that link this file pass
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free,--wrap=aligned_alloc,
 * --wrap=posix_memalign, so that every allocation in the lab's own objects comes here.
 * A block is counted by its usable size, taken before it is allocated (the cap can refuse)
 * and settled to the real size after. Until a cap is first set they only pass calls on. */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>

#include "memcap.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__real_aligned_alloc(size_t a, size_t n);
int __real_posix_memalign(void **p, size_t a, size_t n);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
void *__wrap_aligned_alloc(size_t a, size_t n);
int __wrap_posix_memalign(void **p, size_t a, size_t n);

/* Settle a block taken as `asked` bytes to its usable size (or give it all back). */
static void *settle(void *p, size_t asked)
{
    if (!p) {
        memcap_give(asked);
        return NULL;
    }
    size_t real = malloc_usable_size(p);
    if (real > asked)
        memcap_add(real - asked);
    else if (real < asked)
        memcap_give(asked - real);
    return p;
}

void *__wrap_malloc(size_t n)
{
    if (!memcap_counting())
        return __real_malloc(n);
    if (!memcap_take(n))
        return NULL;
    return settle(__real_malloc(n), n);
}

void *__wrap_calloc(size_t k, size_t n)
{
    if (!memcap_counting())
        return __real_calloc(k, n);
    if (n && k > (size_t)-1 / n)
        return NULL;
    if (!memcap_take(k * n))
        return NULL;
    return settle(__real_calloc(k, n), k * n);
}

void *__wrap_realloc(void *p, size_t n)
{
    if (!memcap_counting())
        return __real_realloc(p, n);
    if (!p)
        return __wrap_malloc(n);
    if (n == 0) {
        __wrap_free(p);
        return NULL;
    }
    size_t old = malloc_usable_size(p);
    if (n > old && !memcap_take(n - old))
        return NULL;
    void *q = __real_realloc(p, n);
    if (!q) {
        if (n > old)
            memcap_give(n - old);
        return NULL;
    }
    /* Now counted: old + max(n - old, 0); the block holds usable(q). */
    size_t counted = n > old ? n : old, real = malloc_usable_size(q);
    if (real > counted)
        memcap_add(real - counted);
    else
        memcap_give(counted - real);
    return q;
}

void __wrap_free(void *p)
{
    if (p && memcap_counting())
        memcap_give(malloc_usable_size(p));
    __real_free(p);
}

void *__wrap_aligned_alloc(size_t a, size_t n)
{
    if (!memcap_counting())
        return __real_aligned_alloc(a, n);
    if (!memcap_take(n))
        return NULL;
    return settle(__real_aligned_alloc(a, n), n);
}

int __wrap_posix_memalign(void **p, size_t a, size_t n)
{
    if (!memcap_counting())
        return __real_posix_memalign(p, a, n);
    if (!memcap_take(n))
        return ENOMEM;
    int rc = __real_posix_memalign(p, a, n);
    if (rc == 0)
        settle(*p, n);
    else
        memcap_give(n);
    return rc;
}
