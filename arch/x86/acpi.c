/*
 * ACPI table parsing: RSDP (legacy scan and checks), RSDT/XSDT walk, MADT (CPUs, I/O APICs,
 * overrides, NMIs), HPET, FADT (PM timer, reset register) and SPCR (serial console). Pure C, no hardware access:
 * every physical byte is reached through the caller's map callback, so the same code runs in
 * the kernel and in the host unit test.
 */
#include "arch/x86/acpi.h"
#include "lib/bytes.h"
#include "lib/lib.h"

#define SDT_HDR_LEN 36u              /* signature, length, revision, checksum, OEM fields */
#define SDT_MAX_LEN (1024u * 1024u)  /* anything larger is treated as corrupt */
#define RSDP_V1_LEN 20u              /* the part covered by the first checksum */
#define RSDP_V2_LEN 36u
#define MADT_HDR_LEN 44u             /* SDT header + local APIC address + flags */
#define DEFAULT_LAPIC 0xFEE00000u

struct actx {
	phys_map_fn map;
	acpi_log_fn log;
	struct fw_info *out;
	bool warned_max_cpus;
	bool seen_fadt;
};

#define WARN(c, ...)                            \
	do {                                    \
		(c)->out->nwarn++;              \
		if ((c)->log)                   \
			(c)->log(__VA_ARGS__);  \
	} while (0)

/* Unaligned little-endian reads at an offset of an already mapped buffer. */
#define rd8(p, off) ((p)[off])
#define rd16(p, off) le16((p) + (off))
#define rd32(p, off) le32((p) + (off))
#define rd64(p, off) le64((p) + (off))


void fw_info_init(struct fw_info *out)
{
	memset(out, 0, sizeof(*out));
	out->lapic_addr = DEFAULT_LAPIC;
	out->cpu_source = "none";
}

static bool rsdp_ok(const u8 *p)
{
	return memcmp(p, "RSD PTR ", 8) == 0 && sum8(p, RSDP_V1_LEN) == 0;
}

/* The RSDP sits on a 16-byte boundary; only the first 20 bytes are checked here. */
static bool scan_rsdp(phys_map_fn map, u64 start, u32 len, u64 *rsdp_pa)
{
	const u8 *p = map(start, len);

	if (!p)
		return false;
	for (u32 off = 0; off + RSDP_V1_LEN <= len; off += 16) {
		if (rsdp_ok(p + off)) {
			*rsdp_pa = start + off;
			return true;
		}
	}
	return false;
}

bool acpi_find_rsdp_legacy(phys_map_fn map, u64 *rsdp_pa)
{
	/* The BIOS data area word at 0x40E holds the EBDA real-mode segment. */
	const u8 *bda = map(0x40E, 2);
	u64 ebda = bda ? (u64)rd16(bda, 0) << 4 : 0;

	if (ebda >= 0x400 && ebda < 0xA0000 && scan_rsdp(map, ebda, 1024, rsdp_pa))
		return true;
	return scan_rsdp(map, 0xE0000, 0x20000, rsdp_pa);
}

/*
 * Maps a whole SDT after checking its header: signature (when sig is non-NULL), a length
 * between the header size and SDT_MAX_LEN, and a zero byte sum. Returns NULL (warned) if bad.
 */
static const u8 *map_sdt(struct actx *c, u64 pa, const char *sig, u32 *len_out)
{
	const u8 *h = c->map(pa, SDT_HDR_LEN);
	unsigned long long a = pa;
	char sig4[5] = { 0 };
	const char *name;
	u32 len;

	if (!h) {
		WARN(c, "%s: table at %#llx is not mapped", sig ? sig : "ACPI", a);
		return NULL;
	}
	if (sig && memcmp(h, sig, 4) != 0) {
		WARN(c, "%s: bad signature at %#llx", sig, a);
		return NULL;
	}
	/* Log prefix: the table's common name where it differs from its signature. */
	memcpy(sig4, h, 4);
	name = !strcmp(sig4, "APIC") ? "MADT" : !strcmp(sig4, "FACP") ? "FADT" : sig4;
	len = rd32(h, 4);
	if (len < SDT_HDR_LEN || len > SDT_MAX_LEN) {
		WARN(c, "%s: bad length %u at %#llx", name, len, a);
		return NULL;
	}
	h = c->map(pa, len);
	if (!h) {
		WARN(c, "%s: %u bytes at %#llx not mapped", name, len, a);
		return NULL;
	}
	if (sum8(h, len) != 0) {
		WARN(c, "%s: bad checksum at %#llx, table ignored", name, a);
		return NULL;
	}
	*len_out = len;
	return h;
}

/* MADT processor flags: bit 0 enabled, bit 1 online capable (may be hot-added later). */
static void add_cpu(struct actx *c, u32 apic_id, u32 uid, u32 flags, bool x2)
{
	struct fw_info *out = c->out;
	struct fw_cpu *cpu;

	/* Firmware may list one CPU as both type 0 and type 9: keep the first entry. */
	for (u32 i = 0; i < out->ncpus; i++)
		if (out->cpus[i].apic_id == apic_id)
			return;
	if (!(flags & 3)) {
		out->ncpus_dropped++;
		return;
	}
	if (out->ncpus >= MAX_CPUS) {
		out->ncpus_dropped++;
		if (!c->warned_max_cpus)
			WARN(c, "MADT: more than %d CPUs, extra entries ignored", MAX_CPUS);
		c->warned_max_cpus = true;
		return;
	}
	cpu = &out->cpus[out->ncpus++];
	cpu->apic_id = apic_id;
	cpu->uid = uid;
	cpu->enabled = flags & 1;
	/* The spec reserves the online-capable bit when the enabled bit is set. */
	cpu->online_capable = !cpu->enabled && (flags & 2);
	cpu->x2apic_entry = x2;
}

/* True when an array holding n of max items has room; otherwise warns and says no. */
static bool room(struct actx *c, u32 n, u32 max, const char *what)
{
	if (n < max)
		return true;
	WARN(c, "MADT: more than %u %s entries, extra ignored", max, what);
	return false;
}

/* Minimum size of each MADT entry type this parser reads; 0 = not interpreted. */
static u8 madt_entry_min(u8 type)
{
	static const u8 min[] = { [0] = 8, [1] = 12, [2] = 10, [4] = 6, [5] = 12,
				  [9] = 16, [0xA] = 12 };

	return type < sizeof(min) ? min[type] : 0;
}

/*
 * MADT entry layouts (ACPI "Multiple APIC Description Table" section), offsets from the
 * entry's type byte: type 0 uid@2 id@3 flags@4; type 1 id@2 addr@4 gsi@8; type 2 bus@2
 * source@3 gsi@4 flags@8; type 4 uid@2 (0xFF = all) flags@3 lint@5; type 5 addr64@4;
 * type 9 x2apic id@4 flags@8 uid@12; type 0xA flags@2 uid@4 (~0 = all) lint@8.
 */
static void madt_entry(struct actx *c, const u8 *e, u64 *lapic)
{
	struct fw_info *out = c->out;

	switch (e[0]) {
	case 0:
		add_cpu(c, rd8(e, 3), rd8(e, 2), rd32(e, 4), false);
		break;
	case 1:
		if (room(c, out->nioapic, FW_MAX_IOAPIC, "I/O APIC"))
			out->ioapic[out->nioapic++] =
				(struct fw_ioapic){ rd8(e, 2), rd32(e, 4), rd32(e, 8) };
		break;
	case 2:
		if (room(c, out->niso, FW_MAX_ISO, "override"))
			out->iso[out->niso++] =
				(struct fw_iso){ rd8(e, 2), rd8(e, 3), rd32(e, 4), rd16(e, 8) };
		break;
	case 4:
		if (room(c, out->nnmi, FW_MAX_NMI, "NMI"))
			out->nmi[out->nnmi++] = (struct fw_lapic_nmi){
				rd8(e, 2) == 0xFF ? 0xFFFFFFFFu : rd8(e, 2), rd16(e, 3), rd8(e, 5) };
		break;
	case 5:
		*lapic = rd64(e, 4);
		break;
	case 9:
		add_cpu(c, rd32(e, 4), rd32(e, 12), rd32(e, 8), true);
		break;
	case 0xA:
		if (room(c, out->nnmi, FW_MAX_NMI, "NMI"))
			out->nmi[out->nnmi++] =
				(struct fw_lapic_nmi){ rd32(e, 4), rd16(e, 2), rd8(e, 8) };
		break;
	}
}

static void parse_madt(struct actx *c, const u8 *t, u32 len)
{
	struct fw_info *out = c->out;
	u64 lapic;
	u32 off;

	if (len < MADT_HDR_LEN) {
		WARN(c, "MADT: length %u too short", len);
		return;
	}
	out->have_madt = true;
	lapic = rd32(t, 36);
	out->madt_flags = rd32(t, 40);
	/* Entries are {type, length, body}; the length byte covers the two header bytes. */
	for (off = MADT_HDR_LEN; off < len;) {
		u8 type = t[off], elen = off + 2 <= len ? t[off + 1] : 0;

		if (elen < 2 || elen > len - off) {
			WARN(c, "MADT: entry type %u at offset %u has bad length %u, stopping",
			     type, off, elen);
			break;
		}
		if (elen < madt_entry_min(type))
			WARN(c, "MADT: entry type %u at offset %u too short (%u bytes), skipped",
			     type, off, elen);
		else
			madt_entry(c, t + off, &lapic);
		off += elen;
	}
	/* A type 5 override wins wherever it appears in the table. */
	out->lapic_addr = lapic;
	if (out->ncpus)
		out->cpu_source = "madt";
	else
		WARN(c, "MADT: no usable processor entries");
}

/* Generic Address Structure: space id@0, bit width@1, bit offset@2, access size@3, addr@4. */
static void parse_hpet(struct actx *c, const u8 *t, u32 len)
{
	if (len < 52) {
		WARN(c, "HPET: length %u too short", len);
		return;
	}
	if (rd8(t, 40) != 0 || rd64(t, 44) == 0) {
		WARN(c, "HPET: base address not in memory space (space %u, addr %#llx)",
		     rd8(t, 40), (unsigned long long)rd64(t, 44));
		return;
	}
	c->out->have_hpet = true;
	c->out->hpet_addr = rd64(t, 44);
}

/* FADT offsets (ACPI "Fixed ACPI Description Table" section); the 1.0 table ends at 116. */
#define FADT_PM_TMR_BLK 76
#define FADT_FLAGS 112
#define FADT_V1_LEN 116
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_X_PM_TMR_BLK 208
#define FADT_DSDT 40
#define FADT_SMI_CMD 48
#define FADT_ACPI_ENABLE 52
#define FADT_PM1A_CNT_BLK 64
#define FADT_PM1B_CNT_BLK 68
#define FADT_X_DSDT 140
#define FADT_X_PM1A_CNT_BLK 172
#define FADT_X_PM1B_CNT_BLK 184
#define FADT_F_TMR_VAL_EXT (1u << 8)
#define FADT_F_RESET_REG_SUP (1u << 10)

static void fadt_reset(struct actx *c, const u8 *t, u32 len)
{
	struct fw_info *out = c->out;
	u8 space;
	u64 addr;

	if (len <= FADT_RESET_VALUE) {
		WARN(c, "FADT: RESET_REG_SUP set but table too short (%u)", len);
		return;
	}
	space = rd8(t, FADT_RESET_REG);
	addr = rd64(t, FADT_RESET_REG + 4);
	if (space > 1 || addr == 0) {
		WARN(c, "FADT: unusable reset register (space %u, addr %#llx)", space,
		     (unsigned long long)addr);
		return;
	}
	out->have_reset_reg = true;
	out->reset_space = space;
	out->reset_addr = addr;
	out->reset_value = rd8(t, FADT_RESET_VALUE);
}

/* AML data objects an integer package element may be (ACPI "Data Objects Encoding"). */
static bool aml_integer(const u8 *p, const u8 *end, u64 *v, u32 *used)
{
	if (p >= end)
		return false;
	switch (p[0]) {
	case 0x00: *v = 0; *used = 1; return true;           /* ZeroOp */
	case 0x01: *v = 1; *used = 1; return true;           /* OneOp */
	case 0xff: *v = ~0ull; *used = 1; return true;       /* OnesOp */
	case 0x0a: if (end - p < 2) return false;            /* BytePrefix */
		*v = p[1]; *used = 2; return true;
	case 0x0b: if (end - p < 3) return false;            /* WordPrefix */
		*v = le16(p + 1); *used = 3; return true;
	case 0x0c: if (end - p < 5) return false;            /* DWordPrefix */
		*v = le32(p + 1); *used = 5; return true;
	default: return false;
	}
}

bool acpi_find_s5(const u8 *aml, u32 len, u8 *typa, u8 *typb)
{
	const u8 *end = aml + len;

	for (u32 i = 1; i + 4 <= len; i++) {
		if (memcmp(aml + i, "_S5_", 4) != 0)
			continue;
		/* NameOp, optionally the root prefix, then the name */
		bool named = aml[i - 1] == 0x08 || (aml[i - 1] == '\\' && i >= 2 && aml[i - 2] == 0x08);
		const u8 *p = aml + i + 4;
		if (!named || p >= end || *p != 0x12) /* PackageOp */
			continue;
		p++;
		if (p >= end)
			return false;
		u32 follow = *p >> 6; /* PkgLength: the lead byte says how many bytes follow */
		p += 1 + follow;
		if (p >= end)
			return false;
		u32 count = *p++;
		u64 a, b = 0;
		u32 used;
		if (count < 1 || !aml_integer(p, end, &a, &used))
			return false;
		p += used;
		if (count >= 2 && !aml_integer(p, end, &b, &used))
			return false;
		*typa = (u8)(a & 7);
		*typb = (u8)(b & 7);
		return true;
	}
	return false;
}

/* The PM1x control block: the I/O port of the 64-bit GAS form when it is one, else the 32-bit field. */
static u16 fadt_pm1_cnt(const u8 *t, u32 len, u32 legacy, u32 gas)
{
	if (len >= gas + 12 && rd8(t, gas) == 1 && rd64(t, gas + 4) && rd64(t, gas + 4) <= 0xFFFF)
		return (u16)rd64(t, gas + 4);
	u32 port = rd32(t, legacy);
	return port <= 0xFFFF ? (u16)port : 0;
}

/* exit=poweroff: PM1 control blocks from the FADT, SLP_TYP values from the DSDT's \_S5. */
static void fadt_s5(struct actx *c, const u8 *t, u32 len)
{
	struct fw_info *out = c->out;
	u64 dsdt = rd32(t, FADT_DSDT);
	u32 dlen;
	const u8 *d;

	out->pm1a_cnt = fadt_pm1_cnt(t, len, FADT_PM1A_CNT_BLK, FADT_X_PM1A_CNT_BLK);
	out->pm1b_cnt = fadt_pm1_cnt(t, len, FADT_PM1B_CNT_BLK, FADT_X_PM1B_CNT_BLK);
	if (rd32(t, FADT_SMI_CMD) <= 0xFFFF) {
		out->smi_cmd = (u16)rd32(t, FADT_SMI_CMD);
		out->acpi_enable = rd8(t, FADT_ACPI_ENABLE);
	}
	if (len >= FADT_X_DSDT + 8 && rd64(t, FADT_X_DSDT))
		dsdt = rd64(t, FADT_X_DSDT);
	if (!out->pm1a_cnt || !dsdt)
		return; /* no S5 without them; said where exit=poweroff is asked for */
	d = map_sdt(c, dsdt, "DSDT", &dlen);
	if (!d)
		return;
	if (acpi_find_s5(d + SDT_HDR_LEN, dlen - SDT_HDR_LEN, &out->slp_typa, &out->slp_typb))
		out->have_s5 = true;
}

static void parse_fadt(struct actx *c, const u8 *t, u32 len)
{
	struct fw_info *out = c->out;
	u64 port = 0;
	u32 flags;

	if (len < FADT_V1_LEN) {
		WARN(c, "FADT: length %u shorter than ACPI 1.0 size", len);
		return;
	}
	flags = rd32(t, FADT_FLAGS);
	/* The 64-bit GAS form is only present in ACPI 2.0+ tables long enough to hold it. */
	if (len >= FADT_X_PM_TMR_BLK + 12 && rd8(t, FADT_X_PM_TMR_BLK) == 1)
		port = rd64(t, FADT_X_PM_TMR_BLK + 4);
	if (port == 0 || port > 0xFFFF)
		port = rd32(t, FADT_PM_TMR_BLK);
	if (port != 0 && port <= 0xFFFF) {
		out->have_pm_timer = true;
		out->pm_timer_port = (u32)port;
		out->pm_timer_32bit = flags & FADT_F_TMR_VAL_EXT;
	}
	if (flags & FADT_F_RESET_REG_SUP)
		fadt_reset(c, t, len);
	fadt_s5(c, t, len);
}

/* SPCR: interface type@36, base address GAS@40 (space, width, offset, access size, address). */
#define SPCR_MIN_LEN 52
static void parse_spcr(struct actx *c, const u8 *t, u32 len)
{
	struct fw_info *out = c->out;

	if (len < SPCR_MIN_LEN) {
		WARN(c, "SPCR: length %u too short", len);
		return;
	}
	out->spcr_interface = rd8(t, 36);
	out->spcr_space = rd8(t, 40);
	out->spcr_access = rd8(t, 43);
	out->spcr_addr = rd64(t, 44);
	if (out->spcr_space > 1 || out->spcr_addr == 0 || (out->spcr_space == 1 && out->spcr_addr > 0xFFFF)) {
		WARN(c, "SPCR: unusable base address (space %u, addr %#llx)", out->spcr_space,
		     (unsigned long long)out->spcr_addr);
		return;
	}
	out->have_spcr = true;
}

static void parse_table(struct actx *c, u64 pa)
{
	u32 len;
	const u8 *t = map_sdt(c, pa, NULL, &len);

	if (!t)
		return;
	if (memcmp(t, "APIC", 4) == 0) {
		if (c->out->have_madt)
			WARN(c, "MADT: second MADT at %#llx ignored", (unsigned long long)pa);
		else
			parse_madt(c, t, len);
	} else if (memcmp(t, "HPET", 4) == 0) {
		if (!c->out->have_hpet)
			parse_hpet(c, t, len);
	} else if (memcmp(t, "SPCR", 4) == 0) {
		if (!c->out->have_spcr)
			parse_spcr(c, t, len);
	} else if (memcmp(t, "FACP", 4) == 0) {
		if (!c->seen_fadt)
			parse_fadt(c, t, len);
		c->seen_fadt = true;
	}
}

/* Walks an RSDT (4-byte pointers) or XSDT (8-byte pointers). False if the root is bad. */
static bool walk_root(struct actx *c, u64 pa, bool xsdt)
{
	u32 esz = xsdt ? 8 : 4, len, n;
	const char *sig = xsdt ? "XSDT" : "RSDT";

	if (!map_sdt(c, pa, sig, &len))
		return false;
	if ((len - SDT_HDR_LEN) % esz)
		WARN(c, "%s: length %u is not a whole number of entries", sig, len);
	n = (len - SDT_HDR_LEN) / esz;
	for (u32 i = 0; i < n; i++) {
		/* Re-map each slot: parsing a table may reuse the caller's mapping window. */
		const u8 *e = c->map(pa + SDT_HDR_LEN + (u64)i * esz, esz);

		if (!e) {
			WARN(c, "%s: entry %u not mapped", sig, i);
			continue;
		}
		parse_table(c, xsdt ? rd64(e, 0) : rd32(e, 0));
	}
	return true;
}

/* Checks the ACPI 2.0 part of the RSDP; returns the XSDT address or 0 if unusable. */
static u64 rsdp_xsdt(struct actx *c, const u8 *r, u32 rsdp_len)
{
	u32 len;

	/* A 20-byte copy (e.g. GRUB's "old RSDP" tag) of a v2 RSDP: the RSDT is all we have. */
	if (rd8(r, 15) < 2 || rsdp_len < RSDP_V2_LEN)
		return 0;
	len = rd32(r, 20);
	if (len < RSDP_V2_LEN || len > rsdp_len) {
		WARN(c, "RSDP: revision %u but length %u unusable", rd8(r, 15), len);
		return 0;
	}
	if (sum8(r, len) != 0) {
		WARN(c, "RSDP: bad extended checksum, using the RSDT");
		return 0;
	}
	return rd64(r, 24);
}

bool acpi_parse(const void *rsdp, u32 rsdp_len, phys_map_fn map, acpi_log_fn log,
		struct fw_info *out)
{
	struct actx c = { .map = map, .log = log, .out = out };
	const u8 *r = rsdp;
	u64 xsdt, rsdt;

	if (!r || rsdp_len < RSDP_V1_LEN || !rsdp_ok(r)) {
		WARN(&c, "RSDP: missing, short or bad checksum");
		return false;
	}
	out->have_rsdp = true;
	out->rsdp_rev = rd8(r, 15);
	memcpy(out->oem_id, r + 9, 6);
	out->oem_id[6] = 0;
	xsdt = rsdp_xsdt(&c, r, rsdp_len);
	rsdt = rd32(r, 16);
	if (xsdt && walk_root(&c, xsdt, true)) {
		out->used_xsdt = true;
	} else if (!rsdt) {
		WARN(&c, "RSDP: no usable root table");
		return false;
	} else if (!walk_root(&c, rsdt, false)) {
		return false;
	}
	return out->have_madt && out->ncpus > 0;
}
