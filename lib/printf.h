/* Freestanding formatted output into a buffer. Host unit tests link this file too. */
#ifndef RACEBED_PRINTF_H
#define RACEBED_PRINTF_H

#include "lib/types.h"

/*
 * C99 snprintf semantics: writes at most size bytes including the NUL, always terminates when
 * size > 0, returns the length the full output would have had.
 * Conversions: %d %i %u %x %X %o %c %s %p %%; length modifiers hh h l ll z t j;
 * flags - 0 + space #; field width and precision, both also as '*'.
 */
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap) PRINTF_FMT(3, 0);
int ksnprintf(char *buf, size_t size, const char *fmt, ...) PRINTF_FMT(3, 4);

/*
 * Formatted output for every layer (lib/kprintf.c): formats into a buffer, then hands the text
 * to the sink the console registered (kernel/console.c: COM1 and the framebuffer, whole lines
 * at a time, safe from NMI context). Before a sink is registered, output is dropped.
 */
typedef void (*kprintf_sink_t)(const char *s, size_t n);
void kprintf_set_sink(kprintf_sink_t sink);
void kprintf(const char *fmt, ...) PRINTF_FMT(1, 2);
void kvprintf(const char *fmt, va_list ap) PRINTF_FMT(1, 0);

#endif
