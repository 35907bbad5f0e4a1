/* QR code encoder: byte mode, level L or M, versions 1..QR_MAX_VERSION (see qr.h). */
#include "kernel/qr.h"
#include "lib/lib.h"

/* Per version (index 1..40) and level: check bytes per block, and the number of blocks. */
static const u8 ec_per_block[2][41] = {
	{ 0, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28,
	  28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30 },
	{ 0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26,
	  26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28 },
};
static const u8 ec_blocks[2][41] = {
	{ 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8,
	  8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25 },
	{ 0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16,
	  17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49 },
};

#define MAX_CODEWORDS 1600 /* version 25: 1588 */
#define ABS(x) ((x) < 0 ? -(x) : (x))
#define MAX_BLOCKS 32

/* Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x^2 + 1 (0x11d). */
static u8 gf_mul(u8 a, u8 b)
{
	u32 r = 0, x = a;
	for (; b; b >>= 1) {
		if (b & 1)
			r ^= x;
		x <<= 1;
		if (x & 0x100)
			x ^= 0x11d;
	}
	return (u8)r;
}

void qr_rs_remainder(const u8 *data, u32 n, u32 ec, u8 *out)
{
	/* generator: the product of (x - 2^i), i < ec; its leading 1 left out, highest first */
	u8 gen[30];
	memset(gen, 0, sizeof(gen));
	gen[ec - 1] = 1;
	u8 root = 1;
	for (u32 i = 0; i < ec; i++) {
		for (u32 j = 0; j < ec; j++) {
			gen[j] = gf_mul(gen[j], root);
			if (j + 1 < ec)
				gen[j] ^= gen[j + 1];
		}
		root = gf_mul(root, 2);
	}
	memset(out, 0, ec);
	for (u32 i = 0; i < n; i++) {
		u8 factor = data[i] ^ out[0];
		memmove(out, out + 1, ec - 1);
		out[ec - 1] = 0;
		for (u32 j = 0; j < ec; j++)
			out[j] ^= gf_mul(gen[j], factor);
	}
}

/* Modules left for data and check bytes once the function patterns are placed. */
static u32 raw_modules(u32 v)
{
	u32 n = (16 * v + 128) * v + 64;
	if (v >= 2) {
		u32 align = v / 7 + 2;
		n -= (25 * align - 10) * align - 55;
		if (v >= 7)
			n -= 36;
	}
	return n;
}

static u32 data_codewords(u32 v, enum qr_ecc ecc)
{
	return raw_modules(v) / 8 - ec_per_block[ecc][v] * ec_blocks[ecc][v];
}

u32 qr_capacity(u32 v, enum qr_ecc ecc)
{
	if (v < 1 || v > QR_MAX_VERSION)
		return 0;
	u32 header = 4 + (v < 10 ? 8 : 16);
	return (data_codewords(v, ecc) * 8 - header) / 8;
}

u32 qr_format_bits(enum qr_ecc ecc, u32 mask)
{
	u32 data = (ecc == QR_ECC_L ? 1u : 0u) << 3 | mask;
	u32 rem = data;
	for (u32 i = 0; i < 10; i++)
		rem = (rem << 1) ^ ((rem >> 9) * 0x537);
	return (data << 10 | (rem & 0x3ff)) ^ 0x5412;
}

u32 qr_version_bits(u32 v)
{
	u32 rem = v;
	for (u32 i = 0; i < 12; i++)
		rem = (rem << 1) ^ ((rem >> 11) * 0x1f25);
	return v << 12 | (rem & 0xfff);
}

static void put(struct qr *q, u32 x, u32 y, bool dark)
{
	q->dark[y][x] = dark;
	q->reserved[y][x] = 1;
}

static void finder(struct qr *q, int cx, int cy)
{
	for (int dy = -4; dy <= 4; dy++)
		for (int dx = -4; dx <= 4; dx++) {
			int x = cx + dx, y = cy + dy, d = MAX(ABS(dx), ABS(dy));
			if (x >= 0 && y >= 0 && x < (int)q->size && y < (int)q->size)
				put(q, (u32)x, (u32)y, d != 2 && d != 4);
		}
}

/* Alignment pattern centres: 6, then evenly spaced down from size - 7 (version 32 is odd). */
static u32 align_positions(u32 v, u32 *pos)
{
	if (v < 2)
		return 0;
	u32 n = v / 7 + 2, size = 17 + 4 * v;
	u32 step = v == 32 ? 26 : (v * 4 + n * 2 + 1) / (n * 2 - 2) * 2;
	pos[0] = 6;
	for (u32 i = n - 1, p = size - 7; i >= 1; i--, p -= step)
		pos[i] = p;
	return n;
}

static void draw_format(struct qr *q, enum qr_ecc ecc, u32 mask)
{
	u32 bits = qr_format_bits(ecc, mask), s = q->size;
	for (u32 i = 0; i < 15; i++) {
		bool b = (bits >> i) & 1;
		/* around the top-left finder */
		if (i < 6)
			put(q, 8, i, b);
		else if (i < 8)
			put(q, 8, i + 1, b);
		else if (i == 8)
			put(q, 7, 8, b);
		else
			put(q, 14 - i, 8, b);
		/* split between the other two finders */
		if (i < 8)
			put(q, s - 1 - i, 8, b);
		else
			put(q, 8, s - 15 + i, b);
	}
	put(q, 8, s - 8, true); /* the dark module */
}

static void draw_function_patterns(struct qr *q, enum qr_ecc ecc)
{
	u32 s = q->size, pos[8];
	memset(q->dark, 0, sizeof(q->dark));
	memset(q->reserved, 0, sizeof(q->reserved));
	for (u32 i = 0; i < s; i++) {
		put(q, 6, i, i % 2 == 0);
		put(q, i, 6, i % 2 == 0);
	}
	finder(q, 3, 3);
	finder(q, (int)s - 4, 3);
	finder(q, 3, (int)s - 4);
	u32 n = align_positions(q->version, pos);
	for (u32 i = 0; i < n; i++)
		for (u32 j = 0; j < n; j++) {
			if ((i == 0 && j == 0) || (i == 0 && j == n - 1) || (i == n - 1 && j == 0))
				continue; /* under a finder */
			for (int dy = -2; dy <= 2; dy++)
				for (int dx = -2; dx <= 2; dx++)
					put(q, pos[i] + dx, pos[j] + dy, MAX(ABS(dx), ABS(dy)) != 1);
		}
	draw_format(q, ecc, 0); /* reserves the format areas; redrawn with the chosen mask */
	if (q->version >= 7) {
		u32 bits = qr_version_bits(q->version);
		for (u32 i = 0; i < 18; i++) {
			bool b = (bits >> i) & 1;
			put(q, s - 11 + i % 3, i / 3, b);
			put(q, i / 3, s - 11 + i % 3, b);
		}
	}
}

/* The codewords in the zigzag: column pairs from the right, up then down, column 6 skipped. */
static void place_data(struct qr *q, const u8 *cw, u32 n)
{
	u32 s = q->size, bit = 0;
	for (int right = (int)s - 1; right >= 1; right -= 2) {
		if (right == 6)
			right = 5;
		bool upward = ((right + 1) & 2) == 0;
		for (u32 k = 0; k < s; k++) {
			u32 y = upward ? s - 1 - k : k;
			for (int j = 0; j < 2; j++) {
				u32 x = (u32)(right - j);
				if (q->reserved[y][x])
					continue;
				if (bit < n * 8)
					q->dark[y][x] = (cw[bit >> 3] >> (7 - (bit & 7))) & 1;
				bit++;
			}
		}
	}
}

static bool mask_bit(u32 mask, u32 x, u32 y)
{
	switch (mask) {
	case 0: return (x + y) % 2 == 0;
	case 1: return y % 2 == 0;
	case 2: return x % 3 == 0;
	case 3: return (x + y) % 3 == 0;
	case 4: return (x / 3 + y / 2) % 2 == 0;
	case 5: return x * y % 2 + x * y % 3 == 0;
	case 6: return (x * y % 2 + x * y % 3) % 2 == 0;
	default: return ((x + y) % 2 + x * y % 3) % 2 == 0;
	}
}

static void apply_mask(struct qr *q, u32 mask)
{
	for (u32 y = 0; y < q->size; y++)
		for (u32 x = 0; x < q->size; x++)
			if (!q->reserved[y][x] && mask_bit(mask, x, y))
				q->dark[y][x] ^= 1;
}

static bool at(const struct qr *q, u32 x, u32 y, bool transpose)
{
	return transpose ? q->dark[x][y] : q->dark[y][x];
}

/* The standard's penalty: runs of 5+, 2x2 blocks, finder-like 1:1:3:1:1 runs, dark balance. */
static u32 penalty(const struct qr *q)
{
	u32 s = q->size, p = 0, dark = 0;
	static const u8 finder_like[2][11] = { { 1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0 },
					       { 0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1 } };
	for (u32 t = 0; t < 2; t++)
		for (u32 y = 0; y < s; y++) {
			u32 run = 1;
			for (u32 x = 1; x <= s; x++) {
				if (x < s && at(q, x, y, t) == at(q, x - 1, y, t)) {
					run++;
					continue;
				}
				if (run >= 5)
					p += run - 2;
				run = 1;
			}
			for (u32 x = 0; x + 11 <= s; x++)
				for (u32 k = 0; k < 2; k++) {
					u32 i = 0;
					while (i < 11 && at(q, x + i, y, t) == finder_like[k][i])
						i++;
					p += i == 11 ? 40 : 0;
				}
		}
	for (u32 y = 0; y < s; y++)
		for (u32 x = 0; x < s; x++) {
			dark += q->dark[y][x];
			if (x + 1 < s && y + 1 < s && q->dark[y][x] == q->dark[y][x + 1] &&
			    q->dark[y][x] == q->dark[y + 1][x] && q->dark[y][x] == q->dark[y + 1][x + 1])
				p += 3;
		}
	u32 total = s * s, pct = dark * 100 / total;
	p += (pct > 50 ? pct - 50 : 50 - pct) / 5 * 10;
	return p;
}

/* The data codewords: mode, count, bytes, terminator, padding to the version's capacity. */
static void data_stream(u8 *out, u32 ncw, u32 v, const u8 *data, u32 len)
{
	u32 bit = 0;
	memset(out, 0, ncw);
#define APPEND(value, nbits)                                                                    \
	for (int b_ = (int)(nbits) - 1; b_ >= 0; b_--, bit++)                                  \
		out[bit >> 3] |= (u8)((((value) >> b_) & 1) << (7 - (bit & 7)))
	APPEND(4u, 4);
	APPEND(len, v < 10 ? 8 : 16);
	for (u32 i = 0; i < len; i++)
		APPEND(data[i], 8);
	u32 term = MIN(4u, ncw * 8 - bit);
	APPEND(0u, term);
#undef APPEND
	for (u32 i = (bit + 7) / 8, pad = 0xec; i < ncw; i++, pad ^= 0xec ^ 0x11)
		out[i] = (u8)pad;
}

bool qr_encode(struct qr *q, const u8 *data, u32 len, enum qr_ecc ecc, u32 max_version)
{
	static u8 stream[MAX_CODEWORDS], final[MAX_CODEWORDS], check[MAX_BLOCKS][30];
	u32 v = 1;
	max_version = MIN(max_version, (u32)QR_MAX_VERSION);
	while (v <= max_version && qr_capacity(v, ecc) < len)
		v++;
	if (v > max_version)
		return false;
	q->version = v;
	q->size = 17 + 4 * v;

	u32 total = raw_modules(v) / 8, nblocks = ec_blocks[ecc][v], ec = ec_per_block[ecc][v];
	u32 ndata = data_codewords(v, ecc);
	data_stream(stream, ndata, v, data, len);
	/* blocks: the first `nshort` hold one data byte fewer than the rest */
	u32 nshort = nblocks - total % nblocks, short_data = total / nblocks - ec;
	u32 start[MAX_BLOCKS], k = 0;
	for (u32 b = 0, off = 0; b < nblocks; b++) {
		u32 n = short_data + (b >= nshort);
		start[b] = off;
		qr_rs_remainder(stream + off, n, ec, check[b]);
		off += n;
	}
	for (u32 i = 0; i <= short_data; i++)
		for (u32 b = 0; b < nblocks; b++)
			if (i < short_data + (b >= nshort))
				final[k++] = stream[start[b] + i];
	for (u32 i = 0; i < ec; i++)
		for (u32 b = 0; b < nblocks; b++)
			final[k++] = check[b][i];

	draw_function_patterns(q, ecc);
	place_data(q, final, total);
	u32 best = 0, best_penalty = ~0u;
	for (u32 m = 0; m < 8; m++) {
		apply_mask(q, m);
		draw_format(q, ecc, m);
		u32 p = penalty(q);
		if (p < best_penalty)
			best = m, best_penalty = p;
		apply_mask(q, m); /* undo */
	}
	apply_mask(q, best);
	draw_format(q, ecc, best);
	q->mask = best;
	return true;
}
