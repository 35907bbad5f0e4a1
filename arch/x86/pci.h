/* PCI configuration space through the legacy 0xCF8/0xCFC ports, and finding serial cards. */
#ifndef RACEBED_PCI_H
#define RACEBED_PCI_H

#include "lib/types.h"

u32 pci_read32(u8 bus, u8 dev, u8 fn, u8 off);
void pci_write16(u8 bus, u8 dev, u8 fn, u8 off, u16 v);

struct pci_serial {
	u8 bus, dev, fn;
	u8 prog_if;     /* 0x02: 16550-compatible */
	bool io;        /* BAR0 is an I/O port range (else memory) */
	u64 addr;       /* BAR0 base */
};

/*
 * Finds the first serial controller (class 07, subclass 00, a 8250/16450/16550-family
 * programming interface) on buses 0..255 whose BAR0 is assigned, and turns its I/O or memory
 * decoding on. Returns false when there is none.
 */
bool pci_find_serial(struct pci_serial *out);

#endif
