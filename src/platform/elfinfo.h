/*
 * What the dynamic loader will ask of an ELF executable or shared library,
 * read from its headers with <elf.h> alone: the rpath, and the glibc symbol
 * versions it needs (its version-needed table, .gnu.version_r, reached through
 * the dynamic segment as the loader reaches it). `tether package` uses it to
 * refuse a zip that AWS Lambda's older glibc would not load ("version
 * `GLIBC_2.36' not found"). Only 64-bit little-endian ELF is read (x86-64 and
 * arm64, the two Lambda architectures); anything else, truncated or corrupt
 * input included, is an error with a message, never a crash.
 */
#ifndef TETHER_PLATFORM_ELFINFO_H
#define TETHER_PLATFORM_ELFINFO_H

#include <stddef.h>

#define PLATFORM_ELF_MAX_SYMS 3

typedef struct platform_elf_info {
    int machine;         /* e_machine: 62 (EM_X86_64), 183 (EM_AARCH64), ... */
    int is_dynamic;      /* has a dynamic segment: 0 for a static executable */
    char rpath[1024];    /* DT_RUNPATH, else DT_RPATH; "" when none (truncated past 1023) */
    int has_runpath;     /* rpath came from DT_RUNPATH (serves direct dependencies only) */
    int glibc_major;     /* highest GLIBC_x.y needed, 0.0 when none; */
    int glibc_minor;     /*   GLIBC_ABI_DT_RELR counts as 2.36, the glibc that added it */
    char glibc_name[48]; /* that version's name: "GLIBC_2.36", "GLIBC_ABI_DT_RELR" */
    char glibc_file[64]; /* the library it is needed from: "libc.so.6" */
    char unknown[48];    /* a GLIBC_ version this reader cannot date ("" when none) */
    int needs_private;   /* needs GLIBC_PRIVATE: the object is part of glibc itself */
    size_t n_syms;       /* undefined symbols bound to the highest version */
    char syms[PLATFORM_ELF_MAX_SYMS][64]; /* the first n_syms of them (at most MAX) */
} platform_elf_info_t;

/* Reads the ELF image data[0..size) into *info (OUT, fully overwritten).
 * Returns 0, or -1 with a one-line reason in err (size errlen) for input that
 * is not a 64-bit little-endian ELF executable or shared object, or whose
 * headers point outside the image. Never reads outside data. */
__attribute__((warn_unused_result)) int platform_elf_parse(const void *data, size_t size,
                                                           platform_elf_info_t *info, char *err,
                                                           size_t errlen);

/* platform_elf_parse on the file at path (mapped read-only, then unmapped).
 * Returns 0, or -1 with the reason (including open/mmap errors) in err. */
__attribute__((warn_unused_result)) int
platform_elf_read_file(const char *path, platform_elf_info_t *info, char *err, size_t errlen);

/* Compares glibc versions: <0, 0, >0 as a.b is older, equal, newer than c.d. */
int platform_elf_glibc_cmp(int a, int b, int c, int d);

#endif
