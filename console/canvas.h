/* canvas: an off-screen grid of character cells that panels draw into, and the renderer that
 * copies it into an ncurses window.
 *
 * A canvas is w x h cells; cell (x, y) is column x of row y, (0, 0) top left. Each cell holds
 * one wide character, a foreground and a background colour index and attribute bits:
 *   colour index  -1 = the terminal's default colour; 0..7 the ANSI colours; 8..255 the
 *                 xterm 256-colour palette (16..231 the 6x6x6 cube, 232..255 the greys).
 *   ch            a character of width 1 or 2 (wcwidth); a width-2 character occupies its
 *                 cell and the cell to its right, which holds CANVAS_CONT. Writing over
 *                 either half of a wide character blanks the other half.
 * Nothing here calls ncurses except canvas_blit and the canvas_colours_* functions.
 *
 * Every drawing function clips to the canvas: cells outside it are silently not drawn, so a
 * panel may draw at any coordinates. Drawing functions never fail.
 *
 * Two modes, set once by the caller for each canvas (they change the glyphs and colours the
 * drawing helpers of canvas, palette, heatmap and plot choose):
 *   glyphs   CANVAS_UTF8 (box drawing, block elements, braille) or CANVAS_ASCII (+-|#.*);
 *            canvas_detect_glyphs() picks from the locale (nl_langinfo(CODESET)).
 *   colours  CANVAS_256, CANVAS_8 (the ANSI colours, bold and dim for more levels) or
 *            CANVAS_MONO (attributes only); canvas_colours_init() picks from the terminal.
 * The renderer honours the canvas's colour mode: in CANVAS_8 a colour above 7 is shown as
 * the nearest ANSI colour, in CANVAS_MONO no colour is sent at all.
 *
 * Styles: canvas_style {fg, bg, attr}. A zero-initialised style is black on black: start
 * from STYLE_NORMAL or STYLE(fg, bg, attr) instead. */
#ifndef MPCL_CANVAS_H
#define MPCL_CANVAS_H

#include <stdint.h>
#include <wchar.h>

#include <curses.h>

/* A rectangle of cells: columns x .. x+w-1, rows y .. y+h-1. Shared by every drawing module. */
typedef struct {
    int x, y, w, h;
} rect;

#define RECT(x, y, w, h) ((rect){(x), (y), (w), (h)})

/* Attribute bits of a cell. */
enum {
    CANVAS_BOLD = 1,
    CANVAS_REVERSE = 2,
    CANVAS_UNDERLINE = 4,
    CANVAS_DIM = 8,
};

/* The right half of a width-2 character: the renderer skips it. */
#define CANVAS_CONT ((wchar_t)0)

typedef enum { CANVAS_UTF8, CANVAS_ASCII } canvas_glyphs;
typedef enum { CANVAS_MONO, CANVAS_8, CANVAS_256 } canvas_colours;

typedef struct {
    int16_t fg, bg; /* colour indices, -1 = default */
    uint8_t attr;   /* CANVAS_BOLD | ... */
} canvas_style;

#define STYLE(fg, bg, attr) ((canvas_style){(int16_t)(fg), (int16_t)(bg), (uint8_t)(attr)})
#define STYLE_NORMAL STYLE(-1, -1, 0)

typedef struct {
    wchar_t ch; /* CANVAS_CONT for the right half of a wide character */
    int16_t fg, bg;
    uint8_t attr;
} canvas_cell;

typedef struct canvas canvas;

/* A w x h canvas of blanks in STYLE_NORMAL, glyphs CANVAS_UTF8, colours CANVAS_256; w, h >= 0
 * (0 is an empty canvas). NULL when out of memory or a size is negative. */
canvas *canvas_new(int w, int h);
/* Changes the size to w x h and blanks every cell (panels redraw after a resize). Returns 0,
 * or -1 (out of memory, or a size negative) leaving the canvas as it was. */
int canvas_resize(canvas *c, int w, int h);
void canvas_free(canvas *c); /* NULL is fine */

int canvas_width(const canvas *c);
int canvas_height(const canvas *c);
rect canvas_bounds(const canvas *c); /* {0, 0, w, h} */

void canvas_set_glyphs(canvas *c, canvas_glyphs g);
canvas_glyphs canvas_glyph_mode(const canvas *c);
void canvas_set_colours(canvas *c, canvas_colours m);
canvas_colours canvas_colour_mode(const canvas *c);
/* CANVAS_UTF8 when the locale's codeset is UTF-8 (call setlocale(LC_ALL, "") first). */
canvas_glyphs canvas_detect_glyphs(void);

/* The cell at (x, y), NULL outside the canvas. For tests and for panels that read back. */
const canvas_cell *canvas_at(const canvas *c, int x, int y);

/* Cell (x, y) = ch in style st. A width-2 ch also takes (x+1, y) (a blank when that is
 * outside the canvas); a width-0 or unprintable ch is drawn as '?'. */
void canvas_put(canvas *c, int x, int y, wchar_t ch, canvas_style st);
/* Every cell of r (clipped) = ch in style st; ch must have width 1. */
void canvas_fill(canvas *c, rect r, wchar_t ch, canvas_style st);
/* Blanks r in STYLE_NORMAL. */
void canvas_clear(canvas *c, rect r);

/* Columns canvas_text takes for the UTF-8 text on this canvas (wide characters 2, combining
 * marks 0, malformed bytes and unprintable characters 1; in ASCII mode every character 1). */
int canvas_text_width(const canvas *c, const char *utf8);
/* Writes UTF-8 text from (x, y) in at most maxw columns and returns the columns written.
 * Text wider than maxw is cut and ends with an ellipsis ("…"; "~" in ASCII mode) within
 * maxw. Malformed bytes and unprintable characters are drawn as '?', combining marks are
 * dropped, and in ASCII mode every non-ASCII character is '?'. NULL text writes nothing. */
int canvas_text(canvas *c, int x, int y, int maxw, const char *utf8, canvas_style st);
/* As canvas_text, right-aligned so that the text ends at column x+maxw-1. */
int canvas_text_right(canvas *c, int x, int y, int maxw, const char *utf8, canvas_style st);
/* printf-style into at most maxw columns (text longer than 255 bytes is cut). */
int canvas_printf(canvas *c, int x, int y, int maxw, canvas_style st, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* A frame on the border of r (r.w, r.h >= 2, else nothing): ┌─┐│└┘ (+-| in ASCII mode), and
 * the title, if any, in title_style on the top edge after the corner (" title ", cut with an ellipsis to
 * fit). The inside is not touched: canvas_inner(r) is the rectangle inside the frame. */
void canvas_box(canvas *c, rect r, const char *title, canvas_style frame,
                canvas_style title_style);
rect canvas_inner(rect r); /* r shrunk by one cell on every side (w, h never below 0) */
/* Horizontal and vertical lines of length n from (x, y): ─ │ (- | in ASCII mode). */
void canvas_hline(canvas *c, int x, int y, int n, canvas_style st);
void canvas_vline(canvas *c, int x, int y, int n, canvas_style st);

/* A progress bar in w cells from (x, y): frac (clamped to [0, 1]; NaN is 0) of the width
 * filled, rounded to the nearest eighth of a cell in UTF-8 mode (full blocks █, then one
 * partial cell ▏▎▍▌▋▊▉ of 1..7 eighths) and to the nearest cell of '#' in ASCII mode. The
 * bar is drawn in st; the rest of the w cells are blanks in st's colours (no attributes),
 * so a background colour in st shows the track. */
void canvas_hbar(canvas *c, int x, int y, int w, double frac, canvas_style st);

/* ---- The renderer (ncurses). ---------------------------------------------------------- */

/* Call once after initscr/newterm (and again after every newterm or set_term to another
 * screen): starts colour if the terminal has it, asks for default colours (-1), forgets the
 * colour pairs remembered for the previous screen. Returns the terminal's colour mode:
 * CANVAS_256 when COLORS >= 256, CANVAS_8 when COLORS >= 8, else CANVAS_MONO. */
canvas_colours canvas_colours_init(void);
/* Forgets the remembered colour pairs (canvas_colours_init does it). */
void canvas_colours_reset(void);

/* Copies every cell of the canvas into window win with its top-left cell at (x, y) of the
 * window, clipped to the window, one row per mvwadd_wchnstr call (no cursor movement, no
 * scrolling); the window is not refreshed. Colour pairs come from alloc_pair (remembered per
 * (fg, bg), so each pair costs one lookup per frame). A wide character that would be cut by
 * the window's right edge is drawn as a blank. Returns 0, or -1 if win is NULL. */
int canvas_blit(const canvas *c, WINDOW *win, int x, int y);
/* As canvas_blit, for the cells of r only (clipped to the canvas), to window cell (x, y). */
int canvas_blit_rect(const canvas *c, rect r, WINDOW *win, int x, int y);

/* The colour pair canvas_blit uses for (fg, bg) in colour mode m (0 in CANVAS_MONO, or when
 * the terminal has no colour or no free pair). */
int canvas_pair(canvas_colours m, int fg, int bg);
/* The ANSI colour (0..7, or -1) that CANVAS_8 shows for colour index i. */
int canvas_colour8(int i);

/* Rectangle helpers. */
rect rect_intersect(rect a, rect b); /* w or h 0 when they do not meet */
int rect_contains(rect r, int x, int y);

#endif
