/*
 * Each function's code: folders as written, zips unpacked once at start, and
 * whether instances run isolated (see code.h).
 */
#include "platform/code.h"

#include "common/log.h"
#include "platform/codezip.h"
#include "platform/platform.h"
#include "platform/sandbox.h"
#include "platform/spawn.h"
#include "platform/template.h"

#include <stdlib.h>
#include <string.h>

#define LOG_WHO "platform"

/* Would spec run isolated if isolation is available? */
static int wants_isolation(const platform_t *p, const platform_function_spec_t *spec)
{
    if (spec->kind != PLATFORM_RUNTIME_PROVIDED || p->cfg.isolate == 0)
        return 0;
    return p->cfg.isolate == 1 || spec->code_zip != NULL;
}

int platform_code_isolated(const platform_t *p, const platform_function_spec_t *spec)
{
    return p->sandbox != NULL && wants_isolation(p, spec);
}

int platform_code_prepare(platform_t *p)
{
    platform_template_t *t = p->tmpl;
    char err[1024];
    int any_zip = 0, any_isolated = 0, node_zip = 0;
    for (size_t i = 0; i < t->n_functions; i++) {
        any_zip |= t->functions[i].code_zip != NULL;
        any_isolated |= wants_isolation(p, &t->functions[i]);
        node_zip |=
            t->functions[i].code_zip != NULL && t->functions[i].kind == PLATFORM_RUNTIME_NODE;
    }
    if (!any_zip && !any_isolated)
        return 0;
    if (platform_codezip_new(&p->zips, err, sizeof err) != 0) {
        log_error(LOG_WHO, "%s", err);
        return -1;
    }
    for (size_t i = 0; i < t->n_functions; i++) {
        platform_function_spec_t *f = &t->functions[i];
        if (f->code_zip == NULL)
            continue;
        const char *dir;
        if (platform_codezip_unpack(p->zips, f->code_zip, &dir, err, sizeof err) != 0) {
            log_error(LOG_WHO, "function %s: %s", f->name, err);
            return -1;
        }
        f->code_dir = strdup(dir);
        if (f->code_dir == NULL)
            return -1;
    }
    if (node_zip)
        log_info(LOG_WHO, "Node.js zips run unisolated: their runtime is this machine's node");
    if (!any_isolated)
        return 0;
    platform_sandbox_t *sb = NULL;
    if (platform_sandbox_new(platform_codezip_dir(p->zips), &sb, err, sizeof err) != 0) {
        log_warn(LOG_WHO, "%s: functions run unisolated", err);
        return 0;
    }
    if (platform_sandbox_probe(sb, sb->task, err, sizeof err) != 0) {
        log_warn(LOG_WHO,
                 "isolation is not available here (%s; mount namespaces need root or "
                 "CAP_SYS_ADMIN): functions run unisolated, on this machine's files",
                 err);
        platform_sandbox_free(sb);
        return 0;
    }
    p->sandbox = sb;
    for (size_t i = 0; i < t->n_functions; i++) {
        if (wants_isolation(p, &t->functions[i]))
            log_info(LOG_WHO,
                     "function %s runs isolated: its root holds only its code (/var/task), "
                     "/tmp, /proc, /dev and /bin/sh",
                     t->functions[i].name);
    }
    return 0;
}

void platform_code_release(platform_t *p)
{
    platform_sandbox_free(p->sandbox);
    p->sandbox = NULL;
    platform_codezip_free(p->zips);
    p->zips = NULL;
}
