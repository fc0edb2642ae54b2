/*
 * The smallest tether function: answers every event with its own payload.
 * One handler, no init, no database: the baseline the benchmarks measure.
 *
 *   cc echo.c -o bootstrap $(pkg-config --cflags --libs tether) -Wl,-rpath,'$ORIGIN/lib'
 */
#include <tether/tether.h>

static int echo(const tether_event_t *event, tether_response_t *res, void *user)
{
    (void)user;
    return tether_response_set(res, event->payload, event->payload_len);
}

int main(void)
{
    return tether_run_handler(echo);
}
