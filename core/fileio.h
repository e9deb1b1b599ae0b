/* fileio: opening files a user was handed, safely. A path names whatever it names: a FIFO
 * (an open for reading would block until a writer comes, forever), a device, a directory.
 * The lab reads only regular files, and says so in one line when a path is anything else.
 * Error messages never copy raw bytes from a file: fileio_printable makes them safe for a
 * terminal. */
#ifndef MPCL_FILEIO_H
#define MPCL_FILEIO_H

#include <stddef.h>
#include <stdio.h>

/* Open path read-only if it is a regular file; returns a descriptor (close-on-exec,
 * blocking) or -1 with "PATH: cannot open: REASON" or "PATH: not a regular file (a FIFO)"
 * in err. The open itself never blocks (O_NONBLOCK, cleared after the check). */
int fileio_open_regular(const char *path, char *err, size_t errlen);

/* The same as a stdio stream ("rb"); NULL with err set. */
FILE *fileio_fopen_regular(const char *path, char *err, size_t errlen);

/* What kind of file st_mode is, for messages: "a FIFO", "a directory", ... */
const char *fileio_kind(unsigned mode);

/* Copy at most len bytes of src into dst (size n, always terminated) for a message: printable
 * ASCII kept, every other byte as \xNN, so invalid UTF-8 or escape codes from a file never
 * reach the terminal raw. Returns dst. */
char *fileio_printable(char *dst, size_t n, const char *src, size_t len);

#endif
