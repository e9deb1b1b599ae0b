/* data: IDX files (raw or gzip) -> validated datasets; preprocessing; task splits.
 *
 * Every function that can fail returns 0 on success and -1 on failure, and on failure
 * writes one line (no trailing newline) into err[errlen] naming the file or thing and
 * the problem, e.g. "train-labels-idx1-ubyte.gz: label 12 at index 7 out of range 0-9".
 * Nothing is left allocated on failure. */
#ifndef MPCL_DATA_H
#define MPCL_DATA_H

#include <stddef.h>
#include <stdint.h>

/* ---- IDX files ---------------------------------------------------------------- */

/* An image set with its labels, as read from an IDX pair: n images of rows x cols
 * unsigned bytes (row-major, image after image) and n labels in 0..9. */
typedef struct data_raw {
    int n, rows, cols;
    uint8_t *pixels; /* n * rows * cols */
    uint8_t *labels; /* n */
} data_raw;

/* Read one IDX file of unsigned bytes (element type 0x08), raw or gzip (detected from
 * the content, not the name). Validates the magic number, element type, number of
 * dimensions (expect_ndims: 1 for labels, 3 for images), every dimension > 0, and
 * that the file holds exactly the bytes the header promises (no more, no less).
 * On success *data (malloc'd, caller frees) holds the elements and dims[0..ndims-1]
 * the dimensions. */
int idx_read(const char *path, int expect_ndims, uint8_t **data, int dims[3],
             char *err, size_t errlen);

/* Read an images file and a labels file and check that they agree (same count), and
 * that every label is in 0..9. */
int data_raw_load(const char *images_path, const char *labels_path, data_raw *out,
                  char *err, size_t errlen);
void data_raw_free(data_raw *d);

/* Find and load a benchmark split. name: "mnist" or "fmnist"; train: 1 for the training
 * set, 0 for the test set. Files are looked up as <dir>/<stem> and <dir>/<stem>.gz with
 * the standard stems (train-images-idx3-ubyte, t10k-labels-idx1-ubyte, ...); dir is
 *   fmnist: $MPCL_FMNIST_DIR, else /usr/share/datasets/fashion-mnist
 *   mnist:  $MPCL_DATA/mnist, else ${XDG_CACHE_HOME:-$HOME/.cache}/mpcl/mnist
 * A missing file is an error that says which make target installs it. */
int data_raw_load_named(const char *name, int train, data_raw *out, char *err, size_t errlen);
/* The directory data_raw_load_named uses for `name` (static storage, or NULL for an
 * unknown name). */
const char *data_dir_for(const char *name);

/* ---- Preprocessing -------------------------------------------------------------- */

typedef enum data_input {
    DATA_INPUT_FLOAT784,  /* 784 pixels in [0,1] (stored as bytes, scaled on gather) */
    DATA_INPUT_BINARY784, /* 784 pixels, 1 where pixel/255 >= threshold */
    DATA_INPUT_PAPER192   /* 2x2 average pool to 14x14, drop the 4 corners, threshold:
                             192 binary inputs (the brief's preset) */
} data_input;

/* A preprocessed dataset: n examples of dim features, labels in 0..9. Float inputs keep
 * bytes (value = byte / 255); binary inputs are bit-packed, one row of `words` 64-bit
 * words per example, feature i at bit (i % 64) of word (i / 64), padding bits zero. */
typedef struct data_set {
    int n, dim;
    data_input input;
    int binary;          /* 1 for binary inputs */
    int words;           /* 64-bit words per example when binary */
    uint8_t *bytes;      /* n * dim, float inputs only */
    uint64_t *bits;      /* n * words, binary inputs only */
    uint8_t *labels;     /* n */
} data_set;

/* Preprocess raw into out. threshold in (0,1] is used by the binary inputs (0.5 is the
 * paper's). */
int data_prepare(const data_raw *raw, data_input input, float threshold, data_set *out,
                 char *err, size_t errlen);
/* The same, consuming raw (freed on return, success or not): float inputs take over
 * raw's buffers instead of copying them, which halves the peak memory of a load. */
int data_prepare_take(data_raw *raw, data_input input, float threshold, data_set *out,
                      char *err, size_t errlen);
void data_set_free(data_set *d);
/* Parse "float784" | "binary784" | "paper192" (also "784" = float784, "paper" =
 * paper192). Returns -1 for anything else. */
int data_input_parse(const char *s, data_input *out);
const char *data_input_name(data_input input);

/* Gather `count` examples idx[0..count-1] as floats into out (count x dim, row-major):
 * byte/255 for float inputs, 0/1 for binary inputs. */
void data_gather_float(const data_set *d, const int *idx, int count, float *out);
/* Gather bit-packed rows (count x words) of a binary set. */
void data_gather_bits(const data_set *d, const int *idx, int count, uint64_t *out);
/* Feature i of example k as 0..1. */
float data_feature(const data_set *d, int k, int i);

/* ---- Task splits ------------------------------------------------------------------ */

#define DATA_MAX_TASKS 10

/* One task: a group of classes and the indices of its examples. train/val index the
 * training set, test the test set. Within-task position of a class is its index in
 * classes[] (used by the domain-incremental head). */
typedef struct data_task {
    int nclasses;
    int classes[10];
    int *train, ntrain;
    int *val, nval;
    int *test, ntest;
} data_task;

typedef struct data_tasks {
    int ntasks;
    data_task task[DATA_MAX_TASKS];
} data_tasks;

/* Split train/test into tasks. groups: ntasks groups, group g holding group_sizes[g]
 * classes from group_classes (concatenated). A class may appear in one group only.
 * val_fraction in [0, 0.5): that share of each task's training examples (after a
 * seeded shuffle) is held out as its validation split. Example order within each
 * index list is the seeded shuffle's (train, val) or the file's (test). */
int data_tasks_split(const data_set *train, const data_set *test, int ntasks,
                     const int *group_sizes, const int *group_classes, double val_fraction,
                     uint64_t seed, data_tasks *out, char *err, size_t errlen);
/* The 5 class pairs (0,1) (2,3) (4,5) (6,7) (8,9). */
int data_tasks_split5(const data_set *train, const data_set *test, double val_fraction,
                      uint64_t seed, data_tasks *out, char *err, size_t errlen);
void data_tasks_free(data_tasks *t);

/* The examples of one training epoch of task t: its training indices (those of tasks 0..t
 * when joint, for the Joint baseline), with the task each comes from. idx and task_of are
 * malloc'd (free both); -1 when out of memory. */
typedef struct data_epoch_set {
    int *idx, *task_of, n;
} data_epoch_set;
int data_epoch_set_build(data_epoch_set *e, const data_tasks *tasks, int t, int joint);

#endif
