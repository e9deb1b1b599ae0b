/* mpcl-mpi.so: the MPI calls of a sweep (module.h). */
#include "module.h"

#include <mpi.h>
#include <stdio.h>

#define TAG 7153

static int init(int *rank, int *size, char *err, size_t errlen)
{
    int ok = 0;
    MPI_Initialized(&ok);
    if (!ok && MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        snprintf(err, errlen, "MPI_Init failed");
        return -1;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
    return 0;
}

static int send_bytes(int dest, const void *buf, int len)
{
    return MPI_Send(buf, len, MPI_BYTE, dest, TAG, MPI_COMM_WORLD) == MPI_SUCCESS ? 0 : -1;
}

static int probe(int *src, int *len)
{
    int flag = 0;
    MPI_Status st;
    if (MPI_Iprobe(MPI_ANY_SOURCE, TAG, MPI_COMM_WORLD, &flag, &st) != MPI_SUCCESS)
        return -1;
    if (!flag)
        return 0;
    *src = st.MPI_SOURCE;
    return MPI_Get_count(&st, MPI_BYTE, len) == MPI_SUCCESS ? 1 : -1;
}

static int recv_bytes(int src, void *buf, int len)
{
    return MPI_Recv(buf, len, MPI_BYTE, src, TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE) ==
                   MPI_SUCCESS
               ? 0
               : -1;
}

static void finalize(void) { MPI_Finalize(); }
static void abort_job(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

const mpcl_mpi_api *mpcl_mpi_module(void)
{
    static const mpcl_mpi_api api = {MPCL_MPI_ABI, init, send_bytes, probe, recv_bytes,
                                     finalize, abort_job};
    return &api;
}
