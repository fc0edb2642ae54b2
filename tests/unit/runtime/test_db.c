/*
 * The managed client's setup: one client however often it is asked for, the
 * Lambda options added to the URI unless it sets them, appname from the
 * function name, and no credential in any log line or init error (the log is
 * captured from stderr). No server is needed: opening does no I/O.
 */
#include "harness.h"
#include "runtime/log.h"
#include "runtime/response.h"
#include "tether/db.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static char captured[8192];

/* Runs fn with stderr redirected to a file, then reads what it wrote. */
static void capture_stderr(void (*fn)(void))
{
    char path[] = "/tmp/tether-test-db.XXXXXX";
    int fd = mkstemp(path);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, captured, sizeof captured - 1);
    captured[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
}

static tether_error_t bad_err;
static int bad_rc;

static void open_bad(void)
{
    runtime_error_init(&bad_err);
    bad_rc = tether_db_open("mongodbx://app:s3cret-pass@host/app", &bad_err);
}

static void open_good(void)
{
    CHECK_INT(tether_db_open(NULL, NULL), 0);
}

static void test_open_and_options(void)
{
    setenv("TETHER_LOG_LEVEL", "debug", 1);
    runtime_log_init();
    setenv("AWS_LAMBDA_FUNCTION_NAME", "orders-fn", 1);

    unsetenv("MONGODB_URI");
    tether_error_t err;
    runtime_error_init(&err);
    CHECK_INT(tether_db_open(NULL, &err), TETHER_ERR_CONFIG);
    CHECK_STR(err.type, "DatabaseConfigError");
    CHECK(tether_db() == NULL);
    runtime_error_free(&err);

    capture_stderr(open_bad);
    CHECK_INT(bad_rc, TETHER_ERR_CONFIG);
    CHECK(bad_err.message != NULL && strstr(bad_err.message, "s3cret") == NULL);
    CHECK(strstr(captured, "s3cret") == NULL);
    runtime_error_free(&bad_err);

    setenv("MONGODB_URI",
           "mongodb://app:s3cret-pass@127.0.0.1:1,127.0.0.1:2/shop?retryWrites=false", 1);
    capture_stderr(open_good);
    CHECK(strstr(captured, "s3cret") == NULL);
    CHECK(strstr(captured, "127.0.0.1:1,127.0.0.1:2") != NULL);
    CHECK(strstr(captured, "appname orders-fn") != NULL);

    mongoc_client_t *c = tether_db();
    CHECK(c != NULL);
    CHECK(tether_db() == c); /* one client, however often asked */
    CHECK_INT(tether_db_open("mongodb://elsewhere:27017", NULL), 0);
    CHECK(tether_db() == c); /* open again: the existing client stays */
    const mongoc_uri_t *uri = mongoc_client_get_uri(c);
    CHECK_STR(mongoc_uri_get_appname(uri), "orders-fn");
    CHECK_INT(mongoc_uri_get_option_as_int32(uri, MONGOC_URI_SOCKETCHECKINTERVALMS, 0), 1000);
    CHECK_INT(mongoc_uri_get_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 0), 5000);
    CHECK_INT(mongoc_uri_get_option_as_bool(uri, MONGOC_URI_SERVERSELECTIONTRYONCE, true), 0);
    CHECK_INT(mongoc_uri_get_option_as_bool(uri, MONGOC_URI_RETRYWRITES, true), 0); /* the URI's */

    mongoc_collection_t *coll = tether_db_collection(NULL, "orders");
    CHECK(coll != NULL);
    if (coll != NULL) {
        CHECK_STR(mongoc_collection_get_name(coll), "orders");
        mongoc_collection_destroy(coll);
    }
    tether_db_close();
    tether_db_close(); /* harmless twice */
    unsetenv("MONGODB_URI");
    CHECK(tether_db() == NULL);
}

int main(void)
{
    RUN(test_open_and_options);
    return TEST_REPORT();
}
