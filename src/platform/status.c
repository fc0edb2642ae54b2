/*
 * The status document (see status.h). Field names are stable: tests and the
 * benchmark read them.
 */
#include "platform/status.h"

#include "platform/cgroup.h"
#include "platform/function.h"
#include "platform/instance.h"
#include "platform/json.h"
#include "platform/platform.h"
#include "platform/template.h"
#include "platform/uri.h"

/* The status document's published state names: returning, a phase of
 * the old "busy", is shown as busy. */
static const char *state_name(platform_instance_state_t s)
{
    return platform_instance_state_name(s == PLATFORM_INSTANCE_RETURNING ? PLATFORM_INSTANCE_BUSY
                                                                         : s);
}

static int instance_json(buf_t *b, const platform_instance_t *inst, int *first)
{
    int rc = buf_append_str(b, *first ? "" : ",");
    *first = 0;
    if (rc == 0)
        rc = buf_printf(
            b,
            "{\"id\":%u,\"pid\":%d,\"state\":\"%s\",\"invocations\":%u,"
            "\"runtimeApiPort\":%d,\"containment\":\"%s\",\"initDurationMs\":",
            inst->id, (int)inst->pid, state_name(inst->state), inst->served, inst->rapi_port,
            platform_containment_name(inst->cg ? inst->cg->kind : PLATFORM_CONTAIN_SIGNALS));
    if (rc == 0)
        rc = inst->init_ms >= 0 ? buf_printf(b, "%.2f", inst->init_ms) : buf_append_str(b, "null");
    if (rc == 0)
        rc = buf_append_str(b, "}");
    return rc;
}

int platform_status_json(platform_t *p, buf_t *b)
{
    int rc = buf_printf(
        b, "{\"port\":%d,\"uptimeMs\":%llu,\"containment\":\"%s\",\"mongodbUri\":", p->api_port,
        (unsigned long long)((platform_now_us() - p->started_us) / 1000),
        platform_containment_name(platform_cgroups_kind(p->cgroups)));
    /* an external MongoDB's URI (--db) may hold a password: its hosts only */
    char shown[256];
    if (p->cfg.db_uri != NULL && p->mongodb_uri != NULL)
        platform_uri_public(p->mongodb_uri, shown, sizeof shown);
    if (rc == 0)
        rc = buf_append_json_cstr(
            b, p->cfg.db_uri != NULL && p->mongodb_uri != NULL ? shown : p->mongodb_uri);
    if (rc == 0)
        rc = buf_append_str(b, ",\"functions\":[");
    for (size_t i = 0; rc == 0 && i < p->n_functions; i++) {
        const platform_function_t *fn = p->functions[i];
        const platform_function_spec_t *s = fn->spec;
        rc = buf_append_str(b, i ? ",{\"name\":" : "{\"name\":");
        if (rc == 0)
            rc = buf_append_json_cstr(b, s->name);
        if (rc == 0)
            rc = buf_append_str(b, ",\"runtime\":");
        if (rc == 0)
            rc = buf_append_json_cstr(b, s->runtime);
        if (rc == 0)
            rc = buf_append_str(b, ",\"handler\":");
        if (rc == 0)
            rc = buf_append_json_cstr(b, s->handler);
        if (rc == 0) /* where the code comes from, and whether it runs isolated (sandbox.h) */
            rc = buf_printf(b,
                            ",\"codeSource\":\"%s\",\"codeUri\":", s->code_zip ? "zip" : "folder");
        if (rc == 0)
            rc = buf_append_json_cstr(b, s->code_zip ? s->code_zip : s->code_dir);
        if (rc == 0)
            rc = buf_append_str(b, ",\"codeDir\":");
        if (rc == 0)
            rc = buf_append_json_cstr(b, s->code_dir);
        if (rc == 0)
            rc = buf_printf(b, ",\"isolated\":%s", fn->isolated ? "true" : "false");
        if (rc == 0)
            rc = buf_append_str(b, ",\"arn\":");
        if (rc == 0)
            rc = buf_append_json_cstr(b, fn->arn);
        if (rc == 0)
            rc = buf_printf(b,
                            ",\"memory\":%d,\"timeout\":%d,\"concurrency\":%d,\"queue\":%zu,"
                            "\"live\":%zu,\"invocations\":%llu,\"throttles\":%llu,\"errors\":%llu,"
                            "\"instancesStarted\":%llu,\"maximumRetryAttempts\":%d,"
                            "\"maximumEventAgeInSeconds\":%d,\"asyncRetries\":%llu,"
                            "\"asyncDropped\":%llu,\"retryWaiting\":%zu,\"instances\":[",
                            s->memory_mb, s->timeout_s, s->reserved_concurrency, fn->queue_len,
                            fn->n_live, (unsigned long long)fn->invocations,
                            (unsigned long long)fn->throttles, (unsigned long long)fn->errors,
                            (unsigned long long)fn->instances_started, s->event_max_retries,
                            s->event_max_age_s, (unsigned long long)fn->async_retries,
                            (unsigned long long)fn->async_dropped, fn->retry_waiting);
        int first = 1;
        const platform_instance_t *inst;
        TAILQ_FOREACH(inst, &fn->live, live_link)
        {
            if (rc == 0)
                rc = instance_json(b, inst, &first);
        }
        TAILQ_FOREACH(inst, &fn->dead, link)
        {
            if (rc == 0)
                rc = instance_json(b, inst, &first);
        }
        if (rc == 0)
            rc = buf_append_str(b, "]}");
    }
    if (rc == 0)
        rc = buf_append_str(b, "]}\n");
    return rc;
}
