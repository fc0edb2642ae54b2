/* The library version, for callers that check what they linked. */
#include "tether/tether.h"

const char *tether_version(void)
{
    return "0.1.0";
}
