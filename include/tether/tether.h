/*
 * tether: the C runtime for AWS Lambda functions (placeholder until the
 * runtime lands; see docs/runtime.md).
 */
#ifndef TETHER_TETHER_H
#define TETHER_TETHER_H

/* The library's version string, "MAJOR.MINOR.PATCH". */
const char *tether_version(void);

#endif
