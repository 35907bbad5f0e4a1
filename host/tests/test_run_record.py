"""The run record of the results screen's QR codes (racebed_harness/run_record.py): made from
the sample logs, read back from codes in any order, turned into KTAP for tools/racebed-report."""

import json
import os
import subprocess
import tempfile
import unittest

from racebed_harness.ktap import parse_ktap
from racebed_harness.run_record import join_codes, looks_like_codes, record_from_log, record_to_ktap

from .common import REPORT_TOOL, read_sample


def codes_of(record: str, size: int = 900):
    """The record cut into codes of whole lines, as kernel/results_qr.c does."""
    parts, cur = [], ""
    for line in record.splitlines(keepends=True):
        if cur and len(cur) + len(line) > size:
            parts.append(cur)
            cur = ""
        cur += line
    parts.append(cur)
    return [f"RB1 {k + 1}/{len(parts)}\n{p}" for k, p in enumerate(parts)]


class TestRecord(unittest.TestCase):
    def test_round_trip_through_ktap(self):
        for name in ("bios-smp8.log", "bios-smp8-timeout.log", "uefi-q35-smp8.log", "crashed-smp4.log"):
            log = parse_ktap(read_sample(name))
            record = record_from_log(log)
            back = parse_ktap(record_to_ktap(record))
            self.assertEqual(record_from_log(back), record, name)
            self.assertEqual([t.outcome for t in back.tests], [t.outcome for t in log.tests], name)
            if log.deviations is not None:
                self.assertEqual(back.deviations, log.deviations, name)

    def test_record_lines(self):
        record = record_from_log(parse_ktap(read_sample("bios-smp8-timeout.log")))
        lines = record.splitlines()
        self.assertEqual(lines[0], "racebed-record 1")
        self.assertTrue(lines[1].startswith("P vendor="))
        self.assertRegex(record, r"\nnot ok \S+ TIMEOUT after \d+ s\n")
        self.assertRegex(record, r"\nskip \S+ not run: the run timed out in \S+\n")
        self.assertRegex(record, r"\nO nmi_in_shadow \d+ \d+ [unalmc]\n")  # an old log: no arch=
        self.assertRegex(lines[-1], r"^T \d+ \d+ \d+ \d+$")
        self.assertLess(len(record), 8000)

    def test_codes_in_any_order_with_scanner_noise(self):
        record = record_from_log(parse_ktap(read_sample("bios-smp8.log")))
        codes = codes_of(record)
        self.assertGreater(len(codes), 5)
        shuffled = codes[3:] + codes[:3]
        # zbarimg's prefixes on some, a phone's CRLF and no trailing newline on others
        text = "".join(("QR-Code:" + c if i % 2 else c.replace("\n", "\r\n").rstrip()) + "\n"
                       for i, c in enumerate(shuffled))
        self.assertTrue(looks_like_codes(text))
        joined = join_codes(text + "QR-Code:" + codes[0] + "\n")  # one scanned twice
        self.assertEqual(joined.problems, [])
        self.assertEqual(joined.record, record)
        self.assertEqual((joined.codes, joined.expected), (len(codes), len(codes)))

    def test_missing_and_foreign_codes(self):
        record = record_from_log(parse_ktap(read_sample("bios-smp8.log")))
        codes = codes_of(record)
        joined = join_codes("".join(c + "\n" for c in codes[:2] + codes[3:]))
        self.assertTrue(any(f"1 of {len(codes)} codes missing: 3" in p for p in joined.problems))
        other = codes_of(record, 2000)
        joined = join_codes(codes[0] + "\n" + other[1] + "\n")
        self.assertTrue(any("disagree" in p for p in joined.problems))
        self.assertFalse(looks_like_codes(read_sample("bios-smp8.log")))

    def test_a_changed_count_is_seen(self):
        log = parse_ktap(read_sample("bios-smp8.log"))
        changed = parse_ktap(read_sample("bios-smp8.log").replace("nmi_in_shadow=Sometimes 4486/4615",
                                                                   "nmi_in_shadow=Sometimes 4485/4615"))
        self.assertNotEqual(record_from_log(log), record_from_log(changed))

    def test_report_tool_reads_codes(self):
        record = record_from_log(parse_ktap(read_sample("bios-smp8.log")))
        codes = codes_of(record)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "codes.txt")
            with open(path, "w") as f:
                f.write("\n".join(reversed(codes)) + "\n")
            out = os.path.join(tmp, "r.json")
            done = subprocess.run([REPORT_TOOL, path, "--json", out], capture_output=True, text=True)
            self.assertEqual(done.returncode, 0, done.stderr)
            with open(out) as f:
                run = json.load(f)["runs"][0]
            self.assertEqual(run["status"], "complete")
            self.assertEqual(len(run["experiments"]), 46)
            flip = next(e for e in run["experiments"] if e["name"] == "poke_call_flip")
            self.assertIn({"name": "stale_int3_after_sync", "word": "Sometimes", "hits": 466, "trials": 784746,
                           "arch": "never", "ref": None, "vendor": None, "deviation": True},
                          flip["observations"])  # the record keeps no ref= nor vendor= per line
            with open(path, "w") as f:
                f.write("\n".join(codes[1:]) + "\n")
            done = subprocess.run([REPORT_TOOL, path], capture_output=True, text=True)
            self.assertEqual(done.returncode, 2)
            self.assertIn("codes missing: 1", done.stderr)


if __name__ == "__main__":
    unittest.main()
