/* journal: a session as a Lua file. Every chunk that ran in the REPL is appended verbatim
 * (as it was loaded: "=x" and bare expressions as "return x"), so the file runs with any
 * Lua that has the lab:
 *
 *   -- MPCL Lab session journal, format 1
 *   -- version: 0.1.0
 *   -- date: 2026-11-28T23:40:00Z
 *   -- seed: 1
 *   -- threads: 2
 *   -- cpu: AMD EPYC 9B45 128-Core Processor
 *   -- isa: avx512
 *   -- libraries: glibc 2.36, zlib 1.2.13, Lua 5.4.4
 *   -- data: fmnist/train-images-idx3-ubyte.gz crc32=1a2b3c4d
 *   -- chip: none
 *
 *   -- [chunk 1] 2026-11-28T23:40:05Z
 *   do
 *   exp = lab.experiment{epochs = 2}
 *   end
 *   -- [chunk 2] 2026-11-28T23:40:09Z
 *   do
 *   return exp:step()
 *   end
 *   --| step task=1 average=0.987100 acc=0.987100 switch_rate=0.012345 epochs=2
 *   --! stdin:1: attempt to index a nil value (global 'x')      (a chunk that failed)
 *
 * Each chunk sits in do ... end: a chunk may end in `return`, which Lua allows only at the
 * end of a block, and its locals end with it, as in the REPL.
 * "--|" lines are the results the lab produced (session records), in order; a job that
 * finishes in the background records its results after the chunk that was running then.
 * Writing: append, then fsync, once per chunk: a crash loses at most the chunk in flight. */
#ifndef MPCL_JOURNAL_H
#define MPCL_JOURNAL_H

#include <stddef.h>

#include "platform.h"

#define JOURNAL_FORMAT 1
#define JOURNAL_FIRST_LINE "-- MPCL Lab session journal, format 1"

typedef struct journal {
    int fd;
    int nchunks;
    char path[4096];
} journal;

/* Header facts; platform, data and chip lines are optional (journals before 0.2.0 have no
 * platform lines: its fields are then empty). */
typedef struct journal_header {
    char version[32];
    char date[32];
    long long seed;
    int threads;
    platform where; /* cpu, isa, libraries of the recording */
    int ndata;
    char data[8][320]; /* "fmnist/train-images-idx3-ubyte.gz crc32=1a2b3c4d" */
    char chip[64];     /* "none" or the chip's id */
} journal_header;

/* Fill date (now, UTC), the platform and data (CRC-32 of the data set files that exist). */
void journal_header_fill(journal_header *h, const char *version, long long seed, int threads);

/* Create path (refusing to overwrite) and write the header. Returns 0, or -1 + err. */
int journal_create(journal *j, const char *path, const journal_header *h, char *err,
                   size_t errlen);
/* Append a chunk (code, its result records, its error or NULL) and fsync. */
int journal_append(journal *j, const char *code, const char *const *records, int nrecords,
                   const char *error, char *err, size_t errlen);
/* Append records that arrived after the last chunk (jobs that finished later). */
int journal_append_records(journal *j, const char *const *records, int nrecords, char *err,
                           size_t errlen);
void journal_close(journal *j);

/* A journal read back. Line numbers count from 1. */
typedef struct journal_chunk {
    int number;      /* as its marker says: 1, 2, ... */
    int line;        /* the line of its first code line */
    int code_end;    /* the line of its last non-blank code line */
    char *code;      /* verbatim, lines joined with '\n' */
    int nrecords;
    char **records;  /* "step task=1 ..." (without "--| ") */
    int *record_lines;
    char *error;     /* the recorded failure, or NULL */
    int error_line;
} journal_chunk;

typedef struct journal_doc {
    journal_header header;
    int nchunks;
    journal_chunk *chunks;
} journal_doc;

/* Parse a journal. Malformed input: -1 with "FILE:LINE: problem" in err. */
int journal_parse(const char *path, journal_doc *d, char *err, size_t errlen);
void journal_doc_free(journal_doc *d);

#endif
