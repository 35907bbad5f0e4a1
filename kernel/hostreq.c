/* Requests to the host and their mailbox (see hostreq.h). */
#include "kernel/hostreq.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/time.h"
#include "kernel/experiment.h"
#include "lib/printf.h"

static struct host_mailbox mailbox;
static u32 last_id;
static bool answered_once;

struct host_mailbox *host_mailbox(void) { return &mailbox; }
bool host_present(void) { return answered_once; }

u32 host_request(const char *kind, u32 cpu, const char *fmt, ...)
{
	char args[160];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	u32 id = ++last_id;
	mailbox.status = HOST_PENDING;
	mailbox.reason[0] = 0;
	__atomic_store_n(&mailbox.id, 0, __ATOMIC_RELEASE);
	diag("host-request id=%u kind=%s cpu=%u mailbox=0x%lx %s", id, kind, cpu, (u64)&mailbox,
	     args);
	return id;
}

u32 host_request_step(u64 stop, const char *sstep, u32 wait_ms, enum host_status *st)
{
	static volatile u32 go;
	go = 0;
	u32 id = host_request("step", this_cpu()->apic_id, "stop=0x%lx go=0x%lx sstep=%s", stop,
			      (u64)&go, sstep);
	u64 end = tsc_deadline_ns((u64)wait_ms * 1000000u);
	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE) && tsc_before(end))
		cpu_relax();
	if (go)
		return id;
	*st = host_wait(id, 0);
	return 0;
}

enum host_status host_wait(u32 id, u32 timeout_ms)
{
	u64 end = tsc_deadline_ns((u64)timeout_ms * 1000000u);
	while (__atomic_load_n(&mailbox.id, __ATOMIC_ACQUIRE) != id) {
		if (tsc_past(end))
			return HOST_NO_ANSWER;
		cpu_relax();
	}
	answered_once = true;
	return (enum host_status)mailbox.status;
}
