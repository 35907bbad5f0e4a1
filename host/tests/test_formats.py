"""The line formats of docs/output-format.md that the kernel does not print yet everywhere
(hist, pair, race, observation with arch=/ref=, control, deviations, platform): a hand-written
sample (host/samples/formats.log) and single lines."""

import unittest

from racebed_harness.ktap import parse_ktap
from racebed_harness.records import parse_hist, parse_observation, parse_pair, parse_records

from .common import read_sample


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
        o = parse_observation("observation mk_nop_db_held=Never 0/40")
        self.assertEqual((o.word, o.hits, o.trials, o.arch), ("Never", 0, 40, None))
        o = parse_observation("observation x=Always 5/5 arch=never ref=APM-2-8.9 later=1")
        self.assertTrue(o.deviation)

    def test_malformed_lines_are_problems_not_crashes(self):
        for line, needle in (("# hist h unit=ns n=5 12:3", "add up to 3"), ("# hist h unit=ns 12:3", "no n=N"),
                             ("# hist h unit=ns n=3 12-3", "not K:COUNT"), ("# pair 0->1 trials=x hits=1", "expected")):
            rec = parse_records([line])
            self.assertEqual(len(rec.problems), 1, line)
            self.assertIn(needle, rec.problems[0])
        self.assertIsNone(parse_hist("histogram x"))
        self.assertIsNone(parse_pair("pairs=6 pairs_hit=4"))

    def test_repeated_figure_keys(self):
        rec = parse_records(["# desc_patches=59 writes=59", "# atomic_patches=93 writes=93", "# duration_ms=12"])
        self.assertEqual((rec.figures["writes"], rec.figures["writes.2"], rec.duration_ms), (59, 93, 12))


if __name__ == "__main__":
    unittest.main()
