"""The line formats of docs/output-format.md that the kernel does not print yet everywhere
(hist, pair, race, observation with arch=/ref=, control, deviations, platform): a hand-written
sample (host/samples/formats.log) and single lines."""

import unittest

from racebed_harness.ktap import parse_ktap
from racebed_harness.records import parse_hist, parse_observation, parse_pair, parse_records

from .common import not_none, read_sample


class TestFormatsSample(unittest.TestCase):
    def setUp(self):
        self.log = parse_ktap(read_sample("formats.log"))
        self.ipi, self.sti, self.storm = self.log.tests

    def test_structure(self):
        self.assertEqual(self.log.errors, [])
        self.assertEqual(self.log.summary, (1, 1, 1))
        self.assertEqual(self.log.leaf_counts().as_tuple(), (2, 1, 1))
        self.assertEqual([s.outcome for s in self.ipi.subtests], ["ok", "not-ok"])

    def test_platform_and_deviations(self):
        p = self.log.platform
        self.assertEqual((p["vendor"], p["microcode"], p["hypervisor"], p["apic"]),
                         ("GenuineIntel", "0xa4", "none", "x2apic"))
        self.assertEqual(self.log.deviations, ["sti_shadow_nmi.shadow_dropped"])

    def test_histograms(self):
        h, z = self.ipi.records.hists
        self.assertEqual((h.name, h.unit, h.n), ("ipi_roundtrip", "ns", 1120))
        self.assertEqual(h.bounds()[0], (4096, 8192, 3))
        self.assertEqual(z.buckets, {"z": 2, "3": 3})  # unknown future_field ignored
        self.assertEqual(z.bounds()[0], (0, 1, 2))

    def test_pairs_race_control(self):
        r = self.sti.records
        self.assertEqual(len(r.pairs), 6)
        self.assertEqual((r.pairs[1].sender, r.pairs[1].victim, r.pairs[1].hits), (0, 2, 0))
        self.assertEqual(r.race, {"mode": "aimed", "hits_per_s": 1200.5, "blind_hits_per_s": 40.25, "gain": 29.8})
        self.assertEqual(r.controls, {"window_reached": 1234})
        self.assertEqual(r.figures["pairs_zero"], 2)
        self.assertEqual(r.problems, [])

    def test_observations(self):
        obs = {o.name: o for o in self.sti.records.observations}
        o = obs["nmi_in_shadow"]
        self.assertEqual((o.word, o.hits, o.trials, o.arch, o.ref), ("Sometimes", 812, 5000, "allowed", "SDM-3A-6.8.3"))
        self.assertFalse(o.deviation)
        self.assertTrue(obs["shadow_dropped"].deviation)
        self.assertFalse(obs["db_lost"].deviation)  # Never where the architecture says never


class TestSingleLines(unittest.TestCase):
    def test_observation_without_verdict(self):
        o = not_none(parse_observation("observation mk_nop_db_held=Never 0/40"))
        self.assertEqual((o.word, o.hits, o.trials, o.arch), ("Never", 0, 40, None))
        o = not_none(parse_observation("observation x=Always 5/5 arch=never ref=APM-2-8.9 later=1"))
        self.assertTrue(o.deviation)

    def test_malformed_lines_are_problems_not_crashes(self):
        for line, needle in (("# hist h unit=ns n=5 12:3", "add up to 3"), ("# hist h unit=ns 12:3", "no n=N"),
                             ("# hist h unit=ns n=3 12-3", "not K:COUNT"), ("# pair 0->1 trials=x hits=1", "expected"),
                             ("# pair 0->1 trials=3 hits=4", "hits=4 > trials=3")):
            rec = parse_records([line])
            self.assertEqual(len(rec.problems), 1, line)
            self.assertIn(needle, rec.problems[0])
        self.assertIsNone(parse_hist("histogram x"))
        self.assertIsNone(parse_pair("pairs=6 pairs_hit=4"))

    def test_race_engine_lines(self):
        rec = parse_records([
            "# race_schedule rounds=56 parallel_pairs=1",
            "# race_shape plain trials=100 hits=4 hits_per_s=47 chosen_by_pairs=1",
            "# race_shape cpuid64 trials=45 hits=14 hits_per_s=2270 chosen_by_pairs=1",
            "# pair 0->5 trials=189 hits=30 blind_trials=0 blind_hits=0 aimed_trials=189 aimed_hits=30 "
            "shape=cpuid64 period_ns=3298 delay_ns=309",
            "# pair 0->1 trials=0 hits=0 zero_hits blind_trials=0 blind_hits=0 shape=cpuid64",
            "# race mode=aimed hits_per_s=43 blind_hits_per_s=0 gain=inf shape=cpuid64 unacked=19"])
        self.assertEqual(rec.problems, [])
        self.assertEqual(rec.race_schedule, {"rounds": 56, "parallel_pairs": 1})
        self.assertEqual([s["name"] for s in rec.race_shapes], ["plain", "cpuid64"])
        self.assertEqual(rec.race_shapes[1]["hits_per_s"], 2270)
        self.assertEqual(rec.pairs[0].fields, {"blind_trials": 0, "blind_hits": 0, "aimed_trials": 189,
                                               "aimed_hits": 30, "shape": "cpuid64", "period_ns": 3298,
                                               "delay_ns": 309})
        self.assertEqual((rec.pairs[1].trials, rec.pairs[1].hits), (0, 0))
        race = not_none(rec.race)
        self.assertEqual((race["gain"], race["unacked"]), ("inf", 19))
        self.assertNotIn("rounds", rec.figures)  # not mistaken for figures
        self.assertNotIn("chosen_by_pairs", rec.figures)

    def test_pair_first_hit_and_gain_vs_peer_loop(self):
        """sti_shadow_nmi's pair lines end in first_hit_us= (`none` without a hit) and its race
        line carries gain_vs_peer_loop= after gain=."""
        rec = parse_records([
            "# pair 0->1 trials=9 hits=1 blind_trials=5 blind_hits=0 first_hit_us=76184",
            "# pair 1->0 trials=15 hits=0 zero_hits blind_trials=4 blind_hits=0 first_hit_us=none",
            "# pairs=2 pairs_hit=1 pairs_zero=1 pairs_retried=0 first_hit_us_median=76184",
            "# race mode=aimed hits_per_s=7 blind_hits_per_s=0 gain=inf gain_vs_peer_loop=0.1"])
        self.assertEqual(rec.problems, [])
        self.assertEqual([p.fields["first_hit_us"] for p in rec.pairs], [76184, "none"])
        self.assertEqual(rec.figures["first_hit_us_median"], 76184)
        self.assertEqual(not_none(rec.race)["gain_vs_peer_loop"], 0.1)

    def test_repeated_controls(self):
        rec = parse_records(["# control writes_racing_calls=43", "# control writes_racing_calls=34"])
        self.assertEqual(rec.controls, {"writes_racing_calls": 43, "writes_racing_calls.2": 34})

    def test_quantile_buckets(self):
        h = not_none(parse_hist("hist wake unit=ns n=10 z:1 3:5 4:3 20:1"))
        self.assertEqual(h.quantile_bucket(0.5), (8, 16))    # the 5th sample is in 2^3
        self.assertEqual(h.quantile_bucket(0.6), (8, 16))    # the 6th too
        self.assertEqual(h.quantile_bucket(0.7), (16, 32))
        self.assertEqual(h.quantile_bucket(0.99), (2 ** 20, 2 ** 21))
        self.assertEqual(h.quantile_bucket(0.1), (0, 1))
        self.assertIsNone(not_none(parse_hist("hist e unit=ns n=0")).quantile_bucket(0.5))

    def test_truncated_deviations_line(self):
        from racebed_harness.records import parse_deviations
        self.assertEqual(parse_deviations("deviations: a.x,b.y,... (120 in all)"), ["a.x", "b.y"])
        self.assertEqual(parse_deviations("deviations: none"), [])

    def test_repeated_figure_keys(self):
        rec = parse_records(["# desc_patches=59 writes=59", "# atomic_patches=93 writes=93", "# duration_ms=12"])
        self.assertEqual((rec.figures["writes"], rec.figures["writes.2"], rec.duration_ms), (59, 93, 12))


if __name__ == "__main__":
    unittest.main()
