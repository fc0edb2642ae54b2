/* Whole-file writes and copies (see fileio.h). */
#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int fileio_write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w == -1 && errno == EINTR)
            continue;
        if (w == -1)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Opens path for writing, created or truncated, with exactly mode. */
static int fileio_create(const char *path, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd == -1)
        return -1;
    if (fchmod(fd, mode) == -1) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Closes fd after an operation that returned rc; the first error wins. */
static int fileio_finish(int fd, int rc)
{
    int e = errno;
    if (close(fd) == -1 && rc == 0)
        return -1;
    errno = e;
    return rc;
}

int fileio_write(const char *path, const void *data, size_t n, mode_t mode)
{
    int fd = fileio_create(path, mode);
    if (fd == -1)
        return -1;
    return fileio_finish(fd, fileio_write_all(fd, data, n));
}

int fileio_append_file(int fd, const char *src)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in == -1)
        return -1;
    char chunk[65536];
    int rc = 0;
    for (;;) {
        ssize_t n = read(in, chunk, sizeof chunk);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n == 0 ? 0 : -1;
            break;
        }
        if (fileio_write_all(fd, chunk, (size_t)n) != 0) {
            rc = -1;
            break;
        }
    }
    return fileio_finish(in, rc);
}

int fileio_copy(const char *src, const char *dst, mode_t mode)
{
    int fd = fileio_create(dst, mode);
    if (fd == -1)
        return -1;
    return fileio_finish(fd, fileio_append_file(fd, src));
}

ssize_t fileio_read_small_at(int dirfd, const char *rel, char *buf, size_t size)
{
    int fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return -1;
    size_t len = 0;
    while (len + 1 < size) {
        ssize_t n = read(fd, buf + len, size - 1 - len);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    return (ssize_t)len;
}
