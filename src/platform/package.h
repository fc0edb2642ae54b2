/*
 * tether package BOOTSTRAP -o function.zip: a zip AWS Lambda provided.al2023
 * accepts: bootstrap at the root, the shared libraries it needs that Amazon
 * Linux does not ship under lib/, found through an $ORIGIN rpath.
 */
#ifndef TETHER_PLATFORM_PACKAGE_H
#define TETHER_PLATFORM_PACKAGE_H

/* The `tether package` command. argv[0] is "package". Returns the exit status. */
int platform_package_main(int argc, char **argv);

#endif
