/*
 * Intel MultiProcessor Specification 1.4 table parser, the fallback when ACPI gives no MADT:
 * finds the MP floating pointer, checks it and the base configuration table, and fills the
 * CPU, I/O APIC and local APIC address fields of struct fw_info. Pure C, host-testable.
 */
#include "arch/x86/acpi.h"
#include "lib/bytes.h"
#include "lib/lib.h"

/* Unaligned little-endian reads at an offset of an already mapped buffer. */
#define rd16(p, off) le16((p) + (off))
#define rd32(p, off) le32((p) + (off))

#define MPF_LEN 16u         /* floating pointer structure: one 16-byte paragraph */
#define MPC_HDR_LEN 44u     /* base configuration table header */
#define MP_DEFAULT_LAPIC 0xFEE00000u
#define MP_DEFAULT_IOAPIC 0xFEC00000u
#define IOAPIC_PINS_GUESS 24u

struct mctx {
	acpi_log_fn log;
	struct fw_info *out;
	u32 nproc;          /* processor entries seen, used as their uid */
	bool warned_max_cpus;
};

#define WARN(c, ...)                            \
	do {                                    \
		(c)->out->nwarn++;              \
		if ((c)->log)                   \
			(c)->log(__VA_ARGS__);  \
	} while (0)



/*
 * Floating pointer layout: "_MP_"@0, config table address@4, length in paragraphs@8 (1),
 * spec revision@9, checksum@10, feature byte 1@11 (non-zero = default configuration number).
 */
static const u8 *scan_mpf(phys_map_fn map, u64 start, u32 len)
{
	const u8 *p = map(start, len);

	if (!p)
		return NULL;
	for (u32 off = 0; off + MPF_LEN <= len; off += 16) {
		const u8 *f = p + off;

		if (memcmp(f, "_MP_", 4) == 0 && f[8] == 1 && sum8(f, MPF_LEN) == 0)
			return f;
	}
	return NULL;
}

/* Search order from the spec: EBDA first KiB, last KiB of base memory, BIOS ROM. */
static const u8 *find_mpf(phys_map_fn map)
{
	const u8 *bda = map(0x40E, 7);  /* EBDA segment at 0x40E, base memory KiB at 0x413 */
	const u8 *f = NULL;
	u64 ebda = bda ? (u64)rd16(bda, 0) << 4 : 0;
	u64 kib = bda ? rd16(bda, 5) : 0;

	if (ebda >= 0x400 && ebda < 0xA0000)
		f = scan_mpf(map, ebda, 1024);
	if (!f && kib >= 2 && kib <= 640)
		f = scan_mpf(map, kib * 1024 - 1024, 1024);
	if (!f)
		f = scan_mpf(map, 0xF0000, 0x10000);
	return f;
}

/* Forgets whatever a rejected MADT may have left, so the two sources never mix. */
static void clear_cpus(struct fw_info *out)
{
	out->cpu_source = "none";
	out->ncpus = out->ncpus_dropped = 0;
	out->nioapic = out->niso = out->nnmi = 0;
}

static void add_cpu(struct mctx *c, u32 apic_id, bool usable)
{
	struct fw_info *out = c->out;
	u32 uid = c->nproc++;

	if (!usable) {
		out->ncpus_dropped++;
		return;
	}
	if (out->ncpus >= MAX_CPUS) {
		out->ncpus_dropped++;
		if (!c->warned_max_cpus)
			WARN(c, "MP: more than %d CPUs, extra entries ignored", MAX_CPUS);
		c->warned_max_cpus = true;
		return;
	}
	out->cpus[out->ncpus++] = (struct fw_cpu){ .apic_id = apic_id, .uid = uid, .enabled = true };
}

static void add_ioapic(struct mctx *c, u32 id, u64 addr)
{
	struct fw_info *out = c->out;

	if (out->nioapic >= FW_MAX_IOAPIC) {
		WARN(c, "MP: too many I/O APICs, id %u ignored", id);
		return;
	}
	/*
	 * The MP table gives no GSI base; assume earlier I/O APICs have 24 inputs each. The
	 * kernel should confirm from each I/O APIC's version register.
	 */
	out->ioapic[out->nioapic] = (struct fw_ioapic){ id, addr, out->nioapic * IOAPIC_PINS_GUESS };
	out->nioapic++;
}

/* Default configurations (spec chapter 5): two CPUs, IDs 0 and 1, I/O APIC ID 2. */
static bool mp_default(struct mctx *c, u8 type)
{
	WARN(c, "MP: default configuration %u, assuming 2 CPUs", type);
	clear_cpus(c->out);
	add_cpu(c, 0, true);
	add_cpu(c, 1, true);
	add_ioapic(c, 2, MP_DEFAULT_IOAPIC);
	c->out->lapic_addr = MP_DEFAULT_LAPIC;
	c->out->cpu_source = "mptable";
	return true;
}

/* Base entry sizes: processor 20 bytes, bus / I/O APIC / I/O int / local int 8 bytes. */
static u32 mp_entry_len(u8 type)
{
	if (type == 0)
		return 20;
	return type <= 4 ? 8 : 0;
}

/*
 * Processor entry: type@0, local APIC ID@1, version@2, flags@3 (bit 0 enabled, bit 1 boot
 * processor). I/O APIC entry: type@0, ID@1, version@2, flags@3 (bit 0 enabled), address@4.
 */
static void mp_entries(struct mctx *c, const u8 *t, u32 len, u32 count)
{
	u32 off = MPC_HDR_LEN;

	for (u32 i = 0; i < count && off < len; i++) {
		const u8 *e = t + off;
		u32 elen = mp_entry_len(e[0]);

		if (!elen) {
			WARN(c, "MP: unknown entry type %u at offset %u, stopping", e[0], off);
			return;
		}
		if (elen > len - off) {
			WARN(c, "MP: entry type %u at offset %u overruns the table", e[0], off);
			return;
		}
		if (e[0] == 0)
			add_cpu(c, e[1], e[3] & 3);  /* the BSP is running, so it is usable */
		else if (e[0] == 2 && (e[3] & 1))
			add_ioapic(c, e[1], rd32(e, 4));
		off += elen;
	}
}

/*
 * Configuration table header: "PCMP"@0, base table length@4, spec revision@6, checksum@7,
 * OEM and product IDs, entry count@34, local APIC address@36, extended table fields@40.
 */
static bool mp_config(struct mctx *c, phys_map_fn map, u64 pa)
{
	const u8 *t = map(pa, MPC_HDR_LEN);
	u32 len;

	if (!t || memcmp(t, "PCMP", 4) != 0) {
		WARN(c, "MP: no configuration table at %#llx", (unsigned long long)pa);
		return false;
	}
	len = rd16(t, 4);
	if (len < MPC_HDR_LEN || !(t = map(pa, len))) {
		WARN(c, "MP: configuration table length %u unusable", len);
		return false;
	}
	if (sum8(t, len) != 0) {
		WARN(c, "MP: configuration table bad checksum");
		return false;
	}
	clear_cpus(c->out);
	c->out->lapic_addr = rd32(t, 36);
	mp_entries(c, t, len, rd16(t, 34));
	if (!c->out->ncpus) {
		WARN(c, "MP: no enabled processor entries");
		return false;
	}
	c->out->cpu_source = "mptable";
	return true;
}

bool mptable_parse(phys_map_fn map, acpi_log_fn log, struct fw_info *out)
{
	struct mctx c = { .log = log, .out = out };
	const u8 *f = find_mpf(map);
	u32 table;

	if (!f)
		return false;
	table = rd32(f, 4);
	if (f[11] != 0)
		return mp_default(&c, f[11]);
	if (table == 0) {
		WARN(&c, "MP: floating pointer has no configuration table");
		return false;
	}
	return mp_config(&c, map, table);
}
