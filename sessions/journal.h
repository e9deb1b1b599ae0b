/* journal: a session as a Lua file. Every chunk that ran in the REPL is appended verbatim
 * (as it was loaded: "=x" and bare expressions as "return x"), so the file runs with any
 * Lua that has the lab. Format 2 (written since 0.3.0):
 *
 *   -- MPCL Lab session journal, format 2
 *   -- version: 0.3.0
 *   -- date: 2026-11-28T23:40:00Z
 *   -- seed: 1
 *   -- threads: 2
 *   -- cpu: AMD EPYC 9B45 128-Core Processor
 *   -- isa: avx512
 *   -- libraries: glibc 2.36, zlib 1.2.13, Lua 5.4.4
 *   -- data: fmnist/train-images-idx3-ubyte.gz crc32=1a2b3c4d
 *   -- chip: none
 *   -- Replay: mpcl --replay FILE [--step] [--verify] [--trust]
 *
 *   -- [chunk 1] 2026-11-28T23:40:05Z code=32 results=0
 *   do
 *   exp = lab.experiment{epochs = 2}
 *   end
 *
 *   -- [chunk 2] 2026-11-28T23:40:09Z code=17 results=2
 *   do
 *   return exp:step()
 *   end
 *   --| step task=1 average=0.987100 acc=0.987100 switch_rate=0.012345 epochs=2
 *   --! stdin:1: attempt to index a nil value (global 'x')      (a chunk that failed)
 *   -- [after chunk 2] results=1          (results of jobs that ended after the last chunk)
 *   --| learn task=2 epochs=2 val_acc=0.981000 switch_rate=0.010000 switch_any=0.020000
 *
 * Each chunk sits in do ... end: a chunk may end in `return`, which Lua allows only at the
 * end of a block, and its locals end with it, as in the REPL. code=BYTES is the exact length
 * of the code between "do\n" and "\nend\n", so the code is read by its length, never by
 * what its lines say: a long string holding "--|" or "-- [chunk 7]" lines, CR, invalid
 * UTF-8 or very long lines come back byte for byte. results=K counts the "--|" lines (the
 * results the lab produced, in order) and the "--!" line (the first line of the chunk's
 * error) that follow; in them a backslash, CR, LF and other control bytes are written
 * \\, \r, \n, \xNN (lab results never hold any), so each is one line and reads back exactly.
 *
 * Format 1 (before 0.3.0) is read as it was: no code= and results= on the marker, the code
 * is every line up to the results or the next marker, then cut at its last line "end";
 * results are literal. Its code could not hold lines that look like markers or results.
 *
 * Writing: one write and an fsync per chunk, so a crash loses at most the chunk in flight.
 * A journal cut anywhere (kill -9 or a power cut during an append) reads up to its last
 * complete chunk; journal_doc.cut says where it was cut. */
#ifndef MPCL_JOURNAL_H
#define MPCL_JOURNAL_H

#include <stddef.h>

#include "platform.h"

#define JOURNAL_FORMAT 2 /* written; formats 1 and 2 are read */
#define JOURNAL_FIRST_LINE "-- MPCL Lab session journal, format 2"

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
    char when[64];   /* the marker's time stamp */
} journal_chunk;

typedef struct journal_doc {
    journal_header header;
    int format; /* 1 or 2, as line 1 says */
    int nchunks;
    journal_chunk *chunks;
    /* A journal whose last append was interrupted: cut_line > 0 (the line where the cut
     * part starts), cut_chunk the chunk that was cut (0: the header or the results after
     * the last chunk), and cut the one-line warning "FILE:LINE: journal cut inside chunk
     * 4 (the recording was interrupted): chunks 1-3 are read, the rest is dropped". The
     * doc then holds the complete chunks before it. Else cut_line = 0 and cut is "". */
    int cut_line, cut_chunk;
    char cut[600];
} journal_doc;

/* Parse a journal (a regular file). Malformed input: -1 with "FILE:LINE: problem" in err
 * (d is then empty). A cut journal is not malformed: 0, with d->cut set. */
int journal_parse(const char *path, journal_doc *d, char *err, size_t errlen);
/* The same from memory: len bytes at buf, name for the messages. */
int journal_parse_buffer(const char *name, const char *buf, size_t len, journal_doc *d,
                         char *err, size_t errlen);
void journal_doc_free(journal_doc *d);

/* d as a format 2 journal, as the writer writes it (header, then each chunk with its
 * results and error), in a malloc'd buffer (*len bytes, NUL-terminated); NULL when out of
 * memory. Parsing it gives d back (code, results, errors, header fields). */
char *journal_render(const journal_doc *d, size_t *len);

/* The recorded results as one stream over all chunks, as --verify compares them: start with
 * a zeroed cursor; each call returns the next result (its journal line in *line) or NULL
 * after the last. */
typedef struct journal_cursor {
    int chunk, rec;
} journal_cursor;
const char *journal_next_result(const journal_doc *d, journal_cursor *c, int *line);

#endif
