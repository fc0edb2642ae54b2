/* Choosing the handler from $_HANDLER (see handler.h). */
#include "runtime/handler.h"

#include <stdio.h>
#include <string.h>

/* Appends the table's names, comma-separated, to msg. */
static void list_names(const tether_config_t *cfg, char *msg, size_t msglen)
{
    size_t used = strlen(msg);
    for (size_t i = 0; i < cfg->n_handlers && used + 1 < msglen; i++) {
        const char *name = cfg->handlers[i].name ? cfg->handlers[i].name : "(null)";
        int n = snprintf(msg + used, msglen - used, "%s%s", i ? ", " : "", name);
        if (n < 0)
            return;
        used += (size_t)n;
    }
}

tether_handler_fn runtime_handler_select(const tether_config_t *cfg, const char *handler_name,
                                         char *msg, size_t msglen)
{
    msg[0] = '\0';
    if (cfg->handlers == NULL || cfg->n_handlers == 0) {
        if (cfg->handler != NULL)
            return cfg->handler;
        snprintf(msg, msglen, "this bootstrap registered no handler");
        return NULL;
    }
    if (handler_name == NULL || handler_name[0] == '\0') {
        if (cfg->n_handlers == 1 && cfg->handlers[0].fn != NULL)
            return cfg->handlers[0].fn;
        snprintf(msg, msglen, "_HANDLER is not set; this bootstrap has: ");
        list_names(cfg, msg, msglen);
        return NULL;
    }
    for (size_t i = 0; i < cfg->n_handlers; i++) {
        if (cfg->handlers[i].name != NULL && cfg->handlers[i].fn != NULL &&
            strcmp(cfg->handlers[i].name, handler_name) == 0)
            return cfg->handlers[i].fn;
    }
    snprintf(msg, msglen, "handler '%.100s' not found; this bootstrap has: ", handler_name);
    list_names(cfg, msg, msglen);
    return NULL;
}
