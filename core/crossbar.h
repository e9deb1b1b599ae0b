/* crossbar: a net's binary weight matrices as differential pairs on two RRAM arrays (the
 * positive and the negative array of a chip, each a device.h array, 512 x 512 by default),
 * vector-matrix products with parallelism p through a TIA and an ADC, the software
 * replica of that arithmetic (the WL/WR decomposition of the paper's fine-tuning step 3),
 * and operation counts.
 *
 * Mapping. Weight w[j][i] (output j, input i) of a layer placed at (row0, col0) lives in
 * cell (row0 + i, col0 + j) of both arrays: +1 = (G+ LRS, G- HRS), -1 = (HRS, LRS). A layer
 * of `in` inputs and `out` outputs takes `in` rows and `out` columns. xbar_place_layers
 * packs the layers in order on shelves: left to right along a shelf, a new shelf below
 * the tallest layer of the last one when the next layer does not fit in the columns left.
 *
 * VMM with parallelism p. Input x_i in {-1, 0, +1} drives row i at x_i * V_read (0: row not
 * driven). The rows are split into G = ceil(in / p) groups of p (the last may be shorter);
 * one array operation drives a group, and each column pair gives the differential current
 *   I_gj = V_read * sum_{i in g} x_i (G+_ij - G-_ij)  (+ read noise),
 * converted by the TIA and the ADC and normalised by the digital side into an integer
 * ("Int"), and the G integers of a column are added digitally:  y_j = sum_g Int(I_gj).
 *   ADC: code = rint(clamp(I * gain / LSB_v, -2^(b-1), 2^(b-1) - 1)), b = adc_bits, LSB_v =
 *        adc_vfs / 2^(b-1); the auto gain puts full scale at headroom * p * V_read *
 *        (g_lrs - g_hrs): p rows of LRS-HRS difference fit with 25% to spare.
 *   Int: rint(code * 2^f * LSB / U), U = V_read * (g_lrs - g_hrs) the current of one weight,
 *        f = int_frac_bits: Int counts weights in units of 2^-f. With f = 0 (default) a
 *        group's partial sum is rounded to whole weights, which removes most read
 *        fluctuation at small p and lets device variation accumulate into errors as p grows.
 * With p = 1, no read noise, no stuck cells and no line resistance, y equals the exact
 * integer product sum_i x_i w_ij (times 2^f): every pair's difference is within 50% of nominal.
 *
 * The board (xbar_params beyond the ideal defaults). A fixed tia_gain sets one full scale
 * for every p; the ADC adds adc_offset LSB to its input, and INL / DNL move its transitions
 * (xbar_adc_transfer). U, one weight's current, counts the access transistor in series:
 * U = V_read (y(g_lrs) - y(g_hrs)), y(G) = G / (1 + G access_ohm). Line resistance
 * (row_wire_ohm, col_wire_ohm, access_ohm, driver_ohm; irdrop.h): each group of p rows of
 * a layer is a resistive network whose transfer T (per volt on a row, the group's other rows
 * at 0 V) replaces G in everything above: the VMM's gd becomes T+ - T- at the p in use
 * (solved when a layer's snapshot is taken and p changes; held on the grid), and
 * xbar_read_weights_p reads it (the paper's Wpara, read with p rows driven at once). Without
 * line resistance T = G and every result is the ideal chip's bit for bit.
 *
 * Arithmetic. The crossbar works on a snapshot of the effective conductances, taken when
 * a layer is placed or programmed and by xbar_refresh. Each cell's G is held on a grid of
 * 2^-12 uS (XBAR_GRID) as an integer, so a group's partial sum S is an exact integer
 * whatever the order of summation; the hot loop exploits that (it sums only the smaller
 * polarity of a fully driven group, or, when p is a multiple of 4, adds per-layer table
 * entries that hold every 4-row input pattern's sum, as exact integers or exact floats).
 * Then, in ADC codes,
 *   c0 = (float)S * k_grid,   c = fmaf(s_g, n, c0) (read noise),   Int = xbar_int_code(c)
 * with k_grid = V_read * gain / LSB_v * 2^-12, and xbar_int_code = rint(rint(clamp(c)) *
 * k_int), the last product exact (in double). Read noise: every driven cell's read
 * fluctuates by read_noise * G; their sum over a group is drawn as one Gaussian per column
 * and group, sigma_g = read_noise * sqrt(sum_{rows} G+^2 + G-^2) for a fully driven group,
 * times sqrt(driven rows / rows) for a partly driven one (0/1 inputs: the group's mean G^2
 * stands in for the driven rows' own, a difference of a few percent of the spread); a group
 * with no driven row has none. In codes s_g = sigma_g k_adc / NQ_SCALE in float (times the
 * float sqrt(driven / rows)) and n = NQ[v], v a noise byte (below): NQ holds the 256
 * quantiles round(44 Phi^-1((v + 1/2) / 256)) of the standard normal, NQ_SCALE = 43.9266
 * the root of their mean square, so n / NQ_SCALE has mean 0 and variance 1 and is bounded
 * at 2.89. The chip path and the software path (xbar_wl, xbar_wlwr) compute S and c0 the
 * same way and share xbar_int_code, so with read noise off they agree bit for bit;
 * xbar_int(q, s) of xbar_wl's partial sums s gives the same Ints. The AVX-512 and the
 * portable code paths give identical results, noise included.
 *
 * Noise sequence: each VMM call draws a 64-bit key from the positive array's read stream.
 * The noise bytes of image b (its index in the call), group g and the 16 columns 16 v ..
 * 16 v + 15 are the 16 bytes of block n = (b G + g) V + v, V = outp / 16 (outp = out
 * rounded up to 16), of an ARS-5 counter generator (Salmon et al. 2011) keyed by it: the
 * 128-bit block (n, 0) (two little-endian 64-bit halves) XOR round key 0, four AES rounds
 * (AESENC) and a last one (AESENCLAST) with round keys 1 to 5, round key r = (key + r W0,
 * mix64(key) + r W1) (W0 = 0x9e3779b97f4a7c15, W1 = 0xbb67ae8584caa73b, mix64 SplitMix64's
 * output function); byte u is column 16 v + u's. Results therefore depend on the chip id
 * and the call sequence, not on the thread count nor on how the work is split. Reads made
 * through the crossbar (VMMs, xbar_read_weights) are counted and handed to the arrays
 * (read drift) at the next xbar_refresh; time (dev_advance_time on x->pos and x->neg) also
 * takes effect at refresh. xbar_read_weights draws its read noise from device.h's noise
 * banks (one bank seeded from a key of the positive array's read stream per call).
 *
 * Operation counts (xbar_count_ops). An array operation drives one group of p rows of a
 * layer on the array pair and converts adc_channels column pairs at once (default 2);
 * a digital addition adds one group's Int to a column's running sum:
 *   array_ops = sum_l ceil(in_l / p) * ceil(out_l / adc_channels)
 *   adds      = sum_l (ceil(in_l / p) - 1) * out_l
 *   conversions = sum_l ceil(in_l / p) * out_l   (ADC conversions of column pairs)
 * For 192-256-256-10: p = 1: 58,624 array operations (the paper: 62,000), 116,726
 * additions; p = 16: 3,664 (the paper: 3,600), 6,806 additions. The array operations fall
 * 16.0x (every input size is a multiple of 16; the paper says ~17x); the additions fall
 * 17.15x.
 *
 * Limits: p from 1 to 512 (and the array's rows) on the chip, so that a group's integer
 * sum stays within 32 bits. One thread at a time may use an xbar; xbar_vmm splits its
 * images over kern_parallel's threads itself. Functions that can fail return -1 with a
 * one-line message in err. */
#ifndef MPCL_CROSSBAR_H
#define MPCL_CROSSBAR_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "device.h"
#include "layers.h"

#define XBAR_GRID 0x1p-12f /* uS per step of the conductance grid */

/* xbar_default_params gives the ideal chip (the defaults below); the sim's presets
 * (plugins/sim.c) set the board's values. */
typedef struct xbar_params {
    float v_read;      /* 0.2 V */
    int adc_bits;      /* 14 (4-16) */
    float adc_vfs;     /* 1.0 V: the ADC converts -adc_vfs .. +adc_vfs */
    float tia_gain;    /* V/uA (MOhm); 0 (default): auto, see above */
    float headroom;    /* 1.25: auto full scale over p rows of LRS-HRS difference */
    int int_frac_bits; /* 0: Int in whole weights */
    int adc_channels;  /* 2: column pairs converted per array operation (counts only) */
    float adc_offset;  /* 0 LSB: added to every conversion's input */
    float adc_inl;     /* 0 LSB: peak of the bow-shaped integral nonlinearity */
    float adc_dnl;     /* 0 LSB: peak differential nonlinearity (per-code, drawn) */
    uint64_t adc_seed; /* draws the DNL pattern (the chip id) */
    float row_wire_ohm; /* 0: wire resistance per cell segment of the rows (driven lines) */
    float col_wire_ohm; /* 0: the same for the columns (output lines, to the TIAs) */
    float access_ohm;  /* 0: access transistor on-resistance, in series with each cell */
    float driver_ohm;  /* 0: row driver (multiplexer) on-resistance */
    int line_exact;    /* 0: the fast line solver; 1: the exact nodal solve (irdrop.h) */
} xbar_params;

/* The quantiser of one parallelism p (see the header comment). */
typedef struct xbar_adc {
    int p, bits, frac_bits;
    float v_read, gain;  /* V, V/uA */
    float unit_ua;       /* current of one weight, uA */
    float lsb_ua;        /* ADC step in current, uA */
    float k_adc;         /* ADC codes per uS of partial sum: v_read / lsb_ua */
    float k_grid;        /* ADC codes per grid step: k_adc * XBAR_GRID (exact) */
    float k_int;         /* Int per code: 2^f * lsb_ua / unit_ua */
    float code_min, code_max;
    float offset;        /* LSB */
    int nonlin;          /* INL or DNL on: codes go through xbar_adc_transfer */
    float inl, dnl;      /* LSB */
    uint64_t seed;
} xbar_adc;

/* Where a layer lives: rows [row0, row0 + rows), columns [col0, col0 + cols). */
typedef struct xbar_place {
    int row0, col0, rows, cols;
} xbar_place;

/* A placed layer and its snapshot. Buffers are (in, outp), outp = out rounded up to 16. */
typedef struct xbar_layer {
    xbar_place at;
    int in, out, outp, programmed;
    int32_t *gd;          /* the weights VMMs use, on the grid: G+ - G- cell by cell, or
                             with line resistance the effective T+ - T- at line_p */
    float *q;             /* G+^2 + G-^2, uS^2 */
    /* With line resistance only (else NULL): */
    int32_t *gcell;       /* (in, outp) G+ - G- cell by cell, on the grid */
    float *gpos, *gneg;   /* (in, out) the cells' conductances, uS */
    float *tpos, *tneg;   /* (in, out) their effective conductances at line_p, uS */
    int line_p;           /* p of gd, tpos and tneg (0: not made yet) */
    double gsum;          /* sum of G+ + G- over the layer's cells, uS */
    int cache_p;          /* p of the caches below (0: none) */
    float cache_sigma;    /* read noise and ADC scale they were made with */
    float cache_k, cache_max, cache_off;
    int cache_noclamp;    /* no group can reach the ADC limits at this p */
    int cache_fexact;     /* every group sum is exact in float (|sums| < 2^24) */
    int32_t *colsum;      /* (G, outp) sum of gd over each group */
    float *sig;           /* (G, outp) noise sigma of a fully driven group, ADC codes */
    int32_t *lut;         /* (ceil(in / 4), 16, outp) 4-row pattern sums (see crossbar.c) */
    float *fpm, *f01;     /* float tables of the AVX-512 path, or NULL (see crossbar.c) */
    uint64_t pending_reads;
} xbar_layer;

typedef struct xbar {
    dev_array pos, neg;
    xbar_params par;
    int nlayers;
    xbar_layer layer[MPCL_MAX_LAYERS];
    uint64_t ops, adds, conversions; /* since creation or xbar_reset_counters */
} xbar;

typedef struct xbar_ops {
    long array_ops, adds, conversions;
} xbar_ops;

void xbar_default_params(xbar_params *p);
int xbar_check_params(const xbar_params *p, char *err, size_t errlen);

/* A chip: the positive array is unit 0 and the negative unit 1 of virtual chip `id`. */
int xbar_create(xbar *x, const dev_params *dp, const xbar_params *xp, uint64_t id, char *err,
                size_t errlen);
void xbar_free(xbar *x);
/* Change the crossbar parameters (read voltage, ADC bits, TIA gain ...). */
int xbar_set_params(xbar *x, const xbar_params *xp, char *err, size_t errlen);
/* Relative read noise of both arrays (0 turns it off). */
int xbar_set_read_noise(xbar *x, float sigma, char *err, size_t errlen);

/* Place nlayers layers of sizes[0] -> sizes[1] -> ... -> sizes[nlayers] with shelf packing
 * (replacing any earlier placement). -1 when a layer is larger than the array or the
 * layers do not fit together. */
int xbar_place_layers(xbar *x, int nlayers, const int *sizes, char *err, size_t errlen);
/* Place layers at given rectangles (rows = in, cols = out of each layer); -1 when one
 * leaves the array or two overlap. */
int xbar_set_placement(xbar *x, int nlayers, const xbar_place *at, char *err, size_t errlen);
/* The rectangle of layer l. */
int xbar_placement(const xbar *x, int l, xbar_place *at, char *err, size_t errlen);

/* Write-verify layer l to the signs wbits: (out, words) packed rows as net.h's wbits, bit i
 * of row j set = weight +1. Both arrays' cells are programmed (positive array first, rows
 * in order), then the layer's snapshot is retaken. rep (may be NULL) sums both arrays;
 * failed (may be NULL, out x in) is 1 where either cell of a weight failed to verify. */
int xbar_program_layer(xbar *x, int l, const uint64_t *wbits, int words,
                       const dev_verify_params *v, dev_program_report *rep, uint8_t *failed,
                       char *err, size_t errlen);
/* Retake every layer's snapshot (applying pending reads and elapsed time). */
int xbar_refresh(xbar *x, char *err, size_t errlen);

/* Read layer l's weights cell pair by cell pair, nreads times each (averaged), with read
 * noise: wpara (out, in) = G+ - G-, uS (Wpara of the fine-tuning). With read noise off it
 * is exactly the snapshot (values on the grid). */
int xbar_read_weights(xbar *x, int l, int nreads, float *wpara, char *err, size_t errlen);
/* Layer l's weights as its rows driven in groups of p see them (the paper's Wpara, read
 * with p rows driven at once): wpara (out, in), uS, T+ - T- where T is a cell's current
 * per volt on its row with the group's other rows at 0 V, line resistance included (equal
 * to G+ - G- without it), nreads reads averaged with read noise. With read noise off it is
 * exactly what xbar_vmm sums at p. */
int xbar_read_weights_p(xbar *x, int l, int p, int nreads, float *wpara, char *err,
                        size_t errlen);
/* The effective conductances T (in, out), uS, of one array (0 positive, 1 negative) of
 * layer l at parallelism p, without noise and without counting reads (the cells' own
 * conductances when there is no line resistance). */
int xbar_effective(xbar *x, int l, int p, int array, float *t, char *err, size_t errlen);
/* Whether the chip has line resistance (any of the wires, access_ohm, driver_ohm > 0). */
int xbar_has_lines(const xbar *x);
/* Fraction of layer l's weights whose sign read back (one read, G+ > G-) equals wbits'. */
int xbar_mapping_accuracy(xbar *x, int l, const uint64_t *wbits, int words, double *acc,
                          char *err, size_t errlen);
/* Sum of G+ + G- over layer l's cells, uS (for the energy of an array read). */
double xbar_layer_gsum(const xbar *x, int l);

/* The quantiser of parallelism p for given parameters and nominal levels. */
int xbar_adc_init(xbar_adc *q, const xbar_params *xp, float g_lrs, float g_hrs, int p,
                  char *err, size_t errlen);
/* The chip's quantiser at parallelism p. */
int xbar_adc_make(const xbar *x, int p, xbar_adc *q, char *err, size_t errlen);

/* ADC then Int. xbar_int_code takes the ADC input in codes (unrounded), xbar_int a group's
 * partial sum s in uS (sum of x_i (G+ - G-) over the driven rows of the group). The chip
 * and the software path both compute the codes of a grid sum S as (float)S * k_grid, which
 * equals xbar_int's (float)S * XBAR_GRID * k_adc bit for bit (scaling by a power of two
 * is exact); noise is added in codes. The Int is the exact product code * k_int rounded. */
/* The converter's code for an input of c codes when INL or DNL is on: the transitions
 * sit at k - 1/2 + e(k) instead of k - 1/2 (see crossbar.c). */
float xbar_adc_transfer(const xbar_adc *q, float c);
static inline float xbar_code_clamped(const xbar_adc *q, float c)
{
    c += q->offset;
    c = c < q->code_min ? q->code_min : c;
    c = c > q->code_max ? q->code_max : c;
    return q->nonlin ? xbar_adc_transfer(q, c) : rintf(c);
}
static inline int32_t xbar_int_code(const xbar_adc *q, float c)
{
    /* the product of two floats is exact in double: Int is the exact product rounded */
    return (int32_t)rint((double)xbar_code_clamped(q, c) * (double)q->k_int);
}
static inline int32_t xbar_int(const xbar_adc *q, float s_us)
{
    return xbar_int_code(q, s_us * q->k_adc);
}
/* The ADC code alone (what a board's converter returns) of a partial sum in uS. */
static inline float xbar_adc_code(const xbar_adc *q, float s_us)
{
    return xbar_code_clamped(q, s_us * q->k_adc);
}

/* VMM of layer l with parallelism p on B input vectors x (B, in) of -1/0/+1: y (B, out)
 * the summed Ints; groups (may be NULL) (B, G, out) each group's Int. Counts operations
 * and reads. */
int xbar_vmm(xbar *x, int l, int p, const int8_t *in, int B, int32_t *y, int32_t *groups,
             char *err, size_t errlen);
/* The same for packed inputs, bits (B, words) rows as net.h's activations: pm1 = 1, a set
 * bit is +1 and a clear bit -1; pm1 = 0, set is 1 and clear 0 (row not driven). */
int xbar_vmm_bits(xbar *x, int l, int p, const uint64_t *bits, int words, int B, int pm1,
                  int32_t *y, int32_t *groups, char *err, size_t errlen);

/* The software path (WL/WR). wpara (out, in) in uS is put on the grid (rounded to
 * XBAR_GRID; |values| <= 2 * DEV_G_MAX), rows are split into groups of p:
 *   xbar_wl:   s (B, G, out) the partial sums WL x, uS, exactly the chip's before noise;
 *   xbar_wlwr: y (B, out) = WR Int(WL x) with q's p, and groups (may be NULL) (B, G, out)
 *              the Ints: with read noise off, xbar_vmm's y and groups bit for bit when
 *              wpara is xbar_read_weights' and q is xbar_adc_make's. */
int xbar_wl(int in, int out, const float *wpara, int p, const int8_t *x, int B, float *s,
            char *err, size_t errlen);
int xbar_wlwr(const xbar_adc *q, int in, int out, const float *wpara, const int8_t *x, int B,
              int32_t *y, int32_t *groups, char *err, size_t errlen);

/* Operation counts per image of a net of nlayers layers (sizes as xbar_place_layers). */
int xbar_count_ops(int nlayers, const int *sizes, int p, int adc_channels, xbar_ops *out,
                   char *err, size_t errlen);
/* Running counts of the VMMs done (per layer pass). */
void xbar_counters(const xbar *x, xbar_ops *out);
void xbar_reset_counters(xbar *x);

#endif
