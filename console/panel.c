/* The panels' table and their shared pieces (panel.h): dim text and a centred hint for the
 * draw functions; the title line, an empty panel's figure, task marks, the terminal's
 * palettes and colours in gnuplot's words for the plot functions. */
#include <stdio.h>
#include <string.h>

#include "gnuplot.h"
#include "panel.h"

/* ---- the table ------------------------------------------------------------------------- */

static panel *(*const kinds[])(void) = {panel_map,       panel_switch, panel_matrix,
                                        panel_confusion, panel_curves, panel_device};

int panels_count(void) { return (int)(sizeof kinds / sizeof kinds[0]); }

panel *panels_get(int i) { return i >= 0 && i < panels_count() ? kinds[i]() : NULL; }

panel *panels_find(const char *name)
{
    for (int i = 0; i < panels_count(); i++)
        if (!strcmp(panels_get(i)->cls->name, name))
            return panels_get(i);
    return NULL;
}

/* ---- for the draw functions --------------------------------------------------------------- */

canvas_style panel_dim(void) { return STYLE(-1, -1, CANVAS_DIM); }

void panel_centre_text(canvas *c, rect r, const char *text)
{
    int w = canvas_text_width(c, text);
    canvas_text(c, r.x + (r.w > w ? (r.w - w) / 2 : 0), r.y + r.h / 2, r.w, text, panel_dim());
}

/* ---- for the plot functions --------------------------------------------------------------- */

void panel_plot_title(FILE *gp, const char *title)
{
    fprintf(gp, "# title: ");
    for (const char *s = title; *s; s++)
        fputc(*s == '\n' ? ' ' : *s, gp);
    fprintf(gp, "\nset title ");
    gnuplot_quote(gp, title);
    fprintf(gp, "\n");
}

void panel_plot_empty(FILE *gp, const char *title, const char *hint)
{
    panel_plot_title(gp, title);
    fprintf(gp, "unset border\nunset tics\nunset key\nunset colorbox\n"
                "set xrange [0:1]\nset yrange [0:1]\nset label 1 ");
    gnuplot_quote(gp, hint);
    fprintf(gp, " at graph 0.5, 0.5 center\nplot 2 notitle\n");
}

void panel_plot_rgb(int i, char out[8])
{
    int rgb[3];
    palette_rgb(i, rgb);
    snprintf(out, 8, "#%02x%02x%02x", rgb[0] & 0xff, rgb[1] & 0xff, rgb[2] & 0xff);
}

void panel_plot_palette(FILE *gp, const palette *p)
{
    fprintf(gp, "set palette defined (");
    for (int i = 0; i < p->n256; i++) {
        char c[8];
        panel_plot_rgb(p->c256[i], c);
        fprintf(gp, "%s%d \"%s\"", i ? ", " : "", i, c);
    }
    fprintf(gp, ")\nset palette maxcolors %d\n", p->n256);
}

const char *panel_plot_ink(const palette *p, double t)
{
    int c = palette_colour(p, CANVAS_256, t);
    return c >= 0 && palette_luminance(c) < 128 ? "#ffffff" : "#000000";
}

void panel_plot_task_marks(FILE *gp, const model *m)
{
    for (int k = 1; k < m->nepochs; k++) {
        const model_epoch *a = &m->epochs[k - 1], *b = &m->epochs[k];
        if (a->task == b->task && a->job == b->job)
            continue;
        fprintf(gp, "set arrow from %g, graph 0 to %g, graph 1 nohead dt 2 lc rgb \"#a0a0a0\"\n"
                    "set label \"task %d\" at %g, graph 1 left offset 0.5, -1 tc rgb \"#707070\"\n",
                k + 0.5, k + 0.5, b->task + 1, k + 0.5);
    }
}
