/*
 * The managed client's network check (db_network.c): which addresses count as
 * private (every range's edges, IPv6, IPv4-mapped), and which connection
 * strings are refused at init (plaintext to a public address, a name that
 * does not resolve, an SRV name without TLS) and which pass (TLS, private and
 * loopback hosts, Unix sockets, the opt-out), with the message that says how
 * to fix it. The test names public addresses, so it runs itself in a network
 * namespace of its own with no interface up: nothing can leave the machine
 * (the check sends nothing for an IP literal anyway).
 */
#include "harness.h"
#include "runtime/db_network.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int is_private(const char *text)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(text, ':') != NULL) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        if (inet_pton(AF_INET6, text, &a->sin6_addr) != 1)
            return -1;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        if (inet_pton(AF_INET, text, &a->sin_addr) != 1)
            return -1;
    }
    return runtime_db_addr_is_private((const struct sockaddr *)&ss);
}

static void test_ranges(void)
{
    static const char *const private_addrs[] = {
        "127.0.0.1",    "127.255.255.254", "10.0.0.0",         "10.255.255.255",
        "172.16.0.0",   "172.31.255.255",  "192.168.0.1",      "192.168.255.255",
        "169.254.0.1",  "169.254.169.254", "100.64.0.0",       "100.127.255.255",
        "::1",          "fc00::1",         "fd12:3456::1",     "fe80::1",
        "febf:ffff::1", "::ffff:10.1.2.3", "::ffff:127.0.0.1",
    };
    static const char *const public_addrs[] = {
        "8.8.8.8",        "9.255.255.255",   "11.0.0.0",    "172.15.255.255",
        "172.32.0.0",     "192.167.255.255", "192.169.0.0", "169.253.255.255",
        "100.63.255.255", "100.128.0.0",     "0.0.0.0",     "203.0.113.7",
        "2001:db8::1",    "fec0::1",         "fe00::1",     "::",
        "::ffff:8.8.8.8", "2606:4700::1111",
    };
    for (size_t i = 0; i < sizeof private_addrs / sizeof private_addrs[0]; i++) {
        if (is_private(private_addrs[i]) != 1)
            fprintf(stderr, "  %s should be private\n", private_addrs[i]);
        CHECK(is_private(private_addrs[i]) == 1);
    }
    for (size_t i = 0; i < sizeof public_addrs / sizeof public_addrs[0]; i++) {
        if (is_private(public_addrs[i]) != 0)
            fprintf(stderr, "  %s should be public\n", public_addrs[i]);
        CHECK(is_private(public_addrs[i]) == 0);
    }
}

/* runtime_db_network_check on uri_text: its verdict, the reason into why. */
static int check(const char *uri_text, char *why, size_t cap)
{
    mongoc_uri_t *uri = mongoc_uri_new(uri_text);
    if (uri == NULL) {
        snprintf(why, cap, "unparsable");
        return -2;
    }
    int rc = runtime_db_network_check(uri, why, cap);
    mongoc_uri_destroy(uri);
    return rc;
}

static void test_uris(void)
{
    char why[1024];
    unsetenv("TETHER_DB_ALLOW_PUBLIC_PLAINTEXT");
    static const char *const allowed[] = {
        "mongodb://127.0.0.1:27017/",
        "mongodb://localhost/app",
        "mongodb://10.1.2.3,192.168.7.8:27018/?replicaSet=rs",
        "mongodb://[fd00::5]:27017/",
        "mongodb://%2Ftmp%2Fmongodb-27017.sock/",
        "mongodb://8.8.8.8:27017/?tls=true",
        "mongodb://app:secret@203.0.113.7/?ssl=true",
        "mongodb+srv://cluster0.example.mongodb.net/app?authMechanism=MONGODB-AWS",
    };
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
        int rc = check(allowed[i], why, sizeof why);
        if (rc != 0)
            fprintf(stderr, "  %s: %s\n", allowed[i], why);
        CHECK_INT(rc, 0);
    }

    CHECK_INT(check("mongodb://app:secret@8.8.8.8:27017/app", why, sizeof why), -1);
    CHECK(strstr(why, "8.8.8.8:27017 in plaintext, a public address") != NULL);
    CHECK(strstr(why, "tls=true") != NULL);
    CHECK(strstr(why, "private endpoint") != NULL);
    CHECK(strstr(why, "TETHER_DB_ALLOW_PUBLIC_PLAINTEXT=1") != NULL);
    CHECK(strstr(why, "secret") == NULL);

    /* one public host among private ones is named */
    CHECK_INT(check("mongodb://10.0.0.1,[2001:db8::9]:27019/", why, sizeof why), -1);
    CHECK(strstr(why, "[2001:db8::9]:27019") != NULL);

    /* tls=false wins over the SRV default */
    CHECK_INT(check("mongodb+srv://cluster0.example.mongodb.net/?tls=false", why, sizeof why), -1);
    CHECK(strstr(why, "SRV name cluster0.example.mongodb.net") != NULL);

    /* a name that does not resolve (the .invalid TLD never does, RFC 2606) */
    CHECK_INT(check("mongodb://db.invalid:27017/", why, sizeof why), -1);
    CHECK(strstr(why, "db.invalid does not resolve") != NULL);

    /* the opt-out */
    setenv("TETHER_DB_ALLOW_PUBLIC_PLAINTEXT", "1", 1);
    CHECK_INT(check("mongodb://8.8.8.8:27017/", why, sizeof why), 0);
    setenv("TETHER_DB_ALLOW_PUBLIC_PLAINTEXT", "yes", 1); /* only "1" opts out */
    CHECK_INT(check("mongodb://8.8.8.8:27017/", why, sizeof why), -1);
    unsetenv("TETHER_DB_ALLOW_PUBLIC_PLAINTEXT");
}

int main(int argc, char **argv)
{
    (void)argc;
    if (getenv("TETHER_TEST_NETNS") == NULL) {
        /* again, in a network namespace of our own (no interface up) */
        setenv("TETHER_TEST_NETNS", "1", 1);
        static char a0[] = "unshare", a1[] = "--net", a2[] = "--";
        char *args[] = {a0, a1, a2, argv[0], NULL};
        execvp("unshare", args);
        perror("test_db_network: unshare --net (needs root)");
        return 1;
    }
    mongoc_init();
    RUN(test_ranges);
    RUN(test_uris);
    mongoc_cleanup();
    return TEST_REPORT();
}
