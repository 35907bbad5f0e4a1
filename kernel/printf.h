/* Freestanding formatted output into a buffer. Host unit tests link this file too. */
#ifndef RACEBED_PRINTF_H
#define RACEBED_PRINTF_H

#include "types.h"

/*
 * C99 snprintf semantics: writes at most size bytes including the NUL, always terminates when
 * size > 0, returns the length the full output would have had.
 * Conversions: %d %i %u %x %X %o %c %s %p %%; length modifiers hh h l ll z t j;
 * flags - 0 + space #; field width and precision, both also as '*'.
 */
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap) PRINTF_FMT(3, 0);
int ksnprintf(char *buf, size_t size, const char *fmt, ...) PRINTF_FMT(3, 4);

#endif
