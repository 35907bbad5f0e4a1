/* 16550 UART: 115200 baud, 8N1, polled output with a bounded wait per byte. COM1 first; the
 * console may switch to a UART at another I/O port or in memory (kernel/console.c). */
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

static struct uart_port cur = { false, COM1, 0 };
static bool present;

static u8 rd(const struct uart_port *p, u32 reg)
{
	u64 a = p->base + ((u64)reg << p->shift);
	if (!p->mmio)
		return inb((u16)a);
	return p->shift == 2 ? (u8) * (volatile u32 *)a : *(volatile u8 *)a;
}

static void wr(const struct uart_port *p, u32 reg, u8 v)
{
	u64 a = p->base + ((u64)reg << p->shift);
	if (!p->mmio)
		outb((u16)a, v);
	else if (p->shift == 2)
		*(volatile u32 *)a = v;
	else
		*(volatile u8 *)a = v;
}

static bool setup(const struct uart_port *p)
{
	/* a missing UART floats the bus: the scratch register will not hold a value */
	wr(p, REG_SCRATCH, 0x5a);
	if (rd(p, REG_SCRATCH) != 0x5a)
		return false;
	wr(p, REG_IER, 0x00);
	wr(p, REG_LCR, 0x80); /* DLAB */
	wr(p, REG_DATA, 1);   /* divisor 1: 115200 */
	wr(p, REG_IER, 0);
	wr(p, REG_LCR, 0x03); /* 8N1 */
	wr(p, REG_FCR, 0xc7); /* FIFO on, cleared, 14-byte threshold */
	wr(p, REG_MCR, 0x03); /* DTR, RTS */
	return true;
}

bool uart_init(void)
{
	return present = setup(&cur);
}

bool uart_open(const struct uart_port *port)
{
	if (!setup(port))
		return false;
	cur = *port;
	return present = true;
}

bool uart_present(void) { return present; }

static void put(char c)
{
	for (u32 i = 0; i < 1000000 && !(rd(&cur, REG_LSR) & LSR_THRE); i++)
		cpu_relax();
	wr(&cur, REG_DATA, (u8)c);
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
