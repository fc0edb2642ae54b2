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
 * headers (elfinfo.c). Every GLIBC_x.y that the bootstrap or a bundled library
 * needs must exist in the target's glibc (2.34 on provided.al2023, --glibc to
 * change it), else the loader there stops at start with "version `GLIBC_2.36'
 * not found": the package is refused unless --no-glibc-check. The zip itself
 * is made by Debian's `zip`.
 */
#include "platform/package.h"

#include "common/buf.h"
#include "platform/elfinfo.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define PACKAGE_MAX_LIBS 128
#define PACKAGE_LDD_MAX  (1u << 20)
/* Amazon Linux 2023's glibc, the default target: a newer GLIBC_x.y will not load there. */
#define PACKAGE_DEFAULT_GLIBC_MAJOR 2
#define PACKAGE_DEFAULT_GLIBC_MINOR 34

typedef struct package_lib {
    char soname[256]; /* the name the loader looks for: "libcurl.so.4" */
    char path[PATH_MAX];
} package_lib_t;

typedef struct package_target {
    int major, minor; /* the target's glibc version */
    int check;        /* refuse what needs more (0 with --no-glibc-check: only report) */
} package_target_t;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tether package BOOTSTRAP -o function.zip [--glibc X.Y] [--no-glibc-check]\n"
            "\n"
            "Makes a zip AWS Lambda (provided.al2023, provided.al2) accepts: BOOTSTRAP at\n"
            "the root as `bootstrap`, and under lib/ the shared libraries it needs that\n"
            "Amazon Linux does not ship (everything but glibc). Link the bootstrap with\n"
            "  -Wl,-rpath,'$ORIGIN/lib'\n"
            "so it finds them.\n"
            "\n"
            "  --glibc X.Y       the target's glibc (default 2.34: provided.al2023;\n"
            "                    2.26: provided.al2). A bootstrap or library that needs\n"
            "                    a newer GLIBC_x.y symbol version is refused.\n"
            "  --no-glibc-check  report such needs as warnings and package anyway.\n"
            "\n"
            "Exit status 0, or 2 with a message.\n");
}

/* True for glibc's own libraries (Debian 12's libc6 package: `dpkg -L libc6`),
 * which every Amazon Linux image has in the version matching its libc.so.6:
 * a copy from the build machine must never shadow them (they need its exact
 * ld.so through GLIBC_PRIVATE). */
static int package_is_system_lib(const char *soname)
{
    static const char *const prefixes[] = {
        "linux-vdso.so",
        "linux-gate.so",
        "ld-linux",
        "libc.so.",
        "libm.so.",
        "libpthread.so.",
        "libdl.so.",
        "librt.so.",
        "libutil.so.",
        "libresolv.so.",
        "libanl.so.",
        "libnss_",
        "libmvec.so.",
        "libBrokenLocale.so.",
        "libthread_db.so.",
        "libnsl.so.1",
        "libc_malloc_debug.so.",
        "libmemusage.so",
        "libpcprofile.so",
    };
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        if (strncmp(soname, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    }
    return 0;
}

/* The runtime a glibc version is known as, for messages: "provided.al2023". */
static void package_target_name(const package_target_t *t, char *out, size_t cap)
{
    if (t->major == 2 && t->minor == 34)
        snprintf(out, cap, "provided.al2023 (glibc 2.34)");
    else if (t->major == 2 && t->minor == 26)
        snprintf(out, cap, "provided.al2 (glibc 2.26)");
    else
        snprintf(out, cap, "glibc %d.%d", t->major, t->minor);
}

/* Parses --glibc's "X.Y" (two numbers, nothing else) into t. */
static int package_parse_glibc(const char *s, package_target_t *t)
{
    char *end;
    if (!isdigit((unsigned char)s[0]))
        return -1;
    long major = strtol(s, &end, 10);
    if (*end != '.' || major < 1 || major > 9 || !isdigit((unsigned char)end[1]))
        return -1;
    long minor = strtol(end + 1, &end, 10);
    if (*end != '\0' || minor > 999)
        return -1;
    t->major = (int)major;
    t->minor = (int)minor;
    return 0;
}

/*
 * Checks one binary's glibc needs against the target, printing each problem
 * (an error, or a warning with --no-glibc-check) naming the file as it will be
 * in the zip and where it came from. Returns the number of problems.
 */
static int package_check_glibc(const char *label, const char *path, const platform_elf_info_t *info,
                               int bundled, const package_target_t *t)
{
    const char *kind = t->check ? "error" : "warning";
    char target[64];
    package_target_name(t, target, sizeof target);
    int problems = 0;
    if (info->glibc_name[0] != '\0' &&
        platform_elf_glibc_cmp(info->glibc_major, info->glibc_minor, t->major, t->minor) > 0) {
        char syms[3 * 64 + 16] = "";
        for (size_t i = 0; i < info->n_syms && i < PLATFORM_ELF_MAX_SYMS; i++) {
            size_t len = strlen(syms);
            snprintf(syms + len, sizeof syms - len, "%s%s", i ? ", " : " (", info->syms[i]);
        }
        if (info->n_syms > PLATFORM_ELF_MAX_SYMS) {
            size_t len = strlen(syms);
            snprintf(syms + len, sizeof syms - len, ", ...");
        }
        if (info->n_syms > 0) {
            size_t len = strlen(syms);
            snprintf(syms + len, sizeof syms - len, ")");
        }
        fprintf(stderr, "tether package: %s: %s (%s) needs %s%s from %s, newer than %s\n", kind,
                label, path, info->glibc_name, syms, info->glibc_file, target);
        problems++;
    }
    if (info->unknown[0] != '\0') {
        fprintf(stderr,
                "tether package: %s: %s (%s) needs %s, a glibc version tether cannot date: check "
                "that %s has it\n",
                kind, label, path, info->unknown, target);
        problems++;
    }
    if (bundled && info->needs_private) {
        fprintf(stderr,
                "tether package: %s: %s (%s) needs GLIBC_PRIVATE: it is part of glibc and would "
                "break the target's own\n",
                kind, label, path);
        problems++;
    }
    return problems;
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
    package_target_t target = {PACKAGE_DEFAULT_GLIBC_MAJOR, PACKAGE_DEFAULT_GLIBC_MINOR, 1};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) {
            if (i + 1 >= argc) {
                usage(stderr);
                return 2;
            }
            output = argv[++i];
        } else if (strcmp(argv[i], "--glibc") == 0) {
            if (i + 1 >= argc || package_parse_glibc(argv[i + 1], &target) != 0) {
                fprintf(stderr, "tether package: --glibc wants a version such as 2.34\n");
                return 2;
            }
            i++;
        } else if (strcmp(argv[i], "--no-glibc-check") == 0) {
            target.check = 0;
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
    platform_elf_info_t info;
    char why[256];
    if (platform_elf_read_file(input, &info, why, sizeof why) != 0) {
        fprintf(stderr, "tether package: %s: not a 64-bit ELF executable: %s\n", input, why);
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
    /* every GLIBC_x.y the loader on the target will be asked for */
    int problems = package_check_glibc("bootstrap", input, &info, 0, &target);
    int need_major = info.glibc_major, need_minor = info.glibc_minor;
    for (size_t i = 0; i < n_libs; i++) {
        platform_elf_info_t li;
        char label[sizeof libs[i].soname + 4]; /* "lib/" + soname */
        snprintf(label, sizeof label, "lib/%.*s", (int)sizeof libs[i].soname - 1, libs[i].soname);
        if (platform_elf_read_file(libs[i].path, &li, why, sizeof why) != 0) {
            fprintf(stderr, "tether package: %s: cannot read %s: %s\n",
                    target.check ? "error" : "warning", libs[i].path, why);
            problems++;
            continue;
        }
        problems += package_check_glibc(label, libs[i].path, &li, 1, &target);
        if (platform_elf_glibc_cmp(li.glibc_major, li.glibc_minor, need_major, need_minor) > 0) {
            need_major = li.glibc_major;
            need_minor = li.glibc_minor;
        }
    }
    char target_name[64];
    package_target_name(&target, target_name, sizeof target_name);
    if (problems > 0 && target.check) {
        fprintf(
            stderr,
            "tether package: not packaged: on AWS Lambda the function would stop at start "
            "(\"version `GLIBC_x.y' not found\").\n"
            "Build the bootstrap and its libraries on a system whose glibc is %d.%d or older%s "
            "(see docs/runtime.md, \"Deploying to AWS Lambda\"), or pass --no-glibc-check to "
            "package it anyway.\n",
            target.major, target.minor,
            target.major == 2 && target.minor == 34
                ? ", such as an Amazon Linux 2023 container or the AWS provided.al2023 base image"
                : "");
        goto out;
    }

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
    printf("\n%s: ", output);
    if (need_major == 0)
        printf("needs no versioned glibc symbol");
    else
        printf("needs glibc \u2265 %d.%d", need_major, need_minor);
    if (problems == 0)
        printf(": fine for %s\n", target_name);
    else
        printf(": NOT fine for %s, packaged anyway (--no-glibc-check)\n", target_name);
    status = 0;
out:
    if (staged)
        package_rmtree(stage, libs, n_libs);
    buf_free(&ldd);
    return status;
}
