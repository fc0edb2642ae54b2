/*
 * SASLprep through ICU's RFC 4013 profile (see saslprep.h). ICU is loaded
 * with dlopen the first time a non-ASCII password needs it: linking it would
 * make every start of the tether binary (tether invoke included) load
 * libicuuc, libicudata and libstdc++ (measured: ~6.5 M more cycles in the
 * dynamic loader, about twice an empty program's) for what most users, with
 * ASCII passwords, never use. Debian installs libicu with libmongoc. Every
 * buffer that held the input or a form of it is cleansed before it is freed:
 * the input is a password.
 */
#include "docstore/auth/saslprep.h"

#include "common/crypto.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/usprep.h>
#include <unicode/ustring.h>

/* ICU's exported names carry its version ("usprep_openByType_72"): the
 * headers' renaming macros give them, and the soname, at compile time. */
#define SASLPREP_STR_(x) #x
#define SASLPREP_STR(x)  SASLPREP_STR_(x)
#define SASLPREP_ICU_LIB "libicuuc.so." U_ICU_VERSION_SHORT

/* The five ICU functions SASLprep needs. */
typedef struct saslprep_icu {
    UStringPrepProfile *(*open_by_type)(UStringPrepProfileType type, UErrorCode *st);
    int32_t (*prepare)(const UStringPrepProfile *prep, const UChar *src, int32_t src_len,
                       UChar *dest, int32_t dest_cap, int32_t options, UParseError *perr,
                       UErrorCode *st);
    void (*close)(UStringPrepProfile *prep);
    UChar *(*from_utf8)(UChar *dest, int32_t cap, int32_t *len, const char *src, int32_t src_len,
                        UErrorCode *st);
    char *(*to_utf8)(char *dest, int32_t cap, int32_t *len, const UChar *src, int32_t src_len,
                     UErrorCode *st);
} saslprep_icu_t;

/* Loads ICU once (the handle stays for the life of the process); NULL when
 * it cannot be loaded. Called while the users file is read, at start. */
static const saslprep_icu_t *saslprep_icu_load(void)
{
    static saslprep_icu_t icu;
    static int state; /* 0: not tried, 1: loaded, -1: unavailable */
    if (state != 0)
        return state == 1 ? &icu : NULL;
    state = -1;
    void *h = dlopen(SASLPREP_ICU_LIB, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL)
        return NULL;
    *(void **)&icu.open_by_type = dlsym(h, SASLPREP_STR(usprep_openByType));
    *(void **)&icu.prepare = dlsym(h, SASLPREP_STR(usprep_prepare));
    *(void **)&icu.close = dlsym(h, SASLPREP_STR(usprep_close));
    *(void **)&icu.from_utf8 = dlsym(h, SASLPREP_STR(u_strFromUTF8));
    *(void **)&icu.to_utf8 = dlsym(h, SASLPREP_STR(u_strToUTF8));
    if (icu.open_by_type == NULL || icu.prepare == NULL || icu.close == NULL ||
        icu.from_utf8 == NULL || icu.to_utf8 == NULL) {
        dlclose(h);
        return NULL;
    }
    state = 1;
    return &icu;
}

#define SASLPREP_MAX_BYTES 4096 /* longer passwords are refused, not prepared */

static const char *saslprep_reason(UErrorCode st)
{
    switch (st) {
    case U_STRINGPREP_PROHIBITED_ERROR:
        return "a character SASLprep prohibits (RFC 4013 section 2.3: control, private use, "
               "non-character, surrogate, ...)";
    case U_STRINGPREP_UNASSIGNED_ERROR:
        return "a code point unassigned in Unicode 3.2 (RFC 4013 section 2.5)";
    case U_STRINGPREP_CHECK_BIDI_ERROR:
        return "mixed right-to-left and left-to-right text (RFC 4013 section 2.4)";
    case U_INVALID_CHAR_FOUND:
    case U_ILLEGAL_CHAR_FOUND:
    case U_TRUNCATED_CHAR_FOUND:
        return "not valid UTF-8";
    default:
        return "SASLprep failed";
    }
}

static int saslprep_icu(const char *in, size_t len, char **out, const char **why)
{
    const saslprep_icu_t *icu = saslprep_icu_load();
    if (icu == NULL) {
        *why = "non-ASCII passwords need ICU (" SASLPREP_ICU_LIB "), which cannot be loaded";
        return -1;
    }
    /* UTF-8 of n bytes needs at most n UTF-16 units; NFKC may grow it (up to
     * 18 units for one code point), so prepare into a generous buffer and
     * retry once at the size ICU asks for. */
    UErrorCode st = U_ZERO_ERROR;
    int32_t cap16 = (int32_t)len + 1, n16 = 0, nprep = 0, n8 = 0;
    UChar *src = calloc((size_t)cap16, sizeof(UChar));
    UChar *prep = NULL;
    char *utf8 = NULL;
    UStringPrepProfile *profile = NULL;
    int rc = -1;
    *why = "out of memory";
    if (src == NULL)
        goto out;
    icu->from_utf8(src, cap16, &n16, in, (int32_t)len, &st);
    if (U_FAILURE(st)) {
        *why = saslprep_reason(st);
        goto out;
    }
    profile = icu->open_by_type(USPREP_RFC4013_SASLPREP, &st);
    if (U_FAILURE(st)) {
        *why = "the SASLprep profile is unavailable (ICU data)";
        goto out;
    }
    int32_t cap_prep = n16 * 4 + 16;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (prep != NULL) {
            crypto_cleanse(prep, (size_t)cap_prep * sizeof(UChar));
            free(prep);
            cap_prep = nprep + 1;
        }
        prep = calloc((size_t)cap_prep, sizeof(UChar));
        if (prep == NULL)
            goto out;
        st = U_ZERO_ERROR;
        nprep = icu->prepare(profile, src, n16, prep, cap_prep, USPREP_DEFAULT, NULL, &st);
        if (st != U_BUFFER_OVERFLOW_ERROR)
            break;
    }
    if (U_FAILURE(st)) {
        *why = saslprep_reason(st);
        goto out;
    }
    int32_t cap8 = nprep * 3 + 1;
    utf8 = malloc((size_t)cap8);
    if (utf8 == NULL)
        goto out;
    st = U_ZERO_ERROR;
    icu->to_utf8(utf8, cap8, &n8, prep, nprep, &st);
    if (U_FAILURE(st) || n8 >= cap8) {
        crypto_cleanse(utf8, (size_t)cap8);
        free(utf8);
        utf8 = NULL;
        *why = saslprep_reason(st);
        goto out;
    }
    utf8[n8] = '\0';
    *out = utf8;
    *why = NULL;
    rc = 0;
out:
    if (profile != NULL)
        icu->close(profile);
    if (prep != NULL) {
        crypto_cleanse(prep, (size_t)cap_prep * sizeof(UChar));
        free(prep);
    }
    if (src != NULL) {
        crypto_cleanse(src, (size_t)cap16 * sizeof(UChar));
        free(src);
    }
    return rc;
}

int docstore_saslprep(const char *in, char **out, const char **why)
{
    size_t len = strlen(in);
    if (len > SASLPREP_MAX_BYTES) {
        *why = "longer than 4096 bytes";
        return -1;
    }
    bool ascii = true;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c >= 0x80) {
            ascii = false;
            break;
        }
        if (c < 0x20 || c == 0x7f) {
            *why = saslprep_reason(U_STRINGPREP_PROHIBITED_ERROR);
            return -1;
        }
    }
    if (!ascii)
        return saslprep_icu(in, len, out, why);
    *out = malloc(len + 1);
    if (*out == NULL) {
        *why = "out of memory";
        return -1;
    }
    memcpy(*out, in, len + 1);
    *why = NULL;
    return 0;
}
