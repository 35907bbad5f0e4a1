/* Basic fixed-width types and helpers shared by the kernel and the host unit tests. */
#ifndef RACEBED_TYPES_H
#define RACEBED_TYPES_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((u64)(a) - 1))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define PRINTF_FMT(f, a) __attribute__((format(printf, f, a)))
#define NORETURN __attribute__((noreturn))
#define PACKED __attribute__((packed))

/* Upper bound on CPUs the kernel tracks (MADT entries beyond it are reported and ignored). */
#define MAX_CPUS 1024

#endif
