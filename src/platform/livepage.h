/*
 * The live page: GET /_tether/ serves one static HTML page (livepage.html,
 * embedded in the binary at build time), which polls GET /_tether/live.json:
 * the status document (status.h) plus, per instance, its memory and the
 * database connections it holds (joined from /proc and the embedded
 * docstore's connection list), the docstore's connections, and the last
 * invocations with their duration and log tail (recent.h). See docs/platform.md,
 * "The live page".
 */
#ifndef TETHER_PLATFORM_LIVEPAGE_H
#define TETHER_PLATFORM_LIVEPAGE_H

#include "common/buf.h"

#include <stddef.h>
#include <stdint.h>

struct evhttp_request;
struct platform;
struct platform_instance;

/* Serves path when it is the page's (/_tether, /_tether/, /_tether/live.json):
 * 1 when answered, 0 to let the caller route it. */
int platform_livepage_route(struct platform *p, struct evhttp_request *req, const char *path);

/* Appends the live document to out. 0, or a buf error. */
__attribute__((warn_unused_result)) int platform_livepage_json(struct platform *p, buf_t *out);

/* The local ports of the established TCP connections to remote port db_port
 * (any address) held by any of the n_pids processes pids (sharing pids[0]'s
 * network namespace), from /proc/PID/fd and /proc/PIDS[0]/net/tcp{,6}: up to
 * max into ports; returns how many there are (may be more than max), or -1
 * when /proc cannot be read for any of them (they are gone). */
int platform_livepage_db_ports(const int *pids, int n_pids, int db_port, int *ports, int max);

/* Every process of inst, its runtime first, at most max into pids (OUT): its
 * control group's members where it has one, else the runtime and its
 * descendants as /proc shows them. How many (0 when it has no process). */
int platform_livepage_instance_pids(const struct platform_instance *inst, int *pids, int max);

#endif
