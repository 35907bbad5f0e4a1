/*
 * The race engine's report (docs/output-format.md): the shape exploration (`# race_shape`),
 * one `# pair` line per ordered pair, `# pairs=`, the event latency histograms per mode, and
 * `# race mode=aimed ...` with the modes' rates and the gain of aiming.
 */
#include "tests/common/race_internal.h"
#include "arch/x86/time.h"
#include "lib/printf.h"

/* aimed / blind with one decimal, "inf" or "0.0" when blind is 0. */
void race_format_gain(u64 aimed, u64 blind, char *buf, size_t size)
{
	if (!blind) {
		ksnprintf(buf, size, aimed ? "inf" : "0.0");
		return;
	}
	u64 gain10 = muldiv64(aimed, 10, blind);
	ksnprintf(buf, size, "%lu.%lu", gain10 / 10, gain10 % 10);
}

static void report_shapes(const struct race_engine *e)
{
	const struct race *r = e->race;
	const struct race_shape_stats *s = &e->shapes;
	for (u32 k = 0; k < r->nshapes && r->nshapes > 1; k++)
		diag("race_shape %s trials=%lu hits=%lu hits_per_s=%lu chosen_by_pairs=%u",
		     r->shape_name[k], s->trials[k], s->hits[k], tsc_rate(s->hits[k], s->tsc[k]),
		     s->chosen_by_pairs[k]);
}

static void report_pair(const struct race_engine *e, u32 s, u32 v)
{
	const struct race_pair_stat *p = &e->pair[s][v];
	u64 trials = race_all_modes(p->trials), hits = race_all_modes(p->hits);
	char first_hit[24] = "none";
	if (p->first_hit_tsc)
		ksnprintf(first_hit, sizeof(first_hit), "%lu", tsc_to_ns(p->first_hit_tsc) / 1000);
	diag("pair %u->%u trials=%lu hits=%lu%s%s%s blind_trials=%lu blind_hits=%lu aimed_trials=%lu "
	     "aimed_hits=%lu stream_trials=%lu stream_hits=%lu shape=%s period_ns=%lu delay_ns=%lu "
	     "first_hit_us=%s",
	     e->cpus.cpu[s], e->cpus.cpu[v], trials, hits, hits ? "" : " zero_hits",
	     p->retried > 1 ? " retried_twice"
	     : p->retried   ? " retried"
			    : "",
	     p->starved ? " starved" : "", p->trials[RACE_BLIND], p->hits[RACE_BLIND],
	     p->trials[RACE_AIMED], p->hits[RACE_AIMED], p->trials[RACE_STREAM],
	     p->hits[RACE_STREAM], e->race->shape_name[p->shape], tsc_to_ns(p->period_tsc),
	     tsc_to_ns(p->delay_tsc), first_hit);
}

/* The median time to the first hit over the pairs that hit, in us (0: none hit). */
static u64 first_hit_median_us(const struct race_engine *e)
{
	static u64 us[RACE_MAX_CPUS * RACE_MAX_CPUS];
	u32 n = 0;
	for (u32 s = 0; s < e->cpus.count; s++)
		for (u32 v = 0; v < e->cpus.count; v++) {
			u64 t = e->pair[s][v].first_hit_tsc;
			if (s == v || !t)
				continue;
			u32 k = n++;
			for (; k > 0 && us[k - 1] > tsc_to_ns(t) / 1000; k--)
				us[k] = us[k - 1];
			us[k] = tsc_to_ns(t) / 1000;
		}
	return n ? us[n / 2] : 0;
}

static u64 permille(u64 hits, u64 trials) { return trials ? hits * 1000 / trials : 0; }

void race_report(struct race_engine *e)
{
	struct race *r = e->race;
	r->best_shape = race_best_explored_shape(e); /* what the pairs after the explorers used */
	report_shapes(e);
	r->pairs_hit = 0;
	for (u32 s = 0; s < e->cpus.count; s++)
		for (u32 v = 0; v < e->cpus.count; v++) {
			if (s == v)
				continue;
			const struct race_pair_stat *p = &e->pair[s][v];
			r->pairs_hit += race_all_modes(p->hits) != 0;
			report_pair(e, s, v);
		}
	r->first_hit_median_us = first_hit_median_us(e);
	diag("pairs=%u pairs_hit=%u pairs_zero=%u pairs_retried=%u pairs_starved=%u "
	     "first_hit_us_median=%lu",
	     r->npairs, r->pairs_hit, r->npairs - r->pairs_hit, e->sched.pairs_retried,
	     e->sched.pairs_starved, r->first_hit_median_us);
	hist_print("race_ack_blind", "ns", &e->ack_hist[RACE_BLIND]);
	hist_print("race_ack_aimed", "ns", &e->ack_hist[RACE_AIMED]);
	hist_print("race_ack_stream", "ns", &e->ack_hist[RACE_STREAM]);
	u64 aimed = tsc_rate(r->hits[RACE_AIMED], r->tsc[RACE_AIMED]);
	u64 blind = tsc_rate(r->hits[RACE_BLIND], r->tsc[RACE_BLIND]);
	char gain[24];
	race_format_gain(aimed, blind, gain, sizeof(gain));
	/*
	 * No event landed in the window in either mode, on any pair: nothing to compare, and a gain
	 * of 0.0 would read as "aiming does not help". The platform does not deliver there (Bochs
	 * holds NMIs in the STI shadow with the maskable interrupts).
	 */
	u64 trials = race_all_modes(r->trials);
	if (!race_all_modes(r->hits) && trials) {
		ksnprintf(gain, sizeof(gain), "unreachable");
		diag("race window=unreachable: no event landed in it in %lu trials (%lu aimed, %lu "
		     "blind, %lu stream) over %u ordered pairs: this platform does not deliver there",
		     trials, r->trials[RACE_AIMED], r->trials[RACE_BLIND], r->trials[RACE_STREAM],
		     r->npairs);
	}
	char peer[48] = "";
	if (r->peer_measured) {
		char g[24];
		race_format_gain(aimed, r->peer_hits_per_s, g, sizeof(g));
		/* neither reached the window: nothing to compare */
		if (!aimed && !r->peer_hits_per_s)
			ksnprintf(g, sizeof(g), "unreachable");
		ksnprintf(peer, sizeof(peer), " gain_vs_peer_loop=%s", g);
	}
	diag("race mode=aimed hits_per_s=%lu blind_hits_per_s=%lu gain=%s%s trials_per_s=%lu "
	     "blind_trials_per_s=%lu hit_permille=%lu blind_hit_permille=%lu shape=%s unacked=%lu "
	     "stream_hits_per_s=%lu stream_trials_per_s=%lu stream_hit_permille=%lu",
	     aimed, blind, gain, peer, tsc_rate(r->trials[RACE_AIMED], r->tsc[RACE_AIMED]),
	     tsc_rate(r->trials[RACE_BLIND], r->tsc[RACE_BLIND]),
	     permille(r->hits[RACE_AIMED], r->trials[RACE_AIMED]),
	     permille(r->hits[RACE_BLIND], r->trials[RACE_BLIND]), r->shape_name[r->best_shape],
	     r->unacked, tsc_rate(r->hits[RACE_STREAM], r->tsc[RACE_STREAM]),
	     tsc_rate(r->trials[RACE_STREAM], r->tsc[RACE_STREAM]),
	     permille(r->hits[RACE_STREAM], r->trials[RACE_STREAM]));
}
