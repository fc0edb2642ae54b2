/* Unit tests of the loggable part of a MongoDB connection string (uri.c):
 * hosts shown, credentials, database and options never. */
#include "harness.h"
#include "platform/uri.h"

#include <string.h>

static void check(const char *uri, const char *want)
{
    char out[128];
    platform_uri_public(uri, out, sizeof out);
    CHECK_STR(out, want);
}

static void test_hosts(void)
{
    check("mongodb://127.0.0.1:27017/", "mongodb://127.0.0.1:27017");
    check("mongodb://db.example.com", "mongodb://db.example.com");
    check("mongodb+srv://cluster0.ab12c.mongodb.net/app?retryWrites=true&w=majority",
          "mongodb+srv://cluster0.ab12c.mongodb.net");
    check("mongodb://a:27017,b-2.x:27018,[::1]:27019/?replicaSet=rs",
          "mongodb://a:27017,b-2.x:27018,[::1]:27019");
}

static void test_no_secrets(void)
{
    check("mongodb://bob:s3cret@db.example.com:27017/app", "mongodb://db.example.com:27017");
    /* unescaped '/', '?' and '@' in a password: still only the hosts */
    check("mongodb://bob:pa/ss@db", "mongodb://db");
    check("mongodb://bob:p@ss@db/", "mongodb://db");
    check("mongodb://bob:p?ss@db/", "mongodb://db");
    /* options may hold AWS session tokens */
    check("mongodb://db/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:xyz",
          "mongodb://db");
    /* what cannot be told from a password is not shown */
    check("mongodb://bob:s3cret", "mongodb://...");
    check("mongodb://bob:s3cret/app", "mongodb://...");
    check("mongodb://a,", "mongodb://...");
    check("mongodb://", "mongodb://...");
    check("mongodb://[::1", "mongodb://...");
    check("mongodb://h:123456", "mongodb://...");
    check("bob:s3cret@db", "(not a URI)");
    check("", "(not a URI)");
    check("mon go://db", "(not a URI)");
}

static void test_cut(void)
{
    char out[12];
    platform_uri_public("mongodb://a-very-long-host.example.com", out, sizeof out);
    CHECK_STR(out, "mongodb://a");
}

int main(void)
{
    RUN(test_hosts);
    RUN(test_no_secrets);
    RUN(test_cut);
    return TEST_REPORT();
}
