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

/* ---- writing a file atomically ----------------------------------------------------------
 * fileio_write_atomic(path, ...) leaves path either as it was or wholly replaced, whatever
 * happens (an error, kill -9, a power cut): the bytes go to a temporary file in path's own
 * directory, named PATH.tmp.PID.N (created with O_EXCL, mode 0644 less the umask, or the
 * mode of the file it replaces), which is fsync'd, renamed over path, and the directory
 * fsync'd so that the rename itself is durable. Every error path removes the temporary
 * file. A process killed mid-write cannot remove its own: each later write to the same path
 * first removes the PATH.tmp.PID and PATH.tmp.PID.N files whose process PID no longer
 * exists (a live PID, this process's own included, is left alone: it may be writing). */

/* Writes the file's bytes to fd (with fileio_write_all); returns 0, or -1 with errno set. */
typedef int (*fileio_writer)(int fd, void *ud);

/* Write path atomically with write_fn(fd, ud). Returns 0, or -1 with one line in err:
 * "PATH: cannot create: REASON" (the temporary file), "PATH: cannot write: REASON" (write,
 * fsync or close), "PATH: cannot rename into place: REASON", "PATH: written, but its
 * directory cannot be synced: REASON" (path is then the new file), "PATH: path too long". */
int fileio_write_atomic(const char *path, fileio_writer write_fn, void *ud, char *err,
                        size_t errlen);

/* Create path, which must not exist, with all its first bytes at once: the same temporary
 * file, then link()ed to path (never replacing a file; "PATH: cannot create: File exists"),
 * so that path never exists half-written. Same messages and clean-up as above. */
int fileio_write_new(const char *path, fileio_writer write_fn, void *ud, char *err,
                     size_t errlen);

/* The same for len bytes at data. */
int fileio_write_atomic_buf(const char *path, const void *data, size_t len, char *err,
                            size_t errlen);

/* Write all n bytes at p to fd (retrying short writes and EINTR); 0, or -1 with errno. */
int fileio_write_all(int fd, const void *p, size_t n);

/* Remove the temporary files of earlier writes of path whose process is gone (the rule
 * above). Returns how many were removed. */
int fileio_clean_stale(const char *path);

#endif
