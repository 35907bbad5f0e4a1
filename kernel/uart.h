/* The console UART: a 16550 on COM1, or one named by ACPI SPCR or found on PCI, polled. */
#ifndef RACEBED_UART_H
#define RACEBED_UART_H

#include "lib/types.h"

struct uart_port {
	bool mmio;      /* registers in memory (mapped uncached by the caller), else I/O ports */
	u64 base;       /* I/O port or physical address of register 0 */
	u8 shift;       /* register i is at base + (i << shift): 0 bytes, 2 dwords */
};

/* COM1 at 115200 8N1, FIFO on. Returns false when no UART answers at the port. */
bool uart_init(void);
/* Switches output to port after the same probe and set-up; false (COM1 state kept) if absent. */
bool uart_open(const struct uart_port *port);
/* True once a UART answered (COM1 or one opened later). */
bool uart_present(void);
void uart_write(const char *s, size_t n);

#endif
