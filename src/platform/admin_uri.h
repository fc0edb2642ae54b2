/*
 * Where `tether up` leaves the admin connection string of its embedded
 * docstore (when roles turn authentication on), and `tether admin-uri`, which
 * prints it. The folder is named by the Invoke API port, so that each of
 * several `tether up` has its own and the developer names the one they mean:
 *   /tmp/tether-up-UID/PORT/admin-uri   (file 0600, folders 0700)
 * The string holds the admin password: it goes to that file and to the
 * standard output of `tether admin-uri`, never to a log line.
 */
#ifndef TETHER_PLATFORM_ADMIN_URI_H
#define TETHER_PLATFORM_ADMIN_URI_H

#include <stddef.h>

/* Writes the folder of the Invoke API port's admin-uri into out. 0, or -1
 * when outlen is too small. */
__attribute__((warn_unused_result)) int platform_admin_dir_path(int api_port, char *out,
                                                                size_t outlen);

/*
 * Makes the folder of api_port's admin-uri, private to this user, and holds
 * a lock in it for as long as *lock_fd (OUT, O_CLOEXEC; the caller closes it)
 * stays open. A folder left by a `tether up` that did not exit cleanly is
 * taken back. When the folder is held by a live `tether up` on the same port
 * of another address, or is not a private folder of ours, a fresh
 * /tmp/tether-up.XXXXXX is made instead (and `tether admin-uri` cannot find
 * it: the log line names it). out gets the folder. 0, or -1 (errno set) when
 * no folder could be made.
 */
__attribute__((warn_unused_result)) int platform_admin_dir_make(int api_port, char *out,
                                                                size_t outlen, int *lock_fd);

/* Removes what platform_admin_dir_make made (dir, its admin-uri and lock)
 * and closes lock_fd (may be -1). */
void platform_admin_dir_remove(const char *dir, int lock_fd);

/* The `tether admin-uri` command. argv[0] is "admin-uri". Returns the exit
 * status: 0 printed, 2 a usage error or no such file. */
int platform_admin_uri_main(int argc, char **argv);

#endif
