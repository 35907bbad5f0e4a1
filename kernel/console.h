/* Console: COM1 and the framebuffer, whole lines at a time so CPUs never interleave. */
#ifndef RACEBED_CONSOLE_H
#define RACEBED_CONSOLE_H

#include "kernel/bootinfo.h"
#include "kernel/cmdline.h"

void console_init(void);                      /* serial only, usable from the first C line */
void console_attach_fb(const struct fb_info *fb); /* framebuffer must be mapped */
void console_set_mode(enum console_mode m);
/* Formats and writes; each call's output appears contiguously. Safe from NMI context. */
void kprintf(const char *fmt, ...) PRINTF_FMT(1, 2);
void kvprintf(const char *fmt, va_list ap) PRINTF_FMT(1, 0);
/* After a crash: stop waiting for the lock holder (it may never return). */
void console_break_lock(void);
bool console_has_fb(void);
/* TSC cycles spent writing output so far (all CPUs): timed windows subtract it. */
u64 console_print_cycles(void);
/* Called once GS points at per-CPU data (before that, output is tagged as CPU 0). */
void console_mark_percpu_ready(void);

#endif
