/*
 * The ELF reader behind `tether package`'s glibc check (elfinfo.h). It walks
 * what the dynamic loader walks: the program headers, the dynamic segment, the
 * string table, the version-needed table (DT_VERNEED, the .gnu.version_r
 * section) and, to name the symbols behind the newest version, the dynamic
 * symbol table with its version indexes (DT_VERSYM). Every read goes through
 * elf_get, which copies a bounds-checked range into a local (so odd offsets
 * in a corrupt file are neither out of bounds nor misaligned), and every loop
 * is bounded by the image size or a fixed cap.
 */
#include "platform/elfinfo.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "elfinfo.c reads little-endian ELF in place: port it before building on a big-endian host"
#endif

#define ELF_MAX_VERNEED   4096       /* version-needed records walked, files and names together */
#define ELF_MAX_TOP_INDEX 16         /* version indexes that can share the newest version */
#define ELF_MAX_SYMBOLS   (1u << 22) /* dynamic symbols scanned for names */

typedef struct elf_image {
    const unsigned char *base;
    size_t size;
    Elf64_Ehdr eh;
    char *err;
    size_t errlen;
    uint64_t stroff; /* file offset of the dynamic string table */
    uint64_t strsz;  /* its size, clamped to the file */
} elf_image_t;

__attribute__((format(printf, 2, 3))) static int elf_fail(elf_image_t *im, const char *fmt, ...)
{
    if (im->errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(im->err, im->errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Copies n bytes at file offset off into out when they lie inside the image. */
static int elf_get(const elf_image_t *im, uint64_t off, void *out, size_t n)
{
    if (off > im->size || n > im->size - off)
        return -1;
    memcpy(out, im->base + off, n);
    return 0;
}

static int elf_phdr(const elf_image_t *im, size_t i, Elf64_Phdr *ph)
{
    /* the table was checked to lie in the file, so this cannot overflow */
    return elf_get(im, im->eh.e_phoff + (uint64_t)i * im->eh.e_phentsize, ph, sizeof *ph);
}

/* The file offset of virtual address vaddr, from the PT_LOAD segments, and how
 * many bytes of that segment follow it inside the file (avail). */
static int elf_map(const elf_image_t *im, uint64_t vaddr, uint64_t *off, uint64_t *avail)
{
    for (size_t i = 0; i < im->eh.e_phnum; i++) {
        Elf64_Phdr ph;
        if (elf_phdr(im, i, &ph) != 0 || ph.p_type != PT_LOAD)
            continue;
        if (vaddr < ph.p_vaddr || vaddr - ph.p_vaddr >= ph.p_filesz || ph.p_offset > im->size)
            continue;
        uint64_t delta = vaddr - ph.p_vaddr;
        if (delta >= im->size - ph.p_offset)
            return -1; /* the segment says more than the file holds */
        *off = ph.p_offset + delta;
        uint64_t in_seg = ph.p_filesz - delta, in_file = im->size - *off;
        *avail = in_seg < in_file ? in_seg : in_file;
        return 0;
    }
    return -1;
}

/* The NUL-terminated string at index idx of the dynamic string table, or NULL
 * when it does not end inside the table. */
static const char *elf_str(const elf_image_t *im, uint64_t idx)
{
    if (idx >= im->strsz)
        return NULL;
    const char *s = (const char *)im->base + im->stroff + idx;
    return memchr(s, '\0', (size_t)(im->strsz - idx)) != NULL ? s : NULL;
}

/* Reads a decimal number of at most 4 digits at *p, advancing it. */
static int elf_number(const char **p, int *out)
{
    int n = 0, digits = 0;
    while (**p >= '0' && **p <= '9') {
        if (++digits > 4)
            return -1;
        n = n * 10 + (**p - '0');
        (*p)++;
    }
    *out = n;
    return digits > 0 ? 0 : -1;
}

/* What version of glibc a version name asks for: 1 with major.minor for
 * GLIBC_x.y[.z] and the GLIBC_ABI_* markers this reader can date, 0 for a name
 * that is not glibc's, -1 for a GLIBC_ name it cannot date. GLIBC_PRIVATE is
 * the caller's business. */
static int elf_glibc_version(const char *name, int *major, int *minor)
{
    if (strncmp(name, "GLIBC_", 6) != 0)
        return 0;
    const char *p = name + 6;
    if (strcmp(p, "ABI_DT_RELR") == 0) { /* -z pack-relative-relocs, glibc 2.36 */
        *major = 2;
        *minor = 36;
        return 1;
    }
    int patch;
    if (elf_number(&p, major) != 0 || *major == 0 || *p++ != '.' || elf_number(&p, minor) != 0)
        return -1;
    if (*p == '.' && (p++, elf_number(&p, &patch) != 0))
        return -1;
    return *p == '\0' ? 1 : -1;
}

int platform_elf_glibc_cmp(int a, int b, int c, int d)
{
    if (a != c)
        return a < c ? -1 : 1;
    return b < d ? -1 : b > d ? 1 : 0;
}

static void elf_copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

/* Walks the version-needed table at vaddr (count records), keeping the newest
 * glibc version in info and the version indexes that name it in top. */
static int elf_read_verneed(elf_image_t *im, uint64_t vaddr, uint64_t count,
                            platform_elf_info_t *info, uint16_t *top, size_t *n_top)
{
    uint64_t vo, avail;
    if (elf_map(im, vaddr, &vo, &avail) != 0)
        return elf_fail(im, "version-needed table outside the file");
    size_t walked = 0;
    for (uint64_t i = 0; i < count; i++) {
        Elf64_Verneed vn;
        if (++walked > ELF_MAX_VERNEED)
            return elf_fail(im, "more than %d version-needed records", ELF_MAX_VERNEED);
        if (elf_get(im, vo, &vn, sizeof vn) != 0)
            return elf_fail(im, "version-needed record %llu outside the file",
                            (unsigned long long)i);
        if (vn.vn_version != VER_NEED_CURRENT)
            return elf_fail(im, "version-needed record %llu has version %u", (unsigned long long)i,
                            (unsigned)vn.vn_version);
        const char *file = elf_str(im, vn.vn_file);
        if (file == NULL)
            return elf_fail(im, "version-needed record %llu names no file", (unsigned long long)i);
        uint64_t ao = vo + vn.vn_aux;
        for (unsigned j = 0; j < vn.vn_cnt; j++) {
            Elf64_Vernaux va;
            if (++walked > ELF_MAX_VERNEED)
                return elf_fail(im, "more than %d version-needed records", ELF_MAX_VERNEED);
            if (elf_get(im, ao, &va, sizeof va) != 0)
                return elf_fail(im, "version needed from %s outside the file", file);
            const char *name = elf_str(im, va.vna_name);
            if (name == NULL)
                return elf_fail(im, "version needed from %s has no name", file);
            int major = 0, minor = 0;
            int kind =
                strcmp(name, "GLIBC_PRIVATE") == 0 ? 2 : elf_glibc_version(name, &major, &minor);
            uint16_t index = va.vna_other & 0x7fff;
            if (kind == 2) {
                info->needs_private = 1;
            } else if (kind == -1) {
                if (info->unknown[0] == '\0')
                    elf_copy(info->unknown, sizeof info->unknown, name);
            } else if (kind == 1) {
                int cmp = info->glibc_name[0] == '\0'
                              ? 1
                              : platform_elf_glibc_cmp(major, minor, info->glibc_major,
                                                       info->glibc_minor);
                if (cmp > 0) {
                    info->glibc_major = major;
                    info->glibc_minor = minor;
                    elf_copy(info->glibc_name, sizeof info->glibc_name, name);
                    elf_copy(info->glibc_file, sizeof info->glibc_file, file);
                    *n_top = 0;
                }
                if (cmp >= 0 && index > VER_NDX_GLOBAL && *n_top < ELF_MAX_TOP_INDEX)
                    top[(*n_top)++] = index;
            }
            if (va.vna_next == 0)
                break;
            ao += va.vna_next;
        }
        if (vn.vn_next == 0)
            break;
        vo += vn.vn_next;
    }
    return 0;
}

/* The number of dynamic symbols, from DT_HASH (its nchain) or DT_GNU_HASH (the
 * end of the longest chain). 0 when neither is readable. */
static uint64_t elf_count_symbols(const elf_image_t *im, uint64_t hash, uint64_t gnu_hash)
{
    uint64_t off, avail;
    uint32_t w[4];
    if (hash != 0 && elf_map(im, hash, &off, &avail) == 0 && elf_get(im, off, w, 8) == 0)
        return w[1];
    if (gnu_hash == 0 || elf_map(im, gnu_hash, &off, &avail) != 0 || elf_get(im, off, w, 16) != 0)
        return 0;
    uint32_t nbuckets = w[0], symoffset = w[1], bloom_words = w[2];
    uint64_t buckets = off + 16 + (uint64_t)bloom_words * 8; /* no overflow: 32-bit factors */
    uint32_t top = 0;
    for (uint32_t b = 0; b < nbuckets; b++) {
        uint32_t v;
        if (elf_get(im, buckets + (uint64_t)b * 4, &v, 4) != 0)
            return 0;
        if (v > top)
            top = v;
    }
    if (top < symoffset)
        return symoffset;
    uint64_t chains = buckets + (uint64_t)nbuckets * 4;
    for (uint64_t i = top;; i++) {
        uint32_t c;
        if (elf_get(im, chains + (i - symoffset) * 4, &c, 4) != 0)
            return 0; /* runs off the file: bounded by its size */
        if (c & 1)
            return i + 1;
    }
}

/* Names (in info->syms) the undefined symbols bound to a version index in top.
 * Best effort: an unreadable symbol table leaves the list short. */
static void elf_read_symbols(const elf_image_t *im, uint64_t symtab, uint64_t versym,
                             uint64_t count, const uint16_t *top, size_t n_top,
                             platform_elf_info_t *info)
{
    uint64_t so, vo, avail;
    if (n_top == 0 || symtab == 0 || versym == 0 || elf_map(im, symtab, &so, &avail) != 0 ||
        elf_map(im, versym, &vo, &avail) != 0)
        return;
    if (count > ELF_MAX_SYMBOLS)
        count = ELF_MAX_SYMBOLS;
    for (uint64_t i = 1; i < count; i++) {
        uint16_t v;
        Elf64_Sym sym;
        if (elf_get(im, vo + i * 2, &v, 2) != 0 ||
            elf_get(im, so + i * sizeof sym, &sym, sizeof sym) != 0)
            return;
        if (sym.st_shndx != SHN_UNDEF)
            continue;
        size_t k = 0;
        while (k < n_top && top[k] != (v & 0x7fff))
            k++;
        if (k == n_top)
            continue;
        const char *name = elf_str(im, sym.st_name);
        if (name == NULL)
            continue;
        if (info->n_syms < PLATFORM_ELF_MAX_SYMS)
            elf_copy(info->syms[info->n_syms], sizeof info->syms[0], name);
        info->n_syms++;
    }
}

int platform_elf_parse(const void *data, size_t size, platform_elf_info_t *info, char *err,
                       size_t errlen)
{
    memset(info, 0, sizeof *info);
    elf_image_t im = {.base = data, .size = size, .err = err, .errlen = errlen};
    if (errlen > 0)
        err[0] = '\0';
    if (elf_get(&im, 0, &im.eh, sizeof im.eh) != 0 || memcmp(im.eh.e_ident, ELFMAG, SELFMAG) != 0)
        return elf_fail(&im, "not an ELF file");
    if (im.eh.e_ident[EI_CLASS] != ELFCLASS64)
        return elf_fail(&im, "not 64-bit ELF (AWS Lambda runs x86-64 and arm64)");
    if (im.eh.e_ident[EI_DATA] != ELFDATA2LSB)
        return elf_fail(&im, "not little-endian ELF");
    if (im.eh.e_type != ET_EXEC && im.eh.e_type != ET_DYN)
        return elf_fail(&im, "not an executable or shared library (ELF type %u)",
                        (unsigned)im.eh.e_type);
    info->machine = im.eh.e_machine;
    if (im.eh.e_phentsize < sizeof(Elf64_Phdr) || im.eh.e_phoff > size ||
        (uint64_t)im.eh.e_phnum * im.eh.e_phentsize > size - im.eh.e_phoff)
        return elf_fail(&im, "program headers outside the file");

    Elf64_Phdr dyn_ph = {0};
    for (size_t i = 0; i < im.eh.e_phnum; i++) {
        Elf64_Phdr ph;
        if (elf_phdr(&im, i, &ph) == 0 && ph.p_type == PT_DYNAMIC) {
            dyn_ph = ph;
            info->is_dynamic = 1;
        }
    }
    if (!info->is_dynamic)
        return 0; /* static: no rpath, no versions */
    if (dyn_ph.p_offset > size || dyn_ph.p_filesz > size - dyn_ph.p_offset)
        return elf_fail(&im, "dynamic segment outside the file");

    uint64_t strtab = 0, strsz = 0, rpath = 0, runpath = 0, verneed = 0, verneednum = 0;
    uint64_t symtab = 0, versym = 0, hash = 0, gnu_hash = 0;
    int have_rpath = 0, have_runpath = 0;
    for (uint64_t i = 0; i < dyn_ph.p_filesz / sizeof(Elf64_Dyn); i++) {
        Elf64_Dyn d;
        if (elf_get(&im, dyn_ph.p_offset + i * sizeof d, &d, sizeof d) != 0 || d.d_tag == DT_NULL)
            break;
        switch (d.d_tag) {
        case DT_STRTAB:
            strtab = d.d_un.d_ptr;
            break;
        case DT_STRSZ:
            strsz = d.d_un.d_val;
            break;
        case DT_RPATH:
            rpath = d.d_un.d_val;
            have_rpath = 1;
            break;
        case DT_RUNPATH:
            runpath = d.d_un.d_val;
            have_runpath = 1;
            break;
        case DT_VERNEED:
            verneed = d.d_un.d_ptr;
            break;
        case DT_VERNEEDNUM:
            verneednum = d.d_un.d_val;
            break;
        case DT_SYMTAB:
            symtab = d.d_un.d_ptr;
            break;
        case DT_VERSYM:
            versym = d.d_un.d_ptr;
            break;
        case DT_HASH:
            hash = d.d_un.d_ptr;
            break;
        case DT_GNU_HASH:
            gnu_hash = d.d_un.d_ptr;
            break;
        default:
            break;
        }
    }
    if (strtab == 0) {
        if (have_rpath || have_runpath || verneed != 0)
            return elf_fail(&im, "dynamic segment without a string table");
        return 0;
    }
    uint64_t avail;
    if (elf_map(&im, strtab, &im.stroff, &avail) != 0)
        return elf_fail(&im, "string table outside the file");
    im.strsz = strsz < avail ? strsz : avail;

    if (have_rpath || have_runpath) {
        const char *r = elf_str(&im, have_runpath ? runpath : rpath);
        if (r == NULL)
            return elf_fail(&im, "rpath outside the string table");
        elf_copy(info->rpath, sizeof info->rpath, r);
        info->has_runpath = have_runpath;
    }
    if (verneed == 0)
        return 0;
    uint16_t top[ELF_MAX_TOP_INDEX];
    size_t n_top = 0;
    if (elf_read_verneed(&im, verneed, verneednum, info, top, &n_top) != 0)
        return -1;
    elf_read_symbols(&im, symtab, versym, elf_count_symbols(&im, hash, gnu_hash), top, n_top, info);
    return 0;
}

int platform_elf_read_file(const char *path, platform_elf_info_t *info, char *err, size_t errlen)
{
    memset(info, 0, sizeof *info);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        snprintf(err, errlen, "%s", strerror(errno));
        return -1;
    }
    struct stat st;
    const char *why = NULL;
    if (fstat(fd, &st) == -1)
        why = strerror(errno);
    else if (!S_ISREG(st.st_mode))
        why = "not a regular file";
    else if (st.st_size == 0)
        why = "empty file";
    if (why != NULL) {
        snprintf(err, errlen, "%s", why);
        close(fd);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    void *base = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int saved = errno;
    close(fd);
    if (base == MAP_FAILED) {
        snprintf(err, errlen, "mmap: %s", strerror(saved));
        return -1;
    }
    int rc = platform_elf_parse(base, size, info, err, errlen);
    munmap(base, size);
    return rc;
}
