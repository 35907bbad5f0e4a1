/* Console: COM1 and the framebuffer, whole lines at a time so CPUs never interleave. */
#ifndef RACEBED_CONSOLE_H
#define RACEBED_CONSOLE_H

#include "boot/bootinfo.h"
#include "kernel/cmdline.h"
#include "lib/printf.h" /* kprintf, which writes here once console_init() ran */

void console_init(void); /* serial only, usable from the first C line; registers the kprintf sink */
void console_attach_fb(const struct fb_info *fb); /* framebuffer must be mapped */
struct fw_info;
/* Where COM1 is missing: the UART the ACPI SPCR table names, else the first PCI serial card
 * (class 07/00); what was printed so far is replayed there. Call once the tables are read. */
void console_find_uart(const struct fw_info *fw);
void console_set_mode(enum console_mode m);
/* After a crash: stop waiting for the lock holder (it may never return); ends a cut-off line. */
void console_break_lock(void);
bool console_has_fb(void); /* a framebuffer console that output goes to (not console=serial) */
/* The framebuffer's text grid (0 x 0 without one). */
u32 console_fb_cols(void);
u32 console_fb_rows(void);
/* Puts one page of text on the framebuffer and keeps it there: later output goes to serial only. */
void console_fb_page(const char *text, size_t n);
/* TSC cycles spent writing output so far (all CPUs): timed windows subtract it. */
u64 console_print_cycles(void);
/* Called once GS points at per-CPU data (before that, output is tagged as CPU 0). */
void console_mark_percpu_ready(void);

#endif
