/* plot: braille dots, line plots with axes, bars. See plot.h. */
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Braille. ------------------------------------------------------------------------- */

int braille_init(braille *b, int w, int h)
{
    size_t n = w > 0 && h > 0 ? (size_t)w * h : 0;
    b->bits = calloc(n ? n : 1, 1);
    b->colour = calloc(n ? n : 1, sizeof *b->colour);
    if (!b->bits || !b->colour) {
        braille_free(b);
        return -1;
    }
    b->w = n ? w : 0;
    b->h = n ? h : 0;
    return 0;
}

void braille_free(braille *b)
{
    free(b->bits);
    free(b->colour);
    *b = (braille){0, 0, NULL, NULL};
}

void braille_clear(braille *b)
{
    memset(b->bits, 0, (size_t)b->w * b->h);
}

void braille_dot(braille *b, int x, int y, int colour)
{
    static const unsigned char bit[4][2] = {{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20},
                                            {0x40, 0x80}};
    if (x < 0 || y < 0 || x >= 2 * b->w || y >= 4 * b->h) return;
    size_t i = (size_t)(y / 4) * b->w + x / 2;
    b->bits[i] |= bit[y % 4][x % 2];
    b->colour[i] = (short)colour;
}

void braille_line(braille *b, int x0, int y0, int x1, int y1, int colour)
{
    int dx = abs(x1 - x0), dy = -abs(y1 - y0);
    int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
    for (;;) {
        braille_dot(b, x0, y0, colour);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * err;
        if (e2 >= dy) err += dy, x0 += sx;
        if (e2 <= dx) err += dx, y0 += sy;
    }
}

wchar_t braille_char(unsigned bits)
{
    return (wchar_t)(0x2800 + (bits & 0xff));
}

/* ASCII at cell resolution: which halves of the cell have dots. */
static wchar_t ascii_dots(unsigned bits)
{
    int upper = bits & 0x1b, lower = bits & 0xe4; /* rows 0-1 / rows 2-3 */
    return upper && lower ? L'*' : upper ? L'\'' : L'.';
}

void braille_draw(const braille *b, canvas *c, int x, int y)
{
    int u = canvas_glyph_mode(c) == CANVAS_UTF8;
    for (int cy = 0; cy < b->h; cy++)
        for (int cx = 0; cx < b->w; cx++) {
            size_t i = (size_t)cy * b->w + cx;
            if (!b->bits[i]) continue;
            wchar_t ch = u ? braille_char(b->bits[i]) : ascii_dots(b->bits[i]);
            canvas_put(c, x + cx, y + cy, ch, STYLE(b->colour[i], -1, 0));
        }
}

/* ---- Ranges and ticks. ---------------------------------------------------------------- */

/* The smallest step of 1, 2 or 5 x 10^k giving at most max ticks in a range of span. */
static double nice_step(double span, int max)
{
    double raw = span / (max > 1 ? max - 1 : 1);
    double p = pow(10, floor(log10(raw)));
    static const double m[] = {1, 2, 5, 10};
    for (int i = 0; i < 4; i++)
        if (m[i] * p >= raw * (1 - 1e-9)) return m[i] * p;
    return 10 * p;
}

int plot_ticks(double lo, double hi, int max, double *ticks, double *step)
{
    if (max < 2) max = 2;
    if (!(hi > lo) || !isfinite(lo) || !isfinite(hi)) {
        *step = 0;
        return 0;
    }
    double st = nice_step(hi - lo, max), eps = st * 1e-9;
    int n = 0;
    for (double k = ceil((lo - eps) / st); k * st <= hi + eps && n < max; k++) {
        double v = k * st;
        ticks[n++] = fabs(v) < eps ? 0 : v; /* no "-0" */
    }
    *step = st;
    return n;
}

/* The finite min and max of one coordinate of the series; 0 when there is none. */
static int data_range(const plot_series *s, int ns, int axis, double *lo, double *hi)
{
    double mn = INFINITY, mx = -INFINITY;
    for (int k = 0; k < ns; k++)
        for (int i = 0; i < s[k].n; i++) {
            double v = axis == 0 ? (s[k].x ? s[k].x[i] : i) : s[k].y[i];
            if (!isfinite(v)) continue;
            if (v < mn) mn = v;
            if (v > mx) mx = v;
        }
    *lo = mn;
    *hi = mx;
    return mn <= mx;
}

int plot_auto_range(const plot_series *s, int ns, int axis, int max, double *lo, double *hi)
{
    if (!data_range(s, ns, axis, lo, hi)) {
        *lo = 0;
        *hi = 1;
        return -1;
    }
    if (*hi == *lo) {
        double d = *lo == 0 ? 1 : fabs(*lo) / 10;
        *lo -= d;
        *hi += d;
    }
    if (axis == 0) return 0; /* x: the data's extent (epochs, steps), no empty margin */
    /* y: widened outwards to whole steps, so that the axis ends carry ticks. */
    double st = nice_step(*hi - *lo, max < 2 ? 2 : max);
    /* (float data: 0.4f is 0.40000001, which must not round up to the next step) */
    double qlo = *lo / st, qhi = *hi / st;
    *lo = floor(qlo + 1e-6 * fmax(1, fabs(qlo))) * st;
    *hi = ceil(qhi - 1e-6 * fmax(1, fabs(qhi))) * st;
    return 0;
}

/* ---- Line plots. ---------------------------------------------------------------------- */

void plot_axes_auto(plot_axes *a, const plot_series *s, int ns)
{
    *a = (plot_axes){.axis = STYLE_NORMAL};
    plot_auto_range(s, ns, 0, 5, &a->xmin, &a->xmax);
    plot_auto_range(s, ns, 1, 5, &a->ymin, &a->ymax);
}

/* A tick label: as many decimals as the step needs. */
static void tick_label(char *buf, size_t n, double v, double step)
{
    int dec = step > 0 && step < 1 ? (int)ceil(-log10(step) - 1e-9) : 0;
    if (fabs(v) >= 1e5 || (v != 0 && fabs(v) < 1e-4)) snprintf(buf, n, "%.2g", v);
    else snprintf(buf, n, "%.*f", dec > 6 ? 6 : dec, v);
}

/* Dot coordinate of value v on an axis of n dots spanning [lo, hi] (may lie outside). */
static double to_dot(double v, double lo, double hi, int n)
{
    return (v - lo) / (hi - lo) * (n - 1);
}

/* Clips the segment to [0, w-1] x [0, h-1] (Liang-Barsky); 0 when nothing is left. */
static int clip_segment(double *x0, double *y0, double *x1, double *y1, double w, double h)
{
    double t0 = 0, t1 = 1, dx = *x1 - *x0, dy = *y1 - *y0;
    double p[4] = {-dx, dx, -dy, dy}, q[4] = {*x0, w - 1 - *x0, *y0, h - 1 - *y0};
    for (int i = 0; i < 4; i++) {
        if (p[i] == 0) {
            if (q[i] < 0) return 0;
            continue;
        }
        double t = q[i] / p[i];
        if (p[i] < 0 && t > t0) t0 = t;
        if (p[i] > 0 && t < t1) t1 = t;
    }
    if (t0 > t1) return 0;
    *x1 = *x0 + t1 * dx, *y1 = *y0 + t1 * dy;
    *x0 += t0 * dx, *y0 += t0 * dy;
    return 1;
}

/* The ranges drawn: the axes' own, a degenerate one widened by 1 each way. */
typedef struct {
    double x0, x1, y0, y1;
} ranges;

static ranges drawn_ranges(const plot_axes *a)
{
    ranges g = {a->xmin, a->xmax, a->ymin, a->ymax};
    if (!(g.x1 > g.x0)) g.x0 -= 1, g.x1 = g.x0 + 2;
    if (!(g.y1 > g.y0)) g.y0 -= 1, g.y1 = g.y0 + 2;
    return g;
}

static void series_dots(braille *b, const plot_series *s, ranges g)
{
    int w = 2 * b->w, h = 4 * b->h, have = 0;
    double px = 0, py = 0;
    for (int i = 0; i < s->n; i++) {
        double xv = s->x ? s->x[i] : i, yv = s->y[i];
        if (!isfinite(xv) || !isfinite(yv)) {
            have = 0;
            continue;
        }
        double x = to_dot(xv, g.x0, g.x1, w);
        double y = (h - 1) - to_dot(yv, g.y0, g.y1, h); /* dot rows grow downwards */
        double x0 = have ? px : x, y0 = have ? py : y, x1 = x, y1 = y;
        if (clip_segment(&x0, &y0, &x1, &y1, w, h))
            braille_line(b, (int)lround(x0), (int)lround(y0), (int)lround(x1), (int)lround(y1),
                         s->colour);
        px = x, py = y, have = 1;
    }
}

static void dots_in(canvas *c, rect area, const plot_series *s, int ns, ranges g)
{
    braille b;
    if (area.w < 1 || area.h < 1 || braille_init(&b, area.w, area.h)) return;
    for (int k = 0; k < ns; k++) series_dots(&b, &s[k], g);
    braille_draw(&b, c, area.x, area.y);
    braille_free(&b);
}

static int clamp_ticks(int t, int fallback)
{
    if (t <= 0) t = fallback;
    return t < 2 ? 2 : t > 32 ? 32 : t;
}

/* The widest y tick label. */
static int y_label_width(canvas *c, ranges g, int yt)
{
    double ticks[32], step;
    int n = plot_ticks(g.y0, g.y1, yt, ticks, &step), w = 1;
    for (int i = 0; i < n; i++) {
        char buf[32];
        tick_label(buf, sizeof buf, ticks[i], step);
        int k = canvas_text_width(c, buf);
        if (k > w) w = k;
    }
    return w;
}

/* The y axis in column r.x + lw and its tick labels right-aligned in the lw columns before. */
static void draw_y_axis(canvas *c, rect r, int lw, ranges g, int yt, canvas_style st)
{
    int u = canvas_glyph_mode(c) == CANVAS_UTF8;
    double ticks[32], step;
    int n = plot_ticks(g.y0, g.y1, yt, ticks, &step);
    canvas_vline(c, r.x + lw, r.y, r.h, st);
    for (int i = 0; i < n; i++) {
        int row = r.y + (r.h - 1) - (int)lround(to_dot(ticks[i], g.y0, g.y1, r.h));
        char buf[32];
        tick_label(buf, sizeof buf, ticks[i], step);
        canvas_text_right(c, r.x, row, lw, buf, st);
        canvas_put(c, r.x + lw, row, u ? L'\x2524' : L'+', st);
    }
}

/* The x axis on row y over columns x0 .. x0+pw-1, its tick labels on row y + 1 left of
 * column label_end (where the x label starts). */
static void draw_x_axis(canvas *c, int x0, int y, int pw, ranges g, int xt, int label_end,
                        canvas_style st)
{
    int u = canvas_glyph_mode(c) == CANVAS_UTF8;
    double ticks[32], step;
    int n = plot_ticks(g.x0, g.x1, xt, ticks, &step), next_free = x0 - 1;
    canvas_hline(c, x0, y, pw, st);
    canvas_put(c, x0 - 1, y, u ? L'\x2514' : L'+', st);
    for (int i = 0; i < n; i++) {
        int col = x0 + (int)lround(to_dot(ticks[i], g.x0, g.x1, pw));
        canvas_put(c, col, y, u ? L'\x252c' : L'+', st);
        char buf[32];
        tick_label(buf, sizeof buf, ticks[i], step);
        int w = canvas_text_width(c, buf), lx = col - w / 2;
        if (lx < x0 - 1) lx = x0 - 1;
        if (lx + w > x0 + pw) lx = x0 + pw - w;
        if (lx <= next_free || lx + w >= label_end) continue; /* would touch a neighbour */
        canvas_text(c, lx, y + 1, w, buf, st);
        next_free = lx + w;
    }
}

/* The legend right-aligned in row y of r: "─ name" per labelled series, two blanks apart,
 * the entries that do not fit after `used` columns left out from the end. */
static void draw_legend(canvas *c, rect r, int y, int used, const plot_series *s, int ns)
{
    const char *mark = canvas_glyph_mode(c) == CANVAS_UTF8 ? "\xe2\x94\x80 " : "- ";
    int total = 0, last = -1;
    for (int k = 0; k < ns; k++) {
        if (!s[k].label) continue;
        int w = 2 + canvas_text_width(c, s[k].label) + (total ? 2 : 0);
        if (used + 1 + total + w > r.w) break;
        total += w;
        last = k;
    }
    int x = r.x + r.w - total;
    for (int k = 0; k <= last; k++) {
        if (!s[k].label) continue;
        if (x > r.x + r.w - total) x += 2;
        canvas_style st = STYLE(s[k].colour, -1, 0);
        x += canvas_text(c, x, y, 2, mark, st);
        x += canvas_text(c, x, y, r.w, s[k].label, st);
    }
}

static int has_labels(const plot_series *s, int ns)
{
    for (int k = 0; k < ns; k++)
        if (s[k].label) return 1;
    return 0;
}

void plot_draw(canvas *c, rect r, const plot_series *s, int ns, const plot_axes *a)
{
    if (r.w < 1 || r.h < 1) return;
    ranges g = drawn_ranges(a);
    if (r.h >= 5 && (a->ylabel || has_labels(s, ns))) {
        int used = a->ylabel ? canvas_text(c, r.x, r.y, r.w, a->ylabel, a->axis) : 0;
        draw_legend(c, r, r.y, used, s, ns);
        r.y++, r.h--;
    }
    int yt = clamp_ticks(a->yticks, (r.h - 2) / 3 + 1);
    int lw = y_label_width(c, g, yt), ph = r.h - 2, pw = r.w - lw - 1;
    if (r.h < 3 || r.w < 8 || pw < 2) {
        dots_in(c, r, s, ns, g);
        return;
    }
    int xt = clamp_ticks(a->xticks, pw / 8 + 1), bottom = r.y + r.h - 1;
    int xl = a->xlabel ? canvas_text_width(c, a->xlabel) : 0;
    int label_end = xl && xl < pw ? r.x + r.w - xl - 1 : r.x + r.w + 1;
    if (xl && xl < pw) canvas_text(c, label_end + 1, bottom, xl, a->xlabel, a->axis);
    draw_y_axis(c, RECT(r.x, r.y, r.w, ph), lw, g, yt, a->axis);
    draw_x_axis(c, r.x + lw + 1, r.y + ph, pw, g, xt, label_end, a->axis);
    dots_in(c, RECT(r.x + lw + 1, r.y, pw, ph), s, ns, g);
}

/* ---- Bars. ---------------------------------------------------------------------------- */

/* One bar of height frac of h cells in column x, bottom at row y + h - 1. */
static void bar(canvas *c, int x, int y, int h, double frac, canvas_style st)
{
    if (!(frac > 0)) return;
    if (frac > 1) frac = 1;
    if (canvas_glyph_mode(c) == CANVAS_ASCII) {
        int n = (int)floor(frac * h + 0.5);
        canvas_fill(c, RECT(x, y + h - n, 1, n), L'#', st);
        return;
    }
    long eighths = (long)floor(frac * h * 8 + 0.5);
    int full = (int)(eighths / 8), part = (int)(eighths % 8);
    canvas_fill(c, RECT(x, y + h - full, 1, full), L'\x2588', st);
    if (part) canvas_put(c, x, y + h - full - 1, (wchar_t)(0x2580 + part), st); /* ▁ = 2581 */
}

/* The value of column k of w when n values are spread over w columns (see plot.h). */
static double column_value(const double *v, int n, int w, int k)
{
    if (n <= w) {
        /* value i takes w / n columns, the first w % n values one more */
        int q = w / n, rem = w % n, big = rem * (q + 1);
        int i = k < big ? k / (q + 1) : rem + (k - big) / q;
        return v[i];
    }
    int i0 = (int)((long long)k * n / w), i1 = (int)((long long)(k + 1) * n / w);
    double s = 0;
    for (int i = i0; i < i1; i++)
        if (v[i] > 0) s += v[i];
    return s;
}

void plot_bars(canvas *c, rect r, const double *v, int n, double vmax, canvas_style st)
{
    if (r.w < 1 || r.h < 1 || n < 1) return;
    if (!(vmax > 0)) {
        vmax = 0;
        for (int k = 0; k < r.w; k++) {
            double x = column_value(v, n, r.w, k);
            if (x > vmax) vmax = x;
        }
        if (!(vmax > 0)) return;
    }
    for (int k = 0; k < r.w; k++) bar(c, r.x + k, r.y, r.h, column_value(v, n, r.w, k) / vmax, st);
}

/* The histogram's labels row: lo at the left, hi at the right, the middle centred. */
static void hist_axis(canvas *c, rect r, double lo, double hi, const char *units)
{
    char a[48], b[48], m[48];
    const char *u = units ? units : "", *sp = units && *units ? " " : "";
    snprintf(a, sizeof a, "%.3g%s%s", lo, sp, u);
    snprintf(b, sizeof b, "%.3g%s%s", hi, sp, u);
    snprintf(m, sizeof m, "%.3g%s%s", (lo + hi) / 2, sp, u);
    int wa = canvas_text(c, r.x, r.y, r.w, a, STYLE_NORMAL);
    int wb = canvas_text_width(c, b), wm = canvas_text_width(c, m), xm = r.x + (r.w - wm) / 2;
    if (wa + 1 + wb <= r.w) canvas_text_right(c, r.x, r.y, r.w, b, STYLE_NORMAL);
    if (xm > r.x + wa && xm + wm < r.x + r.w - wb) canvas_text(c, xm, r.y, wm, m, STYLE_NORMAL);
}

/* The legend row: the series' labels in their colours, then the largest count. */
static void hist_legend(canvas *c, rect r, const plot_hist *h, int nh, double vmax)
{
    int x = r.x;
    for (int k = 0; k < nh; k++) {
        if (!h[k].label) continue;
        x += canvas_text(c, x, r.y, r.x + r.w - x, h[k].label, STYLE(h[k].colour, -1, 0));
        x += 2;
    }
    char top[32];
    snprintf(top, sizeof top, "max %.0f", vmax);
    if (x + canvas_text_width(c, top) <= r.x + r.w) canvas_text_right(c, r.x, r.y, r.w, top, STYLE_NORMAL);
}

/* Column x's value of each series, and the series in the order to draw them: tallest first,
 * so that a shorter bar stays visible over a taller one (NaN counts as 0). */
static void column_order(const plot_hist *h, int nh, int nbins, int w, int x, double *v, int *order)
{
    for (int k = 0; k < nh; k++) {
        v[k] = column_value(h[k].counts, nbins, w, x);
        if (!(v[k] > 0)) v[k] = 0;
        int i = k;
        for (; i > 0 && v[order[i - 1]] < v[k]; i--) order[i] = order[i - 1];
        order[i] = k;
    }
}

static int hist_labelled(const plot_hist *h, int nh)
{
    for (int k = 0; k < nh; k++)
        if (h[k].label) return 1;
    return 0;
}

void plot_histogram(canvas *c, rect r, const plot_hist *h, int nh, int nbins, double lo,
                    double hi, const char *units)
{
    if (r.w < 1 || r.h < 2 || nh < 1 || nbins < 1) return;
    if (nh > PLOT_MAX_HIST) nh = PLOT_MAX_HIST;
    double vmax = 0, v[PLOT_MAX_HIST];
    int order[PLOT_MAX_HIST];
    for (int x = 0; x < r.w; x++) {
        column_order(h, nh, nbins, r.w, x, v, order);
        if (v[order[0]] > vmax) vmax = v[order[0]];
    }
    int legend = r.h >= 4 && hist_labelled(h, nh);
    if (legend) hist_legend(c, RECT(r.x, r.y, r.w, 1), h, nh, vmax);
    hist_axis(c, RECT(r.x, r.y + r.h - 1, r.w, 1), lo, hi, units);
    rect bars = RECT(r.x, r.y + legend, r.w, r.h - 1 - legend);
    if (!(vmax > 0) || bars.h < 1) return;
    for (int x = 0; x < r.w; x++) {
        column_order(h, nh, nbins, r.w, x, v, order);
        /* a shorter bar's partial top cell shows the taller bar behind it as background */
        for (int i = 0, behind = -1; i < nh && v[order[i]] > 0; i++) {
            bar(c, bars.x + x, bars.y, bars.h, v[order[i]] / vmax,
                STYLE(h[order[i]].colour, behind, 0));
            behind = h[order[i]].colour;
        }
    }
}

int plot_bin(const double *x, int n, double lo, double hi, int nbins, double *counts)
{
    if (nbins < 1) return 0;
    for (int b = 0; b < nbins; b++) counts[b] = 0;
    if (!(hi > lo)) return 0;
    int counted = 0;
    for (int i = 0; i < n; i++) {
        if (!(x[i] >= lo && x[i] <= hi)) continue;
        int b = (int)((x[i] - lo) / (hi - lo) * nbins);
        counts[b < nbins ? b : nbins - 1]++;
        counted++;
    }
    return counted;
}
