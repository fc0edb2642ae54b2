/* Placeholder until this command lands. */
#include "platform/invoke_cli.h"

#include <stdio.h>

int platform_invoke_main(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "tether %s: not built yet\n", argv[0]);
    return 2;
}
