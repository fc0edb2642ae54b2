/*
 * Collations through ICU's collator (see collation.h). ICU (libicui18n) is
 * loaded with dlopen the first time a non-simple collation is compiled, as
 * auth/saslprep.c loads libicuuc, so a tether that never sees a collation
 * never loads ICU and libstdc++. Comparisons use ucol_strcollUTF8, so no
 * string is converted to UTF-16 here.
 */
#include "docstore/query/collation.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/ucol.h>

#define COLL_STR_(x) #x
#define COLL_STR(x)  COLL_STR_(x)
#define COLL_ICU_LIB "libicui18n.so." U_ICU_VERSION_SHORT

/* The ICU functions collations need. */
typedef struct coll_icu {
    UCollator *(*open)(const char *loc, UErrorCode *st);
    void (*close)(UCollator *c);
    void (*set_attribute)(UCollator *c, UColAttribute attr, UColAttributeValue v, UErrorCode *st);
    void (*set_max_variable)(UCollator *c, UColReorderCode group, UErrorCode *st);
    UCollationResult (*strcoll_utf8)(const UCollator *c, const char *a, int32_t alen, const char *b,
                                     int32_t blen, UErrorCode *st);
    const char *(*locale_by_type)(const UCollator *c, ULocDataLocaleType type, UErrorCode *st);
    int32_t (*sort_key)(const UCollator *c, const UChar *s, int32_t len, uint8_t *out,
                        int32_t cap);
    UChar *(*from_utf8)(UChar *dest, int32_t cap, int32_t *len, const char *src, int32_t src_len,
                        UErrorCode *st);
} coll_icu_t;

static const coll_icu_t *coll_icu_load(void)
{
    static coll_icu_t icu;
    static int state; /* 0: not tried, 1: loaded, -1: unavailable */
    if (state != 0)
        return state == 1 ? &icu : NULL;
    state = -1;
    void *h = dlopen(COLL_ICU_LIB, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL)
        return NULL;
    *(void **)&icu.open = dlsym(h, COLL_STR(ucol_open));
    *(void **)&icu.close = dlsym(h, COLL_STR(ucol_close));
    *(void **)&icu.set_attribute = dlsym(h, COLL_STR(ucol_setAttribute));
    *(void **)&icu.set_max_variable = dlsym(h, COLL_STR(ucol_setMaxVariable));
    *(void **)&icu.strcoll_utf8 = dlsym(h, COLL_STR(ucol_strcollUTF8));
    *(void **)&icu.locale_by_type = dlsym(h, COLL_STR(ucol_getLocaleByType));
    *(void **)&icu.sort_key = dlsym(h, COLL_STR(ucol_getSortKey));
    *(void **)&icu.from_utf8 = dlsym(h, COLL_STR(u_strFromUTF8)); /* libicuuc, a dependency */
    if (icu.sort_key == NULL || icu.from_utf8 == NULL || icu.locale_by_type == NULL ||
        icu.open == NULL || icu.close == NULL ||
        icu.set_attribute == NULL || icu.set_max_variable == NULL || icu.strcoll_utf8 == NULL) {
        dlclose(h);
        return NULL;
    }
    state = 1;
    return &icu;
}

struct docstore_collation {
    UCollator *ucol;
    char locale[64];
    int strength;       /* 1-5 */
    bool case_level;    /* caseLevel */
    char case_first[8]; /* "upper", "lower", "off" */
    bool numeric;       /* numericOrdering */
    bool shifted;       /* alternate: "shifted" */
    bool max_space;     /* maxVariable: "space" (else "punct") */
    bool normalization; /* normalization */
    bool backwards;     /* backwards */
};

static int bad(docstore_error_t *err, const char *field, const char *want)
{
    docstore_error_set(err, DOCSTORE_BAD_VALUE, "collation field '%s' %s", field, want);
    return -1;
}

int docstore_collation_new(const bson_t *spec, docstore_collation_t **out, docstore_error_t *err)
{
    *out = NULL;
    docstore_collation_t c = {.strength = 3};
    strcpy(c.case_first, "off");
    bool have_locale = false;
    bson_iter_t it;
    if (!bson_iter_init(&it, spec)) {
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "invalid collation document");
        return -1;
    }
    while (bson_iter_next(&it)) {
        const char *k = bson_iter_key(&it);
        if (strcmp(k, "locale") == 0) {
            uint32_t len;
            const char *s = BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, &len) : NULL;
            if (s == NULL || len == 0 || len >= sizeof c.locale || strlen(s) != len)
                return bad(err, "locale", "must be a non-empty string");
            memcpy(c.locale, s, len + 1);
            have_locale = true;
        } else if (strcmp(k, "strength") == 0) {
            if (!BSON_ITER_HOLDS_NUMBER(&it))
                return bad(err, "strength", "must be a number");
            double d = bson_iter_as_double(&it);
            if (d != (int)d || d < 1 || d > 5)
                return bad(err, "strength", "must be an integer 1 through 5");
            c.strength = (int)d;
        } else if (strcmp(k, "caseLevel") == 0 || strcmp(k, "numericOrdering") == 0 ||
                   strcmp(k, "normalization") == 0 || strcmp(k, "backwards") == 0) {
            if (!BSON_ITER_HOLDS_BOOL(&it))
                return bad(err, k, "must be a boolean");
            bool v = bson_iter_bool(&it);
            if (k[0] == 'c')
                c.case_level = v;
            else if (k[0] == 'n' && k[1] == 'u')
                c.numeric = v;
            else if (k[0] == 'n')
                c.normalization = v;
            else
                c.backwards = v;
        } else if (strcmp(k, "caseFirst") == 0) {
            const char *s = BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, NULL) : "";
            if (strcmp(s, "upper") != 0 && strcmp(s, "lower") != 0 && strcmp(s, "off") != 0)
                return bad(err, k, "must be 'upper', 'lower' or 'off'");
            strcpy(c.case_first, s);
        } else if (strcmp(k, "alternate") == 0) {
            const char *s = BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, NULL) : "";
            if (strcmp(s, "shifted") != 0 && strcmp(s, "non-ignorable") != 0)
                return bad(err, k, "must be 'non-ignorable' or 'shifted'");
            c.shifted = s[0] == 's';
        } else if (strcmp(k, "maxVariable") == 0) {
            const char *s = BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, NULL) : "";
            if (strcmp(s, "punct") != 0 && strcmp(s, "space") != 0)
                return bad(err, k, "must be 'punct' or 'space'");
            c.max_space = s[0] == 's';
        } else if (strcmp(k, "version") == 0) {
            /* accepted: the one this build has */
        } else {
            docstore_error_set(err, DOCSTORE_LOCATION_40415,
                               "BSON field 'collation.%.100s' is an unknown field.", k);
            return -1;
        }
    }
    if (!have_locale) {
        docstore_error_set(err, DOCSTORE_LOCATION_40414,
                           "BSON field 'collation.locale' is missing but a required field");
        return -1;
    }
    if (strcmp(c.locale, "simple") == 0) {
        if (bson_count_keys(spec) != 1) {
            docstore_error_set(err, DOCSTORE_BAD_VALUE,
                               "If \"locale\" is set to \"simple\", then no other fields may be "
                               "specified");
            return -1;
        }
        return 0;
    }
    const coll_icu_t *icu = coll_icu_load();
    if (icu == NULL) {
        docstore_error_set(err, DOCSTORE_NOT_IMPLEMENTED,
                           "collation needs ICU (" COLL_ICU_LIB "), which cannot be loaded");
        return -1;
    }
    UErrorCode st = U_ZERO_ERROR;
    c.ucol = icu->open(c.locale, &st);
    /* As MongoDB: a locale ICU has no data for falls back to "root", and is
     * refused unless "root" was asked. */
    const char *valid = NULL;
    if (U_SUCCESS(st) && c.ucol != NULL) {
        UErrorCode lst = U_ZERO_ERROR;
        valid = icu->locale_by_type(c.ucol, ULOC_VALID_LOCALE, &lst);
        if (U_FAILURE(lst))
            valid = NULL;
    }
    if (U_FAILURE(st) || c.ucol == NULL || valid == NULL ||
        (strcmp(valid, "root") == 0 && strcmp(c.locale, "root") != 0)) {
        if (c.ucol != NULL)
            icu->close(c.ucol);
        docstore_error_set(err, DOCSTORE_BAD_VALUE,
                           "Field 'locale' is invalid in: { locale: \"%s\" }", c.locale);
        return -1;
    }
    static const UColAttributeValue strengths[] = {UCOL_PRIMARY, UCOL_SECONDARY, UCOL_TERTIARY,
                                                   UCOL_QUATERNARY, UCOL_IDENTICAL};
    st = U_ZERO_ERROR;
    icu->set_attribute(c.ucol, UCOL_STRENGTH, strengths[c.strength - 1], &st);
    icu->set_attribute(c.ucol, UCOL_CASE_LEVEL, c.case_level ? UCOL_ON : UCOL_OFF, &st);
    icu->set_attribute(c.ucol, UCOL_CASE_FIRST,
                       c.case_first[0] == 'u'   ? UCOL_UPPER_FIRST
                       : c.case_first[0] == 'l' ? UCOL_LOWER_FIRST
                                                : UCOL_OFF,
                       &st);
    icu->set_attribute(c.ucol, UCOL_NUMERIC_COLLATION, c.numeric ? UCOL_ON : UCOL_OFF, &st);
    icu->set_attribute(c.ucol, UCOL_ALTERNATE_HANDLING,
                       c.shifted ? UCOL_SHIFTED : UCOL_NON_IGNORABLE, &st);
    icu->set_attribute(c.ucol, UCOL_NORMALIZATION_MODE, c.normalization ? UCOL_ON : UCOL_OFF, &st);
    icu->set_attribute(c.ucol, UCOL_FRENCH_COLLATION, c.backwards ? UCOL_ON : UCOL_OFF, &st);
    icu->set_max_variable(
        c.ucol, c.max_space ? UCOL_REORDER_CODE_SPACE : UCOL_REORDER_CODE_PUNCTUATION, &st);
    if (U_FAILURE(st)) {
        icu->close(c.ucol);
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "invalid collation options");
        return -1;
    }
    docstore_collation_t *p = malloc(sizeof *p);
    if (p == NULL) {
        icu->close(c.ucol);
        return docstore_error_oom(err);
    }
    *p = c;
    *out = p;
    return 0;
}

int docstore_collation_compare(const docstore_collation_t *c, const char *a, size_t alen,
                               const char *b, size_t blen)
{
    if (c != NULL && alen <= INT32_MAX && blen <= INT32_MAX) {
        UErrorCode st = U_ZERO_ERROR;
        UCollationResult r =
            coll_icu_load()->strcoll_utf8(c->ucol, a, (int32_t)alen, b, (int32_t)blen, &st);
        if (U_SUCCESS(st))
            return r == UCOL_LESS ? -1 : (r == UCOL_GREATER ? 1 : 0);
    }
    size_t n = alen < blen ? alen : blen;
    int r = n ? memcmp(a, b, n) : 0;
    if (r != 0)
        return r < 0 ? -1 : 1;
    return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

int docstore_collation_sort_key(const docstore_collation_t *c, const char *s, size_t len,
                                buf_t *out)
{
    if (c == NULL || len > (1u << 24))
        return -1;
    const coll_icu_t *icu = coll_icu_load();
    UErrorCode st = U_ZERO_ERROR;
    int32_t n16 = 0;
    UChar *u = malloc(((size_t)len + 1) * sizeof *u);
    if (u == NULL)
        return -1;
    icu->from_utf8(u, (int32_t)len + 1, &n16, s, (int32_t)len, &st);
    bool ok = U_SUCCESS(st);
    uint8_t small[256];
    uint8_t *k = small;
    int32_t need = ok ? icu->sort_key(c->ucol, u, n16, small, (int32_t)sizeof small) : 0;
    if (ok && need > (int32_t)sizeof small) {
        k = malloc((size_t)need);
        ok = k != NULL && icu->sort_key(c->ucol, u, n16, k, need) == need;
    }
    /* need counts the key's ending 0x00, the only zero byte in it */
    ok = ok && need > 0 && buf_append(out, k, (size_t)need - 1) == 0;
    if (k != small)
        free(k);
    free(u);
    return ok ? 0 : -1;
}

/* The ICU sort key of a UTF-8 string (binary comparison of two keys is the
 * collation's comparison of the strings). Appended to out as binData. */
static bool append_sort_key(const docstore_collation_t *c, const char *key, const char *str,
                            uint32_t len, bson_t *out)
{
    buf_t k;
    buf_init(&k, 64 * 1024 * 1024);
    bool ok = docstore_collation_sort_key(c, str, len, &k) == 0 &&
              bson_append_binary(out, key, -1, BSON_SUBTYPE_USER,
                                 (const uint8_t *)(k.data ? k.data : ""), (uint32_t)k.len);
    buf_free(&k);
    return ok;
}

static bool normalize_into(const docstore_collation_t *c, const char *key, const bson_value_t *v,
                           bson_t *out, int depth);

static bool normalize_doc(const docstore_collation_t *c, const bson_value_t *v, bson_t *child,
                          int depth)
{
    bson_iter_t it;
    if (!bson_iter_init_from_data(&it, v->value.v_doc.data, v->value.v_doc.data_len))
        return false;
    while (bson_iter_next(&it)) {
        if (!normalize_into(c, bson_iter_key(&it), bson_iter_value(&it), child, depth + 1))
            return false;
    }
    return true;
}

static bool normalize_into(const docstore_collation_t *c, const char *key, const bson_value_t *v,
                           bson_t *out, int depth)
{
    if (depth > 200)
        return false;
    bson_t child;
    bool ok;
    switch (v->value_type) {
    case BSON_TYPE_UTF8:
        return append_sort_key(c, key, v->value.v_utf8.str, v->value.v_utf8.len, out);
    case BSON_TYPE_DOCUMENT:
        ok = bson_append_document_begin(out, key, -1, &child);
        ok = ok && normalize_doc(c, v, &child, depth);
        return bson_append_document_end(out, &child) && ok;
    case BSON_TYPE_ARRAY:
        ok = bson_append_array_begin(out, key, -1, &child);
        ok = ok && normalize_doc(c, v, &child, depth);
        return bson_append_array_end(out, &child) && ok;
    default:
        return bson_append_value(out, key, -1, v);
    }
}

int docstore_collation_normalize(const docstore_collation_t *c, const bson_value_t *v,
                                 bson_value_t *out, docstore_error_t *err)
{
    if (c == NULL || (v->value_type != BSON_TYPE_UTF8 && v->value_type != BSON_TYPE_DOCUMENT &&
                      v->value_type != BSON_TYPE_ARRAY)) {
        bson_value_copy(v, out);
        return 0;
    }
    bson_t tmp = BSON_INITIALIZER;
    if (!normalize_into(c, "v", v, &tmp, 0)) {
        bson_destroy(&tmp);
        docstore_error_set(err, DOCSTORE_BAD_VALUE, "value cannot be keyed under the collation");
        return -1;
    }
    bson_iter_t it;
    bson_iter_init_find(&it, &tmp, "v");
    bson_value_copy(bson_iter_value(&it), out);
    bson_destroy(&tmp);
    return 0;
}

void docstore_collation_append_spec(const docstore_collation_t *c, bson_t *out)
{
    if (c == NULL) {
        BSON_APPEND_UTF8(out, "locale", "simple");
        return;
    }
    BSON_APPEND_UTF8(out, "locale", c->locale);
    BSON_APPEND_BOOL(out, "caseLevel", c->case_level);
    BSON_APPEND_UTF8(out, "caseFirst", c->case_first);
    BSON_APPEND_INT32(out, "strength", c->strength);
    BSON_APPEND_BOOL(out, "numericOrdering", c->numeric);
    BSON_APPEND_UTF8(out, "alternate", c->shifted ? "shifted" : "non-ignorable");
    BSON_APPEND_UTF8(out, "maxVariable", c->max_space ? "space" : "punct");
    BSON_APPEND_BOOL(out, "normalization", c->normalization);
    BSON_APPEND_BOOL(out, "backwards", c->backwards);
    BSON_APPEND_UTF8(out, "version", "57.1");
}

bool docstore_collation_same(const docstore_collation_t *a, const docstore_collation_t *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a->locale, b->locale) == 0 && a->strength == b->strength &&
           a->case_level == b->case_level && strcmp(a->case_first, b->case_first) == 0 &&
           a->numeric == b->numeric && a->shifted == b->shifted && a->max_space == b->max_space &&
           a->normalization == b->normalization && a->backwards == b->backwards;
}

void docstore_collation_free(docstore_collation_t *c)
{
    if (c == NULL)
        return;
    coll_icu_load()->close(c->ucol);
    free(c);
}
