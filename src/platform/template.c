/*
 * The SAM template subset (template.h): libyaml loads the document into a
 * node tree, and we walk only the fixed paths we understand
 * (Globals.Function.*, Resources.*.Type, Resources.*.Properties.*), so a
 * cyclic alias or a deep document cannot make the walk recurse without bound.
 *
 * Each function starts from the defaults, takes Globals.Function's properties,
 * then its own (Environment.Variables merge by name, the function's value
 * winning, as SAM merges maps). Every error names the file and the line of the
 * node it concerns; unknown properties are ignored with one warning each.
 */
#include "platform/template.h"

#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define TEMPLATE_MAX_BYTES (16u << 20) /* a template larger than this is refused */
#define TEMPLATE_MAX_ENV   4096        /* Environment.Variables entries per function */
#define LOG_WHO            "platform template"

/* What one parse needs to report errors and warnings. */
typedef struct parse_ctx {
    yaml_document_t *doc;
    const char *name;     /* labels messages: the file as the user named it */
    const char *base_dir; /* absolute; CodeUri is resolved against it */
    char *err;
    size_t errlen;
    int warn; /* 1: log unknown-property warnings (off when re-applying Globals) */
} parse_ctx_t;

/* Line numbers of where a merged property came from, for errors after the merge. */
typedef struct spec_lines {
    int runtime;
    int handler;
    int code_uri;
} spec_lines_t;

__attribute__((format(printf, 3, 4))) static int fail_at(parse_ctx_t *c, int line, const char *fmt,
                                                         ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->err != NULL && c->errlen > 0)
        snprintf(c->err, c->errlen, "%s:%d: %s", c->name, line, msg);
    return -1;
}

static int node_line(const yaml_node_t *n)
{
    return (int)n->start_mark.line + 1;
}

static const char *node_tag(const yaml_node_t *n)
{
    return n->tag != NULL ? (const char *)n->tag : "";
}

/* Short-form intrinsic functions (!Ref, !Sub, !GetAtt, ...) have a local "!" tag. */
static int is_local_tag(const yaml_node_t *n)
{
    const char *t = node_tag(n);
    return t[0] == '!' && t[1] != '\0';
}

/* The string of a scalar key, or NULL when the key is not a plain string. */
static const char *key_string(yaml_document_t *doc, const yaml_node_pair_t *p)
{
    yaml_node_t *k = yaml_document_get_node(doc, p->key);
    if (k == NULL || k->type != YAML_SCALAR_NODE)
        return NULL;
    if (strlen((const char *)k->data.scalar.value) != k->data.scalar.length)
        return NULL;
    return (const char *)k->data.scalar.value;
}

/* Looks up key in a mapping node. Returns the value node or NULL. */
static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const char *k = key_string(doc, p);
        if (k != NULL && strcmp(k, key) == 0)
            return yaml_document_get_node(doc, p->value);
    }
    return NULL;
}

/* Fails on a key that is not a string or that appears twice in the mapping. */
static int map_check_keys(parse_ctx_t *c, yaml_node_t *map)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *kn = yaml_document_get_node(c->doc, p->key);
        const char *k = key_string(c->doc, p);
        if (k == NULL)
            return fail_at(c, kn != NULL ? node_line(kn) : node_line(map),
                           "mapping keys must be plain strings");
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            const char *kq = key_string(c->doc, q);
            if (kq != NULL && strcmp(kq, k) == 0)
                return fail_at(c, node_line(kn), "duplicate key '%s'", k);
        }
    }
    return 0;
}

/* A plain null (~, null, or nothing) means "not set". */
static int is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    if (is_local_tag(n))
        return 0;
    const char *v = (const char *)n->data.scalar.value;
    return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/*
 * The string value of a property. A plain-string !Sub is used as written (no
 * substitution: nothing here knows stack parameters); other intrinsic
 * functions and non-scalars are errors naming the property.
 */
static int scalar_string(parse_ctx_t *c, const char *prop, yaml_node_t *n, const char **out)
{
    if (n->type != YAML_SCALAR_NODE) {
        if (is_local_tag(n))
            return fail_at(c, node_line(n), "%s: intrinsic function %s is not supported here", prop,
                           node_tag(n));
        if (n->type == YAML_MAPPING_NODE &&
            n->data.mapping.pairs.start < n->data.mapping.pairs.top) {
            const char *k = key_string(c->doc, n->data.mapping.pairs.start);
            if (k != NULL && (strcmp(k, "Ref") == 0 || strncmp(k, "Fn::", 4) == 0))
                return fail_at(c, node_line(n), "%s: intrinsic function %s is not supported", prop,
                               k);
        }
        return fail_at(c, node_line(n), "%s must be a string", prop);
    }
    if (is_local_tag(n) && strcmp(node_tag(n), "!Sub") != 0)
        return fail_at(c, node_line(n), "%s: intrinsic function %s is not supported", prop,
                       node_tag(n));
    if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
        return fail_at(c, node_line(n), "%s contains a NUL character", prop);
    *out = (const char *)n->data.scalar.value;
    return 0;
}

static int scalar_int(parse_ctx_t *c, const char *prop, yaml_node_t *n, long min, long max,
                      int *out)
{
    const char *s;
    if (scalar_string(c, prop, n, &s) != 0)
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (s[0] == '\0' || *end != '\0' || errno != 0)
        return fail_at(c, node_line(n), "%s must be an integer, not '%.40s'", prop, s);
    if (v < min || v > max)
        return fail_at(c, node_line(n), "%s must be between %ld and %ld, not %ld", prop, min, max,
                       v);
    *out = (int)v;
    return 0;
}

static int set_str(char **field, const char *value)
{
    char *copy = strdup(value);
    if (copy == NULL)
        return -1;
    free(*field);
    *field = copy;
    return 0;
}

/* Sets NAME=VALUE in the function's environment, replacing an earlier value. */
static int env_set(platform_function_spec_t *f, const char *name, const char *value)
{
    for (size_t i = 0; i < f->n_env; i++) {
        if (strcmp(f->env[i].name, name) == 0)
            return set_str(&f->env[i].value, value);
    }
    platform_env_var_t *grown = realloc(f->env, (f->n_env + 1) * sizeof *grown);
    if (grown == NULL)
        return -1;
    f->env = grown;
    platform_env_var_t *e = &f->env[f->n_env];
    e->name = strdup(name);
    e->value = strdup(value);
    if (e->name == NULL || e->value == NULL) {
        free(e->name);
        free(e->value);
        return -1;
    }
    f->n_env++;
    return 0;
}

/* Environment variable names as AWS accepts them: [a-zA-Z][a-zA-Z0-9_]+. */
static int env_name_ok(const char *s)
{
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return 0;
    for (const char *p = s + 1; *p != '\0'; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return 0;
    }
    return 1;
}

static int apply_environment(parse_ctx_t *c, platform_function_spec_t *f, yaml_node_t *n)
{
    if (is_null(n))
        return 0;
    if (n->type != YAML_MAPPING_NODE)
        return fail_at(c, node_line(n), "Environment must be a mapping with Variables");
    if (map_check_keys(c, n) != 0)
        return -1;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *k = key_string(c->doc, p);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        if (strcmp(k, "Variables") != 0) {
            if (c->warn)
                log_warn(LOG_WHO, "%s:%d: Environment.%s is not supported; ignored", c->name,
                         node_line(v), k);
            continue;
        }
        if (is_null(v))
            continue;
        if (v->type != YAML_MAPPING_NODE)
            return fail_at(c, node_line(v), "Environment.Variables must be a mapping");
        if (map_check_keys(c, v) != 0)
            return -1;
        for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top;
             q++) {
            const char *name = key_string(c->doc, q);
            yaml_node_t *val = yaml_document_get_node(c->doc, q->value);
            if (!env_name_ok(name))
                return fail_at(c, node_line(val), "bad environment variable name '%.64s'", name);
            if (f->n_env >= TEMPLATE_MAX_ENV)
                return fail_at(c, node_line(val), "too many environment variables");
            const char *s;
            if (scalar_string(c, name, val, &s) != 0)
                return -1;
            if (env_set(f, name, s) != 0)
                return fail_at(c, node_line(val), "out of memory");
        }
    }
    return 0;
}

/* EventInvokeConfig: how Event invocations are retried (MaximumRetryAttempts)
 * and how old they may grow (MaximumEventAgeInSeconds), in AWS's ranges.
 * Destinations are not run; they and unknown keys are ignored with a warning. */
static int apply_event_invoke_config(parse_ctx_t *c, platform_function_spec_t *f, yaml_node_t *n)
{
    if (n->type != YAML_MAPPING_NODE)
        return fail_at(c, node_line(n), "EventInvokeConfig must be a mapping");
    if (map_check_keys(c, n) != 0)
        return -1;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *k = key_string(c->doc, p);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        if (is_null(v))
            continue;
        if (strcmp(k, "MaximumRetryAttempts") == 0) {
            if (scalar_int(c, "EventInvokeConfig.MaximumRetryAttempts", v, 0, 2,
                           &f->event_max_retries) != 0)
                return -1;
        } else if (strcmp(k, "MaximumEventAgeInSeconds") == 0) {
            if (scalar_int(c, "EventInvokeConfig.MaximumEventAgeInSeconds", v, 60, 21600,
                           &f->event_max_age_s) != 0)
                return -1;
        } else if (strcmp(k, "DestinationConfig") == 0) {
            if (c->warn)
                log_warn(LOG_WHO,
                         "%s:%d: EventInvokeConfig.DestinationConfig is not supported (no "
                         "destinations are sent); ignored",
                         c->name, node_line(v));
        } else if (c->warn) {
            log_warn(LOG_WHO, "%s:%d: unknown property 'EventInvokeConfig.%.64s' ignored", c->name,
                     node_line(v), k);
        }
    }
    return 0;
}

/* Function names as the Invoke API accepts them: [a-zA-Z0-9-_]{1,64}. */
static int function_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return 0;
    for (const char *p = s; *p != '\0'; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-'))
            return 0;
    }
    return 1;
}

/* Applies one property (from Globals.Function or the function's Properties). */
static int apply_property(parse_ctx_t *c, platform_function_spec_t *f, spec_lines_t *lines,
                          const char *key, yaml_node_t *v)
{
    const char *s;
    if (is_null(v))
        return 0;
    if (strcmp(key, "FunctionName") == 0) {
        if (scalar_string(c, key, v, &s) != 0)
            return -1;
        if (!function_name_ok(s))
            return fail_at(c, node_line(v),
                           "FunctionName '%.64s' must be 1-64 letters, digits, '-' or '_'", s);
        return set_str(&f->name, s) == 0 ? 0 : fail_at(c, node_line(v), "out of memory");
    }
    if (strcmp(key, "Runtime") == 0) {
        if (scalar_string(c, key, v, &s) != 0)
            return -1;
        lines->runtime = node_line(v);
        return set_str(&f->runtime, s) == 0 ? 0 : fail_at(c, node_line(v), "out of memory");
    }
    if (strcmp(key, "CodeUri") == 0) {
        if (v->type == YAML_MAPPING_NODE && map_get(c->doc, v, "Bucket") != NULL)
            return fail_at(c, node_line(v),
                           "CodeUri must be a local folder or .zip file, not an S3 location");
        if (scalar_string(c, key, v, &s) != 0)
            return -1;
        if (s[0] == '\0')
            return fail_at(c, node_line(v), "CodeUri is empty");
        lines->code_uri = node_line(v);
        return set_str(&f->code_dir, s) == 0 ? 0 : fail_at(c, node_line(v), "out of memory");
    }
    if (strcmp(key, "Handler") == 0) {
        if (scalar_string(c, key, v, &s) != 0)
            return -1;
        lines->handler = node_line(v);
        return set_str(&f->handler, s) == 0 ? 0 : fail_at(c, node_line(v), "out of memory");
    }
    if (strcmp(key, "MemorySize") == 0)
        return scalar_int(c, key, v, 128, 10240, &f->memory_mb);
    if (strcmp(key, "EphemeralStorage") == 0) {
        yaml_node_t *size = v->type == YAML_MAPPING_NODE ? map_get(c->doc, v, "Size") : NULL;
        if (size == NULL)
            return fail_at(c, node_line(v), "EphemeralStorage must be a mapping with Size (MB)");
        return scalar_int(c, "EphemeralStorage.Size", size, 512, 10240, &f->ephemeral_mb);
    }
    if (strcmp(key, "Timeout") == 0)
        return scalar_int(c, key, v, 1, 900, &f->timeout_s);
    if (strcmp(key, "ReservedConcurrentExecutions") == 0) {
        f->reserved_set = 1;
        return scalar_int(c, key, v, 0, 1000, &f->reserved_concurrency);
    }
    if (strcmp(key, "Role") == 0) {
        if (scalar_string(c, key, v, &s) != 0)
            return -1;
        if (strncmp(s, "arn:", 4) != 0)
            return fail_at(c, node_line(v), "Role must be an IAM role ARN (arn:aws:iam::...)");
        return set_str(&f->role_arn, s) == 0 ? 0 : fail_at(c, node_line(v), "out of memory");
    }
    if (strcmp(key, "Environment") == 0)
        return apply_environment(c, f, v);
    if (strcmp(key, "EventInvokeConfig") == 0)
        return apply_event_invoke_config(c, f, v);
    if (c->warn)
        log_warn(LOG_WHO, "%s:%d: unknown property '%.64s' ignored", c->name, node_line(v), key);
    return 0;
}

static int apply_properties(parse_ctx_t *c, platform_function_spec_t *f, spec_lines_t *lines,
                            yaml_node_t *props, const char *what)
{
    if (props == NULL || is_null(props))
        return 0;
    if (props->type != YAML_MAPPING_NODE)
        return fail_at(c, node_line(props), "%s must be a mapping", what);
    if (map_check_keys(c, props) != 0)
        return -1;
    for (yaml_node_pair_t *p = props->data.mapping.pairs.start; p < props->data.mapping.pairs.top;
         p++) {
        const char *k = key_string(c->doc, p);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        if (apply_property(c, f, lines, k, v) != 0)
            return -1;
    }
    return 0;
}

/*
 * Joins dir and rel and removes ".", ".." and repeated slashes lexically (the
 * folder need not exist yet: the platform checks it when it starts an instance).
 */
static char *path_join_normalize(const char *dir, const char *rel)
{
    size_t n = strlen(dir) + strlen(rel) + 3;
    char *joined = malloc(n);
    char *out = malloc(n);
    if (joined == NULL || out == NULL) {
        free(joined);
        free(out);
        return NULL;
    }
    if (rel[0] == '/')
        snprintf(joined, n, "%s", rel);
    else
        snprintf(joined, n, "%s/%s", dir, rel);
    size_t o = 0;
    const char *p = joined;
    while (*p != '\0') {
        while (*p == '/')
            p++;
        const char *seg = p;
        while (*p != '\0' && *p != '/')
            p++;
        size_t len = (size_t)(p - seg);
        if (len == 0 || (len == 1 && seg[0] == '.'))
            continue;
        if (len == 2 && seg[0] == '.' && seg[1] == '.') {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
            continue;
        }
        out[o++] = '/';
        memcpy(out + o, seg, len);
        o += len;
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    free(joined);
    return out;
}

static void function_free_fields(platform_function_spec_t *f)
{
    free(f->logical_id);
    free(f->name);
    free(f->runtime);
    free(f->code_dir);
    free(f->code_zip);
    free(f->handler);
    free(f->role_arn);
    for (size_t i = 0; i < f->n_env; i++) {
        free(f->env[i].name);
        free(f->env[i].value);
    }
    free(f->env);
}

void platform_template_free(platform_template_t *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n_functions; i++)
        function_free_fields(&t->functions[i]);
    free(t->functions);
    free(t);
}

/* Builds one function from Globals.Function and its resource node. */
static int build_function(parse_ctx_t *c, yaml_node_t *globals_fn, int warn_globals,
                          const char *logical_id, int line, yaml_node_t *res,
                          platform_function_spec_t *f)
{
    spec_lines_t lines = {line, line, line};
    memset(f, 0, sizeof *f);
    f->memory_mb = 128;
    f->ephemeral_mb = 512;
    f->timeout_s = 3;
    f->reserved_concurrency = 10;
    f->event_max_retries = 2;
    f->event_max_age_s = 21600;
    f->line = line;
    f->logical_id = strdup(logical_id);
    if (f->logical_id == NULL)
        return fail_at(c, f->line, "out of memory");

    c->warn = warn_globals;
    if (apply_properties(c, f, &lines, globals_fn, "Globals.Function") != 0)
        return -1;
    c->warn = 1;
    yaml_node_t *props = map_get(c->doc, res, "Properties");
    if (apply_properties(c, f, &lines, props, "Properties") != 0)
        return -1;

    if (f->name == NULL) {
        if (!function_name_ok(logical_id))
            return fail_at(c, f->line,
                           "resource name '%.64s' is not a valid function name; "
                           "set FunctionName",
                           logical_id);
        if (set_str(&f->name, logical_id) != 0)
            return fail_at(c, f->line, "out of memory");
    }
    if (f->runtime == NULL)
        return fail_at(c, f->line, "function %s has no Runtime", logical_id);
    if (strcmp(f->runtime, "provided.al2023") == 0 || strcmp(f->runtime, "provided.al2") == 0)
        f->kind = PLATFORM_RUNTIME_PROVIDED;
    else if (strcmp(f->runtime, "nodejs20.x") == 0 || strcmp(f->runtime, "nodejs22.x") == 0)
        f->kind = PLATFORM_RUNTIME_NODE;
    else
        return fail_at(c, lines.runtime,
                       "unknown runtime '%.64s' (tether runs provided.al2023, provided.al2, "
                       "nodejs20.x, nodejs22.x)",
                       f->runtime);
    if (f->kind == PLATFORM_RUNTIME_NODE && (f->handler == NULL || f->handler[0] == '\0'))
        return fail_at(c, lines.handler, "function %s: %s needs a Handler (file.export)",
                       logical_id, f->runtime);
    if (f->code_dir == NULL)
        return fail_at(c, f->line, "function %s has no CodeUri", logical_id);
    char *abs = path_join_normalize(c->base_dir, f->code_dir);
    if (abs == NULL)
        return fail_at(c, lines.code_uri, "out of memory");
    free(f->code_dir);
    f->code_dir = NULL;
    /* SAM's CodeUri may name a zip (what `sam deploy` uploads); tether up
     * unpacks it at start. A folder that happens to end in .zip stays a folder. */
    size_t n = strlen(abs);
    struct stat st;
    if (n > 4 && strcasecmp(abs + n - 4, ".zip") == 0 &&
        !(stat(abs, &st) == 0 && S_ISDIR(st.st_mode)))
        f->code_zip = abs;
    else
        f->code_dir = abs;
    return 0;
}

static int parse_document(parse_ctx_t *c, platform_template_t *t)
{
    yaml_node_t *root = yaml_document_get_root_node(c->doc);
    if (root == NULL)
        return fail_at(c, 1, "the template is empty");
    if (root->type != YAML_MAPPING_NODE)
        return fail_at(c, node_line(root), "the template must be a mapping (Resources: ...)");
    if (map_check_keys(c, root) != 0)
        return -1;

    yaml_node_t *globals_fn = NULL;
    yaml_node_t *globals = map_get(c->doc, root, "Globals");
    if (globals != NULL && !is_null(globals)) {
        if (globals->type != YAML_MAPPING_NODE)
            return fail_at(c, node_line(globals), "Globals must be a mapping");
        if (map_check_keys(c, globals) != 0)
            return -1;
        globals_fn = map_get(c->doc, globals, "Function");
        if (globals_fn != NULL && !is_null(globals_fn) && globals_fn->type != YAML_MAPPING_NODE)
            return fail_at(c, node_line(globals_fn), "Globals.Function must be a mapping");
    }

    yaml_node_t *resources = map_get(c->doc, root, "Resources");
    if (resources == NULL)
        return fail_at(c, node_line(root), "the template has no Resources");
    if (resources->type != YAML_MAPPING_NODE)
        return fail_at(c, node_line(resources), "Resources must be a mapping");
    if (map_check_keys(c, resources) != 0)
        return -1;

    size_t n_res =
        (size_t)(resources->data.mapping.pairs.top - resources->data.mapping.pairs.start);
    if (n_res > 0) {
        t->functions = calloc(n_res, sizeof *t->functions);
        if (t->functions == NULL)
            return fail_at(c, node_line(resources), "out of memory");
    }
    int warn_globals = 1;
    for (yaml_node_pair_t *p = resources->data.mapping.pairs.start;
         p < resources->data.mapping.pairs.top; p++) {
        const char *logical_id = key_string(c->doc, p);
        int key_line = node_line(yaml_document_get_node(c->doc, p->key));
        yaml_node_t *res = yaml_document_get_node(c->doc, p->value);
        if (res->type != YAML_MAPPING_NODE)
            return fail_at(c, key_line, "resource %s must be a mapping", logical_id);
        if (map_check_keys(c, res) != 0)
            return -1;
        yaml_node_t *type = map_get(c->doc, res, "Type");
        if (type == NULL)
            return fail_at(c, key_line, "resource %s has no Type", logical_id);
        const char *type_s;
        if (scalar_string(c, "Type", type, &type_s) != 0)
            return -1;
        if (strcmp(type_s, "AWS::Serverless::Function") != 0) {
            log_debug(LOG_WHO, "%s:%d: resource %s of type %s ignored", c->name, node_line(res),
                      logical_id, type_s);
            continue;
        }
        platform_function_spec_t *f = &t->functions[t->n_functions];
        int rc = build_function(c, globals_fn, warn_globals, logical_id, key_line, res, f);
        t->n_functions++; /* counted even on failure, so platform_template_free frees it */
        if (rc != 0)
            return -1;
        warn_globals = 0;
        for (size_t i = 0; i + 1 < t->n_functions; i++) {
            if (strcmp(t->functions[i].name, f->name) == 0)
                return fail_at(c, f->line, "two functions are named '%s'", f->name);
        }
    }
    return 0;
}

/* Makes base_dir absolute (against the working directory) into out. */
static int absolute_dir(const char *base_dir, char *out, size_t outlen)
{
    if (base_dir == NULL || base_dir[0] == '\0')
        base_dir = ".";
    if (base_dir[0] == '/') {
        if (strlen(base_dir) >= outlen)
            return -1;
        snprintf(out, outlen, "%s", base_dir);
        return 0;
    }
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == NULL)
        return -1;
    char *norm = path_join_normalize(cwd, base_dir);
    if (norm == NULL || strlen(norm) >= outlen) {
        free(norm);
        return -1;
    }
    snprintf(out, outlen, "%s", norm);
    free(norm);
    return 0;
}

int platform_template_parse(const char *yaml, size_t len, const char *base_dir, const char *name,
                            platform_template_t **out, char *err, size_t errlen)
{
    parse_ctx_t c = {
        .name = name != NULL ? name : "template", .err = err, .errlen = errlen, .warn = 1};
    char base[PATH_MAX];
    yaml_parser_t parser;
    yaml_document_t doc;
    int rc = -1;

    *out = NULL;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (absolute_dir(base_dir, base, sizeof base) != 0)
        return fail_at(&c, 1, "cannot resolve the template's folder");
    c.base_dir = base;
    if (len > TEMPLATE_MAX_BYTES)
        return fail_at(&c, 1, "the template is larger than %u bytes", TEMPLATE_MAX_BYTES);

    if (!yaml_parser_initialize(&parser))
        return fail_at(&c, 1, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        const char *problem = parser.problem != NULL ? parser.problem : "malformed YAML";
        int line = (int)parser.problem_mark.line + 1;
        if (parser.context != NULL)
            fail_at(&c, line, "%s %s (line %d)", problem, parser.context,
                    (int)parser.context_mark.line + 1);
        else
            fail_at(&c, line, "%s", problem);
        yaml_parser_delete(&parser);
        return -1;
    }
    c.doc = &doc;

    platform_template_t *t = calloc(1, sizeof *t);
    if (t == NULL) {
        fail_at(&c, 1, "out of memory");
        goto out;
    }
    if (parse_document(&c, t) != 0) {
        platform_template_free(t);
        goto out;
    }
    *out = t;
    rc = 0;
out:
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}

int platform_template_load(const char *path, platform_template_t **out, char *err, size_t errlen)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return -1;
    }
    if ((unsigned long long)st.st_size > TEMPLATE_MAX_BYTES) {
        snprintf(err, errlen, "%s: larger than %u bytes", path, TEMPLATE_MAX_BYTES);
        close(fd);
        return -1;
    }
    size_t size = (size_t)st.st_size, got = 0;
    char *data = malloc(size + 1);
    if (data == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        close(fd);
        return -1;
    }
    while (got < size) {
        ssize_t n = read(fd, data + got, size - got);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (got != size) {
        snprintf(err, errlen, "%s: short read", path);
        free(data);
        return -1;
    }

    /* CodeUri is relative to the template's folder, wherever we were started. */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    char real[PATH_MAX];
    const char *base = realpath(dir, real) != NULL ? real : dir;

    int rc = platform_template_parse(data, size, base, path, out, err, errlen);
    free(data);
    return rc;
}
