/*
 * The preload module Node instances start with so aws-lambda-ric 3.3 runs
 * with a JS Runtime API client instead of its native one (ric_preload.c).
 */
#ifndef TETHER_PLATFORM_RIC_PRELOAD_H
#define TETHER_PLATFORM_RIC_PRELOAD_H

/* A data: URL for `node --import URL`; built on first use and kept for the
 * life of the process (never free it). NULL if out of memory. */
const char *platform_ric_preload_url(void);

#endif
