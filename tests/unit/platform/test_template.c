/*
 * The SAM template subset: defaults, Globals merging, each property, the
 * runtime mapping, CodeUri resolution, intrinsic tags and malformed input.
 */
#include "harness.h"
#include "common/log.h"
#include "platform/template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char err[512];

static platform_template_t *parse_ok(const char *yaml)
{
    platform_template_t *t = NULL;
    err[0] = '\0';
    int rc = platform_template_parse(yaml, strlen(yaml), "/srv/app", "t.yaml", &t, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "unexpected error: %s\n", err);
    CHECK_INT(rc, 0);
    return t;
}

/* Expects a failure; returns the message. */
static const char *parse_fail(const char *yaml)
{
    platform_template_t *t = NULL;
    err[0] = '\0';
    int rc = platform_template_parse(yaml, strlen(yaml), "/srv/app", "t.yaml", &t, err, sizeof err);
    CHECK_INT(rc, -1);
    CHECK(t == NULL);
    platform_template_free(t);
    return err;
}

static const char *env_get(const platform_function_spec_t *f, const char *name)
{
    for (size_t i = 0; i < f->n_env; i++) {
        if (strcmp(f->env[i].name, name) == 0)
            return f->env[i].value;
    }
    return NULL;
}

static void test_minimal_defaults(void)
{
    platform_template_t *t = parse_ok("Resources:\n"
                                      "  Echo:\n"
                                      "    Type: AWS::Serverless::Function\n"
                                      "    Properties:\n"
                                      "      Runtime: provided.al2023\n"
                                      "      CodeUri: fn/echo\n");
    if (t == NULL)
        return;
    CHECK_INT(t->n_functions, 1);
    platform_function_spec_t *f = &t->functions[0];
    CHECK_STR(f->logical_id, "Echo");
    CHECK_STR(f->name, "Echo");
    CHECK_STR(f->runtime, "provided.al2023");
    CHECK_INT(f->kind, PLATFORM_RUNTIME_PROVIDED);
    CHECK_STR(f->code_dir, "/srv/app/fn/echo");
    CHECK(f->handler == NULL);
    CHECK_INT(f->memory_mb, 128);
    CHECK_INT(f->timeout_s, 3);
    CHECK_INT(f->reserved_concurrency, 10);
    CHECK(f->role_arn == NULL);
    CHECK_INT(f->n_env, 0);
    CHECK_INT(f->line, 2);
    platform_template_free(t);
}

static void test_all_properties_and_globals(void)
{
    platform_template_t *t = parse_ok("AWSTemplateFormatVersion: '2010-09-09'\n"
                                      "Transform: AWS::Serverless-2016-10-31\n"
                                      "Globals:\n"
                                      "  Function:\n"
                                      "    Timeout: 10\n"
                                      "    MemorySize: 256\n"
                                      "    Runtime: nodejs20.x\n"
                                      "    Environment:\n"
                                      "      Variables:\n"
                                      "        SHARED: from-globals\n"
                                      "        OVERRIDE: globals\n"
                                      "Resources:\n"
                                      "  Table:\n"
                                      "    Type: AWS::DynamoDB::Table\n"
                                      "    Properties: {TableName: x}\n"
                                      "  Orders:\n"
                                      "    Type: AWS::Serverless::Function\n"
                                      "    Properties:\n"
                                      "      FunctionName: orders-fn\n"
                                      "      CodeUri: ./src/../orders/\n"
                                      "      Handler: index.handler\n"
                                      "      Timeout: 30\n"
                                      "      ReservedConcurrentExecutions: 4\n"
                                      "      Role: arn:aws:iam::123456789012:role/orders-fn\n"
                                      "      Environment:\n"
                                      "        Variables:\n"
                                      "          OVERRIDE: mine\n"
                                      "          NUM: 42\n"
                                      "          FLAG: true\n"
                                      "  Native:\n"
                                      "    Type: AWS::Serverless::Function\n"
                                      "    Properties:\n"
                                      "      Runtime: provided.al2\n"
                                      "      CodeUri: /opt/native\n"
                                      "      MemorySize: 1024\n"
                                      "      EphemeralStorage:\n"
                                      "        Size: 2048\n");
    if (t == NULL)
        return;
    CHECK_INT(t->functions[0].ephemeral_mb, 512);
    CHECK_INT(t->functions[1].ephemeral_mb, 2048);
    CHECK_INT(t->n_functions, 2);
    platform_function_spec_t *o = &t->functions[0];
    CHECK_STR(o->name, "orders-fn");
    CHECK_STR(o->logical_id, "Orders");
    CHECK_INT(o->kind, PLATFORM_RUNTIME_NODE);
    CHECK_STR(o->runtime, "nodejs20.x");
    CHECK_STR(o->code_dir, "/srv/app/orders");
    CHECK_STR(o->handler, "index.handler");
    CHECK_INT(o->timeout_s, 30);
    CHECK_INT(o->memory_mb, 256);
    CHECK_INT(o->reserved_concurrency, 4);
    CHECK_STR(o->role_arn, "arn:aws:iam::123456789012:role/orders-fn");
    CHECK_INT(o->n_env, 4);
    CHECK_STR(o->env[0].name, "SHARED"); /* Globals first */
    CHECK_STR(env_get(o, "SHARED"), "from-globals");
    CHECK_STR(env_get(o, "OVERRIDE"), "mine");
    CHECK_STR(env_get(o, "NUM"), "42");
    CHECK_STR(env_get(o, "FLAG"), "true");
    CHECK_INT(o->line, 16);

    platform_function_spec_t *n = &t->functions[1];
    CHECK_STR(n->name, "Native");
    CHECK_INT(n->kind, PLATFORM_RUNTIME_PROVIDED);
    CHECK_STR(n->code_dir, "/opt/native");
    CHECK_INT(n->timeout_s, 10);
    CHECK_INT(n->memory_mb, 1024);
    CHECK_INT(n->n_env, 2);
    CHECK_STR(env_get(n, "OVERRIDE"), "globals");
    platform_template_free(t);
}

static void test_runtimes(void)
{
    const char *ok[] = {"provided.al2023", "provided.al2", "nodejs20.x", "nodejs22.x"};
    int kinds[] = {PLATFORM_RUNTIME_PROVIDED, PLATFORM_RUNTIME_PROVIDED, PLATFORM_RUNTIME_NODE,
                   PLATFORM_RUNTIME_NODE};
    char y[512];
    for (int i = 0; i < 4; i++) {
        snprintf(y, sizeof y,
                 "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                 "      Runtime: %s\n      CodeUri: f\n      Handler: a.b\n",
                 ok[i]);
        platform_template_t *t = parse_ok(y);
        if (t == NULL)
            continue;
        CHECK_INT(t->functions[0].kind, kinds[i]);
        platform_template_free(t);
    }
    const char *msg = parse_fail("Resources:\n  F:\n    Type: AWS::Serverless::Function\n"
                                 "    Properties:\n      CodeUri: f\n      Runtime: go1.x\n");
    CHECK(strncmp(msg, "t.yaml:6: unknown runtime 'go1.x'", 33) == 0);
    msg = parse_fail("Resources:\n  F:\n    Type: AWS::Serverless::Function\n"
                     "    Properties:\n      CodeUri: f\n");
    CHECK(strstr(msg, "t.yaml:2:") == msg && strstr(msg, "no Runtime") != NULL);
    msg = parse_fail("Resources:\n  F:\n    Type: AWS::Serverless::Function\n"
                     "    Properties:\n      Runtime: nodejs20.x\n      CodeUri: f\n");
    CHECK(strstr(msg, "needs a Handler") != NULL);
    msg = parse_fail("Resources:\n  F:\n    Type: AWS::Serverless::Function\n"
                     "    Properties:\n      Runtime: provided.al2023\n");
    CHECK(strstr(msg, "no CodeUri") != NULL);
}

static void test_intrinsics(void)
{
    /* A plain-string !Sub is used as written; unknown properties with tags are ignored. */
    platform_template_t *t =
        parse_ok("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                 "      Runtime: provided.al2023\n      CodeUri: f\n"
                 "      FunctionName: !Sub fn-name\n"
                 "      Events: !Ref Something\n"
                 "      Tracing: !GetAtt X.Y\n"
                 "      Environment:\n        Variables:\n          V: !Sub 'a-${AWS::Region}'\n");
    if (t != NULL) {
        CHECK_STR(t->functions[0].name, "fn-name");
        CHECK_STR(env_get(&t->functions[0], "V"), "a-${AWS::Region}");
        platform_template_free(t);
    }
    const char *msg =
        parse_fail("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                   "      Runtime: provided.al2023\n      CodeUri: f\n"
                   "      Role: !GetAtt MyRole.Arn\n");
    CHECK(strstr(msg, "t.yaml:7: Role: intrinsic function !GetAtt") == msg);
    msg = parse_fail("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                     "      Runtime: !Ref Rt\n      CodeUri: f\n");
    CHECK(strstr(msg, "t.yaml:5: Runtime: intrinsic function !Ref") == msg);
    msg = parse_fail("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                     "      Runtime: provided.al2023\n      CodeUri: f\n"
                     "      FunctionName: !Sub [ '${A}', {A: x} ]\n");
    CHECK(strstr(msg, "t.yaml:7: FunctionName: intrinsic function !Sub") == msg);
    msg = parse_fail("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                     "      Runtime: provided.al2023\n      CodeUri: f\n"
                     "      Role: {'Fn::GetAtt': [R, Arn]}\n");
    CHECK(strstr(msg, "Fn::GetAtt") != NULL);
    msg = parse_fail("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                     "      Runtime: provided.al2023\n"
                     "      CodeUri: {Bucket: b, Key: k}\n");
    CHECK(strstr(msg, "S3") != NULL);
}

static void test_malformed(void)
{
    const char *msg = parse_fail("Resources:\n  F:\n    Type: [unclosed\n");
    CHECK(strncmp(msg, "t.yaml:", 7) == 0);
    CHECK(strstr(msg, "t.yaml:3") == msg || strstr(msg, "t.yaml:4") == msg);
    msg = parse_fail("Resources:\n  F:\n  \tType: x\n");
    CHECK(strncmp(msg, "t.yaml:3:", 9) == 0);
    msg = parse_fail("");
    CHECK(strstr(msg, "empty") != NULL);
    msg = parse_fail("- a\n- b\n");
    CHECK(strstr(msg, "mapping") != NULL);
    msg = parse_fail("Foo: 1\n");
    CHECK(strstr(msg, "no Resources") != NULL);
    msg = parse_fail("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                     "      Runtime: provided.al2023\n      CodeUri: f\n      MemorySize: big\n");
    CHECK(strstr(msg, "t.yaml:7: MemorySize must be an integer") == msg);
    msg = parse_fail("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                     "      Runtime: provided.al2023\n      CodeUri: f\n      EphemeralStorage:\n"
                     "        Size: 100\n");
    CHECK(strstr(msg, "t.yaml:8: EphemeralStorage.Size must be between 512 and 10240") == msg);
    msg = parse_fail("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                     "      Runtime: provided.al2023\n      CodeUri: f\n      EphemeralStorage: 600\n");
    CHECK(strstr(msg, "t.yaml:7: EphemeralStorage must be a mapping") == msg);
    msg = parse_fail("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                     "      Runtime: provided.al2023\n      CodeUri: f\n      Timeout: 0\n");
    CHECK(strstr(msg, "t.yaml:7: Timeout must be between") == msg);
    msg = parse_fail("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                     "      Runtime: provided.al2023\n      CodeUri: f\n      Timeout: 3\n"
                     "      Timeout: 4\n");
    CHECK(strstr(msg, "t.yaml:8: duplicate key 'Timeout'") == msg);
    msg = parse_fail("Resources:\n  A:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                     "      Runtime: provided.al2023\n      CodeUri: f\n      FunctionName: x\n"
                     "  B:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                     "      Runtime: provided.al2023\n      CodeUri: f\n      FunctionName: x\n");
    CHECK(strstr(msg, "t.yaml:8: two functions") == msg);
    msg =
        parse_fail("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                   "      Runtime: provided.al2023\n      CodeUri: f\n      FunctionName: 'a b'\n");
    CHECK(strstr(msg, "t.yaml:7: FunctionName") == msg);
    msg = parse_fail("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                     "      Runtime: provided.al2023\n      CodeUri: f\n"
                     "      Environment:\n        Variables:\n          '1BAD': x\n");
    CHECK(strstr(msg, "bad environment variable name") != NULL);
    msg = parse_fail("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                     "      Runtime: \"provided.al2023\\0x\"\n      CodeUri: f\n");
    CHECK(strstr(msg, "NUL") != NULL);
    msg = parse_fail("Resources:\n  F: 3\n");
    CHECK(strstr(msg, "t.yaml:2:") == msg);
    msg = parse_fail("Resources:\n  F:\n    Properties: {}\n");
    CHECK(strstr(msg, "no Type") != NULL);
}

static void test_event_invoke_config(void)
{
    /* AWS's defaults: 2 retries, 6 h */
    platform_template_t *t = parse_ok("Resources:\n  F:\n    Type: AWS::Serverless::Function\n"
                                      "    Properties:\n      Runtime: provided.al2023\n"
                                      "      CodeUri: f\n");
    if (t != NULL) {
        CHECK_INT(t->functions[0].event_max_retries, 2);
        CHECK_INT(t->functions[0].event_max_age_s, 21600);
        platform_template_free(t);
    }
    /* Globals apply key by key; the function's own keys win; destinations
     * and unknown keys are ignored (with a warning) */
    t = parse_ok("Globals:\n  Function:\n    EventInvokeConfig:\n"
                 "      MaximumEventAgeInSeconds: 60\n      MaximumRetryAttempts: 1\n"
                 "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                 "      Runtime: provided.al2023\n      CodeUri: f\n"
                 "      EventInvokeConfig:\n        MaximumRetryAttempts: 0\n"
                 "        DestinationConfig:\n          OnFailure: {Type: SQS}\n"
                 "        Colour: blue\n"
                 "  G:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                 "      Runtime: provided.al2023\n      CodeUri: f\n"
                 "      EventInvokeConfig:\n        MaximumEventAgeInSeconds: 21600\n");
    if (t != NULL) {
        CHECK_INT(t->functions[0].event_max_retries, 0);
        CHECK_INT(t->functions[0].event_max_age_s, 60);
        CHECK_INT(t->functions[1].event_max_retries, 1);
        CHECK_INT(t->functions[1].event_max_age_s, 21600);
        platform_template_free(t);
    }
    const char *head = "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                       "      Runtime: provided.al2023\n      CodeUri: f\n"
                       "      EventInvokeConfig:\n";
    char y[1024];
    snprintf(y, sizeof y, "%s        MaximumRetryAttempts: 3\n", head);
    const char *msg = parse_fail(y);
    CHECK(strstr(msg, "t.yaml:8: EventInvokeConfig.MaximumRetryAttempts must be between 0 and 2, "
                      "not 3") == msg);
    snprintf(y, sizeof y, "%s        MaximumRetryAttempts: -1\n", head);
    msg = parse_fail(y);
    CHECK(strstr(msg, "t.yaml:8: EventInvokeConfig.MaximumRetryAttempts must be between") == msg);
    snprintf(y, sizeof y,
             "%s        MaximumRetryAttempts: 1\n        MaximumEventAgeInSeconds: 59\n", head);
    msg = parse_fail(y);
    CHECK(strstr(msg, "t.yaml:9: EventInvokeConfig.MaximumEventAgeInSeconds must be between 60 "
                      "and 21600, not 59") == msg);
    snprintf(y, sizeof y, "%s        MaximumEventAgeInSeconds: 21601\n", head);
    msg = parse_fail(y);
    CHECK(strstr(msg, "t.yaml:8: EventInvokeConfig.MaximumEventAgeInSeconds") == msg);
    snprintf(y, sizeof y, "%s        MaximumEventAgeInSeconds: soon\n", head);
    msg = parse_fail(y);
    CHECK(strstr(msg, "t.yaml:8: EventInvokeConfig.MaximumEventAgeInSeconds must be an integer") ==
          msg);
    snprintf(y, sizeof y, "%s        - MaximumRetryAttempts: 1\n", head);
    msg = parse_fail(y);
    CHECK(strstr(msg, "t.yaml:8: EventInvokeConfig must be a mapping") == msg);
    snprintf(y, sizeof y, "%s        MaximumRetryAttempts: 1\n        MaximumRetryAttempts: 2\n",
             head);
    msg = parse_fail(y);
    CHECK(strstr(msg, "t.yaml:9: duplicate key 'MaximumRetryAttempts'") == msg);
}

static void test_aliases_and_cycles(void)
{
    /* An anchor reused by alias works; a self-referencing one does not hang or crash. */
    const char *msg =
        parse_fail("Resources:\n  A:\n    Type: AWS::Serverless::Function\n    Properties: &p\n"
                   "      Runtime: provided.al2023\n      CodeUri: f\n"
                   "  B:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                   "      Runtime: provided.al2023\n      CodeUri: g\n"
                   "      Environment: {Variables: {X: *p}}\n");
    CHECK(strstr(msg, "X must be a string") != NULL);
    msg = parse_fail("Resources:\n  A:\n    Type: AWS::Serverless::Function\n    Properties: &p\n"
                     "      Runtime: provided.al2023\n      CodeUri: f\n      FunctionName: a\n"
                     "  B:\n    Type: AWS::Serverless::Function\n    Properties: *p\n");
    CHECK(strstr(msg, "t.yaml:8: two functions") == msg); /* the same FunctionName twice */
    msg = parse_fail("Resources: &r\n  A:\n    Type: AWS::Serverless::Function\n"
                     "    Properties: {Environment: {Variables: *r}}\n");
    CHECK(msg[0] != '\0');
}

static void test_load_file(void)
{
    char dir[] = "/tmp/tether-template-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        CHECK(0);
        return;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/template.yaml", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    fputs("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
          "      Runtime: provided.al2023\n      CodeUri: fn\n",
          f);
    fclose(f);
    platform_template_t *t = NULL;
    int rc = platform_template_load(path, &t, err, sizeof err);
    CHECK_INT(rc, 0);
    if (rc == 0) {
        char want[4200];
        char real[4096];
        CHECK(realpath(dir, real) != NULL);
        snprintf(want, sizeof want, "%s/fn", real);
        CHECK_STR(t->functions[0].code_dir, want);
        platform_template_free(t);
    }
    rc = platform_template_load("/nonexistent/template.yaml", &t, err, sizeof err);
    CHECK_INT(rc, -1);
    CHECK(strstr(err, "/nonexistent/template.yaml") == err);
    unlink(path);
    rmdir(dir);
}

static void test_relative_base_dir(void)
{
    platform_template_t *t = NULL;
    const char *y = "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                    "      Runtime: provided.al2023\n      CodeUri: ../x\n";
    int rc = platform_template_parse(y, strlen(y), "sub/dir", "t.yaml", &t, err, sizeof err);
    CHECK_INT(rc, 0);
    if (rc == 0) {
        char cwd[4096], want[4200];
        CHECK(getcwd(cwd, sizeof cwd) != NULL);
        snprintf(want, sizeof want, "%s/sub/x", strcmp(cwd, "/") == 0 ? "" : cwd);
        CHECK_STR(t->functions[0].code_dir, want);
        CHECK(t->functions[0].code_dir[0] == '/');
        platform_template_free(t);
    }
}

/* CodeUri naming a .zip (any case) sets code_zip, resolved like a folder,
 * and leaves code_dir for tether up to set once unpacked; a folder whose name
 * ends in .zip stays a folder. */
static void test_zip_code_uri(void)
{
    platform_template_t *t = NULL;
    const char *y = "Globals:\n  Function:\n    Runtime: provided.al2023\n"
                    "Resources:\n  A:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                    "      CodeUri: build/../fn.zip\n"
                    "  B:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                    "      CodeUri: /abs/FN.ZIP\n"
                    "  C:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                    "      CodeUri: /\n";
    int rc = platform_template_parse(y, strlen(y), "/srv/app", "t.yaml", &t, err, sizeof err);
    CHECK_INT(rc, 0);
    if (rc != 0)
        return;
    CHECK_STR(t->functions[0].code_zip, "/srv/app/fn.zip");
    CHECK(t->functions[0].code_dir == NULL);
    CHECK_STR(t->functions[1].code_zip, "/abs/FN.ZIP");
    CHECK(t->functions[2].code_zip == NULL);
    CHECK_STR(t->functions[2].code_dir, "/");
    platform_template_free(t);
}

int main(void)
{
    log_set_level(LOG_LEVEL_ERROR);
    RUN(test_zip_code_uri);
    RUN(test_minimal_defaults);
    RUN(test_all_properties_and_globals);
    RUN(test_runtimes);
    RUN(test_intrinsics);
    RUN(test_malformed);
    RUN(test_event_invoke_config);
    RUN(test_aliases_and_cycles);
    RUN(test_load_file);
    RUN(test_relative_base_dir);
    return TEST_REPORT();
}
