#include "device.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device_simd.h"
#include "error.h"
#include "isa.h"
#include "kernels.h"

/* Streams of one array: stream = unit * DEV_STREAMS + purpose. */
enum { STREAM_FAB, STREAM_WRITE, STREAM_READ, DEV_STREAMS };

/* Floor of any drawn conductance, uS (a cell never conducts less than this). */
#define G_FLOOR 1e-3f

void dev_default_params(dev_params *p)
{
    memset(p, 0, sizeof *p);
    p->rows = p->cols = 512;
    p->g_lrs = 33.3f;
    p->g_lrs_d2d = 1.33f;
    p->g_lrs_c2c = 0.67f;
    p->g_hrs = 1.0f;
    p->g_hrs_d2d = 0.15f;
    p->g_hrs_c2c = 0.1f;
    p->g_trunc = 3.0f;
    p->form = (dev_pulse_params){3.0f, 10e-6f, 2.0f, 4.0f, 0.05f};
    p->set = (dev_pulse_params){1.5f, 100e-9f, 0.8f, 2.5f, 0.05f};
    p->reset = (dev_pulse_params){1.8f, 100e-9f, 0.6f, 2.8f, 0.05f};
    p->v_slope = 0.5f;
    p->reset_depth_v = 0.15f;
    p->reset_to_v = 0.65f;
    p->reset_to_w = 1e-6f;
    p->read_noise = 0.015f;
    p->drift_time = 0.005f;
    p->drift_time_tau = 1.0f;
    p->drift_read = 0.002f;
    p->drift_read_tau = 1000.0f;
    p->stuck_lrs = 0.005f;
    p->stuck_hrs = 0.005f;
}

void dev_default_verify(dev_verify_params *v)
{
    v->tol = 0.1f;
    v->max_pulses = 20;
    v->v_step = 0.1f;
}

static int finite_pos(float x) { return isfinite(x) && x > 0; }

static int check_pulse(const dev_pulse_params *pp, const char *name, char *err, size_t errlen)
{
    if (!finite_pos(pp->v_nom) || !finite_pos(pp->w_nom) || !isfinite(pp->v_min) ||
        pp->v_min < 0 || !isfinite(pp->v_max) || pp->v_min > pp->v_nom ||
        pp->v_nom > pp->v_max)
        return err_set(err, errlen,
                       "device: %s pulse needs 0 <= v_min <= v_nom <= v_max and w_nom > 0 "
                       "(got v_min %g, v_nom %g, v_max %g, w_nom %g)",
                       name, pp->v_min, pp->v_nom, pp->v_max, pp->w_nom);
    if (!(pp->p_fail >= 0 && pp->p_fail < 1))
        return err_set(err, errlen, "device: %s p_fail must be in [0, 1), got %g", name,
                       pp->p_fail);
    return 0;
}

int dev_check_params(const dev_params *p, char *err, size_t errlen)
{
    if (p->rows < 1 || p->rows > 4096 || p->cols < 1 || p->cols > 4096)
        return err_set(err, errlen, "device: array size must be 1-4096 x 1-4096, got %d x %d",
                       p->rows, p->cols);
    if (!finite_pos(p->g_lrs) || !finite_pos(p->g_hrs) || !(p->g_lrs > p->g_hrs))
        return err_set(err, errlen, "device: need g_lrs > g_hrs > 0, got %g and %g uS", p->g_lrs,
                       p->g_hrs);
    float sp[4] = {p->g_lrs_d2d, p->g_lrs_c2c, p->g_hrs_d2d, p->g_hrs_c2c};
    for (int i = 0; i < 4; i++)
        if (!isfinite(sp[i]) || sp[i] < 0)
            return err_set(err, errlen, "device: spreads must be >= 0, got %g", sp[i]);
    if (!finite_pos(p->g_trunc) || p->g_trunc > 10)
        return err_set(err, errlen, "device: g_trunc must be in (0, 10], got %g", p->g_trunc);
    float t = p->g_trunc;
    if (p->g_hrs - t * (p->g_hrs_d2d + p->g_hrs_c2c) <= 0 ||
        p->g_lrs + t * (p->g_lrs_d2d + p->g_lrs_c2c) > DEV_G_MAX)
        return err_set(err, errlen,
                       "device: the truncated HRS must stay above 0 and the LRS within %g uS",
                       DEV_G_MAX);
    if (check_pulse(&p->form, "form", err, errlen) || check_pulse(&p->set, "set", err, errlen) ||
        check_pulse(&p->reset, "reset", err, errlen))
        return -1;
    if (!finite_pos(p->v_slope) || !finite_pos(p->reset_depth_v) || !finite_pos(p->reset_to_v) ||
        !finite_pos(p->reset_to_w))
        return err_set(err, errlen, "device: v_slope, reset_depth_v, reset_to_v and reset_to_w "
                                    "must be positive");
    if (!isfinite(p->read_noise) || p->read_noise < 0 || p->read_noise > 1)
        return err_set(err, errlen, "device: read_noise must be in [0, 1], got %g", p->read_noise);
    if (!isfinite(p->drift_time) || p->drift_time < 0 || p->drift_time > 0.1f ||
        !isfinite(p->drift_read) || p->drift_read < 0 || p->drift_read > 0.1f ||
        !finite_pos(p->drift_time_tau) || !finite_pos(p->drift_read_tau))
        return err_set(err, errlen, "device: drift rates must be in [0, 0.1] and their time "
                                    "constants positive");
    if (!(p->stuck_lrs >= 0 && p->stuck_hrs >= 0 && p->stuck_lrs + p->stuck_hrs < 1))
        return err_set(err, errlen, "device: stuck fractions must be >= 0 and sum below 1, got "
                                    "%g + %g", p->stuck_lrs, p->stuck_hrs);
    return 0;
}

/* A Gaussian truncated at +-trunc sigmas (redrawn beyond). */
static float trunc_normal(rng *r, float sigma, float trunc)
{
    if (sigma == 0)
        return 0;
    double z;
    do
        z = rng_normal(r);
    while (fabs(z) > trunc);
    return (float)(sigma * z);
}

static float clamp_g(float g) { return g < G_FLOOR ? G_FLOOR : g > DEV_G_MAX ? DEV_G_MAX : g; }

/* A switching event's new conductance in LRS or HRS (cell offset + cycle-to-cycle). */
static float draw_lrs(dev_array *a, size_t k, rng *r)
{
    const dev_params *p = &a->p;
    return clamp_g(p->g_lrs + a->d2d_lrs[k] + trunc_normal(r, p->g_lrs_c2c, p->g_trunc));
}

static float draw_hrs(dev_array *a, size_t k, rng *r)
{
    const dev_params *p = &a->p;
    return clamp_g(p->g_hrs + a->d2d_hrs[k] + trunc_normal(r, p->g_hrs_c2c, p->g_trunc));
}

void dev_free(dev_array *a)
{
    free(a->g);
    free(a->d2d_lrs);
    free(a->d2d_hrs);
    free(a->state);
    free(a->stuck);
    free(a->writes);
    free(a->reads);
    free(a->t_switch);
    memset(a, 0, sizeof *a);
}

/* Standard normals in pairs (Box-Muller keeping both), for fabrication's many draws. */
typedef struct normal_src {
    rng *r;
    int has;
    double spare;
} normal_src;

static double src_normal(normal_src *ns)
{
    if (ns->has) {
        ns->has = 0;
        return ns->spare;
    }
    double u1 = rng_uniform(ns->r), u2 = rng_uniform(ns->r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    double rad = sqrt(-2.0 * log(u1)), s = sin(6.283185307179586 * u2),
           c = cos(6.283185307179586 * u2);
    ns->spare = rad * s;
    ns->has = 1;
    return rad * c;
}

static float src_trunc(normal_src *ns, float sigma, float trunc)
{
    if (sigma == 0)
        return 0;
    double z;
    do
        z = src_normal(ns);
    while (fabs(z) > trunc);
    return (float)(sigma * z);
}

/* Fabrication: offsets, stuck cells and the initial (unformed or stuck) conductances. */
static void fabricate(dev_array *a)
{
    const dev_params *p = &a->p;
    rng fab;
    rng_seed_stream(&fab, a->id, (uint64_t)a->unit * DEV_STREAMS + STREAM_FAB);
    normal_src ns = {&fab, 0, 0};
    size_t n = (size_t)p->rows * p->cols;
    for (size_t k = 0; k < n; k++) {
        a->d2d_lrs[k] = src_trunc(&ns, p->g_lrs_d2d, p->g_trunc);
        a->d2d_hrs[k] = src_trunc(&ns, p->g_hrs_d2d, p->g_trunc);
        double u = rng_uniform(&fab);
        a->stuck[k] = u < p->stuck_lrs               ? DEV_STUCK_LRS
                      : u < p->stuck_lrs + p->stuck_hrs ? DEV_STUCK_HRS
                                                        : DEV_FREE;
        int lrs = a->stuck[k] == DEV_STUCK_LRS;
        float mean = lrs ? p->g_lrs + a->d2d_lrs[k] : p->g_hrs + a->d2d_hrs[k];
        a->g[k] = clamp_g(mean + src_trunc(&ns, lrs ? p->g_lrs_c2c : p->g_hrs_c2c, p->g_trunc));
        a->state[k] = lrs ? DEV_LRS : DEV_UNFORMED;
    }
}

int dev_create(dev_array *a, const dev_params *p, uint64_t id, int unit, char *err,
               size_t errlen)
{
    memset(a, 0, sizeof *a);
    if (dev_check_params(p, err, errlen))
        return -1;
    if (unit < 0 || unit > 1000000)
        return err_set(err, errlen, "device: unit must be 0-1000000, got %d", unit);
    a->p = *p;
    a->id = id;
    a->unit = unit;
    size_t n = (size_t)p->rows * p->cols;
    a->g = malloc(n * sizeof(float));
    a->d2d_lrs = malloc(n * sizeof(float));
    a->d2d_hrs = malloc(n * sizeof(float));
    a->state = malloc(n);
    a->stuck = malloc(n);
    a->writes = calloc(n, sizeof(uint32_t));
    a->reads = calloc(n, sizeof(uint32_t));
    a->t_switch = calloc(n, sizeof(double));
    if (!a->g || !a->d2d_lrs || !a->d2d_hrs || !a->state || !a->stuck || !a->writes ||
        !a->reads || !a->t_switch) {
        dev_free(a);
        return err_set(err, errlen, "device: out of memory for a %d x %d array", p->rows, p->cols);
    }
    rng_seed_stream(&a->wr, id, (uint64_t)unit * DEV_STREAMS + STREAM_WRITE);
    rng_seed_stream(&a->rd, id, (uint64_t)unit * DEV_STREAMS + STREAM_READ);
    fabricate(a);
    return 0;
}

static int check_cell(const dev_array *a, int r, int c, char *err, size_t errlen)
{
    if (r < 0 || r >= a->p.rows || c < 0 || c >= a->p.cols)
        return err_set(err, errlen, "device: cell (%d, %d) outside the %d x %d array", r, c,
                       a->p.rows, a->p.cols);
    return 0;
}

static int check_block(const dev_array *a, int r0, int c0, int rows, int cols, char *err,
                       size_t errlen)
{
    if (r0 < 0 || c0 < 0 || rows < 1 || cols < 1 || r0 > a->p.rows - rows ||
        c0 > a->p.cols - cols)
        return err_set(err, errlen,
                       "device: block of %d x %d at (%d, %d) outside the %d x %d array",
                       rows, cols, r0, c0, a->p.rows, a->p.cols);
    return 0;
}

/* Effective conductance of cell k now (retention drift with time and reads). */
static float g_eff(const dev_array *a, size_t k)
{
    int st = a->state[k];
    if (st == DEV_UNFORMED)
        return a->g[k];
    const dev_params *p = &a->p;
    double dt = a->now - a->t_switch[k];
    double d = p->drift_time * log1p(dt / p->drift_time_tau) +
               p->drift_read * log1p(a->reads[k] / (double)p->drift_read_tau);
    double f = st == DEV_LRS ? 1.0 - d : 1.0 + d;
    if (f < 0.01)
        f = 0.01;
    return clamp_g((float)(a->g[k] * f));
}

static float read_cell(dev_array *a, size_t k)
{
    float g = g_eff(a, k);
    if (a->p.read_noise > 0)
        g *= 1.0f + a->p.read_noise * dev_fast_normal_lo(rng_next(&a->rd));
    if (a->reads[k] != UINT32_MAX)
        a->reads[k]++;
    return g < 0 ? 0 : g;
}

/* Whether a pulse of amplitude V, width w switches, judged against pp. */
static int attempt(dev_array *a, const dev_pulse_params *pp, float V, float w)
{
    if (V < pp->v_min)
        return 0;
    double s = (w / pp->w_nom) * exp((V - pp->v_nom) / a->p.v_slope);
    double pf = pp->p_fail > 0 ? pow(pp->p_fail, s) : 0.0;
    return rng_uniform(&a->wr) >= pf;
}

static void switched(dev_array *a, size_t k, int state, float g)
{
    a->state[k] = (uint8_t)state;
    a->g[k] = g;
    a->t_switch[k] = a->now;
    a->reads[k] = 0;
}

/* Gradual reset of cell k by a pulse of amplitude V that switched. */
static void reset_cell(dev_array *a, size_t k, float V)
{
    const dev_params *p = &a->p;
    float h = draw_hrs(a, k, &a->wr);
    double keep = exp(-(V - p->reset.v_min) / p->reset_depth_v);
    float rel = trunc_normal(&a->wr, p->g_lrs_c2c / p->g_lrs, p->g_trunc);
    float g = h + (float)((a->g[k] - h) * keep) * (1.0f + rel);
    switched(a, k, DEV_HRS, clamp_g(g));
}

/* One pulse on cell k (arguments already checked). Returns 1 if it switched. */
static int pulse_cell(dev_array *a, size_t k, dev_pulse_kind kind, float V, float w)
{
    const dev_params *p = &a->p;
    if (a->writes[k] != UINT32_MAX)
        a->writes[k]++;
    if (a->stuck[k] != DEV_FREE)
        return 0;
    int st = a->state[k];
    if (kind == DEV_RESET) {
        if (st == DEV_UNFORMED || !attempt(a, &p->reset, V, w))
            return 0;
        reset_cell(a, k, V);
        return 1;
    }
    /* Form or set: an unformed cell needs forming conditions whatever the kind. */
    const dev_pulse_params *pp = st == DEV_UNFORMED ? &p->form : &p->set;
    if (!attempt(a, pp, V, w))
        return 0;
    switched(a, k, DEV_LRS, draw_lrs(a, k, &a->wr));
    return 1;
}

int dev_pulse(dev_array *a, int r, int c, dev_pulse_kind kind, float amplitude, float width,
              char *err, size_t errlen)
{
    if (check_cell(a, r, c, err, errlen))
        return -1;
    if (kind != DEV_FORM && kind != DEV_SET && kind != DEV_RESET)
        return err_set(err, errlen, "device: unknown pulse kind %d", (int)kind);
    if (!finite_pos(amplitude) || !finite_pos(width) || amplitude > 20 || width > 1)
        return err_set(err, errlen, "device: pulse amplitude must be in (0, 20] V and width in "
                                    "(0, 1] s, got %g V, %g s", amplitude, width);
    return pulse_cell(a, (size_t)r * a->p.cols + c, kind, amplitude, width);
}

int dev_read(dev_array *a, int r, int c, float *g, char *err, size_t errlen)
{
    if (check_cell(a, r, c, err, errlen))
        return -1;
    *g = read_cell(a, (size_t)r * a->p.cols + c);
    return 0;
}

int dev_read_block(dev_array *a, int r0, int c0, int rows, int cols, float *out, int ldo,
                   char *err, size_t errlen)
{
    if (check_block(a, r0, c0, rows, cols, err, errlen))
        return -1;
    if (ldo < cols)
        return err_set(err, errlen, "device: output stride %d below the block width %d", ldo, cols);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            out[(size_t)i * ldo + j] = read_cell(a, (size_t)(r0 + i) * a->p.cols + c0 + j);
    return 0;
}

int dev_conductance_block(const dev_array *a, int r0, int c0, int rows, int cols, float *out,
                          int ldo, char *err, size_t errlen)
{
    if (check_block(a, r0, c0, rows, cols, err, errlen))
        return -1;
    if (ldo < cols)
        return err_set(err, errlen, "device: output stride %d below the block width %d", ldo, cols);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            out[(size_t)i * ldo + j] = g_eff(a, (size_t)(r0 + i) * a->p.cols + c0 + j);
    return 0;
}

int dev_add_reads(dev_array *a, int r0, int c0, int rows, int cols, uint64_t n, char *err,
                  size_t errlen)
{
    if (check_block(a, r0, c0, rows, cols, err, errlen))
        return -1;
    for (int i = 0; i < rows; i++) {
        uint32_t *rd = a->reads + (size_t)(r0 + i) * a->p.cols + c0;
        for (int j = 0; j < cols; j++)
            rd[j] = n >= (uint64_t)(UINT32_MAX - rd[j]) ? UINT32_MAX : rd[j] + (uint32_t)n;
    }
    return 0;
}

int dev_advance_time(dev_array *a, double seconds, char *err, size_t errlen)
{
    if (!isfinite(seconds) || seconds < 0)
        return err_set(err, errlen, "device: time can only move forward, got %g s", seconds);
    a->now += seconds;
    return 0;
}

int dev_set_read_noise(dev_array *a, float sigma, char *err, size_t errlen)
{
    if (!isfinite(sigma) || sigma < 0 || sigma > 1)
        return err_set(err, errlen, "device: read noise must be in [0, 1], got %g", sigma);
    a->p.read_noise = sigma;
    return 0;
}

static int check_verify(const dev_verify_params *v, char *err, size_t errlen)
{
    if (!v || !(v->tol > 0 && v->tol < 0.5f) || v->max_pulses < 0 || v->max_pulses > 100000 ||
        !isfinite(v->v_step) || v->v_step < 0 || v->v_step > 1)
        return err_set(err, errlen, "device: write-verify needs tol in (0, 0.5), max_pulses "
                                    "0-100000 and v_step in [0, 1] V");
    return 0;
}

/* Write-verify of cell k (arguments checked). Returns 0 verified, 1 failed. */
static int program_cell(dev_array *a, size_t k, int target, const dev_verify_params *v,
                        int *pulses)
{
    const dev_params *p = &a->p;
    float window = p->g_lrs - p->g_hrs;
    float lo = p->g_lrs - v->tol * window, hi = p->g_hrs + v->tol * window;
    int n = 0, steps = 0;
    dev_pulse_kind last = DEV_RESET;
    for (;;) {
        float g = read_cell(a, k);
        if (target == DEV_LRS ? g >= lo : g <= hi)
            break;
        if (n >= v->max_pulses) {
            *pulses = n;
            return 1;
        }
        dev_pulse_kind kind = target == DEV_HRS             ? DEV_RESET
                              : a->state[k] == DEV_UNFORMED ? DEV_FORM
                                                            : DEV_SET;
        const dev_pulse_params *pp = kind == DEV_FORM ? &p->form
                                     : kind == DEV_SET ? &p->set
                                                       : &p->reset;
        if (n == 0 || kind != last)
            steps = 0;
        float V = pp->v_nom + (float)steps * v->v_step;
        if (V > pp->v_max)
            V = pp->v_max;
        pulse_cell(a, k, kind, V, pp->w_nom);
        last = kind;
        steps++;
        n++;
    }
    *pulses = n;
    return 0;
}

int dev_program_cell(dev_array *a, int r, int c, int target, const dev_verify_params *v,
                     int *pulses, char *err, size_t errlen)
{
    if (check_cell(a, r, c, err, errlen) || check_verify(v, err, errlen))
        return -1;
    if (target != DEV_LRS && target != DEV_HRS)
        return err_set(err, errlen, "device: program target must be LRS or HRS, got %d", target);
    int n = 0, rc = program_cell(a, (size_t)r * a->p.cols + c, target, v, &n);
    if (pulses)
        *pulses = n;
    return rc;
}

int dev_program_block(dev_array *a, int r0, int c0, int rows, int cols, const uint8_t *target,
                      int ldt, const dev_verify_params *v, dev_program_report *rep,
                      uint8_t *failed, char *err, size_t errlen)
{
    if (check_block(a, r0, c0, rows, cols, err, errlen) || check_verify(v, err, errlen))
        return -1;
    if (ldt < cols)
        return err_set(err, errlen, "device: target stride %d below the block width %d", ldt, cols);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            int t = target[(size_t)i * ldt + j];
            if (t != DEV_LRS && t != DEV_HRS)
                return err_set(err, errlen, "device: target (%d, %d) must be LRS or HRS, got %d",
                               i, j, t);
        }
    dev_program_report tot = {0, 0, 0};
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            int n = 0;
            int bad = program_cell(a, (size_t)(r0 + i) * a->p.cols + c0 + j,
                                   target[(size_t)i * ldt + j], v, &n);
            tot.cells++;
            tot.pulses += n;
            tot.failed += bad;
            if (failed)
                failed[(size_t)i * cols + j] = (uint8_t)bad;
        }
    if (rep)
        *rep = tot;
    return 0;
}

int dev_reset_to(dev_array *a, int r, int c, float r_kohm, float tol, int max_pulses,
                 int *pulses, char *err, size_t errlen)
{
    if (check_cell(a, r, c, err, errlen))
        return -1;
    if (!finite_pos(r_kohm) || 1000.0f / r_kohm > DEV_G_MAX || !(tol > 0 && tol < 1) ||
        max_pulses < 0)
        return err_set(err, errlen, "device: reset target must be >= %g kOhm, tol in (0, 1), "
                                    "max_pulses >= 0 (got %g kOhm, %g, %d)",
                       1000.0 / DEV_G_MAX, r_kohm, tol, max_pulses);
    const dev_params *p = &a->p;
    size_t k = (size_t)r * p->cols + c;
    float target = 1000.0f / r_kohm, lo = target * (1 - tol), hi = target * (1 + tol);
    int n = 0, rc = 1;
    if (a->stuck[k] == DEV_FREE && a->state[k] != DEV_UNFORMED) {
        for (;;) {
            float g = read_cell(a, k);
            if (g >= lo && g <= hi) {
                rc = 0;
                break;
            }
            if (n >= max_pulses)
                break;
            if (g < lo)
                pulse_cell(a, k, DEV_SET, p->set.v_nom, p->set.w_nom);
            else
                pulse_cell(a, k, DEV_RESET, p->reset_to_v, p->reset_to_w);
            n++;
        }
    }
    if (pulses)
        *pulses = n;
    return rc;
}

int dev_import_map(dev_array *a, int r0, int c0, int rows, int cols, const float *map,
                   int ldm, char *err, size_t errlen)
{
    if (check_block(a, r0, c0, rows, cols, err, errlen))
        return -1;
    if (ldm < cols)
        return err_set(err, errlen, "device: map stride %d below the block width %d", ldm, cols);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            float v = map[(size_t)i * ldm + j];
            if (!finite_pos(v) || v > DEV_G_MAX)
                return err_set(err, errlen, "device: map value at (%d, %d) must be in (0, %g] uS, "
                                            "got %g", i, j, DEV_G_MAX, v);
        }
    const dev_params *p = &a->p;
    float mid = 0.5f * (p->g_lrs + p->g_hrs);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            size_t k = (size_t)(r0 + i) * p->cols + c0 + j;
            float v = map[(size_t)i * ldm + j];
            if (v >= mid) {
                a->d2d_lrs[k] = v - p->g_lrs;
                if (a->stuck[k] != DEV_STUCK_HRS)
                    a->state[k] = DEV_LRS;
            } else {
                a->d2d_hrs[k] = v - p->g_hrs;
                if (a->state[k] == DEV_LRS && a->stuck[k] != DEV_STUCK_LRS)
                    a->state[k] = DEV_HRS;
            }
            a->g[k] = v;
            a->t_switch[k] = a->now;
            a->reads[k] = 0;
        }
    return 0;
}

int dev_cell(const dev_array *a, int r, int c, dev_cell_info *info, char *err, size_t errlen)
{
    if (check_cell(a, r, c, err, errlen))
        return -1;
    size_t k = (size_t)r * a->p.cols + c;
    info->state = a->state[k];
    info->stuck = a->stuck[k];
    info->g = a->g[k];
    info->g_eff = g_eff(a, k);
    info->writes = a->writes[k];
    info->reads = a->reads[k];
    return 0;
}

void dev_stuck_counts(const dev_array *a, long *stuck_lrs, long *stuck_hrs)
{
    long l = 0, h = 0;
    size_t n = (size_t)a->p.rows * a->p.cols;
    for (size_t k = 0; k < n; k++) {
        l += a->stuck[k] == DEV_STUCK_LRS;
        h += a->stuck[k] == DEV_STUCK_HRS;
    }
    *stuck_lrs = l;
    *stuck_hrs = h;
}

/* --- noise banks -------------------------------------------------------------------- */

void dev_lanes_seed(dev_lanes *g, uint64_t key)
{
    for (int k = 0; k < DEV_LANES; k++) {
        rng r;
        rng_seed_stream(&r, key, (uint64_t)k);
        for (int i = 0; i < 4; i++)
            g->s[i][k] = r.s[i];
    }
}

static inline uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* rng_next of rng.c, one lane per k, written so that the loop vectorises. */
static inline void lanes_step(dev_lanes *g, uint64_t *out)
{
    for (int k = 0; k < DEV_LANES; k++) {
        uint64_t s0 = g->s[0][k], s1 = g->s[1][k], s2 = g->s[2][k], s3 = g->s[3][k];
        out[k] = rotl64(s1 * 5, 7) * 9;
        uint64_t t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = rotl64(s3, 45);
        g->s[0][k] = s0;
        g->s[1][k] = s1;
        g->s[2][k] = s2;
        g->s[3][k] = s3;
    }
}

void dev_lanes_next(dev_lanes *g, uint64_t out[DEV_LANES]) { lanes_step(g, out); }

/* One step of the lanes as 32 nibble-sum normals: out[4k + f] from field f of lane k. */
static inline void lanes_normal32(dev_lanes *g, float *restrict out)
{
    uint64_t w[DEV_LANES];
    lanes_step(g, w);
    for (int k = 0; k < DEV_LANES; k++) {
        /* Nibble pairs summed into bytes (0..30), byte pairs into 16-bit fields (0..60). */
        uint64_t a = (w[k] & 0x0f0f0f0f0f0f0f0fULL) + ((w[k] >> 4) & 0x0f0f0f0f0f0f0f0fULL);
        w[k] = (a & 0x00ff00ff00ff00ffULL) + ((a >> 8) & 0x00ff00ff00ff00ffULL);
    }
    /* The fields in memory order (little-endian: field f of word k is h[4k + f]). */
    uint16_t h[4 * DEV_LANES];
    memcpy(h, w, sizeof h);
    for (int i = 0; i < 4 * DEV_LANES; i++)
        out[i] = ((float)h[i] - 30.0f) * (1.0f / 9.219544f);
}

ISA_INLINE void lanes_normal_plain_body(dev_lanes *g, float *out, int n)
{
    int m = 0;
    for (; m + 4 * DEV_LANES <= n; m += 4 * DEV_LANES)
        lanes_normal32(g, out + m);
    if (m < n) {
        float tail[4 * DEV_LANES];
        lanes_normal32(g, tail);
        memcpy(out + m, tail, sizeof(float) * (size_t)(n - m));
    }
}

ISA_CLONES(lanes_normal_plain, (dev_lanes *g, float *out, int n), (g, out, n))

#ifdef DEV_SIMD
/* The same sequence as lanes_normal_plain, the eight lanes in registers. */
DEV_AVX512 static void lanes_normal_avx512(dev_lanes *g, float *out, int n)
{
    dev_lanes512 v;
    dev_lanes512_load(&v, g);
    for (int m = 0; m < n; m += 4 * DEV_LANES) {
        __m512 lo, hi;
        dev_lanes512_step(&v, &lo, &hi);
        if (n - m >= 4 * DEV_LANES) {
            _mm512_storeu_ps(out + m, lo);
            _mm512_storeu_ps(out + m + 16, hi);
        } else {
            float tail[4 * DEV_LANES];
            _mm512_storeu_ps(tail, lo);
            _mm512_storeu_ps(tail + 16, hi);
            memcpy(out + m, tail, sizeof(float) * (size_t)(n - m));
        }
    }
    dev_lanes512_store(&v, g);
}
#endif

void dev_lanes_normal(dev_lanes *g, float *out, int n)
{
#ifdef DEV_SIMD
    if (dev_simd_ok()) {
        lanes_normal_avx512(g, out, n);
        return;
    }
#endif
    lanes_normal_plain(g, out, n);
}

uint64_t dev_noise_key(dev_array *a) { return rng_next(&a->rd); }
