/* palette: the colour ramps and the legend. See palette.h. */
#include "palette.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The 256-colour ramps were picked from the xterm cube by hand, following the reference maps
 * (viridis, ColorBrewer Blues) while keeping the luminance strictly monotonic, which nearest-
 * colour snapping alone does not (the cube has 6 levels per channel). */
static const int16_t seq256[] = {53, 54, 55, 25, 31, 37, 72, 77, 113, 149, 184, 226};
static const int16_t div256[] = {69, 63, 62, 61, 60, 239, 95, 131, 167, 203, 209};
static const int16_t cnt256[] = {231, 255, 189, 153, 110, 74, 68, 32, 26, 25, 19, 18, 17};

static const palette_ansi seq8[] = {
    {COLOR_MAGENTA, CANVAS_DIM}, {COLOR_MAGENTA, 0}, {COLOR_BLUE, 0},  {COLOR_CYAN, 0},
    {COLOR_GREEN, 0},            {COLOR_YELLOW, 0},  {COLOR_YELLOW, CANVAS_BOLD},
};
static const palette_ansi div8[] = {
    {COLOR_BLUE, CANVAS_BOLD}, {COLOR_BLUE, 0}, {COLOR_BLUE, CANVAS_DIM}, {COLOR_WHITE, CANVAS_DIM},
    {COLOR_RED, CANVAS_DIM},   {COLOR_RED, 0},  {COLOR_RED, CANVAS_BOLD},
};
static const palette_ansi cnt8[] = {
    {COLOR_WHITE, CANVAS_BOLD}, {COLOR_WHITE, 0}, {COLOR_CYAN, 0},
    {COLOR_BLUE, CANVAS_BOLD},  {COLOR_BLUE, 0},  {COLOR_BLUE, CANVAS_DIM},
};

static const wchar_t shade_utf8[] = L" \x2591\x2592\x2593\x2588"; /* ' ░▒▓█' */
static const wchar_t sign_utf8[] = L"=-\x00b7+#";                  /* '=-·+#' */

#define N(a) ((int)(sizeof(a) / sizeof(a)[0]))

const palette palette_sequential = {"sequential", seq256, N(seq256), seq8, N(seq8),
                                    shade_utf8, " .:*#", 5};
const palette palette_diverging = {"diverging", div256, N(div256), div8, N(div8),
                                   sign_utf8, "=-.+#", 5};
const palette palette_counts = {"counts", cnt256, N(cnt256), cnt8, N(cnt8),
                                shade_utf8, " .:*#", 5};

const palette *palette_by_name(const char *name)
{
    if (!name) return NULL;
    if (!strcmp(name, "sequential") || !strcmp(name, "viridis")) return &palette_sequential;
    if (!strcmp(name, "diverging")) return &palette_diverging;
    if (!strcmp(name, "counts")) return &palette_counts;
    return NULL;
}

int palette_level(int n, double t)
{
    if (isnan(t) || n <= 0) return -1;
    if (t <= 0) return 0;
    if (t >= 1) return n - 1;
    int k = (int)(t * n);
    return k < n ? k : n - 1;
}

int palette_colour(const palette *p, canvas_colours m, double t)
{
    if (isnan(t) || m == CANVAS_MONO) return -1;
    if (m == CANVAS_8) return p->c8[palette_level(p->n8, t)].colour;
    return p->c256[palette_level(p->n256, t)];
}

canvas_style palette_style(const palette *p, canvas_colours m, double t)
{
    if (isnan(t)) return STYLE_NORMAL;
    if (m == CANVAS_MONO) {
        int k = palette_level(3, t);
        return STYLE(-1, -1, k == 2 ? CANVAS_BOLD : k == 0 ? CANVAS_DIM : 0);
    }
    if (m == CANVAS_8) {
        palette_ansi a = p->c8[palette_level(p->n8, t)];
        return STYLE(a.colour, -1, a.attr);
    }
    return STYLE(palette_colour(p, m, t), -1, 0);
}

canvas_style palette_bg_style(const palette *p, canvas_colours m, double t)
{
    if (isnan(t)) return STYLE_NORMAL;
    if (m == CANVAS_MONO) return STYLE(-1, -1, t >= 0.5 ? CANVAS_REVERSE : 0);
    int bg = palette_colour(p, m, t), light = m == CANVAS_256 ? 231 : COLOR_WHITE;
    return STYLE(palette_luminance(bg) >= 128 ? COLOR_BLACK : light, bg, 0);
}

wchar_t palette_shade(const palette *p, canvas_glyphs g, double t)
{
    if (isnan(t)) return L' ';
    int k = palette_level(p->nshades, t);
    return g == CANVAS_UTF8 ? p->shades_utf8[k] : (wchar_t)p->shades_ascii[k];
}

void palette_cell(const palette *p, const canvas *c, double t, wchar_t *ch, canvas_style *st)
{
    canvas_colours m = canvas_colour_mode(c);
    *ch = L' ';
    *st = STYLE_NORMAL;
    if (isnan(t)) return;
    if (m == CANVAS_MONO) {
        *ch = palette_shade(p, canvas_glyph_mode(c), t);
    } else if (m == CANVAS_8 && canvas_glyph_mode(c) == CANVAS_UTF8) {
        /* A full block in the foreground, so that bold and dim add levels. */
        *ch = L'\x2588';
        *st = palette_style(p, m, t);
    } else {
        st->bg = (int16_t)palette_colour(p, m, t);
    }
}

void palette_fill(canvas *c, rect r, const palette *p, double t)
{
    wchar_t ch;
    canvas_style st;
    palette_cell(p, c, t, &ch, &st);
    canvas_fill(c, r, ch, st);
}

/* ---- xterm colours. ------------------------------------------------------------------- */

void palette_rgb(int i, int rgb[3])
{
    static const unsigned char ansi[16][3] = {
        {0, 0, 0},       {205, 0, 0},     {0, 205, 0},     {205, 205, 0},
        {0, 0, 238},     {205, 0, 205},   {0, 205, 205},   {229, 229, 229},
        {127, 127, 127}, {255, 0, 0},     {0, 255, 0},     {255, 255, 0},
        {92, 92, 255},   {255, 0, 255},   {0, 255, 255},   {255, 255, 255},
    };
    static const unsigned char cube[6] = {0, 95, 135, 175, 215, 255};
    if (i < 0 || i > 255) i = 0;
    if (i < 16) {
        for (int k = 0; k < 3; k++) rgb[k] = ansi[i][k];
    } else if (i >= 232) {
        rgb[0] = rgb[1] = rgb[2] = 8 + 10 * (i - 232);
    } else {
        rgb[0] = cube[(i - 16) / 36];
        rgb[1] = cube[(i - 16) / 6 % 6];
        rgb[2] = cube[(i - 16) % 6];
    }
}

double palette_luminance(int i)
{
    int c[3];
    palette_rgb(i, c);
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
}

/* ---- The legend. ---------------------------------------------------------------------- */

static void label(char *buf, size_t n, double v, const char *units)
{
    if (v == 0) v = 0; /* no "-0" */
    snprintf(buf, n, units && *units ? "%.3g %s" : "%.3g", v, units);
}

/* The colour strip: cell i shows the middle of its share of [0, 1]. */
static void strip(canvas *c, int x, int y, int w, const palette *p)
{
    for (int i = 0; i < w; i++) palette_fill(c, RECT(x + i, y, 1, 1), p, (i + 0.5) / w);
}

void palette_legend(canvas *c, rect r, const palette *p, double lo, double hi,
                    const char *units)
{
    if (r.w <= 0 || r.h <= 0) return;
    char a[64], b[64], mid[64];
    label(a, sizeof a, lo, units);
    label(b, sizeof b, hi, units);
    label(mid, sizeof mid, (lo + hi) / 2, units);
    int wa = canvas_text_width(c, a), wb = canvas_text_width(c, b);
    if (r.h == 1) {
        int sw = r.w - wa - wb - 2;
        if (sw < 1) {
            strip(c, r.x, r.y, r.w, p);
            return;
        }
        canvas_text(c, r.x, r.y, wa, a, STYLE_NORMAL);
        strip(c, r.x + wa + 1, r.y, sw, p);
        canvas_text(c, r.x + wa + 2 + sw, r.y, wb, b, STYLE_NORMAL);
        return;
    }
    strip(c, r.x, r.y, r.w, p);
    canvas_text(c, r.x, r.y + 1, r.w, a, STYLE_NORMAL);
    if (wa + 1 + wb <= r.w) canvas_text_right(c, r.x, r.y + 1, r.w, b, STYLE_NORMAL);
    int wm = canvas_text_width(c, mid), xm = r.x + (r.w - wm) / 2;
    if (xm >= r.x + wa + 1 && xm + wm + 1 <= r.x + r.w - wb)
        canvas_text(c, xm, r.y + 1, wm, mid, STYLE_NORMAL);
}
