/* mpcl-bench-frame: the console's full default layout with a 512x512 conductance map, drawn
 * into an off-screen ncurses window (a terminal on /dev/null; the window is never
 * refreshed), from a model filled as after training 5 tasks and programming a chip. Prints
 * the mean and worst time of a frame over 300 frames; the bar is 5 ms on average. */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <curses.h>

#include "canvas.h"
#include "clock.h"
#include "model.h"
#include "panel.h"
#include "rng.h"
#include "ui.h"

/* Draws frames + 10 frames of the panels in area and blits them; the mean and worst time of
 * the last frames (the first 10 warm the caches). */
static void time_frames(canvas *cv, WINDOW *win, const model *m, rect area, int frames,
                        double *mean, double *worst)
{
    double total = 0;
    *worst = 0;
    for (int f = 0; f < frames + 10; f++) {
        double t0 = clock_seconds();
        canvas_clear(cv, canvas_bounds(cv));
        ui_draw_panels(cv, area, m);
        canvas_blit(cv, win, 0, 0);
        double dt = clock_seconds() - t0;
        if (f >= 10) {
            total += dt;
            *worst = dt > *worst ? dt : *worst;
        }
    }
    *mean = total / frames;
}

/* The model as after training 5 tasks and programming a chip (m initialised, 512x512). */
static void fill_model(model *m)
{
    rng r;
    rng_seed(&r, 7);
    /* a programmed 192-256-256-10 net: layers placed as the chip places them */
    int sizes[4] = {192, 256, 256, 10};
    int row = 0, col = 0, shelf = 0;
    for (int l = 0; l < 3; l++) {
        if (col + sizes[l + 1] > 512) {
            row += shelf;
            col = shelf = 0;
        }
        m->layer[l] = (model_rect){row, col, sizes[l], sizes[l + 1]};
        col += sizes[l + 1];
        shelf = sizes[l] > shelf ? sizes[l] : shelf;
        for (int i = 0; i < sizes[l]; i++)
            for (int j = 0; j < sizes[l + 1]; j++) {
                size_t k = (size_t)(m->layer[l].row0 + i) * 512 + m->layer[l].col0 + j;
                int plus = rng_uniform(&r) < 0.5;
                m->gpos[k] = plus ? 33.3f + (float)rng_normal(&r) : 1.0f;
                m->gneg[k] = plus ? 1.0f : 33.3f + (float)rng_normal(&r);
                m->weight[k] = (m->gpos[k] - m->gneg[k]) / 32.3f;
                m->hidden[k] = (float)fabs(rng_normal(&r));
            }
    }
    m->nlayers = 3;
    m->have_g = 1;
    m->nepochs = m->cap_epochs = 100;
    m->epochs = calloc(100, sizeof *m->epochs);
    for (int e = 0; e < 100; e++)
        m->epochs[e] = (model_epoch){1, e / 20, e % 20 + 1, 20, 0.3f / (1 + e % 20),
                                    0.9f + 0.001f * (e % 20), 0.88f + 0.001f * (e % 20),
                                    0.1f / (1 + e % 20), 0.2f, 3, {0.1f, 0.05f, 0.02f}};
    m->rows = 5;
    for (int i = 0; i < 5; i++) {
        for (int j = 0; j <= i; j++)
            m->acc[i][j] = 0.97 + 0.005 * j;
        m->average[i] = 0.98;
    }
    m->has_confusion = 1;
    m->conf_upto = 5;
    for (int i = 0; i < 10; i++)
        for (int j = 0; j < 10; j++)
            m->confusion[i][j] = i == j ? 980 : (long)rng_below(&r, 10);
}

int main(int argc, char **argv)
{
    int W = argc > 1 ? atoi(argv[1]) : 200, H = argc > 2 ? atoi(argv[2]) : 60;
    setlocale(LC_ALL, "C.UTF-8");
    FILE *out = fopen("/dev/null", "w"), *in = fopen("/dev/null", "r");
    SCREEN *scr = newterm("xterm-256color", out, in);
    if (!scr) {
        fprintf(stderr, "mpcl-bench-frame: no terminal description for xterm-256color\n");
        return 1;
    }
    set_term(scr);
    canvas_colours mode = canvas_colours_init();
    WINDOW *win = newwin(H, W, 0, 0);
    canvas *cv = canvas_new(W, H);
    canvas_set_colours(cv, mode);
    model m;
    if (model_init(&m, 512, 512) < 0)
        return 1;
    fill_model(&m);
    ui_set_preset("default");
    panel *map = panels_find("map");
    char err[200];
    if (map->cls->option(map, "mode", "G+", err, sizeof err) < 0) { /* the whole array */
        fprintf(stderr, "mpcl-bench-frame: %s\n", err);
        return 1;
    }
    double mean, worst;
    int frames = 300;
    time_frames(cv, win, &m, RECT(0, 0, W, H - 12), frames, &mean, &worst);
    printf("full-layout frame with a 512x512 map, %dx%d cells, %s: mean %.2f ms, worst %.2f ms "
           "over %d frames (target: at most 5 ms on average)\n", W, H,
           mode == CANVAS_256 ? "256 colours" : "8 colours", 1e3 * mean, 1e3 * worst, frames);
    ui_zoom(map, 1); /* the map alone in the whole panel area: the most cells to fill */
    time_frames(cv, win, &m, RECT(0, 0, W, H - 12), frames, &mean, &worst);
    printf("the map full screen (F4), %dx%d cells: mean %.2f ms, worst %.2f ms over %d frames\n",
           W, H, 1e3 * mean, 1e3 * worst, frames);
    canvas_free(cv);
    model_free(&m);
    delwin(win);
    endwin();
    delscreen(scr);
    fclose(out);
    fclose(in);
    return 0;
}
