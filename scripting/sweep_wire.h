/* sweep_wire: what a sweep's master and its workers say to each other, whatever carries it
 * (a socket pair to a forked worker process, or MPI between ranks).
 *   worker -> master  READY                       (at start)
 *   master -> worker  RUN index attempt | STOP
 *   worker -> master  DONE index attempt status seconds text
 * status: SWEEP_OK (text: the result as JSON), SWEEP_ERROR (text: run's error message),
 * SWEEP_FATAL (text: why the sweep cannot go on, e.g. a result that is not JSON). */
#ifndef MPCL_SWEEP_WIRE_H
#define MPCL_SWEEP_WIRE_H

#include <stddef.h>
#include <stdint.h>

enum { SWEEP_READY = 1, SWEEP_RUN, SWEEP_DONE, SWEEP_STOP };
enum { SWEEP_OK = 0, SWEEP_ERROR, SWEEP_FATAL };

#define SWEEP_FRAME_MAX (1u << 30)

typedef struct sweep_frame {
    int32_t kind, index, attempt, status;
    double seconds;
    char *text; /* NUL-terminated (malloc'd by the readers), or NULL */
    uint32_t len;
} sweep_frame;

/* One frame as bytes (malloc'd into *buf): the header, then text. Returns the size, 0 on
 * out of memory. */
size_t sweep_frame_pack(const sweep_frame *f, char **buf);
/* Parse bytes into f (text malloc'd): 0, or -1 when they are not a frame. */
int sweep_frame_unpack(const char *buf, size_t len, sweep_frame *f);

/* Blocking frame I/O over a stream (EINTR retried): 0, or -1 (end of file, error, a bad
 * frame). */
int sweep_frame_write(int fd, const sweep_frame *f);
int sweep_frame_read(int fd, sweep_frame *f);

/* ---- MPI (a module loaded only when mpirun started this process) ---------------------- */

/* Whether an MPI launcher started this process with more than one rank (its environment:
 * OMPI_COMM_WORLD_SIZE, PMI_SIZE, or PMIX_RANK). */
int sweep_mpi_launched(void);
/* Load mpcl-mpi.so ($MPCL_MPI_MODULE, else beside the executable, else ../lib/mpcl/) and
 * call MPI_Init. 0, or -1 with a message. */
int sweep_mpi_start(char *err, size_t errlen);
/* Rank and size: 0 and 1 when MPI is not started. */
int sweep_mpi_rank(void);
int sweep_mpi_size(void);
/* Send a frame to rank dest (blocking); 0 or -1. */
int sweep_mpi_send(int dest, const sweep_frame *f);
/* A frame from any rank if one is waiting: 1 (f, *src set), 0 none, -1 error. */
int sweep_mpi_poll(int *src, sweep_frame *f);
/* MPI_Finalize (failed = 0) or MPI_Abort (the job ends; failed is the exit code). */
void sweep_mpi_stop(int failed);

#endif
