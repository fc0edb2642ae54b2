/*
 * Bounded PCRE2 matching (regex.h). The match context is process-wide and
 * created on first use: the docstore runs on one event loop, and the context
 * only holds limits, never per-match state.
 */
#include "docstore/query/regex.h"

#include "docstore/base/deadline.h"

static pcre2_match_context *limits;
static pcre2_jit_stack *jit_stack; /* JIT patterns' stack, shared: one match at a time */

static pcre2_match_context *limits_get(void)
{
    if (limits == NULL) {
        limits = pcre2_match_context_create(NULL);
        if (limits == NULL)
            return NULL;
        pcre2_set_match_limit(limits, DOCSTORE_REGEX_MATCH_LIMIT);
        pcre2_set_depth_limit(limits, DOCSTORE_REGEX_DEPTH_LIMIT);
        /* Without it, JIT runs on a 32 KB machine stack: "(ab)*c" over a
         * 4 MB string would fail where the interpreter succeeds. */
        jit_stack = pcre2_jit_stack_create(32 * 1024, DOCSTORE_REGEX_JIT_STACK, NULL);
        if (jit_stack != NULL)
            pcre2_jit_stack_assign(limits, NULL, jit_stack);
    }
    return limits;
}

void docstore_regex_jit(pcre2_code *re)
{
    /* A failed JIT compile leaves re to the interpreter: nothing to report. */
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
}

int docstore_regex_match(const pcre2_code *re, const char *s, size_t len, size_t start,
                         pcre2_match_data *md)
{
    /* A match may cost up to the match limit: it counts as 16 units of the
     * command's budget; once the budget is gone, matching stops at once
     * (the dispatcher answers 50, not this error). */
    if (docstore_deadline_tick(16))
        return PCRE2_ERROR_MATCHLIMIT;
    pcre2_match_context *mc = limits_get();
    if (mc == NULL)
        return PCRE2_ERROR_NOMEMORY;
    return pcre2_match(re, (PCRE2_SPTR)s, len, start, 0, md, mc);
}

void docstore_regex_error_message(int rc, char *buf, size_t size)
{
    if (size == 0)
        return;
    if (pcre2_get_error_message(rc, (PCRE2_UCHAR *)buf, size) < 0)
        buf[size - 1] = '\0';
}
