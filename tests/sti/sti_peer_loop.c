/*
 * The peer design's blind loop (kvm-unit-tests' x86/apic.c test_sti_nmi, written anew): the
 * victim CPU loops `sti; nop; cli` with no IRQ pending, and this CPU sends it one NMI at a
 * time, the next as soon as the last was handled. The victim's NMI handler (sti_peer_nmi)
 * counts the NMIs and those taken at the NOP, inside the STI shadow. sti_shadow_nmi runs it in
 * the same boot as its race, as the baseline of `gain_vs_peer_loop=`, and the same loop with
 * the race shapes' CPUID padding before `sti; nop` (sti_padded_loop_run).
 */
#include "tests/sti/sti.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"

#define PEER_ACK_TIMEOUT_NS 2000000ull
#define PEER_START_TIMEOUT_NS 200000000ull

static struct {
	volatile u32 active, victim, ready, stop;
	volatile u64 nmis, in_shadow;
	u64 shadow_rip;
	void (*loop)(volatile u32 *stop);
} __attribute__((aligned(64))) peer;

extern void seq_peer_run(volatile u32 *stop) __asm__("seq_peer_loop");
extern void seq_padded_run(volatile u32 *stop) __asm__("seq_padded_loop");

bool sti_peer_nmi(u64 rip)
{
	if (!peer.active || this_cpu_index() != peer.victim)
		return false;
	peer.in_shadow += rip == peer.shadow_rip;
	__atomic_store_n(&peer.nmis, peer.nmis + 1, __ATOMIC_RELEASE);
	return true;
}

static void peer_victim(void *arg)
{
	(void)arg;
	u64 flags = irq_save();
	__atomic_store_n(&peer.ready, 1, __ATOMIC_RELEASE);
	peer.loop(&peer.stop);
	irq_restore(flags);
}

static void run_loop(u32 victim_cpu, u64 ns, struct sti_peer_loop *out)
{
	*out = (struct sti_peer_loop){ 0 };
	peer.victim = victim_cpu;
	peer.ready = peer.stop = 0;
	peer.nmis = peer.in_shadow = 0;
	__atomic_store_n(&peer.active, 1, __ATOMIC_RELEASE);
	smp_call_one(victim_cpu, peer_victim, NULL, false);
	u64 start_end = tsc_deadline_ns(PEER_START_TIMEOUT_NS);
	u32 turn = 0;
	while (!__atomic_load_n(&peer.ready, __ATOMIC_ACQUIRE) &&
	       tsc_before_polled(start_end, &turn))
		;
	u64 t0 = rdtsc(), end = t0 + ns_to_tsc(ns);
	while (peer.ready && tsc_before(end)) {
		u64 n0 = __atomic_load_n(&peer.nmis, __ATOMIC_ACQUIRE);
		ipi_send_cpu_fast(victim_cpu, ICR_NMI);
		out->sent++;
		u64 ack_end = tsc_deadline_ns(PEER_ACK_TIMEOUT_NS);
		turn = 0;
		while (__atomic_load_n(&peer.nmis, __ATOMIC_ACQUIRE) == n0) {
			if (!tsc_before_polled(ack_end, &turn)) {
				out->unacked++;
				break;
			}
		}
	}
	out->tsc = rdtsc() - t0;
	__atomic_store_n(&peer.stop, 1, __ATOMIC_RELEASE);
	smp_wait_one(victim_cpu);
	peer.active = 0;
	out->nmis = peer.nmis;
	out->in_shadow = peer.in_shadow;
}

void sti_peer_loop_run(u32 victim_cpu, u64 ns, struct sti_peer_loop *out)
{
	peer.loop = seq_peer_run;
	peer.shadow_rip = RIP(seq_peer_at_nop);
	run_loop(victim_cpu, ns, out);
}

void sti_padded_loop_run(u32 victim_cpu, u64 ns, struct sti_peer_loop *out)
{
	peer.loop = seq_padded_run;
	peer.shadow_rip = RIP(seq_padded_at_nop);
	run_loop(victim_cpu, ns, out);
}
