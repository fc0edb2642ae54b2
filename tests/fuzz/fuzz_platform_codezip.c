/*
 * libFuzzer target: the zip central-directory reader behind CodeUri zips
 * (platform_codezip_scan_mem) on arbitrary bytes. It must return 0 with a
 * summary within the limit or -1 with a message, never read outside the
 * input, crash or leak. Seeds: the zips tests/unit/platform/test_codezip.c
 * builds (run it with TETHER_ZIP_SEED_DIR=tests/fuzz/corpus/fuzz_platform_codezip)
 * and one made by Info-ZIP's zip.
 */
#include "platform/codezip.h"

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
    platform_zip_summary_t s;
    char err[256] = "";
    int rc = platform_codezip_scan_mem(copy, size, PLATFORM_ZIP_UNZIPPED_MAX, &s, err, sizeof err);
    if (rc == 0) {
        if (s.unzipped_bytes > PLATFORM_ZIP_UNZIPPED_MAX || (s.bootstrap_exec && !s.has_bootstrap))
            __builtin_trap();
    } else if (rc != -1 || err[0] == '\0' || memchr(err, '\0', sizeof err) == NULL) {
        __builtin_trap();
    }
    free(copy);
    return 0;
}
