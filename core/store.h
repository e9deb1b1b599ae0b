/* store: the lab's files. One container for every kind of content (nets now; chips and
 * runs later), written so that a crash or a full disk never leaves a half-written file
 * under the real name, and read so that a damaged file is an error message, not a crash.
 *
 * Container (little-endian):
 *   8 bytes  magic "MPCLSTOR"
 *   u32      container version (1)
 *   16 bytes kind, NUL-padded ("net")
 *   u64      payload length in bytes
 *   u32      CRC-32 (zlib's) of the payload
 *   payload
 * Writing: a temporary file beside the target, fsync, rename over the target, fsync of the
 * directory. Reading: every field checked; the length must match the file's. */
#ifndef MPCL_STORE_H
#define MPCL_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "net.h"

#define STORE_VERSION 1
#define STORE_NET_VERSION 1

/* Write payload as a file of the given kind. Returns 0, or -1 with a message in err. */
int store_write(const char *path, const char *kind, const void *payload, size_t len, char *err,
                size_t errlen);
/* Read a file: its kind into kind (16 bytes + NUL) and a malloc'd payload. Returns 0, or -1
 * with a message naming the file and the problem. */
int store_read(const char *path, char kind[17], void **payload, size_t *len, char *err,
               size_t errlen);

/* A net's parameters, statistics and batch-norm banks (no optimiser state, no workspace).
 * Net payload: u32 net version, i32 nlayers, i32 sizes[nlayers+1], i32 binary_input,
 * f32 bn_eps, bn_momentum; per layer f32 wh[out*in], gamma, beta, mean, var [out];
 * i32 nbanks, f32 banks[nbanks * sum(4*out)] (NaN marks a bank never stored). */
int store_save_net(const char *path, const net *n, char *err, size_t errlen);
/* Load into an unallocated net. */
int store_load_net(const char *path, net *n, char *err, size_t errlen);
/* Decode a net payload (from store_read). */
int store_net_decode(const void *payload, size_t len, net *n, char *err, size_t errlen);

#endif
