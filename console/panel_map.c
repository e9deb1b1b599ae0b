/* The conductance map panel: the array's weights, hidden weights or conductances as a heat
 * map, fitted to the layers, zoomed and panned by keys (and the mouse). Its kind's state (the
 * mode, the sampling, the window) persists across frames. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "heatmap.h"
#include "palette.h"
#include "panel.h"

/* ---- map: the array's conductances, weights or hidden weights ---------------------------- */

enum { MAP_WEIGHT, MAP_HIDDEN, MAP_GPOS, MAP_GNEG, MAP_MODES };
static const char *const map_modes[] = {"weight", "hidden", "G+", "G-"};

/* The map's state: the mode, the sampling and the window, which persists across frames
 * (zoom and pan). */
typedef struct map_panel {
    panel super;
    int mode; /* MAP_* */
    heatmap_src src;
    int inited;                /* src set up (at the first draw with a net) */
    heatmap_sampling sample;   /* nearest by default: a binary pair's own colour */
    int fitted_layers;         /* the layer count the window was last fitted to */
    rect area;                 /* where the window was drawn last (the pointer's frame) */
} map_panel;

/* The home view: the rows and columns that hold layers (the array's programmed region, or
 * where the net being trained would sit), so that the map spends its panel on them. */
static void map_fit_layers(map_panel *mp, const model *m)
{
    int r0 = m->arows, c0 = m->acols, r1 = 0, c1 = 0;
    for (int l = 0; l < m->nlayers; l++) {
        const model_rect *a = &m->layer[l];
        r0 = a->row0 < r0 ? a->row0 : r0;
        c0 = a->col0 < c0 ? a->col0 : c0;
        r1 = a->row0 + a->rows > r1 ? a->row0 + a->rows : r1;
        c1 = a->col0 + a->cols > c1 ? a->col0 + a->cols : c1;
    }
    heatmap_src_init(&mp->src, mp->src.data, m->arows, m->acols, m->acols);
    if (r1 > r0 && c1 > c0) {
        mp->src.row0 = r0, mp->src.nrows = r1 - r0;
        mp->src.col0 = c0, mp->src.ncols = c1 - c0;
    }
    mp->fitted_layers = m->nlayers;
}

/* Each layer's name (L1, L2, ...) at its top-left corner inside the drawn window. */
static void map_label_layers(canvas *c, rect area, const map_panel *mp, const model *m)
{
    const heatmap_src *s = &mp->src;
    for (int l = 0; l < m->nlayers; l++) {
        const model_rect *a = &m->layer[l];
        if (a->row0 < s->row0 || a->row0 >= s->row0 + s->nrows || a->col0 < s->col0 ||
            a->col0 >= s->col0 + s->ncols)
            continue;
        int x = area.x + (int)((long long)(a->col0 - s->col0) * area.w / s->ncols);
        int y = area.y + (int)((long long)(a->row0 - s->row0) * area.h / s->nrows);
        char name[16];
        snprintf(name, sizeof name, "L%d", l + 1);
        canvas_text(c, x, y, area.x + area.w - x, name, STYLE(231, 236, CANVAS_BOLD));
    }
}

static const char *map_empty(const panel *p, const model *m)
{
    const map_panel *mp = (const map_panel *)p;
    if ((mp->mode == MAP_GPOS || mp->mode == MAP_GNEG) && !m->have_g)
        return m->g_unread ? "the conductances of a chip over a link are looked at in the console"
                           : "no chip programmed: chip:program(net)";
    return m->nlayers == 0 ? "train a net or program a chip to see the array" : NULL;
}

/* The state both the terminal and a snapshot draw: the mode's data, the window (persisting
 * across frames, zoom and pan; fitted to the layers when they first appear or change in
 * number) and the value range; returns the units, *pal the palette. */
static const char *map_prepare(map_panel *mp, const model *m, const palette **pal)
{
    mp->src.data = mp->mode == MAP_WEIGHT ? m->weight : mp->mode == MAP_HIDDEN ? m->hidden
                   : mp->mode == MAP_GPOS ? m->gpos : m->gneg;
    if (!mp->inited || mp->fitted_layers != m->nlayers) {
        map_fit_layers(mp, m);
        mp->inited = 1;
    }
    *pal = mp->mode == MAP_WEIGHT ? &palette_diverging : &palette_sequential;
    mp->src.lo = mp->mode == MAP_WEIGHT ? -1.2f : 0;
    /* hidden: 0, automatic (the window's range); G: a little above the LRS */
    mp->src.hi = mp->mode == MAP_WEIGHT ? 1.2f : mp->mode == MAP_HIDDEN ? 0 : 1.25f * m->g_lrs;
    return mp->mode == MAP_WEIGHT ? "w" : mp->mode == MAP_HIDDEN ? "|Wh|" : "uS";
}

static void map_draw(panel *p, canvas *c, rect r, const model *m, int focused)
{
    (void)focused;
    map_panel *mp = (map_panel *)p;
    const palette *pal;
    const char *units = map_prepare(mp, m, &pal);
    mp->src.sample = mp->sample;
    mp->src.line_colour = 244; /* thin grey boundaries, not a white grid */
    int hl[MPCL_MAX_LAYERS * 2], vl[MPCL_MAX_LAYERS * 2], nh = 0, nv = 0;
    for (int l = 0; l < m->nlayers; l++) {
        hl[nh++] = m->layer[l].row0;
        hl[nh++] = m->layer[l].row0 + m->layer[l].rows;
        vl[nv++] = m->layer[l].col0;
        vl[nv++] = m->layer[l].col0 + m->layer[l].cols;
    }
    mp->src.hlines = hl;
    mp->src.nhlines = nh;
    mp->src.vlines = vl;
    mp->src.nvlines = nv;
    /* the whole panel: cells need not be square, the label says the scale */
    rect area = RECT(r.x, r.y, r.w, r.h > 2 ? r.h - 1 : r.h);
    heatmap_draw(c, area, &mp->src, pal);
    mp->area = area;
    map_label_layers(c, area, mp, m);
    if (r.h > 2) {
        float lo, hi;
        heatmap_range(&mp->src, &lo, &hi);
        char label[96];
        int ph = area.h * heatmap_pixels_per_cell(c);
        snprintf(label, sizeof label, "%s rows %d-%d cols %d-%d, %.3g x %.3g per pixel, %s ",
                 map_modes[mp->mode], mp->src.row0, mp->src.row0 + mp->src.nrows - 1,
                 mp->src.col0, mp->src.col0 + mp->src.ncols - 1,
                 (double)mp->src.nrows / (ph > 0 ? ph : 1),
                 (double)mp->src.ncols / (area.w > 0 ? area.w : 1),
                 heatmap_sampling_names[mp->sample]);
        int lw = canvas_text(c, r.x, r.y + r.h - 1, r.w, label, panel_dim());
        palette_legend(c, RECT(r.x + lw, r.y + r.h - 1, r.w - lw, 1), pal, lo, hi, units);
    }
}

static int map_key(panel *p, int key, const model *m)
{
    map_panel *mp = (map_panel *)p;
    if (!mp->inited)
        return 0;
    int step = mp->src.nrows / 8 > 0 ? mp->src.nrows / 8 : 1;
    switch (key) {
    case 'm':
        mp->mode = (mp->mode + 1) % MAP_MODES;
        return 1;
    case '+':
    case '=':
        heatmap_zoom(&mp->src, 2.0);
        return 1;
    case '-':
        heatmap_zoom(&mp->src, 0.5);
        return 1;
    case '0':
        map_fit_layers(mp, m);
        return 1;
    case 's':
        mp->sample = (mp->sample + 1) % HEATMAP_SAMPLINGS;
        return 1;
    case 'h':
    case 0x104: /* KEY_LEFT */
        heatmap_pan(&mp->src, 0, -step);
        return 1;
    case 'l':
    case 0x105: /* KEY_RIGHT */
        heatmap_pan(&mp->src, 0, step);
        return 1;
    case 'k':
    case 0x103: /* KEY_UP */
        heatmap_pan(&mp->src, -step, 0);
        return 1;
    case 'j':
    case 0x102: /* KEY_DOWN */
        heatmap_pan(&mp->src, step, 0);
        return 1;
    default:
        return 0;
    }
}

/* The wheel zooms in or out at the source point under the pointer; a drag moves the view
 * with the pointer (the array follows it, as a map does). */
static int map_pointer(panel *p, const panel_pointer *ev, const model *m)
{
    (void)m;
    map_panel *mp = (map_panel *)p;
    rect a = mp->area;
    if (!mp->inited || a.w < 1 || a.h < 1)
        return 0;
    heatmap_src *s = &mp->src;
    if (ev->kind == PANEL_DRAG) { /* 0 until the drag is worth a source line: it adds up */
        int dr = (int)lround(-(double)ev->dy * s->nrows / a.h);
        int dc = (int)lround(-(double)ev->dx * s->ncols / a.w);
        heatmap_pan(s, dr, dc);
        return dr || dc;
    }
    if (ev->x < a.x || ev->x >= a.x + a.w || ev->y < a.y || ev->y >= a.y + a.h)
        return 0; /* the label line */
    double row = s->row0 + (ev->y - a.y + 0.5) * s->nrows / a.h;
    double col = s->col0 + (ev->x - a.x + 0.5) * s->ncols / a.w;
    heatmap_zoom_at(s, ev->kind == PANEL_WHEEL_IN ? 1.5 : 1 / 1.5, row, col);
    return 1;
}

static int map_option(panel *p, const char *k, const char *v, char *err, size_t errlen)
{
    map_panel *mp = (map_panel *)p;
    if (!strcmp(k, "mode")) {
        for (int i = 0; i < MAP_MODES; i++)
            if (!strcmp(v, map_modes[i]) || (i == MAP_GPOS && !strcmp(v, "gpos")) ||
                (i == MAP_GNEG && !strcmp(v, "gneg"))) {
                mp->mode = i;
                return 0;
            }
        return err_set(err, errlen, "map mode must be weight, hidden, G+ or G-, got '%s'", v);
    }
    if (!strcmp(k, "sample")) {
        for (int i = 0; i < HEATMAP_SAMPLINGS; i++)
            if (!strcmp(v, heatmap_sampling_names[i])) {
                mp->sample = (heatmap_sampling)i;
                return 0;
            }
        return err_set(err, errlen, "map sample must be mean, nearest, sign or max, got '%s'", v);
    }
    if (!strcmp(k, "zoom")) {
        double z = atof(v);
        if (z >= 1 && mp->inited)
            heatmap_zoom(&mp->src, z);
        return 0;
    }
    return err_set(err, errlen, "the map takes mode, sample and zoom, not '%s'", k);
}

/* ---- lab.ui.snapshot: the map as a gnuplot figure --------------------------------------- */

/* The layers' boundaries across the window (thin grey lines, as drawn) and their names at
 * their top-left corners. */
static void map_plot_layers(FILE *gp, const model *m, int r0, int r1, int c0, int c1)
{
    static const char line[] = "nohead front lw 0.5 lc rgb \"#808080\"";
    for (int l = 0; l < m->nlayers; l++) {
        const model_rect *a = &m->layer[l];
        int rows[2] = {a->row0, a->row0 + a->rows}, cols[2] = {a->col0, a->col0 + a->cols};
        for (int k = 0; k < 2; k++) {
            if (rows[k] > r0 && rows[k] < r1)
                fprintf(gp, "set arrow from %g, %g to %g, %g %s\n", c0 - 0.5, rows[k] - 0.5,
                        c1 - 0.5, rows[k] - 0.5, line);
            if (cols[k] > c0 && cols[k] < c1)
                fprintf(gp, "set arrow from %g, %g to %g, %g %s\n", cols[k] - 0.5, r0 - 0.5,
                        cols[k] - 0.5, r1 - 0.5, line);
        }
        if (a->row0 >= r0 && a->row0 < r1 && a->col0 >= c0 && a->col0 < c1)
            fprintf(gp, "set label \"L%d\" at %g, %g offset character 0.4, -0.9 front "
                        "boxed textcolor rgb \"#ffffff\"\n", l + 1, a->col0 - 0.5, a->row0 - 0.5);
    }
    fprintf(gp, "set style textbox opaque fillcolor rgb \"#303030\" noborder\n");
}

/* The window's values, one per pair (no resampling), NaN (blank) off the layers. */
static void map_plot_data(FILE *gp, const heatmap_src *s, int r0, int r1, int c0, int c1)
{
    fprintf(gp, "$map << EOD\n");
    for (int i = r0; i < r1; i++) {
        for (int j = c0; j < c1; j++) {
            float v = s->data[(size_t)i * s->ld + j];
            if (v != v)
                fprintf(gp, j + 1 < c1 ? "NaN " : "NaN");
            else
                fprintf(gp, j + 1 < c1 ? "%.5g " : "%.5g", (double)v);
        }
        fprintf(gp, "\n");
    }
    fprintf(gp, "EOD\n");
}

static int map_plot(panel *p, const model *m, FILE *gp, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    map_panel *mp = (map_panel *)p;
    const palette *pal;
    const char *units = map_prepare(mp, m, &pal); /* the state the terminal draws */
    const heatmap_src *s = &mp->src;
    int r0 = s->row0 > 0 ? s->row0 : 0, c0 = s->col0 > 0 ? s->col0 : 0;
    int r1 = s->row0 + s->nrows < s->rows ? s->row0 + s->nrows : s->rows;
    int c1 = s->col0 + s->ncols < s->cols ? s->col0 + s->ncols : s->cols;
    float lo, hi;
    heatmap_range(s, &lo, &hi);
    char title[256];
    snprintf(title, sizeof title, "%s: %s%s%s, rows %d-%d cols %d-%d", p->cls->title,
             map_modes[mp->mode], m->chip_name[0] ? ", " : "", m->chip_name, r0, r1 - 1, c0,
             c1 - 1);
    panel_plot_title(gp, title);
    panel_plot_palette(gp, pal);
    fprintf(gp, "set cbrange [%.6g:%.6g]\nset cblabel \"%s\"\nunset key\n", (double)lo,
            (double)(hi > lo ? hi : lo + 1), units);
    fprintf(gp, "set xlabel \"array column\"\nset ylabel \"array row\"\nset tics out\n");
    fprintf(gp, "set xrange [%g:%g]\nset yrange [%g:%g]\n", c0 - 0.5, c1 - 0.5, r1 - 0.5,
            r0 - 0.5);
    map_plot_layers(gp, m, r0, r1, c0, c1);
    map_plot_data(gp, s, r0, r1, c0, c1);
    fprintf(gp, "plot $map matrix using ($1 + %d):($2 + %d):3 with image notitle\n", c0, r0);
    return 0;
}

static const panel_class map_class = {
    .name = "map",
    .title = "conductance map",
    .keys = "m mode (weight, hidden, G+, G-)  s sampling (nearest, sign, max, mean)  +/- zoom  "
            "arrows/hjkl pan  0 the layers  (mouse: wheel zooms, drag pans)",
    .draw = map_draw,
    .empty = map_empty,
    .key = map_key,
    .option = map_option,
    .pointer = map_pointer,
    .plot = map_plot,
};
static map_panel map = {.super = {.cls = &map_class}, .sample = HEATMAP_NEAREST};

panel *panel_map(void) { return &map.super; }

