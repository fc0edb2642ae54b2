/*
 * Time budgets (maxTimeMS): the deadline of the command the current thread
 * is running. The dispatcher (cmd/command.c) arms it before a command that
 * accepts maxTimeMS, with the command's budget or the server's default
 * (--max-time-ms), and disarms it after; the loops that can run long (scan
 * callbacks, regex matches, $lookup, $group, pipeline stages, sorts) call
 * docstore_deadline_passed() once per unit of work. That call is a
 * thread-local counter bump: the clock is read once every
 * DOCSTORE_DEADLINE_EVERY units. Once the deadline has passed it stays
 * passed (every later check is true at once, so the work unwinds quickly),
 * and the dispatcher answers 50 MaxTimeMSExpired "operation exceeded time
 * limit", as mongod does.
 *
 * Ambient rather than a parameter: the layers the checks sit in (query, agg,
 * storage) keep their signatures, and the docstore runs one command at a time
 * per thread, so "the current command's deadline" is well defined.
 */
#ifndef TETHER_DOCSTORE_DEADLINE_H
#define TETHER_DOCSTORE_DEADLINE_H

#include "docstore/base/error.h"

#include <stdbool.h>
#include <stdint.h>

/* Units of work between two clock reads. */
#define DOCSTORE_DEADLINE_EVERY 64

typedef struct docstore_deadline {
    int64_t at_ms;  /* monotonic ms the budget ends; 0: no budget armed */
    uint32_t ticks; /* units of work since the last clock read */
    bool expired;   /* the budget ran out (sticky until disarmed) */
} docstore_deadline_t;

/* The current thread's deadline: read through the functions below. */
extern _Thread_local docstore_deadline_t docstore_deadline_cur;

/* Arms the current thread's deadline budget_ms from now (budget_ms <= 0:
 * none), replacing any armed one. */
void docstore_deadline_arm(int64_t budget_ms);
/* The same from start_ms (monotonic ms, docstore_now_ms), a time the caller
 * already has: no clock read. */
void docstore_deadline_arm_from(int64_t start_ms, int64_t budget_ms);
/* Disarms it (no budget, not expired). */
void docstore_deadline_disarm(void);
/* Milliseconds left of an armed budget, or 0 when none is armed or it has
 * run out. */
int64_t docstore_deadline_remaining_ms(void);
/* Reads the clock; true (and sticky) when an armed budget has run out. */
bool docstore_deadline_poll(void);

/* cost units of work were done: true when the armed budget has run out. */
static inline bool docstore_deadline_tick(uint32_t cost)
{
    docstore_deadline_t *d = &docstore_deadline_cur;
    if (d->at_ms == 0)
        return false;
    if (d->expired)
        return true;
    d->ticks += cost;
    if (d->ticks < DOCSTORE_DEADLINE_EVERY)
        return false;
    return docstore_deadline_poll();
}

/* One unit of work (a document read, a join probe, ...). */
static inline bool docstore_deadline_passed(void)
{
    return docstore_deadline_tick(1);
}

/* Whether the budget has run out, without counting work or reading the clock. */
static inline bool docstore_deadline_expired(void)
{
    return docstore_deadline_cur.expired;
}

/* Sets err to 50 MaxTimeMSExpired "operation exceeded time limit"; returns -1. */
int docstore_deadline_error(docstore_error_t *err);

/* One unit of work; -1 with err set (50) when the budget has run out, else 0. */
static inline int docstore_deadline_check(docstore_error_t *err)
{
    return docstore_deadline_passed() ? docstore_deadline_error(err) : 0;
}

#endif
