/* device: the RRAM cells of one crossbar array (TaOx between TiN/Ta and TaN, 40 nm,
 * 512 x 512 by default), as the brief's chip describes them. Conductances are in
 * microsiemens (uS), voltages in volts, times and pulse widths in seconds.
 *
 * States. A fresh cell is unformed and serves as the high-resistance state (HRS). Forming
 * (3 V, 10 us by default) makes a filament and puts the cell in the low-resistance state
 * (LRS); set and reset pulses then move it between LRS and HRS. LRS and HRS conductances
 * follow two narrow quasi-Gaussian distributions (Gaussians truncated at g_trunc sigmas):
 *   G = g_mean + d2d[cell] + c2c,
 * d2d (device-to-device) drawn once per cell and state when the array is made (or taken
 * from an imported map), c2c (cycle-to-cycle) drawn at every switching event.
 *
 * Pulses. A pulse of amplitude V (magnitude; reset is applied with the opposite polarity)
 * and width w below the kind's v_min does nothing. Above it, it fails to switch with
 *   P_fail = p_fail ^ s,   s = (w / w_nom) * exp((V - v_nom) / v_slope),
 * so failures fall with amplitude and width (p_fail at the nominal pulse). A set pulse
 * cannot form an unformed cell (it is judged against the forming parameters, and set
 * amplitudes lie below form.v_min); a forming pulse on a formed cell acts as a set. A
 * successful set (or forming) draws a new LRS conductance. A successful reset is gradual:
 *   G <- H + (G - H) * exp(-(V - reset.v_min) / reset_depth_v) * (1 + c2c_rel * n),
 * H a fresh HRS draw and c2c_rel = g_lrs_c2c / g_lrs: the nominal reset leaves 3e-4 of the
 * window (the HRS distribution), gentle pulses lower G step by step (dev_reset_to).
 * Every pulse adds one to the cell's write count, switched or not.
 *
 * Stuck cells. A fraction stuck_lrs (stuck_hrs) of the cells, chosen when the array is
 * made, sit in LRS (HRS) from fabrication and never switch.
 *
 * Reads. A read returns the effective conductance times (1 + read_noise * n), n a fast
 * normal (below). The effective conductance drifts from the programmed one with the time
 * and the number of reads since the cell last switched:
 *   G_eff = G * (1 + d * (drift_time * ln(1 + t / drift_time_tau)
 *                       + drift_read * ln(1 + reads / drift_read_tau))),
 * d = -1 for LRS (the filament relaxes), +1 for a formed HRS, 0 for unformed cells. Time
 * moves only through dev_advance_time.
 *
 * Fast normals: sums of four uniform digits of a random word (Irwin-Hall, n = 4), centred
 * and scaled to variance 1; cheap, vectorisable, bounded (their tails beyond the bound do
 * not matter for read noise).
 *   per-cell reads: one 64-bit word a read, the sum of its four low bytes (0..255):
 *     n = (b0 + b1 + b2 + b3 - 510) / 147.8006, bounded at +-3.45, steps of 0.0068
 *     (dev_fast_normal_hi gives the high half's, for callers that want two a word);
 *   noise banks (dev_lanes_normal, the crossbar's noisy weight reads): one word gives four, each
 *     from four nibbles (0..15) of a 16-bit field:
 *     n = (h0 + h1 + h2 + h3 - 30) / 9.21954, bounded at +-3.25, steps of 0.108.
 *
 * Determinism. An array is made from a virtual chip id and a unit number (the array's
 * index on the chip): fabrication (d2d, stuck cells, initial HRS), writes (c2c, failures)
 * and reads (noise) draw from three xoshiro256** streams of rng.h seeded from (id, unit),
 * kept in the array. The same id, unit and call sequence give bit-identical results.
 *
 * Conventions: functions that can fail return -1 and write a one-line message into err
 * (errlen bytes); nothing prints. Cells are addressed (row, col), 0-based. */
#ifndef MPCL_DEVICE_H
#define MPCL_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

/* Cell states (stored per cell). */
enum { DEV_UNFORMED = 0, DEV_HRS = 1, DEV_LRS = 2 };
/* Stuck-cell kinds (stored per cell). */
enum { DEV_FREE = 0, DEV_STUCK_HRS = 1, DEV_STUCK_LRS = 2 };
/* Pulse kinds. */
typedef enum dev_pulse_kind { DEV_FORM = 0, DEV_SET = 1, DEV_RESET = 2 } dev_pulse_kind;

/* Upper bound of any conductance the model accepts (imported maps, distributions): 500 uS,
 * 2 kOhm, far above a TaOx LRS; it keeps the crossbar's integer sums in range. */
#define DEV_G_MAX 500.0f

typedef struct dev_pulse_params {
    float v_nom;  /* V, nominal amplitude */
    float w_nom;  /* s, nominal width */
    float v_min;  /* V, no effect below this amplitude */
    float v_max;  /* V, write-verify never exceeds this amplitude */
    float p_fail; /* probability that the nominal pulse fails to switch, in [0, 1) */
} dev_pulse_params;

/* Defaults (dev_default_params), plausible for 40 nm TaOx; Table S1 of the paper was lost. */
typedef struct dev_params {
    int rows, cols;         /* 512, 512 */
    float g_lrs;            /* 33.3 uS (30 kOhm): LRS mean (energy.h uses the same) */
    float g_lrs_d2d;        /* 1.33 uS (4%): LRS device-to-device sigma */
    float g_lrs_c2c;        /* 0.67 uS (2%): LRS cycle-to-cycle sigma */
    float g_hrs;            /* 1 uS (1 MOhm): HRS / unformed mean */
    float g_hrs_d2d;        /* 0.15 uS */
    float g_hrs_c2c;        /* 0.1 uS */
    float g_trunc;          /* 3: truncation of every Gaussian, in sigmas */
    dev_pulse_params form;  /* 3 V, 10 us, v_min 2 V, v_max 4 V, p_fail 0.05 */
    dev_pulse_params set;   /* 1.5 V, 100 ns, v_min 0.8 V, v_max 2.5 V, p_fail 0.05 */
    dev_pulse_params reset; /* 1.8 V, 100 ns, v_min 0.6 V, v_max 2.8 V, p_fail 0.05 */
    float v_slope;          /* 0.5 V: switching strength grows e-fold per v_slope */
    float reset_depth_v;    /* 0.15 V: the gradual reset's depth scale */
    float reset_to_v;       /* 0.65 V: amplitude of dev_reset_to's gentle pulses */
    float reset_to_w;       /* 1 us: their width (each removes ~28% of the excess) */
    float read_noise;       /* 0.015: relative sigma of one read (LRS max deviation over
                               10,000 reads ~9-10%, bounded by 6.9 sigma + drift < 11%) */
    float drift_time;       /* 0.005: relative drift per e-fold of time (1.15%/decade) */
    float drift_time_tau;   /* 1 s */
    float drift_read;       /* 0.002: relative drift per e-fold of reads */
    float drift_read_tau;   /* 1000 reads (10,000 reads: 0.48%) */
    float stuck_lrs;        /* 0.005: fraction of cells stuck at LRS */
    float stuck_hrs;        /* 0.005: fraction stuck at HRS (1% stuck in all) */
} dev_params;

/* Write-verify settings: a cell verifies as LRS when a read gives G >= g_lrs - tol * W,
 * as HRS when G <= g_hrs + tol * W, W = g_lrs - g_hrs the window. Each pulse that does not
 * verify raises the next pulse's amplitude by v_step (incremental-step programming, from
 * the kind's v_nom up to its v_max). */
typedef struct dev_verify_params {
    float tol;      /* 0.1 of the window: LRS >= 30.1 uS, HRS <= 4.2 uS by default */
    int max_pulses; /* 20 per cell */
    float v_step;   /* 0.1 V */
} dev_verify_params;

/* What a write-verify did. */
typedef struct dev_program_report {
    long cells;  /* cells programmed */
    long pulses; /* pulses applied in all */
    long failed; /* cells that did not verify within max_pulses */
} dev_program_report;

/* One array. Fields are the module's own: read them through the functions below. Per-cell
 * arrays are rows x cols, row-major. */
typedef struct dev_array {
    dev_params p;
    uint64_t id;
    int unit;
    float *g;             /* programmed conductance (before drift), uS */
    float *d2d_lrs;       /* device-to-device offsets, uS */
    float *d2d_hrs;
    uint8_t *state;       /* DEV_UNFORMED, DEV_HRS, DEV_LRS */
    uint8_t *stuck;       /* DEV_FREE, DEV_STUCK_HRS, DEV_STUCK_LRS */
    uint32_t *writes;     /* pulses applied, over the cell's life */
    uint32_t *reads;      /* reads since the cell last switched (saturating) */
    double *t_switch;     /* array time of the last switching event, s */
    double now;           /* array time, s */
    rng wr, rd;           /* write and read streams */
} dev_array;

void dev_default_params(dev_params *p);
void dev_default_verify(dev_verify_params *v);
/* Check a parameter set: sizes 1-4096, means and spreads positive, the LRS above the HRS,
 * conductances within (0, DEV_G_MAX] after truncation, pulses ordered, fractions in [0,1). */
int dev_check_params(const dev_params *p, char *err, size_t errlen);

/* Make an array: virtual chip id `id`, array `unit` on that chip. All cells unformed except
 * the stuck-at-LRS ones. Returns 0, or -1 (bad parameters, out of memory). */
int dev_create(dev_array *a, const dev_params *p, uint64_t id, int unit, char *err,
               size_t errlen);
void dev_free(dev_array *a);

/* One pulse on cell (r, c). Returns 1 if the cell switched, 0 if not (below v_min, a
 * failed attempt, a stuck cell, nothing to do), -1 on bad arguments (amplitude or width
 * not positive and finite, cell out of range). */
int dev_pulse(dev_array *a, int r, int c, dev_pulse_kind kind, float amplitude, float width,
              char *err, size_t errlen);

/* Read cell (r, c) once: effective conductance with read noise, uS; counts one read. */
int dev_read(dev_array *a, int r, int c, float *g, char *err, size_t errlen);
/* Read a block of rows x cols cells at (r0, c0) once each, row-major into out (ldo floats
 * between rows), in row-major order. */
int dev_read_block(dev_array *a, int r0, int c0, int rows, int cols, float *out, int ldo,
                   char *err, size_t errlen);
/* The effective conductances of a block without noise and without counting a read: what
 * an ideal probe would see now. For models built on the array (the crossbar). */
int dev_conductance_block(const dev_array *a, int r0, int c0, int rows, int cols, float *out,
                          int ldo, char *err, size_t errlen);
/* Account n reads of every cell of a block made elsewhere (the crossbar's VMMs). */
int dev_add_reads(dev_array *a, int r0, int c0, int rows, int cols, uint64_t n, char *err,
                  size_t errlen);
/* Let time pass (seconds >= 0). */
int dev_advance_time(dev_array *a, double seconds, char *err, size_t errlen);
/* Change the relative read noise (>= 0; 0 makes reads deterministic). */
int dev_set_read_noise(dev_array *a, float sigma, char *err, size_t errlen);

/* Write-verify one cell to DEV_LRS or DEV_HRS: read, and while the read does not verify,
 * pulse (forming if unformed, else set; or reset) with rising amplitude, up to
 * v->max_pulses pulses. Returns 0 verified, 1 failed (pulses exhausted), -1 bad
 * arguments. *pulses (may be NULL) receives the pulses applied. */
int dev_program_cell(dev_array *a, int r, int c, int target, const dev_verify_params *v,
                     int *pulses, char *err, size_t errlen);
/* Write-verify a block at (r0, c0): target[i * ldt + j] is DEV_LRS or DEV_HRS for cell
 * (r0 + i, c0 + j). Cells are done in row-major order. rep (may be NULL) receives the
 * totals; failed (may be NULL, rows x cols) is set to 1 where a cell failed, else 0.
 * Returns 0 (even if cells failed: see rep), -1 on bad arguments. */
int dev_program_block(dev_array *a, int r0, int c0, int rows, int cols, const uint8_t *target,
                      int ldt, const dev_verify_params *v, dev_program_report *rep,
                      uint8_t *failed, char *err, size_t errlen);
/* Reset a formed cell to a target resistance (kOhm), as the paper does to a few cells
 * (~135 kOhm) during fine-tuning: gentle reset pulses (reset_to_v, reset_to_w), each
 * followed by a read, until the read is within tol (relative) of 1000 / r_kohm uS; an
 * overshoot is undone by a set pulse and the descent starts again. Returns 0 reached, 1
 * not within max_pulses (or the cell is stuck or unformed), -1 bad arguments. */
int dev_reset_to(dev_array *a, int r, int c, float r_kohm, float tol, int max_pulses,
                 int *pulses, char *err, size_t errlen);

/* Seed the cells of a block from a measured conductance map (rows x cols, row-major, ldm
 * floats between rows, values in (0, DEV_G_MAX] uS): a value at or above the midpoint
 * (g_lrs + g_hrs) / 2 makes the cell a formed LRS cell whose LRS offset is the value minus
 * g_lrs; a value below it, an HRS cell (unformed unless formed before) whose HRS offset is
 * the value minus g_hrs. The programmed conductance becomes the value; later switching
 * events land around it with the usual cycle-to-cycle spread. Stuck cells keep their
 * stuck state but take the value. */
int dev_import_map(dev_array *a, int r0, int c0, int rows, int cols, const float *map,
                   int ldm, char *err, size_t errlen);

/* Cell inspection. */
typedef struct dev_cell_info {
    int state, stuck;
    float g;             /* programmed conductance, uS */
    float g_eff;         /* effective (drifted) conductance now, uS */
    uint32_t writes, reads;
} dev_cell_info;
int dev_cell(const dev_array *a, int r, int c, dev_cell_info *info, char *err, size_t errlen);
/* Number of stuck cells of each kind in the whole array. */
void dev_stuck_counts(const dev_array *a, long *stuck_lrs, long *stuck_hrs);

/* The byte-form fast normals of the low and high halves of a 64-bit word. */
static inline float dev_fast_normal_lo(uint64_t w)
{
    uint32_t x = (uint32_t)w;
    uint32_t s = (x & 0xffu) + ((x >> 8) & 0xffu) + ((x >> 16) & 0xffu) + (x >> 24);
    return ((float)(int32_t)s - 510.0f) * (1.0f / 147.8006f);
}
static inline float dev_fast_normal_hi(uint64_t w) { return dev_fast_normal_lo(w >> 32); }

/* A bank of DEV_LANES xoshiro256** generators stepped together so the compiler can
 * vectorise them; lane k is the generator rng_seed_stream(key, k) of rng.h and produces
 * exactly rng_next's sequence. */
#define DEV_LANES 8
typedef struct dev_lanes {
    uint64_t s[4][DEV_LANES];
} dev_lanes;
void dev_lanes_seed(dev_lanes *g, uint64_t key);
/* One word from each lane: out[k] = lane k's next word. */
void dev_lanes_next(dev_lanes *g, uint64_t out[DEV_LANES]);
/* n fast normals (nibble form) into out: step m of the lanes gives out[32m + 4k + f] from
 * 16-bit field f (f < 4, low field first) of lane k's word; a last partial step drops the
 * normals past n. */
void dev_lanes_normal(dev_lanes *g, float *out, int n);
/* A 64-bit key from the array's read stream, to seed noise generators elsewhere (the
 * crossbar's noise banks and VMM noise). */
uint64_t dev_noise_key(dev_array *a);

#endif
