/*
 * AP start-up trampoline, copied by the BSP to a free page below 1 MiB (the SIPI vector).
 * Real mode: load the boot GDT (its 6-byte descriptor is patched in by the BSP at
 * TRAMP_GDTR_OFF), turn on protected mode and far jump into the kernel's 32-bit AP entry.
 */
#include "boot/segments.h"

	.section .rodata.trampoline, "a"
	.code16
	.globl trampoline_start, trampoline_end, trampoline_gdtr
trampoline_start:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	lgdtl trampoline_gdtr - trampoline_start
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $SEG_KCODE32, $ap_entry32
	.balign 8
trampoline_gdtr:
	.short 0
	.long 0
trampoline_end:
