/* Host unit test for kernel/cmdline.c and kernel/glob.c: keys, defaults, errors, globs. */
#include <stdint.h>
#include <stdlib.h>
#include "host/unit/check.h"
#include "kernel/cmdline.h"
#include "lib/glob.h"

static struct cmdline cl;
static char err[128];

static int parse(const char *s)
{
	memset(&cl, 0xa5, sizeof(cl)); /* parse must set every field */
	memset(err, 'Z', sizeof(err));
	return cmdline_parse(s, &cl, err, sizeof(err));
}

/* Expects s to fail with exactly the message want. */
#define BAD(s, want)                          \
	do {                                  \
		CHECK(parse(s) == -1);        \
		CHECK_STR(err, want);         \
	} while (0)

static void check_defaults(void)
{
	CHECK_STR(cl.tests, "");
	CHECK_STR(cl.skip, "");
	CHECK(cl.iterations == 0);
	CHECK(cl.seed == 1);
	CHECK(cl.timeout_s == 0);
	CHECK(cl.cpus == 0);
	CHECK(cl.apic == APIC_AUTO);
	CHECK(cl.console == CONSOLE_BOTH);
	CHECK(cl.exit == EXIT_AUTO);
	CHECK(!cl.nosmp && !cl.list && !cl.bench);
	CHECK(cl.poke == 0);
}

static void test_defaults(void)
{
	CHECK(parse("") == 0);
	CHECK_STR(err, "");
	check_defaults();
	CHECK(parse("   \t  ") == 0);
	check_defaults();
}

static void test_all_keys(void)
{
	CHECK(parse("tests=ipi*,tlb_[ab] skip=tlb_b iterations=1000 seed=0xDEADbeef timeout=30 "
		    "cpus=4 apic=x2apic nosmp console=serial list bench exit=qemu") == 0);
	CHECK_STR(err, "");
	CHECK_STR(cl.tests, "ipi*,tlb_[ab]");
	CHECK_STR(cl.skip, "tlb_b");
	CHECK(cl.iterations == 1000);
	CHECK(cl.seed == 0xdeadbeef);
	CHECK(cl.timeout_s == 30);
	CHECK(cl.cpus == 4);
	CHECK(cl.apic == APIC_FORCE_X2APIC);
	CHECK(cl.console == CONSOLE_SERIAL);
	CHECK(cl.exit == EXIT_QEMU);
	CHECK(cl.nosmp && cl.list && cl.bench);
}

static void test_enums(void)
{
	CHECK(parse("apic=xapic") == 0 && cl.apic == APIC_FORCE_XAPIC);
	CHECK(parse("apic=auto") == 0 && cl.apic == APIC_AUTO);
	CHECK(parse("clock=pit") == 0 && cl.clock == CLOCK_PIT);
	CHECK(parse("clock=hpet") == 0 && cl.clock == CLOCK_HPET);
	CHECK(parse("") == 0 && cl.clock == CLOCK_AUTO);
	CHECK(parse("console=fb") == 0 && cl.console == CONSOLE_FB);
	CHECK(parse("console=both") == 0 && cl.console == CONSOLE_BOTH);
	CHECK(parse("exit=halt") == 0 && cl.exit == EXIT_HALT);
	CHECK(parse("exit=reboot") == 0 && cl.exit == EXIT_REBOOT);
	CHECK(parse("exit=poweroff") == 0 && cl.exit == EXIT_POWEROFF);
}

static void test_poke(void)
{
	CHECK(parse("poke=emulate") == 0 && cl.poke == CMDLINE_POKE_EMULATE);
	CHECK(parse("poke=rollback") == 0 && cl.poke == CMDLINE_POKE_ROLLBACK);
	CHECK(parse("poke=spin") == 0 && cl.poke == CMDLINE_POKE_SPIN);
	CHECK(parse("poke=spin,emulate") == 0 &&
	      cl.poke == (CMDLINE_POKE_SPIN | CMDLINE_POKE_EMULATE));
	CHECK(cmdline_active() == &cl);
	BAD("poke=", "'poke=' wants emulate, rollback or spin (comma-separated), got ''");
	BAD("poke=fast", "'poke=' wants emulate, rollback or spin (comma-separated), got 'fast'");
	BAD("poke=emulate,", "'poke=' wants emulate, rollback or spin (comma-separated), got 'emulate,'");
	BAD("poke=,spin", "'poke=' wants emulate, rollback or spin (comma-separated), got ',spin'");
	BAD("poke=emulatex", "'poke=' wants emulate, rollback or spin (comma-separated), got 'emulatex'");
}

static void test_numbers_and_spacing(void)
{
	CHECK(parse("\t seed=0  \t iterations=0x0\t") == 0);
	CHECK(cl.seed == 0 && cl.iterations == 0);
	CHECK(parse("seed=18446744073709551615") == 0 && cl.seed == UINT64_MAX);
	CHECK(parse("seed=0xffffffffffffffff") == 0 && cl.seed == UINT64_MAX);
	CHECK(parse("iterations=0X10") == 0 && cl.iterations == 16);
	CHECK(parse("timeout=4294967295 cpus=0xffffffff") == 0);
	CHECK(cl.timeout_s == UINT32_MAX && cl.cpus == UINT32_MAX);
	CHECK(parse("seed=5 seed=7") == 0 && cl.seed == 7); /* last wins */
	CHECK(parse("tests=a tests=") == 0 && cl.tests[0] == '\0');
	CHECK(parse("exit=qemu exit=halt") == 0 && cl.exit == EXIT_HALT);
}

static void test_string_lengths(void)
{
	char line[300];

	memcpy(line, "skip=", 5);
	memset(line + 5, 'x', 255);
	line[260] = '\0';
	CHECK(parse(line) == 0 && strlen(cl.skip) == 255);
	line[260] = 'x';
	line[261] = '\0';
	BAD(line, "value too long for 'skip='");
	memcpy(line, "tests=", 6);
	memset(line + 6, 'y', 256);
	line[262] = '\0';
	BAD(line, "value too long for 'tests='");
	line[261] = '\0';
	CHECK(parse(line) == 0 && strlen(cl.tests) == 255);
}

static void test_errors(void)
{
	BAD("foo", "unknown key 'foo'");
	BAD("seed=1 foo=bar", "unknown key 'foo'");
	BAD("=5", "unknown key ''");
	BAD("SEED=1", "unknown key 'SEED'");
	BAD("iterations=12x", "malformed number 'iterations=12x'");
	BAD("iterations=", "malformed number 'iterations='");
	BAD("seed=0x", "malformed number 'seed=0x'");
	BAD("seed=-1", "malformed number 'seed=-1'");
	BAD("seed=+1", "malformed number 'seed=+1'");
	BAD("seed=0xfg", "malformed number 'seed=0xfg'");
	BAD("seed=99999999999999999999999", "number out of range 'seed=99999999999999999999999'");
	BAD("seed=18446744073709551616", "number out of range 'seed=18446744073709551616'");
	BAD("seed=0x10000000000000000", "number out of range 'seed=0x10000000000000000'");
	BAD("timeout=4294967296", "number out of range 'timeout=4294967296'");
	BAD("cpus=0x100000000", "number out of range 'cpus=0x100000000'");
	BAD("apic=foo", "'apic=' wants auto, xapic or x2apic, got 'foo'");
	BAD("apic=", "'apic=' wants auto, xapic or x2apic, got ''");
	BAD("clock=tsc", "'clock=' wants auto, pmtimer, hpet or pit, got 'tsc'");
	BAD("console=vga", "'console=' wants serial, fb or both, got 'vga'");
	BAD("exit=now", "'exit=' wants qemu, halt, reboot or poweroff, got 'now'");
	BAD("nosmp=1", "'nosmp' takes no value");
	BAD("list=", "'list' takes no value");
	BAD("bench=yes", "'bench' takes no value");
	BAD("cpus=0", "'cpus=0' must be at least 1");
	BAD("timeout=0", "'timeout=0' must be at least 1");
	BAD("seed", "'seed' needs a value");
	BAD("tests", "'tests' needs a value");
}

static void test_error_truncation(void)
{
	char small[12];

	CHECK(cmdline_parse("unknownkeyhere", &cl, small, sizeof(small)) == -1);
	CHECK_STR(small, "unknown key");
	CHECK(cmdline_parse("foo", &cl, NULL, 0) == -1);
}

static void test_glob(void)
{
	CHECK(glob_match("ipi", "ipi"));
	CHECK(!glob_match("ipi", "ipi2"));
	CHECK(!glob_match("ipi2", "ipi"));
	CHECK(glob_match("*", ""));
	CHECK(glob_match("*", "anything"));
	CHECK(glob_match("", ""));
	CHECK(!glob_match("", "a"));
	CHECK(glob_match("tlb_*", "tlb_shootdown"));
	CHECK(!glob_match("tlb_*", "tl_b"));
	CHECK(glob_match("*_race", "ipi_race"));
	CHECK(glob_match("a*b*c", "axxbyybzc"));
	CHECK(!glob_match("a*b*c", "axxbyybzcd"));
	CHECK(glob_match("**x**", "x"));
	CHECK(glob_match("?", "a"));
	CHECK(!glob_match("?", ""));
	CHECK(!glob_match("?", "ab"));
	CHECK(glob_match("t?st", "test"));
	CHECK(glob_match("*a?", "banana_"));
	CHECK(glob_match("mix_*_?", "mix_foo_1"));
}

static void test_glob_classes(void)
{
	CHECK(glob_match("[abc]", "b"));
	CHECK(!glob_match("[abc]", "d"));
	CHECK(glob_match("t[0-9]", "t7"));
	CHECK(!glob_match("t[0-9]", "tx"));
	CHECK(glob_match("[!a]x", "bx"));
	CHECK(!glob_match("[!a]x", "ax"));
	CHECK(glob_match("[^a-c]", "z"));
	CHECK(glob_match("[]]", "]"));
	CHECK(glob_match("[!]]", "a"));
	CHECK(glob_match("[a-]", "-"));
	CHECK(glob_match("x[a-cx-z]*", "xyz"));
	CHECK(glob_match("[", "["));     /* unterminated class: literal '[' */
	CHECK(glob_match("a[b", "a[b"));
	CHECK(!glob_match("a[b", "ab"));
	CHECK(glob_match("*[0-9]", "run42"));
	CHECK(!glob_match("*[0-9]", "run42x"));
}

static void test_glob_lists(void)
{
	CHECK(!glob_list_match("", "a"));
	CHECK(!glob_list_match("", ""));
	CHECK(glob_list_match("a", "a"));
	CHECK(glob_list_match("x,y,a*", "abc"));
	CHECK(!glob_list_match("x,y,a*", "cab"));
	CHECK(glob_list_match("ipi_[0-3],tlb*", "ipi_2"));
	CHECK(!glob_list_match("ipi_[0-3],tlb*", "ipi_4"));
	CHECK(glob_list_match(",,tlb,", "tlb"));
	CHECK(!glob_list_match(",,", "x"));
	CHECK(!glob_list_match("ab", "a"));    /* pattern bounded by the list item */
	CHECK(!glob_list_match("a,b", "a,b"));
	CHECK(glob_list_match("a*,b", "a,b")); /* '*' may eat a comma in the name */
}

/* The parsed lists drive selection the way the kernel uses them. */
static void test_selection(void)
{
	CHECK(parse("tests=ipi*,tlb_? skip=ipi_slow") == 0);
	CHECK(glob_list_match(cl.tests, "ipi_fast"));
	CHECK(glob_list_match(cl.skip, "ipi_slow"));
	CHECK(glob_list_match(cl.tests, "tlb_1"));
	CHECK(!glob_list_match(cl.tests, "tlb_12"));
	CHECK(!glob_list_match(cl.skip, "ipi_fast"));
}

int main(void)
{
	test_defaults();
	test_poke();
	test_all_keys();
	test_enums();
	test_numbers_and_spacing();
	test_string_lengths();
	test_errors();
	test_error_truncation();
	test_glob();
	test_glob_classes();
	test_glob_lists();
	test_selection();
	return check_report("cmdline");
}
