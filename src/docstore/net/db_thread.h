/*
 * The docstore on a thread of its own, for `tether up`: its own event base
 * and loop, so a long query delays the docstore's clients only, never the
 * platform's Invoke API or its instances. The server is built and torn down
 * on the calling thread (start errors are reported synchronously); only the
 * loop runs on the docstore thread. Nothing is shared between the threads
 * while it runs but a pipe: docstore_thread_stop writes to it, and the loop
 * ends on the docstore thread itself. The base is never touched from two
 * threads, so libevent needs no locking (evthread) for it.
 */
#ifndef TETHER_DOCSTORE_DB_THREAD_H
#define TETHER_DOCSTORE_DB_THREAD_H

#include "docstore/net/server.h"

typedef struct docstore_thread docstore_thread_t;

/* Opens the server (docstore_server_new on a new event base) and starts its
 * loop on a new thread, with every signal blocked there (signals stay the
 * platform's). 0 and *out, or -1 after logging why; *out is then NULL. */
__attribute__((warn_unused_result)) int docstore_thread_start(const docstore_config_t *cfg,
                                                              docstore_thread_t **out);
/* The port the server bound; fixed before the thread starts, so any thread
 * may read it. */
int docstore_thread_port(const docstore_thread_t *t);
/* The open connections, as docstore_server_peers copies them (safe from any
 * thread: that call takes the connection list's own lock). */
size_t docstore_thread_peers(docstore_thread_t *t, docstore_peer_t *out, size_t max);
/* Ends the loop, joins the thread, then frees the server (closing every
 * connection, cursor and database) and the base. NULL is a no-op. */
void docstore_thread_stop(docstore_thread_t *t);

#endif
