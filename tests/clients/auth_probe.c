/*
 * An independent libmongoc client for the auth tests: connects with the URI
 * given (credentials from the URI or, for MONGODB-AWS, from AWS_* variables,
 * as libmongoc reads them), pings, then inserts and reads back one document
 * in DB.COLL. Prints "ok" and exits 0, or prints libmongoc's error and exits 1.
 * With a fifth argument "pool" the client comes from a mongoc_client_pool_t
 * (background monitoring threads, authenticated pooled connections).
 */
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    bool pooled = argc == 5 && strcmp(argv[4], "pool") == 0;
    if (argc != 4 && !pooled) {
        fprintf(stderr, "usage: auth_probe URI DB COLL [pool]\n");
        return 2;
    }
    mongoc_init();
    bson_error_t error;
    int rc = 1;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(argv[1], &error);
    mongoc_client_pool_t *pool = uri && pooled ? mongoc_client_pool_new(uri) : NULL;
    mongoc_client_t *client = NULL;
    if (pool != NULL) {
        mongoc_client_pool_set_error_api(pool, MONGOC_ERROR_API_VERSION_2);
        client = mongoc_client_pool_pop(pool);
    } else if (uri != NULL && !pooled) {
        client = mongoc_client_new_from_uri(uri);
        if (client != NULL)
            mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
    }
    mongoc_collection_t *coll = NULL;
    bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
    bson_t *doc = BCON_NEW("probe", BCON_INT32(1));
    bson_t reply;
    if (client == NULL) {
        printf("error: bad uri: %s\n", error.message);
        goto out;
    }
    if (!mongoc_client_command_simple(client, argv[2], ping, NULL, &reply, &error)) {
        printf("error: ping: %d %s\n", error.code, error.message);
        bson_destroy(&reply);
        goto out;
    }
    bson_destroy(&reply);
    coll = mongoc_client_get_collection(client, argv[2], argv[3]);
    if (!mongoc_collection_insert_one(coll, doc, NULL, NULL, &error)) {
        printf("error: insert: %d %s\n", error.code, error.message);
        goto out;
    }
    mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(coll, doc, NULL, NULL);
    const bson_t *found;
    bool any = mongoc_cursor_next(cursor, &found);
    if (!any && mongoc_cursor_error(cursor, &error))
        printf("error: find: %d %s\n", error.code, error.message);
    mongoc_cursor_destroy(cursor);
    if (!any)
        goto out;
    printf("ok\n");
    rc = 0;
out:
    bson_destroy(ping);
    bson_destroy(doc);
    mongoc_collection_destroy(coll);
    if (pool != NULL) {
        mongoc_client_pool_push(pool, client);
        mongoc_client_pool_destroy(pool);
    } else {
        mongoc_client_destroy(client);
    }
    mongoc_uri_destroy(uri);
    mongoc_cleanup();
    return rc;
}
