/* The lab's MPI module (mpcl-mpi.so, built with mpicc): the few MPI calls a sweep needs,
 * behind a table, so that mpcl itself links no MPI library and starts without one unless
 * mpirun launched it (sweep_wire.c loads the module then). Point-to-point only, on
 * MPI_COMM_WORLD with one tag; written to the MPI standard (Open MPI, MPICH). */
#ifndef MPCL_MPI_MODULE_H
#define MPCL_MPI_MODULE_H

#include <stddef.h>

#define MPCL_MPI_ABI 1

typedef struct mpcl_mpi_api {
    int abi; /* MPCL_MPI_ABI */
    /* MPI_Init; rank and size of MPI_COMM_WORLD. 0, or -1 with a message. */
    int (*init)(int *rank, int *size, char *err, size_t errlen);
    /* Blocking send of len bytes to rank dest: 0 or -1. */
    int (*send)(int dest, const void *buf, int len);
    /* Whether a message waits (MPI_Iprobe): 1 with its source and length, 0, -1 error. */
    int (*probe)(int *src, int *len);
    /* Receive the waiting message of src (len bytes): 0 or -1. */
    int (*recv)(int src, void *buf, int len);
    void (*finalize)(void);
    void (*abort)(int code);
} mpcl_mpi_api;

const mpcl_mpi_api *mpcl_mpi_module(void);

#endif
