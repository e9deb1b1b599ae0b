/* irdrop: the IR drop of one driven group of a 1T1R RRAM crossbar, as the transfer matrix
 * from the row drivers' voltages to the currents that reach the column TIAs.
 *
 * The network. An array of array_rows rows; a group drives its n consecutive array rows
 * r0 .. r_last = r0 + n - 1 (their access transistors on) against a layer block of m
 * columns c0 .. c0 + m - 1. Row i of the group (0-based) is driven by an ideal source V_i
 * at the array's left edge:
 *   row i:    V_i -- (driver_ohm + (c0 + 1) row_wire_ohm) -- R(i,0) -- wire -- R(i,1) ... R(i,m-1)
 *   cell:     R(i,j) -- y_ij -- C(i,j),   y_ij = 1 / (1/g_ij + access_ohm)
 *   column j: C(0,j) -- wire -- C(1,j) ... C(n-1,j) -- (array_rows - r_last) col_wire_ohm -- TIA j
 * with each "wire" one segment of row_wire_ohm (rows) or col_wire_ohm (columns; the two
 * may differ: the lines of a 1T1R array lie in different metal layers); the TIA is a virtual ground (0 V) at the array's
 * bottom edge, and the column's stretch below the group is a plain resistor (the rows
 * outside the group have their transistors off). The row lines end open after column m-1,
 * the column lines open above row 0.
 *
 * The result. The network is linear: TIA j receives I_j = sum_i V_i T_ij. T (n, m) is in uS
 * (uA per volt): T_ij is the current into TIA j per volt on row i with every other row of
 * the group held at 0 V, backflow through those rows' cells included. Units: g in uS,
 * resistances in ohms, all arithmetic in double. With all three resistances 0, T = g bit for
 * bit (copied, no arithmetic). With both wires 0 the lines are ideal conductors, the column
 * lines sit at 0 V and T_ij = y_ij / (1 + driver_ohm sum_j' y_ij') in closed form (both
 * solvers). A column's total sum_i T_ij falls as either wire grows, and so does each LRS entry
 * as more rows of the group are driven; an HRS entry can gain a little from sneak paths
 * (current of the row's LRS cells that climbs another column, crosses to a row at 0 V and
 * comes down column j).
 *
 * Reciprocity. The network's admittance matrix is symmetric, so T_ij is also the current into
 * row source i (at 0 V) when TIA j's terminal is raised to 1 V. The solvers therefore solve
 * min(n, m) times: once per row (n <= m) or once per TIA (n > m; done as the row solve of the
 * transposed network: rows and columns swapped, leads swapped, each line numbered from its
 * open end).
 *
 * irdrop_exact, the reference: a banded Cholesky factorisation of the full nodal system
 * (2 n m unknowns, row and column nodes; symmetric positive definite), the nodes numbered by
 * block column of the shorter side k = min(n, m) (row node and column node interleaved), so
 * the half bandwidth is 2k (a column node's row of the factor is only 3 wide: sums start at
 * each row's envelope); factorised once per group, then solved for the k right-hand sides
 * eight at a time. Cost: 2 n m (2k + 1) doubles of memory (512 x 64: 68 MB; 256 x 256:
 * 540 MB), about 2 n m k^2 multiply-adds to factorise and 4 n m k^2 to solve; measured (one
 * core of an AMD EPYC): 16 x 256 in 3 ms, 64 x 256 in 0.12 s, 512 x 64 in 0.26 s, 256 x 256
 * in 5.4 s. Accuracy: tested within 1e-9 (measured 2e-12) of a dense modified-nodal-analysis
 * solve of the network.
 *
 * irdrop_fast, the one the simulator calls: alternating line relaxation (block Gauss-Seidel
 * over the two sets of lines, then over-relaxed). Given the column-node voltages, every row
 * line is solved exactly as a tridiagonal system (Thomas algorithm, factors computed once
 * per group, the cells as shunts to the known column voltages); given the row-node
 * voltages, every column line likewise; that is one sweep. The k right-hand sides go eight
 * at a time, one per SIMD lane, and four lines at a time so that their elimination chains
 * overlap. After SOR_AFTER (3) plain sweeps the over-relaxation factor is set from the
 * observed contraction (Young's optimum for a 2-cyclic matrix) and raised later if the
 * contraction stays well above it (Hageman and Young's adaptive rule).
 * Stopping rule, per right-hand side: delta = the larger of (largest change of a cell
 * current over the sweep, bounded by y |dV_row| + y |dV_col|) / (largest cell current) and
 * (largest change of an output current) / (largest output current); r = the contraction
 * per sweep measured over the last two sweeps (at least omega - 1); estimate = delta r /
 * (1 - r). Stop when every estimate is below IRDROP_TOL (from sweep 3 on). After
 * IRDROP_MAX_SWEEPS without that, the group is solved by irdrop_exact instead
 * (st->fallback = 1), so the result always meets the bound.
 * Error bound (checked by tests/unit/test_irdrop.c and mpcl-bench-irdrop):
 *   |T_fast_ij - T_exact_ij| <= IRDROP_FAST_BOUND * max_i' |T_exact_i'j|
 * (relative to the column's largest entry in the group); measured worst cases 1e-7 to 2e-7,
 * float rounding (6e-8) included. Sweeps on a 512-row array of LRS/HRS cells (33/1 uS): at
 * wire 2.5, access 2000, driver 200 ohm, 6 to 8 for groups of 16 rows, 11 for 64 x 256, 16
 * and 17 for 256 and 512 x 256; at the corner wire 5, access 1000, driver 500 ohm, up to 11,
 * 18 and 29; 50 to 300 when the lines' resistance dominates the cells' (e.g. 500 uS cells
 * without access transistor on 10-ohm segments).
 * Cost: sweeps * k * n m * about 25 flops; measured (same CPU, AVX-512 path): 16 x 256 in
 * 0.3 ms, 64 x 256 in 6.5 ms, 256 x 256 in 0.15 s, 512 x 256 in 0.55 s (the baseline x86-64
 * path is about 2.5 times slower). Deterministic: no threads, every operation lane by lane
 * in a fixed order of plain double arithmetic (no FMA contraction, no libm calls but sqrt
 * and fabs), so the same bits on every x86-64 CPU and instruction-set path (isa.h); rounded
 * to float at the end.
 *
 * Limits: every resistance finite, in [0, IRDROP_MAX_OHM]; the two wires both 0 or both at least
 * IRDROP_MIN_WIRE_OHM (a nonzero wire far below any real line's would make the nodal system
 * too ill-conditioned to solve in double); g in (0, 500] uS; 0 <= r0, r0 + n <= array_rows,
 * c0 >= 0, n, m >= 1. Functions that can fail return -1 with one line in err[errlen] naming
 * the problem (the parameter, or the cell), and leave nothing allocated. */
#ifndef MPCL_IRDROP_H
#define MPCL_IRDROP_H

#include <stddef.h>

#define IRDROP_MAX_OHM 1e6      /* ohm, any of the three resistances */
#define IRDROP_MIN_WIRE_OHM 1e-3 /* ohm, a nonzero wire */
#define IRDROP_G_MAX 500.0      /* uS */
#define IRDROP_TOL 1e-8         /* irdrop_fast stops when its error estimate is below this */
#define IRDROP_MAX_SWEEPS 400   /* ... or falls back to irdrop_exact after this many sweeps */
#define IRDROP_FAST_BOUND 1e-5  /* irdrop_fast's error, relative to its column's largest |T| */

typedef struct irdrop_params {
    double row_wire_ohm; /* per cell segment of the driven (row) lines */
    double col_wire_ohm; /* per cell segment of the output (column) lines */
    double access_ohm; /* access transistor on-resistance, in series with every cell */
    double driver_ohm; /* row driver / multiplexer on-resistance */
} irdrop_params;

typedef struct irdrop_group {
    int array_rows; /* rows of the array (the column leads run to its bottom edge) */
    int r0, n;      /* the group's first array row and its number of rows */
    int c0, m;      /* the block's first array column and its columns */
} irdrop_group;

/* What irdrop_fast did. */
typedef struct irdrop_stats {
    int solves;      /* right-hand sides: min(n, m); 0 for the closed forms (wires 0) */
    int sweeps;      /* the most sweeps a batch of eight right-hand sides took */
    double estimate; /* the largest final error estimate (relative, see above); 0 after a
                        fallback */
    int fallback;    /* 1: did not converge, the result is irdrop_exact's */
} irdrop_stats;

/* 0, or -1 with one line naming the bad field. */
int irdrop_check(const irdrop_params *p, char *err, size_t errlen);
/* 1 when all three resistances are 0 (T = g). */
int irdrop_is_ideal(const irdrop_params *p);

/* g: (n, m) uS, row stride ldg floats (ldg >= m). t: (n, m) uS, row stride ldt (>= m).
 * Return 0, or -1 with one line in err (bad parameters, group, conductance; out of memory). */
int irdrop_exact(const irdrop_params *p, const irdrop_group *gr, const float *g, int ldg,
                 double *t, int ldt, char *err, size_t errlen);
/* st may be NULL. */
int irdrop_fast(const irdrop_params *p, const irdrop_group *gr, const float *g, int ldg,
                float *t, int ldt, irdrop_stats *st, char *err, size_t errlen);

#endif
