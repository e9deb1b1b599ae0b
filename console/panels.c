/* The console's panels: map, switch, matrix, confusion, curves, device. Each kind is a
 * const panel_class (its functions) defined after them; a kind with state of its own (the
 * map's view, the confusion matrix's task) embeds a panel first. Each draws from the model
 * into the rectangle it is given (inside its frame). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "heatmap.h"
#include "palette.h"
#include "panel.h"
#include "plot.h"

static canvas_style dim(void) { return STYLE(-1, -1, CANVAS_DIM); }

static void centre_text(canvas *c, rect r, const char *text)
{
    int w = canvas_text_width(c, text);
    canvas_text(c, r.x + (r.w > w ? (r.w - w) / 2 : 0), r.y + r.h / 2, r.w, text, dim());
}

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

static void map_draw(panel *p, canvas *c, rect r, const model *m, int focused)
{
    (void)focused;
    map_panel *mp = (map_panel *)p;
    const float *data = mp->mode == MAP_WEIGHT ? m->weight : mp->mode == MAP_HIDDEN ? m->hidden
                        : mp->mode == MAP_GPOS ? m->gpos : m->gneg;
    if ((mp->mode == MAP_GPOS || mp->mode == MAP_GNEG) && !m->have_g) {
        centre_text(c, r, "no chip programmed: chip:program(net)");
        return;
    }
    if (m->nlayers == 0) {
        centre_text(c, r, "train a net or program a chip to see the array");
        return;
    }
    /* the window persists across frames (zoom and pan), fitted to the layers when they first
     * appear or change in number; the data pointer is refreshed */
    mp->src.data = data;
    if (!mp->inited || mp->fitted_layers != m->nlayers) {
        map_fit_layers(mp, m);
        mp->inited = 1;
    }
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
    const palette *pal = &palette_sequential;
    const char *units = "uS";
    if (mp->mode == MAP_WEIGHT) {
        mp->src.lo = -1.2f;
        mp->src.hi = 1.2f;
        pal = &palette_diverging;
        units = "w";
    } else if (mp->mode == MAP_HIDDEN) {
        mp->src.lo = 0;
        mp->src.hi = 0; /* automatic: the window's range */
        units = "|Wh|";
    } else {
        mp->src.lo = 0;
        mp->src.hi = 1.25f * m->g_lrs;
    }
    /* the whole panel: cells need not be square, the label says the scale */
    rect area = RECT(r.x, r.y, r.w, r.h > 2 ? r.h - 1 : r.h);
    heatmap_draw(c, area, &mp->src, pal);
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
        int lw = canvas_text(c, r.x, r.y + r.h - 1, r.w, label, dim());
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

static const panel_class map_class = {
    .name = "map",
    .title = "conductance map",
    .keys = "m mode (weight, hidden, G+, G-)  s sampling (nearest, sign, max, mean)  +/- zoom  "
            "arrows/hjkl pan  0 the layers",
    .draw = map_draw,
    .key = map_key,
    .option = map_option,
};
static map_panel map = {.super = {.cls = &map_class}, .sample = HEATMAP_NEAREST};

/* ---- matrix: accuracy on task j after task i, and the running average ------------------- */

static void matrix_draw(panel *p, canvas *c, rect r, const model *m, int focused)
{
    (void)p;
    (void)focused;
    if (m->rows == 0) {
        centre_text(c, r, "exp:step() fills the accuracy matrix");
        return;
    }
    int n = m->rows;
    int cw = 7;
    canvas_text(c, r.x, r.y, r.w, "after", STYLE(-1, -1, CANVAS_BOLD));
    for (int j = 0; j < n && 7 + (j + 1) * cw <= r.w; j++)
        canvas_printf(c, r.x + 7 + j * cw, r.y, cw, STYLE(-1, -1, CANVAS_BOLD), "  T%d", j + 1);
    if (7 + (n + 1) * cw <= r.w)
        canvas_text(c, r.x + 7 + n * cw, r.y, cw, "  avg", STYLE(-1, -1, CANVAS_BOLD));
    canvas_colours mode = canvas_colour_mode(c);
    for (int i = 0; i < n && i + 1 < r.h; i++) {
        canvas_printf(c, r.x, r.y + 1 + i, 7, STYLE_NORMAL, "task %d", i + 1);
        for (int j = 0; j <= i && 7 + (j + 1) * cw <= r.w; j++) {
            double v = m->acc[i][j];
            double t = (v - 0.5) / 0.5;
            canvas_style s = palette_bg_style(&palette_sequential, mode, t < 0 ? 0 : t);
            canvas_printf(c, r.x + 7 + j * cw, r.y + 1 + i, cw - 1, s, "%5.1f ", 100 * v);
        }
        if (7 + (n + 1) * cw <= r.w)
            canvas_printf(c, r.x + 7 + n * cw, r.y + 1 + i, cw, STYLE(-1, -1, CANVAS_BOLD),
                          "%5.1f", 100 * m->average[i]);
    }
    if (n + 2 < r.h)
        canvas_printf(c, r.x, r.y + n + 2, r.w, dim(), "multitask average %.2f%% after %d task%s",
                      100 * m->average[n - 1], n, n > 1 ? "s" : "");
}

static const panel_class matrix_class = {
    .name = "matrix",
    .title = "accuracy matrix",
    .keys = "(no keys)",
    .draw = matrix_draw,
};
static panel matrix = {.cls = &matrix_class};

/* ---- confusion: counts (true class x predicted class) over a ramp ------------------------ */

/* The confusion matrix's state: the task whose classes it shows (0: all ten). */
typedef struct confusion_panel {
    panel super;
    int task;
} confusion_panel;

static void confusion_draw(panel *p, canvas *c, rect r, const model *m, int focused)
{
    (void)focused;
    const confusion_panel *cp = (const confusion_panel *)p;
    if (!m->has_confusion) {
        centre_text(c, r, "lab.evaluate(net, seq, {confusion = true})");
        return;
    }
    int lo = 0, hi = 10;
    if (cp->task > 0 && cp->task <= 5) { /* a task's two classes */
        lo = 2 * (cp->task - 1);
        hi = lo + 2;
    }
    long mx = 1;
    for (int i = lo; i < hi; i++)
        for (int j = lo; j < hi; j++)
            mx = m->confusion[i][j] > mx ? m->confusion[i][j] : mx;
    int cw = r.w >= 3 + 10 * 6 ? 6 : r.w >= 3 + 10 * 5 ? 5 : 4;
    canvas_colours mode = canvas_colour_mode(c);
    canvas_text(c, r.x, r.y, 3, "t\\p", dim());
    for (int j = lo; j < hi; j++)
        canvas_printf(c, r.x + 3 + (j - lo) * cw, r.y, cw, dim(), "%*d", cw - 1, j);
    for (int i = lo; i < hi && i - lo + 1 < r.h; i++) {
        canvas_printf(c, r.x, r.y + 1 + i - lo, 3, dim(), "%2d", i);
        for (int j = lo; j < hi; j++) {
            long v = m->confusion[i][j];
            double t = v > 0 ? log1p((double)v) / log1p((double)mx) : 0;
            canvas_style s = palette_bg_style(&palette_counts, mode, t);
            canvas_printf(c, r.x + 3 + (j - lo) * cw, r.y + 1 + i - lo, cw, s, "%*ld ", cw - 1,
                          v);
        }
    }
    int y = r.y + 2 + (hi - lo);
    if (y < r.y + r.h)
        canvas_printf(c, r.x, y, r.w, dim(), "%s, average %.2f%% over %d task%s",
                      cp->task ? "one task" : "all classes", 100 * m->conf_average, m->conf_upto,
                      m->conf_upto > 1 ? "s" : "");
}

static int confusion_key(panel *p, int key, const model *m)
{
    (void)m;
    confusion_panel *cp = (confusion_panel *)p;
    if (key == 't') {
        cp->task = (cp->task + 1) % 6;
        return 1;
    }
    if (key >= '0' && key <= '5') {
        cp->task = key - '0';
        return 1;
    }
    return 0;
}

static int confusion_option(panel *p, const char *k, const char *v, char *err, size_t errlen)
{
    confusion_panel *cp = (confusion_panel *)p;
    if (!strcmp(k, "task")) {
        int t = !strcmp(v, "all") ? 0 : atoi(v);
        if (t < 0 || t > 5)
            return err_set(err, errlen, "task must be 1-5 or \"all\", got '%s'", v);
        cp->task = t;
        return 0;
    }
    return err_set(err, errlen, "this panel takes task, not '%s'", k);
}

static const panel_class confusion_class = {
    .name = "confusion",
    .title = "confusion matrix",
    .keys = "t next task  0 all  1-5 a task",
    .draw = confusion_draw,
    .key = confusion_key,
    .option = confusion_option,
};
static confusion_panel confusion = {.super = {.cls = &confusion_class}};

/* ---- switch: each layer's switch rate, epoch after epoch, task after task --------------- */

static const int series_colour[] = {4, 2, 1, 5, 3, 6, 4, 2};

static void switch_draw(panel *p, canvas *c, rect r, const model *m, int focused)
{
    (void)p;
    (void)focused;
    if (m->nepochs == 0) {
        centre_text(c, r, "training epochs show here (exp:step())");
        return;
    }
    int nl = m->epochs[m->nepochs - 1].nlayers;
    static float xs[MPCL_MAX_LAYERS][4096], ys[MPCL_MAX_LAYERS][4096];
    int n = m->nepochs < 4096 ? m->nepochs : 4096, first = m->nepochs - n;
    plot_series s[MPCL_MAX_LAYERS];
    for (int l = 0; l < nl; l++) {
        for (int k = 0; k < n; k++) {
            xs[l][k] = (float)(first + k + 1);
            ys[l][k] = 100.0f * m->epochs[first + k].switch_layer[l];
        }
        s[l] = (plot_series){xs[l], ys[l], n, series_colour[l], NULL};
    }
    char names[MPCL_MAX_LAYERS][24];
    for (int l = 0; l < nl; l++) {
        snprintf(names[l], sizeof names[l], "layer %d", l + 1);
        s[l].label = names[l];
    }
    plot_axes ax;
    plot_axes_auto(&ax, s, nl);
    ax.ymin = 0;
    ax.xlabel = "epoch";
    ax.ylabel = "% switched";
    plot_draw(c, r, s, nl, &ax);
}

static const panel_class switch_class = {
    .name = "switch",
    .title = "weight-switch rate per layer",
    .keys = "(no keys)",
    .draw = switch_draw,
};
static panel switches = {.cls = &switch_class};

/* ---- curves: loss and accuracy of the training so far ----------------------------------- */

static void curves_draw(panel *p, canvas *c, rect r, const model *m, int focused)
{
    (void)p;
    (void)focused;
    if (m->nepochs == 0) {
        centre_text(c, r, "training curves show here");
        return;
    }
    static float xs[4096], tr[4096], va[4096], lo[4096];
    int n = m->nepochs < 4096 ? m->nepochs : 4096, first = m->nepochs - n;
    for (int k = 0; k < n; k++) {
        const model_epoch *e = &m->epochs[first + k];
        xs[k] = (float)(first + k + 1);
        tr[k] = 100 * e->train_acc;
        va[k] = 100 * e->val_acc;
        lo[k] = e->loss;
    }
    int top = r.h * 2 / 3;
    plot_series acc[2] = {{xs, tr, n, 4, "train"}, {xs, va, n, 2, "validation"}};
    plot_axes ax;
    plot_axes_auto(&ax, acc, 2);
    ax.ymax = 100;
    ax.xlabel = NULL;
    ax.ylabel = "accuracy %";
    plot_draw(c, RECT(r.x, r.y, r.w, top), acc, 2, &ax);
    plot_series loss[1] = {{xs, lo, n, 1, "loss"}};
    plot_axes_auto(&ax, loss, 1);
    ax.ymin = 0;
    ax.xlabel = "epoch";
    ax.ylabel = "loss";
    plot_draw(c, RECT(r.x, r.y + top, r.w, r.h - top), loss, 1, &ax);
}

static const panel_class curves_class = {
    .name = "curves",
    .title = "training curves",
    .keys = "(no keys)",
    .draw = curves_draw,
};
static panel curves = {.cls = &curves_class};

/* ---- device: the LRS/HRS histogram and a retention trace ------------------------------- */

static void device_draw(panel *p, canvas *c, rect r, const model *m, int focused)
{
    (void)p;
    (void)focused;
    if (!m->bins && !m->ntrace) {
        centre_text(c, r, "chip:histogram(), chip:retention(n, reads)");
        return;
    }
    int top = m->ntrace ? r.h / 2 : r.h;
    if (m->bins) {
        static double counts[2][1024];
        int bins = m->bins < 1024 ? m->bins : 1024;
        for (int b = 0; b < bins; b++) {
            counts[0][b] = (double)m->lrs[b];
            counts[1][b] = (double)m->hrs[b];
        }
        plot_hist h[2] = {{counts[1], 4, "HRS"}, {counts[0], 3, "LRS"}};
        plot_histogram(c, RECT(r.x, r.y, r.w, top), h, 2, bins, m->edges[0], m->edges[bins],
                       "uS");
    }
    if (m->ntrace) {
        static float xs[8192], ys[8192];
        int n = m->ntrace < 8192 ? m->ntrace : 8192;
        for (int k = 0; k < n; k++) {
            xs[k] = (float)(k * m->trace_every);
            ys[k] = m->trace[k];
        }
        plot_series s = {xs, ys, n, 3, "one LRS cell"};
        plot_axes ax;
        plot_axes_auto(&ax, &s, 1);
        ax.xlabel = "reads";
        ax.ylabel = "G (uS)";
        plot_draw(c, RECT(r.x, r.y + top, r.w, r.h - top), &s, 1, &ax);
    }
}

static const panel_class device_class = {
    .name = "device",
    .title = "device: LRS/HRS and retention",
    .keys = "(no keys)",
    .draw = device_draw,
};
static panel device = {.cls = &device_class};

/* ---- the table -------------------------------------------------------------------------- */

static panel *const panels[] = {&map.super, &switches, &matrix, &confusion.super, &curves, &device};

int panels_count(void) { return (int)(sizeof panels / sizeof panels[0]); }

panel *panels_get(int i) { return i >= 0 && i < panels_count() ? panels[i] : NULL; }

panel *panels_find(const char *name)
{
    for (int i = 0; i < panels_count(); i++)
        if (!strcmp(panels[i]->cls->name, name))
            return panels[i];
    return NULL;
}
