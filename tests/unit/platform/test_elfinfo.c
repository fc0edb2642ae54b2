/*
 * Unit tests of the ELF reader behind `tether package`'s glibc check
 * (src/platform/elfinfo.c): real files of this machine (/bin/ls, the libc this
 * test runs on, the built counter bootstrap), small synthetic images whose
 * every field is known, and truncated or corrupted copies of both, which must
 * give 0 or -1 with a message and never read outside the buffer (ASan).
 *
 * With TETHER_ELF_SEED_DIR=DIR set it also writes the synthetic images there:
 * that is how tests/fuzz/corpus/fuzz_platform_elf/ was made.
 */
#include "harness.h"
#include "platform/elfinfo.h"

#include <elf.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <limits.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- synthetic images -------------------------------------------------- */

/* Layout of a synthetic ET_DYN image: one PT_LOAD maps the file at vaddr 0. */
enum {
    SY_PHDR = 64,
    SY_DYN = SY_PHDR + 2 * 56,
    SY_STR = SY_DYN + 12 * 16,
    SY_VERNEED = SY_STR + 160,
    SY_VERSYM = SY_VERNEED + 16 + 4 * 16,
    SY_HASH = SY_VERSYM + 8,
    SY_SYMTAB = SY_HASH + 6 * 4,
    SY_SIZE = SY_SYMTAB + 4 * 24,
};

typedef struct synth {
    unsigned char b[SY_SIZE];
    size_t strlen_; /* bytes used in the string table */
} synth_t;

static uint32_t synth_str(synth_t *s, const char *str)
{
    size_t n = strlen(str) + 1;
    if (s->strlen_ + n > SY_VERNEED - SY_STR)
        abort(); /* the test's own layout is too small */
    memcpy(s->b + SY_STR + s->strlen_, str, n);
    uint32_t at = (uint32_t)s->strlen_;
    s->strlen_ += n;
    return at;
}

/*
 * Builds an image that needs the versions vers[0..n) (at most 4) from
 * libc.so.6, with undefined symbols puts (bound to vers[0]) and arc4random
 * (bound to the last one), a defined symbol bound to the last one too, and
 * DT_RPATH rpath (none when NULL).
 */
static void synth_build(synth_t *s, const char *const *vers, size_t n, const char *rpath)
{
    memset(s, 0, sizeof *s);
    s->strlen_ = 1; /* index 0 is the empty string */
    Elf64_Ehdr eh = {0};
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_DYN;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    eh.e_phoff = SY_PHDR;
    eh.e_ehsize = sizeof eh;
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = 2;
    memcpy(s->b, &eh, sizeof eh);
    Elf64_Phdr ph[2] = {
        {.p_type = PT_LOAD, .p_offset = 0, .p_vaddr = 0, .p_filesz = SY_SIZE, .p_memsz = SY_SIZE},
        {.p_type = PT_DYNAMIC, .p_offset = SY_DYN, .p_vaddr = SY_DYN, .p_filesz = 12 * 16},
    };
    memcpy(s->b + SY_PHDR, ph, sizeof ph);

    uint32_t libc = synth_str(s, "libc.so.6");
    Elf64_Verneed vn = {.vn_version = VER_NEED_CURRENT,
                        .vn_cnt = (Elf64_Half)n,
                        .vn_file = libc,
                        .vn_aux = sizeof vn,
                        .vn_next = 0};
    memcpy(s->b + SY_VERNEED, &vn, sizeof vn);
    for (size_t i = 0; i < n; i++) {
        Elf64_Vernaux va = {.vna_hash = 0,
                            .vna_flags = 0,
                            .vna_other = (Elf64_Half)(2 + i),
                            .vna_name = synth_str(s, vers[i]),
                            .vna_next = i + 1 < n ? sizeof va : 0};
        memcpy(s->b + SY_VERNEED + sizeof vn + i * sizeof va, &va, sizeof va);
    }
    Elf64_Half versym[4] = {0, 2, (Elf64_Half)(1 + n), (Elf64_Half)(1 + n)};
    memcpy(s->b + SY_VERSYM, versym, sizeof versym);
    uint32_t hash[6] = {1, 4, 0, 0, 0, 0}; /* nbucket 1, nchain 4: four symbols */
    memcpy(s->b + SY_HASH, hash, sizeof hash);
    Elf64_Sym syms[4] = {
        {0},
        {.st_name = synth_str(s, "puts"), .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC)},
        {.st_name = synth_str(s, "arc4random"), .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC)},
        {.st_name = synth_str(s, "defined_fn"),
         .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC),
         .st_shndx = 1,
         .st_value = 0x100},
    };
    memcpy(s->b + SY_SYMTAB, syms, sizeof syms);
    uint32_t rp = rpath ? synth_str(s, rpath) : 0;

    Elf64_Dyn dyn[12] = {
        {DT_STRTAB, {SY_STR}},
        {DT_STRSZ, {s->strlen_}},
        {DT_VERNEED, {SY_VERNEED}},
        {DT_VERNEEDNUM, {1}},
        {DT_VERSYM, {SY_VERSYM}},
        {DT_HASH, {SY_HASH}},
        {DT_SYMTAB, {SY_SYMTAB}},
        {DT_SYMENT, {sizeof(Elf64_Sym)}},
        {rpath ? DT_RPATH : DT_NULL, {rp}},
        {DT_NULL, {0}},
    };
    memcpy(s->b + SY_DYN, dyn, sizeof dyn);
}

/* Parses a copy of data[0..n) in a buffer of exactly n bytes, so ASan sees any
 * read past the end. Returns the parser's result; err must be set on -1. */
static int parse_exact(const unsigned char *data, size_t n, platform_elf_info_t *info)
{
    unsigned char *copy = malloc(n ? n : 1);
    if (copy == NULL)
        abort();
    memcpy(copy, data, n);
    char err[200] = "unset";
    int rc = platform_elf_parse(copy, n, info, err, sizeof err);
    CHECK(rc == 0 || rc == -1);
    if (rc != 0)
        CHECK(err[0] != '\0' && strcmp(err, "unset") != 0);
    free(copy);
    return rc;
}

static void test_synthetic(void)
{
    static const char *const vers[] = {"GLIBC_2.2.5", "GLIBC_2.34", "GLIBC_2.99"};
    synth_t s;
    synth_build(&s, vers, 3, "$ORIGIN/lib");
    platform_elf_info_t info;
    CHECK_INT(parse_exact(s.b, sizeof s.b, &info), 0);
    CHECK_INT(info.machine, EM_X86_64);
    CHECK_INT(info.is_dynamic, 1);
    CHECK_STR(info.rpath, "$ORIGIN/lib");
    CHECK_INT(info.has_runpath, 0);
    CHECK_INT(info.glibc_major, 2);
    CHECK_INT(info.glibc_minor, 99);
    CHECK_STR(info.glibc_name, "GLIBC_2.99");
    CHECK_STR(info.glibc_file, "libc.so.6");
    CHECK_INT(info.needs_private, 0);
    CHECK_STR(info.unknown, "");
    CHECK_INT(info.n_syms, 1); /* arc4random; defined_fn is defined, not needed */
    CHECK_STR(info.syms[0], "arc4random");

    /* the newest need may come first: order in the table does not matter */
    static const char *const rev[] = {"GLIBC_2.36", "GLIBC_2.17", "GLIBC_2.2.5"};
    synth_build(&s, rev, 3, NULL);
    CHECK_INT(parse_exact(s.b, sizeof s.b, &info), 0);
    CHECK_STR(info.rpath, "");
    CHECK_INT(info.glibc_minor, 36);
    CHECK_INT(info.n_syms, 1);
    CHECK_STR(info.syms[0], "puts");

    static const char *const relr[] = {"GLIBC_2.14", "GLIBC_ABI_DT_RELR"};
    synth_build(&s, relr, 2, NULL);
    CHECK_INT(parse_exact(s.b, sizeof s.b, &info), 0);
    CHECK_INT(info.glibc_major, 2);
    CHECK_INT(info.glibc_minor, 36); /* the glibc that added DT_RELR */
    CHECK_STR(info.glibc_name, "GLIBC_ABI_DT_RELR");

    static const char *const priv[] = {"GLIBC_2.4", "GLIBC_PRIVATE", "GLIBC_2.x", "GCC_3.0"};
    synth_build(&s, priv, 4, NULL);
    CHECK_INT(parse_exact(s.b, sizeof s.b, &info), 0);
    CHECK_INT(info.needs_private, 1);
    CHECK_STR(info.unknown, "GLIBC_2.x");
    CHECK_INT(info.glibc_minor, 4);
    CHECK_STR(info.glibc_name, "GLIBC_2.4");

    static const char *const none[] = {"OPENSSL_3.0.0"};
    synth_build(&s, none, 1, "/opt/x");
    CHECK_INT(parse_exact(s.b, sizeof s.b, &info), 0);
    CHECK_INT(info.glibc_major, 0);
    CHECK_STR(info.glibc_name, "");
    CHECK_INT(info.n_syms, 0);

    CHECK(platform_elf_glibc_cmp(2, 36, 2, 34) > 0);
    CHECK(platform_elf_glibc_cmp(2, 34, 2, 34) == 0);
    CHECK(platform_elf_glibc_cmp(2, 9, 2, 34) < 0);
    CHECK(platform_elf_glibc_cmp(3, 0, 2, 99) > 0);
}

/* Specific corruptions give -1 and say what is wrong. */
static void expect_error(const synth_t *s, const char *want)
{
    platform_elf_info_t info;
    char err[200] = "";
    CHECK_INT(platform_elf_parse(s->b, sizeof s->b, &info, err, sizeof err), -1);
    if (strstr(err, want) == NULL) {
        harness_failures++;
        fprintf(stderr, "%s: error \"%s\" does not say \"%s\"\n", harness_current, err, want);
    }
}

static void put64(synth_t *s, size_t off, uint64_t v)
{
    memcpy(s->b + off, &v, sizeof v);
}

static void test_corrupt_fields(void)
{
    static const char *const vers[] = {"GLIBC_2.2.5", "GLIBC_2.36"};
    synth_t s;
    synth_build(&s, vers, 2, "$ORIGIN/lib");
    synth_t t = s;
    t.b[1] = 'X';
    expect_error(&t, "not an ELF file");
    t = s;
    t.b[EI_CLASS] = ELFCLASS32;
    expect_error(&t, "not 64-bit");
    t = s;
    t.b[EI_DATA] = ELFDATA2MSB;
    expect_error(&t, "little-endian");
    t = s;
    t.b[offsetof(Elf64_Ehdr, e_type)] = ET_REL;
    expect_error(&t, "not an executable or shared library");
    t = s;
    put64(&t, offsetof(Elf64_Ehdr, e_phoff), (uint64_t)-8); /* wraps if added carelessly */
    expect_error(&t, "program headers outside");
    t = s;
    put64(&t, SY_PHDR + 56 + offsetof(Elf64_Phdr, p_offset), SY_SIZE - 8);
    expect_error(&t, "dynamic segment outside");
    t = s;
    put64(&t, SY_DYN + 8, 0x7fffffff0000ull); /* DT_STRTAB nowhere */
    expect_error(&t, "string table outside");
    t = s;
    put64(&t, SY_DYN + 2 * 16 + 8, SY_SIZE - 4); /* DT_VERNEED in the last 4 bytes */
    expect_error(&t, "outside the file");
    t = s;
    put64(&t, SY_DYN + 2 * 16 + 8, 0xffffffffffff0000ull);
    expect_error(&t, "version-needed table outside");
    t = s;
    put64(&t, SY_DYN + 16 + 8, 5); /* DT_STRSZ too small: the rpath is past it */
    expect_error(&t, "rpath outside the string table");
    synth_build(&t, vers, 2, NULL);
    put64(&t, SY_DYN + 16 + 8, 5); /* and "libc.so.6" does not end inside it */
    expect_error(&t, "names no file");
    t = s;
    t.b[SY_VERNEED] = 7; /* vn_version */
    expect_error(&t, "has version 7");
    t = s;
    memset(t.b + SY_VERNEED + 16 + 8, 0xff, 4); /* the first vna_name */
    expect_error(&t, "has no name");
    t = s;
    memset(t.b + SY_VERNEED + 8, 0xff, 4); /* vn_aux */
    expect_error(&t, "outside the file");
    /* a self-referencing chain cannot loop: vn_next only moves forward */
    t = s;
    put64(&t, SY_DYN + 3 * 16 + 8, UINT64_MAX); /* DT_VERNEEDNUM */
    uint32_t next = 16;
    memcpy(t.b + SY_VERNEED + 12, &next, 4);
    platform_elf_info_t info;
    char err[200];
    CHECK_INT(platform_elf_parse(t.b, sizeof t.b, &info, err, sizeof err), -1);
}

/* Every truncation and many byte mutations of img: 0 or -1, never a crash. */
static void fuzz_image(const unsigned char *img, size_t size, size_t trunc_step, size_t mutate_span,
                       unsigned rounds)
{
    platform_elf_info_t info;
    for (size_t n = 0; n < size; n += (n < 4096 ? 1 : trunc_step))
        (void)parse_exact(img, n, &info);
    unsigned char *copy = malloc(size);
    if (copy == NULL)
        abort();
    uint32_t x = 2463534242u; /* xorshift32: the same mutations on every run */
    for (unsigned r = 0; r < rounds; r++) {
        memcpy(copy, img, size);
        for (int k = 0; k < 1 + (int)(r % 4); k++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            size_t at = x % (mutate_span < size ? mutate_span : size);
            static const unsigned char vals[] = {0, 0xff, 0x7f, 0x80, 1, 0x10};
            copy[at] = (x >> 24) & 1 ? vals[(x >> 25) % sizeof vals] : (unsigned char)(x >> 16);
        }
        char err[200];
        int rc = platform_elf_parse(copy, size, &info, err, sizeof err);
        CHECK(rc == 0 || rc == -1);
    }
    free(copy);
}

static void test_corrupt_synthetic(void)
{
    static const char *const vers[] = {"GLIBC_2.2.5", "GLIBC_PRIVATE", "GLIBC_2.36"};
    synth_t s;
    synth_build(&s, vers, 3, "$ORIGIN/lib");
    fuzz_image(s.b, sizeof s.b, 1, sizeof s.b, 20000);
}

static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    struct stat st;
    unsigned char *data = NULL;
    if (fstat(fileno(f), &st) == 0 && st.st_size > 0 && (data = malloc((size_t)st.st_size))) {
        if (fread(data, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
            free(data);
            data = NULL;
        }
        *size = (size_t)st.st_size;
    }
    fclose(f);
    return data;
}

/* ---- real files -------------------------------------------------------- */

static int running_minor(void)
{
    int major = 0, minor = 0;
    sscanf(gnu_get_libc_version(), "%d.%d", &major, &minor);
    return major == 2 ? minor : 0;
}

static int find_libc(struct dl_phdr_info *pi, size_t size, void *out)
{
    (void)size;
    if (strstr(pi->dlpi_name, "/libc.so.6") != NULL) {
        snprintf(out, PATH_MAX, "%s", pi->dlpi_name);
        return 1;
    }
    return 0;
}

static void check_real(const char *path, const platform_elf_info_t *info)
{
    CHECK_INT(info->is_dynamic, 1);
#if defined(__x86_64__)
    CHECK_INT(info->machine, EM_X86_64);
#elif defined(__aarch64__)
    CHECK_INT(info->machine, EM_AARCH64);
#endif
    CHECK_INT(info->glibc_major, 2);
    CHECK(info->glibc_minor >= 2);
    CHECK(info->glibc_minor <= running_minor()); /* it runs here, so this glibc has it */
    CHECK(strncmp(info->glibc_name, "GLIBC_2.", 8) == 0);
    CHECK(info->n_syms >= 1 || strcmp(info->glibc_file, "libc.so.6") != 0);
    printf("%s: needs %s (%s) from %s%s%s\n", path, info->glibc_name,
           info->n_syms ? info->syms[0] : "-", info->glibc_file, info->rpath[0] ? ", rpath " : "",
           info->rpath);
}

static void test_real_files(void)
{
    platform_elf_info_t info;
    char err[200];
    CHECK_INT(platform_elf_read_file("/bin/ls", &info, err, sizeof err), 0);
    check_real("/bin/ls", &info);
    CHECK_STR(info.glibc_file, "libc.so.6");
    CHECK_INT(info.needs_private, 0);

    char libc[PATH_MAX] = "";
    dl_iterate_phdr(find_libc, libc);
    CHECK(libc[0] == '/');
    CHECK_INT(platform_elf_read_file(libc, &info, err, sizeof err), 0);
    check_real(libc, &info);
    CHECK_INT(info.needs_private, 1); /* libc needs ld.so's GLIBC_PRIVATE: never bundle it */

    /* the counter example, built next to this test (build/tests/ -> build/examples/) */
    char self[PATH_MAX], boot[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    CHECK(n > 0);
    self[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(self, '/');
    if (slash != NULL)
        *slash = '\0';
    snprintf(boot, sizeof boot, "%s/../examples/counter/bootstrap", self);
    CHECK_INT(platform_elf_read_file(boot, &info, err, sizeof err), 0);
    check_real(boot, &info);
    CHECK(strstr(info.rpath, "$ORIGIN/lib") != NULL);
    CHECK_INT(info.has_runpath, 0); /* --disable-new-dtags: DT_RPATH */

    /* truncations and mutations of a real binary, headers and dynamic data first */
    size_t size = 0;
    unsigned char *ls = slurp("/bin/ls", &size);
    CHECK(ls != NULL);
    if (ls != NULL) {
        fuzz_image(ls, size, size / 500 + 1, 16384, 20000);
        free(ls);
    }
}

static void test_file_errors(void)
{
    platform_elf_info_t info;
    char err[200] = "";
    CHECK_INT(platform_elf_read_file("/nonexistent/bootstrap", &info, err, sizeof err), -1);
    CHECK(strstr(err, "No such file") != NULL);
    CHECK_INT(platform_elf_read_file("/", &info, err, sizeof err), -1);
    CHECK(strstr(err, "not a regular file") != NULL);
    char path[] = "/tmp/tether-elf-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd != -1);
    if (fd != -1) {
        CHECK_INT(platform_elf_read_file(path, &info, err, sizeof err), -1);
        CHECK(strstr(err, "empty file") != NULL);
        CHECK(write(fd, "#!/bin/sh\n", 10) == 10);
        CHECK_INT(platform_elf_read_file(path, &info, err, sizeof err), -1);
        CHECK(strstr(err, "not an ELF file") != NULL);
        close(fd);
        unlink(path);
    }
}

/* TETHER_ELF_SEED_DIR=DIR: write the synthetic images as fuzz seeds. */
static void write_seeds(const char *dir)
{
    static const char *const a[] = {"GLIBC_2.2.5", "GLIBC_2.34", "GLIBC_2.99"};
    static const char *const b[] = {"GLIBC_2.14", "GLIBC_ABI_DT_RELR"};
    static const char *const c[] = {"GLIBC_2.4", "GLIBC_PRIVATE", "GLIBC_2.x", "GCC_3.0"};
    struct {
        const char *name;
        const char *const *vers;
        size_t n;
        const char *rpath;
    } seeds[] = {{"needs-2.99", a, 3, "$ORIGIN/lib"},
                 {"dt-relr", b, 2, NULL},
                 {"private-unknown", c, 4, "/opt/lib"}};
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        synth_t s;
        synth_build(&s, seeds[i].vers, seeds[i].n, seeds[i].rpath);
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s.elf", dir, seeds[i].name);
        FILE *f = fopen(path, "wb");
        CHECK(f != NULL && fwrite(s.b, 1, sizeof s.b, f) == sizeof s.b);
        if (f != NULL)
            fclose(f);
    }
}

int main(void)
{
    RUN(test_synthetic);
    RUN(test_corrupt_fields);
    RUN(test_corrupt_synthetic);
    RUN(test_real_files);
    RUN(test_file_errors);
    const char *seed_dir = getenv("TETHER_ELF_SEED_DIR");
    if (seed_dir != NULL)
        write_seeds(seed_dir);
    return TEST_REPORT();
}
