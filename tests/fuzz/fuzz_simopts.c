/* Fuzz target for chip URIs and the simulated chip's options: chip_open (core/chip.c)
 * dispatching on the URI, and sim.c's option parsing behind "sim:key=value,...".
 *
 * The input, up to its first NUL, is the URI, made cheap and safe by fuzz_sim_uri
 * (fuzz_util.h): plugin:, tcp:// and serial: are skipped (dlopen, connect), a sim chip gets
 * rows=16,cols=16 first and rows/cols above 64 lowered to 64, and a map value names a small
 * valid map (a memfd made once; the map target fuzzes map files). A chip that opens is
 * asked for its info and every parameter it lists, then closed.
 * Checks beyond the sanitizers: an error is one line of printable text; an open chip's size
 * is the one asked for (at most 64 x 64). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chip.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char map_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const char map[] = "50 5\n5 50\n";
    if (fuzz_memfile(map, sizeof map - 1, map_path, sizeof map_path) < 0)
        abort(); /* the descriptor stays open for the whole run */
    return 0;
}

static void check_message(const char *err)
{
    for (const char *p = err; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char in[4096], uri[8192], err[1024];
    if (size >= sizeof in)
        return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    if (fuzz_sim_uri(in, uri, sizeof uri, 16, 16, 64, map_path) < 0)
        return 0;
    chip c;
    if (chip_open(&c, uri, err, sizeof err) < 0) {
        /* "chip URI: sim's message": chip.c copies the URI as it is (reported), so only
         * sim's part is checked. */
        size_t n = strlen(uri);
        if (!strncmp(uri, "sim", 3) && n + 8 < sizeof err && !strncmp(err + 5, uri, n))
            check_message(err + 5 + n);
        return 0;
    }
    if (c.info.rows < 1 || c.info.rows > 64 || c.info.cols < 1 || c.info.cols > 64)
        abort();
    const char *const *params = c.be->params;
    for (int i = 0; params && params[i]; i++) {
        double v;
        if (chip_get(&c, params[i], &v, err, sizeof err) < 0)
            abort(); /* a parameter the chip lists must be readable */
    }
    chip_close(&c);
    return 0;
}
