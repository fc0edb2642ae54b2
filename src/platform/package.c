/*
 * tether package BOOTSTRAP -o function.zip: the zip AWS Lambda provided.al2023
 * runs. Layout: `bootstrap` (mode 0755) at the root, and under lib/ every
 * shared library it loads except glibc's own (libc, ld-linux, libm, libpthread,
 * libdl, librt, libutil, libresolv, libanl, libnss_*), which Amazon Linux 2023
 * ships. The bootstrap finds lib/ through its $ORIGIN/lib rpath (set at link
 * time: -Wl,-rpath,'$ORIGIN/lib'); Lambda's LD_LIBRARY_PATH also includes
 * /var/task/lib, which covers the libraries' own dependencies.
 *
 * The library list comes from ldd (the dynamic loader's own resolution); the
 * rpath and the glibc versions the binaries need are read from their ELF
 * headers here. The zip itself is made by Debian's `zip`.
 */
#include "platform/package.h"

#include "common/buf.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define PACKAGE_MAX_LIBS 128
#define PACKAGE_LDD_MAX  (1u << 20)
/* Amazon Linux 2023's glibc: a binary needing a newer GLIBC_x.y will not load there. */
#define PACKAGE_AL2023_GLIBC_MINOR 34

typedef struct package_lib {
    char soname[256]; /* the name the loader looks for: "libcurl.so.4" */
    char path[PATH_MAX];
} package_lib_t;

typedef struct package_elf_info {
    char rpath[1024];    /* DT_RPATH or DT_RUNPATH, "" when none */
    int has_runpath;     /* the rpath is DT_RUNPATH (applies to direct deps only) */
    int max_glibc_minor; /* highest GLIBC_2.N required, 0 when none */
} package_elf_info_t;

static void usage(FILE *out)
{
    fprintf(out, "usage: tether package BOOTSTRAP -o function.zip\n"
                 "\n"
                 "Makes a zip AWS Lambda (provided.al2023, provided.al2) accepts: BOOTSTRAP at\n"
                 "the root as `bootstrap`, and under lib/ the shared libraries it needs that\n"
                 "Amazon Linux does not ship (everything but glibc). Link the bootstrap with\n"
                 "  -Wl,-rpath,'$ORIGIN/lib'\n"
                 "so it finds them. Exit status 0, or 2 with a message.\n");
}

/* True for the glibc components every Amazon Linux image has. */
static int package_is_system_lib(const char *soname)
{
    static const char *const prefixes[] = {
        "linux-vdso.so", "linux-gate.so",       "ld-linux",         "libc.so.",
        "libm.so.",      "libpthread.so.",      "libdl.so.",        "librt.so.",
        "libutil.so.",   "libresolv.so.",       "libanl.so.",       "libnss_",
        "libmvec.so.",   "libBrokenLocale.so.", "libthread_db.so.",
    };
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        if (strncmp(soname, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    }
    return 0;
}

/* fork+exec with posix_spawn; see package_run. */
static int package_spawn(char *const argv[], const char *dir, buf_t *out)
{
    int pipefd[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (out != NULL) {
        if (pipe2(pipefd, O_CLOEXEC) == -1) {
            posix_spawn_file_actions_destroy(&fa);
            return -1;
        }
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
    }
    if (dir != NULL)
        posix_spawn_file_actions_addchdir_np(&fa, dir);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (out != NULL)
        close(pipefd[1]);
    if (rc != 0) {
        if (out != NULL)
            close(pipefd[0]);
        fprintf(stderr, "tether package: cannot run %s: %s\n", argv[0], strerror(rc));
        return -1;
    }
    if (out != NULL) {
        char chunk[4096];
        for (;;) {
            ssize_t n = read(pipefd[0], chunk, sizeof chunk);
            if (n == -1 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            if (buf_append(out, chunk, (size_t)n) != 0)
                break; /* too much: keep what fits; ldd never says 1 MB */
        }
        close(pipefd[0]);
    }
    int status;
    while (waitpid(pid, &status, 0) == -1) {
        if (errno != EINTR)
            return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Runs argv (NULL-terminated, searching PATH) in dir (or the cwd), stdout into
 * out (may be NULL), stderr inherited. Returns the exit status, or -1 when it
 * could not run. */
static int package_run(const char *const argv_in[], const char *dir, buf_t *out)
{
    char *argv[16];
    size_t argc = 0;
    for (; argv_in[argc] != NULL && argc + 1 < sizeof argv / sizeof argv[0]; argc++) {
        argv[argc] = strdup(argv_in[argc]);
        if (argv[argc] == NULL) {
            while (argc > 0)
                free(argv[--argc]);
            return -1;
        }
    }
    argv[argc] = NULL;
    int status = package_spawn(argv, dir, out);
    while (argc > 0)
        free(argv[--argc]);
    return status;
}

/* Parses ldd's "soname => /path (0x...)" lines into libs. */
static int package_parse_ldd(const char *text, package_lib_t *libs, size_t *n_libs)
{
    *n_libs = 0;
    const char *line = text;
    while (line != NULL && *line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char l[PATH_MAX + 300];
        if (len < sizeof l) {
            memcpy(l, line, len);
            l[len] = '\0';
            char *arrow = strstr(l, " => ");
            if (arrow != NULL) {
                *arrow = '\0';
                char *name = l;
                while (*name == ' ' || *name == '\t')
                    name++;
                char *path = arrow + 4;
                char *paren = strstr(path, " (0x");
                if (paren != NULL)
                    *paren = '\0';
                if (strcmp(path, "not found") == 0) {
                    fprintf(stderr, "tether package: %s is not found on this machine\n", name);
                    return -1;
                }
                if (path[0] == '/' && !package_is_system_lib(name)) {
                    if (*n_libs >= PACKAGE_MAX_LIBS)
                        return -1;
                    size_t nl = strlen(name), pl = strlen(path);
                    if (nl >= sizeof libs[0].soname || pl >= sizeof libs[0].path)
                        return -1;
                    package_lib_t *lib = &libs[(*n_libs)++];
                    memcpy(lib->soname, name, nl + 1);
                    memcpy(lib->path, path, pl + 1);
                }
            }
        }
        line = end ? end + 1 : NULL;
    }
    return 0;
}

/* The file offset of virtual address vaddr, from the PT_LOAD segments. */
static int elf_offset(const unsigned char *base, size_t size, const Elf64_Ehdr *eh,
                      Elf64_Addr vaddr, size_t *off)
{
    for (int i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *ph =
            (const Elf64_Phdr *)(base + eh->e_phoff + (size_t)i * eh->e_phentsize);
        if (ph->p_type == PT_LOAD && vaddr >= ph->p_vaddr && vaddr < ph->p_vaddr + ph->p_filesz) {
            *off = (size_t)(ph->p_offset + (vaddr - ph->p_vaddr));
            return *off < size ? 0 : -1;
        }
    }
    return -1;
}

/*
 * Reads an x86-64/aarch64 ELF64's rpath and the highest GLIBC_2.N version it
 * needs. Every offset is bounds-checked: a truncated or odd file is an error,
 * not a crash.
 */
static int package_elf_read(const char *path, package_elf_info_t *info)
{
    memset(info, 0, sizeof *info);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return -1;
    struct stat st;
    if (fstat(fd, &st) == -1 || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
        close(fd);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    unsigned char *base = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (base == MAP_FAILED)
        return -1;
    int rc = -1;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64)
        goto out;
    if (eh->e_phoff > size || (size_t)eh->e_phnum * eh->e_phentsize > size - eh->e_phoff ||
        eh->e_phentsize < sizeof(Elf64_Phdr))
        goto out;
    const Elf64_Phdr *dyn_ph = NULL;
    for (int i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *ph =
            (const Elf64_Phdr *)(base + eh->e_phoff + (size_t)i * eh->e_phentsize);
        if (ph->p_type == PT_DYNAMIC)
            dyn_ph = ph;
    }
    rc = 0;
    if (dyn_ph == NULL)
        goto out; /* static: no rpath, no versions */
    if (dyn_ph->p_offset > size || dyn_ph->p_filesz > size - dyn_ph->p_offset) {
        rc = -1;
        goto out;
    }
    const Elf64_Dyn *dyn = (const Elf64_Dyn *)(base + dyn_ph->p_offset);
    size_t n_dyn = dyn_ph->p_filesz / sizeof(Elf64_Dyn);
    Elf64_Addr strtab = 0, verneed = 0;
    Elf64_Xword strsz = 0, verneednum = 0, rpath = 0, runpath = 0;
    int have_rpath = 0, have_runpath = 0;
    for (size_t i = 0; i < n_dyn && dyn[i].d_tag != DT_NULL; i++) {
        switch (dyn[i].d_tag) {
        case DT_STRTAB:
            strtab = dyn[i].d_un.d_ptr;
            break;
        case DT_STRSZ:
            strsz = dyn[i].d_un.d_val;
            break;
        case DT_RPATH:
            rpath = dyn[i].d_un.d_val;
            have_rpath = 1;
            break;
        case DT_RUNPATH:
            runpath = dyn[i].d_un.d_val;
            have_runpath = 1;
            break;
        case DT_VERNEED:
            verneed = dyn[i].d_un.d_ptr;
            break;
        case DT_VERNEEDNUM:
            verneednum = dyn[i].d_un.d_val;
            break;
        default:
            break;
        }
    }
    size_t stroff;
    if (strtab == 0 || elf_offset(base, size, eh, strtab, &stroff) != 0 || strsz > size - stroff)
        goto out;
    const char *strs = (const char *)base + stroff;
    Elf64_Xword which = have_runpath ? runpath : rpath;
    if ((have_runpath || have_rpath) && which < strsz) {
        snprintf(info->rpath, sizeof info->rpath, "%.*s", (int)(strsz - which), strs + which);
        info->has_runpath = have_runpath;
    }
    size_t vo;
    if (verneed == 0 || elf_offset(base, size, eh, verneed, &vo) != 0)
        goto out;
    for (Elf64_Xword i = 0; i < verneednum && vo + sizeof(Elf64_Verneed) <= size; i++) {
        const Elf64_Verneed *vn = (const Elf64_Verneed *)(base + vo);
        size_t ao = vo + vn->vn_aux;
        for (int j = 0; j < vn->vn_cnt && ao + sizeof(Elf64_Vernaux) <= size; j++) {
            const Elf64_Vernaux *va = (const Elf64_Vernaux *)(base + ao);
            if (va->vna_name < strsz) {
                const char *name = strs + va->vna_name;
                int major = 0, minor = 0;
                if (sscanf(name, "GLIBC_%d.%d", &major, &minor) == 2 && major == 2 &&
                    minor > info->max_glibc_minor)
                    info->max_glibc_minor = minor;
            }
            if (va->vna_next == 0)
                break;
            ao += va->vna_next;
        }
        if (vn->vn_next == 0)
            break;
        vo += vn->vn_next;
    }
out:
    munmap(base, size);
    return rc;
}

/* Copies src to dst (following symlinks), mode 0755. */
static int package_copy(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in == -1)
        return -1;
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    if (out == -1) {
        close(in);
        return -1;
    }
    char chunk[65536];
    int rc = 0;
    for (;;) {
        ssize_t n = read(in, chunk, sizeof chunk);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            rc = -1;
            break;
        }
        if (n == 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, chunk + off, (size_t)(n - off));
            if (w == -1 && errno == EINTR)
                continue;
            if (w == -1) {
                rc = -1;
                break;
            }
            off += w;
        }
        if (rc != 0)
            break;
    }
    close(in);
    if (fchmod(out, 0755) == -1)
        rc = -1;
    if (close(out) == -1)
        rc = -1;
    return rc;
}

static void package_rmtree(const char *stage, const package_lib_t *libs, size_t n_libs)
{
    char p[PATH_MAX];
    for (size_t i = 0; i < n_libs; i++) {
        /* a truncated path would name another file: skip it */
        int n = snprintf(p, sizeof p, "%s/lib/%s", stage, libs[i].soname);
        if (n > 0 && (size_t)n < sizeof p)
            unlink(p);
    }
    snprintf(p, sizeof p, "%s/lib", stage);
    rmdir(p);
    snprintf(p, sizeof p, "%s/bootstrap", stage);
    unlink(p);
    rmdir(stage);
}

int platform_package_main(int argc, char **argv)
{
    const char *input = NULL, *output = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) {
            if (i + 1 >= argc) {
                usage(stderr);
                return 2;
            }
            output = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' || input != NULL) {
            usage(stderr);
            return 2;
        } else {
            input = argv[i];
        }
    }
    if (input == NULL || output == NULL) {
        usage(stderr);
        return 2;
    }
    struct stat st;
    if (stat(input, &st) == -1 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "tether package: %s: not a file\n", input);
        return 2;
    }
    package_elf_info_t info;
    if (package_elf_read(input, &info) != 0) {
        fprintf(stderr, "tether package: %s: not a 64-bit ELF executable\n", input);
        return 2;
    }

    int status = 2;
    static package_lib_t libs[PACKAGE_MAX_LIBS];
    size_t n_libs = 0;
    char stage[] = "/tmp/tether-package.XXXXXX";
    int staged = 0;
    char out_abs[PATH_MAX];
    buf_t ldd;
    buf_init(&ldd, PACKAGE_LDD_MAX);

    /* the loader's own view of what the bootstrap loads */
    const char *ldd_argv[] = {"ldd", input, NULL};
    int lrc = package_run(ldd_argv, NULL, &ldd);
    if (lrc != 0 && !(ldd.data && strstr(ldd.data, "not a dynamic executable"))) {
        fprintf(stderr, "tether package: ldd %s failed\n", input);
        goto out;
    }
    if (ldd.data != NULL && package_parse_ldd(ldd.data, libs, &n_libs) != 0) {
        fprintf(stderr, "tether package: cannot resolve the libraries of %s\n", input);
        goto out;
    }
    if (n_libs > 0 && strstr(info.rpath, "$ORIGIN/lib") == NULL) {
        fprintf(stderr,
                "tether package: %s has no $ORIGIN/lib rpath, so on AWS Lambda it would not find "
                "the %zu libraries bundled under lib/.\nRelink it with "
                "-Wl,-rpath,'$ORIGIN/lib' (CMake: BUILD_RPATH \"\\$ORIGIN/lib\").\n",
                input, n_libs);
        goto out;
    }
    int max_minor = info.max_glibc_minor;
    for (size_t i = 0; i < n_libs; i++) {
        package_elf_info_t li;
        if (package_elf_read(libs[i].path, &li) == 0 && li.max_glibc_minor > max_minor)
            max_minor = li.max_glibc_minor;
    }
    if (max_minor > PACKAGE_AL2023_GLIBC_MINOR)
        fprintf(stderr,
                "tether package: warning: these binaries need GLIBC_2.%d, newer than Amazon Linux "
                "2023's 2.%d: build on a system with glibc <= 2.%d (e.g. an AL2023 container) "
                "for AWS\n",
                max_minor, PACKAGE_AL2023_GLIBC_MINOR, PACKAGE_AL2023_GLIBC_MINOR);

    if (output[0] == '/') {
        snprintf(out_abs, sizeof out_abs, "%s", output);
    } else {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof cwd) == NULL ||
            (size_t)snprintf(out_abs, sizeof out_abs, "%s/%s", cwd, output) >= sizeof out_abs) {
            fprintf(stderr, "tether package: output path too long\n");
            goto out;
        }
    }
    if (mkdtemp(stage) == NULL) {
        fprintf(stderr, "tether package: mkdtemp: %s\n", strerror(errno));
        goto out;
    }
    staged = 1;
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/bootstrap", stage);
    if (package_copy(input, p) != 0) {
        fprintf(stderr, "tether package: cannot copy %s\n", input);
        goto out;
    }
    if (n_libs > 0) {
        snprintf(p, sizeof p, "%s/lib", stage);
        if (mkdir(p, 0755) == -1) {
            fprintf(stderr, "tether package: mkdir %s: %s\n", p, strerror(errno));
            goto out;
        }
    }
    for (size_t i = 0; i < n_libs; i++) {
        snprintf(p, sizeof p, "%s/lib/%s", stage, libs[i].soname);
        if (package_copy(libs[i].path, p) != 0) {
            fprintf(stderr, "tether package: cannot copy %s\n", libs[i].path);
            goto out;
        }
    }
    if (unlink(out_abs) == -1 && errno != ENOENT) {
        fprintf(stderr, "tether package: cannot replace %s: %s\n", output, strerror(errno));
        goto out;
    }
    const char *zip_argv[] = {"zip", "-q", "-r", "-X", out_abs, "bootstrap", n_libs ? "lib" : NULL,
                              NULL};
    if (package_run(zip_argv, stage, NULL) != 0) {
        fprintf(stderr, "tether package: zip failed (is Debian's zip installed?)\n");
        goto out;
    }
    printf("%s: bootstrap", output);
    for (size_t i = 0; i < n_libs; i++)
        printf("%s lib/%s", i ? "," : " +", libs[i].soname);
    printf("\n");
    status = 0;
out:
    if (staged)
        package_rmtree(stage, libs, n_libs);
    buf_free(&ldd);
    return status;
}
