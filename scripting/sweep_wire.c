/* sweep_wire: frames, and the client of the MPI module (sweep_wire.h). */
#include "sweep_wire.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "fileio.h"
#include "mpi/module.h"

/* The header on the wire: six fields, little-endian as the host (both ends are this
 * program on machines of one cluster). */
typedef struct head {
    int32_t kind, index, attempt, status;
    double seconds;
    uint32_t len, magic;
} head;

#define MAGIC 0x4d505357u /* "MPSW" */

size_t sweep_frame_pack(const sweep_frame *f, char **buf)
{
    head h = {f->kind, f->index, f->attempt, f->status, f->seconds, f->text ? f->len : 0,
              MAGIC};
    *buf = malloc(sizeof h + h.len);
    if (!*buf)
        return 0;
    memcpy(*buf, &h, sizeof h);
    if (h.len)
        memcpy(*buf + sizeof h, f->text, h.len);
    return sizeof h + h.len;
}

static int from_head(const head *h, sweep_frame *f)
{
    if (h->magic != MAGIC || h->len > SWEEP_FRAME_MAX || h->kind < SWEEP_READY ||
        h->kind > SWEEP_STOP)
        return -1;
    *f = (sweep_frame){h->kind, h->index, h->attempt, h->status, h->seconds, NULL, h->len};
    f->text = malloc((size_t)h->len + 1);
    if (!f->text)
        return -1;
    f->text[h->len] = '\0';
    return 0;
}

int sweep_frame_unpack(const char *buf, size_t len, sweep_frame *f)
{
    head h;
    if (len < sizeof h)
        return -1;
    memcpy(&h, buf, sizeof h);
    if (len != sizeof h + h.len || from_head(&h, f) < 0)
        return -1;
    memcpy(f->text, buf + sizeof h, h.len);
    return 0;
}

int sweep_frame_write(int fd, const sweep_frame *f)
{
    char *buf;
    size_t n = sweep_frame_pack(f, &buf);
    int rc = n && fileio_write_all(fd, buf, n) == 0 ? 0 : -1;
    free(buf);
    return rc;
}

static int read_all(int fd, void *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

int sweep_frame_read(int fd, sweep_frame *f)
{
    head h;
    if (read_all(fd, &h, sizeof h) < 0 || from_head(&h, f) < 0)
        return -1;
    if (read_all(fd, f->text, h.len) < 0) {
        free(f->text);
        f->text = NULL;
        return -1;
    }
    return 0;
}

/* ---- MPI ----------------------------------------------------------------------------- */

static const mpcl_mpi_api *mpi;
static int mpi_rank, mpi_size = 1;

int sweep_mpi_launched(void)
{
    const char *size = getenv("OMPI_COMM_WORLD_SIZE");
    if (!size)
        size = getenv("PMI_SIZE");
    if (size)
        return atoi(size) > 1;
    return getenv("PMIX_RANK") != NULL;
}

/* The directory of this executable, into buf. */
static int exe_dir(char *buf, size_t n)
{
    ssize_t r = readlink("/proc/self/exe", buf, n - 1);
    if (r <= 0)
        return -1;
    buf[r] = '\0';
    char *slash = strrchr(buf, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    return 0;
}

static void *open_module(char *tried, size_t n)
{
    const char *env = getenv("MPCL_MPI_MODULE");
    char dir[PATH_MAX], path[PATH_MAX + 32];
    tried[0] = '\0';
    if (env && *env) {
        snprintf(tried, n, "%s", env);
        return dlopen(env, RTLD_NOW | RTLD_GLOBAL);
    }
    if (exe_dir(dir, sizeof dir) < 0)
        return NULL;
    /* beside the program; one folder up (a build tree's build/asan/mpcl); installed */
    static const char *const rel[] = {"/mpcl-mpi.so", "/../mpcl-mpi.so", "/../lib/mpcl/mpcl-mpi.so"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s%s", dir, rel[i]);
        snprintf(tried, n, "%s", path);
        if (access(path, R_OK) == 0)
            /* RTLD_GLOBAL: Open MPI's own plugins look for libmpi's symbols globally */
            return dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    }
    return NULL;
}

int sweep_mpi_start(char *err, size_t errlen)
{
    char tried[PATH_MAX + 32];
    void *h = open_module(tried, sizeof tried);
    if (!h) {
        const char *why = dlerror();
        return err_set(err, errlen,
                       "started by mpirun, but the MPI module mpcl-mpi.so cannot be "
                       "loaded (%s: %s; looked beside the program, one folder up and in "
                       "../lib/mpcl/; MPCL_MPI_MODULE names another): make builds it when Open MPI "
                       "is installed (make deps)", tried, why ? why : "not found");
    }
    const mpcl_mpi_api *(*get)(void) = (const mpcl_mpi_api *(*)(void))dlsym(h, "mpcl_mpi_module");
    const mpcl_mpi_api *api = get ? get() : NULL;
    if (!api || api->abi != MPCL_MPI_ABI)
        return err_set(err, errlen, "%s: not an MPI module of this lab (ABI %d expected)", tried,
                       MPCL_MPI_ABI);
    if (api->init(&mpi_rank, &mpi_size, err, errlen) < 0)
        return -1;
    mpi = api;
    return 0;
}

int sweep_mpi_rank(void) { return mpi ? mpi_rank : 0; }
int sweep_mpi_size(void) { return mpi ? mpi_size : 1; }

int sweep_mpi_send(int dest, const sweep_frame *f)
{
    char *buf;
    size_t n = mpi ? sweep_frame_pack(f, &buf) : 0;
    if (!n || n > INT_MAX) {
        if (n)
            free(buf);
        return -1;
    }
    int rc = mpi->send(dest, buf, (int)n);
    free(buf);
    return rc;
}

int sweep_mpi_poll(int *src, sweep_frame *f)
{
    int len;
    if (!mpi)
        return -1;
    int got = mpi->probe(src, &len);
    if (got <= 0)
        return got;
    char *buf = malloc(len > 0 ? (size_t)len : 1);
    if (!buf || mpi->recv(*src, buf, len) < 0) {
        free(buf);
        return -1;
    }
    int rc = sweep_frame_unpack(buf, (size_t)len, f);
    free(buf);
    return rc < 0 ? -1 : 1;
}

void sweep_mpi_stop(int failed)
{
    if (!mpi)
        return;
    if (failed && mpi_size > 1)
        mpi->abort(failed);
    mpi->finalize();
    mpi = NULL;
}
