/* Fuzz target for the IDX reader (core/data.c): idx_read and data_raw_load on raw and gzip
 * files, and data_prepare on what loads. The files are memfds (fuzz_util.h), read through the
 * same path API as the lab's.
 *
 * The first byte picks the mode:
 *   bits 0-1  0: one labels file (1 dimension); 1: one images file (3 dimensions);
 *             2, 3: an images file and a labels file, the rest cut in two at the offset in
 *             the next two bytes (little-endian, modulo the length), loaded as a pair
 *   bit 2     gzip-compress each file first (so that mutations of the IDX structure reach
 *             the reader through zlib; without it the fuzzer's own bytes may be gzip too)
 *   bits 3-4  the preprocessing of a loaded pair: float784, binary784, paper192, none
 * Checks beyond the sanitizers: a raw file that loads holds exactly the header and the
 * elements its dimensions promise; a pair that loads has matching counts and labels 0-9. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "data.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* data as a gzip stream, malloc'd into *out; its length, or 0 on failure. */
static size_t gzip_of(const uint8_t *data, size_t size, uint8_t **out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return 0;
    size_t cap = deflateBound(&z, size) + 32;
    *out = malloc(cap);
    if (!*out) {
        deflateEnd(&z);
        return 0;
    }
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)size;
    z.next_out = *out;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    size_t len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(*out);
        *out = NULL;
        return 0;
    }
    return len;
}

/* A memfd with data (gzip-compressed when gz); its fd, or -1. */
static int make_file(const uint8_t *data, size_t size, int gz, char *path, size_t len)
{
    if (!gz)
        return fuzz_memfile(data, size, path, len);
    uint8_t *z = NULL;
    size_t zlen = gzip_of(data, size, &z);
    int fd = z ? fuzz_memfile(z, zlen, path, len) : -1;
    free(z);
    return fd;
}

static void one_file(const uint8_t *data, size_t size, int ndims, int gz)
{
    char path[64], err[512];
    int fd = make_file(data, size, gz, path, sizeof path);
    if (fd < 0)
        return;
    uint8_t *el;
    int dims[3];
    if (idx_read(path, ndims, &el, dims, err, sizeof err) == 0) {
        size_t total = 1;
        for (int i = 0; i < ndims; i++)
            total *= (size_t)dims[i];
        int raw = size < 2 || data[0] != 0x1f || data[1] != 0x8b;
        size_t head = 4 + 4 * (size_t)ndims;
        /* A raw file that loads is its header and the elements, which come back unchanged. */
        if (!gz && raw && (size != head + total || memcmp(el, data + head, total)))
            abort();
        free(el);
    }
    close(fd);
}

static void pair(const uint8_t *data, size_t size, int gz, int prep)
{
    if (size < 2)
        return;
    size_t cut = (size_t)(data[0] | data[1] << 8);
    data += 2;
    size -= 2;
    cut = size ? cut % (size + 1) : 0;
    char ipath[64], lpath[64], err[512];
    int ifd = make_file(data, cut, gz, ipath, sizeof ipath);
    int lfd = make_file(data + cut, size - cut, gz, lpath, sizeof lpath);
    data_raw raw;
    if (ifd >= 0 && lfd >= 0 && data_raw_load(ipath, lpath, &raw, err, sizeof err) == 0) {
        for (int i = 0; i < raw.n; i++)
            if (raw.labels[i] > 9)
                abort();
        static const data_input kinds[] = {DATA_INPUT_FLOAT784, DATA_INPUT_BINARY784,
                                           DATA_INPUT_PAPER192};
        data_set ds;
        if (prep < 3 && data_prepare_take(&raw, kinds[prep], 0.5f, &ds, err, sizeof err) == 0)
            data_set_free(&ds);
        data_raw_free(&raw);
    }
    if (ifd >= 0)
        close(ifd);
    if (lfd >= 0)
        close(lfd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int mode = data[0] & 3, gz = data[0] >> 2 & 1, prep = data[0] >> 3 & 3;
    if (mode < 2)
        one_file(data + 1, size - 1, mode ? 3 : 1, gz);
    else
        pair(data + 1, size - 1, gz, prep);
    return 0;
}
