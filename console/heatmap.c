/* heatmap: resampling a matrix window onto pixels and drawing them. See heatmap.h. */
#include "heatmap.h"

#include <math.h>
#include <stdlib.h>

void heatmap_src_init(heatmap_src *s, const float *data, int rows, int cols, int ld)
{
    *s = (heatmap_src){.data = data, .rows = rows, .cols = cols, .ld = ld,
                       .nrows = rows, .ncols = cols, .line_colour = 231};
}

/* ---- Window arithmetic. --------------------------------------------------------------- */

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The window clipped to the matrix: rows [*r0, *r0 + *nr), cols [*c0, *c0 + *nc). Returns 0
 * when it is empty. */
static int window(const heatmap_src *s, int *r0, int *c0, int *nr, int *nc)
{
    *r0 = clampi(s->row0, 0, s->rows);
    *c0 = clampi(s->col0, 0, s->cols);
    *nr = clampi(s->row0 + s->nrows, 0, s->rows) - *r0;
    *nc = clampi(s->col0 + s->ncols, 0, s->cols) - *c0;
    return s->data && *nr > 0 && *nc > 0;
}

/* One axis of the window: n lines from first, size kept within [1, total]. */
static void axis_zoom(int *first, int *n, int total, double factor)
{
    int size = clampi((int)lround(*n / factor), 1, total > 0 ? total : 1);
    int centre2 = 2 * *first + *n; /* twice the centre, to stay in integers */
    *first = clampi((centre2 - size) / 2, 0, total - size > 0 ? total - size : 0);
    *n = size;
}

void heatmap_zoom(heatmap_src *s, double factor)
{
    if (!(factor > 0)) return;
    axis_zoom(&s->row0, &s->nrows, s->rows, factor);
    axis_zoom(&s->col0, &s->ncols, s->cols, factor);
}

/* One axis zoomed about the source line at, which keeps its place in the window. */
static void axis_zoom_at(int *first, int *n, int total, double factor, double at)
{
    int size = clampi((int)lround(*n / factor), 1, total > 0 ? total : 1);
    double frac = (at - *first) / (*n > 0 ? *n : 1);
    *first = clampi((int)lround(at - frac * size), 0, total - size > 0 ? total - size : 0);
    *n = size;
}

void heatmap_zoom_at(heatmap_src *s, double factor, double row, double col)
{
    if (!(factor > 0)) return;
    axis_zoom_at(&s->row0, &s->nrows, s->rows, factor, row);
    axis_zoom_at(&s->col0, &s->ncols, s->cols, factor, col);
}

void heatmap_pan(heatmap_src *s, int drows, int dcols)
{
    s->row0 = clampi(s->row0 + drows, 0, s->rows - s->nrows > 0 ? s->rows - s->nrows : 0);
    s->col0 = clampi(s->col0 + dcols, 0, s->cols - s->ncols > 0 ? s->cols - s->ncols : 0);
}

/* Folds a row's finite values into per-lane minimums and maximums (lane l takes columns l,
 * l + LANES, ...): elementwise selects rather than a reduction, in whole blocks of LANES, so
 * that GCC vectorises the loop even at -O2. NaN and inf fail the test v - v == 0. */
#define LANES 8
static void row_minmax(const float *restrict row, int n, float *restrict mn, float *restrict mx)
{
    int j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int l = 0; l < LANES; l++) {
            float v = row[j + l];
            float a = v - v == 0.0f ? v : INFINITY, b = v - v == 0.0f ? v : -INFINITY;
            mn[l] = a < mn[l] ? a : mn[l];
            mx[l] = b > mx[l] ? b : mx[l];
        }
    for (; j < n; j++)
        if (isfinite(row[j])) {
            if (row[j] < mn[0]) mn[0] = row[j];
            if (row[j] > mx[0]) mx[0] = row[j];
        }
}

void heatmap_range(const heatmap_src *s, float *lo, float *hi)
{
    if (s->hi > s->lo) {
        *lo = s->lo;
        *hi = s->hi;
        return;
    }
    float mn[LANES], mx[LANES];
    for (int l = 0; l < LANES; l++) mn[l] = INFINITY, mx[l] = -INFINITY;
    int r0, c0, nr, nc;
    if (window(s, &r0, &c0, &nr, &nc))
        for (int i = r0; i < r0 + nr; i++)
            row_minmax(s->data + (size_t)i * s->ld + c0, nc, mn, mx);
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int l = 0; l < LANES; l++) {
        if (mn[l] < *lo) *lo = mn[l];
        if (mx[l] > *hi) *hi = mx[l];
    }
    if (*lo > *hi) *lo = 0, *hi = 1; /* nothing finite */
}

/* ---- Resampling. ---------------------------------------------------------------------- */

/* Source lines [start[k], end[k]) of pixel k, n lines onto p pixels (see heatmap.h). */
static void bins(int n, int p, int *start, int *end)
{
    for (int k = 0; k < p; k++) {
        if (n >= p) {
            start[k] = (int)((long long)k * n / p);
            end[k] = (int)((long long)(k + 1) * n / p);
        } else {
            start[k] = (int)(((long long)2 * k + 1) * n / (2LL * p));
            end[k] = start[k] + 1;
        }
    }
}

/* The resampling plan: bins per axis and scratch rows. */
typedef struct {
    int pw, ph, nc;
    int *rs, *re, *cs, *ce; /* row bins (ph), column bins (pw) */
    float *sum, *cnt;       /* (nc) one pixel row's column sums and counts of non-NaN values */
} plan;

static void plan_free(plan *g)
{
    free(g->rs);
    free(g->cs);
    free(g->sum);
}

static int plan_make(plan *g, int nr, int nc, int pw, int ph)
{
    g->pw = pw;
    g->ph = ph;
    g->nc = nc;
    g->rs = malloc(2 * (size_t)ph * sizeof *g->rs);
    g->cs = malloc(2 * (size_t)pw * sizeof *g->cs);
    g->sum = malloc(2 * (size_t)nc * sizeof *g->sum);
    if (!g->rs || !g->cs || !g->sum) {
        plan_free(g);
        return -1;
    }
    g->re = g->rs + ph;
    g->ce = g->cs + pw;
    g->cnt = g->sum + nc;
    bins(nr, ph, g->rs, g->re);
    bins(nc, pw, g->cs, g->ce);
    return 0;
}

/* Adds values into column sums and counts, NaN left out: the loop that reads every value of
 * the window once, so it is written for the vectoriser: float selects, no branches, and a
 * fixed count of 8 (GCC -O2 vectorises only loops it needs no scalar tail for). */
static void add8(const float *restrict v, float *restrict sum, float *restrict cnt)
{
    for (int l = 0; l < 8; l++) {
        float keep = isnan(v[l]) ? 0.0f : 1.0f;
        sum[l] += isnan(v[l]) ? 0.0f : v[l];
        cnt[l] += keep;
    }
}

static void add_row(const float *restrict row, int n, float *restrict sum, float *restrict cnt)
{
    int j = 0;
    for (; j + 8 <= n; j += 8) add8(row + j, sum + j, cnt + j);
    for (; j < n; j++) {
        float keep = isnan(row[j]) ? 0.0f : 1.0f;
        sum[j] += isnan(row[j]) ? 0.0f : row[j];
        cnt[j] += keep;
    }
}

const char *const heatmap_sampling_names[HEATMAP_SAMPLINGS] = {"mean", "nearest", "sign",
                                                                "max"};

/* One pixel from its block [rs, re) x [cs, ce) of the window at (r0, c0), by sign majority
 * or largest magnitude (the block's every value read), or its centre value. */
static float block_pick(const heatmap_src *s, int r0, int c0, int rs, int re, int cs, int ce)
{
    if (s->sample == HEATMAP_NEAREST)
        return s->data[(size_t)(r0 + (rs + re - 1) / 2) * s->ld + c0 + (cs + ce - 1) / 2];
    int pos = 0, neg = 0;
    float best = NAN;
    for (int i = rs; i < re; i++) {
        const float *row = s->data + (size_t)(r0 + i) * s->ld + c0;
        for (int j = cs; j < ce; j++) {
            float v = row[j];
            pos += v > 0;
            neg += v < 0;
            if (!isnan(v) && (isnan(best) || fabsf(v) > fabsf(best)))
                best = v;
        }
    }
    if (s->sample == HEATMAP_MAXABS || isnan(best))
        return best;
    return pos > neg ? 1.0f : neg > pos ? -1.0f : 0.0f;
}

/* Block means: the rows of each pixel row's bin are summed column by column, then each pixel
 * column's bin of those sums. Each source row is read once when downscaling (by the pixel
 * rows that show it when upscaling). Other samplings pick each pixel from its block. */
static void resample(const heatmap_src *s, const plan *g, int r0, int c0, float *out)
{
    if (s->sample != HEATMAP_MEAN) {
        for (int py = 0; py < g->ph; py++)
            for (int k = 0; k < g->pw; k++)
                out[(size_t)py * g->pw + k] =
                    block_pick(s, r0, c0, g->rs[py], g->re[py], g->cs[k], g->ce[k]);
        return;
    }
    for (int py = 0; py < g->ph; py++) {
        for (int j = 0; j < g->nc; j++) g->sum[j] = 0, g->cnt[j] = 0;
        for (int i = g->rs[py]; i < g->re[py]; i++)
            add_row(s->data + (size_t)(r0 + i) * s->ld + c0, g->nc, g->sum, g->cnt);
        float *o = out + (size_t)py * g->pw;
        for (int k = 0; k < g->pw; k++) {
            double sum = 0, n = 0;
            for (int j = g->cs[k]; j < g->ce[k]; j++) sum += g->sum[j], n += g->cnt[j];
            o[k] = n > 0 ? (float)(sum / n) : NAN;
        }
    }
}

int heatmap_resample(const heatmap_src *s, int pw, int ph, float *out)
{
    int r0, c0, nr, nc;
    plan g;
    if (pw < 1 || ph < 1 || !window(s, &r0, &c0, &nr, &nc) || plan_make(&g, nr, nc, pw, ph))
        return -1;
    resample(s, &g, r0, c0, out);
    plan_free(&g);
    return 0;
}

/* ---- Drawing. ------------------------------------------------------------------------- */

/* Marks in mark[p] the first pixel showing each listed source line inside [first, first+n). */
static void mark_lines(const int *lines, int nlines, int first, int n, const int *end, int p,
                       unsigned char *mark)
{
    for (int i = 0; i < p; i++) mark[i] = 0;
    for (int l = 0; lines && l < nlines; l++) {
        int rel = lines[l] - first;
        if (rel < 0 || rel >= n) continue;
        int k = 0;
        while (k < p - 1 && end[k] <= rel) k++;
        mark[k] = 1;
    }
}

/* What a pixel shows: t in [0, 1], NaN for blank, or LINE for a boundary line. */
#define LINE 2.0f

static float pixel_t(float v, float lo, float scale, int line)
{
    if (line) return LINE;
    if (v != v) return NAN;
    return scale > 0 ? (v - lo) * scale : 0.5f;
}

/* The colour of a pixel value (t, LINE or NaN = -2, no colour). */
static int pixel_colour(const palette *p, canvas_colours m, float t, int line_colour)
{
    if (t == LINE) return line_colour;
    return t != t ? -2 : palette_colour(p, m, t);
}

/* Half-block cells: the upper pixel as fg of '▀', the lower as bg. */
static void draw_half(canvas *c, int x, int y, int up, int low)
{
    if (up == -2 && low == -2) canvas_put(c, x, y, L' ', STYLE_NORMAL);
    else if (up == -2) canvas_put(c, x, y, L'\x2584', STYLE(low, -1, 0));
    else canvas_put(c, x, y, L'\x2580', STYLE(up, low == -2 ? -1 : low, 0));
}

/* Monochrome cells: the shade, or the boundary glyph. */
static void draw_mono(canvas *c, int x, int y, const palette *p, float t, int hline, int vline)
{
    int u = canvas_glyph_mode(c) == CANVAS_UTF8;
    wchar_t ch = hline && vline ? (u ? L'\x253c' : L'+') : hline ? (u ? L'\x2500' : L'-')
               : vline ? (u ? L'\x2502' : L'|') : palette_shade(p, canvas_glyph_mode(c), t);
    canvas_put(c, x, y, ch, STYLE_NORMAL);
}

static void draw_cells(canvas *c, rect r, const heatmap_src *s, const palette *p,
                       const float *pix, const unsigned char *hl, const unsigned char *vl,
                       int per_cell)
{
    canvas_colours m = canvas_colour_mode(c);
    float lo, hi;
    heatmap_range(s, &lo, &hi);
    float scale = hi > lo ? 1.0f / (hi - lo) : 0;
    for (int cy = 0; cy < r.h; cy++) {
        const float *up = pix + (size_t)cy * per_cell * r.w;
        for (int cx = 0; cx < r.w; cx++) {
            int yu = cy * per_cell;
            float tu = pixel_t(up[cx], lo, scale, hl[yu] || vl[cx]);
            if (m == CANVAS_MONO) {
                draw_mono(c, r.x + cx, r.y + cy, p, tu == LINE ? NAN : tu, hl[yu], vl[cx]);
                continue;
            }
            int cu = pixel_colour(p, m, tu, s->line_colour);
            if (per_cell == 1) {
                canvas_put(c, r.x + cx, r.y + cy, L' ', STYLE(-1, cu == -2 ? -1 : cu, 0));
                continue;
            }
            float tl = pixel_t(up[r.w + cx], lo, scale, hl[yu + 1] || vl[cx]);
            draw_half(c, r.x + cx, r.y + cy, cu, pixel_colour(p, m, tl, s->line_colour));
        }
    }
}

int heatmap_pixels_per_cell(const canvas *c)
{
    return canvas_colour_mode(c) != CANVAS_MONO && canvas_glyph_mode(c) == CANVAS_UTF8 ? 2 : 1;
}

void heatmap_draw(canvas *c, rect r, const heatmap_src *s, const palette *p)
{
    int r0, c0, nr, nc, per_cell = heatmap_pixels_per_cell(c);
    int pw = r.w, ph = r.h * per_cell;
    plan g;
    if (pw < 1 || ph < 1 || !window(s, &r0, &c0, &nr, &nc) || plan_make(&g, nr, nc, pw, ph))
        return;
    float *pix = malloc((size_t)pw * ph * sizeof *pix);
    unsigned char *hl = malloc((size_t)ph), *vl = malloc((size_t)pw);
    if (pix && hl && vl) {
        resample(s, &g, r0, c0, pix);
        mark_lines(s->hlines, s->nhlines, r0, nr, g.re, ph, hl);
        mark_lines(s->vlines, s->nvlines, c0, nc, g.ce, pw, vl);
        draw_cells(c, r, s, p, pix, hl, vl, per_cell);
    }
    free(pix);
    free(hl);
    free(vl);
    plan_free(&g);
}
