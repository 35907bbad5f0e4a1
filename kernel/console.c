/* Line-atomic console over COM1 and the framebuffer, re-entrant for NMIs on the same CPU. */
#include "kernel/console.h"
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
static bool gs_ready;
/* What was printed before the framebuffer was mapped, replayed onto it when it is. */
static char early[2048];
static size_t early_len;
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

bool console_has_fb(void) { return have_fb; }

void console_set_mode(enum console_mode m)
{
	use_serial = m != CONSOLE_FB;
	use_fb = m != CONSOLE_SERIAL;
}

void console_break_lock(void) { broken = true; }

static void emit(const char *s, size_t n)
{
	if (use_serial || !have_fb)
		uart_write(s, n);
	if (use_fb && have_fb) {
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
	emit(buf, len);
	__atomic_add_fetch(&print_cycles, rdtsc() - t0, __ATOMIC_RELAXED);
	if (locked) {
		owner = NO_OWNER;
		spin_unlock(&lock);
	}
	irq_restore(flags);
}
