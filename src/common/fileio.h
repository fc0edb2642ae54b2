/*
 * Whole-file writes, copies and small reads with the system-call care every caller needs
 * (O_CLOEXEC, EINTR, short writes, an explicit mode whatever the umask): the
 * private files of tether up, the sandbox skeleton's files, the files
 * tether package stages.
 */
#ifndef TETHER_COMMON_FILEIO_H
#define TETHER_COMMON_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/* Writes all n bytes of data to fd, retrying short writes and EINTR. 0, or
 * -1 with errno. */
__attribute__((warn_unused_result)) int fileio_write_all(int fd, const void *data, size_t n);

/* Creates or truncates path with exactly mode (fchmod: not the umask's) and
 * writes data[0..n) to it. 0, or -1 with errno. */
__attribute__((warn_unused_result)) int fileio_write(const char *path, const void *data, size_t n,
                                                     mode_t mode);

/* Appends the whole content of the file src to fd. 0, or -1 with errno. */
__attribute__((warn_unused_result)) int fileio_append_file(int fd, const char *src);

/* Copies src (following links) to dst, created or truncated with exactly
 * mode. 0, or -1 with errno. */
__attribute__((warn_unused_result)) int fileio_copy(const char *src, const char *dst, mode_t mode);

/* Reads up to size - 1 bytes of the file rel (relative to dirfd, or a path
 * with AT_FDCWD) into buf and NUL-terminates it, retrying EINTR: for small
 * control files (/proc, cgroup files). Bytes read, or -1 with errno. */
ssize_t fileio_read_small_at(int dirfd, const char *rel, char *buf, size_t size);

#endif
