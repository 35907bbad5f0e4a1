/* Segment selectors shared by assembly and C (boot GDT and the per-CPU GDTs agree on these). */
#ifndef RACEBED_SEGMENTS_H
#define RACEBED_SEGMENTS_H

#define SEG_KCODE 0x08   /* 64-bit kernel code */
#define SEG_KDATA 0x10   /* kernel data */
#define SEG_KCODE32 0x18 /* 32-bit kernel code, only for the AP trampoline */
#define SEG_UCODE32 0x20 /* user 32-bit code (compatibility mode); STAR base for SYSRET */
#define SEG_UDATA 0x28   /* user data */
#define SEG_UCODE 0x30   /* user 64-bit code */
#define SEG_TSS 0x38     /* 16-byte TSS descriptor */
#define GDT_ENTRIES 9

#endif
