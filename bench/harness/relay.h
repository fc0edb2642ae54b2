/*
 * A TCP relay that delays every segment: the benchmarks' stand-in for a
 * network link (this machine's kernel has no netem). It runs in a child
 * process, listens on 127.0.0.1:0 and, for each connection accepted, connects
 * to 127.0.0.1:target and forwards both ways, holding each chunk it reads
 * delay_us before writing it on: a round trip through it takes 2 x delay_us
 * more. TCP_NODELAY on every socket, so the relay adds no Nagle wait.
 */
#ifndef TETHER_BENCH_RELAY_H
#define TETHER_BENCH_RELAY_H

#include <sys/types.h>

typedef struct bench_relay {
    pid_t pid; /* the relay process, or -1 */
    int port;  /* where it listens */
} bench_relay_t;

/* Starts the relay to 127.0.0.1:target_port. 0 with *r filled, or -1. */
__attribute__((warn_unused_result)) int bench_relay_start(int target_port, int delay_us,
                                                          bench_relay_t *r);
/* Kills and reaps the relay. */
void bench_relay_stop(bench_relay_t *r);

#endif
