/* Fuzz target for the measured-map import (plugins/sim.c: read_map, import_map): a sim chip
 * opened with map= (or map_neg=) naming a file that holds the fuzz input.
 *
 * Bytes 0 and 1: the chip's rows and cols (1 + b % 16); byte 2: bit 0 map_neg instead of
 * map, bits 1-2 the preset (paper, ideal, worn, paper); the rest is the map file (a memfd,
 * fuzz_util.h). A chip that opens has its imported block read back once.
 * Checks beyond the sanitizers: an error is one line of printable text that does not copy
 * the file (its message is about the file's lines and columns, never their bytes). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chip.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3 || size > (1u << 16))
        return 0;
    static const char *const presets[] = {"paper", "ideal", "worn", "paper"};
    int rows = 1 + data[0] % 16, cols = 1 + data[1] % 16, neg = data[2] & 1;
    const char *preset = presets[data[2] >> 1 & 3];
    char path[64], uri[256], err[1024];
    int fd = fuzz_memfile(data + 3, size - 3, path, sizeof path);
    if (fd < 0)
        return 0;
    snprintf(uri, sizeof uri, "sim:preset=%s,rows=%d,cols=%d,%s=%s", preset, rows, cols,
             neg ? "map_neg" : "map", path);
    chip c;
    if (chip_open(&c, uri, err, sizeof err) == 0) {
        float g[16 * 16];
        chip_rect r = {0, 0, rows, cols};
        if (chip_read(&c, neg, r, g, err, sizeof err) < 0)
            abort();
        chip_close(&c);
    } else {
        for (const char *p = err; *p; p++)
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                abort();
    }
    close(fd);
    return 0;
}
