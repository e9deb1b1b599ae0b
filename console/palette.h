/* palette: colour ramps that map a value t in [0, 1] to a colour, for each colour mode.
 *
 *   palette_sequential  conductances, magnitudes: dark purple -> blue -> teal -> green ->
 *                       yellow (viridis-like, 12 xterm colours of rising luminance)
 *   palette_diverging   signed weights: blue (t = 0) -> grey (t = 0.5) -> red (t = 1),
 *                       symmetric (each red level is its blue level with r and b swapped)
 *   palette_counts      counts, confusion matrices: white (t = 0) -> dark blue (t = 1),
 *                       13 colours of falling luminance
 *
 * Each palette has three forms, chosen by the canvas's modes:
 *   CANVAS_256   the xterm colour indices above;
 *   CANVAS_8     a few ANSI colours, with bold and dim for more levels in text and full cells
 *                (half-block heat maps use the colours only);
 *   CANVAS_MONO  shade characters: ' ░▒▓█' (ASCII ' .:*#') for sequential and counts, and
 *                '=-·+#' (ASCII '=-.+#') for diverging: '=' '-' negative, '·' near zero,
 *                '+' '#' positive, so the sign survives without colour.
 * t is clamped to [0, 1] and cut into n equal levels (t = 1 is the last); NaN is "no value"
 * (no colour, a blank). The palettes are constant data: share them freely. */
#ifndef MPCL_PALETTE_H
#define MPCL_PALETTE_H

#include "canvas.h"

typedef struct {
    int8_t colour; /* ANSI colour 0..7 */
    uint8_t attr;  /* CANVAS_BOLD, CANVAS_DIM or 0 */
} palette_ansi;

typedef struct {
    const char *name;
    const int16_t *c256; /* xterm indices from t = 0 to t = 1 */
    int n256;
    const palette_ansi *c8;
    int n8;
    const wchar_t *shades_utf8; /* monochrome levels, same count as shades_ascii */
    const char *shades_ascii;
    int nshades;
} palette;

extern const palette palette_sequential;
extern const palette palette_diverging;
extern const palette palette_counts;

/* "sequential" (or "viridis"), "diverging", "counts"; NULL for any other name. */
const palette *palette_by_name(const char *name);

/* The level of t among n levels: floor(t * n) clamped to 0 .. n-1; -1 for NaN. */
int palette_level(int n, double t);
/* The colour index of t in mode m: an xterm index (CANVAS_256), an ANSI colour (CANVAS_8),
 * -1 in CANVAS_MONO or for NaN. */
int palette_colour(const palette *p, canvas_colours m, double t);
/* A text style whose foreground shows t (CANVAS_8 adds bold or dim; CANVAS_MONO: bold for
 * the upper third, dim for the lower third); STYLE_NORMAL for NaN. */
canvas_style palette_style(const palette *p, canvas_colours m, double t);
/* A style with background t and a readable foreground (black or white by the background's
 * luminance): for numbers written on a coloured cell (confusion matrices). CANVAS_MONO:
 * reverse video for t >= 0.5. STYLE_NORMAL for NaN. */
canvas_style palette_bg_style(const palette *p, canvas_colours m, double t);
/* The monochrome shade of t (a blank for NaN). */
wchar_t palette_shade(const palette *p, canvas_glyphs g, double t);
/* The full cell that shows t on canvas c: a blank on the colour (CANVAS_256; CANVAS_8 in
 * ASCII), '█' in the colour with its bold/dim (CANVAS_8 in UTF-8), the shade (CANVAS_MONO);
 * a blank in STYLE_NORMAL for NaN. */
void palette_cell(const palette *p, const canvas *c, double t, wchar_t *ch, canvas_style *st);
/* Fills r with the cell of t. */
void palette_fill(canvas *c, rect r, const palette *p, double t);

/* The RGB of xterm colour i (0..255; the xterm defaults for 0..15) in rgb[0..2], 0..255. */
void palette_rgb(int i, int rgb[3]);
/* Its relative luminance, 0..255 (0.2126 R + 0.7152 G + 0.0722 B). */
double palette_luminance(int i);

/* A colour scale in r mapping lo .. hi with units (NULL or "" for none), e.g. lo = 0,
 * hi = 40, units = "uS". r.h == 1: "0 uS ████████ 40 uS" (the strip gets what the labels
 * leave, at least 1 cell, else the labels are dropped). r.h >= 2: the strip on the first row,
 * "0 uS" under its left end, "40 uS" under its right end, and the middle value centred when
 * it fits. Numbers are printed with %.3g. */
void palette_legend(canvas *c, rect r, const palette *p, double lo, double hi,
                    const char *units);

#endif
