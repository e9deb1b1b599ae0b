/* plot: line plots on a braille dot canvas, and bar charts with eighth blocks.
 *
 * Braille: each cell is 2 x 4 dots, the character U+2800 + bits where dot (dx, dy) of the
 * cell (dx 0..1 left to right, dy 0..3 top to bottom) is bit
 *        dx=0  dx=1
 *   dy=0 0x01  0x08
 *   dy=1 0x02  0x10
 *   dy=2 0x04  0x20
 *   dy=3 0x40  0x80
 * A cell takes the colour of the last series that set a dot in it. In ASCII mode a cell with
 * dots is drawn at cell resolution: '\'' (dots only in the upper half), '.' (only in the
 * lower half) or '*' (both).
 *
 * A panel draws a line plot with plot_axes_auto + plot_draw (series of floats, as the engine
 * keeps them), a histogram with plot_histogram, plain bars with plot_bars. */
#ifndef MPCL_PLOT_H
#define MPCL_PLOT_H

#include "canvas.h"

/* ---- The braille dot canvas. ---------------------------------------------------------- */

typedef struct {
    int w, h;             /* in cells; (2w) x (4h) dots, dot (0, 0) top left */
    unsigned char *bits;  /* (h, w) dot bits per cell */
    short *colour;        /* (h, w) colour of the cell */
} braille;

/* A blank w x h cell dot canvas. Returns 0, or -1 when out of memory (b is then empty). */
int braille_init(braille *b, int w, int h);
void braille_free(braille *b);
void braille_clear(braille *b);
/* Sets dot (x, y) (clipped) and gives its cell the colour. */
void braille_dot(braille *b, int x, int y, int colour);
/* A line of dots from (x0, y0) to (x1, y1), ends included (Bresenham, clipped). */
void braille_line(braille *b, int x0, int y0, int x1, int y1, int colour);
/* The braille character of a cell's bits (U+2800 + bits). */
wchar_t braille_char(unsigned bits);
/* Draws the cells with dots at (x, y) of c; cells without dots are left untouched. */
void braille_draw(const braille *b, canvas *c, int x, int y);

/* ---- Line plots. ---------------------------------------------------------------------- */

typedef struct {
    const float *x;    /* n x values, or NULL for 0, 1, ..., n-1 */
    const float *y;    /* n y values; a NaN or inf breaks the line */
    int n;
    int colour;        /* colour index of the series */
    const char *label; /* its name in the legend, NULL for none */
} plot_series;

typedef struct {
    double xmin, xmax, ymin, ymax; /* the ranges drawn (max <= min: widened by 1 each way) */
    int xticks, yticks;            /* most ticks per axis; 0: from the size (about one per 8
                                      columns and one per 3 rows) */
    const char *xlabel, *ylabel;   /* axis names, NULL for none */
    canvas_style axis;             /* axes, ticks and labels */
} plot_axes;

/* Axes for the series: ranges from plot_auto_range (y with at most 5 ticks), ticks from the
 * size, no labels, axis style STYLE_NORMAL. Set any field afterwards (ymin = 0, ylabel). */
void plot_axes_auto(plot_axes *a, const plot_series *s, int ns);

/* Tick values for [lo, hi]: multiples of a step of 1, 2 or 5 x 10^k chosen so that there are
 * at most max ticks inside the range (max >= 2). Writes up to max of them to ticks and returns
 * how many; *step gets the step. */
int plot_ticks(double lo, double hi, int max, double *ticks, double *step);

/* The automatic range of the series' x (axis 0) or y (axis 1) values: their finite min and
 * max (a single value v: v +- 1, or v +- |v|/10), for y widened outwards to whole tick steps
 * of at most max ticks so that both ends carry a tick. Returns 0, or -1 when there is no
 * finite value (lo, hi = 0, 1). */
int plot_auto_range(const plot_series *s, int ns, int axis, int max, double *lo, double *hi);

/* The series as braille lines in r with the axes a:
 *   row 0 (when r.h >= 5 and there is a y label or a series label): the y label at the left,
 *     the legend ("─ name" in each labelled series' colour) at the right, entries that do
 *     not fit left out;
 *   then the plot with the y tick labels right-aligned at its left, the y axis (│, ┤ at
 *     ticks), the x axis under it (─, ┬ at ticks, └ at the corner) and the x tick labels
 *     centred under their ticks (a label that would touch its neighbour or the x label is
 *     left out), the x label right-aligned on that last row.
 * With fewer than 3 rows or 8 columns only the dots are drawn. */
void plot_draw(canvas *c, rect r, const plot_series *s, int ns, const plot_axes *a);

/* ---- Bars. ---------------------------------------------------------------------------- */

/* Vertical bars in r, one per value, bottom-aligned: a value v is v / vmax of the height
 * (vmax <= 0 or NaN: the largest value), the top cell an eighth block (▁▂▃▄▅▆▇, rounded to
 * the nearest eighth; ASCII: '#' rounded to the nearest cell). The values are spread over
 * r.w columns: n <= r.w gives each value r.w / n columns (the remainder to the first ones);
 * n > r.w sums consecutive values into r.w columns (a histogram's counts stay counts).
 * Negative and NaN values draw nothing. */
void plot_bars(canvas *c, rect r, const double *v, int n, double vmax, canvas_style st);

/* Histograms of several count series over the same nbins bins spanning [lo, hi] (units
 * e.g. "uS"), in r: the bars as plot_bars (all series on one scale, the largest count the
 * full height; where series share a column the shorter bar is drawn over the taller, its
 * top cell's background in the taller one's colour); the
 * last row "lo units" at the left, the middle value centred, "hi units" at the right; when
 * r.h >= 4 and a series has a label, the first row holds the legend and the largest count. */
#define PLOT_MAX_HIST 16 /* series per histogram; more are left out */

typedef struct {
    const double *counts; /* nbins counts */
    int colour;
    const char *label; /* NULL for none */
} plot_hist;

void plot_histogram(canvas *c, rect r, const plot_hist *h, int nh, int nbins, double lo,
                    double hi, const char *units);

/* Counts of the n values x falling in nbins equal bins over [lo, hi) (hi itself goes into the
 * last bin; values outside and NaN are not counted) into counts[nbins]; returns how many
 * were counted. */
int plot_bin(const double *x, int n, double lo, double hi, int nbins, double *counts);

#endif
