/* canvas: the cell grid (no ncurses) and its renderer (ncurses). See canvas.h. */
#include "canvas.h"

#include <langinfo.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct canvas {
    int w, h;
    canvas_glyphs glyphs;
    canvas_colours colours;
    canvas_cell *cell; /* (h, w) row-major */
};

/* ---- Rectangles. ---------------------------------------------------------------------- */

rect rect_intersect(rect a, rect b)
{
    int x0 = a.x > b.x ? a.x : b.x, y0 = a.y > b.y ? a.y : b.y;
    int x1 = a.x + a.w < b.x + b.w ? a.x + a.w : b.x + b.w;
    int y1 = a.y + a.h < b.y + b.h ? a.y + a.h : b.y + b.h;
    if (x1 < x0) x1 = x0;
    if (y1 < y0) y1 = y0;
    return RECT(x0, y0, x1 - x0, y1 - y0);
}

int rect_contains(rect r, int x, int y)
{
    return x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h;
}

rect canvas_inner(rect r)
{
    rect in = RECT(r.x + 1, r.y + 1, r.w - 2, r.h - 2);
    if (in.w < 0) in.w = 0;
    if (in.h < 0) in.h = 0;
    return in;
}

/* ---- Life cycle and modes. ------------------------------------------------------------ */

static const canvas_cell blank_cell = {L' ', -1, -1, 0};

static canvas_cell *cells_new(int w, int h)
{
    size_t n = (size_t)w * (size_t)h;
    canvas_cell *cell = malloc((n ? n : 1) * sizeof *cell);
    if (!cell) return NULL;
    for (size_t i = 0; i < n; i++) cell[i] = blank_cell;
    return cell;
}

canvas *canvas_new(int w, int h)
{
    if (w < 0 || h < 0) return NULL;
    canvas *c = malloc(sizeof *c);
    if (!c) return NULL;
    c->cell = cells_new(w, h);
    if (!c->cell) {
        free(c);
        return NULL;
    }
    c->w = w;
    c->h = h;
    c->glyphs = CANVAS_UTF8;
    c->colours = CANVAS_256;
    return c;
}

int canvas_resize(canvas *c, int w, int h)
{
    if (w < 0 || h < 0) return -1;
    canvas_cell *cell = cells_new(w, h);
    if (!cell) return -1;
    free(c->cell);
    c->cell = cell;
    c->w = w;
    c->h = h;
    return 0;
}

void canvas_free(canvas *c)
{
    if (!c) return;
    free(c->cell);
    free(c);
}

int canvas_width(const canvas *c) { return c->w; }
int canvas_height(const canvas *c) { return c->h; }
rect canvas_bounds(const canvas *c) { return RECT(0, 0, c->w, c->h); }
void canvas_set_glyphs(canvas *c, canvas_glyphs g) { c->glyphs = g; }
canvas_glyphs canvas_glyph_mode(const canvas *c) { return c->glyphs; }
void canvas_set_colours(canvas *c, canvas_colours m) { c->colours = m; }
canvas_colours canvas_colour_mode(const canvas *c) { return c->colours; }

canvas_glyphs canvas_detect_glyphs(void)
{
    const char *cs = nl_langinfo(CODESET);
    return cs && (!strcmp(cs, "UTF-8") || !strcmp(cs, "utf8")) ? CANVAS_UTF8 : CANVAS_ASCII;
}

const canvas_cell *canvas_at(const canvas *c, int x, int y)
{
    if (x < 0 || y < 0 || x >= c->w || y >= c->h) return NULL;
    return &c->cell[(size_t)y * c->w + x];
}

/* ---- Cells. --------------------------------------------------------------------------- */

static canvas_cell *cell_at(canvas *c, int x, int y)
{
    return &c->cell[(size_t)y * c->w + x];
}

/* Cell (x, y) is about to be overwritten: blank the other half of a wide character it is
 * part of, so that no half character is left behind (x, y inside the canvas). */
static void unwide(canvas *c, int x, int y)
{
    canvas_cell *p = cell_at(c, x, y);
    if (p->ch == CANVAS_CONT && x > 0) cell_at(c, x - 1, y)->ch = L' ';
    else if (x + 1 < c->w && cell_at(c, x + 1, y)->ch == CANVAS_CONT)
        cell_at(c, x + 1, y)->ch = L' ';
}

static void set_cell(canvas_cell *p, wchar_t ch, canvas_style st)
{
    p->ch = ch;
    p->fg = st.fg;
    p->bg = st.bg;
    p->attr = st.attr;
}

/* The width canvas_put gives ch: 1 or 2; 0 when ch is drawn as '?' instead. */
static int glyph_width(canvas_glyphs g, wchar_t ch)
{
    if (g == CANVAS_ASCII) return ch >= 0x20 && ch < 0x7f;
    int w = wcwidth(ch);
    return w == 1 || w == 2 ? w : 0;
}

void canvas_put(canvas *c, int x, int y, wchar_t ch, canvas_style st)
{
    if (x < 0 || y < 0 || x >= c->w || y >= c->h) return;
    int w = glyph_width(c->glyphs, ch);
    if (w == 0) ch = L'?', w = 1;
    if (w == 2 && x + 1 >= c->w) ch = L' ', w = 1; /* a wide char cut by the edge */
    unwide(c, x, y);
    set_cell(cell_at(c, x, y), ch, st);
    if (w == 2) {
        unwide(c, x + 1, y);
        set_cell(cell_at(c, x + 1, y), CANVAS_CONT, st);
    }
}

void canvas_fill(canvas *c, rect r, wchar_t ch, canvas_style st)
{
    r = rect_intersect(r, canvas_bounds(c));
    if (r.w == 0) return;
    for (int y = r.y; y < r.y + r.h; y++) {
        unwide(c, r.x, y);
        unwide(c, r.x + r.w - 1, y);
        canvas_cell *p = cell_at(c, r.x, y);
        for (int i = 0; i < r.w; i++) set_cell(&p[i], ch, st);
    }
}

void canvas_clear(canvas *c, rect r)
{
    canvas_fill(c, r, L' ', STYLE_NORMAL);
}

/* ---- Text. ---------------------------------------------------------------------------- */

/* Decodes one UTF-8 character at s (not at its end) into *wc and returns its length in bytes;
 * a malformed or overlong sequence gives *wc = -1 and length 1. */
static int utf8_next(const unsigned char *s, wchar_t *wc)
{
    unsigned c = s[0];
    int n = c < 0x80 ? 0 : c >= 0xc2 && c < 0xe0 ? 1 : c >= 0xe0 && c < 0xf0 ? 2
          : c >= 0xf0 && c < 0xf5 ? 3 : -1;
    if (n < 0) {
        *wc = -1;
        return 1;
    }
    unsigned long v = n ? c & (0x3f >> n) : c;
    for (int i = 1; i <= n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            *wc = -1;
            return 1;
        }
        v = v << 6 | (s[i] & 0x3f);
    }
    static const unsigned long least[4] = {0, 0x80, 0x800, 0x10000};
    if (v < least[n] || v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) v = (unsigned long)-1;
    *wc = (wchar_t)v;
    return n + 1;
}

/* The character canvas_text draws for wc and its width (0: dropped, a combining mark). */
static int text_glyph(canvas_glyphs g, wchar_t *wc)
{
    if (*wc == (wchar_t)-1) {
        *wc = L'?';
        return 1;
    }
    if (g == CANVAS_ASCII) {
        if (*wc < 0x20 || *wc >= 0x7f) *wc = L'?';
        return 1;
    }
    int w = wcwidth(*wc);
    if (w < 0) {
        *wc = L'?';
        return 1;
    }
    return w;
}

int canvas_text_width(const canvas *c, const char *utf8)
{
    if (!utf8) return 0;
    const unsigned char *s = (const unsigned char *)utf8;
    int cols = 0;
    while (*s) {
        wchar_t wc;
        s += utf8_next(s, &wc);
        cols += text_glyph(c->glyphs, &wc);
    }
    return cols;
}

int canvas_text(canvas *c, int x, int y, int maxw, const char *utf8, canvas_style st)
{
    if (!utf8 || maxw <= 0) return 0;
    /* Cut only when the whole text does not fit; then keep one column for the ellipsis. */
    int room = canvas_text_width(c, utf8) <= maxw ? maxw : maxw - 1;
    const unsigned char *s = (const unsigned char *)utf8;
    int used = 0;
    while (*s) {
        wchar_t wc;
        s += utf8_next(s, &wc);
        int w = text_glyph(c->glyphs, &wc);
        if (w == 0) continue;
        if (used + w > room) break;
        canvas_put(c, x + used, y, wc, st);
        used += w;
    }
    if (room < maxw) {
        canvas_put(c, x + used, y, c->glyphs == CANVAS_UTF8 ? L'\x2026' : L'~', st);
        used++;
    }
    return used;
}

int canvas_text_right(canvas *c, int x, int y, int maxw, const char *utf8, canvas_style st)
{
    int w = canvas_text_width(c, utf8);
    if (w > maxw) w = maxw;
    return canvas_text(c, x + maxw - w, y, w, utf8, st);
}

int canvas_printf(canvas *c, int x, int y, int maxw, canvas_style st, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return canvas_text(c, x, y, maxw, buf, st);
}

/* ---- Lines, boxes, bars. -------------------------------------------------------------- */

void canvas_hline(canvas *c, int x, int y, int n, canvas_style st)
{
    canvas_fill(c, RECT(x, y, n, 1), c->glyphs == CANVAS_UTF8 ? L'\x2500' : L'-', st);
}

void canvas_vline(canvas *c, int x, int y, int n, canvas_style st)
{
    canvas_fill(c, RECT(x, y, 1, n), c->glyphs == CANVAS_UTF8 ? L'\x2502' : L'|', st);
}

void canvas_box(canvas *c, rect r, const char *title, canvas_style frame, canvas_style tst)
{
    if (r.w < 2 || r.h < 2) return;
    int u = c->glyphs == CANVAS_UTF8;
    int x1 = r.x + r.w - 1, y1 = r.y + r.h - 1;
    canvas_hline(c, r.x + 1, r.y, r.w - 2, frame);
    canvas_hline(c, r.x + 1, y1, r.w - 2, frame);
    canvas_vline(c, r.x, r.y + 1, r.h - 2, frame);
    canvas_vline(c, x1, r.y + 1, r.h - 2, frame);
    canvas_put(c, r.x, r.y, u ? L'\x250c' : L'+', frame);
    canvas_put(c, x1, r.y, u ? L'\x2510' : L'+', frame);
    canvas_put(c, r.x, y1, u ? L'\x2514' : L'+', frame);
    canvas_put(c, x1, y1, u ? L'\x2518' : L'+', frame);
    /* "┌─ title ──┐": the title needs the corner, a dash and a space on each side. */
    if (title && *title && r.w >= 7) {
        canvas_put(c, r.x + 2, r.y, L' ', tst);
        int n = canvas_text(c, r.x + 3, r.y, r.w - 6, title, tst);
        canvas_put(c, r.x + 3 + n, r.y, L' ', tst);
    }
}

void canvas_hbar(canvas *c, int x, int y, int w, double frac, canvas_style st)
{
    if (w <= 0) return;
    if (!(frac > 0)) frac = 0; /* NaN too */
    if (frac > 1) frac = 1;
    canvas_fill(c, RECT(x, y, w, 1), L' ', STYLE(st.fg, st.bg, 0));
    if (c->glyphs == CANVAS_ASCII) {
        canvas_fill(c, RECT(x, y, (int)floor(frac * w + 0.5), 1), L'#', st);
        return;
    }
    long eighths = (long)floor(frac * w * 8 + 0.5);
    int full = (int)(eighths / 8), part = (int)(eighths % 8);
    canvas_fill(c, RECT(x, y, full, 1), L'\x2588', st);
    if (part) canvas_put(c, x + full, y, (wchar_t)(0x2590 - part), st); /* ▏ is U+258F */
}

/* ---- The renderer. -------------------------------------------------------------------- */

/* The colour pairs alloc_pair gave, by (fg + 1, bg + 1), stored as pair + 1 (0: not asked
 * yet), and for each pair number the key it was given for. These mirror ncurses' own pair
 * table, which is global to the current screen: that is why they are globals. The reverse
 * map lets us forget a key when alloc_pair, its pool full, recycles that key's pair. */
#define NKEY (257 * 257)
#define NREV 65536
static int pair_of_key[NKEY];
static int key_of_pair[NREV];
static int default_colours_ok;

/* CANVAS_8's ANSI colour for each 256-colour index: greys (and near-greys) to black or white
 * by luminance, other colours to the ANSI colour of their dominant channels. */
static const signed char ansi8[256] = {
    0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 4, 4, 4, 4, 4, 2, 6, 6, 4, 4, 4, 2, 6, 6, 6,
    6, 4, 2, 2, 6, 6, 6, 6, 2, 2, 6, 6, 6, 6, 2, 2, 2, 6, 6, 6, 1, 5, 5, 4, 4, 4, 3, 0, 0, 4, 4, 4,
    3, 0, 0, 6, 6, 4, 2, 2, 6, 6, 6, 6, 2, 2, 6, 6, 6, 6, 2, 2, 2, 6, 6, 6, 1, 5, 5, 5, 5, 4, 3, 0,
    0, 5, 5, 4, 3, 7, 7, 7, 7, 4, 3, 3, 7, 7, 7, 6, 3, 3, 7, 7, 7, 6, 2, 2, 2, 6, 6, 6, 1, 1, 5, 5,
    5, 5, 1, 1, 5, 5, 5, 5, 3, 3, 7, 7, 7, 5, 3, 3, 7, 7, 7, 7, 3, 3, 7, 7, 7, 7, 3, 3, 3, 7, 7, 7,
    1, 1, 5, 5, 5, 5, 1, 1, 5, 5, 5, 5, 3, 3, 7, 7, 7, 5, 3, 3, 7, 7, 7, 7, 3, 3, 7, 7, 7, 7, 3, 3,
    3, 7, 7, 7, 1, 1, 1, 5, 5, 5, 1, 1, 1, 5, 5, 5, 1, 1, 1, 5, 5, 5, 3, 3, 3, 7, 7, 7, 3, 3, 3, 7,
    7, 7, 3, 3, 3, 7, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
};

int canvas_colour8(int i)
{
    return i < 0 || i > 255 ? -1 : ansi8[i];
}

void canvas_colours_reset(void)
{
    memset(pair_of_key, 0, sizeof pair_of_key);
    memset(key_of_pair, 0, sizeof key_of_pair);
}

canvas_colours canvas_colours_init(void)
{
    canvas_colours_reset();
    default_colours_ok = 0;
    if (!has_colors() || start_color() == ERR) return CANVAS_MONO;
    default_colours_ok = use_default_colors() == OK;
    return COLORS >= 256 ? CANVAS_256 : COLORS >= 8 ? CANVAS_8 : CANVAS_MONO;
}

/* A colour index the terminal can show: -1 only with default colours, nothing above COLORS. */
static int shown_colour(canvas_colours m, int col, int is_fg)
{
    if (col < -1 || col > 255) col = -1;
    if (col >= 0 && (m == CANVAS_8 || col >= COLORS)) col = ansi8[col];
    if (col == -1 && !default_colours_ok) col = is_fg ? COLOR_WHITE : COLOR_BLACK;
    return col;
}

/* alloc_pair for a key not seen yet; forgets the key whose pair was recycled. */
static int new_pair(int key, int fg, int bg)
{
    int p = alloc_pair(fg, bg);
    if (p < 0) p = 0;
    if (p > 0 && p < NREV) {
        int old = key_of_pair[p];
        if (old && old != key) pair_of_key[old - 1] = 0;
        key_of_pair[p] = key + 1;
    }
    pair_of_key[key] = p + 1;
    return p;
}

/* The pair of (fg, bg) in colour mode m (not CANVAS_MONO) on a terminal with colours. */
static int pair_lookup(canvas_colours m, int fg, int bg)
{
    fg = shown_colour(m, fg, 1);
    bg = shown_colour(m, bg, 0);
    if (fg == -1 && bg == -1) return 0;
    int key = (fg + 1) * 257 + (bg + 1);
    int p = pair_of_key[key];
    return p ? p - 1 : new_pair(key, fg, bg);
}

int canvas_pair(canvas_colours m, int fg, int bg)
{
    return m == CANVAS_MONO || !has_colors() ? 0 : pair_lookup(m, fg, bg);
}

static attr_t curses_attr(int a)
{
    return (a & CANVAS_BOLD ? A_BOLD : 0) | (a & CANVAS_REVERSE ? A_REVERSE : 0)
         | (a & CANVAS_UNDERLINE ? A_UNDERLINE : 0) | (a & CANVAS_DIM ? A_DIM : 0);
}

static int same_look(const canvas_cell *a, const canvas_cell *b)
{
    return a->ch == b->ch && a->fg == b->fg && a->bg == b->bg && a->attr == b->attr;
}

/* Cells are sent in runs of at most RUN per mvwadd_wchnstr call. */
#define RUN 256

/* Blits row y of the canvas, columns [x0, x1), to window row wy from column wx. */
static void blit_row(const canvas *c, int y, int x0, int x1, WINDOW *win, int wy, int wx)
{
    cchar_t run[RUN];
    int n = 0, start = wx, has_colour = c->colours != CANVAS_MONO && has_colors();
    const canvas_cell *prev = NULL;
    for (int x = x0; x < x1; x++) {
        const canvas_cell *p = &c->cell[(size_t)y * c->w + x];
        canvas_cell cell = *p;
        if (cell.ch == CANVAS_CONT) {
            if (x > x0) continue;  /* the right half of the wide char just sent */
            cell.ch = L' ';        /* its left half is outside the blitted region */
        } else if (x + 1 < c->w && p[1].ch == CANVAS_CONT && x + 1 >= x1) {
            cell.ch = L' ';        /* its right half is outside: do not let it spill */
        }
        if (prev && same_look(prev, &cell)) {
            run[n] = run[n - 1];   /* runs of equal cells skip setcchar and the pair lookup */
        } else {
            wchar_t wch[2] = {cell.ch, 0};
            int pair = has_colour ? pair_lookup(c->colours, cell.fg, cell.bg) : 0;
            setcchar(&run[n], wch, curses_attr(cell.attr), 0, &pair);
        }
        prev = p->ch == cell.ch ? p : NULL;
        if (++n == RUN) {
            mvwadd_wchnstr(win, wy, start, run, n);
            start = wx + (x + 1 - x0);
            n = 0;
            prev = NULL;
        }
    }
    if (n) mvwadd_wchnstr(win, wy, start, run, n);
}

int canvas_blit_rect(const canvas *c, rect r, WINDOW *win, int x, int y)
{
    if (!win) return -1;
    /* Clip r to the canvas, then to the window (moving the target with the source). */
    rect cr = rect_intersect(r, canvas_bounds(c));
    x += cr.x - r.x;
    y += cr.y - r.y;
    rect wr = rect_intersect(RECT(x, y, cr.w, cr.h), RECT(0, 0, getmaxx(win), getmaxy(win)));
    cr.x += wr.x - x;
    cr.y += wr.y - y;
    for (int i = 0; i < wr.h; i++)
        blit_row(c, cr.y + i, cr.x, cr.x + wr.w, win, wr.y + i, wr.x);
    return 0;
}

int canvas_blit(const canvas *c, WINDOW *win, int x, int y)
{
    return canvas_blit_rect(c, canvas_bounds(c), win, x, y);
}
