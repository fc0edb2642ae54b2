/*
 * tether: one executable, several commands.
 *   tether up       the local Lambda platform (src/platform), with the embedded docstore
 *   tether invoke   a client of the platform's Invoke API
 *   tether db       the docstore alone (src/docstore)
 *   tether package  a zip of a bootstrap that AWS Lambda provided.al2023 accepts
 *   tether admin-uri  the admin connection string of a running tether up's docstore
 */
#include "common/log.h"
#include "docstore/net/server.h"
#include "platform/admin_uri.h"
#include "platform/invoke_cli.h"
#include "platform/package.h"
#include "platform/up.h"

#include <stdio.h>
#include <string.h>

typedef int (*command_main_fn)(int argc, char **argv);

static const struct {
    const char *name;
    command_main_fn main;
    const char *summary;
} commands[] = {
    {"up", platform_up_main, "run the local Lambda platform on a SAM template"},
    {"invoke", platform_invoke_main, "invoke a function through the Invoke API"},
    {"db", docstore_main, "run the docstore (MongoDB wire protocol on SQLite)"},
    {"package", platform_package_main, "zip a bootstrap and its libraries for AWS Lambda"},
    {"admin-uri", platform_admin_uri_main, "print the admin connection string of a tether up"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: tether COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'tether COMMAND --help' describes a command's options.\n");
}

int main(int argc, char **argv)
{
    log_init_from_env();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].main(argc - 1, argv + 1);
    }
    fprintf(stderr, "tether: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
