/*
 * libFuzzer target: the SAM template parser on arbitrary bytes. It must
 * return 0 with a template or -1 with a message, never crash or leak.
 */
#include "common/log.h"
#include "platform/template.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet) {
        log_set_level(LOG_LEVEL_ERROR); /* unknown-property warnings would flood the output */
        quiet = 1;
    }
    platform_template_t *t = NULL;
    char err[256];
    int rc = platform_template_parse((const char *)data, size, "/fuzz", "fuzz.yaml", &t, err,
                                     sizeof err);
    if (rc == 0) {
        for (size_t i = 0; i < t->n_functions; i++) {
            /* Every field the platform reads must be set and absolute where promised. */
            /* exactly one of code_dir (a folder) and code_zip (a .zip) */
            const char *code = t->functions[i].code_dir;
            if (code == NULL)
                code = t->functions[i].code_zip;
            else if (t->functions[i].code_zip != NULL)
                __builtin_trap();
            if (t->functions[i].name == NULL || code == NULL || code[0] != '/')
                __builtin_trap();
        }
    } else if (t != NULL || strncmp(err, "fuzz.yaml:", 10) != 0) {
        __builtin_trap();
    }
    platform_template_free(t);
    return 0;
}
