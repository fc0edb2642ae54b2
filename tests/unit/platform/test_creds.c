/* Unit tests of the docstore users file tether up writes (creds.c): its own
 * admin user first, then either readWriteAnyDatabase per role or the
 * --db-users file's entries as written; the result is one JSON array. */
#include "harness.h"
#include "platform/creds.h"

#include <bson/bson.h>
#include <string.h>

/* users as libbson reads it (the docstore's loader wraps the array the same
 * way): the number of entries, or -1 if it is not a JSON array. */
static int entries(const buf_t *users)
{
    char *doc = bson_strdup_printf("{\"a\": %s}", users->data);
    bson_t b;
    bson_error_t err;
    int n = -1;
    if (bson_init_from_json(&b, doc, -1, &err)) {
        bson_iter_t it, ai;
        if (bson_iter_init_find(&it, &b, "a") && BSON_ITER_HOLDS_ARRAY(&it) &&
            bson_iter_recurse(&it, &ai))
            for (n = 0; bson_iter_next(&ai);)
                n++;
        bson_destroy(&b);
    }
    bson_free(doc);
    return n;
}

static void test_default_roles(void)
{
    CHECK(platform_creds_for_role("arn:aws:iam::123456789012:role/a") != NULL);
    CHECK(platform_creds_for_role("arn:aws:iam::123456789012:role/b") != NULL);
    buf_t users;
    buf_init(&users, 1 << 16);
    CHECK_INT(platform_creds_users_json(&users, "pw", NULL, 0), 0);
    CHECK_INT(entries(&users), 3);
    CHECK(strncmp(users.data, "[{\"user\": \"admin\", \"db\": \"admin\", \"password\": \"pw\"",
                  49) == 0);
    CHECK(strstr(users.data, "{\"user\": \"arn:aws:iam::123456789012:role/b\", \"db\": "
                             "\"$external\", \"roles\": [{\"role\": \"readWriteAnyDatabase\", "
                             "\"db\": \"admin\"}]}") != NULL);
    buf_free(&users);
    platform_creds_clear();
}

static void check_file(const char *file, int want_entries, const char *want_text)
{
    buf_t users;
    buf_init(&users, 1 << 16);
    CHECK_INT(platform_creds_users_json(&users, "pw", file, strlen(file)), 0);
    CHECK_INT(entries(&users), want_entries);
    if (want_text != NULL)
        CHECK(strstr(users.data, want_text) != NULL);
    buf_free(&users);
}

static void test_db_users(void)
{
    /* the registry's roles get nothing of their own: only the file's users */
    CHECK(platform_creds_for_role("arn:aws:iam::123456789012:role/a") != NULL);
    check_file("[]", 1, NULL);
    check_file(" \n[ \n ]\n", 1, NULL);
    check_file("[{\"user\": \"arn:aws:iam::123456789012:role/r\", \"db\": \"$external\", "
               "\"roles\": [{\"role\": \"read\", \"db\": \"app\"}]}]\n",
               2, "[\"root\"]},\n {\"user\": \"arn:aws:iam::123456789012:role/r\"");
    check_file("\r\n[\n  {\"user\": \"u\", \"db\": \"app\", \"roles\": [\"read\"]},\n"
               "  {\"user\": \"v\", \"db\": \"app\", \"password\": \"x]\"}\n]\n\n",
               3, "\"password\": \"x]\"}]\n");
    buf_t users;
    buf_init(&users, 1 << 16);
    CHECK(platform_creds_users_json(&users, "pw", "{}", 2) != 0);
    buf_reset(&users);
    CHECK(platform_creds_users_json(&users, "pw", "[", 1) != 0);
    CHECK(strstr(users.data ? users.data : "", "readWriteAnyDatabase") == NULL);
    buf_free(&users);
    platform_creds_clear();
}

int main(void)
{
    RUN(test_default_roles);
    RUN(test_db_users);
    return TEST_REPORT();
}
