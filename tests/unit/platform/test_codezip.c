/*
 * Unit tests of the zip checks behind CodeUri zips (src/platform/codezip.c):
 * central directories built here entry by entry (names, Unix modes, sizes,
 * a zip64 size), names that climb out of the folder, the 250 MB limit, every
 * truncation of a good zip (0 or -1 with a message, never a read outside the
 * buffer: ASan), and a real zip made by Info-ZIP's zip unpacked and removed.
 *
 * With TETHER_ZIP_SEED_DIR=DIR set it also writes the built zips there: that
 * is how tests/fuzz/corpus/fuzz_platform_codezip/ was made.
 */
#include "harness.h"
#include "platform/codezip.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct entry {
    const char *name;
    unsigned mode;  /* Unix mode (with S_IF*), 0: made on a non-Unix host */
    uint64_t usize; /* uncompressed size; > 0xfffffffe goes in a zip64 extra field */
} entry_t;

typedef struct zbuf {
    unsigned char data[8192];
    size_t len;
} zbuf_t;

static void put16(zbuf_t *z, unsigned v)
{
    z->data[z->len++] = (unsigned char)(v & 0xff);
    z->data[z->len++] = (unsigned char)((v >> 8) & 0xff);
}

static void put32(zbuf_t *z, uint32_t v)
{
    put16(z, v & 0xffff);
    put16(z, v >> 16);
}

static void put64(zbuf_t *z, uint64_t v)
{
    put32(z, (uint32_t)v);
    put32(z, (uint32_t)(v >> 32));
}

/* A zip of n entries: 4 bytes of stand-in file data, then the central
 * directory and its end record (all a scan reads). */
static void build(zbuf_t *z, const entry_t *e, size_t n)
{
    z->len = 0;
    put32(z, 0x04034b50); /* where file data would be */
    size_t cd = z->len;
    for (size_t i = 0; i < n; i++) {
        int big = e[i].usize > 0xfffffffeull;
        put32(z, 0x02014b50);
        put16(z, e[i].mode ? (3u << 8) | 30 : 20); /* made by: Unix 3.0, or MS-DOS */
        put16(z, 20);
        put16(z, 0);
        put16(z, 0);
        put32(z, 0);
        put32(z, 0);
        put32(z, 0);
        put32(z, big ? 0xffffffffu : (uint32_t)e[i].usize);
        size_t nl = strlen(e[i].name);
        put16(z, (unsigned)nl);
        put16(z, big ? 12 : 0);
        put16(z, 0);
        put16(z, 0);
        put16(z, 0);
        put32(z, (uint32_t)e[i].mode << 16);
        put32(z, 0);
        memcpy(z->data + z->len, e[i].name, nl);
        z->len += nl;
        if (big) {
            put16(z, 0x0001);
            put16(z, 8);
            put64(z, e[i].usize);
        }
    }
    size_t cd_size = z->len - cd;
    put32(z, 0x06054b50);
    put16(z, 0);
    put16(z, 0);
    put16(z, (unsigned)n);
    put16(z, (unsigned)n);
    put32(z, (uint32_t)cd_size);
    put32(z, (uint32_t)cd);
    put16(z, 0);
}

static int scan(const zbuf_t *z, uint64_t max, platform_zip_summary_t *s, char *err, size_t errlen)
{
    /* an exact-size copy, so a read past the end is an ASan report */
    unsigned char *copy = malloc(z->len ? z->len : 1);
    memcpy(copy, z->data, z->len);
    int rc = platform_codezip_scan_mem(copy, z->len, max, s, err, errlen);
    free(copy);
    return rc;
}

static const entry_t good[] = {
    {"bootstrap", 0100755, 120},   {"bin/", 040755, 0},
    {"bin/echo", 0100755, 20000},  {"lib/libc.so.6", 0100644, 1900000},
    {"..notparent/x", 0100644, 1},
};

static void test_good(void)
{
    zbuf_t z;
    build(&z, good, 5);
    platform_zip_summary_t s;
    char err[256] = "";
    CHECK_INT(scan(&z, PLATFORM_ZIP_UNZIPPED_MAX, &s, err, sizeof err), 0);
    CHECK_INT(s.entries, 5);
    CHECK_INT(s.unzipped_bytes, 120 + 20000 + 1900000 + 1);
    CHECK_INT(s.has_bootstrap, 1);
    CHECK_INT(s.bootstrap_exec, 1);
    /* an end record that counts fewer entries than the directory holds */
    zbuf_t fewer = z;
    fewer.data[fewer.len - 12] = 4; /* total entries: 5 -> 4 */
    fewer.data[fewer.len - 14] = 4;
    CHECK_INT(scan(&fewer, PLATFORM_ZIP_UNZIPPED_MAX, &s, err, sizeof err), -1);
    CHECK(strstr(err, "holds more than 4 entries") != NULL);
    /* a bootstrap without x bits, or from a host that stores no Unix mode */
    entry_t e[] = {{"bootstrap", 0100644, 1}};
    build(&z, e, 1);
    CHECK_INT(scan(&z, PLATFORM_ZIP_UNZIPPED_MAX, &s, err, sizeof err), 0);
    CHECK_INT(s.bootstrap_exec, 0);
    e[0].mode = 0;
    build(&z, e, 1);
    CHECK_INT(scan(&z, PLATFORM_ZIP_UNZIPPED_MAX, &s, err, sizeof err), 0);
    CHECK_INT(s.has_bootstrap, 1);
    CHECK_INT(s.bootstrap_exec, 0);
}

static void test_escaping_names(void)
{
    static const char *const bad[] = {"../x", "a/../../b", "a/..", "..", "/etc/passwd", "a\\b", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        entry_t e[] = {{"bootstrap", 0100755, 1}, {bad[i], 0100644, 1}};
        zbuf_t z;
        build(&z, e, 2);
        platform_zip_summary_t s;
        char err[256] = "";
        CHECK_INT(scan(&z, PLATFORM_ZIP_UNZIPPED_MAX, &s, err, sizeof err), -1);
        CHECK(strstr(err, "entry '") != NULL);
    }
    entry_t e[] = {{"a/../../b", 0100644, 1}};
    zbuf_t z;
    build(&z, e, 1);
    platform_zip_summary_t s;
    char err[256] = "";
    CHECK_INT(scan(&z, PLATFORM_ZIP_UNZIPPED_MAX, &s, err, sizeof err), -1);
    CHECK_STR(err,
              "entry 'a/../../b' has a '..' component (it would land outside the code folder)");
}

/* A link, and an entry under it (unzip would write it through the link). */
static void test_links(void)
{
    entry_t ok[] = {
        {"lib/libx.so", 0120777, 10}, {"lib/libx.so.1", 0100755, 100}, {"bootstrap", 0100755, 1}};
    zbuf_t z;
    build(&z, ok, 3);
    platform_zip_summary_t s;
    char err[256] = "";
    CHECK_INT(scan(&z, PLATFORM_ZIP_UNZIPPED_MAX, &s, err, sizeof err), 0);
    entry_t bad[] = {{"bootstrap", 0100755, 1}, {"a/b/x", 0100644, 5}, {"a/b", 0120777, 4}};
    build(&z, bad, 3);
    CHECK_INT(scan(&z, PLATFORM_ZIP_UNZIPPED_MAX, &s, err, sizeof err), -1);
    CHECK_STR(err, "entry 'a/b/x' lies under 'a/b', a link in the same zip");
    /* the same names from a host without Unix modes: not links */
    bad[2].mode = 0;
    build(&z, bad, 3);
    CHECK_INT(scan(&z, PLATFORM_ZIP_UNZIPPED_MAX, &s, err, sizeof err), 0);
}

static void test_size_limit(void)
{
    entry_t e[] = {{"a", 0100644, 600}, {"b", 0100644, 500}};
    zbuf_t z;
    build(&z, e, 2);
    platform_zip_summary_t s;
    char err[256] = "";
    CHECK_INT(scan(&z, 1100, &s, err, sizeof err), 0);
    CHECK_INT(scan(&z, 1099, &s, err, sizeof err), -1);
    CHECK(strstr(err, "more than 1099 bytes") != NULL);
    CHECK(strstr(err, "250 MB") != NULL);
    /* a zip64 size: 5 GB in the extra field */
    entry_t big[] = {{"huge", 0100644, 5000000000ull}};
    build(&z, big, 1);
    CHECK_INT(scan(&z, PLATFORM_ZIP_UNZIPPED_MAX, &s, err, sizeof err), -1);
    CHECK_INT(scan(&z, 6000000000ull, &s, err, sizeof err), 0);
    CHECK_INT(s.unzipped_bytes, 5000000000ull);
}

static void test_truncated(void)
{
    zbuf_t z;
    build(&z, good, 5);
    platform_zip_summary_t s;
    char err[256];
    for (size_t cut = 0; cut < z.len; cut++) {
        zbuf_t t = z;
        t.len = cut; /* the end cut off */
        err[0] = '\0';
        int rc = scan(&t, PLATFORM_ZIP_UNZIPPED_MAX, &s, err, sizeof err);
        CHECK(rc == -1 && err[0] != '\0');
        /* the start cut off: offsets now point elsewhere */
        memmove(t.data, z.data + cut, z.len - cut);
        t.len = z.len - cut;
        err[0] = '\0';
        rc = scan(&t, PLATFORM_ZIP_UNZIPPED_MAX, &s, err, sizeof err);
        CHECK(rc == 0 || (rc == -1 && err[0] != '\0'));
    }
    /* every byte of the central directory flipped */
    for (size_t i = 4; i < z.len; i++) {
        zbuf_t t = z;
        t.data[i] ^= 0xff;
        err[0] = '\0';
        int rc = scan(&t, PLATFORM_ZIP_UNZIPPED_MAX, &s, err, sizeof err);
        CHECK(rc == 0 || (rc == -1 && err[0] != '\0'));
    }
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    CHECK(fd != -1);
    if (fd == -1)
        return;
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    chmod(path, mode);
}

/* A real zip from Info-ZIP's zip: unpacked with its modes, once, removed by free. */
static void test_unpack(void)
{
    char tmp[] = "/tmp/tether-test-codezip.XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    char path[512], cmd[1200];
    snprintf(path, sizeof path, "%s/src", tmp);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/src/bootstrap", tmp);
    write_file(path, "#!/bin/sh\nexit 0\n", 0755);
    snprintf(path, sizeof path, "%s/src/lib", tmp);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/src/lib/data.txt", tmp);
    write_file(path, "hello\n", 0640);
    snprintf(cmd, sizeof cmd, "cd %s/src && zip -qr ../fn.zip . ", tmp);
    CHECK_INT(system(cmd), 0);
    char zip[512];
    snprintf(zip, sizeof zip, "%s/fn.zip", tmp);
    platform_zip_summary_t s;
    char err[512] = "";
    CHECK_INT(platform_codezip_scan(zip, PLATFORM_ZIP_UNZIPPED_MAX, &s, err, sizeof err), 0);
    CHECK_INT(s.has_bootstrap, 1);
    CHECK_INT(s.bootstrap_exec, 1);

    platform_codezip_t *z = NULL;
    CHECK_INT(platform_codezip_new(&z, err, sizeof err), 0);
    if (z == NULL)
        return;
    const char *dir = NULL, *again = NULL;
    CHECK_INT(platform_codezip_unpack(z, zip, &dir, err, sizeof err), 0);
    CHECK_INT(platform_codezip_unpack(z, zip, &again, err, sizeof err), 0);
    CHECK(dir != NULL && dir == again); /* once */
    struct stat st;
    snprintf(path, sizeof path, "%s/bootstrap", dir);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0755);
    snprintf(path, sizeof path, "%s/lib/data.txt", dir);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
    char top[512];
    snprintf(top, sizeof top, "%s", platform_codezip_dir(z));
    CHECK(stat(top, &st) == 0 && (st.st_mode & 0777) == 0700);
    /* not a zip: refused with the file named */
    snprintf(path, sizeof path, "%s/src/bootstrap", tmp);
    CHECK_INT(platform_codezip_unpack(z, path, &dir, err, sizeof err), -1);
    CHECK(strstr(err, "not a zip file") != NULL);
    platform_codezip_free(z);
    CHECK(stat(top, &st) == -1); /* removed, with all it held */
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    CHECK_INT(system(cmd), 0);
}

/* TETHER_ZIP_SEED_DIR=DIR: the built zips as fuzz seeds. */
static void write_seeds(const char *dir)
{
    zbuf_t z;
    char path[512];
    build(&z, good, 5);
    snprintf(path, sizeof path, "%s/good.zip", dir);
    FILE *f = fopen(path, "wb");
    if (f != NULL) {
        fwrite(z.data, 1, z.len, f);
        fclose(f);
    }
    entry_t e[] = {
        {"bootstrap", 0100755, 1}, {"../x", 0100644, 1}, {"huge", 0100644, 5000000000ull}};
    build(&z, e, 3);
    snprintf(path, sizeof path, "%s/escaping-zip64.zip", dir);
    f = fopen(path, "wb");
    if (f != NULL) {
        fwrite(z.data, 1, z.len, f);
        fclose(f);
    }
    entry_t l[] = {{"bootstrap", 0100755, 1}, {"a/b/x", 0100644, 5}, {"a/b", 0120777, 4}};
    build(&z, l, 3);
    snprintf(path, sizeof path, "%s/under-link.zip", dir);
    f = fopen(path, "wb");
    if (f != NULL) {
        fwrite(z.data, 1, z.len, f);
        fclose(f);
    }
}

int main(void)
{
    const char *seed_dir = getenv("TETHER_ZIP_SEED_DIR");
    if (seed_dir != NULL)
        write_seeds(seed_dir);
    RUN(test_good);
    RUN(test_escaping_names);
    RUN(test_links);
    RUN(test_size_limit);
    RUN(test_truncated);
    RUN(test_unpack);
    return TEST_REPORT();
}
