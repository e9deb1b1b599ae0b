#include "fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

const char *fileio_kind(unsigned mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

int fileio_open_regular(const char *path, char *err, size_t errlen)
{
    /* O_NONBLOCK: opening a FIFO with no writer would otherwise wait for one. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return err_set(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        err_format(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(err, errlen, "%s: not a regular file (%s)", path, fileio_kind(st.st_mode));
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        err_format(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

FILE *fileio_fopen_regular(const char *path, char *err, size_t errlen)
{
    int fd = fileio_open_regular(path, err, errlen);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        err_format(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

char *fileio_printable(char *dst, size_t n, const char *src, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (n == 0)
        return dst;
    for (size_t i = 0; i < len && src[i]; i++) {
        unsigned char ch = (unsigned char)src[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
            if (o + 1 >= n)
                break;
            dst[o++] = (char)ch;
        } else {
            if (o + 4 >= n)
                break;
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[ch >> 4];
            dst[o++] = hex[ch & 15];
        }
    }
    dst[o] = '\0';
    return dst;
}

/* ---- writing a file atomically --------------------------------------------------------- */

int fileio_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* path's directory (".") and base name, into dir and base (each 4096 bytes). */
static void split_path(const char *path, char *dir, char *base)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, 4096, ".");
        snprintf(base, 4096, "%s", path);
    } else {
        snprintf(dir, 4096, "%.*s", slash == path ? 1 : (int)(slash - path), path);
        snprintf(base, 4096, "%s", slash + 1);
    }
}

/* The PID in a temporary file's name "BASE.tmp.PID" or "BASE.tmp.PID.N", or -1 when name
 * is not one of base's. */
static long temp_pid(const char *name, const char *base)
{
    size_t n = strlen(base);
    if (strncmp(name, base, n) || strncmp(name + n, ".tmp.", 5))
        return -1;
    const char *p = name + n + 5;
    char *end;
    if (*p < '0' || *p > '9')
        return -1;
    long pid = strtol(p, &end, 10);
    if (*end == '.') {
        const char *q = end + 1;
        if (*q < '0' || *q > '9')
            return -1;
        strtol(q, &end, 10);
    }
    return *end || pid <= 0 ? -1 : pid;
}

int fileio_clean_stale(const char *path)
{
    char dir[4096], base[4096], full[8200];
    split_path(path, dir, base);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        long pid = temp_pid(e->d_name, base);
        /* kill(pid, 0): ESRCH means no such process; EPERM means one that is alive */
        if (pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        snprintf(full, sizeof full, "%s/%s", dir, e->d_name);
        removed += unlink(full) == 0;
    }
    closedir(d);
    return removed;
}

/* Create a fresh temporary file for path (its name into tmp); the descriptor, or -1 + err. */
static int create_temp(const char *path, char *tmp, size_t tmplen, char *err, size_t errlen)
{
    static atomic_uint seq; /* threads of this process each get their own name */
    for (int tries = 0; tries < 100; tries++) {
        unsigned n = atomic_fetch_add(&seq, 1);
        if (snprintf(tmp, tmplen, "%s.tmp.%ld.%u", path, (long)getpid(), n) >= (int)tmplen)
            return err_set(err, errlen, "%s: path too long", path);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd >= 0 || errno != EEXIST) {
            if (fd < 0)
                err_format(err, errlen, "%s: cannot create: %s", path, strerror(errno));
            return fd;
        }
    }
    return err_set(err, errlen, "%s: cannot create: too many temporary files", path);
}

/* fsync path's directory, so that a rename in it is on disk. 0, or -1 with errno. */
static int sync_dir(const char *path)
{
    char dir[4096], base[4096];
    split_path(path, dir, base);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -1;
    /* EINVAL: a file system that cannot sync directories; nothing more can be done */
    int rc = fsync(dfd) < 0 && errno != EINVAL ? -1 : 0;
    int saved = errno;
    close(dfd);
    errno = saved;
    return rc;
}

/* Write fd's content with write_fn, fsync and close it (closed whatever happens): 0, or -1
 * with errno saying why. */
static int fill_and_close(int fd, fileio_writer write_fn, void *ud)
{
    if (write_fn(fd, ud) < 0 || fsync(fd) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return close(fd);
}

/* A complete temporary file for path (its name into tmp, 4096 bytes): created, given
 * mode_of's mode when that is a regular file, written by write_fn, fsync'd, closed. Returns
 * 0, or -1 with err (the temporary file removed). */
static int write_temp(const char *path, char *tmp, const char *mode_of, fileio_writer write_fn,
                      void *ud, char *err, size_t errlen)
{
    struct stat old;
    fileio_clean_stale(path);
    int fd = create_temp(path, tmp, 4096, err, errlen);
    if (fd < 0)
        return -1;
    int keep_mode = mode_of && stat(mode_of, &old) == 0 && S_ISREG(old.st_mode);
    if (keep_mode && fchmod(fd, old.st_mode & 07777) < 0) {
        err_format(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    if (fill_and_close(fd, write_fn, ud) < 0) {
        err_format(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* The new name of path made durable: its directory synced. 0, or -1 with err. */
static int synced(const char *path, char *err, size_t errlen)
{
    if (sync_dir(path) < 0)
        return err_set(err, errlen, "%s: written, but its directory cannot be synced: %s", path,
                       strerror(errno));
    return 0;
}

int fileio_write_atomic(const char *path, fileio_writer write_fn, void *ud, char *err,
                        size_t errlen)
{
    char tmp[4096];
    if (write_temp(path, tmp, path, write_fn, ud, err, errlen) < 0)
        return -1;
    if (rename(tmp, path) < 0) {
        err_format(err, errlen, "%s: cannot rename into place: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return synced(path, err, errlen);
}

/* Where link() is refused: create path with O_EXCL and write it (removed if that fails).
 * Returns 0, or -1 with the reason in *saved. */
static int create_plain(const char *path, fileio_writer write_fn, void *ud, int *saved)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        *saved = errno;
        return -1;
    }
    if (fill_and_close(fd, write_fn, ud) < 0) {
        *saved = errno;
        unlink(path);
        return -1;
    }
    return 0;
}

int fileio_write_new(const char *path, fileio_writer write_fn, void *ud, char *err,
                     size_t errlen)
{
    char tmp[4096];
    if (write_temp(path, tmp, NULL, write_fn, ud, err, errlen) < 0)
        return -1;
    /* link() never replaces path; a file system without hard links gets a plain create */
    int rc = link(tmp, path), saved = errno;
    unlink(tmp);
    if (rc < 0 && (saved == EPERM || saved == EOPNOTSUPP))
        rc = create_plain(path, write_fn, ud, &saved);
    if (rc < 0)
        return err_set(err, errlen, "%s: cannot create: %s", path, strerror(saved));
    return synced(path, err, errlen);
}

typedef struct bytes {
    const void *p;
    size_t n;
} bytes;

static int write_bytes(int fd, void *ud)
{
    const bytes *b = ud;
    return fileio_write_all(fd, b->p, b->n);
}

int fileio_write_atomic_buf(const char *path, const void *data, size_t len, char *err,
                            size_t errlen)
{
    bytes b = {data, len};
    return fileio_write_atomic(path, write_bytes, &b, err, errlen);
}
