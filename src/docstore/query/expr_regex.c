/*
 * Text expression operators: $regexMatch, $regexFind and $regexFindAll
 * (PCRE2, MongoDB's regex dialect, options i m s x; UTF-8 always; offsets
 * reported in code points as MongoDB does), and $replaceOne/$replaceAll.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "docstore/query/expr_internal.h"
#include "docstore/query/regex.h"

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

/* A compiled pattern for one evaluation, with the input it runs over. */
typedef struct rx {
    pcre2_code *re;
    pcre2_match_data *md;
} rx_t;

static void rx_free(rx_t *r)
{
    if (r->md != NULL)
        pcre2_match_data_free(r->md);
    if (r->re != NULL)
        pcre2_code_free(r->re);
}

static int rx_compile(expr_ctx_t *ctx, const char *op, const bson_value_t *regex,
                      const bson_value_t *opts, rx_t *out)
{
    const char *pattern, *flags = "";
    if (regex->value_type == BSON_TYPE_UTF8) {
        pattern = regex->value.v_utf8.str;
    } else if (regex->value_type == BSON_TYPE_REGEX) {
        pattern = regex->value.v_regex.regex;
        flags = regex->value.v_regex.options ? regex->value.v_regex.options : "";
    } else {
        return expr_fail(ctx, DOCSTORE_LOCATION_51105,
                         "%s needs 'regex' to be of type string or regex", op);
    }
    if (!expr_is_nullish(opts)) {
        if (opts->value_type != BSON_TYPE_UTF8)
            return expr_fail(ctx, DOCSTORE_LOCATION_51106,
                             "%s needs 'options' to be of type string", op);
        if (flags[0] != '\0' && opts->value.v_utf8.len > 0)
            return expr_fail(ctx, DOCSTORE_LOCATION_51075,
                             "%s: regex option(s) specified in both 'regex' and 'option' fields",
                             op);
        flags = opts->value.v_utf8.str;
    }
    uint32_t f = PCRE2_UTF;
    for (const char *p = flags; *p; p++) {
        switch (*p) {
        case 'i': f |= PCRE2_CASELESS; break;
        case 'm': f |= PCRE2_MULTILINE; break;
        case 's': f |= PCRE2_DOTALL; break;
        case 'x': f |= PCRE2_EXTENDED; break;
        case 'u': break;
        default:
            return expr_fail(ctx, DOCSTORE_LOCATION_51108, "%s invalid flag in regex options: %c",
                             op, *p);
        }
    }
    int ecode;
    PCRE2_SIZE eoff;
    out->re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, f, &ecode, &eoff, NULL);
    if (out->re == NULL) {
        PCRE2_UCHAR msg[120];
        pcre2_get_error_message(ecode, msg, sizeof msg);
        return expr_fail(ctx, DOCSTORE_LOCATION_51111, "Invalid Regex in %s: %s", op,
                         (const char *)msg);
    }
    out->md = pcre2_match_data_create_from_pattern(out->re, NULL);
    if (out->md == NULL)
        return expr_fail(ctx, DOCSTORE_INTERNAL_ERROR, "out of memory");
    return 0;
}

static size_t code_points(const char *s, size_t n)
{
    size_t cp = 0;
    for (size_t i = 0; i < n; i++)
        cp += ((unsigned char)s[i] & 0xC0) != 0x80;
    return cp;
}

/* One bounded match from byte offset at: 1 a match, 0 none, -1 with the
 * error set when the regex cannot be evaluated (a PCRE2 limit), as mongod's
 * 51156 — never a silent "no match". */
static int rx_match(expr_ctx_t *ctx, const char *op, const rx_t *r, const char *s, size_t len,
                    size_t at)
{
    int m = docstore_regex_match(r->re, s, len, at, r->md);
    if (m >= 0)
        return 1;
    if (m == PCRE2_ERROR_NOMATCH)
        return 0;
    char msg[120];
    docstore_regex_error_message(m, msg, sizeof msg);
    return expr_fail(ctx, DOCSTORE_LOCATION_51156,
                     "Error occurred while executing the regular expression in %s. Result code: %s",
                     op, msg);
}

/* {match, idx, captures} for the match held in r->md. */
static void match_doc(const rx_t *r, const char *s, bson_value_t *out)
{
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);
    uint32_t groups = 0;
    pcre2_pattern_info(r->re, PCRE2_INFO_CAPTURECOUNT, &groups);
    bson_t doc = BSON_INITIALIZER, caps;
    bson_append_utf8(&doc, "match", -1, s + ov[0], (int)(ov[1] - ov[0]));
    BSON_APPEND_INT32(&doc, "idx", (int32_t)code_points(s, ov[0]));
    bson_append_array_begin(&doc, "captures", -1, &caps);
    for (uint32_t g = 1; g <= groups; g++) {
        char key[16];
        const char *k;
        bson_uint32_to_string(g - 1, &k, key, sizeof key);
        if (ov[2 * g] == PCRE2_UNSET)
            bson_append_null(&caps, k, -1);
        else
            bson_append_utf8(&caps, k, -1, s + ov[2 * g], (int)(ov[2 * g + 1] - ov[2 * g]));
    }
    bson_append_array_end(&doc, &caps);
    expr_take_bson(&doc, BSON_TYPE_DOCUMENT, out);
}

/* $regexMatch / $regexFind / $regexFindAll {input, regex, options}. */
int expr_op_regex(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    const char *n = e->name;
    bool all = strcmp(n, "$regexFindAll") == 0, find = strcmp(n, "$regexFind") == 0;
    bson_value_t *v = expr_eval_vals(ctx, e);
    if (v == NULL)
        return -1;
    rx_t r = {0};
    int rc = 0;
    if (expr_is_nullish(&v[0]) || expr_is_nullish(&v[1])) {
        if (all) {
            bson_t empty = BSON_INITIALIZER;
            expr_take_bson(&empty, BSON_TYPE_ARRAY, out);
        } else if (find)
            expr_set_null(out);
        else
            expr_set_bool(out, false);
        goto out;
    }
    if (v[0].value_type != BSON_TYPE_UTF8) {
        rc = expr_fail(ctx, DOCSTORE_LOCATION_51104, "%s needs 'input' to be of type string", n);
        goto out;
    }
    if ((rc = rx_compile(ctx, n, &v[1], &v[2], &r)) != 0)
        goto out;
    const char *s = v[0].value.v_utf8.str;
    size_t len = v[0].value.v_utf8.len;
    if (!all) {
        int m = rx_match(ctx, n, &r, s, len, 0);
        if (m < 0) {
            rc = -1;
            goto out;
        }
        if (!find)
            expr_set_bool(out, m > 0);
        else if (m > 0)
            match_doc(&r, s, out);
        else
            expr_set_null(out);
        goto out;
    }
    bson_t arr = BSON_INITIALIZER;
    uint32_t k = 0;
    size_t at = 0;
    while (at <= len) {
        int m = rx_match(ctx, n, &r, s, len, at);
        if (m < 0) {
            bson_destroy(&arr);
            rc = -1;
            goto out;
        }
        if (m == 0)
            break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r.md);
        bson_value_t d;
        match_doc(&r, s, &d);
        expr_append_indexed(&arr, k++, &d);
        bson_value_destroy(&d);
        if (arr.len > 16 * 1024 * 1024) {
            bson_destroy(&arr);
            rc = expr_fail(ctx, DOCSTORE_BSON_OBJECT_TOO_LARGE, "$regexFindAll result too large");
            goto out;
        }
        /* An empty match advances by one character so the scan ends. */
        at = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
        while (at < len && ((unsigned char)s[at] & 0xC0) == 0x80)
            at++;
    }
    expr_take_bson(&arr, BSON_TYPE_ARRAY, out);
out:
    rx_free(&r);
    expr_vals_free(v, e->n);
    return rc;
}

/* A growable byte buffer capped at the BSON document limit. */
typedef struct buf {
    char *p;
    size_t n, cap;
} buf_t;

static bool buf_add(buf_t *b, const char *s, size_t n)
{
    if (b->n + n > 16 * 1024 * 1024)
        return false;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->n + n)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (q == NULL)
            return false;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return true;
}

/* $replaceOne / $replaceAll {input, find, replacement}. */
int expr_op_replace(expr_ctx_t *ctx, const docstore_expr_t *e, bson_value_t *out)
{
    static const char *const names[] = {"input", "find", "replacement"};
    bool all = strcmp(e->name, "$replaceAll") == 0;
    bson_value_t *v = expr_eval_vals(ctx, e);
    if (v == NULL)
        return -1;
    int rc = 0;
    bool null = false;
    for (size_t i = 0; i < 3 && rc == 0; i++) {
        if (expr_is_nullish(&v[i]))
            null = true;
        else if (v[i].value_type != BSON_TYPE_UTF8)
            rc = expr_fail(ctx, DOCSTORE_LOCATION_51746,
                           "%s requires that '%s' be a string, found: %s", e->name, names[i],
                           expr_type_name(&v[i]));
    }
    if (rc == 0 && null) {
        expr_set_null(out);
    } else if (rc == 0) {
        const char *s = v[0].value.v_utf8.str, *end = s + v[0].value.v_utf8.len;
        const char *f = v[1].value.v_utf8.str, *r = v[2].value.v_utf8.str;
        size_t flen = v[1].value.v_utf8.len, rlen = v[2].value.v_utf8.len;
        buf_t b = {0};
        while (s <= end) {
            const char *hit = flen == 0 ? s : memmem(s, (size_t)(end - s), f, flen);
            if (hit == NULL)
                break;
            if (!buf_add(&b, s, (size_t)(hit - s)) || !buf_add(&b, r, rlen)) {
                rc = expr_fail(ctx, DOCSTORE_BSON_OBJECT_TOO_LARGE, "%s result too large", e->name);
                break;
            }
            s = hit + flen;
            if (!all)
                break;
            if (flen == 0) {
                /* An empty find inserts between characters. */
                if (s == end)
                    break;
                if (!buf_add(&b, s, 1)) {
                    rc = expr_fail(ctx, DOCSTORE_BSON_OBJECT_TOO_LARGE, "%s result too large",
                                   e->name);
                    break;
                }
                s++;
            }
        }
        if (rc == 0 && s < end && !buf_add(&b, s, (size_t)(end - s)))
            rc = expr_fail(ctx, DOCSTORE_BSON_OBJECT_TOO_LARGE, "%s result too large", e->name);
        if (rc == 0)
            expr_set_utf8(out, b.p ? b.p : "", b.n);
        free(b.p);
    }
    expr_vals_free(v, e->n);
    return rc;
}
