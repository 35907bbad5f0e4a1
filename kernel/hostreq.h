/*
 * Requests to the host: events only the machine's host can raise (a machine check through
 * QEMU's monitor, single steps through its gdbstub). The kernel prints a request line
 *
 *   # host-request id=N kind=KIND cpu=C mailbox=0xADDR key=value ...
 *
 * and the host answers by writing the mailbox (through the gdbstub's memory write) before it
 * lets the guest run on. Without a host (a real machine, a lab board) nobody answers and the
 * wait ends at its bound: the experiment skips saying so. docs/output-format.md has the
 * protocol.
 */
#ifndef RACEBED_HOSTREQ_H
#define RACEBED_HOSTREQ_H

#include "lib/types.h"

enum host_status {
	HOST_PENDING = 0,  /* no answer yet */
	HOST_DONE = 1,     /* done; value[] holds what the kind defines */
	HOST_REFUSED = 2,  /* the host cannot serve it: reason[] says why */
	HOST_NO_ANSWER = 3 /* (kernel side) the bound passed without an answer */
};

/* Written by the host; the layout is the protocol (docs/output-format.md). */
struct host_mailbox {
	volatile u32 id;      /* the request's id once the host answered it */
	volatile u32 status;  /* enum host_status */
	volatile u64 value[4];
	volatile char reason[64];
} __attribute__((aligned(64)));
_Static_assert(__builtin_offsetof(struct host_mailbox, value) == 8 &&
		       __builtin_offsetof(struct host_mailbox, reason) == 40,
	       "struct host_mailbox is the protocol: host/racebed_harness/host_requests.py packs it");

/* Prints the request line (fmt: the kind's own key=value words) and returns its id. */
u32 host_request(const char *kind, u32 cpu, const char *fmt, ...) PRINTF_FMT(3, 4);
/* The mailbox the current request's answer lands in. */
struct host_mailbox *host_mailbox(void);
/* Waits for the answer to request id, at most timeout_ms; HOST_NO_ANSWER after that. */
enum host_status host_wait(u32 id, u32 timeout_ms);
/*
 * The `step` request (docs/output-format.md): the host sets a breakpoint at stop, writes 1 to
 * the flag it is given and, once this CPU runs into stop, steps that one instruction in QEMU's
 * single-step mode sstep ("noirq" or "irq"), writing the RIP the step ended at to value[0].
 * Returns the request's id once the host set the flag (the caller then runs into stop and
 * host_waits for the answer), or 0 when it did not within wait_ms (*st says why).
 */
u32 host_request_step(u64 stop, const char *sstep, u32 wait_ms, enum host_status *st);
/* True once any request was answered in this boot (a host is there). */
bool host_present(void);

#endif
