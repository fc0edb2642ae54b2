/*
 * tether package BOOTSTRAP -o function.zip: the zip AWS Lambda runs.
 *
 * By default the zip is self-contained, as aws-lambda-cpp's packager makes it:
 *   bootstrap   a POSIX sh script that starts the program through the bundled
 *               loader: lib/ld-linux-*.so --library-path lib --argv0 $0 bin/NAME
 *   bin/NAME    the program (debug sections stripped)
 *   lib/        every shared library ldd says it loads, glibc and the loader
 *               included, plus libgcc_s.so.1, which glibc itself dlopens to
 *               unwind threads (pthread_exit, pthread_cancel); --also adds
 *               libraries the function dlopens itself
 * It runs with nothing from the target but /bin/sh, on every provided.*
 * runtime whatever its glibc, since nothing of the target's /lib is loaded.
 *
 * With --host-libc the zip is the older shape: `bootstrap` is the program,
 * lib/ holds everything but glibc's own libraries, which the target provides;
 * the program finds lib/ through its $ORIGIN/lib rpath. Then every GLIBC_x.y
 * the program or a bundled library needs must exist in the target's glibc
 * (2.34 on provided.al2023, --glibc to change it), read from their ELF headers
 * (elfinfo.c): the package is refused unless --no-glibc-check.
 *
 * The library list comes from ldd (the dynamic loader's own resolution). The
 * zip itself is made by Debian's `zip`, the stripping by binutils' `strip`.
 */
#include "platform/package.h"

#include "common/buf.h"
#include "common/fileio.h"
#include "platform/elfinfo.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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
/* Amazon Linux 2023's glibc, the default target of --host-libc. */
#define PACKAGE_DEFAULT_GLIBC_MAJOR 2
#define PACKAGE_DEFAULT_GLIBC_MINOR 34
/* AWS Lambda's limits on a function's code (bytes): zipped for a direct
 * upload, and unzipped. */
#define PACKAGE_LAMBDA_ZIPPED_MAX   (50ull << 20)
#define PACKAGE_LAMBDA_UNZIPPED_MAX 262144000ull

typedef struct package_lib {
    char soname[256]; /* the name the loader looks for: "libcurl.so.4" */
    char path[PATH_MAX];
    int is_glibc; /* one of glibc's own libraries (bundled only when self-contained) */
} package_lib_t;

typedef struct package_libs {
    package_lib_t v[PACKAGE_MAX_LIBS];
    size_t n;
    char loader[PATH_MAX]; /* the program's PT_INTERP as ldd resolved it, "" when static */
    char loader_name[256]; /* its file name: "ld-linux-x86-64.so.2" */
} package_libs_t;

typedef struct package_target {
    int major, minor; /* the target's glibc version */
    int check;        /* refuse what needs more (0 with --no-glibc-check: only report) */
} package_target_t;

typedef struct package_opts {
    const char *input;
    const char *output;
    const char *name;     /* bin/NAME (default: the input's file name) */
    const char *also[16]; /* --also: libraries the function dlopens itself */
    size_t n_also;
    int host_libc;           /* --host-libc: leave glibc to the target */
    int strip;               /* strip debug sections of bin/NAME (0 with --no-strip) */
    package_target_t target; /* --host-libc's glibc check */
} package_opts_t;

static void usage(FILE *out)
{
    fprintf(out, "usage: tether package BOOTSTRAP -o function.zip [--name NAME] [--also LIB]...\n"
                 "                      [--no-strip]\n"
                 "       tether package BOOTSTRAP -o function.zip --host-libc [--glibc X.Y]\n"
                 "                      [--no-glibc-check]\n"
                 "\n"
                 "Makes a zip for AWS Lambda's provided.al2023 and provided.al2 runtimes.\n"
                 "\n"
                 "By default the zip is self-contained: BOOTSTRAP as bin/NAME, every shared\n"
                 "library it loads under lib/, glibc and its dynamic loader included, and a\n"
                 "`bootstrap` script that starts bin/NAME through the bundled loader. It needs\n"
                 "nothing from the target but /bin/sh.\n"
                 "\n"
                 "  --name NAME       the program's name in bin/ (default: BOOTSTRAP's file name)\n"
                 "  --also LIB        also bundle LIB (a path) and what it loads: for libraries\n"
                 "                    the function opens with dlopen (repeatable)\n"
                 "  --no-strip        keep bin/NAME's debug sections\n"
                 "\n"
                 "  --host-libc       use the target's glibc instead: BOOTSTRAP at the root as\n"
                 "                    `bootstrap`, lib/ without glibc; link BOOTSTRAP with\n"
                 "                    -Wl,-rpath,'$ORIGIN/lib' so it finds lib/\n"
                 "  --glibc X.Y       with --host-libc, the target's glibc (default 2.34:\n"
                 "                    provided.al2023; 2.26: provided.al2). A bootstrap or\n"
                 "                    library that needs a newer GLIBC_x.y is refused.\n"
                 "  --no-glibc-check  with --host-libc, report such needs as warnings and\n"
                 "                    package anyway.\n"
                 "\n"
                 "Exit status 0, or 2 with a message.\n");
}

/* True for glibc's own libraries (Debian 12's libc6 package: `dpkg -L libc6`).
 * With --host-libc they are never bundled: every Amazon Linux image has them
 * in the version matching its libc.so.6, and a copy from the build machine
 * would shadow them (they need its exact ld.so through GLIBC_PRIVATE). */
static int package_is_glibc_lib(const char *soname)
{
    static const char *const prefixes[] = {
        "ld-linux",         "libc.so.",        "libm.so.",
        "libpthread.so.",   "libdl.so.",       "librt.so.",
        "libutil.so.",      "libresolv.so.",   "libanl.so.",
        "libnss_",          "libmvec.so.",     "libBrokenLocale.so.",
        "libthread_db.so.", "libnsl.so.1",     "libc_malloc_debug.so.",
        "libmemusage.so",   "libpcprofile.so",
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

/* The file-name part of path. */
static const char *package_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Adds soname at path to libs unless a library of that name is there already. */
static int package_libs_add(package_libs_t *libs, const char *soname, const char *path)
{
    for (size_t i = 0; i < libs->n; i++) {
        if (strcmp(libs->v[i].soname, soname) == 0)
            return 0;
    }
    size_t nl = strlen(soname), pl = strlen(path);
    if (libs->n >= PACKAGE_MAX_LIBS || nl >= sizeof libs->v[0].soname ||
        pl >= sizeof libs->v[0].path) {
        fprintf(stderr, "tether package: too many libraries, or a name too long: %s\n", path);
        return -1;
    }
    package_lib_t *lib = &libs->v[libs->n++];
    memcpy(lib->soname, soname, nl + 1);
    memcpy(lib->path, path, pl + 1);
    lib->is_glibc = package_is_glibc_lib(soname);
    return 0;
}

/* Adds what one line of ldd's output names: "soname => /path (0x...)", or the
 * loader as "/lib64/ld-linux-x86-64.so.2 (0x...)". The vDSO ("linux-vdso.so.1
 * (0x...)") is the kernel's, not a file. "soname => not found" is an error. */
static int package_ldd_line(char *l, package_libs_t *libs)
{
    char *paren = strstr(l, " (0x");
    if (paren != NULL)
        *paren = '\0';
    while (*l == ' ' || *l == '\t')
        l++;
    char *arrow = strstr(l, " => ");
    if (arrow == NULL) {
        if (l[0] != '/')
            return 0; /* the vDSO, or "statically linked" */
        const char *name = package_basename(l);
        if (libs->loader[0] == '\0' && strlen(l) < sizeof libs->loader &&
            strlen(name) < sizeof libs->loader_name) {
            snprintf(libs->loader, sizeof libs->loader, "%s", l);
            snprintf(libs->loader_name, sizeof libs->loader_name, "%s", name);
        }
        return 0;
    }
    *arrow = '\0';
    const char *path = arrow + 4;
    if (strcmp(path, "not found") == 0) {
        fprintf(stderr, "tether package: %s is not found on this machine\n", l);
        return -1;
    }
    if (path[0] != '/')
        return 0;
    return package_libs_add(libs, l, path);
}

/* Adds to libs every library ldd says file (a dynamically linked ELF file)
 * loads, and the loader. */
static int package_ldd(const char *file, package_libs_t *libs)
{
    buf_t out;
    buf_init(&out, PACKAGE_LDD_MAX);
    const char *argv[] = {"ldd", file, NULL};
    int status = -1;
    if (package_run(argv, NULL, &out) != 0) {
        fprintf(stderr, "tether package: ldd %s failed\n", file);
        goto out;
    }
    const char *line = out.data;
    while (line != NULL && *line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char l[PATH_MAX + 300];
        if (len < sizeof l) {
            memcpy(l, line, len);
            l[len] = '\0';
            if (package_ldd_line(l, libs) != 0)
                goto out;
        }
        line = end ? end + 1 : NULL;
    }
    status = 0;
out:
    buf_free(&out);
    return status;
}

static int package_rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type == FTW_DP)
        return rmdir(path) == -1 ? -1 : 0;
    return unlink(path) == -1 ? -1 : 0;
}

/* Removes the staging folder and everything in it (it holds only what we put). */
static void package_rmtree(const char *stage)
{
    if (nftw(stage, package_rm_entry, 16, FTW_DEPTH | FTW_PHYS) == -1)
        fprintf(stderr, "tether package: warning: cannot remove %s: %s\n", stage, strerror(errno));
}

/* Writes stage/bootstrap: the script that starts bin/name through the bundled
 * loader. POSIX sh with no external command, so Amazon Linux's bash, busybox
 * or dash all run it; the folder is found from $0, as Lambda starts
 * /var/task/bootstrap by its path. --library-path replaces LD_LIBRARY_PATH
 * (which Lambda points at the image's own /lib64) for the program and for
 * everything it dlopens; --argv0 keeps the program's argv[0]. */
static int package_write_script(const char *stage, const char *loader, const char *name)
{
    char p[PATH_MAX], text[2048];
    snprintf(p, sizeof p, "%s/bootstrap", stage);
    int n = snprintf(
        text, sizeof text,
        "#!/bin/sh\n"
        "# Made by tether package: starts bin/%s with the glibc and libraries bundled\n"
        "# in lib/, through the bundled dynamic loader, so nothing of the system's\n"
        "# /lib is used.\n"
        "# libmongoc (if the program uses it) keeps its counters in memory rather\n"
        "# than in /dev/shm, which Lambda does not have.\n"
        "export MONGOC_DISABLE_SHM=\"${MONGOC_DISABLE_SHM-1}\"\n"
        "case $0 in\n"
        "*/*) here=${0%%/*} ;;\n"
        "*) here=. ;;\n"
        "esac\n"
        "exec \"$here/lib/%s\" --library-path \"$here/lib\" --argv0 \"$0\" \"$here/bin/%s\" "
        "\"$@\"\n",
        name, loader, name);
    if (n < 0 || (size_t)n >= sizeof text)
        return -1;
    return fileio_write(p, text, (size_t)n, 0755);
}

/* Strips the debug sections of the staged program (binutils' strip); the
 * symbol table stays, for backtraces. A failure only costs size. */
static void package_strip(const char *path)
{
    const char *argv[] = {"strip", "--strip-debug", path, NULL};
    if (package_run(argv, NULL, NULL) != 0)
        fprintf(stderr, "tether package: warning: could not strip %s (is binutils installed?)\n",
                path);
}

/* Size of the file at path, 0 when it cannot be read. */
static unsigned long long package_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == -1 ? 0 : (unsigned long long)st.st_size;
}

/* "1.4 MiB", "312 KiB", "184 B". */
static void package_fmt_size(unsigned long long n, char *out, size_t cap)
{
    if (n >= (1ull << 20))
        snprintf(out, cap, "%.1f MiB", (double)n / (1 << 20));
    else if (n >= 1024)
        snprintf(out, cap, "%llu KiB", (n + 512) / 1024);
    else
        snprintf(out, cap, "%llu B", n);
}

/* Prints one staged file and its size; returns the size. */
static unsigned long long package_print_file(const char *stage, const char *rel)
{
    char p[PATH_MAX], sz[32];
    snprintf(p, sizeof p, "%s/%s", stage, rel);
    unsigned long long n = package_size(p);
    package_fmt_size(n, sz, sizeof sz);
    printf("  %-34s %10s\n", rel, sz);
    return n;
}

/* --host-libc: the target's glibc must have every GLIBC_x.y the program and
 * the bundled libraries need. Prints the problems; returns their number, and
 * the highest need in need_major and need_minor (OUT, 0.0 when none). */
static int package_check_host_libc(const package_opts_t *o, const platform_elf_info_t *info,
                                   const package_libs_t *libs, int *need_major, int *need_minor)
{
    int problems = package_check_glibc("bootstrap", o->input, info, 0, &o->target);
    *need_major = info->glibc_major;
    *need_minor = info->glibc_minor;
    for (size_t i = 0; i < libs->n; i++) {
        const package_lib_t *lib = &libs->v[i];
        if (lib->is_glibc)
            continue;
        platform_elf_info_t li;
        char why[256];
        char label[sizeof lib->soname + 4]; /* "lib/" + soname */
        snprintf(label, sizeof label, "lib/%.*s", (int)sizeof lib->soname - 1, lib->soname);
        if (platform_elf_read_file(lib->path, &li, why, sizeof why) != 0) {
            fprintf(stderr, "tether package: %s: cannot read %s: %s\n",
                    o->target.check ? "error" : "warning", lib->path, why);
            problems++;
            continue;
        }
        problems += package_check_glibc(label, lib->path, &li, 1, &o->target);
        if (platform_elf_glibc_cmp(li.glibc_major, li.glibc_minor, *need_major, *need_minor) > 0) {
            *need_major = li.glibc_major;
            *need_minor = li.glibc_minor;
        }
    }
    return problems;
}

/* Puts the zip's files into stage: the program (as bin/NAME behind the script,
 * or as bootstrap), and lib/. */
static int package_stage(const package_opts_t *o, const package_libs_t *libs, const char *stage,
                         int self_contained)
{
    char p[PATH_MAX];
    if (self_contained) {
        snprintf(p, sizeof p, "%s/bin", stage);
        if (mkdir(p, 0755) == -1) {
            fprintf(stderr, "tether package: mkdir %s: %s\n", p, strerror(errno));
            return -1;
        }
        snprintf(p, sizeof p, "%s/bin/%s", stage, o->name);
        if (package_write_script(stage, libs->loader_name, o->name) != 0) {
            fprintf(stderr, "tether package: cannot write %s/bootstrap\n", stage);
            return -1;
        }
    } else {
        snprintf(p, sizeof p, "%s/bootstrap", stage);
    }
    if (fileio_copy(o->input, p, 0755) != 0) {
        fprintf(stderr, "tether package: cannot copy %s\n", o->input);
        return -1;
    }
    if (o->strip)
        package_strip(p);
    int any = self_contained && libs->loader[0] != '\0';
    for (size_t i = 0; i < libs->n; i++)
        any |= self_contained || !libs->v[i].is_glibc;
    if (!any)
        return 0;
    snprintf(p, sizeof p, "%s/lib", stage);
    if (mkdir(p, 0755) == -1) {
        fprintf(stderr, "tether package: mkdir %s: %s\n", p, strerror(errno));
        return -1;
    }
    if (self_contained && libs->loader[0] != '\0') {
        snprintf(p, sizeof p, "%s/lib/%s", stage, libs->loader_name);
        if (fileio_copy(libs->loader, p, 0755) != 0) {
            fprintf(stderr, "tether package: cannot copy %s\n", libs->loader);
            return -1;
        }
    }
    for (size_t i = 0; i < libs->n; i++) {
        if (!self_contained && libs->v[i].is_glibc)
            continue;
        snprintf(p, sizeof p, "%s/lib/%s", stage, libs->v[i].soname);
        if (fileio_copy(libs->v[i].path, p, 0755) != 0) {
            fprintf(stderr, "tether package: cannot copy %s\n", libs->v[i].path);
            return -1;
        }
    }
    return 0;
}

/* Prints every file of the zip with its size, and the totals against
 * Lambda's limits. Returns -1 when the unzipped size is over Lambda's limit. */
static int package_report(const package_opts_t *o, const package_libs_t *libs, const char *stage,
                          const char *zip_path, int self_contained)
{
    unsigned long long total = 0;
    size_t files = 0;
    char rel[PATH_MAX];
    total += package_print_file(stage, "bootstrap");
    files++;
    if (self_contained) {
        snprintf(rel, sizeof rel, "bin/%s", o->name);
        total += package_print_file(stage, rel);
        files++;
        if (libs->loader[0] != '\0') {
            snprintf(rel, sizeof rel, "lib/%s", libs->loader_name);
            total += package_print_file(stage, rel);
            files++;
        }
    }
    for (size_t i = 0; i < libs->n; i++) {
        if (!self_contained && libs->v[i].is_glibc)
            continue;
        snprintf(rel, sizeof rel, "lib/%s", libs->v[i].soname);
        total += package_print_file(stage, rel);
        files++;
    }
    unsigned long long zipped = package_size(zip_path);
    char a[32], b[32];
    package_fmt_size(total, a, sizeof a);
    package_fmt_size(zipped, b, sizeof b);
    printf("%s: %zu files, %s unzipped (Lambda allows 250 MiB), %s zipped (50 MiB for a direct "
           "upload)\n",
           o->output, files, a, b);
    if (zipped > PACKAGE_LAMBDA_ZIPPED_MAX)
        fprintf(stderr,
                "tether package: warning: %s is over 50 MiB: upload it to S3 and create the "
                "function from there\n",
                o->output);
    if (total > PACKAGE_LAMBDA_UNZIPPED_MAX) {
        fprintf(stderr, "tether package: error: %s unzipped is over Lambda's 250 MiB limit\n",
                o->output);
        return -1;
    }
    return 0;
}

/* Parses argv into o. Returns 0, 1 for --help (printed), or -1 (usage printed). */
static int package_parse_args(int argc, char **argv, package_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->strip = 1;
    o->target = (package_target_t){PACKAGE_DEFAULT_GLIBC_MAJOR, PACKAGE_DEFAULT_GLIBC_MINOR, 1};
    int glibc_opts = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && has_value) {
            o->output = argv[++i];
        } else if (strcmp(a, "--name") == 0 && has_value) {
            o->name = argv[++i];
        } else if (strcmp(a, "--also") == 0 && has_value) {
            if (o->n_also >= sizeof o->also / sizeof o->also[0]) {
                fprintf(stderr, "tether package: at most 16 --also\n");
                return -1;
            }
            o->also[o->n_also++] = argv[++i];
        } else if (strcmp(a, "--glibc") == 0) {
            if (!has_value || package_parse_glibc(argv[i + 1], &o->target) != 0) {
                fprintf(stderr, "tether package: --glibc wants a version such as 2.34\n");
                return -1;
            }
            i++;
            glibc_opts = 1;
        } else if (strcmp(a, "--no-glibc-check") == 0) {
            o->target.check = 0;
            glibc_opts = 1;
        } else if (strcmp(a, "--host-libc") == 0) {
            o->host_libc = 1;
        } else if (strcmp(a, "--no-strip") == 0) {
            o->strip = 0;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        } else if (a[0] == '-' || o->input != NULL) {
            usage(stderr);
            return -1;
        } else {
            o->input = a;
        }
    }
    if (o->input == NULL || o->output == NULL) {
        usage(stderr);
        return -1;
    }
    if (glibc_opts && !o->host_libc) {
        fprintf(stderr, "tether package: --glibc and --no-glibc-check go with --host-libc (a "
                        "self-contained zip brings its own glibc)\n");
        return -1;
    }
    if (o->name == NULL)
        o->name = package_basename(o->input);
    if (o->name[0] == '\0' || o->name[0] == '.' || strchr(o->name, '/') != NULL ||
        strlen(o->name) > 128) {
        fprintf(stderr, "tether package: --name wants a plain file name\n");
        return -1;
    }
    return 0;
}

/* Adds libgcc_s.so.1, which glibc dlopens to unwind a thread that exits or
 * is cancelled, from libc.so.6's folder, when the program does not load it
 * already. */
static int package_add_libgcc(package_libs_t *libs)
{
    for (size_t i = 0; i < libs->n; i++) {
        if (strcmp(libs->v[i].soname, "libc.so.6") == 0) {
            char p[PATH_MAX];
            const char *slash = strrchr(libs->v[i].path, '/');
            int n = snprintf(p, sizeof p, "%.*s/libgcc_s.so.1", (int)(slash - libs->v[i].path),
                             libs->v[i].path);
            if (n > 0 && (size_t)n < sizeof p && access(p, R_OK) == 0)
                return package_libs_add(libs, "libgcc_s.so.1", p);
            return 0;
        }
    }
    return 0;
}

/* path made absolute against the current directory, into out. */
static int package_abs_path(const char *path, char *out, size_t cap)
{
    if (path[0] == '/')
        return (size_t)snprintf(out, cap, "%s", path) < cap ? 0 : -1;
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == NULL)
        return -1;
    return (size_t)snprintf(out, cap, "%s/%s", cwd, path) < cap ? 0 : -1;
}

int platform_package_main(int argc, char **argv)
{
    package_opts_t o;
    int prc = package_parse_args(argc, argv, &o);
    if (prc != 0)
        return prc > 0 ? 0 : 2;
    struct stat st;
    if (stat(o.input, &st) == -1 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "tether package: %s: not a file\n", o.input);
        return 2;
    }
    platform_elf_info_t info;
    char why[256];
    if (platform_elf_read_file(o.input, &info, why, sizeof why) != 0) {
        fprintf(stderr, "tether package: %s: not a 64-bit ELF executable: %s\n", o.input, why);
        return 2;
    }

    int status = 2;
    static package_libs_t libs;
    memset(&libs, 0, sizeof libs);
    char stage[] = "/tmp/tether-package.XXXXXX";
    int staged = 0;
    char out_abs[PATH_MAX];

    /* the loader's own view of what the program (and each --also) loads */
    if (info.is_dynamic && package_ldd(o.input, &libs) != 0)
        goto out;
    for (size_t i = 0; i < o.n_also; i++) {
        char real[PATH_MAX];
        if (realpath(o.also[i], real) == NULL) {
            fprintf(stderr, "tether package: --also %s: %s\n", o.also[i], strerror(errno));
            goto out;
        }
        if (package_libs_add(&libs, package_basename(o.also[i]), real) != 0 ||
            package_ldd(real, &libs) != 0)
            goto out;
    }
    /* a static program needs no loader and no library: it is the bootstrap */
    int self_contained = !o.host_libc && libs.loader[0] != '\0';
    if (self_contained && package_add_libgcc(&libs) != 0)
        goto out;

    int problems = 0, need_major = 0, need_minor = 0;
    char target_name[64];
    package_target_name(&o.target, target_name, sizeof target_name);
    if (o.host_libc) {
        size_t bundled = 0;
        for (size_t i = 0; i < libs.n; i++)
            bundled += !libs.v[i].is_glibc;
        if (bundled > 0 && strstr(info.rpath, "$ORIGIN/lib") == NULL) {
            fprintf(stderr,
                    "tether package: %s has no $ORIGIN/lib rpath, so on AWS Lambda it would not "
                    "find the %zu libraries bundled under lib/.\nRelink it with "
                    "-Wl,-rpath,'$ORIGIN/lib' (CMake: BUILD_RPATH \"\\$ORIGIN/lib\"), or package "
                    "it without --host-libc.\n",
                    o.input, bundled);
            goto out;
        }
        problems = package_check_host_libc(&o, &info, &libs, &need_major, &need_minor);
        if (problems > 0 && o.target.check) {
            fprintf(stderr,
                    "tether package: not packaged: on AWS Lambda the function would stop at "
                    "start (\"version `GLIBC_x.y' not found\").\n"
                    "Package it without --host-libc (the zip then brings its own glibc), or "
                    "build it on a system whose glibc is %d.%d or older, or pass "
                    "--no-glibc-check to package it anyway.\n",
                    o.target.major, o.target.minor);
            goto out;
        }
    }

    if (package_abs_path(o.output, out_abs, sizeof out_abs) != 0) {
        fprintf(stderr, "tether package: output path too long\n");
        goto out;
    }
    if (mkdtemp(stage) == NULL) {
        fprintf(stderr, "tether package: mkdtemp: %s\n", strerror(errno));
        goto out;
    }
    staged = 1;
    if (package_stage(&o, &libs, stage, self_contained) != 0)
        goto out;
    if (unlink(out_abs) == -1 && errno != ENOENT) {
        fprintf(stderr, "tether package: cannot replace %s: %s\n", o.output, strerror(errno));
        goto out;
    }
    char lib_dir[PATH_MAX];
    snprintf(lib_dir, sizeof lib_dir, "%s/lib", stage);
    const char *zip_argv[10] = {"zip", "-q", "-r", "-X", out_abs, "bootstrap"};
    size_t za = 6;
    if (access(lib_dir, F_OK) == 0)
        zip_argv[za++] = "lib";
    if (self_contained)
        zip_argv[za++] = "bin";
    zip_argv[za] = NULL;
    if (package_run(zip_argv, stage, NULL) != 0) {
        fprintf(stderr, "tether package: zip failed (is Debian's zip installed?)\n");
        goto out;
    }
    if (self_contained) {
        char libc_version[64] = "?";
        confstr(_CS_GNU_LIBC_VERSION, libc_version, sizeof libc_version);
        printf("%s: self-contained: bin/%s starts through the bundled %s (%s), needing nothing "
               "from the target but /bin/sh\n",
               o.output, o.name, libs.loader_name, libc_version);
    } else if (o.host_libc) {
        printf("%s: for the target's glibc: ", o.output);
        if (need_major == 0)
            printf("needs no versioned glibc symbol");
        else
            printf("needs glibc \u2265 %d.%d", need_major, need_minor);
        if (problems == 0)
            printf(": fine for %s\n", target_name);
        else
            printf(": NOT fine for %s, packaged anyway (--no-glibc-check)\n", target_name);
    } else {
        printf("%s: a static executable: nothing to bundle\n", o.output);
    }
    if (package_report(&o, &libs, stage, out_abs, self_contained) != 0) {
        unlink(out_abs);
        goto out;
    }
    status = 0;
out:
    if (staged)
        package_rmtree(stage);
    return status;
}
