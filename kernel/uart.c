/* COM1 16550: 115200 baud, 8N1, polled output with a bounded wait per byte. */
#include "kernel/uart.h"
#include "arch/x86/cpu.h"

#define COM1 0x3f8
#define REG_DATA 0
#define REG_IER 1
#define REG_FCR 2
#define REG_LCR 3
#define REG_MCR 4
#define REG_LSR 5
#define REG_SCRATCH 7
#define LSR_THRE 0x20

static bool present;

bool uart_init(void)
{
	/* a missing UART floats the bus: the scratch register will not hold a value */
	outb(COM1 + REG_SCRATCH, 0x5a);
	if (inb(COM1 + REG_SCRATCH) != 0x5a)
		return present = false;
	outb(COM1 + REG_IER, 0x00);
	outb(COM1 + REG_LCR, 0x80); /* DLAB */
	outb(COM1 + REG_DATA, 1);   /* divisor 1: 115200 */
	outb(COM1 + REG_IER, 0);
	outb(COM1 + REG_LCR, 0x03); /* 8N1 */
	outb(COM1 + REG_FCR, 0xc7); /* FIFO on, cleared, 14-byte threshold */
	outb(COM1 + REG_MCR, 0x03); /* DTR, RTS */
	return present = true;
}

static void put(char c)
{
	for (u32 i = 0; i < 1000000 && !(inb(COM1 + REG_LSR) & LSR_THRE); i++)
		cpu_relax();
	outb(COM1 + REG_DATA, (u8)c);
}

void uart_write(const char *s, size_t n)
{
	if (!present)
		return;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			put('\r');
		put(s[i]);
	}
}
