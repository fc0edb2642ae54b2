/*
 * Zips named by CodeUri: checked from their central directory, unpacked once
 * by Debian's unzip into a private folder, removed at exit (see codezip.h).
 */
#include "platform/codezip.h"

#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CODEZIP_MAX 256 /* distinct zips per template */
#define LOG_WHO     "platform zip"

/* Zip record signatures (little-endian "PK\x05\x06" and friends). */
#define SIG_EOCD    0x06054b50u /* end of central directory */
#define SIG_EOCD64  0x06064b50u /* zip64 end of central directory */
#define SIG_LOC64   0x07064b50u /* zip64 end of central directory locator */
#define SIG_CENTRAL 0x02014b50u /* central directory file header */
#define EOCD_LEN    22
#define CENTRAL_LEN 46
#define ZIP_MADE_UNIX                                                                              \
    3 /* "version made by" high byte: the external attributes hold a Unix mode                     \
       */

typedef struct unpacked {
    dev_t dev; /* the zip file's identity: the same zip named twice is unpacked once */
    ino_t ino;
    char *dir; /* where it is */
} unpacked_t;

struct platform_codezip {
    char dir[PATH_MAX]; /* the private folder */
    unpacked_t zips[CODEZIP_MAX];
    size_t n;
};

static uint16_t rd16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t rd64(const unsigned char *p)
{
    return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}

/* 0 when name stays inside the folder it is unpacked in. */
static int name_ok(const char *name, size_t len, const char **why)
{
    if (len == 0) {
        *why = "an empty name";
        return -1;
    }
    if (name[0] == '/') {
        *why = "an absolute path";
        return -1;
    }
    if (memchr(name, '\0', len) != NULL || memchr(name, '\\', len) != NULL) {
        *why = "a NUL or backslash in its name";
        return -1;
    }
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && name[j] != '/')
            j++;
        if (j - i == 2 && name[i] == '.' && name[i + 1] == '.') {
            *why = "a '..' component (it would land outside the code folder)";
            return -1;
        }
        i = j + 1;
    }
    return 0;
}

/* A symbolic link entry: made on Unix with S_IFLNK in its mode. */
static int is_link(uint16_t made_by, uint32_t ext)
{
    return (made_by >> 8) == ZIP_MADE_UNIX && ((ext >> 16) & 0170000) == 0120000;
}

typedef struct zname {
    const char *s;
    size_t len;
} zname_t;

static int zname_cmp(const void *a, const void *b)
{
    const zname_t *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/* Refuses an entry that lies under a link of the same zip ("a" -> /etc, then
 * "a/x"): unzip would write it through the link, outside the folder. The
 * central directory at cd (entries of them) was checked already. */
static int check_links(const unsigned char *cd, uint64_t entries, uint64_t links, char *err,
                       size_t errlen)
{
    zname_t *v = calloc((size_t)links, sizeof *v);
    if (v == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t n = 0;
    const unsigned char *p = cd;
    for (uint64_t k = 0; k < entries; k++) {
        size_t name_len = rd16(p + 28), skip = CENTRAL_LEN + name_len + rd16(p + 30) + rd16(p + 32);
        if (is_link(rd16(p + 4), rd32(p + 38)) && n < links)
            v[n++] = (zname_t){(const char *)p + CENTRAL_LEN, name_len};
        p += skip;
    }
    qsort(v, n, sizeof *v, zname_cmp);
    int rc = 0;
    p = cd;
    for (uint64_t k = 0; k < entries && rc == 0; k++) {
        const char *name = (const char *)p + CENTRAL_LEN;
        size_t name_len = rd16(p + 28);
        for (size_t i = 1; i < name_len && rc == 0; i++) {
            if (name[i] != '/')
                continue;
            zname_t key = {name, i}; /* each folder on the entry's path */
            zname_t *hit = bsearch(&key, v, n, sizeof *v, zname_cmp);
            if (hit != NULL) {
                snprintf(err, errlen, "entry '%.*s' lies under '%.*s', a link in the same zip",
                         (int)(name_len > 200 ? 200 : name_len), name, (int)i, name);
                rc = -1;
            }
        }
        p += CENTRAL_LEN + name_len + rd16(p + 30) + rd16(p + 32);
    }
    free(v);
    return rc;
}

int platform_codezip_scan_mem(const unsigned char *data, size_t size, uint64_t max_unzipped,
                              platform_zip_summary_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (size < EOCD_LEN) {
        snprintf(err, errlen, "not a zip file (too short)");
        return -1;
    }
    /* The end record is in the last 22 + 65535 (comment) bytes; search backwards. */
    size_t lo = size > EOCD_LEN + 65535 ? size - EOCD_LEN - 65535 : 0;
    size_t eocd = SIZE_MAX;
    for (size_t i = size - EOCD_LEN + 1; i-- > lo;) {
        if (rd32(data + i) == SIG_EOCD && i + EOCD_LEN + rd16(data + i + 20) <= size) {
            eocd = i;
            break;
        }
    }
    if (eocd == SIZE_MAX) {
        snprintf(err, errlen, "not a zip file (no end of central directory record)");
        return -1;
    }
    uint64_t entries = rd16(data + eocd + 10);
    uint64_t cd_size = rd32(data + eocd + 12);
    uint64_t cd_off = rd32(data + eocd + 16);
    if ((entries == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu) && eocd >= 20 &&
        rd32(data + eocd - 20) == SIG_LOC64) {
        uint64_t off64 = rd64(data + eocd - 20 + 8);
        if (off64 > size || size - off64 < 56 || rd32(data + off64) != SIG_EOCD64) {
            snprintf(err, errlen, "corrupt zip (bad zip64 end record)");
            return -1;
        }
        entries = rd64(data + off64 + 32);
        cd_size = rd64(data + off64 + 40);
        cd_off = rd64(data + off64 + 48);
    }
    if (cd_off > size || cd_size > size - cd_off) {
        snprintf(err, errlen, "corrupt zip (central directory outside the file)");
        return -1;
    }
    const unsigned char *p = data + cd_off, *end = p + cd_size;
    uint64_t total = 0, links = 0;
    for (uint64_t k = 0; k < entries; k++) {
        if ((size_t)(end - p) < CENTRAL_LEN || rd32(p) != SIG_CENTRAL) {
            snprintf(err, errlen, "corrupt zip (central directory entry %llu)",
                     (unsigned long long)k + 1);
            return -1;
        }
        uint16_t made_by = rd16(p + 4);
        uint64_t usize = rd32(p + 24);
        size_t name_len = rd16(p + 28), extra_len = rd16(p + 30), comment_len = rd16(p + 32);
        uint32_t ext = rd32(p + 38);
        if ((size_t)(end - p) - CENTRAL_LEN < name_len + extra_len + comment_len) {
            snprintf(err, errlen, "corrupt zip (central directory entry %llu)",
                     (unsigned long long)k + 1);
            return -1;
        }
        const char *name = (const char *)p + CENTRAL_LEN;
        const unsigned char *x = p + CENTRAL_LEN + name_len, *xend = x + extra_len;
        if (usize == 0xffffffffu) { /* the real size is in the zip64 extra field */
            while (xend - x >= 4) {
                uint16_t id = rd16(x), len = rd16(x + 2);
                if ((size_t)(xend - x) - 4 < len)
                    break;
                if (id == 0x0001 && len >= 8) {
                    usize = rd64(x + 4);
                    break;
                }
                x += 4 + len;
            }
        }
        const char *why = NULL;
        if (name_ok(name, name_len, &why) != 0) {
            snprintf(err, errlen, "entry '%.*s' has %s", (int)(name_len > 200 ? 200 : name_len),
                     name, why);
            return -1;
        }
        total += usize;
        if (usize > max_unzipped || total > max_unzipped) {
            snprintf(err, errlen,
                     "unzipped, it holds more than %llu bytes (AWS Lambda's 250 MB limit on "
                     "unzipped code)",
                     (unsigned long long)max_unzipped);
            return -1;
        }
        if (is_link(made_by, ext))
            links++;
        if (name_len == 9 && memcmp(name, "bootstrap", 9) == 0) {
            out->has_bootstrap = 1;
            out->bootstrap_exec = (made_by >> 8) == ZIP_MADE_UNIX && ((ext >> 16) & 0111) != 0;
        }
        p += CENTRAL_LEN + name_len + extra_len + comment_len;
    }
    if (p != end) { /* entries the end record does not count: unzip would still see them */
        snprintf(err, errlen, "corrupt zip (the central directory holds more than %llu entries)",
                 (unsigned long long)entries);
        return -1;
    }
    if (links > 0 && check_links(data + cd_off, entries, links, err, errlen) != 0)
        return -1;
    out->entries = entries;
    out->unzipped_bytes = total;
    return 0;
}

int platform_codezip_scan(const char *path, uint64_t max_unzipped, platform_zip_summary_t *out,
                          char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a file", path);
        close(fd);
        return -1;
    }
    if (st.st_size == 0) {
        snprintf(err, errlen, "%s: not a zip file (empty)", path);
        close(fd);
        return -1;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        snprintf(err, errlen, "%s: mmap: %s", path, strerror(errno));
        return -1;
    }
    char why[400];
    int rc = platform_codezip_scan_mem(map, (size_t)st.st_size, max_unzipped, out, why, sizeof why);
    munmap(map, (size_t)st.st_size);
    if (rc != 0)
        snprintf(err, errlen, "%s: %s", path, why);
    return rc;
}

int platform_codezip_new(platform_codezip_t **out, char *err, size_t errlen)
{
    platform_codezip_t *z = calloc(1, sizeof *z);
    if (z == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || tmp[0] != '/')
        tmp = "/tmp";
    if (snprintf(z->dir, sizeof z->dir, "%s/tether-code.XXXXXX", tmp) >= (int)sizeof z->dir ||
        mkdtemp(z->dir) == NULL) {
        snprintf(err, errlen, "cannot make a private folder for unpacked zips in %s: %s", tmp,
                 strerror(errno));
        free(z);
        return -1;
    }
    *out = z;
    return 0;
}

const char *platform_codezip_dir(const platform_codezip_t *z)
{
    return z->dir;
}

/* nftw callbacks: the walk is single-threaded and not re-entered. */
static uint64_t walk_bytes;

static int sum_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (type == FTW_F && S_ISREG(st->st_mode))
        walk_bytes += (uint64_t)st->st_size;
    return 0;
}

static int unlock_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    if (type == FTW_D && (st->st_mode & 0700) != 0700)
        chmod(path, (st->st_mode & 07777) | 0700); /* a read-only folder from the zip */
    return 0;
}

static int remove_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    if (remove(path) == -1 && errno != ENOENT)
        log_warn(LOG_WHO, "cannot remove %s: %s", path, strerror(errno));
    return 0;
}

/* Removes path and everything under it, never following a link. */
static void remove_tree(const char *path)
{
    nftw(path, unlock_cb, 16, FTW_PHYS);
    nftw(path, remove_cb, 16, FTW_PHYS | FTW_DEPTH);
}

void platform_codezip_free(platform_codezip_t *z)
{
    if (z == NULL)
        return;
    for (size_t i = 0; i < z->n; i++)
        free(z->zips[i].dir);
    remove_tree(z->dir);
    free(z);
}

/* Runs `unzip -qq -o ZIP -d DIR` with stdin on /dev/null and its messages on
 * our stderr; 0 when it exited 0. */
static int run_unzip(const char *zip, const char *dir, char *err, size_t errlen)
{
    int ep[2]; /* exec-error pipe: the child writes errno if exec fails */
    if (pipe2(ep, O_CLOEXEC) == -1) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull == -1) {
        snprintf(err, errlen, "/dev/null: %s", strerror(errno));
        close(ep[0]);
        close(ep[1]);
        return -1;
    }
    static char a0[] = "unzip", a1[] = "-qq", a2[] = "-o", a4[] = "-d";
    char *argv[] = {a0, a1, a2, (char *)(uintptr_t)zip, a4, (char *)(uintptr_t)dir, NULL};
    pid_t pid = fork();
    if (pid == -1) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(ep[0]);
        close(ep[1]);
        close(devnull);
        return -1;
    }
    if (pid == 0) {
        /* folders the zip does not list get 0755 whatever tether up's umask:
         * an isolated instance runs as another user and must enter them */
        umask(022);
        if (dup2(devnull, 0) != -1 && dup2(2, 1) != -1)
            execvp("unzip", argv);
        int e = errno;
        ssize_t w;
        do {
            w = write(ep[1], &e, sizeof e);
        } while (w == -1 && errno == EINTR);
        _exit(127);
    }
    close(ep[1]);
    close(devnull);
    int e = 0;
    ssize_t r;
    do {
        r = read(ep[0], &e, sizeof e);
    } while (r == -1 && errno == EINTR);
    close(ep[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) == -1 && errno == EINTR) {
    }
    if (r == (ssize_t)sizeof e) {
        snprintf(err, errlen, "cannot run unzip: %s%s", strerror(e),
                 e == ENOENT ? " (install Debian's unzip: apt-get install unzip)" : "");
        return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(err, errlen, "unzip failed (exit status %d; its messages are above)",
                 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        return -1;
    }
    return 0;
}

int platform_codezip_unpack(platform_codezip_t *z, const char *zip_path, const char **dir,
                            char *err, size_t errlen)
{
    struct stat st;
    if (stat(zip_path, &st) == -1) {
        snprintf(err, errlen, "CodeUri %s: %s", zip_path, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < z->n; i++) {
        if (z->zips[i].dev == st.st_dev && z->zips[i].ino == st.st_ino) {
            *dir = z->zips[i].dir;
            return 0;
        }
    }
    if (z->n == CODEZIP_MAX) {
        snprintf(err, errlen, "more than %d distinct zips", CODEZIP_MAX);
        return -1;
    }
    platform_zip_summary_t sum;
    char why[600];
    if (platform_codezip_scan(zip_path, PLATFORM_ZIP_UNZIPPED_MAX, &sum, why, sizeof why) != 0) {
        snprintf(err, errlen, "CodeUri %s", why);
        return -1;
    }
    /* <private>/<n>-<zip name without .zip>: readable in logs and status */
    const char *base = strrchr(zip_path, '/');
    base = base ? base + 1 : zip_path;
    size_t blen = strlen(base);
    if (blen > 4)
        blen -= 4;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%zu-%.*s", z->dir, z->n + 1, (int)(blen > 64 ? 64 : blen),
                 base) >= (int)sizeof path) {
        snprintf(err, errlen, "the unpack folder's name is too long");
        return -1;
    }
    if (mkdir(path, 0755) == -1 || chmod(path, 0755) == -1) { /* /var/task: 0755 as on Lambda */
        snprintf(err, errlen, "mkdir %s: %s", path, strerror(errno));
        return -1;
    }
    uint64_t t0 = 0;
    {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        t0 = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    }
    if (run_unzip(zip_path, path, why, sizeof why) != 0) {
        snprintf(err, errlen, "CodeUri %s: %s", zip_path, why);
        remove_tree(path);
        return -1;
    }
    /* what was written, counted again: a zip's sizes are only what it claims */
    walk_bytes = 0;
    nftw(path, sum_cb, 16, FTW_PHYS);
    if (walk_bytes > PLATFORM_ZIP_UNZIPPED_MAX) {
        snprintf(err, errlen,
                 "CodeUri %s: unzipped, it holds %llu bytes, more than AWS Lambda's 250 MB "
                 "limit",
                 zip_path, (unsigned long long)walk_bytes);
        remove_tree(path);
        return -1;
    }
    char *copy = strdup(path);
    if (copy == NULL) {
        snprintf(err, errlen, "out of memory");
        remove_tree(path);
        return -1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t t1 = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    log_info(LOG_WHO, "%s: %llu entries, %.1f MB unzipped, into %s in %.1f ms", zip_path,
             (unsigned long long)sum.entries, (double)walk_bytes / 1e6, path,
             (double)(t1 - t0) / 1000.0);
    z->zips[z->n].dev = st.st_dev;
    z->zips[z->n].ino = st.st_ino;
    z->zips[z->n].dir = copy;
    z->n++;
    *dir = copy;
    return 0;
}
