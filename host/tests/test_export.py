"""results.json and JUnit XML from the sample logs."""

import json
import os
import tempfile
import unittest
import xml.etree.ElementTree as ET

from racebed_harness.export import BootRecord, results_dict, write_junit, write_results_json
from racebed_harness.ktap import parse_ktap

from .common import not_none, read_sample, sample

NAMES = ["bios-smp8.log", "crashed-smp4.log", "formats.log", "truncated-uefi.log"]


def records():
    return [BootRecord(n.rsplit(".log", 1)[0], sample(n), parse_ktap(read_sample(n))) for n in NAMES]


def child(element: ET.Element, path: str) -> ET.Element:
    found = element.find(path)
    if found is None:
        raise AssertionError(f"no {path} in <{element.tag}>")
    return found


def attr(element: ET.Element, name: str) -> str:
    value = element.get(name)
    if value is None:
        raise AssertionError(f"<{element.tag}> has no {name}=")
    return value


class TestJson(unittest.TestCase):
    def test_schema(self):
        d = results_dict(records())
        self.assertEqual(d["schema"], "racebed-results/1")
        bios, crashed, formats, truncated = d["runs"]
        self.assertEqual([r["status"] for r in d["runs"]], ["complete", "crashed", "complete", "incomplete"])
        self.assertEqual(crashed["crash_in"], "selftest_crash")
        self.assertTrue(truncated["errors"][-1].startswith("line "))
        p = bios["platform"]
        self.assertEqual((p["vendor"], p["family"], p["model"], p["microcode"], p["hypervisor"], p["cpus"],
                          p["firmware"], p["apic"]), ("AuthenticAMD", 0xf, 0x6b, None, "TCGTCGTCGTCG", 8, "bios", "xapic"))
        self.assertEqual(formats["platform"]["bare_metal"], True)
        self.assertEqual(formats["platform"]["microcode"], "0xa4")
        exp = {e["name"]: e for e in bios["experiments"]}
        self.assertEqual(exp["boot"]["result"], "pass")
        self.assertIsInstance(exp["ipi_fixed"]["duration_ms"], int)
        self.assertEqual(len(exp["exception_matrix"]["subtests"]), 25)
        obs = {o["name"]: o for o in exp["movss_db_next"]["observations"]}
        self.assertEqual((obs["mk_nop_db_held"]["word"], obs["mk_nop_db_held"]["trials"] > 0), ("Never", True))
        sti = {e["name"]: e for e in formats["experiments"]}["sti_shadow_nmi"]
        self.assertEqual(len(sti["pairs"]), 6)
        self.assertEqual(formats["deviations"], ["sti_shadow_nmi.shadow_dropped"])
        failed = {e["name"]: e for e in formats["experiments"]}["ipi_fixed"]
        self.assertEqual((failed["result"], failed["reason"]), ("fail", "1 subtest(s) failed, first ipi_fixed.cpu1"))
        self.assertEqual(failed["histograms"][0]["buckets"], {"12": 3, "13": 40, "14": 300, "15": 777})

    def test_written_file_is_json(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "sub", "results.json")
            write_results_json(records(), path)
            with open(path) as f:
                self.assertEqual(len(json.load(f)["runs"]), len(NAMES))


class TestJunit(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        path = os.path.join(self.tmp.name, "junit.xml")
        write_junit(records(), path)
        self.root = ET.parse(path).getroot()

    def tearDown(self):
        self.tmp.cleanup()

    def test_suites_and_cases(self):
        suites = self.root.findall("testsuite")
        self.assertEqual([s.get("name") for s in suites], [n.rsplit(".log", 1)[0] for n in NAMES])
        bios = suites[0]
        log = parse_ktap(read_sample("bios-smp8.log"))
        cases = bios.findall("testcase")
        self.assertEqual(len(cases), len(log.tests) + sum(len(t.subtests) for t in log.tests))
        self.assertEqual(int(attr(bios, "tests")), len(cases))
        matrix = [c for c in cases if c.get("classname") == "racebed.bios-smp8.exception_matrix"]
        self.assertEqual(len(matrix), 25)
        ipi = next(c for c in cases if c.get("name") == "ipi_fixed")
        want = not_none({t.name: t for t in log.tests}["ipi_fixed"].records.duration_ms) / 1000
        self.assertAlmostEqual(float(attr(ipi, "time")), want, places=3)

    def test_failure_skip_error(self):
        crashed = self.root.findall("testsuite")[1]
        failure = child(crashed, "testcase[@name='selftest_crash']/failure")
        self.assertEqual(failure.get("message"), "the run crashed (see the crash report above)")
        self.assertIn("# crash: unexpected exception", failure.text or "")
        skipped = child(crashed, "testcase[@name='selftest_hang']/skipped")
        self.assertEqual(skipped.get("message"), "not run: the run crashed in selftest_crash")
        truncated = self.root.findall("testsuite")[3]
        self.assertEqual(truncated.get("errors"), "1")
        self.assertTrue(attr(child(truncated, "testcase[@name='ktap-log']/error"), "message").startswith("line "))
        self.assertEqual(int(attr(self.root, "failures")),
                         sum(int(attr(s, "failures")) for s in self.root.findall("testsuite")))


class TestJunitWithExpectations(unittest.TestCase):
    """From the harness, a negative control that fails as expected is not a JUnit failure."""

    def test_expected_not_ok(self):
        log = parse_ktap(read_sample("crashed-smp4.log"))
        for expected, verdict in (("not-ok", None), ("ok", "failure")):
            rec = BootRecord("c", "c.log", log, expected={"selftest_crash": expected, "selftest_hang": "skip"})
            with tempfile.TemporaryDirectory() as tmp:
                write_junit([rec], os.path.join(tmp, "j.xml"))
                suite = child(ET.parse(os.path.join(tmp, "j.xml")).getroot(), "testsuite")
            case = child(suite, "testcase[@name='selftest_crash']")
            self.assertEqual(case.find("failure") is not None, verdict == "failure", expected)
            self.assertEqual(suite.get("failures"), "1" if verdict else "0")
            self.assertIsNotNone(suite.find("testcase[@name='selftest_hang']/skipped"))
        self.assertEqual(results_dict([rec])["runs"][0]["experiments"][2]["expected"], "pass")

    def test_observation_mismatch_fails_the_case(self):
        log = parse_ktap(read_sample("bios-smp8.log"))
        line = "FAIL c movss_db_next observation mk_nop_db_held=Always: expected Always, got Never (x.exp:1)"
        rec = BootRecord("c", "c.log", log, mismatches={"movss_db_next": [line]})
        with tempfile.TemporaryDirectory() as tmp:
            write_junit([rec], os.path.join(tmp, "j.xml"))
            suite = child(ET.parse(os.path.join(tmp, "j.xml")).getroot(), "testsuite")
        failure = child(suite, "testcase[@name='movss_db_next']/failure")
        self.assertEqual((failure.get("type"), failure.get("message")), ("observation", line))
        self.assertEqual(suite.get("failures"), "1")
        exp = {e["name"]: e for e in results_dict([rec])["runs"][0]["experiments"]}
        self.assertEqual(exp["movss_db_next"]["expectation_failures"], [line])


if __name__ == "__main__":
    unittest.main()
