/* Line-atomic console over a UART (COM1, else the SPCR's or a PCI card's) and the framebuffer,
 * re-entrant for NMIs on the same CPU. */
#include "kernel/console.h"
#include "arch/x86/acpi.h"
#include "arch/x86/paging.h"
#include "arch/x86/pci.h"
#include "kernel/fbcon.h"
#include "lib/lib.h"
#include "arch/x86/percpu.h"
#include "lib/printf.h"
#include "arch/x86/spinlock.h"
#include "kernel/uart.h"
#include "arch/x86/cpu.h"

#define NO_OWNER 0xffffffffu

static struct spinlock lock;
static volatile u32 owner = NO_OWNER;
static volatile bool broken;
static bool use_serial = true, use_fb = true, have_fb;
static bool fb_frozen; /* a page (the results screen) stays: no more text on the framebuffer */
static bool gs_ready;
/* What was printed before the framebuffer was mapped, replayed onto it when it is. */
static char early[2048];
static size_t early_len;
/* What was meant for the serial port while no UART was known (COM1 missing, tables not read). */
static char backlog[8192];
static size_t backlog_len;
static bool uart_settled;
/* TSC cycles spent writing output (a UART at 115200 baud needs ~87 us per character). */
static volatile u64 print_cycles;

u64 console_print_cycles(void) { return print_cycles; }

static u32 cpu_id_or_boot(void)
{
	return gs_ready ? this_cpu_index() : 0;
}

static void console_write(const char *s, size_t n);

void console_init(void)
{
	uart_init();
	kprintf_set_sink(console_write);
}

void console_mark_percpu_ready(void) { gs_ready = true; }

void console_attach_fb(const struct fb_info *fb)
{
	have_fb = fbcon_init(fb);
	if (have_fb && use_fb)
		fbcon_write(early, early_len);
}

bool console_has_fb(void) { return have_fb && use_fb; }

u32 console_fb_cols(void) { return console_has_fb() ? fbcon_cols() : 0; }
u32 console_fb_rows(void) { return console_has_fb() ? fbcon_rows() : 0; }

void console_fb_page(const char *text, size_t n)
{
	if (!console_has_fb())
		return;
	u64 flags = irq_save();
	bool locked = false;
	for (u64 spins = 0; !broken && !(locked = spin_trylock(&lock)) && spins < (1ull << 28); spins++)
		cpu_relax();
	fbcon_page(text, n);
	fb_frozen = true;
	if (locked)
		spin_unlock(&lock);
	irq_restore(flags);
}

void console_set_mode(enum console_mode m)
{
	use_serial = m != CONSOLE_FB;
	use_fb = m != CONSOLE_SERIAL;
}

/* Output state for console_break_lock(): a write in progress, or a line left unfinished. */
static volatile bool writing, line_open;
static void emit(const char *s, size_t n);

/*
 * After a crash: stop waiting for the lock holder (it may be halted mid-line by the stop NMI);
 * end its unfinished line, so what follows starts a line (KTAP readers split on newlines).
 */
void console_break_lock(void)
{
	broken = true;
	if (writing || line_open)
		emit("\n", 1);
	writing = line_open = false;
}

/* The SPCR's UART: 16550/16450 register layout only; access size 3 (dword) spaces registers 4 apart. */
static bool spcr_port(const struct fw_info *fw, struct uart_port *p)
{
	if (!fw->have_spcr || (fw->spcr_interface != 0 && fw->spcr_interface != 1 &&
			       fw->spcr_interface != 0x12))
		return false;
	p->mmio = fw->spcr_space == 0;
	p->base = fw->spcr_addr;
	p->shift = fw->spcr_access == 3 ? 2 : 0;
	return !p->mmio || map_identity(p->base, 4096, CACHE_UC);
}

static bool pci_port(struct pci_serial *card, struct uart_port *p)
{
	if (!pci_find_serial(card))
		return false;
	p->mmio = !card->io;
	p->base = card->addr;
	p->shift = 0;
	return !p->mmio || map_identity(p->base, 4096, CACHE_UC);
}

void console_find_uart(const struct fw_info *fw)
{
	if (uart_settled)
		return;
	if (uart_present()) {
		uart_settled = true;
		return;
	}
	struct uart_port p;
	struct pci_serial card;
	char how[64] = "";
	if (spcr_port(fw, &p) && uart_open(&p))
		ksnprintf(how, sizeof(how), "ACPI SPCR");
	else if (pci_port(&card, &p) && uart_open(&p))
		ksnprintf(how, sizeof(how), "PCI serial %02x:%02x.%u", card.bus, card.dev, card.fn);
	u64 flags = irq_save();
	uart_settled = true;
	if (how[0])
		uart_write(backlog, backlog_len);
	irq_restore(flags);
	if (how[0])
		kprintf("# console: COM1 missing, serial on %s, %s 0x%lx%s\n", how,
			p.mmio ? "mmio" : "port", p.base,
			backlog_len == sizeof(backlog) ? " (earlier output truncated)" : "");
	else
		kprintf("# console: no UART (no COM1, no usable SPCR, no PCI serial card)%s\n",
			fw->have_spcr ? ": the SPCR's UART did not answer" : "");
}

static void emit(const char *s, size_t n)
{
	if (use_serial || !have_fb) {
		if (uart_present()) {
			uart_write(s, n);
		} else if (!uart_settled && backlog_len < sizeof(backlog)) {
			size_t take = MIN(n, sizeof(backlog) - backlog_len);
			memcpy(backlog + backlog_len, s, take);
			backlog_len += take;
		}
	}
	if (use_fb && have_fb) {
		if (!fb_frozen)
			fbcon_write(s, n);
	} else if (!have_fb && early_len < sizeof(early)) {
		size_t take = MIN(n, sizeof(early) - early_len);
		memcpy(early + early_len, s, take);
		early_len += take;
	}
}

/* The kprintf sink: each call's text appears contiguously. Safe from NMI context. */
static void console_write(const char *buf, size_t len)
{
	u32 me = cpu_id_or_boot();
	u64 flags = irq_save();
	/* an NMI that interrupts this CPU's own print must not wait for itself */
	bool nested = owner == me;
	bool locked = false;
	if (!nested && !broken) {
		for (u64 spins = 0; !(locked = spin_trylock(&lock)); spins++) {
			cpu_relax();
			if (broken || spins > (1ull << 28))
				break;
		}
		if (locked)
			owner = me;
	}
	u64 t0 = rdtsc();
	writing = true;
	emit(buf, len);
	if (len)
		line_open = buf[len - 1] != '\n';
	writing = false;
	__atomic_add_fetch(&print_cycles, rdtsc() - t0, __ATOMIC_RELAXED);
	if (locked) {
		owner = NO_OWNER;
		spin_unlock(&lock);
	}
	irq_restore(flags);
}
