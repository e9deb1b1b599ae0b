/* energy: the MAC energy model of one inference (one image) of a fully connected net.
 *
 * A net of layer sizes s0-s1-...-sL does  MACs = sum_l s(l) * s(l+1)  multiply-accumulates
 * per image (192-256-256-10: 192*256 + 256*256 + 256*10 = 117,248).
 *
 * Digital (Table 1 of the paper, 45 nm figures of Horowitz, ISSCC 2014):
 *   E = N_mul * E_mul + N_add * E_add,  N_mul = N_add = MACs (one multiply and one add per
 *   MAC, the convention Table 1 follows; strictly a sum of n terms takes n - 1 additions).
 *   float CMOS:      fp32 multiply 3.7 pJ + fp32 add 0.9 pJ  -> 117,248 * 4.6 pJ  = 5.39e-7 J
 *   binary digital:  8-bit multiply 0.2 pJ + 8-bit add 0.03 pJ -> 117,248 * 0.23 pJ = 2.70e-8 J
 *   (Table 1: 5.4e-7 J and 2.7e-8 J; the 1-bit net is costed at the 8-bit figures, as the
 *   paper does.)
 *
 * RRAM (the brief; Table S1's device figures were lost, so they are parameters):
 *   Each weight of a layer is a differential pair of cells; a binary weight holds one cell in
 *   the LRS and one in the HRS. Every cell is read once per image whatever the parallelism p
 *   (p only sets how many rows are driven at once), so
 *     E_read = V_read^2 * t_read * sum(G) = V_read^2 * t_read * MACs * (G_LRS + G_HRS).
 *   A layer of in x out weights read p rows at a time gives ceil(in / p) partial sums per
 *   output column, added digitally (on the ARM core):
 *     N_psum_add = sum_l out * (ceil(in / p) - 1),   E_add = N_psum_add * e_add
 *   and each array operation converts each output column's current (adc_per_output
 *   conversions: 1 when the pair's two currents are subtracted before the ADC, 2 when each
 *   array's column is converted on its own):
 *     N_conv = sum_l out * ceil(in / p) * adc_per_output,   E_adc = N_conv * e_adc
 *   E_rram = E_read + E_add + E_adc.
 *
 * Defaults (energy_params_default), plausible for a 40 nm TaOx cell:
 *   V_read = 0.2 V, t_read = 10 ns, R_LRS = 30 kOhm (formed cell), R_HRS = 1 MOhm (the
 *   unformed state, used as HRS), p = 16 (the paper's hardware setting), e_add = 0.1 pJ
 *   (int32 add, Horowitz), e_adc = 0.
 *   e_adc is 0 because Table 1's figures are MAC energies that leave out the periphery (the
 *   CMOS figures leave out memory access too); a 14-bit SAR conversion at a Walden figure
 *   of merit of ~5 fJ/step costs ~80 pJ and would swamp the array (~600 nJ per image at
 *   p = 16), and the board's discrete ADCs cost far more. Set it to count the conversions.
 *   For 192-256-256-10 at p = 16 the defaults give
 *     E_read = 0.04 V^2 * 1e-8 s * 117,248 * (33.3 uS + 1 uS) = 1.610e-9 J
 *     E_add  = 6,806 * 0.1 pJ                                  = 0.681e-9 J
 *     E_rram = 2.29e-9 J per image (2.3e-9 to two figures), 235x below float CMOS: the
 *     paper's 2.3e-9 J and ~200x. R_LRS was chosen for this within the plausible TaOx range
 *     (10-50 kOhm); at R_LRS = 20 kOhm the figure would be 3.1e-9 J (175x). The partial-sum
 *     additions are 30% of it at p = 16 and 0 at p >= 256.
 *
 * Functions that can fail return 0 on success and -1 on bad arguments, with one line in
 * err[errlen] naming the problem. */
#ifndef MPCL_ENERGY_H
#define MPCL_ENERGY_H

#include <stddef.h>

/* 45 nm energies per operation in pJ (Horowitz, ISSCC 2014, "Computing's energy problem"). */
#define ENERGY_FP32_MUL_PJ 3.7
#define ENERGY_FP32_ADD_PJ 0.9
#define ENERGY_FP16_MUL_PJ 1.1
#define ENERGY_FP16_ADD_PJ 0.4
#define ENERGY_INT32_MUL_PJ 3.1
#define ENERGY_INT32_ADD_PJ 0.1
#define ENERGY_INT8_MUL_PJ 0.2
#define ENERGY_INT8_ADD_PJ 0.03

typedef struct energy_params {
    double v_read;      /* read voltage on a driven row, V (0.2) */
    double t_read;      /* read pulse width, s (10e-9) */
    double r_lrs;       /* low-resistance state, Ohm (30e3) */
    double r_hrs;       /* high-resistance state (unformed cell), Ohm (1e6) */
    int p;              /* parallelism: rows driven at once (16) */
    double e_add;       /* one digital partial-sum addition, J (int32 add, 0.1e-12) */
    double e_adc;       /* one ADC conversion, J (0: see above) */
    int adc_per_output; /* conversions per output column per array operation, 1 or 2 (1) */
} energy_params;

typedef struct energy_report {
    long macs;              /* sum_l in * out */
    long muls, adds;        /* digital operation counts (both = macs) */
    double float_cmos_j;    /* macs * (3.7 + 0.9) pJ */
    double binary_digital_j;/* macs * (0.2 + 0.03) pJ */
    double rram_j;          /* rram_read_j + rram_add_j + rram_adc_j */
    /* The RRAM figure's parts. */
    double g_lrs, g_hrs;    /* conductances used, S */
    long cells_read;        /* 2 * macs */
    double sum_g;           /* sum of the conductances read, S */
    double rram_read_j;     /* V_read^2 * t_read * sum_g */
    long psum_adds;         /* sum_l out * (ceil(in / p) - 1) */
    double rram_add_j;      /* psum_adds * e_add */
    long conversions;       /* sum_l out * ceil(in / p) * adc_per_output */
    double rram_adc_j;      /* conversions * e_adc */
} energy_report;

/* The defaults listed above. */
void energy_params_default(energy_params *p);

/* Digital energy in J of n_mul multiplies and n_add additions at e_mul_pj, e_add_pj. */
double energy_digital(long n_mul, double e_mul_pj, long n_add, double e_add_pj);

/* The breakdown for a net of nlayers layers with sizes[0..nlayers] (sizes[0] inputs), with
 * the RRAM conductances 1/R_LRS and 1/R_HRS of p (NULL: the defaults). */
int energy_compute(int nlayers, const int *sizes, const energy_params *p, energy_report *out,
                   char *err, size_t errlen);

/* The same with measured mean conductances (S) of the LRS and HRS cells, e.g. read from a
 * programmed (simulated) chip, in place of p's resistances. g_lrs > g_hrs >= 0. */
int energy_compute_measured(int nlayers, const int *sizes, const energy_params *p,
                            double g_lrs, double g_hrs, energy_report *out, char *err,
                            size_t errlen);

/* x rounded to `digits` significant figures (digits 1..17), e.g. for Table 1's 5.4e-7. */
double energy_round_sig(double x, int digits);

#endif
