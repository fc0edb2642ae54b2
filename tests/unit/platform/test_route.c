/* Unit tests of request routing (Invoke API and Runtime API paths), JSON and
 * base64 helpers, and the instance environment. */
#include "harness.h"
#include "common/base64.h"
#include "platform/json.h"
#include "platform/route.h"
#include "platform/spawn.h"
#include "platform/template.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_api(const char *path, const char *query, platform_api_route_t want,
                      const char *name, const char *qual)
{
    char n[PLATFORM_NAME_MAX + 1], q[PLATFORM_NAME_MAX + 1];
    platform_api_route_t r = platform_route_api(path, query, n, q);
    CHECK_INT(r, want);
    if (r == want && name != NULL) {
        CHECK_STR(n, name);
        CHECK_STR(q, qual);
    }
}

static void test_api_routes(void)
{
    check_api("/2015-03-31/functions/echo/invocations", NULL, PLATFORM_ROUTE_INVOKE, "echo", "");
    check_api("/2015-03-31/functions/echo/invocations/", NULL, PLATFORM_ROUTE_INVOKE, "echo", "");
    check_api("/2015-03-31/functions/echo%3A%24LATEST/invocations", NULL, PLATFORM_ROUTE_INVOKE,
              "echo", "$LATEST");
    check_api("/2015-03-31/functions/echo/invocations", "Qualifier=%24LATEST",
              PLATFORM_ROUTE_INVOKE, "echo", "$LATEST");
    check_api("/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3A"
              "my-fn_2/invocations",
              NULL, PLATFORM_ROUTE_INVOKE, "my-fn_2", "");
    check_api("/2015-03-31/functions/123456789012:function:f:prod/invocations", NULL,
              PLATFORM_ROUTE_INVOKE, "f", "prod");
    /* a handler typed for a function name: AWS's pattern allows '.', and the
     * name is looked up (ResourceNotFoundException with a hint), not refused */
    check_api("/2015-03-31/functions/orders.create/invocations", NULL, PLATFORM_ROUTE_INVOKE,
              "orders.create", "");
    check_api("/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:a.b:%24LATEST/"
              "invocations",
              NULL, PLATFORM_ROUTE_INVOKE, "a.b", "$LATEST");
    /* conflicting qualifiers, bad names, bad escapes: INVOKE with no name */
    check_api("/2015-03-31/functions/f:a/invocations", "Qualifier=b", PLATFORM_ROUTE_INVOKE, "",
              "a");
    check_api("/2015-03-31/functions/a%2Fb/invocations", NULL, PLATFORM_ROUTE_INVOKE, "", "");
    check_api("/2015-03-31/functions/%zz/invocations", NULL, PLATFORM_ROUTE_INVOKE, "", "");
    check_api("/2015-03-31/functions/%4/invocations", NULL, PLATFORM_ROUTE_INVOKE, "", "");
    check_api("/2015-03-31/functions/arn:aws:s3:::bucket/invocations", NULL, PLATFORM_ROUTE_INVOKE,
              "", "");
    check_api("/_tether/status", NULL, PLATFORM_ROUTE_STATUS, NULL, NULL);
    check_api("/", NULL, PLATFORM_ROUTE_UNKNOWN, NULL, NULL);
    check_api("/2015-03-31/functions//invocations", NULL, PLATFORM_ROUTE_UNKNOWN, NULL, NULL);
    check_api("/2015-03-31/functions/a/b/invocations", NULL, PLATFORM_ROUTE_UNKNOWN, NULL, NULL);
    /* the Lambda read API and InvokeWithResponseStream name functions the same ways */
    check_api("/2015-03-31/functions/echo", NULL, PLATFORM_ROUTE_GET_FUNCTION, "echo", "");
    check_api("/2015-03-31/functions/echo/", "Qualifier=%24LATEST", PLATFORM_ROUTE_GET_FUNCTION,
              "echo", "$LATEST");
    check_api("/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af",
              NULL, PLATFORM_ROUTE_GET_FUNCTION, "f", "");
    check_api("/2015-03-31/functions/123456789012%3Afunction%3Af/configuration", NULL,
              PLATFORM_ROUTE_GET_CONFIG, "f", "");
    check_api("/2019-09-30/functions/f/concurrency", NULL, PLATFORM_ROUTE_GET_CONCURRENCY, "f", "");
    check_api("/2021-11-15/functions/f/response-streaming-invocations", "Qualifier=prod",
              PLATFORM_ROUTE_INVOKE_STREAM, "f", "prod");
    check_api("/2015-03-31/functions", NULL, PLATFORM_ROUTE_LIST, NULL, NULL);
    check_api("/2015-03-31/functions/", "MaxItems=2", PLATFORM_ROUTE_LIST, NULL, NULL);
    check_api("/2015-03-31/functions/a%2Fb", NULL, PLATFORM_ROUTE_GET_FUNCTION, "", "");
    check_api("/2019-09-30/functions/f", NULL, PLATFORM_ROUTE_UNKNOWN, NULL, NULL);
    check_api("/2015-03-31/functions/f/concurrency", NULL, PLATFORM_ROUTE_UNKNOWN, NULL, NULL);
    check_api("/2021-11-15/functions/f/invocations", NULL, PLATFORM_ROUTE_UNKNOWN, NULL, NULL);
    check_api("/2015-03-31/functions/f/configuration/x", NULL, PLATFORM_ROUTE_UNKNOWN, NULL, NULL);
    check_api("/2015-03-31/functions/echo/invocationsX", NULL, PLATFORM_ROUTE_UNKNOWN, NULL, NULL);
    char longp[600];
    snprintf(longp, sizeof longp, "/2015-03-31/functions/%0300d/invocations", 7);
    check_api(longp, NULL, PLATFORM_ROUTE_INVOKE, "", "");
}

static void test_runtime_routes(void)
{
    char id[PLATFORM_ID_MAX + 1];
    int post = -1;
    CHECK_INT(platform_route_runtime("/2018-06-01/runtime/invocation/next", id, &post),
              PLATFORM_RAPI_NEXT);
    CHECK_INT(post, 0);
    CHECK_INT(platform_route_runtime("/2018-06-01/runtime/invocation/abc-1/response", id, &post),
              PLATFORM_RAPI_RESPONSE);
    CHECK_STR(id, "abc-1");
    CHECK_INT(post, 1);
    CHECK_INT(platform_route_runtime("/2018-06-01/runtime/invocation/x/error", id, &post),
              PLATFORM_RAPI_ERROR);
    CHECK_STR(id, "x");
    CHECK_INT(platform_route_runtime("/2018-06-01/runtime/init/error", id, &post),
              PLATFORM_RAPI_INIT_ERROR);
    CHECK_INT(platform_route_runtime("/2020-01-01/extension/register", id, &post),
              PLATFORM_RAPI_EXT_REGISTER);
    CHECK_INT(platform_route_runtime("/2020-01-01/extension/event/next", id, &post),
              PLATFORM_RAPI_EXT_NEXT);
    CHECK_INT(post, 0);
    CHECK_INT(platform_route_runtime("/2018-06-01/runtime/invocation//response", id, &post),
              PLATFORM_RAPI_UNKNOWN);
    CHECK_INT(platform_route_runtime("/2018-06-01/runtime/invocation/x/response/y", id, &post),
              PLATFORM_RAPI_UNKNOWN);
    CHECK_INT(platform_route_runtime("/2018-06-01/runtime/invocation/x", id, &post),
              PLATFORM_RAPI_UNKNOWN);
    CHECK_INT(platform_route_runtime("/", id, &post), PLATFORM_RAPI_UNKNOWN);
    char longp[300];
    snprintf(longp, sizeof longp, "/2018-06-01/runtime/invocation/%0100d/response", 1);
    CHECK_INT(platform_route_runtime(longp, id, &post), PLATFORM_RAPI_RESPONSE);
    CHECK_STR(id, "");
}

static void test_json(void)
{
    buf_t b;
    buf_init(&b, 1024);
    CHECK_INT(platform_json_str(&b, "a\"b\\c\n\x01", 7), 0);
    CHECK_STR(b.data, "\"a\\\"b\\\\c\\n\\u0001\"");
    buf_free(&b);
    CHECK(platform_json_valid("{}", 2));
    const char *doc = " {\"a\": [1, -2.5e3, true, null, \"x\\u00e9\"]} ";
    CHECK(platform_json_valid(doc, strlen(doc)));
    CHECK(platform_json_valid("\"s\"", 3));
    CHECK(platform_json_valid("0", 1));
    CHECK(!platform_json_valid("", 0));
    CHECK(!platform_json_valid("{", 1));
    CHECK(!platform_json_valid("{\"a\":}", 6));
    CHECK(!platform_json_valid("[1,]", 4));
    CHECK(!platform_json_valid("01", 2));
    CHECK(!platform_json_valid("hello", 5));
    CHECK(!platform_json_valid("{} x", 4));
    char deep[2000];
    memset(deep, '[', sizeof deep);
    CHECK(!platform_json_valid(deep, sizeof deep));
}

static void test_base64(void)
{
    char enc[64];
    CHECK_INT(base64_encode("hello", 5, enc), 8);
    CHECK_STR(enc, "aGVsbG8=");
    CHECK_INT(base64_encode("", 0, enc), 0);
    unsigned char dec[64];
    CHECK_INT(base64_decode("aGVsbG8=", 8, dec, sizeof dec, BASE64_PAD_OPTIONAL), 5);
    CHECK(memcmp(dec, "hello", 5) == 0);
    CHECK_INT(base64_decode("aGVsbG8", 7, dec, sizeof dec, BASE64_PAD_OPTIONAL), 5);
    CHECK_INT(base64_decode("a$==", 4, dec, sizeof dec, BASE64_PAD_OPTIONAL), -1);
    CHECK_INT(base64_decode("a", 1, dec, sizeof dec, BASE64_PAD_OPTIONAL), -1);
    /* SCRAM's: the padding required; and the output bound kept */
    CHECK_INT(base64_decode("aGVsbG8", 7, dec, sizeof dec, BASE64_PADDED), -1);
    CHECK_INT(base64_decode("aGVsbG8=", 8, dec, 4, BASE64_PADDED), -1);
    CHECK_INT(base64_decode("", 0, dec, sizeof dec, BASE64_PADDED), 0);
    char id[37];
    platform_uuid(id);
    CHECK_INT(strlen(id), 36);
    CHECK(id[14] == '4');
}

static void test_env(void)
{
    platform_env_var_t vars[] = {
        {(char *)(uintptr_t) "GREETING", (char *)(uintptr_t) "hi"},
        {(char *)(uintptr_t) "AWS_LAMBDA_RUNTIME_API", (char *)(uintptr_t) "evil:1"},
        {(char *)(uintptr_t) "GREETING", (char *)(uintptr_t) "hello"},
    };
    platform_function_spec_t spec;
    memset(&spec, 0, sizeof spec);
    spec.name = (char *)(uintptr_t) "fn";
    spec.runtime = (char *)(uintptr_t) "provided.al2023";
    spec.code_dir = (char *)(uintptr_t) "/code";
    spec.handler = (char *)(uintptr_t) "h.x";
    spec.memory_mb = 256;
    spec.env = vars;
    spec.n_env = 3;
    platform_env_input_t in = {.spec = &spec,
                               .runtime_api = "127.0.0.1:5000",
                               .log_stream = "s",
                               .region = "us-east-1",
                               .runtime_dir = "/rt",
                               .mongodb_uri = "mongodb://127.0.0.1:1/"};
    char **env = platform_env_build(&in);
    CHECK(env != NULL);
    CHECK_STR(platform_env_get(env, "AWS_LAMBDA_RUNTIME_API"), "127.0.0.1:5000");
    CHECK_STR(platform_env_get(env, "_HANDLER"), "h.x");
    CHECK_STR(platform_env_get(env, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), "256");
    CHECK_STR(platform_env_get(env, "AWS_EXECUTION_ENV"), "AWS_Lambda_provided.al2023");
    CHECK_STR(platform_env_get(env, "AWS_LAMBDA_LOG_GROUP_NAME"), "/aws/lambda/fn");
    CHECK_STR(platform_env_get(env, "LAMBDA_TASK_ROOT"), "/code");
    CHECK_STR(platform_env_get(env, "TZ"), ":UTC");
    CHECK_STR(platform_env_get(env, "GREETING"), "hello");
    CHECK_STR(platform_env_get(env, "MONGODB_URI"), "mongodb://127.0.0.1:1/");
    CHECK(platform_env_get(env, "AWS_ACCESS_KEY_ID") == NULL);
    CHECK(platform_env_get(env, "AWS_LAMBDA_NODEJS_USE_ALTERNATIVE_CLIENT_1") == NULL);
    platform_strv_free(env);
    /* the template's MONGODB_URI wins */
    vars[0].name = (char *)(uintptr_t) "MONGODB_URI";
    vars[0].value = (char *)(uintptr_t) "mongodb://elsewhere/";
    in.node = 1;
    env = platform_env_build(&in);
    CHECK_STR(platform_env_get(env, "MONGODB_URI"), "mongodb://elsewhere/");
    CHECK_STR(platform_env_get(env, "AWS_LAMBDA_NODEJS_USE_ALTERNATIVE_CLIENT_1"), "true");
    platform_strv_free(env);
}

static void test_utf8(void)
{
    static const struct {
        const char *s;
        int want;
        unsigned char bad;
    } cases[] = {
        {"plain ascii", PLATFORM_UTF8_VALID, 0},
        {"h\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e", PLATFORM_UTF8_VALID, 0},
        {"\xf4\x8f\xbf\xbf", PLATFORM_UTF8_VALID, 0}, /* U+10FFFF */
        {"x\x97", PLATFORM_UTF8_BAD_START, 0x97},     /* a lone continuation */
        {"\xc0\xaf", PLATFORM_UTF8_BAD_START, 0xc0},  /* overlong lead */
        {"\xff", PLATFORM_UTF8_BAD_START, 0xff},
        {"\xf5\x80\x80\x80", PLATFORM_UTF8_BAD_START, 0xf5}, /* past U+10FFFF */
        {"\xc3(", PLATFORM_UTF8_BAD_MIDDLE, '('},
        {"\xe0\x80\x80", PLATFORM_UTF8_BAD_MIDDLE, 0x80},     /* overlong */
        {"\xed\xa0\x80", PLATFORM_UTF8_BAD_MIDDLE, 0xa0},     /* a surrogate */
        {"\xf4\x90\x80\x80", PLATFORM_UTF8_BAD_MIDDLE, 0x90}, /* past U+10FFFF */
        {"\xe2\x82", PLATFORM_UTF8_BAD_MIDDLE, 0},            /* cut by the end */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char bad = 0;
        CHECK_INT(platform_utf8_check(cases[i].s, strlen(cases[i].s), &bad), cases[i].want);
        CHECK_INT(bad, cases[i].bad);
    }
}

int main(void)
{
    RUN(test_api_routes);
    RUN(test_runtime_routes);
    RUN(test_json);
    RUN(test_base64);
    RUN(test_utf8);
    RUN(test_env);
    return TEST_REPORT();
}
