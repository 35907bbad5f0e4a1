/* 16550 UART on COM1, polled. */
#ifndef RACEBED_UART_H
#define RACEBED_UART_H

#include "lib/types.h"

/* 115200 8N1, FIFO on. Returns false when no UART answers at the port. */
bool uart_init(void);
void uart_write(const char *s, size_t n);

#endif
