/* Placeholder until this command lands. */
#include "docstore/server.h"

#include <stdio.h>

int docstore_main(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "tether %s: not built yet\n", argv[0]);
    return 2;
}
