/*
 * The admin-uri folder of `tether up` and the `tether admin-uri` command (see
 * admin_uri.h). The folder is found again by name alone (the Invoke API
 * port), so it must be ours: both sides refuse one that another user made or
 * can enter, and a lock tells a live owner from one that died.
 */
#include "platform/admin_uri.h"

#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define ADMIN_URI_MAX     4096 /* the file holds one connection string */
#define ADMIN_DEFAULT_URL "http://127.0.0.1:9000"

int platform_admin_dir_path(int api_port, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "/tmp/tether-up-%lu/%d", (unsigned long)getuid(), api_port);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* 0 when path is a folder (not a link) of ours that no one else can enter;
 * else -1 with errno (EPERM when it is someone else's or open to others). */
static int check_private_dir(const char *path)
{
    struct stat st;
    if (lstat(path, &st) == -1)
        return -1;
    if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077) != 0) {
        errno = EPERM;
        return -1;
    }
    return 0;
}

/* Makes path (0700), or accepts the private folder of ours already there. */
static int make_private_dir(const char *path)
{
    if (mkdir(path, 0700) == 0)
        return 0;
    if (errno != EEXIST)
        return -1;
    return check_private_dir(path);
}

/* Takes dir/lock without waiting: 0 and *lock_fd, or -1 (EWOULDBLOCK: a live
 * owner holds it). */
static int lock_dir(const char *dir, int *lock_fd)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd == -1)
        return -1;
    while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
        if (errno == EINTR)
            continue;
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    *lock_fd = fd;
    return 0;
}

int platform_admin_dir_make(int api_port, char *out, size_t outlen, int *lock_fd)
{
    *lock_fd = -1;
    char base[64];
    snprintf(base, sizeof base, "/tmp/tether-up-%lu", (unsigned long)getuid());
    if (platform_admin_dir_path(api_port, out, outlen) != 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (make_private_dir(base) == 0 && make_private_dir(out) == 0 && lock_dir(out, lock_fd) == 0)
        return 0;
    /* someone else's folder, or a live tether up on this port of another
     * address: a folder of our own that only the log names */
    log_warn("platform", "%s: %s: the admin connection string goes to a folder of its own instead",
             out,
             errno == EWOULDBLOCK ? "in use by another tether up on this port"
             : errno == EPERM     ? "not a private folder of this user's"
                                  : strerror(errno));
    if (outlen < sizeof "/tmp/tether-up.XXXXXX") {
        errno = ENAMETOOLONG;
        return -1;
    }
    snprintf(out, outlen, "/tmp/tether-up.XXXXXX");
    if (mkdtemp(out) == NULL)
        return -1;
    return 0;
}

void platform_admin_dir_remove(const char *dir, int lock_fd)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/admin-uri", dir);
    unlink(path);
    if (lock_fd != -1) {
        /* unlinked while held: a tether up starting on this port now either
         * failed to take it or makes a new one */
        snprintf(path, sizeof path, "%s/lock", dir);
        unlink(path);
    }
    rmdir(dir);
    if (lock_fd != -1)
        close(lock_fd);
}

/* The port of an endpoint URL ("http://127.0.0.1:9001/..."): its explicit
 * port, else 80 or 443 by scheme. -1 when it has none we can read. */
static int endpoint_port(const char *url)
{
    const char *host = strstr(url, "://");
    if (host == NULL)
        return -1;
    int https = strncmp(url, "https", 5) == 0;
    host += 3;
    size_t len = strcspn(host, "/?#");
    const char *colon = NULL;
    for (size_t i = 0; i < len; i++) {
        if (host[i] == ':')
            colon = host + i;
        else if (host[i] == ']')
            colon = NULL; /* the colons of an IPv6 address */
    }
    if (colon == NULL)
        return https ? 443 : 80;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || end != host + len || port < 1 || port > 65535)
        return -1;
    return (int)port;
}

/* When this user has no folder for the port, another user's tether up (one
 * run with sudo, say) may serve it: its folder is one only that user can
 * enter, so name the users who have one. */
static void hint_other_users(void)
{
    glob_t g;
    if (glob("/tmp/tether-up-*", GLOB_NOSORT, NULL, &g) != 0)
        return;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        struct stat st;
        if (lstat(g.gl_pathv[i], &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid != getuid())
            fprintf(stderr,
                    "tether admin-uri: %s is uid %lu's: if that user's tether up serves the "
                    "port, run tether admin-uri as that user (sudo, for root)\n",
                    g.gl_pathv[i], (unsigned long)st.st_uid);
    }
    globfree(&g);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: tether admin-uri [--port PORT | --endpoint URL]\n"
                 "\n"
                 "Prints the admin connection string of the embedded docstore of the tether up\n"
                 "whose Invoke API listens on PORT (default: the port of --endpoint, else of\n"
                 "$TETHER_ENDPOINT, else 9000). tether up writes one when its template gives a\n"
                 "function a Role (the docstore then requires authentication), to a file only\n"
                 "its user can read, removed at exit:\n"
                 "  mongosh \"$(tether admin-uri)\"\n"
                 "exit status: 0 printed, 1 no such tether up, 2 usage\n");
}

int platform_admin_uri_main(int argc, char **argv)
{
    const char *endpoint = getenv("TETHER_ENDPOINT");
    const char *port_arg = NULL;
    if (endpoint == NULL || endpoint[0] == '\0')
        endpoint = ADMIN_DEFAULT_URL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--port") == 0 && i + 1 < argc) {
            port_arg = argv[++i];
        } else if (strncmp(a, "--port=", 7) == 0) {
            port_arg = a + 7;
        } else if (strcmp(a, "--endpoint") == 0 && i + 1 < argc) {
            endpoint = argv[++i];
        } else if (strncmp(a, "--endpoint=", 11) == 0) {
            endpoint = a + 11;
        } else {
            fprintf(stderr, "tether admin-uri: unexpected argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    int port;
    if (port_arg != NULL) {
        char *end;
        long v = strtol(port_arg, &end, 10);
        port = end != port_arg && *end == '\0' && v >= 1 && v <= 65535 ? (int)v : -1;
        if (port < 0) {
            fprintf(stderr, "tether admin-uri: bad --port '%s'\n", port_arg);
            return 2;
        }
    } else if ((port = endpoint_port(endpoint)) < 0) {
        fprintf(stderr, "tether admin-uri: no port in the endpoint '%s'\n", endpoint);
        return 2;
    }

    char dir[PATH_MAX], path[PATH_MAX + 16], text[ADMIN_URI_MAX];
    if (platform_admin_dir_path(port, dir, sizeof dir) != 0)
        return 2;
    snprintf(path, sizeof path, "%s/admin-uri", dir);
    int fd = -1;
    struct stat st;
    if (check_private_dir(dir) == 0)
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd == -1) {
        if (errno == ENOENT) {
            fprintf(stderr,
                    "tether admin-uri: no %s: no tether up serves port %d, or its docstore "
                    "requires no authentication (no function in its template has a Role)\n",
                    path, port);
            hint_other_users();
        } else {
            fprintf(stderr, "tether admin-uri: %s: %s\n", errno == EPERM ? dir : path,
                    errno == EPERM ? "not a private folder of yours" : strerror(errno));
        }
        return 1;
    }
    ssize_t n = -1;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == getuid()) {
        do
            n = read(fd, text, sizeof text);
        while (n == -1 && errno == EINTR);
    }
    close(fd);
    if (n <= 0 || (size_t)n == sizeof text) {
        fprintf(stderr, "tether admin-uri: %s holds no connection string\n", path);
        return 1;
    }
    if (fwrite(text, 1, (size_t)n, stdout) != (size_t)n || fflush(stdout) != 0) {
        fprintf(stderr, "tether admin-uri: writing standard output: %s\n", strerror(errno));
        return 2;
    }
    return 0;
}
