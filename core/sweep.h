/* sweep: the bookkeeping of a parameter sweep, whoever runs its points.
 *
 * A sweep is a list of points (flat JSON objects of scalars, keys in sorted order) and a
 * result directory:
 *   DIR/manifest.json     what the sweep is: its points, the lab's version, the script's and
 *                         the data files' CRCs (sweep_open refuses a different one)
 *   DIR/runs/<id>.json    one finished point, written atomically (temp, fsync, rename)
 *   DIR/results.json      every point's record in point order (sweep_gather)
 *   DIR/results.csv       the same as a table: the point, then the results' scalar leaves
 * The id of point i (0-based) is i + 1, zero-padded to 4 digits ("0001"). Rerunning the same
 * sweep in the same DIR resumes: points with a good run file are done (sweep_done).
 *
 * Who runs the points (in-process, worker processes, MPI ranks, Slurm array tasks) is not
 * this module's business; it orders them (longest expected first), derives each point's
 * seed from its parameters, writes what they return and projects a schedule's makespan.
 * Results are JSON (cJSON values); numbers keep their exact double value. */
#ifndef MPCL_SWEEP_H
#define MPCL_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define SWEEP_FORMAT "mpcl-sweep 1"
#define SWEEP_MAX_POINTS 1000000

typedef struct sweep sweep;

/* The cross product of grid (an object: key -> non-empty array of scalars): keys in sorted
 * byte order, the first key varying slowest. Returns a new array of point objects, or NULL
 * with a message ("grid: m is empty"). */
cJSON *sweep_grid_points(const cJSON *grid, char *err, size_t errlen);

/* Check a list of points (an array of flat objects of numbers, strings and booleans, at
 * least one): 0, or -1 with "point 3: key x holds a table; point values are numbers,
 * strings or booleans". */
int sweep_check_points(const cJSON *points, char *err, size_t errlen);

/* A sweep over points (taken over, checked as above). NULL with a message on bad input. */
sweep *sweep_new(cJSON *points, char *err, size_t errlen);
void sweep_free(sweep *s);

int sweep_count(const sweep *s);
const cJSON *sweep_point(const sweep *s, int i);
const cJSON *sweep_points(const sweep *s);
/* "0001": static per sweep, valid until sweep_free. */
const char *sweep_id(const sweep *s, int i);
/* A seed in 1..2^31-1 derived from the point's canonical text alone: the same point gets
 * the same seed whatever runs it, in whatever order. */
int64_t sweep_seed(const sweep *s, int i);
/* "m=0.005 seed=2": the point for messages (buf). */
const char *sweep_describe(const sweep *s, int i, char *buf, size_t n);

/* Open (create) DIR for the sweep: DIR, DIR/runs; manifest.json written, or compared with
 * the one there: a different one is refused unless force, which moves the old manifest,
 * runs and results into DIR/superseded-N/. meta (an object: lab version, script, data;
 * not taken) goes into the manifest beside the points. Finished points are read back.
 * 0, or -1 with a one-line message naming the path. */
int sweep_open(sweep *s, const char *dir, const cJSON *meta, int force, char *err,
               size_t errlen);
const char *sweep_dir(const sweep *s);

/* Whether point i has a good result (read back or recorded), and how many have. */
int sweep_done(const sweep *s, int i);
int sweep_done_count(const sweep *s);
/* Whether point i ended in an error (its last attempt failed); its record or NULL. */
int sweep_failed(const sweep *s, int i);
const cJSON *sweep_record_of(const sweep *s, int i);

/* Record point i's outcome and write DIR/runs/<id>.json: result (taken; may be NULL for
 * null) when ok, else the error message. 0, or -1 with a message. */
int sweep_record(sweep *s, int i, int ok, cJSON *result, const char *error, int attempts,
                 double seconds, char *err, size_t errlen);

/* Write DIR/results.json and DIR/results.csv from the records (points without one are
 * rows with ok empty). 0, or -1 with a message. */
int sweep_gather(sweep *s, char *err, size_t errlen);

/* Points in dispatch order into order[count]: by cost descending where cost (may be NULL,
 * negative entries unknown) is known, then the others, each group in point order. */
void sweep_order(const sweep *s, const double *cost, int *order);

/* The makespan of running n points of the given costs, dispatched in the given order (NULL:
 * as listed) to `workers` workers that each take the next point when free, with `overhead`
 * seconds added to each point. */
double sweep_makespan(const double *cost, const int *order, int n, int workers,
                      double overhead);

/* CRC-32 (zlib's) of a file's bytes into *crc: 0, or -1 with a message. */
int sweep_file_crc(const char *path, uint32_t *crc, char *err, size_t errlen);

#endif
