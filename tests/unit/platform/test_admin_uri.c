/* Unit tests of admin_uri.c: the port read from an endpoint URL, and the
 * port-named folder: made private, locked while held (a second taker falls
 * back to a folder of its own), refused when open to others, removed. Port
 * numbers above 65535 keep the folders apart from any real tether up. */
#include "harness.h"

#include "platform/admin_uri.c"

#include <sys/stat.h>

static void test_endpoint_port(void)
{
    CHECK_INT(endpoint_port("http://127.0.0.1:9001"), 9001);
    CHECK_INT(endpoint_port("http://127.0.0.1:9001/"), 9001);
    CHECK_INT(endpoint_port("http://localhost"), 80);
    CHECK_INT(endpoint_port("https://example.com/x"), 443);
    CHECK_INT(endpoint_port("http://[::1]:9002/"), 9002);
    CHECK_INT(endpoint_port("http://[::1]"), 80);
    CHECK_INT(endpoint_port("127.0.0.1:9000"), -1);
    CHECK_INT(endpoint_port("http://h:x"), -1);
    CHECK_INT(endpoint_port("http://h:0"), -1);
    CHECK_INT(endpoint_port("http://h:65536"), -1);
    CHECK_INT(endpoint_port("http://h:90x/"), -1);
}

static int mode_of(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

static void test_dir(void)
{
    char named[PATH_MAX], small[8], a[64], b[64];
    int fa = -1, fb = -1;
    CHECK_INT(platform_admin_dir_path(70001, named, sizeof named), 0);
    char stale[PATH_MAX + 8]; /* what a run of this test that was killed left */
    snprintf(stale, sizeof stale, "%s/lock", named);
    unlink(stale);
    rmdir(named);
    CHECK_INT(platform_admin_dir_path(70001, small, sizeof small), -1);
    CHECK_INT(platform_admin_dir_make(70001, a, sizeof a, &fa), 0);
    CHECK_STR(a, named);
    CHECK(fa != -1);
    CHECK_INT(mode_of(a), 0700);
    /* held: the second taker gets a folder of its own, unlocked */
    CHECK_INT(platform_admin_dir_make(70001, b, sizeof b, &fb), 0);
    CHECK(strncmp(b, "/tmp/tether-up.", 15) == 0);
    CHECK_INT(fb, -1);
    CHECK_INT(mode_of(b), 0700);
    platform_admin_dir_remove(b, fb);
    CHECK_INT(mode_of(b), -1);
    /* released (its owner died): taken back */
    close(fa);
    CHECK_INT(platform_admin_dir_make(70001, b, sizeof b, &fb), 0);
    CHECK_STR(b, named);
    CHECK(fb != -1);
    platform_admin_dir_remove(b, fb);
    CHECK_INT(mode_of(named), -1);
    /* open to others: not used */
    CHECK_INT(mkdir(named, 0700), 0);
    CHECK_INT(chmod(named, 0755), 0);
    CHECK_INT(platform_admin_dir_make(70001, b, sizeof b, &fb), 0);
    CHECK(strncmp(b, "/tmp/tether-up.", 15) == 0);
    platform_admin_dir_remove(b, fb);
    CHECK_INT(check_private_dir(named), -1);
    CHECK_INT(errno, EPERM);
    CHECK_INT(rmdir(named), 0);
}

int main(void)
{
    RUN(test_endpoint_port);
    RUN(test_dir);
    return TEST_REPORT();
}
