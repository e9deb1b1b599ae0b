/* Unit tests for the console's drawing layer: canvas (text clipping, wide characters, boxes,
 * bars), palette (endpoints, monotonicity, fallbacks, legend), heatmap (block means, nearest
 * upscaling, NaN, zoom windows, half-block pairing, boundaries), plot (braille bits, ticks,
 * ranges, bars), layout (weights, minimums, remainder, trees, too small) and the renderer
 * (canvas_blit into an off-screen ncurses window, read back with mvwin_wch, in all three
 * colour modes, and colour pairs recycled by alloc_pair). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canvas.h"
#include "heatmap.h"
#include "layout.h"
#include "palette.h"
#include "plot.h"

/* ---- Helpers. ------------------------------------------------------------------------- */

/* Cells [x, x + n) of row y as UTF-8 (right halves of wide characters skipped). */
static const char *row_text(const canvas *c, int x, int y, int n)
{
    static char buf[512];
    size_t k = 0;
    mbstate_t st;
    memset(&st, 0, sizeof st);
    for (int i = x; i < x + n && k + MB_CUR_MAX < sizeof buf; i++) {
        const canvas_cell *p = canvas_at(c, i, y);
        if (!p || p->ch == CANVAS_CONT) continue;
        size_t m = wcrtomb(buf + k, p->ch, &st);
        assert_true(m != (size_t)-1);
        k += m;
    }
    buf[k] = 0;
    return buf;
}

static wchar_t ch_at(const canvas *c, int x, int y)
{
    const canvas_cell *p = canvas_at(c, x, y);
    assert_non_null(p);
    return p->ch;
}

static canvas *new_canvas(int w, int h, canvas_glyphs g, canvas_colours m)
{
    canvas *c = canvas_new(w, h);
    assert_non_null(c);
    canvas_set_glyphs(c, g);
    canvas_set_colours(c, m);
    return c;
}

/* ---- Canvas. -------------------------------------------------------------------------- */

static void test_canvas_life(void **state)
{
    (void)state;
    canvas *c = canvas_new(4, 3);
    assert_non_null(c);
    assert_int_equal(canvas_width(c), 4);
    assert_int_equal(canvas_height(c), 3);
    assert_null(canvas_at(c, 4, 0));
    assert_null(canvas_at(c, -1, 0));
    assert_int_equal(ch_at(c, 3, 2), L' ');
    canvas_put(c, 1, 1, L'x', STYLE(3, 4, CANVAS_BOLD));
    const canvas_cell *p = canvas_at(c, 1, 1);
    assert_int_equal(p->ch, L'x');
    assert_int_equal(p->fg, 3);
    assert_int_equal(p->bg, 4);
    assert_int_equal(p->attr, CANVAS_BOLD);
    canvas_put(c, 9, 9, L'y', STYLE_NORMAL); /* outside: ignored */
    assert_int_equal(canvas_resize(c, 7, 2), 0);
    assert_int_equal(canvas_width(c), 7);
    assert_int_equal(ch_at(c, 1, 1), L' ');
    assert_int_equal(canvas_resize(c, -1, 2), -1);
    assert_int_equal(canvas_width(c), 7);
    canvas_fill(c, RECT(-2, 0, 4, 5), L'#', STYLE_NORMAL);
    assert_string_equal(row_text(c, 0, 1, 7), "##     ");
    canvas_clear(c, RECT(1, 0, 10, 10));
    assert_string_equal(row_text(c, 0, 0, 7), "#      ");
    canvas_free(c);
    canvas_free(NULL);
    assert_null(canvas_new(-1, 3));
    c = canvas_new(0, 0);
    assert_non_null(c);
    canvas_text(c, 0, 0, 5, "abc", STYLE_NORMAL);
    canvas_free(c);
}

static void test_text_clipping(void **state)
{
    (void)state;
    canvas *c = new_canvas(20, 2, CANVAS_UTF8, CANVAS_256);
    assert_int_equal(canvas_text(c, 0, 0, 10, "hello", STYLE_NORMAL), 5);
    assert_string_equal(row_text(c, 0, 0, 6), "hello ");
    /* Exactly fitting text is not cut. */
    assert_int_equal(canvas_text(c, 0, 0, 5, "world", STYLE_NORMAL), 5);
    assert_string_equal(row_text(c, 0, 0, 6), "world ");
    /* One column short: the last fitting character gives way to the ellipsis. */
    canvas_clear(c, canvas_bounds(c));
    assert_int_equal(canvas_text(c, 0, 0, 4, "hello", STYLE_NORMAL), 4);
    assert_string_equal(row_text(c, 0, 0, 6), "hel…  ");
    assert_int_equal(canvas_text(c, 0, 0, 0, "hello", STYLE_NORMAL), 0);
    assert_int_equal(canvas_text(c, 0, 0, 1, "hello", STYLE_NORMAL), 1);
    assert_int_equal(ch_at(c, 0, 0), L'…');
    assert_int_equal(canvas_text(c, 0, 0, 5, NULL, STYLE_NORMAL), 0);
    canvas_free(c);
}

static void test_text_wide(void **state)
{
    (void)state;
    canvas *c = new_canvas(12, 1, CANVAS_UTF8, CANVAS_256);
    const char *kanji = "漢字テスト"; /* 5 characters of width 2 */
    assert_int_equal(canvas_text_width(c, kanji), 10);
    assert_int_equal(canvas_text(c, 0, 0, 10, kanji, STYLE_NORMAL), 10);
    assert_int_equal(ch_at(c, 0, 0), L'漢');
    assert_int_equal(ch_at(c, 1, 0), CANVAS_CONT);
    assert_int_equal(ch_at(c, 2, 0), L'字');
    /* maxw 5: room 4 = two wide characters, then the ellipsis. */
    canvas_clear(c, canvas_bounds(c));
    assert_int_equal(canvas_text(c, 0, 0, 5, kanji, STYLE_NORMAL), 5);
    assert_string_equal(row_text(c, 0, 0, 5), "漢字…");
    /* maxw 4: room 3; the second wide character does not fit, no half character drawn. */
    canvas_clear(c, canvas_bounds(c));
    assert_int_equal(canvas_text(c, 0, 0, 4, kanji, STYLE_NORMAL), 3);
    assert_string_equal(row_text(c, 0, 0, 4), "漢… ");
    /* Mixed widths. */
    canvas_clear(c, canvas_bounds(c));
    assert_int_equal(canvas_text(c, 0, 0, 12, "a漢b", STYLE_NORMAL), 4);
    assert_string_equal(row_text(c, 0, 0, 5), "a漢b ");
    /* Overwriting either half of a wide character blanks the other half. */
    canvas_put(c, 2, 0, L'x', STYLE_NORMAL);
    assert_string_equal(row_text(c, 0, 0, 4), "a xb");
    canvas_text(c, 0, 0, 12, "a漢b", STYLE_NORMAL);
    canvas_put(c, 1, 0, L'y', STYLE_NORMAL);
    assert_string_equal(row_text(c, 0, 0, 4), "ay b");
    /* A wide character over the right half of another and the left half of the next. */
    canvas_clear(c, canvas_bounds(c));
    canvas_text(c, 0, 0, 12, "漢字", STYLE_NORMAL);
    canvas_put(c, 1, 0, L'テ', STYLE_NORMAL);
    assert_string_equal(row_text(c, 0, 0, 5), " テ  ");
    assert_int_equal(ch_at(c, 2, 0), CANVAS_CONT);
    assert_int_equal(ch_at(c, 3, 0), L' ');
    /* A wide character at the last column becomes a blank. */
    canvas_clear(c, canvas_bounds(c));
    canvas_put(c, 11, 0, L'漢', STYLE_NORMAL);
    assert_int_equal(ch_at(c, 11, 0), L' ');
    /* Combining marks are dropped, malformed bytes and controls are '?'. */
    canvas_clear(c, canvas_bounds(c));
    assert_int_equal(canvas_text_width(c, "e\xcc\x81"), 1);
    /* (a cut sequence "\xe6\xbc" is two malformed bytes) */
    assert_int_equal(canvas_text(c, 0, 0, 12, "e\xcc\x81|\xff|\x01|\xe6\xbc", STYLE_NORMAL), 8);
    assert_string_equal(row_text(c, 0, 0, 9), "e|?|?|?? ");
    /* Right alignment. */
    canvas_clear(c, canvas_bounds(c));
    canvas_text_right(c, 0, 0, 6, "ab", STYLE_NORMAL);
    assert_string_equal(row_text(c, 0, 0, 6), "    ab");
    canvas_printf(c, 0, 0, 3, STYLE_NORMAL, "%d", 12345);
    assert_string_equal(row_text(c, 0, 0, 6), "12… ab");
    canvas_free(c);
}

static void test_text_ascii(void **state)
{
    (void)state;
    canvas *c = new_canvas(10, 1, CANVAS_ASCII, CANVAS_MONO);
    assert_int_equal(canvas_text_width(c, "漢字"), 2);
    assert_int_equal(canvas_text(c, 0, 0, 10, "a漢é", STYLE_NORMAL), 3);
    assert_string_equal(row_text(c, 0, 0, 4), "a?? ");
    canvas_clear(c, canvas_bounds(c));
    assert_int_equal(canvas_text(c, 0, 0, 4, "abcdef", STYLE_NORMAL), 4);
    assert_string_equal(row_text(c, 0, 0, 5), "abc~ ");
    canvas_put(c, 0, 0, L'é', STYLE_NORMAL); /* no non-ASCII in ASCII mode */
    assert_int_equal(ch_at(c, 0, 0), L'?');
    canvas_free(c);
}

static void test_box(void **state)
{
    (void)state;
    canvas *c = new_canvas(10, 4, CANVAS_UTF8, CANVAS_256);
    canvas_box(c, RECT(0, 0, 10, 4), "abcdefgh", STYLE(2, -1, 0), STYLE(3, -1, CANVAS_BOLD));
    assert_string_equal(row_text(c, 0, 0, 10), "┌─ abc… ─┐");
    assert_string_equal(row_text(c, 0, 1, 10), "│        │");
    assert_string_equal(row_text(c, 0, 3, 10), "└────────┘");
    assert_int_equal(canvas_at(c, 0, 0)->fg, 2);
    assert_int_equal(canvas_at(c, 3, 0)->fg, 3);
    assert_int_equal(canvas_at(c, 3, 0)->attr, CANVAS_BOLD);
    canvas_free(c);

    c = new_canvas(10, 4, CANVAS_ASCII, CANVAS_MONO);
    canvas_box(c, RECT(0, 0, 10, 4), "ab", STYLE_NORMAL, STYLE_NORMAL);
    assert_string_equal(row_text(c, 0, 0, 10), "+- ab ---+");
    assert_string_equal(row_text(c, 0, 2, 10), "|        |");
    assert_string_equal(row_text(c, 0, 3, 10), "+--------+");
    /* Too narrow for a title; too small for a box. */
    canvas_clear(c, canvas_bounds(c));
    canvas_box(c, RECT(0, 0, 4, 2), "ab", STYLE_NORMAL, STYLE_NORMAL);
    assert_string_equal(row_text(c, 0, 0, 5), "+--+ ");
    assert_string_equal(row_text(c, 0, 1, 5), "+--+ ");
    canvas_box(c, RECT(6, 0, 1, 3), "ab", STYLE_NORMAL, STYLE_NORMAL);
    assert_int_equal(ch_at(c, 6, 0), L' ');
    rect in = canvas_inner(RECT(0, 0, 10, 4));
    assert_int_equal(in.x, 1);
    assert_int_equal(in.w, 8);
    assert_int_equal(in.h, 2);
    assert_int_equal(canvas_inner(RECT(0, 0, 1, 1)).w, 0);
    canvas_free(c);
}

static void test_hbar(void **state)
{
    (void)state;
    canvas *c = new_canvas(10, 1, CANVAS_UTF8, CANVAS_256);
    canvas_hbar(c, 0, 0, 10, 0.55, STYLE(2, 0, 0)); /* 44 eighths: 5 full, 4/8 */
    assert_string_equal(row_text(c, 0, 0, 10), "█████▌    ");
    assert_int_equal(canvas_at(c, 9, 0)->bg, 0);
    canvas_hbar(c, 0, 0, 10, 0.0625, STYLE_NORMAL); /* 5 eighths */
    assert_int_equal(ch_at(c, 0, 0), 0x258B);
    assert_int_equal(ch_at(c, 1, 0), L' ');
    canvas_hbar(c, 0, 0, 10, 0.01, STYLE_NORMAL); /* 0.8 eighths: rounds to 1 */
    assert_int_equal(ch_at(c, 0, 0), 0x258F);
    canvas_hbar(c, 0, 0, 10, 0.99, STYLE_NORMAL); /* 79.2: 9 full, 7/8 */
    assert_int_equal(ch_at(c, 8, 0), 0x2588);
    assert_int_equal(ch_at(c, 9, 0), 0x2589);
    canvas_hbar(c, 0, 0, 10, 2.0, STYLE_NORMAL);
    assert_string_equal(row_text(c, 0, 0, 10), "██████████");
    canvas_hbar(c, 0, 0, 10, NAN, STYLE_NORMAL);
    assert_string_equal(row_text(c, 0, 0, 10), "          ");
    canvas_free(c);

    c = new_canvas(10, 1, CANVAS_ASCII, CANVAS_MONO);
    canvas_hbar(c, 0, 0, 10, 0.55, STYLE_NORMAL);
    assert_string_equal(row_text(c, 0, 0, 10), "######    ");
    canvas_hbar(c, 0, 0, 10, 0.54, STYLE_NORMAL);
    assert_string_equal(row_text(c, 0, 0, 10), "#####     ");
    canvas_free(c);
}

static void test_detect_glyphs(void **state)
{
    (void)state;
    assert_int_equal(canvas_detect_glyphs(), CANVAS_UTF8);
    setlocale(LC_ALL, "C");
    assert_int_equal(canvas_detect_glyphs(), CANVAS_ASCII);
    setlocale(LC_ALL, "C.UTF-8");
}

/* ---- Palette. ------------------------------------------------------------------------- */

static void test_palette_endpoints(void **state)
{
    (void)state;
    assert_int_equal(palette_colour(&palette_sequential, CANVAS_256, 0), 53);
    assert_int_equal(palette_colour(&palette_sequential, CANVAS_256, 1), 226);
    assert_int_equal(palette_colour(&palette_sequential, CANVAS_256, -5), 53);
    assert_int_equal(palette_colour(&palette_sequential, CANVAS_256, 7), 226);
    assert_int_equal(palette_colour(&palette_diverging, CANVAS_256, 0), 69);
    assert_int_equal(palette_colour(&palette_diverging, CANVAS_256, 0.5), 239);
    assert_int_equal(palette_colour(&palette_diverging, CANVAS_256, 1), 209);
    assert_int_equal(palette_colour(&palette_counts, CANVAS_256, 0), 231);
    assert_int_equal(palette_colour(&palette_counts, CANVAS_256, 1), 17);
    assert_int_equal(palette_colour(&palette_counts, CANVAS_256, NAN), -1);
    assert_int_equal(palette_level(10, 0.0), 0);
    assert_int_equal(palette_level(10, 0.0999), 0);
    assert_int_equal(palette_level(10, 0.1), 1);
    assert_int_equal(palette_level(10, 1.0), 9);
    assert_int_equal(palette_level(10, NAN), -1);
    assert_ptr_equal(palette_by_name("viridis"), &palette_sequential);
    assert_ptr_equal(palette_by_name("counts"), &palette_counts);
    assert_null(palette_by_name("jet"));
    int rgb[3];
    palette_rgb(196, rgb);
    assert_int_equal(rgb[0], 255);
    assert_int_equal(rgb[1], 0);
    palette_rgb(244, rgb);
    assert_int_equal(rgb[2], 128);
}

/* Luminance along each 256-colour ramp: rising (sequential), falling (counts); diverging
 * is symmetric (each level's mirror swaps red and blue), grey in the middle, and each side
 * moves away from the grey. */
static void test_palette_monotonic(void **state)
{
    (void)state;
    const palette *s = &palette_sequential, *k = &palette_counts, *d = &palette_diverging;
    for (int i = 1; i < s->n256; i++)
        assert_true(palette_luminance(s->c256[i]) > palette_luminance(s->c256[i - 1]));
    for (int i = 1; i < k->n256; i++)
        assert_true(palette_luminance(k->c256[i]) < palette_luminance(k->c256[i - 1]));
    int n = d->n256, mid = n / 2, a[3], b[3], g[3];
    assert_int_equal(n % 2, 1);
    palette_rgb(d->c256[mid], g);
    assert_true(g[0] == g[1] && g[1] == g[2]);
    for (int i = 0; i < mid; i++) {
        palette_rgb(d->c256[i], a);
        palette_rgb(d->c256[n - 1 - i], b);
        assert_int_equal(a[0], b[2]);
        assert_int_equal(a[1], b[1]);
        assert_int_equal(a[2], b[0]);
        assert_true(a[2] > a[0]); /* the low side is blue */
    }
    /* Distance from the grey grows towards both ends. */
    double prev = 0;
    for (int i = mid + 1; i < n; i++) {
        palette_rgb(d->c256[i], a);
        double dist = pow(a[0] - g[0], 2) + pow(a[1] - g[1], 2) + pow(a[2] - g[2], 2);
        assert_true(dist > prev);
        prev = dist;
    }
    /* The level never goes down as t rises. */
    int last = -1;
    for (double t = 0; t <= 1.0001; t += 0.001) {
        int l = palette_level(s->n256, t);
        assert_true(l >= last);
        last = l;
    }
}

static void test_palette_fallbacks(void **state)
{
    (void)state;
    const palette *s = &palette_sequential;
    for (double t = 0; t <= 1; t += 0.05) {
        int col = palette_colour(s, CANVAS_8, t);
        assert_true(col >= 0 && col <= 7);
        assert_int_equal(palette_colour(s, CANVAS_MONO, t), -1);
    }
    canvas_style lo = palette_style(s, CANVAS_8, 0), hi = palette_style(s, CANVAS_8, 1);
    assert_int_equal(lo.fg, COLOR_MAGENTA);
    assert_int_equal(lo.attr, CANVAS_DIM);
    assert_int_equal(hi.fg, COLOR_YELLOW);
    assert_int_equal(hi.attr, CANVAS_BOLD);
    assert_int_equal(palette_style(&palette_diverging, CANVAS_8, 0).fg, COLOR_BLUE);
    assert_int_equal(palette_style(&palette_diverging, CANVAS_8, 1).fg, COLOR_RED);
    assert_int_equal(palette_style(s, CANVAS_MONO, 1).attr, CANVAS_BOLD);
    assert_int_equal(palette_style(s, CANVAS_256, 1).fg, 226);
    /* Shades. */
    assert_int_equal(palette_shade(s, CANVAS_UTF8, 0), L' ');
    assert_int_equal(palette_shade(s, CANVAS_UTF8, 0.5), L'▒');
    assert_int_equal(palette_shade(s, CANVAS_UTF8, 1), L'█');
    assert_int_equal(palette_shade(s, CANVAS_ASCII, 1), L'#');
    assert_int_equal(palette_shade(s, CANVAS_ASCII, 0.3), L'.');
    assert_int_equal(palette_shade(s, CANVAS_UTF8, NAN), L' ');
    assert_int_equal(palette_shade(&palette_diverging, CANVAS_UTF8, 0), L'=');
    assert_int_equal(palette_shade(&palette_diverging, CANVAS_UTF8, 0.5), L'·');
    assert_int_equal(palette_shade(&palette_diverging, CANVAS_ASCII, 0.5), L'.');
    assert_int_equal(palette_shade(&palette_diverging, CANVAS_ASCII, 1), L'#');
    /* Full cells in each mode. */
    canvas *c = new_canvas(4, 1, CANVAS_UTF8, CANVAS_256);
    wchar_t ch;
    canvas_style st;
    palette_cell(s, c, 1, &ch, &st);
    assert_int_equal(ch, L' ');
    assert_int_equal(st.bg, 226);
    canvas_set_colours(c, CANVAS_8);
    palette_cell(s, c, 1, &ch, &st);
    assert_int_equal(ch, L'█');
    assert_int_equal(st.fg, COLOR_YELLOW);
    assert_int_equal(st.attr, CANVAS_BOLD);
    canvas_set_glyphs(c, CANVAS_ASCII);
    palette_cell(s, c, 1, &ch, &st);
    assert_int_equal(ch, L' ');
    assert_int_equal(st.bg, COLOR_YELLOW);
    canvas_set_colours(c, CANVAS_MONO);
    palette_cell(s, c, 1, &ch, &st);
    assert_int_equal(ch, L'#');
    palette_cell(s, c, NAN, &ch, &st);
    assert_int_equal(ch, L' ');
    assert_int_equal(st.bg, -1);
    canvas_free(c);
    /* Readable numbers on coloured cells. */
    assert_int_equal(palette_bg_style(&palette_counts, CANVAS_256, 0).fg, COLOR_BLACK);
    assert_int_equal(palette_bg_style(&palette_counts, CANVAS_256, 1).fg, 231);
    assert_int_equal(palette_bg_style(&palette_counts, CANVAS_256, 1).bg, 17);
    assert_int_equal(palette_bg_style(&palette_counts, CANVAS_8, 1).fg, COLOR_WHITE);
    assert_int_equal(palette_bg_style(&palette_counts, CANVAS_MONO, 1).attr, CANVAS_REVERSE);
}

static void test_palette_legend(void **state)
{
    (void)state;
    canvas *c = new_canvas(20, 2, CANVAS_UTF8, CANVAS_256);
    palette_legend(c, RECT(0, 0, 20, 2), &palette_sequential, 0, 40, "uS");
    assert_string_equal(row_text(c, 0, 1, 20), "0 uS   20 uS   40 uS");
    assert_int_equal(canvas_at(c, 0, 0)->bg, 53);
    assert_int_equal(canvas_at(c, 19, 0)->bg, 226);
    canvas_clear(c, canvas_bounds(c));
    palette_legend(c, RECT(0, 0, 20, 1), &palette_sequential, -1, 1, NULL);
    assert_string_equal(row_text(c, 0, 0, 3), "-1 ");
    assert_string_equal(row_text(c, 18, 0, 2), " 1");
    assert_int_equal(canvas_at(c, 3, 0)->bg, 53);
    assert_int_equal(canvas_at(c, 17, 0)->bg, 226);
    canvas_free(c);

    c = new_canvas(12, 2, CANVAS_ASCII, CANVAS_MONO);
    palette_legend(c, RECT(0, 0, 12, 2), &palette_sequential, 0, 1, "");
    assert_string_equal(row_text(c, 0, 0, 12), "  ...::***##");
    canvas_free(c);
}

/* ---- Heat maps. ----------------------------------------------------------------------- */

static void test_heatmap_block_means(void **state)
{
    (void)state;
    /* 4 x 4 into 2 x 2 pixels: means of the 2 x 2 blocks; ld 5 with a junk column. */
    const float m[4 * 5] = {1,  2,  3,  4,  99, 5,  6,  7,  8,  99, 9,  10, 11, 12, 99,
                            13, 14, 15, 16, 99};
    heatmap_src s;
    heatmap_src_init(&s, m, 4, 4, 5);
    float out[16];
    assert_int_equal(heatmap_resample(&s, 2, 2, out), 0);
    assert_float_equal(out[0], (1 + 2 + 5 + 6) / 4.0, 0);
    assert_float_equal(out[1], (3 + 4 + 7 + 8) / 4.0, 0);
    assert_float_equal(out[2], (9 + 10 + 13 + 14) / 4.0, 0);
    assert_float_equal(out[3], (11 + 12 + 15 + 16) / 4.0, 0);
    /* 4 rows onto 3 pixel rows: bins [0,1) [1,2) [2,4); 4 columns onto 1: all. */
    assert_int_equal(heatmap_resample(&s, 1, 3, out), 0);
    assert_float_equal(out[0], (1 + 2 + 3 + 4) / 4.0, 0);
    assert_float_equal(out[1], (5 + 6 + 7 + 8) / 4.0, 0);
    assert_float_equal(out[2], (9 + 10 + 11 + 12 + 13 + 14 + 15 + 16) / 8.0, 0);
    /* 5 columns onto 2 pixels: [0,2) [2,5). */
    const float r5[5] = {1, 2, 3, 4, 8};
    heatmap_src_init(&s, r5, 1, 5, 5);
    assert_int_equal(heatmap_resample(&s, 2, 1, out), 0);
    assert_float_equal(out[0], 1.5, 0);
    assert_float_equal(out[1], 5, 0);
    /* Nearest upscaling: 2 x 2 onto 4 x 3 pixels; columns 0 0 1 1, rows 0 1 1. */
    const float u[4] = {1, 2, 3, 4};
    heatmap_src_init(&s, u, 2, 2, 2);
    assert_int_equal(heatmap_resample(&s, 4, 3, out), 0);
    const float want[12] = {1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
    for (int i = 0; i < 12; i++) assert_float_equal(out[i], want[i], 0);
    assert_int_equal(heatmap_resample(&s, 0, 3, out), -1);
}

/* The other samplings of a downscaled block: its centre value, the sign of the majority, the
 * value of largest magnitude; NaN left out, an all-NaN block blank. */
static void test_heatmap_samplings(void **state)
{
    (void)state;
    /* 4 x 4 of +-1 (and one 3, one NaN) into 2 x 2 pixels of 2 x 2 blocks. */
    const float m[16] = {1, -1, -1, -1,   /* block 0: 1 -1 / 1 1     block 1: -1 -1 / -1 1 */
                         1, 1,  -1, 1,
                         -1, 1, NAN, NAN, /* block 2: -1 1 / 1 -1    block 3: all NaN but 3 */
                         1, -1, NAN, 3};
    heatmap_src s;
    heatmap_src_init(&s, m, 4, 4, 4);
    float out[4];
    s.sample = HEATMAP_SIGN;
    assert_int_equal(heatmap_resample(&s, 2, 2, out), 0);
    assert_float_equal(out[0], 1, 0);  /* three + against one - */
    assert_float_equal(out[1], -1, 0); /* three - */
    assert_float_equal(out[2], 0, 0);  /* a tie */
    assert_float_equal(out[3], 1, 0);  /* the one value, 3 */
    s.sample = HEATMAP_MAXABS;
    assert_int_equal(heatmap_resample(&s, 2, 2, out), 0);
    assert_float_equal(out[0], 1, 0);
    assert_float_equal(out[1], -1, 0);
    assert_float_equal(out[3], 3, 0);
    s.sample = HEATMAP_NEAREST; /* the block's upper-left of centre: (0,0) (0,2) (2,0) (2,2) */
    assert_int_equal(heatmap_resample(&s, 2, 2, out), 0);
    assert_float_equal(out[0], 1, 0);
    assert_float_equal(out[1], -1, 0);
    assert_float_equal(out[2], -1, 0);
    assert_true(isnan(out[3]));
    s.sample = HEATMAP_MEAN;
    assert_int_equal(heatmap_resample(&s, 2, 2, out), 0);
    assert_float_equal(out[0], 0.5, 0);
    assert_float_equal(out[3], 3, 0);
    assert_string_equal(heatmap_sampling_names[HEATMAP_SIGN], "sign");
}

static void test_heatmap_nan_and_window(void **state)
{
    (void)state;
    const float m[16] = {NAN, NAN, 1, NAN, NAN, NAN, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    heatmap_src s;
    heatmap_src_init(&s, m, 4, 4, 4);
    float out[4], lo, hi;
    assert_int_equal(heatmap_resample(&s, 2, 2, out), 0);
    assert_true(isnan(out[0]));             /* all NaN: blank */
    assert_float_equal(out[1], 2, 0);       /* mean of 1, 2, 3 */
    heatmap_range(&s, &lo, &hi);
    assert_float_equal(lo, 1, 0);
    assert_float_equal(hi, 11, 0);
    /* The window rows 2..3, columns 1..2. */
    s.row0 = 2, s.col0 = 1, s.nrows = 2, s.ncols = 2;
    assert_int_equal(heatmap_resample(&s, 2, 2, out), 0);
    assert_float_equal(out[0], 5, 0);
    assert_float_equal(out[1], 6, 0);
    assert_float_equal(out[2], 9, 0);
    assert_float_equal(out[3], 10, 0);
    heatmap_range(&s, &lo, &hi);
    assert_float_equal(lo, 5, 0);
    assert_float_equal(hi, 10, 0);
    s.lo = -1, s.hi = 1;
    heatmap_range(&s, &lo, &hi);
    assert_float_equal(hi, 1, 0);
    /* A window partly outside is clipped; wholly outside is empty. */
    s.row0 = 3, s.nrows = 5;
    assert_int_equal(heatmap_resample(&s, 2, 1, out), 0);
    assert_float_equal(out[0], 9, 0);
    s.row0 = 9;
    assert_int_equal(heatmap_resample(&s, 2, 1, out), -1);
    /* Zoom and pan. */
    heatmap_src z;
    heatmap_src_init(&z, m, 512, 256, 256);
    heatmap_zoom(&z, 2);
    assert_int_equal(z.row0, 128);
    assert_int_equal(z.nrows, 256);
    assert_int_equal(z.col0, 64);
    assert_int_equal(z.ncols, 128);
    heatmap_pan(&z, 1000, -1000);
    assert_int_equal(z.row0, 256);
    assert_int_equal(z.col0, 0);
    heatmap_zoom(&z, 1e9);
    assert_int_equal(z.nrows, 1);
    heatmap_zoom(&z, 1e-9);
    assert_int_equal(z.row0, 0);
    assert_int_equal(z.nrows, 512);
}

/* The wheel zooms at the pointer: the source point under it stays at its place. */
static void test_heatmap_zoom_at(void **state)
{
    (void)state;
    heatmap_src z;
    heatmap_src_init(&z, NULL, 512, 512, 512);
    heatmap_zoom_at(&z, 2, 128, 384); /* a quarter down, three quarters across */
    assert_int_equal(z.nrows, 256);
    assert_int_equal(z.ncols, 256);
    assert_int_equal(z.row0, 64);  /* 128 - 0.25 * 256: still a quarter down */
    assert_int_equal(z.col0, 192); /* 384 - 0.75 * 256 */
    heatmap_zoom_at(&z, 0.5, 128, 384); /* and back out about the same point */
    assert_int_equal(z.row0, 0);
    assert_int_equal(z.col0, 0);
    assert_int_equal(z.nrows, 512);
    /* at the last row: 511 - 511/512 * 128 = 383.1; out again past the top: clamped to 0 */
    heatmap_zoom_at(&z, 4, 511, 0);
    assert_int_equal(z.nrows, 128);
    assert_int_equal(z.row0, 383);
    assert_int_equal(z.col0, 0);
    heatmap_zoom_at(&z, 0.5, 500, 0); /* 500 - 117/128 * 256 = 266 > 512 - 256: clamped */
    assert_int_equal(z.row0, 256);
    heatmap_zoom_at(&z, 0.25, 300, 0); /* the whole height: row 0 */
    assert_int_equal(z.row0, 0);
    assert_int_equal(z.nrows, 512);
    heatmap_zoom_at(&z, 4, 511, 0);
    heatmap_zoom_at(&z, 0, 1, 1); /* a factor <= 0 does nothing */
    assert_int_equal(z.nrows, 128);
}

static void test_heatmap_half_blocks(void **state)
{
    (void)state;
    /* 2 x 2 into 2 x 1 cells: each cell's upper pixel is row 0, its lower pixel row 1. */
    const float m[4] = {0, 1, 1, 0};
    heatmap_src s;
    heatmap_src_init(&s, m, 2, 2, 2);
    s.lo = 0, s.hi = 1;
    canvas *c = new_canvas(2, 1, CANVAS_UTF8, CANVAS_256);
    heatmap_draw(c, RECT(0, 0, 2, 1), &s, &palette_sequential);
    const canvas_cell *a = canvas_at(c, 0, 0), *b = canvas_at(c, 1, 0);
    assert_int_equal(a->ch, L'▀');
    assert_int_equal(a->fg, 53);
    assert_int_equal(a->bg, 226);
    assert_int_equal(b->ch, L'▀');
    assert_int_equal(b->fg, 226);
    assert_int_equal(b->bg, 53);
    /* NaN pixels: upper blank gives '▄' in the lower colour, both blank a blank. */
    const float n[4] = {NAN, NAN, 1, NAN};
    heatmap_src_init(&s, n, 2, 2, 2);
    s.lo = 0, s.hi = 1;
    heatmap_draw(c, RECT(0, 0, 2, 1), &s, &palette_sequential);
    assert_int_equal(a->ch, L'▄');
    assert_int_equal(a->fg, 226);
    assert_int_equal(a->bg, -1);
    assert_int_equal(b->ch, L' ');
    assert_int_equal(b->bg, -1);
    /* 8 colours: the palette's ANSI colours. */
    heatmap_src_init(&s, m, 2, 2, 2);
    s.lo = 0, s.hi = 1;
    canvas_set_colours(c, CANVAS_8);
    heatmap_draw(c, RECT(0, 0, 2, 1), &s, &palette_sequential);
    assert_int_equal(a->fg, COLOR_MAGENTA);
    assert_int_equal(a->bg, COLOR_YELLOW);
    /* ASCII with colour: one pixel per cell, the mean of both rows, on the background. */
    canvas_set_glyphs(c, CANVAS_ASCII);
    heatmap_draw(c, RECT(0, 0, 2, 1), &s, &palette_diverging);
    assert_int_equal(a->ch, L' ');
    assert_int_equal(a->bg, palette_colour(&palette_diverging, CANVAS_8, 0.5));
    /* All equal values: t = 0.5. */
    const float e[4] = {3, 3, 3, 3};
    heatmap_src_init(&s, e, 2, 2, 2);
    canvas_set_colours(c, CANVAS_256);
    canvas_set_glyphs(c, CANVAS_UTF8);
    heatmap_draw(c, RECT(0, 0, 2, 1), &s, &palette_diverging);
    assert_int_equal(a->fg, 239);
    assert_int_equal(a->bg, 239);
    canvas_free(c);
}

static void test_heatmap_boundaries(void **state)
{
    (void)state;
    float m[16];
    for (int i = 0; i < 16; i++) m[i] = 0;
    static const int rows[] = {2, 7}, cols[] = {1}; /* 7 is outside: ignored */
    heatmap_src s;
    heatmap_src_init(&s, m, 4, 4, 4);
    s.lo = 0, s.hi = 1;
    s.hlines = rows, s.nhlines = 2, s.vlines = cols, s.nvlines = 1;
    s.line_colour = 15;
    /* 4 x 4 pixels in 4 x 2 cells: pixel row 2 is the upper half of cell row 1. */
    canvas *c = new_canvas(4, 2, CANVAS_UTF8, CANVAS_256);
    heatmap_draw(c, RECT(0, 0, 4, 2), &s, &palette_sequential);
    assert_int_equal(canvas_at(c, 0, 0)->fg, 53);
    assert_int_equal(canvas_at(c, 0, 0)->bg, 53);
    assert_int_equal(canvas_at(c, 0, 1)->fg, 15);
    assert_int_equal(canvas_at(c, 0, 1)->bg, 53);
    for (int y = 0; y < 2; y++) {
        assert_int_equal(canvas_at(c, 1, y)->fg, 15);
        assert_int_equal(canvas_at(c, 1, y)->bg, 15);
    }
    /* Monochrome: the boundary glyphs. */
    canvas *k = new_canvas(4, 4, CANVAS_UTF8, CANVAS_MONO);
    heatmap_draw(k, RECT(0, 0, 4, 4), &s, &palette_sequential);
    assert_string_equal(row_text(k, 0, 0, 4), " │  ");
    assert_string_equal(row_text(k, 0, 2, 4), "─┼──");
    canvas_set_glyphs(k, CANVAS_ASCII);
    heatmap_draw(k, RECT(0, 0, 4, 4), &s, &palette_sequential);
    assert_string_equal(row_text(k, 0, 2, 4), "-+--");
    /* Downscaled: 8 source rows onto 4 pixels, the line at source row 5 in pixel 2
     * (bins [0,2) [2,4) [4,6) [6,8)); upscaled: 2 rows onto 4 pixels, row 1 first shown by
     * pixel 2. */
    float big[8] = {0};
    static const int r5[] = {5}, r1[] = {1};
    heatmap_src_init(&s, big, 8, 1, 1);
    s.lo = 0, s.hi = 1;
    s.hlines = r5, s.nhlines = 1;
    canvas_clear(k, canvas_bounds(k));
    heatmap_draw(k, RECT(0, 0, 1, 4), &s, &palette_sequential);
    assert_string_equal(row_text(k, 0, 1, 1), " ");
    assert_string_equal(row_text(k, 0, 2, 1), "-");
    heatmap_src_init(&s, big, 2, 1, 1);
    s.lo = 0, s.hi = 1;
    s.hlines = r1, s.nhlines = 1;
    canvas_clear(k, canvas_bounds(k));
    heatmap_draw(k, RECT(0, 0, 1, 4), &s, &palette_sequential);
    assert_string_equal(row_text(k, 0, 1, 1), " ");
    assert_string_equal(row_text(k, 0, 2, 1), "-");
    canvas_free(k);
    canvas_free(c);
}

/* ---- Plots. --------------------------------------------------------------------------- */

static void test_braille_bits(void **state)
{
    (void)state;
    braille b;
    assert_int_equal(braille_init(&b, 2, 1), 0);
    braille_line(&b, 0, 0, 3, 0, 9); /* the top row of dots of both cells */
    assert_int_equal(b.bits[0], 0x09);
    assert_int_equal(b.bits[1], 0x09);
    assert_int_equal(b.colour[1], 9);
    braille_clear(&b);
    braille_line(&b, 0, 0, 3, 3, 1); /* (0,0) (1,1) | (2,2) (3,3) */
    assert_int_equal(b.bits[0], 0x01 | 0x10);
    assert_int_equal(b.bits[1], 0x04 | 0x80);
    braille_clear(&b);
    braille_line(&b, 0, 3, 0, 0, 1); /* the left column, drawn upwards */
    assert_int_equal(b.bits[0], 0x47);
    assert_int_equal(b.bits[1], 0);
    braille_dot(&b, 4, 0, 1); /* outside */
    braille_dot(&b, -1, 0, 1);
    assert_int_equal(b.bits[1], 0);
    assert_int_equal(braille_char(0x47), 0x2847);
    assert_int_equal(braille_char(0xff), L'⣿');
    canvas *c = new_canvas(2, 1, CANVAS_UTF8, CANVAS_256);
    braille_draw(&b, c, 0, 0);
    assert_int_equal(ch_at(c, 0, 0), 0x2847);
    assert_int_equal(ch_at(c, 1, 0), L' '); /* no dots: untouched */
    /* ASCII at cell resolution. */
    canvas_set_glyphs(c, CANVAS_ASCII);
    braille_clear(&b);
    braille_line(&b, 0, 0, 1, 0, 1); /* upper half of cell 0 */
    braille_line(&b, 2, 3, 3, 3, 1); /* lower half of cell 1 */
    braille_draw(&b, c, 0, 0);
    assert_string_equal(row_text(c, 0, 0, 2), "'.");
    braille_dot(&b, 0, 3, 1);
    braille_draw(&b, c, 0, 0);
    assert_int_equal(ch_at(c, 0, 0), L'*');
    braille_free(&b);
    canvas_free(c);
}

static void test_ticks_and_ranges(void **state)
{
    (void)state;
    double t[32], step;
    int n = plot_ticks(0, 1, 6, t, &step);
    assert_int_equal(n, 6);
    assert_float_equal(step, 0.2, 1e-12);
    assert_float_equal(t[5], 1.0, 1e-12);
    n = plot_ticks(-3, 17, 5, t, &step); /* span 20 / 4 = 5 */
    assert_float_equal(step, 5, 0);
    assert_int_equal(n, 4);
    assert_float_equal(t[0], 0, 0);
    assert_float_equal(t[3], 15, 0);
    assert_int_equal(plot_ticks(1, 1, 5, t, &step), 0);

    const float y[4] = {0.13f, 0.5f, NAN, 0.87f};
    plot_series s = {NULL, y, 4, 2, NULL};
    double lo, hi;
    assert_int_equal(plot_auto_range(&s, 1, 1, 6, &lo, &hi), 0);
    assert_float_equal(lo, 0, 1e-12);
    assert_float_equal(hi, 1, 1e-12);
    assert_int_equal(plot_auto_range(&s, 1, 0, 4, &lo, &hi), 0); /* x = 0..3 */
    assert_float_equal(lo, 0, 0);
    assert_float_equal(hi, 3, 0);
    const float x3[3] = {0.5f, 49, 7}, y3[3] = {0.2f, 0.4f, 0.3f};
    plot_series s3 = {x3, y3, 3, 2, NULL};
    assert_int_equal(plot_auto_range(&s3, 1, 0, 6, &lo, &hi), 0); /* x: the data's extent */
    assert_float_equal(lo, 0.5, 0);
    assert_float_equal(hi, 49, 0);
    assert_int_equal(plot_auto_range(&s3, 1, 1, 6, &lo, &hi), 0); /* y: whole steps of 0.05 */
    assert_float_equal(lo, 0.2, 1e-12);
    assert_float_equal(hi, 0.4, 1e-12);
    const float one[1] = {5};
    plot_series s1 = {NULL, one, 1, 2, NULL};
    assert_int_equal(plot_auto_range(&s1, 1, 1, 3, &lo, &hi), 0);
    assert_true(lo < 5 && hi > 5);
    const float none[2] = {NAN, INFINITY};
    plot_series s0 = {NULL, none, 2, 2, NULL};
    assert_int_equal(plot_auto_range(&s0, 1, 1, 3, &lo, &hi), -1);
    assert_float_equal(hi, 1, 0);
}

static void test_plot_draw(void **state)
{
    (void)state;
    /* Automatic axes, then drawn as set; a rising line ends top right. */
    canvas *c = new_canvas(30, 8, CANVAS_UTF8, CANVAS_256);
    const float x2[2] = {0, 10}, y2[2] = {0, 1};
    plot_series line = {x2, y2, 2, 5, NULL};
    plot_axes a;
    plot_axes_auto(&a, &line, 1);
    assert_float_equal(a.xmin, 0, 0);
    assert_float_equal(a.xmax, 10, 0);
    assert_float_equal(a.ymin, 0, 0);
    assert_float_equal(a.ymax, 1, 0);
    assert_null(a.xlabel);
    plot_draw(c, RECT(0, 0, 30, 8), &line, 1, &a);
    /* Labels "0.0" .. "1.0" (3 columns), the axis in column 3, the plot from column 4. */
    assert_string_equal(row_text(c, 0, 0, 4), "1.0┤");
    assert_string_equal(row_text(c, 0, 5, 4), "0.0┤");
    assert_string_equal(row_text(c, 3, 6, 2), "└┬");
    assert_int_equal(ch_at(c, 29, 6), L'┬');
    assert_string_equal(row_text(c, 28, 7, 2), "10");
    const canvas_cell *top = canvas_at(c, 29, 0), *bottom = canvas_at(c, 4, 5);
    assert_true(top->ch > 0x2800 && top->ch <= 0x28ff);
    assert_int_equal(top->fg, 5);
    assert_true(bottom->ch & 0x40); /* dot (0, 3): the lowest left dot */
    canvas_free(c);

    /* Labels: the y label and the legend on the first row, the x label bottom right (the
     * tick label "10" under it is left out). */
    c = new_canvas(40, 9, CANVAS_UTF8, CANVAS_256);
    const float y3[2] = {1, 0};
    plot_series two[2] = {{x2, y2, 2, 4, "train"}, {x2, y3, 2, 2, "val"}};
    plot_axes_auto(&a, two, 2);
    a.ylabel = "acc %";
    a.xlabel = "epoch";
    plot_draw(c, RECT(0, 0, 40, 9), two, 2, &a);
    assert_string_equal(row_text(c, 0, 0, 40), "acc %                     ─ train  ─ val");
    assert_int_equal(canvas_at(c, 28, 0)->fg, 4);
    assert_int_equal(canvas_at(c, 37, 0)->fg, 2);
    assert_string_equal(row_text(c, 35, 8, 5), "epoch");
    assert_string_equal(row_text(c, 0, 1, 4), "1.0┤");
    assert_string_equal(row_text(c, 30, 8, 5), "     ");
    /* Too narrow for the legend: entries left out from the end. */
    canvas_clear(c, canvas_bounds(c));
    plot_draw(c, RECT(0, 0, 16, 9), two, 2, &a);
    assert_string_equal(row_text(c, 0, 0, 16), "acc %    ─ train");
    canvas_free(c);

    /* ASCII: the axes in +-|. */
    c = new_canvas(30, 8, CANVAS_ASCII, CANVAS_MONO);
    plot_axes_auto(&a, &line, 1);
    plot_draw(c, RECT(0, 0, 30, 8), &line, 1, &a);
    assert_string_equal(row_text(c, 0, 0, 4), "1.0+");
    assert_string_equal(row_text(c, 0, 3, 4), "   |");
    assert_string_equal(row_text(c, 3, 6, 3), "++-");
    canvas_free(c);
}

static void test_bars(void **state)
{
    (void)state;
    canvas *c = new_canvas(4, 2, CANVAS_UTF8, CANVAS_256);
    const double v[2] = {1, 0.5};
    plot_bars(c, RECT(0, 0, 2, 2), v, 2, 0, STYLE(3, -1, 0));
    assert_string_equal(row_text(c, 0, 0, 2), "█ ");
    assert_string_equal(row_text(c, 0, 1, 2), "██");
    canvas_clear(c, canvas_bounds(c));
    const double w[3] = {0.3, -1, NAN};
    plot_bars(c, RECT(0, 0, 3, 1), w, 3, 1, STYLE_NORMAL); /* 2.4 eighths: ▂ */
    assert_string_equal(row_text(c, 0, 0, 3), "▂  ");
    /* 2 values over 4 columns: 2 columns each; 5 values over 2 columns: sums [0,2) [2,5). */
    canvas_clear(c, canvas_bounds(c));
    const double h[5] = {1, 1, 1, 1, 2};
    plot_bars(c, RECT(0, 0, 2, 2), h, 5, 0, STYLE_NORMAL);
    assert_string_equal(row_text(c, 0, 0, 2), " █");
    assert_string_equal(row_text(c, 0, 1, 2), "██");
    canvas_clear(c, canvas_bounds(c));
    plot_bars(c, RECT(0, 0, 4, 1), v, 2, 0, STYLE_NORMAL);
    assert_string_equal(row_text(c, 0, 0, 4), "██▄▄");
    canvas_set_glyphs(c, CANVAS_ASCII);
    canvas_clear(c, canvas_bounds(c));
    plot_bars(c, RECT(0, 0, 2, 2), v, 2, 0, STYLE_NORMAL);
    assert_string_equal(row_text(c, 0, 0, 2), "# ");
    assert_string_equal(row_text(c, 0, 1, 2), "##");
    canvas_free(c);
    /* Two histograms over the same bins: the legend and the largest count, the bars (the
     * shorter over the taller, its partial top on the taller's colour), the bin range. */
    c = new_canvas(20, 5, CANVAS_UTF8, CANVAS_256);
    const double lrs[4] = {0, 4, 0, 1}, hrs[4] = {2, 2, 0, 0};
    plot_hist hs[2] = {{lrs, 1, "LRS"}, {hrs, 4, "HRS"}};
    plot_histogram(c, RECT(0, 0, 20, 5), hs, 2, 4, 0, 40, "uS");
    assert_string_equal(row_text(c, 0, 0, 20), "LRS  HRS       max 4");
    assert_int_equal(canvas_at(c, 0, 0)->fg, 1);
    assert_int_equal(canvas_at(c, 5, 0)->fg, 4);
    assert_string_equal(row_text(c, 0, 4, 20), "0 uS   20 uS   40 uS");
    /* bin 0 (columns 0-4): HRS alone, 2/4 of 3 rows = 1.5 rows */
    assert_string_equal(row_text(c, 0, 1, 5), "     ");
    assert_string_equal(row_text(c, 0, 2, 5), "▄▄▄▄▄");
    assert_int_equal(canvas_at(c, 0, 2)->bg, -1);
    assert_string_equal(row_text(c, 0, 3, 5), "█████");
    /* bin 1 (columns 5-9): LRS full height, HRS over it */
    assert_int_equal(ch_at(c, 5, 1), L'█');
    assert_int_equal(canvas_at(c, 5, 1)->fg, 1);
    assert_int_equal(ch_at(c, 5, 2), L'▄');
    assert_int_equal(canvas_at(c, 5, 2)->fg, 4);
    assert_int_equal(canvas_at(c, 5, 2)->bg, 1);
    assert_int_equal(canvas_at(c, 5, 3)->fg, 4);
    /* bin 3 (columns 15-19): LRS 1/4 of 3 rows = 6 eighths */
    assert_int_equal(ch_at(c, 15, 3), L'▆');
    canvas_free(c);
    /* Binning. */
    const double x[6] = {0, 0.1, 0.5, 0.99, 1.0, 2};
    double counts[2];
    assert_int_equal(plot_bin(x, 6, 0, 1, 2, counts), 5);
    assert_float_equal(counts[0], 2, 0);
    assert_float_equal(counts[1], 3, 0);
}

/* ---- Layout. -------------------------------------------------------------------------- */

static void test_layout_split(void **state)
{
    (void)state;
    int size[4];
    const int w111[3] = {1, 1, 1}, m000[3] = {0, 0, 0};
    assert_int_equal(layout_split(10, 3, w111, m000, size), 0);
    assert_int_equal(size[0], 4); /* equal fractions: the first part first */
    assert_int_equal(size[1], 3);
    assert_int_equal(size[2], 3);
    assert_int_equal(layout_split(11, 3, w111, m000, size), 0);
    assert_int_equal(size[0], 4);
    assert_int_equal(size[1], 4);
    assert_int_equal(size[2], 3);
    const int w21[2] = {2, 1}, w12[2] = {1, 2}, m00[2] = {0, 0};
    assert_int_equal(layout_split(10, 2, w21, m00, size), 0); /* 6.67 3.33 */
    assert_int_equal(size[0], 7);
    assert_int_equal(size[1], 3);
    assert_int_equal(layout_split(10, 2, w12, m00, size), 0); /* 3.33 6.67 */
    assert_int_equal(size[0], 3);
    assert_int_equal(size[1], 7);
    /* A minimum above the share pins the part; the rest share what is left. */
    const int w11[2] = {1, 1}, m80[2] = {8, 0};
    assert_int_equal(layout_split(10, 2, w11, m80, size), 0);
    assert_int_equal(size[0], 8);
    assert_int_equal(size[1], 2);
    const int w311[3] = {3, 1, 1}, m055[3] = {0, 5, 5};
    assert_int_equal(layout_split(20, 3, w311, m055, size), 0); /* 12 4 4 -> 10 5 5 */
    assert_int_equal(size[0], 10);
    assert_int_equal(size[1], 5);
    assert_int_equal(size[2], 5);
    /* Weight 0: a fixed size. All weights 0: the rest to the last part. */
    const int w10[2] = {1, 0}, m01[2] = {0, 1};
    assert_int_equal(layout_split(24, 2, w10, m01, size), 0);
    assert_int_equal(size[0], 23);
    assert_int_equal(size[1], 1);
    const int w00[2] = {0, 0}, m23[2] = {2, 3};
    assert_int_equal(layout_split(9, 2, w00, m23, size), 0);
    assert_int_equal(size[0], 2);
    assert_int_equal(size[1], 7);
    /* Too small; invalid. */
    const int m66[2] = {6, 6}, wneg[2] = {1, -1};
    assert_int_equal(layout_split(10, 2, w11, m66, size), -1);
    assert_int_equal(size[0], 6);
    assert_int_equal(layout_split(10, 2, wneg, m00, size), -1);
    assert_int_equal(layout_split(10, 0, w11, m00, size), -1);
    /* The sizes always sum to the total. */
    for (int total = 0; total < 60; total++) {
        const int w[4] = {5, 3, 0, 7}, m[4] = {0, 2, 1, 0};
        if (total < 3) {
            assert_int_equal(layout_split(total, 4, w, m, size), -1);
            continue;
        }
        assert_int_equal(layout_split(total, 4, w, m, size), 0);
        assert_int_equal(size[0] + size[1] + size[2] + size[3], total);
        assert_int_equal(size[2], 1);
        assert_true(size[1] >= 2);
    }
    rect parts[2];
    assert_int_equal(layout_split_rect(RECT(5, 2, 10, 4), 1, 2, w21, m00, parts), 0);
    assert_int_equal(parts[1].x, 12);
    assert_int_equal(parts[1].w, 3);
    assert_int_equal(parts[1].h, 4);
}

static const layout_node preset = LAYOUT_ROWS(1,
    LAYOUT_COLS(3, LAYOUT_LEAF("conductance", 2, 30, 10), LAYOUT_LEAF("switch", 1, 20, 6)),
    LAYOUT_LEAF("output", 1, 20, 3),
    LAYOUT_LEAF("repl", 0, 20, 1));

static void test_layout_tree(void **state)
{
    (void)state;
    int w, h;
    layout_min_size(&preset, &w, &h);
    assert_int_equal(w, 50);
    assert_int_equal(h, 14);
    assert_int_equal(layout_count(&preset), 4);
    layout_slot s[8];
    assert_int_equal(layout_compute(&preset, RECT(0, 0, 100, 41), s, 8), 4);
    /* Rows: 40 shared 3:1 = 30, 10, then the repl line. Columns: 100 shared 2:1. */
    const rect *r = layout_find(s, 4, "conductance");
    assert_non_null(r);
    assert_int_equal(r->x, 0);
    assert_int_equal(r->w, 67);
    assert_int_equal(r->h, 30);
    r = layout_find(s, 4, "switch");
    assert_int_equal(r->x, 67);
    assert_int_equal(r->w, 33);
    r = layout_find(s, 4, "output");
    assert_int_equal(r->y, 30);
    assert_int_equal(r->h, 10);
    r = layout_find(s, 4, "repl");
    assert_int_equal(r->y, 40);
    assert_int_equal(r->h, 1);
    assert_int_equal(r->w, 100);
    assert_null(layout_find(s, 4, "confusion"));
    /* Small screens: the minimums win, then too small. */
    assert_int_equal(layout_compute(&preset, RECT(0, 0, 50, 14), s, 8), 4);
    assert_int_equal(layout_find(s, 4, "conductance")->w, 30);
    assert_int_equal(layout_find(s, 4, "output")->h, 3);
    assert_int_equal(layout_compute(&preset, RECT(0, 0, 49, 14), s, 8), LAYOUT_TOO_SMALL);
    assert_int_equal(layout_compute(&preset, RECT(0, 0, 50, 13), s, 8), LAYOUT_TOO_SMALL);
    assert_int_equal(layout_compute(&preset, RECT(0, 0, 100, 40), s, 3), LAYOUT_INVALID);
    const layout_node empty = {.kind = LAYOUT_ROWS_NODE, .weight = 1};
    assert_int_equal(layout_compute(&empty, RECT(0, 0, 10, 10), s, 8), LAYOUT_INVALID);
    /* The leaves tile the screen. */
    for (int sw = 50; sw < 130; sw += 7)
        for (int sh = 14; sh < 60; sh += 5) {
            assert_int_equal(layout_compute(&preset, RECT(0, 0, sw, sh), s, 8), 4);
            long area = 0;
            for (int i = 0; i < 4; i++) area += (long)s[i].r.w * s[i].r.h;
            assert_int_equal(area, (long)sw * sh);
        }
}

/* ---- The renderer, through ncurses. --------------------------------------------------- */

typedef struct {
    FILE *out, *in;
    SCREEN *scr;
} term;

static int term_open(term *t, const char *name)
{
    setenv("TERM", name, 1);
    t->out = fopen("/dev/null", "w");
    t->in = fopen("/dev/null", "r");
    if (!t->out || !t->in) return -1;
    t->scr = newterm(name, t->out, t->in);
    if (!t->scr) return -1;
    set_term(t->scr);
    return 0;
}

static void term_close(term *t)
{
    endwin();
    delscreen(t->scr);
    fclose(t->out);
    fclose(t->in);
}

/* What window cell (x, y) holds: character, attributes, and the pair's colours. */
typedef struct {
    wchar_t ch;
    attr_t attr;
    int pair, fg, bg;
} shown;

static shown read_cell(WINDOW *w, int x, int y)
{
    cchar_t cc;
    wchar_t wch[CCHARW_MAX + 1];
    shown s = {0};
    short spair;
    assert_int_equal(mvwin_wch(w, y, x, &cc), OK);
    assert_int_equal(getcchar(&cc, wch, &s.attr, &spair, &s.pair), OK);
    s.ch = wch[0];
    assert_int_equal(extended_pair_content(s.pair, &s.fg, &s.bg), OK);
    return s;
}

static int setup_term256(void **state)
{
    term *t = calloc(1, sizeof *t);
    if (!t || term_open(t, "xterm-256color")) return -1;
    *state = t;
    return 0;
}

static int teardown_term(void **state)
{
    term *t = *state;
    term_close(t);
    free(t);
    return 0;
}

/* The same canvas in each colour mode: a wide character, text in colours and attributes, a
 * heat-map cell, blitted at an offset into an off-screen window and read back. */
static canvas *sample_canvas(canvas_colours m)
{
    canvas *c = new_canvas(8, 2, CANVAS_UTF8, m);
    canvas_put(c, 0, 0, L'漢', STYLE(196, 21, CANVAS_BOLD));
    canvas_text(c, 2, 0, 3, "ab", STYLE(-1, 226, CANVAS_UNDERLINE));
    canvas_put(c, 7, 0, L'▀', STYLE(53, 226, 0));
    canvas_put(c, 0, 1, L'x', STYLE(3, -1, CANVAS_REVERSE | CANVAS_DIM));
    return c;
}

static void test_blit_256(void **state)
{
    (void)state;
    assert_int_equal(canvas_colours_init(), CANVAS_256);
    WINDOW *w = newwin(5, 12, 0, 0);
    assert_non_null(w);
    canvas *c = sample_canvas(CANVAS_256);
    assert_int_equal(canvas_blit(c, w, 1, 2), 0);
    shown s = read_cell(w, 1, 2);
    assert_int_equal(s.ch, L'漢');
    assert_int_equal(s.fg, 196);
    assert_int_equal(s.bg, 21);
    assert_true(s.attr & A_BOLD);
    assert_int_equal(read_cell(w, 2, 2).ch, L'漢'); /* ncurses repeats it in the right half */
    s = read_cell(w, 3, 2);
    assert_int_equal(s.ch, L'a');
    assert_int_equal(s.fg, -1);
    assert_int_equal(s.bg, 226);
    assert_true(s.attr & A_UNDERLINE);
    assert_false(s.attr & A_BOLD);
    s = read_cell(w, 8, 2);
    assert_int_equal(s.ch, L'▀');
    assert_int_equal(s.fg, 53);
    assert_int_equal(s.bg, 226);
    s = read_cell(w, 1, 3);
    assert_int_equal(s.ch, L'x');
    assert_int_equal(s.fg, 3);
    assert_true(s.attr & A_REVERSE);
    assert_true(s.attr & A_DIM);
    s = read_cell(w, 2, 3);
    assert_int_equal(s.ch, L' ');
    assert_int_equal(s.pair, 0);
    /* The same (fg, bg) is the same pair, before and after forgetting the cache. */
    int p = canvas_pair(CANVAS_256, 196, 21);
    assert_int_equal(p, read_cell(w, 1, 2).pair);
    canvas_colours_reset();
    assert_int_equal(canvas_pair(CANVAS_256, 196, 21), p);
    assert_int_equal(canvas_pair(CANVAS_256, -1, -1), 0);
    /* Clipping: a canvas hanging over the right edge; its wide char cut by the edge is a
     * blank; a region with only the right half of a wide char shows a blank. */
    werase(w);
    assert_int_equal(canvas_blit(c, w, 11, 0), 0);
    assert_int_equal(read_cell(w, 11, 0).ch, L' ');
    assert_int_equal(read_cell(w, 11, 0).bg, 21);
    werase(w);
    assert_int_equal(canvas_blit_rect(c, RECT(1, 0, 3, 1), w, 0, 0), 0);
    assert_int_equal(read_cell(w, 0, 0).ch, L' ');
    assert_int_equal(read_cell(w, 1, 0).ch, L'a');
    assert_int_equal(canvas_blit(c, w, -3, -1), 0); /* row 1 from column 3 at (0, 0) */
    assert_int_equal(canvas_blit(c, NULL, 0, 0), -1);
    canvas_free(c);
    delwin(w);
}

static void test_blit_8(void **state)
{
    (void)state;
    canvas_colours_init();
    WINDOW *w = newwin(5, 12, 0, 0);
    canvas *c = sample_canvas(CANVAS_8);
    canvas_blit(c, w, 0, 0);
    shown s = read_cell(w, 0, 0);
    assert_int_equal(s.ch, L'漢');
    assert_int_equal(s.fg, COLOR_RED);    /* 196, pure red */
    assert_int_equal(s.bg, COLOR_BLUE);   /* 21, pure blue */
    assert_int_equal(canvas_colour8(196), COLOR_RED);
    assert_int_equal(canvas_colour8(226), COLOR_YELLOW);
    assert_int_equal(canvas_colour8(240), COLOR_BLACK);
    assert_int_equal(canvas_colour8(250), COLOR_WHITE);
    assert_int_equal(canvas_colour8(-1), -1);
    s = read_cell(w, 7, 0);
    assert_int_equal(s.fg, COLOR_MAGENTA); /* 53, dark purple */
    assert_int_equal(s.bg, COLOR_YELLOW);
    s = read_cell(w, 0, 1);
    assert_int_equal(s.fg, 3);
    assert_int_equal(s.bg, -1);
    canvas_free(c);
    delwin(w);
}

static void test_blit_mono(void **state)
{
    (void)state;
    canvas_colours_init();
    WINDOW *w = newwin(5, 12, 0, 0);
    canvas *c = sample_canvas(CANVAS_MONO);
    canvas_blit(c, w, 0, 0);
    for (int x = 0; x < 8; x++) assert_int_equal(read_cell(w, x, 0).pair, 0);
    assert_true(read_cell(w, 0, 0).attr & A_BOLD);
    assert_int_equal(read_cell(w, 2, 0).ch, L'a');
    assert_true(read_cell(w, 0, 1).attr & A_REVERSE);
    canvas_free(c);
    delwin(w);
}

/* A heat map blitted: the cells carry the palette's colours through their pairs. */
static void test_blit_heatmap(void **state)
{
    (void)state;
    canvas_colours_init();
    float m[4 * 8];
    for (int i = 0; i < 32; i++) m[i] = (float)i;
    heatmap_src s;
    heatmap_src_init(&s, m, 4, 8, 8);
    canvas *c = new_canvas(8, 2, CANVAS_UTF8, CANVAS_256);
    heatmap_draw(c, RECT(0, 0, 8, 2), &s, &palette_sequential);
    WINDOW *w = newwin(2, 8, 0, 0);
    canvas_blit(c, w, 0, 0);
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 8; x++) {
            shown k = read_cell(w, x, y);
            const canvas_cell *p = canvas_at(c, x, y);
            assert_int_equal(k.ch, L'▀');
            assert_int_equal(k.fg, p->fg);
            assert_int_equal(k.bg, p->bg);
        }
    assert_int_equal(read_cell(w, 0, 0).fg, 53);
    assert_int_equal(read_cell(w, 7, 1).bg, 226);
    canvas_free(c);
    delwin(w);
}

/* Terminal detection, and pairs recycled by alloc_pair on a terminal with 64 pairs: more
 * combinations than pairs, and every lookup still gives a pair with the right colours. */
static void test_pairs_recycled(void **state)
{
    (void)state;
    term t = {0};
    assert_int_equal(term_open(&t, "xterm"), 0);
    assert_int_equal(canvas_colours_init(), CANVAS_8);
    assert_int_equal(COLOR_PAIRS, 64);
    canvas *c = new_canvas(9, 9, CANVAS_UTF8, CANVAS_8);
    for (int fg = -1; fg < 8; fg++)
        for (int bg = -1; bg < 8; bg++) canvas_put(c, fg + 1, bg + 1, L'o', STYLE(fg, bg, 0));
    WINDOW *w = newwin(9, 9, 0, 0);
    for (int round = 0; round < 2; round++) {
        canvas_blit(c, w, 0, 0);
        for (int fg = -1; fg < 8; fg++)
            for (int bg = -1; bg < 8; bg++) {
                int p = canvas_pair(CANVAS_8, fg, bg), f, b;
                assert_int_equal(extended_pair_content(p, &f, &b), OK);
                assert_int_equal(f, fg);
                assert_int_equal(b, bg);
            }
    }
    /* 256-colour indices on an 8-colour terminal fall back to the ANSI colours. */
    int f, b;
    assert_int_equal(extended_pair_content(canvas_pair(CANVAS_256, 196, 21), &f, &b), OK);
    assert_int_equal(f, COLOR_RED);
    assert_int_equal(b, COLOR_BLUE);
    canvas_free(c);
    delwin(w);
    term_close(&t);

    assert_int_equal(term_open(&t, "vt100"), 0);
    assert_int_equal(canvas_colours_init(), CANVAS_MONO);
    assert_int_equal(canvas_pair(CANVAS_256, 196, 21), 0);
    term_close(&t);
}

int main(void)
{
    setlocale(LC_ALL, "C.UTF-8");
    const struct CMUnitTest plain[] = {
        cmocka_unit_test(test_canvas_life),
        cmocka_unit_test(test_text_clipping),
        cmocka_unit_test(test_text_wide),
        cmocka_unit_test(test_text_ascii),
        cmocka_unit_test(test_box),
        cmocka_unit_test(test_hbar),
        cmocka_unit_test(test_detect_glyphs),
        cmocka_unit_test(test_palette_endpoints),
        cmocka_unit_test(test_palette_monotonic),
        cmocka_unit_test(test_palette_fallbacks),
        cmocka_unit_test(test_palette_legend),
        cmocka_unit_test(test_heatmap_block_means),
        cmocka_unit_test(test_heatmap_samplings),
        cmocka_unit_test(test_heatmap_nan_and_window),
        cmocka_unit_test(test_heatmap_zoom_at),
        cmocka_unit_test(test_heatmap_half_blocks),
        cmocka_unit_test(test_heatmap_boundaries),
        cmocka_unit_test(test_braille_bits),
        cmocka_unit_test(test_ticks_and_ranges),
        cmocka_unit_test(test_plot_draw),
        cmocka_unit_test(test_bars),
        cmocka_unit_test(test_layout_split),
        cmocka_unit_test(test_layout_tree),
        cmocka_unit_test(test_pairs_recycled),
    };
    const struct CMUnitTest curses[] = {
        cmocka_unit_test(test_blit_256),
        cmocka_unit_test(test_blit_8),
        cmocka_unit_test(test_blit_mono),
        cmocka_unit_test(test_blit_heatmap),
    };
    int failed = cmocka_run_group_tests_name("draw", plain, NULL, NULL);
    failed += cmocka_run_group_tests_name("draw_blit", curses, setup_term256, teardown_term);
    return failed ? 1 : 0;
}
