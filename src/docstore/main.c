/* Placeholder until the owning module lands: every call reports NotImplemented. */
#include "docstore/server.h"

#include <stdio.h>
#include <string.h>

void docstore_config_init(docstore_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->bind_address = "127.0.0.1";
    cfg->port = 27017;
}

int docstore_server_new(struct event_base *base, const docstore_config_t *cfg,
                        docstore_server_t **out)
{
    (void)base, (void)cfg;
    *out = NULL;
    fprintf(stderr, "docstore: not built yet\n");
    return -1;
}

int docstore_server_port(const docstore_server_t *s)
{
    (void)s;
    return 0;
}

void docstore_server_free(docstore_server_t *s)
{
    (void)s;
}

int docstore_main(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "tether %s: not built yet\n", argv[0]);
    return 2;
}
