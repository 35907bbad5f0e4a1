/* Per-CPU GDT and TSS set-up. */
#ifndef RACEBED_DESC_H
#define RACEBED_DESC_H

struct cpu;
/* Fills c's GDT and TSS (stacks must be set) and loads them on the calling CPU. */
void gdt_load_percpu(struct cpu *c);

#endif
