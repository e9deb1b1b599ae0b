/* The console's panels: switch, matrix, confusion, curves, device (the map: panel_map.c).
 * Each kind is a const panel_class (its functions) defined after them; a kind with state of
 * its own (the confusion matrix's task) embeds a panel first. Each draws from the model into
 * the rectangle it is given (inside its frame). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "heatmap.h"
#include "palette.h"
#include "panel.h"
#include "plot.h"

canvas_style panel_dim(void) { return STYLE(-1, -1, CANVAS_DIM); }

void panel_centre_text(canvas *c, rect r, const char *text)
{
    int w = canvas_text_width(c, text);
    canvas_text(c, r.x + (r.w > w ? (r.w - w) / 2 : 0), r.y + r.h / 2, r.w, text, panel_dim());
}

/* ---- matrix: accuracy on task j after task i, and the running average ------------------- */

static void matrix_draw(panel *p, canvas *c, rect r, const model *m, int focused)
{
    (void)p;
    (void)focused;
    if (m->rows == 0) {
        panel_centre_text(c, r, "exp:step() fills the accuracy matrix");
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
        canvas_printf(c, r.x, r.y + n + 2, r.w, panel_dim(),
                      "multitask average %.2f%% after %d task%s",
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
        panel_centre_text(c, r, "lab.evaluate(net, seq, {confusion = true})");
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
    canvas_text(c, r.x, r.y, 3, "t\\p", panel_dim());
    for (int j = lo; j < hi; j++)
        canvas_printf(c, r.x + 3 + (j - lo) * cw, r.y, cw, panel_dim(), "%*d", cw - 1, j);
    for (int i = lo; i < hi && i - lo + 1 < r.h; i++) {
        canvas_printf(c, r.x, r.y + 1 + i - lo, 3, panel_dim(), "%2d", i);
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
        canvas_printf(c, r.x, y, r.w, panel_dim(), "%s, average %.2f%% over %d task%s",
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
        panel_centre_text(c, r, "training epochs show here (exp:step())");
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
        panel_centre_text(c, r, "training curves show here");
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
        panel_centre_text(c, r, "chip:histogram(), chip:retention(n, reads)");
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

/* The map lives in panel_map.c: its pointer is filled in at first use. */
static panel *panels[] = {NULL, &switches, &matrix, &confusion.super, &curves, &device};

int panels_count(void) { return (int)(sizeof panels / sizeof panels[0]); }

panel *panels_get(int i)
{
    if (!panels[0])
        panels[0] = panel_map();
    return i >= 0 && i < panels_count() ? panels[i] : NULL;
}

panel *panels_find(const char *name)
{
    for (int i = 0; i < panels_count(); i++)
        if (!strcmp(panels_get(i)->cls->name, name))
            return panels_get(i);
    return NULL;
}
