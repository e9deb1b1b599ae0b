/* chipmeter: measurements of a chip's cells, as a probe station takes them, returned as
 * plain structs (chip:histogram and chip:retention are these plus argument checks).
 *  - The LRS/HRS histogram of a programmed net: every cell of its layers (or one layer)
 *    read once through both arrays, each cell counted as LRS when the net meant it so
 *    (the positive cell of a + weight, the negative cell of a - weight), else HRS, over
 *    `bins` equal bins from 0 to gmax uS (values beyond the ends go to the end bins).
 *  - Retention: cells read `reads` times each; a cell's trace keeps every `every`-th read
 *    (after each kept read a simulated chip applies its pending read drift: parameter
 *    "refresh", which other backends lack), its mean, and its max deviation
 *    (Gmax - Gmin) / Gmean (0 when the mean is not positive).
 * Every function returns 0, or -1 with a one-line message in err (the chip's own message
 * when a read fails); nothing is left allocated on failure. */
#ifndef MPCL_CHIPMETER_H
#define MPCL_CHIPMETER_H

#include <stddef.h>

#include "chip.h"
#include "net.h"

#define CHIPMETER_MAX_BINS 1000
#define CHIPMETER_MAX_CELLS 4096
#define CHIPMETER_MAX_READS 10000000L

/* Conductances in uS; index 0 of the sums is HRS, 1 LRS. */
typedef struct chipmeter_histogram {
    int bins;
    double gmax;
    double edges[CHIPMETER_MAX_BINS + 1]; /* gmax * b / bins, b = 0..bins */
    long lrs[CHIPMETER_MAX_BINS], hrs[CHIPMETER_MAX_BINS];
    double lrs_mean, lrs_sd, hrs_mean, hrs_sd; /* 0 for a state no cell was counted in */
} chipmeter_histogram;

/* The default top of the histogram: 1.6 times the chip's parameter g_lrs (100 uS when it
 * has none). */
double chipmeter_histogram_default_max(chip *c);
/* The histogram of net n, programmed on c (chipnet_place, chipnet_program): layer 0 for all
 * of its layers, 1..nlayers for one; bins 2..CHIPMETER_MAX_BINS, gmax > 0. */
int chipmeter_histogram_measure(chip *c, const net *n, int layer, int bins, double gmax,
                                chipmeter_histogram *out, char *err, size_t errlen);

typedef struct chipmeter_cell {
    int array, row, col; /* CHIP_POS or CHIP_NEG; 0-based on the array */
} chipmeter_cell;

/* The first (at most) max LRS cells of net n's first layer as programmed on c, row by row:
 * returns their count. */
int chipmeter_lrs_cells(const chip *c, const net *n, chipmeter_cell *cells, int max);

typedef struct chipmeter_retention {
    int ncells, every;
    int ntrace;     /* reads kept per cell: (reads - 1) / every + 1 */
    double *mean;   /* (ncells) */
    double *max_deviation; /* (ncells) */
    float *trace;   /* (ncells, ntrace) */
} chipmeter_retention;

/* Retention of cells[0..ncells-1] (1..CHIPMETER_MAX_CELLS), each read `reads` times
 * (2..CHIPMETER_MAX_READS), one after the other, every >= 1. out owns its arrays: free them
 * with chipmeter_retention_free (also safe on a zeroed struct, and twice). */
int chipmeter_retention_measure(chip *c, const chipmeter_cell *cells, int ncells, long reads,
                                int every, chipmeter_retention *out, char *err, size_t errlen);
void chipmeter_retention_free(chipmeter_retention *r);

#endif
