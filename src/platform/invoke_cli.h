/*
 * tether invoke [--endpoint URL] NAME [PAYLOAD | -]: prints the function's
 * response; exit 1 on a function error, 2 on a usage or transport error.
 */
#ifndef TETHER_PLATFORM_INVOKE_CLI_H
#define TETHER_PLATFORM_INVOKE_CLI_H

/* The `tether invoke` command. argv[0] is "invoke". Returns the exit status. */
int platform_invoke_main(int argc, char **argv);

#endif
