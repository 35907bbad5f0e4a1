/* PCI configuration mechanism #1 (ports 0xCF8/0xCFC) and a scan for 16550-family serial cards. */
#include "arch/x86/pci.h"
#include "arch/x86/cpu.h"

#define PCI_ADDR 0xCF8
#define PCI_DATA 0xCFC
#define PCI_CMD 0x04
#define PCI_CLASS 0x08  /* revision@8, prog-if@9, subclass@10, class@11 */
#define PCI_HEADER 0x0C /* header type in bits 16..23, bit 23: multi-function */
#define PCI_BAR0 0x10
#define CMD_IO (1u << 0)
#define CMD_MEM (1u << 1)
#define PROG_IF_16750 0x06 /* 0x00 8250 ... 0x06 16850: all register-compatible with a 16450 */

static u32 cfg_addr(u8 bus, u8 dev, u8 fn, u8 off)
{
	return 0x80000000u | (u32)bus << 16 | (u32)(dev & 31) << 11 | (u32)(fn & 7) << 8 | (off & 0xFC);
}

u32 pci_read32(u8 bus, u8 dev, u8 fn, u8 off)
{
	outl(PCI_ADDR, cfg_addr(bus, dev, fn, off));
	return inl(PCI_DATA);
}

void pci_write16(u8 bus, u8 dev, u8 fn, u8 off, u16 v)
{
	outl(PCI_ADDR, cfg_addr(bus, dev, fn, off));
	outw((u16)(PCI_DATA + (off & 2)), v);
}

static bool serial_function(u8 bus, u8 dev, u8 fn, struct pci_serial *out)
{
	u32 class = pci_read32(bus, dev, fn, PCI_CLASS);
	u8 prog_if = (u8)(class >> 8);
	if ((class >> 16) != 0x0700 || prog_if > PROG_IF_16750)
		return false;
	u32 bar = pci_read32(bus, dev, fn, PCI_BAR0);
	bool io = bar & 1;
	u64 addr = io ? (bar & ~3u) : (bar & ~0xFu);
	if (!io && ((bar >> 1) & 3) == 2) /* 64-bit memory BAR */
		addr |= (u64)pci_read32(bus, dev, fn, PCI_BAR0 + 4) << 32;
	if (addr == 0 || (io && addr > 0xFFFF))
		return false; /* not assigned by the firmware */
	u32 cmd = pci_read32(bus, dev, fn, PCI_CMD) & 0xFFFF;
	pci_write16(bus, dev, fn, PCI_CMD, (u16)(cmd | (io ? CMD_IO : CMD_MEM)));
	*out = (struct pci_serial){ bus, dev, fn, prog_if, io, addr };
	return true;
}

bool pci_find_serial(struct pci_serial *out)
{
	for (u32 bus = 0; bus < 256; bus++)
		for (u8 dev = 0; dev < 32; dev++) {
			u32 id = pci_read32((u8)bus, dev, 0, 0);
			if ((id & 0xFFFF) == 0xFFFF)
				continue;
			u8 nfn = (pci_read32((u8)bus, dev, 0, PCI_HEADER) >> 23) & 1 ? 8 : 1;
			for (u8 fn = 0; fn < nfn; fn++) {
				if (fn && (pci_read32((u8)bus, dev, fn, 0) & 0xFFFF) == 0xFFFF)
					continue;
				if (serial_function((u8)bus, dev, fn, out))
					return true;
			}
		}
	return false;
}
