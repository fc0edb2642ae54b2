/*
 * tether up: reads a SAM template, starts the embedded docstore (unless --db
 * names an external one) and serves the Invoke API and one Runtime API per
 * function instance, in one libevent loop.
 */
#ifndef TETHER_PLATFORM_UP_H
#define TETHER_PLATFORM_UP_H

/* The `tether up` command. argv[0] is "up". Returns the process exit status. */
int platform_up_main(int argc, char **argv);

#endif
