/* heatmap: a float matrix drawn into a rectangle of cells.
 *
 * The source is a (rows, cols) row-major matrix with leading dimension ld (element (i, j) at
 * data[i * ld + j]), of which a window (row0, col0, nrows, ncols) is shown: zoom and pan
 * move the window. The window is resampled onto a grid of pixels:
 *   colour, UTF-8    2 pixels per cell, one above the other: the cell is '▀' with fg = the
 *                    upper pixel's colour and bg = the lower one's (double vertical
 *                    resolution); '▄' with fg = lower when only the upper is blank;
 *   colour, ASCII    1 pixel per cell, a blank on the pixel's colour;
 *   CANVAS_MONO      1 pixel per cell, the palette's shade character.
 * Resampling, per axis, n source lines onto p pixels:
 *   n >= p  block means: pixel k is the mean of source lines [floor(k n / p), floor((k+1) n / p))
 *           (every pixel gets at least one line, every line goes to exactly one pixel);
 *   n <  p  nearest: pixel k shows line floor((k + 0.5) n / p).
 * A pixel's value comes from the non-NaN values of its block (NaN, drawn blank, when all are
 * NaN), by the source's sampling:
 *   HEATMAP_MEAN     their mean (a block of +-1 weights averages towards grey);
 *   HEATMAP_NEAREST  the block's centre value, NaN or not (texture kept: one pair a pixel);
 *   HEATMAP_SIGN     the sign of the majority: +1, -1, or 0 on a tie;
 *   HEATMAP_MAXABS   the value of largest magnitude, its sign kept.
 * Values map to the palette by t = (v - lo) / (hi - lo).
 *
 * Boundary lines (layer boundaries on the array): for each listed source row r in the window,
 * the first pixel row showing row r is drawn in line_colour (mono: ─, and │ for columns, ┼
 * where they cross); the same for columns. */
#ifndef MPCL_HEATMAP_H
#define MPCL_HEATMAP_H

#include "canvas.h"
#include "palette.h"

typedef enum heatmap_sampling {
    HEATMAP_MEAN, HEATMAP_NEAREST, HEATMAP_SIGN, HEATMAP_MAXABS, HEATMAP_SAMPLINGS
} heatmap_sampling;
/* "mean", "nearest", "sign", "max" (as lab.ui.show's sample= takes them). */
extern const char *const heatmap_sampling_names[HEATMAP_SAMPLINGS];

typedef struct {
    const float *data; /* (rows, cols), leading dimension ld >= cols */
    int rows, cols, ld;
    int row0, col0, nrows, ncols; /* the window shown; clipped to the matrix when drawn */
    float lo, hi;                 /* t = 0 and t = 1; when !(hi > lo): the window's finite
                                     min and max (all values equal: t = 0.5) */
    const int *hlines;            /* source rows that start a region, nhlines of them */
    int nhlines;
    const int *vlines; /* source columns, nvlines of them */
    int nvlines;
    int line_colour; /* colour index of boundary lines */
    heatmap_sampling sample; /* how a downscaled block becomes a pixel (HEATMAP_MEAN) */
} heatmap_src;

/* The whole matrix, automatic range, no boundary lines, line colour 231 (white), block
 * means. */
void heatmap_src_init(heatmap_src *s, const float *data, int rows, int cols, int ld);

/* Zoom by factor (> 1 in, < 1 out) about the window's centre and pan by (drows, dcols) source
 * lines; both keep the window inside the matrix and at least 1 x 1. */
void heatmap_zoom(heatmap_src *s, double factor);
void heatmap_pan(heatmap_src *s, int drows, int dcols);
/* Zoom by factor keeping source point (row, col) where it is in the window (the wheel zooms
 * at the pointer): each axis's new first line is at - (at - first) * new / old, clamped. */
void heatmap_zoom_at(heatmap_src *s, double factor, double row, double col);

/* The value range heatmap_draw uses: lo, hi as set, or the window's finite min and max (0 and
 * 1 when the window has no finite value). */
void heatmap_range(const heatmap_src *s, float *lo, float *hi);

/* The pixels of the window resampled to pw x ph as described above, into out (ph, pw)
 * row-major. Returns 0, or -1 when out of memory, the window is empty or pw, ph < 1. */
int heatmap_resample(const heatmap_src *s, int pw, int ph, float *out);

/* Pixels per cell vertically on canvas c: 2 (colour and UTF-8) or 1. */
int heatmap_pixels_per_cell(const canvas *c);

/* Draws the window into r of c with palette p (NaN pixels blank). Draws nothing when the
 * window or r is empty, or when out of memory. */
void heatmap_draw(canvas *c, rect r, const heatmap_src *s, const palette *p);

#endif
