/*
 * libFuzzer target: the ELF reader of `tether package` (platform_elf_parse)
 * on arbitrary bytes. It must return 0 with a well-formed summary or -1 with a
 * message, never read outside the input, crash or leak. Seeds: the synthetic
 * images of tests/unit/platform/test_elfinfo.c (run it with
 * TETHER_ELF_SEED_DIR=tests/fuzz/corpus/fuzz_platform_elf) and cut-down ones.
 */
#include "platform/elfinfo.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy, so any read past the end is a sanitizer report */
    uint8_t *copy = malloc(size ? size : 1);
    if (copy == NULL)
        return 0;
    if (size > 0)
        memcpy(copy, data, size);
    platform_elf_info_t info;
    char err[256] = "";
    int rc = platform_elf_parse(copy, size, &info, err, sizeof err);
    if (rc == 0) {
        if (memchr(info.rpath, '\0', sizeof info.rpath) == NULL ||
            memchr(info.glibc_name, '\0', sizeof info.glibc_name) == NULL ||
            (info.glibc_name[0] == '\0' &&
             (info.glibc_major != 0 || info.glibc_minor != 0 || info.glibc_file[0] != '\0')) ||
            (info.glibc_name[0] != '\0' && info.glibc_major < 1))
            __builtin_trap();
        for (size_t i = 0; i < info.n_syms && i < PLATFORM_ELF_MAX_SYMS; i++) {
            if (memchr(info.syms[i], '\0', sizeof info.syms[i]) == NULL)
                __builtin_trap();
        }
    } else if (rc != -1 || err[0] == '\0') {
        __builtin_trap();
    }
    free(copy);
    return 0;
}
