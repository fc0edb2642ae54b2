/*
 * Zips as CodeUri: `tether up` unpacks each distinct .zip a template names
 * once, at start, into a private folder (mode 0700, under $TMPDIR or /tmp)
 * that it removes at exit. Before unzip runs, the zip's central directory is
 * read here: an entry whose name is absolute or climbs out with ".." is
 * refused, and so is a zip whose entries add up to more than Lambda's 250 MB
 * unzipped limit (checked again on what was written). Debian's unzip does the
 * unpacking and keeps the entries' Unix modes (bootstrap stays executable).
 */
#ifndef TETHER_PLATFORM_CODEZIP_H
#define TETHER_PLATFORM_CODEZIP_H

#include <stddef.h>
#include <stdint.h>

/* AWS Lambda's limit on a function's unzipped code (250 MB, decimal-ish as AWS
 * counts it: 262,144,000 bytes). */
#define PLATFORM_ZIP_UNZIPPED_MAX 262144000ull

typedef struct platform_codezip platform_codezip_t;

/* What the central directory of a zip says (platform_codezip_scan). */
typedef struct platform_zip_summary {
    uint64_t entries;        /* files, folders and links */
    uint64_t unzipped_bytes; /* the sum of the entries' uncompressed sizes */
    int has_bootstrap;       /* an entry named "bootstrap" at the root */
    int bootstrap_exec;      /* ... whose Unix mode is executable (0 if no mode stored) */
} platform_zip_summary_t;

/* Reads the central directory of the zip at path and checks every entry name
 * (no absolute path, no ".." component, no NUL or backslash) and the total
 * size against max_unzipped. 0 and *out; -1 with the reason in err (the
 * offending entry named). Never reads past what the file holds. */
__attribute__((warn_unused_result)) int platform_codezip_scan(const char *path,
                                                              uint64_t max_unzipped,
                                                              platform_zip_summary_t *out /* OUT */,
                                                              char *err, size_t errlen);

/* The same on a zip already in memory (the unit tests and the fuzz target). */
__attribute__((warn_unused_result)) int
platform_codezip_scan_mem(const unsigned char *data, size_t size, uint64_t max_unzipped,
                          platform_zip_summary_t *out /* OUT */, char *err, size_t errlen);

/* Makes the private folder. 0, or -1 with the reason in err. Free with
 * platform_codezip_free, which removes the folder and all it holds. */
__attribute__((warn_unused_result)) int platform_codezip_new(platform_codezip_t **out, char *err,
                                                             size_t errlen);
void platform_codezip_free(platform_codezip_t *z);

/* The private folder itself (other per-run files, e.g. the sandbox skeleton,
 * may live in it; they go with it). */
const char *platform_codezip_dir(const platform_codezip_t *z);

/* Unpacks the zip at zip_path (once: the same file named twice is unpacked
 * once) and returns in *dir where it is (owned by z; valid until
 * platform_codezip_free). -1 with the reason in err. */
__attribute__((warn_unused_result)) int platform_codezip_unpack(platform_codezip_t *z,
                                                                const char *zip_path,
                                                                const char **dir /* OUT */,
                                                                char *err, size_t errlen);

#endif
