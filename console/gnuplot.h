/* gnuplot: a figure rendered to a PNG by gnuplot's pngcairo terminal, and the PNG's text
 * chunks.
 *
 * A figure goes: gnuplot_begin (the destination checked by making the temporary PNG beside
 * it, the script's temporary file made in $TMPDIR or /tmp, its terminal and output lines
 * written), the caller writes the commands and inline data into f.gp, gnuplot_finish runs
 * gnuplot on the script (found on PATH; its own stdin /dev/null, stdout /dev/null, stderr a
 * temporary file, a session of its own so that it never sees the console's terminal), checks
 * the PNG, inserts tEXt chunks (Title, Description, Software) after IHDR and renames it into
 * place. A failure leaves no half file and never touches an older file of that name; every
 * temporary file is removed on every path. Errors are one line naming the thing:
 *   "cannot write 'nodir/x.png': No such file or directory"
 *   "gnuplot failed on the map: <its first error line>"
 *   "gnuplot not found on PATH (apt-get install gnuplot-nox)" */
#ifndef MPCL_GNUPLOT_H
#define MPCL_GNUPLOT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct gnuplot_fig {
    FILE *gp;                 /* the script: the caller writes after the terminal lines */
    char script[PATH_MAX];    /* its temporary file */
    char png[PATH_MAX];       /* the temporary PNG beside the destination */
    char dest[PATH_MAX];
    char exe[PATH_MAX];       /* gnuplot, found on PATH */
} gnuplot_fig;

/* Find gnuplot on PATH into out: 0, or -1 with the "not found" message. */
int gnuplot_find(char *out, size_t len, char *err, size_t errlen);

/* Start a figure of width x height pixels, text of font points (0: scaled to the width),
 * for dest. 0, or -1 (nothing left behind). */
int gnuplot_begin(gnuplot_fig *f, const char *dest, int width, int height, int font,
                  char *err, size_t errlen);

/* Run gnuplot on the figure, check the PNG, add the text chunks (NULL values left out) and
 * move it to its destination. what names the figure in errors ("the map"). 0, or -1. The
 * figure's temporary files are gone either way. */
int gnuplot_finish(gnuplot_fig *f, const char *what, const char *title, const char *description,
                   char *err, size_t errlen);

/* Give the figure up: its temporary files removed. */
void gnuplot_abort(gnuplot_fig *f);

/* A string in double quotes for a gnuplot script, with " and \ escaped and control bytes
 * left out. */
void gnuplot_quote(FILE *gp, const char *s);

/* ---- PNG --------------------------------------------------------------------------------- */

/* The CRC-32 of PNG chunks (ISO 3309, as zlib's crc32) of n bytes, continuing from crc (0 to
 * start). */
uint32_t png_crc32(uint32_t crc, const void *buf, size_t n);

/* Insert n tEXt chunks (keys[i], values[i]: Latin-1 keywords of 1-79 bytes; bytes outside
 * printable ASCII in values become '?') after the IHDR chunk of the PNG file at path,
 * rewriting it. The signature and IHDR (its length and CRC) are checked first: -1 with
 * "'path' is not a PNG ..." when they are wrong. 0, or -1. */
int png_add_text(const char *path, int n, const char *const *keys, const char *const *values,
                 char *err, size_t errlen);

/* The width and height in a PNG's IHDR: 0, or -1 when path is not a PNG. */
int png_size(const char *path, int *width, int *height, char *err, size_t errlen);

#endif
