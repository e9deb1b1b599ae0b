#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <lauxlib.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curses.h>
#include <readline/history.h>
#include <readline/readline.h>

#include "canvas.h"
#include "capture.h"
#include "job.h"
#include "lab.h"
#include "model.h"
#include "output.h"
#include "panel.h"
#include "repl.h"
#include "repl_rl.h"
#include "fileio.h"
#include "lab_state.h"
#include "sandbox.h"
#include "session.h"
#include "snapshot.h"
#include "ui.h"
#include "clock.h"

#define PROMPT "mpcl> "
#define PROMPT_MORE "  >> "
#define FRAME_MS 100 /* 10 frames a second while anything changes: the training owns the cores */
#define MIN_W 60
#define MIN_H 16

typedef struct console {
    lua_State *L;
    repl r;
    session sess;
    output out;
    model m;
    canvas *cv;
    SCREEN *scr;
    FILE *tty_out, *tty_in;
    int tty_fd_in;
    int sigpipe[2], capwake[2];
    unsigned char keys[512]; /* bytes waiting for readline */
    int nkeys, keypos;
    int help;                /* the help overlay is up */
    int running;             /* a chunk is running */
    int quit, dirty, resized;
    double last_frame;
    unsigned seen_model, seen_out;
    canvas_colours colours;
    int ascii;
    char history_path[4096];
    /* the demo/replay queue: chunks run one after another from the loop */
    const char *replay_path;
    int replay_step, replay_next;
    journal_doc replay;
    int replay_loaded;
    int waiting_enter;       /* --step: the next chunk waits for Enter */
    int mouse;               /* the mouse is on (mouse_on) */
} console;

static console *C; /* signal handlers and readline callbacks reach the console here */
static volatile sig_atomic_t in_chunk;

/* ---- signals: only a byte into the self-pipe (and an interrupt of running Lua) ---------- */

static void on_signal(int sig)
{
    int saved = errno;
    if (sig == SIGINT && in_chunk)
        repl_interrupt(C->L); /* the chunk stops with "interrupted!"; a job it waits for ends */
    char c = (char)sig;
    ssize_t w = write(C->sigpipe[1], &c, 1);
    (void)w;
    errno = saved;
}

/* ---- output ------------------------------------------------------------------------------ */

static void out_text(console *c, const char *s, output_kind k)
{
    output_add(&c->out, s, strlen(s), k);
    c->dirty = 1;
}

static void write_to_pane(void *ud, const char *text, int is_error)
{
    out_text(ud, text, is_error ? OUT_ERROR : OUT_TEXT);
}

static void drain_capture(console *c);

/* print() in the console: straight into the output pane, in order with the lab's own lines
 * (stdout itself is captured too, but through a pipe and a thread). */
static int l_print(lua_State *L)
{
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        size_t len;
        const char *s = luaL_tolstring(L, i, &len);
        if (i > 1)
            luaL_addchar(&b, '\t');
        luaL_addlstring(&b, s, len);
        lua_pop(L, 1);
    }
    luaL_addchar(&b, '\n');
    luaL_pushresult(&b);
    size_t len;
    const char *text = lua_tolstring(L, -1, &len);
    drain_capture(C); /* what was written to stdout before comes first */
    output_add(&C->out, text, len, OUT_TEXT);
    C->dirty = 1;
    return 0;
}

static void notify(void *ud, const char *text)
{
    (void)ud;
    out_text(C, text, OUT_NOTICE);
}

static void take_captured(void *ud, const char *text, size_t len, int is_error)
{
    console *c = ud;
    output_add(&c->out, text, len, is_error ? OUT_ERROR : OUT_TEXT);
    c->dirty = 1;
}

static void drain_capture(console *c)
{
    char buf[64];
    while (read(c->capwake[0], buf, sizeof buf) > 0)
        ;
    fflush(stdout);
    fflush(stderr);
    capture_take(take_captured, c);
}

/* ---- drawing ------------------------------------------------------------------------------ */

static canvas_style st(int fg, int bg, int attr) { return STYLE(fg, bg, attr); }

/* The bottom of the screen: output pane, job bar, input line. */
static void draw_output(console *c, rect r)
{
    canvas_clear(c->cv, r);
    int n = c->out.count, shown = 0;
    /* wrap each line into the width; draw from the bottom up */
    int y = r.y + r.h - 1;
    int skip = c->out.scroll;
    for (int i = n - 1; i >= 0 && y >= r.y; i--) {
        const output_line *l = output_get(&c->out, i);
        if (skip > 0) {
            skip--;
            continue;
        }
        canvas_style s = STYLE_NORMAL;
        if (l->kind == OUT_ERROR)
            s = st(c->colours == CANVAS_MONO ? -1 : 1, -1, CANVAS_BOLD);
        else if (l->kind == OUT_ECHO)
            s = st(-1, -1, CANVAS_BOLD);
        else if (l->kind == OUT_NOTICE)
            s = st(c->colours == CANVAS_MONO ? -1 : 6, -1, 0);
        /* the line's wrapped pieces, last piece lowest */
        const char *t = l->text;
        int width = canvas_text_width(c->cv, t);
        int pieces = r.w > 0 ? (width + r.w - 1) / r.w : 1;
        if (pieces < 1)
            pieces = 1;
        for (int p = pieces - 1; p >= 0 && y >= r.y; p--, y--) {
            /* find the byte offset of column p * r.w */
            const char *q = t;
            int col = 0;
            mbstate_t ms;
            memset(&ms, 0, sizeof ms);
            while (*q && col < p * r.w) {
                wchar_t wc;
                size_t k = mbrtowc(&wc, q, strlen(q), &ms);
                if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
                    k = 1;
                    memset(&ms, 0, sizeof ms);
                    col++;
                } else {
                    int cw = wcwidth(wc);
                    col += cw < 0 ? 1 : cw;
                }
                q += k;
            }
            canvas_text(c->cv, r.x, y, r.w, q, s);
        }
        shown++;
    }
    if (c->out.scroll > 0) {
        char m[64];
        snprintf(m, sizeof m, " scrolled back %d (PgDn) ", c->out.scroll);
        canvas_text_right(c->cv, r.x, r.y, r.w, m, st(-1, -1, CANVAS_REVERSE));
    }
    (void)shown;
}

static void draw_jobbar(console *c, rect r)
{
    int mono = c->colours == CANVAS_MONO;
    canvas_style bar = st(mono ? -1 : 0, mono ? -1 : 7, mono ? CANVAS_REVERSE : 0);
    canvas_fill(c->cv, r, L' ', bar);
    canvas_style fill = st(mono ? -1 : 4, mono ? -1 : 7, 0); /* the bars: blue on grey */
    char desc[200], sweep_line[200];
    double sweep_fraction = 0;
    int active = lab_jobs_describe(c->L, desc, sizeof desc);
    int x = r.x;
    if (lab_sweeps_describe(sweep_line, sizeof sweep_line, &sweep_fraction)) {
        /* a sweep's points run in worker processes: its own line and bar */
        x += canvas_text(c->cv, x, r.y, r.w / 2, sweep_line, bar) + 1;
        int bw = r.w / 8;
        if (bw > 4 && x + bw < r.x + r.w) {
            canvas_hbar(c->cv, x, r.y, bw, sweep_fraction, fill);
            x += bw + 1;
        }
    }
    if (desc[0]) {
        int w = canvas_text(c->cv, x, r.y, r.w / 2, desc, bar);
        x += w + 1;
        int bw = r.w / 5;
        if (bw > 4 && x + bw < r.x + r.w) {
            canvas_hbar(c->cv, x, r.y, bw, c->m.job_fraction, fill);
            x += bw + 1;
        }
        x += canvas_text(c->cv, x, r.y, r.x + r.w - x, "Ctrl-C cancels", bar) + 2;
    } else if (!sweep_line[0] || active) {
        x += canvas_text(c->cv, x, r.y, r.w, active ? "jobs queued" : "no job running", bar) + 2;
    }
    char chips[400], right[520];
    if (lab_chips_status(chips, sizeof chips) == 0)
        snprintf(chips, sizeof chips, "no chip");
    snprintf(right, sizeof right, "%s | F1 help  F2 layout  F3 focus  F4 zoom  F10 quit", chips);
    if (x < r.x + r.w)
        canvas_text_right(c->cv, x, r.y, r.x + r.w - x, right, bar);
}

/* The input line: prompt and readline's buffer, scrolled so that the cursor shows. */
static void draw_input(console *c, int y, int w)
{
    const char *prompt = rl_display_prompt ? rl_display_prompt : PROMPT;
    int pw = (int)strlen(prompt);
    move(y, 0);
    clrtoeol();
    if (ui_focus() >= 0 || c->help)
        attron(A_DIM);
    mvaddnstr(y, 0, prompt, w);
    int room = w - pw - 1;
    const char *line = rl_line_buffer ? rl_line_buffer : "";
    int point = rl_point;
    int start = point > room ? point - room : 0;
    if (room > 0)
        mvaddnstr(y, pw, line + start, room);
    attroff(A_DIM);
    move(y, pw + point - start);
}

static void draw_help(console *c)
{
    int w = COLS < 78 ? COLS - 2 : 76, h = LINES - 4;
    rect r = RECT((COLS - w) / 2, 2, w, h);
    canvas_fill(c->cv, r, L' ', STYLE_NORMAL);
    canvas_style bold = st(-1, -1, CANVAS_BOLD);
    canvas_box(c->cv, r, "help (Esc or F1 closes)", bold, bold);
    int y = r.y + 1, x = r.x + 2, mw = r.w - 4;
    static const char *const general[] = {
        "Type Lua at the input line; Enter runs it. help() lists the lab.",
        "F1  this help          F2  next layout (lab.ui.layout sets one)",
        "F3  focus the next panel, then the input line; Esc back to the input line",
        "F4 or z (a focused panel)  that panel full screen, and back",
        "p (a focused panel)  a PNG snapshot of it (lab.ui.snapshot)",
        "Mouse: click focuses a panel, the wheel zooms the map (or scrolls the output),",
        "       a drag pans the map (mpcl --no-mouse: off)",
        "PgUp/PgDn  scroll the output     Ctrl-L  redraw",
        "Ctrl-C  interrupt the chunk, cancel running jobs, or drop the line",
        "Tab  complete names; Up/Down/Ctrl-R  history (readline keys)",
        "F10 or Ctrl-D on an empty line: leave",
        "",
        NULL};
    for (int i = 0; general[i] && y < r.y + r.h - 1; i++)
        canvas_text(c->cv, x, y++, mw, general[i], STYLE_NORMAL);
    for (int i = 0; i < panels_count() && y < r.y + r.h - 1; i++) {
        panel *p = panels_get(i);
        char line[256];
        snprintf(line, sizeof line, "%-10s %s", p->cls->name, p->cls->keys);
        canvas_text(c->cv, x, y++, mw, line, STYLE_NORMAL);
    }
}

/* The screen's parts: the panels on top, the output pane, the job bar, the input line. */
static void screen_areas(int W, int H, rect *panels, rect *out, rect *bar)
{
    int out_h = H / 4 < 5 ? 5 : H / 4;
    *panels = RECT(0, 0, W, H - out_h - 2);
    *out = RECT(0, H - out_h - 2, W, out_h);
    *bar = RECT(0, H - 2, W, 1);
}

static void draw_frame(console *c)
{
    int W = COLS, H = LINES;
    if (canvas_width(c->cv) != W || canvas_height(c->cv) != H)
        canvas_resize(c->cv, W, H);
    erase();
    if (W < MIN_W || H < MIN_H) {
        canvas_clear(c->cv, canvas_bounds(c->cv));
        char msg[120];
        snprintf(msg, sizeof msg, "terminal too small: %dx%d, the console needs %dx%d", W, H,
                 MIN_W, MIN_H);
        canvas_text(c->cv, 0, 0, W, msg, STYLE_NORMAL);
        canvas_blit(c->cv, stdscr, 0, 0);
        draw_input(c, H - 1, W);
        refresh();
        return;
    }
    rect panels_area, out_area, bar_area;
    screen_areas(W, H, &panels_area, &out_area, &bar_area);
    canvas_clear(c->cv, canvas_bounds(c->cv));
    ui_draw_panels(c->cv, panels_area, &c->m);
    draw_output(c, out_area);
    draw_jobbar(c, bar_area);
    if (c->help)
        draw_help(c);
    canvas_blit(c->cv, stdscr, 0, 0);
    draw_input(c, H - 1, W);
    refresh();
    c->last_frame = clock_seconds();
    c->dirty = 0;
}

/* ---- readline glue ------------------------------------------------------------------------ */

static int rl_getc_from_keys(FILE *f)
{
    (void)f;
    if (C->keypos < C->nkeys)
        return C->keys[C->keypos++];
    return EOF;
}

static int rl_keys_waiting(void) { return C->keypos < C->nkeys; }

static void rl_redisplay_here(void)
{
    if (!C->running)
        C->dirty = 1; /* the frame draws the line; keys echo at the next frame */
}

static void rl_noprep(int meta) { (void)meta; }
static void rl_nodeprep(void) {}

static void set_prompt(console *c)
{
    rl_set_prompt(repl_has_pending(&c->r) ? PROMPT_MORE : PROMPT);
}

static void run_line(console *c, const char *line);

static void run_replay_chunk(console *c);

static void on_line(char *line)
{
    console *c = C;
    if (!line) { /* Ctrl-D on an empty line */
        c->quit = 1;
        return;
    }
    if (c->waiting_enter && !*line && !repl_has_pending(&c->r)) { /* --step: Enter runs it */
        free(line);
        c->waiting_enter = 0;
        run_replay_chunk(c);
        return;
    }
    repl_rl_history_add(c->history_path, line);
    run_line(c, line);
    free(line);
}

static void run_line(console *c, const char *line)
{
    char echo[4200];
    snprintf(echo, sizeof echo, "%s%s", repl_has_pending(&c->r) ? PROMPT_MORE : PROMPT, line);
    out_text(c, echo, OUT_ECHO);
    out_text(c, "\n", OUT_ECHO);
    c->running = 1;
    in_chunk = 1;
    repl_feed(&c->r, line);
    in_chunk = 0;
    c->running = 0;
    drain_capture(c);
    set_prompt(c);
    c->out.scroll = 0;
    c->dirty = 1;
}

/* Tab completion lists its matches in the output pane. */
static void show_matches(char **matches, int num, int max_length)
{
    (void)max_length;
    char line[4096];
    size_t n = 0;
    for (int i = 1; i <= num && n < sizeof line - 64; i++)
        n += (size_t)snprintf(line + n, sizeof line - n, "%s%s", i > 1 ? "  " : "", matches[i]);
    out_text(C, line, OUT_NOTICE);
    out_text(C, "\n", OUT_NOTICE);
}

/* ---- keys ------------------------------------------------------------------------------ */

static void queue_bytes(console *c, const char *s, int n)
{
    if (c->keypos == c->nkeys)
        c->keypos = c->nkeys = 0;
    if (c->nkeys + n > (int)sizeof c->keys)
        return; /* a burst beyond 512 bytes: dropped */
    memcpy(c->keys + c->nkeys, s, (size_t)n);
    c->nkeys += n;
}

/* ncurses' key codes back into the bytes readline knows (ANSI sequences). */
static int key_to_bytes(int k, char *out)
{
    static const struct {
        int key;
        const char *seq;
    } map[] = {{KEY_UP, "\033[A"},   {KEY_DOWN, "\033[B"},  {KEY_RIGHT, "\033[C"},
               {KEY_LEFT, "\033[D"}, {KEY_HOME, "\033[H"},  {KEY_END, "\033[F"},
               {KEY_DC, "\033[3~"},  {KEY_BACKSPACE, "\177"}, {KEY_ENTER, "\r"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (map[i].key == k) {
            strcpy(out, map[i].seq);
            return (int)strlen(out);
        }
    return 0;
}

/* The pointer: ncurses' event to the panels (ui_pointer); the wheel over the output pane
 * scrolls it. */
static void handle_mouse(console *c)
{
    MEVENT ev;
    if (getmouse(&ev) != OK)
        return;
    mmask_t b = ev.bstate;
    ui_pointer_kind k;
    if (b & BUTTON1_PRESSED)
        k = UI_PRESS;
    else if (b & BUTTON1_RELEASED)
        k = UI_RELEASE;
    else if (b & BUTTON4_PRESSED)
        k = UI_WHEEL_UP;
    else if (b & BUTTON5_PRESSED)
        k = UI_WHEEL_DOWN;
    else if (b & REPORT_MOUSE_POSITION)
        k = UI_DRAG;
    else
        return;
    if (ui_pointer(k, ev.x, ev.y, &c->m) || (k != UI_WHEEL_UP && k != UI_WHEEL_DOWN))
        return;
    rect panels, out, bar;
    screen_areas(COLS, LINES, &panels, &out, &bar);
    if (ev.y >= out.y && ev.y < out.y + out.h)
        output_scroll(&c->out, k == UI_WHEEL_UP ? 1 : -1, 3);
}

/* The console's own keys, whatever has the focus; 1 when k was one. */
static int console_key(console *c, wint_t k)
{
    switch (k) {
    case KEY_F(1):
        c->help = !c->help;
        break;
    case KEY_F(2):
        ui_next_layout();
        break;
    case KEY_F(3):
        ui_focus_next();
        break;
    case KEY_F(4):
        ui_toggle_zoom();
        break;
    case KEY_F(10):
        c->quit = 1;
        break;
    case KEY_PPAGE:
    case KEY_NPAGE:
        output_scroll(&c->out, k == KEY_PPAGE ? 1 : -1, LINES / 4);
        break;
    case KEY_RESIZE:
        c->resized = 1;
        return 1;
    case KEY_MOUSE:
        handle_mouse(c);
        break;
    default:
        return 0;
    }
    c->dirty = 1;
    return 1;
}

/* p on a focused panel: its snapshot into the current directory, the pane says where. */
static void snapshot_key(console *c, panel *p)
{
    char path[256], err[512], line[900];
    model_update(&c->m);
    if (snapshot_default_path(p->cls->name, path, sizeof path) < 0 ||
        snapshot_panel(p, &c->m, path, NULL, err, sizeof err) < 0) {
        snprintf(line, sizeof line, "snapshot of the %s: %s\n", p->cls->name, err);
        out_text(c, line, OUT_ERROR);
        return;
    }
    char cwd[512];
    snprintf(line, sizeof line, "snapshot of the %s: %s/%s\n", p->cls->name,
             getcwd(cwd, sizeof cwd) ? cwd : ".", path);
    out_text(c, line, OUT_NOTICE);
}

/* A key for the focused panel: z full screen and back, p a snapshot, else the panel's own;
 * 1 when used. */
static int panel_key(console *c, wint_t k, int is_key)
{
    panel *p = ui_focused_panel();
    if (!is_key && k == 'z')
        return ui_toggle_zoom() == 0;
    if (!is_key && k == 'p' && p) {
        snapshot_key(c, p);
        return 1;
    }
    return p && p->cls->key && p->cls->key(p, (int)k, &c->m);
}

static void handle_key(console *c, wint_t k, int is_key)
{
    if (is_key && console_key(c, k))
        return;
    if (c->help && !is_key && k == 27) {
        c->help = 0;
        c->dirty = 1;
        return;
    }
    if (ui_focus() >= 0) { /* a focused panel takes its keys; Esc returns to the line */
        if (!is_key && k == 27) {
            ui_focus_line();
            c->dirty = 1;
            return;
        }
        if (panel_key(c, k, is_key)) {
            c->dirty = 1;
            return;
        }
        if (!is_key && k != '\t')
            return; /* printable keys do not leak to the line while a panel has the focus */
    }
    if (!is_key && k == 12) { /* Ctrl-L */
        clearok(curscr, TRUE);
        c->dirty = 1;
        return;
    }
    char bytes[16];
    int n;
    if (is_key) {
        n = key_to_bytes((int)k, bytes);
    } else {
        mbstate_t ms;
        memset(&ms, 0, sizeof ms);
        size_t r = wcrtomb(bytes, (wchar_t)k, &ms);
        n = r == (size_t)-1 ? 0 : (int)r;
    }
    if (n > 0) {
        queue_bytes(c, bytes, n);
        while (c->keypos < c->nkeys && !c->quit)
            rl_callback_read_char();
    }
}

static void read_keys(console *c)
{
    wint_t k;
    int r;
    while ((r = get_wch(&k)) != ERR)
        handle_key(c, k, r == KEY_CODE_YES);
}

/* ---- the idle hook: while Lua waits for a job, the screen stays alive -------------------- */

static void idle(void *ud)
{
    (void)ud; /* the observer's ud is the model */
    console *c = C;
    if (clock_seconds() - c->last_frame < 0.1)
        return;
    model_update(&c->m);
    drain_capture(c);
    draw_frame(c);
}

static void apply_resize(console *c);

/* ---- lab.ui.pause: wait for a key with the panels alive ---------------------------------- */

static int pause_for_key(const char *message)
{
    console *c = C;
    char m[300];
    snprintf(m, sizeof m, "-- %s\n", message);
    out_text(c, m, OUT_NOTICE);
    for (;;) {
        drain_capture(c);
        model_update(&c->m);
        lab_jobs_poll(c->L);
        draw_frame(c);
        struct pollfd pf[3] = {{c->tty_fd_in, POLLIN, 0}, {c->sigpipe[0], POLLIN, 0},
                               {job_wake_fd(), POLLIN, 0}};
        poll(pf, 3, 100);
        if (pf[1].revents & POLLIN) {
            char sig[32];
            ssize_t n = read(c->sigpipe[0], sig, sizeof sig);
            for (ssize_t i = 0; i < n; i++) {
                if (sig[i] == SIGINT)
                    return -1;
                if (sig[i] == SIGWINCH)
                    c->resized = 1;
                if (sig[i] == SIGTERM || sig[i] == SIGHUP) {
                    c->quit = 1;
                    return -1;
                }
            }
            if (c->resized)
                apply_resize(c);
        }
        wint_t k;
        int r = get_wch(&k);
        if (r == KEY_CODE_YES && console_key(c, k)) { /* F-keys and the mouse stay live */
            if (c->quit)
                return -1;
            continue;
        }
        if (r != ERR)
            return r == KEY_CODE_YES ? ' ' : (int)k;
    }
}

/* The terminal's new size, from the terminal itself (our SIGWINCH handler replaces
 * ncurses' own). */
static void apply_resize(console *c)
{
    c->resized = 0;
    struct winsize ws;
    if (ioctl(fileno(c->tty_out), TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
        resize_term(ws.ws_row, ws.ws_col);
    clearok(curscr, TRUE);
    c->dirty = 1;
}

/* ---- signals in the loop -------------------------------------------------------------- */

static void handle_signals(console *c)
{
    char sig[32];
    ssize_t n;
    while ((n = read(c->sigpipe[0], sig, sizeof sig)) > 0)
        for (ssize_t i = 0; i < n; i++) {
            if (sig[i] == SIGWINCH) {
                c->resized = 1;
            } else if (sig[i] == SIGTERM || sig[i] == SIGHUP) {
                c->quit = 1;
            } else if (sig[i] == SIGINT && !in_chunk) {
                int jobs = lab_jobs_cancel_all(c->L);
                if (jobs > 0) {
                    char m[80];
                    snprintf(m, sizeof m, "^C: cancelling %d job%s\n", jobs, jobs > 1 ? "s" : "");
                    out_text(c, m, OUT_NOTICE);
                } else { /* drop the line being typed and any pending chunk */
                    rl_replace_line("", 0);
                    rl_point = rl_end = 0;
                    repl_reset(&c->r);
                    set_prompt(c);
                    c->replay_next = c->replay.nchunks; /* and stop a demo or replay */
                }
                c->dirty = 1;
            }
        }
    if (c->resized)
        apply_resize(c);
}

/* ---- replays and the demo run from the loop, one chunk per turn -------------------------- */

static void replay_turn(console *c)
{
    if (!c->replay_loaded || c->replay_next >= c->replay.nchunks || c->running)
        return;
    if (c->replay_step && !c->waiting_enter) {
        const journal_chunk *ch = &c->replay.chunks[c->replay_next];
        char head[200];
        snprintf(head, sizeof head, "-- [chunk %d/%d] next; Enter on an empty line runs it\n",
                 ch->number, c->replay.nchunks);
        out_text(c, head, OUT_NOTICE);
        out_text(c, ch->code, OUT_ECHO);
        out_text(c, "\n", OUT_ECHO);
        c->waiting_enter = 1;
        return;
    }
    if (c->replay_step)
        return; /* on_line runs it when Enter comes */
    run_replay_chunk(c);
}

static void run_replay_chunk(console *c)
{
    if (c->replay_next >= c->replay.nchunks)
        return;
    const journal_chunk *ch = &c->replay.chunks[c->replay_next++];
    c->running = 1;
    in_chunk = 1;
    sandbox_reset_count(c->L); /* a sandboxed replay: the limit per chunk (no-op otherwise) */
    repl_run_chunk(&c->r, ch->code, "=stdin");
    if (lab_state_hit_memory_cap() && c->r.last_error[0])
        out_text(c, "sandbox: the replay's memory cap was reached (raise it with --max-memory)\n",
                 OUT_ERROR);
    in_chunk = 0;
    c->running = 0;
    drain_capture(c);
    c->dirty = 1;
}

/* ---- set-up and the loop --------------------------------------------------------------- */

/* The mouse: presses and releases apart (no click interval), the wheel, and moves while a
 * button is held (xterm's button-event mode 1002, which ncurses does not ask for itself). */
static void mouse_on(console *c)
{
    if (!mousemask(ALL_MOUSE_EVENTS | REPORT_MOUSE_POSITION, NULL))
        return; /* the terminal has none */
    mouseinterval(0);
    fputs("\033[?1002h", c->tty_out);
    fflush(c->tty_out);
    c->mouse = 1;
}

static void mouse_off(console *c)
{
    if (!c->mouse)
        return;
    fputs("\033[?1002l", c->tty_out);
    fflush(c->tty_out);
    c->mouse = 0;
}

static int setup_terminal(console *c, const console_opts *o)
{
    setlocale(LC_ALL, "");
    int tty = capture_start(c->capwake[1]);
    if (tty < 0)
        return -1;
    c->tty_out = fdopen(tty, "w");
    c->tty_fd_in = dup(STDIN_FILENO);
    c->tty_in = fdopen(c->tty_fd_in, "r");
    if (!c->tty_out || !c->tty_in)
        return -1;
    c->scr = newterm(NULL, c->tty_out, c->tty_in);
    if (!c->scr)
        return -1;
    set_term(c->scr);
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    c->colours = canvas_colours_init();
    if (o->colors == 8 && c->colours == CANVAS_256)
        c->colours = CANVAS_8;
    else if (o->colors == 1)
        c->colours = CANVAS_MONO;
    c->ascii = o->ascii || canvas_detect_glyphs() == CANVAS_ASCII;
    if (o->mouse)
        mouse_on(c);
    c->cv = canvas_new(COLS, LINES);
    if (!c->cv)
        return -1;
    canvas_set_colours(c->cv, c->colours);
    canvas_set_glyphs(c->cv, c->ascii ? CANVAS_ASCII : CANVAS_UTF8);
    return 0;
}

static void setup_readline(console *c)
{
    rl_readline_name = "mpcl";
    rl_catch_signals = 0;
    rl_catch_sigwinch = 0;
    rl_getc_function = rl_getc_from_keys;
    rl_input_available_hook = rl_keys_waiting;
    rl_redisplay_function = rl_redisplay_here;
    rl_prep_term_function = rl_noprep;
    rl_deprep_term_function = rl_nodeprep;
    rl_outstream = fopen("/dev/null", "w");
    repl_rl_completion(c->L);
    rl_completion_display_matches_hook = show_matches;
    rl_variable_bind("enable-bracketed-paste", "off");
    rl_variable_bind("bell-style", "none");
    repl_rl_history_path(c->history_path, sizeof c->history_path);
    repl_rl_history_load(c->history_path);
    rl_callback_handler_install(PROMPT, on_line);
}

/* The sandbox's watchdog is about to end the process (sandbox.h): the terminal back first,
 * so that its message reaches the user's screen. */
static void console_killed(void)
{
    mouse_off(C);
    endwin();
    capture_stop();
}

/* The console's memory, pipes and terminal; NULL (reported) when one cannot be had. */
static console *console_new(lua_State *L, const console_opts *o)
{
    console *c = calloc(1, sizeof *c);
    if (!c) {
        fprintf(stderr, "mpcl: out of memory\n");
        return NULL;
    }
    c->L = L;
    output_init(&c->out);
    if (model_init(&c->m, 512, 512) < 0 || pipe(c->sigpipe) < 0 || pipe(c->capwake) < 0) {
        fprintf(stderr, "mpcl: cannot start the console (out of memory or descriptors)\n");
        free(c);
        return NULL;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(c->sigpipe[i], F_SETFL, O_NONBLOCK);
        fcntl(c->capwake[i], F_SETFL, O_NONBLOCK);
        fcntl(c->sigpipe[i], F_SETFD, FD_CLOEXEC);
        fcntl(c->capwake[i], F_SETFD, FD_CLOEXEC);
    }
    if (setup_terminal(c, o) < 0) {
        capture_stop();
        fprintf(stderr, "mpcl: cannot open the terminal for the console (TERM=%s)\n",
                getenv("TERM") ? getenv("TERM") : "");
        model_free(&c->m);
        free(c);
        return NULL;
    }
    return c;
}

/* The session journal: o->record, the default path, or none (""); said in the pane. */
static void start_recording(console *c, const console_opts *o)
{
    char path[4096] = "";
    if (!o->record) {
        if (session_default_path(path, sizeof path) < 0)
            out_text(c, "no state directory: this session is not recorded\n", OUT_NOTICE);
    } else {
        snprintf(path, sizeof path, "%s", o->record);
    }
    if (*path) {
        char err[512], m[4200];
        if (session_start(&c->sess, &c->r, path, o->seed, o->threads, err, sizeof err) < 0)
            snprintf(m, sizeof m, "this session is not recorded: %s\n", err);
        else
            snprintf(m, sizeof m, "recording this session in %s\n", path);
        out_text(c, m, OUT_NOTICE);
    }
}

/* The lab's ties to the console: jobs in the background, print into the pane, observers
 * feeding the model, lab.ui, readline and the signals. */
static void attach_lab(console *c)
{
    lua_State *L = c->L;
    lab_jobs_set_background(1);
    lab_jobs_set_notify(notify, NULL);
    lua_pushcfunction(L, l_print);
    lua_setglobal(L, "print");
    lab_observer ob;
    model_observer(&c->m, &ob);
    ob.idle = idle;
    ob.ud = &c->m;
    lab_set_observer(&ob);
    /* the idle hook needs the console, the others the model: one ud for both */
    ui_open(L, &c->m);
    ui_set_pause(pause_for_key);
    sandbox_on_kill(console_killed);
    job_system_start();
    setup_readline(c);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGWINCH, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

/* A demo script as the queue's one chunk. */
static void load_demo(console *c, const char *file)
{
    char err[512];
    FILE *f = fileio_fopen_regular(file, err, sizeof err - 1);
    if (!f) {
        strcat(err, "\n");
        out_text(c, err, OUT_ERROR);
        return;
    }
    c->replay.chunks = calloc(1, sizeof *c->replay.chunks);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *code = calloc(1, (size_t)(len > 0 ? len : 0) + 1);
    if (code && c->replay.chunks && fread(code, 1, (size_t)len, f) == (size_t)len) {
        c->replay.chunks[0].code = code;
        c->replay.chunks[0].number = 1;
        c->replay.nchunks = 1;
        c->replay_loaded = 1;
    } else {
        free(code);
    }
    fclose(f);
}

/* The queue the loop runs from: a journal (its seed the lab's) or a demo script. */
static void load_queue(console *c, const console_opts *o)
{
    if (o->script && !o->replay) {
        load_demo(c, o->script);
        return;
    }
    if (!o->replay)
        return;
    char err[512];
    if (journal_parse(o->replay, &c->replay, err, sizeof err) < 0) {
        out_text(c, err, OUT_ERROR);
        out_text(c, "\n", OUT_ERROR);
        return;
    }
    if (c->replay.cut[0]) { /* an interrupted recording: the complete chunks before the cut */
        char m[700];
        snprintf(m, sizeof m, "warning: %s\n", c->replay.cut);
        out_text(c, m, OUT_NOTICE);
    }
    c->replay_loaded = 1;
    c->replay_step = o->step;
    lab_set_default_seed(c->L, c->replay.header.seed ? c->replay.header.seed : 1);
}

/* One turn of the loop: wait for keys, jobs, captured output or a signal (or the next
 * frame), then handle what came and draw when due. */
static void loop_turn(console *c)
{
    int jobs = job_any_active();
    int timeout = jobs || c->dirty ? FRAME_MS : 500;
    struct pollfd pf[4] = {{c->tty_fd_in, POLLIN, 0},
                           {job_wake_fd(), POLLIN, 0},
                           {c->capwake[0], POLLIN, 0},
                           {c->sigpipe[0], POLLIN, 0}};
    int r = poll(pf, 4, timeout);
    if (r < 0 && errno != EINTR) {
        c->quit = 1;
        return;
    }
    handle_signals(c);
    if (r > 0 && (pf[2].revents & POLLIN))
        drain_capture(c);
    if (model_update(&c->m))
        c->dirty = 1;
    lab_jobs_poll(c->L);
    if (r > 0 && (pf[0].revents & (POLLIN | POLLHUP))) {
        read_keys(c);
        /* echo now: the input line alone, whatever the frame rate allows */
        if (!c->quit && !c->help && COLS >= MIN_W && LINES >= MIN_H) {
            draw_input(c, LINES - 1, COLS);
            refresh();
        }
    }
    replay_turn(c);
    if (c->m.version != c->seen_model || c->out.version != c->seen_out)
        c->dirty = 1;
    c->seen_model = c->m.version;
    c->seen_out = c->out.version;
    if (c->dirty && clock_seconds() - c->last_frame >= FRAME_MS / 1000.0)
        draw_frame(c);
    else if (jobs && clock_seconds() - c->last_frame >= 0.1)
        draw_frame(c); /* the job bar's clock */
}

/* Jobs stopped, the journal closed, the terminal given back, everything freed. */
static void console_free(console *c)
{
    lab_jobs_shutdown(c->L);
    session_finish(&c->sess);
    rl_callback_handler_remove();
    mouse_off(c);
    endwin();
    delscreen(c->scr);
    fclose(c->tty_out);
    fclose(c->tty_in);
    drain_capture(c);
    capture_stop();
    lab_set_observer(NULL);
    lab_jobs_set_notify(NULL, NULL);
    ui_set_pause(NULL);
    repl_free(&c->r);
    output_free(&c->out);
    if (c->replay_loaded)
        journal_doc_free(&c->replay);
    model_free(&c->m);
    canvas_free(c->cv);
    for (int i = 0; i < 2; i++) {
        close(c->sigpipe[i]);
        close(c->capwake[i]);
    }
    repl_rl_free();
    free(c);
}

int console_run(lua_State *L, const console_opts *o)
{
    console *c = console_new(L, o);
    if (!c)
        return 1;
    C = c;
    repl_init(&c->r, L, write_to_pane, c);
    start_recording(c, o);
    attach_lab(c);
    char banner[200];
    snprintf(banner, sizeof banner,
             "MPCL Lab %s. Type Lua below; help() lists the lab. F1 help, F10 leaves.\n",
             MPCL_VERSION);
    out_text(c, banner, OUT_NOTICE);
    load_queue(c, o);
    draw_frame(c);
    while (!c->quit)
        loop_turn(c);
    console_free(c);
    C = NULL;
    return 0;
}
