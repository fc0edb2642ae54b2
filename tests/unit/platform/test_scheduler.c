/*
 * The scheduler's instance lists (function.c): one list per instance state,
 * platform_function_move the only place a state changes, counts equal to the
 * lists' lengths after every transition the state machine makes (instance.c's
 * diagram), and the picks the scheduler makes from them (the warmest parked
 * instance, the instances under the cap, the returning ones). No process is
 * started: the instances are bare structs.
 */
#include "harness.h"
#include "platform/function.c"

#include <stdint.h>

static platform_function_t fn;

static void fn_init(void)
{
    memset(&fn, 0, sizeof fn);
    TAILQ_INIT(&fn.init);
    TAILQ_INIT(&fn.idle);
    TAILQ_INIT(&fn.busy);
    TAILQ_INIT(&fn.returning);
    TAILQ_INIT(&fn.frozen);
    TAILQ_INIT(&fn.stopping);
    TAILQ_INIT(&fn.dead);
    TAILQ_INIT(&fn.live);
    TAILQ_INIT(&fn.queue);
}

static platform_instance_t *inst_new(unsigned id)
{
    platform_instance_t *inst = calloc(1, sizeof *inst);
    CHECK(inst != NULL);
    inst->id = id;
    inst->host = &fn.host;
    return inst;
}

/* Every list's length equals its count, every instance on a list is in that
 * list's state, and fn->live holds exactly the listed instances not dead. */
static void check_lists(void)
{
    static const platform_instance_state_t states[] = {
        PLATFORM_INSTANCE_INIT,      PLATFORM_INSTANCE_IDLE,   PLATFORM_INSTANCE_BUSY,
        PLATFORM_INSTANCE_RETURNING, PLATFORM_INSTANCE_FROZEN, PLATFORM_INSTANCE_STOPPING,
        PLATFORM_INSTANCE_DEAD,
    };
    size_t not_dead = 0;
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        size_t *n;
        struct platform_instance_list *list = state_list(&fn, states[i], &n);
        size_t len = 0;
        platform_instance_t *inst;
        TAILQ_FOREACH(inst, list, link)
        {
            CHECK_INT(inst->state, states[i]);
            CHECK(inst->listed);
            len++;
        }
        CHECK_INT(len, *n);
        if (states[i] != PLATFORM_INSTANCE_DEAD)
            not_dead += len;
    }
    size_t live = 0;
    platform_instance_t *inst;
    TAILQ_FOREACH(inst, &fn.live, live_link)
    {
        CHECK(inst->state != PLATFORM_INSTANCE_DEAD);
        live++;
    }
    CHECK_INT(live, fn.n_live);
    CHECK_INT(live, not_dead);
}

/* Moves inst to `to` and checks it is last on to's list. */
static void move(platform_instance_t *inst, platform_instance_state_t to)
{
    platform_function_move(&fn, inst, to);
    CHECK_INT(inst->state, to);
    size_t *n;
    CHECK(TAILQ_LAST(state_list(&fn, to, &n), platform_instance_list) == inst);
    check_lists();
}

/* Every transition of instance.c's state machine, each from its own instance. */
static void test_every_transition(void)
{
    fn_init();
    static const struct {
        platform_instance_state_t from, to;
    } edges[] = {
        {PLATFORM_INSTANCE_INIT, PLATFORM_INSTANCE_IDLE},          /* first /next */
        {PLATFORM_INSTANCE_INIT, PLATFORM_INSTANCE_STOPPING},      /* shutdown during init */
        {PLATFORM_INSTANCE_INIT, PLATFORM_INSTANCE_DEAD},          /* exit, init error, 10 s */
        {PLATFORM_INSTANCE_IDLE, PLATFORM_INSTANCE_BUSY},          /* event within the grace */
        {PLATFORM_INSTANCE_IDLE, PLATFORM_INSTANCE_FROZEN},        /* the grace is over */
        {PLATFORM_INSTANCE_IDLE, PLATFORM_INSTANCE_IDLE},          /* parked after /next */
        {PLATFORM_INSTANCE_IDLE, PLATFORM_INSTANCE_STOPPING},      /* parked while stopping */
        {PLATFORM_INSTANCE_IDLE, PLATFORM_INSTANCE_DEAD},          /* exit */
        {PLATFORM_INSTANCE_FROZEN, PLATFORM_INSTANCE_BUSY},        /* event: thawed */
        {PLATFORM_INSTANCE_FROZEN, PLATFORM_INSTANCE_STOPPING},    /* idle timeout, shutdown */
        {PLATFORM_INSTANCE_FROZEN, PLATFORM_INSTANCE_DEAD},        /* killed */
        {PLATFORM_INSTANCE_BUSY, PLATFORM_INSTANCE_RETURNING},     /* result, or Timeout */
        {PLATFORM_INSTANCE_BUSY, PLATFORM_INSTANCE_IDLE},          /* a /next in BUSY */
        {PLATFORM_INSTANCE_BUSY, PLATFORM_INSTANCE_STOPPING},      /* shutdown */
        {PLATFORM_INSTANCE_BUSY, PLATFORM_INSTANCE_DEAD},          /* crash */
        {PLATFORM_INSTANCE_RETURNING, PLATFORM_INSTANCE_IDLE},     /* its /next */
        {PLATFORM_INSTANCE_RETURNING, PLATFORM_INSTANCE_STOPPING}, /* shutdown */
        {PLATFORM_INSTANCE_RETURNING, PLATFORM_INSTANCE_DEAD},     /* killed after a Timeout */
        {PLATFORM_INSTANCE_STOPPING, PLATFORM_INSTANCE_DEAD},      /* exit after SIGTERM */
    };
    size_t k = sizeof edges / sizeof edges[0];
    platform_instance_t *insts[sizeof edges / sizeof edges[0]];
    for (size_t i = 0; i < k; i++) {
        insts[i] = inst_new((unsigned)i + 1);
        move(insts[i], PLATFORM_INSTANCE_INIT); /* spawned: listed, live */
        CHECK(TAILQ_LAST(&fn.live, platform_instance_list) == insts[i]);
        /* reach `from` the way instances do */
        if (edges[i].from == PLATFORM_INSTANCE_IDLE)
            move(insts[i], PLATFORM_INSTANCE_IDLE);
        if (edges[i].from == PLATFORM_INSTANCE_FROZEN) {
            move(insts[i], PLATFORM_INSTANCE_IDLE);
            move(insts[i], PLATFORM_INSTANCE_FROZEN);
        }
        if (edges[i].from == PLATFORM_INSTANCE_BUSY ||
            edges[i].from == PLATFORM_INSTANCE_RETURNING) {
            move(insts[i], PLATFORM_INSTANCE_IDLE);
            move(insts[i], PLATFORM_INSTANCE_BUSY);
        }
        if (edges[i].from == PLATFORM_INSTANCE_RETURNING)
            move(insts[i], PLATFORM_INSTANCE_RETURNING);
        if (edges[i].from == PLATFORM_INSTANCE_STOPPING)
            move(insts[i], PLATFORM_INSTANCE_STOPPING);
        CHECK_INT(insts[i]->state, edges[i].from);
        move(insts[i], edges[i].to);
    }
    CHECK_INT(fn.n_live + fn.n_dead, k);
    CHECK_INT(fn.n_dead, 6);
    /* the lists' order is the order of entry: the dead, oldest first */
    platform_instance_t *first_dead = TAILQ_FIRST(&fn.dead);
    CHECK(first_dead != NULL && first_dead->id == 3);
    /* taken off the lists before being freed, dead or alive */
    for (size_t i = 0; i < k; i++) {
        unlist(&fn, insts[i]);
        CHECK(!insts[i]->listed);
        check_lists();
        free(insts[i]);
    }
    CHECK_INT(fn.n_live, 0);
    CHECK_INT(fn.n_dead, 0);
}

/* What the scheduler reads from the lists. */
static void test_scheduler_reads(void)
{
    fn_init();
    struct evhttp_request *held = (struct evhttp_request *)(uintptr_t)1; /* never touched */
    platform_instance_t *a = inst_new(1), *b = inst_new(2), *c = inst_new(3), *d = inst_new(4);
    platform_instance_t *all[] = {a, b, c, d};
    for (size_t i = 0; i < 4; i++)
        move(all[i], PLATFORM_INSTANCE_INIT);
    CHECK(parked(&fn) == NULL);
    CHECK_INT(running(&fn), 4);
    /* a parks and freezes, then b parks: b is the warmer */
    move(a, PLATFORM_INSTANCE_IDLE);
    a->next_req = held;
    move(a, PLATFORM_INSTANCE_FROZEN);
    CHECK(parked(&fn) == a);
    move(b, PLATFORM_INSTANCE_IDLE);
    b->next_req = held;
    CHECK(parked(&fn) == b);
    /* an idle one whose /next is gone is skipped */
    b->next_req = NULL;
    CHECK(parked(&fn) == a);
    b->next_req = held;
    /* c answers: one returning instance */
    move(c, PLATFORM_INSTANCE_IDLE);
    move(c, PLATFORM_INSTANCE_BUSY);
    CHECK_INT(fn.n_returning, 0);
    move(c, PLATFORM_INSTANCE_RETURNING);
    CHECK_INT(fn.n_returning, 1);
    CHECK_INT(fn.n_busy, 0);
    /* d is stopped: it no longer counts against the cap */
    move(d, PLATFORM_INSTANCE_STOPPING);
    CHECK_INT(running(&fn), 3);
    move(d, PLATFORM_INSTANCE_DEAD);
    CHECK_INT(running(&fn), 3);
    CHECK_INT(fn.n_live, 3);
    for (size_t i = 0; i < 4; i++) {
        unlist(&fn, all[i]);
        free(all[i]);
    }
    check_lists();
}

int main(void)
{
    RUN(test_every_transition);
    RUN(test_scheduler_reads);
    return TEST_REPORT();
}
