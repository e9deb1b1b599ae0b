/* The console's panels: switch, matrix, confusion, curves, device (the map: panel_map.c).
 * Each kind is a const panel_class (its functions) defined after them; a kind with state of
 * its own (the confusion matrix's task) embeds a panel first. Each draws from the model into
 * the rectangle it is given (inside its frame). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gnuplot.h"
#include "heatmap.h"
#include "palette.h"
#include "panel.h"
#include "plot.h"

/* ---- matrix: accuracy on task j after task i, and the running average ------------------- */

/* What the panel says while it has nothing to show (drawn or plotted), else NULL. */
static const char *matrix_empty(const panel *p, const model *m)
{
    (void)p;
    return m->rows == 0 ? "exp:step() fills the accuracy matrix" : NULL;
}

static void matrix_draw(panel *p, canvas *c, rect r, const model *m, int focused)
{
    (void)p;
    (void)focused;
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

/* The grid of accuracies in % (colour t = (v - 0.5) / 0.5 as drawn: a colour bar of 50-100%),
 * each value in its cell, the running average in a column and a caption. */
static int matrix_plot(panel *p, const model *m, FILE *gp, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    int n = m->rows;
    char title[128];
    snprintf(title, sizeof title, "%s after %d task%s", p->cls->title, n, n > 1 ? "s" : "");
    panel_plot_title(gp, title);
    panel_plot_palette(gp, &palette_sequential);
    fprintf(gp, "$acc << EOD\n");
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= n; j++)
            fprintf(gp, j < n ? "%.4f " : "NaN\n", j <= i ? 100 * m->acc[i][j] : NAN);
    fprintf(gp, "EOD\n$text << EOD\n");
    for (int i = 0; i < n; i++) {
        for (int j = 0; j <= i; j++) {
            const char *ink = panel_plot_ink(&palette_sequential, (m->acc[i][j] - 0.5) / 0.5);
            fprintf(gp, "%d %d \"%.1f\" %d\n", j, i, 100 * m->acc[i][j],
                    ink[1] == 'f' ? 0xffffff : 0);
        }
        fprintf(gp, "%d %d \"%.2f\" 0\n", n, i, 100 * m->average[i]);
    }
    fprintf(gp, "EOD\nset xtics (");
    for (int j = 0; j < n; j++)
        fprintf(gp, "\"T%d\" %d, ", j + 1, j);
    fprintf(gp, "\"avg\" %d) scale 0\nset ytics (", n);
    for (int i = 0; i < n; i++)
        fprintf(gp, "%s\"after task %d\" %d", i ? ", " : "", i + 1, i);
    fprintf(gp, ") scale 0\nset xrange [-0.5:%d.5]\nset yrange [%d.5:-0.5]\n", n, n - 1);
    fprintf(gp, "set cbrange [50:100]\nset cblabel \"accuracy %%\"\nunset key\n");
    fprintf(gp, "set bmargin 5\nset label 1 \"multitask average %.2f%% after %d task%s\" "
                "at screen 0.5, screen 0.03 center\n",
            100 * m->average[n - 1], n, n > 1 ? "s" : "");
    fprintf(gp, "plot $acc matrix using 1:2:3 with image, "
                "$text using 1:2:3:4 with labels textcolor rgb variable\n");
    return 0;
}

static const panel_class matrix_class = {
    .name = "matrix",
    .title = "accuracy matrix",
    .keys = "(no keys)",
    .draw = matrix_draw,
    .empty = matrix_empty,
    .plot = matrix_plot,
};
static panel matrix = {.cls = &matrix_class};

/* ---- confusion: counts (true class x predicted class) over a ramp ------------------------ */

/* The confusion matrix's state: the task whose classes it shows (0: all ten). */
typedef struct confusion_panel {
    panel super;
    int task;
} confusion_panel;

/* What the panel says while it has nothing to show (drawn or plotted), else NULL. */
static const char *confusion_empty(const panel *p, const model *m)
{
    (void)p;
    return !m->has_confusion ? "lab.evaluate(net, seq, {confusion = true})" : NULL;
}

/* The classes [*lo, *hi) the panel shows (all ten, or a task's two) and their largest count
 * (at least 1), which the colours are scaled to. */
static long confusion_classes(const panel *p, const model *m, int *lo, int *hi)
{
    const confusion_panel *cp = (const confusion_panel *)p;
    *lo = 0, *hi = 10;
    if (cp->task > 0 && cp->task <= 5) {
        *lo = 2 * (cp->task - 1);
        *hi = *lo + 2;
    }
    long mx = 1;
    for (int i = *lo; i < *hi; i++)
        for (int j = *lo; j < *hi; j++)
            mx = m->confusion[i][j] > mx ? m->confusion[i][j] : mx;
    return mx;
}

static void confusion_draw(panel *p, canvas *c, rect r, const model *m, int focused)
{
    (void)focused;
    const confusion_panel *cp = (const confusion_panel *)p;
    int lo, hi;
    long mx = confusion_classes(p, m, &lo, &hi);
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

/* The counts of the panel's classes (colour log1p(v) / log1p(max), as drawn), each in its
 * cell; x predicted, y true; a caption with the average. */
static int confusion_plot(panel *p, const model *m, FILE *gp, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    const confusion_panel *cp = (const confusion_panel *)p;
    int lo, hi;
    long mx = confusion_classes(p, m, &lo, &hi);
    char title[128];
    if (cp->task)
        snprintf(title, sizeof title, "%s: task %d (classes %d-%d)", p->cls->title, cp->task, lo,
                 hi - 1);
    else
        snprintf(title, sizeof title, "%s: all classes", p->cls->title);
    panel_plot_title(gp, title);
    panel_plot_palette(gp, &palette_counts);
    fprintf(gp, "$conf << EOD\n");
    for (int i = lo; i < hi; i++)
        for (int j = lo; j < hi; j++) {
            long v = m->confusion[i][j];
            double t = v > 0 ? log1p((double)v) / log1p((double)mx) : 0;
            const char *ink = panel_plot_ink(&palette_counts, t);
            fprintf(gp, "%d %d %.5f %ld %d\n", j, i, t, v, ink[1] == 'f' ? 0xffffff : 0);
        }
    fprintf(gp, "EOD\nset xrange [%g:%g]\nset yrange [%g:%g]\n", lo - 0.5, hi - 0.5, hi - 0.5,
            lo - 0.5);
    fprintf(gp, "set xtics %d, 1, %d scale 0\nset ytics %d, 1, %d scale 0\n", lo, hi - 1, lo,
            hi - 1);
    fprintf(gp, "set xlabel \"predicted\"\nset ylabel \"true\"\nunset key\nset cbrange [0:1]\n"
                "set cblabel \"log(1 + count) / log(1 + %ld)\"\n", mx);
    fprintf(gp, "set bmargin 6\nset label 1 \"%s, average %.2f%% over %d task%s\" "
                "at screen 0.5, screen 0.03 center\n",
            cp->task ? "one task" : "all classes", 100 * m->conf_average, m->conf_upto,
            m->conf_upto > 1 ? "s" : "");
    fprintf(gp, "plot $conf using 1:2:3 with image, "
                "$conf using 1:2:(sprintf(\"%%d\", int($4))):5 with labels textcolor rgb "
                "variable\n");
    return 0;
}

static const panel_class confusion_class = {
    .name = "confusion",
    .title = "confusion matrix",
    .keys = "t next task  0 all  1-5 a task",
    .draw = confusion_draw,
    .empty = confusion_empty,
    .key = confusion_key,
    .option = confusion_option,
    .plot = confusion_plot,
};
static confusion_panel confusion = {.super = {.cls = &confusion_class}};

/* ---- switch: each layer's switch rate, epoch after epoch, task after task --------------- */

static const int series_colour[] = {4, 2, 1, 5, 3, 6, 4, 2};

/* What the panel says while it has nothing to show (drawn or plotted), else NULL. */
static const char *switch_empty(const panel *p, const model *m)
{
    (void)p;
    return m->nepochs == 0 ? "training epochs show here (exp:step())" : NULL;
}

static void switch_draw(panel *p, canvas *c, rect r, const model *m, int focused)
{
    (void)p;
    (void)focused;
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

/* One line per layer, every epoch seen: x epoch, y % switched. */
static int switch_plot(panel *p, const model *m, FILE *gp, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    int nl = m->epochs[m->nepochs - 1].nlayers;
    char title[128];
    snprintf(title, sizeof title, "%s, %d epoch%s", p->cls->title, m->nepochs,
             m->nepochs > 1 ? "s" : "");
    panel_plot_title(gp, title);
    fprintf(gp, "$sw << EOD\n");
    for (int k = 0; k < m->nepochs; k++) {
        fprintf(gp, "%d", k + 1);
        for (int l = 0; l < nl; l++)
            fprintf(gp, " %.6g", 100.0 * m->epochs[k].switch_layer[l]);
        fprintf(gp, "\n");
    }
    fprintf(gp, "EOD\nset xlabel \"epoch\"\nset ylabel \"%% switched\"\nset yrange [0:*]\n"
                "set grid\nset key top right\n");
    panel_plot_task_marks(gp, m);
    fprintf(gp, "plot ");
    for (int l = 0; l < nl; l++) {
        char c[8];
        panel_plot_rgb(series_colour[l % 8], c);
        fprintf(gp, "%s$sw using 1:%d with lines lw 2 lc rgb \"%s\" title \"layer %d\"",
                l ? ", " : "", l + 2, c, l + 1);
    }
    fprintf(gp, "\n");
    return 0;
}

static const panel_class switch_class = {
    .name = "switch",
    .title = "weight-switch rate per layer",
    .keys = "(no keys)",
    .draw = switch_draw,
    .empty = switch_empty,
    .plot = switch_plot,
};
static panel switches = {.cls = &switch_class};

/* ---- curves: loss and accuracy of the training so far ----------------------------------- */

/* What the panel says while it has nothing to show (drawn or plotted), else NULL. */
static const char *curves_empty(const panel *p, const model *m)
{
    (void)p;
    return m->nepochs == 0 ? "training curves show here" : NULL;
}

static void curves_draw(panel *p, canvas *c, rect r, const model *m, int focused)
{
    (void)p;
    (void)focused;
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

/* Two plots: accuracy % (train, validation) over epochs, then the loss. */
static int curves_plot(panel *p, const model *m, FILE *gp, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    char title[128];
    snprintf(title, sizeof title, "%s, %d epoch%s", p->cls->title, m->nepochs,
             m->nepochs > 1 ? "s" : "");
    panel_plot_title(gp, title);
    fprintf(gp, "$cv << EOD\n");
    for (int k = 0; k < m->nepochs; k++) {
        const model_epoch *e = &m->epochs[k];
        fprintf(gp, "%d %.6g %.6g %.6g\n", k + 1, 100 * e->train_acc, 100 * e->val_acc,
                e->loss);
    }
    char c[3][8];
    panel_plot_rgb(4, c[0]);
    panel_plot_rgb(2, c[1]);
    panel_plot_rgb(1, c[2]);
    fprintf(gp, "EOD\nunset title\n");
    panel_plot_task_marks(gp, m);
    fprintf(gp, "set multiplot layout 2, 1 title ");
    gnuplot_quote(gp, title);
    fprintf(gp, "\nset grid\nset key bottom right\nset ylabel \"accuracy %%\"\n"
                "set yrange [*:100]\nunset xlabel\n");
    fprintf(gp, "plot $cv using 1:2 with lines lw 2 lc rgb \"%s\" title \"train\", "
                "$cv using 1:3 with lines lw 2 lc rgb \"%s\" title \"validation\"\n",
            c[0], c[1]);
    fprintf(gp, "set key top right\nset ylabel \"loss\"\nset yrange [0:*]\n"
                "set xlabel \"epoch\"\n");
    fprintf(gp, "plot $cv using 1:4 with lines lw 2 lc rgb \"%s\" title \"loss\"\n"
                "unset multiplot\n", c[2]);
    return 0;
}

static const panel_class curves_class = {
    .name = "curves",
    .title = "training curves",
    .keys = "(no keys)",
    .draw = curves_draw,
    .empty = curves_empty,
    .plot = curves_plot,
};
static panel curves = {.cls = &curves_class};

/* ---- device: the LRS/HRS histogram and a retention trace ------------------------------- */

/* What the panel says while it has nothing to show (drawn or plotted), else NULL. */
static const char *device_empty(const panel *p, const model *m)
{
    (void)p;
    return !m->bins && !m->ntrace ? "chip:histogram(), chip:retention(n, reads)" : NULL;
}

static void device_draw(panel *p, canvas *c, rect r, const model *m, int focused)
{
    (void)p;
    (void)focused;
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

/* The LRS/HRS histogram (boxes over the bins' edges, uS). */
static void device_plot_histogram(const model *m, FILE *gp)
{
    fprintf(gp, "$hist << EOD\n");
    for (int b = 0; b < m->bins; b++)
        fprintf(gp, "%.6g %.6g %ld %ld\n", (m->edges[b] + m->edges[b + 1]) / 2,
                m->edges[b + 1] - m->edges[b], m->hrs[b], m->lrs[b]);
    char hrs[8], lrs[8];
    panel_plot_rgb(4, hrs);
    panel_plot_rgb(3, lrs);
    fprintf(gp, "EOD\nset xlabel \"G (uS)\"\nset ylabel \"cells\"\nset yrange [0:*]\n"
                "set style fill transparent solid 0.6 noborder\nset key top center\n");
    fprintf(gp, "plot $hist using 1:3:2 with boxes lc rgb \"%s\" title \"HRS\", "
                "$hist using 1:4:2 with boxes lc rgb \"%s\" title \"LRS\"\n", hrs, lrs);
}

/* The retention trace of one LRS cell: x reads, y G (uS). */
static void device_plot_trace(const model *m, FILE *gp)
{
    fprintf(gp, "$trace << EOD\n");
    for (int k = 0; k < m->ntrace; k++)
        fprintf(gp, "%ld %.6g\n", (long)k * m->trace_every, m->trace[k]);
    char c[8];
    panel_plot_rgb(3, c);
    fprintf(gp, "EOD\nset xlabel \"reads\"\nset ylabel \"G (uS)\"\nset yrange [*:*]\n"
                "set key top right\n");
    fprintf(gp, "plot $trace using 1:2 with lines lw 2 lc rgb \"%s\" title \"one LRS cell\"\n",
            c);
}

/* The histogram and the retention trace, one above the other when both are there. */
static int device_plot(panel *p, const model *m, FILE *gp, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    panel_plot_title(gp, p->cls->title);
    fprintf(gp, "set grid\n");
    if (m->bins && m->ntrace) {
        fprintf(gp, "unset title\nset multiplot layout 2, 1 title ");
        gnuplot_quote(gp, p->cls->title);
        fprintf(gp, "\n");
    }
    if (m->bins)
        device_plot_histogram(m, gp);
    if (m->ntrace)
        device_plot_trace(m, gp);
    if (m->bins && m->ntrace)
        fprintf(gp, "unset multiplot\n");
    return 0;
}

static const panel_class device_class = {
    .name = "device",
    .title = "device: LRS/HRS and retention",
    .keys = "(no keys)",
    .draw = device_draw,
    .empty = device_empty,
    .plot = device_plot,
};
static panel device = {.cls = &device_class};

/* ---- the kinds' panels, for the table (panel.c) ----------------------------------------- */

panel *panel_switch(void) { return &switches; }
panel *panel_matrix(void) { return &matrix; }
panel *panel_confusion(void) { return &confusion.super; }
panel *panel_curves(void) { return &curves; }
panel *panel_device(void) { return &device; }
