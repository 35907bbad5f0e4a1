/*
 * Host unit test for kernel/qr.c: Reed-Solomon, format and version bits against the standard's
 * worked values, capacities, then symbols of every version and both levels decoded by zbarimg
 * (zbar-tools) from a PGM file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "kernel/fbcon.h"
#include "kernel/font.h"
#include "kernel/qr.h"
#include "kernel/results_qr.h"
#include "host/unit/check.h"

static struct qr q;

static void test_reed_solomon(void)
{
	/* version 1-M "HELLO WORLD" (alphanumeric): its 16 data codewords and 10 check bytes */
	static const u8 data[16] = { 32, 91, 11, 120, 209, 114, 220, 77, 67, 64, 236, 17, 236, 17,
				     236, 17 };
	static const u8 want[10] = { 196, 35, 39, 119, 235, 215, 231, 226, 93, 23 };
	u8 got[10];
	qr_rs_remainder(data, 16, 10, got);
	CHECK(memcmp(got, want, 10) == 0);
}

static void test_format_and_version_bits(void)
{
	CHECK(qr_format_bits(QR_ECC_L, 0) == 0x77c4); /* 111011111000100 */
	CHECK(qr_format_bits(QR_ECC_L, 4) == 0x662f); /* 110011000101111 */
	CHECK(qr_format_bits(QR_ECC_M, 0) == 0x5412); /* 101010000010010 */
	CHECK(qr_version_bits(7) == 0x07c94);         /* 000111110010010100 */
	CHECK(qr_version_bits(25) == 0x19c1e ||
	      qr_version_bits(25) >> 12 == 25); /* the version in the top six bits */
}

static void test_capacity(void)
{
	CHECK(qr_capacity(1, QR_ECC_L) == 17 && qr_capacity(1, QR_ECC_M) == 14);
	CHECK(qr_capacity(10, QR_ECC_L) == 271 && qr_capacity(10, QR_ECC_M) == 213);
	CHECK(qr_capacity(20, QR_ECC_L) == 858 && qr_capacity(20, QR_ECC_M) == 666);
	CHECK(qr_capacity(25, QR_ECC_L) == 1273 && qr_capacity(25, QR_ECC_M) == 997);
	CHECK(qr_capacity(26, QR_ECC_L) == 0);
	u8 big[1274];
	memset(big, 'x', sizeof(big));
	CHECK(!qr_encode(&q, big, 1274, QR_ECC_L, 25));
	CHECK(qr_encode(&q, big, 1273, QR_ECC_L, 25) && q.version == 25 && q.size == 117);
	CHECK(!qr_encode(&q, big, 300, QR_ECC_L, 9));
}

/* Writes q as a PGM (4 pixels a module, 4 modules of quiet zone) and returns what zbarimg reads. */
static const char *zbar(const char *path)
{
	static char out[4096];
	const u32 scale = 4, quiet = 4, side = (q.size + 2 * quiet) * scale;
	FILE *f = fopen(path, "wb");
	fprintf(f, "P5 %u %u 255\n", side, side);
	for (u32 py = 0; py < side; py++)
		for (u32 px = 0; px < side; px++) {
			int x = (int)(px / scale) - (int)quiet, y = (int)(py / scale) - (int)quiet;
			bool dark = x >= 0 && y >= 0 && x < (int)q.size && y < (int)q.size &&
				    q.dark[y][x];
			fputc(dark ? 0 : 255, f);
		}
	fclose(f);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "zbarimg --raw -q -Sbinary %s 2>/dev/null", path);
	FILE *p = popen(cmd, "r");
	size_t n = p ? fread(out, 1, sizeof(out) - 1, p) : 0;
	out[n] = 0;
	if (p)
		pclose(p);
	if (n && out[n - 1] == '\n')
		out[n - 1] = 0; /* zbarimg ends each symbol with a newline */
	return out;
}

/* Every version of both levels, full to its capacity, read back by zbarimg. */
static void test_zbar_round_trip(void)
{
	char path[] = "/tmp/racebed-qr-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	static char text[1300];
	u32 seed = 1;
	for (u32 ecc = QR_ECC_L; ecc <= QR_ECC_M; ecc++)
		for (u32 v = 1; v <= QR_MAX_VERSION; v++) {
			u32 len = qr_capacity(v, ecc);
			for (u32 i = 0; i < len; i++) {
				seed = seed * 1103515245 + 12345;
				text[i] = (char)(' ' + (seed >> 16) % 95);
			}
			text[len] = 0;
			CHECK(qr_encode(&q, (const u8 *)text, len, ecc, QR_MAX_VERSION));
			CHECK(q.version == v);
			const char *got = zbar(path);
			if (strcmp(got, text) != 0)
				printf("version %u level %s mask %u: zbarimg read %zu bytes, want %u\n",
				       v, ecc ? "M" : "L", q.mask, strlen(got), len);
			CHECK_STR(got, text);
		}
	/* a control that must not decode: the same symbol with its finders wiped */
	CHECK(qr_encode(&q, (const u8 *)"racebed", 7, QR_ECC_M, 5));
	CHECK_STR(zbar(path), "racebed");
	for (u32 y = 0; y < 7; y++)
		memset(q.dark[y], 0, 7), memset(q.dark[y] + q.size - 7, 0, 7);
	CHECK_STR(zbar(path), "");
	unlink(path);
}

/* A record the size of a whole run's (about 7 KB) on an 800x600 screen: split into codes of
 * whole lines, as many as fit drawn on a page, every one read back by zbarimg with its K of N. */
static void test_record_pages(void)
{
	static char record[8192], out[16384], want[2048];
	static struct qr_plan plan;
	u32 len = (u32)snprintf(record, sizeof(record), "racebed-record 1\nP vendor=GenuineIntel\n");
	for (u32 i = 0; len + 64 < 7000; i++)
		len += (u32)snprintf(record + len, sizeof(record) - len,
				     "O observation_number_%u %u %u n\n%sok exp%u\n", i, i * 7, i * 911,
				     i % 5 ? "" : "not ok failing reason here\n", i);
	results_qr_plan(&plan, record, len);
	CHECK(plan.ncodes == 9 && plan.modules == 17 + 4 * QR_CODE_VERSION);
	u32 joined = 0;
	for (u32 i = 0; i < plan.ncodes; i++) {
		CHECK(plan.start[i] == joined && record[plan.start[i] + plan.len[i] - 1] == '\n');
		joined += plan.len[i];
	}
	CHECK(joined == len);

	struct fb_info fb = { .type = 1, .bpp = 32, .width = 800, .height = 600, .pitch = 3200,
			      .red_pos = 16, .red_size = 8, .green_pos = 8, .green_size = 8,
			      .blue_size = 8 };
	u8 *mem = calloc(1, 3200 * 600);
	fb.addr = (u64)(uintptr_t)mem;
	CHECK(fbcon_init(&fb));
	struct qr_fit fit = results_qr_fit(800, 600, &plan);
	CHECK(fit.count == 6 && fit.scale == 2 && fit.per_row == 3);
	char path[] = "/tmp/racebed-qrpage-XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	for (u32 first = 0; first < plan.ncodes; first += fit.count) {
		fbcon_page("", 0);
		u32 drawn = results_qr_draw(&plan, record, first, 0, 0, 800, 600);
		CHECK(drawn == MIN(fit.count, plan.ncodes - first));
		FILE *f = fopen(path, "wb");
		fprintf(f, "P5 800 600 255\n");
		for (u32 p = 0; p < 800 * 600; p++)
			fputc(mem[p * 4 + 1], f);
		fclose(f);
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "zbarimg -q %s 2>/dev/null", path);
		FILE *z = popen(cmd, "r");
		size_t n = fread(out, 1, sizeof(out) - 1, z);
		out[n] = 0;
		pclose(z);
		for (u32 k = first; k < first + drawn; k++) {
			snprintf(want, sizeof(want), "QR-Code:RB1 %u/%u\n%.*s", k + 1, plan.ncodes,
				 (int)plan.len[k], record + plan.start[k]);
			if (!strstr(out, want))
				printf("code %u of %u not read back from its page\n", k + 1, plan.ncodes);
			CHECK(strstr(out, want) != NULL);
		}
	}
	unlink(path);
	free(mem);
}

int main(void)
{
	test_record_pages();
	test_reed_solomon();
	test_format_and_version_bits();
	test_capacity();
	test_zbar_round_trip();
	return check_report("qr");
}
