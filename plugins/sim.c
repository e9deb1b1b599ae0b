/* sim: the built-in simulated chip: two core/device arrays behind core/crossbar.
 * URI options ("sim:preset=paper,id=42,wire_ohm=2.5"): a preset first, whatever its place
 * in the list (paper, the default; ideal; worn), then the options in order, each
 * overriding the preset: id (virtual chip id, 1), noise (relative read noise), stuck
 * (fraction of stuck cells, half at LRS and half at HRS), d2d (device-to-device sigma of
 * the LRS, relative), rows, cols (512), adc_bits (4-16), v_read (V), tia_gain (V/uA, or
 * auto: full scale follows p), adc_vfs (V), adc_offset, adc_inl, adc_dnl (LSB),
 * wire_ohm (both wires), row_wire_ohm, col_wire_ohm, access_ohm, driver_ohm (ohm), line_solver (fast or exact), map (a measured
 * conductance map of the positive array: a regular text file of rows of conductances in uS,
 * numbers separated by blanks, one row per line, blank lines skipped, imported at (0, 0);
 * an error names the line and column, never the file's bytes), map_neg (the same for the
 * negative array). Parameters: v_read,
 * adc_bits, tia_gain, read_noise, int_frac_bits, adc_channels (settable); time_s (setting
 * it advances the arrays' clock to that time); g_lrs, g_hrs, array_ops, adds,
 * conversions, adc_vfs, adc_offset, adc_inl, adc_dnl, adc_seed, row_wire_ohm, col_wire_ohm, access_ohm,
 * driver_ohm (read only); setting refresh applies the pending reads now (see below). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chip.h"
#include "crossbar.h"
#include "error.h"
#include "fileio.h"
#include "rng.h"

/* Reads through the chip interface see the conductances of the last refresh, as the
 * crossbar's VMMs do, and count as pending reads that take effect (read drift) at the next
 * refresh: programming, a pulse, time passing, or a million pending cell reads. So a
 * software model built from reads (fine-tuning's Wpara) matches the chip's VMMs exactly
 * when read noise is off. */
#define SIM_PENDING_MAX (1u << 20)

/* The paper preset: the board of the paper (README, "The simulated chip", says where each
 * value comes from). The arrays are the TaOx defaults of device.h. */
#define SIM_PAPER_DRIVER_OHM 0.0f    /* buffered row drivers (see the README) */
#define SIM_PAPER_ADC_VFS 2.5f       /* ADS8324: +-Vref, Vref = VCC / 2 = 2.5 V at 5 V */
#define SIM_PAPER_TIA_GAIN 0.0062f   /* 6.2 kOhm feedback: 64 rows' weights fill the range */
#define SIM_PAPER_ACCESS_OHM 1500.0f /* a 40 nm access transistor fully on (assumed) */
#define SIM_PAPER_ADC_OFFSET 0.0f    /* LSB: the board subtracts its measured zero */
#define SIM_PAPER_ADC_INL 0.0f       /* LSB: +-2 LSB would be 1/64 of a weight; off */
#define SIM_PAPER_ADC_DNL 0.0f
/* Calibrated (assets/scripts/calibrate.lua): */
#define SIM_PAPER_ROW_WIRE_OHM 0.1f  /* per cell segment of the rows */
#define SIM_PAPER_COL_WIRE_OHM 8.0f  /* per cell segment of the columns */
#define SIM_PAPER_READ_NOISE 0.015f  /* relative sigma of one read */

typedef struct sim {
    xbar x;
    uint64_t id;
    dev_params dp;
    float *snap[2];     /* effective conductances at the last refresh */
    uint32_t *pend[2];  /* reads since then, per cell */
    uint64_t npend;
    rng rd;             /* read noise of interface reads */
} sim;

static int sim_refresh(sim *s, char *err, size_t errlen)
{
    int rows = s->dp.rows, cols = s->dp.cols;
    for (int a = 0; a < 2; a++) {
        dev_array *arr = a ? &s->x.neg : &s->x.pos;
        if (s->npend)
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++) {
                    uint32_t *p = &s->pend[a][(size_t)r * cols + c];
                    if (*p && dev_add_reads(arr, r, c, 1, 1, *p, err, errlen) < 0)
                        return -1;
                    *p = 0;
                }
    }
    s->npend = 0;
    if (xbar_refresh(&s->x, err, errlen) < 0)
        return -1;
    for (int a = 0; a < 2; a++)
        if (dev_conductance_block(a ? &s->x.neg : &s->x.pos, 0, 0, rows, cols, s->snap[a], cols,
                                  err, errlen) < 0)
            return -1;
    return 0;
}

static const char *const PARAMS[] = {
    "v_read", "adc_bits", "tia_gain", "read_noise", "int_frac_bits", "adc_channels", "time_s",
    "g_lrs", "g_hrs", "array_ops", "adds", "conversions", "adc_vfs", "adc_offset", "adc_inl",
    "adc_dnl", "adc_seed", "row_wire_ohm", "col_wire_ohm", "access_ohm", "driver_ohm",
    NULL};

/* s for a message: options come from a URI or a script and may hold any byte. */
static const char *shown(char *buf, size_t n, const char *s)
{
    return fileio_printable(buf, n, s, strlen(s));
}

/* Line lineno of a map into row r of m (rows_max x cols_max): *c values. 0, or -1 with a
 * message that names the line and column and what is wrong there, never the line's bytes (a
 * map is any file: binary garbage must not reach the terminal). */
static int map_line(const char *path, const char *line, long lineno, int r, int rows_max,
                    int cols_max, float *m, int *c, char *err, size_t errlen)
{
    const char *p = line;
    char *end;
    *c = 0;
    for (;;) {
        while (*p && strchr(" \t\r\n", *p))
            p++;
        if (!*p)
            break;
        float v = strtof(p, &end);
        if (end == p || (*end && !strchr(" \t\r\n", *end)))
            return err_set(err, errlen, "map %s: line %ld, column %d: not a number", path, lineno,
                           *c + 1);
        if (r >= rows_max || *c >= cols_max)
            return err_set(err, errlen, "map %s: line %ld, column %d: more values than the %d x %d "
                                        "array holds", path, lineno, *c + 1, rows_max, cols_max);
        m[(size_t)r * cols_max + (*c)++] = v;
        p = end;
    }
    return 0;
}

/* A text map of conductances: whitespace-separated numbers, one row per line (blank lines
 * skipped). Read from a regular file only (a FIFO must not block the open). */
static int read_map(const char *path, int rows_max, int cols_max, float **out, int *rows,
                    int *cols, char *err, size_t errlen)
{
    char ferr[512];
    FILE *f = fileio_fopen_regular(path, ferr, sizeof ferr);
    if (!f)
        return err_set(err, errlen, "map %s", ferr);
    float *m = calloc((size_t)rows_max * cols_max, sizeof *m);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0; /* a file of 2^31 blank lines must not overflow it */
    int r = 0, width = -1, rc = m ? 0 : -1;
    if (!m)
        err_format(err, errlen, "map %s: out of memory", path);
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        int c;
        lineno++;
        if ((size_t)len != strlen(line)) {
            err_format(err, errlen, "map %s: line %ld: a NUL byte (not a text file)", path, lineno);
            rc = -1;
        } else if ((rc = map_line(path, line, lineno, r, rows_max, cols_max, m, &c, err,
                                  errlen)) == 0 && c > 0) {
            if (width >= 0 && c != width) {
                err_format(err, errlen, "map %s: line %ld: %d values, the first row had %d", path,
                           lineno, c, width);
                rc = -1;
            }
            width = c;
            r++;
        }
    }
    if (rc == 0 && ferror(f)) {
        err_format(err, errlen, "map %s: read error", path);
        rc = -1;
    }
    free(line);
    fclose(f);
    if (rc == 0 && r == 0) {
        err_format(err, errlen, "map %s: no values", path);
        rc = -1;
    }
    if (rc < 0) {
        free(m);
        return -1;
    }
    *out = m;
    *rows = r;
    *cols = width;
    return 0;
}

static int import_map(dev_array *a, const char *path, char *err, size_t errlen)
{
    float *m;
    int rows, cols;
    if (read_map(path, a->p.rows, a->p.cols, &m, &rows, &cols, err, errlen) < 0)
        return -1;
    char derr[300];
    int rc = dev_import_map(a, 0, 0, rows, cols, m, a->p.cols, derr, sizeof derr);
    if (rc < 0)
        err_format(err, errlen, "map %s: %s", path, derr);
    free(m);
    return rc;
}

/* The chip a URI asks for: a preset, then the options that override it. */
typedef struct sim_config {
    uint64_t id;
    dev_params dp;
    xbar_params xp;
    char map[2][1024];
} sim_config;

/* The presets (README, "The simulated chip"). ideal: the chip of lab versions up to 0.2
 * (no line resistance, the ADC's full scale following p); worn: the ideal chip aged (10%
 * stuck cells, 25% device spread, 5% read noise); paper: the paper's board, calibrated by
 * assets/scripts/calibrate.lua. */
static int apply_preset(sim_config *c, const char *name, char *err, size_t errlen)
{
    dev_default_params(&c->dp);
    xbar_default_params(&c->xp);
    if (!strcmp(name, "ideal"))
        return 0;
    if (!strcmp(name, "worn")) {
        c->dp.stuck_lrs = c->dp.stuck_hrs = 0.05f;
        c->dp.g_lrs_d2d = 0.25f * c->dp.g_lrs;
        c->dp.read_noise = 0.05f;
        return 0;
    }
    if (!strcmp(name, "paper")) {
        c->dp.read_noise = SIM_PAPER_READ_NOISE;
        c->xp.row_wire_ohm = SIM_PAPER_ROW_WIRE_OHM;
        c->xp.col_wire_ohm = SIM_PAPER_COL_WIRE_OHM;
        c->xp.access_ohm = SIM_PAPER_ACCESS_OHM;
        c->xp.driver_ohm = SIM_PAPER_DRIVER_OHM;
        c->xp.adc_vfs = SIM_PAPER_ADC_VFS;
        c->xp.tia_gain = SIM_PAPER_TIA_GAIN;
        c->xp.adc_offset = SIM_PAPER_ADC_OFFSET;
        c->xp.adc_inl = SIM_PAPER_ADC_INL;
        c->xp.adc_dnl = SIM_PAPER_ADC_DNL;
        return 0;
    }
    char sn[128];
    return err_set(err, errlen, "option preset: unknown preset '%s' (presets: paper, ideal, worn)",
                   shown(sn, sizeof sn, name));
}

static const char *const OPTIONS =
    "preset, id, noise, stuck, d2d, adc_bits, rows, cols, map, map_neg, v_read, tia_gain, "
    "adc_vfs, adc_offset, adc_inl, adc_dnl, int_frac_bits, wire_ohm, row_wire_ohm, col_wire_ohm, "
    "access_ohm, driver_ohm, line_solver";

/* One numeric option into the configuration; -1 when v is out of the option's range. */
static int numeric_option(sim_config *c, const char *k, double d, int *known)
{
    *known = 1;
    if (!strcmp(k, "id"))
        return d >= 0 && d < 0x1p63 && d == floor(d) ? (c->id = (uint64_t)d, 0) : -1;
    if (!strcmp(k, "noise"))
        return d >= 0 && d < 1 ? (c->dp.read_noise = (float)d, 0) : -1;
    if (!strcmp(k, "stuck"))
        return d >= 0 && d < 1 ? (c->dp.stuck_lrs = c->dp.stuck_hrs = (float)(d / 2), 0) : -1;
    if (!strcmp(k, "d2d")) /* relative, of the LRS mean */
        return d >= 0 && d < 1 ? (c->dp.g_lrs_d2d = (float)(d * c->dp.g_lrs), 0) : -1;
    if (!strcmp(k, "rows") || !strcmp(k, "cols"))
        return d >= 1 && d <= 4096 && d == floor(d)
                   ? (*(k[0] == 'r' ? &c->dp.rows : &c->dp.cols) = (int)d, 0) : -1;
    if (!strcmp(k, "adc_bits"))
        return d >= 4 && d <= 16 && d == floor(d) ? (c->xp.adc_bits = (int)d, 0) : -1;
    if (!strcmp(k, "tia_gain"))
        return d > 0 && d <= 1e6 ? (c->xp.tia_gain = (float)d, 0) : -1;
    if (!strcmp(k, "int_frac_bits"))
        return d >= 0 && d <= 16 && d == floor(d) ? (c->xp.int_frac_bits = (int)d, 0) : -1;
    if (!strcmp(k, "v_read"))
        return d > 0 && d <= 5 ? (c->xp.v_read = (float)d, 0) : -1;
    if (!strcmp(k, "adc_vfs"))
        return d > 0 && d <= 100 ? (c->xp.adc_vfs = (float)d, 0) : -1;
    if (!strcmp(k, "adc_offset"))
        return fabs(d) <= 8192 ? (c->xp.adc_offset = (float)d, 0) : -1;
    if (!strcmp(k, "adc_inl"))
        return d >= 0 && d <= 64 ? (c->xp.adc_inl = (float)d, 0) : -1;
    if (!strcmp(k, "adc_dnl"))
        return d >= 0 && d <= 1 ? (c->xp.adc_dnl = (float)d, 0) : -1;
    if (!strcmp(k, "wire_ohm")) /* both wires */
        return d >= 0 && d <= 1e6 ? (c->xp.row_wire_ohm = c->xp.col_wire_ohm = (float)d, 0) : -1;
    float *ohm = !strcmp(k, "row_wire_ohm")   ? &c->xp.row_wire_ohm
                 : !strcmp(k, "col_wire_ohm") ? &c->xp.col_wire_ohm
                 : !strcmp(k, "access_ohm")   ? &c->xp.access_ohm
                 : !strcmp(k, "driver_ohm") ? &c->xp.driver_ohm
                                            : NULL;
    if (ohm)
        return d >= 0 && d <= 1e6 ? (*ohm = (float)d, 0) : -1;
    *known = 0;
    return -1;
}

static const char *option_range(const char *k)
{
    static const struct { const char *k, *range; } R[] = {
        {"id", "an integer >= 0"}, {"noise", "in [0, 1)"}, {"stuck", "in [0, 1)"},
        {"d2d", "in [0, 1)"}, {"rows", "an integer 1-4096"}, {"cols", "an integer 1-4096"},
        {"adc_bits", "an integer 4-16"}, {"int_frac_bits", "an integer 0-16"}, {"tia_gain", "> 0 V/uA, or auto"},
        {"v_read", "in (0, 5] V"}, {"adc_vfs", "in (0, 100] V"},
        {"adc_offset", "within +-8192 LSB"}, {"adc_inl", "0 to 64 LSB"},
        {"adc_dnl", "0 to 1 LSB"}, {"wire_ohm", "0 to 1e6 ohm"}, {"row_wire_ohm", "0 to 1e6 ohm"},
        {"col_wire_ohm", "0 to 1e6 ohm"}, {"access_ohm", "0 to 1e6 ohm"},
        {"driver_ohm", "0 to 1e6 ohm"}};
    for (size_t i = 0; i < sizeof R / sizeof R[0]; i++)
        if (!strcmp(R[i].k, k))
            return R[i].range;
    return "in range";
}

/* One key=value option (the preset is applied before any). */
static int sim_option(sim_config *c, const char *k, const char *v, char *err, size_t errlen)
{
    if (!strcmp(k, "preset"))
        return 0;
    if (!strcmp(k, "map") || !strcmp(k, "map_neg")) {
        snprintf(c->map[k[3] == '_'], sizeof c->map[0], "%s", v);
        return 0;
    }
    if (!strcmp(k, "line_solver")) {
        if (strcmp(v, "fast") && strcmp(v, "exact")) {
            char sv[128];
            return err_set(err, errlen, "option line_solver: fast or exact, got '%s'",
                           shown(sv, sizeof sv, v));
        }
        c->xp.line_exact = !strcmp(v, "exact");
        return 0;
    }
    if (!strcmp(k, "tia_gain") && !strcmp(v, "auto")) {
        c->xp.tia_gain = 0;
        return 0;
    }
    char *end;
    double d = strtod(v, &end);
    int known, numeric = end != v && !*end && isfinite(d);
    int rc = numeric ? numeric_option(c, k, d, &known) : (numeric_option(c, k, 0, &known), -1);
    char sk[128], sv[128];
    if (!known)
        err_format(err, errlen, "unknown option '%s' (options: %s)", shown(sk, sizeof sk, k),
                   OPTIONS);
    else if (!numeric)
        err_format(err, errlen, "option %s needs a number, got '%s'", k, shown(sv, sizeof sv, v));
    else if (rc < 0)
        err_format(err, errlen, "option %s=%s out of range (%s must be %s)", k,
                   shown(sv, sizeof sv, v), k, option_range(k));
    return rc;
}

/* Parse "key=value,key=value": the preset first (default paper), then the rest in order. */
static int sim_parse(const char *options, sim_config *c, char *err, size_t errlen)
{
    char buf[2048], preset[32] = "paper";
    if (snprintf(buf, sizeof buf, "%s", options ? options : "") >= (int)sizeof buf)
        return err_set(err, errlen, "options longer than %zu characters", sizeof buf - 1);
    for (char *save = NULL, *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save))
        if (!strncmp(kv, "preset=", 7))
            snprintf(preset, sizeof preset, "%s", kv + 7);
    memset(c, 0, sizeof *c);
    c->id = 1;
    if (apply_preset(c, preset, err, errlen) < 0)
        return -1;
    snprintf(buf, sizeof buf, "%s", options ? options : "");
    for (char *save = NULL, *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq) {
            char sk[256];
            return err_set(err, errlen, "option '%s' is not key=value", shown(sk, sizeof sk, kv));
        }
        *eq = '\0';
        if (sim_option(c, kv, eq + 1, err, errlen) < 0)
            return -1;
    }
    c->xp.adc_seed = c->id;
    return 0;
}

static int sim_open(const char *options, void **state, char *err, size_t errlen)
{
    sim_config cfg;
    if (sim_parse(options, &cfg, err, errlen) < 0)
        return -1;
    sim *s = calloc(1, sizeof *s);
    if (!s)
        return err_set(err, errlen, "out of memory");
    s->id = cfg.id;
    s->dp = cfg.dp;
    xbar_params xp = cfg.xp;
    char (*map)[1024] = cfg.map;
    if (xbar_create(&s->x, &s->dp, &xp, s->id, err, errlen) < 0) {
        free(s);
        return -1;
    }
    size_t cells = (size_t)s->dp.rows * s->dp.cols;
    int rc = 0;
    for (int a = 0; a < 2 && rc == 0; a++) {
        if (map[a][0] && import_map(a ? &s->x.neg : &s->x.pos, map[a], err, errlen) < 0)
            rc = -1;
        s->snap[a] = malloc(cells * sizeof(float));
        s->pend[a] = calloc(cells, sizeof(uint32_t));
        if (rc == 0 && (!s->snap[a] || !s->pend[a])) {
            err_format(err, errlen, "out of memory");
            rc = -1;
        }
    }
    rng_seed_stream(&s->rd, s->id, 0x5e4d);
    if (rc == 0)
        rc = sim_refresh(s, err, errlen);
    if (rc < 0) {
        for (int a = 0; a < 2; a++) {
            free(s->snap[a]);
            free(s->pend[a]);
        }
        xbar_free(&s->x);
        free(s);
        return -1;
    }
    *state = s;
    return 0;
}

static void sim_close(void *state)
{
    sim *s = state;
    for (int a = 0; a < 2; a++) {
        free(s->snap[a]);
        free(s->pend[a]);
    }
    xbar_free(&s->x);
    free(s);
}

static void sim_info(void *state, chip_info *out)
{
    sim *s = state;
    memset(out, 0, sizeof *out);
    snprintf(out->backend, sizeof out->backend, "sim");
    snprintf(out->name, sizeof out->name, "simulated TaOx RRAM chip");
    snprintf(out->firmware, sizeof out->firmware, "sim-%s", MPCL_VERSION);
    snprintf(out->id, sizeof out->id, "%llu", (unsigned long long)s->id);
    out->rows = s->dp.rows;
    out->cols = s->dp.cols;
    out->caps = CHIP_CAP_PULSE | CHIP_CAP_PROGRAM | CHIP_CAP_READ | CHIP_CAP_VMM | CHIP_CAP_TIME;
}

static dev_array *array_of(sim *s, int array) { return array ? &s->x.neg : &s->x.pos; }

static int sim_pulse(void *state, int array, int row, int col, chip_pulse_kind kind,
                     float amplitude_v, float width_s, char *err, size_t errlen)
{
    sim *s = state;
    static const dev_pulse_kind kinds[] = {DEV_FORM, DEV_SET, DEV_RESET};
    if (dev_pulse(array_of(s, array), row, col, kinds[kind], amplitude_v, width_s, err,
                  errlen) < 0)
        return -1;
    return sim_refresh(s, err, errlen);
}

static int sim_program(void *state, int array, chip_rect r, const uint8_t *target,
                       const chip_verify *v, chip_report *rep, uint8_t *failed, char *err,
                       size_t errlen)
{
    sim *s = state;
    size_t n = (size_t)r.rows * r.cols;
    uint8_t *t = malloc(n);
    if (!t)
        return err_set(err, errlen, "out of memory");
    for (size_t i = 0; i < n; i++)
        t[i] = target[i] ? DEV_LRS : DEV_HRS;
    dev_verify_params dv;
    dev_default_verify(&dv);
    dv.tol = v->tol;
    dv.max_pulses = v->max_pulses;
    dev_program_report dr;
    int rc = dev_program_block(array_of(s, array), r.row0, r.col0, r.rows, r.cols, t, r.cols,
                               &dv, &dr, failed, err, errlen);
    free(t);
    if (rc < 0)
        return -1;
    *rep = (chip_report){dr.cells, dr.pulses, dr.failed};
    return sim_refresh(s, err, errlen);
}

/* One read of each cell of r whose noiseless value is in g (r.rows, r.cols): read noise as
 * device.h's reads, G (1 + sigma n), in row-major order, and the reads counted. */
static void read_cells(sim *s, int array, chip_rect r, float *g)
{
    float noise = array_of(s, array)->p.read_noise;
    int cols = s->dp.cols;
    for (int i = 0; i < r.rows; i++)
        for (int j = 0; j < r.cols; j++) {
            size_t k = (size_t)(r.row0 + i) * cols + r.col0 + j;
            float *v = &g[(size_t)i * r.cols + j];
            if (noise > 0)
                *v *= 1.0f + noise * dev_fast_normal_lo(rng_next(&s->rd));
            *v = *v < 0 ? 0 : *v;
            if (s->pend[array][k] != UINT32_MAX)
                s->pend[array][k]++;
        }
    s->npend += (uint64_t)r.rows * r.cols;
}

static int sim_peek(void *state, int array, chip_rect r, float *g, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    sim *s = state;
    for (int i = 0; i < r.rows; i++)
        memcpy(g + (size_t)i * r.cols, s->snap[array] + (size_t)(r.row0 + i) * s->dp.cols + r.col0,
               sizeof(float) * (size_t)r.cols);
    return 0;
}

static int sim_read(void *state, int array, chip_rect r, float *g, char *err, size_t errlen)
{
    sim *s = state;
    if (s->npend > SIM_PENDING_MAX && sim_refresh(s, err, errlen) < 0)
        return -1;
    sim_peek(state, array, r, g, err, errlen); /* what the cells hold, then one read each */
    read_cells(s, array, r, g);
    return 0;
}

/* Layer l's cells as its rows driven in groups of p see them (line resistance included),
 * one read each with read noise, counted as cell reads. Without line resistance this is
 * sim_read of the layer's rectangle: the same values and the same noise draws. */
static int sim_read_layer(void *state, int array, int layer, int p, float *g, char *err,
                          size_t errlen)
{
    sim *s = state;
    xbar_place at;
    if (xbar_placement(&s->x, layer, &at, err, errlen) < 0)
        return -1;
    chip_rect r = {at.row0, at.col0, at.rows, at.cols};
    if (!xbar_has_lines(&s->x))
        return sim_read(state, array, r, g, err, errlen);
    if (s->npend > SIM_PENDING_MAX && sim_refresh(s, err, errlen) < 0)
        return -1;
    if (xbar_effective(&s->x, layer, p, array, g, err, errlen) < 0)
        return -1;
    read_cells(s, array, r, g);
    return 0;
}

static int sim_place(void *state, int nlayers, const chip_rect *at, char *err, size_t errlen)
{
    sim *s = state;
    xbar_place p[MPCL_MAX_LAYERS];
    for (int l = 0; l < nlayers; l++)
        p[l] = (xbar_place){at[l].row0, at[l].col0, at[l].rows, at[l].cols};
    return xbar_set_placement(&s->x, nlayers, p, err, errlen);
}

static int sim_vmm(void *state, int layer, int p, const int8_t *x, int B, int32_t *y,
                   int32_t *groups, char *err, size_t errlen)
{
    sim *s = state;
    return xbar_vmm(&s->x, layer, p, x, B, y, groups, err, errlen);
}

static int sim_vmm_bits(void *state, int layer, int p, const uint64_t *bits, int words, int B,
                        int pm1, int32_t *y, char *err, size_t errlen)
{
    sim *s = state;
    return xbar_vmm_bits(&s->x, layer, p, bits, words, B, pm1, y, NULL, err, errlen);
}

static int sim_get(void *state, const char *key, double *v, char *err, size_t errlen)
{
    sim *s = state;
    const xbar_params *xp = &s->x.par;
    xbar_ops ops;
    xbar_counters(&s->x, &ops);
    if (!strcmp(key, "v_read"))
        *v = xp->v_read;
    else if (!strcmp(key, "adc_bits"))
        *v = xp->adc_bits;
    else if (!strcmp(key, "tia_gain"))
        *v = xp->tia_gain;
    else if (!strcmp(key, "read_noise"))
        *v = s->x.pos.p.read_noise;
    else if (!strcmp(key, "int_frac_bits"))
        *v = xp->int_frac_bits;
    else if (!strcmp(key, "adc_channels"))
        *v = xp->adc_channels;
    else if (!strcmp(key, "time_s"))
        *v = s->x.pos.now;
    else if (!strcmp(key, "g_lrs"))
        *v = s->dp.g_lrs;
    else if (!strcmp(key, "g_hrs"))
        *v = s->dp.g_hrs;
    else if (!strcmp(key, "array_ops"))
        *v = (double)ops.array_ops;
    else if (!strcmp(key, "adds"))
        *v = (double)ops.adds;
    else if (!strcmp(key, "conversions"))
        *v = (double)ops.conversions;
    else if (!strcmp(key, "adc_vfs"))
        *v = xp->adc_vfs;
    else if (!strcmp(key, "adc_offset"))
        *v = xp->adc_offset;
    else if (!strcmp(key, "adc_inl"))
        *v = xp->adc_inl;
    else if (!strcmp(key, "adc_dnl"))
        *v = xp->adc_dnl;
    else if (!strcmp(key, "adc_seed"))
        *v = (double)xp->adc_seed;
    else if (!strcmp(key, "row_wire_ohm"))
        *v = xp->row_wire_ohm;
    else if (!strcmp(key, "col_wire_ohm"))
        *v = xp->col_wire_ohm;
    else if (!strcmp(key, "access_ohm"))
        *v = xp->access_ohm;
    else if (!strcmp(key, "driver_ohm"))
        *v = xp->driver_ohm;
    else {
        return err_set(err, errlen, "no parameter '%s'", key);
    }
    return 0;
}

static int sim_set(void *state, const char *key, double v, char *err, size_t errlen)
{
    sim *s = state;
    xbar_params xp = s->x.par;
    if (!strcmp(key, "read_noise"))
        return xbar_set_read_noise(&s->x, (float)v, err, errlen);
    if (!strcmp(key, "refresh")) /* apply pending reads now */
        return sim_refresh(s, err, errlen);
    if (!strcmp(key, "time_s")) {
        double dt = v - s->x.pos.now;
        if (dt < 0)
            return err_set(err, errlen,
                           "time_s cannot go back (now %g s, asked %g s)", s->x.pos.now, v);
        if (dev_advance_time(&s->x.pos, dt, err, errlen) < 0 ||
            dev_advance_time(&s->x.neg, dt, err, errlen) < 0)
            return -1;
        return sim_refresh(s, err, errlen);
    }
    if (!strcmp(key, "v_read"))
        xp.v_read = (float)v;
    else if (!strcmp(key, "adc_bits"))
        xp.adc_bits = (int)v;
    else if (!strcmp(key, "tia_gain")) {
        if (!(v > 0))
            return err_set(err, errlen, "tia_gain must be positive (V/uA), got %g", v);
        xp.tia_gain = (float)v;
    } else if (!strcmp(key, "int_frac_bits"))
        xp.int_frac_bits = (int)v;
    else if (!strcmp(key, "adc_channels"))
        xp.adc_channels = (int)v;
    else {
        return err_set(err, errlen,
                       "no settable parameter '%s' (settable: v_read, adc_bits, "
                       "tia_gain, read_noise, int_frac_bits, adc_channels, time_s)", key);
    }
    return xbar_set_params(&s->x, &xp, err, errlen);
}

static const chip_backend SIM = {
    .abi = CHIP_ABI_VERSION,
    .name = "sim",
    .open = sim_open,
    .close = sim_close,
    .info = sim_info,
    .pulse = sim_pulse,
    .program = sim_program,
    .read = sim_read,
    .place = sim_place,
    .vmm = sim_vmm,
    .get_param = sim_get,
    .set_param = sim_set,
    .params = PARAMS,
    .vmm_bits = sim_vmm_bits,
    .peek = sim_peek,
    .read_layer = sim_read_layer,
};

const chip_backend *chip_sim_backend(void) { return &SIM; }
