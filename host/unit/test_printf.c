/* Host unit test for kernel/printf.c: conversions, flags, widths, truncation, return values. */
#include <stdint.h>
#include <stdlib.h>
#include "host/unit/check.h"
#include "lib/printf.h"

/* Formats into a roomy buffer and checks both the text and the returned length. */
#define T(want, ...)                                                   \
	do {                                                           \
		char b_[256];                                          \
		int n_ = ksnprintf(b_, sizeof(b_), __VA_ARGS__);       \
		CHECK_STR(b_, want);                                   \
		CHECK(n_ == (int)strlen(want));                        \
	} while (0)

/* Same, with a format the compiler cannot see (for cases -Wformat rightly frowns on). */
#define TV(want, fmt, ...)                                             \
	do {                                                           \
		const char *volatile f_ = (fmt);                       \
		T(want, f_, __VA_ARGS__);                              \
	} while (0)

static void test_integers(void)
{
	T("0", "%d", 0);
	T("42", "%d", 42);
	T("-42", "%i", -42);
	T("2147483647", "%d", INT32_MAX);
	T("-2147483648", "%d", INT32_MIN);
	T("4294967295", "%u", UINT32_MAX);
	T("-9223372036854775808", "%lld", (long long)INT64_MIN);
	T("-9223372036854775808", "%ld", (long)INT64_MIN);
	T("9223372036854775807", "%jd", (intmax_t)INT64_MAX);
	T("18446744073709551615", "%llu", (unsigned long long)UINT64_MAX);
	T("ffffffffffffffff", "%lx", (unsigned long)UINT64_MAX);
	T("1777777777777777777777", "%llo", (unsigned long long)UINT64_MAX);
	T("-1", "%hhd", 255);
	T("255", "%hhu", -1);
	T("-1", "%hd", 65535);
	T("65535", "%hu", -1);
	T("4096", "%zu", (size_t)4096);
	T("-7", "%td", (ptrdiff_t)-7);
	T("ff", "%jx", (uintmax_t)255);
	T("dead BEEF", "%x %X", 0xdeadu, 0xbeefu);
	T("17", "%o", 15u);
}

static void test_flags(void)
{
	T("+5 -5", "%+d %+d", 5, -5);
	T(" 5 -5", "% d % d", 5, -5);
	TV("+5", "%+ d", 5);
	T("0x1f 0X1F", "%#x %#X", 0x1fu, 0x1fu);
	T("0", "%#x", 0u);
	T("017", "%#o", 15u);
	T("0", "%#o", 0u);
	T("0", "%#.0o", 0u);
	T("  5", "%3d", 5);
	T("5  |", "%-3d|", 5);
	T("005", "%03d", 5);
	T("-05", "%03d", -5);
	T("+05", "%+03d", 5);
	T("0x000ff", "%#07x", 0xffu);
	T("  0xff", "%#6x", 0xffu);
	TV("5  ", "%-03d", 5);
	T("12345", "%3d", 12345);
}

static void test_precision(void)
{
	T("00042", "%.5d", 42);
	T("-00042", "%.5d", -42);
	T("   00042", "%8.5d", 42);
	TV("   42", "%05.0d", 42); /* precision disables the 0 flag */
	T("", "%.0d", 0);
	T("   ", "%3.0u", 0u);
	T("0x0000ff", "%#.6x", 0xffu);
	T("0", "%.1x", 0u);
}

static void test_star(void)
{
	T("   7", "%*d", 4, 7);
	T("7   |", "%*d|", -4, 7);
	T("007", "%.*d", 3, 7);
	T("7", "%.*d", -3, 7);
	T("  007", "%*.*d", 5, 3, 7);
	T("ab  |", "%-*s|", 4, "ab");
	T("ab  |", "%*s|", -4, "ab");
	T("abc", "%.*s", 3, "abcdef");
}

static void test_strings_chars(void)
{
	const char *volatile nul = NULL;
	char unterminated[3] = { 'x', 'y', 'z' };

	T("hello", "%s", "hello");
	T("  hi", "%4s", "hi");
	T("hi  |", "%-4s|", "hi");
	T("he", "%.2s", "hello");
	T("  he", "%4.2s", "hello");
	T("", "%.0s", "hello");
	T("(null)", "%s", nul);
	T("(nu", "%.3s", nul);
	T("xy", "%.2s", unterminated);
	T("a", "%c", 'a');
	T("  a", "%3c", 'a');
	T("a  |", "%-3c|", 'a');
	T("%", "%%");
	T("50% off", "%d%% off", 50);
	T("a b c", "%c %s %c", 'a', "b", 'c');
}

static void test_pointer(void)
{
	T("0x1234", "%p", (void *)0x1234);
	T("0xffffffff80000000", "%p", (void *)0xffffffff80000000ull);
	T("  0x10", "%6p", (void *)0x10);
}

static void test_odd_formats(void)
{
	const char *volatile unknown = "%q!";
	const char *volatile dangling = "abc%";
	char b[16];

	CHECK(ksnprintf(b, sizeof(b), unknown, 1) == 3);
	CHECK_STR(b, "%q!");
	CHECK(ksnprintf(b, sizeof(b), dangling, 1) == 4);
	CHECK_STR(b, "abc%");
	T("", "%s", "");
	TV("", "", 0);
}

static void test_truncation(void)
{
	char b[8];

	memset(b, 'Z', sizeof(b));
	CHECK(ksnprintf(b, sizeof(b), "%s", "hello world") == 11);
	CHECK_STR(b, "hello w");
	CHECK(ksnprintf(b, 1, "%d", 12345) == 5);
	CHECK_STR(b, "");
	memset(b, 'Z', sizeof(b));
	CHECK(ksnprintf(b, 0, "%d", 12345) == 5);
	CHECK(b[0] == 'Z');
	CHECK(ksnprintf(NULL, 0, "%s=%d", "key", -1) == 6);
	CHECK(ksnprintf(b, 4, "%05d", 42) == 5);
	CHECK_STR(b, "000");
	memset(b, 'Z', sizeof(b));
	CHECK(ksnprintf(b, 5, "abcd") == 4);
	CHECK_STR(b, "abcd");
	CHECK(ksnprintf(b, 5, "abcde") == 5);
	CHECK_STR(b, "abcd");
	CHECK(ksnprintf(b, 3, "%-6s|", "ab") == 7);
	CHECK_STR(b, "ab");
}

/* Exact-size heap buffers let ASan catch any write past size. */
static void test_exact_buffers(void)
{
	for (size_t size = 1; size <= 12; size++) {
		char *b = malloc(size);
		int n = ksnprintf(b, size, "%#x-%s", 0xabcu, "tail");

		CHECK(n == 10);
		CHECK(strlen(b) == (size - 1 < 10 ? size - 1 : 10));
		CHECK(strncmp(b, "0xabc-tail", strlen(b)) == 0);
		free(b);
	}
}

int main(void)
{
	test_integers();
	test_flags();
	test_precision();
	test_star();
	test_strings_chars();
	test_pointer();
	test_odd_formats();
	test_truncation();
	test_exact_buffers();
	return check_report("printf");
}
