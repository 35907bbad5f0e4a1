/*
 * Host unit test for arch/x86/acpi.c and arch/x86/mptable.c. Synthetic firmware tables are
 * built in a fake physical memory (phys 0..4 MiB plus a 64 KiB window at 4 GiB). The map
 * callback hands out a private heap copy of exactly the requested range at an odd address,
 * so ASan catches any read past a mapping and UBSan any misaligned typed access.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "host/unit/check.h"
#include "arch/x86/acpi.h"

#define LOW_SIZE (4u << 20)
#define HIGH_BASE 0x100000000ull
#define HIGH_SIZE (64u << 10)

static u8 low[LOW_SIZE];
static u8 high[HIGH_SIZE];
static u64 hole_pa, hole_len;     /* the map callback refuses anything touching this */
static void **maps;
static size_t nmaps;
static int nlog, bad_log;
static char last_log[256];
static struct fw_info fi;

static const void *fake_map(u64 pa, u64 len)
{
	const u8 *src;
	u8 *buf;

	if (len == 0 || pa + len < pa)
		return NULL;
	if (hole_len && pa < hole_pa + hole_len && hole_pa < pa + len)
		return NULL;
	if (pa + len <= LOW_SIZE)
		src = low + pa;
	else if (pa >= HIGH_BASE && pa + len <= HIGH_BASE + HIGH_SIZE)
		src = high + (pa - HIGH_BASE);
	else
		return NULL;
	buf = malloc(len + 1);
	memcpy(buf + 1, src, len);
	maps = realloc(maps, (nmaps + 1) * sizeof(*maps));
	maps[nmaps++] = buf;
	return buf + 1;
}

static void test_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
	nlog++;
	/* One line, no newline, "NAME: ..." prefix. */
	if (strchr(last_log, '\n') || !strstr(last_log, ": ") || strstr(last_log, ": ") > last_log + 6)
		bad_log++;
	if (getenv("ACPI_TEST_VERBOSE"))
		fprintf(stderr, "  log: %s\n", last_log);
}

static void reset(void)
{
	memset(low, 0, sizeof(low));
	memset(high, 0, sizeof(high));
	for (size_t i = 0; i < nmaps; i++)
		free(maps[i]);
	nmaps = 0;
	hole_pa = hole_len = 0;
	nlog = 0;
	last_log[0] = 0;
	fw_info_init(&fi);
}

static u8 *P(u64 pa)
{
	return pa >= HIGH_BASE ? high + (pa - HIGH_BASE) : low + pa;
}

static void w8(u64 pa, u8 v) { *P(pa) = v; }
static void w16(u64 pa, u16 v) { memcpy(P(pa), &v, 2); }
static void w32(u64 pa, u32 v) { memcpy(P(pa), &v, 4); }
static void w64(u64 pa, u64 v) { memcpy(P(pa), &v, 8); }

/* Sets the byte at csum so that the len bytes from p sum to zero. */
static void fix_sum(u8 *p, u32 len, u32 csum)
{
	u8 s = 0;

	p[csum] = 0;
	for (u32 i = 0; i < len; i++)
		s += p[i];
	p[csum] = (u8)-s;
}

static void sdt(u64 pa, const char *sig, u32 len)
{
	memcpy(P(pa), sig, 4);
	w32(pa + 4, len);
	w8(pa + 8, 2);
	memcpy(P(pa + 10), "RACEBD", 6);
}

static void seal(u64 pa)
{
	u32 len;

	memcpy(&len, P(pa + 4), 4);
	fix_sum(P(pa), len, 9);
}

static void make_rsdp(u8 *r, u8 rev, u32 rsdt, u64 xsdt)
{
	memset(r, 0, 36);
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, "RACEBD", 6);
	r[15] = rev;
	memcpy(r + 16, &rsdt, 4);
	fix_sum(r, 20, 8);
	if (rev >= 2) {
		u32 len = 36;

		memcpy(r + 20, &len, 4);
		memcpy(r + 24, &xsdt, 8);
		fix_sum(r, 36, 32);  /* covers the whole 36 bytes, v1 checksum included */
	}
}

static void make_root(u64 pa, bool x, const u64 *tables, u32 n)
{
	u32 esz = x ? 8 : 4;

	sdt(pa, x ? "XSDT" : "RSDT", 36 + n * esz);
	for (u32 i = 0; i < n; i++) {
		if (x)
			w64(pa + 36 + i * 8, tables[i]);
		else
			w32(pa + 36 + i * 4, (u32)tables[i]);
	}
	seal(pa);
}

/* MADT builder: begin, add entries, end (which writes the length and checksum). */
static u64 madt_pa;
static u32 madt_len;

static void madt_begin(u64 pa, u32 lapic, u32 flags)
{
	madt_pa = pa;
	madt_len = 44;
	sdt(pa, "APIC", 44);
	w32(pa + 36, lapic);
	w32(pa + 40, flags);
}

static void madt_raw(const void *e, u32 n)
{
	memcpy(P(madt_pa + madt_len), e, n);
	madt_len += n;
}

static void madt_lapic(u8 uid, u8 id, u32 flags)
{
	u8 e[8] = { 0, 8, uid, id };

	memcpy(e + 4, &flags, 4);
	madt_raw(e, 8);
}

static void madt_x2apic(u32 id, u32 flags, u32 uid)
{
	u8 e[16] = { 9, 16 };

	memcpy(e + 4, &id, 4);
	memcpy(e + 8, &flags, 4);
	memcpy(e + 12, &uid, 4);
	madt_raw(e, 16);
}

static void madt_ioapic(u8 id, u32 addr, u32 gsi)
{
	u8 e[12] = { 1, 12, id };

	memcpy(e + 4, &addr, 4);
	memcpy(e + 8, &gsi, 4);
	madt_raw(e, 12);
}

static void madt_iso(u8 bus, u8 src, u32 gsi, u16 flags)
{
	u8 e[10] = { 2, 10, bus, src };

	memcpy(e + 4, &gsi, 4);
	memcpy(e + 8, &flags, 2);
	madt_raw(e, 10);
}

static void madt_end(void)
{
	w32(madt_pa + 4, madt_len);
	seal(madt_pa);
}

static void make_hpet(u64 pa, u8 space, u64 addr)
{
	sdt(pa, "HPET", 56);
	w32(pa + 36, 0x8086A201);
	w8(pa + 40, space);
	w64(pa + 44, addr);
	seal(pa);
}

/* FADT: PM_TMR_BLK@76, FLAGS@112, RESET_REG@116, RESET_VALUE@128, X_PM_TMR_BLK@208. */
static void make_fadt(u64 pa, u32 len, u32 pm_tmr, u8 x_space, u64 x_pm_tmr, u32 flags)
{
	sdt(pa, "FACP", len);
	w32(pa + 76, pm_tmr);
	w32(pa + 112, flags);
	/* Written even for short tables: a parser reading past the length would see them. */
	w8(pa + 116, 1);
	w64(pa + 120, 0xCF9);
	w8(pa + 128, 6);
	w8(pa + 208, x_space);
	w64(pa + 212, x_pm_tmr);
	seal(pa);
}

#define RSDT_PA 0x100000
#define XSDT_PA 0x100800
#define MADT_PA 0x101000
#define HPET_PA 0x102000
#define FADT_PA 0x103000
#define SSDT_PA 0x104000
#define SPCR_PA 0x105000
#define BIGM_PA 0x110000
#define HI_XSDT HIGH_BASE
#define HI_MADT (HIGH_BASE + 0x1000)
#define TMR_VAL_EXT (1u << 8)
#define RESET_SUP (1u << 10)

static bool parse_rsdt(const u64 *tables, u32 n)
{
	u8 r[36];

	make_root(RSDT_PA, false, tables, n);
	make_rsdp(r, 0, RSDT_PA, 0);
	return acpi_parse(r, 20, fake_map, test_log, &fi);
}

/* A one-CPU MADT, for tests about something else. */
static void simple_madt(u64 pa, u8 apic_id)
{
	madt_begin(pa, 0xFEE00000, 1);
	madt_lapic(0, apic_id, 1);
	madt_end();
}

static void build_full_madt(void)
{
	u8 unknown[6] = { 0x7F, 6 };
	u8 nmi[6] = { 4, 6, 0xFF, 5, 0, 1 };              /* all CPUs, flags 5, LINT1 */
	u8 x2nmi[12] = { 0xA, 12, 0xD, 0, 0x2C, 1, 0, 0, 0 }; /* flags 0xD, uid 300, LINT0 */
	u8 over[12] = { 5, 12 };
	u64 lapic = 0x1FEE00000ull;

	memcpy(over + 4, &lapic, 8);
	madt_begin(MADT_PA, 0xFEE00000, 1);
	madt_lapic(0, 0, 1);
	madt_lapic(1, 2, 1);
	madt_raw(over, 12);            /* override in the middle must still win */
	madt_x2apic(2, 1, 1);          /* same CPU as type 0 APIC ID 2: stored once */
	madt_x2apic(300, 1, 300);
	madt_x2apic(0x10000, 2, 301);  /* online capable, not enabled yet */
	madt_lapic(5, 5, 0);           /* neither: dropped */
	madt_ioapic(8, 0xFEC00000, 0);
	madt_ioapic(9, 0xFEC01000, 24);
	madt_iso(0, 0, 2, 0);
	madt_iso(0, 9, 9, 0xD);
	madt_raw(nmi, 6);
	madt_raw(x2nmi, 12);
	madt_raw(unknown, 6);
	madt_end();
}

static void test_valid_rsdt(void)
{
	u64 t[] = { MADT_PA, SSDT_PA, HPET_PA, FADT_PA };

	reset();
	build_full_madt();
	sdt(SSDT_PA, "SSDT", 40);
	seal(SSDT_PA);
	make_hpet(HPET_PA, 0, 0xFED00000);
	make_fadt(FADT_PA, 276, 0xB008, 1, 0x608, TMR_VAL_EXT | RESET_SUP);
	CHECK(parse_rsdt(t, 4));
	CHECK(fi.have_rsdp && fi.rsdp_rev == 0 && !fi.used_xsdt);
	CHECK_STR(fi.oem_id, "RACEBD");
	CHECK(fi.have_madt && fi.madt_flags == 1);
	CHECK_STR(fi.cpu_source, "madt");
	CHECK(fi.lapic_addr == 0x1FEE00000ull);
	CHECK(fi.ncpus == 4 && fi.ncpus_dropped == 1);
	CHECK(fi.cpus[0].apic_id == 0 && fi.cpus[0].enabled && !fi.cpus[0].x2apic_entry);
	CHECK(fi.cpus[1].apic_id == 2 && fi.cpus[1].uid == 1 && !fi.cpus[1].x2apic_entry);
	CHECK(fi.cpus[2].apic_id == 300 && fi.cpus[2].uid == 300 && fi.cpus[2].x2apic_entry);
	CHECK(fi.cpus[2].enabled && !fi.cpus[2].online_capable);
	CHECK(fi.cpus[3].apic_id == 0x10000 && !fi.cpus[3].enabled && fi.cpus[3].online_capable);
	CHECK(fi.nioapic == 2 && fi.ioapic[1].id == 9 && fi.ioapic[1].addr == 0xFEC01000);
	CHECK(fi.ioapic[1].gsi_base == 24 && fi.ioapic[0].gsi_base == 0);
	CHECK(fi.niso == 2 && fi.iso[0].source == 0 && fi.iso[0].gsi == 2);
	CHECK(fi.iso[1].source == 9 && fi.iso[1].gsi == 9 && fi.iso[1].flags == 0xD);
	CHECK(fi.nnmi == 2 && fi.nmi[0].uid == 0xFFFFFFFFu && fi.nmi[0].flags == 5);
	CHECK(fi.nmi[0].lint == 1);
	CHECK(fi.nmi[1].uid == 300 && fi.nmi[1].flags == 0xD && fi.nmi[1].lint == 0);
	CHECK(fi.have_hpet && fi.hpet_addr == 0xFED00000);
	CHECK(fi.have_pm_timer && fi.pm_timer_port == 0x608 && fi.pm_timer_32bit);
	CHECK(fi.have_reset_reg && fi.reset_space == 1 && fi.reset_addr == 0xCF9);
	CHECK(fi.reset_value == 6);
	CHECK(fi.nwarn == 0 && nlog == 0);
}

static void fadt_only(u32 len, u8 x_space, u64 x_port, u32 flags)
{
	u64 t[] = { MADT_PA, FADT_PA };

	reset();
	simple_madt(MADT_PA, 0);
	make_fadt(FADT_PA, len, 0xB008, x_space, x_port, flags);
	CHECK(parse_rsdt(t, 2));
}

static void test_fadt(void)
{
	/* ACPI 1.0 size: legacy PM timer only; RESET_REG_SUP cannot be honoured. */
	fadt_only(116, 1, 0x608, RESET_SUP);
	CHECK(fi.have_pm_timer && fi.pm_timer_port == 0xB008 && !fi.pm_timer_32bit);
	CHECK(!fi.have_reset_reg && fi.nwarn == 1 && strncmp(last_log, "FADT:", 5) == 0);
	/* Long enough for the reset register but not for X_PM_TMR_BLK. */
	fadt_only(132, 1, 0x608, RESET_SUP | TMR_VAL_EXT);
	CHECK(fi.pm_timer_port == 0xB008 && fi.pm_timer_32bit && fi.have_reset_reg);
	CHECK(fi.nwarn == 0);
	/* X_PM_TMR_BLK in memory space, or zero: fall back to PM_TMR_BLK. */
	fadt_only(276, 0, 0x608, 0);
	CHECK(fi.pm_timer_port == 0xB008 && !fi.have_reset_reg && fi.nwarn == 0);
	fadt_only(276, 1, 0, 0);
	CHECK(fi.pm_timer_port == 0xB008);
	/* No timer at all (hardware-reduced style). */
	reset();
	simple_madt(MADT_PA, 0);
	make_fadt(FADT_PA, 276, 0, 0, 0, 0);
	CHECK(parse_rsdt((u64[]){ MADT_PA, FADT_PA }, 2));
	CHECK(!fi.have_pm_timer && fi.nwarn == 0);
	/* FADT shorter than ACPI 1.0: warned, nothing read. */
	fadt_only(100, 1, 0x608, 0);
	CHECK(!fi.have_pm_timer && fi.nwarn == 1);
}

static void test_hpet(void)
{
	u64 t[] = { MADT_PA, HPET_PA };

	reset();
	simple_madt(MADT_PA, 0);
	make_hpet(HPET_PA, 1, 0xFED00000);  /* I/O space: not usable */
	CHECK(parse_rsdt(t, 2));
	CHECK(!fi.have_hpet && fi.nwarn == 1 && strncmp(last_log, "HPET:", 5) == 0);
}

/* SPCR: a 16550 at an I/O port or in memory (GAS access size: the register stride). */
static void make_spcr(u64 pa, u32 len, u8 iface, u8 space, u8 access, u64 addr)
{
	sdt(pa, "SPCR", len);
	w8(pa + 36, iface);
	w8(pa + 40, space);
	w8(pa + 41, 8);
	w8(pa + 43, access);
	w64(pa + 44, addr);
	seal(pa);
}

static void test_spcr(void)
{
	u64 t[] = { MADT_PA, SPCR_PA };

	reset();
	simple_madt(MADT_PA, 0);
	make_spcr(SPCR_PA, 80, 0, 1, 1, 0x2F8);
	CHECK(parse_rsdt(t, 2));
	CHECK(fi.have_spcr && fi.spcr_space == 1 && fi.spcr_addr == 0x2F8 && fi.spcr_interface == 0);
	CHECK(fi.nwarn == 0);
	reset();
	simple_madt(MADT_PA, 0);
	make_spcr(SPCR_PA, 80, 0x12, 0, 3, 0xFE030000ull);
	CHECK(parse_rsdt(t, 2));
	CHECK(fi.have_spcr && fi.spcr_space == 0 && fi.spcr_access == 3 && fi.spcr_addr == 0xFE030000ull);
	/* unusable: PCI config space, an I/O port above 64 KiB, a truncated table */
	reset();
	simple_madt(MADT_PA, 0);
	make_spcr(SPCR_PA, 80, 0, 2, 1, 0x1000);
	CHECK(parse_rsdt(t, 2));
	CHECK(!fi.have_spcr && fi.nwarn == 1 && strncmp(last_log, "SPCR:", 5) == 0);
	reset();
	simple_madt(MADT_PA, 0);
	make_spcr(SPCR_PA, 80, 0, 1, 1, 0x12345);
	CHECK(parse_rsdt(t, 2));
	CHECK(!fi.have_spcr && fi.nwarn == 1);
	reset();
	simple_madt(MADT_PA, 0);
	make_spcr(SPCR_PA, 48, 0, 1, 1, 0x2F8);
	CHECK(parse_rsdt(t, 2));
	CHECK(!fi.have_spcr && fi.nwarn == 1);
}

/* RSDP v2: RSDT -> MADT with APIC ID 7; XSDT above 4 GiB -> MADT with three CPUs. */
static void build_two_roots(u8 *r, u64 xsdt)
{
	u64 rt[] = { MADT_PA, HPET_PA }, xt[] = { HI_MADT, HPET_PA };

	reset();
	simple_madt(MADT_PA, 7);
	madt_begin(HI_MADT, 0xFEE00000, 0);
	madt_lapic(0, 0, 1);
	madt_lapic(1, 1, 1);
	madt_x2apic(400, 1, 2);
	madt_end();
	make_hpet(HPET_PA, 0, 0xFED00000);
	make_root(RSDT_PA, false, rt, 2);
	make_root(HI_XSDT, true, xt, 2);
	make_rsdp(r, 2, RSDT_PA, xsdt);
}

static void test_xsdt(void)
{
	u8 r[36];

	build_two_roots(r, HI_XSDT);
	CHECK(acpi_parse(r, 36, fake_map, test_log, &fi));
	CHECK(fi.used_xsdt && fi.rsdp_rev == 2 && fi.ncpus == 3 && fi.nwarn == 0);
	CHECK(fi.cpus[2].apic_id == 400 && fi.have_hpet);
	/* Only the 20-byte v1 part given: the RSDT, silently. */
	build_two_roots(r, HI_XSDT);
	CHECK(acpi_parse(r, 20, fake_map, test_log, &fi));
	CHECK(!fi.used_xsdt && fi.ncpus == 1 && fi.cpus[0].apic_id == 7 && fi.nwarn == 0);
	/* XSDT address zero: RSDT, no warning. */
	build_two_roots(r, 0);
	CHECK(acpi_parse(r, 36, fake_map, test_log, &fi));
	CHECK(!fi.used_xsdt && fi.ncpus == 1 && fi.nwarn == 0);
	/* Bad XSDT checksum: warned, RSDT used instead. */
	build_two_roots(r, HI_XSDT);
	P(HI_XSDT)[40] ^= 0x10;
	CHECK(acpi_parse(r, 36, fake_map, test_log, &fi));
	CHECK(!fi.used_xsdt && fi.ncpus == 1 && fi.cpus[0].apic_id == 7 && fi.nwarn == 1);
	CHECK(strncmp(last_log, "XSDT:", 5) == 0);
	/* XSDT pointing at unmapped memory: same fallback. */
	build_two_roots(r, HIGH_BASE + 0x40000000);
	CHECK(acpi_parse(r, 36, fake_map, test_log, &fi));
	CHECK(!fi.used_xsdt && fi.ncpus == 1 && fi.nwarn == 1);
}

static void test_bad_rsdp(void)
{
	u8 r[36];

	build_two_roots(r, HI_XSDT);
	r[9] ^= 1;  /* OEM byte: breaks the v1 (and extended) checksum */
	CHECK(!acpi_parse(r, 36, fake_map, test_log, &fi));
	CHECK(!fi.have_rsdp && !fi.have_madt && fi.ncpus == 0 && fi.nwarn == 1);
	CHECK(strncmp(last_log, "RSDP:", 5) == 0);
	build_two_roots(r, HI_XSDT);
	CHECK(!acpi_parse(r, 19, fake_map, test_log, &fi) && fi.nwarn == 1);
	/* Bad extended checksum only: the v1 part is trusted, the XSDT address is not. */
	build_two_roots(r, HI_XSDT);
	r[33] ^= 1;
	CHECK(acpi_parse(r, 36, fake_map, test_log, &fi));
	CHECK(fi.have_rsdp && !fi.used_xsdt && fi.ncpus == 1 && fi.cpus[0].apic_id == 7);
	CHECK(fi.nwarn == 1 && strncmp(last_log, "RSDP:", 5) == 0);
}

static void test_bad_tables(void)
{
	u64 t[] = { MADT_PA, HPET_PA };

	/* MADT checksum wrong: skipped and warned, the HPET still parsed. */
	reset();
	simple_madt(MADT_PA, 0);
	P(MADT_PA)[44 + 3] = 9;
	make_hpet(HPET_PA, 0, 0xFED00000);
	CHECK(!parse_rsdt(t, 2));
	CHECK(!fi.have_madt && fi.ncpus == 0 && fi.have_hpet && fi.nwarn == 1);
	CHECK(strncmp(last_log, "MADT:", 5) == 0);
	CHECK_STR(fi.cpu_source, "none");
	/* MADT length below the SDT header, and between the SDT and MADT header sizes. */
	reset();
	simple_madt(MADT_PA, 0);
	w32(MADT_PA + 4, 20);
	seal(MADT_PA);
	CHECK(!parse_rsdt(t, 1) && !fi.have_madt && fi.nwarn == 1);
	reset();
	simple_madt(MADT_PA, 0);
	w32(MADT_PA + 4, 40);
	seal(MADT_PA);
	CHECK(!parse_rsdt(t, 1) && !fi.have_madt && fi.nwarn == 1);
	/* Absurd length (2 GiB): rejected before mapping it. */
	reset();
	simple_madt(MADT_PA, 0);
	w32(MADT_PA + 4, 0x80000000u);
	CHECK(!parse_rsdt(t, 1) && fi.nwarn == 1);
	/* A mappable, checksummed MADT of 1 MiB + 64 KiB: over the sanity bound, refused. */
	reset();
	madt_begin(0x200000, 0xFEE00000, 0);
	madt_lapic(0, 9, 1);
	while (madt_len < 0x110000)
		madt_raw((u8[]){ 0x7F, 2 }, 2);
	madt_end();
	CHECK(!parse_rsdt((u64[]){ 0x200000 }, 1) && !fi.have_madt && fi.nwarn == 1);
	CHECK(strstr(last_log, "length") != NULL);
	/* RSDT itself shorter than a header: nothing usable. */
	reset();
	simple_madt(MADT_PA, 0);
	make_root(RSDT_PA, false, t, 1);
	w32(RSDT_PA + 4, 20);
	seal(RSDT_PA);
	{
		u8 r[36];

		make_rsdp(r, 0, RSDT_PA, 0);
		CHECK(!acpi_parse(r, 20, fake_map, test_log, &fi));
	}
	CHECK(fi.have_rsdp && !fi.have_madt && fi.nwarn == 1);
}

static void test_map_null(void)
{
	u64 t[] = { MADT_PA, HPET_PA };

	reset();
	simple_madt(MADT_PA, 0);
	make_hpet(HPET_PA, 0, 0xFED00000);
	hole_pa = MADT_PA;
	hole_len = 1;
	CHECK(!parse_rsdt(t, 2));
	CHECK(!fi.have_madt && fi.have_hpet && fi.nwarn == 1);
	/* Header mapped but not the rest of the table. */
	reset();
	simple_madt(MADT_PA, 0);
	hole_pa = MADT_PA + 50;
	hole_len = 1;
	CHECK(!parse_rsdt(t, 1) && !fi.have_madt && fi.nwarn == 1);
}

static void test_madt_entries(void)
{
	u64 t[] = { MADT_PA };
	u8 zero[2] = { 0x7F, 0 }, short0[6] = { 0, 6, 3, 3, 1 };
	u8 short9[12] = { 9, 12, 0, 0, 4, 0, 0, 0, 1 }, short1[8] = { 1, 8, 4 };

	/* Length 0 entry: parsing ends there (and terminates). */
	reset();
	madt_begin(MADT_PA, 0xFEE00000, 0);
	madt_lapic(0, 0, 1);
	madt_raw(zero, 2);
	madt_lapic(1, 1, 1);
	madt_end();
	CHECK(parse_rsdt(t, 1) && fi.ncpus == 1 && fi.nwarn == 1);
	CHECK(strncmp(last_log, "MADT:", 5) == 0);
	/* Last entry claims 16 bytes but the table ends 8 bytes in. */
	reset();
	madt_begin(MADT_PA, 0xFEE00000, 0);
	madt_lapic(0, 0, 1);
	madt_x2apic(1, 1, 1);
	madt_len -= 8;
	madt_end();
	CHECK(parse_rsdt(t, 1) && fi.ncpus == 1 && fi.nwarn == 1);
	/* One stray byte after the last entry. */
	reset();
	madt_begin(MADT_PA, 0xFEE00000, 0);
	madt_lapic(0, 0, 1);
	madt_raw(zero, 1);
	madt_end();
	CHECK(parse_rsdt(t, 1) && fi.ncpus == 1 && fi.nwarn == 1);
	/* Entries shorter than their type's size: skipped, parsing continues. */
	reset();
	madt_begin(MADT_PA, 0xFEE00000, 0);
	madt_raw(short0, 6);
	madt_raw(short9, 12);
	madt_raw(short1, 8);
	madt_lapic(0, 6, 1);
	madt_end();
	CHECK(parse_rsdt(t, 1) && fi.ncpus == 1 && fi.cpus[0].apic_id == 6);
	CHECK(fi.nioapic == 0 && fi.nwarn == 3);
	/* More overrides than fw_info holds: the first FW_MAX_ISO kept, each extra warned. */
	reset();
	madt_begin(MADT_PA, 0xFEE00000, 0);
	madt_lapic(0, 0, 1);
	for (u32 i = 0; i < FW_MAX_ISO + 2; i++)
		madt_iso(0, (u8)i, i, 0);
	madt_end();
	CHECK(parse_rsdt(t, 1) && fi.niso == FW_MAX_ISO && fi.nwarn == 2);
	CHECK(fi.iso[FW_MAX_ISO - 1].source == FW_MAX_ISO - 1);
	/* A second MADT is ignored with a warning; the first one's CPUs stand. */
	reset();
	simple_madt(MADT_PA, 4);
	simple_madt(HPET_PA, 5);
	CHECK(parse_rsdt((u64[]){ MADT_PA, HPET_PA }, 2) && fi.ncpus == 1);
	CHECK(fi.cpus[0].apic_id == 4 && fi.nwarn == 1);
	/* No usable CPU: MADT seen, but acpi_parse says no. */
	reset();
	madt_begin(MADT_PA, 0xFEE00000, 0);
	madt_lapic(0, 0, 0);
	madt_ioapic(1, 0xFEC00000, 0);
	madt_end();
	CHECK(!parse_rsdt(t, 1) && fi.have_madt && fi.nioapic == 1 && fi.ncpus_dropped == 1);
	CHECK_STR(fi.cpu_source, "none");
	CHECK(fi.nwarn == 1);
}

static void test_max_cpus(void)
{
	u64 t[] = { BIGM_PA };

	reset();
	madt_begin(BIGM_PA, 0xFEE00000, 0);
	madt_lapic(0, 0, 0);
	for (u32 i = 0; i < MAX_CPUS + 5; i++)
		madt_x2apic(1000 + i, 1, i);
	madt_lapic(1, 1, 0);
	madt_end();
	CHECK(parse_rsdt(t, 1));
	CHECK(fi.ncpus == MAX_CPUS && fi.ncpus_dropped == 7 && fi.nwarn == 1);
	CHECK(fi.cpus[MAX_CPUS - 1].apic_id == 1000 + MAX_CPUS - 1);
}

static void put_rsdp(u64 pa)
{
	u8 r[36];

	make_rsdp(r, 2, RSDT_PA, 0);
	memcpy(P(pa), r, 36);
}

static void test_legacy_scan(void)
{
	u64 pa = 0;
	u64 t[] = { MADT_PA };
	const void *r;

	reset();
	CHECK(!acpi_find_rsdp_legacy(fake_map, &pa));
	/* EBDA at segment 0x9FC0; a better-looking one in the BIOS area must lose. */
	w16(0x40E, 0x9FC0);
	put_rsdp(0x9FC20);
	put_rsdp(0xF0000);
	CHECK(acpi_find_rsdp_legacy(fake_map, &pa) && pa == 0x9FC20);
	/* BIOS area: skip a bad checksum and an unaligned copy. */
	reset();
	put_rsdp(0xE0000);
	P(0xE0000)[9] ^= 1;
	put_rsdp(0xE0108);
	put_rsdp(0xF6A40);
	CHECK(acpi_find_rsdp_legacy(fake_map, &pa) && pa == 0xF6A40);
	/* The found pointer feeds acpi_parse. */
	simple_madt(MADT_PA, 3);
	make_root(RSDT_PA, false, t, 1);
	r = fake_map(pa, 36);
	CHECK(r && acpi_parse(r, 36, fake_map, test_log, &fi) && fi.cpus[0].apic_id == 3);
	/* EBDA pointer present but nothing there: still found in the BIOS area. */
	reset();
	w16(0x40E, 0x8000);
	put_rsdp(0xEFFF0);
	CHECK(acpi_find_rsdp_legacy(fake_map, &pa) && pa == 0xEFFF0);
}

/* MP table builders. */
static void put_mpf(u64 pa, u32 table, u8 feature1)
{
	memcpy(P(pa), "_MP_", 4);
	w32(pa + 4, table);
	w8(pa + 8, 1);
	w8(pa + 9, 4);
	w8(pa + 11, feature1);
	fix_sum(P(pa), 16, 10);
}

static u32 mpc_len;
static u16 mpc_count;

static void mpc_entry(u64 pa, const u8 *e, u32 n)
{
	memcpy(P(pa + mpc_len), e, n);
	mpc_len += n;
	mpc_count++;
}

static void mpc_proc(u64 pa, u8 id, u8 flags)
{
	u8 e[20] = { 0, id, 0x14, flags };

	mpc_entry(pa, e, 20);
}

static void mpc_begin(u64 pa, u32 lapic)
{
	mpc_len = 44;
	mpc_count = 0;
	memcpy(P(pa), "PCMP", 4);
	w8(pa + 6, 4);
	w32(pa + 36, lapic);
}

static void mpc_end(u64 pa)
{
	w16(pa + 4, (u16)mpc_len);
	w16(pa + 34, mpc_count);
	fix_sum(P(pa), mpc_len, 7);
}

static void build_mpc(u64 pa, u32 lapic)
{
	u8 bus[8] = { 1, 0, 'I', 'S', 'A', ' ', ' ', ' ' };
	u8 io1[8] = { 2, 4, 0x11, 1 }, io2[8] = { 2, 5, 0x11, 0 };
	u8 irq[8] = { 3, 0, 0, 0, 0, 0, 4, 2 }, lint[8] = { 4, 3, 0, 0, 0, 0, 0xFF, 1 };
	u32 ioa = 0xFEC00000;

	memcpy(io1 + 4, &ioa, 4);
	mpc_begin(pa, lapic);
	mpc_proc(pa, 0, 3);   /* enabled, BSP */
	mpc_proc(pa, 1, 1);
	mpc_proc(pa, 5, 0);   /* disabled */
	mpc_entry(pa, bus, 8);
	mpc_entry(pa, io1, 8);
	mpc_entry(pa, io2, 8);
	mpc_entry(pa, irq, 8);
	mpc_entry(pa, lint, 8);
	mpc_end(pa);
}

static void test_mptable(void)
{
	u8 unk[8] = { 0x80, 0 };

	reset();
	CHECK(!mptable_parse(fake_map, test_log, &fi) && fi.nwarn == 0);
	/* Pointer in the BIOS area. */
	build_mpc(0x9000, 0xFEF00000);
	put_mpf(0xF1230, 0x9000, 0);
	CHECK(mptable_parse(fake_map, test_log, &fi));
	CHECK_STR(fi.cpu_source, "mptable");
	CHECK(fi.lapic_addr == 0xFEF00000 && fi.ncpus == 2 && fi.ncpus_dropped == 1);
	CHECK(fi.cpus[0].apic_id == 0 && fi.cpus[1].apic_id == 1 && fi.cpus[1].uid == 1);
	CHECK(fi.cpus[1].enabled && !fi.cpus[1].x2apic_entry);
	CHECK(fi.nioapic == 1 && fi.ioapic[0].id == 4 && fi.ioapic[0].addr == 0xFEC00000);
	CHECK(fi.nwarn == 0);
	/* EBDA copy wins over the BIOS area one. */
	w16(0x40E, 0x8000);
	build_mpc(0xA000, 0xFEE20000);
	put_mpf(0x80010, 0xA000, 0);
	fw_info_init(&fi);
	CHECK(mptable_parse(fake_map, test_log, &fi) && fi.lapic_addr == 0xFEE20000);
	/* Last KiB of base memory (640 KiB) when the EBDA has none. */
	memset(P(0x80010), 0, 16);
	w16(0x413, 640);
	put_mpf(0x9FFF0, 0xA000, 0);
	fw_info_init(&fi);
	CHECK(mptable_parse(fake_map, test_log, &fi) && fi.lapic_addr == 0xFEE20000);
	/* Bad floating pointer checksum: ignored, the BIOS area one found instead. */
	P(0x9FFF0)[4] ^= 0x40;
	fw_info_init(&fi);
	CHECK(mptable_parse(fake_map, test_log, &fi) && fi.lapic_addr == 0xFEF00000);
	/* Bad checksum everywhere: nothing. */
	P(0xF1230)[4] ^= 0x40;
	fw_info_init(&fi);
	CHECK(!mptable_parse(fake_map, test_log, &fi) && fi.ncpus == 0);
	CHECK_STR(fi.cpu_source, "none");
	/* Bad configuration table checksum: warned. */
	reset();
	build_mpc(0x9000, 0xFEF00000);
	P(0x9000)[44 + 1] = 7;
	put_mpf(0xF1230, 0x9000, 0);
	CHECK(!mptable_parse(fake_map, test_log, &fi) && fi.ncpus == 0 && fi.nwarn == 1);
	CHECK(strncmp(last_log, "MP:", 3) == 0);
	/* Default configuration 5: two CPUs with IDs 0 and 1. */
	reset();
	put_mpf(0xF1230, 0, 5);
	CHECK(mptable_parse(fake_map, test_log, &fi) && fi.nwarn == 1);
	CHECK(fi.ncpus == 2 && fi.cpus[0].apic_id == 0 && fi.cpus[1].apic_id == 1);
	CHECK(fi.lapic_addr == 0xFEE00000 && fi.nioapic == 1 && fi.ioapic[0].addr == 0xFEC00000);
	CHECK_STR(fi.cpu_source, "mptable");
	/* Unknown entry type stops parsing. */
	reset();
	mpc_begin(0x9000, 0xFEE00000);
	mpc_proc(0x9000, 0, 3);
	mpc_entry(0x9000, unk, 8);
	mpc_proc(0x9000, 1, 1);
	mpc_end(0x9000);
	put_mpf(0xF1230, 0x9000, 0);
	CHECK(mptable_parse(fake_map, test_log, &fi) && fi.ncpus == 1 && fi.nwarn == 1);
	/* Fallback after ACPI without a MADT keeps the ACPI timer facts. */
	reset();
	make_hpet(HPET_PA, 0, 0xFED00000);
	CHECK(!parse_rsdt((u64[]){ HPET_PA }, 1) && fi.have_hpet);
	build_mpc(0x9000, 0xFEE00000);
	put_mpf(0xF1230, 0x9000, 0);
	CHECK(mptable_parse(fake_map, test_log, &fi) && fi.have_hpet && fi.ncpus == 2);
}

/* \_S5 in AML: the forms firmware writes, and what is not an S5 package. */
static void test_s5(void)
{
	u8 a = 9, b = 9;
	/* Name (\_S5, Package (0x04) { Zero, Zero, Zero, Zero }) (QEMU, Bochs) */
	static const u8 zeros[] = { 0x10, 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0, 0, 0, 0 };
	CHECK(acpi_find_s5(zeros, sizeof(zeros), &a, &b) && a == 0 && b == 0);
	/* Name (_S5, Package () { 0x07, One }) with BytePrefix and a 2-byte PkgLength */
	static const u8 bytes[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x40, 0x00, 0x02, 0x0a, 0x07, 0x01 };
	CHECK(acpi_find_s5(bytes, sizeof(bytes), &a, &b) && a == 7 && b == 1);
	/* one element: SLP_TYPb 0 */
	static const u8 one[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x01, 0x0a, 0x05 };
	CHECK(acpi_find_s5(one, sizeof(one), &a, &b) && a == 5 && b == 0);
	/* a method named _S5_ (no NameOp), then a string mentioning it: not found */
	static const u8 method[] = { 0x14, 0x05, '_', 'S', '5', '_', 0x00, 0x0d, '_', 'S', '5', '_', 0 };
	CHECK(!acpi_find_s5(method, sizeof(method), &a, &b));
	/* cut short inside the package */
	static const u8 cut[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x02, 0x0a };
	CHECK(!acpi_find_s5(cut, sizeof(cut), &a, &b));
	CHECK(!acpi_find_s5(zeros, 3, &a, &b));
}

static void on_alarm(int sig)
{
	(void)sig;
	fprintf(stderr, "test_acpi: timed out (parser loop?)\n");
	_exit(1);
}

int main(void)
{
	signal(SIGALRM, on_alarm);
	alarm(20);
	test_valid_rsdt();
	test_fadt();
	test_hpet();
	test_spcr();
	test_xsdt();
	test_bad_rsdp();
	test_bad_tables();
	test_map_null();
	test_madt_entries();
	test_max_cpus();
	test_legacy_scan();
	test_mptable();
	test_s5();
	CHECK(bad_log == 0);
	reset();
	free(maps);
	return check_report("acpi");
}
