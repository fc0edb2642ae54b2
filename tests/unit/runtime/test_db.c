/*
 * The managed client's setup: one client however often it is asked for, the
 * Lambda options added to the URI unless it sets them, appname from the
 * function name, and no credential in any log line or init error (the log is
 * captured from stderr); invalid URIs that say what is wrong; the CA bundle
 * found for TLS (tlsCAFile, SSL_CERT_FILE, the known places, none); libmongoc's
 * log lines at their level. No server is needed: opening does no I/O (the
 * timeouts and a verified TLS connection are test_runtime_db_errors.js).
 * Includes db.c to point its list of CA places at files of its own.
 */
#include "harness.h"
#include "runtime/db.c"
#include "runtime/log.h"
#include "runtime/response.h"

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
    CHECK_STR(tether_db_hosts(), "127.0.0.1:1,127.0.0.1:2");

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
    CHECK_STR(tether_db_hosts(), "");
    unsetenv("MONGODB_URI");
    CHECK(tether_db() == NULL);
}

/* What tether_db_open(uri) says, and what it logged meanwhile. */
static const char *try_uri;
static tether_error_t try_err;
static int try_rc;

static void open_try(void)
{
    runtime_error_init(&try_err);
    try_rc = tether_db_open(try_uri, &try_err);
}

static void test_invalid_uris(void)
{
    setenv("TETHER_LOG_LEVEL", "debug", 1); /* everything logged must be clean too */
    runtime_log_init();
    static const struct {
        const char *uri;
        const char *says; /* a part of the message */
    } cases[] = {
        {"mongodbx://app:s3cret@host/app", "not mongodbx://"},
        {"http://app:s3cret@host/app", "must start with mongodb:// or mongodb+srv://"},
        {"app:s3cret@host/app", "must start with mongodb:// or mongodb+srv://"},
        {"mongodb://app:s3cret@/app", "Empty hostname"},
        {"mongodb://app:s3cret@", "Invalid host string"},
        {"mongodb://app:s3cret@host:99999/app", "Port could not be parsed"},
        {"mongodb+srv://app:s3cret@a,b/app", "Invalid service name"},
        {"mongodb://app:s3cret@host/app?retryWrite=true", "Unsupported URI option \"retrywrite\""},
        {"mongodb://app:s3cret@host/app?serverSelectionTimeoutMS=abc",
         "Unsupported value for \"serverselectiontimeoutms\": \"abc\""},
        {"mongodb://app:s3cret@host/app?tls=maybe", "Unsupported value for \"tls\""},
        {"mongodb://app:s3cret@host/app?readPreference=bad", "readPreference"},
        /* libmongoc quotes the password here: "Password \"s3:cret\" must not ..." */
        {"mongodb://app:s3:cret@host/app", "Password \"***\" must not have unescaped chars"},
        {"mongodb://app:s3cret%zz@host/app", "Incorrect URI escapes"},
        {"mongodb://app:s3%3Acret@host/app?tls=maybe&x=s3:cret", "Unsupported value"},
        {"mongodb://app:s3cret@host/app?appname=a@b&tls=maybe", "Unsupported value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        try_uri = cases[i].uri;
        capture_stderr(open_try);
        CHECK_INT(try_rc, TETHER_ERR_CONFIG);
        CHECK_STR(try_err.type, "DatabaseConfigError");
        const char *m = try_err.message ? try_err.message : "";
        if (strstr(m, cases[i].says) == NULL) {
            harness_failures++;
            fprintf(stderr, "%s: message \"%s\" lacks \"%s\"\n", cases[i].uri, m, cases[i].says);
        }
        CHECK(strstr(m, "s3cret") == NULL && strstr(m, "s3:cret") == NULL);
        CHECK(strstr(m, "s3?cret") == NULL && strstr(captured, "s3?cret") == NULL);
        CHECK(strstr(captured, "s3cret") == NULL && strstr(captured, "s3:cret") == NULL);
        CHECK(strstr(tether_db_error(), "s3cret") == NULL);
        runtime_error_free(&try_err);
        tether_db_close();
    }
}

static void test_uri_warnings(void)
{
    unsetenv("TETHER_LOG_LEVEL");
    runtime_log_init();
    /* a warning that is not about an unknown option is logged, not fatal */
    try_uri = "mongodb://app:s3cret@127.0.0.1:1/?compressors=zlib,lz4";
    capture_stderr(open_try);
    CHECK_INT(try_rc, 0);
    CHECK(strstr(captured, "[tether] WARN db: MONGODB_URI: Unsupported compressor: 'lz4'") != NULL);
    CHECK(strstr(captured, "s3cret") == NULL);
    runtime_error_free(&try_err);
    tether_db_close();
}

static void test_scrub(void)
{
    char out[256];
    db_secrets_learn("mongodb://user:p%40ss%2Fw0rd@h1,h2/?authMechanismProperties="
                     "AWS_SESSION_TOKEN:tok3n");
    db_scrub("a mongodb://user:p%40ss%2Fw0rd@h1 b", out, sizeof out);
    CHECK_STR(out, "a mongodb://***@h1 b");
    db_scrub("password 'p@ss/w0rd' and p%40ss%2Fw0rd and tok3n", out, sizeof out);
    CHECK_STR(out, "password '***' and *** and ***");
    db_scrub("x://anything@y", out, 8); /* truncated, still terminated */
    CHECK(strlen(out) <= 7);
    db_secrets_learn("mongodb://app:s3?cret@host/app"); /* a '?' in the password */
    db_scrub("x s3?cret y", out, sizeof out);
    CHECK_STR(out, "x *** y");
    db_secrets_free();
    db_scrub("no secrets here", out, sizeof out);
    CHECK_STR(out, "no secrets here");
}

static char ca_dir[64];
static char ca_path[2][96];

static void test_tls_ca(void)
{
    setenv("TETHER_LOG_LEVEL", "info", 1);
    runtime_log_init();
    snprintf(ca_dir, sizeof ca_dir, "/tmp/tether-test-ca.XXXXXX");
    CHECK(mkdtemp(ca_dir) != NULL);
    snprintf(ca_path[0], sizeof ca_path[0], "%s/al2023-ca-bundle.crt", ca_dir);
    snprintf(ca_path[1], sizeof ca_path[1], "%s/debian-ca-certificates.crt", ca_dir);
    const char *places[] = {ca_path[0], ca_path[1], NULL};
    db_ca_paths = places;
    unsetenv("SSL_CERT_FILE");

    /* no TLS asked: nothing looked for */
    CHECK_INT(tether_db_open("mongodb://127.0.0.1:1/", NULL), 0);
    CHECK(mongoc_uri_get_option_as_utf8(db_uri, MONGOC_URI_TLSCAFILE, NULL) == NULL);
    tether_db_close();

    /* none found: the init error names every place and both fixes */
    try_uri = "mongodb+srv://app:s3cret@cluster0.example.net/";
    capture_stderr(open_try);
    CHECK_INT(try_rc, TETHER_ERR_CONFIG);
    const char *m = try_err.message ? try_err.message : "";
    CHECK(strstr(m, "asks for TLS but no CA certificate bundle was found") != NULL);
    CHECK(strstr(m, "SSL_CERT_FILE (not set)") != NULL);
    CHECK(strstr(m, ca_path[0]) != NULL && strstr(m, ca_path[1]) != NULL);
    CHECK(strstr(m, "Set SSL_CERT_FILE") != NULL && strstr(m, "tlsCAFile=") != NULL);
    CHECK(strstr(m, "s3cret") == NULL && strstr(captured, "s3cret") == NULL);
    runtime_error_free(&try_err);
    /* the real list starts with Amazon Linux's places */
    CHECK_STR(db_ca_known[0], "/etc/pki/tls/certs/ca-bundle.crt");

    /* the first place that exists, in order */
    FILE *f = fopen(ca_path[1], "w");
    if (f != NULL)
        fclose(f);
    CHECK_INT(tether_db_open("mongodb://127.0.0.1:1/?tls=true", NULL), 0);
    CHECK_STR(mongoc_uri_get_option_as_utf8(db_uri, MONGOC_URI_TLSCAFILE, ""), ca_path[1]);
    tether_db_close();
    f = fopen(ca_path[0], "w");
    if (f != NULL)
        fclose(f);
    CHECK_INT(tether_db_open("mongodb://127.0.0.1:1/?ssl=true", NULL), 0);
    CHECK_STR(mongoc_uri_get_option_as_utf8(db_uri, MONGOC_URI_TLSCAFILE, ""), ca_path[0]);
    tether_db_close();

    /* SSL_CERT_FILE before the known places; unreadable: said so */
    setenv("SSL_CERT_FILE", ca_path[1], 1);
    CHECK_INT(tether_db_open("mongodb://127.0.0.1:1/?tls=true", NULL), 0);
    CHECK_STR(mongoc_uri_get_option_as_utf8(db_uri, MONGOC_URI_TLSCAFILE, ""), ca_path[1]);
    tether_db_close();
    setenv("SSL_CERT_FILE", "/nonexistent/ca.pem", 1);
    try_uri = "mongodb://127.0.0.1:1/?tls=true";
    capture_stderr(open_try);
    CHECK_INT(try_rc, TETHER_ERR_CONFIG);
    CHECK(try_err.message && strstr(try_err.message, "SSL_CERT_FILE=/nonexistent/ca.pem cannot "
                                                     "be read (No such file or directory)"));
    runtime_error_free(&try_err);

    /* tlsCAFile in the URI wins, and must be readable */
    CHECK_INT(tether_db_open("mongodb://127.0.0.1:1/?tls=true&tlsCAFile=/tmp", NULL),
              TETHER_ERR_CONFIG);
    CHECK(strstr(tether_db_error(), "tlsCAFile /tmp cannot be read (not a regular file)"));
    unsetenv("SSL_CERT_FILE");
    char uri[256];
    snprintf(uri, sizeof uri, "mongodb://127.0.0.1:1/?tls=true&tlsCAFile=%s", ca_path[1]);
    CHECK_INT(tether_db_open(uri, NULL), 0);
    CHECK_STR(mongoc_uri_get_option_as_utf8(db_uri, MONGOC_URI_TLSCAFILE, ""), ca_path[1]);
    tether_db_close();
    /* nothing to verify with tlsInsecure */
    unlink(ca_path[0]);
    unlink(ca_path[1]);
    CHECK_INT(tether_db_open("mongodb://127.0.0.1:1/?tls=true&tlsInsecure=true", NULL), 0);
    tether_db_close();
    rmdir(ca_dir);
    db_ca_paths = db_ca_known;
}

static void log_mongoc_lines(void)
{
    mongoc_log(MONGOC_LOG_LEVEL_DEBUG, "cluster", "debug line %d", 1);
    mongoc_log(MONGOC_LOG_LEVEL_TRACE, "stream", "trace line");
    mongoc_log(MONGOC_LOG_LEVEL_INFO, "client", "info line");
    mongoc_log(MONGOC_LOG_LEVEL_MESSAGE, "client", "message line");
    mongoc_log(MONGOC_LOG_LEVEL_WARNING, "uri", "warning line, uri mongodb://u:s3cret@h/");
    mongoc_log(MONGOC_LOG_LEVEL_ERROR, "cluster", "error line with s3cret");
}

static void test_mongoc_log(void)
{
    unsetenv("AWS_LAMBDA_LOG_LEVEL");
    setenv("MONGODB_URI", "mongodb://u:s3cret@127.0.0.1:1/", 1);
    CHECK_INT(tether_db_open(NULL, NULL), 0); /* installs the handler, learns the secret */

    unsetenv("TETHER_LOG_LEVEL"); /* the default: warn */
    runtime_log_init();
    capture_stderr(log_mongoc_lines);
    CHECK(strstr(captured, "debug line") == NULL);
    CHECK(strstr(captured, "trace line") == NULL);
    CHECK(strstr(captured, "info line") == NULL && strstr(captured, "message line") == NULL);
    CHECK(strstr(captured, "[tether] WARN mongoc uri: warning line, uri mongodb://***@h/") != NULL);
    CHECK(strstr(captured, "[tether] ERROR mongoc cluster: error line with ***") != NULL);
    CHECK(strstr(captured, "s3cret") == NULL);

    setenv("AWS_LAMBDA_LOG_LEVEL", "INFO", 1);
    runtime_log_init();
    capture_stderr(log_mongoc_lines);
    CHECK(strstr(captured, "debug line") == NULL);
    CHECK(strstr(captured, "[tether] INFO mongoc client: info line") != NULL);
    CHECK(strstr(captured, "[tether] INFO mongoc client: message line") != NULL);

    setenv("TETHER_LOG_LEVEL", "trace", 1);
    runtime_log_init();
    capture_stderr(log_mongoc_lines);
    CHECK(strstr(captured, "[tether] DEBUG mongoc cluster: debug line 1") != NULL);
    CHECK(strstr(captured, "trace line") == NULL); /* wire dumps: never */
    CHECK(strstr(captured, "s3cret") == NULL);
    unsetenv("AWS_LAMBDA_LOG_LEVEL");
    unsetenv("MONGODB_URI");
    tether_db_close();
}

int main(void)
{
    RUN(test_open_and_options);
    RUN(test_invalid_uris);
    RUN(test_uri_warnings);
    RUN(test_scrub);
    RUN(test_tls_ca);
    RUN(test_mongoc_log);
    return TEST_REPORT();
}
