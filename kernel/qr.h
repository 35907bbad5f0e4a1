/*
 * QR code encoder (ISO/IEC 18004 model 2): byte mode, error correction level L or M, versions
 * 1..QR_MAX_VERSION, Reed-Solomon over GF(256), the mask with the lowest penalty. Freestanding:
 * no allocation, the symbol is built in a caller's struct qr.
 */
#ifndef RACEBED_QR_H
#define RACEBED_QR_H

#include "lib/types.h"

#define QR_MAX_VERSION 25
#define QR_MAX_SIZE (17 + 4 * QR_MAX_VERSION)

enum qr_ecc { QR_ECC_L, QR_ECC_M };

struct qr {
	u32 version, size, mask;
	u8 dark[QR_MAX_SIZE][QR_MAX_SIZE];     /* [row][column]: 1 dark, 0 light */
	u8 reserved[QR_MAX_SIZE][QR_MAX_SIZE]; /* function patterns (not data) */
};

/* Bytes a symbol of this version and level holds in byte mode (0 for a version out of range). */
u32 qr_capacity(u32 version, enum qr_ecc ecc);
/*
 * Encodes len bytes in the smallest version from 1 to max_version that holds them. Returns
 * false (q untouched beyond scratch) when none does.
 */
bool qr_encode(struct qr *q, const u8 *data, u32 len, enum qr_ecc ecc, u32 max_version);

/* For the unit test: Reed-Solomon remainder of data (n bytes) for ec check bytes (ec <= 30). */
void qr_rs_remainder(const u8 *data, u32 n, u32 ec, u8 *out);
/* The 15 format bits (mask pattern and level, BCH-coded and XOR-masked). */
u32 qr_format_bits(enum qr_ecc ecc, u32 mask);
/* The 18 version bits (versions 7 and up). */
u32 qr_version_bits(u32 version);

#endif
