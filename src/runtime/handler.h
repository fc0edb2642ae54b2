/*
 * The handler table: which of the bootstrap's logical functions serves this
 * instance, chosen by $_HANDLER (the template's Handler). The single-handler
 * form ignores _HANDLER.
 */
#ifndef TETHER_RUNTIME_HANDLER_H
#define TETHER_RUNTIME_HANDLER_H

#include "tether/tether.h"

#include <stddef.h>

/*
 * Picks the handler for handler_name (may be NULL when _HANDLER is unset).
 * Returns it, or NULL and writes into msg why ("handler 'x' not found; this
 * bootstrap has: a, b, c"), for the init error.
 */
tether_handler_fn runtime_handler_select(const tether_config_t *cfg, const char *handler_name,
                                         char *msg, size_t msglen);

#endif
