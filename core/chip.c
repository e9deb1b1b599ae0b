/* chip: opening a chip by URI (sim, link, plugin) and the checked chip_* calls of chip.h
 * that every caller goes through; the backends themselves are in plugins/. */
#include "chip.h"
#include "error.h"
#include "fileio.h"

#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void chip_verify_default(chip_verify *v)
{
    v->tol = 0.1f;
    v->max_pulses = 20;
}

/* "plugin:/path/lib.so[:options]": load the library and take its table. */
static int open_plugin(chip *c, const char *spec, const char **options, char *err,
                       size_t errlen)
{
    char path[4096];
    const char *colon = strchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    if (n == 0 || n >= sizeof path)
        return err_set(err, errlen, "chip plugin: give a library path (plugin:/path/lib.so)");
    memcpy(path, spec, n);
    path[n] = '\0';
    *options = colon ? colon + 1 : "";
    c->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!c->dl)
        return err_set(err, errlen, "chip plugin %s: %s", path, dlerror());
    const chip_backend *(*entry)(void);
    *(void **)&entry = dlsym(c->dl, "mpcl_chip_backend");
    const chip_backend *be = entry ? entry() : NULL;
    if (!be) {
        err_format(err, errlen, "chip plugin %s: no mpcl_chip_backend() in it", path);
        dlclose(c->dl);
        c->dl = NULL;
        return -1;
    }
    if (be->abi == 1) { /* version 1's table ends before read_layer */
        memset(&c->be_v1, 0, sizeof c->be_v1);
        memcpy(&c->be_v1, be, offsetof(chip_backend, read_layer));
        be = &c->be_v1;
    }
    if (be->abi != 1 && be->abi != CHIP_ABI_VERSION) {
        err_format(err, errlen, "chip plugin %s: chip ABI version %d, this lab speaks versions 1 "
                                "and %d", path, be->abi, CHIP_ABI_VERSION);
        dlclose(c->dl);
        c->dl = NULL;
        return -1;
    }
    if (!be->open || !be->close || !be->info || !be->name) {
        err_format(err, errlen, "chip plugin %s: its table lacks open, close, info or name", path);
        dlclose(c->dl);
        c->dl = NULL;
        return -1;
    }
    c->be = be;
    return 0;
}

int chip_open(chip *c, const char *uri, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    /* A URI is text: a control byte is refused before anything echoes it to a terminal. */
    for (const char *p = uri; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return err_set(err, errlen, "chip URI: a control byte (\\x%02x) at offset %d",
                           (unsigned char)*p, (int)(p - uri));
    /* For messages: bytes beyond ASCII (a UTF-8 path) shown as \xNN. */
    fileio_printable(c->uri, sizeof c->uri, uri, strlen(uri));
    const char *options = "";
    if (!strcmp(uri, "sim") || !strncmp(uri, "sim:", 4)) {
        c->be = chip_sim_backend();
        options = uri[3] ? uri + 4 : "";
    } else if (!strncmp(uri, "tcp://", 6) || !strncmp(uri, "serial:", 7)) {
        c->be = chip_link_backend(); /* it takes the whole URI: the scheme says tcp or serial */
        options = uri;
    } else if (!strncmp(uri, "plugin:", 7)) {
        if (open_plugin(c, uri + 7, &options, err, errlen) < 0)
            return -1;
    } else {
        return err_set(err, errlen,
                       "chip '%s': unknown kind (sim, sim:id=N,..., "
                       "tcp://HOST:PORT, serial:/dev/ttyX or plugin:/path/lib.so)", c->uri);
    }
    char berr[400];
    if (c->be->open(options, &c->state, berr, sizeof berr) < 0) {
        err_format(err, errlen, "chip %s: %s", c->uri, berr);
        if (c->dl)
            dlclose(c->dl);
        memset(c, 0, sizeof *c);
        return -1;
    }
    c->be->info(c->state, &c->info);
    return 0;
}

void chip_close(chip *c)
{
    if (c->be && c->state)
        c->be->close(c->state);
    if (c->dl)
        dlclose(c->dl);
    memset(c, 0, sizeof *c);
}

/* A backend's message, prefixed with the chip. */
static int fail(const chip *c, const char *what, const char *berr, char *err, size_t errlen)
{
    return err_set(err, errlen, "chip %s: %s: %s", c->uri, what, berr);
}

#define NEED(cap, what)                                                                     \
    do {                                                                                    \
        if (!(c->info.caps & (cap))) {                                                      \
            err_format(err, errlen, "chip %s: cannot %s (not among its capabilities)",       \
                       c->uri, what);                                                       \
            return -1;                                                                      \
        }                                                                                   \
    } while (0)

static int check_rect(const chip *c, chip_rect r, char *err, size_t errlen)
{
    /* Subtractions, not row0 + rows: a caller's INT_MAX must not overflow the check. */
    if (r.rows < 1 || r.cols < 1 || r.row0 < 0 || r.col0 < 0 || r.row0 > c->info.rows ||
        r.col0 > c->info.cols || r.rows > c->info.rows - r.row0 ||
        r.cols > c->info.cols - r.col0)
        return err_set(err, errlen,
                       "chip %s: block at (%d, %d) of %d x %d cells leaves the %d x %d "
                       "array", c->uri, r.row0, r.col0, r.rows, r.cols, c->info.rows,
                       c->info.cols);
    return 0;
}

static int check_array(const chip *c, int array, char *err, size_t errlen)
{
    if (array != CHIP_POS && array != CHIP_NEG)
        return err_set(err, errlen, "chip %s: array %d does not exist (0 positive, 1 negative)",
                       c->uri, array);
    return 0;
}

int chip_pulse(chip *c, int array, int row, int col, chip_pulse_kind kind, float amplitude_v,
               float width_s, char *err, size_t errlen)
{
    NEED(CHIP_CAP_PULSE, "apply pulses");
    chip_rect r = {row, col, 1, 1};
    if (check_array(c, array, err, errlen) < 0 || check_rect(c, r, err, errlen) < 0)
        return -1;
    if (kind < CHIP_FORM || kind > CHIP_RESET || !(amplitude_v >= 0 && amplitude_v <= 10) ||
        !(width_s > 0 && width_s <= 1))
        return err_set(err, errlen, "chip %s: pulse needs a kind (form, set, reset), 0-10 V and a "
                                    "width in (0, 1] s", c->uri);
    char berr[400];
    if (c->be->pulse(c->state, array, row, col, kind, amplitude_v, width_s, berr, sizeof berr))
        return fail(c, "pulse", berr, err, errlen);
    return 0;
}

int chip_program(chip *c, int array, chip_rect r, const uint8_t *target, const chip_verify *v,
                 chip_report *rep, uint8_t *failed, char *err, size_t errlen)
{
    NEED(CHIP_CAP_PROGRAM, "program blocks");
    if (check_array(c, array, err, errlen) < 0 || check_rect(c, r, err, errlen) < 0)
        return -1;
    chip_verify dv;
    chip_verify_default(&dv);
    if (!v)
        v = &dv;
    if (!(v->tol > 0 && v->tol < 0.5f) || v->max_pulses < 1 || v->max_pulses > 1000)
        return err_set(err, errlen, "chip %s: verify tolerance must be in (0, 0.5) and the pulse "
                                    "limit 1-1000", c->uri);
    chip_report dummy;
    char berr[400];
    if (c->be->program(c->state, array, r, target, v, rep ? rep : &dummy, failed, berr,
                       sizeof berr))
        return fail(c, "program", berr, err, errlen);
    return 0;
}

int chip_read(chip *c, int array, chip_rect r, float *g, char *err, size_t errlen)
{
    NEED(CHIP_CAP_READ, "read conductances");
    if (check_array(c, array, err, errlen) < 0 || check_rect(c, r, err, errlen) < 0)
        return -1;
    char berr[400];
    if (c->be->read(c->state, array, r, g, berr, sizeof berr))
        return fail(c, "read", berr, err, errlen);
    return 0;
}

int chip_place(chip *c, int nlayers, const chip_rect *at, char *err, size_t errlen)
{
    NEED(CHIP_CAP_VMM, "run layers");
    if (nlayers < 1 || nlayers > MPCL_MAX_LAYERS)
        return err_set(err, errlen, "chip %s: 1 to %d layers, got %d", c->uri, MPCL_MAX_LAYERS,
                       nlayers);
    for (int l = 0; l < nlayers; l++) {
        if (check_rect(c, at[l], err, errlen) < 0)
            return -1;
        for (int k = 0; k < l; k++) {
            const chip_rect *a = &at[l], *b = &at[k];
            if (a->row0 < b->row0 + b->rows && b->row0 < a->row0 + a->rows &&
                a->col0 < b->col0 + b->cols && b->col0 < a->col0 + a->cols)
                return err_set(err, errlen,
                               "chip %s: layers %d and %d overlap on the array", c->uri,
                               k + 1, l + 1);
        }
    }
    char berr[400];
    if (c->be->place(c->state, nlayers, at, berr, sizeof berr))
        return fail(c, "place", berr, err, errlen);
    c->nlayers = nlayers;
    memcpy(c->at, at, sizeof *at * (size_t)nlayers);
    return 0;
}

int chip_place_net(chip *c, int nlayers, const int *sizes, char *err, size_t errlen)
{
    /* Shelves: left to right; a new shelf below the tallest layer of the last one. */
    chip_rect at[MPCL_MAX_LAYERS];
    if (nlayers < 1 || nlayers > MPCL_MAX_LAYERS)
        return err_set(err, errlen, "chip %s: 1 to %d layers, got %d", c->uri, MPCL_MAX_LAYERS,
                       nlayers);
    int row = 0, col = 0, shelf = 0;
    for (int l = 0; l < nlayers; l++) {
        int rows = sizes[l], cols = sizes[l + 1];
        if (rows < 1 || cols < 1 || rows > c->info.rows || cols > c->info.cols)
            return err_set(err, errlen,
                           "chip %s: layer %d (%d x %d) is larger than the %d x %d array",
                           c->uri, l + 1, rows, cols, c->info.rows, c->info.cols);
        if (col + cols > c->info.cols) {
            row += shelf;
            col = shelf = 0;
        }
        if (row + rows > c->info.rows)
            return err_set(err, errlen,
                           "chip %s: the net's layers do not fit together on the %d x %d "
                           "array", c->uri, c->info.rows, c->info.cols);
        at[l] = (chip_rect){row, col, rows, cols};
        col += cols;
        shelf = rows > shelf ? rows : shelf;
    }
    return chip_place(c, nlayers, at, err, errlen);
}

/* A placed layer and a parallelism it can run at. */
static int check_layer_p(const chip *c, int layer, int p, char *err, size_t errlen)
{
    if (layer < 0 || layer >= c->nlayers)
        return err_set(err, errlen, "chip %s: layer %lld is not placed (%d placed)", c->uri,
                       (long long)layer + 1, c->nlayers);
    if (p < 1 || p > c->at[layer].rows)
        return err_set(err, errlen,
                       "chip %s: parallelism must be 1-%d for layer %d, got %d", c->uri,
                       c->at[layer].rows, layer + 1, p);
    return 0;
}

int chip_vmm(chip *c, int layer, int p, const int8_t *x, int B, int32_t *y, int32_t *groups,
             char *err, size_t errlen)
{
    NEED(CHIP_CAP_VMM, "run layers");
    if (check_layer_p(c, layer, p, err, errlen) < 0)
        return -1;
    if (B < 0 || (B > 0 && (!x || !y)))
        return err_set(err, errlen, "chip %s: vmm needs inputs and outputs", c->uri);
    if (B == 0)
        return 0;
    char berr[400];
    if (c->be->vmm(c->state, layer, p, x, B, y, groups, berr, sizeof berr))
        return fail(c, "vmm", berr, err, errlen);
    return 0;
}

int chip_read_layer(chip *c, int array, int layer, int p, float *g, char *err, size_t errlen)
{
    NEED(CHIP_CAP_READ, "read conductances");
    if (check_layer_p(c, layer, p, err, errlen) < 0)
        return -1;
    if (!c->be->read_layer)
        return chip_read(c, array, c->at[layer], g, err, errlen);
    if (check_array(c, array, err, errlen) < 0)
        return -1;
    char berr[400];
    if (c->be->read_layer(c->state, array, layer, p, g, berr, sizeof berr))
        return fail(c, "read a layer", berr, err, errlen);
    return 0;
}

int chip_peek(chip *c, int array, chip_rect r, float *g, char *err, size_t errlen)
{
    if (!c->be->peek)
        return err_set(err, errlen,
                       "chip %s: its backend cannot be looked at without reading", c->uri);
    if (check_array(c, array, err, errlen) < 0 || check_rect(c, r, err, errlen) < 0)
        return -1;
    char berr[400];
    if (c->be->peek(c->state, array, r, g, berr, sizeof berr))
        return fail(c, "peek", berr, err, errlen);
    return 0;
}

int chip_vmm_bits(chip *c, int layer, int p, const uint64_t *bits, int words, int B, int pm1,
                  int32_t *y, char *err, size_t errlen)
{
    NEED(CHIP_CAP_VMM, "run layers");
    if (check_layer_p(c, layer, p, err, errlen) < 0)
        return -1;
    int rows = c->at[layer].rows;
    if (words < (rows + 63) / 64 || B < 0)
        return err_set(err, errlen, "chip %s: layer %d takes %d inputs, %d words per vector given",
                       c->uri, layer + 1, rows, words);
    if (B == 0)
        return 0;
    char berr[400];
    if (c->be->vmm_bits) {
        if (c->be->vmm_bits(c->state, layer, p, bits, words, B, pm1, y, berr, sizeof berr))
            return fail(c, "vmm", berr, err, errlen);
        return 0;
    }
    int8_t *x = malloc((size_t)B * rows);
    if (!x)
        return err_set(err, errlen, "out of memory");
    for (int k = 0; k < B; k++)
        for (int i = 0; i < rows; i++) {
            int bit = (int)(bits[(size_t)k * words + i / 64] >> (i % 64) & 1);
            x[(size_t)k * rows + i] = (int8_t)(bit ? 1 : pm1 ? -1 : 0);
        }
    int rc = c->be->vmm(c->state, layer, p, x, B, y, NULL, berr, sizeof berr);
    free(x);
    if (rc)
        return fail(c, "vmm", berr, err, errlen);
    return 0;
}

int chip_get(chip *c, const char *key, double *value, char *err, size_t errlen)
{
    char berr[400];
    if (!c->be->get_param || c->be->get_param(c->state, key, value, berr, sizeof berr))
        return fail(c, "get", c->be->get_param ? berr : "no parameters", err, errlen);
    return 0;
}

int chip_set(chip *c, const char *key, double value, char *err, size_t errlen)
{
    char berr[400];
    if (!c->be->set_param || c->be->set_param(c->state, key, value, berr, sizeof berr))
        return fail(c, "set", c->be->set_param ? berr : "no parameters", err, errlen);
    return 0;
}
