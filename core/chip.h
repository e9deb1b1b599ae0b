/* chip: the one interface to every RRAM chip backend, the built-in simulated chip ("sim")
 * and any backend loaded from a shared library (a board over a link, a vendor's driver).
 *
 * A backend is a table of functions (chip_backend) with an ABI version. The lab opens a
 * chip by URI:
 *   "sim"                      the simulated chip, default settings, virtual chip id 1
 *   "sim:id=42,noise=0.015"    with options (see plugins/sim.c)
 *   "plugin:/path/lib.so[:options]"  dlopen, symbol `mpcl_chip_backend` (a function
 *                              returning const chip_backend *), ABI version checked
 *   "tcp://HOST:PORT[?...]", "serial:/dev/ttyX[?baud=921600&...]"  a board (or
 *                              mpcl-chipd) over the wire protocol (plugins/link.c)
 * and reaches it only through the chip_* functions below, which check every argument
 * (array index, rectangles inside the array, p, layer numbers) so that backends may trust
 * theirs, and turn a backend's failure into a one-line message naming the chip.
 *
 * The interface lives in core/ (the engine's chipnet and finetune work through it); the
 * backends in plugins/: chip.c reaches the built-in ones only through chip_sim_backend()
 * and chip_link_backend() below, resolved when libmpcl.a is linked.
 *
 * The model of a chip: two arrays of rows x cols cells (array 0 holds the positive and
 * array 1 the negative cell of each differential pair), cells addressed (row, col) from 0.
 * Cell operations: forming, set and reset pulses; write-verify of a block to LRS/HRS
 * targets; reading a block's conductances (uS). Layer operations: the host places a net's
 * layers on the array (rectangles of in rows x out columns, the same on both arrays),
 * programs them, and runs VMMs: parallelism p drives p rows at once; every group of p rows
 * gives, per column, the ADC's integer ("Int", in units of one weight); the groups are added
 * digitally (on the board's processor). Parameters (read voltage, ADC bits, TIA gain, read noise, ...) by name. */
#ifndef MPCL_CHIP_H
#define MPCL_CHIP_H

#include <stddef.h>
#include <stdint.h>

#include "layers.h"

/* Version 2 added read_layer; plugins built for version 1 still load (it reads as NULL). */
#define CHIP_ABI_VERSION 2

enum { CHIP_POS = 0, CHIP_NEG = 1 };
typedef enum chip_pulse_kind { CHIP_FORM = 0, CHIP_SET = 1, CHIP_RESET = 2 } chip_pulse_kind;

/* Capabilities (chip_info.caps). */
enum {
    CHIP_CAP_PULSE = 1,   /* single-cell pulses */
    CHIP_CAP_PROGRAM = 2, /* write-verify of blocks */
    CHIP_CAP_READ = 4,    /* conductance reads */
    CHIP_CAP_VMM = 8,     /* layer VMMs */
    CHIP_CAP_TIME = 16,   /* simulated time (retention): parameter "time_s" */
};

typedef struct chip_info {
    char backend[16];   /* "sim", or the plugin's name */
    char name[48];      /* what the chip calls itself */
    char firmware[32];
    char id[48];        /* the chip's identity: the virtual chip id of a sim */
    int rows, cols;     /* of each array */
    unsigned caps;
} chip_info;

typedef struct chip_rect {
    int row0, col0, rows, cols;
} chip_rect;

typedef struct chip_verify {
    float tol;      /* share of the LRS-HRS window a read may miss its target by (0.1) */
    int max_pulses; /* per cell (20) */
} chip_verify;

typedef struct chip_report {
    long cells, pulses, failed;
} chip_report;

/* A backend. Every function returns 0, or -1 with a one-line message in err. */
typedef struct chip_backend {
    int abi; /* CHIP_ABI_VERSION */
    const char *name;
    int (*open)(const char *options, void **state, char *err, size_t errlen);
    void (*close)(void *state);
    void (*info)(void *state, chip_info *out);
    int (*pulse)(void *state, int array, int row, int col, chip_pulse_kind kind,
                 float amplitude_v, float width_s, char *err, size_t errlen);
    /* target (rows, cols): 1 LRS, 0 HRS; failed (rows, cols, may be NULL): 1 where a cell
     * did not verify. */
    int (*program)(void *state, int array, chip_rect r, const uint8_t *target,
                   const chip_verify *v, chip_report *rep, uint8_t *failed, char *err,
                   size_t errlen);
    /* g (rows, cols) in uS, one read each (with the chip's read noise). */
    int (*read)(void *state, int array, chip_rect r, float *g, char *err, size_t errlen);
    /* Layer l's rectangle is at[l] (rows = inputs, cols = outputs). */
    int (*place)(void *state, int nlayers, const chip_rect *at, char *err, size_t errlen);
    /* B inputs x (B, rows of layer l) of -1/0/+1: y (B, cols) the sums over the groups of
     * the Ints of each group of p rows (the board's processor adds them), groups (B, G,
     * cols, may be NULL) each group's Int, G = ceil(rows / p). */
    int (*vmm)(void *state, int layer, int p, const int8_t *x, int B, int32_t *y,
               int32_t *groups, char *err, size_t errlen);
    int (*get_param)(void *state, const char *key, double *value, char *err, size_t errlen);
    int (*set_param)(void *state, const char *key, double value, char *err, size_t errlen);
    /* Names of the parameters, NULL-terminated (for listings and completion). */
    const char *const *params;
    /* Optional (NULL: the lab unpacks to vmm's bytes): the same VMM on packed inputs, bits
     * (B, words) laid out as net.h's activations; pm1 1: a set bit is +1 and a clear bit -1;
     * pm1 0: set is 1 and clear 0 (the row is not driven). */
    int (*vmm_bits)(void *state, int layer, int p, const uint64_t *bits, int words, int B,
                    int pm1, int32_t *y, char *err, size_t errlen);
    /* Optional: conductances as an ideal probe would see them, without noise and without
     * counting reads (for displays: looking must not change the experiment). */
    int (*peek)(void *state, int array, chip_rect r, float *g, char *err, size_t errlen);
    /* Optional (ABI 2; NULL: the lab reads the layer's cells with read()): layer l's cells
     * of one array as its rows driven in groups of p see them, g (rows, cols) in uS: each
     * cell's column current per volt on its row with the group's other rows at 0 V (line
     * resistance included), one read each with read noise: the paper's Wpara, read with p
     * rows driven at once. */
    int (*read_layer)(void *state, int array, int layer, int p, float *g, char *err,
                      size_t errlen);
} chip_backend;

/* An open chip. */
typedef struct chip {
    const chip_backend *be;
    void *state;
    void *dl;          /* dlopen handle of a plugin, or NULL */
    chip_backend be_v1; /* an ABI 1 plugin's table, completed with NULLs */
    chip_info info;
    int nlayers;
    chip_rect at[MPCL_MAX_LAYERS];
    char uri[256];
} chip;

/* The built-in simulated chip (plugins/sim.c). */
const chip_backend *chip_sim_backend(void);
/* A chip over TCP or a serial line (plugins/link.c, docs/protocol.md); its open() takes the
 * whole URI, "tcp://HOST:PORT[?options]" or "serial:/dev/ttyX[?options]". */
const chip_backend *chip_link_backend(void);

int chip_open(chip *c, const char *uri, char *err, size_t errlen);
void chip_close(chip *c);

int chip_pulse(chip *c, int array, int row, int col, chip_pulse_kind kind, float amplitude_v,
               float width_s, char *err, size_t errlen);
int chip_program(chip *c, int array, chip_rect r, const uint8_t *target, const chip_verify *v,
                 chip_report *rep, uint8_t *failed, char *err, size_t errlen);
int chip_read(chip *c, int array, chip_rect r, float *g, char *err, size_t errlen);
int chip_place(chip *c, int nlayers, const chip_rect *at, char *err, size_t errlen);
/* Shelf packing of a net's layers (sizes[0..nlayers]) into the array, then chip_place. */
int chip_place_net(chip *c, int nlayers, const int *sizes, char *err, size_t errlen);
int chip_vmm(chip *c, int layer, int p, const int8_t *x, int B, int32_t *y, int32_t *groups,
             char *err, size_t errlen);
/* A side-effect-free look at a block (chip_backend.peek); -1 when the backend has none. */
int chip_peek(chip *c, int array, chip_rect r, float *g, char *err, size_t errlen);
/* Layer l's cells of one array read through groups of p rows (chip_backend.read_layer),
 * g (rows, cols); a backend without it reads the cells (chip_read of the layer). */
int chip_read_layer(chip *c, int array, int layer, int p, float *g, char *err, size_t errlen);
/* chip_vmm on packed inputs (see chip_backend.vmm_bits). */
int chip_vmm_bits(chip *c, int layer, int p, const uint64_t *bits, int words, int B, int pm1,
                  int32_t *y, char *err, size_t errlen);
int chip_get(chip *c, const char *key, double *value, char *err, size_t errlen);
int chip_set(chip *c, const char *key, double value, char *err, size_t errlen);
void chip_verify_default(chip_verify *v);

#endif
