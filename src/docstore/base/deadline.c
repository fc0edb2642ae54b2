/*
 * Time budgets (deadline.h): the current command's deadline, per thread.
 */
#include "docstore/base/deadline.h"

#include "docstore/base/clock.h"

_Thread_local docstore_deadline_t docstore_deadline_cur;

void docstore_deadline_arm_from(int64_t start_ms, int64_t budget_ms)
{
    docstore_deadline_t *d = &docstore_deadline_cur;
    d->ticks = 0;
    d->expired = false;
    d->at_ms = budget_ms > 0 ? start_ms + budget_ms : 0;
}

void docstore_deadline_arm(int64_t budget_ms)
{
    docstore_deadline_arm_from(budget_ms > 0 ? docstore_now_ms() : 0, budget_ms);
}

void docstore_deadline_disarm(void)
{
    docstore_deadline_arm(0);
}

int64_t docstore_deadline_remaining_ms(void)
{
    const docstore_deadline_t *d = &docstore_deadline_cur;
    if (d->at_ms == 0 || d->expired)
        return 0;
    int64_t left = d->at_ms - docstore_now_ms();
    return left > 0 ? left : 0;
}

bool docstore_deadline_poll(void)
{
    docstore_deadline_t *d = &docstore_deadline_cur;
    d->ticks = 0;
    if (d->at_ms == 0)
        return false;
    if (!d->expired && docstore_now_ms() >= d->at_ms)
        d->expired = true;
    return d->expired;
}

int docstore_deadline_error(docstore_error_t *err)
{
    docstore_error_set(err, DOCSTORE_MAX_TIME_MS_EXPIRED, "operation exceeded time limit");
    return -1;
}
