/* Fuzz target for the net-file loader (core/store.c): store_read and store_load_net on a
 * file, and store_net_decode on a payload. The file is a memfd (fuzz_util.h).
 *
 * The first byte picks the mode:
 *   bits 0-1  0: the rest is the file, as it is (a CRC guards the payload: mutations mostly
 *             stop at the checksum); 1: the rest is a net payload, wrapped in a container
 *             with kind "net" and the right length and CRC, so that the fuzzer reaches the
 *             payload decoder through the file API; 2, 3: the same with the kind taken from
 *             the first 16 bytes of the rest
 * Checks beyond the sanitizers: a net that loads has 1 to MPCL_MAX_LAYERS layers whose sizes
 * chain; the payload decoder and the file loader agree on every wrapped payload. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "fuzz_util.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* kind (16 bytes) + payload as a store container, malloc'd; its length in *len. */
static uint8_t *wrap(const uint8_t *kind, const uint8_t *payload, size_t plen, size_t *len)
{
    uint8_t *f = malloc(40 + plen + 1);
    if (!f)
        return NULL;
    memcpy(f, "MPCLSTOR", 8);
    uint32_t v = STORE_VERSION, crc = (uint32_t)crc32(0L, payload, (uInt)plen);
    uint64_t l = plen;
    memcpy(f + 8, &v, 4);
    memcpy(f + 12, kind, 16);
    memcpy(f + 28, &l, 8);
    memcpy(f + 36, &crc, 4);
    memcpy(f + 40, payload, plen);
    *len = 40 + plen;
    return f;
}

/* Load the file; returns 0 when a net came out (checked, then freed). */
static int load(const uint8_t *file, size_t len)
{
    char path[64], err[512];
    int fd = fuzz_memfile(file, len, path, sizeof path);
    if (fd < 0)
        return -2;
    net n;
    int rc = store_load_net(path, &n, err, sizeof err);
    if (rc == 0) {
        if (n.nlayers < 1 || n.nlayers > MPCL_MAX_LAYERS)
            abort();
        for (int l = 0; l < n.nlayers; l++)
            if (n.layer[l].in != n.sizes[l] || n.layer[l].out != n.sizes[l + 1])
                abort();
        net_free(&n);
    }
    /* An error message is one line of printable text (the kind is bytes from the file). */
    for (const char *p = err; rc < 0 && *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            abort();
    close(fd);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20))
        return 0;
    int mode = data[0] & 3;
    data++;
    size--;
    if (mode == 0) {
        load(data, size);
        return 0;
    }
    uint8_t kind[16] = "net";
    if (mode >= 2) {
        if (size < 16)
            return 0;
        memcpy(kind, data, 16);
        data += 16;
        size -= 16;
    }
    size_t len;
    uint8_t *file = wrap(kind, data, size, &len);
    if (!file)
        return 0;
    int rc = load(file, len);
    free(file);
    char err[512];
    net n;
    int drc = store_net_decode(data, size, &n, err, sizeof err);
    if (drc == 0)
        net_free(&n);
    if (mode == 1 && rc != -2 && (rc == 0) != (drc == 0))
        abort(); /* the file loader and the decoder disagree on one payload */
    return 0;
}
