/* chipmeter: the LRS/HRS histogram of a programmed net and cells' retention traces, read
 * through chip.h (contracts in chipmeter.h). */
#include "chipmeter.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

double chipmeter_histogram_default_max(chip *c)
{
    double glrs = 0;
    char err[200];
    if (chip_get(c, "g_lrs", &glrs, err, sizeof err) < 0)
        glrs = 100;
    return 1.6 * glrs;
}

/* Read both arrays of block r: gp, gn malloc'd (rows, cols), or -1 with nothing left. */
static int read_both(chip *c, chip_rect r, float **gp, float **gn, char *err, size_t errlen)
{
    size_t n = (size_t)r.rows * (size_t)r.cols;
    *gp = malloc((n ? n : 1) * sizeof **gp);
    *gn = malloc((n ? n : 1) * sizeof **gn);
    if (!*gp || !*gn) {
        err_format(err, errlen, "out of memory");
    } else if (chip_read(c, CHIP_POS, r, *gp, err, errlen) == 0 &&
               chip_read(c, CHIP_NEG, r, *gn, err, errlen) == 0) {
        return 0;
    }
    free(*gp);
    free(*gn);
    return -1;
}

/* Count one layer's cells into h; sums s, s2 and counts cnt by state (0 HRS, 1 LRS). */
static void count_layer(chipmeter_histogram *h, const net_layer *nl, chip_rect r,
                        const float *gp, const float *gn, double s[2], double s2[2], long cnt[2])
{
    int bins = h->bins;
    for (int i = 0; i < r.rows; i++)
        for (int j = 0; j < r.cols; j++) {
            int plus = nl->wh[(size_t)j * nl->in + i] >= 0.0f;
            size_t k = (size_t)i * r.cols + j;
            float g[2] = {gp[k], gn[k]};
            for (int a = 0; a < 2; a++) {
                int lrs = a == 0 ? plus : !plus;
                double x = g[a] / h->gmax * bins; /* clamped before the cast (NaN too) */
                int bin = !(x >= 0) ? 0 : x >= bins ? bins - 1 : (int)x;
                (lrs ? h->lrs : h->hrs)[bin]++;
                s[lrs] += g[a];
                s2[lrs] += (double)g[a] * g[a];
                cnt[lrs]++;
            }
        }
}

int chipmeter_histogram_measure(chip *c, const net *n, int layer, int bins, double gmax,
                                chipmeter_histogram *h, char *err, size_t errlen)
{
    if (bins < 2 || bins > CHIPMETER_MAX_BINS || !(gmax > 0) || layer < 0 ||
        layer > n->nlayers)
        return err_set(err, errlen, "bins 2-%d, max > 0, layer 0 (all) or 1-%d", CHIPMETER_MAX_BINS,
                       n->nlayers);
    memset(h, 0, sizeof *h);
    h->bins = bins;
    h->gmax = gmax;
    double s[2] = {0}, s2[2] = {0};
    long cnt[2] = {0};
    for (int l = 0; l < n->nlayers; l++) {
        if (layer && l != layer - 1)
            continue;
        float *gp, *gn;
        if (read_both(c, c->at[l], &gp, &gn, err, errlen) < 0)
            return -1;
        count_layer(h, &n->layer[l], c->at[l], gp, gn, s, s2, cnt);
        free(gp);
        free(gn);
    }
    for (int b = 0; b <= bins; b++)
        h->edges[b] = gmax * b / bins;
    double mean[2], sd[2];
    for (int a = 0; a < 2; a++) {
        mean[a] = cnt[a] ? s[a] / cnt[a] : 0;
        double var = cnt[a] ? s2[a] / cnt[a] - mean[a] * mean[a] : 0;
        sd[a] = sqrt(var > 0 ? var : 0);
    }
    h->hrs_mean = mean[0];
    h->hrs_sd = sd[0];
    h->lrs_mean = mean[1];
    h->lrs_sd = sd[1];
    return 0;
}

int chipmeter_lrs_cells(const chip *c, const net *n, chipmeter_cell *cells, int max)
{
    const net_layer *nl = &n->layer[0];
    chip_rect r = c->at[0];
    int k = 0;
    for (int i = 0; i < r.rows && k < max; i++)
        for (int j = 0; j < r.cols && k < max; j++) {
            int plus = nl->wh[(size_t)j * nl->in + i] >= 0.0f;
            cells[k] = (chipmeter_cell){plus ? CHIP_POS : CHIP_NEG, r.row0 + i, r.col0 + j};
            k++;
        }
    return k;
}

void chipmeter_retention_free(chipmeter_retention *r)
{
    free(r->mean);
    free(r->max_deviation);
    free(r->trace);
    r->mean = r->max_deviation = NULL;
    r->trace = NULL;
}

/* One cell read `reads` times: its kept reads into trace, its mean and max deviation. */
static int trace_cell(chip *c, chipmeter_cell cell, long reads, int every, float *trace,
                      double *mean, double *max_deviation, char *err, size_t errlen)
{
    chip_rect r = {cell.row, cell.col, 1, 1};
    double mn = INFINITY, mx = -INFINITY, sum = 0;
    char e2[400];
    int nt = 0;
    for (long i = 0; i < reads; i++) {
        float g;
        if (chip_read(c, cell.array, r, &g, err, errlen) < 0)
            return -1;
        mn = g < mn ? g : mn;
        mx = g > mx ? g : mx;
        sum += g;
        if (i % every == 0) {
            trace[nt++] = g;
            chip_set(c, "refresh", 0, e2, sizeof e2); /* the sim's pending reads; no one else's */
        }
    }
    *mean = sum / (double)reads;
    *max_deviation = *mean > 0 ? (mx - mn) / *mean : 0;
    return 0;
}

int chipmeter_retention_measure(chip *c, const chipmeter_cell *cells, int ncells, long reads,
                                int every, chipmeter_retention *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (ncells < 1 || ncells > CHIPMETER_MAX_CELLS || reads < 2 ||
        reads > CHIPMETER_MAX_READS || every < 1)
        return err_set(err, errlen,
                       "1 to %d cells, 2 to 10^7 reads and every >= 1", CHIPMETER_MAX_CELLS);
    int ntrace = (int)((reads - 1) / every + 1);
    out->mean = malloc(sizeof *out->mean * (size_t)ncells);
    out->max_deviation = malloc(sizeof *out->max_deviation * (size_t)ncells);
    out->trace = malloc(sizeof *out->trace * (size_t)ncells * (size_t)ntrace);
    if (!out->mean || !out->max_deviation || !out->trace) {
        chipmeter_retention_free(out);
        return err_set(err, errlen, "out of memory");
    }
    out->ncells = ncells;
    out->every = every;
    out->ntrace = ntrace;
    for (int k = 0; k < ncells; k++)
        if (trace_cell(c, cells[k], reads, every, out->trace + (size_t)k * ntrace,
                       &out->mean[k], &out->max_deviation[k], err, errlen) < 0) {
            chipmeter_retention_free(out);
            return -1;
        }
    return 0;
}
