"""The KTAP parser on real serial logs (QEMU TCG BIOS and UEFI, a crash, a truncated log)."""

import unittest
from typing import Dict

from racebed_harness.ktap import parse_ktap

from .common import not_none, num, read_sample, sample


class TestBiosSmp8(unittest.TestCase):
    def setUp(self):
        self.log = parse_ktap(read_sample("bios-smp8.log"))

    def test_complete(self):
        log = self.log
        self.assertEqual(log.errors, [])
        self.assertEqual(log.warnings, [])
        self.assertEqual(log.plan, len(log.tests))
        self.assertEqual(log.summary, log.counts().as_tuple())
        self.assertEqual(log.totals_total, len(log.tests))
        self.assertFalse(log.crashed)

    def test_run_diagnostics_belong_to_no_test(self):
        log = self.log
        self.assertTrue(any(l.startswith("# platform ") for l in log.run_diagnostics))
        self.assertTrue(any(l.startswith("# cpus online 8/8") for l in log.run_diagnostics))
        first = log.tests[0]
        self.assertEqual(first.name, "boot")
        self.assertFalse(any(l.startswith("# platform") or l.startswith("# racebed:") for l in first.diagnostics))

    def test_platform(self):
        p = self.log.platform
        self.assertEqual((p["firmware"], p["cpus"], p["apic"], p["microcode"]), ("bios", "8", "xapic", "unknown"))
        self.assertEqual(p["hypervisor"], "TCGTCGTCGTCG")

    def test_running_line_and_duration_for_every_experiment(self):
        for t in self.log.tests:
            if t.outcome == "skip":
                continue
            self.assertIsNotNone(t.records.budget_ms, t.name)
            self.assertIsNotNone(t.records.duration_ms, t.name)
            self.assertEqual(t.own[0], f"# {t.name}: running, budget {t.records.budget_ms} ms")

    def test_subtests(self):
        by_name = {t.name: t for t in self.log.tests}
        matrix = by_name["exception_matrix"].subtests
        self.assertEqual(len(matrix), 25)
        self.assertEqual(matrix[1].name, "nmi_in_irq")
        self.assertEqual([s.number for s in matrix], list(range(1, 26)))
        self.assertEqual(len(by_name["ipi_fixed"].subtests), 8)
        self.assertEqual(len(by_name["movss_db_next"].subtests), 18)
        self.assertEqual([s.name for s in by_name["poke_emulate_modes"].subtests],
                         ["desc", "atomic", "atomic_refuses_misaligned"])
        self.assertEqual(len(by_name["ipi_nmi"].subtests), 8)
        self.assertEqual([s.name for s in by_name["sti_shadow_nmi"].subtests], [f"victim_cpu{c}" for c in range(8)])
        leaves = self.log.leaf_counts()
        self.assertEqual(leaves.total, len(self.log.tests) - 6 + 8 + 8 + 8 + 18 + 25 + 3)

    def test_race_engine_lines(self):
        """sti_shadow_nmi on the race engine: 56 ordered pairs of 8 CPUs, the race line, the
        schedule, the shapes and the two acknowledgement histograms; every line parsed."""
        t = {t.name: t for t in self.log.tests}["sti_shadow_nmi"]
        r = t.records
        self.assertEqual(r.problems, [])
        self.assertEqual(sorted((p.sender, p.victim) for p in r.pairs),
                         [(s, v) for s in range(8) for v in range(8) if s != v])
        self.assertEqual(r.figures["pairs"], 56)
        self.assertEqual(r.figures["pairs_hit"], sum(1 for p in r.pairs if p.hits))
        self.assertEqual(r.figures["trials"], sum(p.trials for p in r.pairs))
        for p in r.pairs:
            self.assertEqual((num(p.fields["blind_trials"]) + num(p.fields["aimed_trials"]),
                              num(p.fields["blind_hits"]) + num(p.fields["aimed_hits"])), (p.trials, p.hits))
            self.assertIn(p.fields["shape"], [s["name"] for s in r.race_shapes])
        race = not_none(r.race)
        self.assertEqual(race["mode"], "aimed")
        self.assertIn("gain", race)
        self.assertEqual(not_none(r.race_schedule)["rounds"], 56)
        self.assertEqual([h.name for h in r.hists], ["race_ack_blind", "race_ack_aimed"])

    def test_victim_subtests_add_up_to_the_pairs(self):
        """Each victim CPU's case counts the NMIs that landed in its shadow: the same hits the
        pair lines of that victim add up to, and together the experiment's hits."""
        t = {t.name: t for t in self.log.tests}["sti_shadow_nmi"]
        per_victim: Dict[int, int] = {}
        for p in t.records.pairs:
            per_victim[p.victim] = per_victim.get(p.victim, 0) + p.hits
        for case in t.subtests:
            f = case.records.figures
            cpu = int(case.name[len("victim_cpu"):])
            self.assertEqual(case.outcome, "ok", case.name)
            self.assertEqual((f["victim_turns"], f["nmis_in_shadow"]), (7, per_victim[cpu]), case.name)
            self.assertGreater(num(f["iterations"]), 0)
        self.assertEqual(sum(per_victim.values()), t.records.figures["hits"])

    def test_histograms_of_real_lines(self):
        """Every `# NAME_ns=min/median/p99/max` summary has its histogram, whose median bucket
        holds the printed median."""
        checked = 0
        for t in self.log.tests:
            hists = {h.name: h for h in t.records.hists}
            self.assertEqual(t.records.problems, [], t.name)
            for key, value in t.records.figures.items():
                if key.endswith("_ns.median") and key[:-len("_ns.median")] in hists:
                    low, high = not_none(hists[key[:-len("_ns.median")]].quantile_bucket(0.5))
                    self.assertTrue(low <= max(value, 0) < high or value == 0, (t.name, key, value, low, high))
                    checked += 1
        self.assertGreater(checked, 5)

    def test_diagnostics_kept_for_expectations(self):
        """The per-case diagnostics stay as they were: observation lines still
        belong to their experiment, and the subtests' lines are context too."""
        by_name = {t.name: t for t in self.log.tests}
        self.assertEqual(by_name["movss_db_next"].observation("mk_nop_db_held"), ["Never"])
        self.assertTrue(any(l.startswith("# matrix outer=nmi:") for l in by_name["exception_matrix"].own))
        self.assertTrue(any(l == "ok 7 nmi_in_nmi" for l in by_name["exception_matrix"].diagnostics))

    def test_figures(self):
        figures = {t.name: t for t in self.log.tests}["ipi_fixed"].records.figures
        self.assertEqual(figures["cpus"], 8)
        self.assertIn("roundtrip_ns.median", figures)


class TestUefi(unittest.TestCase):
    def test_version_line_starts_a_line(self):
        """Under OVMF the stream has carriage returns; every reader that splits
        on newlines must still see `KTAP version 1` at the start of a line."""
        with open(sample("uefi-q35-smp8.log"), "rb") as f:
            raw = f.read()
        self.assertIn(b"\r", raw)
        lines = [l.rstrip(b"\r") for l in raw.split(b"\n")]
        self.assertIn(b"KTAP version 1", lines)
        # the plan follows the version line directly
        self.assertTrue(lines[lines.index(b"KTAP version 1") + 1].startswith(b"1.."))

    def test_parses(self):
        log = parse_ktap(read_sample("uefi-q35-smp8.log"))
        self.assertEqual(log.errors, [])
        self.assertEqual(log.platform["firmware"], "uefi")
        self.assertEqual(log.plan, len(log.tests))


class TestCrashed(unittest.TestCase):
    def test_crash_with_tests_after_it(self):
        log = parse_ktap(read_sample("crashed-smp4.log"))
        self.assertEqual(log.errors, [])
        self.assertTrue(log.crashed)
        self.assertEqual(log.crash_in, "selftest_crash")
        crashed = log.tests[2]
        self.assertEqual((crashed.name, crashed.outcome), ("selftest_crash", "not-ok"))
        self.assertTrue(crashed.records.crash[0].startswith("# crash: unexpected exception on cpu"))
        self.assertIn("# selftest_crash: failed: the run crashed (see the crash report above)", crashed.own)
        after = log.tests[3]
        self.assertEqual((after.outcome, after.reason), ("skip", "not run: the run crashed in selftest_crash"))
        self.assertEqual(log.summary, (2, 1, 1))

    def test_matrix_crash_config(self):
        log = parse_ktap(read_sample("selftest-crash.log"))
        self.assertEqual(log.errors, [])
        self.assertEqual((log.crashed, log.summary), (True, (0, 1, 0)))

    def test_timeout_is_not_a_crash(self):
        log = parse_ktap(read_sample("bios-smp8-timeout.log"))
        self.assertEqual(log.errors, [])
        self.assertFalse(log.crashed)
        hung = [t for t in log.tests if t.directive == "TIMEOUT"]
        self.assertEqual(len(hung), 1)
        rest = log.tests[hung[0].number:]
        self.assertTrue(rest and all(t.reason == f"not run: the run timed out in {hung[0].name}" for t in rest))


class TestBroken(unittest.TestCase):
    def test_truncated(self):
        log = parse_ktap(read_sample("truncated-uefi.log"))
        # it ends inside movss_db_next's subtest block: that block is short too
        self.assertEqual(len(log.errors), 2, log.errors)
        self.assertRegex(log.errors[0], r"^line \d+: subtest movss_db_next: plan 1..18 \(line \d+\) but \d+ results")
        error = log.errors[1]
        self.assertRegex(error, r"^line \d+: the log ends after `.*`: expected result line `ok \d+ \.\.\.`")
        self.assertIn("# Totals: pass:P fail:F skip:S total:T", error)

    def test_garbled(self):
        log = parse_ktap(read_sample("garbled.log"))
        self.assertTrue(log.errors[0].startswith("line 4: expected a `#` diagnostic"), log.errors)

    def test_subtest_plan_mismatch(self):
        text = ("KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: x\n    1..3\n    ok 1 a\n"
                "    ok 2 b\nok 1 x\n# Totals: pass:1 fail:0 skip:0 total:1\n")
        log = parse_ktap(text)
        self.assertEqual(log.errors, ["line 8: subtest x: plan 1..3 (line 5) but 2 results"])
        self.assertEqual(len(log.tests[0].subtests), 2)

    def test_nested_out_of_order(self):
        text = ("KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: x\n    1..2\n    ok 2 a\n"
                "    ok 1 b\nok 1 x\n# Totals: pass:1 fail:0 skip:0 total:1\n")
        self.assertTrue(any("out of order in subtest x" in e for e in parse_ktap(text).errors))

    def test_empty_and_binary(self):
        self.assertEqual(parse_ktap("").errors, ["no `KTAP version 1` line in the serial log (1 lines read)"])
        log = parse_ktap("\x00\xff" * 100 + "\nKTAP version 1\n")
        self.assertTrue(log.errors and log.errors[0].startswith("line 2: expected the plan"), log.errors)


if __name__ == "__main__":
    unittest.main()
