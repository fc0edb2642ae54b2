/*
 * What the update compiler (update.c) and the appliers (update_apply.c) share
 * beyond update_internal.h's types: formatting a value for an error message.
 * Its own file so that update_apply.c does not call back into update.c.
 */
#include "docstore/update/update_internal.h"

#include <stdio.h>
#include <string.h>

void update_fmt_value(const bson_value_t *v, char *buf, size_t size)
{
    bson_t tmp = BSON_INITIALIZER;
    buf[0] = '\0';
    if (v->value_type == BSON_TYPE_EOD || !bson_append_value(&tmp, "v", 1, v)) {
        snprintf(buf, size, "(missing)");
        bson_destroy(&tmp);
        return;
    }
    size_t len = 0;
    char *json = bson_as_relaxed_extended_json(&tmp, &len);
    bson_destroy(&tmp);
    if (json == NULL) {
        snprintf(buf, size, "?");
        return;
    }
    /* json is { "v" : X }: keep X. */
    const char *p = strstr(json, ": ");
    const char *s = p ? p + 2 : json;
    size_t n = strlen(s);
    if (n >= 2 && s[n - 1] == '}' && s[n - 2] == ' ')
        n -= 2;
    if (n >= size)
        n = size - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    bson_free(json);
}
