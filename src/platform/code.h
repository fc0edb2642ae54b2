/*
 * Where each function's code comes from and how it runs: a folder (as
 * written) or a zip (unpacked at start, codezip.h), unisolated or isolated in
 * a root that holds only the code (sandbox.h). Decided once at start, before
 * the functions are made; undone at exit.
 */
#ifndef TETHER_PLATFORM_CODE_H
#define TETHER_PLATFORM_CODE_H

struct platform;
struct platform_function_spec;

/* Unpacks every zip the template names (setting each spec's code_dir) and,
 * when a function is to run isolated, makes the sandbox and tries it once: if
 * isolation cannot work here (no namespaces: unshare fails with EPERM; no
 * busybox-static), says so once and leaves p->sandbox NULL (everything then
 * runs unisolated). -1 (logged) when a zip cannot be used: tether up stops. */
__attribute__((warn_unused_result)) int platform_code_prepare(struct platform *p);

/* 1 when instances of spec run isolated: a provided.* function, a zip (or
 * --isolate), not --no-isolate, and isolation available. */
int platform_code_isolated(const struct platform *p, const struct platform_function_spec *spec);

/* Removes the unpacked zips and the sandbox skeleton (after every instance is gone). */
void platform_code_release(struct platform *p);

#endif
