/* A chip plugin built for ABI version 1, before read_layer: the lab must load it and treat
 * the fields past version 1's table as absent (here one is filled with a bogus pointer, as
 * whatever follows a shorter table in memory would be). */
#include <stdio.h>
#include <string.h>

#include "chip.h"

static int open_v1(const char *options, void **state, char *err, size_t errlen)
{
    (void)options;
    (void)err;
    (void)errlen;
    static int token;
    *state = &token;
    return 0;
}

static void close_v1(void *state) { (void)state; }

static void info_v1(void *state, chip_info *out)
{
    (void)state;
    memset(out, 0, sizeof *out);
    snprintf(out->backend, sizeof out->backend, "v1");
    snprintf(out->name, sizeof out->name, "a version 1 plugin");
    out->rows = out->cols = 8;
}

static const chip_backend table = {
    .abi = 1,
    .name = "v1",
    .open = open_v1,
    .close = close_v1,
    .info = info_v1,
    .read_layer = (int (*)(void *, int, int, int, float *, char *, size_t))1,
};

const chip_backend *mpcl_chip_backend(void) { return &table; }
