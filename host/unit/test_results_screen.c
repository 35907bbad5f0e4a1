/* Host unit test for kernel/results.c: renders the results page onto a framebuffer through
 * kernel/fbcon.c (malloc'd, 32 bpp) and reads its lines back from the pixels. */
#include <stdint.h>
#include <stdlib.h>

#include "kernel/fbcon.h"
#include "kernel/font.h"
#include "kernel/results.h"
#include "host/unit/check.h"
#include "host/unit/screen_text.h"

static struct fb_info fb;
static u8 *mem;
static char page[16384];

/* VGA text mode (multiboot type 2): 16-bit cells, character in the low byte. */
static void setup_text(u32 cols, u32 rows)
{
	free(mem);
	memset(&fb, 0, sizeof(fb));
	fb.type = 2;
	fb.bpp = 16;
	fb.width = cols;
	fb.height = rows;
	fb.pitch = cols * 2;
	mem = calloc(1, (size_t)fb.pitch * fb.height);
	fb.addr = (u64)(uintptr_t)mem;
	CHECK(fbcon_init(&fb));
}

static void setup(u32 cols, u32 rows)
{
	free(mem);
	memset(&fb, 0, sizeof(fb));
	fb.type = 1;
	fb.bpp = 32;
	fb.width = cols * font_width;
	fb.height = rows * font_height;
	fb.pitch = fb.width * 4;
	fb.red_pos = 16, fb.red_size = 8, fb.green_pos = 8, fb.green_size = 8, fb.blue_size = 8;
	mem = calloc(1, (size_t)fb.pitch * fb.height);
	fb.addr = (u64)(uintptr_t)mem;
	CHECK(fbcon_init(&fb));
}

/* The character a cell shows ('#' when its pixels match no glyph). */
static char cell(u32 r, u32 c)
{
	if (fb.type == 2)
		return (char)mem[(size_t)r * fb.pitch + c * 2];
	for (u32 ch = FONT_FIRST; ch <= FONT_REPLACEMENT; ch++) {
		const u8 *g = font_glyph(ch);
		bool same = true;
		for (u32 y = 0; y < font_height && same; y++)
			for (u32 x = 0; x < font_width && same; x++) {
				const u8 *p = mem + (size_t)(r * font_height + y) * fb.pitch +
					      (size_t)(c * font_width + x) * 4;
				bool on = p[0] | p[1] | p[2];
				same = on == !!(g[y * font_rowbytes + x / 8] & (0x80 >> (x % 8)));
			}
		if (same)
			return (char)ch;
	}
	return '#';
}

/* The text of screen row r, trailing blanks removed. */
static const char *row(u32 r) { return screen_row(r, cell); }

/* The first screen row that starts with prefix, or -1. */
static int find(const char *prefix)
{
	for (u32 r = 0; r < fbcon_rows(); r++)
		if (strncmp(row(r), prefix, strlen(prefix)) == 0)
			return (int)r;
	return -1;
}

static const struct platform plat = {
	.vendor = "GenuineIntel", .brand = "Intel(R)_Xeon(R)_Processor", .family = 6, .model = 0xa7,
	.stepping = 1, .have_microcode = true, .microcode = 0x2b, .hypervisor = "KVMKVMKVM",
	.apic_mode = "x2apic", .cpus_online = 2, .firmware = "bios",
};

static u32 show(u32 cols, u32 rows, u32 pass, u32 fail, u32 skip)
{
	setup(cols, rows);
	struct results_totals t = { pass, fail, skip };
	u32 lines = results_render(page, sizeof(page), cols, rows, &t, &plat);
	fbcon_write("this text must be gone\n", 23);
	fbcon_page(page, strlen(page));
	return lines;
}

static void test_page(void)
{
	results_reset();
	results_note_failure("exceptions", "KVM internal error (emulation failure) at int3");
	results_note_failure("ring3", "crash: #UD in ring 3");
	results_note_deviation("sti_shadow_nmi", "nmi_in_shadow");
	u32 lines = show(100, 37, 30, 2, 9);
	CHECK(lines <= 37);
	CHECK_STR(row(0), "racebed results: FAILED");
	CHECK_STR(row(1), "Totals: pass:30 fail:2 skip:9 total:41");
	int f = find("Failing tests (2):");
	CHECK(f > 0);
	CHECK_STR(row(f + 1), "  exceptions: KVM internal error (emulation failure) at int3");
	CHECK_STR(row(f + 2), "  ring3: crash: #UD in ring 3");
	int d = find("Observations that disagree with the architecture (1):");
	CHECK(d == f + 3);
	CHECK_STR(row(d + 1), "  sti_shadow_nmi.nmi_in_shadow");
	int p = find("Platform:");
	CHECK(p > d);
	CHECK_STR(row(p + 1), "  CPU GenuineIntel family 0x6 model 0xa7 stepping 1, microcode 0x2b");
	CHECK_STR(row(p + 2), "  Intel(R) Xeon(R) Processor");
	CHECK_STR(row(p + 3), "  hypervisor KVMKVMKVM, APIC x2apic, 2 CPUs online, firmware bios");
	CHECK(find("Next:") > p);
	CHECK(find("this text") < 0);
}

static void test_all_passed(void)
{
	results_reset();
	show(80, 25, 5, 0, 1);
	CHECK_STR(row(0), "racebed results: all passed");
	CHECK(find("Failing tests (0): none") == 3);
	CHECK(find("Observations that disagree with the architecture (0): none") == 4);
}

/* Long lists on a small screen: cut with "... and N more", nothing scrolls off the top. */
static void test_small_screen(void)
{
	char name[32];
	results_reset();
	for (u32 i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "exp%u", i);
		results_note_failure(name, "failed");
		results_note_deviation(name, "obs");
	}
	u32 lines = show(40, 25, 1, 40, 0);
	CHECK(lines == 25);
	CHECK_STR(row(0), "racebed results: FAILED");
	int f = find("Failing tests (40):");
	int d = find("Observations that disagree");
	CHECK(f == 3 && d > f);
	CHECK(strncmp(row(d - 1), "  ... and ", 10) == 0);
	CHECK(strstr(row(d - 1), "more") != NULL);
	CHECK_STR(row(f + 1), "  exp0: failed");
	CHECK(find("Next:") > d);
	CHECK(strlen(row(d)) == 40); /* cut at the screen width */
	/* a screen too small for any list still keeps its fixed lines in order */
	lines = show(40, 12, 1, 40, 0);
	CHECK(lines == 12 && find("Next:") < 0 && find("Platform:") > 0);
}

/* The headline observations every page starts with: the sums of their experiments' counts. */
static void note_answers(void)
{
	results_note_observation("sti_shadow_nmi", "nmi_in_shadow", 78209, 79920,
				 ARCH_MODEL_SPECIFIC);
	results_note_observation("sti_shadow_nmi", "irq_before_hlt_without_nmi", 0, 9, ARCH_NEVER);
	results_note_observation("poke_call_flip", "stale_int3_after_sync", 40, 236833, ARCH_NEVER);
	results_note_observation("poke_jmp_nop", "stale_int3_after_sync", 2, 231325, ARCH_NEVER);
	results_note_observation("poke_call_flip", "broken_call", 0, 236833, ARCH_NEVER);
	results_note_observation("poke_strategy_irq", "emulate_broken_call", 5, 10, ARCH_NEVER);
	results_note_observation("movss_shadow_nmi", "event_in_movss_shadow", 841, 3561,
				 ARCH_NEVER);
}

static void test_answers(void)
{
	results_reset();
	note_answers();
	show(100, 37, 30, 0, 0);
	int a = find("Answers (hits/trials on this machine; what the architecture says):");
	CHECK(a == 3);
	CHECK_STR(row(a + 1),
		  "  NMI inside the STI shadow: Sometimes 78209/79920 (architecture: model-specific)");
	CHECK_STR(row(a + 2), "  NMI inside the MOV SS shadow: Sometimes 841/3561 (architecture: never)");
	CHECK_STR(row(a + 3),
		  "  Stale int3 run after a poke's sync: Sometimes 42/468158 (architecture: never)");
	CHECK_STR(row(a + 4), "  Broken call while poking: Never 0/236833 (architecture: never)");
	CHECK(find("Failing tests (0): none") == a + 5);
	/* two verdicts for one headline: mixed, not the last one's */
	results_note_observation("poke_batch", "broken_call", 0, 7, ARCH_CONTROL);
	show(100, 37, 30, 0, 0);
	CHECK_STR(row(a + 4), "  Broken call while poking: Never 0/236840 (architecture: mixed)");
	/* nothing that matches: no answers block, the page as before */
	results_reset();
	results_note_observation("timer", "late", 1, 2, ARCH_ALLOWED);
	show(100, 37, 30, 0, 0);
	CHECK(find("Answers") < 0 && find("Failing tests (0): none") == 3);
}

/* VGA text mode, 80x25, every headline and long lists: a compact page, nothing beyond 80. */
static void test_text_mode_80x25(void)
{
	char name[32];
	results_reset();
	const char *exps[] = { "sti_shadow_nmi", "sti_single_step", "movss_db_next",
			       "movss_shadow_irq", "poke_x" };
	const char *obs[] = { "irq_before_hlt_after_nmi", "db_held_by_sti_shadow",
			      "mk_int3_db_in_handler", "event_in_movss_shadow",
			      "stale_int3_after_sync" };
	note_answers();
	for (u32 i = 0; i < 5; i++)
		results_note_observation(exps[i], obs[i], 1234567, 7654321, ARCH_MODEL_SPECIFIC);
	for (u32 i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "exp%u", i);
		results_note_failure(name, "a reason long enough to reach past the eightieth column of "
					   "the screen, which it must not");
		results_note_deviation(name, "obs");
	}
	setup_text(80, 25);
	struct results_totals t = { 1, 10, 0 };
	u32 lines = results_render(page, sizeof(page), 80, 25, &t, &plat);
	fbcon_page(page, strlen(page));
	CHECK(lines == 25);
	CHECK_STR(row(0), "racebed results: FAILED");
	CHECK(find("Answers") == 2); /* compact: no blank line */
	CHECK_STR(row(3), "  NMI inside the STI shadow: Sometimes 78209/79920 (arch: model-specific)");
	CHECK(find("  IRQ after the NMI's IRET, before HLT: Sometimes 1234567/7654321") == 4);
	CHECK(find("  Broken call while poking: Never 0/236833 (architecture: never)") == 10);
	int f = find("Failing tests (10):"), d = find("Observations that disagree");
	CHECK(f == 11 && d > f + 1 && find("Platform:") == 21);
	CHECK(strstr(row(d - 1), "more") != NULL);
	for (u32 r = 0; r < 25; r++)
		CHECK(strlen(row(r)) <= 80);
}

int main(void)
{
	test_answers();
	test_text_mode_80x25();
	test_page();
	test_all_passed();
	test_small_screen();
	free(mem);
	return check_report("results_screen");
}
