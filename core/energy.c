#include "energy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "error.h"

void energy_params_default(energy_params *p)
{
    p->v_read = 0.2;
    p->t_read = 10e-9;
    p->r_lrs = 30e3;
    p->r_hrs = 1e6;
    p->p = 16;
    p->e_add = ENERGY_INT32_ADD_PJ * 1e-12;
    p->e_adc = 0.0;
    p->adc_per_output = 1;
}

double energy_digital(long n_mul, double e_mul_pj, long n_add, double e_add_pj)
{
    return ((double)n_mul * e_mul_pj + (double)n_add * e_add_pj) * 1e-12;
}

static int check_sizes(int nlayers, const int *sizes, char *err, size_t errlen)
{
    if (nlayers < 1 || !sizes)
        return err_set(err, errlen, "energy: need at least one layer, got %d", nlayers);
    for (int l = 0; l <= nlayers; l++)
        if (sizes[l] <= 0)
            return err_set(err, errlen,
                           "energy: layer sizes must be positive, got %d at position %d",
                           sizes[l], l);
    return 0;
}

/* A value that must be finite and > 0 (or >= 0 when zero_ok). */
static int check_value(const char *name, double v, int zero_ok, char *err, size_t errlen)
{
    if (!isfinite(v) || v < 0 || (!zero_ok && v == 0))
        return err_set(err, errlen, "energy: %s must be %s, got %g", name,
                       zero_ok ? "finite and >= 0" : "finite and > 0", v);
    return 0;
}

static int check_params(const energy_params *p, char *err, size_t errlen)
{
    if (check_value("v_read", p->v_read, 0, err, errlen) ||
        check_value("t_read", p->t_read, 0, err, errlen) ||
        check_value("r_lrs", p->r_lrs, 0, err, errlen) ||
        check_value("r_hrs", p->r_hrs, 0, err, errlen) ||
        check_value("e_add", p->e_add, 1, err, errlen) ||
        check_value("e_adc", p->e_adc, 1, err, errlen))
        return -1;
    if (p->p < 1)
        return err_set(err, errlen, "energy: parallelism p must be >= 1, got %d", p->p);
    if (p->adc_per_output != 1 && p->adc_per_output != 2)
        return err_set(err, errlen, "energy: adc_per_output must be 1 or 2, got %d",
                       p->adc_per_output);
    return 0;
}

/* Operation counts and the digital figures, which depend on the sizes only. */
static void digital_part(int nlayers, const int *sizes, energy_report *r)
{
    long macs = 0;
    for (int l = 0; l < nlayers; l++)
        macs += (long)sizes[l] * sizes[l + 1];
    r->macs = r->muls = r->adds = macs;
    r->float_cmos_j = energy_digital(macs, ENERGY_FP32_MUL_PJ, macs, ENERGY_FP32_ADD_PJ);
    r->binary_digital_j = energy_digital(macs, ENERGY_INT8_MUL_PJ, macs, ENERGY_INT8_ADD_PJ);
}

/* Array reads, partial-sum additions and conversions at parallelism p->p. */
static void rram_part(int nlayers, const int *sizes, const energy_params *p, double g_lrs,
                      double g_hrs, energy_report *r)
{
    r->g_lrs = g_lrs;
    r->g_hrs = g_hrs;
    r->cells_read = 2 * r->macs;
    /* A binary pair holds one LRS and one HRS cell, whatever the weight's sign. */
    r->sum_g = (double)r->macs * (g_lrs + g_hrs);
    r->rram_read_j = p->v_read * p->v_read * p->t_read * r->sum_g;
    r->psum_adds = 0;
    r->conversions = 0;
    for (int l = 0; l < nlayers; l++) {
        long groups = (sizes[l] + (long)p->p - 1) / p->p; /* array operations per column */
        r->psum_adds += (long)sizes[l + 1] * (groups - 1);
        r->conversions += (long)sizes[l + 1] * groups * p->adc_per_output;
    }
    r->rram_add_j = (double)r->psum_adds * p->e_add;
    r->rram_adc_j = (double)r->conversions * p->e_adc;
    r->rram_j = r->rram_read_j + r->rram_add_j + r->rram_adc_j;
}

int energy_compute_measured(int nlayers, const int *sizes, const energy_params *p,
                            double g_lrs, double g_hrs, energy_report *out, char *err,
                            size_t errlen)
{
    energy_params def;
    if (!p) {
        energy_params_default(&def);
        p = &def;
    }
    if (!out)
        return err_set(err, errlen, "energy: no report to fill");
    if (check_sizes(nlayers, sizes, err, errlen) || check_params(p, err, errlen))
        return -1;
    if (!isfinite(g_lrs) || !isfinite(g_hrs) || g_hrs < 0 || g_lrs <= g_hrs)
        return err_set(err, errlen, "energy: need G_LRS > G_HRS >= 0, got G_LRS %g S, G_HRS %g S",
                       g_lrs, g_hrs);
    digital_part(nlayers, sizes, out);
    rram_part(nlayers, sizes, p, g_lrs, g_hrs, out);
    return 0;
}

int energy_compute(int nlayers, const int *sizes, const energy_params *p, energy_report *out,
                   char *err, size_t errlen)
{
    energy_params def;
    if (!p) {
        energy_params_default(&def);
        p = &def;
    }
    if (check_params(p, err, errlen))
        return -1;
    if (p->r_hrs <= p->r_lrs)
        return err_set(err, errlen, "energy: R_HRS (%g Ohm) must exceed R_LRS (%g Ohm)", p->r_hrs,
                       p->r_lrs);
    return energy_compute_measured(nlayers, sizes, p, 1.0 / p->r_lrs, 1.0 / p->r_hrs, out, err,
                                   errlen);
}

double energy_round_sig(double x, int digits)
{
    if (digits < 1)
        digits = 1;
    if (digits > 17)
        digits = 17;
    if (x == 0 || !isfinite(x))
        return x;
    /* Through the decimal text: the same rounding as printing with %.{digits-1}e. */
    char buf[64];
    snprintf(buf, sizeof buf, "%.*e", digits - 1, x);
    return strtod(buf, NULL);
}
