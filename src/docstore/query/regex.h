/*
 * Bounded PCRE2 matching for every regex the docstore runs ($regex and $in
 * with regexes in filters, $regexMatch/$regexFind/$regexFindAll): one match
 * context with a match limit and a depth limit, so a catastrophic pattern
 * stops after a bounded amount of work instead of holding the event loop, and
 * JIT compilation where PCRE2 supports it. A match that hits a limit is an
 * error for the caller to report, never "no match".
 */
#ifndef TETHER_DOCSTORE_REGEX_H
#define TETHER_DOCSTORE_REGEX_H

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>
#include <stddef.h>

enum {
    /* pcre2_match's backtracking budget per match attempt. */
    DOCSTORE_REGEX_MATCH_LIMIT = 250000,
    /* Backtracking depth (the interpreter's heap frames): as deep as the
     * match limit lets a pattern go, so a repeated group over 100 KB of text
     * matches as it does under JIT; PCRE2's 20 MB heap limit bounds memory. */
    DOCSTORE_REGEX_DEPTH_LIMIT = DOCSTORE_REGEX_MATCH_LIMIT,
    /* The largest JIT stack a match may grow (bytes). */
    DOCSTORE_REGEX_JIT_STACK = 8 * 1024 * 1024,
};

/* JIT-compiles re for complete matches when the platform supports it; without
 * JIT (or on failure) the interpreter runs it, under the same limits. */
void docstore_regex_jit(pcre2_code *re);

/* pcre2_match of re over s[0..len) from byte offset start into md, under the
 * docstore's match context. Returns pcre2_match's result: >= 0 a match,
 * PCRE2_ERROR_NOMATCH none, any other negative value an error (a limit hit:
 * the caller reports it with docstore_regex_error_message). */
int docstore_regex_match(const pcre2_code *re, const char *s, size_t len, size_t start,
                         pcre2_match_data *md);

/* PCRE2's message for a negative result code, in buf (NUL-terminated). */
void docstore_regex_error_message(int rc, char *buf, size_t size);

#endif
